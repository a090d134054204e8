/**
 * Raw CCD frames from assembled electron images, and back.
 *
 * `makeRawFrame(camera, detector, electrons, options)` turns the trimmed, assembled image of one detector
 * (e-, already with photon noise, lib/sim/types.ts pixel convention) into the raw frame the camera would
 * write: for each amplifier, signal / gain + bias (lib/sim/biasStructure.ts: a per-exposure row structure
 * in every column of the segment, and the fixed glow/column pattern in the data section) + Gaussian read
 * noise (readNoise / gain ADU), in the amplifier's raw data section in readout order (mirrored for
 * rawFlipX/rawFlipY); prescan and overscan pixels get bias and read noise only. Values are rounded to
 * integers and clipped to the ADC range 0..adcMax (digital saturation). By default electrons above an
 * amplifier's full well are clipped to it first (charge beyond it is lost; any bleeding along columns is
 * the renderer's, done before this). The frame is uint16, to be written with BZERO 32768.
 *
 * Header (IRAF/NOAO CCD mosaic conventions, one HDU for all amplifiers as HSC writes them): the caller's
 * exposure cards first (DATE-OBS, EXPTIME, FILTER...), then INSTRUME, DETECTOR (id), DETSER (serial),
 * CCDNAME, DETSIZE, NAMPS (amplifier count), BUNIT, SATURATE (lowest amplifier saturation, ADU), and per
 * amplifier n = 1..NAMPS: AMPNAMEn, DATASECn = TRIMSECn (raw data section), BIASSECn (serial overscan),
 * PRESECn (serial prescan), POVSECn (parallel overscan), DETSECn (where the data go on the assembled
 * detector, reversed along a flipped axis), GAINn (e-/ADU), RDNOISEn (e-), SATURATn (ADU).
 *
 * Random numbers: read noise from Random.stream(seed, 'raw-noise', exposureId, detector id, amplifier),
 * the bias row structure from (seed, 'raw-bias', exposureId, detector id, amplifier); exposureId
 * defaults to 0, so distinct exposures need distinct seeds or exposure ids.
 *
 * `assembleFromRaw` is the reference inverse used by the tests: per amplifier it subtracts the serial
 * overscan (by default the per-row mean smoothed by a 33-row running mean, which removes the row
 * structure; or the median of the whole overscan) and multiplies by the gain, returning the assembled,
 * trimmed image in electrons. The fixed bias pattern remains (it is what a master bias removes).
 */
import { FitsHeader } from '../fits/header.js';
import { fixedBiasPattern, exposureRowBias, type FixedBiasPattern } from './biasStructure.js';
import { resolveDetector, type Amplifier, type Camera, type Detector } from './camera.js';
import { formatSection } from './irafSection.js';
import { fillNormal } from './noise.js';
import { Random } from './random.js';

export interface RawFrame {
  /** Raw ADU, row-major, shape [rawHeight, rawWidth]. */
  data: Uint16Array;
  shape: [number, number];
  header: FitsHeader;
  /** Truth: the noise-free row bias (ADU) of each amplifier, per row of its raw segment (index ry - rawBox.y0). */
  rowBias: Float64Array[];
}

export interface RawFrameOptions {
  seed: number;
  /** Identifies the exposure in the random streams (default 0). */
  exposureId?: number | string;
  /** Exposure metadata cards (DATE-OBS, MJD-OBS, EXPTIME, FILTER, IMAGETYP, ...), written first. */
  header?: FitsHeader;
  /** Clip electrons at each amplifier's full well before digitising (default true). */
  clipFullWell?: boolean;
  /** Add the bias row structure and fixed pattern (default true); false gives a flat biasLevel. */
  biasStructure?: boolean;
}

/** Renders the raw frame of one detector. */
export function makeRawFrame(camera: Camera, detectorOrId: Detector | number, electrons: Float32Array, options: RawFrameOptions): RawFrame {
  const detector = resolveDetector(camera, detectorOrId);
  const { width, height, rawWidth, rawHeight } = detector;
  if (electrons.length !== width * height) {
    throw new RangeError(`makeRawFrame: detector ${detector.id} (${detector.name}) is ${width}x${height} = ${width * height} px but the electron image has ${electrons.length}`);
  }
  if (!Number.isInteger(camera.adcMax) || camera.adcMax > 65535) throw new RangeError(`makeRawFrame: adcMax ${camera.adcMax} does not fit a uint16 raw`);
  const exposureId = options.exposureId ?? 0;
  const clip = options.clipFullWell ?? true;
  const structure = options.biasStructure ?? true;
  const adcMax = camera.adcMax;
  const data = new Uint16Array(rawWidth * rawHeight);
  const rowBias: Float64Array[] = [];

  detector.amplifiers.forEach((amp, k) => {
    const rows = structure ? exposureRowBias(amp, k, detector, options.seed, exposureId) : new Float64Array(amp.rawBox.height).fill(amp.biasLevel);
    rowBias.push(rows);
    const w = amp.rawDataBox.width, h = amp.rawDataBox.height;
    const pattern = structure
      ? fixedBiasPattern(camera, detector, k)
      : { column: new Float64Array(w), glowSerial: new Float64Array(w), glowParallel: new Float64Array(h) };
    renderAmplifier(amp, rows, pattern, electrons, width, data, rawWidth, adcMax, clip ? amp.fullWell : Infinity, Random.stream(options.seed, 'raw-noise', exposureId, detector.id, k));
  });

  return { data, shape: [rawHeight, rawWidth], header: rawHeader(camera, detector, options.header), rowBias };
}

/** Writes one amplifier's segment of the raw frame. */
function renderAmplifier(amp: Amplifier, rows: Float64Array, pattern: FixedBiasPattern, electrons: Float32Array, width: number, data: Uint16Array, rawWidth: number, adcMax: number, fullWell: number, random: Random): void {
  const rb = amp.rawBox, db = amp.rawDataBox;
  const noise = new Float64Array(rb.width);
  const rnAdu = amp.readNoise / amp.gain;
  const invGain = 1 / amp.gain;
  const dx0 = db.x0 - rb.x0, w = db.width, h = db.height;
  const flipX = amp.rawFlipX, flipY = amp.rawFlipY;
  const column = pattern.column, glowSerial = pattern.glowSerial, glowParallel = pattern.glowParallel;
  for (let r = 0; r < rb.height; r++) {
    const ry = rb.y0 + r;
    const level = rows[r]!;
    fillNormal(random, noise);
    const out = ry * rawWidth + rb.x0;
    const q = ry - db.y0;
    const inData = q >= 0 && q < h;
    for (let c = 0; c < rb.width; c++) {
      if (inData && c === dx0) { c += w - 1; continue; }
      const v = Math.round(level + rnAdu * noise[c]!);
      data[out + c] = v >= adcMax ? adcMax : v > 0 ? v : 0;
    }
    if (!inData) continue;
    const y = amp.dataBox.y0 + (flipY ? h - 1 - q : q);
    const rowStart = y * width + amp.dataBox.x0;
    const glowP = glowParallel[q]!;
    const dst = out + dx0;
    for (let c = 0; c < w; c++) {
      let e = electrons[flipX ? rowStart + w - 1 - c : rowStart + c]!;
      if (e > fullWell) e = fullWell;
      // NaN electrons give NaN here, stored as 0 by the clip below.
      const v = Math.round(level + column[c]! + glowSerial[c]! * glowP + e * invGain + rnAdu * noise[dx0 + c]!);
      data[dst + c] = v >= adcMax ? adcMax : v > 0 ? v : 0;
    }
  }
}

/** The raw header of a detector (see the module comment), after the caller's exposure cards. */
export function rawHeader(camera: Camera, detector: Detector, exposure?: FitsHeader): FitsHeader {
  const h = exposure ? exposure.clone() : new FitsHeader();
  h.set('INSTRUME', camera.instrument, 'instrument');
  h.set(camera.headerKeys.detector, detector.id, 'detector id');
  h.set('DETSER', detector.serial, 'detector serial number');
  h.set('CCDNAME', detector.name, 'detector name');
  h.set('DETSIZE', formatSection({ x0: 0, y0: 0, width: detector.width, height: detector.height }), 'assembled detector size');
  h.set('NAMPS', detector.amplifiers.length, 'number of amplifiers');
  h.set('BUNIT', 'adu', 'raw counts');
  h.set('SATURATE', Math.min(...detector.amplifiers.map((a) => a.saturation)), '[adu] lowest amplifier saturation level');
  detector.amplifiers.forEach((a, k) => {
    const n = k + 1;
    h.set(`AMPNAME${n}`, a.name, `amplifier ${n} name (readout corner ${a.readoutCorner})`);
    h.set(`DATASEC${n}`, formatSection(a.rawDataBox), `amp ${a.name} data section (raw pixels)`);
    h.set(`TRIMSEC${n}`, formatSection(a.rawDataBox), `amp ${a.name} trim section (raw pixels)`);
    h.set(`BIASSEC${n}`, formatSection(a.rawSerialOverscanBox), `amp ${a.name} serial overscan (raw pixels)`);
    if (a.rawSerialPrescanBox) h.set(`PRESEC${n}`, formatSection(a.rawSerialPrescanBox), `amp ${a.name} serial prescan (raw pixels)`);
    if (a.rawParallelOverscanBox) h.set(`POVSEC${n}`, formatSection(a.rawParallelOverscanBox), `amp ${a.name} parallel overscan (raw pixels)`);
    h.set(`DETSEC${n}`, formatSection(a.dataBox, a.rawFlipX, a.rawFlipY), `amp ${a.name} section on the assembled detector`);
    h.set(`GAIN${n}`, a.gain, `[e-/adu] amp ${a.name} gain`, { real: true });
    h.set(`RDNOISE${n}`, a.readNoise, `[e-] amp ${a.name} read noise`, { real: true });
    h.set(`SATURAT${n}`, a.saturation, `[adu] amp ${a.name} saturation level`);
  });
  return h;
}

export interface AssembleOptions {
  /** 'rows' (default): per-row overscan mean smoothed over `window` rows; 'median': one median per amplifier. */
  overscan?: 'rows' | 'median';
  /** Rows in the running mean of 'rows' (odd; default 33). */
  window?: number;
}

/** Overscan-subtracted, gain-corrected, assembled and trimmed image (e-) from a raw frame. */
export function assembleFromRaw(camera: Camera, detectorOrId: Detector | number, raw: { data: ArrayLike<number>; shape?: readonly number[] }, options: AssembleOptions = {}): Float32Array {
  const detector = resolveDetector(camera, detectorOrId);
  const { rawWidth, rawHeight, width } = detector;
  if (raw.shape && (raw.shape[0] !== rawHeight || raw.shape[1] !== rawWidth)) {
    throw new RangeError(`assembleFromRaw: detector ${detector.id} has ${rawWidth}x${rawHeight} raw pixels but the raw frame is ${raw.shape[1]}x${raw.shape[0]}`);
  }
  if (raw.data.length !== rawWidth * rawHeight) throw new RangeError(`assembleFromRaw: detector ${detector.id} needs ${rawWidth * rawHeight} raw pixels, got ${raw.data.length}`);
  const mode = options.overscan ?? 'rows';
  const window = options.window ?? 33;
  if (!Number.isInteger(window) || window < 1 || window % 2 === 0) throw new RangeError(`assembleFromRaw: window must be an odd positive integer, got ${window}`);
  const out = new Float32Array(width * detector.height);
  const d = raw.data;
  for (const amp of detector.amplifiers) {
    const os = amp.rawSerialOverscanBox;
    const level = new Float64Array(rawHeight);
    if (mode === 'median') {
      const values = new Float64Array(os.width * os.height);
      let n = 0;
      for (let ry = os.y0; ry < os.y0 + os.height; ry++) for (let rx = os.x0; rx < os.x0 + os.width; rx++) values[n++] = d[ry * rawWidth + rx]!;
      values.sort();
      const m = n % 2 ? values[(n - 1) / 2]! : 0.5 * (values[n / 2 - 1]! + values[n / 2]!);
      level.fill(m);
    } else {
      const rowMean = new Float64Array(os.height);
      for (let r = 0; r < os.height; r++) {
        let s = 0;
        const start = (os.y0 + r) * rawWidth + os.x0;
        for (let c = 0; c < os.width; c++) s += d[start + c]!;
        rowMean[r] = s / os.width;
      }
      const half = (window - 1) / 2;
      for (let r = 0; r < os.height; r++) {
        const a = Math.max(0, r - half), b = Math.min(os.height - 1, r + half);
        let s = 0;
        for (let k = a; k <= b; k++) s += rowMean[k]!;
        level[os.y0 + r] = s / (b - a + 1);
      }
    }
    const db = amp.rawDataBox;
    const w = amp.dataBox.width, h = amp.dataBox.height;
    for (let r = 0; r < h; r++) {
      const ry = db.y0 + r;
      const y = amp.dataBox.y0 + (amp.rawFlipY ? h - 1 - r : r);
      const bias = level[ry]!;
      const src = ry * rawWidth + db.x0;
      const dst = y * width + amp.dataBox.x0;
      for (let c = 0; c < w; c++) out[dst + (amp.rawFlipX ? w - 1 - c : c)] = (d[src + c]! - bias) * amp.gain;
    }
  }
  return out;
}
