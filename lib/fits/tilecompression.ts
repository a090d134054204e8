/**
 * Reads tile-compressed images: a BINTABLE with ZIMAGE = T whose rows hold the compressed tiles of
 * an image (the FITS tiled image compression convention, Pence, Seaman & White 2009, adopted as
 * FITS Standard 4.0 §10). Supported: ZCMPTYPE RICE_1 (alias RICE_ONE), GZIP_1, GZIP_2 (byte
 * shuffled) and NOCOMPRESS; per-tile fallbacks GZIP_COMPRESSED_DATA (losslessly gzipped floats)
 * and UNCOMPRESSED_DATA as cfitsio writes them; tiles of any ZTILEn shape including partial edge
 * tiles; ZBLANK (keyword or column) and BLANK; ZSCALE/ZZERO (keyword or column); and ZQUANTIZ
 * NO_DITHER / SUBTRACTIVE_DITHER_1 / SUBTRACTIVE_DITHER_2 with ZDITHER0. Decoding follows cfitsio's
 * imcomp_decompress_tile so that floats are bit-identical to `funpack`. PLIO_1 and HCOMPRESS_1
 * are reported as unsupported. A 2-D image tiled in whole rows also decodes a band of rows from its
 * own tiles (compressedRowSpan, decompressImageRows: a deferred Exposure's band reads). Gzip tiles
 * inflate with fflate, or the GzipCodec given (Node's zlib). The writer is compressImage.ts.
 */
import { gunzipSync, inflateSync, unzlibSync } from 'fflate';
import { FitsError } from './errors.js';
import { FitsHeader } from './header.js';
import type { Card } from './header.js';
import { binTableLayout, readDescriptor } from './bintable.js';
import type { ColumnLayout, TableLayout } from './bintable.js';
import { RiceError, riceDecompress } from './rice.js';
import { unquantizeTile } from './quantize.js';
import type { GzipCodec } from './gzip.js';
import { fieldWidth } from './tform.js';
import type { QuantizeMethod } from './quantize.js';

/** Physical pixel values of a decompressed image, row-major (first FITS axis fastest). */
export type DecompressedPixels = Float32Array | Float64Array | Uint8Array | Int16Array | Uint16Array | Int32Array | BigInt64Array;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Most pixels a decompressed image may have (the largest typed array V8 allocates reliably). */
const MAX_PIXELS = 2 ** 31 - 1;
/** Deflate cannot expand data by more than about 1032:1. */
const MAX_DEFLATE_RATIO = 1032;

/** True when the header describes a tile-compressed image (ZIMAGE = T). */
export function isTileCompressed(header: FitsHeader): boolean {
  return header.get('ZIMAGE') === true;
}

type Compression = 'RICE_1' | 'GZIP_1' | 'GZIP_2' | 'NOCOMPRESS';

interface Params {
  bitpix: number;
  /** Image axis lengths in FITS order (NAXIS1 first). */
  naxes: number[];
  /** Tile axis lengths in FITS order. */
  tile: number[];
  compression: Compression;
  blocksize: number;
  bytepix: number;
  /** Quantisation method when floats were stored as scaled integers; undefined when lossless. */
  quantize?: QuantizeMethod;
  ditherSeed: number;
  bscale: number;
  bzero: number;
}

function compressionParams(header: FitsHeader, source: string, hdu: number): Params {
  const fail = (p: string): never => { throw new FitsError(source, hdu, `tile-compressed image: ${p}`); };
  if (!isTileCompressed(header)) fail('ZIMAGE is not T');
  const int = (key: string, min: number): number => {
    const v = header.get(key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(`${key} = ${String(v)} is not an integer >= ${min}`);
    return v as number;
  };
  const bitpix = int('ZBITPIX', -64);
  if (![8, 16, 32, 64, -32, -64].includes(bitpix)) fail(`ZBITPIX = ${bitpix} is not a valid BITPIX`);
  const naxis = int('ZNAXIS', 0);
  if (naxis > 999) fail(`ZNAXIS = ${naxis} exceeds 999`);
  const naxes: number[] = [];
  const tile: number[] = [];
  for (let i = 1; i <= naxis; i++) {
    const n = int(`ZNAXIS${i}`, 0);
    naxes.push(n);
    // Default tiling is row by row: ZTILE1 = ZNAXIS1, other axes 1.
    const t = header.has(`ZTILE${i}`) ? int(`ZTILE${i}`, 1) : i === 1 ? Math.max(1, n) : 1;
    tile.push(t);
  }
  const total = naxes.reduce((a, b) => a * b, naxis === 0 ? 0 : 1);
  if (total > MAX_PIXELS) fail(`image of ${total} pixels is too large to decompress`);
  const cmp = header.getString('ZCMPTYPE')?.trim().toUpperCase();
  let compression: Compression;
  if (cmp === 'RICE_1' || cmp === 'RICE_ONE') compression = 'RICE_1';
  else if (cmp === 'GZIP_1' || cmp === 'GZIP_2' || cmp === 'NOCOMPRESS') compression = cmp;
  else if (cmp === 'PLIO_1' || cmp === 'HCOMPRESS_1') return fail(`ZCMPTYPE = '${cmp}' is not supported (RICE_1, GZIP_1, GZIP_2 and NOCOMPRESS are)`);
  else return fail(cmp === undefined ? 'ZCMPTYPE is missing' : `unknown ZCMPTYPE = '${cmp}'`);
  // Algorithm parameters come as ZNAMEn / ZVALn pairs.
  let blocksize = 32;
  let bytepix = 4;
  for (let i = 1; header.has(`ZNAME${i}`); i++) {
    const name = header.getString(`ZNAME${i}`)?.trim().toUpperCase();
    const val = header.get(`ZVAL${i}`);
    if (name === 'BLOCKSIZE' || name === 'BYTEPIX') {
      if (typeof val !== 'number' || !Number.isInteger(val) || val < 1) fail(`ZVAL${i} (${name}) = ${String(val)} is not a positive integer`);
      if (name === 'BLOCKSIZE') blocksize = val as number;
      else bytepix = val as number;
    }
  }
  if (compression === 'RICE_1' && ![1, 2, 4].includes(bytepix)) fail(`Rice BYTEPIX = ${bytepix} is not 1, 2 or 4`);
  let quantize: QuantizeMethod | undefined;
  const zq = header.getString('ZQUANTIZ')?.trim().toUpperCase();
  if (bitpix < 0 && zq !== 'NONE') {
    if (zq === undefined || zq === 'NO_DITHER') quantize = 'NO_DITHER';
    else if (zq === 'SUBTRACTIVE_DITHER_1' || zq === 'SUBTRACTIVE_DITHER_2') quantize = zq;
    else fail(`unknown ZQUANTIZ = '${zq}'`);
  }
  // ZDITHER0 is mandatory with subtractive dithering; other readers (DS9) assume 1 when it is absent.
  const ditherSeed = header.has('ZDITHER0') ? int('ZDITHER0', 0) : 1;
  const bscale = header.getNumber('BSCALE') ?? 1;
  const bzero = header.getNumber('BZERO') ?? 0;
  if (bscale === 0) fail('BSCALE is zero');
  const params: Params = { bitpix, naxes, tile, compression, blocksize, bytepix, ditherSeed, bscale, bzero };
  if (quantize) params.quantize = quantize;
  return params;
}

/** Keywords that describe the table or the compression, not the image (FITS 4.0 §10.1). */
export function isTableOrCompressionKeyword(key: string): boolean {
  if (/^(XTENSION|BITPIX|NAXIS\d*|PCOUNT|GCOUNT|TFIELDS|THEAP|CHECKSUM|DATASUM)$/.test(key)) return true;
  if (/^(TTYPE|TFORM|TUNIT|TNULL|TSCAL|TZERO|TDISP|TBCOL|TDIM|TCTYP|TCUNI|TCRPX|TCRVL|TCDLT|TRPOS)[1-9]\d*$/.test(key)) return true;
  if (/^(ZNAXIS|ZTILE|ZNAME|ZVAL)[1-9]\d*$/.test(key)) return true;
  return /^(ZIMAGE|ZCMPTYPE|ZMASKCMP|ZQUANTIZ|ZDITHER0|ZBLANK|ZSIMPLE|ZTENSION|ZBITPIX|ZNAXIS|ZEXTEND|ZBLOCKED|ZPCOUNT|ZGCOUNT|ZHECKSUM|ZDATASUM)$/.test(key);
}

function copyCard(header: FitsHeader, from: string, to: string): Card | undefined {
  const card = header.cards.find((c) => !c.commentary && c.key === from);
  if (!card) return undefined;
  return { ...card, key: to };
}

/**
 * The header of the image inside the table, as astropy's CompImageHDU.header presents it:
 * SIMPLE (from ZSIMPLE) or XTENSION = 'IMAGE', BITPIX/NAXIS/NAXISn from ZBITPIX/ZNAXIS/ZNAXISn,
 * PCOUNT/GCOUNT for extensions, then the table's other cards in order, then EXTEND, BLOCKED,
 * CHECKSUM and DATASUM from ZEXTEND, ZBLOCKED, ZHECKSUM and ZDATASUM. Table structure keywords, all
 * compression keywords (ZBLANK and ZDITHER0 included) and EXTNAME = 'COMPRESSED_IMAGE' are dropped;
 * the table's own CHECKSUM/DATASUM are dropped because they do not describe the image.
 */
function imageHeaderFrom(header: FitsHeader, params: Params): FitsHeader {
  const head: Card[] = [];
  const primary = header.get('ZSIMPLE') !== undefined;
  if (primary) head.push(copyCard(header, 'ZSIMPLE', 'SIMPLE')!);
  else head.push({ key: 'XTENSION', value: 'IMAGE', comment: header.getComment('ZTENSION') ?? 'Image extension' });
  head.push({ ...copyCard(header, 'ZBITPIX', 'BITPIX')!, value: params.bitpix });
  head.push({ ...copyCard(header, 'ZNAXIS', 'NAXIS')!, value: params.naxes.length });
  params.naxes.forEach((n, i) => {
    const c = copyCard(header, `ZNAXIS${i + 1}`, `NAXIS${i + 1}`)!;
    head.push({ ...c, value: n });
  });
  if (!primary) {
    head.push(copyCard(header, 'ZPCOUNT', 'PCOUNT') ?? { key: 'PCOUNT', value: 0 });
    head.push(copyCard(header, 'ZGCOUNT', 'GCOUNT') ?? { key: 'GCOUNT', value: 1 });
  }
  const body: Card[] = [];
  for (const card of header.cards) {
    if (!card.commentary && isTableOrCompressionKeyword(card.key)) continue;
    if (!card.commentary && card.key === 'EXTNAME' && card.value === 'COMPRESSED_IMAGE') continue;
    body.push({ ...card });
  }
  const tail: Card[] = [];
  for (const [from, to] of [['ZEXTEND', 'EXTEND'], ['ZBLOCKED', 'BLOCKED'], ['ZHECKSUM', 'CHECKSUM'], ['ZDATASUM', 'DATASUM']] as const) {
    const c = copyCard(header, from, to);
    if (c) tail.push(c);
  }
  return new FitsHeader([...head, ...body, ...tail]);
}

/** Image type, shape (slowest axis first, e.g. [ny, nx]) and header of a tile-compressed HDU. */
export function compressedImageInfo(header: FitsHeader, source: string, hdu: number): { bitpix: number; shape: number[]; imageHeader: FitsHeader } {
  const params = compressionParams(header, source, hdu);
  return { bitpix: params.bitpix, shape: [...params.naxes].reverse(), imageHeader: imageHeaderFrom(header, params) };
}

// ---------------------------------------------------------------------------------------------

type OutputKind = 'float32' | 'float64' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'int64';

/** The typed array a decompressed image comes out as, following astropy's choices. */
function outputKind(p: Params): OutputKind {
  if (p.bitpix === -32) return 'float32';
  if (p.bitpix === -64) return 'float64';
  const unscaled = p.bscale === 1 && p.bzero === 0;
  switch (p.bitpix) {
    case 8: return unscaled ? 'uint8' : 'float32';
    case 16: return unscaled ? 'int16' : p.bscale === 1 && p.bzero === 32768 ? 'uint16' : 'float32';
    case 32: return unscaled ? 'int32' : 'float64';
    default: return unscaled ? 'int64' : 'float64';
  }
}

function allocOutput(kind: OutputKind, n: number): DecompressedPixels {
  switch (kind) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'uint8': return new Uint8Array(n);
    case 'int16': return new Int16Array(n);
    case 'uint16': return new Uint16Array(n);
    case 'int32': return new Int32Array(n);
    default: return new BigInt64Array(n);
  }
}

interface Columns {
  compressed: ColumnLayout;
  gzip?: ColumnLayout;
  uncompressed?: ColumnLayout;
  zscale?: ColumnLayout;
  zzero?: ColumnLayout;
  zblank?: ColumnLayout;
}

function findColumns(layout: TableLayout, fail: (p: string) => never): Columns {
  const byName = (name: string) => layout.columns.find((c) => c.name.toUpperCase() === name);
  const compressed = byName('COMPRESSED_DATA');
  if (!compressed || !compressed.tform.variable) return fail('no COMPRESSED_DATA variable-length array column');
  const cols: Columns = { compressed };
  const optional = ['GZIP_COMPRESSED_DATA', 'UNCOMPRESSED_DATA', 'ZSCALE', 'ZZERO', 'ZBLANK'] as const;
  const keys = { GZIP_COMPRESSED_DATA: 'gzip', UNCOMPRESSED_DATA: 'uncompressed', ZSCALE: 'zscale', ZZERO: 'zzero', ZBLANK: 'zblank' } as const;
  for (const name of optional) {
    const c = byName(name);
    if (!c) continue;
    const variable = name === 'GZIP_COMPRESSED_DATA' || name === 'UNCOMPRESSED_DATA';
    if (variable !== Boolean(c.tform.variable)) fail(`column ${name} has unexpected TFORM '${c.tform.text}'`);
    if (!variable && (c.tform.repeat !== 1 || !'BIJKED'.includes(c.tform.code))) fail(`column ${name} must be a scalar number, has TFORM '${c.tform.text}'`);
    cols[keys[name]] = c;
  }
  return cols;
}

/** One scalar numeric field (B I J K E D) of a row, big-endian. */
function readScalar(view: DataView, layout: TableLayout, col: ColumnLayout, row: number): number {
  const p = row * layout.rowBytes + col.offset;
  switch (col.tform.code) {
    case 'B': return view.getUint8(p);
    case 'I': return view.getInt16(p, false);
    case 'J': return view.getInt32(p, false);
    case 'K': return Number(view.getBigInt64(p, false));
    case 'E': return view.getFloat32(p, false);
    default: return view.getFloat64(p, false);
  }
}

/** Copies n big-endian (or byte-shuffled, GZIP_2) elements of `size` bytes into native order in dst8. */
function toNative(src: Uint8Array, n: number, size: number, shuffled: boolean, dst8: Uint8Array): void {
  if (size === 1) { dst8.set(src.subarray(0, n)); return; }
  if (size === 4 && LITTLE_ENDIAN && dst8.byteOffset % 4 === 0) {
    // The common case (float32 and int32 planes), a word at a time into int32 lanes (no conversions).
    const d32 = new Int32Array(dst8.buffer, dst8.byteOffset, n);
    if (shuffled && src.byteOffset % 4 === 0 && n % 4 === 0) {
      // Four values at once from a little-endian word of each byte plane: about 1.7x the byte loop.
      const w = new Int32Array(src.buffer, src.byteOffset, n), q = n >> 2;
      for (let j = 0, o = 0; j < q; j++, o += 4) {
        const a = w[j]!, b = w[q + j]!, c = w[2 * q + j]!, d = w[3 * q + j]!;
        d32[o] = (a << 24) | ((b & 0xff) << 16) | ((c & 0xff) << 8) | (d & 0xff);
        d32[o + 1] = ((a & 0xff00) << 16) | ((b & 0xff00) << 8) | (c & 0xff00) | ((d >>> 8) & 0xff);
        d32[o + 2] = ((a & 0xff0000) << 8) | (b & 0xff0000) | ((c >>> 8) & 0xff00) | ((d >>> 16) & 0xff);
        d32[o + 3] = (a & 0xff000000) | ((b >>> 8) & 0xff0000) | ((c >>> 16) & 0xff00) | (d >>> 24);
      }
    } else if (shuffled) {
      for (let i = 0, n2 = 2 * n, n3 = 3 * n; i < n; i++) d32[i] = (src[i]! << 24) | (src[n + i]! << 16) | (src[n2 + i]! << 8) | src[n3 + i]!;
    } else {
      for (let i = 0, o = 0; i < n; i++, o += 4) d32[i] = (src[o]! << 24) | (src[o + 1]! << 16) | (src[o + 2]! << 8) | src[o + 3]!;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const o = i * size;
    for (let k = 0; k < size; k++) {
      const b = shuffled ? src[k * n + i]! : src[o + k]!;
      dst8[o + (LITTLE_ENDIAN ? size - 1 - k : k)] = b;
    }
  }
}

function inflateInto(bytes: Uint8Array, out: Uint8Array, codec: GzipCodec | undefined): Uint8Array {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return codec ? codec.gunzip(bytes, out) : gunzipSync(bytes, { out });
  if (bytes.length >= 2 && (bytes[0]! & 0x0f) === 8 && ((bytes[0]! << 8) | bytes[1]!) % 31 === 0) return unzlibSync(bytes, { out });
  return inflateSync(bytes, { out });
}

/**
 * Decompresses a tile-compressed image HDU. `data` is the table's whole data area (main table and
 * heap, at least NAXIS1*NAXIS2 + PCOUNT bytes). Returns physical values, row-major: float images
 * as Float32Array/Float64Array (undefined pixels NaN); integer images in their own type, Uint16Array
 * for BZERO = 32768, or Float32Array/Float64Array when BSCALE/BZERO scale them (BLANK → NaN).
 * `codec` inflates gzip tiles (default fflate's). `into`: an array of the output's type (Float32Array
 * for lossless float32, Int32Array for unscaled int32) and at least its length, decoded into and
 * returned as a view of it instead of a new array; ignored when the types differ.
 */
export function decompressImage(header: FitsHeader, data: Uint8Array, source: string, hdu: number, codec?: GzipCodec, into?: DecompressedPixels): DecompressedPixels {
  return decodeTiles(header, data, data.length, (start, count) => data.subarray(start, start + count), source, hdu, codec, undefined, into);
}

/** Which tiles hold a band of rows of a 2-D image tiled in whole rows, and the heap bytes they span. */
export interface RowTiles {
  /** Byte range [start, end) of the data area (from its first byte) that the tiles' data lie in. */
  start: number;
  end: number;
}

function rowTiled(p: Params): boolean {
  return p.naxes.length === 2 && p.tile[0]! >= p.naxes[0]!;
}

/**
 * For a 2-D image tiled in whole rows (ZTILE1 >= ZNAXIS1): the part of the data area that rows
 * [y0, y0 + height) are stored in, read from the main table (`table`: its NAXIS1*NAXIS2 bytes), or
 * undefined when the image is tiled otherwise (decode it whole). `dataLength` is NAXIS1*NAXIS2 + PCOUNT.
 */
export function compressedRowSpan(header: FitsHeader, table: Uint8Array, dataLength: number, source: string, hdu: number, y0: number, height: number): RowTiles | undefined {
  const p = compressionParams(header, source, hdu);
  if (!rowTiled(p) || height <= 0) return undefined;
  const layout = binTableLayout(header, dataLength, source, hdu);
  const cols = findColumns(layout, (problem) => { throw new FitsError(source, hdu, `tile-compressed image: ${problem}`); });
  let start = Infinity;
  let end = 0;
  for (let t = Math.floor(y0 / p.tile[1]!); t <= Math.floor((y0 + height - 1) / p.tile[1]!); t++) {
    for (const col of [cols.compressed, cols.gzip, cols.uncompressed]) {
      if (!col) continue;
      const d = readDescriptor(table, layout, col, t, source, hdu);
      const bytes = fieldWidth(col.tform.code, d.count);
      if (bytes === 0) continue;
      start = Math.min(start, d.start);
      end = Math.max(end, d.start + bytes);
    }
  }
  return start === Infinity ? { start: layout.heapStart, end: layout.heapStart } : { start, end };
}

/**
 * Rows [y0, y0 + height) of a 2-D image tiled in whole rows, decoded from its main table (`table`)
 * and the data-area bytes [span.start, span.end) that compressedRowSpan named (`spanBytes`); values
 * as decompressImage gives them (`into` as there), `height` rows of ZNAXIS1 pixels.
 */
export function decompressImageRows(header: FitsHeader, table: Uint8Array, spanBytes: Uint8Array, span: RowTiles, dataLength: number, source: string, hdu: number, y0: number, height: number, codec?: GzipCodec, into?: DecompressedPixels): DecompressedPixels {
  const bytesAt = (start: number, count: number): Uint8Array => {
    if (start < span.start || start + count > span.end) throw new FitsError(source, hdu, `tile-compressed image: tile data at ${start} lies outside the bytes read (${span.start}..${span.end})`);
    return spanBytes.subarray(start - span.start, start - span.start + count);
  };
  return decodeTiles(header, table, dataLength, bytesAt, source, hdu, codec, { y0, height }, into);
}

/** Decodes every tile, or with `rows` the tiles of those rows of a row-tiled 2-D image (the output is then those rows). */
function decodeTiles(header: FitsHeader, table: Uint8Array, dataLength: number, bytesAt: (start: number, count: number) => Uint8Array, source: string, hdu: number, codec: GzipCodec | undefined, rows?: { y0: number; height: number }, into?: DecompressedPixels): DecompressedPixels {
  const fail = (p: string): never => { throw new FitsError(source, hdu, `tile-compressed image: ${p}`); };
  const p = compressionParams(header, source, hdu);
  const layout = binTableLayout(header, dataLength, source, hdu);
  const cols = findColumns(layout, fail);
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const ndim = p.naxes.length;
  const npixTotal = ndim === 0 ? 0 : p.naxes.reduce((a, b) => a * b, 1);
  // Tiles per axis, and the table must have one row per tile.
  const ntiles = p.naxes.map((n, i) => Math.ceil(n / p.tile[i]!));
  const tileCount = npixTotal === 0 ? 0 : ntiles.reduce((a, b) => a * b, 1);
  if (layout.nrows !== tileCount) fail(`the table has ${layout.nrows} rows but ZNAXISn/ZTILEn imply ${tileCount} tiles`);
  const kind = outputKind(p);
  // Floats were quantised when a ZSCALE (column or keyword) exists and ZQUANTIZ is not 'NONE'.
  const quantized = p.quantize !== undefined && (cols.zscale !== undefined || header.has('ZSCALE'));
  const maxTile = p.tile.reduce((a, t, i) => a * Math.min(t, p.naxes[i]!), 1);

  // Validate every tile's stored size against its pixel count before allocating the image.
  const zblankKeyword = header.getNumber('ZBLANK') ?? header.getNumber('BLANK');
  const tileExtent = new Array<number>(ndim);
  const tileStart = new Array<number>(ndim);
  const locate = (row: number): number => {
    let r = row;
    let npix = 1;
    for (let a = 0; a < ndim; a++) {
      const ia = r % ntiles[a]!;
      r = Math.floor(r / ntiles[a]!);
      tileStart[a] = ia * p.tile[a]!;
      tileExtent[a] = Math.min(p.tile[a]!, p.naxes[a]! - tileStart[a]!);
      npix *= tileExtent[a]!;
    }
    return npix;
  };
  // A band of rows [y0, y0 + height) of a row-tiled 2-D image: only its tiles, into an array of its rows.
  if (rows && (!rowTiled(p) || rows.y0 < 0 || rows.height < 0 || rows.y0 + rows.height > (p.naxes[1] ?? 0))) {
    fail(`rows ${rows.y0}..${rows.y0 + rows.height} cannot be decoded alone (a 2-D image tiled in whole rows, ${p.naxes[1] ?? 0} rows)`);
  }
  const firstTile = rows ? Math.floor(rows.y0 / p.tile[1]!) : 0;
  const endTile = rows ? (rows.height === 0 ? firstTile : Math.floor((rows.y0 + rows.height - 1) / p.tile[1]!) + 1) : tileCount;
  const outOffset = rows ? rows.y0 * p.naxes[0]! : 0;
  const outCount = rows ? rows.height * p.naxes[0]! : npixTotal;
  for (let row = firstTile; row < endTile; row++) {
    const npix = locate(row);
    const d = readDescriptor(table, layout, cols.compressed, row, source, hdu);
    if (d.count > 0) {
      if (!minimumHolds(p, d.count, npix)) fail(`tile ${row + 1}: ${d.count} compressed bytes cannot hold ${npix} pixels`);
      continue;
    }
    if (cols.gzip) {
      const g = readDescriptor(table, layout, cols.gzip, row, source, hdu);
      if (g.count > 0) {
        if (npix * Math.abs(p.bitpix / 8) > g.count * MAX_DEFLATE_RATIO + 64) fail(`tile ${row + 1}: ${g.count} gzipped bytes cannot hold ${npix} pixels`);
        continue;
      }
    }
    if (cols.uncompressed) {
      const u = readDescriptor(table, layout, cols.uncompressed, row, source, hdu);
      if (u.count !== npix) fail(`tile ${row + 1}: UNCOMPRESSED_DATA holds ${u.count} values, the tile has ${npix} pixels`);
      continue;
    }
    fail(`tile ${row + 1} has no data in COMPRESSED_DATA${cols.gzip ? ', GZIP_COMPRESSED_DATA' : ''}${cols.uncompressed ? ' or UNCOMPRESSED_DATA' : ''}`);
  }

  const fits = into !== undefined && into.length >= outCount && ((kind === 'float32' && into instanceof Float32Array) || (kind === 'int32' && into instanceof Int32Array));
  const out = fits ? into.subarray(0, outCount) : allocOutput(kind, outCount);
  const ints = new Int32Array(maxTile);
  const scratch = new ArrayBuffer(maxTile * 8 + 8);
  const scratch8 = new Uint8Array(scratch);
  const inflated = new Uint8Array(maxTile * 8 + 1);
  const tileBuffer = allocOutput(kind, maxTile);

  for (let row = firstTile; row < endTile; row++) {
    const npix = locate(row);
    let imageOffset = 0;
    for (let a = ndim - 1; a >= 0; a--) imageOffset = imageOffset * p.naxes[a]! + tileStart[a]!;
    // A tile covering whole image rows (and, for a band, lying inside it) is contiguous in the output: decode straight into it.
    const contiguous = isContiguous(tileExtent, p.naxes) && imageOffset >= outOffset && imageOffset + npix <= outOffset + outCount;
    const target = contiguous ? out : tileBuffer;
    const offset = contiguous ? imageOffset - outOffset : 0;
    try {
      decodeTile(row, npix, target, offset);
    } catch (e) {
      if (e instanceof FitsError) throw e;
      // RiceError and fflate's inflate errors describe damaged data: report file, HDU and tile.
      if (e instanceof Error) fail(`tile ${row + 1}: ${e instanceof RiceError ? 'Rice: ' : 'inflate: '}${e.message}`);
      throw e;
    }
    if (contiguous) continue;
    if (rows) {
      // The band's rows of a tile of whole rows that reaches beyond the band.
      const from = Math.max(imageOffset, outOffset), to = Math.min(imageOffset + npix, outOffset + outCount);
      (out as Float32Array).set((tileBuffer as Float32Array).subarray(from - imageOffset, to - imageOffset), from - outOffset);
    } else {
      copyTileIntoImage(tileBuffer, out, tileStart, tileExtent, p.naxes);
    }
  }
  return out;

  function decodeTile(row: number, npix: number, target: DecompressedPixels, offset: number): void {
    const d = readDescriptor(table, layout, cols.compressed, row, source, hdu);
    if (d.count === 0) {
      decodeFallbackTile(row, npix, target, offset);
      return;
    }
    const bytes = bytesAt(d.start, d.count);
    let elementSize: number;
    let native: Uint8Array;
    if (p.compression === 'RICE_1') {
      riceDecompress(bytes, p.bytepix, p.blocksize, npix, ints);
      storeIntegers(row, npix, target, offset);
      return;
    }
    if (p.compression === 'NOCOMPRESS') {
      native = bytes;
    } else {
      native = inflateInto(bytes, inflated, codec);
    }
    if (p.compression !== 'NOCOMPRESS' && native.length === inflated.length) fail(`tile ${row + 1}: inflates to more than 8 bytes per pixel`);
    elementSize = native.length / npix;
    if (![1, 2, 4, 8].includes(elementSize)) {
      fail(`tile ${row + 1}: uncompressed tile has ${native.length} bytes, not 1, 2, 4 or 8 per pixel for ${npix} pixels`);
    }
    if (elementSize === 4 && !quantized && p.bscale === 1 && p.bzero === 0 && (kind === 'float32' ? p.bitpix === -32 : kind === 'int32')) {
      // Lossless float32 or unscaled int32 (an Exposure's planes): straight into the image, no copy between.
      toNative(native, npix, 4, p.compression === 'GZIP_2', new Uint8Array(target.buffer, target.byteOffset + offset * 4, npix * 4));
      return;
    }
    toNative(native, npix, elementSize, p.compression === 'GZIP_2', scratch8);
    const floats = p.bitpix < 0 && !quantized;
    if (floats) {
      // Lossless floating point: the tile holds IEEE values (4 or 8 bytes each).
      if (elementSize === 4) storeFloats(new Float32Array(scratch, 0, npix), npix, target, offset);
      else if (elementSize === 8) storeFloats(new Float64Array(scratch, 0, npix), npix, target, offset);
      else fail(`tile ${row + 1}: ${elementSize}-byte elements in a lossless floating-point image`);
      return;
    }
    if (elementSize === 8) {
      if (p.bitpix !== 64) fail(`tile ${row + 1}: 8-byte integers in a ZBITPIX = ${p.bitpix} image`);
      storeInt64(new BigInt64Array(scratch, 0, npix), row, npix, target, offset);
      return;
    }
    if (elementSize === 4) ints.set(new Int32Array(scratch, 0, npix));
    else if (elementSize === 2) { const s = new Int16Array(scratch, 0, npix); for (let i = 0; i < npix; i++) ints[i] = s[i]!; }
    else for (let i = 0; i < npix; i++) ints[i] = scratch8[i]!;
    storeIntegers(row, npix, target, offset);
  }

  /** Tiles cfitsio could not (or chose not to) compress: GZIP_COMPRESSED_DATA or UNCOMPRESSED_DATA. */
  function decodeFallbackTile(row: number, npix: number, target: DecompressedPixels, offset: number): void {
    if (cols.gzip) {
      const g = readDescriptor(table, layout, cols.gzip, row, source, hdu);
      if (g.count > 0) {
        if (p.bitpix > 0) fail(`tile ${row + 1}: GZIP_COMPRESSED_DATA in an integer image`);
        const native = inflateInto(bytesAt(g.start, g.count), inflated, codec);
        if (native.length === npix * 4) {
          toNative(native, npix, 4, false, scratch8);
          storeRawFloats(new Float32Array(scratch, 0, npix), npix, target, offset);
        } else if (native.length === npix * 8) {
          toNative(native, npix, 8, false, scratch8);
          storeRawFloats(new Float64Array(scratch, 0, npix), npix, target, offset);
        } else {
          fail(`tile ${row + 1}: GZIP_COMPRESSED_DATA inflates to ${native.length} bytes, not 4 or 8 per pixel for ${npix} pixels`);
        }
        return;
      }
    }
    const col = cols.uncompressed!;
    const u = readDescriptor(table, layout, col, row, source, hdu);
    const code = col.tform.code;
    const size = code === 'B' ? 1 : code === 'I' ? 2 : code === 'J' || code === 'E' ? 4 : code === 'K' || code === 'D' ? 8 : 0;
    if (size === 0) fail(`UNCOMPRESSED_DATA has unsupported element type '${code}'`);
    toNative(bytesAt(u.start, u.count * size), npix, size, false, scratch8);
    if (code === 'E') storeRawFloats(new Float32Array(scratch, 0, npix), npix, target, offset);
    else if (code === 'D') storeRawFloats(new Float64Array(scratch, 0, npix), npix, target, offset);
    else if (code === 'K') storeInt64(new BigInt64Array(scratch, 0, npix), row, npix, target, offset);
    else {
      if (code === 'J') ints.set(new Int32Array(scratch, 0, npix));
      else if (code === 'I') { const s = new Int16Array(scratch, 0, npix); for (let i = 0; i < npix; i++) ints[i] = s[i]!; }
      else for (let i = 0; i < npix; i++) ints[i] = scratch8[i]!;
      storeIntegers(row, npix, target, offset, true);
    }
  }

  /** Per-tile ZBLANK (column, keyword, or BLANK). */
  function tileBlank(row: number): number | undefined {
    if (cols.zblank) return readScalar(view, layout, cols.zblank, row);
    return zblankKeyword;
  }

  /** Integers of a tile (in `ints`) to physical values. `raw`: values read from UNCOMPRESSED_DATA. */
  function storeIntegers(row: number, npix: number, target: DecompressedPixels, offset: number, raw = false): void {
    if (p.bitpix < 0) {
      const t = target as Float32Array | Float64Array;
      if (quantized && !raw) {
        let scale = cols.zscale ? readScalar(view, layout, cols.zscale, row) : header.getNumber('ZSCALE') ?? 1;
        let zero = cols.zzero ? readScalar(view, layout, cols.zzero, row) : header.getNumber('ZZERO') ?? 0;
        if (p.bscale !== 1 || p.bzero !== 0) { zero = zero * p.bscale + p.bzero; scale *= p.bscale; }
        // cfitsio's `row` for the dither sequence: 1-based tile number + ZDITHER0 - 1.
        unquantizeTile(ints, npix, scale, zero, p.quantize!, row + 1 + p.ditherSeed - 1, tileBlank(row), t, offset);
        return;
      }
      // Integers in a float image without quantisation (uncompressed integer fallback).
      const blank = tileBlank(row);
      for (let i = 0; i < npix; i++) { const v = ints[i]!; t[offset + i] = v === blank ? NaN : v * p.bscale + p.bzero; }
      return;
    }
    if (kind === 'int64') {
      const t = target as BigInt64Array;
      for (let i = 0; i < npix; i++) t[offset + i] = BigInt(ints[i]!);
      return;
    }
    if (kind === 'float32' || kind === 'float64') {
      const t = target as Float32Array | Float64Array;
      const blank = tileBlank(row);
      for (let i = 0; i < npix; i++) { const v = ints[i]!; t[offset + i] = v === blank ? NaN : v * p.bscale + p.bzero; }
      return;
    }
    const t = target as Uint8Array | Int16Array | Uint16Array | Int32Array;
    if (p.bscale === 1 && p.bzero === 0) { t.set(ints.subarray(0, npix), offset); return; }
    for (let i = 0; i < npix; i++) t[offset + i] = ints[i]! + p.bzero;
  }

  function storeInt64(values: BigInt64Array, row: number, npix: number, target: DecompressedPixels, offset: number): void {
    if (kind === 'int64') { (target as BigInt64Array).set(values.subarray(0, npix), offset); return; }
    const t = target as Float32Array | Float64Array;
    const blank = tileBlank(row);
    for (let i = 0; i < npix; i++) {
      const v = values[i]!;
      t[offset + i] = blank !== undefined && v === BigInt(blank) ? NaN : Number(v) * p.bscale + p.bzero;
    }
  }

  /** Lossless floats from a compressed tile: BSCALE/BZERO applied when present. */
  function storeFloats(values: Float32Array | Float64Array, npix: number, target: DecompressedPixels, offset: number): void {
    const t = target as Float32Array | Float64Array;
    if (p.bscale === 1 && p.bzero === 0) { t.set(values.subarray(0, npix), offset); return; }
    for (let i = 0; i < npix; i++) t[offset + i] = values[i]! * p.bscale + p.bzero;
  }

  /** Floats of a fallback tile, stored without quantisation or scaling (cfitsio applies 1, 0). */
  function storeRawFloats(values: Float32Array | Float64Array, npix: number, target: DecompressedPixels, offset: number): void {
    if (p.bitpix > 0) fail('floating-point fallback data in an integer image');
    (target as Float32Array | Float64Array).set(values.subarray(0, npix), offset);
  }
}

/** Lower bound check: can `bytes` of compressed data decode to `npix` pixels? Guards allocations. */
function minimumHolds(p: Params, bytes: number, npix: number): boolean {
  if (p.compression === 'RICE_1') {
    const fsbits = p.bytepix === 1 ? 3 : p.bytepix === 2 ? 4 : 5;
    const blocks = Math.floor(((bytes - p.bytepix) * 8) / fsbits) + 1;
    return npix <= blocks * p.blocksize;
  }
  if (p.compression === 'NOCOMPRESS') return bytes >= npix;
  return npix <= bytes * MAX_DEFLATE_RATIO + 64;
}

/** A tile is contiguous in the image when all axes but the last one it spans are whole. */
function isContiguous(extent: number[], naxes: number[]): boolean {
  let sawPartial = false;
  for (let a = 0; a < extent.length; a++) {
    if (sawPartial && extent[a]! > 1) return false;
    if (extent[a]! !== naxes[a]!) sawPartial = true;
  }
  return true;
}

/** Copies a decoded tile (row-major, first axis fastest) into its place in the image. */
function copyTileIntoImage(tile: DecompressedPixels, image: DecompressedPixels, start: number[], extent: number[], naxes: number[]): void {
  const ndim = naxes.length;
  const width = extent[0]!;
  const counter = new Array<number>(ndim).fill(0);
  let src = 0;
  for (;;) {
    let dst = 0;
    for (let a = ndim - 1; a >= 0; a--) dst = dst * naxes[a]! + start[a]! + (a === 0 ? 0 : counter[a]!);
    (image as Float32Array).set((tile as Float32Array).subarray(src, src + width), dst);
    src += width;
    let a = 1;
    for (; a < ndim; a++) {
      counter[a]!++;
      if (counter[a]! < extent[a]!) break;
      counter[a] = 0;
    }
    if (a >= ndim) return;
  }
}
