/**
 * What measureCoaddSources and forcedPhotCoadd share: the merged footprints deblended with their merged
 * peaks (cullPeaks off: one child per peak, the same rows in every band) and measured on a coadd with the
 * single-frame plugins and LSST's coadd pixel flags (CLIPPED, SENSOR_EDGE, INEXACT_PSF), its pixels
 * without data (NaN) measured as 0 with variance 0 (they flag the sources that touch them through
 * NO_DATA); with `forced`, each row at its reference position and shape. And the nJy columns: a coadd's
 * pixels are nJy (PHOTCALB 1), so each calibrated flux algorithm's `*_flux` / `*_fluxErr` is its
 * (aperture-corrected) instFlux; the 9-px aperture too, the statistic of sky objects (LSST's ap09Flux).
 */
import type { Tessera } from '../wasm/loader.js';
import type { Exposure } from '../fits/exposure.js';
import type { Footprint } from '../measure/footprint.js';
import type { PsfLike } from '../measure/psf.js';
import { deblendAndMeasure } from '../measure/deblend.js';
import { COADD_PIXEL_FLAG_PLANES, type ForcedSource } from '../measure/measurement.js';
import type { SourceCatalog } from '../measure/sourceCatalog.js';
import { CALIBRATED_FLUX_ALGORITHMS } from './calibrateCatalog.js';

export function measureCoaddFootprints(tessera: Tessera, coadd: Exposure, footprints: readonly Footprint[], psf: PsfLike, forced?: readonly ForcedSource[]): SourceCatalog {
  const n = coadd.width * coadd.height;
  const image = new Float32Array(n), variance = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = coadd.image[i]!, s = coadd.variance[i]!;
    if (Number.isFinite(v) && Number.isFinite(s)) { image[i] = v; variance[i] = s; }
  }
  const masked = { width: coadd.width, height: coadd.height, image, variance, mask: coadd.mask, maskPlanes: coadd.maskPlanes };
  return deblendAndMeasure(tessera, masked, footprints, psf, { pixelFlagPlanes: COADD_PIXEL_FLAG_PLANES }, { cullPeaks: false }, forced);
}

/** The flux algorithms with nJy columns on a coadd: the calibrated ones, and the sky objects' 9-px aperture. */
const COADD_FLUX_ALGORITHMS = [...CALIBRATED_FLUX_ALGORITHMS, 'base_CircularApertureFlux_9_0'];

/** Adds `*_flux` and `*_fluxErr` (nJy) for each of COADD_FLUX_ALGORITHMS: copies of its instFlux on a coadd. */
export function addCoaddFluxColumns(catalog: SourceCatalog): void {
  for (const a of COADD_FLUX_ALGORITHMS) {
    const f = catalog.columns[`${a}_instFlux`] as Float64Array | undefined, e = catalog.columns[`${a}_instFluxErr`] as Float64Array | undefined;
    if (!f || !e) continue;
    catalog.columns[`${a}_flux`] = Float64Array.from(f);
    catalog.columns[`${a}_fluxErr`] = Float64Array.from(e);
  }
}
