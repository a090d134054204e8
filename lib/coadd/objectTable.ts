/**
 * The object table of one patch (LSST pipe_tasks WriteObjectTableTask + TransformObjectCatalogTask with
 * schemas/Object.yaml's functors, reduced to the measurements Tessera makes): one row per row of
 * deepCoadd_ref (every parent and child; detect_isPrimary selects each object of the sky once), with
 * - objectId = tract x 10^12 + patch x 10^7 + id, parentObjectId (0 for none), tract, patch, refBand;
 * - the reference band's position (coord_ra, coord_dec in deg; x, y in tract pixels) and shape
 *   (shape_xx, _yy, _xy in pix^2), detect_isPrimary, detect_isPatchInner, deblend_nChild, sky_object
 *   (the row is a sky object: merge_peak_sky);
 * - per band, forced measurement (deepCoadd_forced_src, at the reference position and shape):
 *   <band>_psfFlux, _ap09Flux (the sky objects' statistic), _ap12Flux, _gaussianFlux, _kronFlux (nJy)
 *   with their Err and _flag, psfMag and
 *   kronMag (AB) with their errors, kronRad, and the pixel flags (anywhere and at the centre);
 * - per band, unforced measurement (deepCoadd_meas) with LSST's `free_` prefix: <band>_free_psfFlux,
 *   _free_kronFlux, _free_gaussianFlux (nJy, Err, _flag), free_psfMag and its error, the band's own
 *   centroid (<band>_free_x, _y in tract pixels), its adaptive moments (<band>_ixx, _iyy, _ixy) and
 *   <band>_calib_apCorr_used.
 * Magnitudes: AB, 31.4 - 2.5 log10(flux / nJy), error 2.5 / ln 10 x fluxErr / flux; NaN for flux <= 0.
 * Every column says where it came from (dataset, band, catalogue column, transform) in `sources`, and
 * its unit in `units`, which the file's metadata carries.
 */
import type { ParquetColumn } from '../parquet/writeParquet.js';
import type { SourceCatalog } from '../measure/sourceCatalog.js';
import { abMagnitude, magnitudeError } from '../photometry/magnitudes.js';

export type Transform = 'copy' | 'mag' | 'magErr' | 'tractX' | 'tractY' | 'objectId' | 'parentObjectId' | 'refBand' | 'tract' | 'patch';

export interface ObjectColumnSource {
  dataset: 'deepCoadd_ref' | 'deepCoadd_meas' | 'deepCoadd_forced_src' | 'quantum';
  band?: string;
  /** The catalogue column (for magErr: the flux column; its error is <column>Err). */
  column?: string;
  transform: Transform;
}

export interface ObjectTableInputs {
  tract: number;
  patch: number;
  /** Bands in the reference catalogue's priority order (REFBANDS). */
  bands: readonly string[];
  ref: SourceCatalog;
  meas: Readonly<Record<string, SourceCatalog>>;
  forced: Readonly<Record<string, SourceCatalog>>;
}

export interface ObjectTable {
  numRows: number;
  columns: ParquetColumn[];
  units: Record<string, string>;
  sources: Record<string, ObjectColumnSource>;
}

const FORCED_FLUXES: [string, string][] = [['psfFlux', 'base_PsfFlux'], ['ap09Flux', 'base_CircularApertureFlux_9_0'], ['ap12Flux', 'base_CircularApertureFlux_12_0'], ['gaussianFlux', 'base_GaussianFlux'], ['kronFlux', 'ext_photometryKron_KronFlux']];
const FREE_FLUXES: [string, string][] = [['free_psfFlux', 'base_PsfFlux'], ['free_gaussianFlux', 'base_GaussianFlux'], ['free_kronFlux', 'ext_photometryKron_KronFlux']];
const PIXEL_FLAGS = ['edge', 'interpolated', 'interpolatedCenter', 'saturated', 'saturatedCenter', 'cr', 'crCenter', 'bad', 'badCenter', 'clipped', 'clippedCenter', 'sensor_edge', 'sensor_edgeCenter', 'inexact_psf', 'inexact_psfCenter'];

function magnitude(flux: number): number {
  return flux > 0 ? abMagnitude(flux) : NaN;
}

function magnitudeErr(flux: number, err: number): number {
  return flux > 0 ? magnitudeError(flux, err) : NaN;
}

export function buildObjectTable(inputs: ObjectTableInputs): ObjectTable {
  const { ref, tract, patch, bands } = inputs;
  const n = ref.length;
  const x0 = ref.metadata?.getNumber('X0') ?? 0, y0 = ref.metadata?.getNumber('Y0') ?? 0;
  const catalogOf = (s: ObjectColumnSource): SourceCatalog =>
    s.dataset === 'deepCoadd_ref' ? ref : s.dataset === 'deepCoadd_meas' ? inputs.meas[s.band!]! : inputs.forced[s.band!]!;
  const columns: ParquetColumn[] = [], units: Record<string, string> = {}, sources: Record<string, ObjectColumnSource> = {};
  const id = ref.columns.id as Int32Array, parent = ref.columns.parent as Int32Array;
  const base = BigInt(tract) * 1_000_000_000_000n + BigInt(patch) * 10_000_000n;
  const num = (s: ObjectColumnSource, name: string): Float64Array => {
    const c = catalogOf(s).columns[name];
    if (!c || Array.isArray(c)) throw new RangeError(`${s.dataset}${s.band ? ` (${s.band})` : ''} has no numeric column ${name}`);
    return Float64Array.from(c as ArrayLike<number>);
  };
  const add = (name: string, unit: string | undefined, source: ObjectColumnSource): void => {
    sources[name] = source;
    if (unit) units[name] = unit;
    switch (source.transform) {
      case 'objectId': columns.push({ name, type: 'int64', values: BigInt64Array.from(id, (v) => base + BigInt(v)) }); return;
      case 'parentObjectId': columns.push({ name, type: 'int64', values: BigInt64Array.from(parent, (v) => (v === 0 ? 0n : base + BigInt(v))) }); return;
      case 'tract': columns.push({ name, type: 'int32', values: new Int32Array(n).fill(tract) }); return;
      case 'patch': columns.push({ name, type: 'int32', values: new Int32Array(n).fill(patch) }); return;
      case 'refBand': {
        const flags = bands.map((b) => ref.columns[`merge_measurement_${b}`] as boolean[] | undefined);
        columns.push({ name, type: 'string', values: Array.from({ length: n }, (_, k) => bands[flags.findIndex((f) => f?.[k] === true)] ?? '') });
        return;
      }
      case 'tractX': columns.push({ name, type: 'double', values: num(source, source.column!).map((v) => v + x0) }); return;
      case 'tractY': columns.push({ name, type: 'double', values: num(source, source.column!).map((v) => v + y0) }); return;
      case 'mag': columns.push({ name, type: 'double', values: num(source, source.column!).map(magnitude) }); return;
      case 'magErr': {
        const f = num(source, source.column!), e = num(source, `${source.column!}Err`);
        columns.push({ name, type: 'double', values: f.map((v, k) => magnitudeErr(v, e[k]!)) });
        return;
      }
      case 'copy': {
        const c = catalogOf(source).columns[source.column!];
        if (c === undefined) throw new RangeError(`${source.dataset}${source.band ? ` (${source.band})` : ''} has no column ${source.column}`);
        if (Array.isArray(c)) columns.push({ name, type: 'boolean', values: [...c] });
        else if (c instanceof Int32Array) columns.push({ name, type: 'int32', values: Int32Array.from(c) });
        else columns.push({ name, type: 'double', values: Float64Array.from(c) });
      }
    }
  };
  const q = (transform: Transform): ObjectColumnSource => ({ dataset: 'quantum', transform });
  const r = (column: string, transform: Transform = 'copy'): ObjectColumnSource => ({ dataset: 'deepCoadd_ref', column, transform });
  add('objectId', undefined, r('id', 'objectId'));
  add('parentObjectId', undefined, r('parent', 'parentObjectId'));
  add('tract', undefined, q('tract'));
  add('patch', undefined, q('patch'));
  add('refBand', undefined, q('refBand'));
  add('coord_ra', 'deg', r('coord_ra'));
  add('coord_dec', 'deg', r('coord_dec'));
  add('x', 'pix', r('base_SdssCentroid_x', 'tractX'));
  add('y', 'pix', r('base_SdssCentroid_y', 'tractY'));
  add('shape_xx', 'pix2', r('base_SdssShape_xx'));
  add('shape_yy', 'pix2', r('base_SdssShape_yy'));
  add('shape_xy', 'pix2', r('base_SdssShape_xy'));
  add('detect_isPrimary', undefined, r('detect_isPrimary'));
  add('detect_isPatchInner', undefined, r('detect_isPatchInner'));
  add('deblend_nChild', undefined, r('deblend_nChild'));
  if (inputs.ref.columns.merge_peak_sky) add('sky_object', undefined, r('merge_peak_sky'));
  for (const band of bands) {
    const f = (column: string, transform: Transform = 'copy'): ObjectColumnSource => ({ dataset: 'deepCoadd_forced_src', band, column, transform });
    const m = (column: string, transform: Transform = 'copy'): ObjectColumnSource => ({ dataset: 'deepCoadd_meas', band, column, transform });
    for (const [name, algorithm] of FORCED_FLUXES) {
      add(`${band}_${name}`, 'nJy', f(`${algorithm}_flux`));
      add(`${band}_${name}Err`, 'nJy', f(`${algorithm}_fluxErr`));
      add(`${band}_${name}_flag`, undefined, f(`${algorithm}_flag`));
    }
    add(`${band}_psfMag`, 'mag(AB)', f('base_PsfFlux_flux', 'mag'));
    add(`${band}_psfMagErr`, 'mag', f('base_PsfFlux_flux', 'magErr'));
    add(`${band}_kronMag`, 'mag(AB)', f('ext_photometryKron_KronFlux_flux', 'mag'));
    add(`${band}_kronMagErr`, 'mag', f('ext_photometryKron_KronFlux_flux', 'magErr'));
    add(`${band}_kronRad`, 'pix', f('ext_photometryKron_KronFlux_radius'));
    for (const flag of PIXEL_FLAGS) add(`${band}_pixelFlags_${flag}`, undefined, f(`base_PixelFlags_flag_${flag}`));
    for (const [name, algorithm] of FREE_FLUXES) {
      add(`${band}_${name}`, 'nJy', m(`${algorithm}_flux`));
      add(`${band}_${name}Err`, 'nJy', m(`${algorithm}_fluxErr`));
      add(`${band}_${name}_flag`, undefined, m(`${algorithm}_flag`));
    }
    add(`${band}_free_psfMag`, 'mag(AB)', m('base_PsfFlux_flux', 'mag'));
    add(`${band}_free_psfMagErr`, 'mag', m('base_PsfFlux_flux', 'magErr'));
    add(`${band}_free_x`, 'pix', m('base_SdssCentroid_x', 'tractX'));
    add(`${band}_free_y`, 'pix', m('base_SdssCentroid_y', 'tractY'));
    add(`${band}_ixx`, 'pix2', m('base_SdssShape_xx'));
    add(`${band}_iyy`, 'pix2', m('base_SdssShape_yy'));
    add(`${band}_ixy`, 'pix2', m('base_SdssShape_xy'));
    if (inputs.meas[band]!.columns.calib_apCorr_used) add(`${band}_calib_apCorr_used`, undefined, m('calib_apCorr_used'));
  }
  return { numRows: n, columns, units, sources };
}
