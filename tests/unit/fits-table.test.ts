/**
 * Binary tables (lib/fits/bintable.ts, tform.ts) against astropy: real tables (Gaia DR2 chunks,
 * PSFEx models with a 3-D TDIM column, legacypipe sky splines, survey-ccds from a .gz, LSST afw
 * archive tables) must read to exactly the values astropy reads (floats compared through repr, so
 * bit for bit); tables we write with every TFORM type must read back in astropy with the same
 * values, units, dimensions and null/scaling keywords, and astropy-written P/Q tables must read here.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'fflate';
import { FitsHeader } from '../../lib/fits/header.js';
import { FitsError } from '../../lib/fits/errors.js';
import { findColumn, readBinTable, writeBinTable } from '../../lib/fits/bintable.js';
import type { BinTable, BinTableColumn, BinTableSpec, Logical, NumericArray } from '../../lib/fits/bintable.js';
import { parseTdim, parseTform, TformError } from '../../lib/fits/tform.js';
import { writeFits } from '../../lib/fits/writer.js';
import { realFile, testOutputDir } from '../helpers/paths.js';
import { runPythonJson } from '../helpers/python.js';

// ---------------------------------------------------------------------------------------------
// Local helpers: walk HDUs, pad, and write a minimal file (primary header + one table).

interface Hdu { header: FitsHeader; data: Uint8Array; index: number }

function listHdus(bytes: Uint8Array, source: string): Hdu[] {
  const out: Hdu[] = [];
  let pos = 0;
  while (pos + 2880 <= bytes.length) {
    const { header, byteLength } = FitsHeader.parse(bytes, pos, source, out.length);
    const naxis = header.getNumber('NAXIS') ?? 0;
    let n = naxis > 0 ? 1 : 0;
    for (let i = 1; i <= naxis; i++) n *= header.getNumber(`NAXIS${i}`)!;
    const len = (Math.abs(header.getNumber('BITPIX')!) / 8) * (header.getNumber('GCOUNT') ?? 1) * ((header.getNumber('PCOUNT') ?? 0) + n);
    const start = pos + byteLength;
    out.push({ header, data: bytes.subarray(start, start + len), index: out.length });
    pos = start + Math.ceil(len / 2880) * 2880;
  }
  return out;
}

function tableHdus(bytes: Uint8Array, source: string): Hdu[] {
  return listHdus(bytes, source).filter((h) => h.header.getString('XTENSION') === 'BINTABLE');
}

function pad(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.length / 2880) * 2880);
  out.set(bytes);
  return out;
}

/** An empty primary HDU and one binary table, through the file layer's writer. */
function writeTableFile(file: string, spec: BinTableSpec): void {
  fs.writeFileSync(file, writeFits([{ kind: 'table', table: spec }], { name: file }));
}

// ---------------------------------------------------------------------------------------------
// astropy's view of a table: every column's keywords and values, floats as repr strings.

type PyValue = string | boolean;
interface PyColumn {
  name: string; format: string; unit: string | null; dim: string | null; null: string | null;
  bscale: string | null; bzero: string | null; variable: boolean;
  values: PyValue[] | PyValue[][];
}

const DUMP_SCRIPT = `
import sys, json, warnings
import numpy as np
from astropy.io import fits
warnings.simplefilter('ignore')

def enc(x, out):
    if isinstance(x, (bool, np.bool_)):
        out.append(bool(x))
    elif isinstance(x, (np.integer, int)):
        out.append(str(int(x)))
    elif isinstance(x, (np.complexfloating, complex)):
        out.append(repr(float(x.real))); out.append(repr(float(x.imag)))
    elif isinstance(x, (np.floating, float)):
        out.append(repr(float(x)))
    elif isinstance(x, (bytes, np.bytes_)):
        out.append(x.decode('latin1').rstrip(' '))
    elif isinstance(x, str):
        out.append(x.rstrip(' '))
    else:
        raise TypeError(type(x))

def flat(a):
    out = []
    if isinstance(a, (str, bytes)):
        enc(a, out)
        return out
    for x in np.asarray(a).ravel():
        enc(x, out)
    return out

f, index = sys.argv[1], int(sys.argv[2])
raw = open(f, 'rb').read()
if f.endswith('.gz'):
    import gzip, io
    raw = gzip.decompress(raw)
import io
with fits.open(io.BytesIO(raw)) as h:
    hdu = h[index]
    cols = []
    for i, c in enumerate(hdu.columns):
        d = hdu.data.field(i)
        variable = c.format.startswith(('P', 'Q')) or c.format[1:2] in ('P', 'Q')
        if variable and 'A' in c.format:
            # astropy returns a variable-length string as an array of single characters
            values = [[''.join(str(ch) for ch in np.asarray(row).ravel()).rstrip(' ')] for row in d]
        elif variable:
            values = [flat(row) for row in d]
        else:
            values = flat(d)
        s = lambda v: None if v is None or v == '' else str(v)
        cols.append(dict(name=c.name, format=str(c.format), unit=s(c.unit), dim=s(c.dim), null=s(c.null),
                         bscale=s(c.bscale), bzero=s(c.bzero), variable=variable, values=values))
    print(json.dumps(dict(nrows=len(hdu.data), columns=cols)))
`;

function astropyTable(file: string, index: number): { nrows: number; columns: PyColumn[] } {
  return runPythonJson(DUMP_SCRIPT, [file, String(index)]);
}

/** Our column values flattened the way the Python dump flattens astropy's. */
function flatten(values: ArrayLike<unknown> | string | Logical[]): PyValue[] {
  if (typeof values === 'string') return [values];
  const out: PyValue[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'boolean') out.push(v);
    else if (v === null) out.push(false); // astropy reads an undefined logical as False
    else if (typeof v === 'bigint') out.push(v.toString());
    else if (typeof v === 'string') out.push(v);
    else out.push(Object.is(v, -0) ? '-0' : String(v));
  }
  return out;
}

function pyNumber(s: string): number {
  if (s === 'nan') return NaN;
  if (s === 'inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(s);
}

/** Compares one column element by element; floats must be the same double (NaN equal to NaN). */
function compareValues(ours: PyValue[], theirs: PyValue[], isFloat: boolean, nullIsNaN: boolean, where: string): number {
  expect(ours.length, `${where}: element count`).toBe(theirs.length);
  let compared = 0;
  for (let i = 0; i < ours.length; i++) {
    const a = ours[i]!;
    const b = theirs[i]!;
    if (isFloat) {
      const x = Number(a);
      const y = pyNumber(b as string);
      if (nullIsNaN && Number.isNaN(x)) continue; // our TNULL→NaN; astropy scales the raw null value
      if (!(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)))) {
        expect.fail(`${where}[${i}]: ours ${a} vs astropy ${b}`);
      }
    } else if (typeof b === 'boolean') {
      expect(a === 'true' || a === true || (a !== 'false' && a !== false && a !== '0' && Number(a) !== 0), `${where}[${i}]`).toBe(b);
    } else if (a !== b) {
      // astropy returns some integer columns as floats (e.g. B with TZERO = -128): compare numerically.
      const numeric = /^-?\d+$/.test(String(a)) && /^-?\d+\.0$/.test(String(b)) && Number(a) === Number(b) && Number.isSafeInteger(Number(a));
      if (!numeric) expect.fail(`${where}[${i}]: ours ${JSON.stringify(a)} vs astropy ${JSON.stringify(b)}`);
    }
    compared++;
  }
  return compared;
}

function isFloatColumn(c: BinTableColumn): boolean {
  return ['E', 'D', 'C', 'M'].includes(c.code) || (c.values as unknown[])[0] instanceof Float64Array || c.values instanceof Float64Array || (c.variable !== undefined && c.tscal !== undefined);
}

/** Every column of our table equals astropy's: values, names, units, dims, TNULL/TSCAL/TZERO. */
function compareWithAstropy(ours: BinTable, theirs: { nrows: number; columns: PyColumn[] }, label: string): number {
  expect(ours.nrows).toBe(theirs.nrows);
  expect(ours.columns.map((c) => c.name)).toEqual(theirs.columns.map((c) => c.name));
  let compared = 0;
  ours.columns.forEach((c, k) => {
    const py = theirs.columns[k]!;
    const where = `${label} ${c.name}`;
    expect(c.unit ?? null, `${where} unit`).toBe(py.unit);
    expect(c.dims ? `(${c.dims.join(',')})` : null, `${where} dim`).toBe(py.dim === null ? null : py.dim.replace(/\s/g, ''));
    expect(c.tnull === undefined ? null : String(c.tnull), `${where} null`).toBe(py.null);
    if (py.bzero !== null) expect(Number(c.tzero), `${where} bzero`).toBe(Number(py.bzero));
    if (py.bscale !== null) expect(c.tscal ?? 1, `${where} bscale`).toBe(Number(py.bscale));
    const float = isFloatColumn(c);
    const nullIsNaN = typeof c.nullValue === 'number' && Number.isNaN(c.nullValue);
    if (py.variable) {
      expect(c.variable, `${where} variable`).toBeDefined();
      const rows = c.values as Array<NumericArray | string | Logical[]>;
      expect(rows.length).toBe(py.values.length);
      // astropy reads variable-length logicals (PL) as their raw bytes: 'T' = 84, 'F' = 70, undefined = 0.
      const asBytes = (row: Logical[]) => row.map((v) => (v === true ? '84' : v === false ? '70' : '0'));
      rows.forEach((row, r) => {
        const mine = c.code === 'L' ? asBytes(row as Logical[]) : flatten(row);
        compared += compareValues(mine, (py.values as PyValue[][])[r]!, float, nullIsNaN, `${where} row ${r}`);
      });
    } else {
      compared += compareValues(flatten(c.values as ArrayLike<unknown>), py.values as PyValue[], float, nullIsNaN, where);
    }
  });
  return compared;
}

function readFirstTable(file: string, bytes?: Uint8Array): { table: BinTable; hdu: Hdu } {
  const data = bytes ?? new Uint8Array(fs.readFileSync(file));
  const hdu = tableHdus(data, file)[0]!;
  return { table: readBinTable(hdu.header, hdu.data, file, hdu.index), hdu };
}

// ---------------------------------------------------------------------------------------------

describe('TFORM and TDIM parsing', () => {
  it('parses repeat, type, descriptors and widths as FITS 4.0 Table 18 defines them', () => {
    expect(parseTform('3750E')).toMatchObject({ repeat: 3750, code: 'E', width: 15000 });
    expect(parseTform('1PB(210)')).toMatchObject({ repeat: 1, code: 'B', variable: 'P', maxLength: 210, width: 8 });
    expect(parseTform('1QD')).toMatchObject({ code: 'D', variable: 'Q', width: 16 });
    expect(parseTform('11X')).toMatchObject({ repeat: 11, width: 2 });
    expect(parseTform('J')).toMatchObject({ repeat: 1, width: 4 });
    expect(parseTform('0E').width).toBe(0);
    expect(parseTform('2M').width).toBe(32);
    expect(parseTform('20A4')).toMatchObject({ repeat: 20, code: 'A', substringWidth: 4 });
    expect(() => parseTform('3Z')).toThrow(TformError);
    expect(() => parseTform('2PJ')).toThrow(/repeat 0 or 1/);
    expect(() => parseTform('1PZ(3)')).toThrow(TformError);
    expect(() => parseTform('E7')).toThrow(/unexpected text/);
    expect(() => parseTform('99999999999E')).toThrow(/absurd/);
    expect(parseTdim('(63,63,6)')).toEqual([63, 63, 6]);
    expect(parseTdim(' ( 9 , 17 ) ')).toEqual([9, 17]);
    expect(() => parseTdim('63,63')).toThrow(TformError);
  });
});

describe('reading real binary tables (compared with astropy value for value)', () => {
  const gaia = ['decam_legacypipe_testcase6/gaia/chunk-03559.fits', 'decam_legacypipe_testcase6/gaia/chunk-03687.fits'];
  for (const rel of gaia) {
    it(`Gaia DR2 ${path.basename(rel)}: all 33 columns, int64 source_id, logicals`, () => {
      const file = realFile(rel);
      const { table, hdu } = readFirstTable(file);
      expect(table.columns.length).toBe(33);
      const n = compareWithAstropy(table, astropyTable(file, hdu.index), rel);
      expect(n).toBe(table.nrows * 33);
      const id = findColumn(table, 'SOURCE_ID')!;
      expect(id.values).toBeInstanceOf(BigInt64Array);
      expect((id.values as BigInt64Array)[0]! > 2n ** 53n).toBe(true);
      const ra = findColumn(table, 'ra')!.values as Float64Array;
      for (const v of ra) expect(v).toBeGreaterThan(110.0);
      expect((findColumn(table, 'duplicated_source')!.values as Logical[]).every((v) => typeof v === 'boolean')).toBe(true);
    });
  }

  it('DES PSFEx .psf: PSF_MASK 3750E with TDIM (25,25,6) and the header it came with', () => {
    const file = realFile('des_psfex_galsim/DECam_00154912_12_psfcat.psf');
    const { table, hdu } = readFirstTable(file);
    const mask = findColumn(table, 'PSF_MASK')!;
    expect(mask.dims).toEqual([25, 25, 6]);
    expect(mask.values).toBeInstanceOf(Float32Array);
    expect(mask.values.length).toBe(3750);
    expect(hdu.header.getNumber('PSF_FWHM')).toBeCloseTo(4.585, 3);
    expect(compareWithAstropy(table, astropyTable(file, hdu.index), 'des psfex')).toBe(3750);
    // The zeroth-order PSF component is a positive, centrally peaked image: its peak is at the centre.
    const comp0 = (mask.values as Float32Array).subarray(0, 625);
    let peak = 0;
    for (let i = 1; i < 625; i++) if (comp0[i]! > comp0[peak]!) peak = i;
    expect([peak % 25, Math.floor(peak / 25)]).toEqual([12, 12]);
  });

  it('legacypipe PSFEx, sky-spline (TDIM 2-D, 9J/17J, B) and survey-ccds (.gz via fflate)', () => {
    const files = [
      'decam_legacypipe_testcase6/calib/psfex/decam/CP/V4.8.2a/CP20171112/c4d_171113_061941_ooi_r_ls9-psfex.fits',
      'decam_legacypipe_testcase6/calib/psfex/decam/CP/V4.8.2a/CP20181214/c4d_181215_045000_ooi_z_ls9-psfex.fits',
      'decam_legacypipe_testcase6/calib/sky-single/decam/CP/V4.8.2a/CP20171112/c4d_171113_061941_ooi_r_ls9/c4d_171113_061941_ooi_r_ls9-S4-splinesky.fits',
      'decam_legacypipe_testcase6/survey-ccds-1.fits.gz',
      'decam_legacypipe_testcase6/survey-bricks.fits.gz',
    ];
    const counts: number[] = [];
    for (const rel of files) {
      const file = realFile(rel);
      let bytes = new Uint8Array(fs.readFileSync(file));
      if (rel.endsWith('.gz')) bytes = gunzipSync(bytes);
      const { table, hdu } = readFirstTable(file, bytes);
      counts.push(compareWithAstropy(table, astropyTable(file, hdu.index), rel));
      if (rel.includes('psfex')) {
        const m = findColumn(table, 'psf_mask')!;
        expect(m.dims).toEqual([63, 63, 6]);
        expect(m.values.length).toBe(table.nrows * 23814);
      }
      if (rel.includes('splinesky')) expect(findColumn(table, 'gridvals')!.dims).toEqual([9, 17]);
      if (rel.includes('survey-ccds')) {
        const zpt = findColumn(table, 'zpt')!.values as Float32Array;
        const expnum = findColumn(table, 'expnum')!.values as BigInt64Array;
        const row = Array.from(expnum).findIndex((e) => e === 803291n);
        expect(row).toBeGreaterThanOrEqual(0);
        expect(zpt[row]).toBeCloseTo(25.30, 1);
        expect((findColumn(table, 'filter')!.values as string[])[row]).toBe('r');
      }
    }
    expect(counts.every((n) => n > 0)).toBe(true);
  });

  it('LSST afw archive tables in the HSC exposure (1J, 64A, 2D, 16D, 72A)', () => {
    const file = realFile('hsc_afw/HSC-0908120-056-small.fits');
    const bytes = new Uint8Array(fs.readFileSync(file));
    const hdus = tableHdus(bytes, file);
    expect(hdus.length).toBe(3);
    for (const hdu of hdus) {
      const table = readBinTable(hdu.header, hdu.data, file, hdu.index);
      expect(compareWithAstropy(table, astropyTable(file, hdu.index), `hsc ${hdu.index}`)).toBeGreaterThan(0);
    }
    const wcs = readBinTable(hdus[1]!.header, hdus[1]!.data, file, hdus[1]!.index);
    expect((findColumn(wcs, 'ctype1')!.values as string[])[0]).toBe('RA---TAN');
    expect(Array.from(findColumn(wcs, 'crval')!.values as Float64Array).map((v) => +v.toFixed(4))).toEqual([151.3193, 1.615]);
  });
});

describe('writing binary tables (astropy reads them back)', () => {
  let dir = '';
  beforeAll(() => { dir = testOutputDir('fits-table'); });

  const nrows = 5;
  const spec: BinTableSpec = {
    nrows,
    extname: 'EVERYTHING',
    columns: [
      { name: 'flag', values: [true, false, null, true, false] },
      { name: 'flags3', tform: '3L', values: [true, null, false, false, false, true, null, null, null, true, true, true, false, true, false] },
      { name: 'bits', tform: '11X', values: Uint8Array.from({ length: 55 }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0)) },
      { name: 'u8', values: Uint8Array.from([0, 1, 127, 128, 255]) },
      { name: 'i8', values: Int8Array.from([-128, -1, 0, 1, 127]) },
      { name: 'i16', values: Int16Array.from([-32768, -1, 0, 1, 32767]), unit: 'adu' },
      { name: 'u16', values: Uint16Array.from([0, 1, 32767, 32768, 65535]) },
      { name: 'i32', values: Int32Array.from([-2147483648, -1, 0, 1, 2147483647]) },
      { name: 'u32', values: Uint32Array.from([0, 1, 2147483647, 2147483648, 4294967295]) },
      { name: 'i64', values: BigInt64Array.from([-(2n ** 63n), -1n, 0n, 6917529027641081856n, 2n ** 63n - 1n]) },
      { name: 'u64', values: BigUint64Array.from([0n, 1n, 2n ** 63n, 2n ** 63n + 12345n, 2n ** 64n - 1n]) },
      { name: 'f32', values: Float32Array.from([NaN, -0, Infinity, 1.401298464324817e-45, 3.4028234663852886e38]), unit: 'mag' },
      { name: 'f64', values: Float64Array.from([5e-324, -Infinity, Math.PI, -1e300, NaN]), unit: 'deg' },
      { name: 'c64', tform: '2C', values: Float32Array.from({ length: 20 }, (_, i) => Math.fround(i * 0.3 - 2)) },
      { name: 'c128', tform: 'M', values: Float64Array.from({ length: 10 }, (_, i) => i * Math.E - 7) },
      { name: 'label', tform: '12A', values: ['alpha', '', '  lead', 'exactly12chr', 'x y'] },
      { name: 'words', tform: '12A', dims: [4, 3], values: ['a', 'bb', 'ccc', 'dddd', '', 'e', 'f', 'g', 'h', 'ii', 'jj', 'kk', 'l', 'm', 'n'] },
      { name: 'img', tform: '6E', dims: [3, 2], unit: 'count', values: Float32Array.from({ length: 30 }, (_, i) => i / 7) },
      { name: 'scaled', tform: 'I', tscal: 0.01, tzero: 100, tnull: -32768, values: Float64Array.from([100, 99.99, NaN, 427.67, -227.67]) },
      { name: 'count', tform: 'J', tnull: -1, values: Int32Array.from([5, -1, 7, -1, 0]) },
      { name: 'vj', tform: '1PJ', values: [Int32Array.from([1, 2, 3]), new Int32Array(0), Int32Array.from([-7]), Int32Array.from({ length: 40 }, (_, i) => i * i), Int32Array.from([2147483647])] },
      { name: 'vd', tform: '1QD', unit: 'Jy', values: [Float64Array.from([1.5]), Float64Array.from([NaN, 2]), new Float64Array(0), Float64Array.from([1e-310, 3]), Float64Array.from([0.1, 0.2, 0.3])] },
      { name: 've', tform: '1PE', values: [Float32Array.from([1, 2]), Float32Array.from([3]), Float32Array.from([]), Float32Array.from([4, 5, 6]), Float32Array.from([7])] },
      { name: 'vb', tform: '1PB', values: [Uint8Array.from([255]), Uint8Array.from([0, 1]), new Uint8Array(0), Uint8Array.from([9, 9, 9]), Uint8Array.from([42])] },
      { name: 'vi', tform: '1QI', values: [Int16Array.from([-5, 5]), Int16Array.from([32767]), Int16Array.from([-32768]), new Int16Array(0), Int16Array.from([1, 2, 3, 4])] },
      { name: 'vk', tform: '1QK', values: [BigInt64Array.from([2n ** 62n]), new BigInt64Array(0), BigInt64Array.from([-3n, 3n]), BigInt64Array.from([0n]), BigInt64Array.from([-(2n ** 63n)])] },
      { name: 'vs', tform: '1PA', values: ['variable', '', 'x', 'a longer string of text', 'end'] },
      { name: 'vc', tform: '1PC', values: [Float32Array.from([1, -1]), new Float32Array(0), Float32Array.from([0.5, 0.25, 2, 4]), Float32Array.from([3, 3]), Float32Array.from([-1, 0])] },
      { name: 'vl', tform: '1PL', values: [[true], [], [false, null, true], [null], [true, true]] },
      { name: 'vm', tform: '1QM', values: [Float64Array.from([1e100, -1e-100]), Float64Array.from([0, 0]), new Float64Array(0), Float64Array.from([Math.SQRT2, Math.LN2]), Float64Array.from([7, 8])] },
    ],
  };

  it('every TFORM type round-trips through astropy: values, units, TDIM, TNULL, TSCAL/TZERO', () => {
    const file = path.join(dir, 'everything.fits');
    writeTableFile(file, spec);
    const bytes = new Uint8Array(fs.readFileSync(file));
    const hdu = tableHdus(bytes, file)[0]!;
    expect(hdu.header.getString('EXTNAME')).toBe('EVERYTHING');
    expect(hdu.header.getString('TFORM21')).toBe('1PJ(40)');
    expect(hdu.header.get('TZERO11')).toBe(9223372036854775808n);
    const table = readBinTable(hdu.header, hdu.data, file, hdu.index);
    const py = astropyTable(file, 1);
    const n = compareWithAstropy(table, py, 'everything');
    expect(n).toBeGreaterThan(200);
    // astropy sees the unsigned conventions and the scaling as we wrote them.
    const pyCol = (name: string) => py.columns.find((c) => c.name === name)!;
    expect(pyCol('u16').bzero).toBe('32768');
    expect(pyCol('u64').bzero).toBe('9223372036854775808');
    expect(pyCol('i8').bzero).toBe('-128');
    expect(pyCol('scaled').bscale).toBe('0.01');
    // The TNULL element is NaN for us; astropy scales the stored -32768 (checked equal elsewhere).
    expect(pyNumber(pyCol('scaled').values[2] as string)).toBeCloseTo(-32768 * 0.01 + 100, 9);
    expect(pyCol('img').dim).toBe('(3,2)');
    expect(pyCol('vd').unit).toBe('Jy');
  });

  it('reads back its own output to the same physical values, nulls and types', () => {
    // Variable-length bit arrays (PX) are legal FITS that astropy cannot read, so only we check them.
    const withBits: BinTableSpec = {
      ...spec,
      columns: [...spec.columns, { name: 'vx', tform: '1PX', values: [Uint8Array.from([1, 0, 1]), new Uint8Array(0), Uint8Array.from({ length: 17 }, (_, i) => i % 2), Uint8Array.from([1]), Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1])] }],
    };
    const { header, data } = writeBinTable(withBits);
    expect(header.getString(`TFORM${withBits.columns.length}`)).toBe('1PX(17)');
    const table = readBinTable(header, data, 'memory', 1);
    for (const s of withBits.columns) {
      const c = findColumn(table, s.name)!;
      const where = s.name;
      if (s.name === 'scaled') {
        const v = c.values as Float64Array;
        expect(Number.isNaN(v[2]!), where).toBe(true);
        expect(Number.isNaN(c.nullValue as number)).toBe(true);
        expect(c.tnull).toBe(-32768);
        [100, 99.99, NaN, 427.67, -227.67].forEach((x, i) => { if (i !== 2) expect(v[i]).toBeCloseTo(x, 10); });
        continue;
      }
      if (Array.isArray(s.values) && ArrayBuffer.isView(s.values[0])) {
        (s.values as NumericArray[]).forEach((row, r) => {
          const got = (c.values as NumericArray[])[r]!;
          expect(got.constructor, where).toBe(row.constructor);
          expect(Array.from(got as ArrayLike<number>).map(String), `${where} row ${r}`).toEqual(Array.from(row as ArrayLike<number>).map(String));
        });
        continue;
      }
      if (ArrayBuffer.isView(s.values)) expect(c.values.constructor, where).toBe(s.values.constructor);
      expect(Array.from(c.values as ArrayLike<unknown>).map(String), where).toEqual(Array.from(s.values as ArrayLike<unknown>).map(String));
    }
    expect(findColumn(table, 'count')!.nullValue).toBe(-1);
    expect(findColumn(table, 'u16')!.tzero).toBe(32768);
    expect(findColumn(table, 'img')!.dims).toEqual([3, 2]);
    expect((findColumn(table, 'flags3')!.values as Logical[]).filter((v) => v === null).length).toBe(4);
  });

  it('reads tables astropy writes with P/Q arrays, TDIM, TNULL, unsigned and scaled columns', () => {
    const file = path.join(dir, 'from-astropy.fits');
    runPythonJson(`
import sys, json, numpy as np
from astropy.io import fits
rng = np.random.default_rng(3)
n = 9
cols = [
  fits.Column(name='id', format='K', array=np.arange(n, dtype='i8') * 10**15),
  fits.Column(name='u16', format='I', bzero=32768, array=np.arange(n, dtype='u2') * 7000),
  fits.Column(name='u32', format='J', bzero=2147483648, array=(np.arange(n, dtype='u8') * 500000000).astype('u4')),
  fits.Column(name='flux', format='E', unit='nJy', array=rng.normal(size=n).astype('f4')),
  fits.Column(name='cube', format='24D', dim='(4,3,2)', array=rng.normal(size=(n, 2, 3, 4))),
  fits.Column(name='q', format='J', null=-99, array=np.where(np.arange(n) % 3 == 0, -99, np.arange(n)).astype('i4')),
  fits.Column(name='scaled', format='I', array=np.arange(n, dtype='i2') - 4),
  fits.Column(name='var', format='PE()', array=[rng.normal(size=k).astype('f4') for k in range(n)]),
  fits.Column(name='qvar', format='QD()', array=[rng.normal(size=(k * 3) % 5) for k in range(n)]),
  fits.Column(name='vint', format='PJ()', array=[np.arange(k, dtype='i4') - 3 for k in range(n)]),
  fits.Column(name='name', format='10A', array=np.array(['s%d' % k for k in range(n)])),
  fits.Column(name='ok', format='L', array=np.arange(n) % 2 == 0),
  fits.Column(name='z', format='C', array=(rng.normal(size=n) + 1j * rng.normal(size=n)).astype('c8')),
]
fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(sys.argv[1], overwrite=True)
# astropy cannot write scaled integer columns from floats; add the scaling keywords afterwards.
with fits.open(sys.argv[1], mode='update') as h:
    h[1].header['TSCAL7'] = 0.5
    h[1].header['TZERO7'] = 10.0
print(json.dumps(True))
`, [file]);
    const { table, hdu } = readFirstTable(file);
    const n = compareWithAstropy(table, astropyTable(file, hdu.index), 'from-astropy');
    expect(n).toBeGreaterThan(9 * 12);
    expect(findColumn(table, 'u16')!.values).toBeInstanceOf(Uint16Array);
    expect(findColumn(table, 'u32')!.values).toBeInstanceOf(Uint32Array);
    expect(findColumn(table, 'cube')!.dims).toEqual([4, 3, 2]);
    expect(findColumn(table, 'q')!.tnull).toBe(-99);
    expect(findColumn(table, 'var')!.variable).toBe('P');
    expect(findColumn(table, 'qvar')!.variable).toBe('Q');
    expect((findColumn(table, 'var')!.values as Float32Array[]).map((r) => r.length)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('random corruption of table bytes gives values or a FitsError, never a hang or another error', () => {
    const { header, data } = writeBinTable(spec);
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
    let errors = 0;
    for (let trial = 0; trial < 300; trial++) {
      const bad = data.slice();
      for (let k = 0; k < 1 + Math.floor(rand() * 6); k++) bad[Math.floor(rand() * bad.length)] = Math.floor(rand() * 256);
      try {
        expect(readBinTable(header, bad, 'fuzz.fits', 1).nrows).toBe(nrows);
      } catch (e) {
        expect(e).toBeInstanceOf(FitsError);
        expect((e as FitsError).message).toMatch(/^fuzz\.fits \[HDU 1\]: column \d+ \(\w+\)/);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(30);
  });

  it('writes zero-row tables and zero-width columns that astropy accepts', () => {
    const file = path.join(dir, 'empty.fits');
    writeTableFile(file, { nrows: 0, columns: [{ name: 'a', tform: 'E', values: new Float32Array(0) }, { name: 'v', tform: '1PJ', values: [] }] });
    const { table, hdu } = readFirstTable(file);
    expect(table.nrows).toBe(0);
    expect(hdu.header.getNumber('NAXIS1')).toBe(12);
    expect(compareWithAstropy(table, astropyTable(file, hdu.index), 'empty')).toBe(0);
    // A zero-width field (repeat 0) occupies no bytes and reads as no elements.
    const zfile = path.join(dir, 'zero-width.fits');
    writeTableFile(zfile, { nrows: 2, columns: [{ name: 'none', tform: '0J', values: new Int32Array(0) }, { name: 'b', tform: 'B', values: Uint8Array.from([7, 8]) }] });
    const z = readFirstTable(zfile);
    expect(z.hdu.header.getNumber('NAXIS1')).toBe(1);
    expect(findColumn(z.table, 'none')!.values.length).toBe(0);
    expect(compareWithAstropy(z.table, astropyTable(zfile, z.hdu.index), 'zero-width')).toBe(2);
  });
});

describe('damaged tables give FitsError naming file, HDU, column and problem', () => {
  const { header, data } = writeBinTable({
    nrows: 3,
    columns: [
      { name: 'x', tform: 'D', values: Float64Array.from([1, 2, 3]) },
      { name: 'v', tform: '1PJ', values: [Int32Array.from([1]), Int32Array.from([2, 3]), Int32Array.from([4, 5, 6])] },
      { name: 'ok', tform: 'L', values: [true, false, null] },
    ],
  });

  it('follows THEAP across a gap between the main table and the heap', () => {
    const main = header.getNumber('NAXIS1')! * header.getNumber('NAXIS2')!;
    const gap = 24;
    const withGap = new Uint8Array(data.length + gap);
    withGap.set(data.subarray(0, main), 0);
    withGap.fill(0xee, main, main + gap);
    withGap.set(data.subarray(main), main + gap);
    const h = header.clone().set('THEAP', main + gap).set('PCOUNT', header.getNumber('PCOUNT')! + gap);
    const table = readBinTable(h, withGap, 'gap.fits', 1);
    expect((findColumn(table, 'v')!.values as Int32Array[]).map((r) => Array.from(r))).toEqual([[1], [2, 3], [4, 5, 6]]);
    expect(() => readBinTable(header.clone().set('THEAP', 3), data, 'theap.fits', 1)).toThrow(/THEAP = 3 lies outside/);
  });

  it('rejects a bad TFORM', () => {
    const h = header.clone().set('TFORM1', '1Z');
    expect(() => readBinTable(h, data, 'bad.fits', 2)).toThrow(/bad\.fits \[HDU 2\]: column 1 \(x\): TFORM "1Z"/);
  });

  it('rejects NAXIS1 that disagrees with the column widths', () => {
    const h = header.clone().set('NAXIS1', 22);
    expect(() => readBinTable(h, pad(data), 'wide.fits', 1)).toThrow(/NAXIS1 = 22 disagrees with the sum of the column widths \(17/);
  });

  it('rejects heap pointers outside the heap', () => {
    const bad = data.slice();
    new DataView(bad.buffer).setInt32(17 * 2 + 8 + 4, 1000); // row 3, column v: offset
    expect(() => readBinTable(header, bad, 'heap.fits', 1)).toThrow(/heap\.fits \[HDU 1\]: column 2 \(v\), row 3: heap pointer outside the heap/);
    const negative = data.slice();
    new DataView(negative.buffer).setInt32(8, -5); // row 1 count
    expect(() => readBinTable(header, negative, 'neg.fits', 1)).toThrow(/column 2 \(v\), row 1: heap descriptor \(count -5/);
  });

  it('rejects truncated data and absurd sizes without allocating them', () => {
    expect(() => readBinTable(header, data.subarray(0, 40), 'short.fits', 1)).toThrow(/short\.fits \[HDU 1\]: binary table data is truncated: 40 bytes present/);
    const huge = header.clone().set('NAXIS2', 2 ** 40);
    expect(() => readBinTable(huge, data, 'huge.fits', 1)).toThrow(/truncated/);
    const absurd = header.clone().set('TFORM1', '4000000000D');
    expect(() => readBinTable(absurd, data, 'absurd.fits', 1)).toThrow(/absurd|needs .* bytes/);
  });

  it('rejects invalid logicals and a TDIM larger than the field', () => {
    const bad = data.slice();
    bad[17 * 1 + 16] = 0x3f; // row 2 'ok' = '?'
    expect(() => readBinTable(header, bad, 'logic.fits', 1)).toThrow(/column 3 \(ok\): logical byte 0x3f in row 2/);
    const h = header.clone().set('TDIM1', '(2,2)');
    expect(() => readBinTable(h, data, 'dim.fits', 1)).toThrow(/column 1 \(x\): TDIM1 = '\(2,2\)' holds 4 elements/);
  });

  it('writer rejects values that do not fit their column', () => {
    expect(() => writeBinTable({ nrows: 2, columns: [{ name: 'a', tform: 'I', values: Float64Array.from([1, 40000]) }] })).toThrow(/column 1 \(a\): value 40000 is out of range/);
    expect(() => writeBinTable({ nrows: 2, columns: [{ name: 's', tform: '3A', values: ['abcd', 'x'] }] })).toThrow(/longer than the field width 3/);
    expect(() => writeBinTable({ nrows: 2, columns: [{ name: 'n', tform: 'J', values: Float64Array.from([NaN, 1]) }] })).toThrow(/NaN .* no TNULL/);
    expect(() => writeBinTable({ nrows: 1, columns: [{ name: 'e', tform: 'E', tnull: 0, values: new Float32Array(1) }] })).toThrow(FitsError);
  });
});
