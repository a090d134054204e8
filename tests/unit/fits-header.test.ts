// FitsHeader: card parsing (fixed-format values, strings, CONTINUE, HIERARCH, commentary), card
// formatting (column positions, long strings, long comments), round trips, and error reporting.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import fs from 'node:fs';
import { FitsHeader, FitsError, BLOCK, CARD, type Card } from '../../lib/fits/index.js';
import { realFile } from '../helpers/paths.js';

/** Header bytes from 80-column lines (each padded), END appended, padded to 2880. */
function headerBytes(lines: string[], end = true): Uint8Array {
  const all = [...lines, ...(end ? ['END'] : [])].map((l) => l.padEnd(CARD));
  const text = all.join('').padEnd(Math.ceil((all.length * CARD) / BLOCK) * BLOCK);
  return new TextEncoder().encode(text);
}

function parseLines(lines: string[]): FitsHeader {
  return FitsHeader.parse(headerBytes(lines), 0, 'test.fits', 3).header;
}

function cardLines(h: FitsHeader): string[] {
  const text = new TextDecoder().decode(h.toBytes());
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += CARD) lines.push(text.slice(i, i + CARD));
  return lines;
}

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 });

describe('FitsHeader.parse', () => {
  it('reads every fixed-format value type with comments', () => {
    const h = parseLines([
      'SIMPLE  =                    T / conforms',
      'LOGIC   =                    F',
      'INT     =                  -42 / an integer',
      'BIG     =  9223372036854775808 / beyond 2^53',
      'REAL    =       -1.5000000E+03 / exponent',
      "DREAL   =            2.5D-3",
      'CPLX    =         (1.5, -2.0E1) / complex',
      "STR     = 'O''Hara  '           / quote doubled, trailing spaces",
      "LEAD    = '  lead'",
      "EMPTY   = ''",
      'NOVALUE =                      / nothing',
      "SLASH   = 'a/b'                / slash inside the string",
    ]);
    expect(h.get('SIMPLE')).toBe(true);
    expect(h.getComment('SIMPLE')).toBe('conforms');
    expect(h.get('LOGIC')).toBe(false);
    expect(h.get('INT')).toBe(-42);
    expect(h.getInteger('INT')).toBe(-42);
    expect(h.get('BIG')).toBe(9223372036854775808n);
    expect(h.getNumber('BIG')).toBe(2 ** 63); // exactly representable
    expect(h.get('REAL')).toBe(-1500);
    expect(h.getInteger('REAL')).toBeUndefined(); // written as a real
    expect(h.get('DREAL')).toBe(0.0025);
    expect(h.get('CPLX')).toEqual({ re: 1.5, im: -20 });
    expect(h.get('STR')).toBe("O'Hara");
    expect(h.getComment('STR')).toBe('quote doubled, trailing spaces');
    expect(h.get('LEAD')).toBe('  lead');
    expect(h.get('EMPTY')).toBe('');
    expect(h.get('NOVALUE')).toBeNull();
    expect(h.get('SLASH')).toBe('a/b');
    expect(h.keys()).toEqual(['SIMPLE', 'LOGIC', 'INT', 'BIG', 'REAL', 'DREAL', 'CPLX', 'STR', 'LEAD', 'EMPTY', 'NOVALUE', 'SLASH']);
  });

  it('reads an integer "-0" as 0, not negative zero (the fuzz test found a shape of -0 x n)', () => {
    const h = parseLines(['NAXIS2  =                   -0', 'REALZERO=                 -0.0']);
    expect(Object.is(h.get('NAXIS2'), 0)).toBe(true);
    expect(h.getInteger('NAXIS2')).toBe(0);
    // A real keeps its sign, as astropy reads it.
    expect(Object.is(h.get('REALZERO'), -0)).toBe(true);
  });

  it('getNumber refuses a bigint that a double cannot hold exactly', () => {
    const h = parseLines(['ODD     =  9007199254740993']);
    expect(h.get('ODD')).toBe(9007199254740993n);
    expect(h.getNumber('ODD')).toBeUndefined();
  });

  it('joins CONTINUE long strings and their comments, as astropy does', () => {
    const h = parseLines([
      "LS      = 'abc&'  / c1",
      "CONTINUE  'def&' / c2",
      "CONTINUE  'gh' / c3",
      "AFTER   = 'x'",
    ]);
    expect(h.get('LS')).toBe('abcdefgh');
    expect(h.getComment('LS')).toBe('c1 c2 c3');
    expect(h.get('AFTER')).toBe('x');
    expect(h.cards).toHaveLength(2);
  });

  it('keeps a final ampersand when no CONTINUE follows, and treats an orphan CONTINUE as commentary', () => {
    const h = parseLines(["AMP     = 'ends with &'", "CONTINUE  'orphan?'"].slice(0, 1).concat(['N       = 1', "CONTINUE  'orphan'"]));
    expect(h.get('AMP')).toBe('ends with &');
    expect(h.cards[2]).toEqual({ key: 'CONTINUE', commentary: true, comment: "  'orphan'" });
  });

  it('reads HIERARCH keywords, including long strings continued on CONTINUE cards', () => {
    const h = parseLines([
      'HIERARCH ESO DET GAIN =         1.5 / e/ADU',
      "HIERARCH ESO LONG = 'first part &'",
      "CONTINUE  'second part'",
      'HIERARCH FLUXMAG0ERR =      0.',
    ]);
    expect(h.get('ESO DET GAIN')).toBe(1.5);
    expect(h.get('HIERARCH ESO DET GAIN')).toBe(1.5);
    expect(h.getComment('ESO DET GAIN')).toBe('e/ADU');
    expect(h.get('ESO LONG')).toBe('first part second part');
    expect(h.get('FLUXMAG0ERR')).toBe(0);
  });

  it('keeps COMMENT, HISTORY, blank and non-value cards as commentary with their text', () => {
    const h = parseLines([
      'COMMENT   FITS format is defined in A&A 376, 359',
      'HISTORY step 1',
      '        blank keyword text',
      'ESO-LOG 03:04:08>-START EXPO EMMI RED          / Start exp.',
      'KEY     =no value indicator space',
      'HIERARCH without an equals sign',
    ]);
    expect(h.commentary('COMMENT')).toEqual(['  FITS format is defined in A&A 376, 359']);
    expect(h.commentary('HISTORY')).toEqual(['step 1']);
    expect(h.commentary('')).toEqual(['blank keyword text']);
    expect(h.cards[3]).toEqual({ key: 'ESO-LOG', commentary: true, comment: '03:04:08>-START EXPO EMMI RED          / Start exp.' });
    expect(h.has('KEY')).toBe(false);
    expect(h.cards[5]).toEqual({ key: 'HIERARCH', commentary: true, comment: ' without an equals sign' });
    // Commentary cards are written back exactly as read.
    expect(cardLines(h).slice(0, 6).map((l) => l.trimEnd())).toEqual([
      'COMMENT   FITS format is defined in A&A 376, 359', 'HISTORY step 1', '        blank keyword text',
      'ESO-LOG 03:04:08>-START EXPO EMMI RED          / Start exp.', 'KEY     =no value indicator space', 'HIERARCH without an equals sign',
    ]);
  });

  it('reports the byte length as whole 2880-byte blocks', () => {
    const lines = Array.from({ length: 40 }, (_, i) => `K${i}      = ${i}`.slice(0, 10) + `${i}`.padStart(20));
    const bytes = headerBytes(lines);
    const { header, byteLength } = FitsHeader.parse(bytes, 0, 'x', 0);
    expect(byteLength).toBe(2 * BLOCK);
    expect(header.cards).toHaveLength(40);
  });

  it('gives a FitsError naming file, HDU and problem for broken headers', () => {
    const cases: [Uint8Array, RegExp][] = [
      [headerBytes(['SIMPLE  =                    T'], false), /no END card/],
      [headerBytes(['SIMPLE  =                    T']).subarray(0, 1000), /header is truncated/],
      [headerBytes(["STR     = 'unterminated"]), /unterminated string/],
      [headerBytes(['NUM     =  12abc']), /unparseable value "12abc"/],
      [headerBytes(['CPLX    = (1.0 2.0)']), /malformed complex/],
      [headerBytes(['BAD KEY =                    1']), /illegal keyword/],
      [headerBytes(['HIERARCH = 3']), /HIERARCH card without a keyword/],
    ];
    const withByte = headerBytes(['SIMPLE  =                    T']);
    withByte[20] = 0xe9;
    cases.push([withByte, /non-ASCII byte \(0xe9\)/]);
    for (const [bytes, problem] of cases) {
      let error: unknown;
      try { FitsHeader.parse(bytes, 0, 'bad.fits', 2); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(FitsError);
      const fe = error as FitsError;
      expect(fe.source).toBe('bad.fits');
      expect(fe.hdu).toBe(2);
      expect(fe.message).toMatch(/^bad\.fits \[HDU 2\]: /);
      expect(fe.problem).toMatch(problem);
    }
  });
});

describe('FitsHeader.toBytes', () => {
  it('writes fixed-format cards: keyword cols 1-8, "= " cols 9-10, numbers right-justified to col 30, strings from col 11', () => {
    const h = new FitsHeader();
    h.set('SIMPLE', true, 'conforms');
    h.set('NAXIS1', 2048);
    h.set('BSCALE', 1, undefined, { real: true });
    h.set('EXPTIME', 30.5, 'seconds');
    h.set('OBJECT', "M31 'core'");
    h.set('SHORT', 'ab');
    const lines = cardLines(h);
    expect(lines[0]).toBe('SIMPLE  =                    T / conforms'.padEnd(80));
    expect(lines[1]).toBe('NAXIS1  =                 2048'.padEnd(80));
    expect(lines[2]).toBe('BSCALE  =                  1.0'.padEnd(80));
    expect(lines[3]).toBe('EXPTIME =                 30.5 / seconds'.padEnd(80));
    expect(lines[4]).toBe("OBJECT  = 'M31 ''core'''".padEnd(80));
    expect(lines[5]).toBe("SHORT   = 'ab      '".padEnd(80)); // strings padded to 8 characters
    expect(lines[6]).toBe('END'.padEnd(80));
    expect(h.toBytes().length).toBe(BLOCK);
    expect(lines.slice(7).every((l) => l === ' '.repeat(80))).toBe(true);
  });

  it('writes reals so that they read back exactly (shortest round-trip form, always with a point or exponent)', () => {
    const values = [0.1, -1e-300, 1.7976931348623157e308, 5e-324, 123456789.123, 1e21, 3];
    const h = new FitsHeader();
    values.forEach((v, i) => h.set(`R${i}`, v, undefined, { real: true }));
    const back = FitsHeader.parse(h.toBytes(), 0, 'x', 0).header;
    values.forEach((v, i) => {
      expect(back.get(`R${i}`)).toBe(v);
      expect(back.cards[i]!.real).toBe(true);
    });
  });

  it('writes HIERARCH cards compactly, so long keywords with numbers still fit', () => {
    const h = new FitsHeader();
    h.set('ESO INS OPTI-7 VERY LONG KEYWORD NAME THAT NEEDS ROOM', 123456789, 'comment');
    h.set('MP_DETECTED_NEGATIVE', 6);
    const lines = cardLines(h);
    expect(lines[0]).toBe('HIERARCH ESO INS OPTI-7 VERY LONG KEYWORD NAME THAT NEEDS ROOM = 123456789 / com');
    expect(lines[1]).toBe('HIERARCH MP_DETECTED_NEGATIVE = 6'.padEnd(80));
    const back = FitsHeader.parse(h.toBytes(), 0, 'x', 0).header;
    expect(back.get('ESO INS OPTI-7 VERY LONG KEYWORD NAME THAT NEEDS ROOM')).toBe(123456789);
    expect(back.get('MP_DETECTED_NEGATIVE')).toBe(6);
  });

  it('splits long strings over CONTINUE cards and long comments over extra CONTINUE cards, as astropy writes them', () => {
    const h = new FitsHeader();
    h.set('LONGSTR', 'x'.repeat(100), 'a comment that is also fairly long '.repeat(3).trim());
    const lines = cardLines(h);
    // Same cards as astropy 5.2 writes for this value and comment (checked by hand against astropy).
    expect(lines.slice(0, 4)).toEqual([
      `LONGSTR = '${'x'.repeat(67)}&'`,
      `CONTINUE  '${'x'.repeat(33)}&'`.padEnd(80),
      "CONTINUE  '&' / a comment that is also fairly long a comment that is also".padEnd(80),
      "CONTINUE  '' / fairly long a comment that is also fairly long".padEnd(80),
    ]);
    const back = FitsHeader.parse(h.toBytes(), 0, 'x', 0).header;
    expect(back.get('LONGSTR')).toBe('x'.repeat(100));
    expect(back.getComment('LONGSTR')).toBe('a comment that is also fairly long '.repeat(3).trim());
  });

  it('round-trips any printable string value, with quotes, through CONTINUE (property, 500 cases)', () => {
    fc.assert(fc.property(printable, fc.boolean(), (value, hierarch) => {
      const key = hierarch ? 'ESO SOME LONG KEY' : 'LONGVAL';
      const h = new FitsHeader().set(key, value).set('NEXT', 1);
      const bytes = h.toBytes();
      const back = FitsHeader.parse(bytes, 0, 'x', 0).header;
      // Trailing spaces in FITS strings are not significant (Standard §4.2.1.1).
      expect(back.get(key)).toBe(value.replace(/ +$/, ''));
      expect(back.get('NEXT')).toBe(1);
    }), { numRuns: 500 });
  });

  it('writes COMMENT/HISTORY text in 72-character cards and reads it back', () => {
    const text = 'history-'.repeat(20);
    const h = new FitsHeader().addCommentary('HISTORY', text).addCommentary('COMMENT', 'short');
    expect(h.commentary('HISTORY').map((t) => t.length)).toEqual([72, 72, 16]);
    const back = FitsHeader.parse(h.toBytes(), 0, 'x', 0).header;
    expect(back.commentary('HISTORY').join('')).toBe(text);
    expect(back.commentary('COMMENT')).toEqual(['short']);
  });

  it('refuses what FITS cannot hold with a FitsError naming the file and HDU', () => {
    const bad: [FitsHeader, RegExp][] = [
      [new FitsHeader().set('NAN', NaN), /cannot represent the real value NaN/],
      [new FitsHeader().set('INF', Infinity, undefined, { real: true }), /cannot represent the real value Infinity/],
      [new FitsHeader().set('UTF', 'caf\u00e9'), /only printable ASCII/],
      [new FitsHeader().set('OK', 1, 'tab\there'), /only printable ASCII/],
      [new FitsHeader().set('K'.repeat(70), 'v'), /too long for one card/],
    ];
    for (const [h, problem] of bad) {
      expect(() => h.toBytes('out.fits', 4)).toThrowError(FitsError);
      try { h.toBytes('out.fits', 4); } catch (e) {
        expect((e as FitsError).message).toMatch(/^out\.fits \[HDU 4\]: /);
        expect((e as FitsError).problem).toMatch(problem);
      }
    }
  });
});

describe('FitsHeader editing', () => {
  it('set replaces the first card in place, delete removes all, keys are case- and HIERARCH-insensitive', () => {
    const h = new FitsHeader().set('a', 1, 'first').set('B', 'x').set('hierarch long name here', 2);
    h.set('A', 5);
    expect(h.keys()).toEqual(['A', 'B', 'LONG NAME HERE']);
    expect(h.get('A')).toBe(5);
    expect(h.getComment('A')).toBe('first');
    expect(h.get('HIERARCH long   name here')).toBe(2);
    h.delete('b');
    expect(h.has('B')).toBe(false);
    const copy = h.clone();
    copy.set('A', 9);
    expect(h.get('A')).toBe(5);
    expect(h.getBoolean('A')).toBeUndefined();
    expect(h.getString('A')).toBeUndefined();
  });
});

describe('real headers', () => {
  /** All header cards of a file, HDU by HDU (structure walked by NAXISn only: images and tables). */
  function headersOf(path: string): FitsHeader[] {
    const bytes = new Uint8Array(fs.readFileSync(path));
    const out: FitsHeader[] = [];
    let offset = 0;
    while (offset + BLOCK <= bytes.length) {
      const { header, byteLength } = FitsHeader.parse(bytes, offset, path, out.length);
      out.push(header);
      const naxis = header.getNumber('NAXIS') ?? 0;
      let n = naxis > 0 ? 1 : 0;
      for (let i = 1; i <= naxis; i++) n *= header.getNumber(`NAXIS${i}`) ?? 0;
      const size = (Math.abs(header.getNumber('BITPIX') ?? 8) / 8) * (n + (header.getNumber('PCOUNT') ?? 0));
      offset += byteLength + Math.ceil(size / BLOCK) * BLOCK;
    }
    return out;
  }

  it('parses the HSC afw file: HIERARCH, CONTINUE-continued TDOC strings, MP_ keywords', () => {
    const hs = headersOf(realFile('hsc_afw/HSC-0908120-056-small.fits'));
    expect(hs).toHaveLength(7);
    expect(hs[0]!.get('FLUXMAG0ERR')).toBe(0);
    expect(hs[0]!.get('TIME-MID')).toBe('1969-12-31T23:59:51.999918240Z');
    expect(hs[2]!.get('MP_DETECTED_NEGATIVE')).toBe(6);
    expect(hs[2]!.get('MP_CR')).toBe(3);
    expect(hs[4]!.get('TDOC1')).toBe('Archive ID of the persistable object that owns the records pointed at by this entry');
    expect(hs[4]!.get('TDOC7')).toBe("Python module that should be imported to register the object's factory");
  });

  it('parses the 1993 ESO-MIDAS header of the SEP image: HIERARCH ESO cards, ESO-LOG commentary', () => {
    const [h] = headersOf(realFile('sep_sextractor/image.fits'));
    expect(h!.get('BSCALE')).toBe(2.92273835509);
    expect(h!.get('ESO DET PARM2')).toBe('HLO1 :   2.02    VLO1 :   1.01    VDD1 :  23.03');
    expect(h!.get('ESO TEL ALTITUDE')).toBe(2440);
    expect(h!.cards.filter((c) => c.key === 'ESO-LOG')).toHaveLength(4);
  });

  it('re-writes every real header card for card: parse -> toBytes -> parse gives the same cards', () => {
    const files = [
      'hsc_afw/HSC-0908120-056-small.fits', 'sep_sextractor/image.fits', 'saao_raw_overscan/a8280271.fits',
      'des_psfex_galsim/DECam_00154912_12_header.fits', 'des_psfex_galsim/DECam_00154912_12_psfcat.psf',
      'decam_legacypipe_testcase6/tycho2.kd.fits',
    ];
    let total = 0;
    for (const f of files) {
      for (const h of headersOf(realFile(f))) {
        const back = FitsHeader.parse(h.toBytes(), 0, f, 0).header;
        const strip = (c: Card) => ({ ...c, comment: c.commentary ? c.comment?.trimEnd() : c.comment });
        expect(back.cards.map(strip)).toEqual(h.cards.map(strip));
        total += h.cards.length;
      }
    }
    expect(total).toBeGreaterThan(500);
  });
});
