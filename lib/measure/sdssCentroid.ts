/**
 * The fixed-width Gaussian-weighted centroid (LSST meas_base SdssCentroid: the peak of the image smoothed
 * with a Gaussian of the PSF's sigma, the matched filter, refined to sub-pixel precision; SExtractor's
 * XWIN_IMAGE is the same estimator with a window set by the object's size). In windowed form it is the
 * position c where the weighted first moment vanishes,
 *   F(c) = sum_i w_i (p_i - c) I_i = 0,  w_i = exp(-|p_i - c|^2 / 2 s^2),
 * with s the PSF's Gaussian-equivalent sigma, fixed (adaptive moments iterate the weight's size and shape
 * too, which is unstable at low S/N). For a Gaussian star of sigma s on a flat background the root is the
 * maximum-likelihood position. Newton steps from the start position (the detection peak), sums over one
 * fixed box, and the sandwich errors J^-1 Q J^-T: the kernel sdssCentroid (assembly/centroid.ts) says
 * how. Defaults: converged when a step is under 1e-4 px, at most 50 iterations, maxShift 3 px from the
 * start. Failure is a flag, never an exception. Pixels are unit squares centred on integer coordinates
 * (pixel (0, 0) covers [-0.5, 0.5)), as in adaptiveMoments. Units: pixels; I and V in the image's units.
 */
import type { Tessera } from '../wasm/loader.js';
import { checkStatus } from '../wasm/kernels.js';

export const CENTROID_FLAGS = {
  /** The weighted flux is not positive. */
  NO_FLUX: 1,
  /** The centroid moved more than maxShift from the start. */
  SHIFT: 2,
  /** The window (4 s around the centroid) reaches past the image border (the value is kept). */
  EDGE: 4,
  /** Did not converge in maxIter iterations (the last estimate is returned). */
  MAX_ITER: 8,
} as const;

export interface Centroid {
  /** Centroid and its 1-sigma errors, pixels. */
  x: number;
  y: number;
  xErr: number;
  yErr: number;
  iterations: number;
  /** OR of CENTROID_FLAGS; 0 = good. */
  flags: number;
}

export interface CentroidOptions {
  /** Largest shift accepted from the start position, pixels (default 3). */
  maxShift?: number;
  maxIter?: number;
  /** Convergence: a step shorter than this, pixels (default 1e-4). */
  tolerance?: number;
}

/** Planes already in wasm memory (pointers, f32 width x height) and an f64 x 6 block for the result. */
export interface CentroidPlanes {
  image: number;
  variance: number;
  out: number;
}

/**
 * The centroid of the object near (x0, y0) on planes in wasm memory, with a fixed circular Gaussian weight
 * of `sigma` pixels (see the module comment); the variance gives the errors. Allocates nothing, so the
 * caller's views of wasm memory stay valid.
 */
export function sdssCentroidOnPlanes(tessera: Tessera, planes: CentroidPlanes, width: number, height: number,
  x0: number, y0: number, sigma: number, options: CentroidOptions = {}): Centroid {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`centroid weight sigma must be positive, got ${sigma}`);
  const maxShift = options.maxShift ?? 3, maxIter = options.maxIter ?? 50;
  if (!(maxShift >= 0)) throw new RangeError(`centroid maxShift must be >= 0, got ${maxShift}`);
  if (!(Number.isInteger(maxIter) && maxIter >= 0) && maxIter !== Infinity) throw new RangeError(`centroid maxIter must be a non-negative integer or Infinity, got ${maxIter}`);
  checkStatus('sdssCentroid', tessera.kernels.sdssCentroid(planes.image, planes.variance, width, height, x0, y0, sigma,
    maxShift, Math.min(maxIter, 2 ** 31 - 1), options.tolerance ?? 1e-4, planes.out));
  const out = tessera.planes.f64(planes.out, 6);
  return { x: out[0]!, y: out[1]!, xErr: out[2]!, yErr: out[3]!, iterations: out[4]!, flags: out[5]! };
}

/** sdssCentroidOnPlanes on a row-major image and variance of width x height, copied into wasm for the call. */
export function sdssCentroid(tessera: Tessera, image: Float32Array, variance: Float32Array, width: number, height: number,
  x0: number, y0: number, sigma: number, options: CentroidOptions = {}): Centroid {
  const { planes } = tessera;
  return planes.scope(() => sdssCentroidOnPlanes(tessera, { image: planes.allocFrom(image), variance: planes.allocFrom(variance), out: planes.alloc(48) },
    width, height, x0, y0, sigma, options));
}
