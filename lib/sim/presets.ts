/**
 * The simulator's presets (`tessera sim DIR --preset NAME`), every value overridable:
 * - tiny: g, r, i x 3 visits x 2 detectors of 512x1024 px; unit and CI tests (seconds).
 * - demo: g, r, i x 5 visits x 4 detectors of 1024x2048 px; `npm run demo`.
 * - hsc:  g, r, i x 5 visits x 4 detectors of 2048x4176 px with 4 amplifiers each (Hyper
 *         Suprime-Cam), for benchmarks and scale tests.
 * All at 0.168"/px. Sky-map patches scale with the preset (LSST: 4000 px inner, 100 px border).
 */
import type { Band } from './types.js';

export type PresetName = 'tiny' | 'demo' | 'hsc';

export interface SimConfig {
  preset: PresetName;
  seed: number;
  bands: Band[];
  visitsPerBand: number;
  detectors: number;
  /** Trimmed detector size in pixels. */
  width: number;
  height: number;
  exposureTime: number;
  /** Write noise-free sky, source and artifact planes with every exposure. */
  truthImages: boolean;
  /** Faintest r magnitude rendered (fainter objects are left out of the sky). */
  magLimit: number;
  /** Galactic latitude whose star counts the field has (degrees). */
  galacticLatitude: number;
  /** Field centre. */
  ra: number;
  dec: number;
  ditherArcsec: number;
  rotationDeg: number;
  pointingErrorArcsec: number;
  rotationErrorDeg: number;
  trailFraction: number;
  crRatePerCm2PerMin: number;
  biasFrames: number;
  darkFrames: number;
  flatFramesPerBand: number;
  patchInnerSize: number;
  patchBorder: number;
}

const COMMON = {
  seed: 1,
  bands: ['g', 'r', 'i'] as Band[],
  exposureTime: 30,
  magLimit: 25.5,
  galacticLatitude: 3,
  ra: 150.1,
  dec: 2.2,
  pointingErrorArcsec: 3,
  rotationErrorDeg: 0.005,
  trailFraction: 0.3,
  crRatePerCm2PerMin: 2.5,
  biasFrames: 5,
  darkFrames: 3,
  flatFramesPerBand: 5,
};

export const PRESETS: Record<PresetName, SimConfig> = {
  tiny: {
    ...COMMON, preset: 'tiny', visitsPerBand: 3, detectors: 2, width: 512, height: 1024, truthImages: true,
    ditherArcsec: 10, rotationDeg: 0.5, patchInnerSize: 1000, patchBorder: 50,
  },
  demo: {
    ...COMMON, preset: 'demo', visitsPerBand: 5, detectors: 4, width: 1024, height: 2048, truthImages: true,
    ditherArcsec: 20, rotationDeg: 1, patchInnerSize: 2000, patchBorder: 100,
  },
  hsc: {
    ...COMMON, preset: 'hsc', visitsPerBand: 5, detectors: 4, width: 2048, height: 4176, truthImages: false,
    ditherArcsec: 60, rotationDeg: 2, patchInnerSize: 4000, patchBorder: 100,
  },
};

/** Options that make the true pointing miss the commanded one by arcminutes and the rotation by degrees. */
export const LARGE_POINTING_ERRORS = { pointingErrorArcsec: 90, rotationErrorDeg: 1 };
