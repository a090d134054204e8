/**
 * Warping: resampling the image, variance and mask planes of one or more sources (the detectors of a
 * visit) onto one output pixel grid (a patch), as LSST afw::math::warpExposure does for makeWarp, through
 * the wasm kernel `warpLanczos` (assembly/warp.ts: Lanczos taps normalised to unit sum, squared taps for
 * the variance, bilinear OR for the mask, fluxes conserved by the mapping's Jacobian).
 * The mapping from output to source pixels is evaluated exactly on a grid every `interpLength` output
 * pixels (afw WarpingControl interpLength; makeWarp's default 10) and interpolated bilinearly between
 * nodes by the kernel. Each source is warped only over the output box its own pixels map into (its
 * perimeter mapped forward, grown by the kernel's reach), and wasm memory holds only the union of those
 * boxes. Output pixels no source reaches keep NaN and the NO_DATA bit, as afw pads. Coordinates are 0-based pixel centres of each plane.
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

export interface OutputBox {
  x0: number;
  y0: number;
  width: number;
  height: number;
}

/** The output box (clipped to width x height) that a source's pixels map into, grown by `margin`; undefined when none. */
export function coveredBox(source: WarpSource, width: number, height: number, margin: number): OutputBox | undefined {
  const { width: w, height: h } = source.planes;
  let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
  const visit = (x: number, y: number): void => {
    const [u, v] = source.toOutput(x, y);
    if (!Number.isFinite(u) || !Number.isFinite(v)) return;
    xmin = Math.min(xmin, u); xmax = Math.max(xmax, u); ymin = Math.min(ymin, v); ymax = Math.max(ymax, v);
  };
  // The perimeter, every 32 px (the mapping is smooth on that scale), with the pixel edges at -0.5 and n - 0.5.
  const along = (n: number): number[] => {
    const out: number[] = [];
    for (let t = -0.5; t < n - 0.5; t += 32) out.push(t);
    out.push(n - 0.5);
    return out;
  };
  for (const x of along(w)) { visit(x, -0.5); visit(x, h - 0.5); }
  for (const y of along(h)) { visit(-0.5, y); visit(w - 0.5, y); }
  if (!Number.isFinite(xmin)) return undefined;
  const x0 = Math.max(0, Math.floor(xmin - margin)), y0 = Math.max(0, Math.floor(ymin - margin));
  const x1 = Math.min(width - 1, Math.ceil(xmax + margin)), y1 = Math.min(height - 1, Math.ceil(ymax + margin));
  if (x1 < x0 || y1 < y0) return undefined;
  return { x0, y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
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
  const boxes = sources.map((source) => coveredBox(source, width, height, options.order + 1));
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
      const { grid, nx, ny } = mappingGrid(source, box, options.interpLength);
      const p = source.planes;
      planes.scope(() => {
        const si = planes.allocFrom(p.image), sv = planes.allocFrom(p.variance), sm = planes.allocFrom(p.mask), g = planes.allocFrom(grid);
        checkStatus('warpLanczos', kernels.warpLanczos(si, sv, sm, p.width, p.height, outImage, outVariance, outMask, union.width, union.height,
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
