// CCD blooming: charge above the full well spills along its column until no pixel holds more than the
// full well. The physical picture is the iteration "every over-full pixel keeps the full well and
// passes half of its excess to the pixel above and half to the one below, repeatedly" (a 1-D divisible
// sandpile). Its limit is computed exactly instead of iterated: a run [a, b] of
// pixels that end at the full well passes each unit of excess charge at row j to row a - 1 with
// probability (b + 1 - j) / (b - a + 2) and to row b + 1 otherwise (gambler's ruin), so with
// e_j = value_j - fullWell the run delivers L = sum_j e_j (b + 1 - j) / (n + 1) to a - 1 and
// R = sum_j e_j (j - a + 1) / (n + 1) to b + 1 (n = b - a + 1). A run grows by one row whenever that
// row would exceed the full well after receiving L or R, and is then re-evaluated; runs found later
// in a column grow over earlier, already settled ones (the sandpile is abelian: settling in any order
// gives the same end state), so runs are settled one at a time in the order a row-major scan meets them. Charge that would go above row 0 or below the last row leaves the chip.
// Everything else is conserved (sums in f64, one f32 rounding per changed pixel). Columns without an
// over-full pixel are only read. Units: e-; fullWell is rounded to f32 first so that "<= fullWell"
// holds for the stored values. Mask: every pixel that ends at (or above, for +Infinity) the full well
// gets bit `satBit` (0..31) of its i32 mask word (LSST's SAT plane); mask 0 means no mask. Reference:
// Levine & Peres 2009 (divisible sandpile: uniqueness of the end state, abelian property).
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';

/** Sets `bit` in the mask word at `m` (0: no mask). */
@inline
function markSaturated(m: usize, bit: i32): void {
  if (m != 0) store<i32>(m, load<i32>(m) | bit);
}

/**
 * Settles the run that starts at over-full row `start` of a column: grows it until neither neighbour
 * would exceed the full well, then writes the full well over it and L, R into its neighbours.
 */
function settleRun(column: usize, stride: usize, height: i32, start: i32, well: f64, maskColumn: usize, bit: i32): void {
  // Sums over the run of e_j and of (j - start) e_j; indices relative to start keep the second one small.
  let a = start;
  let b = start;
  let sum = <f64>load<f32>(column + <usize>start * stride) - well;
  let moment: f64 = 0;
  let left: f64 = 0;
  let right: f64 = 0;
  while (true) {
    const n1 = <f64>(b - a + 2);
    left = (<f64>(b + 1 - start) * sum - moment) / n1;
    right = (moment - <f64>(a - 1 - start) * sum) / n1;
    if (a > 0 && <f64>load<f32>(column + <usize>(a - 1) * stride) + left > well) {
      a--;
      const e = <f64>load<f32>(column + <usize>a * stride) - well;
      sum += e;
      moment += <f64>(a - start) * e;
      continue;
    }
    if (b < height - 1 && <f64>load<f32>(column + <usize>(b + 1) * stride) + right > well) {
      b++;
      const e = <f64>load<f32>(column + <usize>b * stride) - well;
      sum += e;
      moment += <f64>(b - start) * e;
      continue;
    }
    break;
  }
  const wellValue = <f32>well;
  for (let j = a; j <= b; j++) {
    store<f32>(column + <usize>j * stride, wellValue);
    markSaturated(maskColumn != 0 ? maskColumn + <usize>j * stride : 0, bit);
  }
  if (a > 0) {
    const p = column + <usize>(a - 1) * stride;
    const v = <f32>(<f64>load<f32>(p) + left);
    store<f32>(p, v);
    if (v >= wellValue) markSaturated(maskColumn != 0 ? maskColumn + <usize>(a - 1) * stride : 0, bit);
  }
  if (b < height - 1) {
    const p = column + <usize>(b + 1) * stride;
    store<f32>(p, <f32>(<f64>load<f32>(p) + right));
  }
}

/**
 * Bleeds charge above `fullWell` (e-, >= 0) along the columns of `plane` (width x height f32, rows
 * `rowPixels` apart, so a column range of a wider plane — one amplifier — can be bled on its own) and
 * sets bit `satBit` of `mask` (i32 plane laid out the same, or 0 for none) where a pixel ends at the
 * full well. Returns OK, or BAD_ARGUMENT for bad sizes (rowPixels < width), a negative or non-finite
 * full well or a bit outside 0..31.
 */
export function bleedSaturation(plane: usize, mask: usize, width: i32, height: i32, rowPixels: i32, fullWell: f64, satBit: i32): i32 {
  if (width <= 0 || height <= 0 || rowPixels < width || !(fullWell >= 0 && fullWell < 3.4e38) || satBit < 0 || satBit > 31) return BAD_ARGUMENT;
  const bytes = (<usize>rowPixels * <usize>(height - 1) + <usize>width) << 2;
  assertInMemory(plane, bytes);
  if (mask != 0) assertInMemory(mask, bytes);
  const well = <f64><f32>fullWell;
  const wellValue = <f32>fullWell;
  const bit = 1 << satBit;
  const stride = <usize>rowPixels << 2;
  // Row-major scan. A run found at row y settles at once (rows above it are already settled, rows
  // below are met again by the scan), so each pixel is read once plus once per run that covers it.
  for (let y = 0; y < height; y++) {
    const row = plane + <usize>y * stride;
    let x = 0;
    while (x < width) {
      if (ASC_FEATURE_SIMD) {
        // Skip four pixels at a time while none is at or above the full well (NaN compares false).
        const limit = f32x4.splat(wellValue);
        while (x + 4 <= width && !v128.any_true(f32x4.ge(v128.load(row + (<usize>x << 2)), limit))) x += 4;
        if (x >= width) break;
      }
      const p = row + (<usize>x << 2);
      if (load<f32>(p) >= wellValue) {
        if (load<f32>(p) > wellValue) settleRun(plane + (<usize>x << 2), stride, height, y, well, mask != 0 ? mask + (<usize>x << 2) : 0, bit);
        markSaturated(mask != 0 ? mask + <usize>y * stride + (<usize>x << 2) : 0, bit);
      }
      x++;
    }
  }
  return OK;
}
