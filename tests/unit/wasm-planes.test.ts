// The plane allocator and loader: memory is returned per task and stops growing when a task repeats;
// views survive growth only when re-made; the same .wasm loads in a Node worker thread.
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { loadTessera } from '../../node/wasm.js';
import { repoRoot } from '../helpers/paths.js';
import { convolveSeparable } from '../../lib/image/convolve.js';
import { gaussianKernel } from '../../lib/image/gaussianKernel.js';

describe('PlaneAllocator', () => {
  it('returns in-use bytes to their pre-task value and stops growing memory after the first of 100 runs', async () => {
    const tessera = await loadTessera('release');
    const image = new Float32Array(300 * 200).map((_, i) => (i * 7919) % 101);
    const kernel = gaussianKernel(2.5);
    const before = tessera.planes.inUseBytes;
    convolveSeparable(tessera, image, 300, 200, kernel);
    expect(tessera.planes.inUseBytes).toBe(before);
    const afterFirst = tessera.planes.memoryBytes;
    for (let run = 1; run < 100; run++) {
      convolveSeparable(tessera, image, 300, 200, kernel);
      expect(tessera.planes.inUseBytes).toBe(before);
    }
    expect(tessera.planes.memoryBytes).toBe(afterFirst);
    expect(tessera.planes.highWaterBytes).toBeGreaterThanOrEqual(2 * image.byteLength);
  });

  it('coalesces freed neighbours so a larger block fits where two smaller ones were', async () => {
    const { planes } = await loadTessera('release');
    const a = planes.alloc(1000);
    const b = planes.alloc(1000);
    const guard = planes.alloc(16);
    const size = planes.memoryBytes;
    planes.release(a);
    planes.release(b);
    const c = planes.alloc(2000);
    expect(c).toBe(a);
    expect(planes.memoryBytes).toBe(size);
    planes.release(c);
    planes.release(guard);
    expect(planes.inUseBytes).toBe(0);
  });

  it('frees everything allocated inside a scope, even when the task throws', async () => {
    const { planes } = await loadTessera('release');
    expect(() => planes.scope(() => { planes.alloc(4096); throw new Error('task failed'); })).toThrow('task failed');
    expect(planes.inUseBytes).toBe(0);
  });

  it('allocates 16-byte-aligned blocks above the module heap base and refuses double release', async () => {
    const { planes, kernels } = await loadTessera('debug');
    const p = planes.alloc(3);
    expect(p % 16).toBe(0);
    expect(p).toBeGreaterThanOrEqual(kernels.heapBase());
    planes.release(p);
    expect(() => planes.release(p)).toThrow(/not an allocated block/);
  });

  it('detaches old views on growth and gives fresh ones that see the same bytes', async () => {
    const { planes } = await loadTessera('release');
    const p = planes.alloc(16);
    const old = planes.f32(p, 4);
    old.set([1, 2, 3, 4]);
    planes.alloc(8 * 1024 * 1024); // forces memory.grow
    expect(old.length).toBe(0); // detached
    expect(Array.from(planes.f32(p, 4))).toEqual([1, 2, 3, 4]);
  });
});

describe('loader in a Node worker thread', () => {
  it('instantiates the same wasm through the same loader in a worker and convolves identically', async () => {
    // The worker runs the compiled package (dist/, made by the build before the tests) as a user's
    // worker would: the Node loader, the plane allocator and the convolution wrapper.
    const dist = path.join(repoRoot, 'dist');
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { loadTessera } = await import(workerData.dist + '/node/wasm.js');
        const { convolveSeparable } = await import(workerData.dist + '/lib/image/convolve.js');
        const tessera = await loadTessera('release');
        const out = convolveSeparable(tessera, workerData.image, workerData.width, workerData.height, workerData.kernel);
        parentPort.postMessage({ out, inUse: tessera.planes.inUseBytes });
      })().catch((err) => parentPort.postMessage({ error: String(err) }));`;
    const width = 50, height = 40;
    const image = new Float32Array(width * height).map((_, i) => Math.sin(i));
    const kernel = gaussianKernel(1.7);
    const worker = new Worker(source, { eval: true, workerData: { dist, image, kernel, width, height } });
    const reply = await new Promise<{ out?: Float32Array; inUse?: number; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(reply.error).toBeUndefined();
    expect(reply.inUse).toBe(0);
    const main = convolveSeparable(await loadTessera('release'), image, width, height, kernel);
    expect(Buffer.from(reply.out!.buffer)).toEqual(Buffer.from(main.buffer));
  });
});
