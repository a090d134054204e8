// boxMeanNoiseScale (lib/measure/deblend.ts): the measured scatter of 3x3 means over what the variance plane
// predicts, which coadd detection multiplies its peak-prominence threshold by (PEAKNSCL). Independent noise
// gives 1; noise correlated along rows as p_x = (n_x + n_{x+1}) / sqrt(2) (unit variance, covariance 1/2
// between neighbours) gives sqrt(15 / 9) = 1.291 (a 3-pixel row sum has variance 3 + 4 x 1/2 = 5, against
// the 3 of independent pixels); boxes touching excluded pixels are left out.
import { describe, expect, it } from 'vitest';
import { boxMeanNoiseScale } from '../../lib/measure/deblend.js';
import { Random } from '../../lib/sim/random.js';

const W = 600, H = 600, DETECTED = 1 << 5;

function noise(correlated: boolean, seed: number) {
  const random = Random.stream(seed, 'box-mean-noise');
  const white = Float64Array.from({ length: W * H + 1 }, () => random.normal());
  const image = Float32Array.from({ length: W * H }, (_v, i) => (correlated ? (white[i]! + white[i + 1]!) / Math.SQRT2 : white[i]!));
  return { width: W, height: H, image, variance: new Float32Array(W * H).fill(1), mask: new Int32Array(W * H) };
}

describe('boxMeanNoiseScale', () => {
  it('is 1 for independent pixels and 1.291 for pixels correlated with their row neighbours, within 3 %', () => {
    expect(boxMeanNoiseScale(noise(false, 1), DETECTED)).toBeCloseTo(1, 1);
    expect(Math.abs(boxMeanNoiseScale(noise(false, 2), DETECTED) - 1)).toBeLessThan(0.03);
    expect(Math.abs(boxMeanNoiseScale(noise(true, 3), DETECTED) - Math.sqrt(15 / 9))).toBeLessThan(0.03);
  });

  it('leaves out boxes that touch excluded pixels, and is NaN with fewer than 100 boxes', () => {
    const image = noise(false, 4);
    for (let y = 0; y < H; y++) for (let x = 0; x < W / 2; x++) { image.image[y * W + x] = 1e4; image.mask[y * W + x] = DETECTED; }
    expect(Math.abs(boxMeanNoiseScale(image, DETECTED) - 1)).toBeLessThan(0.03);
    image.mask.fill(DETECTED);
    expect(boxMeanNoiseScale(image, DETECTED)).toBeNaN();
  });
});
