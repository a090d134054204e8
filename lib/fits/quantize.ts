/**
 * Restores floating-point pixels from the scaled integers of a quantised compressed tile, exactly as
 * cfitsio does (imcompress.c: fits_init_randoms, unquantize_i*r4/_i*r8, fffi4r4/fffi4r8), so the result
 * is bit-identical to funpack. Follows the FITS tiled image compression convention (Pence et al.
 * 2009; FITS 4.0 §10.2 / §10.3): ZQUANTIZ = 'NO_DITHER' (value = i*ZSCALE + ZZERO),
 * 'SUBTRACTIVE_DITHER_1' (value = (i - r + 0.5)*ZSCALE + ZZERO with r from a fixed table of 10000
 * uniform deviates, the first one for a tile chosen by its row and ZDITHER0) and
 * 'SUBTRACTIVE_DITHER_2' (as _1, but the integer -2147483646 stands for an exact 0.0).
 */

export type QuantizeMethod = 'NO_DITHER' | 'SUBTRACTIVE_DITHER_1' | 'SUBTRACTIVE_DITHER_2';

/** Number of values in the dither table (N_RANDOM in cfitsio). */
export const N_RANDOM = 10000;
/** Integer that marks an exact zero under SUBTRACTIVE_DITHER_2 (ZERO_VALUE in cfitsio). */
export const ZERO_VALUE = -2147483646;

let randoms: Float64Array | undefined;

/**
 * The dither table: 10000 deviates of the Park & Miller (1988) minimal-standard generator
 * (a = 16807, m = 2^31 - 1, seed 1), each rounded to float32 as cfitsio stores them. The 10000th
 * seed must be 1043618065 (the published check value).
 */
export function ditherRandoms(): Float64Array {
  if (randoms) return randoms;
  const a = 16807;
  const m = 2147483647;
  const table = new Float64Array(N_RANDOM);
  let seed = 1;
  for (let i = 0; i < N_RANDOM; i++) {
    const temp = a * seed;
    seed = temp - m * Math.trunc(temp / m);
    table[i] = Math.fround(seed / m);
  }
  if (seed !== 1043618065) throw new Error(`dither random sequence check failed (seed ${seed})`);
  randoms = table;
  return table;
}

/** Index of the first dither value of the tile in `row` (1-based tile number + ZDITHER0 - 1). */
function firstIndex(table: Float64Array, iseed: number): number {
  // cfitsio: (int)(fits_rand_value[iseed] * 500), a float multiplication truncated to int.
  return Math.trunc(Math.fround(table[iseed]! * 500));
}

/**
 * Unquantises one tile into `out[offset .. offset+n)`.
 * `ditherRow` is cfitsio's `row` argument: (1-based tile row) + ZDITHER0 - 1.
 * `blank`, when defined, is the integer marking undefined pixels, which become NaN.
 * `out` receives float32-rounded values when it is a Float32Array and doubles otherwise.
 */
export function unquantizeTile(
  input: Int32Array, n: number, scale: number, zero: number, method: QuantizeMethod,
  ditherRow: number, blank: number | undefined, out: Float32Array | Float64Array, offset: number,
): void {
  if (method === 'NO_DITHER') {
    for (let i = 0; i < n; i++) {
      const v = input[i]!;
      out[offset + i] = v === blank ? NaN : v * scale + zero;
    }
    return;
  }
  const table = ditherRandoms();
  let iseed = (((ditherRow - 1) % N_RANDOM) + N_RANDOM) % N_RANDOM;
  let next = firstIndex(table, iseed);
  const dither2 = method === 'SUBTRACTIVE_DITHER_2';
  const hasBlank = blank !== undefined;
  for (let i = 0; i < n; i++) {
    const v = input[i]!;
    if (hasBlank && v === blank) out[offset + i] = NaN;
    else if (dither2 && v === ZERO_VALUE) out[offset + i] = 0;
    else out[offset + i] = (v - table[next]! + 0.5) * scale + zero;
    next++;
    if (next === N_RANDOM) {
      iseed++;
      if (iseed === N_RANDOM) iseed = 0;
      next = firstIndex(table, iseed);
    }
  }
}
