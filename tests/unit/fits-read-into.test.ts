// Reading an image straight into a caller's buffer (a wasm plane): the pixels are a view over that
// buffer, equal to a normal read, from a file source, from bytes in memory and for unsigned 16-bit data.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { openFits, readFitsBytes, writeFits, FitsError } from '../../lib/fits/index.js';
import { fileSource } from '../../node/fits/fileSource.js';
import { loadTessera } from '../../node/wasm.js';
import { realFile, testOutputDir } from '../helpers/paths.js';

describe('readImage into a destination buffer', () => {
  const dir = testOutputDir('fits-read-into');
  const width = 123, height = 77;
  const pixels = Float32Array.from({ length: width * height }, (_, i) => Math.sin(i) * 1e4);
  const file = path.join(dir, 'image.fits');
  fs.writeFileSync(file, writeFits([{ data: pixels, shape: [height, width] }]));

  it('fills a wasm plane from a file and returns a view over wasm memory', async () => {
    const { planes } = await loadTessera('release');
    const ptr = planes.alloc(pixels.byteLength);
    const f = await openFits(await fileSource(file));
    const image = await f.readImage(0, { into: planes.u8(ptr, pixels.byteLength) });
    await f.close();
    expect(image.data.buffer).toBe(planes.f32(ptr, 1).buffer);
    expect((image.data as Float32Array).byteOffset).toBe(ptr);
    expect(Buffer.from(planes.f32(ptr, pixels.length).slice().buffer)).toEqual(Buffer.from(pixels.buffer));
    planes.release(ptr);
  });

  it('does the same from bytes in memory, and for unsigned 16-bit pixels (BZERO 32768)', () => {
    const real = realFile('saao_raw_overscan/a8280271.fits');
    const f = readFitsBytes(real, new Uint8Array(fs.readFileSync(real)));
    const plain = f.readImage(0);
    expect(plain.data).toBeInstanceOf(Uint16Array);
    const target = new Uint8Array(f.hdu(0).dataSize + 8).subarray(8);
    const into = f.readImage(0, { into: target });
    expect(into.data).toBeInstanceOf(Uint16Array);
    expect(into.data.buffer).toBe(target.buffer);
    expect(Array.from(into.data as Uint16Array)).toEqual(Array.from(plain.data as Uint16Array));
  });

  it('refuses a buffer too small or misaligned for the image, naming the file and HDU', () => {
    const f = readFitsBytes(file, new Uint8Array(fs.readFileSync(file)));
    expect(() => f.readImage(0, { into: new Uint8Array(100) })).toThrow(FitsError);
    expect(() => f.readImage(0, { into: new Uint8Array(100) })).toThrow(/image\.fits \[HDU 0\]: destination buffer holds 100 bytes/);
    expect(() => f.readImage(0, { into: new Uint8Array(pixels.byteLength + 1).subarray(1) })).toThrow(/not aligned to 4 bytes/);
  });
});
