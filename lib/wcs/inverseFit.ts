/**
 * A polynomial approximation of the inverse of a smooth 2-D map over a rectangle, fitted by least squares
 * on a grid (as SIP's AP/BP are made, Shupe et al. 2005 §3.2). It only seeds the Newton iterations that
 * invert SIP and TPV exactly: a seed good to ~1e-9 lets Newton stop after one step. Inputs are centred
 * and scaled to [-1, 1] for conditioning; outside the fitted output box the fit is not used.
 */
import { solveLeastSquares } from './leastSquares.js';
import { Polynomial2 } from './polynomial.js';
import { libm } from '../math/libm.js';

export interface Box { xMin: number; xMax: number; yMin: number; yMax: number }

export class FittedInverse {
  private constructor(
    private readonly px: Polynomial2,
    private readonly py: Polynomial2,
    private readonly ac: number,
    private readonly bc: number,
    private readonly scale: number,
    /** Where the fit holds: the box of forward-mapped samples. */
    readonly domain: Box,
    /** Largest error of the fit at its samples, in input units. */
    readonly maxError: number,
  ) {}

  /**
   * Fits (a, b) -> (x, y) for (a, b) = forward(x, y), (x, y) in `region`, with a polynomial of `order`.
   * Undefined when the samples do not determine it (a degenerate map).
   */
  static fit(forward: (x: number, y: number, out: Float64Array) => void, region: Box, order: number): FittedInverse | undefined {
    const terms: [number, number][] = [];
    for (let p = 0; p <= order; p++) for (let q = 0; q <= order - p; q++) terms.push([p, q]);
    const grid = Math.max(2 * (order + 1), 24);
    const m = grid * grid;
    const xs = new Float64Array(m);
    const ys = new Float64Array(m);
    const as = new Float64Array(m);
    const bs = new Float64Array(m);
    const o = new Float64Array(3);
    const domain: Box = { xMin: Infinity, xMax: -Infinity, yMin: Infinity, yMax: -Infinity };
    for (let i = 0, k = 0; i < grid; i++) {
      for (let j = 0; j < grid; j++, k++) {
        const x = region.xMin + ((region.xMax - region.xMin) * i) / (grid - 1);
        const y = region.yMin + ((region.yMax - region.yMin) * j) / (grid - 1);
        forward(x, y, o);
        if (!Number.isFinite(o[0]!) || !Number.isFinite(o[1]!)) return undefined;
        xs[k] = x; ys[k] = y; as[k] = o[0]!; bs[k] = o[1]!;
        domain.xMin = Math.min(domain.xMin, o[0]!); domain.xMax = Math.max(domain.xMax, o[0]!);
        domain.yMin = Math.min(domain.yMin, o[1]!); domain.yMax = Math.max(domain.yMax, o[1]!);
      }
    }
    const ac = (domain.xMin + domain.xMax) / 2;
    const bc = (domain.yMin + domain.yMax) / 2;
    const scale = Math.max(domain.xMax - domain.xMin, domain.yMax - domain.yMin) / 2;
    if (!(scale > 0)) return undefined;
    const rows = new Float64Array(m * terms.length);
    for (let k = 0; k < m; k++) {
      const a = (as[k]! - ac) / scale;
      const b = (bs[k]! - bc) / scale;
      terms.forEach(([p, q], t) => { rows[k * terms.length + t] = libm.pow(a, p) * libm.pow(b, q); });
    }
    const solved = solveLeastSquares(rows, m, terms.length, [xs, ys]);
    if (!solved) return undefined;
    const n = order + 1;
    const cx = new Float64Array(n * n);
    const cy = new Float64Array(n * n);
    terms.forEach(([p, q], t) => {
      cx[p * n + q] = solved[0]![t]!;
      cy[p * n + q] = solved[1]![t]!;
    });
    const px = new Polynomial2(order, cx);
    const py = new Polynomial2(order, cy);
    let maxError = 0;
    for (let k = 0; k < m; k++) {
      const a = (as[k]! - ac) / scale;
      const b = (bs[k]! - bc) / scale;
      maxError = Math.max(maxError, Math.abs(px.value(a, b) - xs[k]!), Math.abs(py.value(a, b) - ys[k]!));
    }
    return new FittedInverse(px, py, ac, bc, scale, domain, maxError);
  }

  contains(a: number, b: number): boolean {
    const d = this.domain;
    return a >= d.xMin && a <= d.xMax && b >= d.yMin && b <= d.yMax;
  }

  /** The approximate inverse at (a, b), into out[0..1]. */
  evaluate(a: number, b: number, out: Float64Array): void {
    const u = (a - this.ac) / this.scale;
    const v = (b - this.bc) / this.scale;
    out[0] = this.px.value(u, v);
    out[1] = this.py.value(u, v);
  }
}
