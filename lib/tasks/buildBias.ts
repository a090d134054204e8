/**
 * buildBias: the master bias of one detector (LSST cp_pipe's cpBias pipeline: cpBiasIsr then
 * CalibCombineTask). Each bias raw is overscan-corrected per row (lib/tasks/assembleRaw.ts: clipped mean
 * per row smoothed over 33 rows), trimmed, assembled in detector coordinates and converted to e- with
 * each amplifier's gain; the frames are combined per pixel by the 3-sigma, 3-pass clipped mean (clip
 * widths from the frames' noise; lib/tasks/calibrationBuilder.ts). What remains is the bias structure the overscan cannot see (amplifier glow, column
 * offsets), in e-. Variance: readNoise^2 per frame (a bias holds no photo-electrons) propagated through
 * the clipped mean. BAD where no frame survived. Validity: from the earliest input's MJD-OBS, open-ended
 * unless validityDays is set. Defaults: lib/tasks/calibrationBuilder.ts CALIBRATION_FIELDS.
 */
import type { Camera } from '../sim/camera.js';
import type { Task } from '../pipeline/task.js';
import { buildCalibration, CALIBRATION_FIELDS, type CalibrationConfig, type CalibrationExposure } from './calibrationBuilder.js';
import type { RawFrameInput } from './rawInput.js';

export type BuildBiasConfig = CalibrationConfig;

export interface BuildBiasInputs {
  inputExps: readonly RawFrameInput[];
  camera: Camera;
}

export interface BuildBiasOutputs {
  outputData: CalibrationExposure;
}

export const buildBias: Task<BuildBiasConfig, BuildBiasInputs, BuildBiasOutputs> = {
  name: 'buildBias',
  summary: 'Combine the bias raws of one detector into its master bias (e-).',
  dimensions: ['instrument', 'detector'],
  connections: {
    inputs: {
      inputExps: {
        datasetType: 'raw', dimensions: ['instrument', 'exposure', 'detector'], storageClass: 'RawFrame', multiple: true, minimum: 1,
        doc: 'Bias exposures of the detector (image type BIAS or ZERO).',
      },
      camera: { datasetType: 'camera', dimensions: ['instrument'], storageClass: 'Camera', prerequisite: true, doc: 'The camera description (amplifier geometry, gains, read noise).' },
    },
    outputs: {
      outputData: { datasetType: 'bias', dimensions: ['instrument', 'detector'], storageClass: 'Exposure', calibration: true, doc: 'Master bias, e-.' },
    },
  },
  config: CALIBRATION_FIELDS,
  run(inputs, config, context) {
    const outputData = buildCalibration(buildBias, inputs.inputExps, inputs.camera, config, context, {
      kind: 'BIAS', imageTypes: ['BIAS', 'ZERO'], rawsConnection: 'inputExps', unit: 'electron',
    });
    return { outputData };
  },
};
