/**
 * A ByteSource over a local file (Node only): fs.promises FileHandle with positional reads, so that the
 * FITS reader fetches only the header blocks and pixel rows it needs. Close it when done. Reads return
 * fresh buffers, so images are decoded in place without a second copy.
 */
import fs from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { ByteSource, SyncByteSource } from '../../lib/fits/source.js';
import { zlibCodec } from './zlibCodec.js';
import { openFits, readFitsBytes, type FitsBytes, type FitsFile, type OpenOptions } from '../../lib/fits/file.js';

/** A file that cannot be read as FITS (missing, unreadable, damaged, bad checksums); the message names it. */
export class FitsFileError extends Error {
  override readonly name = 'FitsFileError';
}

/** Reads a whole FITS file into memory, its structure parsed and its checksums verified; errors name the file. */
export function readFitsChecked(source: string): FitsBytes {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(source);
  } catch (err) {
    throw new FitsFileError(`cannot read ${source}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`);
  }
  try {
    return readFitsBytes(source, bytes, { checksum: 'verify', codec: zlibCodec });
  } catch (err) {
    const message = (err as Error).message;
    throw new FitsFileError(message.includes(source) ? `cannot read ${message}` : `cannot read ${source}: ${message}`);
  }
}

export interface FileByteSource extends ByteSource {
  close(): Promise<void>;
}

/** Fills `target` from `offset` (positional reads, looping over short reads); returns the bytes read. */
async function readFully(handle: FileHandle, offset: number, target: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < target.length) {
    const { bytesRead } = await handle.read(target, filled, target.length - filled, offset + filled);
    if (bytesRead === 0) break; // end of file
    filled += bytesRead;
  }
  return filled;
}

export async function fileSource(path: string): Promise<FileByteSource> {
  const handle: FileHandle = await open(path, 'r');
  let closed = false;
  return {
    name: path,
    readsAreFresh: true,
    async size() {
      return (await handle.stat()).size;
    },
    async read(offset: number, length: number) {
      const out = new Uint8Array(length);
      const filled = await readFully(handle, offset, out);
      return filled === length ? out : out.subarray(0, filled);
    },
    readInto(offset: number, target: Uint8Array) {
      return readFully(handle, offset, target);
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}

/** Opens a local FITS file lazily (headers now, data on demand; compressed tiles inflated by Node's zlib); call `close()` on the result when done. */
export async function openFitsFile(path: string, options: OpenOptions = {}): Promise<FitsFile> {
  return openFits(await fileSource(path), { codec: zlibCodec, ...options });
}

/** A SyncByteSource over a local file (positional fs.readSync into fresh buffers, or into the caller's); close it when done. */
export function syncFileSource(path: string): SyncByteSource & { close(): void } {
  const fd = fs.openSync(path, 'r');
  const size = fs.fstatSync(fd).size;
  let closed = false;
  const readInto = (offset: number, target: Uint8Array): number => {
    let filled = 0;
    while (filled < target.length) {
      const got = fs.readSync(fd, target, filled, target.length - filled, offset + filled);
      if (got === 0) break;
      filled += got;
    }
    return filled;
  };
  return {
    name: path,
    size,
    readsAreFresh: true,
    read(offset: number, length: number) {
      const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      const filled = readInto(offset, out);
      return filled === out.length ? out : out.subarray(0, filled);
    },
    readInto,
    close() {
      if (closed) return;
      closed = true;
      fs.closeSync(fd);
    },
  };
}
