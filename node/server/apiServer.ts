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
 *   GET /api/datasets/ID/thumbnail?size=N
 *                                     an image dataset's thumbnail, PNG, at most N x N pixels (16..512,
 *                                     default 128; lib/display/thumbnail.ts), kept in memory once made
 *   GET /api/datasets/ID/catalog?columns=A,B
 *                                     a SourceCatalog's table as columns: name, unit, TFORM, values
 *                                     (NaN and infinities as null, 64-bit integers as numbers when exact)
 *   GET /api/verdicts?dataset=ID[,ID]&collection=C[,C]
 *                                     science leads' verdicts (Registry.recordVerdict), oldest first
 *   POST /api/verdicts                records one verdict (JSON): 201, or 409 with the dataset's latest
 *                                     when it supersedes an older one (a conflict is shown, never
 *                                     overwritten); only with `allowCertify`, and from another machine
 *                                     only with `Authorization: Bearer <token>`
 * Static files come only from the app's folder and API files only from the registry's records, so no
 * request names a path of its own: a path that leaves the app folder once decoded is refused (403).
 * Only GET and HEAD are answered, and POST on /api/verdicts (405 otherwise). Bad requests get 4xx with
 * `{ "error": "..." }` naming the problem. It binds to 127.0.0.1 unless told otherwise (`--host`).
 */
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Repository } from '../repository/repository.js';
import type { DatasetRef } from '../repository/registry.js';
import { RegistryConflictError, RegistryLookupError, VERDICTS, type Verdict } from '../repository/registry.js';
import { WhereSyntaxError } from '../repository/whereExpression.js';
import { fileSource } from '../fits/fileSource.js';
import { openFits, readFitsBytes } from '../../lib/fits/index.js';
import { parseRange } from './httpRange.js';
import { loadTessera } from '../wasm.js';
import { readDisplayImage } from '../../lib/display/imageSource.js';
import { thumbnailPng } from '../../lib/display/thumbnail.js';
import { FitsError } from '../../lib/fits/errors.js';
import type { Tessera } from '../../lib/wasm/loader.js';

export interface ServeOptions {
  /** The repository behind /api; without one only the app is served (/api answers 404). */
  repo?: Repository;
  /** The built web app's folder; requests outside /api are served from it. */
  webRoot: string;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  version: string;
  /** Accept verdicts (POST /api/verdicts). */
  allowCertify?: boolean;
  /** The bearer token that a verdict from another machine than this one must carry. */
  token?: string;
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
const ENDPOINTS = ['/api/collections', '/api/dataset-types', '/api/datasets', '/api/datasets/{id}', '/api/datasets/{id}/file', '/api/datasets/{id}/thumbnail', '/api/datasets/{id}/catalog', '/api/verdicts'];
/** Thumbnails kept in memory (a dataset's bytes never change under its ID): the oldest go first. */
const MAX_THUMBNAILS = 2000;
const MAX_BODY = 64 * 1024;

/** Whether a request comes from this machine. */
function fromLoopback(req: http.IncomingMessage): boolean {
  const a = req.socket.remoteAddress ?? '';
  return a === '127.0.0.1' || a === '::1' || a === '::ffff:127.0.0.1' || a.startsWith('127.');
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, `the request body is over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A verdict from a request body, every field checked; the error names the first wrong one. */
function parseVerdict(text: string): Verdict {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new HttpError(400, `the body is not JSON (${(err as Error).message})`);
  }
  const fail = (problem: string): never => { throw new HttpError(400, `verdict: ${problem}`); };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('give a JSON object');
  const text_ = (key: string, max: number): string => {
    const value = v[key];
    if (typeof value !== 'string' || value.length > max) return fail(`${key} must be a string of at most ${max} characters`);
    return value;
  };
  const id = text_('id', 36), datasetId = text_('datasetId', 36);
  if (!UUID.test(id)) fail(`id '${id}' is not a UUID`);
  if (!UUID.test(datasetId)) fail(`datasetId '${datasetId}' is not a UUID`);
  const verdict = v.verdict;
  if (typeof verdict !== 'string' || !(VERDICTS as readonly string[]).includes(verdict)) fail(`verdict must be one of ${VERDICTS.join(', ')}`);
  const c = v.checklist as Record<string, unknown> | null;
  if (typeof c !== 'object' || c === null) return fail('checklist must be an object');
  for (const key of ['artifactsMasked', 'trailsAndGhostsRejected', 'backgroundNotOverSubtracted']) if (typeof c[key] !== 'boolean') fail(`checklist.${key} must be true or false`);
  if (typeof c.other !== 'string' || c.other.length > 2000) fail('checklist.other must be a string of at most 2000 characters');
  const reviewer = text_('reviewer', 200).trim();
  if (reviewer === '') fail('reviewer must name the reviewer');
  const reviewedAt = text_('reviewedAt', 40);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(reviewedAt) || Number.isNaN(Date.parse(reviewedAt))) fail(`reviewedAt '${reviewedAt}' is not an ISO 8601 UTC time`);
  const supersedes = v.supersedes;
  if (supersedes !== null && (typeof supersedes !== 'string' || !UUID.test(supersedes))) fail('supersedes must be null or the UUID of the verdict it replaces');
  return {
    id, datasetId, verdict: verdict as Verdict['verdict'], reviewer, reviewedAt, note: text_('note', 10_000), appVersion: text_('appVersion', 100),
    checklist: { artifactsMasked: c.artifactsMasked as boolean, trailsAndGhostsRejected: c.trailsAndGhostsRejected as boolean, backgroundNotOverSubtracted: c.backgroundNotOverSubtracted as boolean, other: c.other as string },
    supersedes: supersedes as string | null,
  };
}

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
  const repo = options.repo as Repository;
  const webRoot = path.resolve(options.webRoot);

  const datasetOf = async (id: string): Promise<DatasetRef> => {
    if (!UUID.test(id)) throw new HttpError(400, `'${id}' is not a dataset ID (a UUID)`);
    const ref = await repo.registry.getDataset(id);
    if (!ref) throw new HttpError(404, `no dataset ${id} in the repository`);
    return ref;
  };

  const thumbnails = new Map<string, Uint8Array>();
  let thumbnailQueue: Promise<unknown> = Promise.resolve();
  let tessera: Promise<Tessera> | undefined;

  const list = (value: string | null): string[] | undefined => (value === null || value.trim() === '' ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean));

  async function api(url: URL, req: http.IncomingMessage, res: http.ServerResponse, head: boolean): Promise<void> {
    const parts = url.pathname.split('/').filter(Boolean).slice(1).map((p) => decodeURIComponent(p));
    const [what, id, sub, ...rest] = parts;
    if (what === undefined) return sendJson(res, 200, { repository: path.basename(repo.root), version: options.version, endpoints: ENDPOINTS, certify: mayCertify(req) }, head);
    if (what === 'verdicts' && id === undefined) {
      if (req.method === 'POST') return postVerdict(req, res);
      const datasets = list(url.searchParams.get('dataset')), collections = list(url.searchParams.get('collection'));
      let ids = datasets;
      if (collections) {
        let refs: DatasetRef[];
        try {
          refs = await repo.queryDatasets({ collections });
        } catch (err) {
          if (err instanceof RegistryLookupError) throw new HttpError(404, err.message);
          throw err;
        }
        const inCollections = new Set(refs.map((r) => r.id));
        ids = ids ? ids.filter((d) => inCollections.has(d)) : [...inCollections];
      }
      return sendJson(res, 200, await repo.registry.verdicts(ids ? { datasetIds: ids } : {}), head);
    }
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
    if (sub === 'thumbnail') {
      const sizeText = url.searchParams.get('size') ?? '128', size = Number(sizeText);
      if (!(Number.isInteger(size) && size >= 16 && size <= 512)) throw new HttpError(400, `size=${sizeText}: give an integer from 16 to 512`);
      const key = `${ref.id}/${size}`;
      let png = thumbnails.get(key);
      if (!png) {
        // One thumbnail at a time (a strip asks for dozens at once), so the viewer's byte ranges are
        // answered in between instead of waiting behind all of them.
        const made = thumbnailQueue.then(async () => {
          const cached = thumbnails.get(key);
          if (cached) return cached;
          const source = await fileSource(file);
          let image: Awaited<ReturnType<typeof readDisplayImage>>;
          try {
            image = await readDisplayImage(source);
          } catch (err) {
            if (err instanceof FitsError) throw new HttpError(400, `dataset ${ref.id} (${ref.datasetType}) has no image to show: ${err.message}`);
            throw err;
          } finally {
            await source.close();
          }
          tessera ??= loadTessera('release');
          const bytes = thumbnailPng(await tessera, image, size);
          thumbnails.set(key, bytes);
          if (thumbnails.size > MAX_THUMBNAILS) thumbnails.delete(thumbnails.keys().next().value!);
          return bytes;
        });
        thumbnailQueue = made.catch(() => undefined);
        png = await made;
      }
      res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': png.length, 'Cache-Control': 'public, max-age=86400' });
      res.end(head ? undefined : png);
      return;
    }
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

  /** Whether this request may record verdicts: writes on, and from this machine or with the token. */
  function mayCertify(req: http.IncomingMessage): boolean {
    if (!options.allowCertify) return false;
    if (fromLoopback(req)) return true;
    return options.token !== undefined && req.headers.authorization === `Bearer ${options.token}`;
  }

  async function postVerdict(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!options.allowCertify) throw new HttpError(403, 'verdicts are read-only here: start tessera serve with --allow-certify to record them');
    if (!mayCertify(req)) throw new HttpError(403, options.token === undefined
      ? 'verdicts from another machine need a token: start tessera serve with --token'
      : 'verdicts from another machine need the server\'s token (Authorization: Bearer <token>)');
    const verdict = parseVerdict(await readBody(req));
    if (!(await repo.registry.getDataset(verdict.datasetId))) throw new HttpError(404, `no dataset ${verdict.datasetId} in the repository`);
    let outcome;
    try {
      outcome = await repo.registry.recordVerdict(verdict);
    } catch (err) {
      if (err instanceof RegistryConflictError) throw new HttpError(409, err.message);
      throw err;
    }
    if (outcome.recorded) return sendJson(res, 201, { recorded: true, verdict }, false);
    return sendJson(res, 409, {
      error: `dataset ${verdict.datasetId} has a newer verdict (${outcome.latest?.verdict ?? 'none'}${outcome.latest ? ` by ${outcome.latest.reviewer} at ${outcome.latest.reviewedAt}` : ''}) than the one this replaces`,
      latest: outcome.latest ?? null,
    }, false);
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
      const url = new URL(req.url ?? '/', 'http://localhost');
      const post = req.method === 'POST' && url.pathname === '/api/verdicts';
      if (req.method !== 'GET' && !head && !post) {
        res.setHeader('Allow', url.pathname === '/api/verdicts' ? 'GET, HEAD, POST' : 'GET, HEAD');
        throw new HttpError(405, `${req.method} is not allowed on ${url.pathname} (only verdicts are written: POST /api/verdicts)`);
      }
      if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
        if (!options.repo) throw new HttpError(404, 'no repository is served here (the app alone)');
        await api(url, req, res, head);
      }
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
