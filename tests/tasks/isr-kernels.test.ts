// The calibration and ISR kernels (assembly/combine.ts, assembly/isr.ts) through their exports, in the
// release (SIMD), debug (assertions, bounds checks) and scalar builds: each against a plain-JS reference
// (bit for bit where the kernel promises f32 operations in a fixed order), and the three builds
// bit-identical on random planes whose widths are not multiples of 4.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { combinePixelReference } from './combineReference.js';
import { bytes, randoms } from '../helpers/kernelTesting.js';

const VARIANTS = ['release', 'debug', 'scalar'] as const;
const builds: Record<string, Tessera> = {};
beforeAll(async () => {
  for (const v of VARIANTS) builds[v] = await loadTessera(v);
});

function table(tessera: Tessera, ptrs: number[]): number {
  return tessera.planes.allocFrom(new Int32Array(Uint32Array.from(ptrs).buffer));
}

interface CombineResult {
  mean: Float32Array;
  variance: Float32Array;
  count: Int32Array;
}

function combine(tessera: Tessera, frames: Float32Array[], variances: Float32Array[] | null, nSigma: number, nIter: number, byVariance: boolean): CombineResult {
  const { planes, kernels } = tessera;
  const n = frames[0]!.length;
  return planes.scope(() => {
    const images = table(tessera, frames.map((f) => planes.allocFrom(f)));
    const vars = variances ? table(tessera, variances.map((f) => planes.allocFrom(f))) : 0;
    const scratch = planes.alloc(32 * frames.length);
    const mean = planes.alloc(4 * n), variance = planes.alloc(4 * n), count = planes.alloc(4 * n);
    expect(kernels.combineClippedMean(images, vars, frames.length, n, nSigma, nIter, byVariance ? 1 : 0, scratch, mean, variance, count)).toBe(0);
    return { mean: planes.f32(mean, n).slice(), variance: planes.f32(variance, n).slice(), count: planes.i32(count, n).slice() };
  });
}

/** Frames of Gaussian noise around 100 with outliers, NaNs and infinities sprinkled in; variance planes of 4 +- 1. */
function noisyStack(nFrames: number, n: number, seed: number): { frames: Float32Array[]; variances: Float32Array[] } {
  const r = randoms(seed);
  const frames = Array.from({ length: nFrames }, () => Float32Array.from({ length: n }, () => {
    const u = r.uniform();
    if (u < 0.02) return Number.NaN;
    if (u < 0.025) return u < 0.0225 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    if (u < 0.06) return 100 + 40 * r.normal();
    return 100 + 2 * r.normal();
  }));
  const variances = Array.from({ length: nFrames }, () => Float32Array.from({ length: n }, () => 4 + r.uniform() - 0.5));
  return { frames, variances };
}

describe('combineClippedMean', () => {
  for (const nFrames of [1, 2, 3, 5, 8, 17]) {
    for (const byVariance of [false, true]) {
      it(`matches the JS reference bit for bit: ${nFrames} frames, widths from ${byVariance ? 'variances' : 'IQR/sample sigma (afw MEANCLIP)'}`, () => {
        const n = 203;
        const { frames, variances } = noisyStack(nFrames, n, 31 * nFrames + (byVariance ? 1 : 0));
        for (const nIter of [0, 1, 3]) {
          const out = combine(builds.release!, frames, variances, 3, nIter, byVariance);
          for (let i = 0; i < n; i++) {
            const ref = combinePixelReference(frames.map((f) => f[i]!), variances.map((v) => v[i]!), 3, nIter, byVariance);
            expect([out.mean[i], out.variance[i], out.count[i]]).toEqual([ref.mean, ref.variance, ref.count]);
          }
        }
      });
    }
  }

  it('ignores outliers: a 1000-sigma value in one of 5 frames leaves the mean of the other 4', () => {
    const frames = [10, 11, 9, 10.5, 10000].map((v) => new Float32Array(9).fill(v));
    const vars = frames.map(() => new Float32Array(9).fill(1));
    for (const byVariance of [false, true]) {
      const out = combine(builds.release!, frames, vars, 3, 3, byVariance);
      expect(out.mean[8]).toBeCloseTo(10.125, 5);
      expect(out.count[8]).toBe(4);
      expect(out.variance[8]).toBeCloseTo(4 / 16, 6);
    }
    // Without clipping (nIter 0), the plain mean.
    expect(combine(builds.release!, frames, vars, 3, 0, true).mean[0]).toBeCloseTo(2008.1, 3);
  });

  it('gives NaN and count 0 where no frame is finite, and the sample variance / m without variance planes', () => {
    const frames = [new Float32Array([Number.NaN, 1]), new Float32Array([Number.POSITIVE_INFINITY, 3])];
    const out = combine(builds.release!, frames, null, 3, 3, false);
    expect(Number.isNaN(out.mean[0]!)).toBe(true);
    expect(Number.isNaN(out.variance[0]!)).toBe(true);
    expect(out.count[0]).toBe(0);
    expect([out.mean[1], out.variance[1], out.count[1]]).toEqual([2, 1, 2]);
  });

  it('refuses bad arguments', () => {
    const { planes, kernels } = builds.release!;
    planes.scope(() => {
      const p = planes.alloc(64);
      expect(kernels.combineClippedMean(p, 0, 0, 4, 3, 3, 0, p, p, 0, 0)).toBe(1);
      expect(kernels.combineClippedMean(p, 0, 1, 4, 0, 3, 0, p, p, 0, 0)).toBe(1);
      expect(kernels.combineClippedMean(p, 0, 1, 4, 3, -1, 0, p, p, 0, 0)).toBe(1);
      expect(kernels.combineClippedMean(p, 0, 1, 4, 3, 3, 1, p, p, 0, 0)).toBe(1);
    });
  });

  it('is bit-identical in the SIMD, debug and scalar builds', () => {
    const { frames, variances } = noisyStack(7, 1001, 5);
    for (const byVariance of [false, true]) {
      const results = VARIANTS.map((v) => combine(builds[v]!, frames, variances, 2.5, 3, byVariance));
      for (const r of results.slice(1)) {
        expect(bytes(r.mean).equals(bytes(results[0]!.mean))).toBe(true);
        expect(bytes(r.variance).equals(bytes(results[0]!.variance))).toBe(true);
        expect(bytes(r.count).equals(bytes(results[0]!.count))).toBe(true);
      }
    }
  });
});

describe('planeMedian and planeMean', () => {
  it('use the finite, unmasked pixels only', () => {
    const values = new Float32Array([5, 1, Number.NaN, 4, 100, 2, Number.POSITIVE_INFINITY, 3]);
    const mask = new Int32Array([0, 0, 0, 0, 4, 0, 0, 0]);
    for (const v of VARIANTS) {
      const { planes, kernels } = builds[v]!;
      planes.scope(() => {
        const src = planes.allocFrom(values), m = planes.allocFrom(mask), scratch = planes.alloc(32), out = planes.alloc(16);
        expect(kernels.planeMedian(src, m, 8, 4, scratch, out)).toBe(0);
        expect(Array.from(planes.f64(out, 2))).toEqual([3, 5]);
        expect(kernels.planeMedian(src, 0, 8, 4, scratch, out)).toBe(0);
        expect(Array.from(planes.f64(out, 2))).toEqual([3.5, 6]);
        expect(kernels.planeMean(src, m, 8, 4, out)).toBe(0);
        expect(Array.from(planes.f64(out, 2))).toEqual([3, 5]);
        expect(kernels.planeMean(src, m, 0, 4, out)).toBe(0);
        expect(Number.isNaN(planes.f64(out, 1)[0]!)).toBe(true);
      });
    }
  });

  it('finds the median of many values with repeats like a sort does', () => {
    const r = randoms(9);
    for (const n of [1, 2, 3, 10, 1000, 1001]) {
      const values = Float32Array.from({ length: n }, () => Math.floor(r.uniform() * 20));
      const sorted = Array.from(values).sort((a, b) => a - b);
      const expected = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
      const { planes, kernels } = builds.debug!;
      planes.scope(() => {
        const src = planes.allocFrom(values), scratch = planes.alloc(4 * n), out = planes.alloc(16);
        expect(kernels.planeMedian(src, 0, n, 0, scratch, out)).toBe(0);
        expect(planes.f64(out, 1)[0]).toBe(expected);
      });
    }
  });
});

/** A u16 raw of 2 amplifier-like segments with a known level per row, read noise and some saturated pixels. */
function syntheticRaw(width: number, height: number, seed: number): Uint16Array {
  const r = randoms(seed);
  return Uint16Array.from({ length: width * height }, (_v, i) => {
    const y = Math.floor(i / width);
    const level = 1000 + 3 * Math.sin(y / 7) + (i % width) * 0.5;
    const v = Math.round(level + 1.5 * r.normal() + (r.uniform() < 0.01 ? 5000 : 0));
    return r.uniform() < 0.003 ? 65535 : v;
  });
}

function rawPlane(tessera: Tessera, data: Uint16Array): number {
  const ptr = tessera.planes.alloc(data.byteLength);
  new Uint16Array(tessera.kernels.memory.buffer, ptr, data.length).set(data);
  return ptr;
}

describe('overscanRowLevels and overscanMedian', () => {
  it('compute the clipped row means, the pooled rms and the median as the JS reference does', () => {
    const W = 37, H = 23;
    const raw = syntheticRaw(W, H, 3);
    const box = { x0: 5, y0: 2, w: 16, h: 19 };
    // Reference: row medians, MAD of all residuals, clipped means, pooled rms.
    const rows = Array.from({ length: box.h }, (_v, r) => Array.from({ length: box.w }, (_u, c) => raw[(box.y0 + r) * W + box.x0 + c]!));
    const median = (v: number[]): number => {
      const s = [...v].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    };
    const medians = rows.map(median);
    const residuals = rows.flatMap((row, r) => row.map((v) => Math.fround(Math.abs(v - medians[r]!))));
    const sigma = Math.max(1.4826 * median(residuals), 1);
    let squares = 0, dof = 0;
    const means = rows.map((row, r) => {
      const kept = row.filter((v) => Math.abs(v - medians[r]!) <= 3 * sigma);
      const mean = kept.reduce((a, b) => a + b, 0) / kept.length;
      for (const v of kept) squares += (v - mean) * (v - mean);
      dof += kept.length - 1;
      return mean;
    });
    const allMedian = median(rows.flat());
    for (const v of VARIANTS) {
      const { planes, kernels } = builds[v]!;
      planes.scope(() => {
        const ptr = rawPlane(builds[v]!, raw), scratch = planes.alloc(4 * box.w * box.h), out = planes.alloc(8 * (box.h + 1));
        expect(kernels.overscanRowLevels(ptr, W, H, box.x0, box.y0, box.w, box.h, 3, scratch, out)).toBe(0);
        const got = Array.from(planes.f64(out, box.h + 1));
        got.slice(0, box.h).forEach((g, r) => expect(g).toBeCloseTo(means[r]!, 10));
        expect(got[box.h]).toBeCloseTo(Math.sqrt(squares / dof), 10);
        expect(kernels.overscanMedian(ptr, W, H, box.x0, box.y0, box.w, box.h, scratch, out)).toBe(0);
        expect(planes.f64(out, 1)[0]).toBe(allMedian);
        expect(kernels.overscanRowLevels(ptr, W, H, 30, 0, 16, 4, 3, scratch, out)).toBe(1);
      });
    }
  });
});

describe('assembleAmplifier', () => {
  for (const [flipX, flipY] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
    it(`writes (raw - level) x gain at the flipped place with SAT where raw >= saturation (flipX ${flipX}, flipY ${flipY})`, () => {
      const RW = 29, RH = 11, W = 20, H = 9;
      const raw = syntheticRaw(RW, RH, 11 + flipX + 2 * flipY);
      const box = { x0: 3, y0: 1, w: 13, h: 7 }, out = { x0: 5, y0: 2 };
      const level = Float64Array.from({ length: box.h }, (_v, r) => 1000.25 + r / 3);
      const gain = 3.21, saturation = 5500.5;
      const f = Math.fround;
      for (const v of VARIANTS) {
        const { planes, kernels } = builds[v]!;
        planes.scope(() => {
          const ptr = rawPlane(builds[v]!, raw), lv = planes.allocFrom(level);
          const image = planes.allocFrom(new Float32Array(W * H).fill(-1)), mask = planes.allocFrom(new Int32Array(W * H).fill(16));
          expect(kernels.assembleAmplifier(ptr, RW, RH, box.x0, box.y0, box.w, box.h, flipX, flipY, lv, gain, image, W, H, out.x0, out.y0, mask, saturation, 1)).toBe(0);
          const img = planes.f32(image, W * H), m = planes.i32(mask, W * H);
          for (let y = 0; y < H; y++) {
            for (let x = 0; x < W; x++) {
              const inside = x >= out.x0 && x < out.x0 + box.w && y >= out.y0 && y < out.y0 + box.h;
              if (!inside) {
                expect([img[y * W + x], m[y * W + x]]).toEqual([-1, 16]);
                continue;
              }
              const c = flipX ? box.w - 1 - (x - out.x0) : x - out.x0;
              const r = flipY ? box.h - 1 - (y - out.y0) : y - out.y0;
              const counts = raw[(box.y0 + r) * RW + box.x0 + c]!;
              expect(img[y * W + x]).toBe(f(f(f(counts) - f(level[r]!)) * f(gain)));
              expect(m[y * W + x]).toBe(16 | (counts >= 5501 ? 2 : 0));
            }
          }
        });
      }
    });
  }
});

describe('pixel arithmetic kernels', () => {
  const n = 37;
  const r = randoms(21);
  const image = Float32Array.from({ length: n }, (_v, i) => (i === 5 ? Number.NaN : 500 * r.normal() + 100));
  const variance = Float32Array.from({ length: n }, () => 50 + 10 * r.uniform());
  const calib = Float32Array.from({ length: n }, () => 10 * r.normal());
  const calibVar = Float32Array.from({ length: n }, () => r.uniform());
  const flat = Float32Array.from({ length: n }, (_v, i) => (i === 7 ? 0 : i === 8 ? -0.5 : 0.8 + 0.4 * r.uniform()));
  const f = Math.fround;

  function run(tessera: Tessera, fn: (p: { image: number; variance: number; calib: number; calibVar: number; flat: number; mask: number }) => void): { image: Float32Array; variance: Float32Array; mask: Int32Array } {
    const { planes } = tessera;
    return planes.scope(() => {
      const p = {
        image: planes.allocFrom(image), variance: planes.allocFrom(variance), calib: planes.allocFrom(calib), calibVar: planes.allocFrom(calibVar),
        flat: planes.allocFrom(flat), mask: planes.allocFrom(new Int32Array(n).fill(1)),
      };
      fn(p);
      return { image: planes.f32(p.image, n).slice(), variance: planes.f32(p.variance, n).slice(), mask: planes.i32(p.mask, n).slice() };
    });
  }

  it('subtractScaled: image - s x calib, variance + s^2 x calibVariance', () => {
    for (const v of VARIANTS) {
      const out = run(builds[v]!, (p) => expect(builds[v]!.kernels.subtractScaled(p.image, p.variance, p.calib, p.calibVar, n, 30)).toBe(0));
      for (let i = 0; i < n; i++) {
        expect(out.image[i]).toBe(f(image[i]! - f(30 * calib[i]!)));
        expect(out.variance[i]).toBe(f(variance[i]! + f(900 * calibVar[i]!)));
      }
    }
  });

  it('setVariance: max(image, 0) x scale + readNoise^2 inside the box only', () => {
    for (const v of VARIANTS) {
      // The 37 pixels as a 37 x 1 plane; box x 3..30.
      const out = run(builds[v]!, (p) => expect(builds[v]!.kernels.setVariance(p.image, p.variance, n, 1, 3, 0, 28, 1, 1, 20.25)).toBe(0));
      for (let i = 0; i < n; i++) {
        const expected = i >= 3 && i < 31 ? f(f(Math.max(image[i]!, 0) * 1) + f(20.25)) : variance[i]!;
        if (Number.isNaN(image[i]!) && i >= 3) expect(Number.isNaN(out.variance[i]!)).toBe(true);
        else expect(out.variance[i]).toBe(expected);
      }
    }
  });

  it('divideByFlat: image / flat, (variance + image^2 flatVariance) / flat^2, NaN where flat <= 0', () => {
    for (const v of VARIANTS) {
      const out = run(builds[v]!, (p) => expect(builds[v]!.kernels.divideByFlat(p.image, p.variance, p.flat, p.calibVar, n)).toBe(0));
      for (let i = 0; i < n; i++) {
        if (!(flat[i]! > 0)) {
          expect([Number.isNaN(out.image[i]!), Number.isNaN(out.variance[i]!)]).toEqual([true, true]);
          continue;
        }
        const q = f(image[i]! / flat[i]!);
        expect(out.image[i]).toEqual(q);
        if (!Number.isNaN(q)) expect(out.variance[i]).toBe(f(f(variance[i]! + f(f(q * q) * calibVar[i]!)) / f(flat[i]! * flat[i]!)));
      }
    }
  });

  it('maskNonFinite, nanWhereMasked, scalePlanes, flagInvalid', () => {
    for (const v of VARIANTS) {
      const k = builds[v]!.kernels;
      const out = run(builds[v]!, (p) => {
        expect(k.divideByFlat(p.image, p.variance, p.flat, 0, n)).toBe(0);
        expect(k.maskNonFinite(p.image, p.variance, p.mask, n, 3)).toBe(0);
      });
      for (let i = 0; i < n; i++) expect(out.mask[i]).toBe(i === 5 || i === 7 || i === 8 ? 9 : 1);
      const scaled = run(builds[v]!, (p) => expect(k.scalePlanes(p.image, p.variance, n, 0.5)).toBe(0));
      for (let i = 0; i < n; i++) if (i !== 5) expect([scaled.image[i], scaled.variance[i]]).toEqual([f(image[i]! * 0.5), f(variance[i]! * 0.25)]);
      const nan = run(builds[v]!, (p) => {
        builds[v]!.planes.i32(p.mask, n).set(Int32Array.from({ length: n }, (_u, i) => (i % 3 === 0 ? 6 : 1)));
        expect(k.nanWhereMasked(p.image, p.variance, p.mask, n, 4)).toBe(0);
      });
      for (let i = 0; i < n; i++) {
        if (i % 3 === 0) expect([Number.isNaN(nan.image[i]!), Number.isNaN(nan.variance[i]!)]).toEqual([true, true]);
        else expect(nan.variance[i]).toBe(variance[i]);
      }
      const flagged = run(builds[v]!, (p) => {
        const counts = builds[v]!.planes.allocFrom(Int32Array.from({ length: n }, (_u, i) => i % 4));
        expect(k.flagInvalid(p.flat, counts, p.mask, n, 1, 1, 0)).toBe(0);
      });
      for (let i = 0; i < n; i++) expect(flagged.mask[i]).toBe(1);
      const flagged2 = run(builds[v]!, (p) => {
        builds[v]!.planes.i32(p.mask, n).fill(0);
        const counts = builds[v]!.planes.allocFrom(Int32Array.from({ length: n }, (_u, i) => i % 4));
        expect(k.flagInvalid(p.flat, counts, p.mask, n, 1, 1, 2)).toBe(0);
      });
      for (let i = 0; i < n; i++) expect(flagged2.mask[i]).toBe(i % 4 === 0 || !(flat[i]! > 0) ? 4 : 0);
    }
  });

  it('orMaskMapped ORs each source bit through the table', () => {
    const src = Int32Array.from({ length: n }, (_v, i) => (i % 5 === 0 ? 0 : i % 5 === 1 ? 1 : i % 5 === 2 ? 4 : i % 5 === 3 ? 5 : 1 << 31));
    const map = new Int32Array(32);
    map[0] = 1 << 8; map[2] = 1 << 1; map[31] = 1 << 3;
    for (const v of VARIANTS) {
      const { planes, kernels } = builds[v]!;
      const dst = planes.scope(() => {
        const d = planes.allocFrom(new Int32Array(n).fill(1 << 4)), s = planes.allocFrom(src), t = planes.allocFrom(map);
        expect(kernels.orMaskMapped(d, s, n, t)).toBe(0);
        return planes.i32(d, n).slice();
      });
      const expected = [0, 1 << 8, 1 << 1, (1 << 8) | (1 << 1), 1 << 3];
      for (let i = 0; i < n; i++) expect(dst[i]).toBe((1 << 4) | expected[i % 5]!);
    }
  });

  it('countMaskBits counts the pixels carrying each of the 32 bits (runs of zero words, bit 31 and a tail)', () => {
    const r = randoms(77);
    for (const size of [n, 1, 4, 1003]) {
      // Mostly zero words (skipped four at a time), some with random bits, bit 31 included.
      const mask = Int32Array.from({ length: size }, () => (r.uniform() < 0.7 ? 0 : (r.uniform() * 2 ** 32) | 0));
      const expected = Array.from({ length: 32 }, (_v, b) => mask.reduce((c, m) => c + ((m >>> b) & 1), 0));
      for (const v of VARIANTS) {
        const { planes, kernels } = builds[v]!;
        const got = planes.scope(() => {
          const m = planes.allocFrom(mask), out = planes.alloc(256);
          expect(kernels.countMaskBits(m, size, out)).toBe(0);
          return Array.from(planes.f64(out, 32));
        });
        expect(got, `${v}, ${size} pixels`).toEqual(expected);
      }
    }
    expect(builds.release!.kernels.countMaskBits(0, -1, 0)).toBe(1);
  });
});

describe('growMask', () => {
  it('grows one plane by the Manhattan radius, leaving other bits alone', () => {
    const W = 13, H = 9;
    const mask = new Int32Array(W * H);
    const seeds = [[0, 0], [12, 8], [6, 4], [1, 7], [11, 1]];
    for (const [x, y] of seeds) mask[y! * W + x!] = 2;
    mask[4 * W + 10] = 8; // another plane
    for (const radius of [0, 1, 2]) {
      const expected = Int32Array.from(mask);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          if (seeds.some(([sx, sy]) => Math.abs(sx! - x) + Math.abs(sy! - y) <= radius)) expected[y * W + x] = expected[y * W + x]! | 2;
        }
      }
      for (const v of VARIANTS) {
        const { planes, kernels } = builds[v]!;
        const got = planes.scope(() => {
          const m = planes.allocFrom(mask);
          expect(kernels.growMask(m, planes.alloc(W * H), W, H, 1, radius)).toBe(0);
          return planes.i32(m, W * H).slice();
        });
        expect(Array.from(got)).toEqual(Array.from(expected));
      }
    }
  });

  it('is bit-identical across builds on a random mask', () => {
    const r = randoms(4);
    const W = 101, H = 37;
    const mask = Int32Array.from({ length: W * H }, () => (r.uniform() < 0.05 ? 2 : 0) | (r.uniform() < 0.1 ? 1 : 0));
    const results = VARIANTS.map((v) => {
      const { planes, kernels } = builds[v]!;
      return planes.scope(() => {
        const m = planes.allocFrom(mask);
        expect(kernels.growMask(m, planes.alloc(W * H), W, H, 1, 2)).toBe(0);
        return planes.i32(m, W * H).slice();
      });
    });
    for (const got of results.slice(1)) expect(bytes(got).equals(bytes(results[0]!))).toBe(true);
  });
});

describe('interpolateRows', () => {
  it('fills runs linearly between usable neighbours, from one side at row ends, and marks INTRP / NO_DATA', () => {
    const W = 10, H = 4;
    const image = Float32Array.from({ length: W * H }, (_v, i) => 3 * (i % W) + 100 * Math.floor(i / W));
    const variance = Float32Array.from({ length: W * H }, (_v, i) => 10 + (i % W));
    const mask = new Int32Array(W * H);
    // Row 0: run x 3..5 (BAD), x 6 good. Row 1: run at the left end (SAT) and one next to NO_DATA. Row 2: all bad.
    for (const x of [3, 4, 5]) mask[x] = 1;
    for (const x of [0, 1]) mask[W + x] = 2;
    mask[W + 6] = 256;
    mask[W + 7] = 1;
    for (let x = 0; x < W; x++) mask[2 * W + x] = 1;
    for (const v of VARIANTS) {
      const { planes, kernels } = builds[v]!;
      const out = planes.scope(() => {
        const im = planes.allocFrom(image), vr = planes.allocFrom(variance), m = planes.allocFrom(mask);
        expect(kernels.interpolateRows(im, vr, m, W, H, 3, 256, 2, 8)).toBe(0);
        return { image: planes.f32(im, W * H).slice(), variance: planes.f32(vr, W * H).slice(), mask: planes.i32(m, W * H).slice() };
      });
      // Row 0: a linear ramp is recovered exactly.
      for (const x of [3, 4, 5]) expect([out.image[x], out.variance[x], out.mask[x]]).toEqual([3 * x, 10 + x, 1 | 4]);
      // Row 1: x 0..1 from x 2 only; x 7 from x 8 only (x 6 is NO_DATA, not usable); x 6 untouched.
      expect([out.image[W], out.image[W + 1], out.mask[W], out.mask[W + 1]]).toEqual([106, 106, 2 | 4, 2 | 4]);
      expect([out.image[W + 7], out.variance[W + 7], out.mask[W + 7]]).toEqual([124, 18, 1 | 4]);
      expect([out.image[W + 6], out.mask[W + 6]]).toEqual([118, 256]);
      // Row 2: nothing usable: NO_DATA, NaN.
      for (let x = 0; x < W; x++) {
        expect(Number.isNaN(out.image[2 * W + x]!) && Number.isNaN(out.variance[2 * W + x]!)).toBe(true);
        expect(out.mask[2 * W + x]).toBe(1 | 256);
      }
      // Row 3: untouched.
      expect(Array.from(out.image.subarray(3 * W))).toEqual(Array.from(image.subarray(3 * W)));
    }
  });

  it('is bit-identical across builds on random defects', () => {
    const r = randoms(8);
    const W = 203, H = 31;
    const image = Float32Array.from({ length: W * H }, () => 1000 + 30 * r.normal());
    const variance = Float32Array.from({ length: W * H }, () => 1000 + 10 * r.normal());
    const mask = Int32Array.from({ length: W * H }, (_v, i) => (r.uniform() < 0.08 || i % W === 77 ? 1 : 0) | (r.uniform() < 0.01 ? 256 : 0));
    const results = VARIANTS.map((v) => {
      const { planes, kernels } = builds[v]!;
      return planes.scope(() => {
        const im = planes.allocFrom(image), vr = planes.allocFrom(variance), m = planes.allocFrom(mask);
        expect(kernels.interpolateRows(im, vr, m, W, H, 3, 256, 2, 8)).toBe(0);
        return [planes.f32(im, W * H).slice(), planes.f32(vr, W * H).slice(), planes.i32(m, W * H).slice()] as const;
      });
    });
    for (const got of results.slice(1)) for (let k = 0; k < 3; k++) expect(bytes(got[k]!).equals(bytes(results[0]![k]!))).toBe(true);
  });
});

describe('SIMD, debug and scalar builds', () => {
  it('assemble, subtract, variance, flat, mask and scale a random frame bit-identically', () => {
    const RW = 75, RH = 41, W = 61, H = 37;
    const raw = syntheticRaw(RW, RH, 17);
    const r = randoms(99);
    const calib = Float32Array.from({ length: W * H }, () => 5 * r.normal());
    const calibVar = Float32Array.from({ length: W * H }, () => r.uniform());
    const flat = Float32Array.from({ length: W * H }, () => 0.9 + 0.2 * r.uniform());
    const level = Float64Array.from({ length: H }, (_v, y) => 999.5 + Math.sin(y));
    const results = VARIANTS.map((v) => {
      const { planes, kernels } = builds[v]!;
      return planes.scope(() => {
        const rp = rawPlane(builds[v]!, raw), lv = planes.allocFrom(level);
        const image = planes.alloc(4 * W * H), variance = planes.alloc(4 * W * H), mask = planes.allocFrom(new Int32Array(W * H));
        const c = planes.allocFrom(calib), cv = planes.allocFrom(calibVar), fl = planes.allocFrom(flat);
        const ok = [
          kernels.assembleAmplifier(rp, RW, RH, 7, 2, W, H, 1, 0, lv, 2.9, image, W, H, 0, 0, mask, 5000, 1),
          kernels.subtractScaled(image, 0, c, 0, W * H, 1),
          kernels.setVariance(image, variance, W, H, 0, 0, W, H, 1, 18.5),
          kernels.subtractScaled(image, variance, c, cv, W * H, 7.5),
          kernels.divideByFlat(image, variance, fl, cv, W * H),
          kernels.maskNonFinite(image, variance, mask, W * H, 0),
          kernels.scalePlanes(image, variance, W * H, 1.7),
          kernels.nanWhereMasked(image, variance, mask, W * H, 2),
        ];
        expect(ok).toEqual(ok.map(() => 0));
        return [planes.f32(image, W * H).slice(), planes.f32(variance, W * H).slice(), planes.i32(mask, W * H).slice()] as const;
      });
    });
    for (const got of results.slice(1)) for (let k = 0; k < 3; k++) expect(bytes(got[k]!).equals(bytes(results[0]![k]!))).toBe(true);
  });
});
