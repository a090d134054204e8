// buildBias, buildDark and buildFlat on the tiny camera's simulated calibration raws (5 biases, 3 darks
// of 300 s, 5 r-band flats; lib/sim), against the simulator's truths:
// - bias vs trueMasterBias: chi^2 per pixel within 5 % of 1, the expected noise being the clipped mean's
//   (its variance factor over a plain mean measured on Gaussian values with the JS reference) of 5 frames
//   of read noise and digitisation; afw's MEANCLIP is as much noisier as that factor says;
// - dark vs trueDarkCurrent: every hot pixel within 3 sigma, hot columns, the 0.001 e-/s floor;
// - flat vs trueFlat normalised to mean 1: ratio residual rms < 0.5 % and within 5 % of the photon noise;
// - products written with writeExposure and read back; metadata (inputs, validity); bad inputs named.
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { readExposure, readFitsBytes, writeExposure } from '../../lib/fits/index.js';
import { runTask, type TaskContext } from '../../lib/pipeline/task.js';
import { memoryLogger } from '../../lib/pipeline/logger.js';
import { BadInputError } from '../../lib/pipeline/errors.js';
import { MASK_PLANES } from '../../lib/pipeline/maskPlanes.js';
import { buildBias } from '../../lib/tasks/buildBias.js';
import { buildDark } from '../../lib/tasks/buildDark.js';
import { buildFlat } from '../../lib/tasks/buildFlat.js';
import type { CalibrationExposure } from '../../lib/tasks/calibrationBuilder.js';
import { DARK_CURRENT, FLAT_EXPOSURES, trueDarkCurrent, trueFlat, trueMasterBias, makeCalibrationRaw } from '../../lib/sim/calibrationFrames.js';
import { defectMask, makeDefects, type Defect } from '../../lib/sim/defects.js';
import type { Camera, Detector } from '../../lib/sim/camera.js';
import { testOutputDir } from '../helpers/paths.js';
import { calibrationRaws, testCamera, type CalibrationRaws } from './simulatedDetector.js';
import { clippedMeanVarianceFactor } from './combineReference.js';

const SEED = 314;
let tessera: Tessera;
let camera: Camera;
let detector: Detector;
let raws: CalibrationRaws;
let defects: Defect[];
let bias: CalibrationExposure;
let dark: CalibrationExposure;
let flat: CalibrationExposure;
let npix: number;
/** Variance of the 3-sigma, 3-pass clipped mean (variance widths) over the plain mean's, for 5 and 3 frames. */
let factor5: number;
let factor3: number;

function context(): TaskContext {
  return { tessera, log: memoryLogger() };
}

/** Read noise plus digitisation (e-^2) of one frame at column x, and the per-row overscan estimate's share. */
function readVariance(x: number): number {
  const a = detector.amplifiers.find((q) => x >= q.dataBox.x0 && x < q.dataBox.x0 + q.dataBox.width)!;
  return (a.readNoise ** 2 + a.gain ** 2 / 12) * (1 + 1 / (16 * 33));
}

beforeAll(async () => {
  tessera = await loadTessera('release');
  camera = testCamera('tiny', 42);
  detector = camera.detectors[0]!;
  npix = detector.width * detector.height;
  raws = calibrationRaws(camera, SEED, 'r');
  defects = makeDefects(camera, detector);
  bias = runTask(buildBias, { inputExps: raws.biases, camera }, {}, context()).outputData;
  dark = runTask(buildDark, { inputExps: raws.darks, camera, bias }, {}, context()).outputData;
  flat = runTask(buildFlat, { inputExps: raws.flats, camera, bias, dark }, {}, context()).outputData;
  factor5 = clippedMeanVarianceFactor(5, 3, 3, true);
  factor3 = clippedMeanVarianceFactor(3, 3, 3, true);
});

describe('buildBias', () => {
  function chi2PerPixel(image: Float32Array, factor: number): number {
    const truth = trueMasterBias(camera, detector);
    let chi2 = 0;
    for (let y = 0; y < detector.height; y++) {
      for (let x = 0; x < detector.width; x++) {
        const i = y * detector.width + x;
        chi2 += (image[i]! - truth[i]!) ** 2 / (factor * readVariance(x) / 5);
      }
    }
    return chi2 / npix;
  }

  it('reproduces the true bias structure: chi^2/px within 5 % of 1 for the clipped mean of 5 frames', () => {
    // Clipping 5 Gaussian values at 3 sigma costs a few per cent of efficiency (~1.05), measured, not assumed.
    expect(factor5).toBeGreaterThan(1.01);
    expect(factor5).toBeLessThan(1.08);
    expect(Math.abs(chi2PerPixel(bias.image, factor5) - 1)).toBeLessThan(0.05);
    // The amplifier glow at each readout corner (1-3 ADU x gain) within 4 sigma of its 16 x 16 mean.
    const truth = trueMasterBias(camera, detector);
    for (const a of detector.amplifiers) {
      const x0 = a.readoutCorner === 'LR' ? a.dataBox.x0 + a.dataBox.width - 16 : a.dataBox.x0;
      let m = 0, t = 0;
      for (let y = 0; y < 16; y++) for (let x = x0; x < x0 + 16; x++) { m += bias.image[y * detector.width + x]!; t += truth[y * detector.width + x]!; }
      expect(t / 256).toBeGreaterThan(1.5);
      expect(Math.abs(m - t) / 256).toBeLessThan(4 * Math.sqrt(factor5 * readVariance(x0) / 5 / 256));
    }
  });

  it("with afw's MEANCLIP (IQR widths) is noisier by the factor its clipping predicts", () => {
    const afw = runTask(buildBias, { inputExps: raws.biases, camera }, { combine: 'MEANCLIP' }, context()).outputData;
    const afwFactor = clippedMeanVarianceFactor(5, 3, 3, false);
    expect(afwFactor).toBeGreaterThan(1.12);
    expect(Math.abs(chi2PerPixel(afw.image, afwFactor) - 1)).toBeLessThan(0.05);
    // And without clipping (nIter 0): the plain mean, factor 1.
    const plain = runTask(buildBias, { inputExps: raws.biases, camera }, { nIter: 0 }, context()).outputData;
    expect(Math.abs(chi2PerPixel(plain.image, 1) - 1)).toBeLessThan(0.05);
  });

  it('has a variance plane of readNoise^2 / frames used, no BAD pixel, and the inputs and validity in its metadata', () => {
    for (const a of detector.amplifiers) {
      const i = 500 * detector.width + a.dataBox.x0 + 100;
      expect(bias.variance[i]).toBeCloseTo(a.readNoise ** 2 / 5, 4);
    }
    expect(bias.mask.every((m) => m === 0)).toBe(true);
    const biases = raws.plan.filter((e) => e.imageType === 'BIAS');
    expect(bias.validity).toEqual({ beginMjd: biases[0]!.mjd, endMjd: null });
    expect(bias.inputs.map((i) => i.exposureId)).toEqual(biases.map((e) => e.id));
    const h = bias.metadata;
    expect([h.getString('OBSTYPE'), h.getInteger('DETECTOR'), h.getInteger('NCOMBINE'), h.getString('VALIDEND'), h.getString('BUNIT')]).toEqual(['BIAS', 0, 5, 'OPEN', 'electron']);
    expect(biases.map((e, k) => h.getInteger(`INPUT${k + 1}`) === e.id && h.getNumber(`INMJD${k + 1}`) === e.mjd)).toEqual(biases.map(() => true));
    expect(h.getString('CALIBDATE')).toBe('2024-01-01T00:00:00.000');
    const withEnd = runTask(buildBias, { inputExps: raws.biases.slice(0, 2), camera }, { validityDays: 30 }, context()).outputData;
    expect(withEnd.validity.endMjd).toBe(biases[0]!.mjd + 30);
    expect(withEnd.metadata.getNumber('VALIDEND')).toBe(biases[0]!.mjd + 30);
  });
});

describe('buildDark', () => {
  it('recovers every hot pixel rate within 3 sigma of its expected noise', () => {
    const hot = defects.filter((d) => d.kind === 'hot-pixel');
    expect(hot.length).toBeGreaterThan(10);
    const t = 300;
    const pulls = hot.map((d) => {
      const x = d.box.x0, i = d.box.y0 * detector.width + x;
      const rate = d.darkRate + DARK_CURRENT;
      const sigma = Math.sqrt(factor3 * (rate * t + readVariance(x)) / 3 + factor5 * readVariance(x) / 5) / t;
      return (dark.image[i]! - rate) / sigma;
    });
    expect(Math.max(...pulls.map(Math.abs))).toBeLessThan(3);
    const rms = Math.sqrt(pulls.reduce((a, p) => a + p * p, 0) / pulls.length);
    expect(rms).toBeGreaterThan(0.5);
    expect(rms).toBeLessThan(1.5);
  });

  it('recovers the hot columns and the 0.001 e-/s floor, in e-/s', () => {
    const truth = trueDarkCurrent(camera, detector, defects);
    for (const d of defects.filter((q) => q.kind === 'hot-column')) {
      let s = 0;
      for (let y = d.box.y0; y < d.box.y0 + d.box.height; y++) for (let x = d.box.x0; x < d.box.x0 + d.box.width; x++) s += dark.image[y * detector.width + x]!;
      const n = d.box.width * d.box.height;
      const sigma = Math.sqrt((factor3 * (d.darkRate * 300 + readVariance(d.box.x0)) / 3 + factor5 * readVariance(d.box.x0) / 5) / n) / 300;
      expect(Math.abs(s / n - d.darkRate - DARK_CURRENT)).toBeLessThan(4 * sigma);
    }
    const mask = defectMask(detector, defects);
    let s = 0, n = 0, offTruth = 0;
    for (let i = 0; i < npix; i++) {
      if (mask[i]) continue;
      if (truth[i] !== Math.fround(DARK_CURRENT)) offTruth++;
      s += dark.image[i]!;
      n++;
    }
    expect(offTruth).toBe(0);
    // Pixel noise averages to ~1.5e-5 e-/s; the per-row overscan estimates of 3 darks and 5 biases add
    // ~0.15 e- per 33-row block: 0.15 / sqrt(1024 / 33) / 300 = 9e-5 e-/s per amplifier.
    expect(Math.abs(s / n - DARK_CURRENT)).toBeLessThan(3 * 9e-5);
    expect(dark.metadata.getString('BUNIT')).toBe('electron/s');
  });

  it('refuses a raw that is not a dark, and a bias of another size, naming them', () => {
    expect(() => runTask(buildDark, { inputExps: [raws.darks[0]!, raws.biases[0]!], camera, bias }, {}, context()))
      .toThrow("buildDark: input 'inputExps': item 1: image type 'BIAS' is not DARK");
    const small = { ...bias, width: 10, height: 10 };
    expect(() => runTask(buildDark, { inputExps: raws.darks, camera, bias: small }, {}, context())).toThrow(BadInputError);
    expect(() => runTask(buildDark, { inputExps: raws.darks, camera, bias: small }, {}, context())).toThrow("buildDark: input 'bias': is 10x10 but detector 0 is 512x1024");
  });
});

describe('buildFlat', () => {
  it('matches the true flat normalised to mean 1: ratio residual rms < 0.5 %, within 5 % of the photon noise', () => {
    const truth = trueFlat(camera, detector, 'r', defects);
    let mean = 0;
    for (const v of truth) mean += v;
    mean /= npix;
    const level = FLAT_EXPOSURES.r.level;
    let s2 = 0, expected = 0, good = 0, sum = 0;
    for (let y = 0; y < detector.height; y++) {
      for (let x = 0; x < detector.width; x++) {
        const i = y * detector.width + x;
        const t = truth[i]! / mean;
        const r = flat.image[i]! / t - 1;
        s2 += r * r;
        const electrons = level * truth[i]!;
        expected += factor5 * (electrons + readVariance(x)) / 5 / (electrons * electrons);
        sum += flat.image[i]!;
        if (flat.mask[i] === 0) good++;
      }
    }
    const rms = Math.sqrt(s2 / npix);
    expect(rms).toBeLessThan(0.005);
    expect(Math.abs(rms / Math.sqrt(expected / npix) - 1)).toBeLessThan(0.05);
    expect(good).toBe(npix);
    expect(sum / npix).toBeCloseTo(1, 6);
    // The smooth part (vignetting, QE gradient) on 64 x 64 blocks: 4096 px average the noise to 0.005 %.
    let worst = 0;
    for (let by = 0; by < detector.height; by += 64) {
      for (let bx = 0; bx < detector.width; bx += 64) {
        let m = 0, t = 0;
        for (let y = by; y < by + 64; y++) for (let x = bx; x < bx + 64; x++) { m += flat.image[y * detector.width + x]!; t += truth[y * detector.width + x]! / mean; }
        worst = Math.max(worst, Math.abs(m / t - 1));
      }
    }
    expect(worst).toBeLessThan(2e-4);
    expect([flat.metadata.getString('FILTER'), flat.metadata.getString('OBSTYPE')]).toEqual(['HSC-R', 'FLAT']);
    expect(flat.metadata.getNumber('FLATNORM')).toBeGreaterThan(0.9);
  });

  it('refuses flats of two filters, and fails on a flat whose median is not positive', () => {
    const g = makeCalibrationRaw(camera, detector, { ...raws.plan.find((e) => e.imageType === 'FLAT')!, band: 'g', physicalFilter: 'HSC-G', id: 99999 }, { seed: SEED });
    expect(() => runTask(buildFlat, { inputExps: [...raws.flats.slice(0, 2), { data: g.data, header: g.header }], camera, bias, dark }, {}, context()))
      .toThrow("buildFlat: input 'inputExps': item 2: has filter HSC-G; the first input has HSC-R");
    // A flat whose data sections read 100 ADU below the overscan: negative after bias subtraction.
    const data = Uint16Array.from(raws.biases[0]!.data);
    for (const a of detector.amplifiers) {
      const b = a.rawDataBox;
      for (let y = b.y0; y < b.y0 + b.height; y++) for (let x = b.x0; x < b.x0 + b.width; x++) data[y * detector.rawWidth + x] = data[y * detector.rawWidth + x]! - 100;
    }
    expect(() => runTask(buildFlat, { inputExps: [{ data, header: raws.flats[0]!.header }], camera, bias, dark }, {}, context()))
      .toThrow(/^buildFlat: flat input 0 \(exposure \d+\) has a median of -3\d\d\.\d+ e- after bias and dark subtraction and cannot be normalised$/);
  });
});

describe('calibration products as files', () => {
  it('write with writeExposure and read back with the same planes, mask planes and metadata', async () => {
    const dir = testOutputDir('tasks-build-calibrations');
    for (const [name, product] of [['bias', bias], ['dark', dark], ['flat', flat]] as const) {
      const file = path.join(dir, `${name}.fits`);
      fs.writeFileSync(file, writeExposure(product, { checksum: true, name }));
      const back = await readExposure(readFitsBytes(file, new Uint8Array(fs.readFileSync(file))));
      const same = (a: ArrayBufferView, b: ArrayBufferView): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
      expect([same(back.image, product.image), same(back.variance, product.variance), same(back.mask, product.mask)]).toEqual([true, true, true]);
      expect(back.maskPlanes).toEqual(MASK_PLANES);
      expect(back.metadata.getString('OBSTYPE')).toBe(name.toUpperCase());
      expect(back.metadata.getNumber('VALIDBEG')).toBe(product.validity.beginMjd);
      expect(back.metadata.getString('CFGHASH')).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});
