/** The package version from package.json: recorded in provenance and printed by `tessera --version`. */
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from './packageRoot.js';

export function readPackageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
