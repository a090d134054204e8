/**
 * PSF matching to a Gaussian model PSF (LSST ip_diffim ModelPsfMatchTask, as makeWarp uses it for the
 * PSF-matched warp): a convolution kernel K with K * P = T, P the exposure's PSF image and T a circular
 * Gaussian wider than P, fitted by linear least squares on an Alard & Lupton (1998) basis: Gaussians of
 * sigma s/2, s, 2s (s = sqrt(sigma_T^2 - sigma_P^2), LSST's scaleByFwhm with alardGaussBeta 2) times
 * polynomials x^i y^j of total degree 4, 2, 2 (alardDegGauss), on a kernel box of 21 px (LSST's
 * matchingKernelSize), the fit over a stamp holding T to 5 sigma; K is then scaled to unit sum (the
 * convolution keeps flux). One kernel per exposure, fitted at the PSF model's centre (LSST fits a
 * spatially varying kernel; over one detector the simulated PSF varies by ~1 %).
 * The convolution runs as a sum of separable terms (K's singular value decomposition, terms kept until
 * the rest is under 1e-4 of |K|) through the wasm kernel convolveSeparableXY, image with K and variance
 * with K^2 (as afw convolves a MaskedImage's variance); within half a kernel of the edge the result is NaN.
 * Units: pixels of the exposure.
 */
import { solveLeastSquares } from '../wcs/leastSquares.js';
import type { Tessera } from '../wasm/loader.js';
import { checkStatus } from '../wasm/kernels.js';
import { libm } from '../math/libm.js';

export const FWHM_PER_SIGMA = 2 * Math.sqrt(2 * Math.LN2);

export interface MatchingKernel {
  /** size x size, row-major, unit sum. */
  kernel: Float64Array;
  size: number;
  /** rms of (K * P - T) over the fit stamp, relative to T's peak. */
  residual: number;
}

export interface MatchingConfig {
  /** Kernel box (odd), LSST matchingKernelSize 21. */
  kernelSize: number;
  /** Polynomial degree per basis Gaussian (LSST alardDegGauss [4, 2, 2]). */
  degrees: readonly number[];
  /** Basis sigmas in units of the matching sigma s (LSST: s / beta, s, s beta with beta 2). */
  sigmaFactors: readonly number[];
}

export const DEFAULT_MATCHING_CONFIG: Readonly<MatchingConfig> = Object.freeze({ kernelSize: 21, degrees: [4, 2, 2], sigmaFactors: [0.5, 1, 2] });

/** A circular Gaussian of `sigma` sampled on a size x size stamp centred on its middle pixel, unit sum. */
function gaussianStamp(sigma: number, size: number): Float64Array {
  const half = size >> 1, out = new Float64Array(size * size);
  let sum = 0;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) sum += out[y * size + x] = libm.exp(-((x - half) ** 2 + (y - half) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / sum;
  return out;
}

/** Full 2-D convolution of `image` (n x n) with `kernel` (k x k) on the image's grid, zero outside. */
function convolveStamp(image: ArrayLike<number>, n: number, kernel: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(n * n), h = k >> 1;
  for (let j = 0; j < k; j++) for (let i = 0; i < k; i++) {
    const w = kernel[j * k + i]!;
    if (w === 0) continue;
    const dy = j - h, dx = i - h;
    for (let y = Math.max(0, dy); y < Math.min(n, n + dy); y++) {
      const row = (y - dy) * n - dx, o = y * n;
      for (let x = Math.max(0, dx); x < Math.min(n, n + dx); x++) out[o + x] += w * image[row + x]!;
    }
  }
  return out;
}

/**
 * The matching kernel taking `psf` (an n x n unit-sum image centred on its middle pixel, sigma `psfSigma`
 * px) to a Gaussian of `targetSigma` px; undefined when the target is not wider than the PSF.
 */
export function fitMatchingKernel(psf: ArrayLike<number>, n: number, psfSigma: number, targetSigma: number, config: MatchingConfig = DEFAULT_MATCHING_CONFIG): MatchingKernel | undefined {
  if (!(targetSigma > psfSigma)) return undefined;
  if (n % 2 !== 1 || psf.length !== n * n) throw new RangeError(`fitMatchingKernel: the PSF image must be n x n with n odd, got ${psf.length} values for n = ${n}`);
  const k = config.kernelSize, h = k >> 1;
  const s = Math.sqrt(targetSigma ** 2 - psfSigma ** 2);
  const bases: Float64Array[] = [];
  config.sigmaFactors.forEach((f, g) => {
    const sigma = Math.max(0.4, f * s);
    for (let deg = 0; deg <= config.degrees[g]!; deg++) for (let j = 0; j <= deg; j++) {
      const i = deg - j, b = new Float64Array(k * k);
      for (let y = -h; y <= h; y++) for (let x = -h; x <= h; x++) b[(y + h) * k + x + h] = libm.exp(-(x * x + y * y) / (2 * sigma * sigma)) * libm.pow(x, i) * libm.pow(y, j);
      bases.push(b);
    }
  });
  const target = gaussianStamp(targetSigma, n);
  const m = n * n, nb = bases.length;
  const design = new Float64Array(m * nb);
  bases.forEach((b, c) => {
    const col = convolveStamp(psf, n, b, k);
    for (let r = 0; r < m; r++) design[r * nb + c] = col[r]!;
  });
  const solution = solveLeastSquares(design, m, nb, [target]);
  if (!solution) return undefined;
  const coeffs = solution[0]!;
  const kernel = new Float64Array(k * k);
  bases.forEach((b, c) => { for (let i = 0; i < kernel.length; i++) kernel[i] += coeffs[c]! * b[i]!; });
  const total = kernel.reduce((a, v) => a + v, 0);
  for (let i = 0; i < kernel.length; i++) kernel[i] = kernel[i]! / total;
  const matched = convolveStamp(psf, n, kernel, k);
  let ss = 0;
  for (let r = 0; r < m; r++) ss += (matched[r]! - target[r]!) ** 2;
  return { kernel, size: k, residual: Math.sqrt(ss / m) / target[(n >> 1) * n + (n >> 1)]! };
}

export interface SeparableTerm {
  /** Along x (columns) and y (rows), each `size` taps. */
  x: Float32Array;
  y: Float32Array;
}

/** K as a sum of separable terms (its SVD by power iteration and deflation) until the rest is under `tolerance` |K|. */
export function separableTerms(kernel: ArrayLike<number>, size: number, tolerance = 1e-4, maxTerms = 8): SeparableTerm[] {
  const rest = Float64Array.from(kernel);
  const norm = Math.sqrt(rest.reduce((a, v) => a + v * v, 0));
  const terms: SeparableTerm[] = [];
  for (let t = 0; t < maxTerms; t++) {
    const left = Math.sqrt(rest.reduce((a, v) => a + v * v, 0));
    if (left <= tolerance * norm) break;
    // Power iteration on rest^T rest for the leading right singular vector v.
    let v = new Float64Array(size).fill(1 / Math.sqrt(size));
    const u = new Float64Array(size);
    let sigma = 0;
    for (let iter = 0; iter < 200; iter++) {
      for (let r = 0; r < size; r++) { let a = 0; for (let c = 0; c < size; c++) a += rest[r * size + c]! * v[c]!; u[r] = a; }
      const next = new Float64Array(size);
      for (let c = 0; c < size; c++) { let a = 0; for (let r = 0; r < size; r++) a += rest[r * size + c]! * u[r]!; next[c] = a; }
      const len = Math.sqrt(next.reduce((a, x) => a + x * x, 0));
      if (len === 0) break;
      let change = 0;
      for (let c = 0; c < size; c++) { const x = next[c]! / len; change += (x - v[c]!) ** 2; next[c] = x; }
      v = next;
      if (change < 1e-24) break;
    }
    for (let r = 0; r < size; r++) { let a = 0; for (let c = 0; c < size; c++) a += rest[r * size + c]! * v[c]!; u[r] = a; }
    sigma = Math.sqrt(u.reduce((a, x) => a + x * x, 0));
    if (!(sigma > 0)) break;
    // rest[r][c] = y[r] x[c]: rows are y, columns x.
    const y = Float32Array.from(u), x = Float32Array.from(v);
    for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) rest[r * size + c] = rest[r * size + c]! - u[r]! * v[c]!;
    terms.push({ x, y });
  }
  return terms;
}

/** `image` convolved with the sum of separable terms (wasm convolveSeparableXY, summed by addPlane); NaN within half a kernel of the edge. */
export function convolveTerms(tessera: Tessera, image: Float32Array, width: number, height: number, terms: readonly SeparableTerm[]): Float32Array {
  if (terms.length === 0) throw new RangeError('convolveTerms: no kernel terms');
  const size = terms[0]!.x.length, half = size >> 1;
  const n = width * height;
  const { planes, kernels } = tessera;
  return planes.scope(() => {
    const src = planes.allocFrom(image), sum = planes.alloc(4 * n), term = planes.alloc(4 * n), scratch = planes.alloc(4 * n);
    terms.forEach((t, k) => {
      planes.scope(() => {
        const kx = planes.allocFrom(t.x), ky = planes.allocFrom(t.y);
        checkStatus('convolveSeparableXY', kernels.convolveSeparableXY(src, k === 0 ? sum : term, scratch, width, height, kx, ky, half));
        if (k > 0) checkStatus('addPlane', kernels.addPlane(sum, term, n));
      });
    });
    const out = planes.f32(sum, n);
    out.fill(NaN, 0, Math.min(n, half * width));
    out.fill(NaN, Math.max(0, (height - half) * width));
    for (let y = half; y < height - half; y++) {
      out.fill(NaN, y * width, y * width + Math.min(half, width));
      out.fill(NaN, y * width + Math.max(0, width - half), (y + 1) * width);
    }
    return out.slice();
  });
}
