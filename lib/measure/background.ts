/**
 * Background estimation, LSST's SubtractBackgroundTask (meas_algorithms@26.0.0 subtractBackground.py over
 * afw BackgroundMI), in two steps:
 *  1. a binned statistic: the image is cut into nx x ny bins, nx = ceil(width / binSize) (LSST's rule;
 *     bin i covers x in [floor(i W / nx), floor((i+1) W / nx)), so bins are equal to a pixel), and each
 *     bin's value is afw's MEANCLIP (3 sigma, 3 iterations) of its good pixels: finite and carrying none
 *     of ignoredPixelMask (BAD, EDGE, DETECTED, DETECTED_NEGATIVE, NO_DATA). The wasm kernel
 *     binClippedMean (assembly/background.ts) does this. A bin with fewer good pixels than
 *     minGoodFraction (5 %) of its area, or without a clipped variance, is filled from its neighbours:
 *     repeatedly, each unfilled bin that has measured or filled 8-neighbours takes their mean (afw leaves
 *     such a bin NaN and its interpolation skips it; SExtractor fills the same way). Its variance is the
 *     neighbours' mean variance and `filled` marks it.
 *  2. a smooth model over the bin grid, evaluated at every pixel by the wasm kernel evaluateRowPolynomials
 *     from one polynomial per row and segment that this module derives:
 *     - 'chebyshev' (default; LSST's useApprox = True): a least-squares fit, weighted by 1 / bin variance
 *       (approxWeighting), of sum_{i+j<=order} c_ij T_i(x') T_j(y') to the measured (not filled) bins,
 *       x' and y' mapping the image's pixel edges to -1 and 1 (afw Chebyshev1Function2 over the image
 *       box). The order is approxOrder (6) reduced to nx - 1 and ny - 1 (REDUCE_INTERP_ORDER: 3 on the
 *       tiny preset's 4 x 8 bins) and further until there are no more terms than measured bins, and
 *       until the fit is not degenerate (measured bins in too few rows or columns for the terms).
 *     - 'akima': Akima splines (Akima 1970, JACM 17, 589; GSL's akima) through the bin centres, first
 *       along y for each bin column, then along x in each row (afw BackgroundMI::getImage with
 *       AKIMA_SPLINE, LSST's choice when useApprox is off). Outside the first and last bin centres the
 *       end interval's cubic is continued quadratically (value, first and second derivative at the end
 *       centre), as afw's InterpolateGsl does. Akima's end-slope extension is defined from 3 centres on,
 *       so it is used there (GSL asks for 5 and afw's REDUCE_INTERP_ORDER drops to a natural cubic
 *       spline below that); 2 centres give a line and 1 a constant.
 *     Measured (tests/tasks/background.test.ts; 16 simulated tiny exposures, after detection and
 *     re-estimation): the worst bin's mean error at pixels > 5 FWHM from every source is <= 0.036 sigma
 *     with the Chebyshev model and <= 0.100 sigma with Akima in fields without objects brighter than
 *     17 mag, and 0.02-0.57 sigma against 0.03-1.3 sigma in the full field, where light of bright stars
 *     and galaxies beyond their footprints biases the bins around them: the spline follows such a bin,
 *     the low-order fit averages it with the others. A large galaxy centred in a bin shows it most (an
 *     exponential of r_e 20 px, 14 mag, clean field 78): the background over its 4 r_e ellipse exceeds the
 *     sky by 14 % of its flux with Akima and 0.1 % with Chebyshev before detection, 2.1 % and 0.03 % after
 *     one detect-and-re-estimate round. So LSST's default stays.
 * Units: the image's (e- after ISR). The model covers the image it was measured on, pixel (0, 0) at its
 * lower left; it is serialisable on its own (writeBackground / readBackground: a FITS binary table per
 * model, the pipeline's calexpBackground), and re-estimating with DETECTED masked (LSST's
 * reEstimateBackground) is estimateBackground on the same image with the detection mask
 * (lib/measure/detection.ts detectWithBackground does the whole iteration, three rounds by default).
 */
import { FitsError } from '../fits/errors.js';
import { FitsHeader } from '../fits/header.js';
import { readFitsBytes } from '../fits/file.js';
import { writeFits, type HduSpec } from '../fits/writer.js';
import type { BinTable, BinTableColumn } from '../fits/bintable.js';
import { MASK_PLANES } from '../pipeline/maskPlanes.js';
import { checkStatus } from '../wasm/kernels.js';
import type { Tessera } from '../wasm/loader.js';
import type { HaloBlocks } from './halos.js';
import { solveLeastSquares } from '../wcs/leastSquares.js';
import { chebyshevT } from '../math/chebyshev.js';

/** The planes background estimation and detection read (an Exposure has them all). */
export interface MaskedImage {
  readonly width: number;
  readonly height: number;
  readonly image: Float32Array;
  readonly mask: Int32Array;
  readonly variance: Float32Array;
  /** Mask plane name -> bit; the standard planes (lib/pipeline/maskPlanes.ts) when absent. */
  readonly maskPlanes?: Readonly<Record<string, number>>;
}

/**
 * Copies of an image's image and mask planes in wasm memory (pointers), made by a caller in a planes scope
 * that outlives the calls it hands them to, so that one copy serves several steps: the halo search, the
 * background's statistics and the subtraction (detectWithBackground). The statistics may OR halo bits into
 * the mask copy, and subtractBackground given the image copy subtracts in it. detectSources given them
 * uses them up: it smooths the image copy in place and releases the mask copy, so they serve no step after it.
 */
export interface ResidentPlanes {
  readonly image: number;
  readonly mask: number;
}

export type BackgroundInterpolation = 'akima' | 'chebyshev';

export interface BackgroundConfig {
  /** Bin size in pixels (LSST binSize 128). */
  binSize: number;
  /** MEANCLIP clipping: nSigma (3) and iterations (3) (afw StatisticsControl defaults). */
  nSigma: number;
  nIter: number;
  /** Mask planes whose pixels are left out (LSST ignoredPixelMask). */
  ignoredPixelMask: readonly string[];
  /** A bin with fewer good pixels than this fraction of its area is filled from its neighbours. */
  minGoodFraction: number;
  /** How the bin grid becomes a model (see the module comment). */
  interpolation: BackgroundInterpolation;
  /** Chebyshev order for 'chebyshev' (LSST approxOrderX 6). */
  approxOrder: number;
}

export const DEFAULT_BACKGROUND_CONFIG: Readonly<BackgroundConfig> = Object.freeze({
  binSize: 128,
  nSigma: 3,
  nIter: 3,
  ignoredPixelMask: Object.freeze(['BAD', 'EDGE', 'DETECTED', 'DETECTED_NEGATIVE', 'NO_DATA']),
  minGoodFraction: 0.05,
  interpolation: 'chebyshev',
  approxOrder: 6,
});

export interface BackgroundModel {
  /** Size of the image the model covers. */
  readonly width: number;
  readonly height: number;
  /** Bins along x and y, and the binSize they came from. */
  readonly nx: number;
  readonly ny: number;
  readonly binSize: number;
  /** Bin boundaries: bin i spans x in [xEdges[i], xEdges[i+1]) (nx + 1 values); likewise y. */
  readonly xEdges: Int32Array;
  readonly yEdges: Int32Array;
  /** Per bin, row-major (index j nx + i): the value (image units), its variance, pixels used and good, and whether it was filled. */
  readonly values: Float64Array;
  readonly variances: Float64Array;
  readonly used: Int32Array;
  readonly good: Int32Array;
  readonly filled: Uint8Array;
  readonly interpolation: BackgroundInterpolation;
  readonly approxOrder: number;
  /** The statistic's settings, for provenance. */
  readonly nSigma: number;
  readonly nIter: number;
  readonly ignoredPixelMask: readonly string[];
  readonly minGoodFraction: number;
}

/** A background that cannot be estimated (no usable pixel, bad configuration). */
export class BackgroundError extends Error {
  constructor(problem: string) {
    super(`background: ${problem}`);
    this.name = 'BackgroundError';
  }
}

/** The full configuration from a partial one, validated. */
export function backgroundConfig(overrides: Partial<BackgroundConfig> = {}): BackgroundConfig {
  const c: BackgroundConfig = { ...DEFAULT_BACKGROUND_CONFIG, ...overrides };
  const fail = (p: string): never => { throw new BackgroundError(`bad configuration: ${p}`); };
  if (!Number.isInteger(c.binSize) || c.binSize < 1) fail(`binSize must be a positive integer, got ${c.binSize}`);
  if (!(c.nSigma > 0) || !Number.isFinite(c.nSigma)) fail(`nSigma must be a positive number, got ${c.nSigma}`);
  if (!Number.isInteger(c.nIter) || c.nIter < 0) fail(`nIter must be a non-negative integer, got ${c.nIter}`);
  if (!(c.minGoodFraction >= 0 && c.minGoodFraction <= 1)) fail(`minGoodFraction must be in [0, 1], got ${c.minGoodFraction}`);
  if (c.interpolation !== 'akima' && c.interpolation !== 'chebyshev') fail(`interpolation must be 'akima' or 'chebyshev', got '${String(c.interpolation)}'`);
  if (!Number.isInteger(c.approxOrder) || c.approxOrder < 0) fail(`approxOrder must be a non-negative integer, got ${c.approxOrder}`);
  for (const name of c.ignoredPixelMask) if (typeof name !== 'string' || name === '') fail('ignoredPixelMask must hold plane names');
  return c;
}

/** The OR of the bits of the named planes in `planes` (names it lacks mark no pixel). */
export function maskBits(names: readonly string[], planes: Readonly<Record<string, number>> = MASK_PLANES): number {
  let bits = 0;
  for (const name of names) {
    const bit = planes[name];
    if (bit !== undefined) bits |= 1 << bit;
  }
  return bits;
}

/** Boundaries of n bins over `length` pixels: floor(i length / n), i = 0..n. */
export function binEdges(length: number, n: number): Int32Array {
  return Int32Array.from({ length: n + 1 }, (_, i) => Math.floor((i * length) / n));
}

/** Bin centres (pixel coordinates) from boundaries: (lo + hi - 1) / 2. */
export function binCentres(edges: Int32Array): Float64Array {
  return Float64Array.from({ length: edges.length - 1 }, (_, i) => (edges[i]! + edges[i + 1]! - 1) / 2);
}

function checkPlanes(image: MaskedImage, who: string): void {
  const n = image.width * image.height;
  if (!Number.isInteger(image.width) || !Number.isInteger(image.height) || image.width < 1 || image.height < 1) {
    throw new BackgroundError(`${who}: bad image size ${image.width}x${image.height}`);
  }
  if (image.image.length !== n || image.mask.length !== n) {
    throw new BackgroundError(`${who}: planes hold ${image.image.length} / ${image.mask.length} pixels, expected ${image.width}x${image.height}`);
  }
}

/** The name a background model's ignoredPixelMask lists when halo blocks (lib/measure/halos.ts) were left out too. */
export const HALO_PLANE = 'HALO';

/**
 * The background of `image` (see the module comment): the clipped mean of each bin's good pixels, bins
 * with too few filled from their neighbours. With `halos`, the pixels of the halo blocks are left out as
 * well (in the statistics' own copy of the mask: `image` is not modified) and the model's
 * ignoredPixelMask lists HALO.
 */
export function estimateBackground(tessera: Tessera, image: MaskedImage, overrides: Partial<BackgroundConfig> = {}, halos?: HaloBlocks,
  resident?: ResidentPlanes): BackgroundModel {
  const config = backgroundConfig(overrides);
  checkPlanes(image, 'estimateBackground');
  const { width, height } = image;
  if (halos && (halos.nbx !== Math.ceil(width / halos.block) || halos.nby !== Math.ceil(height / halos.block) || halos.flags.length !== halos.nbx * halos.nby)) {
    throw new BackgroundError(`estimateBackground: ${halos.nbx}x${halos.nby} halo blocks of ${halos.block} px do not tile a ${width}x${height} image`);
  }
  const nx = Math.ceil(width / config.binSize);
  const ny = Math.ceil(height / config.binSize);
  const xEdges = binEdges(width, nx);
  const yEdges = binEdges(height, ny);
  const stats = clippedBinStatistics(tessera, image, xEdges, yEdges, maskBits(config.ignoredPixelMask, image.maskPlanes), config.nSigma, config.nIter, halos, resident);
  const nBins = nx * ny;
  const values = new Float64Array(nBins);
  const variances = new Float64Array(nBins);
  const used = new Int32Array(nBins);
  const good = new Int32Array(nBins);
  const filled = new Uint8Array(nBins);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const k = j * nx + i;
      const area = (xEdges[i + 1]! - xEdges[i]!) * (yEdges[j + 1]! - yEdges[j]!);
      values[k] = stats[4 * k]!;
      variances[k] = stats[4 * k + 1]!;
      used[k] = stats[4 * k + 2]!;
      good[k] = stats[4 * k + 3]!;
      const ok = good[k]! >= Math.max(2, Math.ceil(config.minGoodFraction * area)) && Number.isFinite(values[k]) && Number.isFinite(variances[k]);
      if (!ok) filled[k] = 1;
    }
  }
  fillBins(values, variances, filled, nx, ny);
  return {
    width, height, nx, ny, binSize: config.binSize, xEdges, yEdges, values, variances, used, good, filled,
    interpolation: config.interpolation, approxOrder: config.approxOrder,
    nSigma: config.nSigma, nIter: config.nIter, ignoredPixelMask: halos ? [...config.ignoredPixelMask, HALO_PLANE] : [...config.ignoredPixelMask],
    minGoodFraction: config.minGoodFraction,
  };
}

/**
 * The binClippedMean kernel over `image`: 4 f64 per bin (clipped mean, its variance, n used, n good),
 * bins row-major. The pixels of `excluded`'s flagged blocks take one of `badBits`' bits in the kernel's
 * copy of the mask (`resident`'s mask when given, whose image copy is read too).
 */
export function clippedBinStatistics(tessera: Tessera, image: Pick<MaskedImage, 'width' | 'height' | 'image' | 'mask'>,
  xEdges: Int32Array, yEdges: Int32Array, badBits: number, nSigma: number, nIter: number, excluded?: HaloBlocks, resident?: ResidentPlanes): Float64Array {
  const { planes, kernels } = tessera;
  const { width, height } = image;
  const nx = xEdges.length - 1, ny = yEdges.length - 1;
  let largest = 0;
  for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) largest = Math.max(largest, (xEdges[i + 1]! - xEdges[i]!) * (yEdges[j + 1]! - yEdges[j]!));
  return planes.scope(() => {
    const img = resident?.image ?? planes.allocFrom(image.image);
    const msk = resident?.mask ?? planes.allocFrom(image.mask);
    if (excluded) {
      const bit = badBits !== 0 ? badBits & -badBits : 1 << 31;
      badBits |= bit;
      const { block, nbx, nby, flags } = excluded;
      checkStatus('orBlockMask', kernels.orBlockMask(msk, width, height, block, nbx, nby, planes.allocFrom(flags), bit));
    }
    const xe = planes.allocFrom(xEdges);
    const ye = planes.allocFrom(yEdges);
    const scratch = planes.alloc(4 * Math.max(largest, 1));
    const out = planes.alloc(32 * nx * ny);
    checkStatus('binClippedMean', kernels.binClippedMean(img, msk, width, height, badBits, xe, nx, ye, ny, nSigma, nIter, scratch, out));
    return planes.f64(out, 4 * nx * ny).slice();
  });
}

/**
 * Fills the flagged bins in place: in passes, each flagged bin with unflagged 8-neighbours (measured, or
 * filled in an earlier pass) takes their mean value and mean variance.
 */
function fillBins(values: Float64Array, variances: Float64Array, filled: Uint8Array, nx: number, ny: number): void {
  const known = Uint8Array.from(filled, (f) => (f ? 0 : 1));
  if (!known.includes(1)) throw new BackgroundError('no bin has enough good pixels (is everything masked?)');
  for (;;) {
    const updates: [number, number, number][] = [];
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const k = j * nx + i;
        if (known[k]) continue;
        let sum = 0, vsum = 0, n = 0;
        for (let dj = -1; dj <= 1; dj++) {
          for (let di = -1; di <= 1; di++) {
            const ii = i + di, jj = j + dj;
            if ((di === 0 && dj === 0) || ii < 0 || jj < 0 || ii >= nx || jj >= ny || !known[jj * nx + ii]) continue;
            sum += values[jj * nx + ii]!;
            vsum += variances[jj * nx + ii]!;
            n++;
          }
        }
        if (n > 0) updates.push([k, sum / n, vsum / n]);
      }
    }
    if (updates.length === 0) return;
    for (const [k, v, w] of updates) {
      values[k] = v;
      variances[k] = w;
      known[k] = 1;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Interpolation: piecewise cubics (Akima) and Chebyshev series, turned into per-row polynomials.

/** A piecewise cubic through (x_k, y_k) with derivatives d_k at the knots (Hermite form). */
interface PiecewiseCubic {
  x: Float64Array;
  y: Float64Array;
  d: Float64Array;
}

/** Knot derivatives of Akima's spline (GSL akima's end extension); 2 knots: the line; 1: zero. */
function akimaSlopes(x: Float64Array, y: Float64Array): Float64Array {
  const n = x.length;
  const d = new Float64Array(n);
  if (n < 2) return d;
  if (n === 2) {
    d.fill((y[1]! - y[0]!) / (x[1]! - x[0]!));
    return d;
  }
  // m[k + 2] = slope of interval k, k = -2 .. n (extended by Akima's end rule).
  const m = new Float64Array(n + 3);
  for (let k = 0; k < n - 1; k++) m[k + 2] = (y[k + 1]! - y[k]!) / (x[k + 1]! - x[k]!);
  m[1] = 2 * m[2]! - m[3]!;
  m[0] = 3 * m[2]! - 2 * m[3]!;
  m[n + 1] = 2 * m[n]! - m[n - 1]!;
  m[n + 2] = 3 * m[n]! - 2 * m[n - 1]!;
  for (let k = 0; k < n; k++) {
    // Around knot k: slopes m[k], m[k+1] (left) and m[k+2], m[k+3] (right), in m's offset indexing.
    const w1 = Math.abs(m[k + 3]! - m[k + 2]!);
    const w2 = Math.abs(m[k + 1]! - m[k]!);
    d[k] = w1 + w2 === 0 ? 0.5 * (m[k + 1]! + m[k + 2]!) : (w1 * m[k + 1]! + w2 * m[k + 2]!) / (w1 + w2);
  }
  return d;
}

function akima(x: Float64Array, y: Float64Array): PiecewiseCubic {
  return { x, y, d: akimaSlopes(x, y) };
}

/** Coefficients (constant first) in t = x - x_k of interval k's cubic. */
function intervalPolynomial(p: PiecewiseCubic, k: number): [number, number, number, number] {
  const h = p.x[k + 1]! - p.x[k]!;
  const m = (p.y[k + 1]! - p.y[k]!) / h;
  const d0 = p.d[k]!, d1 = p.d[k + 1]!;
  return [p.y[k]!, d0, (3 * m - 2 * d0 - d1) / h, (d0 + d1 - 2 * m) / (h * h)];
}

/**
 * Coefficients in t = x - x_end of the quadratic continuation beyond an end knot: value, first and half
 * the second derivative of the end interval's cubic there (afw InterpolateGsl's extrapolation).
 */
function endPolynomial(p: PiecewiseCubic, right: boolean): [number, number, number, number] {
  const n = p.x.length;
  if (n === 1) return [p.y[0]!, 0, 0, 0];
  if (!right) {
    const [a, b, c] = intervalPolynomial(p, 0);
    return [a, b, c, 0];
  }
  const [a, b, c, d] = intervalPolynomial(p, n - 2);
  const h = p.x[n - 1]! - p.x[n - 2]!;
  return [a + h * (b + h * (c + h * d)), b + h * (2 * c + 3 * h * d), c + 3 * h * d, 0];
}

function evaluateCubic(p: PiecewiseCubic, x: number): number {
  const n = p.x.length;
  let coef: [number, number, number, number], t: number;
  if (n === 1 || x < p.x[0]!) {
    coef = endPolynomial(p, false);
    t = x - p.x[0]!;
  } else if (x >= p.x[n - 1]!) {
    coef = endPolynomial(p, true);
    t = x - p.x[n - 1]!;
  } else {
    let k = 0;
    while (x >= p.x[k + 1]!) k++;
    coef = intervalPolynomial(p, k);
    t = x - p.x[k]!;
  }
  return coef[0] + t * (coef[1] + t * (coef[2] + t * coef[3]));
}

/** Coefficients of q(u) = p(alpha + beta u), p given constant first. */
function substitute(p: readonly number[], alpha: number, beta: number): number[] {
  const n = p.length;
  const out = new Array<number>(n).fill(0);
  // Horner on polynomials: q = (...((p_top) (alpha + beta u) + p_{top-1}) ...).
  for (let k = n - 1; k >= 0; k--) {
    for (let j = n - 1; j >= 1; j--) out[j] = out[j]! * alpha + out[j - 1]! * beta;
    out[0] = out[0]! * alpha + p[k]!;
  }
  return out;
}

/** Per-row polynomial segments for the evaluateRowPolynomials kernel. */
interface RowPolynomials {
  breaks: Int32Array;
  centres: Float32Array;
  scales: Float32Array;
  degree: number;
  coefficients: Float32Array;
}

function akimaRows(model: BackgroundModel): RowPolynomials {
  const { width, height, nx, ny } = model;
  const xc = binCentres(model.xEdges);
  const yc = binCentres(model.yEdges);
  // Along y for each bin column, evaluated at every row.
  const columns: PiecewiseCubic[] = [];
  for (let i = 0; i < nx; i++) columns.push(akima(yc, Float64Array.from({ length: ny }, (_, j) => model.values[j * nx + i]!)));
  const nSeg = nx + 1;
  const breaks = new Int32Array(nSeg + 1);
  const centres = new Float32Array(nSeg);
  const scales = new Float32Array(nSeg);
  // Segment 0: left of the first centre; s = 1..nx-1: between centres s-1 and s; nx: right of the last.
  for (let s = 1; s <= nx; s++) breaks[s] = Math.min(width, Math.max(0, Math.ceil(xc[s - 1]!)));
  breaks[nSeg] = width;
  const scaleOf = (h: number): number => 2 / Math.max(h, 1);
  centres[0] = xc[0]!;
  scales[0] = scaleOf(2 * Math.max(xc[0]! + 1, 1));
  for (let s = 1; s < nx; s++) {
    centres[s] = (xc[s - 1]! + xc[s]!) / 2;
    scales[s] = scaleOf(xc[s]! - xc[s - 1]!);
  }
  centres[nx] = xc[nx - 1]!;
  scales[nx] = scaleOf(2 * Math.max(width - xc[nx - 1]!, 1));
  const degree = 3;
  const coefficients = new Float32Array(height * nSeg * (degree + 1));
  const rowValues = new Float64Array(nx);
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < nx; i++) rowValues[i] = evaluateCubic(columns[i]!, y);
    const row = akima(xc, rowValues);
    for (let s = 0; s < nSeg; s++) {
      let poly: number[];
      const c = centres[s]!, invScale = 1 / scales[s]!;
      if (s === 0) poly = substitute(endPolynomial(row, false), c - xc[0]!, invScale);
      else if (s === nx) poly = substitute(endPolynomial(row, true), c - xc[nx - 1]!, invScale);
      else poly = substitute(intervalPolynomial(row, s - 1), c - xc[s - 1]!, invScale);
      coefficients.set(poly, (y * nSeg + s) * (degree + 1));
    }
  }
  return { breaks, centres, scales, degree, coefficients };
}

/** Monomial coefficients (constant first) of T_0..T_n. */
function chebyshevMonomials(n: number): number[][] {
  const t: number[][] = [[1]];
  if (n >= 1) t.push([0, 1]);
  for (let k = 2; k <= n; k++) {
    const next = new Array<number>(k + 1).fill(0);
    for (let j = 0; j < k; j++) next[j + 1]! += 2 * t[k - 1]![j]!;
    for (let j = 0; j <= k - 2; j++) next[j]! -= t[k - 2]![j]!;
    t.push(next);
  }
  return t;
}

/** The Chebyshev order actually fitted (see the module comment). */
export function chebyshevOrder(model: Pick<BackgroundModel, 'approxOrder' | 'nx' | 'ny' | 'filled'>): number {
  const measured = model.filled.reduce((n, f) => n + (f ? 0 : 1), 0);
  let order = Math.min(model.approxOrder, model.nx - 1, model.ny - 1);
  while (order > 0 && ((order + 1) * (order + 2)) / 2 > measured) order--;
  return order;
}

/** Coefficients c[i][j] (T_i(x') T_j(y'), i + j <= order) of the weighted least-squares Chebyshev fit. */
function chebyshevFit(model: BackgroundModel, order: number): Float64Array {
  const { nx, ny, width, height } = model;
  const xc = binCentres(model.xEdges), yc = binCentres(model.yEdges);
  const terms: [number, number][] = [];
  for (let total = 0; total <= order; total++) for (let j = 0; j <= total; j++) terms.push([total - j, j]);
  const rows: number[] = [];
  for (let k = 0; k < nx * ny; k++) if (!model.filled[k]) rows.push(k);
  // Weights 1 / variance; a bin whose variance is not positive gets the median weight.
  const weights = rows.map((k) => { const v = model.variances[k]!; return v > 0 ? 1 / v : NaN; });
  const finite = weights.filter((w) => Number.isFinite(w)).sort((a, b) => a - b);
  const fallback = finite.length ? finite[finite.length >> 1]! : 1;
  const m = rows.length, n = terms.length;
  const a = new Float64Array(m * n);
  const b = new Float64Array(m);
  rows.forEach((k, r) => {
    const w = Math.sqrt(Number.isFinite(weights[r]!) ? weights[r]! : fallback);
    const tx = chebyshevT(order, ((2 * xc[k % nx]! + 1) / width) - 1);
    const ty = chebyshevT(order, ((2 * yc[Math.floor(k / nx)]! + 1) / height) - 1);
    terms.forEach(([i, j], c) => { a[r * n + c] = w * tx[i]! * ty[j]!; });
    b[r] = w * model.values[k]!;
  });
  const solution = solveLeastSquares(a, m, n, [b])?.[0];
  if (!solution) throw new BackgroundError(`the order-${order} Chebyshev fit to ${m} bins is degenerate`);
  const c = new Float64Array((order + 1) * (order + 1));
  terms.forEach(([i, j], t) => { c[i * (order + 1) + j] = solution[t]!; });
  return c;
}

/**
 * The Chebyshev fit at chebyshevOrder, or at the highest lower order whose fit is not degenerate (bins
 * measured in too few rows or columns for the terms); at order 0 with nothing to fit, a BackgroundError.
 */
function chebyshevSolution(model: BackgroundModel): { order: number; c: Float64Array } {
  for (let order = chebyshevOrder(model); ; order--) {
    try {
      return { order, c: chebyshevFit(model, order) };
    } catch (e) {
      if (!(e instanceof BackgroundError) || order === 0) throw e;
    }
  }
}

function chebyshevRows(model: BackgroundModel): RowPolynomials {
  const { width, height } = model;
  const { order, c } = chebyshevSolution(model);
  const mono = chebyshevMonomials(order);
  const coefficients = new Float32Array(height * (order + 1));
  const rowCheb = new Float64Array(order + 1), ty = new Float64Array(order + 1), poly = new Float64Array(order + 1);
  for (let y = 0; y < height; y++) {
    chebyshevT(order, (2 * y + 1) / height - 1, ty);
    rowCheb.fill(0);
    for (let i = 0; i <= order; i++) for (let j = 0; i + j <= order; j++) rowCheb[i]! += c[i * (order + 1) + j]! * ty[j]!;
    poly.fill(0);
    for (let i = 0; i <= order; i++) {
      const m = mono[i]!;
      for (let p = 0; p < m.length; p++) poly[p]! += rowCheb[i]! * m[p]!;
    }
    coefficients.set(poly, y * (order + 1));
  }
  // x' = (2x + 1) / W - 1 = (x - (W - 1) / 2) x (2 / W): one segment per row.
  return {
    breaks: Int32Array.of(0, width), centres: Float32Array.of((width - 1) / 2), scales: Float32Array.of(2 / width),
    degree: order, coefficients,
  };
}

/** The model at pixel (x, y), in f64 (a reference for tests and for single positions; the plane comes from backgroundImage). */
export function backgroundAt(model: BackgroundModel, x: number, y: number): number {
  if (model.interpolation === 'chebyshev') return chebyshevEvaluator(model).at(x, y);
  const xc = binCentres(model.xEdges), yc = binCentres(model.yEdges);
  const rowValues = Float64Array.from({ length: model.nx }, (_, i) =>
    evaluateCubic(akima(yc, Float64Array.from({ length: model.ny }, (_, j) => model.values[j * model.nx + i]!)), y));
  return evaluateCubic(akima(xc, rowValues), x);
}

/** A 'chebyshev' model at single pixel positions (at: no allocation per call) and on a grid of them (grid), its fit solved once. */
export interface ChebyshevSurface {
  at(x: number, y: number): number;
  /**
   * The model at (xs[i], ys[j]) for every i and j, into a ys.length x xs.length row-major array: the same
   * values as `at` (the same products summed in the same order), each axis's polynomials computed once.
   */
  grid(xs: ArrayLike<number>, ys: ArrayLike<number>): Float64Array;
}

export function chebyshevEvaluator(model: BackgroundModel): ChebyshevSurface {
  const { order, c } = chebyshevSolution(model);
  const m = order + 1;
  const tx1 = new Float64Array(m), ty1 = new Float64Array(m);
  return {
    at: (x, y) => {
      chebyshevT(order, (2 * x + 1) / model.width - 1, tx1);
      chebyshevT(order, (2 * y + 1) / model.height - 1, ty1);
      let v = 0;
      for (let i = 0; i <= order; i++) for (let j = 0; i + j <= order; j++) v += c[i * m + j]! * tx1[i]! * ty1[j]!;
      return v;
    },
    grid: (xs, ys) => {
      // The terms (i, j) in at's order; per column c_ij T_i(x) (at's first product), per row T_j(y).
      const terms: [number, number][] = [];
      for (let i = 0; i <= order; i++) for (let j = 0; i + j <= order; j++) terms.push([i, j]);
      const nt = terms.length, nx = xs.length, ny = ys.length;
      const cx = new Float64Array(nx * nt), ty = new Float64Array(ny * nt);
      for (let k = 0; k < nx; k++) {
        chebyshevT(order, (2 * xs[k]! + 1) / model.width - 1, tx1);
        terms.forEach(([i, j], t) => { cx[k * nt + t] = c[i * m + j]! * tx1[i]!; });
      }
      for (let k = 0; k < ny; k++) {
        chebyshevT(order, (2 * ys[k]! + 1) / model.height - 1, ty1);
        terms.forEach(([, j], t) => { ty[k * nt + t] = ty1[j]!; });
      }
      return gridProducts(cx, ty, nx, ny, nt);
    },
  };
}

/**
 * out[row x nx + col] = sum_t cx[col x nt + t] x ty[row x nt + t] (t in order): ChebyshevSurface.grid's
 * sums. A module-level function, not a closure of each surface: V8 keeps one optimised copy of it, where
 * each new closure ran its first hundred thousand products in the interpreter (about 25 ms per processCcd).
 */
function gridProducts(cx: Float64Array, ty: Float64Array, nx: number, ny: number, nt: number): Float64Array {
  const out = new Float64Array(nx * ny);
  for (let row = 0; row < ny; row++) {
    for (let col = 0; col < nx; col++) {
      let v = 0;
      for (let t = 0, a = col * nt, b = row * nt; t < nt; t++) v += cx[a + t]! * ty[b + t]!;
      out[row * nx + col] = v;
    }
  }
  return out;
}

/** The model evaluated at every pixel of its image (width x height f32, row-major), by the evaluateRowPolynomials kernel. */
export function backgroundImage(tessera: Tessera, model: BackgroundModel): Float32Array {
  const { width, height } = model;
  return tessera.planes.scope(() => {
    const out = tessera.planes.alloc(4 * width * height);
    rowPolynomialKernel(tessera, model, 'evaluateRowPolynomials', out);
    return tessera.planes.f32(out, width * height).slice();
  });
}

/** Whether every bin of `model` is 0 (zeroBackground's), so that it is 0 at every pixel. */
export function isZeroBackground(model: BackgroundModel): boolean {
  return model.values.every((v) => v === 0);
}

/**
 * image - model (the subtractRowPolynomials kernel: the same f32 values as image - backgroundImage), into
 * `into` when given (a plane of the same size the caller reuses: each fresh full-frame array costs its
 * first touch; it may be `image` itself), else into a new plane. A model whose bins are all 0
 * (isZeroBackground: calibrate's start on an image already background-subtracted) is 0 at every pixel,
 * so the image is copied as it is (or left as it is, in place). With `resident`, whose image copy holds
 * `image`, the subtraction is made in that copy (which then holds the result) instead of a fresh one.
 */
export function subtractBackground(tessera: Tessera, image: Float32Array, model: BackgroundModel, into?: Float32Array, resident?: ResidentPlanes): Float32Array {
  const n = model.width * model.height;
  if (image.length !== n) throw new BackgroundError(`subtractBackground: image has ${image.length} pixels, the model covers ${model.width}x${model.height}`);
  if (into && into.length !== n) throw new BackgroundError(`subtractBackground: output plane has ${into.length} pixels, the model covers ${model.width}x${model.height}`);
  if (isZeroBackground(model)) {
    const out = into ?? new Float32Array(n);
    if (out !== image) out.set(image);
    return out;
  }
  const { planes } = tessera;
  return planes.scope(() => {
    const img = resident?.image ?? planes.allocFrom(image);
    rowPolynomialKernel(tessera, model, 'subtractRowPolynomials', img);
    const out = into ?? new Float32Array(n);
    out.set(planes.f32(img, n));
    return out;
  });
}

/** Runs one of the row-polynomial kernels of `model` on the plane at `plane` (inside a planes scope). */
function rowPolynomialKernel(tessera: Tessera, model: BackgroundModel, kernel: 'evaluateRowPolynomials' | 'subtractRowPolynomials', plane: number): void {
  const rows = model.interpolation === 'chebyshev' ? chebyshevRows(model) : akimaRows(model);
  const { planes, kernels } = tessera;
  const breaks = planes.allocFrom(rows.breaks);
  const centres = planes.allocFrom(rows.centres);
  const scales = planes.allocFrom(rows.scales);
  const coefficients = planes.allocFrom(rows.coefficients);
  checkStatus(kernel, kernels[kernel](plane, model.width, model.height, breaks, rows.centres.length, centres, scales, rows.degree, coefficients));
}

/**
 * A model that is zero everywhere (one bin, order 0): the starting estimate for an image whose background
 * was already subtracted, so that detection runs on it as it is and only the re-estimate is measured
 * (LSST calibrate's detection on characterizeImage's background-subtracted exposure).
 */
export function zeroBackground(width: number, height: number, overrides: Partial<BackgroundConfig> = {}): BackgroundModel {
  const c = backgroundConfig(overrides);
  return {
    width, height, nx: 1, ny: 1, binSize: c.binSize, xEdges: Int32Array.of(0, width), yEdges: Int32Array.of(0, height),
    values: Float64Array.of(0), variances: Float64Array.of(1), used: Int32Array.of(0), good: Int32Array.of(0), filled: Uint8Array.of(0),
    interpolation: 'chebyshev', approxOrder: 0, nSigma: c.nSigma, nIter: c.nIter, ignoredPixelMask: c.ignoredPixelMask, minGoodFraction: c.minGoodFraction,
  };
}

// ---------------------------------------------------------------------------------------------------
// Serialisation: one FITS binary table per model (EXTNAME BACKGROUND, EXTVER 1, 2, ...).

const STYLE_NAMES: Record<BackgroundInterpolation, string> = { akima: 'AKIMA_SPLINE', chebyshev: 'CHEBYSHEV' };

/** The FITS bytes of a background list (the calexpBackground dataset; one model is a list of one). */
export function writeBackground(models: readonly BackgroundModel[]): Uint8Array {
  const primary = new FitsHeader();
  primary.set('BGCOUNT', models.length, 'number of background models (HDUs 1..n)');
  const hdus: HduSpec[] = [{ kind: 'image', header: primary }];
  models.forEach((m, index) => {
    const n = m.nx * m.ny;
    const xc = binCentres(m.xEdges), yc = binCentres(m.yEdges);
    const bx = Int32Array.from({ length: n }, (_, k) => k % m.nx);
    const by = Int32Array.from({ length: n }, (_, k) => Math.floor(k / m.nx));
    const h = new FitsHeader();
    h.set('EXTVER', index + 1, 'model index in the background list (1-based)');
    h.set('BGWIDTH', m.width, '[pixel] width of the image the model covers');
    h.set('BGHEIGHT', m.height, '[pixel] height of the image the model covers');
    h.set('BGNX', m.nx, 'bins along x');
    h.set('BGNY', m.ny, 'bins along y');
    h.set('BGBINSIZ', m.binSize, '[pixel] configured bin size');
    h.set('BGINTERP', STYLE_NAMES[m.interpolation], 'bin grid to pixels: AKIMA_SPLINE or CHEBYSHEV');
    h.set('BGAPPROX', m.approxOrder, 'configured Chebyshev order (CHEBYSHEV)');
    h.set('BGSTAT', 'MEANCLIP', 'per-bin statistic');
    h.set('BGNSIGMA', m.nSigma, 'MEANCLIP clipping width (sigma)', { real: true });
    h.set('BGNITER', m.nIter, 'MEANCLIP iterations');
    h.set('BGMINFRC', m.minGoodFraction, 'bins with fewer good pixels are filled', { real: true });
    h.set('BGIGNORE', m.ignoredPixelMask.join(','), 'mask planes left out of the statistic');
    hdus.push({
      kind: 'table',
      header: h,
      table: {
        nrows: n,
        extname: 'BACKGROUND',
        columns: [
          { name: 'BIN_X', values: bx },
          { name: 'BIN_Y', values: by },
          { name: 'X_MIN', values: Int32Array.from(bx, (i) => m.xEdges[i]!), unit: 'pixel' },
          { name: 'X_MAX', values: Int32Array.from(bx, (i) => m.xEdges[i + 1]! - 1), unit: 'pixel' },
          { name: 'Y_MIN', values: Int32Array.from(by, (j) => m.yEdges[j]!), unit: 'pixel' },
          { name: 'Y_MAX', values: Int32Array.from(by, (j) => m.yEdges[j + 1]! - 1), unit: 'pixel' },
          { name: 'X_CENTER', values: Float64Array.from(bx, (i) => xc[i]!), unit: 'pixel' },
          { name: 'Y_CENTER', values: Float64Array.from(by, (j) => yc[j]!), unit: 'pixel' },
          { name: 'VALUE', values: Float64Array.from(m.values) },
          { name: 'VARIANCE', values: Float64Array.from(m.variances) },
          { name: 'NPIX_USED', values: Int32Array.from(m.used) },
          { name: 'NPIX_GOOD', values: Int32Array.from(m.good) },
          { name: 'FILLED', values: Array.from(m.filled, (f) => f !== 0) },
        ],
      },
    });
  });
  return writeFits(hdus, { checksum: true, name: 'background' });
}

function column(table: BinTable, name: string, source: string, hdu: number): BinTableColumn {
  const c = table.columns.find((col) => col.name.trim().toUpperCase() === name);
  if (!c) throw new FitsError(source, hdu, `background table has no ${name} column`);
  return c;
}

function numbers(table: BinTable, name: string, source: string, hdu: number): ArrayLike<number> {
  const values = column(table, name, source, hdu).values;
  if (!(values instanceof Float64Array || values instanceof Int32Array || values instanceof Float32Array || values instanceof Int16Array)) {
    throw new FitsError(source, hdu, `background column ${name} is not numeric`);
  }
  return values;
}

/** The background list from the bytes writeBackground wrote (a typed FitsError names what is wrong). */
export function readBackground(bytes: Uint8Array, name = 'background'): BackgroundModel[] {
  const file = readFitsBytes(name, bytes);
  const models: BackgroundModel[] = [];
  for (const hdu of file.hdus) {
    if (hdu.type !== 'BINTABLE' || hdu.extname?.trim().toUpperCase() !== 'BACKGROUND') continue;
    const h = hdu.header;
    const at = hdu.index;
    const int = (key: string, min: number): number => {
      const v = h.getInteger(key);
      if (v === undefined || v < min) throw new FitsError(name, at, `background keyword ${key} must be an integer >= ${min}, got ${String(h.get(key))}`);
      return v;
    };
    const num = (key: string): number => {
      const v = h.getNumber(key);
      if (v === undefined || !Number.isFinite(v)) throw new FitsError(name, at, `background keyword ${key} must be a number, got ${String(h.get(key))}`);
      return v;
    };
    const width = int('BGWIDTH', 1), height = int('BGHEIGHT', 1), nx = int('BGNX', 1), ny = int('BGNY', 1);
    if (nx > width || ny > height) throw new FitsError(name, at, `${nx}x${ny} bins cannot cover ${width}x${height} pixels`);
    const style = h.getString('BGINTERP')?.trim();
    const interpolation = (Object.keys(STYLE_NAMES) as BackgroundInterpolation[]).find((k) => STYLE_NAMES[k] === style);
    if (!interpolation) throw new FitsError(name, at, `unknown background interpolation BGINTERP = '${String(style)}'`);
    const table = file.readTable(at);
    if (table.nrows !== nx * ny) throw new FitsError(name, at, `background table has ${table.nrows} rows for ${nx}x${ny} bins`);
    const xEdges = binEdges(width, nx), yEdges = binEdges(height, ny);
    const xMin = numbers(table, 'X_MIN', name, at), yMin = numbers(table, 'Y_MIN', name, at);
    for (let k = 0; k < nx * ny; k++) {
      if (xMin[k] !== xEdges[k % nx] || yMin[k] !== yEdges[Math.floor(k / nx)]) {
        throw new FitsError(name, at, `bin ${k} starts at (${xMin[k]}, ${yMin[k]}), not at (${xEdges[k % nx]}, ${yEdges[Math.floor(k / nx)]}) as the grid puts it`);
      }
    }
    const filledColumn = column(table, 'FILLED', name, at).values;
    if (!Array.isArray(filledColumn)) throw new FitsError(name, at, 'background column FILLED is not logical');
    models.push({
      width, height, nx, ny, binSize: int('BGBINSIZ', 1), xEdges, yEdges,
      values: Float64Array.from(numbers(table, 'VALUE', name, at)),
      variances: Float64Array.from(numbers(table, 'VARIANCE', name, at)),
      used: Int32Array.from(numbers(table, 'NPIX_USED', name, at)),
      good: Int32Array.from(numbers(table, 'NPIX_GOOD', name, at)),
      filled: Uint8Array.from(filledColumn as unknown[], (f) => (f === true ? 1 : 0)),
      interpolation, approxOrder: int('BGAPPROX', 0),
      nSigma: num('BGNSIGMA'), nIter: int('BGNITER', 0),
      ignoredPixelMask: (h.getString('BGIGNORE') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
      minGoodFraction: num('BGMINFRC'),
    });
  }
  if (models.length === 0) throw new FitsError(name, undefined, 'no BACKGROUND table: not a background file');
  return models;
}

/** The sum of a background list's models at every pixel (all must cover the same image). */
export function backgroundListImage(tessera: Tessera, models: readonly BackgroundModel[]): Float32Array {
  if (models.length === 0) throw new BackgroundError('backgroundListImage: empty background list');
  const { width, height } = models[0]!;
  const sum = backgroundImage(tessera, models[0]!);
  for (const m of models.slice(1)) {
    if (m.width !== width || m.height !== height) throw new BackgroundError(`background list mixes ${width}x${height} and ${m.width}x${m.height} models`);
    const add = backgroundImage(tessera, m);
    for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + add[i]!;
  }
  return sum;
}
