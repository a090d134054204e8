/**
 * SIP distortion (Shupe et al. 2005, "The SIP Convention for Representing Distortion in FITS Image
 * Headers"). With pixel offsets u = p1 - CRPIX1, v = p2 - CRPIX2 (1-based pixels, units of pixels):
 *   forward  U = u + f(u, v),  V = v + g(u, v),  f = sum A_p_q u^p v^q,  g = sum B_p_q u^p v^q
 * (p + q <= A_ORDER / B_ORDER), and (U, V) then go through the CD matrix. The reverse (U, V) -> (u, v) is
 * solved by Newton iteration on the forward polynomials to 1e-11 px, seeded by the header's AP/BP
 * polynomials (u ~ U + sum AP_p_q U^p V^q) when present, or else by an inverse polynomial fitted by least
 * squares over the image. The AP/BP of a real file can be off by 1e-3 px (the HSC file's is); the Newton
 * solution is exact to the forward model, which is what makes pixel -> sky -> pixel round-trip.
 * Keywords read as astropy does: A_ORDER/B_ORDER <= 1 mean no SIP.
 */
import type { WcsKeywords } from './keywords.js';
import { solveLeastSquares } from './leastSquares.js';

/** A dense 2-D polynomial sum c[p][q] u^p v^q, p + q <= order, stored row-major in (order+1)^2. */
export class Polynomial2 {
  constructor(readonly order: number, readonly coefficients: Float64Array) {}

  /** Value at (u, v). */
  value(u: number, v: number): number {
    const n = this.order + 1;
    const c = this.coefficients;
    let total = 0;
    for (let p = this.order; p >= 0; p--) {
      let row = 0;
      for (let q = this.order - p; q >= 0; q--) row = row * v + c[p * n + q]!;
      total = total * u + row;
    }
    return total;
  }

  /** Value and partial derivatives at (u, v), into out[k..k+2] = (f, df/du, df/dv). */
  valueAndGradient(u: number, v: number, out: Float64Array, k: number): void {
    const n = this.order + 1;
    const c = this.coefficients;
    let f = 0;
    let fu = 0;
    let fv = 0;
    for (let p = this.order; p >= 0; p--) {
      let row = 0;
      let rowV = 0;
      for (let q = this.order - p; q >= 0; q--) {
        rowV = rowV * v + row;
        row = row * v + c[p * n + q]!;
      }
      fu = fu * u + f;
      f = f * u + row;
      fv = fv * u + rowV;
    }
    out[k] = f;
    out[k + 1] = fu;
    out[k + 2] = fv;
  }
}

/** Reads the SIP polynomial `name` ('A', 'B', 'AP', 'BP'); undefined when its order is absent or <= 1. */
export function readSipPolynomial(kw: WcsKeywords, name: 'A' | 'B' | 'AP' | 'BP'): Polynomial2 | undefined {
  const order = kw.numberExact(`${name}_ORDER`);
  if (order === undefined || order <= 1) return undefined;
  if (!Number.isInteger(order) || order > 19) kw.fail(`${name}_ORDER = ${order} is not an integer between 2 and 19`);
  const n = order + 1;
  const c = new Float64Array(n * n);
  for (let p = 0; p <= order; p++) {
    for (let q = 0; q <= order - p; q++) c[p * n + q] = kw.numberExact(`${name}_${p}_${q}`, 0);
  }
  return new Polynomial2(order, c);
}

export type SipInverseSeed = 'AP/BP' | 'fitted' | 'identity';

/** Region of pixel offsets (u, v) over which an inverse polynomial is fitted when AP/BP are absent. */
export interface OffsetRegion { uMin: number; uMax: number; vMin: number; vMax: number }

const NEWTON_TOL_PX = 1e-11;
const MAX_ITER = 60;

export class SipDistortion {
  readonly inverseSeed: SipInverseSeed;
  private readonly seedU: Polynomial2 | undefined;
  private readonly seedV: Polynomial2 | undefined;
  private readonly seedScale: number;
  private readonly work = new Float64Array(6);

  /**
   * `a`/`b` are the forward polynomials (either may be absent: zero), `ap`/`bp` the header's inverse.
   * When both AP and BP are absent and `fitRegion` is given, an inverse of order max(A, B) + 1 is fitted.
   */
  constructor(
    readonly a: Polynomial2 | undefined,
    readonly b: Polynomial2 | undefined,
    ap: Polynomial2 | undefined,
    bp: Polynomial2 | undefined,
    fitRegion?: OffsetRegion,
  ) {
    if (ap || bp) {
      this.seedU = ap;
      this.seedV = bp;
      this.seedScale = 1;
      this.inverseSeed = 'AP/BP';
      return;
    }
    const fitted = fitRegion ? this.fitInverse(fitRegion) : undefined;
    this.seedU = fitted?.[0];
    this.seedV = fitted?.[1];
    this.seedScale = fitted?.[2] ?? 1;
    this.inverseSeed = fitted ? 'fitted' : 'identity';
  }

  /** Forward: pixel offsets (u, v) -> focal-plane offsets (U, V), pixels. */
  forward(u: number, v: number, out: Float64Array): void {
    out[0] = u + (this.a ? this.a.value(u, v) : 0);
    out[1] = v + (this.b ? this.b.value(u, v) : 0);
  }

  /** Forward with the Jacobian: out = (U, V, dU/du, dU/dv, dV/du, dV/dv). */
  private forwardWithJacobian(u: number, v: number, out: Float64Array): void {
    if (this.a) this.a.valueAndGradient(u, v, out, 0);
    else { out[0] = 0; out[1] = 0; out[2] = 0; }
    if (this.b) this.b.valueAndGradient(u, v, out, 3);
    else { out[3] = 0; out[4] = 0; out[5] = 0; }
    // out = (f, fu, fv, g, gu, gv) -> (U, V, Uu, Uv, Vu, Vv)
    const f = out[0]!, fu = out[1]!, fv = out[2]!, g = out[3]!, gu = out[4]!, gv = out[5]!;
    out[0] = u + f;
    out[1] = v + g;
    out[2] = 1 + fu;
    out[3] = fv;
    out[4] = gu;
    out[5] = 1 + gv;
  }

  /** The seed of the reverse solution: AP/BP, the fitted inverse, or the identity. */
  seed(U: number, V: number, out: Float64Array): void {
    const s = this.seedScale;
    out[0] = U + (this.seedU ? this.seedU.value(U / s, V / s) : 0);
    out[1] = V + (this.seedV ? this.seedV.value(U / s, V / s) : 0);
  }

  /**
   * Reverse: focal-plane offsets (U, V) -> pixel offsets (u, v) such that forward(u, v) = (U, V), by damped
   * Newton iteration. Writes NaN when the iteration does not converge (far outside the fitted region,
   * where the polynomial folds).
   */
  reverse(U: number, V: number, out: Float64Array): void {
    if (!Number.isFinite(U) || !Number.isFinite(V)) { out[0] = NaN; out[1] = NaN; return; }
    const w = this.work;
    this.seed(U, V, out);
    let u = out[0]!;
    let v = out[1]!;
    this.forwardWithJacobian(u, v, w);
    let r1 = w[0]! - U;
    let r2 = w[1]! - V;
    let res = Math.hypot(r1, r2);
    for (let it = 0; it < MAX_ITER; it++) {
      const det = w[2]! * w[5]! - w[3]! * w[4]!;
      if (det === 0 || !Number.isFinite(det)) break;
      const du = (w[5]! * r1 - w[3]! * r2) / det;
      const dv = (-w[4]! * r1 + w[2]! * r2) / det;
      let step = 1;
      let nu = u - du;
      let nv = v - dv;
      this.forwardWithJacobian(nu, nv, w);
      let n1 = w[0]! - U;
      let n2 = w[1]! - V;
      let nres = Math.hypot(n1, n2);
      // Backtrack while the residual grows (guards against overshooting where the polynomial bends).
      while (!(nres <= res) && step > 1e-6) {
        step /= 2;
        nu = u - step * du;
        nv = v - step * dv;
        this.forwardWithJacobian(nu, nv, w);
        n1 = w[0]! - U;
        n2 = w[1]! - V;
        nres = Math.hypot(n1, n2);
      }
      u = nu; v = nv; r1 = n1; r2 = n2; res = nres;
      if (step * (Math.abs(du) + Math.abs(dv)) < NEWTON_TOL_PX || res < NEWTON_TOL_PX * 1e-3) {
        out[0] = u;
        out[1] = v;
        return;
      }
    }
    if (res < 1e-8) { out[0] = u; out[1] = v; return; }
    out[0] = NaN;
    out[1] = NaN;
  }

  /** Fits u - U and v - V as polynomials in (U, V)/s over a grid covering `region` (Shupe et al. §3.2). */
  private fitInverse(region: OffsetRegion): [Polynomial2, Polynomial2, number] | undefined {
    const order = Math.min(9, Math.max(this.a?.order ?? 0, this.b?.order ?? 0) + 1);
    const n = order + 1;
    const terms: [number, number][] = [];
    for (let p = 0; p <= order; p++) for (let q = 0; q <= order - p; q++) terms.push([p, q]);
    const grid = Math.max(2 * n, 25);
    const m = grid * grid;
    const rows = new Float64Array(m * terms.length);
    const du = new Float64Array(m);
    const dv = new Float64Array(m);
    const o = new Float64Array(2);
    const scale = Math.max(Math.abs(region.uMin), Math.abs(region.uMax), Math.abs(region.vMin), Math.abs(region.vMax), 1);
    let k = 0;
    for (let i = 0; i < grid; i++) {
      for (let j = 0; j < grid; j++) {
        const u = region.uMin + ((region.uMax - region.uMin) * i) / (grid - 1);
        const v = region.vMin + ((region.vMax - region.vMin) * j) / (grid - 1);
        this.forward(u, v, o);
        const U = o[0]! / scale;
        const V = o[1]! / scale;
        terms.forEach(([p, q], t) => { rows[k * terms.length + t] = U ** p * V ** q; });
        du[k] = u - o[0]!;
        dv[k] = v - o[1]!;
        k++;
      }
    }
    const solved = solveLeastSquares(rows, m, terms.length, [du, dv]);
    if (!solved) return undefined;
    const cu = new Float64Array(n * n);
    const cv = new Float64Array(n * n);
    terms.forEach(([p, q], t) => {
      cu[p * n + q] = solved[0]![t]!;
      cv[p * n + q] = solved[1]![t]!;
    });
    return [new Polynomial2(order, cu), new Polynomial2(order, cv), scale];
  }
}
