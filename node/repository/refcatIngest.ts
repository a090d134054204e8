/**
 * Ingest of an external reference catalogue (a CSV or FITS table of stars, RA/Dec in degrees) as
 * 'refCat' datasets sharded like the simulator's reference catalogue (lib/sim/referenceCatalog.ts:
 * `shardIdAt` with its default shard size; the shard id is the data ID's 'htm'), into the RUN
 * `refcats` or `refcats/NAME`. Each shard file: an empty primary HDU and a BINTABLE 'REFCAT' with
 * columns id (J, the star's 1-based row in the input table, or in the input tables one after another), ra, dec (D, deg, ra in [0, 360)) and per
 * band `<band>_ref` and, where an error column is given, `<band>_ref_err` (D, mag; NaN where the input
 * has none), rows in input order; header SHARDID, SHARDDEG, REFNAME, REFSRC. Every row is read and
 * checked before anything is written: a non-numeric value, or an RA/Dec that is missing or out of
 * range, is an error naming the file, the line (CSV) or row (FITS) and the column. An empty magnitude
 * cell is a missing magnitude (NaN). Parquet is refused: this tessera has no Parquet reader.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FitsHeader, writeFits, type BinTable } from '../../lib/fits/index.js';
import type { NumericArray } from '../../lib/fits/bintable.js';
import { REFERENCE_DEFAULTS, referenceShardFileName, shardIdAt } from '../../lib/sim/referenceCatalog.js';
import { INGEST_DATASET_TYPES } from './datasetTypes.js';
import { withScratchDir } from './ingestCommon.js';
import { readFitsChecked } from '../fits/fileSource.js';
import { RepositoryError, type IngestReport, type Repository } from './repository.js';

export interface RefcatColumns {
  readonly ra: string;
  readonly dec: string;
  /** Band -> magnitude column. */
  readonly mag: Readonly<Record<string, string>>;
  /** Band -> magnitude error column (bands of `mag` only). */
  readonly magErr?: Readonly<Record<string, string>>;
}

export interface RefStar {
  /** 1-based row of the input table. */
  readonly row: number;
  readonly ra: number;
  readonly dec: number;
  readonly mag: Record<string, number>;
  readonly magErr: Record<string, number>;
}

export const REFCAT_TABLE = 'REFCAT';
const BAND_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** The RUN a named reference catalogue goes into. */
export function refcatRun(name?: string): string {
  return name === undefined ? 'refcats' : `refcats/${name}`;
}

function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') quoted = false; else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { out.push(cur.trim()); cur = ''; } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/** A table's rows as accessors: `value(column)` returns the number or the problem. */
interface TableRows {
  readonly rows: number;
  /** 'line N' or 'row N' of row index i. */
  where(i: number): string;
  /** The value of `column` in row i: a number, null when the cell is empty, or a string that is not a number. */
  cell(i: number, column: string): number | null | string;
}

function csvRows(source: string, columns: readonly string[]): TableRows {
  const lines = fs.readFileSync(source, 'utf8').split(/\r?\n/);
  const data: { line: number; fields: string[] }[] = [];
  let header: string[] | undefined;
  lines.forEach((text, i) => {
    if (text.trim() === '' || text.trimStart().startsWith('#')) return;
    const fields = splitCsvLine(text);
    if (!header) header = fields;
    else data.push({ line: i + 1, fields });
  });
  if (!header) throw new RepositoryError(`${source}: empty CSV (no header line)`);
  const index = new Map(header.map((h, i) => [h, i]));
  for (const c of columns) if (!index.has(c)) throw new RepositoryError(`${source}: no column '${c}' (columns: ${header.join(', ')})`);
  for (const d of data) {
    if (d.fields.length !== header.length) throw new RepositoryError(`${source}: line ${d.line} has ${d.fields.length} fields, the header has ${header.length}`);
  }
  return {
    rows: data.length,
    where: (i) => `line ${data[i]!.line}`,
    cell(i, column) {
      const text = data[i]!.fields[index.get(column)!]!;
      if (text === '') return null;
      if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return Number(text);
      if (/^[+-]?nan$/i.test(text)) return NaN;
      if (/^[+-]?inf(inity)?$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
      return text;
    },
  };
}

function fitsRows(source: string, columns: readonly string[]): TableRows {
  const file = readFitsChecked(source);
  const named = file.indexOf(REFCAT_TABLE);
  const index = named >= 0 ? named : file.hdus.findIndex((h) => h.type === 'BINTABLE');
  if (index < 0) throw new RepositoryError(`${source}: no binary table HDU`);
  let table: BinTable;
  try {
    table = file.readTable(index);
  } catch (err) {
    throw new RepositoryError(`cannot read ${source} HDU ${index}: ${(err as Error).message}`);
  }
  const values = new Map<string, NumericArray>();
  for (const c of columns) {
    const col = table.columns.find((x) => x.name === c) ?? table.columns.find((x) => x.name.toUpperCase() === c.toUpperCase());
    if (!col) throw new RepositoryError(`${source}: HDU ${index} has no column '${c}' (columns: ${table.columns.map((x) => x.name).join(', ')})`);
    if (col.variable || col.repeat !== 1 || !ArrayBuffer.isView(col.values) || col.code === 'X' || col.code === 'C' || col.code === 'M') {
      throw new RepositoryError(`${source}: column '${c}' (TFORM ${col.tform}) is not a numeric column with one value per row`);
    }
    values.set(c, col.values as NumericArray);
  }
  return {
    rows: table.nrows,
    where: (i) => `row ${i + 1}`,
    cell: (i, column) => Number(values.get(column)![i]!),
  };
}

/** Reads and checks the stars of a CSV or FITS table (see the module comment). */
export function readReferenceTable(source: string, columns: RefcatColumns): RefStar[] {
  const bands = Object.keys(columns.mag);
  if (bands.length === 0) throw new RepositoryError('give at least one magnitude column (--mag BAND=COL)');
  for (const b of [...bands, ...Object.keys(columns.magErr ?? {})]) {
    if (!BAND_NAME.test(b)) throw new RepositoryError(`band name '${b}' must be a letter then letters, digits or '_'`);
  }
  for (const b of Object.keys(columns.magErr ?? {})) if (!(b in columns.mag)) throw new RepositoryError(`--mag-err names band '${b}', which --mag does not`);
  if (/\.parquet$/i.test(source)) throw new RepositoryError(`${source}: Parquet tables cannot be read by this tessera (no Parquet reader); convert it to CSV or FITS`);
  if (!fs.existsSync(source)) throw new RepositoryError(`${source}: file not found`);
  const wanted = [columns.ra, columns.dec, ...Object.values(columns.mag), ...Object.values(columns.magErr ?? {})];
  let rows: TableRows;
  if (/\.(fits?|fts)(\.gz)?$/i.test(source)) rows = fitsRows(source, wanted);
  else if (/\.csv$/i.test(source)) rows = csvRows(source, wanted);
  else throw new RepositoryError(`${source}: unknown table format; give a .csv, .fits or .fit file`);
  const stars: RefStar[] = [];
  for (let i = 0; i < rows.rows; i++) {
    const fail = (column: string, problem: string): never => {
      throw new RepositoryError(`${source}: ${rows.where(i)}, column '${column}': ${problem}`);
    };
    const number = (column: string, required: boolean): number => {
      const v = rows.cell(i, column);
      if (typeof v === 'string') fail(column, `'${v}' is not a number`);
      if (v === null || Number.isNaN(v)) return required ? fail(column, 'no value') : NaN;
      return v as number;
    };
    const ra = number(columns.ra, true);
    const dec = number(columns.dec, true);
    if (!Number.isFinite(ra)) fail(columns.ra, `RA ${ra} is not a finite number of degrees`);
    if (!(dec >= -90 && dec <= 90)) fail(columns.dec, `Dec ${dec} is outside [-90, 90] degrees`);
    const mag: Record<string, number> = {};
    const magErr: Record<string, number> = {};
    for (const b of bands) {
      mag[b] = number(columns.mag[b]!, false);
      if (Math.abs(mag[b]) === Infinity) fail(columns.mag[b]!, `magnitude ${mag[b]} is not finite`);
      const errColumn = columns.magErr?.[b];
      if (errColumn !== undefined) magErr[b] = number(errColumn, false);
    }
    const r = ra % 360;
    stars.push({ row: i + 1, ra: r < 0 ? r + 360 : r, dec, mag, magErr });
  }
  if (stars.length === 0) throw new RepositoryError(`${source}: the table has no rows`);
  return stars;
}

/** Stars grouped by shard id (ascending), each group in input order. */
export function shardStars(stars: readonly RefStar[]): Map<number, RefStar[]> {
  const byShard = new Map<number, RefStar[]>();
  for (const s of stars) {
    const id = shardIdAt(s.ra, s.dec);
    let list = byShard.get(id);
    if (!list) byShard.set(id, (list = []));
    list.push(s);
  }
  return new Map([...byShard].sort((a, b) => a[0] - b[0]));
}

/** The FITS bytes of one shard (see the module comment). */
export function writeRefcatShard(id: number, stars: readonly RefStar[], columns: RefcatColumns, meta: { name: string; source: string }): Uint8Array {
  const out: { name: string; values: Int32Array | Float64Array; unit?: string }[] = [
    { name: 'id', values: Int32Array.from(stars, (s) => s.row) },
    { name: 'ra', values: Float64Array.from(stars, (s) => s.ra), unit: 'deg' },
    { name: 'dec', values: Float64Array.from(stars, (s) => s.dec), unit: 'deg' },
  ];
  for (const b of Object.keys(columns.mag)) {
    out.push({ name: `${b}_ref`, values: Float64Array.from(stars, (s) => s.mag[b]!), unit: 'mag' });
    if (columns.magErr?.[b] !== undefined) out.push({ name: `${b}_ref_err`, values: Float64Array.from(stars, (s) => s.magErr[b]!), unit: 'mag' });
  }
  const header = new FitsHeader();
  header.set('SHARDID', id, 'shard id = dec band * 10000 + RA cell');
  header.set('SHARDDEG', REFERENCE_DEFAULTS.shardSizeDeg, 'shard size (deg)', { real: true });
  header.set('REFNAME', meta.name, 'reference catalogue name');
  header.set('REFSRC', meta.source, 'table(s) the stars were read from');
  return writeFits([{ kind: 'table', table: { nrows: stars.length, columns: out, extname: REFCAT_TABLE }, header }], { name: referenceShardFileName(id) });
}

export interface RefcatIngestReport extends IngestReport {
  readonly run: string;
  readonly stars: number;
  /** Shard id -> star count. */
  readonly shards: ReadonlyMap<number, number>;
}

/**
 * Reads, shards and ingests a reference table, or several that together make one catalogue (chunks of
 * Gaia, say, whose stars share shards): every table is read and checked before anything is written.
 */
export async function ingestRefcat(repository: Repository, sources: string | readonly string[], columns: RefcatColumns, options: { name?: string } = {}): Promise<RefcatIngestReport> {
  if (options.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(options.name)) throw new RepositoryError(`reference catalogue name '${options.name}' must be letters, digits, '_', '.' or '-'`);
  const files = (typeof sources === 'string' ? [sources] : sources).map((s) => path.resolve(s));
  if (files.length === 0) throw new RepositoryError('no reference table to ingest');
  // Ids are 1-based rows of the tables taken one after another.
  let offset = 0;
  const stars = files.flatMap((file) => {
    const read = readReferenceTable(file, columns);
    const rows = read.reduce((m, s) => Math.max(m, s.row), 0);
    const shifted = read.map((s) => ({ ...s, row: s.row + offset }));
    offset += rows;
    return shifted;
  });
  const shards = shardStars(stars);
  const file = files.map((f) => path.basename(f)).join(',');
  const run = refcatRun(options.name);
  const report = await withScratchDir('refcat', async (dir) => {
    const files = [...shards].map(([id, list]) => {
      const target = path.join(dir, referenceShardFileName(id));
      fs.writeFileSync(target, writeRefcatShard(id, list, columns, { name: options.name ?? 'refcats', source: file }));
      return { datasetType: 'refCat', run, dataId: { htm: id }, source: target };
    });
    return repository.ingest({ files, datasetTypes: [INGEST_DATASET_TYPES.refCat!], transfer: 'copy' });
  });
  return { ...report, run, stars: stars.length, shards: new Map([...shards].map(([id, list]) => [id, list.length])) };
}
