/**
 * The coadd of direct warps (LSST AssembleCoaddTask with CompareWarp's settings: statistic MEAN, the
 * visits' artifact pixels excluded): per pixel, the weighted mean of the visits whose warp has data there
 * and is not rejected, weights 1 / (the warp's mean variance over its good pixels) (LSST's
 * computeCoaddWeight, MEANCLIP of the variance); variance sum(w^2 V) / (sum w)^2; nImage the visits used.
 * A visit's pixel is rejected for NO_DATA, BAD, SAT (badMaskPlanes) or CLIPPED (its artifacts). The coadd
 * mask (setRejectedMaskMapping, setInexactPsf) holds: NO_DATA where no visit is used; CLIPPED where some
 * visit was clipped; REJECTED where some visit with data was rejected for BAD or SAT; SENSOR_EDGE where
 * some used visit's pixel is EDGE; INEXACT_PSF wherever SENSOR_EDGE, CLIPPED or REJECTED is set; SAT
 * where the visits rejected for SAT hold more than 0.1 of the weight (maskPropagationThresholds); and the
 * OR of the other planes of the used pixels (CR, INTRP, SUSPECT, ...: interpolated cosmic rays stay in
 * the coadd, LSST DM-9953), DETECTED and DETECTED_NEGATIVE excluded (coadd detection sets its own).
 * Units: the warps' (nJy).
 */
import type { WarpPlanes } from '../image/warp.js';

export interface StackResult extends WarpPlanes {
  nImage: Int32Array;
  weights: number[];
}

export function stackWarps(warps: readonly WarpPlanes[], clipped: readonly Uint8Array[], planes: Readonly<Record<string, number>>): StackResult {
  const bit = (name: string): number => (planes[name] === undefined ? 0 : 1 << planes[name]!);
  const NO_DATA = bit('NO_DATA'), BAD = bit('BAD'), SAT = bit('SAT'), EDGE = bit('EDGE'), CLIPPED = bit('CLIPPED');
  const REJECTED = bit('REJECTED'), SENSOR_EDGE = bit('SENSOR_EDGE'), INEXACT_PSF = bit('INEXACT_PSF');
  const notCarried = NO_DATA | SAT | EDGE | CLIPPED | bit('DETECTED') | bit('DETECTED_NEGATIVE') | REJECTED | SENSOR_EDGE | INEXACT_PSF;
  const { width, height } = warps[0]!;
  const n = width * height;
  const weights = warps.map((w) => {
    let sum = 0, count = 0;
    for (let i = 0; i < n; i++) {
      const v = w.variance[i]!;
      if ((w.mask[i]! & (NO_DATA | BAD | SAT)) === 0 && Number.isFinite(v) && v > 0) { sum += v; count++; }
    }
    return count > 0 ? count / sum : 0;
  });
  const image = new Float32Array(n), variance = new Float32Array(n), mask = new Int32Array(n), nImage = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let sw = 0, swx = 0, sw2v = 0, bits = 0, satWeight = 0, rejectedWeight = 0, used = 0;
    for (let v = 0; v < warps.length; v++) {
      const w = warps[v]!, m = w.mask[i]!, x = w.image[i]!;
      if (m & NO_DATA || !Number.isFinite(x) || weights[v] === 0) continue;
      if (clipped[v]![i]) { bits |= CLIPPED; continue; }
      if (m & (BAD | SAT)) {
        bits |= REJECTED;
        if (m & SAT) satWeight += weights[v]!;
        rejectedWeight += weights[v]!;
        continue;
      }
      const wt = weights[v]!;
      sw += wt; swx += wt * x; sw2v += wt * wt * w.variance[i]!;
      bits |= m & ~notCarried;
      if (m & EDGE) bits |= SENSOR_EDGE;
      used++;
    }
    if (used === 0) {
      image[i] = NaN; variance[i] = NaN;
      bits |= NO_DATA;
    } else {
      image[i] = swx / sw;
      variance[i] = sw2v / (sw * sw);
    }
    if (satWeight > 0.1 * (sw + rejectedWeight)) bits |= SAT;
    if (bits & (SENSOR_EDGE | CLIPPED | REJECTED)) bits |= INEXACT_PSF;
    mask[i] = bits;
    nImage[i] = used;
  }
  return { width, height, image, variance, mask, nImage, weights };
}
