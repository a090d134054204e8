/**
 * Completeness against the simulator's truth (DESIGN.md "How we measure ourselves"): which truth objects a
 * catalogue's sources match within a radius (1.5 px), one-to-one among the objects considered (nearest
 * pairs first: lib/astrometry/matchOneToOne.ts), so that a fainter neighbour left out of the count cannot
 * take a source. Used by the processCcd benchmark and the tasks tests.
 */
import { matchOneToOne } from '../astrometry/matchOneToOne.js';
import { PointGrid } from '../astrometry/pointGrid.js';

/** The indices, among `among` (into `truth`), of the objects a source at (sx, sy) matches; non-finite centroids match nothing. */
export function matchedTruth(truth: readonly { x: number; y: number }[], among: readonly number[], sx: ArrayLike<number>, sy: ArrayLike<number>, radius = 1.5): Set<number> {
  const grid = new PointGrid(among.map((i) => truth[i]!.x), among.map((i) => truth[i]!.y), 8);
  return new Set(matchOneToOne(sx, sy, grid, radius).map((m) => among[m.ref]!));
}
