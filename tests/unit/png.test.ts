// The PNG writer (lib/image/png.ts) read back by Python's zlib and struct, an implementation of its own:
// signature, chunk CRCs, IHDR (RGBA, 8 bits), the rows' bytes and the tEXt chunks as written; bad sizes
// and non-Latin-1 text refused.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { encodePng } from '../../lib/image/png.js';
import { runPythonJson } from '../helpers/python.js';
import { testOutputDir } from '../helpers/paths.js';

const out = testOutputDir('png');

describe('encodePng', () => {
  it('writes RGBA rows and text chunks that Python reads back exactly', () => {
    const width = 37, height = 11, rgba = new Uint8Array(4 * width * height);
    for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 7919 + (i >> 3)) & 255;
    const file = path.join(out, 'test.png');
    fs.writeFileSync(file, encodePng(rgba, width, height, { Credit: 'Tessera test, café', Software: 'Tessera' }));
    const got = runPythonJson<{ size: [number, number]; depth: number; colour: number; text: Record<string, string>; pixels: number[]; filters: number[] }>(`
import json, sys, struct, zlib, binascii
data = open(sys.argv[1], 'rb').read()
assert data[:8] == bytes([137, 80, 78, 71, 13, 10, 26, 10])
at, idat, text = 8, b'', {}
while at < len(data):
    n, = struct.unpack('>I', data[at:at + 4]); kind = data[at + 4:at + 8]; body = data[at + 8:at + 8 + n]
    assert binascii.crc32(kind + body) & 0xffffffff == struct.unpack('>I', data[at + 8 + n:at + 12 + n])[0]
    if kind == b'IHDR': w, h, depth, colour = struct.unpack('>IIBB', body[:10])
    elif kind == b'IDAT': idat += body
    elif kind == b'tEXt': k, v = body.split(b'\\0', 1); text[k.decode('latin-1')] = v.decode('latin-1')
    at += 12 + n
raw = zlib.decompress(idat)
rows = [raw[y * (4 * w + 1):(y + 1) * (4 * w + 1)] for y in range(h)]
print(json.dumps({'size': [w, h], 'depth': depth, 'colour': colour, 'text': text, 'filters': [r[0] for r in rows], 'pixels': [b for r in rows for b in r[1:]]}))
`, [file]);
    expect(got.size).toEqual([width, height]);
    expect([got.depth, got.colour]).toEqual([8, 6]);
    expect(got.text).toEqual({ Credit: 'Tessera test, café', Software: 'Tessera' });
    expect(got.filters).toEqual(new Array(height).fill(0));
    expect(got.pixels).toEqual(Array.from(rgba));
  });

  it('refuses sizes that do not match and text that is not Latin-1', () => {
    expect(() => encodePng(new Uint8Array(12), 2, 2)).toThrow(/12 bytes for 2 x 2 RGBA pixels \(16 expected\)/);
    expect(() => encodePng(new Uint8Array(4), 1, 1, { Credit: 'Ω' })).toThrow(/text Credit: 'Ω' is not Latin-1/);
    expect(() => encodePng(new Uint8Array(0), 0, 1)).toThrow(/must be positive integers/);
  });
});
