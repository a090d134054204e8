// Warp and coadd PSF models (lib/coadd/coaddPsf.ts): an elliptical Gaussian PSF seen through a rotated,
// scaled and sheared mapping has the moments the mapping predicts (M_out = A^-1 M_in A^-T); the grid fit
// reproduces stamps that vary as a quadratic of the position, between the nodes too, and falls back to a
// lower degree where the nodes cannot constrain a quadratic; the weighted stamp is the weighted mean.
// CoaddPsf is, at each point, the weighted PSF of the visits covering that pixel (the node fit where none
// does), and survives a FITS round trip with its inputs; bad coverage spans and a missing input PSF are
// refused with the file named.
import { describe, expect, it } from 'vitest';
import { CoaddPsf, coverageFromSpans, fitGridPsf, psfGridNodes, warpedKernelImage, weightedStamp, type PsfNode } from '../../lib/coadd/coaddPsf.js';
import { COADD_INPUT_SPANS_EXTNAME, coaddPsfHdus, readCoaddPsf } from '../../lib/coadd/coaddPsfFile.js';
import { psfexTableHdu } from '../../lib/measure/psfexFile.js';
import { readFitsBytes } from '../../lib/fits/index.js';
import { writeFits } from '../../lib/fits/writer.js';
import { FitsHeader } from '../../lib/fits/header.js';
import { constantPsfModel, gaussianPsfModel } from '../helpers/psfModels.js';
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

describe('CoaddPsf', () => {
  // Two visits on a 200 x 120 patch: A (sigma 2 px, weight 3) covers x <= 119, B (sigma 3 px, weight 1)
  // covers x >= 80 on rows 0-99 only; the node fit is their mix (what the grid alone would give).
  const size = 31, height = 120;
  const a = gaussianPsfModel(2, size), b = gaussianPsfModel(3, size);
  const coverage = (x0: number, x1: number, rows: number) => {
    const ys: number[] = [], starts: number[] = [], ends: number[] = [];
    for (let y = 0; y < rows; y++) { ys.push(y); starts.push(x0); ends.push(x1); }
    return coverageFromSpans(height, ys, starts, ends);
  };
  const psf = new CoaddPsf(constantPsfModel(weightedStamp([a.kernelImageAt(0, 0), b.kernelImageAt(0, 0)], [3, 1]), size), [
    { visit: 11, weight: 3, psf: a, coverage: coverage(0, 119, height) },
    { visit: 12, weight: 1, psf: b, coverage: coverage(80, 199, 100) },
  ]);
  const sigma = (p: { xx: number; yy: number }): number => Math.sqrt((p.xx + p.yy) / 2);

  it('is the PSF of the visits that cover each point, weighted by their coadd weights', () => {
    expect(psf.visitsAt(40, 50)).toEqual([11]);
    expect(psf.visitsAt(100.4, 50)).toEqual([11, 12]);
    expect(psf.visitsAt(150, 50)).toEqual([12]);
    expect(psf.visitsAt(150, 110)).toEqual([]);
    expect(Math.abs(sigma(psf.momentsAt(40, 50)) - 2)).toBeLessThan(0.01);
    expect(Math.abs(sigma(psf.momentsAt(150, 50)) - 3)).toBeLessThan(0.01);
    const both = psf.stampAt(100.3, 50.2, 21), want = weightedStamp([a.stampAt(100.3, 50.2, 21).stamp, b.stampAt(100.3, 50.2, 21).stamp], [3, 1]);
    expect(both.x0).toBe(90);
    expect(Math.max(...both.stamp.map((v, k) => Math.abs(v - want[k]!)))).toBeLessThan(1e-7);
    // Where no visit has data, the node fit serves.
    expect(Array.from(psf.kernelImageAt(150, 110))).toEqual(Array.from(psf.grid.kernelImageAt(150, 110)));
  });

  it('is written with its inputs and read back the same (stamps equal to 1e-7, spans in tract pixels)', () => {
    const hdus = coaddPsfHdus(psf, 4000, 1800);
    const spans = hdus.find((h) => h.table.extname === COADD_INPUT_SPANS_EXTNAME)!;
    expect(Math.min(...(spans.table.columns.find((c) => c.name === 'x0')!.values as Int32Array))).toBe(4000);
    const file = readFitsBytes('coadd.fits', writeFits([{ header: new FitsHeader() }, psfexTableHdu(psf.grid), ...hdus]));
    const back = readCoaddPsf(file, psf.grid, 'coadd.fits')!;
    expect(back.inputs.map((i) => [i.visit, i.weight])).toEqual([[11, 3], [12, 1]]);
    for (const [x, y] of [[40, 50], [100.4, 50], [150, 50], [150, 110], [119, 99], [120, 100]] as const) {
      expect(back.visitsAt(x, y)).toEqual(psf.visitsAt(x, y));
      const got = back.stampAt(x, y, 21).stamp, want = psf.stampAt(x, y, 21).stamp;
      expect(Math.max(...got.map((v, k) => Math.abs(v - want[k]!)))).toBeLessThan(1e-7);
    }
  });

  it('refuses spans out of order or off the image, naming the file', () => {
    expect(() => coverageFromSpans(10, [0, 0], [5, 1], [8, 3])).toThrow(/out of order/);
    expect(() => coverageFromSpans(10, [10], [0], [1])).toThrow(/row 10, outside 0..9/);
    const hdus = coaddPsfHdus(psf, 0, 0);
    const file = readFitsBytes('bad.fits', writeFits([{ header: new FitsHeader() }, ...hdus.filter((h) => h.table.extname !== 'COADD_INPUT_PSF_1')]));
    expect(() => readCoaddPsf(file, psf.grid, 'bad.fits')).toThrow(/bad\.fits.*input 1 \(visit 12\) has no COADD_INPUT_PSF_1/);
  });
});
