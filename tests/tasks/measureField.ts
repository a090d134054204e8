/**
 * Test data for the background and detection tests (tests/tasks/background.test.ts, detection.test.ts):
 * simulated tiny-camera exposures taken through the real isr task with master calibrations built from the
 * simulated calibration raws, and their truth in the ISR frame.
 *
 * Two kinds of field:
 * - `standardField`: tests/tasks/simulatedDetector.ts's scienceExposure (the sky model's field at
 *   galactic latitude 3 deg, four saturating 12.5 mag stars, a satellite trail, cosmic rays);
 * - `cleanField`: the same sky with every object brighter than `brightestMag` (default 17) left out, on
 *   the detector and around it, and no satellite trail (cosmic rays stay). The truth catalogue lists only
 *   objects centred on the detector, so in the standard field light from bright objects just outside it,
 *   and the halos of saturated stars and large galaxies beyond 5 FWHM, sit at pixels the acceptance
 *   criteria call "far from every source" or "not on a source"; this field is where those criteria measure
 *   the estimator and not the gaps of the truth (see the tests for the standard field's numbers).
 *
 * Truth in the ISR frame (as tests/tasks/isr.test.ts): the sim's noise-free planes are detected electrons
 * (incident x true flat) and ISR divides by a master flat of mean 1, so a plane P becomes
 * P x mean(trueFlat) / trueFlat.
 */
import type { Exposure } from '../../lib/fits/exposure.js';
import { runTask, type TaskContext } from '../../lib/pipeline/task.js';
import { memoryLogger } from '../../lib/pipeline/logger.js';
import { buildBias } from '../../lib/tasks/buildBias.js';
import { buildDark } from '../../lib/tasks/buildDark.js';
import { buildFlat } from '../../lib/tasks/buildFlat.js';
import { isr } from '../../lib/tasks/isr.js';
import type { Camera } from '../../lib/sim/camera.js';
import { trueFlat } from '../../lib/sim/calibrationFrames.js';
import { planVisits } from '../../lib/sim/observations.js';
import { detectorWcsHeader, DEFAULT_DISTORTION_K1 } from '../../lib/sim/opticalModel.js';
import { PRESETS } from '../../lib/sim/presets.js';
import { mixtureFwhm } from '../../lib/sim/sersic.js';
import { defaultSkyModel } from '../../lib/sim/skyModel.js';
import { simulateExposure, detectorPlacement, type SimulatedExposure } from '../../lib/sim/simulateExposure.js';
import { matchedFilterSnr } from '../../lib/sim/snr.js';
import type { Band, RenderSource } from '../../lib/sim/types.js';
import { parseWcs } from '../../lib/wcs/index.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { calibrationRaws, rawInput, scienceExposure } from './simulatedDetector.js';

export interface MasterCalibrations {
  bias: Exposure;
  dark: Exposure;
  flat: Exposure;
}

function context(tessera: Tessera): TaskContext {
  return { tessera, log: memoryLogger() };
}

/** Master bias, dark and flat (r band) of the camera's detector from the simulated calibration raws. */
export function masterCalibrations(tessera: Tessera, camera: Camera, band: Band = 'r'): MasterCalibrations {
  const raws = calibrationRaws(camera, 314, band);
  const bias = runTask(buildBias, { inputExps: raws.biases, camera }, {}, context(tessera)).outputData;
  const dark = runTask(buildDark, { inputExps: raws.darks, camera, bias }, {}, context(tessera)).outputData;
  const flat = runTask(buildFlat, { inputExps: raws.flats, camera, bias, dark }, {}, context(tessera)).outputData;
  return { bias, dark, flat };
}

/** scienceExposure's sky without objects brighter than `brightestMag` and without a satellite trail. */
export function cleanExposure(tessera: Tessera, camera: Camera, seed: number, band: Band, brightestMag = 17): SimulatedExposure {
  const detector = camera.detectors[0]!;
  const config = { ...PRESETS.tiny, seed, bands: [band], detectors: 1, width: detector.width, height: detector.height };
  const optics = { pixelScale: camera.plateScaleArcsecPerMm * camera.pixelSizeMm, k1: DEFAULT_DISTORTION_K1 };
  const fieldRadius = Math.hypot(detector.width / 2, detector.height / 2);
  const visit = planVisits({
    seed, bands: [band], visitsPerBand: 1, center: { ra: config.ra, dec: config.dec }, exposureTime: config.exposureTime,
    ditherArcsec: 0, rotationDeg: 0.5, pointingErrorArcsec: 3, rotationErrorDeg: 0.005, trailFraction: 0, focalPlaneRadiusPx: fieldRadius,
  })[0]!;
  const sky = defaultSkyModel();
  const wcs = parseWcs(detectorWcsHeader(visit.truth, detectorPlacement(camera, detector), optics))!;
  const corners = ([[0, 0], [detector.width - 1, 0], [detector.width - 1, detector.height - 1], [0, detector.height - 1]] as const).map(([x, y]) => wcs.pixelToSky(x, y));
  const objects = sky.catalog(corners, config).objects.filter((o) => o.mag[band] >= brightestMag);
  return simulateExposure({
    tessera, camera, detector, visit, objects,
    makePsf: (toFocalPlane) => sky.psf(visit, toFocalPlane, optics.pixelScale, fieldRadius),
    galaxyProfile: sky.galaxyProfile, convolve: sky.convolve, optics, seed,
    crRatePerCm2PerMin: config.crRatePerCm2PerMin, brightStars: [], trail: undefined,
  });
}

export interface ProcessedField {
  exposure: SimulatedExposure;
  /** The isr output (e-). */
  post: Exposure;
  /** Noise-free sky and source light in the ISR frame (e-). */
  truthSky: Float64Array;
  sourceLight: Float64Array;
  /** FWHM (px) of the PSF at the detector centre (a truth star's rendered profile). */
  psfFwhm: number;
  /** Matched-filter S/N of each truth source (lib/sim/snr.ts). */
  snr: Float64Array;
}

/** isr of a simulated exposure, with its truth in the ISR frame. */
export function processField(tessera: Tessera, camera: Camera, calibrations: MasterCalibrations, exposure: SimulatedExposure): ProcessedField {
  const detector = camera.detectors[0]!;
  const post = runTask(isr, { ccdExposure: rawInput(exposure), camera, ...calibrations, defects: exposure.defects }, {}, context(tessera)).outputExposure;
  const n = detector.width * detector.height;
  const flat = trueFlat(camera, detector, exposure.visit.band, exposure.defects);
  let meanFlat = 0;
  for (const v of flat) meanFlat += v;
  meanFlat /= n;
  const truthSky = new Float64Array(n), sourceLight = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const f = meanFlat / flat[i]!;
    truthSky[i] = exposure.planes.sky[i]! * f;
    sourceLight[i] = exposure.planes.sources[i]! * f;
  }
  return { exposure, post, truthSky, sourceLight, psfFwhm: psfFwhm(exposure), snr: matchedFilterSnr(tessera, exposure) };
}

/** The PSF FWHM (px) near the detector centre, from the truth star closest to it (or any source's PSF). */
export function psfFwhm(exposure: SimulatedExposure): number {
  const { width, height } = exposure.detector;
  let best: RenderSource | undefined, bestDistance = Infinity;
  exposure.profiles.forEach((p, k) => {
    const d = Math.hypot(p.x - width / 2, p.y - height / 2);
    if (exposure.sources[k]!.star && d < bestDistance) { best = p; bestDistance = d; }
  });
  if (!best) throw new Error('psfFwhm: the exposure has no truth star');
  return mixtureFwhm(best.profile);
}

export function standardExposure(tessera: Tessera, camera: Camera, seed: number, band: Band): SimulatedExposure {
  return scienceExposure(tessera, camera, seed, band);
}

/**
 * Pixels farther than `radius` px from every truth source centre (1) or not (0): the sources on the detector
 * and those rendered from outside it whose centres lie within `radius` of its edge.
 */
export function farFromSources(field: ProcessedField, radius: number): Uint8Array {
  const { width, height } = field.exposure.detector;
  const far = new Uint8Array(width * height).fill(1);
  for (const s of [...field.exposure.sources, ...field.exposure.neighbours]) {
    for (let y = Math.max(0, Math.floor(s.y - radius)); y <= Math.min(height - 1, Math.ceil(s.y + radius)); y++) {
      for (let x = Math.max(0, Math.floor(s.x - radius)); x <= Math.min(width - 1, Math.ceil(s.x + radius)); x++) {
        if ((x - s.x) ** 2 + (y - s.y) ** 2 <= radius * radius) far[y * width + x] = 0;
      }
    }
  }
  return far;
}

export interface BinResidual {
  bx: number;
  by: number;
  /** Mean of (model - true sky) over the selected pixels, in units of the per-pixel noise there. */
  sigmas: number;
  /** Mean truth source light at those pixels, same units. */
  sourceLight: number;
  pixels: number;
}

/** Per 128 x 128 bin: the mean of (model - truth sky) over `select`ed pixels in units of sqrt(mean variance). */
export function binResiduals(field: ProcessedField, model: Float32Array, select: Uint8Array, binSize = 128): BinResidual[] {
  const { width, height } = field.exposure.detector;
  const out: BinResidual[] = [];
  for (let by = 0; by * binSize < height; by++) {
    for (let bx = 0; bx * binSize < width; bx++) {
      let sum = 0, variance = 0, light = 0, n = 0;
      for (let y = by * binSize; y < Math.min(height, (by + 1) * binSize); y++) {
        for (let x = bx * binSize; x < Math.min(width, (bx + 1) * binSize); x++) {
          const i = y * width + x;
          if (!select[i]) continue;
          sum += model[i]! - field.truthSky[i]!;
          variance += field.post.variance[i]!;
          light += field.sourceLight[i]!;
          n++;
        }
      }
      const sigma = Math.sqrt(variance / n);
      out.push({ bx, by, sigmas: sum / n / sigma, sourceLight: light / n / sigma, pixels: n });
    }
  }
  return out;
}

/** The bin table as text, one row of bins per line (top row last, as the image is stored). */
export function formatBins(bins: readonly BinResidual[]): string {
  const rows = new Map<number, string[]>();
  for (const b of bins) rows.set(b.by, [...(rows.get(b.by) ?? []), `${b.sigmas >= 0 ? ' ' : ''}${b.sigmas.toFixed(3)}`]);
  return [...rows.entries()].map(([by, cells]) => `  y${String(by).padStart(2)}: ${cells.join(' ')}`).join('\n');
}

export interface DetectionPosition {
  fx: number;
  fy: number;
  x: number;
  y: number;
}

export interface DetectionScore {
  /** Truth objects with S/N >= 10 (centre pixel not saturated in the truth), and how many were matched. */
  targets: number;
  found: number;
  /** Detections, and those with no truth object of S/N >= 3 within 1.5 px and not on a truth artifact. */
  detections: number;
  spurious: DetectionPosition[];
  missed: number[];
}

/**
 * DESIGN.md's completeness and spurious fraction: truth objects with S/N >= 10 matched one-to-one within
 * 1.5 px (closest pairs first) by a detection's sub-pixel position; spurious detections have no truth object
 * of S/N >= 3 within 1.5 px and do not sit on a truth artifact pixel. Truth objects whose centre pixel is
 * saturated in the truth are left out of completeness: ISR replaces their cores by an interpolation along
 * rows, so no detection's position can be expected within 1.5 px of them (they are detected, offset by ~2 px).
 */
export function scoreDetections(field: ProcessedField, detections: readonly DetectionPosition[]): DetectionScore {
  const { exposure, snr } = field;
  const width = exposure.detector.width;
  const SAT = 2; // TRUTH_MASK_PLANES.SAT
  const pairs: [number, number, number][] = [];
  exposure.sources.forEach((s, t) => {
    detections.forEach((d, k) => {
      const distance = Math.hypot(d.fx - s.x, d.fy - s.y);
      if (distance <= 1.5) pairs.push([distance, t, k]);
    });
  });
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  const usedTruth = new Set<number>(), usedDetection = new Set<number>();
  for (const [, t, k] of pairs) {
    if (usedTruth.has(t) || usedDetection.has(k)) continue;
    usedTruth.add(t);
    usedDetection.add(k);
  }
  const targets = exposure.sources.map((_, t) => t).filter((t) => {
    const s = exposure.sources[t]!;
    return snr[t]! >= 10 && (exposure.mask[Math.round(s.y) * width + Math.round(s.x)]! & SAT) === 0;
  });
  const spurious = detections.filter((d) => exposure.mask[d.y * width + d.x] === 0
    && !exposure.sources.some((s, t) => snr[t]! >= 3 && Math.hypot(d.fx - s.x, d.fy - s.y) <= 1.5));
  return {
    targets: targets.length, found: targets.filter((t) => usedTruth.has(t)).length,
    detections: detections.length, spurious, missed: targets.filter((t) => !usedTruth.has(t)),
  };
}
