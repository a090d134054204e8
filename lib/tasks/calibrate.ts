/**
 * calibrate: the calibrated exposure and the deep source catalogue of one detector (LSST pipe_tasks
 * CalibrateTask), from characterizeImage's outputs and the reference catalogue:
 *  1. detection at thresholdValue (5 sigma) with the PSF model's sigma on icExp as it is (its background
 *     already subtracted), a residual background estimated with the detections masked and subtracted
 *     (added to the background list; the footprints stay, as in LSST's reEstimateBackground), measurement
 *     of every source with the PSF model (lib/measure/extractSources.ts, lib/measure/measurement.ts); the
 *     input exposure's image and mask planes become the calexp's (modified in place, as LSST's calibrate
 *     modifies its exposure: one processCcd holds one exposure's planes, not three);
 *  2. the PSF-star flags of icSrc carried over (calib_psf_candidate / _used / _reserved, matched within
 *     matchRadius pixels);
 *  3. aperture corrections (lib/measure/apertureCorrection.ts) fitted on the PSF stars used in the PSF
 *     fit (LSST measures them in characterizeImage on calib_psf_used) and applied to the PSF, Gaussian and
 *     Kron fluxes;
 *  4. astrometry (lib/astrometry: pattern matching from the header WCS, TAN-SIP fit of wcsOrder 3 with
 *     clipping) against the reference stars around the detector; when it fails the header WCS is kept
 *     and the calexp's metadata says so (ASTROMOK F), as LSST carries on;
 *  5. photometric calibration (lib/photometry/photoCal.ts: clipped zero point of the aperture-corrected
 *     PSF fluxes of matched, unflagged stars against the reference fluxes in the exposure's band, with the
 *     reference catalogue's colour terms (applyColorTerms; without them the simulated catalogue's g zero
 *     point is off by ~15 mmag));
 *     calibrated fluxes in nJy (`*_flux`, `*_fluxErr`) beside the instrumental ones; on failure the
 *     metadata says so (PHOTOCOK F) and no nJy columns are written, unless the exposure carries an external
 *     zero point (MAGZERO, AB mag of one count per second, with EXPTIME: `ingest-images --zero-points`),
 *     which then calibrates it (PHOTSRC names its source). Steps 4 and 5 are
 *     lib/tasks/calibrateCatalog.ts, which `tessera extract --refcat` runs too;
 *  6. optical ghosts (doMaskGhosts): where the camera's description gives a ghost model and the WCS and
 *     calibration were fitted, the ghosts of reference stars that reach the detector with a mean surface
 *     brightness of at least ghostThreshold (0.1) of the per-pixel noise are masked GHOST
 *     (lib/measure/ghosts.ts; NGHOSTS, GHOSTPIX in the metadata), for coadd assembly to leave out of
 *     that visit. The camera is an optional input: images from elsewhere have none.
 * Outputs: calexp (the exposure with the fitted WCS in its image header, the PSF model, the calibration
 * in its metadata: PHOTCALB nJy per count and its error, ZEROPT), calexpBackground (the list of
 * background models subtracted), src (coord_ra, coord_dec, fluxes, flags) and srcMatch (the
 * source-reference matches of the astrometric fit).
 */
import { FitsHeader } from '../fits/header.js';
import { libm } from '../math/libm.js';
import type { Task, TaskContext } from '../pipeline/task.js';
import { stepTimer } from '../pipeline/logger.js';
import { algorithmErrorFrom } from './measurementErrors.js';
import { applyApertureCorrections, fitApertureCorrection, DEFAULT_APERTURE_CORRECTION_CONFIG } from '../measure/apertureCorrection.js';
import { zeroBackground, type BackgroundModel } from '../measure/background.js';
import { extractSources } from '../measure/extractSources.js';
import type { SourceCatalog } from '../measure/sourceCatalog.js';
import type { ReferenceShard } from '../sim/referenceCatalog.js';
import type { Camera } from '../sim/camera.js';
import { maskGhosts, predictGhosts } from '../measure/ghosts.js';
import { MASK_PLANES } from '../pipeline/maskPlanes.js';
import { median } from '../math/median.js';
import { parseWcs } from '../wcs/index.js';
import { calibrateCatalog, exposureBand } from './calibrateCatalog.js';
import type { ExposureWithPsf } from './characterizeImage.js';

export interface CalibrateConfig {
  thresholdValue: number;
  backgroundBinSize: number;
  matchRadius: number;
  doApCorr: boolean;
  doAstrometry: boolean;
  wcsOrder: number;
  maxOffsetPix: number;
  doPhotoCal: boolean;
  photoCalMagLimit: number;
  applyColorTerms: boolean;
  doMaskGhosts: boolean;
  ghostThreshold: number;
  ghostMargin: number;
}

export interface CalibrateInputs {
  exposure: ExposureWithPsf;
  background: BackgroundModel[];
  icSourceCat: SourceCatalog;
  refCat: readonly ReferenceShard[];
  camera?: Camera;
}

export interface CalibrateOutputs {
  outputExposure: ExposureWithPsf;
  outputBackground: BackgroundModel[];
  outputCat: SourceCatalog;
  matches: SourceCatalog;
}

/** Index of the nearest row of `b` within `radius` px of each row of `a` (-1 if none). */
function nearestRows(a: SourceCatalog, b: SourceCatalog, radius: number): Int32Array {
  const ax = a.columns.base_SdssCentroid_x as Float64Array, ay = a.columns.base_SdssCentroid_y as Float64Array;
  const bx = b.columns.base_SdssCentroid_x as Float64Array, by = b.columns.base_SdssCentroid_y as Float64Array;
  const cell = Math.max(radius, 1);
  const grid = new Map<string, number[]>();
  for (let j = 0; j < b.length; j++) {
    const key = `${Math.floor(bx[j]! / cell)},${Math.floor(by[j]! / cell)}`;
    (grid.get(key) ?? grid.set(key, []).get(key)!).push(j);
  }
  const out = new Int32Array(a.length).fill(-1);
  for (let i = 0; i < a.length; i++) {
    const cx = Math.floor(ax[i]! / cell), cy = Math.floor(ay[i]! / cell);
    let best = radius, bestJ = -1;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      for (const j of grid.get(`${cx + dx},${cy + dy}`) ?? []) {
        const d = Math.hypot(ax[i]! - bx[j]!, ay[i]! - by[j]!);
        if (d <= best) { best = d; bestJ = j; }
      }
    }
    out[i] = bestJ;
  }
  return out;
}

export const calibrate: Task<CalibrateConfig, CalibrateInputs, CalibrateOutputs> = {
  name: 'calibrate',
  summary: 'Detect and measure every source, fit aperture corrections, the WCS and the zero point: calexp and src.',
  dimensions: ['instrument', 'visit', 'detector'],
  connections: {
    inputs: {
      exposure: { datasetType: 'icExp', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'Exposure', doc: 'characterizeImage\'s exposure with its PSF model.' },
      background: { datasetType: 'icExpBackground', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'Background', doc: 'The background already subtracted.' },
      icSourceCat: { datasetType: 'icSrc', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'SourceCatalog', doc: 'Bright sources with the PSF star flags.' },
      refCat: {
        datasetType: 'refCat', dimensions: ['htm'], storageClass: 'ReferenceShard', prerequisite: true, multiple: true, minimum: 1,
        doc: 'Reference catalogue shards (the task keeps the stars around its detector).',
      },
      camera: {
        datasetType: 'camera', dimensions: ['instrument'], storageClass: 'Camera', prerequisite: true, optional: true, enabledBy: 'doMaskGhosts',
        doc: 'The camera description: detector placement and the optical ghost model (absent for images from elsewhere).',
      },
    },
    outputs: {
      outputExposure: { datasetType: 'calexp', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'Exposure', doc: 'The calibrated exposure: fitted WCS, PSF, photometric calibration.' },
      outputBackground: { datasetType: 'calexpBackground', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'Background', doc: 'Every background model subtracted from calexp.' },
      outputCat: { datasetType: 'src', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'SourceCatalog', doc: 'The source catalogue.' },
      matches: { datasetType: 'srcMatch', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'SourceCatalog', doc: 'Source-reference matches of the astrometric fit.' },
    },
  },
  config: {
    thresholdValue: { type: 'number', min: 0, exclusiveMin: true, default: 5, description: 'Detection threshold, sigma of the smoothed image (LSST 5).' },
    backgroundBinSize: { type: 'number', integer: true, min: 8, default: 128, description: 'Bin size of the residual background, pixels.' },
    matchRadius: { type: 'number', min: 0, exclusiveMin: true, default: 2, description: 'Radius (px) for carrying icSrc flags over to src.' },
    doApCorr: { type: 'boolean', default: true, description: 'Fit and apply aperture corrections to the 12-px aperture.' },
    doAstrometry: { type: 'boolean', default: true, description: 'Match to the reference catalogue and fit the WCS.' },
    wcsOrder: { type: 'number', integer: true, min: 1, max: 6, default: 3, description: 'TAN-SIP order of the WCS fit (HSC: 3).' },
    maxOffsetPix: { type: 'number', min: 10, default: 750, description: 'Largest offset of the header WCS the matcher searches, pixels.' },
    doPhotoCal: { type: 'boolean', default: true, description: 'Fit the zero point against the reference fluxes.' },
    photoCalMagLimit: { type: 'number', default: 22, description: 'Faintest reference magnitude used by the photometric calibration (LSST 22).' },
    applyColorTerms: {
      type: 'boolean', default: true,
      description: "Apply the reference catalogue's colour terms (lib/sim/referenceCatalog.ts referenceColorTerm), as HSC's photoCal.applyColorTerms.",
    },
    doMaskGhosts: { type: 'boolean', default: true, description: "Mask (GHOST) the reference stars' optical ghosts that the camera's ghost model predicts." },
    ghostThreshold: { type: 'number', min: 0, exclusiveMin: true, default: 0.1, description: 'Faintest ghost masked: mean surface brightness over the per-pixel noise.' },
    ghostMargin: { type: 'number', min: 0, default: 4, description: 'Pixels added inside and outside the ghost ring masked.' },
  },
  run(inputs, config, context) {
    return algorithmErrorFrom(calibrate.name, () => calibrateExposure(inputs, config, context));
  },
};

function calibrateExposure(inputs: CalibrateInputs, config: Readonly<CalibrateConfig>, context: TaskContext): CalibrateOutputs {
  const { tessera, log } = context;
  const lap = stepTimer();
  const exposure = inputs.exposure;
  const psf = exposure.psf;
  const { width, height } = exposure;

  // 1. Deep detection and measurement (a residual background joins the list).
  // icExp is background-subtracted: detect on it as it is, then re-estimate the residual (as LSST's calibrate).
  // The residual is subtracted and DETECTED set in the exposure's own planes (in place, as LSST's
  // calibrate modifies its exposure); the ghosts' noise level is read before, off icExp's detections.
  const ghostNoise = medianNoise(exposure.variance, exposure.mask);
  const background = { binSize: config.backgroundBinSize };
  const extraction = extractSources(tessera, exposure, psf, {
    background, detection: { thresholdValue: config.thresholdValue }, initialBackground: zeroBackground(width, height, background),
    reuse: { image: exposure.image, mask: exposure.mask },
  });
  const catalog = extraction.catalog;
  log.info(`calibrate: ${catalog.length} sources at ${config.thresholdValue} sigma`, { sources: catalog.length, step: 'detectMeasure', ms: lap() });

  // 2. PSF-star flags from icSrc.
  const nearest = nearestRows(catalog, inputs.icSourceCat, config.matchRadius);
  for (const name of ['calib_psf_candidate', 'calib_psf_used', 'calib_psf_reserved']) {
    const from = inputs.icSourceCat.columns[name] as boolean[] | undefined;
    catalog.columns[name] = Array.from(nearest, (j) => j >= 0 && from?.[j] === true);
  }

  // 3. Aperture corrections on the PSF stars used in the fit.
  const metadata = exposure.metadata.clone();
  if (config.doApCorr) {
    const used = (catalog.columns.calib_psf_used as boolean[]).flatMap((u, k) => (u ? [k] : []));
    const fields = Object.fromEntries(DEFAULT_APERTURE_CORRECTION_CONFIG.algorithms.map((a) => [a, fitApertureCorrection(catalog, a, used, width, height)]));
    applyApertureCorrections(catalog, fields);
    for (const [a, f] of Object.entries(fields)) log.info(`calibrate: aperture correction ${a}: ${f ? `${f.nStars} stars, rms ${f.rms.toExponential(2)}` : 'not fitted'}`);
    metadata.set('APCORR', Object.values(fields).every(Boolean), 'aperture corrections fitted and applied');
    log.info('calibrate: aperture corrections applied', { step: 'apCorr', ms: lap() });
  }

  // 4-5. Astrometry against the reference stars around the detector, then the photometric calibration.
  const calibrated = calibrateCatalog({
    catalog, width, height, wcsHeader: exposure.wcsHeader, band: exposureBand(exposure.metadata), references: inputs.refCat.flatMap((shard) => shard.stars), source: 'icExp',
    ...externalZeroPoint(exposure.metadata),
  }, config, metadata);
  lap();
  for (const r of calibrated.reports) log.info(`calibrate: ${r.message}`, { ...r.fields, step: r.step, ms: r.ms });
  const { wcsHeader, matches } = calibrated;
  const header = new FitsHeader();
  header.set('FLUXNORM', config.doApCorr ? 'apCorr 12px' : 'instrumental', 'flux normalisation: aperture-corrected to the 12-px aperture');
  catalog.metadata = header;
  if (config.doMaskGhosts) maskPredictedGhosts(inputs, config, context, extraction.mask, ghostNoise, metadata, wcsHeader);
  const outputExposure: ExposureWithPsf = { ...exposure, image: extraction.image, mask: extraction.mask, metadata, wcsHeader };
  return { outputExposure, outputBackground: [...inputs.background, extraction.background], outputCat: catalog, matches };
}

/** Step 6: the reference stars' ghosts that the camera's model predicts on this detector, masked GHOST (`pixelNoise`: the median per-pixel noise, image units). */
function maskPredictedGhosts(inputs: CalibrateInputs, config: Readonly<CalibrateConfig>, context: TaskContext, mask: Int32Array, pixelNoise: number, metadata: FitsHeader, wcsHeader: FitsHeader): void {
  const { camera, exposure } = inputs;
  const skip = (why: string): void => context.log.info(`calibrate: ghosts not masked: ${why}`, { step: 'ghosts' });
  if (!camera?.ghost) return skip(camera ? `camera ${camera.name} gives no ghost model` : 'no camera description');
  const band = exposureBand(exposure.metadata);
  const calibration = metadata.getNumber('PHOTCALB');
  if (metadata.getBoolean('ASTROMOK') !== true || band === undefined || !(calibration !== undefined && calibration > 0)) return skip('no fitted WCS, band or photometric calibration');
  const id = context.refs?.quantum?.detector ?? exposure.metadata.getNumber(camera.headerKeys.detector);
  const detector = camera.detectors.find((d) => d.id === Number(id));
  if (!detector || detector.width !== exposure.width || detector.height !== exposure.height) return skip(`detector ${String(id)} is not camera ${camera.name}'s ${exposure.width}x${exposure.height} detector`);
  const wcs = parseWcs(wcsHeader);
  if (!wcs) return skip('the WCS does not parse');
  const noise = pixelNoise * calibration;
  const stars = inputs.refCat.flatMap((shard) => shard.stars.map((s) => ({ id: s.id, ra: s.ra, dec: s.dec, flux: s.flux[band] })));
  const ghosts = predictGhosts({ camera, detector, model: camera.ghost, wcs, width: exposure.width, height: exposure.height, stars, noise, threshold: config.ghostThreshold, margin: config.ghostMargin });
  const pixels = maskGhosts(mask, exposure.width, exposure.height, ghosts, 1 << MASK_PLANES.GHOST);
  metadata.set('NGHOSTS', ghosts.length, 'predicted optical ghosts masked (GHOST)');
  metadata.set('GHOSTPIX', pixels, 'pixels masked GHOST');
  context.log.info(`calibrate: ${ghosts.length} ghost(s) masked, ${pixels} px${ghosts.length ? ` (stars ${ghosts.map((g) => `${g.starId}: ${g.significance.toFixed(2)} sigma`).join(', ')})` : ''}`, { ghosts: ghosts.length, pixels, step: 'ghosts' });
}

/** Median per-pixel noise (sqrt of the variance) over a sparse grid of unmasked pixels. */
function medianNoise(variance: Float32Array, mask: Int32Array): number {
  const sample: number[] = [];
  const step = Math.max(1, Math.floor(variance.length / 20000));
  for (let i = 0; i < variance.length; i += step) if (mask[i] === 0 && variance[i]! > 0) sample.push(Math.sqrt(variance[i]!));
  return median(sample);
}

/** The exposure's external zero point per count (MAGZERO + 2.5 log10 EXPTIME), when it has one. */
function externalZeroPoint(metadata: FitsHeader): { externalZeroPoint?: { zeroPoint: number; source: string } } {
  const magZero = metadata.getNumber('MAGZERO'), exposureTime = metadata.getNumber('EXPTIME');
  if (magZero === undefined || !Number.isFinite(magZero) || !(exposureTime !== undefined && exposureTime > 0)) return {};
  return { externalZeroPoint: { zeroPoint: magZero + 2.5 * libm.log10(exposureTime), source: `MAGZERO (${metadata.getString('MAGZSRC') ?? 'header'})` } };
}
