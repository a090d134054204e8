// The built web app in real Chromium: the same .wasm loads in a comlink worker through lib's loader,
// and a FITS file chosen from disk is inspected in the worker with the same HDU list and WCS centre
// (to 1e-7 deg) as `lib/inspect` gives in Node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { startServer, type RunningServer } from '../../node/server/apiServer.js';
import { realFile, repoRoot, testOutputDir } from '../helpers/paths.js';
import { inspectFits } from '../../lib/inspect.js';
import { fileSource } from '../../node/fits/fileSource.js';

let browser: Browser;
let server: RunningServer;
let page: Page;
const out = testOutputDir('e2e-inspect');

beforeAll(async () => {
  server = await startServer({ webRoot: path.join(repoRoot, 'dist', 'web'), version: 'test' });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(server.url);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('web app', () => {
  it('loads the SIMD wasm build in its worker', async () => {
    await page.waitForSelector('#kernels[data-state="ready"]', { timeout: 20_000 });
    expect(await page.textContent('#kernels')).toContain('SIMD');
    await page.screenshot({ path: path.join(out, 'wasm-loaded.png') });
  });

  for (const rel of ['hsc_afw/HSC-0908120-056-small.fits', 'decam_legacypipe_testcase6/survey-ccds-1.fits.gz']) {
    it(`inspects ${rel} in the worker as Node does`, async () => {
      const file = realFile(rel);
      const source = await fileSource(file);
      const expected = await inspectFits(source);
      await source.close();
      await page.setInputFiles('#files', file);
      const name = path.basename(file);
      const section = page.locator(`section.file[data-file="${name}"]`);
      await section.waitFor({ timeout: 20_000 });
      const rows = section.locator('tr[data-hdu]');
      expect(await rows.count()).toBe(expected.hdus.length);
      for (const hdu of expected.hdus) {
        const cells = await rows.nth(hdu.index).locator('td').allTextContents();
        expect(cells[1]).toContain(hdu.type);
        expect(Number(cells[3])).toBe(hdu.bitpix);
        if (hdu.wcs?.center) {
          const [ra, dec] = cells[6]!.split(',').map(Number);
          expect(Math.abs(ra! - hdu.wcs.center[0])).toBeLessThan(1e-7);
          expect(Math.abs(dec! - hdu.wcs.center[1])).toBeLessThan(1e-7);
        }
      }
      await page.screenshot({ path: path.join(out, `${name}.png`) });
    });
  }

  it('shows a clear error naming the file for bytes that are not FITS', async () => {
    await page.setInputFiles('#files', { name: 'notes.fits', mimeType: 'application/octet-stream', buffer: Buffer.from('this is not a FITS file'.repeat(200)) });
    const section = page.locator('section.file', { hasText: 'notes.fits' });
    await section.locator('.error').waitFor({ timeout: 20_000 });
    expect(await section.locator('.error').textContent()).toMatch(/notes\.fits/);
    await section.screenshot({ path: path.join(out, 'not-fits-error.png') });
  });
});
