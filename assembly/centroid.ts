// SdssCentroid (LSST meas_base): the fixed-width Gaussian-weighted centroid, the position c where the
// weighted first moment F(c) = sum_i w_i (p_i - c) I_i vanishes, w_i = exp(-|p_i - c|^2 / 2 s^2), s the
// PSF's Gaussian-equivalent sigma (px), fixed. Solved from the start (the detection peak) by Newton steps
// c -= J^-1 F, J = dF/dc = sum w I (d d^T / s^2 - 1), d = p - c, each no longer than s; where J is not
// negative definite, the plain step sum(w I d) / sum(w I). Sums run over one box, the start rounded
// +- ceil(4 s + maxShift) clipped to the image, so the weight reaches at least 4 s from any accepted
// position and is never cut by a window that moves with c (which makes F jump and the iteration cycle).
// Pixels whose value or variance is not finite are left out. Defaults (the host's): converged when a
// step is under 1e-4 px, at most 50 iterations, maxShift 3 px. Errors: the sandwich covariance
// J^-1 Q J^-T, Q = sum w^2 V d d^T, first order in the noise for any profile, at the root only.
// Pixels are unit squares centred on integer coordinates. Units: pixels; I and V in the image's units.
// The weight is separable, w = wx(px) wy(py), so each row's sums over x (of wx I, wx I dx, wx I dx^2,
// and for Q of wx^2 V with the same powers of dx) are formed first, in two lanes (SIMD: f64x2), and then
// weighted by the row's wy and powers of dy; every build takes the same steps, so all give the same bits.

import { BAD_ARGUMENT, OK } from './status';

/** Flag bits of out[5] (lib/measure/sdssCentroid.ts's CENTROID_FLAGS). */
const NO_FLUX: i32 = 1;
const SHIFT: i32 = 2;
const EDGE: i32 = 4;
const MAX_ITER: i32 = 8;

// Widest box the column weights' cache holds (px): the box's half-width is at most (MAX_BOX - 1) / 2.
const MAX_BOX: i32 = 8192;
const WEIGHT_X = memory.data(MAX_BOX << 3, 8);

// The window's sums at the current centre (see windowSums).
let sumS: f64 = 0, sumFx: f64 = 0, sumFy: f64 = 0, sumXx: f64 = 0, sumYy: f64 = 0, sumXy: f64 = 0;
let sumQxx: f64 = 0, sumQyy: f64 = 0, sumQxy: f64 = 0;

// Sums over the box [x0, x1] x [y0, y1] with the weight centred at (cx, cy); Q's only withErrors. A row's
// sums over x run in two lanes, the pixels at even and at odd offsets from x0, combined as lane 0 +
// lane 1, then the last pixel of an odd count; a pixel left out adds +0 (the SIMD build) or nothing (the
// scalar one), which give the same sums.
function windowSums(image: usize, variance: usize, width: i32, x0: i32, x1: i32, y0: i32, y1: i32, cx: f64, cy: f64, sigma: f64, withErrors: bool): void {
  const inv2s2 = 1.0 / (2.0 * sigma * sigma);
  for (let px = x0; px <= x1; px++) {
    const d = <f64>px - cx;
    store<f64>(WEIGHT_X + (<usize>(px - x0) << 3), Math.exp(-(d * d) * inv2s2));
  }
  const pairsEnd = x0 + ((x1 - x0 + 1) & ~1);
  let s = 0.0, fx = 0.0, fy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0, qxx = 0.0, qyy = 0.0, qxy = 0.0;
  for (let py = y0; py <= y1; py++) {
    const dy = <f64>py - cy;
    const wy = Math.exp(-(dy * dy) * inv2s2);
    const row = <usize>py * <usize>width;
    let a0 = 0.0, a1 = 0.0, a2 = 0.0, b0 = 0.0, b1 = 0.0, b2 = 0.0;
    let px = x0;
    if (ASC_FEATURE_SIMD) {
      const zero = f64x2.splat(0), two = f64x2.splat(2), centre = f64x2.splat(cx);
      let at = f64x2(<f64>x0, <f64>(x0 + 1));
      let a0v = zero, a1v = zero, a2v = zero, b0v = zero, b1v = zero, b2v = zero;
      for (; px < pairsEnd; px += 2) {
        const p = (row + <usize>px) << 2;
        const v = f64x2.promote_low_f32x4(v128.load64_zero(image + p)), vv = f64x2.promote_low_f32x4(v128.load64_zero(variance + p));
        // Finite: x - x is 0 (NaN for NaN and infinities).
        const good = v128.and(f64x2.eq(f64x2.sub(v, v), zero), f64x2.eq(f64x2.sub(vv, vv), zero));
        const dx = f64x2.sub(at, centre);
        const wx = v128.load(WEIGHT_X + (<usize>(px - x0) << 3));
        const wv = v128.and(f64x2.mul(wx, v), good);
        a0v = f64x2.add(a0v, wv);
        const wvdx = f64x2.mul(wv, dx);
        a1v = f64x2.add(a1v, wvdx);
        a2v = f64x2.add(a2v, f64x2.mul(wvdx, dx));
        if (withErrors) {
          const ww = v128.and(f64x2.mul(f64x2.mul(wx, wx), vv), good);
          b0v = f64x2.add(b0v, ww);
          const wwdx = f64x2.mul(ww, dx);
          b1v = f64x2.add(b1v, wwdx);
          b2v = f64x2.add(b2v, f64x2.mul(wwdx, dx));
        }
        at = f64x2.add(at, two);
      }
      a0 = f64x2.extract_lane(a0v, 0) + f64x2.extract_lane(a0v, 1);
      a1 = f64x2.extract_lane(a1v, 0) + f64x2.extract_lane(a1v, 1);
      a2 = f64x2.extract_lane(a2v, 0) + f64x2.extract_lane(a2v, 1);
      b0 = f64x2.extract_lane(b0v, 0) + f64x2.extract_lane(b0v, 1);
      b1 = f64x2.extract_lane(b1v, 0) + f64x2.extract_lane(b1v, 1);
      b2 = f64x2.extract_lane(b2v, 0) + f64x2.extract_lane(b2v, 1);
    } else {
      let e0 = 0.0, e1 = 0.0, e2 = 0.0, f0 = 0.0, f1 = 0.0, f2 = 0.0; // lane 0
      let o0 = 0.0, o1 = 0.0, o2 = 0.0, g0 = 0.0, g1 = 0.0, g2 = 0.0; // lane 1
      for (; px < pairsEnd; px += 2) {
        for (let lane = 0; lane < 2; lane++) {
          const p = (row + <usize>(px + lane)) << 2;
          const v = <f64>load<f32>(image + p), vv = <f64>load<f32>(variance + p);
          if (!isFinite(v) || !isFinite(vv)) continue;
          const dx = <f64>(px + lane) - cx;
          const wx = load<f64>(WEIGHT_X + (<usize>(px + lane - x0) << 3));
          const wv = wx * v, wvdx = wv * dx;
          if (lane == 0) { e0 += wv; e1 += wvdx; e2 += wvdx * dx; } else { o0 += wv; o1 += wvdx; o2 += wvdx * dx; }
          if (withErrors) {
            const ww = wx * wx * vv, wwdx = ww * dx;
            if (lane == 0) { f0 += ww; f1 += wwdx; f2 += wwdx * dx; } else { g0 += ww; g1 += wwdx; g2 += wwdx * dx; }
          }
        }
      }
      a0 = e0 + o0;
      a1 = e1 + o1;
      a2 = e2 + o2;
      b0 = f0 + g0;
      b1 = f1 + g1;
      b2 = f2 + g2;
    }
    if (px <= x1) {
      const p = (row + <usize>px) << 2;
      const v = <f64>load<f32>(image + p), vv = <f64>load<f32>(variance + p);
      if (isFinite(v) && isFinite(vv)) {
        const dx = <f64>px - cx;
        const wx = load<f64>(WEIGHT_X + (<usize>(px - x0) << 3));
        const wv = wx * v, wvdx = wv * dx;
        a0 += wv;
        a1 += wvdx;
        a2 += wvdx * dx;
        if (withErrors) {
          const ww = wx * wx * vv, wwdx = ww * dx;
          b0 += ww;
          b1 += wwdx;
          b2 += wwdx * dx;
        }
      }
    }
    s += wy * a0;
    fx += wy * a1;
    fy += wy * a0 * dy;
    sxx += wy * a2;
    syy += wy * a0 * dy * dy;
    sxy += wy * a1 * dy;
    if (withErrors) {
      const wy2 = wy * wy;
      qxx += wy2 * b2;
      qyy += wy2 * b0 * dy * dy;
      qxy += wy2 * b1 * dy;
    }
  }
  const is2 = 1.0 / (sigma * sigma);
  sumS = s;
  sumFx = fx;
  sumFy = fy;
  sumXx = sxx * is2 - s; // J's entries
  sumYy = syy * is2 - s;
  sumXy = sxy * is2;
  sumQxx = qxx;
  sumQyy = qyy;
  sumQxy = qxy;
}

/**
 * The centroid of the object near (x0, y0) on an f32 image and variance of width x height, with a fixed
 * circular Gaussian weight of `sigma` px (see the module comment); the box is clipped to the image and to a
 * half-width of 4095 px, however large sigma and maxShift are. out: f64 (x, y, xErr, yErr, iterations, flags); the
 * errors are NaN where the iteration failed (NO_FLUX, SHIFT) or J is singular; a non-finite start gives
 * NO_FLUX at once, as an empty window does.
 */
export function sdssCentroid(image: usize, variance: usize, width: i32, height: i32, x0: f64, y0: f64, sigma: f64,
  maxShift: f64, maxIter: i32, tolerance: f64, out: usize): i32 {
  if (width <= 0 || height <= 0 || !(sigma > 0) || !isFinite(sigma) || !(maxShift >= 0) || maxIter < 0) return BAD_ARGUMENT;
  if (!isFinite(x0) || !isFinite(y0)) {
    // No position to start from: no flux, as an empty window.
    store<f64>(out, x0);
    store<f64>(out, y0, 8);
    store<f64>(out, NaN, 16);
    store<f64>(out, NaN, 24);
    store<f64>(out, 0, 32);
    store<f64>(out, <f64>NO_FLUX, 40);
    return OK;
  }
  // The box in f64, clipped to the image and to the cache (a half-width of 4095 px: sigma over 1000 px),
  // empty when off the image.
  const half = Math.min(Math.ceil(4.0 * sigma + maxShift), <f64>((MAX_BOX - 1) >> 1));
  const rx = Math.floor(x0 + 0.5), ry = Math.floor(y0 + 0.5);
  const bx0 = <i32>Math.min(Math.max(0.0, rx - half), <f64>width), bx1 = <i32>Math.max(Math.min(<f64>(width - 1), rx + half), -1.0);
  const by0 = <i32>Math.min(Math.max(0.0, ry - half), <f64>height), by1 = <i32>Math.max(Math.min(<f64>(height - 1), ry + half), -1.0);
  let cx = x0, cy = y0;
  let flags = 0, iterations = 0;
  windowSums(image, variance, width, bx0, bx1, by0, by1, cx, cy, sigma, false);
  for (;;) {
    if (!(sumS > 0)) {
      flags |= NO_FLUX;
      break;
    }
    if (iterations == maxIter) {
      flags |= MAX_ITER;
      break;
    }
    iterations++;
    // Newton's step where J is negative definite, else the plain one; at most sigma long.
    const det = sumXx * sumYy - sumXy * sumXy;
    let dx: f64, dy: f64;
    if (sumXx < 0 && det > 0) {
      dx = -(sumYy * sumFx - sumXy * sumFy) / det;
      dy = -(sumXx * sumFy - sumXy * sumFx) / det;
    } else {
      dx = sumFx / sumS;
      dy = sumFy / sumS;
    }
    const length = Math.hypot(dx, dy);
    if (length > sigma) {
      dx = (dx * sigma) / length;
      dy = (dy * sigma) / length;
    }
    cx += dx;
    cy += dy;
    if (Math.hypot(cx - x0, cy - y0) > maxShift) {
      flags |= SHIFT;
      break;
    }
    windowSums(image, variance, width, bx0, bx1, by0, by1, cx, cy, sigma, false);
    if (Math.hypot(dx, dy) < tolerance) break;
  }
  if (cx - 4.0 * sigma < 0 || cy - 4.0 * sigma < 0 || cx + 4.0 * sigma > <f64>(width - 1) || cy + 4.0 * sigma > <f64>(height - 1)) flags |= EDGE;
  let xErr = NaN, yErr = NaN;
  if ((flags & (NO_FLUX | SHIFT)) == 0) {
    windowSums(image, variance, width, bx0, bx1, by0, by1, cx, cy, sigma, true);
    const det = sumXx * sumYy - sumXy * sumXy;
    if (Math.abs(det) > 0) {
      const kxx = sumYy / det, kxy = -sumXy / det, kyy = sumXx / det;
      xErr = Math.sqrt(kxx * kxx * sumQxx + 2 * kxx * kxy * sumQxy + kxy * kxy * sumQyy);
      yErr = Math.sqrt(kxy * kxy * sumQxx + 2 * kxy * kyy * sumQxy + kyy * kyy * sumQyy);
    }
  }
  store<f64>(out, cx);
  store<f64>(out, cy, 8);
  store<f64>(out, xErr, 16);
  store<f64>(out, yErr, 24);
  store<f64>(out, <f64>iterations, 32);
  store<f64>(out, <f64>flags, 40);
  return OK;
}
