/**
 * Differential number counts n(m) (objects per deg^2 per mag) given as log10 n at magnitude nodes,
 * interpolated linearly in log10 n (a power law in flux between nodes) and zero outside the nodes.
 * Integrals are exact (sums of exponentials) and `sample` inverts the cumulative count exactly, so a
 * catalogue drawn from it has exactly the stated density in expectation. Used by starCounts.ts and
 * galaxyCounts.ts.
 */
import type { Random } from './random.js';
import { libm } from '../math/libm.js';

const LN10 = Math.LN10;

export class NumberCounts {
  /** Magnitudes of the nodes, increasing. */
  readonly mags: Float64Array;
  /** log10 of the differential counts (deg^-2 mag^-1) at the nodes. */
  readonly log10Density: Float64Array;
  /** Cumulative counts (deg^-2) from the first node to each node. */
  private readonly cumulative: Float64Array;

  constructor(mags: ArrayLike<number>, log10Density: ArrayLike<number>) {
    if (mags.length < 2 || mags.length !== log10Density.length) {
      throw new RangeError(`NumberCounts: need at least two nodes and one density per node (${mags.length} magnitudes, ${log10Density.length} densities)`);
    }
    this.mags = Float64Array.from(mags);
    this.log10Density = Float64Array.from(log10Density);
    for (let k = 1; k < this.mags.length; k++) {
      if (!(this.mags[k]! > this.mags[k - 1]!)) throw new RangeError(`NumberCounts: magnitudes must increase (node ${k}: ${this.mags[k]} after ${this.mags[k - 1]})`);
    }
    for (const v of this.log10Density) if (!Number.isFinite(v)) throw new RangeError(`NumberCounts: log10 density ${v} is not finite`);
    this.cumulative = new Float64Array(this.mags.length);
    for (let k = 1; k < this.mags.length; k++) this.cumulative[k] = this.cumulative[k - 1]! + this.segmentIntegral(k - 1, this.mags[k - 1]!, this.mags[k]!);
  }

  get minMag(): number { return this.mags[0]!; }
  get maxMag(): number { return this.mags[this.mags.length - 1]!; }

  /** Index k of the segment [m_k, m_k+1] holding m (clamped to the node range). */
  private segment(m: number): number {
    let lo = 0, hi = this.mags.length - 1;
    if (m <= this.mags[0]!) return 0;
    if (m >= this.mags[hi]!) return hi - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (this.mags[mid]! <= m) lo = mid; else hi = mid;
    }
    return lo;
  }

  /** Slope d log10 n / dm of segment k. */
  private slope(k: number): number {
    return (this.log10Density[k + 1]! - this.log10Density[k]!) / (this.mags[k + 1]! - this.mags[k]!);
  }

  /** Differential counts (deg^-2 mag^-1) at m; 0 outside the nodes. */
  density(m: number): number {
    if (!(m >= this.minMag && m <= this.maxMag)) return 0;
    const k = this.segment(m);
    return libm.pow(10, this.log10Density[k]! + this.slope(k) * (m - this.mags[k]!));
  }

  /** Integral of segment k's density from a to b (both inside the segment). */
  private segmentIntegral(k: number, a: number, b: number): number {
    const s = this.slope(k);
    const n0 = libm.pow(10, this.log10Density[k]! + s * (a - this.mags[k]!));
    if (Math.abs(s) < 1e-12) return n0 * (b - a);
    return (n0 * libm.expm1(s * LN10 * (b - a))) / (s * LN10);
  }

  /** Cumulative counts (deg^-2) from the first node to m (clamped to the node range). */
  private cumulativeAt(m: number): number {
    const c = Math.min(Math.max(m, this.minMag), this.maxMag);
    const k = this.segment(c);
    return this.cumulative[k]! + this.segmentIntegral(k, this.mags[k]!, c);
  }

  /** Objects per deg^2 with m1 <= m < m2. */
  integral(m1: number, m2: number): number {
    if (!(m2 > m1)) return 0;
    return this.cumulativeAt(m2) - this.cumulativeAt(m1);
  }

  /** One magnitude drawn from the counts restricted to [m1, m2) (exact inversion of the cumulative count). */
  sample(rng: Random, m1: number, m2: number): number {
    return this.sampler(m1, m2)(rng);
  }

  /** A function drawing magnitudes from the counts restricted to [m1, m2) (the bounds' cumulative counts computed once). */
  sampler(m1: number, m2: number): (rng: Random) => number {
    const c1 = this.cumulativeAt(m1), c2 = this.cumulativeAt(m2);
    if (!(c2 > c1)) throw new RangeError(`NumberCounts.sample: no objects between ${m1} and ${m2}`);
    return (rng) => {
      const target = c1 + rng.uniform() * (c2 - c1);
      let lo = 0, hi = this.mags.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (this.cumulative[mid]! <= target) lo = mid; else hi = mid;
      }
      const rest = target - this.cumulative[lo]!;
      const s = this.slope(lo);
      const n0 = libm.pow(10, this.log10Density[lo]!);
      const dm = Math.abs(s) < 1e-12 ? rest / n0 : libm.log1p((rest * s * LN10) / n0) / (s * LN10);
      const m = Math.max(this.mags[lo]! + dm, m1);
      return m < m2 ? m : m2 - 1e-9; // rounding at the top edge only
    };
  }
}
