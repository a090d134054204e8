/**
 * Overlap of a polygon with an axis-aligned rectangle, by clipping the polygon to the rectangle
 * (Sutherland & Hodgman 1974) and taking the clipped area (shoelace formula). Works for any simple
 * polygon, convex or not, in either winding; regions that only touch along an edge or at a corner have
 * zero overlap. Coordinates are continuous pixel coordinates (0-based pixel centres; a pixel spans
 * +-0.5 around its index).
 */

export type Point = readonly [number, number];

/** A rectangle [xMin, xMax] x [yMin, yMax] in continuous coordinates. */
export interface Rect {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

/** Signed area of a polygon (positive counter-clockwise). */
export function polygonArea(polygon: readonly Point[]): number {
  let s = 0;
  for (let i = 0; i < polygon.length; i++) {
    const [x1, y1] = polygon[i]!;
    const [x2, y2] = polygon[(i + 1) % polygon.length]!;
    s += x1 * y2 - x2 * y1;
  }
  return s / 2;
}

function clipAgainst(points: Point[], inside: (p: Point) => boolean, cross: (a: Point, b: Point) => Point): Point[] {
  const out: Point[] = [];
  for (let i = 0; i < points.length; i++) {
    const cur = points[i]!;
    const prev = points[(i + points.length - 1) % points.length]!;
    const inCur = inside(cur), inPrev = inside(prev);
    if (inCur) {
      if (!inPrev) out.push(cross(prev, cur));
      out.push(cur);
    } else if (inPrev) out.push(cross(prev, cur));
  }
  return out;
}

/** The polygon clipped to the rectangle (possibly empty or degenerate). */
export function clipPolygonToRect(polygon: readonly Point[], r: Rect): Point[] {
  const atX = (x: number) => (a: Point, b: Point): Point => [x, a[1] + ((b[1] - a[1]) * (x - a[0])) / (b[0] - a[0])];
  const atY = (y: number) => (a: Point, b: Point): Point => [a[0] + ((b[0] - a[0]) * (y - a[1])) / (b[1] - a[1]), y];
  let p: Point[] = [...polygon];
  p = clipAgainst(p, (q) => q[0] >= r.xMin, atX(r.xMin));
  p = clipAgainst(p, (q) => q[0] <= r.xMax, atX(r.xMax));
  p = clipAgainst(p, (q) => q[1] >= r.yMin, atY(r.yMin));
  p = clipAgainst(p, (q) => q[1] <= r.yMax, atY(r.yMax));
  return p;
}

/** Area common to the polygon and the rectangle. */
export function overlapArea(polygon: readonly Point[], r: Rect): number {
  if (polygon.length < 3) return 0;
  return Math.abs(polygonArea(clipPolygonToRect(polygon, r)));
}
