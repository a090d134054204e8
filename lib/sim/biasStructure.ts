/**
 * The bias of the simulated amplifiers, in ADU, in two parts:
 * 1. Row structure, different in every exposure, in every raw column of the amplifier's segment
 *    (prescan, data, both overscans), so a row-by-row (or smooth) serial-overscan fit removes it:
 *      level(p) = biasLevel + offset + A sin(2 pi p / P + phi) + slope (p / H - 1/2),
 *    p the row index counted from the output amplifier, H the segment height; per exposure and amplifier
 *    offset ~ N(0, 0.5) ADU, A uniform 0.3-1.0 ADU, P uniform 0.5-1.5 H, phi uniform, slope uniform
 *    -0.5..0.5 ADU. (Bias jumps and row-to-row "banding" of real HSC amplifiers are not modelled.)
 * 2. A fixed 2-D pattern in the data section only, the same in every exposure, which overscan
 *    subtraction cannot remove and a master bias must: amplifier glow near the output amplifier,
 *      G exp(-d / 20 px) exp(-q / 40 px), G uniform 1-3 ADU,
 *    d (q) the serial (parallel) distance of the pixel from the readout corner, plus a column pattern of
 *    independent N(0, 0.25 ADU) offsets per data column.
 * Both are drawn from named streams: part 1 from (seed, 'raw-bias', exposure, detector, amplifier) of the
 * raw frame's seed, part 2 from (camera seed, 'bias-pattern', detector, amplifier), camera seed being
 * `camera.simulation.seed` (0 for a camera without one). The true master bias, in electrons on the
 * assembled detector, is part 2 times the gain (`trueMasterBias`).
 */
import { Random } from './random.js';
import type { Amplifier, Camera, Detector } from './camera.js';
import { libm } from '../math/libm.js';

export const ROW_BIAS = { offsetSigma: 0.5, amplitude: [0.3, 1.0], periodRows: [0.5, 1.5], slope: [-0.5, 0.5] } as const;
export const FIXED_BIAS = { glowAmplitude: [1, 3], glowSerialScale: 20, glowParallelScale: 40, columnSigma: 0.25 } as const;

function readsFromRight(amp: Amplifier): boolean {
  return amp.readoutCorner === 'LR' || amp.readoutCorner === 'UR';
}

function readsFromTop(amp: Amplifier): boolean {
  return amp.readoutCorner === 'UL' || amp.readoutCorner === 'UR';
}

/**
 * Serial distance from the output amplifier of raw column `rx` of the amplifier's data section: the raw
 * is in readout order when the flip matches the corner, else in detector order.
 */
export function serialDistance(amp: Amplifier, rx: number): number {
  const c = rx - amp.rawDataBox.x0;
  return readsFromRight(amp) !== amp.rawFlipX ? amp.rawDataBox.width - 1 - c : c;
}

/** Parallel distance from the serial register of raw row `ry` of the amplifier's data section. */
export function parallelDistance(amp: Amplifier, ry: number): number {
  const r = ry - amp.rawDataBox.y0;
  return readsFromTop(amp) !== amp.rawFlipY ? amp.rawDataBox.height - 1 - r : r;
}

/** Noise-free bias level (ADU) of each row of the amplifier's segment (index ry - rawBox.y0) for one exposure. */
export function exposureRowBias(amp: Amplifier, ampIndex: number, detector: Detector, seed: number, exposureId: number | string): Float64Array {
  const r = Random.stream(seed, 'raw-bias', exposureId, detector.id, ampIndex);
  const offset = ROW_BIAS.offsetSigma * r.normal();
  const amplitude = r.range(...ROW_BIAS.amplitude);
  const h = amp.rawBox.height;
  const period = r.range(...ROW_BIAS.periodRows) * h;
  const phase = r.range(0, 2 * Math.PI);
  const slope = r.range(...ROW_BIAS.slope);
  const fromTop = readsFromTop(amp) !== amp.rawFlipY;
  const out = new Float64Array(h);
  for (let k = 0; k < h; k++) {
    const p = fromTop ? h - 1 - k : k;
    out[k] = amp.biasLevel + offset + amplitude * libm.sin((2 * Math.PI * p) / period + phase) + slope * (p / h - 0.5);
  }
  return out;
}

/** The fixed pattern of one amplifier as separable pieces over its raw data section (ADU). */
export interface FixedBiasPattern {
  /** Per raw data column (index rx - rawDataBox.x0): column offset. */
  column: Float64Array;
  /** Per raw data column: G exp(-d / serial scale). */
  glowSerial: Float64Array;
  /** Per raw data row (index ry - rawDataBox.y0): exp(-q / parallel scale). */
  glowParallel: Float64Array;
}

export function fixedBiasPattern(camera: Camera, detector: Detector, ampIndex: number): FixedBiasPattern {
  const amp = detector.amplifiers[ampIndex]!;
  const r = Random.stream(camera.simulation?.seed ?? 0, 'bias-pattern', detector.id, ampIndex);
  const g = r.range(...FIXED_BIAS.glowAmplitude);
  const w = amp.rawDataBox.width, h = amp.rawDataBox.height;
  const column = new Float64Array(w);
  const glowSerial = new Float64Array(w);
  const glowParallel = new Float64Array(h);
  for (let c = 0; c < w; c++) {
    column[c] = FIXED_BIAS.columnSigma * r.normal();
    glowSerial[c] = g * libm.exp(-serialDistance(amp, amp.rawDataBox.x0 + c) / FIXED_BIAS.glowSerialScale);
  }
  for (let k = 0; k < h; k++) glowParallel[k] = libm.exp(-parallelDistance(amp, amp.rawDataBox.y0 + k) / FIXED_BIAS.glowParallelScale);
  return { column, glowSerial, glowParallel };
}

/** The true master bias (e-) on the trimmed, assembled detector: the fixed pattern times each amplifier's gain. */
export function trueMasterBias(camera: Camera, detector: Detector): Float32Array {
  const out = new Float32Array(detector.width * detector.height);
  detector.amplifiers.forEach((amp, k) => {
    const p = fixedBiasPattern(camera, detector, k);
    const { x0, y0, width: w, height: h } = amp.dataBox;
    for (let r = 0; r < h; r++) {
      const y = y0 + (amp.rawFlipY ? h - 1 - r : r);
      const gp = p.glowParallel[r]!;
      for (let c = 0; c < w; c++) {
        const x = x0 + (amp.rawFlipX ? w - 1 - c : c);
        out[y * detector.width + x] = (p.column[c]! + p.glowSerial[c]! * gp) * amp.gain;
      }
    }
  });
  return out;
}
