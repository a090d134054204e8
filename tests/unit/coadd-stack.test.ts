// stackWarps (lib/coadd/stackWarps.ts, the wasm kernel stackWarpPixels) against a plain-JS statement of
// its rules, bit for bit: random warps with NO_DATA (some with SAT), NaN, BAD, SAT, EDGE, CR and CLIPPED pixels and a
// visit of weight 0, stacked in bands of 2 rows (a small band size) and in one band; each visit's coverage;
// the same with each visit on columns of its own and rows without data (the stack's columns per band);
// and pixels left out per visit (leftOut spans: CompareWarp's unmatched pixels), flagged INEXACT_PSF.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { stackWarps } from '../../lib/coadd/stackWarps.js';
import type { WarpPlanes } from '../../lib/image/warp.js';
import { deferExposure } from '../../lib/fits/deferredExposure.js';
import { maskSpans } from '../../lib/coadd/maskSpans.js';

const PLANES = { BAD: 0, SAT: 1, INTRP: 2, CR: 3, EDGE: 4, DETECTED: 5, NO_DATA: 8, CLIPPED: 9, REJECTED: 10, SENSOR_EDGE: 11, INEXACT_PSF: 12 };
const B = Object.fromEntries(Object.entries(PLANES).map(([k, v]) => [k, 1 << v])) as Record<keyof typeof PLANES, number>;

function randomWarps(count: number, width: number, height: number, seed: number): { warps: WarpPlanes[]; clipped: Uint8Array[] } {
  let s = seed >>> 0;
  const next = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const n = width * height;
  const warps: WarpPlanes[] = [], clipped: Uint8Array[] = [];
  for (let v = 0; v < count; v++) {
    const image = new Float32Array(n), variance = new Float32Array(n), mask = new Int32Array(n), clip = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      image[i] = next() * 200 - 20;
      variance[i] = 5 + next() * (v + 1) * 10;
      const r = next();
      if (r < 0.07) { mask[i] = B.NO_DATA; image[i] = NaN; variance[i] = NaN; }
      else if (r < 0.08) { mask[i] = B.NO_DATA | B.SAT; image[i] = NaN; variance[i] = NaN; } // a saturated core without a value
      else if (r < 0.1) image[i] = NaN;
      else if (r < 0.13) mask[i] = B.BAD;
      else if (r < 0.16) mask[i] = B.SAT;
      else if (r < 0.2) mask[i] = B.EDGE;
      else if (r < 0.25) mask[i] = B.CR | B.INTRP;
      else if (r < 0.27) mask[i] = B.DETECTED;
      if (next() < 0.05) clip[i] = 1;
    }
    warps.push({ width, height, image, variance, mask });
    clipped.push(clip);
  }
  // A visit with no usable pixel gets weight 0.
  warps[count - 1]!.mask.fill(B.BAD);
  return { warps, clipped };
}

/** The rules as plain JS (f64 sums in visit order); `leftOut`: per visit, pixels left out of the mean (INEXACT_PSF; rejected for SAT when SAT). */
function referenceStack(warps: WarpPlanes[], clipped: Uint8Array[], leftOut?: Uint8Array[]): { image: Float32Array; variance: Float32Array; mask: Int32Array; nImage: Int32Array; weights: number[] } {
  const n = warps[0]!.image.length;
  const notCarried = B.NO_DATA | B.SAT | B.EDGE | B.CLIPPED | B.DETECTED | B.REJECTED | B.SENSOR_EDGE | B.INEXACT_PSF;
  const weights = warps.map((w) => {
    let sum = 0, count = 0;
    for (let i = 0; i < n; i++) if ((w.mask[i]! & (B.NO_DATA | B.BAD | B.SAT)) === 0 && Number.isFinite(w.variance[i]!) && w.variance[i]! > 0) { sum += w.variance[i]!; count++; }
    return count > 0 ? count / sum : 0;
  });
  const image = new Float32Array(n), variance = new Float32Array(n), mask = new Int32Array(n), nImage = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let sw = 0, swx = 0, sw2v = 0, bits = 0, sat = 0, rejected = 0, used = 0;
    warps.forEach((w, v) => {
      const m = w.mask[i]!, x = w.image[i]!, wt = weights[v]!;
      if (wt === 0) return;
      if (m & B.NO_DATA || !Number.isFinite(x)) {
        if (m & B.SAT) { bits |= B.REJECTED; sat += wt; rejected += wt; }
        return;
      }
      if (clipped[v]![i]) { bits |= B.CLIPPED; return; }
      if (leftOut?.[v]![i]) {
        if (m & B.SAT) { bits |= B.REJECTED; sat += wt; rejected += wt; }
        bits |= B.INEXACT_PSF;
        return;
      }
      if (m & (B.BAD | B.SAT)) { bits |= B.REJECTED; if (m & B.SAT) sat += wt; rejected += wt; return; }
      sw += wt; swx += wt * x; sw2v += wt * wt * w.variance[i]!;
      bits |= m & ~notCarried;
      if (m & B.EDGE) bits |= B.SENSOR_EDGE;
      used++;
    });
    if (used === 0) { image[i] = NaN; variance[i] = NaN; bits |= B.NO_DATA; } else { image[i] = swx / sw; variance[i] = sw2v / (sw * sw); }
    if (sat > 0.1 * (sw + rejected)) bits |= B.SAT;
    if (bits & (B.SENSOR_EDGE | B.CLIPPED | B.REJECTED)) bits |= B.INEXACT_PSF;
    mask[i] = bits;
    nImage[i] = used;
  }
  return { image, variance, mask, nImage, weights };
}

let tessera: Tessera;
beforeAll(async () => { tessera = await loadTessera('release'); });

/**
 * Each visit's warp cut to columns of its own (a detector's footprint on the patch), rows 40-44 to none
 * (a band without data): NO_DATA and never clipped elsewhere, but for a saturated core without a value
 * (NO_DATA | SAT) beyond every visit's columns and a clipped pixel on no data.
 */
function partialCoverage(warps: WarpPlanes[], clipped: Uint8Array[]): void {
  const { width, height } = warps[0]!;
  warps.forEach((w, v) => {
    const from = 5 + 11 * v, to = 50 + 7 * v;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (x >= from && x <= to && (y < 40 || y > 44)) continue;
        const i = y * width + x;
        w.mask[i] = B.NO_DATA; w.image[i] = NaN; w.variance[i] = NaN; clipped[v]![i] = 0;
      }
    }
  });
  const last = warps[warps.length - 2]!;
  last.mask[30 * width + 90] = B.NO_DATA | B.SAT;
  clipped[0]![10 * width + 95] = 1;
}

describe('stackWarps', () => {
  const random = randomWarps(5, 97, 61, 3), partial = randomWarps(5, 97, 61, 4);
  partialCoverage(partial.warps, partial.clipped);
  const cases = [['', random], [', each visit on columns of its own', partial]] as const;
  for (const [coverage, { warps, clipped }] of cases) for (const [label, chunkBytes] of [['in bands of 2 rows', 2 * 97 * (13 * 5 + 16)], ['in one band', undefined]] as const) {
    const ref = referenceStack(warps, clipped);
    it(`is the plain-JS weighted mean bit for bit, with its mask, nImage and weights (${label}${coverage})`, () => {
      const out = stackWarps(tessera, warps.map((w) => deferExposure(w)), clipped.map((c) => maskSpans(c, 97)), PLANES, { chunkBytes });
      expect(out.weights).toEqual(ref.weights);
      expect(out.weights[4]).toBe(0);
      expect(new Uint8Array(out.image.buffer)).toEqual(new Uint8Array(ref.image.buffer));
      expect(new Uint8Array(out.variance.buffer)).toEqual(new Uint8Array(ref.variance.buffer));
      expect(out.mask).toEqual(ref.mask);
      expect(Int32Array.from(out.nImage)).toEqual(ref.nImage);
      // Every rule was exercised.
      for (const bit of [B.NO_DATA, B.CLIPPED, B.REJECTED, B.SAT, B.SENSOR_EDGE, B.INEXACT_PSF, B.CR]) expect(out.mask.some((m) => (m & bit) !== 0)).toBe(true);
      expect(out.mask.some((m) => (m & B.DETECTED) !== 0)).toBe(false);
      // Each visit's coverage: its pixels without NO_DATA.
      out.coverage.forEach((c, v) => expect(c).toEqual(maskSpans(Uint8Array.from(warps[v]!.mask, (m) => (m & B.NO_DATA ? 0 : 1)), 97)));
      expect(tessera.planes.inUseBytes).toBe(0);
    });
    it(`leaves each visit's leftOut spans out of the mean, flagged INEXACT_PSF, its weight and coverage unchanged (${label}${coverage})`, () => {
      // About 6 % of each visit's pixels, in runs (a PSF-matched warp's lost edge), some on SAT, clipped or no-data pixels.
      let s = 7;
      const next = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
      const lost = warps.map(() => {
        const m = new Uint8Array(97 * 61);
        for (let i = 0; i < m.length;) { const run = 1 + Math.floor(next() * 12); if (next() < 0.06) m.fill(1, i, i + run); i += run; }
        return m;
      });
      const expected = referenceStack(warps, clipped, lost);
      const out = stackWarps(tessera, warps.map((w) => deferExposure(w)), clipped.map((c) => maskSpans(c, 97)), PLANES, { chunkBytes, leftOut: lost.map((m) => maskSpans(m, 97)) });
      expect(out.weights).toEqual(expected.weights);
      expect(new Uint8Array(out.image.buffer)).toEqual(new Uint8Array(expected.image.buffer));
      expect(new Uint8Array(out.variance.buffer)).toEqual(new Uint8Array(expected.variance.buffer));
      expect(out.mask).toEqual(expected.mask);
      expect(Int32Array.from(out.nImage)).toEqual(expected.nImage);
      // It left pixels out: fewer visits used, more INEXACT_PSF pixels than without it; the weights as without it.
      expect(expected.nImage.reduce((a, b) => a + b, 0)).toBeLessThan(ref.nImage.reduce((a, b) => a + b, 0));
      const inexact = (m: Int32Array): number => m.filter((b) => (b & B.INEXACT_PSF) !== 0).length;
      expect(inexact(out.mask)).toBeGreaterThan(inexact(ref.mask));
      expect(out.weights).toEqual(ref.weights);
      // The coverage is the warps' own (CoaddPsf's, as LSST keeps the calexps' polygons).
      out.coverage.forEach((c, v) => expect(c).toEqual(maskSpans(Uint8Array.from(warps[v]!.mask, (m) => (m & B.NO_DATA ? 0 : 1)), 97)));
      expect(tessera.planes.inUseBytes).toBe(0);
    });
  }
});
