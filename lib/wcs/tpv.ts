/**
 * TPV distortion (the FITS WCS registry's "TPV" convention, as written by SCAMP and the DECam Community
 * Pipeline; https://fits.gsfc.nasa.gov/registry/tpvwcs/tpv.html). Intermediate world coordinates
 * (x, y) in degrees, after the CD (or CDELT*PC) matrix, are mapped to the corrected (xi, eta), in degrees,
 * that then go through the TAN projection:
 *   xi  = sum_m PV1_m T_m(x, y, r),   eta = sum_m PV2_m T_m(y, x, r),   r = sqrt(x^2 + y^2),
 * with the registry's term order: T_0 = 1; T_1..3 = x, y, r; T_4..6 = x^2, xy, y^2; T_7..11 = x^3, x^2y,
 * xy^2, y^3, r^3; ...; degree d has x^d .. y^d, followed by r^d when d is odd; up to m = 39 (r^7).
 * Missing coefficients are 0 (as in wcslib; PV1_1 and PV2_1 too). Note the swapped arguments of eta.
 * The reverse (xi, eta) -> (x, y) is solved by Newton iteration with the analytic Jacobian, to 1e-14
 * degrees (~4e-11 arcsec), seeded by an inverse polynomial fitted over the image when its size is known
 * (inverseFit.ts), else by the inverse of the linear terms.
 */
import { FittedInverse, type Box } from './inverseFit.js';
import { solveNewton2d, type NewtonEvaluate, type NewtonTolerances } from './newton.js';

/** Powers (of the first variable, of the second variable, of r) for PV index m = 0..39. */
export const TPV_TERMS: readonly (readonly [number, number, number])[] = (() => {
  const terms: [number, number, number][] = [];
  for (let d = 0; d <= 7; d++) {
    for (let j = 0; j <= d; j++) terms.push([d - j, j, 0]);
    if (d % 2 === 1) terms.push([0, 0, d]);
  }
  return terms;
})();

export const TPV_MAX_INDEX = TPV_TERMS.length - 1; // 39

/** One axis' polynomial: only the non-zero terms, for speed. */
class TpvPolynomial {
  private readonly px: Int32Array;
  private readonly py: Int32Array;
  private readonly pr: Int32Array;
  private readonly c: Float64Array;

  constructor(coefficients: ReadonlyMap<number, number>) {
    const idx = [...coefficients.entries()].filter(([, v]) => v !== 0).sort((p, q) => p[0] - q[0]);
    this.px = Int32Array.from(idx, ([m]) => TPV_TERMS[m]![0]);
    this.py = Int32Array.from(idx, ([m]) => TPV_TERMS[m]![1]);
    this.pr = Int32Array.from(idx, ([m]) => TPV_TERMS[m]![2]);
    this.c = Float64Array.from(idx, ([, v]) => v);
  }

  /** Value at (s, t) with r = |(s, t)|; powers of s, t, r precomputed in `pw` (3 x 8). */
  value(pw: Float64Array, swap: boolean): number {
    const sOff = swap ? 8 : 0;
    const tOff = swap ? 0 : 8;
    let f = 0;
    for (let k = 0; k < this.c.length; k++) {
      f += this.c[k]! * pw[sOff + this.px[k]!]! * pw[tOff + this.py[k]!]! * pw[16 + this.pr[k]!]!;
    }
    return f;
  }

  /**
   * Value and derivatives with respect to x and y (the true axes, whatever the swap): the value into
   * out[kv], the derivatives into out[kg], out[kg + 1].
   * `s`, `t` are this polynomial's (first, second) variables; dr/dx = x / r (taken as 0 at r = 0).
   */
  valueAndGradient(pw: Float64Array, x: number, y: number, r: number, swap: boolean, out: Float64Array, kv: number, kg: number): void {
    const sOff = swap ? 8 : 0;
    const tOff = swap ? 0 : 8;
    let f = 0;
    let fs = 0;
    let ft = 0;
    let fr = 0;
    for (let i = 0; i < this.c.length; i++) {
      const a = this.px[i]!;
      const b = this.py[i]!;
      const e = this.pr[i]!;
      const c = this.c[i]!;
      const sa = pw[sOff + a]!;
      const tb = pw[tOff + b]!;
      const re = pw[16 + e]!;
      f += c * sa * tb * re;
      if (a > 0) fs += c * a * pw[sOff + a - 1]! * tb * re;
      if (b > 0) ft += c * b * sa * pw[tOff + b - 1]! * re;
      if (e > 0) fr += c * e * sa * tb * pw[16 + e - 1]!;
    }
    const drdx = r > 0 ? x / r : 0;
    const drdy = r > 0 ? y / r : 0;
    // s = x, t = y when not swapped; s = y, t = x when swapped.
    const fx = (swap ? ft : fs) + fr * drdx;
    const fy = (swap ? fs : ft) + fr * drdy;
    out[kv] = f;
    out[kg] = fx;
    out[kg + 1] = fy;
  }

  /** Coefficient of term m (0 when absent). */
  coefficient(m: number): number {
    for (let k = 0; k < this.c.length; k++) {
      if (this.px[k] === TPV_TERMS[m]![0] && this.py[k] === TPV_TERMS[m]![1] && this.pr[k] === TPV_TERMS[m]![2]) return this.c[k]!;
    }
    return 0;
  }
}

const NEWTON_TOL_DEG = 1e-14;
const FINAL_STEP_DEG = 1e-10;
/** Reverse tolerances, degrees: converged at steps < 1e-14 deg or residuals < 1e-16 deg; accepts < 1e-11 deg. */
const TPV_NEWTON: NewtonTolerances = { finalStep: FINAL_STEP_DEG, step: NEWTON_TOL_DEG, residual: NEWTON_TOL_DEG * 1e-2, accept: 1e-11 };

export class TpvDistortion {
  private readonly p1: TpvPolynomial;
  private readonly p2: TpvPolynomial;
  private readonly powers = new Float64Array(24);
  private readonly work = new Float64Array(6);
  /** forwardWithJacobian bound once, for the Newton solver. */
  private readonly evaluate: NewtonEvaluate = (x, y, out) => this.forwardWithJacobian(x, y, out);
  /** Inverse of the linear part [[PV1_1, PV1_2], [PV2_2, PV2_1]] (row-major), the Newton seed. */
  private readonly seedMatrix: Float64Array;
  private readonly c10: number;
  private readonly c20: number;
  private readonly fitted: FittedInverse | undefined;

  /**
   * `first` holds PVi_m of the first celestial axis (in header order), `second` of the second; `fitRegion`
   * is the image's box in intermediate coordinates (degrees), over which a seed inverse is fitted.
   */
  constructor(first: ReadonlyMap<number, number>, second: ReadonlyMap<number, number>, fitRegion?: Box) {
    this.p1 = new TpvPolynomial(first);
    this.p2 = new TpvPolynomial(second);
    this.c10 = this.p1.coefficient(0);
    this.c20 = this.p2.coefficient(0);
    const a = this.p1.coefficient(1), b = this.p1.coefficient(2), c = this.p2.coefficient(2), d = this.p2.coefficient(1);
    const det = a * d - b * c;
    this.seedMatrix = det !== 0 && Number.isFinite(det) ? new Float64Array([d / det, -b / det, -c / det, a / det]) : new Float64Array([1, 0, 0, 1]);
    this.fitted = fitRegion ? FittedInverse.fit((x, y, out) => this.forward(x, y, out), fitRegion, 6) : undefined;
  }

  private fillPowers(x: number, y: number): number {
    const pw = this.powers;
    const r = Math.sqrt(x * x + y * y);
    pw[0] = 1; pw[8] = 1; pw[16] = 1;
    for (let k = 1; k < 8; k++) {
      pw[k] = pw[k - 1]! * x;
      pw[8 + k] = pw[8 + k - 1]! * y;
      pw[16 + k] = pw[16 + k - 1]! * r;
    }
    return r;
  }

  /** (x, y) -> (xi, eta), degrees. */
  forward(x: number, y: number, out: Float64Array): void {
    this.fillPowers(x, y);
    out[0] = this.p1.value(this.powers, false);
    out[1] = this.p2.value(this.powers, true);
  }

  /** out = (xi, eta, d xi/dx, d xi/dy, d eta/dx, d eta/dy), the layout of newton.ts. */
  private forwardWithJacobian(x: number, y: number, out: Float64Array): void {
    const r = this.fillPowers(x, y);
    this.p1.valueAndGradient(this.powers, x, y, r, false, out, 0, 2);
    this.p2.valueAndGradient(this.powers, x, y, r, true, out, 1, 4);
  }

  /** (xi, eta) -> (x, y), degrees, by damped Newton iteration (newton.ts); NaN if it does not converge. */
  reverse(xi: number, eta: number, out: Float64Array): void {
    if (!Number.isFinite(xi) || !Number.isFinite(eta)) { out[0] = NaN; out[1] = NaN; return; }
    let x: number;
    let y: number;
    const w = this.work;
    if (this.fitted && this.fitted.contains(xi, eta)) {
      this.fitted.evaluate(xi, eta, w);
      x = w[0]!;
      y = w[1]!;
    } else {
      const s = this.seedMatrix;
      const e1 = xi - this.c10;
      const e2 = eta - this.c20;
      x = s[0]! * e1 + s[1]! * e2;
      y = s[2]! * e1 + s[3]! * e2;
    }
    solveNewton2d(xi, eta, x, y, this.evaluate, w, TPV_NEWTON, out);
  }
}
