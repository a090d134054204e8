/**
 * Background, detection and measurement of one image: the work `tessera extract` does on any
 * calibrated image and that characterizeImage and calibrate repeat with their own thresholds.
 * 1. With no PSF given, the seeing is estimated first, as LSST's characterizeImage bootstraps from a
 *    simple Gaussian PSF: detect at a high threshold (bootstrapThreshold x the detection threshold, 10 by
 *    default as LSST's includeThresholdMultiplier) with a guessed sigma (initialPsfSigma, 2 px), take the
 *    adaptive moments of the bright, unflagged, unsaturated sources, and use the median trace radius of
 *    the smallest (the stellar locus: sources within 15 % of the 20th percentile) as the Gaussian sigma.
 *    With fewer than 3 such sources (a tiny cut-out, a field of saturated stars) it takes `fallbackSigma`
 *    (e.g. from the image header's FWHM) or else the initial guess, and says so in `seeing`. This quick
 *    look subtracts a first background estimate without re-estimating it; that estimate starts step 2.
 *    With redetectAfterSeeing false, that detection (its background re-estimated) is kept and step 2 is
 *    not done again (characterizeImage's choice, as LSST detects once with its initial PSF).
 * 2. Background and detection with the PSF's sigma (lib/measure/detection.ts detectWithBackground:
 *    estimate, subtract, detect, re-estimate with the detections masked; backgroundIterations rounds,
 *    1 by default as LSST's detection with reEstimateBackground; the seeing step's, or a caller's,
 *    background model is the starting estimate when there is one).
 * 3. Measurement of every positive footprint on the subtracted image: deblended into one child per peak
 *    and each source measured alone (lib/measure/deblend.ts), or (deblend false, as LSST's
 *    characterizeImage) one source per footprint (lib/measure/measurement.ts).
 * Returns the catalogue, the background model, the subtracted image, the mask with DETECTED set, and the
 * PSF used. Units: the image's (e- for ISR outputs). An image that cannot be worked on (no usable pixel,
 * a bad configuration) throws the BackgroundError or DetectionError that says why.
 */
import type { Tessera } from '../wasm/loader.js';
import type { FitsHeader } from '../fits/header.js';
import { MASK_PLANES } from '../pipeline/maskPlanes.js';
import { adaptiveMoments, traceRadius } from './adaptiveMoments.js';
import type { BackgroundConfig, BackgroundModel, MaskedImage } from './background.js';
import { detectWithBackground, type BackgroundAndDetection, type DetectionConfig, type DetectionPlanes, type DetectionResult } from './detection.js';
import { measureSources, type MeasurementConfig } from './measurement.js';
import { deblendAndMeasure } from './deblend.js';
import { GaussianPsf, type PsfLike } from './psf.js';
import type { SourceCatalog } from './sourceCatalog.js';

export interface ExtractConfig {
  background: Partial<BackgroundConfig>;
  detection: Partial<Omit<DetectionConfig, 'psfSigma'>>;
  measurement: Partial<MeasurementConfig>;
  /** Measure the sources (false: the catalogue has no rows, for a caller that needs only the seeing, background and footprints). */
  measure: boolean;
  /** Sigma (px) guessed before the seeing is measured. */
  initialPsfSigma: number;
  /** The seeing is measured on sources this many times above the detection threshold. */
  bootstrapThreshold: number;
  /** Sigma (px) to use when the seeing cannot be measured (default: initialPsfSigma). */
  fallbackSigma?: number;
  /** Deblend multi-peak footprints and measure each source alone (lib/measure/deblend.ts). */
  deblend: boolean;
  /** Detect-and-re-estimate rounds of the background (LSST: one re-estimate). */
  backgroundIterations: number;
  /**
   * With the seeing measured here (no PSF given): detect again with it (true), or keep the seeing's own
   * detection, its background then re-estimated backgroundIterations times (false: one detection, as
   * LSST's characterizeImage detects once with its initial Gaussian PSF; for thresholds well above the
   * noise the footprints hardly depend on the smoothing width).
   */
  redetectAfterSeeing: boolean;
  /** A background model of this image to start from (an earlier round's). */
  initialBackground?: BackgroundModel;
  /**
   * Planes the new image and mask are written into: an earlier extraction's that the caller no longer
   * needs, or the image's own mask (detection in place, as LSST's characterizeImage and calibrate).
   */
  reuse?: DetectionPlanes;
}

export const DEFAULT_EXTRACT_CONFIG: Readonly<ExtractConfig> = Object.freeze({
  background: {},
  detection: {},
  measurement: {},
  measure: true,
  initialPsfSigma: 2,
  bootstrapThreshold: 10,
  deblend: true,
  backgroundIterations: 1,
  redetectAfterSeeing: true,
});

export interface Extraction {
  catalog: SourceCatalog;
  background: BackgroundModel;
  /** image - background. */
  image: Float32Array;
  /** The input mask with DETECTED (and DETECTED_NEGATIVE) set. */
  mask: Int32Array;
  detection: DetectionResult;
  psf: PsfLike;
  /** How the PSF sigma was chosen: given, measured on `stars` stars, or the fallback. */
  seeing: { source: 'given' | 'measured' | 'fallback'; stars: number };
}

/**
 * The Gaussian sigma (px) of the stellar locus among bright sources, with the number of sources measured
 * (see the module comment) and the detection they came from, its background re-estimated `reEstimates`
 * times (0: the quick look the seeing needs).
 */
export function estimateSeeing(tessera: Tessera, image: MaskedImage, config: ExtractConfig, reEstimates = 0):
  { sigma: number | undefined; stars: number; background: BackgroundModel; found: BackgroundAndDetection } {
  const threshold = (config.detection.thresholdValue ?? 5) * config.bootstrapThreshold;
  const first = detectWithBackground(tessera, image, {
    background: config.background, detection: { ...config.detection, psfSigma: config.initialPsfSigma, thresholdValue: threshold },
    iterations: reEstimates, ...(config.initialBackground ? { initial: config.initialBackground } : {}), ...(config.reuse ? { into: config.reuse } : {}),
  });
  const bad = (1 << MASK_PLANES.SAT) | (1 << MASK_PLANES.BAD) | (1 << MASK_PLANES.INTRP) | (1 << MASK_PLANES.CR) | (1 << MASK_PLANES.NO_DATA);
  const radii: number[] = [];
  for (const fp of first.detection.positive) {
    const peak = fp.peaks[0];
    if (!peak) continue;
    let masked = false;
    for (const s of fp.spans) for (let x = s.x0; x <= s.x1 && !masked; x++) masked = (image.mask[s.y * image.width + x]! & bad) !== 0;
    if (masked) continue;
    const m = adaptiveMoments(first.image, image.width, image.height, peak.fx, peak.fy, { sigma0: config.initialPsfSigma });
    if (m.flags === 0 && m.xx > 0 && m.yy > 0) radii.push(traceRadius(m));
  }
  if (radii.length < 3) return { sigma: undefined, stars: radii.length, background: first.background, found: first };
  radii.sort((a, b) => a - b);
  const floor = radii[Math.floor(0.2 * (radii.length - 1))]!;
  const locus = radii.filter((r) => r <= 1.15 * floor);
  const median = locus[Math.floor((locus.length - 1) / 2)]!;
  return { sigma: withoutPixel(median), stars: radii.length, background: first.background, found: first };
}

/**
 * The sigma of the Gaussian whose pixel-integrated image (GaussianPsf) a star of measured width `sigma`
 * (px) is: the pixel's 1/12 px^2 comes off (adaptive moments of a pixelised Gaussian include it), at
 * least 0.5 px.
 */
function withoutPixel(sigma: number): number {
  return Math.sqrt(Math.max(sigma * sigma - 1 / 12, 0.25));
}

/**
 * The Gaussian sigma (px) of the seeing an image's header states, for when it cannot be measured: FWHM in
 * pixels, as DECam's Community Pipeline writes it, in the image HDU's header or else the primary's. That
 * FWHM is measured on stars' pixels, so the pixel comes off as it does from estimateSeeing's (withoutPixel).
 */
export function headerSeeingSigma(headers: { wcsHeader: FitsHeader; metadata: FitsHeader }): number | undefined {
  const fwhm = headers.wcsHeader.getNumber('FWHM') ?? headers.metadata.getNumber('FWHM');
  if (fwhm === undefined || !(fwhm > 0) || !Number.isFinite(fwhm)) return undefined;
  return withoutPixel(fwhm / (2 * Math.sqrt(2 * Math.LN2)));
}

export function extractSources(tessera: Tessera, image: MaskedImage, psf: PsfLike | undefined, overrides: Partial<ExtractConfig> = {}): Extraction {
  const config: ExtractConfig = { ...DEFAULT_EXTRACT_CONFIG, ...overrides };
  let model = psf;
  let seeing: Extraction['seeing'] = { source: 'given', stars: 0 };
  let initial = config.initialBackground;
  let found: BackgroundAndDetection | undefined;
  if (!model) {
    const measured = estimateSeeing(tessera, image, config, config.redetectAfterSeeing ? 0 : config.backgroundIterations);
    seeing = { source: measured.sigma === undefined ? 'fallback' : 'measured', stars: measured.stars };
    model = new GaussianPsf(measured.sigma ?? config.fallbackSigma ?? config.initialPsfSigma);
    initial = measured.background;
    if (!config.redetectAfterSeeing) found = measured.found;
  }
  found ??= detectWithBackground(tessera, image, {
    background: config.background, detection: { ...config.detection, psfSigma: model.sigma }, iterations: config.backgroundIterations,
    ...(initial ? { initial } : {}), ...(config.reuse ? { into: config.reuse } : {}),
  });
  const subtracted: MaskedImage = { ...image, image: found.image, mask: found.detection.mask };
  const catalog = !config.measure ? measureSources(tessera, subtracted, [], model, { plugins: [] })
    : config.deblend
    ? deblendAndMeasure(tessera, subtracted, found.detection.positive, model, config.measurement)
    : measureSources(tessera, subtracted, found.detection.positive, model, config.measurement);
  return { catalog, background: found.background, image: found.image, mask: found.detection.mask, detection: found.detection, psf: model, seeing };
}
