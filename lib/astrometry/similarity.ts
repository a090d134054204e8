/**
 * A 2-D similarity transform (shift, rotation, uniform scale) between two planes:
 *   x' = a x - b y + tx,   y' = b x + a y + ty,   scale = hypot(a, b), rotation = atan2(b, a),
 * and its least-squares fit to point pairs (closed form about the centroids; Umeyama 1991 without
 * reflection). The pattern matcher uses it as the source -> reference mapping on the tangent plane: the
 * header WCS's pointing, rotation and plate-scale errors are, over one detector, such a transform.
 */
import { libm } from '../math/libm.js';
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

export const IDENTITY: Readonly<Similarity> = { a: 1, b: 0, tx: 0, ty: 0 };

/** Applies `t` to (x, y), into out[0], out[1]. */
export function applySimilarity(t: Similarity, x: number, y: number, out: Float64Array | number[]): void {
  out[0] = t.a * x - t.b * y + t.tx;
  out[1] = t.b * x + t.a * y + t.ty;
}

export function similarityScale(t: Similarity): number {
  return Math.hypot(t.a, t.b);
}

/** Rotation of `t`, degrees (counter-clockwise in the plane's axes). */
export function similarityRotationDeg(t: Similarity): number {
  return (libm.atan2(t.b, t.a) * 180) / Math.PI;
}

/**
 * The least-squares similarity mapping the points (x[i], y[i]) onto (u[i], v[i]), or undefined for fewer
 * than 2 distinct points.
 */
export function fitSimilarity(
  x: ArrayLike<number>, y: ArrayLike<number>, u: ArrayLike<number>, v: ArrayLike<number>,
): Similarity | undefined {
  const n = x.length;
  if (n < 2) return undefined;
  let mx = 0, my = 0, mu = 0, mv = 0;
  for (let i = 0; i < n; i++) { mx += x[i]!; my += y[i]!; mu += u[i]!; mv += v[i]!; }
  mx /= n; my /= n; mu /= n; mv /= n;
  let sxx = 0, sa = 0, sb = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx, dy = y[i]! - my, du = u[i]! - mu, dv = v[i]! - mv;
    sxx += dx * dx + dy * dy;
    sa += dx * du + dy * dv;
    sb += dx * dv - dy * du;
  }
  if (!(sxx > 0) || !Number.isFinite(sa) || !Number.isFinite(sb)) return undefined;
  const a = sa / sxx;
  const b = sb / sxx;
  return { a, b, tx: mu - (a * mx - b * my), ty: mv - (b * mx + a * my) };
}
