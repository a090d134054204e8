// Single-frame processing run in the browser worker (issue 7): the page's "pipeline in this page" panel
// simulates one CCD of the tiny survey and runs buildBias, buildDark, buildFlat, isr, characterizeImage
// and calibrate in Chromium's worker. Every dataset it offers for saving (src included) must be
// byte-identical to what Node makes for the same seed, visit and detector (lib/pipeline/simulatedCcd.ts,
// itself byte-identical to `tessera run`'s files: tests/pipeline/simulated-ccd.test.ts), which needs
// the same bits from every elementary function in both engines (lib/math/libm.ts). The calexp is then
// shown with the src markers; an unknown visit is reported in the panel. Screenshots in test-output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { startServer, type RunningServer } from '../../node/server/apiServer.js';
import { repoRoot, testOutputDir } from '../helpers/paths.js';
import { loadTessera } from '../../node/wasm.js';
import { PRESETS } from '../../lib/sim/presets.js';
import { parsePipeline } from '../../lib/pipeline/pipelineDefinition.js';
import { processSimulatedCcd } from '../../lib/pipeline/simulatedCcd.js';

let browser: Browser;
let server: RunningServer;
let page: Page;
const out = testOutputDir('e2e-process-in-browser');
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  server = await startServer({ webRoot: path.join(repoRoot, 'dist', 'web'), version: 'test' });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  await page.goto(server.url);
  await page.waitForSelector('#kernels[data-state="ready"]', { timeout: 20_000 });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function runInPage(seed: number, visit: number, detector: number): Promise<void> {
  await page.fill('#sim-seed', String(seed));
  await page.fill('#sim-visit', String(visit));
  await page.fill('#sim-detector', String(detector));
  await page.click('#sim-run');
  await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector<HTMLElement>('#sim-result')!.dataset.state ?? ''), null, { timeout: 120_000 });
}

describe('the pipeline in the page', () => {
  it('makes, in the browser worker, the datasets Node makes for the tiny seed, byte for byte, and shows the calexp with its sources', async () => {
    const [visit, detector] = [1003, 0];
    const pipeline = parsePipeline(fs.readFileSync(path.join(repoRoot, 'pipelines', 'DRP.yaml'), 'utf8'), 'pipelines/DRP.yaml');
    const node = await processSimulatedCcd(await loadTessera('release'), { ...PRESETS.tiny }, pipeline, { visit, detector });

    await runInPage(PRESETS.tiny.seed, visit, detector);
    expect(await page.getAttribute('#sim-result', 'data-state')).toBe('done');
    const steps = await page.locator('#sim-steps li').allTextContents();
    expect(steps.map((s) => s.split(':')[0])).toEqual(['simulate', 'buildBias', 'buildDark', 'buildFlat', 'isr', 'characterizeImage', 'calibrate']);
    // The saved files' bytes, hashed in the page.
    const inPage = await page.evaluate(async () => {
      const hashes: Record<string, { sha: string; bytes: number }> = {};
      for (const a of document.querySelectorAll<HTMLAnchorElement>('#sim-result a[data-type]')) {
        const buffer = await (await fetch(a.href)).arrayBuffer();
        const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', buffer));
        hashes[a.dataset.type!] = { sha: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''), bytes: buffer.byteLength };
      }
      return hashes;
    });
    expect(Object.keys(inPage).sort()).toEqual(Object.keys(node.datasets).sort());
    for (const [type, bytes] of Object.entries(node.datasets)) {
      expect(inPage[type]!.bytes, `${type} size`).toBe(bytes.length);
      expect(inPage[type]!.sha, `${type} in Chromium vs Node`).toBe(sha(bytes));
    }
    console.log(`browser worker: ${Object.keys(node.datasets).length} datasets byte-identical to Node's (src ${node.datasets.src!.length} bytes, sha256 ${sha(node.datasets.src!).slice(0, 16)}); steps ${steps.join(', ')}`);

    // The calexp is shown, with the src rows as markers.
    await page.waitForSelector('#viewer[data-state="ready"]', { timeout: 30_000 });
    expect(await page.textContent('#title')).toContain(`calexp of visit ${visit}, detector ${detector}`);
    const kept = Number(await page.getAttribute('#catalog-count', 'data-total'));
    expect(kept).toBeGreaterThan(50);
    await page.locator('#simulate').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(out, 'processed-in-browser.png'), fullPage: true });
  }, 180_000);

  it('says which visits the survey has when asked for another', async () => {
    await runInPage(PRESETS.tiny.seed, 999, 0);
    expect(await page.getAttribute('#sim-result', 'data-state')).toBe('error');
    expect(await page.textContent('#sim-result')).toMatch(/visit 999 is not in the survey \(visits 1000, 1001/);
    await page.locator('#simulate').screenshot({ path: path.join(out, 'unknown-visit.png') });
  }, 60_000);
});
