/**
 * Deterministic random numbers for the simulator. `Random` is xoshiro128** (Blackman & Vigna 2018)
 * seeded through splitmix32; `Random.stream(seed, ...names)` derives an independent generator for
 * each named part of the simulation (e.g. `stream(seed, 'noise', visit, detector)`), so that every
 * exposure's numbers depend only on the seed and its own identity, never on the order or the number
 * of threads that render them. Normal deviates use the Box-Muller transform without caching;
 * Poisson deviates use inversion for small means and Hormann's PTRS rejection (1993) above 10.
 */
import { libm } from '../math/libm.js';

/** FNV-1a over the UTF-16 code units of a stream name part: a stable 32-bit hash. */
function hashPart(value: string | number): number {
  const text = typeof value === 'number' ? `#${value}` : value;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) >>> 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [next, (z ^ (z >>> 16)) >>> 0];
}

export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A generator from a 32-bit seed (any integer; it is reduced mod 2^32). */
  constructor(seed: number) {
    let state = seed >>> 0;
    const out: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, z] = splitmix32(state);
      state = next;
      out.push(z);
    }
    if (!out.some((v) => v !== 0)) out[0] = 1; // xoshiro must not start from all zeros
    [this.s0, this.s1, this.s2, this.s3] = out as [number, number, number, number];
  }

  /** An independent generator for one named part of the simulation. */
  static stream(seed: number, ...names: (string | number)[]): Random {
    let h = seed >>> 0;
    for (const n of names) h = ((Math.imul(h ^ hashPart(n), 0x9e3779b1) >>> 0) ^ hashPart(`${n}/${h}`)) >>> 0;
    return new Random(h);
  }

  /** A 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform on [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform on [a, b). */
  range(a: number, b: number): number {
    return a + (b - a) * this.uniform();
  }

  /** An integer uniform on [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** A standard normal deviate (Box-Muller). */
  normal(): number {
    const u = 1 - this.uniform(); // (0, 1]
    const v = this.uniform();
    return Math.sqrt(-2 * libm.log(u)) * libm.cos(2 * Math.PI * v);
  }

  /** A Poisson deviate with mean `mean` >= 0. */
  poisson(mean: number): number {
    if (!(mean >= 0)) throw new RangeError(`poisson: mean must be >= 0, got ${mean}`);
    if (mean === 0) return 0;
    if (mean < 10) {
      // Inversion by sequential search.
      let k = 0;
      let p = libm.exp(-mean);
      let cdf = p;
      const u = this.uniform();
      while (u > cdf && k < 1000) {
        k++;
        p *= mean / k;
        cdf += p;
      }
      return k;
    }
    // PTRS: transformed rejection with squeeze (Hormann 1993).
    const slam = Math.sqrt(mean);
    const loglam = libm.log(mean);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.uniform() - 0.5;
      const v = this.uniform();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + mean + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (libm.log(v) + libm.log(invalpha) - libm.log(a / (us * us) + b) <= -mean + k * loglam - logFactorial(k)) return k;
    }
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** log(k!) exactly for small k, Stirling's series beyond. */
export function logFactorial(k: number): number {
  if (k < 2) return 0;
  if (k < 20) {
    let s = 0;
    for (let i = 2; i <= k; i++) s += libm.log(i);
    return s;
  }
  const x = k + 1;
  return (x - 0.5) * libm.log(x) - x + 0.5 * libm.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * libm.pow(x, 3)) + 1 / (1260 * libm.pow(x, 5));
}
