/**
 * The demo (or tiny) preset's coadd catalogues matched to the simulator's truth, for the coadd
 * measurement tests (tests/pipeline/coadd-measure.test.ts): per band and
 * patch the deepCoadd_meas catalogue; bright isolated stars (PSF S/N > 100, unblended, unflagged,
 * primary, no truth object within 2.5" brighter than 2.5 mag fainter than the star) with their position
 * and PSF-flux offsets from the truth and their size against the coadd PSF model's; their forced
 * photometry against the unforced one and against the 12-px aperture; each patch's object table read by
 * hyparquet beside astropy's reading of the FITS catalogues it came from; per band and patch the sky
 * objects (their footprints against the merged ones, their forced 9-px aperture fluxes); completeness and spurious
 * detections per patch (DESIGN.md's definitions; an object's coadd S/N in a band is the quadrature sum of
 * its single-visit matched-filter S/N, its S/N the best band's); and the stellar locus of the object
 * tables' forced PSF magnitudes: primary unblended rows matched to a truth star within 0.3", with PSF
 * S/N > 100 and no PSF-flux, edge, saturated-centre or interpolated-centre flag in g, r and i, their Ivezic et al. (2004) principal colours and
 * the wPerp error their magnitude errors give, beside the locus the simulator recorded (truth header
 * LOCWIDTH, LOCSLOPE).
 */
import type { ProcessedRepository } from './processedRepository.js';
import { withRepo } from '../helpers/repository.js';
import { readFitsBytes } from '../../lib/fits/index.js';
import { findColumn } from '../../lib/fits/bintable.js';
import { decodeDataset } from '../../lib/pipeline/storageClasses.js';
import type { ImageU } from '../../lib/fits/imageU.js';
import { readSourceCatalog, type SourceCatalog } from '../../lib/measure/sourceCatalog.js';
import { readFootprintSet, type FootprintSet } from '../../lib/measure/footprintSet.js';
import type { Footprint } from '../../lib/measure/footprint.js';
import { PSFEX_EXTNAME } from '../../lib/measure/psfexFile.js';
import { patchById, tractById, tractWcs, type SkyMap } from '../../lib/skymap/index.js';
import { parseWcs, type Wcs } from '../../lib/wcs/index.js';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { runPythonJson } from '../helpers/python.js';
import type { ObjectColumnSource } from '../../lib/coadd/objectTable.js';
import { IVEZIC_2004, principalColours } from '../../lib/sim/stellarLocus.js';
import { ghostProfile } from '../../lib/sim/artifacts.js';
import { focalPlaneToDetector } from '../../lib/sim/opticalModel.js';
import { truthGhosts, truthPlacement } from './truthGhosts.js';

export interface Measured { band: string; patch: number; catalog: SourceCatalog; hasPsf: boolean }
export interface StarMatch { band: string; patch: number; row: number; dxMas: number; dyMas: number; dmag: number; size: number }
export interface ForcedStar { band: string; refBand: boolean; snr: number; forcedMinusFree: number; apCorrUsed: boolean; psfMinusAp12: number }
export interface PyColumn { dtype: string; unit: string | null; values: (number | boolean | string | null)[] }
export interface TableCheck { tract: number; patch: number; rows: Record<string, unknown>[]; types: Record<string, string>; units: Record<string, string>; sources: Record<string, ObjectColumnSource>;
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


export interface LocusStar { gr: number; ri: number; wPerp: number; wPara: number; wPerpErr: number }
export interface LocusTruth { widthWPerp: number; blueSlope: number }

export interface PatchCompleteness {
  patch: number; truths: number; found: number; detections: number; spurious: number;
  /** Detections with no truth object of S/N >= 3 within 1.5 px that lie on a truth artifact of some visit (not spurious by DESIGN.md's definition). */
  onArtifact: number;
  /** Spurious detections where some band's coadd used fewer than 3 visits (nImage; mostly where fewer overlap: no comparison of warps there). */
  spuriousFewVisits: number;
  /** The most spurious detections that are children of one parent (a shredded footprint). */
  spuriousOneParent: number;
}

export const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** One band and patch's sky objects (deepCoadd_mergeDet rows flagged merge_peak_sky) and their forced 9-px aperture fluxes. */
export interface SkyObjectCheck {
  band: string;
  patch: number;
  count: number;
  /** Sky objects flagged detect_isPrimary (none should be) and those touching a merged footprint's pixel. */
  primary: number;
  overlapping: number;
  /** Radius (px) of their footprints: the largest distance of a footprint pixel from its peak. */
  radius: number;
  /** base_CircularApertureFlux_9_0 (nJy) of those wholly on data (no flag_edge): how many, their mean and its standard error, and the robust sigma of flux / error. */
  onData: number;
  mean: number;
  stderr: number;
  pullSigma: number;
}

export interface CoaddMeasurement {
  measured: Measured[];
  skyObjects: SkyObjectCheck[];
  mergedPatches: number[];
  stars: StarMatch[];
  forcedStars: ForcedStar[];
  tables: TableCheck[];
  completeness: PatchCompleteness[];
  locus: LocusStar[];
  locusTruth: LocusTruth;
}

export async function loadCoaddMeasurement(processed: ProcessedRepository): Promise<CoaddMeasurement> {
  const out: CoaddMeasurement = { measured: [], skyObjects: [], mergedPatches: [], stars: [], forcedStars: [], tables: [], completeness: [], locus: [], locusTruth: { widthWPerp: NaN, blueSlope: NaN } };
  await withRepo(processed.root, async (repo) => {
    const [truthRef] = await repo.registry.queryDatasets({ datasetTypes: ['truth_catalog'] });
    const file = readFitsBytes(truthRef!.path, repo.getBytes(truthRef!));
    const table = file.readTable(file.indexOf('OBJECTS'));
    const truthHeader = file.hdu(0).header;
    out.locusTruth = { widthWPerp: truthHeader.getNumber('LOCWIDTH')!, blueSlope: truthHeader.getNumber('LOCSLOPE')! };
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
    out.mergedPatches = (await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd_mergeDet'], collections: [processed.run] })).map((r) => r.dataId.patch as number);
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd_meas'], collections: [processed.run] })) {
      const band = String(ref.dataId.band), patch = ref.dataId.patch as number;
      const catalog = readSourceCatalog(repo.getBytes(ref), repo.getPath(ref));
      const coaddRef = (await repo.findDataset('deepCoadd_calexp', ref.dataId, [processed.run]))!;
      // Its PSF model's table (the pixels are not needed here).
      out.measured.push({ band, patch, catalog, hasPsf: readFitsBytes(repo.getPath(coaddRef), repo.getBytes(coaddRef)).indexOf(PSFEX_EXTNAME) > 0 });
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
        out.stars.push({
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
      const free = out.measured.find((m) => m.band === band && m.patch === patch)!.catalog.columns;
      const isRef = refOf.get(patch)!.columns[`merge_measurement_${band}`] as boolean[];
      const f = (c: Record<string, unknown>, n: string): Float64Array => c[n] as Float64Array;
      for (const star of out.stars.filter((m) => m.band === band && m.patch === patch)) {
        const k = star.row;
        const mag = (flux: number): number => -2.5 * Math.log10(flux);
        out.forcedStars.push({
          band, refBand: isRef[k]!, snr: f(free, 'base_PsfFlux_flux')[k]! / f(free, 'base_PsfFlux_fluxErr')[k]!,
          forcedMinusFree: (mag(f(forced, 'base_PsfFlux_flux')[k]!) - mag(f(free, 'base_PsfFlux_flux')[k]!)) * 1000,
          apCorrUsed: (free.calib_apCorr_used as boolean[])[k]!,
          psfMinusAp12: (mag(f(forced, 'base_PsfFlux_flux')[k]!) - mag(f(forced, 'base_CircularApertureFlux_12_0_flux')[k]!)) * 1000,
        });
      }
    }
    // Sky objects: their footprints in deepCoadd_mergeDet, their forced 9-px aperture fluxes per band.
    const mergedOf = new Map<number, FootprintSet>();
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd_mergeDet'], collections: [processed.run] })) mergedOf.set(ref.dataId.patch as number, readFootprintSet(repo.getBytes(ref), repo.getPath(ref)));
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd_forced_src'], collections: [processed.run] })) {
      const band = String(ref.dataId.band), patch = ref.dataId.patch as number;
      const merged = mergedOf.get(patch)!, skyFlags = merged.peakFlags!.merge_peak_sky!;
      const covered = new Uint8Array(merged.width * merged.height);
      const sky: Footprint[] = [];
      let peak = 0;
      for (const fp of merged.footprints) {
        if (skyFlags[peak]) sky.push(fp);
        else for (const sp of fp.spans) covered.fill(1, sp.y * merged.width + sp.x0, sp.y * merged.width + sp.x1 + 1);
        peak += fp.peaks.length;
      }
      let overlapping = 0, radius = 0;
      for (const fp of sky) {
        const { x, y } = fp.peaks[0]!;
        if (fp.spans.some((sp) => covered.subarray(sp.y * merged.width + sp.x0, sp.y * merged.width + sp.x1 + 1).some((v) => v === 1))) overlapping++;
        for (const sp of fp.spans) radius = Math.max(radius, Math.hypot(sp.x0 - x, sp.y - y), Math.hypot(sp.x1 - x, sp.y - y));
      }
      const refCat = refOf.get(patch)!.columns, forced = readSourceCatalog(repo.getBytes(ref), repo.getPath(ref)).columns;
      const isSky = refCat.merge_peak_sky as boolean[], primary = refCat.detect_isPrimary as boolean[];
      const flux = forced.base_CircularApertureFlux_9_0_flux as Float64Array, err = forced.base_CircularApertureFlux_9_0_fluxErr as Float64Array;
      // Statistics over those wholly on data: not touching a pixel this band has no data on (flag_edge).
      const edge = forced.base_PixelFlags_flag_edge as boolean[];
      const rows = [...isSky.keys()].filter((k) => isSky[k]), onData = rows.filter((k) => !edge[k] && Number.isFinite(flux[k]!) && err[k]! > 0);
      const fluxes = onData.map((k) => flux[k]!), pulls = onData.map((k) => flux[k]! / err[k]!);
      const mean = fluxes.reduce((a, v) => a + v, 0) / fluxes.length;
      const sd = Math.sqrt(fluxes.reduce((a, v) => a + (v - mean) ** 2, 0) / (fluxes.length - 1));
      const mp = median(pulls);
      out.skyObjects.push({
        band, patch, count: rows.length, primary: rows.filter((k) => primary[k]).length, overlapping, radius, onData: fluxes.length,
        mean, stderr: sd / Math.sqrt(fluxes.length), pullSigma: 1.4826 * median(pulls.map((p) => Math.abs(p - mp))),
      });
    }
    // Completeness and spurious detections per patch, on the merged catalogue's primary rows.
    const snr2 = new Map<string, Record<string, number>>(), position = new Map<string, [number, number]>();
    // Each visit's truth artifacts (any bit of its truth MASK: BAD, SAT, CR, STREAK, GHOST) as sorted pixel
    // indices, with the exposure's true WCS: DESIGN.md's spurious detections are not on a truth artifact.
    // A ghost is an artifact over its whole ring (the truth's GHOSTS table, as renderGhost draws it): its
    // mask bit marks only the pixels above 1 sigma of one visit's noise, and the coadd, about sqrt(N)
    // deeper, detects the ring below that.
    const artifacts: { wcs: Wcs; width: number; height: number; pixels: Int32Array; ghosts: { x: number; y: number; profile: (r: number) => number }[] }[] = [];
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['truth'] })) {
      const f = readFitsBytes(repo.getPath(ref), repo.getBytes(ref));
      const maskIndex = f.indexOf('MASK'), maskImage = f.readImage(maskIndex), maskData = maskImage.data as ArrayLike<number>;
      const pixels: number[] = [];
      for (let i = 0; i < maskData.length; i++) if (maskData[i] !== 0) pixels.push(i);
      const header = f.hdu(0).header, placement = truthPlacement(header);
      const ghosts = truthGhosts(f).map((ghost) => {
        const [x, y] = focalPlaneToDetector(placement, ghost.x, ghost.y);
        return { x, y, profile: ghostProfile(ghost) };
      });
      artifacts.push({ wcs: parseWcs(f.hdu(maskIndex).header)!, width: maskImage.width, height: maskImage.height, pixels: Int32Array.from(pixels), ghosts });
      const band = header.getString('BAND')!;
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
    const nImageRefs = await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd_nImage'], collections: [processed.run] });
    for (const [patch, ref] of refOf) {
      const tract = tractById(skyMap, 0), inner = patchById(tract, patch).inner, wcs = tractWcs(tract);
      const inside = (x: number, y: number): boolean => x >= inner.x0 - 0.5 && x < inner.x0 + inner.width - 0.5 && y >= inner.y0 - 0.5 && y < inner.y0 + inner.height - 0.5;
      const x0 = ref.metadata!.getNumber('X0')!, y0 = ref.metadata!.getNumber('Y0')!;
      const primary = ref.columns.detect_isPrimary as boolean[], rx = ref.columns.base_SdssCentroid_x as Float64Array, ry = ref.columns.base_SdssCentroid_y as Float64Array;
      const parent = ref.columns.parent as ArrayLike<number | bigint>;
      const detections: [number, number][] = [], parentOf: string[] = [];
      primary.forEach((p, k) => { if (p) { detections.push([rx[k]! + x0, ry[k]! + y0]); parentOf.push(String(parent[k])); } });
      // The fewest visits of any band at each patch pixel.
      let fewest: Uint16Array | undefined, nImageBox = { x0: 0, y0: 0, width: 0 };
      for (const nRef of nImageRefs.filter((r) => r.dataId.patch === patch)) {
        const n = (await decodeDataset('ImageU', repo.getBytes(nRef), repo.getPath(nRef)) as ImageU);
        nImageBox = { x0: n.x0, y0: n.y0, width: n.width };
        fewest = fewest ? fewest.map((v, i) => Math.min(v, n.image[i]!)) : Uint16Array.from(n.image);
      }
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
      const onArtifact = (j: number): boolean => {
        const [ra, dec] = wcs.pixelToSky(...detections[j]!);
        return artifacts.some((a) => {
          const [px, py] = a.wcs.skyToPixel(ra, dec);
          const ix = Math.round(px), iy = Math.round(py);
          if (!(ix >= 0 && iy >= 0 && ix < a.width && iy < a.height)) return false;
          if (a.ghosts.some((g) => g.profile(Math.hypot(px - g.x, py - g.y)) > 0)) return true;
          const i = iy * a.width + ix;
          let lo = 0, hi = a.pixels.length;
          while (lo < hi) { const mid = (lo + hi) >> 1; if (a.pixels[mid]! < i) lo = mid + 1; else hi = mid; }
          return a.pixels[lo] === i;
        });
      };
      const unmatched = [...detections.keys()].filter((j) => !nearTruth.has(j));
      const spurious = unmatched.filter((j) => !onArtifact(j));
      const families = new Map<string, number>();
      for (const j of spurious) if (parentOf[j] !== '0') families.set(parentOf[j]!, (families.get(parentOf[j]!) ?? 0) + 1);
      const few = spurious.filter((j) => {
        const [x, y] = detections[j]!;
        return fewest !== undefined && fewest[(Math.round(y) - nImageBox.y0) * nImageBox.width + Math.round(x) - nImageBox.x0]! < 3;
      });
      out.completeness.push({
        patch, truths: bright.length, found: bright.filter(([, i]) => matchedTruth.has(i)).length, detections: detections.length, spurious: spurious.length,
        onArtifact: unmatched.length - spurious.length,
        spuriousFewVisits: few.length, spuriousOneParent: Math.max(0, ...families.values()),
      });
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
      out.tables.push({
        tract: ref.dataId.tract as number, patch: ref.dataId.patch as number, rows: await parquetReadObjects({ file }), units: JSON.parse(kv('units')) as Record<string, string>, sources, paths,
        types: Object.fromEntries(meta.schema.slice(1).map((e) => [e.name, String(e.type)])),
        fits: runPythonJson(PY_READ_CATALOGS, Object.values(paths)),
      });
    }
    // The stellar locus of the object tables' forced PSF magnitudes.
    for (const t of out.tables) {
      for (const row of t.rows) {
        if (row.detect_isPrimary !== true || row.deblend_nChild !== 0) continue;
        const mag: number[] = [], err: number[] = [];
        for (const band of ['g', 'r', 'i']) {
          const flux = row[`${band}_psfFlux`] as number, fluxErr = row[`${band}_psfFluxErr`] as number;
          if (!(flux / fluxErr > 100) || row[`${band}_psfFlux_flag`] !== false
            || ['edge', 'saturatedCenter', 'interpolatedCenter'].some((flag) => row[`${band}_pixelFlags_${flag}`] === true)) break;
          mag.push(row[`${band}_psfMag`] as number);
          err.push(row[`${band}_psfMagErr`] as number);
        }
        if (mag.length < 3) continue;
        const ra = row.coord_ra as number, dec = row.coord_dec as number, cosd = Math.cos((dec * Math.PI) / 180);
        if (!near(ra, dec, 1).some((i) => isStar[i] && Math.hypot((tra[i]! - ra) * cosd, tdec[i]! - dec) * 3600 < 0.3)) continue;
        const [g, r, i] = mag as [number, number, number], w = principalColours(g, r, i);
        const c = IVEZIC_2004.wPerp;
        // wPerp = c.gr g + (c.ri - c.gr) r - c.ri i, the bands' errors independent.
        const wPerpErr = Math.hypot(c.gr * err[0]!, (c.ri - c.gr) * err[1]!, c.ri * err[2]!);
        out.locus.push({ gr: g - r, ri: r - i, wPerp: w.wPerp, wPara: w.wPara, wPerpErr });
      }
    }
  });
  return out;
}
