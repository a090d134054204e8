/**
 * A deferred afw Exposure (LSST daf_butler's DeferredDatasetHandle, its `bbox` parameter): the box,
 * headers and mask planes at once, the pixel planes only when asked for, whole or a region's rows. A task
 * that combines many large images (assembleCoadd over a patch's warps) reads them a band of rows at a
 * time, so its memory is bounded by the band, not by the number of inputs (DMTR-51: assembleCoadd took
 * up to 7.5 GB holding every warp). Two kinds: over a FITS file opened synchronously (openFitsSync:
 * bytes in memory in the browser, a local file read as needed in Node), and over an Exposure already in
 * memory (tests, benchmarks). Reads return arrays the caller must not modify (from memory, whole rows are
 * views of the exposure's planes), or fill arrays the caller gives (`into`: a plane reused from visit to
 * visit), decoding the file's bytes in place there when its pixels are stored as the Exposure holds them
 * (float32, int32).
 */
import type { FitsBytes } from './file.js';
import { FitsHeader } from './header.js';
import type { Rect } from './image.js';
import { exposureLayout, exposurePlaneData, type Exposure, type Plane } from './exposure.js';

/** The planes read, row-major over the region asked for (or the whole box). */
export interface ExposurePixels {
  image?: Float32Array;
  mask?: Int32Array;
  variance?: Float32Array;
}

export interface DeferredExposure {
  /** The file (or what it is) for messages. */
  readonly name: string;
  readonly width: number;
  readonly height: number;
  /** Parent-frame position of pixel (0, 0). */
  readonly x0: number;
  readonly y0: number;
  readonly maskPlanes: Readonly<Record<string, number>>;
  readonly metadata: FitsHeader;
  readonly wcsHeader: FitsHeader;
  /**
   * `planes` over `region` (parent-frame pixels inside the box; default the whole box). A plane given in
   * `into` (at least the region's size) is filled and returned (a view of its first pixels).
   */
  read(planes: readonly Plane[], region?: Rect, into?: ExposurePixels): ExposurePixels;
}

/** `into`'s array for `plane`, cut to `count` pixels, if given; a RangeError naming `name` if it is too short. */
function target(into: ExposurePixels | undefined, plane: Plane, count: number, name: string): Float32Array | Int32Array | undefined {
  const t = into?.[plane === 'IMAGE' ? 'image' : plane === 'MASK' ? 'mask' : 'variance'];
  if (!t) return undefined;
  if (t.length < count) throw new RangeError(`${name}: the ${plane} plane needs ${count} pixels, the array given holds ${t.length}`);
  return t.subarray(0, count);
}

function store(out: ExposurePixels, plane: Plane, pixels: Float32Array | Int32Array): void {
  if (plane === 'MASK') out.mask = pixels as Int32Array;
  else out[plane === 'IMAGE' ? 'image' : 'variance'] = pixels as Float32Array;
}

/** Full rows y0 .. y0 + height - 1 (parent frame) of `e`'s box. */
export function rowsOf(e: { x0: number; width: number }, y0: number, height: number): Rect {
  return { x0: e.x0, y0, width: e.width, height };
}

function checkRegion(e: DeferredExposure, region: Rect): void {
  if (region.x0 < e.x0 || region.y0 < e.y0 || region.x0 + region.width > e.x0 + e.width || region.y0 + region.height > e.y0 + e.height || region.width < 0 || region.height < 0) {
    throw new RangeError(`${e.name}: the exposure's box (${e.x0}, ${e.y0}) ${e.width}x${e.height} does not hold the region (${region.x0}, ${region.y0}) ${region.width}x${region.height}`);
  }
}

/** A deferred Exposure over an open FITS file; the file stays open (close it, FitsBytes.close, when done). */
export function deferredExposureFile(file: FitsBytes): DeferredExposure {
  const layout = exposureLayout(file);
  const handle: DeferredExposure = {
    name: file.name, width: layout.width, height: layout.height, x0: layout.x0, y0: layout.y0,
    maskPlanes: layout.maskPlanes, metadata: layout.metadata, wcsHeader: layout.wcsHeader,
    read(planes, region, into) {
      if (region) checkRegion(handle, region);
      const out: ExposurePixels = {};
      for (const plane of planes) {
        const hdu = layout.planes[plane];
        const count = region ? region.width * region.height : layout.width * layout.height;
        const given = target(into, plane, count, file.name);
        // Stored as held (float32 planes, int32 mask) and not compressed: decoded in place in the array given;
        // tile-compressed: inflated into it (the whole plane, or full-width rows of one tiled in rows).
        const inPlace = given && !region && !hdu.compressed && hdu.bitpix === (plane === 'MASK' ? 32 : -32);
        const decodeInto = given && hdu.compressed ? { decodeInto: given } : {};
        const { data } = region
          ? file.readImageSection(hdu.index, { x0: region.x0 - layout.x0, y0: region.y0 - layout.y0, width: region.width, height: region.height }, decodeInto)
          : file.readImage(hdu.index, inPlace ? { into: new Uint8Array(given.buffer, given.byteOffset, given.byteLength) } : decodeInto);
        const pixels = exposurePlaneData(plane, data, file.name, hdu.index);
        if (given && !inPlace && !(pixels.buffer === given.buffer && pixels.byteOffset === given.byteOffset)) given.set(pixels);
        store(out, plane, given ?? pixels);
      }
      return out;
    },
  };
  return handle;
}

/** What deferExposure needs: the planes and box; the origin defaults to (0, 0), the headers to empty ones. */
export type PlanesInMemory = Pick<Exposure, 'width' | 'height' | 'image' | 'mask' | 'variance'> & Partial<Exposure>;

/** A deferred view of an Exposure in memory (whole rows as views of its planes, other regions copied); other properties (a PSF) carried along. */
export function deferExposure<E extends PlanesInMemory>(exposure: E, name = 'exposure'): DeferredExposure & Omit<E, keyof Exposure> {
  const { image, mask, variance, components: _components, ...rest } = exposure;
  const box = { x0: exposure.x0 ?? 0, y0: exposure.y0 ?? 0, width: exposure.width, height: exposure.height };
  const handle = {
    maskPlanes: {}, metadata: new FitsHeader(), wcsHeader: new FitsHeader(),
    ...rest,
    ...box,
    name,
    read(planes: readonly Plane[], region?: Rect, into?: ExposurePixels): ExposurePixels {
      const r = region ?? rowsOf(box, box.y0, box.height);
      checkRegion(handle, r);
      const crop = <T extends Float32Array | Int32Array>(plane: T, given: T | undefined): T => {
        const n = r.width * r.height;
        if (!given && r.x0 === box.x0 && r.width === box.width) return plane.subarray((r.y0 - box.y0) * box.width, (r.y0 - box.y0) * box.width + n) as T;
        const out = given ?? new (plane.constructor as new (n: number) => T)(n);
        for (let y = 0; y < r.height; y++) {
          const start = (r.y0 - box.y0 + y) * box.width + r.x0 - box.x0;
          out.set(plane.subarray(start, start + r.width), y * r.width);
        }
        return out;
      };
      const out: ExposurePixels = {};
      for (const plane of planes) {
        const source = plane === 'IMAGE' ? image : plane === 'MASK' ? mask : variance;
        store(out, plane, crop<Float32Array | Int32Array>(source, target(into, plane, r.width * r.height, name)));
      }
      return out;
    },
  };
  return handle as unknown as DeferredExposure & Omit<E, keyof Exposure>;
}
