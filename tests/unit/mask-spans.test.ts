// Pixel sets as spans (lib/coadd/maskSpans.ts): random masks round-trip through maskSpans, spansOfPixels
// (lists in any order, with repeats) and fillSpanRows (any band of rows, any columns), and offsetSpans moves
// them; spansWithout over the columns that hold a plane's clear pixels; spanColumns of a band of rows.
import { describe, expect, it } from 'vitest';
import { fillSpanRows, maskSpans, offsetSpans, spanColumns, spansOfPixels, spansWithout } from '../../lib/coadd/maskSpans.js';

function randomMask(width: number, height: number, seed: number): Uint8Array {
  let s = seed >>> 0;
  const next = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const mask = new Uint8Array(width * height);
  for (let i = 0; i < mask.length; i++) mask[i] = next() < 0.3 ? 1 : 0;
  return mask;
}

describe('mask spans', () => {
  const width = 37, height = 23, mask = randomMask(width, height, 7);
  const spans = maskSpans(mask, width);

  it('are the same from a mask and from its pixel indices in any order, split in lists with repeats', () => {
    const pixels = [...mask.keys()].filter((i) => mask[i]).reverse();
    const lists = [Int32Array.from(pixels.slice(0, 100)), Int32Array.from(pixels.slice(80)), Int32Array.from(pixels.filter((_, k) => k % 3 === 0))];
    expect(spansOfPixels(lists, width)).toEqual(spans);
    // Runs end at the row's end: no span crosses rows.
    for (let k = 0; k < spans.y.length; k++) expect(spans.x1[k]!).toBeLessThan(width);
  });

  it('fill any band of rows back to the mask', () => {
    for (const [y0, h] of [[0, height], [0, 1], [5, 7], [22, 1], [10, 13]] as const) {
      const out = new Uint8Array(h * width);
      fillSpanRows(spans, width, y0, h, out);
      expect(out).toEqual(mask.subarray(y0 * width, (y0 + h) * width));
    }
  });

  it('fill any box back to the mask', () => {
    for (const [x0, w, y0, h] of [[0, width, 3, 4], [5, 9, 0, height], [36, 1, 10, 2], [12, 20, 22, 1]] as const) {
      const out = new Uint8Array(h * w);
      fillSpanRows(spans, w, y0, h, out, x0);
      const expected = new Uint8Array(h * w);
      for (let y = 0; y < h; y++) expected.set(mask.subarray((y0 + y) * width + x0, (y0 + y) * width + x0 + w), y * w);
      expect(out).toEqual(expected);
    }
  });

  it('of a mask plane\'s clear pixels are found over just the columns that hold them', () => {
    // A plane with bit 4 set but on columns 9-20 (where the random mask decides).
    const plane = Int32Array.from(mask, (m, i) => (i % width >= 9 && i % width <= 20 && m ? 0 : 16));
    expect(spansWithout(plane, 16, width, 0, 0, 9, 20)).toEqual(spansWithout(plane, 16, width));
    expect(spansWithout(plane, 16, width, 0, 0, 9, 20)).toEqual(maskSpans(Uint8Array.from(plane, (m) => (m ? 0 : 1)), width));
  });

  it('give the first and last columns of a band of rows', () => {
    for (const [y0, h] of [[0, height], [4, 3], [22, 1]] as const) {
      let first = Infinity, last = -Infinity;
      for (let y = y0; y < y0 + h; y++) for (let x = 0; x < width; x++) if (mask[y * width + x]) { first = Math.min(first, x); last = Math.max(last, x); }
      expect(spanColumns(spans, y0, h)).toEqual([first, last]);
    }
    expect(spanColumns(spans, height, 5)).toBeUndefined();
  });

  it('move by an offset', () => {
    const moved = offsetSpans(spans, 900, 1900);
    expect(moved).toEqual(maskSpans(mask, width, 900, 1900));
  });
});
