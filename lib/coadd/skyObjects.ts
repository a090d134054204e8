/**
 * Sky objects: circular footprints on blank sky, measured like sources so that the catalogue carries
 * the flux of empty apertures (LSST meas_algorithms SkyObjectsTask, generateSkyObjects; the DRP's
 * check of background over- and under-subtraction, faro's skyObjectMean). Defaults are LSST's: 100
 * objects of radius 8 px per patch, at most 5 x 100 trial positions. Trial positions follow a 2-D Halton
 * sequence (bases 2 and 3) over the box shrunk by radius + 1, shifted by a seed-derived offset modulo 1
 * (a Cranley-Patterson rotation; LSST's scipy Halton is Owen-scrambled instead): a trial whose circle
 * (pixels within the radius of its centre) touches an avoided pixel is skipped; an accepted one adds its
 * circle grown by the radius to the avoided pixels, so sky objects never overlap each other.
 * Units: pixels of the box (0-based); each footprint has one peak at its centre with value 0.
 */
import { normalizeSpans, type Footprint, type Span } from '../measure/footprint.js';

export interface SkyObjectsConfig {
  nSources: number;
  sourceRadius: number;
  nTrialSourcesMultiplier: number;
}

export const DEFAULT_SKY_OBJECTS_CONFIG: Readonly<SkyObjectsConfig> = Object.freeze({ nSources: 100, sourceRadius: 8, nTrialSourcesMultiplier: 5 });

/** Element `index` of the van der Corput sequence in `base` (the Halton sequence's coordinates). */
function radicalInverse(index: number, base: number): number {
  let result = 0, f = 1 / base;
  for (let i = index; i > 0; i = Math.floor(i / base), f /= base) result += f * (i % base);
  return result;
}

/** A fraction in [0, 1) from a 32-bit integer hash of `seed` and `salt` (splitmix-style mixing). */
function seedFraction(seed: number, salt: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(salt, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

/** The spans of a disk of `radius` px (pixels with dx^2 + dy^2 <= radius^2) centred on (x, y). */
export function diskSpans(x: number, y: number, radius: number): Span[] {
  const spans: Span[] = [];
  for (let dy = -radius; dy <= radius; dy++) {
    const half = Math.floor(Math.sqrt(radius * radius - dy * dy));
    spans.push({ y: y + dy, x0: x - half, x1: x + half });
  }
  return spans;
}

/**
 * Sky objects in a width x height box whose `avoid` pixels (u8, 1 = a detection) they must not touch;
 * `avoid` is not modified. Returns at most config.nSources footprints, in the order they were accepted.
 */
export function skyObjectFootprints(avoid: Uint8Array, width: number, height: number, seed: number, config: SkyObjectsConfig = DEFAULT_SKY_OBJECTS_CONFIG): Footprint[] {
  if (avoid.length !== width * height) throw new RangeError(`skyObjects: a ${avoid.length}-pixel mask for a ${width}x${height} box`);
  if (config.nSources <= 0) return [];
  const r = Math.floor(config.sourceRadius);
  const xMin = r + 1, yMin = r + 1, xMax = width - 1 - (r + 1), yMax = height - 1 - (r + 1);
  if (xMax < xMin || yMax < yMin) return [];
  const blocked = avoid.slice();
  const touches = (spans: readonly Span[]): boolean => {
    for (const s of spans) for (let x = s.x0, i = s.y * width + s.x0; x <= s.x1; x++, i++) if (blocked[i]) return true;
    return false;
  };
  const block = (spans: readonly Span[]): void => {
    for (const s of spans) {
      if (s.y < 0 || s.y >= height) continue;
      blocked.fill(1, s.y * width + Math.max(0, s.x0), s.y * width + Math.min(width - 1, s.x1) + 1);
    }
  };
  const shiftX = seedFraction(seed, 1), shiftY = seedFraction(seed, 2);
  const footprints: Footprint[] = [];
  const trials = config.nTrialSourcesMultiplier * config.nSources;
  for (let k = 1; k <= trials && footprints.length < config.nSources; k++) {
    const x = Math.floor(xMin + ((radicalInverse(k, 2) + shiftX) % 1) * (xMax - xMin));
    const y = Math.floor(yMin + ((radicalInverse(k, 3) + shiftY) % 1) * (yMax - yMin));
    const spans = diskSpans(x, y, r);
    if (touches(spans)) continue;
    footprints.push({ spans: normalizeSpans(spans), peaks: [{ x, y, fx: x, fy: y, value: 0, significance: 0 }] });
    block(diskSpans(x, y, 2 * r));
  }
  return footprints;
}
