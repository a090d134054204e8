/**
 * characterizeImage: the PSF, background and bright-source catalogue of one ISR-corrected detector image
 * (LSST pipe_tasks CharacterizeImageTask, psfIterations 2), in this order:
 *  1. seeing and first background: bright sources (thresholdValue x includeThresholdMultiplier = 50 sigma)
 *     detected with a guessed Gaussian PSF (sigma 2 px), the background re-estimated with them masked, and
 *     the Gaussian sigma measured on them (lib/measure/extractSources.ts; LSST installs a simple Gaussian
 *     PSF and detects with it once too), then measured with that sigma;
 *  2. cosmic rays (LSST repair): found against that PSF on the background-subtracted image
 *     (lib/measure/cosmicRays.ts), masked CR and interpolated (INTRP), so they stay out of the PSF stars;
 *     the input exposure's image, mask and variance are repaired in place, as LSST's characterizeImage
 *     modifies its exposure: DETECTED is set in its mask, and from the second iteration on the
 *     background-subtracted image is written into its image plane, so that icExp is the exposure's own
 *     three planes;
 *  3. psfIterations x [background, detection and measurement of the bright sources with the current PSF
 *     (the first round re-measures step 1's footprints on the repaired image instead of detecting again);
 *     the PSF model (lib/measure/psfDeterminer.ts: objectSize star selection, reserved stars held out,
 *     PSFEx-style pixel basis with spatial order 2)];
 *  4. outputs: icExp, the repaired, background-subtracted exposure carrying the PSF model; icSrc, the
 *     bright sources measured with the final PSF and their calib_psf_candidate / _used / _reserved flags;
 *     icExpBackground, the background model.
 * Defaults are LSST's (thresholdValue 5, includeThresholdMultiplier 10, psfIterations 2, background bins
 * 128 px, reserve fraction 0.2). A detector the algorithms cannot work on (all NaN, saturated, too few
 * stars for a PSF) fails as an AlgorithmError with the library's reason, as LSST's MeasurePsfTask does;
 * with psfFallback (off by default; for cut-outs of other telescopes' images, `-c
 * characterizeImage.psfFallback=true` with the `images` subset) too few stars instead leave as the PSF
 * model the one the input exposure carries (its whole CCD's, from `ingest-images --psf-models`:
 * PSFMODEL 'external'), else the Gaussian of the seeing (measured on 3 or more bright sources, else the
 * header's FWHM in pixels: headerSeeingSigma), as LSST's InstallGaussianPsfTask installs one before
 * measuring (PSFMODEL 'gaussian'); PSFNOTE says why none was fitted.
 */
import type { Exposure } from '../fits/exposure.js';
import type { Task, TaskContext } from '../pipeline/task.js';
import { stepTimer } from '../pipeline/logger.js';
import { algorithmErrorFrom } from './measurementErrors.js';
import type { BackgroundModel } from '../measure/background.js';
import { findCosmicRays } from '../measure/cosmicRays.js';
import { extractSources, headerSeeingSigma, type Extraction } from '../measure/extractSources.js';
import { determinePsf, PsfDeterminerError, type PsfDeterminerResult, type PsfSource } from '../measure/psfDeterminer.js';
import { PsfexModel } from '../measure/psfModel.js';
import type { CoaddPsf } from '../coadd/coaddPsf.js';
import type { PsfLike } from '../measure/psf.js';
import { measureSources } from '../measure/measurement.js';
import { DEFAULT_OBJECT_SIZE_CONFIG, StarSelectionError } from '../measure/starSelector.js';
import type { SourceCatalog } from '../measure/sourceCatalog.js';

/**
 * An Exposure with the PSF model it carries (written as a PSFEx PSF_DATA component HDU): a calexp's or a
 * warp's PsfexModel, a coadd's CoaddPsf (lib/coadd/coaddPsf.ts; its inputs in more component HDUs).
 */
export type ExposureWithPsf = Exposure & { psf?: PsfexModel | CoaddPsf };

export interface CharacterizeImageConfig {
  psfIterations: number;
  thresholdValue: number;
  includeThresholdMultiplier: number;
  backgroundBinSize: number;
  doRepairCosmicRays: boolean;
  reserveFraction: number;
  reserveSeed: number;
  psfSpatialOrder: number;
  psfKernelSize: number;
  starFluxMin: number;
  psfFallback: boolean;
}

export interface CharacterizeImageInputs {
  exposure: Exposure;
}

export interface CharacterizeImageOutputs {
  characterized: ExposureWithPsf;
  sourceCat: SourceCatalog;
  backgroundModel: BackgroundModel[];
}

/** LSST's flags that keep a source out of the PSF fit (objectSize badFlags). */
function psfSourceFlags(catalog: SourceCatalog, k: number): number {
  const names = ['base_PixelFlags_flag_edge', 'base_PixelFlags_flag_interpolatedCenter', 'base_PixelFlags_flag_saturatedCenter',
    'base_PixelFlags_flag_crCenter', 'base_PixelFlags_flag_bad', 'base_SdssCentroid_flag', 'base_SdssShape_flag'];
  return names.reduce((f, name, bit) => f | ((catalog.columns[name] as boolean[] | undefined)?.[k] ? 1 << bit : 0), 0);
}

/** A catalogue's sources as PSF candidates: centroid, Gaussian flux, adaptive moments and LSST's bad flags. */
export function psfSources(catalog: SourceCatalog): PsfSource[] {
  const c = catalog.columns;
  const x = c.base_SdssCentroid_x as Float64Array, y = c.base_SdssCentroid_y as Float64Array;
  const flux = c.base_GaussianFlux_instFlux as Float64Array;
  const xx = c.base_SdssShape_xx as Float64Array, yy = c.base_SdssShape_yy as Float64Array, xy = c.base_SdssShape_xy as Float64Array;
  return Array.from({ length: catalog.length }, (_, k) => ({ x: x[k]!, y: y[k]!, flux: flux[k]!, flags: psfSourceFlags(catalog, k), xx: xx[k]!, yy: yy[k]!, xy: xy[k]! }));
}

export const characterizeImage: Task<CharacterizeImageConfig, CharacterizeImageInputs, CharacterizeImageOutputs> = {
  name: 'characterizeImage',
  summary: 'Measure the PSF, background and bright sources of an ISR-corrected image; mask and repair cosmic rays.',
  dimensions: ['instrument', 'visit', 'detector'],
  connections: {
    inputs: {
      exposure: { datasetType: 'postISRCCD', dimensions: ['instrument', 'exposure', 'detector'], storageClass: 'Exposure', doc: 'The ISR-corrected detector image, e-.' },
    },
    outputs: {
      characterized: { datasetType: 'icExp', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'Exposure', doc: 'Background-subtracted, CR-repaired exposure with its PSF model.' },
      sourceCat: { datasetType: 'icSrc', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'SourceCatalog', doc: 'Bright sources with the PSF star flags.' },
      backgroundModel: { datasetType: 'icExpBackground', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'Background', doc: 'The background subtracted from icExp.' },
    },
  },
  config: {
    psfIterations: { type: 'number', integer: true, min: 1, max: 10, default: 2, description: 'Rounds of detection, measurement and PSF fitting (LSST psfIterations).' },
    thresholdValue: { type: 'number', min: 0, exclusiveMin: true, default: 5, description: 'Detection threshold, sigma of the smoothed image.' },
    includeThresholdMultiplier: { type: 'number', min: 1, default: 10, description: 'Only sources this many times above the threshold are characterised (LSST 10: 50 sigma).' },
    backgroundBinSize: { type: 'number', integer: true, min: 8, default: 128, description: 'Background bin size, pixels (LSST 128).' },
    doRepairCosmicRays: { type: 'boolean', default: true, description: 'Find cosmic rays, mask them CR and interpolate over them (LSST doApCorr/repair).' },
    reserveFraction: { type: 'number', min: 0, max: 0.9, default: 0.2, description: 'Fraction of the PSF candidates held out of the fit (LSST reserve.fraction).' },
    reserveSeed: { type: 'number', integer: true, min: 0, default: 1, description: 'Seed of the reserved-star draw.' },
    psfSpatialOrder: { type: 'number', integer: true, min: 0, max: 4, default: 2, description: 'Degree of the PSF model\'s variation over the detector (PSFEx POLDEG, LSST spatialOrder 2).' },
    psfKernelSize: { type: 'number', integer: true, min: 9, max: 101, default: 25, description: 'PSF stamp size, pixels (LSST kernelSize 25).' },
    starFluxMin: { type: 'number', min: 0, default: 4000, description: 'Least Gaussian flux (e-) of a PSF star (LSST objectSize fluxMin; HSC 4000).' },
    psfFallback: {
      type: 'boolean', default: false,
      description: 'With too few stars for a PSF model, carry on with the input\'s own model or a Gaussian of the seeing (measured, else the header FWHM) and flag it (PSFMODEL external or gaussian), instead of failing as LSST does.',
    },
  },
  run(inputs, config, context) {
    return algorithmErrorFrom(characterizeImage.name, () => characterize(inputs, config, context));
  },
};

function characterize(inputs: CharacterizeImageInputs, config: Readonly<CharacterizeImageConfig>, context: TaskContext): CharacterizeImageOutputs {
  const { tessera, log } = context;
  const lap = stepTimer();
  const exposure = inputs.exposure;
  const threshold = config.thresholdValue * config.includeThresholdMultiplier;
  // No deblending here (LSST's characterizeImage doDeblend False): blends fall out of the PSF star selection by size.
  // Its background re-estimates leave the halos of the 50-sigma footprints out (lib/measure/halos.ts), as
  // calibrate's do around its 5-sigma ones: on the benchmark's HSC detector calibrate then finds 1274
  // sources against 1210 with no halo search here (r 23-24: 304 of 394 against 290), divided by the true
  // flat; 1262 against 1191 with the vignetting left in, as the benchmark runs it (BENCHMARKS.md, 2e68c04;
  // tests/tasks/unflattened-field.test.ts checks that case's completeness).
  const extractConfig = { background: { binSize: config.backgroundBinSize }, detection: { thresholdValue: threshold }, deblend: false };
  // Step 1 keeps the seeing's own detection (50 sigma: the footprints hardly depend on the smoothing width),
  // and measures nothing: the first PSF iteration measures its footprints on the repaired image.
  const firstConfig = { ...extractConfig, redetectAfterSeeing: false, measure: false };
  // The PSF iterations' measurements feed the star selection only (centroids, moments, Gaussian fluxes,
  // pixel flags); step 4 runs every plugin for icSrc.
  const forPsf = { plugins: [] };

  // 1. Seeing and a first background from the bright sources, with a Gaussian PSF.
  const headerSigma = headerSeeingSigma(exposure);
  // DETECTED is set in the exposure's own mask (in place, as LSST's), which icExp then shares.
  let extraction: Extraction = extractSources(tessera, exposure, undefined, {
    ...firstConfig, reuse: { mask: exposure.mask }, ...(headerSigma !== undefined ? { fallbackSigma: headerSigma } : {}),
  });
  const seeingFrom = extraction.seeing.source === 'measured' ? `from ${extraction.seeing.stars} bright sources`
    : `${headerSigma !== undefined ? 'from the header FWHM' : 'guessed'}: only ${extraction.seeing.stars} bright sources to measure it on`;
  log.info(`characterizeImage: seeing sigma ${extraction.psf.sigma.toFixed(3)} px ${seeingFrom}`, { psfSigma: extraction.psf.sigma, step: 'seeing', ms: lap() });

  // 2. Cosmic rays, found on the background-subtracted image and repaired there and in the exposure (in
  //    place, as LSST's RepairTask: the subtracted image, and the exposure's mask and variance planes).
  if (config.doRepairCosmicRays) {
    const crs = findCosmicRays(tessera, { ...exposure, image: extraction.image }, extraction.psf, 0, {}, true);
    // The exposure's CR pixels: the repaired value with the background there put back.
    const { pixels, image: before } = crs.replaced;
    for (let k = 0; k < pixels.length; k++) {
      const i = pixels[k]!;
      exposure.image[i] = crs.image[i]! + (exposure.image[i]! - before[k]!);
    }
    log.info(`characterizeImage: ${crs.cosmicRays.length} cosmic rays, ${crs.nPixels} pixels masked CR and interpolated`, { cosmicRays: crs.cosmicRays.length, crPixels: crs.nPixels, step: 'cosmicRays', ms: lap() });
  }

  // 3. Background, bright sources and the PSF model, psfIterations times.
  let psf: PsfLike = extraction.psf;
  let model: PsfexModel | undefined;
  let flags = { candidate: [] as boolean[], used: [] as boolean[], reserved: [] as boolean[] };
  let fallbackReason: string | undefined, external = false;
  /** From the second iteration on: the repaired exposure with its background, which each re-estimate reads. */
  let withBackground: Float32Array | undefined;
  for (let iteration = 0; iteration < config.psfIterations; iteration++) {
    if (iteration === 0) {
      // Step 1's footprints, detected with the measured seeing, measured on the repaired image.
      extraction = { ...extraction, catalog: measureSources(tessera, { ...exposure, image: extraction.image, mask: extraction.mask }, extraction.detection.positive, psf, forPsf) };
    } else {
      // Detection with the PSF model's width; the previous round's background starts this one. Step 1's
      // subtracted plane, no longer needed, takes a copy of the exposure's image to be read from, and the
      // background-subtracted image is written into the exposure's own plane (in place, as LSST's), so
      // that icExp is the exposure's three planes.
      if (!withBackground) {
        withBackground = extraction.image;
        withBackground.set(exposure.image);
      }
      extraction = extractSources(tessera, { ...exposure, image: withBackground }, psf, {
        ...extractConfig, measurement: forPsf, initialBackground: extraction.background, reuse: { image: exposure.image, mask: exposure.mask },
      });
    }
    const extractMs = lap();
    let result: PsfDeterminerResult;
    try {
      result = determinePsf(tessera, { ...exposure, image: extraction.image, mask: extraction.mask }, psfSources(extraction.catalog), {
        reserveFraction: config.reserveFraction, reserveSeed: config.reserveSeed, spatialOrder: config.psfSpatialOrder, kernelSize: config.psfKernelSize, starDiagnostics: false,
        starSelector: { ...DEFAULT_OBJECT_SIZE_CONFIG, fluxMin: config.starFluxMin },
      });
    } catch (err) {
      if (!(config.psfFallback && (err instanceof PsfDeterminerError || err instanceof StarSelectionError))) throw err;
      fallbackReason = err.message;
      // The model the input carries (e.g. its whole CCD's, from ingest-images --psf-models), else the seeing's Gaussian.
      const given = (exposure as ExposureWithPsf).psf;
      external = given instanceof PsfexModel;
      model = given instanceof PsfexModel ? given : PsfexModel.gaussian(psf.sigma, config.psfKernelSize);
      psf = model;
      const none = (): boolean[] => new Array<boolean>(extraction.catalog.length).fill(false);
      flags = { candidate: none(), used: none(), reserved: none() };
      const fwhm = model.fwhmAt((exposure.width - 1) / 2, (exposure.height - 1) / 2);
      log.warn(`characterizeImage: no PSF model could be fitted (${err.message}); ${external ? 'the input\'s own model' : 'the Gaussian of the seeing'}, FWHM ${fwhm.toFixed(2)} px, stands in for it (psfFallback)`, { step: 'psf', fwhm });
      break;
    }
    model = result.model;
    psf = model;
    flags = { candidate: result.candidate, used: result.used, reserved: result.reserved };
    log.info(`characterizeImage: PSF iteration ${iteration + 1}: ${result.diagnostics.nUsed} stars used, ${result.diagnostics.nReserved} reserved, `
      + `FWHM ${result.diagnostics.fwhm.toFixed(3)} px, chi2 ${result.diagnostics.chi2.toFixed(2)}`,
    { nUsed: result.diagnostics.nUsed, nReserved: result.diagnostics.nReserved, fwhm: result.diagnostics.fwhm, chi2: result.diagnostics.chi2, step: 'psf', extractMs, ms: lap() });
  }

  // 4. The last iteration's sources measured again with the final PSF (same footprints, so the PSF-star
  //    flags of the last fit line up row by row).
  const subtracted = { ...exposure, image: extraction.image, mask: extraction.mask };
  const catalog = measureSources(tessera, subtracted, extraction.detection.positive, psf);
  catalog.columns.calib_psf_candidate = flags.candidate;
  catalog.columns.calib_psf_used = flags.used;
  catalog.columns.calib_psf_reserved = flags.reserved;
  const characterized: ExposureWithPsf = { ...subtracted, metadata: exposure.metadata.clone(), ...(model ? { psf: model } : {}) };
  characterized.metadata.set('PSFSIGMA', psf.sigma, '[pixel] Gaussian-equivalent PSF sigma', { real: true });
  characterized.metadata.set('PSFMODEL', fallbackReason === undefined ? 'psfex' : external ? 'external' : 'gaussian',
    'PSF model: fitted pixel basis; psfFallback: the input\'s own, or the seeing\'s Gaussian');
  if (fallbackReason !== undefined) characterized.metadata.set('PSFNOTE', fallbackReason, 'why no PSF model was fitted');
  log.info(`characterizeImage: ${catalog.length} bright sources measured with the PSF model`, { sources: catalog.length, step: 'measure', ms: lap() });
  return { characterized, sourceCat: catalog, backgroundModel: [extraction.background] };
}
