/**
 * lib/sim/rawFrame.ts: raw frames from electron images and the reference inverse. Tolerances follow
 * from the noise model: per pixel, the recovered electrons differ from the input by read noise and ADU
 * rounding, sigma^2 = RN^2 + g^2/12 (plus the overscan estimate, 1/528 of the read-noise variance per
 * row); sample statistics are held to 3 % (rms) or 4-5 standard errors (means). Also: the header's
 * DATASEC/BIASSEC/DETSEC point at the right raw pixels (found by keyword alone), digital and full-well
 * saturation, and the uint16 FITS (BZERO 32768) round trip.
 */
import { describe, expect, it } from 'vitest';
import { readFitsBytes, writeFits } from '../../lib/fits/index.js';
import { trueMasterBias } from '../../lib/sim/biasStructure.js';
import { makeCamera, type Amplifier } from '../../lib/sim/camera.js';
import { parseSection } from '../../lib/sim/irafSection.js';
import { fillNormal, poissonImage } from '../../lib/sim/noise.js';
import { Random } from '../../lib/sim/random.js';
import { assembleFromRaw, makeRawFrame } from '../../lib/sim/rawFrame.js';

const camera = makeCamera('tiny', { seed: 7 });
const detector = camera.detectors[0]!;
const { width, height, rawWidth } = detector;

/** A smooth scene (500-5500 e-) with photon noise. */
function smoothScene(seed: number): Float32Array {
  const expected = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) expected[y * width + x] = 3000 + 2500 * Math.sin(x / 90) * Math.cos(y / 170);
  }
  return poissonImage(expected, Random.stream(seed, 'scene'));
}

function pixelsIn(data: ArrayLike<number>, rowWidth: number, box: { x0: number; y0: number; width: number; height: number }): number[] {
  const out: number[] = [];
  for (let y = box.y0; y < box.y0 + box.height; y++) for (let x = box.x0; x < box.x0 + box.width; x++) out.push(data[y * rowWidth + x]!);
  return out;
}

function meanStd(v: ArrayLike<number>): { mean: number; std: number } {
  let s = 0, s2 = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  const mean = s / v.length;
  for (let i = 0; i < v.length; i++) s2 += (v[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(s2 / (v.length - 1)) };
}

/** Element-by-element equality of two arrays (vitest's deep equality is slow on large typed arrays). */
function identical(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const expectedSigma = (a: Amplifier): number => Math.sqrt(a.readNoise ** 2 * (1 + 1 / 528) + a.gain ** 2 / 12);

describe('makeRawFrame and assembleFromRaw', () => {
  const input = smoothScene(1);
  const raw = makeRawFrame(camera, detector, input, { seed: 11, exposureId: 3 });
  const bias = trueMasterBias(camera, detector);

  it('recover a smooth input within read-noise statistics, per amplifier', () => {
    const out = assembleFromRaw(camera, detector, raw);
    for (const a of detector.amplifiers) {
      const sigma = expectedSigma(a);
      const diff: number[] = [];
      for (let y = a.dataBox.y0; y < a.dataBox.y0 + a.dataBox.height; y++) {
        for (let x = a.dataBox.x0; x < a.dataBox.x0 + a.dataBox.width; x++) {
          const i = y * width + x;
          diff.push(out[i]! - bias[i]! - input[i]!);
        }
      }
      const { mean, std } = meanStd(diff);
      // The mean is limited by the overscan level, estimated from 16 x 1024 pixels: sigma 0.035 e-
      // (pixel noise adds 0.009 e-); 4 sigma = 0.145 e-.
      const sigmaMean = Math.sqrt(sigma ** 2 / diff.length + a.readNoise ** 2 / (a.rawSerialOverscanBox.width * a.rawSerialOverscanBox.height));
      expect(Math.abs(mean)).toBeLessThan(4 * sigmaMean);
      expect(Math.abs(std / sigma - 1)).toBeLessThan(0.03);
      const maxDev = diff.reduce((m, d) => Math.max(m, Math.abs(d - mean)), 0);
      expect(maxDev).toBeLessThan(5.5 * sigma);
      // Beyond 4 sigma: 6.3e-5 of a Gaussian, 16.6 of these 262144 pixels; allow 5 Poisson sigma.
      const beyond = diff.filter((d) => Math.abs(d - mean) > 4 * sigma).length;
      expect(beyond).toBeLessThan(16.6 + 5 * Math.sqrt(16.6));
    }
  });

  it('are deterministic per seed and exposure', () => {
    const again = makeRawFrame(camera, detector, input, { seed: 11, exposureId: 3 });
    expect(identical(again.data, raw.data)).toBe(true);
    const other = makeRawFrame(camera, detector, input, { seed: 11, exposureId: 4 });
    let same = 0;
    for (let i = 0; i < raw.data.length; i++) if (other.data[i] === raw.data[i]) same++;
    // Two independent realisations of 1.5-ADU noise agree on about 1/(2 sqrt(pi) 1.5) = 19 % of pixels.
    expect(same / raw.data.length).toBeLessThan(0.3);
  });

  it('give overscans with the bias level and read noise / gain', () => {
    for (const [k, a] of detector.amplifiers.entries()) {
      const b = a.rawSerialOverscanBox;
      const residual: number[] = [];
      const values: number[] = [];
      for (let y = b.y0; y < b.y0 + b.height; y++) {
        for (let x = b.x0; x < b.x0 + b.width; x++) {
          const v = raw.data[y * rawWidth + x]!;
          values.push(v);
          residual.push(v - raw.rowBias[k]![y - a.rawBox.y0]!);
        }
      }
      const sigmaAdu = Math.sqrt((a.readNoise / a.gain) ** 2 + 1 / 12);
      const { mean, std } = meanStd(residual);
      expect(Math.abs(mean)).toBeLessThan(5 * sigmaAdu / Math.sqrt(residual.length));
      expect(Math.abs(std / sigmaAdu - 1)).toBeLessThan(0.03);
      // The median sits at the nominal bias level, shifted only by this exposure's offset and row structure (< 2.5 ADU).
      values.sort((p, q) => p - q);
      expect(Math.abs(values[values.length >> 1]! - a.biasLevel)).toBeLessThan(2.5);
    }
  });

  it('lets the row-wise overscan fit remove the row structure that a single median leaves', () => {
    const flat = new Float32Array(width * height).fill(1000);
    const r = makeRawFrame(camera, detector, flat, { seed: 5 });
    const rows = assembleFromRaw(camera, detector, r, { overscan: 'rows' });
    const median = assembleFromRaw(camera, detector, r, { overscan: 'median' });
    // Row means of the first amplifier (256 px each): the median mode keeps the sinusoidal row
    // structure (0.3-1 ADU amplitude = 1-3 e-); the row fit leaves the noise of the row mean and of the
    // overscan estimate (16 px x 33 rows) only.
    const a = detector.amplifiers[0]!;
    const truth = trueMasterBias(camera, detector);
    const rowScatter = (img: Float32Array): number => {
      const m: number[] = [];
      for (let y = 0; y < height; y++) {
        let s = 0;
        for (let x = 0; x < a.dataBox.width; x++) s += img[y * width + x]! - truth[y * width + x]!;
        m.push(s / a.dataBox.width);
      }
      return meanStd(m).std;
    };
    const pixelVariance = a.readNoise ** 2 + a.gain ** 2 / 12;
    const expected = Math.sqrt(pixelVariance / a.dataBox.width + pixelVariance / (16 * 33));
    expect(rowScatter(rows)).toBeLessThan(1.25 * expected);
    expect(rowScatter(median)).toBeGreaterThan(2 * expected);
  });

  it('writes section keywords that point at the right raw pixels', () => {
    const h = raw.header;
    expect(h.getNumber('NAMPS')).toBe(2);
    expect(h.getNumber('DETECTOR')).toBe(detector.id);
    expect(h.getString('DETSER')).toBe(detector.serial);
    expect(h.getString('CCDNAME')).toBe(detector.name);
    expect(h.getString('DETSIZE')).toBe('[1:512,1:1024]');
    // A marker scene: zero except one bright pixel per amplifier; find it using only the header.
    const scene = new Float32Array(width * height);
    const markers = [[37, 801], [300, 95]] as const;
    for (const [x, y] of markers) scene[y * width + x] = 20000;
    const m = makeRawFrame(camera, detector, scene, { seed: 2 });
    for (let n = 1; n <= 2; n++) {
      const data = parseSection(h.getString(`DATASEC${n}`)!);
      const det = parseSection(h.getString(`DETSEC${n}`)!);
      const overscan = parseSection(h.getString(`BIASSEC${n}`)!);
      const gain = h.getNumber(`GAIN${n}`)!;
      expect(h.getString(`TRIMSEC${n}`)).toBe(h.getString(`DATASEC${n}`));
      expect(h.getNumber(`RDNOISE${n}`)).toBe(detector.amplifiers[n - 1]!.readNoise);
      const [mx, my] = markers[n - 1]!;
      // IRAF: DATASEC maps onto DETSEC; a reversed DETSEC axis means the data run backwards on the detector.
      const dx = det.flipX ? det.box.x0 + det.box.width - 1 - mx : mx - det.box.x0;
      const dy = det.flipY ? det.box.y0 + det.box.height - 1 - my : my - det.box.y0;
      const rx = data.box.x0 + dx, ry = data.box.y0 + dy;
      const level = meanStd(pixelsIn(m.data, rawWidth, overscan.box)).mean;
      expect((m.data[ry * rawWidth + rx]! - level) * gain).toBeGreaterThan(20000 - 100);
      // Nothing else in the data section is bright.
      const others = pixelsIn(m.data, rawWidth, data.box).filter((v) => (v - level) * gain > 1000);
      expect(others.length).toBe(1);
      // The overscan, prescan and parallel overscan hold bias only.
      for (const key of [`BIASSEC${n}`, `PRESEC${n}`, `POVSEC${n}`]) {
        const box = parseSection(h.getString(key)!).box;
        expect(Math.abs(meanStd(pixelsIn(m.data, rawWidth, box)).mean - detector.amplifiers[n - 1]!.biasLevel)).toBeLessThan(2.5);
      }
    }
    expect(parseSection(h.getString('DETSEC2')!).flipX).toBe(true);
    expect(parseSection(h.getString('DETSEC1')!).flipX).toBe(false);
  });

  it('saturates at the full well, and digitally at the ADC maximum', () => {
    const scene = new Float32Array(width * height).fill(300_000);
    scene[5] = -1e6;
    scene[6] = Number.NaN;
    const clipped = makeRawFrame(camera, detector, scene, { seed: 3 });
    const digital = makeRawFrame(camera, detector, scene, { seed: 3, clipFullWell: false });
    for (const [n, a] of detector.amplifiers.entries()) {
      const sat = clipped.header.getNumber(`SATURAT${n + 1}`)!;
      expect(sat).toBe(a.saturation);
      const pixels = pixelsIn(clipped.data, rawWidth, a.rawDataBox).filter((_v, i) => i > 1000);
      const { mean } = meanStd(pixels);
      expect(Math.abs(mean - Math.min(a.biasLevel + a.fullWell / a.gain, 65535))).toBeLessThan(5);
      expect(pixels.reduce((m, v) => Math.min(m, v), Infinity)).toBeGreaterThanOrEqual(sat);
      expect(pixelsIn(digital.data, rawWidth, a.rawDataBox).filter((_v, i) => i > 1000).every((v) => v === 65535)).toBe(true);
    }
    // Pixels 5 and 6 of the scene (amplifier A0, row 0): a huge negative signal and NaN both read 0.
    const a0 = detector.amplifiers[0]!;
    expect(digital.data[a0.rawDataBox.y0 * rawWidth + a0.rawDataBox.x0 + 5]).toBe(0);
    expect(digital.data[a0.rawDataBox.y0 * rawWidth + a0.rawDataBox.x0 + 6]).toBe(0);
  });

  it('writes uint16 FITS with BZERO 32768 that reads back identically', () => {
    const bytes = writeFits([{ data: raw.data, shape: raw.shape, header: raw.header }], { checksum: true });
    const fits = readFitsBytes('raw.fits', bytes, { checksum: 'verify' });
    const h = fits.hdus[0]!.header;
    expect(h.getNumber('BITPIX')).toBe(16);
    expect(h.getNumber('BZERO')).toBe(32768);
    expect([h.getNumber('NAXIS1'), h.getNumber('NAXIS2')]).toEqual([detector.rawWidth, detector.rawHeight]);
    const img = fits.readImage(0);
    expect(img.data).toBeInstanceOf(Uint16Array);
    const pixels = img.data as Uint16Array;
    expect(identical(pixels, raw.data)).toBe(true);
    expect(h.getString('BIASSEC2')).toBe(raw.header.getString('BIASSEC2'));
    expect(h.getNumber('GAIN1')).toBe(detector.amplifiers[0]!.gain);
    const back = assembleFromRaw(camera, detector, { data: pixels, shape: img.shape });
    expect(identical(back, assembleFromRaw(camera, detector, raw))).toBe(true);
  });

  it('rejects an image of the wrong size', () => {
    expect(() => makeRawFrame(camera, detector, new Float32Array(10), { seed: 1 })).toThrow(/is 512x1024 = 524288 px but the electron image has 10/);
    expect(() => assembleFromRaw(camera, detector, { data: new Uint16Array(10), shape: [1, 10] })).toThrow(/raw frame is 10x1/);
  });
});

describe('fillNormal', () => {
  it('gives standard normal deviates with Gaussian tails', () => {
    const r = Random.stream(2026, 'normal-test');
    const buf = new Float64Array(1 << 16);
    const n = 64 * buf.length;
    let s = 0, s2 = 0;
    const beyond = [0, 0, 0, 0];
    for (let k = 0; k < 64; k++) {
      fillNormal(r, buf);
      for (const z of buf) {
        s += z; s2 += z * z;
        const a = Math.abs(z);
        for (let j = 0; j < 4; j++) if (a > j + 1) beyond[j]!++;
      }
    }
    expect(Math.abs(s / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(s2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    // Two-sided Gaussian tail probabilities beyond 1, 2, 3, 4 sigma; counts within 5 Poisson sigma.
    [0.3173105, 0.0455003, 0.0026998, 6.3342e-5].forEach((p, j) => {
      expect(Math.abs(beyond[j]! - p * n)).toBeLessThan(5 * Math.sqrt(p * n));
    });
  });
});

describe('poissonImage', () => {
  for (const lambda of [0.3, 4, 9.99, 50, 999, 25_000]) {
    it(`gives Poisson counts with mean and variance ${lambda}`, () => {
      const n = 200_000;
      const counts = poissonImage(new Float32Array(n).fill(lambda), Random.stream(9, 'poisson-test', lambda));
      const { mean, std } = meanStd(counts);
      expect(counts.every((c) => Number.isInteger(c) && c >= 0)).toBe(true);
      expect(Math.abs(mean - lambda)).toBeLessThan(5 * Math.sqrt(lambda / n));
      // Above 1000 the normal approximation adds the rounding variance 1/12.
      const variance = lambda + (lambda > 1000 ? 1 / 12 : 0);
      expect(Math.abs(std * std - variance)).toBeLessThan(5 * Math.sqrt((lambda + 2 * lambda * lambda) / n));
    });
  }
  it('gives P(0) = exp(-mean) for small means', () => {
    const n = 200_000;
    const counts = poissonImage(new Float32Array(n).fill(0.3), Random.stream(9, 'poisson-zero'));
    const p0 = Math.exp(-0.3);
    expect(Math.abs(counts.filter((c) => c === 0).length - p0 * n)).toBeLessThan(5 * Math.sqrt(n * p0 * (1 - p0)));
  });
});
