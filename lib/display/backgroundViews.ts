/**
 * The views that show whether a background was over-subtracted (DMTR-51 DRP-00-35; issue 7): the image
 * (background subtracted), the background model, the image plus the model (the sky as observed), and a
 * heavily smoothed residual: the image with its sources and bad pixels (mask planes DETECTED, SAT, BAD,
 * NO_DATA, EDGE) left out, smoothed by a Gaussian of RESIDUAL_SIGMA (8 px) as a normalised convolution
 * (the convolution of the kept pixels over that of their weights; NaN where under a tenth of the
 * kernel's weight is kept), so that a dark ring around a bright star or a galaxy's eaten outskirts stand
 * out against a flat zero. The smoothing runs in the wasm (lib/image/convolve.ts).
 */
import type { Tessera } from '../wasm/loader.js';
import { convolveSeparable } from '../image/convolve.js';
import { gaussianKernel } from '../image/gaussianKernel.js';

export const BACKGROUND_VIEWS = ['image', 'background', 'image+background', 'residual'] as const;
export type BackgroundView = (typeof BACKGROUND_VIEWS)[number];
export const RESIDUAL_SIGMA = 8;
export const RESIDUAL_EXCLUDED = ['DETECTED', 'SAT', 'BAD', 'NO_DATA', 'EDGE'];
/** A smoothed pixel needs at least this fraction of the kernel's weight kept. */
export const RESIDUAL_MIN_WEIGHT = 0.1;

export function backgroundView(tessera: Tessera, view: BackgroundView, width: number, height: number, image: Float32Array,
  options: { background?: Float32Array; mask?: Int32Array; maskPlanes?: Record<string, number> } = {}): Float32Array {
  const n = width * height;
  switch (view) {
    case 'image': return image;
    case 'background':
    case 'image+background': {
      const bkg = options.background;
      if (!bkg || bkg.length !== n) throw new RangeError(`the ${view} view needs a background model of ${width} x ${height} pixels`);
      return view === 'background' ? bkg : image.map((v, i) => v + bkg[i]!);
    }
    case 'residual': {
      let bits = 0;
      for (const name of RESIDUAL_EXCLUDED) {
        const bit = options.maskPlanes?.[name];
        if (bit !== undefined) bits |= 1 << bit;
      }
      const values = new Float32Array(n), weights = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const v = image[i]!;
        if (Number.isFinite(v) && !((options.mask?.[i] ?? 0) & bits)) { values[i] = v; weights[i] = 1; }
      }
      const kernel = gaussianKernel(RESIDUAL_SIGMA);
      const num = convolveSeparable(tessera, values, width, height, kernel), den = convolveSeparable(tessera, weights, width, height, kernel);
      for (let i = 0; i < n; i++) num[i] = den[i]! >= RESIDUAL_MIN_WEIGHT ? num[i]! / den[i]! : NaN;
      return num;
    }
  }
}
