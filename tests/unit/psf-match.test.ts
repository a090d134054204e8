// PSF matching to a Gaussian (lib/image/psfMatch.ts): the Alard-Lupton kernel fit takes a
// double-Gaussian PSF to the target Gaussian, its separable terms reproduce it, and the wasm convolution
// (convolveSeparableXY, release and debug builds) of a star gives the target's size and keeps its flux,
// matching a plain-JS 2-D convolution.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { FWHM_PER_SIGMA, convolveTerms, fitMatchingKernel, separableTerms } from '../../lib/image/psfMatch.js';
import { adaptiveMoments, momentsFwhm } from '../../lib/measure/adaptiveMoments.js';

/** A double Gaussian (sigma 1.6 core, 3.5 wing holding 15 %) centred at (cx, cy) on a w x h image, total `flux`. */
function doubleGaussian(w: number, h: number, cx: number, cy: number, flux: number): Float64Array {
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const r2 = (x - cx) ** 2 + (y - cy) ** 2;
    out[y * w + x] = flux * (0.85 * Math.exp(-r2 / (2 * 1.6 ** 2)) / (2 * Math.PI * 1.6 ** 2) + 0.15 * Math.exp(-r2 / (2 * 3.5 ** 2)) / (2 * Math.PI * 3.5 ** 2));
  }
  return out;
}

const N = 41, TARGET = 7.7 / FWHM_PER_SIGMA;
const psf = doubleGaussian(N, N, 20, 20, 1);
const psfSigma = Math.sqrt(adaptiveMoments(Float32Array.from(psf), N, N, 20, 20).xx);

const builds: Record<string, Tessera> = {};
beforeAll(async () => {
  for (const v of ['release', 'debug'] as const) builds[v] = await loadTessera(v);
});

describe('PSF matching', () => {
  it('fits a unit-sum kernel taking the PSF to the target Gaussian within 1e-3 of its peak (rms)', () => {
    const m = fitMatchingKernel(psf, N, psfSigma, TARGET)!;
    expect(m.size).toBe(21);
    expect(m.kernel.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 12);
    expect(m.residual).toBeLessThan(1e-3);
    expect(fitMatchingKernel(psf, N, psfSigma, psfSigma * 0.9)).toBeUndefined();
  });

  it('writes the kernel as a few separable terms that reproduce it within 1e-4', () => {
    const m = fitMatchingKernel(psf, N, psfSigma, TARGET)!;
    const terms = separableTerms(m.kernel, m.size);
    expect(terms.length).toBeGreaterThan(0);
    expect(terms.length).toBeLessThanOrEqual(8); // 6 measured
    let err = 0, norm = 0;
    for (let r = 0; r < m.size; r++) for (let c = 0; c < m.size; c++) {
      const v = terms.reduce((a, t) => a + t.y[r]! * t.x[c]!, 0);
      err += (v - m.kernel[r * m.size + c]!) ** 2;
      norm += m.kernel[r * m.size + c]! ** 2;
    }
    expect(Math.sqrt(err / norm)).toBeLessThan(2e-4); // f32 taps
  });

  for (const build of ['release', 'debug'] as const) {
    it(`convolves a star to the target's FWHM (1 %) keeping its flux, as a plain 2-D convolution does (${build})`, () => {
      const w = 90, h = 70;
      const image = Float32Array.from(doubleGaussian(w, h, 44.3, 35.6, 1e4));
      const m = fitMatchingKernel(psf, N, psfSigma, TARGET)!;
      const out = convolveTerms(builds[build]!, image, w, h, separableTerms(m.kernel, m.size));
      // Border: NaN within half a kernel.
      expect(Number.isNaN(out[5 * w + 40]!)).toBe(true);
      expect(Number.isNaN(out[35 * w + 80]!)).toBe(true);
      let flux = 0;
      for (let y = 10; y < h - 10; y++) for (let x = 10; x < w - 10; x++) flux += out[y * w + x]!;
      expect(Math.abs(flux / 1e4 - 1)).toBeLessThan(2e-3);
      const mom = adaptiveMoments(out.map((v) => (Number.isFinite(v) ? v : 0)), w, h, 44, 36);
      expect(Math.abs(momentsFwhm(mom) / 7.7 - 1)).toBeLessThan(0.01);
      // Against a direct 2-D convolution with the kernel itself.
      let worst = 0;
      for (let y = 20; y < 50; y++) for (let x = 30; x < 60; x++) {
        let s = 0;
        for (let j = 0; j < 21; j++) for (let i = 0; i < 21; i++) s += m.kernel[j * 21 + i]! * image[(y + j - 10) * w + x + i - 10]!;
        worst = Math.max(worst, Math.abs(s - out[y * w + x]!));
      }
      const peak = 1e4 / (2 * Math.PI * TARGET ** 2);
      expect(worst / peak).toBeLessThan(1e-4);
    });
  }
});
