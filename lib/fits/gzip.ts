/**
 * Gzip-compressed FITS files (`.fits.gz`, RFC 1952): detection by the magic bytes 1f 8b, whole-file
 * decompression with fflate (streamed, so a corrupt length trailer cannot make us allocate gigabytes),
 * CRC-32 and length verification of single-member files, and compression for writing; the codec of
 * tile-compressed images' gzip tiles.
 */
import { Gunzip, gunzipSync, gzipSync } from 'fflate';
import { FitsError } from './errors.js';

/** Refuse to inflate beyond this many bytes (a corrupt or hostile stream must not exhaust memory). */
export const MAX_GUNZIP_BYTES = 2 ** 31;

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

let crcTables: Uint32Array[] | undefined;

/** Slicing-by-8 tables: table k maps a byte to its CRC contribution k bytes further on. */
function tables(): Uint32Array[] {
  if (crcTables) return crcTables;
  const t: Uint32Array[] = [];
  for (let k = 0; k < 8; k++) t.push(new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[0]![n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) t[k]![n] = (t[0]![t[k - 1]![n]! & 0xff]! ^ (t[k - 1]![n]! >>> 8)) >>> 0;
  }
  crcTables = t;
  return t;
}

/** CRC-32 (IEEE 802.3, as in gzip trailers), slicing-by-8. */
export function crc32(bytes: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = tables() as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = 0xffffffff;
  const n = bytes.length;
  const end8 = n - (n % 8);
  let i = 0;
  for (; i < end8; i += 8) {
    const a = (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
    c = t7[a & 0xff]! ^ t6[(a >>> 8) & 0xff]! ^ t5[(a >>> 16) & 0xff]! ^ t4[a >>> 24]!
      ^ t3[bytes[i + 4]!]! ^ t2[bytes[i + 5]!]! ^ t1[bytes[i + 6]!]! ^ t0[bytes[i + 7]!]!;
  }
  for (; i < n; i++) c = t0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function trailer(compressed: Uint8Array): { crc: number; size: number } {
  const n = compressed.length;
  const word = (at: number) => (compressed[at]! | (compressed[at + 1]! << 8) | (compressed[at + 2]! << 16) | (compressed[at + 3]! << 24)) >>> 0;
  return { crc: word(n - 8), size: word(n - 4) };
}

/** Deflate cannot expand data by more than about 1032:1, so a larger trailer size is a lie. */
const MAX_DEFLATE_RATIO = 1040;

/**
 * Decompresses a whole gzip file; errors (corrupt or truncated stream, bad CRC or length) are
 * FitsErrors naming `name`. The common single-member case inflates straight into a buffer sized from
 * the trailer (when that size is plausible) and is verified by CRC; anything else (multi-member files,
 * implausible trailers) is streamed, growing the output as it comes.
 */
export function gunzipBytes(name: string, compressed: Uint8Array, maxBytes = MAX_GUNZIP_BYTES): Uint8Array {
  const fail = (problem: string): never => { throw new FitsError(name, undefined, `gzip: ${problem}`); };
  if (compressed.length < 18) fail(`file is too short (${compressed.length} bytes) to be gzip data`);
  const { crc, size } = trailer(compressed);
  if (size <= maxBytes && size <= compressed.length * MAX_DEFLATE_RATIO) {
    try {
      const out = gunzipSync(compressed, { out: new Uint8Array(size + 1) });
      if (out.length === size && crc32(out) === crc) return out;
    } catch {
      // fall through to the streaming decoder, which reports the problem precisely
    }
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  let members = 1;
  try {
    const stream = new Gunzip((chunk) => {
      total += chunk.length;
      if (total > maxBytes) fail(`decompressed size exceeds ${maxBytes} bytes`);
      chunks.push(chunk);
    });
    stream.onmember = () => { members++; };
    stream.push(compressed, true);
  } catch (e) {
    if (e instanceof FitsError) throw e;
    fail(`corrupt or truncated compressed data (${e instanceof Error ? e.message : String(e)})`);
  }
  const out = chunks.length === 1 ? chunks[0]! : new Uint8Array(total);
  if (chunks.length !== 1) {
    let at = 0;
    for (const c of chunks) { out.set(c, at); at += c.length; }
  }
  if (members === 1) {
    if (size !== total % 2 ** 32) fail(`trailer says ${size} bytes but the stream inflates to ${total}`);
    if (crc32(out) !== crc) fail('CRC-32 mismatch: the compressed data are corrupt');
  }
  return out;
}

/**
 * The gzip streams of tile compression (GZIP_1/GZIP_2 tiles): fflate's by default, so the same code
 * runs in a browser; Node passes its zlib (node/fits/zlibCodec.ts), 2-5x faster on these tiles.
 */
export interface GzipCodec {
  /** A deterministic gzip (RFC 1952) stream of `bytes` (mtime 0), as cfitsio writes tiles. */
  gzip(bytes: Uint8Array): Uint8Array;
  /** Inflates one gzip stream into `out` (or a new array) and returns the bytes; more than out.length bytes is an error. */
  gunzip(bytes: Uint8Array, out: Uint8Array): Uint8Array;
}

/** fflate's gzip at level 1 (tiles are written once and read often: speed over the last percent). */
export const fflateCodec: GzipCodec = {
  gzip: (bytes) => gzipBytes(bytes, 1),
  gunzip: (bytes, out) => gunzipSync(bytes, { out }),
};

/** Gzip-compresses bytes (for writing `.fits.gz`); mtime 0 keeps the output deterministic. */
export function gzipBytes(bytes: Uint8Array, level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 = 6): Uint8Array {
  return gzipSync(bytes, { level, mtime: 0 });
}
