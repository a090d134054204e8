/**
 * What buildBias, buildDark and buildFlat share (LSST cp_pipe: each input runs through a reduced ISR,
 * then CalibCombineTask combines them with afw's MEANCLIP):
 * 1. every raw of the detector: overscan-corrected, trimmed and assembled, in e- (lib/tasks/assembleRaw.ts),
 *    SAT where the raw reached its amplifier's saturation level;
 * 2. minus the master bias (dark, flat); variance = max(image, 0) x poissonScale + readNoise^2 (poissonScale
 *    0 for biases, whose pixels hold no photo-electrons, so zero-mean noise does not inflate it);
 * 3. minus the master dark x the frame's dark time (flat);
 * 4. scaled: by 1 / dark time (dark: e-/s) or by 1 / the frame's median (flat);
 * 5. SAT pixels set to NaN, which the combination leaves out;
 * 6. combined per pixel with the sigma-clipped mean (kernel combineClippedMean; clip 3 sigma, nIter 3
 *    passes, as cp_pipe). Default combine 'MEANCLIP_VARIANCE' clips at 3 x the square root of the median
 *    of the pixel's frame variances (the noise model of step 2) around the median, then around the mean:
 *    ~0.4 % of Gaussian values rejected, the mean's variance ~5 % above a plain mean's with 5 frames.
 *    'MEANCLIP' is afw's (widths from the values' IQR, then their sample sigma), which with few frames
 *    rejects good values (~7 % with 5) and leaves the master ~18 % noisier. (On darks, whose variance's
 *    Poisson term is the noisy image itself, the variance width biases the mean by -0.005 sigma, -7e-5
 *    e-/s with 3 darks of 300 s; see assembly/combine.ts.) The variance is sum(var) / m^2 over the m
 *    values kept (afw's calcErrorFromInputVariance);
 * 7. plus the variance of the master calibrations the frames share (subtracted from every frame, so
 *    their noise does not average down): var(bias) x (mean frame scale)^2, and for flats var(dark) x
 *    (mean of dark time x frame scale)^2;
 * 8. BAD where no frame survived, the value is not finite or (flat) not > 0;
 * 9. flats: divided by the mean of the good pixels, so the master flat has mean 1 over the detector.
 * The product is an Exposure (image, variance, mask with the standard planes) whose metadata list the
 * inputs (exposure id, MJD, exposure time) and the validity range: from the earliest input's MJD-OBS to
 * that plus `validityDays` (null: open-ended).
 */
import { FitsHeader } from '../fits/header.js';
import type { Exposure } from '../fits/exposure.js';
import type { Camera, Detector } from '../sim/camera.js';
import { configHash, type ConfigSchema } from '../pipeline/config.js';
import { AlgorithmError } from '../pipeline/errors.js';
import { MASK_PLANES, maskValue, standardMaskPlanes } from '../pipeline/maskPlanes.js';
import { badInput, type TaskContext } from '../pipeline/task.js';
import { checkStatus } from '../wasm/kernels.js';
import { assembleRaw, setAmplifierVariance, OVERSCAN_FIELDS, type OverscanConfig } from './assembleRaw.js';
import { checkImageType, readRawInfo, type RawFrameInput, type RawInfo } from './rawInput.js';

export type CombineStatistic = 'MEANCLIP_VARIANCE' | 'MEANCLIP';

export interface CombineConfig {
  combine: CombineStatistic;
  clip: number;
  nIter: number;
}

export interface CalibrationConfig extends OverscanConfig, CombineConfig {
  validityDays: number | null;
}

export const CALIBRATION_FIELDS: ConfigSchema<CalibrationConfig> = {
  ...OVERSCAN_FIELDS,
  combine: {
    type: 'choice', default: 'MEANCLIP_VARIANCE', choices: ['MEANCLIP_VARIANCE', 'MEANCLIP'],
    description: "Per-pixel statistic: clipped mean with clip widths from the frames' variance planes, or afw's MEANCLIP (widths from the values' IQR, then their sample sigma).",
  },
  clip: { type: 'number', min: 0, exclusiveMin: true, default: 3, description: 'Sigma-clipping threshold of the per-pixel combination (cp_pipe CalibCombineConfig.clip).' },
  nIter: { type: 'number', integer: true, min: 0, max: 100, default: 3, description: 'Clipping passes of the combination (cp_pipe nIter); 0 = plain mean.' },
  validityDays: {
    type: 'number', nullable: true, min: 0, exclusiveMin: true, default: null,
    description: 'Days the product is valid after its earliest input; null = open-ended.',
  },
};

/** When a calibration product applies (MJD, UTC). */
export interface ValidityRange {
  beginMjd: number;
  /** null: open-ended. */
  endMjd: number | null;
}

export interface CalibrationInputRecord {
  exposureId: number | string | undefined;
  mjd: number;
  exposureTime: number;
}

/** A master calibration: an Exposure (writeExposure writes it) plus its validity and inputs. */
export interface CalibrationExposure extends Exposure {
  validity: ValidityRange;
  inputs: CalibrationInputRecord[];
}

export type CalibrationKind = 'BIAS' | 'DARK' | 'FLAT';

export interface CalibrationRecipe {
  kind: CalibrationKind;
  /** Image types (upper case) the inputs may have. */
  imageTypes: readonly string[];
  /** Connection names (for error messages). */
  rawsConnection: string;
  bias?: { connection: string; exposure: Exposure };
  dark?: { connection: string; exposure: Exposure };
  unit: string;
}

/** Checks that a master calibration given as input fits the detector. */
export function checkCalibrationInput(task: { name: string }, context: TaskContext, connection: string, exposure: Exposure, detector: Detector): void {
  const n = detector.width * detector.height;
  if (exposure.width !== detector.width || exposure.height !== detector.height) {
    throw badInput(task, context, connection, `is ${exposure.width}x${exposure.height} but detector ${detector.id} is ${detector.width}x${detector.height}`);
  }
  if (exposure.image.length !== n || exposure.variance.length !== n || exposure.mask.length !== n) throw badInput(task, context, connection, 'its planes do not match its size');
  const id = exposure.metadata.getInteger('DETECTOR');
  if (id !== undefined && id !== detector.id) throw badInput(task, context, connection, `was made for detector ${id}, not ${detector.id}`);
}

function modifiedJulianDateToIso(mjd: number): string {
  return new Date(Math.round((mjd - 40587) * 86_400_000)).toISOString().replace(/Z$/, '');
}

/** Builds one master calibration of one detector (see the module comment). */
export function buildCalibration(task: { name: string }, raws: readonly RawFrameInput[], camera: Camera, config: Readonly<CalibrationConfig>, context: TaskContext, recipe: CalibrationRecipe): CalibrationExposure {
  const { tessera, log } = context;
  const { planes, kernels } = tessera;
  const infos: RawInfo[] = raws.map((raw, i) => readRawInfo(task, context, recipe.rawsConnection, camera, raw, i));
  const detector = infos[0]!.detector;
  infos.forEach((info, i) => {
    checkImageType(task, context, recipe.rawsConnection, info, recipe.imageTypes, i);
    if (info.detector.id !== detector.id) throw badInput(task, context, recipe.rawsConnection, `is from detector ${info.detector.id}; the first input is from detector ${detector.id}`, i);
    if (recipe.kind === 'DARK' && !(info.darkTime > 0)) throw badInput(task, context, recipe.rawsConnection, `a dark needs a dark time > 0 s, got ${info.darkTime}`, i);
    if (recipe.kind === 'FLAT' && info.physicalFilter !== infos[0]!.physicalFilter) {
      throw badInput(task, context, recipe.rawsConnection, `has filter ${info.physicalFilter ?? '(none)'}; the first input has ${infos[0]!.physicalFilter ?? '(none)'}`, i);
    }
  });
  if (recipe.bias) checkCalibrationInput(task, context, recipe.bias.connection, recipe.bias.exposure, detector);
  if (recipe.dark) checkCalibrationInput(task, context, recipe.dark.connection, recipe.dark.exposure, detector);

  const n = detector.width * detector.height;
  const satValue = maskValue('SAT');
  const badBit = MASK_PLANES.BAD;
  return planes.scope(() => {
    const biasPtr = recipe.bias ? planes.allocFrom(recipe.bias.exposure.image) : 0;
    const darkPtr = recipe.dark ? planes.allocFrom(recipe.dark.exposure.image) : 0;
    const maskPtr = planes.alloc(n * 4);
    const images: number[] = [];
    const variances: number[] = [];
    const scales: number[] = [];
    const darkScales: number[] = [];
    let saturated = 0;
    infos.forEach((info, k) => {
      // The frame's planes belong to the outer scope; the raw and scratch blocks to the inner one.
      const image = planes.alloc(n * 4);
      const variance = planes.alloc(n * 4);
      images.push(image);
      variances.push(variance);
      planes.scope(() => {
        planes.i32(maskPtr, n).fill(0);
        assembleRaw(tessera, raws[k]!.data, detector, config, image, maskPtr, true, MASK_PLANES.SAT);
        if (biasPtr) checkStatus('subtractScaled', kernels.subtractScaled(image, 0, biasPtr, 0, n, 1));
        setAmplifierVariance(tessera, detector, image, variance, recipe.kind === 'BIAS' ? 0 : 1);
        if (darkPtr) checkStatus('subtractScaled', kernels.subtractScaled(image, 0, darkPtr, 0, n, info.darkTime));
        let scale = 1;
        if (recipe.kind === 'DARK') scale = 1 / info.darkTime;
        if (recipe.kind === 'FLAT') {
          const scratch = planes.alloc(n * 4);
          const out = planes.alloc(16);
          checkStatus('planeMedian', kernels.planeMedian(image, maskPtr, n, satValue, scratch, out));
          const median = planes.f64(out, 1)[0]!;
          if (!(median > 0)) {
            throw new AlgorithmError(task.name, `flat input ${k} (exposure ${String(info.exposureId)}) has a median of ${median} e- after bias and dark subtraction and cannot be normalised`, { input: k });
          }
          scale = 1 / median;
        }
        if (scale !== 1) checkStatus('scalePlanes', kernels.scalePlanes(image, variance, n, scale));
        scales.push(scale);
        darkScales.push(info.darkTime * scale);
        const m = planes.i32(maskPtr, n);
        for (let i = 0; i < n; i++) if (m[i]! & satValue) saturated++;
        checkStatus('nanWhereMasked', kernels.nanWhereMasked(image, variance, maskPtr, n, satValue));
      });
    });
    if (saturated > 0) log.info(`${saturated} saturated pixels left out of the combination`, { saturated });

    // Combine.
    const imageTable = planes.allocFrom(new Int32Array(Uint32Array.from(images).buffer));
    const varianceTable = planes.allocFrom(new Int32Array(Uint32Array.from(variances).buffer));
    const scratch = planes.alloc(32 * images.length);
    const mean = planes.alloc(n * 4);
    const variance = planes.alloc(n * 4);
    const count = planes.alloc(n * 4);
    checkStatus('combineClippedMean', kernels.combineClippedMean(imageTable, varianceTable, images.length, n, config.clip, config.nIter,
      config.combine === 'MEANCLIP_VARIANCE' ? 1 : 0, scratch, mean, variance, count));
    for (const p of [...images, ...variances]) planes.release(p);

    // The shared calibrations' noise, common to every frame.
    const average = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
    if (recipe.bias) {
      const c = average(scales);
      const biasVar = planes.allocFrom(recipe.bias.exposure.variance);
      checkStatus('subtractScaled', kernels.subtractScaled(variance, 0, biasVar, 0, n, -(c * c)));
      planes.release(biasVar);
    }
    if (recipe.dark) {
      const c = average(darkScales);
      const darkVar = planes.allocFrom(recipe.dark.exposure.variance);
      checkStatus('subtractScaled', kernels.subtractScaled(variance, 0, darkVar, 0, n, -(c * c)));
      planes.release(darkVar);
    }

    const mask = maskPtr;
    planes.i32(mask, n).fill(0);
    checkStatus('flagInvalid', kernels.flagInvalid(mean, count, mask, n, 1, recipe.kind === 'FLAT' ? 1 : 0, badBit));
    let normalisation = 1;
    if (recipe.kind === 'FLAT') {
      const out = planes.alloc(16);
      checkStatus('planeMean', kernels.planeMean(mean, mask, n, maskValue('BAD'), out));
      const stats = planes.f64(out, 2);
      const m = stats[0]!, good = stats[1]!;
      if (!(m > 0) || good === 0) throw new AlgorithmError(task.name, `the combined flat has no good pixel with a positive value (mean ${m})`, { goodPixels: good });
      normalisation = m;
      checkStatus('scalePlanes', kernels.scalePlanes(mean, variance, n, 1 / m));
    }

    const counts = planes.i32(count, n);
    let clipped = 0, bad = 0;
    const maskView = planes.i32(mask, n);
    for (let i = 0; i < n; i++) {
      clipped += images.length - counts[i]!;
      if (maskView[i]! & (1 << badBit)) bad++;
    }
    const exposure: CalibrationExposure = {
      width: detector.width,
      height: detector.height,
      x0: 0,
      y0: 0,
      image: planes.f32(mean, n).slice(),
      mask: planes.i32(mask, n).slice(),
      variance: planes.f32(variance, n).slice(),
      maskPlanes: standardMaskPlanes(),
      metadata: new FitsHeader(),
      wcsHeader: new FitsHeader(),
      validity: { beginMjd: Math.min(...infos.map((i) => i.mjd)), endMjd: null },
      inputs: infos.map((i) => ({ exposureId: i.exposureId, mjd: i.mjd, exposureTime: i.exposureTime })),
    };
    if (config.validityDays !== null) exposure.validity.endMjd = exposure.validity.beginMjd + config.validityDays;
    exposure.metadata = calibrationMetadata(task, camera, detector, config, recipe, exposure, infos, { clipped, bad, normalisation });
    log.info(`${task.name}: combined ${infos.length} frames of detector ${detector.id}`, { frames: infos.length, clippedValues: clipped, badPixels: bad });
    return exposure;
  });
}

function calibrationMetadata(task: { name: string }, camera: Camera, detector: Detector, config: Readonly<CalibrationConfig>, recipe: CalibrationRecipe,
  exposure: CalibrationExposure, infos: readonly RawInfo[], stats: { clipped: number; bad: number; normalisation: number }): FitsHeader {
  const h = new FitsHeader();
  h.set('OBSTYPE', recipe.kind, 'calibration product type');
  h.set('INSTRUME', camera.instrument, 'instrument');
  h.set('DETECTOR', detector.id, 'detector id');
  h.set('DETNAME', detector.name, 'detector name');
  h.set('DETSER', detector.serial, 'detector serial number');
  if (recipe.kind === 'FLAT') h.set('FILTER', infos[0]!.physicalFilter ?? 'NONE', 'physical filter');
  h.set('BUNIT', recipe.unit, 'image unit');
  h.set('CALIBDATE', modifiedJulianDateToIso(exposure.validity.beginMjd), 'UTC start of validity (earliest input)');
  h.set('VALIDBEG', exposure.validity.beginMjd, '[MJD] validity begins (earliest input MJD-OBS)', { real: true });
  if (exposure.validity.endMjd !== null) h.set('VALIDEND', exposure.validity.endMjd, '[MJD] validity ends', { real: true });
  else h.set('VALIDEND', 'OPEN', 'validity is open-ended');
  h.set('COMBINE', config.combine, 'per-pixel statistic');
  h.set('CLIPSIG', config.clip, 'clipping threshold, sigma', { real: true });
  h.set('CLIPITER', config.nIter, 'clipping passes');
  h.set('NCLIPPED', stats.clipped, 'input values left out by clipping or masks');
  h.set('NBADPIX', stats.bad, 'pixels masked BAD');
  h.set('OSFIT', config.doOverscan ? config.overscanFitType : 'NONE', 'overscan fit type');
  if (recipe.kind === 'FLAT') h.set('FLATNORM', stats.normalisation, 'mean of the median-normalised combination divided out', { real: true });
  h.set('TASK', task.name, 'task that made this product');
  h.set('CFGHASH', configHash(config), 'SHA-256 of the canonical task config');
  h.set('NCOMBINE', infos.length, 'number of input exposures');
  infos.forEach((info, i) => {
    if (info.exposureId !== undefined) h.set(`INPUT${i + 1}`, info.exposureId, `input ${i + 1} exposure id`);
    h.set(`INMJD${i + 1}`, info.mjd, `[MJD] input ${i + 1} start`, { real: true });
    h.set(`INEXPT${i + 1}`, info.exposureTime, `[s] input ${i + 1} exposure time`, { real: true });
  });
  return h;
}
