/**
 * Per-detector cosmetic defects of the simulated camera, their effect on an electron image, and their
 * truth mask. Kinds:
 * - 'low-column': a column (1 px wide, or 2 with probability 0.2) with low response, as behind a charge
 *   trap: the signal is multiplied by `response` (uniform 0.1-0.6). 70 % of bad columns.
 * - 'hot-column': a column with dark current `darkRate` (uniform 1-5 e-/s/px) on top of the normal
 *   dark current. 30 % of bad columns.
 * - 'hot-pixel': a single pixel with dark current `darkRate`, log-uniform 0.5-50 e-/s.
 * Densities: 1-3 bad columns per detector (uniform count), each full-height or, with probability 0.5,
 * partial: from a trap at a parallel distance of 10-90 % of the height to the far end of the column from
 * the serial register (the pixels whose charge crosses the trap); columns never straddle two amplifiers.
 * Hot pixels: Poisson with mean 5e-5 per pixel (26 on a tiny 512x1024 detector, 428 on an HSC one),
 * never on another defect.
 * Each defect is a box on the trimmed, assembled detector (0-based; what a defects dataset lists) and the
 * same pixels in raw coordinates (`rawBox`). Drawn from Random.stream(camera seed, 'defects', detector id).
 * `applyDefects` applies them to an expected (noise-free) electron image: multiply by `response`, then
 * add darkRate x exposure time. `defectMask` sets the BAD bit (bit 0, LSST's first mask plane).
 * The dark-current and flat truths (lib/sim/calibrationFrames.ts) include these defects.
 */
import { Random } from './random.js';
import { assembledToRaw, type Amplifier, type Box, type Camera, type Detector } from './camera.js';
import { libm } from '../math/libm.js';

export type DefectKind = 'low-column' | 'hot-column' | 'hot-pixel';

export interface Defect {
  kind: DefectKind;
  /** Name of the amplifier that reads the defect. */
  amplifier: string;
  /** Pixels on the trimmed, assembled detector. */
  box: Box;
  /** The same pixels in the raw image. */
  rawBox: Box;
  /** Factor on the signal (1 for hot defects). */
  response: number;
  /** Extra dark current, e-/s per pixel (0 for low-response columns). */
  darkRate: number;
}

export const DEFECT_PARAMETERS = {
  badColumnsPerDetector: [1, 3],
  wideColumnProbability: 0.2,
  partialColumnProbability: 0.5,
  trapPosition: [0.1, 0.9],
  lowColumnProbability: 0.7,
  lowColumnResponse: [0.1, 0.6],
  hotColumnRate: [1, 5],
  hotPixelDensity: 5e-5,
  hotPixelRate: [0.5, 50],
} as const;

/** The BAD mask bit (bit 0, value 1). */
export const MASK_BAD = 1;

function rawBoxOf(amp: Amplifier, box: Box): Box {
  const [ax, ay] = assembledToRaw(amp, box.x0, box.y0);
  const [bx, by] = assembledToRaw(amp, box.x0 + box.width - 1, box.y0 + box.height - 1);
  return { x0: Math.min(ax, bx), y0: Math.min(ay, by), width: box.width, height: box.height };
}

function overlapsTaken(taken: Uint8Array, width: number, box: Box): boolean {
  for (let y = box.y0; y < box.y0 + box.height; y++) for (let x = box.x0; x < box.x0 + box.width; x++) if (taken[y * width + x]) return true;
  return false;
}

/** The detector's defects, deterministic per camera seed and detector. */
export function makeDefects(camera: Camera, detector: Detector): Defect[] {
  const P = DEFECT_PARAMETERS;
  const r = Random.stream(camera.simulation?.seed ?? 0, 'defects', detector.id);
  const { width, height } = detector;
  const taken = new Uint8Array(width * height);
  const defects: Defect[] = [];
  const add = (d: Defect): void => {
    defects.push(d);
    for (let y = d.box.y0; y < d.box.y0 + d.box.height; y++) taken.fill(1, y * width + d.box.x0, y * width + d.box.x0 + d.box.width);
  };

  const nColumns = P.badColumnsPerDetector[0] + r.int(P.badColumnsPerDetector[1] - P.badColumnsPerDetector[0] + 1);
  for (let i = 0; i < nColumns; i++) {
    let amp: Amplifier, box: Box;
    do {
      amp = detector.amplifiers[r.int(detector.amplifiers.length)]!;
      const colWidth = r.uniform() < P.wideColumnProbability ? 2 : 1;
      const x0 = amp.dataBox.x0 + r.int(amp.dataBox.width - colWidth + 1);
      let y0 = amp.dataBox.y0, h = amp.dataBox.height;
      if (r.uniform() < P.partialColumnProbability) {
        const trap = Math.floor(r.range(...P.trapPosition) * h);
        // The pixels farther from the serial register than the trap.
        if (amp.readoutCorner === 'UL' || amp.readoutCorner === 'UR') h -= trap;
        else { y0 += trap; h -= trap; }
      }
      box = { x0, y0, width: colWidth, height: h };
    } while (overlapsTaken(taken, width, box));
    const low = r.uniform() < P.lowColumnProbability;
    const response = low ? r.range(...P.lowColumnResponse) : 1;
    const darkRate = low ? 0 : r.range(...P.hotColumnRate);
    add({ kind: low ? 'low-column' : 'hot-column', amplifier: amp.name, box, rawBox: rawBoxOf(amp, box), response, darkRate });
  }

  const nHot = r.poisson(P.hotPixelDensity * width * height);
  const [lo, hi] = [libm.log(P.hotPixelRate[0]), libm.log(P.hotPixelRate[1])];
  for (let i = 0; i < nHot; i++) {
    let x: number, y: number;
    do {
      x = r.int(width);
      y = r.int(height);
    } while (taken[y * width + x]);
    const amp = detector.amplifiers.find((a) => x >= a.dataBox.x0 && x < a.dataBox.x0 + a.dataBox.width && y >= a.dataBox.y0 && y < a.dataBox.y0 + a.dataBox.height)!;
    const box = { x0: x, y0: y, width: 1, height: 1 };
    add({ kind: 'hot-pixel', amplifier: amp.name, box, rawBox: rawBoxOf(amp, box), response: 1, darkRate: libm.exp(r.range(lo, hi)) });
  }
  return defects;
}

/** Applies the defects to an expected electron image in place: x response, then + darkRate x exptime (s). */
export function applyDefects(detector: Detector, defects: readonly Defect[], electrons: Float32Array, exptime: number): void {
  if (electrons.length !== detector.width * detector.height) throw new RangeError(`applyDefects: detector ${detector.id} has ${detector.width * detector.height} px, the image ${electrons.length}`);
  if (!(exptime >= 0)) throw new RangeError(`applyDefects: exposure time must be >= 0 s, got ${exptime}`);
  for (const d of defects) {
    for (let y = d.box.y0; y < d.box.y0 + d.box.height; y++) {
      for (let x = d.box.x0; x < d.box.x0 + d.box.width; x++) {
        const i = y * detector.width + x;
        electrons[i] = electrons[i]! * d.response + d.darkRate * exptime;
      }
    }
  }
}

/** The truth mask of the defects: `bitValue` (default MASK_BAD) set on every defective pixel. */
export function defectMask(detector: Detector, defects: readonly Defect[], bitValue = MASK_BAD): Int32Array {
  const mask = new Int32Array(detector.width * detector.height);
  for (const d of defects) {
    for (let y = d.box.y0; y < d.box.y0 + d.box.height; y++) {
      for (let x = d.box.x0; x < d.box.x0 + d.box.width; x++) mask[y * detector.width + x] = mask[y * detector.width + x]! | bitValue;
    }
  }
  return mask;
}
