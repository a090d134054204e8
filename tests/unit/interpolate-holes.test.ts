// interpolateHoles (lib/coadd/interpolateHoles.ts, assembleCoadd's doInterp): a coadd's holes (NO_DATA
// because every visit was rejected there: REJECTED) are filled linearly along the shorter of their row
// and column gaps between pixels with data, NO_DATA kept and INTRP added; pixels no visit reached, and
// holes not closed by data on both sides, stay as they were.
import { describe, expect, it } from 'vitest';
import { interpolateHoles } from '../../lib/coadd/interpolateHoles.js';

const NO_DATA = 1 << 8, REJECTED = 1 << 10, INTRP_BIT = 2, INTRP = 1 << INTRP_BIT;

/** A plane a + b x + c y (variance 10 + x) with the pixels `hole` says NaN and NO_DATA | REJECTED (`uncovered`: NO_DATA only). */
function plane(width: number, height: number, hole: (x: number, y: number) => boolean, uncovered: (x: number, y: number) => boolean = () => false) {
  const n = width * height;
  const image = new Float32Array(n), variance = new Float32Array(n), mask = new Int32Array(n);
  const truth = new Float32Array(n);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      truth[i] = 100 + 3 * x - 2 * y;
      if (uncovered(x, y)) { image[i] = NaN; variance[i] = NaN; mask[i] = NO_DATA; } else if (hole(x, y)) { image[i] = NaN; variance[i] = NaN; mask[i] = NO_DATA | REJECTED; } else { image[i] = truth[i]!; variance[i] = 10 + x; }
    }
  }
  return { width, height, image, variance, mask, truth };
}

describe('interpolateHoles', () => {
  it('fills a band that spans whole rows along the columns, recovering a plane', () => {
    // A bleed trail along rows (as in the DECam cut-outs): rows 8-11 have no data from edge to edge.
    const p = plane(30, 20, (_x, y) => y >= 8 && y <= 11);
    expect(interpolateHoles(p, NO_DATA, REJECTED, INTRP_BIT, 0)).toBe(4 * 30);
    for (let y = 8; y <= 11; y++) {
      for (let x = 0; x < 30; x++) {
        const i = y * 30 + x;
        expect(p.image[i]).toBeCloseTo(p.truth[i]!, 3);
        expect(p.variance[i]).toBeCloseTo(10 + x, 4);
        expect(p.mask[i]).toBe(NO_DATA | REJECTED | INTRP);
      }
    }
  });

  it('fills a band along columns along the rows, and a round core by its shorter gap', () => {
    const p = plane(30, 20, (x, y) => (x >= 14 && x <= 15) || (x - 6) ** 2 + (y - 10) ** 2 <= 9);
    const filled = interpolateHoles(p, NO_DATA, REJECTED, INTRP_BIT, 0);
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
    expect(interpolateHoles(p, NO_DATA, REJECTED, INTRP_BIT, 0)).toBe(0);
    expect(p.image.filter((v) => Number.isNaN(v)).length).toBe(30 * 20 - 80);
    expect(p.mask.some((m) => (m & INTRP) !== 0)).toBe(false);
  });

  it('takes the pixels without data within `grow` px of a rejected one as holes too (a warp kernel\'s reach)', () => {
    // A rejected core at rows 9-10, x 12-17, in a ring 2 px wide of NO_DATA without REJECTED (NaN from the warp's kernel).
    const core = (x: number, y: number): boolean => y >= 9 && y <= 10 && x >= 12 && x <= 17;
    const ring = (x: number, y: number): boolean => !core(x, y) && y >= 7 && y <= 12 && x >= 10 && x <= 19;
    const alone = plane(30, 20, core, ring);
    expect(interpolateHoles(alone, NO_DATA, REJECTED, INTRP_BIT, 1)).toBe(0); // the ring is only partly a hole: nothing closes
    const p = plane(30, 20, core, ring);
    expect(interpolateHoles(p, NO_DATA, REJECTED, INTRP_BIT, 2)).toBe(6 * 10);
    for (let y = 7; y <= 12; y++) for (let x = 10; x <= 19; x++) expect(p.image[y * 30 + x]).toBeCloseTo(p.truth[y * 30 + x]!, 3);
  });

  it('leaves pixels no visit reached (a gap between detectors) as they were, and the holes they border', () => {
    // A gap of columns 10-19 that no visit reached; a rejected core at rows 8-9 from x 20 to 24 borders it.
    const p = plane(30, 20, (x, y) => y >= 8 && y <= 9 && x >= 20 && x <= 24, (x) => x >= 10 && x < 20);
    // The core is closed along its columns (rows 7 and 10 have data), not along its rows (the gap).
    expect(interpolateHoles(p, NO_DATA, REJECTED, INTRP_BIT, 0)).toBe(2 * 5);
    for (let y = 0; y < 20; y++) for (let x = 10; x < 20; x++) expect(Number.isNaN(p.image[y * 30 + x]!) && p.mask[y * 30 + x] === NO_DATA).toBe(true);
    for (let y = 8; y <= 9; y++) for (let x = 20; x <= 24; x++) expect(p.image[y * 30 + x]).toBeCloseTo(p.truth[y * 30 + x]!, 3);
  });
});
