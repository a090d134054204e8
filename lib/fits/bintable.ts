/**
 * FITS binary tables (XTENSION = 'BINTABLE'), read into and written from columnar typed arrays.
 * Follows the FITS Standard 4.0 §7.3: big-endian fields of types L X B I J K A E D C M, fixed
 * arrays with TDIMn, variable-length arrays through P (32-bit) and Q (64-bit) descriptors into the
 * heap (§7.3.5, THEAP), TNULLn for integer nulls, and TSCALn/TZEROn scaling including the
 * unsigned-integer conventions of §5.2.5 / Table 19 (TZERO = -128, 32768, 2^31, 2^63 with TSCAL = 1).
 * Everything is validated against the data length before anything is allocated, so a damaged file
 * gives a FitsError naming the file, HDU, column and problem, never a hang or a huge allocation.
 */
import { FitsError } from './errors.js';
import { FitsHeader } from './header.js';
import type { CardValue } from './header.js';
import { ELEMENT_BYTES, TformError, fieldWidth, formatTdim, parseTdim, parseTform } from './tform.js';
import type { ElementCode, Tform } from './tform.js';

export type NumericArray =
  | Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

/** A FITS logical: true ('T'), false ('F') or undefined (a zero byte). */
export type Logical = boolean | null;

/**
 * One row's entry of a variable-length (P/Q) column: a typed array for numeric types (C/M as
 * interleaved re,im pairs; X as one 0/1 byte per bit), a string for A, an array of logicals for L.
 */
export type VariableElement = NumericArray | string | Logical[];

/**
 * The values of one column, always flattened row-major (row 0's elements first):
 * - B I J K E D with repeat r: a typed array of nrows*r physical values (see BinTableColumn.tscal);
 * - C / M: Float32Array / Float64Array of nrows*r*2 (re, im interleaved);
 * - L: Logical[] of nrows*r; X: Uint8Array of nrows*r holding one bit (0 or 1) per element;
 * - A: string[] with one string per row, or per sub-string when TDIM = (w, n, ...) or TFORM = rAw
 *   (trailing blanks and anything after a NUL removed);
 * - P/Q: one VariableElement per row.
 */
export type ColumnValues = NumericArray | Logical[] | string[] | VariableElement[];

export interface BinTableColumn {
  /** TTYPEn ('' when the column has no name). */
  name: string;
  /** TFORMn as written, e.g. '1J', '3750E', '1PB(210)'. */
  tform: string;
  /** Element type (for P/Q columns, the type of the heap elements). */
  code: ElementCode;
  /** Elements per row (bits for X, characters for A); 1 for P/Q columns. */
  repeat: number;
  /** 'P' or 'Q' for variable-length array columns. */
  variable?: 'P' | 'Q';
  unit?: string;
  /** TDIMn as written: fastest-varying axis first, e.g. [63, 63, 6] for TDIM = '(63,63,6)'. */
  dims?: number[];
  /** TNULLn: the stored (raw, unscaled) integer marking an undefined element. */
  tnull?: number | bigint;
  /**
   * How an undefined element appears in `values`: TNULL after the unsigned-integer offset, or NaN
   * when the column is scaled to floating point (undefined elements are set to NaN there).
   */
  nullValue?: number | bigint;
  tscal?: number;
  tzero?: number | bigint;
  tdisp?: string;
  values: ColumnValues;
}

export interface BinTable {
  nrows: number;
  columns: BinTableColumn[];
}

export interface BinTableColumnSpec {
  name: string;
  /** TFORM; when omitted it is inferred from `values` (typed array type, string[] → A, Logical[] → L). */
  tform?: string;
  unit?: string;
  dims?: number[];
  /** Stored null value for integer columns: physical NaN (in scaled columns) is written as TNULL. */
  tnull?: number | bigint;
  tscal?: number;
  /** A TZERO for the unsigned conventions is inferred for Uint16/Uint32/BigUint64/Int8 arrays. */
  tzero?: number | bigint;
  tdisp?: string;
  /** Physical values, laid out as BinTableColumn.values describes. */
  values: ColumnValues;
}

export interface BinTableSpec {
  nrows: number;
  columns: BinTableColumnSpec[];
  extname?: string;
}

/** Where one column lives in a table row. */
export interface ColumnLayout {
  /** 1-based column number, as in TFORMn. */
  index: number;
  name: string;
  tform: Tform;
  /** Byte offset of the field within a row. */
  offset: number;
}

export interface TableLayout {
  rowBytes: number;
  nrows: number;
  /** Byte offset of the heap from the start of the data area (THEAP, default NAXIS1*NAXIS2). */
  heapStart: number;
  /** Bytes from heapStart to the end of the declared data area (NAXIS1*NAXIS2 + PCOUNT). */
  heapLength: number;
  columns: ColumnLayout[];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const TWO63 = 1n << 63n;

function tableError(source: string, hdu: number, problem: string): FitsError {
  return new FitsError(source, hdu, problem);
}

function columnLabel(index: number, name: string): string {
  return name ? `column ${index} (${name})` : `column ${index}`;
}

function requiredInt(header: FitsHeader, key: string, source: string, hdu: number): number {
  const v = header.get(key);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw tableError(source, hdu, v === undefined ? `binary table header lacks ${key}` : `binary table ${key} = ${String(v)} is not a non-negative integer`);
  }
  return v;
}

/**
 * Validates the table keywords and computes where every column lives. `dataLength` is the number of
 * bytes available for the data area; it must hold NAXIS1*NAXIS2 + PCOUNT bytes.
 */
export function binTableLayout(header: FitsHeader, dataLength: number, source: string, hdu: number): TableLayout {
  const xt = header.getString('XTENSION');
  if (xt !== undefined && xt.trim() !== 'BINTABLE') throw tableError(source, hdu, `XTENSION = '${xt}' is not a binary table`);
  if (header.get('BITPIX') !== 8) throw tableError(source, hdu, `binary table BITPIX must be 8, found ${String(header.get('BITPIX'))}`);
  if (header.get('NAXIS') !== 2) throw tableError(source, hdu, `binary table NAXIS must be 2, found ${String(header.get('NAXIS'))}`);
  const rowBytes = requiredInt(header, 'NAXIS1', source, hdu);
  const nrows = requiredInt(header, 'NAXIS2', source, hdu);
  const pcount = header.has('PCOUNT') ? requiredInt(header, 'PCOUNT', source, hdu) : 0;
  const gcount = header.has('GCOUNT') ? requiredInt(header, 'GCOUNT', source, hdu) : 1;
  if (gcount !== 1) throw tableError(source, hdu, `binary table GCOUNT must be 1, found ${gcount}`);
  const tfields = requiredInt(header, 'TFIELDS', source, hdu);
  if (tfields > 999) throw tableError(source, hdu, `TFIELDS = ${tfields} exceeds 999`);
  const mainBytes = rowBytes * nrows;
  const total = mainBytes + pcount;
  if (!Number.isSafeInteger(total)) throw tableError(source, hdu, `table size NAXIS1*NAXIS2+PCOUNT is absurd`);
  if (dataLength < total) {
    throw tableError(source, hdu, `binary table data is truncated: ${dataLength} bytes present, NAXIS1*NAXIS2+PCOUNT = ${total}`);
  }
  let heapStart = mainBytes;
  if (header.has('THEAP')) {
    heapStart = requiredInt(header, 'THEAP', source, hdu);
    if (heapStart < mainBytes || heapStart > total) {
      throw tableError(source, hdu, `THEAP = ${heapStart} lies outside ${mainBytes}..${total} (end of the main table to end of the data)`);
    }
  }
  const columns: ColumnLayout[] = [];
  let offset = 0;
  for (let i = 1; i <= tfields; i++) {
    const name = (header.getString(`TTYPE${i}`) ?? '').trim();
    const raw = header.get(`TFORM${i}`);
    if (typeof raw !== 'string') throw tableError(source, hdu, `${columnLabel(i, name)}: TFORM${i} is ${raw === undefined ? 'missing' : 'not a string'}`);
    let tform: Tform;
    try {
      tform = parseTform(raw);
    } catch (e) {
      if (e instanceof TformError) throw tableError(source, hdu, `${columnLabel(i, name)}: ${e.message}`);
      throw e;
    }
    if (tform.width > rowBytes) {
      throw tableError(source, hdu, `${columnLabel(i, name)}: TFORM '${raw}' needs ${tform.width} bytes but a row (NAXIS1) has only ${rowBytes}`);
    }
    columns.push({ index: i, name, tform, offset });
    offset += tform.width;
  }
  if (offset !== rowBytes) {
    throw tableError(source, hdu, `NAXIS1 = ${rowBytes} disagrees with the sum of the column widths (${offset} bytes from the TFORMs)`);
  }
  return { rowBytes, nrows, heapStart, heapLength: total - heapStart, columns };
}

/**
 * Reads the P/Q descriptor of one row and checks that the array it points to lies in the heap.
 * Returns the element count and the absolute byte offset of the array within `data`.
 */
export function readDescriptor(data: Uint8Array, layout: TableLayout, column: ColumnLayout, row: number, source: string, hdu: number): { count: number; start: number } {
  const t = column.tform;
  if (!t.variable) throw tableError(source, hdu, `${columnLabel(column.index, column.name)} is not a variable-length array column`);
  if (t.repeat === 0) return { count: 0, start: layout.heapStart };
  const p = row * layout.rowBytes + column.offset;
  let count: number;
  let offset: number;
  if (t.variable === 'P') {
    count = readInt32(data, p);
    offset = readInt32(data, p + 4);
  } else {
    count = readInt64AsNumber(data, p);
    offset = readInt64AsNumber(data, p + 8);
  }
  const label = columnLabel(column.index, column.name);
  if (count < 0 || offset < 0 || !Number.isSafeInteger(count) || !Number.isSafeInteger(offset)) {
    throw tableError(source, hdu, `${label}, row ${row + 1}: heap descriptor (count ${count}, offset ${offset}) is invalid`);
  }
  const bytes = fieldWidth(t.code, count);
  if (offset + bytes > layout.heapLength) {
    throw tableError(source, hdu, `${label}, row ${row + 1}: heap pointer outside the heap (offset ${offset} + ${bytes} bytes > heap size ${layout.heapLength})`);
  }
  return { count, start: layout.heapStart + offset };
}

function readInt32(d: Uint8Array, p: number): number {
  return ((d[p]! << 24) | (d[p + 1]! << 16) | (d[p + 2]! << 8) | d[p + 3]!);
}

function readInt64AsNumber(d: Uint8Array, p: number): number {
  const hi = readInt32(d, p);
  const lo = readInt32(d, p + 4) >>> 0;
  // Values beyond 2^53 are not representable and are rejected by the caller as unsafe.
  return hi * 4294967296 + lo;
}

/** Copies `nrows` fields of `width` bytes (stride `stride`) into out8, reversing each `size`-byte element on little-endian hosts. */
function gatherSwapped(data: Uint8Array, start: number, stride: number, nrows: number, width: number, size: number, out8: Uint8Array): void {
  let o = 0;
  if (size === 1 || !LITTLE_ENDIAN) {
    for (let r = 0; r < nrows; r++) {
      const base = start + r * stride;
      if (width > 32) { out8.set(data.subarray(base, base + width), o); o += width; }
      else for (let k = 0; k < width; k++) out8[o++] = data[base + k]!;
    }
    return;
  }
  for (let r = 0; r < nrows; r++) {
    const base = start + r * stride;
    for (let e = base, end = base + width; e < end; e += size) {
      for (let b = size - 1; b >= 0; b--) out8[o++] = data[e + b]!;
    }
  }
}

/** The inverse of gatherSwapped: writes contiguous native elements from src8 into big-endian fields. */
function scatterSwapped(src8: Uint8Array, out: Uint8Array, start: number, stride: number, nrows: number, width: number, size: number): void {
  let o = 0;
  if (size === 1 || !LITTLE_ENDIAN) {
    for (let r = 0; r < nrows; r++) {
      out.set(src8.subarray(o, o + width), start + r * stride);
      o += width;
    }
    return;
  }
  for (let r = 0; r < nrows; r++) {
    const base = start + r * stride;
    for (let e = base, end = base + width; e < end; e += size) {
      for (let b = size - 1; b >= 0; b--) out[e + b] = src8[o++]!;
    }
  }
}

type RawArray = Uint8Array | Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array;

/** Native typed array for `n` elements of a numeric code (C and M give 2n floats). */
function allocRaw(code: ElementCode, n: number): RawArray {
  switch (code) {
    case 'B': return new Uint8Array(n);
    case 'I': return new Int16Array(n);
    case 'J': return new Int32Array(n);
    case 'K': return new BigInt64Array(n);
    case 'E': return new Float32Array(n);
    case 'D': return new Float64Array(n);
    case 'C': return new Float32Array(2 * n);
    case 'M': return new Float64Array(2 * n);
    default: throw new Error(`not a numeric code: ${code}`);
  }
}

function scalarSize(code: ElementCode): number {
  return code === 'C' ? 4 : code === 'M' ? 8 : ELEMENT_BYTES[code];
}

function isNumericCode(code: ElementCode): boolean {
  return code !== 'A' && code !== 'L' && code !== 'X';
}

function decodeRaw(code: ElementCode, data: Uint8Array, start: number, stride: number, nrows: number, repeat: number): RawArray {
  const out = allocRaw(code, nrows * repeat);
  gatherSwapped(data, start, stride, nrows, repeat * ELEMENT_BYTES[code], scalarSize(code), new Uint8Array(out.buffer));
  return out;
}

function decodeLogicals(data: Uint8Array, start: number, stride: number, nrows: number, repeat: number, where: (row: number) => string): Logical[] {
  const out: Logical[] = new Array(nrows * repeat);
  let o = 0;
  for (let r = 0; r < nrows; r++) {
    const base = start + r * stride;
    for (let k = 0; k < repeat; k++) {
      const b = data[base + k]!;
      if (b === 0x54) out[o++] = true;
      else if (b === 0x46) out[o++] = false;
      else if (b === 0) out[o++] = null;
      else throw new Error(`logical byte 0x${b.toString(16)} in ${where(r)} is not 'T', 'F' or 0`);
    }
  }
  return out;
}

function decodeBits(data: Uint8Array, start: number, stride: number, nrows: number, repeat: number): Uint8Array {
  const out = new Uint8Array(nrows * repeat);
  let o = 0;
  for (let r = 0; r < nrows; r++) {
    const base = start + r * stride;
    for (let k = 0; k < repeat; k++) out[o++] = (data[base + (k >> 3)]! >> (7 - (k & 7))) & 1;
  }
  return out;
}

function decodeString(data: Uint8Array, start: number, width: number): string {
  let end = start;
  const limit = start + width;
  while (end < limit && data[end] !== 0) end++;
  while (end > start && data[end - 1] === 0x20) end--;
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(data[i]!);
  return s;
}

/** Width of each string and strings per row of an A column (TDIM (w,n,...) or rAw, else one string). */
function stringShape(t: Tform, dims: number[] | undefined): { width: number; perRow: number } {
  if (t.repeat === 0) return { width: 0, perRow: 0 };
  if (dims && dims.length > 1 && dims[0]! > 0) {
    const perRow = dims.slice(1).reduce((a, b) => a * b, 1);
    return { width: dims[0]!, perRow };
  }
  if (t.substringWidth) return { width: t.substringWidth, perRow: Math.floor(t.repeat / t.substringWidth) };
  return { width: t.repeat, perRow: 1 };
}

function decodeStrings(data: Uint8Array, start: number, stride: number, nrows: number, width: number, perRow: number): string[] {
  const out: string[] = new Array(nrows * perRow);
  let o = 0;
  for (let r = 0; r < nrows; r++) {
    const base = start + r * stride;
    for (let k = 0; k < perRow; k++) out[o++] = decodeString(data, base + k * width, width);
  }
  return out;
}

interface Scaling {
  tscal?: number;
  tzero?: number | bigint;
  tnull?: number | bigint;
}

function zeroEquals(z: number | bigint | undefined, target: bigint): boolean {
  if (z === undefined) return false;
  return typeof z === 'bigint' ? z === target : Number.isInteger(z) && BigInt(z) === target;
}

const UNSIGNED_ZERO: Partial<Record<ElementCode, bigint>> = { B: -128n, I: 32768n, J: 2147483648n, K: TWO63 };

/** Which physical representation a numeric column gets. */
type Physical = 'raw' | 'unsigned' | 'scaled';

function physicalKind(code: ElementCode, s: Scaling): Physical {
  const unitScale = s.tscal === undefined || s.tscal === 1;
  const noZero = s.tzero === undefined || s.tzero === 0 || s.tzero === 0n;
  if (unitScale && noZero) return 'raw';
  const uz = UNSIGNED_ZERO[code];
  if (unitScale && uz !== undefined && zeroEquals(s.tzero, uz)) return 'unsigned';
  return 'scaled';
}

/** Raw stored values → physical values, with the null value as it appears afterwards. */
function toPhysical(code: ElementCode, raw: RawArray, s: Scaling): { values: NumericArray; nullValue?: number | bigint } {
  const kind = physicalKind(code, s);
  if (kind === 'raw') return { values: raw, ...(s.tnull !== undefined ? { nullValue: s.tnull } : {}) };
  if (kind === 'unsigned') {
    const nullValue = s.tnull === undefined ? undefined : code === 'K' ? BigInt(s.tnull) + TWO63 : Number(s.tnull) + Number(UNSIGNED_ZERO[code]!);
    const withNull = <T extends NumericArray>(values: T) => (nullValue === undefined ? { values } : { values, nullValue });
    switch (code) {
      case 'B': { const v = new Int8Array(raw.buffer); for (let i = 0; i < v.length; i++) v[i] = v[i]! ^ -128; return withNull(v); }
      case 'I': { const v = new Uint16Array(raw.buffer); for (let i = 0; i < v.length; i++) v[i] = v[i]! ^ 0x8000; return withNull(v); }
      case 'J': { const v = new Uint32Array(raw.buffer); for (let i = 0; i < v.length; i++) v[i] = (v[i]! ^ 0x80000000) >>> 0; return withNull(v); }
      default: {
        // Flip the sign bit of each 64-bit value by working on its 32-bit halves.
        const halves = new Uint32Array(raw.buffer);
        const hi = LITTLE_ENDIAN ? 1 : 0;
        for (let i = hi; i < halves.length; i += 2) halves[i] = (halves[i]! ^ 0x80000000) >>> 0;
        return withNull(new BigUint64Array(raw.buffer));
      }
    }
  }
  const scal = s.tscal ?? 1;
  const zero = Number(s.tzero ?? 0);
  const out = new Float64Array(raw.length);
  if (raw instanceof BigInt64Array) {
    const tnull = s.tnull === undefined ? undefined : BigInt(s.tnull);
    for (let i = 0; i < raw.length; i++) out[i] = raw[i] === tnull ? NaN : Number(raw[i]!) * scal + zero;
  } else {
    const tnull = s.tnull === undefined || code === 'E' || code === 'D' || code === 'C' || code === 'M' ? undefined : Number(s.tnull);
    for (let i = 0; i < raw.length; i++) {
      const r = raw[i]!;
      out[i] = r === tnull ? NaN : r * scal + zero;
    }
  }
  return s.tnull !== undefined ? { values: out, nullValue: NaN } : { values: out };
}

function integerKeyword(header: FitsHeader, key: string, fail: (p: string) => never): number | bigint | undefined {
  const v = header.get(key);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  return fail(`${key} = ${String(v)} is not an integer`);
}

function numberKeyword(header: FitsHeader, key: string, fail: (p: string) => never): number | bigint | undefined {
  const v = header.get(key);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  return fail(`${key} = ${String(v)} is not a number`);
}

/**
 * Reads a binary table. `data` is the HDU's whole data area (main table, gap and heap), at least
 * NAXIS1*NAXIS2 + PCOUNT bytes. Values are physical: TSCAL/TZERO applied (see BinTableColumn).
 */
export function readBinTable(header: FitsHeader, data: Uint8Array, source: string, hdu: number): BinTable {
  const layout = binTableLayout(header, data.length, source, hdu);
  const columns = layout.columns.map((c) => readColumn(header, data, layout, c, source, hdu));
  return { nrows: layout.nrows, columns };
}

function readColumn(header: FitsHeader, data: Uint8Array, layout: TableLayout, c: ColumnLayout, source: string, hdu: number): BinTableColumn {
  const label = columnLabel(c.index, c.name);
  const fail = (p: string): never => { throw tableError(source, hdu, `${label}: ${p}`); };
  const t = c.tform;
  const n = c.index;
  const column: BinTableColumn = { name: c.name, tform: t.text, code: t.code, repeat: t.repeat, values: [] };
  if (t.variable) column.variable = t.variable;
  const unit = header.getString(`TUNIT${n}`);
  if (unit !== undefined && unit.trim() !== '') column.unit = unit.trim();
  const tdisp = header.getString(`TDISP${n}`);
  if (tdisp !== undefined && tdisp.trim() !== '') column.tdisp = tdisp.trim();
  const tdim = header.get(`TDIM${n}`);
  if (tdim !== undefined && tdim !== null) {
    if (typeof tdim !== 'string') fail(`TDIM${n} is not a string`);
    let dims: number[] = [];
    try { dims = parseTdim(tdim as string); } catch (e) { if (e instanceof TformError) fail(e.message); throw e; }
    const product = dims.reduce((a, b) => a * b, 1);
    if (!t.variable && product > t.repeat) fail(`TDIM${n} = '${tdim as string}' holds ${product} elements but TFORM '${t.text}' has only ${t.repeat}`);
    column.dims = dims;
  }
  const scaling: Scaling = {};
  if (isNumericCode(t.code)) {
    const tnull = integerKeyword(header, `TNULL${n}`, fail);
    if (tnull !== undefined && t.code !== 'E' && t.code !== 'D' && t.code !== 'C' && t.code !== 'M') {
      scaling.tnull = tnull;
      column.tnull = tnull;
    }
    const tscal = numberKeyword(header, `TSCAL${n}`, fail);
    if (tscal !== undefined) {
      if (Number(tscal) === 0) fail(`TSCAL${n} is zero`);
      scaling.tscal = Number(tscal);
      column.tscal = Number(tscal);
    }
    const tzero = numberKeyword(header, `TZERO${n}`, fail);
    if (tzero !== undefined) {
      scaling.tzero = tzero;
      column.tzero = tzero;
    }
  }
  const start = c.offset;
  const stride = layout.rowBytes;
  const nrows = layout.nrows;
  try {
    if (!t.variable) {
      switch (t.code) {
        case 'A': {
          const { width, perRow } = stringShape(t, column.dims);
          column.values = decodeStrings(data, start, stride, nrows, width, perRow);
          break;
        }
        case 'L': column.values = decodeLogicals(data, start, stride, nrows, t.repeat, (row) => `row ${row + 1}`); break;
        case 'X': column.values = decodeBits(data, start, stride, nrows, t.repeat); break;
        default: {
          const phys = toPhysical(t.code, decodeRaw(t.code, data, start, stride, nrows, t.repeat), scaling);
          column.values = phys.values;
          if (phys.nullValue !== undefined) column.nullValue = phys.nullValue;
        }
      }
    } else {
      const rows: VariableElement[] = new Array(nrows);
      let nullValue: number | bigint | undefined;
      for (let r = 0; r < nrows; r++) {
        const { count, start: p } = readDescriptor(data, layout, c, r, source, hdu);
        switch (t.code) {
          case 'A': rows[r] = decodeString(data, p, count); break;
          case 'L': rows[r] = decodeLogicals(data, p, 0, 1, count, () => `the heap array of row ${r + 1}`); break;
          case 'X': rows[r] = decodeBits(data, p, 0, 1, count); break;
          default: {
            const phys = toPhysical(t.code, decodeRaw(t.code, data, p, 0, 1, count), scaling);
            rows[r] = phys.values;
            nullValue = phys.nullValue;
          }
        }
      }
      if (nullValue === undefined && scaling.tnull !== undefined && isNumericCode(t.code)) {
        nullValue = toPhysical(t.code, allocRaw(t.code, 0), scaling).nullValue;
      }
      if (nullValue !== undefined) column.nullValue = nullValue;
      column.values = rows as VariableElement[];
    }
  } catch (e) {
    if (e instanceof FitsError) throw e;
    if (e instanceof Error) fail(e.message);
    throw e;
  }
  return column;
}

/** The column with this name (FITS column names compare case-insensitively), or undefined. */
export function findColumn(table: BinTable, name: string): BinTableColumn | undefined {
  const key = name.trim().toUpperCase();
  return table.columns.find((c) => c.name.toUpperCase() === key);
}

// ---------------------------------------------------------------------------------------------
// Writing

interface PreparedColumn {
  spec: BinTableColumnSpec;
  tform: Tform;
  tzero?: number | bigint;
  label: string;
}

function writeError(problem: string): FitsError {
  return new FitsError('writeBinTable', undefined, problem);
}

function isTypedArray(v: unknown): v is NumericArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/** TFORM code and unsigned TZERO implied by a typed array type. */
function codeForArray(a: NumericArray): { code: ElementCode; tzero?: number | bigint } {
  if (a instanceof Float64Array) return { code: 'D' };
  if (a instanceof Float32Array) return { code: 'E' };
  if (a instanceof Int32Array) return { code: 'J' };
  if (a instanceof Int16Array) return { code: 'I' };
  if (a instanceof Uint8Array) return { code: 'B' };
  if (a instanceof BigInt64Array) return { code: 'K' };
  if (a instanceof Uint16Array) return { code: 'I', tzero: 32768 };
  if (a instanceof Uint32Array) return { code: 'J', tzero: 2147483648 };
  if (a instanceof Int8Array) return { code: 'B', tzero: -128 };
  return { code: 'K', tzero: TWO63 };
}

function prepareColumn(spec: BinTableColumnSpec, nrows: number, index: number): PreparedColumn {
  const label = `column ${index} (${spec.name})`;
  const fail = (p: string): never => { throw writeError(`${label}: ${p}`); };
  let tform: Tform;
  let tzero = spec.tzero;
  if (spec.tform !== undefined) {
    try { tform = parseTform(spec.tform); } catch (e) { if (e instanceof TformError) fail(e.message); throw e; }
  } else {
    const v = spec.values;
    if (isTypedArray(v)) {
      const { code, tzero: z } = codeForArray(v);
      if (tzero === undefined && z !== undefined && spec.tscal === undefined) tzero = z;
      if (nrows === 0 ? v.length !== 0 : v.length % nrows !== 0) fail(`${v.length} values do not divide into ${nrows} rows`);
      const repeat = nrows === 0 ? 1 : v.length / nrows;
      tform = { text: `${repeat}${code}`, repeat, code, width: fieldWidth(code, repeat) };
    } else if (v.length > 0 && typeof v[0] === 'string') {
      const width = Math.max(1, ...(v as string[]).map((s) => s.length));
      const perRow = nrows === 0 ? 1 : v.length / nrows;
      if (perRow !== 1) fail('give a TFORM for string columns with several strings per row');
      tform = { text: `${width}A`, repeat: width, code: 'A', width };
    } else if (v.length > 0 && v.every((x) => typeof x === 'boolean' || x === null)) {
      const repeat = nrows === 0 ? 1 : v.length / nrows;
      if (!Number.isInteger(repeat)) fail(`${v.length} logicals do not divide into ${nrows} rows`);
      tform = { text: `${repeat}L`, repeat, code: 'L', width: repeat };
    } else if (v.length > 0 && isTypedArray(v[0])) {
      const { code, tzero: z } = codeForArray(v[0] as NumericArray);
      if (tzero === undefined && z !== undefined && spec.tscal === undefined) tzero = z;
      tform = { text: `1P${code}`, repeat: 1, code, variable: 'P', width: 8 };
    } else {
      return fail('cannot infer a TFORM from these values; give one');
    }
  }
  if (!isNumericCode(tform.code) && (spec.tscal !== undefined || spec.tzero !== undefined || spec.tnull !== undefined)) {
    fail(`TSCAL, TZERO and TNULL are not allowed for ${tform.code} columns`);
  }
  if ((tform.code === 'E' || tform.code === 'D' || tform.code === 'C' || tform.code === 'M') && spec.tnull !== undefined) {
    fail('TNULL is not allowed for floating-point columns (NaN marks undefined values)');
  }
  if (spec.tscal === 0) fail('TSCAL must not be zero');
  if (spec.dims) {
    const product = spec.dims.reduce((a, b) => a * b, 1);
    if (!tform.variable && product > tform.repeat) fail(`TDIM ${formatTdim(spec.dims)} holds ${product} elements but the field has ${tform.repeat}`);
  }
  const prepared: PreparedColumn = { spec, tform, label };
  if (tzero !== undefined) prepared.tzero = tzero;
  return prepared;
}

const RAW_RANGE: Partial<Record<ElementCode, [number, number]>> = {
  B: [0, 255], I: [-32768, 32767], J: [-2147483648, 2147483647],
};

/** Physical values → raw stored values of the column's type (inverse of toPhysical). */
function toRaw(code: ElementCode, values: NumericArray, count: number, s: Scaling, fail: (p: string) => never): RawArray {
  if (values.length !== count) fail(`expected ${count} values, got ${values.length}`);
  const raw = allocRaw(code, code === 'C' || code === 'M' ? count / 2 : count);
  const scal = s.tscal ?? 1;
  const isBig = values instanceof BigInt64Array || values instanceof BigUint64Array;
  if (raw instanceof BigInt64Array) {
    const zeroBig = s.tzero === undefined ? 0n : typeof s.tzero === 'bigint' ? s.tzero : Number.isInteger(s.tzero) ? BigInt(s.tzero) : undefined;
    for (let i = 0; i < count; i++) {
      const v = values[i]!;
      if (typeof v === 'bigint') {
        if (scal !== 1 || zeroBig === undefined) fail('bigint values need TSCAL = 1 and an integer TZERO');
        const r = v - zeroBig!;
        if (r < -TWO63 || r >= TWO63) fail(`value ${v} is out of range for K after TZERO`);
        raw[i] = r;
      } else if (Number.isNaN(v)) {
        if (s.tnull === undefined) fail(`NaN in row element ${i} but the column has no TNULL`);
        raw[i] = BigInt(s.tnull!);
      } else {
        const r = Math.round((v - Number(s.tzero ?? 0)) / scal);
        if (!Number.isFinite(r) || Math.abs(r) > 2 ** 63) fail(`value ${v} is out of range for K`);
        raw[i] = BigInt(r);
      }
    }
    return raw;
  }
  if (isBig) fail(`bigint values given for a ${code} column`);
  const nums = values as Exclude<NumericArray, BigInt64Array | BigUint64Array>;
  const zero = Number(s.tzero ?? 0);
  const range = RAW_RANGE[code];
  if (range === undefined) {
    // Floating point: store (v - zero) / scal; identity when unscaled (NaN and the sign of zero kept).
    if (scal === 1 && zero === 0) (raw as Float32Array | Float64Array).set(nums);
    else for (let i = 0; i < count; i++) raw[i] = (nums[i]! - zero) / scal;
    return raw;
  }
  const [lo, hi] = range;
  const tnull = s.tnull === undefined ? undefined : Number(s.tnull);
  for (let i = 0; i < count; i++) {
    const v = nums[i]!;
    let r: number;
    if (Number.isNaN(v)) {
      if (tnull === undefined) fail(`NaN at element ${i} but the column has no TNULL`);
      r = tnull!;
    } else {
      r = scal === 1 ? v - zero : Math.round((v - zero) / scal);
      if (!Number.isInteger(r)) r = Math.round(r);
    }
    if (r < lo || r > hi) fail(`value ${v} is out of range for ${code} (stored ${r} outside ${lo}..${hi})`);
    raw[i] = r;
  }
  return raw;
}

function encodeString(s: string, out: Uint8Array, start: number, width: number, fail: (p: string) => never): void {
  if (s.length > width) fail(`string "${s.slice(0, 20)}..." is longer than the field width ${width}`);
  for (let i = 0; i < width; i++) {
    if (i < s.length) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e) fail(`string "${s}" contains a character outside printable ASCII`);
      out[start + i] = c;
    } else out[start + i] = 0x20;
  }
}

function logicalByte(v: unknown, fail: (p: string) => never): number {
  if (v === true) return 0x54;
  if (v === false) return 0x46;
  if (v === null) return 0;
  return fail(`logical value ${String(v)} is not true, false or null`);
}

/**
 * Builds a binary table HDU: the header (XTENSION through TFORMn/TUNITn/TDIMn/TNULLn/TSCALn/
 * TZEROn/TDISPn and EXTNAME) and the data area (main table then heap, unpadded; the caller pads
 * to 2880 bytes). Values are physical and converted to stored values with TSCAL/TZERO.
 */
export function writeBinTable(spec: BinTableSpec): { header: FitsHeader; data: Uint8Array } {
  const nrows = spec.nrows;
  if (!Number.isSafeInteger(nrows) || nrows < 0) throw writeError(`nrows = ${nrows} is not a non-negative integer`);
  if (spec.columns.length > 999) throw writeError(`${spec.columns.length} columns exceed the FITS limit of 999`);
  const prepared = spec.columns.map((c, i) => prepareColumn(c, nrows, i + 1));
  let rowBytes = 0;
  const offsets: number[] = [];
  for (const p of prepared) { offsets.push(rowBytes); rowBytes += p.tform.width; }
  const main = new Uint8Array(rowBytes * nrows);
  const heapChunks: Uint8Array[] = [];
  let heapSize = 0;
  const maxLengths: number[] = prepared.map(() => 0);

  prepared.forEach((p, ci) => {
    const { tform: t, spec: cs, label } = p;
    const fail = (problem: string): never => { throw writeError(`${label}: ${problem}`); };
    const start = offsets[ci]!;
    const scaling: Scaling = {};
    if (cs.tscal !== undefined) scaling.tscal = cs.tscal;
    if (p.tzero !== undefined) scaling.tzero = p.tzero;
    if (cs.tnull !== undefined) scaling.tnull = cs.tnull;
    const v = cs.values;
    if (!t.variable) {
      if (t.repeat === 0) return;
      switch (t.code) {
        case 'A': {
          const { width, perRow } = stringShape(t, cs.dims);
          if (!Array.isArray(v) || v.length !== nrows * perRow || v.some((s) => typeof s !== 'string')) fail(`expected ${nrows * perRow} strings`);
          const strings = v as string[];
          for (let r = 0; r < nrows; r++) {
            const base = start + r * rowBytes;
            for (let k = 0; k < perRow; k++) encodeString(strings[r * perRow + k]!, main, base + k * width, width, fail);
            for (let k = perRow * width; k < t.repeat; k++) main[base + k] = 0x20;
          }
          return;
        }
        case 'L': {
          if (!Array.isArray(v) || v.length !== nrows * t.repeat) fail(`expected ${nrows * t.repeat} logicals`);
          for (let r = 0; r < nrows; r++) for (let k = 0; k < t.repeat; k++) main[start + r * rowBytes + k] = logicalByte((v as Logical[])[r * t.repeat + k], fail);
          return;
        }
        case 'X': {
          if (!(v instanceof Uint8Array) || v.length !== nrows * t.repeat) fail(`expected a Uint8Array of ${nrows * t.repeat} bits`);
          const bits = v as Uint8Array;
          for (let r = 0; r < nrows; r++) for (let k = 0; k < t.repeat; k++) if (bits[r * t.repeat + k]) main[start + r * rowBytes + (k >> 3)]! |= 0x80 >> (k & 7);
          return;
        }
        default: {
          if (!isTypedArray(v)) return fail('numeric columns take a typed array');
          const count = nrows * t.repeat * (t.code === 'C' || t.code === 'M' ? 2 : 1);
          const raw = toRaw(t.code, v, count, scaling, fail);
          scatterSwapped(new Uint8Array(raw.buffer), main, start, rowBytes, nrows, t.width, scalarSize(t.code));
        }
      }
      return;
    }
    if (!Array.isArray(v) || v.length !== nrows) fail(`variable-length columns take one array per row (${nrows})`);
    const rows = v as VariableElement[];
    for (let r = 0; r < nrows; r++) {
      const el = rows[r]!;
      let bytes: Uint8Array;
      let count: number;
      switch (t.code) {
        case 'A': {
          if (typeof el !== 'string') return fail(`row ${r + 1}: expected a string`);
          count = el.length;
          bytes = new Uint8Array(count);
          encodeString(el, bytes, 0, count, fail);
          break;
        }
        case 'L': {
          if (!Array.isArray(el)) return fail(`row ${r + 1}: expected an array of logicals`);
          count = el.length;
          bytes = new Uint8Array(count);
          for (let k = 0; k < count; k++) bytes[k] = logicalByte(el[k], fail);
          break;
        }
        case 'X': {
          if (!(el instanceof Uint8Array)) return fail(`row ${r + 1}: expected a Uint8Array of bits`);
          count = el.length;
          bytes = new Uint8Array(Math.ceil(count / 8));
          for (let k = 0; k < count; k++) if (el[k]) bytes[k >> 3]! |= 0x80 >> (k & 7);
          break;
        }
        default: {
          if (!isTypedArray(el)) return fail(`row ${r + 1}: expected a typed array`);
          const complex = t.code === 'C' || t.code === 'M';
          if (complex && el.length % 2 !== 0) fail(`row ${r + 1}: complex values need re,im pairs`);
          count = complex ? el.length / 2 : el.length;
          const raw = toRaw(t.code, el, el.length, scaling, (m) => fail(`row ${r + 1}: ${m}`));
          bytes = new Uint8Array(fieldWidth(t.code, count));
          scatterSwapped(new Uint8Array(raw.buffer), bytes, 0, 0, 1, bytes.length, scalarSize(t.code));
        }
      }
      if (t.variable === 'P' && heapSize + bytes.length > 2147483647) fail('heap exceeds the 2 GiB reach of P descriptors; use Q');
      maxLengths[ci] = Math.max(maxLengths[ci]!, count);
      const d = start + r * rowBytes;
      if (t.variable === 'P') {
        writeInt32(main, d, count);
        writeInt32(main, d + 4, heapSize);
      } else {
        writeInt64(main, d, count);
        writeInt64(main, d + 8, heapSize);
      }
      heapChunks.push(bytes);
      heapSize += bytes.length;
    }
  });

  const data = new Uint8Array(main.length + heapSize);
  data.set(main, 0);
  let o = main.length;
  for (const chunk of heapChunks) { data.set(chunk, o); o += chunk.length; }

  const header = new FitsHeader();
  header.set('XTENSION', 'BINTABLE', 'binary table extension');
  header.set('BITPIX', 8, 'array data type');
  header.set('NAXIS', 2, 'number of array dimensions');
  header.set('NAXIS1', rowBytes, 'length of dimension 1 (bytes per row)');
  header.set('NAXIS2', nrows, 'length of dimension 2 (rows)');
  header.set('PCOUNT', heapSize, 'number of group parameters (heap bytes)');
  header.set('GCOUNT', 1, 'number of groups');
  header.set('TFIELDS', prepared.length, 'number of table fields');
  prepared.forEach((p, i) => {
    const n = i + 1;
    const cs = p.spec;
    const t = p.tform;
    header.set(`TTYPE${n}`, cs.name);
    const tformText = t.variable ? `${t.repeat}${t.variable}${t.code}(${maxLengths[i]})` : t.text;
    header.set(`TFORM${n}`, tformText);
    if (cs.unit) header.set(`TUNIT${n}`, cs.unit);
    if (cs.dims) header.set(`TDIM${n}`, formatTdim(cs.dims));
    if (cs.tnull !== undefined) header.set(`TNULL${n}`, cs.tnull);
    if (cs.tscal !== undefined) header.set(`TSCAL${n}`, cs.tscal, undefined, { real: true });
    if (p.tzero !== undefined) header.set(`TZERO${n}`, exactHeaderNumber(p.tzero));
    if (cs.tdisp) header.set(`TDISP${n}`, cs.tdisp);
  });
  if (spec.extname !== undefined) header.set('EXTNAME', spec.extname, 'extension name');
  return { header, data };
}

/** Integers beyond 2^53 (e.g. TZERO = 2^63) must be written from a bigint to keep every digit. */
function exactHeaderNumber(v: number | bigint): CardValue {
  if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) return BigInt(v);
  return v;
}

function writeInt32(d: Uint8Array, p: number, v: number): void {
  d[p] = (v >>> 24) & 0xff; d[p + 1] = (v >>> 16) & 0xff; d[p + 2] = (v >>> 8) & 0xff; d[p + 3] = v & 0xff;
}

function writeInt64(d: Uint8Array, p: number, v: number): void {
  writeInt32(d, p, Math.floor(v / 4294967296));
  writeInt32(d, p + 4, v >>> 0);
}
