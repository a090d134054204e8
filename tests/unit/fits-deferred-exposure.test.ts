// Deferred Exposures (lib/fits/deferredExposure.ts; the storage class's openDeferredDataset): over a file
// read synchronously, and over one in memory, they give the planes readExposure gives, whole and by
// region (the real HSC cut-out, whose mask is 16-bit and whose xy0 is (100, 100)), with the PSF a warp
// carries decoded; a region outside the box, a truncated file and a storage class that cannot be deferred
// are errors naming the file; closing releases the file descriptor.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { readExposure, readFitsBytes } from '../../lib/fits/index.js';
import { deferExposure, rowsOf } from '../../lib/fits/deferredExposure.js';
import { encodeDataset, openDeferredDataset } from '../../lib/pipeline/storageClasses.js';
import { syncFileSource } from '../../node/fits/fileSource.js';
import { gaussianPsfModel } from '../helpers/psfModels.js';
import { realFile, testOutputDir } from '../helpers/paths.js';
import type { DeferredExposure } from '../../lib/fits/deferredExposure.js';

const HSC = realFile('hsc_afw/HSC-0908120-056-small.fits');

describe('a deferred Exposure', () => {
  it('reads the planes readExposure reads, whole and by region, from the file and from memory', async () => {
    const whole = await readExposure(readFitsBytes(HSC, fs.readFileSync(HSC)));
    const opened = openDeferredDataset('Exposure', syncFileSource(HSC));
    try {
      const fromFile = opened.value as DeferredExposure, inMemory = deferExposure(whole, HSC);
      for (const e of [fromFile, inMemory]) {
        expect([e.width, e.height, e.x0, e.y0]).toEqual([200, 200, 100, 100]);
        expect(e.maskPlanes).toEqual(whole.maskPlanes);
        const all = e.read(['IMAGE', 'MASK', 'VARIANCE']);
        expect(all.image).toEqual(whole.image);
        expect(all.mask).toEqual(whole.mask);
        expect(all.variance).toEqual(whole.variance);
        // Rows 130-146 (parent frame), and a box inside them.
        const band = e.read(['MASK'], rowsOf(e, 130, 17));
        expect(band.mask).toEqual(whole.mask.subarray(30 * 200, 47 * 200));
        const box = e.read(['IMAGE'], { x0: 150, y0: 260, width: 7, height: 5 });
        expect(box.image![4 * 7 + 6]).toBe(whole.image[(164 * 200) + 56]);
        expect(() => e.read(['IMAGE'], { x0: 99, y0: 100, width: 5, height: 5 })).toThrow(/HSC-0908120-056-small\.fits: the exposure's box \(100, 100\) 200x200 does not hold the region \(99, 100\)/);
      }
    } finally {
      opened.close();
    }
  });

  it('carries the PSF of a warp, and is closed with its file', () => {
    const dir = testOutputDir('deferred-exposure');
    const n = 40 * 30, file = path.join(dir, 'warp.fits');
    const psf = gaussianPsfModel(2.5, 21);
    fs.writeFileSync(file, encodeDataset('Exposure', {
      width: 40, height: 30, x0: 7, y0: 9, image: Float32Array.from({ length: n }, (_, i) => i), mask: new Int32Array(n).fill(2), variance: new Float32Array(n).fill(3),
      maskPlanes: { BAD: 0, SAT: 1 }, metadata: readFitsBytes(HSC, fs.readFileSync(HSC)).hdus[0]!.header, wcsHeader: readFitsBytes(HSC, fs.readFileSync(HSC)).hdus[1]!.header, psf,
    }, file));
    const source = syncFileSource(file);
    const opened = openDeferredDataset('Exposure', source);
    const e = opened.value as DeferredExposure & { psf?: typeof psf };
    expect(e.psf!.kernelImageAt(20, 15, 21)).toEqual(psf.kernelImageAt(20, 15, 21));
    expect(e.read(['IMAGE'], rowsOf(e, 10, 1)).image).toEqual(Float32Array.from({ length: 40 }, (_, i) => 40 + i));
    opened.close();
    expect(() => source.read(0, 10)).toThrow(/EBADF|bad file descriptor/i);
  });

  it('names the file when it is truncated, or when its storage class cannot be deferred', () => {
    const dir = testOutputDir('deferred-exposure-bad');
    const cut = path.join(dir, 'cut.fits');
    fs.writeFileSync(cut, fs.readFileSync(HSC).subarray(0, 2880 * 30));
    expect(() => openDeferredDataset('Exposure', syncFileSource(cut))).toThrow(/cut\.fits.*(too short|truncated)/);
    expect(() => openDeferredDataset('SourceCatalog', syncFileSource(cut))).toThrow(/cut\.fits: storage class 'SourceCatalog' cannot be read deferred/);
  });
});
