/** The package root (the folder holding package.json), found from source (node/) or compiled (dist/node/). */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the tessera package root (no package.json above node/)');
    dir = up;
  }
  return dir;
}
