/**
 * Calibration exposures of the simulated camera (biases, darks, dome flats) as raw frames, the true master
 * calibrations they should reproduce, and the detector signature (flat field, dark current, defects)
 * that every exposure of the sky carries too.
 *
 * Truths, per detector, on the trimmed, assembled image:
 * - master bias (e-): the fixed bias pattern left after overscan subtraction (lib/sim/biasStructure.ts).
 * - dark current (e-/s/px): 0.001 everywhere, plus the hot pixels and hot columns of lib/sim/defects.ts.
 * - flat (dimensionless): illumination x pixel response x defect response, where
 *     illumination(r) = 1 - v_band (r / R)^2, r the focal-plane radius (mm), R the largest detector corner
 *       radius of the camera, v = 0.10 (g), 0.08 (r), 0.07 (i): smooth radial vignetting, 1 on the axis;
 *     pixel response = (1 + 0.01 n(x, y)) (1 + s_band u), n a white N(0, 1) field fixed per detector (the
 *       same in all bands; its mean and rms over the detector normalised to exactly 0 and 1, so the PRNU is
 *       1.00 % rms), u = 2x/(width-1) - 1 in [-1, 1] along the detector's x, s = 0.004 (g), 0.002 (r),
 *       0.001 (i): a mild band-dependent QE gradient.
 *   The flat is normalised to a perfect pixel on the optical axis: a pixel of response 1 at r = 0 has
 *   flat 1, and the mean pixel response of each detector is 1.
 * Exposures (planCalibrationExposures defaults): 5 biases (0 s), 3 darks of 300 s, 5 dome flats per band
 * with level 22, 26, 28 ke- (g, r, i; the electrons a flat-1 pixel collects) in 8, 5, 4 s, starting at
 * MJD 60310.0 (2024-01-01T00:00:00 UTC) one minute apart, exposure ids from 90000. Photon noise by
 * lib/sim/noise.ts poissonImage; every frame through makeRawFrame (its read noise and bias structure).
 * Cosmic rays are not added to calibration frames.
 * `applyDetectorSignature` turns an expected sky image (e- that a flat-1 pixel would collect) into what
 * the detector records before photon noise: x flat, + dark current x exposure time.
 */
import { FitsHeader } from '../fits/header.js';
import { trueMasterBias } from './biasStructure.js';
import { filterOfBand, focalPlaneRadiusMm, pixelToFocalPlane, resolveDetector, type Camera, type Detector } from './camera.js';
import { applyDefects, makeDefects, type Defect } from './defects.js';
import { fillNormal, poissonImage } from './noise.js';
import { Random } from './random.js';
import { makeRawFrame, type RawFrame } from './rawFrame.js';
import { BANDS, type Band } from './types.js';

export { trueMasterBias } from './biasStructure.js';

export const DARK_CURRENT = 0.001;
export const PRNU_RMS = 0.01;
export const VIGNETTING: Readonly<Record<Band, number>> = { g: 0.10, r: 0.08, i: 0.07 };
export const QE_GRADIENT: Readonly<Record<Band, number>> = { g: 0.004, r: 0.002, i: 0.001 };
export const FLAT_EXPOSURES: Readonly<Record<Band, { level: number; exptime: number }>> = {
  g: { level: 22_000, exptime: 8 },
  r: { level: 26_000, exptime: 5 },
  i: { level: 28_000, exptime: 4 },
};

export const CALIBRATION_DEFAULTS = {
  biases: 5,
  darks: 3,
  darkExptime: 300,
  flatsPerBand: 5,
  bands: BANDS,
  startMjd: 60310.0,
  intervalSeconds: 60,
  firstExposureId: 90000,
} as const;

/** Vignetting: the fraction of on-axis light reaching focal-plane point (xMm, yMm) in a band. */
export function illumination(camera: Camera, band: Band, xMm: number, yMm: number, radiusMm = focalPlaneRadiusMm(camera)): number {
  const q = (xMm * xMm + yMm * yMm) / (radiusMm * radiusMm);
  return 1 - VIGNETTING[band] * q;
}

/** The unit-mean, unit-rms white field n(x, y) of a detector's PRNU (same in all bands). */
function prnuField(camera: Camera, detector: Detector): Float64Array {
  const n = new Float64Array(detector.width * detector.height);
  fillNormal(Random.stream(camera.simulation?.seed ?? 0, 'prnu', detector.id), n);
  let s = 0, s2 = 0;
  for (let i = 0; i < n.length; i++) s += n[i]!;
  const mean = s / n.length;
  for (let i = 0; i < n.length; i++) { n[i] = n[i]! - mean; s2 += n[i]! * n[i]!; }
  const scale = 1 / Math.sqrt(s2 / n.length);
  for (let i = 0; i < n.length; i++) n[i] = n[i]! * scale;
  return n;
}

/** Pixel response (PRNU x band QE gradient), mean 1 over the detector, defects not included. */
export function pixelResponse(camera: Camera, detectorOrId: Detector | number, band: Band): Float32Array {
  const detector = resolveDetector(camera, detectorOrId);
  const n = prnuField(camera, detector);
  const out = new Float32Array(n.length);
  const { width, height } = detector;
  const gradient = new Float64Array(width);
  for (let x = 0; x < width; x++) gradient[x] = 1 + QE_GRADIENT[band] * (width > 1 ? (2 * x) / (width - 1) - 1 : 0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      out[i] = (1 + PRNU_RMS * n[i]!) * gradient[x]!;
    }
  }
  return out;
}

/** Illumination (vignetting) over the detector's pixels in a band. */
export function illuminationImage(camera: Camera, detectorOrId: Detector | number, band: Band): Float32Array {
  const detector = resolveDetector(camera, detectorOrId);
  const radius = focalPlaneRadiusMm(camera);
  const out = new Float32Array(detector.width * detector.height);
  // The pixel -> focal plane map is affine: its origin and steps along x and y.
  const [ox, oy] = pixelToFocalPlane(camera, detector, 0, 0);
  const [ax, ay] = pixelToFocalPlane(camera, detector, 1, 0);
  const [bx, by] = pixelToFocalPlane(camera, detector, 0, 1);
  const xx = ax - ox, xy = ay - oy, yx = bx - ox, yy = by - oy;
  const k = VIGNETTING[band] / (radius * radius);
  const w = detector.width;
  for (let y = 0; y < detector.height; y++) {
    for (let x = 0; x < w; x++) {
      const fx = ox + x * xx + y * yx, fy = oy + x * xy + y * yy;
      out[y * w + x] = 1 - k * (fx * fx + fy * fy);
    }
  }
  return out;
}

/** The true flat: illumination x pixel response x defect response. */
export function trueFlat(camera: Camera, detectorOrId: Detector | number, band: Band, defects?: readonly Defect[]): Float32Array {
  const detector = resolveDetector(camera, detectorOrId);
  const ill = illuminationImage(camera, detector, band);
  const resp = pixelResponse(camera, detector, band);
  for (let i = 0; i < ill.length; i++) ill[i] = ill[i]! * resp[i]!;
  // With no exposure time, only the defects' response enters.
  applyDefects(detector, defects ?? makeDefects(camera, detector), ill, 0);
  return ill;
}

/** The true dark current (e-/s/px): DARK_CURRENT plus hot pixels and hot columns. */
export function trueDarkCurrent(camera: Camera, detectorOrId: Detector | number, defects?: readonly Defect[]): Float32Array {
  const detector = resolveDetector(camera, detectorOrId);
  const out = new Float32Array(detector.width * detector.height).fill(DARK_CURRENT);
  // Dark current is not scaled by a column's low response (its charge is generated, not collected light).
  applyDefects(detector, (defects ?? makeDefects(camera, detector)).map((d) => ({ ...d, response: 1 })), out, 1);
  return out;
}

/**
 * In place: expected (e- a flat-1 pixel would collect) -> expected x trueFlat + trueDarkCurrent x exptime,
 * the detector's expected electrons before photon noise.
 */
export function applyDetectorSignature(camera: Camera, detectorOrId: Detector | number, expected: Float32Array, options: { band: Band; exptime: number; defects?: readonly Defect[] }): void {
  const detector = resolveDetector(camera, detectorOrId);
  if (expected.length !== detector.width * detector.height) throw new RangeError(`applyDetectorSignature: detector ${detector.id} has ${detector.width * detector.height} px, the image ${expected.length}`);
  if (!(options.exptime >= 0)) throw new RangeError(`applyDetectorSignature: exposure time must be >= 0 s, got ${options.exptime}`);
  const defects = options.defects ?? makeDefects(camera, detector);
  const flat = trueFlat(camera, detector, options.band, defects);
  const dark = trueDarkCurrent(camera, detector, defects);
  for (let i = 0; i < expected.length; i++) expected[i] = expected[i]! * flat[i]! + dark[i]! * options.exptime;
}

export type CalibrationImageType = 'BIAS' | 'DARK' | 'FLAT';

export interface CalibrationExposure {
  id: number;
  imageType: CalibrationImageType;
  band: Band | null;
  physicalFilter: string | null;
  /** Seconds. */
  exptime: number;
  mjd: number;
  /** ISO 8601 UTC, no zone letter (FITS DATE-OBS). */
  dateObs: string;
}

export interface CalibrationPlanOptions {
  biases?: number;
  darks?: number;
  darkExptime?: number;
  flatsPerBand?: number;
  bands?: readonly Band[];
  startMjd?: number;
  intervalSeconds?: number;
  firstExposureId?: number;
}

/** MJD (UTC) to FITS DATE-OBS text, millisecond precision. */
export function mjdToIsot(mjd: number): string {
  return new Date(Math.round((mjd - 40587) * 86_400_000)).toISOString().replace(/Z$/, '');
}

/** The calibration exposures to take: biases, then darks, then flats band by band. */
export function planCalibrationExposures(camera: Camera, options: CalibrationPlanOptions = {}): CalibrationExposure[] {
  const D = CALIBRATION_DEFAULTS;
  const biases = options.biases ?? D.biases, darks = options.darks ?? D.darks, flatsPerBand = options.flatsPerBand ?? D.flatsPerBand;
  const darkExptime = options.darkExptime ?? D.darkExptime, bands = options.bands ?? D.bands;
  const startMjd = options.startMjd ?? D.startMjd, interval = options.intervalSeconds ?? D.intervalSeconds, firstId = options.firstExposureId ?? D.firstExposureId;
  for (const [k, v] of Object.entries({ biases, darks, flatsPerBand, firstId })) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`planCalibrationExposures: ${k} must be a non-negative integer, got ${v}`);
  }
  if (!(darkExptime > 0)) throw new RangeError(`planCalibrationExposures: darkExptime must be > 0 s, got ${darkExptime}`);
  const out: CalibrationExposure[] = [];
  const push = (imageType: CalibrationImageType, band: Band | null, exptime: number): void => {
    const mjd = startMjd + (out.length * interval) / 86400;
    out.push({ id: firstId + out.length, imageType, band, physicalFilter: band ? filterOfBand(camera, band) : null, exptime, mjd, dateObs: mjdToIsot(mjd) });
  };
  for (let i = 0; i < biases; i++) push('BIAS', null, 0);
  for (let i = 0; i < darks; i++) push('DARK', null, darkExptime);
  for (const band of bands) for (let i = 0; i < flatsPerBand; i++) push('FLAT', band, FLAT_EXPOSURES[band].exptime);
  return out;
}

/** The exposure cards of a calibration raw (keywords from the camera's headerKeys). */
export function calibrationHeader(camera: Camera, exposure: CalibrationExposure): FitsHeader {
  const k = camera.headerKeys;
  const h = new FitsHeader();
  h.set(k.exposureId, exposure.id, 'exposure id');
  h.set(k.imageType, exposure.imageType, 'image type');
  h.set('OBJECT', exposure.imageType === 'FLAT' ? 'DOMEFLAT' : exposure.imageType, 'target');
  h.set(k.filter, exposure.physicalFilter ?? 'NONE', 'physical filter');
  h.set(k.exposureTime, exposure.exptime, '[s] exposure time', { real: true });
  h.set('DARKTIME', exposure.exptime, '[s] dark time', { real: true });
  h.set(k.date, exposure.dateObs, 'UTC start of exposure');
  h.set(k.mjd, exposure.mjd, 'MJD (UTC) start of exposure', { real: true });
  h.set('TIMESYS', 'UTC', 'time scale');
  return h;
}

/** The raw frame of one detector in one calibration exposure. */
export function makeCalibrationRaw(camera: Camera, detectorOrId: Detector | number, exposure: CalibrationExposure, options: { seed: number; defects?: readonly Defect[] }): RawFrame {
  const detector = resolveDetector(camera, detectorOrId);
  const n = detector.width * detector.height;
  let electrons: Float32Array;
  if (exposure.imageType === 'BIAS') electrons = new Float32Array(n);
  else {
    const defects = options.defects ?? makeDefects(camera, detector);
    let expected: Float32Array;
    if (exposure.imageType === 'DARK') {
      expected = trueDarkCurrent(camera, detector, defects);
      for (let i = 0; i < n; i++) expected[i] = expected[i]! * exposure.exptime;
    } else {
      if (!exposure.band) throw new RangeError(`makeCalibrationRaw: flat exposure ${exposure.id} has no band`);
      expected = new Float32Array(n).fill(FLAT_EXPOSURES[exposure.band].level);
      applyDetectorSignature(camera, detector, expected, { band: exposure.band, exptime: exposure.exptime, defects });
    }
    electrons = poissonImage(expected, Random.stream(options.seed, 'calibration-photons', exposure.id, detector.id));
  }
  return makeRawFrame(camera, detector, electrons, { seed: options.seed, exposureId: exposure.id, header: calibrationHeader(camera, exposure) });
}

/** Truth for one detector: master bias (e-), dark current (e-/s) and flats per band. */
export function trueMasterCalibrations(camera: Camera, detectorOrId: Detector | number, bands: readonly Band[] = BANDS): { bias: Float32Array; dark: Float32Array; flat: Partial<Record<Band, Float32Array>> } {
  const detector = resolveDetector(camera, detectorOrId);
  const defects = makeDefects(camera, detector);
  const flat: Partial<Record<Band, Float32Array>> = {};
  for (const b of bands) flat[b] = trueFlat(camera, detector, b, defects);
  return { bias: trueMasterBias(camera, detector), dark: trueDarkCurrent(camera, detector, defects), flat };
}
