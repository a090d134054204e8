// The simulator's kernels (assembly/render.ts, noise.ts, saturation.ts, lines.ts) through their
// exports and lib/sim/renderer.ts, in the release (SIMD), debug (assertions) and scalar builds:
// rendered mixtures against their analytic flux and moments, SIMD/scalar bit-identity, matched-filter
// S/N (mixtureSnr, lib/sim/snr.ts) against the f64 sum, the rendered model and the analytic Gaussian, Poisson and
// Gaussian noise statistics, bleeding against the literal spill-half-up-half-down iteration, trails
// against their analytic flux and profile.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { Renderer, buildSourceTable, TABLE_ROW_LENGTH, type RenderTolerance } from '../../lib/sim/renderer.js';
import type { GaussianMixture, RenderSource } from '../../lib/sim/types.js';
import { Random } from '../../lib/sim/random.js';
import { matchedFilterSnr } from '../../lib/sim/snr.js';
import type { SimulatedExposure } from '../../lib/sim/simulateExposure.js';

const VARIANTS = ['release', 'debug', 'scalar'] as const;
const builds: Record<string, Tessera> = {};
beforeAll(async () => {
  for (const v of VARIANTS) builds[v] = await loadTessera(v);
});

/** Tight box tolerance so that the moments measure the kernel, not the truncation. */
const TIGHT: RenderTolerance = { relative: 1e-8, absolute: 0 };

const SINGLE: GaussianMixture = [{ weight: 1, xx: 2.25, yy: 2.25, xy: 0 }];
// A PSF-like mixture: a core, a shoulder and broad wings (moments include the 1/12 px^2 pixel response).
const PSF: GaussianMixture = [
  { weight: 0.7, xx: 2.9, yy: 2.7, xy: 0.15 },
  { weight: 0.25, xx: 8.1, yy: 7.6, xy: 0.4 },
  { weight: 0.05, xx: 36, yy: 34, xy: 1.5 },
];
// A galaxy-like mixture: elongated, tilted, with a narrow core and an extended envelope.
const GALAXY: GaussianMixture = [
  { weight: 0.35, xx: 3.2, yy: 1.6, xy: 0.9 },
  { weight: 0.4, xx: 14, yy: 5.5, xy: 4.1 },
  { weight: 0.25, xx: 55, yy: 19, xy: 16 },
];

function mixtureMoments(profile: GaussianMixture): { xx: number; yy: number; xy: number } {
  let xx = 0, yy = 0, xy = 0, w = 0;
  for (const g of profile) {
    xx += g.weight * g.xx;
    yy += g.weight * g.yy;
    xy += g.weight * g.xy;
    w += g.weight;
  }
  return { xx: xx / w, yy: yy / w, xy: xy / w };
}

function render(build: Tessera, width: number, height: number, sources: RenderSource[], tolerance?: RenderTolerance): Float32Array {
  const renderer = new Renderer(build, width, height, tolerance ? { tolerance } : {});
  try {
    renderer.addSources(sources);
    return renderer.imageCopy();
  } finally {
    renderer.dispose();
  }
}

/**
 * Renders through the kernel with every component's cutoff at the kernel's maximum (170: exp(-85)) and
 * boxes of 400 px, so that what is compared is the evaluation, not the truncation the renderer chooses.
 */
function renderUntruncated(build: Tessera, width: number, height: number, sources: RenderSource[]): Float32Array {
  const { table, rows } = buildSourceTable(sources, TIGHT);
  for (let r = 0; r < rows;) {
    const count = table[r * TABLE_ROW_LENGTH + 3]!;
    table[r * TABLE_ROW_LENGTH + 4] = 400;
    for (let c = 1; c <= count; c++) table[(r + c) * TABLE_ROW_LENGTH + 4] = 170;
    r += 1 + count;
  }
  const { planes, kernels } = build;
  return planes.scope(() => {
    const plane = planes.plane('f32', width, height);
    planes.view(plane).fill(0);
    expect(kernels.renderMixtures(plane.ptr, width, height, planes.allocFrom(table), rows)).toBe(0);
    return planes.f32(plane.ptr, width * height).slice();
  });
}

function imageMoments(image: Float32Array, width: number): { sum: number; x: number; y: number; xx: number; yy: number; xy: number } {
  let sum = 0, sx = 0, sy = 0;
  for (let i = 0; i < image.length; i++) {
    const v = image[i]!;
    sum += v;
    sx += v * (i % width);
    sy += v * Math.floor(i / width);
  }
  const x = sx / sum;
  const y = sy / sum;
  let xx = 0, yy = 0, xy = 0;
  for (let i = 0; i < image.length; i++) {
    const v = image[i]!;
    const dx = (i % width) - x;
    const dy = Math.floor(i / width) - y;
    xx += v * dx * dx;
    yy += v * dy * dy;
    xy += v * dx * dy;
  }
  return { sum, x, y, xx: xx / sum, yy: yy / sum, xy: xy / sum };
}

/** f64 value of a normalised mixture of total `flux` at offset (dx, dy). */
function mixtureAt(profile: GaussianMixture, flux: number, dx: number, dy: number): number {
  let v = 0;
  for (const g of profile) {
    const det = g.xx * g.yy - g.xy * g.xy;
    const q = (g.yy * dx * dx - 2 * g.xy * dx * dy + g.xx * dy * dy) / det;
    v += (flux * g.weight * Math.exp(-0.5 * q)) / (2 * Math.PI * Math.sqrt(det));
  }
  return v;
}

function bytes(a: Float32Array | Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

describe('renderMixtures', () => {
  for (const [name, profile] of [['single Gaussian, sigma 1.5 px', SINGLE], ['3-component PSF with wings', PSF], ['elliptical galaxy', GALAXY]] as const) {
    it(`renders a unit-flux ${name}: sum 1 within 1e-4, centroid within 1e-4 px, second moments within 1e-3 px^2`, () => {
      const want = mixtureMoments(profile);
      for (const variant of VARIANTS) {
        const image = render(builds[variant]!, 160, 150, [{ x: 79.37, y: 71.81, flux: 1, profile }], TIGHT);
        const m = imageMoments(image, 160);
        expect(Math.abs(m.sum - 1)).toBeLessThan(1e-4);
        expect(Math.abs(m.x - 79.37)).toBeLessThan(1e-4);
        expect(Math.abs(m.y - 71.81)).toBeLessThan(1e-4);
        expect(Math.abs(m.xx - want.xx)).toBeLessThan(1e-3);
        expect(Math.abs(m.yy - want.yy)).toBeLessThan(1e-3);
        expect(Math.abs(m.xy - want.xy)).toBeLessThan(1e-3);
      }
    });
  }

  it('loses at most max(1e-5 flux, 0.01 e-) outside the box with the default tolerance', () => {
    for (const flux of [1, 300, 1e4, 1e6, 1e8]) {
      for (const profile of [SINGLE, PSF, GALAXY]) {
        const image = render(builds.release!, 240, 240, [{ x: 120.2, y: 119.6, flux, profile }]);
        let sum = 0;
        for (const v of image) sum += v;
        const allowed = Math.max(1e-5 * flux, 0.01);
        // f32 accumulation adds ~1e-7 relative on top of the truncation.
        expect(flux - sum).toBeLessThan(allowed + 2e-7 * flux);
        expect(flux - sum).toBeGreaterThan(-2e-7 * flux);
      }
    }
  });

  it('matches the f64 mixture pixel by pixel: 4e-7 relative within 1e-2 of the peak, 2e-6 down to 1e-6 of it', () => {
    const flux = 5e4;
    const size = 200;
    const [xc, yc] = [97.61, 104.27];
    for (const variant of VARIANTS) {
      for (const profile of [PSF, GALAXY]) {
        const image = renderUntruncated(builds[variant]!, size, size, [{ x: xc, y: yc, flux, profile }]);
        const peak = mixtureAt(profile, flux, 0, 0);
        let worstCore = 0;
        let worstWings = 0;
        for (let y = 0; y < size; y++) {
          for (let x = 0; x < size; x++) {
            const exact = mixtureAt(profile, flux, x - xc, y - yc);
            const error = Math.abs(image[y * size + x]! - exact) / exact;
            if (exact >= 1e-2 * peak) worstCore = Math.max(worstCore, error);
            else if (exact >= 1e-6 * peak) worstWings = Math.max(worstWings, error);
          }
        }
        expect(worstCore).toBeLessThan(4e-7);
        expect(worstWings).toBeLessThan(2e-6);
      }
    }
  });

  it('evaluates exp to 1.5e-7 relative over [-80, 0] (Cephes expf, 7.9e-8, plus the final f32 product)', () => {
    // One single-component source per row, centred on an integer pixel: the row factor is exp(0) = 1 and
    // t is an exact integer, so each pixel is f32(amp * expf(f32(f32(t * t) * a))) with amp = the centre pixel.
    const width = 240;
    const rows = 60;
    const random = new Random(11);
    const sources: RenderSource[] = [];
    const xxs: number[] = [];
    for (let r = 0; r < rows; r++) {
      const xx = 0.3 + random.uniform() * 45;
      xxs.push(xx);
      sources.push({ x: 120, y: 2 * r, flux: 2 * Math.PI * Math.sqrt(xx * 0.01), profile: [{ weight: 1, xx, yy: 0.01, xy: 0 }] });
    }
    const { table, rows: nRows } = buildSourceTable(sources, TIGHT);
    expect(nRows).toBe(2 * rows);
    for (let r = 0; r < rows; r++) {
      table[2 * r * TABLE_ROW_LENGTH + 4] = 119; // radius: the whole row
      table[(2 * r + 1) * TABLE_ROW_LENGTH + 4] = 170; // cutoff: down to exp(-85)
    }
    for (const variant of VARIANTS) {
      const { planes, kernels } = builds[variant]!;
      let worst = 0;
      let checked = 0;
      planes.scope(() => {
        const plane = planes.plane('f32', width, 2 * rows);
        planes.view(plane).fill(0);
        const ptr = planes.allocFrom(table);
        expect(kernels.renderMixtures(plane.ptr, width, 2 * rows, ptr, nRows)).toBe(0);
        const image = planes.f32(plane.ptr, width * 2 * rows);
        for (let r = 0; r < rows; r++) {
          const xx = xxs[r]!;
          const det = xx * 0.01 - 0;
          const a = Math.fround(-0.5 / (det / 0.01));
          const amp = image[2 * r * width + 120]!;
          for (let x = 0; x < width; x++) {
            const t = x - 120;
            const p = Math.fround(Math.fround(t * t) * a);
            const value = image[2 * r * width + x]!;
            if (p < -80 || value === 0) continue;
            const exact = amp * Math.exp(p);
            worst = Math.max(worst, Math.abs(value - exact) / exact);
            checked++;
          }
        }
      });
      expect(checked).toBeGreaterThan(1000);
      expect(worst).toBeLessThan(1.5e-7);
    }
  });

  it('clips sources at the edges instead of wrapping them', () => {
    const width = 50;
    const height = 40;
    const flux = 1e5;
    const source = { x: 1.3, y: 38.4, flux, profile: PSF };
    for (const variant of VARIANTS) {
      const image = renderUntruncated(builds[variant]!, width, height, [source]);
      // Same source drawn with margins: the clipped plane must be the overlapping part of it.
      const margin = 100;
      const big = renderUntruncated(builds[variant]!, width + 2 * margin, height + 2 * margin, [{ ...source, x: source.x + margin, y: source.y + margin }]);
      let sumInside = 0;
      let worst = 0;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const expected = big[(y + margin) * (width + 2 * margin) + x + margin]!;
          const got = image[y * width + x]!;
          worst = Math.max(worst, Math.abs(got - expected) / expected);
          sumInside += got;
        }
      }
      expect(worst).toBeLessThan(1e-6);
      // Nothing wrapped: the far columns of the source's rows (where pixels left of column 0 would land)
      // and the first rows (where those below the last row would) hold just the analytic wings.
      const far: [number, number][] = [];
      for (let y = 0; y < 4; y++) for (let x = 0; x < width; x++) far.push([x, y]);
      for (let y = 30; y < height; y++) for (let x = 45; x < width; x++) far.push([x, y]);
      for (const [x, y] of far) {
        const analytic = mixtureAt(PSF, flux, x - 1.3, y - 38.4);
        expect(Math.abs(image[y * width + x]! - analytic)).toBeLessThan(1e-5 * analytic);
      }
      // The visible fraction is that of the analytic profile over the in-plane pixels.
      let analytic = 0;
      for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) analytic += mixtureAt(PSF, flux, x - 1.3, y - 38.4);
      expect(Math.abs(sumInside - analytic) / analytic).toBeLessThan(1e-5);
      expect(sumInside).toBeLessThan(0.9 * flux);
    }
  });

  it('leaves the plane untouched for sources whose box misses it', () => {
    const far: RenderSource[] = [
      { x: -30, y: 20, flux: 1e7, profile: SINGLE },
      { x: 20, y: 1e6, flux: 1e7, profile: PSF },
      { x: 90, y: -25, flux: 1e7, profile: SINGLE },
    ];
    const { table, rows } = buildSourceTable(far);
    // Their boxes really miss the 64x48 plane.
    let checked = 0;
    for (let r = 0; r < rows; r += 1 + table[r * TABLE_ROW_LENGTH + 3]!) {
      const [x, y, , , radius] = table.subarray(r * TABLE_ROW_LENGTH, (r + 1) * TABLE_ROW_LENGTH);
      expect(x! + radius! < 0 || x! - radius! > 63 || y! + radius! < 0 || y! - radius! > 47).toBe(true);
      expect(radius!).toBeGreaterThan(5);
      checked++;
    }
    expect(checked).toBe(3);
    for (const variant of VARIANTS) {
      const image = render(builds[variant]!, 64, 48, far);
      expect(image.every((v) => v === 0)).toBe(true);
    }
  });

  it('gives bit-identical planes in the SIMD, debug and scalar builds', () => {
    const random = new Random(2024);
    const sources: RenderSource[] = [];
    for (let i = 0; i < 120; i++) {
      const profile = [PSF, GALAXY, SINGLE][i % 3]!.map((g) => {
        const s = 0.3 + 3 * random.uniform();
        return { weight: g.weight, xx: g.xx * s, yy: g.yy * s, xy: g.xy * s };
      });
      sources.push({ x: random.range(-20, 223), y: random.range(-20, 177), flux: 10 ** random.range(1, 6), profile });
    }
    const release = render(builds.release!, 203, 157, sources);
    expect(release.some((v) => v > 0)).toBe(true);
    expect(bytes(render(builds.scalar!, 203, 157, sources))).toEqual(bytes(release));
    expect(bytes(render(builds.debug!, 203, 157, sources))).toEqual(bytes(release));
  });

  it('refuses a malformed table and leaves the plane untouched', () => {
    const { kernels, planes } = builds.debug!;
    const bad = [
      [10, 10, 100, 1, 5, /* component */ 1, 2, 2, 3, 20], // not positive definite
      [10, 10, 100, 2, 5, 1, 2, 2, 0, 20], // claims 2 components, has 1
      [10, 10, 100, 1, 5, 1, 2, 2, 0, 171], // cutoff above 170
      [Number.NaN, 10, 100, 1, 5, 1, 2, 2, 0, 20],
    ];
    for (const rows of bad) {
      planes.scope(() => {
        const plane = planes.plane('f32', 20, 20);
        planes.view(plane).fill(0);
        const table = planes.allocFrom(new Float64Array(rows));
        expect(kernels.renderMixtures(plane.ptr, 20, 20, table, rows.length / TABLE_ROW_LENGTH)).toBe(1);
        expect(planes.f32(plane.ptr, 400).every((v) => v === 0)).toBe(true);
      });
    }
  });

  it('names the source when the table cannot be built', () => {
    expect(() => buildSourceTable([{ x: 1, y: 2, flux: Number.NaN, profile: SINGLE }])).toThrow(/render source 0: .*finite/);
    expect(() => buildSourceTable([{ x: 1, y: 2, flux: 5, profile: SINGLE }, { x: 1, y: 2, flux: 5, profile: [{ weight: 1, xx: 1, yy: 1, xy: 2 }] }]))
      .toThrow(/render source 1, component 0: .*positive definite/);
    expect(() => buildSourceTable([], { relative: -1, absolute: 0 })).toThrow(/non-negative/);
  });

  it('runs the whole chain deterministically: same sources, trail and seeds give the same image and mask bytes', () => {
    const run = (variant: 'release' | 'scalar', poissonSeed: number | Random): { image: Buffer; mask: Buffer } => {
      const renderer = new Renderer(builds[variant]!, 131, 97);
      try {
        renderer.imageView().fill(400);
        renderer.addSources([{ x: 60.2, y: 44.9, flux: 3e6, profile: PSF }, { x: 20.7, y: 70.1, flux: 2e4, profile: GALAXY }]);
        renderer.addLine({ x0: -5, y0: 3, x1: 140, y1: 90, sigma: 1.4, fluxPerPixelLength: 300, maskBit: 14, maskThreshold: 10 });
        renderer.bleed(50_000, 1);
        renderer.applyPoisson(poissonSeed);
        renderer.addReadNoise(4.5, 77);
        return { image: Buffer.from(renderer.imageCopy().buffer), mask: Buffer.from(renderer.maskCopy().buffer) };
      } finally {
        renderer.dispose();
      }
    };
    const a = run('release', 2 ** 40 + 5);
    expect(run('release', 2 ** 40 + 5)).toEqual(a);
    expect(run('scalar', 2 ** 40 + 5)).toEqual(a);
    expect(run('release', new Random(3))).toEqual(run('scalar', new Random(3)));
    expect(run('release', 5).image.equals(a.image)).toBe(false);
    const mask = new Int32Array(a.mask.buffer, a.mask.byteOffset, a.mask.byteLength / 4);
    expect(mask.some((m) => m === 2)).toBe(true); // saturated core of the bright star
    expect(mask.some((m) => m === 1 << 14)).toBe(true); // the trail
  });

  it('returns all wasm memory it used: scratch per call, the planes on dispose()', () => {
    const tessera = builds.release!;
    const before = tessera.planes.inUseBytes;
    const renderer = new Renderer(tessera, 100, 80);
    const held = tessera.planes.inUseBytes;
    renderer.addSources([{ x: 50, y: 40, flux: 1e4, profile: GALAXY }]);
    renderer.addLine({ x0: 3, y0: 4, x1: 90, y1: 70, sigma: 1.2, fluxPerPixelLength: 50, maskBit: 3, maskThreshold: 5 });
    expect(tessera.planes.inUseBytes).toBe(held);
    expect(held - before).toBe(2 * 100 * 80 * 4);
    renderer.dispose();
    renderer.dispose();
    expect(tessera.planes.inUseBytes).toBe(before);
    expect(() => renderer.imageView()).toThrow(/after dispose/);
  });
});

/** Runs mixtureSnr on a raw table (rows of TABLE_ROW_LENGTH f64) and a variance plane; returns one S/N per source. */
function kernelSnr(build: Tessera, table: Float64Array, variance: Float32Array, width: number, height: number): Float64Array {
  const { planes, kernels } = build;
  const rows = table.length / TABLE_ROW_LENGTH;
  let sources = 0;
  for (let r = 0; r < rows; r += 1 + table[r * TABLE_ROW_LENGTH + 3]!) sources++;
  return planes.scope(() => {
    const v = planes.allocFrom(variance);
    const t = planes.allocFrom(table);
    const out = planes.alloc(Math.max(1, sources) * 8);
    planes.f64(out, sources).fill(-1);
    expect(kernels.mixtureSnr(t, rows, v, width, height, out)).toBe(0);
    return planes.f64(out, sources).slice();
  });
}

/** The kernel's box of a source row: columns ceil(x - r) - 3 .. floor(x + r) + 3, rows ceil(y - r) .. floor(y + r), clipped. */
function snrBox(x: number, y: number, radius: number, width: number, height: number): [number, number, number, number] {
  return [Math.max(0, Math.ceil(x - radius) - 3), Math.min(width - 1, Math.floor(x + radius) + 3),
    Math.max(0, Math.ceil(y - radius)), Math.min(height - 1, Math.floor(y + radius))];
}

/** A smooth, strongly non-uniform variance plane (e^2). */
function wavyVariance(width: number, height: number): Float32Array {
  const v = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) v[y * width + x] = 300 + 200 * Math.sin(x / 5.3) * Math.cos(y / 3.7) + 2 * x + y;
  }
  return v;
}

describe('mixtureSnr', () => {
  const W = 150, H = 110;
  const variance = wavyVariance(W, H);
  // A star, an elliptical galaxy, and a galaxy cut by the plane's corner.
  const sources: RenderSource[] = [
    { x: 60.3, y: 47.8, flux: 2e4, profile: PSF },
    { x: 101.6, y: 70.2, flux: 5e4, profile: GALAXY },
    { x: 2.4, y: 105.1, flux: 3e4, profile: GALAXY },
  ];

  for (const variant of VARIANTS) {
    it(`equals the f64 sum of m^2 / v over the box with the exact mixture within 1e-4 relative (${variant})`, () => {
      const { table, rows } = buildSourceTable(sources);
      expect(rows).toBe(3 + 3 + 3 + 3);
      const snr = kernelSnr(builds[variant]!, table, variance, W, H);
      let r = 0;
      sources.forEach((source, k) => {
        const [bx0, bx1, by0, by1] = snrBox(source.x, source.y, table[r * TABLE_ROW_LENGTH + 4]!, W, H);
        r += 1 + table[r * TABLE_ROW_LENGTH + 3]!;
        let sum = 0;
        for (let y = by0; y <= by1; y++) {
          for (let x = bx0; x <= bx1; x++) sum += mixtureAt(source.profile, source.flux, x - source.x, y - source.y) ** 2 / variance[y * W + x]!;
        }
        expect(snr[k]! > 10).toBe(true);
        expect(Math.abs(snr[k]! / Math.sqrt(sum) - 1)).toBeLessThan(1e-4);
      });
    });
  }

  it('sums exactly the rendered model: renderMixtures of the source alone, m^2 / v per lane (x - first column) & 3', () => {
    // The third source's box (radius 5000 on a 9000-px-wide plane) is wider than the kernel's band
    // (8192 px) and the first's is taller than one band, so both the column chunks and the row bands run.
    const cases: { width: number; height: number; source: RenderSource; radius?: number }[] = [
      { width: W, height: H, source: sources[1]! },
      { width: 300, height: 260, source: { x: 140.5, y: 131.2, flux: 4e4, profile: GALAXY }, radius: 120 },
      { width: 9000, height: 9, source: { x: 4400.3, y: 4.6, flux: 1e6, profile: [{ weight: 1, xx: 4e6, yy: 3, xy: 0 }] }, radius: 5000 },
    ];
    for (const { width, height, source, radius } of cases) {
      const { table } = buildSourceTable([source]);
      if (radius !== undefined) table[4] = radius;
      const v = wavyVariance(width, height);
      const [bx0, bx1, by0, by1] = snrBox(source.x, source.y, table[4]!, width, height);
      for (const variant of VARIANTS) {
        const { planes, kernels } = builds[variant]!;
        const model = planes.scope(() => {
          const plane = planes.plane('f32', width, height);
          planes.view(plane).fill(0);
          expect(kernels.renderMixtures(plane.ptr, width, height, planes.allocFrom(table), table.length / TABLE_ROW_LENGTH)).toBe(0);
          return planes.f32(plane.ptr, width * height).slice();
        });
        const lanes = [0, 0, 0, 0];
        let outside = 0;
        for (let i = 0; i < model.length; i++) {
          const x = i % width, y = Math.floor(i / width);
          if (x < bx0 || x > bx1 || y < by0 || y > by1) outside += Math.abs(model[i]!);
        }
        expect(outside).toBe(0); // the box holds every pixel renderMixtures draws
        for (let y = by0; y <= by1; y++) {
          for (let x = bx0; x <= bx1; x++) {
            const m = model[y * width + x]!;
            lanes[(x - bx0) & 3] += m !== 0 ? (m * m) / v[y * width + x]! : 0;
          }
        }
        const snr = kernelSnr(builds[variant]!, table, v, width, height);
        expect(snr[0]).toBe(Math.sqrt((lanes[0]! + lanes[1]!) + (lanes[2]! + lanes[3]!)));
      }
    }
  });

  it('gives 0 for a source whose box misses the plane or with flux 0, keeping the others in place', () => {
    const { table } = buildSourceTable([
      { x: 40, y: 30, flux: 1e4, profile: PSF },
      { x: -60, y: 30, flux: 1e7, profile: PSF },
      { x: 40, y: 30, flux: 1e4, profile: SINGLE },
      { x: 70, y: 1e6, flux: 1e7, profile: SINGLE },
    ]);
    // A zero-flux source (buildSourceTable leaves those out): its row written by hand.
    const zero = new Float64Array([20, 20, 0, 1, 10, 1, 2, 2, 0, 20]);
    const withZero = new Float64Array(table.length + zero.length);
    withZero.set(table.subarray(0, 4 * TABLE_ROW_LENGTH));
    withZero.set(zero, 4 * TABLE_ROW_LENGTH);
    withZero.set(table.subarray(4 * TABLE_ROW_LENGTH), 4 * TABLE_ROW_LENGTH + zero.length);
    const v = wavyVariance(80, 60);
    const alone = (k: number): number => kernelSnr(builds.release!, buildSourceTable([[
      { x: 40, y: 30, flux: 1e4, profile: PSF }, { x: 40, y: 30, flux: 1e4, profile: SINGLE }][k]!]).table, v, 80, 60)[0]!;
    for (const variant of VARIANTS) {
      const snr = kernelSnr(builds[variant]!, withZero, v, 80, 60);
      expect(Array.from(snr)).toEqual([alone(0), 0, 0, alone(1), 0]);
      expect(snr[0]!).toBeGreaterThan(10);
    }
  });

  it('gives bit-identical S/N in the SIMD, debug and scalar builds', () => {
    const random = new Random(99);
    const scene: RenderSource[] = [];
    for (let i = 0; i < 150; i++) {
      const profile = [PSF, GALAXY, SINGLE][i % 3]!.map((g) => {
        const s = 0.3 + 3 * random.uniform();
        return { weight: g.weight, xx: g.xx * s, yy: g.yy * s, xy: g.xy * s };
      });
      scene.push({ x: random.range(-20, 223), y: random.range(-20, 177), flux: 10 ** random.range(1, 6), profile });
    }
    const { table } = buildSourceTable(scene);
    const v = wavyVariance(203, 157);
    const release = kernelSnr(builds.release!, table, v, 203, 157);
    expect(release.filter((s) => s > 0).length).toBeGreaterThan(100);
    expect(Buffer.from(kernelSnr(builds.scalar!, table, v, 203, 157).buffer)).toEqual(Buffer.from(release.buffer));
    expect(Buffer.from(kernelSnr(builds.debug!, table, v, 203, 157).buffer)).toEqual(Buffer.from(release.buffer));
  });

  it('approaches F / sqrt(4 pi sigma^2 v) for a Gaussian on a flat variance, within 0.5 %', () => {
    const v = new Float32Array(120 * 100).fill(2500);
    for (const [sigma, x, y, flux] of [[1.2, 60.5, 50.5, 3e3], [2, 59.37, 48.81, 1e4], [4.5, 61.9, 51.2, 1e5]] as const) {
      const { table } = buildSourceTable([{ x, y, flux, profile: [{ weight: 1, xx: sigma * sigma, yy: sigma * sigma, xy: 0 }] }]);
      const expected = flux / Math.sqrt(4 * Math.PI * sigma * sigma * 2500);
      for (const variant of VARIANTS) {
        expect(Math.abs(kernelSnr(builds[variant]!, table, v, 120, 100)[0]! / expected - 1)).toBeLessThan(5e-3);
      }
    }
  });

  it('refuses a malformed table and writes nothing', () => {
    const { kernels, planes } = builds.debug!;
    planes.scope(() => {
      const v = planes.allocFrom(new Float32Array(400).fill(1));
      const table = planes.allocFrom(new Float64Array([10, 10, 100, 2, 5, 1, 2, 2, 0, 20]));
      const out = planes.alloc(8);
      planes.f64(out, 1)[0] = -1;
      expect(kernels.mixtureSnr(table, 2, v, 20, 20, out)).toBe(1);
      expect(kernels.mixtureSnr(table, 2, v, 0, 20, out)).toBe(1);
      expect(planes.f64(out, 1)[0]).toBe(-1);
    });
  });
});

describe('matchedFilterSnr', () => {
  it('puts one S/N per profile in profile order (0 for one not drawn or off the detector) and returns its wasm memory', () => {
    const width = 90, height = 70;
    const sky = new Float32Array(width * height).fill(800);
    const profiles: RenderSource[] = [
      { x: 30.2, y: 40.7, flux: 2e4, profile: PSF },
      { x: 50, y: 20, flux: 0, profile: PSF }, // not drawn: left out of the table
      { x: -500, y: 20, flux: 1e4, profile: SINGLE }, // off the detector
      { x: 70.6, y: 35.1, flux: 3e4, profile: GALAXY },
    ];
    const tessera = builds.release!;
    const sources = render(tessera, width, height, profiles);
    const exposure = {
      detector: { width, height, amplifiers: [{ readNoise: 4 }, { readNoise: 5 }] },
      planes: { sky, sources, artifacts: new Float32Array(width * height) },
      profiles,
    } as unknown as SimulatedExposure;
    const before = tessera.planes.inUseBytes;
    const snr = matchedFilterSnr(tessera, exposure);
    expect(tessera.planes.inUseBytes).toBe(before);
    const v = new Float32Array(width * height);
    for (let i = 0; i < v.length; i++) v[i] = sky[i]! + sources[i]! + 25;
    const direct = (k: number): number => kernelSnr(tessera, buildSourceTable([profiles[k]!]).table, v, width, height)[0]!;
    expect(Array.from(snr)).toEqual([direct(0), 0, 0, direct(3)]);
    expect(snr[0]!).toBeGreaterThan(50);
  });
});

describe('poissonInPlace and addGaussian', () => {
  const N = 1_000_000;

  function poisson(build: Tessera, mean: number, n: number, seedLo: number, seedHi: number): Float32Array {
    const { planes, kernels } = build;
    return planes.scope(() => {
      const ptr = planes.alloc(4 * n);
      planes.f32(ptr, n).fill(mean);
      expect(kernels.poissonInPlace(ptr, n, seedLo, seedHi)).toBe(0);
      return planes.f32(ptr, n).slice();
    });
  }

  /** exp(-mean) mean^k / k!, summed from logs. */
  function poissonPmf(mean: number, k: number): number {
    let logFactorial = 0;
    for (let i = 2; i <= k; i++) logFactorial += Math.log(i);
    return Math.exp(-mean + k * Math.log(mean) - logFactorial);
  }

  for (const mean of [0.5, 7, 30, 1000]) {
    it(`draws Poisson(${mean}): mean and variance of 1e6 pixels within 5 standard errors, histogram chi-square below df + 5 sqrt(2 df)`, () => {
      const values = poisson(builds.release!, mean, N, 12345 + mean, 678);
      let s = 0;
      for (const v of values) s += v;
      const m = s / N;
      let ss = 0;
      let notCounts = 0;
      const counts = new Map<number, number>();
      for (const v of values) {
        ss += (v - m) ** 2;
        if (!Number.isInteger(v) || v < 0) notCounts++;
        counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      expect(notCounts).toBe(0);
      const variance = ss / (N - 1);
      expect(Math.abs(m - mean)).toBeLessThan(5 * Math.sqrt(mean / N));
      // Var of the sample variance of a Poisson(l) sample: (mu4 - sigma^4) / N = (l + 2 l^2) / N.
      expect(Math.abs(variance - mean)).toBeLessThan(5 * Math.sqrt((mean + 2 * mean * mean) / N));
      // Shape: Pearson chi-square over the values with expected count >= 50, the rest pooled in two tails.
      const lo = Math.max(0, Math.floor(mean - 6 * Math.sqrt(mean)));
      const hi = Math.ceil(mean + 6 * Math.sqrt(mean)) + 3;
      let chi2 = 0;
      let df = -1;
      let tailLowObserved = 0, tailLowExpected = 0, tailHighObserved = 0, tailHighExpected = 0;
      for (let k = lo; k <= hi; k++) {
        const expected = N * poissonPmf(mean, k);
        const observed = counts.get(k) ?? 0;
        if (expected >= 50) {
          chi2 += (observed - expected) ** 2 / expected;
          df++;
        } else if (k < mean) {
          tailLowObserved += observed;
          tailLowExpected += expected;
        } else {
          tailHighObserved += observed;
          tailHighExpected += expected;
        }
      }
      for (const [o, e] of [[tailLowObserved, tailLowExpected], [tailHighObserved, tailHighExpected]] as const) {
        if (e >= 5) {
          chi2 += (o - e) ** 2 / e;
          df++;
        }
      }
      expect(df).toBeGreaterThan(1);
      expect(chi2).toBeLessThan(df + 5 * Math.sqrt(2 * df));
    });
  }

  it('maps negative, zero and NaN means to 0, and is deterministic per seed in every build', () => {
    const { planes, kernels } = builds.debug!;
    const out = planes.scope(() => {
      const ptr = planes.allocFrom(new Float32Array([-5, 0, Number.NaN, -0, 1e-30]));
      expect(kernels.poissonInPlace(ptr, 5, 1, 2)).toBe(0);
      return planes.f32(ptr, 5).slice();
    });
    expect(Array.from(out.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(out[4]).toBe(0);
    const a = poisson(builds.release!, 250, 50_000, 7, 9);
    expect(bytes(poisson(builds.release!, 250, 50_000, 7, 9))).toEqual(bytes(a));
    expect(bytes(poisson(builds.scalar!, 250, 50_000, 7, 9))).toEqual(bytes(a));
    expect(bytes(poisson(builds.debug!, 250, 50_000, 7, 9))).toEqual(bytes(a));
    const otherLo = poisson(builds.release!, 250, 50_000, 8, 9);
    const otherHi = poisson(builds.release!, 250, 50_000, 7, 10);
    let sameLo = 0, sameHi = 0;
    for (let i = 0; i < a.length; i++) {
      if (otherLo[i] === a[i]) sameLo++;
      if (otherHi[i] === a[i]) sameHi++;
    }
    // Independent Poisson(250) deviates coincide with probability sum_k p_k^2 = 1 / sqrt(4 pi 250) ~ 0.0178.
    expect(sameLo / a.length).toBeLessThan(0.025);
    expect(sameHi / a.length).toBeLessThan(0.025);
  });

  it('adds normal read noise: mean and variance of 1e6 pixels within 5 standard errors, 4-sigma tail within 5 SE', () => {
    const sigma = 4.5;
    for (const variant of ['release', 'scalar'] as const) {
      const { planes, kernels } = builds[variant]!;
      const values = planes.scope(() => {
        const ptr = planes.alloc(4 * N);
        planes.f32(ptr, N).fill(100);
        expect(kernels.addGaussian(ptr, N, sigma, 99, 0)).toBe(0);
        return planes.f32(ptr, N).slice();
      });
      let s = 0;
      for (const v of values) s += v;
      const m = s / N;
      let ss = 0;
      let beyond4 = 0;
      for (const v of values) {
        ss += (v - m) ** 2;
        if (Math.abs(v - 100) > 4 * sigma) beyond4++;
      }
      expect(Math.abs(m - 100)).toBeLessThan(5 * sigma / Math.sqrt(N));
      expect(Math.abs(ss / (N - 1) - sigma * sigma)).toBeLessThan(5 * sigma * sigma * Math.sqrt(2 / N));
      const p4 = 6.334248366623996e-5; // P(|Z| > 4)
      expect(Math.abs(beyond4 - N * p4)).toBeLessThan(5 * Math.sqrt(N * p4));
    }
  });

  it('refuses a negative or non-finite read-noise sigma', () => {
    const { planes, kernels } = builds.release!;
    planes.scope(() => {
      const ptr = planes.alloc(16);
      expect(kernels.addGaussian(ptr, 4, -1, 0, 0)).toBe(1);
      expect(kernels.addGaussian(ptr, 4, Number.NaN, 0, 0)).toBe(1);
      expect(kernels.addGaussian(ptr, 4, Number.POSITIVE_INFINITY, 0, 0)).toBe(1);
    });
  });
});

describe('bleedSaturation', () => {
  /** The literal process: over-full pixels keep the full well and pass half the excess up and half down, until converged. */
  function bleedByIteration(image: Float64Array, width: number, height: number, fullWell: number): void {
    for (let x = 0; x < width; x++) {
      for (let sweep = 0; sweep < 2_000_000; sweep++) {
        let moved = 0;
        for (let y = 0; y < height; y++) {
          const i = y * width + x;
          const excess = image[i]! - fullWell;
          if (excess <= 0) continue;
          image[i] = fullWell;
          if (y > 0) image[i - width]! += excess / 2;
          if (y < height - 1) image[i + width]! += excess / 2;
          moved = Math.max(moved, excess);
        }
        if (moved < 1e-9 * fullWell) break;
      }
    }
  }

  function bleed(build: Tessera, image: Float32Array, mask: Int32Array | null, width: number, height: number, fullWell: number, bit: number): { image: Float32Array; mask: Int32Array | null } {
    const { planes, kernels } = build;
    return planes.scope(() => {
      const p = planes.allocFrom(image);
      const m = mask ? planes.allocFrom(mask) : 0;
      expect(kernels.bleedSaturation(p, m, width, height, width, fullWell, bit)).toBe(0);
      return { image: planes.f32(p, width * height).slice(), mask: mask ? planes.i32(m, width * height).slice() : null };
    });
  }

  /** Columns with saturated stars (several per column, some at the edges) on a sky of 800 e-. */
  function saturatedField(width: number, height: number, seed: number): Float32Array {
    const random = new Random(seed);
    const image = new Float32Array(width * height).fill(800);
    for (let s = 0; s < 6; s++) {
      const cx = random.range(0, width);
      const cy = s === 0 ? 1.2 : s === 1 ? height - 2.1 : random.range(0, height);
      const flux = 10 ** random.range(4.5, 6.3);
      const sigma = random.range(0.8, 2);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const r2 = (x - cx) ** 2 + (y - cy) ** 2;
          image[y * width + x]! += (flux * Math.exp(-r2 / (2 * sigma * sigma))) / (2 * Math.PI * sigma * sigma);
        }
      }
    }
    return image;
  }

  it('matches the converged spill-half-up-half-down iteration, caps at the full well and masks exactly the full pixels', () => {
    const width = 24, height = 70, fullWell = 5000;
    for (const seed of [1, 2, 3]) {
      const start = saturatedField(width, height, seed);
      const reference = Float64Array.from(start);
      bleedByIteration(reference, width, height, fullWell);
      const mask = new Int32Array(width * height).fill(1 << 2);
      for (const variant of VARIANTS) {
        const out = bleed(builds[variant]!, start, mask, width, height, fullWell, 5);
        let worst = 0;
        let saturated = 0;
        for (let i = 0; i < out.image.length; i++) {
          worst = Math.max(worst, Math.abs(out.image[i]! - reference[i]!));
          expect(out.image[i]!).toBeLessThanOrEqual(fullWell);
          const full = out.image[i]! >= fullWell;
          if (full) saturated++;
          expect(out.mask![i]).toBe(full ? (1 << 2) | (1 << 5) : 1 << 2);
        }
        // The iteration stops with up to 1e-9 x full well left to move; f32 spacing at 5000 is 4.9e-4.
        expect(worst).toBeLessThan(1e-3);
        expect(saturated).toBeGreaterThan(20);
      }
    }
  });

  it('conserves charge to 1e-7 relative when no bleed reaches an edge', () => {
    const width = 40, height = 300, fullWell = 60000;
    const image = new Float32Array(width * height).fill(1200);
    for (const [cx, cy, flux] of [[10, 150, 5e7], [25.5, 100.2, 8e6], [25.2, 180.7, 2e7]] as const) {
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) image[y * width + x]! += flux * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 4.5) / (2 * Math.PI * 2.25);
      }
    }
    const before = image.reduce((a, b) => a + b, 0);
    const { image: after, mask } = bleed(builds.release!, image, new Int32Array(width * height), width, height, fullWell, 1);
    const total = after.reduce((a, b) => a + b, 0);
    expect(Math.abs(total - before) / before).toBeLessThan(1e-7);
    expect(Math.max(...after)).toBeLessThanOrEqual(fullWell);
    // The brightest star's column holds ~1.3e7 e- (~230 full wells): a long trail that stays off the edges.
    let column10 = 0;
    for (let y = 0; y < height; y++) if (mask![y * width + 10] === 2) column10++;
    expect(column10).toBeGreaterThan(200);
    for (let x = 0; x < width; x++) expect(mask![x] === 0 && mask![(height - 1) * width + x] === 0).toBe(true);
  });

  it('loses the charge that bleeds off the chip, as the iteration does', () => {
    // A single over-full pixel in the first row: half its excess leaves the chip at once.
    const width = 3, height = 10, fullWell = 1000;
    const image = new Float32Array(width * height);
    image[1] = fullWell + 600;
    const { image: out } = bleed(builds.release!, image, null, width, height, fullWell, 0);
    expect(out[1]).toBe(fullWell);
    expect(out[1 + width]).toBe(300);
    expect(out.reduce((a, b) => a + b, 0)).toBe(fullWell + 300);
    // A bright star near the bottom edge: the loss equals the iteration's.
    const w = 8, h = 40;
    const star = new Float32Array(w * h).fill(100);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) star[y * w + x]! += 4e6 * Math.exp(-((x - 3.6) ** 2 + (y - 37.4) ** 2) / 3.2) / (Math.PI * 3.2);
    const reference = Float64Array.from(star);
    bleedByIteration(reference, w, h, 20000);
    const { image: bled } = bleed(builds.release!, star, null, w, h, 20000, 0);
    const lost = star.reduce((a, b) => a + b, 0) - bled.reduce((a, b) => a + b, 0);
    const lostReference = star.reduce((a, b) => a + b, 0) - reference.reduce((a, b) => a + b, 0);
    expect(lost).toBeGreaterThan(1e5);
    expect(Math.abs(lost - lostReference) / lostReference).toBeLessThan(1e-6);
  });

  it('refuses a negative full well or a bit outside 0..31', () => {
    const { planes, kernels } = builds.release!;
    planes.scope(() => {
      const p = planes.alloc(64);
      expect(kernels.bleedSaturation(p, 0, 4, 4, 4, -1, 0)).toBe(1);
      expect(kernels.bleedSaturation(p, 0, 4, 4, 3, 100, 0)).toBe(1);
      expect(kernels.bleedSaturation(p, 0, 4, 4, 4, 100, 32)).toBe(1);
      expect(kernels.bleedSaturation(p, 0, 4, 4, 4, Number.NaN, 0)).toBe(1);
    });
  });
});

describe('addLine', () => {
  function line(build: Tessera, width: number, height: number, args: [number, number, number, number, number, number], bit: number, threshold: number): { image: Float32Array; mask: Int32Array } {
    const { planes, kernels } = build;
    return planes.scope(() => {
      const p = planes.plane('f32', width, height);
      const m = planes.plane('i32', width, height);
      planes.view(p).fill(0);
      planes.view(m).fill(0);
      const [x0, y0, x1, y1, sigma, flux] = args;
      expect(kernels.addLine(p.ptr, width, height, x0, y0, x1, y1, sigma, flux, m.ptr, bit, threshold)).toBe(0);
      return { image: planes.f32(p.ptr, width * height).slice(), mask: planes.i32(m.ptr, width * height).slice() };
    });
  }

  const SEGMENTS: [string, [number, number, number, number, number, number]][] = [
    ['diagonal', [30.3, 40.7, 170.2, 95.1, 1.3, 250]],
    ['steep', [100.4, 10.2, 91.7, 110.9, 2.1, 40]],
    ['horizontal', [20.5, 60.25, 180.5, 60.25, 1, 1000]],
    ['vertical', [75.6, 8, 75.6, 112, 1.7, 10]],
    // A cosmic-ray track of 0.7 px with the pixel response: sigma^2 = 0.49 + 1/12.
    ['cosmic-ray-like, sigma 0.757 px', [50.2, 30.9, 85.7, 44.4, Math.sqrt(0.49 + 1 / 12), 3000]],
  ];

  for (const [name, args] of SEGMENTS) {
    it(`puts fluxPerPixelLength x length into an interior ${name} segment within 1e-3, with the stated cross-section`, () => {
      const [x0, y0, x1, y1, sigma, flux] = args;
      const width = 200, height = 120;
      const length = Math.hypot(x1 - x0, y1 - y0);
      const ux = (x1 - x0) / length, uy = (y1 - y0) / length;
      // Cross-sections along pixel rows (steep segments) or columns (shallow ones), away from the ends:
      // each is the Gaussian of sigma / |u| across it, centred where the segment crosses it.
      const steep = Math.abs(uy) >= Math.abs(ux);
      const across = steep ? Math.abs(uy) : Math.abs(ux);
      for (const variant of VARIANTS) {
        const { image } = line(builds[variant]!, width, height, args, 0, Number.POSITIVE_INFINITY);
        let total = 0;
        for (const v of image) total += v;
        expect(Math.abs(total - flux * length) / (flux * length)).toBeLessThan(1e-3);
        let worstCentre = 0;
        let worstSigma = 0;
        let sections = 0;
        for (let k = 0; k < (steep ? height : width); k++) {
          const s = steep ? (k - y0) / uy : (k - x0) / ux; // along the segment where it crosses line k
          if (s < 8 * sigma / across || s > length - 8 * sigma / across) continue;
          const centre = steep ? x0 + s * ux : y0 + s * uy;
          let w = 0, w1 = 0, w2 = 0;
          for (let j = 0; j < (steep ? width : height); j++) {
            const v = steep ? image[k * width + j]! : image[j * width + k]!;
            w += v;
            w1 += v * (j - centre);
            w2 += v * (j - centre) ** 2;
          }
          worstCentre = Math.max(worstCentre, Math.abs(w1 / w));
          worstSigma = Math.max(worstSigma, Math.abs(Math.sqrt(w2 / w - (w1 / w) ** 2) * across - sigma) / sigma);
          sections++;
        }
        expect(sections).toBeGreaterThan(5);
        expect(worstCentre).toBeLessThan(1e-3);
        expect(worstSigma).toBeLessThan(1e-3);
      }
    });
  }

  it('masks exactly the pixels where it adds more than the threshold, keeping other bits', () => {
    const width = 120, height = 90, threshold = 20;
    const { planes, kernels } = builds.debug!;
    const { image, mask } = planes.scope(() => {
      const p = planes.plane('f32', width, height);
      const m = planes.plane('i32', width, height);
      planes.view(p).fill(7);
      planes.view(m).fill(1);
      expect(kernels.addLine(p.ptr, width, height, -10, 12.5, 130, 70.2, 1.5, 120, m.ptr, 4, threshold)).toBe(0);
      return { image: planes.f32(p.ptr, width * height).slice(), mask: planes.i32(m.ptr, width * height).slice() };
    });
    let marked = 0;
    for (let i = 0; i < image.length; i++) {
      const added = image[i]! - 7;
      if (Math.abs(added - threshold) < 1e-4) continue; // f32 rounding of the stored sum at the boundary
      expect(mask[i]).toBe(added > threshold ? 1 | 16 : 1);
      if (added > threshold) marked++;
    }
    // Peak 120 / (sqrt(2 pi) 1.5) = 31.9 e-: the masked band is |d| < 1.5 sqrt(2 ln(31.9 / 20)) = 1.45 px,
    // about 2.9 px wide across a 150 px trail, clipped at both edges.
    expect(marked).toBeGreaterThan(250);
    expect(marked).toBeLessThan(600);
  });

  it('clips trails at the edges instead of wrapping them, and adds nothing for a zero-length segment', () => {
    const width = 40, height = 30;
    // A horizontal trail along row 3 running past both sides of the plane.
    const { image } = line(builds.release!, width, height, [-50, 3, 90, 3, 1, 100], 0, Number.POSITIVE_INFINITY);
    const peak = 100 / Math.sqrt(2 * Math.PI);
    for (let x = 0; x < width; x++) expect(Math.abs(image[3 * width + x]! - peak) / peak).toBeLessThan(1e-6);
    for (let y = 12; y < height; y++) for (let x = 0; x < width; x++) expect(image[y * width + x]).toBe(0);
    const { image: none } = line(builds.release!, width, height, [10, 10, 10, 10, 1, 100], 0, 0);
    expect(none.every((v) => v === 0)).toBe(true);
  });
});
