/**
 * Aperture corrections (LSST meas_algorithms MeasureApCorrTask and meas_base ApplyApCorrTask): for each
 * flux algorithm, the ratio of the reference flux (the 12-px circular aperture, LSST's slot_CalibFlux)
 * to that algorithm's flux, measured on bright unflagged stars and fitted as a smooth field over the
 * detector: a Chebyshev polynomial in x and y scaled to [-1, 1] over the detector, of total degree 2
 * (LSST's ChebyshevBoundedField orderX = orderY = 2, triangular), with clipping at 4 sigma of the MAD
 * (numSigmaClip 4, numIter 4); the order drops when too few stars remain (minDegreesOfFreedom 1), and
 * to 0 (a constant) when the stars' positions spread over less than 0.1 of the width or height in rms (a
 * row of stars fixes no slope across the image).
 * Applying multiplies each source's flux by the field at its position and adds the field's error in
 * quadrature to the flux error; `<algorithm>_apCorr`, `_apCorrErr` and `_flag_apCorr` columns say what
 * was done. The error of the field at a point is the rms scatter of the clipped ratios over sqrt(n),
 * a simple stand-in for the fit covariance (LSST propagates a per-point error too).
 */
import { solveLeastSquares } from '../wcs/leastSquares.js';
import type { SourceCatalog } from './sourceCatalog.js';
import { median } from '../math/median.js';
import { chebyshevT } from '../math/chebyshev.js';

export interface ApertureCorrectionField {
  /** Total polynomial degree actually used (<= the configured order). */
  readonly order: number;
  /** Chebyshev coefficients in the order of `chebyshevTerms(order)`. */
  readonly coefficients: Float64Array;
  readonly width: number;
  readonly height: number;
  /** Stars fitted (after clipping) and the rms of their ratios about the field. */
  readonly nStars: number;
  readonly rms: number;
  /** Error of the field at any point (rms / sqrt(nStars)). */
  readonly error: number;
}

export interface ApertureCorrectionConfig {
  /** The flux the others are corrected to (LSST refFluxName: the 12-px aperture). */
  refFlux: string;
  /** Algorithms to correct (LSST's registered apCorr names). */
  algorithms: readonly string[];
  order: number;
  numIter: number;
  numSigmaClip: number;
  /** Stars: S/N of the reference flux at least this (LSST's selection: 200). */
  minSnr: number;
}

export const DEFAULT_APERTURE_CORRECTION_CONFIG: Readonly<ApertureCorrectionConfig> = Object.freeze({
  refFlux: 'base_CircularApertureFlux_12_0',
  algorithms: Object.freeze(['base_PsfFlux', 'base_GaussianFlux', 'ext_photometryKron_KronFlux']),
  order: 2,
  numIter: 4,
  numSigmaClip: 4,
  minSnr: 200,
});

/** Terms (i, j) of a triangular Chebyshev basis of total degree `order`: T_i(x) T_j(y), i + j <= order. */
function chebyshevTerms(order: number): [number, number][] {
  const terms: [number, number][] = [];
  for (let total = 0; total <= order; total++) for (let j = 0; j <= total; j++) terms.push([total - j, j]);
  return terms;
}

function basis(order: number, x: number, y: number, width: number, height: number): number[] {
  const tu = chebyshevT(order, (2 * (x + 0.5)) / width - 1), tv = chebyshevT(order, (2 * (y + 0.5)) / height - 1);
  return chebyshevTerms(order).map(([i, j]) => tu[i]! * tv[j]!);
}

/** The field's value at (x, y). */
export function evaluateApertureCorrection(field: ApertureCorrectionField, x: number, y: number): number {
  const b = basis(field.order, x, y, field.width, field.height);
  return b.reduce((s, bk, k) => s + bk * field.coefficients[k]!, 0);
}

/** Least rms spread of the stars' positions, as a fraction of the image's width and height, for a varying field. */
const MIN_SPREAD = 0.1;

/**
 * Fits one algorithm's correction field on the stars `use` (indices into the catalogue); undefined when
 * fewer than two stars have finite fluxes.
 */
export function fitApertureCorrection(catalog: SourceCatalog, algorithm: string, use: readonly number[], width: number, height: number,
  overrides: Partial<ApertureCorrectionConfig> = {}): ApertureCorrectionField | undefined {
  const config = { ...DEFAULT_APERTURE_CORRECTION_CONFIG, ...overrides };
  const ref = catalog.columns[`${config.refFlux}_instFlux`] as Float64Array;
  const flux = catalog.columns[`${algorithm}_instFlux`] as Float64Array | undefined;
  const xs = catalog.columns.base_SdssCentroid_x as Float64Array, ys = catalog.columns.base_SdssCentroid_y as Float64Array;
  if (!flux || !ref) return undefined;
  let stars = use.filter((k) => Number.isFinite(ref[k]!) && flux[k]! > 0 && ref[k]! > 0);
  if (stars.length < 2) return undefined;
  let coefficients: Float64Array = new Float64Array([median(stars.map((k) => ref[k]! / flux[k]!))]);
  let order = 0;
  let rms = 0;
  for (let iter = 0; iter <= config.numIter; iter++) {
    order = config.order;
    while (order > 0 && stars.length - chebyshevTerms(order).length < 1) order--;
    // Stars bunched along one axis (a row of them) cannot fix a slope across the image: a constant then.
    const spread = (v: number[]): number => {
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
    };
    if (spread(stars.map((k) => xs[k]! / width)) < MIN_SPREAD || spread(stars.map((k) => ys[k]! / height)) < MIN_SPREAD) order = 0;
    const terms = chebyshevTerms(order).length;
    const a = new Float64Array(stars.length * terms), b = new Float64Array(stars.length);
    stars.forEach((k, row) => {
      basis(order, xs[k]!, ys[k]!, width, height).forEach((v, col) => { a[row * terms + col] = v; });
      b[row] = ref[k]! / flux[k]!;
    });
    const solved = solveLeastSquares(a, stars.length, terms, [b]);
    if (!solved) break;
    coefficients = solved[0]!;
    const field = { order, coefficients, width, height, nStars: stars.length, rms: 0, error: 0 };
    const residuals = stars.map((k) => ref[k]! / flux[k]! - evaluateApertureCorrection(field, xs[k]!, ys[k]!));
    const mad = 1.4826 * median(residuals.map(Math.abs));
    rms = Math.sqrt(residuals.reduce((s, r) => s + r * r, 0) / residuals.length);
    if (iter === config.numIter || !(mad > 0)) break;
    const kept = stars.filter((_, i) => Math.abs(residuals[i]!) <= config.numSigmaClip * mad);
    if (kept.length === stars.length || kept.length < 2) break;
    stars = kept;
  }
  return { order, coefficients, width, height, nStars: stars.length, rms, error: rms / Math.sqrt(stars.length) };
}

/** Multiplies each algorithm's fluxes by its field and adds the `_apCorr`, `_apCorrErr`, `_flag_apCorr` columns. */
export function applyApertureCorrections(catalog: SourceCatalog, fields: Readonly<Record<string, ApertureCorrectionField | undefined>>): void {
  const xs = catalog.columns.base_SdssCentroid_x as Float64Array, ys = catalog.columns.base_SdssCentroid_y as Float64Array;
  for (const [algorithm, field] of Object.entries(fields)) {
    const corr = new Float64Array(catalog.length).fill(NaN), corrErr = new Float64Array(catalog.length).fill(NaN);
    if (field) {
      for (let k = 0; k < catalog.length; k++) {
        corr[k] = evaluateApertureCorrection(field, xs[k]!, ys[k]!);
        corrErr[k] = field.error;
      }
    }
    applyCorrectionValues(catalog, algorithm, corr, corrErr, new Array<boolean>(catalog.length).fill(field === undefined));
  }
}

/**
 * Multiplies one algorithm's fluxes by per-row corrections (rows with a non-finite one keep their flux),
 * adds each correction's error to the flux error in quadrature, and sets the `_apCorr`, `_apCorrErr` and
 * `_flag_apCorr` columns to copies of the values given (another catalogue's, for forced measurement).
 */
export function applyCorrectionValues(catalog: SourceCatalog, algorithm: string, corr: ArrayLike<number>, corrErr: ArrayLike<number>, flag: readonly boolean[]): void {
  const flux = catalog.columns[`${algorithm}_instFlux`] as Float64Array | undefined;
  const err = catalog.columns[`${algorithm}_instFluxErr`] as Float64Array | undefined;
  if (!flux || !err) return;
  for (let k = 0; k < catalog.length; k++) {
    const c = corr[k]!, f = flux[k]!;
    if (!Number.isFinite(c)) continue;
    flux[k] = f * c;
    err[k] = Math.sqrt((err[k]! * c) ** 2 + (f * corrErr[k]!) ** 2);
  }
  catalog.columns[`${algorithm}_apCorr`] = Float64Array.from(corr);
  catalog.columns[`${algorithm}_apCorrErr`] = Float64Array.from(corrErr);
  catalog.columns[`${algorithm}_flag_apCorr`] = [...flag];
}
