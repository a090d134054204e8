/**
 * Streaks in a visit's difference from the template: the role of LSST pipe_tasks MaskStreaksTask, which
 * HSC's CompareWarp configuration runs, for satellite trails too faint per pixel for the 5-sigma
 * difference footprints but long and straight (a line of 2 sigma per pixel over 1000 px is a 60-sigma
 * detection). LSST finds them with a Canny edge map and a kernel Hough transform; here:
 *  1. the significance averaged over blocks of 4x4 pixels (8x8 beyond 8 Mpix: an LSST-sized patch's
 *     transform then costs a quarter; non-finite pixels left out), each block mean held
 *     within 5 robust sigma of the block means (a single bright residual makes no line);
 *  2. a weighted Hough (Radon) transform of the blocks (wasm houghVote; theta every 0.5 deg over 180 deg,
 *     rho in 1-block bins): each cell sums its blocks' means over the square root of their number, and is compared with
 *     the cells' robust scatter (noise, correlated or not, sets it; a trail adds along its line): the
 *     strongest cell at least lineThreshold (8) robust sigma above the median, over at least minLength /
 *     4 blocks (minLength 300 px), is a line;
 *  3. the line refined by total least squares on the blocks within 1.5 blocks of it whose mean is at
 *     least 1 robust sigma of the block means (their pixel centres' principal axis);
 *  4. it is a streak if the mean significance (each pixel's held within +-5) of the pixels within
 *     psfSigma of it, over the supporting blocks' extent, times the square root of their number, is at
 *     least minSnr (20: correlated noise counted generously), and if its cross profile (mean significance
 *     in 1-px bins of distance) falls under 3 / sqrt(count) within 40 px (a trail is narrow; a ghost's
 *     arc or a bright star's halo is not); that distance, at least psfSigma, is its half width;
 *  5. its pixels: within half width + psfSigma of the line, across the whole image (trails cross it);
 *     the blocks along the line (and, for a streak, all it covers) are removed and 2-4 repeat, up to
 *     maxStreaks (5).
 * Units: pixels of the warp; significance in sigma of the difference's per-pixel noise.
 */

import { interquartileSigma, kthSmallest } from '../math/median.js';
import { libm } from '../math/libm.js';
import type { Tessera } from '../wasm/loader.js';
import { checkStatus } from '../wasm/kernels.js';

export interface StreakConfig {
  lineThreshold: number;
  minLength: number;
  minSnr: number;
  maxStreaks: number;
}

export const DEFAULT_STREAK_CONFIG: Readonly<StreakConfig> = Object.freeze({ lineThreshold: 8, minLength: 300, minSnr: 20, maxStreaks: 5 });

export interface Streak {
  /** The line: points p with (p - (x, y)) . (nx, ny) = 0; (nx, ny) a unit normal. */
  x: number;
  y: number;
  nx: number;
  ny: number;
  halfWidth: number;
  snr: number;
  length: number;
}

/** A streak's cross profile must fall to the noise within this many pixels of its line (a trail is narrow; a ghost's arc or a halo is not). */
const MAX_HALF_WIDTH = 40;
const THETAS = 360;

/**
 * The streaks of a difference image (`significance`: difference / noise, NaN without data), and the
 * mask of their pixels (1 = streak).
 */
export function findStreaks(tessera: Tessera, significance: Float32Array, width: number, height: number, psfSigma: number,
  config: StreakConfig = DEFAULT_STREAK_CONFIG): { streaks: Streak[]; mask: Uint8Array } {
  const BLOCK = width * height > 8e6 ? 8 : 4;
  const bw = Math.ceil(width / BLOCK), bh = Math.ceil(height / BLOCK), nb = bw * bh;
  const sum = new Float64Array(nb), count = new Float64Array(nb);
  for (let y = 0; y < height; y++) {
    const brow = ((y / BLOCK) | 0) * bw;
    for (let x = 0; x < width; x++) {
      const v = significance[y * width + x]!;
      if (Number.isFinite(v)) { sum[brow + ((x / BLOCK) | 0)]! += v; count[brow + ((x / BLOCK) | 0)]!++; }
    }
  }
  const means = Float64Array.from(sum, (v, b) => (count[b]! >= BLOCK * BLOCK / 2 ? v / count[b]! : NaN));
  const finiteMeans = Float64Array.from(means.filter(Number.isFinite));
  if (finiteMeans.length < 100) return { streaks: [], mask: new Uint8Array(width * height) };
  const blockSigma = interquartileSigma(finiteMeans);
  // A block counts at most 5 of its sigmas either way: one bright residual (a cosmic ray on a star) is no line.
  const cap = 5 * blockSigma;
  for (let b = 0; b < nb; b++) if (Number.isFinite(means[b]!)) means[b] = Math.max(-cap, Math.min(cap, means[b]!));
  let live: number[] = [];
  for (let b = 0; b < nb; b++) if (Number.isFinite(means[b]!)) live.push(b);
  const cos = Float64Array.from({ length: THETAS }, (_, t) => libm.cos((t * Math.PI) / THETAS));
  const sin = Float64Array.from({ length: THETAS }, (_, t) => libm.sin((t * Math.PI) / THETAS));
  const rhoMax = Math.ceil(Math.hypot(bw, bh)), nRho = 2 * rhoMax + 1;
  const mask = new Uint8Array(width * height);
  const streaks: Streak[] = [];
  const minBlocks = config.minLength / BLOCK;
  const { planes, kernels } = tessera;
  return planes.scope(() => {
    // 2. The weighted Hough transform, once: per cell, the sum of its blocks' means and their number; blocks
    // explained by a line are taken out of it again, and the cells' noise is that of the first transform.
    // The accumulator lives in wasm memory for the whole search (nothing is allocated after these views).
    const meansPtr = planes.allocFrom(means), cosPtr = planes.allocFrom(cos), sinPtr = planes.allocFrom(sin);
    const sumPtr = planes.alloc(8 * THETAS * nRho), countPtr = planes.alloc(4 * THETAS * nRho), blocksPtr = planes.alloc(4 * nb);
    const accSum = planes.f64(sumPtr, THETAS * nRho).fill(0), accCount = planes.i32(countPtr, THETAS * nRho).fill(0), blockList = planes.i32(blocksPtr, nb);
    const vote = (blocks: readonly number[], sign: 1 | -1): void => {
      if (blocks.length === 0) return;
      blockList.set(blocks);
      checkStatus('houghVote', kernels.houghVote(blocksPtr, blocks.length, meansPtr, nb, bw, cosPtr, sinPtr, THETAS, nRho, rhoMax, sign, sumPtr, countPtr));
    };
    vote(live, 1);
    const z: number[] = [];
    for (let k = 0; k < accSum.length; k++) if (accCount[k]! >= minBlocks) z.push(accSum[k]! / Math.sqrt(accCount[k]!));
    if (z.length < 100) return { streaks: [], mask };
    const zs = Float64Array.from(z);
    const zMedian = kthSmallest(zs, zs.length, zs.length >> 1), zSigma = interquartileSigma(zs);
    const alive = new Uint8Array(nb);
    for (const b of live) alive[b] = 1;
    const remove = (blocks: readonly number[]): void => {
      const gone: number[] = [];
      for (const b of blocks) if (alive[b]) { alive[b] = 0; gone.push(b); }
      vote(gone, -1);
      live = live.filter((b) => alive[b] === 1);
    };
    for (let round = 0; round < config.maxStreaks; round++) {
      let best = -1, bestZ = -Infinity;
      for (let k = 0; k < accSum.length; k++) {
        if (accCount[k]! < minBlocks) continue;
        const v = accSum[k]! / Math.sqrt(accCount[k]!);
        if (v > bestZ) { bestZ = v; best = k; }
      }
      if (best < 0 || !((bestZ - zMedian) / zSigma >= config.lineThreshold)) break;
      const t0 = Math.floor(best / nRho), rho0 = (best % nRho) - rhoMax;
      // 3. Total least squares on the line's brighter blocks.
      const near = live.filter((b) => Math.abs(((b % bw) + 0.5) * cos[t0]! + (Math.floor(b / bw) + 0.5) * sin[t0]! - rho0) <= 1.5);
      const support = near.filter((b) => means[b]! >= blockSigma);
      // The blocks along this line are explained either way.
      remove(near);
      if (support.length < 3) continue;
      let mx = 0, my = 0;
      for (const b of support) { mx += ((b % bw) + 0.5) * BLOCK; my += (Math.floor(b / bw) + 0.5) * BLOCK; }
      mx /= support.length;
      my /= support.length;
      let sxx = 0, syy = 0, sxy = 0;
      for (const b of support) {
        const dx = ((b % bw) + 0.5) * BLOCK - mx, dy = (Math.floor(b / bw) + 0.5) * BLOCK - my;
        sxx += dx * dx; syy += dy * dy; sxy += dx * dy;
      }
      const angle = 0.5 * libm.atan2(2 * sxy, sxx - syy); // direction of the principal axis
      const ux = libm.cos(angle), uy = libm.sin(angle), nx = -uy, ny = ux;
      let sMin = Infinity, sMax = -Infinity;
      for (const b of support) {
        const s = (((b % bw) + 0.5) * BLOCK - mx) * ux + ((Math.floor(b / bw) + 0.5) * BLOCK - my) * uy;
        sMin = Math.min(sMin, s); sMax = Math.max(sMax, s);
      }
      // 4. The cross profile over the supported extent.
      const reach = MAX_HALF_WIDTH;
      const binSum = new Float64Array(reach + 1), binCount = new Float64Array(reach + 1);
      let core = 0, coreCount = 0;
      forEachPixelNear(width, height, mx, my, nx, ny, reach, (x, y) => {
        const dx = x - mx, dy = y - my, s = dx * ux + dy * uy;
        if (s < sMin - BLOCK || s > sMax + BLOCK) return;
        const d = Math.abs(dx * nx + dy * ny);
        if (d > reach) return;
        const raw = significance[y * width + x]!;
        if (!Number.isFinite(raw)) return;
        const v = Math.max(-5, Math.min(5, raw));
        binSum[Math.floor(d)]! += v;
        binCount[Math.floor(d)]!++;
        if (d <= psfSigma) { core += v; coreCount++; }
      });
      const snr = coreCount ? (core / coreCount) * Math.sqrt(coreCount) : 0;
      if (snr < config.minSnr) continue;
      let halfWidth = 0;
      while (halfWidth < reach && binCount[halfWidth]! > 0 && binSum[halfWidth]! / binCount[halfWidth]! >= 3 / Math.sqrt(binCount[halfWidth]!)) halfWidth++;
      if (halfWidth >= reach) continue;
      halfWidth = Math.max(halfWidth, psfSigma);
      // 5. Its pixels across the image.
      const limit = halfWidth + psfSigma;
      forEachPixelNear(width, height, mx, my, nx, ny, limit, (x, y) => { if (Math.abs((x - mx) * nx + (y - my) * ny) <= limit) mask[y * width + x] = 1; });
      streaks.push({ x: mx, y: my, nx, ny, halfWidth, snr, length: sMax - sMin + BLOCK });
      // Blocks the streak covers explain nothing further (a wide trail is one line, not several).
      remove(live.filter((b) => Math.abs((((b % bw) + 0.5) * BLOCK - mx) * nx + ((Math.floor(b / bw) + 0.5) * BLOCK - my) * ny) <= limit + BLOCK));
    }
    return { streaks, mask };
  });
}

/** Calls `visit` for every pixel of each row within `reach` (and a pixel) of the line through (mx, my) with unit normal (nx, ny) (and possibly a few more). */
function forEachPixelNear(width: number, height: number, mx: number, my: number, nx: number, ny: number, reach: number, visit: (x: number, y: number) => void): void {
  for (let y = 0; y < height; y++) {
    let x0 = 0, x1 = width - 1;
    if (Math.abs(nx) > 1e-6) {
      // |(x - mx) nx + (y - my) ny| <= reach + 1 for x between a and b.
      const a = mx + (-(reach + 1) - (y - my) * ny) / nx, b = mx + ((reach + 1) - (y - my) * ny) / nx;
      x0 = Math.max(0, Math.floor(Math.min(a, b)));
      x1 = Math.min(width - 1, Math.ceil(Math.max(a, b)));
    } else if (Math.abs((y - my) * ny) > reach + 1) continue;
    for (let x = x0; x <= x1; x++) visit(x, y);
  }
}
