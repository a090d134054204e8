/**
 * The centroid of a saturated star, from its unsaturated wings: a circular Gaussian profile
 * A exp(-r^2 / 2 s^2) with free amplitude, centre and width is fitted by Gauss-Newton (Levenberg damping)
 * to the pixels within `radius` of the start that are finite and carry none of `badBits` (SAT, BAD,
 * NO_DATA by default: the saturated core and its bleed trails drop out), weighted by their inverse
 * variance. A moment-based centroid over the whole footprint is pulled along bleed trails; the profile
 * fit is not, because the masked pixels are simply absent from a symmetric model (real PSF wings are
 * broader than a Gaussian, which changes A and s, not the centre). LSST falls back to the peak for
 * saturated stars (SdssCentroid flags them); this gives a usable position for astrometry of bright stars.
 * Returns undefined when fewer than 12 usable pixels remain or the fit does not converge in 50 steps.
 * Units: pixels; the image's units for A.
 */
import { solveLeastSquares } from '../wcs/leastSquares.js';
import { libm } from '../math/libm.js';

export interface ProfileFit {
  readonly x: number;
  readonly y: number;
  readonly sigma: number;
  readonly amplitude: number;
  readonly pixels: number;
}

export function saturatedCentroid(image: Float32Array, variance: Float32Array, mask: Int32Array, width: number, height: number,
  x0: number, y0: number, sigma0: number, radius: number, badBits: number): ProfileFit | undefined {
  const xs: number[] = [], ys: number[] = [], vs: number[] = [], ws: number[] = [];
  for (let py = Math.max(0, Math.floor(y0 - radius)); py <= Math.min(height - 1, Math.ceil(y0 + radius)); py++) {
    for (let px = Math.max(0, Math.floor(x0 - radius)); px <= Math.min(width - 1, Math.ceil(x0 + radius)); px++) {
      if ((px - x0) ** 2 + (py - y0) ** 2 > radius * radius) continue;
      const i = py * width + px;
      const v = image[i]!, vv = variance[i]!;
      if ((mask[i]! & badBits) !== 0 || !Number.isFinite(v) || !(vv > 0)) continue;
      xs.push(px);
      ys.push(py);
      vs.push(v);
      ws.push(1 / vv);
    }
  }
  const n = xs.length;
  if (n < 12) return undefined;
  // Parameters p = [A, x, y, s]; start A from a linear fit at the start position.
  let cx = x0, cy = y0, s = sigma0;
  const profile = (i: number, x: number, y: number, sg: number): number => libm.exp(-((xs[i]! - x) ** 2 + (ys[i]! - y) ** 2) / (2 * sg * sg));
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) { const g = profile(i, cx, cy, s); num += ws[i]! * g * vs[i]!; den += ws[i]! * g * g; }
  let a = den > 0 ? num / den : 0;
  const chi2 = (aa: number, x: number, y: number, sg: number): number => {
    let c = 0;
    for (let i = 0; i < n; i++) c += ws[i]! * (vs[i]! - aa * profile(i, x, y, sg)) ** 2;
    return c;
  };
  let current = chi2(a, cx, cy, s);
  let lambda = 1e-3;
  // One pixel's Jacobian row, reused (no array per pixel).
  const j = new Float64Array(4);
  for (let iter = 0; iter < 50; iter++) {
    // Normal equations J^T W J dp = J^T W r.
    const jtj = new Float64Array(16), jtr = new Float64Array(4);
    for (let i = 0; i < n; i++) {
      const dx = xs[i]! - cx, dy = ys[i]! - cy, r2 = dx * dx + dy * dy;
      const g = libm.exp(-r2 / (2 * s * s));
      j[0] = g; j[1] = (a * g * dx) / (s * s); j[2] = (a * g * dy) / (s * s); j[3] = (a * g * r2) / (s * s * s);
      const res = vs[i]! - a * g;
      for (let p = 0; p < 4; p++) {
        jtr[p] += ws[i]! * j[p]! * res;
        for (let q = 0; q < 4; q++) jtj[p * 4 + q] += ws[i]! * j[p]! * j[q]!;
      }
    }
    let improved = false;
    for (let attempt = 0; attempt < 10 && !improved; attempt++) {
      const m = Float64Array.from(jtj);
      for (let p = 0; p < 4; p++) m[p * 5] *= 1 + lambda;
      const step = solveLeastSquares(m, 4, 4, [jtr])?.[0];
      if (!step) { lambda *= 10; continue; }
      const na = a + step[0]!, nx = cx + step[1]!, ny = cy + step[2]!, ns = s + step[3]!;
      if (!(ns > 0.3) || !(na > 0)) { lambda *= 10; continue; }
      const next = chi2(na, nx, ny, ns);
      if (next <= current) {
        const moved = Math.hypot(nx - cx, ny - cy);
        [a, cx, cy, s, current] = [na, nx, ny, ns, next];
        lambda = Math.max(lambda / 10, 1e-9);
        improved = true;
        if (moved < 1e-5 && Math.abs(step[3]!) < 1e-5) return { x: cx, y: cy, sigma: s, amplitude: a, pixels: n };
      } else lambda *= 10;
    }
    if (!improved) return Math.hypot(cx - x0, cy - y0) <= radius ? { x: cx, y: cy, sigma: s, amplitude: a, pixels: n } : undefined;
  }
  return undefined;
}
