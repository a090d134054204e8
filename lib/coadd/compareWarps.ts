/**
 * Artifact rejection by comparing warps: LSST pipe_tasks CompareWarpAssembleCoaddTask's findArtifacts,
 * prefilterArtifacts and filterArtifacts (pipe_tasks 26.0, reference/lsst-drp-metrics-viewers.md §1.3):
 *  1. a static-sky template: the per-pixel clipped mean (2.5 sigma, 3 iterations, as LSST's
 *     assembleStaticSkyModel) of the visits' PSF-matched warps, NO_DATA excluded (kernel
 *     combineClippedMean), with one difference, for a measured reason: the clipping width is 2.5 x the
 *     pixel's noise from the warps' variance planes, not afw MEANCLIP's sample widths. With 3 visits the
 *     sample width of (0, 0, T) is ~0.9 T, so a bright trail survives the first pass about half the
 *     time; then a third of it stays in the template, the other visits' differences show it negative,
 *     every visit has a footprint there and the epoch filter keeps it (tiny preset, 3 visits per band:
 *     trail pixels above 3 sigma clipped 52.4 % with sample widths, 97.2 % with noise widths; demo
 *     preset, 5 visits per band: 98.8 % and 99.0 %, and cosmic-ray pixels clipped 153 and 2);
 *  2. each visit's difference from the template, its footprints at 5 sigma of the difference's per-pixel
 *     noise (the warp's and the template's variances), both polarities, minPixels 4, grown by
 *     0.4 PSF sigma (nSigmaToGrow; the model PSF's sigma);
 *  3. prefilter: a footprint with at most 5 % good pixels (not NO_DATA, BAD, SAT or SUSPECT) is dropped;
 *  4. the epoch count (how many visits' footprints cover each pixel) and nImage (visits with data);
 *  5. a footprint is an artifact when more than 0.5 (spatialThreshold) of its pixels have
 *     0 < count <= effMax, effMax = floor(min(0.4 N, 2 + 0.03 N)) with N the mean nImage over it
 *     (maxFractionEpochsLow 0.4, maxNumEpochs 2, maxFractionEpochsHigh 0.03): seen in few epochs;
 *  6. unless it lies entirely inside a footprint detected on the template (5 sigma, grown by 2.4 PSF
 *     sigma: doPreserveContainedBySource), as a cosmic ray on a bright star's core does.
 * Where fewer than 3 visits have data, effMax is 0 and nothing can be clipped (`comparable` counts the
 * pixels where it can).
 *  7. streaks (doStreaks, HSC's configuration): each visit's difference, in units of its noise, searched
 *     for long straight lines (lib/coadd/streaks.ts); a streak's pixels are clipped from that visit
 *     whatever the epoch count (trails too faint per pixel for step 2 but long);
 *  8. ghosts: a visit's pixels that calibrate masked GHOST (its reference stars' predicted optical
 *     ghosts, lib/measure/ghosts.ts), as `direct` (the direct warps: the PSF-matched ones lose the
 *     mask at the detectors' edges, where the matching kernel leaves no data) carry them, are clipped
 *     from that visit too: on small dithers a ghost hardly
 *     moves between visits, so step 5 takes it for static sky. Where every visit's pixel is a ghost's,
 *     the coadd has no data (NO_DATA), as anywhere every visit is rejected;
 *  9. `unmatched`: a visit's pixels where its direct warp has data but its PSF-matched warp has none (the
 *     matching kernel's reach at the detectors' edges, about 10 px): no artifact can be found there, so
 *     LSST's CompareWarp masks them NO_DATA in the direct warp ("NaNs from the PSF-matched warp therefore
 *     must be masked in the direct warp"), and assembleCoadd leaves them out of that visit. Measured on
 *     the demo before: visit 1009's satellite trail crossed a detector's corner in r patch 4 there (280
 *     pixels), unclipped, +8 nJy per pixel in the coadd. One difference from LSST, which masks them all:
 *     only where 2 or more other visits' PSF-matched warps have data, so that with this visit's there
 *     would have been a comparison (elsewhere no artifact can be found either way, and the pixels stay:
 *     the DECam test case, two exposures per band on 200-px cut-outs, lost so much of its coadds that
 *     their background could not be estimated). A PSF-matched warp with no data at all (PSF matching
 *     not possible: the visit is left out of the template only, issue 6) has none.
 * Memory: the warps are DeferredExposures. The template is made a band of rows at a time (every visit's
 * rows of the band, at most `bandBytes` of them), and the differences one visit at a time (that visit's
 * image and variance read into planes reused for every visit, its mask a band at a time), so the peak
 * holds the template and one warp, whatever the number of visits.
 * Returns, per visit, its clipped pixels (as spans of rows), the footprints and streaks clipped.
 */
import type { Tessera } from '../wasm/loader.js';
import { checkStatus } from '../wasm/kernels.js';
import { rowsOf, type DeferredExposure } from '../fits/deferredExposure.js';
import { significantFootprints } from './differenceFootprints.js';
import { findStreaks, DEFAULT_STREAK_CONFIG, type Streak, type StreakConfig } from './streaks.js';
import { spansOfPixels, type MaskSpans } from './maskSpans.js';

export interface CompareWarpsConfig {
  templateSigmaClip: number;
  templateClipIter: number;
  threshold: number;
  minPixels: number;
  nSigmaToGrow: number;
  prefilterRatio: number;
  maxFractionEpochsLow: number;
  maxNumEpochs: number;
  maxFractionEpochsHigh: number;
  spatialThreshold: number;
  templateThreshold: number;
  templateNSigmaToGrow: number;
  doStreaks: boolean;
  streaks: StreakConfig;
}

export const DEFAULT_COMPARE_WARPS_CONFIG: Readonly<CompareWarpsConfig> = Object.freeze({
  templateSigmaClip: 2.5, templateClipIter: 3, threshold: 5, minPixels: 4, nSigmaToGrow: 0.4, prefilterRatio: 0.05,
  maxFractionEpochsLow: 0.4, maxNumEpochs: 2, maxFractionEpochsHigh: 0.03, spatialThreshold: 0.5, templateThreshold: 5, templateNSigmaToGrow: 2.4,
  doStreaks: true, streaks: DEFAULT_STREAK_CONFIG,
});

/** Wasm memory for one band of every visit's rows while the template is made. */
const BAND_BYTES = 64 << 20;

export interface CompareWarpsResult {
  /** Per visit: the pixels clipped from it (spans in the warp's pixel coordinates). */
  clipped: MaskSpans[];
  /** Per visit: how many artifact footprints were clipped, and how many difference footprints were found. */
  nClipped: number[];
  nCandidates: number[];
  /** Per visit: the streaks found (their pixels are clipped too). */
  streaks: Streak[][];
  /** Per visit: its GHOST pixels (clipped too). */
  ghostPixels: number[];
  /** Pixels where at least 3 visits have data (a comparison is possible). */
  comparable: number;
  /** Per visit: its direct warp's pixels with data where its PSF-matched warp has none (step 9; spans in the warp's pixel coordinates). */
  unmatched: MaskSpans[];
}

/**
 * Finds each visit's artifacts among `psfMatched` warps (one per visit, same box), given the model PSF's
 * sigma (px). `bandBytes`: the wasm memory for a band of the template (tests give less to cross bands).
 * `direct`: per visit, its direct warp, whose GHOST pixels are clipped and whose data beyond the
 * PSF-matched warp's is `unmatched` (default the PSF-matched warps: GHOST from them, nothing unmatched).
 */
export function compareWarps(tessera: Tessera, psfMatched: readonly DeferredExposure[], maskBits: { noData: number; bad: number; sat: number; suspect: number; ghost: number },
  psfSigma: number, config: CompareWarpsConfig = DEFAULT_COMPARE_WARPS_CONFIG, bandBytes = BAND_BYTES, direct: readonly DeferredExposure[] = psfMatched): CompareWarpsResult {
  const nv = psfMatched.length;
  if (nv === 0) throw new RangeError('compareWarps: no warps');
  const { width, height, y0 } = psfMatched[0]!;
  const n = width * height;
  for (const w of [...psfMatched, ...direct]) if (w.width !== width || w.height !== height) throw new RangeError(`compareWarps: warps of ${w.width}x${w.height} and ${width}x${height} px`);
  if (direct.length !== nv) throw new RangeError(`compareWarps: ${direct.length} direct warps for ${nv} PSF-matched ones`);
  const noData = maskBits.noData;

  // 1. The template, a band of rows at a time; and nImage, the visits with data per pixel.
  const template = new Float32Array(n), templateVariance = new Float32Array(n);
  const nImage = new Uint16Array(n);
  /** Per visit: its PSF-matched warp's pixels with data. */
  const matchedPixels = new Array<number>(nv).fill(0);
  const { planes, kernels } = tessera;
  const rows = Math.max(1, Math.min(height, Math.floor(bandBytes / (8 * nv * width + 12 * width))));
  planes.scope(() => {
    const band = rows * width;
    const ptrs = psfMatched.map(() => planes.alloc(4 * band)), vptrs = psfMatched.map(() => planes.alloc(4 * band));
    const table = planes.allocFrom(Int32Array.from(ptrs)), vtable = planes.allocFrom(Int32Array.from(vptrs));
    const scratch = planes.alloc(32 * nv), mean = planes.alloc(4 * band), variance = planes.alloc(4 * band), count = planes.alloc(4 * band);
    for (let y = 0; y < height; y += rows) {
      const h = Math.min(rows, height - y), m = h * width, offset = y * width;
      psfMatched.forEach((w, v) => {
        // NO_DATA pixels as NaN (the clipped mean ignores non-finite values), set in the wasm copy.
        const px = w.read(['IMAGE', 'VARIANCE', 'MASK'], rowsOf(w, y0 + y, h));
        const image = planes.f32(ptrs[v]!, m), mask = px.mask!;
        image.set(px.image!);
        let have = 0;
        for (let i = 0; i < m; i++) {
          if (mask[i]! & noData) image[i] = NaN;
          if (Number.isFinite(image[i]!)) { nImage[offset + i]++; have++; }
        }
        matchedPixels[v]! += have;
        planes.f32(vptrs[v]!, m).set(px.variance!);
      });
      checkStatus('combineClippedMean', kernels.combineClippedMean(table, vtable, nv, m, config.templateSigmaClip, config.templateClipIter, 1, scratch, mean, variance, count));
      template.set(planes.f32(mean, m), offset);
      templateVariance.set(planes.f32(variance, m), offset);
    }
  });
  let comparable = 0;
  for (let i = 0; i < n; i++) if (nImage[i]! >= 3) comparable++;

  // 6 (prepared). Pixels inside sources detected on the template.
  const inTemplateSource = new Uint8Array(n);
  const templateFootprints = significantFootprints(tessera, template, templateVariance, width, height,
    { threshold: config.templateThreshold, minPixels: config.minPixels, growRadius: Math.round(config.templateNSigmaToGrow * psfSigma), polarity: 'positive' });
  for (let i = 0; i < n; i++) if (templateFootprints.labels[i]! > 0) inTemplateSource[i] = 1;

  // 2-3. Each visit's difference footprints, prefiltered, one visit's warp at a time: its image and
  // variance are read into two planes reused for every visit and become the difference and its variance
  // there; its mask, read a band at a time, gives NO_DATA (NaN) and the pixels the prefilter does not
  // count as good.
  const good = maskBits.noData | maskBits.bad | maskBits.sat | maskBits.suspect;
  const candidates: { visit: number; pixels: Int32Array }[] = [];
  const nCandidates = new Array<number>(nv).fill(0);
  const diff = new Float32Array(n), diffVariance = new Float32Array(n), unusable = new Uint8Array(n);
  // The streak finder's significance, then (no longer needed) the footprint labels: one buffer.
  const shared = new ArrayBuffer(4 * n), significance = new Float32Array(shared), labels = new Int32Array(shared);
  const maskRows = Math.max(1, Math.min(height, Math.floor((4 << 20) / width))), maskBand = new Int32Array(maskRows * width), ghostBand = new Int32Array(maskRows * width);
  const streaks: Streak[][] = psfMatched.map(() => []), streakPixels: (Int32Array | undefined)[] = psfMatched.map(() => undefined);
  const ghosts: Int32Array[] = [];
  const unmatched: MaskSpans[] = [];
  psfMatched.forEach((w, v) => {
    w.read(['IMAGE', 'VARIANCE'], undefined, { image: diff, variance: diffVariance });
    const ghost: number[] = [], lost: number[] = [], source = direct[v]!, findLost = source !== w && matchedPixels[v]! > 0;
    for (let y = 0; y < height; y += maskRows) {
      const h = Math.min(maskRows, height - y), mask = w.read(['MASK'], rowsOf(w, y0 + y, h), { mask: maskBand }).mask!;
      const directMask = source === w ? mask : source.read(['MASK'], rowsOf(source, y0 + y, h), { mask: ghostBand }).mask!;
      for (let k = 0, i = y * width; k < h * width; k++, i++) {
        if (mask[k]! & noData) diff[i] = NaN;
        if (directMask[k]! & maskBits.ghost) ghost.push(i);
        unusable[i] = (mask[k]! & good) !== 0 || !Number.isFinite(diff[i]!) ? 1 : 0;
        if (findLost && !Number.isFinite(diff[i]!) && (directMask[k]! & noData) === 0 && nImage[i]! >= 2) lost.push(i);
      }
    }
    ghosts[v] = Int32Array.from(ghost);
    unmatched[v] = spansOfPixels([Int32Array.from(lost)], width);
    for (let i = 0; i < n; i++) {
      diff[i] = diff[i]! - template[i]!;
      diffVariance[i] = diffVariance[i]! + templateVariance[i]!;
    }
    if (config.doStreaks) {
      for (let i = 0; i < n; i++) significance[i] = diff[i]! / Math.sqrt(diffVariance[i]!);
      const found = findStreaks(tessera, significance, width, height, psfSigma, config.streaks);
      streaks[v] = found.streaks;
      if (found.streaks.length) {
        let count = 0;
        for (let i = 0; i < n; i++) if (found.mask[i]) count++;
        const list = new Int32Array(count);
        for (let i = 0, k = 0; i < n; i++) if (found.mask[i]) list[k++] = i;
        streakPixels[v] = list;
      }
    }
    const found = significantFootprints(tessera, diff, diffVariance, width, height,
      { threshold: config.threshold, minPixels: config.minPixels, growRadius: Math.round(config.nSigmaToGrow * psfSigma), polarity: 'both' }, labels);
    if (found.count === 0) return;
    // Each footprint's pixels, grouped by a counting sort of the labels (no per-pixel allocation).
    const start = new Int32Array(found.count + 2);
    for (let i = 0; i < n; i++) if (labels[i]! > 0) start[labels[i]! + 1]++;
    for (let l = 1; l <= found.count + 1; l++) start[l] = start[l]! + start[l - 1]!;
    const order = new Int32Array(start[found.count + 1]!), fill = start.slice(0, found.count + 1);
    for (let i = 0; i < n; i++) if (labels[i]! > 0) order[fill[labels[i]!]!++] = i;
    for (let l = 1; l <= found.count; l++) {
      const pixels = order.subarray(start[l]!, start[l + 1]!);
      let goodPixels = 0;
      for (const i of pixels) if (!unusable[i]) goodPixels++;
      if (goodPixels <= config.prefilterRatio * pixels.length) continue;
      candidates.push({ visit: v, pixels: pixels.slice() });
      nCandidates[v]++;
    }
  });

  // 4. Epoch count.
  const epochs = new Uint16Array(n);
  for (const c of candidates) for (const i of c.pixels) epochs[i]++;

  // 5-6. Temporal and spatial filter, and the template-source rescue.
  const clippedPixels: Int32Array[][] = psfMatched.map((_, v) => [...(streakPixels[v] ? [streakPixels[v]!] : []), ...(ghosts[v]!.length ? [ghosts[v]!] : [])]);
  const nClipped = new Array<number>(nv).fill(0);
  for (const c of candidates) {
    let sumN = 0, inside = true;
    for (const i of c.pixels) { sumN += nImage[i]!; if (!inTemplateSource[i]) inside = false; }
    if (inside) continue;
    const meanN = sumN / c.pixels.length;
    const effMax = Math.floor(Math.min(config.maxFractionEpochsLow * meanN, config.maxNumEpochs + config.maxFractionEpochsHigh * meanN));
    let few = 0;
    for (const i of c.pixels) if (epochs[i]! > 0 && epochs[i]! <= effMax) few++;
    if (few <= config.spatialThreshold * c.pixels.length) continue;
    clippedPixels[c.visit]!.push(c.pixels);
    nClipped[c.visit]++;
  }
  const clipped = clippedPixels.map((lists) => spansOfPixels(lists, width));
  return { clipped, nClipped, nCandidates, streaks, ghostPixels: ghosts.map((g) => g.length), comparable, unmatched };
}
