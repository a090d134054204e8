/**
 * SIP distortion (Shupe et al. 2005, "The SIP Convention for Representing Distortion in FITS Image
 * Headers"). With pixel offsets u = p1 - CRPIX1, v = p2 - CRPIX2 (1-based pixels, units of pixels):
 *   forward  U = u + f(u, v),  V = v + g(u, v),  f = sum A_p_q u^p v^q,  g = sum B_p_q u^p v^q
 * (p + q <= A_ORDER / B_ORDER), and (U, V) then go through the CD matrix. The reverse (U, V) -> (u, v) is
 * solved by Newton iteration on the forward polynomials to 1e-11 px, seeded by the header's AP/BP
 * polynomials (u ~ U + sum AP_p_q U^p V^q) when present, or else by an inverse polynomial fitted by least
 * squares over the image (inverseFit.ts). The AP/BP of a real file can be off by 1e-3 px (the HSC file's
 * is); the Newton solution is exact to the forward model, which is what makes pixel -> sky -> pixel
 * round-trip.
 * Keywords read as astropy does: A_ORDER/B_ORDER <= 1 mean no SIP.
 */
import { FittedInverse, type Box } from './inverseFit.js';
import type { WcsKeywords } from './keywords.js';
import { solveNewton2d, type NewtonEvaluate, type NewtonTolerances } from './newton.js';
import { Polynomial2 } from './polynomial.js';

export { Polynomial2 };

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

const NEWTON_TOL_PX = 1e-11;
const FINAL_STEP_PX = 1e-7;
/** Reverse tolerances, pixels: converged at steps < 1e-11 px or residuals < 1e-14 px; accepts < 1e-8 px. */
const SIP_NEWTON: NewtonTolerances = { finalStep: FINAL_STEP_PX, step: NEWTON_TOL_PX, residual: NEWTON_TOL_PX * 1e-3, accept: 1e-8 };

export class SipDistortion {
  readonly inverseSeed: SipInverseSeed;
  private readonly ap: Polynomial2 | undefined;
  private readonly bp: Polynomial2 | undefined;
  private readonly fitted: FittedInverse | undefined;
  private readonly work = new Float64Array(6);
  /** forwardWithJacobian bound once, for the Newton solver. */
  private readonly evaluate: NewtonEvaluate = (u, v, out) => this.forwardWithJacobian(u, v, out);

  /**
   * `a`/`b` are the forward polynomials (either may be absent: zero), `ap`/`bp` the header's inverse.
   * When both AP and BP are absent and `fitRegion` (pixel offsets u, v: the image plus a margin) is
   * given, an inverse of order max(A, B) + 2 is fitted there instead.
   */
  constructor(
    readonly a: Polynomial2 | undefined,
    readonly b: Polynomial2 | undefined,
    ap: Polynomial2 | undefined,
    bp: Polynomial2 | undefined,
    fitRegion?: Box,
  ) {
    this.ap = ap;
    this.bp = bp;
    if (ap || bp) {
      this.inverseSeed = 'AP/BP';
      this.fitted = undefined;
      return;
    }
    const order = Math.min(9, Math.max(a?.order ?? 0, b?.order ?? 0) + 2);
    this.fitted = fitRegion ? FittedInverse.fit((u, v, out) => this.forward(u, v, out), fitRegion, order) : undefined;
    this.inverseSeed = this.fitted ? 'fitted' : 'identity';
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

  /** The seed of the reverse solution: AP/BP, the fitted inverse (inside its domain), or the identity. */
  seed(U: number, V: number, out: Float64Array): void {
    if (this.inverseSeed === 'AP/BP') {
      out[0] = U + (this.ap ? this.ap.value(U, V) : 0);
      out[1] = V + (this.bp ? this.bp.value(U, V) : 0);
    } else if (this.fitted && this.fitted.contains(U, V)) {
      this.fitted.evaluate(U, V, out);
    } else {
      out[0] = U;
      out[1] = V;
    }
  }

  /**
   * Reverse: focal-plane offsets (U, V) -> pixel offsets (u, v) such that forward(u, v) = (U, V), by damped
   * Newton iteration (newton.ts). Writes NaN when the iteration does not converge (far outside the fitted
   * region, where the polynomial folds).
   */
  reverse(U: number, V: number, out: Float64Array): void {
    if (!Number.isFinite(U) || !Number.isFinite(V)) { out[0] = NaN; out[1] = NaN; return; }
    this.seed(U, V, out);
    solveNewton2d(U, V, out[0]!, out[1]!, this.evaluate, this.work, SIP_NEWTON, out);
  }
}
