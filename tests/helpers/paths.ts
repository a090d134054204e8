/** Paths the tests share: the repository root, the real data beside it, and the test output folder. */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `../shared/data/real` beside the repository (CI places `shared/` next to its clone). */
export const realDataDir = path.resolve(repoRoot, '..', 'shared', 'data', 'real');

export function realFile(relative: string): string {
  const p = path.join(realDataDir, relative);
  if (!fs.existsSync(p)) throw new Error(`real test file missing: ${p} (shared/ must sit beside the repository)`);
  return p;
}

/** A fresh, empty folder under test-output/ for one test's files. */
export function testOutputDir(name: string): string {
  const dir = path.join(repoRoot, 'test-output', name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Every FITS file under ../shared/data/real (.fits, .psf, and .fits.gz when `gzip`), sorted. */
export function realFitsFiles(options: { gzip?: boolean } = {}): string[] {
  const pattern = options.gzip ? /\.(fits|fit|fts|psf)(\.gz)?$/i : /\.(fits|fit|fts|psf)$/i;
  return (fs.readdirSync(realDataDir, { recursive: true }) as string[])
    .filter((f) => pattern.test(f))
    .map((f) => path.join(realDataDir, f))
    .sort();
}
