// Coadd detection, merging and measurement in the pipeline, on the `demo` preset's processed repository
// (TESSERA_ACCURACY_PRESET=tiny for a quick run), against the simulator's truth catalogue (issue 6):
// every patch's bands share one merged detection list and measure the same rows; bright isolated stars
// (PSF S/N > 100, unblended, unflagged, primary, no truth object within 2.5" brighter than 2.5 mag fainter
// than the star) sit within 10 mas rms per axis of their true positions; their aperture-corrected PSF
// fluxes are within 5 mmag (median per band) of the true total flux, the normalisation the calexps'
// zero points give (fitted from 12-px-normalised fluxes to the reference catalogue's total fluxes); and
// their adaptive-moment size matches the coadd PSF model's (median within 2 %), which checks the coadd PSF
// (the visits' warped PSFs weighted as the coadd weighted them). Forced photometry (at the reference
// band's positions and shapes) agrees with the unforced one for S/N > 50 stars in the other bands (median
// within 2 mmag); aperture-corrected forced PSF magnitudes of stars not used in the aperture-correction fit
// equal their 12-px aperture magnitudes (median within 5 mmag per S/N bin, DMTR-51's DM-13058); and each
// patch's Parquet object table, read by hyparquet (not Tessera's writer), holds every column's values,
// types and units as the FITS catalogues it came from read by astropy. Completeness per patch (DESIGN.md:
// truth objects of S/N >= 10 matched one-to-one within 1.5 px; an object's coadd S/N in a band is the
// quadrature sum of its single-visit matched-filter S/N, its S/N the best band's) is at least 90 %; the
// spurious fraction is reported (issue 6 asks under 1 %; see the README).
import { beforeAll, describe, expect, it } from 'vitest';
import { processedRepository, type ProcessedRepository } from '../helpers/processedRepository.js';
import { withRepo } from '../helpers/repository.js';
import { readFitsBytes } from '../../lib/fits/index.js';
import { findColumn } from '../../lib/fits/bintable.js';
import { decodeDataset } from '../../lib/pipeline/storageClasses.js';
import { readSourceCatalog, type SourceCatalog } from '../../lib/measure/sourceCatalog.js';
import { PSFEX_EXTNAME } from '../../lib/measure/psfexFile.js';
import { patchById, tractById, tractWcs, type SkyMap } from '../../lib/skymap/index.js';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { runPythonJson } from '../helpers/python.js';
import type { ObjectColumnSource } from '../../lib/coadd/objectTable.js';

const PRESET = (process.env.TESSERA_ACCURACY_PRESET ?? 'demo') as 'tiny' | 'demo';

interface Measured { band: string; patch: number; catalog: SourceCatalog; hasPsf: boolean }
interface StarMatch { band: string; patch: number; row: number; dxMas: number; dyMas: number; dmag: number; size: number }
interface ForcedStar { band: string; refBand: boolean; snr: number; forcedMinusFree: number; apCorrUsed: boolean; psfMinusAp12: number }
interface PyColumn { dtype: string; unit: string | null; values: (number | boolean | string | null)[] }
interface TableCheck { tract: number; patch: number; rows: Record<string, unknown>[]; types: Record<string, string>; units: Record<string, string>; sources: Record<string, ObjectColumnSource>;
  fits: Record<string, { header: Record<string, number>; columns: Record<string, PyColumn> }>; paths: Record<string, string> }

/** astropy's reading of FITS catalogues: per file, X0/Y0 and every column's dtype, unit and values (NaN as null). */
const PY_READ_CATALOGS = `
import json, sys, math
from astropy.table import Table
from astropy.io import fits
out = {}
for path in sys.argv[1:]:
    t = Table.read(path, hdu='SOURCES')
    h = fits.getheader(path, 'SOURCES')
    cols = {}
    for name in t.colnames:
        c = t[name]
        vals = []
        for v in c.tolist():
            if isinstance(v, float) and not math.isfinite(v):
                vals.append(None if math.isnan(v) else ('inf' if v > 0 else '-inf'))
            else:
                vals.append(v)
        cols[name] = {'dtype': c.dtype.kind + str(c.dtype.itemsize), 'unit': None if c.unit is None else str(c.unit), 'values': vals}
    out[path] = {'header': {k: h[k] for k in ('X0', 'Y0') if k in h}, 'columns': cols}
print(json.dumps(out))
`;


let processed: ProcessedRepository;
const measured: Measured[] = [];
let mergedPatches: number[] = [];
const stars: StarMatch[] = [];
const forcedStars: ForcedStar[] = [];
const tables: TableCheck[] = [];
interface PatchCompleteness { patch: number; truths: number; found: number; detections: number; spurious: number }
const completeness: PatchCompleteness[] = [];

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

beforeAll(async () => {
  processed = processedRepository(PRESET);
  await withRepo(processed.root, async (repo) => {
    const [truthRef] = await repo.registry.queryDatasets({ datasetTypes: ['truth_catalog'] });
    const file = readFitsBytes(truthRef!.path, repo.getBytes(truthRef!));
    const table = file.readTable(file.indexOf('OBJECTS'));
    const num = (c: string): Float64Array => Float64Array.from(findColumn(table, c)!.values as ArrayLike<number>, Number);
    const tra = num('ra'), tdec = num('dec');
    const isStar = (findColumn(table, 'is_star')!.values as (boolean | null)[]).map((b) => b === true);
    // Truth objects on a 1" grid of (dec, ra) cells.
    const cell = 1 / 3600, grid = new Map<string, number[]>();
    const cellOf = (ra: number, dec: number, da = 0, dd = 0): string => `${Math.floor(dec / cell) + dd},${Math.floor(ra / cell) + da}`;
    tra.forEach((ra, i) => {
      const key = cellOf(ra, tdec[i]!);
      (grid.get(key) ?? grid.set(key, []).get(key)!).push(i);
    });
    const near = (ra: number, dec: number, reach: number): number[] => {
      const out: number[] = [];
      for (let a = -reach; a <= reach; a++) for (let d = -reach; d <= reach; d++) out.push(...(grid.get(cellOf(ra, dec, a, d)) ?? []));
      return out;
    };
    mergedPatches = (await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd_mergeDet'], collections: [processed.run] })).map((r) => r.dataId.patch as number);
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd_meas'], collections: [processed.run] })) {
      const band = String(ref.dataId.band), patch = ref.dataId.patch as number;
      const catalog = readSourceCatalog(repo.getBytes(ref), repo.getPath(ref));
      const coaddRef = (await repo.findDataset('deepCoadd_calexp', ref.dataId, [processed.run]))!;
      // Its PSF model's table (the pixels are not needed here).
      measured.push({ band, patch, catalog, hasPsf: readFitsBytes(repo.getPath(coaddRef), repo.getBytes(coaddRef)).indexOf(PSFEX_EXTNAME) > 0 });
      const mag = num(`mag_${band}`);
      const c = catalog.columns;
      const f = (n: string): Float64Array => c[n] as Float64Array, b = (n: string): boolean[] => c[n] as boolean[];
      const ra = f('coord_ra'), dec = f('coord_dec'), flux = f('base_PsfFlux_flux'), err = f('base_PsfFlux_fluxErr');
      const sxx = f('base_SdssShape_xx'), syy = f('base_SdssShape_yy'), pxx = f('base_SdssShape_psf_xx'), pyy = f('base_SdssShape_psf_yy');
      const parent = c.parent as Int32Array, nChild = c.deblend_nChild as Int32Array;
      const flagged = ['base_PixelFlags_flag_edge', 'base_PixelFlags_flag_saturated', 'base_PixelFlags_flag_interpolatedCenter', 'base_PixelFlags_flag_clippedCenter',
        'base_PsfFlux_flag', 'base_SdssShape_flag', 'base_SdssCentroid_flag'].map(b);
      for (let k = 0; k < catalog.length; k++) {
        if (!b('detect_isPrimary')[k] || parent[k] !== 0 || nChild[k] !== 0 || flagged.some((col) => col[k]) || !(flux[k]! / err[k]! > 100)) continue;
        let best = -1, bestD = 0.3;
        const cosd = Math.cos((dec[k]! * Math.PI) / 180);
        const sep = (i: number, ra0: number, dec0: number): number => Math.hypot((tra[i]! - ra0) * cosd, tdec[i]! - dec0) * 3600;
        for (const i of near(ra[k]!, dec[k]!, 1)) if (isStar[i] && sep(i, ra[k]!, dec[k]!) < bestD) { bestD = sep(i, ra[k]!, dec[k]!); best = i; }
        if (best < 0) continue;
        if (near(tra[best]!, tdec[best]!, 3).some((i) => i !== best && sep(i, tra[best]!, tdec[best]!) < 2.5 && mag[i]! < mag[best]! + 2.5)) continue;
        const truth = 10 ** ((31.4 - mag[best]!) / 2.5);
        stars.push({
          band, patch, row: k, dxMas: (ra[k]! - tra[best]!) * cosd * 3.6e6, dyMas: (dec[k]! - tdec[best]!) * 3.6e6,
          dmag: -2.5 * Math.log10(flux[k]! / truth), size: (sxx[k]! + syy[k]!) / (pxx[k]! + pyy[k]!),
        });
      }
    }
    // Forced photometry of the matched stars: against the unforced one, and against the 12-px aperture.
    const refOf = new Map<number, SourceCatalog>();
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd_ref'], collections: [processed.run] })) refOf.set(ref.dataId.patch as number, readSourceCatalog(repo.getBytes(ref), repo.getPath(ref)));
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd_forced_src'], collections: [processed.run] })) {
      const band = String(ref.dataId.band), patch = ref.dataId.patch as number;
      const forced = readSourceCatalog(repo.getBytes(ref), repo.getPath(ref)).columns;
      const free = measured.find((m) => m.band === band && m.patch === patch)!.catalog.columns;
      const isRef = refOf.get(patch)!.columns[`merge_measurement_${band}`] as boolean[];
      const f = (c: Record<string, unknown>, n: string): Float64Array => c[n] as Float64Array;
      for (const star of stars.filter((m) => m.band === band && m.patch === patch)) {
        const k = star.row;
        const mag = (flux: number): number => -2.5 * Math.log10(flux);
        forcedStars.push({
          band, refBand: isRef[k]!, snr: f(free, 'base_PsfFlux_flux')[k]! / f(free, 'base_PsfFlux_fluxErr')[k]!,
          forcedMinusFree: (mag(f(forced, 'base_PsfFlux_flux')[k]!) - mag(f(free, 'base_PsfFlux_flux')[k]!)) * 1000,
          apCorrUsed: (free.calib_apCorr_used as boolean[])[k]!,
          psfMinusAp12: (mag(f(forced, 'base_PsfFlux_flux')[k]!) - mag(f(forced, 'base_CircularApertureFlux_12_0_flux')[k]!)) * 1000,
        });
      }
    }
    // Completeness and spurious detections per patch, on the merged catalogue's primary rows.
    const snr2 = new Map<string, Record<string, number>>(), position = new Map<string, [number, number]>();
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['truth'] })) {
      const f = readFitsBytes(repo.getPath(ref), repo.getBytes(ref));
      const band = f.hdu(0).header.getString('BAND')!;
      const t = f.readTable(f.indexOf('SOURCES'));
      const id = findColumn(t, 'id')!.values as BigInt64Array, snr = findColumn(t, 'snr_opt')!.values as Float64Array;
      const ra = findColumn(t, 'ra')!.values as Float64Array, dec = findColumn(t, 'dec')!.values as Float64Array;
      for (let i = 0; i < t.nrows; i++) {
        const key = String(id[i]), e = snr2.get(key) ?? snr2.set(key, {}).get(key)!;
        e[band] = (e[band] ?? 0) + snr[i]! ** 2;
        position.set(key, [ra[i]!, dec[i]!]);
      }
    }
    const [skyMapRef] = await repo.registry.queryDatasets({ datasetTypes: ['skyMap'] });
    const skyMap = await decodeDataset('SkyMap', repo.getBytes(skyMapRef!), repo.getPath(skyMapRef!)) as SkyMap;
    for (const [patch, ref] of refOf) {
      const tract = tractById(skyMap, 0), inner = patchById(tract, patch).inner, wcs = tractWcs(tract);
      const inside = (x: number, y: number): boolean => x >= inner.x0 - 0.5 && x < inner.x0 + inner.width - 0.5 && y >= inner.y0 - 0.5 && y < inner.y0 + inner.height - 0.5;
      const x0 = ref.metadata!.getNumber('X0')!, y0 = ref.metadata!.getNumber('Y0')!;
      const primary = ref.columns.detect_isPrimary as boolean[], rx = ref.columns.base_SdssCentroid_x as Float64Array, ry = ref.columns.base_SdssCentroid_y as Float64Array;
      const detections: [number, number][] = [];
      primary.forEach((p, k) => { if (p) detections.push([rx[k]! + x0, ry[k]! + y0]); });
      const truths: { snr: number; x: number; y: number }[] = [];
      for (const [key, e] of snr2) {
        const [x, y] = wcs.skyToPixel(...position.get(key)!);
        if (inside(x, y)) truths.push({ snr: Math.sqrt(Math.max(...Object.values(e))), x, y });
      }
      // One-to-one matching within 1.5 px, closest pairs first.
      const pairs: [number, number, number][] = [];
      truths.forEach((t, i) => {
        if (t.snr < 3) return;
        detections.forEach(([x, y], j) => {
          const d = Math.hypot(x - t.x, y - t.y);
          if (d <= 1.5) pairs.push([d, i, j]);
        });
      });
      pairs.sort((a, b) => a[0] - b[0]);
      const matchedTruth = new Set<number>(), matchedDetection = new Set<number>();
      for (const [, i, j] of pairs) if (!matchedTruth.has(i) && !matchedDetection.has(j)) { matchedTruth.add(i); matchedDetection.add(j); }
      const bright = truths.map((t, i) => [t, i] as const).filter(([t]) => t.snr >= 10);
      const nearTruth = new Set(pairs.map(([, , j]) => j));
      completeness.push({ patch, truths: bright.length, found: bright.filter(([, i]) => matchedTruth.has(i)).length, detections: detections.length, spurious: detections.length - nearTruth.size });
    }
    // The object tables, with the FITS catalogues they came from.
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['objectTable'], collections: [processed.run] })) {
      const bytes = repo.getBytes(ref);
      const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const meta = parquetMetadata(file);
      const kv = (key: string): string => meta.key_value_metadata!.find((e) => e.key === key)!.value!;
      const sources = JSON.parse(kv('sources')) as Record<string, ObjectColumnSource>;
      const paths: Record<string, string> = {};
      for (const source of Object.values(sources)) {
        if (source.dataset === 'quantum') continue;
        const key = `${source.dataset}/${source.band ?? ''}`;
        if (paths[key]) continue;
        const found = (await repo.findDataset(source.dataset, { ...ref.dataId, ...(source.band ? { band: source.band } : {}) }, [processed.run]))!;
        paths[key] = repo.getPath(found);
      }
      tables.push({
        tract: ref.dataId.tract as number, patch: ref.dataId.patch as number, rows: await parquetReadObjects({ file }), units: JSON.parse(kv('units')) as Record<string, string>, sources, paths,
        types: Object.fromEntries(meta.schema.slice(1).map((e) => [e.name, String(e.type)])),
        fits: runPythonJson(PY_READ_CATALOGS, Object.values(paths)),
      });
    }
  });
}, 1_800_000);

describe('coadd detection and measurement (demo preset)', () => {
  it('merges every patch\'s bands and measures the same rows in each band', () => {
    expect(measured.length).toBeGreaterThan(0);
    for (const patch of new Set(measured.map((m) => m.patch))) {
      expect(mergedPatches).toContain(patch);
      const bands = measured.filter((m) => m.patch === patch);
      for (const m of bands) {
        expect(m.catalog.length, `band ${m.band} patch ${patch}`).toBe(bands[0]!.catalog.length);
        expect(Array.from(m.catalog.columns.id as Int32Array)).toEqual(Array.from(bands[0]!.catalog.columns.id as Int32Array));
        expect(m.hasPsf, `deepCoadd_calexp ${m.band} ${patch} has a PSF`).toBe(true);
      }
    }
  });

  it('puts bright stars within 10 mas rms of their true positions, per axis', () => {
    expect(stars.length).toBeGreaterThan(PRESET === 'demo' ? 500 : 20);
    const rms = Math.sqrt(stars.reduce((s, m) => s + m.dxMas ** 2 + m.dyMas ** 2, 0) / (2 * stars.length));
    console.log(`coadd astrometry: ${stars.length} stars, ${rms.toFixed(2)} mas rms per axis`);
    expect(rms).toBeLessThan(10);
  });

  it('measures bright stars\' PSF fluxes within 5 mmag (median) of their true total flux in each band, and their size as the coadd PSF model\'s (2 %)', () => {
    for (const band of new Set(stars.map((s) => s.band))) {
      const inBand = stars.filter((s) => s.band === band);
      const dmag = median(inBand.map((s) => s.dmag)) * 1000, size = median(inBand.map((s) => s.size));
      console.log(`coadd ${band}: ${inBand.length} stars, PSF flux - true total ${dmag.toFixed(2)} mmag (median), size / PSF model ${size.toFixed(4)}`);
      expect(Math.abs(dmag), `${band}: median PSF magnitude offset (mmag)`).toBeLessThan(5);
      expect(Math.abs(size - 1), `${band}: median star size / coadd PSF size`).toBeLessThan(0.02);
    }
  });

  it('agrees in forced and unforced PSF magnitudes for S/N > 50 stars outside their reference band (median within 2 mmag)', () => {
    for (const band of new Set(forcedStars.map((s) => s.band))) {
      const d = forcedStars.filter((s) => s.band === band && !s.refBand && s.snr > 50).map((s) => s.forcedMinusFree);
      if (d.length === 0) continue;
      console.log(`forced - unforced PSF mag, ${band} (not the reference band): ${d.length} stars, median ${median(d).toFixed(3)} mmag`);
      expect(Math.abs(median(d))).toBeLessThan(2);
    }
    expect(forcedStars.filter((s) => !s.refBand && s.snr > 50).length).toBeGreaterThan(PRESET === 'demo' ? 100 : 5);
  });

  it('corrects forced PSF magnitudes to the 12-px aperture for stars not in the fit (median within 5 mmag per S/N bin)', () => {
    const bins: [number, number][] = [[50, 100], [100, 200], [200, 500], [500, Infinity]];
    for (const band of new Set(forcedStars.map((s) => s.band))) {
      for (const [lo, hi] of bins) {
        const d = forcedStars.filter((s) => s.band === band && !s.apCorrUsed && s.snr >= lo && s.snr < hi).map((s) => s.psfMinusAp12);
        if (d.length < 10) continue;
        console.log(`forced PSF - 12-px aperture mag, ${band}, S/N ${lo}-${hi}: ${d.length} stars, median ${median(d).toFixed(2)} mmag`);
        expect(Math.abs(median(d)), `${band} S/N ${lo}-${hi}`).toBeLessThan(5);
      }
    }
  });

  it('writes each patch\'s object table as Parquet that hyparquet reads back as astropy reads the FITS catalogues: values, types, units', () => {
    expect(tables.map((t) => t.patch).sort()).toEqual([...new Set(measured.map((m) => m.patch))].sort());
    const parquetType: Record<string, string> = { f8: 'DOUBLE', i4: 'INT32', b1: 'BOOLEAN' };
    let compared = 0;
    for (const t of tables) {
      const catalog = (s: ObjectColumnSource): { header: Record<string, number>; columns: Record<string, PyColumn> } => t.fits[t.paths[`${s.dataset}/${s.band ?? ''}`]!]!;
      const ref = catalog({ dataset: 'deepCoadd_ref', transform: 'copy' });
      const ids = ref.columns.id!.values as number[], parents = ref.columns.parent!.values as number[];
      for (const [name, source] of Object.entries(t.sources)) {
        const got = t.rows.map((r) => r[name]);
        const num = (v: number | boolean | string | null): number => (v === null ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v));
        let want: unknown[];
        const col = source.column ? catalog(source).columns[source.column] : undefined;
        switch (source.transform) {
          case 'copy':
            expect(t.types[name], `${name}: Parquet type for astropy ${col!.dtype}`).toBe(parquetType[col!.dtype]);
            expect(t.units[name] ?? null, `${name}: unit`).toBe(col!.unit);
            want = col!.values.map((v) => (typeof v === 'boolean' ? v : num(v)));
            break;
          case 'tractX': case 'tractY':
            expect(t.units[name]).toBe(col!.unit);
            want = col!.values.map((v) => num(v) + catalog(source).header[source.transform === 'tractX' ? 'X0' : 'Y0']!);
            break;
          case 'mag': want = col!.values.map((v) => (num(v) > 0 ? 31.4 - 2.5 * Math.log10(num(v)) : NaN)); break;
          case 'magErr': {
            const err = catalog(source).columns[`${source.column}Err`]!.values;
            want = col!.values.map((v, k) => (num(v) > 0 ? (2.5 / Math.LN10) * num(err[k]!) / num(v) : NaN));
            break;
          }
          case 'objectId': want = ids.map((v) => BigInt(t.tract) * 1_000_000_000_000n + BigInt(t.patch) * 10_000_000n + BigInt(v)); break;
          case 'parentObjectId': want = parents.map((v) => (v === 0 ? 0n : BigInt(t.tract) * 1_000_000_000_000n + BigInt(t.patch) * 10_000_000n + BigInt(v))); break;
          case 'patch': want = got.map(() => t.patch); break;
          case 'tract': want = got.map(() => t.tract); break;
          case 'refBand': {
            const bands = Object.keys(ref.columns).filter((c) => c.startsWith('merge_measurement_')).map((c) => c.slice('merge_measurement_'.length));
            want = ids.map((_, k) => bands.find((b) => ref.columns[`merge_measurement_${b}`]!.values[k] === true) ?? '');
            break;
          }
        }
        expect(got.length, name).toBe(want.length);
        got.forEach((g, k) => {
          const w = want[k];
          if (typeof w === 'number' && Number.isNaN(w)) expect(Number.isNaN(g as number), `${name}[${k}]`).toBe(true);
          else if (typeof w === 'number' && source.transform !== 'copy') expect(Math.abs((g as number) - w), `${name}[${k}]`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(w)));
          else expect(g, `${name}[${k}]`).toEqual(w);
        });
        compared++;
      }
    }
    console.log(`object tables: ${tables.length} patches, ${compared} columns compared with astropy's reading`);
    expect(compared).toBeGreaterThan(100 * tables.length);
  });

  it('detects at least 90 % of the truth objects with S/N >= 10 in every patch, and reports the spurious fraction', () => {
    expect(completeness.length).toBe(tables.length);
    for (const c of completeness) {
      console.log(`patch ${c.patch}: completeness ${(100 * c.found / c.truths).toFixed(1)} % (${c.found}/${c.truths}); `
        + `${c.spurious} of ${c.detections} primary detections (${(100 * c.spurious / c.detections).toFixed(2)} %) have no truth object of S/N >= 3 within 1.5 px (truth artifacts not excluded)`);
      expect(c.truths).toBeGreaterThan(PRESET === 'demo' ? 100 : 10);
      expect(c.found / c.truths, `patch ${c.patch}`).toBeGreaterThanOrEqual(0.9);
    }
  });
});
