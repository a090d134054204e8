/**
 * The viewer's speed in headless Chromium (issue 7; Playwright with Debian's chromium, software WebGL,
 * 1280 x 800, device pixel ratio 1), on a synthetic 4096 x 4096 float32 image (noise, 3000 stars) and a
 * 20,000-row catalogue, both chosen from disk (no network in the timings):
 * - first paint: from the image's bytes being in the page (mark tessera:bytes-in) to the fitted view
 *   drawn (mark tessera:idle), p50 and p95 of 7 loads;
 * - restretch: from a stretch change (the page's change event: mark tessera:restretch) to the view
 *   redrawn, p50 and p95 of 15 (Playwright's own time to pick the option is not the viewer's);
 * - frames while panning at 1:1 (drags of 5 px per step), with no markers and with the 20,000 markers:
 *   requestAnimationFrame intervals, p50 and p95 (software WebGL: the 60 fps target applies only with a
 *   GPU).
 * Targets (issue 7): first paint under 1 s, restretch under 50 ms.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { packageRoot } from '../node/packageRoot.js';
import { startServer } from '../node/server/apiServer.js';
import { FitsHeader, writeFits } from '../lib/fits/index.js';
import { writeSourceCatalog } from '../lib/measure/sourceCatalog.js';

export interface Quantiles { p50: number; p95: number; n: number }
export interface ViewerBench {
  size: number;
  markers: number;
  firstPaintMs: Quantiles;
  restretchMs: Quantiles;
  panFrameMs: { noMarkers: Quantiles; markers: Quantiles };
}

function quantiles(samples: number[]): Quantiles {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.round(q * (s.length - 1)))]!;
  return { p50: at(0.5), p95: at(0.95), n: s.length };
}

function syntheticInputs(dir: string, size: number, markers: number): { image: string; catalog: string } {
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const image = new Float32Array(size * size);
  for (let i = 0; i < image.length; i++) image[i] = 10 * (random() + random() + random() - 1.5);
  for (let k = 0; k < 3000; k++) {
    const cx = random() * size, cy = random() * size, flux = 2000 * Math.exp(6 * random());
    for (let y = Math.max(0, Math.floor(cy) - 8); y < Math.min(size, cy + 8); y++) {
      for (let x = Math.max(0, Math.floor(cx) - 8); x < Math.min(size, cx + 8); x++) image[y * size + x]! += flux * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 8) / (8 * Math.PI);
    }
  }
  const imageFile = path.join(dir, 'coadd-4k.fits');
  fs.writeFileSync(imageFile, writeFits([{ header: new FitsHeader(), data: image, shape: [size, size] }]));
  const x = new Float64Array(markers), y = new Float64Array(markers), xx = new Float64Array(markers), yy = new Float64Array(markers), xy = new Float64Array(markers);
  const flux = new Float64Array(markers), err = new Float64Array(markers);
  for (let k = 0; k < markers; k++) {
    x[k] = random() * size; y[k] = random() * size; xx[k] = 2 + 6 * random(); yy[k] = 2 + 6 * random(); xy[k] = random() - 0.5;
    flux[k] = 1000 * (1 + 100 * random()); err[k] = 30;
  }
  const catalogFile = path.join(dir, 'markers-20k.fits');
  fs.writeFileSync(catalogFile, writeSourceCatalog({ length: markers, columns: {
    id: Int32Array.from({ length: markers }, (_, k) => k + 1), base_SdssCentroid_x: x, base_SdssCentroid_y: y,
    base_SdssShape_xx: xx, base_SdssShape_yy: yy, base_SdssShape_xy: xy, base_PsfFlux_instFlux: flux, base_PsfFlux_instFluxErr: err,
  } }));
  return { image: imageFile, catalog: catalogFile };
}

/** Milliseconds between the last mark `from` and the first `tessera:idle` after it. */
async function sinceMark(page: Page, from: string): Promise<number> {
  await page.waitForFunction((f) => {
    const start = performance.getEntriesByName(f).at(-1);
    return start !== undefined && performance.getEntriesByName('tessera:idle').some((e) => e.startTime >= start.startTime);
  }, from, { timeout: 120_000 });
  return page.evaluate((f) => {
    const start = performance.getEntriesByName(f).at(-1)!.startTime;
    return performance.getEntriesByName('tessera:idle').find((e) => e.startTime >= start)!.startTime - start;
  }, from);
}

async function panFrames(page: Page): Promise<number[]> {
  const box = (await page.locator('#canvas-host canvas').boundingBox())!;
  await page.evaluate(() => {
    const w = window as unknown as { benchFrames: number[]; benchRecording: boolean };
    w.benchFrames = [];
    w.benchRecording = true;
    let last: number | undefined;
    const frame = (t: number): void => {
      if (last !== undefined) w.benchFrames.push(t - last);
      last = t;
      if (w.benchRecording) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  const x = box.x + box.width / 2, y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let k = 1; k <= 120; k++) await page.mouse.move(x - 5 * (k % 60), y - 3 * (k % 60));
  await page.mouse.up();
  return page.evaluate(() => {
    const w = window as unknown as { benchFrames: number[]; benchRecording: boolean };
    w.benchRecording = false;
    return w.benchFrames;
  });
}

export async function benchViewer(): Promise<ViewerBench> {
  const size = 4096, markers = 20_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-viewer-'));
  const inputs = syntheticInputs(dir, size, markers);
  const server = await startServer({ webRoot: path.join(packageRoot(), 'dist', 'web'), version: 'bench' });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    const firstPaint: number[] = [];
    for (let k = 0; k < 7; k++) {
      await page.goto('about:blank');
      await page.goto(`${server.url}/`);
      await page.waitForSelector('#kernels[data-state="ready"]');
      await page.setInputFiles('#files', inputs.image);
      firstPaint.push(await sinceMark(page, 'tessera:bytes-in'));
    }
    const restretch: number[] = [];
    const kinds = ['linear', 'sqrt', 'asinh'];
    for (let k = 0; k < 15; k++) {
      const before = await page.evaluate(() => performance.getEntriesByName('tessera:restretch').length);
      await page.selectOption('#stretch', kinds[k % kinds.length]!);
      await page.waitForFunction((n) => performance.getEntriesByName('tessera:restretch').length > n, before);
      restretch.push(await sinceMark(page, 'tessera:restretch'));
    }
    await page.click('#one');
    await page.waitForSelector('#viewer[data-state="ready"]');
    const noMarkers = await panFrames(page);
    await page.setInputFiles('#files', inputs.catalog);
    await page.waitForFunction(() => (document.querySelector<HTMLElement>('#catalog-count')!.dataset.kept ?? '') !== '');
    const withMarkers = await panFrames(page);
    return { size, markers, firstPaintMs: quantiles(firstPaint), restretchMs: quantiles(restretch), panFrameMs: { noMarkers: quantiles(noMarkers), markers: quantiles(withMarkers) } };
  } finally {
    await browser.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
