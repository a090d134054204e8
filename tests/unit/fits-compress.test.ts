/**
 * Tile-compressed images (lib/fits/tilecompression.ts, rice.ts, quantize.ts) against Debian's
 * fpack/funpack (cfitsio): synthetic and real images are compressed with fpack under many options,
 * decompressed by us and by funpack, and compared bit for bit (floats as their IEEE bytes; NaN
 * positions must match). Integer and lossless cases must also equal the original pixels exactly.
 * Our own writer (lib/fits/compressImage.ts, GZIP_2 in row tiles) is checked the other way round:
 * funpack and astropy read its files back to the original pixels, and a band of rows reads only its tiles.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FitsHeader } from '../../lib/fits/header.js';
import { FitsError } from '../../lib/fits/errors.js';
import { compressedImageInfo, decompressImage, isTileCompressed } from '../../lib/fits/tilecompression.js';
import type { DecompressedPixels } from '../../lib/fits/tilecompression.js';
import { ditherRandoms, N_RANDOM } from '../../lib/fits/quantize.js';
import { riceDecompress, RiceError } from '../../lib/fits/rice.js';
import { writeFits } from '../../lib/fits/writer.js';
import { readExposure, writeExposure, type Exposure } from '../../lib/fits/exposure.js';
import { openFitsSync, readFitsBytes } from '../../lib/fits/file.js';
import { deferredExposureFile } from '../../lib/fits/deferredExposure.js';
import { syncBytesSource } from '../../lib/fits/source.js';
import { zlibCodec } from '../../node/fits/zlibCodec.js';
import type { ImageHduSpec } from '../../lib/fits/writer.js';
import type { EncodeOptions, ImageArray } from '../../lib/fits/image.js';
import { realFile, testOutputDir } from '../helpers/paths.js';
import { runPythonJson } from '../helpers/python.js';

const FPACK = '/usr/bin/fpack';
const FUNPACK = '/usr/bin/funpack';
const IMCOPY = '/usr/bin/imcopy';

// ---------------------------------------------------------------------------------------------
// Small local FITS helpers (the file layer is written elsewhere; these only serve the tests).

interface Hdu { header: FitsHeader; dataStart: number; dataLength: number }

function listHdus(bytes: Uint8Array, source: string): Hdu[] {
  const out: Hdu[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const { header, byteLength } = FitsHeader.parse(bytes, pos, source, out.length);
    const naxis = header.getNumber('NAXIS') ?? 0;
    let n = naxis > 0 ? 1 : 0;
    for (let i = 1; i <= naxis; i++) n *= header.getNumber(`NAXIS${i}`)!;
    const dataLength = (Math.abs(header.getNumber('BITPIX')!) / 8) * (header.getNumber('GCOUNT') ?? 1) * ((header.getNumber('PCOUNT') ?? 0) + n);
    out.push({ header, dataStart: pos + byteLength, dataLength });
    pos += byteLength + Math.ceil(dataLength / 2880) * 2880;
  }
  return out;
}

function bigEndianBytes(values: ArrayLike<number>, bitpix: number): Uint8Array {
  const size = Math.abs(bitpix) / 8;
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    switch (bitpix) {
      case 8: view.setUint8(i, v); break;
      case 16: view.setInt16(2 * i, v); break;
      case 32: view.setInt32(4 * i, v); break;
      case -32: view.setFloat32(4 * i, v); break;
      case -64: view.setFloat64(8 * i, v); break;
      default: throw new Error(`bitpix ${bitpix}`);
    }
  }
  return out;
}

/**
 * Writes a single-HDU FITS image with the file layer's writer. `dims` in FITS order (NAXIS1 first);
 * typed arrays are stored in their natural BITPIX (Uint16Array with BZERO = 32768), `encode` scales.
 */
function writeImage(file: string, dims: number[], data: ImageArray, encode?: EncodeOptions): void {
  const spec: ImageHduSpec = { data, shape: [...dims].reverse() };
  if (encode) spec.encode = encode;
  fs.writeFileSync(file, writeFits([spec], { name: file }));
}

function fpack(dir: string, input: string, flags: string[], name: string): string {
  const out = path.join(dir, `${name}.fz`);
  execFileSync(FPACK, [...flags, '-O', out, input], { stdio: 'pipe' });
  return out;
}

/** cfitsio's general image reader: `imcopy in.fz[ext] out.fits` decompresses through fits_read_img. */
function imcopy(dir: string, input: string, ext: number, name: string): Uint8Array {
  const out = path.join(dir, `${name}.imcopy.fits`);
  fs.rmSync(out, { force: true });
  execFileSync(IMCOPY, [`${input}[${ext}]`, out], { stdio: 'pipe' });
  return new Uint8Array(fs.readFileSync(out));
}

function funpack(dir: string, input: string, name: string): Uint8Array {
  const out = path.join(dir, `${name}.funpacked.fits`);
  execFileSync(FUNPACK, ['-O', out, input], { stdio: 'pipe' });
  return new Uint8Array(fs.readFileSync(out));
}

/** Our decompression of every compressed HDU of a .fz file. */
function decompressFile(file: string): Array<{ header: FitsHeader; pixels: DecompressedPixels }> {
  const bytes = new Uint8Array(fs.readFileSync(file));
  return listHdus(bytes, file)
    .map((h, i) => ({ ...h, i }))
    .filter((h) => isTileCompressed(h.header))
    .map((h) => ({ header: h.header, pixels: decompressImage(h.header, bytes.subarray(h.dataStart, h.dataStart + h.dataLength), file, h.i) }));
}

/** The one compressed image of a .fz made from a single-image file. */
function decompressSingle(file: string): { header: FitsHeader; pixels: DecompressedPixels } {
  const all = decompressFile(file);
  expect(all.length).toBe(1);
  return all[0]!;
}

/** Image HDUs (with data) of an uncompressed file: header and raw big-endian data bytes. */
function imageHdus(bytes: Uint8Array, source: string): Array<{ header: FitsHeader; data: Uint8Array }> {
  return listHdus(bytes, source)
    .filter((h) => h.dataLength > 0 && (h.header.get('SIMPLE') === true || h.header.getString('XTENSION') === 'IMAGE'))
    .map((h) => ({ header: h.header, data: bytes.subarray(h.dataStart, h.dataStart + h.dataLength) }));
}

/**
 * Compares our floats with funpack's stored floats bit for bit; funpack writes undefined pixels as
 * NaN (0xFFFFFFFF), so NaN positions must agree and every other pixel must have identical bytes.
 */
function compareFloatBits(ours: DecompressedPixels, funpacked: Uint8Array, bitpix: -32 | -64, options: { skipOursNaN?: boolean } = {}): { mismatches: number; nans: number; compared: number } {
  const size = bitpix === -32 ? 4 : 8;
  expect(ours).toBeInstanceOf(bitpix === -32 ? Float32Array : Float64Array);
  expect(funpacked.length).toBe(ours.length * size);
  const mine = bigEndianBytes(ours as Float32Array, bitpix);
  const view = new DataView(funpacked.buffer, funpacked.byteOffset, funpacked.byteLength);
  let mismatches = 0;
  let nans = 0;
  let compared = 0;
  for (let i = 0; i < ours.length; i++) {
    const theirs = size === 4 ? view.getFloat32(i * 4) : view.getFloat64(i * 8);
    if (options.skipOursNaN && Number.isNaN(ours[i] as number)) continue;
    compared++;
    if (Number.isNaN(theirs)) {
      nans++;
      if (!Number.isNaN(ours[i] as number)) mismatches++;
      continue;
    }
    for (let k = 0; k < size; k++) {
      if (mine[i * size + k] !== funpacked[i * size + k]) { mismatches++; break; }
    }
  }
  return { mismatches, nans, compared };
}

function decodeBigEndian(data: Uint8Array, bitpix: number): number[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = data.length / (Math.abs(bitpix) / 8);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    out[i] = bitpix === 8 ? view.getUint8(i) : bitpix === 16 ? view.getInt16(2 * i) : bitpix === 32 ? view.getInt32(4 * i)
      : bitpix === -32 ? view.getFloat32(4 * i) : view.getFloat64(8 * i);
  }
  return out;
}

function compressedTable(file: string): { header: FitsHeader; data: Uint8Array; hdu: number } {
  const bytes = new Uint8Array(fs.readFileSync(file));
  const hdus = listHdus(bytes, file);
  const i = hdus.findIndex((h) => isTileCompressed(h.header));
  const h = hdus[i]!;
  return { header: h.header, data: bytes.slice(h.dataStart, h.dataStart + h.dataLength), hdu: i };
}

/** Number of rows whose COMPRESSED_DATA descriptor is empty (tiles stored by a fallback column). */
function fallbackTiles(header: FitsHeader, data: Uint8Array): number {
  const rowBytes = header.getNumber('NAXIS1')!;
  const rows = header.getNumber('NAXIS2')!;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let n = 0;
  for (let r = 0; r < rows; r++) if (view.getInt32(r * rowBytes) === 0) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Synthetic images: deterministic noise from a seeded generator.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

const NX = 317;
const NY = 300;

/** Smooth background + noise + stars, a negative corner, NaNs, exact zeros and two constant rows. */
function skyImage(nx: number, ny: number, seed: number): Float32Array {
  const g = gaussian(mulberry32(seed));
  const img = new Float32Array(nx * ny);
  const stars = Array.from({ length: 25 }, (_, i) => ({ x: (i * 97) % nx, y: (i * 61) % ny, f: 2000 + 300 * i }));
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      let v = 1000 + 40 * Math.sin(x / 40) * Math.cos(y / 55) + 0.3 * x + 10 * g();
      for (const s of stars) {
        const r2 = (x - s.x) ** 2 + (y - s.y) ** 2;
        if (r2 < 100) v += s.f * Math.exp(-r2 / 4.5);
      }
      if (x < 60 && y > ny - 50) v -= 1500; // a negative region
      img[y * nx + x] = v;
    }
  }
  for (let i = 0; i < img.length; i += 997) img[i] = NaN;
  for (let y = 40; y < 44; y++) for (let x = 100; x < 110; x++) img[y * nx + x] = NaN;
  for (let i = 13; i < img.length; i += 1231) img[i] = 0;
  // Two constant rows: they cannot be quantised, so cfitsio gzips them losslessly per tile.
  for (let y = 10; y < 12; y++) for (let x = 0; x < nx; x++) img[y * nx + x] = 0;
  return img;
}

describe('dither random table (fits_init_randoms)', () => {
  it('reproduces the Park-Miller sequence cfitsio stores as float32', () => {
    const r = ditherRandoms();
    expect(r.length).toBe(N_RANDOM);
    // First deviate: 16807 / (2^31 - 1) rounded to float32; the generator self-checks the 10000th seed.
    expect(r[0]).toBe(Math.fround(16807 / 2147483647));
    expect(r[1]).toBe(Math.fround((16807 * 16807) / 2147483647));
    let min = 1;
    let max = 0;
    for (const v of r) { min = Math.min(min, v); max = Math.max(max, v); }
    expect(min).toBeGreaterThan(0);
    expect(max).toBeLessThan(1);
  });
});

describe('Rice decoder edge cases', () => {
  it('rejects a truncated stream with a RiceError instead of reading past the end', () => {
    // First pixel 5 (4 bytes), then an FS code demanding coded pixels, but the stream stops.
    const stream = new Uint8Array([0, 0, 0, 5, 0b00010000]);
    expect(() => riceDecompress(stream, 4, 32, 64, new Int32Array(64))).toThrow(RiceError);
  });

  it('decodes an all-zero-difference block (FS = -1) to the first pixel repeated', () => {
    // 16-bit: first pixel 0xFFFE (-2), FS code 0 in 4 bits means "all differences zero".
    const out = new Int32Array(20);
    riceDecompress(new Uint8Array([0xff, 0xfe, 0x00]), 2, 32, 20, out);
    expect(Array.from(out)).toEqual(new Array(20).fill(-2));
  });
});

describe('tile-compressed images vs funpack', () => {
  let dir = '';
  let floatFile = '';
  let sky: Float32Array;

  beforeAll(() => {
    dir = testOutputDir('fits-compress');
    sky = skyImage(NX, NY, 7);
    floatFile = path.join(dir, 'sky-f32.fits');
    writeImage(floatFile, [NX, NY], sky);
  });

  const floatCases: Array<{ name: string; flags: string[]; zcmptype: string; zquantiz: string; rowTiles: boolean }> = [
    { name: 'rice-default', flags: [], zcmptype: 'RICE_1', zquantiz: 'SUBTRACTIVE_DITHER_1', rowTiles: true },
    { name: 'rice-seed9999', flags: ['-q9999', '4'], zcmptype: 'RICE_1', zquantiz: 'SUBTRACTIVE_DITHER_1', rowTiles: true },
    { name: 'rice-odd-tiles', flags: ['-t', '50,37'], zcmptype: 'RICE_1', zquantiz: 'SUBTRACTIVE_DITHER_1', rowTiles: false },
    { name: 'rice-dither2-whole', flags: ['-qz9990', '4', '-w'], zcmptype: 'RICE_ONE', zquantiz: 'SUBTRACTIVE_DITHER_2', rowTiles: true },
    { name: 'rice-dither2-rows', flags: ['-qz', '2'], zcmptype: 'RICE_ONE', zquantiz: 'SUBTRACTIVE_DITHER_2', rowTiles: true },
    { name: 'rice-nodither', flags: ['-q0', '4'], zcmptype: 'RICE_1', zquantiz: 'NO_DITHER', rowTiles: true },
    { name: 'rice-absolute-q', flags: ['-q', '-0.25', '-t', '64,64'], zcmptype: 'RICE_1', zquantiz: 'SUBTRACTIVE_DITHER_1', rowTiles: false },
    { name: 'gzip1', flags: ['-g'], zcmptype: 'GZIP_1', zquantiz: 'SUBTRACTIVE_DITHER_1', rowTiles: true },
    { name: 'gzip2', flags: ['-g2', '-t', '100,7'], zcmptype: 'GZIP_2', zquantiz: 'SUBTRACTIVE_DITHER_1', rowTiles: false },
  ];

  for (const c of floatCases) {
    it(`float32 ${c.name} (${c.flags.join(' ') || 'defaults'}) decodes bit-identically to cfitsio`, () => {
      // Reference 1: cfitsio's library reader (imcopy, fits_read_img), which reads without null
      // checking, so it is compared on every pixel that is not undefined.
      const fz = fpack(dir, floatFile, c.flags, `sky-${c.name}`);
      const { header, pixels } = decompressSingle(fz);
      expect(header.getString('ZCMPTYPE')).toBe(c.zcmptype);
      expect(header.getString('ZQUANTIZ')).toBe(c.zquantiz);
      const [copied] = imageHdus(imcopy(dir, fz, 1, `sky-${c.name}`), 'imcopy');
      const vsImcopy = compareFloatBits(pixels, copied!.data, -32, { skipOursNaN: true });
      expect(vsImcopy.mismatches).toBe(0);
      expect(vsImcopy.compared).toBeGreaterThan(sky.length - 200);
      if (c.rowTiles) {
        // Reference 2: funpack, which also turns undefined pixels into NaN. (cfitsio 4.2.0's fpack
        // drops the NaNs of tiles that are not whole rows, and its funpack misplaces the rows of
        // such tiles when the image holds NaNs, so those cases are checked on a NaN-free image below.)
        const [unpacked] = imageHdus(funpack(dir, fz, `sky-${c.name}`), 'funpack');
        const { mismatches, nans } = compareFloatBits(pixels, unpacked!.data, -32);
        expect(mismatches).toBe(0);
        const inputNans = sky.reduce((n, v) => n + (Number.isNaN(v) ? 1 : 0), 0);
        expect(nans).toBe(inputNans);
      }
      // Quantisation error stays within about half a level (q=4: sigma/4 = 2.5; -qz 2: sigma/2).
      // (Only for row tiles: with the NaNs lost by fpack, 2-D tiles get a coarser, noisier step.)
      if (c.rowTiles) {
        let maxErr = 0;
        for (let i = 0; i < sky.length; i++) if (!Number.isNaN(sky[i]!)) maxErr = Math.max(maxErr, Math.abs((pixels[i] as number) - sky[i]!));
        expect(maxErr).toBeLessThan(c.name === 'rice-dither2-rows' ? 6 : 3.5);
      }
      if (c.zquantiz === 'SUBTRACTIVE_DITHER_2') {
        // Exact zeros stay exactly zero under SUBTRACTIVE_DITHER_2.
        let zeros = 0;
        for (let i = 13; i < sky.length; i += 1231) if (sky[i] === 0) { expect(Object.is(pixels[i], 0)).toBe(true); zeros++; }
        expect(zeros).toBeGreaterThan(50);
      }
    });
  }

  it('tiles that are not whole rows (NaN-free image) decode bit-identically to funpack', () => {
    const clean = sky.map((v) => (Number.isNaN(v) ? 500 : v));
    const file = path.join(dir, 'sky-clean.fits');
    writeImage(file, [NX, NY], clean);
    for (const flags of [['-t', '50,37'], ['-q', '-0.25', '-t', '64,64'], ['-g2', '-t', '100,7'], ['-qz', '4', '-t', '317,16']]) {
      const name = `clean-${flags.join('').replace(/[^a-z0-9]/gi, '')}`;
      const fz = fpack(dir, file, flags, name);
      const { pixels } = decompressSingle(fz);
      const [unpacked] = imageHdus(funpack(dir, fz, name), 'funpack');
      const r = compareFloatBits(pixels, unpacked!.data, -32);
      expect(r.mismatches).toBe(0);
      expect(r.nans).toBe(0);
      expect(r.compared).toBe(NX * NY);
    }
  });

  it('uses the lossless GZIP_COMPRESSED_DATA fallback for constant tiles and restores them exactly', () => {
    const fz = fpack(dir, floatFile, [], 'sky-fallback');
    const { header, data, hdu } = compressedTable(fz);
    expect(header.getString('TTYPE4')).toBe('GZIP_COMPRESSED_DATA');
    expect(fallbackTiles(header, data)).toBe(2); // rows 10 and 11
    const pixels = decompressImage(header, data, fz, hdu) as Float32Array;
    for (let x = 0; x < NX; x++) {
      expect(Object.is(pixels[10 * NX + x], 0)).toBe(true);
      expect(Object.is(pixels[11 * NX + x], 0)).toBe(true);
    }
  });

  it('ZDITHER0 selects the dither offsets: two seeds give different pixels from the same image', () => {
    const a = decompressFile(fpack(dir, floatFile, ['-q100', '4'], 'sky-seed100'))[0]!.pixels as Float32Array;
    const b = decompressFile(fpack(dir, floatFile, ['-q101', '4'], 'sky-seed101'))[0]!.pixels as Float32Array;
    let differ = 0;
    for (let i = 0; i < a.length; i++) if (!Number.isNaN(a[i]!) && a[i] !== b[i]) differ++;
    expect(differ).toBeGreaterThan(a.length / 2);
  });

  it('lossless float GZIP (-g -q 0) and NOCOMPRESS (-d) return the original floats exactly', () => {
    for (const [name, flags, type] of [['lossless', ['-g', '-q', '0'], 'GZIP_1'], ['nocompress', ['-d'], 'NOCOMPRESS']] as const) {
      const fz = fpack(dir, floatFile, [...flags], `sky-${name}`);
      const { header, pixels } = decompressSingle(fz);
      expect(header.getString('ZCMPTYPE')).toBe(type);
      expect(pixels).toBeInstanceOf(Float32Array);
      // GZIP keeps NaN; cfitsio's NOCOMPRESS writer stores NaN as its FLOATNULLVALUE -9.11912e-36,
      // which funpack (and we) return as that number.
      const nanAs = name === 'lossless' ? NaN : Math.fround(-9.11912e-36);
      let bad = 0;
      for (let i = 0; i < sky.length; i++) {
        const expected = Number.isNaN(sky[i]!) ? nanAs : sky[i]!;
        if (!Object.is(pixels[i], expected)) bad++;
      }
      expect(bad).toBe(0);
      const [unpacked] = imageHdus(funpack(dir, fz, `sky-${name}`), 'funpack');
      expect(compareFloatBits(pixels, unpacked!.data, -32).mismatches).toBe(0);
    }
  });

  it('float64 images quantise to Float64Array bit-identical to funpack', () => {
    const nx = 131;
    const ny = 77;
    const g = gaussian(mulberry32(11));
    const img = new Float64Array(nx * ny).map((_, i) => 1e-3 * Math.sin(i / 500) + 1e-5 * g());
    img[500] = NaN;
    const file = path.join(dir, 'f64.fits');
    writeImage(file, [nx, ny], img);
    for (const flags of [[], ['-t', '131,9'], ['-g2']]) {
      const name = `f64-${flags.join('').replace(/[^a-z0-9]/gi, '')}`;
      const fz = fpack(dir, file, flags, name);
      const { pixels } = decompressSingle(fz);
      const [unpacked] = imageHdus(funpack(dir, fz, name), 'funpack');
      const r = compareFloatBits(pixels, unpacked!.data, -64);
      expect(r.mismatches).toBe(0);
      expect(r.nans).toBe(1);
      expect(r.compared).toBe(nx * ny);
    }
  });

  const intCases: Array<{ name: string; bitpix: 8 | 16 | 32; make: (g: () => number, r: () => number, i: number) => number; expected: string }> = [
    { name: 'int16', bitpix: 16, make: (g, _r, i) => Math.round(200 * Math.sin(i / 300) + 30 * g() - (i % 5000 === 0 ? 3000 : 0)), expected: 'Int16Array' },
    { name: 'int32', bitpix: 32, make: (g, r, i) => Math.round(1e5 * g() + (r() < 0.01 ? 2e9 * (r() - 0.5) : 0) - (i % 97)), expected: 'Int32Array' },
    { name: 'uint16', bitpix: 16, make: (_g, r) => Math.floor(r() * 65536) - 32768, expected: 'Uint16Array' },
    { name: 'uint8', bitpix: 8, make: (g, _r, i) => Math.max(0, Math.min(255, Math.round(120 + 40 * Math.sin(i / 50) + 20 * g()))), expected: 'Uint8Array' },
    // Pure noise over the whole range forces Rice's high-entropy (raw) blocks for 32 and 8 bits.
    { name: 'int32-noise', bitpix: 32, make: (_g, r) => Math.floor(r() * 4294967296) - 2147483648, expected: 'Int32Array' },
    { name: 'uint8-noise', bitpix: 8, make: (_g, r) => Math.floor(r() * 256), expected: 'Uint8Array' },
  ];

  for (const c of intCases) {
    it(`${c.name} images are exact under Rice, GZIP_1, GZIP_2, NOCOMPRESS and odd tiles`, () => {
      const nx = 301;
      const ny = 257;
      const rand = mulberry32(c.bitpix * 31 + c.name.length);
      const g = gaussian(rand);
      const raw = Array.from({ length: nx * ny }, (_, i) => c.make(g, rand, i));
      const file = path.join(dir, `${c.name}.fits`);
      const bzero = c.name === 'uint16' ? 32768 : 0;
      writeImage(file, [nx, ny], c.bitpix === 8 ? Uint8Array.from(raw) : c.bitpix === 32 ? Int32Array.from(raw) : bzero ? Uint16Array.from(raw, (v) => v + bzero) : Int16Array.from(raw));
      const expectedBytepix = String(c.bitpix / 8);
      // (fpack's NOCOMPRESS mode, -d, refuses 8-bit images.)
      const variants = [[], ['-g'], ['-g2'], ['-t', '64,17'], ['-r', '-t', '301,3'], ['-t', '100,1'], ...(c.bitpix === 8 ? [] : [['-d']])];
      for (const flags of variants) {
        const name = `${c.name}-${flags.join('').replace(/[^a-z0-9]/gi, '') || 'default'}`;
        const fz = fpack(dir, file, flags, name);
        const { header, pixels } = decompressSingle(fz);
        if (flags.length === 0) expect(header.get('ZVAL2')).toBe(Number(expectedBytepix));
        expect(pixels.constructor.name).toBe(c.expected);
        let bad = 0;
        for (let i = 0; i < raw.length; i++) if (pixels[i] !== raw[i]! + bzero) bad++;
        expect(bad).toBe(0);
        // funpack writes the same stored integers.
        const [unpacked] = imageHdus(funpack(dir, fz, name), 'funpack');
        const theirs = decodeBigEndian(unpacked!.data, c.bitpix);
        let diff = 0;
        for (let i = 0; i < raw.length; i++) if (theirs[i] !== raw[i]) diff++;
        expect(diff).toBe(0);
      }
    });
  }

  it('scaled int16 (BSCALE/BZERO, BLANK) gives float32 physical values with NaN for BLANK', () => {
    const nx = 90;
    const ny = 61;
    const raw = Array.from({ length: nx * ny }, (_, i) => (i % 211 === 0 ? -32768 : ((i * 37) % 4001) - 2000));
    const file = path.join(dir, 'scaled16.fits');
    const physical = Float64Array.from(raw, (v) => (v === -32768 ? NaN : v * 2.92273835509 + 3713.66692596));
    writeImage(file, [nx, ny], physical, { bitpix: 16, bscale: 2.92273835509, bzero: 3713.66692596, blank: -32768 });
    const stored = imageHdus(new Uint8Array(fs.readFileSync(file)), file)[0]!;
    expect(decodeBigEndian(stored.data, 16)).toEqual(raw); // the writer stored exactly these integers
    const fz = fpack(dir, file, ['-t', '17,13'], 'scaled16');
    const { pixels } = decompressSingle(fz);
    expect(pixels).toBeInstanceOf(Float32Array);
    let nanCount = 0;
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] === -32768) { expect(Number.isNaN(pixels[i] as number)).toBe(true); nanCount++; continue; }
      // One rounding from the exact double product: identical to Math.fround of the double formula.
      expect(pixels[i]).toBe(Math.fround(raw[i]! * 2.92273835509 + 3713.66692596));
    }
    expect(nanCount).toBe(Math.ceil((nx * ny) / 211));
  });

  it('3-D cube with 3-D tiles (edge tiles on every axis) matches funpack', () => {
    const dims = [23, 19, 5];
    const g = gaussian(mulberry32(3));
    const n = dims[0]! * dims[1]! * dims[2]!;
    const f = new Float32Array(n).map((_, i) => 50 * Math.sin(i / 40) + 3 * g());
    const ints = Array.from({ length: n }, (_, i) => ((i * 7919) % 60001) - 30000);
    const ffile = path.join(dir, 'cube-f32.fits');
    const ifile = path.join(dir, 'cube-i32.fits');
    writeImage(ffile, dims, f);
    writeImage(ifile, dims, Int32Array.from(ints));
    const ffz = fpack(dir, ffile, ['-t', '7,5,2'], 'cube-f32');
    const { header } = compressedTable(ffz);
    expect([header.get('ZTILE1'), header.get('ZTILE2'), header.get('ZTILE3')]).toEqual([7, 5, 2]);
    expect(header.get('NAXIS2')).toBe(4 * 4 * 3);
    const { pixels } = decompressSingle(ffz);
    const [unpacked] = imageHdus(funpack(dir, ffz, 'cube-f32'), 'funpack');
    expect(compareFloatBits(pixels, unpacked!.data, -32).mismatches).toBe(0);
    const info = compressedImageInfo(header, ffz, 1);
    expect(info.shape).toEqual([5, 19, 23]);
    for (const flags of [['-t', '7,5,2'], ['-g2', '-t', '4,19,3'], ['-t', '23,19,2']]) {
      const ifz = fpack(dir, ifile, flags, `cube-i32-${flags.join('')}`);
      const { pixels: ip } = decompressSingle(ifz);
      expect(Array.from(ip as Int32Array)).toEqual(ints);
    }
  });

  it('real DECam float32 image and HSC MEF (image, mask, variance) match funpack bit for bit', () => {
    const decam = realFile('decam_legacypipe_testcase6/images/decam/CP/V4.8.2a/CP20171112/c4d_171113_061941_ooi_r_ls9.S4.fits');
    const hsc = realFile('hsc_afw/HSC-0908120-056-small.fits');
    let compared = 0;
    for (const [name, file] of [['decam', decam], ['hsc', hsc]] as const) {
      for (const flags of [[], ['-t', '33,29']]) {
        const tag = `${name}-${flags.length}`;
        const fz = fpack(dir, file, flags, tag);
        const ours = decompressFile(fz);
        const theirs = imageHdus(funpack(dir, fz, tag), 'funpack');
        expect(ours.length).toBe(theirs.length);
        ours.forEach((o, k) => {
          const bitpix = theirs[k]!.header.getNumber('BITPIX')!;
          expect(compressedImageInfo(o.header, fz, k + 1).bitpix).toBe(bitpix);
          if (bitpix < 0) {
            expect(compareFloatBits(o.pixels, theirs[k]!.data, bitpix as -32 | -64).mismatches).toBe(0);
          } else {
            const t = decodeBigEndian(theirs[k]!.data, bitpix);
            const bzero = theirs[k]!.header.getNumber('BZERO') ?? 0;
            let diff = 0;
            for (let i = 0; i < t.length; i++) if (Number(o.pixels[i]) !== t[i]! + bzero) diff++;
            expect(diff).toBe(0);
          }
          compared++;
        });
      }
    }
    expect(compared).toBe(2 * (1 + 3));
  });

  it('real sep image (int16, BSCALE/BZERO) round-trips through fpack to the same physical values', () => {
    const file = realFile('sep_sextractor/image.fits');
    const fz = fpack(dir, file, [], 'sep');
    const { pixels } = decompressSingle(fz);
    const [orig] = imageHdus(new Uint8Array(fs.readFileSync(file)), file);
    const raw = decodeBigEndian(orig!.data, 16);
    const bscale = orig!.header.getNumber('BSCALE')!;
    const bzero = orig!.header.getNumber('BZERO')!;
    expect(pixels).toBeInstanceOf(Float32Array);
    expect(pixels.length).toBe(256 * 256);
    for (let i = 0; i < raw.length; i++) expect(pixels[i]).toBe(Math.fround(raw[i]! * bscale + bzero));
  });

  it('imageHeader matches astropy CompImageHDU.header (apart from the keywords astropy leaks)', () => {
    const u16 = path.join(dir, 'hdr-u16.fits');
    writeImage(u16, [40, 30], Uint16Array.from({ length: 1200 }, (_, i) => (i * 53) % 65536));
    const files = [
      fpack(dir, floatFile, [], 'hdr-f32'),
      fpack(dir, u16, [], 'hdr-u16'),
      fpack(dir, realFile('hsc_afw/HSC-0908120-056-small.fits'), [], 'hdr-hsc'),
    ];
    const script = `
import sys, json, warnings
from astropy.io import fits
warnings.simplefilter('ignore')
out = []
for f in sys.argv[1:]:
    for h in fits.open(f):
        if isinstance(h, fits.CompImageHDU):
            cards = []
            for c in h.header.cards:
                v = c.value
                if isinstance(v, bool): v = ['bool', v]
                elif isinstance(v, (int, float)): v = ['num', repr(v)]
                elif v is None or type(v).__name__ == 'Undefined': v = ['null', None]
                else: v = ['str', str(v)]
                cards.append([c.keyword, v])
            out.append(cards)
print(json.dumps(out))
`;
    const astropy = runPythonJson<Array<Array<[string, [string, string | boolean | null]]>>>(script, files);
    let n = 0;
    for (const file of files) {
      const bytes = new Uint8Array(fs.readFileSync(file));
      listHdus(bytes, file).forEach((h, i) => {
        if (!isTileCompressed(h.header)) return;
        const info = compressedImageInfo(h.header, file, i);
        // astropy 5.2 leaks ZBLANK and ZDITHER0 (its reserved-keyword regex misses them) and keeps
        // the table's CHECKSUM/DATASUM; we drop all four because they do not describe the image.
        const theirs = astropy[n++]!.filter(([k]) => !['ZBLANK', 'ZDITHER0', 'CHECKSUM', 'DATASUM', ''].includes(k));
        const ours = info.imageHeader.cards.filter((c) => c.key !== '' || !c.commentary);
        expect(ours.map((c) => c.key)).toEqual(theirs.map(([k]) => k));
        ours.forEach((c, k) => {
          const [kind, v] = theirs[k]![1];
          if (c.commentary) return;
          if (kind === 'num') expect(Number(c.value)).toBe(Number(v));
          else if (kind === 'bool') expect(c.value).toBe(v);
          else if (kind === 'str') expect(c.value).toBe(v);
        });
        expect(info.imageHeader.getNumber('NAXIS')).toBe(info.shape.length);
      });
    }
    expect(n).toBe(astropy.length);
    expect(n).toBe(1 + 1 + 3);
  });

  it('random corruption of the table data never hangs and never escapes as anything but FitsError', () => {
    const rand = mulberry32(99);
    let errors = 0;
    let decoded = 0;
    for (const flags of [[], ['-g2'], ['-t', '50,37'], ['-qz', '4']]) {
      const fz = fpack(dir, floatFile, flags, `fuzz-${flags.join('')}`);
      const { header, data, hdu } = compressedTable(fz);
      for (let trial = 0; trial < 60; trial++) {
        const bad = data.slice();
        const hits = 1 + Math.floor(rand() * 8);
        for (let k = 0; k < hits; k++) {
          // Half the hits land in the row descriptors/scales, half anywhere in the heap.
          const main = header.getNumber('NAXIS1')! * header.getNumber('NAXIS2')!;
          const at = rand() < 0.5 ? Math.floor(rand() * main) : main + Math.floor(rand() * (bad.length - main));
          bad[at] = Math.floor(rand() * 256);
        }
        try {
          const pixels = decompressImage(header, bad, 'fuzz.fz', hdu);
          expect(pixels.length).toBe(NX * NY);
          decoded++;
        } catch (e) {
          expect(e).toBeInstanceOf(FitsError);
          expect((e as FitsError).message).toMatch(/^fuzz\.fz \[HDU 1\]: /);
          errors++;
        }
      }
    }
    expect(errors + decoded).toBe(240);
    expect(errors).toBeGreaterThan(20);
  });

  it('reports damaged or unsupported compressed data as FitsError naming file, HDU and tile', () => {
    const fz = fpack(dir, floatFile, [], 'sky-damage');
    const { header, data, hdu } = compressedTable(fz);
    const rowBytes = header.getNumber('NAXIS1')!;
    const view = new DataView(data.buffer);
    // 1. A tile whose descriptor claims fewer bytes than its Rice stream needs.
    const cut = data.slice();
    new DataView(cut.buffer).setInt32(0, 3);
    expect(() => decompressImage(header, cut, 'damaged.fz', hdu)).toThrow(/damaged\.fz \[HDU 1\]: .*tile 1/);
    // 2. A heap pointer outside the heap.
    const wild = data.slice();
    new DataView(wild.buffer).setInt32(rowBytes * 5 + 4, header.getNumber('PCOUNT')! - 2);
    expect(() => decompressImage(header, wild, 'wild.fz', hdu)).toThrow(/heap pointer outside the heap/);
    // 3. Corrupted Rice bits: flip bytes inside the first tile's stream.
    const flipped = data.slice();
    const off = header.getNumber('NAXIS1')! * header.getNumber('NAXIS2')! + view.getInt32(4);
    for (let k = 6; k < view.getInt32(0); k++) flipped[off + k] = 0;
    expect(() => decompressImage(header, flipped, 'zeros.fz', hdu)).toThrow(FitsError);
    // 4. Truncated data area.
    expect(() => decompressImage(header, data.subarray(0, data.length - 10), 'short.fz', hdu)).toThrow(/truncated/);
    // 5. Row count that disagrees with the tiling.
    const wrongTiles = header.clone().set('ZTILE2', 2);
    expect(() => decompressImage(wrongTiles, data, 'tiles.fz', hdu)).toThrow(/300 rows but ZNAXISn\/ZTILEn imply 150 tiles/);
    // 6. HCOMPRESS is recognised and refused.
    const i16 = path.join(dir, 'hcompress-input.fits');
    writeImage(i16, [64, 48], Int16Array.from({ length: 64 * 48 }, (_, i) => (i * 31) % 1000));
    const hfz = fpack(dir, i16, ['-h'], 'int16-hcompress');
    const h = compressedTable(hfz);
    expect(() => decompressImage(h.header, h.data, hfz, h.hdu)).toThrow(/HCOMPRESS_1' is not supported/);
  });
});

describe('our GZIP_2 writer (LSST\'s lossless recipe)', () => {
  let dir = '';
  /** A warp-like exposure: sky over the lower 60 % of rows, NaN with NO_DATA above, as a visit covering part of a patch. */
  let warp: Exposure;
  beforeAll(() => {
    dir = testOutputDir('fits-compress-writer');
    const image = skyImage(NX, NY, 11);
    const mask = new Int32Array(NX * NY);
    const variance = new Float32Array(NX * NY);
    for (let i = 0; i < image.length; i++) {
      const y = Math.floor(i / NX);
      if (y >= 0.6 * NY) { image[i] = NaN; variance[i] = NaN; mask[i] = 1 << 8; continue; }
      variance[i] = Number.isNaN(image[i]!) ? NaN : 100 + Math.abs(image[i]!) / 10;
      mask[i] = image[i]! > 2000 ? 1 << 5 : i % 4099 === 0 ? 1 << 31 : 0;
    }
    const metadata = new FitsHeader();
    metadata.set('VISIT', 1005);
    const wcsHeader = new FitsHeader();
    wcsHeader.set('CTYPE1', 'RA---TAN');
    wcsHeader.set('CTYPE2', 'DEC--TAN');
    wcsHeader.set('CRVAL1', 150.1, undefined, { real: true });
    wcsHeader.set('CRVAL2', 2.2, undefined, { real: true });
    wcsHeader.set('ZEROPNT', 31.4, undefined, { real: true });
    warp = { width: NX, height: NY, x0: 4000, y0: 2100, image, mask, variance, maskPlanes: { DETECTED: 5, NO_DATA: 8, SAT: 31 }, metadata, wcsHeader, components: [] };
  });

  for (const [label, codec] of [['fflate', undefined], ['zlib', zlibCodec]] as const) {
    it(`funpack, astropy and our reader return every plane's pixels exactly (${label} gzip)`, () => {
      const plain = writeExposure(warp, { checksum: true, name: 'plain' });
      const packed = writeExposure(warp, { checksum: true, name: 'packed', compression: { algorithm: 'GZIP_2', ...(codec ? { codec } : {}) } });
      const file = path.join(dir, `warp-${label}.fits`);
      fs.writeFileSync(file, packed);
      // Smaller: the mask about 100x, the NaN rows to almost nothing (measured 2.6x in all for this image).
      expect(packed.length).toBeLessThan(plain.length / 2);
      // cfitsio: funpack restores the very bytes the uncompressed writer stores, plane by plane.
      const unpacked = imageHdus(funpack(dir, file, `warp-${label}`), 'funpack');
      const original = imageHdus(plain, 'plain');
      expect(unpacked.length).toBe(3);
      for (let k = 0; k < 3; k++) expect(Buffer.compare(Buffer.from(unpacked[k]!.data), Buffer.from(original[k]!.data))).toBe(0);
      // Our reader, with the checksums verified.
      const back = readFitsBytes(file, packed, { checksum: 'verify', ...(codec ? { codec } : {}) });
      expect(back.hdus.slice(1, 4).map((h) => [h.compressed, h.extname])).toEqual([[true, 'IMAGE'], [true, 'MASK'], [true, 'VARIANCE']]);
      return readExposure(back).then((e) => {
        expect([e.width, e.height, e.x0, e.y0]).toEqual([NX, NY, 4000, 2100]);
        expect(e.maskPlanes).toEqual(warp.maskPlanes);
        expect(e.wcsHeader.getNumber('ZEROPNT')).toBe(31.4);
        let differ = 0;
        for (let i = 0; i < NX * NY; i++) {
          if (!Object.is(e.image[i], warp.image[i]) || !Object.is(e.variance[i], warp.variance[i]) || e.mask[i] !== warp.mask[i]) differ++;
        }
        expect(differ).toBe(0);
        // astropy's CompImageHDU: the same names, sums and NaN counts.
        const py = runPythonJson<Array<[string, string, number, number]>>(`
import sys, json, numpy as np
from astropy.io import fits
out = []
for h in fits.open(sys.argv[1])[1:4]:
    d = h.data.astype(np.float64)
    out.append([type(h).__name__, h.name, float(np.nansum(d)), int(np.isnan(d).sum())])
print(json.dumps(out))`, [file]);
        const sums = [warp.image, warp.mask, warp.variance].map((a) => { let t = 0, nan = 0; for (const v of a) { if (Number.isNaN(v)) nan++; else t += v; } return [t, nan]; });
        py.forEach(([type, name, sum, nan], k) => {
          expect([type, name, nan]).toEqual(['CompImageHDU', ['IMAGE', 'MASK', 'VARIANCE'][k], sums[k]![1]]);
          expect(Math.abs(sum - sums[k]![0]!)).toBeLessThanOrEqual(1e-9 * Math.abs(sums[k]![0]!) + 1e-6);
        });
      });
    });
  }

  it('reads any band of rows from its own tiles only, for one row or five per tile (fflate and zlib)', () => {
    for (const [tileRows, codec] of [[1, undefined], [5, zlibCodec]] as const) {
      const packed = writeExposure(warp, { name: 'bands', compression: { algorithm: 'GZIP_2', tileRows, ...(codec ? { codec } : {}) } });
      let read = 0;
      const inner = syncBytesSource('bands', packed);
      const counting = { ...inner, name: 'bands', size: packed.length, read: (offset: number, length: number) => { read += length; return inner.read(offset, length); } };
      const file = openFitsSync(counting, codec ? { codec } : {});
      const exposure = deferredExposureFile(file);
      const dataBytes = file.hdus[1]!.dataSize;
      for (const [x0, y0, width, height] of [[0, 0, NX, 1], [0, 7, NX, 13], [5, 3, 100, 1], [31, 178, 200, 9], [0, 174, NX, 12], [0, 0, NX, NY], [10, 299, 7, 1]] as const) {
        read = 0;
        const box = { x0: 4000 + x0, y0: 2100 + y0, width, height };
        const px = exposure.read(['IMAGE', 'MASK', 'VARIANCE'], box);
        const bytesRead = read;
        // Into arrays given (reused planes, as stackWarps gives): full-width bands are inflated straight into them.
        const into = { image: new Float32Array(NX * NY).fill(-1), mask: new Int32Array(NX * NY).fill(-1), variance: new Float32Array(NX * NY).fill(-1) };
        const given = exposure.read(['IMAGE', 'MASK', 'VARIANCE'], box, into);
        expect(given.image!.buffer).toBe(into.image.buffer);
        let differ = 0;
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++) {
            const i = (y0 + y) * NX + x0 + x, o = y * width + x;
            if (!Object.is(px.image![o], warp.image[i]) || px.mask![o] !== warp.mask[i] || !Object.is(px.variance![o], warp.variance[i])) differ++;
            if (!Object.is(into.image[o], warp.image[i]) || into.mask[o] !== warp.mask[i] || !Object.is(into.variance[o], warp.variance[i])) differ++;
          }
        }
        expect(differ, `tileRows ${tileRows}, box ${[x0, y0, width, height].join(',')}`).toBe(0);
        // A band of a few rows reads the tables (8 bytes a tile) and its tiles: a small part of the three planes.
        if (height <= 13) expect(bytesRead, `bytes read for ${height} rows, tileRows ${tileRows}`).toBeLessThan(3 * (NY / tileRows * 8 + dataBytes * 0.12));
      }
      file.close();
    }
  });

  it('refuses what it cannot store losslessly, naming the file', () => {
    const u16 = new Uint16Array(12);
    expect(() => writeFits([{}, { data: u16, shape: [3, 4], compress: { algorithm: 'GZIP_2' } }], { name: 'u16.fits' })).toThrow(/u16\.fits \[HDU 1\]: only unscaled .* \(got Uint16Array\)/);
    expect(() => writeFits([{ data: new Float32Array(12), shape: [3, 4], compress: { algorithm: 'GZIP_2' } }], { name: 'p.fits' })).toThrow(/p\.fits \[HDU 0\]: the primary HDU cannot be tile-compressed/);
    expect(() => writeFits([{}, { data: new Float32Array(24), shape: [2, 3, 4], compress: { algorithm: 'GZIP_2' } }], { name: 'cube.fits' })).toThrow(/cube\.fits \[HDU 1\]: tile compression: only 2-D images/);
  });
});
