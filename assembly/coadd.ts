// The weighted mean of a patch's direct warps, per pixel (LSST AssembleCoaddTask's MEAN statistic with
// CompareWarp's exclusions; lib/coadd/stackWarps.ts documents the rules and owns the weights): for each
// pixel, the visits whose warp has data there (no NO_DATA bit, a finite value, a non-zero weight) and
// that are not CLIPPED there (clipped byte 1) nor left out (clipped byte 2: not compared, for want of
// PSF-matched data; INEXACT_PSF, since CoaddPsf counts that visit there, and rejected for SAT as a pixel
// without data when it carries SAT) nor BAD or SAT (a pixel without
// data that carries SAT, a saturated core the calexp had no value for, counts as rejected for SAT); image sum(w x) / sum(w), variance
// sum(w^2 V) / (sum w)^2 (f64 sums in visit order, rounded to f32), nImage the visits used (at most
// 65535, as afw's ImageU holds it), and the mask bits of stackWarps. Units are the warps' (nJy).
// Layout: `warps` holds nWarps rows of four u32 pointers (image f32, variance f32, mask i32, clipped u8),
// each to `n` pixels; `weights` nWarps f64; `bits` nine i32 mask values: NO_DATA, BAD, SAT, EDGE, CLIPPED,
// REJECTED, SENSOR_EDGE, INEXACT_PSF, and the planes not carried from the inputs.
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';

// A visit's coadd weight is 1 / its mean variance over its good pixels (lib/coadd/stackWarps.ts): adds to
// acc[0] the f64 sum (in pixel order) and to acc[1] the count of the pixels of columns first .. last of a
// band of `height` rows `width` wide of `variance` that are finite and positive and whose `mask` has none
// of `badBits` (the columns outside hold no good pixel). Called chunk after chunk, it continues the
// running sum.
export function accumulateGoodVariance(variance: usize, mask: usize, width: i32, height: i32, first: i32, last: i32, badBits: i32, acc: usize): i32 {
  if (width < 0 || height < 0 || first < 0 || last >= width) return BAD_ARGUMENT;
  const n = <usize>(width * height) << 2;
  assertInMemory(variance, n);
  assertInMemory(mask, n);
  assertInMemory(acc, 16);
  let sum = load<f64>(acc), count = load<f64>(acc, 8);
  for (let y = 0; y < height; y++) {
    for (let x = first; x <= last; x++) {
      const o = <usize>(y * width + x) << 2;
      const v = load<f32>(variance + o);
      if ((load<i32>(mask + o) & badBits) == 0 && isFinite(v) && v > 0) { sum += <f64>v; count += 1; }
    }
  }
  store<f64>(acc, sum);
  store<f64>(acc + 8, count);
  return OK;
}

// The columns a stack can use in a band of `height` rows `width` wide of a warp's mask: those of the
// pixels with none of `emptyBits` (data) or any of `keepBits` (a saturated core without a value, which
// the stack still flags). Widens out[0] (first column, i32) and out[1] (last) to hold them (start them at
// width and -1): each row is read from each end only up to the columns already held.
export function stackableColumns(mask: usize, width: i32, height: i32, emptyBits: i32, keepBits: i32, out: usize): i32 {
  if (width < 0 || height < 0) return BAD_ARGUMENT;
  assertInMemory(mask, <usize>(width * height) << 2);
  assertInMemory(out, 8);
  let first = load<i32>(out), last = load<i32>(out, 4);
  for (let y = 0; y < height; y++) {
    const row = mask + (<usize>(y * width) << 2);
    for (let x = 0; x < min(first, width); x++) {
      const m = load<i32>(row + (<usize>x << 2));
      if ((m & emptyBits) == 0 || (m & keepBits) != 0) { first = x; break; }
    }
    for (let x = width - 1; x > max(last, -1); x--) {
      const m = load<i32>(row + (<usize>x << 2));
      if ((m & emptyBits) == 0 || (m & keepBits) != 0) { last = x; break; }
    }
  }
  store<i32>(out, first);
  store<i32>(out, last, 4);
  return OK;
}

export function stackWarpPixels(warps: usize, weights: usize, nWarps: i32, n: i32, bits: usize,
  outImage: usize, outVariance: usize, outMask: usize, outNImage: usize): i32 {
  if (nWarps < 0 || n < 0) return BAD_ARGUMENT;
  const bytes = <usize>n << 2;
  assertInMemory(warps, <usize>nWarps << 4);
  assertInMemory(weights, <usize>nWarps << 3);
  assertInMemory(bits, 36);
  for (let v = 0; v < nWarps; v++) {
    const row = warps + (<usize>v << 4);
    assertInMemory(<usize>load<u32>(row), bytes);
    assertInMemory(<usize>load<u32>(row, 4), bytes);
    assertInMemory(<usize>load<u32>(row, 8), bytes);
    assertInMemory(<usize>load<u32>(row, 12), <usize>n);
  }
  assertInMemory(outImage, bytes); assertInMemory(outVariance, bytes); assertInMemory(outMask, bytes); assertInMemory(outNImage, bytes);
  const NO_DATA = load<i32>(bits), BAD = load<i32>(bits, 4), SAT = load<i32>(bits, 8), EDGE = load<i32>(bits, 12), CLIPPED = load<i32>(bits, 16);
  const REJECTED = load<i32>(bits, 20), SENSOR_EDGE = load<i32>(bits, 24), INEXACT_PSF = load<i32>(bits, 28), notCarried = load<i32>(bits, 32);
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    let sw = 0.0, swx = 0.0, sw2v = 0.0, satWeight = 0.0, rejectedWeight = 0.0;
    let m = 0, used = 0;
    for (let v = 0; v < nWarps; v++) {
      const row = warps + (<usize>v << 4);
      const mask = load<i32>(<usize>load<u32>(row, 8) + o), x = load<f32>(<usize>load<u32>(row) + o);
      const wt = load<f64>(weights + (<usize>v << 3));
      if (wt == 0) continue;
      if ((mask & NO_DATA) != 0 || !isFinite(x)) {
        // No value, but a saturated core is known (the warp keeps SAT on it): rejected for SAT, as afw's stack
        // rejects a SAT pixel, so the coadd says SAT there.
        if ((mask & SAT) != 0) { m |= REJECTED; satWeight += wt; rejectedWeight += wt; }
        continue;
      }
      const out = load<u8>(<usize>load<u32>(row, 12) + <usize>i);
      if (out == 1) { m |= CLIPPED; continue; }
      if (out == 2) {
        // Left out as if without data (LSST masks it NO_DATA): a saturated pixel still counts as rejected for SAT.
        if ((mask & SAT) != 0) { m |= REJECTED; satWeight += wt; rejectedWeight += wt; }
        m |= INEXACT_PSF;
        continue;
      }
      if ((mask & (BAD | SAT)) != 0) {
        m |= REJECTED;
        if ((mask & SAT) != 0) satWeight += wt;
        rejectedWeight += wt;
        continue;
      }
      sw += wt; swx += wt * <f64>x; sw2v += wt * wt * <f64>load<f32>(<usize>load<u32>(row, 4) + o);
      m |= mask & ~notCarried;
      if ((mask & EDGE) != 0) m |= SENSOR_EDGE;
      used++;
    }
    if (used == 0) {
      store<f32>(outImage + o, NaN);
      store<f32>(outVariance + o, NaN);
      m |= NO_DATA;
    } else {
      store<f32>(outImage + o, <f32>(swx / sw));
      store<f32>(outVariance + o, <f32>(sw2v / (sw * sw)));
    }
    if (satWeight > 0.1 * (sw + rejectedWeight)) m |= SAT;
    if ((m & (SENSOR_EDGE | CLIPPED | REJECTED)) != 0) m |= INEXACT_PSF;
    store<i32>(outMask + o, m);
    store<i32>(outNImage + o, min(used, 65535));
  }
  return OK;
}

// Votes of image blocks in a Hough (Radon) accumulator (lib/coadd/streaks.ts): block b (column b % bw,
// row b / bw; centre at +0.5) adds sign * means[b] (f64) to accSum and sign to accCount (i32) in the
// cell (t, rho) for each of the nTheta angles, rho = round(bx cos_t + by sin_t) (halves up, as JS's
// Math.round) + rhoMax, cells t * nRho + rho. `blocks` lists nBlocks block indices (i32) into the nMeans
// means.
export function houghVote(blocks: usize, nBlocks: i32, means: usize, nMeans: i32, bw: i32, cosines: usize, sines: usize, nTheta: i32,
  nRho: i32, rhoMax: i32, sign: i32, accSum: usize, accCount: usize): i32 {
  if (nBlocks < 0 || bw <= 0 || nTheta <= 0 || nRho <= 0 || (sign != 1 && sign != -1)) return BAD_ARGUMENT;
  assertInMemory(blocks, <usize>nBlocks << 2);
  assertInMemory(means, <usize>nMeans << 3);
  assertInMemory(cosines, <usize>nTheta << 3);
  assertInMemory(sines, <usize>nTheta << 3);
  assertInMemory(accSum, <usize>(nTheta * nRho) << 3);
  assertInMemory(accCount, <usize>(nTheta * nRho) << 2);
  for (let i = 0; i < nBlocks; i++) {
    const b = load<i32>(blocks + (<usize>i << 2));
    if (b < 0 || b >= nMeans) return BAD_ARGUMENT;
  }
  // Angle by angle (each cell still gets its votes in block order): one accumulator row stays in cache.
  for (let t = 0; t < nTheta; t++) {
    const c = load<f64>(cosines + (<usize>t << 3)), sn = load<f64>(sines + (<usize>t << 3));
    const rowSum = accSum + (<usize>(t * nRho + rhoMax) << 3), rowCount = accCount + (<usize>(t * nRho + rhoMax) << 2);
    for (let i = 0; i < nBlocks; i++) {
      const b = load<i32>(blocks + (<usize>i << 2));
      const x = (<f64>(b % bw) + 0.5) * c + (<f64>(b / bw) + 0.5) * sn;
      let r = Math.floor(x);
      if (x - r >= 0.5) r += 1;
      const k = <isize>(<i32>r);
      store<f64>(rowSum + (k << 3), load<f64>(rowSum + (k << 3)) + <f64>sign * load<f64>(means + (<usize>b << 3)));
      store<i32>(rowCount + (k << 2), load<i32>(rowCount + (k << 2)) + sign);
    }
  }
  return OK;
}
