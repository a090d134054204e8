/**
 * calibrate: the calibrated exposure and the deep source catalogue of one detector (LSST pipe_tasks
 * CalibrateTask), from characterizeImage's outputs and the reference catalogue:
 *  1. detection at thresholdValue (5 sigma) with the PSF model's sigma on icExp as it is (its background
 *     already subtracted), a residual background estimated with the detections masked and subtracted
 *     (added to the background list; the footprints stay, as in LSST's reEstimateBackground), measurement
 *     of every source with the PSF model (lib/measure/extractSources.ts, lib/measure/measurement.ts);
 *  2. the PSF-star flags of icSrc carried over (calib_psf_candidate / _used / _reserved, matched within
 *     matchRadius pixels);
 *  3. aperture corrections (lib/measure/apertureCorrection.ts) fitted on the PSF stars used in the PSF
 *     fit (LSST measures them in characterizeImage on calib_psf_used) and applied to the PSF, Gaussian and
 *     Kron fluxes;
 *  4. astrometry (lib/astrometry: pattern matching from the header WCS, TAN-SIP fit of wcsOrder 3 with
 *     clipping) against the reference stars around the detector; when it fails the header WCS is kept
 *     and the calexp's metadata says so (ASTROMOK F), as LSST carries on;
 *  5. photometric calibration (lib/photometry/photoCal.ts: clipped zero point of the aperture-corrected
 *     PSF fluxes of matched, unflagged stars against the reference fluxes in the exposure's band, with the
 *     reference catalogue's colour terms (applyColorTerms; without them the simulated catalogue's g zero
 *     point is off by ~15 mmag));
 *     calibrated fluxes in nJy (`*_flux`, `*_fluxErr`) beside the instrumental ones; on failure the
 *     metadata says so (PHOTOCOK F) and no nJy columns are written.
 * Outputs: calexp (the exposure with the fitted WCS in its image header, the PSF model, the calibration
 * in its metadata: PHOTCALB nJy per count and its error, ZEROPT), calexpBackground (the list of
 * background models subtracted), src (coord_ra, coord_dec, fluxes, flags) and srcMatch (the
 * source-reference matches of the astrometric fit).
 */
import { FitsHeader } from '../fits/header.js';
import type { Task, TaskContext } from '../pipeline/task.js';
import { stepTimer } from '../pipeline/logger.js';
import { algorithmErrorFrom } from './measurementErrors.js';
import { parseWcs } from '../wcs/index.js';
import { ASTROMETRY_DEFAULTS, referenceSearchCircle, solveAstrometry } from '../astrometry/astrometry.js';
import { photoCal, calibrateFluxes, type PhotoCalStar } from '../photometry/photoCal.js';
import { applyApertureCorrections, fitApertureCorrection, DEFAULT_APERTURE_CORRECTION_CONFIG } from '../measure/apertureCorrection.js';
import { zeroBackground, type BackgroundModel } from '../measure/background.js';
import { extractSources } from '../measure/extractSources.js';
import type { SourceCatalog } from '../measure/sourceCatalog.js';
import { angularDistanceDeg, referenceColorTerm, type ReferenceShard, type ReferenceStar } from '../sim/referenceCatalog.js';
import type { Band } from '../sim/types.js';
import type { ExposureWithPsf } from './characterizeImage.js';

export interface CalibrateConfig {
  thresholdValue: number;
  backgroundBinSize: number;
  matchRadius: number;
  doApCorr: boolean;
  doAstrometry: boolean;
  wcsOrder: number;
  maxOffsetPix: number;
  doPhotoCal: boolean;
  photoCalMagLimit: number;
  applyColorTerms: boolean;
}

export interface CalibrateInputs {
  exposure: ExposureWithPsf;
  background: BackgroundModel[];
  icSourceCat: SourceCatalog;
  refCat: readonly ReferenceShard[];
}

export interface CalibrateOutputs {
  outputExposure: ExposureWithPsf;
  outputBackground: BackgroundModel[];
  outputCat: SourceCatalog;
  matches: SourceCatalog;
}

const FLUX_ALGORITHMS = ['base_PsfFlux', 'base_GaussianFlux', 'ext_photometryKron_KronFlux', 'base_CircularApertureFlux_12_0'] as const;

/** Index of the nearest row of `b` within `radius` px of each row of `a` (-1 if none). */
function nearestRows(a: SourceCatalog, b: SourceCatalog, radius: number): Int32Array {
  const ax = a.columns.base_SdssCentroid_x as Float64Array, ay = a.columns.base_SdssCentroid_y as Float64Array;
  const bx = b.columns.base_SdssCentroid_x as Float64Array, by = b.columns.base_SdssCentroid_y as Float64Array;
  const cell = Math.max(radius, 1);
  const grid = new Map<string, number[]>();
  for (let j = 0; j < b.length; j++) {
    const key = `${Math.floor(bx[j]! / cell)},${Math.floor(by[j]! / cell)}`;
    (grid.get(key) ?? grid.set(key, []).get(key)!).push(j);
  }
  const out = new Int32Array(a.length).fill(-1);
  for (let i = 0; i < a.length; i++) {
    const cx = Math.floor(ax[i]! / cell), cy = Math.floor(ay[i]! / cell);
    let best = radius, bestJ = -1;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      for (const j of grid.get(`${cx + dx},${cy + dy}`) ?? []) {
        const d = Math.hypot(ax[i]! - bx[j]!, ay[i]! - by[j]!);
        if (d <= best) { best = d; bestJ = j; }
      }
    }
    out[i] = bestJ;
  }
  return out;
}

function flagged(catalog: SourceCatalog, k: number, names: readonly string[]): boolean {
  return names.some((n) => (catalog.columns[n] as boolean[] | undefined)?.[k] === true);
}

const ASTROMETRY_BAD = ['base_PixelFlags_flag_edge', 'base_PixelFlags_flag_saturatedCenter', 'base_PixelFlags_flag_interpolatedCenter', 'base_PixelFlags_flag_crCenter', 'base_SdssCentroid_flag'];
const PHOTOMETRY_BAD = [...ASTROMETRY_BAD, 'base_PsfFlux_flag', 'base_PixelFlags_flag_saturated'];

export const calibrate: Task<CalibrateConfig, CalibrateInputs, CalibrateOutputs> = {
  name: 'calibrate',
  summary: 'Detect and measure every source, fit aperture corrections, the WCS and the zero point: calexp and src.',
  dimensions: ['instrument', 'visit', 'detector'],
  connections: {
    inputs: {
      exposure: { datasetType: 'icExp', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'Exposure', doc: 'characterizeImage\'s exposure with its PSF model.' },
      background: { datasetType: 'icExpBackground', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'Background', doc: 'The background already subtracted.' },
      icSourceCat: { datasetType: 'icSrc', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'SourceCatalog', doc: 'Bright sources with the PSF star flags.' },
      refCat: {
        datasetType: 'refCat', dimensions: ['htm'], storageClass: 'ReferenceShard', prerequisite: true, multiple: true, minimum: 1,
        doc: 'Reference catalogue shards (the task keeps the stars around its detector).',
      },
    },
    outputs: {
      outputExposure: { datasetType: 'calexp', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'Exposure', doc: 'The calibrated exposure: fitted WCS, PSF, photometric calibration.' },
      outputBackground: { datasetType: 'calexpBackground', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'Background', doc: 'Every background model subtracted from calexp.' },
      outputCat: { datasetType: 'src', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'SourceCatalog', doc: 'The source catalogue.' },
      matches: { datasetType: 'srcMatch', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'SourceCatalog', doc: 'Source-reference matches of the astrometric fit.' },
    },
  },
  config: {
    thresholdValue: { type: 'number', min: 0, exclusiveMin: true, default: 5, description: 'Detection threshold, sigma of the smoothed image (LSST 5).' },
    backgroundBinSize: { type: 'number', integer: true, min: 8, default: 128, description: 'Bin size of the residual background, pixels.' },
    matchRadius: { type: 'number', min: 0, exclusiveMin: true, default: 2, description: 'Radius (px) for carrying icSrc flags over to src.' },
    doApCorr: { type: 'boolean', default: true, description: 'Fit and apply aperture corrections to the 12-px aperture.' },
    doAstrometry: { type: 'boolean', default: true, description: 'Match to the reference catalogue and fit the WCS.' },
    wcsOrder: { type: 'number', integer: true, min: 1, max: 6, default: 3, description: 'TAN-SIP order of the WCS fit (HSC: 3).' },
    maxOffsetPix: { type: 'number', min: 10, default: 750, description: 'Largest offset of the header WCS the matcher searches, pixels.' },
    doPhotoCal: { type: 'boolean', default: true, description: 'Fit the zero point against the reference fluxes.' },
    photoCalMagLimit: { type: 'number', default: 22, description: 'Faintest reference magnitude used by the photometric calibration (LSST 22).' },
    applyColorTerms: {
      type: 'boolean', default: true,
      description: "Apply the reference catalogue's colour terms (lib/sim/referenceCatalog.ts referenceColorTerm), as HSC's photoCal.applyColorTerms.",
    },
  },
  run(inputs, config, context) {
    return algorithmErrorFrom(calibrate.name, () => calibrateExposure(inputs, config, context));
  },
};

function calibrateExposure(inputs: CalibrateInputs, config: Readonly<CalibrateConfig>, context: TaskContext): CalibrateOutputs {
  const { tessera, log } = context;
  const lap = stepTimer();
  const exposure = inputs.exposure;
  const psf = exposure.psf;
  const { width, height } = exposure;

  // 1. Deep detection and measurement (a residual background joins the list).
  // icExp is background-subtracted: detect on it as it is, then re-estimate the residual (as LSST's calibrate).
  const background = { binSize: config.backgroundBinSize };
  const extraction = extractSources(tessera, exposure, psf, { background, detection: { thresholdValue: config.thresholdValue }, initialBackground: zeroBackground(width, height, background) });
  const catalog = extraction.catalog;
  log.info(`calibrate: ${catalog.length} sources at ${config.thresholdValue} sigma`, { sources: catalog.length, step: 'detectMeasure', ms: lap() });

  // 2. PSF-star flags from icSrc.
  const nearest = nearestRows(catalog, inputs.icSourceCat, config.matchRadius);
  for (const name of ['calib_psf_candidate', 'calib_psf_used', 'calib_psf_reserved']) {
    const from = inputs.icSourceCat.columns[name] as boolean[] | undefined;
    catalog.columns[name] = Array.from(nearest, (j) => j >= 0 && from?.[j] === true);
  }

  // 3. Aperture corrections on the PSF stars used in the fit.
  const metadata = exposure.metadata.clone();
  if (config.doApCorr) {
    const used = (catalog.columns.calib_psf_used as boolean[]).flatMap((u, k) => (u ? [k] : []));
    const fields = Object.fromEntries(DEFAULT_APERTURE_CORRECTION_CONFIG.algorithms.map((a) => [a, fitApertureCorrection(catalog, a, used, width, height)]));
    applyApertureCorrections(catalog, fields);
    for (const [a, f] of Object.entries(fields)) log.info(`calibrate: aperture correction ${a}: ${f ? `${f.nStars} stars, rms ${f.rms.toExponential(2)}` : 'not fitted'}`);
    metadata.set('APCORR', Object.values(fields).every(Boolean), 'aperture corrections fitted and applied');
    log.info('calibrate: aperture corrections applied', { step: 'apCorr', ms: lap() });
  }

  // 4. Astrometry against the reference stars around the detector.
  const headerWcs = parseWcs(exposure.wcsHeader, { source: 'icExp', hdu: 1 });
  const x = catalog.columns.base_SdssCentroid_x as Float64Array, y = catalog.columns.base_SdssCentroid_y as Float64Array;
  let wcs = headerWcs;
  let wcsHeader = exposure.wcsHeader.clone();
  const matchRows: { src: number; ref: ReferenceStar; separation: number }[] = [];
  let references: ReferenceStar[] = [];
  if (headerWcs) {
    const circle = referenceSearchCircle(headerWcs, width, height, config.maxOffsetPix);
    references = inputs.refCat.flatMap((shard) => shard.stars.filter((s) => angularDistanceDeg(circle.ra, circle.dec, s.ra, s.dec) <= circle.radiusDeg));
  }
  const band = bandOf(exposure);
  if (config.doAstrometry && headerWcs) {
    const psfFlux = catalog.columns.base_PsfFlux_instFlux as Float64Array, psfErr = catalog.columns.base_PsfFlux_instFluxErr as Float64Array;
    const result = solveAstrometry({
      sources: { x, y, instFlux: psfFlux, instFluxErr: psfErr, flagged: Array.from({ length: catalog.length }, (_, k) => flagged(catalog, k, ASTROMETRY_BAD)) },
      references: { ra: references.map((r) => r.ra), dec: references.map((r) => r.dec), flux: references.map((r) => (band ? r.flux[band] : r.flux.r)) },
      initialWcs: headerWcs, width, height,
    }, { maxOffsetPix: config.maxOffsetPix, fit: { ...ASTROMETRY_DEFAULTS.fit, order: config.wcsOrder } });
    metadata.set('ASTROMOK', result.ok, 'astrometric fit succeeded (else the header WCS is kept)');
    metadata.set('ASTRORMS', Number.isFinite(result.rmsMas) ? result.rmsMas : 0, '[mas] rms of the astrometric matches', { real: true });
    metadata.set('ASTRONM', result.nUsedInFit, 'matches used in the WCS fit');
    log.info(`calibrate: astrometry ${result.status}: ${result.message}`, { matches: result.nMatches, rmsMas: result.rmsMas, step: 'astrometry', ms: lap() });
    if (result.ok && result.header) {
      wcs = result.wcs;
      wcsHeader = exposure.wcsHeader.clone();
      for (const key of [...wcsHeader.keys()]) if (/^(CTYPE|CRVAL|CRPIX|CD\d_\d|PC\d_\d|CDELT|CROTA|CUNIT|[AB]P?_|PV\d_|RADESYS|EQUINOX|LONPOLE|LATPOLE)/.test(key) && !/A$/.test(key)) wcsHeader.delete(key);
      for (const card of result.header.cards) if (!card.commentary && card.value !== undefined) wcsHeader.set(card.key, card.value, card.comment, { real: card.real === true });
      for (const m of result.matches) matchRows.push({ src: m.source, ref: references[m.ref]!, separation: m.separationArcsec });
    }
  } else metadata.set('ASTROMOK', false, 'astrometric fit succeeded (else the header WCS is kept)');
  if (wcs) {
    const ra = new Float64Array(catalog.length), dec = new Float64Array(catalog.length);
    for (let k = 0; k < catalog.length; k++) [ra[k], dec[k]] = wcs.pixelToSky(x[k]!, y[k]!);
    catalog.columns.coord_ra = ra;
    catalog.columns.coord_dec = dec;
  }

  // 5. Photometric calibration of the aperture-corrected PSF fluxes.
  if (config.doPhotoCal && band && matchRows.length) {
    const psfFlux = catalog.columns.base_PsfFlux_instFlux as Float64Array, psfErr = catalog.columns.base_PsfFlux_instFluxErr as Float64Array;
    const term = referenceColorTerm(band);
    const stars: PhotoCalStar[] = matchRows.map((m) => ({
      instFlux: psfFlux[m.src]!, instFluxErr: psfErr[m.src]!, refFlux: m.ref.flux[band], refFluxErr: m.ref.fluxErr[band], flagged: flagged(catalog, m.src, PHOTOMETRY_BAD),
      refFluxSecondary: m.ref.flux[term.secondary], refFluxErrSecondary: m.ref.fluxErr[term.secondary],
    }));
    const result = photoCal(stars, {
      magLimit: config.photoCalMagLimit, applyColorTerms: config.applyColorTerms, colorTerm: { c0: 0, c1: term.c1, c2: 0 },
    });
    metadata.set('PHOTOCOK', result.ok, 'photometric calibration succeeded');
    log.info(`calibrate: photometric calibration ${result.status}: ${result.message}`, { stars: result.nUsed, step: 'photoCal', ms: lap() });
    if (result.ok && result.calibration) {
      const cal = result.calibration;
      metadata.set('PHOTCALB', cal.calibrationMean, '[nJy/ct] mean photometric calibration', { real: true });
      metadata.set('PHOTCALE', cal.calibrationErr, '[nJy/ct] its error', { real: true });
      metadata.set('ZEROPT', cal.zeroPoint, '[mag] AB magnitude of one count', { real: true });
      metadata.set('ZEROPTE', cal.zeroPointErr, '[mag] its error', { real: true });
      for (const a of FLUX_ALGORITHMS) {
        const f = catalog.columns[`${a}_instFlux`] as Float64Array | undefined, e = catalog.columns[`${a}_instFluxErr`] as Float64Array | undefined;
        if (!f || !e) continue;
        const c = calibrateFluxes(cal, f, e);
        catalog.columns[`${a}_flux`] = c.flux;
        catalog.columns[`${a}_fluxErr`] = c.fluxErr;
      }
    }
  } else metadata.set('PHOTOCOK', false, 'photometric calibration succeeded');

  const matches: SourceCatalog = {
    length: matchRows.length,
    columns: {
      src_id: Int32Array.from(matchRows, (m) => (catalog.columns.id as Int32Array)[m.src]!),
      ref_id: Float64Array.from(matchRows, (m) => m.ref.id),
      ref_coord_ra: Float64Array.from(matchRows, (m) => m.ref.ra),
      ref_coord_dec: Float64Array.from(matchRows, (m) => m.ref.dec),
      src_coord_ra: Float64Array.from(matchRows, (m) => (catalog.columns.coord_ra as Float64Array)[m.src]!),
      src_coord_dec: Float64Array.from(matchRows, (m) => (catalog.columns.coord_dec as Float64Array)[m.src]!),
      separation_arcsec: Float64Array.from(matchRows, (m) => m.separation),
    },
  };
  const header = new FitsHeader();
  header.set('FLUXNORM', config.doApCorr ? 'apCorr 12px' : 'instrumental', 'flux normalisation: aperture-corrected to the 12-px aperture');
  catalog.metadata = header;
  const outputExposure: ExposureWithPsf = { ...exposure, image: extraction.image, mask: extraction.mask, metadata, wcsHeader };
  return { outputExposure, outputBackground: [...inputs.background, extraction.background], outputCat: catalog, matches };
}

/** The exposure's band (g, r or i) from its metadata's physical filter, as the simulator's HSC-like camera names them. */
function bandOf(exposure: ExposureWithPsf): Band | undefined {
  const filter = (exposure.metadata.getString('FILTER') ?? '').trim().toUpperCase();
  const m = /(?:^|[-_ ])([GRI])$/.exec(filter) ?? /^([GRI])$/.exec(filter);
  return m ? (m[1]!.toLowerCase() as Band) : undefined;
}
