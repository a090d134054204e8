/**
 * An image held in wasm memory for display (issue 7): its planes (image, and mask and variance when it is
 * an Exposure), display limits (zscale, min/max, percentiles), and RGBA tiles of any level of its
 * level-of-detail pyramid (level L: the means of the finite pixels of 2^L x 2^L blocks, masks OR-ed,
 * each level made from the full-resolution planes when first drawn) through a stretch's lookup table
 * (lib/display/stretch.ts), a mask plane's colour, or with two more bands a Lupton asinh colour
 * composite (lib/display/colorComposite.ts's). Every pixel loop runs in the wasm
 * (assembly/display.ts); this class only moves planes and tiles in and out. Defaults: zscale as
 * astropy's ZScaleInterval (1000 samples, contrast 0.25, max_reject 0.5, min_npixels 5, krej 2.5,
 * 5 iterations).
 */
import type { Tessera } from '../wasm/loader.js';
import { checkStatus } from '../wasm/kernels.js';
import { buildLut, cumulativeHistogram, HISTEQ_BINS, type Colormap, type StretchKind } from './stretch.js';

export type LimitsMethod = { kind: 'zscale' } | { kind: 'minmax' } | { kind: 'percentile'; low: number; high: number };

export const ZSCALE_DEFAULTS = { nSamples: 1000, contrast: 0.25, maxReject: 0.5, minNpixels: 5, krej: 2.5, maxIterations: 5 };

/** A level of the pyramid: its image and mask planes and, for a colour composite, the green and blue bands' (0: none). */
interface Level { width: number; height: number; image: number; mask: number; green: number; blue: number }

export interface Tile { x0: number; y0: number; width: number; height: number; rgba: Uint8Array }

export class DisplayImage {
  /** Level 0 and the coarser levels made so far (each straight from level 0), by level. */
  private readonly levels: (Level | undefined)[] = [];
  private lutCache: { key: string; ptr: number } | undefined;

  /**
   * Copies the planes into wasm memory (mask and variance optional, same size as the image). The image
   * may instead be the pointer of a plane of width x height f32 already in wasm memory (allocated by
   * tessera.planes), which the display image takes over and releases on dispose().
   */
  constructor(private readonly tessera: Tessera, readonly width: number, readonly height: number,
    image: Float32Array | number, private readonly mask?: Int32Array, private readonly variance?: Float32Array) {
    const n = width * height;
    if (typeof image !== 'number' && image.length !== n) throw new RangeError(`image has ${image.length} pixels, ${width} x ${height} expected`);
    if (mask && mask.length !== n) throw new RangeError('mask and image differ in size');
    const { planes } = tessera;
    let imagePtr: number;
    if (typeof image === 'number') imagePtr = image;
    else {
      imagePtr = planes.alloc(4 * n);
      planes.f32(imagePtr, n).set(image);
    }
    let maskPtr = 0;
    if (mask) {
      maskPtr = planes.alloc(4 * n);
      planes.i32(maskPtr, n).set(mask);
    }
    this.levels.push({ width, height, image: imagePtr, mask: maskPtr, green: 0, blue: 0 });
  }

  /** Replaces the image plane's values (e.g. by a background view); the pyramid and a histeq table are rebuilt on use. */
  replaceImage(image: Float32Array): void {
    if (image.length !== this.width * this.height) throw new RangeError(`replacement image has ${image.length} pixels; ${this.width} x ${this.height} expected`);
    for (const l of this.levels.splice(1)) if (l) this.releaseLevel(l);
    this.tessera.planes.f32(this.levels[0]!.image, image.length).set(image);
    if (this.lutCache) this.tessera.planes.release(this.lutCache.ptr);
    this.lutCache = undefined;
  }

  /**
   * ORs `bits` into the mask over spans of full-resolution pixels (row y[k], columns x0[k]..x1[k]
   * inclusive; clipped to the image), e.g. a warp's CLIPPED spans from its artifact mask. Coarser levels
   * are rebuilt on use. Returns the number of pixels inside the image that the spans cover.
   */
  orMaskSpans(y: ArrayLike<number>, x0: ArrayLike<number>, x1: ArrayLike<number>, bits: number): number {
    const base = this.levels[0]!;
    if (!base.mask || !this.mask) throw new RangeError('the image has no mask plane');
    for (const l of this.levels.splice(1)) if (l) this.releaseLevel(l);
    const wasmMask = this.tessera.planes.i32(base.mask, this.width * this.height);
    let n = 0;
    for (let k = 0; k < y.length; k++) {
      const row = y[k]!, a = Math.max(0, x0[k]!), b = Math.min(this.width - 1, x1[k]!);
      if (row < 0 || row >= this.height) continue;
      for (let x = a; x <= b; x++) {
        const i = row * this.width + x;
        wasmMask[i] = wasmMask[i]! | bits;
        this.mask[i] = this.mask[i]! | bits;
        n++;
      }
    }
    return n;
  }

  /** A copy of the full-resolution image plane as it is now. */
  imageCopy(): Float32Array {
    return this.tessera.planes.f32(this.levels[0]!.image, this.width * this.height).slice();
  }

  /** Adds the green and blue bands (same size; the image is red) for colour composites (renderRgbTile). */
  setColourBands(green: Float32Array, blue: Float32Array): void {
    const n = this.width * this.height;
    if (green.length !== n || blue.length !== n) throw new RangeError(`colour bands of ${green.length} and ${blue.length} pixels; the image has ${n}`);
    const { planes } = this.tessera;
    // Coarser levels are rebuilt with the new bands.
    for (const l of this.levels.splice(1)) if (l) this.releaseLevel(l);
    const base = this.levels[0]!;
    for (const p of [base.green, base.blue]) if (p) planes.release(p);
    base.green = planes.alloc(4 * n);
    planes.f32(base.green, n).set(green);
    base.blue = planes.alloc(4 * n);
    planes.f32(base.blue, n).set(blue);
  }

  private releaseLevel(l: Level): void {
    const { planes } = this.tessera;
    for (const p of [l.image, l.mask, l.green, l.blue]) if (p) planes.release(p);
  }

  /** The level whose pixels are 2^level x 2^level blocks of the image's (made on first use). */
  private level(level: number): Level {
    if (!(Number.isInteger(level) && level >= 0 && level <= 16)) throw new RangeError(`level ${level} must be an integer from 0 to 16`);
    const made = this.levels[level];
    if (made) return made;
    // Straight from level 0: the mean of each 2^level block's finite pixels (one pass, whatever the level).
    const base = this.levels[0]!, factor = 2 ** level;
    const { width, height } = this.levelSize(level);
    const { planes, kernels } = this.tessera;
    const bin = (p: number, mask: number, outMask: number): number => {
      const out = planes.alloc(4 * width * height);
      planes.scope(() => checkStatus('binMean', kernels.binMean(p, mask, base.width, base.height, factor, out, outMask, planes.alloc(16 * width))));
      return out;
    };
    const mask = base.mask ? planes.alloc(4 * width * height) : 0;
    const l: Level = { width, height, image: bin(base.image, base.mask, mask), mask, green: base.green ? bin(base.green, 0, 0) : 0, blue: base.blue ? bin(base.blue, 0, 0) : 0 };
    this.levels[level] = l;
    return l;
  }

  /** Levels needed for the whole image to fit in `size` pixels. */
  levelsToFit(size: number): number {
    return Math.max(0, Math.ceil(Math.log2(Math.max(this.width, this.height) / size)));
  }

  levelSize(level: number): { width: number; height: number } {
    const factor = 2 ** level;
    return { width: Math.ceil(this.width / factor), height: Math.ceil(this.height / factor) };
  }


  /** Display limits [lo, hi] of the full-resolution pixels (finite ones only; NaN when none). */
  limits(method: LimitsMethod): [number, number] {
    const { planes, kernels } = this.tessera;
    const base = this.levels[0]!, n = this.width * this.height;
    return planes.scope(() => {
      const out = planes.alloc(24);
      switch (method.kind) {
        case 'zscale': {
          const z = ZSCALE_DEFAULTS, scratch = planes.alloc(6 * z.nSamples);
          checkStatus('zscale', kernels.zscale(base.image, n, z.nSamples, z.contrast, z.maxReject, z.minNpixels, z.krej, z.maxIterations, scratch, out));
          break;
        }
        case 'minmax': {
          checkStatus('finiteRange', kernels.finiteRange(base.image, n, out));
          const [, lo, hi] = planes.f64(out, 3);
          return [lo!, hi!];
        }
        case 'percentile': {
          const scratch = planes.alloc(4 * n);
          checkStatus('percentiles', kernels.percentiles(base.image, n, method.low, method.high, scratch, out));
          break;
        }
      }
      const [lo, hi] = planes.f64(out, 2);
      return [lo!, hi!];
    });
  }

  /** The stretch's lookup table in wasm memory (the last one kept; histeq's depends on the limits). */
  private lut(kind: StretchKind, colormap: Colormap, lo: number, hi: number): number {
    const key = kind === 'histeq' ? `${kind}/${colormap}/${lo}/${hi}` : `${kind}/${colormap}`;
    if (this.lutCache?.key === key) return this.lutCache.ptr;
    const { planes, kernels } = this.tessera;
    let cumulative: Float64Array | undefined;
    if (kind === 'histeq') {
      cumulative = planes.scope(() => {
        const bins = planes.alloc(4 * HISTEQ_BINS);
        if (hi > lo) checkStatus('histogram', kernels.histogram(this.levels[0]!.image, this.width * this.height, lo, hi, bins, HISTEQ_BINS));
        else planes.u8(bins, 4 * HISTEQ_BINS).fill(0);
        return cumulativeHistogram(new Uint32Array(planes.u8(bins, 4 * HISTEQ_BINS).slice().buffer));
      });
    }
    const table = buildLut(kind, colormap, cumulative);
    const ptr = this.lutCache?.ptr ?? planes.alloc(4 * table.length);
    new Uint32Array(planes.u8(ptr, 4 * table.length).buffer, ptr, table.length).set(table);
    this.lutCache = { key, ptr };
    return ptr;
  }

  /** The region's pixels of `level`, clipped to it, as RGBA through the stretch (NaN: transparent black). */
  renderTile(level: number, x0: number, y0: number, width: number, height: number, stretch: { kind: StretchKind; colormap: Colormap; lo: number; hi: number }): Tile {
    const lut = this.lut(stretch.kind, stretch.colormap, stretch.lo, stretch.hi);
    return this.tile(level, x0, y0, width, height, 'image', (src, n, out) => checkStatus('lutToRgba', this.tessera.kernels.lutToRgba(src, n, stretch.lo, stretch.hi, lut, 0, out)));
  }

  /** The region's pixels of `level` as a Lupton asinh colour composite (image red, colour bands green and blue). */
  renderRgbTile(level: number, x0: number, y0: number, width: number, height: number, lupton: { stretch: number; q: number; minimum: number }): Tile {
    const l = this.level(level);
    if (!l.green || !l.blue) throw new RangeError('the image has no colour bands (setColourBands)');
    const { planes, kernels } = this.tessera;
    const xa = Math.max(0, x0), ya = Math.max(0, y0), xb = Math.min(l.width, x0 + width), yb = Math.min(l.height, y0 + height);
    const w = Math.max(0, xb - xa), h = Math.max(0, yb - ya);
    const rgba = new Uint8Array(4 * w * h);
    if (w === 0 || h === 0) return { x0: xa, y0: ya, width: w, height: h, rgba };
    planes.scope(() => {
      const cut = (plane: number): number => {
        const ptr = planes.alloc(4 * w * h), from = planes.f32(plane, l.width * l.height), to = planes.f32(ptr, w * h);
        for (let y = 0; y < h; y++) to.set(from.subarray((ya + y) * l.width + xa, (ya + y) * l.width + xa + w), y * w);
        return ptr;
      };
      const r = cut(l.image), g = cut(l.green), b = cut(l.blue), out = planes.alloc(4 * w * h);
      checkStatus('luptonRgb', kernels.luptonRgb(r, g, b, w * h, lupton.minimum, lupton.minimum, lupton.minimum, lupton.stretch, lupton.q, out));
      rgba.set(planes.u8(out, 4 * w * h));
    });
    return { x0: xa, y0: ya, width: w, height: h, rgba };
  }

  /** The region's pixels of `level` with any of `bits` set, in `colour` (RGBA word); others transparent. */
  renderMaskTile(level: number, x0: number, y0: number, width: number, height: number, bits: number, colour: number): Tile {
    if (!this.levels[0]!.mask) throw new RangeError('the image has no mask plane');
    return this.tile(level, x0, y0, width, height, 'mask', (src, n, out) => checkStatus('maskToRgba', this.tessera.kernels.maskToRgba(src, n, bits, colour, out)));
  }

  private tile(level: number, x0: number, y0: number, width: number, height: number, plane: 'image' | 'mask', kernel: (src: number, n: number, out: number) => void): Tile {
    const l = this.level(level);
    const xa = Math.max(0, x0), ya = Math.max(0, y0), xb = Math.min(l.width, x0 + width), yb = Math.min(l.height, y0 + height);
    const w = Math.max(0, xb - xa), h = Math.max(0, yb - ya);
    const { planes } = this.tessera;
    const rgba = new Uint8Array(4 * w * h);
    if (w === 0 || h === 0) return { x0: xa, y0: ya, width: w, height: h, rgba };
    planes.scope(() => {
      const src = planes.alloc(4 * w * h), out = planes.alloc(4 * w * h);
      const from = plane === 'image' ? planes.f32(l.image, l.width * l.height) : planes.i32(l.mask, l.width * l.height);
      const to = plane === 'image' ? planes.f32(src, w * h) : planes.i32(src, w * h);
      for (let y = 0; y < h; y++) to.set(from.subarray((ya + y) * l.width + xa, (ya + y) * l.width + xa + w), y * w);
      kernel(src, w * h, out);
      rgba.set(planes.u8(out, 4 * w * h));
    });
    return { x0: xa, y0: ya, width: w, height: h, rgba };
  }

  /** Value, variance and mask word at full-resolution pixel (x, y) (0-based); undefined outside. */
  pixel(x: number, y: number): { value: number; variance?: number; mask?: number } | undefined {
    if (!(Number.isInteger(x) && Number.isInteger(y)) || x < 0 || y < 0 || x >= this.width || y >= this.height) return undefined;
    const i = y * this.width + x;
    const value = this.tessera.planes.f32(this.levels[0]!.image, this.width * this.height)[i]!; // the plane shown
    return { value, ...(this.variance ? { variance: this.variance[i]! } : {}), ...(this.mask ? { mask: this.mask[i]! } : {}) };
  }

  /** Returns the wasm memory it holds. */
  dispose(): void {
    const { planes } = this.tessera;
    for (const l of this.levels) if (l) this.releaseLevel(l);
    this.levels.length = 0;
    if (this.lutCache) planes.release(this.lutCache.ptr);
    this.lutCache = undefined;
  }
}
