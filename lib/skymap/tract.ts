/**
 * Tracts and patches, as LSST's sky maps define them (lsst.skymap: TractInfo, PatchInfo; the "rings"
 * sky map of the HSC reprocessing): a tract is a region of sky with one gnomonic (TAN) WCS, centred on
 * the tract centre (CRPIX at the centre of the tract's pixel grid, CD = diag(-scale, +scale): north up,
 * east left, no rotation). Its pixel grid is cut into patches: the INNER regions of the patches tile the
 * tract exactly, without gap or overlap; a patch's OUTER region is its inner region grown by the border
 * on every side and clipped to the tract. Coadds are made on outer regions; each object belongs to the
 * patch whose inner region holds it.
 *
 * Units: pixel coordinates are 0-BASED tract pixels (lib/wcs convention), boxes 0-based pixel-index
 * boxes {x0, y0, width, height}; sky in ICRS degrees; pixel scale in arcsec/px.
 * Patch index (x, y) counts from the tract's lower left; the sequential id is x + y * numPatchesX
 * (LSST's Gen3 patch id). A tract's width and height are rounded up to whole patches (numPatchesX =
 * ceil(width / patchInnerSize)), keeping its centre.
 * Defaults: pixel scale 0.168"/px (HSC); LSST's rings sky map uses 4000-px inner patches with 100-px
 * borders; the presets here: tiny 1000/50, demo 2000/100, hsc 4000/100 (SKYMAP_PRESETS).
 */
import { FitsHeader } from '../fits/header.js';
import { parseWcs, type Wcs } from '../wcs/index.js';
import { SkyMapError } from './errors.js';
import { overlapArea, type Point, type Rect } from './regionOverlap.js';
import { libm } from '../math/libm.js';

export interface PixelBox {
  x0: number;
  y0: number;
  width: number;
  height: number;
}

export interface Patch {
  tractId: number;
  /** Patch index along x and y. */
  x: number;
  y: number;
  /** Sequential patch id: x + y * numPatchesX. */
  id: number;
  inner: PixelBox;
  outer: PixelBox;
}

export interface Tract {
  id: number;
  /** Tract centre and WCS reference point, degrees. */
  centerRa: number;
  centerDec: number;
  /** arcsec per pixel. */
  pixelScaleArcsec: number;
  /** Pixels (whole patches). */
  width: number;
  height: number;
  patchInnerSize: number;
  patchBorder: number;
  numPatchesX: number;
  numPatchesY: number;
}

export interface TractSpec {
  id: number;
  centerRa: number;
  centerDec: number;
  pixelScaleArcsec?: number;
  width: number;
  height: number;
  patchInnerSize: number;
  patchBorder: number;
}

export type SkyMapPreset = 'tiny' | 'demo' | 'hsc';
export const DEFAULT_PIXEL_SCALE_ARCSEC = 0.168;
export const SKYMAP_PRESETS: Readonly<Record<SkyMapPreset, { patchInnerSize: number; patchBorder: number; pixelScaleArcsec: number }>> = {
  tiny: { patchInnerSize: 1000, patchBorder: 50, pixelScaleArcsec: DEFAULT_PIXEL_SCALE_ARCSEC },
  demo: { patchInnerSize: 2000, patchBorder: 100, pixelScaleArcsec: DEFAULT_PIXEL_SCALE_ARCSEC },
  hsc: { patchInnerSize: 4000, patchBorder: 100, pixelScaleArcsec: DEFAULT_PIXEL_SCALE_ARCSEC },
};

function checkSpec(spec: TractSpec, source: string): void {
  const fail = (problem: string): never => { throw new SkyMapError(source, problem); };
  if (!Number.isSafeInteger(spec.id) || spec.id < 0) fail(`tract id must be a non-negative integer, got ${spec.id}`);
  if (!Number.isFinite(spec.centerRa)) fail(`centerRa must be a finite number of degrees, got ${spec.centerRa}`);
  if (!(Math.abs(spec.centerDec) <= 90)) fail(`centerDec must lie in [-90, 90] degrees, got ${spec.centerDec}`);
  const scale = spec.pixelScaleArcsec ?? DEFAULT_PIXEL_SCALE_ARCSEC;
  if (!(scale > 0) || !Number.isFinite(scale)) fail(`pixelScaleArcsec must be > 0, got ${scale}`);
  for (const [k, v] of [['width', spec.width], ['height', spec.height], ['patchInnerSize', spec.patchInnerSize]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) fail(`${k} must be a positive integer, got ${v}`);
  }
  if (!Number.isSafeInteger(spec.patchBorder) || spec.patchBorder < 0) fail(`patchBorder must be a non-negative integer, got ${spec.patchBorder}`);
}

/** A tract (width and height rounded up to whole patches). */
export function makeTract(spec: TractSpec): Tract {
  checkSpec(spec, `tract ${spec.id}`);
  const numPatchesX = Math.ceil(spec.width / spec.patchInnerSize);
  const numPatchesY = Math.ceil(spec.height / spec.patchInnerSize);
  return {
    id: spec.id,
    centerRa: ((spec.centerRa % 360) + 360) % 360,
    centerDec: spec.centerDec,
    pixelScaleArcsec: spec.pixelScaleArcsec ?? DEFAULT_PIXEL_SCALE_ARCSEC,
    width: numPatchesX * spec.patchInnerSize,
    height: numPatchesY * spec.patchInnerSize,
    patchInnerSize: spec.patchInnerSize,
    patchBorder: spec.patchBorder,
    numPatchesX,
    numPatchesY,
  };
}

/** The TAN WCS header of a tract grid of the given size centred on (ra, dec). */
function tanHeader(ra: number, dec: number, scaleArcsec: number, width: number, height: number): FitsHeader {
  const h = new FitsHeader();
  h.set('CTYPE1', 'RA---TAN', 'gnomonic projection');
  h.set('CTYPE2', 'DEC--TAN', 'gnomonic projection');
  h.set('CUNIT1', 'deg');
  h.set('CUNIT2', 'deg');
  h.set('CRVAL1', ra, '[deg] tract centre RA', { real: true });
  h.set('CRVAL2', dec, '[deg] tract centre Dec', { real: true });
  h.set('CRPIX1', (width + 1) / 2, 'tract centre pixel (1-based)', { real: true });
  h.set('CRPIX2', (height + 1) / 2, 'tract centre pixel (1-based)', { real: true });
  h.set('CD1_1', -scaleArcsec / 3600, '[deg/px]', { real: true });
  h.set('CD1_2', 0, '[deg/px]', { real: true });
  h.set('CD2_1', 0, '[deg/px]', { real: true });
  h.set('CD2_2', scaleArcsec / 3600, '[deg/px]', { real: true });
  h.set('RADESYS', 'ICRS');
  return h;
}

/** The tract's WCS as FITS header cards (readable by lib/wcs parseWcs). */
export function tractWcsHeader(tract: Tract): FitsHeader {
  return tanHeader(tract.centerRa, tract.centerDec, tract.pixelScaleArcsec, tract.width, tract.height);
}

/** The tract's WCS. */
export function tractWcs(tract: Tract): Wcs {
  return parseWcs(tractWcsHeader(tract), { source: `tract ${tract.id}` })!;
}

/** The patch at index (x, y). */
export function patchAtIndex(tract: Tract, x: number, y: number): Patch {
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= tract.numPatchesX || y >= tract.numPatchesY) {
    throw new SkyMapError(`tract ${tract.id}`, `no patch (${x}, ${y}); patch indices run to (${tract.numPatchesX - 1}, ${tract.numPatchesY - 1})`);
  }
  const s = tract.patchInnerSize, b = tract.patchBorder;
  const inner = { x0: x * s, y0: y * s, width: s, height: s };
  const ox0 = Math.max(0, inner.x0 - b), oy0 = Math.max(0, inner.y0 - b);
  const ox1 = Math.min(tract.width, inner.x0 + s + b), oy1 = Math.min(tract.height, inner.y0 + s + b);
  return { tractId: tract.id, x, y, id: x + y * tract.numPatchesX, inner, outer: { x0: ox0, y0: oy0, width: ox1 - ox0, height: oy1 - oy0 } };
}

/** The patch with this sequential id. */
export function patchById(tract: Tract, id: number): Patch {
  if (!Number.isSafeInteger(id) || id < 0 || id >= tract.numPatchesX * tract.numPatchesY) {
    throw new SkyMapError(`tract ${tract.id}`, `no patch id ${id}; ids run from 0 to ${tract.numPatchesX * tract.numPatchesY - 1}`);
  }
  return patchAtIndex(tract, id % tract.numPatchesX, Math.floor(id / tract.numPatchesX));
}

/** All patches, by sequential id. */
export function tractPatches(tract: Tract): Patch[] {
  const out: Patch[] = [];
  for (let y = 0; y < tract.numPatchesY; y++) for (let x = 0; x < tract.numPatchesX; x++) out.push(patchAtIndex(tract, x, y));
  return out;
}

/** The patch whose inner region holds 0-based tract pixel (x, y), or undefined off the tract. */
export function patchContaining(tract: Tract, x: number, y: number): Patch | undefined {
  const ix = Math.floor(x + 0.5), iy = Math.floor(y + 0.5);
  if (ix < 0 || iy < 0 || ix >= tract.width || iy >= tract.height) return undefined;
  return patchAtIndex(tract, Math.floor(ix / tract.patchInnerSize), Math.floor(iy / tract.patchInnerSize));
}

function rectOf(box: PixelBox): Rect {
  return { xMin: box.x0 - 0.5, xMax: box.x0 + box.width - 0.5, yMin: box.y0 - 0.5, yMax: box.y0 + box.height - 0.5 };
}

/**
 * The patches whose outer (default) or inner region overlaps a region of the tract with positive area:
 * a pixel box, or a polygon in continuous 0-based tract pixel coordinates (e.g. a detector's corners).
 */
export function patchesOverlapping(tract: Tract, region: PixelBox | readonly Point[], options: { use?: 'outer' | 'inner' } = {}): Patch[] {
  const polygon: Point[] = Array.isArray(region)
    ? [...(region as readonly Point[])]
    : (() => {
      const r = rectOf(region as PixelBox);
      return [[r.xMin, r.yMin], [r.xMax, r.yMin], [r.xMax, r.yMax], [r.xMin, r.yMax]] as Point[];
    })();
  if (polygon.length < 3) throw new SkyMapError(`tract ${tract.id}`, `a polygon needs at least 3 vertices, got ${polygon.length}`);
  for (const [x, y] of polygon) if (!Number.isFinite(x) || !Number.isFinite(y)) throw new SkyMapError(`tract ${tract.id}`, `polygon vertex (${x}, ${y}) is not finite`);
  const use = options.use ?? 'outer';
  const grow = use === 'outer' ? tract.patchBorder : 0;
  const s = tract.patchInnerSize;
  const xs = polygon.map((p) => p[0]), ys = polygon.map((p) => p[1]);
  const lo = (v: number) => Math.max(0, Math.floor((v + 0.5 - grow) / s) - 1);
  const hi = (v: number, n: number) => Math.min(n - 1, Math.floor((v + 0.5 + grow) / s) + 1);
  const out: Patch[] = [];
  for (let py = lo(Math.min(...ys)); py <= hi(Math.max(...ys), tract.numPatchesY); py++) {
    for (let px = lo(Math.min(...xs)); px <= hi(Math.max(...xs), tract.numPatchesX); px++) {
      const patch = patchAtIndex(tract, px, py);
      if (overlapArea(polygon, rectOf(use === 'outer' ? patch.outer : patch.inner)) > 0) out.push(patch);
    }
  }
  return out.sort((a, b) => a.id - b.id);
}

/** patchesOverlapping for a polygon of sky positions [ra, dec] (degrees), through the tract WCS. */
export function patchesOverlappingSky(tract: Tract, raDec: readonly Point[], options: { use?: 'outer' | 'inner' } = {}): Patch[] {
  const wcs = tractWcs(tract);
  return patchesOverlapping(tract, raDec.map(([ra, dec]) => wcs.skyToPixel(ra, dec)), options);
}

/**
 * The WCS header of a patch image (its outer region): the tract WCS with CRPIX shifted by the outer
 * origin, plus the LSST afw 'A' WCS (CTYPEnA = 'LINEAR', CRPIXnA = 1, CRVALnA = origin) and IRAF LTVn
 * that give the image's origin (xy0) in tract pixels.
 */
export function patchWcsHeader(tract: Tract, patch: Patch): FitsHeader {
  const h = tractWcsHeader(tract);
  const { x0, y0 } = patch.outer;
  h.set('CRPIX1', h.getNumber('CRPIX1')! - x0, 'tract centre pixel in this patch (1-based)', { real: true });
  h.set('CRPIX2', h.getNumber('CRPIX2')! - y0, 'tract centre pixel in this patch (1-based)', { real: true });
  h.set('CTYPE1A', 'LINEAR', 'tract pixel coordinates');
  h.set('CTYPE2A', 'LINEAR', 'tract pixel coordinates');
  h.set('CRPIX1A', 1, undefined, { real: true });
  h.set('CRPIX2A', 1, undefined, { real: true });
  h.set('CRVAL1A', x0, 'x0 of this image in the tract', { real: true });
  h.set('CRVAL2A', y0, 'y0 of this image in the tract', { real: true });
  h.set('CUNIT1A', 'PIXEL');
  h.set('CUNIT2A', 'PIXEL');
  h.set('LTV1', -x0, 'minus x0');
  h.set('LTV2', -y0, 'minus y0');
  return h;
}

/** Great-circle mean direction of sky points (degrees). */
function meanDirection(points: readonly Point[]): [number, number] {
  let sx = 0, sy = 0, sz = 0;
  for (const [ra, dec] of points) {
    const a = (ra * Math.PI) / 180, d = (dec * Math.PI) / 180;
    sx += libm.cos(d) * libm.cos(a);
    sy += libm.cos(d) * libm.sin(a);
    sz += libm.sin(d);
  }
  const n = Math.hypot(sx, sy, sz);
  if (!(n > 1e-9 * points.length)) throw new SkyMapError('makeTractCovering', 'the points have no mean direction (they are spread over the whole sky)');
  const ra = (libm.atan2(sy, sx) * 180) / Math.PI;
  return [(ra + 360) % 360, (libm.asin(Math.max(-1, Math.min(1, sz / n))) * 180) / Math.PI];
}

export interface CoveringOptions {
  id?: number;
  pixelScaleArcsec?: number;
  patchInnerSize: number;
  patchBorder: number;
  /** Pixels kept between the outermost point and the tract edge (default patchBorder). */
  marginPixels?: number;
}

/**
 * The smallest tract, centred on the points' mean direction, whose pixel grid holds every point (e.g.
 * every detector corner of every visit) at least `marginPixels` from its edge.
 */
export function makeTractCovering(raDecPoints: readonly Point[], options: CoveringOptions): Tract {
  if (raDecPoints.length === 0) throw new SkyMapError('makeTractCovering', 'no sky positions to cover');
  for (const [ra, dec] of raDecPoints) {
    if (!Number.isFinite(ra) || !(Math.abs(dec) <= 90)) throw new SkyMapError('makeTractCovering', `(${ra}, ${dec}) is not a sky position in degrees`);
  }
  const [ra, dec] = meanDirection(raDecPoints);
  const scale = options.pixelScaleArcsec ?? DEFAULT_PIXEL_SCALE_ARCSEC;
  const margin = options.marginPixels ?? options.patchBorder;
  const probe = parseWcs(tanHeader(ra, dec, scale, 1, 1), { source: 'makeTractCovering' })!;
  let half = 0;
  let halfY = 0;
  for (const [pra, pdec] of raDecPoints) {
    const cosSep = libm.sin((dec * Math.PI) / 180) * libm.sin((pdec * Math.PI) / 180)
      + libm.cos((dec * Math.PI) / 180) * libm.cos((pdec * Math.PI) / 180) * libm.cos(((pra - ra) * Math.PI) / 180);
    if (cosSep < libm.cos((80 * Math.PI) / 180)) throw new SkyMapError('makeTractCovering', `(${pra}, ${pdec}) is more than 80 deg from the tract centre (${ra.toFixed(4)}, ${dec.toFixed(4)}); a TAN tract cannot hold it`);
    const [x, y] = probe.skyToPixel(pra, pdec);
    half = Math.max(half, Math.abs(x));
    halfY = Math.max(halfY, Math.abs(y));
  }
  return makeTract({
    id: options.id ?? 0,
    centerRa: ra,
    centerDec: dec,
    pixelScaleArcsec: scale,
    width: 2 * Math.ceil(half + margin + 0.5),
    height: 2 * Math.ceil(halfY + margin + 0.5),
    patchInnerSize: options.patchInnerSize,
    patchBorder: options.patchBorder,
  });
}
