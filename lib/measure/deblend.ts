/**
 * Deblending and measurement of every source (LSST meas_deblender's SourceDeblendTask, the SDSS
 * deblender, reduced to its symmetric templates, and meas_base's NoiseReplacer):
 * - peaks are culled first (unless cullPeaks is off): a fainter peak is kept only if it stands out from the saddle on the straight
 *   line to every brighter kept peak by minPeakProminence (5) sigma of the 3x3-mean image's noise (the
 *   role of the SDSS deblender's and SExtractor's contrast tests: noise bumps and structure inside one
 *   galaxy are not separate sources);
 * - a footprint with one peak is one source; with several, each peak gets a symmetric template
 *   T_k(x) = max(0, min(I(x), I(2 p_k - x))) over the footprint (zero where the mirror pixel is outside
 *   it), and the footprint's flux is shared in proportion, child_k(x) = I(x) T_k(x) / sum_j T_j(x) (the
 *   pixel goes to the nearest peak where no template covers it); LSST's defaults: footprints wider or
 *   taller than maxFootprintSize (2000 px) or with more than maxNumberOfPeaks (200) are not deblended;
 * - every source is measured alone (lib/measure/measurement.ts, in one pass over a copy of the image): the
 *   pixels of all footprints are replaced (by 0 here, the background-subtracted sky's mean; LSST draws
 *   noise) and the source's own pixels (its heavy footprint: the parent's image, or the child's share)
 *   are put back while it is measured; the input image is not modified;
 * - rows: each parent (its own measurement, deblend_nChild = number of children) and its children
 *   (parent = the parent's id); detect_isPrimary marks unblended parents and children, the rows an
 *   analysis uses, as LSST's.
 */
import type { Tessera } from '../wasm/loader.js';
import type { MaskedImage } from './background.js';
import { footprintArea, footprintBBox, type Footprint } from './footprint.js';
import { measureSources, type ForcedSource, type MeasurementConfig } from './measurement.js';
import type { PsfLike } from './psf.js';
import type { SourceCatalog } from './sourceCatalog.js';

export interface DeblendConfig {
  maxFootprintSize: number;
  maxNumberOfPeaks: number;
  /** Least rise of a fainter peak above its saddle with a brighter one, in sigma of the 3x3-mean noise. */
  minPeakProminence: number;
  /** Cull the peaks by prominence (false: every given peak gets a child, as when peaks were merged across bands). */
  cullPeaks: boolean;
}

export const DEFAULT_DEBLEND_CONFIG: Readonly<DeblendConfig> = Object.freeze({ maxFootprintSize: 2000, maxNumberOfPeaks: 200, minPeakProminence: 5, cullPeaks: true });

/** The 3x3 mean of the image at (x, y) and its noise (from the variance plane). */
function boxMean(image: MaskedImage, x: number, y: number): { value: number; sigma: number } {
  let s = 0, v = 0, n = 0;
  for (let j = Math.max(0, y - 1); j <= Math.min(image.height - 1, y + 1); j++) {
    for (let i = Math.max(0, x - 1); i <= Math.min(image.width - 1, x + 1); i++) {
      const k = j * image.width + i;
      const value = image.image[k]!, variance = image.variance[k]!;
      if (!Number.isFinite(value) || !Number.isFinite(variance)) continue;
      s += value;
      v += variance;
      n++;
    }
  }
  return n ? { value: s / n, sigma: Math.sqrt(v) / n } : { value: NaN, sigma: NaN };
}

/**
 * The measured noise of the 3x3-mean image over what the variance plane predicts for it: the robust
 * scatter (interquartile range / 1.349) of box mean / predicted sigma at every third pixel in x and y
 * (more sparsely beyond 4.5 Mpix, so that about 500,000 boxes at most are sorted: a 4600 x 4600 patch
 * took 0.8 s at every third) whose box holds none of `exclude` (DETECTED, NO_DATA, ...). About 1 for
 * independent pixels; a coadd's pixels are correlated by warping and PSF matching, so its box means
 * scatter more than their variances say and noise bumps would pass for prominent peaks. NaN with fewer
 * than 100 usable boxes.
 */
export function boxMeanNoiseScale(image: MaskedImage, exclude: number): number {
  const { width, height, mask } = image;
  const step = Math.max(3, Math.round(Math.sqrt((width * height) / 500_000)));
  const z: number[] = [];
  for (let y = 1; y < height - 1; y += step) {
    for (let x = 1; x < width - 1; x += step) {
      let clean = true;
      for (let j = y - 1; j <= y + 1 && clean; j++) for (let i = x - 1; i <= x + 1; i++) if (mask[j * width + i]! & exclude) { clean = false; break; }
      if (!clean) continue;
      const b = boxMean(image, x, y);
      if (b.sigma > 0 && Number.isFinite(b.value)) z.push(b.value / b.sigma);
    }
  }
  if (z.length < 100) return NaN;
  z.sort((a, b) => a - b);
  const q = (f: number): number => z[Math.round(f * (z.length - 1))]!;
  return (q(0.75) - q(0.25)) / 1.349;
}

/** The peaks of a footprint worth a child (see the module comment), brightest first. */
export function significantPeaks(image: MaskedImage, footprint: Footprint, minProminence: number): Footprint['peaks'] {
  const kept: Footprint['peaks'][number][] = [];
  for (const peak of footprint.peaks) {
    const top = boxMean(image, peak.x, peak.y);
    const standsOut = kept.every((brighter) => {
      const steps = Math.max(Math.abs(brighter.x - peak.x), Math.abs(brighter.y - peak.y));
      let saddle = Infinity;
      for (let t = 1; t < steps; t++) {
        const x = Math.round(peak.x + ((brighter.x - peak.x) * t) / steps), y = Math.round(peak.y + ((brighter.y - peak.y) * t) / steps);
        saddle = Math.min(saddle, boxMean(image, x, y).value);
      }
      return steps > 1 && top.value - saddle >= minProminence * top.sigma;
    });
    if (kept.length === 0 || standsOut) kept.push(peak);
  }
  return kept;
}

interface Source {
  footprint: Footprint;
  /** Values of the source's own pixels, in span order. */
  values: Float32Array;
  parent: number;
  nChild: number;
  primary: boolean;
}

/** The symmetric-template shares of a multi-peak footprint, one value array per peak (span order). */
export function symmetricTemplateShares(image: MaskedImage, footprint: Footprint): Float32Array[] {
  const { width } = image;
  const n = footprintArea(footprint);
  // The footprint's pixels as a map over its bounding box.
  const box = footprintBBox(footprint);
  const peaks = footprint.peaks;
  const templates = peaks.map(() => new Float32Array(n));
  const sum = new Float32Array(n);
  if (box) {
    const boxWidth = box.x1 - box.x0 + 1;
    const inside = new Uint8Array(boxWidth * (box.y1 - box.y0 + 1));
    for (const s of footprint.spans) inside.fill(1, (s.y - box.y0) * boxWidth + s.x0 - box.x0, (s.y - box.y0) * boxWidth + s.x1 - box.x0 + 1);
    peaks.forEach((p, k) => {
      const template = templates[k]!;
      let i = 0;
      for (const s of footprint.spans) {
        const my = 2 * p.y - s.y;
        if (my < box.y0 || my > box.y1) {
          i += s.x1 - s.x0 + 1;
          continue;
        }
        for (let x = s.x0; x <= s.x1; x++, i++) {
          const mx = 2 * p.x - x;
          if (mx < box.x0 || mx > box.x1 || !inside[(my - box.y0) * boxWidth + mx - box.x0]) continue;
          const t = Math.max(0, Math.min(image.image[s.y * width + x]!, image.image[my * width + mx]!));
          if (!(t > 0)) continue;
          template[i] = t;
          sum[i] = sum[i]! + t;
        }
      }
    });
  }
  // Each template becomes its share in place (where no template covers a pixel, all are 0 there and
  // the nearest peak's takes the pixel).
  let i = 0;
  for (const s of footprint.spans) {
    for (let x = s.x0; x <= s.x1; x++, i++) {
      const v = image.image[s.y * width + x]!;
      if (sum[i]! > 0) {
        for (let k = 0; k < peaks.length; k++) templates[k]![i] = (v * templates[k]![i]!) / sum[i]!;
      } else {
        let best = 0, bestD = Infinity;
        peaks.forEach((p, k) => { const d = (p.x - x) ** 2 + (p.y - s.y) ** 2; if (d < bestD) { bestD = d; best = k; } });
        templates[best]![i] = v;
      }
    }
  }
  return templates;
}

function footprintValues(image: MaskedImage, footprint: Footprint): Float32Array {
  const out = new Float32Array(footprintArea(footprint));
  let i = 0;
  for (const s of footprint.spans) {
    const from = s.y * image.width + s.x0;
    out.set(image.image.subarray(from, from + s.x1 - s.x0 + 1), i);
    i += s.x1 - s.x0 + 1;
  }
  return out;
}

/**
 * Deblends the footprints and measures every parent and child (see the module comment); with `forced`
 * (one per row, in the rows' order: parents, each followed by its children), each at its reference
 * position and shape (lib/measure/measurement.ts forced measurement).
 */
export function deblendAndMeasure(tessera: Tessera, image: MaskedImage, footprints: readonly Footprint[], psf: PsfLike,
  measurement: Partial<MeasurementConfig> = {}, overrides: Partial<DeblendConfig> = {}, forced?: readonly ForcedSource[]): SourceCatalog {
  const config = { ...DEFAULT_DEBLEND_CONFIG, ...overrides };
  const sources: Source[] = [];
  for (const detected of footprints) {
    const parentIndex = sources.length;
    const box = footprintBBox(detected);
    const tooBig = !box || box.x1 - box.x0 + 1 > config.maxFootprintSize || box.y1 - box.y0 + 1 > config.maxFootprintSize || detected.peaks.length > config.maxNumberOfPeaks;
    const fp: Footprint = tooBig || !config.cullPeaks ? detected : { spans: detected.spans, peaks: significantPeaks(image, detected, config.minPeakProminence) };
    const blended = fp.peaks.length > 1 && !tooBig;
    sources.push({ footprint: fp, values: footprintValues(image, fp), parent: 0, nChild: blended ? fp.peaks.length : 0, primary: !blended });
    if (!blended) continue;
    symmetricTemplateShares(image, fp).forEach((values, k) => {
      sources.push({ footprint: { spans: fp.spans, peaks: [fp.peaks[k]!] }, values, parent: parentIndex + 1, nChild: 0, primary: true });
    });
  }

  // Every source measured alone, with its heavy footprint put back into the replaced image.
  const catalog = measureSources(tessera, image, sources.map((s) => s.footprint), psf, measurement, forced, sources.map((s) => s.values));
  return {
    length: catalog.length,
    columns: {
      ...catalog.columns,
      parent: Int32Array.from(sources, (s) => s.parent),
      deblend_nChild: Int32Array.from(sources, (s) => s.nChild),
      detect_isPrimary: sources.map((s) => s.primary),
    },
  };
}
