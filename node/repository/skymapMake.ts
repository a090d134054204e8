/**
 * A sky map made to cover the images of a collection, as LSST's `butler register-skymap` with a
 * discrete sky map: one tract (id 0, `makeTractCovering`: centred on the images' mean direction, TAN,
 * with every image corner and edge midpoint at least a patch border inside it) cut into patches. Each
 * image's footprint comes from the WCS of its header (the first image HDU with a celestial WCS; for
 * raws, the header WCS of the raw), through lib/wcs at the pixel edges (0-based centres, edges at
 * -0.5 and n - 0.5). The sky map is stored as the 'skyMap' dataset in RUN `skymaps` (or a given run)
 * and its skymap, tract and patch dimension records are registered in the same transaction. An image
 * without a celestial WCS is an error naming its file and data ID; datasets whose observation_type is
 * not 'science' (bias, dark, flat) are left out.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseWcs } from '../../lib/wcs/index.js';
import { makeSkyMap, makeTractCovering, skyMapToJson, SKYMAP_PRESETS, type SkyMap, type Tract } from '../../lib/skymap/index.js';
import { formatDataId } from './dimensions.js';
import { INGEST_DATASET_TYPES } from './datasetTypes.js';
import { skyMapRecords, withScratchDir } from './ingestCommon.js';
import { readFitsChecked } from '../fits/fileSource.js';
import { RepositoryError, type IngestReport, type Repository } from './repository.js';

export interface MakeSkyMapOptions {
  /** Collection whose images the tract covers. */
  readonly around: string;
  /** Dataset type of the images (default 'raw'). */
  readonly datasetType?: string;
  readonly name?: string;
  readonly run?: string;
  readonly patchInnerSize?: number;
  readonly patchBorder?: number;
  readonly pixelScaleArcsec?: number;
}

export const DEFAULT_SKYMAP_NAME = 'covering';

/** Sky positions of an image's corners and edge midpoints through the WCS of its first image HDU with one. */
export function imageFootprint(file: string, label: string): [number, number][] {
  const fits = readFitsChecked(file);
  for (const hdu of fits.hdus) {
    if (hdu.type !== 'IMAGE' || hdu.shape.length !== 2) continue;
    let wcs;
    try {
      wcs = parseWcs(hdu.header, { source: file, hdu: hdu.index });
    } catch (err) {
      throw new RepositoryError(`${file} (${label}): HDU ${hdu.index} has an unusable WCS: ${(err as Error).message}`);
    }
    if (!wcs) continue;
    const [ny, nx] = hdu.shape as [number, number];
    const xs = [-0.5, (nx - 1) / 2, nx - 0.5];
    const ys = [-0.5, (ny - 1) / 2, ny - 0.5];
    const points: [number, number][] = [];
    for (const x of xs) for (const y of ys) if (x !== xs[1] || y !== ys[1]) points.push(wcs.pixelToSky(x, y));
    return points;
  }
  throw new RepositoryError(`${file} (${label}): no image HDU with a celestial WCS, so its footprint on the sky is unknown`);
}

export interface MakeSkyMapReport extends IngestReport {
  readonly skyMap: SkyMap;
  readonly tract: Tract;
  readonly run: string;
  readonly images: number;
}

/** Builds the covering sky map of a collection's images and registers it (see the module comment). */
export async function makeCoveringSkyMap(repository: Repository, options: MakeSkyMapOptions): Promise<MakeSkyMapReport> {
  const datasetType = options.datasetType ?? 'raw';
  const name = options.name ?? DEFAULT_SKYMAP_NAME;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new RepositoryError(`sky map name '${name}' must be letters, digits, '_', '.' or '-'`);
  const preset = SKYMAP_PRESETS.hsc;
  const patchInnerSize = options.patchInnerSize ?? preset.patchInnerSize;
  const patchBorder = options.patchBorder ?? preset.patchBorder;
  const pixelScaleArcsec = options.pixelScaleArcsec ?? preset.pixelScaleArcsec;
  if (!Number.isSafeInteger(patchInnerSize) || patchInnerSize < 1) throw new RepositoryError(`patch size must be a positive integer, got ${patchInnerSize}`);
  if (!Number.isSafeInteger(patchBorder) || patchBorder < 0) throw new RepositoryError(`patch border must be a non-negative integer, got ${patchBorder}`);
  if (!(pixelScaleArcsec > 0 && Number.isFinite(pixelScaleArcsec))) throw new RepositoryError(`pixel scale must be a positive number of arcsec, got ${pixelScaleArcsec}`);
  if (!(await repository.registry.getCollection(options.around))) throw new RepositoryError(`no collection '${options.around}'`);
  const all = await repository.queryDatasets({ datasetTypes: [datasetType], collections: [options.around] });
  // Calibration exposures (bias, dark, flat) do not look at the sky.
  const refs = all.filter((r) => r.dataId.observation_type === undefined || r.dataId.observation_type === 'science');
  if (refs.length === 0) throw new RepositoryError(`collection '${options.around}' has no ${datasetType} datasets of the sky to cover (${all.length} calibration exposures)`);
  const points: [number, number][] = [];
  for (const ref of refs) points.push(...imageFootprint(repository.getPath(ref), `${ref.datasetType} ${formatDataId(ref.dataId)}`));
  let tract: Tract;
  let skyMap: SkyMap;
  try {
    tract = makeTractCovering(points, { id: 0, pixelScaleArcsec, patchInnerSize, patchBorder });
    skyMap = makeSkyMap(name, [tract]);
  } catch (err) {
    throw new RepositoryError(`cannot make a tract covering the ${refs.length} ${datasetType} images of '${options.around}': ${(err as Error).message}`);
  }
  const text = skyMapToJson(skyMap);
  const run = options.run ?? 'skymaps';
  const report = await withScratchDir('skymap', async (dir) => {
    const source = path.join(dir, `skyMap_${name}.json`);
    fs.writeFileSync(source, text);
    return repository.ingest({
      files: [{ datasetType: 'skyMap', run, dataId: { skymap: name }, source }],
      dimensionRecords: skyMapRecords(skyMap, text),
      datasetTypes: [INGEST_DATASET_TYPES.skyMap!],
      transfer: 'copy',
    });
  });
  return { ...report, skyMap, tract, run, images: refs.length };
}
