/**
 * The browser's client of `tessera serve`'s JSON API (node/server/apiServer.ts). `available()` says
 * whether the page came from such a server (a static copy of the app has no /api).
 */
import type { Verdict } from './verdictStore.js';

export interface CollectionInfo { name: string; type: string; doc: string; children: string[] }
export interface DatasetTypeInfo { name: string; dimensions: string[]; implied: string[]; storageClass: string }
export interface DatasetInfo { id: string; datasetType: string; run: string; dataId: Record<string, string | number>; size: number; sha256: string; ingestDate: string; file: string }

export class ApiError extends Error {}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(`${path}: HTTP ${res.status}, not JSON`);
  }
  if (!res.ok) throw new ApiError(`${path}: ${(body as { error?: string }).error ?? `HTTP ${res.status}`}`);
  return body as T;
}

export const repositoryApi = {
  async available(): Promise<boolean> {
    try {
      const res = await fetch('api', { headers: { Accept: 'application/json' } });
      return res.ok && (res.headers.get('content-type') ?? '').includes('json');
    } catch {
      return false;
    }
  },
  info: (): Promise<{ repository: string; version: string; certify: boolean }> => getJson('api'),
  collections: (): Promise<CollectionInfo[]> => getJson('api/collections'),
  /** The verdicts on datasets of a collection. */
  verdicts: (collection: string): Promise<Verdict[]> => getJson(`api/verdicts?collection=${encodeURIComponent(collection)}`),
  datasetTypes: (): Promise<DatasetTypeInfo[]> => getJson('api/dataset-types'),
  datasets(query: { type?: string; collection?: string; where?: string; limit?: number }): Promise<DatasetInfo[]> {
    const p = new URLSearchParams();
    if (query.type) p.set('type', query.type);
    if (query.collection) p.set('collection', query.collection);
    if (query.where) p.set('where', query.where);
    if (query.limit) p.set('limit', String(query.limit));
    return getJson(`api/datasets?${p.toString()}`);
  },
  dataset: (id: string): Promise<DatasetInfo & { storageClass: string | null }> => getJson(`api/datasets/${encodeURIComponent(id)}`),
  /** A SourceCatalog's columns (NaN as null). */
  catalog: (id: string): Promise<{ rows: number; columns: { name: string; unit: string | null; values: (number | boolean | string | null)[] }[] }> =>
    getJson(`api/datasets/${encodeURIComponent(id)}/catalog`),
  /** Absolute URL of a dataset's bytes (the worker fetches byte ranges from it). */
  fileUrl: (id: string): string => new URL(`api/datasets/${encodeURIComponent(id)}/file`, document.baseURI).href,
  /** An image dataset's thumbnail (PNG, at most size x size pixels). */
  thumbnailUrl: (id: string, size: number): string => new URL(`api/datasets/${encodeURIComponent(id)}/thumbnail?size=${size}`, document.baseURI).href,
};

/** A data ID as "visit 1000, detector 2" (instrument and skymap left out). */
export function formatDataId(dataId: Record<string, string | number>): string {
  return Object.entries(dataId).filter(([k]) => k !== 'instrument' && k !== 'skymap').map(([k, v]) => `${k} ${v}`).join(', ');
}

const SHORT_KEYS: Record<string, string> = { visit: 'v', exposure: 'e', detector: 'd', tract: 't', patch: 'p', band: '', physical_filter: '' };

/** A data ID in a few characters for a thumbnail's caption: "d0 v1001", "t0 p3 i". */
export function shortDataId(dataId: Record<string, string | number>): string {
  return Object.entries(dataId).filter(([k]) => k !== 'instrument' && k !== 'skymap' && k !== 'physical_filter').map(([k, v]) => `${SHORT_KEYS[k] ?? `${k} `}${v}`).join(' ');
}

/** A `where` expression (tessera query's language) that selects exactly this data ID. */
export function whereDataId(dataId: Record<string, string | number>): string {
  return Object.entries(dataId).map(([k, v]) => `${k} = ${typeof v === 'number' ? v : `'${String(v).replace(/'/g, "''")}'`}`).join(' AND ');
}
