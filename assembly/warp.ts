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
// column weights wx, in four f32 lanes: lane l holds the columns l, l + 4, l + 8 of each row; the lanes
// are added (0 + 1) + (2 + 3) at the end. The scalar build sums in the same order, so both builds agree
// bit for bit. Columns past the n taps are never read (a tail of two is a 64-bit load).
@inline
function tapSum(plane: usize, srcWidth: i32, x0: i32, y0: i32, n: i32, wx: usize, wy: usize): f32 {
  const quads = n >> 2, pair = (n & 2) != 0;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (let k = 0; k < n; k++) {
      const p = plane + ((<usize>(y0 + k) * <usize>srcWidth + <usize>x0) << 2);
      let row = f32x4.splat(0);
      for (let q = 0; q < quads; q++) row = f32x4.add(row, f32x4.mul(v128.load(wx + (<usize>q << 4)), v128.load(p + (<usize>q << 4))));
      if (pair) row = f32x4.add(row, f32x4.mul(v128.load(wx + (<usize>quads << 4)), v128.load64_zero(p + (<usize>quads << 4))));
      acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(wy + (<usize>k << 2))), row));
    }
    return (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  }
  let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
  const m = (quads << 2) + (pair ? 2 : 0);
  for (let k = 0; k < n; k++) {
    const p = plane + ((<usize>(y0 + k) * <usize>srcWidth + <usize>x0) << 2);
    let r0: f32 = 0, r1: f32 = 0, r2: f32 = 0, r3: f32 = 0;
    for (let c = 0; c < m; c += 4) {
      r0 += load<f32>(wx + (<usize>c << 2)) * load<f32>(p + (<usize>c << 2));
      r1 += load<f32>(wx + (<usize>(c + 1) << 2)) * load<f32>(p + (<usize>(c + 1) << 2));
      if (c + 2 < m) {
        r2 += load<f32>(wx + (<usize>(c + 2) << 2)) * load<f32>(p + (<usize>(c + 2) << 2));
        r3 += load<f32>(wx + (<usize>(c + 3) << 2)) * load<f32>(p + (<usize>(c + 3) << 2));
      }
    }
    const wk = load<f32>(wy + (<usize>k << 2));
    a0 += wk * r0; a1 += wk * r1; a2 += wk * r2; a3 += wk * r3;
  }
  return (a0 + a1) + (a2 + a3);
}

// Lanczos3 (n = 6, the default order) with the taps in registers: one pixel's taps about fractional
// offset f (lanes 0-3 and 4-7 of the table rows, 6-7 zero, lerped as fillTaps does), and the sum of tapSum in the
// same operations and order (so the result is bit-identical to the general path), without the taps'
// round trip through memory and the loops over taps: about 1.5x faster per output pixel.
@inline
function tableRow(f: f64): usize {
  return table + <usize>min(<i32>(f * <f64>STEPS), STEPS - 1) * ROW;
}

@inline
function tableFrac(f: f64): v128 {
  const t = f * <f64>STEPS;
  return f32x4.splat(<f32>(t - <f64>min(<i32>t, STEPS - 1)));
}

@inline
function lerpTaps(lo: usize, offset: usize, fr: v128): v128 {
  const a = v128.load(lo + offset);
  return f32x4.add(a, f32x4.mul(f32x4.sub(v128.load(lo + ROW + offset), a), fr));
}

@inline
function rowSum6(p: usize, wA: v128, wB: v128): v128 {
  return f32x4.add(f32x4.add(f32x4.splat(0), f32x4.mul(wA, v128.load(p))), f32x4.mul(wB, v128.load64_zero(p + 16)));
}

@inline
function tapSum6(p: usize, stride: usize, wxA: v128, wxB: v128, wyA: v128, wyB: v128): f32 {
  let acc = f32x4.splat(0);
  acc = f32x4.add(acc, f32x4.mul(f32x4.splat(f32x4.extract_lane(wyA, 0)), rowSum6(p, wxA, wxB)));
  acc = f32x4.add(acc, f32x4.mul(f32x4.splat(f32x4.extract_lane(wyA, 1)), rowSum6(p + stride, wxA, wxB)));
  acc = f32x4.add(acc, f32x4.mul(f32x4.splat(f32x4.extract_lane(wyA, 2)), rowSum6(p + 2 * stride, wxA, wxB)));
  acc = f32x4.add(acc, f32x4.mul(f32x4.splat(f32x4.extract_lane(wyA, 3)), rowSum6(p + 3 * stride, wxA, wxB)));
  acc = f32x4.add(acc, f32x4.mul(f32x4.splat(f32x4.extract_lane(wyB, 0)), rowSum6(p + 4 * stride, wxA, wxB)));
  acc = f32x4.add(acc, f32x4.mul(f32x4.splat(f32x4.extract_lane(wyB, 1)), rowSum6(p + 5 * stride, wxA, wxB)));
  return (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
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
        let s: f64, var_: f64;
        if (ASC_FEATURE_SIMD && n == 6) {
          const rowX = tableRow(fx), rowY = tableRow(fy), frx = tableFrac(fx), fry = tableFrac(fy);
          const wxA = lerpTaps(rowX, 0, frx), wxB = lerpTaps(rowX, 16, frx), wyA = lerpTaps(rowY, 0, fry), wyB = lerpTaps(rowY, 16, fry);
          const offset = (<usize>y0 * <usize>srcWidth + <usize>x0) << 2, stride = <usize>srcWidth << 2;
          s = <f64>tapSum6(srcImage + offset, stride, wxA, wxB, wyA, wyB);
          var_ = <f64>tapSum6(srcVariance + offset, stride, f32x4.mul(wxA, wxA), f32x4.mul(wxB, wxB), f32x4.mul(wyA, wyA), f32x4.mul(wyB, wyB));
        } else {
          fillTaps(fx, wx, wx2);
          fillTaps(fy, wy, wy2);
          s = <f64>tapSum(srcImage, srcWidth, x0, y0, n, wx, wy);
          var_ = <f64>tapSum(srcVariance, srcWidth, x0, y0, n, wx2, wy2);
        }
        // Mask: bilinear footprint.
        const mrow = <usize>(iy - srcY0) * <usize>srcWidth + <usize>(ix - srcX0);
        let bits = load<i32>(srcMask + (mrow << 2));
        if (fx > 0) bits |= load<i32>(srcMask + ((mrow + 1) << 2));
        if (fy > 0) {
          bits |= load<i32>(srcMask + ((mrow + <usize>srcWidth) << 2));
          if (fx > 0) bits |= load<i32>(srcMask + ((mrow + <usize>srcWidth + 1) << 2));
        }
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
