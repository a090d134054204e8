/**
 * The browser worker that holds Tessera's wasm and lib/ code (DESIGN.md: web/ computes in a comlink
 * worker). expose() runs first; the loader and the wasm are imported dynamically, so the first message
 * is never lost while they load. Besides inspecting files, it holds the images the viewer shows
 * (lib/display: planes and pyramid in wasm memory) and makes every pixel the viewer draws: limits,
 * stretched tiles, mask tiles, the readout. Tile requests carry the view's generation; one older than
 * the latest `cancelBefore` for that image is dropped unanswered (null), so panning on never waits for
 * stale tiles.
 */
import { expose, transfer } from 'comlink';
import type { Inspection } from '../lib/inspect.js';
import type { DisplayImage, LimitsMethod } from '../lib/display/displayImage.js';
import type { Colormap, StretchKind } from '../lib/display/stretch.js';
import type { Wcs } from '../lib/wcs/index.js';
import type { BackgroundView } from '../lib/display/backgroundViews.js';
import type { DisplayPlanes } from '../lib/display/imageSource.js';
import type { ByteSource } from '../lib/fits/source.js';
import type { SimulatedCcdProgress, SimulatedCcdStep } from '../lib/pipeline/simulatedCcd.js';
import type { DataId } from '../lib/pipeline/errors.js';

async function loadKernels() {
  const [{ instantiateTessera }, { default: wasmUrl }] = await Promise.all([
    import('../lib/wasm/loader.js'),
    import('../build/tessera.wasm?url'),
  ]);
  const response = await fetch(wasmUrl);
  if (!response.ok) throw new Error(`${wasmUrl}: HTTP ${response.status}`);
  return instantiateTessera(await response.arrayBuffer());
}

let kernels: ReturnType<typeof loadKernels> | undefined;

interface Held {
  display: DisplayImage; x0: number; y0: number; wcs?: Wcs; maskPlanes: Record<string, number>;
  /** The image as read (copied when a background view first replaces it), and its mask: the background views start from them. */
  original?: Float32Array; mask?: Int32Array;
  /** The background model on the image's grid, once a background view needed it. */
  background?: Float32Array;
}
const images = new Map<number, Held>();
/** Files dropped on the page: their bytes, moved here (not copied) to be inspected, kept until opened or forgotten. */
const files = new Map<number, { name: string; bytes: Uint8Array }>();
let nextFile = 1;
/** An image to open: a URL (read by byte ranges) or a dropped file held here (`receive`). */
export type ImageInput = { url: string } | { file: number };

/** Keeps a file's bytes here (a dropped file, or one made in the page) under a new number. */
function hold(name: string, bytes: Uint8Array): number {
  const file = nextFile++;
  files.set(file, { name, bytes });
  return file;
}

/** The bytes of dropped file `file`, which the worker no longer holds after this. */
function takeFile(file: number): { name: string; bytes: Uint8Array } {
  const f = files.get(file);
  if (!f) throw new Error(`no dropped file ${file} is held`);
  files.delete(file);
  return f;
}

async function sourceOf(input: ImageInput): Promise<ByteSource> {
  if ('url' in input) return (await import('../lib/fits/httpSource.js')).httpSource(input.url);
  const { name, bytes } = takeFile(input.file);
  return (await import('../lib/fits/source.js')).bytesSource(name, bytes);
}
let nextId = 1;
/** Per open image: requests of views older than this are dropped (each view numbers its own). */
const liveGeneration = new Map<number, number>();

export interface OpenedImage {
  id: number;
  name: string;
  width: number;
  height: number;
  x0: number;
  y0: number;
  hdu: number;
  hasMask: boolean;
  hasVariance: boolean;
  hasWcs: boolean;
  maskPlanes: Record<string, number>;
  summary: Record<string, string | number | boolean>;
}

export interface Readout {
  /** 0-based pixel in the image array. */
  x: number;
  y: number;
  /** LSST parent coordinates (x + x0, y + y0) and FITS 1-based (x + 1, y + 1). */
  parentX: number;
  parentY: number;
  fitsX: number;
  fitsY: number;
  value: number;
  variance?: number;
  mask?: number;
  maskNames: string[];
  ra?: number;
  dec?: number;
}

export interface SimulatedCcdAnswer {
  /** The calexp and src, held here as dropped files are. */
  calexp: number;
  src: number;
  dataId: DataId;
  timings: Record<SimulatedCcdStep, number>;
  /** Every dataset made, with a file name for saving. */
  datasets: { type: string; name: string; bytes: Uint8Array }[];
}

export interface StretchSettings { kind: StretchKind; colormap: Colormap; lo: number; hi: number }
/** A Lupton asinh colour composite of the image (red) and its two colour bands (addColourBands). */
export interface LuptonSettings { kind: 'lupton'; stretch: number; q: number; minimum: number }
export type DisplaySettings = StretchSettings | LuptonSettings;
export interface TileAnswer { x0: number; y0: number; width: number; height: number; rgba: Uint8Array }

function held(id: number): Held {
  const h = images.get(id);
  if (!h) throw new Error(`no open image ${id}`);
  return h;
}

const api = {
  /** Loads the wasm (once) and says which build it is. */
  async kernelInfo(): Promise<{ simd: boolean; memoryBytes: number }> {
    kernels ??= loadKernels();
    const t = await kernels;
    return { simd: t.kernels.simdEnabled() === 1, memoryBytes: t.planes.memoryBytes };
  },
  /**
   * Takes a dropped file's bytes (transfer them: a copy of a large file costs more than reading it) and
   * lists its HDUs and WCS centre/corners as `tessera inspect --json` does; the bytes stay here under the
   * returned number until `open`, `readCatalog` or `forget` takes them.
   */
  async receive(name: string, bytes: Uint8Array): Promise<{ file: number; inspection: Inspection }> {
    const [{ inspectFits }, { bytesSource }] = await Promise.all([import('../lib/inspect.js'), import('../lib/fits/source.js')]);
    return { file: hold(name, bytes), inspection: await inspectFits(bytesSource(name, bytes)) };
  },
  forget(file: number): void {
    files.delete(file);
  },
  /**
   * Opens an image for display from a URL (byte ranges) or a dropped file. A dropped file's image plane
   * is read straight into wasm memory (readDisplayPlanes' imageInto), which the display image then owns.
   */
  async open(input: ImageInput): Promise<OpenedImage> {
    kernels ??= loadKernels();
    const [tessera, { readDisplayPlanes }, { DisplayImage }, source] = await Promise.all([
      kernels, import('../lib/display/imageSource.js'), import('../lib/display/displayImage.js'), sourceOf(input),
    ]);
    const { planes: allocator } = tessera;
    let imagePtr = 0;
    const imageInto = (bytes: number): Uint8Array => {
      imagePtr = allocator.alloc(bytes);
      return allocator.u8(imagePtr, bytes);
    };
    let planes: DisplayPlanes;
    try {
      // Only a dropped file's bytes are read straight into wasm memory: they are read synchronously, so no
      // other request can grow the memory (and detach the view) in between, as it could between the
      // byte-range fetches of a URL.
      planes = await readDisplayPlanes(source, 'file' in input ? { imageInto } : {});
    } catch (err) {
      if (imagePtr) allocator.release(imagePtr);
      throw err;
    }
    let image: Float32Array | number = planes.image;
    if (imagePtr) {
      // Pixels that needed converting came back in a fresh array: the plane read into is not needed.
      if (planes.image.buffer === allocator.u8(imagePtr, 0).buffer && planes.image.byteOffset === imagePtr) image = imagePtr;
      else allocator.release(imagePtr);
    }
    const display = new DisplayImage(tessera, planes.width, planes.height, image, planes.mask, planes.variance);
    const id = nextId++;
    images.set(id, {
      display, x0: planes.x0, y0: planes.y0, ...(planes.wcs ? { wcs: planes.wcs } : {}), maskPlanes: planes.maskPlanes,
      ...(planes.mask ? { mask: planes.mask } : {}),
    });
    return {
      id, name: planes.name, width: planes.width, height: planes.height, x0: planes.x0, y0: planes.y0, hdu: planes.hdu,
      hasMask: planes.mask !== undefined, hasVariance: planes.variance !== undefined, hasWcs: planes.wcs !== undefined,
      maskPlanes: planes.maskPlanes, summary: planes.summary,
    };
  },
  close(id: number): void {
    images.get(id)?.display.dispose();
    images.delete(id);
    liveGeneration.delete(id);
  },
  limits(id: number, method: LimitsMethod): [number, number] {
    return held(id).display.limits(method);
  },
  /** Levels of the pyramid for the image to fit in `size` pixels, and each level's size. */
  levels(id: number, size: number): { width: number; height: number }[] {
    const d = held(id).display;
    return Array.from({ length: d.levelsToFit(size) + 1 }, (_, level) => d.levelSize(level));
  },
  /** Requests for image `id` from views older than `generation` are dropped from now on. */
  cancelBefore(id: number, generation: number): void {
    liveGeneration.set(id, Math.max(liveGeneration.get(id) ?? 0, generation));
  },
  tile(id: number, generation: number, level: number, x0: number, y0: number, size: number, settings: DisplaySettings): TileAnswer | null {
    if (generation < (liveGeneration.get(id) ?? 0)) return null;
    const d = held(id).display;
    const t = settings.kind === 'lupton' ? d.renderRgbTile(level, x0, y0, size, size, settings) : d.renderTile(level, x0, y0, size, size, settings);
    return transfer(t, [t.rgba.buffer]);
  },
  /** Adds the green and blue bands (same size as the image, which is red) for colour composites. */
  async addColourBands(id: number, green: ImageInput, blue: ImageInput): Promise<void> {
    const { readDisplayPlanes } = await import('../lib/display/imageSource.js');
    const read = async (input: ImageInput) => readDisplayPlanes(await sourceOf(input));
    const [g, b] = await Promise.all([read(green), read(blue)]);
    const h = held(id);
    for (const band of [g, b]) {
      if (band.width !== h.display.width || band.height !== h.display.height || band.x0 !== h.x0 || band.y0 !== h.y0) {
        throw new Error(`${band.name}: ${band.width} x ${band.height} at (${band.x0}, ${band.y0}), the red band ${h.display.width} x ${h.display.height} at (${h.x0}, ${h.y0}): not the same grid`);
      }
    }
    h.display.setColourBands(g.image, b.image);
  },
  maskTile(id: number, generation: number, level: number, x0: number, y0: number, size: number, bits: number, colour: number): TileAnswer | null {
    if (generation < (liveGeneration.get(id) ?? 0)) return null;
    const t = held(id).display.renderMaskTile(level, x0, y0, size, size, bits, colour);
    return transfer(t, [t.rgba.buffer]);
  },
  /**
   * Shows a background view (lib/display/backgroundViews.ts) instead of the image: the model comes from
   * `backgroundUrl` (a Background dataset: every model in it summed) the first time one is needed.
   */
  async backgroundView(id: number, view: BackgroundView, backgroundUrl?: string): Promise<void> {
    kernels ??= loadKernels();
    const [tessera, { backgroundView }, { readBackground, backgroundImage }] = await Promise.all([
      kernels, import('../lib/display/backgroundViews.js'), import('../lib/measure/background.js'),
    ]);
    const h = held(id);
    h.original ??= h.display.imageCopy();
    if ((view === 'background' || view === 'image+background') && !h.background) {
      if (!backgroundUrl) throw new Error('this image has no background model to show');
      const res = await fetch(backgroundUrl);
      if (!res.ok) throw new Error(`${backgroundUrl}: HTTP ${res.status}`);
      const models = readBackground(new Uint8Array(await res.arrayBuffer()), backgroundUrl);
      const sum = new Float32Array(h.display.width * h.display.height);
      for (const m of models) {
        if (m.width !== h.display.width || m.height !== h.display.height) throw new Error(`${backgroundUrl}: a ${m.width} x ${m.height} model for a ${h.display.width} x ${h.display.height} image`);
        const plane = backgroundImage(tessera, m);
        for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + plane[i]!;
      }
      h.background = sum;
    }
    h.display.replaceImage(backgroundView(tessera, view, h.display.width, h.display.height, h.original, {
      ...(h.background ? { background: h.background } : {}), ...(h.mask ? { mask: h.mask } : {}), maskPlanes: h.maskPlanes,
    }));
  },
  /**
   * Marks spans of parent-frame pixels (row y, columns x0..x1 inclusive: an artifact mask's rows) in
   * mask plane `plane` of image `id`, adding the plane at the lowest free bit when the mask has none of
   * that name. Returns the mask planes and the number of image pixels marked.
   */
  addMaskSpans(id: number, plane: string, spans: { y: number[]; x0: number[]; x1: number[] }): { maskPlanes: Record<string, number>; pixels: number } {
    const h = held(id);
    let bit = h.maskPlanes[plane];
    if (bit === undefined) {
      const used = new Set(Object.values(h.maskPlanes));
      const free = Array.from({ length: 31 }, (_, b) => b).find((b) => !used.has(b));
      if (free === undefined) throw new Error(`the mask has no free bit for ${plane}`);
      h.maskPlanes[plane] = bit = free;
    }
    const pixels = h.display.orMaskSpans(spans.y.map((v) => v - h.y0), spans.x0.map((v) => v - h.x0), spans.x1.map((v) => v - h.x0), 1 << bit);
    return { maskPlanes: { ...h.maskPlanes }, pixels };
  },
  /**
   * A catalogue file's rows for the overlay (a dropped FITS table): Tessera/LSST columns as they are;
   * SExtractor's X_IMAGE, Y_IMAGE (1-based) as base_SdssCentroid_x/y (0-based), X2/Y2/XY_IMAGE as the
   * moments, FLUX_AUTO and FLUXERR_AUTO as the flux and its error, FLAGS > 0 as a flag. Undefined when
   * the file has no table with positions.
   */
  async readCatalog(dropped: number): Promise<{ rows: number; columns: Record<string, (number | boolean | null)[]> } | undefined> {
    const { readFitsBytes } = await import('../lib/fits/file.js');
    const { name, bytes } = takeFile(dropped);
    const file = readFitsBytes(name, bytes);
    for (const hdu of file.hdus) {
      if (hdu.type !== 'BINTABLE') continue;
      const table = file.readTable(hdu.index);
      const col = (n: string): (number | boolean | null)[] | undefined => {
        const c = table.columns.find((t) => t.name === n);
        if (!c || (c.repeat ?? 1) !== 1) return undefined;
        return Array.from(c.values as ArrayLike<unknown>, (v) => (typeof v === 'boolean' ? v : typeof v === 'bigint' ? Number(v) : Number.isFinite(v as number) ? v as number : null));
      };
      const columns: Record<string, (number | boolean | null)[]> = {};
      if (col('base_SdssCentroid_x') && col('base_SdssCentroid_y')) {
        for (const c of table.columns) { const v = col(c.name); if (v) columns[c.name] = v; }
        return { rows: table.nrows, columns };
      }
      const x = col('X_IMAGE'), y = col('Y_IMAGE');
      if (!x || !y) continue;
      columns.base_SdssCentroid_x = x.map((v) => (v === null ? null : Number(v) - 1));
      columns.base_SdssCentroid_y = y.map((v) => (v === null ? null : Number(v) - 1));
      for (const [from, to] of [['X2_IMAGE', 'base_SdssShape_xx'], ['Y2_IMAGE', 'base_SdssShape_yy'], ['XY_IMAGE', 'base_SdssShape_xy'], ['FLUX_AUTO', 'base_PsfFlux_instFlux'], ['FLUXERR_AUTO', 'base_PsfFlux_instFluxErr'], ['NUMBER', 'id']] as const) {
        const v = col(from);
        if (v) columns[to] = v;
      }
      const flags = col('FLAGS');
      if (flags) columns.base_PsfFlux_flag = flags.map((v) => Number(v) > 0);
      return { rows: table.nrows, columns };
    }
    return undefined;
  },
  /**
   * Simulates one CCD of the tiny preset (seed, visit, detector) and runs single-frame processing on it
   * here (lib/pipeline/simulatedCcd.ts with pipelines/DRP.yaml's configs), reporting each step as it
   * starts. The calexp and src are kept as dropped files are (open / readCatalog take them); every
   * dataset made comes back too (transferred), for saving.
   */
  async simulateCcd(request: { seed: number; visit: number; detector: number }, onProgress: (p: SimulatedCcdProgress) => void | Promise<void>): Promise<SimulatedCcdAnswer> {
    kernels ??= loadKernels();
    const [tessera, { processSimulatedCcd }, { PRESETS }, { parsePipeline }, { default: drpYaml }] = await Promise.all([
      kernels, import('../lib/pipeline/simulatedCcd.js'), import('../lib/sim/presets.js'), import('../lib/pipeline/pipelineDefinition.js'), import('../pipelines/DRP.yaml?raw'),
    ]);
    const result = await processSimulatedCcd(tessera, { ...PRESETS.tiny, seed: request.seed }, parsePipeline(drpYaml, 'pipelines/DRP.yaml'),
      { visit: request.visit, detector: request.detector }, async (p) => { await onProgress(p); });
    const name = (type: string): string => `${type}-${result.dataId.visit}-${result.dataId.detector}.fits`;
    const keep = (type: string): number => hold(name(type), result.datasets[type]!.slice());
    const datasets = Object.entries(result.datasets).map(([type, bytes]) => ({ type, name: name(type), bytes }));
    return transfer({ calexp: keep('calexp'), src: keep('src'), dataId: result.dataId, timings: result.timings, datasets }, [...new Set(datasets.map((d) => d.bytes.buffer as ArrayBuffer))]);
  },
  /** Sky (degrees) of image coordinates (0-based pixels); null without a WCS. */
  pixelToSky(id: number, x: number, y: number): [number, number] | null {
    return held(id).wcs?.pixelToSky(x, y) ?? null;
  },
  /** Image coordinates (0-based pixels) of a sky position; null without a WCS. */
  skyToPixel(id: number, ra: number, dec: number): [number, number] | null {
    return held(id).wcs?.skyToPixel(ra, dec) ?? null;
  },
  /** The pixel under the cursor: positions, value, variance, mask bit names, RA/Dec (degrees). */
  readout(id: number, x: number, y: number): Readout | null {
    const h = held(id);
    const p = h.display.pixel(x, y);
    if (!p) return null;
    const maskNames = p.mask === undefined ? [] : Object.entries(h.maskPlanes).filter(([, bit]) => (p.mask! >> bit) & 1).map(([name]) => name).sort();
    const sky = h.wcs?.pixelToSky(x, y);
    return {
      x, y, parentX: x + h.x0, parentY: y + h.y0, fitsX: x + 1, fitsY: y + 1, value: p.value,
      ...(p.variance !== undefined ? { variance: p.variance } : {}), ...(p.mask !== undefined ? { mask: p.mask } : {}), maskNames,
      ...(sky ? { ra: sky[0], dec: sky[1] } : {}),
    };
  },
};

export type KernelWorkerApi = typeof api;
expose(api);
