/**
 * A set of footprints with their peaks on one image box, and its file (LSST's deepCoadd_det and
 * deepCoadd_mergeDet are SourceCatalogs whose records carry footprints; here the footprints are the
 * dataset): a FITS file with an empty primary HDU and two binary tables that astropy reads directly,
 * - SPANS: id (1-based footprint number), y, x0, x1 (inclusive), one row per span;
 * - PEAKS: id, x, y (pixel), fx, fy (sub-pixel), value, significance, then one logical column per peak
 *   flag (e.g. merge_peak_<band>: the bands a merged peak was detected in), one row per peak.
 * Coordinates on disk are parent-frame (tract) pixels, as afw's footprints are; in memory they are
 * 0-based pixels of the box (x0, y0, width, height), which the SPANS header records (X0, Y0, NX, NY).
 */
import { readFitsBytes } from '../fits/file.js';
import { writeFits } from '../fits/writer.js';
import { FitsHeader } from '../fits/header.js';
import type { Footprint, Peak, Span } from './footprint.js';

export interface FootprintSet {
  footprints: Footprint[];
  /** Parent-frame position of the box's pixel (0, 0), and its size. */
  x0: number;
  y0: number;
  width: number;
  height: number;
  /** Per flag name, one value per peak in footprint order, then peak order. */
  peakFlags?: Record<string, boolean[]>;
  metadata?: FitsHeader;
}

export class FootprintSetError extends Error {
  override readonly name = 'FootprintSetError';
}

export function writeFootprintSet(set: FootprintSet, name = 'footprints'): Uint8Array {
  const spans: { id: number; s: Span }[] = [], peaks: { id: number; p: Peak }[] = [];
  set.footprints.forEach((fp, k) => {
    for (const s of fp.spans) spans.push({ id: k + 1, s });
    for (const p of fp.peaks) peaks.push({ id: k + 1, p });
  });
  const flags = Object.entries(set.peakFlags ?? {});
  for (const [flag, values] of flags) if (values.length !== peaks.length) throw new FootprintSetError(`${name}: peak flag ${flag} has ${values.length} values for ${peaks.length} peaks`);
  const spanHeader = (set.metadata ?? new FitsHeader()).clone();
  spanHeader.set('X0', set.x0, 'parent-frame x of the box origin').set('Y0', set.y0, 'parent-frame y of the box origin');
  spanHeader.set('NX', set.width, 'box width, pixels').set('NY', set.height, 'box height, pixels');
  spanHeader.set('NFOOTPR', set.footprints.length, 'footprints');
  const int = (values: number[]): Int32Array => Int32Array.from(values);
  const real = (values: number[]): Float64Array => Float64Array.from(values);
  return writeFits([
    { header: new FitsHeader() },
    {
      kind: 'table', header: spanHeader,
      table: {
        nrows: spans.length, extname: 'SPANS',
        columns: [
          { name: 'id', values: int(spans.map((r) => r.id)) },
          { name: 'y', unit: 'pix', values: int(spans.map((r) => r.s.y + set.y0)) },
          { name: 'x0', unit: 'pix', values: int(spans.map((r) => r.s.x0 + set.x0)) },
          { name: 'x1', unit: 'pix', values: int(spans.map((r) => r.s.x1 + set.x0)) },
        ],
      },
    },
    {
      kind: 'table',
      table: {
        nrows: peaks.length, extname: 'PEAKS',
        columns: [
          { name: 'id', values: int(peaks.map((r) => r.id)) },
          { name: 'x', unit: 'pix', values: int(peaks.map((r) => r.p.x + set.x0)) },
          { name: 'y', unit: 'pix', values: int(peaks.map((r) => r.p.y + set.y0)) },
          { name: 'fx', unit: 'pix', values: real(peaks.map((r) => r.p.fx + set.x0)) },
          { name: 'fy', unit: 'pix', values: real(peaks.map((r) => r.p.fy + set.y0)) },
          { name: 'value', values: real(peaks.map((r) => r.p.value)) },
          { name: 'significance', values: real(peaks.map((r) => r.p.significance)) },
          ...flags.map(([flag, values]) => ({ name: flag, tform: 'L', values })),
        ],
      },
    },
  ], { checksum: true, name });
}

export function readFootprintSet(bytes: Uint8Array, name: string): FootprintSet {
  const file = readFitsBytes(name, bytes);
  const find = (extname: string): number => {
    const hdu = file.hdus.find((h) => h.extname?.trim().toUpperCase() === extname);
    if (!hdu) throw new FootprintSetError(`${name}: no ${extname} binary table (a footprint set has SPANS and PEAKS)`);
    return hdu.index;
  };
  const spanIndex = find('SPANS'), peakIndex = find('PEAKS');
  const header = file.hdu(spanIndex).header;
  const card = (key: string): number => {
    const v = header.getNumber(key);
    if (v === undefined) throw new FootprintSetError(`${name}: SPANS header has no ${key}`);
    return v;
  };
  const x0 = card('X0'), y0 = card('Y0'), width = card('NX'), height = card('NY'), n = card('NFOOTPR');
  const spansTable = file.readTable(spanIndex), peaksTable = file.readTable(peakIndex);
  const column = (table: typeof spansTable, col: string): ArrayLike<number> => {
    const c = table.columns.find((t) => t.name === col);
    if (!c || !ArrayBuffer.isView(c.values)) throw new FootprintSetError(`${name}: ${table === spansTable ? 'SPANS' : 'PEAKS'} has no numeric column ${col}`);
    return c.values as unknown as ArrayLike<number>;
  };
  const spans: Span[][] = Array.from({ length: n }, () => []), peaks: Peak[][] = Array.from({ length: n }, () => []);
  const idOf = (id: number, table: string, row: number): number => {
    if (!(Number.isInteger(id) && id >= 1 && id <= n)) throw new FootprintSetError(`${name}: ${table} row ${row} has footprint id ${id}, outside 1..${n}`);
    return id - 1;
  };
  const sid = column(spansTable, 'id'), sy = column(spansTable, 'y'), sx0 = column(spansTable, 'x0'), sx1 = column(spansTable, 'x1');
  for (let r = 0; r < spansTable.nrows; r++) spans[idOf(sid[r]!, 'SPANS', r)]!.push({ y: sy[r]! - y0, x0: sx0[r]! - x0, x1: sx1[r]! - x0 });
  const pid = column(peaksTable, 'id'), px = column(peaksTable, 'x'), py = column(peaksTable, 'y'), pfx = column(peaksTable, 'fx'), pfy = column(peaksTable, 'fy');
  const pv = column(peaksTable, 'value'), ps = column(peaksTable, 'significance');
  for (let r = 0; r < peaksTable.nrows; r++) {
    peaks[idOf(pid[r]!, 'PEAKS', r)]!.push({ x: px[r]! - x0, y: py[r]! - y0, fx: pfx[r]! - x0, fy: pfy[r]! - y0, value: pv[r]!, significance: ps[r]! });
  }
  const peakFlags: Record<string, boolean[]> = {};
  for (const c of peaksTable.columns) if (c.code === 'L') peakFlags[c.name] = (c.values as (boolean | null)[]).map((b) => b === true);
  const metadata = header.clone();
  // Footprints keep their stored order of spans and peaks (written sorted).
  return { footprints: spans.map((s, k) => ({ spans: s, peaks: peaks[k]! })), x0, y0, width, height, peakFlags, metadata };
}
