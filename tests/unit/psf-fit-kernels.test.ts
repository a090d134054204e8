// The PSF pixel-basis fit's kernels (assembly/psfFit.ts) and their workspace (lib/measure/psfPixelFit.ts),
// in the release (SIMD), debug and scalar builds:
// - psfSampleGrid against a TypeScript reference of its header's rule (separable Lanczos taps, zero taps
//   left out, bad pixels making samples not good, nearest-pixel variances) bit for bit, with a bad pixel
//   and a grid reaching off the stamp;
// - psfSolveSamples recovering per-sample polynomials exactly (to f32 rounding) from weighted stars, a
//   star left out where its good byte is 0 or its weight is 0, and the weighted-mean fallback where fewer
//   stars than terms count;
// - the workspace's model on a star's stamp bit for bit as lib/measure/psfModel.ts's resampleToPixels of
//   the same samples, and its amplitude fit (a scaled model: the scale, chi^2 0);
// - a whole fit (data pass and two residual passes) recovering a spatially varying Gaussian PSF from
//   noise-free stars, and giving the same bits in every build.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { lanczosTaps } from '../../lib/measure/lanczos.js';
import { polynomialTermCount, polynomialTerms, resampleToPixels } from '../../lib/measure/psfModel.js';
import { PsfFitWorkspace, type FitStar, type PixelFitGeometry } from '../../lib/measure/psfPixelFit.js';
import { bytes, randoms } from '../helpers/kernelTesting.js';

const VARIANTS = ['release', 'debug', 'scalar'] as const;
const builds: Record<string, Tessera> = {};
beforeAll(async () => {
  for (const v of VARIANTS) builds[v] = await loadTessera(v);
});

const GEOMETRY: PixelFitGeometry = { K: 15, pad: 3, P: 21, G: 15, sampling: 1, lanczosOrder: 3, psfAccuracy: 0.01, refineIterations: 2 };

/** psfSampleGrid's rule in plain TypeScript (its header comment). */
function sampleGridReference(plane: Float64Array, good: Uint8Array, variance: Float64Array, P: number, G: number, taps: number,
  xFirst: Int32Array, yFirst: Int32Array, xNearest: Int32Array, yNearest: Int32Array, xW: Float64Array, yW: Float64Array) {
  /** Taps `at` of `weights` on the line element(at(first + k)) of `data`, `valid`: the sum and whether every non-zero tap was on a good element. */
  const tapSum = (weights: Float64Array, at: number, first: number, data: Float64Array, valid: Uint8Array, element: (i: number) => number): [number, number] => {
    let v = 0, ok = 1;
    for (let k = 0; k < taps; k++) {
      const w = weights[at * taps + k]!, i = first + k;
      if (w === 0) continue;
      if (i < 0 || i >= P || !valid[element(i)]) { ok = 0; continue; }
      v += w * data[element(i)]!;
    }
    return [v, ok];
  };
  const rows = new Float64Array(P * G), rowsGood = new Uint8Array(P * G);
  for (let j = 0; j < P; j++) for (let p = 0; p < G; p++) {
    [rows[j * G + p], rowsGood[j * G + p]] = tapSum(xW, p, xFirst[p]!, plane, good, (i) => j * P + i);
  }
  const values = new Float64Array(G * G), outGood = new Uint8Array(G * G), outVariance = new Float64Array(G * G);
  for (let q = 0; q < G; q++) for (let p = 0; p < G; p++) {
    [values[q * G + p], outGood[q * G + p]] = tapSum(yW, q, yFirst[q]!, rows, rowsGood, (j) => j * G + p);
    const ix = xNearest[p]!, iy = yNearest[q]!;
    outVariance[q * G + p] = ix >= 0 && ix < P && iy >= 0 && iy < P ? variance[iy * P + ix]! : Infinity;
  }
  return { values, good: outGood, variance: outVariance };
}

describe('psfSampleGrid', () => {
  const P = 21, G = 15, a = 3, taps = 2 * a;
  const { uniform } = randoms(7);
  const plane = Float64Array.from({ length: P * P }, () => uniform() * 100 - 10);
  const variance = Float64Array.from({ length: P * P }, () => 1 + uniform() * 9);
  const good = new Uint8Array(P * P).fill(1);
  good[9 * P + 12] = 0;
  // A star at (40.3, 51.7) on a stamp whose origin is (33, 41), samples 1.25 px apart: the grid's first
  // column has its nearest pixels off the stamp, and taps of the first and last columns and rows reach off it.
  const x = 40.3, y = 51.7, sx0 = 33, sy0 = 41, s = 1.25, c = Math.floor(G / 2);
  const xFirst = new Int32Array(G), yFirst = new Int32Array(G), xNearest = new Int32Array(G), yNearest = new Int32Array(G);
  const xW = new Float64Array(G * taps), yW = new Float64Array(G * taps), scratch = new Float64Array(taps);
  for (let p = 0; p < G; p++) {
    xFirst[p] = lanczosTaps(x + (p - c) * s - sx0, a, scratch);
    xW.set(scratch, p * taps);
    yFirst[p] = lanczosTaps(y + (p - c) * s - sy0, a, scratch);
    yW.set(scratch, p * taps);
    xNearest[p] = Math.round(x + (p - c) * s) - sx0;
    yNearest[p] = Math.round(y + (p - c) * s) - sy0;
  }
  const reference = sampleGridReference(plane, good, variance, P, G, taps, xFirst, yFirst, xNearest, yNearest, xW, yW);

  for (const variant of VARIANTS) {
    it(`matches the reference bit for bit in the ${variant} build`, () => {
      const { planes, kernels } = builds[variant]!;
      planes.scope(() => {
        const geometry = new Uint8Array(16 * G + 16 * G * taps);
        const ints = new Int32Array(geometry.buffer, 0, 4 * G), weights = new Float64Array(geometry.buffer, 16 * G, 2 * G * taps);
        ints.set(xFirst, 0); ints.set(yFirst, G); ints.set(xNearest, 2 * G); ints.set(yNearest, 3 * G);
        weights.set(xW, 0); weights.set(yW, G * taps);
        const ptrs = {
          plane: planes.allocFrom(plane), good: planes.allocFrom(good), variance: planes.allocFrom(variance), geometry: planes.allocFrom(geometry),
          rows: planes.alloc(8 * P * G), rowsGood: planes.alloc(P * G), values: planes.alloc(8 * G * G), outGood: planes.alloc(G * G), outVariance: planes.alloc(8 * G * G),
        };
        expect(kernels.psfSampleGrid(ptrs.plane, ptrs.good, ptrs.variance, P, G, taps, ptrs.geometry, ptrs.rows, ptrs.rowsGood, ptrs.values, ptrs.outGood, ptrs.outVariance)).toBe(0);
        expect(bytes(planes.f64(ptrs.values, G * G))).toEqual(bytes(reference.values));
        expect(planes.u8(ptrs.outGood, G * G)).toEqual(reference.good);
        expect(bytes(planes.f64(ptrs.outVariance, G * G))).toEqual(bytes(reference.variance));
        // Values only (outGood 0): the same values.
        planes.f64(ptrs.values, G * G).fill(0);
        expect(kernels.psfSampleGrid(ptrs.plane, ptrs.good, 0, P, G, taps, ptrs.geometry, ptrs.rows, ptrs.rowsGood, ptrs.values, 0, 0)).toBe(0);
        expect(bytes(planes.f64(ptrs.values, G * G))).toEqual(bytes(reference.values));
        expect(kernels.psfSampleGrid(ptrs.plane, ptrs.good, 0, P, 0, taps, ptrs.geometry, ptrs.rows, ptrs.rowsGood, ptrs.values, 0, 0)).toBe(1);
      });
    });
  }

  it('has samples that are not good exactly where a non-zero tap meets the bad pixel or leaves the stamp', () => {
    const notGood = [...reference.good].filter((g) => g === 0).length;
    // The bad pixel (column 12, row 9) spoils the samples whose x and y taps both reach it; the taps of the
    // grid's first columns and last rows reach off the 21-px stamp.
    expect(notGood).toBeGreaterThan(2 * G);
    expect(notGood).toBeLessThan(G * G / 2);
    expect(reference.good[c * G + c]).toBe(1);
    expect(reference.variance.filter((v) => v === Infinity).length).toBe(G);
  });
});

describe('psfSolveSamples', () => {
  const n = 37, order = 2, nterms = polynomialTermCount(order), nStars = 24;
  const { uniform } = randoms(11);
  const truth = Float64Array.from({ length: nterms * n }, () => uniform() * 2 - 1);
  const positions = Array.from({ length: nStars }, () => [uniform() * 2 - 1, uniform() * 2 - 1] as const);
  const terms = positions.map(([X, Y]) => polynomialTerms(X, Y, order));
  const values = terms.map((c) => Float64Array.from({ length: n }, (_, i) => c.reduce((sum, ct, t) => sum + ct * truth[t * n + i]!, 0)));
  const weights = terms.map(() => Float64Array.from({ length: n }, () => 0.5 + uniform()));
  const goods = terms.map(() => new Uint8Array(n).fill(1));
  // Sample 3: only 4 stars count (good byte 0 or weight 0 for the rest): the weighted mean of those 4.
  for (let s = 4; s < nStars; s++) {
    if (s % 2) goods[s]![3] = 0;
    else weights[s]![3] = 0;
    values[s]![3] = 1e6; // ignored
  }
  // Sample 5: no star counts.
  for (let s = 0; s < nStars; s++) goods[s]![5] = 0;

  const solve = (tessera: Tessera): Float32Array => {
    const { planes, kernels } = tessera;
    return planes.scope(() => {
      const table = new Int32Array(4 * nStars);
      for (let s = 0; s < nStars; s++) {
        table.set([planes.allocFrom(values[s]!), planes.allocFrom(goods[s]!), planes.allocFrom(weights[s]!), planes.allocFrom(terms[s]!)], 4 * s);
      }
      const tri = (nterms * (nterms + 1)) / 2;
      const ptr = {
        table: planes.allocFrom(table), lower: planes.alloc(8 * n * tri), rhs: planes.alloc(8 * n * nterms), count: planes.alloc(4 * n),
        sums: planes.alloc(16 * n), system: planes.alloc(8 * (nterms * nterms + nterms)), basis: planes.alloc(4 * n * nterms),
      };
      expect(kernels.psfSolveSamples(ptr.table, nStars, n, nterms, ptr.lower, ptr.rhs, ptr.count, ptr.sums, ptr.system, ptr.basis)).toBe(0);
      return planes.f32(ptr.basis, n * nterms).slice();
    });
  };

  it('recovers each sample\'s polynomial, falls back to the weighted mean, and gives the same bits in every build', () => {
    const results = VARIANTS.map((v) => solve(builds[v]!));
    for (const r of results.slice(1)) expect(bytes(r)).toEqual(bytes(results[0]!));
    const basis = results[0]!;
    for (let i = 0; i < n; i++) {
      if (i === 3 || i === 5) continue;
      for (let t = 0; t < nterms; t++) expect(Math.abs(basis[t * n + i]! - truth[t * n + i]!), `sample ${i} term ${t}`).toBeLessThan(1e-6);
    }
    let sw = 0, swd = 0;
    for (let s = 0; s < 4; s++) { sw += weights[s]![3]!; swd += weights[s]![3]! * values[s]![3]!; }
    expect(basis[3]).toBeCloseTo(swd / sw, 6);
    for (let t = 1; t < nterms; t++) expect(basis[t * n + 3]).toBe(0);
    for (let t = 0; t < nterms; t++) expect(basis[t * n + 5]).toBe(0);
    expect(builds.release!.kernels.psfSolveSamples(0, 1, 0, nterms, 0, 0, 0, 0, 0, 0)).toBe(1);
  });
});

/** Noise-free stars of a round Gaussian whose sigma grows across the detector (1.6 to 2.2 px), pixel-integrated by 5 x 5 sub-samples. */
function gaussianStars(workspace: PsfFitWorkspace, count: number): FitStar[] {
  const { P, pad, K } = workspace.geometry;
  const { uniform } = randoms(5);
  const stars: FitStar[] = [];
  for (let k = 0; k < count; k++) {
    const x = 20 + uniform() * 960, y = 20 + uniform() * 960, flux = 1e4 * (1 + 4 * uniform());
    const sigma = 1.6 + 0.6 * (x / 1000);
    const sx0 = Math.round(x) - (K >> 1) - pad, sy0 = Math.round(y) - (K >> 1) - pad;
    const star = workspace.addStar(x, y, sx0, sy0);
    for (let j = 0; j < P; j++) for (let i = 0; i < P; i++) {
      let sum = 0;
      for (let b = 0; b < 5; b++) for (let a = 0; a < 5; a++) {
        const dx = sx0 + i - 0.4 + 0.2 * a - x, dy = sy0 + j - 0.4 + 0.2 * b - y;
        sum += Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
      }
      star.data[j * P + i] = (flux * sum) / 25 / (2 * Math.PI * sigma * sigma);
      star.variance[j * P + i] = 100;
      star.good[j * P + i] = 1;
    }
    let box = 0;
    for (let j = pad; j < pad + K; j++) for (let i = pad; i < pad + K; i++) box += star.data[j * P + i]!;
    star.amplitude = box;
    stars.push(star);
  }
  return stars;
}

describe('the pixel-basis fit (PsfFitWorkspace)', () => {
  const order = 2, nterms = polynomialTermCount(order);

  const fitIn = (tessera: Tessera) => tessera.planes.scope(() => {
    const workspace = new PsfFitWorkspace(tessera, GEOMETRY, order, 40);
    const stars = gaussianStars(workspace, 40);
    for (const star of stars) polynomialTerms((star.x - 500) / 960, (star.y - 500) / 960, order, star.terms);
    const basis = workspace.fit(stars, nterms);
    return {
      basis, amplitudes: Float64Array.from(stars, (s) => s.amplitude), chi2: Float64Array.from(stars, (s) => s.chi2),
      models: stars.map((s) => s.model.slice()), data: stars.map((s) => s.data.slice()),
      stars: stars.map((star) => ({ x: star.x, y: star.y, sx0: star.sx0, sy0: star.sy0, terms: star.terms.slice(0, nterms) })),
    };
  });

  it('fits noise-free stars of a varying Gaussian: models within 0.7 % of each star\'s peak, in the same bits in every build', () => {
    const results = VARIANTS.map((v) => fitIn(builds[v]!));
    for (const r of results.slice(1)) {
      expect(bytes(r.basis)).toEqual(bytes(results[0]!.basis));
      expect(bytes(r.amplitudes)).toEqual(bytes(results[0]!.amplitudes));
      expect(bytes(r.chi2)).toEqual(bytes(results[0]!.chi2));
    }
    const r = results[0]!;
    let worst = 0;
    r.data.forEach((data, s) => {
      const peak = Math.max(...data);
      for (let k = 0; k < data.length; k++) worst = Math.max(worst, Math.abs(r.amplitudes[s]! * r.models[s]![k]! - data[k]!) / peak);
    });
    // Measured: 0.55 % of the peak at worst (0.95 % without the residual passes); a degree-2 polynomial
    // of the position and unit sampling of a 1.6-px sigma limit it.
    expect(worst).toBeLessThan(7e-3);
  });

  it('puts the model on a star\'s stamp bit for bit as resampleToPixels of the same samples, and refits a scaled model\'s amplitude exactly', () => {
    const r = fitIn(builds.release!);
    const { G, P, sampling, lanczosOrder } = GEOMETRY;
    r.stars.forEach((star, s) => {
      const samples = new Float64Array(G * G);
      for (let t = 0; t < nterms; t++) for (let i = 0; i < G * G; i++) samples[i]! += star.terms[t]! * r.basis[t * G * G + i]!;
      const expected = resampleToPixels(samples, G, G, sampling, lanczosOrder, star.sx0 - star.x, star.sy0 - star.y, P, P);
      expect(bytes(r.models[s]!), `star ${s}`).toEqual(bytes(expected));
    });
    builds.release!.planes.scope(() => {
      const workspace = new PsfFitWorkspace(builds.release!, GEOMETRY, order, 1);
      const [star] = gaussianStars(workspace, 1);
      star.model.set(star.data.map((v) => v / 7));
      star.good[3 * P + 4] = 0;
      workspace.fitAmplitude(star);
      expect(star.amplitude).toBeCloseTo(7, 10);
      expect(star.chi2).toBeLessThan(1e-20);
      expect(star.dof).toBe(GEOMETRY.K * GEOMETRY.K - 2); // one pixel masked, one degree of freedom for the amplitude
    });
  });
});
