/**
 * Warping: resampling the image, variance and mask planes of one or more sources (the detectors of a
 * visit) onto one output pixel grid (a patch), as LSST afw::math::warpExposure does for makeWarp, through
 * the wasm kernel `warpLanczos` (assembly/warp.ts: Lanczos taps normalised to unit sum, squared taps for
 * the variance, bilinear OR for the mask, fluxes conserved by the mapping's Jacobian).
 * The mapping from output to source pixels is evaluated exactly on a grid every `interpLength` output
 * pixels (afw WarpingControl interpLength; makeWarp's default 10) and interpolated bilinearly between
 * nodes by the kernel. Each source is warped only over the output box its own pixels map into (its
 * perimeter mapped forward, grown by the kernel's reach), and wasm memory holds only the union of those
 * boxes and, of each source, the pixels its box's taps read. A source may be a cut-out of a larger one
 * (its planes' origin x0, y0). Output pixels no source reaches keep NaN and the NO_DATA bit, as afw pads. Coordinates are 0-based pixel centres of each plane.
 * Defaults: Lanczos order 3 (afw "lanczos3", makeWarp's warpingKernelName), interpLength 10.
 */
import type { Tessera } from '../wasm/loader.js';
import { checkStatus } from '../wasm/kernels.js';
import type { Wcs } from '../wcs/index.js';

export interface WarpPlanes {
  width: number;
  height: number;
  image: Float32Array;
  variance: Float32Array;
  mask: Int32Array;
}

export interface WarpSource {
  planes: WarpPlanes;
  /**
   * The source pixel that the planes' pixel (0, 0) is, when they are a cut-out of a larger source (default
   * (0, 0)); toSource and toOutput speak the whole source's pixels.
   */
  x0?: number;
  y0?: number;
  /**
   * The output box to warp over (default coveredBox's): a cut-out given its whole source's box warps the
   * same pixels bit for bit (the mapping's grid nodes sit every interpLength px from the box's corner).
   */
  box?: OutputBox;
  /** Output pixel -> source pixel. */
  toSource(x: number, y: number): readonly [number, number];
  /** Source pixel -> output pixel (used only to find the output box the source covers). */
  toOutput(x: number, y: number): readonly [number, number];
  /** Multiplies the values (variances by its square), e.g. a photometric calibration to nJy; default 1. */
  scale?: number;
}

/**
 * The mapping between a source's pixels (under `sourceWcs`) and an output's whose pixel (0, 0) is pixel
 * (x0, y0) of `outputWcs` (a patch of a tract): output -> sky -> source, and back.
 */
export function wcsMapping(sourceWcs: Wcs, outputWcs: Wcs, x0: number, y0: number): Pick<WarpSource, 'toSource' | 'toOutput'> {
  return {
    toSource: (u, v) => {
      const [ra, dec] = outputWcs.pixelToSky(u + x0, v + y0);
      return sourceWcs.skyToPixel(ra, dec);
    },
    toOutput: (x, y) => {
      const [ra, dec] = sourceWcs.pixelToSky(x, y);
      const [tx, ty] = outputWcs.skyToPixel(ra, dec);
      return [tx - x0, ty - y0];
    },
  };
}

export interface WarpOptions {
  /** Lanczos order (1-5); 3 is afw's lanczos3. */
  order: number;
  /** Output pixels between exact evaluations of the mapping. */
  interpLength: number;
  /** The NO_DATA mask bit value (a power of two) set where no source reaches. */
  noDataBit: number;
}

export const DEFAULT_WARP_OPTIONS: Readonly<Omit<WarpOptions, 'noDataBit'>> = Object.freeze({ order: 3, interpLength: 10 });

/** A box of whole pixels: columns x0 .. x0 + width - 1, rows y0 .. y0 + height - 1. */
export interface PixelBox {
  x0: number;
  y0: number;
  width: number;
  height: number;
}

/** A box of output pixels. */
export type OutputBox = PixelBox;

/**
 * The pixel box that a box's perimeter (from (x0, y0) to (x1, y1), every 32 px: the mappings are smooth on
 * that scale) maps into through `map`, grown by `margin` and clipped to `limit`; undefined when none.
 */
function mappedBox(map: (x: number, y: number) => readonly [number, number], x0: number, y0: number, x1: number, y1: number, margin: number, limit: PixelBox): PixelBox | undefined {
  let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
  const visit = (x: number, y: number): void => {
    const [u, v] = map(x, y);
    if (!Number.isFinite(u) || !Number.isFinite(v)) return;
    xmin = Math.min(xmin, u); xmax = Math.max(xmax, u); ymin = Math.min(ymin, v); ymax = Math.max(ymax, v);
  };
  const along = (from: number, to: number): number[] => {
    const out: number[] = [];
    for (let t = from; t < to; t += 32) out.push(t);
    out.push(to);
    return out;
  };
  for (const x of along(x0, x1)) { visit(x, y0); visit(x, y1); }
  for (const y of along(y0, y1)) { visit(x0, y); visit(x1, y); }
  if (!Number.isFinite(xmin)) return undefined;
  const bx0 = Math.max(limit.x0, Math.floor(xmin - margin)), by0 = Math.max(limit.y0, Math.floor(ymin - margin));
  const bx1 = Math.min(limit.x0 + limit.width - 1, Math.ceil(xmax + margin)), by1 = Math.min(limit.y0 + limit.height - 1, Math.ceil(ymax + margin));
  if (bx1 < bx0 || by1 < by0) return undefined;
  return { x0: bx0, y0: by0, width: bx1 - bx0 + 1, height: by1 - by0 + 1 };
}

/** The source's own pixels: its planes' box in the source's pixels. */
function planesBox(source: WarpSource): PixelBox {
  return { x0: source.x0 ?? 0, y0: source.y0 ?? 0, width: source.planes.width, height: source.planes.height };
}

/** The output box (clipped to width x height) that a source's pixels map into (their outer edges), grown by `margin`; undefined when none. */
export function coveredBox(source: WarpSource, width: number, height: number, margin: number): OutputBox | undefined {
  const b = planesBox(source);
  return mappedBox(source.toOutput, b.x0 - 0.5, b.y0 - 0.5, b.x0 + b.width - 0.5, b.y0 + b.height - 0.5, margin, { x0: 0, y0: 0, width, height });
}

/**
 * The source pixels (of its planes) that the output `box` reads: the box's pixel centres mapped to the
 * source, grown by `margin` (at least the Lanczos order + 1 for every tap); undefined when none.
 */
export function sourceBox(source: WarpSource, box: OutputBox, margin: number): PixelBox | undefined {
  return mappedBox(source.toSource, box.x0, box.y0, box.x0 + box.width - 1, box.y0 + box.height - 1, margin, planesBox(source));
}

/** Copies the pixels of `plane` (`width` wide, its pixel (0, 0) at (x0, y0)) inside `box` into `out`, row by row. */
function copyBox<T extends Float32Array | Int32Array>(plane: T, width: number, x0: number, y0: number, box: PixelBox, out: T): T {
  for (let y = 0; y < box.height; y++) {
    const from = (box.y0 - y0 + y) * width + box.x0 - x0;
    out.set(plane.subarray(from, from + box.width), y * box.width);
  }
  return out;
}

/** The planes' pixels inside `box` (the planes' own pixels), as new planes; the planes themselves when the box is all of them. */
export function cutOut(planes: WarpPlanes, box: PixelBox): WarpPlanes {
  if (box.x0 === 0 && box.y0 === 0 && box.width === planes.width && box.height === planes.height) return planes;
  const n = box.width * box.height, w = planes.width;
  return {
    width: box.width, height: box.height,
    image: copyBox(planes.image, w, 0, 0, box, new Float32Array(n)), variance: copyBox(planes.variance, w, 0, 0, box, new Float32Array(n)),
    mask: copyBox(planes.mask, w, 0, 0, box, new Int32Array(n)),
  };
}

/** The pixels of `plane` (`width` wide, its pixel (0, 0) at (x0, y0)) inside `box`, as a new wasm block. */
function allocBox(tessera: Tessera, plane: Float32Array | Int32Array, width: number, x0: number, y0: number, box: PixelBox): number {
  const { planes } = tessera;
  if (box.width === width && box.height * width === plane.length) return planes.allocFrom(plane);
  const ptr = planes.alloc(4 * box.width * box.height), n = box.width * box.height;
  if (plane instanceof Float32Array) copyBox(plane, width, x0, y0, box, planes.f32(ptr, n));
  else copyBox(plane, width, x0, y0, box, planes.i32(ptr, n));
  return ptr;
}

/** Source positions of the output box's grid nodes (f64 pairs), as warpLanczos reads them. */
export function mappingGrid(source: WarpSource, box: OutputBox, step: number): { grid: Float64Array; nx: number; ny: number } {
  const nx = Math.ceil((box.width - 1) / step) + 1, ny = Math.ceil((box.height - 1) / step) + 1;
  const grid = new Float64Array(2 * nx * ny);
  for (let j = 0; j < ny; j++) {
    const v = Math.min(j * step, box.height - 1);
    for (let i = 0; i < nx; i++) {
      const u = Math.min(i * step, box.width - 1);
      const [sx, sy] = source.toSource(box.x0 + u, box.y0 + v);
      grid[2 * (j * nx + i)] = sx;
      grid[2 * (j * nx + i) + 1] = sy;
    }
  }
  return { grid, nx, ny };
}

/** Warps every source onto a new width x height output (NaN and NO_DATA where none reaches); earlier sources win overlaps. */
export function warpSources(tessera: Tessera, sources: readonly WarpSource[], width: number, height: number, options: WarpOptions): WarpPlanes & { boxes: (OutputBox | undefined)[] } {
  if (!(Number.isInteger(options.order) && options.order >= 1 && options.order <= 5)) throw new RangeError(`warp: Lanczos order must be an integer 1-5, got ${options.order}`);
  if (!(Number.isInteger(options.interpLength) && options.interpLength >= 1)) throw new RangeError(`warp: interpLength must be a positive integer, got ${options.interpLength}`);
  const { planes, kernels } = tessera;
  const n = width * height;
  const boxes = sources.map((source) => source.box ?? coveredBox(source, width, height, options.order + 1));
  const image = new Float32Array(n), variance = new Float32Array(n), mask = new Int32Array(n);
  const union = unionBox(boxes) ?? { x0: 0, y0: 0, width: 0, height: 0 };
  fillOutside(image, width, union, NaN);
  fillOutside(variance, width, union, NaN);
  fillOutside(mask, width, union, options.noDataBit);
  if (union.width === 0) return { width, height, boxes, image, variance, mask };
  // Wasm holds only the union of the sources' boxes: the rest of the output is NaN and NO_DATA already.
  const m = union.width * union.height;
  planes.scope(() => {
    const outImage = planes.alloc(4 * m), outVariance = planes.alloc(4 * m), outMask = planes.alloc(4 * m);
    planes.f32(outImage, m).fill(NaN);
    planes.f32(outVariance, m).fill(NaN);
    planes.i32(outMask, m).fill(options.noDataBit);
    sources.forEach((source, k) => {
      const box = boxes[k];
      if (!box) return;
      // Only the source pixels the box's taps read go to wasm; narrower than the taps, none fits: no data.
      const cut = sourceBox(source, box, options.order + 2);
      if (!cut || cut.width < 2 * options.order || cut.height < 2 * options.order) return;
      const { grid, nx, ny } = mappingGrid(source, box, options.interpLength);
      const p = source.planes, px0 = source.x0 ?? 0, py0 = source.y0 ?? 0;
      planes.scope(() => {
        const si = allocBox(tessera, p.image, p.width, px0, py0, cut), sv = allocBox(tessera, p.variance, p.width, px0, py0, cut);
        const sm = allocBox(tessera, p.mask, p.width, px0, py0, cut), g = planes.allocFrom(grid);
        checkStatus('warpLanczos', kernels.warpLanczos(si, sv, sm, cut.width, cut.height, cut.x0, cut.y0, outImage, outVariance, outMask, union.width, union.height,
          box.x0 - union.x0, box.y0 - union.y0, box.width, box.height, g, nx, ny, options.interpLength, options.order, options.noDataBit, source.scale ?? 1));
      });
    });
    const rows = (out: Float32Array | Int32Array, from: Float32Array | Int32Array): void => {
      if (union.width === width) { out.set(from, union.y0 * width); return; }
      for (let y = 0; y < union.height; y++) out.set(from.subarray(y * union.width, (y + 1) * union.width), (union.y0 + y) * width + union.x0);
    };
    rows(image, planes.f32(outImage, m));
    rows(variance, planes.f32(outVariance, m));
    rows(mask, planes.i32(outMask, m));
  });
  return { width, height, boxes, image, variance, mask };
}

/** Sets the pixels of a plane `width` wide outside `box` to `value`. */
function fillOutside(plane: Float32Array | Int32Array, width: number, box: OutputBox, value: number): void {
  plane.fill(value, 0, box.y0 * width);
  for (let y = box.y0; y < box.y0 + box.height; y++) {
    plane.fill(value, y * width, y * width + box.x0);
    plane.fill(value, y * width + box.x0 + box.width, (y + 1) * width);
  }
  plane.fill(value, (box.y0 + box.height) * width);
}

/** The smallest box holding every given box; undefined when none is given. */
export function unionBox(boxes: readonly (OutputBox | undefined)[]): OutputBox | undefined {
  const given = boxes.filter((b) => b !== undefined);
  if (given.length === 0) return undefined;
  const x0 = Math.min(...given.map((b) => b.x0)), y0 = Math.min(...given.map((b) => b.y0));
  const x1 = Math.max(...given.map((b) => b.x0 + b.width)), y1 = Math.max(...given.map((b) => b.y0 + b.height));
  return { x0, y0, width: x1 - x0, height: y1 - y0 };
}
