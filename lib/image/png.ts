/**
 * PNG encoding (W3C PNG, 3rd edition) of 8-bit RGBA images for colour composites: IHDR (colour type 6,
 * bit depth 8), tEXt chunks (keyword, Latin-1 text: credit, software, description), one zlib IDAT
 * (fflate) with filter 0 on every row, IEND; CRC-32 per chunk. Rows are given top to bottom, as a PNG
 * shows them.
 */
import { zlibSync } from 'fflate';
import { crc32 } from '../fits/gzip.js';

const SIGNATURE = Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10);

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)) >>> 0);
  return out;
}

function latin1(text: string, what: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 255) throw new RangeError(`PNG ${what}: '${text[i]}' is not Latin-1`);
    out[i] = c;
  }
  return out;
}

/** PNG bytes of a width x height RGBA image (rows top to bottom), with tEXt chunks. */
export function encodePng(rgba: Uint8Array, width: number, height: number, text: Record<string, string> = {}): Uint8Array {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new RangeError(`PNG size ${width} x ${height} must be positive integers`);
  if (rgba.length !== 4 * width * height) throw new RangeError(`PNG: ${rgba.length} bytes for ${width} x ${height} RGBA pixels (${4 * width * height} expected)`);
  const header = new Uint8Array(13);
  const h = new DataView(header.buffer);
  h.setUint32(0, width);
  h.setUint32(4, height);
  header.set([8, 6, 0, 0, 0], 8);
  const raw = new Uint8Array(height * (1 + 4 * width));
  for (let y = 0; y < height; y++) raw.set(rgba.subarray(4 * y * width, 4 * (y + 1) * width), y * (1 + 4 * width) + 1);
  const chunks = [chunk('IHDR', header)];
  for (const [keyword, value] of Object.entries(text)) {
    if (!/^[\x20-\x7e]{1,79}$/.test(keyword)) throw new RangeError(`PNG text keyword '${keyword}' must be 1-79 printable Latin-1 characters`);
    const k = latin1(keyword, 'keyword'), v = latin1(value, `text ${keyword}`);
    const data = new Uint8Array(k.length + 1 + v.length);
    data.set(k, 0);
    data.set(v, k.length + 1);
    chunks.push(chunk('tEXt', data));
  }
  chunks.push(chunk('IDAT', zlibSync(raw, { level: 6 })), chunk('IEND', new Uint8Array(0)));
  const out = new Uint8Array(SIGNATURE.length + chunks.reduce((s, c) => s + c.length, 0));
  out.set(SIGNATURE, 0);
  let at = SIGNATURE.length;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}
