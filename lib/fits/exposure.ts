/**
 * LSST afw Exposure files (the layout of lsst.afw.image.ExposureFitsReader/Writer): a primary HDU
 * without data holding the metadata, then IMAGE (float32), MASK (integer; int32 on write, int16/uint16
 * accepted on read) with `MP_<NAME> = bit index` plane keywords, VARIANCE (float32), then binary-table
 * HDUs for components (PSF, WCS archive...), listed here with their headers. The parent-frame origin
 * xy0 comes from the 'A' WCS (CRVAL1A - CRPIX1A + 1, as afw reads it) or IRAF's LTV1/LTV2 (x0 = -LTV1),
 * and both are written.
 */
import { FitsError } from './errors.js';
import { FitsHeader } from './header.js';
import { openFits, type FitsBytes, type FitsFile, type FitsImage, type HduInfo } from './file.js';
import type { ByteSource } from './source.js';
import type { ImageArray } from './image.js';
import { writeFits, type RawHduSpec, type TableHduSpec, type WriteOptions } from './writer.js';
import type { TileCompression } from './compressImage.js';

export interface ExposureComponentHdu {
  index: number;
  type: HduInfo['type'];
  extname?: string;
  /** afw's EXTTYPE (e.g. 'ARCHIVE_INDEX'), when present. */
  exttype?: string;
  header: FitsHeader;
}

export interface Exposure {
  width: number;
  height: number;
  /** Parent-frame position of pixel (0, 0). */
  x0: number;
  y0: number;
  image: Float32Array;
  mask: Int32Array;
  variance: Float32Array;
  /** Mask plane name -> bit index. */
  maskPlanes: Record<string, number>;
  /** The primary header (visit and calibration metadata). */
  metadata: FitsHeader;
  /** The image HDU's header, from which the WCS is built. */
  wcsHeader: FitsHeader;
  /** Further HDUs (component tables) found on read; not written back by writeExposure. */
  components?: ExposureComponentHdu[];
}

const PLANES = ['IMAGE', 'MASK', 'VARIANCE'] as const;
export type Plane = (typeof PLANES)[number];

function planeName(hdu: HduInfo): string | undefined {
  return (hdu.extname ?? hdu.header.getString('EXTTYPE'))?.trim().toUpperCase();
}

function locatePlanes(file: FitsFile | FitsBytes): Record<Plane, HduInfo> {
  const found: Partial<Record<Plane, HduInfo>> = {};
  for (const hdu of file.hdus.slice(1)) {
    const n = planeName(hdu);
    if (n && (PLANES as readonly string[]).includes(n) && !found[n as Plane]) found[n as Plane] = hdu;
  }
  PLANES.forEach((plane, i) => {
    // Files without EXTNAME/EXTTYPE: afw's order, HDUs 1, 2, 3.
    if (!found[plane]) {
      const hdu = file.hdus[i + 1];
      if (hdu && hdu.type === 'IMAGE' && planeName(hdu) === undefined) found[plane] = hdu;
    }
  });
  for (const plane of PLANES) {
    if (!found[plane]) throw new FitsError(file.name, undefined, `not an afw Exposure: no ${plane} HDU`);
  }
  return found as Record<Plane, HduInfo>;
}

/** Mask plane bit indices from `MP_<NAME>` keywords (HIERARCH ones included). */
export function maskPlanesFromHeader(header: FitsHeader, name: string, hdu: number): Record<string, number> {
  const planes: Record<string, number> = {};
  for (const key of header.keys()) {
    if (!key.startsWith('MP_')) continue;
    const bit = header.getInteger(key);
    if (bit === undefined || bit < 0 || bit > 31) throw new FitsError(name, hdu, `mask plane keyword ${key} must be a bit index 0..31, not ${String(header.get(key))}`);
    planes[key.slice(3)] = bit;
  }
  return planes;
}

/** xy0 from the 'A' (LINEAR, parent pixel) WCS or LTV1/LTV2; an inconsistency between them is an error. */
export function xy0FromHeader(header: FitsHeader, name: string, hdu: number): { x0: number; y0: number } {
  const fromA = (axis: 1 | 2): number | undefined => {
    const crval = header.getNumber(`CRVAL${axis}A`);
    const crpix = header.getNumber(`CRPIX${axis}A`);
    return crval === undefined || crpix === undefined ? undefined : crval - crpix + 1;
  };
  const ltv = (axis: 1 | 2): number | undefined => {
    const v = header.getNumber(`LTV${axis}`);
    return v === undefined ? undefined : -v;
  };
  const pick = (axis: 1 | 2): number => {
    const a = fromA(axis);
    const l = ltv(axis);
    if (a !== undefined && l !== undefined && a !== l) {
      throw new FitsError(name, hdu, `the 'A' WCS puts ${axis === 1 ? 'x0' : 'y0'} at ${a} but LTV${axis} puts it at ${l}`);
    }
    const v = a ?? l ?? 0;
    if (!Number.isSafeInteger(v)) throw new FitsError(name, hdu, `${axis === 1 ? 'x0' : 'y0'} = ${v} is not an integer`);
    return v;
  };
  return { x0: pick(1), y0: pick(2) };
}

function asFloat32(data: ImageArray, name: string, hdu: number): Float32Array {
  if (data instanceof Float32Array) return data;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) throw new FitsError(name, hdu, 'a 64-bit integer plane cannot be an image or variance plane');
  return Float32Array.from(data as ArrayLike<number>);
}

function asMask(data: ImageArray, name: string, hdu: number): Int32Array {
  if (data instanceof Int32Array) return data;
  if (data instanceof Uint32Array) return new Int32Array(data.buffer, data.byteOffset, data.length);
  if (data instanceof Float32Array || data instanceof Float64Array || data instanceof BigInt64Array || data instanceof BigUint64Array) {
    throw new FitsError(name, hdu, `the mask plane must hold integers of at most 32 bits, not ${data.constructor.name}`);
  }
  return Int32Array.from(data);
}

export interface ReadExposureOptions {
  /**
   * Where the image plane's stored bytes go (called once with their length): e.g. a wasm plane, so the
   * image reaches wasm memory with no other copy. The buffer must stay usable until the read is done (a
   * wasm view is detached by any memory growth: use it only where nothing else runs in between, as with
   * bytes already in memory). Not called for a tile-compressed image. The image
   * returned is a view over it when its pixels are unscaled float32 (readImage's `into`); otherwise a
   * fresh array.
   */
  imageInto?: (bytes: number) => Uint8Array;
}

/** Reads a 2-D image HDU's pixels, its stored bytes into `imageInto`'s buffer when given (not for a tile-compressed HDU). */
export async function readImagePlane(file: FitsFile | FitsBytes, hdu: HduInfo, imageInto?: (bytes: number) => Uint8Array): Promise<FitsImage> {
  const into = hdu.compressed ? undefined : imageInto?.(hdu.shape[0]! * hdu.shape[1]! * Math.abs(hdu.bitpix) / 8);
  return file.readImage(hdu.index, into ? { into } : {});
}

/** Where an afw Exposure file keeps its planes, and its box, mask planes and headers (validated). */
export interface ExposureLayout {
  planes: Record<Plane, HduInfo>;
  width: number;
  height: number;
  x0: number;
  y0: number;
  maskPlanes: Record<string, number>;
  metadata: FitsHeader;
  wcsHeader: FitsHeader;
}

/** The layout of an afw Exposure in an open FITS file: three 2-D planes of one shape, or a FitsError naming the file. */
export function exposureLayout(file: FitsFile | FitsBytes): ExposureLayout {
  const planes = locatePlanes(file);
  const { IMAGE: img, MASK: msk, VARIANCE: vr } = planes;
  for (const hdu of [img, msk, vr]) {
    if (hdu.shape.length !== 2) throw new FitsError(file.name, hdu.index, `an Exposure plane must be 2-D (shape [${hdu.shape.join(', ')}])`);
    if (hdu.shape[0] !== img.shape[0] || hdu.shape[1] !== img.shape[1]) {
      throw new FitsError(file.name, hdu.index, `plane shape [${hdu.shape.join(', ')}] differs from the image's [${img.shape.join(', ')}]`);
    }
  }
  return {
    planes, width: img.shape[1]!, height: img.shape[0]!, ...xy0FromHeader(img.imageHeader, file.name, img.index),
    maskPlanes: maskPlanesFromHeader(msk.imageHeader, file.name, msk.index), metadata: file.hdus[0]!.header, wcsHeader: img.imageHeader,
  };
}

/** A plane's pixels as the Exposure holds them (IMAGE and VARIANCE float32, MASK int32), or a FitsError naming the file. */
export function exposurePlaneData(plane: Plane, data: FitsImage['data'], name: string, hdu: number): Float32Array | Int32Array {
  return plane === 'MASK' ? asMask(data, name, hdu) : asFloat32(data, name, hdu);
}

/** Reads an afw Exposure from an open FITS file (lazy or in memory) or a byte source. */
export async function readExposure(input: FitsFile | FitsBytes | ByteSource, options: ReadExposureOptions = {}): Promise<Exposure> {
  const file: FitsFile | FitsBytes = 'hdus' in input ? input : await openFits(input);
  const { planes: { IMAGE: img, MASK: msk, VARIANCE: vr }, ...layout } = exposureLayout(file);
  const [image, mask, variance] = await Promise.all([readImagePlane(file, img, options.imageInto), file.readImage(msk.index), file.readImage(vr.index)]);
  const used = new Set([0, img.index, msk.index, vr.index]);
  const components: ExposureComponentHdu[] = file.hdus.filter((h) => !used.has(h.index)).map((h) => {
    const c: ExposureComponentHdu = { index: h.index, type: h.type, header: h.header };
    if (h.extname !== undefined) c.extname = h.extname;
    const exttype = h.header.getString('EXTTYPE');
    if (exttype !== undefined) c.exttype = exttype.trim();
    return c;
  });
  return {
    ...layout,
    image: asFloat32(image.data, file.name, img.index),
    mask: asMask(mask.data, file.name, msk.index),
    variance: asFloat32(variance.data, file.name, vr.index),
    components,
  };
}

/** Keywords writeExposure sets itself on the plane HDUs (any copies in wcsHeader are replaced). */
const PLANE_KEYS = /^(LTV[12]|LTM\d_\d|CRVAL[12]A|CRPIX[12]A|CTYPE[12]A|CUNIT[12]A|CDELT[12]A|EXTTYPE|EXTNAME|INHERIT|MP_.*)$/;

function planeHeader(exposure: Exposure, plane: Plane): FitsHeader {
  const h = new FitsHeader();
  for (const card of exposure.wcsHeader.cards) if (card.commentary || !PLANE_KEYS.test(card.key)) h.cards.push({ ...card });
  h.set('INHERIT', true);
  h.set('EXTTYPE', plane);
  if (plane === 'MASK') {
    for (const [name, bit] of Object.entries(exposure.maskPlanes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) h.set(`MP_${name}`, bit);
  }
  setImageOrigin(h, exposure.x0, exposure.y0);
  return h;
}

/** afw's record of an image's origin (xy0) in its parent frame: LTV1/2 and the 'A' (LINEAR) WCS, which xy0FromHeader reads back. */
export function setImageOrigin(h: FitsHeader, x0: number, y0: number): void {
  h.set('LTV1', -x0);
  h.set('LTV2', -y0);
  h.set('CRVAL1A', x0, 'Column pixel of Reference Pixel');
  h.set('CRVAL2A', y0, 'Row pixel of Reference Pixel');
  h.set('CRPIX1A', 1, 'Column Pixel Coordinate of Reference');
  h.set('CRPIX2A', 1, 'Row Pixel Coordinate of Reference');
  h.set('CTYPE1A', 'LINEAR', 'Type of projection');
  h.set('CTYPE2A', 'LINEAR', 'Type of projection');
  h.set('CUNIT1A', 'PIXEL', 'Column unit');
  h.set('CUNIT2A', 'PIXEL', 'Row unit');
}

export interface WriteExposureOptions extends WriteOptions {
  /** Component HDUs (binary tables) to append after VARIANCE: prepared ones (writeBinTable) or table specs. */
  components?: (RawHduSpec | TableHduSpec)[];
  /** Tile-compress the three planes (lib/fits/compressImage.ts; LSST's 'lossless' recipe); default: not compressed. */
  compression?: TileCompression;
}

/** Writes an Exposure in the afw layout: primary (metadata), IMAGE f32, MASK i32, VARIANCE f32, components. */
export function writeExposure(exposure: Exposure, options: WriteExposureOptions = {}): Uint8Array {
  const name = options.name ?? 'Exposure';
  const n = exposure.width * exposure.height;
  if (!Number.isSafeInteger(exposure.x0) || !Number.isSafeInteger(exposure.y0)) throw new FitsError(name, undefined, `xy0 (${exposure.x0}, ${exposure.y0}) must be integers`);
  for (const [plane, data] of [['image', exposure.image], ['mask', exposure.mask], ['variance', exposure.variance]] as const) {
    if (data.length !== n) throw new FitsError(name, undefined, `the ${plane} plane has ${data.length} pixels, not ${exposure.width}x${exposure.height}`);
  }
  for (const [plane, bit] of Object.entries(exposure.maskPlanes)) {
    if (!Number.isInteger(bit) || bit < 0 || bit > 31) throw new FitsError(name, undefined, `mask plane ${plane} has bit ${bit}, not 0..31`);
  }
  const shape = [exposure.height, exposure.width];
  const metadata = exposure.metadata.clone();
  // AR_HDU points afw at the archive of components; without components it would point at nothing.
  if (!options.components?.length) metadata.delete('AR_HDU');
  const compress = options.compression ? { compress: options.compression } : {};
  return writeFits([
    { header: metadata },
    { data: exposure.image, shape, header: planeHeader(exposure, 'IMAGE'), extname: 'IMAGE', ...compress },
    { data: exposure.mask, shape, header: planeHeader(exposure, 'MASK'), extname: 'MASK', ...compress },
    { data: exposure.variance, shape, header: planeHeader(exposure, 'VARIANCE'), extname: 'VARIANCE', ...compress },
    ...(options.components ?? []),
  ], options);
}
