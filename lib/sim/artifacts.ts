/**
 * Image artifacts of one exposure, as geometry and charge (electrons), recorded in the truth:
 * - Cosmic rays (Groom 2004; LSST's DMTN on CR rates): muon tracks through a deep-depletion CCD,
 *   200 um thick with 15 um pixels, depositing 80 e-/um of path (a minimum-ionising particle), with
 *   isotropic-from-above zenith angles (cos^2) so their projected lengths run from a point to tens of
 *   pixels; and "worms" (low-energy electrons scattering in the silicon: a random walk of 5-40 steps,
 *   300-3000 e- per step). Rate: `crRatePerCm2PerMin` (default 2.5 cm^-2 min^-1, muons plus the
 *   dewar window's radioactivity), 70 % tracks, 30 % worms.
 * - Satellite trails: a straight line across the whole focal plane in a random direction, with a
 *   Gaussian cross profile of FWHM 1.5-3" (a LEO satellite defocused by an 8-m aperture is ~3" wide)
 *   and a surface brightness such that the peak is 0.5-20 times the sky noise per pixel (faint
 *   Starlink-like to bright), i.e. flux per unit length in e- per pixel.
 * - Optical ghosts: for each star brighter than `ghostMagLimit` (default 14), an out-of-focus pupil
 *   image (an annulus with a 30 % central obscuration and soft edges, radius 20") at 0.85 times the
 *   star's focal-plane radius on the same side of the optical axis, carrying 2e-3 of the star's flux.
 */
import { Random } from './random.js';
import { libm } from '../math/libm.js';

export interface CosmicRayTrack {
  kind: 'track';
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Electrons deposited per pixel of projected length. */
  electronsPerPixel: number;
}

export interface CosmicRayWorm {
  kind: 'worm';
  /** Pixels hit (x, y integers) and the electrons deposited in each, in order. */
  pixels: { x: number; y: number; electrons: number }[];
}

export type CosmicRay = CosmicRayTrack | CosmicRayWorm;

export interface SatelliteTrail {
  /** End points in focal-plane pixels (crossing the whole focal plane). */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Gaussian cross-profile sigma, pixels. */
  sigma: number;
  /** Electrons per pixel of length (the line integral across the trail). */
  electronsPerPixel: number;
}

export interface Ghost {
  /** Id of the star that casts it. */
  starId: number;
  /** Centre in focal-plane pixels. */
  x: number;
  y: number;
  /** Outer radius in pixels. */
  radius: number;
  /** Total electrons in the ghost. */
  electrons: number;
}

export const CCD_THICKNESS_UM = 200;
export const PIXEL_SIZE_UM = 15;
export const MIP_ELECTRONS_PER_UM = 80;
export const CHARGE_DIFFUSION_SIGMA_PX = 0.45;
export const GHOST_FLUX_FRACTION = 2e-3;
export const GHOST_RADIUS_ARCSEC = 20;
export const GHOST_RADIAL_SCALE = 0.85;
export const GHOST_OBSCURATION = 0.3;
export const GHOST_EDGE_WIDTH = 0.1;
/** The simulated camera's ghost, as its description states it (lib/sim/camera.ts GhostModel). */
export const SIMULATED_GHOST = Object.freeze({
  radialScale: GHOST_RADIAL_SCALE, radiusArcsec: GHOST_RADIUS_ARCSEC, obscuration: GHOST_OBSCURATION, fluxFraction: GHOST_FLUX_FRACTION, edgeWidth: GHOST_EDGE_WIDTH,
});

/** Cosmic rays hitting one detector of `width` x `height` pixels during `exposureTime` seconds. */
export function cosmicRays(rng: Random, width: number, height: number, exposureTime: number, ratePerCm2PerMin = 2.5): CosmicRay[] {
  const areaCm2 = (width * PIXEL_SIZE_UM * 1e-4) * (height * PIXEL_SIZE_UM * 1e-4);
  const n = rng.poisson(ratePerCm2PerMin * areaCm2 * (exposureTime / 60));
  const rays: CosmicRay[] = [];
  for (let k = 0; k < n; k++) {
    const x = rng.range(0, width);
    const y = rng.range(0, height);
    if (rng.uniform() < 0.7) {
      // Zenith angle with a cos^2 distribution (sampled by rejection), capped at 80 deg.
      let theta = 0;
      for (;;) {
        theta = rng.range(0, (80 * Math.PI) / 180);
        if (rng.uniform() < libm.cos(theta) ** 2 * libm.sin(theta) * 2.6) break;
      }
      const phi = rng.range(0, 2 * Math.PI);
      const length = (CCD_THICKNESS_UM * libm.tan(theta)) / PIXEL_SIZE_UM;
      const path = CCD_THICKNESS_UM / libm.cos(theta);
      const total = MIP_ELECTRONS_PER_UM * path * rng.range(0.8, 1.6); // Landau-like spread
      const len = Math.max(length, 1);
      rays.push({
        kind: 'track',
        x0: x, y0: y,
        x1: x + length * libm.cos(phi), y1: y + length * libm.sin(phi),
        electronsPerPixel: total / len,
      });
    } else {
      const steps = 5 + rng.int(36);
      const pixels: CosmicRayWorm['pixels'] = [];
      let px = Math.floor(x);
      let py = Math.floor(y);
      for (let s = 0; s < steps; s++) {
        pixels.push({ x: px, y: py, electrons: rng.range(300, 3000) });
        const dir = rng.int(8);
        px += [1, 1, 0, -1, -1, -1, 0, 1][dir]!;
        py += [0, 1, 1, 1, 0, -1, -1, -1][dir]!;
      }
      rays.push({ kind: 'worm', pixels });
    }
  }
  return rays;
}

/**
 * A satellite trail across a focal plane of half-size `halfWidth` x `halfHeight` pixels (centred on
 * the optical axis), for a visit whose sky noise per pixel is `skySigma` electrons.
 */
export function satelliteTrail(rng: Random, halfWidth: number, halfHeight: number, pixelScale: number, skySigma: number): SatelliteTrail {
  const angle = rng.range(0, Math.PI);
  // A line through a random point of the focal plane, extended far beyond both ends.
  const cx = rng.range(-halfWidth, halfWidth);
  const cy = rng.range(-halfHeight, halfHeight);
  const reach = 4 * Math.hypot(halfWidth, halfHeight);
  const fwhmArcsec = rng.range(1.5, 3);
  const sigma = fwhmArcsec / pixelScale / 2.3548;
  const peakInSigmas = libm.exp(rng.range(libm.log(0.5), libm.log(20)));
  const peak = peakInSigmas * skySigma;
  return {
    x0: cx - reach * libm.cos(angle), y0: cy - reach * libm.sin(angle),
    x1: cx + reach * libm.cos(angle), y1: cy + reach * libm.sin(angle),
    sigma,
    electronsPerPixel: peak * sigma * Math.sqrt(2 * Math.PI),
  };
}

/** The ghost a bright star at focal-plane (x, y) with `electrons` casts. */
export function ghostOf(starId: number, x: number, y: number, electrons: number, pixelScale: number): Ghost {
  return {
    starId,
    x: GHOST_RADIAL_SCALE * x,
    y: GHOST_RADIAL_SCALE * y,
    radius: GHOST_RADIUS_ARCSEC / pixelScale,
    electrons: GHOST_FLUX_FRACTION * electrons,
  };
}

/**
 * The ghost's surface brightness (e- per pixel) at distance r from its centre: a flat annulus between
 * GHOST_OBSCURATION x radius and radius, with edges softened over 10 % of the radius (a smooth step),
 * normalised so that it integrates to `ghost.electrons`.
 */
export function ghostProfile(ghost: Ghost): (r: number) => number {
  const outer = ghost.radius;
  const inner = GHOST_OBSCURATION * outer;
  const soft = GHOST_EDGE_WIDTH * outer;
  const step = (t: number): number => (t <= 0 ? 0 : t >= 1 ? 1 : t * t * (3 - 2 * t));
  const shape = (r: number): number => step((r - inner + soft / 2) / soft) * (1 - step((r - outer + soft / 2) / soft));
  // Normalise numerically (1-D integral over 2 pi r dr, 2000 steps: relative error < 1e-6).
  let integral = 0;
  const n = 2000;
  const rMax = outer + soft;
  for (let k = 0; k < n; k++) {
    const r = ((k + 0.5) / n) * rMax;
    integral += shape(r) * 2 * Math.PI * r * (rMax / n);
  }
  const scale = ghost.electrons / integral;
  return (r: number) => scale * shape(r);
}

/** Renders a ghost into an f32 plane of detector pixels; `toDetector` maps focal-plane to detector pixels. Returns the electrons added. */
export function renderGhost(plane: Float32Array, width: number, height: number, ghost: Ghost, toDetector: (fx: number, fy: number) => [number, number]): number {
  const [cx, cy] = toDetector(ghost.x, ghost.y);
  const profile = ghostProfile(ghost);
  const reach = ghost.radius * 1.1;
  const x0 = Math.max(0, Math.floor(cx - reach));
  const x1 = Math.min(width - 1, Math.ceil(cx + reach));
  const y0 = Math.max(0, Math.floor(cy - reach));
  const y1 = Math.min(height - 1, Math.ceil(cy + reach));
  let added = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const v = profile(Math.hypot(x - cx, y - cy));
      if (v > 0) {
        plane[y * width + x]! += v;
        added += v;
      }
    }
  }
  return added;
}

/** Deposits a worm's charge into an f32 plane (pixels off the detector are skipped). */
export function depositWorm(plane: Float32Array, width: number, height: number, worm: CosmicRayWorm): void {
  for (const p of worm.pixels) {
    if (p.x >= 0 && p.x < width && p.y >= 0 && p.y < height) plane[p.y * width + p.x]! += p.electrons;
  }
}
