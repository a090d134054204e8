// The simulator tested as an instrument, by independent measurements of its own images (issue 3):
// flat-sky variance, the flux of a noise-free star, the FWHM of stacked stars against the truth PSF,
// centroids against the true WCS, and the artifact masks against the image minus its artifact-free
// rendering. All on `tiny`-preset detectors (512x1024 px).
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { makeCamera, type Camera } from '../../lib/sim/camera.js';
import { planVisits, magToElectrons, type Visit } from '../../lib/sim/observations.js';
import { simulateExposure, detectorPlacement, TRUTH_MASK_PLANES, type SimulatedExposure } from '../../lib/sim/simulateExposure.js';
import { defaultSkyModel, truthPsfField } from '../../lib/sim/skyModel.js';
import { exposureTruthFits } from '../../lib/sim/truthFiles.js';
import { readFitsBytes } from '../../lib/fits/index.js';
import { makeSkyCatalog } from '../../lib/sim/skyCatalog.js';
import { trueFlat, trueMasterBias } from '../../lib/sim/calibrationFrames.js';
import { makeDefects } from '../../lib/sim/defects.js';
import { assembleFromRaw } from '../../lib/sim/rawFrame.js';
import { detectorWcsHeader, detectorToFocalPlane, DEFAULT_DISTORTION_K1 } from '../../lib/sim/opticalModel.js';
import { satelliteTrail } from '../../lib/sim/artifacts.js';
import { matchedFilterSnr } from '../../lib/sim/snr.js';
import { Random } from '../../lib/sim/random.js';
import { parseWcs } from '../../lib/wcs/index.js';
import type { SkyObject } from '../../lib/sim/types.js';

const sky = defaultSkyModel();
const optics = { pixelScale: 0.168, k1: DEFAULT_DISTORTION_K1 };
const FIELD_RADIUS = 1200;
let tessera: Tessera;
let camera: Camera;
let visit: Visit;

beforeAll(async () => {
  tessera = await loadTessera('release');
  camera = makeCamera('tiny', { seed: 11 });
  visit = planVisits({
    seed: 11, bands: ['r'], visitsPerBand: 1, center: { ra: 150.1, dec: 2.2 }, exposureTime: 30, ditherArcsec: 0, rotationDeg: 1,
    pointingErrorArcsec: 3, rotationErrorDeg: 0.005, trailFraction: 0, focalPlaneRadiusPx: FIELD_RADIUS,
  })[0]!;
});

function expose(objects: SkyObject[], options: { crRate?: number; trail?: boolean; brightStars?: { id: number; fx: number; fy: number; electrons: number }[] } = {}): SimulatedExposure {
  const trail = options.trail ? satelliteTrail(Random.stream(3, 'trail'), 600, 600, 0.168, 30) : undefined;
  return simulateExposure({
    tessera, camera, detector: 0, visit, objects,
    makePsf: (toFocalPlane) => sky.psf(visit, toFocalPlane, optics.pixelScale, FIELD_RADIUS),
    galaxyProfile: sky.galaxyProfile, convolve: sky.convolve, optics, seed: 5,
    crRatePerCm2PerMin: options.crRate ?? 0, brightStars: options.brightStars ?? [], trail,
  });
}

/** Stars of magnitude `mag` on a grid (spacing px) over the detector, placed through the true WCS. */
function starGrid(spacing: number, mag: (k: number) => number, jitter = 0.37): SkyObject[] {
  const detector = camera.detectors[0]!;
  const wcs = parseWcs(detectorWcsHeader(visit.truth, detectorPlacement(camera, detector), optics))!;
  const stars: SkyObject[] = [];
  let k = 0;
  for (let y = 30; y < detector.height - 30; y += spacing) {
    for (let x = 30; x < detector.width - 30; x += spacing) {
      const [ra, dec] = wcs.pixelToSky(x + ((k * jitter) % 1), y + ((k * 0.61) % 1));
      const m = mag(k);
      stars.push({ id: 1000 + k, ra, dec, kind: 'star', mag: { g: m + 0.5, r: m, i: m - 0.2 } });
      k++;
    }
  }
  return stars;
}

describe('the simulated detector as an instrument', () => {
  it('has flat-sky variance within 2 % of sky/gain + read noise^2 (measured on the raw frame)', () => {
    const e = expose([]);
    const detector = e.detector;
    const electrons = assembleFromRaw(camera, detector, e.raw);
    const bias = trueMasterBias(camera, detector);
    for (const amp of detector.amplifiers) {
      const { x0, y0, width, height } = amp.dataBox;
      let sumR2 = 0, sumExpected = 0, n = 0;
      for (let y = y0 + 40; y < y0 + height - 40; y++) {
        for (let x = x0 + 20; x < x0 + width - 20; x++) {
          const i = y * detector.width + x;
          if (e.mask[i] !== 0) continue;
          const expected = e.planes.sky[i]! + e.planes.artifacts[i]!;
          const r = electrons[i]! - bias[i]! - expected;
          sumR2 += r * r;
          sumExpected += expected + amp.readNoise ** 2;
          n++;
        }
      }
      // In ADU: var = (sky e-) / gain^2 + (read noise / gain)^2 = (sky ADU) / gain + (read noise ADU)^2.
      const ratio = sumR2 / sumExpected;
      expect(n).toBeGreaterThan(50_000);
      expect(Math.abs(ratio - 1)).toBeLessThan(0.02);
    }
  });

  it('renders a noise-free star whose sum within 20 FWHM is its flux to 0.1 %', () => {
    const detector = camera.detectors[0]!;
    const wcs = parseWcs(detectorWcsHeader(visit.truth, detectorPlacement(camera, detector), optics))!;
    const [ra, dec] = wcs.pixelToSky(255.3, 511.8);
    const e = expose([{ id: 1, ra, dec, kind: 'star', mag: { g: 18.5, r: 18, i: 17.8 } }]);
    const flat = trueFlat(camera, detector, visit.band, makeDefects(camera, detector));
    const source = e.sources[0]!;
    const fwhm = sky.psf(visit, (x, y) => detectorToFocalPlane(e.placement, x, y), 0.168, FIELD_RADIUS).fwhmAt(source.x, source.y);
    const reach = 20 * fwhm;
    let sum = 0;
    for (let y = Math.max(0, Math.floor(source.y - reach)); y <= Math.min(detector.height - 1, Math.ceil(source.y + reach)); y++) {
      for (let x = Math.max(0, Math.floor(source.x - reach)); x <= Math.min(detector.width - 1, Math.ceil(source.x + reach)); x++) {
        if (Math.hypot(x - source.x, y - source.y) <= reach) sum += e.planes.sources[y * detector.width + x]! / flat[y * detector.width + x]!;
      }
    }
    expect(source.flux).toBeCloseTo(magToElectrons(visit, 18), 6);
    expect(Math.abs(sum / source.flux - 1)).toBeLessThan(1e-3);
  });

  describe('on a grid of bright stars', () => {
    let e: SimulatedExposure;
    let snr: Float64Array;
    beforeAll(() => {
      e = expose(starGrid(36, (k) => 17.6 + (k % 7) * 0.45));
      snr = matchedFilterSnr(tessera, e);
    });

    it('gives stacked stars a FWHM within 1 % of the truth PSF', () => {
      const w = e.detector.width;
      const psf = sky.psf(visit, (x, y) => detectorToFocalPlane(e.placement, x, y), 0.168, FIELD_RADIUS);
      // Radial profile of all stars with S/N > 200 (normalised by flux), in 0.1-px bins to 8 px.
      const bins = 80;
      const sum = new Float64Array(bins), count = new Float64Array(bins);
      let truthFwhm = 0, used = 0;
      e.sources.forEach((s, k) => {
        if (snr[k]! < 200 || snr[k]! > 3000) return;
        used++;
        truthFwhm += psf.fwhmAt(s.x, s.y);
        for (let y = Math.floor(s.y - 8); y <= Math.ceil(s.y + 8); y++) {
          for (let x = Math.floor(s.x - 8); x <= Math.ceil(s.x + 8); x++) {
            const r = Math.hypot(x - s.x, y - s.y);
            const b = Math.floor(r / 0.1);
            if (b >= bins) continue;
            const i = y * w + x;
            sum[b]! += (e.electrons[i]! - e.planes.sky[i]! - e.planes.artifacts[i]!) / s.flux;
            count[b]!++;
          }
        }
      });
      truthFwhm /= used;
      const profile = Array.from(sum, (v, b) => v / Math.max(count[b]!, 1));
      // Peak: a quadratic in r^2 fitted to the bins inside r < 0.6 px (least squares).
      let s0 = 0, s1 = 0, s2 = 0, t0 = 0, t1 = 0;
      for (let b = 0; b < 6; b++) {
        if (!count[b]) continue;
        const r2 = ((b + 0.5) * 0.1) ** 2;
        s0 += count[b]!; s1 += count[b]! * r2; s2 += count[b]! * r2 * r2; t0 += sum[b]!; t1 += sum[b]! * r2;
      }
      const slope = (s0 * t1 - s1 * t0) / (s0 * s2 - s1 * s1);
      const peak = (t0 - slope * s1) / s0;
      let half = NaN;
      for (let b = 1; b < bins; b++) {
        if (profile[b - 1]! >= peak / 2 && profile[b]! < peak / 2) {
          const r0 = (b - 0.5) * 0.1, r1 = (b + 0.5) * 0.1;
          half = r0 + ((profile[b - 1]! - peak / 2) / (profile[b - 1]! - profile[b]!)) * (r1 - r0);
          break;
        }
      }
      expect(used).toBeGreaterThan(30);
      expect(Math.abs((2 * half) / truthFwhm - 1)).toBeLessThan(0.01);
    });

    it('places S/N > 100 star centroids within 0.02 px (rms) of the true WCS positions, unbiased', () => {
      const w = e.detector.width;
      const psf = sky.psf(visit, (x, y) => detectorToFocalPlane(e.placement, x, y), 0.168, FIELD_RADIUS);
      const dx: number[] = [], dy: number[] = [];
      e.sources.forEach((s, k) => {
        if (snr[k]! < 100 || e.mask[Math.round(s.y) * w + Math.round(s.x)] !== 0) return;
        // Gaussian-weighted centroid (SdssCentroid-like), iterated from the nearest pixel.
        const sigma = psf.fwhmAt(s.x, s.y) / 2.3548;
        let cx = Math.round(s.x), cy = Math.round(s.y);
        for (let it = 0; it < 10; it++) {
          let sw = 0, sx = 0, sy = 0;
          for (let y = Math.floor(cy - 4 * sigma); y <= Math.ceil(cy + 4 * sigma); y++) {
            for (let x = Math.floor(cx - 4 * sigma); x <= Math.ceil(cx + 4 * sigma); x++) {
              const i = y * w + x;
              const v = e.electrons[i]! - e.planes.sky[i]! - e.planes.artifacts[i]!;
              const g = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma));
              sw += g * v; sx += g * v * x; sy += g * v * y;
            }
          }
          // The weighted centroid of a symmetric profile with a matched weight converges to its centre.
          const nx = sx / sw, ny = sy / sw;
          cx = cx + 2 * (nx - cx); cy = cy + 2 * (ny - cy);
        }
        dx.push(cx - s.x);
        dy.push(cy - s.y);
      });
      const rms = Math.sqrt(dx.concat(dy).reduce((a, v) => a + v * v, 0) / (2 * dx.length));
      const meanX = dx.reduce((a, v) => a + v, 0) / dx.length;
      const meanY = dy.reduce((a, v) => a + v, 0) / dy.length;
      expect(dx.length).toBeGreaterThan(50);
      expect(rms).toBeLessThan(0.02);
      expect(Math.abs(meanX)).toBeLessThan(3 * rms / Math.sqrt(dx.length) + 0.002);
      expect(Math.abs(meanY)).toBeLessThan(3 * rms / Math.sqrt(dy.length) + 0.002);
    });
  });

  it('puts >= 99 % of 5-sigma residual pixels inside the artifact masks, and >= 99 % of strong artifact pixels above 5 sigma', () => {
    const detector = camera.detectors[0]!;
    const wcs = parseWcs(detectorWcsHeader(visit.truth, detectorPlacement(camera, detector), optics))!;
    const [ra, dec] = wcs.pixelToSky(256, 512);
    const { objects } = makeSkyCatalog({ seed: 9, centerRa: ra, centerDec: dec, radiusDeg: 0.05, galacticLatitude: 3, magLimit: 25, nBrightStars: 2, nLargeGalaxies: 1 });
    // A bright star whose ghost lands on the detector; a trail; ten times the cosmic-ray rate for statistics.
    const [gx, gy] = detectorToFocalPlane(detectorPlacement(camera, detector), 200, 700);
    const e = expose(objects, { crRate: 25, trail: true, brightStars: [{ id: 7, fx: gx / 0.85, fy: gy / 0.85, electrons: 5e9 }] });
    const n = e.electrons.length;
    const artifactBits = Object.values(TRUTH_MASK_PLANES).reduce((a: number, b: number) => a | (1 << b), 0);
    let outliers = 0, outliersMasked = 0, strong = 0, strongDetected = 0;
    const kinds = { cr: 0, streak: 0, ghost: 0 };
    for (let i = 0; i < n; i++) {
      const clean = e.planes.sky[i]! + e.planes.sources[i]!;
      const sigma = Math.sqrt(Math.max(clean, 1));
      const residual = (e.electrons[i]! - clean) / sigma;
      const m = e.mask[i]!;
      if (Math.abs(residual) > 5) {
        outliers++;
        if (m & artifactBits) outliersMasked++;
      }
      const onlyOptical = m & ((1 << TRUTH_MASK_PLANES.CR) | (1 << TRUTH_MASK_PLANES.STREAK) | (1 << TRUTH_MASK_PLANES.GHOST));
      if (onlyOptical && !(m & ((1 << TRUTH_MASK_PLANES.SAT) | (1 << TRUTH_MASK_PLANES.BAD))) && e.planes.artifacts[i]! > 8 * sigma) {
        strong++;
        if (residual > 5) strongDetected++;
        if (m & (1 << TRUTH_MASK_PLANES.CR)) kinds.cr++;
        if (m & (1 << TRUTH_MASK_PLANES.STREAK)) kinds.streak++;
        if (m & (1 << TRUTH_MASK_PLANES.GHOST)) kinds.ghost++;
      }
    }
    expect(e.cosmicRays.length).toBeGreaterThan(5);
    expect(e.ghosts.length).toBe(1);
    expect(kinds.cr).toBeGreaterThan(50);
    expect(outliers).toBeGreaterThan(200);
    expect(outliersMasked / outliers).toBeGreaterThanOrEqual(0.99);
    expect(strong).toBeGreaterThan(100);
    expect(strongDetected / strong).toBeGreaterThanOrEqual(0.99);
  });

  it('records the true PSF in the truth file so it can be evaluated anywhere on the detector', () => {
    const e = expose(starGrid(200, () => 19));
    const bytes = exposureTruthFits(e, new Float64Array(e.sources.length), sky.psfCards(visit, FIELD_RADIUS, 0.168), { images: false });
    const header = readFitsBytes('truth.fits', bytes).hdus[0]!.header;
    const rebuilt = truthPsfField(header, 'truth.fits');
    const original = sky.psf(visit, (x, y) => detectorToFocalPlane(e.placement, x, y), 0.168, FIELD_RADIUS);
    for (const [x, y] of [[0, 0], [511, 1023], [100.5, 700.25]] as const) {
      expect(rebuilt.at(x, y)).toEqual(original.at(x, y));
    }
    expect(() => truthPsfField(readFitsBytes('x', bytes).hdus[1]!.header, 'x.fits')).toThrow(/x\.fits: no DETORIGX/);
  });

  it('is deterministic: the same inputs give bit-identical raw frames', () => {
    const objects = starGrid(100, () => 19);
    const a = expose(objects, { crRate: 5 });
    const b = expose(objects, { crRate: 5 });
    expect(Buffer.from(a.raw.data.buffer).equals(Buffer.from(b.raw.data.buffer))).toBe(true);
  });
});
