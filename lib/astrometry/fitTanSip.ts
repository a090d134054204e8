/**
 * Fits a TAN-SIP WCS to matched (source pixel, reference sky position) pairs: LSST's FitTanSipWcsTask
 * (meas_astrom fitTanSipWcs.py with CreateWcsWithSip) in one linear least-squares problem per pass.
 *
 * Model (Shupe et al. 2005): with u = x + 1 - CRPIX1, v = y + 1 - CRPIX2 (x, y 0-BASED pixels),
 *   (xi, eta) = CD (u + A(u, v), v + B(u, v)),  A, B = sum_{2 <= p+q <= order} A_p_q u^p v^q,
 * where (xi, eta) are the reference's standard coordinates (degrees) on the tangent plane at CRVAL
 * (tangentPlane.ts). Equivalently xi and eta are full polynomials of degree `order` in (u, v) with no
 * constant term; their linear part is CD and CD^-1 times the rest is (A, B). Each pass:
 *  1. CRPIX is the image centre ((width + 1) / 2, (height + 1) / 2), fixed (LSST puts it at the mean of
 *     the matched centroids; the centre makes the WCS independent of which stars matched and keeps the
 *     polynomial best conditioned over the region it describes);
 *  2. the references are projected about the current CRVAL and xi, eta are fitted, unweighted as in LSST,
 *     by polynomials of degree `order` WITH a constant term in (u / s, v / s), s = max(width, height) / 2
 *     (QR least squares, lib/wcs leastSquares.ts); the constant is where CRPIX lands on the plane, so CRVAL
 *     moves there and the fit repeats (numIter passes, stopping early below 1e-12 deg); the last constant
 *     (reported in mas, ~1e-9) is then dropped;
 *  3. outlier rejection as LSST's rejectMatches: residuals of all matches through the fit, per axis;
 *     matches beyond rejSigma x the standard deviation (of the not-yet-rejected) in either axis are
 *     rejected (LSST tests dx > k sigma one-sidedly, an oversight; here |dx|), numRejIter times, then the
 *     final fit uses the rest.
 * The order is lowered while the matches number fewer than twice the polynomial terms per axis (order 1,
 * a pure TAN with CD, needs 3 matches); fewer than 3 usable matches is a failure, not an exception.
 * The inverse AP/BP (order + 1 by default, all terms 0 <= p+q) is fitted by least squares to the forward
 * model on a grid over the image plus a 10 % margin (as SIP inverses are made, Shupe et al. §3.2) so that
 * astropy's all_world2pix and other readers can start from it; lib/wcs refines it by Newton iteration.
 * The WCS returned is the one its FITS cards give when written and read back (tanSipHeader.ts), and the
 * residuals are measured through it. Defaults (LSST, HSC override for the order): order 3, numIter 3,
 * numRejIter 1, rejSigma 3, maxScatterArcsec 10 (median separation beyond which the fit fails).
 */
import type { FitsHeader } from '../fits/header.js';
import { angularSeparation, type Wcs } from '../wcs/index.js';
import { solveLeastSquares } from '../wcs/leastSquares.js';
import { Polynomial2 } from '../wcs/polynomial.js';
import { TangentPlane } from './tangentPlane.js';
import { tanSipHeader, wcsThroughFits } from './tanSipHeader.js';
import { median } from '../math/median.js';
import { libm } from '../math/libm.js';

export interface TanSipFitConfig {
  /** SIP order (HSC 3; LSST default 2, 4 in 2016). */
  order: number;
  /** Passes of fit + tangent-point update. */
  numIter: number;
  /** Rejection iterations. */
  numRejIter: number;
  /** Rejection threshold, standard deviations per axis. */
  rejSigma: number;
  /** The fit fails when the median match separation exceeds this (arcsec). */
  maxScatterArcsec: number;
  /** Order of the inverse AP/BP polynomials; default order + 1. */
  inverseOrder?: number;
}

export const TAN_SIP_FIT_DEFAULTS: Readonly<TanSipFitConfig> = {
  order: 3,
  numIter: 3,
  numRejIter: 1,
  rejSigma: 3,
  maxScatterArcsec: 10,
};

export interface TanSipFitInput {
  /** 0-BASED pixel positions of the matched sources. */
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Sky positions (degrees) of their reference stars. */
  ra: ArrayLike<number>;
  dec: ArrayLike<number>;
  /** Image size in pixels: CRPIX is its centre, the inverse is fitted over it. */
  width: number;
  height: number;
  /** Starting tangent point (RA, Dec) degrees; default the mean direction of the references. */
  crval?: readonly [number, number];
  /** Names the fit in the Wcs's `source` and in errors. */
  source?: string;
}

export interface TanSipFit {
  ok: true;
  wcs: Wcs;
  /** The WCS cards (write them into the image HDU header). */
  header: FitsHeader;
  /** Order used (lowered from the configured one when there are few matches). */
  order: number;
  crval: [number, number];
  /** 1-BASED. */
  crpix: [number, number];
  cd: [number, number, number, number];
  /** 1 where the match took part in the final fit, 0 where it was rejected (or not finite). */
  used: Uint8Array;
  nUsed: number;
  /** Separation (arcsec) of every input match through `wcs`. */
  separationArcsec: Float64Array;
  /** Root mean square separation of the used matches (arcsec). */
  rmsArcsec: number;
  /** Median separation of the used matches (LSST's scatterOnSky), arcsec. */
  medianScatterArcsec: number;
  /** Largest error of the inverse AP/BP over the image (pixels); 0 without SIP. */
  inverseMaxErrorPx: number;
  /** The constant term dropped after the last tangent-point update, mas. */
  tangentPointResidualMas: number;
}

export interface TanSipFitFailure {
  ok: false;
  reason: 'tooFewMatches' | 'singular' | 'allRejected' | 'scatterTooLarge';
  message: string;
}

/** Terms (p, q) with 0 <= p + q <= order, by degree. */
function polynomialTerms(order: number, minDegree = 0): [number, number][] {
  const terms: [number, number][] = [];
  for (let d = minDegree; d <= order; d++) for (let p = d; p >= 0; p--) terms.push([p, d - p]);
  return terms;
}

/** The highest order <= `order` whose terms per axis number at most half the matches (order 1 from 3 matches). */
export function usableOrder(order: number, nMatches: number): number {
  if (nMatches < 3) return 0;
  let o = Math.max(1, Math.floor(order));
  while (o > 1 && 2 * ((o + 1) * (o + 2)) / 2 > nMatches) o--;
  return o;
}

function meanDirection(ra: ArrayLike<number>, dec: ArrayLike<number>, use: Uint8Array): [number, number] {
  let x = 0, y = 0, z = 0;
  const d2r = Math.PI / 180;
  for (let i = 0; i < ra.length; i++) {
    if (!use[i]) continue;
    const a = ra[i]! * d2r, d = dec[i]! * d2r;
    x += libm.cos(d) * libm.cos(a); y += libm.cos(d) * libm.sin(a); z += libm.sin(d);
  }
  const r = (((libm.atan2(y, x) * 180) / Math.PI) + 360) % 360;
  return [r, (libm.atan2(z, Math.hypot(x, y)) * 180) / Math.PI];
}

interface LinearFit {
  crval: [number, number];
  /** Coefficients of xi and eta in normalised (u/s, v/s), per term of `terms`. */
  cx: Float64Array;
  cy: Float64Array;
  terms: [number, number][];
  residualConstantDeg: number;
}

/** Steps 1-2 of the module comment over the matches with use[i] = 1. */
function fitOnce(
  input: TanSipFitInput, use: Uint8Array, order: number, crval0: [number, number], crpix: [number, number], s: number, numIter: number,
): LinearFit | undefined {
  const terms = polynomialTerms(order);
  const nt = terms.length;
  const idx: number[] = [];
  for (let i = 0; i < use.length; i++) if (use[i]) idx.push(i);
  const m = idx.length;
  if (m < nt) return undefined;
  const rows = new Float64Array(m * nt);
  for (let k = 0; k < m; k++) {
    const i = idx[k]!;
    const un = (input.x[i]! + 1 - crpix[0]) / s, vn = (input.y[i]! + 1 - crpix[1]) / s;
    for (let t = 0; t < nt; t++) rows[k * nt + t] = libm.pow(un, terms[t]![0]) * libm.pow(vn, terms[t]![1]);
  }
  let crval: [number, number] = [crval0[0], crval0[1]];
  const xi = new Float64Array(m), eta = new Float64Array(m);
  const out = [0, 0];
  let result: LinearFit | undefined;
  for (let it = 0; it < Math.max(1, numIter); it++) {
    const plane = new TangentPlane(crval[0], crval[1]);
    for (let k = 0; k < m; k++) {
      plane.project(input.ra[idx[k]!]!, input.dec[idx[k]!]!, out);
      xi[k] = out[0]!;
      eta[k] = out[1]!;
    }
    const solved = solveLeastSquares(rows, m, nt, [xi, eta]);
    if (!solved) return undefined;
    const [cx, cy] = solved as [Float64Array, Float64Array];
    const c0 = Math.hypot(cx[0]!, cy[0]!);
    result = { crval, cx, cy, terms, residualConstantDeg: c0 };
    if (c0 < 1e-12) break;
    if (it === Math.max(1, numIter) - 1) break;
    crval = plane.deproject(cx[0]!, cy[0]!);
  }
  return result;
}

/** Evaluates the fitted (xi, eta) (degrees, constant term dropped) at 0-based pixel (x, y). */
function evaluate(fit: LinearFit, x: number, y: number, crpix: [number, number], s: number, out: number[]): void {
  const un = (x + 1 - crpix[0]) / s, vn = (y + 1 - crpix[1]) / s;
  let a = 0, b = 0;
  for (let t = 1; t < fit.terms.length; t++) {
    const w = libm.pow(un, fit.terms[t]![0]) * libm.pow(vn, fit.terms[t]![1]);
    a += fit.cx[t]! * w;
    b += fit.cy[t]! * w;
  }
  out[0] = a;
  out[1] = b;
}

/** Residuals (arcsec, on the fit's tangent plane) of every match: fit minus reference. */
function residuals(input: TanSipFitInput, fit: LinearFit, crpix: [number, number], s: number): { dx: Float64Array; dy: Float64Array } {
  const n = input.x.length;
  const dx = new Float64Array(n), dy = new Float64Array(n);
  const plane = new TangentPlane(fit.crval[0], fit.crval[1]);
  const model = [0, 0], ref = [0, 0];
  for (let i = 0; i < n; i++) {
    evaluate(fit, input.x[i]!, input.y[i]!, crpix, s, model);
    plane.project(input.ra[i]!, input.dec[i]!, ref);
    dx[i] = (model[0]! - ref[0]!) * 3600;
    dy[i] = (model[1]! - ref[1]!) * 3600;
  }
  return { dx, dy };
}

function std(values: Float64Array, use: Uint8Array): number {
  let n = 0, sum = 0, sum2 = 0;
  for (let i = 0; i < values.length; i++) {
    if (!use[i]) continue;
    n++; sum += values[i]!; sum2 += values[i]! ** 2;
  }
  if (n < 2) return Infinity;
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sum2 / n - mean * mean));
}

/** Converts normalised-coordinate coefficients of degree >= 2 into SIP A/B in pixels: CD^-1 times them. */
function sipPolynomials(fit: LinearFit, cd: [number, number, number, number], s: number, order: number): { a: Polynomial2; b: Polynomial2 } {
  const det = cd[0] * cd[3] - cd[1] * cd[2];
  const inv = [cd[3] / det, -cd[1] / det, -cd[2] / det, cd[0] / det];
  const n = order + 1;
  const a = new Float64Array(n * n), b = new Float64Array(n * n);
  fit.terms.forEach(([p, q], t) => {
    if (p + q < 2) return;
    const gx = fit.cx[t]! / libm.pow(s, p + q), gy = fit.cy[t]! / libm.pow(s, p + q);
    a[p * n + q] = inv[0]! * gx + inv[1]! * gy;
    b[p * n + q] = inv[2]! * gx + inv[3]! * gy;
  });
  return { a: new Polynomial2(order, a), b: new Polynomial2(order, b) };
}

/**
 * The inverse SIP polynomials AP, BP of `order`, least squares on a grid over the image plus a 10 % + 10 px
 * margin, and their largest error there (pixels).
 */
export function fitSipInverse(
  a: Polynomial2, b: Polynomial2, order: number, crpix: readonly [number, number], width: number, height: number,
): { ap: Polynomial2; bp: Polynomial2; maxErrorPx: number } | undefined {
  const mx = 0.1 * width + 10, my = 0.1 * height + 10;
  const uMin = 0.5 - crpix[0] - mx, uMax = width + 0.5 - crpix[0] + mx;
  const vMin = 0.5 - crpix[1] - my, vMax = height + 0.5 - crpix[1] + my;
  const grid = Math.max(2 * (order + 1), 30);
  const terms = polynomialTerms(order);
  const nt = terms.length;
  const m = grid * grid;
  const s = Math.max(uMax - uMin, vMax - vMin) / 2;
  const rows = new Float64Array(m * nt);
  const du = new Float64Array(m), dv = new Float64Array(m), us = new Float64Array(m), vs = new Float64Array(m);
  for (let i = 0, k = 0; i < grid; i++) {
    for (let j = 0; j < grid; j++, k++) {
      const u = uMin + ((uMax - uMin) * i) / (grid - 1);
      const v = vMin + ((vMax - vMin) * j) / (grid - 1);
      const U = u + a.value(u, v), V = v + b.value(u, v);
      us[k] = U; vs[k] = V;
      du[k] = u - U; dv[k] = v - V;
      for (let t = 0; t < nt; t++) rows[k * nt + t] = libm.pow(U / s, terms[t]![0]) * libm.pow(V / s, terms[t]![1]);
    }
  }
  const solved = solveLeastSquares(rows, m, nt, [du, dv]);
  if (!solved) return undefined;
  const n = order + 1;
  const ap = new Float64Array(n * n), bp = new Float64Array(n * n);
  terms.forEach(([p, q], t) => {
    ap[p * n + q] = solved[0]![t]! / libm.pow(s, p + q);
    bp[p * n + q] = solved[1]![t]! / libm.pow(s, p + q);
  });
  const apPoly = new Polynomial2(order, ap), bpPoly = new Polynomial2(order, bp);
  let maxErrorPx = 0;
  for (let k = 0; k < m; k++) {
    const eu = us[k]! + apPoly.value(us[k]!, vs[k]!) - (us[k]! + du[k]!);
    const ev = vs[k]! + bpPoly.value(us[k]!, vs[k]!) - (vs[k]! + dv[k]!);
    maxErrorPx = Math.max(maxErrorPx, Math.abs(eu), Math.abs(ev));
  }
  return { ap: apPoly, bp: bpPoly, maxErrorPx };
}

/** Fits a TAN-SIP WCS to the matches; see the module comment. Never throws for bad data: returns a failure. */
export function fitTanSipWcs(input: TanSipFitInput, config: Partial<TanSipFitConfig> = {}): TanSipFit | TanSipFitFailure {
  const cfg: TanSipFitConfig = { ...TAN_SIP_FIT_DEFAULTS, ...config };
  const n = input.x.length;
  if (input.y.length !== n || input.ra.length !== n || input.dec.length !== n) {
    throw new RangeError(`fitTanSipWcs: x, y, ra, dec must have the same length (${n}, ${input.y.length}, ${input.ra.length}, ${input.dec.length})`);
  }
  if (!(input.width > 0 && input.height > 0)) throw new RangeError(`fitTanSipWcs: image size ${input.width}x${input.height} is not positive`);
  const source = input.source ?? 'fitted TAN-SIP WCS';
  const finite = new Uint8Array(n);
  let nFinite = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isFinite(input.x[i]!) && Number.isFinite(input.y[i]!) && Number.isFinite(input.ra[i]!) && Math.abs(input.dec[i]!) <= 90) {
      finite[i] = 1;
      nFinite++;
    }
  }
  if (usableOrder(cfg.order, nFinite) === 0) {
    return { ok: false, reason: 'tooFewMatches', message: `${source}: ${nFinite} usable matches; a TAN WCS needs at least 3` };
  }
  const crpix: [number, number] = [(input.width + 1) / 2, (input.height + 1) / 2];
  const s = Math.max(input.width, input.height) / 2;
  let crval: [number, number] = input.crval ? [input.crval[0], input.crval[1]] : meanDirection(input.ra, input.dec, finite);

  let use = Uint8Array.from(finite);
  for (let rej = 0; rej < cfg.numRejIter; rej++) {
    const nUse = use.reduce((a, v) => a + v, 0);
    const order = usableOrder(cfg.order, nUse);
    if (order === 0) break;
    const fit = fitOnce(input, use, order, crval, crpix, s, cfg.numIter);
    if (!fit) return { ok: false, reason: 'singular', message: `${source}: the order-${order} fit to ${nUse} matches is singular (degenerate positions)` };
    crval = fit.crval;
    const { dx, dy } = residuals(input, fit, crpix, s);
    // A floor of 1 microarcsec keeps an exact fit (as many matches as terms) from rejecting its own rounding.
    const sx = Math.max(std(dx, use), 1e-6), sy = Math.max(std(dy, use), 1e-6);
    const next = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (finite[i] && Math.abs(dx[i]!) <= cfg.rejSigma * sx && Math.abs(dy[i]!) <= cfg.rejSigma * sy) next[i] = 1;
    }
    if (next.every((v) => v === 0)) return { ok: false, reason: 'allRejected', message: `${source}: rejection iteration ${rej + 1} rejected every match` };
    use = next;
  }
  const nUsed = use.reduce((a, v) => a + v, 0);
  const order = usableOrder(cfg.order, nUsed);
  if (order === 0) return { ok: false, reason: 'tooFewMatches', message: `${source}: ${nUsed} matches left after rejection; a TAN WCS needs at least 3` };
  const fit = fitOnce(input, use, order, crval, crpix, s, cfg.numIter);
  if (!fit) return { ok: false, reason: 'singular', message: `${source}: the order-${order} fit to ${nUsed} matches is singular (degenerate positions)` };

  const t10 = fit.terms.findIndex(([p, q]) => p === 1 && q === 0);
  const t01 = fit.terms.findIndex(([p, q]) => p === 0 && q === 1);
  const cd: [number, number, number, number] = [fit.cx[t10]! / s, fit.cx[t01]! / s, fit.cy[t10]! / s, fit.cy[t01]! / s];
  const det = cd[0] * cd[3] - cd[1] * cd[2];
  if (!(Math.abs(det) > 0) || !Number.isFinite(det)) {
    return { ok: false, reason: 'singular', message: `${source}: the fitted CD matrix is singular` };
  }
  let inverseMaxErrorPx = 0;
  let header: FitsHeader;
  let wcs: Wcs;
  try {
    if (order >= 2) {
      const { a, b } = sipPolynomials(fit, cd, s, order);
      const inverse = fitSipInverse(a, b, cfg.inverseOrder ?? order + 1, crpix, input.width, input.height);
      if (!inverse) return { ok: false, reason: 'singular', message: `${source}: the inverse SIP fit is singular` };
      inverseMaxErrorPx = inverse.maxErrorPx;
      header = tanSipHeader({ crval: fit.crval, crpix, cd, a, b, ap: inverse.ap, bp: inverse.bp });
    } else {
      header = tanSipHeader({ crval: fit.crval, crpix, cd });
    }
    wcs = wcsThroughFits(header, source);
  } catch (e) {
    // A non-finite coefficient cannot be written to FITS; lib/wcs refuses a malformed WCS.
    return { ok: false, reason: 'singular', message: `${source}: the fitted WCS cannot be written: ${(e as Error).message}` };
  }
  const separationArcsec = new Float64Array(n);
  const used: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!finite[i]) { separationArcsec[i] = NaN; continue; }
    const [ra, dec] = wcs.pixelToSky(input.x[i]!, input.y[i]!);
    separationArcsec[i] = angularSeparation(ra, dec, input.ra[i]!, input.dec[i]!) * 3600;
    if (use[i]) used.push(separationArcsec[i]!);
  }
  const rmsArcsec = Math.sqrt(used.reduce((a, d) => a + d * d, 0) / used.length);
  const medianScatterArcsec = median(used);
  if (!(medianScatterArcsec <= cfg.maxScatterArcsec)) {
    return { ok: false, reason: 'scatterTooLarge', message: `${source}: median scatter ${medianScatterArcsec.toFixed(3)}" exceeds maxScatterArcsec ${cfg.maxScatterArcsec}"` };
  }
  return {
    ok: true, wcs, header, order, crval: [fit.crval[0], fit.crval[1]], crpix, cd, used: use, nUsed,
    separationArcsec, rmsArcsec, medianScatterArcsec, inverseMaxErrorPx,
    tangentPointResidualMas: fit.residualConstantDeg * 3.6e6,
  };
}
