/** Loads Tessera's wasm in Node (main thread or worker thread) from the package's build/ folder. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from './packageRoot.js';
import { instantiateTessera, WASM_FILES, type Tessera, type WasmVariant } from '../lib/wasm/loader.js';

export function wasmPath(variant: WasmVariant): string {
  return path.join(packageRoot(), 'build', WASM_FILES[variant]);
}

export async function loadTessera(variant: WasmVariant = 'release'): Promise<Tessera> {
  const file = wasmPath(variant);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch {
    throw new Error(`${file}: wasm build missing; run "npm run build:wasm"`);
  }
  return instantiateTessera(bytes, variant);
}
