/**
 * Display stretches and colour maps (issue 7): each turns a value normalised to t in [0, 1] (by the
 * display limits) into a grey level 0-255, then a colour. They are tabulated as one 65536-entry RGBA
 * lookup table that the wasm (assembly/display.ts lutToRgba) applies per pixel, so a restretch costs
 * one table and one pass. The curves are astropy.visualization's with its defaults:
 *   linear t; sqrt sqrt(t); log log(a t + 1) / log(a + 1), a = 1000; asinh asinh(t / a) / asinh(1 / a),
 *   a = 0.1; histeq: the cumulative histogram of the pixels between the limits (4096 bins).
 * Grey level = round(255 y). Colour maps: grey, inverted grey, and DS9's heat and cool.
 */

export const STRETCHES = ['linear', 'sqrt', 'log', 'asinh', 'histeq'] as const;
export type StretchKind = (typeof STRETCHES)[number];
export const COLORMAPS = ['grey', 'grey-inverted', 'heat', 'cool'] as const;
export type Colormap = (typeof COLORMAPS)[number];

export const LUT_ENTRIES = 65536;
/** Bins of the histogram that histeq equalises. */
export const HISTEQ_BINS = 4096;
export const ASINH_A = 0.1;
export const LOG_A = 1000;

/** y in [0, 1] of the stretch at t in [0, 1] (histeq needs its cumulative histogram, normalised to end at 1). */
export function stretchValue(kind: StretchKind, t: number, cumulative?: Float64Array): number {
  switch (kind) {
    case 'linear': return t;
    case 'sqrt': return Math.sqrt(t);
    case 'log': return Math.log(LOG_A * t + 1) / Math.log(LOG_A + 1);
    case 'asinh': return Math.asinh(t / ASINH_A) / Math.asinh(1 / ASINH_A);
    case 'histeq': {
      if (!cumulative) throw new RangeError('histeq needs the cumulative histogram of the pixels');
      const position = t * (cumulative.length - 1), below = Math.floor(position);
      const above = Math.min(below + 1, cumulative.length - 1);
      return cumulative[below]! + (position - below) * (cumulative[above]! - cumulative[below]!);
    }
  }
}

/** RGBA word (little-endian: R | G << 8 | B << 16 | A << 24) of grey level g (0-255) in a colour map. */
export function colormapWord(colormap: Colormap, g: number): number {
  const clamp = (v: number): number => Math.max(0, Math.min(255, Math.round(v)));
  let r: number, gr: number, b: number;
  switch (colormap) {
    case 'grey': r = gr = b = g; break;
    case 'grey-inverted': r = gr = b = 255 - g; break;
    // DS9 heat: red rises over the first third, green over the middle, blue over the last.
    case 'heat': r = clamp(3 * g); gr = clamp(3 * g - 255); b = clamp(3 * g - 510); break;
    // DS9 cool: the reverse ramps in blue-green.
    case 'cool': r = clamp(3 * g - 510); gr = clamp(3 * g - 255); b = clamp(3 * g); break;
  }
  return (r | (gr << 8) | (b << 16) | (255 << 24)) >>> 0;
}

/** The 65536-entry RGBA table of a stretch and colour map (histeq: `cumulative` as for stretchValue). */
export function buildLut(kind: StretchKind, colormap: Colormap, cumulative?: Float64Array): Uint32Array {
  const palette = Uint32Array.from({ length: 256 }, (_, g) => colormapWord(colormap, g));
  const lut = new Uint32Array(LUT_ENTRIES);
  for (let k = 0; k < LUT_ENTRIES; k++) {
    const y = stretchValue(kind, k / (LUT_ENTRIES - 1), cumulative);
    lut[k] = palette[Math.max(0, Math.min(255, Math.round(255 * y)))]!;
  }
  return lut;
}

/** The cumulative histogram (normalised to end at 1, starting at 0) that histeq follows, from bin counts. */
export function cumulativeHistogram(counts: Uint32Array): Float64Array {
  const out = new Float64Array(counts.length + 1);
  for (let i = 0; i < counts.length; i++) out[i + 1] = out[i]! + counts[i]!;
  const total = out[counts.length]!;
  if (total > 0) for (let i = 0; i <= counts.length; i++) out[i] = out[i]! / total;
  else for (let i = 0; i <= counts.length; i++) out[i] = i / counts.length;
  return out;
}

/** LSST's afw.display mask colours (display_ds9 / display_firefly defaults), as CSS colours. */
export const MASK_COLOURS: Record<string, string> = {
  BAD: '#ff0000', CR: '#ff00ff', EDGE: '#ffff00', INTERPOLATED: '#00ff00', INTRP: '#00ff00', SAT: '#00ff00',
  DETECTED: '#0000ff', DETECTED_NEGATIVE: '#00ffff', SUSPECT: '#ffff00', NO_DATA: '#ffa500', CLIPPED: '#ff8c00',
  STREAK: '#ff69b4', REJECTED: '#8b0000', SENSOR_EDGE: '#ffd700', INEXACT_PSF: '#9370db', UNMASKEDNAN: '#ffa500',
};
/** Colours for planes without an LSST default, in turn. */
export const EXTRA_MASK_COLOURS = ['#1e90ff', '#adff2f', '#ff1493', '#00ced1', '#f0e68c', '#dda0dd'];
