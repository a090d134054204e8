/**
 * Storage classes: how the in-memory objects tasks take and make (connection `storageClass`) become
 * bytes and back, the role of LSST daf_butler's formatters. Pure: bytes in, objects out, so the same
 * code serves the Node executor and a browser worker.
 * - RawFrame: a raw detector image, the first HDU with 16-bit unsigned data (BITPIX 16 with BZERO
 *   32768), and that HDU's header (lib/tasks/rawInput.ts);
 * - Camera: a camera description, YAML or JSON (lib/sim/camera.ts);
 * - Exposure: an afw-layout multi-extension FITS file (lib/fits/exposure.ts), written with DATASUM and
 *   CHECKSUM, its planes tile-compressed for an output whose connection asks for the 'lossless' recipe;
 *   an exposure with a PSF model (`psf`, lib/measure/psfModel.ts) carries it as a PSFEx PSF_DATA table
 *   after VARIANCE (PSFEx, GalSim and this reader read it back); a calibration product is an Exposure
 *   whose primary header carries its validity (VALIDBEG, VALIDEND: lib/tasks/calibrationBuilder.ts),
 *   which `calibrationValidity` reads back;
 * - ImageU: an afw ImageU, one unsigned 16-bit image with its frame's WCS and origin (lib/fits/imageU.ts:
 *   a coadd's nImage);
 * - SourceCatalog: a columnar source table, a FITS binary table (lib/measure/sourceCatalog.ts);
 * - FootprintSet: footprints and peaks, SPANS and PEAKS binary tables (lib/measure/footprintSet.ts);
 * - DataFrame: a flat table (the object table, lib/coadd/objectTable.ts) as Parquet
 *   (lib/parquet/writeParquet.ts) with its units and column sources in the file metadata; write only;
 * - Background: a background list, one FITS binary table per model (lib/measure/background.ts);
 * - ReferenceShard: one shard of a reference catalogue (lib/sim/referenceCatalog.ts's REFCAT table);
 * - SkyMap: a sky map's JSON (lib/skymap/skyMap.ts), read only (make-skymap and ingest write it);
 * - TaskLog: a quantum's log, one JSON object per line.
 * Output is deterministic (the same object gives the same bytes), which resumable, bit-identical runs
 * rely on. A file that does not decode is a StorageClassError naming it and what is wrong.
 */
import { openFitsSync, readFitsBytes, type FitsBytes } from '../fits/file.js';
import type { SyncByteSource } from '../fits/source.js';
import { deferredExposureFile } from '../fits/deferredExposure.js';
import { readExposure, writeExposure, type Exposure } from '../fits/exposure.js';
import type { TileCompression } from '../fits/compressImage.js';
import type { GzipCodec } from '../fits/gzip.js';
import { readImageU, writeImageU, type ImageU } from '../fits/imageU.js';
import type { PsfexModel } from '../measure/psfModel.js';
import { CoaddPsf } from '../coadd/coaddPsf.js';
import { coaddPsfHdus, readCoaddPsf } from '../coadd/coaddPsfFile.js';
import { psfexModelFromTable, psfexTableHdu, PSFEX_EXTNAME } from '../measure/psfexFile.js';
import type { FitsHeader } from '../fits/header.js';
import { parseCameraDescription } from '../sim/camera.js';
import type { RawFrameInput } from '../tasks/rawInput.js';
import { readSourceCatalog, writeSourceCatalog, type SourceCatalog } from '../measure/sourceCatalog.js';
import { writeParquet } from '../parquet/writeParquet.js';
import type { ObjectTable } from '../coadd/objectTable.js';
import { readFootprintSet, writeFootprintSet, type FootprintSet } from '../measure/footprintSet.js';
import { readBackground, writeBackground, type BackgroundModel } from '../measure/background.js';
import { readReferenceShard } from '../sim/referenceCatalog.js';
import { skyMapFromJson } from '../skymap/skyMap.js';

export class StorageClassError extends Error {
  override readonly name = 'StorageClassError';
}

/** One line of a TaskLog. */
export interface TaskLogRecord {
  /** ISO 8601 UTC. */
  readonly time: string;
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields?: Readonly<Record<string, number | string | boolean>>;
}

/** The file name extension of each storage class's files. */
export const STORAGE_CLASS_EXTENSIONS: Readonly<Record<string, string>> = {
  RawFrame: 'fits',
  Camera: 'yaml',
  Exposure: 'fits',
  ImageU: 'fits',
  SourceCatalog: 'fits',
  FootprintSet: 'fits',
  DataFrame: 'parquet',
  Background: 'fits',
  ReferenceShard: 'fits',
  SkyMap: 'json',
  TaskLog: 'jsonl',
};

export function isStorageClass(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(STORAGE_CLASS_EXTENSIONS, name);
}

function decodeRaw(bytes: Uint8Array, name: string): RawFrameInput {
  const file = readFitsBytes(name, bytes);
  const hdu = file.hdus.find((h) => h.type === 'IMAGE' && h.shape.length === 2);
  if (!hdu) throw new StorageClassError(`${name}: no 2-D image HDU (a raw is one detector's pixels)`);
  const image = file.readImage(hdu.index);
  if (!(image.data instanceof Uint16Array)) {
    throw new StorageClassError(`${name}: HDU ${hdu.index} holds ${image.data.constructor.name} pixels (BITPIX ${image.bitpix}); a raw is 16-bit unsigned (BITPIX 16, BZERO 32768)`);
  }
  return { data: image.data, header: image.header };
}

/**
 * Decodes a dataset's bytes into the object of `storageClass`; `name` (the file) names it in errors;
 * `codec` inflates a tile-compressed Exposure's planes (default fflate's).
 */
export async function decodeDataset(storageClass: string, bytes: Uint8Array, name: string, codec?: GzipCodec): Promise<unknown> {
  switch (storageClass) {
    case 'RawFrame':
      return decodeRaw(bytes, name);
    case 'Camera':
      return parseCameraDescription(new TextDecoder('utf-8', { fatal: false }).decode(bytes), name);
    case 'Exposure': {
      const file = readFitsBytes(name, bytes, codec ? { codec } : {});
      const exposure: Exposure & { psf?: PsfexModel | CoaddPsf } = await readExposure(file);
      const psf = exposurePsf(file);
      if (psf) exposure.psf = psf;
      return exposure;
    }
    case 'ImageU':
      return readImageU(bytes, name);
    case 'SourceCatalog':
      return readSourceCatalog(bytes, name);
    case 'FootprintSet':
      return readFootprintSet(bytes, name);
    case 'DataFrame':
      throw new StorageClassError(`${name}: DataFrame (Parquet) datasets are written for analysis tools (pandas, pyarrow, DuckDB); no task reads one`);
    case 'Background':
      return readBackground(bytes, name);
    case 'ReferenceShard':
      return readReferenceShard(name, bytes);
    case 'SkyMap':
      try {
        return skyMapFromJson(new TextDecoder('utf-8', { fatal: true }).decode(bytes), name);
      } catch (err) {
        throw new StorageClassError((err as Error).message);
      }
    case 'TaskLog':
      return new TextDecoder().decode(bytes).split('\n').filter((l) => l !== '').map((line, i) => {
        try {
          return JSON.parse(line) as TaskLogRecord;
        } catch (err) {
          throw new StorageClassError(`${name}: line ${i + 1} is not JSON (${(err as Error).message})`);
        }
      });
    default:
      throw new StorageClassError(`${name}: no reader for storage class '${storageClass}' (known: ${Object.keys(STORAGE_CLASS_EXTENSIONS).join(', ')})`);
  }
}

/** The PSF model an Exposure file carries (a PSFEx grid, or a CoaddPsf with it), if any. */
function exposurePsf(file: FitsBytes): PsfexModel | CoaddPsf | undefined {
  const psfIndex = file.indexOf(PSFEX_EXTNAME);
  if (psfIndex <= 0) return undefined;
  const grid = psfexModelFromTable(file.hdu(psfIndex).header, file.readTable(psfIndex), file.name, psfIndex);
  return readCoaddPsf(file, grid, file.name) ?? grid;
}

/** A deferred dataset (a connection's deferLoad) and how to release its source. */
export interface DeferredDataset {
  value: unknown;
  close(): void;
}

/**
 * Opens a dataset for deferred reading over a synchronous source (a file, or bytes in memory): for an
 * Exposure, a DeferredExposure (its PSF model decoded now, its planes read when asked for). The
 * storage classes that can be deferred: Exposure.
 */
export function openDeferredDataset(storageClass: string, source: SyncByteSource, codec?: GzipCodec): DeferredDataset {
  if (storageClass !== 'Exposure') {
    source.close?.();
    throw new StorageClassError(`${source.name}: storage class '${storageClass}' cannot be read deferred (only Exposure)`);
  }
  const file = openFitsSync(source, codec ? { codec } : {});
  try {
    const psf = exposurePsf(file);
    const value = deferredExposureFile(file);
    return { value: psf ? Object.assign(value, { psf }) : value, close: () => file.close() };
  } catch (err) {
    file.close();
    throw err;
  }
}

/** Encodes an object of `storageClass` (an output of a task) into its file's bytes; an Exposure's planes tile-compressed with `compression`. */
export function encodeDataset(storageClass: string, value: unknown, name: string, compression?: TileCompression): Uint8Array {
  switch (storageClass) {
    case 'Exposure': {
      const exposure = value as Exposure & { psf?: PsfexModel | CoaddPsf };
      const psf = exposure.psf;
      const components = psf instanceof CoaddPsf ? [psfexTableHdu(psf.grid), ...coaddPsfHdus(psf, exposure.x0, exposure.y0)] : psf ? [psfexTableHdu(psf)] : [];
      return writeExposure(exposure, { checksum: true, name, ...(components.length ? { components } : {}), ...(compression ? { compression } : {}) });
    }
    case 'ImageU':
      return writeImageU(value as ImageU, { name });
    case 'SourceCatalog':
      return writeSourceCatalog(value as SourceCatalog, name);
    case 'FootprintSet':
      return writeFootprintSet(value as FootprintSet, name);
    case 'DataFrame': {
      const table = value as ObjectTable;
      return writeParquet({ numRows: table.numRows, columns: table.columns, metadata: { units: JSON.stringify(table.units), sources: JSON.stringify(table.sources) } }, name);
    }
    case 'Background':
      return writeBackground(value as readonly BackgroundModel[]);
    case 'TaskLog':
      return new TextEncoder().encode((value as readonly TaskLogRecord[]).map((r) => `${JSON.stringify(r)}\n`).join(''));
    default:
      throw new StorageClassError(`${name}: no writer for storage class '${storageClass}' (writable: Exposure, SourceCatalog, FootprintSet, DataFrame, Background, TaskLog)`);
  }
}

/** The [begin, end) validity in MJD that a calibration product's header records (null: open-ended). */
export function calibrationValidity(metadata: FitsHeader, name: string): { beginMjd: number; endMjd: number | null } {
  const begin = metadata.get('VALIDBEG');
  const end = metadata.get('VALIDEND');
  if (typeof begin !== 'number' || !Number.isFinite(begin)) throw new StorageClassError(`${name}: no VALIDBEG (MJD) in the primary header; not a calibration product`);
  if (end === 'OPEN' || end === undefined) return { beginMjd: begin, endMjd: null };
  if (typeof end !== 'number' || !(end > begin)) throw new StorageClassError(`${name}: VALIDEND ${String(end)} is not an MJD after VALIDBEG ${begin}`);
  return { beginMjd: begin, endMjd: end };
}
