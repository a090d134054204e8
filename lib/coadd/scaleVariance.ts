/**
 * Empirical rescaling of a coadd's variance plane (LSST pipe_tasks ScaleVarianceTask, its pixel-based
 * estimate): the factor is the square of the robust width of image / sqrt(variance) over the good pixels
 * (0.7413 x the interquartile range, which the few pixels of sources hardly move), so that the variance
 * plane predicts the pixels' scatter; left out are pixels with any of `badBits` (LSST maskPlanes DETECTED,
 * DETECTED_NEGATIVE, BAD, SAT, NO_DATA, INTRP) and non-finite values. Returns the factor and the pixel
 * count (the factor is NaN with fewer than 100 good pixels).
 */
import { interquartileSigma } from '../math/median.js';

export function varianceScaleFactor(image: Float32Array, variance: Float32Array, mask: Int32Array, badBits: number): { factor: number; pixels: number } {
  const snr = new Float64Array(image.length);
  let n = 0;
  for (let i = 0; i < image.length; i++) {
    const v = variance[i]!, x = image[i]!;
    if (mask[i]! & badBits || !(v > 0) || !Number.isFinite(x) || !Number.isFinite(v)) continue;
    snr[n++] = x / Math.sqrt(v);
  }
  if (n < 100) return { factor: NaN, pixels: n };
  const sigma = interquartileSigma(snr, n);
  return { factor: sigma * sigma, pixels: n };
}
