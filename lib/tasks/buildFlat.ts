/**
 * buildFlat: the master flat of one detector in one physical filter (LSST cp_pipe's cpFlat pipeline:
 * cpFlatIsr, cpFlatMeasure/Normalize, CalibCombineTask). Each flat raw is overscan-corrected, assembled
 * and converted to e- (lib/tasks/assembleRaw.ts); the master bias and the master dark x the frame's dark
 * time are subtracted; the variance is max(image, 0) + readNoise^2; each frame is divided by its own
 * median (over its unsaturated pixels), the frames are combined per pixel by the 3-sigma, 3-pass clipped
 * mean (lib/tasks/calibrationBuilder.ts), and the result is divided by its mean over the good pixels.
 * Normalisation: per detector, the flat has mean 1, so it holds illumination x pixel response (PRNU, QE
 * gradient, low-response columns) relative to this detector's average pixel; ISR images divided by it are
 * in e- that a pixel of the detector's mean response would have collected (cp_pipe's per-detector
 * normalisation; a focal-plane-wide scaling would need every detector's flat, which one quantum lacks).
 * The master bias and dark variances are added once, scaled like the frames. BAD where no frame survived
 * or the flat is not > 0. Defaults: lib/tasks/calibrationBuilder.ts CALIBRATION_FIELDS.
 */
import type { Exposure } from '../fits/exposure.js';
import type { Camera } from '../sim/camera.js';
import type { Task } from '../pipeline/task.js';
import { buildCalibration, CALIBRATION_FIELDS, type CalibrationConfig, type CalibrationExposure } from './calibrationBuilder.js';
import type { RawFrameInput } from './rawInput.js';

export type BuildFlatConfig = CalibrationConfig;

export interface BuildFlatInputs {
  inputExps: readonly RawFrameInput[];
  camera: Camera;
  bias: Exposure;
  dark: Exposure;
}

export interface BuildFlatOutputs {
  outputData: CalibrationExposure;
}

export const buildFlat: Task<BuildFlatConfig, BuildFlatInputs, BuildFlatOutputs> = {
  name: 'buildFlat',
  summary: 'Combine the flat raws of one detector and filter, each normalised by its median, into a master flat of mean 1.',
  dimensions: ['instrument', 'detector', 'physical_filter'],
  connections: {
    inputs: {
      inputExps: {
        datasetType: 'raw', dimensions: ['instrument', 'exposure', 'detector'], storageClass: 'RawFrame', multiple: true, minimum: 1,
        doc: 'Flat exposures of the detector in one physical filter (image type FLAT, DOMEFLAT or SKYFLAT).',
      },
      camera: { datasetType: 'camera', dimensions: ['instrument'], storageClass: 'Camera', prerequisite: true, doc: 'The camera description.' },
      bias: { datasetType: 'bias', dimensions: ['instrument', 'detector'], storageClass: 'Exposure', prerequisite: true, calibration: true, doc: 'Master bias, e-.' },
      dark: { datasetType: 'dark', dimensions: ['instrument', 'detector'], storageClass: 'Exposure', prerequisite: true, calibration: true, doc: 'Master dark, e-/s.' },
    },
    outputs: {
      outputData: { datasetType: 'flat', dimensions: ['instrument', 'detector', 'physical_filter'], storageClass: 'Exposure', calibration: true, doc: 'Master flat, mean 1 over the detector.' },
    },
  },
  config: CALIBRATION_FIELDS,
  run(inputs, config, context) {
    const outputData = buildCalibration(buildFlat, inputs.inputExps, inputs.camera, config, context, {
      kind: 'FLAT', imageTypes: ['FLAT', 'DOMEFLAT', 'SKYFLAT'], rawsConnection: 'inputExps', unit: '',
      bias: { connection: 'bias', exposure: inputs.bias }, dark: { connection: 'dark', exposure: inputs.dark },
    });
    return { outputData };
  },
};
