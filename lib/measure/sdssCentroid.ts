/**
 * The fixed-width Gaussian-weighted centroid (LSST meas_base SdssCentroid: the peak of the image smoothed
 * with a Gaussian of the PSF's sigma, the matched filter, refined to sub-pixel precision; SExtractor's
 * XWIN_IMAGE is the same estimator with a window set by the object's size). In windowed form it is the
 * position c where the weighted first moment vanishes,
 *   F(c) = sum_i w_i (p_i - c) I_i = 0,  w_i = exp(-|p_i - c|^2 / 2 s^2),
 * with s the PSF's Gaussian-equivalent sigma, fixed (adaptive moments iterate the weight's size and shape
 * too, which is unstable at low S/N). For a Gaussian star of sigma s on a flat background the root is the
 * maximum-likelihood position.
 * Solved from the start position (the detection peak) by Newton steps, c -= J^-1 F with
 * J = dF/dc = sum w I (d d^T / s^2 - 1), d = p - c, each no longer than s; where J is not negative
 * definite, the plain step sum(w I d) / sum(w I) instead. Sums run over one box of pixels, the start
 * +- (4 s + maxShift), so the weight reaches at least 4 s from any accepted position and is never cut
 * by a window that moves with c (pixels entering and leaving such a window make F jump, by ~1e-4 px of
 * shift, and the iteration can cycle); non-finite pixels are left out. Defaults: converged when a step
 * is under 1e-4 px, at most 50 iterations, maxShift 3 px from the start.
 * Errors: the linearised (sandwich) covariance J^-1 Q J^-T, Q = sum w^2 V d d^T with V the variance
 * plane: first order in the noise, for any profile.
 * Failure is a flag, never an exception. Pixels are unit squares centred on integer coordinates (pixel
 * (0, 0) covers [-0.5, 0.5)), as in adaptiveMoments. Units: pixels; I and V in the image's units.
 */
import { libm } from '../math/libm.js';
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

/** The window's sums at centre (cx, cy): S = sum w I, F = sum w I d, J = dF/dc, Q = sum w^2 V d d^T. */
interface WindowSums {
  s: number;
  fx: number;
  fy: number;
  jxx: number;
  jyy: number;
  jxy: number;
  qxx: number;
  qyy: number;
  qxy: number;
}

/** A pixel box, inclusive bounds. */
interface Box {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** Gaussian weights exp(-(p - c)^2 / 2 s^2) along one axis for p = from .. to. */
function axisWeights(from: number, to: number, c: number, sigma: number): Float64Array {
  const w = new Float64Array(to - from + 1);
  for (let p = from; p <= to; p++) w[p - from] = libm.exp(-((p - c) ** 2) / (2 * sigma * sigma));
  return w;
}

/**
 * The sums over `box` with the weight centred at (cx, cy); pixels with a non-finite value or variance are
 * left out. Q (the errors' sums) only `withErrors` (0 otherwise): the iteration needs them at its root only.
 */
function windowSums(image: ArrayLike<number>, variance: ArrayLike<number>, width: number, box: Box, cx: number, cy: number, sigma: number,
  withErrors: boolean): WindowSums {
  const wx = axisWeights(box.x0, box.x1, cx, sigma), wy = axisWeights(box.y0, box.y1, cy, sigma);
  let s = 0, fx = 0, fy = 0, sxx = 0, syy = 0, sxy = 0, qxx = 0, qyy = 0, qxy = 0;
  for (let py = box.y0; py <= box.y1; py++) {
    const dy = py - cy;
    for (let px = box.x0; px <= box.x1; px++) {
      const i = py * width + px;
      const v = image[i]!, vv = variance[i]!;
      if (!Number.isFinite(v) || !Number.isFinite(vv)) continue;
      const dx = px - cx;
      const w = wx[px - box.x0]! * wy[py - box.y0]!;
      const wi = w * v;
      s += wi;
      fx += wi * dx;
      fy += wi * dy;
      sxx += wi * dx * dx;
      syy += wi * dy * dy;
      sxy += wi * dx * dy;
      if (!withErrors) continue;
      const wv = w * w * vv;
      qxx += wv * dx * dx;
      qyy += wv * dy * dy;
      qxy += wv * dx * dy;
    }
  }
  const is2 = 1 / (sigma * sigma);
  return { s, fx, fy, jxx: sxx * is2 - s, jyy: syy * is2 - s, jxy: sxy * is2, qxx, qyy, qxy };
}

/** The next step from the sums: Newton's where J is negative definite, else the plain one; at most `limit` long. */
function step(w: WindowSums, limit: number): [number, number] {
  const det = w.jxx * w.jyy - w.jxy * w.jxy;
  let dx: number, dy: number;
  if (w.jxx < 0 && det > 0) {
    dx = -(w.jyy * w.fx - w.jxy * w.fy) / det;
    dy = -(w.jxx * w.fy - w.jxy * w.fx) / det;
  } else {
    dx = w.fx / w.s;
    dy = w.fy / w.s;
  }
  const length = Math.hypot(dx, dy);
  return length > limit ? [(dx * limit) / length, (dy * limit) / length] : [dx, dy];
}

/** Errors of the root from its sums: the diagonal of J^-1 Q J^-T (NaN where J is singular). */
function errors(w: WindowSums): [number, number] {
  const det = w.jxx * w.jyy - w.jxy * w.jxy;
  if (!(Math.abs(det) > 0)) return [NaN, NaN];
  const kxx = w.jyy / det, kxy = -w.jxy / det, kyy = w.jxx / det;
  const varX = kxx * kxx * w.qxx + 2 * kxx * kxy * w.qxy + kxy * kxy * w.qyy;
  const varY = kxy * kxy * w.qxx + 2 * kxy * kyy * w.qxy + kyy * kyy * w.qyy;
  return [Math.sqrt(varX), Math.sqrt(varY)];
}

/**
 * The centroid of the object near (x0, y0) in a row-major image of width x height, with a fixed circular
 * Gaussian weight of `sigma` pixels (see the module comment); `variance` (same layout) gives the errors.
 */
export function sdssCentroid(image: ArrayLike<number>, variance: ArrayLike<number>, width: number, height: number,
  x0: number, y0: number, sigma: number, options: CentroidOptions = {}): Centroid {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`centroid weight sigma must be positive, got ${sigma}`);
  const maxShift = options.maxShift ?? 3;
  const maxIter = options.maxIter ?? 50;
  const tolerance = options.tolerance ?? 1e-4;
  // One pixel box for every iteration, holding the window to 4 s around any position within maxShift.
  const half = Math.ceil(4 * sigma + maxShift);
  const box: Box = {
    x0: Math.max(0, Math.round(x0) - half), x1: Math.min(width - 1, Math.round(x0) + half),
    y0: Math.max(0, Math.round(y0) - half), y1: Math.min(height - 1, Math.round(y0) + half),
  };
  let cx = x0, cy = y0;
  let flags = 0;
  let iterations = 0;
  let sums = windowSums(image, variance, width, box, cx, cy, sigma, false);
  for (;;) {
    if (!(sums.s > 0)) {
      flags |= CENTROID_FLAGS.NO_FLUX;
      break;
    }
    if (iterations === maxIter) {
      flags |= CENTROID_FLAGS.MAX_ITER;
      break;
    }
    iterations++;
    const [dx, dy] = step(sums, sigma);
    cx += dx;
    cy += dy;
    if (Math.hypot(cx - x0, cy - y0) > maxShift) {
      flags |= CENTROID_FLAGS.SHIFT;
      break;
    }
    sums = windowSums(image, variance, width, box, cx, cy, sigma, false);
    if (Math.hypot(dx, dy) < tolerance) break;
  }
  if (cx - 4 * sigma < 0 || cy - 4 * sigma < 0 || cx + 4 * sigma > width - 1 || cy + 4 * sigma > height - 1) flags |= CENTROID_FLAGS.EDGE;
  const failed = (flags & (CENTROID_FLAGS.NO_FLUX | CENTROID_FLAGS.SHIFT)) !== 0;
  const [xErr, yErr] = failed ? [NaN, NaN] : errors(windowSums(image, variance, width, box, cx, cy, sigma, true));
  return { x: cx, y: cy, xErr, yErr, iterations, flags };
}
