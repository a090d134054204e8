/**
 * A coadd's CoaddPsf (lib/coadd/coaddPsf.ts) as FITS extensions of the coadd's file, beside the PSF_DATA
 * extension that holds its node-grid fit (so any PSFEx reader still finds one model):
 * - COADD_INPUTS: one row per input, columns `visit` and `weight` (the visit's coadd weight, 1/nJy^2);
 * - COADD_INPUT_PSF_<k>: input k's warped PSF in PSFEx's PSF_DATA layout (lib/measure/psfexFile.ts);
 * - COADD_INPUT_SPANS: input k's pixels with data, columns `input` (k), `y`, `x0`, `x1` (inclusive), in
 *   tract pixels (the image's X0/Y0 added, as the coadd's other span tables), sorted by input, row, x.
 */
import { FitsError } from '../fits/errors.js';
import { FitsHeader } from '../fits/header.js';
import { findColumn } from '../fits/bintable.js';
import type { FitsBytes } from '../fits/file.js';
import type { TableHduSpec } from '../fits/writer.js';
import { psfexModelFromTable, psfexTableHdu } from '../measure/psfexFile.js';
import type { PsfexModel } from '../measure/psfModel.js';
import { CoaddPsf, coverageFromSpans } from './coaddPsf.js';

export const COADD_INPUTS_EXTNAME = 'COADD_INPUTS';
export const COADD_INPUT_SPANS_EXTNAME = 'COADD_INPUT_SPANS';
const inputPsfExtname = (k: number): string => `COADD_INPUT_PSF_${k}`;

/** The extensions that hold `psf`'s inputs; (x0, y0) is the image's origin in tract pixels. */
export function coaddPsfHdus(psf: CoaddPsf, x0: number, y0: number): TableHduSpec[] {
  const ys: number[] = [], starts: number[] = [], ends: number[] = [], owner: number[] = [];
  psf.inputs.forEach(({ coverage }, k) => {
    for (let y = 0; y < coverage.height; y++) {
      for (let s = coverage.rowStart[y]!; s < coverage.rowStart[y + 1]!; s++) {
        owner.push(k); ys.push(y + y0); starts.push(coverage.x0[s]! + x0); ends.push(coverage.x1[s]! + x0);
      }
    }
  });
  const inputsHeader = new FitsHeader();
  inputsHeader.set('NINPUTS', psf.inputs.length, 'inputs whose weighted PSFs make the coadd PSF');
  const spansHeader = new FitsHeader();
  spansHeader.set('X0', x0, 'tract x of the image origin').set('Y0', y0, 'tract y of the image origin');
  spansHeader.set('NY', psf.inputs[0]?.coverage.height ?? 0, 'image height, pixels');
  return [
    {
      kind: 'table', header: inputsHeader,
      table: { nrows: psf.inputs.length, extname: COADD_INPUTS_EXTNAME, columns: [
        { name: 'visit', values: Int32Array.from(psf.inputs, (input) => input.visit) },
        { name: 'weight', unit: 'nJy-2', values: Float64Array.from(psf.inputs, (input) => input.weight) },
      ] },
    },
    ...psf.inputs.map((input, k) => psfexTableHdu(input.psf, inputPsfExtname(k))),
    {
      kind: 'table', header: spansHeader,
      table: { nrows: ys.length, extname: COADD_INPUT_SPANS_EXTNAME, columns: [
        { name: 'input', values: Int32Array.from(owner) },
        { name: 'y', unit: 'pix', values: Int32Array.from(ys) },
        { name: 'x0', unit: 'pix', values: Int32Array.from(starts) },
        { name: 'x1', unit: 'pix', values: Int32Array.from(ends) },
      ] },
    },
  ];
}

/** The CoaddPsf of a coadd file whose node-grid fit is `grid`; undefined when the file has no COADD_INPUTS. */
export function readCoaddPsf(file: FitsBytes, grid: PsfexModel, name: string): CoaddPsf | undefined {
  const inputsIndex = file.indexOf(COADD_INPUTS_EXTNAME);
  if (inputsIndex < 0) return undefined;
  const spansIndex = file.indexOf(COADD_INPUT_SPANS_EXTNAME);
  if (spansIndex < 0) throw new FitsError(name, inputsIndex, `${COADD_INPUTS_EXTNAME} without ${COADD_INPUT_SPANS_EXTNAME}`);
  const inputs = file.readTable(inputsIndex), spans = file.readTable(spansIndex);
  const column = (table: typeof inputs, index: number, col: string): ArrayLike<number> => {
    const c = findColumn(table, col);
    if (!c || !ArrayBuffer.isView(c.values)) throw new FitsError(name, index, `no numeric column ${col}`);
    return c.values as unknown as ArrayLike<number>;
  };
  const visit = column(inputs, inputsIndex, 'visit'), weight = column(inputs, inputsIndex, 'weight');
  const header = file.hdu(spansIndex).header;
  const [x0, y0, height] = ['X0', 'Y0', 'NY'].map((key) => {
    const v = header.getNumber(key);
    if (v === undefined || !Number.isInteger(v)) throw new FitsError(name, spansIndex, `missing or non-integer ${key}`);
    return v;
  }) as [number, number, number];
  const owner = column(spans, spansIndex, 'input'), sy = column(spans, spansIndex, 'y'), sx0 = column(spans, spansIndex, 'x0'), sx1 = column(spans, spansIndex, 'x1');
  const models = Array.from({ length: inputs.nrows }, (_, k) => {
    const index = file.indexOf(inputPsfExtname(k));
    if (index < 0) throw new FitsError(name, inputsIndex, `input ${k} (visit ${visit[k]}) has no ${inputPsfExtname(k)} extension`);
    return psfexModelFromTable(file.hdu(index).header, file.readTable(index), name, index);
  });
  try {
    return new CoaddPsf(grid, models.map((psf, k) => {
      const ys: number[] = [], starts: number[] = [], ends: number[] = [];
      for (let r = 0; r < spans.nrows; r++) {
        if (owner[r] !== k) continue;
        ys.push(sy[r]! - y0); starts.push(sx0[r]! - x0); ends.push(sx1[r]! - x0);
      }
      return { visit: visit[k]!, weight: weight[k]!, psf, coverage: coverageFromSpans(height, ys, starts, ends) };
    }));
  } catch (err) {
    if (err instanceof RangeError) throw new FitsError(name, spansIndex, err.message);
    throw err;
  }
}
