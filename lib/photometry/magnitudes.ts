/** AB magnitudes of fluxes in nJy (m = 31.4 - 2.5 log10(f / nJy)) and their first-order errors. */
import { libm } from '../math/libm.js';

export const MAG_PER_LN = 2.5 / Math.LN10;
export const AB_NJY = 31.4;

export function abMagnitude(fluxNjy: number): number {
  return AB_NJY - 2.5 * libm.log10(fluxNjy);
}

/** Magnitude error of a flux with this error (first order). */
export function magnitudeError(flux: number, fluxErr: number): number {
  return MAG_PER_LN * Math.abs(fluxErr / flux);
}
