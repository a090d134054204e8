// Kernels of the PSF's pixel-basis fit (lib/measure/psfDeterminer.ts, PSFEx's psf_make / psf_refine):
// a star's padded stamp resampled onto the model's sample grid, the per-sample weighted polynomial least
// squares over the stars, the model put back on a star's stamp, and the star's amplitude and chi^2.
// Stamps are P x P f64 (row-major), the sample grid G x G f64; the Lanczos taps are computed by the host
// (lib/measure/lanczos.ts) and passed in, 2a taps per output position. Arithmetic: f64, each value's sums
// in the order the module comment of each kernel gives, so the SIMD and scalar builds give the same bits
// (SIMD runs two outputs side by side, each with its own sums in that order). Units: image units; the
// grid values and the model are per unit amplitude.
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';

// Whether every non-zero tap of the last checkedTapSum fell on a good element of its line.
let tapsGood: u8 = 1;

// sum over the taps k of non-zero weight (weights: taps f64) of w_k x the line's element first + k, in tap
// order; the line has n elements `stride` apart from `values` (f64) and `good` (u8). A tap off the line or
// on an element whose good byte is 0 is left out and clears tapsGood.
@inline function checkedTapSum(weights: usize, taps: i32, first: i32, n: i32, values: usize, good: usize, stride: usize): f64 {
  let v = 0.0;
  tapsGood = 1;
  for (let k = 0; k < taps; k++) {
    const w = load<f64>(weights + (<usize>k << 3));
    if (w == 0.0) continue;
    const i = first + k;
    if (i < 0 || i >= n || load<u8>(good + <usize>i * stride) == 0) { tapsGood = 0; continue; }
    v += w * load<f64>(values + ((<usize>i * stride) << 3));
  }
  return v;
}

/**
 * psfSampleGrid: a padded stamp `plane` (P x P f64) resampled onto the G x G sample grid, along x then
 * along y, with `taps` Lanczos weights per sample. `geometry` holds, in order: xFirst (G i32), yFirst
 * (G i32), xNearest (G i32), yNearest (G i32), xWeights (G x taps f64), yWeights (G x taps f64); sample
 * (p, q) is sum_k yW[q][k] sum_l xW[p][l] plane[yFirst[q] + k][xFirst[p] + l], each sum in tap order
 * leaving out taps of weight 0. A tap of non-zero weight off the stamp or on a pixel whose `good` byte is
 * 0 (or, along y, on a row sum that had one) is left out and makes the sample not good. Writes the values
 * to outValues (G x G f64); when outGood is not 0, the 0/1 good map there (G x G u8) and the variance of
 * each sample's nearest pixel (xNearest[p], yNearest[q]; Infinity off the stamp) to outVariance (G x G
 * f64). rows (P x G f64) and rowsGood (P x G u8) are scratch.
 */
export function psfSampleGrid(plane: usize, good: usize, variance: usize, P: i32, G: i32, taps: i32, geometry: usize,
  rows: usize, rowsGood: usize, outValues: usize, outGood: usize, outVariance: usize): i32 {
  if (P <= 0 || G <= 0 || taps <= 0) return BAD_ARGUMENT;
  const area = <usize>P * <usize>P, n = <usize>G * <usize>G;
  assertInMemory(plane, area << 3);
  assertInMemory(good, area);
  assertInMemory(geometry, (<usize>G << 4) * (1 + <usize>taps));
  assertInMemory(outValues, n << 3);
  if (outGood != 0) {
    assertInMemory(outGood, n);
    assertInMemory(variance, area << 3);
    assertInMemory(outVariance, n << 3);
  }
  const xFirst = geometry, yFirst = geometry + (<usize>G << 2);
  const xNearest = geometry + (<usize>G << 3), yNearest = geometry + <usize>G * 12;
  const xWeights = geometry + (<usize>G << 4), yWeights = xWeights + ((<usize>G * <usize>taps) << 3);
  for (let j = 0; j < P; j++) {
    const row = <usize>j * <usize>P;
    for (let p = 0; p < G; p++) {
      const w0 = xWeights + ((<usize>p * <usize>taps) << 3);
      const v = checkedTapSum(w0, taps, load<i32>(xFirst + (<usize>p << 2)), P, plane + (row << 3), good + row, 1);
      const o = <usize>j * <usize>G + <usize>p;
      store<f64>(rows + (o << 3), v);
      store<u8>(rowsGood + o, tapsGood);
    }
  }
  for (let q = 0; q < G; q++) {
    const first = load<i32>(yFirst + (<usize>q << 2));
    const w0 = yWeights + ((<usize>q * <usize>taps) << 3);
    const iy = load<i32>(yNearest + (<usize>q << 2));
    for (let p = 0; p < G; p++) {
      const v = checkedTapSum(w0, taps, first, P, rows + (<usize>p << 3), rowsGood + <usize>p, <usize>G);
      const s = <usize>q * <usize>G + <usize>p;
      store<f64>(outValues + (s << 3), v);
      if (outGood != 0) {
        store<u8>(outGood + s, tapsGood);
        const ix = load<i32>(xNearest + (<usize>p << 2));
        const inside = ix >= 0 && ix < P && iy >= 0 && iy < P;
        store<f64>(outVariance + (s << 3), inside ? load<f64>(variance + ((<usize>iy * <usize>P + <usize>ix) << 3)) : Infinity);
      }
    }
  }
  return OK;
}

/**
 * psfSolveSamples: per sample i of n, the weighted least-squares polynomial coefficients over the stars,
 * sum_s w_si (d_si - sum_t c_st b_ti)^2 minimal. `stars` holds nStars rows of four i32 pointers: the
 * star's values d (n f64), good map (n u8), weights w (n f64) and polynomial terms c (nterms f64). A star
 * counts at a sample where its good byte is set and w > 0. The normal equations of each sample are summed
 * star by star (in the rows' order): rhs_r += (w c_r) d, A_rk += (w c_r) c_k; then solved by Cholesky.
 * Where fewer than nterms stars count or A is not positive definite, the sample's constant term is the
 * weighted mean sum(w d) / sum(w) and the others 0; with no star, all 0. Output: basis (nterms x n f32,
 * term-major). Scratch: lower (n x nterms (nterms + 1) / 2 f64), rhs (n x nterms f64), count (n i32),
 * sums (2 n f64: sum w, sum w d), system (nterms^2 + nterms f64).
 */
export function psfSolveSamples(stars: usize, nStars: i32, n: i32, nterms: i32, lower: usize, rhs: usize, count: usize,
  sums: usize, system: usize, basis: usize): i32 {
  if (nStars < 0 || n <= 0 || nterms <= 0) return BAD_ARGUMENT;
  const tri = (nterms * (nterms + 1)) >> 1;
  const nn = <usize>n;
  assertInMemory(stars, <usize>nStars << 4);
  assertInMemory(lower, (nn * <usize>tri) << 3);
  assertInMemory(basis, (nn * <usize>nterms) << 2);
  memory.fill(lower, 0, (nn * <usize>tri) << 3);
  memory.fill(rhs, 0, (nn * <usize>nterms) << 3);
  memory.fill(count, 0, nn << 2);
  memory.fill(sums, 0, nn << 4);
  const sw = sums, swd = sums + (nn << 3);
  // Accumulators are term-major (lower[t][i], rhs[r][i]) so that two samples sit side by side.
  for (let s = 0; s < nStars; s++) {
    const row = stars + (<usize>s << 4);
    const values = <usize>load<i32>(row), good = <usize>load<i32>(row + 4);
    const weights = <usize>load<i32>(row + 8), terms = <usize>load<i32>(row + 12);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const zero = f64x2.splat(0);
      for (; i + 1 < n; i += 2) {
        const o = <usize>i << 3;
        const w = v128.load(weights + o);
        const g = i64x2.ne(i64x2.extend_low_i32x4_u(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load16_splat(good + <usize>i)))), i64x2.splat(0));
        const use = v128.and(g, f64x2.gt(w, zero));
        // A sample the star does not count at adds +0 or -0 to each sum, which changes none of them.
        const wm = v128.and(w, use), d = v128.and(v128.load(values + o), use);
        for (let r = 0, t = 0; r < nterms; r++) {
          const wr = f64x2.mul(wm, f64x2.splat(load<f64>(terms + (<usize>r << 3))));
          const ro = rhs + (((<usize>r * nn) << 3) + o);
          v128.store(ro, f64x2.add(v128.load(ro), f64x2.mul(wr, d)));
          for (let k = 0; k <= r; k++, t++) {
            const lo = lower + (((<usize>t * nn) << 3) + o);
            v128.store(lo, f64x2.add(v128.load(lo), f64x2.mul(wr, f64x2.splat(load<f64>(terms + (<usize>k << 3))))));
          }
        }
        const co = count + (<usize>i << 2);
        store<i32>(co, load<i32>(co) - <i32>i64x2.extract_lane(use, 0));
        store<i32>(co + 4, load<i32>(co + 4) - <i32>i64x2.extract_lane(use, 1));
        v128.store(sw + o, f64x2.add(v128.load(sw + o), wm));
        v128.store(swd + o, f64x2.add(v128.load(swd + o), f64x2.mul(wm, d)));
      }
    }
    for (; i < n; i++) {
      if (load<u8>(good + <usize>i) == 0) continue;
      const o = <usize>i << 3;
      const w = load<f64>(weights + o);
      if (!(w > 0)) continue;
      const d = load<f64>(values + o);
      for (let r = 0, t = 0; r < nterms; r++) {
        const wr = w * load<f64>(terms + (<usize>r << 3));
        const ro = rhs + (((<usize>r * nn) << 3) + o);
        store<f64>(ro, load<f64>(ro) + wr * d);
        for (let k = 0; k <= r; k++, t++) {
          const lo = lower + (((<usize>t * nn) << 3) + o);
          store<f64>(lo, load<f64>(lo) + wr * load<f64>(terms + (<usize>k << 3)));
        }
      }
      store<i32>(count + (<usize>i << 2), load<i32>(count + (<usize>i << 2)) + 1);
      store<f64>(sw + o, load<f64>(sw + o) + w);
      store<f64>(swd + o, load<f64>(swd + o) + w * d);
    }
  }
  memory.fill(basis, 0, (nn * <usize>nterms) << 2);
  const a = system, b = system + ((<usize>nterms * <usize>nterms) << 3);
  for (let i = 0; i < n; i++) {
    const c = load<i32>(count + (<usize>i << 2));
    if (c == 0) continue;
    const o = <usize>i << 3;
    for (let r = 0, t = 0; r < nterms; r++) {
      store<f64>(b + (<usize>r << 3), load<f64>(rhs + (((<usize>r * nn) << 3) + o)));
      for (let k = 0; k <= r; k++, t++) {
        const v = load<f64>(lower + (((<usize>t * nn) << 3) + o));
        store<f64>(a + (<usize>(r * nterms + k) << 3), v);
        store<f64>(a + (<usize>(k * nterms + r) << 3), v);
      }
    }
    if (c >= nterms && solveSpd(a, b, nterms)) {
      for (let t = 0; t < nterms; t++) store<f32>(basis + ((<usize>t * nn + <usize>i) << 2), <f32>load<f64>(b + (<usize>t << 3)));
    } else {
      store<f32>(basis + (<usize>i << 2), <f32>(load<f64>(sw + o + (nn << 3)) / load<f64>(sw + o)));
    }
  }
  return OK;
}

// Solves the symmetric positive definite m x m system a x = b in place (Cholesky, the lower triangle of
// a overwritten); false when a is not positive definite.
function solveSpd(a: usize, b: usize, m: i32): bool {
  for (let j = 0; j < m; j++) {
    let d = load<f64>(a + (<usize>(j * m + j) << 3));
    for (let k = 0; k < j; k++) {
      const l = load<f64>(a + (<usize>(j * m + k) << 3));
      d -= l * l;
    }
    if (!(d > 0)) return false;
    const l = Math.sqrt(d);
    store<f64>(a + (<usize>(j * m + j) << 3), l);
    for (let i = j + 1; i < m; i++) {
      let s = load<f64>(a + (<usize>(i * m + j) << 3));
      for (let k = 0; k < j; k++) s -= load<f64>(a + (<usize>(i * m + k) << 3)) * load<f64>(a + (<usize>(j * m + k) << 3));
      store<f64>(a + (<usize>(i * m + j) << 3), s / l);
    }
  }
  for (let i = 0; i < m; i++) {
    let s = load<f64>(b + (<usize>i << 3));
    for (let k = 0; k < i; k++) s -= load<f64>(a + (<usize>(i * m + k) << 3)) * load<f64>(b + (<usize>k << 3));
    store<f64>(b + (<usize>i << 3), s / load<f64>(a + (<usize>(i * m + i) << 3)));
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = load<f64>(b + (<usize>i << 3));
    for (let k = i + 1; k < m; k++) s -= load<f64>(a + (<usize>(k * m + i) << 3)) * load<f64>(b + (<usize>k << 3));
    store<f64>(b + (<usize>i << 3), s / load<f64>(a + (<usize>(i * m + i) << 3)));
  }
  return true;
}

/**
 * psfModelOnStamp: the model at a star, sum_t c_t basis_t (basis: nterms x G x G f32; terms: nterms f64;
 * summed term by term into `samples`, G x G f64), interpolated onto the star's P x P stamp (out, f64):
 * along x for every sample row (output column i: sum over the taps on the grid of xW[i][k] x
 * sample[q][xFirst[i] + k], in tap order), then along y (out[j][i] = sum over the taps on the grid with
 * non-zero weight of yW[j][k] x rows[yFirst[j] + k][i], in tap order). `geometry` holds xFirst (P i32),
 * yFirst (P i32), xWeights (P x taps f64), yWeights (P x taps f64); rows (G x P f64) is scratch. Linear
 * in the basis; no normalisation.
 */
export function psfModelOnStamp(basis: usize, terms: usize, nterms: i32, G: i32, P: i32, taps: i32, geometry: usize,
  samples: usize, rows: usize, out: usize): i32 {
  if (G <= 0 || P <= 0 || taps <= 0 || nterms <= 0) return BAD_ARGUMENT;
  const n = <usize>G * <usize>G;
  assertInMemory(basis, (n * <usize>nterms) << 2);
  assertInMemory(out, (<usize>P * <usize>P) << 3);
  memory.fill(samples, 0, n << 3);
  for (let t = 0; t < nterms; t++) {
    const ct = load<f64>(terms + (<usize>t << 3));
    const plane = basis + ((<usize>t * n) << 2);
    let i: usize = 0;
    if (ASC_FEATURE_SIMD) {
      const c = f64x2.splat(ct);
      for (; i + 1 < n; i += 2) {
        const so = samples + (i << 3);
        v128.store(so, f64x2.add(v128.load(so), f64x2.mul(c, f64x2.promote_low_f32x4(v128.load64_zero(plane + (i << 2))))));
      }
    }
    for (; i < n; i++) {
      const so = samples + (i << 3);
      store<f64>(so, load<f64>(so) + ct * <f64>load<f32>(plane + (i << 2)));
    }
  }
  const xFirst = geometry, yFirst = geometry + (<usize>P << 2);
  const xWeights = geometry + (<usize>P << 3), yWeights = xWeights + ((<usize>P * <usize>taps) << 3);
  for (let i = 0; i < P; i++) {
    const first = load<i32>(xFirst + (<usize>i << 2));
    const kFrom = max(0, -first), kTo = min(taps, G - first);
    const w0 = xWeights + ((<usize>i * <usize>taps) << 3);
    for (let q = 0; q < G; q++) {
      const base = samples + ((<usize>q * <usize>G) << 3);
      let s = 0.0;
      for (let k = kFrom; k < kTo; k++) s += load<f64>(w0 + (<usize>k << 3)) * load<f64>(base + (<usize>(first + k) << 3));
      store<f64>(rows + ((<usize>q * <usize>P + <usize>i) << 3), s);
    }
  }
  for (let j = 0; j < P; j++) {
    const first = load<i32>(yFirst + (<usize>j << 2));
    const row = out + ((<usize>j * <usize>P) << 3);
    memory.fill(row, 0, <usize>P << 3);
    for (let k = 0; k < taps; k++) {
      const q = first + k;
      if (q < 0 || q >= G) continue;
      const wq = load<f64>(yWeights + ((<usize>j * <usize>taps + <usize>k) << 3));
      if (wq == 0.0) continue;
      const src = rows + ((<usize>q * <usize>P) << 3);
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        const w = f64x2.splat(wq);
        for (; i + 1 < P; i += 2) {
          const o = <usize>i << 3;
          v128.store(row + o, f64x2.add(v128.load(row + o), f64x2.mul(w, v128.load(src + o))));
        }
      }
      for (; i < P; i++) {
        const o = <usize>i << 3;
        store<f64>(row + o, load<f64>(row + o) + wq * load<f64>(src + o));
      }
    }
  }
  return OK;
}

/**
 * psfStarAmplitude: refits a star's amplitude A to its model on the K x K kernel stamp inside its padded
 * P x P stamp (the `pad` pixels at each side left out), A = sum(w d m) / sum(w m^2) (kept when either sum
 * is not positive), with pixel weights w = 1 / (variance + (accuracy x max(A m, 0))^2) on good pixels and
 * 0 elsewhere (the weight's A the previous one), then its chi^2 = sum over good pixels of w (d - A m)^2
 * with the new A. Sums in raster order. out: (A, chi^2, number of good pixels) f64.
 */
export function psfStarAmplitude(data: usize, variance: usize, good: usize, model: usize, P: i32, pad: i32, K: i32,
  amplitude: f64, accuracy: f64, out: usize): i32 {
  if (P <= 0 || K <= 0 || pad < 0 || pad + K > P) return BAD_ARGUMENT;
  assertInMemory(data, (<usize>P * <usize>P) << 3);
  assertInMemory(model, (<usize>P * <usize>P) << 3);
  let num = 0.0, den = 0.0;
  for (let j = pad; j < pad + K; j++) {
    for (let i = pad; i < pad + K; i++) {
      const k = <usize>(j * P + i);
      const m = load<f64>(model + (k << 3));
      let w = 0.0;
      if (load<u8>(good + k) != 0) {
        const acc = accuracy * max(amplitude * m, 0.0);
        w = 1.0 / (load<f64>(variance + (k << 3)) + acc * acc);
      }
      num += w * load<f64>(data + (k << 3)) * m;
      den += w * m * m;
    }
  }
  let a = amplitude;
  if (den > 0 && num > 0) a = num / den;
  let chi2 = 0.0, npix = 0.0;
  for (let j = pad; j < pad + K; j++) {
    for (let i = pad; i < pad + K; i++) {
      const k = <usize>(j * P + i);
      if (load<u8>(good + k) == 0) continue;
      const m = a * load<f64>(model + (k << 3));
      const acc = accuracy * max(m, 0.0);
      const w = 1.0 / (load<f64>(variance + (k << 3)) + acc * acc);
      const r = load<f64>(data + (k << 3)) - m;
      chi2 += w * (r * r);
      npix += 1;
    }
  }
  store<f64>(out, a);
  store<f64>(out + 8, chi2);
  store<f64>(out + 16, npix);
  return OK;
}
