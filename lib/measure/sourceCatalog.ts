/**
 * Source catalogues: columnar tables, one typed column per measured quantity, named as LSST's
 * (`base_PsfFlux_instFlux`, `base_SdssCentroid_x`, `..._flag`), with 0-based pixel coordinates. On disk
 * a catalogue is a FITS binary table (EXTNAME SOURCES) that astropy reads directly: numbers as 64-bit
 * floats (D) or 32-bit integers (J), flags as FITS logicals (L); header cards carry catalogue-level
 * metadata (the flux normalisation, the calibration). Column order is kept.
 */
import { readFitsBytes } from '../fits/file.js';
import { writeFits } from '../fits/writer.js';
import { FitsHeader } from '../fits/header.js';
import type { BinTableColumnSpec } from '../fits/bintable.js';

export type Column = Float64Array | Int32Array | boolean[];

export interface SourceCatalog {
  length: number;
  columns: Record<string, Column>;
  /** Catalogue-level cards (units, calibration, provenance), written in the table's header. */
  metadata?: FitsHeader;
}

export class SourceCatalogError extends Error {
  override readonly name = 'SourceCatalogError';
}

const UNITS: [RegExp, string][] = [
  [/_instFlux(Err)?$/, 'ct'],
  [/_flux(Err)?$/, 'nJy'],
  [/^coord_(ra|dec)(Err)?$/, 'deg'],
  [/_(x|y|xErr|yErr|radius)$/, 'pix'],
  [/_(xx|yy|xy)$/, 'pix2'],
];

/** Writes a catalogue as a FITS file: an empty primary HDU, then the SOURCES binary table. */
export function writeSourceCatalog(catalog: SourceCatalog, name = 'catalog'): Uint8Array {
  const columns: BinTableColumnSpec[] = [];
  for (const [column, values] of Object.entries(catalog.columns)) {
    if (values.length !== catalog.length) throw new SourceCatalogError(`${name}: column ${column} has ${values.length} rows, the catalogue ${catalog.length}`);
    const spec: BinTableColumnSpec = Array.isArray(values) ? { name: column, tform: 'L', values } : { name: column, values };
    const unit = UNITS.find(([re]) => re.test(column))?.[1];
    if (unit && !Array.isArray(values)) spec.unit = unit;
    columns.push(spec);
  }
  return writeFits([
    { header: new FitsHeader() },
    { kind: 'table', table: { nrows: catalog.length, columns, extname: 'SOURCES' }, ...(catalog.metadata ? { header: catalog.metadata } : {}) },
  ], { checksum: true, name });
}

/** Reads a catalogue written by writeSourceCatalog (or any table of D/E/J/I/K/L columns) from its SOURCES HDU. */
export function readSourceCatalog(bytes: Uint8Array, name: string): SourceCatalog {
  const file = readFitsBytes(name, bytes);
  const hdu = file.hdus.find((h) => h.extname?.trim().toUpperCase() === 'SOURCES') ?? file.hdus.find((h) => h.type === 'BINTABLE');
  if (!hdu) throw new SourceCatalogError(`${name}: no SOURCES binary table`);
  const table = file.readTable(hdu.index);
  const columns: Record<string, Column> = {};
  for (const c of table.columns) {
    const v = c.values;
    if (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'boolean' || v[0] === null)) columns[c.name] = (v as (boolean | null)[]).map((b) => b === true);
    else if (v instanceof Int32Array || v instanceof Int16Array || v instanceof Uint8Array) columns[c.name] = Int32Array.from(v);
    else if (v instanceof Float64Array) columns[c.name] = v;
    else if (ArrayBuffer.isView(v) && !(v instanceof DataView)) columns[c.name] = Float64Array.from(v as unknown as ArrayLike<number>, Number);
    else throw new SourceCatalogError(`${name}: column ${c.name} is not numeric or logical`);
  }
  const metadata = hdu.header.clone();
  return { length: table.nrows, columns, metadata };
}
