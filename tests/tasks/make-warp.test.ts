// makeWarp on two simulated calexps of one visit (0.2"/px, rotated by 20 degrees, a gap between them)
// onto a patch of a 0.168"/px tract: stars land at their tract pixel positions (through the tract WCS)
// and keep their calibrated flux (counts x PHOTCALB, nJy); the warped variance plane predicts the
// warped noise; mask bits follow their pixels; pixels no calexp reaches are NaN and NO_DATA; a calexp
// without a photometric calibration is left out with a warning; a patch the visit misses is no work.
// The PSF-matched warp gives stars the model PSF's FWHM (7.7 tract px) with their flux, and leaves out
// calexps whose PSF is wider than the model.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { FitsHeader } from '../../lib/fits/header.js';
import type { Exposure } from '../../lib/fits/exposure.js';
import { runTask, type TaskContext } from '../../lib/pipeline/task.js';
import { memoryLogger } from '../../lib/pipeline/logger.js';
import { MASK_PLANES } from '../../lib/pipeline/maskPlanes.js';
import { NoWorkError } from '../../lib/pipeline/errors.js';
import { makeSkyMap, makeTract, patchById, tractWcs, type SkyMap } from '../../lib/skymap/index.js';
import { parseWcs } from '../../lib/wcs/index.js';
import { FWHM_PER_SIGMA } from '../../lib/image/psfMatch.js';
import { makeWarp } from '../../lib/tasks/makeWarp.js';
import { gaussianPsfModel } from '../helpers/psfModels.js';
import { adaptiveMoments, momentsFwhm } from '../../lib/measure/adaptiveMoments.js';

const RA = 150, DEC = 2;
const SCALE = 0.2, ANGLE = (20 * Math.PI) / 180;
const W = 300, H = 400;
const NO_DATA = 1 << MASK_PLANES.NO_DATA;
const STAR_SIGMA = 2.5; // calexp pixels: 7.0 tract px FWHM


function calexpWcsHeader(crval: [number, number]): FitsHeader {
  const h = new FitsHeader();
  const s = SCALE / 3600;
  h.set('CTYPE1', 'RA---TAN').set('CTYPE2', 'DEC--TAN');
  h.set('CRVAL1', crval[0], undefined, { real: true }).set('CRVAL2', crval[1], undefined, { real: true });
  h.set('CRPIX1', (W + 1) / 2, undefined, { real: true }).set('CRPIX2', (H + 1) / 2, undefined, { real: true });
  h.set('CD1_1', -s * Math.cos(ANGLE), undefined, { real: true }).set('CD1_2', s * Math.sin(ANGLE), undefined, { real: true });
  h.set('CD2_1', s * Math.sin(ANGLE), undefined, { real: true }).set('CD2_2', s * Math.cos(ANGLE), undefined, { real: true });
  return h;
}

interface Star { ra: number; dec: number; flux: number }

/** A calexp with Gaussian stars (sigma 2.5 px, counts), optional Gaussian noise of variance `noise`, and PHOTCALB. */
function calexp(crval: [number, number], stars: readonly Star[], calibration: number | undefined, noise = 0, seed = 1): Exposure {
  const wcsHeader = calexpWcsHeader(crval);
  const wcs = parseWcs(wcsHeader)!;
  const image = new Float32Array(W * H), variance = new Float32Array(W * H).fill(noise > 0 ? noise : 1);
  const sigma = STAR_SIGMA;
  for (const star of stars) {
    const [cx, cy] = wcs.skyToPixel(star.ra, star.dec);
    for (let y = Math.max(0, Math.floor(cy - 20)); y < Math.min(H, cy + 20); y++) for (let x = Math.max(0, Math.floor(cx - 20)); x < Math.min(W, cx + 20); x++) {
      image[y * W + x] += (star.flux / (2 * Math.PI * sigma * sigma)) * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma));
    }
  }
  if (noise > 0) {
    let s = seed >>> 0;
    const uniform = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
    for (let i = 0; i < image.length; i++) image[i] += Math.sqrt(noise) * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  }
  const metadata = new FitsHeader();
  metadata.set('FILTER', 'HSC-R').set('BAND', 'r');
  if (calibration !== undefined) metadata.set('PHOTCALB', calibration, undefined, { real: true });
  return { width: W, height: H, x0: 0, y0: 0, image, variance, mask: new Int32Array(W * H), maskPlanes: { ...MASK_PLANES }, metadata, wcsHeader };
}

let tessera: Tessera;
let skyMap: SkyMap;
// Two detectors 64" apart in RA, each 60" x 80": the gap between them is 4".
const CENTRES: [number, number][] = [[RA - 32 / 3600 / Math.cos((DEC * Math.PI) / 180), DEC], [RA + 32 / 3600 / Math.cos((DEC * Math.PI) / 180), DEC]];

function context(patch: number, log = memoryLogger()): TaskContext & { log: ReturnType<typeof memoryLogger> } {
  return { tessera, log, refs: { quantum: { instrument: 'X', visit: 7, skymap: 'test', tract: 0, patch } } };
}

beforeAll(async () => {
  tessera = await loadTessera('release');
  // A 1500 x 1500 px tract of 500-px patches (50-px borders) centred on the visit.
  skyMap = makeSkyMap('test', [makeTract({ id: 0, centerRa: RA, centerDec: DEC, pixelScaleArcsec: 0.168, width: 1500, height: 1500, patchInnerSize: 500, patchBorder: 50 })]);
});

describe('makeWarp', () => {
  it('puts stars at their tract positions with their calibrated fluxes, and NO_DATA where no calexp reaches', () => {
    const stars: Star[] = [];
    for (const [cra, cdec] of CENTRES) for (let i = -1; i <= 1; i++) for (let j = -1; j <= 1; j++) {
      stars.push({ ra: cra + (i * 15) / 3600 / Math.cos((DEC * Math.PI) / 180), dec: cdec + (j * 22) / 3600, flux: 2e4 + 3e3 * (i + 2 * j) });
    }
    const cal = 0.75;
    const calexps = CENTRES.map((c) => calexp(c, stars, cal));
    const out = runTask(makeWarp, { calExpList: calexps, skyMap }, {}, context(4)).direct; // patch 4: the tract's centre
    const tract = skyMap.tracts[0]!;
    const patch = patchById(tract, 4);
    expect([out.x0, out.y0, out.width, out.height]).toEqual([patch.outer.x0, patch.outer.y0, patch.outer.width, patch.outer.height]);
    expect(out.metadata.getString('BUNIT')).toBe('nJy');
    expect(out.metadata.getString('WRPDETS')).toBe('0,1');
    expect(out.metadata.getBoolean('WRPPSF')).toBe(false); // the calexps have no PSF model
    expect(out.psf).toBeUndefined();
    const wcs = tractWcs(tract);
    let checked = 0;
    for (const star of stars) {
      const [tx, ty] = wcs.skyToPixel(star.ra, star.dec);
      const cx = tx - out.x0, cy = ty - out.y0;
      let f = 0, fx = 0, fy = 0;
      for (let y = Math.round(cy) - 16; y <= Math.round(cy) + 16; y++) for (let x = Math.round(cx) - 16; x <= Math.round(cx) + 16; x++) {
        if (Math.hypot(x - cx, y - cy) > 16) continue;
        const v = out.image[y * out.width + x]!;
        expect(Number.isFinite(v), `star at (${cx.toFixed(1)}, ${cy.toFixed(1)}): pixel (${x}, ${y}) has no data`).toBe(true);
        f += v; fx += v * x; fy += v * y;
      }
      expect(Math.abs(f / (star.flux * cal) - 1), `flux of the star at (${cx.toFixed(1)}, ${cy.toFixed(1)})`).toBeLessThan(2e-3);
      expect(Math.hypot(fx / f - cx, fy / f - cy), 'centroid offset (px)').toBeLessThan(0.01);
      checked++;
    }
    expect(checked).toBe(18);
    // The gap between the detectors (4", ~24 tract px) has no data; the patch corner neither.
    const [gx, gy] = wcs.skyToPixel(RA, DEC);
    const gap = Math.round(gy - out.y0) * out.width + Math.round(gx - out.x0);
    expect(out.mask[gap]! & NO_DATA).toBe(NO_DATA);
    expect(Number.isNaN(out.image[gap]!)).toBe(true);
    expect(out.mask[0]).toBe(NO_DATA);
  });

  it('PSF-matches stars to the model PSF (FWHM 7.7 tract px within 1 %) keeping their flux, and drops calexps wider than the model', () => {
    const star: Star = { ra: CENTRES[0]![0] + 5 / 3600, dec: DEC - 7 / 3600, flux: 5e4 };
    const c = Object.assign(calexp(CENTRES[0]!, [star], 2), { psf: gaussianPsfModel(STAR_SIGMA, 41) });
    const out = runTask(makeWarp, { calExpList: [c], skyMap }, {}, context(4));
    const m = out.psfMatched!;
    expect(m.metadata.getBoolean('PSFMOK')).toBe(true);
    expect(m.metadata.getString('WRPDETS')).toBe('0');
    const [tx, ty] = tractWcs(skyMap.tracts[0]!).skyToPixel(star.ra, star.dec);
    const cx = tx - m.x0, cy = ty - m.y0;
    const image = m.image.map((v) => (Number.isFinite(v) ? v : 0));
    const fwhm = momentsFwhm(adaptiveMoments(image, m.width, m.height, cx, cy));
    expect(Math.abs(fwhm / 7.7 - 1), `FWHM ${fwhm.toFixed(3)} px`).toBeLessThan(0.01);
    let flux = 0;
    for (let y = Math.round(cy) - 25; y <= Math.round(cy) + 25; y++) for (let x = Math.round(cx) - 25; x <= Math.round(cx) + 25; x++) flux += image[y * m.width + x]!;
    expect(Math.abs(flux / (5e4 * 2) - 1)).toBeLessThan(2e-3);
    // The direct warp keeps the calexp's PSF (7.0 tract px).
    const direct = momentsFwhm(adaptiveMoments(out.direct.image.map((v) => (Number.isFinite(v) ? v : 0)), m.width, m.height, cx, cy));
    expect(Math.abs(direct / (2.5 * FWHM_PER_SIGMA * 0.2 / 0.168) - 1)).toBeLessThan(0.01);
    // ... and carries it as its PSF model: the model's moments at the star are the warped star's (1 %).
    expect(out.direct.metadata.getBoolean('WRPPSF')).toBe(true);
    const psf = out.direct.psf!;
    const shape = adaptiveMoments(out.direct.image.map((v) => (Number.isFinite(v) ? v : 0)), m.width, m.height, cx, cy);
    const model = psf.momentsAt(cx, cy);
    expect(Math.abs(model.xx / shape.xx - 1), `xx ${model.xx.toFixed(3)} vs ${shape.xx.toFixed(3)}`).toBeLessThan(0.01);
    expect(Math.abs(model.yy / shape.yy - 1), `yy ${model.yy.toFixed(3)} vs ${shape.yy.toFixed(3)}`).toBeLessThan(0.01);
    // A model narrower than the calexp's PSF: left out, and said so.
    const ctx = context(4);
    const narrow = runTask(makeWarp, { calExpList: [c], skyMap }, { modelPsfFwhm: 5 }, ctx).psfMatched!;
    expect(narrow.metadata.getBoolean('PSFMOK')).toBe(false);
    expect(narrow.metadata.getString('PSFMDROP')).toBe('0');
    expect(narrow.mask.every((b) => (b & NO_DATA) !== 0)).toBe(true);
    expect(ctx.log.entries.some((e) => e.level === 'warn' && /left out of the PSF-matched warp/.test(e.message))).toBe(true);
  });

  it('predicts the warped noise with its variance plane (squared taps) to 3 %', () => {
    const noise = 25, cal = 2;
    const out = runTask(makeWarp, { calExpList: [calexp(CENTRES[0]!, [], cal, noise, 11), calexp(CENTRES[1]!, [], cal, noise, 12)], skyMap }, {}, context(4)).direct;
    let n = 0, sumSq = 0, sumVar = 0;
    for (let i = 0; i < out.image.length; i++) {
      if (out.mask[i]! & NO_DATA) continue;
      n++; sumSq += out.image[i]! ** 2; sumVar += out.variance[i]!;
    }
    expect(n).toBeGreaterThan(100_000);
    // Pixel area ratio (0.168 / 0.2)^2 and the calibration squared scale the variance; Lanczos3's squared taps reduce it.
    const meanVar = sumVar / n;
    expect(meanVar).toBeLessThan(noise * cal * cal * (0.168 / 0.2) ** 4);
    expect(Math.abs(sumSq / n / meanVar - 1)).toBeLessThan(0.03);
  });

  it('carries mask bits with their pixels', () => {
    const c = calexp(CENTRES[0]!, [], 1);
    const wcs = parseWcs(c.wcsHeader)!;
    c.mask[200 * W + 150] = 1 << MASK_PLANES.CR;
    const out = runTask(makeWarp, { calExpList: [c], skyMap }, {}, context(4)).direct;
    const tract = tractWcs(skyMap.tracts[0]!);
    const marked: [number, number][] = [];
    for (let i = 0; i < out.mask.length; i++) if (out.mask[i]! & (1 << MASK_PLANES.CR)) marked.push([i % out.width + out.x0, Math.floor(i / out.width) + out.y0]);
    // Exactly the tract pixels whose bilinear footprint in the calexp touches pixel (150, 200): within 1 px of it on each axis.
    expect(marked.length).toBeGreaterThanOrEqual(1);
    expect(marked.length).toBeLessThanOrEqual(8); // a 2x2 calexp-pixel square is 5.7 tract pixels
    for (const [x, y] of marked) {
      const [sx, sy] = wcs.skyToPixel(...tract.pixelToSky(x, y));
      expect(Math.max(Math.abs(sx - 150), Math.abs(sy - 200))).toBeLessThan(1);
    }
  });

  it('leaves out a calexp without a photometric calibration, with a warning, and has no work when none has one', () => {
    const ctx = context(4);
    const out = runTask(makeWarp, { calExpList: [calexp(CENTRES[0]!, [], undefined), calexp(CENTRES[1]!, [], 1)], skyMap }, {}, ctx).direct;
    expect(out.metadata.getString('WRPDETS')).toBe('1');
    expect(ctx.log.entries.some((e) => e.level === 'warn' && /no photometric calibration/.test(e.message))).toBe(true);
    expect(() => runTask(makeWarp, { calExpList: [calexp(CENTRES[0]!, [], undefined)], skyMap }, {}, context(4))).toThrow(NoWorkError);
  });

  it('has no work for a patch the visit does not reach, and names a tract or patch the sky map lacks', () => {
    expect(() => runTask(makeWarp, { calExpList: [calexp(CENTRES[0]!, [], 1)], skyMap }, {}, context(0))).toThrow(/no pixel of visit 7's calexps lands on tract 0 patch 0/);
    expect(() => runTask(makeWarp, { calExpList: [calexp(CENTRES[0]!, [], 1)], skyMap }, {}, context(99))).toThrow(/input 'skyMap': tract 0: no patch id 99; ids run from 0 to 8/);
  });
});
