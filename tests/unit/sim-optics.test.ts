// The optical model's detector WCS: plate scale and orientation at the boresight, the radial
// distortion it encodes, flipped detectors, and astropy reading the same header identically.
import { describe, expect, it } from 'vitest';
import { detectorWcsHeader, DEFAULT_DISTORTION_K1 } from '../../lib/sim/opticalModel.js';
import { parseWcs, angularSeparation } from '../../lib/wcs/index.js';
import { planVisits, mjdToIso, magToElectrons } from '../../lib/sim/observations.js';
import { runPythonJson } from '../helpers/python.js';

const optics = { pixelScale: 0.168, k1: DEFAULT_DISTORTION_K1 };
const pointing = { ra: 150.1, dec: 2.2, rotation: 30 };

describe('detectorWcsHeader', () => {
  it('puts the boresight at the pointing with the plate scale and position angle', () => {
    const wcs = parseWcs(detectorWcsHeader(pointing, { originX: -500, originY: -1000, rotationDeg: 0 }, optics))!;
    const [ra, dec] = wcs.pixelToSky(500, 1000);
    expect(angularSeparation(ra, dec, pointing.ra, pointing.dec) * 3600).toBeLessThan(1e-9);
    // One pixel along +y from the boresight moves 0.168" towards position angle 30 deg.
    const [ra2, dec2] = wcs.pixelToSky(500, 1001);
    const dEast = (ra2 - ra) * Math.cos((dec * Math.PI) / 180) * 3600;
    const dNorth = (dec2 - dec) * 3600;
    expect(Math.hypot(dEast, dNorth)).toBeCloseTo(0.168, 6);
    expect((Math.atan2(dEast, dNorth) * 180) / Math.PI).toBeCloseTo(30, 4);
  });

  it('encodes r_sky = r_fp (1 + k1 r_fp^2) radial distortion', () => {
    const wcs = parseWcs(detectorWcsHeader({ ...pointing, rotation: 0 }, { originX: 15000, originY: 0, rotationDeg: 0 }, optics))!;
    const r = 16000; // focal-plane pixels from the axis along x
    const [ra, dec] = wcs.pixelToSky(r - 15000, 0);
    const angle = angularSeparation(ra, dec, pointing.ra, pointing.dec) * 3600;
    // TAN: angle = atan(r_sky * scale) for the intermediate coordinate r_sky (in radians of the projection plane).
    const rSkyDeg = r * (1 + optics.k1 * r * r) * (0.168 / 3600);
    const expected = (Math.atan((rSkyDeg * Math.PI) / 180) * 180) / Math.PI * 3600;
    expect(Math.abs(angle - expected)).toBeLessThan(1e-6);
    expect(angle - r * 0.168).toBeGreaterThan(20); // ~27" of pincushion at 16,000 px
  });

  it('maps a detector mounted at 180 deg to the same sky as the unflipped focal-plane position', () => {
    const plain = parseWcs(detectorWcsHeader(pointing, { originX: 1000, originY: 2000, rotationDeg: 0 }, optics))!;
    const flipped = parseWcs(detectorWcsHeader(pointing, { originX: 1000 + 511, originY: 2000 + 1023, rotationDeg: 180 }, optics))!;
    for (const [x, y] of [[0, 0], [100.5, 300.25], [511, 1023]] as const) {
      const [a, b] = plain.pixelToSky(x, y);
      const [c, d] = flipped.pixelToSky(511 - x, 1023 - y);
      expect(angularSeparation(a, b, c, d) * 3600e3).toBeLessThan(1e-6);
    }
  });

  it('reads the same in astropy (all_pix2world within 1e-7 mas-scale tolerance of 1e-6")', () => {
    const header = detectorWcsHeader(pointing, { originX: 8000, originY: -3000, rotationDeg: 0 }, optics);
    const wcs = parseWcs(header)!;
    const cards = Object.fromEntries(header.cards.filter((c) => !c.commentary).map((c) => [c.key, c.value]));
    const pts = [[0, 0], [2047, 4175], [1000.3, 2000.7]];
    const theirs = runPythonJson<number[][]>(`
import sys, json
from astropy.io import fits
from astropy.wcs import WCS
h = fits.Header(); [h.set(k, v) for k, v in json.loads(sys.argv[1]).items()]
w = WCS(h)
print(json.dumps(w.all_pix2world(json.loads(sys.argv[2]), 0).tolist()))`, [JSON.stringify(cards), JSON.stringify(pts)]);
    pts.forEach(([x, y], k) => {
      const [ra, dec] = wcs.pixelToSky(x!, y!);
      expect(angularSeparation(ra, dec, theirs[k]![0]!, theirs[k]![1]!) * 3600).toBeLessThan(1e-6);
    });
  });
});

describe('planVisits', () => {
  const plan = {
    seed: 5, bands: ['g', 'r', 'i'] as const, visitsPerBand: 3, center: { ra: 150, dec: 2 }, exposureTime: 30,
    ditherArcsec: 60, rotationDeg: 2, pointingErrorArcsec: 3, rotationErrorDeg: 0.005, trailFraction: 0.3, focalPlaneRadiusPx: 3000,
  };

  it('is deterministic and within the stated ranges', () => {
    const a = planVisits({ ...plan, bands: [...plan.bands] });
    expect(planVisits({ ...plan, bands: [...plan.bands] })).toEqual(a);
    expect(a.length).toBe(9);
    expect(new Set(a.map((v) => v.visit)).size).toBe(9);
    for (const v of a) {
      expect(v.seeing).toBeGreaterThanOrEqual(0.5);
      expect(v.seeing).toBeLessThanOrEqual(1.0);
      expect(Math.abs(v.nominal.dec - 2) * 3600).toBeLessThanOrEqual(60);
      const miss = angularSeparation(v.nominal.ra, v.nominal.dec, v.truth.ra, v.truth.dec) * 3600;
      expect(miss).toBeLessThan(20); // 3" rms per axis: 20" is a > 6-sigma miss
      expect(mjdToIso(v.mjd)).toMatch(/^2024-10-17T/);
    }
  });

  it('converts magnitudes to electrons with the zero point', () => {
    const v = planVisits({ ...plan, bands: ['r'] })[0]!;
    expect(magToElectrons(v, v.zeroPoint)).toBeCloseTo(30, 10);
    expect(magToElectrons(v, v.zeroPoint - 2.5) / magToElectrons(v, v.zeroPoint)).toBeCloseTo(10, 10);
  });
});
