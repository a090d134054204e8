/**
 * A normalised 1-D Gaussian kernel, f32, sampled at integer offsets -half..half with
 * half = ceil(truncate * sigma) (default truncate 4, as scipy.ndimage.gaussian_filter). Units: pixels.
 */
import { libm } from '../math/libm.js';
export function gaussianKernel(sigma: number, truncate = 4): Float32Array {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`gaussianKernel: sigma must be a positive number of pixels, got ${sigma}`);
  const half = Math.ceil(truncate * sigma);
  const k = new Float64Array(2 * half + 1);
  let sum = 0;
  for (let i = -half; i <= half; i++) {
    k[i + half] = libm.exp(-0.5 * (i / sigma) ** 2);
    sum += k[i + half]!;
  }
  return Float32Array.from(k, (v) => v / sum);
}
