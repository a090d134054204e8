// Pixel sets as spans (lib/coadd/maskSpans.ts): random masks round-trip through maskSpans, spansOfPixels
// (lists in any order, with repeats) and fillSpanRows (any band of rows), and offsetSpans moves them.
import { describe, expect, it } from 'vitest';
import { fillSpanRows, maskSpans, offsetSpans, spansOfPixels } from '../../lib/coadd/maskSpans.js';

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

  it('move by an offset', () => {
    const moved = offsetSpans(spans, 900, 1900);
    expect(moved).toEqual(maskSpans(mask, width, 900, 1900));
  });
});
