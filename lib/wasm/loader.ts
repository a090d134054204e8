/**
 * Instantiates Tessera's kernels from the bytes of a build/tessera*.wasm file. The same function
 * serves Node (main thread or worker thread: node/wasm.ts reads the file) and a browser worker
 * (web/ fetches it). The module exports its memory; the host owns everything above heapBase().
 */
import type { KernelExports } from './kernels.js';
import { PlaneAllocator } from './planeAllocator.js';

export type WasmVariant = 'release' | 'debug' | 'scalar';

export const WASM_FILES: Record<WasmVariant, string> = {
  release: 'tessera.wasm',
  debug: 'tessera.debug.wasm',
  scalar: 'tessera.scalar.wasm',
};

export interface Tessera {
  readonly kernels: KernelExports;
  readonly planes: PlaneAllocator;
  readonly variant: WasmVariant;
}

/** Reads an AssemblyScript string (UTF-16, byte length at ptr - 4) for abort messages. */
function readString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return '';
  const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0]!;
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, bytes >>> 1));
}

export async function instantiateTessera(bytes: BufferSource, variant: WasmVariant = 'release'): Promise<Tessera> {
  let memory: WebAssembly.Memory | undefined;
  const imports = {
    env: {
      abort(message: number, file: number, line: number, column: number): never {
        const text = memory ? `${readString(memory, message)} at ${readString(memory, file)}:${line}:${column}` : 'abort';
        throw new Error(`wasm kernel assertion failed: ${text}`);
      },
    },
  };
  const { instance } = await WebAssembly.instantiate(bytes, imports);
  const kernels = instance.exports as unknown as KernelExports & { _initialize?: () => void };
  memory = kernels.memory;
  kernels._initialize?.();
  return { kernels, planes: new PlaneAllocator(kernels.memory, kernels.heapBase()), variant };
}
