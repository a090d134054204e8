// FITS file structure and lazy access: writer layout, HDU listing over memory and file sources, reads
// that touch only the needed bytes, sections, gzip, checksum verification, and FitsErrors for bad input.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import {
  writeFits, readFitsBytes, openFits, bytesSource, FitsHeader, FitsError, BLOCK, CARD, gzipBytes,
  type ByteSource, type FitsBytes, type ImageArray,
} from '../../lib/fits/index.js';
import { fileSource, openFitsFile } from '../../node/fits/fileSource.js';
import { realFile, testOutputDir } from '../helpers/paths.js';

/** Elements of any typed array (or array-like) as a plain array, for toEqual. */
function elements(a: ArrayLike<number | bigint> | ImageArray): (number | bigint)[] {
  return Array.from(a as ArrayLike<number | bigint>);
}

const ascii = (bytes: Uint8Array, start: number, length: number) => new TextDecoder('latin1').decode(bytes.subarray(start, start + length));

/** A ByteSource that records every read. */
function countingSource(name: string, bytes: Uint8Array): ByteSource & { reads: [number, number][] } {
  const inner = bytesSource(name, bytes);
  const reads: [number, number][] = [];
  return { name, reads, size: () => inner.size(), read: (o, l) => { reads.push([o, l]); return inner.read(o, l); } };
}

/** Replaces the value field of the first card with `key` in a serialised header (columns 11-80). */
function patchCard(bytes: Uint8Array, key: string, value: string, from = 0): Uint8Array {
  const out = bytes.slice();
  for (let at = from; at + CARD <= out.length; at += CARD) {
    if (ascii(out, at, 8).trimEnd() === key && ascii(out, at + 8, 2) === '= ') {
      const text = value.padStart(20).padEnd(70);
      for (let i = 0; i < 70; i++) out[at + 10 + i] = text.charCodeAt(i);
      return out;
    }
  }
  throw new Error(`card ${key} not found`);
}

function expectFitsError(fn: () => unknown, source: string, hdu: number | undefined, problem: RegExp): void {
  let error: unknown;
  try { fn(); } catch (e) { error = e; }
  expect(error, `expected a FitsError matching ${problem}`).toBeInstanceOf(FitsError);
  const fe = error as FitsError;
  expect(fe.source).toBe(source);
  expect(fe.hdu).toBe(hdu);
  expect(fe.problem).toMatch(problem);
}

async function expectFitsErrorAsync(p: Promise<unknown>, source: string, hdu: number | undefined, problem: RegExp): Promise<void> {
  const error = await p.then(() => undefined, (e: unknown) => e);
  expect(error, `expected a FitsError matching ${problem}`).toBeInstanceOf(FitsError);
  expect((error as FitsError).source).toBe(source);
  expect((error as FitsError).hdu).toBe(hdu);
  expect((error as FitsError).problem).toMatch(problem);
}

/** Same type and same bytes (fast for large arrays, where toEqual walks element by element). */
function expectSameArray(a: ImageArray, b: ImageArray): void {
  expect(a.constructor).toBe(b.constructor);
  expect(a.length).toBe(b.length);
  expect(Buffer.compare(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), new Uint8Array(b.buffer, b.byteOffset, b.byteLength))).toBe(0);
}

function ramp<T extends ImageArray>(Ctor: new (n: number) => T, n: number, f: (i: number) => number | bigint): T {
  const a = new Ctor(n);
  for (let i = 0; i < n; i++) (a as unknown as (number | bigint)[])[i] = f(i);
  return a;
}

/** A multi-extension file: primary int16 image, then f32, uint16 (BZERO), int8, int64 images and a table. */
function sampleFile(options: { checksum?: boolean } = {}) {
  const primary = ramp(Int16Array, 30 * 20, (i) => (i * 37) % 65536 - 32768);
  const f32 = ramp(Float32Array, 64 * 50, (i) => Math.sin(i) * 1e4);
  const u16 = ramp(Uint16Array, 17 * 13, (i) => (i * 401) % 65536);
  const i8 = ramp(Int8Array, 9 * 4, (i) => (i % 256) - 128);
  const i64 = ramp(BigInt64Array, 5 * 3, (i) => BigInt(i) * 1234567890123n - 9000000000000000000n);
  const header = new FitsHeader().set('OBSERVER', 'Tessera').addCommentary('HISTORY', 'made by fits-file.test');
  const bytes = writeFits([
    { data: primary, shape: [20, 30], header },
    { data: f32, shape: [50, 64], extname: 'SCI' },
    { data: u16, shape: [13, 17], extname: 'UNSIGNED' },
    { data: i8, shape: [4, 9], extname: 'BYTES' },
    { data: i64, shape: [3, 5], extname: 'LONG' },
    { kind: 'table', table: { nrows: 3, extname: 'CAT', columns: [
      { name: 'id', values: new Int32Array([1, 2, 3]) },
      { name: 'flux', values: new Float64Array([1.5, 2.5, -3]) },
      { name: 'name', values: ['a', 'bb', 'ccc'] },
    ] } },
  ], options);
  return { bytes, primary, f32, u16, i8, i64 };
}

describe('writeFits layout', () => {
  it('writes mandatory keywords first and in order, pads headers with spaces and data with zeros', () => {
    const { bytes } = sampleFile();
    expect(bytes.length % BLOCK).toBe(0);
    const file = readFitsBytes('sample.fits', bytes);
    expect(file.hdus).toHaveLength(6);
    const keys = file.hdus.map((h) => h.header.keys().slice(0, 7));
    expect(keys[0]).toEqual(['SIMPLE', 'BITPIX', 'NAXIS', 'NAXIS1', 'NAXIS2', 'EXTEND', 'OBSERVER']);
    expect(keys[1]).toEqual(['XTENSION', 'BITPIX', 'NAXIS', 'NAXIS1', 'NAXIS2', 'PCOUNT', 'GCOUNT']);
    expect(keys[5]!.slice(0, 7)).toEqual(['XTENSION', 'BITPIX', 'NAXIS', 'NAXIS1', 'NAXIS2', 'PCOUNT', 'GCOUNT']);
    expect(file.hdus[5]!.header.get('XTENSION')).toBe('BINTABLE');
    for (const hdu of file.hdus) {
      expect(hdu.headerOffset % BLOCK).toBe(0);
      expect(hdu.dataOffset % BLOCK).toBe(0);
      // Header blocks: the END card then nothing but spaces.
      const header = ascii(bytes, hdu.headerOffset, hdu.headerSize);
      const end = header.search(/END {77}/);
      expect(end % CARD).toBe(0);
      expect(header.slice(end + CARD).trim()).toBe('');
      // Data padding: zeros up to the next block.
      const padEnd = hdu.dataOffset + Math.ceil(hdu.dataSize / BLOCK) * BLOCK;
      expect(bytes.subarray(hdu.dataOffset + hdu.dataSize, padEnd).every((b) => b === 0)).toBe(true);
    }
    expect(file.hdus[0]!.header.commentary('HISTORY')).toEqual(['made by fits-file.test']);
  });

  it('replaces structural and scaling keywords found in a user header', () => {
    const user = new FitsHeader().set('SIMPLE', false).set('BITPIX', 99).set('NAXIS', 7).set('NAXIS1', 1).set('BZERO', 5).set('BSCALE', 3).set('KEEP', 1);
    const bytes = writeFits([{ data: new Float32Array([1, 2, 3, 4]), shape: [2, 2], header: user }]);
    const file = readFitsBytes('x.fits', bytes);
    const h = file.hdus[0]!.header;
    expect([h.get('SIMPLE'), h.get('BITPIX'), h.get('NAXIS'), h.get('NAXIS1'), h.get('NAXIS2'), h.has('BZERO'), h.has('BSCALE'), h.get('KEEP')])
      .toEqual([true, -32, 2, 2, 2, false, false, 1]);
    expect(elements(file.readImage(0).data)).toEqual([1, 2, 3, 4]);
  });

  it('puts an empty primary HDU before a table given first, and checks raw HDUs against their header', () => {
    const table = writeFits([{ kind: 'table', table: { nrows: 1, columns: [{ name: 'x', values: new Int16Array([7]) }] } }]);
    const file = readFitsBytes('t.fits', table);
    expect(file.hdus.map((h) => h.type)).toEqual(['IMAGE', 'BINTABLE']);
    expect(file.hdus[0]!.shape).toEqual([]);
    const raw = new FitsHeader().set('XTENSION', 'IMAGE').set('BITPIX', 8).set('NAXIS', 1).set('NAXIS1', 10).set('PCOUNT', 0).set('GCOUNT', 1);
    expectFitsError(() => writeFits([{}, { kind: 'raw', header: raw, data: new Uint8Array(9) }], { name: 'raw.fits' }), 'raw.fits', 1, /declares 10 data bytes but 9 were given/);
    expectFitsError(() => writeFits([{ data: new Float32Array(5), shape: [2, 2] }], { name: 's.fits' }), 's.fits', 0, /holds 4 pixels but the data have 5/);
  });
});

function summary(f: { hdus: { type: string; bitpix: number; shape: number[]; extname?: string }[] }) {
  return f.hdus.map((h) => `${h.type} ${h.extname ?? '-'} ${h.bitpix} [${h.shape.join(',')}]`);
}

describe('reading structure and pixels', () => {
  it('lists HDUs and reads every image exactly, the same over memory, a ByteSource and a file', async () => {
    const { bytes, primary, f32, u16, i8, i64 } = sampleFile();
    const file = path.join(testOutputDir('fits-file-read'), 'sample.fits');
    fs.writeFileSync(file, bytes);
    const sync = readFitsBytes('sample.fits', bytes);
    const lazy = await openFits(bytesSource('sample.fits', bytes));
    const onDisk = await openFits(await fileSource(file));
    const expected = ['IMAGE - 16 [20,30]', 'IMAGE SCI -32 [50,64]', 'IMAGE UNSIGNED 16 [13,17]', 'IMAGE BYTES 8 [4,9]', 'IMAGE LONG 64 [3,5]'];
    for (const f of [sync, lazy, onDisk]) {
      expect(summary(f).slice(0, 5)).toEqual(expected);
      expect(f.hdus[5]!.type).toBe('BINTABLE');
      expect(f.hdus[5]!.shape[0]).toBe(3);
      expect(f.indexOf('unsigned')).toBe(2);
      expect(f.indexOf('nope')).toBe(-1);
    }
    const originals = [primary, f32, u16, i8, i64];
    for (let i = 0; i < 5; i++) {
      const images = [sync.readImage(i), await lazy.readImage(i), await onDisk.readImage(i)];
      for (const image of images) {
        expectSameArray(image.data, originals[i]!);
        expect([image.height, image.width]).toEqual(sync.hdus[i]!.shape);
      }
    }
    const table = await onDisk.readTable(5);
    expect(table.nrows).toBe(3);
    expect(table.columns.map((c) => c.name)).toEqual(['id', 'flux', 'name']);
    expect(elements(table.columns[1]!.values as Float64Array)).toEqual([1.5, 2.5, -3]);
    expect(table.columns[2]!.values).toEqual(['a', 'bb', 'ccc']);
    // The file source decodes in place: reading twice gives equal, independent arrays.
    const again = await onDisk.readImage(1);
    expect(again.data).toEqual(f32);
    expect(again.data.buffer).not.toBe((await onDisk.readImage(1)).data.buffer);
    await onDisk.close();
    // Raw data are the stored big-endian bytes.
    expect(sync.readRawData(2).length).toBe(17 * 13 * 2);
  });

  it('reads only header blocks at open, and only the needed rows for a section', async () => {
    const nx = 1000;
    const ny = 800;
    const big = ramp(Float32Array, nx * ny, (i) => i * 0.5);
    const bytes = writeFits([{}, { data: big, shape: [ny, nx], extname: 'BIG' }, { data: new Int16Array(4), shape: [2, 2] }]);
    const source = countingSource('big.fits', bytes);
    const file = await openFits(source);
    const readAtOpen = source.reads.reduce((a, [, l]) => a + l, 0);
    expect(file.hdus).toHaveLength(3);
    expect(readAtOpen).toBeLessThan(20 * BLOCK); // of a 3.2 MB file
    const dataStart = file.hdus[1]!.dataOffset;
    expect(source.reads.every(([o, l]) => o + l <= dataStart + 4 * BLOCK || o >= file.hdus[2]!.headerOffset)).toBe(true);

    source.reads.length = 0;
    const rect = { x0: 123, y0: 456, width: 200, height: 100 };
    const section = await file.readImageSection(1, rect);
    expect(source.reads).toEqual([[dataStart + rect.y0 * nx * 4, rect.height * nx * 4]]);
    expect([section.width, section.height, section.shape]).toEqual([200, 100, [100, 200]]);
    for (const [x, y] of [[0, 0], [199, 0], [0, 99], [199, 99], [57, 31]] as const) {
      expect(section.data[y * 200 + x]).toBe(big[(rect.y0 + y) * nx + rect.x0 + x]);
    }
  });

  it('cuts sections out of scaled, unsigned and cube images, matching a crop of the whole image', () => {
    const cube = ramp(Int32Array, 3 * 6 * 8, (i) => i * 1000 - 50000);
    const scaled = ramp(Float32Array, 6 * 8, (i) => 100 + i * 0.5);
    const u16 = ramp(Uint16Array, 6 * 8, (i) => 65535 - i * 77);
    const bytes = writeFits([
      { data: cube, shape: [3, 6, 8] },
      { data: scaled, shape: [6, 8], encode: { bitpix: 16, bscale: 0.5, bzero: 100 } },
      { data: u16, shape: [6, 8] },
    ]);
    const file = readFitsBytes('sections.fits', bytes);
    const rect = { x0: 2, y0: 1, width: 5, height: 4 };
    const crop = (a: ArrayLike<number>, offset: number) => {
      const out: number[] = [];
      for (let y = rect.y0; y < rect.y0 + rect.height; y++) for (let x = rect.x0; x < rect.x0 + rect.width; x++) out.push(a[offset + y * 8 + x]!);
      return out;
    };
    expect(elements(file.readImageSection(0, rect, { plane: 2 }).data)).toEqual(crop(cube, 2 * 48));
    const s = file.readImageSection(1, rect);
    expect(s.data).toBeInstanceOf(Float32Array);
    expect(elements(s.data)).toEqual(crop(scaled, 0));
    const u = file.readImageSection(2, rect);
    expect(u.data).toBeInstanceOf(Uint16Array);
    expect(elements(u.data)).toEqual(crop(u16, 0));
    expect(elements(file.readImageSection(2, { x0: 0, y0: 0, width: 8, height: 6 }).data)).toEqual(elements(u16));
    expectFitsError(() => file.readImageSection(1, { x0: 5, y0: 0, width: 4, height: 1 }), 'sections.fits', 1, /lies outside the 8x6 image/);
    expectFitsError(() => file.readImageSection(0, rect, { plane: 3 }), 'sections.fits', 0, /plane 3 does not exist \(the image has 3\)/);
    expectFitsError(() => file.readImageSection(1, { x0: -1, y0: 0, width: 1, height: 1 }), 'sections.fits', 1, /x0 = -1 must be a non-negative integer/);
  });

  it('reads an image with NAXIS1 = 0 (the DES header file) as empty, and lists real files of every kind', async () => {
    const des = await openFitsFile(realFile('des_psfex_galsim/DECam_00154912_12_header.fits'));
    expect(summary(des)).toEqual(['IMAGE - -64 [0]']);
    const image = await des.readImage(0);
    expect(image.data).toBeInstanceOf(Float64Array);
    expect(image.data.length).toBe(0);
    expect(des.hdus[0]!.header.getNumber('SATURATE')).toBe(57491);
    await des.close();
    const kd = await openFits(await fileSource(realFile('decam_legacypipe_testcase6/tycho2.kd.fits')));
    expect(summary(kd)).toEqual(['IMAGE - 8 []', 'BINTABLE - 8 [236,98]', 'BINTABLE - 8 [0,0]', 'BINTABLE - 8 [16,4]', 'BINTABLE - 8 [15,4]', 'BINTABLE - 8 [7,8]', 'BINTABLE - 8 [236,12]']);
    await kd.close();
  });
});

describe('gzip', () => {
  it('reads a real .fits.gz (detected by magic bytes) through a file source', async () => {
    const file = await openFits(await fileSource(realFile('decam_legacypipe_testcase6/survey-ccds-1.fits.gz')));
    expect(file.compression).toBe('gzip');
    expect(summary(file)).toEqual(['IMAGE - 16 []', 'BINTABLE - 8 [6,321]']);
    const table = await file.readTable(1);
    expect(table.nrows).toBe(6);
    expect(table.columns.some((c) => c.name === 'zpt')).toBe(true);
  });

  it('writes and reads back a gzipped file; a corrupt stream is a FitsError', () => {
    const { bytes, f32 } = sampleFile();
    const gz = writeFits([{ data: f32, shape: [50, 64] }], { gzip: true });
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    expect(gz.length).toBeLessThan(bytes.length);
    const file = readFitsBytes('x.fits.gz', gz);
    expect(file.compression).toBe('gzip');
    expect(file.readImage(0).data).toEqual(f32);
    const corrupt = gz.slice();
    corrupt[Math.floor(corrupt.length / 2)] ^= 0xff;
    expectFitsError(() => readFitsBytes('bad.fits.gz', corrupt), 'bad.fits.gz', undefined, /^gzip: /);
    expectFitsError(() => readFitsBytes('short.fits.gz', gz.subarray(0, gz.length - 100)), 'short.fits.gz', undefined, /^gzip: /);
    expect(readFitsBytes('plain', gzipBytes(bytes)).hdus).toHaveLength(6);
  });
});

describe('checksums', () => {
  it('writes DATASUM/CHECKSUM that verify, and reports a flipped data byte as a mismatch of that HDU only', async () => {
    const { bytes } = sampleFile({ checksum: true });
    const file = readFitsBytes('sum.fits', bytes, { checksum: 'verify' });
    expect(file.verifyChecksums().map((r) => `${r.datasum}/${r.checksum}`)).toEqual(Array(6).fill('ok/ok'));
    const h1 = file.hdus[1]!;
    const damaged = bytes.slice();
    damaged[h1.dataOffset + 100] ^= 0x01;
    const results = readFitsBytes('damaged.fits', damaged).verifyChecksums();
    expect(results.map((r) => `${r.datasum}/${r.checksum}`)).toEqual(['ok/ok', 'mismatch/mismatch', 'ok/ok', 'ok/ok', 'ok/ok', 'ok/ok']);
    expect(results[1]!.problem).toMatch(/DATASUM is '\d+' but the data sum to \d+/);
    expectFitsError(() => readFitsBytes('damaged.fits', damaged, { checksum: 'verify' }), 'damaged.fits', 1, /checksum verification failed: DATASUM/);
    const lazy = await openFits(bytesSource('damaged.fits', damaged), { checksum: 'verify' });
    await expect(lazy.readImage(0)).resolves.toBeDefined();
    await expectFitsErrorAsync(lazy.readImage(1), 'damaged.fits', 1, /checksum verification failed/);
    await expectFitsErrorAsync(lazy.readImageSection(1, { x0: 0, y0: 0, width: 2, height: 2 }), 'damaged.fits', 1, /checksum verification failed/);
    // Without verification the damaged file still reads.
    expect((await lazy.readImage(1, { checksum: 'ignore' })).data.length).toBe(64 * 50);
  });

  it('a changed header card breaks CHECKSUM but not DATASUM', () => {
    const { bytes } = sampleFile({ checksum: true });
    const damaged = patchCard(bytes, 'OBSERVER', "'Someone else'");
    const [r0] = readFitsBytes('h.fits', damaged).verifyChecksums();
    expect(r0).toMatchObject({ hdu: 0, datasum: 'ok', checksum: 'mismatch' });
  });

  it('reports HDUs without checksum keywords as absent', () => {
    const { bytes } = sampleFile();
    expect(readFitsBytes('n.fits', bytes).verifyChecksums().every((r) => r.datasum === 'absent' && r.checksum === 'absent')).toBe(true);
  });
});

describe('bad input gives a FitsError naming file, HDU and problem', () => {
  const good = writeFits([{ data: ramp(Float32Array, 20 * 10, (i) => i), shape: [10, 20] }, { data: new Int16Array(6), shape: [2, 3], extname: 'E' }]);
  const hdu1 = () => readFitsBytes('good.fits', good).hdus[1]!;

  it('not FITS at all, or empty', () => {
    expectFitsError(() => readFitsBytes('photo.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Uint8Array(3000)])), 'photo.png', undefined, /not a FITS file: it does not begin with 'SIMPLE  ='/);
    expectFitsError(() => readFitsBytes('empty.fits', new Uint8Array(0)), 'empty.fits', undefined, /the file is empty/);
    expectFitsError(() => readFitsBytes('text.fits', new TextEncoder().encode('SIMPLE  = T\nhello')), 'text.fits', 0, /non-ASCII byte|header is truncated|no END/);
  });

  it('truncated files: inside the data, inside a header, at a block boundary of the header', () => {
    expectFitsError(() => readFitsBytes('cut.fits', good.subarray(0, BLOCK + 100)), 'cut.fits', 0, /file is too short for the declared data: the header declares 800 data bytes .* but only 100 bytes follow the header/);
    const h1 = hdu1();
    expectFitsError(() => readFitsBytes('cut.fits', good.subarray(0, h1.headerOffset + 1000)), 'cut.fits', 1, /header is truncated/);
    expectFitsError(() => readFitsBytes('cut.fits', good.subarray(0, h1.dataOffset + 5)), 'cut.fits', 1, /file is too short for the declared data/);
  });

  it('a header without END', () => {
    const noEnd = good.slice(0, BLOCK);
    const text = ascii(noEnd, 0, BLOCK);
    const endAt = text.indexOf('END' + ' '.repeat(77));
    noEnd.set(new TextEncoder().encode('COMMENT no end here'.padEnd(80)), endAt);
    expectFitsError(() => readFitsBytes('noend.fits', noEnd), 'noend.fits', 0, /header has no END card/);
  });

  it('a data size that disagrees with NAXISn, an absurd NAXIS1, negative or too many axes', () => {
    // Within the padding of its last block the data still fit; beyond the file they do not.
    expect(readFitsBytes('pad.fits', patchCard(good, 'NAXIS2', '11')).hdus[0]!.dataSize).toBe(880);
    expectFitsError(() => readFitsBytes('big.fits', patchCard(good, 'NAXIS2', '481', hdu1().headerOffset)), 'big.fits', 1,
      /too short for the declared data: the header declares 2886 data bytes \(BITPIX 16, axes NAXIS1=3 NAXIS2=481\) but only 2880 bytes follow the header/);
    expectFitsError(() => readFitsBytes('absurd.fits', patchCard(good, 'NAXIS1', '100000000000000')), 'absurd.fits', 0, /declares 4000000000000000 data bytes/);
    expectFitsError(() => readFitsBytes('absurd.fits', patchCard(good, 'NAXIS1', '1000000000000000')), 'absurd.fits', 0, /the declared data size is absurdly large/);
    expectFitsError(() => readFitsBytes('huge.fits', patchCard(good, 'NAXIS1', '99999999999999999999')), 'huge.fits', 0, /NAXIS1 = 99999999999999999999 is absurdly large/);
    expectFitsError(() => readFitsBytes('neg.fits', patchCard(good, 'NAXIS2', '-5')), 'neg.fits', 0, /NAXIS2 = -5 is negative/);
    expectFitsError(() => readFitsBytes('naxis.fits', patchCard(good, 'NAXIS', '-1')), 'naxis.fits', 0, /NAXIS = -1 is outside 0..999/);
    expectFitsError(() => readFitsBytes('naxis.fits', patchCard(good, 'NAXIS', '1000')), 'naxis.fits', 0, /NAXIS = 1000 is outside 0..999/);
    expectFitsError(() => readFitsBytes('real.fits', patchCard(good, 'NAXIS1', '20.0')), 'real.fits', 0, /NAXIS1 must be an integer, not 20/);
    expectFitsError(() => readFitsBytes('pcount.fits', patchCard(good, 'PCOUNT', '-3', hdu1().headerOffset)), 'pcount.fits', 1, /PCOUNT = -3 is negative/);
  });

  it('an unsupported or missing BITPIX', () => {
    expectFitsError(() => readFitsBytes('bp.fits', patchCard(good, 'BITPIX', '12')), 'bp.fits', 0, /unsupported BITPIX 12 \(allowed: 8, 16, 32, 64, -32, -64\)/);
    expectFitsError(() => readFitsBytes('bp.fits', patchCard(good, 'BITPIX', "'-32'")), 'bp.fits', 0, /unsupported BITPIX '-32'/);
    expectFitsError(() => readFitsBytes('bp.fits', patchCard(good, 'BITPIX', '0', hdu1().headerOffset)), 'bp.fits', 1, /unsupported BITPIX 0/);
    const noBitpix = good.slice();
    noBitpix.set(new TextEncoder().encode('COMMENT'.padEnd(80)), CARD);
    expectFitsError(() => readFitsBytes('nobp.fits', noBitpix), 'nobp.fits', 0, /mandatory keyword BITPIX is missing/);
  });

  it('an extension whose header does not start with XTENSION, and misuse of the API', () => {
    const h1 = hdu1();
    const renamed = good.slice();
    renamed.set(new TextEncoder().encode('XTENSION= 42'.padEnd(80)), h1.headerOffset);
    expectFitsError(() => readFitsBytes('x.fits', renamed), 'x.fits', 1, /does not begin with XTENSION/);
    const file = readFitsBytes('good.fits', good);
    expectFitsError(() => file.readImage(2), 'good.fits', 2, /no such HDU \(the file has 2\)/);
    expectFitsError(() => file.readTable(1), 'good.fits', 1, /is an image, not a binary table/);
    const withTable = readFitsBytes('t.fits', sampleFile().bytes);
    expectFitsError(() => withTable.readImage(5), 't.fits', 5, /HDU is a BINTABLE, not an image/);
  });

  it('bytes after the last HDU: zero padding is silent, anything else is a warning, not an error', () => {
    const padded = new Uint8Array(good.length + BLOCK);
    padded.set(good);
    expect(readFitsBytes('pad.fits', padded).warnings).toEqual([]);
    const junk = padded.slice();
    junk.set(new TextEncoder().encode('garbage'), good.length);
    const file = readFitsBytes('junk.fits', junk);
    expect(file.hdus).toHaveLength(2);
    expect(file.warnings).toEqual([`${BLOCK} bytes after the last HDU (at byte ${good.length}) are not an extension and were ignored`]);
  });

  it('a file source that fails mid-read is reported as a FitsError naming the file', async () => {
    const failing: ByteSource = {
      name: 'flaky.fits',
      size: async () => good.length,
      read: async (offset, length) => {
        if (offset >= BLOCK) throw new Error('EIO: i/o error');
        return good.subarray(offset, offset + length);
      },
    };
    // The first header read succeeds; scanning for HDU 1's header fails.
    await expectFitsErrorAsync(openFits(failing), 'flaky.fits', 1, /read of 80 bytes at 5760 failed: EIO: i\/o error/);
  });
});

describe('file sources', () => {
  it('fileSource reads positions exactly, short at the end, and closes once', async () => {
    const dir = testOutputDir('fits-file-source');
    const p = path.join(dir, 'bytes.bin');
    fs.writeFileSync(p, new Uint8Array(10000).map((_, i) => i % 251));
    const src = await fileSource(p);
    expect(await src.size()).toBe(10000);
    expect(elements(await src.read(5000, 4))).toEqual([5000 % 251, 5001 % 251, 5002 % 251, 5003 % 251]);
    expect((await src.read(9990, 100)).length).toBe(10);
    await src.close();
    await src.close();
  });

  it('reads a real image through fileSource identically to readFitsBytes on its bytes', async () => {
    const p = realFile('saao_raw_overscan/a8280271.fits');
    const lazy = await openFits(await fileSource(p));
    const eager = readFitsBytes(p, new Uint8Array(fs.readFileSync(p)));
    const a = await lazy.readImage(0);
    const b = eager.readImage(0);
    expect(a.data).toBeInstanceOf(Uint16Array);
    expectSameArray(a.data, b.data);
    expect([a.width, a.height]).toEqual([536, 520]);
    const section = await lazy.readImageSection(0, { x0: 3, y0: 0, width: 10, height: 520 });
    // BIASSEC [4:13,1:520]: the overscan median is 214 ADU (MANIFEST).
    const sorted = Array.from(section.data as Uint16Array).sort((x, y) => x - y);
    expect(sorted[sorted.length >> 1]).toBeGreaterThanOrEqual(210);
    expect(sorted[sorted.length >> 1]).toBeLessThanOrEqual(218);
    await lazy.close();
  });
});

export type { FitsBytes };
