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
 * - every source is measured alone (lib/measure/measurement.ts): the pixels of all footprints are
 *   replaced (by 0 here, the background-subtracted sky's mean; LSST draws noise; in the image itself,
 *   restored at the end) and the source's own pixels (its heavy footprint: the parent's image, or the
 *   child's share) are put back, on a cut-out around its footprint wide enough for the largest aperture;
 * - rows: each parent (its own measurement, deblend_nChild = number of children) and its children
 *   (parent = the parent's id); detect_isPrimary marks unblended parents and children, the rows an
 *   analysis uses, as LSST's.
 */
import type { Tessera } from '../wasm/loader.js';
import type { MaskedImage } from './background.js';
import { footprintBBox, type Footprint } from './footprint.js';
import { measureSources, DEFAULT_MEASUREMENT_CONFIG, type ForcedSource, type MeasurementConfig } from './measurement.js';
import type { PsfLike } from './psf.js';
import type { Column, SourceCatalog } from './sourceCatalog.js';

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
  const pixels: number[] = [];
  for (const s of footprint.spans) for (let x = s.x0; x <= s.x1; x++) pixels.push(s.y * width + x);
  const inside = new Set(pixels);
  const n = pixels.length;
  const peaks = footprint.peaks;
  const templates = peaks.map(() => new Float32Array(n));
  const sum = new Float32Array(n);
  peaks.forEach((p, k) => {
    for (let i = 0; i < n; i++) {
      const q = pixels[i]!;
      const x = q % width, y = (q - x) / width;
      const mx = 2 * p.x - x, my = 2 * p.y - y;
      const mirror = my * width + mx;
      if (mx < 0 || my < 0 || mx >= width || my >= image.height || !inside.has(mirror)) continue;
      const t = Math.max(0, Math.min(image.image[q]!, image.image[mirror]!));
      if (!(t > 0)) continue;
      templates[k]![i] = t;
      sum[i] = sum[i]! + t;
    }
  });
  const shares = peaks.map(() => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    const q = pixels[i]!;
    const v = image.image[q]!;
    if (sum[i]! > 0) {
      for (let k = 0; k < peaks.length; k++) shares[k]![i] = (v * templates[k]![i]!) / sum[i]!;
    } else {
      const x = q % width, y = (q - x) / width;
      let best = 0, bestD = Infinity;
      peaks.forEach((p, k) => { const d = (p.x - x) ** 2 + (p.y - y) ** 2; if (d < bestD) { bestD = d; best = k; } });
      shares[best]![i] = v;
    }
  }
  return shares;
}

function footprintValues(image: MaskedImage, footprint: Footprint): Float32Array {
  const out: number[] = [];
  for (const s of footprint.spans) for (let x = s.x0; x <= s.x1; x++) out.push(image.image[s.y * image.width + x]!);
  return Float32Array.from(out);
}

/**
 * Deblends the footprints and measures every parent and child (see the module comment); with `forced`
 * (one per row, in the rows' order: parents, each followed by its children), each at its reference
 * position and shape (lib/measure/measurement.ts forced measurement).
 */
export function deblendAndMeasure(tessera: Tessera, image: MaskedImage, footprints: readonly Footprint[], psf: PsfLike,
  measurement: Partial<MeasurementConfig> = {}, overrides: Partial<DeblendConfig> = {}, forced?: readonly ForcedSource[]): SourceCatalog {
  const config = { ...DEFAULT_DEBLEND_CONFIG, ...overrides };
  const { width, height } = image;
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

  // Every footprint's pixels replaced by 0 (the subtracted sky), in the image itself; the parents' values
  // (the footprints' own pixels, disjoint footprints) put them back afterwards, whatever happens.
  const work = image.image;
  const radii = measurement.radii ?? DEFAULT_MEASUREMENT_CONFIG.radii;
  const margin = Math.ceil(Math.max(...radii)) + 2;
  const boxes = sources.map((src) => {
    const box = footprintBBox(src.footprint)!;
    const x0 = Math.max(0, box.x0 - margin), y0 = Math.max(0, box.y0 - margin);
    return { x0, y0, cw: Math.min(width - 1, box.x1 + margin) - x0 + 1, ch: Math.min(height - 1, box.y1 + margin) - y0 + 1 };
  });
  // One set of cut-out planes, as large as the largest, serves every source (no per-source allocation).
  const largest = boxes.reduce((m, b) => Math.max(m, b.cw * b.ch), 0);
  const planes = { image: new Float32Array(largest), variance: new Float32Array(largest), mask: new Int32Array(largest) };
  const rows: SourceCatalog[] = [];
  try {
    for (const fp of footprints) for (const s of fp.spans) work.fill(0, s.y * width + s.x0, s.y * width + s.x1 + 1);
    sources.forEach((src, k) => {
      const { x0, y0, cw, ch } = boxes[k]!;
      const cut = { image: planes.image.subarray(0, cw * ch), variance: planes.variance.subarray(0, cw * ch), mask: planes.mask.subarray(0, cw * ch) };
      for (let y = 0; y < ch; y++) {
        const from = (y + y0) * width + x0;
        cut.image.set(work.subarray(from, from + cw), y * cw);
        cut.variance.set(image.variance.subarray(from, from + cw), y * cw);
        cut.mask.set(image.mask.subarray(from, from + cw), y * cw);
      }
      let i = 0;
      for (const s of src.footprint.spans) for (let x = s.x0; x <= s.x1; x++) cut.image[(s.y - y0) * cw + (x - x0)] = src.values[i++]!;
      const local: Footprint = {
        spans: src.footprint.spans.map((s) => ({ y: s.y - y0, x0: s.x0 - x0, x1: s.x1 - x0 })),
        peaks: src.footprint.peaks.map((p) => ({ ...p, x: p.x - x0, y: p.y - y0, fx: p.fx - x0, fy: p.fy - y0 })),
      };
      rows.push(measureSources(tessera, { ...cut, width: cw, height: ch, ...(image.maskPlanes ? { maskPlanes: image.maskPlanes } : {}) }, [local], psf, measurement,
        { x0, y0, fullWidth: width, fullHeight: height }, forced ? [forced[k]] : undefined));
    });
  } finally {
    for (const src of sources) {
      if (src.parent !== 0) continue;
      let i = 0;
      for (const s of src.footprint.spans) for (let x = s.x0; x <= s.x1; x++) work[s.y * width + x] = src.values[i++]!;
    }
  }

  // Concatenate the one-row catalogues; ids in order, parents and children linked.
  const n = rows.length;
  if (n === 0) {
    const empty = measureSources(tessera, image, [], psf, measurement);
    return { length: 0, columns: { ...empty.columns, deblend_nChild: new Int32Array(0), detect_isPrimary: [] } };
  }
  const columns: Record<string, Column> = {};
  for (const name of Object.keys(rows[0]?.columns ?? {})) {
    const first = rows[0]!.columns[name]!;
    if (Array.isArray(first)) columns[name] = rows.map((r) => (r.columns[name] as boolean[])[0]!);
    else if (first instanceof Int32Array) columns[name] = Int32Array.from(rows, (r) => (r.columns[name] as Int32Array)[0]!);
    else columns[name] = Float64Array.from(rows, (r) => (r.columns[name] as Float64Array)[0]!);
  }
  columns.id = Int32Array.from({ length: n }, (_, k) => k + 1);
  columns.parent = Int32Array.from(sources, (s) => s.parent);
  columns.deblend_nChild = Int32Array.from(sources, (s) => s.nChild);
  columns.detect_isPrimary = sources.map((s) => s.primary);
  return { length: n, columns };
}
