/**
 * Node's zlib as the gzip codec of tile-compressed images (lib/fits/gzip.ts's GzipCodec). Writing
 * uses level 1 with the Z_RLE strategy (run-length matches only): on a warp's shuffled floats and
 * mask it was as small as plain level 1 (3.8x vs 3.7x) and 1.7x faster (212 vs 359 ms a warp), any
 * inflater reads it, and fflate's level 1 (the browser's) took 2x longer. zlib's gzip header
 * carries mtime 0, so the output is deterministic. Reading inflates the deflate data of a plain gzip
 * member (no optional header fields, as cfitsio and this writer make them) and checks its length
 * against the trailer, but not the CRC-32, as fflate does not either: 25 % less time on a warp's
 * tiles (the file's DATASUM and the repository's sha256 cover the bytes); other members go through
 * zlib's gunzip.
 */
import zlib from 'node:zlib';
import type { GzipCodec } from '../../lib/fits/gzip.js';

export const zlibCodec: GzipCodec = {
  gzip: (bytes) => zlib.gzipSync(bytes, { level: 1, strategy: zlib.constants.Z_RLE }),
  gunzip: (bytes, out) => {
    // One output chunk as large as the tile may be: no concatenation of 16 KB chunks (zlib's default).
    const options = { maxOutputLength: out.length, chunkSize: Math.max(64, out.length) };
    if (bytes.length < 18 || bytes[2] !== 8 || bytes[3] !== 0) return zlib.gunzipSync(bytes, options);
    const inflated = zlib.inflateRawSync(bytes.subarray(10, bytes.length - 8), options);
    const n = bytes.length;
    const size = (bytes[n - 4]! | (bytes[n - 3]! << 8) | (bytes[n - 2]! << 16) | (bytes[n - 1]! << 24)) >>> 0;
    if (inflated.length !== size) throw new Error(`gzip member inflates to ${inflated.length} bytes, its trailer says ${size}`);
    return inflated;
  },
};
