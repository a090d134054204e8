/**
 * The planes the viewer shows from a FITS file (any ByteSource: a dropped file, `tessera serve`'s byte
 * ranges): an afw Exposure's image, mask (with its plane names) and variance, or else the first 2-D image
 * HDU with data (values as f32; no mask or variance). The parent-frame origin (x0, y0: LSST's xy0 from
 * LTV1/LTV2 or the 'A' WCS) and the celestial WCS (the image HDU's, else the primary header's) come with
 * them.
 */
import { FitsError } from '../fits/errors.js';
import { openFits, type FitsFile, type FitsBytes, type HduInfo } from '../fits/file.js';
import { readExposure, readImagePlane, xy0FromHeader, type ReadExposureOptions } from '../fits/exposure.js';
import type { ImageArray } from '../fits/image.js';
import type { ByteSource } from '../fits/source.js';
import type { FitsHeader } from '../fits/header.js';
import { parseWcs, type Wcs } from '../wcs/index.js';

export interface DisplayPlanes {
  name: string;
  width: number;
  height: number;
  x0: number;
  y0: number;
  image: Float32Array;
  mask?: Int32Array;
  variance?: Float32Array;
  /** Mask plane name -> bit index (empty without a mask). */
  maskPlanes: Record<string, number>;
  /** The HDU the image came from. */
  hdu: number;
  wcs?: Wcs;
  /** A few primary-header cards worth showing (instrument, filter, exposure time, date). */
  summary: Record<string, string | number | boolean>;
}

const SUMMARY_KEYS = ['INSTRUME', 'TELESCOP', 'FILTER', 'BAND', 'EXPTIME', 'DATE-OBS', 'MJD-OBS', 'OBJECT', 'VISIT', 'DETECTOR', 'TRACT', 'PATCH', 'BUNIT'];

function summaryOf(...headers: FitsHeader[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const key of SUMMARY_KEYS) {
    for (const h of headers) {
      const v = h.get(key);
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') { out[key] = typeof v === 'string' ? v.trim() : v; break; }
    }
  }
  return out;
}

function wcsOf(...headers: FitsHeader[]): Wcs | undefined {
  for (const h of headers) {
    try {
      const wcs = parseWcs(h);
      if (wcs) return wcs;
    } catch {
      // A header whose WCS cannot be read: try the next; the image still shows without RA/Dec.
    }
  }
  return undefined;
}

/**
 * `imageInto` (readExposure's option) receives the image plane's stored bytes, for the image or the
 * first 2-D image HDU alike; the planes' `image` is a view over it when the pixels are unscaled float32.
 */
export async function readDisplayPlanes(source: ByteSource, options: ReadExposureOptions = {}): Promise<DisplayPlanes> {
  const file: FitsFile | FitsBytes = await openFits(source);
  const primary = file.hdus[0]!.header;
  try {
    const e = await readExposure(file, options);
    const imageHdu = file.hdus.find((h) => h.imageHeader === e.wcsHeader)?.index ?? 1;
    const wcs = wcsOf(e.wcsHeader, primary);
    return {
      name: file.name, width: e.width, height: e.height, x0: e.x0, y0: e.y0, image: e.image, mask: e.mask, variance: e.variance,
      maskPlanes: e.maskPlanes, hdu: imageHdu, ...(wcs ? { wcs } : {}), summary: summaryOf(primary, e.wcsHeader),
    };
  } catch (err) {
    if (!(err instanceof FitsError) || !/not an afw Exposure/.test(err.message)) throw err;
  }
  const hdu = file.hdus.find(hasImage);
  if (!hdu) throw new FitsError(file.name, undefined, 'no 2-D image to show (no afw Exposure and no image HDU with data)');
  const image = float32((await readImagePlane(file, hdu, options.imageInto)).data);
  const wcs = wcsOf(hdu.imageHeader, primary);
  return {
    name: file.name, width: hdu.shape[1]!, height: hdu.shape[0]!, ...xy0FromHeader(hdu.imageHeader, file.name, hdu.index), image,
    maskPlanes: {}, hdu: hdu.index, ...(wcs ? { wcs } : {}), summary: summaryOf(primary, hdu.imageHeader),
  };
}

/**
 * Only the image to show, for a thumbnail: an afw Exposure's IMAGE HDU, else the first 2-D image HDU
 * with data (values as f32); no mask, variance or WCS is read.
 */
export async function readDisplayImage(source: ByteSource): Promise<{ name: string; width: number; height: number; image: Float32Array }> {
  const file: FitsFile | FitsBytes = await openFits(source);
  const hdu = file.hdus.find((h) => hasImage(h) && h.extname?.trim().toUpperCase() === 'IMAGE') ?? file.hdus.find(hasImage);
  if (!hdu) throw new FitsError(file.name, undefined, 'no 2-D image to show (no image HDU with data)');
  return { name: file.name, width: hdu.shape[1]!, height: hdu.shape[0]!, image: float32((await file.readImage(hdu.index)).data) };
}

/** A 2-D image HDU with pixels. */
function hasImage(h: HduInfo): boolean {
  return h.type === 'IMAGE' && h.shape.length === 2 && h.shape[0]! > 0 && h.shape[1]! > 0;
}

/** Pixel values as f32 (the array itself when it is one). */
function float32(data: ImageArray): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number | bigint>, Number);
}
