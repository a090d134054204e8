/**
 * Helpers shared by the ingest paths (`tessera ingest` of a simulated dataset, `ingest-raws`,
 * `ingest-refcat`, `make-skymap`): reading a camera description with errors that name the file, the
 * dimension records of an instrument and of a sky map, merging record sets, the children of an
 * instrument's CHAINED defaults collection, and a scratch folder for files made before ingest.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { parseCameraDescription, type Camera } from '../../lib/sim/camera.js';
import { skyMapFromJson, tractPatches, type SkyMap } from '../../lib/skymap/index.js';
import type { DimensionRecord, DimensionRecords } from './dimensions.js';
import { RepositoryError, type Repository } from './repository.js';

/** Reads and validates a camera description file; errors name the file. */
export function readCameraFile(source: string): Camera {
  let text: string;
  try {
    text = fs.readFileSync(source, 'utf8');
  } catch (err) {
    throw new RepositoryError(`cannot read camera description ${source}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`);
  }
  try {
    return parseCameraDescription(text, source);
  } catch (err) {
    const message = (err as Error).message;
    throw new RepositoryError(message.includes(source) ? message : `${source}: ${message}`);
  }
}

/** The instrument, band, physical filter and detector records of a camera. */
export function instrumentRecords(camera: Camera): DimensionRecords {
  const bands = [...new Set(camera.filters.map((f) => f.band))];
  return {
    instrument: [{ name: camera.instrument, camera: camera.name, detector_count: camera.detectors.length }],
    band: bands.map((name) => ({ name })),
    physical_filter: camera.filters.map((f) => ({ instrument: camera.instrument, name: f.physical, band: f.band })),
    detector: camera.detectors.map((d) => ({ instrument: camera.instrument, id: d.id, name: d.name, serial: d.serial })),
  };
}

/** The skymap, tract and patch records of a sky map whose JSON text is `text`. */
export function skyMapRecords(skyMap: SkyMap, text: string): DimensionRecords {
  const name = skyMap.name;
  return {
    skymap: [{ name, hash: crypto.createHash('sha256').update(text).digest('hex'), tract_count: skyMap.tracts.length }],
    tract: skyMap.tracts.map((t) => ({
      skymap: name, id: t.id, ra: t.centerRa, dec: t.centerDec, pixel_scale_arcsec: t.pixelScaleArcsec, width: t.width, height: t.height,
      patch_inner_size: t.patchInnerSize, patch_border: t.patchBorder, num_patches_x: t.numPatchesX, num_patches_y: t.numPatchesY,
    })),
    patch: skyMap.tracts.flatMap((t) => tractPatches(t).map((p) => ({
      skymap: name, tract: t.id, id: p.id, x: p.x, y: p.y,
      inner_x0: p.inner.x0, inner_y0: p.inner.y0, inner_width: p.inner.width, inner_height: p.inner.height,
      outer_x0: p.outer.x0, outer_y0: p.outer.y0, outer_width: p.outer.width, outer_height: p.outer.height,
    }))),
  };
}

/** The records of the sky map JSON file `source`; errors name it. */
export function skyMapFileRecords(source: string): DimensionRecords {
  const text = fs.readFileSync(source, 'utf8');
  let skyMap;
  try {
    skyMap = skyMapFromJson(text, source);
  } catch (err) {
    throw new RepositoryError(`cannot read sky map ${source}: ${(err as Error).message}`);
  }
  return skyMapRecords(skyMap, text);
}

/** Record sets joined per element. */
export function mergeRecords(...parts: DimensionRecords[]): DimensionRecords {
  const out: Record<string, DimensionRecord[]> = {};
  for (const part of parts) for (const [element, records] of Object.entries(part)) (out[element] ??= []).push(...records);
  return out as DimensionRecords;
}

/** The children of a CHAINED defaults collection: any order a user gave it kept, and what it lacks of `wanted` added. */
export async function defaultsChainChildren(repository: Repository, name: string, wanted: readonly string[]): Promise<string[]> {
  const existing = await repository.registry.getCollection(name);
  return existing?.type === 'CHAINED' ? [...existing.children, ...wanted.filter((w) => !existing.children.includes(w))] : [...wanted];
}

/** Runs `use` with a fresh scratch folder, removed afterwards. */
export async function withScratchDir<T>(prefix: string, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tessera-${prefix}-`));
  try {
    return await use(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
