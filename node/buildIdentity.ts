/**
 * The identity of the build that processes data: sha256 (16 hex digits) of the release wasm, the shipped
 * pipeline (pipelines/DRP.yaml) and the compiled lib/ and node/ (dist/). Equal identities mean a
 * repository processed by one build is what the other would make: the demo records it beside the
 * repository it processed (its `.build` stamp: `stamp`, `stampedBy`), and the tests' processed
 * repositories are keyed by it.
 * The simulator's identity (the release wasm and the compiled lib/, all that `tessera sim` runs) keys
 * the simulated surveys the demo and the tests keep between runs the same way.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from './packageRoot.js';

/** Written next to a processed repository or simulated survey `R` as `R.build`: the identity of the build that made it. */
const PROCESSED_BY_SUFFIX = '.build';

function hashTree(hash: crypto.Hash, dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) hashTree(hash, p);
    else if (entry.name.endsWith('.js')) hash.update(entry.name).update(fs.readFileSync(p));
  }
}

/** sha256 (16 hex digits) of `files` and the compiled .js under `dirs`, paths relative to `root`. */
function identityOf(root: string, files: readonly string[], dirs: readonly string[]): string {
  const hash = crypto.createHash('sha256');
  for (const file of files) hash.update(fs.readFileSync(path.join(root, file)));
  for (const dir of dirs) hashTree(hash, path.join(root, dir));
  return hash.digest('hex').slice(0, 16);
}

export function simulatorIdentity(root: string = packageRoot()): string {
  return identityOf(root, ['build/tessera.wasm'], ['dist/lib']);
}

export function buildIdentity(root: string = packageRoot()): string {
  return identityOf(root, ['build/tessera.wasm', 'pipelines/DRP.yaml'], ['dist/lib', 'dist/node']);
}

/** Whether `target`'s stamp (`target.build`) holds `identity`. */
export function stampedBy(target: string, identity: string): boolean {
  const file = `${target}${PROCESSED_BY_SUFFIX}`;
  return fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim() === identity;
}

/** Records that the build of `identity` made `target` (undefined: removes the stamp, as before remaking it). */
export function stamp(target: string, identity: string | undefined): void {
  const file = `${target}${PROCESSED_BY_SUFFIX}`;
  if (identity === undefined) fs.rmSync(file, { force: true });
  else fs.writeFileSync(file, `${identity}\n`);
}
