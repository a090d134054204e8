/**
 * External photometric zero points for `tessera ingest-images`: a FITS table with one row per exposure
 * and detector, as legacypipe's legacyzpts writes for DECam Community Pipeline images (`survey-ccds`:
 * `expnum`, `ccdname` and `ccdzpt`, the AB magnitude of one image count per second, calibrated to PS1).
 * LSST's pipelines take such calibrations as external PhotoCalibs (jointcal/FGCM,
 * `useExternalPhotoCalib`); calibrate uses one only where it cannot fit its own (lib/tasks/calibrateCatalog.ts).
 */
import type { BinTableColumn } from '../../lib/fits/bintable.js';
import { readFitsChecked } from '../fits/fileSource.js';
import { RepositoryError } from './repository.js';

/** Zero points (AB mag of one count per second) by `${exposure}/${detector name}`. */
export type ZeroPointTable = ReadonlyMap<string, number>;

export const exposureCcdKey = (exposure: number, detectorName: string): string => `${exposure}/${detectorName.trim()}`;

/** Reads the zero points of the first binary table in `source` (columns expnum, ccdname and `column`). */
export function readZeroPointTable(source: string, column = 'ccdzpt'): ZeroPointTable {
  const file = readFitsChecked(source);
  const index = file.hdus.findIndex((h) => h.type === 'BINTABLE');
  if (index < 0) throw new RepositoryError(`${source}: no binary table HDU to read zero points from`);
  let columns: BinTableColumn[];
  try {
    columns = file.readTable(index).columns;
  } catch (err) {
    throw new RepositoryError(`cannot read ${source} HDU ${index}: ${(err as Error).message}`);
  }
  const find = (name: string): BinTableColumn => columns.find((c) => c.name.toLowerCase() === name.toLowerCase())
    ?? (() => { throw new RepositoryError(`${source}: HDU ${index} has no column '${name}' (columns: ${columns.map((c) => c.name).join(', ')})`); })();
  const expnum = find('expnum'), ccdname = find('ccdname'), zpt = find(column);
  if (!Array.isArray(ccdname.values) || typeof ccdname.values[0] !== 'string') throw new RepositoryError(`${source}: column 'ccdname' is not a string column`);
  for (const c of [expnum, zpt]) {
    if (!ArrayBuffer.isView(c.values) || c.repeat !== 1) throw new RepositoryError(`${source}: column '${c.name}' (TFORM ${c.tform}) is not a numeric column with one value per row`);
  }
  const out = new Map<string, number>();
  const names = ccdname.values as string[];
  const exposures = expnum.values as ArrayLike<number | bigint>, zps = zpt.values as ArrayLike<number>;
  for (let i = 0; i < names.length; i++) {
    const zp = Number(zps[i]);
    if (!Number.isFinite(zp)) continue;
    out.set(exposureCcdKey(Number(exposures[i]), names[i]!), zp);
  }
  return out;
}
