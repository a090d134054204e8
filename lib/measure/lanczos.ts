/**
 * The Lanczos interpolation kernel, L_a(x) = sinc(x) sinc(x / a) for |x| < a and 0 beyond, sinc(x) =
 * sin(pi x) / (pi x), and the tap weights to interpolate a sampled function at a non-integer position.
 * It is the interpolant PSFEx uses to resample star stamps and to shift its PSF model (vignet.c,
 * INTERP_LANCZOS3) and GalSim's DES_PSFEx uses to draw a PSFEx model (Lanczos(3)); order 3 is the
 * default here too. No DC correction is applied (GalSim's conserve_dc is off here): the taps at a
 * fractional offset sum to 1 only to about 1e-3; PSF stamps are renormalised to unit sum afterwards, which
 * removes the ripple exactly for a shift at unit sampling (the sum of every output pixel is the input's
 * sum times the same factor). Units: sample steps.
 */
import { libm } from '../math/libm.js';

/** L_a(x): sinc(x) sinc(x / a) inside |x| < a, else 0. */
export function lanczos(x: number, a: number): number {
  const ax = Math.abs(x);
  if (ax >= a) return 0;
  if (ax < 1e-12) return 1;
  const px = Math.PI * x;
  return (a * libm.sin(px) * libm.sin(px / a)) / (px * px);
}

/**
 * Tap weights to interpolate at `u` (in sample units) from integer samples: `out[k]` is the weight of
 * sample `first + k`, k = 0 .. 2a - 1, with first = floor(u) - a + 1. Returns `first`. At an integer u
 * the weights are exactly (0, .., 1, .., 0).
 */
export function lanczosTaps(u: number, a: number, out: Float64Array): number {
  const base = Math.floor(u);
  const first = base - a + 1;
  const frac = u - base;
  if (frac === 0) {
    for (let k = 0; k < 2 * a; k++) out[k] = first + k === base ? 1 : 0;
    return first;
  }
  for (let k = 0; k < 2 * a; k++) out[k] = lanczos(u - (first + k), a);
  return first;
}

/**
 * The taps of `count` output pixels along one axis of a resampled sample grid: pixel i lies (offset + i)
 * image pixels from the grid's centre sample `centre`, so at centre + (offset + i) / sampling sample steps;
 * first[at + i] gets its first tap's sample and weights[(at + i) 2a ...] its 2a weights (lanczosTaps).
 */
export function lanczosAxisTaps(centre: number, offset: number, sampling: number, a: number, count: number, first: Int32Array, weights: Float64Array, at = 0): void {
  const scratch = new Float64Array(2 * a);
  for (let i = 0; i < count; i++) {
    first[at + i] = lanczosTaps(centre + (offset + i) / sampling, a, scratch);
    weights.set(scratch, (at + i) * 2 * a);
  }
}
