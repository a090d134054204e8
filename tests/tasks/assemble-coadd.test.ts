// assembleCoadd on five simulated warps of one patch (stars, Gaussian noise, the model PSF in the
// PSF-matched warps): a satellite trail in one visit is clipped from that visit only (every trail pixel
// above 3 sigma in its artifact mask) and the coadd along it matches the truth; a cosmic-ray-like spike on
// a bright star's core is kept (inside a template source); a chip gap lowers nImage; the coadd is the
// inverse-variance-weighted mean; fewer than 3 visits turn artifact rejection off and say so.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { FitsHeader } from '../../lib/fits/header.js';
import type { Exposure } from '../../lib/fits/exposure.js';
import { deferExposure } from '../../lib/fits/deferredExposure.js';
import { runTask, type TaskContext } from '../../lib/pipeline/task.js';
import { memoryLogger } from '../../lib/pipeline/logger.js';
import { MASK_PLANES } from '../../lib/pipeline/maskPlanes.js';
import { assembleCoadd } from '../../lib/tasks/assembleCoadd.js';
import { gaussianPsfModel } from '../helpers/psfModels.js';
import { weightedStamp } from '../../lib/coadd/coaddPsf.js';

const W = 200, H = 150, NOISE = [2, 2.5, 3, 2, 2.2]; // nJy per pixel, per visit
const SIGMA = 7.7 / 2.3548;
const STARS = [[50, 40, 4000], [120, 90, 20000], [160, 30, 2500], [80, 120, 6000]] as const;
const BIT = (name: keyof typeof MASK_PLANES): number => 1 << MASK_PLANES[name];

function gauss(): () => number {
  let s = 12345;
  const u = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}
const normal = gauss();

function sky(): Float64Array {
  const out = new Float64Array(W * H);
  for (const [cx, cy, f] of STARS) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    out[y * W + x] += (f / (2 * Math.PI * SIGMA * SIGMA)) * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * SIGMA * SIGMA));
  }
  return out;
}
const TRUTH = sky();

/** The trail of visit 1: 30 nJy per pixel along y = 0.4 x + 20, Gaussian cross-section of sigma 2 px. */
function trail(x: number, y: number): number {
  const d = (y - 0.4 * x - 20) / Math.hypot(1, 0.4);
  return 30 * Math.exp(-(d * d) / (2 * 2 * 2));
}

function warp(visit: number, kind: 'direct' | 'psfMatched', extra: (x: number, y: number) => number, gap: boolean): Exposure {
  const image = new Float32Array(W * H), variance = new Float32Array(W * H).fill(NOISE[visit]! ** 2), mask = new Int32Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const i = y * W + x;
    if (gap && x >= 140 && x < 160) { image[i] = NaN; variance[i] = NaN; mask[i] = BIT('NO_DATA'); continue; }
    image[i] = TRUTH[i]! + extra(x, y) + NOISE[visit]! * normal();
  }
  const metadata = new FitsHeader();
  metadata.set('VISIT', 1000 + visit).set('BAND', 'r').set('TRACT', 0).set('PATCH', 4);
  if (kind === 'psfMatched') metadata.set('PSFMOK', true).set('PSFMFWHM', 7.7, undefined, { real: true });
  return { width: W, height: H, x0: 900, y0: 1900, image, variance, mask, maskPlanes: { ...MASK_PLANES }, metadata, wcsHeader: new FitsHeader() };
}

let tessera: Tessera;
const direct: Exposure[] = [], matched: Exposure[] = [];
/** The task's inputs: the warps as deferred exposures (the executor opens their files so). */
const deferred = <E extends Exposure>(d: E[], m: Exposure[]) => ({
  directWarps: d.map((e, k) => deferExposure(e, `direct warp ${k}`)), psfMatchedWarps: m.map((e, k) => deferExposure(e, `PSF-matched warp ${k}`)),
});
const context = (n: number, log = memoryLogger()): TaskContext & { log: ReturnType<typeof memoryLogger> } => ({
  tessera, log,
  refs: {
    quantum: { band: 'r', skymap: 'test', tract: 0, patch: 4 },
    inputs: {
      directWarps: Array.from({ length: n }, (_, v) => ({ datasetType: 'deepCoadd_directWarp', dataId: { visit: 1000 + v } })),
      psfMatchedWarps: Array.from({ length: n }, (_, v) => ({ datasetType: 'deepCoadd_psfMatchedWarp', dataId: { visit: 1000 + v } })),
    },
  },
});

beforeAll(async () => {
  tessera = await loadTessera('release');
  for (let v = 0; v < 5; v++) {
    // Visit 1 has the trail; visit 3 a spike of 5000 nJy on the brightest star's core (in both warps); visit 4 a chip gap.
    const extra = (x: number, y: number): number => (v === 1 ? trail(x, y) : 0) + (v === 3 && x === 121 && y === 90 ? 5000 : 0);
    direct.push(warp(v, 'direct', extra, v === 4));
    matched.push(warp(v, 'psfMatched', extra, v === 4));
  }
});

describe('assembleCoadd', () => {
  it('clips the satellite trail from its visit only, keeps the spike on the star, and fills the coadd from the other visits', () => {
    const out = runTask(assembleCoadd, deferred(direct, matched), {}, context(5));
    expect(out.artifactMasks.length).toBe(5);
    const clippedOf = (v: number): Set<number> => {
      const m = out.artifactMasks[v]!, set = new Set<number>();
      const y = m.columns.y as Int32Array, x0 = m.columns.x0 as Int32Array, x1 = m.columns.x1 as Int32Array;
      for (let k = 0; k < m.length; k++) for (let x = x0[k]!; x <= x1[k]!; x++) set.add((y[k]! - 1900) * W + x - 900);
      return set;
    };
    const trailClipped = clippedOf(1);
    let above = 0, caught = 0;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      if (trail(x, y) > 3 * NOISE[1]!) { above++; if (trailClipped.has(y * W + x)) caught++; }
    }
    expect(above).toBeGreaterThan(500);
    expect(caught / above, `${caught} of ${above} trail pixels above 3 sigma clipped`).toBeGreaterThanOrEqual(0.98);
    // Nothing clipped far from the trail in visit 1, and nothing at all elsewhere but at most a few noise footprints.
    for (const i of trailClipped) expect(trail(i % W, Math.floor(i / W))).toBeGreaterThan(0.01);
    for (const v of [0, 2, 3, 4]) expect(clippedOf(v).size, `visit ${v}`).toBeLessThan(20);
    expect(clippedOf(3).has(90 * W + 121), 'the spike on the star is kept').toBe(false);
    // The coadd along the trail: mean(coadd - truth) within 3 sigma / sqrt(N).
    let sum = 0, sumVar = 0, count = 0;
    for (const i of trailClipped) {
      const x = i % W;
      if (x >= 140 && x < 160) continue;
      sum += out.coadd.image[i]! - TRUTH[i]!; sumVar += out.coadd.variance[i]!; count++;
      expect(out.nImage.image[i]).toBe(4);
      expect(out.coadd.mask[i]! & (BIT('CLIPPED') | BIT('INEXACT_PSF'))).toBe(BIT('CLIPPED') | BIT('INEXACT_PSF'));
    }
    const mean = sum / count, sigmaMean = Math.sqrt(sumVar / count) / Math.sqrt(count);
    expect(Math.abs(mean), `mean residual ${mean.toFixed(3)} nJy over ${count} px, its error ${sigmaMean.toFixed(3)}`).toBeLessThan(3 * sigmaMean);
    // The chip gap of visit 4: nImage 4 there (5 elsewhere off the trail); no NO_DATA anywhere.
    expect(out.nImage.image[10 * W + 150]).toBe(4);
    expect(out.nImage.image[140 * W + 10]).toBe(5);
    expect(out.coadd.mask.some((m) => (m & BIT('NO_DATA')) !== 0)).toBe(false);
    expect(out.coadd.metadata.getBoolean('ARTREJ')).toBe(true);
    expect(out.coadd.metadata.getString('VISITS')).toBe('1000,1001,1002,1003,1004');
  });

  it('is the inverse-variance-weighted mean of the direct warps where nothing is clipped', () => {
    const out = runTask(assembleCoadd, deferred(direct, matched), {}, context(5));
    const i = 5 * W + 5;
    const w = NOISE.map((s) => 1 / (s * s));
    const expected = direct.reduce((a, d, v) => a + w[v]! * d.image[i]!, 0) / w.reduce((a, b) => a + b, 0);
    expect(out.coadd.image[i]).toBeCloseTo(expected, 4);
    expect(out.coadd.variance[i]).toBeCloseTo(1 / w.reduce((a, b) => a + b, 0), 6);
  });

  it('carries the coadd PSF: the visits\' PSF models weighted by their coadd weights (1e-5 of the peak)', () => {
    const size = 31, sigmas = [2.8, 3.1, 3.4, 3.0, 3.6];
    const withPsf = direct.map((d, v) => ({ ...d, psf: gaussianPsfModel(sigmas[v]!, size) }));
    const out = runTask(assembleCoadd, deferred(withPsf, matched), {}, context(5));
    expect(out.coadd.metadata.getBoolean('COADDPSF')).toBe(true);
    const w = NOISE.map((s) => 1 / (s * s));
    const want = weightedStamp(withPsf.map((d) => d.psf.kernelImageAt(100, 75, size)), w);
    const got = out.coadd.psf!.kernelImageAt(100, 75, size);
    let worst = 0;
    for (let k = 0; k < got.length; k++) worst = Math.max(worst, Math.abs(got[k]! - want[k]!));
    expect(worst / Math.max(...want)).toBeLessThan(1e-5);
    // Without PSF models in the warps the coadd has none, and says so.
    const ctx = context(5);
    const bare = runTask(assembleCoadd, deferred(direct, matched), {}, ctx);
    expect(bare.coadd.psf).toBeUndefined();
    expect(bare.coadd.metadata.getBoolean('COADDPSF')).toBe(false);
    expect(ctx.log.entries.some((e) => e.level === 'warn' && /the coadd has none/.test(e.message))).toBe(true);
  });

  it('finds a faint trail (peak 1.6 sigma per pixel) as a streak and clips it from its visit only; without doStreaks it stays', () => {
    // Visit 2 gets a faint trail along y = -0.3 x + 130 (Gaussian cross-section sigma 2 px, 4 nJy peak: 1.6 sigma of its noise).
    const faint = (x: number, y: number): number => 4 * Math.exp(-(((y + 0.3 * x - 130) / Math.hypot(1, 0.3)) ** 2) / (2 * 2 * 2));
    const withFaint = (list: Exposure[]): Exposure[] => list.map((e, v) => (v === 2 ? { ...e, image: e.image.map((val, i) => val + faint(i % W, Math.floor(i / W))) } : e));
    const ctx = context(5);
    // This test's warps are 200 px wide: streaks of 150 px and more (the default asks 300).
    const out = runTask(assembleCoadd, deferred(withFaint(direct), withFaint(matched)), { streakMinLength: 150 }, ctx);
    // Visit 1's bright trail is a streak too.
    expect(out.coadd.metadata.getString('NSTREAKS')).toBe('0,1,1,0,0');
    const m = out.artifactMasks[2]!, clipped = new Set<number>();
    const y = m.columns.y as Int32Array, x0 = m.columns.x0 as Int32Array, x1 = m.columns.x1 as Int32Array;
    for (let k = 0; k < m.length; k++) for (let x = x0[k]!; x <= x1[k]!; x++) clipped.add((y[k]! - 1900) * W + x - 900);
    let above = 0, caught = 0;
    for (let yy = 0; yy < H; yy++) for (let xx = 0; xx < W; xx++) if (faint(xx, yy) > NOISE[2]!) { above++; if (clipped.has(yy * W + xx)) caught++; }
    expect(above).toBeGreaterThan(300);
    expect(caught / above, `${caught} of ${above} faint-trail pixels above 1 sigma clipped`).toBeGreaterThanOrEqual(0.95);
    expect(ctx.log.entries.some((e) => /2 streak\(s\) clipped: visit 1001 .*visit 1002/.test(e.message))).toBe(true);
    // Without the streak finder the 5-sigma footprints miss it.
    const off = runTask(assembleCoadd, deferred(withFaint(direct), withFaint(matched)), { doStreaks: false, streakMinLength: 150 }, context(5));
    expect(off.coadd.metadata.getString('NSTREAKS')).toBe('0,0,0,0,0');
    expect(off.artifactMasks[2]!.length).toBeLessThan(10);
  });

  it('turns artifact rejection off with fewer than 3 visits, and says so', () => {
    const ctx = context(2);
    const out = runTask(assembleCoadd, deferred(direct.slice(0, 2), matched.slice(0, 2)), {}, ctx);
    expect(out.coadd.metadata.getBoolean('ARTREJ')).toBe(false);
    expect(out.coadd.metadata.getNumber('ARTCOMP')).toBe(0);
    expect(out.artifactMasks.every((m) => m.length === 0)).toBe(true);
    expect(ctx.log.entries.some((e) => e.level === 'warn' && /too few to compare warps/.test(e.message))).toBe(true);
  });

  it('names a warp whose box differs, and a visit without its PSF-matched warp', () => {
    const odd = { ...direct[2]!, x0: 901 };
    expect(() => runTask(assembleCoadd, deferred([direct[0]!, direct[1]!, odd], matched.slice(0, 3)), {}, context(3)))
      .toThrow(/input 'directWarps'.*item 2: box 200x150\+901\+1900 differs from the first warp's 200x150\+900\+1900/);
    expect(() => runTask(assembleCoadd, deferred(direct.slice(0, 3), matched.slice(0, 2)), {}, context(3)))
      .toThrow(/no PSF-matched warp for visit 1002/);
  });
});
