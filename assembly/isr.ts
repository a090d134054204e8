// Instrument signature removal (ISR) kernels, the per-pixel steps of LSST ip_isr's IsrTask in its order:
//   overscanRowLevels / overscanMedian: the serial-overscan level of an amplifier (ADU), per raw row or
//     as one number (see lib/tasks/overscan.ts for how the rows are then smoothed);
//   assembleAmplifier: (raw ADU - overscan level of the row) x gain -> e-, written at the amplifier's place
//     on the trimmed, assembled detector (flipped back when the raw is stored mirrored), with the SAT bit
//     where the raw ADU >= the amplifier's saturation level (IsrTask.saturationDetection, on the raw value);
//   subtractScaled: image -= scale x calibration, variance += scale^2 x its variance (bias: scale 1; dark:
//     the exposure's dark time, the master dark being e-/s), like afw MaskedImage::scaledMinus;
//   setVariance: variance = max(image, 0) x poissonScale + readNoise^2 over an amplifier's box (e-;
//     IsrTask.updateVariance with the gain already applied: poissonScale 1; 0 for frames without signal);
//   divideByFlat: image /= flat; variance = (variance + image'^2 flatVariance) / flat^2 (afw MaskedImage
//     division); a flat that is not > 0 gives NaN (then masked);
//   maskNonFinite: a mask bit where the image or the variance is NaN or infinite (IsrTask.maskNan);
//   orMaskMapped: OR another mask's planes in, bit by bit through a table (calibration masks, as afw's
//     MaskedImage arithmetic ORs masks);
//   growMask: dilate one mask plane by `radius` pixels with the Manhattan (4-connected) metric
//     (IsrTask's growSaturationFootprintSize, default 1, grows SAT footprints non-isotropically);
//   interpolateRows: fill the pixels that carry any of `badBits` (LSST's maskListToInterpolate: SAT and
//     BAD) along their row, linearly between the nearest usable pixels on each side (constant from the one
//     side when the other is the row's end), set INTRP there, and NO_DATA (image and variance NaN) where a
//     whole row has no usable pixel. The variance of a filled pixel is interpolated the same way (the local
//     noise level). LSST interpolates along x too (afw interpolateOverDefects: a linear predictor across
//     the defect); for a defect between two good pixels both are linear in x.
//   scalePlanes: image *= s, variance *= s^2;
//   nanWhereMasked: image and variance NaN where the mask has any of some bits (frames going into a
//     combination, where NaN means "leave out");
//   flagInvalid: a mask bit where a combined calibration has no value, too few frames or (flats) is not > 0.
// Units: ADU in, electrons (e-) out of assembleAmplifier; the rest work in whatever units the planes hold.
// Every kernel returns OK or BAD_ARGUMENT. SIMD paths apply the same f32 operations in the same order as
// the scalar code, lane by lane, so all builds are bit-identical; integer work (masks) is exact.
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';
import { medianInPlace } from './combine';

@inline
function boxInside(width: i32, height: i32, x0: i32, y0: i32, w: i32, h: i32): bool {
  return width > 0 && height > 0 && w > 0 && h > 0 && x0 >= 0 && y0 >= 0 && x0 + w <= width && y0 + h <= height;
}

/**
 * Serial-overscan level of each row of the box (x0, y0, w, h) of the u16 `raw` (rawWidth x rawHeight),
 * as f64 ADU into out[0 .. h): the mean of the row's pixels within nSigma x sigma of the row's median,
 * sigma = max(1.4826 x MAD of all the box's residuals from their row medians, 1 ADU) (a robust read
 * noise; 1 ADU is the digitisation floor). out[h] receives the rms of the kept pixels about their row
 * means (pooled over the rows, n - 1 per row). `scratch` holds w x h f32. nSigma <= 0 keeps the row
 * medians (out[h] is then the robust sigma).
 */
export function overscanRowLevels(raw: usize, rawWidth: i32, rawHeight: i32, x0: i32, y0: i32, w: i32, h: i32, nSigma: f64, scratch: usize, out: usize): i32 {
  if (!boxInside(rawWidth, rawHeight, x0, y0, w, h)) return BAD_ARGUMENT;
  assertInMemory(raw, <usize>rawWidth * <usize>rawHeight << 1);
  assertInMemory(scratch, <usize>w * <usize>h << 2);
  assertInMemory(out, <usize>(h + 1) << 3);
  // Pass 1: row medians, then every residual's absolute value into scratch.
  for (let r = 0; r < h; r++) {
    const row = raw + ((<usize>(y0 + r) * <usize>rawWidth + <usize>x0) << 1);
    const s = scratch + (<usize>r * <usize>w << 2);
    for (let c = 0; c < w; c++) store<f32>(s + (<usize>c << 2), <f32>load<u16>(row + (<usize>c << 1)));
    store<f64>(out + (<usize>r << 3), medianInPlace(s, w));
  }
  for (let r = 0; r < h; r++) {
    const row = raw + ((<usize>(y0 + r) * <usize>rawWidth + <usize>x0) << 1);
    const m = load<f64>(out + (<usize>r << 3));
    const s = scratch + (<usize>r * <usize>w << 2);
    for (let c = 0; c < w; c++) store<f32>(s + (<usize>c << 2), <f32>abs(<f64>load<u16>(row + (<usize>c << 1)) - m));
  }
  const sigma = max(1.4826 * medianInPlace(scratch, w * h), 1.0);
  store<f64>(out + (<usize>h << 3), sigma);
  if (!(nSigma > 0)) return OK;
  const limit = nSigma * sigma;
  // Pass 2: the clipped mean of each row (the median itself is always kept, so the count is >= 1).
  let squares: f64 = 0;
  let dof = 0;
  for (let r = 0; r < h; r++) {
    const row = raw + ((<usize>(y0 + r) * <usize>rawWidth + <usize>x0) << 1);
    const m = load<f64>(out + (<usize>r << 3));
    let sum: f64 = 0;
    let n = 0;
    for (let c = 0; c < w; c++) {
      const v = <f64>load<u16>(row + (<usize>c << 1));
      if (abs(v - m) <= limit) {
        sum += v;
        n++;
      }
    }
    const mean = n > 0 ? sum / <f64>n : m;
    for (let c = 0; c < w; c++) {
      const v = <f64>load<u16>(row + (<usize>c << 1));
      if (abs(v - m) <= limit) squares += (v - mean) * (v - mean);
    }
    dof += n - 1;
    store<f64>(out + (<usize>r << 3), mean);
  }
  store<f64>(out + (<usize>h << 3), dof > 0 ? Math.sqrt(squares / <f64>dof) : sigma);
  return OK;
}

/** Median (ADU, f64) of every pixel of the box of the u16 raw, into out[0]. `scratch` holds w x h f32. */
export function overscanMedian(raw: usize, rawWidth: i32, rawHeight: i32, x0: i32, y0: i32, w: i32, h: i32, scratch: usize, out: usize): i32 {
  if (!boxInside(rawWidth, rawHeight, x0, y0, w, h)) return BAD_ARGUMENT;
  assertInMemory(raw, <usize>rawWidth * <usize>rawHeight << 1);
  assertInMemory(scratch, <usize>w * <usize>h << 2);
  assertInMemory(out, 8);
  let k: usize = 0;
  for (let r = 0; r < h; r++) {
    const row = raw + ((<usize>(y0 + r) * <usize>rawWidth + <usize>x0) << 1);
    for (let c = 0; c < w; c++) store<f32>(scratch + (k++ << 2), <f32>load<u16>(row + (<usize>c << 1)));
  }
  store<f64>(out, medianInPlace(scratch, w * h));
  return OK;
}

/**
 * One amplifier from the u16 raw (rawWidth x rawHeight) into the f32 `image` (width x height, e-):
 * image[outX0 + x', outY0 + y'] = (raw[dataX0 + c, dataY0 + r] - level[r]) x gain, with x' = c (or
 * w-1-c when flipX) and y' = r (or h-1-r when flipY); `level` holds h f64 (ADU, one per raw data row).
 * Where raw >= saturation (ADU), bit `satBit` is ORed into `mask` (i32, width x height; 0: no mask).
 */
export function assembleAmplifier(raw: usize, rawWidth: i32, rawHeight: i32, dataX0: i32, dataY0: i32, w: i32, h: i32, flipX: i32, flipY: i32,
  level: usize, gain: f64, image: usize, width: i32, height: i32, outX0: i32, outY0: i32, mask: usize, saturation: f64, satBit: i32): i32 {
  if (!boxInside(rawWidth, rawHeight, dataX0, dataY0, w, h) || !boxInside(width, height, outX0, outY0, w, h)) return BAD_ARGUMENT;
  if (!(gain > 0) || satBit < 0 || satBit > 31 || saturation != saturation) return BAD_ARGUMENT;
  assertInMemory(raw, <usize>rawWidth * <usize>rawHeight << 1);
  assertInMemory(level, <usize>h << 3);
  assertInMemory(image, <usize>width * <usize>height << 2);
  if (mask != 0) assertInMemory(mask, <usize>width * <usize>height << 2);
  const g = <f32>gain;
  // raw >= saturation <=> raw >= ceil(saturation) for integers; clamp to the i32 range.
  const satLevel: i32 = saturation > 2147483647.0 ? 2147483647 : saturation < -2147483648.0 ? -2147483648 : <i32>Math.ceil(saturation);
  const bit = 1 << satBit;
  for (let r = 0; r < h; r++) {
    const lvl = <f32>load<f64>(level + (<usize>r << 3));
    const src = raw + ((<usize>(dataY0 + r) * <usize>rawWidth + <usize>dataX0) << 1);
    const y = outY0 + (flipY ? h - 1 - r : r);
    const dstRow = <usize>y * <usize>width;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const gv = f32x4.splat(g);
      const satV = i32x4.splat(satLevel);
      const bitV = i32x4.splat(bit);
      const lvlV = f32x4.splat(lvl);
      for (; c + 4 <= w; c += 4) {
        const counts = v128.load16x4_u(src + (<usize>c << 1));
        let value = f32x4.mul(f32x4.sub(f32x4.convert_i32x4_s(counts), lvlV), gv);
        let sat = v128.and(i32x4.ge_s(counts, satV), bitV);
        let x = outX0 + c;
        if (flipX) {
          value = f32x4.shuffle(value, value, 3, 2, 1, 0);
          sat = i32x4.shuffle(sat, sat, 3, 2, 1, 0);
          x = outX0 + w - 4 - c;
        }
        const p = (dstRow + <usize>x) << 2;
        v128.store(image + p, value);
        if (mask != 0) v128.store(mask + p, v128.or(v128.load(mask + p), sat));
      }
    }
    for (; c < w; c++) {
      const counts = <i32>load<u16>(src + (<usize>c << 1));
      const x = outX0 + (flipX ? w - 1 - c : c);
      const p = (dstRow + <usize>x) << 2;
      store<f32>(image + p, (<f32>counts - lvl) * g);
      if (mask != 0 && counts >= satLevel) store<i32>(mask + p, load<i32>(mask + p) | bit);
    }
  }
  return OK;
}

/** image -= scale x calib; variance += scale^2 x calibVariance (skipped when either pointer is 0). n pixels. */
export function subtractScaled(image: usize, variance: usize, calib: usize, calibVariance: usize, n: i32, scale: f64): i32 {
  if (n < 0 || scale != scale) return BAD_ARGUMENT;
  const bytes = <usize>n << 2;
  assertInMemory(image, bytes);
  assertInMemory(calib, bytes);
  const withVariance = variance != 0 && calibVariance != 0;
  if (withVariance) {
    assertInMemory(variance, bytes);
    assertInMemory(calibVariance, bytes);
  }
  const s = <f32>scale;
  const s2 = s * s;
  let i: usize = 0;
  const total = <usize>n;
  if (ASC_FEATURE_SIMD) {
    const sv = f32x4.splat(s);
    const s2v = f32x4.splat(s2);
    for (; i + 4 <= total; i += 4) {
      const p = i << 2;
      v128.store(image + p, f32x4.sub(v128.load(image + p), f32x4.mul(sv, v128.load(calib + p))));
      if (withVariance) v128.store(variance + p, f32x4.add(v128.load(variance + p), f32x4.mul(s2v, v128.load(calibVariance + p))));
    }
  }
  for (; i < total; i++) {
    const p = i << 2;
    store<f32>(image + p, load<f32>(image + p) - s * load<f32>(calib + p));
    if (withVariance) store<f32>(variance + p, load<f32>(variance + p) + s2 * load<f32>(calibVariance + p));
  }
  return OK;
}

/** variance = max(image, 0) x poissonScale + readNoise2 (e-^2) over the box (x0, y0, w, h) of width x height planes. */
export function setVariance(image: usize, variance: usize, width: i32, height: i32, x0: i32, y0: i32, w: i32, h: i32, poissonScale: f64, readNoise2: f64): i32 {
  if (!boxInside(width, height, x0, y0, w, h) || !(readNoise2 >= 0) || !(poissonScale >= 0)) return BAD_ARGUMENT;
  const bytes = <usize>width * <usize>height << 2;
  assertInMemory(image, bytes);
  assertInMemory(variance, bytes);
  const rn2 = <f32>readNoise2;
  const ps = <f32>poissonScale;
  for (let y = y0; y < y0 + h; y++) {
    const row = (<usize>y * <usize>width + <usize>x0) << 2;
    let x = 0;
    if (ASC_FEATURE_SIMD) {
      const rn2v = f32x4.splat(rn2);
      const psv = f32x4.splat(ps);
      const zero = f32x4.splat(0);
      for (; x + 4 <= w; x += 4) {
        const p = row + (<usize>x << 2);
        v128.store(variance + p, f32x4.add(f32x4.mul(f32x4.max(v128.load(image + p), zero), psv), rn2v));
      }
    }
    for (; x < w; x++) {
      const p = row + (<usize>x << 2);
      store<f32>(variance + p, max<f32>(load<f32>(image + p), 0) * ps + rn2);
    }
  }
  return OK;
}

/**
 * image = image / flat; variance = (variance + image'^2 x flatVariance) / flat^2 (flatVariance 0: none),
 * image' the divided image; both NaN where the flat is not > 0. n pixels.
 */
export function divideByFlat(image: usize, variance: usize, flat: usize, flatVariance: usize, n: i32): i32 {
  if (n < 0) return BAD_ARGUMENT;
  const bytes = <usize>n << 2;
  assertInMemory(image, bytes);
  assertInMemory(variance, bytes);
  assertInMemory(flat, bytes);
  if (flatVariance != 0) assertInMemory(flatVariance, bytes);
  let i: usize = 0;
  const total = <usize>n;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    const nan = f32x4.splat(<f32>NaN);
    for (; i + 4 <= total; i += 4) {
      const p = i << 2;
      const f = v128.load(flat + p);
      const ok = f32x4.gt(f, zero);
      const q = f32x4.div(v128.load(image + p), f);
      let v = v128.load(variance + p);
      if (flatVariance != 0) v = f32x4.add(v, f32x4.mul(f32x4.mul(q, q), v128.load(flatVariance + p)));
      v = f32x4.div(v, f32x4.mul(f, f));
      v128.store(image + p, v128.bitselect(q, nan, ok));
      v128.store(variance + p, v128.bitselect(v, nan, ok));
    }
  }
  for (; i < total; i++) {
    const p = i << 2;
    const f = load<f32>(flat + p);
    const q = load<f32>(image + p) / f;
    let v = load<f32>(variance + p);
    if (flatVariance != 0) v = v + q * q * load<f32>(flatVariance + p);
    v = v / (f * f);
    const ok = f > 0;
    store<f32>(image + p, ok ? q : <f32>NaN);
    store<f32>(variance + p, ok ? v : <f32>NaN);
  }
  return OK;
}

/** ORs bit `bit` into `mask` where the image or the variance (0: image only) is NaN or infinite. n pixels. */
export function maskNonFinite(image: usize, variance: usize, mask: usize, n: i32, bit: i32): i32 {
  if (n < 0 || bit < 0 || bit > 31) return BAD_ARGUMENT;
  const bytes = <usize>n << 2;
  assertInMemory(image, bytes);
  if (variance != 0) assertInMemory(variance, bytes);
  assertInMemory(mask, bytes);
  const value = 1 << bit;
  let i: usize = 0;
  const total = <usize>n;
  if (ASC_FEATURE_SIMD) {
    const valueV = i32x4.splat(value);
    const zero = f32x4.splat(0);
    for (; i + 4 <= total; i += 4) {
      const p = i << 2;
      const a = v128.load(image + p);
      let finite = f32x4.eq(f32x4.sub(a, a), zero);
      if (variance != 0) {
        const b = v128.load(variance + p);
        finite = v128.and(finite, f32x4.eq(f32x4.sub(b, b), zero));
      }
      v128.store(mask + p, v128.or(v128.load(mask + p), v128.andnot(valueV, finite)));
    }
  }
  for (; i < total; i++) {
    const p = i << 2;
    const a = load<f32>(image + p);
    let finite = a - a == 0;
    if (variance != 0) {
      const b = load<f32>(variance + p);
      finite = finite && b - b == 0;
    }
    if (!finite) store<i32>(mask + p, load<i32>(mask + p) | value);
  }
  return OK;
}

/**
 * The first index from i on (at most total) where groups of four zero i32 words at `words` stop: the SIMD
 * build skips such groups at once; the scalar build (and a tail of fewer than four) returns i.
 */
@inline
function skipZeroQuads(words: usize, i: usize, total: usize): usize {
  if (ASC_FEATURE_SIMD) {
    while (i + 4 <= total && !v128.any_true(v128.load(words + (i << 2)))) i += 4;
  }
  return i;
}

/**
 * For every pixel whose `src` mask word is not 0, ORs into `dst` the table entry (an i32 in `table`,
 * 32 entries) of each bit set in it: the source's planes renamed to the destination's bits. n pixels.
 */
export function orMaskMapped(dst: usize, src: usize, n: i32, table: usize): i32 {
  if (n < 0) return BAD_ARGUMENT;
  const bytes = <usize>n << 2;
  assertInMemory(dst, bytes);
  assertInMemory(src, bytes);
  assertInMemory(table, 128);
  const total = <usize>n;
  for (let i = skipZeroQuads(src, 0, total); i < total; i = skipZeroQuads(src, i + 1, total)) {
    let s = load<i32>(src + (i << 2));
    if (s != 0) {
      let out = 0;
      while (s != 0) {
        const b = ctz(s);
        out |= load<i32>(table + (<usize>b << 2));
        s &= s - 1;
      }
      store<i32>(dst + (i << 2), load<i32>(dst + (i << 2)) | out);
    }
  }
  return OK;
}

/**
 * The number of pixels carrying each mask bit: out[b] (f64, 32 entries) counts the n pixels of `mask`
 * with bit b set (groups of four zero words skipped at once in the SIMD build).
 */
export function countMaskBits(mask: usize, n: i32, out: usize): i32 {
  if (n < 0) return BAD_ARGUMENT;
  assertInMemory(mask, <usize>n << 2);
  assertInMemory(out, 256);
  memory.fill(out, 0, 256);
  const total = <usize>n;
  for (let i = skipZeroQuads(mask, 0, total); i < total; i = skipZeroQuads(mask, i + 1, total)) {
    let m = load<i32>(mask + (i << 2));
    while (m != 0) {
      const p = out + (<usize>ctz(m) << 3);
      store<f64>(p, load<f64>(p) + 1);
      m &= m - 1;
    }
  }
  return OK;
}

/**
 * Dilates mask plane `bit` by `radius` pixels in the Manhattan metric (|dx| + |dy| <= radius): `radius`
 * rounds of setting the bit on the 4 neighbours of every pixel that has it. `scratch` holds width x height
 * bytes (each round's starting plane: 1 where the bit is set).
 */
export function growMask(mask: usize, scratch: usize, width: i32, height: i32, bit: i32, radius: i32): i32 {
  if (width <= 0 || height <= 0 || bit < 0 || bit > 31 || radius < 0) return BAD_ARGUMENT;
  const n = <usize>width * <usize>height;
  assertInMemory(mask, n << 2);
  assertInMemory(scratch, n);
  const value = 1 << bit;
  const stride = <usize>width;
  for (let round = 0; round < radius; round++) {
    // scratch = this round's starting plane (1 where the bit is set).
    let i: usize = 0;
    if (ASC_FEATURE_SIMD) {
      const valueV = i32x4.splat(value), zero = i32x4.splat(0), one = i8x16.splat(1);
      for (; i + 16 <= n; i += 16) {
        const a = v128.and(v128.load(mask + (i << 2)), valueV), b = v128.and(v128.load(mask + ((i + 4) << 2)), valueV);
        const c = v128.and(v128.load(mask + ((i + 8) << 2)), valueV), d = v128.and(v128.load(mask + ((i + 12) << 2)), valueV);
        const ab = i16x8.narrow_i32x4_s(i32x4.ne(a, zero), i32x4.ne(b, zero)), cd = i16x8.narrow_i32x4_s(i32x4.ne(c, zero), i32x4.ne(d, zero));
        v128.store(scratch + i, v128.and(i8x16.narrow_i16x8_s(ab, cd), one));
      }
    }
    for (; i < n; i++) store<u8>(scratch + i, (load<i32>(mask + (i << 2)) & value) != 0 ? 1 : 0);
    for (let y = 0; y < height; y++) {
      const row = scratch + <usize>y * stride;
      const out = mask + ((<usize>y * stride) << 2);
      const hasUp = y + 1 < height;
      const hasDown = y > 0;
      // Edge columns and the scalar tail: each neighbour tested explicitly.
      let x = 0;
      if (ASC_FEATURE_SIMD && width >= 6) {
        x = 1;
        const edge = width - 1;
        const valueV = i32x4.splat(value);
        for (; x + 4 <= edge; x += 4) {
          const p = row + <usize>x;
          let grown = v128.or(v128.load32_zero(p - 1), v128.load32_zero(p + 1));
          if (hasUp) grown = v128.or(grown, v128.load32_zero(p + stride));
          if (hasDown) grown = v128.or(grown, v128.load32_zero(p - stride));
          // Four bytes 0 or 1 to four lanes 0 or `value`.
          const lanes = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(grown));
          const q = out + (<usize>x << 2);
          v128.store(q, v128.or(v128.load(q), v128.and(i32x4.ne(lanes, i32x4.splat(0)), valueV)));
        }
        growPixel(row, out, 0, width, stride, hasUp, hasDown, value);
      }
      for (; x < width; x++) growPixel(row, out, x, width, stride, hasUp, hasDown, value);
    }
  }
  return OK;
}

@inline
function growPixel(row: usize, out: usize, x: i32, width: i32, stride: usize, hasUp: bool, hasDown: bool, value: i32): void {
  const p = row + <usize>x;
  let grown: u32 = 0;
  if (x > 0) grown |= load<u8>(p - 1);
  if (x + 1 < width) grown |= load<u8>(p + 1);
  if (hasUp) grown |= load<u8>(p + stride);
  if (hasDown) grown |= load<u8>(p - stride);
  if (grown != 0) store<i32>(out + (<usize>x << 2), load<i32>(out + (<usize>x << 2)) | value);
}

/**
 * Fills, row by row, every run of pixels whose mask has any of `badBits` from the nearest usable pixels
 * on each side (usable: none of badBits | avoidBits): linearly in x between two, constant from one. The
 * variance is interpolated the same way. Filled pixels get bit `intrpBit`; a run with no usable pixel on
 * either side gets bit `noDataBit` and NaN image and variance.
 */
export function interpolateRows(image: usize, variance: usize, mask: usize, width: i32, height: i32, badBits: i32, avoidBits: i32, intrpBit: i32, noDataBit: i32): i32 {
  if (width <= 0 || height <= 0 || intrpBit < 0 || intrpBit > 31 || noDataBit < 0 || noDataBit > 31) return BAD_ARGUMENT;
  const n = <usize>width * <usize>height;
  assertInMemory(image, n << 2);
  assertInMemory(variance, n << 2);
  assertInMemory(mask, n << 2);
  if (badBits == 0) return OK;
  const intrp = 1 << intrpBit;
  const noData = 1 << noDataBit;
  const unusable = badBits | avoidBits;
  for (let y = 0; y < height; y++) {
    const rowOffset = <usize>y * <usize>width;
    const img = image + (rowOffset << 2);
    const vr = variance + (rowOffset << 2);
    const msk = mask + (rowOffset << 2);
    let x = 0;
    while (x < width) {
      if (ASC_FEATURE_SIMD) {
        const badV = i32x4.splat(badBits);
        while (x + 4 <= width && !v128.any_true(v128.and(v128.load(msk + (<usize>x << 2)), badV))) x += 4;
        if (x >= width) break;
      }
      if ((load<i32>(msk + (<usize>x << 2)) & badBits) == 0) {
        x++;
        continue;
      }
      const start = x;
      while (x < width && (load<i32>(msk + (<usize>x << 2)) & badBits) != 0) x++;
      const end = x; // first pixel after the run
      const left = start - 1;
      const hasLeft = left >= 0 && (load<i32>(msk + (<usize>left << 2)) & unusable) == 0;
      const hasRight = end < width && (load<i32>(msk + (<usize>end << 2)) & unusable) == 0;
      if (!hasLeft && !hasRight) {
        for (let k = start; k < end; k++) {
          const p = <usize>k << 2;
          store<f32>(img + p, <f32>NaN);
          store<f32>(vr + p, <f32>NaN);
          store<i32>(msk + p, load<i32>(msk + p) | noData);
        }
        continue;
      }
      const a = hasLeft ? left : end;
      const va = load<f32>(img + (<usize>a << 2));
      const wa = load<f32>(vr + (<usize>a << 2));
      const both = hasLeft && hasRight;
      const vb = both ? load<f32>(img + (<usize>end << 2)) : va;
      const wb = both ? load<f32>(vr + (<usize>end << 2)) : wa;
      const span = <f32>(end - left);
      for (let k = start; k < end; k++) {
        const p = <usize>k << 2;
        if (both) {
          const t = <f32>(k - left) / span;
          store<f32>(img + p, va + t * (vb - va));
          store<f32>(vr + p, wa + t * (wb - wa));
        } else {
          store<f32>(img + p, va);
          store<f32>(vr + p, wa);
        }
        store<i32>(msk + p, load<i32>(msk + p) | intrp);
      }
    }
  }
  return OK;
}

/** image *= scale; variance *= scale^2 (variance 0: none). n pixels. */
export function scalePlanes(image: usize, variance: usize, n: i32, scale: f64): i32 {
  if (n < 0 || scale != scale) return BAD_ARGUMENT;
  const bytes = <usize>n << 2;
  assertInMemory(image, bytes);
  if (variance != 0) assertInMemory(variance, bytes);
  const s = <f32>scale;
  const s2 = s * s;
  let i: usize = 0;
  const total = <usize>n;
  if (ASC_FEATURE_SIMD) {
    const sv = f32x4.splat(s);
    const s2v = f32x4.splat(s2);
    for (; i + 4 <= total; i += 4) {
      const p = i << 2;
      v128.store(image + p, f32x4.mul(v128.load(image + p), sv));
      if (variance != 0) v128.store(variance + p, f32x4.mul(v128.load(variance + p), s2v));
    }
  }
  for (; i < total; i++) {
    const p = i << 2;
    store<f32>(image + p, load<f32>(image + p) * s);
    if (variance != 0) store<f32>(variance + p, load<f32>(variance + p) * s2);
  }
  return OK;
}

/**
 * ORs bit `bit` into `mask` where a combined calibration is unusable: `image` not finite, `count`
 * (i32, 0: none) below minCount, or, when requirePositive, image not > 0. n pixels.
 */
export function flagInvalid(image: usize, count: usize, mask: usize, n: i32, minCount: i32, requirePositive: i32, bit: i32): i32 {
  if (n < 0 || bit < 0 || bit > 31) return BAD_ARGUMENT;
  const bytes = <usize>n << 2;
  assertInMemory(image, bytes);
  if (count != 0) assertInMemory(count, bytes);
  assertInMemory(mask, bytes);
  const value = 1 << bit;
  for (let i: usize = 0; i < <usize>n; i++) {
    const p = i << 2;
    const v = load<f32>(image + p);
    let bad = !(v - v == 0) || (requirePositive != 0 && !(v > 0));
    if (count != 0 && load<i32>(count + p) < minCount) bad = true;
    if (bad) store<i32>(mask + p, load<i32>(mask + p) | value);
  }
  return OK;
}

/** image and variance (0: none) = NaN where the mask word has any of `bits`. n pixels. */
export function nanWhereMasked(image: usize, variance: usize, mask: usize, n: i32, bits: i32): i32 {
  if (n < 0) return BAD_ARGUMENT;
  const bytes = <usize>n << 2;
  assertInMemory(image, bytes);
  if (variance != 0) assertInMemory(variance, bytes);
  assertInMemory(mask, bytes);
  let i: usize = 0;
  const total = <usize>n;
  if (ASC_FEATURE_SIMD) {
    const bitsV = i32x4.splat(bits);
    const zero = i32x4.splat(0);
    const nan = f32x4.splat(<f32>NaN);
    for (; i + 4 <= total; i += 4) {
      const p = i << 2;
      const hit = i32x4.ne(v128.and(v128.load(mask + p), bitsV), zero);
      if (!v128.any_true(hit)) continue;
      v128.store(image + p, v128.bitselect(nan, v128.load(image + p), hit));
      if (variance != 0) v128.store(variance + p, v128.bitselect(nan, v128.load(variance + p), hit));
    }
  }
  for (; i < total; i++) {
    const p = i << 2;
    if ((load<i32>(mask + p) & bits) == 0) continue;
    store<f32>(image + p, <f32>NaN);
    if (variance != 0) store<f32>(variance + p, <f32>NaN);
  }
  return OK;
}
