/**
 * lib/sim/calibrationFrames.ts and lib/sim/defects.ts on the tiny camera: master calibrations built the
 * simple way (overscan-subtract with assembleFromRaw, average the frames) reproduce the truths within
 * their noise: the master bias matches the fixed bias pattern with chi^2/pixel within 5 % of 1; each hot
 * pixel's dark rate within 5 sigma; the flat's mean within 0.05 % and the PRNU recovered as 1.00 % rms
 * within 3 % (after removing the photon noise in quadrature); the same PRNU in every band. Defects:
 * counts and densities as stated, mask area equal to the defect boxes, raw boxes on the right raw pixels.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CALIBRATION_DEFAULTS, DARK_CURRENT, FLAT_EXPOSURES, PRNU_RMS, QE_GRADIENT, VIGNETTING, applyDetectorSignature, calibrationHeader,
  illuminationImage, makeCalibrationRaw, planCalibrationExposures, trueDarkCurrent, trueFlat, trueMasterBias, trueMasterCalibrations,
  type CalibrationExposure,
} from '../../lib/sim/calibrationFrames.js';
import { focalPlaneRadiusMm, makeCamera, pixelToFocalPlane } from '../../lib/sim/camera.js';
import { DEFECT_PARAMETERS, MASK_BAD, applyDefects, defectMask, makeDefects, type Defect } from '../../lib/sim/defects.js';
import { assembleFromRaw } from '../../lib/sim/rawFrame.js';
import type { Band } from '../../lib/sim/types.js';

const camera = makeCamera('tiny', { seed: 42 });
const detector = camera.detectors[1]!;
const npix = detector.width * detector.height;
const plan = planCalibrationExposures(camera);
const SEED = 314;

/** Mean of the assembled (overscan-subtracted, e-) frames of the given exposures. */
function stack(exposures: CalibrationExposure[]): Float64Array {
  const sum = new Float64Array(npix);
  for (const e of exposures) {
    const img = assembleFromRaw(camera, detector, makeCalibrationRaw(camera, detector, e, { seed: SEED }));
    for (let i = 0; i < npix; i++) sum[i]! += img[i]!;
  }
  for (let i = 0; i < npix; i++) sum[i] = sum[i]! / exposures.length;
  return sum;
}

/** Per-pixel variance (e-^2) of one assembled frame with no signal: read noise, rounding, overscan estimate. */
function readVariance(x: number): number {
  const a = detector.amplifiers.find((q) => x >= q.dataBox.x0 && x < q.dataBox.x0 + q.dataBox.width)!;
  const v = a.readNoise ** 2 + a.gain ** 2 / 12;
  return v * (1 + 1 / (16 * 33));
}

describe('calibration plan and headers', () => {
  it('lists 5 biases, 3 darks of 300 s and 5 flats per band, one minute apart, with their cards', () => {
    expect(plan.filter((e) => e.imageType === 'BIAS').length).toBe(5);
    const darks = plan.filter((e) => e.imageType === 'DARK');
    expect(darks.length).toBe(3);
    expect(darks.every((e) => e.exptime === 300)).toBe(true);
    for (const b of ['g', 'r', 'i'] as Band[]) {
      const flats = plan.filter((e) => e.band === b);
      expect(flats.length).toBe(5);
      expect(flats.every((e) => e.exptime === FLAT_EXPOSURES[b].exptime && e.physicalFilter === `HSC-${b.toUpperCase()}`)).toBe(true);
    }
    expect(plan.map((e) => e.id)).toEqual(plan.map((_e, i) => CALIBRATION_DEFAULTS.firstExposureId + i));
    for (let i = 1; i < plan.length; i++) expect((plan[i]!.mjd - plan[i - 1]!.mjd) * 86400).toBeCloseTo(60, 6);
    expect(plan[0]!.dateObs).toBe('2024-01-01T00:00:00.000');
    const h = calibrationHeader(camera, plan[20]!);
    expect([h.getString('IMAGETYP'), h.getString('FILTER'), h.getNumber('EXPTIME'), h.getNumber('EXPID')]).toEqual(['FLAT', 'HSC-I', 4, plan[20]!.id]);
    expect(h.getString('DATE-OBS')).toBe(plan[20]!.dateObs);
    expect(h.getNumber('MJD-OBS')).toBe(plan[20]!.mjd);
    const raw = makeCalibrationRaw(camera, detector, plan[0]!, { seed: SEED });
    expect(raw.header.getString('IMAGETYP')).toBe('BIAS');
    expect(raw.header.getString('DATASEC1')).toBe('[9:264,5:1028]');
  });
});

describe('master bias', () => {
  it('reproduces the true bias structure within the noise of 5 frames', () => {
    const master = stack(plan.filter((e) => e.imageType === 'BIAS'));
    const truth = trueMasterBias(camera, detector);
    let chi2 = 0;
    for (let y = 0; y < detector.height; y++) {
      for (let x = 0; x < detector.width; x++) {
        const i = y * detector.width + x;
        chi2 += (master[i]! - truth[i]!) ** 2 / (readVariance(x) / 5);
      }
    }
    expect(Math.abs(chi2 / npix - 1)).toBeLessThan(0.05);
    // The amplifier glow: 16x16 px at each readout corner, where the truth is 1-3 ADU x gain.
    for (const a of detector.amplifiers) {
      const x0 = a.readoutCorner === 'LR' ? a.dataBox.x0 + a.dataBox.width - 16 : a.dataBox.x0;
      let m = 0, t = 0;
      for (let y = 0; y < 16; y++) for (let x = x0; x < x0 + 16; x++) { m += master[y * detector.width + x]!; t += truth[y * detector.width + x]!; }
      expect(t / 256).toBeGreaterThan(1.5);
      expect(Math.abs(m - t) / 256).toBeLessThan(5 * Math.sqrt(readVariance(x0) / 5 / 256));
    }
  });
});

describe('master dark', () => {
  let rate: Float64Array;
  let defects: Defect[];
  beforeAll(() => {
    const darks = plan.filter((e) => e.imageType === 'DARK');
    const mean = stack(darks);
    const bias = trueMasterBias(camera, detector);
    rate = new Float64Array(npix);
    for (let i = 0; i < npix; i++) rate[i] = (mean[i]! - bias[i]!) / 300;
    defects = makeDefects(camera, detector);
  });

  it('recovers every hot pixel rate within 5 sigma', () => {
    const hot = defects.filter((d) => d.kind === 'hot-pixel');
    expect(hot.length).toBeGreaterThan(5);
    for (const d of hot) {
      const x = d.box.x0, y = d.box.y0;
      const truthRate = d.darkRate + DARK_CURRENT;
      const sigma = Math.sqrt((truthRate * 300 + readVariance(x)) / 3) / 300;
      expect(Math.abs(rate[y * detector.width + x]! - truthRate)).toBeLessThan(5 * sigma);
    }
  });

  it('recovers the hot columns and the 0.001 e-/s dark current', () => {
    const truth = trueDarkCurrent(camera, detector, defects);
    const mask = defectMask(detector, defects);
    for (const d of defects.filter((q) => q.kind === 'hot-column')) {
      let s = 0;
      for (let y = d.box.y0; y < d.box.y0 + d.box.height; y++) for (let x = d.box.x0; x < d.box.x0 + d.box.width; x++) s += rate[y * detector.width + x]!;
      const n = d.box.width * d.box.height;
      const sigma = Math.sqrt((d.darkRate * 300 + readVariance(d.box.x0)) / 3 / n) / 300;
      expect(Math.abs(s / n - d.darkRate - DARK_CURRENT)).toBeLessThan(5 * sigma);
    }
    let s = 0, n = 0, offTruth = 0;
    for (let i = 0; i < npix; i++) {
      if (mask[i]) continue;
      s += rate[i]!;
      n++;
      if (Math.abs(truth[i]! - DARK_CURRENT) > 1e-9) offTruth++;
    }
    expect(offTruth).toBe(0);
    // Pixel noise sqrt(20/3)/300 = 0.009 e-/s averages down to 1.3e-5; the overscan estimate shares 0.2 e-
    // per row block across rows, 0.2/sqrt(3 x 1024/33)/300 = 7e-5 e-/s per amplifier.
    expect(Math.abs(s / n - DARK_CURRENT)).toBeLessThan(5 * 7e-5);
  });
});

describe('master flat', () => {
  const masters: Partial<Record<Band, Float64Array>> = {};
  beforeAll(() => {
    const bias = trueMasterBias(camera, detector);
    for (const b of ['g', 'i'] as Band[]) {
      const mean = stack(plan.filter((e) => e.band === b));
      for (let i = 0; i < npix; i++) mean[i] = mean[i]! - bias[i]!;
      masters[b] = mean;
    }
  });

  for (const band of ['g', 'i'] as Band[]) {
    it(`has the stated level, vignetting and 1 % PRNU in ${band}`, () => {
      const level = FLAT_EXPOSURES[band].level;
      const t = FLAT_EXPOSURES[band].exptime;
      const defects = makeDefects(camera, detector);
      const mask = defectMask(detector, defects);
      const flat = trueFlat(camera, detector, band, defects);
      const dark = trueDarkCurrent(camera, detector, defects);
      const ill = illuminationImage(camera, detector, band);
      const master = masters[band]!;
      let sm = 0, st = 0;
      for (let i = 0; i < npix; i++) { sm += master[i]!; st += level * flat[i]! + dark[i]! * t; }
      // 5 frames x 524288 px x 22-28 ke-: the mean is known to 1e-5; 5e-4 allows for the defects' rounding.
      expect(Math.abs(sm / st - 1)).toBeLessThan(5e-4);
      // PRNU: the master divided by its smooth parts (illumination, QE gradient), off the defects.
      let s2 = 0, noise = 0, n = 0;
      for (let y = 0; y < detector.height; y++) {
        for (let x = 0; x < detector.width; x++) {
          const i = y * detector.width + x;
          if (mask[i]) continue;
          const smooth = level * ill[i]! * (1 + QE_GRADIENT[band] * ((2 * x) / (detector.width - 1) - 1));
          const r = master[i]! / smooth - 1;
          s2 += r * r;
          noise += (level * flat[i]! + readVariance(x)) / 5 / (smooth * smooth);
          n++;
        }
      }
      const prnu = Math.sqrt(s2 / n - noise / n);
      expect(Math.abs(prnu / PRNU_RMS - 1)).toBeLessThan(0.03);
      // Vignetting: the flat falls as 1 - v (r/R)^2 over the focal plane.
      const R = focalPlaneRadiusMm(camera);
      const [fx, fy] = pixelToFocalPlane(camera, detector, 0, 0);
      expect(ill[0]).toBeCloseTo(1 - VIGNETTING[band] * (fx * fx + fy * fy) / (R * R), 6);
    });
  }

  it('has the same PRNU in every band', () => {
    const ig = illuminationImage(camera, detector, 'g');
    const ii = illuminationImage(camera, detector, 'i');
    const mask = defectMask(detector, makeDefects(camera, detector));
    let sgi = 0, sgg = 0, sii = 0;
    for (let i = 0; i < npix; i++) {
      if (mask[i]) continue;
      const g = masters.g![i]! / (FLAT_EXPOSURES.g.level * ig[i]!) - 1;
      const r = masters.i![i]! / (FLAT_EXPOSURES.i.level * ii[i]!) - 1;
      sgi += g * r; sgg += g * g; sii += r * r;
    }
    // Both are PRNU (1 %) plus independent photon noise (0.30 %, 0.27 %): correlation 1/sqrt((1 + 0.09)(1 + 0.073)) = 0.92.
    expect(sgi / Math.sqrt(sgg * sii)).toBeGreaterThan(0.9);
  });
});

describe('defects', () => {
  it('have the stated densities, in non-overlapping boxes, with a matching mask', () => {
    const many = makeCamera('tiny', { detectors: 30, seed: 42 });
    let hot = 0;
    for (const d of many.detectors) {
      const defects = makeDefects(many, d);
      const columns = defects.filter((q) => q.kind !== 'hot-pixel');
      expect(columns.length).toBeGreaterThanOrEqual(DEFECT_PARAMETERS.badColumnsPerDetector[0]);
      expect(columns.length).toBeLessThanOrEqual(DEFECT_PARAMETERS.badColumnsPerDetector[1]);
      for (const c of columns) {
        // Bottom-reading amplifiers: a partial column runs from its trap to the top edge.
        expect(c.box.y0 + c.box.height).toBe(d.height);
        expect(c.box.width === 1 || c.box.width === 2).toBe(true);
        if (c.kind === 'low-column') expect(c.response).toBeGreaterThanOrEqual(0.1);
        else expect(c.darkRate).toBeGreaterThanOrEqual(1);
      }
      for (const p of defects.filter((q) => q.kind === 'hot-pixel')) {
        expect(p.darkRate).toBeGreaterThanOrEqual(0.5);
        expect(p.darkRate).toBeLessThan(50);
      }
      hot += defects.length - columns.length;
      const mask = defectMask(d, defects);
      const area = defects.reduce((s, q) => s + q.box.width * q.box.height, 0);
      expect(mask.reduce((s, v) => s + (v & MASK_BAD), 0)).toBe(area);
    }
    const expected = DEFECT_PARAMETERS.hotPixelDensity * 512 * 1024 * 30;
    expect(Math.abs(hot - expected)).toBeLessThan(4 * Math.sqrt(expected));
  });

  it('sit on the raw pixels their rawBox names, and scale or add signal as stated', () => {
    const defects = makeDefects(camera, detector);
    const dark = plan.find((e) => e.imageType === 'DARK')!;
    const raw = makeCalibrationRaw(camera, detector, dark, { seed: SEED });
    for (const d of defects.filter((q) => q.kind === 'hot-pixel' && q.darkRate > 20)) {
      const amp = detector.amplifiers.find((a) => a.name === d.amplifier)!;
      const v = raw.data[d.rawBox.y0 * detector.rawWidth + d.rawBox.x0]!;
      expect((v - amp.biasLevel) * amp.gain).toBeGreaterThan(0.5 * d.darkRate * 300);
    }
    const img = new Float32Array(npix).fill(1000);
    applyDefects(detector, defects, img, 10);
    for (const d of defects) {
      const i = d.box.y0 * detector.width + d.box.x0;
      expect(img[i]).toBeCloseTo(1000 * d.response + 10 * d.darkRate, 2);
    }
  });

  it('enter the detector signature as flat x sky + dark x time', () => {
    const expected = new Float32Array(npix).fill(500);
    applyDetectorSignature(camera, detector, expected, { band: 'r', exptime: 30 });
    const truth = trueMasterCalibrations(camera, detector, ['r']);
    for (let i = 0; i < npix; i += 997) expect(expected[i]).toBeCloseTo(500 * truth.flat.r![i]! + 30 * truth.dark[i]!, 2);
  });
});
