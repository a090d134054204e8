// The viewer (issue 7) in headless Chromium against `tessera serve`'s API (node/server/apiServer.ts) over
// the pipeline tests' processed repository, each check against an independent reading of the same file
// (astropy): the app opens on the newest run's first calexp and draws it (canvas statistics); at 1:1 zoom
// and device pixel ratio 1 the asinh stretch with zscale limits is astropy's (AsinhStretch of
// ZScaleInterval) within 1 grey level on every visible pixel; toggling the DETECTED mask plane changes
// exactly the visible pixels whose DETECTED bit is set in the MASK plane as astropy reads it; the cursor
// on a star's pixel reads that pixel's 0-based and FITS coordinates and astropy's RA/Dec for it within
// 1 mas; the src catalogue's markers in view are astropy's count of the rows under the same cut (S/N,
// flags) and a click shows the row; a coadd patch's i, r, g composite is astropy's make_lupton_rgb within 1
// level; the background views show the model, the image plus the model (their sum) and a smoothed
// residual equal to numpy's normalised Gaussian smoothing of the unmasked pixels; blinking a calexp
// against the coadd it fed keeps the same sky at the canvas centre (0.3"), before and after a pan on the
// coadd; a reload restores the view from the URL, pixel for pixel; a FITS file
// chosen from disk renders; a warp's CLIPPED overlay covers exactly the spans of its artifact mask; the listed calexps show as a strip of thumbnails that load from the server and
// open on a click.
// Certification, against a writable copy of the registry (tests/helpers/repositoryCopy.ts) served with
// verdicts on: a verdict given with the keyboard is recorded, survives a reload and is what
// `tessera certifications --json` lists; a verdict that another reviewer's overtook is shown as a
// conflict, not written, until the reviewer replaces theirs; a read-only server keeps verdicts in the
// browser. Each test leaves a screenshot in test-output/e2e-viewer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { realFile, repoRoot, testOutputDir } from '../helpers/paths.js';
import { processedRepository, type ProcessedRepository } from '../helpers/processedRepository.js';
import { runPythonJson } from '../helpers/python.js';
import { Repository } from '../../node/repository/repository.js';
import { startServer, type RunningServer } from '../../node/server/apiServer.js';
import { readSourceCatalog } from '../../lib/measure/sourceCatalog.js';
import { registryCopy } from '../helpers/repositoryCopy.js';
import { tessera } from '../helpers/cli.js';

const PRESET = (process.env.TESSERA_ACCURACY_PRESET ?? 'demo') as 'tiny' | 'demo';
const out = testOutputDir('e2e-viewer');
let processed: ProcessedRepository, repo: Repository, server: RunningServer, browser: Browser, page: Page;
let calexp: { id: string; file: string; width: number; height: number; src: string };

interface Canvas { width: number; height: number; left: number; top: number; rgba: Buffer }

/** The canvas's pixels as drawn (the WebGL canvas keeps its drawing buffer), and its place on the page. */
async function canvasPixels(): Promise<Canvas> {
  const got = await page.evaluate(() => {
    const c = document.querySelector<HTMLCanvasElement>('#canvas-host canvas')!;
    const t = document.createElement('canvas');
    t.width = c.width; t.height = c.height;
    const ctx = t.getContext('2d')!;
    ctx.drawImage(c, 0, 0);
    const data = ctx.getImageData(0, 0, c.width, c.height).data;
    let text = '';
    for (let i = 0; i < data.length; i += 0x8000) text += String.fromCharCode(...data.subarray(i, i + 0x8000));
    const box = c.getBoundingClientRect();
    return { width: c.width, height: c.height, left: box.left, top: box.top, rgba: btoa(text) };
  });
  return { ...got, rgba: Buffer.from(got.rgba, 'base64') };
}

async function waitReady(): Promise<void> {
  await page.waitForSelector('#viewer[data-state="ready"]', { timeout: 60_000 });
}

/** Opens the app afresh at `hash` and waits until the view is drawn. */
async function openAt(hash: string): Promise<void> {
  await page.goto('about:blank');
  await page.goto(`${server.url}/${hash}`);
  await waitReady();
}

/** Screen position of world (0, 0) at 1:1 zoom, as the view places it (whole pixels). */
function origin(c: Canvas, cx: number, cy: number): [number, number] {
  return [Math.round(c.width / 2 - cx), Math.round(c.height / 2 + cy)];
}

/** The image pixels [i0, i1) x [j0, j1) a canvas shows at 1:1 with world (0, 0) at screen (ox, oy). */
function visiblePixels(c: Canvas, ox: number, oy: number, width: number, height: number): { i0: number; i1: number; j0: number; j1: number } {
  return { i0: Math.max(0, -ox), i1: Math.min(width, c.width - ox), j0: Math.max(0, oy - c.height), j1: Math.min(height, oy) };
}

/**
 * An overlay against where it should be: over the visible pixels, those whose colour changed from
 * `plain` to `marked`, those `isSet` names, and those where the two disagree.
 */
function overlayChanges(plain: Canvas, marked: Canvas, ox: number, oy: number, box: { i0: number; i1: number; j0: number; j1: number }, isSet: (i: number, j: number) => boolean): { changed: number; expected: number; wrong: number } {
  let changed = 0, expected = 0, wrong = 0;
  for (let j = box.j0; j < box.j1; j++) for (let i = box.i0; i < box.i1; i++) {
    const sx = ox + i, sy = oy - 1 - j, k = 4 * (sy * plain.width + sx);
    const differs = plain.rgba[k] !== marked.rgba[k] || plain.rgba[k + 1] !== marked.rgba[k + 1] || plain.rgba[k + 2] !== marked.rgba[k + 2];
    const set = isSet(i, j);
    if (differs) changed++;
    if (set) expected++;
    if (differs !== set) wrong++;
  }
  return { changed, expected, wrong };
}

beforeAll(async () => {
  processed = processedRepository(PRESET);
  repo = await Repository.open(processed.root);
  server = await startServer({ repo, webRoot: path.join(repoRoot, 'dist', 'web'), version: 'test' });
  const refs = await repo.queryDatasets({ datasetTypes: ['calexp'] });
  const newest = refs.reduce((a, b) => (b.ingestDate > a.ingestDate ? b : a));
  const first = refs.find((r) => r.run === newest.run)!;
  const src = (await repo.findDataset('src', first.dataId, [first.run]))!;
  const file = repo.getPath(first);
  const shape = runPythonJson<[number, number]>(`
import json, sys
from astropy.io import fits
print(json.dumps(list(fits.getdata(sys.argv[1], 'IMAGE').shape)))`, [file]);
  calexp = { id: first.id, file, height: shape[0], width: shape[1], src: repo.getPath(src) };
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
}, 1_800_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await repo?.close();
});

describe('the viewer', () => {
  it('opens on the newest run\'s first calexp and draws it', async () => {
    await page.goto(`${server.url}/`);
    await waitReady();
    expect(new URL(page.url()).hash).toContain(`dataset=${calexp.id}`);
    expect(await page.textContent('#title')).toMatch(/^calexp /);
    const c = await canvasPixels();
    // Fitted view: the image's box on screen from the URL's centre and zoom.
    const p = new URLSearchParams(new URL(page.url()).hash.slice(1));
    const zoom = Number(p.get('zoom')), cx = Number(p.get('x')), cy = Number(p.get('y'));
    const ox = c.width / 2 - cx * zoom, oy = c.height / 2 + cy * zoom;
    let n = 0, sum = 0, sum2 = 0, outside = 0, outsideBright = 0;
    for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
      const g = c.rgba[4 * (y * c.width + x)]!;
      // 2 screen pixels in from the image's edges, or 2 out.
      const within = (m: number): boolean => x > ox + m && x < ox + calexp.width * zoom - m && y < oy - m && y > oy - calexp.height * zoom + m;
      if (within(2)) { n++; sum += g; sum2 += g * g; } else if (!within(-2)) { outside++; if (g > 0) outsideBright++; }
    }
    const mean = sum / n, sd = Math.sqrt(sum2 / n - mean * mean);
    console.log(`first paint: zoom ${zoom}, ${n} image pixels on screen, grey mean ${mean.toFixed(1)}, sd ${sd.toFixed(1)}; ${outsideBright} of ${outside} outside not black`);
    expect(n).toBeGreaterThan(50_000);
    expect(mean).toBeGreaterThan(40);
    expect(mean).toBeLessThan(230);
    expect(sd).toBeGreaterThan(5);
    expect(outsideBright).toBe(0);
    await page.screenshot({ path: path.join(out, 'first-calexp.png') });
  });

  it('shows the listed calexps as a thumbnail strip: thumbnails load from the server, the shown one is marked, a click opens another', async () => {
    await page.goto(`${server.url}/`);
    await waitReady();
    const listed = await page.locator('#datasets li').evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.id));
    const strip = await page.locator('#thumbs figure').evaluateAll((fs) => fs.map((f) => (f as HTMLElement).dataset.id));
    expect(strip).toEqual(listed);
    expect(await page.getAttribute('#thumbs figure.current', 'data-id')).toBe(calexp.id);
    // The thumbnails in view load (lazily: the server makes each once).
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll<HTMLImageElement>('#thumbs img')].slice(0, 4);
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    }, null, { timeout: 60_000 });
    const sizes = await page.locator('#thumbs img').evaluateAll((imgs) => imgs.slice(0, 4).map((i) => [(i as HTMLImageElement).naturalWidth, (i as HTMLImageElement).naturalHeight]));
    for (const [w, h] of sizes) expect(Math.max(w!, h!)).toBeLessThanOrEqual(128);
    console.log(`thumbnail strip: ${strip.length} calexps; the first thumbnails ${sizes.map((s) => s.join(' x ')).join(', ')} px`);
    const other = strip.find((id) => id !== calexp.id)!;
    await page.click(`#thumbs figure[data-id="${other}"]`);
    await page.waitForFunction((id) => new URL(location.href).hash.includes(`dataset=${id}`) && document.querySelector('#viewer')!.getAttribute('data-state') === 'ready', other, { timeout: 60_000 });
    expect(await page.getAttribute('#thumbs figure.current', 'data-id')).toBe(other);
    expect(await page.getAttribute('#datasets li.current', 'data-id')).toBe(other);
    await page.screenshot({ path: path.join(out, 'thumbnail-strip.png') });
  });

  it('at 1:1 shows astropy\'s asinh/zscale grey levels (within 1), and the DETECTED overlay on exactly its pixels', async () => {
    const cx = Math.round(calexp.width / 2), cy = Math.round(calexp.height / 2);
    await openAt(`#dataset=${calexp.id}&x=${cx}&y=${cy}&zoom=1&stretch=asinh&limits=zscale&cmap=grey`);
    const plain = await canvasPixels();
    const [ox, oy] = origin(plain, cx, cy);
    // Visible image pixels: i = sx - ox, j = oy - 1 - sy.
    const { i0, i1, j0, j1 } = visiblePixels(plain, ox, oy, calexp.width, calexp.height);
    const ref = runPythonJson<{ grey: (number | null)[]; detected: number[]; limits: [number, number] }>(`
import json, sys
import numpy as np
from astropy.io import fits
from astropy.visualization import ZScaleInterval, AsinhStretch
i0, i1, j0, j1 = map(int, sys.argv[2:6])
with fits.open(sys.argv[1]) as f:
    image = f['IMAGE'].data.astype(np.float32)
    mask = f['MASK'].data
    bit = f['MASK'].header['MP_DETECTED']
lo, hi = ZScaleInterval().get_limits(image)
t = np.clip((image - lo) / (hi - lo), 0, 1)
grey = 255 * AsinhStretch()(np.nan_to_num(t, nan=0.0))
grey = np.where(np.isfinite(image), grey, np.nan)[j0:j1, i0:i1]
detected = ((mask[j0:j1, i0:i1] >> bit) & 1).astype(int)
print(json.dumps({'grey': [None if not np.isfinite(v) else float(v) for v in grey.ravel()], 'detected': detected.ravel().tolist(), 'limits': [float(lo), float(hi)]}))
`, [calexp.file, String(i0), String(i1), String(j0), String(j1)]);
    const limits = (await page.getAttribute('#viewer', 'data-limits'))!.split(',').map(Number);
    expect(Math.abs(limits[0]! / ref.limits[0] - 1)).toBeLessThan(1e-5);
    expect(Math.abs(limits[1]! / ref.limits[1] - 1)).toBeLessThan(1e-5);
    const w = i1 - i0;
    let compared = 0, worst = 0;
    for (let j = j0; j < j1; j++) for (let i = i0; i < i1; i++) {
      const want = ref.grey[(j - j0) * w + (i - i0)];
      if (want === null || want === undefined) continue;
      const sx = ox + i, sy = oy - 1 - j;
      const got = plain.rgba[4 * (sy * plain.width + sx)]!;
      worst = Math.max(worst, Math.abs(got - want));
      compared++;
    }
    console.log(`asinh/zscale at 1:1: ${compared} pixels, worst difference from astropy ${worst.toFixed(3)} grey levels`);
    expect(compared).toBeGreaterThan(200_000);
    expect(worst).toBeLessThanOrEqual(1);
    await page.screenshot({ path: path.join(out, 'one-to-one.png') });

    await page.check('#masks input[data-plane="DETECTED"]');
    await waitReady();
    expect(new URL(page.url()).hash).toContain('masks=DETECTED');
    const masked = await canvasPixels();
    const { changed, expected, wrong } = overlayChanges(plain, masked, ox, oy, { i0, i1, j0, j1 }, (i, j) => ref.detected[(j - j0) * w + (i - i0)] === 1);
    console.log(`DETECTED overlay: ${changed} pixels changed, ${expected} with the bit set, ${wrong} disagree`);
    expect(expected).toBeGreaterThan(1000);
    expect(wrong).toBe(0);
    await page.screenshot({ path: path.join(out, 'detected-overlay.png') });
  });

  it('marks a warp\'s CLIPPED spans from its artifact mask: the overlay covers exactly the spans\' pixels (astropy\'s reading)', async () => {
    // The artifact mask with the most clipped spans, and its visit's direct warp.
    const masks = await repo.queryDatasets({ datasetTypes: ['deepCoadd_artifactMask'], collections: [processed.run] });
    const rows = masks.map((m) => ({ m, n: readSourceCatalog(repo.getBytes(m), repo.getPath(m)).length }));
    const { m: mask } = rows.reduce((a, b) => (b.n > a.n ? b : a));
    const warp = (await repo.findDataset('deepCoadd_directWarp', mask.dataId, [processed.run]))!;
    const ref = runPythonJson<{ x0: number; y0: number; width: number; height: number; spans: [number, number, number][]; bit: number | null; alreadySet: number[] }>(`
import json, sys
import numpy as np
from astropy.io import fits
from astropy.table import Table
t = Table.read(sys.argv[2], hdu='SOURCES')
with fits.open(sys.argv[1]) as f:
    h = f['MASK'].header; m = f['MASK'].data
    x0, y0 = -int(h.get('LTV1', 0)), -int(h.get('LTV2', 0))
    bit = h.get('MP_CLIPPED')
    already = np.argwhere((m & (1 << bit)) != 0).tolist() if bit is not None else []
print(json.dumps({'x0': x0, 'y0': y0, 'width': int(m.shape[1]), 'height': int(m.shape[0]), 'spans': [[int(r['y']), int(r['x0']), int(r['x1'])] for r in t], 'bit': bit, 'alreadySet': [j * m.shape[1] + i for j, i in already]}))
`, [repo.getPath(warp), repo.getPath(mask)]);
    const clipped = new Set(ref.alreadySet);
    for (const [y, a, b] of ref.spans) for (let x = a; x <= b; x++) clipped.add((y - ref.y0) * ref.width + (x - ref.x0));
    // Centre the view at 1:1 on the middle span.
    const [sy0, sa, sb] = ref.spans[Math.floor(ref.spans.length / 2)]!;
    const cx = Math.round((sa + sb) / 2) - ref.x0, cy = sy0 - ref.y0;
    await openAt(`#dataset=${warp.id}&x=${cx}&y=${cy}&zoom=1&stretch=linear&limits=minmax`);
    await page.waitForSelector('#viewer[data-clipped]', { timeout: 30_000 });
    await waitReady();
    await page.uncheck('#masks input[data-plane="CLIPPED"]');
    await waitReady();
    const plain = await canvasPixels();
    await page.check('#masks input[data-plane="CLIPPED"]');
    await waitReady();
    const marked = await canvasPixels();
    const [ox, oy] = origin(plain, cx, cy);
    const { changed, expected, wrong } = overlayChanges(plain, marked, ox, oy, visiblePixels(plain, ox, oy, ref.width, ref.height), (i, j) => clipped.has(j * ref.width + i));
    console.log(`CLIPPED on visit ${mask.dataId.visit}'s warp (patch ${mask.dataId.patch}, ${mask.dataId.band}): ${ref.spans.length} spans, ${clipped.size} pixels in all; in view ${changed} pixels changed, ${expected} clipped, ${wrong} disagree`);
    expect(expected).toBeGreaterThan(0);
    expect(wrong).toBe(0);
    await page.screenshot({ path: path.join(out, 'warp-clipped.png') });
  });

  it('reads the pixel under the cursor: coordinates, and astropy\'s RA/Dec within 1 mas', async () => {
    const cx = Math.round(calexp.width / 2), cy = Math.round(calexp.height / 2);
    await openAt(`#dataset=${calexp.id}&x=${cx}&y=${cy}&zoom=1`);
    const c = await canvasPixels();
    const [ox, oy] = origin(c, cx, cy);
    const src = readSourceCatalog(await import('node:fs').then((fs) => fs.readFileSync(calexp.src)), calexp.src);
    const x = src.columns.base_SdssCentroid_x as Float64Array, y = src.columns.base_SdssCentroid_y as Float64Array, flux = src.columns.base_PsfFlux_instFlux as Float64Array;
    // The brightest sources whose pixel is on screen.
    const order = Array.from(x.keys()).filter((k) => {
      const sx = ox + Math.round(x[k]!), sy = oy - 1 - Math.round(y[k]!);
      return Number.isFinite(flux[k]!) && sx > 5 && sx < c.width - 5 && sy > 5 && sy < c.height - 5;
    }).sort((a, b) => flux[b]! - flux[a]!).slice(0, 3);
    expect(order.length).toBe(3);
    const pixels = order.map((k) => [Math.round(x[k]!), Math.round(y[k]!)] as [number, number]);
    const sky = runPythonJson<[number, number][]>(`
import json, sys
from astropy.io import fits
from astropy.wcs import WCS
w = WCS(fits.getheader(sys.argv[1], 'IMAGE'))
pts = json.loads(sys.argv[2])
print(json.dumps([[float(v) for v in w.all_pix2world(px, py, 0)] for px, py in pts]))
`, [calexp.file, JSON.stringify(pixels)]);
    for (const [k, [i, j]] of pixels.entries()) {
      await page.mouse.move(c.left + ox + i + 0.5, c.top + oy - j - 0.5);
      await page.waitForFunction(([a, b]) => document.querySelector<HTMLElement>('#readout')!.dataset.x === String(a) && document.querySelector<HTMLElement>('#readout')!.dataset.y === String(b), [i, j]);
      const d = await page.evaluate(() => ({ ...document.querySelector<HTMLElement>('#readout')!.dataset }));
      expect([Number(d.parentX), Number(d.parentY)]).toEqual([i, j]);
      expect(await page.textContent('#readout')).toContain(`FITS ${i + 1}, ${j + 1}`);
      const [ra, dec] = sky[k]!;
      const dRa = (Number(d.ra) - ra) * Math.cos((dec * Math.PI) / 180) * 3.6e6, dDec = (Number(d.dec) - dec) * 3.6e6;
      console.log(`readout at (${i}, ${j}): RA/Dec off astropy's by ${dRa.toFixed(4)}, ${dDec.toFixed(4)} mas`);
      expect(Math.hypot(dRa, dDec)).toBeLessThan(1);
    }
    await page.screenshot({ path: path.join(out, 'readout.png') });
  });

  it('draws the src catalogue: the markers in view are astropy\'s count of rows under the same cut; a click shows a row', async () => {
    const cx = Math.round(calexp.width / 2), cy = Math.round(calexp.height / 2);
    await openAt(`#dataset=${calexp.id}&x=${cx}&y=${cy}&zoom=1&cat=src&snr=10&clean=1&primary=1`);
    await page.waitForFunction(() => (document.querySelector<HTMLElement>('#catalog-count')!.dataset.inView ?? '') !== '');
    const c = await canvasPixels();
    const [ox, oy] = origin(c, cx, cy);
    const box = { x0: -ox, x1: c.width - ox, y0: oy - c.height, y1: oy };
    const counted = runPythonJson<{ inView: number; kept: number; total: number; first: { id: number; x: number; y: number } }>(`
import json, sys
import numpy as np
from astropy.table import Table
t = Table.read(sys.argv[1], hdu='SOURCES')
x0, x1, y0, y1 = map(float, sys.argv[2:6])
flux = t['base_PsfFlux_flux'] if 'base_PsfFlux_flux' in t.colnames else t['base_PsfFlux_instFlux']
err = t['base_PsfFlux_fluxErr'] if 'base_PsfFlux_fluxErr' in t.colnames else t['base_PsfFlux_instFluxErr']
with np.errstate(invalid='ignore', divide='ignore'):
    keep = np.asarray(flux / err >= 10)
for c in ('base_PixelFlags_flag_edge', 'base_PixelFlags_flag_interpolatedCenter', 'base_PixelFlags_flag_saturatedCenter', 'base_PsfFlux_flag'):
    keep &= ~np.asarray(t[c], dtype=bool)
if 'detect_isPrimary' in t.colnames:
    keep &= np.asarray(t['detect_isPrimary'], dtype=bool)
x = np.asarray(t['base_SdssCentroid_x']) + 0.5
y = np.asarray(t['base_SdssCentroid_y']) + 0.5
keep &= np.isfinite(x) & np.isfinite(y)
inside = keep & (x >= x0) & (x < x1) & (y >= y0) & (y < y1)
k = int(np.flatnonzero(inside)[0])
print(json.dumps({'inView': int(inside.sum()), 'kept': int(keep.sum()), 'total': len(t), 'first': {'id': int(t['id'][k]), 'x': float(x[k]), 'y': float(y[k])}}))
`, [calexp.src, String(box.x0), String(box.x1), String(box.y0), String(box.y1)]);
    const d = await page.evaluate(() => ({ ...document.querySelector<HTMLElement>('#catalog-count')!.dataset }));
    console.log(`src markers: ${d.inView} in view, ${d.kept} kept of ${d.total}; astropy: ${counted.inView}, ${counted.kept} of ${counted.total}`);
    expect(Number(d.total)).toBe(counted.total);
    expect(Number(d.kept)).toBe(counted.kept);
    expect(Number(d.inView)).toBe(counted.inView);
    expect(counted.inView).toBeGreaterThan(20);
    await page.mouse.click(c.left + ox + counted.first.x, c.top + oy - counted.first.y);
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#catalog-row')!.dataset.row !== undefined);
    const cells = await page.locator('#catalog-row tr').first().locator('td').allTextContents();
    expect(cells).toEqual(['id', String(counted.first.id)]);
    await page.screenshot({ path: path.join(out, 'src-markers.png') });
  });

  it('shows a patch\'s i, r, g coadds as astropy\'s make_lupton_rgb composite within 1 level', async () => {
    const coadds = (await repo.queryDatasets({ datasetTypes: ['deepCoadd'], collections: [processed.run] })).filter((r) => r.run === processed.run);
    const patch = coadds[0]!.dataId.patch;
    const band = (b: string) => coadds.find((r) => r.dataId.patch === patch && r.dataId.band === b)!;
    const files = ['i', 'r', 'g'].map((b) => repo.getPath(band(b)));
    const shape = runPythonJson<[number, number]>(`
import json, sys
from astropy.io import fits
print(json.dumps(list(fits.getdata(sys.argv[1], 'IMAGE').shape)))`, [files[0]!]);
    const cx = Math.round(shape[1] / 2), cy = Math.round(shape[0] / 2);
    // Opened on the r band: the composite shows the i band's dataset with r and g.
    await openAt(`#dataset=${band('r').id}&x=${cx}&y=${cy}&zoom=1&rgb=1&lstretch=60&q=8`);
    expect(await page.textContent('#title')).toMatch(/colour i,r,g/);
    expect(new URL(page.url()).hash).toContain(`dataset=${band('i').id}`);
    const c = await canvasPixels();
    const [ox, oy] = origin(c, cx, cy);
    const { i0, i1, j0, j1 } = visiblePixels(c, ox, oy, shape[1], shape[0]);
    const want = runPythonJson<number[]>(`
import json, sys
import numpy as np
from astropy.io import fits
from astropy.visualization import make_lupton_rgb
i0, i1, j0, j1 = map(int, sys.argv[4:8])
planes = [fits.getdata(f, 'IMAGE') for f in sys.argv[1:4]]
with np.errstate(all='ignore'):
    rgb = make_lupton_rgb(*planes, minimum=0, stretch=60, Q=8)
print(json.dumps(rgb[j0:j1, i0:i1].ravel().tolist()))
`, [...files, String(i0), String(i1), String(j0), String(j1)]);
    const w = i1 - i0;
    let worst = 0, lit = 0;
    for (let j = j0; j < j1; j++) for (let i = i0; i < i1; i++) {
      const k = 4 * ((oy - 1 - j) * c.width + ox + i), m = 3 * ((j - j0) * w + (i - i0));
      for (let ch = 0; ch < 3; ch++) worst = Math.max(worst, Math.abs(c.rgba[k + ch]! - want[m + ch]!));
      if (want[m]! + want[m + 1]! + want[m + 2]! > 30) lit++;
    }
    console.log(`colour composite at 1:1: ${(j1 - j0) * w} pixels, worst difference from astropy's make_lupton_rgb ${worst} level(s); ${lit} pixels lit`);
    expect(lit).toBeGreaterThan(1000);
    expect(worst).toBeLessThanOrEqual(1);
    await page.screenshot({ path: path.join(out, 'colour-irg.png') });
  });

  it('shows the background model, the image plus model and a smoothed residual (numpy\'s normalised Gaussian smoothing)', async () => {
    const cx = Math.round(calexp.width / 2), cy = Math.round(calexp.height / 2);
    const readAt = async (i: number, j: number): Promise<number> => {
      const c = await canvasPixels();
      const [ox, oy] = origin(c, cx, cy);
      await page.mouse.move(c.left + ox + i + 0.5, c.top + oy - j - 0.5);
      await page.waitForFunction(([a, b]) => document.querySelector<HTMLElement>('#readout')!.dataset.x === String(a) && document.querySelector<HTMLElement>('#readout')!.dataset.y === String(b), [i, j]);
      const v = Number(await page.getAttribute('#readout', 'data-value'));
      await page.mouse.move(c.left + 2, c.top + 2); // away, so the next read waits for a fresh readout
      return v;
    };
    const pixels: [number, number][] = [[cx - 150, cy - 200], [cx + 40, cy + 10], [cx + 200, cy + 230]];
    const values: Record<string, number[]> = {};
    for (const view of ['image', 'background', 'image+background', 'residual']) {
      await openAt(`#dataset=${calexp.id}&x=${cx}&y=${cy}&zoom=1${view === 'image' ? '' : `&bg=${encodeURIComponent(view)}`}`);
      expect(await page.inputValue('#bgview')).toBe(view);
      values[view] = [];
      for (const [i, j] of pixels) values[view]!.push(await readAt(i, j));
      if (view === 'residual') await page.screenshot({ path: path.join(out, 'smoothed-residual.png') });
    }
    // image + background, pixel by pixel (float32 sums).
    pixels.forEach((_, k) => expect(Math.abs(values['image+background']![k]! - Math.fround(values.image![k]! + values.background![k]!))).toBeLessThanOrEqual(1e-6 * Math.abs(values['image+background']![k]!)));
    const want = runPythonJson<(number | null)[]>(`
import json, sys
import numpy as np
from astropy.io import fits
with fits.open(sys.argv[1]) as f:
    image = f['IMAGE'].data.astype(np.float64)
    mask = f['MASK'].data
    h = f['MASK'].header
bits = 0
for name in ('DETECTED', 'SAT', 'BAD', 'NO_DATA', 'EDGE'):
    if 'MP_' + name in h: bits |= 1 << h['MP_' + name]
keep = np.isfinite(image) & ((mask & bits) == 0)
half = 32
g = np.exp(-0.5 * (np.arange(-half, half + 1) / 8.0) ** 2)
w2 = np.outer(g, g)
out = []
for i, j in json.loads(sys.argv[2]):
    win = (slice(j - half, j + half + 1), slice(i - half, i + half + 1))
    k = keep[win]; v = np.where(k, image[win], 0.0)
    kept = (w2 * k).sum() / w2.sum()
    out.append(float((w2 * v).sum() / (w2 * k).sum()) if kept >= 0.1 else None)
print(json.dumps(out))
`, [calexp.file, JSON.stringify(pixels)]);
    console.log(`smoothed residual at ${pixels.length} pixels: ${values.residual!.map((v) => v.toFixed(4)).join(', ')}; numpy ${want.map((v) => (v === null ? 'none (under 10 % of the kernel kept)' : v.toFixed(4))).join(', ')}`);
    pixels.forEach((_, k) => {
      const w = want[k];
      if (w === null) expect(Number.isNaN(values.residual![k]!), `pixel ${k}: no smoothed value where under 10 % of the kernel is kept`).toBe(true);
      else expect(Math.abs(values.residual![k]! - w!)).toBeLessThan(1e-4 + 1e-5 * Math.abs(w!));
    });
    expect(want.filter((w) => w !== null).length).toBeGreaterThanOrEqual(2);
    expect(values.background!.every((v) => Math.abs(v) > 0)).toBe(true);
  });

  it('blinks a calexp against the coadd it fed, aligned by WCS, pan and zoom locked', async () => {
    const cx = Math.round(calexp.width / 2), cy = Math.round(calexp.height / 2);
    const [ra, dec] = runPythonJson<[number, number]>(`
import json, sys
from astropy.io import fits
from astropy.wcs import WCS
print(json.dumps([float(v) for v in WCS(fits.getheader(sys.argv[1], 'IMAGE')).all_pix2world(float(sys.argv[2]), float(sys.argv[3]), 0)]))
`, [calexp.file, String(cx - 0.5), String(cy - 0.5)]);
    const coadds = (await repo.queryDatasets({ datasetTypes: ['deepCoadd'], collections: [processed.run] })).filter((r) => r.run === processed.run);
    const inside = runPythonJson<number>(`
import json, sys
from astropy.io import fits
from astropy.wcs import WCS
ra, dec = float(sys.argv[1]), float(sys.argv[2])
best, margin = -1, 50.0
for k, f in enumerate(sys.argv[3:]):
    h = fits.getheader(f, 'IMAGE'); x, y = WCS(h).all_world2pix(ra, dec, 0)
    m = min(x, y, h['NAXIS1'] - 1 - x, h['NAXIS2'] - 1 - y)
    if m > margin: best, margin = k, m
print(best)
`, [String(ra), String(dec), ...coadds.map((r) => repo.getPath(r))]);
    expect(inside).toBeGreaterThanOrEqual(0);
    const coadd = coadds[inside]!;
    await openAt(`#dataset=${calexp.id}&x=${cx}&y=${cy}&zoom=1&compare=${coadd.id}`);
    await page.waitForSelector('#compare-host[data-state="ready"]', { state: 'attached' });
    /** The sky the readout gives at (dx, dy) screen pixels from the canvas centre (once the readout is for that point). */
    const skyAt = async (dx: number, dy: number): Promise<[number, number]> => {
      const box = (await page.locator('#stage').boundingBox())!;
      const sx = Math.round(box.width / 2 + dx), sy = Math.round(box.height / 2 + dy);
      await page.mouse.move(box.x + 3, box.y + 3);
      await page.mouse.move(box.x + sx, box.y + sy);
      await page.waitForFunction(([x, y]) => {
        const [ax, ay] = (document.querySelector<HTMLElement>('#readout')!.dataset.at ?? '').split(',').map(Number);
        return Math.abs(ax! - x!) <= 1 && Math.abs(ay! - y!) <= 1;
      }, [sx, sy]);
      const d = await page.evaluate(() => ({ ...document.querySelector<HTMLElement>('#readout')!.dataset }));
      return [Number(d.ra), Number(d.dec)];
    };
    const centreSky = (): Promise<[number, number]> => skyAt(0, 0);
    const apart = (a: [number, number], b: [number, number]): number => Math.hypot((a[0] - b[0]) * Math.cos((a[1] * Math.PI) / 180), a[1] - b[1]) * 3600;
    const onCalexp = await centreSky();
    expect(apart(onCalexp, [ra, dec])).toBeLessThan(0.3);
    await page.keyboard.press('b');
    expect(await page.getAttribute('#viewer', 'data-showing')).toBe('compare');
    const onCoadd = await centreSky();
    // The same sky under every screen point, the visit's rotation against the tract followed: the two
    // views' image points under the canvas corners (from the views the hosts report), through astropy's WCSs.
    const views = await page.evaluate(() => ['#canvas-host', '#compare-host'].map((h) => document.querySelector<HTMLElement>(h)!.dataset.view!));
    const canvas = (await page.locator('#stage').boundingBox())!;
    const corners = runPythonJson<{ apart: number[]; rotation: number }>(`
import json, sys, math
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
w, h = float(sys.argv[3]), float(sys.argv[4])
def world(view, dx, dy):
    q = view.get('orient', [1, 0, 0, 1]); z = view['zoom']
    m = np.array([[z * q[0], z * q[1]], [-z * q[2], -z * q[3]]])
    return np.array([view['cx'], view['cy']]) + np.linalg.solve(m, [dx, dy])
out, sky = [], {}
for dx, dy in ((-0.45 * w, -0.45 * h), (0.45 * w, -0.45 * h), (-0.45 * w, 0.45 * h), (0.45 * w, 0.45 * h)):
    s = []
    for f, view in zip(sys.argv[1:3], json.loads(sys.argv[5])):
        x, y = world(json.loads(view), dx, dy) - 0.5
        s.append(WCS(fits.getheader(f, 'IMAGE')).all_pix2world(x, y, 0))
    out.append(float(math.hypot((s[0][0] - s[1][0]) * math.cos(math.radians(s[0][1])), s[0][1] - s[1][1]) * 3600))
q = json.loads(json.loads(sys.argv[5])[1]).get('orient', [1, 0, 0, 1])
print(json.dumps({'apart': out, 'rotation': math.degrees(math.atan2(q[2], q[0]))}))
`, [calexp.file, repo.getPath(coadd), String(canvas.width), String(canvas.height), JSON.stringify(views)]);
    console.log(`blink: the canvas centre on the calexp and on the coadd ${apart(onCalexp, onCoadd).toFixed(3)}" apart (readout); the canvas corners ${corners.apart.map((a) => a.toFixed(4)).join(', ')}" apart; the coadd turned ${corners.rotation.toFixed(3)} deg`);
    expect(apart(onCalexp, onCoadd)).toBeLessThan(0.3);
    for (const a of corners.apart) expect(a).toBeLessThan(0.02);
    await page.screenshot({ path: path.join(out, 'blink-coadd.png') });
    // Pan on the coadd; the calexp follows.
    const box = (await page.locator('#stage').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 - 120, box.y + box.height / 2 - 60, { steps: 6 });
    await page.mouse.up();
    await page.waitForSelector('#compare-host[data-state="ready"]', { state: 'attached' });
    const movedCoadd = await centreSky();
    await page.keyboard.press('b');
    await page.waitForSelector('#viewer[data-state="ready"]');
    const movedCalexp = await centreSky();
    expect(apart(movedCoadd, onCoadd)).toBeGreaterThan(10);
    expect(apart(movedCoadd, movedCalexp)).toBeLessThan(0.3);
  });

  it('restores the view from the URL on reload, pixel for pixel', async () => {
    await openAt(`#dataset=${calexp.id}&x=300.5&y=700.25&zoom=2&stretch=sqrt&limits=99.5&cmap=heat&masks=SAT,DETECTED&alpha=0.3`);
    const before = await canvasPixels(), hash = new URL(page.url()).hash;
    await page.reload();
    await waitReady();
    expect(new URL(page.url()).hash).toBe(hash);
    expect(await page.inputValue('#stretch')).toBe('sqrt');
    expect(await page.inputValue('#cmap')).toBe('heat');
    expect(await page.isChecked('#masks input[data-plane="SAT"]')).toBe(true);
    const after = await canvasPixels();
    expect(after.rgba.equals(before.rgba)).toBe(true);
    await page.screenshot({ path: path.join(out, 'restored.png') });
  });

  it('draws the same view with pixi\'s 2-D canvas renderer (its fallback without WebGL) as with WebGL', async () => {
    const cx = Math.round(calexp.width / 2), cy = Math.round(calexp.height / 2);
    const hash = `#dataset=${calexp.id}&x=${cx}&y=${cy}&zoom=1&stretch=asinh&limits=zscale&masks=DETECTED&alpha=0.5`;
    await openAt(hash);
    expect(await page.getAttribute('#viewer', 'data-renderer')).toBe('webgl');
    const gl = await canvasPixels();
    await page.goto('about:blank');
    await page.goto(`${server.url}/?renderer=canvas${hash}`);
    await waitReady();
    expect(await page.getAttribute('#viewer', 'data-renderer')).toBe('canvas');
    const canvas = await canvasPixels();
    expect([canvas.width, canvas.height]).toEqual([gl.width, gl.height]);
    let worst = 0, lit = 0;
    for (let k = 0; k < gl.rgba.length; k += 4) {
      for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(gl.rgba[k + c]! - canvas.rgba[k + c]!));
      if (canvas.rgba[k]! > 0) lit++;
    }
    console.log(`canvas renderer vs WebGL: ${gl.width} x ${gl.height} px, worst difference ${worst} level(s); ${lit} pixels lit`);
    expect(lit).toBeGreaterThan(50_000);
    expect(worst).toBeLessThanOrEqual(1);
    await page.screenshot({ path: path.join(out, 'canvas-renderer.png') });
  });

  it('renders a FITS file chosen from disk, with no server involved', async () => {
    const file = realFile('hsc_afw/HSC-0908120-056-small.fits');
    await page.setInputFiles('#files', file);
    await page.waitForFunction((name) => document.querySelector<HTMLElement>('#viewer')!.dataset.image === name && document.querySelector<HTMLElement>('#viewer')!.dataset.state === 'ready', path.basename(file), { timeout: 60_000 });
    const c = await canvasPixels();
    let lit = 0;
    for (let k = 0; k < c.rgba.length; k += 4) if (c.rgba[k]! > 0) lit++;
    expect(lit).toBeGreaterThan(10_000);
    const box = await page.locator('#canvas-host canvas').boundingBox();
    await page.mouse.move(box!.x + box!.width / 2, box!.y + box!.height / 2);
    await page.waitForFunction(() => (document.querySelector<HTMLElement>('#readout')!.dataset.ra ?? '') !== '');
    expect(await page.textContent('#readout')).toMatch(/RA \d+\.\d+ Dec -?\d+\.\d+/);
    await page.screenshot({ path: path.join(out, 'local-file.png') });
  });
});

describe('certification in the viewer', () => {
  let copyRoot: string, copy: Repository, writable: RunningServer;

  beforeAll(async () => {
    copyRoot = await registryCopy(processed.root, path.join(out, 'repository-copy'));
    copy = await Repository.open(copyRoot);
    writable = await startServer({ repo: copy, webRoot: path.join(repoRoot, 'dist', 'web'), version: 'test', allowCertify: true });
  });

  afterAll(async () => {
    await writable?.close();
    await copy?.close();
  });

  const listed = (): { datasets: { datasetId: string; latest: { verdict: string; reviewer: string; checklist: Record<string, unknown>; note: string }; history: unknown[] }[] } =>
    JSON.parse(tessera('certifications', copyRoot, '--json').stdout);

  it('records a verdict given with the keyboard; it survives a reload and the CLI lists it', async () => {
    await page.goto('about:blank');
    await page.goto(`${writable.url}/#dataset=${calexp.id}`);
    await waitReady();
    expect(await page.isVisible('#certify')).toBe(true);
    await page.fill('#reviewer', 'Ada Lovelace');
    await page.check('#chk-artifacts');
    await page.check('#chk-trails');
    await page.fill('#verdict-note', 'trail masked in the warps');
    await page.locator('#canvas-host canvas').click();
    await page.keyboard.press('c');
    await page.waitForSelector('#verdict-status[data-sync="synced"]');
    expect(await page.textContent('#verdict-status')).toMatch(/^certified by Ada Lovelace at .* UTC; recorded in the repository$/);
    expect(await page.getAttribute('#progress', 'data-certified')).toBe('1');
    await page.reload();
    await waitReady();
    await page.waitForSelector('#verdict-status[data-sync="synced"]');
    expect(await page.textContent('#verdict-status')).toMatch(/^certified by Ada Lovelace/);
    expect(await page.isChecked('#chk-trails')).toBe(true);
    expect(await page.inputValue('#verdict-note')).toBe('trail masked in the warps');
    const entry = listed().datasets.find((d) => d.datasetId === calexp.id)!;
    expect(entry.latest).toMatchObject({ verdict: 'certified', reviewer: 'Ada Lovelace', note: 'trail masked in the warps',
      checklist: { artifactsMasked: true, trailsAndGhostsRejected: true, backgroundNotOverSubtracted: false, other: '' } });
    expect(tessera('certifications', copyRoot).stdout).toMatch(/certified\s+AT-\s+calexp .*by Ada Lovelace/);
    await page.screenshot({ path: path.join(out, 'certified.png') });
  });

  it('shows a verdict another reviewer overtook as a conflict, writes nothing, and replaces theirs only when asked', async () => {
    const before = listed().datasets.find((d) => d.datasetId === calexp.id)!;
    const latestId = (before.latest as unknown as { id: string }).id;
    // Bob, on another browser, rejects it after Ada's verdict.
    const bob = { id: crypto.randomUUID(), datasetId: calexp.id, verdict: 'rejected', checklist: { artifactsMasked: true, trailsAndGhostsRejected: false, backgroundNotOverSubtracted: true, other: '' },
      note: 'ghost left in', reviewer: 'Bob', reviewedAt: new Date().toISOString(), appVersion: 'test', supersedes: latestId };
    const res = await fetch(`${writable.url}/api/verdicts`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(bob) });
    expect(res.status).toBe(201);
    // Ada's page still knows only her own verdict: her next one supersedes it and is refused.
    await page.locator('#canvas-host canvas').click();
    await page.keyboard.press('w');
    await page.waitForSelector('#verdict-status[data-sync="conflict"]');
    expect(await page.textContent('#verdict-status')).toMatch(/needs work by Ada Lovelace .*NOT recorded: the repository has rejected by Bob .*ghost left in/);
    expect(listed().datasets.find((d) => d.datasetId === calexp.id)!.latest).toMatchObject({ verdict: 'rejected', reviewer: 'Bob' });
    await page.screenshot({ path: path.join(out, 'conflict.png') });
    await page.click('#keep-mine');
    await page.waitForSelector('#verdict-status[data-sync="synced"]');
    const after = listed().datasets.find((d) => d.datasetId === calexp.id)!;
    expect(after.latest).toMatchObject({ verdict: 'needs-work', reviewer: 'Ada Lovelace' });
    expect(after.history.length).toBe(before.history.length + 2);
  });

  it('keeps verdicts in the browser when the server records none', async () => {
    const [other] = (await repo.queryDatasets({ datasetTypes: ['calexp'] })).filter((r) => r.id !== calexp.id);
    const recorded = (await repo.registry.verdicts({ datasetIds: [other!.id] })).length;
    await page.goto('about:blank');
    await page.goto(`${server.url}/#dataset=${other!.id}`);
    await waitReady();
    await page.fill('#reviewer', 'Ada Lovelace');
    await page.click('button[data-verdict="needs-work"]');
    await page.waitForSelector('#verdict-status[data-sync="local-only"]');
    expect(await page.textContent('#verdict-status')).toMatch(/kept in this browser \(the server records no verdicts/);
    await page.reload();
    await waitReady();
    await page.waitForSelector('#verdict-status[data-sync="local-only"]');
    expect((await repo.registry.verdicts({ datasetIds: [other!.id] })).length).toBe(recorded);
  });
});
