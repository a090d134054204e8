/**
 * FITS file structure and lazy access (FITS Standard 4.0 §3-§7): finds the HDUs of a file (primary
 * and extensions), parses their headers and validates the keywords that fix the data size (§4.4.1),
 * reading only header blocks; then reads an image, a sub-rectangle of an image (only its rows), a
 * binary table, or verifies checksums, one HDU at a time. Gzip files are inflated whole first.
 *
 * Every read is written once as a "plan" (a generator that yields the byte ranges it needs and gets
 * them back), then driven either asynchronously over a ByteSource (`openFits`) or synchronously over
 * bytes in memory (`readFitsBytes`) or any SyncByteSource (`openFitsSync`), so they share one implementation.
 */
import { FitsError } from './errors.js';
import { BLOCK, CARD, FitsHeader } from './header.js';
import { bytesSource, readExact, syncBytesSource, type ByteSource, type SyncByteSource } from './source.js';
import { gunzipBytes, isGzip, type GzipCodec } from './gzip.js';
import {
  bytesPerPixel, cropPixels, decodePixels, gatherColumns, isBitpix, scalingFromHeader,
  type Bitpix, type DecodeOptions, type ImageArray, type Rect,
} from './image.js';
import { verifyHduChecksum, type HduChecksumResult } from './checksum.js';
import { readBinTable, type BinTable } from './bintable.js';
import { compressedImageInfo, compressedRowSpan, decompressImage, decompressImageRows, isTileCompressed } from './tilecompression.js';

export type HduType = 'IMAGE' | 'BINTABLE' | 'TABLE' | 'OTHER';

export interface HduInfo {
  index: number;
  /** 'IMAGE' for the primary HDU, IMAGE extensions and tile-compressed images; 'OTHER' for unknown XTENSIONs and random groups. */
  type: HduType;
  /** The XTENSION value (trimmed), or 'PRIMARY'. */
  xtension: string;
  extname?: string;
  extver?: number;
  /** BITPIX of the image (the uncompressed image's for a tile-compressed HDU; 8 for tables). */
  bitpix: Bitpix;
  /** Image axes slowest first: [ny, nx], [nz, ny, nx]...; [] without data. For tables [NAXIS2, NAXIS1] (rows, row bytes). */
  shape: number[];
  /** True for a tile-compressed image stored as a BINTABLE (ZIMAGE = T). */
  compressed: boolean;
  /** The header as stored. */
  header: FitsHeader;
  /** The image's header: `header`, or for a compressed image the uncompressed image's (ZBITPIX -> BITPIX...). */
  imageHeader: FitsHeader;
  headerOffset: number;
  headerSize: number;
  dataOffset: number;
  /** Data bytes declared by the header, without padding (for tables NAXIS1*NAXIS2 + PCOUNT). */
  dataSize: number;
}

export interface ReadOptions extends DecodeOptions {
  /** 'verify': check DATASUM/CHECKSUM (when present) of each HDU whose data are read; throws FitsError on mismatch. */
  checksum?: 'verify' | 'ignore';
  /**
   * readImage only: read the stored bytes into this buffer (e.g. a wasm plane from PlaneAllocator.u8)
   * instead of a new one. For unscaled images and the unsigned-integer conventions the returned pixels
   * are a view over it, so an image goes from disk to wasm memory with no other copy and no fresh
   * allocation. Ignored for tile-compressed images.
   */
  into?: Uint8Array;
  /**
   * For a tile-compressed image (or a full-width section of one tiled in rows) of lossless float32 or
   * unscaled int32 pixels: decode them straight into this array (at least the pixel count), which the
   * result is then a view of: no array of the whole image is allocated. Ignored otherwise.
   */
  decodeInto?: Float32Array | Int32Array;
  /** As OpenOptions.codec. */
  codec?: GzipCodec;
}

export interface FitsImage {
  data: ImageArray;
  /** Axes slowest first, as in HduInfo.shape. */
  shape: number[];
  /** NAXIS1 (1 for an image without axes) and NAXIS2 (1 for 1-D); for a section, its width and height. */
  width: number;
  height: number;
  bitpix: Bitpix;
  header: FitsHeader;
}

export interface SectionOptions extends ReadOptions {
  /** For images with more than two axes: the index of the 2-D plane (axes 3.. flattened, NAXIS3 fastest). */
  plane?: number;
}

// ---------------------------------------------------------------------------------------------------
// Plans and their drivers

interface ReadRequest {
  offset: number;
  length: number;
  /** false: the source may return fewer bytes at its end (header scanning). */
  exact: boolean;
  hdu?: number;
  /** Read into this buffer (length >= `length`) instead of a new one; the plan may decode in place. */
  target?: Uint8Array;
}

type Plan<T> = Generator<ReadRequest, T, Uint8Array>;

/** Buffers a driver got from a source whose reads are fresh: decoders may overwrite them. */
const freshReads = new WeakSet<Uint8Array>();

async function runAsync<T>(plan: Plan<T>, source: ByteSource): Promise<T> {
  let step = plan.next();
  while (!step.done) {
    const r = step.value;
    let bytes: Uint8Array;
    try {
      if (r.target && source.readInto) {
        bytes = r.target.subarray(0, r.length);
        const got = await source.readInto(r.offset, bytes);
        if (got < r.length) throw new FitsError(source.name, r.hdu, `file is truncated: needs bytes ${r.offset}..${r.offset + r.length} but ends at ${r.offset + got}`);
      } else {
        bytes = r.exact ? await readExact(source, r.offset, r.length, r.hdu) : await source.read(r.offset, r.length);
        if (r.target) bytes = copyInto(r.target, bytes);
      }
    } catch (e) {
      if (e instanceof FitsError) throw e;
      throw new FitsError(source.name, r.hdu, `read of ${r.length} bytes at ${r.offset} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (source.readsAreFresh || r.target) freshReads.add(bytes);
    step = plan.next(bytes);
  }
  return step.value;
}

function runSync<T>(plan: Plan<T>, source: SyncByteSource): T {
  let step = plan.next();
  while (!step.done) {
    const r = step.value;
    let view: Uint8Array;
    try {
      if (r.target && source.readInto && r.length > 0) {
        const into = r.target.subarray(0, r.length);
        view = into.subarray(0, source.readInto(r.offset, into));
        if (view.length === r.length) {
          freshReads.add(view);
          step = plan.next(view);
          continue;
        }
      } else view = r.length === 0 ? new Uint8Array(0) : source.read(r.offset, r.length);
    } catch (e) {
      throw new FitsError(source.name, r.hdu, `read of ${r.length} bytes at ${r.offset} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (r.exact && view.length < r.length) {
      throw new FitsError(source.name, r.hdu, `file is truncated: needs bytes ${r.offset}..${r.offset + r.length} but ends at ${source.size}`);
    }
    if (r.target) {
      const copy = copyInto(r.target, view);
      freshReads.add(copy);
      step = plan.next(copy);
    } else {
      if (source.readsAreFresh) freshReads.add(view);
      step = plan.next(view);
    }
  }
  return step.value;
}

/** Copies `bytes` to the start of `target` and returns the filled part of `target`. */
function copyInto(target: Uint8Array, bytes: Uint8Array): Uint8Array {
  const out = target.subarray(0, bytes.length);
  out.set(bytes);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Structure

const ASCII_SIMPLE = 'SIMPLE  =';
const ASCII_XTENSION = 'XTENSION=';
/** Header bytes requested per read while looking for END (grows by doubling). */
const FIRST_HEADER_READ = 4 * BLOCK;
/** The standard limits NAXIS to 999. */
const MAX_NAXIS = 999;

function startsWith(bytes: Uint8Array, text: string): boolean {
  if (bytes.length < text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Index of the first byte after the block holding an END card (`END` then 77 spaces), or -1. */
function endOfHeader(bytes: Uint8Array, from: number): number {
  for (let card = from; card + CARD <= bytes.length; card += CARD) {
    if (bytes[card] !== 0x45 || bytes[card + 1] !== 0x4e || bytes[card + 2] !== 0x44) continue;
    let blank = true;
    for (let k = 3; k < CARD; k++) if (bytes[card + k] !== 0x20) { blank = false; break; }
    if (blank) return (Math.floor(card / BLOCK) + 1) * BLOCK;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Reads header blocks from `offset` until the END card and parses them. */
function* headerPlan(name: string, index: number, offset: number, size: number): Plan<{ header: FitsHeader; byteLength: number }> {
  let bytes: Uint8Array = new Uint8Array(0);
  let want = FIRST_HEADER_READ;
  for (;;) {
    const start = offset + bytes.length;
    const chunk = yield { offset: start, length: Math.min(want, size - start), exact: false, hdu: index };
    const scanFrom = Math.max(0, bytes.length - (bytes.length % CARD));
    bytes = concat(bytes, chunk);
    const end = endOfHeader(bytes, scanFrom);
    if (end >= 0 || start + chunk.length >= size || chunk.length === 0) {
      // FitsHeader.parse reports a missing END or a truncated block precisely.
      const header = end >= 0 && end <= bytes.length ? bytes.subarray(0, end) : bytes;
      return FitsHeader.parse(header, 0, name, index);
    }
    want *= 2;
  }
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v !== null && typeof v === 'object' && 're' in v && 'im' in v) return `(${String(v.re)}, ${String(v.im)})`;
  return String(v);
}

function requireInteger(header: FitsHeader, key: string, name: string, index: number, fallback?: number): number {
  const card = header.get(key);
  if (card === undefined) {
    if (fallback !== undefined) return fallback;
    throw new FitsError(name, index, `mandatory keyword ${key} is missing`);
  }
  if (typeof card === 'bigint') throw new FitsError(name, index, `${key} = ${card} is absurdly large`);
  if (typeof card !== 'number' || !Number.isInteger(card) || header.getInteger(key) === undefined) {
    throw new FitsError(name, index, `${key} must be an integer, not ${describeValue(card)}`);
  }
  return card;
}

function checkedProduct(factors: number[], name: string, index: number, what: string): number {
  let p = 1;
  for (const f of factors) {
    p *= f;
    if (p > Number.MAX_SAFE_INTEGER) throw new FitsError(name, index, `${what} is absurdly large`);
  }
  return p;
}

/**
 * Validates the structural keywords of one HDU (index 0 = primary) and describes it: type, BITPIX,
 * shape and declared data size. Throws a FitsError naming `name` and the HDU on any inconsistency.
 */
export function describeHdu(name: string, index: number, header: FitsHeader, headerOffset: number, headerSize: number, warnings?: string[]): HduInfo {
  const fail = (problem: string): never => { throw new FitsError(name, index, problem); };
  const first = header.cards[0];
  let xtension = 'PRIMARY';
  if (index === 0) {
    if (!first || first.key !== 'SIMPLE') fail('not a FITS file: the first card is not SIMPLE');
  } else {
    if (!first || first.key !== 'XTENSION' || typeof first.value !== 'string') fail('extension header does not begin with XTENSION');
    xtension = (first!.value as string).trim().toUpperCase();
  }
  const bitpixValue = header.get('BITPIX');
  if (bitpixValue === undefined) fail('mandatory keyword BITPIX is missing');
  if (!isBitpix(bitpixValue)) fail(`unsupported BITPIX ${describeValue(bitpixValue)} (allowed: 8, 16, 32, 64, -32, -64)`);
  const bitpix = bitpixValue as Bitpix;
  const naxis = requireInteger(header, 'NAXIS', name, index);
  if (naxis < 0 || naxis > MAX_NAXIS) fail(`NAXIS = ${naxis} is outside 0..${MAX_NAXIS}`);
  const axes: number[] = [];
  for (let n = 1; n <= naxis; n++) {
    const len = requireInteger(header, `NAXIS${n}`, name, index);
    if (len < 0) fail(`NAXIS${n} = ${len} is negative`);
    axes.push(len);
  }
  const pcount = index === 0 ? 0 : requireInteger(header, 'PCOUNT', name, index, 0);
  const gcount = index === 0 ? 1 : requireInteger(header, 'GCOUNT', name, index, 1);
  if (pcount < 0) fail(`PCOUNT = ${pcount} is negative`);
  if (gcount < 0) fail(`GCOUNT = ${gcount} is negative`);
  const randomGroups = index === 0 && header.getBoolean('GROUPS') === true && naxis >= 1 && axes[0] === 0;
  let dataSize = 0;
  if (naxis > 0) {
    const elements = checkedProduct(randomGroups ? axes.slice(1) : axes, name, index, 'the declared data size');
    const groupPcount = randomGroups ? requireInteger(header, 'PCOUNT', name, index, 0) : pcount;
    const groups = randomGroups ? requireInteger(header, 'GCOUNT', name, index, 1) : gcount;
    dataSize = checkedProduct([bytesPerPixel(bitpix), groups, elements + groupPcount], name, index, 'the declared data size');
  } else if (pcount > 0) {
    dataSize = checkedProduct([bytesPerPixel(bitpix), gcount, pcount], name, index, 'the declared data size');
  }
  let type: HduType = 'OTHER';
  if (index === 0) type = randomGroups ? 'OTHER' : 'IMAGE';
  else if (xtension === 'IMAGE') type = 'IMAGE';
  else if (xtension === 'BINTABLE' || xtension === 'TABLE' || xtension === 'A3DTABLE') {
    if (bitpix !== 8 || naxis !== 2) fail(`a ${xtension} extension must have BITPIX = 8 and NAXIS = 2 (has ${bitpix} and ${naxis})`);
    if (gcount !== 1) fail(`a ${xtension} extension must have GCOUNT = 1 (has ${gcount})`);
    type = xtension === 'TABLE' ? 'TABLE' : 'BINTABLE';
  }
  const info: HduInfo = {
    index, type, xtension, bitpix, shape: [...axes].reverse(), compressed: false, header, imageHeader: header,
    headerOffset, headerSize, dataOffset: headerOffset + headerSize, dataSize,
  };
  const extname = header.getString('EXTNAME');
  if (extname !== undefined) info.extname = extname.trim();
  const extver = header.getInteger('EXTVER');
  if (extver !== undefined) info.extver = extver;
  if (type === 'BINTABLE') {
    let layout: ReturnType<typeof tileCompressedLayout>;
    try {
      layout = tileCompressedLayout(header, name, index);
    } catch (e) {
      // A damaged compression header must not hide the rest of the file: list it as the table it is.
      if (!(e instanceof FitsError) || !warnings) throw e;
      warnings.push(`HDU ${index}: ${e.problem}; listed as a binary table`);
    }
    if (layout) {
      info.type = 'IMAGE';
      info.compressed = true;
      info.bitpix = layout.bitpix;
      info.shape = layout.shape;
      info.imageHeader = layout.imageHeader;
    }
  }
  return info;
}

export interface FitsStructure {
  hdus: HduInfo[];
  /** Non-fatal oddities (e.g. unrecognised bytes after the last HDU, which are ignored). */
  warnings: string[];
}

function isPadding(bytes: Uint8Array): boolean {
  const fill = bytes[0];
  if (fill !== 0 && fill !== 0x20) return false;
  for (let i = 1; i < bytes.length; i++) if (bytes[i] !== fill) return false;
  return true;
}

/** Walks the file from byte 0: every HDU's header, validated, with its data offset and size. */
function* structurePlan(name: string, size: number): Plan<FitsStructure> {
  const hdus: HduInfo[] = [];
  const warnings: string[] = [];
  if (size === 0) throw new FitsError(name, undefined, 'not a FITS file: the file is empty');
  let offset = 0;
  while (offset < size) {
    const index = hdus.length;
    const peek = yield { offset, length: Math.min(CARD, size - offset), exact: false, hdu: index };
    if (index === 0) {
      if (!startsWith(peek, ASCII_SIMPLE)) throw new FitsError(name, undefined, "not a FITS file: it does not begin with 'SIMPLE  ='");
    } else if (!startsWith(peek, ASCII_XTENSION)) {
      const rest = yield { offset, length: size - offset, exact: false, hdu: index };
      if (!isPadding(rest)) warnings.push(`${size - offset} bytes after the last HDU (at byte ${offset}) are not an extension and were ignored`);
      break;
    }
    const { header, byteLength } = yield* headerPlan(name, index, offset, size);
    const info = describeHdu(name, index, header, offset, byteLength, warnings);
    if (info.dataOffset + info.dataSize > size) {
      throw new FitsError(name, index,
        `file is too short for the declared data: the header declares ${info.dataSize} data bytes ` +
        `(BITPIX ${header.get('BITPIX')}, axes ${[...info.header.keys()].filter((k) => /^NAXIS\d+$/.test(k)).map((k) => `${k}=${String(info.header.get(k))}`).join(' ') || 'none'}) ` +
        `but only ${Math.max(0, size - info.dataOffset)} bytes follow the header`);
    }
    hdus.push(info);
    offset = info.dataOffset + Math.ceil(info.dataSize / BLOCK) * BLOCK;
  }
  return { hdus, warnings };
}

// ---------------------------------------------------------------------------------------------------
// Data plans

function* rawDataPlan(hdu: HduInfo, target?: Uint8Array): Plan<Uint8Array> {
  const request: ReadRequest = { offset: hdu.dataOffset, length: hdu.dataSize, exact: true, hdu: hdu.index };
  if (target) request.target = target;
  return yield request;
}

function* checksumPlan(hdu: HduInfo, data?: Uint8Array): Plan<HduChecksumResult> {
  const datasum = hdu.header.get('DATASUM');
  const checksum = hdu.header.get('CHECKSUM');
  const asText = (v: unknown): string | undefined => (v === undefined ? undefined : typeof v === 'string' ? v : String(v));
  if (datasum === undefined && checksum === undefined) return { hdu: hdu.index, datasum: 'absent', checksum: 'absent' };
  const headerBytes = yield { offset: hdu.headerOffset, length: hdu.headerSize, exact: true, hdu: hdu.index };
  const bytes = data ?? (yield* rawDataPlan(hdu));
  return verifyHduChecksum(hdu.index, headerBytes, bytes, asText(datasum), asText(checksum));
}

function* verifiedDataPlan(name: string, hdu: HduInfo, options: ReadOptions, target?: Uint8Array): Plan<Uint8Array> {
  const data = yield* rawDataPlan(hdu, target);
  if (options.checksum === 'verify') {
    const result = yield* checksumPlan(hdu, data);
    if (result.problem) throw new FitsError(name, hdu.index, `checksum verification failed: ${result.problem}`);
  }
  return data;
}

function requireImage(name: string, hdu: HduInfo): void {
  if (hdu.type !== 'IMAGE') throw new FitsError(name, hdu.index, `HDU is a ${hdu.type === 'OTHER' ? hdu.xtension : hdu.type}, not an image`);
}

function imageDims(shape: number[]): { width: number; height: number } {
  const n = shape.length;
  return { width: n >= 1 ? shape[n - 1]! : 0, height: n >= 2 ? shape[n - 2]! : n === 1 ? 1 : 0 };
}

/** Checks a caller's destination buffer for an image's stored bytes: large enough and aligned. */
function intoBuffer(name: string, hdu: HduInfo, into: Uint8Array | undefined): Uint8Array | undefined {
  if (!into) return undefined;
  const bpp = bytesPerPixel(hdu.bitpix);
  if (into.length < hdu.dataSize) throw new FitsError(name, hdu.index, `destination buffer holds ${into.length} bytes; the image needs ${hdu.dataSize}`);
  if (into.byteOffset % bpp !== 0) throw new FitsError(name, hdu.index, `destination buffer offset ${into.byteOffset} is not aligned to ${bpp} bytes`);
  return into;
}

function* imagePlan(name: string, hdu: HduInfo, options: ReadOptions): Plan<FitsImage> {
  requireImage(name, hdu);
  const data = yield* verifiedDataPlan(name, hdu, options, hdu.compressed ? undefined : intoBuffer(name, hdu, options.into));
  const count = hdu.shape.length === 0 ? 0 : hdu.shape.reduce((a, b) => a * b, 1);
  const pixels = hdu.compressed
    ? decompressTileImage(hdu.header, data, name, hdu.index, options.codec, options.decodeInto)
    : decodePixels(data, hdu.bitpix, count, scalingFromHeader(hdu.header, hdu.bitpix), { raw: options.raw === true, reuseInput: freshReads.has(data) });
  if (pixels.length !== count) throw new FitsError(name, hdu.index, `decoded ${pixels.length} pixels, expected ${count}`);
  return { data: pixels, shape: [...hdu.shape], ...imageDims(hdu.shape), bitpix: hdu.bitpix, header: hdu.imageHeader };
}

function validateRect(name: string, hdu: HduInfo, rect: Rect, plane: number): void {
  const fail = (problem: string): never => { throw new FitsError(name, hdu.index, problem); };
  const { width: nx, height: ny } = imageDims(hdu.shape);
  for (const [k, v] of Object.entries(rect)) {
    if (!Number.isSafeInteger(v) || v < 0) fail(`image section ${k} = ${v} must be a non-negative integer`);
  }
  if (rect.x0 + rect.width > nx || rect.y0 + rect.height > ny) {
    fail(`image section [${rect.x0}:${rect.x0 + rect.width}, ${rect.y0}:${rect.y0 + rect.height}] lies outside the ${nx}x${ny} image`);
  }
  const planes = hdu.shape.length > 2 ? hdu.shape.slice(0, -2).reduce((a, b) => a * b, 1) : 1;
  if (!Number.isSafeInteger(plane) || plane < 0 || plane >= planes) fail(`plane ${plane} does not exist (the image has ${planes})`);
}

function* sectionPlan(name: string, hdu: HduInfo, rect: Rect, options: SectionOptions): Plan<FitsImage> {
  requireImage(name, hdu);
  const plane = options.plane ?? 0;
  validateRect(name, hdu, rect, plane);
  const { width: nx, height: ny } = imageDims(hdu.shape);
  const result = (data: ImageArray): FitsImage => ({
    data, shape: [rect.height, rect.width], width: rect.width, height: rect.height, bitpix: hdu.bitpix, header: hdu.imageHeader,
  });
  if (hdu.compressed && options.checksum !== 'verify' && hdu.shape.length === 2) {
    // An image tiled in whole rows: only the tiles of the section's rows are read and decoded.
    const band = yield* compressedRowsPlan(name, hdu, rect.y0, rect.height, options.codec, rect.x0 === 0 && rect.width === nx ? options.decodeInto : undefined);
    if (band) return result(rect.x0 === 0 && rect.width === nx ? band : cropPixels(band, nx, 0, { ...rect, y0: 0 }));
  }
  if (hdu.compressed || options.checksum === 'verify') {
    // Verification needs every byte, and other tilings are decoded whole: read it all, then crop.
    const whole = yield* imagePlan(name, hdu, { ...options, into: undefined });
    return result(cropPixels(whole.data, nx, plane * nx * ny, rect));
  }
  const bpp = bytesPerPixel(hdu.bitpix);
  const rowBytes = nx * bpp;
  const offset = hdu.dataOffset + (plane * ny + rect.y0) * rowBytes;
  const rows = rect.height === 0 || rect.width === 0
    ? new Uint8Array(0)
    : yield { offset, length: rect.height * rowBytes, exact: true, hdu: hdu.index };
  const gathered = rows.length === 0 ? rows : gatherColumns(rows, hdu.bitpix, nx, rect.x0, rect.width, rect.height);
  const reuseInput = gathered.buffer !== rows.buffer || freshReads.has(rows);
  return result(decodePixels(gathered, hdu.bitpix, rect.width * rect.height, scalingFromHeader(hdu.header, hdu.bitpix), { raw: options.raw === true, reuseInput }));
}

function* tablePlan(name: string, hdu: HduInfo, options: ReadOptions): Plan<BinTable> {
  if (hdu.type === 'TABLE') throw new FitsError(name, hdu.index, 'ASCII TABLE extensions are listed but their rows are not decoded');
  if (hdu.type !== 'BINTABLE' && !(hdu.compressed && hdu.xtension === 'BINTABLE')) {
    throw new FitsError(name, hdu.index, `HDU is ${hdu.type === 'IMAGE' ? 'an image' : `a ${hdu.xtension}`}, not a binary table`);
  }
  const data = yield* verifiedDataPlan(name, hdu, options);
  return decodeBinaryTable(hdu.header, data, name, hdu.index);
}

function hduAt(name: string, hdus: HduInfo[], index: number): HduInfo {
  const hdu = hdus[index];
  if (!hdu) throw new FitsError(name, index, `no such HDU (the file has ${hdus.length})`);
  return hdu;
}

function* verifyAll(hdus: HduInfo[]): Plan<HduChecksumResult[]> {
  const out: HduChecksumResult[] = [];
  for (const hdu of hdus) out.push(yield* checksumPlan(hdu));
  return out;
}

function throwOnChecksumProblems(name: string, results: HduChecksumResult[]): void {
  const bad = results.find((r) => r.problem);
  if (bad) throw new FitsError(name, bad.hdu, `checksum verification failed: ${bad.problem}`);
}

/** Finds an HDU by EXTNAME (case-insensitive) and optionally EXTVER; returns its index or -1. */
function findExtension(hdus: HduInfo[], extname: string, extver?: number): number {
  const want = extname.trim().toUpperCase();
  return hdus.findIndex((h) => h.extname?.toUpperCase() === want && (extver === undefined || (h.extver ?? 1) === extver));
}

// ---------------------------------------------------------------------------------------------------
// Public API

export interface OpenOptions {
  /** Default for every data read; see ReadOptions. */
  checksum?: 'verify' | 'ignore';
  /** Inflates tile-compressed images' gzip tiles; default fflate's (Node passes its zlib, node/fits/zlibCodec.ts). */
  codec?: GzipCodec;
}

/** A FITS file opened lazily over a ByteSource: headers are in memory, data are read on demand. */
export class FitsFile {
  readonly name: string;
  readonly hdus: HduInfo[];
  readonly warnings: string[];
  /** 'gzip' when the source was a gzip file, inflated into memory at open. */
  readonly compression: 'gzip' | 'none';
  private readonly source: ByteSource;
  private readonly defaults: OpenOptions;

  constructor(source: ByteSource, structure: FitsStructure, compression: 'gzip' | 'none', defaults: OpenOptions) {
    this.source = source;
    this.name = source.name;
    this.hdus = structure.hdus;
    this.warnings = structure.warnings;
    this.compression = compression;
    this.defaults = defaults;
  }

  hdu(index: number): HduInfo {
    return hduAt(this.name, this.hdus, index);
  }

  indexOf(extname: string, extver?: number): number {
    return findExtension(this.hdus, extname, extver);
  }

  readImage(index: number, options: ReadOptions = {}): Promise<FitsImage> {
    return runAsync(imagePlan(this.name, this.hdu(index), { ...this.defaults, ...options }), this.source);
  }

  /** Reads a rectangle of a 2-D image (or of one plane of a cube), fetching only its rows. */
  readImageSection(index: number, rect: Rect, options: SectionOptions = {}): Promise<FitsImage> {
    return runAsync(sectionPlan(this.name, this.hdu(index), rect, { ...this.defaults, ...options }), this.source);
  }

  readTable(index: number, options: ReadOptions = {}): Promise<BinTable> {
    return runAsync(tablePlan(this.name, this.hdu(index), { ...this.defaults, ...options }), this.source);
  }

  /** The data area bytes exactly as stored (big-endian, unpadded). */
  readRawData(index: number): Promise<Uint8Array> {
    return runAsync(rawDataPlan(this.hdu(index)), this.source);
  }

  /** DATASUM/CHECKSUM status of every HDU (reads all data). */
  verifyChecksums(): Promise<HduChecksumResult[]> {
    return runAsync(verifyAll(this.hdus), this.source);
  }

  async close(): Promise<void> {
    await this.source.close?.();
  }
}

/** The same operations as FitsFile, synchronous: over a whole file in memory, or a SyncByteSource (a file read as needed). */
export class FitsBytes {
  readonly name: string;
  readonly hdus: HduInfo[];
  readonly warnings: string[];
  readonly compression: 'gzip' | 'none';
  private readonly source: SyncByteSource;
  private readonly defaults: OpenOptions;

  constructor(source: SyncByteSource, structure: FitsStructure, compression: 'gzip' | 'none', defaults: OpenOptions) {
    this.name = source.name;
    this.source = source;
    this.hdus = structure.hdus;
    this.warnings = structure.warnings;
    this.compression = compression;
    this.defaults = defaults;
  }

  hdu(index: number): HduInfo {
    return hduAt(this.name, this.hdus, index);
  }

  indexOf(extname: string, extver?: number): number {
    return findExtension(this.hdus, extname, extver);
  }

  readImage(index: number, options: ReadOptions = {}): FitsImage {
    return runSync(imagePlan(this.name, this.hdu(index), { ...this.defaults, ...options }), this.source);
  }

  readImageSection(index: number, rect: Rect, options: SectionOptions = {}): FitsImage {
    return runSync(sectionPlan(this.name, this.hdu(index), rect, { ...this.defaults, ...options }), this.source);
  }

  readTable(index: number, options: ReadOptions = {}): BinTable {
    return runSync(tablePlan(this.name, this.hdu(index), { ...this.defaults, ...options }), this.source);
  }

  readRawData(index: number): Uint8Array {
    return runSync(rawDataPlan(this.hdu(index)), this.source);
  }

  verifyChecksums(): HduChecksumResult[] {
    return runSync(verifyAll(this.hdus), this.source);
  }

  /** Releases the source (a file descriptor); a no-op in memory. */
  close(): void {
    this.source.close?.();
  }
}

/**
 * Opens a FITS file: lists its HDUs and parses every header, reading header blocks only (a gzip file
 * is inflated into memory first). Data are read by the returned FitsFile's methods.
 */
export async function openFits(source: ByteSource, options: OpenOptions = {}): Promise<FitsFile> {
  const size = await source.size();
  const magic = size >= 2 ? await source.read(0, 2) : new Uint8Array(0);
  if (isGzip(magic)) {
    const inflated = gunzipBytes(source.name, await readExact(source, 0, size));
    await source.close?.();
    const memory = bytesSource(source.name, inflated);
    return new FitsFile(memory, runSync(structurePlan(source.name, inflated.length), syncBytesSource(source.name, inflated)), 'gzip', options);
  }
  const structure = await runAsync(structurePlan(source.name, size), source);
  return new FitsFile(source, structure, 'none', options);
}

/**
 * Reads the structure of a FITS file held in memory (gzip detected by its magic bytes). With
 * `checksum: 'verify'` every HDU's DATASUM/CHECKSUM is verified at once and a mismatch throws.
 */
export function readFitsBytes(name: string, bytes: Uint8Array, options: OpenOptions = {}): FitsBytes {
  const gz = isGzip(bytes);
  const source = syncBytesSource(name, gz ? gunzipBytes(name, bytes) : bytes);
  const file = new FitsBytes(source, runSync(structurePlan(name, source.size), source), gz ? 'gzip' : 'none', options);
  if (options.checksum === 'verify') throwOnChecksumProblems(name, file.verifyChecksums());
  return file;
}

/**
 * Opens a FITS file over a SyncByteSource: headers now, data read as asked for, synchronously (a gzip
 * file is inflated into memory and the source closed). Close the result when done.
 */
export function openFitsSync(source: SyncByteSource, options: OpenOptions = {}): FitsBytes {
  if (isGzip(source.read(0, 2))) {
    const inflated = gunzipBytes(source.name, source.read(0, source.size));
    source.close?.();
    return readFitsBytes(source.name, inflated, options);
  }
  try {
    return new FitsBytes(source, runSync(structurePlan(source.name, source.size), source), 'none', options);
  } catch (err) {
    source.close?.();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------
// The only places this file touches lib/fits/bintable.ts and lib/fits/tilecompression.ts.

/** For a BINTABLE header with ZIMAGE = T: the uncompressed image's BITPIX, shape and header; else undefined. */
function tileCompressedLayout(header: FitsHeader, name: string, index: number): { bitpix: Bitpix; shape: number[]; imageHeader: FitsHeader } | undefined {
  if (!isTileCompressed(header)) return undefined;
  const info = compressedImageInfo(header, name, index);
  if (!isBitpix(info.bitpix)) throw new FitsError(name, index, `tile-compressed image: unsupported ZBITPIX ${info.bitpix}`);
  return { bitpix: info.bitpix, shape: info.shape, imageHeader: info.imageHeader };
}

/** Decodes a tile-compressed image's data area into physical pixel values, row-major. */
function decompressTileImage(header: FitsHeader, data: Uint8Array, name: string, index: number, codec: GzipCodec | undefined, into: Float32Array | Int32Array | undefined): ImageArray {
  return decompressImage(header, data, name, index, codec, into);
}

/**
 * Rows [y0, y0 + height) of a tile-compressed 2-D image tiled in whole rows: its main table is read,
 * then the bytes of those rows' tiles, which are decoded; undefined for other tilings.
 */
function* compressedRowsPlan(name: string, hdu: HduInfo, y0: number, height: number, codec: GzipCodec | undefined, into: Float32Array | Int32Array | undefined): Plan<ImageArray | undefined> {
  const tableBytes = (hdu.header.getNumber('NAXIS1') ?? 0) * (hdu.header.getNumber('NAXIS2') ?? 0);
  const table = yield { offset: hdu.dataOffset, length: tableBytes, exact: true, hdu: hdu.index };
  const span = compressedRowSpan(hdu.header, table, hdu.dataSize, name, hdu.index, y0, height);
  if (!span) return undefined;
  const bytes = span.end > span.start ? yield { offset: hdu.dataOffset + span.start, length: span.end - span.start, exact: true, hdu: hdu.index } : new Uint8Array(0);
  return decompressImageRows(hdu.header, table, bytes, span, hdu.dataSize, name, hdu.index, y0, height, codec, into);
}

/** Decodes a binary table's data area (main table + heap). */
function decodeBinaryTable(header: FitsHeader, data: Uint8Array, name: string, index: number): BinTable {
  return readBinTable(header, data, name, index);
}
