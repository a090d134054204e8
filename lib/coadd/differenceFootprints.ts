/**
 * Footprints of significant pixels in an image given its variance, as LSST's SourceDetectionTask finds
 * them with doSmooth False (CompareWarp's settings): pixels with |value| >= threshold x sqrt(variance)
 * (thresholdPolarity "both", or positive only), 8-connected, components of fewer than minPixels dropped,
 * the rest grown isotropically by growRadius pixels and relabelled (grown footprints that touch merge).
 * Kernels: thresholdPlane, labelComponents, dilateDisk (assembly/detection.ts). Non-finite pixels are
 * never significant. Returns a label per pixel (0 = none, 1..count).
 */
import type { Tessera } from '../wasm/loader.js';
import { checkStatus } from '../wasm/kernels.js';

export interface FootprintLabels {
  labels: Int32Array;
  count: number;
}

export function significantFootprints(tessera: Tessera, values: Float32Array, variance: Float32Array, width: number, height: number,
  options: { threshold: number; minPixels: number; growRadius: number; polarity: 'both' | 'positive' }): FootprintLabels {
  const { planes, kernels } = tessera;
  const n = width * height;
  return planes.scope(() => {
    const src = planes.allocFrom(values), vr = planes.allocFrom(variance);
    const flags = planes.alloc(n), other = planes.alloc(n), grown = planes.alloc(n);
    const labels = planes.alloc(4 * n), parents = planes.alloc(4 * (Math.ceil(width / 2) * Math.ceil(height / 2) + 1)), out = planes.alloc(16);
    checkStatus('thresholdPlane', kernels.thresholdPlane(src, width, height, vr, 0, 0, options.threshold, 1, flags));
    if (options.polarity === 'both') {
      checkStatus('thresholdPlane', kernels.thresholdPlane(src, width, height, vr, 0, 0, options.threshold, -1, other));
      const f = planes.u8(flags, n), o = planes.u8(other, n);
      for (let i = 0; i < n; i++) f[i] = f[i]! | o[i]!;
    }
    // Components under minPixels (before growth) are dropped.
    checkStatus('labelComponents', kernels.labelComponents(flags, width, height, labels, parents, out));
    const nRaw = planes.i32(out, 1)[0]!;
    if (nRaw === 0) return { labels: new Int32Array(n), count: 0 };
    if (options.minPixels > 1) {
      const size = new Int32Array(nRaw + 1), lab = planes.i32(labels, n);
      for (let i = 0; i < n; i++) size[lab[i]!]++;
      const f = planes.u8(flags, n);
      for (let i = 0; i < n; i++) if (lab[i]! > 0 && size[lab[i]!]! < options.minPixels) f[i] = 0;
    }
    if (options.growRadius > 0) checkStatus('dilateDisk', kernels.dilateDisk(flags, grown, width, height, options.growRadius, labels));
    else planes.u8(grown, n).set(planes.u8(flags, n));
    checkStatus('labelComponents', kernels.labelComponents(grown, width, height, labels, parents, out));
    return { labels: planes.i32(labels, n).slice(), count: planes.i32(out, 1)[0]! };
  });
}
