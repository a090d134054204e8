// FITS checksum convention: the ones'-complement sum (against a 16-bit-halves reference implementation
// and values computed by astropy 5.2), the ASCII encoding of CHECKSUM (astropy's _char_encode outputs),
// and the invariant that an HDU with its CHECKSUM filled in sums to -0.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { addSums, encodeChecksum, onesComplementSum, verifyHduChecksum, CHECKSUM_PLACEHOLDER, BLOCK } from '../../lib/fits/index.js';

/** The reference algorithm of Seaman, Pence & Rots (checksum.c): 16-bit halves with end-around carry. */
function referenceSum(bytes: Uint8Array, initial = 0): number {
  let hi = initial >>> 16;
  let lo = initial & 0xffff;
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  for (let i = 0; i < padded.length; i += 4) {
    hi += (padded[i]! << 8) | padded[i + 1]!;
    lo += (padded[i + 2]! << 8) | padded[i + 3]!;
  }
  // hi and lo may exceed 32 bits here (doubles hold them exactly): divide, do not shift.
  let hicarry = Math.floor(hi / 65536);
  let locarry = Math.floor(lo / 65536);
  while (hicarry || locarry) {
    hi = (hi % 65536) + locarry;
    lo = (lo % 65536) + hicarry;
    hicarry = Math.floor(hi / 65536);
    locarry = Math.floor(lo / 65536);
  }
  return ((hi << 16) + lo) >>> 0;
}

function words(...w: number[]): Uint8Array {
  const b = new Uint8Array(w.length * 4);
  const v = new DataView(b.buffer);
  w.forEach((x, i) => v.setUint32(i * 4, x, false));
  return b;
}

describe('onesComplementSum', () => {
  it('adds big-endian words with end-around carry', () => {
    expect(onesComplementSum(new Uint8Array(2880))).toBe(0);
    expect(onesComplementSum(words(0xffffffff))).toBe(0xffffffff);
    expect(onesComplementSum(words(0xffffffff, 1))).toBe(1);
    expect(onesComplementSum(words(0x80000000, 0x80000000))).toBe(1);
    expect(onesComplementSum(words(0x12345678, 0x11111111))).toBe(0x23456789);
    expect(onesComplementSum(new Uint8Array([1, 2, 3]))).toBe(0x01020300); // zero-padded partial word
    expect(addSums(0xffffffff, 0xffffffff)).toBe(0xffffffff);
    expect(addSums(0xfffffffe, 2)).toBe(1);
  });

  it('matches the values astropy 5.2 computes (_compute_checksum)', () => {
    // d = (np.arange(1000, dtype=np.uint64) * 2654435761 % 2**32).astype('>u4') -> 4193573727
    const d = new Uint8Array(4000);
    const v = new DataView(d.buffer);
    for (let i = 0; i < 1000; i++) v.setUint32(i * 4, Math.imul(i, 2654435761) >>> 0, false);
    expect(onesComplementSum(d)).toBe(4193573727);
    // bytes(range(256)) * 3 -> 3751829790
    const r = new Uint8Array(768).map((_, i) => i % 256);
    expect(onesComplementSum(r)).toBe(3751829790);
  });

  it('equals the 16-bit reference for any bytes, aligned or not, with an initial sum (property, 300 cases)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0xffffffff }), (data, shift, initial) => {
      const buffer = new Uint8Array(data.length + shift);
      buffer.set(data, shift);
      const view = buffer.subarray(shift);
      expect(onesComplementSum(view, initial)).toBe(referenceSum(data, initial));
    }), { numRuns: 300 });
  });

  it('stays exact past the fold interval (2^20 words) on large buffers', () => {
    const n = (1 << 20) * 4 + 400;
    const big = new Uint8Array(n).fill(0xff);
    // All-ones words: every partial sum folds back to 0xffffffff.
    expect(onesComplementSum(big)).toBe(0xffffffff);
    const ramp = new Uint8Array(n).map((_, i) => (i * 131) & 0xff);
    expect(onesComplementSum(ramp)).toBe(referenceSum(ramp));
  });
});

describe('encodeChecksum', () => {
  it('reproduces astropy _char_encode for known values (we encode the complement of the sum)', () => {
    const cases: [number, string][] = [
      [0, '0000000000000000'], [1, '0000100000000000'], [0xffffffff, 'orrrrooooooooooo'],
      [0x12345678, 'N6AGN49EN4AEN49E'], [0xdeadbeef, 'kiafngVZkgadkgUZ'], [0x80000000, '0P000P000P000P00'],
      [123456789, '54Id61Fc51Fc51Fc'],
    ];
    for (const [value, ascii] of cases) expect(encodeChecksum(~value >>> 0)).toBe(ascii);
  });

  it('makes a header+data unit sum to -0 and only uses alphanumerics (property, 300 cases)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 6000 }), fc.array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength: 2700 }), (data, text) => {
      const header = new Uint8Array(BLOCK).fill(0x20);
      const card = `CHECKSUM= '${CHECKSUM_PLACEHOLDER}'`;
      for (let i = 0; i < card.length; i++) header[80 + i] = card.charCodeAt(i);
      text.forEach((c, i) => { header[160 + i] = c; });
      const sum = addSums(onesComplementSum(header), onesComplementSum(data));
      const code = encodeChecksum(sum);
      expect(code).toMatch(/^[0-9A-Za-z]{16}$/);
      for (let i = 0; i < 16; i++) header[91 + i] = code.charCodeAt(i);
      expect(addSums(onesComplementSum(header), onesComplementSum(data))).toBe(0xffffffff);
      const result = verifyHduChecksum(1, header, data, String(onesComplementSum(data)), code);
      expect(result).toEqual({ hdu: 1, datasum: 'ok', checksum: 'ok' });
    }), { numRuns: 300 });
  });

  it('verifyHduChecksum reports mismatches and absent keywords separately', () => {
    const header = new Uint8Array(BLOCK).fill(0x20);
    const data = words(1, 2, 3);
    expect(verifyHduChecksum(0, header, data, undefined, undefined)).toEqual({ hdu: 0, datasum: 'absent', checksum: 'absent' });
    const r = verifyHduChecksum(2, header, data, '7', 'AAAAAAAAAAAAAAAA');
    expect(r.datasum).toBe('mismatch');
    expect(r.checksum).toBe('mismatch');
    expect(r.problem).toMatch(/DATASUM is '7' but the data sum to 6/);
    expect(verifyHduChecksum(2, header, data, '6', undefined).datasum).toBe('ok');
    expect(verifyHduChecksum(2, header, data, 'not a number', undefined).datasum).toBe('mismatch');
  });
});
