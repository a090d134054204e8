// Adds sources described as Gaussian mixtures into an f32 plane (electrons per pixel), sampling each
// normalised elliptical Gaussian at pixel centres (the mixtures already include the PSF and the pixel
// response, see lib/sim/types.ts). Reference: the Gaussian-mixture rendering of the Tractor
// (Hogg & Lang 2013, "Replacing standard galaxy profiles with mixtures of Gaussians").
//
// Table: `nRows` rows of 5 f64 each (40 bytes), sources one after another:
//   source row:    x, y, flux, nComponents, radius
//   component row: weight, xx, yy, xy, cutoff          (nComponents of them follow their source row)
// x, y: 0-based pixel coordinates of the centre; flux in e-; radius (px) bounds the source's box
// |dx| <= radius, |dy| <= radius; weight: fraction of the flux (any sign); xx, yy, xy: second moments
// in pixel^2 (positive definite); cutoff: the component is evaluated where d^T C^-1 d <= cutoff, an
// ellipse outside which a normalised 2-D Gaussian holds exactly exp(-cutoff / 2) of its flux
// (lib/sim/renderer.ts chooses cutoff and radius from the flux tolerance). 0 < cutoff <= 170.
//
// Per component and row y (dy = y - yc), the Gaussian factorises exactly into the row's marginal and
// the conditional along x: amp * exp(-dy^2 / (2 yy)) * exp(A t^2), t = x - m, m = xc + (xy / yy) dy,
// A = -yy / (2 det). The row factor and the row's x-range (the ellipse's chord, clipped to the box
// and the plane) are f64; each pixel then costs one f32 exp. The x-range is widened (inside the
// plane) to a multiple of 4 so that the SIMD loop rarely needs its scalar tail; the pixels touched
// depend only on geometry, and every pixel's value is the same f32 arithmetic per lane in the SIMD
// and the scalar build, so both give bit-identical planes. Components are added to the plane one
// after another in table order (a fixed summation order).
//
// exp: Cephes expf (Moshier): Cody-Waite reduction by ln 2 and a degree-7 polynomial, in f32, with
// 2^n built from the bits of a magic-number rounding. Max relative error against f64 exp over
// [-87, 0]: 7.9e-8 (every 61st f32, emulated op by op), 7.0e-8 measured in the kernel
// (tests/unit/sim-kernels.test.ts). Whole pixels against the f64 mixture: 2.3e-7 relative within 1e-2
// of the peak, 1.4e-6 down to 1e-6 of it (the f32 argument A t^2 carries most of that).
// Sources with flux 0 or whose box misses the plane cost only reading their rows.
// Returns OK, or BAD_ARGUMENT (nothing rendered) for bad sizes or a malformed table.
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';

const ROW_BYTES: usize = 40;
const MAX_CUTOFF: f64 = 170;
const TWO_PI: f64 = 6.283185307179586;

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const EXP_P0: f32 = 1.9875691500e-4;
const EXP_P1: f32 = 1.3981999507e-3;
const EXP_P2: f32 = 8.3334519073e-3;
const EXP_P3: f32 = 4.1665795894e-2;
const EXP_P4: f32 = 1.6666665459e-1;
const EXP_P5: f32 = 5.0000001201e-1;
const EXP_MIN: f32 = -87.0;
const ROUNDING: f32 = 12582912.0; // 1.5 * 2^23
const EXPONENT_BIAS: i32 = 127 << 23;

/** exp(x) for x <= 0 in f32; the lane-for-lane twin of expLanes. */
@inline
function expScalar(xin: f32): f32 {
  const x = xin < EXP_MIN ? EXP_MIN : xin; // f32x4.pmax
  // Adding 1.5 * 2^23 rounds x log2(e) to the nearest integer n (ties to even, as f32.nearest) and
  // leaves n + 2^22 in the low mantissa bits, so shifting those bits up by 23 builds 2^n's exponent.
  const shifted = x * LOG2E + ROUNDING;
  const n = shifted - ROUNDING;
  let r = x - n * LN2_HI;
  r = r - n * LN2_LO;
  const z = r * r;
  let y = EXP_P0 * r + EXP_P1;
  y = y * r + EXP_P2;
  y = y * r + EXP_P3;
  y = y * r + EXP_P4;
  y = y * r + EXP_P5;
  y = y * z + r + 1;
  return y * reinterpret<f32>((reinterpret<i32>(shifted) << 23) + EXPONENT_BIAS);
}

// expLanes' constants, each splatted to 4 lanes, read from memory: V8 rebuilds a v128.const inside a
// loop on every iteration, while a load from a fixed address costs one instruction.
const LANE_CONSTANTS = memory.data<f32>([
  EXP_MIN, EXP_MIN, EXP_MIN, EXP_MIN, LOG2E, LOG2E, LOG2E, LOG2E, ROUNDING, ROUNDING, ROUNDING, ROUNDING,
  LN2_HI, LN2_HI, LN2_HI, LN2_HI, LN2_LO, LN2_LO, LN2_LO, LN2_LO, EXP_P0, EXP_P0, EXP_P0, EXP_P0,
  EXP_P1, EXP_P1, EXP_P1, EXP_P1, EXP_P2, EXP_P2, EXP_P2, EXP_P2, EXP_P3, EXP_P3, EXP_P3, EXP_P3,
  EXP_P4, EXP_P4, EXP_P4, EXP_P4, EXP_P5, EXP_P5, EXP_P5, EXP_P5, 1, 1, 1, 1,
  0, 1, 2, 3,
], 16);

/** exp(x) for x <= 0 on 4 f32 lanes, with the same operations in the same order as expScalar. */
@inline
function expLanes(xin: v128, k: usize): v128 {
  const x = f32x4.pmax(xin, v128.load(k)); // pmax: one instruction; x is never NaN here
  const shifted = f32x4.add(f32x4.mul(x, v128.load(k, 16)), v128.load(k, 32));
  const n = f32x4.sub(shifted, v128.load(k, 32));
  let r = f32x4.sub(x, f32x4.mul(n, v128.load(k, 48)));
  r = f32x4.sub(r, f32x4.mul(n, v128.load(k, 64)));
  const z = f32x4.mul(r, r);
  let y = f32x4.add(f32x4.mul(v128.load(k, 80), r), v128.load(k, 96));
  y = f32x4.add(f32x4.mul(y, r), v128.load(k, 112));
  y = f32x4.add(f32x4.mul(y, r), v128.load(k, 128));
  y = f32x4.add(f32x4.mul(y, r), v128.load(k, 144));
  y = f32x4.add(f32x4.mul(y, r), v128.load(k, 160));
  y = f32x4.add(f32x4.add(f32x4.mul(y, z), r), v128.load(k, 176));
  return f32x4.mul(y, i32x4.add(i32x4.shl(shifted, 23), i32x4.splat(EXPONENT_BIAS)));
}

/** Adds amp * exp(a * t^2), t = (x - xr) + tOffset, to pixels [xa, xb] of one row. */
@inline
function addRow(row: usize, xa: i32, xb: i32, xr: i32, tOffset: f32, a: f32, amp: f32): void {
  let x = xa;
  if (ASC_FEATURE_SIMD) {
    const k = LANE_CONSTANTS;
    const lanes = v128.load(k, 192);
    const offset = f32x4.splat(tOffset);
    const av = f32x4.splat(a);
    const ampv = f32x4.splat(amp);
    for (; x + 4 <= xb + 1; x += 4) {
      const t = f32x4.add(f32x4.add(f32x4.splat(<f32>(x - xr)), lanes), offset);
      const value = f32x4.mul(ampv, expLanes(f32x4.mul(f32x4.mul(t, t), av), k));
      const p = row + (<usize>x << 2);
      v128.store(p, f32x4.add(v128.load(p), value));
    }
  }
  for (; x <= xb; x++) {
    const t = <f32>(x - xr) + tOffset;
    const value = amp * expScalar((t * t) * a);
    const p = row + (<usize>x << 2);
    store<f32>(p, load<f32>(p) + value);
  }
}

/**
 * Adds one component to rows yLo..yHi, columns xLo..xHi (clipping only: the pixels and values are
 * those of the whole plane's rendering) of the plane whose row y starts at plane + y * stride; width
 * and height are the detector plane's (they bound the rows and the widened x-ranges).
 */
function renderComponent(plane: usize, stride: usize, width: i32, height: i32, xc: f64, yc: f64, flux: f64, radius: f64,
  component: usize, yLo: f64, yHi: f64, xLo: i32, xHi: i32): void {
  const weight = load<f64>(component);
  const xx = load<f64>(component, 8);
  const yy = load<f64>(component, 16);
  const xy = load<f64>(component, 24);
  const cutoff = load<f64>(component, 32);
  const det = xx * yy - xy * xy;
  const amp = flux * weight / (TWO_PI * Math.sqrt(det));
  if (amp == 0) return;
  const slope = xy / yy;
  const conditional = det / yy; // variance along x at fixed y
  const a = <f32>(-0.5 / conditional);
  const yReach = min<f64>(radius, Math.sqrt(cutoff * yy));
  const yFirst = <i32>max<f64>(yLo, Math.ceil(yc - yReach));
  const yLast = <i32>min<f64>(yHi, Math.floor(yc + yReach));
  const boxLo = xc - radius;
  const boxHi = xc + radius;
  const lastColumn = <f64>(width - 1);
  for (let y = yFirst; y <= yLast; y++) {
    const dy = <f64>y - yc;
    const rowExponent = -0.5 * dy * dy / yy;
    const chord2 = (cutoff + 2 * rowExponent) * conditional;
    if (chord2 < 0) continue;
    const half = Math.sqrt(chord2);
    const ridge = xc + slope * dy;
    const lo = max<f64>(max<f64>(Math.ceil(ridge - half), Math.ceil(boxLo)), 0);
    const hi = min<f64>(min<f64>(Math.floor(ridge + half), Math.floor(boxHi)), lastColumn);
    if (lo > hi) continue;
    let xa = <i32>lo;
    let xb = <i32>hi;
    const extra = (4 - ((xb - xa + 1) & 3)) & 3;
    const right = min<i32>(extra, width - 1 - xb);
    xb += right;
    xa = max<i32>(0, xa - (extra - right));
    xa = max<i32>(xa, xLo);
    xb = min<i32>(xb, xHi);
    if (xa > xb) continue;
    // t = (x - xr) + (xr - ridge): an exact integer plus an offset in [-0.5, 0.5], one rounding.
    const xr = <i32>min<f64>(max<f64>(Math.round(ridge), -4194304), 4194304);
    const tOffset = <f32>(<f64>xr - ridge);
    const rowAmp = <f32>(amp * Math.exp(rowExponent));
    addRow(plane + <usize>y * stride, xa, xb, xr, tOffset, a, rowAmp);
  }
}

/** Checks every row of the table before anything is drawn. */
function tableIsValid(table: usize, nRows: i32): bool {
  let row = 0;
  while (row < nRows) {
    const p = table + <usize>row * ROW_BYTES;
    const x = load<f64>(p);
    const y = load<f64>(p, 8);
    const flux = load<f64>(p, 16);
    const count = load<f64>(p, 24);
    const radius = load<f64>(p, 32);
    if (!isFinite(x) || !isFinite(y) || !isFinite(flux) || !(radius >= 0 && radius <= 1e6)) return false;
    if (!(count >= 0 && count <= <f64>(nRows - row - 1)) || count != Math.floor(count)) return false;
    const n = <i32>count;
    for (let c = 1; c <= n; c++) {
      const q = p + <usize>c * ROW_BYTES;
      const weight = load<f64>(q);
      const xx = load<f64>(q, 8);
      const yy = load<f64>(q, 16);
      const xy = load<f64>(q, 24);
      const cutoff = load<f64>(q, 32);
      if (!isFinite(weight) || !isFinite(xy) || !(xx > 0 && xx < 1e10) || !(yy > 0 && yy < 1e10)) return false;
      if (!(xx * yy - xy * xy > 0) || !(cutoff > 0 && cutoff <= MAX_CUTOFF)) return false;
    }
    row += 1 + n;
  }
  return true;
}

/**
 * Adds the sources of `table` (layout above) to `plane` (width x height f32, e-). Returns OK, or
 * BAD_ARGUMENT for non-positive sizes or a malformed table, in which case the plane is untouched.
 */
export function renderMixtures(plane: usize, width: i32, height: i32, table: usize, nRows: i32): i32 {
  if (width <= 0 || height <= 0 || nRows < 0) return BAD_ARGUMENT;
  assertInMemory(plane, <usize>width * <usize>height << 2);
  assertInMemory(table, <usize>nRows * ROW_BYTES);
  if (!tableIsValid(table, nRows)) return BAD_ARGUMENT;
  const lastColumn = <f64>(width - 1);
  const lastRow = <f64>(height - 1);
  const stride = <usize>width << 2;
  let row = 0;
  while (row < nRows) {
    const p = table + <usize>row * ROW_BYTES;
    const x = load<f64>(p);
    const y = load<f64>(p, 8);
    const flux = load<f64>(p, 16);
    const n = <i32>load<f64>(p, 24);
    const radius = load<f64>(p, 32);
    row += 1 + n;
    if (flux == 0 || x + radius < 0 || x - radius > lastColumn || y + radius < 0 || y - radius > lastRow) continue;
    for (let c = 1; c <= n; c++) {
      renderComponent(plane, stride, width, height, x, y, flux, radius, p + <usize>c * ROW_BYTES, 0, lastRow, 0, width - 1);
    }
  }
  return OK;
}

// mixtureSnr: matched-filter S/N of each source of a renderMixtures table against a variance plane,
// S/N^2 = sum_i m_i^2 / v_i (reference/peers/match.py's snr_opt). m is the source alone as
// renderMixtures renders it onto a zero plane: the same pixels and the same f32 values (renderComponent
// itself draws it), its components summed in f32 in table order. The sum runs over the source's box
// (columns ceil(x - radius) - 3 .. floor(x + radius) + 3, which holds the x-ranges widened to a
// multiple of 4, rows ceil(y - radius) .. floor(y + radius), clipped to the plane): the model is drawn
// into a static band of SNR_BAND_PIXELS f32, some rows (or, for a box wider than the band, part of one
// row) at a time. Pixels where m = 0 add exactly 0 (also where v = 0); elsewhere m^2 / v is evaluated
// in f64 from the f32 m and v. Pixel x of the box goes to lane (x - first column) & 3 of 4 f64 sums,
// each accumulated in the same order (band, row, x) by the SIMD and the scalar build, then
// S/N = sqrt((s0 + s1) + (s2 + s3)): both builds give bit-identical results.
const SNR_BAND_PIXELS: i32 = 8192; // a multiple of 4
const SNR_BAND = memory.data(SNR_BAND_PIXELS << 2, 16);
const SNR_SUMS = memory.data(32, 16); // the 4 lane sums, f64

/** Adds m^2 / v (0 where m = 0) of one group of 4 pixels, as f64, to the 4 lane sums (SIMD build). */
@inline
function snrLanes(m: v128, v: v128, acc: v128, lanes: i32): v128 {
  const zero = f64x2.splat(0);
  const mx = lanes == 0 ? f64x2.promote_low_f32x4(m) : f64x2.promote_low_f32x4(f32x4.shuffle(m, m, 2, 3, 2, 3));
  const vx = lanes == 0 ? f64x2.promote_low_f32x4(v) : f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 2, 3));
  return f64x2.add(acc, v128.and(f64x2.div(f64x2.mul(mx, mx), vx), f64x2.ne(mx, zero)));
}

@inline
function snrTerm(m: f32, v: f32): f64 {
  const mx = <f64>m;
  return mx != 0 ? mx * mx / <f64>v : 0;
}

/**
 * Adds the terms of one row of `count` pixels (model at mRow, zero beyond `count` up to a multiple of
 * 4; variance at vRow) to the 4 lane sums at `sums`: pixel i goes to lane i & 3.
 */
@inline
function accumulateRow(sums: usize, mRow: usize, vRow: usize, count: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let acc01 = v128.load(sums);
    let acc23 = v128.load(sums, 16);
    for (; i + 4 <= count; i += 4) {
      const m = v128.load(mRow + (<usize>i << 2));
      const v = v128.load(vRow + (<usize>i << 2));
      acc01 = snrLanes(m, v, acc01, 0);
      acc23 = snrLanes(m, v, acc23, 1);
    }
    if (i < count) {
      // The missing lanes have m = 0 and add exactly 0, as the scalar build's do.
      const m = v128.load(mRow + (<usize>i << 2));
      let v = f32x4.splat(0);
      v = f32x4.replace_lane(v, 0, load<f32>(vRow + (<usize>i << 2)));
      if (i + 1 < count) v = f32x4.replace_lane(v, 1, load<f32>(vRow + (<usize>i << 2), 4));
      if (i + 2 < count) v = f32x4.replace_lane(v, 2, load<f32>(vRow + (<usize>i << 2), 8));
      acc01 = snrLanes(m, v, acc01, 0);
      acc23 = snrLanes(m, v, acc23, 1);
    }
    v128.store(sums, acc01);
    v128.store(sums, acc23, 16);
  } else {
    let s0 = load<f64>(sums), s1 = load<f64>(sums, 8), s2 = load<f64>(sums, 16), s3 = load<f64>(sums, 24);
    for (; i < count; i += 4) {
      const mp = mRow + (<usize>i << 2);
      const vp = vRow + (<usize>i << 2);
      s0 += snrTerm(load<f32>(mp), load<f32>(vp));
      s1 += snrTerm(load<f32>(mp, 4), i + 1 < count ? load<f32>(vp, 4) : 0);
      s2 += snrTerm(load<f32>(mp, 8), i + 2 < count ? load<f32>(vp, 8) : 0);
      s3 += snrTerm(load<f32>(mp, 12), i + 3 < count ? load<f32>(vp, 12) : 0);
    }
    store<f64>(sums, s0);
    store<f64>(sums, s1, 8);
    store<f64>(sums, s2, 16);
    store<f64>(sums, s3, 24);
  }
}

/** S/N of the source at table row `p` (on the plane, flux != 0). */
function sourceSnr(p: usize, variance: usize, width: i32, height: i32): f64 {
  const x = load<f64>(p);
  const y = load<f64>(p, 8);
  const flux = load<f64>(p, 16);
  const n = <i32>load<f64>(p, 24);
  const radius = load<f64>(p, 32);
  const bx0 = <i32>max<f64>(0, Math.ceil(x - radius) - 3);
  const bx1 = <i32>min<f64>(<f64>(width - 1), Math.floor(x + radius) + 3);
  const by0 = <i32>max<f64>(0, Math.ceil(y - radius));
  const by1 = <i32>min<f64>(<f64>(height - 1), Math.floor(y + radius));
  const chunk = min<i32>(bx1 - bx0 + 1, SNR_BAND_PIXELS);
  const stride = <usize>((chunk + 3) & ~3) << 2;
  const bandRows = SNR_BAND_PIXELS / ((chunk + 3) & ~3);
  const band = SNR_BAND;
  const sums = SNR_SUMS;
  memory.fill(sums, 0, 32);
  for (let ya = by0; ya <= by1; ya += bandRows) {
    const yb = min<i32>(by1, ya + bandRows - 1);
    for (let xa = bx0; xa <= bx1; xa += chunk) {
      const xb = min<i32>(bx1, xa + chunk - 1);
      memory.fill(band, 0, <usize>(yb - ya + 1) * stride);
      // Row y of the plane at band + (y - ya) * stride - xa * 4 (wrapping address arithmetic).
      const origin = band - <usize>ya * stride - (<usize>xa << 2);
      for (let c = 1; c <= n; c++) {
        renderComponent(origin, stride, width, height, x, y, flux, radius, p + <usize>c * ROW_BYTES, <f64>ya, <f64>yb, xa, xb);
      }
      const count = xb - xa + 1;
      for (let yy = ya; yy <= yb; yy++) {
        const mRow = band + <usize>(yy - ya) * stride;
        const vRow = variance + ((<usize>yy * <usize>width + <usize>xa) << 2);
        accumulateRow(sums, mRow, vRow, count);
      }
    }
  }
  return Math.sqrt((load<f64>(sums) + load<f64>(sums, 8)) + (load<f64>(sums, 16) + load<f64>(sums, 24)));
}

/**
 * Writes the matched-filter S/N of each source of `table` (layout above; one f64 per source row, in
 * table order) against `variance` (width x height f32, e^2) to `out`: 0 for a source with flux 0 or
 * whose box misses the plane. Returns OK, or BAD_ARGUMENT (nothing written) for bad sizes or a
 * malformed table.
 */
export function mixtureSnr(table: usize, nRows: i32, variance: usize, width: i32, height: i32, out: usize): i32 {
  if (width <= 0 || height <= 0 || nRows < 0) return BAD_ARGUMENT;
  assertInMemory(variance, <usize>width * <usize>height << 2);
  assertInMemory(table, <usize>nRows * ROW_BYTES);
  if (!tableIsValid(table, nRows)) return BAD_ARGUMENT;
  let sources = 0;
  for (let row = 0; row < nRows; sources++) row += 1 + <i32>load<f64>(table + <usize>row * ROW_BYTES, 24);
  if (sources > 0) assertInMemory(out, <usize>sources << 3);
  const lastColumn = <f64>(width - 1);
  const lastRow = <f64>(height - 1);
  let row = 0;
  let k = 0;
  while (row < nRows) {
    const p = table + <usize>row * ROW_BYTES;
    const x = load<f64>(p);
    const y = load<f64>(p, 8);
    const flux = load<f64>(p, 16);
    const radius = load<f64>(p, 32);
    row += 1 + <i32>load<f64>(p, 24);
    const off = flux == 0 || x + radius < 0 || x - radius > lastColumn || y + radius < 0 || y - radius > lastRow;
    store<f64>(out + (<usize>k << 3), off ? 0 : sourceSnr(p, variance, width, height));
    k++;
  }
  return OK;
}
