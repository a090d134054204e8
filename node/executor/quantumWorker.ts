/**
 * A worker thread of the executor's pool: loads the release wasm once, then runs quantum jobs
 * (workerProtocol.ts) one at a time: read the input files (transient I/O errors retried; a deferLoad
 * connection's files are opened for the task to read as it goes), then decode,
 * run and encode through lib/pipeline/quantumOnBytes.ts (with the executor's references, so a bad input
 * names its data ID and file), and measure the thread's CPU time around it; after posting the result it
 * collects garbage (collectGarbage.ts), so that a quantum's peak memory is its own. Any
 * error becomes a described failure (lib/pipeline/errors.ts), never a crash of the worker.
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { BadInputError, describeFailure, type InputRef } from '../../lib/pipeline/errors.js';
import { memoryLogger } from '../../lib/pipeline/logger.js';
import { runQuantumOnBytes, type InputBytes } from '../../lib/pipeline/quantumOnBytes.js';
import { getTask } from '../../lib/pipeline/tasks.js';
import type { Connection } from '../../lib/pipeline/task.js';
import { syncFileSource } from '../fits/fileSource.js';
import { zlibCodec } from '../fits/zlibCodec.js';
import type { TaskLogRecord } from '../../lib/pipeline/storageClasses.js';
import { loadTessera } from '../wasm.js';
import { threadCpu } from './threadCpu.js';
import { collectGarbage } from './collectGarbage.js';
import { withTransientRetry } from './transientRetry.js';
import type { InputFile, QuantumJob, QuantumJobResult } from './workerProtocol.js';

if (!parentPort) throw new Error('quantumWorker.ts runs as a worker thread');
const port = parentPort;
const tessera = await loadTessera('release');

/** An input's bytes, or for a deferLoad connection its file opened for the task to read as it goes. */
async function readInput(job: QuantumJob, connection: string, input: InputFile): Promise<InputBytes> {
  const ref: InputRef = { datasetType: input.datasetType, dataId: input.dataId, file: input.file };
  try {
    if ((getTask(job.taskName).connections.inputs as Record<string, Connection>)[connection]?.deferLoad) {
      return { source: await withTransientRetry(() => syncFileSource(input.file)), storageClass: input.storageClass, ref };
    }
    return { bytes: await withTransientRetry(() => fs.readFileSync(input.file)), storageClass: input.storageClass, ref };
  } catch (err) {
    throw new BadInputError(job.taskName, connection, `cannot read ${input.file}: ${(err as Error).message}`, ref);
  }
}

async function run(job: QuantumJob): Promise<QuantumJobResult> {
  const log = memoryLogger();
  const records: TaskLogRecord[] = [];
  const startCpu = threadCpu();
  const cost = () => {
    const end = threadCpu();
    return {
      cpuUserSeconds: startCpu && end ? end.user - startCpu.user : null,
      cpuSystemSeconds: startCpu && end ? end.system - startCpu.system : null,
      wasmMemoryPeakBytes: tessera.kernels.memory.buffer.byteLength,
      processRssPeakBytes: process.resourceUsage().maxRSS * 1024,
    };
  };
  const flushLog = (): void => {
    const now = new Date().toISOString();
    for (const e of log.entries.splice(0)) records.push({ time: now, level: e.level, message: e.message, ...(e.fields ? { fields: e.fields } : {}) });
  };
  const read: InputBytes[] = [];
  const readOne = async (name: string, s: InputFile): Promise<InputBytes> => {
    const input = await readInput(job, name, s);
    read.push(input);
    return input;
  };
  try {
    const inputs: Record<string, InputBytes | InputBytes[]> = {};
    for (const [name, spec] of Object.entries(job.inputs)) {
      inputs[name] = Array.isArray(spec)
        ? await Promise.all((spec as readonly InputFile[]).map((s) => readOne(name, s)))
        : await readOne(name, spec as InputFile);
    }
    const encoded = await runQuantumOnBytes({ taskName: job.taskName, dataId: job.dataId, config: job.config, inputs, outputs: job.outputs }, { tessera, log, codec: zlibCodec });
    flushLog();
    return { jobId: job.jobId, ok: true, outputs: encoded, log: records, cost: cost() };
  } catch (err) {
    for (const input of read) input.source?.close?.();
    flushLog();
    return { jobId: job.jobId, ok: false, failure: describeFailure(err), log: records, cost: cost() };
  }
}

port.on('message', (job: QuantumJob) => {
  void run(job).then((result) => {
    const transfer = result.ok ? [...new Set(Object.values(result.outputs).map((b) => b.buffer as ArrayBuffer))] : [];
    port.postMessage(result, transfer);
    // The quantum's planes are garbage now: collect them before the next quantum allocates its own.
    collectGarbage();
  });
});
port.postMessage({ ready: true });
