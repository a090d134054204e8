// The warping kernel (assembly/warp.ts through lib/image/warp.ts) in the release and debug builds, and
// bit for bit the same in the scalar build:
// against a plain-JS Lanczos resampler (lib/measure/lanczos.ts's taps, normalised), exact copies for
// integer shifts, flux conservation under scale changes and rotation, variance and mask propagation,
// the mapping grid's interpolation, several sources filling one output, and a cut-out of a source (its
// planes' origin given) warping bit for bit as the whole source.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { cutOut, warpSources, type WarpPlanes, type WarpSource } from '../../lib/image/warp.js';
import { lanczosTaps } from '../../lib/measure/lanczos.js';

const NO_DATA = 1 << 8;

function noisePlanes(width: number, height: number, seed: number): WarpPlanes {
  let s = seed >>> 0;
  const next = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const image = new Float32Array(width * height), variance = new Float32Array(width * height);
  for (let i = 0; i < image.length; i++) {
    image[i] = next() * 1000 - 200;
    variance[i] = 10 + next() * 90;
  }
  return { width, height, image, variance, mask: new Int32Array(width * height) };
}

function gaussianPlanes(width: number, height: number, cx: number, cy: number, sigma: number, flux: number): WarpPlanes {
  const image = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    image[y * width + x] = (flux / (2 * Math.PI * sigma * sigma)) * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma));
  }
  return { width, height, image, variance: new Float32Array(width * height).fill(4), mask: new Int32Array(width * height) };
}

/** A source under an affine map: output = A (source) + t, source = A^-1 (output - t). */
function affineSource(planes: WarpPlanes, a: number, b: number, c: number, d: number, tx: number, ty: number): WarpSource {
  const det = a * d - b * c;
  return {
    planes,
    toOutput: (x, y) => [a * x + b * y + tx, c * x + d * y + ty],
    toSource: (u, v) => [(d * (u - tx) - b * (v - ty)) / det, (-c * (u - tx) + a * (v - ty)) / det],
  };
}

/** Plain-JS reference: normalised Lanczos taps for image and squared for variance, exact mapping per pixel, Jacobian `jac`. */
function referenceWarp(source: WarpSource, width: number, height: number, order: number, jac: number): { image: Float64Array; variance: Float64Array } {
  const p = source.planes;
  const image = new Float64Array(width * height).fill(NaN), variance = new Float64Array(width * height).fill(NaN);
  const wx = new Float64Array(2 * order), wy = new Float64Array(2 * order);
  for (let v = 0; v < height; v++) for (let u = 0; u < width; u++) {
    const [sx, sy] = source.toSource(u, v);
    const fx = lanczosTaps(sx, order, wx), fy = lanczosTaps(sy, order, wy);
    if (fx < 0 || fy < 0 || fx + 2 * order > p.width || fy + 2 * order > p.height) continue;
    const nx = wx.reduce((s, w) => s + w, 0), ny = wy.reduce((s, w) => s + w, 0);
    let s = 0, q = 0;
    for (let j = 0; j < 2 * order; j++) for (let i = 0; i < 2 * order; i++) {
      const w = (wx[i]! / nx) * (wy[j]! / ny), k = (fy + j) * p.width + fx + i;
      s += w * p.image[k]!;
      q += w * w * p.variance[k]!;
    }
    image[v * width + u] = s * jac;
    variance[v * width + u] = q * jac * jac;
  }
  return { image, variance };
}

const sum = (a: ArrayLike<number>): number => { let s = 0; for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!)) s += a[i]!; return s; };

const builds: Record<string, Tessera> = {};
beforeAll(async () => {
  for (const v of ['release', 'debug', 'scalar'] as const) builds[v] = await loadTessera(v);
});

describe('warpLanczos kernel', () => {
  for (const build of ['release', 'debug'] as const) {
    it(`matches the plain-JS Lanczos3 resampler within 2e-6 of full scale under a rotation and scale (${build})`, () => {
      const src = noisePlanes(60, 50, 7);
      const angle = 0.3, scale = 0.9;
      const source = affineSource(src, scale * Math.cos(angle), -scale * Math.sin(angle), scale * Math.sin(angle), scale * Math.cos(angle), 20, -5);
      // An affine map is interpolated exactly between grid nodes, so the grid (every 7 px) changes nothing.
      const out = warpSources(builds[build]!, [source], 70, 60, { order: 3, interpLength: 7, noDataBit: NO_DATA });
      const ref = referenceWarp(source, 70, 60, 3, 1 / (scale * scale));
      let worst = 0, compared = 0;
      for (let i = 0; i < out.image.length; i++) {
        expect(Number.isNaN(out.image[i]!), `pixel ${i}: NaN in one and not the other`).toBe(Number.isNaN(ref.image[i]!));
        if (Number.isNaN(ref.image[i]!)) {
          expect(out.mask[i]).toBe(NO_DATA);
          continue;
        }
        compared++;
        worst = Math.max(worst, Math.abs(out.image[i]! - ref.image[i]!) / 1000, Math.abs(out.variance[i]! - ref.variance[i]!) / 100);
      }
      expect(compared).toBeGreaterThan(1500);
      expect(worst).toBeLessThan(2e-6);
    });
  }

  for (const order of [1, 2, 3, 5]) {
    it(`gives bit-identical output in the SIMD and the scalar build (Lanczos order ${order}: ${2 * order} taps)`, () => {
      const src = noisePlanes(64, 48, 11 + order);
      src.image[20 * 64 + 30] = NaN;
      const source = affineSource(src, 0.97, -0.21, 0.23, 1.01, 6.5, -3.25);
      const options = { order, interpLength: 10, noDataBit: NO_DATA };
      const simd = warpSources(builds.release!, [source], 72, 56, options), scalar = warpSources(builds.scalar!, [source], 72, 56, options);
      expect(builds.release!.kernels.simdEnabled()).toBe(1);
      expect(builds.scalar!.kernels.simdEnabled()).toBe(0);
      let finite = 0;
      for (let i = 0; i < simd.image.length; i++) if (Number.isFinite(simd.image[i]!)) finite++;
      expect(finite).toBeGreaterThan(1500);
      expect(new Uint8Array(simd.image.buffer)).toEqual(new Uint8Array(scalar.image.buffer));
      expect(new Uint8Array(simd.variance.buffer)).toEqual(new Uint8Array(scalar.variance.buffer));
      expect(simd.mask).toEqual(scalar.mask);
    });
  }

  it('copies exactly under an integer shift, with NO_DATA where the kernel does not fit', () => {
    const src = noisePlanes(40, 30, 3);
    src.mask[15 * 40 + 20] = 1 << 3;
    const out = warpSources(builds.release!, [affineSource(src, 1, 0, 0, 1, 5, -4)], 50, 30, { order: 3, interpLength: 10, noDataBit: NO_DATA });
    for (let v = 0; v < 30; v++) for (let u = 0; u < 50; u++) {
      const x = u - 5, y = v + 4, o = v * 50 + u;
      const inside = x >= 2 && x <= 40 - 4 && y >= 2 && y <= 30 - 4;
      if (!inside) {
        expect(out.mask[o], `(${u}, ${v})`).toBe(NO_DATA);
        expect(Number.isNaN(out.image[o]!)).toBe(true);
        continue;
      }
      expect(out.image[o]).toBe(src.image[y * 40 + x]);
      expect(out.variance[o]).toBe(src.variance[y * 40 + x]);
      expect(out.mask[o]).toBe(src.mask[y * 40 + x]);
    }
  });

  it('multiplies values by the source\'s scale and variances by its square', () => {
    const src = noisePlanes(30, 30, 4);
    const out = warpSources(builds.release!, [{ ...affineSource(src, 1, 0, 0, 1, 2, 3), scale: 0.5 }], 30, 30, { order: 3, interpLength: 10, noDataBit: NO_DATA });
    expect(out.image[15 * 30 + 15]).toBe(Math.fround(src.image[12 * 30 + 13]! * 0.5));
    expect(out.variance[15 * 30 + 15]).toBe(Math.fround(src.variance[12 * 30 + 13]! * 0.25));
  });

  it('spreads a mask bit over the bilinear footprint of a half-pixel shift', () => {
    const src = noisePlanes(30, 30, 5);
    src.mask[15 * 30 + 15] = 1 << 2;
    const out = warpSources(builds.release!, [affineSource(src, 1, 0, 0, 1, 0.5, 0)], 30, 30, { order: 3, interpLength: 10, noDataBit: NO_DATA });
    const set: number[] = [];
    for (let i = 0; i < out.mask.length; i++) if (out.mask[i]! & (1 << 2)) set.push(i);
    // Output pixel u samples source x = u - 0.5: pixels 15 and 16 of row 15 touch source pixel 15.
    expect(set).toEqual([15 * 30 + 15, 15 * 30 + 16]);
  });

  it('conserves the flux of a star and maps its centroid under a scale change and a rotation', () => {
    for (const [a, b, c, d] of [[1 / 1.5, 0, 0, 1 / 1.5], [Math.cos(0.5), -Math.sin(0.5), Math.sin(0.5), Math.cos(0.5)], [0.8, 0.1, -0.05, 0.9]] as const) {
      const src = gaussianPlanes(80, 80, 40.3, 39.6, 3, 1e5);
      const source = affineSource(src, a, b, c, d, 30, 35);
      const out = warpSources(builds.release!, [source], 120, 120, { order: 3, interpLength: 10, noDataBit: NO_DATA });
      const flux = sum(out.image);
      // Interpolation conserves flux only on average over the sampling phases: measured 3e-9 (scale 2/3,
      // phases 0 and 1/2), 1e-7 (rotation) and 4.2e-4 (scales 0.8 and 0.9 with shear) for a sigma = 3 px
      // star; the plain-JS Lanczos3 gives the same, and sampling the star exactly on that grid 1e-15.
      expect(Math.abs(flux / 1e5 - 1), `flux ratio for [${a}, ${b}, ${c}, ${d}]`).toBeLessThan(1e-3);
      let sx = 0, sy = 0;
      for (let v = 0; v < 120; v++) for (let u = 0; u < 120; u++) {
        const f = out.image[v * 120 + u]!;
        if (Number.isFinite(f)) { sx += f * u; sy += f * v; }
      }
      const [ex, ey] = source.toOutput(40.3, 39.6);
      expect(Math.hypot(sx / flux - ex, sy / flux - ey)).toBeLessThan(2e-3);
    }
  });

  it('propagates a constant variance as the sum of squared taps times the squared Jacobian', () => {
    const src = noisePlanes(30, 30, 9);
    src.variance.fill(50);
    const out = warpSources(builds.release!, [affineSource(src, 1, 0, 0, 1, 0.5, 0.25)], 30, 30, { order: 3, interpLength: 10, noDataBit: NO_DATA });
    const w = new Float64Array(6);
    const squares = (u: number): number => { lanczosTaps(u, 3, w); const n = w.reduce((s, x) => s + x, 0); return w.reduce((s, x) => s + (x / n) ** 2, 0); };
    const expected = 50 * squares(10.5) * squares(10.75);
    expect(out.variance[15 * 30 + 15]).toBeCloseTo(expected, 4);
    expect(expected).toBeLessThan(50 * 0.75);
  });

  // The distortion here (second derivative 4e-5 /px) is ten times an HSC detector's.
  it('interpolates a curved mapping between grid nodes to within 1e-3 of the exact warp', () => {
    const src = gaussianPlanes(100, 100, 50, 50, 2, 1e4);
    const curved: WarpSource = {
      planes: src,
      toSource: (u, v) => [u + 2e-5 * (u - 50) ** 2, v - 1.5e-5 * (u - 50) * (v - 50)],
      toOutput: (x, y) => [x, y],
    };
    const exact = warpSources(builds.release!, [curved], 100, 100, { order: 3, interpLength: 1, noDataBit: NO_DATA });
    const gridded = warpSources(builds.release!, [curved], 100, 100, { order: 3, interpLength: 10, noDataBit: NO_DATA });
    const peak = Math.max(...exact.image.filter(Number.isFinite));
    let worst = 0;
    for (let i = 0; i < exact.image.length; i++) if (Number.isFinite(exact.image[i]!)) worst = Math.max(worst, Math.abs(exact.image[i]! - gridded.image[i]!) / peak);
    expect(worst).toBeLessThan(1e-3);
  });

  it('warps a source that covers a small part of a large output within its box, NaN and NO_DATA elsewhere', () => {
    const src = noisePlanes(40, 30, 5);
    const source = affineSource(src, Math.cos(0.2), -Math.sin(0.2), Math.sin(0.2), Math.cos(0.2), 61.3, 47.8);
    const out = warpSources(builds.release!, [source], 200, 150, { order: 3, interpLength: 10, noDataBit: NO_DATA });
    const ref = referenceWarp(source, 200, 150, 3, 1);
    const box = out.boxes[0]!;
    expect(box.x0).toBeGreaterThan(40);
    expect(box.x0 + box.width).toBeLessThan(120);
    let worst = 0, compared = 0;
    for (let i = 0; i < out.image.length; i++) {
      if (Number.isNaN(ref.image[i]!)) {
        expect(Number.isNaN(out.image[i]!) && Number.isNaN(out.variance[i]!) && out.mask[i] === NO_DATA, `pixel ${i}`).toBe(true);
        continue;
      }
      compared++;
      worst = Math.max(worst, Math.abs(out.image[i]! - ref.image[i]!) / 1000, Math.abs(out.variance[i]! - ref.variance[i]!) / 100);
    }
    expect(compared).toBeGreaterThan(600);
    expect(worst).toBeLessThan(2e-6);
  });

  it('warps a cut-out of a source, given the whole source\'s box, bit for bit as the whole source', () => {
    const src = noisePlanes(90, 70, 8);
    src.mask[30 * 90 + 40] = 1 << 2;
    const whole = affineSource(src, 0.96 * Math.cos(0.3), -0.96 * Math.sin(0.3), 0.96 * Math.sin(0.3), 0.96 * Math.cos(0.3), 14.2, 6.7);
    const options = { order: 3, interpLength: 10, noDataBit: NO_DATA };
    const full = warpSources(builds.release!, [whole], 80, 60, options);
    // The whole source as a cut-out, and one cut on three sides (3 px off the left, 27 off the right, 10 off the top), compared where it holds every tap.
    const box = full.boxes[0]!;
    for (const cut of [{ x0: 0, y0: 0, width: 90, height: 70 }, { x0: 3, y0: 10, width: 60, height: 60 }]) {
      const planes = cutOut(src, cut);
      const part = warpSources(builds.release!, [{ ...whole, planes, x0: cut.x0, y0: cut.y0, box }], 80, 60, options);
      const inside = (i: number): boolean => {
        const [sx, sy] = whole.toSource(i % 80, Math.floor(i / 80));
        return sx >= cut.x0 + 4 && sx <= cut.x0 + cut.width - 5 && sy >= cut.y0 + 4 && sy <= cut.y0 + cut.height - 5;
      };
      let compared = 0;
      for (let i = 0; i < full.image.length; i++) {
        if (!inside(i)) continue;
        compared++;
        expect(Object.is(part.image[i], full.image[i]) && Object.is(part.variance[i], full.variance[i]) && part.mask[i] === full.mask[i], `pixel ${i}`).toBe(true);
      }
      expect(compared).toBeGreaterThan(1500);
    }
  });

  it('lets a later source fill only what earlier ones left NO_DATA', () => {
    const left = noisePlanes(30, 20, 1), right = noisePlanes(30, 20, 2);
    const out = warpSources(builds.release!, [affineSource(left, 1, 0, 0, 1, 0, 0), affineSource(right, 1, 0, 0, 1, 20, 0)], 60, 20, { order: 3, interpLength: 10, noDataBit: NO_DATA });
    const row = 10;
    expect(out.image[row * 60 + 20]).toBe(left.image[row * 30 + 20]); // only the left covers it
    expect(out.image[row * 60 + 24]).toBe(left.image[row * 30 + 24]); // both cover it: the first wins
    expect(out.image[row * 60 + 28]).toBe(right.image[row * 30 + 8]); // beyond the left's reach: the right
    expect(out.boxes.every((b) => b !== undefined)).toBe(true);
  });

  it('leaves a pixel whose source has no value NO_DATA, with the source\'s mask bits (a saturated core stays SAT)', () => {
    const SAT = 1 << 1;
    const p = noisePlanes(30, 20, 3);
    p.image[10 * 30 + 15] = NaN;
    p.variance[10 * 30 + 15] = NaN;
    p.mask[10 * 30 + 15] = SAT;
    const out = warpSources(builds.release!, [affineSource(p, 1, 0, 0, 1, 0.5, 0)], 30, 20, { order: 3, interpLength: 10, noDataBit: NO_DATA });
    // Output x 15 and 16 read source x 14.5 and 15.5: the NaN is under the Lanczos taps of x 13..18, the mask's bilinear footprint of 15, 16.
    for (let u = 13; u <= 18; u++) {
      expect(Number.isNaN(out.image[10 * 30 + u]!), String(u)).toBe(true);
      expect(out.mask[10 * 30 + u]! & NO_DATA, String(u)).toBe(NO_DATA);
      expect(out.mask[10 * 30 + u]! & SAT, String(u)).toBe(u === 15 || u === 16 ? SAT : 0);
    }
    expect(Number.isFinite(out.image[10 * 30 + 12]!) && out.mask[10 * 30 + 12] === 0).toBe(true);
  });

  it('refuses a bad order or interpolation length', () => {
    const src = noisePlanes(20, 20, 1);
    expect(() => warpSources(builds.release!, [affineSource(src, 1, 0, 0, 1, 0, 0)], 20, 20, { order: 6, interpLength: 10, noDataBit: NO_DATA })).toThrow(/order/);
    expect(() => warpSources(builds.release!, [affineSource(src, 1, 0, 0, 1, 0, 0)], 20, 20, { order: 3, interpLength: 0, noDataBit: NO_DATA })).toThrow(/interpLength/);
  });
});
