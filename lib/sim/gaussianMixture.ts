/**
 * Operations on centred 2-D Gaussian mixtures (lib/sim/types.ts GaussianMixture: weights and second
 * moments xx, yy, xy in pixel^2, every component centred on the origin). Everything here is exact or
 * converges spectrally; nothing is sampled on a pixel grid.
 *
 * - mixtureValue: surface density (weight per pixel^2) at an offset from the centre.
 * - convolveMixtures: the convolution of two mixtures: moments add, weights multiply (Hogg & Lang
 *   2013, PASP 125, 719, eq. 9); a mixture of K and one of L components give K*L components.
 * - mixtureEnclosedFlux: weight inside a centred circle, per component
 *   (1 / 2pi) \int_0^{2pi} (1 - exp(-R^2 q(t) / 2)) / (sqrt(det C) q(t)) dt, q(t) = u(t)^T C^-1 u(t),
 *   evaluated by the trapezoid rule on 512 angles (exact to rounding for a periodic analytic integrand
 *   at axis ratios down to 0.05).
 * - mixtureHalfLightRadius: radius of the centred circle holding half the total weight (bisection).
 * - mixtureFwhm: the effective FWHM 2 sqrt(A / pi), A the area inside the half-maximum contour; the
 *   contour radius is found by bisection on 64 rays over [0, pi) (the profile decreases monotonically
 *   along every ray, and is point-symmetric), A = pi <r^2>. For a circular profile this is its FWHM; an
 *   area-preserving shear leaves it unchanged.
 * - shearMixture: applies an area-preserving distortion with ellipticity (e1, e2), e = (a^2 - b^2) /
 *   (a^2 + b^2) of the moments (e1 = (xx - yy) / (xx + yy), e2 = 2 xy / (xx + yy) for a circular input).
 */
import type { GaussianMixture } from './types.js';
import { libm } from '../math/libm.js';

/** Sum of the weights (the total flux of a profile normalised per unit flux). */
export function mixtureTotalWeight(m: GaussianMixture): number {
  let s = 0;
  for (const c of m) s += c.weight;
  return s;
}

/** Weight-averaged second moments (pixel^2) of the whole mixture, normalised by the total weight. */
export function mixtureMoments(m: GaussianMixture): { xx: number; yy: number; xy: number } {
  let xx = 0, yy = 0, xy = 0, w = 0;
  for (const c of m) { xx += c.weight * c.xx; yy += c.weight * c.yy; xy += c.weight * c.xy; w += c.weight; }
  return { xx: xx / w, yy: yy / w, xy: xy / w };
}

/** Surface density (weight per pixel^2) of the mixture at (dx, dy) pixels from its centre. */
export function mixtureValue(m: GaussianMixture, dx: number, dy: number): number {
  let v = 0;
  for (const c of m) {
    const det = c.xx * c.yy - c.xy * c.xy;
    const q = (c.yy * dx * dx - 2 * c.xy * dx * dy + c.xx * dy * dy) / det;
    v += (c.weight / (2 * Math.PI * Math.sqrt(det))) * libm.exp(-0.5 * q);
  }
  return v;
}

/** The convolution of two mixtures: every pair of components, moments added and weights multiplied. */
export function convolveMixtures(a: GaussianMixture, b: GaussianMixture): GaussianMixture {
  const out: GaussianMixture = [];
  for (const p of a) {
    for (const q of b) out.push({ weight: p.weight * q.weight, xx: p.xx + q.xx, yy: p.yy + q.yy, xy: p.xy + q.xy });
  }
  return out;
}

const APERTURE_ANGLES = 512;

/** Weight inside a centred circle of `radius` pixels. */
export function mixtureEnclosedFlux(m: GaussianMixture, radius: number): number {
  if (radius <= 0) return 0;
  const r2 = radius * radius;
  let total = 0;
  for (const c of m) {
    const det = c.xx * c.yy - c.xy * c.xy;
    const sqrtDet = Math.sqrt(det);
    let s = 0;
    for (let k = 0; k < APERTURE_ANGLES; k++) {
      const t = (2 * Math.PI * k) / APERTURE_ANGLES;
      const ux = libm.cos(t), uy = libm.sin(t);
      const q = (c.yy * ux * ux - 2 * c.xy * ux * uy + c.xx * uy * uy) / det;
      s += -libm.expm1(-0.5 * r2 * q) / (sqrtDet * q);
    }
    total += c.weight * (s / APERTURE_ANGLES);
  }
  return total;
}

function largestScale(m: GaussianMixture): number {
  let s = 0;
  for (const c of m) s = Math.max(s, c.xx + c.yy);
  return Math.sqrt(s);
}

/** Radius (pixels) of the centred circle that holds half the mixture's total weight. */
export function mixtureHalfLightRadius(m: GaussianMixture): number {
  const half = 0.5 * mixtureTotalWeight(m);
  let lo = 0, hi = 4 * largestScale(m);
  while (mixtureEnclosedFlux(m, hi) < half) hi *= 2;
  for (let i = 0; i < 100 && hi - lo > 1e-12 * hi; i++) {
    const mid = 0.5 * (lo + hi);
    if (mixtureEnclosedFlux(m, mid) < half) lo = mid; else hi = mid;
  }
  return 0.5 * (lo + hi);
}

const FWHM_RAYS = 64;

/** Effective FWHM (pixels): twice the rms radius of the half-maximum contour, 2 sqrt(A / pi). */
export function mixtureFwhm(m: GaussianMixture): number {
  const peak = mixtureValue(m, 0, 0);
  const half = 0.5 * peak;
  const start = 4 * largestScale(m);
  let sumR2 = 0;
  for (let k = 0; k < FWHM_RAYS; k++) {
    const t = (Math.PI * k) / FWHM_RAYS;
    const ux = libm.cos(t), uy = libm.sin(t);
    let lo = 0, hi = start;
    while (mixtureValue(m, hi * ux, hi * uy) > half) hi *= 2;
    for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
      const mid = 0.5 * (lo + hi);
      if (mixtureValue(m, mid * ux, mid * uy) > half) lo = mid; else hi = mid;
    }
    const r = 0.5 * (lo + hi);
    sumR2 += r * r;
  }
  return 2 * Math.sqrt(sumR2 / FWHM_RAYS);
}

/**
 * Applies the area-preserving distortion that turns a circular profile into one of ellipticity (e1, e2):
 * M -> A M A^T with A = (I + g [[g1, g2], [g2, -g1]]) / sqrt(1 - |g|^2), g the reduced shear with
 * e = 2 g / (1 + |g|^2).
 */
export function shearMixture(m: GaussianMixture, e1: number, e2: number): GaussianMixture {
  const e = Math.hypot(e1, e2);
  if (!(e < 1)) throw new RangeError(`ellipticity |e| = ${e} must be below 1`);
  if (e === 0) return m.map((c) => ({ ...c }));
  const g = e / (1 + Math.sqrt(1 - e * e));
  const g1 = (g * e1) / e, g2 = (g * e2) / e;
  const norm = 1 / Math.sqrt(1 - g * g);
  const a11 = (1 + g1) * norm, a12 = g2 * norm, a22 = (1 - g1) * norm;
  return m.map((c) => {
    // A M A^T with A symmetric [[a11, a12], [a12, a22]].
    const t11 = a11 * c.xx + a12 * c.xy, t12 = a11 * c.xy + a12 * c.yy;
    const t21 = a12 * c.xx + a22 * c.xy, t22 = a12 * c.xy + a22 * c.yy;
    return { weight: c.weight, xx: t11 * a11 + t12 * a12, xy: t11 * a12 + t12 * a22, yy: t21 * a12 + t22 * a22 };
  });
}

/** Ellipticity (e1, e2) of the mixture's total second moments. */
export function mixtureEllipticity(m: GaussianMixture): [number, number] {
  const { xx, yy, xy } = mixtureMoments(m);
  return [(xx - yy) / (xx + yy), (2 * xy) / (xx + yy)];
}
