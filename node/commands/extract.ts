/**
 * `tessera extract IMAGE.fits --catalog OUT.fits [--weight W.fits] [--mask M.fits] [--hdu N]
 * [--saturation LEVEL] [--threshold SIGMA] [--psf-sigma PX] [--background-bin PX]`: background,
 * detection and measurement of any calibrated image from any telescope, like SExtractor, with the
 * pipeline's algorithms (lib/measure/extractSources.ts). The image is read as node/fits/calibratedImage.ts
 * does (an afw Exposure with its own planes, or an image with an inverse-variance weight map and a mask);
 * the catalogue (lib/measure/sourceCatalog.ts: a FITS table astropy reads) has LSST's column names with
 * 0-based pixel coordinates, plus coord_ra and coord_dec (deg) when the image has a celestial WCS.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { loadTessera } from '../wasm.js';
import { readCalibratedImageAsync } from '../fits/calibratedImage.js';
import { extractSources } from '../../lib/measure/extractSources.js';
import { GaussianPsf } from '../../lib/measure/psf.js';
import { writeSourceCatalog } from '../../lib/measure/sourceCatalog.js';
import { FitsHeader } from '../../lib/fits/index.js';
import { parseWcs } from '../../lib/wcs/index.js';

function positive(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!(v > 0) || !Number.isFinite(v)) throw new UsageError(`${option}: expected a positive number, got '${text}'`);
  return v;
}

export const extractCommand: Command = {
  name: 'extract',
  summary: 'detect and measure the sources of one calibrated image (like SExtractor), writing a FITS catalogue',
  usage: [
    'Usage: tessera extract IMAGE.fits --catalog OUT.fits [--weight W.fits] [--mask M.fits] [--hdu N]',
    '                       [--saturation LEVEL] [--threshold SIGMA] [--psf-sigma PX] [--background-bin PX]',
    '',
    'Background (128-px bins, clipped mean, Akima spline), detection (PSF matched filter, 5 sigma), and',
    'measurement (adaptive-moment centroids and shapes, PSF, Gaussian, Kron and circular-aperture fluxes at',
    '3-70 px, pixel flags) of IMAGE. An afw Exposure (IMAGE/MASK/VARIANCE) is read with its planes; any',
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
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({
      args, allowPositionals: true,
      options: {
        catalog: { type: 'string' }, weight: { type: 'string' }, mask: { type: 'string' }, hdu: { type: 'string' },
        saturation: { type: 'string' }, threshold: { type: 'string' }, 'psf-sigma': { type: 'string' }, 'background-bin': { type: 'string' },
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

    const t0 = performance.now();
    const exposure = await readCalibratedImageAsync(source, {
      ...(hdu !== undefined ? { hdu } : {}), ...(values.weight ? { weight: values.weight } : {}), ...(values.mask ? { mask: values.mask } : {}),
      ...(saturation !== undefined ? { saturation } : {}),
    });
    const tessera = await loadTessera('release');
    // When the seeing cannot be measured: the header's FWHM (pixels, as DECam's Community Pipeline writes it).
    const headerFwhm = exposure.wcsHeader.getNumber('FWHM') ?? exposure.metadata.getNumber('FWHM');
    const result = extractSources(tessera, exposure, psfSigma === undefined ? undefined : new GaussianPsf(psfSigma), {
      ...(headerFwhm !== undefined && headerFwhm > 0 ? { fallbackSigma: headerFwhm / (2 * Math.sqrt(2 * Math.LN2)) } : {}),
      ...(threshold !== undefined ? { detection: { thresholdValue: threshold } } : {}),
      ...(binSize !== undefined ? { background: { binSize: Math.round(binSize) } } : {}),
    });
    if (result.seeing.source === 'fallback') {
      console.error(`${source}: only ${result.seeing.stars} bright unmasked stars to measure the seeing on; using PSF sigma ${result.psf.sigma.toFixed(2)} px `
        + `(${headerFwhm !== undefined ? 'from the header FWHM' : 'a guess'}); give --psf-sigma to set it`);
    }
    const catalog = result.catalog;
    const wcs = parseWcs(exposure.wcsHeader, { source, hdu: hdu ?? 0 });
    if (wcs) {
      const x = catalog.columns.base_SdssCentroid_x as Float64Array, y = catalog.columns.base_SdssCentroid_y as Float64Array;
      const ra = new Float64Array(catalog.length), dec = new Float64Array(catalog.length);
      // Catalogue pixels are 0-based array coordinates, as the WCS takes them (astropy origin 0).
      for (let k = 0; k < catalog.length; k++) [ra[k], dec[k]] = wcs.pixelToSky(x[k]!, y[k]!);
      catalog.columns.coord_ra = ra;
      catalog.columns.coord_dec = dec;
    }
    const metadata = new FitsHeader();
    metadata.set('SOURCE', source.slice(-68), 'image measured');
    metadata.set('PSFSIGMA', result.psf.sigma, '[pixel] Gaussian PSF sigma used', { real: true });
    metadata.set('THRESH', threshold ?? 5, '[sigma] detection threshold', { real: true });
    metadata.set('NOISE', result.detection.noise, 'noise of the smoothed image', { real: true });
    metadata.set('FLUXNORM', 'instrumental', 'fluxes are raw sums in image units (no aperture correction)');
    catalog.metadata = metadata;
    fs.writeFileSync(values.catalog, writeSourceCatalog(catalog, values.catalog));
    console.log(`${source}: ${catalog.length} sources (PSF sigma ${result.psf.sigma.toFixed(2)} px${wcs ? ', with RA/Dec' : ''}) in ${((performance.now() - t0) / 1000).toFixed(2)} s -> ${values.catalog}`);
    return 0;
  },
};
