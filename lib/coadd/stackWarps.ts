/**
 * The coadd of direct warps (LSST AssembleCoaddTask with CompareWarp's settings: statistic MEAN, the
 * visits' artifact pixels excluded): per pixel, the weighted mean of the visits whose warp has data there
 * and is not rejected, weights 1 / (the warp's mean variance over its good pixels) (LSST's
 * computeCoaddWeight, MEANCLIP of the variance); variance sum(w^2 V) / (sum w)^2; nImage the visits used.
 * A visit's pixel is rejected for NO_DATA, BAD, SAT (badMaskPlanes), CLIPPED (its artifacts) or left out (below). The coadd
 * mask (setRejectedMaskMapping, setInexactPsf) holds: NO_DATA where no visit is used; CLIPPED where some
 * visit was clipped; REJECTED where some visit with data was rejected for BAD or SAT; SENSOR_EDGE where
 * some used visit's pixel is EDGE; INEXACT_PSF wherever SENSOR_EDGE, CLIPPED or REJECTED is set or a visit is left out; SAT
 * where the visits rejected for SAT hold more than 0.1 of the weight (maskPropagationThresholds); and the
 * OR of the other planes of the used pixels (CR, INTRP, SUSPECT, ...: interpolated cosmic rays stay in
 * the coadd, LSST DM-9953), DETECTED and DETECTED_NEGATIVE excluded (coadd detection sets its own).
 * Units: the warps' (nJy). The per-pixel mean runs in wasm (assembly/coadd.ts's stackWarpPixels, f64 sums
 * in visit order) and the visits' weights too (accumulateGoodVariance, f64 sums in pixel order). The warps
 * are DeferredExposures read a band of rows at a time, so that memory (wasm and JS) holds at most
 * CHUNK_BYTES of them whatever the number of visits; each visit's clipped pixels come as spans. A warp
 * holds data only where its detectors land (one HSC detector covers 45 % of a 4600-px patch): the first pass
 * finds each band's columns that any visit can add to (assembly/coadd.ts's stackableColumns), and the
 * weights, coverage and mean are computed over those columns only.
 * `leftOut`: per visit, pixels of its warp left out of the mean (CompareWarp's: where its PSF-matched
 * warp has no data, no artifact could be found; LSST masks them NO_DATA in the direct warp after the
 * weights are computed), flagged INEXACT_PSF in the coadd: the weights and coverage are the warps' own,
 * as LSST's weights and CoaddPsf polygons are, so CoaddPsf counts the visit there. Measured on the demo
 * unflagged: a 10-px band without one visit cut through stars (a star on its edge lost 40 % of its peak
 * there, the visits' seeing differing), which then entered the coadd aperture-correction fit (it takes
 * stars without pixel flags) and moved it by up to 5 mmag per patch.
 * Also returned: each visit's coverage (its pixels without NO_DATA in its warp, as spans), which CoaddPsf keeps.
 */
import type { Tessera } from '../wasm/loader.js';
import { checkStatus } from '../wasm/kernels.js';
import { rowsOf, type DeferredExposure } from '../fits/deferredExposure.js';
import { fillSpanRows, spanColumns, spansWithout, type MaskSpans } from './maskSpans.js';

/** Wasm memory for one band of every warp's pixels and the outputs. */
const CHUNK_BYTES = 64 << 20;

export interface StackResult {
  width: number;
  height: number;
  image: Float32Array;
  variance: Float32Array;
  mask: Int32Array;
  /** Visits used per pixel (at most 65535, as afw's ImageU holds it). */
  nImage: Uint16Array;
  weights: number[];
  /** Per visit: its pixels with data (not NO_DATA), as spans in the warps' pixel coordinates. */
  coverage: MaskSpans[];
}

/** Concatenates spans made band by band (in row order). */
function concatSpans(parts: readonly MaskSpans[]): MaskSpans {
  const join = (key: keyof MaskSpans): Int32Array => {
    const out = new Int32Array(parts.reduce((s, p) => s + p.y.length, 0));
    let k = 0;
    for (const p of parts) { out.set(p[key], k); k += p.y.length; }
    return out;
  };
  return { y: join('y'), x0: join('x0'), x1: join('x1') };
}

export interface StackOptions {
  /** Per visit (or none): pixels left out of the mean, INEXACT_PSF (see the module comment). */
  leftOut?: readonly MaskSpans[];
  /** The wasm memory a band may take (CHUNK_BYTES; tests give less to cross band boundaries). */
  chunkBytes?: number;
}

export function stackWarps(tessera: Tessera, warps: readonly DeferredExposure[], clipped: readonly MaskSpans[], planes: Readonly<Record<string, number>>, options: StackOptions = {}): StackResult {
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  const bit = (name: string): number => (planes[name] === undefined ? 0 : 1 << planes[name]!);
  const NO_DATA = bit('NO_DATA'), BAD = bit('BAD'), SAT = bit('SAT'), EDGE = bit('EDGE'), CLIPPED = bit('CLIPPED');
  const REJECTED = bit('REJECTED'), SENSOR_EDGE = bit('SENSOR_EDGE'), INEXACT_PSF = bit('INEXACT_PSF');
  const notCarried = NO_DATA | SAT | EDGE | CLIPPED | bit('DETECTED') | bit('DETECTED_NEGATIVE') | REJECTED | SENSOR_EDGE | INEXACT_PSF;
  const { width, height, y0 } = warps[0]!;
  const n = width * height;
  const image = new Float32Array(n), variance = new Float32Array(n), mask = new Int32Array(n), nImage = new Uint16Array(n);
  const { planes: memory, kernels } = tessera;
  const k = warps.length;
  const rows = Math.max(1, Math.min(height, Math.floor(chunkBytes / ((13 * k + 16) * width))));
  const chunk = rows * width;
  let weights: number[] = [];
  const coverageParts: MaskSpans[][] = warps.map(() => []);
  memory.scope(() => {
    const inputs = warps.map(() => [memory.alloc(4 * chunk), memory.alloc(4 * chunk), memory.alloc(4 * chunk), memory.alloc(chunk)] as const);
    const table = memory.alloc(16 * Math.max(k, 1)), weightsPtr = memory.alloc(8 * Math.max(k, 1)), bits = memory.alloc(36), sums = memory.alloc(16 * Math.max(k, 1));
    const outImage = memory.alloc(4 * chunk), outVariance = memory.alloc(4 * chunk), outMask = memory.alloc(4 * chunk), outNImage = memory.alloc(4 * chunk);
    const extent = memory.alloc(8);
    // Pass 1: each visit's weight, 1 / the mean variance of its pixels that have data and are not BAD or SAT;
    // its coverage; each band's columns that some visit can add to (data, a saturated core, clipped pixels).
    memory.f64(sums, 2 * k).fill(0);
    const bands: (readonly [number, number] | undefined)[] = [];
    for (let y = 0; y < height; y += rows) {
      const h = Math.min(rows, height - y), m = h * width;
      let first = width, last = -1;
      inputs.forEach(([, pv, pm], v) => {
        const px = warps[v]!.read(['VARIANCE', 'MASK'], rowsOf(warps[v]!, y0 + y, h), { variance: memory.f32(pv, m), mask: memory.i32(pm, m) });
        // The visit's columns in this band: outside them its pixels are all NO_DATA.
        memory.i32(extent, 2).set([width, -1]);
        checkStatus('stackableColumns', kernels.stackableColumns(pm, width, h, NO_DATA, SAT, extent));
        const [from, to] = memory.i32(extent, 2) as unknown as [number, number];
        if (from > to) return;
        checkStatus('accumulateGoodVariance', kernels.accumulateGoodVariance(pv, pm, width, h, from, to, NO_DATA | BAD | SAT, sums + 16 * v));
        coverageParts[v]!.push(spansWithout(px.mask!, NO_DATA, width, 0, y, from, to));
        first = Math.min(first, from);
        last = Math.max(last, to);
      });
      for (const spans of clipped) {
        const c = spanColumns(spans, y, h);
        if (c) { first = Math.min(first, c[0]); last = Math.max(last, c[1]); }
      }
      bands.push(first <= last ? [first, last] : undefined);
    }
    const totals = memory.f64(sums, 2 * k);
    weights = warps.map((_, v) => (totals[2 * v + 1]! > 0 ? totals[2 * v + 1]! / totals[2 * v]! : 0));
    // Pass 2: the weighted mean over each band's columns; the rest has no visit: NaN, NO_DATA, nImage 0.
    new Uint32Array(memory.u8(table, 16 * k).buffer, table, 4 * k).set(inputs.flat());
    memory.f64(weightsPtr, k).set(weights);
    memory.i32(bits, 9).set([NO_DATA, BAD, SAT, EDGE, CLIPPED, REJECTED, SENSOR_EDGE, INEXACT_PSF, notCarried]);
    bands.forEach((band, b) => {
      const y = b * rows, h = Math.min(rows, height - y);
      const [first, last] = band ?? [width, width - 1];
      for (let r = y; r < y + h; r++) {
        image.fill(NaN, r * width, r * width + first); image.fill(NaN, r * width + last + 1, (r + 1) * width);
        variance.fill(NaN, r * width, r * width + first); variance.fill(NaN, r * width + last + 1, (r + 1) * width);
        mask.fill(NO_DATA, r * width, r * width + first); mask.fill(NO_DATA, r * width + last + 1, (r + 1) * width);
      }
      if (!band) return;
      const w = last - first + 1, m = h * w;
      const region = { x0: warps[0]!.x0 + first, y0: y0 + y, width: w, height: h };
      inputs.forEach(([pi, pv, pm, pc], v) => {
        warps[v]!.read(['IMAGE', 'VARIANCE', 'MASK'], region, { image: memory.f32(pi, m), variance: memory.f32(pv, m), mask: memory.i32(pm, m) });
        const out = memory.u8(pc, m).fill(0);
        if (options.leftOut?.[v]) fillSpanRows(options.leftOut[v]!, w, y, h, out, first, 2);
        fillSpanRows(clipped[v]!, w, y, h, out, first);
      });
      checkStatus('stackWarpPixels', kernels.stackWarpPixels(table, weightsPtr, k, m, bits, outImage, outVariance, outMask, outNImage));
      const outI = memory.f32(outImage, m), outV = memory.f32(outVariance, m), outM = memory.i32(outMask, m), outN = memory.i32(outNImage, m);
      for (let r = 0; r < h; r++) {
        const at = (y + r) * width + first;
        image.set(outI.subarray(r * w, (r + 1) * w), at);
        variance.set(outV.subarray(r * w, (r + 1) * w), at);
        mask.set(outM.subarray(r * w, (r + 1) * w), at);
        nImage.set(outN.subarray(r * w, (r + 1) * w), at);
      }
    });
  });
  return { width, height, image, variance, mask, nImage, weights, coverage: coverageParts.map(concatSpans) };
}
