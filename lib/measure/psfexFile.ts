/**
 * PSFEx `.psf` files: reading and writing lib/measure/psfModel.ts's PsfexModel in the layout PSFEx writes
 * (psfex/src/psf.c psf_save) and GalSim's galsim.des.DES_PSFEx and LSST's meas_extensions_psfex read:
 * an empty primary HDU, then a BINTABLE named PSF_DATA with one row and one column PSF_MASK of
 * PSFAXIS1 x PSFAXIS2 x PSFAXIS3 floats (TFORM 'nE', TDIM '(w, h, nterms)'), described by the keywords
 *   LOADED, ACCEPTED   stars loaded and accepted by the fit
 *   CHI2               final reduced chi^2
 *   POLNAXIS           number of context parameters (2 here)
 *   POLGRPi, POLNAMEi, POLZEROi, POLSCALi   group, name (X_IMAGE / Y_IMAGE), offset, scale of each
 *   POLNGRP, POLDEGj   number of context groups (1 here) and each group's polynomial degree
 *   PSF_FWHM, PSF_SAMP FWHM (pixels) and sampling step (image pixels per sample)
 *   PSFNAXIS, PSFAXISk the cube's dimensionality (3) and sizes.
 * Reading accepts what DES_PSFEx accepts (POLNAXIS 2, POLNGRP 1, both parameters in group 1, names
 * X*_IMAGE / Y*_IMAGE, PSFNAXIS 3, PSFAXIS3 = (d+1)(d+2)/2) and names the file and keyword in a
 * FitsError for anything else. Writing is deterministic; header reals are written in their shortest
 * round-trip form, so write -> read reproduces the model exactly (PSF_MASK is float32 in both).
 */
import { FitsError } from '../fits/errors.js';
import { FitsHeader } from '../fits/header.js';
import { readFitsBytes } from '../fits/file.js';
import { writeFits, type TableHduSpec } from '../fits/writer.js';
import { findColumn, type BinTable } from '../fits/bintable.js';
import { PsfexModel, polynomialTermCount, type PsfexModelData } from './psfModel.js';

/** The extension name PSFEx gives its model table. */
export const PSFEX_EXTNAME = 'PSF_DATA';

/** Reads a PSFEx model from the bytes of a `.psf` file (gzip allowed). `name` names the file in errors. */
export function readPsfexFile(bytes: Uint8Array, name = 'PSFEx file'): PsfexModel {
  const file = readFitsBytes(name, bytes);
  let index = file.indexOf(PSFEX_EXTNAME);
  if (index < 0) index = file.hdus.findIndex((h) => h.type === 'BINTABLE' && h.header.has('POLNAXIS'));
  if (index < 0) throw new FitsError(name, undefined, `no ${PSFEX_EXTNAME} binary table: not a PSFEx model`);
  const hdu = file.hdu(index);
  if (hdu.type !== 'BINTABLE') throw new FitsError(name, index, `${PSFEX_EXTNAME} is a ${hdu.xtension} HDU, expected BINTABLE`);
  return psfexModelFromTable(hdu.header, file.readTable(index), name, index);
}

/** A model from a PSF_DATA header and its decoded table (`name`, `index` for errors). */
export function psfexModelFromTable(header: FitsHeader, table: BinTable, name: string, index: number): PsfexModel {
  const fail = (problem: string): never => { throw new FitsError(name, index, problem); };
  const int = (key: string): number => {
    const v = header.getNumber(key);
    if (v === undefined || !Number.isInteger(v)) return fail(v === undefined ? `missing ${key}` : `${key} = ${v} is not an integer`);
    return v;
  };
  const real = (key: string): number => {
    const v = header.getNumber(key);
    if (v === undefined || !Number.isFinite(v)) return fail(`missing or non-numeric ${key}`);
    return v;
  };
  const polNaxis = int('POLNAXIS');
  if (polNaxis !== 2) fail(`POLNAXIS = ${polNaxis}: only 2 context parameters (x, y) are supported`);
  const polNgrp = int('POLNGRP');
  if (polNgrp !== 1) fail(`POLNGRP = ${polNgrp}: only one context group is supported`);
  for (const k of [1, 2]) if (int(`POLGRP${k}`) !== 1) fail(`POLGRP${k} = ${int(`POLGRP${k}`)}: both context parameters must be in group 1`);
  const name1 = (header.getString('POLNAME1') ?? '').trim();
  const name2 = (header.getString('POLNAME2') ?? '').trim();
  if (!(name1.startsWith('X') && name1.endsWith('IMAGE'))) fail(`POLNAME1 = '${name1}': expected X*_IMAGE`);
  if (!(name2.startsWith('Y') && name2.endsWith('IMAGE'))) fail(`POLNAME2 = '${name2}': expected Y*_IMAGE`);
  const polDeg = int('POLDEG1');
  const psfNaxis = int('PSFNAXIS');
  if (psfNaxis !== 3) fail(`PSFNAXIS = ${psfNaxis}: expected 3`);
  const w = int('PSFAXIS1'), h = int('PSFAXIS2'), nterms = int('PSFAXIS3');
  if (nterms !== polynomialTermCount(polDeg)) fail(`PSFAXIS3 = ${nterms} but POLDEG1 = ${polDeg} needs ${polynomialTermCount(polDeg)} basis images`);
  if (table.nrows < 1) fail('PSF_DATA has no rows');
  const column = findColumn(table, 'PSF_MASK');
  if (!column) return fail('PSF_DATA has no PSF_MASK column');
  const values = column.values;
  if (!(values instanceof Float32Array || values instanceof Float64Array)) return fail(`PSF_MASK has TFORM '${column.tform}', expected floats (E or D)`);
  if (column.repeat !== w * h * nterms) fail(`PSF_MASK holds ${column.repeat} values per row, PSFAXIS1-3 say ${w} x ${h} x ${nterms}`);
  if (column.dims && (column.dims[0] !== w || column.dims[1] !== h || column.dims[2] !== nterms)) {
    fail(`PSF_MASK TDIM (${column.dims.join(', ')}) disagrees with PSFAXIS1-3 (${w}, ${h}, ${nterms})`);
  }
  const basis = Float32Array.from(values.subarray(0, w * h * nterms));
  for (let i = 0; i < basis.length; i++) if (!Number.isFinite(basis[i]!)) fail(`PSF_MASK element ${i} is not finite`);
  const data: PsfexModelData = {
    polNames: [name1, name2],
    polZero: [real('POLZERO1'), real('POLZERO2')],
    polScale: [real('POLSCAL1'), real('POLSCAL2')],
    polDeg,
    sampling: real('PSF_SAMP'),
    width: w, height: h, basis,
  };
  const optional = (key: string): number | undefined => {
    const v = header.getNumber(key);
    return v !== undefined && Number.isFinite(v) ? v : undefined;
  };
  const fwhm = optional('PSF_FWHM'), chi2 = optional('CHI2'), loaded = optional('LOADED'), accepted = optional('ACCEPTED');
  if (fwhm !== undefined) data.fwhm = fwhm;
  if (chi2 !== undefined) data.chi2 = chi2;
  if (loaded !== undefined) data.loaded = loaded;
  if (accepted !== undefined) data.accepted = accepted;
  try {
    return new PsfexModel(data);
  } catch (e) {
    if (e instanceof RangeError) return fail(e.message);
    throw e;
  }
}

/** The keywords of a `.psf` file that legacypipe's merged tables carry as lowercase columns, one row per CCD. */
const MERGED_KEYWORDS = ['LOADED', 'ACCEPTED', 'CHI2', 'POLNAXIS', 'POLGRP1', 'POLNAME1', 'POLZERO1', 'POLSCAL1', 'POLGRP2', 'POLNAME2',
  'POLZERO2', 'POLSCAL2', 'POLNGRP', 'POLDEG1', 'PSF_FWHM', 'PSF_SAMP', 'PSFNAXIS', 'PSFAXIS1', 'PSFAXIS2', 'PSFAXIS3'];

/**
 * The models of a merged PSFEx table as legacypipe writes it (`calib/psfex/...-psfex.fits`: one row per
 * CCD, the `.psf` keywords as lowercase columns beside `psf_mask`, `expnum` and `ccdname`): each row read
 * as the `.psf` file it came from (psfexModelFromTable, the same checks), keyed by exposure and CCD name.
 */
export function readMergedPsfexTable(bytes: Uint8Array, name: string): { exposure: number; ccdName: string; model: PsfexModel }[] {
  const file = readFitsBytes(name, bytes);
  const index = file.hdus.findIndex((h) => h.type === 'BINTABLE');
  if (index < 0) throw new FitsError(name, undefined, 'no binary table: not a merged PSFEx table');
  const table = file.readTable(index);
  const column = (key: string) => findColumn(table, key.toLowerCase()) ?? (() => { throw new FitsError(name, index, `no column '${key.toLowerCase()}': not a merged PSFEx table`); })();
  const expnum = column('EXPNUM'), ccdname = column('CCDNAME'), mask = column('PSF_MASK');
  const out: { exposure: number; ccdName: string; model: PsfexModel }[] = [];
  for (let row = 0; row < table.nrows; row++) {
    const header = new FitsHeader();
    for (const key of MERGED_KEYWORDS) {
      const c = findColumn(table, key.toLowerCase());
      if (!c) continue;
      const v = (c.values as ArrayLike<unknown>)[row * c.repeat];
      if (typeof v === 'string') header.set(key, v.trim());
      else if (typeof v === 'number' || typeof v === 'bigint') header.set(key, Number(v), undefined, { real: !Number.isInteger(Number(v)) || key.startsWith('POLZERO') || key.startsWith('POLSCAL') });
    }
    const rowMask = { ...mask, values: (mask.values as Float32Array | Float64Array).subarray(row * mask.repeat, (row + 1) * mask.repeat) };
    const model = psfexModelFromTable(header, { ...table, nrows: 1, columns: [rowMask] }, `${name} row ${row + 1}`, index);
    out.push({ exposure: Number((expnum.values as ArrayLike<number | bigint>)[row]), ccdName: String((ccdname.values as string[])[row]).trim(), model });
  }
  return out;
}

/** The PSF_DATA header cards for a model, in PSFEx's order. */
export function psfexHeaderCards(model: PsfexModel): FitsHeader {
  const h = new FitsHeader();
  h.set('LOADED', model.loaded ?? 0, 'Number of loaded sources');
  h.set('ACCEPTED', model.accepted ?? 0, 'Number of accepted sources');
  h.set('CHI2', model.chi2 ?? 0, 'Final Chi2', { real: true });
  h.set('POLNAXIS', 2, 'Number of context parameters');
  for (const k of [0, 1] as const) {
    h.set(`POLGRP${k + 1}`, 1, 'Polynom group for this context parameter');
    h.set(`POLNAME${k + 1}`, model.polNames[k], 'Name of this context parameter');
    h.set(`POLZERO${k + 1}`, model.polZero[k], 'Offset value for this context parameter', { real: true });
    h.set(`POLSCAL${k + 1}`, model.polScale[k], 'Scale value for this context parameter', { real: true });
  }
  h.set('POLNGRP', 1, 'Number of context groups');
  h.set('POLDEG1', model.polDeg, 'Polynom degree for this context group');
  h.set('PSF_FWHM', model.fwhm ?? 0, 'PSF FWHM', { real: true });
  h.set('PSF_SAMP', model.sampling, 'Sampling step of the PSF data', { real: true });
  h.set('PSFNAXIS', 3, 'Dimensionality of the PSF data');
  h.set('PSFAXIS1', model.width, 'Number of element along this axis');
  h.set('PSFAXIS2', model.height, 'Number of element along this axis');
  h.set('PSFAXIS3', model.nterms, 'Number of element along this axis');
  return h;
}

/** The PSF_DATA binary-table HDU of a model (for a `.psf` file, or a component of a calexp), EXTNAME `extname`. */
export function psfexTableHdu(model: PsfexModel, extname = PSFEX_EXTNAME): TableHduSpec {
  const n = model.width * model.height * model.nterms;
  return {
    kind: 'table',
    table: {
      nrows: 1,
      extname,
      columns: [{ name: 'PSF_MASK', tform: `${n}E`, dims: [model.width, model.height, model.nterms], values: Float32Array.from(model.basis) }],
    },
    header: psfexHeaderCards(model),
  };
}

/** Serialises a model as a PSFEx `.psf` file (FITS bytes). */
export function writePsfexFile(model: PsfexModel, options: { checksum?: boolean; name?: string } = {}): Uint8Array {
  return writeFits([psfexTableHdu(model)], { checksum: options.checksum ?? false, name: options.name ?? 'PSFEx file' });
}
