/**
 * PSF star selection by size clustering: LSST's ObjectSizeStarSelectorTask
 * (meas_algorithms python/lsst/meas/algorithms/objectSizeStarSelector.py), the default star selector of
 * MeasurePsfTask. Stars are the cluster of the smallest objects in the size distribution:
 *  1. candidates: finite flux above fluxMin (and below fluxMax when it is > 0), no bad flag, finite width
 *     in [widthMin, widthMax], where width = sqrt((xx + yy) / 2) of the source's adaptive moments (px);
 *  2. k-centres on width with 4 clusters, medians as centres, seeded at the 10th-percentile width w0
 *     (sorted(width)[n // 10]) and spaced by 2 widthStdAllowed w0 (`_kcenters`), iterated until the
 *     assignment stops changing;
 *  3. cluster 0 improved by clipping (`_improveCluster`, up to 10 passes): centre = median of its members,
 *     sd = min(standard deviation, 0.741 x interquartile range), members with |width - centre| >=
 *     nSigmaClip x sd leave the cluster; stop when membership no longer changes or sd < widthStdAllowed x
 *     the members' median;
 *  4. the members of cluster 0 are the stars.
 * Defaults (LSST): fluxMin 12500 (HSC's obs_subaru overrides 4000), fluxMax 0 (off), widthMin 0,
 * widthMax 10 px, widthStdAllowed 0.15, nSigmaClip 2. LSST's badFlags (edge, interpolatedCenter,
 * saturatedCenter, crCenter, bad, interpolated) are the caller's: a source with `bad` set is never a
 * candidate. LSST also maps each source's moments to tangent-plane pixels through the camera's
 * distortion before measuring the width; that is not done here (a detector's own pixels are used).
 * Units: fluxes in the image's units, widths in pixels.
 */
import { median } from '../math/median.js';

export interface ObjectSizeConfig {
  fluxMin: number;
  /** Ignored when 0. */
  fluxMax: number;
  widthMin: number;
  widthMax: number;
  widthStdAllowed: number;
  nSigmaClip: number;
}

export const DEFAULT_OBJECT_SIZE_CONFIG: Readonly<ObjectSizeConfig> = Object.freeze({
  fluxMin: 12500,
  fluxMax: 0,
  widthMin: 0,
  widthMax: 10,
  widthStdAllowed: 0.15,
  nSigmaClip: 2,
});

/** What the selector needs of a source: its flux and adaptive second moments (px^2). */
export interface SizeSelectorSource {
  flux: number;
  xx: number;
  yy: number;
  /** LSST's badFlags: any of them set excludes the source. */
  bad?: boolean;
}

export interface StarSelection {
  /** Per source: a member of the stellar cluster. */
  selected: boolean[];
  /** Per source: sqrt((xx + yy) / 2), px (NaN where the moments are not finite). */
  width: Float64Array;
  /** Per source: passed the flux, width and flag cuts (entered the clustering). */
  considered: boolean[];
  /** Final cluster centres (cluster 0's is the stellar width); NaN for an empty cluster. */
  centers: number[];
}

export class StarSelectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StarSelectionError';
  }
}

/** Index of the nearest centre for each value; the first centre wins ties (`_assignClusters`). */
function assignClusters(values: Float64Array, centers: number[]): Int32Array {
  const id = new Int32Array(values.length);
  for (let k = 0; k < values.length; k++) {
    let best = Infinity;
    for (let i = 0; i < centers.length; i++) {
      const d = Math.abs(values[k]! - centers[i]!);
      // NaN distances (an emptied cluster) never win, as numpy's `dist < minDist` is false for NaN.
      if (i === 0 || d < best) { best = d; id[k] = i; }
    }
  }
  return id;
}

/** LSST's `_kcenters` with medians: returns the centres and the assignment. */
export function kCenters(values: Float64Array, nCluster: number, widthStdAllowed: number): { centers: number[]; clusterId: Int32Array } {
  const sorted = Float64Array.from(values).sort();
  const mean0 = sorted[Math.floor(sorted.length / 10)]!;
  const delta = mean0 * widthStdAllowed * 2;
  const centers = Array.from({ length: nCluster }, (_, i) => mean0 + delta * i);
  let clusterId: Int32Array = new Int32Array(values.length).fill(-1);
  // Each pass moves every centre to its members' median; k-medians on a line converges in few passes,
  // but the cap guards against a two-state cycle.
  for (let pass = 0; pass < 1000; pass++) {
    const next = assignClusters(values, centers);
    let same = true;
    for (let k = 0; k < next.length; k++) if (next[k] !== clusterId[k]) { same = false; break; }
    clusterId = next;
    if (same) break;
    for (let i = 0; i < nCluster; i++) {
      const members: number[] = [];
      for (let k = 0; k < values.length; k++) if (clusterId[k] === i) members.push(values[k]!);
      centers[i] = members.length ? median(members) : NaN;
    }
  }
  return { centers, clusterId };
}

/** LSST's `_improveCluster` for cluster `clusterNum` (modifies clusterId and centers in place). */
export function improveCluster(values: Float64Array, centers: number[], clusterId: Int32Array, nSigma: number, widthStdAllowed: number, clusterNum = 0, nIteration = 10): void {
  let nMember = 0;
  for (const id of clusterId) if (id === clusterNum) nMember++;
  if (nMember < 5) return;
  for (let iter = 0; iter < nIteration; iter++) {
    const old = nMember;
    const members: number[] = [];
    for (let k = 0; k < values.length; k++) if (clusterId[k] === clusterNum) members.push(values[k]!);
    centers[clusterNum] = median(members);
    let mean = 0;
    for (const v of members) mean += v;
    mean /= members.length;
    let v2 = 0;
    for (const v of members) v2 += (v - mean) ** 2;
    const stdev = Math.sqrt(v2 / members.length); // numpy.std: population
    const s = members.slice().sort((a, b) => a - b);
    const stdevIqr = 0.741 * (s[Math.floor(0.75 * nMember)]! - s[Math.floor(0.25 * nMember)]!);
    const med = s[Math.floor(0.5 * nMember)]!;
    const sd = stdev < stdevIqr ? stdev : stdevIqr;
    const c = centers[clusterNum]!;
    for (let k = 0; k < values.length; k++) {
      if (clusterId[k] !== clusterNum) continue;
      if (!(Math.abs(values[k]! - c) < nSigma * sd)) clusterId[k] = -1;
    }
    nMember = 0;
    for (const id of clusterId) if (id === clusterNum) nMember++;
    if (nMember === old || sd < widthStdAllowed * med) break;
  }
}

/** Selects PSF stars among `sources` (see the module comment). Throws StarSelectionError when no source passes the cuts. */
export function selectStarsBySize(sources: readonly SizeSelectorSource[], overrides: Partial<ObjectSizeConfig> = {}): StarSelection {
  const config: ObjectSizeConfig = { ...DEFAULT_OBJECT_SIZE_CONFIG, ...overrides };
  if (config.widthMin > config.widthMax) throw new RangeError(`star selector: widthMin ${config.widthMin} > widthMax ${config.widthMax}`);
  for (const [k, v] of Object.entries(config)) if (!(v >= 0)) throw new RangeError(`star selector: ${k} = ${String(v)} must be >= 0`);
  const n = sources.length;
  const width = new Float64Array(n);
  const considered: boolean[] = new Array<boolean>(n).fill(false);
  const index: number[] = [];
  for (let k = 0; k < n; k++) {
    const s = sources[k]!;
    const w = Math.sqrt(0.5 * (s.xx + s.yy));
    width[k] = Number.isFinite(w) ? w : NaN;
    const ok = !s.bad && Number.isFinite(s.flux) && s.flux >= config.fluxMin && Number.isFinite(w)
      && w >= config.widthMin && w <= config.widthMax && !(config.fluxMax > 0 && s.flux > config.fluxMax);
    if (ok) { considered[k] = true; index.push(k); }
  }
  if (index.length === 0) throw new StarSelectionError(`star selector: none of ${n} sources passed the flux (>= ${config.fluxMin}), width (${config.widthMin}..${config.widthMax} px) and flag cuts`);
  const values = Float64Array.from(index, (k) => width[k]!);
  const { centers, clusterId } = kCenters(values, 4, config.widthStdAllowed);
  improveCluster(values, centers, clusterId, config.nSigmaClip, config.widthStdAllowed);
  const selected: boolean[] = new Array<boolean>(n).fill(false);
  index.forEach((k, i) => { if (clusterId[i] === 0) selected[k] = true; });
  return { selected, width, considered, centers };
}
