/**
 * A normalised 1-D Gaussian kernel, f32, sampled at integer offsets -half..half. gaussianKernel takes
 * half = ceil(truncate * sigma) (default truncate 4, as scipy.ndimage.gaussian_filter);
 * sampledGaussian takes the half-width itself (detection's, from LSST's calculateKernelSize). Units: pixels.
 */
import { libm } from '../math/libm.js';
export function gaussianKernel(sigma: number, truncate = 4): Float32Array {
  return sampledGaussian(sigma, Math.ceil(truncate * sigma));
}

export function sampledGaussian(sigma: number, half: number): Float32Array {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`gaussianKernel: sigma must be a positive number of pixels, got ${sigma}`);
  if (!Number.isInteger(half) || half < 0) throw new RangeError(`gaussianKernel: the half-width must be a non-negative integer, got ${half}`);
  const k = new Float64Array(2 * half + 1);
  let sum = 0;
  for (let i = -half; i <= half; i++) {
    k[i + half] = libm.exp(-0.5 * (i / sigma) ** 2);
    sum += k[i + half]!;
  }
  return Float32Array.from(k, (v) => v / sum);
}
