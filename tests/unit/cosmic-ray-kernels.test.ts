// The cosmic-ray kernels (assembly/cosmicRays.ts: findCosmicRayCandidates, growCosmicRays,
// interpolateCosmicRays) through their exports, in the release (SIMD), debug (assertions, bounds checks)
// and scalar builds: each against a plain-JS reference of LSST CR.cc's pixel test and of the kernels'
// documented behaviour, bit for bit (the test runs in f32; the reference rounds every operation with
// Math.fround), on noisy planes with spikes, tracks, stars, NaNs and masked pixels, of widths that are not
// multiples of 4; then the cases with known answers (a spike is found and a star is not, a linear ramp is
// interpolated exactly, capacity overflow, bad arguments).
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { GaussianPsf } from '../../lib/measure/psf.js';
import { cosmicRayThresholds } from '../../lib/measure/cosmicRays.js';
import { bytes, randoms } from '../helpers/kernelTesting.js';

const VARIANTS = ['release', 'debug', 'scalar'] as const;
const builds: Record<string, Tessera> = {};
beforeAll(async () => {
  for (const v of VARIANTS) builds[v] = await loadTessera(v);
});

const f = Math.fround;
const BAD = 1 << 0, SAT = 1 << 1, INTRP = 1 << 2, NO_DATA = 1 << 8;
const BAD_BITS = BAD | SAT | INTRP | NO_DATA;

interface Planes {
  width: number;
  height: number;
  image: Float32Array;
  variance: Float32Array;
  mask: Int32Array;
}

/** Sky 100 +- 10 (variance 100 + signal), with spikes, 2-px hits, short tracks, Gaussian stars, NaNs and masked pixels. */
function scene(width: number, height: number, seed: number): Planes {
  const r = randoms(seed);
  const n = width * height;
  const signal = new Float64Array(n);
  const stars = Math.max(1, Math.floor(n / 400));
  for (let k = 0; k < stars; k++) {
    const cx = r.uniform() * width, cy = r.uniform() * height, peak = 50 * Math.exp(6 * r.uniform());
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) signal[y * width + x]! += peak * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 1.3 ** 2));
  }
  const hits = Math.max(2, Math.floor(n / 60));
  for (let k = 0; k < hits; k++) {
    const i = Math.floor(r.uniform() * n), amp = 30 + 3000 * r.uniform() ** 2;
    signal[i]! += amp;
    const u = r.uniform();
    if (u < 0.3 && i + 1 < n) signal[i + 1]! += 0.7 * amp;
    else if (u < 0.5) for (let s = 1; s < 6 && i + s * (width + 1) < n; s++) signal[i + s * (width + 1)]! += amp * (0.5 + r.uniform());
  }
  const image = new Float32Array(n), variance = new Float32Array(n), mask = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const expected = 100 + signal[i]!;
    image[i] = expected + Math.sqrt(expected) * r.normal();
    variance[i] = Math.max(image[i]!, 0) + 25;
    const u = r.uniform();
    if (u < 0.004) image[i] = Number.NaN;
    else if (u < 0.008) variance[i] = Number.NaN;
    else if (u < 0.015) mask[i] = BAD;
    else if (u < 0.02) mask[i] = INTRP;
    else if (u < 0.025) mask[i] = SAT;
    else if (u < 0.03) image[i] = -50;
  }
  return { width, height, image, variance, mask };
}

interface Thresholds {
  bkgd: number;
  minSigma: number;
  cond3Fac: number;
  tH: number;
  tV: number;
  tD: number;
}

/** CR.cc's pixel test in f32 (the kernel's order of operations); returns the estimate or null. */
function pixelTest(p: Planes, image: Float32Array, i: number, t: Thresholds): number | null {
  const { width: w } = p;
  const vr = p.variance;
  const bkgd = f(t.bkgd), sig = f(t.minSigma), c3 = f(t.cond3Fac), tH = f(t.tH), tV = f(t.tV), tD = f(t.tD);
  const v = image[i]!;
  if (!(v >= 0)) return null;
  const up = i + w, down = i - w;
  const meanWE = f(f(image[i - 1]! + image[i + 1]!) * 0.5);
  const meanNS = f(f(image[up]! + image[down]!) * 0.5);
  const meanSWNE = f(f(image[down - 1]! + image[up + 1]!) * 0.5);
  const meanNWSE = f(f(image[up - 1]! + image[down + 1]!) * 0.5);
  const sigma = f(Math.sqrt(vr[i]!));
  const limit = f(sig * sigma);
  if (v < f(meanNS + limit) && v < f(meanWE + limit) && v < f(meanSWNE + limit) && v < f(meanNWSE + limit)) return null;
  const peak = c3 === 0 ? f(v - bkgd) : f(f(v - bkgd) - f(c3 * sigma));
  const pairs: [number, number, number, number][] = [
    [tV, meanNS, up, down], [tH, meanWE, i - 1, i + 1], [tD, meanSWNE, down - 1, up + 1], [tD, meanNWSE, up - 1, down + 1],
  ];
  for (const [thres, mean, a, b] of pairs) {
    const s = f(f(Math.sqrt(f(vr[a]! + vr[b]!))) * 0.5);
    if (f(thres * peak) > f(f(mean - bkgd) + f(c3 * s))) return mean;
  }
  return null;
}

function neighbourMask(mask: Int32Array, i: number, w: number): number {
  return mask[i - w - 1]! | mask[i - w]! | mask[i - w + 1]! | mask[i - 1]! | mask[i + 1]! | mask[i + w - 1]! | mask[i + w]! | mask[i + w + 1]!;
}

interface CandidateResult {
  image: Float32Array;
  flags: Uint8Array;
  indices: number[];
  count: number;
}

function candidatesReference(p: Planes, t: Thresholds, capacity: number): CandidateResult {
  const image = p.image.slice();
  const flags = new Uint8Array(p.width * p.height);
  const indices: number[] = [];
  for (let y = 1; y < p.height - 1; y++) {
    for (let x = 1; x < p.width - 1; x++) {
      const i = y * p.width + x;
      const estimate = pixelTest(p, image, i, t);
      if (estimate === null || (p.mask[i]! & BAD_BITS) || (neighbourMask(p.mask, i, p.width) & INTRP)) continue;
      if (indices.length === capacity) return { image, flags, indices, count: capacity + 1 };
      image[i] = estimate;
      flags[i] = 1;
      indices.push(i);
    }
  }
  return { image, flags, indices, count: indices.length };
}

function candidatesKernel(tessera: Tessera, p: Planes, t: Thresholds, capacity: number): CandidateResult {
  const { planes, kernels } = tessera;
  const n = p.width * p.height;
  return planes.scope(() => {
    const image = planes.allocFrom(p.image), variance = planes.allocFrom(p.variance), mask = planes.allocFrom(p.mask);
    const flags = planes.alloc(n), indices = planes.alloc(4 * Math.max(capacity, 1)), out = planes.alloc(4);
    planes.u8(flags, n).fill(7);
    expect(kernels.findCosmicRayCandidates(image, variance, mask, p.width, p.height, t.bkgd, t.minSigma, t.cond3Fac, t.tH, t.tV, t.tD,
      BAD_BITS, INTRP, flags, indices, capacity, out)).toBe(0);
    const count = planes.i32(out, 1)[0]!;
    return {
      image: planes.f32(image, n).slice(), flags: planes.u8(flags, n).slice(),
      indices: Array.from(planes.i32(indices, Math.min(count, capacity))), count,
    };
  });
}

function growReference(p: Planes, image: Float32Array, flags: Uint8Array, indices: number[], t: Thresholds, capacity: number): { image: Float32Array; flags: Uint8Array; indices: number[]; added: number } {
  image = image.slice();
  flags = flags.slice();
  const list = indices.slice();
  const count = list.length;
  for (let k = 0; k < count; k++) {
    const cx = list[k]! % p.width, cy = Math.floor(list[k]! / p.width);
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const x = cx + dx, y = cy + dy;
        if (x < 1 || x >= p.width - 1 || y < 1 || y >= p.height - 1) continue;
        const j = y * p.width + x;
        if (flags[j] || (p.mask[j]! & BAD_BITS)) continue;
        const estimate = pixelTest(p, image, j, t);
        if (estimate === null) continue;
        if (list.length === capacity) return { image, flags, indices: list, added: capacity - count + 1 };
        image[j] = estimate;
        flags[j] = 1;
        list.push(j);
      }
    }
  }
  return { image, flags, indices: list, added: list.length - count };
}

function growKernel(tessera: Tessera, p: Planes, image0: Float32Array, flags0: Uint8Array, indices0: number[], t: Thresholds, capacity: number):
  { image: Float32Array; flags: Uint8Array; indices: number[]; added: number } {
  const { planes, kernels } = tessera;
  const n = p.width * p.height;
  return planes.scope(() => {
    const image = planes.allocFrom(image0), variance = planes.allocFrom(p.variance), mask = planes.allocFrom(p.mask);
    const flags = planes.allocFrom(flags0), out = planes.alloc(4);
    const list = new Int32Array(Math.max(capacity, 1));
    list.set(indices0);
    const indices = planes.allocFrom(list);
    expect(kernels.growCosmicRays(image, variance, mask, p.width, p.height, t.bkgd, t.minSigma, t.cond3Fac, t.tH, t.tV, t.tD, BAD_BITS,
      flags, indices, indices0.length, capacity, out)).toBe(0);
    const added = planes.i32(out, 1)[0]!;
    return {
      image: planes.f32(image, n).slice(), flags: planes.u8(flags, n).slice(),
      indices: Array.from(planes.i32(indices, Math.min(indices0.length + added, capacity))), added,
    };
  });
}

/** The interpolation documented in assembly/cosmicRays.ts, in f32. */
function interpolateReference(p: Planes, image0: Float32Array, flags: Uint8Array, indices: number[], avoid: number, guard: number, maxDistance: number,
  fallback: number, intrpBit: number): { image: Float32Array; variance: Float32Array; mask: Int32Array } {
  const { width: w, height: h } = p;
  const image = image0.slice(), variance = p.variance.slice(), mask = p.mask.slice();
  const usable = (u: number, v: number): boolean => {
    if ((mask[v * w + u]! & avoid) !== 0) return false;
    for (let b = Math.max(v - guard, 0); b <= Math.min(v + guard, h - 1); b++) {
      for (let a = Math.max(u - guard, 0); a <= Math.min(u + guard, w - 1); a++) if (flags[b * w + a]) return false;
    }
    return true;
  };
  const steps = (x: number, y: number, dx: number, dy: number): number => {
    for (let s = 1; s <= maxDistance; s++) {
      const u = x + s * dx, v = y + s * dy;
      if (u < 0 || u >= w || v < 0 || v >= h) return 0;
      if (usable(u, v)) return s;
    }
    return 0;
  };
  for (const i of indices) {
    if (flags[i] !== 1) continue;
    const x = i % w, y = Math.floor(i / w);
    let bestGap = Infinity, sum = 0, sumVar = 0, ties = 0, nearest = Infinity, nearestIndex = -1;
    const dirs = [[1, 0, 1], [0, 1, 1], [1, 1, f(Math.SQRT2)], [1, -1, f(Math.SQRT2)]] as const;
    for (const [dx, dy, length] of dirs) {
      const a = steps(x, y, dx, dy), b = steps(x, y, -dx, -dy);
      if (a > 0 && f(a * length) < nearest) { nearest = f(a * length); nearestIndex = (y + a * dy) * w + x + a * dx; }
      if (b > 0 && f(b * length) < nearest) { nearest = f(b * length); nearestIndex = (y - b * dy) * w + x - b * dx; }
      if (a === 0 || b === 0) continue;
      const gap = f((a + b) * length);
      if (gap > bestGap) continue;
      const pa = (y + a * dy) * w + x + a * dx, pb = (y - b * dy) * w + x - b * dx;
      const wa = f(b / (a + b)), wb = f(a / (a + b));
      const value = f(f(wa * image[pa]!) + f(wb * image[pb]!));
      const noise = f(f(wa * variance[pa]!) + f(wb * variance[pb]!));
      if (gap < bestGap) { bestGap = gap; sum = value; sumVar = noise; ties = 1; } else { sum = f(sum + value); sumVar = f(sumVar + noise); ties++; }
    }
    if (ties > 0) {
      image[i] = f(sum / ties);
      variance[i] = f(sumVar / ties);
    } else if (nearestIndex >= 0) {
      image[i] = image[nearestIndex]!;
      variance[i] = variance[nearestIndex]!;
    } else {
      image[i] = fallback;
    }
    if (intrpBit >= 0) mask[i] = mask[i]! | (1 << intrpBit);
  }
  return { image, variance, mask };
}

function interpolateKernel(tessera: Tessera, p: Planes, image0: Float32Array, flags0: Uint8Array, indices0: number[], avoid: number, guard: number,
  maxDistance: number, fallback: number, intrpBit: number): { image: Float32Array; variance: Float32Array; mask: Int32Array; status: number } {
  const { planes, kernels } = tessera;
  const n = p.width * p.height;
  return planes.scope(() => {
    const image = planes.allocFrom(image0), variance = planes.allocFrom(p.variance), mask = planes.allocFrom(p.mask);
    const flags = planes.allocFrom(flags0), indices = planes.allocFrom(Int32Array.from(indices0.length ? indices0 : [0]));
    const status = kernels.interpolateCosmicRays(image, variance, mask, p.width, p.height, flags, indices, indices0.length, avoid, guard, maxDistance, fallback, intrpBit);
    return { image: planes.f32(image, n).slice(), variance: planes.f32(variance, n).slice(), mask: planes.i32(mask, n).slice(), status };
  });
}

const psfThresholds = cosmicRayThresholds(new GaussianPsf(1.3), 0, 0, 0.6);
const FIRST: Thresholds = { bkgd: 100, minSigma: 6, cond3Fac: 2.5, tH: psfThresholds.horizontal, tV: psfThresholds.vertical, tD: psfThresholds.diagonal };
const GROW: Thresholds = { ...FIRST, minSigma: 3, cond3Fac: 0 };
const SIZES: [number, number][] = [[3, 3], [4, 5], [5, 4], [6, 3], [7, 9], [9, 7], [37, 23], [64, 17], [131, 41]];

describe('findCosmicRayCandidates', () => {
  for (const [w, h] of SIZES) {
    it(`matches the JS reference of CR.cc's first pass bit for bit in every build: ${w} x ${h}`, () => {
      const p = scene(w, h, 17 * w + h);
      const ref = candidatesReference(p, FIRST, w * h);
      for (const v of VARIANTS) {
        const got = candidatesKernel(builds[v]!, p, FIRST, w * h);
        expect(got.count, v).toBe(ref.count);
        expect(got.indices, v).toEqual(ref.indices);
        expect(bytes(got.flags).equals(bytes(ref.flags)), v).toBe(true);
        expect(bytes(got.image).equals(bytes(ref.image)), v).toBe(true);
      }
      if (w * h > 1000) expect(ref.count).toBeGreaterThan(5);
    });
  }

  it('stops at capacity and reports capacity + 1', () => {
    const p = scene(131, 41, 5);
    const all = candidatesReference(p, FIRST, 131 * 41);
    expect(all.count).toBeGreaterThan(10);
    for (const v of VARIANTS) {
      for (const capacity of [0, 1, 7, all.count - 1, all.count]) {
        const got = candidatesKernel(builds[v]!, p, FIRST, capacity);
        expect(got.count, `${v} capacity ${capacity}`).toBe(capacity < all.count ? capacity + 1 : all.count);
        expect(got.indices).toEqual(all.indices.slice(0, capacity));
      }
    }
  });

  it('finds a lone hot pixel (estimate: the mean of its neighbours) and not the core of a star of the PSF', () => {
    const w = 31, h = 31;
    const psf = new GaussianPsf(1.5);
    const t = cosmicRayThresholds(psf, 0, 0, 0.6);
    const image = new Float32Array(w * h).fill(100);
    const stamp = psf.stampAt(8, 15, 15);
    for (let j = 0; j < 15; j++) for (let i = 0; i < 15; i++) image[(stamp.y0 + j) * w + stamp.x0 + i]! += 1e6 * stamp.stamp[j * 15 + i]!;
    image[15 * w + 24] = 100 + 2000;
    const p: Planes = { width: w, height: h, image, variance: image.map((v) => v), mask: new Int32Array(w * h) };
    const th: Thresholds = { ...FIRST, tH: t.horizontal, tV: t.vertical, tD: t.diagonal };
    for (const v of VARIANTS) {
      const got = candidatesKernel(builds[v]!, p, th, 100);
      expect(got.indices).toEqual([15 * w + 24]);
      expect(got.image[15 * w + 24]).toBe(100);
    }
  });

  it('rejects bad arguments', () => {
    const { planes, kernels } = builds.release!;
    planes.scope(() => {
      const a = planes.alloc(4 * 64), out = planes.alloc(4);
      const call = (width: number, minSigma: number, cond3Fac: number, tH: number, bkgd: number, capacity: number): number =>
        kernels.findCosmicRayCandidates(a, a, a, width, 4, bkgd, minSigma, cond3Fac, tH, 0.5, 0.5, 0, 0, a, a, capacity, out);
      expect(call(4, 6, 2.5, 0.5, 0, 4)).toBe(0);
      expect(call(0, 6, 2.5, 0.5, 0, 4)).toBe(1);
      expect(call(4, 0, 2.5, 0.5, 0, 4)).toBe(1);
      expect(call(4, 6, -1, 0.5, 0, 4)).toBe(1);
      expect(call(4, 6, 2.5, Number.NaN, 0, 4)).toBe(1);
      expect(call(4, 6, 2.5, 0.5, Number.POSITIVE_INFINITY, 4)).toBe(1);
      expect(call(4, 6, 2.5, 0.5, 0, -1)).toBe(1);
    });
  });
});

describe('growCosmicRays', () => {
  for (const [w, h] of SIZES.filter(([w, h]) => w * h > 30)) {
    it(`matches the JS reference of one CR.cc growth pass bit for bit in every build: ${w} x ${h}`, () => {
      const p = scene(w, h, 3 * w + 7 * h);
      const first = candidatesReference(p, FIRST, w * h);
      const ref = growReference(p, first.image, first.flags, first.indices, GROW, w * h);
      for (const v of VARIANTS) {
        const got = growKernel(builds[v]!, p, first.image, first.flags, first.indices, GROW, w * h);
        expect(got.added, v).toBe(ref.added);
        expect(got.indices, v).toEqual(ref.indices);
        expect(bytes(got.flags).equals(bytes(ref.flags)), v).toBe(true);
        expect(bytes(got.image).equals(bytes(ref.image)), v).toBe(true);
      }
      if (w * h > 1000) expect(ref.added).toBeGreaterThan(0);
    });
  }

  it('adds the faint wing of a hit and stops at capacity', () => {
    const w = 12, h = 9;
    const image = new Float32Array(w * h).fill(100);
    const hit = 4 * w + 5;
    image[hit] = 100 + 3000;
    image[hit + w] = 100 + 45; // 4.5 sigma: below the first pass's 6 sigma, above the growth's 3
    const p: Planes = { width: w, height: h, image, variance: new Float32Array(w * h).fill(100), mask: new Int32Array(w * h) };
    const first = candidatesReference(p, FIRST, 10);
    expect(first.indices).toEqual([hit]);
    const ref = growReference(p, first.image, first.flags, first.indices, GROW, 10);
    expect(ref.indices).toEqual([hit, hit + w]);
    for (const v of VARIANTS) {
      expect(growKernel(builds[v]!, p, first.image, first.flags, first.indices, GROW, 10).indices).toEqual([hit, hit + w]);
      expect(growKernel(builds[v]!, p, first.image, first.flags, first.indices, GROW, 1).added).toBe(1);
    }
  });

  it('rejects bad arguments', () => {
    const { planes, kernels } = builds.release!;
    planes.scope(() => {
      const a = planes.alloc(4 * 64), out = planes.alloc(4);
      const call = (count: number, capacity: number, minSigma: number): number =>
        kernels.growCosmicRays(a, a, a, 4, 4, 0, minSigma, 0, 0.5, 0.5, 0.5, 0, a, a, count, capacity, out);
      expect(call(0, 4, 3)).toBe(0);
      expect(call(-1, 4, 3)).toBe(1);
      expect(call(5, 4, 3)).toBe(1);
      expect(call(0, 4, 0)).toBe(1);
      planes.i32(a, 1)[0] = 99;
      expect(call(1, 4, 3)).toBe(1); // index outside the plane
    });
  });
});

describe('interpolateCosmicRays', () => {
  for (const [w, h] of SIZES) {
    for (const guard of [0, 1, 2]) {
      it(`matches the JS reference bit for bit in every build: ${w} x ${h}, guard ${guard}`, () => {
        const p = scene(w, h, 11 * w + h + guard);
        const first = candidatesReference(p, FIRST, w * h);
        const grown = growReference(p, first.image, first.flags, first.indices, GROW, w * h);
        // Some listed pixels flagged 2 (listed, not to be replaced) and one index listed twice.
        const flags = grown.flags.slice();
        grown.indices.forEach((i, k) => { if (k % 5 === 4) flags[i] = 2; });
        const indices = grown.indices.length ? [...grown.indices, grown.indices[0]!] : [];
        const ref = interpolateReference(p, p.image, flags, indices, BAD_BITS, guard, 6, -7, 2);
        for (const v of VARIANTS) {
          const got = interpolateKernel(builds[v]!, p, p.image, flags, indices, BAD_BITS, guard, 6, -7, 2);
          expect(got.status).toBe(0);
          expect(bytes(got.image).equals(bytes(ref.image)), v).toBe(true);
          expect(bytes(got.variance).equals(bytes(ref.variance)), v).toBe(true);
          expect(bytes(got.mask).equals(bytes(ref.mask)), v).toBe(true);
        }
      });
    }
  }

  it('restores a linear ramp exactly across a track, with and without the guard; INTRP only where replaced', () => {
    const w = 20, h = 15;
    const ramp = Float32Array.from({ length: w * h }, (_, i) => 3 * (i % w) + 5 * Math.floor(i / w) + 100);
    const image = ramp.slice();
    const flags = new Uint8Array(w * h);
    const indices: number[] = [];
    for (let y = 2; y < 13; y++) for (const x of [9, 10]) { const i = y * w + x; image[i] = 5000; flags[i] = 1; indices.push(i); }
    const p: Planes = { width: w, height: h, image, variance: ramp.slice(), mask: new Int32Array(w * h) };
    for (const v of VARIANTS) {
      for (const guard of [0, 1]) {
        const got = interpolateKernel(builds[v]!, p, image, flags, indices, BAD_BITS, guard, 8, 0, 2);
        for (let i = 0; i < w * h; i++) {
          expect(got.image[i]).toBeCloseTo(ramp[i]!, 3);
          expect(got.variance[i]).toBeCloseTo(ramp[i]!, 3);
          expect(got.mask[i]).toBe(flags[i] ? 4 : 0);
        }
      }
    }
  });

  it('takes the nearest usable pixel on one side, or the fallback when nothing is in reach', () => {
    const w = 5, h = 1;
    const p: Planes = { width: w, height: h, image: Float32Array.from([1, 2, 3, 4, 5]), variance: Float32Array.from([10, 20, 30, 40, 50]), mask: new Int32Array(w) };
    const flags = Uint8Array.from([1, 1, 0, 0, 0]);
    for (const v of VARIANTS) {
      const got = interpolateKernel(builds[v]!, p, p.image, flags, [0, 1], 0, 0, 8, -1, -1);
      expect(Array.from(got.image)).toEqual([3, 3, 3, 4, 5]);
      expect(Array.from(got.variance)).toEqual([30, 30, 30, 40, 50]);
      expect(Array.from(got.mask)).toEqual([0, 0, 0, 0, 0]);
      const none = interpolateKernel(builds[v]!, p, p.image, Uint8Array.from([1, 1, 1, 1, 1]), [0, 1, 2, 3, 4], 0, 0, 8, -1, 3);
      expect(Array.from(none.image)).toEqual([-1, -1, -1, -1, -1]);
      expect(Array.from(none.variance)).toEqual([10, 20, 30, 40, 50]);
      expect(Array.from(none.mask)).toEqual([8, 8, 8, 8, 8]);
    }
  });

  it('rejects bad arguments', () => {
    const p: Planes = { width: 3, height: 3, image: new Float32Array(9), variance: new Float32Array(9), mask: new Int32Array(9) };
    const flags = new Uint8Array(9);
    const t = builds.release!;
    expect(interpolateKernel(t, p, p.image, flags, [4], 0, 3, 8, 0, 2).status).toBe(1);
    expect(interpolateKernel(t, p, p.image, flags, [4], 0, -1, 8, 0, 2).status).toBe(1);
    expect(interpolateKernel(t, p, p.image, flags, [4], 0, 1, 0, 0, 2).status).toBe(1);
    expect(interpolateKernel(t, p, p.image, flags, [4], 0, 1, 8, Number.NaN, 2).status).toBe(1);
    expect(interpolateKernel(t, p, p.image, flags, [4], 0, 1, 8, 0, 32).status).toBe(1);
    expect(interpolateKernel(t, p, p.image, flags, [9], 0, 1, 8, 0, 2).status).toBe(1);
    expect(interpolateKernel(t, p, p.image, flags, [4], 0, 1, 8, 0, -1).status).toBe(0);
  });
});
