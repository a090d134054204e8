/**
 * Ingest of raws from a real instrument described by a camera description file (lib/sim/camera.ts's
 * CAMERA.yaml format), as LSST's `butler register-instrument` + `ingest-raws`: the instrument, its
 * detectors, physical filters and bands (a physical filter the camera's `filters` list does not map
 * gets the band of its own name), the camera description as the 'camera' dataset (certified with
 * unbounded validity in `<instrument>/calib`), one exposure record per exposure and the raws, into
 * `<instrument>/raw/all`; the CHAINED `<instrument>/defaults` gains raw/all and calib.
 *
 * Each raw is read through the camera's `headerKeys` in its `rawHdu`:
 *   filter, exposureTime, date, imageType are required (a numeric filter value such as SAAO's
 *   FILTERS = 48 is the physical filter '48');
 *   mjd: when absent, computed from the date (ISO 8601, UTC; a date alone is its 00:00);
 *   detector: when absent, the camera must have exactly one detector;
 *   exposureId: when absent, the last run of digits in the file name (a8280271.fits -> 8280271).
 * observation_type comes from the image type: OBJECT/SCIENCE/LIGHT -> science, BIAS/ZERO -> bias,
 * DARK -> dark, FLAT/DOMEFLAT/SKYFLAT/FLATFIELD/TWILIGHT -> flat, anything else lower-cased.
 * Every file is checked before anything is registered (readable FITS, the raw HDU exists and has the
 * detector's rawWidth x rawHeight, required keywords present, files of one exposure agree); errors
 * name the file and the keyword. Everything is registered in one transaction.
 */
import path from 'node:path';
import type { Camera } from '../../lib/sim/camera.js';
import type { FitsHeader } from '../../lib/fits/index.js';
import type { DimensionRecord, DimensionRecords } from './dimensions.js';
import { INGEST_DATASET_TYPES } from './datasetTypes.js';
import type { TransferMode } from './datastore.js';
import { defaultsChainChildren, instrumentRecords, mergeRecords, readCameraFile } from './ingestCommon.js';
import { readFitsChecked } from '../fits/fileSource.js';
import { simulationCollections } from './simulationIngest.js';
import { RepositoryError, type IngestFile, type IngestReport, type Repository } from './repository.js';

const OBSERVATION_TYPES: Readonly<Record<string, string>> = {
  OBJECT: 'science', SCIENCE: 'science', LIGHT: 'science',
  BIAS: 'bias', ZERO: 'bias',
  DARK: 'dark',
  FLAT: 'flat', DOMEFLAT: 'flat', SKYFLAT: 'flat', FLATFIELD: 'flat', TWILIGHT: 'flat',
};

/** The observation type of an image-type keyword value. */
export function observationTypeOf(imageType: string): string {
  const key = imageType.trim().toUpperCase().replace(/[\s_-]+/g, '');
  return OBSERVATION_TYPES[key] ?? imageType.trim().toLowerCase();
}

/** MJD (UTC) of an ISO 8601 date or date-time; undefined when it is not one. */
export function mjdFromIsoDate(date: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}(?:\.\d*)?))?)?Z?$/.exec(date.trim());
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), 0) + Number(m[6] ?? 0) * 1000;
  if (!Number.isFinite(ms)) return undefined;
  return ms / 86_400_000 + 40587;
}

/** One raw file as read and checked. */
export interface RawInfo {
  readonly source: string;
  readonly exposure: number;
  readonly detector: number;
  readonly physicalFilter: string;
  readonly band: string;
  readonly observationType: string;
  readonly dateObs: string;
  readonly mjd: number;
  readonly exposureTime: number;
}

function headerText(header: FitsHeader, key: string): string | undefined {
  const v = header.get(key);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}

/** Reads and checks one raw against the camera (see the module comment); errors name the file and keyword. */
export function readRawInfo(camera: Camera, source: string): RawInfo {
  const keys = camera.headerKeys;
  const fail = (problem: string): never => {
    throw new RepositoryError(`${source}: ${problem}`);
  };
  const file = readFitsChecked(source);
  if (camera.rawHdu >= file.hdus.length) fail(`has ${file.hdus.length} HDU(s); the camera's raws are in HDU ${camera.rawHdu}`);
  const hdu = file.hdu(camera.rawHdu);
  const header = hdu.header;
  const need = (what: string, key: string): string => headerText(header, key) ?? fail(`header (HDU ${camera.rawHdu}) has no ${key} (the camera's ${what} keyword)`);

  let detectorId: number;
  const headerDetector = header.get(keys.detector);
  if (headerDetector === undefined) {
    if (camera.detectors.length !== 1) fail(`header has no ${keys.detector} (the camera's detector keyword) and the camera has ${camera.detectors.length} detectors`);
    detectorId = camera.detectors[0]!.id;
  } else {
    const n = header.getInteger(keys.detector);
    detectorId = n ?? fail(`header ${keys.detector} = ${JSON.stringify(headerDetector)} is not an integer detector id`);
  }
  const detector = camera.detectors.find((d) => d.id === detectorId) ?? fail(`header ${keys.detector} = ${detectorId} is not one of the camera's detectors`);
  const [ny, nx] = hdu.shape;
  if (hdu.type !== 'IMAGE' || hdu.shape.length !== 2 || nx !== detector.rawWidth || ny !== detector.rawHeight) {
    fail(`HDU ${camera.rawHdu} is ${hdu.type === 'IMAGE' && hdu.shape.length ? [...hdu.shape].reverse().join('x') : `a ${hdu.type} HDU without a 2-d image`}, `
      + `but detector ${detector.id} (${detector.name}) has a ${detector.rawWidth}x${detector.rawHeight} raw`);
  }

  const physicalFilter = need('filter', keys.filter);
  const imageType = need('imageType', keys.imageType);
  const dateObs = need('date', keys.date);
  const exposureTime = header.getNumber(keys.exposureTime);
  if (exposureTime === undefined) {
    if (header.get(keys.exposureTime) === undefined) fail(`header (HDU ${camera.rawHdu}) has no ${keys.exposureTime} (the camera's exposureTime keyword)`);
    fail(`header ${keys.exposureTime} = ${JSON.stringify(header.get(keys.exposureTime))} is not a number`);
  }
  let mjd = header.getNumber(keys.mjd);
  if (mjd === undefined) {
    mjd = mjdFromIsoDate(dateObs) ?? fail(`header has no ${keys.mjd} and ${keys.date} = '${dateObs}' is not an ISO 8601 date to compute it from`);
  }
  let exposure: number;
  if (header.get(keys.exposureId) !== undefined) {
    exposure = header.getInteger(keys.exposureId) ?? fail(`header ${keys.exposureId} = ${JSON.stringify(header.get(keys.exposureId))} is not an integer`);
  } else {
    const digits = /(\d+)(?!.*\d)/.exec(path.basename(source).replace(/\.fits?(\.gz)?$/i, ''));
    exposure = digits ? Number(digits[1]) : fail(`header has no ${keys.exposureId} (the camera's exposureId keyword) and the file name has no number to use`);
    if (!Number.isSafeInteger(exposure)) fail(`the exposure number ${digits![1]} from the file name is too large; give ${keys.exposureId} in the header`);
  }
  const band = camera.filters.find((f) => f.physical === physicalFilter)?.band ?? physicalFilter;
  return { source, exposure, detector: detector.id, physicalFilter, band, observationType: observationTypeOf(imageType), dateObs, mjd, exposureTime: exposureTime! };
}

/** Band, physical filter and exposure records of checked raws; files of one exposure must agree. */
export function rawExposureRecords(camera: Camera, raws: readonly RawInfo[]): DimensionRecords {
  const mapped = new Set(camera.filters.map((f) => f.physical));
  const extraFilters = new Map<string, DimensionRecord>();
  const exposures = new Map<number, { record: DimensionRecord; source: string }>();
  const seen = new Map<string, string>();
  for (const r of raws) {
    const key = `${r.exposure}/${r.detector}`;
    const twin = seen.get(key);
    if (twin) throw new RepositoryError(`${r.source} and ${twin} are both exposure ${r.exposure}, detector ${r.detector}`);
    seen.set(key, r.source);
    if (!mapped.has(r.physicalFilter)) extraFilters.set(r.physicalFilter, { instrument: camera.instrument, name: r.physicalFilter, band: r.band });
    const record: DimensionRecord = {
      instrument: camera.instrument, id: r.exposure, observation_type: r.observationType, physical_filter: r.physicalFilter, band: r.band,
      date_obs: r.dateObs, mjd: r.mjd, exposure_time: r.exposureTime,
    };
    const previous = exposures.get(r.exposure);
    if (previous) {
      const differs = Object.keys(record).find((k) => record[k] !== previous.record[k]);
      if (differs) throw new RepositoryError(`${r.source}: ${differs} ${JSON.stringify(record[differs])} differs from ${JSON.stringify(previous.record[differs])} in ${previous.source} of the same exposure ${r.exposure}`);
      continue;
    }
    exposures.set(r.exposure, { record, source: r.source });
  }
  const extra = [...extraFilters.values()];
  return {
    band: extra.map((f) => ({ name: f.band })),
    physical_filter: extra,
    exposure: [...exposures.values()].map((e) => e.record),
  };
}

export interface RawIngestReport extends IngestReport {
  readonly instrument: string;
  readonly raws: readonly RawInfo[];
  readonly collections: { raw: string; calib: string; defaults: string };
}

/** Ingests raw files described by the camera description `cameraFile` (see the module comment). */
export async function ingestRaws(repository: Repository, cameraFile: string, files: readonly string[], options: { transfer?: TransferMode } = {}): Promise<RawIngestReport> {
  if (files.length === 0) throw new RepositoryError('no raw files to ingest');
  const cameraSource = path.resolve(cameraFile);
  const camera = readCameraFile(cameraSource);
  const raws = files.map((f) => readRawInfo(camera, path.resolve(f)));
  const records = mergeRecords(instrumentRecords(camera), rawExposureRecords(camera, raws));
  // A band named by both the camera and an unmapped filter is one record.
  records.band = [...new Map((records.band ?? []).map((b) => [b.name, b])).values()];

  const c = simulationCollections(camera.instrument);
  const ingestFiles: IngestFile[] = [
    { datasetType: 'camera', run: c.calibRun, dataId: { instrument: camera.instrument }, source: cameraSource, certify: { collection: c.calib, range: { beginMjd: null, endMjd: null } } },
    ...raws.map((r) => ({
      datasetType: 'raw', run: c.raw, source: r.source,
      dataId: { instrument: camera.instrument, detector: r.detector, exposure: r.exposure, band: r.band, physical_filter: r.physicalFilter, observation_type: r.observationType },
    })),
  ];
  const children = await defaultsChainChildren(repository, c.defaults, [c.raw, c.calib]);
  const report = await repository.ingest({
    files: ingestFiles,
    dimensionRecords: records,
    datasetTypes: [INGEST_DATASET_TYPES.camera!, INGEST_DATASET_TYPES.raw!],
    calibrationCollections: [c.calib],
    chains: [{ name: c.defaults, children }],
    ...(options.transfer ? { transfer: options.transfer } : {}),
  });
  return { ...report, instrument: camera.instrument, raws, collections: { raw: c.raw, calib: c.calib, defaults: c.defaults } };
}
