/**
 * The simulated sky over a field: the truth catalogue of stars and galaxies (lib/sim/types.ts
 * SkyObject; ICRS degrees, AB magnitudes in the camera's g, r, i).
 *
 * Populations (r band; models and their references in the modules named):
 *   stars       14 <= r <= magLimit from starCounts(galacticLatitude) (starCounts.ts), colours on the
 *               stellar locus (stellarLocus.ts);
 *   galaxies    16 <= r <= magLimit from galaxyCounts() with morphology, size, shape and colours from
 *               drawGalaxyProperties (galaxyCounts.ts);
 *   bright stars  nBrightStars extra stars with r uniform in [10, 14] (cases where saturation, ghosts
 *               and background subtraction go wrong), locus colours;
 *   large galaxies  nLargeGalaxies extra galaxies, r in [14, 17], half-light radius 5-20" (drawLargeGalaxy).
 * Positions: uniform over the field (no clustering): a spherical cap of `radiusDeg` about the centre, or
 * an RA/Dec box (uniform in RA and sin Dec). The galactic latitude is a parameter (the star counts'),
 * not derived from the position; extinction is not modelled.
 * Defaults: galacticLatitude DEFAULT_GALACTIC_LATITUDE (3 deg: >= 50 bright stars per 1024x2048-px
 * detector, see starCounts.ts), magLimit 25.5, nBrightStars 3, nLargeGalaxies 2. magLimit must be in (16, 26].
 *
 * Determinism and ids: the counts are drawn in 0.5-mag slices starting at the population's bright
 * end (stars from r = 14, galaxies from r = 16); slice k of a population uses its own random stream
 * Random.stream(seed, 'sky', population, k), draws a Poisson number of objects for the area, and each
 * object's magnitude, position and properties in turn. Objects fainter than magLimit in the last slice
 * are drawn and discarded. id = code * 1e8 + (running number within the population, counting discarded
 * ones), code 1 = bright stars, 2 = stars, 3 = large galaxies, 4 = galaxies. So the same seed and field
 * give the same catalogue, and a deeper magLimit gives a superset with the same ids. Objects are
 * returned in id order.
 */
import { Random } from './random.js';
import type { SkyObject } from './types.js';
import { drawStellarColours, starMagnitudes } from './stellarLocus.js';
import { DEFAULT_GALACTIC_LATITUDE, starCounts } from './starCounts.js';
import { drawGalaxyProperties, drawLargeGalaxy, galaxyCounts } from './galaxyCounts.js';
import { libm } from '../math/libm.js';

export type SkyRegion =
  | { kind: 'circle'; centerRa: number; centerDec: number; radiusDeg: number }
  | { kind: 'box'; raMin: number; raMax: number; decMin: number; decMax: number };

export interface SkyCatalogParams {
  seed: number;
  centerRa: number;
  centerDec: number;
  /** A spherical cap about the centre (degrees); give this or `box`. */
  radiusDeg?: number;
  /** An RA/Dec box (degrees; raMin < raMax, the range may cross 0 with raMin < 0); give this or `radiusDeg`. */
  box?: { raMin: number; raMax: number; decMin: number; decMax: number };
  /** Galactic latitude (deg) of the star counts. */
  galacticLatitude?: number;
  /** Faintest r magnitude of the stars and galaxies drawn from the counts. */
  magLimit?: number;
  nBrightStars?: number;
  nLargeGalaxies?: number;
}

export interface SkyCatalogMeta {
  seed: number;
  region: SkyRegion;
  areaDeg2: number;
  galacticLatitude: number;
  magLimit: number;
  starMagMin: number;
  galaxyMagMin: number;
  brightStarMagRange: readonly [number, number];
  nBrightStars: number;
  nLargeGalaxies: number;
  sliceWidth: number;
  /** Expected numbers from the counts over the area (stars: r 14-magLimit; galaxies: r 16-magLimit). */
  expected: { stars: number; galaxies: number };
  /** Realised numbers. */
  counts: { stars: number; galaxies: number; brightStars: number; largeGalaxies: number; total: number };
}

export interface SkyCatalog {
  objects: SkyObject[];
  meta: SkyCatalogMeta;
}

export const SKY_ID_CODES = { brightStar: 1, star: 2, largeGalaxy: 3, galaxy: 4 } as const;
export const SKY_ID_STRIDE = 100_000_000;
export const STAR_MAG_MIN = 14;
export const GALAXY_MAG_MIN = 16;
export const BRIGHT_STAR_EXTRA_RANGE: readonly [number, number] = [10, 14];
export const SLICE_WIDTH = 0.5;
export const DEFAULT_MAG_LIMIT = 25.5;
const MAX_MAG_LIMIT = 26;

const DEG = Math.PI / 180;
const SQ_DEG_PER_SR = (180 / Math.PI) ** 2;

/** Area of a region in deg^2. */
export function regionAreaDeg2(region: SkyRegion): number {
  if (region.kind === 'circle') return 2 * Math.PI * (1 - libm.cos(region.radiusDeg * DEG)) * SQ_DEG_PER_SR;
  return (region.raMax - region.raMin) * DEG * (libm.sin(region.decMax * DEG) - libm.sin(region.decMin * DEG)) * SQ_DEG_PER_SR;
}

function resolveRegion(p: SkyCatalogParams): SkyRegion {
  const bad = (what: string): never => { throw new RangeError(`makeSkyCatalog: ${what}`); };
  if ((p.radiusDeg === undefined) === (p.box === undefined)) bad('give exactly one of radiusDeg and box');
  if (p.radiusDeg !== undefined) {
    if (!(p.radiusDeg > 0 && p.radiusDeg <= 90)) bad(`radiusDeg must be in (0, 90], got ${p.radiusDeg}`);
    if (!(Math.abs(p.centerDec) <= 90) || !Number.isFinite(p.centerRa)) bad(`centre (${p.centerRa}, ${p.centerDec}) is not a sky position`);
    return { kind: 'circle', centerRa: p.centerRa, centerDec: p.centerDec, radiusDeg: p.radiusDeg };
  }
  const b = p.box!;
  if (!(b.raMax > b.raMin && b.raMax - b.raMin <= 360)) bad(`box RA range [${b.raMin}, ${b.raMax}] must be increasing and at most 360 deg`);
  if (!(b.decMin >= -90 && b.decMax <= 90 && b.decMax > b.decMin)) bad(`box Dec range [${b.decMin}, ${b.decMax}] must be increasing within [-90, 90]`);
  return { kind: 'box', raMin: b.raMin, raMax: b.raMax, decMin: b.decMin, decMax: b.decMax };
}

/** A position drawn uniformly over the region, written into `out` as [ra, dec] (no allocation per draw). */
function positionSampler(region: SkyRegion): (rng: Random, out: Float64Array) => void {
  if (region.kind === 'circle') {
    const a = region.centerRa * DEG, d = region.centerDec * DEG;
    const c = [libm.cos(d) * libm.cos(a), libm.cos(d) * libm.sin(a), libm.sin(d)];
    const east = [-libm.sin(a), libm.cos(a), 0];
    const north = [-libm.sin(d) * libm.cos(a), -libm.sin(d) * libm.sin(a), libm.cos(d)];
    const oneMinusCosR = 1 - libm.cos(region.radiusDeg * DEG);
    return (rng, out) => {
      const cosT = 1 - rng.uniform() * oneMinusCosR;
      const sinT = Math.sqrt(Math.max(0, 1 - cosT * cosT));
      const phi = 2 * Math.PI * rng.uniform();
      const cn = sinT * libm.cos(phi), ce = sinT * libm.sin(phi);
      const x = cosT * c[0]! + cn * north[0]! + ce * east[0]!;
      const y = cosT * c[1]! + cn * north[1]! + ce * east[1]!;
      const z = cosT * c[2]! + cn * north[2]! + ce * east[2]!;
      const ra = libm.atan2(y, x) / DEG;
      out[0] = ra < 0 ? ra + 360 : ra;
      out[1] = libm.asin(Math.max(-1, Math.min(1, z))) / DEG;
    };
  }
  const s0 = libm.sin(region.decMin * DEG), s1 = libm.sin(region.decMax * DEG);
  return (rng, out) => {
    const ra = (region.raMin + (region.raMax - region.raMin) * rng.uniform()) % 360;
    out[0] = ra < 0 ? ra + 360 : ra;
    out[1] = libm.asin(s0 + (s1 - s0) * rng.uniform()) / DEG;
  };
}

function makeId(code: number, index: number): number {
  if (index >= SKY_ID_STRIDE) throw new RangeError(`makeSkyCatalog: more than ${SKY_ID_STRIDE} objects of one population`);
  return code * SKY_ID_STRIDE + index;
}

/** Stars and galaxies over a field, drawn from the count models; see the module comment. */
export function makeSkyCatalog(params: SkyCatalogParams): SkyCatalog {
  const region = resolveRegion(params);
  const seed = params.seed;
  const galacticLatitude = params.galacticLatitude ?? DEFAULT_GALACTIC_LATITUDE;
  const magLimit = params.magLimit ?? DEFAULT_MAG_LIMIT;
  const nBrightStars = params.nBrightStars ?? 3;
  const nLargeGalaxies = params.nLargeGalaxies ?? 2;
  if (!(magLimit > GALAXY_MAG_MIN && magLimit <= MAX_MAG_LIMIT)) throw new RangeError(`makeSkyCatalog: magLimit must be in (${GALAXY_MAG_MIN}, ${MAX_MAG_LIMIT}], got ${magLimit}`);
  for (const [name, n] of [['nBrightStars', nBrightStars], ['nLargeGalaxies', nLargeGalaxies]] as const) {
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`makeSkyCatalog: ${name} must be a non-negative integer, got ${n}`);
  }
  const area = regionAreaDeg2(region);
  const position = positionSampler(region);
  const pos = new Float64Array(2);
  const stars = starCounts(galacticLatitude);
  const galaxies = galaxyCounts();
  const objects: SkyObject[] = [];
  const counts = { stars: 0, galaxies: 0, brightStars: 0, largeGalaxies: 0, total: 0 };

  // Bright extra stars.
  {
    const rng = Random.stream(seed, 'sky', 'brightStars');
    for (let k = 0; k < nBrightStars; k++) {
      const r = rng.range(BRIGHT_STAR_EXTRA_RANGE[0], BRIGHT_STAR_EXTRA_RANGE[1]);
      position(rng, pos);
      const colours = drawStellarColours(rng);
      objects.push({ id: makeId(SKY_ID_CODES.brightStar, k), ra: pos[0]!, dec: pos[1]!, kind: 'star', mag: starMagnitudes(r, colours) });
      counts.brightStars++;
    }
  }

  // Stars from the counts, in magnitude slices.
  {
    let index = 0;
    for (let k = 0; STAR_MAG_MIN + k * SLICE_WIDTH < magLimit; k++) {
      const lo = STAR_MAG_MIN + k * SLICE_WIDTH, hi = lo + SLICE_WIDTH;
      const rng = Random.stream(seed, 'sky', 'stars', k);
      const n = rng.poisson(area * stars.integral(lo, hi));
      const drawMag = stars.sampler(lo, hi);
      for (let j = 0; j < n; j++, index++) {
        const r = drawMag(rng);
        position(rng, pos);
        const colours = drawStellarColours(rng);
        if (r > magLimit) continue;
        objects.push({ id: makeId(SKY_ID_CODES.star, index), ra: pos[0]!, dec: pos[1]!, kind: 'star', mag: starMagnitudes(r, colours) });
        counts.stars++;
      }
    }
  }

  // Large bright galaxies.
  {
    const rng = Random.stream(seed, 'sky', 'largeGalaxies');
    for (let k = 0; k < nLargeGalaxies; k++) {
      const g = drawLargeGalaxy(rng);
      position(rng, pos);
      objects.push({
        id: makeId(SKY_ID_CODES.largeGalaxy, k), ra: pos[0]!, dec: pos[1]!, kind: 'galaxy', mag: { g: g.r + g.gr, r: g.r, i: g.r - g.ri },
        sersic: g.sersic, halfLightRadius: g.halfLightRadius, axisRatio: g.axisRatio, positionAngle: g.positionAngle,
      });
      counts.largeGalaxies++;
    }
  }

  // Galaxies from the counts, in magnitude slices.
  {
    let index = 0;
    for (let k = 0; GALAXY_MAG_MIN + k * SLICE_WIDTH < magLimit; k++) {
      const lo = GALAXY_MAG_MIN + k * SLICE_WIDTH, hi = lo + SLICE_WIDTH;
      const rng = Random.stream(seed, 'sky', 'galaxies', k);
      const n = rng.poisson(area * galaxies.integral(lo, hi));
      const drawMag = galaxies.sampler(lo, hi);
      for (let j = 0; j < n; j++, index++) {
        const r = drawMag(rng);
        position(rng, pos);
        const g = drawGalaxyProperties(rng, r);
        if (r > magLimit) continue;
        objects.push({
          id: makeId(SKY_ID_CODES.galaxy, index), ra: pos[0]!, dec: pos[1]!, kind: 'galaxy', mag: { g: r + g.gr, r, i: r - g.ri },
          sersic: g.sersic, halfLightRadius: g.halfLightRadius, axisRatio: g.axisRatio, positionAngle: g.positionAngle,
        });
        counts.galaxies++;
      }
    }
  }

  counts.total = objects.length;
  return {
    objects,
    meta: {
      seed, region, areaDeg2: area, galacticLatitude, magLimit,
      starMagMin: STAR_MAG_MIN, galaxyMagMin: GALAXY_MAG_MIN, brightStarMagRange: BRIGHT_STAR_EXTRA_RANGE,
      nBrightStars, nLargeGalaxies, sliceWidth: SLICE_WIDTH,
      expected: { stars: area * stars.integral(STAR_MAG_MIN, magLimit), galaxies: area * galaxies.integral(GALAXY_MAG_MIN, magLimit) },
      counts,
    },
  };
}
