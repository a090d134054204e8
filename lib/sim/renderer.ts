/**
 * Renderer: one detector image (f32, e-) and its mask (i32 bit planes) in wasm memory, drawn by the
 * kernels of assembly/render.ts, noise.ts, saturation.ts and lines.ts. The usual order is
 * addSources / addLine (plus whatever sky the caller adds through `imageView()`), bleed, applyPoisson,
 * addReadNoise. Both planes live until `dispose()`; every call that needs scratch memory (the source
 * table) releases it before returning. Views of wasm memory are made fresh on each call: an allocation
 * anywhere in the same Tessera instance may detach an earlier view.
 *
 * Source boxes: a source of flux F is allowed to lose at most tol = max(relative x |F|, absolute)
 * electrons (defaults 1e-5 and 0.01 e-) outside the pixels it is drawn on. Each of its n components
 * (weight w) is drawn inside the ellipse d^T C^-1 d <= q, outside which a 2-D Gaussian holds exactly
 * exp(-q / 2) of its flux; q = 2 ln(n |F w| / tol) gives each component at most tol / n outside.
 * A component whose whole flux is below tol / n is left out. The source's box half-width `radius` is
 * the largest component reach sqrt(q max(xx, yy)), capped at MAX_SOURCE_RADIUS (67" at 0.168"/px);
 * only the few sources whose wings reach further lose more than tol.
 */
import type { Tessera } from '../wasm/loader.js';
import { checkStatus } from '../wasm/kernels.js';
import type { Plane } from '../wasm/planeAllocator.js';
import type { RenderSource } from './types.js';
import { Random } from './random.js';
import { libm } from '../math/libm.js';

/** f64 values per row of the source table (assembly/render.ts): a source row or a component row. */
export const TABLE_ROW_LENGTH = 5;
/** Largest source box half-width in pixels. */
export const MAX_SOURCE_RADIUS = 400;
/** Largest component cutoff the kernel accepts (exp(-85) of the peak). */
export const MAX_COMPONENT_CUTOFF = 170;
/** Largest second moment (px^2) the kernel accepts: sigma up to 1e5 px. */
export const MAX_COMPONENT_MOMENT = 1e10;

export interface RenderTolerance {
  /** Fraction of a source's flux that may fall outside its box (default 1e-5). */
  relative: number;
  /** Electrons that may fall outside any source's box (default 0.01). */
  absolute: number;
}

export const DEFAULT_RENDER_TOLERANCE: Readonly<RenderTolerance> = { relative: 1e-5, absolute: 0.01 };

/** The source table for renderMixtures: `rows` rows of TABLE_ROW_LENGTH f64. */
export interface SourceTable {
  table: Float64Array;
  rows: number;
  /** Sources written (sources with zero flux or no component worth drawing are left out). */
  sources: number;
}

/**
 * Builds the kernel's table: per source [x, y, flux, nComponents, radius], then per component
 * [weight, xx, yy, xy, cutoff]. Throws a RangeError naming the source for non-finite values, a
 * component whose moments are not positive definite (or above MAX_COMPONENT_MOMENT), or a negative
 * tolerance.
 */
export function buildSourceTable(sources: readonly RenderSource[], tolerance: RenderTolerance = DEFAULT_RENDER_TOLERANCE): SourceTable {
  if (!(tolerance.relative >= 0) || !(tolerance.absolute >= 0)) {
    throw new RangeError(`render tolerance must be non-negative, got relative ${tolerance.relative}, absolute ${tolerance.absolute}`);
  }
  let capacity = 0;
  for (const source of sources) capacity += 1 + source.profile.length;
  const table = new Float64Array(capacity * TABLE_ROW_LENGTH);
  let row = 0;
  let written = 0;
  for (let index = 0; index < sources.length; index++) {
    const { x, y, flux, profile } = sources[index]!;
    if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(flux)) {
      throw new RangeError(`render source ${index}: position and flux must be finite, got (${x}, ${y}) flux ${flux}`);
    }
    let drawn = 0;
    for (let c = 0; c < profile.length; c++) {
      const g = profile[c]!;
      if (!Number.isFinite(g.weight) || !(g.xx > 0 && g.xx < MAX_COMPONENT_MOMENT) || !(g.yy > 0 && g.yy < MAX_COMPONENT_MOMENT) ||
        !Number.isFinite(g.xy) || !(g.xx * g.yy - g.xy * g.xy > 0)) {
        throw new RangeError(`render source ${index}, component ${c}: weight must be finite and moments positive definite and below ${MAX_COMPONENT_MOMENT} px^2, got ${JSON.stringify(g)}`);
      }
      if (g.weight !== 0) drawn++;
    }
    if (flux === 0) continue;
    const allowed = Math.max(tolerance.relative * Math.abs(flux), tolerance.absolute);
    let count = 0;
    let reach = 0;
    for (const g of profile) {
      if (g.weight === 0) continue;
      const cutoff = Math.min(MAX_COMPONENT_CUTOFF, 2 * libm.log((drawn * Math.abs(flux * g.weight)) / allowed));
      if (!(cutoff > 0)) continue;
      const at = (row + 1 + count) * TABLE_ROW_LENGTH;
      table[at] = g.weight;
      table[at + 1] = g.xx;
      table[at + 2] = g.yy;
      table[at + 3] = g.xy;
      table[at + 4] = cutoff;
      reach = Math.max(reach, Math.sqrt(cutoff * Math.max(g.xx, g.yy)));
      count++;
    }
    if (count === 0) continue;
    const at = row * TABLE_ROW_LENGTH;
    table[at] = x;
    table[at + 1] = y;
    table[at + 2] = flux;
    table[at + 3] = count;
    table[at + 4] = Math.min(MAX_SOURCE_RADIUS, reach);
    row += 1 + count;
    written++;
  }
  return { table: table.subarray(0, row * TABLE_ROW_LENGTH), rows: row, sources: written };
}

/** A straight trail: satellite (sigma ~ PSF), or cosmic-ray track (small sigma). */
export interface LineSpec {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Gaussian cross-profile sigma in px, including the pixel response. */
  sigma: number;
  /** e- per pixel of length. */
  fluxPerPixelLength: number;
  /** Mask bit index (0..31) to set where the added signal exceeds `maskThreshold`; none if absent. */
  maskBit?: number;
  /** e-; default 0 (every pixel the trail touches). */
  maskThreshold?: number;
}

/** A noise seed: a non-negative safe integer (split into two u32 words) or a generator to draw them from. */
export type NoiseSeed = number | Random;

function seedWords(seed: NoiseSeed): [number, number] {
  if (seed instanceof Random) return [seed.nextUint32(), seed.nextUint32()];
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`noise seed must be a non-negative safe integer, got ${seed}`);
  return [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];
}

export interface RendererOptions {
  tolerance?: RenderTolerance;
}

export class Renderer {
  readonly width: number;
  readonly height: number;
  private readonly tessera: Tessera;
  private readonly tolerance: RenderTolerance;
  private imagePlane: Plane | undefined;
  private maskPlane: Plane | undefined;

  /** Allocates a zeroed width x height image and mask in `tessera`'s memory. */
  constructor(tessera: Tessera, width: number, height: number, options: RendererOptions = {}) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new RangeError(`Renderer: bad size ${width}x${height}`);
    }
    this.tessera = tessera;
    this.width = width;
    this.height = height;
    this.tolerance = options.tolerance ?? DEFAULT_RENDER_TOLERANCE;
    const { planes } = tessera;
    this.imagePlane = planes.plane('f32', width, height);
    try {
      this.maskPlane = planes.plane('i32', width, height);
    } catch (err) {
      planes.release(this.imagePlane.ptr);
      throw err;
    }
    planes.f32(this.imagePlane.ptr, width * height).fill(0);
    planes.i32(this.maskPlane.ptr, width * height).fill(0);
  }

  private get image(): Plane {
    if (!this.imagePlane) throw new Error('Renderer: used after dispose()');
    return this.imagePlane;
  }

  private get mask(): Plane {
    if (!this.maskPlane) throw new Error('Renderer: used after dispose()');
    return this.maskPlane;
  }

  get pixels(): number {
    return this.width * this.height;
  }

  /** Adds sources (e-, Gaussian mixtures in pixel moments); returns how many were drawn. */
  addSources(sources: readonly RenderSource[]): number {
    const { table, rows, sources: count } = buildSourceTable(sources, this.tolerance);
    if (rows === 0) return 0;
    const { planes, kernels } = this.tessera;
    const image = this.image;
    planes.scope(() => {
      const ptr = planes.allocFrom(table);
      checkStatus('renderMixtures', kernels.renderMixtures(image.ptr, this.width, this.height, ptr, rows));
    });
    return count;
  }

  /** Adds a trail and, when `line.maskBit` is given, marks where it adds more than `line.maskThreshold`. */
  addLine(line: LineSpec): void {
    const masked = line.maskBit !== undefined;
    checkStatus('addLine', this.tessera.kernels.addLine(this.image.ptr, this.width, this.height, line.x0, line.y0, line.x1, line.y1,
      line.sigma, line.fluxPerPixelLength, masked ? this.mask.ptr : 0, line.maskBit ?? 0, line.maskThreshold ?? 0));
  }

  /**
   * Spills charge above `fullWell` (e-) along columns and sets mask bit `satBit` (0..31) at the full
   * well; `columns` limits it to the columns [x0, x0 + width) (one amplifier's, with its own full well).
   */
  bleed(fullWell: number, satBit: number, columns: { x0: number; width: number } = { x0: 0, width: this.width }): void {
    const { x0, width } = columns;
    if (!Number.isInteger(x0) || !Number.isInteger(width) || x0 < 0 || width <= 0 || x0 + width > this.width) {
      throw new RangeError(`Renderer.bleed: columns [${x0}, ${x0 + width}) outside the ${this.width}-px image`);
    }
    checkStatus('bleedSaturation', this.tessera.kernels.bleedSaturation(this.image.ptr + 4 * x0, this.mask.ptr + 4 * x0, width, this.height, this.width, fullWell, satBit));
  }

  /** Replaces every pixel (its expected e-) by a Poisson deviate. */
  applyPoisson(seed: NoiseSeed): void {
    const [lo, hi] = seedWords(seed);
    checkStatus('poissonInPlace', this.tessera.kernels.poissonInPlace(this.image.ptr, this.pixels, lo, hi));
  }

  /** Adds normal read noise of `sigma` e- to every pixel. */
  addReadNoise(sigma: number, seed: NoiseSeed): void {
    const [lo, hi] = seedWords(seed);
    checkStatus('addGaussian', this.tessera.kernels.addGaussian(this.image.ptr, this.pixels, sigma, lo, hi));
  }

  /** A fresh view of the image in wasm memory; valid until the next wasm allocation. */
  imageView(): Float32Array {
    return this.tessera.planes.f32(this.image.ptr, this.pixels);
  }

  /** A fresh view of the mask in wasm memory; valid until the next wasm allocation. */
  maskView(): Int32Array {
    return this.tessera.planes.i32(this.mask.ptr, this.pixels);
  }

  /** A copy of the image, independent of wasm memory. */
  imageCopy(): Float32Array {
    return this.imageView().slice();
  }

  /** A copy of the mask, independent of wasm memory. */
  maskCopy(): Int32Array {
    return this.maskView().slice();
  }

  /** Releases both planes; the renderer cannot be used afterwards. Safe to call twice. */
  dispose(): void {
    const { planes } = this.tessera;
    if (this.imagePlane) planes.release(this.imagePlane.ptr);
    if (this.maskPlane) planes.release(this.maskPlane.ptr);
    this.imagePlane = undefined;
    this.maskPlane = undefined;
  }
}
