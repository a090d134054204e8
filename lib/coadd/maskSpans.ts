/**
 * Sets of pixels as spans of rows (afw's SpanSet: y, x0, x1 inclusive, ordered by y then x): how
 * artifact rejection keeps each visit's clipped pixels (sparse, whatever the patch size), how the coadd
 * writes them (deepCoadd_artifactMask) and how CoaddPsf keeps each warp's coverage.
 */

export interface MaskSpans {
  y: Int32Array;
  x0: Int32Array;
  x1: Int32Array;
}

/** The runs of set pixels of a u8 mask (width wide), as spans offset by (x0, y0). */
export function maskSpans(mask: Uint8Array, width: number, x0 = 0, y0 = 0): MaskSpans {
  return runsOf(mask, width, -1, false, x0, y0, 0, width - 1);
}

/**
 * The runs of pixels of a mask plane (width wide) without any of `bits` (e.g. a warp's coverage: no
 * NO_DATA), as spans offset by (x0, y0); only columns `from` .. `to` are looked at (the rest known to have them).
 */
export function spansWithout(mask: Int32Array, bits: number, width: number, x0 = 0, y0 = 0, from = 0, to = width - 1): MaskSpans {
  return runsOf(mask, width, bits, true, x0, y0, from, to);
}

/** Runs of the pixels of columns from .. to where (value & bits) is non-zero, or zero when `clear`. */
function runsOf(mask: Uint8Array | Int32Array, width: number, bits: number, clear: boolean, x0: number, y0: number, from: number, to: number): MaskSpans {
  const ys: number[] = [], starts: number[] = [], ends: number[] = [];
  const height = mask.length / width;
  for (let y = 0, row = 0; y < height; y++, row += width) {
    let x = from;
    while (x <= to) {
      if (((mask[row + x]! & bits) === 0) !== clear) { x++; continue; }
      const start = x;
      while (x <= to && ((mask[row + x]! & bits) === 0) === clear) x++;
      ys.push(y + y0); starts.push(start + x0); ends.push(x - 1 + x0);
    }
  }
  return { y: Int32Array.from(ys), x0: Int32Array.from(starts), x1: Int32Array.from(ends) };
}

/** The union of lists of pixel indices (row-major, `width` wide; any order, repeats allowed) as spans. */
export function spansOfPixels(lists: readonly Int32Array[], width: number): MaskSpans {
  const all = new Int32Array(lists.reduce((s, l) => s + l.length, 0));
  let k = 0;
  for (const l of lists) { all.set(l, k); k += l.length; }
  all.sort();
  const ys: number[] = [], starts: number[] = [], ends: number[] = [];
  for (let i = 0; i < all.length;) {
    const first = all[i]!, y = Math.floor(first / width);
    let last = first;
    i++;
    while (i < all.length && all[i]! <= last + 1 && Math.floor(all[i]! / width) === y) last = Math.max(last, all[i++]!);
    ys.push(y); starts.push(first - y * width); ends.push(last - y * width);
  }
  return { y: Int32Array.from(ys), x0: Int32Array.from(starts), x1: Int32Array.from(ends) };
}

/** The index of the first span on or after row y0 (spans are ordered by row). */
function firstSpanFrom(spans: MaskSpans, y0: number): number {
  let lo = 0, hi = spans.y.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (spans.y[mid]! < y0) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/**
 * Sets to `value` (default 1) the pixels of `spans` on rows y0 .. y0 + height - 1 and columns x0 .. x0 + width - 1
 * in `out` (that box, `width` wide, its first pixel first).
 */
export function fillSpanRows(spans: MaskSpans, width: number, y0: number, height: number, out: Uint8Array, x0 = 0, value = 1): void {
  for (let k = firstSpanFrom(spans, y0); k < spans.y.length && spans.y[k]! < y0 + height; k++) {
    const from = Math.max(spans.x0[k]!, x0), to = Math.min(spans.x1[k]!, x0 + width - 1);
    if (from <= to) out.fill(value, (spans.y[k]! - y0) * width + from - x0, (spans.y[k]! - y0) * width + to - x0 + 1);
  }
}

/** The first and last columns of the spans on rows y0 .. y0 + height - 1; undefined when none. */
export function spanColumns(spans: MaskSpans, y0: number, height: number): readonly [number, number] | undefined {
  let first = Infinity, last = -Infinity;
  for (let k = firstSpanFrom(spans, y0); k < spans.y.length && spans.y[k]! < y0 + height; k++) {
    first = Math.min(first, spans.x0[k]!);
    last = Math.max(last, spans.x1[k]!);
  }
  return first <= last ? [first, last] : undefined;
}

/** `spans` moved by (dx, dy) (e.g. from a warp's pixels to tract pixels). */
export function offsetSpans(spans: MaskSpans, dx: number, dy: number): MaskSpans {
  return { y: spans.y.map((v) => v + dy), x0: spans.x0.map((v) => v + dx), x1: spans.x1.map((v) => v + dx) };
}
