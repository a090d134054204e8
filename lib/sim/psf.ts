/**
 * The PSF field of one exposure (lib/sim/types.ts PsfField): a normalised Gaussian mixture in pixel
 * moments at every detector position, including the pixel response.
 *
 * Profile: long-exposure atmospheric seeing with a Kolmogorov phase structure function, OTF(f) =
 * exp(-3.44 (lambda f / r0)^(5/3)) (Fried 1966; Racine 1996, PASP 108, 699 shows observed stellar
 * profiles are this or Moffat-like with beta ~ 3-4.8, and Trujillo et al. 2001, MNRAS 328, 977 that
 * Kolmogorov ~ Moffat beta = 4.765). Its radial profile (Hankel transform of the OTF) was fitted offline
 * (scipy least squares, 60 restarts, over r <= 5 FWHM, weights summing to 1) by four concentric
 * Gaussians; KOLMOGOROV_MIXTURE gives their weights and sigmas in units of the Kolmogorov FWHM. Fit
 * residuals: |dI| <= 0.072 % of the peak at all radii; the curve of growth within 0.031 % of the total
 * flux for r <= 5 FWHM; flux beyond 5 FWHM 0.61 % (Kolmogorov 0.64 %), beyond 8 FWHM 0.09 % (0.29 %:
 * the far r^(-11/3) wings are the only part not represented). The mixture's FWHM is 1.0012 Kolmogorov
 * FWHM; it does not matter, because the scale is calibrated numerically (below).
 *
 * Definition of the seeing: `fwhmArcsec` is the FWHM (mixtureFwhm: 2 sqrt(area inside the half-maximum
 * contour / pi)) of the PSF INCLUDING the pixel response at the focal-plane centre, i.e. of the image of
 * a star there. Pixel response: + 1/12 px^2 on xx and yy of every component (a box pixel's variance).
 *
 * Variation over the focal plane, with (u, v) = focal-plane position / fieldRadius and rho^2 = u^2 + v^2:
 *   size factor  f(u, v) = 1 + sizeQuadratic rho^2 + sizeTilt[0] u + sizeTilt[1] v   (scales the optical
 *                sigmas; the measured FWHM including the pixel varies slightly less);
 *   ellipticity  e1 + i e2 = ellipticityConstant + ellipticityRadial (u + i v)^2, e = (a^2 - b^2) / (a^2 + b^2)
 *                of the optical moments (radial elongation growing as rho^2, the pattern of a wide-field
 *                corrector), applied by an area-preserving shear.
 * Defaults: fieldRadius 16000 focal-plane pixels (HSC's 0.75 deg at 0.168"/px; give the mosaic's own
 * radius to make the pattern span it), sizeQuadratic 0.06, sizeTilt [0.02, -0.015], ellipticityRadial
 * 0.035, ellipticityConstant [0.008, -0.006]. Bounds for rho <= 1 (psfPatternBounds): size factor in
 * [0.9974, 1.085] (optical FWHM -0.3 % to +8.5 % of the centre's), |e| <= 0.045. Outside rho = 1 the
 * polynomials continue.
 * The focal-plane map is the caller's: any unit, as long as fieldRadius uses the same one.
 */
import type { GaussianMixture, PsfField } from './types.js';
import { mixtureFwhm, shearMixture } from './gaussianMixture.js';
import { libm } from '../math/libm.js';

/** The Kolmogorov fit: weights (sum 1) and sigmas in units of the Kolmogorov FWHM. */
export const KOLMOGOROV_MIXTURE: Readonly<{ weights: readonly number[]; sigmas: readonly number[] }> = {
  weights: [0.5126903694318367, 0.3798632601952298, 0.0866442179952309, 0.02080215237770253],
  sigmas: [0.3856552252459368, 0.5680579863739854, 1.113470603292298, 3.1969619430784144],
};

/** Variance of a uniform box pixel, added to xx and yy of every component. */
export const PIXEL_RESPONSE_VARIANCE = 1 / 12;

export interface PsfPattern {
  /** Focal-plane radius (units of the focal-plane map) at which rho = 1. */
  fieldRadius: number;
  /** Fractional change of the optical size at rho = 1 from the rho^2 term. */
  sizeQuadratic: number;
  /** Fractional change of the optical size per unit u and v. */
  sizeTilt: [number, number];
  /** |e| at rho = 1 of the radial pattern e1 + i e2 = ellipticityRadial (u + i v)^2. */
  ellipticityRadial: number;
  /** Ellipticity (e1, e2) common to the whole field. */
  ellipticityConstant: [number, number];
}

export const DEFAULT_PSF_PATTERN: Readonly<PsfPattern> = {
  fieldRadius: 16000,
  sizeQuadratic: 0.06,
  sizeTilt: [0.02, -0.015],
  ellipticityRadial: 0.035,
  ellipticityConstant: [0.008, -0.006],
};

export interface PsfFieldParams {
  /** FWHM (arcsec) of the pixel-convolved PSF at the focal-plane centre. */
  fwhmArcsec: number;
  /** Arcsec per pixel. */
  pixelScale: number;
  /** Detector pixel (0-based) to focal-plane position, in the unit of pattern.fieldRadius. */
  focalPlane: (x: number, y: number) => [number, number];
  pattern?: Partial<PsfPattern>;
}

/** A PsfField that also states how it was made. */
export interface KolmogorovPsfField extends PsfField {
  readonly fwhmArcsec: number;
  readonly pixelScale: number;
  readonly pattern: Readonly<PsfPattern>;
  /** Kolmogorov FWHM (pixels) of the optical part at the centre, before the size factor and the pixel. */
  readonly opticalFwhmPx: number;
  /** Size factor f(u, v) at a detector pixel. */
  sizeFactorAt(x: number, y: number): number;
  /** Optical ellipticity (e1, e2) at a detector pixel (before the pixel response). */
  ellipticityAt(x: number, y: number): [number, number];
}

/** Size-factor range and largest |e| of a pattern over rho <= 1. */
export function psfPatternBounds(pattern: PsfPattern): { sizeFactorMin: number; sizeFactorMax: number; ellipticityMax: number } {
  const tilt = Math.hypot(pattern.sizeTilt[0], pattern.sizeTilt[1]);
  // f = 1 + q rho^2 + t rho cos(phi): extremes over the disk, on the tilt direction.
  let lo = Infinity, hi = -Infinity;
  for (let k = -1000; k <= 1000; k++) {
    const s = k / 1000; // signed position along the tilt direction
    const f = 1 + pattern.sizeQuadratic * s * s + tilt * s;
    lo = Math.min(lo, f);
    hi = Math.max(hi, f);
  }
  const ellipticityMax = Math.hypot(pattern.ellipticityConstant[0], pattern.ellipticityConstant[1]) + Math.abs(pattern.ellipticityRadial);
  return { sizeFactorMin: lo, sizeFactorMax: hi, ellipticityMax };
}

function resolvePattern(partial: Partial<PsfPattern> | undefined): PsfPattern {
  const p: PsfPattern = {
    fieldRadius: partial?.fieldRadius ?? DEFAULT_PSF_PATTERN.fieldRadius,
    sizeQuadratic: partial?.sizeQuadratic ?? DEFAULT_PSF_PATTERN.sizeQuadratic,
    sizeTilt: [...(partial?.sizeTilt ?? DEFAULT_PSF_PATTERN.sizeTilt)] as [number, number],
    ellipticityRadial: partial?.ellipticityRadial ?? DEFAULT_PSF_PATTERN.ellipticityRadial,
    ellipticityConstant: [...(partial?.ellipticityConstant ?? DEFAULT_PSF_PATTERN.ellipticityConstant)] as [number, number],
  };
  if (!(p.fieldRadius > 0)) throw new RangeError(`makePsfField: pattern.fieldRadius must be positive, got ${p.fieldRadius}`);
  const b = psfPatternBounds(p);
  if (!(b.sizeFactorMin > 0.2)) throw new RangeError(`makePsfField: the size pattern reaches a factor ${b.sizeFactorMin} inside the field`);
  if (!(b.ellipticityMax < 0.5)) throw new RangeError(`makePsfField: the ellipticity pattern reaches |e| = ${b.ellipticityMax} inside the field`);
  return p;
}

/** The PSF mixture for a Kolmogorov FWHM (pixels), size factor, ellipticity; with the pixel response. */
function psfMixture(opticalFwhmPx: number, sizeFactor: number, e1: number, e2: number): GaussianMixture {
  const scale = opticalFwhmPx * sizeFactor;
  const optical: GaussianMixture = KOLMOGOROV_MIXTURE.weights.map((weight, k) => {
    const s = KOLMOGOROV_MIXTURE.sigmas[k]! * scale;
    return { weight, xx: s * s, yy: s * s, xy: 0 };
  });
  return shearMixture(optical, e1, e2).map((c) => ({
    weight: c.weight, xx: c.xx + PIXEL_RESPONSE_VARIANCE, yy: c.yy + PIXEL_RESPONSE_VARIANCE, xy: c.xy,
  }));
}

/**
 * The PSF field of one exposure: Kolmogorov profile as KOLMOGOROV_MIXTURE, scaled so that the
 * pixel-convolved PSF at the focal-plane centre has FWHM `fwhmArcsec`, varying over the focal plane
 * as `pattern` says.
 */
export function makePsfField(params: PsfFieldParams): KolmogorovPsfField {
  const { fwhmArcsec, pixelScale, focalPlane } = params;
  if (!(fwhmArcsec > 0) || !Number.isFinite(fwhmArcsec)) throw new RangeError(`makePsfField: fwhmArcsec must be positive, got ${fwhmArcsec}`);
  if (!(pixelScale > 0) || !Number.isFinite(pixelScale)) throw new RangeError(`makePsfField: pixelScale must be positive, got ${pixelScale}`);
  const pattern = resolvePattern(params.pattern);
  const targetPx = fwhmArcsec / pixelScale;
  const [c1, c2] = pattern.ellipticityConstant;
  // The FWHM of the pixel response alone is a lower bound: a PSF cannot be narrower.
  const pixelOnly = mixtureFwhm([{ weight: 1, xx: PIXEL_RESPONSE_VARIANCE, yy: PIXEL_RESPONSE_VARIANCE, xy: 0 }]);
  if (!(targetPx > pixelOnly * 1.01)) {
    throw new RangeError(`makePsfField: FWHM ${fwhmArcsec}" (${targetPx.toFixed(3)} px) is not resolvable above the pixel response (${pixelOnly.toFixed(3)} px)`);
  }
  // Calibrate the optical FWHM so that the centre's measured FWHM is the target (monotone; bisection in log).
  let lo = libm.log(1e-3 * targetPx), hi = libm.log(targetPx * 1.5);
  for (let i = 0; i < 80; i++) {
    const mid = 0.5 * (lo + hi);
    if (mixtureFwhm(psfMixture(libm.exp(mid), 1, c1, c2)) < targetPx) lo = mid; else hi = mid;
  }
  const opticalFwhmPx = libm.exp(0.5 * (lo + hi));

  const local = (x: number, y: number): { f: number; e1: number; e2: number } => {
    const [fx, fy] = focalPlane(x, y);
    const u = fx / pattern.fieldRadius, v = fy / pattern.fieldRadius;
    const rho2 = u * u + v * v;
    const f = 1 + pattern.sizeQuadratic * rho2 + pattern.sizeTilt[0] * u + pattern.sizeTilt[1] * v;
    const e1 = c1 + pattern.ellipticityRadial * (u * u - v * v);
    const e2 = c2 + pattern.ellipticityRadial * 2 * u * v;
    if (!(f > 0) || !(Math.hypot(e1, e2) < 1)) {
      throw new RangeError(`PSF field at pixel (${x}, ${y}), focal plane (${fx}, ${fy}): size factor ${f}, |e| ${Math.hypot(e1, e2)} are outside the pattern's domain`);
    }
    return { f, e1, e2 };
  };
  const at = (x: number, y: number): GaussianMixture => {
    const { f, e1, e2 } = local(x, y);
    return psfMixture(opticalFwhmPx, f, e1, e2);
  };
  return {
    fwhmArcsec, pixelScale, pattern, opticalFwhmPx,
    at,
    fwhmAt: (x, y) => mixtureFwhm(at(x, y)),
    sizeFactorAt: (x, y) => local(x, y).f,
    ellipticityAt: (x, y) => { const l = local(x, y); return [l.e1, l.e2]; },
  };
}
