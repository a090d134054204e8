// Warp and coadd PSF models (lib/coadd/coaddPsf.ts): an elliptical Gaussian PSF seen through a rotated,
// scaled and sheared mapping has the moments the mapping predicts (M_out = A^-1 M_in A^-T); the grid fit
// reproduces stamps that vary as a quadratic of the position, between the nodes too, and falls back to a
// lower degree where the nodes cannot constrain a quadratic; the weighted stamp is the weighted mean.
import { describe, expect, it } from 'vitest';
import { fitGridPsf, psfGridNodes, warpedKernelImage, weightedStamp, type PsfNode } from '../../lib/coadd/coaddPsf.js';
import { constantPsfModel } from '../helpers/psfModels.js';
import { adaptiveMoments } from '../../lib/measure/adaptiveMoments.js';

function gaussianStamp(size: number, xx: number, yy: number, xy: number): Float32Array {
  const c = size >> 1, det = xx * yy - xy * xy, out = new Float32Array(size * size);
  let sum = 0;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const dx = x - c, dy = y - c;
    const v = Math.exp(-0.5 * (yy * dx * dx - 2 * xy * dx * dy + xx * dy * dy) / det);
    out[y * size + x] = v;
    sum += v;
  }
  return out.map((v) => v / sum);
}

function moments(stamp: Float32Array, size: number): { xx: number; yy: number; xy: number } {
  const m = adaptiveMoments(stamp, size, size, size >> 1, size >> 1, { sigma0: 3 });
  expect(m.flags).toBe(0);
  return m;
}

describe('warpedKernelImage', () => {
  it('transforms an elliptical PSF as the mapping predicts (moments within 1.5 %)', () => {
    const size = 41, min = { xx: 9, yy: 5, xy: 1.5 };
    const psf = constantPsfModel(gaussianStamp(size, min.xx, min.yy, min.xy), size);
    // output -> source: rotation by 25 degrees, scale 0.84 (a 0.2"/px calexp onto a 0.168"/px patch), a 3 % shear.
    const t = (25 * Math.PI) / 180, s = 0.84;
    const a = [s * Math.cos(t), -s * Math.sin(t) + 0.03, s * Math.sin(t), s * Math.cos(t)] as const;
    const toSource = (x: number, y: number): [number, number] => [a[0] * x + a[1] * y + 37.3, a[2] * x + a[3] * y - 12.6];
    const out = warpedKernelImage(psf, toSource, 60, 70, size);
    expect(out.reduce((p, v) => p + v, 0)).toBeCloseTo(1, 6);
    // M_out = A^-1 M_in A^-T with A the output -> source Jacobian.
    const det = a[0] * a[3] - a[1] * a[2];
    const inv = [a[3] / det, -a[1] / det, -a[2] / det, a[0] / det];
    const m = [[min.xx, min.xy], [min.xy, min.yy]];
    const p = (i: number, j: number): number => {
      let v = 0;
      for (let k = 0; k < 2; k++) for (let l = 0; l < 2; l++) v += inv[2 * i + k]! * m[k]![l]! * inv[2 * j + l]!;
      return v;
    };
    const got = moments(out, size), pred = { xx: p(0, 0), yy: p(1, 1), xy: p(0, 1) };
    const trace = pred.xx + pred.yy;
    expect(Math.abs(got.xx / pred.xx - 1)).toBeLessThan(0.015);
    expect(Math.abs(got.yy / pred.yy - 1)).toBeLessThan(0.015);
    expect(Math.abs(got.xy - pred.xy) / trace).toBeLessThan(0.01);
  });

  it('is the source kernel image itself under an integer shift', () => {
    const size = 25, stamp = gaussianStamp(size, 4, 6, -1);
    const out = warpedKernelImage(constantPsfModel(stamp, size), (x, y) => [x + 3, y - 8], 50, 50, size);
    let worst = 0;
    for (let k = 0; k < out.length; k++) worst = Math.max(worst, Math.abs(out[k]! - stamp[k]!));
    expect(worst).toBeLessThan(1e-7);
  });
});

describe('fitGridPsf', () => {
  const size = 21;
  const s0 = gaussianStamp(size, 6, 6, 0), s1 = gaussianStamp(size, 9, 4, 1), s2 = gaussianStamp(size, 4, 8, -1);
  /** Stamps that vary as a quadratic of the position: s0 + u s1 + v^2 s2 (u, v the position / 1000). */
  const truth = (x: number, y: number): Float32Array => s0.map((v, k) => v + (x / 1000) * s1[k]! + (y / 1000) ** 2 * s2[k]!);

  it('reproduces quadratically varying stamps at and between the nodes (1e-6 of the peak)', () => {
    const nodes: PsfNode[] = psfGridNodes(2200, 1800).map(({ x, y }) => ({ x, y, stamp: truth(x, y) }));
    expect(nodes).toHaveLength(49);
    const model = fitGridPsf(nodes, size);
    expect(model.polDeg).toBe(2);
    for (const [x, y] of [[0, 0], [1234.5, 777.25], [2199, 1799], [400, 1500]] as const) {
      const got = model.samplesAt(x, y), want = truth(x, y);
      let worst = 0;
      for (let k = 0; k < got.length; k++) worst = Math.max(worst, Math.abs(got[k]! - want[k]!));
      expect(worst / Math.max(...want), `at (${x}, ${y})`).toBeLessThan(1e-6);
    }
  });

  it('lowers the degree where the nodes cannot fix a quadratic (an L of nodes), still through linear data', () => {
    const linear = (x: number, y: number): Float32Array => s0.map((v, k) => v + (x / 1000) * s1[k]! + (y / 1000) * s2[k]!);
    const nodes: PsfNode[] = psfGridNodes(2200, 1800).filter(({ x, y }) => x === 0 || y === 0).map(({ x, y }) => ({ x, y, stamp: linear(x, y) }));
    const model = fitGridPsf(nodes, size);
    expect(model.polDeg).toBe(1);
    const got = model.samplesAt(900, 600), want = linear(900, 600);
    let worst = 0;
    for (let k = 0; k < got.length; k++) worst = Math.max(worst, Math.abs(got[k]! - want[k]!));
    expect(worst / Math.max(...want)).toBeLessThan(1e-6);
    expect(fitGridPsf([nodes[0]!], size).polDeg).toBe(0);
    expect(() => fitGridPsf([], size)).toThrow(/at least one node/);
  });

  it('weights stamps as given (the coadd PSF of two visits): second moments are the weighted mean (1e-6)', () => {
    const w = weightedStamp([s0, s1], [3, 1]);
    const xx = (s: Float32Array): number => {
      let m = 0;
      for (let k = 0; k < s.length; k++) m += s[k]! * ((k % size) - (size >> 1)) ** 2;
      return m;
    };
    expect(Math.abs(xx(w) - (0.75 * xx(s0) + 0.25 * xx(s1)))).toBeLessThan(1e-6);
    expect(w.reduce((p, v) => p + v, 0)).toBeCloseTo(1, 6);
  });
});
