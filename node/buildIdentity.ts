/**
 * The identity of the build that processes data: sha256 (16 hex digits) of the release wasm, the shipped
 * pipeline (pipelines/DRP.yaml) and the compiled lib/ and node/ (dist/). Equal identities mean a
 * repository processed by one build is what the other would make: the demo records it beside the
 * repository it processed (PROCESSED_BY_FILE), and the tests' processed repositories are keyed by it.
 * The simulator's identity (the release wasm and the compiled lib/, all that `tessera sim` runs) keys
 * the simulated surveys the demo and the tests keep between runs the same way.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from './packageRoot.js';

/** Written next to a processed repository `R` as `R.build`: the identity of the build that processed it. */
export const PROCESSED_BY_SUFFIX = '.build';

function hashTree(hash: crypto.Hash, dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) hashTree(hash, p);
    else if (entry.name.endsWith('.js')) hash.update(entry.name).update(fs.readFileSync(p));
  }
}

export function simulatorIdentity(root: string = packageRoot()): string {
  const hash = crypto.createHash('sha256');
  hash.update(fs.readFileSync(path.join(root, 'build', 'tessera.wasm')));
  hashTree(hash, path.join(root, 'dist', 'lib'));
  return hash.digest('hex').slice(0, 16);
}

export function buildIdentity(root: string = packageRoot()): string {
  const hash = crypto.createHash('sha256');
  hash.update(fs.readFileSync(path.join(root, 'build', 'tessera.wasm')));
  hash.update(fs.readFileSync(path.join(root, 'pipelines', 'DRP.yaml')));
  for (const dir of ['lib', 'node']) hashTree(hash, path.join(root, 'dist', dir));
  return hash.digest('hex').slice(0, 16);
}
