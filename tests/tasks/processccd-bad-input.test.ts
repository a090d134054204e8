// Bad input to characterizeImage and calibrate fails the quantum clearly, or degrades the result the
// way LSST carries on, never a crash or a hang: an all-NaN detector, a fully saturated one, an image
// with no stars (AlgorithmErrors with the library's reason; with psfFallback, the header seeing's Gaussian
// or the model the input carries, flagged), and an empty reference-catalogue region
// (calexp and src made with the header WCS kept and ASTROMOK/PHOTOCOK false).
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { FitsHeader } from '../../lib/fits/header.js';
import type { Exposure } from '../../lib/fits/exposure.js';
import { AlgorithmError } from '../../lib/pipeline/errors.js';
import { memoryLogger } from '../../lib/pipeline/logger.js';
import { MASK_PLANES, standardMaskPlanes } from '../../lib/pipeline/maskPlanes.js';
import { runTask } from '../../lib/pipeline/task.js';
import { characterizeImage, type CharacterizeImageOutputs } from '../../lib/tasks/characterizeImage.js';
import { calibrate } from '../../lib/tasks/calibrate.js';
import { GaussianPsf } from '../../lib/measure/psf.js';
import { PsfexModel } from '../../lib/measure/psfModel.js';
import { Random } from '../../lib/sim/random.js';

let tessera: Tessera;
beforeAll(async () => {
  tessera = await loadTessera('release');
});

const W = 256, H = 256;

function wcsHeader(): FitsHeader {
  const s = 0.2 / 3600;
  return new FitsHeader().set('CTYPE1', 'RA---TAN').set('CTYPE2', 'DEC--TAN').set('CRVAL1', 150, undefined, { real: true }).set('CRVAL2', 2, undefined, { real: true })
    .set('CRPIX1', 128.5).set('CRPIX2', 128.5).set('CD1_1', -s).set('CD1_2', 0, undefined, { real: true }).set('CD2_1', 0, undefined, { real: true }).set('CD2_2', s);
}

/** A 256 x 256 exposure: sky noise of sigma 10 e-, plus `stars` Gaussian stars of sigma 2 px. */
function exposure(fill: (image: Float32Array, mask: Int32Array) => void, stars = 0): Exposure {
  const random = Random.stream(5, 'bad-input', stars);
  const image = new Float32Array(W * H), mask = new Int32Array(W * H), variance = new Float32Array(W * H).fill(100);
  for (let i = 0; i < image.length; i++) image[i] = 10 * random.normal();
  const psf = new GaussianPsf(2);
  for (let k = 0; k < stars; k++) {
    const { stamp, size, x0, y0 } = psf.stampAt(20 + random.uniform() * (W - 40), 20 + random.uniform() * (H - 40), 21);
    const flux = 2e4 + random.uniform() * 2e5;
    for (let j = 0; j < size; j++) for (let i = 0; i < size; i++) image[(y0 + j) * W + x0 + i] += flux * stamp[j * size + i]!;
  }
  fill(image, mask);
  return { width: W, height: H, x0: 0, y0: 0, image, mask, variance, maskPlanes: standardMaskPlanes(), metadata: new FitsHeader().set('FILTER', 'HSC-R'), wcsHeader: wcsHeader() };
}

function characterize(e: Exposure): unknown {
  return runTask(characterizeImage, { exposure: e }, {}, { tessera, log: memoryLogger() });
}

describe('characterizeImage and calibrate on bad input', () => {
  it('fails an all-NaN detector as an AlgorithmError naming the background', () => {
    const e = exposure((image) => image.fill(NaN));
    expect(() => characterize(e)).toThrow(AlgorithmError);
    expect(() => characterize(e)).toThrow(/characterizeImage: background: .*(no usable|good) pixel/i);
  });

  it('fails a fully saturated detector as an AlgorithmError, not a crash', () => {
    const e = exposure((image, mask) => { image.fill(65000); mask.fill(1 << MASK_PLANES.SAT); });
    expect(() => characterize(e)).toThrow(AlgorithmError);
  });

  it('fails an image with no stars as an AlgorithmError about the PSF', () => {
    const e = exposure(() => undefined);
    let error: unknown;
    try {
      characterize(e);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AlgorithmError);
    expect((error as Error).message).toMatch(/^characterizeImage: .*(star|PSF|psf)/);
  });

  it('with psfFallback, carries on with the header seeing\'s Gaussian, or the model the input carries, and says so', () => {
    const e = exposure(() => undefined);
    e.wcsHeader.set('FWHM', 4.5, '[pixel] median FWHM', { real: true });
    const run = (input: Exposure) => runTask(characterizeImage, { exposure: input }, { psfFallback: true }, { tessera, log: memoryLogger() }) as CharacterizeImageOutputs;
    const gaussian = run(e).characterized;
    expect(gaussian.metadata.getString('PSFMODEL')).toBe('gaussian');
    expect(gaussian.metadata.getString('PSFNOTE')).toMatch(/star/);
    // The model's adaptive-moment FWHM (pixel included) is the header's: the pixel's 1/12 px^2 came off the sigma.
    expect((gaussian.psf as PsfexModel).fwhmAt(128, 128) / 4.5).toBeCloseTo(1, 2);
    const given = PsfexModel.gaussian(2.5, 25);
    const external = run(Object.assign(exposure(() => undefined), { psf: given })).characterized;
    expect(external.metadata.getString('PSFMODEL')).toBe('external');
    expect(external.psf).toBe(given);
  });

  it('keeps the header WCS and flags the calexp when the reference catalogue has no star in the region', () => {
    const e = exposure(() => undefined, 25);
    const char = characterize(e) as CharacterizeImageOutputs;
    const out = runTask(calibrate, { exposure: char.characterized, background: char.backgroundModel, icSourceCat: char.sourceCat, refCat: [{ id: 1, stars: [] }] }, {}, { tessera, log: memoryLogger() }) as {
      outputExposure: Exposure; outputCat: { length: number; columns: Record<string, unknown> }; matches: { length: number };
    };
    // Both work in place, as LSST's: icExp and the calexp are the input exposure's own planes.
    for (const plane of ['image', 'mask', 'variance'] as const) {
      expect(char.characterized[plane], plane).toBe(e[plane]);
      expect(out.outputExposure[plane], plane).toBe(e[plane]);
    }
    expect(out.outputExposure.metadata.getBoolean('ASTROMOK')).toBe(false);
    expect(out.outputExposure.metadata.getBoolean('PHOTOCOK')).toBe(false);
    expect(out.outputExposure.wcsHeader.getNumber('CRVAL1')).toBe(150);
    expect(out.outputCat.length).toBeGreaterThanOrEqual(10);
    expect(out.outputCat.columns.coord_ra).toBeDefined();
    expect(out.outputCat.columns.base_PsfFlux_flux).toBeUndefined();
    expect(out.matches.length).toBe(0);
  });
});
