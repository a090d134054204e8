/**
 * Colour composites of three bands (issue 7's outreach images): Lupton et al. (2004) asinh, computed by
 * the wasm (assembly/display.ts luptonRgb) exactly as astropy.visualization.make_lupton_rgb(r, g, b,
 * minimum, stretch, Q) computes it. Defaults: minimum 0 (background-subtracted coadds), Q 8, stretch
 * given by the caller (in the images' units).
 */
import type { Tessera } from '../wasm/loader.js';
import { checkStatus } from '../wasm/kernels.js';

export interface LuptonOptions {
  /** Per band (r, g, b) or one for all: the level mapped to black. */
  minimum?: number | [number, number, number];
  /** The linear stretch (images' units). */
  stretch: number;
  /** The asinh softening (astropy's Q). */
  q?: number;
}

/** RGBA bytes (row 0 of the images first) of the composite of three same-sized f32 images. */
export function luptonComposite(tessera: Tessera, r: Float32Array, g: Float32Array, b: Float32Array, options: LuptonOptions): Uint8Array {
  const n = r.length;
  if (g.length !== n || b.length !== n) throw new RangeError(`colour composite: bands of ${r.length}, ${g.length} and ${b.length} pixels; they must match`);
  if (!(options.stretch > 0)) throw new RangeError(`colour composite: stretch ${options.stretch} must be positive`);
  const [minR, minG, minB] = typeof options.minimum === 'object' ? options.minimum : [options.minimum ?? 0, options.minimum ?? 0, options.minimum ?? 0];
  const { planes, kernels } = tessera;
  return planes.scope(() => {
    const pr = planes.alloc(4 * n), pg = planes.alloc(4 * n), pb = planes.alloc(4 * n), out = planes.alloc(4 * n);
    planes.f32(pr, n).set(r);
    planes.f32(pg, n).set(g);
    planes.f32(pb, n).set(b);
    checkStatus('luptonRgb', kernels.luptonRgb(pr, pg, pb, n, minR, minG, minB, options.stretch, options.q ?? 8, out));
    return planes.u8(out, 4 * n).slice();
  });
}
