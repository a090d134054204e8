// The background tweak (lib/coadd/backgroundTweak.ts, LSST DynamicDetectionTask's): on unit white noise
// with a residual level of -0.05, sky objects placed off the masked pixels (60 % of the image, at +1) and
// off the pixels without data (NaN) measure the level within 3 standard errors of its median (each sky
// object's PSF-weighted mean has the noise sqrt(sum w^2) / sum w); too little blank sky gives no level.
import { describe, expect, it } from 'vitest';
import { backgroundTweak } from '../../lib/coadd/backgroundTweak.js';

const W = 700, H = 700, DETECTED = 1 << 5, SIGMA = 2.5;

/** Unit Gaussian noise (splitmix32 + Box-Muller) plus `level`. */
function noise(level: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const u = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (((z ^ (z >>> 16)) >>> 0) + 0.5) / 2 ** 32;
  };
  return Float32Array.from({ length: W * H }, () => level + Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

/** A Gaussian PSF stamp of 17 x 17 px (the sky objects' radius 8), unit sum. */
function psfStamp(): { values: Float64Array; size: number } {
  const size = 17, c = 8, values = new Float64Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) values[y * size + x] = Math.exp(-((x - c) ** 2 + (y - c) ** 2) / (2 * SIGMA * SIGMA));
  const sum = values.reduce((a, v) => a + v, 0);
  return { values: values.map((v) => v / sum), size };
}

describe('background tweak', () => {
  it('measures the blank sky\'s residual level, leaving out masked pixels and pixels without data', () => {
    const image = noise(-0.05, 5), mask = new Int32Array(W * H), stamp = psfStamp();
    // 60 % of the image (the left 420 columns) masked and 1 higher; the bottom 50 rows without data.
    for (let y = 0; y < H; y++) for (let x = 0; x < 420; x++) { mask[y * W + x] = DETECTED; image[y * W + x] += 1; }
    for (let i = (H - 50) * W; i < W * H; i++) image[i] = NaN;
    const tweak = backgroundTweak(image, mask, DETECTED, W, H, stamp, 17)!;
    expect(tweak.count).toBeGreaterThan(100);
    // The noise of one sky object's weighted mean over its disk (the stamp's pixels within 8 px).
    let sw = 0, sw2 = 0;
    for (let y = -8; y <= 8; y++) for (let x = -8; x <= 8; x++) {
      if (x * x + y * y > 64) continue;
      const w = stamp.values[(y + 8) * 17 + x + 8]!;
      sw += w; sw2 += w * w;
    }
    const error = (1.2533 * Math.sqrt(sw2) / sw) / Math.sqrt(tweak.count);
    expect(Math.abs(tweak.level + 0.05), `level ${tweak.level.toFixed(4)} from ${tweak.count} sky objects, standard error ${error.toFixed(4)}`).toBeLessThan(3 * error);
  });

  it('gives no level where fewer than 2 % of the sky objects asked for fit', () => {
    const image = noise(0, 9), mask = new Int32Array(W * H).fill(DETECTED);
    // Blank sky for a handful of 17-px disks only.
    for (let y = 100; y < 140; y++) for (let x = 100; x < 180; x++) mask[y * W + x] = 0;
    expect(backgroundTweak(image, mask, DETECTED, W, H, psfStamp(), 3)).toBeUndefined();
  });
});
