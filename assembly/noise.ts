// Noise for the simulator, drawn inside wasm so that a full detector costs one call.
// Generator: xoshiro128** (Blackman & Vigna 2018), seeded per call from two u32 words through
// splitmix64, so a call's output depends only on (seedLo, seedHi) and the plane. Uniform deviates have
// 32 random bits and lie in the open interval (0, 1). No SIMD: the SIMD and scalar builds are
// bit-identical by construction.
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';

let s0: u32 = 1;
let s1: u32 = 0;
let s2: u32 = 0;
let s3: u32 = 0;

@inline
function splitmix64(state: u64): u64 {
  let z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

function seedGenerator(seedLo: u32, seedHi: u32): void {
  const seed = (<u64>seedHi << 32) | <u64>seedLo;
  const a = splitmix64(seed + 0x9e3779b97f4a7c15);
  const b = splitmix64(seed + 0x3c6ef372fe94f82a);
  s0 = <u32>a;
  s1 = <u32>(a >> 32);
  s2 = <u32>b;
  s3 = <u32>(b >> 32);
  if ((s0 | s1 | s2 | s3) == 0) s0 = 1;
}

@inline
function nextUint32(): u32 {
  const result = rotl<u32>(s1 * 5, 7) * 9;
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl<u32>(s3, 11);
  return result;
}

/** Uniform on the open interval (0, 1), 32 random bits. */
@inline
function uniform(): f64 {
  return (<f64>nextUint32() + 0.5) * 2.3283064365386963e-10;
}

/** A standard normal deviate: Marsaglia's polar method, keeping one of the pair. */
function normal(): f64 {
  let u: f64, v: f64, s: f64;
  do {
    u = 2 * uniform() - 1;
    v = 2 * uniform() - 1;
    s = u * u + v * v;
  } while (s >= 1);
  return u * Math.sqrt(-2 * Math.log(s) / s);
}

// log(k!) for k = 0..9; Stirling's series for larger k (error < 1e-10 there).
const LOG_FACTORIAL: StaticArray<f64> = [
  0, 0, 0.6931471805599453, 1.791759469228055, 3.1780538303479458,
  4.787491742782046, 6.579251212010101, 8.525161361065415, 10.60460290274525, 12.801827480081469,
];

@inline
function logFactorial(k: f64): f64 {
  if (k < 10) return unchecked(LOG_FACTORIAL[<i32>k]);
  const x = k + 1;
  const x2 = x * x;
  return (x - 0.5) * Math.log(x) - x + 0.9189385332046728 + (0.08333333333333333 - (0.002777777777777778 - 0.0007936507936507937 / x2) / x2) / x;
}

/** Poisson deviate by inversion (sequential search from 0); 0 < mean < 10. */
@inline
function poissonInversion(mean: f64): f64 {
  let p = Math.exp(-mean);
  let cdf = p;
  const u = uniform();
  let k: f64 = 0;
  while (u > cdf && k < 1000) {
    k += 1;
    p *= mean / k;
    cdf += p;
  }
  return k;
}

/** Poisson deviate by PTRS, transformed rejection with squeeze (Hormann 1993, Table 1); mean >= 10. */
@inline
function poissonPtrs(mean: f64): f64 {
  const b = 0.931 + 2.53 * Math.sqrt(mean);
  const a = -0.059 + 0.02483 * b;
  const vr = 0.9277 - 3.6224 / (b - 2);
  let k: f64 = 0;
  while (true) {
    const u = uniform() - 0.5;
    const v = uniform();
    const us = 0.5 - Math.abs(u);
    k = Math.floor((2 * a / us + b) * u + mean + 0.43);
    if (us >= 0.07 && v <= vr) break;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
    if (Math.log(v * invAlpha / (a / (us * us) + b)) <= -mean + k * Math.log(mean) - logFactorial(k)) break;
  }
  return k;
}

// Above this mean (e-) a pixel gets a rounded normal deviate of the same mean and variance; PTRS in
// f64 keeps integer resolution well past it, and no detector pixel holds 1e12 e-.
const NORMAL_ABOVE: f64 = 1099511627776; // 2^40

/**
 * Replaces each of the `n` f32 means (e-) at `plane` by a Poisson deviate with that mean: inversion
 * below 10, PTRS (Hormann 1993) from 10 to 2^40, a rounded normal beyond; negative, zero and NaN means
 * give 0, +Infinity stays. Deterministic for a given (seedLo, seedHi). Returns OK or BAD_ARGUMENT.
 */
export function poissonInPlace(plane: usize, n: i32, seedLo: u32, seedHi: u32): i32 {
  if (n < 0) return BAD_ARGUMENT;
  assertInMemory(plane, <usize>n << 2);
  seedGenerator(seedLo, seedHi);
  for (let i = 0; i < n; i++) {
    const p = plane + (<usize>i << 2);
    const mean = <f64>load<f32>(p);
    let k: f64;
    if (!(mean > 0)) k = 0;
    else if (mean < 10) k = poissonInversion(mean);
    else if (mean <= NORMAL_ABOVE) k = poissonPtrs(mean);
    else if (mean < Infinity) k = Math.floor(mean + Math.sqrt(mean) * normal() + 0.5);
    else k = mean;
    store<f32>(p, <f32>k);
  }
  return OK;
}

/**
 * Adds independent normal deviates of standard deviation `sigma` (e-, >= 0; read noise) to the `n`
 * f32 pixels at `plane`: Marsaglia's polar method, both deviates of each pair used, in pixel order.
 * Deterministic for a given (seedLo, seedHi). Returns OK, or BAD_ARGUMENT for n < 0 or a bad sigma.
 */
export function addGaussian(plane: usize, n: i32, sigma: f64, seedLo: u32, seedHi: u32): i32 {
  if (n < 0 || !(sigma >= 0 && sigma < Infinity)) return BAD_ARGUMENT;
  assertInMemory(plane, <usize>n << 2);
  seedGenerator(seedLo, seedHi);
  for (let i = 0; i < n; i += 2) {
    let u: f64, v: f64, s: f64;
    do {
      u = 2 * uniform() - 1;
      v = 2 * uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1);
    const f = sigma * Math.sqrt(-2 * Math.log(s) / s);
    const p = plane + (<usize>i << 2);
    store<f32>(p, load<f32>(p) + <f32>(u * f));
    if (i + 1 < n) store<f32>(p, load<f32>(p, 4) + <f32>(v * f), 4);
  }
  return OK;
}
