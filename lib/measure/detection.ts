/**
 * Source detection, LSST's SourceDetectionTask (meas_algorithms@26.0.0 detection.py over afw
 * FootprintSet), on a background-subtracted image:
 *  0. optionally (tempWideBackgroundBinSize > 0; LSST's doTempWideBackground, off by default, on for coadds),
 *     a temporary wide background is subtracted from a copy of the image first: bins of that size, every
 *     pixel but BAD, EDGE and NO_DATA (detected light included), Akima splines (LSST's tempWideBackground).
 *     Light smooth on that scale (an object's outskirts centred beyond the data, scattered light) then
 *     lifts no noise bumps over the threshold; the footprints and peaks come from the copy, while the
 *     image and everything measured on it keep their level. On a synthetic glow of 0.75 e- per pixel
 *     against a noise of 1, 22 footprints without a source over three fields became 0 with 64-px bins
 *     (tests/tasks/detection.test.ts). Where no bin has enough pixels with data for the fit (data
 *     scattered thinly), the image is searched as it is; the result's tempWideBackground says which;
 *  1. smoothing: the image (non-finite pixels set to 0, the background level) convolved with a circular
 *     Gaussian of the PSF's sigma (psfSigma, pixels) on a box nSigmaForKernel (7) sigma wide, as LSST's
 *     calculateKernelSize: int(psfSigma x nSigmaForKernel + 0.5) rounded down to even, plus one, taps
 *     (13 for sigma 1.75: 3.5 sigma either side of the centre, not 7; detectionKernelHalfWidth): the
 *     matched filter for a point source (lib/image/convolve's SIMD separable convolution, the
 *     convolveSeparable kernel). Where the kernel overhangs the image edge it is renormalised over the
 *     pixels inside.
 *  2. threshold, in units of the smoothed image's noise (thresholdValue 5):
 *     - 'stdev' (default, LSST's): the noise is the clipped standard deviation (afw STDEVCLIP: 3 sigma,
 *       3 iterations) of the smoothed image over its interior (where the kernel fits: LSST measures it on
 *       that "middle" too), leaving out statsMask pixels (BAD, SAT, EDGE, NO_DATA), read on every k-th
 *       row of regions over 2^20 pixels (clippedStatistics). LSST does not detect
 *       in the border where the kernel overhangs (it sets EDGE there); we do, for completeness near the
 *       edges, and raise the threshold there by the factor the renormalised kernel raises white noise:
 *       per axis sqrt(sum_in k^2 / (sum_in k)^2 / sum k^2) (1 in the interior, up to ~1.4 at an edge).
 *     - 'pixel_stdev': the noise of each smoothed pixel from the variance plane, convolved with the
 *       squared kernel with the same edge renormalisation (sum k_i^2 k_j^2 V / (sum_in k_i sum_in k_j)^2).
 *     A pixel belongs to a positive footprint when smoothed >= threshold x noise, to a negative one when
 *     smoothed <= -threshold x noise (thresholdPolarity 'positive' (LSST's default), 'negative' or 'both').
 *  3. footprints: 8-connected components of those pixels (afw FootprintSet), at least minPixels (1) each;
 *     peaks: the local maxima inside them (assembly/detection.ts findPeaks) of the smoothed image divided
 *     by the edge factor above (in the interior, the smoothed image's own maxima as in LSST; in the
 *     border, those of the significance against white noise (the variance plane is left out), which for a
 *     point source the edge's truncation does not move off its centre, where the smoothed image's maximum
 *     moves to the boundary for sources centred up to ~2 px in), each with its pixel, a sub-pixel position (the vertex of the parabola through the peak and its
 *     two neighbours along each axis, on the same values: SdssCentroid's estimate on the smoothed image),
 *     its smoothed value and significance (|value| / noise there). A maximum on the image's boundary
 *     (first or last row or column) where the matched filter over the inside pixels is more significant
 *     one pixel further out (the centre lies more than half a pixel beyond the image) is an object
 *     centred off the image, which LSST, detecting only where the kernel fits, does not detect either: it
 *     gets no peak, and a footprint with no other peak is left out of the footprint list (its pixels stay
 *     DETECTED, so the background still leaves it out): a truncated object's centroid is not its centre.
 *     On the demo's single frames this took the spurious detections from 708 of 17,798 to 609 of 17,696
 *     (188 to 86 within 3 px of the edge), completeness unchanged; the test is exact for point sources
 *     only, and objects broader than the PSF (galaxies, bright stars' wings) centred beyond the edge can
 *     still pass it. The same holds inside the image for pixels without data (non-finite: a coadd's
 *     NO_DATA, where no visit reached or every visit was clipped): a maximum within the kernel's reach
 *     of them from which the significance, over the finite pixels, climbs onto one of them belongs to an
 *     object centred there and gets no peak. With pixel_stdev a component's most significant pixel can border a higher, unflagged
 *     one and so be no local maximum: it gets that pixel as peak.
 *  4. growth: every footprint grown isotropically by nGrow = int(nSigmaToGrow x psfSigma + 0.5) px
 *     (nSigmaToGrow 2.4; SourceDetectionTask's combinedGrow with isotropicGrow), footprints that then touch
 *     or overlap merged with their peaks (afw FootprintSet(set, nGrow, isotropic)).
 *  5. masks: DETECTED on the positive footprints, DETECTED_NEGATIVE on the negative ones, both cleared
 *     everywhere else first (LSST clearMask), in a copy of the input mask (set along the footprints' runs,
 *     outside wasm memory).
 * Kernels: assembly/detection.ts (replaceNonFinite, thresholdPlane, labelComponents, findPeaks,
 * dilateDisk, labelRuns) and binClippedMean for the noise; all buffers are sized here.
 *
 * detectWithBackground runs LSST's iteration: estimate the background (lib/measure/background.ts),
 * subtract it, detect, re-estimate the background with DETECTED (and DETECTED_NEGATIVE) masked
 * (SourceDetectionConfig.reEstimateBackground), and repeat the detect-and-re-estimate round (3 rounds by
 * default: processCcd detects three times, twice in characterizeImage (psfIterations 2) and once in
 * calibrate, each pass re-estimating the background with its footprints masked). Each re-estimate is made
 * from the original image with the latest mask, so the final background is one model (LSST appends
 * residual models to a BackgroundList; the sum is the same surface up to the clipping's non-linearity).
 * Before each re-estimate, halos (lib/measure/halos.ts: light of the detected sources beyond their
 * footprints, found on 8-64 px blocks against a smooth reference sky) are left out too (in the background
 * statistics' own copy of the mask; the returned mask does not carry them), recorded as 'HALO' in the
 * model's ignoredPixelMask (halos: false leaves them in, as LSST does). A round whose halos would leave no bin
 * enough pixels (an image filled by one source's light) fits with the footprints alone masked, and its
 * model's ignoredPixelMask lacks HALO.
 * Why three rounds: each round's footprints are larger (the background under them is less biased), so
 * less source light reaches the bins. Measured on the tiny preset's full field of seed 77 (bright and
 * saturated stars), the worst bin of the background acceptance measure (tests/tasks/background.test.ts)
 * dropped from 0.54 sigma after one round to 0.32 after three (measured before the halo search; with it,
 * three rounds give 0.02), and for an exponential galaxy of r_e 20 px and 16 mag the background excess
 * over its 4 r_e ellipse from 0.15-0.19 % to 0.13-0.16 % of its flux (also before the halo search). The
 * footprints returned are those of the last round.
 */
import { sampledGaussian } from '../image/gaussianKernel.js';
import { interquartileSigma } from '../math/median.js';
import { checkStatus } from '../wasm/kernels.js';
import type { Tessera } from '../wasm/loader.js';
import { MASK_PLANES } from '../pipeline/maskPlanes.js';
import {
  backgroundConfig, estimateBackground, isZeroBackground, maskBits, subtractBackground, BackgroundError,
  type BackgroundConfig, type BackgroundModel, type MaskedImage, type ResidentPlanes,
} from './background.js';
import { findHalos, type HaloConfig } from './halos.js';
import { sortPeaks, type Footprint, type Peak, type Span } from './footprint.js';

export type ThresholdType = 'stdev' | 'pixel_stdev';
export type ThresholdPolarity = 'positive' | 'negative' | 'both';

export interface DetectionConfig {
  /** Gaussian sigma of the PSF, pixels (the smoothing kernel and the growth scale). Required. */
  psfSigma: number;
  /** Threshold in units of the smoothed image's noise (LSST thresholdValue 5). */
  thresholdValue: number;
  thresholdType: ThresholdType;
  thresholdPolarity: ThresholdPolarity;
  /** Growth radius in units of psfSigma (LSST nSigmaToGrow 2.4); 0: no growth. */
  nSigmaToGrow: number;
  /** Footprints smaller than this (before growth) are dropped (LSST minPixels 1). */
  minPixels: number;
  /** Smoothing kernel's full width in units of psfSigma (LSST nSigmaForKernel 7: 3.5 sigma either side; detectionKernelHalfWidth). */
  nSigmaForKernel: number;
  /** Pixels left out of the noise estimate (LSST statsMask). */
  statsMask: readonly string[];
  /** Clipping of the noise estimate (afw StatisticsControl defaults 3 sigma, 3 iterations). */
  nSigmaClip: number;
  nIterClip: number;
  /**
   * With 'pixel_stdev': scale the predicted noise to the smoothed image's measured scatter off a first
   * pass's footprints, and detect again (the role of LSST's DynamicDetectionTask on coadds, whose
   * warping-correlated noise the variance plane under-predicts once smoothed).
   */
  rescaleToMeasuredNoise: boolean;
  /**
   * LSST's temporary wide background (SourceDetectionConfig.doTempWideBackground, tempWideBackground):
   * bin size in pixels of a background fitted to every pixel but BAD, EDGE and NO_DATA (detections
   * included) with Akima splines, subtracted from a copy of the image before smoothing, so that footprints
   * and peaks are found on what stands out of light smooth on that scale; the image itself and everything
   * measured from it keep their level. 0: off (LSST's default; detectCoaddSources turns it on).
   */
  tempWideBackgroundBinSize: number;
}

export const DEFAULT_DETECTION_CONFIG: Readonly<Omit<DetectionConfig, 'psfSigma'>> = Object.freeze({
  thresholdValue: 5,
  thresholdType: 'stdev',
  thresholdPolarity: 'positive',
  nSigmaToGrow: 2.4,
  minPixels: 1,
  nSigmaForKernel: 7,
  statsMask: Object.freeze(['BAD', 'SAT', 'EDGE', 'NO_DATA']),
  nSigmaClip: 3,
  nIterClip: 3,
  rescaleToMeasuredNoise: false,
  tempWideBackgroundBinSize: 0,
});

/** The temporary wide background's settings besides its bin size (LSST's tempWideBackground). */
const TEMP_WIDE_BACKGROUND: Readonly<Partial<BackgroundConfig>> = Object.freeze({ interpolation: 'akima', ignoredPixelMask: Object.freeze(['BAD', 'EDGE', 'NO_DATA']) });

export type DetectionOptions = Partial<DetectionConfig> & Pick<DetectionConfig, 'psfSigma'>;

export interface DetectionResult {
  /** Grown, merged footprints, in raster order of their first pixel. */
  positive: Footprint[];
  negative: Footprint[];
  /** The input mask with DETECTED / DETECTED_NEGATIVE set on the footprints and cleared elsewhere. */
  mask: Int32Array;
  /** Noise of the smoothed image in its interior (image units) and the threshold there (thresholdValue x noise). */
  noise: number;
  threshold: number;
  /** The growth radius (pixels) and the smoothing kernel's half-width. */
  growRadius: number;
  kernelHalfWidth: number;
  /** Measured / predicted noise of the smoothed image (rescaleToMeasuredNoise; 1 otherwise). */
  noiseScale: number;
  /** Whether a temporary wide background was subtracted for the search (tempWideBackgroundBinSize > 0 and a fit possible). */
  tempWideBackground: boolean;
}

export class DetectionError extends Error {
  constructor(problem: string) {
    super(`detection: ${problem}`);
    this.name = 'DetectionError';
  }
}

/** The full configuration, validated. */
export function detectionConfig(options: DetectionOptions): DetectionConfig {
  const c: DetectionConfig = { ...DEFAULT_DETECTION_CONFIG, ...options };
  const fail = (p: string): never => { throw new DetectionError(`bad configuration: ${p}`); };
  if (!(c.psfSigma > 0) || !Number.isFinite(c.psfSigma)) fail(`psfSigma must be a positive number of pixels, got ${c.psfSigma}`);
  if (!(c.thresholdValue > 0) || !Number.isFinite(c.thresholdValue)) fail(`thresholdValue must be positive, got ${c.thresholdValue}`);
  if (c.thresholdType !== 'stdev' && c.thresholdType !== 'pixel_stdev') fail(`thresholdType must be 'stdev' or 'pixel_stdev', got '${String(c.thresholdType)}'`);
  if (!['positive', 'negative', 'both'].includes(c.thresholdPolarity)) fail(`thresholdPolarity must be 'positive', 'negative' or 'both', got '${String(c.thresholdPolarity)}'`);
  if (!(c.nSigmaToGrow >= 0) || !Number.isFinite(c.nSigmaToGrow)) fail(`nSigmaToGrow must be >= 0, got ${c.nSigmaToGrow}`);
  if (!Number.isInteger(c.minPixels) || c.minPixels < 1) fail(`minPixels must be a positive integer, got ${c.minPixels}`);
  if (!(c.nSigmaForKernel > 0)) fail(`nSigmaForKernel must be positive, got ${c.nSigmaForKernel}`);
  if (!(c.nSigmaClip > 0) || !Number.isInteger(c.nIterClip) || c.nIterClip < 0) fail('nSigmaClip must be positive and nIterClip a non-negative integer');
  if (!Number.isInteger(c.tempWideBackgroundBinSize) || c.tempWideBackgroundBinSize < 0) fail(`tempWideBackgroundBinSize must be 0 (off) or a bin size in pixels, got ${c.tempWideBackgroundBinSize}`);
  return c;
}

/**
 * Half-width (pixels) of the detection kernel for a Gaussian of `sigma` px on a box nSigmaForKernel sigma
 * wide: LSST's SourceDetectionTask.calculateKernelSize, (int(sigma x n + 0.5) // 2) x 2 + 1 taps.
 */
export function detectionKernelHalfWidth(sigma: number, nSigmaForKernel: number): number {
  return Math.floor(Math.floor(sigma * nSigmaForKernel + 0.5) / 2);
}

/**
 * Per pixel along one axis of length n, for a kernel k (sum 1) renormalised over the part inside:
 * inside = sum_in k, inside2 = sum_in k^2.
 */
function edgeSums(n: number, kernel: Float32Array): { inside: Float64Array; inside2: Float64Array } {
  const half = (kernel.length - 1) / 2;
  const inside = new Float64Array(n), inside2 = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    let s = 0, s2 = 0;
    for (let j = -half; j <= half; j++) {
      if (p + j < 0 || p + j >= n) continue;
      const k = kernel[j + half]!;
      s += k;
      s2 += k * k;
    }
    inside[p] = s;
    inside2[p] = s2;
  }
  return { inside, inside2 };
}

interface PolarityResult {
  footprints: Footprint[];
}

/**
 * Detects footprints and peaks in a background-subtracted image (see the module comment). The result's
 * mask is written into `maskInto` when given (a plane of the image's size the caller no longer needs),
 * else into a new plane. `resident`: copies of the image and mask already in wasm memory (the caller's,
 * e.g. those its background subtraction used), which detection then uses up (the image is smoothed in
 * place, the mask released) instead of copying the planes in again.
 */
export function detectSources(tessera: Tessera, image: MaskedImage, options: DetectionOptions, maskInto?: Int32Array, resident?: ResidentPlanes): DetectionResult {
  const config = detectionConfig(options);
  const { width, height } = image;
  const n = width * height;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new DetectionError(`bad image size ${width}x${height}`);
  if (image.image.length !== n || image.mask.length !== n || image.variance.length !== n) {
    throw new DetectionError(`planes hold ${image.image.length} / ${image.mask.length} / ${image.variance.length} pixels, expected ${width}x${height}`);
  }
  if (maskInto && maskInto.length !== n) throw new DetectionError(`the output mask holds ${maskInto.length} pixels, expected ${width}x${height}`);
  // The temporary wide background; an image whose every bin has too few pixels with data for it (under
  // minGoodFraction: data scattered thinly) has no light smooth on that scale to take out, and is searched as it is.
  let tempWideBackground = false;
  if (config.tempWideBackgroundBinSize > 0) {
    let wide: BackgroundModel | undefined;
    try {
      wide = estimateBackground(tessera, image, { ...TEMP_WIDE_BACKGROUND, binSize: config.tempWideBackgroundBinSize }, undefined, resident);
    } catch (e) {
      if (!(e instanceof BackgroundError)) throw e;
    }
    if (wide) {
      image = { ...image, image: subtractBackground(tessera, image.image, wide, undefined, resident) };
      tempWideBackground = true;
    }
  }
  const maskPlanes = image.maskPlanes ?? MASK_PLANES;
  const detectedBit = maskPlanes['DETECTED'] ?? MASK_PLANES.DETECTED;
  const negativeBit = maskPlanes['DETECTED_NEGATIVE'] ?? MASK_PLANES.DETECTED_NEGATIVE;
  const kernel = sampledGaussian(config.psfSigma, detectionKernelHalfWidth(config.psfSigma, config.nSigmaForKernel));
  const half = (kernel.length - 1) / 2;
  let s2 = 0;
  for (const k of kernel) s2 += k * k;
  const ex = edgeSums(width, kernel), ey = edgeSums(height, kernel);
  const growRadius = Math.floor(config.nSigmaToGrow * config.psfSigma + 0.5);
  const polarities: (1 | -1)[] = config.thresholdPolarity === 'both' ? [1, -1] : config.thresholdPolarity === 'negative' ? [-1] : [1];
  const { planes, kernels } = tessera;

  return planes.scope(() => {
    // 1. The smoothed image.
    const smoothed = resident?.image ?? planes.allocFrom(image.image);
    const noData = planes.alloc(4);
    checkStatus('replaceNonFinite', kernels.replaceNonFinite(smoothed, n, 0, noData));
    const hasNoData = planes.i32(noData, 1)[0]! > 0;
    const scratch = planes.alloc(4 * n);
    const kernelPtr = planes.allocFrom(kernel);
    checkStatus('convolveSeparable', kernels.convolveSeparable(smoothed, smoothed, scratch, width, height, kernelPtr, half));
    const maskPtr = resident?.mask ?? planes.allocFrom(image.mask);

    // 2. The noise: the threshold kernel's per-pixel limit is threshold x rowScale x columnScale x sqrt(variance).
    const interior = (len: number): Int32Array => (len > 2 * half ? Int32Array.of(half, len - half) : Int32Array.of(0, len));
    const statsBits = maskBits(config.statsMask, maskPlanes);
    let noise: number;
    let variancePtr = 0;
    let columnScale: Float32Array, rowScale: Float32Array;
    let threshold: number;
    if (config.thresholdType === 'stdev') {
      // The convolution's scratch plane is free for the statistics' sampled planes.
      planes.release(scratch);
      const stats = clippedStatistics(tessera, smoothed, maskPtr, width, height, interior(width), interior(height), statsBits, config.nSigmaClip, config.nIterClip);
      noise = Math.sqrt(stats.varianceOfMean * stats.used);
      if (!(noise > 0)) throw new DetectionError(`the smoothed image has no measurable noise (clipped std ${noise} from ${stats.used} pixels)`);
      const relative = (e: { inside: Float64Array; inside2: Float64Array }): Float32Array =>
        Float32Array.from(e.inside, (w, p) => Math.sqrt(e.inside2[p]! / (w * w) / s2));
      columnScale = relative(ex);
      rowScale = relative(ey);
      threshold = config.thresholdValue * noise;
    } else {
      const squared = Float32Array.from(kernel, (k) => (k * k) / s2);
      // Non-finite variances (NO_DATA) get the image's typical variance so that they neither hide nor fake sources.
      variancePtr = planes.allocFrom(image.variance);
      const typical = clippedStatistics(tessera, variancePtr, maskPtr, width, height, Int32Array.of(0, width), Int32Array.of(0, height), statsBits, config.nSigmaClip, config.nIterClip);
      checkStatus('replaceNonFinite', kernels.replaceNonFinite(variancePtr, n, Number.isFinite(typical.mean) ? typical.mean : 0, 0));
      checkStatus('convolveSeparable', kernels.convolveSeparable(variancePtr, variancePtr, scratch, width, height, planes.allocFrom(squared), half));
      planes.release(scratch);
      const absolute = (e: { inside: Float64Array; inside2: Float64Array }): Float32Array => {
        const edge = edgeSums(e.inside.length, squared);
        return Float32Array.from(e.inside, (w, p) => Math.sqrt((s2 * edge.inside[p]!) / (w * w)));
      };
      columnScale = absolute(ex);
      rowScale = absolute(ey);
      const stats = clippedStatistics(tessera, variancePtr, maskPtr, width, height, interior(width), interior(height), statsBits, config.nSigmaClip, config.nIterClip);
      noise = Math.sqrt(stats.mean) * s2;
      threshold = config.thresholdValue;
    }
    // The output mask leaves wasm memory: the input's mask without DETECTED and DETECTED_NEGATIVE, which
    // each polarity's footprints set again along their spans. The convolutions' scratch plane and the mask's
    // are then free for the labelling's planes (a lower high-water mark of wasm memory: 12 instead of 15
    // bytes per pixel, as in the convolution).
    const out = maskInto ?? new Int32Array(n);
    checkStatus('clearMaskBits', kernels.clearMaskBits(maskPtr, n, (1 << detectedBit) | (1 << negativeBit)));
    out.set(planes.i32(maskPtr, n));
    planes.release(maskPtr);
    const columnPtr = planes.allocFrom(columnScale);
    const rowPtr = planes.allocFrom(rowScale);
    /** Noise of the smoothed image at pixel i (the limit / thresholdValue). */
    let noiseScale = 1;
    const noiseAt = (i: number): number => {
      const x = i % width, y = (i - x) / width;
      const base = columnScale[x]! * rowScale[y]!;
      return noiseScale * (variancePtr === 0 ? noise * base : base * Math.sqrt(planes.f32(variancePtr + 4 * i, 1)[0]!));
    };

    const flags = planes.alloc(n);
    const grown = planes.alloc(n);
    const labels = planes.alloc(4 * n);
    const parents = planes.alloc(4 * (Math.ceil(width / 2) * Math.ceil(height / 2) + 1));
    const count = planes.alloc(16);

    /** The grown footprints' runs of the last search of each polarity, marked in `out` (a new search clears them first). */
    const marked = new Map<1 | -1, Int32Array>();
    const markRuns = (polarity: 1 | -1, runs: Int32Array): void => {
      const value = 1 << (polarity === 1 ? detectedBit : negativeBit);
      const previous = marked.get(polarity);
      if (previous) setRunBits(out, width, previous, value, false);
      setRunBits(out, width, runs, value, true);
      marked.set(polarity, runs);
    };
    const detectPolarity = (polarity: 1 | -1): PolarityResult => {
      checkStatus('thresholdPlane', kernels.thresholdPlane(smoothed, width, height, variancePtr, columnPtr, rowPtr, threshold, polarity, flags));
      // Components under minPixels are unflagged (labelled only then: the peaks need the flags alone).
      if (config.minPixels > 1) {
        const nLabels = label(tessera, flags, width, height, labels, parents, count);
        const runs = readRuns(tessera, labels, width, height, count);
        const area = new Int32Array(nLabels + 1);
        for (let r = 0; r < runs.length; r += 4) area[runs[r]!]! += runs[r + 3]! - runs[r + 2]! + 1;
        const f = planes.u8(flags, n);
        for (let r = 0; r < runs.length; r += 4) {
          if (area[runs[r]!]! < config.minPixels) f.fill(0, runs[r + 1]! * width + runs[r + 2]!, runs[r + 1]! * width + runs[r + 3]! + 1);
        }
      }
      // Peaks on the ungrown footprints (room for one per 256 pixels: a second search only beyond that).
      let capacity = Math.max(1024, n >> 8);
      let peakPtr = planes.alloc(4 * capacity);
      checkStatus('findPeaks', kernels.findPeaks(smoothed, flags, width, height, columnPtr, rowPtr, polarity, peakPtr, capacity, count));
      let nPeaks = planes.i32(count, 1)[0]!;
      if (nPeaks > capacity) {
        planes.release(peakPtr);
        capacity = nPeaks;
        peakPtr = planes.alloc(4 * capacity);
        checkStatus('findPeaks', kernels.findPeaks(smoothed, flags, width, height, columnPtr, rowPtr, polarity, peakPtr, capacity, count));
        nPeaks = planes.i32(count, 1)[0]!;
      }
      const peakPixels = planes.i32(peakPtr, nPeaks).slice();
      const smoothedView = planes.f32(smoothed, n);
      /**
       * Whether a maximum on the image's first or last row or column belongs to an object centred beyond
       * the image: the matched filter's significance (sum_in k I / sqrt(sum_in k^2), the inside pixels
       * only), which for a point source is largest at its centre wherever that is, is higher one pixel
       * outside the boundary pixel than on it, i.e. the centre lies more than half a pixel beyond it.
       */
      const beyondEdge = (i: number): boolean => {
        const x = i % width, y = (i - x) / width;
        const outX = x === 0 ? -1 : x === width - 1 ? width : undefined;
        const outY = y === 0 ? -1 : y === height - 1 ? height : undefined;
        return (outX !== undefined && filterAt(outX, y) > filterAt(x, y)) || (outY !== undefined && filterAt(x, outY) > filterAt(x, y));
      };
      /**
       * Whether a maximum within the kernel's reach of pixels without data (non-finite: a coadd's NO_DATA)
       * belongs to an object centred among them: climbing the same significance over the finite pixels
       * from the maximum (8-neighbour steps, at most 2 x half + 1) ends on a pixel without data. The
       * smoothed image, its missing pixels taken as 0, peaks on the data's side of such an object.
       */
      const centredInNoData = (i: number): boolean => {
        if (!hasNoData) return false;
        let x = i % width, y = (i - x) / width, near = false;
        for (let j = Math.max(0, y - half); j <= Math.min(height - 1, y + half) && !near; j++) {
          for (let k = Math.max(0, x - half); k <= Math.min(width - 1, x + half); k++) if (!Number.isFinite(image.image[j * width + k]!)) { near = true; break; }
        }
        if (!near) return false;
        let here = filterAt(x, y);
        for (let step = 0; step <= 2 * half; step++) {
          let bx = x, by = y, best = here;
          for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
            const nx = x + dx, ny = y + dy;
            if ((dx === 0 && dy === 0) || nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
            const v = filterAt(nx, ny);
            if (v > best) { best = v; bx = nx; by = ny; }
          }
          if (bx === x && by === y) break;
          x = bx; y = by; here = best;
        }
        return !Number.isFinite(image.image[y * width + x]!);
      };
      /** An object centred off the image or among pixels without data (no peak: its centroid would not be its centre). */
      const centredOutside = (i: number): boolean => beyondEdge(i) || centredInNoData(i);
      /**
       * polarity x the matched filter's significance at (cx, cy), which may lie one pixel outside the image:
       * over the finite pixels inside the image, its kernel's norm over the same pixels.
       */
      const filterAt = (cx: number, cy: number): number => {
        let sum = 0, norm = 0;
        for (let j = Math.max(0, cy - half); j <= Math.min(height - 1, cy + half); j++) {
          const ky = kernel[j - cy + half]!;
          for (let i = Math.max(0, cx - half); i <= Math.min(width - 1, cx + half); i++) {
            const v = image.image[j * width + i]!;
            if (!Number.isFinite(v)) continue;
            const k = ky * kernel[i - cx + half]!;
            sum += k * v;
            norm += k * k;
          }
        }
        return norm > 0 ? (polarity * sum) / Math.sqrt(norm) : -Infinity;
      };
      const peakAt = (view: Float32Array, i: number): Peak => {
        const x = i % width, y = (i - x) / width;
        const value = view[i]!;
        return { x, y, ...refinePeak(view, width, height, x, y, columnScale, rowScale), value, significance: Math.abs(value) / noiseAt(i) };
      };
      // An object centred beyond the image gets no peak (with the scales, the significance peaks at a
      // point source's centre however the edge truncates it, so such objects peak on the boundary).
      const peaks = Array.from(peakPixels.filter((i) => !centredOutside(i)), (i) => ({ pixel: i, peak: peakAt(smoothedView, i) }));
      // Growth and merging: the grown flags relabelled.
      if (growRadius > 0) {
        checkStatus('dilateDisk', kernels.dilateDisk(flags, grown, width, height, growRadius, labels));
      } else {
        planes.u8(grown, n).set(planes.u8(flags, n));
      }
      const nFootprints = label(tessera, grown, width, height, labels, parents, count);
      const runs = readRuns(tessera, labels, width, height, count);
      markRuns(polarity, runs);
      const spans: Span[][] = Array.from({ length: nFootprints }, () => []);
      for (let r = 0; r < runs.length; r += 4) spans[runs[r]! - 1]!.push({ y: runs[r + 1]!, x0: runs[r + 2]!, x1: runs[r + 3]! });
      const grouped: Peak[][] = Array.from({ length: nFootprints }, () => []);
      const grownLabels = planes.i32(labels, n);
      for (const { pixel, peak } of peaks) grouped[grownLabels[pixel]! - 1]!.push(peak);
      const hasMaximum = new Uint8Array(nFootprints);
      for (const i of peakPixels) hasMaximum[grownLabels[i]! - 1] = 1;
      // Where the threshold includes the variance (pixel_stdev), a component's most significant pixel can
      // border a higher, unflagged one and so be no local maximum: such a footprint gets its highest
      // flagged pixel (over the edge factor) as peak, unless that belongs to an object beyond the edge too.
      // A footprint whose only maxima lie beyond the edge gets none, even when growth merged into it such
      // a component without a maximum (pixel_stdev, at an image edge: rare).
      const flagView = planes.u8(flags, n);
      const values = planes.f32(smoothed, n);
      const hasSource = grouped.map((list, k) => {
        if (list.length > 0) return true;
        if (hasMaximum[k]) return false;
        let best = -1, bestValue = -Infinity;
        for (const s of spans[k]!) {
          for (let x = s.x0, i = s.y * width + s.x0; x <= s.x1; x++, i++) {
            if (!flagView[i]) continue;
            const v = (polarity * values[i]!) / (columnScale[x]! * rowScale[s.y]!);
            if (v > bestValue) { bestValue = v; best = i; }
          }
        }
        if (best < 0 || centredOutside(best)) return false;
        list.push(peakAt(values, best));
        return true;
      });
      return { footprints: spans.flatMap((s, k) => (hasSource[k] ? [{ spans: s, peaks: sortPeaks(grouped[k]!) }] : [])) };
    };

    if (config.rescaleToMeasuredNoise && variancePtr !== 0) {
      // A first pass marks the sources; the smoothed S/N off them (interior, statsMask left out, every
      // k-th pixel up to 10^6 samples) has a robust width (0.7413 x IQR) that rescales the threshold.
      detectPolarity(1);
      const mask = out, values = planes.f32(smoothed, n);
      const [xa, xb] = interior(width), [ya, yb] = interior(height);
      const step = Math.max(1, Math.floor(((xb! - xa!) * (yb! - ya!)) / 1e6));
      const snr: number[] = [];
      for (let y = ya!; y < yb!; y++) {
        for (let x = xa! + ((y * 7) % step); x < xb!; x += step) {
          const i = y * width + x;
          if (mask[i]! & (statsBits | (1 << detectedBit))) continue;
          const v = values[i]! / noiseAt(i);
          if (Number.isFinite(v)) snr.push(v);
        }
      }
      if (snr.length >= 100) {
        const width = interquartileSigma(Float64Array.from(snr));
        if (width > 0) noiseScale = width;
      }
      threshold = config.thresholdValue * noiseScale;
    }
    const result: DetectionResult = {
      positive: [], negative: [], mask: out, noise: noise * noiseScale, threshold: config.thresholdValue * noise * noiseScale, growRadius, kernelHalfWidth: half, noiseScale, tempWideBackground,
    };
    for (const polarity of polarities) {
      const r = detectPolarity(polarity);
      if (polarity === 1) result.positive = r.footprints;
      else result.negative = r.footprints;
    }
    return result;
  });
}

/**
 * Sub-pixel position of a peak: along each axis the vertex of the parabola through the smoothed values at
 * the peak and its two neighbours (the core of SdssCentroid, which fits the same on a smoothed image),
 * divided by the noise scales when given (the significance, whose vertex the edge's renormalised kernel
 * does not pull towards the edge), within 1 px of the peak pixel (0.5 for a true local maximum); an axis
 * at the image border is not moved.
 */
export function refinePeak(values: Float32Array, width: number, height: number, x: number, y: number, columnScale?: Float32Array, rowScale?: Float32Array): { fx: number; fy: number } {
  const at = (px: number, py: number): number => values[py * width + px]! / ((columnScale?.[px] ?? 1) * (rowScale?.[py] ?? 1));
  const vertex = (a: number, b: number, c: number): number => {
    const d = a - 2 * b + c;
    return d === 0 ? 0 : Math.max(-1, Math.min(1, (0.5 * (a - c)) / d));
  };
  const fx = x > 0 && x < width - 1 ? x + vertex(at(x - 1, y), at(x, y), at(x + 1, y)) : x;
  const fy = y > 0 && y < height - 1 ? y + vertex(at(x, y - 1), at(x, y), at(x, y + 1)) : y;
  return { fx, fy };
}

/**
 * `value`'s bits set (on) or cleared in `mask` along runs of 4 i32 each (label, y, x0, x1 inclusive). A
 * module-level function: V8 optimises it once, where a loop in detectSources' per-call closure ran in a
 * baseline tier at every call.
 */
function setRunBits(mask: Int32Array, width: number, runs: Int32Array, value: number, on: boolean): void {
  for (let k = 0; k < runs.length; k += 4) {
    const row = runs[k + 1]! * width, end = row + runs[k + 3]!;
    if (on) for (let i = row + runs[k + 2]!; i <= end; i++) mask[i] = mask[i]! | value;
    else for (let i = row + runs[k + 2]!; i <= end; i++) mask[i] = mask[i]! & ~value;
  }
}

function label(tessera: Tessera, flags: number, width: number, height: number, labels: number, parents: number, count: number): number {
  checkStatus('labelComponents', tessera.kernels.labelComponents(flags, width, height, labels, parents, count));
  return tessera.planes.i32(count, 1)[0]!;
}

/**
 * All runs of a label plane (4 i32 each: label, y, x0, x1), read into room for one run per 128 pixels
 * (a second pass, with room for them all, only beyond that).
 */
function readRuns(tessera: Tessera, labels: number, width: number, height: number, count: number): Int32Array {
  const { planes, kernels } = tessera;
  return planes.scope(() => {
    let capacity = Math.max(4096, (width * height) >> 7);
    let runs = planes.alloc(16 * capacity);
    checkStatus('labelRuns', kernels.labelRuns(labels, width, height, runs, capacity, count));
    const total = planes.i32(count, 1)[0]!;
    if (total > capacity) {
      capacity = total;
      runs = planes.alloc(16 * capacity);
      checkStatus('labelRuns', kernels.labelRuns(labels, width, height, runs, capacity, count));
    }
    return planes.i32(runs, 4 * total).slice();
  });
}

/** Pixels the noise statistics of a region read at most: beyond, every k-th row (see clippedStatistics). */
const STATISTICS_MAX_PIXELS = 1 << 20;

/**
 * The binClippedMean kernel over one region of a plane already in wasm memory. A region of more than
 * STATISTICS_MAX_PIXELS is read on every k-th row (k the smallest that brings it under): the clipped
 * standard deviation of ~10^6 pixels is good to ~0.1 % (0.4 % for a smoothed image, whose neighbouring
 * pixels are correlated), and exact quantiles of a whole HSC detector cost ~0.1 s per detection.
 */
function clippedStatistics(tessera: Tessera, plane: number, mask: number, width: number, height: number, xRange: Int32Array, yRange: Int32Array,
  badBits: number, nSigma: number, nIter: number): { mean: number; varianceOfMean: number; used: number } {
  const { planes, kernels } = tessera;
  return planes.scope(() => {
    const w = xRange[1]! - xRange[0]!, h = yRange[1]! - yRange[0]!;
    const step = Math.ceil((w * h) / STATISTICS_MAX_PIXELS);
    let [source, sourceMask, sourceWidth, sourceHeight, xe, ye] = [plane, mask, width, height, planes.allocFrom(xRange), planes.allocFrom(yRange)];
    if (step > 1) {
      const rows = Math.ceil(h / step);
      source = planes.alloc(4 * w * rows);
      sourceMask = mask === 0 ? 0 : planes.alloc(4 * w * rows);
      const from = planes.f32(plane, width * height), to = planes.f32(source, w * rows);
      const fromMask = mask === 0 ? undefined : planes.i32(mask, width * height), toMask = mask === 0 ? undefined : planes.i32(sourceMask, w * rows);
      for (let r = 0; r < rows; r++) {
        const start = (yRange[0]! + r * step) * width + xRange[0]!;
        to.set(from.subarray(start, start + w), r * w);
        toMask?.set(fromMask!.subarray(start, start + w), r * w);
      }
      [sourceWidth, sourceHeight, xe, ye] = [w, rows, planes.allocFrom(Int32Array.of(0, w)), planes.allocFrom(Int32Array.of(0, rows))];
    }
    const scratch = planes.alloc(4 * w * Math.ceil(h / step));
    const out = planes.alloc(32);
    checkStatus('binClippedMean', kernels.binClippedMean(source, sourceMask, sourceWidth, sourceHeight, badBits, xe, 1, ye, 1, nSigma, nIter, scratch, out));
    const o = planes.f64(out, 4);
    return { mean: o[0]!, varianceOfMean: o[1]!, used: o[2]! };
  });
}

/** Detect-and-re-estimate rounds of detectWithBackground (see its comment). */
export const DEFAULT_BACKGROUND_ITERATIONS = 3;

/** Planes a caller hands back for reuse: an image and a mask of the image's size (either may be left out: a new one is made). */
export interface DetectionPlanes {
  image?: Float32Array;
  mask?: Int32Array;
}

export interface BackgroundAndDetection {
  /** The first background (before detection) and the re-estimated one (DETECTED masked): the calexpBackground. */
  initialBackground: BackgroundModel;
  background: BackgroundModel;
  detection: DetectionResult;
  /** image - background. */
  image: Float32Array;
}

/**
 * LSST's background-detection iteration on one exposure (see the module comment): background, subtract,
 * detect, then `iterations` times re-estimate the background with the footprints masked and subtract that
 * from the original image, detecting again after every re-estimate but the last. With iterations 0 the
 * first detection and background are the result (a quick look, as the seeing estimate needs). The
 * subtracted images share one plane, and the detection masks another: `into`'s when given (planes of
 * the image's size the caller no longer needs; every fresh full-frame array costs its first touch).
 * `into` may be the exposure's own image and mask (in place, as LSST's calibrate subtracts its residual
 * background from its exposure): the original image is then copied only if it must be read again after
 * the first subtraction changed it (a non-zero starting background, or more than one re-estimate); the
 * mask needs no copy, since detection reads the input mask's other planes only and rewrites DETECTED.
 */
export function detectWithBackground(tessera: Tessera, exposure: MaskedImage,
  config: { background?: Partial<BackgroundConfig>; detection: DetectionOptions; iterations?: number; initial?: BackgroundModel; into?: DetectionPlanes;
    halos?: Partial<HaloConfig> | false }): BackgroundAndDetection {
  const iterations = config.iterations ?? DEFAULT_BACKGROUND_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 0) throw new DetectionError(`iterations must be a non-negative integer, got ${iterations}`);
  const { planes } = tessera;
  // Each estimate and its subtraction share one copy of the image (and of the mask) in wasm memory, with
  // the halo search (ResidentPlanes); the first detection then uses up the first copies (the subtracted
  // image smoothed in place), the later ones make their own. A model of this image already at hand (an
  // earlier round's) saves the first estimate.
  const first = planes.scope(() => {
    const resident: ResidentPlanes = { image: planes.allocFrom(exposure.image), mask: planes.allocFrom(exposure.mask) };
    const initial = config.initial ?? estimateBackground(tessera, exposure, config.background, undefined, resident);
    if (config.into?.image === exposure.image && (iterations > 1 || !isZeroBackground(initial))) {
      exposure = { ...exposure, image: Float32Array.from(exposure.image) };
    }
    const image = subtractBackground(tessera, exposure.image, initial, config.into?.image, resident);
    return { initial, image, detection: detectSources(tessera, { ...exposure, image }, config.detection, config.into?.mask, resident) };
  });
  const { initial: initialBackground, image } = first;
  let background = initialBackground;
  let detection = first.detection;
  // Halos (lib/measure/halos.ts) are left out of the re-estimates as well (the mask itself untouched).
  const ignoredBits = maskBits(backgroundConfig(config.background).ignoredPixelMask, exposure.maskPlanes ?? MASK_PLANES);
  for (let k = 0; k < iterations; k++) {
    planes.scope(() => {
      const masked = { ...exposure, mask: detection.mask };
      const resident: ResidentPlanes = { image: planes.allocFrom(exposure.image), mask: planes.allocFrom(masked.mask) };
      try {
        const halos = config.halos === false ? undefined : findHalos(tessera, masked, background, ignoredBits, config.halos || {}, resident);
        try {
          background = estimateBackground(tessera, masked, config.background, halos, resident);
        } catch (e) {
          // A fit the halos make impossible (no bin with enough pixels left: an image filled by one source's
          // light, a cut-out around a bright star; or a degenerate fit of the few bins left) is made with the
          // footprints alone masked (from a fresh copy of the mask: the resident one holds the halos); the
          // model's ignoredPixelMask then lacks HALO, so the stored background says so. Errors of the fit
          // itself recur there and are raised.
          if (!(halos && e instanceof BackgroundError)) throw e;
          background = estimateBackground(tessera, masked, config.background);
        }
      } catch (e) {
        if (e instanceof BackgroundError) throw new BackgroundError(`re-estimating with the detections masked: ${e.message}`);
        throw e;
      }
      subtractBackground(tessera, exposure.image, background, image, resident);
    });
    if (k < iterations - 1) detection = detectSources(tessera, { ...exposure, image }, config.detection, detection.mask);
  }
  return { initialBackground, background, detection, image };
}

