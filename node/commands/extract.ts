/**
 * `tessera extract IMAGE.fits --catalog OUT.fits [--weight W.fits] [--mask M.fits] [--hdu N]
 * [--saturation LEVEL] [--threshold SIGMA] [--psf-sigma PX] [--background-bin PX] [--psf] [--sextractor CONFIG.sex]
 * [--refcat CAT [--refcat-mag COL | --refcat-flux COL]]`: background,
 * detection and measurement of any calibrated image from any telescope, like SExtractor, with the
 * pipeline's algorithms (lib/measure/extractSources.ts). The image is read as node/fits/calibratedImage.ts
 * does (an afw Exposure with its own planes, or an image with an inverse-variance weight map and a mask);
 * the catalogue (lib/measure/sourceCatalog.ts: a FITS table astropy reads) has LSST's column names with
 * 0-based pixel coordinates, plus coord_ra and coord_dec (deg) when the image has a celestial WCS.
 * With --sextractor, background, detection and SExtractor's own measurements follow the SExtractor
 * configuration file (lib/measure/sextractor/: its background, filter, thresholds, deblending, CLEAN and
 * photometry settings, its .param list), the LSST columns are measured on SExtractor's detections, and the
 * SExtractor columns (X_IMAGE ... FLAGS, 1-based pixels as SExtractor writes them; NAME_1.. for vectors)
 * follow them in the same rows.
 * With --refcat, the catalogue is calibrated as the pipeline's calibrate task does it
 * (lib/tasks/calibrateCatalog.ts): astrometric matching from the header WCS and a TAN-SIP fit (coord_ra,
 * coord_dec through it), then the zero point from the matched stars' PSF fluxes (*_flux in nJy); the
 * references are this project's shards or any FITS table with ra/dec (lib/astrometry/referenceTable.ts).
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { loadTessera } from '../wasm.js';
import { readCalibratedImageAsync } from '../fits/calibratedImage.js';
import { DEFAULT_EXTRACT_CONFIG, estimateSeeing, extractSources, headerSeeingSigma } from '../../lib/measure/extractSources.js';
import { measureSources } from '../../lib/measure/measurement.js';
import { normalizeSpans, type Footprint } from '../../lib/measure/footprint.js';
import { loadSextractorConfig } from '../../lib/measure/sextractor/config.js';
import { determinePsf } from '../../lib/measure/psfDeterminer.js';
import { deblendAndMeasure } from '../../lib/measure/deblend.js';
import { writePsfexFile } from '../../lib/measure/psfexFile.js';
import { psfSources } from '../../lib/tasks/characterizeImage.js';
import { runSextractor } from '../../lib/measure/sextractor/extract.js';
import { maskValue } from '../../lib/pipeline/maskPlanes.js';
import type { Exposure } from '../../lib/fits/index.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { GaussianPsf } from '../../lib/measure/psf.js';
import { writeSourceCatalog, type SourceCatalog } from '../../lib/measure/sourceCatalog.js';
import { FitsHeader } from '../../lib/fits/index.js';
import { parseWcs } from '../../lib/wcs/index.js';
import { readReferenceTable, type ReferenceTable, type ReferenceTableOptions } from '../../lib/astrometry/referenceTable.js';
import { calibrateCatalog, exposureBand } from '../../lib/tasks/calibrateCatalog.js';

/** coord_ra, coord_dec (deg) of base_SdssCentroid when the image has a celestial WCS. */
function addSkyCoordinates(catalog: SourceCatalog, wcs: ReturnType<typeof parseWcs>): void {
  if (!wcs) return;
  const x = catalog.columns.base_SdssCentroid_x as Float64Array, y = catalog.columns.base_SdssCentroid_y as Float64Array;
  const ra = new Float64Array(catalog.length), dec = new Float64Array(catalog.length);
  // Catalogue pixels are 0-based array coordinates, as the WCS takes them (astropy origin 0).
  for (let k = 0; k < catalog.length; k++) [ra[k], dec[k]] = wcs.pixelToSky(x[k]!, y[k]!);
  catalog.columns.coord_ra = ra;
  catalog.columns.coord_dec = dec;
}

/** The reference stars of a FITS table, or of every .fits / .fits.gz file in a folder (sorted by name). */
function readReferences(path: string, options: ReferenceTableOptions): ReferenceTable {
  let files: string[];
  try {
    files = fs.statSync(path).isDirectory() ? fs.readdirSync(path).filter((f) => /\.fits?(\.gz)?$/i.test(f)).sort().map((f) => `${path}/${f}`) : [path];
  } catch (e) {
    throw new UsageError(`--refcat ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (e as Error).message}`);
  }
  if (files.length === 0) throw new UsageError(`--refcat ${path}: the folder holds no FITS table`);
  const tables = files.map((f) => readReferenceTable(f, new Uint8Array(fs.readFileSync(f)), options));
  return { stars: tables.flatMap((t) => t.stars), photometry: tables.every((t) => t.photometry === 'bands') ? 'bands' : tables[0]!.photometry };
}

/**
 * Astrometric and photometric calibration of the catalogue against the references (lib/tasks/calibrateCatalog.ts,
 * calibrate's defaults), the outcome in `metadata`; returns a note for the summary line.
 */
function calibrateAgainst(catalog: SourceCatalog, exposure: Exposure, source: string, references: ReferenceTable, metadata: FitsHeader): string {
  // The project's shards: the flux in the image's band, with colour terms; another table: its one column, in any band's place.
  const band = references.photometry === 'bands' ? exposureBand(exposure.metadata) ?? exposureBand(exposure.wcsHeader) : references.photometry === 'single' ? 'r' : undefined;
  const result = calibrateCatalog({ catalog, width: exposure.width, height: exposure.height, wcsHeader: exposure.wcsHeader, band, references: references.stars, source }, {
    doAstrometry: true, wcsOrder: 3, maxOffsetPix: 750, doPhotoCal: band !== undefined, photoCalMagLimit: 22,
    applyColorTerms: references.photometry === 'bands',
  }, metadata);
  const lines = result.reports.map((r) => r.message);
  if (references.photometry === 'bands' && band === undefined) lines.push('no photometric calibration: the image\'s FILTER names no g, r or i band');
  if (references.photometry === 'none') lines.push('no photometric calibration: give --refcat-mag or --refcat-flux');
  return lines.map((l) => `\n  ${l}`).join('');
}

function positive(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!(v > 0) || !Number.isFinite(v)) throw new UsageError(`${option}: expected a positive number, got '${text}'`);
  return v;
}

/** The PSF for the LSST measurements: given, measured on the bright stars, or the fallback (with a note on stderr). */
function choosePsf(tessera: Tessera, exposure: Exposure, source: string, psfSigma: number | undefined): GaussianPsf {
  if (psfSigma !== undefined) return new GaussianPsf(psfSigma);
  const headerSigma = headerSeeingSigma(exposure);
  const measured = estimateSeeing(tessera, exposure, { ...DEFAULT_EXTRACT_CONFIG });
  if (measured.sigma !== undefined) return new GaussianPsf(measured.sigma);
  const sigma = headerSigma ?? DEFAULT_EXTRACT_CONFIG.initialPsfSigma;
  console.error(`${source}: only ${measured.stars} bright unmasked stars to measure the seeing on; using PSF sigma ${sigma.toFixed(2)} px `
    + `(${headerSigma !== undefined ? 'from the header FWHM' : 'a guess'}); give --psf-sigma to set it`);
  return new GaussianPsf(sigma);
}

/**
 * SExtractor mode: SExtractor's background, detection and measurements per `configFile`, the LSST columns
 * measured on its detections, the SExtractor columns after them. Missing pixels: BAD and NO_DATA; the
 * per-pixel variance is used only when it comes from a weight map (else SExtractor's global rms).
 */
function extractWithSextractor(tessera: Tessera, exposure: Exposure, source: string, configFile: string, psfSigma: number | undefined):
  { catalog: SourceCatalog; metadata: FitsHeader; summary: string } {
  const config = loadSextractorConfig(configFile, (p) => fs.readFileSync(p, 'utf8'));
  for (const w of config.warnings) console.error(`warning: ${w}`);
  const { width, height } = exposure;
  const missingBits = maskValue('BAD', 'NO_DATA');
  const mask = new Uint8Array(width * height);
  for (let i = 0; i < mask.length; i++) if (exposure.mask[i]! & missingBits) mask[i] = 1;
  const fromWeight = exposure.metadata.getString('VARSRC') === 'weight';
  const run = runSextractor({ width, height, image: exposure.image, mask, ...(fromWeight ? { variance: exposure.variance } : {}) }, config);
  const detected = maskValue('DETECTED');
  const detectionMask = Int32Array.from(exposure.mask, (m) => m & ~detected);
  const footprints: Footprint[] = run.sources.map(({ object: o }) => {
    for (const p of o.pixels) detectionMask[p] = detectionMask[p]! | detected;
    const spans = normalizeSpans(Array.from(o.pixels, (p) => { const y = Math.floor(p / width), x = p - y * width; return { y, x0: x, x1: x }; }));
    const significance = o.fdpeak / run.background.globalRms;
    return { spans, peaks: [{ x: o.xcpeak, y: o.ycpeak, fx: o.mx, fy: o.my, value: o.fdpeak, significance }] };
  });
  const psf = choosePsf(tessera, exposure, source, psfSigma);
  const catalog = measureSources(tessera, { ...exposure, image: run.subtracted, mask: detectionMask }, footprints, psf);
  for (const [name, column] of Object.entries(run.columns)) catalog.columns[name] = column;
  const metadata = new FitsHeader();
  metadata.set('SOURCE', source.slice(-68), 'image measured');
  metadata.set('SEXCONF', configFile.slice(-68), 'SExtractor configuration followed');
  metadata.set('SEBACK', run.background.global, 'SExtractor global background (image units)', { real: true });
  metadata.set('SERMS', run.background.globalRms, 'SExtractor global background rms (image units)', { real: true });
  if (Number.isFinite(run.threshold)) metadata.set('SETHRESH', run.threshold, 'SExtractor detection threshold (image units)', { real: true });
  metadata.set('PSFSIGMA', psf.sigma, '[pixel] Gaussian PSF sigma of the LSST columns', { real: true });
  metadata.set('FLUXNORM', 'instrumental', 'fluxes are raw sums in image units (no aperture correction)');
  return { catalog, metadata, summary: `SExtractor mode, ${config.file}` };
}

export const extractCommand: Command = {
  name: 'extract',
  summary: 'detect and measure the sources of one calibrated image (like SExtractor), writing a FITS catalogue',
  usage: [
    'Usage: tessera extract IMAGE.fits --catalog OUT.fits [--weight W.fits] [--mask M.fits] [--hdu N]',
    '                       [--saturation LEVEL] [--threshold SIGMA] [--psf-sigma PX] [--background-bin PX]',
    '                       [--psf] [--sextractor CONFIG.sex] [--refcat CAT [--refcat-mag COL | --refcat-flux COL]]',
    '',
    'Background (128-px bins, clipped mean, Chebyshev fit), detection (PSF matched filter, 5 sigma), and',
    'measurement (PSF-weighted centroids, adaptive-moment shapes, PSF, Gaussian, Kron and circular-aperture',
    'fluxes at 3-70 px, pixel flags) of IMAGE. An afw Exposure (IMAGE/MASK/VARIANCE) is read with its planes; any',
    'other image takes its variance from --weight (inverse variance) or its robust sky noise, and its bad',
    'pixels from --mask (non-zero = bad). The PSF sigma is measured from the bright stars unless given.',
    '',
    '--catalog OUT     the catalogue to write (FITS binary table SOURCES; LSST column names, 0-based pixels,',
    '                  coord_ra/coord_dec in degrees when IMAGE has a celestial WCS)',
    '--hdu N           the image HDU (default: the first with a 2-d image)',
    '--saturation L    pixels at or above L are saturated',
    '--threshold S     detection threshold in sigma of the smoothed image (default 5)',
    '--psf-sigma PX    Gaussian PSF sigma in pixels (default: measured on the bright stars; else the header',
    '                  FWHM keyword in pixels, else 2 px, with a warning)',
    '--background-bin PX   background bin size (default 128)',
    '--psf             fit a PSF model (PSFEx-style pixel basis, varying over the image) to the stars, measure',
    '                  with it, and write it beside the catalogue as OUT.psf (PSFEx format)',
    '--sextractor CONFIG.sex   do as SExtractor configured by CONFIG.sex (and the .param and .conv files it names,',
    '                  beside it): its background (BACK_SIZE, BACK_FILTERSIZE), filter, thresholds, deblending, CLEAN',
    '                  and photometry (PHOT_APERTURES, PHOT_AUTOPARAMS, PHOT_FLUXFRAC); the catalogue has the LSST columns',
    '                  measured on SExtractor\'s detections, then the .param quantities under SExtractor\'s names',
    '                  (X_IMAGE ... FLAGS, 1-based pixels; a vector NAME(n) gives NAME_1..NAME_n). Not with --threshold',
    '                  or --background-bin (set DETECT_THRESH, BACK_SIZE in the file).',
    '--refcat CAT      calibrate against reference stars: CAT is a FITS table, or a folder of them (this project\'s',
    '                  refcat shards, or any table with ra/dec in degrees, e.g. a Gaia extract). The sources are',
    '                  matched from IMAGE\'s header WCS (offsets up to 750 px, rotations of a degree), a TAN-SIP WCS',
    '                  of order 3 is fitted and gives coord_ra/coord_dec, and the PSF fluxes of the matched stars',
    '                  give the zero point: *_flux, *_fluxErr in nJy. The catalogue header records the outcome',
    '                  (ASTROMOK, ASTRORMS, ASTRONM, PHOTOCOK, ZEROPT, ZEROPTE); a failed fit keeps the header WCS.',
    '--refcat-mag COL  the reference magnitude column for the zero point (AB, or the catalogue\'s own system,',
    '                  e.g. phot_g_mean_mag); --refcat-flux COL: a flux column in nJy. Needed for tables other than',
    '                  this project\'s shards (whose flux in IMAGE\'s band, from its FILTER, is used with colour terms).',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({
      args, allowPositionals: true,
      options: {
        catalog: { type: 'string' }, weight: { type: 'string' }, mask: { type: 'string' }, hdu: { type: 'string' },
        saturation: { type: 'string' }, threshold: { type: 'string' }, 'psf-sigma': { type: 'string' }, 'background-bin': { type: 'string' },
        sextractor: { type: 'string' }, refcat: { type: 'string' }, 'refcat-mag': { type: 'string' }, 'refcat-flux': { type: 'string' },
        psf: { type: 'boolean' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one image');
    if (values.catalog === undefined) throw new UsageError('give --catalog OUT.fits');
    const source = positionals[0]!;
    const hdu = values.hdu === undefined ? undefined : Number(values.hdu);
    if (hdu !== undefined && (!Number.isInteger(hdu) || hdu < 0)) throw new UsageError(`--hdu: expected a non-negative integer, got '${values.hdu}'`);
    const saturation = values.saturation === undefined ? undefined : Number(values.saturation);
    if (saturation !== undefined && !Number.isFinite(saturation)) throw new UsageError(`--saturation: expected a number, got '${values.saturation}'`);
    const threshold = positive(values.threshold, '--threshold');
    const psfSigma = positive(values['psf-sigma'], '--psf-sigma');
    const binSize = positive(values['background-bin'], '--background-bin');
    if (values.sextractor !== undefined) {
      if (threshold !== undefined) throw new UsageError('--threshold does not apply with --sextractor: set DETECT_THRESH in the configuration file');
      if (binSize !== undefined) throw new UsageError('--background-bin does not apply with --sextractor: set BACK_SIZE in the configuration file');
    }

    if (values.refcat === undefined && (values['refcat-mag'] !== undefined || values['refcat-flux'] !== undefined)) throw new UsageError('--refcat-mag and --refcat-flux need --refcat');
    if (values['refcat-mag'] !== undefined && values['refcat-flux'] !== undefined) throw new UsageError('give --refcat-mag or --refcat-flux, not both');
    const references = values.refcat === undefined ? undefined
      : readReferences(values.refcat, { ...(values['refcat-mag'] ? { magColumn: values['refcat-mag'] } : {}), ...(values['refcat-flux'] ? { fluxColumn: values['refcat-flux'] } : {}) });

    const t0 = performance.now();
    const exposure = await readCalibratedImageAsync(source, {
      ...(hdu !== undefined ? { hdu } : {}), ...(values.weight ? { weight: values.weight } : {}), ...(values.mask ? { mask: values.mask } : {}),
      ...(saturation !== undefined ? { saturation } : {}),
    });
    const tessera = await loadTessera('release');
    if (values.sextractor !== undefined) {
      const se = extractWithSextractor(tessera, exposure, source, values.sextractor, psfSigma);
      const wcs = parseWcs(exposure.wcsHeader, { source, hdu: hdu ?? 0 });
      addSkyCoordinates(se.catalog, wcs);
      const note = references ? calibrateAgainst(se.catalog, exposure, source, references, se.metadata) : '';
      se.catalog.metadata = se.metadata;
      fs.writeFileSync(values.catalog, writeSourceCatalog(se.catalog, values.catalog));
      console.log(`${source}: ${se.catalog.length} sources (${se.summary}${wcs ? ', with RA/Dec' : ''}) in ${((performance.now() - t0) / 1000).toFixed(2)} s -> ${values.catalog}${note}`);
      return 0;
    }
    // When the seeing cannot be measured: the header's FWHM (pixels, as DECam's Community Pipeline writes it).
    const headerSigma = headerSeeingSigma(exposure);
    const result = extractSources(tessera, exposure, psfSigma === undefined ? undefined : new GaussianPsf(psfSigma), {
      ...(headerSigma !== undefined ? { fallbackSigma: headerSigma } : {}),
      ...(threshold !== undefined ? { detection: { thresholdValue: threshold } } : {}),
      ...(binSize !== undefined ? { background: { binSize: Math.round(binSize) } } : {}),
    });
    if (result.seeing.source === 'fallback') {
      console.error(`${source}: only ${result.seeing.stars} bright unmasked stars to measure the seeing on; using PSF sigma ${result.psf.sigma.toFixed(2)} px `
        + `(${headerSigma !== undefined ? 'from the header FWHM' : 'a guess'}); give --psf-sigma to set it`);
    }
    let catalog = result.catalog;
    let psfNote = `PSF sigma ${result.psf.sigma.toFixed(2)} px`;
    if (values.psf) {
      // A PSFEx-style model from the catalogue's stars, then the same footprints measured again with it.
      const subtracted = { ...exposure, image: result.image, mask: result.mask };
      const fit = determinePsf(tessera, subtracted, psfSources(catalog), { starDiagnostics: false });
      catalog = deblendAndMeasure(tessera, subtracted, result.detection.positive, fit.model);
      catalog.columns.calib_psf_candidate = fit.candidate;
      catalog.columns.calib_psf_used = fit.used;
      catalog.columns.calib_psf_reserved = fit.reserved;
      const psfFile = values.catalog.replace(/\.fits?$/i, '') + '.psf';
      fs.writeFileSync(psfFile, writePsfexFile(fit.model, { checksum: true, name: psfFile }));
      psfNote = `PSF model from ${fit.diagnostics.nUsed} stars, FWHM ${fit.diagnostics.fwhm.toFixed(2)} px -> ${psfFile}`;
    }
    const wcs = parseWcs(exposure.wcsHeader, { source, hdu: hdu ?? 0 });
    addSkyCoordinates(catalog, wcs);
    const metadata = new FitsHeader();
    metadata.set('SOURCE', source.slice(-68), 'image measured');
    metadata.set('PSFSIGMA', result.psf.sigma, '[pixel] Gaussian PSF sigma used', { real: true });
    metadata.set('THRESH', threshold ?? 5, '[sigma] detection threshold', { real: true });
    metadata.set('NOISE', result.detection.noise, 'noise of the smoothed image', { real: true });
    metadata.set('FLUXNORM', 'instrumental', 'fluxes are raw sums in image units (no aperture correction)');
    const note = references ? calibrateAgainst(catalog, exposure, source, references, metadata) : '';
    catalog.metadata = metadata;
    fs.writeFileSync(values.catalog, writeSourceCatalog(catalog, values.catalog));
    console.log(`${source}: ${catalog.length} sources (${psfNote}${wcs ? ', with RA/Dec' : ''}) in ${((performance.now() - t0) / 1000).toFixed(2)} s -> ${values.catalog}${note}`);
    return 0;
  },
};
