/**
 * Test helper: walks the HDUs of a FITS file with FitsHeader.parse, without the full FITS reader
 * (lib/fits/file.ts replaces this once it exists). Data size per the FITS Standard 4.0 §4.4.1.1:
 * |BITPIX|/8 * GCOUNT * (PCOUNT + NAXIS1 * ... * NAXISn), 0 when NAXIS = 0, padded to 2880 bytes.
 * Also lists the real test files (../shared/data/real) that are plain FITS.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BLOCK, FitsHeader } from '../../lib/fits/header.js';
import { realDataDir } from './paths.js';

export interface HduHeader {
  /** 0-based HDU index (astropy's numbering). */
  index: number;
  header: FitsHeader;
  /** Byte offset of the data unit and its unpadded length. */
  dataOffset: number;
  dataLength: number;
}

function integer(header: FitsHeader, key: string, fallback: number): number {
  const v = header.getNumber(key);
  return v === undefined ? fallback : v;
}

/** All HDU headers of a FITS file in `bytes`. */
export function hduHeaders(bytes: Uint8Array, source: string): HduHeader[] {
  const out: HduHeader[] = [];
  let offset = 0;
  while (offset + BLOCK <= bytes.length) {
    // Trailing zero-filled blocks after the last HDU are not another header.
    if (out.length > 0 && bytes.subarray(offset, offset + BLOCK).every((b) => b === 0)) break;
    const { header, byteLength } = FitsHeader.parse(bytes, offset, source, out.length);
    const dataOffset = offset + byteLength;
    const naxis = integer(header, 'NAXIS', 0);
    let dataLength = 0;
    if (naxis > 0) {
      let product = 1;
      for (let i = 1; i <= naxis; i++) product *= integer(header, `NAXIS${i}`, 0);
      const bitpix = integer(header, 'BITPIX', 8);
      dataLength = (Math.abs(bitpix) / 8) * integer(header, 'GCOUNT', 1) * (integer(header, 'PCOUNT', 0) + product);
    }
    out.push({ index: out.length, header, dataOffset, dataLength });
    offset = dataOffset + Math.ceil(dataLength / BLOCK) * BLOCK;
  }
  return out;
}

export function readHduHeaders(file: string): HduHeader[] {
  return hduHeaders(new Uint8Array(fs.readFileSync(file)), file);
}

/** A 2-D float32 or float64 image HDU's pixels as row-major Float64Array (BSCALE/BZERO applied). */
export function readImage(file: string, hdu: number): { width: number; height: number; pixels: Float64Array } {
  const bytes = new Uint8Array(fs.readFileSync(file));
  const h = hduHeaders(bytes, file)[hdu];
  if (!h) throw new Error(`${file} has no HDU ${hdu}`);
  const width = integer(h.header, 'NAXIS1', 0);
  const height = integer(h.header, 'NAXIS2', 0);
  const bitpix = integer(h.header, 'BITPIX', 8);
  const scale = h.header.getNumber('BSCALE') ?? 1;
  const zero = h.header.getNumber('BZERO') ?? 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset + h.dataOffset, h.dataLength);
  const pixels = new Float64Array(width * height);
  for (let i = 0; i < pixels.length; i++) {
    let v: number;
    if (bitpix === -32) v = view.getFloat32(i * 4, false);
    else if (bitpix === -64) v = view.getFloat64(i * 8, false);
    else if (bitpix === 32) v = view.getInt32(i * 4, false);
    else if (bitpix === 16) v = view.getInt16(i * 2, false);
    else if (bitpix === 8) v = view.getUint8(i);
    else throw new Error(`${file} HDU ${hdu}: BITPIX ${bitpix} not handled by this helper`);
    pixels[i] = v * scale + zero;
  }
  return { width, height, pixels };
}

/** Every plain FITS file (.fits, .psf; not .gz) under ../shared/data/real, sorted. */
export function realFitsFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.(fits|fit|fts|psf)$/i.test(entry.name)) out.push(p);
    }
  };
  walk(realDataDir);
  return out.sort();
}
