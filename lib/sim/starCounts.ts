/**
 * Differential star counts in r (stars per deg^2 per mag, AB) as a function of galactic latitude b:
 * a two-component Bahcall & Soneira (1980, ApJS 44, 73)-like model, a disk (thin + thick) and a halo,
 * each a double power law in flux,
 *   n_c(r) = A_c / (10^(-s1_c (r - m_c)) + 10^(-s2_c (r - m_c)))   (slope s1 bright, s2 faint),
 *   n(r, b) = n_disk(r) / sin(max(|b|, 5 deg)) + n_halo(r) (1 + cos^2 b),
 * disk: A = 280, m = 19.0, s1 = 0.30, s2 = 0.03; halo: A = 500, m = 21.5, s1 = 0.25, s2 = 0.05.
 * The disk term is a plane-parallel slab seen through 1/sin b of column (capped at 2 deg; the model has
 * no extinction, so at low latitude it stands for a window of low extinction); the halo term doubles
 * towards the plane. The
 * parameters were chosen by hand to resemble the shape of published high-latitude counts (Bahcall &
 * Soneira 1980; SDSS, Juric et al. 2008, ApJ 673, 864): ~1e3 stars deg^-2 to r = 21 near the pole,
 * slopes d log n / dm ~ 0.25 at r ~ 16 flattening to ~0.1 beyond r ~ 21, galaxies outnumbering stars
 * from r ~ 20; they are not a fit. At the galactic pole the model gives 15, 50, 147, 336, 593, 885, 1194 stars deg^-2 mag^-1 at
 * r = 14, 16, ..., 26 and 1105 deg^-2 with 14 <= r < 21; at b = 25 deg, 32, 108, 317, 718, 1243, 1819,
 * 2419 and 2368.
 *
 * `starCounts(b)` tabulates n(r, b) on 0.05-mag nodes from r = 10 to 26 as a NumberCounts (log-linear
 * between nodes: within 3e-5 of the formula); that table is the model the sky catalogue draws from.
 *
 * Bright stars per detector (DESIGN.md "bright star": unsaturated, 100 <= S/N <= 1000, isolated): for an
 * 8.2-m telescope (effective area ~50 m^2 x 0.4 throughput) in r the zero point is ~28.4 mag for
 * 1 e-/s, 32.1 mag for 1 e- in 30 s; S/N = 1000 needs ~1e6 e- (source-limited) -> r ~ 17.1; a 0.7"
 * seeing star (FWHM 4.2 px, peak fraction ~0.05) saturates 150 ke- at ~3e6 e- -> r ~ 15.9; sky-limited
 * 5 sigma in 30 s ~ 25.0, so S/N = 100 at r ~ 21.7. The bright-star band is therefore
 * BRIGHT_STAR_MAG_RANGE = [17.5, 22] (isolation removes ~1-2 %: 3 FWHM is ~1e-6 deg^2 around each).
 * expectedStarsPerDeg2(b) in that band: 1454 (b = 90), 3094 (25), 3591 (20), 4393 (15), 5970 (10),
 * 10669 (5) deg^-2. A 1024x2048-px detector at 0.168"/px is only 0.00457 deg^2: 20 bright stars
 * expected at 15 deg, 49 at 5 deg, 77 at 3 deg. DEFAULT_GALACTIC_LATITUDE = 3 deg, a low-latitude
 * field, is what gives every 1024x2048 detector at least 50 bright stars (77 expected in [17.5, 22];
 * P(N >= 50) > 0.999; about 1.2e5 objects deg^-2 with the galaxies, so isolation costs ~1 %).
 */
import { NumberCounts } from './numberCounts.js';
import { libm } from '../math/libm.js';

export interface DoublePowerLaw { amplitude: number; breakMag: number; brightSlope: number; faintSlope: number }

export const STAR_COUNT_MODEL = {
  disk: { amplitude: 280, breakMag: 19.0, brightSlope: 0.30, faintSlope: 0.03 } as DoublePowerLaw,
  halo: { amplitude: 500, breakMag: 21.5, brightSlope: 0.25, faintSlope: 0.05 } as DoublePowerLaw,
  /** The disk term's 1/sin b is capped at this latitude (deg). */
  minimumLatitude: 2,
  /** Range of the tabulated counts (r, AB). */
  magRange: [10, 26] as const,
  nodeStep: 0.05,
} as const;

export const DEFAULT_GALACTIC_LATITUDE = 3;
export const BRIGHT_STAR_MAG_RANGE: readonly [number, number] = [17.5, 22];

function doublePowerLaw(c: DoublePowerLaw, m: number): number {
  return c.amplitude / (libm.pow(10, -c.brightSlope * (m - c.breakMag)) + libm.pow(10, -c.faintSlope * (m - c.breakMag)));
}

function checkLatitude(b: number): number {
  if (!(Math.abs(b) <= 90)) throw new RangeError(`star counts: galactic latitude must be within [-90, 90] deg, got ${b}`);
  return b;
}

/** Disk and halo latitude factors at latitude b (deg). */
export function latitudeFactors(b: number): { disk: number; halo: number } {
  const rad = (Math.max(Math.abs(checkLatitude(b)), STAR_COUNT_MODEL.minimumLatitude) * Math.PI) / 180;
  const c = libm.cos((b * Math.PI) / 180);
  return { disk: 1 / libm.sin(rad), halo: 1 + c * c };
}

/** The model's differential counts (stars deg^-2 mag^-1) at r and latitude b (deg), from the formula. */
export function starDifferentialCounts(r: number, b: number): number {
  const f = latitudeFactors(b);
  return doublePowerLaw(STAR_COUNT_MODEL.disk, r) * f.disk + doublePowerLaw(STAR_COUNT_MODEL.halo, r) * f.halo;
}

/** The tabulated counts at latitude b (deg) the sky catalogue draws from. */
export function starCounts(b: number): NumberCounts {
  const [m0, m1] = STAR_COUNT_MODEL.magRange;
  const n = Math.round((m1 - m0) / STAR_COUNT_MODEL.nodeStep);
  const mags = Array.from({ length: n + 1 }, (_, k) => m0 + k * STAR_COUNT_MODEL.nodeStep);
  return new NumberCounts(mags, mags.map((m) => libm.log10(starDifferentialCounts(m, b))));
}

/** Expected stars per deg^2 with rMin <= r < rMax at latitude b (default: the bright-star band). */
export function expectedStarsPerDeg2(b: number, rMin = BRIGHT_STAR_MAG_RANGE[0], rMax = BRIGHT_STAR_MAG_RANGE[1]): number {
  return starCounts(b).integral(rMin, rMax);
}

/**
 * The galactic latitude (deg, 5 to 90) at which the model has `density` stars per deg^2 with
 * rMin <= r < rMax; throws when even 5 deg has fewer. The density falls monotonically with |b|.
 */
export function latitudeForStarDensity(density: number, rMin = BRIGHT_STAR_MAG_RANGE[0], rMax = BRIGHT_STAR_MAG_RANGE[1]): number {
  const at = (b: number): number => expectedStarsPerDeg2(b, rMin, rMax);
  if (at(90) >= density) return 90;
  let lo: number = STAR_COUNT_MODEL.minimumLatitude, hi = 90;
  if (at(lo) < density) throw new RangeError(`latitudeForStarDensity: ${density} stars/deg^2 in r ${rMin}-${rMax} is beyond the model (${at(lo).toFixed(0)} at ${lo} deg)`);
  for (let i = 0; i < 60; i++) {
    const mid = 0.5 * (lo + hi);
    if (at(mid) >= density) lo = mid; else hi = mid;
  }
  return 0.5 * (lo + hi);
}
