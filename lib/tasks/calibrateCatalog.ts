/**
 * Astrometric and photometric calibration of a measured source catalogue against reference stars: the
 * last two steps of calibrate (LSST CalibrateTask's astrometry and photoCal), shared with
 * `tessera extract --refcat`.
 *  - astrometry (lib/astrometry/astrometry.ts): the reference stars within the image grown by
 *    maxOffsetPix, matched from the header WCS by the pattern matcher, a TAN-SIP fit of wcsOrder (3);
 *    the sources used leave out those flagged edge, saturated, interpolated or CR at the centre and those
 *    with a flagged centroid. On failure the header WCS is kept and ASTROMOK says F (LSST carries on too);
 *  - coord_ra, coord_dec (deg) of every source through the fitted (or kept) WCS;
 *  - photometric calibration (lib/photometry/photoCal.ts) of the PSF fluxes of the matched stars against
 *    the references' flux in `band` (nJy), with the reference catalogue's colour term when
 *    applyColorTerms is set and the references carry the secondary band; magnitude limit
 *    photoCalMagLimit (22); every flux algorithm then gets `*_flux`, `*_fluxErr` in nJy. On failure
 *    PHOTOCOK says F and no nJy column is written, unless an external zero point was given (e.g. from
 *    `ingest-images --zero-points`; LSST's external PhotoCalib): then it calibrates, PHOTOCOK stays F
 *    and PHOTSRC names it ('fit' when fitted).
 * The metadata cards (ASTROMOK, ASTRORMS, ASTRONM, PHOTOCOK, PHOTSRC, PHOTCALB, PHOTCALE, ZEROPT, ZEROPTE) go into
 * the header given; the catalogue gains its columns in place; the matches come back as a catalogue
 * (srcMatch: src_id, ref_id, both positions, separation).
 */
import type { FitsHeader } from '../fits/header.js';
import { parseWcs, type Wcs } from '../wcs/index.js';
import { ASTROMETRY_DEFAULTS, referenceSearchCircle, solveAstrometry } from '../astrometry/astrometry.js';
import { AB_NJY } from '../photometry/magnitudes.js';
import { libm } from '../math/libm.js';
import { photoCal, calibrateFluxes, type PhotoCalibration, type PhotoCalStar } from '../photometry/photoCal.js';
import type { SourceCatalog } from '../measure/sourceCatalog.js';
import { angularDistanceDeg, referenceColorTerm, type ReferenceStar } from '../sim/referenceCatalog.js';
import type { Band } from '../sim/types.js';

export interface CatalogCalibrationConfig {
  doAstrometry: boolean;
  wcsOrder: number;
  maxOffsetPix: number;
  doPhotoCal: boolean;
  photoCalMagLimit: number;
  applyColorTerms: boolean;
}

export interface CatalogCalibrationInputs {
  /** The measured catalogue (LSST columns); coord_ra, coord_dec and the nJy fluxes are added to it. */
  catalog: SourceCatalog;
  width: number;
  height: number;
  /** The image's header WCS: the matcher's starting point, kept when the fit fails. */
  wcsHeader: FitsHeader;
  /** Which of the references' bands calibrates the fluxes (none: no photometric calibration). */
  band: Band | undefined;
  references: readonly ReferenceStar[];
  /** Where the header WCS came from, for error messages. */
  source: string;
  /**
   * A calibration from elsewhere (AB magnitude of one count, and where it came from), used only when the
   * photometric calibration cannot be fitted: PHOTOCOK stays F and PHOTSRC names it.
   */
  externalZeroPoint?: { zeroPoint: number; source: string };
}

export interface CatalogCalibration {
  /** The fitted WCS cards over the header's (or the header's, unchanged, when the fit failed). */
  wcsHeader: FitsHeader;
  matches: SourceCatalog;
  /** One line each on the astrometric and photometric calibration, with their numbers and times (ms) for logs. */
  reports: { message: string; fields: Record<string, number>; step: 'astrometry' | 'photoCal'; ms: number }[];
}

/** The flux algorithms calibrated to nJy. */
export const CALIBRATED_FLUX_ALGORITHMS = ['base_PsfFlux', 'base_GaussianFlux', 'ext_photometryKron_KronFlux', 'base_CircularApertureFlux_12_0'] as const;

const ASTROMETRY_BAD = ['base_PixelFlags_flag_edge', 'base_PixelFlags_flag_saturatedCenter', 'base_PixelFlags_flag_interpolatedCenter', 'base_PixelFlags_flag_crCenter', 'base_SdssCentroid_flag'];
const PHOTOMETRY_BAD = [...ASTROMETRY_BAD, 'base_PsfFlux_flag', 'base_PixelFlags_flag_saturated'];

/** The band (g, r or i) of an exposure's metadata FILTER, as the simulator's HSC-like camera names them ('HSC-R', 'r'). */
export function exposureBand(metadata: FitsHeader): Band | undefined {
  const filter = (metadata.getString('FILTER') ?? '').trim().toUpperCase();
  const m = /(?:^|[-_ ])([GRI])$/.exec(filter) ?? /^([GRI])$/.exec(filter);
  return m ? (m[1]!.toLowerCase() as Band) : undefined;
}

function flagged(catalog: SourceCatalog, k: number, names: readonly string[]): boolean {
  return names.some((n) => (catalog.columns[n] as boolean[] | undefined)?.[k] === true);
}

/** Calibrates `inputs.catalog` in place and writes the calibration cards into `metadata` (module comment). */
export function calibrateCatalog(inputs: CatalogCalibrationInputs, config: Readonly<CatalogCalibrationConfig>, metadata: FitsHeader): CatalogCalibration {
  const { catalog, width, height, band } = inputs;
  const reports: CatalogCalibration['reports'] = [];
  let start = performance.now();
  const headerWcs = parseWcs(inputs.wcsHeader, { source: inputs.source, hdu: 1 });
  const x = catalog.columns.base_SdssCentroid_x as Float64Array, y = catalog.columns.base_SdssCentroid_y as Float64Array;
  let wcs: Wcs | undefined = headerWcs;
  let wcsHeader = inputs.wcsHeader.clone();
  const matchRows: { src: number; ref: ReferenceStar; separation: number }[] = [];
  let references: ReferenceStar[] = [];
  if (headerWcs) {
    const circle = referenceSearchCircle(headerWcs, width, height, config.maxOffsetPix);
    references = inputs.references.filter((s) => angularDistanceDeg(circle.ra, circle.dec, s.ra, s.dec) <= circle.radiusDeg);
  }
  if (config.doAstrometry && headerWcs) {
    const psfFlux = catalog.columns.base_PsfFlux_instFlux as Float64Array, psfErr = catalog.columns.base_PsfFlux_instFluxErr as Float64Array;
    const result = solveAstrometry({
      sources: { x, y, instFlux: psfFlux, instFluxErr: psfErr, flagged: Array.from({ length: catalog.length }, (_, k) => flagged(catalog, k, ASTROMETRY_BAD)) },
      // The matcher ranks references by brightness: the calibration band's flux, or r's.
      references: { ra: references.map((r) => r.ra), dec: references.map((r) => r.dec), flux: references.map((r) => (band ? r.flux[band] : r.flux.r)) },
      initialWcs: headerWcs, width, height,
    }, { maxOffsetPix: config.maxOffsetPix, fit: { ...ASTROMETRY_DEFAULTS.fit, order: config.wcsOrder } });
    metadata.set('ASTROMOK', result.ok, 'astrometric fit succeeded (else the header WCS is kept)');
    metadata.set('ASTRORMS', Number.isFinite(result.rmsMas) ? result.rmsMas : 0, '[mas] rms of the astrometric matches', { real: true });
    metadata.set('ASTRONM', result.nUsedInFit, 'matches used in the WCS fit');
    reports.push({ message: `astrometry ${result.status}: ${result.message}`, fields: { matches: result.nMatches, rmsMas: result.rmsMas }, step: 'astrometry', ms: performance.now() - start });
    if (result.ok && result.header) {
      wcs = result.wcs;
      wcsHeader = inputs.wcsHeader.clone();
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

  // Photometric calibration of the (aperture-corrected, when they were) PSF fluxes.
  start = performance.now();
  let cal: PhotoCalibration | undefined;
  if (config.doPhotoCal && band && matchRows.length) {
    const psfFlux = catalog.columns.base_PsfFlux_instFlux as Float64Array, psfErr = catalog.columns.base_PsfFlux_instFluxErr as Float64Array;
    const term = referenceColorTerm(band);
    const stars: PhotoCalStar[] = matchRows.map((m) => ({
      instFlux: psfFlux[m.src]!, instFluxErr: psfErr[m.src]!, refFlux: m.ref.flux[band], refFluxErr: m.ref.fluxErr[band], flagged: flagged(catalog, m.src, PHOTOMETRY_BAD),
      refFluxSecondary: m.ref.flux[term.secondary], refFluxErrSecondary: m.ref.fluxErr[term.secondary],
    }));
    const result = photoCal(stars, { magLimit: config.photoCalMagLimit, applyColorTerms: config.applyColorTerms, colorTerm: { c0: 0, c1: term.c1, c2: 0 } });
    metadata.set('PHOTOCOK', result.ok, 'photometric calibration succeeded');
    reports.push({ message: `photometric calibration ${result.status}: ${result.message}`, fields: { stars: result.nUsed }, step: 'photoCal', ms: performance.now() - start });
    if (result.ok && result.calibration) cal = result.calibration;
  } else metadata.set('PHOTOCOK', false, 'photometric calibration succeeded');
  if (cal) metadata.set('PHOTSRC', 'fit', 'photometric calibration: fitted to the reference stars');
  else if (inputs.externalZeroPoint) {
    // An external calibration (LSST's external PhotoCalib): used, and said so, only where none could be fitted.
    const zp = inputs.externalZeroPoint.zeroPoint;
    cal = { calibrationMean: libm.pow(10, -0.4 * (zp - AB_NJY)), calibrationErr: 0, zeroPoint: zp, zeroPointErr: 0 };
    metadata.set('PHOTSRC', inputs.externalZeroPoint.source, 'photometric calibration: external (no fit possible)');
    reports.push({ message: `photometric calibration from ${inputs.externalZeroPoint.source}: zero point ${zp.toFixed(4)} mag per count`, fields: { zeroPoint: zp }, step: 'photoCal', ms: performance.now() - start });
  }
  if (cal) {
    metadata.set('PHOTCALB', cal.calibrationMean, '[nJy/ct] mean photometric calibration', { real: true });
    metadata.set('PHOTCALE', cal.calibrationErr, '[nJy/ct] its error', { real: true });
    metadata.set('ZEROPT', cal.zeroPoint, '[mag] AB magnitude of one count', { real: true });
    metadata.set('ZEROPTE', cal.zeroPointErr, '[mag] its error', { real: true });
    for (const a of CALIBRATED_FLUX_ALGORITHMS) {
      const f = catalog.columns[`${a}_instFlux`] as Float64Array | undefined, e = catalog.columns[`${a}_instFluxErr`] as Float64Array | undefined;
      if (!f || !e) continue;
      const c = calibrateFluxes(cal, f, e);
      catalog.columns[`${a}_flux`] = c.flux;
      catalog.columns[`${a}_fluxErr`] = c.fluxErr;
    }
  }

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
  return { wcsHeader, matches, reports };
}
