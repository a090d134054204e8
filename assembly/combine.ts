// Combining a stack of calibration frames pixel by pixel, and whole-plane statistics.
//
// combineClippedMean: the sigma-clipped mean of N f32 planes at every pixel. Pass 0 centres on the
//   median, every later pass on the previous pass's mean; each pass selects afresh from all values
//   (clipping is not cumulative), keeping v when |v - centre| <= width (<=, so that a zero width still
//   keeps the values equal to the centre); the result is the mean of the last pass. The width is either
//   - widthFromVariance = 0: afw's MEANCLIP as LSST cp_pipe's CalibCombineTask computes it through
//     afw::math::statisticsStack (afw Statistics.cc): pass 0 clips at nSigma x 0.741301109 x IQR (the
//     interquartile range as a Gaussian sigma), later passes at nSigma x the previous pass's sample
//     standard deviation (n - 1), or again at the IQR width when fewer than 2 values survived; or
//   - widthFromVariance = 1: nSigma x sqrt(the median over the frames of the values' variances), the
//     noise the pixel is known to have. With few frames the sample widths are themselves noisy (the IQR
//     of 5 values): afw's scheme then rejects ~7 % of Gaussian values and the mean's variance grows by
//     ~18 % (5 frames, 3 sigma, 3 passes), while the variance width rejects ~0.4 % (+5 %). The width is
//     common to the pixel's values: a width from each value's own variance, whose Poisson part grows with
//     the value, would keep high values more often than low ones and bias the mean upward. The median
//     keeps one outlier's large variance out of it. Still, where the variance planes' Poisson term comes
//     from the noisy values themselves and dominates their scatter (darks: max(image, 0) with image ~
//     read noise), the width grows with the pixel's median, so a low median clips the high values more
//     often: -0.005 sigma per pixel measured for 3 frames at 3 sigma (-0.02 e- in a 300 s dark). afw's
//     sample widths are symmetric in the values and free of this, but noisier.
//   Quantiles interpolate linearly between order statistics at p (n - 1) (numpy's default). Non-finite
//   values (NaN, +-Inf: masked inputs) are ignored.
// Defaults (the caller's, cp_pipe's): nSigma 3, nIter 3; nIter 0 gives the plain mean of the finite values.
// Outputs per pixel: the clipped mean (input units), its variance, and the number of frames used.
// The variance is sum(var_k) / m^2 over the m frames used when input variance planes are given (afw's
// calcErrorFromInputVariance, cp_pipe's default), else the clipped sample variance / m. A pixel with no
// finite value gets NaN, NaN, 0.
// SIMD: four pixels per step; the frames of each lane are sorted by the same sorting network (Batcher's
// odd-even merge sort with min/max, NaN replaced by +Inf first) and every sum runs over the frames in
// order, adding +0 for a rejected value, exactly as the scalar path does: the builds are bit-identical.
// Scratch: 32 x nFrames bytes (values, then variances, sorted).
//
// planeMedian / planeMean: the median and mean of the finite pixels of a plane whose mask has none of
// `badBits` (used to normalise flats). Scalar code (quickselect; one f64 running sum), identical in all
// builds.
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';

@inline const IQ_TO_STDEV: f32 = 0.741301109;

/** Linearly interpolated quantile p of the first n (>= 1) sorted values at base, byte stride `stride`. */
@inline
function quantile(base: usize, stride: usize, n: i32, p: f32): f32 {
  const h = <f32>(n - 1) * p;
  const lo = <i32>h;
  const a = load<f32>(base + <usize>lo * stride);
  if (lo + 1 >= n) return a;
  const b = load<f32>(base + <usize>(lo + 1) * stride);
  return a + (h - <f32>lo) * (b - a);
}

/** Compare-exchange of two f32 slots (min to a, max to b). */
@inline
function exchangeScalar(a: usize, b: usize): void {
  const x = load<f32>(a);
  const y = load<f32>(b);
  store<f32>(a, min(x, y));
  store<f32>(b, max(x, y));
}

@inline
function exchangeVector(a: usize, b: usize): void {
  const x = v128.load(a);
  const y = v128.load(b);
  v128.store(a, f32x4.min(x, y));
  v128.store(b, f32x4.max(x, y));
}

/**
 * Sorts n slots of `stride` bytes (4: f32, 16: f32x4 lanes sorted independently) with Batcher's
 * odd-even merge sort; comparators that reach past n are dropped (as if padded with +Inf).
 */
function sortNetwork(base: usize, n: i32, stride: usize, vector: bool): void {
  for (let p = 1; p < n; p <<= 1) {
    for (let k = p; k >= 1; k >>= 1) {
      for (let j = k % p; j + k < n; j += 2 * k) {
        const limit = min(k, n - j - k);
        for (let i = 0; i < limit; i++) {
          if ((i + j) / (2 * p) == (i + j + k) / (2 * p)) {
            const a = base + <usize>(i + j) * stride;
            const b = base + <usize>(i + j + k) * stride;
            if (vector) {
              if (ASC_FEATURE_SIMD) exchangeVector(a, b);
            } else {
              exchangeScalar(a, b);
            }
          }
        }
      }
    }
  }
}

@inline
function framePtr(table: usize, k: i32): usize {
  return <usize>load<u32>(table + (<usize>k << 2));
}

/** One pixel, scalar: the reference the SIMD path reproduces bit for bit. */
function combinePixel(images: usize, variances: usize, nFrames: i32, i: usize, nSigma: f32, nIter: i32, byVariance: bool, scratch: usize,
  outMean: usize, outVariance: usize, outCount: usize): void {
  const off = i << 2;
  let n = 0;
  const varScratch = scratch + (<usize>nFrames << 4);
  for (let k = 0; k < nFrames; k++) {
    const v = load<f32>(framePtr(images, k) + off);
    const valid = v - v == 0;
    store<f32>(scratch + (<usize>k << 2), valid ? v : <f32>Infinity);
    if (byVariance) {
      const w = load<f32>(framePtr(variances, k) + off);
      store<f32>(varScratch + (<usize>k << 2), valid && w == w ? w : <f32>Infinity);
    }
    n += <i32>valid;
  }
  if (n == 0) {
    store<f32>(outMean + off, <f32>NaN);
    if (outVariance != 0) store<f32>(outVariance + off, <f32>NaN);
    if (outCount != 0) store<i32>(outCount + off, 0);
    return;
  }
  sortNetwork(scratch, nFrames, 4, false);
  const median = quantile(scratch, 4, n, 0.5);
  const iqrWidth = nSigma * (IQ_TO_STDEV * (quantile(scratch, 4, n, 0.75) - quantile(scratch, 4, n, 0.25)));
  let varWidth: f32 = 0;
  if (byVariance) {
    sortNetwork(varScratch, nFrames, 4, false);
    varWidth = nSigma * sqrt<f32>(quantile(varScratch, 4, n, 0.5));
  }
  let center = median;
  let width: f32 = nIter == 0 ? <f32>Infinity : byVariance ? varWidth : iqrWidth;
  const passes = max(nIter, 1);
  let mean = median;
  let sampleVariance: f32 = 0;
  let inputVariance: f32 = 0;
  let used = 0;
  for (let pass = 0; pass < passes; pass++) {
    let sum: f32 = 0;
    let count = 0;
    for (let k = 0; k < nFrames; k++) {
      const v = load<f32>(framePtr(images, k) + off);
      const keep = v - v == 0 && abs(v - center) <= width;
      sum += keep ? v : 0;
      count += <i32>keep;
    }
    if (count == 0) break;
    const mu = sum / <f32>count;
    let squares: f32 = 0;
    let varSum: f32 = 0;
    for (let k = 0; k < nFrames; k++) {
      const v = load<f32>(framePtr(images, k) + off);
      const keep = v - v == 0 && abs(v - center) <= width;
      const d = v - mu;
      squares += keep ? d * d : 0;
      if (variances != 0) {
        const w = load<f32>(framePtr(variances, k) + off);
        varSum += keep ? w : 0;
      }
    }
    const s2: f32 = count > 1 ? squares / <f32>(count - 1) : 0;
    mean = mu;
    sampleVariance = s2;
    inputVariance = varSum;
    used = count;
    center = mu;
    if (!byVariance) width = count > 1 ? nSigma * sqrt<f32>(s2) : iqrWidth;
  }
  store<f32>(outMean + off, mean);
  if (outVariance != 0) {
    const m = <f32>used;
    store<f32>(outVariance + off, used == 0 ? <f32>NaN : variances != 0 ? inputVariance / (m * m) : sampleVariance / m);
  }
  if (outCount != 0) store<i32>(outCount + off, used);
}

/** Four pixels at i .. i+3 with f32x4 lanes; the same operations as combinePixel, lane by lane. */
function combineFour(images: usize, variances: usize, nFrames: i32, i: usize, nSigma: f32, nIter: i32, byVariance: bool, scratch: usize,
  outMean: usize, outVariance: usize, outCount: usize): void {
  const off = i << 2;
  const zero = f32x4.splat(0);
  const inf = f32x4.splat(<f32>Infinity);
  let n = i32x4.splat(0);
  const varScratch = scratch + (<usize>nFrames << 4);
  for (let k = 0; k < nFrames; k++) {
    const v = v128.load(framePtr(images, k) + off);
    const valid = f32x4.eq(f32x4.sub(v, v), zero);
    v128.store(scratch + (<usize>k << 4), v128.bitselect(v, inf, valid));
    if (byVariance) {
      const w = v128.load(framePtr(variances, k) + off);
      v128.store(varScratch + (<usize>k << 4), v128.bitselect(w, inf, v128.and(valid, f32x4.eq(w, w))));
    }
    n = i32x4.sub(n, valid);
  }
  sortNetwork(scratch, nFrames, 16, true);
  // Quantiles lane by lane (each lane has its own count of finite values).
  let median = zero;
  let iqrWidth = zero;
  const n0 = i32x4.extract_lane(n, 0), n1 = i32x4.extract_lane(n, 1), n2 = i32x4.extract_lane(n, 2), n3 = i32x4.extract_lane(n, 3);
  if (n0 > 0) {
    median = f32x4.replace_lane(median, 0, quantile(scratch, 16, n0, 0.5));
    iqrWidth = f32x4.replace_lane(iqrWidth, 0, nSigma * (IQ_TO_STDEV * (quantile(scratch, 16, n0, 0.75) - quantile(scratch, 16, n0, 0.25))));
  }
  if (n1 > 0) {
    median = f32x4.replace_lane(median, 1, quantile(scratch + 4, 16, n1, 0.5));
    iqrWidth = f32x4.replace_lane(iqrWidth, 1, nSigma * (IQ_TO_STDEV * (quantile(scratch + 4, 16, n1, 0.75) - quantile(scratch + 4, 16, n1, 0.25))));
  }
  if (n2 > 0) {
    median = f32x4.replace_lane(median, 2, quantile(scratch + 8, 16, n2, 0.5));
    iqrWidth = f32x4.replace_lane(iqrWidth, 2, nSigma * (IQ_TO_STDEV * (quantile(scratch + 8, 16, n2, 0.75) - quantile(scratch + 8, 16, n2, 0.25))));
  }
  if (n3 > 0) {
    median = f32x4.replace_lane(median, 3, quantile(scratch + 12, 16, n3, 0.5));
    iqrWidth = f32x4.replace_lane(iqrWidth, 3, nSigma * (IQ_TO_STDEV * (quantile(scratch + 12, 16, n3, 0.75) - quantile(scratch + 12, 16, n3, 0.25))));
  }
  const sigmaV = f32x4.splat(nSigma);
  let varMedian = zero;
  if (byVariance) {
    sortNetwork(varScratch, nFrames, 16, true);
    if (n0 > 0) varMedian = f32x4.replace_lane(varMedian, 0, quantile(varScratch, 16, n0, 0.5));
    if (n1 > 0) varMedian = f32x4.replace_lane(varMedian, 1, quantile(varScratch + 4, 16, n1, 0.5));
    if (n2 > 0) varMedian = f32x4.replace_lane(varMedian, 2, quantile(varScratch + 8, 16, n2, 0.5));
    if (n3 > 0) varMedian = f32x4.replace_lane(varMedian, 3, quantile(varScratch + 12, 16, n3, 0.5));
  }
  let center = median;
  let width = nIter == 0 ? inf : byVariance ? f32x4.mul(sigmaV, f32x4.sqrt(varMedian)) : iqrWidth;
  const passes = max(nIter, 1);
  let mean = median;
  let sampleVariance = zero;
  let inputVariance = zero;
  let used = i32x4.splat(0);
  // Lanes with no finite value never update; a lane whose pass keeps nothing stops (the scalar `break`).
  let active = i32x4.ne(n, i32x4.splat(0));
  for (let pass = 0; pass < passes; pass++) {
    let sum = zero;
    let count = i32x4.splat(0);
    for (let k = 0; k < nFrames; k++) {
      const v = v128.load(framePtr(images, k) + off);
      const keep = v128.and(f32x4.eq(f32x4.sub(v, v), zero), f32x4.le(f32x4.abs(f32x4.sub(v, center)), width));
      sum = f32x4.add(sum, v128.and(v, keep));
      count = i32x4.sub(count, keep);
    }
    active = v128.and(active, i32x4.ne(count, i32x4.splat(0)));
    if (!v128.any_true(active)) break;
    const countF = f32x4.convert_i32x4_s(count);
    const mu = f32x4.div(sum, countF);
    let squares = zero;
    let varSum = zero;
    for (let k = 0; k < nFrames; k++) {
      const v = v128.load(framePtr(images, k) + off);
      const keep = v128.and(f32x4.eq(f32x4.sub(v, v), zero), f32x4.le(f32x4.abs(f32x4.sub(v, center)), width));
      const d = f32x4.sub(v, mu);
      squares = f32x4.add(squares, v128.and(f32x4.mul(d, d), keep));
      if (variances != 0) varSum = f32x4.add(varSum, v128.and(v128.load(framePtr(variances, k) + off), keep));
    }
    const several = i32x4.gt_s(count, i32x4.splat(1));
    const s2 = v128.and(f32x4.div(squares, f32x4.convert_i32x4_s(i32x4.sub(count, i32x4.splat(1)))), several);
    mean = v128.bitselect(mu, mean, active);
    sampleVariance = v128.bitselect(s2, sampleVariance, active);
    inputVariance = v128.bitselect(varSum, inputVariance, active);
    used = v128.bitselect(count, used, active);
    center = v128.bitselect(mu, center, active);
    if (!byVariance) width = v128.bitselect(v128.bitselect(f32x4.mul(sigmaV, f32x4.sqrt(s2)), iqrWidth, several), width, active);
  }
  const none = i32x4.eq(n, i32x4.splat(0));
  const nan = f32x4.splat(<f32>NaN);
  v128.store(outMean + off, v128.bitselect(nan, mean, none));
  if (outVariance != 0) {
    const m = f32x4.convert_i32x4_s(used);
    const variance = variances != 0 ? f32x4.div(inputVariance, f32x4.mul(m, m)) : f32x4.div(sampleVariance, m);
    v128.store(outVariance + off, v128.bitselect(nan, variance, i32x4.eq(used, i32x4.splat(0))));
  }
  if (outCount != 0) v128.store(outCount + off, used);
}

/**
 * Sigma-clipped mean of `nFrames` f32 planes of `nPixels` pixels. `images` (and `variances`, or 0 for
 * none) point at nFrames u32 plane pointers; `scratch` holds 32 x nFrames bytes. widthFromVariance 1
 * clips at nSigma x sqrt(median variance) (needs `variances`), 0 as afw's MEANCLIP. Writes `outMean`, and
 * `outVariance` / `outCount` (i32) unless 0. Returns BAD_ARGUMENT for nFrames < 1, nPixels < 0,
 * nSigma not > 0, nIter < 0, or widthFromVariance without variances.
 */
export function combineClippedMean(images: usize, variances: usize, nFrames: i32, nPixels: i32, nSigma: f32, nIter: i32, widthFromVariance: i32,
  scratch: usize, outMean: usize, outVariance: usize, outCount: usize): i32 {
  if (nFrames < 1 || nPixels < 0 || !(nSigma > 0) || nIter < 0 || (widthFromVariance != 0 && variances == 0)) return BAD_ARGUMENT;
  const byVariance = widthFromVariance != 0 && nIter > 0;
  const bytes = <usize>nPixels << 2;
  assertInMemory(images, <usize>nFrames << 2);
  if (variances != 0) assertInMemory(variances, <usize>nFrames << 2);
  for (let k = 0; k < nFrames; k++) {
    assertInMemory(framePtr(images, k), bytes);
    if (variances != 0) assertInMemory(framePtr(variances, k), bytes);
  }
  assertInMemory(scratch, <usize>nFrames << 5);
  assertInMemory(outMean, bytes);
  if (outVariance != 0) assertInMemory(outVariance, bytes);
  if (outCount != 0) assertInMemory(outCount, bytes);
  let i: usize = 0;
  const total = <usize>nPixels;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= total; i += 4) combineFour(images, variances, nFrames, i, nSigma, nIter, byVariance, scratch, outMean, outVariance, outCount);
  }
  for (; i < total; i++) combinePixel(images, variances, nFrames, i, nSigma, nIter, byVariance, scratch, outMean, outVariance, outCount);
  return OK;
}

/**
 * The k-th smallest (0-based) of n f32 values at base, partially reordering them (Hoare quickselect,
 * median-of-three pivot): afterwards nothing before k is larger and nothing after k is smaller.
 * The values must not be NaN.
 */
export function selectInPlace(base: usize, n: i32, k: i32): f32 {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = lo + ((hi - lo) >> 1);
    const a = load<f32>(base + (<usize>lo << 2));
    const b = load<f32>(base + (<usize>mid << 2));
    const c = load<f32>(base + (<usize>hi << 2));
    const pivot = max(min(a, b), min(max(a, b), c));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (load<f32>(base + (<usize>i << 2)) < pivot) i++;
      while (load<f32>(base + (<usize>j << 2)) > pivot) j--;
      if (i <= j) {
        const pi = base + (<usize>i << 2);
        const pj = base + (<usize>j << 2);
        const t = load<f32>(pi);
        store<f32>(pi, load<f32>(pj));
        store<f32>(pj, t);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return load<f32>(base + (<usize>k << 2));
}

/** Median of n (>= 1) non-NaN f32 values at base (reorders them): the mean of the two middle ones for even n. */
export function medianInPlace(base: usize, n: i32): f64 {
  const k = (n - 1) >> 1;
  const a = selectInPlace(base, n, k);
  if (n & 1) return <f64>a;
  let b = load<f32>(base + (<usize>(k + 1) << 2));
  for (let j = k + 2; j < n; j++) b = min(b, load<f32>(base + (<usize>j << 2)));
  return (<f64>a + <f64>b) * 0.5;
}

/**
 * Median of the finite pixels of `src` (n f32) whose `mask` word (0: no mask) has none of `badBits`,
 * written as f64 to out[0], and their count to out[1]; NaN, 0 when there are none. `scratch` holds
 * n f32.
 */
export function planeMedian(src: usize, mask: usize, n: i32, badBits: i32, scratch: usize, out: usize): i32 {
  if (n < 0) return BAD_ARGUMENT;
  const bytes = <usize>n << 2;
  assertInMemory(src, bytes);
  if (mask != 0) assertInMemory(mask, bytes);
  assertInMemory(scratch, bytes);
  assertInMemory(out, 16);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(src + (<usize>i << 2));
    if (!(v - v == 0)) continue;
    if (mask != 0 && (load<i32>(mask + (<usize>i << 2)) & badBits) != 0) continue;
    store<f32>(scratch + (<usize>m << 2), v);
    m++;
  }
  store<f64>(out, m > 0 ? medianInPlace(scratch, m) : NaN);
  store<f64>(out + 8, <f64>m);
  return OK;
}

/**
 * Mean (f64 running sum in pixel order) of the finite pixels of `src` whose `mask` word (0: no mask)
 * has none of `badBits`, to out[0], and their count to out[1]; NaN, 0 when there are none.
 */
export function planeMean(src: usize, mask: usize, n: i32, badBits: i32, out: usize): i32 {
  if (n < 0) return BAD_ARGUMENT;
  const bytes = <usize>n << 2;
  assertInMemory(src, bytes);
  if (mask != 0) assertInMemory(mask, bytes);
  assertInMemory(out, 16);
  let sum: f64 = 0;
  let m = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(src + (<usize>i << 2));
    if (!(v - v == 0)) continue;
    if (mask != 0 && (load<i32>(mask + (<usize>i << 2)) & badBits) != 0) continue;
    sum += <f64>v;
    m++;
  }
  store<f64>(out, m > 0 ? sum / <f64>m : NaN);
  store<f64>(out + 8, <f64>m);
  return OK;
}
