/**
 * A Parquet writer for flat tables (Apache Parquet format 2 file layout, parquet-format's
 * parquet.thrift): one row group, one PLAIN-encoded, uncompressed v1 data page per column, every column
 * REQUIRED (no nulls: missing numbers are NaN), so that any Parquet reader (pyarrow, pandas, DuckDB,
 * hyparquet) reads it. Column types: DOUBLE (Float64Array), INT32 (Int32Array), INT64 (BigInt64Array),
 * BOOLEAN (boolean[], bit-packed), UTF8 strings (string[], BYTE_ARRAY with the UTF8 converted type).
 * File-level key/value metadata carries what a DataFrame's readers want besides the values (units, the
 * provenance of the table). Metadata structures are Thrift's compact protocol, written here.
 * Layout: "PAR1", the column chunks (page header, values), FileMetaData, its length (4 bytes LE), "PAR1".
 */

export type ParquetColumn =
  | { name: string; type: 'double'; values: Float64Array }
  | { name: string; type: 'int32'; values: Int32Array }
  | { name: string; type: 'int64'; values: BigInt64Array }
  | { name: string; type: 'boolean'; values: readonly boolean[] }
  | { name: string; type: 'string'; values: readonly string[] };

export interface ParquetTable {
  numRows: number;
  columns: ParquetColumn[];
  /** File-level key/value metadata. */
  metadata?: Record<string, string>;
}

export class ParquetWriteError extends Error {
  override readonly name = 'ParquetWriteError';
}

/** parquet.thrift Type. */
const TYPE = { boolean: 0, int32: 1, int64: 2, double: 5, string: 6 } as const;
const ENCODING_PLAIN = 0, ENCODING_RLE = 3, REQUIRED = 0, CONVERTED_UTF8 = 0, DATA_PAGE = 0, UNCOMPRESSED = 0;

/** Growable little-endian byte buffer. */
class Bytes {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void { this.reserve(1); this.buf[this.length++] = b & 0xff; }
  bytes(b: Uint8Array): void { this.reserve(b.length); this.buf.set(b, this.length); this.length += b.length; }
  u32(v: number): void { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number): void { this.reserve(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  i64(v: bigint): void { this.reserve(8); this.view.setBigInt64(this.length, v, true); this.length += 8; }
  f64(v: number): void { this.reserve(8); this.view.setFloat64(this.length, v, true); this.length += 8; }
  /** Unsigned LEB128 of a non-negative bigint. */
  varint(v: bigint): void {
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) b |= 0x80;
      this.byte(b);
    } while (v !== 0n);
  }
  result(): Uint8Array { return this.buf.slice(0, this.length); }
}

/** Thrift compact-protocol struct writer (fields in increasing id order). */
class CompactStruct {
  private last = 0;
  constructor(private readonly out: Bytes) {}

  private header(id: number, type: number): void {
    const delta = id - this.last;
    if (delta > 0 && delta <= 15) this.out.byte((delta << 4) | type);
    else { this.out.byte(type); this.out.varint(zigzag(BigInt(id))); }
    this.last = id;
  }
  i32(id: number, v: number): this { this.header(id, 5); this.out.varint(zigzag(BigInt(v))); return this; }
  i64(id: number, v: number | bigint): this { this.header(id, 6); this.out.varint(zigzag(BigInt(v))); return this; }
  string(id: number, s: string): this { this.header(id, 8); writeBinary(this.out, s); return this; }
  struct(id: number, write: (s: CompactStruct) => void): this {
    this.header(id, 12);
    const inner = new CompactStruct(this.out);
    write(inner);
    inner.end();
    return this;
  }
  /** A list of i32 (elemType 5), strings (8) or structs (12). */
  list<T>(id: number, elemType: 5 | 8 | 12, items: readonly T[], write: (item: T) => void): this {
    this.header(id, 9);
    if (items.length < 15) this.out.byte((items.length << 4) | elemType);
    else { this.out.byte(0xf0 | elemType); this.out.varint(BigInt(items.length)); }
    for (const item of items) write(item);
    return this;
  }
  end(): void { this.out.byte(0); }
}

function zigzag(v: bigint): bigint {
  return v >= 0n ? v << 1n : ((-v) << 1n) - 1n;
}

const utf8 = new TextEncoder();
function writeBinary(out: Bytes, s: string): void {
  const b = utf8.encode(s);
  out.varint(BigInt(b.length));
  out.bytes(b);
}

function structInList(out: Bytes, write: (s: CompactStruct) => void): void {
  const s = new CompactStruct(out);
  write(s);
  s.end();
}

/** PLAIN encoding of a column's values. */
function plainValues(column: ParquetColumn): Uint8Array {
  const out = new Bytes();
  switch (column.type) {
    case 'double': for (const v of column.values) out.f64(v); break;
    case 'int32': for (const v of column.values) out.i32(v); break;
    case 'int64': for (const v of column.values) out.i64(v); break;
    case 'boolean': {
      const n = column.values.length;
      for (let i = 0; i < n; i += 8) {
        let b = 0;
        for (let j = 0; j < 8 && i + j < n; j++) if (column.values[i + j]) b |= 1 << j;
        out.byte(b);
      }
      break;
    }
    case 'string': for (const s of column.values) { const b = utf8.encode(s); out.u32(b.length); out.bytes(b); } break;
  }
  return out.result();
}

/** The Parquet file's bytes. Column names must be distinct and every column numRows long. */
export function writeParquet(table: ParquetTable, name = 'table'): Uint8Array {
  const seen = new Set<string>();
  for (const c of table.columns) {
    if (seen.has(c.name)) throw new ParquetWriteError(`${name}: column ${c.name} appears twice`);
    seen.add(c.name);
    if (c.values.length !== table.numRows) throw new ParquetWriteError(`${name}: column ${c.name} has ${c.values.length} values, the table ${table.numRows} rows`);
  }
  const file = new Bytes();
  file.bytes(utf8.encode('PAR1'));
  const chunks: { column: ParquetColumn; offset: number; size: number }[] = [];
  for (const column of table.columns) {
    const values = plainValues(column);
    const header = new Bytes();
    structInList(header, (s) => s.i32(1, DATA_PAGE).i32(2, values.length).i32(3, values.length)
      .struct(5, (d) => d.i32(1, table.numRows).i32(2, ENCODING_PLAIN).i32(3, ENCODING_RLE).i32(4, ENCODING_RLE)));
    const offset = file.length;
    file.bytes(header.result());
    file.bytes(values);
    chunks.push({ column, offset, size: file.length - offset });
  }
  const meta = new Bytes();
  structInList(meta, (m) => {
    m.i32(1, 1);
    m.list(2, 12, [undefined, ...table.columns], (c) => structInList(meta, (s) => {
      if (!c) { s.string(4, 'schema').i32(5, table.columns.length); return; }
      s.i32(1, TYPE[c.type]).i32(3, REQUIRED).string(4, c.name);
      if (c.type === 'string') s.i32(6, CONVERTED_UTF8);
    }));
    m.i64(3, table.numRows);
    m.list(4, 12, [chunks], (group) => structInList(meta, (g) => {
      g.list(1, 12, group, (chunk) => structInList(meta, (cc) => {
        cc.i64(2, chunk.offset);
        cc.struct(3, (cm) => {
          cm.i32(1, TYPE[chunk.column.type]);
          cm.list(2, 5, [ENCODING_PLAIN, ENCODING_RLE], (e) => meta.varint(zigzag(BigInt(e))));
          cm.list(3, 8, [chunk.column.name], (p) => writeBinary(meta, p));
          cm.i32(4, UNCOMPRESSED).i64(5, table.numRows).i64(6, chunk.size).i64(7, chunk.size).i64(9, chunk.offset);
        });
      }));
      g.i64(2, group.reduce((s, c) => s + c.size, 0)).i64(3, table.numRows);
    }));
    const kv = Object.entries(table.metadata ?? {});
    if (kv.length) m.list(5, 12, kv, ([key, value]) => structInList(meta, (s) => s.string(1, key).string(2, value)));
    m.string(6, 'tessera');
  });
  const footer = meta.result();
  file.bytes(footer);
  file.u32(footer.length);
  file.bytes(utf8.encode('PAR1'));
  return file.result();
}
