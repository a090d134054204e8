/**
 * Sersic galaxy profiles as normalised Gaussian mixtures, in pixel moments, for rendering (lib/sim).
 *
 * Method: Hogg & Lang 2013 (PASP 125, 719), "lux" style: a profile truncated softly as SDSS photo
 * does, I(r) = exp(-b_n ((r/a)^(1/n) - 1)) x T(r/a), T = 1 inside r_in, (1 - ((r/a - r_in) /
 * (r_out - r_in))^2)^2 between r_in and r_out, 0 beyond; exponential (n = 1): r_in = 3, r_out = 4;
 * de Vaucouleurs (n = 4): r_in = 7, r_out = 8 (units of the untruncated Sersic scale a). The mixtures
 * below were fitted offline (scipy least squares, 40 restarts) by us with Hogg & Lang's component
 * counts (K = 6 and K = 8) to a combination of relative intensity residuals inside 2.5 a (n = 1) or
 * 4 a (n = 4), r^2-weighted residuals beyond, and the curve of growth. Hogg & Lang's own published
 * lux mixtures, renormalised to unit weight, hold 0.507 (exp) and 0.526 (dev) of the flux inside r = a,
 * i.e. their half-light radius is 1.5 % and ~9 % off a; ours are rescaled so that:
 *
 *   THE HALF-LIGHT RADIUS OF THE MIXTURE IS EXACTLY THE REQUESTED RADIUS (the circle of radius
 *   r_e holds 0.5 of the weight to 1e-9 for axis ratio 1; the ellipse of semi-major axis r_e and axis
 *   ratio q does for any q), and the weights sum to 1 (to rounding).
 *
 * That is the definition of `halfLightRadius` in the truth catalogue. The mixture of half-light radius
 * R approximates the truncated profile of scale a = R / SERSIC_FIT_HALF_LIGHT[n] (0.981775 for n = 1,
 * 0.893118 for n = 4; the truncated profile's own half-light radius is 0.99993 R and 0.99876 R). Fit
 * residuals against that profile (r in units of a):
 *   n = 1, K = 6: |dI/I| <= 0.3 % for r < 1, <= 1.1 % for 1 < r < 2, < 2 % up to r = 2.57; it grows
 *                 to 15 % at r = 3 (where I = 3.5 % of I(a)); curve of growth within 0.43 % of the
 *                 total flux everywhere.
 *   n = 4, K = 8: |dI/I| <= 1.4 % for 0.01 < r < 3, < 2 % up to r = 3.98, < 5 % up to 5.7, 37 % at
 *                 r = 7 (I = 0.8 % of I(a)); curve of growth within 0.63 % of the total flux everywhere.
 *
 * Shape: `sersicMixture(n, rePx, q, theta)` stretches the circular profile to semi-major axis r_e and
 * semi-minor axis q r_e and rotates the major axis to angle theta (radians, from the +x pixel axis
 * towards +y; lib/sim/simulateExposure.ts converts a sky position angle into it). Component moments:
 * xx = s (cos^2 t + q^2 sin^2 t), yy = s (sin^2 t + q^2 cos^2 t), xy = s (1 - q^2) sin t cos t, s = v r_e^2.
 * Supported indices: 1 and 4 (the simulated sky uses only these).
 */
import type { GaussianMixture } from './types.js';
import { libm } from '../math/libm.js';

export {
  convolveMixtures, mixtureValue, mixtureFwhm, mixtureHalfLightRadius, mixtureEnclosedFlux, mixtureTotalWeight,
  mixtureMoments, mixtureEllipticity, shearMixture,
} from './gaussianMixture.js';

export type SersicIndex = 1 | 4;

interface SersicFit {
  /** Component weights (sum 1). */
  weights: readonly number[];
  /** Component variances per axis, in units of the half-light radius squared. */
  variances: readonly number[];
}

/** Exponential (n = 1), K = 6; variances in r_e^2 (already rescaled to an exact half-light radius). */
const EXPONENTIAL: SersicFit = {
  weights: [
    4.113810767458869e-05, 8.659396248002069e-04, 9.898853015203301e-03,
    7.550397272139013e-02, 3.518024112092171e-01, 5.618876853217146e-01,
  ],
  variances: [
    4.3183439163956342e-04, 3.9206701586171153e-03, 2.2943487589536123e-02,
    1.0398742871837971e-01, 4.0452528639717777e-01, 1.4411954503111559e+00,
  ],
};

/** de Vaucouleurs (n = 4), K = 8; variances in r_e^2. */
const DE_VAUCOULEURS: SersicFit = {
  weights: [
    0.00292841771384806, 0.01172912286045542, 0.03588792008709099, 0.0835507626478866,
    0.14924001610180723, 0.20919611322390805, 0.24687479383616415, 0.2605928535288395,
  ],
  variances: [
    1.1055265353684745e-04, 7.2865762614038082e-04, 4.2287549314802258e-03, 2.1747028413353919e-02,
    1.0044119943073611e-01, 4.2552036733667803e-01, 1.7804929416510935e+00, 1.0045403437477360e+01,
  ],
};

const FITS: Record<SersicIndex, SersicFit> = { 1: EXPONENTIAL, 4: DE_VAUCOULEURS };

/** Half-light radius of the fitted mixture in units of the truncated profile's Sersic scale a. */
export const SERSIC_FIT_HALF_LIGHT: Readonly<Record<SersicIndex, number>> = { 1: 0.9817754622102453, 4: 0.8931182929723398 };

/** Soft truncation of the fitted profiles (units of a): T = 1 below inner, 0 beyond outer. */
export const SERSIC_TRUNCATION: Readonly<Record<SersicIndex, { inner: number; outer: number }>> = {
  1: { inner: 3, outer: 4 },
  4: { inner: 7, outer: 8 },
};

/** b_n of the Sersic profile exp(-b_n ((r/a)^(1/n) - 1)): the median of a Gamma(2n) variate. */
export const SERSIC_B: Readonly<Record<SersicIndex, number>> = { 1: 1.6783469900166612, 4: 7.669249442500804 };

/** The fitted components of index n (weights summing to 1, variances in units of r_e^2). */
export function sersicComponents(n: number): { weights: readonly number[]; variances: readonly number[] } {
  const fit = FITS[n as SersicIndex];
  if (!fit) throw new RangeError(`sersicMixture: Sersic index ${n} is not supported (1 or 4)`);
  return fit;
}

/**
 * A normalised Sersic profile (n = 1 or 4) as a Gaussian mixture in pixel moments: half-light radius
 * `halfLightRadiusPx` along the major axis, axis ratio b/a `axisRatio` in (0, 1], major axis at
 * `positionAngleRad` from +x towards +y.
 */
export function sersicMixture(n: number, halfLightRadiusPx: number, axisRatio: number, positionAngleRad: number): GaussianMixture {
  const fit = sersicComponents(n);
  if (!(halfLightRadiusPx > 0) || !Number.isFinite(halfLightRadiusPx)) {
    throw new RangeError(`sersicMixture: half-light radius must be a positive number of pixels, got ${halfLightRadiusPx}`);
  }
  if (!(axisRatio > 0 && axisRatio <= 1)) throw new RangeError(`sersicMixture: axis ratio must be in (0, 1], got ${axisRatio}`);
  const c = libm.cos(positionAngleRad), s = libm.sin(positionAngleRad);
  const q2 = axisRatio * axisRatio;
  const r2 = halfLightRadiusPx * halfLightRadiusPx;
  return fit.weights.map((weight, k) => {
    const v = fit.variances[k]! * r2;
    return {
      weight,
      xx: v * (c * c + q2 * s * s),
      yy: v * (s * s + q2 * c * c),
      xy: v * (1 - q2) * s * c,
    };
  });
}
