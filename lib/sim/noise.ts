/**
 * Fast noise for whole images, drawn from a lib/sim `Random` stream so that results are deterministic.
 * - `fillNormal`: standard normal deviates by the ziggurat method (see below), uniforms from single
 *   32-bit draws (resolution 2^-32, ample for detector noise).
 * - `fillUniform`: uniform deviates on [0, 1), the same way.
 * - `poissonImage`: Poisson deviates per pixel of an expected-count image (e-): exact below a mean of
 *   1000 (inversion below 10, `Random.poisson`'s PTRS from 10 to 1000), and above it the normal
 *   approximation round(mean + sqrt(mean) z), whose skewness error (1/sqrt(mean) < 3.2 %) and variance
 *   error (1/12 e-^2 from rounding) are far below what any test of a single image can see.
 */
import type { Random } from './random.js';
import { libm } from '../math/libm.js';

const TWO_POW_M32 = 2 ** -32;

/** Ziggurat tables for 128 layers (Marsaglia & Tsang 2000, the ZIGNOR layout of Doornik 2005). */
const ZIG_R = 3.442619855899;
const ZIG_V = 9.91256303526217e-3;
const ZIG_X = new Float64Array(129);
const ZIG_F = new Float64Array(129);
(() => {
  // ZIG_X[i] is the right edge of layer i (ZIG_X[0] = V / f(R), the base strip's equal-area width; ZIG_X[128] = 0).
  const f = (x: number): number => libm.exp(-0.5 * x * x);
  ZIG_X[0] = ZIG_V / f(ZIG_R);
  ZIG_X[1] = ZIG_R;
  for (let i = 2; i < 128; i++) ZIG_X[i] = Math.sqrt(-2 * libm.log(ZIG_V / ZIG_X[i - 1]! + f(ZIG_X[i - 1]!)));
  ZIG_X[128] = 0;
  for (let i = 0; i <= 128; i++) ZIG_F[i] = f(ZIG_X[i]!);
})();

/**
 * Fills `out` with independent N(0, 1) deviates. The bits come from xoshiro128** (the generator of
 * lib/sim/random.ts) run on local integer variables, its state seeded by four draws from `random`, so
 * the result is a fixed function of the caller's named stream; the deviates come from the ziggurat
 * (Marsaglia & Tsang 2000) with the layer index and the abscissa taken from separate 32-bit outputs, as
 * Doornik (2005) recommends, and exact tails beyond R = 3.44 (Marsaglia 1964). About 4 ns per deviate.
 */
export function fillNormal(random: Random, out: Float64Array | Float32Array): void {
  let s0 = random.nextUint32() | 0, s1 = random.nextUint32() | 0, s2 = random.nextUint32() | 0, s3 = random.nextUint32() | 0;
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  const n = out.length;
  const X = ZIG_X, F = ZIG_F;
  let bits = 0, nbits = 0;
  // Uniforms for the rare slow paths (wedges and tail), drawn from the same state.
  let u1 = 0, u2 = 0;
  for (let i = 0; i < n;) {
    // xoshiro128** step: a is the next 32-bit output (signed).
    let a = Math.imul(s1, 5);
    a = Math.imul((a << 7) | (a >>> 25), 9);
    let t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
    if (nbits < 8) {
      // This output refills the pool of layer-index and sign bits (four draws of 8 bits).
      bits = a;
      nbits = 32;
      continue;
    }
    const layer = bits & 127;
    // +1 or -1 from bit 7, without a branch (the sign is unpredictable).
    const sign = 1 - ((bits >>> 6) & 2);
    bits >>>= 8;
    nbits -= 8;
    const x = (a >>> 0) * TWO_POW_M32 * X[layer]!;
    if (x < X[layer + 1]!) { out[i++] = sign * x; continue; }
    // Slow paths: two more outputs as uniforms on [0, 1).
    let b = Math.imul(s1, 5);
    b = Math.imul((b << 7) | (b >>> 25), 9);
    t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
    let c = Math.imul(s1, 5);
    c = Math.imul((c << 7) | (c >>> 25), 9);
    t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
    u1 = (b >>> 0) * TWO_POW_M32;
    u2 = (c >>> 0) * TWO_POW_M32;
    if (layer === 0) {
      // The tail beyond R (Marsaglia 1964): x = -ln(u1) / R, accepted when -2 ln(u2) > x^2, else
      // drawn again (the tail must be left only with a tail deviate).
      for (;;) {
        const tx = -libm.log(1 - u1) / ZIG_R;
        if (-2 * libm.log(1 - u2) > tx * tx) { out[i++] = sign * (ZIG_R + tx); break; }
        b = Math.imul(s1, 5);
        b = Math.imul((b << 7) | (b >>> 25), 9);
        t = s1 << 9;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
        c = Math.imul(s1, 5);
        c = Math.imul((c << 7) | (c >>> 25), 9);
        t = s1 << 9;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
        u1 = (b >>> 0) * TWO_POW_M32;
        u2 = (c >>> 0) * TWO_POW_M32;
      }
      continue;
    }
    // A wedge: accept under the curve, else start afresh (the standard ziggurat rejection).
    if (F[layer]! + u1 * (F[layer + 1]! - F[layer]!) < libm.exp(-0.5 * x * x)) out[i++] = sign * x;
  }
}

/** Fills `out` with uniform deviates on [0, 1) (32-bit resolution), from xoshiro128** seeded by `random` as in fillNormal. */
export function fillUniform(random: Random, out: Float64Array): void {
  let s0 = random.nextUint32() | 0, s1 = random.nextUint32() | 0, s2 = random.nextUint32() | 0, s3 = random.nextUint32() | 0;
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  for (let i = 0; i < out.length; i++) {
    let a = Math.imul(s1, 5);
    a = Math.imul((a << 7) | (a >>> 25), 9);
    const t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
    out[i] = (a >>> 0) * TWO_POW_M32;
  }
}

/** Mean below which `poissonImage` inverts the CDF itself, and above which it uses the normal approximation. */
export const POISSON_INVERSION_LIMIT = 10;
export const POISSON_NORMAL_THRESHOLD = 1000;

/**
 * A Poisson realisation (e-) of an image of expected counts; negative or NaN expectations are errors.
 * Means below 10: inversion by sequential search on uniforms from fillUniform (exact); 10 to 1000:
 * `random.poisson` (PTRS, exact); above 1000: round(mean + sqrt(mean) z).
 */
export function poissonImage(expected: Float32Array, random: Random): Float32Array {
  const out = new Float32Array(expected.length);
  const z = new Float64Array(4096);
  const u = new Float64Array(4096);
  let nextZ = z.length, nextU = u.length;
  for (let i = 0; i < expected.length; i++) {
    const mean = expected[i]!;
    if (!(mean >= 0)) throw new RangeError(`poissonImage: pixel ${i} has expected count ${mean}; it must be >= 0`);
    if (mean < POISSON_INVERSION_LIMIT) {
      if (nextU === u.length) { fillUniform(random, u); nextU = 0; }
      const x = u[nextU++]!;
      let k = 0;
      let p = libm.exp(-mean);
      let cdf = p;
      while (x > cdf && k < 200) {
        k++;
        p *= mean / k;
        cdf += p;
      }
      out[i] = k;
    } else if (mean <= POISSON_NORMAL_THRESHOLD) out[i] = random.poisson(mean);
    else {
      if (nextZ === z.length) { fillNormal(random, z); nextZ = 0; }
      out[i] = Math.max(0, Math.round(mean + Math.sqrt(mean) * z[nextZ++]!));
    }
  }
  return out;
}
