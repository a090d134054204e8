// Background estimation (lib/measure/background.ts, kernels in assembly/background.ts) on simulated
// tiny-preset exposures taken through the real isr task, against the simulator's noise-free sky (in the
// ISR frame, tests/tasks/measureField.ts):
// - acceptance (issue 5): after detection and re-estimation (lib/measure/detection.ts detectWithBackground,
//   3 rounds, halos masked: lib/measure/halos.ts), in every 128 x 128 bin the mean of (model - true sky)
//   over the pixels more than 5 FWHM from every truth source (on the detector or rendered from outside it)
//   is under 0.1 sigma of the per-pixel noise. Asserted on four "clean" fields (the sky model's field
//   without objects brighter than 17 mag and without a satellite trail; seeds 70-73: worst bins 0.01-0.03
//   sigma over the 16 seeds 70-85) and on the 16 full fields (scienceExposure: bright stars, four
//   saturating stars, a trail, large galaxies): worst bins 0.01-0.09 sigma, median 0.03 (0.01-0.08 before
//   the halo search's reference sky was clipped and corrected for bins being means; 0.01-0.09 on the 32
//   seeds 86-117 then, not asserted). Without the halo search the full fields' worst bins were 0.02-0.58
//   sigma (the light of bright objects beyond their footprints raises the bins around them); without its
//   growth by one block 0.01-0.10 (seed 73: 0.104, the corner bin beside a de Vaucouleurs galaxy of 15.5
//   mag and r_e 70 px centred 69 px off the detector's edge). The test asserts every field under 0.1 sigma
//   and the median under 0.05, and that the halo search at least halves the worst bin over the 16 fields;
// - the choice of the Chebyshev model (LSST's useApprox) over Akima splines, by the same measure;
// - a large galaxy placed by hand (exponential, r_e 20 px = 3.4", axis ratio 0.7, 16 mag): (model - true
//   sky) summed over its 4 r_e ellipse under 0.5 % of its flux after detect-and-re-estimate (measured
//   -0.07 %; 0.9 % before re-estimation), centred on a bin corner and on a bin centre. Not asserted,
//   measured with the same code on clean field 70: the criterion also holds for that galaxy at 14 and 17 mag
//   (-0.01 %, -0.16 to -0.18 %), for an r_e 40 px one at 14 and 16 mag (-0.01 %, -0.01 to -0.02 %) and for
//   de Vaucouleurs profiles of r_e 20 px (0.01 % at 14 mag, 0.04-0.05 % at 16 mag; before the halo search
//   1.1 %: 12 % of their flux lies beyond 4 r_e);
// - masks (ignored planes, filled bins), analytic surfaces reproduced, the model evaluated against its f64
//   reference, the builds bit-identical, and the FITS round trip of the calexpBackground dataset.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import type { Camera } from '../../lib/sim/camera.js';
import { MASK_PLANES } from '../../lib/pipeline/maskPlanes.js';
import { FitsError } from '../../lib/fits/errors.js';
import { readFitsBytes } from '../../lib/fits/file.js';
import { writeFits } from '../../lib/fits/writer.js';
import { Renderer } from '../../lib/sim/renderer.js';
import { convolveMixtures, sersicMixture } from '../../lib/sim/sersic.js';
import {
  backgroundAt, backgroundImage, chebyshevEvaluator, backgroundListImage, estimateBackground, readBackground, subtractBackground, writeBackground, zeroBackground,
  BackgroundError, type BackgroundModel, type MaskedImage,
} from '../../lib/measure/background.js';
import { detectWithBackground } from '../../lib/measure/detection.js';
import { testCamera } from './simulatedDetector.js';
import {
  binResiduals, cleanExposure, farFromSources, formatBins, masterCalibrations, processField, standardExposure,
  type MasterCalibrations, type ProcessedField,
} from './measureField.js';

let tessera: Tessera;
let camera: Camera;
let calibrations: MasterCalibrations;
const CLEAN_SEEDS = [70, 71, 72, 73];
let clean: ProcessedField[];
let standard: ProcessedField;

const bit = (name: keyof typeof MASK_PLANES): number => 1 << MASK_PLANES[name];

beforeAll(async () => {
  tessera = await loadTessera('release');
  camera = testCamera('tiny', 42);
  calibrations = masterCalibrations(tessera, camera);
  clean = CLEAN_SEEDS.map((seed) => processField(tessera, camera, calibrations, cleanExposure(tessera, camera, seed, 'r')));
  standard = processField(tessera, camera, calibrations, standardExposure(tessera, camera, 77, 'r'));
});

let standardResult: ReturnType<typeof detectWithBackground> | undefined;
/** detectWithBackground on the full field with the defaults, computed once. */
function standardDefault(): ReturnType<typeof detectWithBackground> {
  standardResult ??= detectWithBackground(tessera, standard.post, { detection: { psfSigma: psfSigma(standard) } });
  return standardResult;
}

function psfSigma(field: ProcessedField): number {
  return field.psfFwhm / (2 * Math.sqrt(2 * Math.log(2)));
}

/** Worst bin of the acceptance measure for a background image. */
function worstBin(field: ProcessedField, model: Float32Array): number {
  const bins = binResiduals(field, model, farFromSources(field, 5 * field.psfFwhm));
  return Math.max(...bins.map((b) => Math.abs(b.sigmas)));
}

describe('background against the simulated sky', () => {
  it('acceptance: every bin within 0.1 sigma of the true sky, > 5 FWHM from truth sources, after detect-and-re-estimate (clean fields)', () => {
    clean.forEach((field, k) => {
      const result = detectWithBackground(tessera, field.post, { detection: { psfSigma: psfSigma(field) } });
      const far = farFromSources(field, 5 * field.psfFwhm);
      const bins = binResiduals(field, backgroundImage(tessera, result.background), far);
      const initial = binResiduals(field, backgroundImage(tessera, result.initialBackground), far);
      console.log(`clean field seed ${CLEAN_SEEDS[k]} (FWHM ${field.psfFwhm.toFixed(2)} px): (model - sky) / sigma per bin, re-estimated\n${formatBins(bins)}\n`
        + `  worst bin: initial ${Math.max(...initial.map((b) => Math.abs(b.sigmas))).toFixed(3)}, re-estimated ${Math.max(...bins.map((b) => Math.abs(b.sigmas))).toFixed(3)}`);
      expect(bins).toHaveLength(32);
      for (const b of bins) {
        expect(b.pixels).toBeGreaterThan(1000);
        expect(Math.abs(b.sigmas)).toBeLessThan(0.1);
      }
    });
  });

  it('full field (bright stars, saturated stars, trail): re-estimation at least halves the worst bin error', () => {
    const result = standardDefault();
    const far = farFromSources(standard, 5 * standard.psfFwhm);
    const initial = binResiduals(standard, backgroundImage(tessera, result.initialBackground), far);
    const bins = binResiduals(standard, backgroundImage(tessera, result.background), far);
    const worst = (list: typeof bins): number => Math.max(...list.map((b) => Math.abs(b.sigmas)));
    console.log(`full field seed 77: (model - sky) / sigma per bin, re-estimated\n${formatBins(bins)}\n`
      + `  truth source light at the "far" pixels, per bin (sigma)\n${formatBins(bins.map((b) => ({ ...b, sigmas: b.sourceLight })))}\n`
      + `  worst bin: initial ${worst(initial).toFixed(3)}, re-estimated ${worst(bins).toFixed(3)}`);
    expect(worst(bins)).toBeLessThan(0.5 * worst(initial));
  });

  it('subtracts and detects into the exposure\'s own planes (in place, as calibrate) exactly as into new ones', () => {
    const same = (a: ArrayBufferView, b: ArrayBufferView): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    const detection = { psfSigma: psfSigma(standard) };
    const starts = [
      // calibrate's: a background-subtracted image, a zero starting background, one re-estimate (nothing copied)
      { exposure: { ...standard.post, image: standardDefault().image }, initial: zeroBackground(standard.post.width, standard.post.height), iterations: 1 },
      // a starting model and two re-estimates: the original is read again, so it is kept
      { exposure: standard.post, initial: standardDefault().initialBackground, iterations: 2 },
    ];
    for (const { exposure, ...start } of starts) {
      const reference = detectWithBackground(tessera, exposure, { detection, ...start });
      const own = { ...exposure, image: exposure.image.slice(), mask: exposure.mask.slice() };
      const inPlace = detectWithBackground(tessera, own, { detection, ...start, into: { image: own.image, mask: own.mask } });
      expect(inPlace.image).toBe(own.image);
      expect(inPlace.detection.mask).toBe(own.mask);
      expect(same(inPlace.image, reference.image)).toBe(true);
      expect(same(inPlace.detection.mask, reference.detection.mask)).toBe(true);
      expect(inPlace.background.values).toEqual(reference.background.values);
      expect(inPlace.detection.positive.length).toBe(reference.detection.positive.length);
    }
  });

  it('acceptance on the 16 full fields (seeds 70-85): every worst bin under 0.1 sigma, their median under 0.05; the halo search at least halves the worst over the 16', () => {
    const lines: string[] = [];
    const worst: number[] = [], without: number[] = [];
    for (let seed = 70; seed <= 85; seed++) {
      const field = seed === 77 ? standard : processField(tessera, camera, calibrations, standardExposure(tessera, camera, seed, 'r'));
      const options = { detection: { psfSigma: psfSigma(field) } };
      const result = seed === 77 ? standardDefault() : detectWithBackground(tessera, field.post, options);
      worst.push(worstBin(field, backgroundImage(tessera, result.background)));
      without.push(worstBin(field, backgroundImage(tessera, detectWithBackground(tessera, field.post, { ...options, halos: false }).background)));
      lines.push(`seed ${seed}: worst bin ${worst.at(-1)!.toFixed(3)} sigma (without halos ${without.at(-1)!.toFixed(3)})`);
    }
    console.log(`full fields, (model - sky) / sigma, worst bin per field:\n  ${lines.join('\n  ')}`);
    for (const w of worst) expect(w).toBeLessThan(0.1);
    const sorted = [...worst].sort((a, b) => a - b);
    expect((sorted[7]! + sorted[8]!) / 2).toBeLessThan(0.05);
    expect(Math.max(...worst)).toBeLessThan(0.5 * Math.max(...without));
  });

  it('the Chebyshev model (LSST useApprox, the default) beats Akima splines on the full field and matches them on a clean one', () => {
    const rows: string[] = [];
    const measure = (field: ProcessedField, label: string): Record<'akima' | 'chebyshev', number> => {
      const out = { akima: 0, chebyshev: 0 };
      for (const interpolation of ['akima', 'chebyshev'] as const) {
        const r = field === standard && interpolation === 'chebyshev' ? standardDefault()
          : detectWithBackground(tessera, field.post, { background: { interpolation }, detection: { psfSigma: psfSigma(field) } });
        out[interpolation] = worstBin(field, backgroundImage(tessera, r.background));
      }
      rows.push(`${label}: worst bin akima ${out.akima.toFixed(3)}, chebyshev ${out.chebyshev.toFixed(3)} sigma`);
      return out;
    };
    const full = measure(standard, 'full field seed 77');
    const quiet = measure(clean[0]!, `clean field seed ${CLEAN_SEEDS[0]}`);
    console.log(rows.join('\n'));
    expect(full.chebyshev).toBeLessThan(full.akima);
    expect(quiet.chebyshev).toBeLessThan(0.1);
    expect(quiet.akima).toBeLessThan(0.1);
  });

  it('a large exponential galaxy: background summed over its 4 r_e ellipse under 0.5 % of its flux after detect-and-re-estimate', () => {
    const field = clean[0]!;
    const { width, height } = field.exposure.detector;
    const k0 = field.exposure.sources.findIndex((s) => s.star);
    const psf = field.exposure.profiles[k0]!.profile;
    const reference = field.exposure.sources[k0]!;
    const re = 20, q = 0.7, theta = 0.5, mag = 16;
    const flux = reference.flux * 10 ** (-0.4 * (mag - reference.mag));
    const cos = Math.cos(theta), sin = Math.sin(theta);
    const results: string[] = [];
    // A bin corner (four bins share the galaxy) and a bin centre (one bin mostly covered).
    for (const [cx, cy, label] of [[256.3, 512.4, 'bin corner'], [192.2, 576.7, 'bin centre']] as const) {
      const renderer = new Renderer(tessera, width, height);
      let galaxy: Float32Array;
      try {
        renderer.addSources([{ x: cx, y: cy, flux, profile: convolveMixtures(sersicMixture(1, re, q, theta), psf) }]);
        galaxy = renderer.imageCopy();
      } finally {
        renderer.dispose();
      }
      let s = 4242;
      const normal = (): number => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        const u = (s + 0.5) / 2 ** 32;
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return Math.sqrt(-2 * Math.log(u)) * Math.cos((2 * Math.PI * (s + 0.5)) / 2 ** 32);
      };
      const image = Float32Array.from(field.post.image, (v, i) => v + galaxy[i]! + Math.sqrt(galaxy[i]!) * normal());
      const variance = Float32Array.from(field.post.variance, (v, i) => v + galaxy[i]!);
      const exposure: MaskedImage = { ...field.post, image, variance };
      const excess = (model: BackgroundModel): number => {
        const bg = backgroundImage(tessera, model);
        let sum = 0;
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++) {
            const dx = x - cx, dy = y - cy;
            const u = dx * cos + dy * sin, v = -dx * sin + dy * cos;
            if ((u / (4 * re)) ** 2 + (v / (4 * re * q)) ** 2 <= 1) sum += bg[y * width + x]! - field.truthSky[y * width + x]!;
          }
        }
        return sum / flux;
      };
      const one = detectWithBackground(tessera, exposure, { detection: { psfSigma: psfSigma(field) }, iterations: 1 });
      const three = detectWithBackground(tessera, exposure, { detection: { psfSigma: psfSigma(field) } });
      const [initial, afterOne, afterThree] = [excess(one.initialBackground), excess(one.background), excess(three.background)];
      results.push(`${label} (${cx}, ${cy}): excess / flux initial ${(100 * initial).toFixed(3)} %, 1 round ${(100 * afterOne).toFixed(3)} %, 3 rounds ${(100 * afterThree).toFixed(3)} %`);
      expect(Math.abs(afterThree)).toBeLessThan(0.005);
      expect(Math.abs(afterOne)).toBeLessThan(0.005);
      // Without the detections masked the galaxy's own light drags the background up beyond the limit.
      expect(initial).toBeGreaterThan(0.005);
    }
    console.log(`exponential galaxy, r_e ${re} px, q ${q}, ${mag} mag (${flux.toExponential(3)} e-):\n  ${results.join('\n  ')}`);
  });
});

describe('background bins, masks and models', () => {
  /** A synthetic masked image: a smooth surface plus Gaussian noise of sigma 10. */
  function synthetic(width: number, height: number, surface: (x: number, y: number) => number, noise = 10, seed = 1): MaskedImage {
    let s = seed;
    const normal = (): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const u = (s + 0.5) / 2 ** 32;
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return Math.sqrt(-2 * Math.log(u)) * Math.cos((2 * Math.PI * (s + 0.5)) / 2 ** 32);
    };
    const image = new Float32Array(width * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) image[y * width + x] = surface(x, y) + noise * normal();
    return { width, height, image, mask: new Int32Array(width * height), variance: new Float32Array(width * height).fill(noise * noise) };
  }

  it('ignores BAD, EDGE, DETECTED, DETECTED_NEGATIVE and NO_DATA pixels and non-finite values (SAT counts, as in LSST)', () => {
    const base = synthetic(300, 260, () => 500);
    const base0 = estimateBackground(tessera, base);
    const ignored = ['BAD', 'EDGE', 'DETECTED', 'DETECTED_NEGATIVE', 'NO_DATA'] as const;
    const image = Float32Array.from(base.image);
    const mask = Int32Array.from(base.mask);
    for (let i = 0; i < image.length; i += 7) {
      mask[i] = bit(ignored[(i / 7) % ignored.length]!);
      image[i] = 1e6;
    }
    for (let i = 3; i < image.length; i += 11) if (mask[i] === 0) image[i] = Number.NaN;
    const masked = estimateBackground(tessera, { ...base, image, mask });
    // Different pixels, so not equal, but the ignored ones (1e6 e-) leave no trace.
    for (const v of masked.values) expect(Math.abs(v - 500)).toBeLessThan(1);
    expect(Math.max(...masked.good)).toBeLessThan(Math.max(...base0.good));
    const satImage = Float32Array.from(base.image), satMask = Int32Array.from(base.mask);
    for (let i = 0; i < satImage.length; i += 3) { satMask[i] = bit('SAT'); satImage[i] = 600; }
    const sat = estimateBackground(tessera, { ...base, image: satImage, mask: satMask });
    expect(Math.min(...sat.values)).toBeGreaterThan(520); // SAT pixels are not ignored by default
    const satIgnored = estimateBackground(tessera, { ...base, image: satImage, mask: satMask }, { ignoredPixelMask: ['SAT'] });
    for (const v of satIgnored.values) expect(Math.abs(v - 500)).toBeLessThan(1);
  });

  it('fills a bin without enough good pixels from its neighbours, and refuses an image with none', () => {
    const img = synthetic(384, 384, (x, y) => 100 + 0.1 * x + 0.05 * y); // 3 x 3 bins
    const mask = Int32Array.from(img.mask);
    for (let y = 128; y < 256; y++) for (let x = 128; x < 256; x++) if ((x + y) % 50 !== 0) mask[y * 384 + x] = bit('BAD'); // ~2 % left
    const model = estimateBackground(tessera, { ...img, mask });
    expect(model.good[4]).toBeGreaterThan(0);
    expect(model.filled[4]).toBe(1);
    const neighbours = [0, 1, 2, 3, 5, 6, 7, 8].map((k) => model.values[k]!);
    expect(model.values[4]).toBeCloseTo(neighbours.reduce((a, b) => a + b) / 8, 10);
    expect(Array.from(model.filled).filter((f) => f).length).toBe(1);
    expect(() => estimateBackground(tessera, { ...img, mask: new Int32Array(img.mask.length).fill(bit('NO_DATA')) })).toThrow(BackgroundError);
    expect(() => estimateBackground(tessera, img, { binSize: 0 })).toThrow(BackgroundError);
    expect(() => estimateBackground(tessera, img, { interpolation: 'bicubic' as never })).toThrow(/interpolation/);
  });

  it('lowers the Chebyshev order when the measured bins cannot constrain it (all in one column of bins)', () => {
    const img = synthetic(384, 384, (_x, y) => 100 + 0.05 * y);
    const mask = Int32Array.from(img.mask);
    for (let y = 0; y < 384; y++) for (let x = 0; x < 384; x++) if (x < 128 || x >= 256) mask[y * 384 + x] = bit('BAD');
    const model = estimateBackground(tessera, { ...img, mask });
    expect(Array.from(model.filled)).toEqual([1, 0, 1, 1, 0, 1, 1, 0, 1]);
    // Order 1 (3 terms for 3 bins) has a degenerate x term: order 0, the weighted mean of the bins.
    const bg = backgroundImage(tessera, model);
    expect(bg[0]).toBe(bg[383 * 384 + 383]);
    expect(Math.abs(bg[0]! - (100 + 0.05 * 191.5))).toBeLessThan(0.5);
    expect(backgroundAt(model, 10, 300)).toBeCloseTo(bg[0]!, 3);
  });

  it('evaluates a Chebyshev model on a grid with the same bits as point by point (the halo search\'s reference sky)', () => {
    const img = synthetic(450, 700, (x, y) => 800 + 0.02 * x - 0.03 * y + 2e-5 * (x - 200) * (y - 300), 0);
    const surface = chebyshevEvaluator(estimateBackground(tessera, img, { interpolation: 'chebyshev', nIter: 0 }));
    const xs = [0, 3.5, 117, 449, -2], ys = [0, 351.5, 699, 12];
    const grid = surface.grid(xs, ys);
    expect(grid.length).toBe(20);
    ys.forEach((y, j) => xs.forEach((x, i) => expect(grid[j * xs.length + i]).toBe(surface.at(x, y))));
    expect(Math.abs(surface.at(117, 351.5) - (800 + 0.02 * 117 - 0.03 * 351.5 + 2e-5 * (117 - 200) * (351.5 - 300)))).toBeLessThan(0.05);
  });

  it('reproduces analytic surfaces: a quadratic (Chebyshev, order >= 2) and a plane (Akima, extrapolated to the edges)', () => {
    const quadratic = (x: number, y: number): number => 800 + 0.02 * x - 0.03 * y + 2e-5 * (x - 200) * (y - 300) - 1e-5 * (x - 100) ** 2;
    const plane = (x: number, y: number): number => 800 + 0.02 * x - 0.03 * y;
    const cases = [
      { surface: quadratic, interpolation: 'chebyshev' as const },
      { surface: plane, interpolation: 'akima' as const },
    ];
    for (const { surface, interpolation } of cases) {
      const img = synthetic(450, 700, surface, 0);
      const model = estimateBackground(tessera, img, { interpolation, nIter: 0 });
      const bg = backgroundImage(tessera, model);
      let worst = 0;
      // A bin's plain mean of a surface that is linear within it equals the surface at its centre; the
      // quadratic's bin means differ from the centre values by its second moments (<= 1e-5 x 128^2 / 12).
      for (let y = 0; y < 700; y++) for (let x = 0; x < 450; x++) worst = Math.max(worst, Math.abs(bg[y * 450 + x]! - surface(x, y)));
      expect(worst, interpolation).toBeLessThan(interpolation === 'akima' ? 2e-3 : 0.05);
    }
  });

  it('evaluates the model as its f64 reference (backgroundAt) within f32 rounding, bit-identically in every build', async () => {
    const img = synthetic(333, 517, (x, y) => 700 + 30 * Math.sin(x / 90) * Math.cos(y / 120), 5);
    const variants: Record<string, Tessera> = { release: tessera, debug: await loadTessera('debug'), scalar: await loadTessera('scalar') };
    const images: Record<string, Buffer> = {};
    {
      for (const interpolation of ['akima', 'chebyshev'] as const) {
        const model = estimateBackground(tessera, img, { interpolation, binSize: 64 });
        const bg = backgroundImage(tessera, model);
        for (const [x, y] of [[0, 0], [332, 516], [31, 32], [100, 400], [166, 258], [332, 0], [5, 510]] as const) {
          expect(Math.abs(bg[y * 333 + x]! - backgroundAt(model, x, y)), `${interpolation} at (${x}, ${y})`).toBeLessThan(1e-3);
        }
        for (const [name, t] of Object.entries(variants)) {
          const other = backgroundImage(t, estimateBackground(t, img, { interpolation, binSize: 64 }));
          images[`${interpolation}/${name}`] = Buffer.from(other.buffer);
        }
        expect(images[`${interpolation}/debug`]!.equals(images[`${interpolation}/release`]!)).toBe(true);
        expect(images[`${interpolation}/scalar`]!.equals(images[`${interpolation}/release`]!)).toBe(true);
        // Subtraction in place (subtractRowPolynomials) gives image - backgroundImage exactly, in every build.
        const difference = Buffer.from(Float32Array.from(img.image, (v, i) => v - bg[i]!).buffer);
        for (const [name, t] of Object.entries(variants)) {
          expect(Buffer.from(subtractBackground(t, img.image, model).buffer).equals(difference), name).toBe(true);
        }
        const into = new Float32Array(img.image.length);
        expect(subtractBackground(tessera, img.image, model, into)).toBe(into);
        expect(Buffer.from(into.buffer).equals(difference)).toBe(true);
        // A zero model (copied, not run through the kernel) is 0 at every pixel of its image too.
        const zero = { ...zeroBackground(333, 517, { interpolation }), interpolation };
        expect(backgroundImage(tessera, zero).every((v) => v === 0)).toBe(true);
        expect(Buffer.from(subtractBackground(tessera, img.image, zero).buffer).equals(Buffer.from(img.image.buffer))).toBe(true);
      }
    }
  });
});

describe('calexpBackground: the model as a FITS binary table', () => {
  it('reads back bit-identically (models, images and bytes), a list of two included', () => {
    const field = clean[1]!;
    const result = detectWithBackground(tessera, field.post, { detection: { psfSigma: psfSigma(field) } });
    const akima = estimateBackground(tessera, { ...field.post, mask: result.detection.mask }, { interpolation: 'akima' });
    const list = [result.background, akima];
    const bytes = writeBackground(list);
    const back = readBackground(bytes, 'calexpBackground.fits');
    expect(back).toEqual(list);
    expect(Buffer.from(writeBackground(back)).equals(Buffer.from(bytes))).toBe(true);
    for (let k = 0; k < 2; k++) {
      expect(Buffer.from(backgroundImage(tessera, back[k]!).buffer).equals(Buffer.from(backgroundImage(tessera, list[k]!).buffer))).toBe(true);
    }
    const sum = backgroundListImage(tessera, back);
    expect(sum[12345]).toBeCloseTo(backgroundImage(tessera, list[0]!)[12345]! + backgroundImage(tessera, list[1]!)[12345]!, 2);
    // The file is plain FITS: checksums verify, one BINTABLE per model with its geometry in the header.
    const file = readFitsBytes('calexpBackground.fits', bytes);
    expect(file.verifyChecksums().map((r) => `${r.datasum}/${r.checksum}`)).toEqual(Array(3).fill('ok/ok'));
    expect(file.hdus.filter((h) => h.extname === 'BACKGROUND')).toHaveLength(2);
    expect(file.hdus[1]!.header.getString('BGINTERP')).toBe('CHEBYSHEV');
    expect(file.hdus[1]!.header.getInteger('BGNX')).toBe(4);
    expect(file.hdus[1]!.header.getInteger('BGNY')).toBe(8);
  });

  it('rejects files that are not background tables, with a FitsError naming the problem', () => {
    const model = estimateBackground(tessera, clean[0]!.post);
    const bytes = writeBackground([model]);
    expect(() => readBackground(writeFits([{ data: new Float32Array(4), shape: [2, 2] }]), 'x.fits')).toThrow(FitsError);
    // Tamper with the geometry: BGNX no longer matches the rows.
    const file = readFitsBytes('b.fits', bytes);
    const header = file.hdus[1]!.header.clone();
    header.set('BGNX', 5);
    const data = file.readRawData(1);
    const tampered = writeFits([{ kind: 'raw', header, data }]);
    expect(() => readBackground(tampered, 'b.fits')).toThrow(/rows for 5x8 bins/);
    header.set('BGNX', 4);
    header.set('BGINTERP', 'SPLINE9');
    expect(() => readBackground(writeFits([{ kind: 'raw', header, data }]), 'b.fits')).toThrow(/BGINTERP/);
  });
});
