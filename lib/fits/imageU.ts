/**
 * An afw ImageU file: one image of unsigned 16-bit integers, as LSST stores a coadd's nImage (the
 * number of visits used per pixel). One primary HDU, BITPIX 16 with BZERO 32768 (FITS's unsigned
 * convention), carrying the metadata, the WCS of the frame it lies in (a patch's) and its origin xy0 in
 * that frame as afw writes it (LTV1/2 and the 'A' LINEAR WCS), with DATASUM and CHECKSUM. A sixth of an
 * Exposure's bytes for the same counts (an Exposure holds f32 image and variance and an i32 mask).
 */
import { FitsError } from './errors.js';
import { FitsHeader } from './header.js';
import { readFitsBytes } from './file.js';
import { writeFits, type WriteOptions } from './writer.js';
import { setImageOrigin, xy0FromHeader } from './exposure.js';

export interface ImageU {
  width: number;
  height: number;
  /** Origin of pixel (0, 0) in the parent frame (a patch's box in its tract). */
  x0: number;
  y0: number;
  image: Uint16Array;
  /** Metadata cards (BUNIT, provenance keywords, ...). */
  metadata: FitsHeader;
  /** The WCS cards of the parent frame. */
  wcsHeader: FitsHeader;
}

/** Keywords writeImageU sets itself, and an Exposure plane's own (EXTNAME...): not copied from metadata or wcsHeader. */
const OWN_KEYS = /^(LTV[12]|LTM\d_\d|CRVAL[12]A|CRPIX[12]A|CTYPE[12]A|CUNIT[12]A|CDELT[12]A|EXTNAME|EXTTYPE|EXTVER|INHERIT)$/;

export function writeImageU(value: ImageU, options: WriteOptions = {}): Uint8Array {
  const name = options.name ?? 'ImageU';
  if (value.image.length !== value.width * value.height) throw new FitsError(name, undefined, `the image has ${value.image.length} pixels, not ${value.width}x${value.height}`);
  if (!Number.isSafeInteger(value.x0) || !Number.isSafeInteger(value.y0)) throw new FitsError(name, undefined, `xy0 (${value.x0}, ${value.y0}) must be integers`);
  const header = new FitsHeader();
  for (const source of [value.metadata, value.wcsHeader]) {
    for (const card of source.cards) if (card.commentary || (!OWN_KEYS.test(card.key) && header.get(card.key) === undefined)) header.cards.push({ ...card });
  }
  setImageOrigin(header, value.x0, value.y0);
  return writeFits([{ data: value.image, shape: [value.height, value.width], header }], { checksum: true, ...options });
}

export function readImageU(bytes: Uint8Array, name: string): ImageU {
  const file = readFitsBytes(name, bytes);
  const hdu = file.hdu(0);
  if (hdu.type !== 'IMAGE' || hdu.shape.length !== 2) throw new FitsError(name, 0, `an ImageU is a 2-D primary image, not shape [${hdu.shape.join(', ')}]`);
  const { data } = file.readImage(0);
  if (!(data instanceof Uint16Array)) throw new FitsError(name, 0, `an ImageU holds unsigned 16-bit integers (BITPIX 16, BZERO 32768), not ${data.constructor.name}`);
  return { width: hdu.shape[1]!, height: hdu.shape[0]!, ...xy0FromHeader(hdu.header, name, 0), image: data, metadata: hdu.header, wcsHeader: hdu.header };
}
