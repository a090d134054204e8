/**
 * The exports of build/tessera*.wasm, typed. Every kernel takes planes as (ptr, width, height) in
 * linear memory and returns a status code (0 = ok); see assembly/status.ts.
 */
export const KERNEL_STATUS: Record<number, string> = {
  0: 'ok',
  1: 'bad argument',
};

export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  simdEnabled(): number;
  convolveSeparable(src: number, dst: number, scratch: number, width: number, height: number, kernel: number, half: number): number;
  /** Adds Gaussian-mixture sources; `table` holds `nRows` rows of 5 f64 (layout in assembly/render.ts). */
  renderMixtures(plane: number, width: number, height: number, table: number, nRows: number): number;
  /**
   * Matched-filter S/N of each source of a renderMixtures table against `variance` (f32, e^2): writes one
   * f64 per source row to `out` (0 for flux 0 or a box off the plane); see assembly/render.ts.
   */
  mixtureSnr(table: number, nRows: number, variance: number, width: number, height: number, out: number): number;
  /** Replaces `n` f32 means by Poisson deviates; seeds are two u32 words. */
  poissonInPlace(plane: number, n: number, seedLo: number, seedHi: number): number;
  /** Adds normal deviates of standard deviation `sigma` to `n` f32 pixels. */
  addGaussian(plane: number, n: number, sigma: number, seedLo: number, seedHi: number): number;
  /** Spills charge above `fullWell` along columns; sets bit `satBit` in `mask` (0 = none) where a pixel ends at the full well. */
  bleedSaturation(plane: number, mask: number, width: number, height: number, fullWell: number, satBit: number): number;
  /** Adds a Gaussian-profile segment; sets bit `bit` in `mask` (0 = none) where it adds more than `maskThreshold`. */
  addLine(plane: number, width: number, height: number, x0: number, y0: number, x1: number, y1: number, sigma: number,
    fluxPerPixelLength: number, mask: number, bit: number, maskThreshold: number): number;
}

/** Throws when a kernel returned a non-zero status, naming the kernel and the status. */
export function checkStatus(kernel: string, status: number): void {
  if (status !== 0) throw new Error(`wasm kernel ${kernel} failed: ${KERNEL_STATUS[status] ?? `status ${status}`}`);
}
