/**
 * Pattern matching of detected sources to reference stars on a tangent plane: LSST's "pessimistic pattern
 * matcher B" (meas_astrom MatchPessimisticBTask / pessimistic_pattern_matcher_b_3D.py, DMTN-031), itself
 * Tabur's (2007, PASA 24, 189) Optimistic Pattern Matcher B. It finds the shift, rotation and scale that
 * carry the sources (placed on the sky by the raw's header WCS) onto the references when the header is off
 * by arcminutes and a degree or two, with no other prior.
 *
 * Inputs are plane coordinates in one unit (the caller uses arcsec on the tangent plane at the detector
 * centre, so the origin is the detector centre): sources ORDERED BRIGHTEST FIRST, references in any order.
 * Algorithm, as OPMb:
 *  - a pattern is a pinwheel: the source p (the centre) and the next sources p+1 .. p+nCheck-1 (the
 *    spokes), for p = 0 .. min(numBrightStars, nSources - numPointsForShape) - 1;
 *  - the first spoke (p+1) proposes reference pairs (a, b) with the same length and an orientation within
 *    maxRotationDeg; each fixes a rotation and scale; the remaining spokes must each find a reference within
 *    the tolerance of where that rotation and scale put them; numPointsForShape points (centre included)
 *    must match;
 *  - intermediate verify: a least-squares similarity over the pattern must put every pattern point within
 *    the tolerance of its reference, and stay within maxOffset (shift of the plane's origin, i.e. the
 *    detector centre), maxRotationDeg and maxScaleError;
 *  - final verify: all sources are mapped through that similarity and matched one to one within the
 *    tolerance; at least minMatches = min(minMatchedPairs, floor(minFracMatchedPairs x min(nSources,
 *    nRefs))) must match (but see below), again after refitting the similarity on all of them;
 *  - softening: if no pattern verifies, the pattern grows (spokes may then be spurious or missing; up to
 *    matcherIterations sizes), and then the tolerance doubles (matcherIterations times), in
 *    MatchPessimisticBTask._doMatch's order;
 *  - the returned matches are cut at min(tolerance, max(mean + 2 sigma of the 2-sigma-clipped match
 *    distances, minMatchDist)) unless that leaves fewer than minMatches (LSST's `sigmaclip(low=100,
 *    high=2)` cut).
 * Differences from LSST, each a reformulation with the same acceptance tests or a stated extension:
 *  - candidate centres are looked up directly among the references within the allowed shift of the source
 *    centre (a grid), and candidate first spokes near the predicted spoke end, instead of scanning a sorted
 *    table of all reference pair lengths and then rejecting pairs that fail the shift and rotation tests:
 *    the same candidates survive, without the N^2 table;
 *  - the scale is free within maxScaleError (OPMb has none but its tolerance; a header plate scale off by a
 *    percent moves a 5-arcmin spoke by 3 arcsec);
 *  - the pattern size doubles with each softening (6, 12, 24 points tried) where LSST adds one (6, 7, 8):
 *    the reference catalogue here holds stars only, and at high galactic latitude galaxies outnumber them
 *    among the bright sources (measured on the simulator at b = 56 deg: 5 of the 8 and 7 of the 20
 *    brightest selected sources are reference stars; no 6-of-8 pattern exists there);
 *  - the spoke that fixes rotation and scale is the next brightest source first (OPMb) and then, in turn,
 *    every other source of the pattern, so that one galaxy in that place does not sink the pattern; a
 *    spoke shorter than 3 tolerances is never used for that: its orientation is undefined;
 *  - the final verify also requires more matches than a wrong transform finds by chance: at least the
 *    pattern's points plus 2 lambda + 5 sqrt(lambda), lambda = nSources x reference density x pi
 *    tolerance^2 (with a 4" tolerance in a dense field lambda exceeds the 30 of minMatchedPairs; the
 *    factor 2 because with lambda + 5 sqrt(lambda) random input passed: 1,400 random sources against 675
 *    references, after ~10^5 candidates with the final verify's refit, at a 4" tolerance, lambda ~ 84);
 *  - minFracMatchedPairs applies to the references that can overlap the image (referencesOverlapping),
 *    not to all those loaded over the image plus a wide margin;
 *  - no "consensus" of several patterns (numPatternConsensus, used by LSST only when both catalogues
 *    exceed numBrightStars + numPointsForShapeAttempt): the final verify's minimum match count and the WCS
 *    fit's mean-distance check after it (astrometry.ts) catch a false match;
 *  - a work budget (maxCandidateTests: candidate first spokes, a final verify counting 100) bounds the time
 *    on hopeless input.
 * Deterministic: no randomness; ties go to the lower index.
 */
import { PointGrid } from './pointGrid.js';
import { matchOneToOne, type PlaneMatch } from './matchOneToOne.js';
import { applySimilarity, fitSimilarity, similarityRotationDeg, similarityScale, type Similarity } from './similarity.js';
import { libm } from '../math/libm.js';

export interface PatternMatchConfig {
  /** Number of brightest sources whose patterns are tried (LSST 200). */
  numBrightStars: number;
  /** Minimum verified matches (LSST 30); see minFracMatchedPairs. */
  minMatchedPairs: number;
  /** Minimum verified matches as a fraction of min(nSources, nRefs); the smaller of the two applies (LSST 0.3). */
  minFracMatchedPairs: number;
  /** Softening iterations of the pattern size and of the tolerance (LSST 3). */
  matcherIterations: number;
  /** Points (centre included) that must match to define a pattern (LSST 6). */
  numPointsForShape: number;
  /** Points tried per pattern before softening (LSST 6). */
  numPointsForShapeAttempt: number;
  /** Largest shift of the plane's origin, plane units. */
  maxShift: number;
  /** Largest rotation, degrees. */
  maxRotationDeg: number;
  /** Largest relative scale error, e.g. 0.02. */
  maxScaleError: number;
  /** Starting tolerance (LSST max_dist), plane units; doubles with each softening of the distance. */
  matchTolerance: number;
  /** Floor of the returned distance cut (LSST minMatchDistPixels x pixel scale), plane units. */
  minMatchDist: number;
  /** Work budget: candidate first spokes examined over all passes. */
  maxCandidateTests: number;
  /**
   * The reference count minFracMatchedPairs applies to: those that can overlap the image (default: all).
   * The caller loads references over the image grown by the largest offset, most of which cannot match.
   */
  referencesOverlapping?: number;
}

export interface PlanePoints {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

export interface PatternMatchFound {
  found: true;
  /** Source plane -> reference plane. */
  transform: Similarity;
  /** One-to-one matches (source index, reference index, distance in plane units after `transform`). */
  matches: PlaneMatch[];
  /** The distance cut applied to `matches`, plane units. */
  distanceCut: number;
  /** Tolerance of the pass that matched, plane units. */
  tolerance: number;
  /** Index of the centre source of the matching pattern. */
  patternIndex: number;
  softenDistance: number;
  softenPattern: number;
  minMatches: number;
  candidatesTested: number;
  /** |shift of the origin|, plane units; rotation in degrees; scale (1 = none). */
  shift: number;
  rotationDeg: number;
  scale: number;
}

export interface PatternMatchFailed {
  found: false;
  reason: 'tooFewPoints' | 'noPattern' | 'budgetExhausted';
  minMatches: number;
  candidatesTested: number;
}

export type PatternMatchResult = PatternMatchFound | PatternMatchFailed;

/** Mean + high x sigma of `values` after iterative clipping at (mean - low sigma, mean + high sigma), as scipy.stats.sigmaclip. */
export function sigmaClipUpper(values: readonly number[], low: number, high: number): number {
  let c = values.filter((v) => Number.isFinite(v));
  for (let it = 0; it < 100 && c.length > 0; it++) {
    const n = c.length;
    const mean = c.reduce((s, v) => s + v, 0) / n;
    const std = Math.sqrt(c.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    const lo = mean - low * std, hi = mean + high * std;
    const next = c.filter((v) => v >= lo && v <= hi);
    if (next.length === n) return hi;
    c = next;
  }
  return NaN;
}

interface PassState {
  tested: number;
}

/**
 * Matches `sources` (brightest first) to `refs` on a plane. Bounded: at most
 * matcherIterations^2 passes of at most numBrightStars patterns, and maxCandidateTests candidates overall.
 */
export function matchPatterns(sources: PlanePoints, refs: PlanePoints, config: PatternMatchConfig): PatternMatchResult {
  const nSrc = sources.x.length;
  const nRef = refs.x.length;
  const nRefOverlap = Math.min(nRef, config.referencesOverlapping ?? nRef);
  const minMatches = Math.min(config.minMatchedPairs, Math.floor(config.minFracMatchedPairs * Math.min(nSrc, nRefOverlap)));
  const nShape = config.numPointsForShape;
  if (nSrc < nShape + 1 || nRef < nShape) return { found: false, reason: 'tooFewPoints', minMatches, candidatesTested: 0 };
  const area = planeArea(refs);
  const cellSize = Math.max(config.matchTolerance, Math.sqrt(area / Math.max(1, nRef)));
  const grid = new PointGrid(refs.x, refs.y, cellSize);
  const refDensity = nRef / area;
  const state: PassState = { tested: 0 };
  for (let softenDistance = 0; softenDistance < config.matcherIterations; softenDistance++) {
    for (let softenPattern = 0; softenPattern < config.matcherIterations; softenPattern++) {
      const tolerance = config.matchTolerance * 2 ** softenDistance;
      const nCheck = config.numPointsForShapeAttempt * 2 ** softenPattern;
      // Matches a wrong transform would still find by chance: Poisson with this mean, on top of the pattern.
      const chance = nSrc * refDensity * Math.PI * tolerance * tolerance;
      const required = Math.max(minMatches, nShape + Math.ceil(2 * chance + 5 * Math.sqrt(chance)));
      const found = matchPass(sources, refs, grid, config, tolerance, nCheck, required, state);
      if (found) {
        return { ...found, softenDistance, softenPattern, minMatches, candidatesTested: state.tested };
      }
      if (state.tested >= config.maxCandidateTests) {
        return { found: false, reason: 'budgetExhausted', minMatches, candidatesTested: state.tested };
      }
    }
  }
  return { found: false, reason: 'noPattern', minMatches, candidatesTested: state.tested };
}

function planeArea(p: PlanePoints): number {
  let xMin = Infinity, xMax = -Infinity, yMin = Infinity, yMax = -Infinity;
  for (let i = 0; i < p.x.length; i++) {
    const x = p.x[i]!, y = p.y[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    xMin = Math.min(xMin, x); xMax = Math.max(xMax, x); yMin = Math.min(yMin, y); yMax = Math.max(yMax, y);
  }
  const a = (xMax - xMin) * (yMax - yMin);
  return a > 0 ? a : 1;
}

type PassResult = Omit<PatternMatchFound, 'softenDistance' | 'softenPattern' | 'minMatches' | 'candidatesTested'>;

function matchPass(
  sources: PlanePoints, refs: PlanePoints, grid: PointGrid, config: PatternMatchConfig,
  tolerance: number, nCheck: number, minMatches: number, state: PassState,
): PassResult | undefined {
  const sx = sources.x, sy = sources.y, rx = refs.x, ry = refs.y;
  const nSrc = sx.length;
  const nShape = config.numPointsForShape;
  const rotMax = (config.maxRotationDeg * Math.PI) / 180;
  const scaleErr = config.maxScaleError;
  const nPatterns = Math.min(config.numBrightStars, nSrc - nShape);
  const usedRefs: number[] = [];
  const patSrc: number[] = [];
  const patRef: number[] = [];
  for (let p = 0; p < nPatterns; p++) {
    const end = Math.min(p + nCheck, nSrc);
    const cx = sx[p]!, cy = sy[p]!;
    if (!Number.isFinite(cx) || !Number.isFinite(cy)) continue;
    const window: number[] = [];
    for (let j = p + 1; j < end; j++) if (Number.isFinite(sx[j]!) && Number.isFinite(sy[j]!)) window.push(j);
    if (window.length < nShape - 1) continue;
    const centreRadius = config.maxShift + Math.hypot(cx, cy) * (rotMax + scaleErr) + tolerance;
    const centres: number[] = [];
    grid.forEachWithin(cx, cy, centreRadius, (a) => { centres.push(a); });
    if (centres.length === 0) continue;
    centres.sort((i, j) => i - j);
    // The spoke that fixes rotation and scale: OPMb's (the next brightest source) first, then each other
    // source of the window in turn, so that a galaxy or artefact there does not sink the pattern.
    for (const f of window) {
      const v1x = sx[f]! - cx, v1y = sy[f]! - cy;
      const len1 = Math.hypot(v1x, v1y);
      if (!(len1 >= 3 * tolerance)) continue;
      const ang1 = libm.atan2(v1y, v1x);
      const spokeRadius = len1 * (rotMax + scaleErr) + tolerance;
      const others = window.filter((j) => j !== f);
      for (const a of centres) {
        const ax = rx[a]!, ay = ry[a]!;
        const firstSpokes: number[] = [];
        grid.forEachWithin(ax + v1x, ay + v1y, spokeRadius, (b) => { if (b !== a) firstSpokes.push(b); });
        firstSpokes.sort((i, j) => i - j);
        for (const b of firstSpokes) {
          state.tested++;
          if (state.tested > config.maxCandidateTests) return undefined;
          const wx = rx[b]! - ax, wy = ry[b]! - ay;
          const lenW = Math.hypot(wx, wy);
          if (lenW < len1 * (1 - scaleErr) - tolerance || lenW > len1 * (1 + scaleErr) + tolerance) continue;
          let phi = libm.atan2(wy, wx) - ang1;
          if (phi > Math.PI) phi -= 2 * Math.PI; else if (phi < -Math.PI) phi += 2 * Math.PI;
          if (Math.abs(phi) > rotMax + tolerance / len1) continue;
          const k = lenW / len1;
          const ca = k * libm.cos(phi), sa = k * libm.sin(phi);
          usedRefs.length = 0; patSrc.length = 0; patRef.length = 0;
          usedRefs.push(a, b);
          patSrc.push(p, f);
          patRef.push(a, b);
          for (let o = 0; o < others.length; o++) {
            // Not enough spokes left to reach nShape points: give up on this candidate.
            if (patSrc.length + (others.length - o) < nShape) break;
            const j = others[o]!;
            const vx = sx[j]! - cx, vy = sy[j]! - cy;
            const px = ax + ca * vx - sa * vy, py = ay + sa * vx + ca * vy;
            const tol = tolerance * (1 + Math.hypot(vx, vy) / len1);
            const r = grid.nearest(px, py, tol, (i) => !usedRefs.includes(i));
            if (r < 0) continue;
            usedRefs.push(r);
            patSrc.push(j);
            patRef.push(r);
          }
          if (patSrc.length < nShape) continue;
          const verified = intermediateVerify(sources, refs, patSrc, patRef, tolerance, config);
          if (!verified) continue;
          state.tested += 100;
          const final = finalVerify(sources, refs, grid, verified, tolerance, minMatches, config);
          if (final) return { found: true, ...final, tolerance, patternIndex: p };
        }
      }
    }
  }
  return undefined;
}

/** Fits the similarity of a candidate pattern; undefined unless every point is within tolerance and the transform is within limits. */
function intermediateVerify(
  sources: PlanePoints, refs: PlanePoints, patSrc: readonly number[], patRef: readonly number[],
  tolerance: number, config: PatternMatchConfig,
): Similarity | undefined {
  const t = fitSimilarity(
    patSrc.map((i) => sources.x[i]!), patSrc.map((i) => sources.y[i]!),
    patRef.map((i) => refs.x[i]!), patRef.map((i) => refs.y[i]!),
  );
  if (!t || !withinLimits(t, config, tolerance)) return undefined;
  const out = [0, 0];
  for (let k = 0; k < patSrc.length; k++) {
    applySimilarity(t, sources.x[patSrc[k]!]!, sources.y[patSrc[k]!]!, out);
    if (Math.hypot(out[0]! - refs.x[patRef[k]!]!, out[1]! - refs.y[patRef[k]!]!) > tolerance) return undefined;
  }
  return t;
}

function withinLimits(t: Similarity, config: PatternMatchConfig, tolerance: number): boolean {
  return Math.abs(similarityScale(t) - 1) <= config.maxScaleError
    && Math.abs(similarityRotationDeg(t)) <= config.maxRotationDeg
    && Math.hypot(t.tx, t.ty) <= config.maxShift + tolerance;
}

/** Maps every source through `t`, matches one to one within tolerance, refits and rematches (LSST _final_verify). */
function finalVerify(
  sources: PlanePoints, refs: PlanePoints, grid: PointGrid, t0: Similarity, tolerance: number,
  minMatches: number, config: PatternMatchConfig,
): Pick<PassResult, 'transform' | 'matches' | 'distanceCut' | 'shift' | 'rotationDeg' | 'scale'> | undefined {
  let t = t0;
  let matches: PlaneMatch[] = [];
  for (let round = 0; round < 2; round++) {
    matches = matchThrough(sources, grid, t, tolerance);
    if (matches.length < Math.max(minMatches, 2)) return undefined;
    if (round === 1) break;
    const refit = fitSimilarity(
      matches.map((m) => sources.x[m.source]!), matches.map((m) => sources.y[m.source]!),
      matches.map((m) => refs.x[m.ref]!), matches.map((m) => refs.y[m.ref]!),
    );
    if (!refit || !withinLimits(refit, config, tolerance)) return undefined;
    t = refit;
  }
  const distances = matches.map((m) => m.distance);
  let clip = Math.max(sigmaClipUpper(distances, 100, 2), config.minMatchDist);
  if (!Number.isFinite(clip)) clip = tolerance;
  const cut = clip < tolerance && distances.filter((d) => d < clip).length < minMatches ? tolerance : Math.min(clip, tolerance);
  return {
    transform: t,
    matches: matches.filter((m) => m.distance <= cut),
    distanceCut: cut,
    shift: Math.hypot(t.tx, t.ty),
    rotationDeg: similarityRotationDeg(t),
    scale: similarityScale(t),
  };
}

function matchThrough(sources: PlanePoints, grid: PointGrid, t: Similarity, radius: number): PlaneMatch[] {
  const n = sources.x.length;
  const mx = new Float64Array(n), my = new Float64Array(n);
  const out = [0, 0];
  for (let i = 0; i < n; i++) {
    applySimilarity(t, sources.x[i]!, sources.y[i]!, out);
    mx[i] = out[0]!;
    my[i] = out[1]!;
  }
  return matchOneToOne(mx, my, grid, radius);
}
