/**
 * A writable copy of a repository's registry over the same files: the configuration and the SQLite
 * registry are copied, every other top-level entry (the datastore's runs) is a symbolic link. Tests
 * that write verdicts use one, so the shared processed repository's registry stays as the pipeline made it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { withRepo } from './repository.js';

export async function registryCopy(root: string, into: string): Promise<string> {
  // Opening and closing checkpoints the WAL into the main file, so the copy is complete.
  await withRepo(root, async () => undefined);
  fs.rmSync(into, { recursive: true, force: true });
  fs.mkdirSync(into, { recursive: true });
  for (const entry of fs.readdirSync(root)) {
    const from = path.join(root, entry);
    if (entry === 'tessera-repo.json' || entry === 'registry.sqlite3') fs.copyFileSync(from, path.join(into, entry));
    else if (!/^registry\.sqlite3-(wal|shm)$/.test(entry)) fs.symlinkSync(from, path.join(into, entry));
  }
  return into;
}
