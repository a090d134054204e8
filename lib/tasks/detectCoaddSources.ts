/**
 * detectCoaddSources: detection on one patch's coadd in one band (LSST pipe_tasks DetectCoaddSourcesTask):
 *  1. with reEstimateBackground (HSC's setting, the default here; LSST's own default leaves the coadd as
 *     the calexps' backgrounds left it), a background of large bins (backgroundBinSize 4096 px, LSST's:
 *     what is left is a near-constant residual and large bins cannot eat galaxies' outskirts),
 *     estimated, subtracted, then re-estimated once with the detections masked, and stored on its own
 *     (without it, a zero model is stored). Measured on the demo preset (r band, six patches;
 *     tests/pipeline/coadd-background.test.ts and coadd-measure.test.ts): the coadd's blank sky (off its
 *     detections, where the truth is under 0.1 sigma) holds the light of the sources it does not detect,
 *     and this background, a clipped mean of it, takes that light for sky: blank sky 0.06-0.10 nJy per
 *     pixel below the truth, sky objects' mean flux below the truth's by 0.85-5.1 standard errors (issue
 *     6: 3), but forced PSF minus 12-px aperture magnitudes of stars outside the aperture-correction fit
 *     within 4.1 mmag in every band and S/N bin (issue 6: 5; each median's bootstrap error is 1-3.6 mmag;
 *     2.5 before assembleCoadd left out the pixels its comparison could not check and the
 *     aperture-correction fit left out INEXACT_PSF stars, with three bins fewer, 3.6 before the
 *     temporary wide background of step 2). Without it (with step 2's temporary wide background; blank sky +0.01 to +0.03 nJy per
 *     pixel, measured before it): sky objects within 2.7 standard errors, large galaxies' flux over 4 r_e
 *     within 0.93 % (issue: 1 %), but the same magnitudes at S/N 100-200 8.05 mmag apart in r (4.7 in i,
 *     3.5 in g; 8.1 in r before step 2's temporary wide background): the undetected sources'
 *     light left in the 12-px aperture (452 px) is a larger part of a fainter star's flux, and the
 *     aperture correction, fitted on brighter stars, cannot take it out. The two checks pull against
 *     each other. Without it, a coadd whose calexps left a residual sky is detected whole;
 *  2. detection with the coadd PSF's sigma at thresholdValue 5 in units of the smoothed image's noise
 *     per pixel from the variance plane (thresholdType pixel_stdev, LSST's coadd setting: the depth varies
 *     across chip gaps and dithers), that prediction scaled to the smoothed image's measured scatter off a
 *     first pass's footprints (lib/measure/detection.ts rescaleToMeasuredNoise: warping correlates the
 *     noise, which the per-pixel variance does not see once smoothed; LSST's DynamicDetectionTask rescales
 *     its threshold with sky objects for the same reason; DETSCALE), footprints grown by 2.4 sigma; the
 *     search runs on the image less a temporary wide background of tempWideBackgroundBinSize (128 px,
 *     HSC's; LSST's doTempWideBackground, on for coadds: "suppress large footprints that overwhelm the
 *     deblender"), which the image itself keeps. Measured on the demo: patch 4's coverage edge, where the
 *     outskirts of an object centred beyond every visit's data (0.3-0.9 sigma per pixel) lifted 22 noise
 *     bumps over the threshold in the three bands, keeps 9; the spurious detections of the merged
 *     catalogue went from 26 to 13 of its primary rows there (5.33 to 2.75 %), and from 4 to 3 in patch 3,
 *     completeness unchanged (one more found in patch 2); since the footprints no longer hold the
 *     outskirts of bright objects, the background in step 1 takes a little more of their light (sky
 *     objects 0.5-7 nJy lower per patch, r band);
 *  3. the variance plane rescaled to the pixels' scatter off the detections (lib/coadd/scaleVariance.ts,
 *     ScaleVarianceTask; LSST rescales first, its coadds carrying the calexps' DETECTED planes to keep
 *     sources out: without them a field whose sources cover 3 % of the pixels biases the factor by 9 %);
 *     a factor outside [1/maxVarianceScale, maxVarianceScale] is an error naming the coadd;
 *  4. each footprint's peaks culled by prominence (lib/measure/deblend.ts significantPeaks, 5 sigma of the
 *     3x3 mean's noise as measured off the detections: boxMeanNoiseScale, PEAKNSCL) so
 *     that the peaks merged across bands are the sources the deblender will make.
 * Pixels without data (NO_DATA, NaN in the coadd) take no part, and stay NaN in deepCoadd_calexp; an
 * object centred among them gets no peak (lib/measure/detection.ts), as one centred beyond the image.
 * Not done: DynamicDetectionTask's sky objects and its background tweak.
 * Outputs: deepCoadd_calexp (the coadd, background subtracted, variance scaled, DETECTED set, its PSF),
 * deepCoadd_calexp_background, and deepCoadd_det (the footprints and peaks).
 */
import { zeroBackground, type BackgroundModel } from '../measure/background.js';
import { detectWithBackground } from '../measure/detection.js';
import { boxMeanNoiseScale, significantPeaks } from '../measure/deblend.js';
import type { FootprintSet } from '../measure/footprintSet.js';
import { varianceScaleFactor } from '../coadd/scaleVariance.js';
import { badInput, type Task } from '../pipeline/task.js';
import type { ExposureWithPsf } from './characterizeImage.js';

export interface DetectCoaddSourcesConfig {
  thresholdValue: number;
  reEstimateBackground: boolean;
  backgroundBinSize: number;
  doScaleVariance: boolean;
  maxVarianceScale: number;
  minPeakProminence: number;
  tempWideBackgroundBinSize: number;
}

export interface DetectCoaddSourcesInputs {
  exposure: ExposureWithPsf;
}

export interface DetectCoaddSourcesOutputs {
  outputExposure: ExposureWithPsf;
  outputBackground: BackgroundModel[];
  outputSources: FootprintSet;
}

const COADD_DIMENSIONS = ['band', 'skymap', 'tract', 'patch'] as const;

export const detectCoaddSources: Task<DetectCoaddSourcesConfig, DetectCoaddSourcesInputs, DetectCoaddSourcesOutputs> = {
  name: 'detectCoaddSources',
  summary: 'Detect sources on a patch\'s coadd in one band: variance rescaled, a large-bin background, 5-sigma footprints with their peaks.',
  dimensions: COADD_DIMENSIONS,
  connections: {
    inputs: {
      exposure: { datasetType: 'deepCoadd', dimensions: COADD_DIMENSIONS, storageClass: 'Exposure', doc: 'The coadd with its PSF.' },
    },
    outputs: {
      outputExposure: { datasetType: 'deepCoadd_calexp', dimensions: COADD_DIMENSIONS, storageClass: 'Exposure', doc: 'The coadd, background subtracted, DETECTED set.' },
      outputBackground: { datasetType: 'deepCoadd_calexp_background', dimensions: COADD_DIMENSIONS, storageClass: 'Background', doc: 'The background subtracted.' },
      outputSources: { datasetType: 'deepCoadd_det', dimensions: COADD_DIMENSIONS, storageClass: 'FootprintSet', doc: 'Footprints and peaks (tract pixels on disk).' },
    },
  },
  config: {
    thresholdValue: { type: 'number', min: 0, exclusiveMin: true, default: 5, description: 'Detection threshold, sigma of the smoothed image\'s measured noise (LSST 5, pixel_stdev).' },
    reEstimateBackground: {
      type: 'boolean', default: true,
      description: 'Estimate a background on the coadd and subtract it (HSC\'s setting; LSST\'s coadd default is false: the calexps\' backgrounds are already subtracted).',
    },
    backgroundBinSize: { type: 'number', integer: true, min: 8, default: 4096, description: 'Background bin size with reEstimateBackground, pixels (LSST coadd default 4096).' },
    doScaleVariance: { type: 'boolean', default: true, description: 'Rescale the variance plane to the pixels\' scatter (LSST ScaleVarianceTask).' },
    maxVarianceScale: { type: 'number', min: 1, default: 10, description: 'Largest variance factor (or its inverse) accepted (LSST ScaleVarianceTask limit 10).' },
    tempWideBackgroundBinSize: {
      type: 'number', integer: true, min: 0, default: 128,
      description: 'Bin size of the temporary wide background subtracted for detection only, pixels (LSST doTempWideBackground, HSC\'s 128; 0: off).',
    },
    minPeakProminence: { type: 'number', min: 0, default: 5, description: 'Least rise of a peak above its saddle with a brighter one, sigma: fainter peaks are dropped.' },
  },

  run(inputs, config, context) {
    const coadd = inputs.exposure;
    const psf = coadd.psf;
    if (!psf) throw badInput(detectCoaddSources, context, 'exposure', 'the coadd has no PSF model (COADDPSF F: its warps carried none)');
    const planes = coadd.maskPlanes;
    const bit = (name: string): number => (planes[name] === undefined ? 0 : 1 << planes[name]!);
    const noData = bit('NO_DATA'), intrp = bit('INTRP');
    const n = coadd.width * coadd.height;
    // Pixels without data are NaN for detection (the background leaves NO_DATA out; the smoothing takes
    // them as 0, and an object centred among them gets no peak), 0 for the peaks' prominence, and NaN in
    // the output; the holes assembleCoadd interpolated over (NO_DATA and INTRP: a saturated core) are
    // kept, so that the star is detected whole.
    const hole = (i: number): boolean => (coadd.mask[i]! & noData) !== 0 && (coadd.mask[i]! & intrp) === 0;
    const image = new Float32Array(n).fill(NaN), variance = Float32Array.from(coadd.variance);
    let good = 0;
    for (let i = 0; i < n; i++) {
      const v = coadd.image[i]!;
      if (Number.isFinite(v) && !hole(i)) { image[i] = v; good++; }
    }
    if (good === 0) throw badInput(detectCoaddSources, context, 'exposure', 'the coadd has no pixel with data');

    const masked = { width: coadd.width, height: coadd.height, image, variance, mask: coadd.mask, maskPlanes: planes };
    const found = detectWithBackground(context.tessera, masked, {
      background: { binSize: config.backgroundBinSize }, detection: {
        psfSigma: psf.sigma, thresholdValue: config.thresholdValue, thresholdType: 'pixel_stdev', rescaleToMeasuredNoise: true,
        tempWideBackgroundBinSize: config.tempWideBackgroundBinSize,
      }, iterations: 1,
      // No halo search (lib/measure/halos.ts) here: its block significances would come from a variance plane
      // that does not yet carry warping's covariance (rescaled below). Measured on the demo with it: sky
      // objects' mean flux nearer the truth (at most 2.96 against 4.9 standard errors), but forced PSF minus
      // 12-px aperture magnitudes in r at S/N 100-200 off by 5.1 mmag (1.6 without; issue 6: 5). Again with
      // each block size's significances divided by their measured scatter (1.12-1.16 at 8 px, 1.34-1.63 at
      // 64 px on these coadds): sky objects at most 3.44 standard errors (4.85 without), the r S/N 100-200
      // check at 4.92 mmag (2.74 without): the trade-off of step 1 in the header.
      halos: false,
      // Without reEstimateBackground nothing is subtracted: the stored background is a zero model.
      ...(config.reEstimateBackground ? {} : { initial: zeroBackground(coadd.width, coadd.height, { binSize: config.backgroundBinSize }), iterations: 0 }),
    });
    // Pixels that are not blank sky: left out of the variance scaling and of the peaks' noise scale below.
    const offSky = bit('DETECTED') | bit('DETECTED_NEGATIVE') | bit('BAD') | bit('SAT') | noData | bit('INTRP');
    let factor = 1;
    if (config.doScaleVariance) {
      const scale = varianceScaleFactor(found.image, variance, found.detection.mask, offSky);
      if (!(scale.factor >= 1 / config.maxVarianceScale && scale.factor <= config.maxVarianceScale)) {
        throw badInput(detectCoaddSources, context, 'exposure', `its variance plane is off from the pixels' scatter by a factor ${scale.factor.toPrecision(3)} (${scale.pixels} good pixels; accepted within ${config.maxVarianceScale}x)`);
      }
      factor = scale.factor;
      for (let i = 0; i < n; i++) variance[i] = variance[i]! * factor;
    }
    for (let i = 0; i < n; i++) if (!Number.isFinite(found.image[i]!)) found.image[i] = 0;
    const subtracted = { ...masked, image: found.image, mask: found.detection.mask };
    // Prominence in units of the 3x3 mean's measured noise: warping and PSF matching correlate the coadd's
    // pixels, so its box means scatter more than the variance plane says and noise bumps inside extended
    // footprints (a ghost's ring, a galaxy's outskirts) would pass as peaks.
    const measuredBoxNoise = boxMeanNoiseScale(subtracted, offSky);
    const prominenceScale = Number.isFinite(measuredBoxNoise) ? Math.max(1, measuredBoxNoise) : 1;
    let peaks = 0, culled = 0;
    const footprints = found.detection.positive.map((fp) => {
      const kept = fp.peaks.length > 1 ? significantPeaks(subtracted, fp, config.minPeakProminence * prominenceScale) : fp.peaks;
      peaks += kept.length;
      culled += fp.peaks.length - kept.length;
      return { spans: fp.spans, peaks: kept };
    });
    for (let i = 0; i < n; i++) if (hole(i)) found.image[i] = NaN;

    const metadata = coadd.metadata.clone();
    metadata.set('VARSCALE', factor, 'factor applied to the variance plane', { real: true });
    metadata.set('DETNOISE', found.detection.noise, '[nJy] noise of the smoothed image', { real: true });
    metadata.set('DETSCALE', found.detection.noiseScale, 'measured / predicted noise of the smoothed image', { real: true });
    metadata.set('NFOOTPR', footprints.length, 'footprints detected');
    metadata.set('NPEAKS', peaks, 'peaks kept');
    metadata.set('PEAKNSCL', prominenceScale, 'measured / predicted noise of the 3x3 mean (peak prominence)', { real: true });
    metadata.set('TMPWIDE', found.detection.tempWideBackground, 'a temporary wide background was subtracted for detection');
    if (config.tempWideBackgroundBinSize > 0 && !found.detection.tempWideBackground) {
      context.log.warn(`no ${config.tempWideBackgroundBinSize}-px bin of the coadd has enough pixels with data for a temporary wide background: detected without one (TMPWIDE F)`);
    }
    context.log.info(`${footprints.length} footprints, ${peaks} peaks (${culled} culled) at ${config.thresholdValue} sigma (smoothed noise ${found.detection.noiseScale.toFixed(3)} x the predicted); variance scaled by ${factor.toFixed(3)}`,
      { footprints: footprints.length, peaks, culled, varianceScale: factor, noiseScale: found.detection.noiseScale });
    const outputExposure: ExposureWithPsf = { ...coadd, image: found.image, variance, mask: found.detection.mask, metadata, psf };
    const detMetadata = metadata.clone();
    const outputSources: FootprintSet = { footprints, x0: coadd.x0, y0: coadd.y0, width: coadd.width, height: coadd.height, metadata: detMetadata };
    return { outputExposure, outputBackground: [found.background], outputSources };
  },
};
