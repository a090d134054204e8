// Source-detection kernels (LSST meas_algorithms SourceDetectionTask, afw FootprintSet): the per-pixel
// steps between the smoothed image and the footprints; lib/measure/detection.ts runs them in order.
//
// replaceNonFinite: NaN and +-Inf pixels set to a value (0 in a background-subtracted image before it
//   is smoothed, so that a masked NO_DATA row does not spread NaN through the convolution); their count
//   to an i32 when asked (detection's test for pixels without data).
// thresholdPlane: flags[i] = 1 where polarity x value >= threshold x rowScale[y] x columnScale[x] x
//   sqrt(variance[i]) (any of the three factors may be absent), else 0; polarity +1 finds positive
//   footprints, -1 negative ones (value <= -limit, afw Threshold's parity). Non-finite values or limits
//   never pass. The limit is computed as ((threshold x rowScale) x columnScale) x sqrt(variance) in f32
//   in every build, so the builds agree bit for bit.
// labelComponents: connected components of the flagged pixels, 8-connected (afw FootprintSet joins
//   pixels that touch at a corner), by a two-pass raster scan with union-find (the smaller provisional
//   label becomes the root): labels 1..N numbered in raster order of each component's first pixel, 0
//   elsewhere. Scratch: ceil(w/2) x ceil(h/2) + 1 i32 (a new provisional label needs a 2x2 block of its
//   own, so that bounds their number).
// findPeaks: the flagged pixels (u8, the components' pixels) that are local maxima of polarity x value / (columnScale[x]
//   x rowScale[y]) among their 8 neighbours inside the image (afw's peak finding in a footprint, on the
//   smoothed image; the scales, which may be absent, are the smoothed white noise's rise towards the
//   edges, so that there the maxima are those of its significance): strictly greater than the neighbours that come
//   earlier in raster order and >= the later ones, so a plateau gives exactly one peak (its first pixel).
//   Compared in f64, so that where the scales are 1 the order is that of the f32 values themselves.
//   Writes up to `capacity` pixel indices, in raster order, and the total count.
// dilateDisk: isotropic growth of a flag plane by `radius` px: out = 1 wherever a flagged pixel lies
//   within the disk dx^2 + dy^2 <= radius^2 (afw Footprint dilation with isotropic stencil, as
//   SourceDetectionTask's nSigmaToGrow with isotropicGrow). Per row, the horizontal distance to the
//   nearest flagged pixel (capped at radius + 1) goes to scratch; then a pixel is set when, for some dy,
//   the distance in row y + dy is <= floor(sqrt(radius^2 - dy^2)). Scratch: width x height u16; radius at
//   most 46340 (radius^2 in i32).
// labelRuns: the runs (maximal horizontal stretches of one label) of a label plane in raster order, as
//   4 i32 each (label, y, x0, x1 inclusive), up to `capacity`, and their total count: the spans of the
//   footprints.
// setMaskBit: mask bit `bit` set where flags != 0 and cleared elsewhere (LSST clears DETECTED before it
//   sets it anew). clearMaskBits: the given bits cleared in every pixel of a mask.
// Flags are u8 planes (0 or 1); labels i32; values and variances f32. Every kernel returns OK or
// BAD_ARGUMENT and never allocates. SIMD paths (thresholdPlane, dilateDisk, setMaskBit, clearMaskBits, replaceNonFinite)
// do the same operations as the scalar code lane by lane; labelling, runs and peaks are scalar but skip
// unflagged stretches (16 flags, 4 labels) at once with SIMD.
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';

/** plane[i] = value wherever plane[i] is NaN or infinite (n f32); how many, to the i32 at `count` unless it is 0. */
export function replaceNonFinite(plane: usize, n: i32, value: f32, count: usize): i32 {
  if (n < 0) return BAD_ARGUMENT;
  assertInMemory(plane, <usize>n << 2);
  let i: usize = 0;
  let replaced: i32 = 0;
  const total = <usize>n;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    const fill = f32x4.splat(value);
    let lanes = i32x4.splat(0);
    for (; i + 4 <= total; i += 4) {
      const p = plane + (i << 2);
      const v = v128.load(p);
      const finite = f32x4.eq(f32x4.sub(v, v), zero);
      v128.store(p, v128.bitselect(v, fill, finite));
      lanes = i32x4.sub(lanes, v128.not(finite)); // -1 per non-finite lane
    }
    replaced = i32x4.extract_lane(lanes, 0) + i32x4.extract_lane(lanes, 1) + i32x4.extract_lane(lanes, 2) + i32x4.extract_lane(lanes, 3);
  }
  for (; i < total; i++) {
    const p = plane + (i << 2);
    const v = load<f32>(p);
    if (!(v - v == 0)) {
      store<f32>(p, value);
      replaced++;
    }
  }
  if (count != 0) store<i32>(count, replaced);
  return OK;
}

/** Four i32x4 lanes of -1/0 to four bytes 1/0 at ptr. */
@inline
function storeFlags4(ptr: usize, lanes: v128): void {
  const b = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(lanes, lanes), i16x8.splat(0));
  v128.store32_lane(ptr, v128.and(b, i8x16.splat(1)), 0);
}

/**
 * flags (u8, width x height) = polarity x src >= threshold x rowScale[y] x columnScale[x] x
 * sqrt(variance). `variance` (f32 plane), `columnScale` (width f32) and `rowScale` (height f32) may be 0
 * (factor 1). polarity must be +1 or -1.
 */
export function thresholdPlane(src: usize, width: i32, height: i32, variance: usize, columnScale: usize, rowScale: usize, threshold: f32, polarity: i32, flags: usize): i32 {
  if (width <= 0 || height <= 0 || (polarity != 1 && polarity != -1) || threshold != threshold) return BAD_ARGUMENT;
  const n = <usize>width * <usize>height;
  assertInMemory(src, n << 2);
  if (variance != 0) assertInMemory(variance, n << 2);
  if (columnScale != 0) assertInMemory(columnScale, <usize>width << 2);
  if (rowScale != 0) assertInMemory(rowScale, <usize>height << 2);
  assertInMemory(flags, n);
  const sign: f32 = <f32>polarity;
  for (let y = 0; y < height; y++) {
    const rowLimit: f32 = rowScale != 0 ? threshold * load<f32>(rowScale + (<usize>y << 2)) : threshold;
    const base = <usize>y * <usize>width;
    let x = 0;
    if (ASC_FEATURE_SIMD) {
      const rowV = f32x4.splat(rowLimit);
      const signV = f32x4.splat(sign);
      for (; x + 4 <= width; x += 4) {
        const i = base + <usize>x;
        let limit = rowV;
        if (columnScale != 0) limit = f32x4.mul(limit, v128.load(columnScale + (<usize>x << 2)));
        if (variance != 0) limit = f32x4.mul(limit, f32x4.sqrt(v128.load(variance + (i << 2))));
        const value = f32x4.mul(v128.load(src + (i << 2)), signV);
        storeFlags4(flags + i, f32x4.ge(value, limit));
      }
    }
    for (; x < width; x++) {
      const i = base + <usize>x;
      let limit = rowLimit;
      if (columnScale != 0) limit = limit * load<f32>(columnScale + (<usize>x << 2));
      if (variance != 0) limit = limit * sqrt<f32>(load<f32>(variance + (i << 2)));
      const value = load<f32>(src + (i << 2)) * sign;
      store<u8>(flags + i, value >= limit ? 1 : 0);
    }
  }
  return OK;
}

/** Root of provisional label l (path halving keeps every parent below its child). */
@inline
function findRoot(parents: usize, l: i32): i32 {
  let p = load<i32>(parents + (<usize>l << 2));
  while (p != l) {
    const gp = load<i32>(parents + (<usize>p << 2));
    store<i32>(parents + (<usize>l << 2), gp);
    l = gp;
    p = load<i32>(parents + (<usize>l << 2));
  }
  return l;
}

/** Joins the sets of a and b; returns the root (the smaller of the two roots). */
@inline
function unite(parents: usize, a: i32, b: i32): i32 {
  const ra = findRoot(parents, a);
  const rb = findRoot(parents, b);
  if (ra == rb) return ra;
  if (ra < rb) {
    store<i32>(parents + (<usize>rb << 2), ra);
    return ra;
  }
  store<i32>(parents + (<usize>ra << 2), rb);
  return rb;
}

/**
 * 8-connected components of the nonzero pixels of `flags` (u8, width x height) into `labels` (i32):
 * 1..N in raster order of first pixels, 0 for unflagged pixels; N to out[0]. `parents` is scratch of
 * ceil(width/2) x ceil(height/2) + 1 i32.
 */
export function labelComponents(flags: usize, width: i32, height: i32, labels: usize, parents: usize, out: usize): i32 {
  if (width <= 0 || height <= 0) return BAD_ARGUMENT;
  const n = <usize>width * <usize>height;
  assertInMemory(flags, n);
  assertInMemory(labels, n << 2);
  assertInMemory(out, 4);
  const capacity = <usize>((width + 1) >> 1) * <usize>((height + 1) >> 1) + 1;
  assertInMemory(parents, capacity << 2);
  let next = 1;
  for (let y = 0; y < height; y++) {
    const row = <usize>y * <usize>width;
    for (let x = 0; x < width; x++) {
      const i = row + <usize>x;
      if (ASC_FEATURE_SIMD && x + 16 <= width && !v128.any_true(v128.load(flags + i))) {
        // Sixteen unflagged pixels (most of an image): their labels zeroed at once.
        const zero = i32x4.splat(0);
        const l0 = labels + (i << 2);
        v128.store(l0, zero);
        v128.store(l0, zero, 16);
        v128.store(l0, zero, 32);
        v128.store(l0, zero, 48);
        x += 15;
        continue;
      }
      if (load<u8>(flags + i) == 0) {
        store<i32>(labels + (i << 2), 0);
        continue;
      }
      // Neighbours already scanned: W, NW, N, NE.
      let l = 0;
      if (x > 0) {
        const w = load<i32>(labels + ((i - 1) << 2));
        if (w != 0) l = w;
      }
      if (y > 0) {
        const up = <usize>(y - 1) * <usize>width;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const u = load<i32>(labels + ((up + <usize>xx) << 2));
          if (u == 0) continue;
          l = l == 0 ? u : unite(parents, l, u);
        }
      }
      if (l == 0) {
        l = next++;
        store<i32>(parents + (<usize>l << 2), l);
      }
      store<i32>(labels + (i << 2), l);
    }
  }
  // Final numbers: each root (in increasing provisional order = raster order of first pixels) gets the
  // next number, stored negated; every other label takes its parent's (already final) number.
  let count = 0;
  for (let l = 1; l < next; l++) {
    const p = load<i32>(parents + (<usize>l << 2));
    if (p == l) store<i32>(parents + (<usize>l << 2), -(++count));
    else store<i32>(parents + (<usize>l << 2), load<i32>(parents + (<usize>p << 2)));
  }
  for (let i: usize = 0; i < n; i++) {
    if (ASC_FEATURE_SIMD && i + 4 <= n && !v128.any_true(v128.load(labels + (i << 2)))) {
      i += 3;
      continue;
    }
    const l = load<i32>(labels + (i << 2));
    if (l != 0) store<i32>(labels + (i << 2), -load<i32>(parents + (<usize>l << 2)));
  }
  store<i32>(out, count);
  return OK;
}

/**
 * Local maxima of polarity x `values` (f32) / (columnScale[x] x rowScale[y]) over the pixels whose u8
 * flag is nonzero (see the header; either scale pointer may be 0, factor 1): up to `capacity` pixel
 * indices to `peaks` (i32) in raster order, the total count to out[0].
 */
export function findPeaks(values: usize, flags: usize, width: i32, height: i32, columnScale: usize, rowScale: usize, polarity: i32, peaks: usize, capacity: i32, out: usize): i32 {
  if (width <= 0 || height <= 0 || capacity < 0 || (polarity != 1 && polarity != -1)) return BAD_ARGUMENT;
  const n = <usize>width * <usize>height;
  assertInMemory(values, n << 2);
  assertInMemory(flags, n);
  if (columnScale != 0) assertInMemory(columnScale, <usize>width << 2);
  if (rowScale != 0) assertInMemory(rowScale, <usize>height << 2);
  if (capacity > 0) assertInMemory(peaks, <usize>capacity << 2);
  assertInMemory(out, 4);
  const sign: f64 = <f64>polarity;
  let count = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = <usize>y * <usize>width + <usize>x;
      if (ASC_FEATURE_SIMD && x + 16 <= width && !v128.any_true(v128.load(flags + i))) {
        x += 15;
        continue;
      }
      if (load<u8>(flags + i) == 0) continue;
      const v = scaledValue(values, width, columnScale, rowScale, x, y) * sign;
      let peak = true;
      for (let dy = -1; dy <= 1 && peak; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          if (dx == 0 && dy == 0) continue;
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const u = scaledValue(values, width, columnScale, rowScale, xx, yy) * sign;
          const earlier = dy < 0 || (dy == 0 && dx < 0);
          if (earlier ? !(v > u) : !(v >= u)) {
            peak = false;
            break;
          }
        }
      }
      if (!peak) continue;
      if (count < capacity) store<i32>(peaks + (<usize>count << 2), <i32>i);
      count++;
    }
  }
  store<i32>(out, count);
  return OK;
}

/** values[y][x] / (columnScale[x] x rowScale[y]) in f64 (an absent scale is 1; the product is exact). */
@inline
function scaledValue(values: usize, width: i32, columnScale: usize, rowScale: usize, x: i32, y: i32): f64 {
  const v = <f64>load<f32>(values + ((<usize>y * <usize>width + <usize>x) << 2));
  const c: f64 = columnScale != 0 ? <f64>load<f32>(columnScale + (<usize>x << 2)) : 1;
  const r: f64 = rowScale != 0 ? <f64>load<f32>(rowScale + (<usize>y << 2)) : 1;
  return v / (c * r);
}

/** The largest dilateDisk radius: radius^2 must fit an i32 (its distances, u16 capped at radius + 1, would allow 65534). */
const MAX_DILATION: i32 = 46340;

/** floor(sqrt(v)) for v >= 0, exactly. */
@inline
function isqrt(v: i32): i32 {
  let w = <i32>Math.sqrt(<f64>v);
  while (w * w > v) w--;
  while ((w + 1) * (w + 1) <= v) w++;
  return w;
}

/**
 * out (u8) = flags (u8) dilated by a disk of `radius` px (at most MAX_DILATION; see the header); out may
 * be flags. `scratch` holds width x height u16.
 */
export function dilateDisk(flags: usize, out: usize, width: i32, height: i32, radius: i32, scratch: usize): i32 {
  if (width <= 0 || height <= 0 || radius < 0 || radius > MAX_DILATION) return BAD_ARGUMENT;
  const n = <usize>width * <usize>height;
  assertInMemory(flags, n);
  assertInMemory(out, n);
  assertInMemory(scratch, n << 1);
  const far = radius + 1;
  // Horizontal distance (u16) to the nearest flagged pixel of the row, capped at radius + 1. Sixteen
  // unflagged pixels after a capped one are all capped (forwards) and leave the distances (backwards).
  for (let y = 0; y < height; y++) {
    const row = <usize>y * <usize>width;
    let d = far;
    for (let x = 0; x < width; x++) {
      const i = row + <usize>x;
      if (ASC_FEATURE_SIMD && d == far && x + 16 <= width && !v128.any_true(v128.load(flags + i))) {
        const farV = i16x8.splat(<i16>far);
        v128.store(scratch + (i << 1), farV);
        v128.store(scratch + (i << 1), farV, 16);
        x += 15;
        continue;
      }
      d = load<u8>(flags + i) != 0 ? 0 : min(d + 1, far);
      store<u16>(scratch + (i << 1), <u16>d);
    }
    d = far;
    for (let x = width - 1; x >= 0; x--) {
      const i = row + <usize>x;
      if (ASC_FEATURE_SIMD && d == far && x >= 15 && !v128.any_true(v128.load(flags + i - 15))) {
        x -= 15;
        continue;
      }
      d = load<u8>(flags + i) != 0 ? 0 : min(d + 1, far);
      store<u16>(scratch + (i << 1), <u16>min(d, <i32>load<u16>(scratch + (i << 1))));
    }
  }
  const r2 = radius * radius;
  for (let y = 0; y < height; y++) {
    const row = out + <usize>y * <usize>width;
    memory.fill(row, 0, <usize>width);
    for (let dy = max(-radius, -y); dy <= min(radius, height - 1 - y); dy++) {
      const w = isqrt(r2 - dy * dy);
      const src = scratch + (<usize>(y + dy) * <usize>width << 1);
      let x = 0;
      if (ASC_FEATURE_SIMD) {
        const wV = i16x8.splat(<i16>w);
        const one = i8x16.splat(1);
        for (; x + 16 <= width; x += 16) {
          const a = src + (<usize>x << 1);
          const hit = i8x16.narrow_i16x8_s(i16x8.le_u(v128.load(a), wV), i16x8.le_u(v128.load(a, 16), wV));
          v128.store(row + <usize>x, v128.or(v128.load(row + <usize>x), v128.and(hit, one)));
        }
      }
      for (; x < width; x++) {
        if (<i32>load<u16>(src + (<usize>x << 1)) <= w) store<u8>(row + <usize>x, 1);
      }
    }
  }
  return OK;
}

/**
 * The runs of equal nonzero labels of `labels` (i32, width x height) in raster order: up to `capacity`
 * runs of 4 i32 (label, y, x0, x1 inclusive) to `runs`, the total number to out[0].
 */
export function labelRuns(labels: usize, width: i32, height: i32, runs: usize, capacity: i32, out: usize): i32 {
  if (width <= 0 || height <= 0 || capacity < 0) return BAD_ARGUMENT;
  assertInMemory(labels, <usize>width * <usize>height << 2);
  if (capacity > 0) assertInMemory(runs, <usize>capacity << 4);
  assertInMemory(out, 4);
  let count = 0;
  for (let y = 0; y < height; y++) {
    const row = labels + (<usize>y * <usize>width << 2);
    let x = 0;
    while (x < width) {
      if (ASC_FEATURE_SIMD && x + 4 <= width && !v128.any_true(v128.load(row + (<usize>x << 2)))) {
        x += 4;
        continue;
      }
      const l = load<i32>(row + (<usize>x << 2));
      if (l == 0) {
        x++;
        continue;
      }
      const x0 = x;
      while (x + 1 < width && load<i32>(row + (<usize>(x + 1) << 2)) == l) x++;
      if (count < capacity) {
        const r = runs + (<usize>count << 4);
        store<i32>(r, l);
        store<i32>(r, y, 4);
        store<i32>(r, x0, 8);
        store<i32>(r, x, 12);
      }
      count++;
      x++;
    }
  }
  store<i32>(out, count);
  return OK;
}

/** Sets mask bit `bit` (i32 mask) where flags (u8) != 0 and clears it elsewhere, over n pixels. */
export function setMaskBit(flags: usize, mask: usize, n: i32, bit: i32): i32 {
  if (n < 0 || bit < 0 || bit > 31) return BAD_ARGUMENT;
  assertInMemory(flags, <usize>n);
  assertInMemory(mask, <usize>n << 2);
  const value = 1 << bit;
  let i: usize = 0;
  const total = <usize>n;
  if (ASC_FEATURE_SIMD) {
    const set = i32x4.splat(value);
    const clear = i32x4.splat(~value);
    const zero = i32x4.splat(0);
    for (; i + 4 <= total; i += 4) {
      const f = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(flags + i)));
      const p = mask + (i << 2);
      const m = v128.load(p);
      v128.store(p, v128.bitselect(v128.or(m, set), v128.and(m, clear), i32x4.ne(f, zero)));
    }
  }
  for (; i < total; i++) {
    const p = mask + (i << 2);
    const m = load<i32>(p);
    store<i32>(p, load<u8>(flags + i) != 0 ? m | value : m & ~value);
  }
  return OK;
}

/** Clears `bits` in every pixel of an i32 mask of n pixels (mask &= ~bits). */
export function clearMaskBits(mask: usize, n: i32, bits: i32): i32 {
  if (n < 0) return BAD_ARGUMENT;
  assertInMemory(mask, <usize>n << 2);
  let i: usize = 0;
  const total = <usize>n;
  if (ASC_FEATURE_SIMD) {
    const clear = i32x4.splat(bits);
    for (; i + 4 <= total; i += 4) {
      const p = mask + (i << 2);
      v128.store(p, v128.andnot(v128.load(p), clear));
    }
  }
  for (; i < total; i++) {
    const p = mask + (i << 2);
    store<i32>(p, load<i32>(p) & ~bits);
  }
  return OK;
}
