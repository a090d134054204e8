/**
 * Writes an image as a tile-compressed HDU (FITS Standard 4.0 §10; Pence, Seaman & White 2009): a
 * BINTABLE with ZIMAGE = T whose COMPRESSED_DATA column (1PB) holds one gzip stream per tile.
 * GZIP_2 shuffles the bytes of the big-endian values (every value's most significant byte first, then
 * the next...) before deflating, and is lossless for every BITPIX: this is LSST obs_base's 'lossless'
 * write recipe (GZIP_SHUFFLE, no scaling) for image, mask and variance. Tiles are whole rows (ZTILE1 =
 * NAXIS1; ZTILE2 = 8 rows by default), so a band of rows decodes from its own tiles
 * (tilecompression.ts's decompressImageRows). On a demo warp (2100 x 2100, 60 % NaN) 8-row tiles
 * were 3.8x smaller than the plain file and read in 140 ms with Node's zlib; single rows (cfitsio's
 * default) 3.5x and 150-180 ms; a band of ~150 rows (assembleCoadd's) decodes at most 14 rows more. Floats are stored as they are (ZQUANTIZ = 'NONE'),
 * NaN included. cfitsio, astropy and tilecompression.ts read the result; output is deterministic for
 * a given gzip codec.
 */
import { FitsError } from './errors.js';
import { FitsHeader, type Card } from './header.js';
import { isTableOrCompressionKeyword } from './tilecompression.js';
import { fflateCodec, type GzipCodec } from './gzip.js';

export interface TileCompression {
  algorithm: 'GZIP_2';
  /** Image rows per tile (ZTILE2); default 8. */
  tileRows?: number;
  /** The tiles' gzip; default fflate's (Node passes its zlib, about twice as fast). */
  codec?: GzipCodec;
}

/** Pixel arrays stored without scaling, and their BITPIX. */
export type CompressibleArray = Uint8Array | Int16Array | Int32Array | Float32Array | Float64Array;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bitpixOf(data: CompressibleArray): number {
  if (data instanceof Float32Array) return -32;
  if (data instanceof Float64Array) return -64;
  if (data instanceof Int32Array) return 32;
  if (data instanceof Int16Array) return 16;
  return 8;
}

/** Image keywords the table's structure replaces (the table's and compression's own are isTableOrCompressionKeyword). */
const IMAGE_STRUCTURE = /^(SIMPLE|EXTEND|GROUPS|BSCALE|BZERO|BLANK|END)$/;

/**
 * The header and data (table and heap) of a tile-compressed 2-D image extension, as writeFits's
 * RawHduSpec takes them. `shape` is [ny, nx]; `imageHeader` holds the image's other cards (its
 * EXTNAME, WCS...), carried over after the compression keywords.
 */
export function compressImageHdu(data: CompressibleArray, shape: readonly number[], imageHeader: FitsHeader, compression: TileCompression, name = 'image'): { header: FitsHeader; data: Uint8Array } {
  const fail = (problem: string): never => { throw new FitsError(name, undefined, `tile compression: ${problem}`); };
  if (compression.algorithm !== 'GZIP_2') fail(`algorithm '${String(compression.algorithm)}' is not supported (GZIP_2 is)`);
  if (shape.length !== 2) fail(`only 2-D images are compressed (shape [${shape.join(', ')}])`);
  const [ny, nx] = shape as [number, number];
  if (!Number.isSafeInteger(nx) || !Number.isSafeInteger(ny) || nx < 1 || ny < 1) fail(`image shape [${shape.join(', ')}] must be positive integers`);
  if (data.length !== nx * ny) fail(`shape [${ny}, ${nx}] holds ${nx * ny} pixels but the data have ${data.length}`);
  const tileRows = compression.tileRows ?? 8;
  if (!Number.isSafeInteger(tileRows) || tileRows < 1) fail(`tileRows = ${tileRows} must be a positive integer`);
  const codec = compression.codec ?? fflateCodec;
  const size = data.BYTES_PER_ELEMENT;
  const native = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const ntiles = Math.ceil(ny / tileRows);
  const shuffled = new Uint8Array(nx * tileRows * size);
  const streams: Uint8Array[] = [];
  const table = new Uint8Array(ntiles * 8);
  const tableView = new DataView(table.buffer);
  let heapSize = 0;
  let longest = 0;
  for (let t = 0; t < ntiles; t++) {
    const n = nx * Math.min(tileRows, ny - t * tileRows);
    const start = t * tileRows * nx * size;
    // Big-endian byte k of value i goes to k*n + i (for 4-byte values on a little-endian host a word at a time).
    if (size === 4 && LITTLE_ENDIAN && (data.byteOffset + start) % 4 === 0) {
      const words = new Uint32Array(data.buffer, data.byteOffset + start, n);
      for (let i = 0, n2 = 2 * n, n3 = 3 * n; i < n; i++) {
        const v = words[i]!;
        shuffled[i] = v >>> 24;
        shuffled[n + i] = v >>> 16;
        shuffled[n2 + i] = v >>> 8;
        shuffled[n3 + i] = v;
      }
    } else {
      for (let k = 0; k < size; k++) {
        const from = LITTLE_ENDIAN ? size - 1 - k : k;
        const plane = k * n;
        for (let i = 0; i < n; i++) shuffled[plane + i] = native[start + i * size + from]!;
      }
    }
    const stream = codec.gzip(shuffled.subarray(0, n * size));
    streams.push(stream);
    tableView.setInt32(t * 8, stream.length, false);
    tableView.setInt32(t * 8 + 4, heapSize, false);
    heapSize += stream.length;
    longest = Math.max(longest, stream.length);
    if (heapSize > 0x7fffffff) fail(`the compressed heap exceeds 2 GiB (1PB descriptors hold 32-bit offsets)`);
  }
  const out = new Uint8Array(table.length + heapSize);
  out.set(table);
  let at = table.length;
  for (const s of streams) { out.set(s, at); at += s.length; }

  const bitpix = bitpixOf(data);
  const h = new FitsHeader();
  h.set('XTENSION', 'BINTABLE', 'binary table extension');
  h.set('BITPIX', 8, '8-bit bytes');
  h.set('NAXIS', 2, '2-dimensional binary table');
  h.set('NAXIS1', 8, 'width of table in bytes');
  h.set('NAXIS2', ntiles, 'number of rows in table');
  h.set('PCOUNT', heapSize, 'size of special data area');
  h.set('GCOUNT', 1, 'one data group (required keyword)');
  h.set('TFIELDS', 1, 'number of fields in each row');
  h.set('TTYPE1', 'COMPRESSED_DATA', 'label for field 1');
  h.set('TFORM1', `1PB(${longest})`, 'data format of field: variable length array');
  h.set('ZIMAGE', true, 'extension contains compressed image');
  h.set('ZTENSION', 'IMAGE', 'image extension');
  h.set('ZBITPIX', bitpix, 'data type of original image');
  h.set('ZNAXIS', 2, 'dimension of original image');
  h.set('ZNAXIS1', nx, 'length of original image axis');
  h.set('ZNAXIS2', ny, 'length of original image axis');
  h.set('ZPCOUNT', 0, 'number of parameters');
  h.set('ZGCOUNT', 1, 'number of groups');
  h.set('ZTILE1', nx, 'size of tiles to be compressed');
  h.set('ZTILE2', tileRows, 'size of tiles to be compressed');
  h.set('ZCMPTYPE', 'GZIP_2', 'compression algorithm');
  if (bitpix < 0) h.set('ZQUANTIZ', 'NONE', 'floats stored losslessly');
  for (const card of imageHeader.cards) {
    if (!card.commentary && (IMAGE_STRUCTURE.test(card.key) || isTableOrCompressionKeyword(card.key))) continue;
    h.cards.push({ ...card } as Card);
  }
  return { header: h, data: out };
}
