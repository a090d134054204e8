// Robustness: over 10,000 mutated real files (byte flips, truncations at random offsets, corrupted header
// cards, gzip damage) go through every reader entry point. The only allowed outcomes are a successful
// read or a FitsError; anything else (TypeError, RangeError, a hang, a huge allocation) fails the test.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import fs from 'node:fs';
import {
  readFitsBytes, openFits, bytesSource, readExposure, FitsError, BLOCK, CARD, gzipBytes, type FitsBytes,
} from '../../lib/fits/index.js';
import { realFile } from '../helpers/paths.js';

/** One real file of each kind (the DECam sets repeat the same layouts). */
const CORPUS = [
  'hsc_afw/HSC-0908120-056-small.fits',
  'saao_raw_overscan/a8280271.fits',
  'sep_sextractor/image.fits',
  'sep_sextractor/back.fits',
  'des_psfex_galsim/DECam_00154912_12_header.fits',
  'des_psfex_galsim/DECam_00154912_12_psfcat.psf',
  'decam_legacypipe_testcase6/images/decam/CP/V4.8.2a/CP20150109/c4d_150110_053718_ooi_z_ls9.S4.fits',
  'decam_legacypipe_testcase6/images/decam/CP/V4.8.2a/CP20150109/c4d_150110_053718_ood_z_ls9.S4.fits',
  'decam_legacypipe_testcase6/calib/psfex/decam/CP/V4.8.2a/CP20150109/c4d_150110_053718_ooi_z_ls9-psfex.fits',
  'decam_legacypipe_testcase6/calib/sky-single/decam/CP/V4.8.2a/CP20150109/c4d_150110_053718_ooi_z_ls9/c4d_150110_053718_ooi_z_ls9-S4-splinesky.fits',
  'decam_legacypipe_testcase6/gaia/chunk-03559.fits',
  'decam_legacypipe_testcase6/tycho2.kd.fits',
  'decam_legacypipe_testcase6/survey-ccds-1.fits.gz',
  'decam_legacypipe_testcase6/survey-bricks.fits.gz',
].map((name) => ({ name, bytes: new Uint8Array(fs.readFileSync(realFile(name))) }));

/** Byte ranges of the header blocks of each (uncompressed) corpus file, where mutations hurt most. */
const HEADER_RANGES = CORPUS.map(({ name, bytes }) => {
  const file = readFitsBytes(name, bytes);
  return file.compression === 'gzip' ? [] : file.hdus.map((h) => [h.headerOffset, h.headerSize] as const);
});

/** Values that stress card parsing and the structural checks. */
const NASTY_VALUES = [
  '0', '-1', '1', '-32', '12', '999', '1000', '2147483648', '99999999999999999999', '1E400', '-0', '1.5',
  "'", "'abc", "''", "'IMAGE   '", "'BINTABLE'", 'T', 'F', '(1, 2)', '(1,', '', '/', 'NaN', '0x10', '1D5', '+', '.',
];
const STRUCTURAL_KEYS = ['SIMPLE', 'XTENSION', 'BITPIX', 'NAXIS', 'NAXIS1', 'NAXIS2', 'NAXIS3', 'PCOUNT', 'GCOUNT', 'EXTEND', 'BSCALE', 'BZERO', 'BLANK', 'TFIELDS', 'TFORM1', 'TFORM2', 'TTYPE1', 'TDIM1', 'THEAP', 'ZIMAGE', 'END', 'CONTINUE', 'HIERARCH'];

let successes = 0;
let fitsErrors = 0;

/** Reads everything the API offers; returns normally or throws whatever the reader throws. */
function exercise(file: FitsBytes): void {
  file.verifyChecksums();
  for (const hdu of file.hdus) {
    if (hdu.type === 'IMAGE') {
      const image = file.readImage(hdu.index);
      expect(image.data.length).toBe(hdu.shape.length === 0 ? 0 : hdu.shape.reduce((a, b) => a * b, 1));
      if (image.width > 0 && image.height > 0) {
        file.readImageSection(hdu.index, { x0: image.width >> 1, y0: image.height >> 1, width: Math.min(5, image.width >> 1 || 1), height: Math.min(3, image.height >> 1 || 1) });
      }
    } else if (hdu.type === 'BINTABLE') {
      file.readTable(hdu.index);
    }
  }
}

function readMutated(name: string, bytes: Uint8Array): void {
  try {
    exercise(readFitsBytes(name, bytes));
    successes++;
  } catch (e) {
    if (!(e instanceof FitsError)) {
      throw new Error(`${name}: a ${e instanceof Error ? e.name : typeof e} escaped instead of a FitsError: ${e instanceof Error ? e.stack : String(e)}`);
    }
    expect(e.source).toBe(name);
    expect(e.message.startsWith(name)).toBe(true);
    fitsErrors++;
  }
}

const fileIndex = fc.integer({ min: 0, max: CORPUS.length - 1 });

/** An offset inside a header block of file `i` (or anywhere for gzip files) from a uniform draw u in [0, 1). */
function headerOffset(i: number, u: number): number {
  const ranges = HEADER_RANGES[i]!;
  const bytes = CORPUS[i]!.bytes;
  if (ranges.length === 0) return Math.floor(u * bytes.length);
  const total = ranges.reduce((a, [, l]) => a + l, 0);
  let at = Math.floor(u * total);
  for (const [start, length] of ranges) {
    if (at < length) return start + at;
    at -= length;
  }
  return 0;
}

describe('mutated real files give a successful read or a FitsError, nothing else', () => {
  it('byte flips, in headers and anywhere (4,000 cases)', () => {
    fc.assert(fc.property(
      fileIndex,
      fc.array(fc.record({ u: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), inHeader: fc.boolean(), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 6 }),
      (i, flips) => {
        const { name, bytes: original } = CORPUS[i]!;
        const bytes = original.slice();
        for (const { u, inHeader, xor } of flips) {
          const at = inHeader ? headerOffset(i, u) : Math.floor(u * bytes.length);
          bytes[at] = bytes[at]! ^ xor;
        }
        readMutated(name, bytes);
      },
    ), { numRuns: 4000 });
  });

  it('truncations at random offsets, and random tails appended (3,000 cases)', () => {
    fc.assert(fc.property(fileIndex, fc.double({ min: 0, max: 1, noNaN: true }), fc.uint8Array({ maxLength: 200 }), (i, u, tail) => {
      const { name, bytes } = CORPUS[i]!;
      const cut = Math.floor(u * bytes.length);
      readMutated(name, bytes.subarray(0, cut));
      if (tail.length > 0) {
        const extended = new Uint8Array(bytes.length + tail.length);
        extended.set(bytes);
        extended.set(tail, bytes.length);
        readMutated(name, extended);
      }
    }), { numRuns: 3000 });
  });

  it('corrupted header cards: structural keywords, values, END removal, gzip of the result (3,200 cases)', () => {
    fc.assert(fc.property(
      fileIndex,
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      fc.oneof(
        fc.record({ kind: fc.constant('value' as const), value: fc.constantFrom(...NASTY_VALUES) }),
        fc.record({ kind: fc.constant('printable' as const), value: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 70 }) }),
        fc.record({ kind: fc.constant('key' as const), value: fc.constantFrom(...STRUCTURAL_KEYS) }),
        fc.record({ kind: fc.constant('blank' as const), value: fc.constant('') }),
      ),
      fc.boolean(),
      (i, u, edit, gzip) => {
        const { name, bytes: original } = CORPUS[i]!;
        const bytes = original.slice();
        const card = Math.floor(headerOffset(i, u) / CARD) * CARD;
        const write = (at: number, text: string) => { for (let k = 0; k < text.length && at + k < bytes.length; k++) bytes[at + k] = text.charCodeAt(k); };
        if (edit.kind === 'value') write(card + 10, edit.value.padStart(20).padEnd(70));
        else if (edit.kind === 'printable') write(card + 10, edit.value.padEnd(70));
        else if (edit.kind === 'key') write(card, edit.value.padEnd(8));
        else write(card, ' '.repeat(CARD)); // e.g. removes an END card or a mandatory keyword
        readMutated(name, gzip && bytes.length < 65536 ? gzipBytes(bytes, 1) : bytes);
      },
    ), { numRuns: 3200 });
  });

  it('the lazy reader and the Exposure reader obey the same rule (async, 300 cases)', async () => {
    const hsc = CORPUS[0]!;
    await fc.assert(fc.asyncProperty(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 1, max: 255 }), fc.boolean(), async (u, xor, truncate) => {
      const bytes = hsc.bytes.slice(0, truncate ? Math.floor(u * hsc.bytes.length) : hsc.bytes.length);
      if (!truncate) { const at = headerOffset(0, u); bytes[at] = bytes[at]! ^ xor; }
      try {
        const file = await openFits(bytesSource(hsc.name, bytes));
        for (const hdu of file.hdus) if (hdu.type === 'IMAGE') await file.readImage(hdu.index);
        await readExposure(file);
        successes++;
      } catch (e) {
        if (!(e instanceof FitsError)) throw new Error(`a ${e instanceof Error ? e.name : typeof e} escaped: ${e instanceof Error ? e.stack : String(e)}`);
        fitsErrors++;
      }
    }), { numRuns: 300 });
  });

  it('ran over 10,000 mutated inputs with both outcomes represented', () => {
    // Truncation cases with a tail count twice; all runs above are in the same file and worker.
    expect(successes + fitsErrors).toBeGreaterThanOrEqual(10_000);
    expect(successes).toBeGreaterThan(500);
    expect(fitsErrors).toBeGreaterThan(2_000);
  });
});

export { BLOCK };
