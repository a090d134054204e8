// Separable convolution of an f32 plane with a symmetric-or-not 1-D kernel applied along x then y.
// Units: whatever the image holds; the kernel is normalised by the caller (sum 1 conserves flux).
// Edges: where the kernel overhangs the image, the sum runs over the pixels inside and is divided by
// the kernel weight inside (a renormalised truncated kernel), as SExtractor's filtering does; interior
// pixels are the plain weighted sum. Summation order is the kernel order for every pixel, in the SIMD
// and the scalar build alike, so both give bit-identical results (wasm SIMD has no fused multiply-add).
// Reference: the separable-kernel path of LSST afw::math::convolve (SeparableKernel).
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';

// One output pixel along a line with stride `step` (bytes), kernel overhanging the line ends.
@inline
function edgePixel(src: usize, step: usize, n: i32, i: i32, kernel: usize, half: i32): f32 {
  let sum: f32 = 0;
  let weight: f32 = 0;
  for (let j = -half; j <= half; j++) {
    const p = i + j;
    if (p < 0 || p >= n) continue;
    const k = load<f32>(kernel + (<usize>(j + half) << 2));
    sum += k * load<f32>(src + <usize>p * step);
    weight += k;
  }
  return weight != 0 ? sum / weight : 0;
}

// The convolution along x of `rows` rows from src into dst (row-major, width f32 each).
function convolveRows(src: usize, dst: usize, width: i32, rows: i32, kernel: usize, half: i32): void {
  const ksize = 2 * half + 1;
  for (let y = 0; y < rows; y++) {
    const row = src + (<usize>y * <usize>width << 2);
    const out = dst + (<usize>y * <usize>width << 2);
    const lo = min(half, width);
    const hi = max(lo, width - half);
    for (let x = 0; x < lo; x++) store<f32>(out + (<usize>x << 2), edgePixel(row, 4, width, x, kernel, half));
    let x = lo;
    if (ASC_FEATURE_SIMD) {
      // 16 pixels at a time: one splat of each kernel value serves four sums.
      for (; x + 16 <= hi; x += 16) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let p = row + (<usize>(x - half) << 2);
        for (let j = 0; j < ksize; j++) {
          const k = f32x4.splat(load<f32>(kernel + (<usize>j << 2)));
          a0 = f32x4.add(a0, f32x4.mul(k, v128.load(p)));
          a1 = f32x4.add(a1, f32x4.mul(k, v128.load(p, 16)));
          a2 = f32x4.add(a2, f32x4.mul(k, v128.load(p, 32)));
          a3 = f32x4.add(a3, f32x4.mul(k, v128.load(p, 48)));
          p += 4;
        }
        const o = out + (<usize>x << 2);
        v128.store(o, a0);
        v128.store(o, a1, 16);
        v128.store(o, a2, 32);
        v128.store(o, a3, 48);
      }
      for (; x + 4 <= hi; x += 4) {
        let acc = f32x4.splat(0);
        const base = row + (<usize>(x - half) << 2);
        for (let j = 0; j < ksize; j++) {
          const k = f32x4.splat(load<f32>(kernel + (<usize>j << 2)));
          acc = f32x4.add(acc, f32x4.mul(k, v128.load(base + (<usize>j << 2))));
        }
        v128.store(out + (<usize>x << 2), acc);
      }
    }
    for (; x < hi; x++) {
      let acc: f32 = 0;
      const base = row + (<usize>(x - half) << 2);
      for (let j = 0; j < ksize; j++) acc += load<f32>(kernel + (<usize>j << 2)) * load<f32>(base + (<usize>j << 2));
      store<f32>(out + (<usize>x << 2), acc);
    }
    for (x = hi; x < width; x++) store<f32>(out + (<usize>x << 2), edgePixel(row, 4, width, x, kernel, half));
  }
}

// Four interior output rows (y .. y + 3) over the 8-column blocks from x = 0: input row y - half + t
// serves output row y + k with tap t - k, so each input vector is loaded once for up to four sums
// (instead of once per sum: the kernel's rows lie a power-of-two stride apart on wide images, which the
// cache serves badly). Each sum still adds its taps in kernel order. Returns the first column not done.
@inline
function columnsFourRows(src: usize, dst: usize, width: i32, y: i32, kernel: usize, half: i32): i32 {
  const ksize = 2 * half + 1;
  const stride = <usize>width << 2;
  let x = 0;
  for (; x + 8 <= width; x += 8) {
    let a0 = f32x4.splat(0), b0 = f32x4.splat(0), a1 = f32x4.splat(0), b1 = f32x4.splat(0);
    let a2 = f32x4.splat(0), b2 = f32x4.splat(0), a3 = f32x4.splat(0), b3 = f32x4.splat(0);
    let p = src + <usize>(y - half) * stride + (<usize>x << 2);
    for (let t = 0; t < ksize + 3; t++) {
      const v = v128.load(p), w = v128.load(p, 16);
      if (t < ksize) {
        const k = v128.load32_splat(kernel + (<usize>t << 2));
        a0 = f32x4.add(a0, f32x4.mul(k, v));
        b0 = f32x4.add(b0, f32x4.mul(k, w));
      }
      if (t >= 1 && t <= ksize) {
        const k = v128.load32_splat(kernel + (<usize>(t - 1) << 2));
        a1 = f32x4.add(a1, f32x4.mul(k, v));
        b1 = f32x4.add(b1, f32x4.mul(k, w));
      }
      if (t >= 2 && t <= ksize + 1) {
        const k = v128.load32_splat(kernel + (<usize>(t - 2) << 2));
        a2 = f32x4.add(a2, f32x4.mul(k, v));
        b2 = f32x4.add(b2, f32x4.mul(k, w));
      }
      if (t >= 3) {
        const k = v128.load32_splat(kernel + (<usize>(t - 3) << 2));
        a3 = f32x4.add(a3, f32x4.mul(k, v));
        b3 = f32x4.add(b3, f32x4.mul(k, w));
      }
      p += stride;
    }
    const o = dst + <usize>y * stride + (<usize>x << 2);
    v128.store(o, a0);
    v128.store(o, b0, 16);
    v128.store(o + stride, a1);
    v128.store(o + stride, b1, 16);
    v128.store(o + 2 * stride, a2);
    v128.store(o + 2 * stride, b2, 16);
    v128.store(o + 3 * stride, a3);
    v128.store(o + 3 * stride, b3, 16);
  }
  return x;
}

// Output rows y0 .. y1 - 1 of the convolution along y; input row r (0 <= r < height) at src + r x stride,
// where `src` may be a virtual base whose rows before the window in memory are never read.
function convolveColumns(src: usize, dst: usize, width: i32, height: i32, kernel: usize, half: i32, y0: i32, y1: i32): void {
  const ksize = 2 * half + 1;
  const stride = <usize>width << 2;
  // Interior rows four at a time where SIMD is on: the 8-column blocks, then the rows' remaining columns one
  // row at a time. A block of four stays within the rows asked for (their inputs are all in the window).
  let blockedRows = 0, blockedTo = 0;
  for (let y = y0; y < y1; y++) {
    const out = dst + <usize>y * stride;
    if (y < half || y >= height - half) {
      for (let x = 0; x < width; x++) {
        store<f32>(out + (<usize>x << 2), edgePixel(src + (<usize>x << 2), stride, height, y, kernel, half));
      }
      continue;
    }
    const top = src + <usize>(y - half) * stride;
    let x = 0;
    if (ASC_FEATURE_SIMD) {
      if (blockedRows == 0 && y + 4 <= min(height - half, y1)) {
        blockedTo = columnsFourRows(src, dst, width, y, kernel, half);
        blockedRows = 4;
      }
      if (blockedRows > 0) {
        x = blockedTo;
        blockedRows--;
      }
      // 16 columns at a time: each kernel row then reads one whole cache line, and one splat serves four sums.
      for (; x + 16 <= width; x += 16) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let p = top + (<usize>x << 2);
        for (let j = 0; j < ksize; j++) {
          const k = f32x4.splat(load<f32>(kernel + (<usize>j << 2)));
          a0 = f32x4.add(a0, f32x4.mul(k, v128.load(p)));
          a1 = f32x4.add(a1, f32x4.mul(k, v128.load(p, 16)));
          a2 = f32x4.add(a2, f32x4.mul(k, v128.load(p, 32)));
          a3 = f32x4.add(a3, f32x4.mul(k, v128.load(p, 48)));
          p += stride;
        }
        const o = out + (<usize>x << 2);
        v128.store(o, a0);
        v128.store(o, a1, 16);
        v128.store(o, a2, 32);
        v128.store(o, a3, 48);
      }
      for (; x + 4 <= width; x += 4) {
        let acc = f32x4.splat(0);
        let p = top + (<usize>x << 2);
        for (let j = 0; j < ksize; j++) {
          const k = f32x4.splat(load<f32>(kernel + (<usize>j << 2)));
          acc = f32x4.add(acc, f32x4.mul(k, v128.load(p)));
          p += stride;
        }
        v128.store(out + (<usize>x << 2), acc);
      }
    }
    for (; x < width; x++) {
      let acc: f32 = 0;
      let p = top + (<usize>x << 2);
      for (let j = 0; j < ksize; j++) {
        acc += load<f32>(kernel + (<usize>j << 2)) * load<f32>(p);
        p += stride;
      }
      store<f32>(out + (<usize>x << 2), acc);
    }
  }
}

/**
 * Convolves `src` (width x height f32) with `kernel` (2*half+1 f32) along x, then along y into `dst`, in
 * strips of STRIP_ROWS output rows: the x-convolved rows a strip needs go to a window at the start of
 * `scratch` (the strip and half rows either side; the rows the next strip shares are moved to the
 * window's top, not convolved again), which the cache holds, instead of a whole x-convolved plane
 * written to memory and read back. The same sums in the same order as plane by plane. `dst` may equal
 * `src` (a strip's rows are written after every row they overwrite was x-convolved into the window);
 * `scratch` must be a distinct plane of the same size.
 * Returns OK, or BAD_ARGUMENT for non-positive sizes, a negative half-width or aliasing scratch.
 */
export function convolveSeparable(src: usize, dst: usize, scratch: usize, width: i32, height: i32, kernel: usize, half: i32): i32 {
  return convolveSeparableXY(src, dst, scratch, width, height, kernel, kernel, half);
}

// As convolveSeparable with different kernels along x (kernelX) and y (kernelY), both 2 half + 1 taps:
// one separable term of a general kernel (PSF matching sums several, lib/image/psfMatch.ts).
export function convolveSeparableXY(src: usize, dst: usize, scratch: usize, width: i32, height: i32, kernelX: usize, kernelY: usize, half: i32): i32 {
  if (width <= 0 || height <= 0 || half < 0 || scratch == src || scratch == dst) return BAD_ARGUMENT;
  const bytes = <usize>width * <usize>height << 2;
  assertInMemory(src, bytes);
  assertInMemory(dst, bytes);
  assertInMemory(scratch, bytes);
  assertInMemory(kernelX, <usize>(2 * half + 1) << 2);
  assertInMemory(kernelY, <usize>(2 * half + 1) << 2);
  const stride = <usize>width << 2;
  // The window holds the x-convolved input rows [first, first + held).
  let first = 0, held = 0;
  for (let y0 = 0; y0 < height; y0 += STRIP_ROWS) {
    const y1 = min(y0 + STRIP_ROWS, height);
    const from = max(0, y0 - half), to = min(height, y1 + half);
    if (from > first) {
      const keep = max(first + held - from, 0);
      if (keep > 0) memory.copy(scratch, scratch + <usize>(from - first) * stride, <usize>keep * stride);
      first = from;
      held = keep;
    }
    const next = first + held;
    if (to > next) {
      convolveRows(src + <usize>next * stride, scratch + <usize>(next - first) * stride, width, to - next, kernelX, half);
      held = to - first;
    }
    // Input row r lies at scratch + (r - first) x stride: a base `first` rows before the window (wrapping
    // address arithmetic; only rows from `first` on are read).
    convolveColumns(scratch - <usize>first * stride, dst, width, height, kernelY, half, y0, y1);
  }
  return OK;
}

/** Output rows per strip of convolveSeparableXY (a multiple of the column pass's four-row blocks). */
const STRIP_ROWS: i32 = 32;

/**
 * dst += src over `n` f32 pixels (f32 adds, the same in the SIMD and the scalar build): the sum of the
 * separable terms of a kernel that is not itself separable (lib/image/psfMatch.ts's convolveTerms).
 */
export function addPlane(dst: usize, src: usize, n: i32): i32 {
  if (n < 0) return BAD_ARGUMENT;
  assertInMemory(dst, <usize>n << 2);
  assertInMemory(src, <usize>n << 2);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
  return OK;
}
