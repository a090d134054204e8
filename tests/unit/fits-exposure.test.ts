// afw Exposure layout: the real HSC calexp cut-out (planes, mask plane names and counts, xy0 from the
// 'A' WCS and LTV, component HDUs), and write -> read round trips of Tessera's own exposures.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import {
  readExposure, writeExposure, readFitsBytes, bytesSource, writeFits, FitsHeader, FitsError, xy0FromHeader,
  type Exposure,
} from '../../lib/fits/index.js';
import { fileSource } from '../../node/fits/fileSource.js';
import { realFile, testOutputDir } from '../helpers/paths.js';

const HSC = 'hsc_afw/HSC-0908120-056-small.fits';

function bitCount(mask: Int32Array, bit: number): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += (mask[i]! >>> bit) & 1;
  return n;
}

function sum(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

async function readHsc(): Promise<Exposure> {
  const source = await fileSource(realFile(HSC));
  try {
    return await readExposure(source);
  } finally {
    await source.close();
  }
}

describe('the real HSC calexp cut-out', () => {
  it('has 200x200 image, int16/uint16 mask read as Int32, variance, and xy0 = (100, 100)', async () => {
    const exp = await readHsc();
    expect([exp.width, exp.height, exp.x0, exp.y0]).toEqual([200, 200, 100, 100]);
    expect(exp.image).toBeInstanceOf(Float32Array);
    expect(exp.mask).toBeInstanceOf(Int32Array);
    expect(exp.variance).toBeInstanceOf(Float32Array);
    // Values measured with astropy 5.2 on the same file (float64 sums of the float32 pixels).
    expect(sum(exp.image)).toBeCloseTo(346002.4407659024, 6);
    expect(exp.image[0]).toBe(Math.fround(-49.262725830078125));
    expect(exp.image[57 * 200 + 123]).toBe(Math.fround(12.700016021728516));
    expect(exp.variance[57 * 200 + 123]).toBe(Math.fround(431.9572448730469));
    expect(Math.min(...exp.variance)).toBe(Math.fround(403.86322021484375));
    expect(Math.max(...exp.variance)).toBe(Math.fround(943.5281982421875));
    expect(new Set(exp.mask)).toEqual(new Set([0, 32, 256]));
  });

  it('reads the same from bytes in memory (FitsBytes) as lazily from the file', async () => {
    const lazy = await readHsc();
    const eager = await readExposure(readFitsBytes(HSC, new Uint8Array(fs.readFileSync(realFile(HSC)))));
    expect([eager.x0, eager.y0, eager.width]).toEqual([100, 100, 200]);
    expect(Buffer.compare(Buffer.from(eager.image.buffer, eager.image.byteOffset, eager.image.byteLength), Buffer.from(lazy.image.buffer, lazy.image.byteOffset, lazy.image.byteLength))).toBe(0);
    expect(eager.mask).toEqual(lazy.mask);
  });

  it('names its mask planes from MP_ keywords (HIERARCH ones included) with their pixel counts', async () => {
    const exp = await readHsc();
    expect(exp.maskPlanes).toEqual({
      BAD: 0, SAT: 1, INTRP: 2, CR: 3, EDGE: 4, DETECTED: 5, DETECTED_NEGATIVE: 6, SUSPECT: 7, CROSSTALK: 8, NO_DATA: 9, UNMASKEDNAN: 10,
    });
    expect(bitCount(exp.mask, exp.maskPlanes.DETECTED!)).toBe(5390);
    expect(bitCount(exp.mask, exp.maskPlanes.CROSSTALK!)).toBe(14);
    expect(bitCount(exp.mask, exp.maskPlanes.SAT!)).toBe(0);
  });

  it('keeps the metadata, the WCS header (TAN-SIP, the A WCS) and the archive HDUs readable', async () => {
    const exp = await readHsc();
    expect(exp.metadata.get('FILTER')).toBe('_unknown_');
    expect(exp.metadata.get('AR_HDU')).toBe(5);
    expect(exp.wcsHeader.get('CTYPE1')).toBe('RA---TAN-SIP');
    expect(exp.wcsHeader.get('CRVAL1')).toBe(151.319266199627);
    expect(exp.wcsHeader.get('A_ORDER')).toBe(3);
    expect(exp.wcsHeader.get('CRVAL1A')).toBe(100);
    expect(exp.wcsHeader.get('LTV1')).toBe(-100);
    expect(exp.components!.map((c) => `${c.index} ${c.type} ${c.exttype}`)).toEqual(['4 BINTABLE ARCHIVE_INDEX', '5 BINTABLE ARCHIVE_DATA', '6 BINTABLE ARCHIVE_DATA']);
    expect(exp.components![1]!.header.get('TTYPE1')).toBe('crval');
  });
});

function synthetic(): Exposure {
  const width = 37;
  const height = 23;
  const n = width * height;
  const image = new Float32Array(n).map((_, i) => Math.cos(i) * 100);
  const mask = new Int32Array(n).map((_, i) => (i % 7 === 0 ? 1 << 5 : 0) | (i % 11 === 0 ? 1 << 31 : 0));
  const variance = new Float32Array(n).map((_, i) => 10 + (i % 5));
  const metadata = new FitsHeader().set('EXPTIME', 30, 'seconds', { real: true }).set('FILTER', 'HSC-R').set('AR_HDU', 5);
  const wcsHeader = new FitsHeader().set('CTYPE1', 'RA---TAN').set('CTYPE2', 'DEC--TAN').set('CRVAL1', 150.1).set('CRVAL2', 2.2)
    .set('CRPIX1', 10.5).set('CRPIX2', -3.25).set('CD1_1', -5e-5).set('CD2_2', 5e-5).set('LTV1', 999).set('EXTTYPE', 'junk');
  return { width, height, x0: -5, y0: 17, image, mask, variance, maskPlanes: { DETECTED: 5, BAD: 0, STREAK: 31 }, metadata, wcsHeader };
}

describe('writeExposure', () => {
  it('writes the afw layout that reads back identically (planes, bit 31 of the mask, planes, xy0, WCS, metadata)', async () => {
    const exp = synthetic();
    const bytes = writeExposure(exp, { checksum: true });
    const file = readFitsBytes('exp.fits', bytes, { checksum: 'verify' });
    expect(file.hdus.map((h) => `${h.extname ?? '-'} ${h.bitpix} [${h.shape.join(',')}]`)).toEqual(['- 8 []', 'IMAGE -32 [23,37]', 'MASK 32 [23,37]', 'VARIANCE -32 [23,37]']);
    const mh = file.hdus[2]!.header;
    expect([mh.get('EXTTYPE'), mh.get('INHERIT'), mh.get('MP_DETECTED'), mh.get('MP_STREAK'), mh.get('LTV1'), mh.get('LTV2')]).toEqual(['MASK', true, 5, 31, 5, -17]);
    expect(mh.keys().filter((k) => k.startsWith('MP_'))).toEqual(['MP_BAD', 'MP_DETECTED', 'MP_STREAK']);
    expect(file.hdus[1]!.header.get('CRVAL1A')).toBe(-5);
    expect(file.hdus[1]!.header.get('CTYPE1A')).toBe('LINEAR');
    expect(file.hdus[0]!.header.has('AR_HDU')).toBe(false); // no components written
    const back = await readExposure(bytesSource('exp.fits', bytes));
    expect([back.width, back.height, back.x0, back.y0]).toEqual([37, 23, -5, 17]);
    expect(back.image).toEqual(exp.image);
    expect(back.mask).toEqual(exp.mask);
    expect(back.variance).toEqual(exp.variance);
    expect(back.maskPlanes).toEqual(exp.maskPlanes);
    for (const key of ['CTYPE1', 'CRVAL1', 'CRPIX2', 'CD1_1', 'CD2_2']) expect(back.wcsHeader.get(key)).toBe(exp.wcsHeader.get(key));
    expect(back.metadata.get('FILTER')).toBe('HSC-R');
    expect(back.components).toEqual([]);
  });

  it('round-trips the real HSC exposure and writes its mask as int32', async () => {
    const exp = await readHsc();
    const dir = testOutputDir('fits-exposure');
    const out = path.join(dir, 'hsc-rewritten.fits');
    fs.writeFileSync(out, writeExposure(exp));
    const source = await fileSource(out);
    const back = await readExposure(source);
    await source.close();
    expect(back.image).toEqual(exp.image);
    expect(back.mask).toEqual(exp.mask);
    expect(back.variance).toEqual(exp.variance);
    expect(back.maskPlanes).toEqual(exp.maskPlanes);
    expect([back.x0, back.y0]).toEqual([100, 100]);
    expect(back.wcsHeader.get('A_3_0')).toBe(exp.wcsHeader.get('A_3_0'));
    expect(readFitsBytes(out, new Uint8Array(fs.readFileSync(out))).hdus[2]!.bitpix).toBe(32);
  });

  it('refuses planes of the wrong size and mask bits outside 0..31', () => {
    const exp = synthetic();
    expect(() => writeExposure({ ...exp, variance: new Float32Array(3) }, { name: 'e.fits' })).toThrowError(/e\.fits: the variance plane has 3 pixels, not 37x23/);
    expect(() => writeExposure({ ...exp, maskPlanes: { BIG: 32 } })).toThrowError(FitsError);
    expect(() => writeExposure({ ...exp, x0: 0.5 })).toThrowError(/xy0 \(0\.5, 17\) must be integers/);
  });
});

describe('reading problems', () => {
  it('xy0: the A WCS and LTV must agree; either alone is enough; neither gives (0, 0)', () => {
    const h = new FitsHeader().set('CRVAL1A', 100).set('CRPIX1A', 1).set('CRVAL2A', 7).set('CRPIX2A', 3).set('LTV1', -100).set('LTV2', -5);
    expect(xy0FromHeader(h, 'x', 1)).toEqual({ x0: 100, y0: 5 });
    expect(xy0FromHeader(new FitsHeader().set('LTV1', -4).set('LTV2', 2), 'x', 1)).toEqual({ x0: 4, y0: -2 });
    expect(xy0FromHeader(new FitsHeader(), 'x', 1)).toEqual({ x0: 0, y0: 0 });
    h.set('LTV2', -6);
    expect(() => xy0FromHeader(h, 'x.fits', 1)).toThrowError(/x\.fits \[HDU 1\]: the 'A' WCS puts y0 at 5 but LTV2 puts it at 6/);
  });

  it('a file without MASK, or with a mask of floats, or a bad MP_ keyword is a FitsError', async () => {
    const plane = new Float32Array(4);
    const noMask = writeFits([{}, { data: plane, shape: [2, 2], extname: 'IMAGE' }, { data: plane, shape: [2, 2], extname: 'VARIANCE' }]);
    await expect(readExposure(bytesSource('nomask.fits', noMask))).rejects.toThrowError(/nomask\.fits: not an afw Exposure: no MASK HDU/);
    const floatMask = writeFits([{}, { data: plane, shape: [2, 2], extname: 'IMAGE' }, { data: plane, shape: [2, 2], extname: 'MASK' }, { data: plane, shape: [2, 2], extname: 'VARIANCE' }]);
    await expect(readExposure(bytesSource('fm.fits', floatMask))).rejects.toThrowError(/fm\.fits \[HDU 2\]: the mask plane must hold integers/);
    const badBit = writeFits([{}, { data: plane, shape: [2, 2], extname: 'IMAGE' }, { data: new Int32Array(4), shape: [2, 2], extname: 'MASK', header: new FitsHeader().set('MP_X', 40) }, { data: plane, shape: [2, 2], extname: 'VARIANCE' }]);
    await expect(readExposure(bytesSource('bb.fits', badBit))).rejects.toThrowError(/bb\.fits \[HDU 2\]: mask plane keyword MP_X must be a bit index 0\.\.31, not 40/);
    const misshapen = writeFits([{}, { data: plane, shape: [2, 2], extname: 'IMAGE' }, { data: new Int32Array(6), shape: [2, 3], extname: 'MASK' }, { data: plane, shape: [2, 2], extname: 'VARIANCE' }]);
    await expect(readExposure(bytesSource('ms.fits', misshapen))).rejects.toThrowError(/ms\.fits \[HDU 2\]: plane shape \[2, 3\] differs from the image's \[2, 2\]/);
  });
});
