// The pieces of lib/astrometry on exact or synthetic inputs: the tangent plane against lib/wcs's TAN,
// the grid index against brute force, one-to-one matching, the similarity fit, scipy's sigmaclip, the
// pattern matcher on a shifted/rotated/scaled copy of a point set, and the TAN-SIP fitter recovering the
// simulator's distorted WCS from noise-free matches (to micro-arcseconds), rejecting outliers, lowering
// its order with few matches and failing (not throwing) on degenerate input.
import { describe, expect, it } from 'vitest';
import { FitsHeader } from '../../lib/fits/header.js';
import {
  TangentPlane, PointGrid, matchOneToOne, fitSimilarity, applySimilarity, similarityRotationDeg, similarityScale,
  sigmaClipUpper, matchPatterns, fitTanSipWcs, fitSipInverse, usableOrder, type PatternMatchConfig,
} from '../../lib/astrometry/index.js';
import { detectorWcsHeader, DEFAULT_DISTORTION_K1 } from '../../lib/sim/opticalModel.js';
import { Random } from '../../lib/sim/random.js';
import { angularSeparation, parseWcs } from '../../lib/wcs/index.js';
import { Polynomial2 } from '../../lib/wcs/polynomial.js';
import { runPythonJson } from '../helpers/python.js';

describe('TangentPlane', () => {
  it('gives the intermediate world coordinates of a TAN WCS centred on the tangent point (to 1e-12 deg)', () => {
    const h = new FitsHeader().set('CTYPE1', 'RA---TAN').set('CTYPE2', 'DEC--TAN').set('CRVAL1', 150.1).set('CRVAL2', -32.5)
      .set('CRPIX1', 1).set('CRPIX2', 1).set('CD1_1', 1e-3).set('CD1_2', 0).set('CD2_1', 0).set('CD2_2', 1e-3);
    const wcs = parseWcs(h)!;
    const plane = new TangentPlane(150.1, -32.5);
    const out = [0, 0];
    for (const [x, y] of [[0, 0], [300, -200], [-900, 700], [1500, 1500]] as const) {
      const [ra, dec] = wcs.pixelToSky(x, y);
      plane.project(ra, dec, out);
      expect(Math.abs(out[0]! - x * 1e-3)).toBeLessThan(1e-12);
      expect(Math.abs(out[1]! - y * 1e-3)).toBeLessThan(1e-12);
      const [ra2, dec2] = plane.deproject(out[0]!, out[1]!);
      expect(angularSeparation(ra, dec, ra2, dec2) * 3.6e6).toBeLessThan(1e-6);
    }
  });

  it('has no projection on the far hemisphere and wraps RA into [0, 360)', () => {
    const plane = new TangentPlane(0.01, 0);
    const out = [0, 0];
    plane.project(180, 0, out);
    expect(Number.isNaN(out[0]!)).toBe(true);
    const [ra] = plane.deproject(-1, 0);
    expect(ra).toBeGreaterThan(358);
    expect(() => new TangentPlane(0, 91)).toThrow(RangeError);
  });
});

describe('PointGrid and matchOneToOne', () => {
  const rng = Random.stream(4, 'grid');
  const n = 2000;
  const xs = Float64Array.from({ length: n }, () => rng.range(-500, 500));
  const ys = Float64Array.from({ length: n }, () => rng.range(-300, 300));
  xs[17] = NaN;

  it('finds exactly the points a brute-force search finds, and the same nearest one', () => {
    const grid = new PointGrid(xs, ys, 7);
    for (let q = 0; q < 200; q++) {
      const x = rng.range(-550, 550), y = rng.range(-350, 350), r = rng.range(0, 40);
      const found: number[] = [];
      grid.forEachWithin(x, y, r, (i) => found.push(i));
      const brute: number[] = [];
      let best = -1, bestD = Infinity;
      for (let i = 0; i < n; i++) {
        const d = Math.hypot(xs[i]! - x, ys[i]! - y);
        if (d <= r) brute.push(i);
        if (d <= r && d < bestD) { bestD = d; best = i; }
      }
      expect(found.sort((a, b) => a - b)).toEqual(brute);
      expect(grid.nearest(x, y, r)).toBe(best);
    }
  });

  it('bounds its memory when the cell size is tiny', () => {
    const grid = new PointGrid(xs, ys, 1e-9);
    const found: number[] = [];
    grid.forEachWithin(0, 0, 50, (i) => found.push(i));
    expect(found.length).toBeGreaterThan(0);
  });

  it('matches one to one, closest pairs first', () => {
    // Two sources near one reference: only the closer gets it; the other takes its next reference.
    const grid = new PointGrid([0, 3], [0, 0], 1);
    const m = matchOneToOne([0.2, -0.1, 2.8], [0, 0, 0], grid, 1);
    expect(m).toEqual([{ source: 1, ref: 0, distance: 0.1 }, { source: 2, ref: 1, distance: expect.closeTo(0.2, 12) }]);
  });
});

describe('fitSimilarity and sigmaClipUpper', () => {
  it('recovers a shift, rotation and scale exactly', () => {
    const t = { a: 1.01 * Math.cos(0.02), b: 1.01 * Math.sin(0.02), tx: 60, ty: -25 };
    const x = [0, 100, -50, 300, 20], y = [0, 10, 80, -40, 200];
    const out = [0, 0];
    const u = x.map((xi, k) => { applySimilarity(t, xi, y[k]!, out); return out[0]!; });
    const v = x.map((xi, k) => { applySimilarity(t, xi, y[k]!, out); return out[1]!; });
    const f = fitSimilarity(x, y, u, v)!;
    expect(similarityScale(f)).toBeCloseTo(1.01, 12);
    expect(similarityRotationDeg(f)).toBeCloseTo((0.02 * 180) / Math.PI, 10);
    expect(f.tx).toBeCloseTo(60, 9);
    expect(f.ty).toBeCloseTo(-25, 9);
    expect(fitSimilarity([1], [1], [2], [2])).toBeUndefined();
  });

  it('agrees with scipy.stats.sigmaclip(low=100, high=2) to 1e-12', () => {
    const rng = Random.stream(9, 'clip');
    const values = Array.from({ length: 300 }, (_, k) => (k % 20 === 0 ? 5 + rng.uniform() : Math.abs(rng.normal())));
    const theirs = runPythonJson<number>(`
import sys, json
from scipy.stats import sigmaclip
print(json.dumps(float(sigmaclip(json.loads(sys.argv[1]), low=100, high=2)[2])))`, [JSON.stringify(values)]);
    expect(Math.abs(sigmaClipUpper(values, 100, 2) - theirs)).toBeLessThan(1e-12);
  });
});

describe('matchPatterns', () => {
  const config: PatternMatchConfig = {
    numBrightStars: 200, minMatchedPairs: 30, minFracMatchedPairs: 0.3, matcherIterations: 3, numPointsForShape: 6,
    numPointsForShapeAttempt: 6, maxShift: 130, maxRotationDeg: 2, maxScaleError: 0.02, matchTolerance: 1,
    minMatchDist: 0.17, maxCandidateTests: 250_000,
  };
  // 150 references over 600" x 900"; the sources are 100 of them (brightest first, 1 in 5 missing among
  // the first 20) plus 30 spurious, seen through a shift of (70", -40"), a 1.5 deg rotation and a 0.8 %
  // scale error, with 0.05" of position noise.
  const rng = Random.stream(2, 'pattern');
  const rx = Float64Array.from({ length: 150 }, () => rng.range(-300, 300));
  const ry = Float64Array.from({ length: 150 }, () => rng.range(-450, 450));
  const rot = (1.5 * Math.PI) / 180, k = 1 / 1.008;
  const truthRefOf: number[] = [];
  const sx: number[] = [], sy: number[] = [];
  for (let j = 0; j < 120; j++) {
    if (j < 20 && j % 5 === 2) continue;
    if (j % 4 === 3 && sx.length > 10) {
      sx.push(rng.range(-300, 300)); sy.push(rng.range(-450, 450)); truthRefOf.push(-1);
    }
    // Inverse of the source -> reference similarity, so that matching must find rot, scale and shift.
    const dx = rx[j]! - 70, dy = ry[j]! + 40;
    sx.push((k * (Math.cos(rot) * dx + Math.sin(rot) * dy)) + 0.05 * rng.normal());
    sy.push((k * (-Math.sin(rot) * dx + Math.cos(rot) * dy)) + 0.05 * rng.normal());
    truthRefOf.push(j);
  }

  it('finds the shift, rotation and scale and matches every true pair, no false one', () => {
    const r = matchPatterns({ x: sx, y: sy }, { x: rx, y: ry }, config);
    expect(r.found).toBe(true);
    if (!r.found) return;
    expect(r.rotationDeg).toBeCloseTo(1.5, 2);
    expect(r.scale).toBeCloseTo(1.008, 4);
    expect(Math.hypot(r.transform.tx - 70, r.transform.ty + 40)).toBeLessThan(0.1);
    const truePairs = truthRefOf.filter((j) => j >= 0).length;
    expect(r.matches.filter((m) => truthRefOf[m.source] === m.ref).length).toBe(truePairs);
    expect(r.matches.every((m) => truthRefOf[m.source] === m.ref)).toBe(true);
  });

  it('refuses a rotation beyond maxRotationDeg and stays within its work budget on random points', () => {
    expect(matchPatterns({ x: sx, y: sy }, { x: rx, y: ry }, { ...config, maxRotationDeg: 1 }).found).toBe(false);
    const gx = sx.map(() => rng.range(-300, 300)), gy = sy.map(() => rng.range(-450, 450));
    const r = matchPatterns({ x: gx, y: gy }, { x: rx, y: ry }, { ...config, maxCandidateTests: 20_000 });
    expect(r.found).toBe(false);
    expect(r.candidatesTested).toBeLessThanOrEqual(20_001);
    expect(matchPatterns({ x: sx.slice(0, 5), y: sy.slice(0, 5) }, { x: rx, y: ry }, config)).toMatchObject({ found: false, reason: 'tooFewPoints' });
  });
});

describe('fitTanSipWcs', () => {
  // The simulator's TRUE WCS of an HSC-size detector 10,800 px from the optical axis: TAN about the
  // boresight with radial distortion (SIP about a CRPIX far off the detector).
  const width = 2048, height = 4176;
  const trueWcs = parseWcs(detectorWcsHeader({ ra: 150.1, dec: 2.2, rotation: 20 }, { originX: 9000, originY: -6000, rotationDeg: 0 }, { pixelScale: 0.168, k1: DEFAULT_DISTORTION_K1 }))!;
  const rng = Random.stream(3, 'fit');
  const n = 300;
  const x = Array.from({ length: n }, () => rng.range(0, width - 1));
  const y = Array.from({ length: n }, () => rng.range(0, height - 1));
  const sky = x.map((xi, k) => trueWcs.pixelToSky(xi, y[k]!));
  const ra = sky.map((s) => s[0]), dec = sky.map((s) => s[1]);

  /** Largest separation (mas) between two WCSs over a 30 x 30 grid on the image. */
  const maxDifferenceMas = (w: typeof trueWcs): number => {
    let worst = 0;
    for (let i = 0; i < 30; i++) for (let j = 0; j < 30; j++) {
      const px = (i * (width - 1)) / 29, py = (j * (height - 1)) / 29;
      const [a, b] = trueWcs.pixelToSky(px, py);
      const [c, d] = w.pixelToSky(px, py);
      worst = Math.max(worst, angularSeparation(a, b, c, d) * 3.6e6);
    }
    return worst;
  };

  it('recovers the distorted WCS from noise-free matches to 0.01 mas, with an inverse good to 1e-3 px', () => {
    const fit = fitTanSipWcs({ x, y, ra, dec, width, height });
    expect(fit.ok).toBe(true);
    if (!fit.ok) return;
    expect(fit.order).toBe(3);
    expect(fit.nUsed).toBe(n);
    expect(fit.rmsArcsec * 1000).toBeLessThan(0.01);
    expect(maxDifferenceMas(fit.wcs)).toBeLessThan(0.01);
    expect(fit.inverseMaxErrorPx).toBeLessThan(1e-3);
    expect(fit.tangentPointResidualMas).toBeLessThan(1e-3);
    expect(fit.crpix).toEqual([(width + 1) / 2, (height + 1) / 2]);
    expect(fit.header.get('CTYPE1')).toBe('RA---TAN-SIP');
    expect(fit.header.get('AP_ORDER')).toBe(4);
    // The fitted WCS's inverse (lib/wcs: Newton from AP/BP) round-trips.
    const [fr, fd] = fit.wcs.pixelToSky(x[5]!, y[5]!);
    const [px, py] = fit.wcs.skyToPixel(fr, fd);
    expect(Math.hypot(px - x[5]!, py - y[5]!)).toBeLessThan(1e-8);
  });

  it('rejects gross outliers (3 sigma) and is not pulled by them', () => {
    const bad = [3, 50, 120, 200, 299];
    const dec2 = dec.map((d, k) => (bad.includes(k) ? d + 2 / 3600 : d));
    const noisy = x.map((xi) => xi + 0.03 * rng.normal());
    const fit = fitTanSipWcs({ x: noisy, y, ra, dec: dec2, width, height });
    expect(fit.ok).toBe(true);
    if (!fit.ok) return;
    for (const k of bad) expect(fit.used[k]).toBe(0);
    expect(fit.nUsed).toBeGreaterThanOrEqual(n - bad.length - 3);
    expect(maxDifferenceMas(fit.wcs)).toBeLessThan(5);
  });

  it('lowers the order with few matches and fails without throwing on too few or degenerate ones', () => {
    expect(usableOrder(3, 20)).toBe(3);
    expect(usableOrder(3, 19)).toBe(2);
    expect(usableOrder(3, 5)).toBe(1);
    expect(usableOrder(3, 2)).toBe(0);
    const few = fitTanSipWcs({ x: x.slice(0, 12), y: y.slice(0, 12), ra: ra.slice(0, 12), dec: dec.slice(0, 12), width, height });
    expect(few.ok && few.order).toBe(2);
    const tan = fitTanSipWcs({ x: x.slice(0, 4), y: y.slice(0, 4), ra: ra.slice(0, 4), dec: dec.slice(0, 4), width, height });
    expect(tan.ok && tan.header.get('CTYPE1')).toBe('RA---TAN');
    expect(fitTanSipWcs({ x: [1, 2], y: [1, 2], ra: [150, 150.001], dec: [2, 2], width, height })).toMatchObject({ ok: false, reason: 'tooFewMatches' });
    // All on one line: the fit is singular.
    const line = fitTanSipWcs({ x: [1, 2, 3, 4, 5, 6], y: [1, 2, 3, 4, 5, 6], ra: ra.slice(0, 6), dec: dec.slice(0, 6), width, height });
    expect(line.ok).toBe(false);
  });

  it('fits an SIP inverse whose error shrinks with its order', () => {
    // Radial distortion about CRPIX: A_3_0 = A_1_2 = B_0_3 = B_2_1 = 4e-11 (coefficient p * 4 + q).
    const ca = new Float64Array(16), cb = new Float64Array(16);
    ca[3 * 4 + 0] = 4e-11; ca[1 * 4 + 2] = 4e-11; cb[0 * 4 + 3] = 4e-11; cb[2 * 4 + 1] = 4e-11;
    const a = new Polynomial2(3, ca), b = new Polynomial2(3, cb);
    const e3 = fitSipInverse(a, b, 3, [1024.5, 2088.5], width, height)!.maxErrorPx;
    const e5 = fitSipInverse(a, b, 5, [1024.5, 2088.5], width, height)!.maxErrorPx;
    expect(e5).toBeLessThan(e3);
    expect(e5).toBeLessThan(1e-4);
  });
});
