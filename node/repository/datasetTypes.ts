/**
 * Dataset types: a name, the dimensions that identify one dataset (its data ID's required keys), the
 * implied keys its data IDs also carry (for queries and paths: a raw's band and physical filter), a
 * storage class (what the bytes are) and the path template of its files. Here are the types that
 * `tessera ingest` registers for a simulated dataset; pipeline tasks register their own outputs'.
 */
import { DIMENSIONS, isDataIdKey, isDimension } from './dimensions.js';
import { checkPathTemplate } from './pathTemplate.js';

export interface DatasetType {
  readonly name: string;
  /** Required dimensions, in universe order. */
  readonly dimensions: readonly string[];
  /** Other data ID keys datasets of this type carry. */
  readonly implied: readonly string[];
  readonly storageClass: string;
  readonly pathTemplate: string;
}

export class DatasetTypeError extends Error {
  override readonly name = 'DatasetTypeError';
}

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Validates a dataset type's name, dimensions, implied keys and template; throws DatasetTypeError. */
export function checkDatasetType(type: DatasetType): void {
  const where = `dataset type '${type.name}'`;
  if (!NAME.test(type.name)) throw new DatasetTypeError(`${where}: a name is a letter then letters, digits or '_'`);
  const bad = type.dimensions.find((d) => !isDimension(d));
  if (bad !== undefined) throw new DatasetTypeError(`${where}: '${bad}' is not a dimension (dimensions: ${DIMENSIONS.join(', ')})`);
  const badImplied = type.implied.find((k) => !isDataIdKey(k) || type.dimensions.includes(k));
  if (badImplied !== undefined) throw new DatasetTypeError(`${where}: implied key '${badImplied}' is not a dimension or metadata key outside its dimensions`);
  if (!NAME.test(type.storageClass)) throw new DatasetTypeError(`${where}: storage class '${type.storageClass}' is not a name`);
  try {
    checkPathTemplate(type.pathTemplate, type.dimensions, [...type.dimensions, ...type.implied]);
  } catch (err) {
    throw new DatasetTypeError(`${where}: ${(err as Error).message}`);
  }
}

/** True when two definitions of a dataset type agree in every field. */
export function sameDatasetType(a: DatasetType, b: DatasetType): boolean {
  return a.name === b.name && a.storageClass === b.storageClass && a.pathTemplate === b.pathTemplate
    && JSON.stringify(a.dimensions) === JSON.stringify(b.dimensions) && JSON.stringify(a.implied) === JSON.stringify(b.implied);
}

/** The dataset types of a simulated dataset (lib/sim/survey.ts's manifest `datasetType` values). */
export const INGEST_DATASET_TYPES: Readonly<Record<string, DatasetType>> = {
  camera: {
    name: 'camera', dimensions: ['instrument'], implied: [], storageClass: 'CameraDescription',
    pathTemplate: '{run}/{datasetType}/{datasetType}_{instrument}.yaml',
  },
  skyMap: {
    name: 'skyMap', dimensions: ['skymap'], implied: [], storageClass: 'SkyMap',
    pathTemplate: '{run}/{datasetType}/{datasetType}_{skymap}.json',
  },
  refCat: {
    name: 'refCat', dimensions: ['htm'], implied: [], storageClass: 'ReferenceCatalog',
    pathTemplate: '{run}/{datasetType}/{datasetType}_{htm}.fits',
  },
  raw: {
    name: 'raw', dimensions: ['instrument', 'detector', 'exposure'], implied: ['band', 'physical_filter', 'visit', 'observation_type'], storageClass: 'RawImage',
    pathTemplate: '{run}/{datasetType}/{band:?}/{datasetType}_{instrument}_{exposure}_{detector}.fits',
  },
  truth: {
    name: 'truth', dimensions: ['instrument', 'detector', 'visit'], implied: ['band', 'physical_filter', 'exposure'], storageClass: 'TruthExposure',
    pathTemplate: '{run}/{datasetType}/{band:?}/{datasetType}_{instrument}_{visit}_{detector}.fits',
  },
  truth_catalog: {
    name: 'truth_catalog', dimensions: ['instrument'], implied: [], storageClass: 'TruthCatalog',
    pathTemplate: '{run}/{datasetType}/{datasetType}_{instrument}.fits',
  },
};

/**
 * The dataset type of a task's output (or log), from its connection: its dimensions and storage class,
 * the implied keys its data IDs carry for queries and paths (an exposure's band, filter, visit and
 * observation type; a filter's band), and a path template grouping files by band.
 */
export function taskDatasetType(name: string, dimensions: readonly string[], storageClass: string, extension: string): DatasetType {
  const implied: string[] = [];
  if (dimensions.includes('exposure')) implied.push('band', 'physical_filter', 'visit', 'observation_type');
  else if (dimensions.includes('visit')) implied.push('band', 'physical_filter', 'exposure');
  else if (dimensions.includes('physical_filter')) implied.push('band');
  const keep = implied.filter((k) => !dimensions.includes(k));
  const bandDirectory = dimensions.includes('band') ? '{band}/' : keep.includes('band') ? '{band:?}/' : '';
  const type: DatasetType = {
    name, dimensions: [...dimensions], implied: keep, storageClass,
    pathTemplate: `{run}/{datasetType}/${bandDirectory}{datasetType}_${dimensions.map((d) => `{${d}}`).join('_')}.${extension}`,
  };
  checkDatasetType(type);
  return type;
}
