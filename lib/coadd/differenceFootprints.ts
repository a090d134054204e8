/**
 * Footprints of significant pixels in an image given its variance, as LSST's SourceDetectionTask finds
 * them with doSmooth False (CompareWarp's settings): pixels with |value| >= threshold x sqrt(variance)
 * (thresholdPolarity "both", or positive only), 8-connected, components of fewer than minPixels dropped,
 * the rest grown isotropically by growRadius pixels and relabelled (grown footprints that touch merge).
 * Kernels: thresholdPlane, labelComponents, dilateDisk (assembly/detection.ts). Non-finite pixels are
 * never significant. Returns a label per pixel (0 = none, 1..count), in `into` when given. The values
 * and variance are thresholded a band of rows at a time, so wasm memory holds only the flags and labels
 * of the whole image (7 bytes per pixel), not its values.
 */
import type { Tessera } from '../wasm/loader.js';
import { checkStatus } from '../wasm/kernels.js';

export interface FootprintLabels {
  labels: Int32Array;
  count: number;
}

export interface FootprintOptions {
  threshold: number;
  minPixels: number;
  growRadius: number;
  polarity: 'both' | 'positive';
}

/** Wasm memory for one band of values and variance while thresholding. */
const BAND_BYTES = 16 << 20;

export function significantFootprints(tessera: Tessera, values: Float32Array, variance: Float32Array, width: number, height: number,
  options: FootprintOptions, into?: Int32Array): FootprintLabels {
  const { planes, kernels } = tessera;
  const n = width * height;
  if (into && into.length !== n) throw new RangeError(`significantFootprints: ${into.length} labels for ${width}x${height} px`);
  return planes.scope(() => {
    const flags = planes.alloc(n), grown = planes.alloc(n);
    const labels = planes.alloc(4 * n), parents = planes.alloc(4 * (Math.ceil(width / 2) * Math.ceil(height / 2) + 1)), out = planes.alloc(16);
    const rows = Math.max(1, Math.min(height, Math.floor(BAND_BYTES / (9 * width))));
    const src = planes.alloc(4 * rows * width), vr = planes.alloc(4 * rows * width), other = planes.alloc(rows * width);
    for (let y = 0; y < height; y += rows) {
      const h = Math.min(rows, height - y), m = h * width, start = y * width;
      planes.f32(src, m).set(values.subarray(start, start + m));
      planes.f32(vr, m).set(variance.subarray(start, start + m));
      checkStatus('thresholdPlane', kernels.thresholdPlane(src, width, h, vr, 0, 0, options.threshold, 1, flags + start));
      if (options.polarity === 'both') {
        checkStatus('thresholdPlane', kernels.thresholdPlane(src, width, h, vr, 0, 0, options.threshold, -1, other));
        const f = planes.u8(flags + start, m), o = planes.u8(other, m);
        for (let i = 0; i < m; i++) f[i] = f[i]! | o[i]!;
      }
    }
    // Components under minPixels (before growth) are dropped.
    checkStatus('labelComponents', kernels.labelComponents(flags, width, height, labels, parents, out));
    const nRaw = planes.i32(out, 1)[0]!;
    if (nRaw === 0) return { labels: into ? into.fill(0) : new Int32Array(n), count: 0 };
    if (options.minPixels > 1) {
      const size = new Int32Array(nRaw + 1), lab = planes.i32(labels, n);
      for (let i = 0; i < n; i++) size[lab[i]!]++;
      const f = planes.u8(flags, n);
      for (let i = 0; i < n; i++) if (lab[i]! > 0 && size[lab[i]!]! < options.minPixels) f[i] = 0;
    }
    if (options.growRadius > 0) checkStatus('dilateDisk', kernels.dilateDisk(flags, grown, width, height, options.growRadius, labels));
    else planes.u8(grown, n).set(planes.u8(flags, n));
    checkStatus('labelComponents', kernels.labelComponents(grown, width, height, labels, parents, out));
    const result = planes.i32(labels, n);
    return { labels: into ? (into.set(result), into) : result.slice(), count: planes.i32(out, 1)[0]! };
  });
}
