/**
 * ByteSource: random access to the bytes of a file, wherever they live (memory, a local file through
 * node/fits/fileSource.ts, an HTTP range server, a browser File). The FITS reader asks only for the
 * byte ranges it needs, so a header listing or an image section never loads a whole file.
 */
import { FitsError } from './errors.js';

export interface ByteSource {
  /** The file name (or URL) used in error messages. */
  readonly name: string;
  size(): Promise<number>;
  /** The bytes [offset, offset + length); may return fewer only at the end of the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * True when every read returns a new buffer that nobody else holds, which the reader may then decode
   * in place (saving an image-sized copy). In-memory sources return views and leave this unset.
   */
  readonly readsAreFresh?: boolean;
  /** Reads [offset, offset + target.length) into `target`; resolves to the bytes read (fewer only at the end). */
  readInto?(offset: number, target: Uint8Array): Promise<number>;
  /** Releases the underlying resource (a file handle); optional. */
  close?(): Promise<void>;
}

/**
 * Synchronous random access: bytes in memory, or a local file read with positional reads (Node's
 * node/fits/fileSource.ts syncFileSource), for code that must not await (a task's run(), which reads a
 * deferred input's rows as it needs them).
 */
export interface SyncByteSource {
  readonly name: string;
  readonly size: number;
  /** The bytes [offset, offset + length); fewer only at the end of the source. */
  read(offset: number, length: number): Uint8Array;
  /** As ByteSource.readsAreFresh. */
  readonly readsAreFresh?: boolean;
  /** Reads [offset, offset + target.length) into `target`; returns the bytes read (fewer only at the end). */
  readInto?(offset: number, target: Uint8Array): number;
  /** Releases the underlying resource (a file descriptor); optional. */
  close?(): void;
}

/** A SyncByteSource over bytes in memory; reads are zero-copy views. */
export function syncBytesSource(name: string, bytes: Uint8Array): SyncByteSource {
  return { name, size: bytes.length, read: (offset, length) => bytes.subarray(Math.min(offset, bytes.length), Math.min(bytes.length, offset + length)) };
}

/** A ByteSource over bytes already in memory; reads are zero-copy views. */
export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: async () => bytes.length,
    read: async (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
  };
}

/** Reads exactly `length` bytes or throws a FitsError saying the file is too short. */
export async function readExact(source: ByteSource, offset: number, length: number, hdu?: number): Promise<Uint8Array> {
  const bytes = length === 0 ? new Uint8Array(0) : await source.read(offset, length);
  if (bytes.length < length) {
    throw new FitsError(source.name, hdu, `file is truncated: needs bytes ${offset}..${offset + length} but ends at ${offset + bytes.length}`);
  }
  return bytes.length === length ? bytes : bytes.subarray(0, length);
}
