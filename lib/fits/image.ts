/**
 * FITS image pixels (FITS Standard 4.0 §5): BITPIX 8, 16, 32, 64, -32, -64 stored big-endian, and the
 * linear scaling physical = BZERO + BSCALE * stored with BLANK for undefined integers (§5.3). The
 * unsigned/signed-byte conventions (BZERO = 2^(n-1), BSCALE = 1; BZERO = -128 for bytes) give
 * Uint16/Uint32/BigUint64/Int8 arrays; other scalings give Float32 (BITPIX 8, 16) or Float64 (32, 64)
 * arrays with BLANK pixels as NaN, the types astropy returns. Decoding copies once and byte-swaps in
 * place (Node's native Buffer swap; in browsers, through 16/32-bit views), with no per-pixel allocation.
 */
import { FitsError } from './errors.js';
import type { FitsHeader } from './header.js';

export type Bitpix = 8 | 16 | 32 | 64 | -32 | -64;

export type ImageArray =
  | Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

export interface Scaling {
  bscale: number;
  /** A bigint only for the unsigned 64-bit convention (BZERO = 2^63, beyond exact doubles in text). */
  bzero: number | bigint;
  /** BLANK: the stored integer that marks an undefined pixel (integer BITPIX only). */
  blank?: number | bigint;
}

const BITPIX_VALUES: readonly number[] = [8, 16, 32, 64, -32, -64];
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const TWO63 = 2n ** 63n;

export function isBitpix(value: unknown): value is Bitpix {
  return typeof value === 'number' && BITPIX_VALUES.includes(value);
}

export function bytesPerPixel(bitpix: Bitpix): number {
  return Math.abs(bitpix) / 8;
}

/** BSCALE, BZERO and BLANK from a header (defaults 1 and 0; BLANK only for integer BITPIX). */
export function scalingFromHeader(header: FitsHeader, bitpix: Bitpix): Scaling {
  const bscale = header.getNumber('BSCALE') ?? 1;
  const rawZero = header.get('BZERO');
  const bzero = typeof rawZero === 'bigint' ? rawZero : typeof rawZero === 'number' ? rawZero : 0;
  const scaling: Scaling = { bscale, bzero };
  const blank = header.get('BLANK');
  if (bitpix > 0 && (typeof blank === 'number' || typeof blank === 'bigint')) scaling.blank = blank;
  return scaling;
}

function zeroIs(bzero: number | bigint, value: bigint): boolean {
  return typeof bzero === 'bigint' ? bzero === value : Number.isInteger(bzero) && BigInt(bzero) === value;
}

/** The conventions that map stored integers to another integer type instead of to floats. */
export type IntegerConvention = 'none' | 'int8' | 'uint16' | 'uint32' | 'uint64';

export function integerConvention(bitpix: Bitpix, scaling: Scaling): IntegerConvention | undefined {
  if (bitpix < 0 || scaling.bscale !== 1) return undefined;
  if (zeroIs(scaling.bzero, 0n)) return 'none';
  if (bitpix === 8 && zeroIs(scaling.bzero, -128n)) return 'int8';
  if (bitpix === 16 && zeroIs(scaling.bzero, 32768n)) return 'uint16';
  if (bitpix === 32 && zeroIs(scaling.bzero, 2147483648n)) return 'uint32';
  if (bitpix === 64 && zeroIs(scaling.bzero, TWO63)) return 'uint64';
  return undefined;
}

/** Node's Buffer, whose native swap16/32/64 reverse byte order about 3x faster than a JS loop; absent in browsers. */
interface ByteSwapper { swap16(): void; swap32(): void; swap64(): void }
const NODE_BUFFER = (globalThis as { Buffer?: { from(buffer: ArrayBufferLike, byteOffset: number, length: number): ByteSwapper } }).Buffer;

/**
 * Reverses the byte order of each element in place (big-endian <-> little-endian; its own inverse), with
 * Node's native swap where there is one (`native`), else in JS through 16/32-bit views.
 */
export function swapInPlace(bytes: Uint8Array, bitpix: Bitpix, native = NODE_BUFFER !== undefined): void {
  if (!LITTLE_ENDIAN || bitpix === 8) return;
  const { buffer, byteOffset } = bytes;
  if (native && NODE_BUFFER) {
    const view = NODE_BUFFER.from(buffer, byteOffset, bytes.length);
    if (bitpix === 16) view.swap16(); else if (bitpix === 32 || bitpix === -32) view.swap32(); else view.swap64();
    return;
  }
  if (bitpix === 16) {
    const a = new Uint16Array(buffer, byteOffset, bytes.length >>> 1);
    for (let i = 0; i < a.length; i++) { const x = a[i]!; a[i] = (x << 8) | (x >>> 8); }
  } else if (bitpix === 32 || bitpix === -32) {
    const a = new Uint32Array(buffer, byteOffset, bytes.length >>> 2);
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      a[i] = (x << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
    }
  } else {
    const a = new Uint32Array(buffer, byteOffset, bytes.length >>> 2);
    for (let i = 0; i < a.length; i += 2) {
      const x = a[i]!;
      const y = a[i + 1]!;
      a[i] = (y << 24) | ((y & 0xff00) << 8) | ((y >>> 8) & 0xff00) | (y >>> 24);
      a[i + 1] = (x << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
    }
  }
}

/**
 * Native-order bytes of `count` stored values: a fresh aligned copy of `raw`, converted in place, or
 * with `reuse` (the caller owns `raw` and no longer needs it) `raw` itself converted in place when it
 * is aligned, which saves allocating and touching a second image-sized buffer.
 */
function nativeBytes(raw: Uint8Array, bitpix: Bitpix, count: number, reuse = false): Uint8Array {
  const bpp = bytesPerPixel(bitpix);
  let bytes: Uint8Array;
  if (reuse && raw.byteOffset % bpp === 0) bytes = raw.subarray(0, count * bpp);
  else {
    bytes = new Uint8Array(count * bpp);
    bytes.set(raw.subarray(0, bytes.length));
  }
  swapInPlace(bytes, bitpix);
  return bytes;
}

function typedView(bytes: Uint8Array, bitpix: Bitpix, count: number): ImageArray {
  const { buffer, byteOffset } = bytes;
  switch (bitpix) {
    case 8: return new Uint8Array(buffer, byteOffset, count);
    case 16: return new Int16Array(buffer, byteOffset, count);
    case 32: return new Int32Array(buffer, byteOffset, count);
    case 64: return new BigInt64Array(buffer, byteOffset, count);
    case -32: return new Float32Array(buffer, byteOffset, count);
    case -64: return new Float64Array(buffer, byteOffset, count);
  }
}

/** The stored values as a native typed array (no scaling); `reuse` as for decodePixels. */
export function decodeStored(raw: Uint8Array, bitpix: Bitpix, count: number, reuse = false): ImageArray {
  return typedView(nativeBytes(raw, bitpix, count, reuse), bitpix, count);
}

/** Flips the top bit of each element in place: the BZERO = 2^(n-1) (or -128) offset, done exactly. */
function flipSignBit(bytes: Uint8Array, bitpix: Bitpix): void {
  const { buffer, byteOffset } = bytes;
  if (bitpix === 8) { for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i]! ^ 0x80; }
  else if (bitpix === 16) { const a = new Uint16Array(buffer, byteOffset, bytes.length >>> 1); for (let i = 0; i < a.length; i++) a[i] = a[i]! ^ 0x8000; }
  else if (bitpix === 32) { const a = new Uint32Array(buffer, byteOffset, bytes.length >>> 2); for (let i = 0; i < a.length; i++) a[i] = a[i]! ^ 0x80000000; }
  else if (bitpix === 64) {
    const a = new Uint32Array(buffer, byteOffset, bytes.length >>> 2);
    for (let i = LITTLE_ENDIAN ? 1 : 0; i < a.length; i += 2) a[i] = a[i]! ^ 0x80000000;
  }
}

export interface DecodeOptions {
  /** Return the stored integers without applying BSCALE/BZERO/BLANK. */
  raw?: boolean;
}

interface ReuseOption {
  /** The caller owns `raw` and will not use it again: decode in place where possible (no second buffer). */
  reuseInput?: boolean;
}

/**
 * Decodes `count` pixels of big-endian data into physical values (see the module comment for the
 * array type chosen). `raw` must hold at least count * |BITPIX| / 8 bytes.
 */
export function decodePixels(raw: Uint8Array, bitpix: Bitpix, count: number, scaling: Scaling, options: DecodeOptions & ReuseOption = {}): ImageArray {
  if (raw.length < count * bytesPerPixel(bitpix)) throw new RangeError(`decodePixels: ${raw.length} bytes cannot hold ${count} pixels of BITPIX ${bitpix}`);
  const reuse = options.reuseInput === true;
  const identity = scaling.bscale === 1 && zeroIs(scaling.bzero, 0n);
  // Identity scaling leaves values untouched (floats keep -0 and NaN payloads).
  if (options.raw || identity) return decodeStored(raw, bitpix, count, reuse);
  const convention = integerConvention(bitpix, scaling);
  if (convention !== undefined && convention !== 'none') {
    const bytes = nativeBytes(raw, bitpix, count, reuse);
    flipSignBit(bytes, bitpix);
    const { buffer, byteOffset } = bytes;
    switch (convention) {
      case 'int8': return new Int8Array(buffer, byteOffset, count);
      case 'uint16': return new Uint16Array(buffer, byteOffset, count);
      case 'uint32': return new Uint32Array(buffer, byteOffset, count);
      case 'uint64': return new BigUint64Array(buffer, byteOffset, count);
    }
  }
  const stored = decodeStored(raw, bitpix, count, reuse);
  const bscale = scaling.bscale;
  const bzero = Number(scaling.bzero);
  if (bitpix < 0) {
    const a = stored as Float32Array | Float64Array;
    for (let i = 0; i < a.length; i++) a[i] = bzero + bscale * a[i]!;
    return a;
  }
  const out = bitpix <= 16 ? new Float32Array(count) : new Float64Array(count);
  const blank = scaling.blank;
  if (bitpix === 64) {
    const s = stored as BigInt64Array;
    const b = blank === undefined ? undefined : BigInt(blank);
    for (let i = 0; i < count; i++) out[i] = s[i] === b ? NaN : bzero + bscale * Number(s[i]!);
  } else {
    const s = stored as Uint8Array | Int16Array | Int32Array;
    const b = blank === undefined ? NaN : Number(blank);
    for (let i = 0; i < count; i++) { const v = s[i]!; out[i] = v === b ? NaN : bzero + bscale * v; }
  }
  return out;
}

/** The rectangle [x0, x0 + width) x [y0, y0 + height) of an image, in 0-based pixel indices. */
export interface Rect {
  x0: number;
  y0: number;
  width: number;
  height: number;
}

/**
 * Copies the columns [x0, x0 + width) out of `rows` consecutive stored rows of `rowPixels` pixels into
 * one contiguous buffer (still big-endian), ready for decodePixels.
 */
export function gatherColumns(rowsBytes: Uint8Array, bitpix: Bitpix, rowPixels: number, x0: number, width: number, rows: number): Uint8Array {
  const bpp = bytesPerPixel(bitpix);
  if (x0 === 0 && width === rowPixels) return rowsBytes.subarray(0, rows * rowPixels * bpp);
  const out = new Uint8Array(rows * width * bpp);
  const rowBytes = rowPixels * bpp;
  for (let r = 0; r < rows; r++) {
    const start = r * rowBytes + x0 * bpp;
    out.set(rowsBytes.subarray(start, start + width * bpp), r * width * bpp);
  }
  return out;
}

/**
 * Copies a rectangle out of decoded pixels (rows of `rowPixels`, starting `offset` pixels in: the
 * plane of a cube), keeping the array type.
 */
export function cropPixels(data: ImageArray, rowPixels: number, offset: number, rect: Rect): ImageArray {
  const Ctor = data.constructor as new (n: number) => ImageArray;
  const out = new Ctor(rect.width * rect.height);
  for (let r = 0; r < rect.height; r++) {
    const start = offset + (rect.y0 + r) * rowPixels + rect.x0;
    (out as Float64Array).set((data as Float64Array).subarray(start, start + rect.width), r * rect.width);
  }
  return out;
}

export interface EncodeOptions {
  /** Stored BITPIX; defaults to the array's natural one (Float32Array -> -32, Uint16Array -> 16 + BZERO...). */
  bitpix?: Bitpix;
  /** Scaling for quantising to integers: stored = round((physical - bzero) / bscale). */
  bscale?: number;
  bzero?: number;
  /** Stored value written for NaN when quantising to integers (default: the type's minimum). */
  blank?: number;
}

export interface EncodedPixels {
  bitpix: Bitpix;
  /** Big-endian stored values, unpadded. */
  bytes: Uint8Array;
  /** The scaling keywords to write; absent when identity. */
  bscale?: number;
  bzero?: number | bigint;
  blank?: number;
}

function naturalBitpix(data: ImageArray): { bitpix: Bitpix; bzero?: number | bigint } {
  if (data instanceof Float32Array) return { bitpix: -32 };
  if (data instanceof Float64Array) return { bitpix: -64 };
  if (data instanceof Uint8Array) return { bitpix: 8 };
  if (data instanceof Int8Array) return { bitpix: 8, bzero: -128 };
  if (data instanceof Int16Array) return { bitpix: 16 };
  if (data instanceof Uint16Array) return { bitpix: 16, bzero: 32768 };
  if (data instanceof Int32Array) return { bitpix: 32 };
  if (data instanceof Uint32Array) return { bitpix: 32, bzero: 2147483648 };
  if (data instanceof BigInt64Array) return { bitpix: 64 };
  return { bitpix: 64, bzero: TWO63 };
}

const INT_RANGE: Record<8 | 16 | 32, [number, number]> = { 8: [0, 255], 16: [-32768, 32767], 32: [-2147483648, 2147483647] };

/**
 * The stored BITPIX (and BZERO convention) when `options` write `data` losslessly in its natural type,
 * as encodePixels then does; undefined when they convert it. The stored bytes are data.byteLength.
 */
export function losslessEncoding(data: ImageArray, options: EncodeOptions = {}): { bitpix: Bitpix; bzero?: number | bigint } | undefined {
  const natural = naturalBitpix(data);
  const scaled = options.bscale !== undefined || options.bzero !== undefined;
  return !scaled && (options.bitpix ?? natural.bitpix) === natural.bitpix ? natural : undefined;
}

/**
 * Encodes pixels for writing. Without options an array is written losslessly in its natural BITPIX
 * (unsigned and signed-byte arrays with their BZERO convention), into `into` when given (at least
 * data.byteLength bytes; the writer's output, saving a copy). With `bitpix` (and optionally
 * `bscale`/`bzero`) numeric pixels are converted, integers rounded to nearest, NaN written as BLANK;
 * a value outside the stored type's range is an error naming `source`/`hdu`.
 */
export function encodePixels(data: ImageArray, options: EncodeOptions = {}, source = 'image', hdu?: number, into?: Uint8Array): EncodedPixels {
  const fail = (problem: string): never => { throw new FitsError(source, hdu, problem); };
  const natural = naturalBitpix(data);
  const bitpix = options.bitpix ?? natural.bitpix;
  if (losslessEncoding(data, options)) {
    // Lossless: copy, apply the offset convention exactly by flipping the sign bit, swap.
    if (into && into.length < data.byteLength) fail(`encodePixels: ${into.length} bytes cannot hold ${data.byteLength}`);
    const copy = into ? into.subarray(0, data.byteLength) : new Uint8Array(data.byteLength);
    copy.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (natural.bzero !== undefined) flipSignBit(copy, bitpix);
    swapInPlace(copy, bitpix);
    const out: EncodedPixels = { bitpix, bytes: copy };
    if (natural.bzero !== undefined) { out.bscale = 1; out.bzero = natural.bzero; }
    return out;
  }
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    return fail(`64-bit integer pixels can only be written as BITPIX 64 without rescaling (asked for BITPIX ${bitpix})`);
  }
  const bscale = options.bscale ?? 1;
  const bzero = options.bzero ?? 0;
  if (!(bscale !== 0 && Number.isFinite(bscale) && Number.isFinite(bzero))) fail(`invalid scaling BSCALE=${bscale} BZERO=${bzero}`);
  const n = data.length;
  const values = data as Exclude<ImageArray, BigInt64Array | BigUint64Array>;
  let stored: Exclude<ImageArray, Int8Array | Uint16Array | Uint32Array | BigUint64Array>;
  let blankUsed: number | undefined;
  if (bitpix < 0) {
    stored = bitpix === -32 ? new Float32Array(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) stored[i] = (values[i]! - bzero) / bscale;
  } else if (bitpix === 64) {
    const s = new BigInt64Array(n);
    const blank = BigInt(options.blank ?? -(2 ** 63));
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (Number.isNaN(v)) { s[i] = blank; blankUsed = Number(blank); continue; }
      const q = Math.round((v - bzero) / bscale);
      if (!(Math.abs(q) < 2 ** 63)) fail(`pixel ${i} (${v}) is out of range for BITPIX 64`);
      s[i] = BigInt(q);
    }
    stored = s;
  } else {
    const [lo, hi] = INT_RANGE[bitpix as 8 | 16 | 32];
    const s = bitpix === 8 ? new Uint8Array(n) : bitpix === 16 ? new Int16Array(n) : new Int32Array(n);
    const blank = options.blank ?? lo;
    if (!(Number.isInteger(blank) && blank >= lo && blank <= hi)) fail(`BLANK ${blank} is not a valid BITPIX ${bitpix} value`);
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (Number.isNaN(v)) { s[i] = blank; blankUsed = blank; continue; }
      const q = Math.round((v - bzero) / bscale);
      if (!(q >= lo && q <= hi)) fail(`pixel ${i} (${v}) is out of range for BITPIX ${bitpix} with BSCALE=${bscale} BZERO=${bzero}`);
      s[i] = q;
    }
    stored = s;
  }
  const bytes = new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
  swapInPlace(bytes, bitpix);
  const out: EncodedPixels = { bitpix, bytes };
  if (options.bscale !== undefined || options.bzero !== undefined) { out.bscale = bscale; out.bzero = bzero; }
  if (blankUsed !== undefined || (options.blank !== undefined && bitpix > 0)) out.blank = options.blank ?? blankUsed;
  return out;
}
