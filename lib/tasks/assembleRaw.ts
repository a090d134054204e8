/**
 * The first ISR steps, shared by isr and the calibration builders: serial-overscan correction, trimming,
 * assembly in detector coordinates and conversion to electrons (LSST ip_isr: OverscanCorrectionTask,
 * AssembleCcdTask, then the gain), with saturation detection on the raw ADU (IsrTask.saturationDetection),
 * and the per-amplifier variance (IsrTask.updateVariance).
 *
 * Overscan (per amplifier, from its serial overscan `rawSerialOverscanBox`, in ADU):
 * - 'MEANCLIP_PER_ROW' (default): each row's mean of the overscan pixels within overscanNumSigmaClip (3)
 *   robust sigmas of the row's median (kernel overscanRowLevels), then smoothed along the rows by a running
 *   local linear fit over overscanSmoothingRows (33) rows: inside the detector the plain running mean, at
 *   the ends a line fitted to the rows available, so a slope is followed to the last row. 1 = no smoothing.
 *   LSST's code default is fitType 'MEDIAN' (one number per amplifier); LSST collapses the overscan per
 *   row (with numSigmaClip = 3) before fitting a smooth function of the row (POLY, splines; LSSTCam uses
 *   MEDIAN_PER_ROW). We follow the per-row collapse because the bias level wanders along the rows (the
 *   simulated amplifiers' row structure is up to 1 ADU), use a clipped mean because the median of 16
 *   integer ADU values has 1.8 x the variance of their mean (measured at a read noise of 1.4 ADU) while
 *   the clip still removes hot or struck overscan pixels, and smooth so that the level adds only
 *   readNoise^2 / (16 x 33) of noise to each pixel.
 * - 'MEDIAN': LSST's default: one median of the whole overscan box per amplifier.
 * doOverscan false subtracts nothing (for raws whose bias is removed by a bias frame made the same way).
 *
 * Assembly: image[x, y] = (raw - level(row)) x gain (e-), at the amplifier's dataBox, mirrored back for
 * rawFlipX / rawFlipY; SAT is ORed in where the raw ADU >= the amplifier's saturation level.
 * Variance: max(image, 0) x poissonScale + readNoise^2 per amplifier (e-^2).
 */
import type { Amplifier, Box, Detector } from '../sim/camera.js';
import type { ConfigSchema } from '../pipeline/config.js';
import type { Tessera } from '../wasm/loader.js';
import { checkStatus } from '../wasm/kernels.js';
import { unionBox } from '../image/warp.js';

export type OverscanFitType = 'MEANCLIP_PER_ROW' | 'MEDIAN';

export interface OverscanConfig {
  doOverscan: boolean;
  overscanFitType: OverscanFitType;
  overscanSmoothingRows: number;
  overscanNumSigmaClip: number;
}

export const OVERSCAN_FIELDS: ConfigSchema<OverscanConfig> = {
  doOverscan: { type: 'boolean', default: true, description: 'Subtract the serial-overscan level of each amplifier.' },
  overscanFitType: {
    type: 'choice', default: 'MEANCLIP_PER_ROW', choices: ['MEANCLIP_PER_ROW', 'MEDIAN'],
    description: "MEANCLIP_PER_ROW: a clipped mean per row, smoothed along the rows; MEDIAN: one median per amplifier (LSST's code default).",
  },
  overscanSmoothingRows: {
    type: 'number', integer: true, min: 1, max: 10001, default: 33,
    description: 'Rows in the running local linear fit that smooths the per-row overscan levels (odd; 1 = no smoothing).',
    check: (v) => (v % 2 === 1 ? undefined : `must be odd, got ${v}`),
  },
  overscanNumSigmaClip: {
    type: 'number', min: 0, exclusiveMin: true, default: 3,
    description: "Per-row clip, in robust sigmas (1.4826 MAD of the amplifier's overscan), around the row median.",
  },
};

/** What the overscan of one amplifier looked like (for the output metadata). */
export interface AmplifierOverscan {
  amplifier: string;
  /** Mean of the subtracted levels over the data rows, ADU. */
  meanLevel: number;
  /** Rms of the kept overscan pixels about their row means, ADU (the read noise seen there; NaN for MEDIAN or without overscan). */
  noise: number;
}

/**
 * Smooths `values` by a running local linear fit over `window` (odd) points: the fitted line at each point
 * of a least-squares line through the points within window/2 of it (fewer at the ends).
 */
export function smoothLocalLinear(values: Float64Array, window: number): Float64Array {
  const n = values.length;
  const out = new Float64Array(n);
  const half = (window - 1) / 2;
  for (let r = 0; r < n; r++) {
    const a = Math.max(0, r - half), b = Math.min(n - 1, r + half);
    // Coordinates centred on r: the fit's value at r is its intercept.
    let su = 0, sv = 0, suu = 0, suv = 0;
    for (let k = a; k <= b; k++) {
      const u = k - r, v = values[k]!;
      su += u; sv += v; suu += u * u; suv += u * v;
    }
    const m = b - a + 1;
    const det = m * suu - su * su;
    out[r] = det > 0 ? (sv * suu - su * suv) / det : sv / m;
  }
  return out;
}

/** A box of a raw frame's u16 pixels (rawWidth wide) copied into a new wasm block, as a raw of its own. */
interface RawCut {
  ptr: number;
  width: number;
  height: number;
  x0: number;
  y0: number;
}

/** Copies the pixels of `box` (inside the raw: camera validation) of the raw `data` (rawWidth wide) into wasm. */
function rawBoxToWasm(tessera: Tessera, data: Uint16Array, rawWidth: number, box: Box): RawCut {
  const ptr = tessera.planes.alloc(box.width * box.height * 2);
  const cut = new Uint16Array(tessera.kernels.memory.buffer, ptr, box.width * box.height);
  for (let y = 0; y < box.height; y++) {
    const from = (box.y0 + y) * rawWidth + box.x0;
    cut.set(data.subarray(from, from + box.width), y * box.width);
  }
  return { ptr, width: box.width, height: box.height, x0: box.x0, y0: box.y0 };
}

/** The overscan level (ADU) of each raw data row of `amp`, from the amplifier's cut of the raw. */
function amplifierLevels(tessera: Tessera, raw: RawCut, amp: Amplifier, config: OverscanConfig): { levels: Float64Array; noise: number } {
  const { planes, kernels } = tessera;
  const rows = amp.rawDataBox.height;
  if (!config.doOverscan) return { levels: new Float64Array(rows), noise: Number.NaN };
  const os = amp.rawSerialOverscanBox;
  const ox = os.x0 - raw.x0, oy = os.y0 - raw.y0;
  return planes.scope(() => {
    const scratch = planes.alloc(os.width * os.height * 4);
    if (config.overscanFitType === 'MEDIAN') {
      const out = planes.alloc(8);
      checkStatus('overscanMedian', kernels.overscanMedian(raw.ptr, raw.width, raw.height, ox, oy, os.width, os.height, scratch, out));
      return { levels: new Float64Array(rows).fill(planes.f64(out, 1)[0]!), noise: Number.NaN };
    }
    const out = planes.alloc((os.height + 1) * 8);
    checkStatus('overscanRowLevels', kernels.overscanRowLevels(raw.ptr, raw.width, raw.height, ox, oy, os.width, os.height, config.overscanNumSigmaClip, scratch, out));
    const result = planes.f64(out, os.height + 1);
    const perRow = Float64Array.from(result.subarray(0, os.height));
    const noise = result[os.height]!;
    const smooth = config.overscanSmoothingRows > 1 ? smoothLocalLinear(perRow, config.overscanSmoothingRows) : perRow;
    const levels = new Float64Array(rows);
    // Data row r is raw row rawDataBox.y0 + r; the overscan box covers every data row (camera validation).
    for (let r = 0; r < rows; r++) levels[r] = smooth[amp.rawDataBox.y0 + r - os.y0]!;
    return { levels, noise };
  });
}

/**
 * Overscan-corrects, trims and assembles the raw `data` (detector.rawWidth x rawHeight u16) into the
 * f32 plane `imagePtr` (detector width x height, e-), ORing bit `satBit` into `maskPtr` (0: none) where the
 * raw ADU >= the amplifier's saturation (when `doSaturation`). Only one amplifier's data and serial
 * overscan are in wasm memory at a time (a quarter of an HSC raw instead of all of it: a lower high-water
 * mark). Returns each amplifier's overscan summary.
 */
export function assembleRaw(tessera: Tessera, data: Uint16Array, detector: Detector, config: OverscanConfig, imagePtr: number, maskPtr: number, doSaturation: boolean, satBit: number): AmplifierOverscan[] {
  const { planes, kernels } = tessera;
  return detector.amplifiers.map((amp) => planes.scope(() => {
    const raw = rawBoxToWasm(tessera, data, detector.rawWidth, unionBox([amp.rawDataBox, amp.rawSerialOverscanBox])!);
    const { levels, noise } = amplifierLevels(tessera, raw, amp, config);
    const levelPtr = planes.allocFrom(levels);
    const db = amp.rawDataBox;
    checkStatus('assembleAmplifier', kernels.assembleAmplifier(raw.ptr, raw.width, raw.height, db.x0 - raw.x0, db.y0 - raw.y0, db.width, db.height,
      amp.rawFlipX ? 1 : 0, amp.rawFlipY ? 1 : 0, levelPtr, amp.gain, imagePtr, detector.width, detector.height, amp.dataBox.x0, amp.dataBox.y0,
      maskPtr, doSaturation ? amp.saturation : Number.POSITIVE_INFINITY, satBit));
    let sum = 0;
    for (const v of levels) sum += v;
    return { amplifier: amp.name, meanLevel: levels.length ? sum / levels.length : 0, noise };
  }));
}

/** variance = max(image, 0) x poissonScale + readNoise^2 on every amplifier's data box (e-^2). */
export function setAmplifierVariance(tessera: Tessera, detector: Detector, imagePtr: number, variancePtr: number, poissonScale: number): void {
  for (const amp of detector.amplifiers) {
    const b = amp.dataBox;
    checkStatus('setVariance', tessera.kernels.setVariance(imagePtr, variancePtr, detector.width, detector.height, b.x0, b.y0, b.width, b.height, poissonScale, amp.readNoise * amp.readNoise));
  }
}
