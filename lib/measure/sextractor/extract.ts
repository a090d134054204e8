/**
 * A SExtractor run on one image, configured by a `.sex` file (lib/measure/sextractor/config.ts):
 *  1. background and rms maps (BACK_SIZE, BACK_FILTERSIZE, BACK_FILTTHRESH; BACK_TYPE MANUAL subtracts
 *     BACK_VALUE instead) and the background-subtracted image (lib/measure/sextractor/background.ts);
 *  2. filtering with FILTER_NAME, thresholding at DETECT_THRESH (x the global rms when RELATIVE),
 *     DETECT_MINAREA, deblending (DEBLEND_NTHRESH, DEBLEND_MINCONT), CLEAN (CLEAN_PARAM) and the isophotal
 *     analysis (lib/measure/sextractor/detection.ts);
 *  3. photometry: FLUX_APER (PHOT_APERTURES), KRON_RADIUS and FLUX_AUTO (PHOT_AUTOPARAMS,
 *     PHOT_AUTOAPERS), FLUX_RADIUS (PHOT_FLUXFRAC), XWIN/YWIN (lib/measure/sextractor/photometry.ts),
 *     magnitudes with MAG_ZEROPOINT, and FLAGS: TRUNCATED from the detection, MERGED from deblending,
 *     SATURATED when the highest pixel plus the local background reaches SATUR_LEVEL, APERTURE_INCOMPLETE
 *     and CROWDED from the measurements the parameter list asks for (as in SExtractor, a measurement that is
 *     not asked for sets no flag).
 * Columns are named as SExtractor's parameters, in the `.param` file's order; a vector parameter NAME(n)
 * becomes columns NAME_1 .. NAME_n. Pixel coordinates in the columns are 1-based, as SExtractor writes
 * them (X_IMAGE = x + 1 for the 0-based x of Tessera's own columns); THETA_IMAGE is in degrees. Units are
 * the image's (ADU, or e- for calibrated images) and pixels.
 * Without a variance map the noise is SExtractor's: the global background rms for every pixel; with one
 * (a weight map), each pixel's, and the RELATIVE threshold is DETECT_THRESH x its sqrt (SEP's behaviour).
 * Masked pixels are left out of the background, are 0 in the detection image and missing in the photometry.
 */
import type { SextractorConfig } from './config.js';
import {
  backgroundAt, backgroundMap, manualBackground, sextractorBackground, type SextractorBackground,
} from './background.js';
import { convolveImage, detectObjects, SEX_PI, SEXTRACTOR_FLAGS, type DetectionPlanes, type IsophotalObject } from './detection.js';
import {
  apertureFlux, autoFlux, fluxRadius, windowedPosition,
  type AutoMeasurement, type FluxMeasurement, type GrowthMeasurement, type PhotometryPlanes, type WindowedPosition,
} from './photometry.js';
import { libm } from '../../math/libm.js';

const f = Math.fround;

export interface SextractorImage {
  readonly width: number;
  readonly height: number;
  /** The image as read (not background-subtracted). */
  readonly image: Float32Array;
  /** Non-zero: a missing pixel. */
  readonly mask?: Uint8Array;
  /** Per-pixel variance (from an inverse-variance weight map); absent: SExtractor's global rms. */
  readonly variance?: Float32Array;
}

/** One catalogue row: the isophotal object and its photometry. */
export interface SextractorSource {
  readonly object: IsophotalObject;
  /** The background at the object (BACKGROUND), and its analysis threshold (THRESHOLD). */
  readonly background: number;
  readonly threshold: number;
  readonly isoArea: number;
  readonly isoFlux: number;
  readonly isoFluxErr: number;
  readonly apertures: readonly FluxMeasurement[];
  readonly auto: AutoMeasurement;
  readonly growth: GrowthMeasurement;
  readonly windowed: WindowedPosition;
  readonly flags: number;
}

export type SextractorColumn = Float64Array | Int32Array;

export interface SextractorExtraction {
  readonly background: SextractorBackground;
  /** Full-resolution background and rms maps (SExtractor's BACKGROUND and BACKGROUND_RMS check-images). */
  readonly backgroundMap: Float32Array;
  readonly rmsMap: Float32Array;
  /** Image - background (masked pixels 0), and the filtered detection image. */
  readonly subtracted: Float32Array;
  readonly filtered: Float32Array;
  /** The detection threshold (image units; NaN with a variance map, where it varies per pixel). */
  readonly threshold: number;
  readonly sources: readonly SextractorSource[];
  /** The catalogue columns the parameter list asks for, in its order (see the module comment). */
  readonly columns: Readonly<Record<string, SextractorColumn>>;
}

export class SextractorError extends Error {
  override readonly name = 'SextractorError';
}

const APER_PARAMS = ['FLUX_APER', 'FLUXERR_APER', 'MAG_APER', 'MAGERR_APER'];
const AUTO_PARAMS = ['FLUX_AUTO', 'FLUXERR_AUTO', 'MAG_AUTO', 'MAGERR_AUTO', 'KRON_RADIUS', 'FLUX_RADIUS', 'XWIN_IMAGE', 'YWIN_IMAGE'];
const GROWTH_PARAMS = ['FLUX_RADIUS', 'XWIN_IMAGE', 'YWIN_IMAGE'];
const WIN_PARAMS = ['XWIN_IMAGE', 'YWIN_IMAGE'];

/** The column names of a parameter list: NAME, or NAME_1 .. NAME_n for a vector. */
export function sextractorColumnNames(parameters: SextractorConfig['parameters']): string[] {
  return parameters.flatMap((p) => (p.vector ? Array.from({ length: p.count }, (_, k) => `${p.name}_${k + 1}`) : [p.name]));
}

function magnitude(flux: number, zeropoint: number): number {
  return flux > 0 ? -2.5 * libm.log10(flux) + zeropoint : 99;
}

function magnitudeError(flux: number, err: number): number {
  return flux > 0 ? 1.086 * err / flux : 99;
}

/** Runs SExtractor's background, detection and measurement on one image (see the module comment). */
export function runSextractor(input: SextractorImage, config: SextractorConfig): SextractorExtraction {
  const { width, height } = input;
  const n = width * height;
  if (input.image.length !== n) throw new SextractorError(`image holds ${input.image.length} pixels, expected ${width}x${height}`);
  if (input.mask && input.mask.length !== n) throw new SextractorError('mask size does not match the image');
  if (input.variance && input.variance.length !== n) throw new SextractorError('variance size does not match the image');

  // 1. Background.
  const measured = sextractorBackground(input.image, width, height, {
    meshWidth: config.backSize[0], meshHeight: config.backSize[1],
    filterWidth: config.backFilterSize[0], filterHeight: config.backFilterSize[1],
    filterThreshold: config.backFilterThresh, ...(input.mask ? { mask: input.mask } : {}),
  });
  const background = config.backType === 'MANUAL' ? manualBackground(measured, config.backValue) : measured;
  const backMap = backgroundMap(background, 'back');
  const rmsMap = backgroundMap(background, 'rms');
  const missing = new Uint8Array(n);
  const subtracted = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = input.image[i]!;
    if ((input.mask && input.mask[i]) || !Number.isFinite(v)) { missing[i] = 1; continue; }
    subtracted[i] = f(v - backMap[i]!);
  }
  const globalRms = background.globalRms;

  // 2. Detection.
  const filtered = config.filter
    ? convolveImage(subtracted, width, height, config.filter.kernel, config.filter.width, config.filter.height)
    : subtracted;
  let threshold: Float32Array | number;
  let analysisThreshold: Float32Array | number;
  let variance: Float32Array | number;
  if (input.variance) {
    const v = input.variance;
    variance = v;
    const perPixel = (factor: number): Float32Array => {
      const t = new Float32Array(n);
      for (let i = 0; i < n; i++) t[i] = v[i]! > 0 && Number.isFinite(v[i]!) ? f(factor * Math.sqrt(v[i]!)) : Infinity;
      return t;
    };
    threshold = config.threshType === 'RELATIVE' ? perPixel(config.detectThresh) : f(config.detectThresh);
    analysisThreshold = config.threshType === 'RELATIVE' ? perPixel(config.analysisThresh) : f(config.analysisThresh);
  } else {
    variance = f(globalRms * globalRms);
    threshold = f(config.threshType === 'RELATIVE' ? config.detectThresh * globalRms : config.detectThresh);
    analysisThreshold = f(config.threshType === 'RELATIVE' ? config.analysisThresh * globalRms : config.analysisThresh);
  }
  const planes: DetectionPlanes = { width, height, image: subtracted, filtered, threshold, variance };
  const objects = detectObjects(planes, {
    minArea: config.detectMinArea, maxArea: config.detectMaxArea,
    deblendNThresh: config.deblendNThresh, deblendMinCont: config.deblendMinCont,
    clean: config.clean, cleanParam: config.cleanParam, gain: config.gain,
  });

  // 3. Measurement.
  const wanted = new Set(config.parameters.map((p) => p.name));
  const asks = (names: string[]): boolean => names.some((name) => wanted.has(name));
  const runAper = asks(APER_PARAMS), runAuto = asks(AUTO_PARAMS), runGrowth = asks(GROWTH_PARAMS), runWin = asks(WIN_PARAMS);
  const photometry: PhotometryPlanes = { width, height, image: subtracted, mask: missing, variance, gain: config.gain };
  const sources: SextractorSource[] = objects.map((o) => {
    let flags = o.flag;
    const apertures = config.photApertures.map((d) => apertureFlux(photometry, o, d));
    if (runAper) for (const a of apertures) flags |= a.flags;
    const auto = autoFlux(photometry, o, config.photAutoParams, config.photAutoApers);
    if (runAuto) flags |= auto.flags;
    const growth = fluxRadius(photometry, o, auto.flux, config.photFluxFrac, config.photAutoApers[0]);
    if (runGrowth) flags |= growth.flags;
    const windowed = windowedPosition(photometry, o, growth.halfLightRadius);
    if (runWin) flags |= windowed.flags;
    const bkg = backgroundAt(background, Math.trunc(o.mx + 0.5), Math.trunc(o.my + 0.5));
    if (o.dpeak + bkg >= config.saturLevel) flags |= SEXTRACTOR_FLAGS.SATURATED;
    let isoArea = 0, isoFlux = 0, isoVar = 0, thresh = Infinity;
    for (const p of o.pixels) {
      const t = typeof analysisThreshold === 'number' ? analysisThreshold : analysisThreshold[p]!;
      if (t < thresh) thresh = t;
      if (subtracted[p]! > t) isoArea++;
      isoFlux += subtracted[p]!;
      isoVar += typeof variance === 'number' ? variance : variance[p]!;
    }
    if (config.gain > 0 && isoFlux > 0) isoVar += isoFlux / config.gain;
    return { object: o, background: bkg, threshold: thresh, isoArea, isoFlux, isoFluxErr: Math.sqrt(isoVar), apertures, auto, growth, windowed, flags };
  });

  // 4. Columns.
  const columns: Record<string, SextractorColumn> = {};
  const rows = sources.length;
  const real = (name: string, value: (s: SextractorSource, k: number) => number): void => {
    columns[name] = Float64Array.from(sources, (s, k) => value(s, k));
  };
  const int = (name: string, value: (s: SextractorSource, k: number) => number): void => {
    columns[name] = Int32Array.from(sources, (s, k) => value(s, k));
  };
  const zp = config.magZeropoint;
  for (const p of config.parameters) {
    const each = (fn: (j: number) => void): void => { for (let j = 0; j < p.count; j++) fn(j); };
    switch (p.name) {
      case 'NUMBER': int('NUMBER', (_, k) => k + 1); break;
      case 'X_IMAGE': real('X_IMAGE', (s) => s.object.mx + 1); break;
      case 'Y_IMAGE': real('Y_IMAGE', (s) => s.object.my + 1); break;
      case 'XWIN_IMAGE': real('XWIN_IMAGE', (s) => s.windowed.x + 1); break;
      case 'YWIN_IMAGE': real('YWIN_IMAGE', (s) => s.windowed.y + 1); break;
      case 'XPEAK_IMAGE': int('XPEAK_IMAGE', (s) => s.object.xcpeak + 1); break;
      case 'YPEAK_IMAGE': int('YPEAK_IMAGE', (s) => s.object.ycpeak + 1); break;
      case 'XMIN_IMAGE': int('XMIN_IMAGE', (s) => s.object.xmin + 1); break;
      case 'XMAX_IMAGE': int('XMAX_IMAGE', (s) => s.object.xmax + 1); break;
      case 'YMIN_IMAGE': int('YMIN_IMAGE', (s) => s.object.ymin + 1); break;
      case 'YMAX_IMAGE': int('YMAX_IMAGE', (s) => s.object.ymax + 1); break;
      case 'X2_IMAGE': real('X2_IMAGE', (s) => s.object.mx2); break;
      case 'Y2_IMAGE': real('Y2_IMAGE', (s) => s.object.my2); break;
      case 'XY_IMAGE': real('XY_IMAGE', (s) => s.object.mxy); break;
      case 'ERRX2_IMAGE': real('ERRX2_IMAGE', (s) => s.object.errx2); break;
      case 'ERRY2_IMAGE': real('ERRY2_IMAGE', (s) => s.object.erry2); break;
      case 'ERRXY_IMAGE': real('ERRXY_IMAGE', (s) => s.object.errxy); break;
      case 'A_IMAGE': real('A_IMAGE', (s) => s.object.a); break;
      case 'B_IMAGE': real('B_IMAGE', (s) => s.object.b); break;
      case 'THETA_IMAGE': real('THETA_IMAGE', (s) => s.object.theta * 180 / SEX_PI); break;
      case 'CXX_IMAGE': real('CXX_IMAGE', (s) => s.object.cxx); break;
      case 'CYY_IMAGE': real('CYY_IMAGE', (s) => s.object.cyy); break;
      case 'CXY_IMAGE': real('CXY_IMAGE', (s) => s.object.cxy); break;
      case 'ELONGATION': real('ELONGATION', (s) => s.object.a / s.object.b); break;
      case 'ELLIPTICITY': real('ELLIPTICITY', (s) => 1 - s.object.b / s.object.a); break;
      case 'ISOAREA_IMAGE': int('ISOAREA_IMAGE', (s) => s.isoArea); break;
      case 'ISOAREAF_IMAGE': int('ISOAREAF_IMAGE', (s) => s.object.fdnpix); break;
      case 'FLUX_ISO': real('FLUX_ISO', (s) => s.isoFlux); break;
      case 'FLUXERR_ISO': real('FLUXERR_ISO', (s) => s.isoFluxErr); break;
      case 'MAG_ISO': real('MAG_ISO', (s) => magnitude(s.isoFlux, zp)); break;
      case 'MAGERR_ISO': real('MAGERR_ISO', (s) => magnitudeError(s.isoFlux, s.isoFluxErr)); break;
      case 'FLUX_MAX': real('FLUX_MAX', (s) => s.object.dpeak); break;
      case 'BACKGROUND': real('BACKGROUND', (s) => s.background); break;
      case 'THRESHOLD': real('THRESHOLD', (s) => s.threshold); break;
      case 'FLUX_APER': each((j) => real(`FLUX_APER_${j + 1}`, (s) => s.apertures[j]!.flux)); break;
      case 'FLUXERR_APER': each((j) => real(`FLUXERR_APER_${j + 1}`, (s) => s.apertures[j]!.fluxErr)); break;
      case 'MAG_APER': each((j) => real(`MAG_APER_${j + 1}`, (s) => magnitude(s.apertures[j]!.flux, zp))); break;
      case 'MAGERR_APER': each((j) => real(`MAGERR_APER_${j + 1}`, (s) => magnitudeError(s.apertures[j]!.flux, s.apertures[j]!.fluxErr))); break;
      case 'KRON_RADIUS': real('KRON_RADIUS', (s) => s.auto.kronRadius); break;
      case 'FLUX_AUTO': real('FLUX_AUTO', (s) => s.auto.flux); break;
      case 'FLUXERR_AUTO': real('FLUXERR_AUTO', (s) => s.auto.fluxErr); break;
      case 'MAG_AUTO': real('MAG_AUTO', (s) => magnitude(s.auto.flux, zp)); break;
      case 'MAGERR_AUTO': real('MAGERR_AUTO', (s) => magnitudeError(s.auto.flux, s.auto.fluxErr)); break;
      case 'FLUX_RADIUS': each((j) => real(`FLUX_RADIUS_${j + 1}`, (s) => s.growth.radii[j]!)); break;
      case 'FLAGS': int('FLAGS', (s) => s.flags); break;
      default: throw new SextractorError(`${config.parametersFile}:${p.line}: parameter ${p.name} has no implementation`);
    }
  }
  for (const [name, c] of Object.entries(columns)) if (c.length !== rows) throw new SextractorError(`column ${name} has ${c.length} rows, expected ${rows}`);
  return {
    background, backgroundMap: backMap, rmsMap, subtracted, filtered,
    threshold: typeof threshold === 'number' ? threshold : NaN, sources, columns,
  };
}
