/**
 * PSF determination, LSST's MeasurePsfTask with its default star selector and determiner
 * (pipe_tasks measurePsf.py; meas_algorithms objectSizeStarSelector.py; meas_extensions_psfex
 * psfexPsfDeterminer.py driving PSFEx's pixel-basis fit, psfex/src/psf.c psf_make/psf_refine/psf_clean):
 *
 *  1. star selection by size (lib/measure/starSelector.ts, LSST objectSize defaults), on adaptive moments
 *     (the caller's, else measured here): selected sources are `candidate` (calib_psf_candidate);
 *  2. reserve: a fraction of the candidates (default 0.2, floor(fraction x n)), chosen by a seeded
 *     shuffle (deterministic for a seed), is held out of the fit for validation (calib_psf_reserved);
 *  3. stamps of kernelSize (25) image pixels around each star's adaptive-moment centroid (its sub-pixel
 *     centre); pixels with badMaskPlanes (INTRP, SAT), NaN, non-positive variance or off the image get zero
 *     weight; a star with such a pixel in the 3 x 3 pixels at its centre, or a failed centroid, is dropped;
 *  4. the fit (lib/measure/psfPixelFit.ts, its kernels in wasm), in PSFEx's representation (lib/measure/psfModel.ts): a grid of G x G samples, one every
 *     samplingSize image pixels (G = kernelSize / samplingSize, made odd), times a polynomial of degree
 *     spatialOrder (2) in the scaled position, POLZERO = middle and POLSCAL = range of the fitted stars'
 *     positions as PSFEx sets them. As PSFEx's psf_make, each star's stamp is resampled (Lanczos-3) onto
 *     the sample grid centred on the star and divided by the star's amplitude; every sample's
 *     polynomial coefficients are then an independent weighted linear least-squares fit over the stars
 *     (weights 1 / (variance + (psfAccuracy x value)^2), PSFEx's PSF_ACCURACY 0.01, times amplitude^2).
 *     As psf_refine, `refineIterations` passes then fit the residual of the forward model (the model
 *     interpolated onto each star's pixels at its sub-pixel centre, times its amplitude, minus the data),
 *     resampled the same way, and add it: this removes most of the error of resampling the data, which the
 *     forward model does not make. Between passes each star's amplitude is the weighted linear fit of the
 *     model to its pixels (a PSF flux).
 *  5. outlier rejection (psf_clean): reduced chi^2 of every fitted star against the model on its kernelSize
 *     stamp; stars above median + nSigmaChi2 x 1.4826 MAD of the fitted stars' chi^2 (and above chi2Floor)
 *     are rejected and the fit repeated, at most maxRejectIterations times;
 *  6. diagnostics: counts, CHI2 (mean reduced chi^2 of the used stars), and (with starDiagnostics, the
 *     default) for used and reserved stars their adaptive-moment ellipticity, the model's at the same
 *     position (adaptive moments of the model's kernel image, LSST's Psf.computeShape convention), and the
 *     star's ellipticity noise predicted from the variance plane (lib/measure/momentsNoise.ts). A caller
 *     that only needs the model and the flags (characterizeImage) turns them off: on an HSC detector they
 *     cost as much as the fit.
 *
 * Sampling: PSF_SAMP 1 (samplingSize 1) is enough while the pixel-convolved PSF is resolved (FWHM above
 * ~2.5 px: a Gaussian of FWHM 2.5 px keeps 0.4 % of its power at the pixel Nyquist frequency). LSST's
 * PSFEx default samplingSize 0.5 (two samples per pixel) is the super-resolved model PSFEx needs for
 * undersampled images (FWHM below ~2.5 px, e.g. DECam's 0.263"/px in 0.6" seeing); the resample-then-fit
 * step above is only an approximation there and the refine passes carry the weight. LSST's sizeCellX/Y
 * (256) only groups candidates into spatial cells for the PCA determiner's bookkeeping; every candidate is
 * used here. The spatial order is lowered while fewer than minStarsPerTerm fitted stars per polynomial
 * term remain (our rule; PSFEx lowers the degree when the stars are too few to constrain it).
 * Input: a background-subtracted MaskedImage (image, mask, variance planes) and sources (x, y 0-based
 * pixels, flux in image units, flags: non-zero = one of LSST's badFlags). Output: the model and per-source
 * candidate / used / reserved flags (LSST's calib_psf_*), per-star diagnostics and summary counts.
 */
import { MASK_PLANES } from '../pipeline/maskPlanes.js';
import { Random } from '../sim/random.js';
import { adaptiveMoments, ellipticity, MOMENT_FLAGS, type Moments } from './adaptiveMoments.js';
import type { MaskedImage } from './background.js';
import { adaptiveMomentsNoise } from './momentsNoise.js';
import { PsfexModel, polynomialTermCount, polynomialTerms } from './psfModel.js';
import { PsfFitWorkspace, type FitStar, type PixelFitGeometry } from './psfPixelFit.js';
import { DEFAULT_OBJECT_SIZE_CONFIG, selectStarsBySize, type ObjectSizeConfig } from './starSelector.js';
import { median } from '../math/median.js';
import { libm } from '../math/libm.js';
import type { Tessera } from '../wasm/loader.js';

export interface PsfDeterminerConfig {
  starSelector: ObjectSizeConfig;
  /** Fraction of the candidates held out of the fit (LSST reserve.fraction as characterizeImage sets it). */
  reserveFraction: number;
  reserveSeed: number;
  /** Stamp size in image pixels (odd; an even value is rounded up). */
  kernelSize: number;
  /** Degree of the position polynomial (PSFEx POLDEG, LSST spatialOrder). */
  spatialOrder: number;
  /** Image pixels per model sample (PSF_SAMP). */
  samplingSize: number;
  /** Mask planes whose pixels get zero weight (LSST badMaskBits). */
  badMaskPlanes: string[];
  /** Lanczos order of every resampling. */
  lanczosOrder: number;
  /** PSFEx PSF_ACCURACY: relative model error added in quadrature to the pixel noise. */
  psfAccuracy: number;
  /** Forward-model residual passes per fit (psf_refine). */
  refineIterations: number;
  /** Chi^2 clipping: threshold in robust sigmas above the median, floor, and passes. */
  nSigmaChi2: number;
  chi2Floor: number;
  maxRejectIterations: number;
  /** Fitted stars needed per polynomial term before the spatial order is lowered. */
  minStarsPerTerm: number;
  /** Per-star diagnostics (the result's `stars`): false leaves them out (an empty list). */
  starDiagnostics: boolean;
}

export const DEFAULT_PSF_DETERMINER_CONFIG: Readonly<PsfDeterminerConfig> = Object.freeze({
  starSelector: DEFAULT_OBJECT_SIZE_CONFIG,
  reserveFraction: 0.2,
  reserveSeed: 1,
  kernelSize: 25,
  spatialOrder: 2,
  samplingSize: 1,
  badMaskPlanes: ['INTRP', 'SAT'],
  lanczosOrder: 3,
  psfAccuracy: 0.01,
  refineIterations: 2,
  nSigmaChi2: 4,
  chi2Floor: 1.5,
  maxRejectIterations: 3,
  minStarsPerTerm: 2,
  starDiagnostics: true,
});

/** A detected source offered to the determiner. */
export interface PsfSource {
  /** 0-based pixel position (peak or centroid). */
  x: number;
  y: number;
  /** Flux for the selector's cut (LSST: base_GaussianFlux_instFlux). */
  flux: number;
  /** Non-zero: one of LSST's badFlags (edge, interpolated(Center), saturatedCenter, crCenter, bad). */
  flags?: number;
  /** Adaptive second moments (px^2), the shape slot; measured here when absent. */
  xx?: number;
  yy?: number;
  xy?: number;
}

export type PsfStarStatus = 'used' | 'reserved' | 'rejected' | 'dropped';

/** Per candidate star: where it ended and how the model fits it. */
export interface PsfStarDiagnostic {
  /** Index into the input sources. */
  source: number;
  status: PsfStarStatus;
  /** Why a star was dropped or rejected ('' otherwise). */
  reason: string;
  /** Adaptive-moment centroid, 0-based pixels. */
  x: number;
  y: number;
  /** PSF-model flux (amplitude times the unit-sum model on the stamp). */
  flux: number;
  /** Reduced chi^2 of the model on the stamp, and its degrees of freedom. */
  chi2: number;
  dof: number;
  /** chi^2 above the fit's final clipping limit (diagnostics.chi2Limit): set on rejected stars and on reserved stars the fit would have rejected. */
  outlier: boolean;
  /**
   * The star's adaptive-moment ellipticity, and the model's at its position measured as LSST's
   * Psf.computeShape does (adaptive moments of the kernel image, centred on a pixel).
   */
  e1: number;
  e2: number;
  modelE1: number;
  modelE2: number;
  /** Determinant radii det(M)^(1/4), px, of the star and the model. */
  sigma: number;
  modelSigma: number;
  /** Predicted 1-sigma noise of the star's e1, e2 (from the variance plane). */
  e1Err: number;
  e2Err: number;
}

export interface PsfDeterminerResult {
  model: PsfexModel;
  /** Per input source, LSST's calib_psf_candidate / calib_psf_used / calib_psf_reserved. */
  candidate: boolean[];
  used: boolean[];
  reserved: boolean[];
  /** Per candidate star, in source order (empty without config.starDiagnostics). */
  stars: PsfStarDiagnostic[];
  diagnostics: {
    nSources: number;
    nCandidates: number;
    nReserved: number;
    /** Non-reserved candidates with usable stamps (PSFEx LOADED). */
    nLoaded: number;
    nUsed: number;
    nRejected: number;
    nDropped: number;
    /** Mean reduced chi^2 of the used stars (PSFEx CHI2). */
    chi2: number;
    /** The clipping limit on reduced chi^2 at the end of the fit (max(chi2Floor, median + nSigmaChi2 robust sigma)). */
    chi2Limit: number;
    spatialOrder: number;
    samplingSize: number;
    /** Stellar width from the selector (px) and the model's FWHM at its centre (px). */
    stellarWidth: number;
    fwhm: number;
    rejectIterations: number;
  };
}

export class PsfDeterminerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PsfDeterminerError';
  }
}

/** A star of the fit (lib/measure/psfPixelFit.ts) with the source it came from and its adaptive moments. */
interface Star extends FitStar {
  source: number;
  moments: Moments;
}

function resolveConfig(overrides: Partial<PsfDeterminerConfig>): PsfDeterminerConfig {
  const c: PsfDeterminerConfig = {
    ...DEFAULT_PSF_DETERMINER_CONFIG, ...overrides,
    starSelector: { ...DEFAULT_OBJECT_SIZE_CONFIG, ...(overrides.starSelector ?? {}) },
    badMaskPlanes: [...(overrides.badMaskPlanes ?? DEFAULT_PSF_DETERMINER_CONFIG.badMaskPlanes)],
  };
  const bad = (problem: string): never => { throw new RangeError(`psf determiner config: ${problem}`); };
  if (!(c.reserveFraction >= 0 && c.reserveFraction < 1)) bad(`reserveFraction ${c.reserveFraction} must be in [0, 1)`);
  if (!Number.isInteger(c.kernelSize) || c.kernelSize < 5 || c.kernelSize > 201) bad(`kernelSize ${c.kernelSize} must be an integer in 5..201`);
  if (!Number.isInteger(c.spatialOrder) || c.spatialOrder < 0 || c.spatialOrder > 6) bad(`spatialOrder ${c.spatialOrder} must be an integer in 0..6`);
  if (!(c.samplingSize >= 0.2 && c.samplingSize <= 4)) bad(`samplingSize ${c.samplingSize} must be in [0.2, 4]`);
  if (!Number.isInteger(c.lanczosOrder) || c.lanczosOrder < 2 || c.lanczosOrder > 6) bad(`lanczosOrder ${c.lanczosOrder} must be an integer in 2..6`);
  if (!(c.psfAccuracy >= 0)) bad(`psfAccuracy ${c.psfAccuracy} must be >= 0`);
  if (!Number.isInteger(c.refineIterations) || c.refineIterations < 0) bad(`refineIterations ${c.refineIterations} must be a non-negative integer`);
  if (!(c.nSigmaChi2 > 0)) bad(`nSigmaChi2 ${c.nSigmaChi2} must be positive`);
  if (!Number.isInteger(c.maxRejectIterations) || c.maxRejectIterations < 0) bad(`maxRejectIterations ${c.maxRejectIterations} must be a non-negative integer`);
  if (!(c.minStarsPerTerm >= 1)) bad(`minStarsPerTerm ${c.minStarsPerTerm} must be >= 1`);
  return c;
}

function maskBitsOf(names: readonly string[], planes: Readonly<Record<string, number>> | undefined): number {
  let bits = 0;
  for (const name of names) {
    const bit = planes ? planes[name] : (MASK_PLANES as Record<string, number>)[name];
    if (bit === undefined) {
      if (planes) continue; // a file without that plane has no such pixels
      throw new RangeError(`psf determiner: unknown mask plane '${name}'`);
    }
    bits |= 1 << bit;
  }
  return bits;
}

/** Moment flags that make a star's shape and centroid unusable. */
const MOMENT_FAILURE = MOMENT_FLAGS.NO_FLUX | MOMENT_FLAGS.SINGULAR | MOMENT_FLAGS.MAX_ITER | MOMENT_FLAGS.SHIFT;

/** Determines the PSF of a background-subtracted image from its sources (see the module comment). */
export function determinePsf(tessera: Tessera, image: MaskedImage, sources: readonly PsfSource[], overrides: Partial<PsfDeterminerConfig> = {}): PsfDeterminerResult {
  const config = resolveConfig(overrides);
  const { width, height } = image;
  const npix = width * height;
  if (image.image.length !== npix || image.mask.length !== npix || image.variance.length !== npix) {
    throw new PsfDeterminerError(`determinePsf: planes hold ${image.image.length} / ${image.mask.length} / ${image.variance.length} pixels, expected ${width}x${height}`);
  }
  const badBits = maskBitsOf(config.badMaskPlanes, image.maskPlanes);
  const noData = maskBitsOf(['NO_DATA'], image.maskPlanes);
  const n = sources.length;

  // 1. Shapes (measured where the caller gave none) and the size selection.
  const measured: (Moments | undefined)[] = new Array<Moments | undefined>(n).fill(undefined);
  const measure = (k: number): Moments => {
    let m = measured[k];
    if (!m) {
      const s = sources[k]!;
      m = adaptiveMoments(image.image, width, height, s.x, s.y, { mask: image.mask, badBits: badBits | noData, maxShift: 3 });
      measured[k] = m;
    }
    return m;
  };
  const shapes = sources.map((s, k) => {
    if (s.xx !== undefined && s.yy !== undefined) return { xx: s.xx, yy: s.yy };
    if ((s.flags ?? 0) !== 0 || !(s.flux >= config.starSelector.fluxMin)) return { xx: NaN, yy: NaN };
    const m = measure(k);
    return (m.flags & MOMENT_FAILURE) === 0 ? { xx: m.xx, yy: m.yy } : { xx: NaN, yy: NaN };
  });
  const selection = selectStarsBySize(sources.map((s, k) => ({ flux: s.flux, xx: shapes[k]!.xx, yy: shapes[k]!.yy, bad: (s.flags ?? 0) !== 0 })), config.starSelector);
  const candidate = selection.selected;
  const candidates: number[] = [];
  candidate.forEach((c, k) => { if (c) candidates.push(k); });

  // 2. Reserve: a seeded shuffle of the candidates, the first floor(fraction n) held out.
  const reserved: boolean[] = new Array<boolean>(n).fill(false);
  {
    const order = candidates.slice();
    const rng = new Random(config.reserveSeed);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const nReserve = Math.floor(config.reserveFraction * order.length);
    for (let i = 0; i < nReserve; i++) reserved[order[i]!] = true;
  }

  // 3. Stamps, in the fit's workspace in wasm memory (lib/measure/psfPixelFit.ts).
  const K = config.kernelSize % 2 === 1 ? config.kernelSize : config.kernelSize + 1;
  const g = Math.ceil(K / config.samplingSize - 1e-9);
  const pad = config.lanczosOrder, P = K + 2 * pad;
  const geometry: PixelFitGeometry = {
    K, pad, P, G: g % 2 === 1 ? g : g + 1, sampling: config.samplingSize, lanczosOrder: config.lanczosOrder,
    psfAccuracy: config.psfAccuracy, refineIterations: config.refineIterations,
  };
  return tessera.planes.scope(() => fitAndDiagnose(tessera, image, config, geometry, { badBits: badBits | noData, candidates, candidate, reserved, measure, stellarWidth: selection.centers[0] ?? NaN }));
}

/** Steps 3-6 of determinePsf (see the module comment), inside the scope of the fit's wasm memory. */
function fitAndDiagnose(tessera: Tessera, image: MaskedImage, config: PsfDeterminerConfig, geometry: PixelFitGeometry, selected: {
  badBits: number; candidates: number[]; candidate: boolean[]; reserved: boolean[]; measure: (k: number) => Moments; stellarWidth: number;
}): PsfDeterminerResult {
  const { width, height } = image;
  const { badBits, candidates, candidate, reserved, measure } = selected;
  const n = candidate.length;
  const { K, P, pad, G } = geometry;
  const workspace = new PsfFitWorkspace(tessera, geometry, config.spatialOrder, candidates.length);
  const half = K >> 1;
  const stars: Star[] = [];
  const dropped = new Map<number, string>();
  for (const k of candidates) {
    const m = measure(k);
    if ((m.flags & MOMENT_FAILURE) !== 0) { dropped.set(k, 'centroid'); continue; }
    const sx0 = Math.round(m.x) - half - pad, sy0 = Math.round(m.y) - half - pad;
    const star: Star = Object.assign(workspace.addStar(m.x, m.y, sx0, sy0), { source: k, moments: m });
    const { data, variance, good } = star;
    for (let j = 0; j < P; j++) {
      const iy = sy0 + j;
      for (let i = 0; i < P; i++) {
        const ix = sx0 + i;
        if (ix < 0 || iy < 0 || ix >= width || iy >= height) continue;
        const p = iy * width + ix;
        const v = image.image[p]!, va = image.variance[p]!;
        if (!Number.isFinite(v) || !(va > 0) || !Number.isFinite(va) || (image.mask[p]! & badBits) !== 0) continue;
        data[j * P + i] = v;
        variance[j * P + i] = va;
        good[j * P + i] = 1;
      }
    }
    const cx = Math.round(m.x) - sx0, cy = Math.round(m.y) - sy0;
    let centreOk = true;
    for (let dj = -1; dj <= 1; dj++) for (let di = -1; di <= 1; di++) if (!good[(cy + dj) * P + cx + di]) centreOk = false;
    if (!centreOk) { dropped.set(k, 'bad pixels at the centre'); workspace.removeLastStar(); continue; }
    let box = 0;
    for (let j = pad; j < pad + K; j++) for (let i = pad; i < pad + K; i++) if (good[j * P + i]) box += data[j * P + i]!;
    if (!(box > 0)) { dropped.set(k, 'non-positive flux in the stamp'); workspace.removeLastStar(); continue; }
    star.amplitude = box;
    stars.push(star);
  }
  const fitStars = stars.filter((s) => !reserved[s.source]);
  const nLoaded = fitStars.length;
  if (nLoaded < 1) throw new PsfDeterminerError(`determinePsf: no usable PSF star (${n} sources, ${candidates.length} candidates, ${candidates.filter((k) => reserved[k]).length} reserved, ${dropped.size} dropped)`);

  // 4-5. Fit, clip, refit.
  const chi2Limit = (set: readonly Star[]): number => {
    const chi = set.map((s) => s.chi2);
    const med = median(chi);
    const mad = median(chi.map((c) => Math.abs(c - med)));
    return Math.max(config.chi2Floor, med + config.nSigmaChi2 * 1.4826 * mad);
  };
  const rejected = new Map<number, string>();
  let active = fitStars.slice();
  let basis: Float32Array = new Float32Array(0);
  let polZero: [number, number] = [0, 0], polScale: [number, number] = [1, 1];
  let order = config.spatialOrder;
  let rejectIterations = 0;
  for (let iter = 0; ; iter++) {
    order = config.spatialOrder;
    while (order > 0 && active.length < config.minStarsPerTerm * polynomialTermCount(order)) order--;
    // PSFEx's context scaling: offset = middle, scale = range of the fitted stars' (1-based) positions.
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const s of active) { x0 = Math.min(x0, s.x + 1); x1 = Math.max(x1, s.x + 1); y0 = Math.min(y0, s.y + 1); y1 = Math.max(y1, s.y + 1); }
    polZero = [0.5 * (x0 + x1), 0.5 * (y0 + y1)];
    polScale = [x1 - x0 > 0 ? x1 - x0 : 1, y1 - y0 > 0 ? y1 - y0 : 1];
    for (const s of active) polynomialTerms((s.x + 1 - polZero[0]) / polScale[0], (s.y + 1 - polZero[1]) / polScale[1], order, s.terms);
    basis = workspace.fit(active, polynomialTermCount(order));
    rejectIterations = iter;
    if (iter >= config.maxRejectIterations || active.length <= polynomialTermCount(order) + 1) break;
    const limit = chi2Limit(active);
    const keep = active.filter((s) => s.chi2 <= limit);
    if (keep.length === active.length || keep.length < 1) break;
    for (const s of active) if (s.chi2 > limit) rejected.set(s.source, `chi2 ${s.chi2.toFixed(2)} > ${limit.toFixed(2)}`);
    active = keep;
  }
  const nterms = polynomialTermCount(order);
  const finalLimit = chi2Limit(active);

  // Normalise: the model at the polynomial origin holds unit flux on image pixels (sum x samp^2 = 1).
  let sum0 = 0;
  for (let i = 0; i < G * G; i++) sum0 += basis[i]!;
  const norm = sum0 > 0 ? 1 / (sum0 * config.samplingSize * config.samplingSize) : 1;
  for (let i = 0; i < basis.length; i++) basis[i]! *= norm;

  const used: boolean[] = new Array<boolean>(n).fill(false);
  for (const s of active) used[s.source] = true;
  let chi2Sum = 0;
  for (const s of active) chi2Sum += s.chi2;
  const chi2Mean = active.length ? chi2Sum / active.length : NaN;

  const model0 = new PsfexModel({
    polNames: ['X_IMAGE', 'Y_IMAGE'], polZero, polScale, polDeg: order, sampling: config.samplingSize,
    width: G, height: G, basis, chi2: chi2Mean, loaded: nLoaded, accepted: active.length,
  }, { interpolationOrder: config.lanczosOrder });
  const [mcx, mcy] = model0.centre;
  const fwhm = model0.shapeAt(mcx, mcy).fwhm;
  const model = new PsfexModel({ ...model0.toData(), fwhm }, { interpolationOrder: config.lanczosOrder });

  // 6. Diagnostics: the final model on every star with a stamp (reserved ones get their amplitude now).
  const diagnostics: PsfStarDiagnostic[] = [];
  if (config.starDiagnostics) {
    for (const k of candidates) {
      const reason = dropped.get(k);
      if (reason !== undefined) {
        diagnostics.push({
          source: k, status: reserved[k] ? 'reserved' : 'dropped', reason, x: NaN, y: NaN, flux: NaN, chi2: NaN, dof: 0, outlier: false,
          e1: NaN, e2: NaN, modelE1: NaN, modelE2: NaN, sigma: NaN, modelSigma: NaN, e1Err: NaN, e2Err: NaN,
        });
      }
    }
    workspace.basis(nterms).set(basis);
    for (const s of stars) {
      polynomialTerms((s.x + 1 - polZero[0]) / polScale[0], (s.y + 1 - polZero[1]) / polScale[1], order, s.terms);
      workspace.modelOnStamp(s, nterms);
      workspace.fitAmplitude(s);
      let kernelSum = 0;
      for (let j = pad; j < pad + K; j++) for (let i = pad; i < pad + K; i++) kernelSum += s.model[j * P + i]!;
      const status: PsfStarStatus = reserved[s.source] ? 'reserved' : used[s.source] ? 'used' : 'rejected';
      const m = s.moments;
      const [e1, e2] = ellipticity(m);
      const shape = model.shapeAt(s.x, s.y);
      const noise = adaptiveMomentsNoise(image.image, image.variance, width, height, m, { mask: image.mask, badBits });
      diagnostics.push({
        source: s.source, status, reason: rejected.get(s.source) ?? '', x: s.x, y: s.y, flux: s.amplitude * kernelSum,
        chi2: s.chi2, dof: s.dof, outlier: status === 'rejected' || s.chi2 > finalLimit, e1, e2, modelE1: shape.e1, modelE2: shape.e2,
        sigma: libm.pow(m.xx * m.yy - m.xy * m.xy, 0.25), modelSigma: shape.sigma,
        e1Err: noise?.e1Err ?? NaN, e2Err: noise?.e2Err ?? NaN,
      });
    }
    diagnostics.sort((a, b) => a.source - b.source);
  }

  return {
    model, candidate, used, reserved, stars: diagnostics,
    diagnostics: {
      nSources: n,
      nCandidates: candidates.length,
      nReserved: reserved.filter(Boolean).length,
      nLoaded,
      nUsed: active.length,
      nRejected: rejected.size,
      nDropped: [...dropped.keys()].filter((k) => !reserved[k]).length,
      chi2: chi2Mean,
      chi2Limit: finalLimit,
      spatialOrder: order,
      samplingSize: config.samplingSize,
      stellarWidth: selected.stellarWidth,
      fwhm,
      rejectIterations,
    },
  };
}
