/**
 * A pool of worker threads (quantumWorker.ts), each holding one wasm instance loaded once, running one
 * quantum job at a time. `run` resolves with the job's result when a worker has run it; jobs wait for a
 * free worker in the order given. A worker that dies (out of memory, a crash in native code) fails its
 * job with the reason and is replaced.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { QuantumJob, QuantumJobResult } from './workerProtocol.js';

const WORKER_URL = new URL('./quantumWorker.js', import.meta.url);

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  busy: { job: QuantumJob; resolve: (r: QuantumJobResult) => void } | null;
}

/** Default worker count: every core. */
export function defaultWorkerCount(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: { job: QuantumJob; resolve: (r: QuantumJobResult) => void }[] = [];
  private closed = false;

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 1) throw new Error(`worker count must be a whole number >= 1, got ${size}`);
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL);
    let markReady!: () => void;
    const slot: Slot = { worker, ready: new Promise((resolve) => { markReady = resolve; }), busy: null };
    worker.on('message', (message: QuantumJobResult | { ready: true }) => {
      if ('ready' in message) {
        markReady();
        this.dispatch();
        return;
      }
      const busy = slot.busy;
      slot.busy = null;
      busy?.resolve(message);
      this.dispatch();
    });
    const die = (reason: string): void => {
      const index = this.slots.indexOf(slot);
      if (index < 0) return;
      const busy = slot.busy;
      slot.busy = null;
      busy?.resolve({
        jobId: busy.job.jobId, ok: false, log: [],
        failure: { kind: 'unexpected', message: `worker thread died running ${busy.job.label}: ${reason}` },
        cost: { cpuUserSeconds: null, cpuSystemSeconds: null, wasmMemoryPeakBytes: 0, processRssPeakBytes: process.resourceUsage().maxRSS * 1024 },
      });
      if (this.closed) return;
      this.slots[index] = this.spawn();
    };
    worker.on('error', (err) => die(err.message));
    worker.on('exit', (code) => die(`exit code ${code}`));
    return slot;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.busy) continue;
      void slot.ready.then(() => {
        if (slot.busy || this.queue.length === 0 || this.closed) return;
        const next = this.queue.shift()!;
        slot.busy = next;
        slot.worker.postMessage(next.job);
      });
    }
  }

  run(job: QuantumJob): Promise<QuantumJobResult> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    return new Promise((resolve) => {
      this.queue.push({ job, resolve });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
