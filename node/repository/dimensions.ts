/**
 * The dimension universe of a Tessera repository (names follow LSST's daf_butler universe, DESIGN.md):
 * the dimensions a data ID may name, the metadata keys a data ID may carry besides them, the shape of
 * each dimension's record in the registry, and data ID validation and formatting. A data ID maps names
 * to strings or finite numbers; any string is allowed (paths escape it, pathTemplate.ts).
 */

export type DataIdValue = string | number;
export type DataId = Readonly<Record<string, DataIdValue>>;

/** Every dimension, in the order a data ID is written (instrument first, skypix last). */
export const DIMENSIONS = ['instrument', 'band', 'physical_filter', 'detector', 'exposure', 'visit', 'skymap', 'tract', 'patch', 'htm'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** Keys a data ID may carry that are not dimensions: fields of a dimension record that queries constrain. */
export const METADATA_KEYS = ['observation_type'] as const;

const KEY_ORDER = new Map<string, number>([...DIMENSIONS, ...METADATA_KEYS].map((k, i) => [k, i]));

export function isDimension(name: string): name is Dimension {
  return (DIMENSIONS as readonly string[]).includes(name);
}

/** A dimension or metadata key: a name `--where` and path templates may use. */
export function isDataIdKey(name: string): boolean {
  return KEY_ORDER.has(name);
}

/** A typed error for a data ID that is malformed or does not fit its dataset type. */
export class DataIdError extends Error {
  override readonly name = 'DataIdError';
}

/** `{instrument: 'HSC-SIM', exposure: 1000, detector: 0}`: a data ID as error messages and listings show it. */
export function formatDataId(dataId: DataId): string {
  const parts = sortedKeys(dataId).map((k) => `${k}: ${typeof dataId[k] === 'number' ? String(dataId[k]) : JSON.stringify(dataId[k]).replace(/^"|"$/g, "'")}`);
  return `{${parts.join(', ')}}`;
}

/** The keys of a data ID in universe order (unknown keys last, alphabetically). */
export function sortedKeys(dataId: DataId): string[] {
  return Object.keys(dataId).sort((a, b) => (KEY_ORDER.get(a) ?? 1e9) - (KEY_ORDER.get(b) ?? 1e9) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Checks a data ID against a dataset type's required dimensions and implied keys and returns it with
 * its keys in universe order: every required dimension present, no key outside required + implied,
 * every value a string or a finite number.
 */
export function normalizeDataId(dataId: DataId, required: readonly string[], implied: readonly string[], context: string): DataId {
  const allowed = new Set([...required, ...implied]);
  for (const key of Object.keys(dataId)) {
    if (!allowed.has(key)) throw new DataIdError(`${context}: data ID ${formatDataId(dataId)} has '${key}', which is not one of ${[...allowed].join(', ')}`);
    const value = dataId[key];
    if (typeof value === 'number' ? !Number.isFinite(value) : typeof value !== 'string') {
      throw new DataIdError(`${context}: data ID value of '${key}' must be a string or a finite number, got ${String(value)}`);
    }
  }
  const missing = required.filter((k) => !(k in dataId));
  if (missing.length) throw new DataIdError(`${context}: data ID ${formatDataId(dataId)} lacks ${missing.join(', ')}`);
  const out: Record<string, DataIdValue> = {};
  for (const key of sortedKeys(dataId)) out[key] = dataId[key]!;
  return out;
}

/** The identity of a data ID for a dataset type: its required dimensions as canonical JSON. */
export function dataIdKey(dataId: DataId, required: readonly string[]): string {
  return JSON.stringify([...required].sort().map((k) => [k, dataId[k]]));
}

/** A dimension record: column name to value, exactly as the registry stores it. */
export type DimensionRecord = Readonly<Record<string, string | number | null>>;

/**
 * The registry tables that hold dimension records, each with its primary key columns and its other
 * columns (the record's fields). The order here is the insertion order (a record's foreign keys point
 * to elements earlier in the list).
 */
export const DIMENSION_ELEMENTS = {
  instrument: { key: ['name'], fields: ['camera', 'detector_count'] },
  band: { key: ['name'], fields: [] },
  physical_filter: { key: ['instrument', 'name'], fields: ['band'] },
  detector: { key: ['instrument', 'id'], fields: ['name', 'serial'] },
  exposure: { key: ['instrument', 'id'], fields: ['observation_type', 'physical_filter', 'band', 'date_obs', 'mjd', 'exposure_time'] },
  visit: { key: ['instrument', 'id'], fields: ['physical_filter', 'band', 'date_obs', 'mjd', 'exposure_time'] },
  visit_definition: { key: ['instrument', 'exposure', 'visit'], fields: [] },
  visit_detector_region: { key: ['instrument', 'visit', 'detector'], fields: ['region'] },
  skymap: { key: ['name'], fields: ['hash', 'tract_count'] },
  tract: { key: ['skymap', 'id'], fields: ['ra', 'dec', 'pixel_scale_arcsec', 'width', 'height', 'patch_inner_size', 'patch_border', 'num_patches_x', 'num_patches_y'] },
  patch: {
    key: ['skymap', 'tract', 'id'],
    fields: ['x', 'y', 'inner_x0', 'inner_y0', 'inner_width', 'inner_height', 'outer_x0', 'outer_y0', 'outer_width', 'outer_height'],
  },
} as const satisfies Record<string, { key: readonly string[]; fields: readonly string[] }>;

export type DimensionElement = keyof typeof DIMENSION_ELEMENTS;
export const DIMENSION_ELEMENT_NAMES = Object.keys(DIMENSION_ELEMENTS) as DimensionElement[];

/** Records to insert, per element; a record already registered must be identical (else a conflict). */
export type DimensionRecords = Partial<Record<DimensionElement, DimensionRecord[]>>;

/** Checks that a record has exactly its element's columns; returns the problem or undefined. */
export function dimensionRecordProblem(element: DimensionElement, record: DimensionRecord): string | undefined {
  const spec = DIMENSION_ELEMENTS[element];
  const columns: readonly string[] = [...spec.key, ...spec.fields];
  const extra = Object.keys(record).filter((k) => !columns.includes(k));
  if (extra.length) return `${element} record has unknown field(s) ${extra.join(', ')} (fields: ${columns.join(', ')})`;
  const missing = columns.filter((k) => !(k in record));
  if (missing.length) return `${element} record lacks ${missing.join(', ')}`;
  const nullKey = spec.key.find((k) => record[k] === null);
  if (nullKey) return `${element} record has no value for its key '${nullKey}'`;
  return undefined;
}
