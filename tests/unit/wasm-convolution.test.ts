// The separable-convolution kernel in all three builds (release SIMD, debug with assertions, scalar)
// against the plain-JS reference, on images with edges narrower and wider than the kernel.
import { describe, expect, it, beforeAll } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { convolveSeparable } from '../../lib/image/convolve.js';
import { convolveSeparableReference } from '../../lib/image/convolveReference.js';
import { gaussianKernel } from '../../lib/image/gaussianKernel.js';

function noiseImage(width: number, height: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 1000 - 200;
  }
  return out;
}

/** Largest |a - b| relative to the image's full scale (1000): f32 rounding of a ~10-term sum is ~1e-7. */
function maxScaledError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / 1000);
  return worst;
}

const builds: Record<string, Tessera> = {};
beforeAll(async () => {
  for (const v of ['release', 'debug', 'scalar'] as const) builds[v] = await loadTessera(v);
});

describe('convolveSeparable kernel', () => {
  it('reports SIMD in the release and debug builds and not in the scalar build', () => {
    expect(builds.release!.kernels.simdEnabled()).toBe(1);
    expect(builds.debug!.kernels.simdEnabled()).toBe(1);
    expect(builds.scalar!.kernels.simdEnabled()).toBe(0);
  });

  for (const [width, height, sigma] of [[67, 45, 1.5], [75, 33, 2.5], [7, 5, 2], [256, 128, 3.2], [1, 9, 1]] as const) {
    it(`matches the JS reference within 1e-6 of full scale on ${width}x${height}, sigma ${sigma}`, () => {
      const image = noiseImage(width, height, width * 31 + height);
      const kernel = gaussianKernel(sigma);
      const expected = convolveSeparableReference(image, width, height, kernel);
      for (const build of Object.values(builds)) {
        expect(maxScaledError(convolveSeparable(build, image, width, height, kernel), expected)).toBeLessThan(1e-6);
      }
    });

    it(`gives bit-identical output in the SIMD, debug and scalar builds on ${width}x${height}`, () => {
      const image = noiseImage(width, height, 7);
      const kernel = gaussianKernel(sigma);
      const simd = convolveSeparable(builds.release!, image, width, height, kernel);
      expect(Buffer.from(convolveSeparable(builds.scalar!, image, width, height, kernel).buffer)).toEqual(Buffer.from(simd.buffer));
      expect(Buffer.from(convolveSeparable(builds.debug!, image, width, height, kernel).buffer)).toEqual(Buffer.from(simd.buffer));
    });
  }

  it('convolves in strips of 32 rows: heights about a strip\'s multiple and kernels wider than a strip match the reference, in place or not, in every build', () => {
    for (const [width, height, sigma] of [[19, 31, 1], [19, 32, 1], [19, 33, 2], [23, 97, 10], [9, 200, 12]] as const) {
      const image = noiseImage(width, height, height);
      const kernel = gaussianKernel(sigma);
      const expected = convolveSeparableReference(image, width, height, kernel);
      for (const [name, build] of Object.entries(builds)) {
        const inPlace = convolveSeparable(build, image, width, height, kernel);
        expect(maxScaledError(inPlace, expected), `${name} ${width}x${height} sigma ${sigma}`).toBeLessThan(1e-6);
        const apart = build.planes.scope(() => {
          const { planes, kernels } = build;
          const src = planes.allocFrom(image), dst = planes.alloc(image.byteLength), scratch = planes.alloc(image.byteLength), k = planes.allocFrom(kernel);
          expect(kernels.convolveSeparable(src, dst, scratch, width, height, k, (kernel.length - 1) / 2)).toBe(0);
          expect(planes.f32(src, width * height), 'the input left as it was').toEqual(image);
          return planes.f32(dst, width * height).slice();
        });
        expect(Buffer.from(apart.buffer), `${name} ${width}x${height}: in place and apart, the same bits`).toEqual(Buffer.from(inPlace.buffer));
      }
    }
  });

  it('conserves flux of a point source away from the edges to 1e-6', () => {
    const width = 64;
    const image = new Float32Array(width * width);
    image[32 * width + 30] = 1000;
    const out = convolveSeparable(builds.release!, image, width, width, gaussianKernel(2));
    expect(Math.abs(out.reduce((a, b) => a + b, 0) - 1000)).toBeLessThan(1e-3);
    expect(out[32 * width + 30]).toBeGreaterThan(out[32 * width + 33]!);
  });

  it('refuses a scratch plane that aliases the input', () => {
    const { kernels, planes } = builds.release!;
    const status = planes.scope(() => {
      const p = planes.alloc(64);
      const k = planes.allocFrom(gaussianKernel(1));
      return kernels.convolveSeparable(p, p, p, 4, 4, k, 4);
    });
    expect(status).toBe(1);
  });

  it('traps in the debug build when a plane lies outside wasm memory', () => {
    const { kernels, planes } = builds.debug!;
    const k = planes.allocFrom(gaussianKernel(1));
    const beyond = planes.memoryBytes + 1024;
    expect(() => kernels.convolveSeparable(beyond, beyond, beyond + 4096, 8, 8, k, 4)).toThrow(/plane outside wasm memory/);
    planes.release(k);
  });
});
