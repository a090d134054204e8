/**
 * The browser worker that holds Tessera's wasm and lib/ code (DESIGN.md: web/ computes in a comlink
 * worker). expose() runs first; the loader and the wasm are imported dynamically, so the first message
 * is never lost while they load.
 */
import { expose } from 'comlink';
import type { Inspection } from '../lib/inspect.js';

async function loadKernels() {
  const [{ instantiateTessera }, { default: wasmUrl }] = await Promise.all([
    import('../lib/wasm/loader.js'),
    import('../build/tessera.wasm?url'),
  ]);
  const response = await fetch(wasmUrl);
  if (!response.ok) throw new Error(`${wasmUrl}: HTTP ${response.status}`);
  return instantiateTessera(await response.arrayBuffer());
}

let kernels: ReturnType<typeof loadKernels> | undefined;

const api = {
  /** Loads the wasm (once) and says which build it is. */
  async kernelInfo(): Promise<{ simd: boolean; memoryBytes: number }> {
    kernels ??= loadKernels();
    const t = await kernels;
    return { simd: t.kernels.simdEnabled() === 1, memoryBytes: t.planes.memoryBytes };
  },
  /** HDU listing and WCS centre/corners of a file's bytes, as `tessera inspect --json` prints them. */
  async inspect(name: string, bytes: Uint8Array): Promise<Inspection> {
    const [{ inspectFits }, { bytesSource }] = await Promise.all([import('../lib/inspect.js'), import('../lib/fits/source.js')]);
    return inspectFits(bytesSource(name, bytes));
  },
};

export type KernelWorkerApi = typeof api;
expose(api);
