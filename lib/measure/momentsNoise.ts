/**
 * The noise of adaptive moments (lib/measure/adaptiveMoments.ts) predicted from the variance plane, by
 * linear error propagation through the fixed point that defines them (implicit differentiation). With
 * theta = (xc, yc, Mxx, Myy, Mxy) and the Gaussian weight W = exp(-d^T M^-1 d / 2), d = pixel - centre,
 * the adaptive moments solve F(theta, I) = 0:
 *   F1,2 = sum(W I d) / sum(W I)                  (the centroid of the weighted light is the centre)
 *   F3..5 = M - 2 (sum(W I d d^T) / sum(W I) - F1,2 F1,2^T)   (M = 2C, BJ02's adaptive condition)
 * so d theta = -A^-1 (dF/dI) dI, A = dF/d theta, and Cov(theta) = A^-1 [sum_k g_k g_k^T var_k] A^-T with
 * g_k = dF/dI_k (analytic) and A by central differences at the measured theta on the same pixels. This
 * holds for any profile (LSST's SdssShape error instead assumes a Gaussian object on a flat background,
 * Bernstein & Jarvis 2002 §3.x); the result is the first-order (high S/N) noise, the pixels are the
 * measurement's (q <= 16 of the weight, mask bits excluded, NaNs skipped), uncorrelated.
 * The distortion ellipticity e1 = (Mxx - Myy) / T, e2 = 2 Mxy / T, T = Mxx + Myy gets its errors from
 * the moments' covariance. Units: pixels, pixels^2; e is dimensionless.
 */
import type { Moments } from './adaptiveMoments.js';
import { libm } from '../math/libm.js';

export interface MomentsNoise {
  /** Covariance of (xc, yc, Mxx, Myy, Mxy), 5 x 5 row-major. */
  covariance: Float64Array;
  xxErr: number;
  yyErr: number;
  xyErr: number;
  /** 1-sigma errors of the distortion ellipticity components. */
  e1Err: number;
  e2Err: number;
}

export interface MomentsNoiseOptions {
  mask?: ArrayLike<number>;
  badBits?: number;
}

/** Semi-major axis (sigma along the major axis) of the moment ellipse, pixels. */
function majorAxis(mxx: number, myy: number, mxy: number): number {
  return Math.sqrt(0.5 * (mxx + myy) + Math.sqrt(0.25 * (mxx - myy) ** 2 + mxy * mxy));
}

/** F(theta) of the module comment on the pixels of `image`. */
function residual(image: ArrayLike<number>, width: number, height: number, theta: readonly number[], options: MomentsNoiseOptions): number[] {
  const [cx, cy, mxx, myy, mxy] = theta as [number, number, number, number, number];
  const det = mxx * myy - mxy * mxy;
  const ixx = myy / det, iyy = mxx / det, ixy = -mxy / det;
  const r = 4 * majorAxis(mxx, myy, mxy) + 2;
  const badBits = options.badBits ?? 0;
  let s = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (let py = Math.max(0, Math.floor(cy - r)); py <= Math.min(height - 1, Math.ceil(cy + r)); py++) {
    const dy = py - cy;
    for (let px = Math.max(0, Math.floor(cx - r)); px <= Math.min(width - 1, Math.ceil(cx + r)); px++) {
      const i = py * width + px;
      const v = image[i]!;
      if (!Number.isFinite(v) || (options.mask && (options.mask[i]! & badBits) !== 0)) continue;
      const dx = px - cx;
      const q = ixx * dx * dx + 2 * ixy * dx * dy + iyy * dy * dy;
      if (q > 16) continue;
      const w = libm.exp(-0.5 * q) * v;
      s += w; sx += w * dx; sy += w * dy; sxx += w * dx * dx; syy += w * dy * dy; sxy += w * dx * dy;
    }
  }
  const mx = sx / s, my = sy / s;
  return [mx, my, mxx - 2 * (sxx / s - mx * mx), myy - 2 * (syy / s - my * my), mxy - 2 * (sxy / s - mx * my)];
}

/** Inverse of a small dense matrix (Gauss-Jordan with partial pivoting); undefined when singular. */
function invert(a: Float64Array, n: number): Float64Array | undefined {
  const m = Float64Array.from(a);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
    const pivot = m[p * n + c]!;
    if (!(Math.abs(pivot) > 1e-300)) return undefined;
    if (p !== c) {
      for (let k = 0; k < n; k++) {
        [m[p * n + k], m[c * n + k]] = [m[c * n + k]!, m[p * n + k]!];
        [inv[p * n + k], inv[c * n + k]] = [inv[c * n + k]!, inv[p * n + k]!];
      }
    }
    for (let k = 0; k < n; k++) { m[c * n + k]! /= pivot; inv[c * n + k]! /= pivot; }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * n + c]!;
      if (f === 0) continue;
      for (let k = 0; k < n; k++) { m[r * n + k]! -= f * m[c * n + k]!; inv[r * n + k]! -= f * inv[c * n + k]!; }
    }
  }
  return inv;
}

/**
 * Predicted noise of adaptive moments `m` measured on `image` with per-pixel `variance` (see the module
 * comment). Returns undefined when the moments failed or the linearisation is singular.
 */
export function adaptiveMomentsNoise(
  image: ArrayLike<number>, variance: ArrayLike<number>, width: number, height: number, m: Moments, options: MomentsNoiseOptions = {},
): MomentsNoise | undefined {
  if (!(m.xx > 0) || !(m.yy > 0) || !(m.xx * m.yy - m.xy * m.xy > 0)) return undefined;
  const theta = [m.x, m.y, m.xx, m.yy, m.xy];
  // A = dF/dtheta by central differences.
  const A = new Float64Array(25);
  const steps = [1e-4, 1e-4, 1e-4 * m.xx, 1e-4 * m.yy, 1e-4 * Math.sqrt(m.xx * m.yy)];
  for (let j = 0; j < 5; j++) {
    const plus = theta.slice(), minus = theta.slice();
    plus[j]! += steps[j]!;
    minus[j]! -= steps[j]!;
    const fp = residual(image, width, height, plus, options), fm = residual(image, width, height, minus, options);
    for (let i = 0; i < 5; i++) A[i * 5 + j] = (fp[i]! - fm[i]!) / (2 * steps[j]!);
  }
  const Ainv = invert(A, 5);
  if (!Ainv) return undefined;
  // B = sum_k g_k g_k^T var_k with g_k = dF/dI_k at the solution.
  const [cx, cy, mxx, myy, mxy] = theta as [number, number, number, number, number];
  const det = mxx * myy - mxy * mxy;
  const ixx = myy / det, iyy = mxx / det, ixy = -mxy / det;
  const r = 4 * majorAxis(mxx, myy, mxy) + 2;
  const badBits = options.badBits ?? 0;
  let s = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  const pixels: { i: number; dx: number; dy: number; w: number }[] = [];
  for (let py = Math.max(0, Math.floor(cy - r)); py <= Math.min(height - 1, Math.ceil(cy + r)); py++) {
    const dy = py - cy;
    for (let px = Math.max(0, Math.floor(cx - r)); px <= Math.min(width - 1, Math.ceil(cx + r)); px++) {
      const i = py * width + px;
      const v = image[i]!;
      if (!Number.isFinite(v) || (options.mask && (options.mask[i]! & badBits) !== 0)) continue;
      const dx = px - cx;
      const q = ixx * dx * dx + 2 * ixy * dx * dy + iyy * dy * dy;
      if (q > 16) continue;
      const w = libm.exp(-0.5 * q);
      pixels.push({ i, dx, dy, w });
      s += w * v; sx += w * v * dx; sy += w * v * dy; sxx += w * v * dx * dx; syy += w * v * dy * dy; sxy += w * v * dx * dy;
    }
  }
  if (!(s > 0)) return undefined;
  const mx = sx / s, my = sy / s, cxx = sxx / s, cyy = syy / s, cxy = sxy / s;
  const B = new Float64Array(25);
  const g = new Float64Array(5);
  for (const p of pixels) {
    const vk = variance[p.i]!;
    if (!(vk > 0) || !Number.isFinite(vk)) continue;
    const ws = p.w / s;
    const ddx = p.dx - mx, ddy = p.dy - my;
    g[0] = ws * ddx;
    g[1] = ws * ddy;
    // d/dI of -2 (Sxx / S - mx^2): -2 w (dx^2 - Cxx) / S + 4 mx dmx/dI.
    g[2] = -2 * ws * (p.dx * p.dx - cxx) + 4 * mx * g[0]!;
    g[3] = -2 * ws * (p.dy * p.dy - cyy) + 4 * my * g[1]!;
    g[4] = -2 * ws * (p.dx * p.dy - cxy) + 2 * (mx * g[1]! + my * g[0]!);
    for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) B[a * 5 + b]! += g[a]! * g[b]! * vk;
  }
  // Cov = Ainv B Ainv^T.
  const tmp = new Float64Array(25), cov = new Float64Array(25);
  for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) { let t = 0; for (let k = 0; k < 5; k++) t += Ainv[a * 5 + k]! * B[k * 5 + b]!; tmp[a * 5 + b] = t; }
  for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) { let t = 0; for (let k = 0; k < 5; k++) t += tmp[a * 5 + k]! * Ainv[b * 5 + k]!; cov[a * 5 + b] = t; }
  const T = mxx + myy;
  const g1 = [0, 0, (2 * myy) / (T * T), (-2 * mxx) / (T * T), 0];
  const g2 = [0, 0, (-2 * mxy) / (T * T), (-2 * mxy) / (T * T), 2 / T];
  const quad = (v: number[]): number => { let t = 0; for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) t += v[a]! * cov[a * 5 + b]! * v[b]!; return t; };
  return {
    covariance: cov,
    xxErr: Math.sqrt(cov[2 * 5 + 2]!), yyErr: Math.sqrt(cov[3 * 5 + 3]!), xyErr: Math.sqrt(cov[4 * 5 + 4]!),
    e1Err: Math.sqrt(quad(g1)), e2Err: Math.sqrt(quad(g2)),
  };
}
