/**
 * What measurement needs from a PSF model: the PSF at an image position as a pixel stamp (the model
 * integrated over pixels, centred on the sub-pixel position, unit sum) and its second moments. The
 * fitted model (lib/measure/psfModel.ts, PSFEx's representation) provides this; `GaussianPsf` is the
 * simple round Gaussian LSST's characterizeImage installs before a PSF is measured (useSimplePsf,
 * InstallGaussianPsfTask: FWHM 1.5" unless known). Units: pixels.
 */
import { libm } from '../math/libm.js';
import type { KernelMomentPlanes } from './adaptiveMoments.js';
export interface PsfStamp {
  /** size x size, row-major; pixel (i, j) is image pixel (x0 + i, y0 + j). */
  readonly stamp: Float32Array;
  readonly size: number;
  readonly x0: number;
  readonly y0: number;
}

export interface PsfLike {
  /** The PSF centred at (x, y), sampled on image pixels, unit sum. `size` is odd. */
  stampAt(x: number, y: number, size: number): PsfStamp;
  /**
   * Second moments (pixels^2) of the PSF at (x, y), as adaptive moments measure them; a model that
   * measures them on kernel images of `stampSize` px a side takes its sums in `planes` when given.
   */
  momentsAt(x: number, y: number, planes?: KernelMomentPlanes): { xx: number; yy: number; xy: number };
  /** The side (pixels) of the kernel images the model's moments are measured on, where they are. */
  readonly stampSize?: number;
  /** A representative Gaussian sigma (pixels) for smoothing and growth. */
  readonly sigma: number;
}

/** erf from Numerical Recipes' Chebyshev fit of erfc (erfcc): fractional error under 1.2e-7 everywhere. */
export function erf(x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y = 1 - t * libm.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? y : -y;
}

/** A round Gaussian PSF of `sigma` pixels, integrated exactly over each pixel. */
export class GaussianPsf implements PsfLike {
  constructor(readonly sigma: number) {
    if (!(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`Gaussian PSF sigma must be positive, got ${sigma}`);
  }

  static fromFwhm(fwhm: number): GaussianPsf {
    return new GaussianPsf(fwhm / (2 * Math.sqrt(2 * Math.LN2)));
  }

  stampAt(x: number, y: number, size: number): PsfStamp {
    const half = size >> 1;
    const x0 = Math.round(x) - half, y0 = Math.round(y) - half;
    const k = 1 / (Math.SQRT2 * this.sigma);
    const profile = (c: number, origin: number): Float64Array => {
      const out = new Float64Array(size);
      for (let i = 0; i < size; i++) {
        const d = origin + i - c;
        out[i] = 0.5 * (erf((d + 0.5) * k) - erf((d - 0.5) * k));
      }
      return out;
    };
    const px = profile(x, x0), py = profile(y, y0);
    let sum = 0;
    for (let j = 0; j < size; j++) for (let i = 0; i < size; i++) sum += px[i]! * py[j]!;
    const stamp = new Float32Array(size * size);
    for (let j = 0; j < size; j++) for (let i = 0; i < size; i++) stamp[j * size + i] = (px[i]! * py[j]!) / sum;
    return { stamp, size, x0, y0 };
  }

  momentsAt(): { xx: number; yy: number; xy: number } {
    // A pixel-integrated Gaussian's moments: sigma^2 plus the pixel's 1/12.
    const v = this.sigma * this.sigma + 1 / 12;
    return { xx: v, yy: v, xy: 0 };
  }
}
