/**
 * A detector's region on the sky, as LSST's registry keeps one per visit and detector
 * (visit_detector_region) to join visits to the patches they overlap when a quantum graph is built:
 * the outline of the detector's pixel grid (the pixel edges, grown by a margin) through its nominal WCS,
 * sampled at the corners and every quarter of each side (so a distorted edge stays inside), in degrees.
 * Default margin: 100 px, which covers the difference between a raw's nominal WCS and the fitted one (the
 * pattern matcher accepts nominal WCSs off by 250 px, LSST's HSC matcher.maxOffsetPix; a detector the
 * margin adds to a patch it does not reach gives an empty warp, which makeWarp reports as no work).
 */
import type { Wcs } from '../wcs/index.js';
import { SkyMapError } from './errors.js';
import type { Point } from './regionOverlap.js';
import { patchesOverlappingSky, type Patch, type Tract } from './tract.js';
import { libm } from '../math/libm.js';

export const DEFAULT_REGION_MARGIN_PX = 100;

/** The sky polygon [ra, dec] (degrees) of a width x height detector under `wcs`, grown by `marginPx`. */
export function detectorSkyPolygon(wcs: Wcs, width: number, height: number, marginPx = DEFAULT_REGION_MARGIN_PX): Point[] {
  const x0 = -0.5 - marginPx, y0 = -0.5 - marginPx, x1 = width - 0.5 + marginPx, y1 = height - 0.5 + marginPx;
  const pixels: [number, number][] = [];
  for (let k = 0; k < 4; k++) pixels.push([x0 + ((x1 - x0) * k) / 4, y0]);
  for (let k = 0; k < 4; k++) pixels.push([x1, y0 + ((y1 - y0) * k) / 4]);
  for (let k = 0; k < 4; k++) pixels.push([x1 - ((x1 - x0) * k) / 4, y1]);
  for (let k = 0; k < 4; k++) pixels.push([x0, y1 - ((y1 - y0) * k) / 4]);
  return pixels.map(([x, y]) => {
    const [ra, dec] = wcs.pixelToSky(x, y);
    if (!Number.isFinite(ra) || !Number.isFinite(dec)) throw new SkyMapError('detectorSkyPolygon', `the WCS gives no sky position for pixel (${x}, ${y})`);
    return [ra, dec] as Point;
  });
}

/** A region's registry form: JSON of [[ra, dec], ...] rounded to 1e-9 degrees. */
export function regionToJson(polygon: readonly Point[]): string {
  return JSON.stringify(polygon.map(([ra, dec]) => [Math.round(ra * 1e9) / 1e9, Math.round(dec * 1e9) / 1e9]));
}

/** Parses a region's registry form; `source` names it in errors. */
export function regionFromJson(text: string, source: string): Point[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SkyMapError(source, `region is not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(value) || value.length < 3) throw new SkyMapError(source, 'a region is a list of at least 3 [ra, dec] pairs');
  return value.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new SkyMapError(source, `region vertex ${i} is not a pair of finite numbers`);
    return [p[0] as number, p[1] as number] as Point;
  });
}

function unitVector(ra: number, dec: number): [number, number, number] {
  const a = (ra * Math.PI) / 180, d = (dec * Math.PI) / 180;
  return [libm.cos(d) * libm.cos(a), libm.cos(d) * libm.sin(a), libm.sin(d)];
}

/** Angular distance (degrees). */
function separation(a: Point, b: Point): number {
  const u = unitVector(a[0], a[1]), v = unitVector(b[0], b[1]);
  const dot = Math.min(1, Math.max(-1, u[0] * v[0] + u[1] * v[1] + u[2] * v[2]));
  return (libm.acos(dot) * 180) / Math.PI;
}

/**
 * The patches (outer regions) of `tract` a sky polygon overlaps; none when the polygon lies farther from
 * the tract centre than the tract's half-diagonal plus the polygon's own extent (the gnomonic projection
 * is not used far from its centre).
 */
export function patchesOverlappingRegion(tract: Tract, polygon: readonly Point[]): Patch[] {
  const centre: Point = [tract.centerRa, tract.centerDec];
  const halfDiagonal = (Math.hypot(tract.width, tract.height) / 2 + tract.patchBorder) * tract.pixelScaleArcsec / 3600;
  const extent = Math.max(...polygon.map((p) => separation(p, polygon[0]!)));
  if (Math.min(...polygon.map((p) => separation(p, centre))) > halfDiagonal + extent) return [];
  return patchesOverlappingSky(tract, polygon);
}
