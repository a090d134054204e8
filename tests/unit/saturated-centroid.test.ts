// The saturated-star centroid (lib/measure/saturatedCentroid.ts): a Gaussian star whose core is saturated
// (masked SAT) with a bleed trail along its column is found from its wings to within 0.05 px; a box larger
// than the reused work array holds (a radius of 260 px) is fitted in an array of its own and leaves the
// reused one as it was (a small fit before and after it gives the same bits); too few usable pixels give
// no fit.
import { describe, expect, it } from 'vitest';
import { saturatedCentroid } from '../../lib/measure/saturatedCentroid.js';
import { Random } from '../../lib/sim/random.js';
import { fillNormal } from '../../lib/sim/noise.js';

const SAT = 1 << 1;

function saturatedStar(width: number, height: number, cx: number, cy: number): { image: Float32Array; variance: Float32Array; mask: Int32Array } {
  const image = new Float32Array(width * height), variance = new Float32Array(width * height).fill(100), mask = new Int32Array(width * height);
  fillNormal(new Random(5), image);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x, v = 2e5 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 2.5 * 2.5));
      image[i] = 10 * image[i]! + v;
      // The core above full well, and a bleed trail up and down its column.
      if (v > 5e4 || (Math.abs(x - Math.round(cx)) <= 1 && Math.abs(y - cy) < 25)) mask[i] = SAT;
    }
  }
  return { image, variance, mask };
}

describe('saturatedCentroid', () => {
  it('finds a saturated star with a bleed trail from its wings, in a reused array or, for a large box, its own', () => {
    const width = 600, height = 600, cx = 300.3, cy = 288.7;
    const { image, variance, mask } = saturatedStar(width, height, cx, cy);
    const small = (): ReturnType<typeof saturatedCentroid> => saturatedCentroid(image, variance, mask, width, height, 301, 288, 3, 20, SAT);
    const before = small();
    expect(before).toBeDefined();
    expect(Math.hypot(before!.x - cx, before!.y - cy)).toBeLessThan(0.05);
    // 521 x 521 pixels, six arrays of them: more than the work array keeps.
    const large = saturatedCentroid(image, variance, mask, width, height, 301, 288, 3, 260, SAT);
    expect(large).toBeDefined();
    expect(large!.pixels).toBeGreaterThan(200_000);
    expect(Math.hypot(large!.x - cx, large!.y - cy)).toBeLessThan(0.05);
    expect(small()).toEqual(before);
  });

  it('gives no fit with fewer than 12 usable pixels', () => {
    const width = 40, height = 40;
    const { image, variance, mask } = saturatedStar(width, height, 20, 20);
    mask.fill(SAT);
    for (let k = 0; k < 11; k++) mask[k] = 0;
    expect(saturatedCentroid(image, variance, mask, width, height, 20, 20, 3, 30, SAT)).toBeUndefined();
  });
});
