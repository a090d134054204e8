/**
 * The observing log of the simulated survey: one visit per (band, repeat), each with its commanded
 * and true pointing, rotation, exposure time, date, seeing, transparency, sky brightness with a
 * gradient, and whether a satellite crossed it. Values follow Subaru/HSC conditions:
 * - zero points (AB mag giving 1 e-/s at airmass 1, clear sky): g 28.6, r 28.6, i 28.3;
 *   transparency 0.80-1.00 multiplies the flux;
 * - dark-sky brightness (mag/arcsec^2): g 22.0, r 21.1, i 20.3, times 1.0-1.4 per visit, with a
 *   linear gradient of up to 4 % across the focal plane in a random direction;
 * - seeing FWHM 0.5-1.0" (uniform), the PSF's size at the focal-plane centre;
 * - dithers: uniform within +/- `ditherArcsec` in RA and Dec, rotation within +/- `rotationDeg`;
 * - the true pointing misses the commanded one by a 2-D Gaussian of `pointingErrorArcsec` rms per
 *   axis (default 3"), and the true rotation by `rotationErrorDeg` rms (default 0.005 deg); an option
 *   makes these arcminutes and degrees to test astrometric matching;
 * - dates: visits 90 s apart from MJD 60600.40 (2024-10-17 UT, 09:36) in the order written.
 */
import { Random } from './random.js';
import type { Band } from './types.js';
import type { Pointing } from './opticalModel.js';
import { libm } from '../math/libm.js';

export const ZERO_POINT: Record<Band, number> = { g: 28.6, r: 28.6, i: 28.3 };
export const DARK_SKY: Record<Band, number> = { g: 22.0, r: 21.1, i: 20.3 };
export const FIRST_MJD = 60600.4;
export const VISIT_SPACING_DAYS = 90 / 86400;

export interface Visit {
  /** Visit number (unique, ascending). */
  visit: number;
  band: Band;
  /** Commanded pointing: the raw headers' WCS uses it. */
  nominal: Pointing;
  /** Where the telescope really pointed: the truth WCS. */
  truth: Pointing;
  exposureTime: number;
  mjd: number;
  /** PSF FWHM at the focal-plane centre, arcsec. */
  seeing: number;
  /** Fraction of the flux that reaches the telescope (clouds). */
  transparency: number;
  /** Zero point of this visit: AB magnitude giving 1 e- per second, transparency included. */
  zeroPoint: number;
  /** Sky brightness at the focal-plane centre, mag/arcsec^2. */
  skyBrightness: number;
  /** Fractional change of the sky per focal-plane pixel along x and y. */
  skyGradient: [number, number];
  /** A satellite crossed the field during this visit. */
  satelliteTrail: boolean;
}

export interface SurveyPlan {
  seed: number;
  bands: Band[];
  visitsPerBand: number;
  center: { ra: number; dec: number };
  exposureTime: number;
  ditherArcsec: number;
  rotationDeg: number;
  pointingErrorArcsec: number;
  rotationErrorDeg: number;
  /** Fraction of visits crossed by a satellite trail. */
  trailFraction: number;
  /** Focal-plane half-size in pixels (for the sky gradient's scale). */
  focalPlaneRadiusPx: number;
}

/** ISO 8601 UTC date-time (milliseconds) of a modified Julian date. */
export function mjdToIso(mjd: number): string {
  return new Date(Math.round((mjd - 40587) * 86400000)).toISOString();
}

export function planVisits(plan: SurveyPlan): Visit[] {
  const visits: Visit[] = [];
  const cosDec = libm.cos((plan.center.dec * Math.PI) / 180);
  let n = 0;
  for (const band of plan.bands) {
    for (let k = 0; k < plan.visitsPerBand; k++) {
      const visit = 1000 + n;
      const rng = Random.stream(plan.seed, 'visit', visit);
      const dra = rng.range(-plan.ditherArcsec, plan.ditherArcsec) / 3600;
      const ddec = rng.range(-plan.ditherArcsec, plan.ditherArcsec) / 3600;
      const nominal: Pointing = {
        ra: plan.center.ra + dra / cosDec,
        dec: plan.center.dec + ddec,
        rotation: rng.range(-plan.rotationDeg, plan.rotationDeg),
      };
      const ex = (rng.normal() * plan.pointingErrorArcsec) / 3600;
      const ey = (rng.normal() * plan.pointingErrorArcsec) / 3600;
      const truth: Pointing = {
        ra: nominal.ra + ex / libm.cos((nominal.dec * Math.PI) / 180),
        dec: nominal.dec + ey,
        rotation: nominal.rotation + rng.normal() * plan.rotationErrorDeg,
      };
      const seeing = rng.range(0.5, 1.0);
      const transparency = rng.range(0.8, 1.0);
      const skyBrightness = DARK_SKY[band] - 2.5 * libm.log10(rng.range(1.0, 1.4));
      const gradientDirection = rng.range(0, 2 * Math.PI);
      const gradientPerPx = rng.range(0, 0.04) / (2 * plan.focalPlaneRadiusPx);
      visits.push({
        visit,
        band,
        nominal,
        truth,
        exposureTime: plan.exposureTime,
        mjd: FIRST_MJD + n * VISIT_SPACING_DAYS,
        seeing,
        transparency,
        zeroPoint: ZERO_POINT[band] + 2.5 * libm.log10(transparency),
        skyBrightness,
        skyGradient: [gradientPerPx * libm.cos(gradientDirection), gradientPerPx * libm.sin(gradientDirection)],
        satelliteTrail: rng.uniform() < plan.trailFraction,
      });
      n++;
    }
  }
  return visits;
}

/** Electrons collected in `exposureTime` from a source of AB magnitude `mag` in this visit. */
export function magToElectrons(visit: Visit, mag: number): number {
  return visit.exposureTime * libm.pow(10, -0.4 * (mag - visit.zeroPoint));
}

/** Sky electrons per pixel at the focal-plane centre. */
export function skyElectronsPerPixel(visit: Visit, pixelScale: number): number {
  return magToElectrons(visit, visit.skyBrightness) * pixelScale * pixelScale;
}
