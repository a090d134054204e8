/**
 * The shapes the simulator's parts exchange (lib/sim). Conventions, fixed here for all of them:
 * - Pixel coordinates are 0-BASED detector pixel centres of the trimmed, assembled image (x along
 *   NAXIS1), as the WCS module's pixelToSky; FITS headers add 1.
 * - Fluxes in electrons for a given exposure; magnitudes are AB; nJy = 10^((31.4 - m) / 2.5).
 * - Second moments (xx, yy, xy) in pixel^2 for rendering; sky-plane shapes in arcsec.
 * - Angles in degrees; sky positions ICRS degrees.
 */
import { libm } from '../math/libm.js';

export type Band = 'g' | 'r' | 'i';
export const BANDS: readonly Band[] = ['g', 'r', 'i'];

/** One elliptical Gaussian of a mixture: a weight (fraction of the total flux) and its second moments. */
export interface GaussianComponent {
  weight: number;
  xx: number;
  yy: number;
  xy: number;
}

/** A profile as a mixture of Gaussians; weights sum to 1 for a normalised profile. */
export type GaussianMixture = GaussianComponent[];

/** A source ready to render: centre, total flux (e-) and its PSF-convolved profile in pixel moments. */
export interface RenderSource {
  x: number;
  y: number;
  flux: number;
  profile: GaussianMixture;
}

/** An object of the simulated sky (the truth catalogue), independent of any exposure. */
export interface SkyObject {
  id: number;
  ra: number;
  dec: number;
  kind: 'star' | 'galaxy';
  /** AB magnitudes per band (the camera's g, r, i). */
  mag: Record<Band, number>;
  /** Galaxies: Sersic index (1 exponential, 4 de Vaucouleurs), half-light radius along the major axis (arcsec), axis ratio b/a, position angle (deg, east of north). */
  sersic?: number;
  halfLightRadius?: number;
  axisRatio?: number;
  positionAngle?: number;
}

/**
 * The PSF of one exposure as a function of position on a detector: a normalised Gaussian mixture
 * in pixel moments, including the pixel response (a box, approximated by adding 1/12 px^2 to xx and yy).
 */
export interface PsfField {
  at(x: number, y: number): GaussianMixture;
  /** FWHM (pixels) of the profile at (x, y), measured on the mixture. */
  fwhmAt(x: number, y: number): number;
}

/** AB magnitude to flux density in nanojansky. */
export function magToNanojansky(mag: number): number {
  return libm.pow(10, (31.4 - mag) / 2.5);
}
