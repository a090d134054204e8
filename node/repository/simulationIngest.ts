/**
 * Ingest of a simulated dataset (the folder `tessera sim` writes, described by its manifest.json) into
 * a repository, as LSST's `butler register-instrument` + `ingest-raws` + `register-skymap` +
 * `ingest-files` would: the instrument, its detectors, physical filters and bands from camera.yaml
 * (also stored as the 'camera' dataset, certified with unbounded validity in `<instrument>/calib`);
 * each exposure (and visit) with its DATE-OBS, MJD-OBS, exposure time and observation type read from
 * its raws' headers; the sky map with its tracts and patches; the reference-catalogue shards; raws and
 * calibration raws; the truth files. Collections follow LSST's names: `<instrument>/raw/all`,
 * `refcats`, `skymaps`, `<instrument>/truth`, `<instrument>/calib` and the CHAINED
 * `<instrument>/defaults` = [raw/all, calib, refcats, skymaps]. Every input is read and checked before
 * anything is written (a missing manifest or file, or a FITS file whose header or checksums cannot be
 * read, is an error naming it), and everything is registered in one transaction.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Camera } from '../../lib/sim/camera.js';
import { MANIFEST_FORMAT, type ManifestEntry } from '../../lib/sim/survey.js';
import { parseWcs } from '../../lib/wcs/index.js';
import { detectorSkyPolygon, regionToJson } from '../../lib/skymap/index.js';
import { formatDataId, type DataId, type DataIdValue, type DimensionRecord, type DimensionRecords } from './dimensions.js';
import { defaultsChainChildren, instrumentRecords, mergeRecords, readCameraFile, skyMapFileRecords } from './ingestCommon.js';
import { readFitsChecked } from '../fits/fileSource.js';
import { INGEST_DATASET_TYPES } from './datasetTypes.js';
import type { TransferMode } from './datastore.js';
import { RepositoryError, type IngestFile, type IngestReport, type Repository } from './repository.js';

/** The collections a simulated dataset's instrument is ingested into. */
export function simulationCollections(instrument: string): { raw: string; truth: string; calibRun: string; calib: string; refcats: string; skymaps: string; defaults: string } {
  return {
    raw: `${instrument}/raw/all`,
    truth: `${instrument}/truth`,
    calibRun: `${instrument}/calib/unbounded`,
    calib: `${instrument}/calib`,
    refcats: 'refcats',
    skymaps: 'skymaps',
    defaults: `${instrument}/defaults`,
  };
}

interface ManifestFile {
  entry: ManifestEntry;
  source: string;
}

function readManifest(dir: string): { instrument: string; files: ManifestFile[] } {
  const manifestPath = path.join(dir, 'manifest.json');
  let text: string;
  try {
    text = fs.readFileSync(manifestPath, 'utf8');
  } catch {
    throw new RepositoryError(`${manifestPath}: not found; ingest takes a folder written by 'tessera sim' (with its manifest.json)`);
  }
  let manifest: { format?: unknown; instrument?: unknown; files?: unknown };
  try {
    manifest = JSON.parse(text) as typeof manifest;
  } catch (err) {
    throw new RepositoryError(`${manifestPath}: not valid JSON (${(err as Error).message})`);
  }
  if (manifest.format !== MANIFEST_FORMAT) throw new RepositoryError(`${manifestPath}: format is ${JSON.stringify(manifest.format)}, expected '${MANIFEST_FORMAT}'`);
  if (typeof manifest.instrument !== 'string' || !Array.isArray(manifest.files)) throw new RepositoryError(`${manifestPath}: needs 'instrument' and a 'files' list`);
  const files: ManifestFile[] = [];
  manifest.files.forEach((raw: unknown, i: number) => {
    const e = raw as Partial<ManifestEntry>;
    const where = `${manifestPath}: files[${i}]`;
    if (typeof e?.path !== 'string' || typeof e.datasetType !== 'string' || typeof e.dataId !== 'object' || e.dataId === null) {
      throw new RepositoryError(`${where} needs a path, a datasetType and a dataId`);
    }
    const source = path.resolve(dir, ...e.path.split('/'));
    if (path.isAbsolute(e.path) || !source.startsWith(path.resolve(dir) + path.sep)) throw new RepositoryError(`${where}: path '${e.path}' leaves ${dir}`);
    if (!(e.datasetType in INGEST_DATASET_TYPES)) {
      throw new RepositoryError(`${where}: unknown dataset type '${e.datasetType}' (known: ${Object.keys(INGEST_DATASET_TYPES).join(', ')})`);
    }
    for (const [k, v] of Object.entries(e.dataId)) {
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) throw new RepositoryError(`${where}: data ID value of '${k}' must be a string or a number`);
    }
    files.push({ entry: e as ManifestEntry, source });
  });
  const missing = files.filter((f) => !fs.existsSync(f.source));
  if (missing.length) {
    const list = missing.slice(0, 5).map((f) => f.source).join(', ');
    throw new RepositoryError(`${missing.length} file(s) listed in ${manifestPath} are missing: ${list}${missing.length > 5 ? ', ...' : ''}`);
  }
  return { instrument: manifest.instrument, files };
}

function only(files: ManifestFile[], datasetType: string, dir: string): ManifestFile {
  const list = files.filter((f) => f.entry.datasetType === datasetType);
  if (list.length !== 1) throw new RepositoryError(`${path.join(dir, 'manifest.json')}: expected one '${datasetType}' file, found ${list.length}`);
  return list[0]!;
}

/**
 * Exposure, visit and visit_definition records from the raws' headers, checked against their data IDs,
 * and each science raw's visit_detector_region from its nominal WCS (lib/skymap/detectorRegion.ts).
 */
function exposureRecords(camera: Camera, raws: readonly ManifestFile[]): DimensionRecords {
  const keys = camera.headerKeys;
  const exposures = new Map<number, { record: DimensionRecord; source: string }>();
  const visits = new Map<number, DimensionRecord>();
  const definitions: DimensionRecord[] = [];
  const regions: DimensionRecord[] = [];
  const filters = new Map(camera.filters.map((f) => [f.physical, f.band]));
  const detectors = new Set(camera.detectors.map((d) => d.id));
  for (const { entry, source } of raws) {
    const id = entry.dataId;
    const fail = (problem: string): never => {
      throw new RepositoryError(`${source}: ${problem} (raw ${formatDataId(id)})`);
    };
    const header = readFitsChecked(source).hdu(camera.rawHdu).header;
    const date = header.getString(keys.date);
    const mjd = header.getNumber(keys.mjd);
    if (date === undefined) fail(`header has no ${keys.date}`);
    if (mjd === undefined) fail(`header has no ${keys.mjd}`);
    const exposure = id.exposure;
    const detector = id.detector;
    if (typeof exposure !== 'number' || !Number.isSafeInteger(exposure)) return fail('data ID needs an integer exposure');
    if (typeof detector !== 'number' || !detectors.has(detector)) return fail(`detector ${String(detector)} is not one of the camera's`);
    const headerExposure = header.getInteger(keys.exposureId);
    if (headerExposure !== undefined && headerExposure !== exposure) fail(`header ${keys.exposureId} = ${headerExposure} but the manifest says exposure ${exposure}`);
    const headerDetector = header.getInteger(keys.detector);
    if (headerDetector !== undefined && headerDetector !== detector) fail(`header ${keys.detector} = ${headerDetector} but the manifest says detector ${detector}`);
    const observationType = id.observation_type;
    if (typeof observationType !== 'string') return fail('data ID needs an observation_type');
    const physical = typeof id.physical_filter === 'string' ? id.physical_filter : null;
    const band = physical === null ? null : filters.get(physical);
    if (band === undefined) return fail(`physical filter '${String(physical)}' is not one of the camera's`);
    if (id.band !== undefined && id.band !== band) fail(`band '${String(id.band)}' is not the band of ${String(physical)} (${String(band)})`);
    const record: DimensionRecord = {
      instrument: camera.instrument, id: exposure, observation_type: observationType, physical_filter: physical, band,
      date_obs: date!, mjd: mjd!, exposure_time: header.getNumber(keys.exposureTime) ?? null,
    };
    if (observationType === 'science' && typeof id.visit === 'number') {
      const wcs = parseWcs(header);
      const geometry = camera.detectors.find((d) => d.id === detector)!;
      if (wcs) regions.push({ instrument: camera.instrument, visit: id.visit, detector, region: regionToJson(detectorSkyPolygon(wcs, geometry.width, geometry.height)) });
    }
    const previous = exposures.get(exposure);
    if (previous) {
      const differs = Object.keys(record).find((k) => record[k] !== previous.record[k]);
      if (differs) fail(`${differs} ${JSON.stringify(record[differs])} differs from ${JSON.stringify(previous.record[differs])} in ${previous.source} of the same exposure`);
      continue;
    }
    exposures.set(exposure, { record, source });
    if (observationType === 'science' && typeof id.visit === 'number') {
      if (physical === null || band === null) fail('a science exposure needs a physical filter');
      visits.set(id.visit, { instrument: camera.instrument, id: id.visit, physical_filter: physical, band, date_obs: date!, mjd: mjd!, exposure_time: record.exposure_time ?? null });
      definitions.push({ instrument: camera.instrument, exposure, visit: id.visit });
    }
  }
  return { exposure: [...exposures.values()].map((e) => e.record), visit: [...visits.values()], visit_definition: definitions, visit_detector_region: regions };
}

/** A manifest data ID restricted to what its dataset type's data IDs carry. */
function datasetDataId(entry: ManifestEntry): DataId {
  const type = INGEST_DATASET_TYPES[entry.datasetType]!;
  const keep = new Set([...type.dimensions, ...type.implied]);
  const out: Record<string, DataIdValue> = {};
  for (const [k, v] of Object.entries(entry.dataId)) if (keep.has(k)) out[k] = v;
  return out;
}

export interface SimulationIngestReport extends IngestReport {
  readonly instrument: string;
  readonly collections: ReturnType<typeof simulationCollections>;
}

/** Ingests the simulated dataset in `dir` into `repository` (see the module comment). */
export async function ingestSimulation(repository: Repository, dir: string, options: { transfer?: TransferMode } = {}): Promise<SimulationIngestReport> {
  const root = path.resolve(dir);
  const { instrument, files } = readManifest(root);
  const cameraFile = only(files, 'camera', root);
  const camera = readCameraFile(cameraFile.source);
  if (camera.instrument !== instrument) throw new RepositoryError(`${cameraFile.source}: instrument '${camera.instrument}' is not the manifest's '${instrument}'`);
  const raws = files.filter((f) => f.entry.datasetType === 'raw');
  const records = mergeRecords(instrumentRecords(camera), exposureRecords(camera, raws), skyMapFileRecords(only(files, 'skyMap', root).source));
  for (const f of files) {
    if (f.entry.datasetType !== 'raw' && /\.fits$/i.test(f.source)) readFitsChecked(f.source);
  }

  const c = simulationCollections(instrument);
  const runOf: Record<string, string> = { camera: c.calibRun, skyMap: c.skymaps, refCat: c.refcats, raw: c.raw, truth: c.truth, truth_catalog: c.truth };
  const ingestFiles: IngestFile[] = files.map(({ entry, source }) => ({
    datasetType: entry.datasetType, run: runOf[entry.datasetType]!, dataId: datasetDataId(entry), source,
    ...(entry.datasetType === 'camera' ? { certify: { collection: c.calib, range: { beginMjd: null, endMjd: null } } } : {}),
  }));

  const children = await defaultsChainChildren(repository, c.defaults, [c.raw, c.calib, c.refcats, c.skymaps]);

  const report = await repository.ingest({
    files: ingestFiles,
    dimensionRecords: records,
    datasetTypes: Object.values(INGEST_DATASET_TYPES),
    calibrationCollections: [c.calib],
    chains: [{ name: c.defaults, children }],
    ...(options.transfer ? { transfer: options.transfer } : {}),
  });
  return { ...report, instrument, collections: c };
}
