// lib/math/median.ts: the median by selection against the sorted array's middle (exact equality), on
// random lengths, heavy ties, NaNs (ordered last, as Float64Array sorts them), and the empty and
// single-value cases; the input is left unchanged.
import { describe, expect, it } from 'vitest';
import { median } from '../../lib/math/median.js';
import { randoms } from '../helpers/kernelTesting.js';

function sortedMedian(values: ArrayLike<number>): number {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

describe('median', () => {
  it('equals the sorted middle exactly: random lengths, ties and NaNs', () => {
    const r = randoms(3);
    for (let trial = 0; trial < 400; trial++) {
      const n = Math.floor(r.uniform() * 60);
      const kind = trial % 4;
      const values = Array.from({ length: n }, () => {
        const v = kind === 1 ? Math.round(r.normal() * 2) : r.normal() * 100;
        return kind === 2 && r.uniform() < 0.3 ? NaN : kind === 3 && r.uniform() < 0.1 ? Infinity : v;
      });
      const copy = values.slice();
      const got = median(values), want = sortedMedian(values);
      // Equal as numbers (a sort puts -0 before 0; selection may return either), NaN where the sort gives NaN.
      expect(got === want || (Number.isNaN(got) && Number.isNaN(want)), `trial ${trial}: ${values.join(',')}`).toBe(true);
      expect(values).toEqual(copy);
    }
  });

  it('handles none, one, and a large array', () => {
    expect(median([])).toBeNaN();
    expect(median([7])).toBe(7);
    expect(median([NaN])).toBeNaN();
    const r = randoms(9);
    const big = Float64Array.from({ length: 100_001 }, () => r.normal());
    expect(median(big)).toBe(sortedMedian(big));
  });
});
