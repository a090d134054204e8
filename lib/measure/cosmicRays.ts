/**
 * Cosmic-ray detection and repair, LSST's RepairTask.cosmicRay (pipe_tasks@26.0.0 repair.py) with
 * FindCosmicRaysConfig (meas_algorithms@26.0.0 findCosmicRaysConfig.py) over the C++ findCosmicRays
 * (meas_algorithms src/CR.cc, SDSS photo's algorithm by Kazu Shimasaku and Robert Lupton). Steps:
 *  0. background: the median of the image's finite pixels (FindCosmicRaysConfig.background is one bin of
 *     100000 px with MEDIAN: RepairTask then uses afw makeStatistics(MEDIAN)); or a level or a model plane
 *     the caller gives (a plane is subtracted first and added back afterwards, as RepairTask does with a
 *     binned model). The CR plane of the mask is cleared (RepairTask "blows away" the old CRs).
 *  1. PSF thresholds for condition 3 from the PSF realised at the image centre (CR.cc: getLocalKernel):
 *     thresH, thresV, thresD = cond3_fac2 x (mean of the PSF's 2 horizontal / 2 vertical / 4 diagonal
 *     neighbours of its central pixel) / (central pixel).
 *  2. candidates (kernel findCosmicRayCandidates): pixels at least minSigma sigma above the mean of some
 *     pair of opposite neighbours (condition 2) and sharper than the PSF allows with cond3_fac sigma of
 *     slack (condition 3), not BAD, INTRP, SAT or NO_DATA and not next to INTRP (condition 4); each is
 *     replaced by its estimate as the scan goes on. More than nCrPixelMax: TooManyCosmicRaysError.
 *  3. the candidates grouped into CRs (8-connected, as CR.cc joins spans that touch at a corner), their
 *     original values restored, and CRs whose summed counts above the background are below min_DN dropped
 *     (condition 1).
 *  4. the CRs interpolated over (kernel interpolateCosmicRays), then niteration growth passes (kernel
 *     growCosmicRays) around them with minSigma / 2 and cond3_fac 0 (CR.cc's values): a neighbour of a CR
 *     pixel joins it when it passes the pixel test against the CR's interpolated values; stopping early
 *     when a pass adds nothing. More than nCrPixelMax CR pixels in all: TooManyCosmicRaysError, the
 *     input untouched (CR.cc restores the image and throws LengthError).
 *  5. final CRs: the 8-connected components of all CR pixels. Mask CR on them; unless keepCRs, their
 *     pixels interpolated from the original image (image and variance) and INTRP set; with keepCRs the
 *     image keeps its values and only CR is set (characterizeImage's PSF iterations run with keepCRs).
 * Differences from LSST, each deliberate:
 *  - Interpolation: LSST's RemoveCR predicts a pixel from the +-1 and +-2 pixels along the row, column
 *    and diagonals (linear predictive coefficients) and keeps the smallest prediction, falling back to
 *    interpolation across the defect; here each CR pixel is interpolated linearly between the nearest
 *    usable pixels along the one of those 4 directions with the shortest gap (ties averaged), which is
 *    what the LPC fallback does across a CR track. Usable: not BAD, INTRP, SAT, NO_DATA or CR, and no CR
 *    pixel among its 8 neighbours (INTERPOLATION_GUARD, 1 px). The guard keeps the faint wings of a CR
 *    out of its estimate: charge diffusion (0.45 px in the simulator) puts ~13 % of a track's charge in
 *    each adjacent row, and CR.cc's growth compares those pixels with the CR's interpolated values, so
 *    an estimate made from the wings hides them. On the simulated exposure of
 *    tests/tasks/cosmic-rays.test.ts the guard raises the fraction of > 3 sigma CR pixels masked from 93
 *    to 97 % and lowers the repaired pixels' mean error from 0.67 to 0.05 sigma. The variance is
 *    interpolated the same way (LSST leaves the CR pixel's variance, which carries the CR's own Poisson
 *    noise), and no random "debiasing" noise is added, so the result is deterministic.
 *  - Growth also skips BAD, INTRP, SAT and NO_DATA pixels (CR.cc's growth pass does not apply condition 4),
 *    so a saturated pixel never becomes a CR.
 *  - CRs next to saturated pixels are interpolated like any other (CR.cc skips them in its final
 *    interpolation but they keep the first pass's estimates and are flagged INTRP all the same).
 *  - The final CRs are the connected components of all CR pixels, so growth that joins two CRs makes one.
 * Defaults (FindCosmicRaysConfig): minSigma 6, min_DN 150 (image units: e- after ISR), cond3_fac 2.5,
 * cond3_fac2 0.6, niteration 3, nCrPixelMax 10000, keepCRs false; interpolation reach 64 px (ours).
 * The input planes are not modified: the result holds new image, mask and variance planes, unless the
 * caller passes `inPlace` (LSST's RepairTask repairs its exposure in place): then the input's own planes
 * are repaired and returned, and `replaced` keeps the image values the repair overwrote.
 */
import { MASK_PLANES } from '../pipeline/maskPlanes.js';
import { checkStatus } from '../wasm/kernels.js';
import type { Tessera } from '../wasm/loader.js';
import { maskBits, type MaskedImage } from './background.js';
import type { Footprint, PixelBox, Span } from './footprint.js';
import type { PsfLike } from './psf.js';

export interface CosmicRayConfig {
  /** Condition 2: sigma above the mean of a pair of opposite neighbours (LSST minSigma 6). */
  minSigma: number;
  /** Condition 1: least summed counts above the background in one CR, image units (LSST min_DN 150). */
  minDn: number;
  /** Condition 3: sigma of noise allowed for (LSST cond3_fac 2.5). */
  cond3Fac: number;
  /** Condition 3: fraction of the PSF's neighbour-to-centre ratio a CR must fall below (LSST cond3_fac2 0.6). */
  cond3Fac2: number;
  /** Growth passes around the CRs (LSST niteration 3). */
  niteration: number;
  /** Most CR pixels accepted; more is an error (LSST nCrPixelMax 10000). */
  nCrPixelMax: number;
  /** Mask CR but leave the pixel values (LSST keepCRs False; characterizeImage's PSF loop sets True). */
  keepCRs: boolean;
  /** Farthest a usable pixel is looked for when interpolating, pixels (ours: 64). */
  maxInterpolationDistance: number;
}

export const DEFAULT_COSMIC_RAY_CONFIG: Readonly<CosmicRayConfig> = Object.freeze({
  minSigma: 6.0,
  minDn: 150,
  cond3Fac: 2.5,
  cond3Fac2: 0.6,
  niteration: 3,
  nCrPixelMax: 10000,
  keepCRs: false,
  maxInterpolationDistance: 64,
});

/**
 * Interpolation reads no pixel within this many px of a CR pixel (ours; see the module comment): the
 * faint wings of a CR next to the pixels found are left out of the estimates.
 */
const INTERPOLATION_GUARD = 1;

/** Mask planes a candidate must not carry (CR.cc condition 4) and that interpolation does not read. */
const BAD_PLANES = ['BAD', 'INTRP', 'SAT', 'NO_DATA'] as const;

/** One cosmic ray: its pixels as spans (sorted by y, then x0) and what it deposited; no peaks (as CR.cc's footprints). */
export interface CosmicRay extends Footprint {
  readonly bbox: PixelBox;
  /** Number of pixels. */
  readonly area: number;
  /** Sum of (original value - background) over its pixels, image units. */
  readonly counts: number;
}

export interface CosmicRayResult {
  /** Repaired image (with keepCRs, a copy of the input image). */
  readonly image: Float32Array;
  /** Copy of the input mask with CR cleared and then set on the CR pixels; INTRP on the repaired ones. */
  readonly mask: Int32Array;
  /** Variance, interpolated over the repaired pixels. */
  readonly variance: Float32Array;
  /** The cosmic rays, in raster order of their first pixel. */
  readonly cosmicRays: CosmicRay[];
  /** Number of CR pixels (the area of all cosmic rays). */
  readonly nPixels: number;
  /** The background level used (NaN when a model plane was given). */
  readonly background: number;
  /** Condition-3 thresholds from the PSF: cond3_fac2 x neighbour / centre. */
  readonly thresholds: { readonly horizontal: number; readonly vertical: number; readonly diagonal: number };
  /** Pixels found by the first pass, kept after condition 1, and added by growth. */
  readonly nCandidates: number;
  readonly nGrown: number;
  /** The CR pixels (indices, in the order the repair visited them) and the input image's values there before the repair. */
  readonly replaced: { readonly pixels: Int32Array; readonly image: Float32Array };
}

export class CosmicRayError extends Error {
  constructor(problem: string) {
    super(`cosmic rays: ${problem}`);
    this.name = 'CosmicRayError';
  }
}

/** More CR pixels than nCrPixelMax (CR.cc's LengthError "Too many CR pixels"); the image is left as it was. */
export class TooManyCosmicRaysError extends CosmicRayError {
  constructor(readonly nPixels: number, readonly nCrPixelMax: number) {
    super(`too many CR pixels: at least ${nPixels}, more than nCrPixelMax ${nCrPixelMax}`);
    this.name = 'TooManyCosmicRaysError';
  }
}

/** The full configuration from a partial one, validated. */
export function cosmicRayConfig(overrides: Partial<CosmicRayConfig> = {}): CosmicRayConfig {
  const c: CosmicRayConfig = { ...DEFAULT_COSMIC_RAY_CONFIG, ...overrides };
  const fail = (p: string): never => { throw new CosmicRayError(`bad configuration: ${p}`); };
  if (!(c.minSigma > 0) || !Number.isFinite(c.minSigma)) fail(`minSigma must be a positive number, got ${c.minSigma}`);
  if (!Number.isFinite(c.minDn)) fail(`minDn must be a finite number, got ${c.minDn}`);
  if (!(c.cond3Fac >= 0) || !Number.isFinite(c.cond3Fac)) fail(`cond3Fac must be >= 0, got ${c.cond3Fac}`);
  if (!(c.cond3Fac2 > 0) || !Number.isFinite(c.cond3Fac2)) fail(`cond3Fac2 must be positive, got ${c.cond3Fac2}`);
  if (!Number.isInteger(c.niteration) || c.niteration < 0) fail(`niteration must be a non-negative integer, got ${c.niteration}`);
  if (!Number.isInteger(c.nCrPixelMax) || c.nCrPixelMax < 0) fail(`nCrPixelMax must be a non-negative integer, got ${c.nCrPixelMax}`);
  if (typeof c.keepCRs !== 'boolean') fail(`keepCRs must be a boolean, got ${String(c.keepCRs)}`);
  if (!Number.isInteger(c.maxInterpolationDistance) || c.maxInterpolationDistance < 1) {
    fail(`maxInterpolationDistance must be a positive integer, got ${c.maxInterpolationDistance}`);
  }
  return c;
}

/**
 * Condition-3 thresholds from the PSF realised at (x, y) (CR.cc: cond3_fac2 x the mean of the central
 * pixel's horizontal, vertical and diagonal neighbours over the central pixel).
 */
export function cosmicRayThresholds(psf: PsfLike, x: number, y: number, cond3Fac2: number): { horizontal: number; vertical: number; diagonal: number } {
  const size = 5;
  const { stamp } = psf.stampAt(Math.round(x), Math.round(y), size);
  const at = (dx: number, dy: number): number => stamp[(2 + dy) * size + 2 + dx]!;
  const centre = at(0, 0);
  if (!(centre > 0) || !Number.isFinite(centre)) throw new CosmicRayError(`the PSF's central pixel must be positive, got ${centre}`);
  return {
    horizontal: (cond3Fac2 * 0.5 * (at(-1, 0) + at(1, 0))) / centre,
    vertical: (cond3Fac2 * 0.5 * (at(0, -1) + at(0, 1))) / centre,
    diagonal: (cond3Fac2 * 0.25 * (at(-1, -1) + at(1, 1) + at(-1, 1) + at(1, -1))) / centre,
  };
}

/**
 * Groups pixel indices into 8-connected components (union-find over the listed pixels only): returns
 * the components as sorted pixel-index lists, in raster order of their first pixel.
 */
export function connectedPixelGroups(indices: ArrayLike<number>, width: number): number[][] {
  const n = indices.length;
  const position = new Map<number, number>();
  for (let k = 0; k < n; k++) position.set(indices[k]!, k);
  const parent = Int32Array.from({ length: n }, (_, k) => k);
  const find = (k: number): number => {
    while (parent[k] !== k) {
      parent[k] = parent[parent[k]!]!;
      k = parent[k]!;
    }
    return k;
  };
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    const x = i % width;
    // The neighbours before this pixel in raster order; the others find this one.
    for (const [dx, dy] of [[-1, 0], [-1, -1], [0, -1], [1, -1]] as const) {
      if (x + dx < 0 || x + dx >= width) continue;
      const j = position.get(i + dy * width + dx);
      if (j === undefined) continue;
      const a = find(k), b = find(j);
      if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
    }
  }
  const groups = new Map<number, number[]>();
  for (let k = 0; k < n; k++) {
    const root = find(k);
    let g = groups.get(root);
    if (!g) groups.set(root, (g = []));
    g.push(indices[k]!);
  }
  const out = [...groups.values()].map((g) => g.sort((a, b) => a - b));
  return out.sort((a, b) => a[0]! - b[0]!);
}

/** Spans and bounding box of a sorted list of pixel indices. */
function spansOf(pixels: readonly number[], width: number): { spans: Span[]; bbox: PixelBox } {
  const spans: Span[] = [];
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let k = 0; k < pixels.length;) {
    const start = pixels[k]!;
    let end = start;
    while (k + 1 < pixels.length && pixels[k + 1] === end + 1 && (end + 1) % width !== 0) end = pixels[++k]!;
    k++;
    const y = Math.floor(start / width);
    const sx = start - y * width, ex = end - y * width;
    spans.push({ y, x0: sx, x1: ex });
    x0 = Math.min(x0, sx); x1 = Math.max(x1, ex); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  return { spans, bbox: { x0, y0, x1, y1 } };
}

/**
 * Finds the cosmic rays of `image` with the PSF it has when CRs are looked for, masks them CR and
 * (unless keepCRs) interpolates over them, setting INTRP (module comment). `background`: a level
 * (image units) or a model plane (width x height); absent: the median of the finite pixels.
 * Throws TooManyCosmicRaysError beyond nCrPixelMax CR pixels (the input untouched), CosmicRayError on
 * bad inputs. `inPlace`: repair the input's image, mask and variance planes instead of copies (module comment).
 */
export function findCosmicRays(tessera: Tessera, image: MaskedImage, psf: PsfLike, background?: number | Float32Array,
  overrides: Partial<CosmicRayConfig> = {}, inPlace = false): CosmicRayResult {
  const config = cosmicRayConfig(overrides);
  const { width, height } = image;
  const n = width * height;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new CosmicRayError(`bad image size ${width} x ${height}`);
  if (image.image.length !== n || image.mask.length !== n || image.variance.length !== n) {
    throw new CosmicRayError(`image, mask and variance must hold ${width} x ${height} = ${n} pixels, got ${image.image.length}, ${image.mask.length}, ${image.variance.length}`);
  }
  if (background instanceof Float32Array && background.length !== n) throw new CosmicRayError(`background plane must hold ${n} pixels, got ${background.length}`);
  if (typeof background === 'number' && !Number.isFinite(background)) throw new CosmicRayError(`background level must be finite, got ${background}`);
  const maskPlanes = image.maskPlanes ?? MASK_PLANES;
  const crBit = maskPlanes.CR, intrpBit = maskPlanes.INTRP;
  if (crBit === undefined || intrpBit === undefined) throw new CosmicRayError('the mask has no CR or INTRP plane');
  const badBits = maskBits(BAD_PLANES, maskPlanes);
  const intrpValue = 1 << intrpBit;
  const thresholds = cosmicRayThresholds(psf, Math.floor(width / 2), Math.floor(height / 2), config.cond3Fac2);
  const { horizontal: tH, vertical: tV, diagonal: tD } = thresholds;
  const { kernels, planes } = tessera;
  const capacity = config.nCrPixelMax;

  return planes.scope(() => {
    const plane = background instanceof Float32Array ? background : undefined;
    const needMedian = background === undefined;
    const imagePtr = planes.alloc(4 * n), variancePtr = planes.alloc(4 * n), maskPtr = planes.alloc(4 * n);
    const flagsPtr = planes.alloc(n), indicesPtr = planes.alloc(4 * Math.max(capacity, 1)), outPtr = planes.alloc(16);
    const scratchPtr = needMedian ? planes.alloc(4 * n) : 0;
    // The working image: the input, minus the background plane when one is given (views made after
    // every allocation).
    const start = (): Float32Array => {
      const work = planes.f32(imagePtr, n);
      work.set(image.image);
      if (plane) for (let i = 0; i < n; i++) work[i] = work[i]! - plane[i]!;
      return work;
    };
    start();
    let bkgd = typeof background === 'number' ? background : 0;
    if (needMedian) {
      checkStatus('planeMedian', kernels.planeMedian(imagePtr, 0, n, 0, scratchPtr, outPtr));
      const [median, count] = planes.f64(outPtr, 2);
      if (!(count! > 0)) throw new CosmicRayError('the image has no finite pixel to take the background from');
      bkgd = median!;
    }
    planes.f32(variancePtr, n).set(image.variance);
    // The mask without the old CR plane (RepairTask clears it).
    planes.i32(maskPtr, n).set(image.mask);
    const crValue = 1 << crBit;
    planes.u8(flagsPtr, n).fill(0);
    checkStatus('setMaskBit', kernels.setMaskBit(flagsPtr, maskPtr, n, crBit));

    // 2. candidates.
    checkStatus('findCosmicRayCandidates', kernels.findCosmicRayCandidates(imagePtr, variancePtr, maskPtr, width, height, bkgd,
      config.minSigma, config.cond3Fac, tH, tV, tD, badBits, intrpValue, flagsPtr, indicesPtr, capacity, outPtr));
    const nFound = planes.i32(outPtr, 1)[0]!;
    if (nFound > capacity) throw new TooManyCosmicRaysError(nFound, capacity);

    // 3. group, restore, condition 1.
    const working = start();
    const candidates = planes.i32(indicesPtr, nFound).slice();
    const flags = planes.u8(flagsPtr, n);
    const kept: number[] = [];
    for (const group of connectedPixelGroups(candidates, width)) {
      let counts = 0;
      for (const i of group) counts += working[i]! - bkgd;
      if (counts >= config.minDn) kept.push(...group);
      else for (const i of group) flags[i] = 0;
    }
    planes.i32(indicesPtr, kept.length).set(kept);

    // 4. interpolate the CRs found so far, then grow them.
    let total = kept.length;
    let nGrown = 0;
    if (total > 0) {
      checkStatus('interpolateCosmicRays', kernels.interpolateCosmicRays(imagePtr, variancePtr, maskPtr, width, height, flagsPtr, indicesPtr, total,
        badBits, INTERPOLATION_GUARD, config.maxInterpolationDistance, bkgd, -1));
      for (let pass = 0; pass < config.niteration; pass++) {
        checkStatus('growCosmicRays', kernels.growCosmicRays(imagePtr, variancePtr, maskPtr, width, height, bkgd,
          config.minSigma / 2, 0, tH, tV, tD, badBits, flagsPtr, indicesPtr, total, capacity, outPtr));
        const added = planes.i32(outPtr, 1)[0]!;
        if (total + added > capacity) throw new TooManyCosmicRaysError(total + added, capacity);
        total += added;
        nGrown += added;
        if (added === 0) break;
      }
    }

    // 5. final CRs, mask and repair from the original values.
    const allPixels = planes.i32(indicesPtr, total).slice();
    const original = start();
    const cosmicRays: CosmicRay[] = connectedPixelGroups(allPixels, width).map((pixels) => {
      let counts = 0;
      for (const i of pixels) counts += original[i]! - bkgd;
      return { ...spansOf(pixels, width), peaks: [], area: pixels.length, counts };
    });
    planes.f32(variancePtr, n).set(image.variance);
    const finalMask = planes.i32(maskPtr, n);
    for (const i of allPixels) finalMask[i] = finalMask[i]! | crValue;
    if (!config.keepCRs && total > 0) {
      checkStatus('interpolateCosmicRays', kernels.interpolateCosmicRays(imagePtr, variancePtr, maskPtr, width, height, flagsPtr, indicesPtr, total,
        badBits | crValue, INTERPOLATION_GUARD, config.maxInterpolationDistance, bkgd, intrpBit));
    }
    // Only the CR pixels change: every other pixel keeps its input value bit for bit.
    const replaced = { pixels: allPixels, image: Float32Array.from(allPixels, (i) => image.image[i]!) };
    const repaired = inPlace ? image.image : Float32Array.from(image.image);
    const variance = inPlace ? image.variance : Float32Array.from(image.variance);
    if (!config.keepCRs) {
      const work = planes.f32(imagePtr, n), workVariance = planes.f32(variancePtr, n);
      for (const i of allPixels) {
        repaired[i] = plane ? work[i]! + plane[i]! : work[i]!;
        variance[i] = workVariance[i]!;
      }
    }
    const mask = planes.i32(maskPtr, n);
    return {
      image: repaired,
      mask: inPlace ? (image.mask.set(mask), image.mask) : mask.slice(),
      variance,
      replaced,
      cosmicRays,
      nPixels: total,
      background: plane ? Number.NaN : bkgd,
      thresholds,
      nCandidates: kept.length,
      nGrown,
    };
  });
}
