/**
 * Test data for the task tests, made in-process with lib/sim (no files): a one-detector camera, its
 * calibration raws (biases, darks, flats of one band) as the inputs buildBias/buildDark/buildFlat take,
 * and one science exposure of a real sky-model field with a satellite trail, cosmic rays and a few
 * saturating stars placed on every amplifier, with its truth (noise-free planes, masks, defects).
 */
import { FitsHeader } from '../../lib/fits/header.js';
import { makeCamera, type Camera, type CameraPreset } from '../../lib/sim/camera.js';
import { makeCalibrationRaw, planCalibrationExposures, type CalibrationExposure } from '../../lib/sim/calibrationFrames.js';
import { planVisits } from '../../lib/sim/observations.js';
import { detectorWcsHeader, DEFAULT_DISTORTION_K1 } from '../../lib/sim/opticalModel.js';
import { PRESETS } from '../../lib/sim/presets.js';
import { defaultSkyModel } from '../../lib/sim/skyModel.js';
import { simulateExposure, detectorPlacement, type SimulatedExposure } from '../../lib/sim/simulateExposure.js';
import { satelliteTrail } from '../../lib/sim/artifacts.js';
import { Random } from '../../lib/sim/random.js';
import type { Band, SkyObject } from '../../lib/sim/types.js';
import { parseWcs } from '../../lib/wcs/index.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import type { RawFrameInput } from '../../lib/tasks/rawInput.js';

/** A one-detector camera of a preset. */
export function testCamera(preset: CameraPreset, seed: number): Camera {
  return makeCamera(preset, { detectors: 1, seed });
}

export interface CalibrationRaws {
  plan: CalibrationExposure[];
  biases: RawFrameInput[];
  darks: RawFrameInput[];
  flats: RawFrameInput[];
}

/** The sim's calibration plan for one band (5 biases, 3 darks of 300 s, 5 flats) as raw inputs. */
export function calibrationRaws(camera: Camera, seed: number, band: Band, counts: { biases?: number; darks?: number; flats?: number } = {}): CalibrationRaws {
  const detector = camera.detectors[0]!;
  const plan = planCalibrationExposures(camera, { bands: [band], biases: counts.biases ?? 5, darks: counts.darks ?? 3, flatsPerBand: counts.flats ?? 5 });
  const raws = (type: string): RawFrameInput[] => plan.filter((e) => e.imageType === type).map((e) => {
    const raw = makeCalibrationRaw(camera, detector, e, { seed });
    return { data: raw.data, header: raw.header };
  });
  return { plan, biases: raws('BIAS'), darks: raws('DARK'), flats: raws('FLAT') };
}

/** One science exposure of the camera's detector (see the module comment). */
export function scienceExposure(tessera: Tessera, camera: Camera, seed: number, band: Band, options: { brightStarMag?: number } = {}): SimulatedExposure {
  const detector = camera.detectors[0]!;
  const config = { ...PRESETS.tiny, seed, bands: [band], detectors: 1, width: detector.width, height: detector.height };
  const optics = { pixelScale: camera.plateScaleArcsecPerMm * camera.pixelSizeMm, k1: DEFAULT_DISTORTION_K1 };
  const halfX = detector.width / 2, halfY = detector.height / 2;
  const fieldRadius = Math.hypot(halfX, halfY);
  const visit = planVisits({
    seed, bands: [band], visitsPerBand: 1, center: { ra: config.ra, dec: config.dec }, exposureTime: config.exposureTime,
    ditherArcsec: 0, rotationDeg: 0.5, pointingErrorArcsec: 3, rotationErrorDeg: 0.005, trailFraction: 1, focalPlaneRadiusPx: fieldRadius,
  })[0]!;
  const sky = defaultSkyModel();
  const wcs = parseWcs(detectorWcsHeader(visit.truth, detectorPlacement(camera, detector), optics))!;
  const corners = ([[0, 0], [detector.width - 1, 0], [detector.width - 1, detector.height - 1], [0, detector.height - 1]] as const).map(([x, y]) => wcs.pixelToSky(x, y));
  const objects: SkyObject[] = [...sky.catalog(corners, config).objects];
  // Saturating stars: two per amplifier, away from the edges.
  const mag = options.brightStarMag ?? 12.5;
  detector.amplifiers.forEach((amp, k) => {
    for (const fy of [0.3, 0.7]) {
      const [ra, dec] = wcs.pixelToSky(amp.dataBox.x0 + amp.dataBox.width * (0.35 + 0.3 * fy) + 0.3, detector.height * fy + 0.6);
      objects.push({ id: 9_000_000 + 10 * k + Math.round(fy * 10), ra, dec, kind: 'star', mag: { g: mag + 0.4, r: mag, i: mag - 0.2 } });
    }
  });
  const skySigma = Math.sqrt(1000);
  const trail = satelliteTrail(Random.stream(seed, 'trail', visit.visit), halfX, halfY, optics.pixelScale, skySigma);
  return simulateExposure({
    tessera, camera, detector, visit, objects,
    makePsf: (toFocalPlane) => sky.psf(visit, toFocalPlane, optics.pixelScale, fieldRadius),
    galaxyProfile: sky.galaxyProfile, convolve: sky.convolve, optics, seed,
    crRatePerCm2PerMin: config.crRatePerCm2PerMin, brightStars: [], trail,
  });
}

/** The raw of a simulated exposure as an isr input. */
export function rawInput(exposure: SimulatedExposure): RawFrameInput {
  return { data: exposure.raw.data, header: exposure.raw.header };
}

/** A header with only the given cards (for bad-input tests). */
export function headerWith(cards: Record<string, string | number>): FitsHeader {
  const h = new FitsHeader();
  for (const [k, v] of Object.entries(cards)) h.set(k, v);
  return h;
}
