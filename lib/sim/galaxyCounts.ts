/**
 * Galaxies of the simulated sky: differential number counts in r, and each galaxy's morphology, size,
 * shape and colours as functions of its r magnitude (AB). Every relation is a simple stated model:
 *
 * Counts (galaxies deg^-2 mag^-1), log10 n at r = 14, 15, ..., 27:
 *   -0.25, 0.35, 0.95, 1.50, 2.02, 2.50, 2.95, 3.33, 3.67, 3.98, 4.26, 4.50, 4.72, 4.92,
 * log-linear between (NumberCounts): the Euclidean slope 0.6 at r < 16 (Yasuda et al. 2001, AJ 122,
 * 1104), 0.45-0.5 at r ~ 18-20, ~0.3 at r ~ 22-24 and ~0.2 at r ~ 26, the shape of deep r/i counts
 * (e.g. HSC-SSP, Aihara et al. 2018, PASJ 70, S8). Integrated over 16 <= r < 25.5: 6.8e4 deg^-2; to 26: 9.1e4.
 * Morphology: a fraction f_bulge(r) = clamp(0.45 - 0.035 (r - 16), 0.12, 0.45) are bulge-dominated
 * (de Vaucouleurs, n = 4), the rest disks (exponential, n = 1).
 * Size (half-light radius along the major axis, arcsec): log-normal about the median
 * R_disk(r) = 0.9" x 10^(-0.10 (r - 20)) for disks and 0.6 R_disk(r) for bulges, scatter 0.20 dex,
 * clipped to [0.05", 10"] (about Shen et al. 2003, MNRAS 343, 978 at r ~ 17 and HST/HSC sizes of
 * r ~ 24-25 galaxies, ~0.3").
 * Shape: disks are thick oblate disks (intrinsic axis ratio 0.2) at random inclination,
 * q = sqrt(cos^2 i + 0.04 sin^2 i) with cos i uniform; bulges q ~ N(0.75, 0.15) clipped to [0.35, 1].
 * Position angle uniform in [0, 180) deg east of north.
 * Colours: bulges (red sequence, redder when fainter, i.e. further):
 *   g-r = clamp(0.95 + 0.20 (r - 18), 0.90, 1.75) + N(0, 0.06), r-i = clamp(0.40 + 0.10 (r - 18), 0.35, 0.95) + N(0, 0.05);
 * disks (blue cloud): g-r = clamp(0.55 - 0.03 (r - 20) + N(0, 0.15), 0.0, 1.2), r-i = clamp(0.30 + N(0, 0.10), -0.1, 0.9).
 * Large bright galaxies (the sky catalogue's extras): r uniform in [14, 17], half-light radius
 * log-uniform in [5", 20"], n = 1 or 4 with equal probability, shape and colours as above.
 */
import { NumberCounts } from './numberCounts.js';
import type { Random } from './random.js';
import { libm } from '../math/libm.js';

export const GALAXY_COUNT_NODES: Readonly<{ mags: readonly number[]; log10Density: readonly number[] }> = {
  mags: [14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27],
  log10Density: [-0.25, 0.35, 0.95, 1.50, 2.02, 2.50, 2.95, 3.33, 3.67, 3.98, 4.26, 4.50, 4.72, 4.92],
};

export const GALAXY_MODEL = {
  bulgeFraction: { atR16: 0.45, perMag: -0.035, min: 0.12, max: 0.45 },
  size: { diskMedianAtR20: 0.9, perMag: -0.10, bulgeToDisk: 0.6, scatterDex: 0.20, min: 0.05, max: 10 },
  diskThickness: 0.2,
  bulgeAxisRatio: { mean: 0.75, sigma: 0.15, min: 0.35, max: 1 },
  largeGalaxies: { magRange: [14, 17] as const, radiusRange: [5, 20] as const },
} as const;

let countsTable: NumberCounts | undefined;

/** The galaxy counts in r (deg^-2 mag^-1) the sky catalogue draws from. */
export function galaxyCounts(): NumberCounts {
  countsTable ??= new NumberCounts(GALAXY_COUNT_NODES.mags, GALAXY_COUNT_NODES.log10Density);
  return countsTable;
}

/** Fraction of galaxies of magnitude r that are bulge-dominated (n = 4). */
export function bulgeFraction(r: number): number {
  const f = GALAXY_MODEL.bulgeFraction;
  return Math.min(Math.max(f.atR16 + f.perMag * (r - 16), f.min), f.max);
}

/** Median half-light radius (arcsec, major axis) of disks (n = 1) or bulges (n = 4) of magnitude r. */
export function medianHalfLightRadius(r: number, sersic: 1 | 4): number {
  const s = GALAXY_MODEL.size;
  const disk = s.diskMedianAtR20 * libm.pow(10, s.perMag * (r - 20));
  return sersic === 1 ? disk : s.bulgeToDisk * disk;
}

export interface GalaxyProperties {
  sersic: 1 | 4;
  /** Arcsec, along the major axis. */
  halfLightRadius: number;
  axisRatio: number;
  /** Degrees east of north, [0, 180). */
  positionAngle: number;
  gr: number;
  ri: number;
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(Math.max(x, lo), hi);

function drawAxisRatio(rng: Random, sersic: 1 | 4): number {
  if (sersic === 1) {
    const cosI = rng.uniform();
    const t = GALAXY_MODEL.diskThickness;
    return Math.sqrt(cosI * cosI + t * t * (1 - cosI * cosI));
  }
  const b = GALAXY_MODEL.bulgeAxisRatio;
  return clamp(b.mean + b.sigma * rng.normal(), b.min, b.max);
}

/** Draws g-r and r-i into the properties (red sequence for bulges, blue cloud for disks). */
function drawColours(rng: Random, r: number, p: GalaxyProperties): void {
  if (p.sersic === 4) {
    p.gr = clamp(0.95 + 0.20 * (r - 18), 0.90, 1.75) + 0.06 * rng.normal();
    p.ri = clamp(0.40 + 0.10 * (r - 18), 0.35, 0.95) + 0.05 * rng.normal();
  } else {
    p.gr = clamp(0.55 - 0.03 * (r - 20) + 0.15 * rng.normal(), 0.0, 1.2);
    p.ri = clamp(0.30 + 0.10 * rng.normal(), -0.1, 0.9);
  }
}

/** Draws the morphology, size, shape and colours of a galaxy of magnitude r. */
export function drawGalaxyProperties(rng: Random, r: number): GalaxyProperties {
  const sersic: 1 | 4 = rng.uniform() < bulgeFraction(r) ? 4 : 1;
  const s = GALAXY_MODEL.size;
  const halfLightRadius = clamp(medianHalfLightRadius(r, sersic) * libm.pow(10, s.scatterDex * rng.normal()), s.min, s.max);
  const axisRatio = drawAxisRatio(rng, sersic);
  const positionAngle = 180 * rng.uniform();
  const p: GalaxyProperties = { sersic, halfLightRadius, axisRatio, positionAngle, gr: 0, ri: 0 };
  drawColours(rng, r, p);
  return p;
}

/** Draws a large bright galaxy: its r magnitude and properties (radius 5-20", r 14-17). */
export function drawLargeGalaxy(rng: Random): { r: number } & GalaxyProperties {
  const { magRange, radiusRange } = GALAXY_MODEL.largeGalaxies;
  const r = rng.range(magRange[0], magRange[1]);
  const sersic: 1 | 4 = rng.uniform() < 0.5 ? 1 : 4;
  const halfLightRadius = radiusRange[0] * libm.pow(radiusRange[1] / radiusRange[0], rng.uniform());
  const axisRatio = drawAxisRatio(rng, sersic);
  const positionAngle = 180 * rng.uniform();
  const p = { r, sersic, halfLightRadius, axisRatio, positionAngle, gr: 0, ri: 0 };
  drawColours(rng, r, p);
  return p;
}
