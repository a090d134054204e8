// `tessera serve`'s JSON API (node/server/apiServer.ts, issue 7) over the processed repository of the
// pipeline tests, each answer against an independent reading: the calexps it lists are the run's files
// on disk; a calexp's HDU byte offsets are astropy's (fileinfo); HTTP Range answers carry exactly the
// file's bytes (first-last, open-ended, suffix; 416 beyond the end; HEAD without a body); a src
// catalogue's columns are astropy's reading of the same table. Path traversal (dot segments, encoded
// slashes and dots, backslashes) never reaches a file outside the app folder, whatever the encoding; bad
// requests get 4xx with a message naming the problem; the CLI binds to 127.0.0.1 and stops on SIGTERM.
// Verdicts: a read-only server refuses them (403); with verdicts on (a registry copy), one is recorded
// (201), a stale one is refused with the latest (409), bad ones get 400/404/413, and one from another
// machine needs the token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { processedRepository, type ProcessedRepository } from '../helpers/processedRepository.js';
import { repoRoot, testOutputDir } from '../helpers/paths.js';
import { PY_PNG, runPythonJson } from '../helpers/python.js';
import { Repository } from '../../node/repository/repository.js';
import { startServer, type RunningServer } from '../../node/server/apiServer.js';
import { registryCopy } from '../helpers/repositoryCopy.js';
import os from 'node:os';

const PRESET = (process.env.TESSERA_ACCURACY_PRESET ?? 'demo') as 'tiny' | 'demo';
const out = testOutputDir('serve');
let processed: ProcessedRepository, repo: Repository, server: RunningServer;

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

/** One request with the path sent as given (no URL normalisation on the client side). */
function request(rawPath: string, options: { method?: string; headers?: Record<string, string>; base?: string; body?: string } = {}): Promise<Answer> {
  const base = new URL(options.base ?? server.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname.replace(/^\[|\]$/g, ''), port: base.port, path: rawPath, method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
const json = async <T = any>(rawPath: string): Promise<T> => { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await request(rawPath);
  expect(r.status, `${rawPath}: ${r.body.toString()}`).toBe(200);
  return JSON.parse(r.body.toString()) as T;
};

beforeAll(async () => {
  processed = processedRepository(PRESET);
  repo = await Repository.open(processed.root);
  const webRoot = path.join(out, 'web');
  fs.mkdirSync(webRoot, { recursive: true });
  fs.writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><title>app</title>');
  server = await startServer({ repo, webRoot, version: 'test' });
}, 1_800_000);

afterAll(async () => {
  await server?.close();
  await repo?.close();
});

describe('tessera serve: the JSON API', () => {
  it('lists collections, dataset types and the run\'s calexps as the files on disk', async () => {
    const collections = await json<{ name: string; type: string }[]>('/api/collections');
    expect(collections.find((c) => c.name === processed.run)?.type).toBe('RUN');
    const types = await json<{ name: string; storageClass: string; dimensions: string[] }[]>('/api/dataset-types');
    expect(types.find((t) => t.name === 'calexp')).toMatchObject({ storageClass: 'Exposure', dimensions: ['instrument', 'visit', 'detector'] });
    const calexps = await json<{ id: string; dataId: Record<string, unknown>; run: string; size: number }[]>(`/api/datasets?type=calexp&collection=${processed.run}`);
    const onDisk: string[] = [];
    const walk = (dir: string): void => { for (const e of fs.readdirSync(dir, { withFileTypes: true })) e.isDirectory() ? walk(path.join(dir, e.name)) : onDisk.push(path.join(dir, e.name)); };
    walk(path.join(processed.root, processed.run, 'calexp'));
    expect(calexps.length).toBe(onDisk.length);
    expect(calexps.reduce((s, c) => s + c.size, 0)).toBe(onDisk.reduce((s, f) => s + fs.statSync(f).size, 0));
    const visit = calexps[0]!.dataId.visit;
    const one = await json<unknown[]>(`/api/datasets?type=calexp&collection=${processed.run}&where=${encodeURIComponent(`visit = ${visit}`)}`);
    expect(one.length).toBe(calexps.filter((c) => c.dataId.visit === visit).length);
    expect((await json<unknown[]>(`/api/datasets?type=calexp&collection=${processed.run}&limit=2`)).length).toBe(2);
  });

  it('gives a calexp\'s HDU byte offsets as astropy reads them, and byte ranges with exactly the file\'s bytes', async () => {
    const [calexp] = await json<{ id: string }[]>(`/api/datasets?type=calexp&collection=${processed.run}&limit=1`);
    const info = await json<{ storageClass: string; hdus: { extname: string | null; headerOffset: number; dataOffset: number; dataSize: number; shape: number[] }[] }>(`/api/datasets/${calexp!.id}`);
    expect(info.storageClass).toBe('Exposure');
    const file = repo.getPath((await repo.registry.getDataset(calexp!.id))!);
    const astropy = runPythonJson<{ name: string; hdrLoc: number; datLoc: number; datSpan: number }[]>(`
import json, sys
from astropy.io import fits
with fits.open(sys.argv[1]) as f:
    print(json.dumps([dict(name=h.name, **{k: h.fileinfo()[k] for k in ('hdrLoc', 'datLoc', 'datSpan')}) for h in f]))
`, [file]);
    expect(info.hdus.length).toBe(astropy.length);
    info.hdus.forEach((h, k) => {
      expect(h.headerOffset, `HDU ${k}`).toBe(astropy[k]!.hdrLoc);
      expect(h.dataOffset, `HDU ${k}`).toBe(astropy[k]!.datLoc);
      expect(Math.ceil(h.dataSize / 2880) * 2880, `HDU ${k}`).toBe(astropy[k]!.datSpan);
    });
    const bytes = fs.readFileSync(file), size = bytes.length;
    const mask = info.hdus.find((h) => h.extname === 'MASK')!;
    const cases: [string, number, number][] = [
      [`bytes=${mask.dataOffset}-${mask.dataOffset + mask.dataSize - 1}`, mask.dataOffset, mask.dataOffset + mask.dataSize - 1],
      ['bytes=0-2879', 0, 2879],
      [`bytes=${size - 100}-`, size - 100, size - 1],
      ['bytes=-2880', size - 2880, size - 1],
      [`bytes=${size - 10}-${size + 1000}`, size - 10, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const r = await request(`/api/datasets/${calexp!.id}/file`, { headers: { Range: range } });
      expect(r.status, range).toBe(206);
      expect(r.headers['content-range'], range).toBe(`bytes ${start}-${end}/${size}`);
      expect(r.body.equals(bytes.subarray(start, end + 1)), range).toBe(true);
    }
    const whole = await request(`/api/datasets/${calexp!.id}/file`);
    expect(whole.status).toBe(200);
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.body.equals(bytes)).toBe(true);
    const beyond = await request(`/api/datasets/${calexp!.id}/file`, { headers: { Range: `bytes=${size}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${size}`);
    const head = await request(`/api/datasets/${calexp!.id}/file`, { method: 'HEAD' });
    expect([head.status, Number(head.headers['content-length']), head.body.length]).toEqual([200, size, 0]);
  });

  it('gives a src catalogue\'s columns as astropy reads them (NaN as null)', async () => {
    const [src] = await json<{ id: string }[]>(`/api/datasets?type=src&collection=${processed.run}&limit=1`);
    const columns = ['id', 'coord_ra', 'base_PsfFlux_instFlux', 'base_PixelFlags_flag_edge'];
    const got = await json<{ rows: number; columns: { name: string; unit: string | null; values: unknown[] }[] }>(`/api/datasets/${src!.id}/catalog?columns=${columns.join(',')}`);
    const file = repo.getPath((await repo.registry.getDataset(src!.id))!);
    const astropy = runPythonJson<Record<string, { unit: string | null; values: unknown[] }>>(`
import json, sys, math
from astropy.table import Table
t = Table.read(sys.argv[1], hdu='SOURCES')
clean = lambda v: None if isinstance(v, float) and not math.isfinite(v) else v
print(json.dumps({c: {'unit': None if t[c].unit is None else str(t[c].unit), 'values': [clean(v) for v in t[c].tolist()]} for c in sys.argv[2:]}))
`, [file, ...columns]);
    expect(got.columns.map((c) => c.name)).toEqual(columns);
    expect(got.rows).toBe(astropy.id!.values.length);
    expect(got.rows).toBeGreaterThan(10);
    for (const c of got.columns) {
      expect(c.unit, c.name).toBe(astropy[c.name]!.unit);
      expect(c.values, c.name).toEqual(astropy[c.name]!.values);
    }
    expect(got.columns.find((c) => c.name === 'base_PsfFlux_instFlux')!.values.some((v) => v === null || typeof v === 'number')).toBe(true);
  });

  it('makes a calexp\'s thumbnail as astropy would: block means of the finite pixels, zscale, asinh (within 1 level), row 0 at the bottom', async () => {
    const [calexp] = await json<{ id: string }[]>(`/api/datasets?type=calexp&collection=${processed.run}&limit=1`);
    const r = await request(`/api/datasets/${calexp!.id}/thumbnail?size=128`);
    expect(r.status, r.body.toString()).toBe(200);
    expect(r.headers['content-type']).toBe('image/png');
    const png = path.join(out, 'calexp-thumbnail.png');
    fs.writeFileSync(png, r.body);
    const file = repo.getPath((await repo.registry.getDataset(calexp!.id))!);
    const check = runPythonJson<{ size: [number, number]; factor: number; worst: number; n: number; opaque: boolean }>(`${PY_PNG}
import math
from astropy.io import fits
from astropy.visualization import ZScaleInterval, AsinhStretch
rows, _ = read_png(sys.argv[1])
image = fits.getdata(sys.argv[2], 'IMAGE').astype(np.float64)
h, w = image.shape
factor = 2 ** max(0, math.ceil(math.log2(max(h, w) / 128)))
H, W = -(-h // factor), -(-w // factor)
padded = np.full((H * factor, W * factor), np.nan); padded[:h, :w] = image
blocks = padded.reshape(H, factor, W, factor).swapaxes(1, 2).reshape(H, W, factor * factor)
with np.errstate(invalid='ignore'):
    means = np.nanmean(blocks, axis=2).astype(np.float32)
lo, hi = ZScaleInterval().get_limits(image[np.isfinite(image)])
t = np.nan_to_num(np.clip((means - lo) / (hi - lo), 0, 1), nan=0.0)
want = 255 * AsinhStretch()(t)
got = rows[::-1, :, 0].astype(np.float64)
print(json.dumps({'size': [int(rows.shape[1]), int(rows.shape[0])], 'factor': factor, 'worst': float(np.max(np.abs(got - want))), 'n': int(got.size), 'opaque': bool(np.all(rows[:, :, 3] == 255))}))
`, [png, file]);
    console.log(`calexp thumbnail: ${check.size.join(' x ')} px (${check.factor} x ${check.factor} blocks), worst difference from astropy ${check.worst.toFixed(3)} level over ${check.n} pixels`);
    expect(Math.max(...check.size)).toBeLessThanOrEqual(128);
    expect(check.worst).toBeLessThanOrEqual(1);
    expect(check.opaque).toBe(true);
    // Made once: the second answer is the same bytes.
    expect((await request(`/api/datasets/${calexp!.id}/thumbnail?size=128`)).body.equals(r.body)).toBe(true);
    const [src] = await json<{ id: string }[]>(`/api/datasets?type=src&collection=${processed.run}&limit=1`);
    const notImage = await request(`/api/datasets/${src!.id}/thumbnail`);
    expect(notImage.status).toBe(400);
    expect(JSON.parse(notImage.body.toString()).error).toMatch(/has no image to show/);
    const badSize = await request(`/api/datasets/${calexp!.id}/thumbnail?size=8`);
    expect(badSize.status).toBe(400);
    expect(JSON.parse(badSize.body.toString()).error).toMatch(/size=8: give an integer from 16 to 512/);
  });

  it('never serves a file outside the app folder, however the path is written', async () => {
    const registry = fs.readFileSync(path.join(processed.root, 'registry.sqlite3')).subarray(0, 15).toString('latin1');
    expect(registry).toBe('SQLite format 3');
    const attempts = [
      '/../registry.sqlite3', '/../../../../etc/passwd', '/%2e%2e/registry.sqlite3', '/%2e%2e%2fregistry.sqlite3', '/..%2fregistry.sqlite3',
      '/..%2f..%2f..%2f..%2fetc%2fpasswd', '/..%5cregistry.sqlite3', '/..\\registry.sqlite3', '/%252e%252e%252fregistry.sqlite3',
      `/${encodeURIComponent(path.join(processed.root, 'registry.sqlite3'))}`, '//etc/passwd', '/api/datasets/..%2f..%2fregistry.sqlite3/file',
      '/api/datasets/%2e%2e/file', '/api/../registry.sqlite3', '/index.html%00.sqlite3', '/%E0%A4%A',
    ];
    for (const attempt of attempts) {
      const r = await request(attempt);
      expect(r.status, attempt).toBeGreaterThanOrEqual(400);
      expect(r.status, attempt).toBeLessThan(500);
      expect(r.body.toString('latin1'), attempt).not.toContain('SQLite format 3');
      expect(r.body.toString('latin1'), attempt).not.toContain('root:');
      expect(JSON.parse(r.body.toString()).error, attempt).toMatch(/outside the app|no such file|not a dataset ID|no API endpoint|NUL|malformed/);
    }
    expect((await request('/')).body.toString()).toContain('<title>app</title>');
  });

  it('answers bad requests with 4xx and a message that names the problem', async () => {
    const cases: [string, number, RegExp, string?][] = [
      ['/api/datasets/not-a-uuid', 400, /'not-a-uuid' is not a dataset ID/],
      ['/api/datasets/00000000-0000-4000-8000-000000000000', 404, /no dataset 00000000-0000-4000-8000-000000000000/],
      ['/api/datasets?type=nosuchtype', 404, /no dataset type nosuchtype/],
      ['/api/datasets?type=calexp&collection=nosuchrun', 404, /nosuchrun/],
      [`/api/datasets?where=${encodeURIComponent('visit ==')}`, 400, /where: .*position/],
      ['/api/datasets?limit=-3', 400, /limit=-3/],
      ['/api/nothing', 404, /no API endpoint \/api\/nothing/],
      ['/api', 405, /POST is not allowed/, 'POST'],
      ['/api/datasets', 405, /DELETE is not allowed/, 'DELETE'],
    ];
    for (const [p, status, message, method] of cases) {
      const r = await request(p, method ? { method } : {});
      expect(r.status, p).toBe(status);
      expect(JSON.parse(r.body.toString()).error, p).toMatch(message);
    }
    const [calexp] = await json<{ id: string }[]>(`/api/datasets?type=calexp&collection=${processed.run}&limit=1`);
    const r = await request(`/api/datasets/${calexp!.id}/catalog?columns=nosuchcolumn`);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body.toString()).error).toMatch(/\(calexp\) has storage class Exposure, not SourceCatalog/);
  });

  it('binds the CLI to 127.0.0.1 by default and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'node', 'cli.js'), 'serve', processed.root, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        const m = /at (http:\/\/[^/\s]+)\//.exec(text);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`tessera serve exited with ${code}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await request('/api/collections', { base: url });
    expect(r.status).toBe(200);
    const code = await new Promise<number | null>((resolve) => { child.on('exit', resolve); child.kill('SIGTERM'); });
    expect(code).toBe(0);
  });
});

describe('tessera serve: verdicts', () => {
  let copy: Repository, writable: RunningServer, remote: RunningServer, datasetId: string;
  const verdict = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    id: crypto.randomUUID(), datasetId, verdict: 'certified', reviewer: 'Ada', reviewedAt: new Date().toISOString(), appVersion: 'test', note: '',
    checklist: { artifactsMasked: true, trailsAndGhostsRejected: true, backgroundNotOverSubtracted: true, other: '' }, supersedes: null, ...over,
  });
  const post = (base: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> =>
    request('/api/verdicts', { base, method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  beforeAll(async () => {
    copy = await Repository.open(await registryCopy(processed.root, path.join(out, 'repository-copy')));
    writable = await startServer({ repo: copy, webRoot: path.join(out, 'web'), version: 'test', allowCertify: true });
    remote = await startServer({ repo: copy, webRoot: path.join(out, 'web'), version: 'test', allowCertify: true, host: '0.0.0.0', token: 'a-token-of-sixteen-chars' });
    datasetId = (await copy.queryDatasets({ datasetTypes: ['calexp'], collections: [processed.run] }))[0]!.id;
  });

  afterAll(async () => {
    await remote?.close();
    await writable?.close();
    await copy?.close();
  });

  it('refuses verdicts on a read-only server', async () => {
    const r = await post(server.url, verdict());
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body.toString()).error).toMatch(/read-only here: start tessera serve with --allow-certify/);
    expect(JSON.parse((await request('/api')).body.toString()).certify).toBe(false);
  });

  it('records a verdict, refuses a stale one with the latest, and lists them', async () => {
    const first = verdict();
    expect((await post(writable.url, first)).status).toBe(201);
    const second = verdict({ verdict: 'rejected', supersedes: first.id });
    expect((await post(writable.url, second)).status).toBe(201);
    const stale = await post(writable.url, verdict({ verdict: 'needs-work', supersedes: first.id, reviewer: 'Bob' }));
    expect(stale.status).toBe(409);
    const body = JSON.parse(stale.body.toString());
    expect(body.latest).toMatchObject({ id: second.id, verdict: 'rejected' });
    expect(body.error).toMatch(/has a newer verdict \(rejected by Ada at /);
    const listed = JSON.parse((await request(`/api/verdicts?dataset=${datasetId}`, { base: writable.url })).body.toString()) as { id: string }[];
    expect(listed.map((v) => v.id).slice(-2)).toEqual([first.id, second.id]);
    const inRun = JSON.parse((await request(`/api/verdicts?collection=${processed.run}`, { base: writable.url })).body.toString()) as unknown[];
    expect(inRun.length).toBe(listed.length);
  });

  it('answers bad verdicts with 400, 404 and 413, naming the problem', async () => {
    const cases: [unknown, number, RegExp][] = [
      ['{not json', 400, /the body is not JSON/],
      [verdict({ verdict: 'maybe' }), 400, /verdict must be one of certified, rejected, needs-work/],
      [verdict({ reviewer: '  ' }), 400, /reviewer must name the reviewer/],
      [verdict({ reviewedAt: 'yesterday' }), 400, /reviewedAt 'yesterday' is not an ISO 8601 UTC time/],
      [verdict({ checklist: { artifactsMasked: 'yes' } }), 400, /checklist.artifactsMasked must be true or false/],
      [verdict({ supersedes: 'x' }), 400, /supersedes must be null or the UUID/],
      [verdict({ datasetId: '00000000-0000-4000-8000-000000000000' }), 404, /no dataset 00000000-0000-4000-8000-000000000000/],
      [verdict({ note: 'x'.repeat(70_000) }), 413, /request body is over 65536 bytes/],
    ];
    for (const [body, status, message] of cases) {
      const r = await post(writable.url, body);
      expect(r.status, String(message)).toBe(status);
      expect(JSON.parse(r.body.toString()).error).toMatch(message);
    }
    const put = await request('/api/verdicts', { base: writable.url, method: 'PUT' });
    expect([put.status, put.headers.allow]).toEqual([405, 'GET, HEAD, POST']);
  });

  it('needs the token for a verdict from another machine', async () => {
    const address = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    expect(address, 'a non-loopback IPv4 interface to reach the server from').toBeDefined();
    const base = `http://${address}:${new URL(remote.url).port}`;
    const without = await post(base, verdict());
    expect(without.status).toBe(403);
    expect(JSON.parse(without.body.toString()).error).toMatch(/need the server's token/);
    expect(JSON.parse((await request('/api', { base })).body.toString()).certify).toBe(false);
    const wrong = await post(base, verdict(), { Authorization: 'Bearer not-the-token-at-all' });
    expect(wrong.status).toBe(403);
    const latest = (await copy.registry.verdicts({ datasetIds: [datasetId] })).at(-1)!;
    const right = await post(base, verdict({ supersedes: latest.id }), { Authorization: 'Bearer a-token-of-sixteen-chars' });
    expect(right.status).toBe(201);
    // From this machine no token is needed.
    expect(JSON.parse((await request('/api', { base: remote.url.replace('0.0.0.0', '127.0.0.1') })).body.toString()).certify).toBe(true);
  });
});
