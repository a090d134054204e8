// Cosmic-ray kernels: the per-pixel steps of LSST's findCosmicRays (meas_algorithms src/CR.cc, the
// SDSS photo algorithm of Kazu Shimasaku and Robert Lupton) that RepairTask runs with
// FindCosmicRaysConfig; lib/measure/cosmicRays.ts runs them in order and keeps the per-CR bookkeeping.
//
// The pixel test (CR.cc is_cr_pixel), for a pixel of value v (background not subtracted) and variance
// V, whose 8 neighbours give the means of opposite pairs m_ns, m_we, m_swne, m_nwse, bkgd being the
// background level and the thresholds thresV, thresH, thresD = cond3_fac2 x (PSF's mean value one pixel
// away vertically / horizontally / diagonally) / (its central value), computed by the host:
//   0. v >= 0;
//   2. v >= m + minSigma x sqrt(V) for at least one of the four pairs (sharp against its neighbours);
//   3. for the first pair, in the order ns, we, swne, nwse, with
//      thres x ((v - bkgd) - cond3_fac x sqrt(V)) > (m - bkgd) + cond3_fac x sqrt(V_a + V_b) / 2
//      (V_a, V_b the pair's variances): the pixel is sharper than the PSF allows even after allowing
//      cond3_fac sigma of noise. That pair's mean m is the pixel's estimate.
//   (condition 1, the minimum counts of a whole CR (min_DN), is the host's: it needs the CR's pixels.)
//
// findCosmicRayCandidates: every pixel at least 1 px inside the image that passes the test, carries none
//   of `badBits` in its mask (condition 4: BAD, INTRP, SAT, NO_DATA) and has no 8-neighbour with any of
//   `neighbourBits` (INTRP: CR.cc skips pixels next to interpolated ones), in raster order. A detected
//   pixel's value is replaced at once by its estimate ("which increases the detection rate", CR.cc), so
//   later pixels are tested against it. flags (u8) = 1 there and 0 elsewhere; the pixel indices go to
//   `indices` in raster order. When more than `capacity` pixels pass (CR.cc's nCrPixelMax), the scan
//   stops and out[0] = capacity + 1; otherwise out[0] = the count.
// growCosmicRays: one growth pass (CR.cc's niteration loop): the unflagged 8-neighbours (1 px inside the
//   image, none of badBits) of indices[0 .. count) are tested with the host's thresholds (CR.cc passes
//   minSigma / 2 and cond3_fac 0); each pixel that passes is flagged, replaced by its estimate and
//   appended to indices[count ..] (up to capacity). Only the listed pixels' neighbours are visited, so a
//   pixel found in this pass is grown from in the next. out[0] = the pixels added (capacity - count + 1
//   when they do not fit, and the pass stops).
// interpolateCosmicRays: replaces each listed pixel whose flag is 1 from the nearest usable pixels
//   (none of avoidBits in the mask, no flagged pixel within `guard` px (Chebyshev distance, 0..2; 0: not
//   flagged itself), inside the image, at most maxDistance steps away) along the row, the column and the
//   two diagonals: linear interpolation between the two usable pixels of the direction with the shortest
//   gap (a diagonal step counts sqrt 2; equal gaps are averaged, in the order row, column, SW-NE,
//   NW-SE). A pixel with no direction usable on both sides takes the nearest usable pixel on one side;
//   with none at all, `fallback`. The variance is interpolated the same way (the
//   local noise level; without a usable pixel it is left). The bit intrpBit (-1: none) is ORed into the
//   mask of each replaced pixel. LSST's RemoveCR predicts each pixel from the +-1 and +-2 pixels along
//   the four directions (afw's linear predictive coefficients) and takes the smallest; across a CR track
//   the +-1 pixels are themselves CR, so we use the nearest good pixels instead.
// Units: the image's (e- after ISR); variances in its square. Every kernel returns OK or BAD_ARGUMENT and
// never allocates. The test runs in f32, in the same order in every build; the SIMD path of
// findCosmicRayCandidates only skips blocks of 4 pixels in which condition 0 and 2 fail for every lane
// (computed with the same f32 operations), and re-tests every later lane of a block once a pixel of it
// has been replaced, so all builds are bit-identical.
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';

/** The estimate of the last pixel that passed crPixelTest (the mean of the pair that met condition 3). */
let crEstimate: f32 = 0;

/**
 * The CR.cc pixel test at byte offset p of the image and variance (stride bytes per row): conditions 0,
 * 2 and 3. On success crEstimate holds the pixel's estimate (image units, background included).
 */
@inline
function crPixelTest(image: usize, variance: usize, p: usize, stride: usize, bkgd: f32, minSigma: f32, cond3Fac: f32,
  thresH: f32, thresV: f32, thresD: f32): bool {
  const v = load<f32>(image + p);
  if (!(v >= 0)) return false;
  const up = p + stride, down = p - stride;
  const meanWE = (load<f32>(image + p - 4) + load<f32>(image + p + 4)) * <f32>0.5;
  const meanNS = (load<f32>(image + up) + load<f32>(image + down)) * <f32>0.5;
  const meanSWNE = (load<f32>(image + down - 4) + load<f32>(image + up + 4)) * <f32>0.5;
  const meanNWSE = (load<f32>(image + up - 4) + load<f32>(image + down + 4)) * <f32>0.5;
  const sigma = Mathf.sqrt(load<f32>(variance + p));
  const limit = minSigma * sigma;
  if (v < meanNS + limit && v < meanWE + limit && v < meanSWNE + limit && v < meanNWSE + limit) return false;
  const peak = cond3Fac == 0 ? v - bkgd : (v - bkgd) - cond3Fac * sigma;
  const sNS = Mathf.sqrt(load<f32>(variance + up) + load<f32>(variance + down)) * <f32>0.5;
  if (thresV * peak > (meanNS - bkgd) + cond3Fac * sNS) {
    crEstimate = meanNS;
    return true;
  }
  const sWE = Mathf.sqrt(load<f32>(variance + p - 4) + load<f32>(variance + p + 4)) * <f32>0.5;
  if (thresH * peak > (meanWE - bkgd) + cond3Fac * sWE) {
    crEstimate = meanWE;
    return true;
  }
  const sSWNE = Mathf.sqrt(load<f32>(variance + down - 4) + load<f32>(variance + up + 4)) * <f32>0.5;
  if (thresD * peak > (meanSWNE - bkgd) + cond3Fac * sSWNE) {
    crEstimate = meanSWNE;
    return true;
  }
  const sNWSE = Mathf.sqrt(load<f32>(variance + up - 4) + load<f32>(variance + down + 4)) * <f32>0.5;
  if (thresD * peak > (meanNWSE - bkgd) + cond3Fac * sNWSE) {
    crEstimate = meanNWSE;
    return true;
  }
  return false;
}

/** OR of the mask words of the 8 neighbours of byte offset p. */
@inline
function neighbourMask(mask: usize, p: usize, stride: usize): i32 {
  const up = mask + p + stride, down = mask + p - stride;
  return load<i32>(up - 4) | load<i32>(up) | load<i32>(up + 4) | load<i32>(mask + p - 4) | load<i32>(mask + p + 4)
    | load<i32>(down - 4) | load<i32>(down) | load<i32>(down + 4);
}

@inline
function validThresholds(minSigma: f64, cond3Fac: f64, thresH: f64, thresV: f64, thresD: f64, background: f64): bool {
  return minSigma > 0 && cond3Fac >= 0 && thresH >= 0 && thresV >= 0 && thresD >= 0 && isFinite(background)
    && isFinite(minSigma) && isFinite(cond3Fac) && isFinite(thresH) && isFinite(thresV) && isFinite(thresD);
}

/**
 * First pass of CR.cc findCosmicRays over the image (f32, modified: detected pixels take their
 * estimates), variance (f32) and mask (i32), width x height: flags (u8, width x height) = 1 on the
 * pixels that pass the test (module comment) with no badBits and no neighbour with neighbourBits, their
 * indices (i32) in raster order to `indices` (capacity entries); out[0] (i32) = their count, or
 * capacity + 1 when there are more (the scan then stops). Defaults (the host's): minSigma 6, cond3Fac 2.5.
 */
export function findCosmicRayCandidates(image: usize, variance: usize, mask: usize, width: i32, height: i32, background: f64,
  minSigma: f64, cond3Fac: f64, thresH: f64, thresV: f64, thresD: f64, badBits: i32, neighbourBits: i32,
  flags: usize, indices: usize, capacity: i32, out: usize): i32 {
  if (width <= 0 || height <= 0 || capacity < 0 || !validThresholds(minSigma, cond3Fac, thresH, thresV, thresD, background)) return BAD_ARGUMENT;
  const n = <usize>width * <usize>height;
  assertInMemory(image, n << 2);
  assertInMemory(variance, n << 2);
  assertInMemory(mask, n << 2);
  assertInMemory(flags, n);
  assertInMemory(indices, <usize>capacity << 2);
  assertInMemory(out, 4);
  memory.fill(flags, 0, n);
  store<i32>(out, 0);
  if (width < 3 || height < 3) return OK;
  const bkgd = <f32>background, sig = <f32>minSigma, c3 = <f32>cond3Fac;
  const tH = <f32>thresH, tV = <f32>thresV, tD = <f32>thresD;
  const stride = <usize>width << 2;
  let count = 0;
  for (let y = 1; y < height - 1; y++) {
    const row = <usize>y * <usize>width;
    let x = 1;
    if (ASC_FEATURE_SIMD) {
      const half = f32x4.splat(0.5);
      const zero = f32x4.splat(0);
      const sigV = f32x4.splat(sig);
      // Lanes x .. x + 3 read x - 1 .. x + 4, which must stay inside the row.
      for (; x + 4 < width; x += 4) {
        const p = (row + <usize>x) << 2;
        const c = image + p;
        const up = c + stride, down = c - stride;
        const v = v128.load(c);
        const meanWE = f32x4.mul(f32x4.add(v128.load(c - 4), v128.load(c + 4)), half);
        const meanNS = f32x4.mul(f32x4.add(v128.load(up), v128.load(down)), half);
        const meanSWNE = f32x4.mul(f32x4.add(v128.load(down - 4), v128.load(up + 4)), half);
        const meanNWSE = f32x4.mul(f32x4.add(v128.load(up - 4), v128.load(down + 4)), half);
        const limit = f32x4.mul(sigV, f32x4.sqrt(v128.load(variance + p)));
        const below = v128.and(
          v128.and(f32x4.lt(v, f32x4.add(meanNS, limit)), f32x4.lt(v, f32x4.add(meanWE, limit))),
          v128.and(f32x4.lt(v, f32x4.add(meanSWNE, limit)), f32x4.lt(v, f32x4.add(meanNWSE, limit))));
        const candidates = i32x4.bitmask(v128.andnot(f32x4.ge(v, zero), below));
        if (candidates == 0) continue;
        // A replaced pixel changes its right-hand neighbour's means: test every later lane from then on.
        let dirty = false;
        for (let k = 0; k < 4; k++) {
          if (!dirty && ((candidates >> k) & 1) == 0) continue;
          const q = p + (<usize>k << 2);
          if (!crPixelTest(image, variance, q, stride, bkgd, sig, c3, tH, tV, tD)) continue;
          if ((load<i32>(mask + q) & badBits) != 0 || (neighbourMask(mask, q, stride) & neighbourBits) != 0) continue;
          if (count == capacity) {
            store<i32>(out, capacity + 1);
            return OK;
          }
          store<f32>(image + q, crEstimate);
          store<u8>(flags + (q >> 2), 1);
          store<i32>(indices + (<usize>count << 2), <i32>(q >> 2));
          count++;
          dirty = true;
        }
      }
    }
    for (; x < width - 1; x++) {
      const q = (row + <usize>x) << 2;
      if (!crPixelTest(image, variance, q, stride, bkgd, sig, c3, tH, tV, tD)) continue;
      if ((load<i32>(mask + q) & badBits) != 0 || (neighbourMask(mask, q, stride) & neighbourBits) != 0) continue;
      if (count == capacity) {
        store<i32>(out, capacity + 1);
        return OK;
      }
      store<f32>(image + q, crEstimate);
      store<u8>(flags + (q >> 2), 1);
      store<i32>(indices + (<usize>count << 2), <i32>(q >> 2));
      count++;
    }
  }
  store<i32>(out, count);
  return OK;
}

/**
 * One growth pass around the flagged pixels indices[0 .. count) (module comment): the image (modified),
 * variance and mask as for findCosmicRayCandidates; newly flagged pixels are appended to indices (which
 * holds `capacity` entries) and their number written to out[0] (i32); when they do not fit, out[0] =
 * capacity - count + 1 and the pass stops. The host passes CR.cc's minSigma / 2 and cond3Fac 0.
 */
export function growCosmicRays(image: usize, variance: usize, mask: usize, width: i32, height: i32, background: f64,
  minSigma: f64, cond3Fac: f64, thresH: f64, thresV: f64, thresD: f64, badBits: i32,
  flags: usize, indices: usize, count: i32, capacity: i32, out: usize): i32 {
  if (width <= 0 || height <= 0 || count < 0 || capacity < count || !validThresholds(minSigma, cond3Fac, thresH, thresV, thresD, background)) return BAD_ARGUMENT;
  const n = <usize>width * <usize>height;
  assertInMemory(image, n << 2);
  assertInMemory(variance, n << 2);
  assertInMemory(mask, n << 2);
  assertInMemory(flags, n);
  assertInMemory(indices, <usize>capacity << 2);
  assertInMemory(out, 4);
  store<i32>(out, 0);
  const bkgd = <f32>background, sig = <f32>minSigma, c3 = <f32>cond3Fac;
  const tH = <f32>thresH, tV = <f32>thresV, tD = <f32>thresD;
  const stride = <usize>width << 2;
  let total = count;
  for (let k = 0; k < count; k++) {
    const i = load<i32>(indices + (<usize>k << 2));
    if (i < 0 || <usize>i >= n) return BAD_ARGUMENT;
    const cx = i % width, cy = i / width;
    for (let dy = -1; dy <= 1; dy++) {
      const y = cy + dy;
      if (y < 1 || y >= height - 1) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const x = cx + dx;
        if (x < 1 || x >= width - 1) continue;
        const j = <usize>y * <usize>width + <usize>x;
        if (load<u8>(flags + j) != 0) continue;
        const q = j << 2;
        if ((load<i32>(mask + q) & badBits) != 0) continue;
        if (!crPixelTest(image, variance, q, stride, bkgd, sig, c3, tH, tV, tD)) continue;
        if (total == capacity) {
          store<i32>(out, capacity - count + 1);
          return OK;
        }
        store<f32>(image + q, crEstimate);
        store<u8>(flags + j, 1);
        store<i32>(indices + (<usize>total << 2), <i32>j);
        total++;
      }
    }
  }
  store<i32>(out, total - count);
  return OK;
}

/** 1 when a pixel within `guard` px (Chebyshev distance) of (u, v), itself included, is flagged. */
@inline
function flaggedNear(flags: usize, width: i32, height: i32, u: i32, v: i32, guard: i32): bool {
  for (let b = max(v - guard, 0); b <= min(v + guard, height - 1); b++) {
    for (let a = max(u - guard, 0); a <= min(u + guard, width - 1); a++) {
      if (load<u8>(flags + <usize>b * <usize>width + <usize>a) != 0) return true;
    }
  }
  return false;
}

/** Steps (1 .. maxDistance) from (x, y) along (dx, dy) to the first usable pixel, or 0 when there is none. */
@inline
function stepsToUsable(mask: usize, flags: usize, width: i32, height: i32, x: i32, y: i32, dx: i32, dy: i32, avoidBits: i32, maxDistance: i32, guard: i32): i32 {
  for (let s = 1; s <= maxDistance; s++) {
    const u = x + s * dx, v = y + s * dy;
    if (u < 0 || u >= width || v < 0 || v >= height) return 0;
    const j = <usize>v * <usize>width + <usize>u;
    if ((load<i32>(mask + (j << 2)) & avoidBits) != 0) continue;
    if (guard == 0 ? load<u8>(flags + j) == 0 : !flaggedNear(flags, width, height, u, v, guard)) return s;
  }
  return 0;
}

/**
 * Replaces the listed pixels (indices[0 .. count), i32) whose flag is 1 by interpolation from the nearest
 * usable pixels (module comment); image and variance f32, mask i32, flags u8, all width x height.
 * guard 0..2 px (the host's: 1); maxDistance >= 1 steps; `fallback` (image units) where nothing usable is in reach; intrpBit -1: no bit.
 */
export function interpolateCosmicRays(image: usize, variance: usize, mask: usize, width: i32, height: i32, flags: usize,
  indices: usize, count: i32, avoidBits: i32, guard: i32, maxDistance: i32, fallback: f64, intrpBit: i32): i32 {
  if (width <= 0 || height <= 0 || count < 0 || maxDistance < 1 || guard < 0 || guard > 2 || intrpBit < -1 || intrpBit > 31 || !isFinite(fallback)) return BAD_ARGUMENT;
  const n = <usize>width * <usize>height;
  assertInMemory(image, n << 2);
  assertInMemory(variance, n << 2);
  assertInMemory(mask, n << 2);
  assertInMemory(flags, n);
  assertInMemory(indices, <usize>count << 2);
  const bit = intrpBit < 0 ? 0 : 1 << intrpBit;
  const diagonal: f32 = Mathf.SQRT2;
  for (let k = 0; k < count; k++) {
    const i = load<i32>(indices + (<usize>k << 2));
    if (i < 0 || <usize>i >= n) return BAD_ARGUMENT;
    if (load<u8>(flags + <usize>i) != 1) continue;
    const x = i % width, y = i / width;
    let bestGap: f32 = <f32>Infinity;
    let sum: f32 = 0, sumVar: f32 = 0;
    let ties = 0;
    let nearest: f32 = <f32>Infinity;
    let nearestIndex = -1;
    for (let d = 0; d < 4; d++) {
      const dx = d == 1 ? 0 : 1;
      const dy = d == 0 ? 0 : d == 3 ? -1 : 1;
      const length: f32 = d < 2 ? 1 : diagonal;
      const a = stepsToUsable(mask, flags, width, height, x, y, dx, dy, avoidBits, maxDistance, guard);
      const b = stepsToUsable(mask, flags, width, height, x, y, -dx, -dy, avoidBits, maxDistance, guard);
      if (a > 0 && <f32>a * length < nearest) {
        nearest = <f32>a * length;
        nearestIndex = (y + a * dy) * width + x + a * dx;
      }
      if (b > 0 && <f32>b * length < nearest) {
        nearest = <f32>b * length;
        nearestIndex = (y - b * dy) * width + x - b * dx;
      }
      if (a == 0 || b == 0) continue;
      const gap = <f32>(a + b) * length;
      if (gap > bestGap) continue;
      const pa = <usize>((y + a * dy) * width + x + a * dx) << 2;
      const pb = <usize>((y - b * dy) * width + x - b * dx) << 2;
      // The pixel lies b steps from the far side's pixel and a from the near side's: weights a and b.
      const wa = <f32>b / <f32>(a + b), wb = <f32>a / <f32>(a + b);
      const value = wa * load<f32>(image + pa) + wb * load<f32>(image + pb);
      const noise = wa * load<f32>(variance + pa) + wb * load<f32>(variance + pb);
      if (gap < bestGap) {
        bestGap = gap;
        sum = value;
        sumVar = noise;
        ties = 1;
      } else {
        sum += value;
        sumVar += noise;
        ties++;
      }
    }
    const p = <usize>i << 2;
    if (ties > 0) {
      store<f32>(image + p, sum / <f32>ties);
      store<f32>(variance + p, sumVar / <f32>ties);
    } else if (nearestIndex >= 0) {
      const q = <usize>nearestIndex << 2;
      store<f32>(image + p, load<f32>(image + q));
      store<f32>(variance + p, load<f32>(variance + q));
    } else {
      store<f32>(image + p, <f32>fallback);
    }
    store<i32>(mask + p, load<i32>(mask + p) | bit);
  }
  return OK;
}
