// Pixel coding: every BITPIX big-endian and exact, the unsigned/signed-byte BZERO conventions, scaled
// integers with BLANK, quantisation on write, in-place decoding, sections (gatherColumns, cropPixels);
// byte swapping natively (Node) and in JS (browsers) alike.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodePixels, encodePixels, gatherColumns, cropPixels, integerConvention, scalingFromHeader, FitsHeader, FitsError,
  type Bitpix, type ImageArray,
} from '../../lib/fits/index.js';
import { swapInPlace } from '../../lib/fits/image.js';

/** Elements of any typed array (or array-like) as a plain array, for toEqual. */
function elements(a: ArrayLike<number | bigint> | ImageArray): (number | bigint)[] {
  return Array.from(a as ArrayLike<number | bigint>);
}

const identity = { bscale: 1, bzero: 0 };

function bigEndian(bitpix: Bitpix, values: (number | bigint)[]): Uint8Array {
  const size = Math.abs(bitpix) / 8;
  const out = new Uint8Array(values.length * size);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => {
    const at = i * size;
    if (bitpix === 8) v.setUint8(at, Number(x));
    else if (bitpix === 16) v.setInt16(at, Number(x), false);
    else if (bitpix === 32) v.setInt32(at, Number(x), false);
    else if (bitpix === 64) v.setBigInt64(at, BigInt(x), false);
    else if (bitpix === -32) v.setFloat32(at, Number(x), false);
    else v.setFloat64(at, Number(x), false);
  });
  return out;
}

describe('decode and encode every BITPIX', () => {
  const cases: [Bitpix, ImageArray, string][] = [
    [8, new Uint8Array([0, 1, 127, 128, 255]), 'Uint8Array'],
    [16, new Int16Array([-32768, -1, 0, 1, 32767]), 'Int16Array'],
    [32, new Int32Array([-2147483648, -1, 0, 1, 2147483647]), 'Int32Array'],
    [64, new BigInt64Array([-(2n ** 63n), -1n, 0n, 1n, 2n ** 63n - 1n]), 'BigInt64Array'],
    [-32, new Float32Array([-3.4028234663852886e38, -0, 1.401298464324817e-45, Infinity, NaN]), 'Float32Array'],
    [-64, new Float64Array([-Number.MAX_VALUE, -0, 5e-324, -Infinity, NaN]), 'Float64Array'],
  ];
  for (const [bitpix, values, type] of cases) {
    it(`BITPIX ${bitpix}: big-endian bytes as DataView writes them, decoded back to a ${type} exactly`, () => {
      const encoded = encodePixels(values);
      expect(encoded.bitpix).toBe(bitpix);
      expect(encoded.bscale).toBeUndefined();
      expect(elements(encoded.bytes)).toEqual(elements(bigEndian(bitpix, elements(values))));
      const decoded = decodePixels(encoded.bytes, bitpix, values.length, identity);
      expect(decoded.constructor.name).toBe(type);
      elements(values).forEach((x, i) => expect(Object.is(decoded[i], x)).toBe(true));
    });
  }

  it('swaps byte order the same way with Node\'s native swap and in JS (the browsers\' path), for 16, 32 and 64 bits (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }).map((a) => a.subarray(0, a.length - (a.length % 8))), (bytes) => {
      for (const bitpix of [16, 32, -32, 64, -64] as const) {
        const native = bytes.slice(), js = bytes.slice(), size = Math.abs(bitpix) / 8;
        swapInPlace(native, bitpix, true);
        swapInPlace(js, bitpix, false);
        expect(native).toEqual(js);
        for (let i = 0; i < bytes.length; i++) expect(js[i]).toBe(bytes[i - (i % size) + size - 1 - (i % size)]);
      }
    }), { numRuns: 100 });
  });

  it('round-trips random float64 and int32 arrays bit for bit (property, 200 cases)', () => {
    fc.assert(fc.property(fc.float64Array({ maxLength: 200 }), fc.int32Array({ maxLength: 200 }), (f, n) => {
      const fd = decodePixels(encodePixels(f).bytes, -64, f.length, identity) as Float64Array;
      expect(new Uint8Array(fd.buffer, fd.byteOffset, fd.byteLength)).toEqual(new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
      expect(decodePixels(encodePixels(n).bytes, 32, n.length, identity)).toEqual(n);
    }), { numRuns: 200 });
  });
});

describe('BZERO conventions for unsigned and signed-byte data', () => {
  const cases: [ImageArray, Bitpix, number | bigint, (number | bigint)[]][] = [
    [new Uint16Array([0, 1, 32767, 32768, 65535]), 16, 32768, [-32768, -32767, -1, 0, 32767]],
    [new Uint32Array([0, 2 ** 31, 2 ** 32 - 1]), 32, 2147483648, [-2147483648, 0, 2147483647]],
    [new Int8Array([-128, -1, 0, 127]), 8, -128, [0, 127, 128, 255]],
    [new BigUint64Array([0n, 2n ** 63n, 2n ** 64n - 1n]), 64, 2n ** 63n, [-(2n ** 63n), 0n, 2n ** 63n - 1n]],
  ];
  for (const [values, bitpix, bzero, stored] of cases) {
    it(`${values.constructor.name}: stored with BITPIX ${bitpix}, BSCALE 1, BZERO ${bzero}, read back as ${values.constructor.name}`, () => {
      const encoded = encodePixels(values);
      expect(encoded.bitpix).toBe(bitpix);
      expect(encoded.bscale).toBe(1);
      expect(encoded.bzero).toBe(bzero);
      expect(elements(encoded.bytes)).toEqual(elements(bigEndian(bitpix, stored)));
      const decoded = decodePixels(encoded.bytes, bitpix, values.length, { bscale: 1, bzero });
      expect(decoded.constructor).toBe(values.constructor);
      expect(decoded).toEqual(values);
    });
  }

  it('recognises the conventions from header keywords (BZERO = 2^63 parses as a bigint)', () => {
    const h = FitsHeader.parse(new TextEncoder().encode(['BSCALE  = 1', 'BZERO   = 9223372036854775808', 'END'].map((l) => l.padEnd(80)).join('').padEnd(2880)), 0, 'x', 0).header;
    const scaling = scalingFromHeader(h, 64);
    expect(scaling.bzero).toBe(2n ** 63n);
    expect(integerConvention(64, scaling)).toBe('uint64');
    expect(integerConvention(16, { bscale: 1, bzero: 32768 })).toBe('uint16');
    expect(integerConvention(16, { bscale: 1, bzero: 32768.5 })).toBeUndefined();
    expect(integerConvention(16, { bscale: 2, bzero: 32768 })).toBeUndefined();
  });
});

describe('scaled integers', () => {
  it('BITPIX 16 with BSCALE/BZERO gives Float32 physical values; BLANK becomes NaN', () => {
    const raw = bigEndian(16, [-32768, -2, 0, 3, 32767]);
    const out = decodePixels(raw, 16, 5, { bscale: 2.92273835509, bzero: 3713.66692596, blank: -32768 });
    expect(out).toBeInstanceOf(Float32Array);
    expect(Number.isNaN(out[0])).toBe(true);
    const expected = [-2, 0, 3, 32767].map((v) => Math.fround(3713.66692596 + 2.92273835509 * v));
    expect(elements(out.slice(1))).toEqual(expected);
  });

  it('BITPIX 32 and 64 scaled give Float64; raw: true returns the stored integers', () => {
    const out32 = decodePixels(bigEndian(32, [7, -7]), 32, 2, { bscale: 0.5, bzero: 1 });
    expect(out32).toBeInstanceOf(Float64Array);
    expect(elements(out32)).toEqual([4.5, -2.5]);
    const out64 = decodePixels(bigEndian(64, [10n, -9n]), 64, 2, { bscale: 0.25, bzero: 0, blank: -9n });
    expect(out64).toBeInstanceOf(Float64Array);
    expect(out64[0]).toBe(2.5);
    expect(Number.isNaN(out64[1])).toBe(true);
    expect(decodePixels(bigEndian(32, [7, -7]), 32, 2, { bscale: 0.5, bzero: 1 }, { raw: true })).toEqual(new Int32Array([7, -7]));
  });

  it('float BITPIX with BSCALE/BZERO are scaled in their own type', () => {
    const out = decodePixels(bigEndian(-32, [1.5, -2]), -32, 2, { bscale: 2, bzero: 10 });
    expect(out).toBeInstanceOf(Float32Array);
    expect(elements(out)).toEqual([13, 6]);
  });

  it('quantises floats to BITPIX 16 with BSCALE/BZERO (round to nearest), NaN as BLANK, and reads them back', () => {
    const values = new Float32Array([100, 100.5, 100.74, -1000, NaN, 16483.5]);
    const encoded = encodePixels(values, { bitpix: 16, bscale: 0.5, bzero: 100 });
    expect(encoded).toMatchObject({ bitpix: 16, bscale: 0.5, bzero: 100, blank: -32768 });
    expect(elements(encoded.bytes)).toEqual(elements(bigEndian(16, [0, 1, 1, -2200, -32768, 32767])));
    const back = decodePixels(encoded.bytes, 16, values.length, { bscale: 0.5, bzero: 100, blank: -32768 });
    expect(elements(back.slice(0, 4))).toEqual([100, 100.5, 100.5, -1000]);
    expect(Number.isNaN(back[4])).toBe(true);
    expect(back[5]).toBe(16483.5);
  });

  it('refuses values outside the stored range and bad scalings with a FitsError naming the pixel', () => {
    expect(() => encodePixels(new Float32Array([0, 40000]), { bitpix: 16 }, 'out.fits', 1)).toThrowError(/out\.fits \[HDU 1\]: pixel 1 \(40000\) is out of range for BITPIX 16/);
    expect(() => encodePixels(new Float32Array([300]), { bitpix: 8 })).toThrowError(FitsError);
    expect(() => encodePixels(new Float32Array([1]), { bitpix: 16, bscale: 0 })).toThrowError(/invalid scaling/);
    expect(() => encodePixels(new BigInt64Array([1n]), { bitpix: 32 })).toThrowError(/64-bit integer pixels/);
  });

  it('converts integer arrays to another BITPIX when asked (Int32 -> float32 exactly)', () => {
    const encoded = encodePixels(new Int32Array([1, -2, 16777216]), { bitpix: -32 });
    expect(elements(decodePixels(encoded.bytes, -32, 3, identity))).toEqual([1, -2, 16777216]);
  });
});

describe('in-place decoding and sections', () => {
  it('reuseInput decodes an aligned owned buffer in place, and copies when unaligned', () => {
    const raw = bigEndian(-32, [1, 2, 3, 4]);
    const inPlace = decodePixels(raw, -32, 4, identity, { reuseInput: true });
    expect(inPlace.buffer).toBe(raw.buffer);
    expect(elements(inPlace)).toEqual([1, 2, 3, 4]);
    const shifted = new Uint8Array(17);
    shifted.set(bigEndian(-32, [5, 6, 7, 8]), 1);
    const copied = decodePixels(shifted.subarray(1), -32, 4, identity, { reuseInput: true });
    expect(copied.buffer).not.toBe(shifted.buffer);
    expect(elements(copied)).toEqual([5, 6, 7, 8]);
    // Without reuseInput the input is never modified.
    const kept = bigEndian(16, [1, 2]);
    const before = elements(kept);
    decodePixels(kept, 16, 2, { bscale: 1, bzero: 32768 });
    expect(elements(kept)).toEqual(before);
  });

  it('gatherColumns and cropPixels cut the same rectangle out of a 7x5 image', () => {
    const nx = 7;
    const ny = 5;
    const image = new Int16Array(nx * ny).map((_, i) => i * 3 - 50);
    const bytes = encodePixels(image).bytes;
    const rect = { x0: 2, y0: 1, width: 4, height: 3 };
    const rows = bytes.subarray(rect.y0 * nx * 2, (rect.y0 + rect.height) * nx * 2);
    const gathered = gatherColumns(rows, 16, nx, rect.x0, rect.width, rect.height);
    const fromBytes = decodePixels(gathered, 16, 12, identity);
    const expected: number[] = [];
    for (let y = rect.y0; y < rect.y0 + rect.height; y++) for (let x = rect.x0; x < rect.x0 + rect.width; x++) expected.push(image[y * nx + x]!);
    expect(elements(fromBytes)).toEqual(expected);
    const cropped = cropPixels(image, nx, 0, rect);
    expect(cropped).toBeInstanceOf(Int16Array);
    expect(elements(cropped)).toEqual(expected);
    // Full-width rows are passed through without copying.
    expect(gatherColumns(rows, 16, nx, 0, nx, rect.height).buffer).toBe(rows.buffer);
  });
});
