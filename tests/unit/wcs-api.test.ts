/**
 * lib/wcs API behaviour that needs no astropy: the 0-based pixel convention, closed-form values of TAN and
 * CAR (Paper II eq. 12-14, 54-55), batched vs scalar calls, NaN outside a projection's domain, the
 * pixel-scale and footprint helpers, and the vector fast path against the angle formulas it replaces.
 */
import { describe, expect, it } from 'vitest';
import { FitsHeader, type CardValue } from '../../lib/fits/header.js';
import { angularSeparation, parseWcs, type Wcs } from '../../lib/wcs/index.js';
import { makeProjection } from '../../lib/wcs/projections.js';
import { CelestialRotation } from '../../lib/wcs/spherical.js';

type Cards = [string, CardValue][];
function wcsOf(cards: Cards): Wcs {
  const h = new FitsHeader();
  for (const [k, v] of cards) h.set(k, v);
  const w = parseWcs(h, { source: 'synthetic' });
  if (!w) throw new Error('no WCS');
  return w;
}
const R2D = 180 / Math.PI;

const tan = (crval: [number, number], extra: Cards = []) => wcsOf([
  ['NAXIS', 2], ['NAXIS1', 200], ['NAXIS2', 100],
  ['CTYPE1', 'RA---TAN'], ['CTYPE2', 'DEC--TAN'], ['CRVAL1', crval[0]], ['CRVAL2', crval[1]],
  ['CRPIX1', 100.5], ['CRPIX2', 50.5], ['CD1_1', -1e-3], ['CD1_2', 0], ['CD2_1', 0], ['CD2_2', 1e-3], ...extra,
]);

describe('pixel convention: 0-based in the API, 1-based CRPIX in the header', () => {
  it('pixel (CRPIX - 1) maps to CRVAL and back, to 1e-12', () => {
    const w = tan([150.25, -20.5]);
    expect(w.crpix).toEqual([100.5, 50.5]);
    const [ra, dec] = w.pixelToSky(99.5, 49.5);
    expect(Math.abs(ra - 150.25)).toBeLessThan(1e-12);
    expect(Math.abs(dec + 20.5)).toBeLessThan(1e-12);
    const [x, y] = w.skyToPixel(150.25, -20.5);
    expect(Math.abs(x - 99.5)).toBeLessThan(1e-9);
    expect(Math.abs(y - 49.5)).toBeLessThan(1e-9);
  });
});

describe('closed-form values', () => {
  it('TAN at (0, 0): a pixel offset of n along x is RA = atan(n * 1e-3 deg in radians)', () => {
    const w = tan([0, 0]);
    for (const n of [1, 10, 100, 1000]) {
      const [ra, dec] = w.pixelToSky(99.5 - n, 49.5); // CD1_1 < 0: RA grows to the left
      expect(Math.abs(ra - Math.atan((n * 1e-3) / R2D) * R2D)).toBeLessThan(1e-12);
      expect(Math.abs(dec)).toBeLessThan(1e-12);
      const [, dec2] = w.pixelToSky(99.5, 49.5 + n);
      expect(Math.abs(dec2 - Math.atan((n * 1e-3) / R2D) * R2D)).toBeLessThan(1e-12);
    }
  });

  it('CAR at (0, 0) is linear in both axes, to 1e-12', () => {
    const w = wcsOf([['CTYPE1', 'RA---CAR'], ['CTYPE2', 'DEC--CAR'], ['CRVAL1', 0], ['CRVAL2', 0], ['CRPIX1', 1], ['CRPIX2', 1], ['CDELT1', 0.25], ['CDELT2', 0.25]]);
    const near = (a: [number, number], b: [number, number]) => Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]));
    expect(near(w.pixelToSky(40, 100), [10, 25])).toBeLessThan(1e-12);
    expect(near(w.pixelToSky(-40, -100), [350, -25])).toBeLessThan(1e-12);
    expect(near(w.pixelToSky(0, 356), [0, 89])).toBeLessThan(1e-12);
    expect(near(w.skyToPixel(10, 25), [40, 100])).toBeLessThan(1e-10);
  });

  it('a TAN field has the pixel scale of its CD matrix at the reference pixel', () => {
    const w = tan([30, 60]);
    expect(w.linearPixelScale).toBeCloseTo(3.6, 12);
    expect(Math.abs(w.pixelScale(99.5, 49.5) - 3.6)).toBeLessThan(1e-6);
    // Away from the tangent point TAN pixels shrink on the sky as cos^2 of the angle (area ~ cos^3).
    const off = 1000; // pixels = 1 degree
    const rho = Math.atan((off * 1e-3) / R2D);
    expect(Math.abs(w.pixelScale(99.5, 49.5 + off) / 3.6 - Math.cos(rho) ** 1.5)).toBeLessThan(1e-6);
  });
});

describe('batched calls', () => {
  const w = tan([200, 45]);
  const xs = Float64Array.from({ length: 1000 }, (_, i) => (i * 7.3) % 200 - 3);
  const ys = Float64Array.from({ length: 1000 }, (_, i) => (i * 3.1) % 100 - 2);

  it('give exactly the scalar results and reuse output arrays', () => {
    const sky = w.pixelToSkyMany(xs, ys);
    for (let i = 0; i < xs.length; i++) expect([sky.ra[i], sky.dec[i]]).toEqual(w.pixelToSky(xs[i]!, ys[i]!));
    const out = { ra: new Float64Array(1000), dec: new Float64Array(1000) };
    const again = w.pixelToSkyMany(xs, ys, out);
    expect(again.ra).toBe(out.ra);
    expect(Array.from(again.ra)).toEqual(Array.from(sky.ra));
    const pix = w.skyToPixelMany(sky.ra, sky.dec);
    let max = 0;
    for (let i = 0; i < xs.length; i++) max = Math.max(max, Math.abs(pix.x[i]! - xs[i]!), Math.abs(pix.y[i]! - ys[i]!));
    expect(max).toBeLessThan(1e-9);
  });

  it('reject arrays of different lengths', () => {
    expect(() => w.pixelToSkyMany([1, 2], [1])).toThrow(RangeError);
    expect(() => w.skyToPixelMany([1], [1, 2])).toThrow(RangeError);
    expect(() => w.pixelToSkyMany([1, 2], [1, 2], { ra: new Float64Array(1), dec: new Float64Array(1) })).toThrow(RangeError);
  });
});

describe('outside the projection', () => {
  it('TAN: the far hemisphere gives NaN pixels; the batch goes on after it', () => {
    const w = tan([10, 20]);
    const pix = w.skyToPixelMany([190, 10], [-20, 20]);
    expect(Number.isNaN(pix.x[0])).toBe(true);
    expect(Number.isNaN(pix.y[0])).toBe(true);
    expect(Math.abs(pix.x[1]! - 99.5)).toBeLessThan(1e-9);
  });

  it('SIN: pixels beyond the limb give NaN sky coordinates', () => {
    const w = wcsOf([['CTYPE1', 'RA---SIN'], ['CTYPE2', 'DEC--SIN'], ['CRVAL1', 0], ['CRVAL2', 0], ['CRPIX1', 1], ['CRPIX2', 1], ['CDELT1', -1], ['CDELT2', 1]]);
    const inside = w.pixelToSky(0, 50);
    expect(Number.isFinite(inside[0])).toBe(true);
    expect(w.pixelToSky(0, 58).every(Number.isNaN)).toBe(true); // r = 58 deg > R0 = 57.3 deg
  });
});

describe('descriptive fields', () => {
  it('report CTYPE, axes, frame and footprint', () => {
    const w = tan([10, 20], [['RADESYS', 'FK5'], ['EQUINOX', 2000]]);
    expect(w.ctype).toEqual(['RA---TAN', 'DEC--TAN']);
    expect([w.lngAxis, w.latAxis, w.lngType, w.latType]).toEqual([1, 2, 'RA', 'DEC']);
    expect([w.radesys, w.equinox]).toEqual(['FK5', 2000]);
    expect(w.projectionCode).toBe('TAN');
    expect(w.distortion).toBe('none');
    expect(w.imageSize).toEqual([200, 100]);
    const corners = w.footprint()!;
    expect(corners.length).toBe(4);
    expect(corners[2]).toEqual(w.pixelToSky(199.5, 99.5));
    // The image diagonal: 200 x 100 pixels of 3.6 arcsec, ~0.2236 deg (TAN, small field).
    const diag = angularSeparation(corners[0]![0], corners[0]![1], corners[2]![0], corners[2]![1]);
    expect(Math.abs(diag - Math.hypot(0.2, 0.1))).toBeLessThan(1e-5);
  });
});

describe('the vector fast path agrees with the angle formulas of Paper II', () => {
  it('rotation: eq. (2)/(5) in angles vs the 3x3 matrix, to 1e-11 deg, incl. native poles at +-90', () => {
    const rotations = [
      new CelestialRotation({ lng0: 150.3, lat0: -30.2, phi0: 0, theta0: 90 }),
      new CelestialRotation({ lng0: 80, lat0: 30, phi0: 0, theta0: 0 }),
      new CelestialRotation({ lng0: 0, lat0: 0, phi0: 0, theta0: 0 }), // native pole = celestial north pole
      new CelestialRotation({ lng0: 250, lat0: -40, phi0: 0, theta0: 0, latpole: -30 }),
      new CelestialRotation({ lng0: 10, lat0: 89.7, phi0: 0, theta0: 90, lonpole: 120 }),
    ];
    const a = new Float64Array(3);
    const v = new Float64Array(3);
    let maxSep = 0;
    let maxNative = 0;
    for (const rot of rotations) {
      for (let phi = -179; phi <= 179; phi += 17.3) {
        for (let theta = -89; theta <= 89; theta += 11.7) {
          rot.nativeToCelestial(phi, theta, a);
          const t = (theta * Math.PI) / 180;
          const p = (phi * Math.PI) / 180;
          rot.nativeVectorToCelestial(Math.cos(t) * Math.cos(p), Math.cos(t) * Math.sin(p), Math.sin(t), v);
          maxSep = Math.max(maxSep, angularSeparation(a[0]!, a[1]!, v[0]!, v[1]!));
          rot.celestialToNativeVector(a[0]!, a[1]!, v);
          const back = [Math.atan2(v[1]!, v[0]!) * R2D, Math.asin(v[2]!) * R2D];
          rot.celestialToNative(a[0]!, a[1]!, a);
          maxNative = Math.max(maxNative, angularSeparation(a[0]!, a[1]!, back[0]!, back[1]!), angularSeparation(a[0]!, a[1]!, phi, theta));
        }
      }
    }
    expect(maxSep).toBeLessThan(1e-11);
    expect(maxNative).toBeLessThan(1e-11);
  });

  it('zenithal projections: the algebraic native vector points where (phi, theta) does, to 1e-12 rad', () => {
    const codes = ['TAN', 'SIN', 'ZEA', 'STG', 'ARC'] as const;
    const o = new Float64Array(3);
    for (const code of codes) {
      const proj = makeProjection(code, { latitudeParameters: new Map() });
      let worst = 0;
      for (let x = -40; x <= 40; x += 7.7) {
        for (let y = -40; y <= 40; y += 6.1) {
          proj.planeToNative(x, y, o);
          const t = (o[1]! * Math.PI) / 180;
          const p = (o[0]! * Math.PI) / 180;
          const ref = [Math.cos(t) * Math.cos(p), Math.cos(t) * Math.sin(p), Math.sin(t)];
          proj.planeToVector(x, y, o);
          const n = Math.hypot(o[0]!, o[1]!, o[2]!);
          worst = Math.max(worst, Math.hypot(o[0]! / n - ref[0]!, o[1]! / n - ref[1]!, o[2]! / n - ref[2]!));
          // And back: the unit vector to the plane returns (x, y).
          proj.vectorToPlane(ref[0]!, ref[1]!, ref[2]!, o);
          worst = Math.max(worst, (Math.abs(o[0]! - x) + Math.abs(o[1]! - y)) / 57.3);
        }
      }
      expect(worst, code).toBeLessThan(1e-12);
    }
  });
});
