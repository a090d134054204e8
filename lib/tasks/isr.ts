/**
 * isr: instrument signature removal of one raw detector image into postISRCCD (LSST ip_isr IsrTask,
 * in IsrTask.run's order, lib/tasks/assembleRaw.ts and assembly/isr.ts doing the pixel work):
 *  1. saturation: SAT where the raw ADU >= the amplifier's saturation level (doSaturation);
 *  2. overscan: per amplifier and row, the clipped mean of the serial overscan smoothed over 33 rows
 *     (doOverscan; see assembleRaw.ts for the choice against LSST's MEDIAN default); trim and assemble in
 *     detector coordinates (rawFlipX/Y undone); x gain -> e-;
 *  3. bias: minus the master bias (doBias);
 *  4. variance: max(image, 0) + readNoise^2 per amplifier (e-^2), plus the master bias's variance (LSST
 *     overwrites the variance here and so drops the bias's; we keep it, the master's noise being real);
 *  5. defects: BAD on every box of the defect list (doDefect; the sim's Defect[] fits: only `box` is read);
 *  6. widen saturation: SAT grown by growSaturationFootprintSize (1) px, Manhattan metric;
 *  7. dark: minus the master dark (e-/s) x the exposure's dark time (doDark), variance x darkTime^2 added;
 *  8. flat: divided by the master flat (mean 1 per detector, doFlat), the variance by flat^2 plus the
 *     flat's own variance (afw MaskedImage division);
 *  9. the calibrations' mask planes ORed in (afw MaskedImage arithmetic does), then BAD where the image or
 *     variance is not finite (doNanMasking; LSST's maskNan, which LSST then interpolates too);
 * 10. interpolation (doInterpolate) over maskListToInterpolate (SAT, BAD) along rows, linearly between the
 *     nearest usable pixels (constant at a row end): INTRP where filled, NO_DATA with NaN where a whole row
 *     is unusable. LSST's interpolateOverDefects also works along x, with a linear predictor across the
 *     defect; for a defect with good pixels on both sides both are linear interpolations.
 * Output: an Exposure in e- (one pixel of the detector's mean response; see buildFlat) with the standard
 * mask planes (lib/pipeline/maskPlanes.ts), the raw header as metadata (minus structure and amplifier
 * cards) plus ISR keywords, and the raw's nominal WCS in wcsHeader.
 */
import type { Exposure } from '../fits/exposure.js';
import type { Box, Camera, Detector } from '../sim/camera.js';
import { configHash } from '../pipeline/config.js';
import { MASK_PLANES, MASK_PLANE_NAMES, maskTranslationTable, maskValue, standardMaskPlanes } from '../pipeline/maskPlanes.js';
import { badInput, type Task, type TaskContext } from '../pipeline/task.js';
import { checkStatus } from '../wasm/kernels.js';
import type { Tessera } from '../wasm/loader.js';
import { assembleRaw, setAmplifierVariance, OVERSCAN_FIELDS, type OverscanConfig } from './assembleRaw.js';
import { checkCalibrationInput } from './calibrationBuilder.js';
import { exposureMetadata, readRawInfo, wcsCards, type RawFrameInput } from './rawInput.js';

export interface IsrConfig extends OverscanConfig {
  doBias: boolean;
  doDark: boolean;
  doFlat: boolean;
  doDefect: boolean;
  doSaturation: boolean;
  growSaturationFootprintSize: number;
  doNanMasking: boolean;
  doInterpolate: boolean;
  maskListToInterpolate: readonly string[];
}

/** A defect: a box of pixels on the trimmed, assembled detector (lib/sim/defects.ts Defect has one). */
export interface DefectBox {
  box: Box;
}

export interface IsrInputs {
  ccdExposure: RawFrameInput;
  camera: Camera;
  bias?: Exposure;
  dark?: Exposure;
  flat?: Exposure;
  defects?: readonly DefectBox[];
}

export interface IsrOutputs {
  outputExposure: Exposure;
}

export const isr: Task<IsrConfig, IsrInputs, IsrOutputs> = {
  name: 'isr',
  summary: 'Remove the instrument signature from a raw: overscan, assembly, gain, bias, dark, flat, masks, interpolation.',
  dimensions: ['instrument', 'exposure', 'detector'],
  connections: {
    inputs: {
      ccdExposure: { datasetType: 'raw', dimensions: ['instrument', 'exposure', 'detector'], storageClass: 'RawFrame', doc: 'The raw detector image.' },
      camera: { datasetType: 'camera', dimensions: ['instrument'], storageClass: 'Camera', prerequisite: true, doc: 'The camera description.' },
      bias: { datasetType: 'bias', dimensions: ['instrument', 'detector'], storageClass: 'Exposure', prerequisite: true, calibration: true, enabledBy: 'doBias', doc: 'Master bias, e-.' },
      dark: { datasetType: 'dark', dimensions: ['instrument', 'detector'], storageClass: 'Exposure', prerequisite: true, calibration: true, enabledBy: 'doDark', doc: 'Master dark, e-/s.' },
      flat: {
        datasetType: 'flat', dimensions: ['instrument', 'detector', 'physical_filter'], storageClass: 'Exposure', prerequisite: true, calibration: true, enabledBy: 'doFlat',
        doc: 'Master flat of the exposure\'s filter, mean 1.',
      },
      defects: { datasetType: 'defects', dimensions: ['instrument', 'detector'], storageClass: 'Defects', prerequisite: true, calibration: true, enabledBy: 'doDefect', doc: 'Defect boxes in detector coordinates.' },
    },
    outputs: {
      outputExposure: { datasetType: 'postISRCCD', dimensions: ['instrument', 'exposure', 'detector'], storageClass: 'Exposure', doc: 'The calibrated detector image, e-.' },
    },
  },
  config: {
    ...OVERSCAN_FIELDS,
    doBias: { type: 'boolean', default: true, description: 'Subtract the master bias.' },
    doDark: { type: 'boolean', default: true, description: 'Subtract the master dark scaled by the dark time.' },
    doFlat: { type: 'boolean', default: true, description: 'Divide by the master flat.' },
    doDefect: { type: 'boolean', default: true, description: 'Mask the defects BAD.' },
    doSaturation: { type: 'boolean', default: true, description: "Mask SAT where the raw ADU reaches the amplifier's saturation level." },
    growSaturationFootprintSize: { type: 'number', integer: true, min: 0, max: 50, default: 1, description: 'Pixels by which SAT is grown (Manhattan metric).' },
    doNanMasking: { type: 'boolean', default: true, description: 'Mask BAD where the image or variance is NaN or infinite.' },
    doInterpolate: { type: 'boolean', default: true, description: 'Interpolate along rows over the planes of maskListToInterpolate (sets INTRP).' },
    maskListToInterpolate: {
      type: 'stringList', default: ['SAT', 'BAD'], choices: MASK_PLANE_NAMES.filter((p) => p !== 'INTRP' && p !== 'NO_DATA'),
      description: 'Mask planes whose pixels are interpolated over.',
    },
  },
  run(inputs, config, context) {
    return { outputExposure: runIsr(inputs, config, context) };
  },
};

/** Pixels carrying each of the named standard planes, counted in wasm on the mask plane at maskPtr. */
function countMaskPlanes(tessera: Tessera, maskPtr: number, n: number, names: readonly (keyof typeof MASK_PLANES)[]): Record<string, number> {
  const { planes, kernels } = tessera;
  return planes.scope(() => {
    const out = planes.alloc(256);
    checkStatus('countMaskBits', kernels.countMaskBits(maskPtr, n, out));
    const counts = planes.f64(out, 32);
    return Object.fromEntries(names.map((name) => [name, counts[MASK_PLANES[name]]!]));
  });
}

function checkDefects(context: TaskContext, defects: readonly DefectBox[], detector: Detector): void {
  defects.forEach((d, i) => {
    const b = d?.box;
    const ok = b && [b.x0, b.y0, b.width, b.height].every(Number.isInteger) && b.width > 0 && b.height > 0 &&
      b.x0 >= 0 && b.y0 >= 0 && b.x0 + b.width <= detector.width && b.y0 + b.height <= detector.height;
    if (!ok) throw badInput(isr, context, 'defects', `defect ${i} ${b ? `(${b.x0}, ${b.y0}) ${b.width}x${b.height}` : '(no box)'} does not lie on the ${detector.width}x${detector.height} detector`);
  });
}

/** ORs a calibration's mask planes (by name) into the exposure's mask. */
function orCalibrationMask(tessera: Tessera, maskPtr: number, calib: Exposure, n: number): void {
  const table = maskTranslationTable(calib.maskPlanes);
  if (!table.some((v) => v !== 0)) return;
  tessera.planes.scope(() => {
    const src = tessera.planes.allocFrom(calib.mask);
    const t = tessera.planes.allocFrom(table);
    checkStatus('orMaskMapped', tessera.kernels.orMaskMapped(maskPtr, src, n, t));
  });
}

/** Subtracts (scale x) a calibration's image, adding scale^2 x its variance. */
function subtractCalibration(tessera: Tessera, imagePtr: number, variancePtr: number, calib: Exposure, n: number, scale: number): void {
  tessera.planes.scope(() => {
    const image = tessera.planes.allocFrom(calib.image);
    const variance = tessera.planes.allocFrom(calib.variance);
    checkStatus('subtractScaled', tessera.kernels.subtractScaled(imagePtr, variancePtr, image, variance, n, scale));
  });
}

function runIsr(inputs: IsrInputs, config: Readonly<IsrConfig>, context: TaskContext): Exposure {
  const { tessera, log } = context;
  const { planes, kernels } = tessera;
  const { camera } = inputs;
  const raw = inputs.ccdExposure;
  const info = readRawInfo(isr, context, 'ccdExposure', camera, raw);
  const detector = info.detector;
  const n = detector.width * detector.height;
  const bias = config.doBias ? inputs.bias : undefined;
  const dark = config.doDark ? inputs.dark : undefined;
  const flat = config.doFlat ? inputs.flat : undefined;
  for (const [name, calib, wanted] of [['bias', bias, config.doBias], ['dark', dark, config.doDark], ['flat', flat, config.doFlat]] as const) {
    if (wanted && !calib) throw badInput(isr, context, name, `missing (do${name[0]!.toUpperCase()}${name.slice(1)} is true)`);
    if (calib) checkCalibrationInput(isr, context, name, calib, detector);
  }
  const flatFilter = flat?.metadata.getString('FILTER')?.trim();
  if (flat && flatFilter !== undefined && info.physicalFilter !== undefined && flatFilter !== info.physicalFilter) {
    throw badInput(isr, context, 'flat', `is for filter ${flatFilter} but the exposure was taken through ${info.physicalFilter}`);
  }
  const defects = config.doDefect ? inputs.defects : undefined;
  if (config.doDefect && !defects) throw badInput(isr, context, 'defects', 'missing (doDefect is true)');
  if (defects) checkDefects(context, defects, detector);

  const SAT = MASK_PLANES.SAT, BAD = MASK_PLANES.BAD;
  return planes.scope(() => {
    const image = planes.alloc(n * 4);
    const variance = planes.alloc(n * 4);
    const mask = planes.alloc(n * 4);
    planes.i32(mask, n).fill(0);
    const overscans = assembleRaw(tessera, raw.data, detector, config, image, mask, config.doSaturation, SAT);
    if (bias) planes.scope(() => checkStatus('subtractScaled', kernels.subtractScaled(image, 0, planes.allocFrom(bias.image), 0, n, 1)));
    setAmplifierVariance(tessera, detector, image, variance, 1);
    if (bias) {
      planes.scope(() => checkStatus('subtractScaled', kernels.subtractScaled(variance, 0, planes.allocFrom(bias.variance), 0, n, -1)));
      orCalibrationMask(tessera, mask, bias, n);
    }
    if (defects) {
      const m = planes.i32(mask, n);
      const bad = 1 << BAD;
      for (const { box } of defects) {
        for (let y = box.y0; y < box.y0 + box.height; y++) {
          const row = y * detector.width;
          for (let x = box.x0; x < box.x0 + box.width; x++) m[row + x] = m[row + x]! | bad;
        }
      }
    }
    if (config.doSaturation && config.growSaturationFootprintSize > 0) {
      planes.scope(() => checkStatus('growMask', kernels.growMask(mask, planes.alloc(n), detector.width, detector.height, SAT, config.growSaturationFootprintSize)));
    }
    if (dark) {
      subtractCalibration(tessera, image, variance, dark, n, info.darkTime);
      orCalibrationMask(tessera, mask, dark, n);
    }
    if (flat) {
      planes.scope(() => checkStatus('divideByFlat', kernels.divideByFlat(image, variance, planes.allocFrom(flat.image), planes.allocFrom(flat.variance), n)));
      orCalibrationMask(tessera, mask, flat, n);
    }
    if (config.doNanMasking) checkStatus('maskNonFinite', kernels.maskNonFinite(image, variance, mask, n, BAD));
    if (config.doInterpolate) {
      checkStatus('interpolateRows', kernels.interpolateRows(image, variance, mask, detector.width, detector.height,
        maskValue(...config.maskListToInterpolate), maskValue('NO_DATA'), MASK_PLANES.INTRP, MASK_PLANES.NO_DATA));
    }

    const counts = countMaskPlanes(tessera, mask, n, ['SAT', 'BAD', 'INTRP', 'NO_DATA']);
    const maskOut = planes.i32(mask, n).slice();
    const metadata = exposureMetadata(raw.header);
    metadata.set('BUNIT', 'electron', 'image unit (after gain, bias, dark and flat)');
    metadata.set('DETNAME', detector.name, 'detector name');
    metadata.set('ISR_OSFT', config.doOverscan ? config.overscanFitType : 'NONE', 'overscan fit type');
    overscans.forEach((o, k) => {
      metadata.set(`OSLEV${k + 1}`, o.meanLevel, `[adu] amp ${o.amplifier} mean overscan level subtracted`, { real: true });
      if (Number.isFinite(o.noise)) metadata.set(`OSSIG${k + 1}`, o.noise, `[adu] amp ${o.amplifier} overscan rms (read noise)`, { real: true });
    });
    for (const [key, calib] of [['BIASDATE', bias], ['DARKDATE', dark], ['FLATDATE', flat]] as const) {
      const date = calib?.metadata.getString('CALIBDATE');
      if (date !== undefined) metadata.set(key, date, 'CALIBDATE of the calibration applied');
    }
    metadata.set('SATPIX', counts.SAT!, 'pixels masked SAT');
    metadata.set('BADPIX', counts.BAD!, 'pixels masked BAD');
    metadata.set('INTRPPIX', counts.INTRP!, 'pixels interpolated (INTRP)');
    metadata.set('NODATAPX', counts.NO_DATA!, 'pixels without data (NO_DATA)');
    metadata.set('ISR_CFG', configHash(config), 'SHA-256 of the canonical isr config');
    log.info(`isr: detector ${detector.id} exposure ${String(info.exposureId)}`, { saturated: counts.SAT!, bad: counts.BAD!, interpolated: counts.INTRP!, noData: counts.NO_DATA! });
    return {
      width: detector.width,
      height: detector.height,
      x0: 0,
      y0: 0,
      image: planes.f32(image, n).slice(),
      mask: maskOut,
      variance: planes.f32(variance, n).slice(),
      maskPlanes: standardMaskPlanes(),
      metadata,
      wcsHeader: wcsCards(raw.header),
    };
  });
}
