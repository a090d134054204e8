// isr on a simulated tiny-camera exposure (sky-model field, saturating stars, cosmic rays, a satellite
// trail, the detector's defects; lib/sim) with master calibrations built by buildBias/buildDark/buildFlat
// from the simulated calibration raws, against the truth. The truth in the ISR frame: the sim's
// noise-free planes are detected electrons (incident x true flat, plus dark current x exposure time and
// cosmic-ray charge), and the master flat has mean 1 over the detector, so
//   T = (sky + sources + artifacts - darkRate x t) x mean(trueFlat) / trueFlat.
// Checked on clean pixels (no truth artifact, nothing masked): mean residual < 0.1 sigma; residual /
// expected sigma (photon, read, digitisation and master-calibration noise, from the truth) rms 1 within
// 3 %; the variance plane predicts the residual variance within 3 %. Masks: SAT covers the truth SAT
// pixels, grown by 1; BAD covers the defects; INTRP exactly where SAT or BAD was filled. Config switches,
// bad inputs, the output as an afw Exposure file.
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { readExposure, readFitsBytes, writeExposure, type Exposure } from '../../lib/fits/index.js';
import { runTask, type TaskContext } from '../../lib/pipeline/task.js';
import { memoryLogger } from '../../lib/pipeline/logger.js';
import { MASK_PLANES } from '../../lib/pipeline/maskPlanes.js';
import { buildBias } from '../../lib/tasks/buildBias.js';
import { buildDark } from '../../lib/tasks/buildDark.js';
import { buildFlat } from '../../lib/tasks/buildFlat.js';
import { isr, type IsrInputs } from '../../lib/tasks/isr.js';
import { FLAT_EXPOSURES, trueDarkCurrent, trueFlat } from '../../lib/sim/calibrationFrames.js';
import { TRUTH_MASK_PLANES, type SimulatedExposure } from '../../lib/sim/simulateExposure.js';
import type { Camera, Detector } from '../../lib/sim/camera.js';
import { testOutputDir } from '../helpers/paths.js';
import { calibrationRaws, rawInput, scienceExposure, testCamera } from './simulatedDetector.js';
import { clippedMeanVarianceFactor } from './combineReference.js';

let tessera: Tessera;
let camera: Camera;
let detector: Detector;
let exposure: SimulatedExposure;
let inputs: IsrInputs;
let post: Exposure;
let truth: Float64Array;
let expectedVariance: Float64Array;
let npix: number;

const bit = (name: keyof typeof MASK_PLANES): number => 1 << MASK_PLANES[name];
const truthBit = (name: keyof typeof TRUTH_MASK_PLANES): number => 1 << TRUTH_MASK_PLANES[name];

function context(): TaskContext {
  return { tessera, log: memoryLogger() };
}

beforeAll(async () => {
  tessera = await loadTessera('release');
  // Equal full wells: see testCamera (the simulator blooms at the detector's smallest full well).
  camera = testCamera('tiny', 42);
  detector = camera.detectors[0]!;
  npix = detector.width * detector.height;
  const raws = calibrationRaws(camera, 314, 'r');
  const bias = runTask(buildBias, { inputExps: raws.biases, camera }, {}, context()).outputData;
  const dark = runTask(buildDark, { inputExps: raws.darks, camera, bias }, {}, context()).outputData;
  const flat = runTask(buildFlat, { inputExps: raws.flats, camera, bias, dark }, {}, context()).outputData;
  exposure = scienceExposure(tessera, camera, 77, 'r');
  inputs = { ccdExposure: rawInput(exposure), camera, bias, dark, flat, defects: exposure.defects };
  post = runTask(isr, inputs, {}, context()).outputExposure;

  const trueF = trueFlat(camera, detector, 'r', exposure.defects);
  const darkRate = trueDarkCurrent(camera, detector, exposure.defects);
  let meanFlat = 0;
  for (const v of trueF) meanFlat += v;
  meanFlat /= npix;
  const t = exposure.visit.exposureTime;
  const f5 = clippedMeanVarianceFactor(5, 3, 3, true), f3 = clippedMeanVarianceFactor(3, 3, 3, true);
  const level = FLAT_EXPOSURES.r.level;
  truth = new Float64Array(npix);
  expectedVariance = new Float64Array(npix);
  for (const amp of detector.amplifiers) {
    const read = (amp.readNoise ** 2 + amp.gain ** 2 / 12) * (1 + 1 / (16 * 33));
    const b = amp.dataBox;
    for (let y = b.y0; y < b.y0 + b.height; y++) {
      for (let x = b.x0; x < b.x0 + b.width; x++) {
        const i = y * detector.width + x;
        const e = exposure.planes.sky[i]! + exposure.planes.sources[i]! + exposure.planes.artifacts[i]!;
        const fn = trueF[i]! / meanFlat;
        const T = (e - darkRate[i]! * t) / fn;
        truth[i] = T;
        const masterBias = f5 * read / 5;
        const masterDark = t * t * (f3 * (darkRate[i]! * 300 + read) / 3 + masterBias) / (300 * 300);
        const flatElectrons = level * trueF[i]!;
        const flatRelative = f5 * (flatElectrons + read) / 5 / (flatElectrons * flatElectrons);
        expectedVariance[i] = (e + read + masterBias + masterDark) / (fn * fn) + T * T * flatRelative;
      }
    }
  }
});

/** Pixels with no truth artifact and no ISR mask bit. */
function cleanPixels(mask: Int32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < npix; i++) if (exposure.mask[i] === 0 && mask[i] === 0) out.push(i);
  return out;
}

describe('isr image and variance against the truth', () => {
  it('leaves a mean residual < 0.1 sigma and residuals of the expected size (rms of residual / sigma = 1 within 3 %)', () => {
    const clean = cleanPixels(post.mask);
    expect(clean.length).toBeGreaterThan(0.9 * npix);
    let sum = 0, pull2 = 0, variance = 0;
    for (const i of clean) {
      const r = post.image[i]! - truth[i]!;
      sum += r;
      pull2 += (r * r) / expectedVariance[i]!;
      variance += expectedVariance[i]!;
    }
    const sigma = Math.sqrt(variance / clean.length);
    expect(Math.abs(sum / clean.length)).toBeLessThan(0.1 * sigma);
    expect(Math.abs(Math.sqrt(pull2 / clean.length) - 1)).toBeLessThan(0.03);
  });

  it('has a variance plane that predicts the residual variance within 3 %', () => {
    const clean = cleanPixels(post.mask);
    let r2 = 0, v = 0, ratio = 0;
    for (const i of clean) {
      const r = post.image[i]! - truth[i]!;
      r2 += r * r;
      v += post.variance[i]!;
      ratio += (r * r) / post.variance[i]!;
    }
    expect(Math.abs(r2 / v - 1)).toBeLessThan(0.03);
    expect(Math.abs(ratio / clean.length - 1)).toBeLessThan(0.03);
    // And the plane itself follows the expected variance pixel by pixel (its Poisson term uses the noisy image).
    let worst = 0;
    for (const i of clean.filter((_v, k) => k % 97 === 0)) worst = Math.max(worst, Math.abs(post.variance[i]! / expectedVariance[i]! - 1));
    expect(worst).toBeLessThan(0.25);
  });

  it('removes the per-row bias structure better than one overscan median per amplifier', () => {
    const rowRms = (image: Float32Array, mask: Int32Array): number => {
      let s2 = 0, rows = 0;
      for (const amp of detector.amplifiers) {
        const b = amp.dataBox;
        for (let y = b.y0; y < b.y0 + b.height; y++) {
          let s = 0, n = 0;
          for (let x = b.x0; x < b.x0 + b.width; x++) {
            const i = y * detector.width + x;
            if (exposure.mask[i] || mask[i]) continue;
            s += image[i]! - truth[i]!;
            n++;
          }
          if (n > 100) { s2 += (s / n) ** 2; rows++; }
        }
      }
      return Math.sqrt(s2 / rows);
    };
    const median = runTask(isr, inputs, { overscanFitType: 'MEDIAN' }, context()).outputExposure;
    const perRow = rowRms(post.image, post.mask);
    // Row means of ~250 pixels of sigma ~30 e-: 1.9 e- of noise; the simulated row structure adds up to 1 ADU (3 e-).
    expect(perRow).toBeLessThan(2.5);
    expect(rowRms(median.image, median.mask)).toBeGreaterThan(perRow * 1.1);
  });

  it('subtracts the dark scaled by the exposure time and divides by the flat', () => {
    const hottest = exposure.defects.filter((d) => d.kind === 'hot-pixel').sort((a, b) => b.darkRate - a.darkRate)[0]!;
    const i = hottest.box.y0 * detector.width + hottest.box.x0;
    const options = { doDefect: false, doInterpolate: false };
    const withDark = runTask(isr, inputs, options, context()).outputExposure;
    const withoutDark = runTask(isr, inputs, { ...options, doDark: false }, context()).outputExposure;
    const sigma = Math.sqrt(expectedVariance[i]!);
    expect(hottest.darkRate * exposure.visit.exposureTime).toBeGreaterThan(10 * sigma);
    expect(Math.abs(withDark.image[i]! - truth[i]!)).toBeLessThan(4 * sigma);
    const darkElectrons = inputs.dark!.image[i]! * exposure.visit.exposureTime / inputs.flat!.image[i]!;
    expect(withoutDark.image[i]! - withDark.image[i]!).toBeCloseTo(darkElectrons, 1);
    const withoutFlat = runTask(isr, inputs, { ...options, doFlat: false }, context()).outputExposure;
    const j = 300 * detector.width + 100;
    expect(withoutFlat.image[j]! / withDark.image[j]!).toBeCloseTo(inputs.flat!.image[j]!, 5);
  });
});

describe('isr masks', () => {
  it('masks SAT on every truth-saturated pixel, grown by 1 pixel and no further', () => {
    const sat = bit('SAT'), truthSat = truthBit('SAT');
    let truthCount = 0, covered = 0, outside = 0, postCount = 0;
    const W = detector.width;
    const near = (i: number): boolean => {
      const x = i % W, y = Math.floor(i / W);
      return [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]].some(([dx, dy]) => {
        const xx = x + dx!, yy = y + dy!;
        return xx >= 0 && xx < W && yy >= 0 && yy < detector.height && (exposure.mask[yy * W + xx]! & truthSat) !== 0;
      });
    };
    for (let i = 0; i < npix; i++) {
      if (exposure.mask[i]! & truthSat) { truthCount++; if (post.mask[i]! & sat) covered++; }
      if (post.mask[i]! & sat) { postCount++; if (!near(i)) outside++; }
    }
    expect(truthCount).toBeGreaterThan(200);
    expect(covered / truthCount).toBeGreaterThanOrEqual(0.99);
    expect(outside).toBe(0);
    expect(postCount).toBeGreaterThan(truthCount);
    const ungrown = runTask(isr, inputs, { growSaturationFootprintSize: 0 }, context()).outputExposure;
    let ungrownCount = 0;
    for (let i = 0; i < npix; i++) if (ungrown.mask[i]! & sat) ungrownCount++;
    expect(ungrownCount).toBeLessThan(postCount);
    expect(ungrownCount).toBeGreaterThanOrEqual(covered);
    const none = runTask(isr, inputs, { doSaturation: false }, context()).outputExposure;
    expect(none.mask.some((m) => (m & sat) !== 0)).toBe(false);
  });

  it('masks BAD on every defect and truth-BAD pixel, and interpolates exactly the SAT and BAD pixels', () => {
    const bad = bit('BAD'), intrp = bit('INTRP'), sat = bit('SAT');
    for (const d of exposure.defects) {
      for (let y = d.box.y0; y < d.box.y0 + d.box.height; y++) {
        for (let x = d.box.x0; x < d.box.x0 + d.box.width; x++) expect(post.mask[y * detector.width + x]! & bad).toBe(bad);
      }
    }
    let truthBad = 0, covered = 0, mismatched = 0, noData = 0;
    for (let i = 0; i < npix; i++) {
      const m = post.mask[i]!;
      if (exposure.mask[i]! & truthBit('BAD')) { truthBad++; if (m & bad) covered++; }
      if (((m & (sat | bad)) !== 0) !== ((m & intrp) !== 0)) mismatched++;
      if (m & bit('NO_DATA')) noData++;
      if (!Number.isFinite(post.image[i]!) || !Number.isFinite(post.variance[i]!)) noData++;
    }
    expect(covered).toBe(truthBad);
    expect(mismatched).toBe(0);
    expect(noData).toBe(0);
    expect(post.metadata.getInteger('INTRPPIX')).toBe(post.mask.filter((m) => (m & intrp) !== 0).length);
  });

  it('fills the low-response defect columns from their neighbours: unbiased on the sky', () => {
    const columns = exposure.defects.filter((d) => d.kind !== 'hot-pixel');
    expect(columns.length).toBeGreaterThan(0);
    let sum = 0, n = 0, sigma2 = 0;
    for (const d of columns) {
      for (let y = d.box.y0; y < d.box.y0 + d.box.height; y++) {
        for (let x = d.box.x0; x < d.box.x0 + d.box.width; x++) {
          const i = y * detector.width + x;
          if (exposure.planes.sources[i]! > 1 || exposure.mask[i]! & ~truthBit('BAD')) continue;
          sum += post.image[i]! - truth[i]!;
          sigma2 += expectedVariance[i]!;
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(200);
    expect(Math.abs(sum / n)).toBeLessThan(0.1 * Math.sqrt(sigma2 / n));
  });
});

describe('isr output', () => {
  it('is an afw Exposure in e- with the nominal WCS, the raw metadata and the ISR keywords, that writeExposure writes', async () => {
    expect([post.width, post.height, post.x0, post.y0]).toEqual([detector.width, detector.height, 0, 0]);
    expect(post.maskPlanes).toEqual(MASK_PLANES);
    const raw = exposure.raw.header;
    for (const key of ['CTYPE1', 'CRVAL1', 'CRVAL2', 'CRPIX1', 'CD1_1', 'A_ORDER']) expect(post.wcsHeader.get(key)).toEqual(raw.get(key));
    expect(post.wcsHeader.has('DATASEC1') || post.wcsHeader.has('EXPID')).toBe(false);
    expect([post.metadata.get('EXPID'), post.metadata.get('FILTER'), post.metadata.get('BUNIT')]).toEqual([raw.get('EXPID'), 'HSC-R', 'electron']);
    for (const key of ['DATASEC1', 'BIASSEC2', 'GAIN1', 'NAXIS1', 'BZERO', 'CRVAL1']) expect(post.metadata.has(key)).toBe(false);
    expect(post.metadata.getNumber('OSLEV1')).toBeCloseTo(detector.amplifiers[0]!.biasLevel, -1);
    expect(post.metadata.getNumber('OSSIG2')).toBeCloseTo(Math.sqrt((detector.amplifiers[1]!.readNoise / detector.amplifiers[1]!.gain) ** 2 + 1 / 12), 1);
    expect(post.metadata.getString('FLATDATE')).toBe(inputs.flat!.metadata.getString('CALIBDATE'));
    const file = path.join(testOutputDir('tasks-isr'), 'postISRCCD.fits');
    fs.writeFileSync(file, writeExposure(post, { checksum: true }));
    const back = await readExposure(readFitsBytes(file, new Uint8Array(fs.readFileSync(file))));
    expect(back.wcsHeader.getNumber('CRVAL1')).toBe(raw.getNumber('CRVAL1'));
    expect(Buffer.from(back.image.buffer, back.image.byteOffset, back.image.byteLength).equals(Buffer.from(post.image.buffer))).toBe(true);
    expect(back.maskPlanes).toEqual(MASK_PLANES);
  });

  it('is deterministic and returns every wasm block it used', () => {
    const before = tessera.planes.inUseBytes;
    const again = runTask(isr, inputs, {}, context()).outputExposure;
    expect(Buffer.from(again.image.buffer).equals(Buffer.from(post.image.buffer))).toBe(true);
    expect(Buffer.from(again.variance.buffer).equals(Buffer.from(post.variance.buffer))).toBe(true);
    expect(tessera.planes.inUseBytes).toBe(before);
  });

  it('refuses calibrations that do not fit, naming the input', () => {
    const gFlat = { ...inputs.flat!, metadata: inputs.flat!.metadata.clone().set('FILTER', 'HSC-G') };
    expect(() => runTask(isr, { ...inputs, flat: gFlat }, {}, context())).toThrow("isr: input 'flat': is for filter HSC-G but the exposure was taken through HSC-R");
    const otherDetector = { ...inputs.bias!, metadata: inputs.bias!.metadata.clone().set('DETECTOR', 5) };
    expect(() => runTask(isr, { ...inputs, bias: otherDetector }, {}, context())).toThrow("isr: input 'bias': was made for detector 5, not 0");
    const offChip = [{ box: { x0: 510, y0: 0, width: 4, height: 2 } }];
    expect(() => runTask(isr, { ...inputs, defects: offChip }, {}, context())).toThrow("isr: input 'defects': defect 0 (510, 0) 4x2 does not lie on the 512x1024 detector");
    // Without doDark the dark is not needed.
    const { dark: _unused, ...withoutDark } = inputs;
    expect(runTask(isr, withoutDark, { doDark: false }, context()).outputExposure.metadata.has('DARKDATE')).toBe(false);
  });
});
