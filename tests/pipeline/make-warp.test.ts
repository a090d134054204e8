// makeWarp in the pipeline, on the `demo` preset's processed repository (tests/helpers/processedRepository.ts;
// TESSERA_ACCURACY_PRESET=tiny for a quick run): the quantum graph's spatial join gives every visit a warp on
// each patch its calexps reach (checked against the calexps' fitted WCSs, not the raws' nominal ones the
// join used), the warps are afw Exposures astropy reads with the patch WCS, and bright isolated truth
// stars land in them at their true positions (10 mas rms, the coadd's target) with the calibrated 12-px
// aperture flux their calexp's src gives them (median within 2 mmag); in the PSF-matched warps they have
// the model PSF's FWHM (7.7 px, median within 1 %) and the direct warp's total flux. The warps are read
// one pair at a time (direct and PSF-matched), measured and dropped.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { processedRepository, type ProcessedRepository } from '../helpers/processedRepository.js';
import { withRepo } from '../helpers/repository.js';
import { readFitsBytes } from '../../lib/fits/index.js';
import { findColumn } from '../../lib/fits/bintable.js';
import { readExposurePlanes, type ExposurePlanes } from '../../node/fits/exposurePlanes.js';
import { decodeDataset } from '../../lib/pipeline/storageClasses.js';
import { readSourceCatalog, type SourceCatalog } from '../../lib/measure/sourceCatalog.js';
import { sdssCentroidOnPlanes } from '../../lib/measure/sdssCentroid.js';
import { adaptiveMoments, momentsFwhm } from '../../lib/measure/adaptiveMoments.js';
import { MASK_PLANES } from '../../lib/pipeline/maskPlanes.js';
import { detectorSkyPolygon, overlapArea, tractById, tractWcs, type SkyMap } from '../../lib/skymap/index.js';
import { parseWcs, type Wcs } from '../../lib/wcs/index.js';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';

const PRESET = (process.env.TESSERA_ACCURACY_PRESET ?? 'demo') as 'tiny' | 'demo';

interface Warp { visit: number; tract: number; patch: number; path: string; matchedPath: string; width: number; height: number; x0: number; y0: number }
interface Calexp { visit: number; detector: number; wcs: Wcs; width: number; height: number; src: SourceCatalog }
interface TruthStar { visit: number; ra: number; dec: number }

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

let processed: ProcessedRepository;
let skyMap: SkyMap;
let tessera: Tessera;
const warps: Warp[] = [];
let matchedCount = 0;
const calexps: Calexp[] = [];
const stars: TruthStar[] = [];
/** Direct warps: bright isolated stars' centroid offsets from truth (mas) and warp - src 12-px aperture magnitudes. */
const direct = { offsets: [] as number[], dmag: [] as number[] };
/** PSF-matched warps: how many were matched, stars' FWHM / 7.7 and PSF-matched - direct 25-px magnitudes. */
const matched = { ok: 0, ratios: [] as number[], dmag: [] as number[] };

/** Bright isolated stars in a direct warp: centroid against truth, 12-px aperture flux against their calexp's src. */
function measureDirect(w: Warp, exposure: ExposurePlanes, wcs: Wcs): void {
  const bad = (1 << MASK_PLANES.NO_DATA) | (1 << MASK_PLANES.SAT) | (1 << MASK_PLANES.BAD) | (1 << MASK_PLANES.CR) | (1 << MASK_PLANES.INTRP) | (1 << MASK_PLANES.EDGE);
  const { width, height } = exposure;
  const image = exposure.image!, variance = exposure.variance!, mask = exposure.mask!;
  const scaleMas = tractById(skyMap, w.tract).pixelScaleArcsec * 1000;
  const candidates: { x: number; y: number; src: number; calexp: Calexp }[] = [];
  for (const s of stars) {
    if (s.visit !== w.visit) continue;
    const [x, y] = wcs.skyToPixel(s.ra, s.dec);
    if (!(x > 20 && y > 20 && x < width - 21 && y < height - 21)) continue;
    let clean = true;
    for (let v = Math.round(y) - 13; v <= Math.round(y) + 13 && clean; v++) for (let u = Math.round(x) - 13; u <= Math.round(x) + 13; u++) if (mask[v * width + u]! & bad) { clean = false; break; }
    if (!clean) continue;
    // The star's row in its calexp's src (within 1 px of its true position there).
    for (const c of calexps) {
      if (c.visit !== w.visit) continue;
      const [cx, cy] = c.wcs.skyToPixel(s.ra, s.dec);
      if (!(cx > 0 && cy > 0 && cx < c.width && cy < c.height)) continue;
      const sx = c.src.columns.base_SdssCentroid_x as Float64Array, sy = c.src.columns.base_SdssCentroid_y as Float64Array;
      let best = -1, bestD = 1;
      for (let k = 0; k < c.src.length; k++) { const d = Math.hypot(sx[k]! - cx, sy[k]! - cy); if (d < bestD) { bestD = d; best = k; } }
      if (best >= 0) candidates.push({ x, y, src: best, calexp: c });
    }
  }
  if (!candidates.length) return;
  tessera.planes.scope(() => {
    const { planes, kernels } = tessera;
    const n = candidates.length;
    const img = planes.allocFrom(image), vr = planes.allocFrom(variance);
    const centres = planes.alloc(16 * n), radii = planes.alloc(8), out = planes.alloc(16 * n), flags = planes.alloc(4 * n), centroidOut = planes.alloc(48);
    const c = planes.f64(centres, 2 * n);
    candidates.forEach((s, k) => { c[2 * k] = s.x; c[2 * k + 1] = s.y; });
    planes.f64(radii, 1)[0] = 12;
    expect(kernels.apertureFluxes(img, vr, width, height, centres, n, radii, 1, 12, out, flags)).toBe(0);
    const ap = planes.f64(out, 2 * n).slice();
    candidates.forEach((s, k) => {
      const centroid = sdssCentroidOnPlanes(tessera, { image: img, variance: vr, out: centroidOut }, width, height, s.x, s.y, 2);
      direct.offsets.push(Math.hypot(centroid.x - s.x, centroid.y - s.y) * scaleMas);
      const calibrated = (s.calexp.src.columns.base_CircularApertureFlux_12_0_flux as Float64Array)[s.src]!;
      direct.dmag.push(-2.5 * Math.log10(ap[2 * k]! / calibrated));
    });
  });
}

/** Stars in a PSF-matched warp: adaptive-moment FWHM against the model's, 25-px flux against the direct warp's. */
function measureMatched(w: Warp, m: ExposurePlanes, d: ExposurePlanes, wcs: Wcs): void {
  if (m.metadata.getBoolean('PSFMOK')) matched.ok++;
  const bad = (1 << MASK_PLANES.NO_DATA) | (1 << MASK_PLANES.SAT) | (1 << MASK_PLANES.BAD) | (1 << MASK_PLANES.CR) | (1 << MASK_PLANES.INTRP);
  const { width, height } = m;
  const clean = (x: number, y: number, r: number): boolean => {
    for (let v = Math.round(y) - r; v <= Math.round(y) + r; v++) for (let u = Math.round(x) - r; u <= Math.round(x) + r; u++) {
      if (u < 0 || v < 0 || u >= width || v >= height) return false;
      if ((m.mask![v * width + u]! | d.mask![v * width + u]!) & bad) return false;
      if (!Number.isFinite(m.image![v * width + u]!)) return false;
    }
    return true;
  };
  const sum = (img: Float32Array, x: number, y: number, r: number): number => {
    let f = 0;
    for (let v = Math.round(y) - r; v <= Math.round(y) + r; v++) for (let u = Math.round(x) - r; u <= Math.round(x) + r; u++) if (Math.hypot(u - x, v - y) <= r) f += img[v * width + u]!;
    return f;
  };
  for (const s of stars) {
    if (s.visit !== w.visit) continue;
    const [x, y] = wcs.skyToPixel(s.ra, s.dec);
    if (!clean(x, y, 26)) continue;
    matched.ratios.push(momentsFwhm(adaptiveMoments(m.image!, width, height, x, y)) / 7.7);
    matched.dmag.push(-2.5 * Math.log10(sum(m.image!, x, y, 25) / sum(d.image!, x, y, 25)));
  }
}

beforeAll(async () => {
  processed = processedRepository(PRESET);
  tessera = await loadTessera('release');
  await withRepo(processed.root, async (repo) => {
    const [skyMapRef] = await repo.registry.queryDatasets({ datasetTypes: ['skyMap'], collections: ['skymaps'] });
    skyMap = await decodeDataset('SkyMap', repo.getBytes(skyMapRef!), repo.getPath(skyMapRef!)) as SkyMap;
    matchedCount = (await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd_psfMatchedWarp'], collections: [processed.run] })).length;
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['calexp'], collections: [processed.run] })) {
      const exposure = await readExposurePlanes(repo.getPath(ref), []);
      const srcRef = (await repo.findDataset('src', ref.dataId, [processed.run]))!;
      calexps.push({
        visit: ref.dataId.visit as number, detector: ref.dataId.detector as number, wcs: parseWcs(exposure.wcsHeader)!,
        width: exposure.width, height: exposure.height, src: readSourceCatalog(repo.getBytes(srcRef), repo.getPath(srcRef)),
      });
    }
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['truth'], collections: ['HSC-SIM/truth'] })) {
      const file = readFitsBytes(repo.getPath(ref), repo.getBytes(ref));
      const table = file.readTable(file.indexOf('SOURCES'));
      const num = (c: string): Float64Array => Float64Array.from(findColumn(table, c)!.values as ArrayLike<number>, Number);
      const x = num('x'), y = num('y'), ra = num('ra'), dec = num('dec'), snr = num('snr_opt');
      const star = (findColumn(table, 'is_star')!.values as (boolean | null)[]).map((b) => b === true);
      for (let i = 0; i < x.length; i++) {
        if (!star[i] || !(snr[i]! >= 100 && snr[i]! <= 1000)) continue;
        let isolated = true;
        for (let k = 0; k < x.length && isolated; k++) if (k !== i && snr[k]! >= 3 && Math.hypot(x[k]! - x[i]!, y[k]! - y[i]!) < 15) isolated = false;
        if (isolated) stars.push({ visit: ref.dataId.visit as number, ra: ra[i]!, dec: dec[i]! });
      }
    }
    // One warp pair at a time: a direct warp and its PSF-matched warp, measured and dropped.
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd_directWarp'], collections: [processed.run] })) {
      const matchedRef = await repo.findDataset('deepCoadd_psfMatchedWarp', ref.dataId, [processed.run]);
      const d = await readExposurePlanes(repo.getPath(ref), ['IMAGE', 'MASK', 'VARIANCE']);
      const w: Warp = {
        visit: ref.dataId.visit as number, tract: ref.dataId.tract as number, patch: ref.dataId.patch as number,
        path: repo.getPath(ref), matchedPath: matchedRef ? repo.getPath(matchedRef) : '', width: d.width, height: d.height, x0: d.x0, y0: d.y0,
      };
      warps.push(w);
      const wcs = parseWcs(d.wcsHeader)!;
      measureDirect(w, d, wcs);
      if (matchedRef) measureMatched(w, await readExposurePlanes(w.matchedPath, ['IMAGE', 'MASK']), d, wcs);
    }
  });
}, 1_800_000);

describe(`makeWarp on the ${PRESET} preset`, () => {
  it('warps every visit onto each patch its calexps reach (by their fitted WCS), and only those', () => {
    const expected = new Set<string>(), required = new Set<string>();
    for (const c of calexps) {
      const polygon = detectorSkyPolygon(c.wcs, c.width, c.height, 0);
      for (const tract of skyMap.tracts) {
        const wcs = tractWcs(tract);
        const pixels = polygon.map(([ra, dec]) => wcs.skyToPixel(ra, dec));
        for (let id = 0; id < tract.numPatchesX * tract.numPatchesY; id++) {
          const px = id % tract.numPatchesX, py = Math.floor(id / tract.numPatchesX);
          const x0 = px * tract.patchInnerSize - tract.patchBorder, y0 = py * tract.patchInnerSize - tract.patchBorder;
          const s = tract.patchInnerSize + 2 * tract.patchBorder;
          const area = overlapArea(pixels, { xMin: Math.max(-0.5, x0 - 0.5), yMin: Math.max(-0.5, y0 - 0.5), xMax: Math.min(tract.width - 0.5, x0 + s - 0.5), yMax: Math.min(tract.height - 0.5, y0 + s - 0.5) });
          const key = `${c.visit}/${tract.id}/${id}`;
          if (area > 0) expected.add(key);
          // More than a 10-px strip of a detector's width: the kernel fits there, so the warp has data.
          if (area > 10 * Math.min(c.width, c.height)) required.add(key);
        }
      }
    }
    const actual = new Set(warps.map((w) => `${w.visit}/${w.tract}/${w.patch}`));
    expect(actual.size).toBeGreaterThan(0);
    for (const key of required) expect(actual.has(key), `no warp for visit/tract/patch ${key}`).toBe(true);
    for (const key of actual) expect(expected.has(key), `a warp for ${key}, which no calexp reaches`).toBe(true);
  });

  it('writes warps astropy reads as afw Exposures with the patch WCS', () => {
    const w = warps[0]!;
    const script = [
      'import sys, json', 'from astropy.io import fits', 'from astropy.wcs import WCS',
      'h = fits.open(sys.argv[1])', 'im = h[1]', 'w = WCS(im.header)',
      'ra, dec = w.wcs_pix2world([[10.0, 20.0]], 0)[0]',
      'print(json.dumps({"names": [x.name for x in h[1:4]], "shape": list(im.data.shape), "ra": float(ra), "dec": float(dec), "ltv": [im.header["LTV1"], im.header["LTV2"]], "bunit": h[0].header.get("BUNIT")}))',
    ].join('\n');
    const out = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, w.path], { encoding: 'utf8' })) as { names: string[]; shape: number[]; ra: number; dec: number; ltv: number[]; bunit: string };
    expect(out.names).toEqual(['IMAGE', 'MASK', 'VARIANCE']);
    expect(out.shape).toEqual([w.height, w.width]);
    expect(out.ltv).toEqual([0 - w.x0, 0 - w.y0]);
    expect(out.bunit).toBe('nJy');
    const [ra, dec] = tractWcs(tractById(skyMap, w.tract)).pixelToSky(10 + w.x0, 20 + w.y0);
    expect(Math.hypot((out.ra - ra) * Math.cos((dec * Math.PI) / 180), out.dec - dec) * 3.6e6).toBeLessThan(0.01);
  });

  it('puts bright isolated stars at their true positions (10 mas rms) with their calexp\'s calibrated 12-px aperture flux (2 mmag)', () => {
    const { offsets, dmag } = direct;
    const rms = Math.sqrt(offsets.reduce((a, d) => a + d * d, 0) / offsets.length / 2);
    console.log(`${offsets.length} bright isolated stars in ${warps.length} warps: position rms ${rms.toFixed(2)} mas per axis; warp / src 12-px aperture flux median ${(median(dmag) * 1000).toFixed(2)} mmag`);
    expect(offsets.length).toBeGreaterThan(20);
    expect(rms).toBeLessThan(10);
    expect(Math.abs(median(dmag)) * 1000).toBeLessThan(2);
  });

  it('gives stars in the PSF-matched warps the model PSF (FWHM 7.7 px, median within 1 %) and the direct warp\'s flux (median within 3 mmag)', () => {
    expect(matchedCount).toBe(warps.length);
    const { ratios, dmag } = matched;
    console.log(`${matched.ok} of ${matchedCount} PSF-matched warps matched; ${ratios.length} stars: FWHM / 7.7 median ${median(ratios).toFixed(4)}; 25-px flux PSF-matched - direct median ${(median(dmag) * 1000).toFixed(2)} mmag`);
    expect(matched.ok).toBe(matchedCount);
    expect(ratios.length).toBeGreaterThan(20);
    expect(Math.abs(median(ratios) - 1)).toBeLessThan(0.01);
    expect(Math.abs(median(dmag)) * 1000).toBeLessThan(3);
  });
});
