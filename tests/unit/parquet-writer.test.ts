// The Parquet writer (lib/parquet/writeParquet.ts) read back by an independent reader (hyparquet, which
// Tessera does not use for writing): every column's values and physical/converted types, NaN, extreme
// integers, UTF-8 strings, bit-packed booleans across byte boundaries, more than 14 columns (the compact
// protocol's long list header), key/value metadata; bad tables are refused with the column named.
import { describe, expect, it } from 'vitest';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { writeParquet, type ParquetColumn } from '../../lib/parquet/writeParquet.js';

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

describe('writeParquet', () => {
  it('writes a table hyparquet reads back exactly, with its types and metadata', async () => {
    const n = 21;
    const columns: ParquetColumn[] = [
      { name: 'objectId', type: 'int64', values: BigInt64Array.from({ length: n }, (_, i) => (1n << 40n) * BigInt(i) - 7n) },
      { name: 'coord_ra', type: 'double', values: Float64Array.from({ length: n }, (_, i) => 150 + i * 1e-7) },
      { name: 'g_psfFlux', type: 'double', values: Float64Array.from({ length: n }, (_, i) => (i === 3 ? NaN : i === 4 ? -Infinity : 1234.5 * i)) },
      { name: 'nChild', type: 'int32', values: Int32Array.from({ length: n }, (_, i) => (i === 0 ? -2147483648 : i === 1 ? 2147483647 : i)) },
      { name: 'detect_isPrimary', type: 'boolean', values: Array.from({ length: n }, (_, i) => i % 3 === 0) },
      { name: 'refBand', type: 'string', values: Array.from({ length: n }, (_, i) => ['i', 'r', 'g', 'ünïcode ✓', ''][i % 5]!) },
    ];
    for (let k = 0; k < 12; k++) columns.push({ name: `extra_${k}`, type: 'double', values: Float64Array.from({ length: n }, (_, i) => i * k) });
    const bytes = writeParquet({ numRows: n, columns, metadata: { units: JSON.stringify({ coord_ra: 'deg', g_psfFlux: 'nJy' }) } });
    const file = toArrayBuffer(bytes);
    const meta = parquetMetadata(file);
    expect(Number(meta.num_rows)).toBe(n);
    const schema = meta.schema.slice(1);
    expect(schema.map((s) => s.name)).toEqual(columns.map((c) => c.name));
    expect(schema.map((s) => s.type)).toEqual(['INT64', 'DOUBLE', 'DOUBLE', 'INT32', 'BOOLEAN', 'BYTE_ARRAY', ...Array(12).fill('DOUBLE')]);
    expect(schema.every((s) => s.repetition_type === 'REQUIRED')).toBe(true);
    expect(schema[5]!.converted_type).toBe('UTF8');
    expect(JSON.parse(meta.key_value_metadata!.find((kv) => kv.key === 'units')!.value!)).toEqual({ coord_ra: 'deg', g_psfFlux: 'nJy' });
    const rows = await parquetReadObjects({ file });
    expect(rows).toHaveLength(n);
    rows.forEach((row, i) => {
      for (const c of columns) {
        const want = c.values[i]!;
        if (typeof want === 'number' && Number.isNaN(want)) expect(Number.isNaN(row[c.name] as number)).toBe(true);
        else expect(row[c.name], `${c.name}[${i}]`).toEqual(want);
      }
    });
  });

  it('writes an empty table, and refuses ragged or duplicate columns naming them', async () => {
    const empty = writeParquet({ numRows: 0, columns: [{ name: 'x', type: 'double', values: new Float64Array(0) }] });
    expect(await parquetReadObjects({ file: toArrayBuffer(empty) })).toEqual([]);
    expect(() => writeParquet({ numRows: 2, columns: [{ name: 'x', type: 'double', values: new Float64Array(3) }] }, 'objectTable')).toThrow(/objectTable: column x has 3 values, the table 2 rows/);
    const x: ParquetColumn = { name: 'x', type: 'int32', values: new Int32Array(1) };
    expect(() => writeParquet({ numRows: 1, columns: [x, x] })).toThrow(/column x appears twice/);
  });
});
