/**
 * A sky map: a named set of tracts (lib/skymap/tract.ts), the `skyMap` dataset of a repository, and its
 * JSON form. The JSON holds each tract's defining numbers (id, centre, pixel scale, size, patch inner
 * size and border); patches and WCS are derived from them, so a sky map read back is identical to the
 * one written. `skyMapFromJson` validates every field and names the tract and field that is wrong.
 */
import { SkyMapError } from './errors.js';
import { makeTract, type Tract } from './tract.js';

export const SKYMAP_FORMAT = 'tessera-skymap-1';

export interface SkyMap {
  name: string;
  tracts: Tract[];
}

/** A sky map from tracts; tract ids must be unique. */
export function makeSkyMap(name: string, tracts: readonly Tract[]): SkyMap {
  if (name.trim() === '') throw new SkyMapError('makeSkyMap', 'a sky map needs a name');
  const seen = new Set<number>();
  for (const t of tracts) {
    if (seen.has(t.id)) throw new SkyMapError(`sky map ${name}`, `duplicate tract id ${t.id}`);
    seen.add(t.id);
  }
  return { name, tracts: [...tracts].sort((a, b) => a.id - b.id) };
}

/** The tract with this id. */
export function tractById(skyMap: SkyMap, id: number): Tract {
  const t = skyMap.tracts.find((x) => x.id === id);
  if (!t) throw new SkyMapError(`sky map ${skyMap.name}`, `no tract ${id} (tracts ${skyMap.tracts.map((x) => x.id).join(', ')})`);
  return t;
}

function tractRecord(t: Tract): Record<string, number> {
  return {
    id: t.id, centerRa: t.centerRa, centerDec: t.centerDec, pixelScaleArcsec: t.pixelScaleArcsec,
    width: t.width, height: t.height, patchInnerSize: t.patchInnerSize, patchBorder: t.patchBorder,
  };
}

export function tractToJson(tract: Tract): string {
  return `${JSON.stringify(tractRecord(tract), null, 2)}\n`;
}

export function skyMapToJson(skyMap: SkyMap): string {
  return `${JSON.stringify({ format: SKYMAP_FORMAT, name: skyMap.name, tracts: skyMap.tracts.map(tractRecord) }, null, 2)}\n`;
}

const TRACT_FIELDS = ['id', 'centerRa', 'centerDec', 'pixelScaleArcsec', 'width', 'height', 'patchInnerSize', 'patchBorder'] as const;

function readTract(v: unknown, where: string): Tract {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new SkyMapError(where, 'expected an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(TRACT_FIELDS as readonly string[]).includes(k)) throw new SkyMapError(where, `unknown field '${k}'`);
  for (const k of TRACT_FIELDS) if (typeof o[k] !== 'number') throw new SkyMapError(where, `field '${k}' must be a number, got ${JSON.stringify(o[k])}`);
  const n = (k: (typeof TRACT_FIELDS)[number]) => o[k] as number;
  const tract = makeTract({
    id: n('id'), centerRa: n('centerRa'), centerDec: n('centerDec'), pixelScaleArcsec: n('pixelScaleArcsec'),
    width: n('width'), height: n('height'), patchInnerSize: n('patchInnerSize'), patchBorder: n('patchBorder'),
  });
  if (tract.width !== n('width') || tract.height !== n('height')) {
    throw new SkyMapError(where, `size ${n('width')}x${n('height')} is not a whole number of ${n('patchInnerSize')}-px patches`);
  }
  return tract;
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SkyMapError(source, `not valid JSON: ${(e as Error).message}`);
  }
}

export function tractFromJson(text: string, source = 'tract JSON'): Tract {
  return readTract(parseJson(text, source), source);
}

export function skyMapFromJson(text: string, source = 'sky map JSON'): SkyMap {
  const doc = parseJson(text, source);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new SkyMapError(source, 'expected an object');
  const o = doc as Record<string, unknown>;
  if (o['format'] !== SKYMAP_FORMAT) throw new SkyMapError(source, `format must be '${SKYMAP_FORMAT}', got ${JSON.stringify(o['format'])}`);
  if (typeof o['name'] !== 'string') throw new SkyMapError(source, `name must be a string, got ${JSON.stringify(o['name'])}`);
  if (!Array.isArray(o['tracts'])) throw new SkyMapError(source, 'tracts must be a list');
  const tracts = (o['tracts'] as unknown[]).map((t, i) => readTract(t, `${source}: tracts[${i}]`));
  return makeSkyMap(o['name'], tracts);
}
