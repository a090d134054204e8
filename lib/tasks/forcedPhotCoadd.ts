/**
 * forcedPhotCoadd: forced photometry of every object on one band's coadd at its reference-band position
 * and shape (LSST drp_tasks ForcedPhotCoaddTask): the merged footprints are deblended on this band's
 * deepCoadd_calexp exactly as measureCoaddSources did (the same rows), and each source is measured with
 * its centroid fixed at deepCoadd_ref's and its shape fixed to deepCoadd_ref's (TransformedCentroid and
 * TransformedShape): PSF flux, apertures, the Gaussian flux of that fixed weight, Kron in that ellipse,
 * pixel flags (lib/measure/measurement.ts forced mode). The band's aperture corrections are those
 * measureCoaddSources fitted (its `*_apCorr` per row: the same field at the same object, as LSST applies
 * the coadd's ApCorrMap to both), with their errors. Rows keep deepCoadd_ref's id, parent, coord_ra/dec,
 * detect_isPrimary and detect_isPatchInner; `*_flux` columns are nJy.
 * Output: deepCoadd_forced_src.
 */
import type { FootprintSet } from '../measure/footprintSet.js';
import type { ForcedSource } from '../measure/measurement.js';
import type { SourceCatalog } from '../measure/sourceCatalog.js';
import { applyCorrectionValues, DEFAULT_APERTURE_CORRECTION_CONFIG } from '../measure/apertureCorrection.js';
import { badInput, type Task } from '../pipeline/task.js';
import { addCoaddFluxColumns, measureCoaddFootprints } from './coaddMeasurement.js';
import type { ExposureWithPsf } from './characterizeImage.js';

export interface ForcedPhotCoaddInputs {
  exposure: ExposureWithPsf;
  refCat: SourceCatalog;
  footprints: FootprintSet;
  measCat: SourceCatalog;
}

export interface ForcedPhotCoaddOutputs {
  outputSources: SourceCatalog;
}

const COADD_DIMENSIONS = ['band', 'skymap', 'tract', 'patch'] as const;
const PATCH_DIMENSIONS = ['skymap', 'tract', 'patch'] as const;
/** Columns taken from deepCoadd_ref as they are. */
const FROM_REFERENCE = ['id', 'parent', 'deblend_nChild', 'coord_ra', 'coord_dec', 'detect_isPrimary', 'detect_isPatchInner'];

export const forcedPhotCoadd: Task<Record<string, never>, ForcedPhotCoaddInputs, ForcedPhotCoaddOutputs> = {
  name: 'forcedPhotCoadd',
  summary: 'Measure every object on one band\'s coadd at its reference-band position and shape.',
  dimensions: COADD_DIMENSIONS,
  connections: {
    inputs: {
      exposure: { datasetType: 'deepCoadd_calexp', dimensions: COADD_DIMENSIONS, storageClass: 'Exposure', doc: 'The band\'s background-subtracted coadd with its PSF.' },
      refCat: { datasetType: 'deepCoadd_ref', dimensions: PATCH_DIMENSIONS, storageClass: 'SourceCatalog', doc: 'Each object\'s reference-band measurement.' },
      footprints: { datasetType: 'deepCoadd_mergeDet', dimensions: PATCH_DIMENSIONS, storageClass: 'FootprintSet', doc: 'The merged footprints and peaks.' },
      measCat: { datasetType: 'deepCoadd_meas', dimensions: COADD_DIMENSIONS, storageClass: 'SourceCatalog', doc: 'The band\'s unforced measurement: its aperture corrections.' },
    },
    outputs: {
      outputSources: { datasetType: 'deepCoadd_forced_src', dimensions: COADD_DIMENSIONS, storageClass: 'SourceCatalog', doc: 'Forced measurement of every object in this band.' },
    },
  },
  config: {},

  run(inputs, _config, context) {
    const { exposure: coadd, refCat: ref, footprints: det, measCat: meas } = inputs;
    const psf = coadd.psf;
    if (!psf) throw badInput(forcedPhotCoadd, context, 'exposure', 'the coadd has no PSF model');
    if (det.width !== coadd.width || det.height !== coadd.height || det.x0 !== coadd.x0 || det.y0 !== coadd.y0) {
      throw badInput(forcedPhotCoadd, context, 'footprints', `box ${det.width}x${det.height}+${det.x0}+${det.y0} differs from the coadd's ${coadd.width}x${coadd.height}+${coadd.x0}+${coadd.y0}`);
    }
    if (meas.length !== ref.length) throw badInput(forcedPhotCoadd, context, 'measCat', `${meas.length} rows, deepCoadd_ref ${ref.length}: not measured from the same merged detections`);
    const rx = ref.columns.base_SdssCentroid_x as Float64Array, ry = ref.columns.base_SdssCentroid_y as Float64Array;
    const rxx = ref.columns.base_SdssShape_xx as Float64Array, ryy = ref.columns.base_SdssShape_yy as Float64Array, rxy = ref.columns.base_SdssShape_xy as Float64Array;
    const forced: ForcedSource[] = Array.from({ length: ref.length }, (_, k) => ({ x: rx[k]!, y: ry[k]!, xx: rxx[k]!, yy: ryy[k]!, xy: rxy[k]! }));
    const catalog = measureCoaddFootprints(context.tessera, coadd, det.footprints, psf, forced);
    if (catalog.length !== ref.length) throw badInput(forcedPhotCoadd, context, 'refCat', `${ref.length} rows, the merged footprints deblend into ${catalog.length}: not made from this deepCoadd_mergeDet`);

    // The band's aperture corrections, as measureCoaddSources applied them.
    for (const algorithm of DEFAULT_APERTURE_CORRECTION_CONFIG.algorithms) {
      const corr = meas.columns[`${algorithm}_apCorr`] as Float64Array | undefined, corrErr = meas.columns[`${algorithm}_apCorrErr`] as Float64Array | undefined;
      // Rows whose band had no fitted correction (NaN) keep their flux, flagged as measureCoaddSources flagged them.
      if (corr && corrErr) applyCorrectionValues(catalog, algorithm, corr, corrErr, meas.columns[`${algorithm}_flag_apCorr`] as boolean[]);
    }
    addCoaddFluxColumns(catalog);
    for (const name of FROM_REFERENCE) {
      const values = ref.columns[name];
      if (values) catalog.columns[name] = Array.isArray(values) ? [...values] : values.slice();
    }
    const metadata = meas.metadata?.clone();
    metadata?.set('FORCED', true, 'measured at the reference band\'s positions and shapes');
    if (metadata) catalog.metadata = metadata;
    context.log.info(`forced photometry of ${catalog.length} objects`, { sources: catalog.length });
    return { outputSources: catalog };
  },
};
