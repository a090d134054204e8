/**
 * Halos: the light of sources beyond their detection footprints, found at low surface brightness so that
 * the background leaves it out. A 128-px background fitted to every pixel outside the footprints takes in
 * the wings of bright stars and the outskirts of large galaxies (and then over-subtracts them: the dark
 * rings and eaten galaxy outskirts DMTR-51's DRP-00-35 certifies against). Detecting that light needs more
 * pixels than a footprint's matched filter uses, as NoiseChisel (Akhlaghi & Ichikawa 2015) and LSST's
 * temporary wide background (SourceDetectionConfig.doTempWideBackground) do, so it is searched on blocks:
 *  1. the residual of every pixel outside the footprints (and off the background's ignored planes: BAD,
 *     EDGE, DETECTED, DETECTED_NEGATIVE, NO_DATA) against a reference sky: the current background's bins
 *     refitted with a quadratic Chebyshev (a plane where the shorter axis has fewer than 8 bins), without
 *     the bins well above it, and corrected for a bin being the sky's mean over it (referenceSky). A
 *     smooth sky is nearly planar over a flat-fielded detector, and a low order cannot follow a halo as
 *     the 128-px model does; the quadratic follows what a plane cannot: vignetting left in (isr without
 *     a flat, as the benchmark runs it: 8 % from centre to corner), against which a plane took 47 % of
 *     the blocks for halo (tests/unit/halos.test.ts) and characterizeImage's background, fitted to the
 *     rest, cost calibrate 53 % of its sources on an HSC detector (1191 -> 555). On the tiny preset's
 *     4 x 8 bins a quadratic followed a bright star's halo (the worst bin below rose to 0.15 sigma);
 *  2. at each block size (8, 16, 32, 64 px), the block's summed residual over the square root of its
 *     summed variance (its significance), for blocks with at least minGoodFraction (20 %) of their pixels
 *     (within the image) usable and not in a halo found at a smaller size;
 *  3. hysteresis: blocks above seedThreshold (2.5 sigma) seed a halo, which grows into 8-connected blocks
 *     above growThreshold (1 sigma);
 *  4. the halos (found at every size) that adjoin a block with pixels left out of the sums (footprints,
 *     mostly) grown by growBlocks (1) smallest blocks, 8-connected: a source's light goes on past the
 *     last blocks above growThreshold (as footprints are grown, LSST nSigmaToGrow, and NoiseChisel
 *     dilates its detections), and the blocks just outside a halo, kept for falling below
 *     growThreshold, would bias the background low. A halo that touches no block with pixels left out
 *     of the sums (footprints mostly; also BAD, EDGE or NO_DATA pixels) is kept only if all its blocks
 *     together reach isolatedThreshold (5) sigma, else dropped: seeds of 2.5 sigma at four block sizes
 *     grown into 1-sigma neighbours are noise, mostly, and masking the sky's upward fluctuations biased
 *     every background low; a bright star's halo cut off from its footprint stays.
 * The halo is a union of 8-px blocks (the smallest size), flagged per block.
 * Measured (tests/tasks/background.test.ts, the tiny preset's full fields of seeds 70-85, 3 detect-and-
 * re-estimate rounds): the worst 128-px bin of the background acceptance measure went from 0.02-0.58 sigma
 * to 0.01-0.09 sigma (0.01-0.08 against a plain plane; 0.01-0.10 without the growth in step 4: the growth
 * took seed 73 from 0.104 to 0.034); on fields without objects brighter than 17 mag (seeds 70-73) from
 * 0.05-0.08 to 0.007-0.020 sigma. Isolated halos: keeping them all biased the backgrounds of the demo
 * preset's 60 calexps low by 0.0088 sigma on average (tests/pipeline/calexp-background.test.ts: mean
 * -0.0043 to -0.0131 per calexp), which the coadds, five visits deep, carried as +0.09 to +0.16 nJy per
 * pixel on blank sky (r-band warps); dropping those under 5 sigma: -0.0011 sigma on average, the median 128-px block
 * scatter 0.0067 -> 0.0057 sigma, the worst block 0.070 -> 0.072; dropping them all let one detector's
 * background take in part of a bright star's halo (worst block 0.098). A plane fitted to 512-px bins, or
 * Akima through them, as the reference masked real sky structure (up to 60 % of the detector) and biased
 * the background low by up to 0.24 sigma.
 * Kernels: assembly/halos.ts (blockSums, and haloBlocks for steps 2-4).
 */
import { checkStatus } from '../wasm/kernels.js';
import type { Tessera } from '../wasm/loader.js';
import { median } from '../math/median.js';
import { binCentres, chebyshevEvaluator, type BackgroundModel, type ChebyshevSurface, type MaskedImage, type ResidentPlanes } from './background.js';

export interface HaloConfig {
  /** Block sizes (px), smallest first, each a multiple of the first. */
  blockSizes: readonly number[];
  /** Significance (sigma of the block's summed noise) that seeds a halo, and that it grows into. */
  seedThreshold: number;
  growThreshold: number;
  /** A block with fewer usable pixels than this fraction of its area is not judged. */
  minGoodFraction: number;
  /** Smallest blocks (8-connected) by which the halos adjoining left-out pixels are grown; 0: none. */
  growBlocks: number;
  /**
   * Significance (sigma of the summed noise of all its blocks) below which a halo that adjoins no
   * left-out pixels is dropped as noise; Infinity drops every such halo, 0 keeps them all.
   */
  isolatedThreshold: number;
  /**
   * Highest order of the Chebyshev refit of the background's bins that is the reference sky (1: a plane),
   * used where the bins are at least 4 per order along each axis (fewer: a lower order, at least a plane).
   * With the default 128-px bins a quadratic needs 1024 px on the shorter side: on smaller images it
   * could follow a bright star's halo.
   */
  referenceOrder: number;
}

export const DEFAULT_HALO_CONFIG: Readonly<HaloConfig> = Object.freeze({
  blockSizes: Object.freeze([8, 16, 32, 64]),
  seedThreshold: 2.5,
  growThreshold: 1,
  minGoodFraction: 0.2,
  growBlocks: 1,
  isolatedThreshold: 5,
  referenceOrder: 2,
});

/** Halo blocks: a flag per `block` x `block` block (nbx x nby, row-major). */
export interface HaloBlocks {
  block: number;
  nbx: number;
  nby: number;
  flags: Uint8Array;
}

export class HaloError extends Error {
  constructor(problem: string) {
    super(`halos: ${problem}`);
    this.name = 'HaloError';
  }
}

export function haloConfig(overrides: Partial<HaloConfig> = {}): HaloConfig {
  const c: HaloConfig = { ...DEFAULT_HALO_CONFIG, ...overrides };
  const [first] = c.blockSizes;
  if (first === undefined || !c.blockSizes.every((b, k) => Number.isInteger(b) && b > 0 && b % first === 0 && (k === 0 || b > c.blockSizes[k - 1]!))) {
    throw new HaloError(`blockSizes must be increasing positive multiples of the first, got [${c.blockSizes.join(', ')}]`);
  }
  if (!(c.seedThreshold >= c.growThreshold) || !Number.isFinite(c.seedThreshold) || !Number.isFinite(c.growThreshold)) {
    throw new HaloError(`seedThreshold (${c.seedThreshold}) must be a number >= growThreshold (${c.growThreshold})`);
  }
  if (!(c.minGoodFraction > 0 && c.minGoodFraction <= 1)) throw new HaloError(`minGoodFraction must be in (0, 1], got ${c.minGoodFraction}`);
  if (!Number.isInteger(c.growBlocks) || c.growBlocks < 0) throw new HaloError(`growBlocks must be a non-negative integer, got ${c.growBlocks}`);
  if (!(c.isolatedThreshold >= 0)) throw new HaloError(`isolatedThreshold must be a number >= 0, got ${c.isolatedThreshold}`);
  if (!Number.isInteger(c.referenceOrder) || c.referenceOrder < 0) throw new HaloError(`referenceOrder must be a non-negative integer, got ${c.referenceOrder}`);
  return c;
}

/**
 * The reference sky: a Chebyshev fit of order `order` (lowered to a quarter of the bins along the shorter
 * axis, but at least a plane) to the background's bins, refitted without the bins more than 3 robust sigma
 * above it (a halo's bins; a curved sky raises every bin a little, a halo a few bins a lot; the sigma at
 * least the bins' own error) until none changes (at most 5 fits). A bin's value is the sky's mean over
 * the bin, not its value at the centre: for a sky a x^2 the two differ by a binSize^2 / 12 (0.4 e- for
 * the unit test's vignetting of 80 e- at the corners of 512 px, in 64-px bins, which a 64-px block of
 * noise 10 e- per pixel sums to 2.7 sigma), so each refit takes the previous fit's excess of its bin mean
 * (2-point Gauss-Legendre per axis: exact to order 3) over its centre value off the bins.
 */
function referenceSky(background: BackgroundModel, order: number): ChebyshevSurface {
  const { nx, ny } = background;
  const xc = binCentres(background.xEdges), yc = binCentres(background.yEdges);
  const gauss = 1 / (2 * Math.sqrt(3));
  const excess = (sky: ChebyshevSurface, k: number): number => {
    const i = k % nx, j = (k - i) / nx, x = xc[i]!, y = yc[j]!;
    const dx = gauss * (background.xEdges[i + 1]! - background.xEdges[i]!), dy = gauss * (background.yEdges[j + 1]! - background.yEdges[j]!);
    return (sky.at(x - dx, y - dy) + sky.at(x + dx, y - dy) + sky.at(x - dx, y + dy) + sky.at(x + dx, y + dy)) / 4 - sky.at(x, y);
  };
  let model: BackgroundModel = { ...background, interpolation: 'chebyshev', approxOrder: Math.min(order, Math.max(1, Math.floor(Math.min(nx, ny) / 4))) };
  const measured = [...background.values.keys()].filter((k) => !background.filled[k]);
  const binError = Math.sqrt(median(measured.map((k) => Math.max(background.variances[k]!, 0))));
  let sky = chebyshevEvaluator(model);
  for (let fit = 1; fit < 5; fit++) {
    const values = Float64Array.from(background.values, (v, k) => v - excess(sky, k));
    const residual = Float64Array.from(values, (v, k) => v - sky.at(xc[k % nx]!, yc[Math.floor(k / nx)]!));
    const kept = measured.map((k) => residual[k]!);
    const centre = median(kept), spread = Math.max(1.4826 * median(kept.map((r) => Math.abs(r - centre))), binError);
    const excluded = Uint8Array.from(residual, (r, k) => (background.filled[k] || r > centre + 3 * spread ? 1 : 0));
    const settled = fit > 1 && excluded.every((e, k) => e === model.filled[k]);
    model = { ...model, values, filled: excluded };
    sky = chebyshevEvaluator(model);
    if (settled) break;
  }
  return sky;
}

/**
 * The halos of `image` (its mask carrying the footprints) against `background`'s refit (referenceSky); pixels
 * with any of `skipBits` (the background's ignored planes) are left out of the sums, read from `resident`'s
 * copies of the image and mask in wasm memory when given.
 */
export function findHalos(tessera: Tessera, image: MaskedImage, background: BackgroundModel, skipBits: number, overrides: Partial<HaloConfig> = {},
  resident?: ResidentPlanes): HaloBlocks {
  const config = haloConfig(overrides);
  const { width, height } = image;
  const block = config.blockSizes[0]!;
  const nbx = Math.ceil(width / block), nby = Math.ceil(height / block);
  // Residual per smallest block against the reference sky at the block's centre (its mean over the block,
  // or over the block's usable pixels when some are masked, to within its change across 8 px).
  const centre = (k: number, size: number): number => (k * block + Math.min((k + 1) * block, size) - 1) / 2;
  const sky = referenceSky(background, config.referenceOrder).grid(
    Float64Array.from({ length: nbx }, (_, i) => centre(i, width)), Float64Array.from({ length: nby }, (_, j) => centre(j, height)));
  const flags = tessera.planes.scope(() => {
    const { planes, kernels } = tessera;
    const img = resident?.image ?? planes.allocFrom(image.image);
    const msk = resident?.mask ?? planes.allocFrom(image.mask);
    const variance = planes.allocFrom(image.variance);
    const sums = planes.alloc(24 * nbx * nby);
    checkStatus('blockSums', kernels.blockSums(img, msk, variance, width, height, block, skipBits, sums));
    planes.release(variance);
    const skyPtr = planes.allocFrom(sky);
    const factors = planes.allocFrom(Int32Array.from(config.blockSizes, (size) => size / block));
    const scratch = planes.alloc(22 * nbx * nby);
    const out = planes.alloc(nbx * nby);
    checkStatus('haloBlocks', kernels.haloBlocks(sums, skyPtr, nbx, nby, block, width, height, factors, config.blockSizes.length,
      config.seedThreshold, config.growThreshold, config.minGoodFraction, config.growBlocks, config.isolatedThreshold, scratch, out));
    return planes.u8(out, nbx * nby).slice();
  });
  return { block, nbx, nby, flags };
}
