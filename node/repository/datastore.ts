/**
 * The file datastore: dataset files under the repository root at their template paths. Every write is
 * atomic and durable: the bytes go to a temporary file in the target's own directory (named
 * `.tessera-tmp-*`, a name no escaped path can take), which is fsynced, moved into place, and then
 * the directory is fsynced (and so is the parent of every directory the write created). A crash
 * leaves either nothing or a complete file that the registry does not know of (an orphan, which
 * `listFiles` minus the registered paths finds). Files are checksummed with sha256.
 * Moving into place never replaces an existing file unless asked to (`replace`): it is a hard link
 * of the temporary file, which fails if the target exists (DatastoreExistsError), so the caller can
 * ask the registry whether that file is a registered dataset or an orphan it may replace.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface StoredFile {
  /** Relative to the repository root, '/'-separated. */
  readonly path: string;
  readonly size: number;
  /** sha256, hex. */
  readonly checksum: string;
}

/** How ingest brings a file in: a hard link where the file system allows one (else a copy), a copy, or a link only. */
export type TransferMode = 'auto' | 'copy' | 'link';
export const TRANSFER_MODES: readonly TransferMode[] = ['auto', 'copy', 'link'];

export class DatastoreError extends Error {
  override readonly name: string = 'DatastoreError';
}

/** The target of a write already holds a file (and `replace` was not given). */
export class DatastoreExistsError extends DatastoreError {
  override readonly name = 'DatastoreExistsError';
  constructor(readonly path: string) {
    super(`datastore path ${path} already holds a file`);
  }
}

export interface WriteOptions {
  /** Replace a file already at the target (an orphan the registry does not know). */
  readonly replace?: boolean;
}

const TEMP_PREFIX = '.tessera-tmp-';
const HASH_CHUNK = 1 << 20;

function fsyncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** mkdir -p that fsyncs the parent of each directory it creates, so the new entries are durable. */
function makeDirectory(dir: string): void {
  const first = fs.mkdirSync(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = dir; ; d = path.dirname(d)) {
    fsyncDirectory(path.dirname(d));
    if (d === first || path.dirname(d) === d) break;
  }
}

/** Deletes a temporary file after a failure, which must not hide the failure itself. */
function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // its directory is gone or unusable: the original error says why
  }
}

/** sha256 and size of a file, read in 1 MiB chunks. */
export function hashFile(file: string): { size: number; checksum: string } {
  const hash = crypto.createHash('sha256');
  const buffer = Buffer.allocUnsafe(HASH_CHUNK);
  const fd = fs.openSync(file, 'r');
  let size = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, HASH_CHUNK, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      size += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { size, checksum: hash.digest('hex') };
}

export function hashBytes(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

export class FileDatastore {
  /**
   * `reserved`: names at the top of the root that are not datastore files (the registry database,
   * the repository configuration).
   */
  constructor(readonly root: string, private readonly reserved: ReadonlySet<string>) {}

  /** The absolute path of a datastore path, refusing any that could leave the root or touch a reserved name. */
  absolutePath(relative: string): string {
    const segments = relative.split('/');
    if (relative === '' || path.isAbsolute(relative) || relative.includes('\\') || segments.some((s) => s === '' || s === '.' || s === '..')) {
      throw new DatastoreError(`datastore path '${relative}' is not a plain relative path`);
    }
    if (this.reserved.has(segments[0]!)) throw new DatastoreError(`datastore path '${relative}' would touch the repository's own ${segments[0]}`);
    const absolute = path.resolve(this.root, ...segments);
    if (!absolute.startsWith(this.root + path.sep)) throw new DatastoreError(`datastore path '${relative}' leaves the repository`);
    return absolute;
  }

  private temporaryFor(target: string): string {
    return path.join(path.dirname(target), `${TEMP_PREFIX}${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
  }

  /**
   * Moves a complete temporary file into place and makes that durable: a rename when replacing,
   * else a hard link that fails on an existing target (where the file system has no hard links, a
   * check for the target and a rename).
   */
  private commitTemporary(tmp: string, target: string, relative: string, replace: boolean): void {
    if (replace) {
      fs.renameSync(tmp, target);
    } else {
      try {
        fs.linkSync(tmp, target);
        fs.unlinkSync(tmp);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new DatastoreExistsError(relative);
        if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK'].includes(code ?? '')) throw err;
        if (fs.existsSync(target)) throw new DatastoreExistsError(relative);
        fs.renameSync(tmp, target);
      }
    }
    fsyncDirectory(path.dirname(target));
  }

  /** Writes `bytes` at `ref.path` atomically (see WriteOptions for a file already there). */
  async put(bytes: Uint8Array, ref: { path: string }, options: WriteOptions = {}): Promise<StoredFile> {
    const target = this.absolutePath(ref.path);
    const tmp = this.temporaryFor(target);
    try {
      makeDirectory(path.dirname(target));
      const fd = fs.openSync(tmp, 'wx');
      try {
        let written = 0;
        while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      this.commitTemporary(tmp, target, ref.path, options.replace === true);
    } catch (err) {
      removeQuietly(tmp);
      if (err instanceof DatastoreExistsError) throw err;
      throw new DatastoreError(`cannot write ${ref.path}: ${(err as Error).message}`);
    }
    return { path: ref.path, size: bytes.length, checksum: hashBytes(bytes) };
  }

  /**
   * Brings an outside file in at `relative` (a hard link, or a copy: see TransferMode), atomically.
   * `expected` is the source's size and checksum, computed by the caller before it decided to ingest;
   * a copy whose size differs (the source changed meanwhile) is refused.
   */
  async transfer(source: string, relative: string, mode: TransferMode, expected: { size: number; checksum: string }, options: WriteOptions = {}): Promise<StoredFile & { method: 'link' | 'copy' }> {
    const target = this.absolutePath(relative);
    const tmp = this.temporaryFor(target);
    let method: 'link' | 'copy' = 'copy';
    try {
      makeDirectory(path.dirname(target));
      if (mode !== 'copy') {
        try {
          fs.linkSync(source, tmp);
          method = 'link';
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (mode === 'link' || !['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP', 'EACCES'].includes(code ?? '')) throw err;
        }
      }
      if (method === 'copy') {
        fs.copyFileSync(source, tmp, fs.constants.COPYFILE_EXCL);
        const fd = fs.openSync(tmp, 'r+');
        try {
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
      const size = fs.statSync(tmp).size;
      if (size !== expected.size) throw new Error(`${source} changed while it was ingested (${expected.size} bytes, now ${size})`);
      this.commitTemporary(tmp, target, relative, options.replace === true);
    } catch (err) {
      removeQuietly(tmp);
      if (err instanceof DatastoreExistsError) throw err;
      throw new DatastoreError(`cannot bring ${source} into the datastore as ${relative}: ${(err as Error).message}`);
    }
    return { path: relative, size: expected.size, checksum: expected.checksum, method };
  }

  /** Size and sha256 of a stored file (throws if it is missing). */
  stat(relative: string): { size: number; checksum: string } {
    return hashFile(this.absolutePath(relative));
  }

  read(relative: string): Uint8Array {
    const bytes = fs.readFileSync(this.absolutePath(relative));
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  exists(relative: string): boolean {
    return fs.existsSync(this.absolutePath(relative));
  }

  /**
   * Deletes files (a missing one is fine) and then every directory the deletions left empty, up to the
   * root. Returns the paths that could not be deleted, with why.
   */
  remove(relatives: readonly string[]): { path: string; error: string }[] {
    const failures: { path: string; error: string }[] = [];
    const dirs = new Set<string>();
    for (const rel of relatives) {
      try {
        const abs = this.absolutePath(rel);
        fs.rmSync(abs, { force: true });
        dirs.add(path.dirname(abs));
      } catch (err) {
        failures.push({ path: rel, error: (err as Error).message });
      }
    }
    // Deepest first, so a parent is tried after its children.
    const pending = [...dirs].sort((a, b) => b.length - a.length);
    const tried = new Set<string>();
    while (pending.length) {
      const dir = pending.shift()!;
      if (tried.has(dir) || !dir.startsWith(this.root + path.sep)) continue;
      tried.add(dir);
      try {
        fs.rmdirSync(dir);
        pending.push(path.dirname(dir));
        pending.sort((a, b) => b.length - a.length);
      } catch {
        // not empty (or gone): stop climbing here
      }
    }
    if (dirs.size) fsyncDirectory(this.root);
    return failures;
  }

  /** Every file under the root except the reserved names, relative and '/'-separated, sorted. */
  listFiles(): string[] {
    const out: string[] = [];
    const walk = (dir: string, prefix: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (prefix === '' && this.reserved.has(entry.name)) continue;
        const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
        if (entry.isDirectory()) walk(path.join(dir, entry.name), rel);
        else out.push(rel);
      }
    };
    walk(this.root, '');
    return out.sort();
  }
}
