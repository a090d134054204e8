/**
 * Astrometric calibration of one detector: LSST's AstrometryTask (meas_astrom astrometry.py) with
 * MatchPessimisticBTask as the matcher (matchPatterns.ts) and FitTanSipWcsTask as the fitter
 * (fitTanSip.ts). Pure: catalogues and the raw's header WCS in, a fitted TAN-SIP WCS, its FITS cards and
 * the match list out. Bad input never throws (only inconsistent array lengths, a programming error, do):
 * the result's `status` says what failed and `wcs` is then the initial one, as LSST keeps the header WCS
 * and flags the calexp.
 *
 * Steps and units (pixels 0-BASED; sky degrees; plane arcsec on the tangent plane at the sky position of
 * the image centre under the header WCS):
 *  1. source selection (LSST matcherPessimistic source selector): finite centroid, instFlux > 0, not
 *     flagged (the caller flags saturated, edge, interpolated-centre and bad-centroid sources), and
 *     S/N = instFlux / instFluxErr >= sourceMinSnr (40) when errors are given;
 *  2. reference selection (LSST loadPixelBox with pixelMargin): references whose header-WCS pixel
 *     position lies within the image grown by referenceMarginPix (default maxOffsetPix) on every side;
 *  3. pattern match (matchPatterns.ts) of the selected sources, brightest first, to the references;
 *  4. match-and-fit iterations (maxIter 3): fit TAN-SIP to the matches; from the fitted WCS the match
 *     distances' mean + matchDistanceSigma (2) x standard deviation becomes the next match radius
 *     (never below minMatchDistPixels, never above the pattern tolerance), and the selected sources are
 *     matched again one to one within it (LSST re-runs its matcher with that tolerance; once the WCS is
 *     right the pattern step is the identity and only its final matching remains, done here directly);
 *     the loop stops early when that radius falls below minMatchDistanceArcsec (0.001");
 *     the fitter is TAN-SIP (fitTanSip.ts) when the matches number at least twice its terms per axis (20
 *     for order 3), else an affine correction of the header WCS's distortion (fitAffineWcs.ts, LSST's
 *     FitAffineWcsTask): a sparse field's dozen stars cannot fix a cubic, but can fix a pointing;
 *  5. the result fails ('poorFit') when the mean match distance exceeds maxMeanDistanceArcsec (0.5",
 *     LSST's "fatal astrometry failure" test) or the fitter's median scatter exceeds its limit.
 * Defaults follow LSST (HSC overrides where HSC has one) except, for the reasons given:
 *  - maxOffsetPix 750 (LSST 300, HSC 250 = 42"): the raw headers here may be off by 1-2 arcmin (the
 *    issue's acceptance case is 60" plus a 1 degree rotation, which moves a detector by more than 250 px);
 *  - maxRotationDeg 2 (LSST 1): a 1 degree error must pass with margin, not sit on the limit;
 *  - maxScaleError 0.02: the scale freedom the matcher adds (see matchPatterns.ts);
 *  - matchToleranceArcsec 1 as the starting pattern tolerance (LSST derives one from the spacing of the
 *    catalogues' patterns, typically an arcsecond or two); it doubles with softening.
 */
import type { FitsHeader } from '../fits/header.js';
import { angularSeparation, type Wcs } from '../wcs/index.js';
import { fitAffineWcs } from './fitAffineWcs.js';
import { fitTanSipWcs, TAN_SIP_FIT_DEFAULTS, usableOrder, type TanSipFit, type TanSipFitConfig } from './fitTanSip.js';
import { matchOneToOne } from './matchOneToOne.js';
import { matchPatterns, type PatternMatchFound } from './matchPatterns.js';
import { PointGrid } from './pointGrid.js';
import { TangentPlane } from './tangentPlane.js';

export interface AstrometrySources {
  /** 0-BASED pixel centroids. */
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Instrumental flux (any unit): orders the sources and gives their S/N. */
  instFlux: ArrayLike<number>;
  /** Its 1-sigma error, same unit; without it there is no S/N cut. */
  instFluxErr?: ArrayLike<number>;
  /** Nonzero / true: not usable for astrometry (saturated, edge, interpolated centre, bad centroid). */
  flagged?: ArrayLike<number | boolean>;
}

export interface AstrometryReferences {
  /** ICRS degrees at the exposure's epoch. */
  ra: ArrayLike<number>;
  dec: ArrayLike<number>;
  /** Flux (nJy, any band): orders the references. */
  flux: ArrayLike<number>;
}

export interface AstrometryConfig {
  /** Minimum source S/N for matching and fitting (LSST matcher source selector, 40). */
  sourceMinSnr: number;
  /** Match-and-fit iterations (LSST 3). */
  maxIter: number;
  /** Next match radius = mean + matchDistanceSigma x std of the match distances (LSST 2). */
  matchDistanceSigma: number;
  /** Stop iterating once the match radius is below this, arcsec (LSST 0.001). */
  minMatchDistanceArcsec: number;
  /** Fail when the final mean match distance exceeds this, arcsec (LSST 0.5). */
  maxMeanDistanceArcsec: number;
  /** Largest shift of the header WCS, pixels (see the module comment: 750). */
  maxOffsetPix: number;
  /** References are taken within the image grown by this many pixels (default maxOffsetPix). */
  referenceMarginPix?: number;
  maxRotationDeg: number;
  maxScaleError: number;
  /** Matches within this many pixels always count (LSST 1). */
  minMatchDistPixels: number;
  /** Starting pattern tolerance, arcsec. */
  matchToleranceArcsec: number;
  numBrightStars: number;
  minMatchedPairs: number;
  minFracMatchedPairs: number;
  matcherIterations: number;
  numPointsForShape: number;
  numPointsForShapeAttempt: number;
  /** Work budget of the pattern matcher (candidate first spokes; 250,000, some 80 times what any solvable simulated field took, ~0.5 s). */
  maxCandidateTests: number;
  /** WCS fitter settings (fitTanSip.ts: order 3, numIter 3, numRejIter 1, rejSigma 3, maxScatterArcsec 10). */
  fit: Partial<TanSipFitConfig>;
  /**
   * 'tanSip': always fit the TAN-SIP polynomial (its order lowered with few matches); 'affine': always fit
   * an affine correction to the header WCS's distortion (fitAffineWcs.ts); 'auto': TAN-SIP when the
   * matches support the configured order (twice as many as its terms per axis), else affine.
   */
  wcsFitter: 'auto' | 'tanSip' | 'affine';
}

export const ASTROMETRY_DEFAULTS: Readonly<AstrometryConfig> = {
  sourceMinSnr: 40,
  maxIter: 3,
  matchDistanceSigma: 2,
  minMatchDistanceArcsec: 0.001,
  maxMeanDistanceArcsec: 0.5,
  maxOffsetPix: 750,
  maxRotationDeg: 2,
  maxScaleError: 0.02,
  minMatchDistPixels: 1,
  matchToleranceArcsec: 1,
  numBrightStars: 200,
  minMatchedPairs: 30,
  minFracMatchedPairs: 0.3,
  matcherIterations: 3,
  numPointsForShape: 6,
  numPointsForShapeAttempt: 6,
  maxCandidateTests: 250_000,
  fit: {},
  wcsFitter: 'auto',
};

export type AstrometryStatus =
  | 'ok'
  | 'noSources'
  | 'tooFewSources'
  | 'noReferences'
  | 'tooFewReferences'
  | 'matchFailed'
  | 'fitFailed'
  | 'poorFit';

export interface AstrometryMatch {
  /** Index into the input source arrays. */
  source: number;
  /** Index into the input reference arrays. */
  ref: number;
  /** Source (through the fitted WCS) to reference, arcsec. */
  separationArcsec: number;
  /** Whether the final WCS fit used it (false: rejected as an outlier). */
  usedInFit: boolean;
}

export interface PatternSolution {
  /** Shift of the image centre, arcsec; rotation, degrees; scale (1 = the header's). */
  shiftArcsec: number;
  rotationDeg: number;
  scale: number;
  toleranceArcsec: number;
  patternIndex: number;
  softenDistance: number;
  softenPattern: number;
  candidatesTested: number;
  nMatches: number;
}

export interface AstrometryResult {
  status: AstrometryStatus;
  ok: boolean;
  /** What happened, for logs and the failure summary. */
  message: string;
  /** The fitted WCS; the initial (header) WCS when the status is not 'ok'. */
  wcs: Wcs;
  /** The fitted WCS's FITS cards (status 'ok' only). */
  header: FitsHeader | undefined;
  fit: TanSipFit | undefined;
  /** Final matches (status 'ok'; the last ones found otherwise, possibly empty). */
  matches: AstrometryMatch[];
  nMatches: number;
  nUsedInFit: number;
  /** RMS source-reference separation of the matches used in the fit, mas. */
  rmsMas: number;
  /** Median separation of those (LSST's scatterOnSky), mas. */
  medianScatterMas: number;
  /** Mean separation of all final matches, arcsec. */
  meanDistanceArcsec: number;
  /** SIP order of the fit (0 when none). */
  order: number;
  /** Which fitter made the WCS. */
  fitMethod: 'tanSip' | 'affine' | undefined;
  /** Match-and-fit iterations done. */
  iterations: number;
  nSourcesSelected: number;
  nReferencesInRegion: number;
  pattern: PatternSolution | undefined;
}

export interface AstrometryInput {
  sources: AstrometrySources;
  references: AstrometryReferences;
  /** The starting WCS (the raw's header). */
  initialWcs: Wcs;
  /** Image size, pixels. */
  width: number;
  height: number;
}

function checkLengths(name: string, n: number, arrays: Record<string, ArrayLike<unknown> | undefined>): void {
  for (const [key, a] of Object.entries(arrays)) {
    if (a !== undefined && a.length !== n) throw new RangeError(`solveAstrometry: ${name}.${key} has ${a.length} entries, expected ${n}`);
  }
}

/** The circle (centre, radius in degrees) holding the image grown by `marginPix`: where to load references. */
export function referenceSearchCircle(wcs: Wcs, width: number, height: number, marginPix: number): { ra: number; dec: number; radiusDeg: number } {
  const [ra, dec] = wcs.pixelToSky((width - 1) / 2, (height - 1) / 2);
  let radius = 0;
  const lo = -0.5 - marginPix;
  const corners: [number, number][] = [[lo, lo], [width - 0.5 + marginPix, lo], [width - 0.5 + marginPix, height - 0.5 + marginPix], [lo, height - 0.5 + marginPix]];
  for (const [x, y] of corners) {
    const [r, d] = wcs.pixelToSky(x, y);
    radius = Math.max(radius, angularSeparation(ra, dec, r, d));
  }
  return { ra, dec, radiusDeg: radius * 1.02 };
}

/** Solves the astrometry of one detector; see the module comment. */
export function solveAstrometry(input: AstrometryInput, config: Partial<AstrometryConfig> = {}): AstrometryResult {
  const cfg: AstrometryConfig = { ...ASTROMETRY_DEFAULTS, ...config, fit: { ...ASTROMETRY_DEFAULTS.fit, ...config.fit } };
  const { sources, references, initialWcs, width, height } = input;
  const nSrc = sources.x.length;
  const nRef = references.ra.length;
  checkLengths('sources', nSrc, { y: sources.y, instFlux: sources.instFlux, instFluxErr: sources.instFluxErr, flagged: sources.flagged });
  checkLengths('references', nRef, { dec: references.dec, flux: references.flux });
  if (!(width > 0 && height > 0)) throw new RangeError(`solveAstrometry: image size ${width}x${height} is not positive`);

  const base = {
    wcs: initialWcs, header: undefined, fit: undefined, matches: [] as AstrometryMatch[], nMatches: 0, nUsedInFit: 0,
    rmsMas: NaN, medianScatterMas: NaN, meanDistanceArcsec: NaN, order: 0, fitMethod: undefined as AstrometryResult['fitMethod'], iterations: 0, nSourcesSelected: 0,
    nReferencesInRegion: 0, pattern: undefined as PatternSolution | undefined,
  };
  const fail = (status: AstrometryStatus, message: string, extra: Partial<AstrometryResult> = {}): AstrometryResult =>
    ({ ...base, ...extra, status, ok: false, message, wcs: initialWcs, header: undefined });

  // 1. Sources.
  if (nSrc === 0) return fail('noSources', 'no sources to match');
  const selected: number[] = [];
  for (let i = 0; i < nSrc; i++) {
    const x = sources.x[i]!, y = sources.y[i]!, f = sources.instFlux[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y) || !(f > 0) || !Number.isFinite(f)) continue;
    if (sources.flagged && sources.flagged[i]) continue;
    if (sources.instFluxErr && cfg.sourceMinSnr > 0 && !(f / sources.instFluxErr[i]! >= cfg.sourceMinSnr)) continue;
    selected.push(i);
  }
  selected.sort((i, j) => sources.instFlux[j]! - sources.instFlux[i]! || i - j);
  base.nSourcesSelected = selected.length;
  if (selected.length === 0) return fail('noSources', `none of ${nSrc} sources passes the selection (finite centroid, flux > 0, unflagged, S/N >= ${cfg.sourceMinSnr})`);
  if (selected.length < cfg.numPointsForShape + 1) {
    return fail('tooFewSources', `${selected.length} selected sources; pattern matching needs at least ${cfg.numPointsForShape + 1}`);
  }

  // 2. References in the grown image.
  const margin = cfg.referenceMarginPix ?? cfg.maxOffsetPix;
  const refPix = initialWcs.skyToPixelMany(references.ra, references.dec);
  const refIndex: number[] = [];
  let refsOnImage = 0;
  for (let j = 0; j < nRef; j++) {
    const x = refPix.x[j]!, y = refPix.y[j]!;
    if (!(x >= -0.5 - margin && x <= width - 0.5 + margin && y >= -0.5 - margin && y <= height - 0.5 + margin)) continue;
    if (!Number.isFinite(references.ra[j]!) || !(Math.abs(references.dec[j]!) <= 90)) continue;
    refIndex.push(j);
    if (x >= -0.5 && x <= width - 0.5 && y >= -0.5 && y <= height - 0.5) refsOnImage++;
  }
  refIndex.sort((i, j) => (references.flux[j]! || 0) - (references.flux[i]! || 0) || i - j);
  base.nReferencesInRegion = refIndex.length;
  if (refIndex.length === 0) return fail('noReferences', `none of ${nRef} reference stars lies within ${margin} px of the image`);
  if (refIndex.length < cfg.numPointsForShape) {
    return fail('tooFewReferences', `${refIndex.length} reference stars near the image; pattern matching needs at least ${cfg.numPointsForShape}`);
  }

  // 3. Pattern match on the tangent plane at the image centre (arcsec).
  const [ra0, dec0] = initialWcs.pixelToSky((width - 1) / 2, (height - 1) / 2);
  if (!Number.isFinite(ra0) || !Number.isFinite(dec0)) return fail('matchFailed', 'the initial WCS does not map the image centre to the sky');
  const plane = new TangentPlane(ra0, dec0);
  const pixelScale = initialWcs.pixelScale((width - 1) / 2, (height - 1) / 2);
  const tmp = [0, 0];
  const rx = new Float64Array(refIndex.length), ry = new Float64Array(refIndex.length);
  refIndex.forEach((j, k) => {
    plane.project(references.ra[j]!, references.dec[j]!, tmp);
    rx[k] = tmp[0]! * 3600;
    ry[k] = tmp[1]! * 3600;
  });
  const sourcePlane = (wcs: Wcs): { x: Float64Array; y: Float64Array } => {
    const sky = wcs.pixelToSkyMany(Float64Array.from(selected, (i) => sources.x[i]!), Float64Array.from(selected, (i) => sources.y[i]!));
    const x = new Float64Array(selected.length), y = new Float64Array(selected.length);
    for (let k = 0; k < selected.length; k++) {
      plane.project(sky.ra[k]!, sky.dec[k]!, tmp);
      x[k] = tmp[0]! * 3600;
      y[k] = tmp[1]! * 3600;
    }
    return { x, y };
  };
  const minMatchDist = cfg.minMatchDistPixels * pixelScale;
  const pm = matchPatterns(sourcePlane(initialWcs), { x: rx, y: ry }, {
    numBrightStars: cfg.numBrightStars, minMatchedPairs: cfg.minMatchedPairs, minFracMatchedPairs: cfg.minFracMatchedPairs,
    matcherIterations: cfg.matcherIterations, numPointsForShape: cfg.numPointsForShape,
    numPointsForShapeAttempt: cfg.numPointsForShapeAttempt, maxShift: cfg.maxOffsetPix * pixelScale,
    maxRotationDeg: cfg.maxRotationDeg, maxScaleError: cfg.maxScaleError, matchTolerance: cfg.matchToleranceArcsec,
    minMatchDist, maxCandidateTests: cfg.maxCandidateTests, referencesOverlapping: Math.max(refsOnImage, cfg.numPointsForShape),
  });
  if (!pm.found) {
    const why = pm.reason === 'budgetExhausted' ? `the work budget of ${cfg.maxCandidateTests} candidates ran out` : 'no source pattern matched the references';
    return fail('matchFailed', `pattern matching failed: ${why} (${selected.length} sources, ${refIndex.length} references, ${pm.candidatesTested} candidates tested)`);
  }
  const pattern = patternSolution(pm);
  base.pattern = pattern;

  // 4. Match and fit.
  let pairs = pm.matches.map((m) => ({ source: selected[m.source]!, ref: refIndex[m.ref]! }));
  const refGrid = new PointGrid(rx, ry, Math.max(pm.tolerance, 1));
  let best: { fit: TanSipFit; pairs: typeof pairs; method: 'tanSip' | 'affine' } | undefined;
  let iterations = 0;
  let crval: [number, number] = [ra0, dec0];
  const order = cfg.fit.order ?? TAN_SIP_FIT_DEFAULTS.order;
  for (let iter = 1; iter <= cfg.maxIter; iter++) {
    const matched = {
      x: pairs.map((p) => sources.x[p.source]!), y: pairs.map((p) => sources.y[p.source]!),
      ra: pairs.map((p) => references.ra[p.ref]!), dec: pairs.map((p) => references.dec[p.ref]!), width, height,
    };
    const method = cfg.wcsFitter === 'auto' ? (usableOrder(order, pairs.length) < order ? 'affine' : 'tanSip') : cfg.wcsFitter;
    const fit = method === 'affine'
      ? fitAffineWcs({ ...matched, initialWcs, source: 'astrometric fit' }, cfg.fit)
      : fitTanSipWcs({ ...matched, crval, source: 'astrometric fit' }, cfg.fit);
    if (!fit.ok) {
      if (!best) return fail('fitFailed', `WCS fit failed: ${fit.message}`, { nMatches: pairs.length });
      break;
    }
    iterations = iter;
    best = { fit, pairs, method };
    crval = fit.crval;
    const d = Array.from(fit.separationArcsec);
    const mean = d.reduce((a, v) => a + v, 0) / d.length;
    const sd = Math.sqrt(d.reduce((a, v) => a + (v - mean) ** 2, 0) / d.length);
    const maxMatchDist = mean + cfg.matchDistanceSigma * sd;
    if (maxMatchDist < cfg.minMatchDistanceArcsec || iter === cfg.maxIter) break;
    const radius = Math.max(minMatchDist, Math.min(maxMatchDist, pm.tolerance));
    const sp = sourcePlane(fit.wcs);
    let next = matchOneToOne(sp.x, sp.y, refGrid, radius);
    if (next.length < pm.minMatches) next = matchOneToOne(sp.x, sp.y, refGrid, pm.tolerance);
    if (next.length < 3) break;
    pairs = next.map((m) => ({ source: selected[m.source]!, ref: refIndex[m.ref]! }));
  }
  const { fit, pairs: finalPairs, method } = best!;
  const matches: AstrometryMatch[] = finalPairs.map((p, k) => ({
    source: p.source, ref: p.ref, separationArcsec: fit.separationArcsec[k]!, usedInFit: fit.used[k] === 1,
  }));
  const meanDistanceArcsec = matches.reduce((a, m) => a + m.separationArcsec, 0) / matches.length;
  const summary = {
    matches, nMatches: matches.length, nUsedInFit: fit.nUsed, rmsMas: fit.rmsArcsec * 1000,
    medianScatterMas: fit.medianScatterArcsec * 1000, meanDistanceArcsec, order: fit.order, fitMethod: method, iterations, fit,
  };
  if (!(meanDistanceArcsec <= cfg.maxMeanDistanceArcsec)) {
    return fail('poorFit', `mean match distance ${meanDistanceArcsec.toFixed(3)}" exceeds maxMeanDistanceArcsec ${cfg.maxMeanDistanceArcsec}"`, summary);
  }
  return {
    ...base, ...summary, status: 'ok', ok: true, wcs: fit.wcs, header: fit.header,
    message: `matched ${matches.length} sources (${fit.nUsed} used), rms ${(fit.rmsArcsec * 1000).toFixed(1)} mas, ${method === 'affine' ? 'affine correction of the header distortion as ' : ''}SIP order ${fit.order}, ${iterations} iterations; header WCS was off by ${pattern.shiftArcsec.toFixed(1)}" and ${pattern.rotationDeg.toFixed(3)} deg`,
  };
}

function patternSolution(pm: PatternMatchFound): PatternSolution {
  return {
    shiftArcsec: pm.shift, rotationDeg: pm.rotationDeg, scale: pm.scale, toleranceArcsec: pm.tolerance,
    patternIndex: pm.patternIndex, softenDistance: pm.softenDistance, softenPattern: pm.softenPattern,
    candidatesTested: pm.candidatesTested, nMatches: pm.matches.length,
  };
}
