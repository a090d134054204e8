/**
 * Dense bivariate polynomials sum c[p][q] u^p v^q (p + q <= order), evaluated by nested Horner schemes,
 * with their gradient: the form of SIP distortion polynomials (Shupe et al. 2005) and of fitted inverses.
 */
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
