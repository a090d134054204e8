// Resampling of an exposure's image, variance and mask planes onto another pixel grid, the kernel of
// LSST afw::math::warpExposure as makeWarp uses it: a separable Lanczos kernel of order a (afw
// "lanczos3" default: a = 3, 2a taps per axis, the taps normalised to unit sum as afw's kernels are) for
// the image and the variance (variance weights are the squared taps: the per-pixel variance of the
// interpolated value, correlations ignored as in afw), and a bilinear kernel for the mask (afw's
// maskWarpingKernelName "bilinear": the OR of the bits of the up to 2x2 pixels with a non-zero bilinear
// weight). The pixel mapping comes from the host as a grid of source positions evaluated every `step`
// output pixels and interpolated bilinearly in between (afw WarpingControl interpLength). Fluxes are
// conserved: the value is multiplied by |det J| of the mapping (source pixels per output pixel) and by
// `scale` (a photometric calibration: counts to nJy), the variance by (scale det)^2. An output pixel
// whose kernel does not fit inside the source stays untouched (the host initialises the output to NaN with NO_DATA, as afw pads with NaN and NO_DATA); only output pixels
// still carrying the noData bit are written, so several sources (the detectors of a visit) fill one
// output in turn; a pixel whose interpolated value or variance is not finite stays NaN and NO_DATA
// with its mask bits ORed in.
// Coordinates are 0-based pixel centres (LSST); units are the source planes'.
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';

const STEPS: i32 = 2048;
const MAX_ORDER: i32 = 5;
// The normalised taps of every fractional offset f = s / STEPS, s = 0 .. STEPS: row s holds 12 f32 (the
// 2a taps, zero-padded), weight k that of sample floor + k - a + 1, L_a evaluated exactly (f64) and
// normalised to unit sum. A pixel's taps interpolate linearly between the two rows about its offset
// (still of unit sum; error about 1e-7 of the peak tap): a few vector operations instead of 2a
// evaluations of L_a per axis.
const ROW: usize = 48;
const table: usize = memory.data(<i32>((STEPS + 1) * <i32>ROW), 16);
let tableOrder: i32 = 0;
// Per-pixel taps along x and y (f32, zero-padded to 12): weights and squared weights.
const taps: usize = memory.data(4 * 12 * 4, 16);
// One cell's mapping for warpSpan (see there).
const cell: usize = memory.data(112, 16);
const SPAN: i32 = 64;
const PIXEL: usize = 112;
const spanPixel: usize = memory.data(SPAN * <i32>PIXEL, 16);

@inline
function lanczos(x: f64, a: i32): f64 {
  if (x == 0) return 1.0;
  const ax = Math.abs(x);
  if (ax >= <f64>a) return 0.0;
  const px = Math.PI * x;
  return (<f64>a * Math.sin(px) * Math.sin(px / <f64>a)) / (px * px);
}

function buildTable(a: i32): void {
  const n = 2 * a;
  memory.fill(table, 0, <usize>(STEPS + 1) * ROW);
  for (let s = 0; s <= STEPS; s++) {
    const f = <f64>s / <f64>STEPS;
    let sum = 0.0;
    for (let k = 0; k < n; k++) sum += lanczos(f + <f64>(a - 1 - k), a);
    const row = table + <usize>s * ROW;
    for (let k = 0; k < n; k++) store<f32>(row + (<usize>k << 2), <f32>(lanczos(f + <f64>(a - 1 - k), a) / sum));
  }
  tableOrder = a;
}

// The taps for fractional offset f in [0, 1) into w (and their squares into w2), all 12 lanes: the
// lerp of the table rows about f in f32, lane by lane (the scalar build does the same operations).
@inline
function fillTaps(f: f64, w: usize, w2: usize): void {
  const t = f * <f64>STEPS;
  const s = min(<i32>t, STEPS - 1);
  const frac = <f32>(t - <f64>s);
  const lo = table + <usize>s * ROW, hi = lo + ROW;
  if (ASC_FEATURE_SIMD) {
    const fr = f32x4.splat(frac);
    for (let q: usize = 0; q < ROW; q += 16) {
      const a = v128.load(lo + q);
      const v = f32x4.add(a, f32x4.mul(f32x4.sub(v128.load(hi + q), a), fr));
      v128.store(w + q, v);
      v128.store(w2 + q, f32x4.mul(v, v));
    }
    return;
  }
  for (let q: usize = 0; q < ROW; q += 4) {
    const a = load<f32>(lo + q);
    const v = a + (load<f32>(hi + q) - a) * frac;
    store<f32>(w + q, v);
    store<f32>(w2 + q, v * v);
  }
}

// Sum over the n = 2a taps of the rows y0 .. y0 + n - 1 of `plane` from column x0, row weights wy and
// column weights wx, columns first: each of the up to three groups of four columns (lanes) holds
// sum_k wy[k] p[k][c] (the first row's product, then each next row's added in turn; a group's columns
// past the n taps are zeros, a tail of two read as a 64-bit load, so no column past the taps is read);
// the groups' lanes times wx are added group by group and the four lanes (0 + 1) + (2 + 3) at the end.
// The scalar build computes the same lanes (zeros included) in the same order, so both builds agree bit
// for bit; one row weight per row serves all columns (fewer operations than rows first).
@inline
function tapSum(plane: usize, srcWidth: i32, x0: i32, y0: i32, n: i32, wx: usize, wy: usize): f32 {
  const groups = (n + 3) >> 2, pair = (n & 2) != 0;
  const p0 = plane + ((<usize>y0 * <usize>srcWidth + <usize>x0) << 2), stride = <usize>srcWidth << 2;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (let q = 0; q < groups; q++) {
      const last = pair && q == groups - 1, at = p0 + (<usize>q << 4);
      let col = f32x4.mul(f32x4.splat(load<f32>(wy)), last ? v128.load64_zero(at) : v128.load(at));
      for (let k = 1; k < n; k++) {
        const p = at + <usize>k * stride;
        col = f32x4.add(col, f32x4.mul(f32x4.splat(load<f32>(wy + (<usize>k << 2))), last ? v128.load64_zero(p) : v128.load(p)));
      }
      const term = f32x4.mul(v128.load(wx + (<usize>q << 4)), col);
      acc = q == 0 ? term : f32x4.add(acc, term);
    }
    return (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  }
  let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
  for (let q = 0; q < groups; q++) {
    const last = pair && q == groups - 1, at = p0 + (<usize>q << 4);
    const w0 = load<f32>(wy);
    let c0 = w0 * load<f32>(at), c1 = w0 * load<f32>(at, 4);
    let c2 = w0 * (last ? <f32>0 : load<f32>(at, 8)), c3 = w0 * (last ? <f32>0 : load<f32>(at, 12));
    for (let k = 1; k < n; k++) {
      const p = at + <usize>k * stride, wk = load<f32>(wy + (<usize>k << 2));
      c0 += wk * load<f32>(p); c1 += wk * load<f32>(p, 4);
      c2 += wk * (last ? <f32>0 : load<f32>(p, 8)); c3 += wk * (last ? <f32>0 : load<f32>(p, 12));
    }
    const w = wx + (<usize>q << 4);
    const t0 = load<f32>(w) * c0, t1 = load<f32>(w, 4) * c1, t2 = load<f32>(w, 8) * c2, t3 = load<f32>(w, 12) * c3;
    if (q == 0) { a0 = t0; a1 = t1; a2 = t2; a3 = t3; } else { a0 += t0; a1 += t1; a2 += t2; a3 += t3; }
  }
  return (a0 + a1) + (a2 + a3);
}

// Lanczos3 (n = 6, the default order) with the taps in registers: one pixel's taps about fractional
// offset f (lanes 0-3 and 4-7 of the table rows, 6-7 zero, lerped as fillTaps does).
@inline
function lerpTaps(lo: usize, offset: usize, fr: v128): v128 {
  const a = v128.load(lo + offset);
  return f32x4.add(a, f32x4.mul(f32x4.sub(v128.load(lo + ROW + offset), a), fr));
}

@inline
function lanesSum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// The image's sum (lane 0 of the result) and the variance's (lane 1) for Lanczos3, in the operations and
// order of two tapSum calls (bit for bit the same) but in one loop over the six rows: each row weight
// (wy: the six f32 row taps) is broadcast once for both planes (squared for the variance), and the
// columns take two vectors without tapSum's loop over groups.
@inline
function tapSums6(image: usize, variance: usize, stride: usize, wxA: v128, wxB: v128, wy: usize): v128 {
  let w = f32x4.splat(load<f32>(wy)), w2 = f32x4.mul(w, w);
  let iA = f32x4.mul(w, v128.load(image)), iB = f32x4.mul(w, v128.load64_zero(image + 16));
  let vA = f32x4.mul(w2, v128.load(variance)), vB = f32x4.mul(w2, v128.load64_zero(variance + 16));
  for (let k: usize = 1; k < 6; k++) {
    const pi = image + k * stride, pv = variance + k * stride;
    w = f32x4.splat(load<f32>(wy + (k << 2))); w2 = f32x4.mul(w, w);
    iA = f32x4.add(iA, f32x4.mul(w, v128.load(pi))); iB = f32x4.add(iB, f32x4.mul(w, v128.load64_zero(pi + 16)));
    vA = f32x4.add(vA, f32x4.mul(w2, v128.load(pv))); vB = f32x4.add(vB, f32x4.mul(w2, v128.load64_zero(pv + 16)));
  }
  const si = f32x4.add(f32x4.mul(wxA, iA), f32x4.mul(wxB, iB));
  const sv = f32x4.add(f32x4.mul(f32x4.mul(wxA, wxA), vA), f32x4.mul(f32x4.mul(wxB, wxB), vB));
  return f32x4.replace_lane(f32x4.splat(lanesSum(si)), 1, lanesSum(sv));
}

// Mask: the OR of the bits of the bilinear footprint, pixel (x, y) of the planes and its right, lower and
// lower-right neighbours where the offset along that axis is above zero.
@inline
function sourceBits(srcMask: usize, srcWidth: i32, x: i32, y: i32, right: bool, down: bool): i32 {
  const at = <usize>y * <usize>srcWidth + <usize>x;
  let bits = load<i32>(srcMask + (at << 2));
  if (right) bits |= load<i32>(srcMask + ((at + 1) << 2));
  if (down) {
    bits |= load<i32>(srcMask + ((at + <usize>srcWidth) << 2));
    if (right) bits |= load<i32>(srcMask + ((at + <usize>srcWidth + 1) << 2));
  }
  return bits;
}

// One cell's span of `count` output pixels from index o0 (the SIMD build's pixel loop): the same
// operations as warpLanczos' scalar loop, x and y in the two lanes of f64x2 vectors (the floor, the
// truncation and the table lookups of both axes at once; bit for bit the same values). The cell's mapping
// comes in `cell`: (lx, ly), (rx - lx, ry - ly), (lu, lu), (dxdv0, dydv0), (dxdvStep, dydvStep), dxdu,
// dydu, scale. Blocks of up to SPAN pixels go in two loops: the first computes every pixel's source
// position, Jacobian and taps (PIXEL bytes each in spanPixel), the second the sums, mask and stores, so the
// division and the table reads of one pixel no longer delay its sums. A function of its own (not inlined:
// it holds loops), since V8's optimising compiler recomputed the cell's mapping at every pixel inside
// warpLanczos. On a 2100x4220 output (bench: 0.4 degree rotation), 560 ms per call before; 490 ms with
// the function alone, 365 ms with the two loops and the columns-first sums, 333 ms with tapSums6's rows
// in a loop reading the row taps from the pixel's slot. The general tapSum for every order instead of
// tapSums6 gives the same bits in 529 ms.
function warpSpan(
  o0: usize, count: i32, srcImage: usize, srcVariance: usize, srcMask: usize, srcWidth: i32, srcHeight: i32, srcX0: i32, srcY0: i32,
  outImage: usize, outVariance: usize, outMask: usize, a: i32, noDataBits: i32,
): void {
  const n = 2 * a;
  const lxy = v128.load(cell), dxy = v128.load(cell, 16), luv = v128.load(cell, 32), dv0 = v128.load(cell, 48), dvStep = v128.load(cell, 64);
  const dxdu = load<f64>(cell, 80), dydu = load<f64>(cell, 88), scale = load<f64>(cell, 96);
  const steps = f64x2.splat(<f64>STEPS), lastStep = i32x4.splat(STEPS - 1);
  for (let first = 0; first < count; first += SPAN) {
    const last = min(count, first + SPAN);
    // Each pixel's source position, Jacobian and (Lanczos3) taps first, in a loop of their own: their
    // divisions and table reads then overlap instead of delaying each pixel's sums.
    for (let u = first; u < last; u++) {
      const fu = f64x2.splat(<f64>u), k = <usize>(u - first);
      const sxy = f64x2.add(lxy, f64x2.div(f64x2.mul(dxy, fu), luv));
      const dv = f64x2.add(dv0, f64x2.mul(dvStep, fu));
      const floors = f64x2.floor(sxy);
      const fxy = f64x2.sub(sxy, floors);
      const at = spanPixel + k * PIXEL;
      v128.store(at, i32x4.trunc_sat_f64x2_s_zero(floors));
      v128.store(at, fxy, 16);
      store<f64>(at, Math.abs(dxdu * f64x2.extract_lane(dv, 1) - f64x2.extract_lane(dv, 0) * dydu) * scale, 32);
      if (n == 6) {
        const t = f64x2.mul(fxy, steps);
        const ti = i32x4.min_s(i32x4.trunc_sat_f64x2_s_zero(t), lastStep);
        const frac = f32x4.demote_f64x2_zero(f64x2.sub(t, f64x2.convert_low_i32x4_s(ti)));
        const rowX = table + <usize>i32x4.extract_lane(ti, 0) * ROW, rowY = table + <usize>i32x4.extract_lane(ti, 1) * ROW;
        const frx = i32x4.shuffle(frac, frac, 0, 0, 0, 0), fry = i32x4.shuffle(frac, frac, 1, 1, 1, 1);
        v128.store(at, lerpTaps(rowX, 0, frx), 48); v128.store(at, lerpTaps(rowX, 16, frx), 64);
        v128.store(at, lerpTaps(rowY, 0, fry), 80); v128.store(at, lerpTaps(rowY, 16, fry), 96);
      }
    }
    for (let u = first; u < last; u++) {
      const o = o0 + <usize>u;
      if ((load<i32>(outMask + (o << 2)) & noDataBits) == 0) continue;
      const at = spanPixel + <usize>(u - first) * PIXEL;
      const ix = load<i32>(at), iy = load<i32>(at, 4);
      const x0 = ix - a + 1 - srcX0, y0 = iy - a + 1 - srcY0;
      if (x0 < 0 || y0 < 0 || x0 + n > srcWidth || y0 + n > srcHeight) continue;
      const fx = load<f64>(at, 16), fy = load<f64>(at, 24), det = load<f64>(at, 32);
      let sums: v128;
      if (n == 6) {
        const offset = (<usize>y0 * <usize>srcWidth + <usize>x0) << 2;
        sums = tapSums6(srcImage + offset, srcVariance + offset, <usize>srcWidth << 2, v128.load(at, 48), v128.load(at, 64), at + 80);
      } else {
        const wx = taps, wx2 = taps + 48, wy = taps + 96, wy2 = taps + 144;
        fillTaps(fx, wx, wx2);
        fillTaps(fy, wy, wy2);
        sums = f32x4.replace_lane(f32x4.splat(tapSum(srcImage, srcWidth, x0, y0, n, wx, wy)), 1, tapSum(srcVariance, srcWidth, x0, y0, n, wx2, wy2));
      }
      const bits = sourceBits(srcMask, srcWidth, ix - srcX0, iy - srcY0, fx > 0, fy > 0);
      // (s, var) finite: s - s and var - var are 0; then (s det, var det det) as the scalar loop computes them.
      const sv = f64x2.promote_low_f32x4(sums);
      if (!i64x2.all_true(f64x2.eq(f64x2.sub(sv, sv), f64x2.splat(0)))) {
        store<i32>(outMask + (o << 2), bits | noDataBits);
        continue;
      }
      const out = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.mul(sv, f64x2.splat(det)), f64x2(1.0, det)));
      store<f32>(outImage + (o << 2), f32x4.extract_lane(out, 0));
      store<f32>(outVariance + (o << 2), f32x4.extract_lane(out, 1));
      store<i32>(outMask + (o << 2), bits);
    }
  }
}

// Output box [boxX0, boxX0 + boxWidth) x [boxY0, boxY0 + boxHeight) of planes outWidth wide; grid: f64
// pairs (sx, sy), gridNx x gridNy nodes, node (i, j) at box pixel (min(i step, boxWidth - 1),
// min(j step, boxHeight - 1)). The source planes (srcWidth x srcHeight) hold the source pixels from
// (srcX0, srcY0) on (a cut-out: the grid's positions stay in the whole source's pixels, so a cut-out that
// holds every tap gives the whole source's values bit for bit). badFit: mask bits ORed where an output
// pixel's source value is not finite.
export function warpLanczos(
  srcImage: usize, srcVariance: usize, srcMask: usize, srcWidth: i32, srcHeight: i32, srcX0: i32, srcY0: i32,
  outImage: usize, outVariance: usize, outMask: usize, outWidth: i32, outHeight: i32,
  boxX0: i32, boxY0: i32, boxWidth: i32, boxHeight: i32,
  grid: usize, gridNx: i32, gridNy: i32, step: i32, order: i32, noDataBits: i32, scale: f64,
): i32 {
  if (order < 1 || order > MAX_ORDER || step < 1 || srcWidth < 2 * order || srcHeight < 2 * order) return BAD_ARGUMENT;
  if (boxX0 < 0 || boxY0 < 0 || boxWidth < 1 || boxHeight < 1 || boxX0 + boxWidth > outWidth || boxY0 + boxHeight > outHeight) return BAD_ARGUMENT;
  if (gridNx != (boxWidth - 1 + step - 1) / step + 1 || gridNy != (boxHeight - 1 + step - 1) / step + 1) return BAD_ARGUMENT;
  const srcN = <usize>srcWidth * <usize>srcHeight, outN = <usize>outWidth * <usize>outHeight;
  assertInMemory(srcImage, srcN << 2); assertInMemory(srcVariance, srcN << 2); assertInMemory(srcMask, srcN << 2);
  assertInMemory(outImage, outN << 2); assertInMemory(outVariance, outN << 2); assertInMemory(outMask, outN << 2);
  assertInMemory(grid, <usize>(gridNx * gridNy) << 4);
  if (tableOrder != order) buildTable(order);
  const a = order, n = 2 * order;
  const wx = taps, wx2 = taps + 48, wy = taps + 96, wy2 = taps + 144;
  const cells = max(gridNx - 1, 1);
  for (let v = 0; v < boxHeight; v++) {
    const j = gridNy == 1 ? 0 : min(v / step, gridNy - 2);
    const j1 = gridNy == 1 ? j : j + 1;
    const v0 = j * step, v1 = gridNy == 1 ? v0 + 1 : min((j + 1) * step, boxHeight - 1);
    const fv = <f64>(v - v0), lv = <f64>(v1 - v0);
    const row = <usize>(boxY0 + v) * <usize>outWidth;
    for (let i = 0; i < cells; i++) {
      const i1 = gridNx == 1 ? i : i + 1;
      const u0 = i * step, u1 = gridNx == 1 ? u0 + 1 : min((i + 1) * step, boxWidth - 1);
      const uEnd = i == cells - 1 ? boxWidth : u1;
      const lu = <f64>(u1 - u0), invLu = 1.0 / lu;
      // The cell's corners (i, j), (i + 1, j), (i, j + 1), (i + 1, j + 1); a one-node axis repeats its node.
      const p00 = grid + (<usize>(j * gridNx + i) << 4), p10 = grid + (<usize>(j * gridNx + i1) << 4);
      const p01 = grid + (<usize>(j1 * gridNx + i) << 4), p11 = grid + (<usize>(j1 * gridNx + i1) << 4);
      const x00 = load<f64>(p00), x10 = load<f64>(p10), x01 = load<f64>(p01), x11 = load<f64>(p11);
      const y00 = load<f64>(p00, 8), y10 = load<f64>(p10, 8), y01 = load<f64>(p01, 8), y11 = load<f64>(p11, 8);
      // Along v at this row, left (L) and right (R) edges of the cell; differences times offsets over
      // lengths, so that a mapping that is an integer shift is reproduced exactly.
      const lx = x00 + ((x01 - x00) * fv) / lv, rx = x10 + ((x11 - x10) * fv) / lv;
      const ly = y00 + ((y01 - y00) * fv) / lv, ry = y10 + ((y11 - y10) * fv) / lv;
      const dxdu = (rx - lx) / lu, dydu = (ry - ly) / lu;
      const dxdv0 = (x01 - x00) / lv, dydv0 = (y01 - y00) / lv;
      const dxdvStep = ((x11 - x10) / lv - dxdv0) * invLu, dydvStep = ((y11 - y10) / lv - dydv0) * invLu;
      if (ASC_FEATURE_SIMD) {
        v128.store(cell, f64x2(lx, ly)); v128.store(cell, f64x2(rx - lx, ry - ly), 16); v128.store(cell, f64x2.splat(lu), 32);
        v128.store(cell, f64x2(dxdv0, dydv0), 48); v128.store(cell, f64x2(dxdvStep, dydvStep), 64);
        store<f64>(cell, dxdu, 80); store<f64>(cell, dydu, 88); store<f64>(cell, scale, 96);
        warpSpan(row + <usize>(boxX0 + u0), uEnd - u0, srcImage, srcVariance, srcMask, srcWidth, srcHeight, srcX0, srcY0, outImage, outVariance, outMask, order, noDataBits);
        continue;
      }
      for (let u = u0; u < uEnd; u++) {
        const o = row + <usize>(boxX0 + u);
        if ((load<i32>(outMask + (o << 2)) & noDataBits) == 0) continue;
        const fu = <f64>(u - u0);
        const sx = lx + ((rx - lx) * fu) / lu, sy = ly + ((ry - ly) * fu) / lu;
        const dxdv = dxdv0 + dxdvStep * fu, dydv = dydv0 + dydvStep * fu;
        const det = Math.abs(dxdu * dydv - dxdv * dydu) * scale;
        const ix = <i32>Math.floor(sx), iy = <i32>Math.floor(sy);
        // The first tap's column and row in the planes.
        const x0 = ix - a + 1 - srcX0, y0 = iy - a + 1 - srcY0;
        if (x0 < 0 || y0 < 0 || x0 + n > srcWidth || y0 + n > srcHeight) continue;
        const fx = sx - <f64>ix, fy = sy - <f64>iy;
        fillTaps(fx, wx, wx2);
        fillTaps(fy, wy, wy2);
        const s = <f64>tapSum(srcImage, srcWidth, x0, y0, n, wx, wy);
        const var_ = <f64>tapSum(srcVariance, srcWidth, x0, y0, n, wx2, wy2);
        const bits = sourceBits(srcMask, srcWidth, ix - srcX0, iy - srcY0, fx > 0, fy > 0);
        // A non-finite source value (a convolved exposure's border; a saturated core without a variance)
        // leaves the pixel NO_DATA, with the bits it would have had (SAT stays known, as afw warps the mask
        // apart from the image); a later source may still fill it.
        if (!isFinite(s) || !isFinite(var_)) {
          store<i32>(outMask + (o << 2), bits | noDataBits);
          continue;
        }
        store<f32>(outImage + (o << 2), <f32>(s * det));
        store<f32>(outVariance + (o << 2), <f32>(var_ * det * det));
        store<i32>(outMask + (o << 2), bits);
      }
    }
  }
  return OK;
}
