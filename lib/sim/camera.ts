/**
 * The simulated camera: an HSC-like mosaic of CCDs (Miyazaki et al. 2018, PASJ 70, S1; the amplifier
 * geometry of LSST obs_subaru's HSC camera description). Each detector is a grid of 15 um pixels read by
 * amplifiers side by side along x; every amplifier reads the full height and has a serial prescan, a
 * serial overscan, a parallel prescan and a parallel overscan, and its own gain (e-/ADU), read noise (e-),
 * bias level (ADU), full well (e-) and saturation level (ADU).
 *
 * Units: focal-plane positions in mm; pixel coordinates 0-BASED pixel centres of the trimmed, assembled
 * detector image (lib/sim/types.ts); boxes are 0-based pixel-index boxes (lib/sim/irafSection.ts).
 *
 * Raw layout (as HSC raws are stored, one image HDU per detector): amplifier k occupies raw columns
 * [k*S, (k+1)*S) with S = prescan + amplifier width + serial overscan, and the rows
 * [0, parallel prescan) + data + parallel overscan. Each segment is stored in READOUT ORDER: the pixel read
 * first (nearest the output amplifier) is at the segment's lower left. Amplifiers alternate readout corners
 * LL, LR, LL, LR (HSC's A0-A3), so the data of LR amplifiers are mirrored in x relative to the assembled
 * detector (`rawFlipX`), exactly like obs_subaru's controllerFlipXY for A1 and A3.
 *
 * Presets (defaults; `makeCamera(preset, overrides)` changes the detector count and size):
 *   tiny: 2 detectors of 512x1024 px, 2 amplifiers of 256 px, prescan 8, serial overscan 16,
 *         parallel prescan 4, parallel overscan 8 (raw 560x1036); gaps 0.6 mm (x) and 1.2 mm (y).
 *   demo: 4 detectors of 1024x2048 px, 4 amplifiers of 256 px, prescan 8, serial overscan 16,
 *         parallel prescan 8, parallel overscan 16 (raw 1120x2072); gaps 0.6 mm and 1.2 mm.
 *   hsc:  8 detectors of 2048x4176 px (a 4x2 block of HSC's 104; any count can be asked for), 4
 *         amplifiers of 512 px, prescan 8, serial overscan 16, parallel prescan 49, parallel overscan 16
 *         (raw 2144x4241, HSC's), gaps 1.12 mm and 4.47 mm (HSC's CCD pitch 31.84 x 67.11 mm).
 * Focal plane: detectors on a grid of round(sqrt(N * width / height)) rows (at least 1), filled row by
 * row from the lower left, each row centred on the optical axis. Detectors in the upper half of the rows
 * are rotated by 180 deg (HSC mounts the CCDs of the two halves of its focal plane facing each other, so
 * that their amplifiers are on the outer edge); with one row nothing is rotated.
 * Amplifier parameters, drawn per amplifier uniformly and deterministically from the camera seed:
 *   gain 2.85-3.25 e-/ADU, read noise 4.0-5.0 e-, bias level 900-1100 ADU, full well 150-200 ke-.
 *   saturation (ADU) = floor(min(bias + full well / gain, ADC max)) - 50, the level above which a raw
 *   pixel is flagged saturated (the 50-ADU margin keeps a pixel at full well above it despite read noise
 *   and bias structure). ADC maximum 65535 (16 bit).
 * Pixel scale 0.168"/px = 11.2"/mm, pixel size 0.015 mm. Instrument 'HSC-SIM', physical filters
 * HSC-G, HSC-R, HSC-I for bands g, r, i.
 *
 * The camera is plain data (JSON-safe); `cameraDescriptionYaml` / `cameraDescriptionJson` write it as the
 * camera description file that `ingest-raws --camera CAMERA.yaml` reads, and `parseCameraDescription`
 * reads and validates such a file (hand-written ones for real cameras included) with errors that name
 * the file, the field path and what is wrong.
 */
import { Random } from './random.js';
import { BANDS } from './types.js';
import { boxContains, boxesOverlap, boxArea, formatSection, parseSection, SectionError, type Box } from './irafSection.js';
import { parseYaml, stringifyYaml, YamlError, type YamlMapping, type YamlValue } from './yamlSubset.js';
import { libm } from '../math/libm.js';
import { SIMULATED_GHOST } from './artifacts.js';

export type { Box } from './irafSection.js';

export type CameraPreset = 'tiny' | 'demo' | 'hsc';
export const CAMERA_PRESETS: readonly CameraPreset[] = ['tiny', 'demo', 'hsc'];

/** The corner of the amplifier's quadrant where its output amplifier sits: Lower/Upper, Left/Right. */
export type ReadoutCorner = 'LL' | 'LR' | 'UL' | 'UR';
const READOUT_CORNERS: readonly ReadoutCorner[] = ['LL', 'LR', 'UL', 'UR'];

export interface Amplifier {
  name: string;
  readoutCorner: ReadoutCorner;
  /** e-/ADU. */
  gain: number;
  /** e- rms. */
  readNoise: number;
  /** Nominal bias level, ADU. */
  biasLevel: number;
  /** e-: charge a pixel holds before it saturates. */
  fullWell: number;
  /** Raw ADU at and above which a pixel is saturated. */
  saturation: number;
  /** The amplifier's pixels in the trimmed, assembled detector image. */
  dataBox: Box;
  /** The amplifier's whole segment in the raw image; the segments tile the raw image. */
  rawBox: Box;
  rawDataBox: Box;
  rawSerialPrescanBox: Box | null;
  rawSerialOverscanBox: Box;
  rawParallelPrescanBox: Box | null;
  rawParallelOverscanBox: Box | null;
  /** The raw data section is mirrored in x (y) relative to `dataBox`. */
  rawFlipX: boolean;
  rawFlipY: boolean;
}

export interface Detector {
  id: number;
  name: string;
  serial: string;
  /** Trimmed, assembled size in pixels. */
  width: number;
  height: number;
  /** Raw image size in pixels (all amplifiers with their prescans and overscans). */
  rawWidth: number;
  rawHeight: number;
  /** Focal-plane position (mm) of the detector's centre, ((width-1)/2, (height-1)/2). */
  centerMm: [number, number];
  /** Rotation (deg, counter-clockwise) of the detector's pixel axes on the focal plane. */
  rotationDeg: number;
  amplifiers: Amplifier[];
}

/** The header keywords of a raw frame that give each exposure property. */
export interface HeaderKeywords {
  filter: string;
  exposureTime: string;
  date: string;
  mjd: string;
  detector: string;
  imageType: string;
  exposureId: string;
}

/**
 * The camera's optical ghost (an out-of-focus pupil image that each star casts, as HSC's and DECam's
 * instrument teams characterise theirs): a ring centred at radialScale times the star's focal-plane
 * position (both from the optical axis), between obscuration x radius and radius, with edges softened
 * over edgeWidth x radius, carrying fluxFraction of the star's flux. The simulator draws it
 * (lib/sim/artifacts.ts) and calibrate masks it (lib/measure/ghosts.ts).
 */
export interface GhostModel {
  radialScale: number;
  /** Outer radius, arcsec. */
  radiusArcsec: number;
  /** Inner radius / outer radius. */
  obscuration: number;
  fluxFraction: number;
  /** Width of each soft edge / outer radius. */
  edgeWidth: number;
}

export interface FilterDefinition {
  physical: string;
  band: string;
}

export interface Camera {
  name: string;
  instrument: string;
  pixelSizeMm: number;
  plateScaleArcsecPerMm: number;
  /** Largest raw value the ADC writes (ADU). */
  adcMax: number;
  /** HDU of a raw file that holds the pixels. */
  rawHdu: number;
  headerKeys: HeaderKeywords;
  filters: FilterDefinition[];
  detectors: Detector[];
  /** How the simulator made this camera (absent for a real camera's description). */
  simulation: { preset: CameraPreset; seed: number } | null;
  /** The optical ghost, when the camera's description gives one. */
  ghost?: GhostModel;
}

interface PresetGeometry {
  detectors: number;
  width: number;
  height: number;
  amplifiers: number;
  serialPrescan: number;
  serialOverscan: number;
  parallelPrescan: number;
  parallelOverscan: number;
  gapMm: [number, number];
}

export const PRESET_GEOMETRY: Readonly<Record<CameraPreset, Readonly<PresetGeometry>>> = {
  tiny: { detectors: 2, width: 512, height: 1024, amplifiers: 2, serialPrescan: 8, serialOverscan: 16, parallelPrescan: 4, parallelOverscan: 8, gapMm: [0.6, 1.2] },
  demo: { detectors: 4, width: 1024, height: 2048, amplifiers: 4, serialPrescan: 8, serialOverscan: 16, parallelPrescan: 8, parallelOverscan: 16, gapMm: [0.6, 1.2] },
  hsc: { detectors: 8, width: 2048, height: 4176, amplifiers: 4, serialPrescan: 8, serialOverscan: 16, parallelPrescan: 49, parallelOverscan: 16, gapMm: [1.12, 4.47] },
};

/** Ranges the per-amplifier parameters are drawn from (uniform). */
export const AMPLIFIER_RANGES = {
  gain: [2.85, 3.25],
  readNoise: [4.0, 5.0],
  biasLevel: [900, 1100],
  fullWell: [150_000, 200_000],
} as const;

export const SATURATION_MARGIN_ADU = 50;
export const ADC_MAX = 65535;
export const PIXEL_SIZE_MM = 0.015;
export const PIXEL_SCALE_ARCSEC = 0.168;
export const DEFAULT_HEADER_KEYS: Readonly<HeaderKeywords> = {
  filter: 'FILTER', exposureTime: 'EXPTIME', date: 'DATE-OBS', mjd: 'MJD-OBS', detector: 'DETECTOR', imageType: 'IMAGETYP', exposureId: 'EXPID',
};
export const SIM_INSTRUMENT = 'HSC-SIM';
export const DESCRIPTION_FORMAT = 'tessera-camera-1';

export interface CameraOverrides {
  detectors?: number;
  width?: number;
  height?: number;
  /** Seed of the per-amplifier parameters and serial numbers (default 1). */
  seed?: number;
}

/** The saturation level in ADU of an amplifier (see the module comment). */
export function saturationLevel(biasLevel: number, fullWell: number, gain: number, adcMax = ADC_MAX): number {
  return Math.floor(Math.min(biasLevel + fullWell / gain, adcMax)) - SATURATION_MARGIN_ADU;
}

function checkCount(what: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new RangeError(`makeCamera: ${what} must be an integer from 1 to ${max}, got ${value}`);
}

/** Makes the camera of a preset, deterministic per seed. */
export function makeCamera(preset: CameraPreset, overrides: CameraOverrides = {}): Camera {
  const geometry = PRESET_GEOMETRY[preset];
  if (!geometry) throw new RangeError(`makeCamera: unknown preset '${String(preset)}' (expected ${CAMERA_PRESETS.join(', ')})`);
  const count = overrides.detectors ?? geometry.detectors;
  const width = overrides.width ?? geometry.width;
  const height = overrides.height ?? geometry.height;
  const seed = overrides.seed ?? 1;
  checkCount('detectors', count, 1000);
  checkCount('width', width, 16384);
  checkCount('height', height, 16384);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`makeCamera: seed must be an integer, got ${seed}`);
  const nAmp = geometry.amplifiers;
  if (width % nAmp !== 0) throw new RangeError(`makeCamera: width ${width} must be a multiple of the ${preset} preset's ${nAmp} amplifiers`);

  const rows = Math.max(1, Math.round(Math.sqrt((count * width) / height)));
  const cols = Math.ceil(count / rows);
  const wMm = width * PIXEL_SIZE_MM;
  const hMm = height * PIXEL_SIZE_MM;
  const serialBase = 10000 + Random.stream(seed, 'camera', 'serials').int(80000);
  const detectors: Detector[] = [];
  for (let id = 0; id < count; id++) {
    const row = Math.floor(id / cols);
    const col = id % cols;
    const inRow = Math.min(cols, count - row * cols);
    const cx = (col - (inRow - 1) / 2) * (wMm + geometry.gapMm[0]);
    const cy = (row - (rows - 1) / 2) * (hMm + geometry.gapMm[1]);
    detectors.push(makeDetector(id, `R${row}C${col}`, `SIM-${serialBase + id}`, [round6(cx), round6(cy)], 2 * row > rows - 1 ? 180 : 0, width, height, geometry, seed));
  }
  return {
    name: `tessera-${preset}`,
    instrument: SIM_INSTRUMENT,
    pixelSizeMm: PIXEL_SIZE_MM,
    plateScaleArcsecPerMm: round6(PIXEL_SCALE_ARCSEC / PIXEL_SIZE_MM),
    adcMax: ADC_MAX,
    rawHdu: 0,
    headerKeys: { ...DEFAULT_HEADER_KEYS },
    filters: BANDS.map((band) => ({ physical: `HSC-${band.toUpperCase()}`, band })),
    detectors,
    simulation: { preset, seed },
    ghost: { ...SIMULATED_GHOST },
  };
}

function round6(v: number): number {
  const r = Math.round(v * 1e6) / 1e6;
  return r === 0 ? 0 : r;
}

function makeDetector(id: number, name: string, serial: string, centerMm: [number, number], rotationDeg: number, width: number, height: number, g: PresetGeometry, seed: number): Detector {
  const nAmp = g.amplifiers;
  const ampWidth = width / nAmp;
  const segW = g.serialPrescan + ampWidth + g.serialOverscan;
  const segH = g.parallelPrescan + height + g.parallelOverscan;
  const amplifiers: Amplifier[] = [];
  for (let k = 0; k < nAmp; k++) {
    const r = Random.stream(seed, 'camera', 'amplifier', id, k);
    const gain = round6(r.range(...AMPLIFIER_RANGES.gain));
    const readNoise = round6(r.range(...AMPLIFIER_RANGES.readNoise));
    const biasLevel = round6(r.range(...AMPLIFIER_RANGES.biasLevel));
    const fullWell = Math.round(r.range(...AMPLIFIER_RANGES.fullWell));
    const readoutCorner: ReadoutCorner = k % 2 === 0 ? 'LL' : 'LR';
    const right = readoutCorner === 'LR';
    const x0 = k * segW;
    amplifiers.push({
      name: `A${k}`,
      readoutCorner,
      gain, readNoise, biasLevel, fullWell,
      saturation: saturationLevel(biasLevel, fullWell, gain),
      dataBox: { x0: k * ampWidth, y0: 0, width: ampWidth, height },
      rawBox: { x0, y0: 0, width: segW, height: segH },
      rawDataBox: { x0: x0 + g.serialPrescan, y0: g.parallelPrescan, width: ampWidth, height },
      rawSerialPrescanBox: g.serialPrescan > 0 ? { x0, y0: g.parallelPrescan, width: g.serialPrescan, height } : null,
      rawSerialOverscanBox: { x0: x0 + g.serialPrescan + ampWidth, y0: g.parallelPrescan, width: g.serialOverscan, height },
      rawParallelPrescanBox: g.parallelPrescan > 0 ? { x0, y0: 0, width: segW, height: g.parallelPrescan } : null,
      rawParallelOverscanBox: g.parallelOverscan > 0 ? { x0: x0 + g.serialPrescan, y0: g.parallelPrescan + height, width: ampWidth, height: g.parallelOverscan } : null,
      // Stored in readout order: mirrored in x when the amplifier reads from the right.
      rawFlipX: right,
      rawFlipY: false,
    });
  }
  return { id, name, serial, width, height, rawWidth: nAmp * segW, rawHeight: segH, centerMm, rotationDeg, amplifiers };
}

// ---------------------------------------------------------------------------------------------------
// Geometry

/** The detector with this id (or the object itself); throws a RangeError naming the camera otherwise. */
export function resolveDetector(camera: Camera, detector: Detector | number): Detector {
  if (typeof detector !== 'number') return detector;
  const found = camera.detectors.find((d) => d.id === detector);
  if (!found) throw new RangeError(`camera ${camera.name} has no detector ${detector} (ids ${camera.detectors.map((d) => d.id).join(', ')})`);
  return found;
}

/** 0-based detector pixel (x, y) to focal-plane mm. */
export function pixelToFocalPlane(camera: Camera, detector: Detector, x: number, y: number): [number, number] {
  const t = (detector.rotationDeg * Math.PI) / 180;
  const c = libm.cos(t), s = libm.sin(t);
  const dx = (x - (detector.width - 1) / 2) * camera.pixelSizeMm;
  const dy = (y - (detector.height - 1) / 2) * camera.pixelSizeMm;
  return [detector.centerMm[0] + c * dx - s * dy, detector.centerMm[1] + s * dx + c * dy];
}

/** Focal-plane mm to 0-based detector pixel (x, y) of this detector (may lie outside it). */
export function focalPlaneToPixel(camera: Camera, detector: Detector, xMm: number, yMm: number): [number, number] {
  const t = (detector.rotationDeg * Math.PI) / 180;
  const c = libm.cos(t), s = libm.sin(t);
  const u = xMm - detector.centerMm[0];
  const v = yMm - detector.centerMm[1];
  return [(c * u + s * v) / camera.pixelSizeMm + (detector.width - 1) / 2, (-s * u + c * v) / camera.pixelSizeMm + (detector.height - 1) / 2];
}

/** Focal-plane corners (mm) of the detector's light-sensitive area, pixel edges (-0.5 .. n-0.5), counter-clockwise in pixels. */
export function detectorCornersMm(camera: Camera, detector: Detector): [number, number][] {
  const w = detector.width - 0.5, h = detector.height - 0.5;
  return [[-0.5, -0.5], [w, -0.5], [w, h], [-0.5, h]].map(([x, y]) => pixelToFocalPlane(camera, detector, x!, y!));
}

/** The largest distance (mm) of any detector corner from the optical axis. */
export function focalPlaneRadiusMm(camera: Camera): number {
  let r = 0;
  for (const d of camera.detectors) for (const [x, y] of detectorCornersMm(camera, d)) r = Math.max(r, Math.hypot(x, y));
  return r;
}

/** The detector and pixel under a focal-plane point, or undefined in a gap or off the mosaic. */
export function detectorAtFocalPlane(camera: Camera, xMm: number, yMm: number): { detector: Detector; x: number; y: number } | undefined {
  for (const detector of camera.detectors) {
    const [x, y] = focalPlaneToPixel(camera, detector, xMm, yMm);
    if (x >= -0.5 && x < detector.width - 0.5 && y >= -0.5 && y < detector.height - 0.5) return { detector, x, y };
  }
  return undefined;
}

/** The amplifier whose data box holds 0-based pixel (x, y) of the assembled detector. */
export function amplifierAt(detector: Detector, x: number, y: number): Amplifier | undefined {
  const ix = Math.round(x), iy = Math.round(y);
  return detector.amplifiers.find((a) => ix >= a.dataBox.x0 && ix < a.dataBox.x0 + a.dataBox.width && iy >= a.dataBox.y0 && iy < a.dataBox.y0 + a.dataBox.height);
}

/** Raw-image pixel index of assembled pixel (x, y) (integers) read by `amp`. */
export function assembledToRaw(amp: Amplifier, x: number, y: number): [number, number] {
  const dx = x - amp.dataBox.x0, dy = y - amp.dataBox.y0;
  return [
    amp.rawDataBox.x0 + (amp.rawFlipX ? amp.dataBox.width - 1 - dx : dx),
    amp.rawDataBox.y0 + (amp.rawFlipY ? amp.dataBox.height - 1 - dy : dy),
  ];
}

/** The band of a physical filter name, or undefined when the camera does not know it. */
export function bandOfFilter(camera: Camera, physical: string): string | undefined {
  return camera.filters.find((f) => f.physical === physical)?.band;
}

/** The physical filter of a band (the first one listed). */
export function filterOfBand(camera: Camera, band: string): string {
  const f = camera.filters.find((x) => x.band === band);
  if (!f) throw new RangeError(`camera ${camera.name} has no filter for band '${band}'`);
  return f.physical;
}

// ---------------------------------------------------------------------------------------------------
// The camera description file

export class CameraDescriptionError extends Error {
  constructor(readonly source: string, readonly path: string, readonly problem: string) {
    super(`${source}: ${path}: ${problem}`);
    this.name = 'CameraDescriptionError';
  }
}

const COMMENTS = [
  `Tessera camera description (${DESCRIPTION_FORMAT}), read by 'tessera ingest-raws --camera'.`,
  'Sections are IRAF image sections [x1:x2,y1:y2], 1-based and inclusive: dataSection in the trimmed,',
  'assembled detector image; raw* in the raw image. rawFlipX/rawFlipY: the raw data section is stored',
  'mirrored relative to dataSection. gain e-/ADU, readNoise e-, biasLevel ADU, fullWell e-,',
  'saturation ADU (raw), centerMm mm on the focal plane, rotationDeg counter-clockwise.',
  'headerKeys: the raw header keywords that give each exposure property.',
  'ghost (optional): the optical ghost each star casts: a ring at radialScale x the star\'s focal-plane',
  'position, radius radiusArcsec, inner radius obscuration x radius, edges softened over edgeWidth x',
  'radius, fluxFraction of the star\'s flux.',
];

function sectionOrNull(box: Box | null): string | null {
  return box ? formatSection(box) : null;
}

/** The camera as the description document (a plain mapping). */
export function cameraDescription(camera: Camera): YamlMapping {
  return {
    format: DESCRIPTION_FORMAT,
    name: camera.name,
    instrument: camera.instrument,
    pixelSizeMm: camera.pixelSizeMm,
    plateScaleArcsecPerMm: camera.plateScaleArcsecPerMm,
    adcMax: camera.adcMax,
    rawHdu: camera.rawHdu,
    headerKeys: { ...camera.headerKeys },
    filters: camera.filters.map((f) => ({ physical: f.physical, band: f.band })),
    simulation: camera.simulation ? { preset: camera.simulation.preset, seed: camera.simulation.seed } : null,
    ...(camera.ghost ? { ghost: { ...camera.ghost } } : {}),
    detectors: camera.detectors.map((d) => ({
      id: d.id,
      name: d.name,
      serial: d.serial,
      width: d.width,
      height: d.height,
      rawWidth: d.rawWidth,
      rawHeight: d.rawHeight,
      centerMm: [d.centerMm[0], d.centerMm[1]],
      rotationDeg: d.rotationDeg,
      amplifiers: d.amplifiers.map((a) => ({
        name: a.name,
        readoutCorner: a.readoutCorner,
        gain: a.gain,
        readNoise: a.readNoise,
        biasLevel: a.biasLevel,
        fullWell: a.fullWell,
        saturation: a.saturation,
        dataSection: formatSection(a.dataBox),
        rawSection: formatSection(a.rawBox),
        rawDataSection: formatSection(a.rawDataBox),
        rawSerialPrescan: sectionOrNull(a.rawSerialPrescanBox),
        rawSerialOverscan: formatSection(a.rawSerialOverscanBox),
        rawParallelPrescan: sectionOrNull(a.rawParallelPrescanBox),
        rawParallelOverscan: sectionOrNull(a.rawParallelOverscanBox),
        rawFlipX: a.rawFlipX,
        rawFlipY: a.rawFlipY,
      })),
    })),
  };
}

/** The camera description as YAML text (the CAMERA.yaml format). */
export function cameraDescriptionYaml(camera: Camera): string {
  return stringifyYaml(cameraDescription(camera), COMMENTS);
}

/** The camera description as JSON text (the same document). */
export function cameraDescriptionJson(camera: Camera): string {
  return `${JSON.stringify(cameraDescription(camera), null, 2)}\n`;
}

/** Field readers that throw CameraDescriptionError with the path of the field. */
class Reader {
  constructor(readonly source: string) {}

  fail(path: string, problem: string): never {
    throw new CameraDescriptionError(this.source, path, problem);
  }

  describe(v: unknown): string {
    if (v === undefined) return 'nothing (the field is missing)';
    if (typeof v === 'string') return `'${v}'`;
    if (Array.isArray(v)) return 'a list';
    if (v !== null && typeof v === 'object') return 'a mapping';
    return String(v);
  }

  mapping(v: unknown, path: string, known: readonly string[]): Record<string, unknown> {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(path, `expected a mapping, got ${this.describe(v)}`);
    const m = v as Record<string, unknown>;
    for (const key of Object.keys(m)) {
      if (!known.includes(key)) this.fail(path === '(document)' ? key : `${path}.${key}`, `unknown field (expected one of ${known.join(', ')})`);
    }
    return m;
  }

  list(v: unknown, path: string, nonEmpty = true): unknown[] {
    if (!Array.isArray(v)) this.fail(path, `expected a list, got ${this.describe(v)}`);
    if (nonEmpty && v.length === 0) this.fail(path, 'expected at least one entry');
    return v;
  }

  string(v: unknown, path: string): string {
    if (typeof v !== 'string' || v.trim() === '') this.fail(path, `expected a non-empty string, got ${this.describe(v)}`);
    return v;
  }

  number(v: unknown, path: string, check: 'positive' | 'nonNegative' | 'finite' = 'finite'): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(path, `expected a number, got ${this.describe(v)}`);
    if (check === 'positive' && !(v > 0)) this.fail(path, `must be > 0, got ${v}`);
    if (check === 'nonNegative' && !(v >= 0)) this.fail(path, `must be >= 0, got ${v}`);
    return v;
  }

  integer(v: unknown, path: string, min: number): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(path, `expected an integer, got ${this.describe(v)}`);
    if (v < min) this.fail(path, `must be >= ${min}, got ${v}`);
    return v;
  }

  boolean(v: unknown, path: string, fallback: boolean): boolean {
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') this.fail(path, `expected true or false, got ${this.describe(v)}`);
    return v;
  }

  /** A section: '[x1:x2,y1:y2]', or the two-element list an unquoted [x1:x2,y1:y2] reads as in YAML. */
  section(v: unknown, path: string): Box {
    let text: string;
    if (typeof v === 'string') text = v;
    else if (Array.isArray(v) && v.length === 2 && v.every((p) => typeof p === 'string')) text = `[${v[0]},${v[1]}]`;
    else return this.fail(path, `expected an image section such as '[1:512,1:4176]', got ${this.describe(v)}`);
    let parsed;
    try {
      parsed = parseSection(text);
    } catch (e) {
      if (e instanceof SectionError) this.fail(path, e.message);
      throw e;
    }
    if (parsed.flipX || parsed.flipY) this.fail(path, `section ${text} runs backwards; give it in increasing order and say rawFlipX/rawFlipY instead`);
    return parsed.box;
  }

  optionalSection(v: unknown, path: string): Box | null {
    return v === undefined || v === null ? null : this.section(v, path);
  }
}

const TOP_FIELDS = ['format', 'name', 'instrument', 'pixelSizeMm', 'plateScaleArcsecPerMm', 'adcMax', 'rawHdu', 'headerKeys', 'filters', 'simulation', 'ghost', 'detectors'] as const;
const GHOST_FIELDS = ['radialScale', 'radiusArcsec', 'obscuration', 'fluxFraction', 'edgeWidth'] as const;
const DETECTOR_FIELDS = ['id', 'name', 'serial', 'width', 'height', 'rawWidth', 'rawHeight', 'centerMm', 'rotationDeg', 'amplifiers'] as const;
const AMP_FIELDS = ['name', 'readoutCorner', 'gain', 'readNoise', 'biasLevel', 'fullWell', 'saturation', 'dataSection', 'rawSection', 'rawDataSection',
  'rawSerialPrescan', 'rawSerialOverscan', 'rawParallelPrescan', 'rawParallelOverscan', 'rawFlipX', 'rawFlipY'] as const;
const HEADER_KEY_FIELDS = Object.keys(DEFAULT_HEADER_KEYS) as (keyof HeaderKeywords)[];

function readAmplifier(r: Reader, v: unknown, path: string, detector: { width: number; height: number; rawWidth: number; rawHeight: number }, adcMax: number): Amplifier {
  const m = r.mapping(v, path, AMP_FIELDS);
  const corner = m['readoutCorner'];
  if (typeof corner !== 'string' || !READOUT_CORNERS.includes(corner as ReadoutCorner)) r.fail(`${path}.readoutCorner`, `expected one of ${READOUT_CORNERS.join(', ')}, got ${r.describe(corner)}`);
  const amp: Amplifier = {
    name: r.string(m['name'], `${path}.name`),
    readoutCorner: corner as ReadoutCorner,
    gain: r.number(m['gain'], `${path}.gain`, 'positive'),
    readNoise: r.number(m['readNoise'], `${path}.readNoise`, 'nonNegative'),
    biasLevel: r.number(m['biasLevel'], `${path}.biasLevel`),
    fullWell: r.number(m['fullWell'], `${path}.fullWell`, 'positive'),
    saturation: r.number(m['saturation'], `${path}.saturation`, 'positive'),
    dataBox: r.section(m['dataSection'], `${path}.dataSection`),
    rawBox: r.section(m['rawSection'], `${path}.rawSection`),
    rawDataBox: r.section(m['rawDataSection'], `${path}.rawDataSection`),
    rawSerialPrescanBox: r.optionalSection(m['rawSerialPrescan'], `${path}.rawSerialPrescan`),
    rawSerialOverscanBox: r.section(m['rawSerialOverscan'], `${path}.rawSerialOverscan`),
    rawParallelPrescanBox: r.optionalSection(m['rawParallelPrescan'], `${path}.rawParallelPrescan`),
    rawParallelOverscanBox: r.optionalSection(m['rawParallelOverscan'], `${path}.rawParallelOverscan`),
    rawFlipX: r.boolean(m['rawFlipX'], `${path}.rawFlipX`, false),
    rawFlipY: r.boolean(m['rawFlipY'], `${path}.rawFlipY`, false),
  };
  if (amp.saturation > adcMax) r.fail(`${path}.saturation`, `${amp.saturation} ADU exceeds the ADC maximum ${adcMax}`);
  const detectorBox: Box = { x0: 0, y0: 0, width: detector.width, height: detector.height };
  const rawImage: Box = { x0: 0, y0: 0, width: detector.rawWidth, height: detector.rawHeight };
  if (!boxContains(detectorBox, amp.dataBox)) r.fail(`${path}.dataSection`, `${formatSection(amp.dataBox)} lies outside the ${detector.width}x${detector.height} detector`);
  if (!boxContains(rawImage, amp.rawBox)) r.fail(`${path}.rawSection`, `${formatSection(amp.rawBox)} lies outside the ${detector.rawWidth}x${detector.rawHeight} raw image`);
  const parts: [string, Box | null][] = [
    ['rawDataSection', amp.rawDataBox], ['rawSerialPrescan', amp.rawSerialPrescanBox], ['rawSerialOverscan', amp.rawSerialOverscanBox],
    ['rawParallelPrescan', amp.rawParallelPrescanBox], ['rawParallelOverscan', amp.rawParallelOverscanBox],
  ];
  for (const [name, box] of parts) {
    if (box && !boxContains(amp.rawBox, box)) r.fail(`${path}.${name}`, `${formatSection(box)} lies outside the amplifier's rawSection ${formatSection(amp.rawBox)}`);
  }
  for (let i = 0; i < parts.length; i++) {
    for (let j = i + 1; j < parts.length; j++) {
      const a = parts[i]!, b = parts[j]!;
      if (a[1] && b[1] && boxesOverlap(a[1], b[1])) r.fail(`${path}.${b[0]}`, `${formatSection(b[1])} overlaps ${a[0]} ${formatSection(a[1])}`);
    }
  }
  if (amp.rawDataBox.width !== amp.dataBox.width || amp.rawDataBox.height !== amp.dataBox.height) {
    r.fail(`${path}.rawDataSection`, `is ${amp.rawDataBox.width}x${amp.rawDataBox.height} but dataSection is ${amp.dataBox.width}x${amp.dataBox.height}`);
  }
  if (amp.rawSerialOverscanBox.y0 > amp.rawDataBox.y0 || amp.rawSerialOverscanBox.y0 + amp.rawSerialOverscanBox.height < amp.rawDataBox.y0 + amp.rawDataBox.height) {
    r.fail(`${path}.rawSerialOverscan`, `must cover every row of rawDataSection ${formatSection(amp.rawDataBox)} (rows ${amp.rawDataBox.y0 + 1}-${amp.rawDataBox.y0 + amp.rawDataBox.height})`);
  }
  return amp;
}

function readDetector(r: Reader, v: unknown, path: string, adcMax: number): Detector {
  const m = r.mapping(v, path, DETECTOR_FIELDS);
  const center = r.list(m['centerMm'], `${path}.centerMm`);
  if (center.length !== 2) r.fail(`${path}.centerMm`, `expected [x, y] in mm, got ${center.length} numbers`);
  const d = {
    id: r.integer(m['id'], `${path}.id`, 0),
    name: r.string(m['name'], `${path}.name`),
    serial: r.string(m['serial'], `${path}.serial`),
    width: r.integer(m['width'], `${path}.width`, 1),
    height: r.integer(m['height'], `${path}.height`, 1),
    rawWidth: r.integer(m['rawWidth'], `${path}.rawWidth`, 1),
    rawHeight: r.integer(m['rawHeight'], `${path}.rawHeight`, 1),
    centerMm: [r.number(center[0], `${path}.centerMm[0]`), r.number(center[1], `${path}.centerMm[1]`)] as [number, number],
    rotationDeg: r.number(m['rotationDeg'] ?? 0, `${path}.rotationDeg`),
  };
  const amplifiers = r.list(m['amplifiers'], `${path}.amplifiers`).map((a, k) => readAmplifier(r, a, `${path}.amplifiers[${k}]`, d, adcMax));
  const names = new Set<string>();
  amplifiers.forEach((a, k) => {
    if (names.has(a.name)) r.fail(`${path}.amplifiers[${k}].name`, `duplicate amplifier name '${a.name}'`);
    names.add(a.name);
  });
  for (let i = 0; i < amplifiers.length; i++) {
    for (let j = i + 1; j < amplifiers.length; j++) {
      const a = amplifiers[i]!, b = amplifiers[j]!;
      if (boxesOverlap(a.dataBox, b.dataBox)) r.fail(`${path}.amplifiers[${j}].dataSection`, `${formatSection(b.dataBox)} overlaps amplifier ${a.name}'s ${formatSection(a.dataBox)}`);
      if (boxesOverlap(a.rawBox, b.rawBox)) r.fail(`${path}.amplifiers[${j}].rawSection`, `${formatSection(b.rawBox)} overlaps amplifier ${a.name}'s ${formatSection(a.rawBox)}`);
    }
  }
  const dataArea = amplifiers.reduce((s, a) => s + boxArea(a.dataBox), 0);
  if (dataArea !== d.width * d.height) r.fail(`${path}.amplifiers`, `the data sections cover ${dataArea} of the detector's ${d.width * d.height} pixels; they must tile it`);
  const rawArea = amplifiers.reduce((s, a) => s + boxArea(a.rawBox), 0);
  if (rawArea !== d.rawWidth * d.rawHeight) r.fail(`${path}.amplifiers`, `the raw sections cover ${rawArea} of the raw image's ${d.rawWidth * d.rawHeight} pixels; they must tile it`);
  return { ...d, amplifiers };
}

/**
 * Reads and validates a camera description (YAML, or JSON when the text starts with '{'). `source`
 * names the file in errors. Throws CameraDescriptionError naming the field path and the problem.
 */
export function parseCameraDescription(text: string, source = 'camera description'): Camera {
  let doc: YamlValue;
  if (text.trimStart().startsWith('{')) {
    try {
      doc = JSON.parse(text) as YamlValue;
    } catch (e) {
      throw new CameraDescriptionError(source, '(document)', `not valid JSON: ${(e as Error).message}`);
    }
  } else {
    try {
      doc = parseYaml(text, source);
    } catch (e) {
      if (e instanceof YamlError) throw new CameraDescriptionError(source, `line ${e.line}`, e.problem);
      throw e;
    }
  }
  const r = new Reader(source);
  const m = r.mapping(doc, '(document)', TOP_FIELDS);
  if (m['format'] !== DESCRIPTION_FORMAT) r.fail('format', `expected '${DESCRIPTION_FORMAT}', got ${r.describe(m['format'])}`);
  const adcMax = r.integer(m['adcMax'], 'adcMax', 1);
  const keys = r.mapping(m['headerKeys'], 'headerKeys', HEADER_KEY_FIELDS);
  const headerKeys = {} as HeaderKeywords;
  for (const k of HEADER_KEY_FIELDS) {
    const key = r.string(keys[k], `headerKeys.${k}`);
    if (!/^[A-Z0-9_-]+( [A-Z0-9_-]+)*$/.test(key)) r.fail(`headerKeys.${k}`, `'${key}' is not a FITS keyword (upper-case letters, digits, '-' and '_')`);
    headerKeys[k] = key;
  }
  const filters = r.list(m['filters'], 'filters').map((f, i) => {
    const fm = r.mapping(f, `filters[${i}]`, ['physical', 'band']);
    return { physical: r.string(fm['physical'], `filters[${i}].physical`), band: r.string(fm['band'], `filters[${i}].band`) };
  });
  filters.forEach((f, i) => {
    if (filters.findIndex((g) => g.physical === f.physical) !== i) r.fail(`filters[${i}].physical`, `duplicate physical filter '${f.physical}'`);
  });
  let simulation: Camera['simulation'] = null;
  if (m['simulation'] !== undefined && m['simulation'] !== null) {
    const sm = r.mapping(m['simulation'], 'simulation', ['preset', 'seed']);
    const preset = sm['preset'];
    if (typeof preset !== 'string' || !CAMERA_PRESETS.includes(preset as CameraPreset)) r.fail('simulation.preset', `expected one of ${CAMERA_PRESETS.join(', ')}, got ${r.describe(preset)}`);
    simulation = { preset: preset as CameraPreset, seed: r.integer(sm['seed'], 'simulation.seed', Number.MIN_SAFE_INTEGER) };
  }
  let ghost: GhostModel | undefined;
  if (m['ghost'] !== undefined && m['ghost'] !== null) {
    const gm = r.mapping(m['ghost'], 'ghost', GHOST_FIELDS);
    ghost = {
      radialScale: r.number(gm['radialScale'], 'ghost.radialScale', 'positive'),
      radiusArcsec: r.number(gm['radiusArcsec'], 'ghost.radiusArcsec', 'positive'),
      obscuration: r.number(gm['obscuration'], 'ghost.obscuration', 'nonNegative'),
      fluxFraction: r.number(gm['fluxFraction'], 'ghost.fluxFraction', 'positive'),
      edgeWidth: r.number(gm['edgeWidth'], 'ghost.edgeWidth', 'nonNegative'),
    };
    if (ghost.obscuration >= 1) r.fail('ghost.obscuration', `must be < 1 (inner / outer radius), got ${ghost.obscuration}`);
  }
  const detectors = r.list(m['detectors'], 'detectors').map((d, i) => readDetector(r, d, `detectors[${i}]`, adcMax));
  detectors.forEach((d, i) => {
    if (detectors.findIndex((e) => e.id === d.id) !== i) r.fail(`detectors[${i}].id`, `duplicate detector id ${d.id}`);
    if (detectors.findIndex((e) => e.name === d.name) !== i) r.fail(`detectors[${i}].name`, `duplicate detector name '${d.name}'`);
  });
  return {
    name: r.string(m['name'], 'name'),
    instrument: r.string(m['instrument'], 'instrument'),
    pixelSizeMm: r.number(m['pixelSizeMm'], 'pixelSizeMm', 'positive'),
    plateScaleArcsecPerMm: r.number(m['plateScaleArcsecPerMm'], 'plateScaleArcsecPerMm', 'positive'),
    adcMax,
    rawHdu: r.integer(m['rawHdu'] ?? 0, 'rawHdu', 0),
    headerKeys,
    filters,
    detectors,
    simulation,
    ...(ghost ? { ghost } : {}),
  };
}
