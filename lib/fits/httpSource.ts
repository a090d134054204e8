/**
 * A ByteSource over HTTP (lib/fits/source.ts): the file's size from a HEAD request, its bytes by
 * `Range: bytes=first-last` requests, so the FITS reader fetches only the headers and planes it needs
 * (`tessera serve` answers ranges, node/server/apiServer.ts). Works wherever fetch does (browser, Node).
 */
import { FitsError } from './errors.js';
import type { ByteSource } from './source.js';

export function httpSource(url: string, options: { fetch?: typeof fetch } = {}): ByteSource {
  const get = options.fetch ?? fetch;
  let size: Promise<number> | undefined;
  return {
    name: url,
    readsAreFresh: true,
    size() {
      size ??= get(url, { method: 'HEAD' }).then((res) => {
        const length = Number(res.headers.get('content-length'));
        if (!res.ok || !Number.isFinite(length)) throw new FitsError(url, undefined, `HEAD gave HTTP ${res.status}${res.ok ? ' without a Content-Length' : ''}`);
        return length;
      });
      return size;
    },
    async read(offset, length) {
      if (length === 0) return new Uint8Array(0);
      const res = await get(url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
      if (res.status === 416) return new Uint8Array(0);
      if (!res.ok) throw new FitsError(url, undefined, `bytes ${offset}-${offset + length - 1}: HTTP ${res.status}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      // A server that ignores Range sends the whole file (200): take the requested part.
      return res.status === 206 ? bytes : bytes.slice(offset, offset + length);
    },
  };
}
