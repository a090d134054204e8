/**
 * Merging one patch's detections across bands (LSST pipe_tasks MergeDetectionsTask with afw's
 * FootprintMergeList):
 * - footprints of any band that share a pixel become one merged footprint (the union of their pixels,
 *   transitively);
 * - peaks are taken band by band in priority order (LSST's HSC priorityList i, r, z, y, g, then the rest
 *   alphabetically), each band's brightest first: a peak within maxSamePeak (0.3") of a peak already kept
 *   is the same source, and that peak is flagged as detected in this band too; one farther than
 *   minNewPeak (1") from every kept peak is a new source; one in between is dropped (too close to call);
 * - merged footprints are in raster order of their first pixel; peaks in the order they were kept.
 * Every input covers the same box. Units: pixels of that box (the caller converts the arcsec settings).
 * Sky objects (LSST's pseudo-band "sky") are added by the task (lib/tasks/mergeCoaddDetections.ts). Not
 * done: LSST's rank-based peak culling (peaks were culled by prominence at detection,
 * lib/tasks/detectCoaddSources.ts).
 */
import { normalizeSpans, type Footprint, type Peak } from '../measure/footprint.js';
import type { FootprintSet } from '../measure/footprintSet.js';

export interface MergeDetectionsConfig {
  priorityList: readonly string[];
  /** Pixels. */
  maxSamePeak: number;
  minNewPeak: number;
}

export interface MergedDetections {
  footprints: Footprint[];
  /** merge_peak_<band>: per peak (footprint order, then peak order), whether that band detected it. */
  peakFlags: Record<string, boolean[]>;
  bands: string[];
}

/** The bands in merge order: those of the priority list first, in its order, then the rest alphabetically. */
export function mergeOrder(bands: readonly string[], priorityList: readonly string[]): string[] {
  const rank = (b: string): number => {
    const i = priorityList.indexOf(b);
    return i < 0 ? priorityList.length : i;
  };
  return [...new Set(bands)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

export function mergeDetections(inputs: readonly { band: string; set: FootprintSet }[], config: MergeDetectionsConfig): MergedDetections {
  const first = inputs[0];
  if (!first) return { footprints: [], peakFlags: {}, bands: [] };
  const { width, height } = first.set;
  const bands = mergeOrder(inputs.map((i) => i.band), config.priorityList);
  const ordered = bands.map((band) => inputs.find((i) => i.band === band)!);
  // Union-find over every input footprint; a pixel's last owner links footprints that share it.
  const all = ordered.flatMap((input, b) => input.set.footprints.map((fp) => ({ fp, band: b })));
  const parent = Int32Array.from(all, (_, k) => k);
  const find = (k: number): number => {
    while (parent[k] !== k) k = parent[k] = parent[parent[k]!]!;
    return k;
  };
  const owner = new Int32Array(width * height).fill(-1);
  all.forEach(({ fp }, k) => {
    for (const s of fp.spans) {
      if (s.y < 0 || s.y >= height) continue;
      for (let x = Math.max(0, s.x0), i = s.y * width + x; x <= Math.min(width - 1, s.x1); x++, i++) {
        const o = owner[i]!;
        if (o >= 0) {
          const a = find(o), b = find(k);
          if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
        }
        owner[i] = k;
      }
    }
  });
  const groups = new Map<number, number[]>();
  all.forEach((_, k) => {
    const root = find(k);
    const g = groups.get(root);
    if (g) g.push(k); else groups.set(root, [k]);
  });

  const merged: { fp: Footprint; detectedIn: boolean[][] }[] = [];
  for (const members of groups.values()) {
    const spans = normalizeSpans(members.flatMap((k) => all[k]!.fp.spans));
    const peaks: Peak[] = [], detectedIn: boolean[][] = [];
    for (let b = 0; b < bands.length; b++) {
      const candidates = members.filter((k) => all[k]!.band === b).flatMap((k) => all[k]!.fp.peaks).sort((p, q) => Math.abs(q.value) - Math.abs(p.value));
      for (const p of candidates) {
        let nearest = -1, distance = Infinity;
        peaks.forEach((q, j) => {
          const d = Math.hypot(p.fx - q.fx, p.fy - q.fy);
          if (d < distance) { distance = d; nearest = j; }
        });
        if (nearest >= 0 && distance <= config.maxSamePeak) detectedIn[nearest]![b] = true;
        else if (distance >= config.minNewPeak) {
          peaks.push(p);
          detectedIn.push(bands.map((_, c) => c === b));
        }
      }
    }
    merged.push({ fp: { spans, peaks }, detectedIn });
  }
  merged.sort((a, b) => (a.fp.spans[0]!.y - b.fp.spans[0]!.y) || (a.fp.spans[0]!.x0 - b.fp.spans[0]!.x0));
  const peakFlags: Record<string, boolean[]> = Object.fromEntries(bands.map((band, b) => [`merge_peak_${band}`, merged.flatMap((m) => m.detectedIn.map((d) => d[b] === true))]));
  return { footprints: merged.map((m) => m.fp), peakFlags, bands };
}
