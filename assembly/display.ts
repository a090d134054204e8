// Display kernels for the viewer (issue 7): pixel values to RGBA through a lookup table, mask planes to
// overlay RGBA, histograms, strided samples and zscale limits, min/max and percentiles of the finite
// pixels, and block means for the level-of-detail pyramid. RGBA words are little-endian u32
// (R | G << 8 | B << 16 | A << 24), as an ImageData or a WebGL RGBA8 texture reads the bytes.
// zscale follows IRAF's algorithm as astropy.visualization.ZScaleInterval implements it (astropy 5.2).
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';
import { selectInPlace } from './combine';

/** Entries of a display lookup table: the normalised value t in [0, 1] maps to entry round(t * 65535). */
const LUT_LAST: f64 = 65535;

/**
 * RGBA of n f32 pixels: t = (v - lo) / (hi - lo) clipped to [0, 1], entry round(t * 65535) of `lut`
 * (65536 u32); non-finite pixels get `nanColour`. hi <= lo maps everything to entry 0.
 */
export function lutToRgba(src: usize, n: i32, lo: f64, hi: f64, lut: usize, nanColour: u32, out: usize): i32 {
  if (n < 0) return BAD_ARGUMENT;
  assertInMemory(src, <usize>n << 2);
  assertInMemory(lut, 65536 << 2);
  assertInMemory(out, <usize>n << 2);
  const scale: f64 = hi > lo ? LUT_LAST / (hi - lo) : 0;
  for (let i = 0; i < n; i++) {
    const v = <f64>load<f32>(src + (<usize>i << 2));
    let word = nanColour;
    if (isFinite(v)) {
      let t = (v - lo) * scale;
      t = t < 0 ? 0 : t > LUT_LAST ? LUT_LAST : t;
      word = load<u32>(lut + (<usize>(<i32>nearest(t)) << 2));
    }
    store<u32>(out + (<usize>i << 2), word);
  }
  return OK;
}

/** `colour` where the mask word has any of `bits`, 0 (transparent) elsewhere. */
export function maskToRgba(mask: usize, n: i32, bits: i32, colour: u32, out: usize): i32 {
  if (n < 0) return BAD_ARGUMENT;
  assertInMemory(mask, <usize>n << 2);
  assertInMemory(out, <usize>n << 2);
  for (let i = 0; i < n; i++) store<u32>(out + (<usize>i << 2), load<i32>(mask + (<usize>i << 2)) & bits ? colour : 0);
  return OK;
}

/** Counts of the finite values in [lo, hi] in nBins equal bins (u32), a value at hi in the last bin. */
export function histogram(src: usize, n: i32, lo: f64, hi: f64, bins: usize, nBins: i32): i32 {
  if (n < 0 || nBins < 1 || !(hi > lo)) return BAD_ARGUMENT;
  assertInMemory(src, <usize>n << 2);
  assertInMemory(bins, <usize>nBins << 2);
  memory.fill(bins, 0, <usize>nBins << 2);
  const scale = <f64>nBins / (hi - lo);
  for (let i = 0; i < n; i++) {
    const v = <f64>load<f32>(src + (<usize>i << 2));
    if (!(v >= lo && v <= hi)) continue;
    let b = <i32>Math.floor((v - lo) * scale);
    if (b >= nBins) b = nBins - 1;
    const p = bins + (<usize>b << 2);
    store<u32>(p, load<u32>(p) + 1);
  }
  return OK;
}

/** out[0] = the number of finite values, out[1] = their minimum, out[2] = their maximum (f64; NaN when none). */
export function finiteRange(src: usize, n: i32, out: usize): i32 {
  if (n < 0) return BAD_ARGUMENT;
  assertInMemory(src, <usize>n << 2);
  let count = 0;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = <f64>load<f32>(src + (<usize>i << 2));
    if (!isFinite(v)) continue;
    count++;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  store<f64>(out, <f64>count);
  store<f64>(out, count ? lo : NaN, 8);
  store<f64>(out, count ? hi : NaN, 16);
  return OK;
}

/** Copies the finite values of src (in order) to out (f32); out[count] as i32 to countOut. */
function copyFinite(src: usize, n: i32, out: usize): i32 {
  let k = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(src + (<usize>i << 2));
    if (isFinite(v)) {
      store<f32>(out + (<usize>k << 2), v);
      k++;
    }
  }
  return k;
}

/** numpy's linear-interpolation percentile p (0-100) of m values at base (reorders them). */
function percentileOf(base: usize, m: i32, p: f64): f64 {
  const position = (p / 100) * <f64>(m - 1);
  const below = <i32>Math.floor(position);
  const a = <f64>selectInPlace(base, m, below);
  if (below + 1 >= m) return a;
  // The next order statistic: the smallest value after position `below`.
  let b = load<f32>(base + (<usize>(below + 1) << 2));
  for (let j = below + 2; j < m; j++) b = min(b, load<f32>(base + (<usize>j << 2)));
  return a + (position - <f64>below) * (<f64>b - a);
}

/**
 * numpy.percentile (linear) of the finite pixels at percentiles pLow and pHigh (0-100): out[0], out[1]
 * (f64; NaN when none). scratch holds n f32.
 */
export function percentiles(src: usize, n: i32, pLow: f64, pHigh: f64, scratch: usize, out: usize): i32 {
  if (n < 0 || !(pLow >= 0 && pLow <= 100 && pHigh >= 0 && pHigh <= 100)) return BAD_ARGUMENT;
  assertInMemory(src, <usize>n << 2);
  assertInMemory(scratch, <usize>n << 2);
  const m = copyFinite(src, n, scratch);
  if (m == 0) {
    store<f64>(out, NaN);
    store<f64>(out, NaN, 8);
    return OK;
  }
  store<f64>(out, percentileOf(scratch, m, pLow));
  store<f64>(out, percentileOf(scratch, m, pHigh), 8);
  return OK;
}

/** Heapsort of m f32 values at base, ascending. */
function sortF32(base: usize, m: i32): void {
  for (let start = (m >> 1) - 1; start >= 0; start--) siftDown(base, start, m);
  for (let end = m - 1; end > 0; end--) {
    const t = load<f32>(base);
    store<f32>(base, load<f32>(base + (<usize>end << 2)));
    store<f32>(base + (<usize>end << 2), t);
    siftDown(base, 0, end);
  }
}

function siftDown(base: usize, start: i32, end: i32): void {
  let root = start;
  while (true) {
    let child = 2 * root + 1;
    if (child >= end) return;
    if (child + 1 < end && load<f32>(base + (<usize>(child + 1) << 2)) > load<f32>(base + (<usize>child << 2))) child++;
    const r = base + (<usize>root << 2), c = base + (<usize>child << 2);
    if (load<f32>(r) >= load<f32>(c)) return;
    const t = load<f32>(r);
    store<f32>(r, load<f32>(c));
    store<f32>(c, t);
    root = child;
  }
}

/** The number of finite values among the n f32 at src (exponent bits not all set). */
function countFinite(src: usize, n: i32): i32 {
  let count = 0, i = 0;
  if (ASC_FEATURE_SIMD) {
    const expBits = i32x4.splat(0x7f800000);
    let c = i32x4.splat(0);
    for (const n4 = n & ~3; i < n4; i += 4) c = i32x4.sub(c, i32x4.ne(v128.and(v128.load(src + (<usize>i << 2)), expBits), expBits));
    count = i32x4.extract_lane(c, 0) + i32x4.extract_lane(c, 1) + i32x4.extract_lane(c, 2) + i32x4.extract_lane(c, 3);
  }
  for (; i < n; i++) if (isFinite(load<f32>(src + (<usize>i << 2)))) count++;
  return count;
}

/**
 * IRAF's zscale limits of the finite pixels (astropy ZScaleInterval.get_limits): every stride-th finite
 * value, stride = max(1, floor(nFinite / nSamples)), at most nSamples of them, sorted; a line fitted
 * to them against their rank with krej-sigma rejection, the rejected ranks grown by max(1, floor(0.01
 * npix)) as numpy.convolve(mode='same') grows them, for up to maxIterations while the kept count falls
 * and stays >= max(minNpixels, floor(npix maxReject)); then limits median -/+ rank offsets times
 * slope / contrast, within the samples' range. out[0] = vmin, out[1] = vmax (NaN when no finite pixel).
 * scratch holds nSamples f32 + 2 nSamples bytes.
 */
export function zscale(src: usize, n: i32, nSamples: i32, contrast: f64, maxReject: f64, minNpixels: i32, krej: f64, maxIterations: i32,
  scratch: usize, out: usize): i32 {
  if (n < 0 || nSamples < 1) return BAD_ARGUMENT;
  assertInMemory(src, <usize>n << 2);
  assertInMemory(scratch, <usize>nSamples * 6);
  const finite = countFinite(src, n);
  if (finite == 0) {
    store<f64>(out, NaN);
    store<f64>(out, NaN, 8);
    return OK;
  }
  const stride = max<i32>(1, <i32>Math.floor(<f64>finite / <f64>nSamples));
  const samples = scratch;
  // Every stride-th finite value: `skip` counts down the finite values until the next sample.
  let npix = 0, skip = 0;
  for (let i = 0; i < n && npix < nSamples; i++) {
    const v = load<f32>(src + (<usize>i << 2));
    if (!isFinite(v)) continue;
    if (skip == 0) {
      store<f32>(samples + (<usize>npix << 2), v);
      npix++;
      skip = stride;
    }
    skip--;
  }
  sortF32(samples, npix);
  let vmin = <f64>load<f32>(samples), vmax = <f64>load<f32>(samples + (<usize>(npix - 1) << 2));
  const bad = samples + (<usize>nSamples << 2), grown = bad + <usize>nSamples;
  memory.fill(bad, 0, <usize>npix);
  const minpix = max<i32>(minNpixels, <i32>Math.floor(<f64>npix * maxReject));
  const ngrow = max<i32>(1, <i32>Math.floor(<f64>npix * 0.01));
  let ngood = npix, lastNgood = npix + 1;
  let slope: f64 = 0, intercept: f64 = 0;
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    if (ngood >= lastNgood || ngood < minpix) break;
    // Least-squares line through the kept (rank, value) pairs.
    let sw: f64 = 0, sx: f64 = 0, sy: f64 = 0;
    for (let i = 0; i < npix; i++) {
      if (load<u8>(bad + i)) continue;
      sw += 1; sx += <f64>i; sy += <f64>load<f32>(samples + (<usize>i << 2));
    }
    const mx = sx / sw, my = sy / sw;
    let sxx: f64 = 0, sxy: f64 = 0;
    for (let i = 0; i < npix; i++) {
      if (load<u8>(bad + i)) continue;
      const dx = <f64>i - mx;
      sxx += dx * dx; sxy += dx * (<f64>load<f32>(samples + (<usize>i << 2)) - my);
    }
    slope = sxx > 0 ? sxy / sxx : 0;
    intercept = my - slope * mx;
    // Threshold: krej times the (population) standard deviation of the kept residuals.
    let s1: f64 = 0, s2: f64 = 0;
    for (let i = 0; i < npix; i++) {
      if (load<u8>(bad + i)) continue;
      const r = <f64>load<f32>(samples + (<usize>i << 2)) - (slope * <f64>i + intercept);
      s1 += r; s2 += r * r;
    }
    const mean = s1 / sw;
    const threshold = krej * Math.sqrt(max<f64>(0, s2 / sw - mean * mean));
    for (let i = 0; i < npix; i++) {
      const r = <f64>load<f32>(samples + (<usize>i << 2)) - (slope * <f64>i + intercept);
      if (r < -threshold || r > threshold) store<u8>(bad + i, 1);
    }
    // numpy.convolve(bad, ones(ngrow), 'same'): out[i] = any(bad[i - ngrow/2 .. i + (ngrow - 1)/2]).
    const left = ngrow >> 1, right = (ngrow - 1) >> 1;
    lastNgood = ngood;
    ngood = 0;
    for (let i = 0; i < npix; i++) {
      let any: u8 = 0;
      const j0 = max<i32>(0, i - left), j1 = min<i32>(npix - 1, i + right);
      for (let j = j0; j <= j1 && !any; j++) any = load<u8>(bad + j);
      store<u8>(grown + i, any);
      if (!any) ngood++;
    }
    memory.copy(bad, grown, <usize>npix);
  }
  if (ngood >= minpix) {
    if (contrast > 0) slope /= contrast;
    const centre = (npix - 1) / 2;
    const median = npix & 1 ? <f64>load<f32>(samples + (<usize>((npix - 1) >> 1) << 2))
      : 0.5 * (<f64>load<f32>(samples + (<usize>((npix >> 1) - 1) << 2)) + <f64>load<f32>(samples + (<usize>(npix >> 1) << 2)));
    vmin = max<f64>(vmin, median - <f64>(centre - 1) * slope);
    vmax = min<f64>(vmax, median + <f64>(npix - centre) * slope);
  }
  store<f64>(out, vmin);
  store<f64>(out, vmax, 8);
  return OK;
}

/**
 * Block means for a level-of-detail image: out (ceil(width / factor) x ceil(height / factor) f32) holds
 * the mean of each factor x factor block's finite pixels (NaN where none); outMask (0: skip) the OR of
 * the block's mask words. The rows are read in order, each block row's sum (f64) added to the block's;
 * scratch holds ceil(width / factor) x 16 bytes.
 */
export function binMean(src: usize, mask: usize, width: i32, height: i32, factor: i32, out: usize, outMask: usize, scratch: usize): i32 {
  if (width < 0 || height < 0 || factor < 1) return BAD_ARGUMENT;
  const ow = (width + factor - 1) / factor, oh = (height + factor - 1) / factor;
  assertInMemory(src, <usize>width * <usize>height << 2);
  if (mask) assertInMemory(mask, <usize>width * <usize>height << 2);
  assertInMemory(out, <usize>ow * <usize>oh << 2);
  if (outMask) assertInMemory(outMask, <usize>ow * <usize>oh << 2);
  assertInMemory(scratch, <usize>ow << 4);
  const sums = scratch, counts = scratch + (<usize>ow << 3), masks = counts + (<usize>ow << 2);
  // Whole blocks of a row whose width is a multiple of 4 go 4 pixels at a time.
  const vectorBlocks = ASC_FEATURE_SIMD && (factor & 3) == 0 ? width / factor : 0;
  for (let by = 0; by < oh; by++) {
    memory.fill(scratch, 0, <usize>ow << 4);
    const y1 = min<i32>(height, (by + 1) * factor);
    for (let y = by * factor; y < y1; y++) {
      const row = <usize>y * <usize>width;
      for (let bx = 0; bx < ow; bx++) {
        const xa = bx * factor, x1 = min<i32>(width, xa + factor);
        let sum: f64 = 0;
        let count = 0;
        let bits = 0;
        if (ASC_FEATURE_SIMD) {
          if (bx < vectorBlocks) {
            const expBits = i32x4.splat(0x7f800000);
            let sLo = f64x2.splat(0), sHi = f64x2.splat(0), c = i32x4.splat(0), b = i32x4.splat(0);
            for (let x = xa; x < x1; x += 4) {
              const v = v128.load(src + ((row + <usize>x) << 2));
              const finite = i32x4.ne(v128.and(v, expBits), expBits);
              const kept = v128.and(v, finite);
              sLo = f64x2.add(sLo, f64x2.promote_low_f32x4(kept));
              sHi = f64x2.add(sHi, f64x2.promote_low_f32x4(i32x4.shuffle(kept, kept, 2, 3, 0, 1)));
              c = i32x4.sub(c, finite);
              if (mask) b = v128.or(b, v128.load(mask + ((row + <usize>x) << 2)));
            }
            sum = f64x2.extract_lane(sLo, 0) + f64x2.extract_lane(sLo, 1) + f64x2.extract_lane(sHi, 0) + f64x2.extract_lane(sHi, 1);
            count = i32x4.extract_lane(c, 0) + i32x4.extract_lane(c, 1) + i32x4.extract_lane(c, 2) + i32x4.extract_lane(c, 3);
            bits = i32x4.extract_lane(b, 0) | i32x4.extract_lane(b, 1) | i32x4.extract_lane(b, 2) | i32x4.extract_lane(b, 3);
          }
        }
        if (bx >= vectorBlocks) {
          for (let x = xa; x < x1; x++) {
            const v = load<f32>(src + ((row + <usize>x) << 2));
            if (isFinite(v)) { sum += <f64>v; count++; }
            if (mask) bits |= load<i32>(mask + ((row + <usize>x) << 2));
          }
        }
        const k = <usize>bx;
        store<f64>(sums + (k << 3), load<f64>(sums + (k << 3)) + sum);
        store<i32>(counts + (k << 2), load<i32>(counts + (k << 2)) + count);
        store<i32>(masks + (k << 2), load<i32>(masks + (k << 2)) | bits);
      }
    }
    for (let bx = 0; bx < ow; bx++) {
      const k = <usize>bx, o = <usize>by * <usize>ow + k;
      const count = load<i32>(counts + (k << 2));
      store<f32>(out + (o << 2), count ? <f32>(load<f64>(sums + (k << 3)) / <f64>count) : NaN);
      if (outMask) store<i32>(outMask + (o << 2), load<i32>(masks + (k << 2)));
    }
  }
  return OK;
}

/**
 * Lupton et al. (2004) asinh colour composite, as astropy.visualization.make_lupton_rgb(r, g, b,
 * minimum, stretch, Q) makes it: each band minus its minimum; the intensity I = (r + g + b) / 3 mapped
 * by asinh(I Q / stretch) * slope / I with slope = 0.1 * 255 / asinh(0.1 Q) (0 where I <= 0); negative
 * channels to 0; a pixel whose largest channel reaches 255 scaled down to keep its colour; channels
 * truncated to 0-255. out: RGBA u32 words (alpha 255). Q below 2^-23 counts as 0.1, above 1e10 as 1e10.
 */
export function luptonRgb(r: usize, g: usize, b: usize, n: i32, minR: f64, minG: f64, minB: f64, stretch: f64, q: f64, out: usize): i32 {
  if (n < 0 || !(stretch > 0)) return BAD_ARGUMENT;
  assertInMemory(r, <usize>n << 2);
  assertInMemory(g, <usize>n << 2);
  assertInMemory(b, <usize>n << 2);
  assertInMemory(out, <usize>n << 2);
  let Q = q;
  if (Math.abs(Q) < 1.0 / 8388608.0) Q = 0.1;
  else if (Q > 1e10) Q = 1e10;
  // astropy works in the images' float32, its Python-float constants taken as float32: so does this.
  const slope = <f32>(0.1 * 255.0 / Math.asinh(0.1 * Q)), soften = <f32>(Q / stretch);
  const mr = <f32>minR, mg = <f32>minG, mb = <f32>minB, top: f32 = 255;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    let R: f32 = load<f32>(r + o) - mr, G: f32 = load<f32>(g + o) - mg, B: f32 = load<f32>(b + o) - mb;
    const I = <f32>(<f64>(R + G + B) / 3.0);
    const fac: f32 = I <= 0 ? 0 : Mathf.asinh(I * soften) * slope / I;
    R *= fac; G *= fac; B *= fac;
    if (R < 0) R = 0;
    if (G < 0) G = 0;
    if (B < 0) B = 0;
    // The largest channel, chosen as astropy's nested comparisons choose it.
    const m: f32 = R > G ? (R > B ? R : B) : (G > B ? G : B);
    if (m >= top) {
      R = R * top / m; G = G * top / m; B = B * top / m;
    }
    store<u32>(out + o, toByte(R) | (toByte(G) << 8) | (toByte(B) << 16) | (<u32>255 << 24));
  }
  return OK;
}

/** numpy's float-to-uint8 cast of a channel in [0, 255]: truncation; NaN to 0. */
@inline
function toByte(v: f32): u32 {
  if (!(v > 0)) return 0;
  return v >= 255 ? 255 : <u32>v;
}
