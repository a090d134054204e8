/**
 * Separable convolution of an f32 image through the wasm kernel `convolveSeparable`
 * (assembly/convolution.ts): copies the image into wasm planes, convolves along x then y, copies out.
 * All wasm memory used is released before returning.
 */
import type { Tessera } from '../wasm/loader.js';
import { checkStatus } from '../wasm/kernels.js';

export function convolveSeparable(tessera: Tessera, image: Float32Array, width: number, height: number, kernel: Float32Array): Float32Array {
  if (image.length !== width * height) throw new RangeError(`convolveSeparable: image has ${image.length} pixels, expected ${width}x${height}`);
  if (kernel.length % 2 !== 1) throw new RangeError(`convolveSeparable: kernel length must be odd, got ${kernel.length}`);
  const { planes, kernels } = tessera;
  return planes.scope(() => {
    const src = planes.allocFrom(image);
    const scratch = planes.alloc(image.byteLength);
    const k = planes.allocFrom(kernel);
    checkStatus('convolveSeparable', kernels.convolveSeparable(src, src, scratch, width, height, k, (kernel.length - 1) / 2));
    return planes.f32(src, width * height).slice();
  });
}
