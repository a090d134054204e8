// A straight trail (satellite, aircraft, or with a small sigma a cosmic-ray track): the segment from
// (x0, y0) to (x1, y1), carrying `fluxPerPixelLength` e- per pixel of length, convolved with an
// isotropic 2-D Gaussian of `sigma` px and sampled at pixel centres. With s the distance along the
// segment from (x0, y0) and d the perpendicular distance, a pixel receives
//   F / (sqrt(2 pi) sigma) exp(-d^2 / (2 sigma^2)) [Phi((L - s) / sigma) - Phi(-s / sigma)],
// the exact convolution, so the total is F * L and the ends fade over ~sigma. As for sources,
// sigma includes the pixel response (add 1/12 px^2 to the variance for a pixel-integrated track);
// sampling at pixel centres sums to the integral to ~2 exp(-2 pi^2 sigma^2) (5e-9 at sigma 1 px).
// Pixels farther than 6 sigma from the segment (2e-9 of the cross profile) are skipped; the rest of
// each row is found from the geometry, so a long diagonal trail costs its own area, not its box.
// Units: pixels, e-. Phi from erfc by the Chebyshev fit of Numerical Recipes (erfcc, fractional error
// < 1.2e-7). Mask: where the added signal exceeds `maskThreshold` (e-), bit `bit` (0..31) is set in
// the i32 mask plane; mask 0 means no mask. The mask is what LSST's maskStreaks writes as STREAK; the
// profile is the analytic segment-times-Gaussian convolution.
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';

const REACH: f64 = 6; // in sigma
const INV_SQRT_2PI: f64 = 0.3989422804014327;
const INV_SQRT2: f64 = 0.7071067811865476;

/** erfc(z) for z >= 0, fractional error < 1.2e-7 (Numerical Recipes, erfcc). */
@inline
function erfcPositive(z: f64): f64 {
  const t = 1 / (1 + 0.5 * z);
  const poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * Math.exp(-z * z + poly);
}

/** P(Z > z) for a standard normal Z. */
@inline
function upperTail(z: f64): f64 {
  const e = z >= 0 ? erfcPositive(z * INV_SQRT2) : 2 - erfcPositive(-z * INV_SQRT2);
  return 0.5 * e;
}

/** The fraction of a unit segment [0, length] convolved with N(0, sigma) that falls at s. */
@inline
function alongTrack(s: f64, length: f64, sigma: f64): f64 {
  // Both forms are P(-s < sigma Z < length - s); each is the one without cancellation on its side.
  return s <= 0.5 * length
    ? upperTail(-s / sigma) - upperTail((length - s) / sigma)
    : upperTail((s - length) / sigma) - upperTail(s / sigma);
}

/**
 * Adds the trail to `plane` (width x height f32) and marks `mask` (i32, same size, or 0) where it adds
 * more than `maskThreshold`. A zero-length segment adds nothing. Returns OK, or BAD_ARGUMENT for bad
 * sizes, non-finite coordinates or flux, sigma <= 0, a NaN threshold or a bit outside 0..31.
 */
export function addLine(plane: usize, width: i32, height: i32, x0: f64, y0: f64, x1: f64, y1: f64, sigma: f64,
  fluxPerPixelLength: f64, mask: usize, bit: i32, maskThreshold: f64): i32 {
  if (width <= 0 || height <= 0 || !isFinite(x0) || !isFinite(y0) || !isFinite(x1) || !isFinite(y1)) return BAD_ARGUMENT;
  if (!(sigma > 0 && sigma < 1e6) || !isFinite(fluxPerPixelLength) || isNaN(maskThreshold) || bit < 0 || bit > 31) return BAD_ARGUMENT;
  const bytes = <usize>width * <usize>height << 2;
  assertInMemory(plane, bytes);
  if (mask != 0) assertInMemory(mask, bytes);
  const length = Math.hypot(x1 - x0, y1 - y0);
  if (length == 0 || fluxPerPixelLength == 0) return OK;
  const ux = (x1 - x0) / length;
  const uy = (y1 - y0) / length;
  const nx = -uy;
  const ny = ux;
  const reach = REACH * sigma;
  const peak = fluxPerPixelLength * INV_SQRT_2PI / sigma;
  const inv2var = 0.5 / (sigma * sigma);
  const maskBit = 1 << bit;
  const lastColumn = <f64>(width - 1);
  const yFirst = <i32>max<f64>(0, Math.ceil(min<f64>(y0, y1) - reach));
  const yLast = <i32>min<f64>(<f64>(height - 1), Math.floor(max<f64>(y0, y1) + reach));
  for (let y = yFirst; y <= yLast; y++) {
    const ry = <f64>y - y0;
    // s(x) = ux (x - x0) + uy ry and d(x) = nx (x - x0) + ny ry are linear along the row.
    const sAt0 = -ux * x0 + uy * ry;
    const dAt0 = -nx * x0 + ny * ry;
    let lo: f64 = 0;
    let hi = lastColumn;
    if (ux != 0) {
      const a = (-reach - sAt0) / ux;
      const b = (length + reach - sAt0) / ux;
      lo = max<f64>(lo, min<f64>(a, b));
      hi = min<f64>(hi, max<f64>(a, b));
    } else if (sAt0 < -reach || sAt0 > length + reach) continue;
    if (nx != 0) {
      const a = (-reach - dAt0) / nx;
      const b = (reach - dAt0) / nx;
      lo = max<f64>(lo, min<f64>(a, b));
      hi = min<f64>(hi, max<f64>(a, b));
    } else if (Math.abs(dAt0) > reach) continue;
    lo = Math.ceil(lo);
    hi = Math.floor(hi);
    if (lo > hi) continue;
    const row = plane + <usize>y * (<usize>width << 2);
    const maskRow = mask != 0 ? mask + <usize>y * (<usize>width << 2) : 0;
    for (let x = <i32>lo; x <= <i32>hi; x++) {
      const fx = <f64>x;
      const s = ux * fx + sAt0;
      const d = nx * fx + dAt0;
      const value = peak * Math.exp(-d * d * inv2var) * alongTrack(s, length, sigma);
      const p = row + (<usize>x << 2);
      store<f32>(p, <f32>(<f64>load<f32>(p) + value));
      if (maskRow != 0 && value > maskThreshold) {
        const m = maskRow + (<usize>x << 2);
        store<i32>(m, load<i32>(m) | maskBit);
      }
    }
  }
  return OK;
}
