// The background and detection kernels (assembly/background.ts, assembly/detection.ts) through their
// exports, in the release (SIMD), debug (assertions, bounds checks) and scalar builds, each against a
// straightforward TypeScript reference on random planes whose widths are not multiples of 4:
// - binClippedMean: afw MEANCLIP per bin (sorted-array quantiles, the kernel's four-lane f64 sums and
//   one-pass sum of squares) bit for bit, and the textbook two-pass variance within 1e-12, masked and
//   non-finite pixels left out, empty bins, nIter 0, one value;
// - evaluateRowPolynomials and thresholdPlane: the same f32 operations (Math.fround) bit for bit;
// - labelComponents: a breadth-first flood fill, 8-connected, numbered in raster order of first pixels;
// - findPeaks: local maxima with the raster-order tie rule; dilateDisk: the disk by brute force;
// - labelRuns, setMaskBit, clearMaskBits, replaceNonFinite;
// and the three builds bit-identical, bad arguments rejected, and the debug build's bounds checks.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { bytes, randoms } from '../helpers/kernelTesting.js';

const VARIANTS = ['release', 'debug', 'scalar'] as const;
const builds: Record<string, Tessera> = {};
beforeAll(async () => {
  for (const v of VARIANTS) builds[v] = await loadTessera(v);
});

// ---------------------------------------------------------------------------------------------------
// binClippedMean

const IQ_TO_STDEV = 0.741301109;

/** afw MEANCLIP as the kernel's header states it, with the kernel's summation order. */
function clippedMeanReference(values: Float32Array, nSigma: number, nIter: number, twoPass = false): [number, number, number, number] {
  const m = values.length;
  if (m === 0) return [NaN, NaN, 0, 0];
  const sorted = Float64Array.from(values).sort();
  const quantile = (p: number): number => {
    const h = (m - 1) * p;
    const k = Math.floor(h);
    const a = sorted[k]!;
    return k + 1 >= m ? a : a + (h - k) * (sorted[k + 1]! - a);
  };
  const laneSum = (f: (v: number) => number): number => {
    const lanes = [0, 0, 0, 0];
    for (let i = 0; i < m; i++) lanes[i & 3] += f(values[i]!);
    return (lanes[0]! + lanes[1]!) + (lanes[2]! + lanes[3]!);
  };
  // nIter 0 keeps every value: the centre is only the one-pass squares' origin, the first value.
  let centre = values[0]!, iqrWidth = Infinity;
  if (nIter > 0) {
    centre = quantile(0.5);
    iqrWidth = nSigma * (IQ_TO_STDEV * (quantile(0.75) - quantile(0.25)));
  }
  let width = iqrWidth, mean = centre, variance = NaN, used = 0;
  for (let pass = 0; pass < Math.max(nIter, 1); pass++) {
    const c = centre, w = width;
    const keep = (v: number): boolean => Math.abs(v - c) <= w;
    const sum = laneSum((v) => (keep(v) ? v : 0));
    const count = laneSum((v) => (keep(v) ? 1 : 0));
    if (count === 0) break;
    const mu = sum / count;
    // One pass: squared deviations from the centre, less count x (mean - centre)^2 (twoPass: the textbook
    // sum of squared deviations from the mean, for the check of the one-pass form).
    const squares = twoPass ? laneSum((v) => (keep(v) ? (v - mu) * (v - mu) : 0))
      : Math.max(laneSum((v) => (keep(v) ? (v - c) * (v - c) : 0)) - count * (mu - c) * (mu - c), 0);
    const s2 = count > 1 ? squares / (count - 1) : 0;
    mean = mu;
    variance = count > 1 ? s2 / count : NaN;
    used = count;
    centre = mu;
    width = count > 1 ? nSigma * Math.sqrt(s2) : iqrWidth;
  }
  return [mean, variance, used, m];
}

interface BinCase {
  image: Float32Array;
  mask: Int32Array;
  width: number;
  height: number;
  xEdges: Int32Array;
  yEdges: Int32Array;
}

function binStats(t: Tessera, c: BinCase, badBits: number, nSigma: number, nIter: number, useMask = true): Float64Array {
  const { planes, kernels } = t;
  return planes.scope(() => {
    const img = planes.allocFrom(c.image);
    const msk = useMask ? planes.allocFrom(c.mask) : 0;
    const xe = planes.allocFrom(c.xEdges), ye = planes.allocFrom(c.yEdges);
    const nx = c.xEdges.length - 1, ny = c.yEdges.length - 1;
    const scratch = planes.alloc(4 * c.width * c.height);
    const out = planes.alloc(32 * nx * ny);
    expect(kernels.binClippedMean(img, msk, c.width, c.height, badBits, xe, nx, ye, ny, nSigma, nIter, scratch, out)).toBe(0);
    return planes.f64(out, 4 * nx * ny).slice();
  });
}

/** A sky of 100 +- 5 with sources (positive outliers), masked pixels and non-finite values. */
function skyCase(seed: number, width: number, height: number): BinCase {
  const r = randoms(seed);
  const image = new Float32Array(width * height);
  const mask = new Int32Array(width * height);
  for (let i = 0; i < image.length; i++) {
    const u = r.uniform();
    image[i] = u < 0.05 ? 100 + 200 * r.uniform() : u < 0.06 ? Number.NaN : u < 0.065 ? Number.POSITIVE_INFINITY : 100 + 5 * r.normal();
    if (r.uniform() < 0.1) mask[i] = r.uniform() < 0.5 ? 1 : 1 << 5;
  }
  return { image, mask, width, height, xEdges: Int32Array.of(0, 13, 29, width), yEdges: Int32Array.of(0, 17, height) };
}

function referenceBins(c: BinCase, badBits: number, nSigma: number, nIter: number, useMask = true, twoPass = false): number[] {
  const out: number[] = [];
  for (let j = 0; j + 1 < c.yEdges.length; j++) {
    for (let i = 0; i + 1 < c.xEdges.length; i++) {
      const values: number[] = [];
      for (let y = c.yEdges[j]!; y < c.yEdges[j + 1]!; y++) {
        for (let x = c.xEdges[i]!; x < c.xEdges[i + 1]!; x++) {
          const k = y * c.width + x;
          const v = c.image[k]!;
          if (!Number.isFinite(v) || (useMask && (c.mask[k]! & badBits) !== 0)) continue;
          values.push(v);
        }
      }
      out.push(...clippedMeanReference(Float32Array.from(values), nSigma, nIter, twoPass));
    }
  }
  return out;
}

describe('binClippedMean', () => {
  it('equals the afw MEANCLIP reference bit for bit in every build (masked and non-finite pixels left out)', () => {
    const c = skyCase(7, 45, 31);
    const expected = referenceBins(c, 1 | (1 << 5), 3, 3);
    for (const v of VARIANTS) {
      const got = binStats(builds[v]!, c, 1 | (1 << 5), 3, 3);
      expect(Array.from(got)).toEqual(expected);
    }
    // The clipping removes the sources: every bin's mean is within 1 of the sky's 100.
    for (let k = 0; k < expected.length; k += 4) expect(Math.abs(expected[k]! - 100)).toBeLessThan(1);
    // The one-pass sum of squares gives the two-pass variance to 1e-12 (relative), the same pixels kept.
    const textbook = referenceBins(c, 1 | (1 << 5), 3, 3, true, true);
    for (let k = 0; k < expected.length; k += 4) {
      expect(expected[k + 2]).toBe(textbook[k + 2]);
      expect(Math.abs(expected[k + 1]! / textbook[k + 1]! - 1)).toBeLessThan(1e-12);
    }
  });

  it('equals the reference bit for bit on bins of thousands of values (order statistics by buckets): noise, integer ties, a constant bin, odd counts', () => {
    const c = skyCase(19, 300, 200);
    const large: BinCase = { ...c, xEdges: Int32Array.of(0, 128, 300), yEdges: Int32Array.of(0, 9, 137, 200) }; // 1152 .. 22016 values
    const ties: BinCase = { ...large, image: Float32Array.from(c.image, (v) => Math.round(v / 4)) };
    const flat: BinCase = { ...large, image: Float32Array.from(c.image, (v, i) => (i % 300 < 128 ? 100 : v)) };
    // Bins of 1143 .. 21971 values, none a multiple of 4: the SIMD build's four-lane histogram has a tail.
    const odd: BinCase = { ...c, xEdges: Int32Array.of(0, 127, 300), yEdges: Int32Array.of(0, 9, 136, 199) };
    for (const bins of [large, ties, flat, odd]) {
      const expected = referenceBins(bins, 1 | (1 << 5), 3, 3);
      for (const v of VARIANTS) expect(Array.from(binStats(builds[v]!, bins, 1 | (1 << 5), 3, 3))).toEqual(expected);
    }
  });

  it('handles nIter 0 (plain mean), no mask, a bin of one value and a bin with none', () => {
    const c = skyCase(11, 37, 19);
    for (const v of VARIANTS) {
      expect(Array.from(binStats(builds[v]!, c, 1, 3, 0, false))).toEqual(referenceBins(c, 1, 3, 0, false));
      expect(Array.from(binStats(builds[v]!, c, 1, 2.5, 5))).toEqual(referenceBins(c, 1, 2.5, 5));
    }
    // A level far above its spread (a variance plane's statistics): with nIter 0 the squares' origin is a
    // value of the bin, so the one-pass variance keeps the two-pass one's precision (1e-9 here, where an
    // origin at 0 loses all but ~1e-4 of it to cancellation).
    const high: BinCase = { ...c, image: Float32Array.from(c.image, (v) => (Number.isFinite(v) ? 1e6 + (v - 100) / 50 : v)) };
    const textbook = referenceBins(high, 1, 3, 0, false, true);
    for (const v of VARIANTS) {
      const got = binStats(builds[v]!, high, 1, 3, 0, false);
      for (let k = 0; k < got.length; k += 4) expect(Math.abs(got[k + 1]! / textbook[k + 1]! - 1), `${v} bin ${k / 4}`).toBeLessThan(1e-9);
    }
    const single: BinCase = {
      image: Float32Array.of(5, 7, Number.NaN, 9), mask: Int32Array.of(0, 1, 0, 1), width: 2, height: 2,
      xEdges: Int32Array.of(0, 1, 2), yEdges: Int32Array.of(0, 2),
    };
    for (const v of VARIANTS) {
      const got = binStats(builds[v]!, single, 1, 3, 3);
      expect(Array.from(got.subarray(0, 4))).toEqual([5, NaN, 1, 1]); // one value: its mean, no variance
      expect(Array.from(got.subarray(4, 8))).toEqual([NaN, NaN, 0, 0]); // NaN and a masked pixel: nothing
    }
  });

  it('measures a region inside the image when the edges do not cover it', () => {
    const c = skyCase(3, 40, 30);
    const inner: BinCase = { ...c, xEdges: Int32Array.of(5, 35), yEdges: Int32Array.of(4, 26) };
    for (const v of VARIANTS) expect(Array.from(binStats(builds[v]!, inner, 1, 3, 3))).toEqual(referenceBins(inner, 1, 3, 3));
  });

  it('rejects bad arguments', () => {
    const t = builds.release!;
    const { planes, kernels } = t;
    planes.scope(() => {
      const img = planes.alloc(4 * 16), out = planes.alloc(64), scratch = planes.alloc(64);
      const edges = (...e: number[]): number => planes.allocFrom(Int32Array.from(e));
      expect(kernels.binClippedMean(img, 0, 4, 4, 0, edges(0, 4), 1, edges(0, 4), 1, 0, 3, scratch, out)).toBe(1); // nSigma 0
      expect(kernels.binClippedMean(img, 0, 4, 4, 0, edges(0, 4), 1, edges(0, 4), 1, 3, -1, scratch, out)).toBe(1); // nIter < 0
      expect(kernels.binClippedMean(img, 0, 4, 4, 0, edges(0, 5), 1, edges(0, 4), 1, 3, 3, scratch, out)).toBe(1); // edge outside
      expect(kernels.binClippedMean(img, 0, 4, 4, 0, edges(2, 2), 1, edges(0, 4), 1, 3, 3, scratch, out)).toBe(1); // empty bin
      expect(kernels.binClippedMean(img, 0, 4, 4, 0, edges(0, 4), 0, edges(0, 4), 1, 3, 3, scratch, out)).toBe(1); // no bins
    });
  });

  it('is bounds-checked in the debug build', () => {
    const t = builds.debug!;
    const { planes, kernels } = t;
    planes.scope(() => {
      const img = planes.alloc(4 * 16), scratch = planes.alloc(64);
      const xe = planes.allocFrom(Int32Array.of(0, 4)), ye = planes.allocFrom(Int32Array.of(0, 4));
      const beyond = planes.memoryBytes + 64;
      expect(() => kernels.binClippedMean(img, 0, 4, 4, 0, xe, 1, ye, 1, 3, 3, scratch, beyond)).toThrow(/assertion failed/);
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// evaluateRowPolynomials

describe('evaluateRowPolynomials', () => {
  // Degree 3 (every spline background's rows) runs with its coefficients in registers, others by the general loop.
  it.each([3, 5])('evaluates the per-row segment polynomials (degree %i) with the reference f32 operations, in every build', (degree) => {
    const width = 53, height = 7;
    const breaks = Int32Array.of(0, 0, 11, 30, 53); // an empty first segment
    const nSeg = breaks.length - 1;
    const centres = Float32Array.of(-3, 5.5, 20, 41.25);
    const scales = Float32Array.of(0.5, 0.2, 0.1, 1 / 12);
    const r = randoms(5);
    const coefficients = Float32Array.from({ length: height * nSeg * (degree + 1) }, () => 100 * r.normal());
    const f = Math.fround;
    const expected = new Float32Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let s = 0; s < nSeg; s++) {
        const base = (y * nSeg + s) * (degree + 1);
        for (let x = breaks[s]!; x < breaks[s + 1]!; x++) {
          const u = f(f(x - centres[s]!) * scales[s]!);
          let v = coefficients[base + degree]!;
          for (let k = degree - 1; k >= 0; k--) v = f(f(v * u) + coefficients[base + k]!);
          expected[y * width + x] = v;
        }
      }
    }
    for (const v of VARIANTS) {
      const { planes, kernels } = builds[v]!;
      const got = planes.scope(() => {
        const out = planes.alloc(4 * width * height);
        expect(kernels.evaluateRowPolynomials(out, width, height, planes.allocFrom(breaks), nSeg, planes.allocFrom(centres), planes.allocFrom(scales), degree,
          planes.allocFrom(coefficients))).toBe(0);
        return planes.f32(out, width * height).slice();
      });
      expect(bytes(got).equals(bytes(expected))).toBe(true);
    }
  });

  it('rejects breaks that do not run from 0 to the width in order', () => {
    const { planes, kernels } = builds.release!;
    planes.scope(() => {
      const out = planes.alloc(4 * 40), one = planes.allocFrom(Float32Array.of(0, 1)), coef = planes.allocFrom(new Float32Array(80));
      expect(kernels.evaluateRowPolynomials(out, 10, 4, planes.allocFrom(Int32Array.of(0, 9)), 1, one, one, 0, coef)).toBe(1);
      expect(kernels.evaluateRowPolynomials(out, 10, 4, planes.allocFrom(Int32Array.of(0, 6, 4, 10)), 3, coef, coef, 0, coef)).toBe(1);
      expect(kernels.evaluateRowPolynomials(out, 10, 4, planes.allocFrom(Int32Array.of(0, 10)), 1, one, one, -1, coef)).toBe(1);
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Detection kernels

interface Flags {
  flags: Uint8Array;
  width: number;
  height: number;
}

function randomFlags(seed: number, width: number, height: number, density: number): Flags {
  const r = randoms(seed);
  // Blobs: smoothed random field thresholded, so components have varied shapes (and some touch at corners).
  const field = Float64Array.from({ length: width * height }, () => r.normal());
  const smooth = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const xx = Math.min(width - 1, Math.max(0, x + dx)), yy = Math.min(height - 1, Math.max(0, y + dy));
        s += field[yy * width + xx]!;
      }
      smooth[y * width + x] = s;
    }
  }
  const sorted = Float64Array.from(smooth).sort();
  const cut = sorted[Math.floor((1 - density) * sorted.length)]!;
  return { flags: Uint8Array.from(smooth, (v) => (v >= cut ? 1 : 0)), width, height };
}

/** 8-connected components by flood fill, numbered in raster order of their first pixel. */
function labelReference(f: Flags): Int32Array {
  const { flags, width, height } = f;
  const labels = new Int32Array(width * height);
  let next = 0;
  for (let start = 0; start < labels.length; start++) {
    if (!flags[start] || labels[start]) continue;
    labels[start] = ++next;
    const queue = [start];
    while (queue.length) {
      const i = queue.pop()!;
      const x = i % width, y = (i - x) / width;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx, yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
        const j = yy * width + xx;
        if (flags[j] && !labels[j]) { labels[j] = next; queue.push(j); }
      }
    }
  }
  return labels;
}

function runLabel(t: Tessera, f: Flags): { labels: Int32Array; count: number } {
  const { planes, kernels } = t;
  return planes.scope(() => {
    const flags = planes.allocFrom(f.flags);
    const labels = planes.alloc(4 * f.width * f.height);
    const parents = planes.alloc(4 * (Math.ceil(f.width / 2) * Math.ceil(f.height / 2) + 1));
    const out = planes.alloc(4);
    expect(kernels.labelComponents(flags, f.width, f.height, labels, parents, out)).toBe(0);
    return { labels: planes.i32(labels, f.width * f.height).slice(), count: planes.i32(out, 1)[0]! };
  });
}

describe('thresholdPlane', () => {
  it('flags polarity x value >= threshold x row x column scale x sqrt(variance) with the reference f32 operations', () => {
    const width = 23, height = 9;
    const r = randoms(9);
    const src = Float32Array.from({ length: width * height }, () => 3 * r.normal());
    src[5] = Number.NaN;
    const variance = Float32Array.from({ length: width * height }, () => 0.5 + r.uniform());
    variance[7] = -1; // sqrt of a negative variance is NaN: never flagged
    const columns = Float32Array.from({ length: width }, () => 0.8 + 0.4 * r.uniform());
    const rows = Float32Array.from({ length: height }, () => 0.8 + 0.4 * r.uniform());
    const f = Math.fround;
    for (const polarity of [1, -1]) {
      for (const withPlanes of [true, false]) {
        const expected = Uint8Array.from(src, (v, i) => {
          const x = i % width, y = (i - x) / width;
          let limit = withPlanes ? f(f(1.7) * rows[y]!) : f(1.7);
          if (withPlanes) limit = f(f(limit * columns[x]!) * f(Math.sqrt(variance[i]!)));
          return f(v * polarity) >= limit ? 1 : 0;
        });
        for (const b of VARIANTS) {
          const { planes, kernels } = builds[b]!;
          const got = planes.scope(() => {
            const out = planes.alloc(width * height);
            const p = (a: Float32Array): number => (withPlanes ? planes.allocFrom(a) : 0);
            expect(kernels.thresholdPlane(planes.allocFrom(src), width, height, p(variance), p(columns), p(rows), 1.7, polarity, out)).toBe(0);
            return planes.u8(out, width * height).slice();
          });
          expect(Array.from(got)).toEqual(Array.from(expected));
        }
      }
    }
    const { planes, kernels } = builds.release!;
    planes.scope(() => expect(kernels.thresholdPlane(planes.alloc(16), 2, 2, 0, 0, 0, 1, 0, planes.alloc(4))).toBe(1));
  });
});

describe('labelComponents', () => {
  it('equals an 8-connected flood fill numbered in raster order, in every build', () => {
    for (const [seed, w, h, density] of [[1, 37, 29, 0.3], [2, 61, 17, 0.55], [3, 5, 41, 0.5], [4, 131, 67, 0.1]] as const) {
      const f = randomFlags(seed, w, h, density);
      const expected = labelReference(f);
      const count = Math.max(0, ...expected);
      expect(count).toBeGreaterThan(2);
      for (const v of VARIANTS) {
        const got = runLabel(builds[v]!, f);
        expect(got.count).toBe(count);
        expect(Array.from(got.labels)).toEqual(Array.from(expected));
      }
    }
  });

  it('survives the worst case of provisional labels (isolated pixels on every other row and column)', () => {
    const width = 33, height = 21;
    const flags = Uint8Array.from({ length: width * height }, (_, i) => ((i % width) % 2 === 0 && Math.floor(i / width) % 2 === 0 ? 1 : 0));
    for (const v of VARIANTS) expect(runLabel(builds[v]!, { flags, width, height }).count).toBe(17 * 11);
    // A diagonal line is one component (corners connect), a checkerboard too.
    const diagonal = Uint8Array.from({ length: 100 }, (_, i) => (i % 10 === Math.floor(i / 10) ? 1 : 0));
    expect(runLabel(builds.debug!, { flags: diagonal, width: 10, height: 10 }).count).toBe(1);
    const checker = Uint8Array.from({ length: 99 }, (_, i) => ((i % 11) + Math.floor(i / 11)) % 2);
    expect(runLabel(builds.debug!, { flags: checker, width: 11, height: 9 }).count).toBe(1);
  });
});

describe('findPeaks', () => {
  it('finds the local maxima of flagged pixels (divided by column and row scales when given) with the raster-order tie rule, in every build', () => {
    const width = 41, height = 27;
    const r = randoms(21);
    // Quantised values make ties (plateaus) common.
    const values = Float32Array.from({ length: width * height }, () => Math.round(4 * r.normal()));
    const f = randomFlags(22, width, height, 0.6);
    // Scales as the detection's edge factors: 1 inside, rising towards the edges (here random there).
    const edgeScale = (n: number): Float32Array => Float32Array.from({ length: n }, (_, p) => (p < 4 || p >= n - 4 ? 1 + 0.5 * r.uniform() : 1));
    const columnScale = edgeScale(width), rowScale = edgeScale(height);
    for (const scaled of [false, true]) for (const polarity of [1, -1]) {
      const at = (x: number, y: number): number => polarity * values[y * width + x]! / (scaled ? columnScale[x]! * rowScale[y]! : 1);
      const expected: number[] = [];
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = y * width + x;
          if (!f.flags[i]) continue;
          const v = at(x, y);
          let peak = true;
          for (let dy = -1; dy <= 1 && peak; dy++) for (let dx = -1; dx <= 1; dx++) {
            if ((dx === 0 && dy === 0) || x + dx < 0 || y + dy < 0 || x + dx >= width || y + dy >= height) continue;
            const u = at(x + dx, y + dy);
            const earlier = dy < 0 || (dy === 0 && dx < 0);
            if (earlier ? !(v > u) : !(v >= u)) { peak = false; break; }
          }
          if (peak) expected.push(i);
        }
      }
      expect(expected.length).toBeGreaterThan(10);
      for (const b of VARIANTS) {
        const { planes, kernels } = builds[b]!;
        const got = planes.scope(() => {
          const v = planes.allocFrom(values), l = planes.allocFrom(f.flags), out = planes.alloc(4);
          const cs = scaled ? planes.allocFrom(columnScale) : 0, rs = scaled ? planes.allocFrom(rowScale) : 0;
          // Too small a buffer: the count is still the total, the buffer holds the first ones.
          const small = planes.alloc(4 * 3);
          expect(kernels.findPeaks(v, l, width, height, cs, rs, polarity, small, 3, out)).toBe(0);
          expect(planes.i32(out, 1)[0]).toBe(expected.length);
          expect(Array.from(planes.i32(small, 3))).toEqual(expected.slice(0, 3));
          const peaks = planes.alloc(4 * expected.length);
          expect(kernels.findPeaks(v, l, width, height, cs, rs, polarity, peaks, expected.length, out)).toBe(0);
          return Array.from(planes.i32(peaks, expected.length));
        });
        expect(got).toEqual(expected);
      }
    }
  });
});

describe('dilateDisk', () => {
  it('sets every pixel within a disk of the radius around a flagged one (brute force), in every build', () => {
    // The last, sparse and wide: the kernel's skips over 16 unflagged pixels in both directions.
    for (const [seed, w, h, radius, density] of [[31, 43, 29, 0, 0.04], [32, 43, 29, 1, 0.04], [33, 37, 23, 3, 0.04], [34, 26, 31, 6, 0.04], [35, 131, 17, 9, 0.005]] as const) {
      const f = randomFlags(seed, w, h, density);
      const expected = new Uint8Array(w * h);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        if (!f.flags[y * w + x]) continue;
        for (let dy = -radius; dy <= radius; dy++) for (let dx = -radius; dx <= radius; dx++) {
          if (dx * dx + dy * dy > radius * radius || x + dx < 0 || y + dy < 0 || x + dx >= w || y + dy >= h) continue;
          expected[(y + dy) * w + x + dx] = 1;
        }
      }
      for (const v of VARIANTS) {
        const { planes, kernels } = builds[v]!;
        const got = planes.scope(() => {
          const src = planes.allocFrom(f.flags), out = planes.alloc(w * h), scratch = planes.alloc(4 * w * h);
          expect(kernels.dilateDisk(src, out, w, h, radius, scratch)).toBe(0);
          const separate = planes.u8(out, w * h).slice();
          expect(kernels.dilateDisk(src, src, w, h, radius, scratch)).toBe(0); // in place
          expect(Array.from(planes.u8(src, w * h))).toEqual(Array.from(separate));
          return separate;
        });
        expect(Array.from(got)).toEqual(Array.from(expected));
      }
    }
  });

  it('takes radii up to 46340 (radius^2 in i32) and refuses larger ones', () => {
    const { planes, kernels } = builds.release!;
    planes.scope(() => {
      const w = 5, h = 3, src = planes.allocFrom(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0)), out = planes.alloc(w * h), scratch = planes.alloc(4 * w * h);
      expect(kernels.dilateDisk(src, out, w, h, 46340, scratch)).toBe(0);
      expect(Array.from(planes.u8(out, w * h)).every((v) => v === 1)).toBe(true);
      expect(kernels.dilateDisk(src, out, w, h, 46341, scratch)).not.toBe(0);
    });
  });
});

describe('labelRuns, setMaskBit, clearMaskBits, replaceNonFinite', () => {
  it('lists the runs of a label plane in raster order', () => {
    const f = randomFlags(41, 39, 21, 0.4);
    const labels = labelReference(f);
    const expected: number[] = [];
    for (let y = 0; y < f.height; y++) {
      for (let x = 0; x < f.width; x++) {
        const l = labels[y * f.width + x]!;
        if (!l) continue;
        let x1 = x;
        while (x1 + 1 < f.width && labels[y * f.width + x1 + 1] === l) x1++;
        expected.push(l, y, x, x1);
        x = x1;
      }
    }
    for (const v of VARIANTS) {
      const { planes, kernels } = builds[v]!;
      const got = planes.scope(() => {
        const l = planes.allocFrom(labels), out = planes.alloc(4);
        expect(kernels.labelRuns(l, f.width, f.height, 0, 0, out)).toBe(0);
        const n = planes.i32(out, 1)[0]!;
        const runs = planes.alloc(16 * n);
        expect(kernels.labelRuns(l, f.width, f.height, runs, n, out)).toBe(0);
        return Array.from(planes.i32(runs, 4 * n));
      });
      expect(got).toEqual(expected);
    }
  });

  it('sets a mask bit on flagged pixels and clears it elsewhere; replaces non-finite values', () => {
    const n = 39;
    const r = randoms(51);
    const flags = Uint8Array.from({ length: n }, () => (r.uniform() < 0.5 ? 1 : 0));
    const mask = Int32Array.from({ length: n }, () => Math.floor(r.uniform() * 2 ** 31) | (r.uniform() < 0.5 ? 1 << 31 : 0));
    const plane = Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? Number.NaN : i % 7 === 0 ? -Infinity : i % 11 === 0 ? Infinity : i));
    for (const v of VARIANTS) {
      const { planes, kernels } = builds[v]!;
      planes.scope(() => {
        const m = planes.allocFrom(mask);
        expect(kernels.setMaskBit(planes.allocFrom(flags), m, n, 5)).toBe(0);
        expect(Array.from(planes.i32(m, n))).toEqual(Array.from(mask, (w, i) => (flags[i] ? w | 32 : w & ~32)));
        const p = planes.allocFrom(plane), count = planes.alloc(4);
        expect(kernels.replaceNonFinite(p, n, -2, count)).toBe(0);
        expect(planes.i32(count, 1)[0]).toBe(plane.filter((x) => !Number.isFinite(x)).length);
        expect(Array.from(planes.f32(p, n))).toEqual(Array.from(plane, (x) => (Number.isFinite(x) ? x : -2)));
        const q = planes.allocFrom(plane);
        expect(kernels.replaceNonFinite(q, n, 7, 0)).toBe(0);
        expect(Array.from(planes.f32(q, n))).toEqual(Array.from(plane, (x) => (Number.isFinite(x) ? x : 7)));
        expect(kernels.setMaskBit(0, m, n, 32)).toBe(1);
        // Bits 5, 12 and 31 cleared everywhere, the others kept (39 pixels: a tail after the SIMD groups).
        const c = planes.allocFrom(mask), bits = (1 << 5) | (1 << 12) | (1 << 31);
        expect(kernels.clearMaskBits(c, n, bits)).toBe(0);
        expect(Array.from(planes.i32(c, n))).toEqual(Array.from(mask, (w) => w & ~bits));
        expect(kernels.clearMaskBits(c, -1, bits)).toBe(1);
      });
    }
  });
});
