// assembleCoadd in the pipeline, on the `demo` preset's processed repository (TESSERA_ACCURACY_PRESET=tiny
// for a quick run): a coadd per band and patch from every visit's warps; satellite trails (the truth's
// noise-free trail, calibrated, warped and widened to the model PSF as the PSF-matched warp has it) are
// clipped from their visit wherever they exceed 3 sigma of that warp's noise and 3 or more visits
// overlap (issue 6: at least 98 %); cosmic-ray pixels interpolated in a calexp still count in nImage
// (LSST DM-9953).
import { beforeAll, describe, expect, it } from 'vitest';
import { processedRepository, type ProcessedRepository } from '../helpers/processedRepository.js';
import { withRepo } from '../helpers/repository.js';
import { readFitsBytes } from '../../lib/fits/index.js';
import type { Exposure } from '../../lib/fits/exposure.js';
import { decodeDataset } from '../../lib/pipeline/storageClasses.js';
import { readSourceCatalog } from '../../lib/measure/sourceCatalog.js';
import { MASK_PLANES } from '../../lib/pipeline/maskPlanes.js';
import { TRUTH_MASK_PLANES } from '../../lib/sim/simulateExposure.js';
import { tractById, tractWcs, type SkyMap } from '../../lib/skymap/index.js';
import { parseWcs } from '../../lib/wcs/index.js';
import { warpSources, wcsMapping } from '../../lib/image/warp.js';
import { convolveSeparable } from '../../lib/image/convolve.js';
import { gaussianKernel } from '../../lib/image/gaussianKernel.js';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';

const PRESET = (process.env.TESSERA_ACCURACY_PRESET ?? 'demo') as 'tiny' | 'demo';
const BIT = (name: keyof typeof MASK_PLANES): number => 1 << MASK_PLANES[name];

interface PatchKey { band: string; tract: number; patch: number }
interface Coadd extends PatchKey { coadd: Exposure; nImage: Exposure; visits: number[] }
interface VisitWarp { visit: number; band: string; tract: number; patch: number; direct: Exposure; matched: Exposure; clipped: Set<number> }

let processed: ProcessedRepository;
let tessera: Tessera;
let skyMap: SkyMap;
const coadds: Coadd[] = [];
const warps: VisitWarp[] = [];
/** Per visit with a trail: its detectors' calexp WCS, size, PHOTCALB and the truth trail signal (e-, STREAK pixels only). */
const trails = new Map<number, { seeing: number; detectors: { wcs: ReturnType<typeof parseWcs>; width: number; height: number; calibration: number; signal: Float32Array }[] }>();

beforeAll(async () => {
  processed = processedRepository(PRESET);
  tessera = await loadTessera('release');
  await withRepo(processed.root, async (repo) => {
    const [skyMapRef] = await repo.registry.queryDatasets({ datasetTypes: ['skyMap'], collections: ['skymaps'] });
    skyMap = await decodeDataset('SkyMap', repo.getBytes(skyMapRef!), repo.getPath(skyMapRef!)) as SkyMap;
    const read = async (type: string, dataId: Record<string, string | number>): Promise<Exposure> => {
      const ref = (await repo.findDataset(type, dataId, [processed.run]))!;
      return await decodeDataset('Exposure', repo.getBytes(ref), repo.getPath(ref)) as Exposure;
    };
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd'], collections: [processed.run] })) {
      const coadd = await decodeDataset('Exposure', repo.getBytes(ref), repo.getPath(ref)) as Exposure;
      coadds.push({
        band: String(ref.dataId.band), tract: ref.dataId.tract as number, patch: ref.dataId.patch as number, coadd,
        nImage: await read('deepCoadd_nImage', ref.dataId), visits: coadd.metadata.getString('VISITS')!.split(',').map(Number),
      });
    }
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd_directWarp'], collections: [processed.run] })) {
      const direct = await decodeDataset('Exposure', repo.getBytes(ref), repo.getPath(ref)) as Exposure;
      const maskRef = (await repo.findDataset('deepCoadd_artifactMask', ref.dataId, [processed.run]))!;
      const spans = readSourceCatalog(repo.getBytes(maskRef), repo.getPath(maskRef));
      const clipped = new Set<number>();
      const y = spans.columns.y as Int32Array, x0 = spans.columns.x0 as Int32Array, x1 = spans.columns.x1 as Int32Array;
      for (let k = 0; k < spans.length; k++) for (let x = x0[k]!; x <= x1[k]!; x++) clipped.add((y[k]! - direct.y0) * direct.width + x - direct.x0);
      warps.push({ visit: ref.dataId.visit as number, band: String(ref.dataId.band), tract: ref.dataId.tract as number, patch: ref.dataId.patch as number, direct, matched: await read('deepCoadd_psfMatchedWarp', ref.dataId), clipped });
    }
    const streak = 1 << TRUTH_MASK_PLANES.STREAK;
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['truth'], collections: ['HSC-SIM/truth'] })) {
      const file = readFitsBytes(repo.getPath(ref), repo.getBytes(ref));
      if (file.hdu(0).header.getBoolean('TRAIL') !== true) continue;
      const mask = file.readImage(file.indexOf('MASK')), artifacts = file.readImage(file.indexOf('ARTIFACTS'));
      const bits = mask.data as Int32Array;
      const signal = Float32Array.from(artifacts.data as ArrayLike<number>, (v, i) => ((bits[i]! & streak) !== 0 ? v : 0));
      const calexp = await read('calexp', { instrument: ref.dataId.instrument!, visit: ref.dataId.visit!, detector: ref.dataId.detector! });
      const visit = ref.dataId.visit as number;
      const entry = trails.get(visit) ?? trails.set(visit, { seeing: file.hdu(0).header.getNumber('SEEING')!, detectors: [] }).get(visit)!;
      entry.detectors.push({ wcs: parseWcs(calexp.wcsHeader), width: calexp.width, height: calexp.height, calibration: calexp.metadata.getNumber('PHOTCALB')!, signal });
    }
  });
}, 1_800_000);

describe(`assembleCoadd on the ${PRESET} preset`, () => {
  it('coadds every band and patch that has warps, from all of their visits', () => {
    const expected = new Map<string, Set<number>>();
    for (const w of warps) {
      const key = `${w.band}/${w.tract}/${w.patch}`;
      (expected.get(key) ?? expected.set(key, new Set()).get(key)!).add(w.visit);
    }
    expect(coadds.length).toBe(expected.size);
    for (const c of coadds) {
      const visits = expected.get(`${c.band}/${c.tract}/${c.patch}`);
      expect(visits, `coadd ${c.band}/${c.tract}/${c.patch}`).toBeDefined();
      expect([...c.visits].sort((a, b) => a - b)).toEqual([...visits!].sort((a, b) => a - b));
      expect(c.nImage.image.reduce((a, v) => Math.max(a, v), 0)).toBe(c.visits.length);
      expect(c.coadd.metadata.getString('BUNIT')).toBe('nJy');
    }
  });

  it('clips at least 98 % of satellite-trail pixels above 3 sigma of the PSF-matched warp\'s noise where 3 or more visits overlap', () => {
    let above = 0, caught = 0;
    const bySnr: Record<string, [number, number]> = { '3-5': [0, 0], '5-10': [0, 0], '>10': [0, 0] };
    for (const w of warps) {
      const trail = trails.get(w.visit);
      if (!trail) continue;
      const coadd = coadds.find((c) => c.tract === w.tract && c.patch === w.patch && c.visits.includes(w.visit))!;
      const tract = tractById(skyMap, w.tract);
      const outWcs = tractWcs(tract);
      const { x0, y0, width, height } = w.direct;
      // The truth trail (nJy) on the warp's grid, as makeWarp maps each detector.
      const sources = trail.detectors.map((d) => ({
        planes: { width: d.width, height: d.height, image: d.signal, variance: new Float32Array(d.signal.length), mask: new Int32Array(d.signal.length) },
        scale: d.calibration,
        ...wcsMapping(d.wcs!, outWcs, x0, y0),
      }));
      const warped = warpSources(tessera, sources, width, height, { order: 3, interpLength: 10, noDataBit: BIT('NO_DATA') });
      // Widened to the model PSF as PSF matching does (Gaussian PSFs: sigma^2 adds).
      const sigmaVisit = trail.seeing / tract.pixelScaleArcsec / 2.3548, sigmaModel = 7.7 / 2.3548;
      const matchedTrail = convolveSeparable(tessera, warped.image.map((v) => (Number.isFinite(v) ? v : 0)), width, height, gaussianKernel(Math.sqrt(sigmaModel ** 2 - sigmaVisit ** 2)));
      // Visits with data per pixel in the PSF-matched warps of this patch and band.
      const others = warps.filter((o) => o.tract === w.tract && o.patch === w.patch && coadd.visits.includes(o.visit));
      for (let i = 0; i < width * height; i++) {
        const noise = Math.sqrt(w.matched.variance[i]!);
        if (!(matchedTrail[i]! > 3 * noise) || (w.matched.mask[i]! & BIT('NO_DATA'))) continue;
        let overlapping = 0;
        for (const o of others) if ((o.matched.mask[i]! & BIT('NO_DATA')) === 0) overlapping++;
        if (overlapping < 3) continue;
        above++;
        const hit = w.clipped.has(i);
        if (hit) caught++;
        const snr = matchedTrail[i]! / noise, bin = snr > 10 ? '>10' : snr > 5 ? '5-10' : '3-5';
        bySnr[bin]![0]++;
        if (hit) bySnr[bin]![1]++;
      }
    }
    console.log(`trail pixels above 3 sigma with >= 3 visits: ${caught} of ${above} clipped (${(100 * caught / Math.max(above, 1)).toFixed(1)} %); by S/N: ${Object.entries(bySnr).map(([b, [n, c]]) => `${b}: ${c}/${n}`).join(', ')}`);
    expect(above).toBeGreaterThan(100);
    expect(caught / above).toBeGreaterThanOrEqual(0.98);
  });

  it('keeps cosmic-ray pixels interpolated in the calexps in the coadd: nImage counts every visit with data there (DM-9953)', () => {
    let crPixels = 0, counted = 0, clipped = 0;
    for (const c of coadds) {
      const patchWarps = warps.filter((w) => w.tract === c.tract && w.patch === c.patch && c.visits.includes(w.visit));
      const n = c.coadd.width * c.coadd.height;
      for (let i = 0; i < n; i++) {
        if (!patchWarps.some((w) => (w.direct.mask[i]! & BIT('CR')) !== 0)) continue;
        crPixels++;
        let usable = 0;
        for (const w of patchWarps) {
          const m = w.direct.mask[i]!;
          if (m & (BIT('NO_DATA') | BIT('BAD') | BIT('SAT'))) continue;
          if (w.clipped.has(i)) { if (m & BIT('CR')) clipped++; continue; }
          usable++;
        }
        if (c.nImage.image[i] === usable) counted++;
      }
    }
    console.log(`cosmic-ray pixels in direct warps: ${crPixels}; nImage equal to the visits with data at ${counted}; CR pixels clipped: ${clipped}`);
    expect(crPixels).toBeGreaterThan(100);
    expect(counted).toBe(crPixels);
    expect(clipped / crPixels).toBeLessThan(0.05);
  });
});
