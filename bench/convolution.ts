/**
 * Benchmark: separable Gaussian convolution (sigma 2 px, 17 taps) of an HSC-size f32 plane
 * (2048x4176) with the SIMD wasm build, the scalar wasm build, and plain JavaScript, in one process.
 * The wasm timings exclude copying in and out (planes stay in wasm memory, as in the pipeline).
 */
import { loadTessera } from '../node/wasm.js';
import { convolveSeparableReference } from '../lib/image/convolveReference.js';
import { gaussianKernel } from '../lib/image/gaussianKernel.js';
import { checkStatus } from '../lib/wasm/kernels.js';
import { time, type Timing } from './timing.js';

export interface ConvolutionResult {
  width: number;
  height: number;
  sigma: number;
  simd: Timing;
  scalar: Timing;
  plainJs: Timing;
}

export async function benchConvolution(width = 2048, height = 4176, sigma = 2, runs = 5): Promise<ConvolutionResult> {
  const image = new Float32Array(width * height);
  for (let i = 0; i < image.length; i++) image[i] = (i * 2654435761) % 1000;
  const kernel = gaussianKernel(sigma);
  const half = (kernel.length - 1) / 2;

  const timeWasm = async (variant: 'release' | 'scalar'): Promise<Timing> => {
    const { planes, kernels } = await loadTessera(variant);
    const src = planes.allocFrom(image);
    const dst = planes.alloc(image.byteLength);
    const scratch = planes.alloc(image.byteLength);
    const k = planes.allocFrom(kernel);
    const t = await time(runs, () => checkStatus('convolveSeparable', kernels.convolveSeparable(src, dst, scratch, width, height, k, half)));
    for (const p of [src, dst, scratch, k]) planes.release(p);
    return t;
  };

  const simd = await timeWasm('release');
  const scalar = await timeWasm('scalar');
  const plainJs = await time(Math.max(1, runs - 2), () => convolveSeparableReference(image, width, height, kernel));
  return { width, height, sigma, simd, scalar, plainJs };
}
