/**
 * One-to-one matching of two point sets on a plane within a radius: every (source, reference) pair closer
 * than the radius is a candidate; candidates are taken closest first (ties by source, then reference
 * index) and a pair is kept when neither member is already matched. The result includes every mutual
 * nearest-neighbour pair (what LSST's pattern matcher keeps, pessimistic_pattern_matcher_b_3D
 * `_match_sources`) and, where one star's nearest neighbour is taken, its next free neighbour within the
 * radius. Deterministic: the output does not depend on the order of the grid's cells.
 */
import type { PointGrid } from './pointGrid.js';

export interface PlaneMatch {
  /** Index into the source arrays. */
  source: number;
  /** Index into the reference grid's arrays. */
  ref: number;
  /** Distance in the plane's units. */
  distance: number;
}

/**
 * Matches the sources (sx[i], sy[i]) for i in `which` (default: all) to the points of `refs` within
 * `radius`. Returns the pairs sorted by source index.
 */
export function matchOneToOne(
  sx: ArrayLike<number>, sy: ArrayLike<number>, refs: PointGrid, radius: number, which?: ArrayLike<number>,
): PlaneMatch[] {
  const candidates: PlaneMatch[] = [];
  const n = which ? which.length : sx.length;
  for (let k = 0; k < n; k++) {
    const i = which ? which[k]! : k;
    refs.forEachWithin(sx[i]!, sy[i]!, radius, (j, d2) => { candidates.push({ source: i, ref: j, distance: Math.sqrt(d2) }); });
  }
  candidates.sort((p, q) => p.distance - q.distance || p.source - q.source || p.ref - q.ref);
  const usedSource = new Set<number>();
  const usedRef = new Set<number>();
  const out: PlaneMatch[] = [];
  for (const c of candidates) {
    if (usedSource.has(c.source) || usedRef.has(c.ref)) continue;
    usedSource.add(c.source);
    usedRef.add(c.ref);
    out.push(c);
  }
  return out.sort((p, q) => p.source - q.source);
}
