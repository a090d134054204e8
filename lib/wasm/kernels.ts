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
  bleedSaturation(plane: number, mask: number, width: number, height: number, rowPixels: number, fullWell: number, satBit: number): number;
  /** Adds a Gaussian-profile segment; sets bit `bit` in `mask` (0 = none) where it adds more than `maskThreshold`. */
  addLine(plane: number, width: number, height: number, x0: number, y0: number, x1: number, y1: number, sigma: number,
    fluxPerPixelLength: number, mask: number, bit: number, maskThreshold: number): number;
  /**
   * Per-pixel sigma-clipped mean of nFrames f32 planes, clip width from the median of the variance planes (widthFromVariance 1)
   * or afw MEANCLIP's sample widths (0); `images`/`variances` point at u32 plane pointer tables (variances 0: none);
   * scratch 32 x nFrames bytes; outVariance/outCount 0: skip (assembly/combine.ts).
   */
  combineClippedMean(images: number, variances: number, nFrames: number, nPixels: number, nSigma: number, nIter: number, widthFromVariance: number,
    scratch: number, outMean: number, outVariance: number, outCount: number): number;
  /** Median of the finite, unmasked pixels to out[0] (f64), their count to out[1]; scratch n f32. */
  planeMedian(src: number, mask: number, n: number, badBits: number, scratch: number, out: number): number;
  /** Mean of the finite, unmasked pixels to out[0] (f64), their count to out[1]. */
  planeMean(src: number, mask: number, n: number, badBits: number, out: number): number;
  /** Clipped-mean serial-overscan level (ADU, f64) of each row of a u16 raw box into out[0..h), rms of the kept pixels to out[h]; scratch w x h f32. */
  overscanRowLevels(raw: number, rawWidth: number, rawHeight: number, x0: number, y0: number, w: number, h: number, nSigma: number, scratch: number, out: number): number;
  /** Median (ADU, f64) of a u16 raw box into out[0]; scratch w x h f32. */
  overscanMedian(raw: number, rawWidth: number, rawHeight: number, x0: number, y0: number, w: number, h: number, scratch: number, out: number): number;
  /** (raw - level[row]) x gain into the assembled image at (outX0, outY0), flipped back; SAT bit where raw >= saturation (assembly/isr.ts). */
  assembleAmplifier(raw: number, rawWidth: number, rawHeight: number, dataX0: number, dataY0: number, w: number, h: number, flipX: number, flipY: number,
    level: number, gain: number, image: number, width: number, height: number, outX0: number, outY0: number, mask: number, saturation: number, satBit: number): number;
  /** image -= scale x calib; variance += scale^2 x calibVariance (either 0: no variance). */
  subtractScaled(image: number, variance: number, calib: number, calibVariance: number, n: number, scale: number): number;
  /** variance = max(image, 0) x poissonScale + readNoise2 over a box. */
  setVariance(image: number, variance: number, width: number, height: number, x0: number, y0: number, w: number, h: number, poissonScale: number, readNoise2: number): number;
  /** image /= flat, variance propagated (flatVariance 0: none); NaN where flat is not > 0. */
  divideByFlat(image: number, variance: number, flat: number, flatVariance: number, n: number): number;
  /** ORs bit `bit` into mask where image or variance (0: none) is not finite. */
  maskNonFinite(image: number, variance: number, mask: number, n: number, bit: number): number;
  /** ORs into dst, per set bit of src, the i32 entry of `table` (32 entries). */
  orMaskMapped(dst: number, src: number, n: number, table: number): number;
  /** Dilates mask plane `bit` by `radius` px (Manhattan metric); scratch width x height i32. */
  growMask(mask: number, scratch: number, width: number, height: number, bit: number, radius: number): number;
  /** Linear interpolation along rows over pixels with badBits; INTRP bit where filled, NO_DATA bit where impossible. */
  interpolateRows(image: number, variance: number, mask: number, width: number, height: number, badBits: number, avoidBits: number, intrpBit: number, noDataBit: number): number;
  /** image *= scale; variance *= scale^2 (variance 0: none). */
  scalePlanes(image: number, variance: number, n: number, scale: number): number;
  /** ORs bit into mask where image is not finite, count (0: none) < minCount, or (requirePositive) image not > 0. */
  flagInvalid(image: number, count: number, mask: number, n: number, minCount: number, requirePositive: number, bit: number): number;
  /** image and variance (0: none) = NaN where the mask has any of `bits`. */
  nanWhereMasked(image: number, variance: number, mask: number, n: number, bits: number): number;
}

/** Throws when a kernel returned a non-zero status, naming the kernel and the status. */
export function checkStatus(kernel: string, status: number): void {
  if (status !== 0) throw new Error(`wasm kernel ${kernel} failed: ${KERNEL_STATUS[status] ?? `status ${status}`}`);
}
