// detectCoaddSources, mergeCoaddDetections and measureCoaddSources on a simulated two-band coadd of one
// patch (nJy, a Gaussian PSF of sigma 2.5 px, unit noise): the variance plane, deliberately 1.5x too
// small, is rescaled to the pixels' scatter; a constant residual background is removed; stars seen in both
// bands merge into one peak flagged in both, a star seen in r only is a peak of r only, a close pair
// (12 px) stays two peaks; every band measures the same rows, with isolated stars' PSF fluxes within 3 sigma
// (aperture-corrected to the 12-px aperture: for a Gaussian, 1 - exp(-12^2 / (2 sigma^2)) of the total)
// and centroids within 4 sigma (errors under 0.02 px); a source outside the patch's inner region is not primary; NO_DATA flags edge.
// Sky objects: placed on pixels no merged footprint covers and with data, flagged merge_peak_sky and no band, never
// primary, and their 9-px fluxes over their errors have a mean within 3 standard errors of 0 and a robust
// sigma within 0.25 of 1. (The noise is drawn with splitmix32: with the LCG used before, Box-Muller on
// consecutive pairs gave 9-px sums at the sky objects' positions a robust sigma of 0.61.)
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { FitsHeader } from '../../lib/fits/header.js';
import { runTask, type TaskContext } from '../../lib/pipeline/task.js';
import { memoryLogger } from '../../lib/pipeline/logger.js';
import { MASK_PLANES } from '../../lib/pipeline/maskPlanes.js';
import { makeSkyMap, makeTract, patchById, patchWcsHeader, type SkyMap } from '../../lib/skymap/index.js';
import { gaussianPsfModel } from '../helpers/psfModels.js';
import { readFootprintSet, writeFootprintSet, type FootprintSet } from '../../lib/measure/footprintSet.js';
import type { ExposureWithPsf } from '../../lib/tasks/characterizeImage.js';
import { detectCoaddSources } from '../../lib/tasks/detectCoaddSources.js';
import { mergeCoaddDetections } from '../../lib/tasks/mergeCoaddDetections.js';
import { measureCoaddSources } from '../../lib/tasks/measureCoaddSources.js';
import type { SourceCatalog } from '../../lib/measure/sourceCatalog.js';
import { mergeCoaddMeasurements } from '../../lib/tasks/mergeCoaddMeasurements.js';
import { forcedPhotCoadd } from '../../lib/tasks/forcedPhotCoadd.js';
import { writeObjectTable } from '../../lib/tasks/writeObjectTable.js';
import { encodeDataset } from '../../lib/pipeline/storageClasses.js';
import { backgroundImage } from '../../lib/measure/background.js';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';

const SIGMA = 2.5, BACKGROUND = 3;
const NO_DATA = 1 << MASK_PLANES.NO_DATA;
let tessera: Tessera;
let skyMap: SkyMap;
let box: { x0: number; y0: number; width: number; height: number };
let wcsHeader: FitsHeader;

/** Stars in tract pixels: [x, y, g flux, r flux] (nJy). */
const STARS: [number, number, number, number][] = [];

function coadd(band: 'g' | 'r', seed: number): ExposureWithPsf {
  const { width: W, height: H, x0, y0 } = box;
  const image = new Float32Array(W * H), variance = new Float32Array(W * H).fill(1 / 1.5), mask = new Int32Array(W * H);
  // splitmix32 (an LCG's consecutive pairs through Box-Muller sum to too little over some pixel sets).
  let s = seed >>> 0;
  const u = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (((z ^ (z >>> 16)) >>> 0) + 0.5) / 2 ** 32;
  };
  for (let i = 0; i < image.length; i++) image[i] = BACKGROUND + Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  for (const [tx, ty, fg, fr] of STARS) {
    const f = band === 'g' ? fg : fr, cx = tx - x0, cy = ty - y0;
    if (f === 0) continue;
    for (let y = Math.max(0, Math.floor(cy - 15)); y < Math.min(H, cy + 15); y++) for (let x = Math.max(0, Math.floor(cx - 15)); x < Math.min(W, cx + 15); x++) {
      image[y * W + x] += (f / (2 * Math.PI * SIGMA * SIGMA)) * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * SIGMA * SIGMA));
    }
  }
  // No data in the last 12 columns.
  for (let y = 0; y < H; y++) for (let x = W - 12; x < W; x++) { image[y * W + x] = NaN; variance[y * W + x] = NaN; mask[y * W + x] = NO_DATA; }
  const metadata = new FitsHeader();
  metadata.set('BAND', band).set('TRACT', 0).set('PATCH', 4);
  return { width: W, height: H, x0, y0, image, variance, mask, maskPlanes: { ...MASK_PLANES }, metadata, wcsHeader, psf: gaussianPsfModel(SIGMA, 31) };
}

const context = (band: string | undefined, log = memoryLogger()): TaskContext & { log: ReturnType<typeof memoryLogger> } => ({
  tessera, log,
  refs: {
    quantum: { ...(band ? { band } : {}), skymap: 'test', tract: 0, patch: 4 },
    inputs: Object.fromEntries(['catalogs', 'measCats', 'forcedCats'].map((c) => [c, [{ datasetType: 'x', dataId: { band: 'g' } }, { datasetType: 'x', dataId: { band: 'r' } }]])),
  },
});

let det: Record<'g' | 'r', FootprintSet>;
let merged: FootprintSet;
let meas: Record<'g' | 'r', SourceCatalog>;
let calexps: Record<'g' | 'r', ExposureWithPsf>;

beforeAll(async () => {
  tessera = await loadTessera('release');
  skyMap = makeSkyMap('test', [makeTract({ id: 0, centerRa: 150, centerDec: 2, pixelScaleArcsec: 0.168, width: 750, height: 750, patchInnerSize: 250, patchBorder: 25 })]);
  const tract = skyMap.tracts[0]!, patch = patchById(tract, 4);
  box = patch.outer;
  wcsHeader = patchWcsHeader(tract, patch);
  const { x0, y0 } = box;
  // A grid of isolated stars in both bands, one star in r only, a close pair (12 px), one on the inner border.
  for (let j = 0; j < 4; j++) for (let i = 0; i < 4; i++) STARS.push([x0 + 40 + 60 * i, y0 + 40 + 60 * j, 2000 + 500 * i, 3000 + 400 * j]);
  STARS.push([x0 + 70, y0 + 250, 0, 2500]);
  STARS.push([x0 + 200, y0 + 260, 4000, 4000], [x0 + 212, y0 + 260, 2500, 2500]);
  STARS.push([x0 + 25, y0 + 280, 3000, 3000]); // below the inner region (y0 + 25 .. y0 + 274)
  det = {} as typeof det;
  calexps = {} as typeof calexps;
  for (const [band, seed] of [['g', 11], ['r', 23]] as const) {
    const out = runTask(detectCoaddSources, { exposure: coadd(band, seed) }, {}, context(band));
    // Through the file format, as the pipeline passes them.
    det[band] = readFootprintSet(writeFootprintSet(out.outputSources), `det ${band}`);
    calexps[band] = out.outputExposure;
  }
  // Each band's nImage: one visit wherever the coadd has data.
  const nImages = (['g', 'r'] as const).map((band) => {
    const c = calexps[band];
    return { width: c.width, height: c.height, x0: c.x0, y0: c.y0, image: Uint16Array.from(c.mask, (m) => (m & NO_DATA ? 0 : 1)), metadata: new FitsHeader(), wcsHeader };
  });
  merged = readFootprintSet(writeFootprintSet(runTask(mergeCoaddDetections, { catalogs: [det.g, det.r], nImages, skyMap }, {}, context(undefined)).outputCatalog), 'mergeDet');
  meas = {
    g: runTask(measureCoaddSources, { exposure: calexps.g, sources: merged, skyMap }, {}, context('g')).outputSources,
    r: runTask(measureCoaddSources, { exposure: calexps.r, sources: merged, skyMap }, {}, context('r')).outputSources,
  };
});

/** The merged peak nearest a tract position, with its band flags. */
function peakNear(tx: number, ty: number): { d: number; g: boolean; r: boolean } {
  let best = { d: Infinity, g: false, r: false }, k = 0;
  for (const fp of merged.footprints) for (const p of fp.peaks) {
    const d = Math.hypot(p.fx + merged.x0 - tx, p.fy + merged.y0 - ty);
    if (d < best.d) best = { d, g: merged.peakFlags!.merge_peak_g![k]!, r: merged.peakFlags!.merge_peak_r![k]! };
    k++;
  }
  return best;
}

describe('detectCoaddSources', () => {
  it('rescales the variance to the pixels\' scatter, removes the residual background, and keeps NO_DATA as NaN', () => {
    for (const band of ['g', 'r'] as const) {
      const c = calexps[band];
      expect(Math.abs(c.metadata.getNumber('VARSCALE')! / 1.5 - 1), band).toBeLessThan(0.03);
      const sky: number[] = [];
      for (let i = 0; i < c.image.length; i++) if (!(c.mask[i]! & ((1 << MASK_PLANES.DETECTED) | NO_DATA))) sky.push(c.image[i]!);
      const mean = sky.reduce((a, b) => a + b, 0) / sky.length;
      expect(Math.abs(mean), `${band}: mean sky ${mean.toFixed(4)} nJy after subtraction`).toBeLessThan(0.02);
      expect(Number.isNaN(c.image[c.width - 1]!)).toBe(true);
      expect(c.psf).toBeDefined();
    }
    expect(det.g.metadata!.getNumber('NFOOTPR')).toBe(det.g.footprints.length);
  });

  it('subtracts nothing with reEstimateBackground false (LSST\'s default), storing a zero background', () => {
    // A coadd whose calexps' backgrounds left no residual sky (this option's premise).
    const input = coadd('g', 11);
    for (let i = 0; i < input.image.length; i++) input.image[i] = input.image[i]! - BACKGROUND;
    const out = runTask(detectCoaddSources, { exposure: input }, { reEstimateBackground: false }, context('g'));
    let changed = 0, withData = 0;
    for (let i = 0; i < input.image.length; i++) {
      if (!Number.isFinite(input.image[i]!)) continue;
      withData++;
      if (out.outputExposure.image[i] !== input.image[i]) changed++;
    }
    expect(withData).toBeGreaterThan(0.9 * input.image.length);
    expect(changed).toBe(0);
    expect(Array.from(out.outputBackground[0]!.values)).toEqual([0]);
    // The same stars found as with the residual sky estimated and taken out.
    expect(out.outputSources.footprints.length).toBe(det.g.footprints.length);
  });

  it('searches the coadd less a temporary wide background that its output does not keep; with data too thin for one, searches without it and says so', () => {
    // The output is the input less the stored background alone (the wide one served the search only).
    const input = coadd('g', 11);
    const out = runTask(detectCoaddSources, { exposure: input }, {}, context('g'));
    expect(out.outputExposure.metadata.getBoolean('TMPWIDE')).toBe(true);
    const model = backgroundImage(tessera, out.outputBackground[0]!);
    let worst = 0;
    for (let i = 0; i < input.image.length; i++) if (Number.isFinite(input.image[i]!)) worst = Math.max(worst, Math.abs(out.outputExposure.image[i]! - (input.image[i]! - model[i]!)));
    expect(worst).toBeLessThan(1e-5);
    // Data on 3 % of the pixels, scattered: no 128-px bin reaches the background's 5 % of good pixels (nor
    // the coadd's own, so its background is left out, as where the calexps' backgrounds suffice).
    const thin = coadd('g', 11);
    for (let i = 0; i < thin.image.length; i++) {
      if (((Math.imul(i, 2654435761) >>> 0) / 2 ** 32) < 0.03) continue;
      thin.image[i] = NaN;
      thin.mask[i] = thin.mask[i]! | NO_DATA;
    }
    const log = memoryLogger();
    const sparse = runTask(detectCoaddSources, { exposure: thin }, { reEstimateBackground: false }, context('g', log));
    expect(sparse.outputExposure.metadata.getBoolean('TMPWIDE')).toBe(false);
    expect(log.entries.some((e) => e.level === 'warn' && /no 128-px bin of the coadd has enough pixels with data for a temporary wide background/.test(e.message))).toBe(true);
    const off = runTask(detectCoaddSources, { exposure: thin }, { reEstimateBackground: false, tempWideBackgroundBinSize: 0 }, context('g'));
    expect(sparse.outputSources.footprints).toEqual(off.outputSources.footprints);
  });
});

describe('mergeCoaddDetections', () => {
  it('merges peaks seen in both bands, keeps a star of one band, and keeps a close pair apart', () => {
    for (const [tx, ty, fg] of STARS) {
      const p = peakNear(tx, ty);
      expect(p.d, `peak at (${tx}, ${ty})`).toBeLessThan(1);
      expect(p.r).toBe(true);
      expect(p.g).toBe(fg > 0);
    }
    const nSky = merged.metadata!.getNumber('NSKYOBJ')!;
    expect(merged.footprints.reduce((s, f) => s + f.peaks.length, 0)).toBe(STARS.length + nSky);
    expect(merged.metadata!.getString('MRGBANDS')).toBe('r,g');
    // Sky objects: the last footprints, one peak each, flagged sky and no band, on pixels no source footprint covers.
    expect(nSky).toBeGreaterThan(30);
    const sky = merged.peakFlags!.merge_peak_sky!;
    expect(sky.filter(Boolean).length).toBe(nSky);
    expect(sky.slice(-nSky).every(Boolean)).toBe(true);
    for (const band of ['g', 'r']) expect(merged.peakFlags![`merge_peak_${band}`]!.slice(-nSky).some(Boolean)).toBe(false);
    const covered = new Set<number>();
    for (const fp of merged.footprints.slice(0, -nSky)) for (const sp of fp.spans) for (let x = sp.x0; x <= sp.x1; x++) covered.add(sp.y * merged.width + x);
    for (const fp of merged.footprints.slice(-nSky)) {
      expect(fp.peaks.length).toBe(1);
      for (const sp of fp.spans) for (let x = sp.x0; x <= sp.x1; x++) expect(covered.has(sp.y * merged.width + x)).toBe(false);
      // Nor on the columns without data (the last 12).
      for (const sp of fp.spans) expect(sp.x1).toBeLessThan(merged.width - 12);
    }
  });
});

describe('measureCoaddSources', () => {
  it('measures the sky objects in every band, never primary, their 9-px fluxes the noise their errors predict', () => {
    for (const band of ['g', 'r'] as const) {
      const c = meas[band].columns;
      const sky = c.merge_peak_sky as boolean[], primary = c.detect_isPrimary as boolean[];
      const flux = c.base_CircularApertureFlux_9_0_flux as Float64Array, err = c.base_CircularApertureFlux_9_0_fluxErr as Float64Array;
      const edge = c.base_PixelFlags_flag_edge as boolean[];
      expect(sky.filter((v, k) => v && edge[k]).length).toBe(0);
      const rows = [...sky.keys()].filter((k) => sky[k]);
      expect(rows.length).toBeGreaterThan(30);
      expect(rows.some((k) => primary[k])).toBe(false);
      const pulls = rows.map((k) => flux[k]! / err[k]!);
      const mean = pulls.reduce((a, v) => a + v, 0) / pulls.length;
      const sorted = [...pulls].sort((a, b) => a - b), med = sorted[sorted.length >> 1]!;
      const robust = 1.4826 * [...pulls.map((p) => Math.abs(p - med))].sort((a, b) => a - b)[pulls.length >> 1]!;
      expect(Math.abs(mean), `${band}: mean pull ${mean.toFixed(2)} over ${pulls.length}`).toBeLessThan(3 / Math.sqrt(pulls.length));
      expect(Math.abs(robust - 1), `${band}: robust sigma ${robust.toFixed(2)}`).toBeLessThan(0.25);
    }
  });

  it('measures the same rows in every band, with PSF fluxes within 3 sigma and centroids within 4 sigma (errors under 0.02 px)', () => {
    expect(meas.g.length).toBe(meas.r.length);
    expect(Array.from(meas.g.columns.id as Int32Array)).toEqual(Array.from(meas.r.columns.id as Int32Array));
    const ee12 = 1 - Math.exp(-(12 * 12) / (2 * SIGMA * SIGMA));
    let checked = 0;
    for (const band of ['g', 'r'] as const) {
      const c = meas[band].columns;
      const x = c.base_SdssCentroid_x as Float64Array, y = c.base_SdssCentroid_y as Float64Array;
      const xErr = c.base_SdssCentroid_xErr as Float64Array, yErr = c.base_SdssCentroid_yErr as Float64Array;
      const flux = c.base_PsfFlux_flux as Float64Array, err = c.base_PsfFlux_fluxErr as Float64Array;
      for (const [tx, ty, fg, fr] of STARS.slice(0, 16)) {
        const k = Array.from(x).findIndex((_, r) => Math.hypot(x[r]! + box.x0 - tx, y[r]! + box.y0 - ty) < 1);
        expect(k, `source at (${tx}, ${ty})`).toBeGreaterThanOrEqual(0);
        const pull = Math.hypot((x[k]! + box.x0 - tx) / xErr[k]!, (y[k]! + box.y0 - ty) / yErr[k]!);
        expect(pull, `${band} centroid at (${tx}, ${ty})`).toBeLessThan(4);
        expect(xErr[k]!).toBeLessThan(0.02);
        const truth = (band === 'g' ? fg : fr) * ee12;
        expect(Math.abs(flux[k]! - truth), `${band} PSF flux ${flux[k]!.toFixed(1)} vs ${truth.toFixed(1)} +- ${err[k]!.toFixed(1)}`).toBeLessThan(3 * err[k]!);
        expect((c.detect_isPrimary as boolean[])[k], `primary: inner ${(c.detect_isPatchInner as boolean[])[k]} parent ${(c.parent as Int32Array)[k]} nChild ${(c.deblend_nChild as Int32Array)[k]}`).toBe(true);
        checked++;
      }
      // The close pair: a parent with two children, both primary.
      const nChild = c.deblend_nChild as Int32Array;
      expect(Array.from(nChild).filter((n) => n === 2).length).toBe(1);
      // Inside the patch's inner region or not, as its centroid; the star below it is not primary.
      const inner = patchById(skyMap.tracts[0]!, 4).inner;
      const inside = (r: number): boolean => {
        const tx = x[r]! + box.x0, ty = y[r]! + box.y0;
        return tx >= inner.x0 - 0.5 && tx < inner.x0 + inner.width - 0.5 && ty >= inner.y0 - 0.5 && ty < inner.y0 + inner.height - 0.5;
      };
      expect((c.detect_isPatchInner as boolean[]).every((v, r) => v === inside(r))).toBe(true);
      const below = Array.from(x).findIndex((_, r) => Math.hypot(x[r]! - 25, y[r]! - 280) < 1);
      expect((c.detect_isPrimary as boolean[])[below]).toBe(false);
      // Sources touching the NO_DATA columns are flagged edge.
      const edge = c.base_PixelFlags_flag_edge as boolean[];
      expect(Array.from(x).every((xv, r) => !(xv > box.width - 14 && xv < box.width - 12) || edge[r])).toBe(true);
      expect(c.merge_peak_g).toBeDefined();
      expect(c.coord_ra).toBeDefined();
    }
    expect(checked).toBe(32);
  });

  it('names a merged catalogue on another box and a coadd without a PSF', () => {
    const other = { ...merged, x0: merged.x0 + 1 };
    expect(() => runTask(measureCoaddSources, { exposure: calexps.g, sources: other, skyMap }, {}, context('g'))).toThrow(/input 'sources'.*differs from the coadd's/);
    const { psf: _psf, ...bare } = calexps.g;
    expect(() => runTask(detectCoaddSources, { exposure: bare }, {}, context('g'))).toThrow(/no PSF model/);
  });
});

describe('mergeCoaddMeasurements, forcedPhotCoadd and writeObjectTable', () => {
  it('chooses each object\'s reference band by priority and S/N, measures every band at its position, and writes the object table', async () => {
    const refOut = runTask(mergeCoaddMeasurements, { catalogs: [meas.g, meas.r] }, {}, context(undefined)).outputCatalog;
    const rx = refOut.columns.base_SdssCentroid_x as Float64Array, ry = refOut.columns.base_SdssCentroid_y as Float64Array;
    const rowOf = (tx: number, ty: number): number => Array.from(rx).findIndex((_, k) => Math.hypot(rx[k]! + box.x0 - tx, ry[k]! + box.y0 - ty) < 1);
    // Default priority (i, r, z, y, g): r wherever r has S/N >= 10 (every star here).
    for (const [tx, ty] of STARS) expect((refOut.columns.merge_measurement_r as boolean[])[rowOf(tx, ty)], `(${tx}, ${ty})`).toBe(true);
    // g first: g for stars seen in g, r (the higher S/N) for the star g does not see.
    const gFirst = runTask(mergeCoaddMeasurements, { catalogs: [meas.g, meas.r] }, { priorityList: ['g', 'r'] }, context(undefined)).outputCatalog;
    for (const [tx, ty, fg] of STARS) expect((gFirst.columns.merge_measurement_g as boolean[])[rowOf(tx, ty)], `(${tx}, ${ty})`).toBe(fg > 0);

    const forced = { g: runTask(forcedPhotCoadd, { exposure: calexps.g, refCat: gFirst, footprints: merged, measCat: meas.g }, {}, context('g')).outputSources,
      r: runTask(forcedPhotCoadd, { exposure: calexps.r, refCat: gFirst, footprints: merged, measCat: meas.r }, {}, context('r')).outputSources };
    const ee12 = 1 - Math.exp(-(12 * 12) / (2 * SIGMA * SIGMA));
    for (const band of ['g', 'r'] as const) {
      const c = forced[band].columns;
      expect(Array.from(c.base_SdssCentroid_x as Float64Array)).toEqual(Array.from(gFirst.columns.base_SdssCentroid_x as Float64Array));
      const flux = c.base_PsfFlux_flux as Float64Array, err = c.base_PsfFlux_fluxErr as Float64Array, free = meas[band].columns.base_PsfFlux_flux as Float64Array;
      for (const [tx, ty, fg, fr] of STARS.slice(0, 16)) {
        const k = rowOf(tx, ty), truth = (band === 'g' ? fg : fr) * ee12;
        expect(Math.abs(flux[k]! - truth), `${band} forced PSF flux at (${tx}, ${ty})`).toBeLessThan(3 * err[k]!);
        expect(Math.abs(flux[k]! - free[k]!), `${band} forced - free at (${tx}, ${ty})`).toBeLessThan(err[k]!);
      }
    }
    // The r-only star in g: forced at its r position, a flux consistent with nothing there.
    const lone = rowOf(STARS[16]![0], STARS[16]![1]);
    expect(Math.abs((forced.g.columns.base_PsfFlux_flux as Float64Array)[lone]!)).toBeLessThan(4 * (forced.g.columns.base_PsfFlux_fluxErr as Float64Array)[lone]!);

    const table = runTask(writeObjectTable, { refCat: gFirst, measCats: [meas.g, meas.r], forcedCats: [forced.g, forced.r] }, {}, context(undefined)).outputTable;
    const bytes = encodeDataset('DataFrame', table, 'objectTable.parquet');
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const rows = await parquetReadObjects({ file });
    expect(rows).toHaveLength(gFirst.length);
    expect(new Set(rows.map((r) => r.objectId)).size).toBe(rows.length);
    expect(rows[lone]!.refBand).toBe('r');
    expect(rows[rowOf(STARS[0]![0], STARS[0]![1])]!.refBand).toBe('g');
    rows.forEach((r, k) => {
      expect(r.g_psfFlux).toBe((forced.g.columns.base_PsfFlux_flux as Float64Array)[k]);
      expect(r.r_free_psfFlux).toBe((meas.r.columns.base_PsfFlux_flux as Float64Array)[k]);
    });
    const units = JSON.parse(parquetMetadata(file).key_value_metadata!.find((e) => e.key === 'units')!.value!) as Record<string, string>;
    expect([units.g_psfFlux, units.r_free_psfMag, units.coord_ra, units.x]).toEqual(['nJy', 'mag(AB)', 'deg', 'pix']);
    // A band's catalogue with other rows is refused, naming it.
    const short = { ...forced.r, length: 1, columns: { id: new Int32Array([1]) } };
    expect(() => runTask(writeObjectTable, { refCat: gFirst, measCats: [meas.g, meas.r], forcedCats: [forced.g, short] }, {}, context(undefined)))
      .toThrow(/input 'forcedCats'.*item 1.*band r: its 1 rows are not deepCoadd_ref's/);
  });
});
