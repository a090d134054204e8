/**
 * Ingest of instrument-signature-removed single-CCD images from other telescopes (e.g. DECam Community
 * Pipeline InstCal `*_ooi_*` files: bias, flat and crosstalk done, sky still in) as what they are in
 * LSST's terms, dataset type 'postISRCCD' (instrument, exposure, detector; storage class Exposure), as
 * obs_decam's DecamNullIsrTask hands InstCal images to characterizeImage: the single-frame tasks from
 * characterizeImage on then give them a background, PSF, WCS fit and photometric calibration (the
 * `images` subset of pipelines/DRP.yaml). Each is written in the afw Exposure layout by writeExposure,
 * into RUN `<instrument>/postISRCCD/ingested` (or the run given), with the instrument, detector, physical
 * filter, band, exposure, visit and visit_definition records, all in one batch.
 *
 * Per image file (the first HDU holding a 2-d image; keywords looked up in that HDU, then the primary)
 * the planes are read as node/fits/calibratedImage.ts does: IMAGE as float32, VARIANCE = 1/weight from the
 * weight file (default: the name with '_ooi_' replaced by '_oow_') or a robust sky variance, MASK from the
 * data-quality file (default '_ood_', CP integer codes), SAT at SATURATE; wcsHeader is the image HDU's header
 * (its TPV/SIP/linear celestial WCS kept), metadata the primary header.
 * Records: instrument from --instrument or INSTRUME; detector id = CCDNUM, else a stable number from the
 * detector name (CRC-32 of CCDNAME or EXTNAME, 31 bits); physical filter = FILTER, band = its first word;
 * exposure = visit = EXPNUM with MJD-OBS, EXPTIME, DATE-OBS (computed from MJD-OBS when absent) and the
 * observation type of OBSTYPE/IMAGETYP (science when absent). With a zero-point table
 * (node/repository/zeroPointTable.ts, e.g. legacyzpts' survey-ccds) each image's metadata gets MAGZERO
 * (AB magnitude of one count per second) and MAGZSRC (the table): an external photometric calibration
 * that calibrate falls back on. With PSF models (legacypipe's merged PSFEx tables, `calib/psfex`: a model
 * of the whole CCD, which a cut-out's few stars cannot give) each exposure carries its model (PSF_DATA,
 * PSFSRC), which characterizeImage's psfFallback takes before a Gaussian. Every file is checked before
 * anything is written; errors name the file and what is missing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32, writeExposure, type FitsHeader } from '../../lib/fits/index.js';
import { parseWcs } from '../../lib/wcs/index.js';
import { detectorSkyPolygon, regionToJson } from '../../lib/skymap/index.js';
import { taskDatasetType, type DatasetType } from './datasetTypes.js';
import type { DimensionRecord, DimensionRecords } from './dimensions.js';
import { withScratchDir } from './ingestCommon.js';
import { readFitsChecked } from '../fits/fileSource.js';
import { companionHdu, firstImageHdu, readCalibratedImage } from '../fits/calibratedImage.js';
import { observationTypeOf } from './rawIngest.js';
import { RepositoryError, type IngestFile, type IngestReport, type Repository } from './repository.js';
import { readZeroPointTable, exposureCcdKey } from './zeroPointTable.js';
import { readMergedPsfexTable } from '../../lib/measure/psfexFile.js';
import type { PsfexModel } from '../../lib/measure/psfModel.js';
import { encodeDataset } from '../../lib/pipeline/storageClasses.js';

/** The ISR output's dataset type as the pipeline registers it (lib/tasks/isr.ts), which characterizeImage reads. */
export const POST_ISR_DATASET_TYPE: DatasetType = taskDatasetType('postISRCCD', ['instrument', 'exposure', 'detector'], 'Exposure', 'fits');

/** Default companion-file substitutions (DECam CP names). */
export const DEFAULT_WEIGHT_PATTERN = '_ooi_=_oow_';
export const DEFAULT_MASK_PATTERN = '_ooi_=_ood_';

/** A companion-file rule `FROM=TO`: the image's file name with FROM replaced by TO; or 'none'. */
export interface CompanionPattern {
  readonly from: string;
  readonly to: string;
  /** Given by the user: a missing file is an error, not a fallback. */
  readonly explicit: boolean;
}

/** Parses `FROM=TO` (or 'none' -> undefined); throws RepositoryError on another form. */
export function parseCompanionPattern(text: string, what: string, explicit: boolean): CompanionPattern | undefined {
  if (text.trim().toLowerCase() === 'none') return undefined;
  const at = text.indexOf('=');
  if (at <= 0 || at === text.length - 1) throw new RepositoryError(`--${what} must be FROM=TO (e.g. ${what === 'weight' ? DEFAULT_WEIGHT_PATTERN : DEFAULT_MASK_PATTERN}) or none, got '${text}'`);
  return { from: text.slice(0, at), to: text.slice(at + 1), explicit };
}

/** The companion file of `source` under `pattern`, or undefined when there is none to use. */
function companionOf(source: string, pattern: CompanionPattern | undefined, what: string): string | undefined {
  if (!pattern) return undefined;
  const base = path.basename(source);
  if (!base.includes(pattern.from)) {
    if (pattern.explicit) throw new RepositoryError(`${source}: its name has no '${pattern.from}' to find the ${what} file by`);
    return undefined;
  }
  const file = path.join(path.dirname(source), base.replace(pattern.from, pattern.to));
  if (fs.existsSync(file)) return file;
  if (pattern.explicit) throw new RepositoryError(`${source}: its ${what} file ${file} is not found`);
  return undefined;
}

/** One image file as read and checked. */
export interface ImageInfo {
  readonly source: string;
  readonly weight?: string;
  readonly mask?: string;
  readonly hdu: number;
  readonly width: number;
  readonly height: number;
  readonly instrument: string;
  readonly detector: number;
  readonly detectorName: string;
  readonly detectorSerial: string;
  readonly physicalFilter: string;
  readonly band: string;
  readonly exposure: number;
  readonly observationType: string;
  readonly dateObs: string;
  readonly mjd: number;
  readonly exposureTime: number;
  /** The image's outline on the sky through its WCS (lib/skymap/detectorRegion.ts), registry form. */
  readonly region: string;
  readonly saturation?: number;
  /** External zero point: AB magnitude of one count per second, and the table it came from. */
  readonly zeroPoint?: { readonly value: number; readonly source: string };
  /** External PSF model (a merged PSFEx table's row), and the file it came from. */
  readonly psf?: { readonly model: PsfexModel; readonly source: string };
}

function text(headers: readonly FitsHeader[], key: string): string | undefined {
  for (const h of headers) {
    const v = h.get(key);
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
    if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  }
  return undefined;
}

function num(headers: readonly FitsHeader[], key: string): number | undefined {
  for (const h of headers) {
    if (h.get(key) === undefined) continue;
    return h.getNumber(key);
  }
  return undefined;
}

/** Stable detector number of a detector name: CRC-32 of its UTF-8 bytes, 31 bits. */
export function detectorNumberOfName(name: string): number {
  return crc32(new TextEncoder().encode(name)) & 0x7fffffff;
}

/** Reads and checks one image (see the module comment); errors name the file and what is missing. */
export function readImageInfo(source: string, options: { instrument?: string; weight?: CompanionPattern; mask?: CompanionPattern } = {}): ImageInfo {
  const fail = (problem: string): never => {
    throw new RepositoryError(`${source}: ${problem}`);
  };
  const file = readFitsChecked(source);
  const hdu = firstImageHdu(file.hdus) ?? fail('has no HDU with a 2-d image');
  const primary = file.hdu(0).header;
  const headers = hdu.index === 0 ? [hdu.header] : [hdu.header, primary];
  let wcs;
  try {
    wcs = parseWcs(hdu.header, { source, hdu: hdu.index });
  } catch (err) {
    fail(`HDU ${hdu.index} has an unusable WCS: ${(err as Error).message}`);
  }
  if (!wcs) fail(`HDU ${hdu.index} has no celestial WCS (CTYPE1/CTYPE2 RA---xxx/DEC--xxx)`);

  const need = (key: string, what: string): string => text(headers, key) ?? fail(`has no ${key} (${what})`);
  const instrument = options.instrument ?? text(headers, 'INSTRUME') ?? fail('has no INSTRUME (the instrument); give --instrument');
  const physicalFilter = need('FILTER', 'the physical filter');
  const band = physicalFilter.split(/\s+/)[0]!;
  const numberOf = (key: string, what: string): number => {
    const v = num(headers, key);
    if (v === undefined) fail(text(headers, key) === undefined ? `has no ${key} (${what})` : `${key} = ${JSON.stringify(text(headers, key))} is not a number (${what})`);
    return v!;
  };
  const exposureTime = numberOf('EXPTIME', 'the exposure time');
  const mjd = numberOf('MJD-OBS', 'the observation MJD');
  const exposure = numberOf('EXPNUM', 'the exposure number');
  if (!Number.isSafeInteger(exposure) || exposure < 0) fail(`EXPNUM = ${exposure} is not a non-negative integer`);
  const dateObs = text(headers, 'DATE-OBS') ?? new Date((mjd - 40587) * 86_400_000).toISOString();

  const ccdName = text(headers, 'CCDNAME') ?? hdu.extname?.trim();
  const ccdNum = num(headers, 'CCDNUM');
  if (ccdNum === undefined && ccdName === undefined) fail('has no CCDNUM, CCDNAME or EXTNAME (the detector)');
  if (ccdNum !== undefined && (!Number.isSafeInteger(ccdNum) || ccdNum < 0)) fail(`CCDNUM = ${ccdNum} is not a non-negative integer`);
  const detector = ccdNum ?? detectorNumberOfName(ccdName!);
  const detectorName = ccdName ?? `ccd${detector}`;
  const saturation = num(headers, 'SATURATE');
  const weight = companionOf(source, options.weight, 'weight');
  const mask = companionOf(source, options.mask, 'mask');
  if (weight) companionHdu(source, weight, 'weight', hdu);
  if (mask) companionHdu(source, mask, 'mask', hdu);
  return {
    source, hdu: hdu.index, width: hdu.shape[1]!, height: hdu.shape[0]!, instrument,
    detector, detectorName, detectorSerial: text(headers, 'DETECTOR') ?? detectorName,
    physicalFilter, band, exposure, observationType: observationTypeOf(text(headers, 'OBSTYPE') ?? text(headers, 'IMAGETYP') ?? 'science'),
    dateObs, mjd, exposureTime, region: regionToJson(detectorSkyPolygon(wcs!, hdu.shape[1]!, hdu.shape[0]!)),
    ...(weight ? { weight } : {}), ...(mask ? { mask } : {}), ...(saturation !== undefined ? { saturation } : {}),
  };
}

/** The afw Exposure bytes of a checked image (see the module comment). */
export function buildExposureBytes(info: ImageInfo): Uint8Array {
  const exposure = readCalibratedImage(info.source, {
    hdu: info.hdu, ...(info.weight ? { weight: info.weight } : {}), ...(info.mask ? { mask: info.mask } : {}),
    ...(info.saturation !== undefined ? { saturation: info.saturation } : {}),
  });
  exposure.metadata.set('INGSRC', path.basename(info.source), 'image file this exposure was ingested from');
  if (info.zeroPoint) {
    exposure.metadata.set('MAGZERO', info.zeroPoint.value, '[mag] external AB zero point of one count per second', { real: true });
    exposure.metadata.set('MAGZSRC', path.basename(info.zeroPoint.source), 'table the external zero point came from');
  }
  if (!info.psf) return writeExposure(exposure, { checksum: true, name: info.source });
  exposure.metadata.set('PSFSRC', path.basename(info.psf.source), 'file the external PSF model came from');
  return encodeDataset('Exposure', { ...exposure, psf: info.psf.model }, info.source);
}

/** The dimension records of checked images; images of one exposure must agree, detectors and (visit, detector) pairs must not clash. */
export async function imageRecords(repository: Repository, images: readonly ImageInfo[]): Promise<DimensionRecords> {
  const instrumentName = images[0]!.instrument;
  const detectors = new Map<number, { record: DimensionRecord; source: string }>();
  const exposures = new Map<number, { record: DimensionRecord; source: string }>();
  const seen = new Map<string, string>();
  for (const im of images) {
    const key = `${im.exposure}/${im.detector}`;
    const twin = seen.get(key);
    if (twin) throw new RepositoryError(`${im.source} and ${twin} are both visit ${im.exposure}, detector ${im.detector}`);
    seen.set(key, im.source);
    const det: DimensionRecord = { instrument: im.instrument, id: im.detector, name: im.detectorName, serial: im.detectorSerial };
    const d = detectors.get(im.detector);
    if (d && d.record.name !== det.name) throw new RepositoryError(`${im.source}: detector ${im.detector} is named ${det.name}, but ${d.record.name} in ${d.source}`);
    if (!d) detectors.set(im.detector, { record: det, source: im.source });
    const exp: DimensionRecord = {
      instrument: im.instrument, id: im.exposure, observation_type: im.observationType, physical_filter: im.physicalFilter, band: im.band,
      date_obs: im.dateObs, mjd: im.mjd, exposure_time: im.exposureTime,
    };
    const e = exposures.get(im.exposure);
    if (e) {
      const differs = Object.keys(exp).find((k) => exp[k] !== e.record[k]);
      if (differs) throw new RepositoryError(`${im.source}: ${differs} ${JSON.stringify(exp[differs])} differs from ${JSON.stringify(e.record[differs])} in ${e.source} of the same exposure ${im.exposure}`);
    } else exposures.set(im.exposure, { record: exp, source: im.source });
  }
  const registered = (await repository.registry.dimensionRecords('instrument')).some((r) => r.name === instrumentName);
  const exps = [...exposures.values()].map((e) => e.record);
  return {
    ...(registered ? {} : { instrument: [{ name: instrumentName, camera: instrumentName, detector_count: detectors.size }] }),
    band: [...new Set(images.map((i) => i.band))].map((name) => ({ name })),
    physical_filter: [...new Map(images.map((i) => [i.physicalFilter, { instrument: instrumentName, name: i.physicalFilter, band: i.band }])).values()],
    detector: [...detectors.values()].map((d) => d.record),
    exposure: exps,
    visit: exps.map((e) => ({ instrument: e.instrument!, id: e.id!, physical_filter: e.physical_filter!, band: e.band!, date_obs: e.date_obs!, mjd: e.mjd!, exposure_time: e.exposure_time! })),
    visit_definition: exps.map((e) => ({ instrument: e.instrument!, exposure: e.id!, visit: e.id! })),
    visit_detector_region: images.map((im) => ({ instrument: instrumentName, visit: im.exposure, detector: im.detector, region: im.region })),
  };
}

export interface ImageIngestOptions {
  readonly instrument?: string;
  /** `FROM=TO` or 'none'; default DEFAULT_WEIGHT_PATTERN (a missing file then falls back to the sky estimate). */
  readonly weight?: string;
  /** `FROM=TO` or 'none'; default DEFAULT_MASK_PATTERN. */
  readonly mask?: string;
  readonly run?: string;
  /** A zero-point table (node/repository/zeroPointTable.ts); every image must have a row in it. */
  readonly zeroPoints?: string;
  /** A merged PSFEx table, or a folder searched for them (`*.fits`); every image must have a row in one. */
  readonly psfModels?: string;
}

export interface ImageIngestReport extends IngestReport {
  readonly instrument: string;
  readonly run: string;
  readonly images: readonly ImageInfo[];
}

/** Ingests instrument-signature-removed images as postISRCCD datasets (see the module comment). */
export async function ingestImages(repository: Repository, files: readonly string[], options: ImageIngestOptions = {}): Promise<ImageIngestReport> {
  if (files.length === 0) throw new RepositoryError('no image files to ingest');
  const weight = parseCompanionPattern(options.weight ?? DEFAULT_WEIGHT_PATTERN, 'weight', options.weight !== undefined);
  const mask = parseCompanionPattern(options.mask ?? DEFAULT_MASK_PATTERN, 'mask', options.mask !== undefined);
  const zeroPoints = options.zeroPoints !== undefined ? readZeroPointTable(path.resolve(options.zeroPoints)) : undefined;
  const psfModels = options.psfModels !== undefined ? readPsfModels(path.resolve(options.psfModels)) : undefined;
  const images = files.map((f) => {
    const info = readImageInfo(path.resolve(f), {
      ...(options.instrument !== undefined ? { instrument: options.instrument } : {}), ...(weight ? { weight } : {}), ...(mask ? { mask } : {}),
    });
    const key = exposureCcdKey(info.exposure, info.detectorName);
    let out: ImageInfo = info;
    if (zeroPoints) {
      const value = zeroPoints.get(key);
      if (value === undefined) throw new RepositoryError(`${info.source}: the zero-point table ${options.zeroPoints} has no row for exposure ${info.exposure}, CCD ${info.detectorName}`);
      out = { ...out, zeroPoint: { value, source: options.zeroPoints! } };
    }
    if (psfModels) {
      const psf = psfModels.get(key);
      if (!psf) throw new RepositoryError(`${info.source}: no PSF model in ${options.psfModels} for exposure ${info.exposure}, CCD ${info.detectorName}`);
      out = { ...out, psf };
    }
    return out;
  });
  const instrument = images[0]!.instrument;
  const other = images.find((i) => i.instrument !== instrument);
  if (other) throw new RepositoryError(`${other.source}: instrument ${other.instrument} differs from ${instrument} of ${images[0]!.source}; ingest one instrument at a time`);
  const run = options.run ?? `${instrument}/postISRCCD/ingested`;
  const records = await imageRecords(repository, images);
  const report = await withScratchDir('images', async (dir) => {
    const ingestFiles: IngestFile[] = images.map((im, i) => {
      const out = path.join(dir, `${i}-${path.basename(im.source).replace(/\.fits?(\.fz|\.gz)?$/i, '')}.fits`);
      fs.writeFileSync(out, buildExposureBytes(im));
      return {
        datasetType: POST_ISR_DATASET_TYPE.name, run, source: out,
        dataId: { instrument, detector: im.detector, exposure: im.exposure, visit: im.exposure, band: im.band, physical_filter: im.physicalFilter, observation_type: im.observationType },
      };
    });
    return repository.ingest({ files: ingestFiles, dimensionRecords: records, datasetTypes: [POST_ISR_DATASET_TYPE], transfer: 'copy' });
  });
  return { ...report, instrument, run, images };
}

/** The PSF models of a merged PSFEx table, or of every `*.fits` under a folder, by `${exposure}/${CCD name}`. */
function readPsfModels(source: string): Map<string, { model: PsfexModel; source: string }> {
  if (!fs.existsSync(source)) throw new RepositoryError(`${source}: no such PSF model file or folder`);
  const files = fs.statSync(source).isDirectory()
    ? (fs.readdirSync(source, { recursive: true }) as string[]).filter((f) => /\.fits(\.gz)?$/i.test(f)).map((f) => path.join(source, f)).sort()
    : [source];
  if (files.length === 0) throw new RepositoryError(`${source}: no FITS file to read PSF models from`);
  const out = new Map<string, { model: PsfexModel; source: string }>();
  for (const file of files) {
    let rows;
    try {
      rows = readMergedPsfexTable(fs.readFileSync(file), file);
    } catch (err) {
      throw new RepositoryError(`${file}: not a merged PSFEx table: ${(err as Error).message}`);
    }
    for (const r of rows) out.set(exposureCcdKey(r.exposure, r.ccdName), { model: r.model, source: file });
  }
  return out;
}
