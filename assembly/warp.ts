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
// output in turn; a pixel whose interpolated value or variance is not finite stays NO_DATA.
// Coordinates are 0-based pixel centres (LSST); units are the source planes'.
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';

const TABLE_PER_UNIT: i32 = 4096;
const MAX_ORDER: i32 = 5;
// L_a(x) sampled every 1/TABLE_PER_UNIT on [0, a], two zeros after: interpolated linearly (error < 1e-7).
const table: usize = memory.data(<i32>((MAX_ORDER * TABLE_PER_UNIT + 2) << 3));
let tableOrder: i32 = 0;
// Per-pixel taps: weights and squared weights along x and y.
const taps: usize = memory.data(4 * 2 * MAX_ORDER * 8);

function buildTable(a: i32): void {
  const n = a * TABLE_PER_UNIT;
  store<f64>(table, 1.0);
  for (let i = 1; i <= n; i++) {
    const x = <f64>i / <f64>TABLE_PER_UNIT;
    const px = Math.PI * x;
    store<f64>(table + (<usize>i << 3), i == n ? 0.0 : (<f64>a * Math.sin(px) * Math.sin(px / <f64>a)) / (px * px));
  }
  store<f64>(table + (<usize>(n + 1) << 3), 0.0);
  tableOrder = a;
}

@inline
function lanczosAt(d: f64): f64 {
  const t = Math.abs(d) * <f64>TABLE_PER_UNIT;
  const i = <i32>t;
  const lo = load<f64>(table + (<usize>i << 3));
  return lo + (t - <f64>i) * (load<f64>(table + (<usize>(i + 1) << 3)) - lo);
}

// Normalised taps for fractional offset f in [0, 1): weight k is that of sample floor + k - a + 1.
@inline
function fillTaps(f: f64, a: i32, w: usize, w2: usize): void {
  const n = 2 * a;
  let sum = 0.0;
  for (let k = 0; k < n; k++) {
    const v = lanczosAt(f + <f64>(a - 1 - k));
    store<f64>(w + (<usize>k << 3), v);
    sum += v;
  }
  const inv = 1.0 / sum;
  for (let k = 0; k < n; k++) {
    const v = load<f64>(w + (<usize>k << 3)) * inv;
    store<f64>(w + (<usize>k << 3), v);
    store<f64>(w2 + (<usize>k << 3), v * v);
  }
}

// Output box [boxX0, boxX0 + boxWidth) x [boxY0, boxY0 + boxHeight) of planes outWidth wide; grid: f64
// pairs (sx, sy), gridNx x gridNy nodes, node (i, j) at box pixel (min(i step, boxWidth - 1),
// min(j step, boxHeight - 1)). badFit: mask bits ORed where an output pixel's source value is not finite.
export function warpLanczos(
  srcImage: usize, srcVariance: usize, srcMask: usize, srcWidth: i32, srcHeight: i32,
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
  const wx = taps, wx2 = taps + (<usize>MAX_ORDER << 4), wy = taps + (<usize>MAX_ORDER << 5), wy2 = taps + (<usize>MAX_ORDER * 48);
  for (let v = 0; v < boxHeight; v++) {
    const j = gridNy == 1 ? 0 : min(v / step, gridNy - 2);
    const v0 = j * step, v1 = gridNy == 1 ? v0 + 1 : min((j + 1) * step, boxHeight - 1);
    const fv = <f64>(v - v0), lv = <f64>(v1 - v0);
    const row = <usize>(boxY0 + v) * <usize>outWidth;
    for (let u = 0; u < boxWidth; u++) {
      const o = row + <usize>(boxX0 + u);
      if ((load<i32>(outMask + (o << 2)) & noDataBits) == 0) continue;
      const i = gridNx == 1 ? 0 : min(u / step, gridNx - 2);
      const u0 = i * step, u1 = gridNx == 1 ? u0 + 1 : min((i + 1) * step, boxWidth - 1);
      const fu = <f64>(u - u0), lu = <f64>(u1 - u0);
      // Grid corners (i, j), (i + 1, j), (i, j + 1), (i + 1, j + 1); a one-node axis repeats its node.
      const i1 = gridNx == 1 ? i : i + 1, j1 = gridNy == 1 ? j : j + 1;
      const p00 = grid + (<usize>(j * gridNx + i) << 4), p10 = grid + (<usize>(j * gridNx + i1) << 4);
      const p01 = grid + (<usize>(j1 * gridNx + i) << 4), p11 = grid + (<usize>(j1 * gridNx + i1) << 4);
      const x00 = load<f64>(p00), x10 = load<f64>(p10), x01 = load<f64>(p01), x11 = load<f64>(p11);
      const y00 = load<f64>(p00, 8), y10 = load<f64>(p10, 8), y01 = load<f64>(p01, 8), y11 = load<f64>(p11, 8);
      // Differences times offsets over lengths: exact for a mapping that is an integer shift.
      const dxdu0 = (x10 - x00) / lu, dxdu1 = (x11 - x01) / lu, dydu0 = (y10 - y00) / lu, dydu1 = (y11 - y01) / lu;
      const xa = x00 + ((x10 - x00) * fu) / lu, xb = x01 + ((x11 - x01) * fu) / lu;
      const ya = y00 + ((y10 - y00) * fu) / lu, yb = y01 + ((y11 - y01) * fu) / lu;
      const sx = xa + ((xb - xa) * fv) / lv, sy = ya + ((yb - ya) * fv) / lv;
      const dxdu = dxdu0 + ((dxdu1 - dxdu0) * fv) / lv, dydu = dydu0 + ((dydu1 - dydu0) * fv) / lv;
      const dxdv = (xb - xa) / lv, dydv = (yb - ya) / lv;
      const det = Math.abs(dxdu * dydv - dxdv * dydu) * scale;
      const ix = <i32>Math.floor(sx), iy = <i32>Math.floor(sy);
      const x0 = ix - a + 1, y0 = iy - a + 1;
      if (x0 < 0 || y0 < 0 || x0 + n > srcWidth || y0 + n > srcHeight) continue;
      const fx = sx - <f64>ix, fy = sy - <f64>iy;
      fillTaps(fx, a, wx, wx2);
      fillTaps(fy, a, wy, wy2);
      let s = 0.0, var_ = 0.0;
      for (let k = 0; k < n; k++) {
        const base = <usize>(y0 + k) * <usize>srcWidth + <usize>x0;
        let rs = 0.0, rv = 0.0;
        for (let m = 0; m < n; m++) {
          const q = (base + <usize>m) << 2;
          rs += load<f64>(wx + (<usize>m << 3)) * <f64>load<f32>(srcImage + q);
          rv += load<f64>(wx2 + (<usize>m << 3)) * <f64>load<f32>(srcVariance + q);
        }
        s += load<f64>(wy + (<usize>k << 3)) * rs;
        var_ += load<f64>(wy2 + (<usize>k << 3)) * rv;
      }
      // A non-finite source value (a convolved exposure's border) leaves the pixel NO_DATA.
      if (!isFinite(s) || !isFinite(var_)) continue;
      // Mask: bilinear footprint.
      const mrow = <usize>iy * <usize>srcWidth + <usize>ix;
      let bits = load<i32>(srcMask + (mrow << 2));
      if (fx > 0) bits |= load<i32>(srcMask + ((mrow + 1) << 2));
      if (fy > 0) {
        bits |= load<i32>(srcMask + ((mrow + <usize>srcWidth) << 2));
        if (fx > 0) bits |= load<i32>(srcMask + ((mrow + <usize>srcWidth + 1) << 2));
      }
      store<f32>(outImage + (o << 2), <f32>(s * det));
      store<f32>(outVariance + (o << 2), <f32>(var_ * det * det));
      store<i32>(outMask + (o << 2), bits);
    }
  }
  return OK;
}
