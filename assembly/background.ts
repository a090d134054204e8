// Background estimation kernels (LSST meas_algorithms SubtractBackgroundTask / afw BackgroundMI).
//
// binClippedMean: afw's MEANCLIP statistic of the good pixels of every bin of a grid laid over an f32
//   image. A pixel is good when it is finite and its i32 mask word has none of `badBits` (LSST's
//   ignoredPixelMask: BAD, EDGE, DETECTED, DETECTED_NEGATIVE, NO_DATA; the host builds the bits).
//   Bin (i, j) covers x in [xEdges[i], xEdges[i+1]) and y in [yEdges[j], yEdges[j+1]); the edges need
//   not start at 0 nor end at the image's size, so one bin over the image's interior is the clipped
//   statistic of that region (detection uses it for the noise of the smoothed image).
//   The statistic is afw Statistics' MEANCLIP (afw@26.0.0 src/math/Statistics.cc): pass 0 keeps the
//   values within nSigma x 0.741301109 x IQR of the median, every later pass within nSigma x the previous
//   pass's sample standard deviation (n - 1) of the previous pass's mean (the IQR width again when fewer
//   than 2 values survived); each pass selects afresh from all the good values (clipping is not
//   cumulative) with |v - centre| <= width; the result is the last pass's mean. Quantiles interpolate
//   linearly between order statistics at p (n - 1) (numpy's default, as assembly/combine.ts). nIter 0
//   gives the plain mean. LSST's defaults: nSigma 3, nIter 3.
//   Output per bin, 4 f64 at out + 32 x (j x nx + i): the clipped mean (image units), its variance
//   (the last pass's clipped sample variance / n used, units^2), n used, and the number of good pixels.
//   A bin without good pixels gets NaN, NaN, 0, 0; one value gives a NaN variance; a pass that keeps nothing ends the iteration with the
//   previous pass's results (the median and NaN variance when it is pass 0).
//   Units: whatever the image holds (e- after ISR). Arithmetic: f64 (pixel values are promoted exactly).
//   SIMD: the clipping passes run over the good values in raster order four at a time, each lane a running
//   f64 sum over the values whose index is the lane mod 4, combined as (l0 + l1) + (l2 + l3); the scalar build
//   keeps the same four sums, so all builds are bit-identical. Gathering copies four pixels at once where all
//   four are good (the same values in the same order); the bucket counts and quickselect are scalar.
//   Scratch: the largest bin's pixel count of f32.
//
// evaluateRowPolynomials: writes a model plane from piecewise polynomials along rows: in row y, segment s
//   covers x in [breaks[s], breaks[s+1]) and the pixel gets sum_k c[y][s][k] u^k with u = (x - centre[s])
//   x scale[s] (Horner, f32, highest power first). The host turns a 2-D spline or Chebyshev model of the
//   bin grid into one such polynomial per row and segment (lib/measure/background.ts); a well-scaled u
//   (|u| <= ~1) keeps f32 Horner accurate. SIMD: four pixels of one segment at a time with the same f32
//   operations in the same order as the scalar tail, so the builds are bit-identical.
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';
import { selectInPlace } from './combine';

@inline const IQ_TO_STDEV: f64 = 0.741301109;

// Results of one clipping pass (module globals: kernels never allocate, and AS has no tuples).
let passSum: f64 = 0;
let passCount: f64 = 0;
let passSquares: f64 = 0;

/** Smallest of the values at base[from, to) (+Infinity when empty). */
function minimumOf(base: usize, from: i32, to: i32): f32 {
  let b: f32 = Infinity;
  for (let j = from; j < to; j++) b = min(b, load<f32>(base + (<usize>j << 2)));
  return b;
}

/** Linearly interpolated value at fractional rank h between order statistics k = floor(h) (a) and k + 1 (b). */
@inline function interpolateRank(a: f32, b: f32, h: f64, k: i32, m: i32): f64 {
  return k + 1 >= m ? <f64>a : <f64>a + (h - <f64>k) * (<f64>b - <f64>a);
}

let quartileLow: f64 = 0;
let quartileHigh: f64 = 0;
/** Whether the last quartilesInPlace reordered its values (it selected rather than counted buckets). */
let quartilesReordered = false;

// Order statistics by buckets (see bucketStatistics): a sorted sample, a histogram, the wanted ranks'
// buckets gathered and selected within.
const SAMPLE: i32 = 63;
const BUCKETS: i32 = 1024;
const GATHER_CAPACITY: i32 = 16384;
const WANTED: i32 = 6;
const SAMPLE_VALUES = memory.data(SAMPLE << 2, 16);
const HISTOGRAM = memory.data((BUCKETS + 4) << 2, 16); // counts, then a map from bucket to target (and a spare slot)
const LANE_HISTOGRAMS = memory.data((4 * BUCKETS + 4) << 2, 16); // SIMD build: one histogram per lane and a spare slot
const GATHERED = memory.data(GATHER_CAPACITY << 2, 16);
const RANKS = memory.data(WANTED << 2, 16); // in: the wanted ranks, ascending
const STATISTICS = memory.data(WANTED << 2, 16); // out: their values
const RANK_TARGET = memory.data(WANTED << 2, 16); // per rank: which gathered bucket holds it
const RANK_WITHIN = memory.data(WANTED << 2, 16); // per rank: its rank within that bucket
const TARGET_START = memory.data(WANTED << 2, 16);
const TARGET_COUNT = memory.data(WANTED << 2, 16);
const TARGET_FILL = memory.data(WANTED << 2, 16);

@inline function i32At(table: usize, k: i32): i32 {
  return load<i32>(table + (<usize>k << 2));
}

@inline function setI32(table: usize, k: i32, v: i32): void {
  store<i32>(table + (<usize>k << 2), v);
}

/** The histogram bucket of a value in [lo, hi]: monotonic in the value, so buckets keep the values' order. */
@inline function bucketOf(v: f32, lo: f32, scale: f32): i32 {
  return min(<i32>((v - lo) * scale), BUCKETS - 1);
}

/** bucketOf of four values at once (the same f32 operations lane by lane); last: BUCKETS - 1 in each lane. */
@inline function bucketsOf4(v: v128, lo: v128, scale: v128, last: v128): v128 {
  return i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.mul(f32x4.sub(v, lo), scale)), last);
}

@inline function statistic(r: i32): f32 {
  return load<f32>(STATISTICS + (<usize>r << 2));
}

/** Appends v to target t's segment of GATHERED (t < 0: none). */
@inline function gatherValue(v: f32, t: i32): void {
  if (t < 0) return;
  const o = i32At(TARGET_FILL, t);
  store<f32>(GATHERED + (<usize>o << 2), v);
  setI32(TARGET_FILL, t, o + 1);
}

/**
 * The order statistics of the m values at base at the WANTED ranks in RANKS (ascending), into
 * STATISTICS; false when this method does not apply (the caller then selects). A sorted sample of 63
 * values spread over the array bounds a histogram of 1024 equal buckets between its 2nd and 62nd
 * values; the bucket index is monotonic in the value, so a rank's bucket holds exactly the values around
 * that rank: the wanted buckets are gathered in one pass and each rank selected among its bucket's
 * values. It does not apply for under 1024 values, a degenerate range, a rank outside the range or more
 * than 16384 values to gather. Exact: the values a full selection gives. Leaves base as it was.
 */
function bucketStatistics(base: usize, m: i32): bool {
  if (m < 1024) return false;
  for (let j = 0; j < SAMPLE; j++) {
    const v = load<f32>(base + (<usize>(<i32>((<i64>j * <i64>m) / SAMPLE)) << 2));
    let i = j;
    for (; i > 0 && load<f32>(SAMPLE_VALUES + (<usize>(i - 1) << 2)) > v; i--) store<f32>(SAMPLE_VALUES + (<usize>i << 2), load<f32>(SAMPLE_VALUES + (<usize>(i - 1) << 2)));
    store<f32>(SAMPLE_VALUES + (<usize>i << 2), v);
  }
  const lo = load<f32>(SAMPLE_VALUES + 4), hi = load<f32>(SAMPLE_VALUES + (<usize>(SAMPLE - 2) << 2));
  const scale: f32 = <f32>BUCKETS / (hi - lo);
  if (!(hi > lo) || !isFinite(scale)) return false;
  let under = 0, i = 0;
  if (ASC_FEATURE_SIMD) {
    // Four values at a time, each lane counted in a histogram of its own (consecutive values mostly fall in
    // one bucket: four counters break the chain of increments through memory); a value out of range goes
    // to a spare slot past the four. The counts are exact, as the scalar loop's.
    memory.fill(LANE_HISTOGRAMS, 0, (<usize>(4 * BUCKETS + 4)) << 2);
    const loV = f32x4.splat(lo), hiV = f32x4.splat(hi), scaleV = f32x4.splat(scale), lastV = i32x4.splat(BUCKETS - 1);
    const laneBase = i32x4(0, BUCKETS, 2 * BUCKETS, 3 * BUCKETS), spare = i32x4.splat(4 * BUCKETS);
    let underV = i32x4.splat(0);
    for (; i + 4 <= m; i += 4) {
      const v = v128.load(base + (<usize>i << 2));
      const below = f32x4.lt(v, loV);
      underV = i32x4.sub(underV, below);
      const b = i32x4.add(bucketsOf4(v, loV, scaleV, lastV), laneBase);
      const slot = v128.bitselect(spare, b, v128.or(below, f32x4.gt(v, hiV)));
      const s0 = i32x4.extract_lane(slot, 0), s1 = i32x4.extract_lane(slot, 1), s2 = i32x4.extract_lane(slot, 2), s3 = i32x4.extract_lane(slot, 3);
      setI32(LANE_HISTOGRAMS, s0, i32At(LANE_HISTOGRAMS, s0) + 1);
      setI32(LANE_HISTOGRAMS, s1, i32At(LANE_HISTOGRAMS, s1) + 1);
      setI32(LANE_HISTOGRAMS, s2, i32At(LANE_HISTOGRAMS, s2) + 1);
      setI32(LANE_HISTOGRAMS, s3, i32At(LANE_HISTOGRAMS, s3) + 1);
    }
    under = i32x4.extract_lane(underV, 0) + i32x4.extract_lane(underV, 1) + i32x4.extract_lane(underV, 2) + i32x4.extract_lane(underV, 3);
    const stride = <usize>BUCKETS << 2;
    for (let q: usize = 0; q < stride; q += 16) {
      const p = LANE_HISTOGRAMS + q;
      v128.store(HISTOGRAM + q, i32x4.add(i32x4.add(v128.load(p), v128.load(p + stride)), i32x4.add(v128.load(p + 2 * stride), v128.load(p + 3 * stride))));
    }
  } else {
    memory.fill(HISTOGRAM, 0, <usize>BUCKETS << 2);
  }
  for (; i < m; i++) {
    const v = load<f32>(base + (<usize>i << 2));
    if (v < lo) { under++; continue; }
    if (v > hi) continue;
    const b = bucketOf(v, lo, scale);
    setI32(HISTOGRAM, b, i32At(HISTOGRAM, b) + 1);
  }
  // Each wanted rank's bucket (distinct buckets become targets, in order) and its rank within it.
  let cumulative = under, bucket = 0, targets = 0, gathered = 0;
  for (let r = 0; r < WANTED; r++) {
    const rank = i32At(RANKS, r);
    if (rank < under) return false;
    while (bucket < BUCKETS && cumulative + i32At(HISTOGRAM, bucket) <= rank) cumulative += i32At(HISTOGRAM, bucket++);
    if (bucket >= BUCKETS) return false;
    if (targets == 0 || i32At(TARGET_START, targets - 1) != bucket) {
      // TARGET_START holds the bucket number until the starts are laid out below.
      setI32(TARGET_START, targets, bucket);
      setI32(TARGET_COUNT, targets, i32At(HISTOGRAM, bucket));
      gathered += i32At(HISTOGRAM, bucket);
      targets++;
    }
    setI32(RANK_TARGET, r, targets - 1);
    setI32(RANK_WITHIN, r, rank - cumulative);
  }
  if (gathered > GATHER_CAPACITY) return false;
  // The histogram becomes a map from bucket to target (-1: none); targets get consecutive segments.
  memory.fill(HISTOGRAM, 0xff, <usize>BUCKETS << 2);
  let next = 0;
  for (let t = 0; t < targets; t++) {
    setI32(HISTOGRAM, i32At(TARGET_START, t), t);
    setI32(TARGET_START, t, next);
    setI32(TARGET_FILL, t, next);
    next += i32At(TARGET_COUNT, t);
  }
  i = 0;
  if (ASC_FEATURE_SIMD) {
    // The buckets four at a time (a value out of range looks up the spare slot past the map, -1).
    store<i32>(HISTOGRAM + (<usize>BUCKETS << 2), -1);
    const loV = f32x4.splat(lo), hiV = f32x4.splat(hi), scaleV = f32x4.splat(scale), lastV = i32x4.splat(BUCKETS - 1), spare = i32x4.splat(BUCKETS);
    for (; i + 4 <= m; i += 4) {
      const v = v128.load(base + (<usize>i << 2));
      const slot = v128.bitselect(spare, bucketsOf4(v, loV, scaleV, lastV), v128.or(f32x4.lt(v, loV), f32x4.gt(v, hiV)));
      gatherValue(f32x4.extract_lane(v, 0), i32At(HISTOGRAM, i32x4.extract_lane(slot, 0)));
      gatherValue(f32x4.extract_lane(v, 1), i32At(HISTOGRAM, i32x4.extract_lane(slot, 1)));
      gatherValue(f32x4.extract_lane(v, 2), i32At(HISTOGRAM, i32x4.extract_lane(slot, 2)));
      gatherValue(f32x4.extract_lane(v, 3), i32At(HISTOGRAM, i32x4.extract_lane(slot, 3)));
    }
  }
  for (; i < m; i++) {
    const v = load<f32>(base + (<usize>i << 2));
    if (v < lo || v > hi) continue;
    gatherValue(v, i32At(HISTOGRAM, bucketOf(v, lo, scale)));
  }
  for (let r = 0; r < WANTED; r++) {
    const t = i32At(RANK_TARGET, r);
    store<f32>(STATISTICS + (<usize>r << 2), selectInPlace(GATHERED + (<usize>i32At(TARGET_START, t) << 2), i32At(TARGET_COUNT, t), i32At(RANK_WITHIN, r)));
  }
  return true;
}

/**
 * Median of the m (>= 1) values at base (may reorder them), with the linearly interpolated quantiles 0.25
 * and 0.75 left in quartileLow and quartileHigh: by buckets (bucketStatistics) where that applies, else by
 * selection: one selection of the median partitions the values, so each quartile is selected within its
 * half only.
 */
function quartilesInPlace(base: usize, m: i32): f64 {
  const hm = <f64>(m - 1) * 0.5, km = <i32>hm;
  const hl = <f64>(m - 1) * 0.25, kl = <i32>hl;
  const hh = <f64>(m - 1) * 0.75, kh = <i32>hh;
  setI32(RANKS, 0, kl);
  setI32(RANKS, 1, min(kl + 1, m - 1));
  setI32(RANKS, 2, km);
  setI32(RANKS, 3, min(km + 1, m - 1));
  setI32(RANKS, 4, kh);
  setI32(RANKS, 5, min(kh + 1, m - 1));
  quartilesReordered = false;
  if (bucketStatistics(base, m)) {
    quartileLow = interpolateRank(statistic(0), statistic(1), hl, kl, m);
    quartileHigh = interpolateRank(statistic(4), statistic(5), hh, kh, m);
    return interpolateRank(statistic(2), statistic(3), hm, km, m);
  }
  quartilesReordered = true;
  const am = selectInPlace(base, m, km);
  // After selection nothing beyond km is smaller than am: the next order statistic is their minimum.
  const median = interpolateRank(am, minimumOf(base, km + 1, m), hm, km, m);
  // The km + 1 smallest values hold order statistics 0..km; the next above kl is within them unless kl = km.
  const al = selectInPlace(base, km + 1, kl);
  const bl = kl < km ? minimumOf(base, kl + 1, km + 1) : minimumOf(base, km + 1, m);
  quartileLow = interpolateRank(al, bl, hl, kl, m);
  const upper = base + (<usize>km << 2);
  const ah = selectInPlace(upper, m - km, kh - km);
  quartileHigh = interpolateRank(ah, minimumOf(base, kh + 1, m), hh, kh, m);
  return median;
}

/**
 * One clipping pass over the m values at base: the sum and count of the values with
 * |v - centre| <= width (passSum, passCount), and the sum of their squared deviations from
 * mean = passSum / passCount (passSquares; 0 when nothing was kept), in the same pass: the squared
 * deviations d^2 from the centre are summed with the values, and passSquares = sum d^2 - n (mean - centre)^2
 * (no cancellation to speak of for a centre among the values: the clipped passes' median or mean, or
 * for nIter 0, which keeps every value, the bin's first value).
 */
function clipPass(base: usize, m: i32, centre: f64, width: f64): void {
  let s0: f64 = 0, s1: f64 = 0, s2: f64 = 0, s3: f64 = 0;
  let c0: f64 = 0, c1: f64 = 0, c2: f64 = 0, c3: f64 = 0;
  let q0: f64 = 0, q1: f64 = 0, q2: f64 = 0, q3: f64 = 0;
  let i = 0;
  const m4 = m & ~3;
  if (ASC_FEATURE_SIMD) {
    const cV = f64x2.splat(centre);
    const wV = f64x2.splat(width);
    const one = f64x2.splat(1);
    let sLo = f64x2.splat(0), sHi = f64x2.splat(0), cLo = f64x2.splat(0), cHi = f64x2.splat(0), qLo = f64x2.splat(0), qHi = f64x2.splat(0);
    for (; i < m4; i += 4) {
      const v = v128.load(base + (<usize>i << 2));
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
      const dLo = f64x2.sub(lo, cV), dHi = f64x2.sub(hi, cV);
      const kLo = f64x2.le(f64x2.abs(dLo), wV);
      const kHi = f64x2.le(f64x2.abs(dHi), wV);
      sLo = f64x2.add(sLo, v128.and(lo, kLo));
      sHi = f64x2.add(sHi, v128.and(hi, kHi));
      cLo = f64x2.add(cLo, v128.and(one, kLo));
      cHi = f64x2.add(cHi, v128.and(one, kHi));
      qLo = f64x2.add(qLo, v128.and(f64x2.mul(dLo, dLo), kLo));
      qHi = f64x2.add(qHi, v128.and(f64x2.mul(dHi, dHi), kHi));
    }
    s0 = f64x2.extract_lane(sLo, 0); s1 = f64x2.extract_lane(sLo, 1);
    s2 = f64x2.extract_lane(sHi, 0); s3 = f64x2.extract_lane(sHi, 1);
    c0 = f64x2.extract_lane(cLo, 0); c1 = f64x2.extract_lane(cLo, 1);
    c2 = f64x2.extract_lane(cHi, 0); c3 = f64x2.extract_lane(cHi, 1);
    q0 = f64x2.extract_lane(qLo, 0); q1 = f64x2.extract_lane(qLo, 1);
    q2 = f64x2.extract_lane(qHi, 0); q3 = f64x2.extract_lane(qHi, 1);
  } else {
    for (; i < m4; i += 4) {
      const p = base + (<usize>i << 2);
      const v0 = <f64>load<f32>(p), v1 = <f64>load<f32>(p, 4), v2 = <f64>load<f32>(p, 8), v3 = <f64>load<f32>(p, 12);
      const d0 = v0 - centre, d1 = v1 - centre, d2 = v2 - centre, d3 = v3 - centre;
      const k0 = abs(d0) <= width, k1 = abs(d1) <= width, k2 = abs(d2) <= width, k3 = abs(d3) <= width;
      s0 += k0 ? v0 : 0; s1 += k1 ? v1 : 0; s2 += k2 ? v2 : 0; s3 += k3 ? v3 : 0;
      c0 += k0 ? 1 : 0; c1 += k1 ? 1 : 0; c2 += k2 ? 1 : 0; c3 += k3 ? 1 : 0;
      q0 += k0 ? d0 * d0 : 0; q1 += k1 ? d1 * d1 : 0; q2 += k2 ? d2 * d2 : 0; q3 += k3 ? d3 * d3 : 0;
    }
  }
  // The tail continues the lane of its index (i mod 4).
  for (; i < m; i++) {
    const v = <f64>load<f32>(base + (<usize>i << 2));
    const d = v - centre;
    const keep = abs(d) <= width;
    const add: f64 = keep ? v : 0;
    const one: f64 = keep ? 1 : 0;
    const square: f64 = keep ? d * d : 0;
    const lane = i & 3;
    if (lane == 0) { s0 += add; c0 += one; q0 += square; } else if (lane == 1) { s1 += add; c1 += one; q1 += square; } else { s2 += add; c2 += one; q2 += square; }
  }
  passSum = (s0 + s1) + (s2 + s3);
  passCount = (c0 + c1) + (c2 + c3);
  passSquares = 0;
  if (passCount == 0) return;
  const offset = passSum / passCount - centre;
  passSquares = max((q0 + q1) + (q2 + q3) - passCount * offset * offset, 0);
}

/** Copies the good pixels of the box [x0, x1) x [y0, y1) to scratch in raster order; returns their count. */
function gather(image: usize, mask: usize, width: i32, badBits: i32, x0: i32, x1: i32, y0: i32, y1: i32, scratch: usize): i32 {
  let m = 0;
  for (let y = y0; y < y1; y++) {
    const row = <usize>y * <usize>width;
    let x = x0;
    if (ASC_FEATURE_SIMD) {
      // Four pixels at once, stored together when all are good (the common case), else one by one.
      const bits = i32x4.splat(badBits);
      const zero = f32x4.splat(0);
      for (; x + 4 <= x1; x += 4) {
        const p = (row + <usize>x) << 2;
        const v = v128.load(image + p);
        let good = f32x4.eq(f32x4.sub(v, v), zero);
        if (mask != 0) good = v128.and(good, i32x4.eq(v128.and(v128.load(mask + p), bits), i32x4.splat(0)));
        if (i32x4.all_true(good)) {
          v128.store(scratch + (<usize>m << 2), v);
          m += 4;
        } else {
          for (let k: usize = 0; k < 4; k++) m = gatherPixel(image, mask, badBits, p + (k << 2), scratch, m);
        }
      }
    }
    for (; x < x1; x++) m = gatherPixel(image, mask, badBits, (row + <usize>x) << 2, scratch, m);
  }
  return m;
}

/** The pixel at byte offset p appended to scratch[m] when good; returns the new count. */
@inline
function gatherPixel(image: usize, mask: usize, badBits: i32, p: usize, scratch: usize, m: i32): i32 {
  const v = load<f32>(image + p);
  if (!(v - v == 0)) return m;
  if (mask != 0 && (load<i32>(mask + p) & badBits) != 0) return m;
  store<f32>(scratch + (<usize>m << 2), v);
  return m + 1;
}

/**
 * Clipped mean (afw MEANCLIP) of the good pixels of each of the nx x ny bins of `image` (width x height
 * f32; `mask` i32, 0: no mask) bounded by `xEdges` (nx + 1 i32) and `yEdges` (ny + 1 i32), into `out`
 * (4 f64 per bin, row-major: mean, variance of the mean, n used, n good). `scratch` holds the largest
 * bin's pixel count of f32. Returns BAD_ARGUMENT for empty grids, edges outside the image or not
 * increasing, nSigma not > 0 or nIter < 0.
 */
export function binClippedMean(image: usize, mask: usize, width: i32, height: i32, badBits: i32, xEdges: usize, nx: i32, yEdges: usize, ny: i32,
  nSigma: f64, nIter: i32, scratch: usize, out: usize): i32 {
  if (width <= 0 || height <= 0 || nx < 1 || ny < 1 || !(nSigma > 0) || nIter < 0) return BAD_ARGUMENT;
  const n = <usize>width * <usize>height;
  assertInMemory(image, n << 2);
  if (mask != 0) assertInMemory(mask, n << 2);
  assertInMemory(xEdges, <usize>(nx + 1) << 2);
  assertInMemory(yEdges, <usize>(ny + 1) << 2);
  assertInMemory(out, <usize>nx * <usize>ny << 5);
  let largest = 0;
  for (let i = 0; i <= nx; i++) {
    const e = load<i32>(xEdges + (<usize>i << 2));
    if (e < 0 || e > width || (i > 0 && e <= load<i32>(xEdges + (<usize>(i - 1) << 2)))) return BAD_ARGUMENT;
  }
  for (let j = 0; j <= ny; j++) {
    const e = load<i32>(yEdges + (<usize>j << 2));
    if (e < 0 || e > height || (j > 0 && e <= load<i32>(yEdges + (<usize>(j - 1) << 2)))) return BAD_ARGUMENT;
  }
  for (let j = 0; j < ny; j++) {
    const h = load<i32>(yEdges + (<usize>(j + 1) << 2)) - load<i32>(yEdges + (<usize>j << 2));
    for (let i = 0; i < nx; i++) largest = max(largest, h * (load<i32>(xEdges + (<usize>(i + 1) << 2)) - load<i32>(xEdges + (<usize>i << 2))));
  }
  assertInMemory(scratch, <usize>largest << 2);
  for (let j = 0; j < ny; j++) {
    const y0 = load<i32>(yEdges + (<usize>j << 2));
    const y1 = load<i32>(yEdges + (<usize>(j + 1) << 2));
    for (let i = 0; i < nx; i++) {
      const x0 = load<i32>(xEdges + (<usize>i << 2));
      const x1 = load<i32>(xEdges + (<usize>(i + 1) << 2));
      const m = gather(image, mask, width, badBits, x0, x1, y0, y1, scratch);
      const o = out + ((<usize>j * <usize>nx + <usize>i) << 5);
      store<f64>(o + 24, <f64>m);
      if (m == 0) {
        store<f64>(o, NaN);
        store<f64>(o + 8, NaN);
        store<f64>(o + 16, 0);
        continue;
      }
      // nIter 0 keeps every value (an infinite width): the centre is only the squares' origin, one of the values.
      let centre: f64 = <f64>load<f32>(scratch);
      let iqrWidth: f64 = Infinity;
      if (nIter > 0) {
        centre = quartilesInPlace(scratch, m);
        iqrWidth = nSigma * (IQ_TO_STDEV * (quartileHigh - quartileLow));
        // Selection reordered the values: gather them again so that the sums run in raster order.
        if (quartilesReordered) gather(image, mask, width, badBits, x0, x1, y0, y1, scratch);
      }
      let clipWidth: f64 = iqrWidth;
      let mean: f64 = centre;
      let variance: f64 = NaN;
      let used: f64 = 0;
      const passes = max(nIter, 1);
      for (let pass = 0; pass < passes; pass++) {
        clipPass(scratch, m, centre, clipWidth);
        if (passCount == 0) break;
        mean = passSum / passCount;
        const s2 = passCount > 1 ? passSquares / (passCount - 1) : 0;
        variance = passCount > 1 ? s2 / passCount : NaN;
        used = passCount;
        centre = mean;
        clipWidth = passCount > 1 ? nSigma * Math.sqrt(s2) : iqrWidth;
      }
      store<f64>(o, mean);
      store<f64>(o + 8, variance);
      store<f64>(o + 16, used);
    }
  }
  return OK;
}

/**
 * Model plane `out` (width x height f32) from per-row piecewise polynomials: nSeg segments with pixel
 * boundaries `breaks` (nSeg + 1 i32, from 0 to width, non-decreasing: empty segments are allowed),
 * `centres` and `scales` (nSeg f32 each), and `coefficients` (height x nSeg x (degree + 1) f32, the
 * constant term first). Returns BAD_ARGUMENT for bad sizes or breaks.
 */
export function evaluateRowPolynomials(out: usize, width: i32, height: i32, breaks: usize, nSeg: i32, centres: usize, scales: usize, degree: i32, coefficients: usize): i32 {
  return rowPolynomials(out, width, height, breaks, nSeg, centres, scales, degree, coefficients, false);
}

/**
 * image -= the model evaluateRowPolynomials would write (same arguments, same f32 values), in place:
 * background subtraction without a model plane.
 */
export function subtractRowPolynomials(image: usize, width: i32, height: i32, breaks: usize, nSeg: i32, centres: usize, scales: usize, degree: i32, coefficients: usize): i32 {
  return rowPolynomials(image, width, height, breaks, nSeg, centres, scales, degree, coefficients, true);
}

function rowPolynomials(out: usize, width: i32, height: i32, breaks: usize, nSeg: i32, centres: usize, scales: usize, degree: i32, coefficients: usize, subtract: bool): i32 {
  if (width <= 0 || height <= 0 || nSeg < 1 || degree < 0) return BAD_ARGUMENT;
  assertInMemory(out, <usize>width * <usize>height << 2);
  assertInMemory(breaks, <usize>(nSeg + 1) << 2);
  assertInMemory(centres, <usize>nSeg << 2);
  assertInMemory(scales, <usize>nSeg << 2);
  const nc = degree + 1;
  assertInMemory(coefficients, <usize>height * <usize>nSeg * <usize>nc << 2);
  if (load<i32>(breaks) != 0 || load<i32>(breaks + (<usize>nSeg << 2)) != width) return BAD_ARGUMENT;
  for (let s = 0; s < nSeg; s++) {
    if (load<i32>(breaks + (<usize>(s + 1) << 2)) < load<i32>(breaks + (<usize>s << 2))) return BAD_ARGUMENT;
  }
  for (let y = 0; y < height; y++) {
    const row = out + (<usize>y * <usize>width << 2);
    for (let s = 0; s < nSeg; s++) {
      const x0 = load<i32>(breaks + (<usize>s << 2));
      const x1 = load<i32>(breaks + (<usize>(s + 1) << 2));
      const c = load<f32>(centres + (<usize>s << 2));
      const sc = load<f32>(scales + (<usize>s << 2));
      const coef = coefficients + ((<usize>y * <usize>nSeg + <usize>s) * <usize>nc << 2);
      const top = load<f32>(coef + (<usize>degree << 2));
      let x = x0;
      if (ASC_FEATURE_SIMD) {
        const cV = f32x4.splat(c);
        const sV = f32x4.splat(sc);
        const topV = f32x4.splat(top);
        let xs = i32x4.add(i32x4.splat(x0), i32x4(0, 1, 2, 3));
        const four = i32x4.splat(4);
        if (degree == 3) {
          // The cubic (every background model's rows) with its coefficients held in registers: the same
          // operations in the same order as the general loop below.
          const c2 = f32x4.splat(load<f32>(coef, 8)), c1 = f32x4.splat(load<f32>(coef, 4)), c0 = f32x4.splat(load<f32>(coef));
          for (; x + 4 <= x1; x += 4) {
            const u = f32x4.mul(f32x4.sub(f32x4.convert_i32x4_s(xs), cV), sV);
            const v = f32x4.add(f32x4.mul(f32x4.add(f32x4.mul(f32x4.add(f32x4.mul(topV, u), c2), u), c1), u), c0);
            const p = row + (<usize>x << 2);
            v128.store(p, subtract ? f32x4.sub(v128.load(p), v) : v);
            xs = i32x4.add(xs, four);
          }
        }
        for (; x + 4 <= x1; x += 4) {
          const u = f32x4.mul(f32x4.sub(f32x4.convert_i32x4_s(xs), cV), sV);
          let v = topV;
          for (let k = degree - 1; k >= 0; k--) v = f32x4.add(f32x4.mul(v, u), f32x4.splat(load<f32>(coef + (<usize>k << 2))));
          const p = row + (<usize>x << 2);
          v128.store(p, subtract ? f32x4.sub(v128.load(p), v) : v);
          xs = i32x4.add(xs, four);
        }
      }
      for (; x < x1; x++) {
        const u = (<f32>x - c) * sc;
        let v = top;
        for (let k = degree - 1; k >= 0; k--) v = v * u + load<f32>(coef + (<usize>k << 2));
        const p = row + (<usize>x << 2);
        store<f32>(p, subtract ? load<f32>(p) - v : v);
      }
    }
  }
  return OK;
}
