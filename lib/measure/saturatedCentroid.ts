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

/**
 * The fit's work array, reused from call to call up to WORK_RETAINED values (grown when a call needs
 * more; a larger box, e.g. a long bleed trail's, gets an array of its own that is not kept): six arrays of
 * a box's pixels per saturated source had been processCcd's largest short-lived allocation (about 55 MB a
 * run on the benchmark's detector).
 */
let work = new Float64Array(0);
const WORK_RETAINED = 1 << 20;

export function saturatedCentroid(image: Float32Array, variance: Float32Array, mask: Int32Array, width: number, height: number,
  x0: number, y0: number, sigma0: number, radius: number, badBits: number): ProfileFit | undefined {
  // The usable pixels' positions, values and weights (at most the box's pixels).
  const pyFrom = Math.max(0, Math.floor(y0 - radius)), pyTo = Math.min(height - 1, Math.ceil(y0 + radius));
  const pxFrom = Math.max(0, Math.floor(x0 - radius)), pxTo = Math.min(width - 1, Math.ceil(x0 + radius));
  const capacity = Math.max(0, (pyTo - pyFrom + 1) * (pxTo - pxFrom + 1));
  let scratch = work;
  if (scratch.length < 6 * capacity) {
    scratch = new Float64Array(6 * capacity);
    if (scratch.length <= WORK_RETAINED) work = scratch;
  }
  const [xs, ys, vs, ws] = [0, 1, 2, 3].map((k) => scratch.subarray(k * capacity, (k + 1) * capacity)) as [Float64Array, Float64Array, Float64Array, Float64Array];
  let n = 0;
  for (let py = pyFrom; py <= pyTo; py++) {
    for (let px = pxFrom; px <= pxTo; px++) {
      if ((px - x0) ** 2 + (py - y0) ** 2 > radius * radius) continue;
      const i = py * width + px;
      const v = image[i]!, vv = variance[i]!;
      if ((mask[i]! & badBits) !== 0 || !Number.isFinite(v) || !(vv > 0)) continue;
      xs[n] = px;
      ys[n] = py;
      vs[n] = v;
      ws[n] = 1 / vv;
      n++;
    }
  }
  if (n < 12) return undefined;
  // Parameters p = [A, x, y, s]; start A from a linear fit at the start position. g holds the profile at
  // the current parameters (the Jacobian's and chi^2's), trial at a step's: one exponential per pixel and step.
  let cx = x0, cy = y0, s = sigma0;
  let g = scratch.subarray(4 * capacity, 4 * capacity + n), trial = scratch.subarray(5 * capacity, 5 * capacity + n);
  profile(g, xs, ys, n, cx, cy, s);
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) { num += ws[i]! * g[i]! * vs[i]!; den += ws[i]! * g[i]! * g[i]!; }
  let a = den > 0 ? num / den : 0;
  let current = chi2(ws, vs, n, a, g);
  let lambda = 1e-3;
  const jtj = new Float64Array(16), jtr = new Float64Array(4), m = new Float64Array(16);
  for (let iter = 0; iter < 50; iter++) {
    normalEquations(jtj, jtr, xs, ys, ws, vs, g, n, a, cx, cy, s);
    let improved = false;
    for (let attempt = 0; attempt < 10 && !improved; attempt++) {
      m.set(jtj);
      for (let p = 0; p < 4; p++) m[p * 5] *= 1 + lambda;
      const step = solveLeastSquares(m, 4, 4, [jtr])?.[0];
      if (!step) { lambda *= 10; continue; }
      const na = a + step[0]!, nx = cx + step[1]!, ny = cy + step[2]!, ns = s + step[3]!;
      if (!(ns > 0.3) || !(na > 0)) { lambda *= 10; continue; }
      profile(trial, xs, ys, n, nx, ny, ns);
      const next = chi2(ws, vs, n, na, trial);
      if (next <= current) {
        const moved = Math.hypot(nx - cx, ny - cy);
        a = na;
        cx = nx;
        cy = ny;
        s = ns;
        current = next;
        const previous = g;
        g = trial;
        trial = previous;
        lambda = Math.max(lambda / 10, 1e-9);
        improved = true;
        if (moved < 1e-5 && Math.abs(step[3]!) < 1e-5) return { x: cx, y: cy, sigma: s, amplitude: a, pixels: n };
      } else lambda *= 10;
    }
    if (!improved) return Math.hypot(cx - x0, cy - y0) <= radius ? { x: cx, y: cy, sigma: s, amplitude: a, pixels: n } : undefined;
  }
  return undefined;
}

/**
 * The normal equations J^T W J dp = J^T W r of the profile A g at (a, cx, cy, s) (g its unit-amplitude
 * values), into jtj (4 x 4) and jtr; J^T W J is symmetric: its upper triangle summed, then mirrored.
 */
function normalEquations(jtj: Float64Array, jtr: Float64Array, xs: Float64Array, ys: Float64Array, ws: Float64Array, vs: Float64Array, g: Float64Array,
  n: number, a: number, cx: number, cy: number, s: number): void {
  jtj.fill(0);
  jtr.fill(0);
  const s2 = s * s;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - cx, dy = ys[i]! - cy, r2 = dx * dx + dy * dy;
    const gi = g[i]!, w = ws[i]!;
    const j0 = gi, j1 = (a * gi * dx) / s2, j2 = (a * gi * dy) / s2, j3 = (a * gi * r2) / (s2 * s);
    const wr = w * (vs[i]! - a * gi);
    jtr[0] += wr * j0; jtr[1] += wr * j1; jtr[2] += wr * j2; jtr[3] += wr * j3;
    const w0 = w * j0, w1 = w * j1, w2 = w * j2;
    jtj[0] += w0 * j0; jtj[1] += w0 * j1; jtj[2] += w0 * j2; jtj[3] += w0 * j3;
    jtj[5] += w1 * j1; jtj[6] += w1 * j2; jtj[7] += w1 * j3;
    jtj[10] += w2 * j2; jtj[11] += w2 * j3;
    jtj[15] += w * j3 * j3;
  }
  for (let p = 1; p < 4; p++) for (let q = 0; q < p; q++) jtj[p * 4 + q] = jtj[q * 4 + p]!;
}

/**
 * The unit-amplitude profile exp(-r^2 / 2 sg^2) at the n pixels (xs, ys) about (x, y), into out. The fit's
 * loops are module-level functions, not closures of each call: V8 keeps their optimised code from call to call.
 */
function profile(out: Float64Array, xs: Float64Array, ys: Float64Array, n: number, x: number, y: number, sg: number): void {
  const scale = 2 * sg * sg;
  for (let i = 0; i < n; i++) out[i] = libm.exp(-((xs[i]! - x) ** 2 + (ys[i]! - y) ** 2) / scale);
}

/** sum w (v - a g)^2 over the n pixels. */
function chi2(ws: Float64Array, vs: Float64Array, n: number, a: number, g: Float64Array): number {
  let c = 0;
  for (let i = 0; i < n; i++) c += ws[i]! * (vs[i]! - a * g[i]!) ** 2;
  return c;
}
