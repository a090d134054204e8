/**
 * buildDark: the master dark of one detector in e-/s (LSST cp_pipe's cpDark pipeline: cpDarkIsr, then
 * CalibCombineTask with each input scaled by its dark time). Each dark raw is overscan-corrected,
 * assembled and converted to e- (lib/tasks/assembleRaw.ts), the master bias is subtracted, the variance
 * set to max(image, 0) + readNoise^2, and the frame divided by its dark time (DARKTIME, else EXPTIME); the
 * frames are combined per pixel by the 3-sigma, 3-pass clipped mean (lib/tasks/calibrationBuilder.ts). With equal dark times
 * this is (combination - bias) / exposure time. The master bias's variance, common to all frames, is
 * added once: var(bias) / darkTime^2. BAD where no frame survived. cp_pipe also repairs cosmic rays in
 * each input; this task relies on the clipping (the simulator's calibration frames have none).
 * Defaults: lib/tasks/calibrationBuilder.ts CALIBRATION_FIELDS.
 */
import type { Exposure } from '../fits/exposure.js';
import type { Camera } from '../sim/camera.js';
import type { Task } from '../pipeline/task.js';
import { buildCalibration, CALIBRATION_FIELDS, type CalibrationConfig, type CalibrationExposure } from './calibrationBuilder.js';
import type { RawFrameInput } from './rawInput.js';

export type BuildDarkConfig = CalibrationConfig;

export interface BuildDarkInputs {
  inputExps: readonly RawFrameInput[];
  camera: Camera;
  bias: Exposure;
}

export interface BuildDarkOutputs {
  outputData: CalibrationExposure;
}

export const buildDark: Task<BuildDarkConfig, BuildDarkInputs, BuildDarkOutputs> = {
  name: 'buildDark',
  summary: 'Combine the dark raws of one detector, bias-subtracted and per second, into its master dark (e-/s).',
  dimensions: ['instrument', 'detector'],
  connections: {
    inputs: {
      inputExps: {
        datasetType: 'raw', dimensions: ['instrument', 'exposure', 'detector'], storageClass: 'RawFrame', multiple: true, minimum: 1,
        doc: 'Dark exposures of the detector (image type DARK), dark time > 0.',
      },
      camera: { datasetType: 'camera', dimensions: ['instrument'], storageClass: 'Camera', prerequisite: true, doc: 'The camera description.' },
      bias: { datasetType: 'bias', dimensions: ['instrument', 'detector'], storageClass: 'Exposure', prerequisite: true, calibration: true, doc: 'Master bias, e-.' },
    },
    outputs: {
      outputData: { datasetType: 'dark', dimensions: ['instrument', 'detector'], storageClass: 'Exposure', calibration: true, doc: 'Master dark, e-/s.' },
    },
  },
  config: CALIBRATION_FIELDS,
  run(inputs, config, context) {
    const outputData = buildCalibration(buildDark, inputs.inputExps, inputs.camera, config, context, {
      kind: 'DARK', imageTypes: ['DARK'], rawsConnection: 'inputExps', unit: 'electron/s', bias: { connection: 'bias', exposure: inputs.bias },
    });
    return { outputData };
  },
};
