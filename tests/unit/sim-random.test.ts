// The simulator's random numbers: deterministic per seed and stream, independent streams, and the
// first two moments of the uniform, normal and Poisson deviates within 5 standard errors.
import { describe, expect, it } from 'vitest';
import { Random } from '../../lib/sim/random.js';

function moments(draw: () => number, n: number): { mean: number; variance: number } {
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) { const x = draw(); s += x; s2 += x * x; }
  const mean = s / n;
  return { mean, variance: s2 / n - mean * mean };
}

const r = new Random(20261126);

describe('Random', () => {
  it('repeats exactly for the same seed and stream, and differs between streams', () => {
    const a = Random.stream(42, 'noise', 3, 1);
    const b = Random.stream(42, 'noise', 3, 1);
    const c = Random.stream(42, 'noise', 3, 2);
    const xa = Array.from({ length: 100 }, () => a.nextUint32());
    expect(Array.from({ length: 100 }, () => b.nextUint32())).toEqual(xa);
    const xc = Array.from({ length: 100 }, () => c.nextUint32());
    expect(xc.filter((v, i) => v === xa[i]).length).toBeLessThan(3);
  });

  it('gives uniform deviates with mean 1/2 and variance 1/12', () => {
    const n = 200_000;
    const { mean, variance } = moments(() => r.uniform(), n);
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(5 * Math.sqrt(1 / 180 / n));
  });

  it('gives standard normal deviates', () => {
    const n = 200_000;
    const { mean, variance } = moments(() => r.normal(), n);
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
  });

  for (const lambda of [0.3, 4, 9.9, 10, 37.5, 1000, 2.5e5]) {
    it(`gives Poisson deviates with mean and variance ${lambda}`, () => {
      const n = 100_000;
      const { mean, variance } = moments(() => r.poisson(lambda), n);
      expect(Math.abs(mean - lambda)).toBeLessThan(5 * Math.sqrt(lambda / n));
      // Var of the sample variance of a Poisson: (lambda + 2 lambda^2) / n approximately.
      expect(Math.abs(variance - lambda)).toBeLessThan(5 * Math.sqrt((lambda + 2 * lambda * lambda) / n));
    });
  }
});
