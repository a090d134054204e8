/**
 * A ByteSource over a local file (Node only): fs.promises FileHandle with positional reads, so that the
 * FITS reader fetches only the header blocks and pixel rows it needs. Close it when done. Reads return
 * fresh buffers, so images are decoded in place without a second copy.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { ByteSource } from '../../lib/fits/source.js';
import { openFits, type FitsFile, type OpenOptions } from '../../lib/fits/file.js';

export interface FileByteSource extends ByteSource {
  close(): Promise<void>;
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
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(out, filled, length - filled, offset + filled);
        if (bytesRead === 0) break; // end of file
        filled += bytesRead;
      }
      return filled === length ? out : out.subarray(0, filled);
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}

/** Opens a local FITS file lazily (headers now, data on demand); call `close()` on the result when done. */
export async function openFitsFile(path: string, options: OpenOptions = {}): Promise<FitsFile> {
  return openFits(await fileSource(path), options);
}
