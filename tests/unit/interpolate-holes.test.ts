// interpolateHoles (lib/coadd/interpolateHoles.ts, assembleCoadd's doInterp): holes without data inside a
// coadd's coverage are filled linearly along the shorter of their row and column gaps, NO_DATA kept and
// INTRP added; what lies beyond the coverage stays as it was.
import { describe, expect, it } from 'vitest';
import { interpolateHoles } from '../../lib/coadd/interpolateHoles.js';

const NO_DATA = 1 << 8, INTRP_BIT = 2, INTRP = 1 << INTRP_BIT;

/** A plane a + b x + c y (variance 10 + x) with the pixels `hole` says NaN and NO_DATA. */
function plane(width: number, height: number, hole: (x: number, y: number) => boolean) {
  const n = width * height;
  const image = new Float32Array(n), variance = new Float32Array(n), mask = new Int32Array(n);
  const truth = new Float32Array(n);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      truth[i] = 100 + 3 * x - 2 * y;
      if (hole(x, y)) { image[i] = NaN; variance[i] = NaN; mask[i] = NO_DATA | 2; } else { image[i] = truth[i]!; variance[i] = 10 + x; }
    }
  }
  return { width, height, image, variance, mask, truth };
}

describe('interpolateHoles', () => {
  it('fills a band that spans whole rows along the columns, recovering a plane', () => {
    // A bleed trail along rows (as in the DECam cut-outs): rows 8-11 have no data from edge to edge.
    const p = plane(30, 20, (_x, y) => y >= 8 && y <= 11);
    expect(interpolateHoles(p, NO_DATA, INTRP_BIT)).toBe(4 * 30);
    for (let y = 8; y <= 11; y++) {
      for (let x = 0; x < 30; x++) {
        const i = y * 30 + x;
        expect(p.image[i]).toBeCloseTo(p.truth[i]!, 3);
        expect(p.variance[i]).toBeCloseTo(10 + x, 4);
        expect(p.mask[i]).toBe(NO_DATA | 2 | INTRP);
      }
    }
  });

  it('fills a band along columns along the rows, and a round core by its shorter gap', () => {
    const p = plane(30, 20, (x, y) => (x >= 14 && x <= 15) || (x - 6) ** 2 + (y - 10) ** 2 <= 9);
    const filled = interpolateHoles(p, NO_DATA, INTRP_BIT);
    let holes = 0;
    for (let i = 0; i < p.mask.length; i++) {
      if (!(p.mask[i]! & NO_DATA)) continue;
      holes++;
      expect(p.image[i]).toBeCloseTo(p.truth[i]!, 3);
      expect(p.mask[i]! & INTRP).toBe(INTRP);
    }
    expect(filled).toBe(holes);
  });

  it('leaves the area beyond the coverage (no data on both sides in either direction) as it was', () => {
    // Data only in a 10 x 8 box: nothing outside it lies between two pixels with data.
    const p = plane(30, 20, (x, y) => !(x >= 10 && x < 20 && y >= 6 && y < 14));
    expect(interpolateHoles(p, NO_DATA, INTRP_BIT)).toBe(0);
    expect(p.image.filter((v) => Number.isNaN(v)).length).toBe(30 * 20 - 80);
    expect(p.mask.some((m) => (m & INTRP) !== 0)).toBe(false);
  });

  it('fills a notch between two arms of the coverage along the row that crosses it', () => {
    // Coverage shaped like a U: columns 0-9 and 20-29 in every row, the bottom rows 0-4 throughout.
    const p = plane(30, 20, (x, y) => y >= 5 && x >= 10 && x < 20);
    expect(interpolateHoles(p, NO_DATA, INTRP_BIT)).toBe(15 * 10);
    for (let y = 5; y < 20; y++) expect(p.image[y * 30 + 15]).toBeCloseTo(p.truth[y * 30 + 15]!, 3);
  });
});
