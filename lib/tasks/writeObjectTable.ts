/**
 * writeObjectTable: one patch's object table (LSST pipe_tasks WriteObjectTableTask and
 * TransformObjectCatalogTask, their objectTable): the reference catalogue, every band's unforced
 * (deepCoadd_meas, `free_` columns) and forced (deepCoadd_forced_src) measurements joined row by row
 * into one flat table with per-band columns (lib/coadd/objectTable.ts), written as Parquet
 * (lib/parquet/writeParquet.ts) with the columns' units and sources in its metadata. Every catalogue
 * must have deepCoadd_ref's rows (the same ids in the same order); a band missing from the patch has no
 * columns.
 * Output: objectTable (DataFrame storage class, a .parquet file).
 */
import { buildObjectTable, type ObjectTable } from '../coadd/objectTable.js';
import type { SourceCatalog } from '../measure/sourceCatalog.js';
import { mergeOrder } from '../coadd/mergeDetections.js';
import { badInput, inputBand, quantumNumber, type Task } from '../pipeline/task.js';

export interface WriteObjectTableInputs {
  refCat: SourceCatalog;
  measCats: SourceCatalog[];
  forcedCats: SourceCatalog[];
}

export interface WriteObjectTableOutputs {
  outputTable: ObjectTable;
}

const BAND_DIMENSIONS = ['band', 'skymap', 'tract', 'patch'] as const;
const PATCH_DIMENSIONS = ['skymap', 'tract', 'patch'] as const;


export const writeObjectTable: Task<Record<string, never>, WriteObjectTableInputs, WriteObjectTableOutputs> = {
  name: 'writeObjectTable',
  summary: 'Join a patch\'s reference, unforced and forced catalogues into one Parquet object table with per-band columns.',
  dimensions: PATCH_DIMENSIONS,
  connections: {
    inputs: {
      refCat: { datasetType: 'deepCoadd_ref', dimensions: PATCH_DIMENSIONS, storageClass: 'SourceCatalog', doc: 'Each object\'s reference-band measurement.' },
      measCats: { datasetType: 'deepCoadd_meas', dimensions: BAND_DIMENSIONS, storageClass: 'SourceCatalog', multiple: true, minimum: 1, doc: 'Every band\'s unforced measurement.' },
      forcedCats: { datasetType: 'deepCoadd_forced_src', dimensions: BAND_DIMENSIONS, storageClass: 'SourceCatalog', multiple: true, minimum: 1, doc: 'Every band\'s forced measurement.' },
    },
    outputs: {
      outputTable: { datasetType: 'objectTable', dimensions: PATCH_DIMENSIONS, storageClass: 'DataFrame', doc: 'One row per object, per-band forced and free_ columns (Parquet).' },
    },
  },
  config: {},

  run(inputs, _config, context) {
    const ref = inputs.refCat;
    const byBand = (connection: 'measCats' | 'forcedCats'): Record<string, SourceCatalog> => {
      const out: Record<string, SourceCatalog> = {};
      inputs[connection].forEach((catalog, k) => {
        const band = inputBand(writeObjectTable, context, connection, k, catalog.metadata);
        const ids = catalog.columns.id as Int32Array, refIds = ref.columns.id as Int32Array;
        if (catalog.length !== ref.length || ids.some((v, r) => v !== refIds[r])) {
          throw badInput(writeObjectTable, context, connection, `band ${band}: its ${catalog.length} rows are not deepCoadd_ref's ${ref.length} (the same ids in the same order)`, k);
        }
        out[band] = catalog;
      });
      return out;
    };
    const meas = byBand('measCats'), forced = byBand('forcedCats');
    const refBands = (ref.metadata?.getString('REFBANDS') ?? '').split(',').filter(Boolean);
    const bands = mergeOrder(Object.keys(forced).filter((b) => meas[b]), refBands);
    const missing = Object.keys(forced).filter((b) => !meas[b]).concat(Object.keys(meas).filter((b) => !forced[b]));
    if (missing.length) context.log.warn(`band(s) ${missing.join(', ')} lack a forced or an unforced catalogue: left out of the table`);
    let table: ObjectTable;
    try {
      table = buildObjectTable({ tract: quantumNumber(writeObjectTable, context, 'tract'), patch: quantumNumber(writeObjectTable, context, 'patch'), bands, ref, meas, forced });
    } catch (err) {
      throw badInput(writeObjectTable, context, 'measCats', (err as Error).message);
    }
    const primary = (ref.columns.detect_isPrimary as boolean[]).filter(Boolean).length;
    context.log.info(`object table: ${table.numRows} rows (${primary} primary), ${table.columns.length} columns, bands ${bands.join(', ')}`, { rows: table.numRows, columns: table.columns.length });
    return { outputTable: table };
  },
};
