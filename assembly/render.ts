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

function renderComponent(plane: usize, width: i32, height: i32, xc: f64, yc: f64, flux: f64, radius: f64, component: usize): void {
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
  const yFirst = <i32>max<f64>(0, Math.ceil(yc - yReach));
  const yLast = <i32>min<f64>(<f64>(height - 1), Math.floor(yc + yReach));
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
    // t = (x - xr) + (xr - ridge): an exact integer plus an offset in [-0.5, 0.5], one rounding.
    const xr = <i32>min<f64>(max<f64>(Math.round(ridge), -4194304), 4194304);
    const tOffset = <f32>(<f64>xr - ridge);
    const rowAmp = <f32>(amp * Math.exp(rowExponent));
    addRow(plane + <usize>y * (<usize>width << 2), xa, xb, xr, tOffset, a, rowAmp);
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
    for (let c = 1; c <= n; c++) renderComponent(plane, width, height, x, y, flux, radius, p + <usize>c * ROW_BYTES);
  }
  return OK;
}
