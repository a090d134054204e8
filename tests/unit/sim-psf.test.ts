// The PSF field (lib/sim/psf.ts): the Kolmogorov mixture against the Kolmogorov profile computed here
// by Hankel transform (the stated residuals), the requested FWHM at the focal-plane centre (to 0.5 %;
// it is calibrated to 1e-6), normalised weights, the pixel response, and the size and ellipticity
// pattern staying within its stated bounds while actually spanning them.
import { describe, expect, it } from 'vitest';
import {
  makePsfField, psfPatternBounds, DEFAULT_PSF_PATTERN, KOLMOGOROV_MIXTURE, PIXEL_RESPONSE_VARIANCE,
} from '../../lib/sim/psf.js';
import { mixtureEllipticity, mixtureTotalWeight } from '../../lib/sim/gaussianMixture.js';

/** J0 and J1 from their integral representations (trapezoid on [0, pi] with n steps, exponentially convergent). */
function besselJ(order: 0 | 1, x: number, n: number): number {
  let s = 0;
  for (let k = 0; k <= n; k++) {
    const t = (Math.PI * k) / n;
    const f = Math.cos(order * t - x * Math.sin(t));
    s += k === 0 || k === n ? 0.5 * f : f;
  }
  return s / n;
}

/**
 * Kolmogorov long-exposure PSF for OTF(nu) = exp(-nu^(5/3)) by Hankel transform (trapezoid in nu):
 * intensity I(r) = \int 2 pi nu OTF J0(2 pi nu r) dnu and curve of growth L(r) = \int 2 pi r OTF J1(2 pi nu r) dnu.
 * The curve of growth at large r needs the finer grid (quadrature error ~2e-5 there).
 */
function hankel(r: number, growth: boolean): number {
  const [nuMax, steps, n] = growth ? [8, 4000, 384] : [6, 1500, 256];
  const h = nuMax / steps;
  let s = 0;
  for (let k = 1; k <= steps; k++) {
    const nu = k * h;
    const otf = Math.exp(-(nu ** (5 / 3)));
    const term = growth ? 2 * Math.PI * r * otf * besselJ(1, 2 * Math.PI * nu * r, n) : 2 * Math.PI * nu * otf * besselJ(0, 2 * Math.PI * nu * r, n);
    s += (k === steps ? 0.5 : 1) * term;
  }
  return s * h;
}
const kolmogorov = (r: number): number => hankel(r, false);
const kolmogorovEnclosed = (r: number): number => hankel(r, true);

const fp = (x: number, y: number): [number, number] => [x - 1500, y - 2500];
const pattern = { ...DEFAULT_PSF_PATTERN, fieldRadius: 3000 };

describe('Kolmogorov mixture', () => {
  it('matches the Kolmogorov profile to 0.08 % of the peak and its curve of growth to 0.035 % within 5 FWHM', () => {
    const peak = kolmogorov(0);
    let lo = 0.1, hi = 0.5;
    for (let i = 0; i < 50; i++) { const mid = 0.5 * (lo + hi); if (kolmogorov(mid) > peak / 2) lo = mid; else hi = mid; }
    const fwhm = lo + hi; // 2 x the half-width
    expect(Math.abs(fwhm - 0.46484)).toBeLessThan(2e-4);
    const { weights, sigmas } = KOLMOGOROV_MIXTURE;
    expect(Math.abs(weights.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
    const mix = (x: number): number => weights.reduce((s, w, k) => s + (w / (2 * Math.PI * sigmas[k]! ** 2)) * Math.exp(-(x * x) / (2 * sigmas[k]! ** 2)), 0);
    const mixEnclosed = (x: number): number => weights.reduce((s, w, k) => s + w * -Math.expm1(-(x * x) / (2 * sigmas[k]! ** 2)), 0);
    const peakFwhmUnits = peak * fwhm * fwhm;
    let worstI = 0, worstL = 0;
    for (let k = 0; k <= 80; k++) {
      const x = k * 0.1; // FWHM units, 0 ... 8
      worstI = Math.max(worstI, Math.abs(mix(x) - kolmogorov(x * fwhm) * fwhm * fwhm) / peakFwhmUnits);
      if (x <= 5 && k % 5 === 0) worstL = Math.max(worstL, Math.abs(mixEnclosed(x) - kolmogorovEnclosed(x * fwhm)));
    }
    expect(worstI).toBeLessThan(8e-4);
    expect(worstL).toBeLessThan(3.5e-4);
  });
});

describe('makePsfField', () => {
  it('has the requested FWHM (pixel response included) at the focal-plane centre and unit weight', () => {
    for (const seeing of [0.5, 0.7, 1.0]) {
      const psf = makePsfField({ fwhmArcsec: seeing, pixelScale: 0.168, focalPlane: fp, pattern });
      expect(Math.abs(psf.fwhmAt(1500, 2500) / (seeing / 0.168) - 1)).toBeLessThan(1e-6);
      for (const [x, y] of [[0, 0], [1500, 2500], [4000, 100], [-1000, 5000]] as const) {
        expect(Math.abs(mixtureTotalWeight(psf.at(x, y)) - 1)).toBeLessThan(1e-12);
      }
    }
  });

  it('adds the pixel response to an optical part with the stated size factor and ellipticity', () => {
    const psf = makePsfField({ fwhmArcsec: 0.7, pixelScale: 0.168, focalPlane: fp, pattern });
    for (const [x, y] of [[1500, 2500], [3700, 900], [200, 4800]] as const) {
      const optical = psf.at(x, y).map((c) => ({ ...c, xx: c.xx - PIXEL_RESPONSE_VARIANCE, yy: c.yy - PIXEL_RESPONSE_VARIANCE }));
      const [e1, e2] = mixtureEllipticity(optical);
      const [t1, t2] = psf.ellipticityAt(x, y);
      expect(Math.abs(e1 - t1)).toBeLessThan(1e-12);
      expect(Math.abs(e2 - t2)).toBeLessThan(1e-12);
      // The sheared optical mixture keeps the determinant of each circular component: sigma^2 = sqrt(det).
      const scale = psf.opticalFwhmPx * psf.sizeFactorAt(x, y);
      optical.forEach((c, k) => {
        expect(Math.abs(Math.sqrt(c.xx * c.yy - c.xy * c.xy) / (KOLMOGOROV_MIXTURE.sigmas[k]! * scale) ** 2 - 1)).toBeLessThan(1e-12);
      });
    }
    // At the centre: the constant ellipticity only, size factor 1.
    expect(psf.sizeFactorAt(1500, 2500)).toBe(1);
    expect(psf.ellipticityAt(1500, 2500)).toEqual(DEFAULT_PSF_PATTERN.ellipticityConstant);
  });

  it('varies smoothly within the stated bounds and spans them over the field (rho <= 1)', () => {
    const psf = makePsfField({ fwhmArcsec: 0.7, pixelScale: 0.168, focalPlane: fp, pattern });
    const bounds = psfPatternBounds(pattern);
    expect(bounds.sizeFactorMin).toBeCloseTo(1 - 0.025 ** 2 / (4 * 0.06), 6);
    expect(bounds.sizeFactorMax).toBeCloseTo(1.085, 6);
    expect(bounds.ellipticityMax).toBeCloseTo(0.045, 12);
    const centre = psf.fwhmAt(1500, 2500);
    let fMin = Infinity, fMax = -Infinity, eMax = 0, sMin = Infinity, sMax = -Infinity;
    for (let i = -10; i <= 10; i++) {
      for (let j = -10; j <= 10; j++) {
        const u = i / 10, v = j / 10;
        if (u * u + v * v > 1) continue;
        const x = 1500 + 3000 * u, y = 2500 + 3000 * v;
        const s = psf.sizeFactorAt(x, y);
        const ratio = psf.fwhmAt(x, y) / centre;
        const [e1, e2] = mixtureEllipticity(psf.at(x, y));
        sMin = Math.min(sMin, s); sMax = Math.max(sMax, s);
        fMin = Math.min(fMin, ratio); fMax = Math.max(fMax, ratio);
        eMax = Math.max(eMax, Math.hypot(e1, e2), Math.hypot(...psf.ellipticityAt(x, y)));
      }
    }
    expect(sMin).toBeGreaterThanOrEqual(bounds.sizeFactorMin - 1e-12);
    expect(sMax).toBeLessThanOrEqual(bounds.sizeFactorMax + 1e-12);
    // The measured FWHM (with the pixel) varies a little less than the optical size.
    expect(fMin).toBeGreaterThanOrEqual(bounds.sizeFactorMin - 1e-3);
    expect(fMax).toBeLessThanOrEqual(bounds.sizeFactorMax);
    expect(fMax).toBeGreaterThan(1.07);
    expect(eMax).toBeLessThanOrEqual(bounds.ellipticityMax + 1e-12);
    expect(eMax).toBeGreaterThan(0.04);
    // Coherent pattern: along +x at rho = 1 the radial term adds +eRad to e1 (elongation along the radius).
    const [e1x, e2x] = psf.ellipticityAt(1500 + 3000, 2500);
    expect(e1x).toBeCloseTo(DEFAULT_PSF_PATTERN.ellipticityConstant[0] + DEFAULT_PSF_PATTERN.ellipticityRadial, 12);
    expect(e2x).toBeCloseTo(DEFAULT_PSF_PATTERN.ellipticityConstant[1], 12);
  });

  it('rejects unresolvable seeing and broken patterns', () => {
    expect(() => makePsfField({ fwhmArcsec: 0.1, pixelScale: 0.168, focalPlane: fp })).toThrow(/resolvable/);
    expect(() => makePsfField({ fwhmArcsec: 0.7, pixelScale: 0.168, focalPlane: fp, pattern: { ellipticityRadial: 0.7 } })).toThrow(/ellipticity/);
    expect(() => makePsfField({ fwhmArcsec: -1, pixelScale: 0.168, focalPlane: fp })).toThrow(/fwhmArcsec/);
  });
});
