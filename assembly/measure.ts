// Source measurement kernels (LSST meas_base's CircularApertureFlux and PsfFlux, on planes in linear
// memory). Pixels are unit squares centred on integer coordinates: pixel (i, j) covers
// [i - 0.5, i + 0.5) x [j - 0.5, j + 0.5), as in LSST and the catalogues. Fluxes are in image units
// (e- after ISR) and variances in image units squared. Per-source problems are flag bits, not errors.

import { BAD_ARGUMENT, OK } from './status';

/** Flag bits written per source (and per radius for apertures). */
export const MEASURE_FLAG_EDGE: i32 = 1; // the aperture or the PSF stamp runs off the image: truncated
export const MEASURE_FLAG_NONFINITE: i32 = 2; // a non-finite pixel inside was left out
export const MEASURE_FLAG_NO_WEIGHT: i32 = 4; // PSF flux: the stamp's sum of squares over usable pixels is 0

// Integral of sqrt(r^2 - u^2) du from 0 to u (|u| <= r).
@inline function halfChordIntegral(u: f64, r: f64): f64 {
  const c = u / r;
  const clamped = c > 1.0 ? 1.0 : c < -1.0 ? -1.0 : c;
  return 0.5 * (u * Math.sqrt(Math.max(r * r - u * u, 0.0)) + r * r * Math.asin(clamped));
}

// Integral of (y + h(u)) over u in [a, b] (h = sqrt(r^2 - u^2)), empty when b <= a.
@inline function chordPart(a: f64, b: f64, y: f64, r: f64, twice: bool): f64 {
  if (b <= a) return 0.0;
  const hb = halfChordIntegral(b, r) - halfChordIntegral(a, r);
  return twice ? 2.0 * hb : y * (b - a) + hb;
}

// Area of the part of the disc of radius r at the origin with u < x and v < y (exact).
function cornerArea(x: f64, y: f64, r: f64): f64 {
  if (y <= -r || x <= -r) return 0.0;
  const xc = x > r ? r : x;
  if (y >= r) return chordPart(-r, xc, 0.0, r, true);
  const s = Math.sqrt(r * r - y * y); // |u| <= s: the chord crosses v = y
  let area = chordPart(-s, Math.min(s, xc), y, r, false);
  if (y > 0.0) {
    // |u| > s: the whole chord lies below v = y.
    area += chordPart(-r, Math.min(-s, xc), 0.0, r, true);
    area += chordPart(s, xc, 0.0, r, true);
  }
  return area;
}

/** Exact area of the intersection of the unit pixel centred at (dx, dy) with the disc of radius r at the origin. */
export function pixelDiscOverlap(dx: f64, dy: f64, r: f64): f64 {
  const x0 = dx - 0.5, x1 = dx + 0.5, y0 = dy - 0.5, y1 = dy + 0.5;
  return cornerArea(x1, y1, r) - cornerArea(x0, y1, r) - cornerArea(x1, y0, r) + cornerArea(x0, y0, r);
}

// Per-radius caches for a disc's boundary pixels (see apertureFluxes): per pixel edge, the edge's offset
// from the centre and the half-chord integral there (columns), or the chord's half-width s and its
// integral (rows); and per corner, cornerArea at the corners of two consecutive rows of pixel edges, so
// that neighbouring pixels share their corners' areas. Radii up to CACHE_RADIUS px use them; larger ones
// compute pixelDiscOverlap.
const CACHE_RADIUS: i32 = 1024;
const CACHE_SLOTS: i32 = 2 * CACHE_RADIUS + 4;
const EDGE_X = memory.data(CACHE_SLOTS << 3, 8);
const EDGE_HX = memory.data(CACHE_SLOTS << 3, 8);
const EDGE_Y = memory.data(CACHE_SLOTS << 3, 8);
const EDGE_S = memory.data(CACHE_SLOTS << 3, 8);
const EDGE_HS = memory.data(CACHE_SLOTS << 3, 8);
const CORNER_AREA = memory.data(CACHE_SLOTS << 4, 8); // two rows of corners: row (y edge) & 1
const CORNER_ROW = memory.data(CACHE_SLOTS << 3, 8); // i32 per corner slot: the y edge its area is for (-1: none)

// Per row of the last naive aperture of the current source (rows within CACHE_RADIUS + 1 of the centre's
// row): its run's first and last pixel (first > last: none) and the run's flux, variance and flag, which
// the next, larger naive radius of the source extends instead of summing the run again.
const NAIVE_FROM = memory.data(CACHE_SLOTS << 2, 8);
const NAIVE_TO = memory.data(CACHE_SLOTS << 2, 8);
const NAIVE_FLUX = memory.data(CACHE_SLOTS << 3, 8);
const NAIVE_VARIANCE = memory.data(CACHE_SLOTS << 3, 8);
const NAIVE_FLAG = memory.data(CACHE_SLOTS << 2, 8);

// Integral of sqrt(r^2 - u^2) from 0 to min(u, r) (cornerArea's clamp of x to r).
@inline function clampedHalfChord(u: f64, r: f64): f64 {
  return halfChordIntegral(u > r ? r : u, r);
}

// cornerArea(x, y, r) from cached integrals: hx = clampedHalfChord(x), and for |y| < r the chord's
// half-width s = sqrt(r^2 - y^2) with hs = halfChordIntegral(s). The same operations in the same order
// as cornerArea, so the same value bit for bit (halfChordIntegral is odd: H(-u) = -H(u) exactly).
@inline function cachedCornerArea(x: f64, hx: f64, y: f64, s: f64, hs: f64, r: f64, hr: f64): f64 {
  if (y <= -r || x <= -r) return 0.0;
  const xc = x > r ? r : x;
  if (y >= r) return xc <= -r ? 0.0 : 2.0 * (hx - -hr);
  const m = min(s, xc);
  let area = m <= -s ? 0.0 : y * (m - -s) + ((s < xc ? hs : hx) - -hs);
  if (y > 0.0) {
    const m2 = min(-s, xc);
    area += m2 <= -r ? 0.0 : 2.0 * ((-s < xc ? -hs : hx) - -hr);
    area += xc <= s ? 0.0 : 2.0 * (hx - hs);
  }
  return area;
}

// cornerArea at pixel-edge corner (column edge ex, row edge ey), offsets from the caches' first edges;
// computed once per corner and radius (CORNER_ROW says for which row edge a slot holds its area).
@inline function cornerAt(ex: i32, ey: i32, r: f64, hr: f64): f64 {
  const slot = <usize>((ey & 1) * CACHE_SLOTS + ex);
  const tag = CORNER_ROW + (slot << 2);
  const at = CORNER_AREA + (slot << 3);
  if (load<i32>(tag) == ey) return load<f64>(at);
  const e = <usize>ex << 3, f = <usize>ey << 3;
  const area = cachedCornerArea(load<f64>(EDGE_X + e), load<f64>(EDGE_HX + e), load<f64>(EDGE_Y + f), load<f64>(EDGE_S + f), load<f64>(EDGE_HS + f), r, hr);
  store<f64>(at, area);
  store<i32>(tag, ey);
  return area;
}

// Whether the row dy px from the centre holds a pixel centre within r of it (a naive aperture's run).
@inline function naiveRun(cx: f64, dy: f64, r: f64): bool {
  const h2 = r * r - dy * dy;
  if (!(h2 >= 0.0)) return false;
  const half = Math.sqrt(h2);
  return <i32>Math.ceil(cx - half) <= <i32>Math.floor(cx + half);
}

// runSums' results: the sums of a run's image and variance values.
let runFlux: f64 = 0;
let runVariance: f64 = 0;

// Sums of the pixels a..b of one row (row: its first pixel's index) of the image, and of the variance
// when `variance` is not 0, into runFlux and runVariance, leaving out non-finite values (and the variance
// of a non-finite pixel); returns MEASURE_FLAG_NONFINITE when one was left out. Pixel a + 4q + j goes to
// lane j of four partial sums over whole groups of four, combined as (lane 0 + lane 1) + (lane 2 + lane 3),
// then the last (b - a + 1) mod 4 pixels are added in order: the SIMD build (a group a step) and the
// scalar one take the same steps, so both give the same bits.
function runSums(image: usize, variance: usize, row: usize, a: i32, b: i32): i32 {
  let flag = 0;
  let f0: f64 = 0, f1: f64 = 0, f2: f64 = 0, f3: f64 = 0;
  let v0: f64 = 0, v1: f64 = 0, v2: f64 = 0, v3: f64 = 0;
  let x = a;
  const groupsEnd = a + ((b - a + 1) & ~3);
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    let fLo = f64x2.splat(0), fHi = f64x2.splat(0), vLo = f64x2.splat(0), vHi = f64x2.splat(0);
    for (; x < groupsEnd; x += 4) {
      const p = (row + <usize>x) << 2;
      const v = v128.load(image + p);
      // Finite: v - v is 0 (NaN for NaN and infinities); a left-out lane adds +0, which changes no sum.
      const good = f32x4.eq(f32x4.sub(v, v), zero);
      const kept = v128.and(v, good);
      fLo = f64x2.add(fLo, f64x2.promote_low_f32x4(kept));
      fHi = f64x2.add(fHi, f64x2.promote_low_f32x4(i32x4.shuffle(kept, kept, 2, 3, 0, 1)));
      let all = good;
      if (variance != 0) {
        const w = v128.load(variance + p);
        const goodW = v128.and(good, f32x4.eq(f32x4.sub(w, w), zero));
        const keptW = v128.and(w, goodW);
        vLo = f64x2.add(vLo, f64x2.promote_low_f32x4(keptW));
        vHi = f64x2.add(vHi, f64x2.promote_low_f32x4(i32x4.shuffle(keptW, keptW, 2, 3, 0, 1)));
        all = goodW;
      }
      if (!i32x4.all_true(all)) flag = MEASURE_FLAG_NONFINITE;
    }
    f0 = f64x2.extract_lane(fLo, 0); f1 = f64x2.extract_lane(fLo, 1);
    f2 = f64x2.extract_lane(fHi, 0); f3 = f64x2.extract_lane(fHi, 1);
    v0 = f64x2.extract_lane(vLo, 0); v1 = f64x2.extract_lane(vLo, 1);
    v2 = f64x2.extract_lane(vHi, 0); v3 = f64x2.extract_lane(vHi, 1);
  } else {
    for (; x < groupsEnd; x += 4) {
      for (let j = 0; j < 4; j++) {
        const i = row + <usize>(x + j);
        const v = <f64>load<f32>(image + (i << 2));
        if (!isFinite(v)) { flag = MEASURE_FLAG_NONFINITE; continue; }
        if (j == 0) f0 += v; else if (j == 1) f1 += v; else if (j == 2) f2 += v; else f3 += v;
        if (variance != 0) {
          const vv = <f64>load<f32>(variance + (i << 2));
          if (!isFinite(vv)) { flag = MEASURE_FLAG_NONFINITE; continue; }
          if (j == 0) v0 += vv; else if (j == 1) v1 += vv; else if (j == 2) v2 += vv; else v3 += vv;
        }
      }
    }
  }
  let flux = (f0 + f1) + (f2 + f3), vsum = (v0 + v1) + (v2 + v3);
  for (; x <= b; x++) {
    const i = row + <usize>x;
    const v = <f64>load<f32>(image + (i << 2));
    if (!isFinite(v)) { flag = MEASURE_FLAG_NONFINITE; continue; }
    flux += v;
    if (variance != 0) {
      const vv = <f64>load<f32>(variance + (i << 2));
      if (!isFinite(vv)) { flag = MEASURE_FLAG_NONFINITE; continue; }
      vsum += vv;
    }
  }
  runFlux = flux;
  runVariance = vsum;
  return flag;
}

/**
 * Circular aperture fluxes (LSST CircularApertureFlux). Radii up to exactRadius have exact pixel weights:
 * each pixel counts with the exact area of its overlap with the disc, as SEP's `sum_circle(subpix=0)`
 * (LSST uses sinc apertures up to its maxSincRadius of 10 px, which agree with exact ones on well-sampled
 * images to well under the noise). Larger radii are LSST's naive apertures: the pixels whose centres lie
 * within r, weight 1 (on each row one run, summed as below), flagged EDGE when one of them is off the image.
 * Pixels whose farthest corner lies inside count 1, those whose nearest point lies outside 0; the others'
 * weight is cornerArea at their four corners combined (pixelDiscOverlap's rule), each corner's area
 * computed once per radius and shared by the pixels that meet there (equal to pixelDiscOverlap's up to
 * rounding, which grows with the corner areas, ~r^2 x 1e-16: 5e-13 at r = 30; pixelDiscOverlap computes
 * the edge offsets per pixel). Sums run in raster order, each row's run of weight-1 pixels summed apart
 * (runSums: four lanes, SIMD), the same steps in every build.
 * centres: nSources (x, y) f64 pairs; radii: nRadii f64 (px); exactRadius: px (LSST's maxSincRadius' role:
 * 12, the aperture corrections' radius, in measurement); out: per source and radius (flux, variance)
 * f64 pairs, source-major; flags: per source and radius i32 (EDGE when the disc leaves the image,
 * NONFINITE when a non-finite pixel or variance was skipped). variance may be 0 (variances out 0).
 */
export function apertureFluxes(image: usize, variance: usize, width: i32, height: i32, centres: usize, nSources: i32,
  radii: usize, nRadii: i32, exactRadius: f64, out: usize, flags: usize): i32 {
  if (width <= 0 || height <= 0 || nSources < 0 || nRadii <= 0 || !(exactRadius >= 0.0)) return BAD_ARGUMENT;
  for (let s = 0; s < nSources; s++) {
    const cx = load<f64>(centres + (<usize>(2 * s) << 3));
    const cy = load<f64>(centres + (<usize>(2 * s + 1) << 3));
    // The last naive radius of this source whose rows are cached (0: none yet), and its rows.
    let naiveRadius = 0.0, naiveFromRow = 0, naiveToRow = -1;
    const rowBase = isFinite(cy) ? <i32>Math.floor(cy) - CACHE_RADIUS - 2 : 0; // row y's cache slot: y - rowBase
    for (let k = 0; k < nRadii; k++) {
      const r = load<f64>(radii + (<usize>k << 3));
      let flux = 0.0, vsum = 0.0;
      let flag = 0;
      if (!(r > 0.0) || !isFinite(cx) || !isFinite(cy)) {
        flag |= MEASURE_FLAG_NONFINITE;
      } else if (r > exactRadius) {
        // Naive: on each row the run of pixels whose centres are within r. A row the source's last, smaller
        // naive radius cached holds that radius' run within this one's: only the pixels either side of it
        // are read, its sums added between theirs. Rows are cached for radii up to CACHE_RADIUS.
        const ya = <i32>Math.ceil(cy - r), yb = <i32>Math.floor(cy + r);
        // EDGE when a pixel centre within r lies off the image: in a row beyond the first or last (the
        // nearest such row holds one if any does) or beyond the ends of a row's run (below).
        if ((ya < 0 && naiveRun(cx, -1.0 - cy, r)) || (yb > height - 1 && naiveRun(cx, <f64>height - cy, r))) flag |= MEASURE_FLAG_EDGE;
        const caching = r <= <f64>CACHE_RADIUS;
        const nested = caching && naiveRadius > 0.0 && naiveRadius < r;
        const y0 = max(ya, 0), y1 = min(yb, height - 1);
        for (let y = y0; y <= y1; y++) {
          const dy = <f64>y - cy;
          const h2 = r * r - dy * dy;
          let a = 1, b = 0;
          if (h2 >= 0.0) {
            const half = Math.sqrt(h2);
            a = <i32>Math.ceil(cx - half);
            b = <i32>Math.floor(cx + half);
            if (a <= b && (a < 0 || b > width - 1)) flag |= MEASURE_FLAG_EDGE;
            a = max(0, a);
            b = min(width - 1, b);
          }
          let rowFlux = 0.0, rowVariance = 0.0, rowFlag = 0;
          if (b >= a) {
            const slot = <usize>(y - rowBase);
            const pa = nested && y >= naiveFromRow && y <= naiveToRow ? load<i32>(NAIVE_FROM + (slot << 2)) : 1;
            const pb = nested && y >= naiveFromRow && y <= naiveToRow ? load<i32>(NAIVE_TO + (slot << 2)) : 0;
            if (pb >= pa) {
              rowFlux = load<f64>(NAIVE_FLUX + (slot << 3));
              rowVariance = load<f64>(NAIVE_VARIANCE + (slot << 3));
              rowFlag = load<i32>(NAIVE_FLAG + (slot << 2));
              if (a < pa) {
                rowFlag |= runSums(image, variance, <usize>y * <usize>width, a, pa - 1);
                rowFlux = runFlux + rowFlux;
                rowVariance = runVariance + rowVariance;
              }
              if (pb < b) {
                rowFlag |= runSums(image, variance, <usize>y * <usize>width, pb + 1, b);
                rowFlux += runFlux;
                rowVariance += runVariance;
              }
            } else {
              rowFlag = runSums(image, variance, <usize>y * <usize>width, a, b);
              rowFlux = runFlux;
              rowVariance = runVariance;
            }
            flag |= rowFlag;
            flux += rowFlux;
            vsum += rowVariance;
          }
          if (caching) {
            const slot = <usize>(y - rowBase);
            store<i32>(NAIVE_FROM + (slot << 2), a);
            store<i32>(NAIVE_TO + (slot << 2), b);
            store<f64>(NAIVE_FLUX + (slot << 3), rowFlux);
            store<f64>(NAIVE_VARIANCE + (slot << 3), rowVariance);
            store<i32>(NAIVE_FLAG + (slot << 2), rowFlag);
          }
        }
        if (caching) {
          naiveRadius = r;
          naiveFromRow = y0;
          naiveToRow = y1;
        }
      } else {
        const xa = <i32>Math.floor(cx - r + 0.5), xb = <i32>Math.ceil(cx + r - 0.5);
        const ya = <i32>Math.floor(cy - r + 0.5), yb = <i32>Math.ceil(cy + r - 0.5);
        if (xa < 0 || ya < 0 || xb > width - 1 || yb > height - 1) flag |= MEASURE_FLAG_EDGE;
        const inner = r - 0.7072; // pixels whose farthest corner is inside: weight 1
        const outer = r + 0.7072; // pixels whose nearest point is outside: weight 0
        const x0 = max(xa, 0), x1 = min(xb, width - 1), y0 = max(ya, 0), y1 = min(yb, height - 1);
        const cached = r <= <f64>CACHE_RADIUS;
        const hr = halfChordIntegral(r, r);
        if (cached) {
          // Edge e of the columns is the left edge of pixel x0 + e (x = x0 + e - 0.5); likewise rows.
          for (let e = 0; e <= x1 - x0 + 1; e++) {
            const xe = (<f64>(x0 + e) - 0.5) - cx, o = <usize>e << 3;
            store<f64>(EDGE_X + o, xe);
            store<f64>(EDGE_HX + o, clampedHalfChord(xe, r));
            store<i32>(CORNER_ROW + (<usize>e << 2), -1);
            store<i32>(CORNER_ROW + (<usize>(CACHE_SLOTS + e) << 2), -1);
          }
          for (let e = 0; e <= y1 - y0 + 1; e++) {
            const ye = (<f64>(y0 + e) - 0.5) - cy, o = <usize>e << 3;
            const se = Math.sqrt(Math.max(r * r - ye * ye, 0.0));
            store<f64>(EDGE_Y + o, ye);
            store<f64>(EDGE_S + o, se);
            store<f64>(EDGE_HS + o, halfChordIntegral(se, r));
          }
        }
        for (let y = y0; y <= y1; y++) {
          const dy = <f64>y - cy;
          const row = <usize>y * <usize>width;
          const ey = y - y0;
          // The run of pixels certainly within `inner` (a 1e-9 px margin under the per-pixel test) is
          // summed without the distance test; the same pixels in the same order, so the same sums.
          let runStart = x1 + 1, runEnd = x1;
          const h2 = inner * inner - dy * dy;
          if (inner > 0.0 && h2 > 0.0) {
            const half = Math.sqrt(h2) - 1e-9;
            runStart = max(x0, <i32>Math.ceil(cx - half));
            runEnd = min(x1, <i32>Math.floor(cx + half));
            if (runEnd < runStart) { runStart = x1 + 1; runEnd = x1; }
          }
          // Pixels beyond `outer` along the row (a 1e-9 px margin over the per-pixel test) weigh 0: skipped.
          const o2 = outer * outer - dy * dy;
          if (!(o2 > 0.0)) continue;
          const reach = Math.sqrt(o2) + 1e-9;
          const xFrom = max(x0, <i32>Math.ceil(cx - reach)), xTo = min(x1, <i32>Math.floor(cx + reach));
          for (let x = xFrom; x <= xTo; x++) {
            if (x == runStart) {
              flag |= runSums(image, variance, row, runStart, runEnd);
              flux += runFlux;
              vsum += runVariance;
              x = runEnd + 1;
              if (x > xTo) break;
            }
            const dx = <f64>x - cx;
            const d = Math.sqrt(dx * dx + dy * dy);
            if (d >= outer) continue;
            let w = 1.0;
            if (d > inner) {
              if (cached) {
                const ex = x - x0;
                w = cornerAt(ex + 1, ey + 1, r, hr) - cornerAt(ex, ey + 1, r, hr) - cornerAt(ex + 1, ey, r, hr) + cornerAt(ex, ey, r, hr);
              } else {
                w = pixelDiscOverlap(dx, dy, r);
              }
            }
            if (w <= 0.0) continue;
            const i = row + <usize>x;
            const v = <f64>load<f32>(image + (i << 2));
            if (!isFinite(v)) { flag |= MEASURE_FLAG_NONFINITE; continue; }
            flux += w * v;
            if (variance != 0) {
              const vv = <f64>load<f32>(variance + (i << 2));
              if (!isFinite(vv)) { flag |= MEASURE_FLAG_NONFINITE; continue; }
              vsum += w * w * vv;
            }
          }
        }
      }
      const o = out + (<usize>(2 * (s * nRadii + k)) << 3);
      store<f64>(o, flux);
      store<f64>(o + 8, vsum);
      store<i32>(flags + (<usize>(s * nRadii + k) << 2), flag);
    }
  }
  return OK;
}

/**
 * PSF fluxes (LSST PsfFlux): the amplitude of the PSF model fitted by unweighted linear least squares,
 * F = sum(P I) / sum(P^2), var(F) = sum(P^2 V) / sum(P^2)^2, over the stamp's pixels on the image
 * (unweighted so that bright stars' own Poisson noise does not bias them, as LSST). stamps: nSources
 * f32 images of stampSize^2 (the PSF at each source, centred on its sub-pixel position, unit sum);
 * origins: nSources (x0, y0) i32 pairs, the image pixel of each stamp's (0, 0); out: (flux, variance)
 * f64 pairs; flags: per source i32 (EDGE, NONFINITE, NO_WEIGHT).
 */
export function psfFluxes(image: usize, variance: usize, width: i32, height: i32, stamps: usize, stampSize: i32,
  origins: usize, nSources: i32, out: usize, flags: usize): i32 {
  if (width <= 0 || height <= 0 || stampSize <= 0 || nSources < 0) return BAD_ARGUMENT;
  const area = <usize>stampSize * <usize>stampSize;
  for (let s = 0; s < nSources; s++) {
    const x0 = load<i32>(origins + (<usize>(2 * s) << 2));
    const y0 = load<i32>(origins + (<usize>(2 * s + 1) << 2));
    const stamp = stamps + ((<usize>s * area) << 2);
    let spi = 0.0, spp = 0.0, sppv = 0.0;
    let flag = 0;
    for (let j = 0; j < stampSize; j++) {
      const y = y0 + j;
      if (y < 0 || y >= height) { flag |= MEASURE_FLAG_EDGE; continue; }
      for (let i = 0; i < stampSize; i++) {
        const x = x0 + i;
        if (x < 0 || x >= width) { flag |= MEASURE_FLAG_EDGE; continue; }
        const p = <f64>load<f32>(stamp + (<usize>(j * stampSize + i) << 2));
        if (p == 0.0) continue;
        const idx = <usize>y * <usize>width + <usize>x;
        const v = <f64>load<f32>(image + (idx << 2));
        if (!isFinite(v)) { flag |= MEASURE_FLAG_NONFINITE; continue; }
        spi += p * v;
        spp += p * p;
        if (variance != 0) {
          const vv = <f64>load<f32>(variance + (idx << 2));
          if (isFinite(vv)) sppv += p * p * vv;
          else flag |= MEASURE_FLAG_NONFINITE;
        }
      }
    }
    const o = out + (<usize>(2 * s) << 3);
    if (spp > 0.0) {
      store<f64>(o, spi / spp);
      store<f64>(o + 8, sppv / (spp * spp));
    } else {
      store<f64>(o, NaN);
      store<f64>(o + 8, NaN);
      flag |= MEASURE_FLAG_NO_WEIGHT;
    }
    store<i32>(flags + (<usize>s << 2), flag);
  }
  return OK;
}

// The columns of row offset dy (from the centre) where q = ixx dx^2 + 2 ixy dx dy + iyy dy^2 <= bound,
// dx = column - cx: the ellipse's chord widened by 1e-9 px, clipped to [lo, hi], into chordFirst and
// chordLast (first > last when the row misses it). The same steps as lib/measure/adaptiveMoments.ts's
// ellipseChord.
let chordFirst: i32 = 0;
let chordLast: i32 = 0;
function ellipseChord(cx: f64, dy: f64, ixx: f64, ixy: f64, iyy: f64, bound: f64, lo: i32, hi: i32): void {
  const centre = (-ixy * dy) / ixx, disc = centre * centre - (iyy * dy * dy - bound) / ixx;
  if (!(disc >= 0)) {
    chordFirst = 1;
    chordLast = 0;
    return;
  }
  const half = Math.sqrt(disc) + 1e-9;
  chordFirst = <i32>Math.max(<f64>lo, Math.min(Math.ceil(cx + centre - half), <f64>hi + 1));
  chordLast = <i32>Math.min(<f64>hi, Math.max(Math.floor(cx + centre + half), <f64>lo - 1));
}

/**
 * Adaptive moments' sums (lib/measure/adaptiveMoments.ts's ellipseSums, the same steps in the same order,
 * so the same bits) over the pixels within q = d^T M^-1 d <= 16 of the box [x0, x1] x [y0, y1] clipped to
 * the image, M^-1 = (ixx, ixy; ixy, iyy), d = pixel - (cx, cy): of W I, W I dx, W I dy, W I dx^2,
 * W I dy^2, W I dx dy and (variance not 0) W^2 V, W = exp(-q / 2), into out f64[0..6]. Pixels that are not
 * finite or have one of badBits in mask (0: no mask) are left out. A row runs from the first pixel of
 * the ellipse's chord in two lanes, the pixels at even and at odd offsets, each with its weight by a
 * recurrence over two pixels (two products a pixel instead of an exponential; the lanes' chains of
 * products are independent, and f64x2 in the SIMD build); a last pixel of an odd count goes to lane 0,
 * the lanes' sums are added (lane 0 + lane 1) and weighted by dy and dy^2 once at the row's end. Every
 * build takes the same steps: a pixel left out adds +0 (SIMD) or nothing (scalar), the same sums.
 */
export function momentSums(image: usize, variance: usize, mask: usize, width: i32, height: i32, cx: f64, cy: f64, ixx: f64, ixy: f64, iyy: f64,
  x0: i32, x1: i32, y0: i32, y1: i32, badBits: i32, out: usize): i32 {
  if (width <= 0 || height <= 0) return BAD_ARGUMENT;
  let s = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0, sv = 0.0;
  const step2 = Math.exp(-ixx), step4 = step2 * step2, step8 = step4 * step4;
  const xa = max(0, x0), xb = min(width - 1, x1);
  const yb = min(height - 1, y1);
  for (let py = max(0, y0); py <= yb; py++) {
    const dy = <f64>py - cy;
    ellipseChord(cx, dy, ixx, ixy, iyy, 16, xa, xb);
    const from = chordFirst, to = chordLast;
    if (from > to) continue;
    // Lane 0 at the chord's first pixel, lane 1 at the next; each steps two pixels.
    let dx0 = <f64>from - cx;
    let q0 = ixx * dx0 * dx0 + 2 * ixy * dx0 * dy + iyy * dy * dy;
    const dq = ixx * (2 * dx0 + 1) + 2 * ixy * dy;
    let w0 = Math.exp(-0.5 * q0);
    const ratio = Math.exp(-0.5 * dq);
    let dx1 = dx0 + 1, q1 = q0 + dq, w1 = w0 * ratio;
    let d0 = 2 * dq + 2 * ixx, d1 = d0 + 4 * ixx;
    let k0 = ratio * ratio * step2, k1 = k0 * step4;
    let a0 = 0.0, a1 = 0.0, a2 = 0.0, av = 0.0; // lane 0
    let b0 = 0.0, b1 = 0.0, b2 = 0.0, bv = 0.0; // lane 1
    const row = <usize>py * <usize>width;
    let px = from;
    if (ASC_FEATURE_SIMD) {
      const pairsEnd = from + ((to - from + 1) & ~1);
      const zero = f64x2.splat(0), sixteen = f64x2.splat(16), two = f64x2.splat(2), e8 = f64x2.splat(8 * ixx), s8 = f64x2.splat(step8);
      const bad = i32x4.splat(badBits);
      let dxV = f64x2(dx0, dx1), qV = f64x2(q0, q1), dV = f64x2(d0, d1), wV = f64x2(w0, w1), kV = f64x2(k0, k1);
      let r0 = zero, r1 = zero, r2 = zero, rv = zero;
      for (; px < pairsEnd; px += 2) {
        const p = (row + <usize>px) << 2;
        const v = f64x2.promote_low_f32x4(v128.load64_zero(image + p));
        // Kept: not (q > 16), finite (v - v is 0), no bad mask bit.
        let keep = v128.andnot(f64x2.eq(f64x2.sub(v, v), zero), f64x2.gt(qV, sixteen));
        if (mask != 0) keep = v128.and(keep, i64x2.extend_low_i32x4_s(i32x4.eq(v128.and(v128.load64_zero(mask + p), bad), i32x4.splat(0))));
        const w = v128.and(f64x2.mul(wV, v), keep);
        r0 = f64x2.add(r0, w);
        const wdx = f64x2.mul(w, dxV);
        r1 = f64x2.add(r1, wdx);
        r2 = f64x2.add(r2, f64x2.mul(wdx, dxV));
        if (variance != 0) {
          const vv = f64x2.promote_low_f32x4(v128.load64_zero(variance + p));
          rv = f64x2.add(rv, v128.and(f64x2.mul(f64x2.mul(wV, wV), vv), keep));
        }
        dxV = f64x2.add(dxV, two);
        qV = f64x2.add(qV, dV);
        dV = f64x2.add(dV, e8);
        wV = f64x2.mul(wV, kV);
        kV = f64x2.mul(kV, s8);
      }
      a0 = f64x2.extract_lane(r0, 0); b0 = f64x2.extract_lane(r0, 1);
      a1 = f64x2.extract_lane(r1, 0); b1 = f64x2.extract_lane(r1, 1);
      a2 = f64x2.extract_lane(r2, 0); b2 = f64x2.extract_lane(r2, 1);
      av = f64x2.extract_lane(rv, 0); bv = f64x2.extract_lane(rv, 1);
      dx0 = f64x2.extract_lane(dxV, 0); q0 = f64x2.extract_lane(qV, 0); w0 = f64x2.extract_lane(wV, 0);
    }
    // The scalar build's pairs, and in either build the last pixel of an odd count (lane 0's; lane 1's
    // state and the steps after it are then not read).
    const e8 = 8 * ixx;
    for (; px <= to; px += 2) {
      const i = row + <usize>px;
      let v = <f64>load<f32>(image + (i << 2));
      if (!(q0 > 16) && isFinite(v) && (mask == 0 || (load<i32>(mask + (i << 2)) & badBits) == 0)) {
        const w = w0 * v, wdx = w * dx0;
        a0 += w;
        a1 += wdx;
        a2 += wdx * dx0;
        if (variance != 0) av += w0 * w0 * <f64>load<f32>(variance + (i << 2));
      }
      if (px < to) {
        v = <f64>load<f32>(image + ((i + 1) << 2));
        if (!(q1 > 16) && isFinite(v) && (mask == 0 || (load<i32>(mask + ((i + 1) << 2)) & badBits) == 0)) {
          const w = w1 * v, wdx = w * dx1;
          b0 += w;
          b1 += wdx;
          b2 += wdx * dx1;
          if (variance != 0) bv += w1 * w1 * <f64>load<f32>(variance + ((i + 1) << 2));
        }
      }
      dx0 += 2; dx1 += 2;
      q0 += d0; q1 += d1;
      d0 += e8; d1 += e8;
      w0 *= k0; w1 *= k1;
      k0 *= step8; k1 *= step8;
    }
    const r0 = a0 + b0, r1 = a1 + b1;
    s += r0;
    sx += r1;
    sy += r0 * dy;
    sxx += a2 + b2;
    syy += r0 * dy * dy;
    sxy += r1 * dy;
    sv += av + bv;
  }
  store<f64>(out, s);
  store<f64>(out, sx, 8);
  store<f64>(out, sy, 16);
  store<f64>(out, sxx, 24);
  store<f64>(out, syy, 32);
  store<f64>(out, sxy, 40);
  store<f64>(out, sv, 48);
  return OK;
}

// The squared elliptical radius d^T M^-1 d x scale2 of (dx, dy), at least 0.
@inline function ellipseRadius2(dx: f64, dy: f64, ixx: f64, ixy: f64, iyy: f64, scale2: f64): f64 {
  return Math.max(ixx * dx * dx + 2 * ixy * dx * dy + iyy * dy * dy, 0.0) * scale2;
}

/**
 * Kron photometry (LSST ext_photometryKron, SExtractor's FLUX_AUTO) of one source at (x, y) with the
 * adaptive second moments (xx, yy, xy) (px^2), on an f32 image and variance: with scale = det(M)^(1/4)
 * and the elliptical radius r = sqrt(d^T M^-1 d) x scale, the Kron radius r1 = sum(r I) / sum(I) over the
 * finite pixels with r <= nSigmaForRadius x scale (flagged and set to min(max(r1, scale), maxRadius) when
 * not positive or above maxRadius), then the flux within r <= nRadiusForFlux x r1, pixels within
 * 0.75 x major / scale of that boundary weighted by the fraction of their 5 x 5 subpixels inside, and
 * its variance sum(w^2 V) over finite variances (a non-finite pixel inside is left out and flags the
 * source, as does the flux ellipse's box leaving the image). Rows run over their chords of the bounding
 * ellipse (pixels beyond it weigh 0). Sums in raster order, f64. out: (r1, flux, variance, flag 0/1) f64;
 * a singular shape gives NaN, NaN, NaN, 1.
 */
export function kronFlux(image: usize, variance: usize, width: i32, height: i32, x: f64, y: f64, xx: f64, yy: f64, xy: f64,
  nSigmaForRadius: f64, nRadiusForFlux: f64, maxRadius: f64, out: usize): i32 {
  if (width <= 0 || height <= 0) return BAD_ARGUMENT;
  const det = xx * yy - xy * xy;
  if (!(det > 0)) {
    store<f64>(out, NaN);
    store<f64>(out, NaN, 8);
    store<f64>(out, NaN, 16);
    store<f64>(out, 1, 24);
    return OK;
  }
  const scale = Math.pow(det, 0.25);
  const ixx = yy / det, iyy = xx / det, ixy = -xy / det, scale2 = scale * scale;
  const major = Math.sqrt(0.5 * (xx + yy) + Math.sqrt(0.25 * ((xx - yy) * (xx - yy)) + xy * xy));
  const rMax = nSigmaForRadius * scale, rMax2 = rMax * rMax;
  let sr = 0.0, s = 0.0;
  const reach = Math.ceil(nSigmaForRadius * major) + 1;
  const yFrom = <i32>Math.max(0, Math.floor(y - reach)), yTo = <i32>Math.min(<f64>(height - 1), Math.ceil(y + reach));
  for (let py = yFrom; py <= yTo; py++) {
    const dy = <f64>py - y;
    ellipseChord(x, dy, ixx, ixy, iyy, (rMax * rMax) / scale2, 0, width - 1);
    const row = <usize>py * <usize>width;
    for (let px = chordFirst; px <= chordLast; px++) {
      const r2 = ellipseRadius2(<f64>px - x, dy, ixx, ixy, iyy, scale2);
      if (r2 > rMax2) continue;
      const v = <f64>load<f32>(image + ((row + <usize>px) << 2));
      if (!isFinite(v)) continue;
      sr += Math.sqrt(r2) * v;
      s += v;
    }
  }
  let radius = s > 0 ? sr / s : NaN;
  let flag = 0;
  if (!(radius > 0) || radius > maxRadius) {
    flag = 1;
    radius = Math.min(Math.max(isNaN(radius) ? 0 : radius, scale), maxRadius);
  }
  const rFlux = nRadiusForFlux * radius, rFlux2 = rFlux * rFlux;
  const band = 0.75 * major / scale;
  const inner2 = rFlux > band ? (rFlux - band) * (rFlux - band) : -1.0, outer2 = (rFlux + band) * (rFlux + band);
  const fluxReach = Math.ceil(rFlux * major / scale) + 1;
  let flux = 0.0, vsum = 0.0;
  const yFluxFrom = <i32>Math.max(0, Math.floor(y - fluxReach)), yFluxTo = <i32>Math.min(<f64>(height - 1), Math.ceil(y + fluxReach));
  const bound = rFlux + band;
  for (let py = yFluxFrom; py <= yFluxTo; py++) {
    const dy = <f64>py - y;
    ellipseChord(x, dy, ixx, ixy, iyy, (bound * bound) / scale2, 0, width - 1);
    const row = <usize>py * <usize>width;
    for (let px = chordFirst; px <= chordLast; px++) {
      const dx = <f64>px - x;
      const r2 = ellipseRadius2(dx, dy, ixx, ixy, iyy, scale2);
      let w: f64;
      if (r2 < inner2) w = 1;
      else if (r2 > outer2) w = 0;
      else {
        let inside = 0;
        for (let j = 0; j < 5; j++) {
          for (let i = 0; i < 5; i++) {
            if (ellipseRadius2(dx + <f64>(i - 2) / 5, dy + <f64>(j - 2) / 5, ixx, ixy, iyy, scale2) <= rFlux2) inside++;
          }
        }
        w = <f64>inside / 25;
      }
      if (w == 0) continue;
      const p = (row + <usize>px) << 2;
      const v = <f64>load<f32>(image + p), vv = <f64>load<f32>(variance + p);
      if (!isFinite(v)) { flag = 1; continue; }
      flux += w * v;
      if (isFinite(vv)) vsum += w * w * vv;
    }
  }
  if (x - fluxReach < 0 || y - fluxReach < 0 || x + fluxReach > <f64>(width - 1) || y + fluxReach > <f64>(height - 1)) flag = 1;
  store<f64>(out, radius);
  store<f64>(out, flux, 8);
  store<f64>(out, vsum, 16);
  store<f64>(out, <f64>flag, 24);
  return OK;
}
