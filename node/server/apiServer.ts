/**
 * The HTTP server behind `tessera serve` (issue 7): the built web app (dist/web) and a read-only JSON API
 * over one data repository, for the viewer and for scripts.
 *   GET /api                          the repository, the server's version and these endpoints
 *   GET /api/collections              every collection: name, type, doc, children (CHAINED)
 *   GET /api/dataset-types            every dataset type: name, dimensions, implied keys, storage class
 *   GET /api/datasets?type=T[,T]&collection=C[,C]&where=EXPR&limit=N
 *                                     registered datasets (id, type, run, data ID, size, sha256), the
 *                                     registry's order; `where` is `tessera query`'s language
 *   GET /api/datasets/ID              one dataset, with its storage class and, for FITS files, every
 *                                     HDU's type, EXTNAME, shape and byte offsets (header and data)
 *   GET /api/datasets/ID/file         its bytes; one HTTP Range (node/server/httpRange.ts) gives 206
 *   GET /api/datasets/ID/catalog?columns=A,B
 *                                     a SourceCatalog's table as columns: name, unit, TFORM, values
 *                                     (NaN and infinities as null, 64-bit integers as numbers when exact)
 * Static files come only from the app's folder and API files only from the registry's records, so no
 * request names a path of its own: a path that leaves the app folder once decoded is refused (403), as
 * is anything but GET and HEAD (405). Bad requests get 4xx with `{ "error": "..." }` naming the problem.
 * It binds to 127.0.0.1 unless told otherwise (the caller's choice, `tessera serve --host`).
 */
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Repository } from '../repository/repository.js';
import type { DatasetRef } from '../repository/registry.js';
import { RegistryLookupError } from '../repository/registry.js';
import { WhereSyntaxError } from '../repository/whereExpression.js';
import { fileSource } from '../fits/fileSource.js';
import { openFits, readFitsBytes } from '../../lib/fits/index.js';
import { parseRange } from './httpRange.js';

export interface ServeOptions {
  repo: Repository;
  /** The built web app's folder; requests outside /api are served from it. */
  webRoot: string;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  version: string;
}

export interface RunningServer {
  /** http://host:port */
  readonly url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.fits': 'application/fits', '.parquet': 'application/vnd.apache.parquet', '.jsonl': 'application/x-ndjson', '.yaml': 'text/yaml',
};
const ENDPOINTS = ['/api/collections', '/api/dataset-types', '/api/datasets', '/api/datasets/{id}', '/api/datasets/{id}/file', '/api/datasets/{id}/catalog'];

function sendJson(res: http.ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(head ? undefined : text);
}

/** A JSON-safe value of a table cell: NaN and infinities as null, bigint as a number when exact, else a string. */
function jsonValue(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  return v;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { repo } = options;
  const webRoot = path.resolve(options.webRoot);

  const datasetOf = async (id: string): Promise<DatasetRef> => {
    if (!UUID.test(id)) throw new HttpError(400, `'${id}' is not a dataset ID (a UUID)`);
    const ref = await repo.registry.getDataset(id);
    if (!ref) throw new HttpError(404, `no dataset ${id} in the repository`);
    return ref;
  };

  const list = (value: string | null): string[] | undefined => (value === null || value.trim() === '' ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean));

  async function api(url: URL, req: http.IncomingMessage, res: http.ServerResponse, head: boolean): Promise<void> {
    const parts = url.pathname.split('/').filter(Boolean).slice(1).map((p) => decodeURIComponent(p));
    const [what, id, sub, ...rest] = parts;
    if (what === undefined) return sendJson(res, 200, { repository: path.basename(repo.root), version: options.version, endpoints: ENDPOINTS }, head);
    if (what === 'collections' && id === undefined) {
      return sendJson(res, 200, (await repo.registry.listCollections()).map((c) => ({ name: c.name, type: c.type, doc: c.doc, children: c.children })), head);
    }
    if (what === 'dataset-types' && id === undefined) {
      return sendJson(res, 200, (await repo.registry.listDatasetTypes()).map((t) => ({ name: t.name, dimensions: t.dimensions, implied: t.implied, storageClass: t.storageClass })), head);
    }
    if (what !== 'datasets' || rest.length > 0) throw new HttpError(404, `no API endpoint ${url.pathname} (endpoints: ${ENDPOINTS.join(', ')})`);
    if (id === undefined) {
      const limitText = url.searchParams.get('limit');
      const limit = limitText === null ? Infinity : Number(limitText);
      if (!(Number.isInteger(limit) && limit > 0) && limit !== Infinity) throw new HttpError(400, `limit=${limitText}: give a positive integer`);
      const types = list(url.searchParams.get('type')), collections = list(url.searchParams.get('collection')), where = url.searchParams.get('where') ?? undefined;
      const known = new Set((await repo.registry.listDatasetTypes()).map((t) => t.name));
      const unknown = (types ?? []).filter((t) => !known.has(t));
      if (unknown.length) throw new HttpError(404, `no dataset type ${unknown.join(', ')} in the repository`);
      let refs: DatasetRef[];
      try {
        refs = await repo.queryDatasets({ ...(types ? { datasetTypes: types } : {}), ...(collections ? { collections } : {}), ...(where ? { where } : {}) });
      } catch (err) {
        if (err instanceof WhereSyntaxError) throw new HttpError(400, `where: ${err.message}`);
        if (err instanceof RegistryLookupError) throw new HttpError(404, err.message);
        throw err;
      }
      return sendJson(res, 200, refs.slice(0, limit).map(describeRef), head);
    }
    const ref = await datasetOf(id);
    const file = repo.getPath(ref);
    if (sub === undefined) {
      const type = await repo.registry.getDatasetType(ref.datasetType);
      let hdus: unknown[] | undefined;
      if (file.endsWith('.fits')) {
        const source = await fileSource(file);
        try {
          hdus = (await openFits(source)).hdus.map((h) => ({
            index: h.index, type: h.type, extname: h.extname ?? null, bitpix: h.bitpix, shape: h.shape, compressed: h.compressed,
            headerOffset: h.headerOffset, headerSize: h.headerSize, dataOffset: h.dataOffset, dataSize: h.dataSize,
          }));
        } finally {
          await source.close();
        }
      }
      return sendJson(res, 200, { ...describeRef(ref), storageClass: type?.storageClass ?? null, ...(hdus ? { hdus } : {}) }, head);
    }
    if (sub === 'file') return sendFile(file, req, res, head);
    if (sub === 'catalog') {
      const storageClass = (await repo.registry.getDatasetType(ref.datasetType))?.storageClass;
      if (storageClass !== 'SourceCatalog') throw new HttpError(400, `dataset ${ref.id} (${ref.datasetType}) has storage class ${storageClass ?? 'unknown'}, not SourceCatalog: it is no catalogue`);
      const fits = readFitsBytes(file, repo.getBytes(ref));
      const index = fits.hdus.find((h) => h.extname?.toUpperCase() === 'SOURCES')?.index ?? fits.hdus.find((h) => h.type === 'BINTABLE')?.index;
      if (index === undefined) throw new HttpError(400, `dataset ${ref.id} (${ref.datasetType}) has no binary table`);
      const table = fits.readTable(index);
      const wanted = list(url.searchParams.get('columns'));
      const missing = (wanted ?? []).filter((name) => !table.columns.some((c) => c.name === name));
      if (missing.length) throw new HttpError(404, `dataset ${ref.id} (${ref.datasetType}) has no column ${missing.join(', ')}`);
      const columns = (wanted ? wanted.map((name) => table.columns.find((c) => c.name === name)!) : table.columns).map((c) => ({
        name: c.name, unit: c.unit ?? null, tform: c.tform, values: Array.from(c.values as ArrayLike<unknown>, jsonValue),
      }));
      return sendJson(res, 200, { ...describeRef(ref), rows: table.nrows, columns }, head);
    }
    throw new HttpError(404, `no API endpoint ${url.pathname} (endpoints: ${ENDPOINTS.join(', ')})`);
  }

  function describeRef(ref: DatasetRef): Record<string, unknown> {
    return { id: ref.id, datasetType: ref.datasetType, run: ref.run, dataId: ref.dataId, size: ref.size, sha256: ref.checksum, ingestDate: ref.ingestDate, file: `/api/datasets/${ref.id}/file` };
  }

  async function sendFile(file: string, req: http.IncomingMessage, res: http.ServerResponse, head: boolean): Promise<void> {
    let size: number;
    try {
      const stat = await fs.promises.stat(file);
      if (!stat.isFile()) throw new HttpError(404, 'not a file');
      size = stat.size;
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(404, `${path.basename(file)}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    const type = CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream';
    const range = parseRange(typeof req.headers.range === 'string' ? req.headers.range : undefined, size);
    if (range.kind === 'unsatisfiable') {
      res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Type': 'application/json; charset=utf-8' });
      res.end(head ? undefined : JSON.stringify({ error: `range ${req.headers.range} is outside the file's ${size} bytes` }));
      return;
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, size - 1];
    res.writeHead(range.kind === 'partial' ? 206 : 200, {
      'Content-Type': type, 'Content-Length': end - start + 1, 'Accept-Ranges': 'bytes',
      ...(range.kind === 'partial' ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (head || size === 0) { res.end(); return; }
    await new Promise<void>((resolve, reject) => {
      const stream = fs.createReadStream(file, { start, end });
      stream.on('error', reject);
      stream.on('end', resolve);
      stream.pipe(res);
    });
  }

  async function staticFile(url: URL, req: http.IncomingMessage, res: http.ServerResponse, head: boolean): Promise<void> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(url.pathname);
    } catch {
      throw new HttpError(400, `malformed percent-encoding in ${url.pathname}`);
    }
    if (decoded.includes('\0')) throw new HttpError(400, 'NUL in the path');
    const file = path.resolve(webRoot, `.${decoded.endsWith('/') ? `${decoded}index.html` : decoded}`);
    if (file !== webRoot && !file.startsWith(webRoot + path.sep)) throw new HttpError(403, `${decoded} is outside the app`);
    if (!fs.existsSync(webRoot)) throw new HttpError(503, `the web app is not built (${webRoot} is missing): run npm run build`);
    return sendFile(file, req, res, head);
  }

  const server = http.createServer((req, res) => {
    const head = req.method === 'HEAD';
    (async () => {
      if (req.method !== 'GET' && !head) {
        res.setHeader('Allow', 'GET, HEAD');
        throw new HttpError(405, `${req.method} is not allowed (the API is read-only)`);
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/api' || url.pathname.startsWith('/api/')) await api(url, req, res, head);
      else await staticFile(url, req, res, head);
    })().catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (res.headersSent) { res.destroy(); return; }
      sendJson(res, status, { error: (err as Error).message }, head);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    }),
  };
}
