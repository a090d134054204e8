/**
 * lib/skymap: tracts and patches. Checked exactly: inner regions tile the tract (every pixel in exactly
 * one), outer = inner grown by the border and clipped, sequential ids, patch lookup; the tract TAN WCS
 * through lib/wcs (reference pixel, 0.168"/px to 1e-9, pixel -> sky -> pixel to 1e-8 px), each patch's
 * WCS equal to the tract's shifted by its origin (to 1e-9 arcsec) with xy0 readable by the exposure
 * reader; overlap queries against brute-force pixel sampling; covering tracts that hold every point with
 * the margin; JSON round trips and their errors; detector regions on the sky (visit_detector_region) and
 * the patches they overlap.
 */
import { describe, expect, it } from 'vitest';
import { FitsHeader, xy0FromHeader } from '../../lib/fits/index.js';
import { makeCamera, detectorCornersMm } from '../../lib/sim/camera.js';
import {
  SKYMAP_PRESETS, SkyMapError, makeSkyMap, makeTract, makeTractCovering, patchAtIndex, patchById, patchContaining, patchWcsHeader,
  patchesOverlapping, patchesOverlappingSky, patchesOverlappingRegion, detectorSkyPolygon, regionToJson, regionFromJson, skyMapFromJson, skyMapToJson, tractFromJson, tractPatches, tractToJson, tractWcs, tractWcsHeader,
  type Point, type Tract,
} from '../../lib/skymap/index.js';
import { angularSeparation, parseWcs } from '../../lib/wcs/index.js';

const tract = makeTract({ id: 7, centerRa: 150.1, centerDec: 2.2, width: 2500, height: 1700, patchInnerSize: 1000, patchBorder: 50 });

describe('tract and patches', () => {
  it('rounds the tract up to whole patches', () => {
    expect([tract.width, tract.height, tract.numPatchesX, tract.numPatchesY]).toEqual([3000, 2000, 3, 2]);
    expect(tract.pixelScaleArcsec).toBe(0.168);
    expect(SKYMAP_PRESETS).toEqual({
      tiny: { patchInnerSize: 1000, patchBorder: 50, pixelScaleArcsec: 0.168 },
      demo: { patchInnerSize: 2000, patchBorder: 100, pixelScaleArcsec: 0.168 },
      hsc: { patchInnerSize: 4000, patchBorder: 100, pixelScaleArcsec: 0.168 },
    });
  });

  it('tiles the tract with inner regions, and grows outer regions by the border, clipped', () => {
    const count = new Uint8Array(tract.width * tract.height);
    const patches = tractPatches(tract);
    expect(patches.length).toBe(6);
    for (const p of patches) {
      for (let y = p.inner.y0; y < p.inner.y0 + p.inner.height; y++) {
        for (let x = p.inner.x0; x < p.inner.x0 + p.inner.width; x++) count[y * tract.width + x]!++;
      }
      const b = tract.patchBorder;
      const x0 = Math.max(0, p.inner.x0 - b), y0 = Math.max(0, p.inner.y0 - b);
      const x1 = Math.min(tract.width, p.inner.x0 + p.inner.width + b), y1 = Math.min(tract.height, p.inner.y0 + p.inner.height + b);
      expect(p.outer).toEqual({ x0, y0, width: x1 - x0, height: y1 - y0 });
      expect(p.id).toBe(p.x + p.y * 3);
      expect(patchById(tract, p.id)).toEqual(p);
      expect(patchContaining(tract, p.inner.x0 + 0.4, p.inner.y0 + p.inner.height - 1)).toEqual(p);
    }
    expect(count.every((c) => c === 1)).toBe(true);
    // The middle patch of the bottom row: its outer region is clipped below only.
    expect(patchAtIndex(tract, 1, 0).outer).toEqual({ x0: 950, y0: 0, width: 1100, height: 1050 });
    expect(patchContaining(tract, -0.6, 10)).toBeUndefined();
    expect(() => patchAtIndex(tract, 3, 0)).toThrow(SkyMapError);
  });
});

describe('tract WCS', () => {
  it('is a TAN projection at the tract centre with the stated pixel scale, round-tripping pixels', () => {
    const wcs = parseWcs(tractWcsHeader(tract))!;
    expect(wcs.projectionCode).toBe('TAN');
    const [ra, dec] = wcs.pixelToSky((tract.width - 1) / 2, (tract.height - 1) / 2);
    expect(angularSeparation(ra, dec, 150.1, 2.2) * 3600).toBeLessThan(1e-9);
    expect(Math.abs(wcs.linearPixelScale - 0.168)).toBeLessThan(1e-9);
    // East to the left: RA falls with x.
    expect(wcs.pixelToSky(0, 1000)[0]).toBeGreaterThan(wcs.pixelToSky(2999, 1000)[0]);
    for (const [x, y] of [[0, 0], [2999, 1999], [1234.5, 17.25], [-50, 2100]] as const) {
      const [bx, by] = wcs.skyToPixel(...wcs.pixelToSky(x, y));
      expect(Math.hypot(bx - x, by - y)).toBeLessThan(1e-8);
    }
  });

  it('gives each patch the tract WCS shifted by its origin, with xy0 in the LSST and IRAF keywords', () => {
    const wcs = tractWcs(tract);
    for (const p of tractPatches(tract)) {
      const header = patchWcsHeader(tract, p);
      const pw = parseWcs(header)!;
      for (const [i, j] of [[0, 0], [p.outer.width - 1, p.outer.height - 1], [333.3, 77.7]] as const) {
        const [r1, d1] = pw.pixelToSky(i, j);
        const [r2, d2] = wcs.pixelToSky(i + p.outer.x0, j + p.outer.y0);
        expect(angularSeparation(r1, d1, r2, d2) * 3600).toBeLessThan(1e-9);
      }
      expect(xy0FromHeader(header, 'patch', 0)).toEqual({ x0: p.outer.x0, y0: p.outer.y0 });
    }
  });
});

describe('patchesOverlapping', () => {
  it('finds outer regions reached within the border, inner regions only by real overlap', () => {
    // A box in patch (1, 0) ending 30 px before patch (2, 0): within the 50-px border of (2, 0).
    const box = { x0: 1500, y0: 200, width: 470, height: 100 };
    expect(patchesOverlapping(tract, box).map((p) => p.id)).toEqual([1, 2]);
    expect(patchesOverlapping(tract, box, { use: 'inner' }).map((p) => p.id)).toEqual([1]);
    // A box exactly on patch (0, 0)'s inner region touches its neighbours' inner regions only along edges.
    expect(patchesOverlapping(tract, { x0: 0, y0: 0, width: 1000, height: 1000 }, { use: 'inner' }).map((p) => p.id)).toEqual([0]);
  });

  it('agrees with brute-force sampling for polygons', () => {
    const polygons: Point[][] = [
      [[900, 900], [1200, 950], [1100, 1300]], // a triangle across four patches
      [[1500, 500], [2100, 1100], [1500, 1700], [900, 1100]], // a diamond
      [[100, 100], [2900, 120], [2900, 140], [120, 1900]], // a long, thin, non-convex sliver
    ];
    for (const poly of polygons) {
      for (const use of ['outer', 'inner'] as const) {
        const found = patchesOverlapping(tract, poly, { use }).map((p) => p.id);
        const brute = tractPatches(tract).filter((p) => {
          const b = use === 'outer' ? p.outer : p.inner;
          for (let y = b.y0; y < b.y0 + b.height; y += 2) for (let x = b.x0; x < b.x0 + b.width; x += 2) if (inside(poly, x, y)) return true;
          return false;
        }).map((p) => p.id);
        expect(found).toEqual(brute);
      }
    }
  });
});

function inside(poly: Point[], x: number, y: number): boolean {
  let c = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!, [xj, yj] = poly[j]!;
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

describe('makeTractCovering', () => {
  it('holds every detector corner of a dithered set of pointings, with the margin', () => {
    const camera = makeCamera('tiny');
    const arcsecPerMm = camera.plateScaleArcsecPerMm;
    const corners: Point[] = [];
    for (const [dra, ddec] of [[0, 0], [0.01, 0.005], [-0.008, 0.012]]) {
      const ra0 = 359.995 + dra, dec0 = -30 + ddec; // straddles RA 0
      for (const d of camera.detectors) {
        for (const [x, y] of detectorCornersMm(camera, d)) {
          corners.push([ra0 + (x * arcsecPerMm) / 3600 / Math.cos((dec0 * Math.PI) / 180), dec0 + (y * arcsecPerMm) / 3600]);
        }
      }
    }
    const t = makeTractCovering(corners, { id: 3, patchInnerSize: 1000, patchBorder: 50, marginPixels: 60 });
    const wcs = tractWcs(t);
    for (const [ra, dec] of corners) {
      const [x, y] = wcs.skyToPixel(ra, dec);
      expect(x).toBeGreaterThanOrEqual(60 - 0.5);
      expect(y).toBeGreaterThanOrEqual(60 - 0.5);
      expect(x).toBeLessThanOrEqual(t.width - 0.5 - 60);
      expect(y).toBeLessThanOrEqual(t.height - 0.5 - 60);
    }
    expect(t.width % 1000).toBe(0);
    expect(t.id).toBe(3);
    expect(patchesOverlappingSky(t, corners.slice(0, 4)).length).toBeGreaterThan(0);
    expect(() => makeTractCovering([], { patchInnerSize: 100, patchBorder: 10 })).toThrow(/no sky positions/);
    expect(() => makeTractCovering([[0, 0], [180, 0]], { patchInnerSize: 100, patchBorder: 10 })).toThrow(SkyMapError);
  });
});

describe('JSON', () => {
  it('round-trips tracts and sky maps exactly', () => {
    const other: Tract = makeTract({ id: 2, centerRa: 10, centerDec: -45, pixelScaleArcsec: 0.2, width: 4000, height: 4000, patchInnerSize: 2000, patchBorder: 100 });
    expect(tractFromJson(tractToJson(tract))).toEqual(tract);
    const map = makeSkyMap('tessera-tiny', [tract, other]);
    expect(map.tracts.map((t) => t.id)).toEqual([2, 7]);
    expect(skyMapFromJson(skyMapToJson(map))).toEqual(map);
  });

  it('names what is wrong', () => {
    expect(() => tractFromJson('{"id": 1', 't.json')).toThrow(/t\.json: not valid JSON/);
    const bad = JSON.parse(tractToJson(tract)) as Record<string, unknown>;
    expect(() => tractFromJson(JSON.stringify({ ...bad, width: 2999 }), 't.json')).toThrow(/size 2999x2000 is not a whole number of 1000-px patches/);
    expect(() => tractFromJson(JSON.stringify({ ...bad, patchBorder: 'wide' }), 't.json')).toThrow(/field 'patchBorder' must be a number/);
    expect(() => tractFromJson(JSON.stringify({ ...bad, centerDec: 95 }), 't.json')).toThrow(/centerDec must lie in \[-90, 90\]/);
    expect(() => skyMapFromJson(JSON.stringify({ format: 'tessera-skymap-1', name: 'm', tracts: [bad, bad] }), 'm.json')).toThrow(/duplicate tract id 7/);
  });
});

describe('detector regions', () => {
  // A 400 x 300 detector at 0.2"/px, rotated by 30 degrees, centred on tract pixel (1200, 900).
  const [ra0, dec0] = tractWcs(tract).pixelToSky(1200, 900);
  const s = 0.2 / 3600, a = Math.PI / 6;
  const header = new FitsHeader();
  header.set('CTYPE1', 'RA---TAN').set('CTYPE2', 'DEC--TAN').set('CRVAL1', ra0, undefined, { real: true }).set('CRVAL2', dec0, undefined, { real: true })
    .set('CRPIX1', 200.5, undefined, { real: true }).set('CRPIX2', 150.5, undefined, { real: true })
    .set('CD1_1', -s * Math.cos(a), undefined, { real: true }).set('CD1_2', s * Math.sin(a), undefined, { real: true })
    .set('CD2_1', s * Math.sin(a), undefined, { real: true }).set('CD2_2', s * Math.cos(a), undefined, { real: true });
  const wcs = parseWcs(header)!;

  it('outlines the detector\'s pixel edges (grown by the margin) on the sky, and round-trips through the registry form', () => {
    const polygon = detectorSkyPolygon(wcs, 400, 300, 0);
    expect(polygon.length).toBe(16);
    const [cx, cy] = wcs.skyToPixel(...polygon[0]!);
    expect(Math.hypot(cx + 0.5, cy + 0.5)).toBeLessThan(1e-6);
    const grown = detectorSkyPolygon(wcs, 400, 300, 100);
    const [gx, gy] = wcs.skyToPixel(...grown[8]!);
    expect(Math.hypot(gx - 499.5, gy - 399.5)).toBeLessThan(1e-6);
    const back = regionFromJson(regionToJson(polygon), 'test');
    for (let i = 0; i < polygon.length; i++) expect(angularSeparation(back[i]![0], back[i]![1], polygon[i]![0], polygon[i]![1]) * 3.6e6).toBeLessThan(0.01);
    expect(() => regionFromJson('[[1, 2], [3], [4, 5]]', 'visit 5 detector 2')).toThrow(/visit 5 detector 2: region vertex 1 is not a pair of finite numbers/);
    expect(() => regionFromJson('nope', 'r')).toThrow(/r: region is not JSON/);
  });

  it('finds the patches a region overlaps as brute-force pixel sampling does, and none from far away', () => {
    const polygon = detectorSkyPolygon(wcs, 400, 300, 0);
    const found = patchesOverlappingRegion(tract, polygon).map((p) => p.id);
    // Brute force: the tract pixels of every detector pixel centre, against each outer box.
    const t = tractWcs(tract), hit = new Set<number>();
    for (let y = 0; y < 300; y += 2) for (let x = 0; x < 400; x += 2) {
      const [tx, ty] = t.skyToPixel(...wcs.pixelToSky(x, y));
      for (const p of tractPatches(tract)) if (tx >= p.outer.x0 && tx < p.outer.x0 + p.outer.width && ty >= p.outer.y0 && ty < p.outer.y0 + p.outer.height) hit.add(p.id);
    }
    expect(found).toEqual([...hit].sort((p, q) => p - q));
    expect(found.length).toBeGreaterThan(1);
    const far = polygon.map(([r, d]) => [r + 180, -d] as Point);
    expect(patchesOverlappingRegion(tract, far)).toEqual([]);
  });
});
