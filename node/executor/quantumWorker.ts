/**
 * A worker thread of the executor's pool: loads the release wasm once, then runs quantum jobs
 * (workerProtocol.ts) one at a time: read and decode the input files (transient I/O errors retried),
 * run the task through lib/pipeline/task.ts's runTask with the executor's references (so a bad input
 * names its data ID and file), encode the outputs, and measure the thread's CPU time around it. Any
 * error becomes a described failure (lib/pipeline/errors.ts), never a crash of the worker.
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { BadInputError, describeFailure, type InputRef } from '../../lib/pipeline/errors.js';
import { memoryLogger } from '../../lib/pipeline/logger.js';
import { decodeDataset, encodeDataset, type TaskLogRecord } from '../../lib/pipeline/storageClasses.js';
import { outputValue, runTask } from '../../lib/pipeline/task.js';
import { getTask } from '../../lib/pipeline/tasks.js';
import { loadTessera } from '../wasm.js';
import { threadCpu } from './threadCpu.js';
import { withTransientRetry } from './transientRetry.js';
import type { InputFile, QuantumJob, QuantumJobResult } from './workerProtocol.js';

if (!parentPort) throw new Error('quantumWorker.ts runs as a worker thread');
const port = parentPort;
const tessera = await loadTessera('release');

async function readInput(job: QuantumJob, connection: string, input: InputFile): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await withTransientRetry(() => fs.readFileSync(input.file));
  } catch (err) {
    throw new BadInputError(job.taskName, connection, `cannot read ${input.file}: ${(err as Error).message}`, { datasetType: input.datasetType, dataId: input.dataId, file: input.file });
  }
  try {
    return await decodeDataset(input.storageClass, bytes, input.file);
  } catch (err) {
    throw new BadInputError(job.taskName, connection, (err as Error).message, { datasetType: input.datasetType, dataId: input.dataId, file: input.file });
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
  try {
    const inputs: Record<string, unknown> = {};
    const refs: Record<string, InputRef | InputRef[]> = {};
    for (const [name, spec] of Object.entries(job.inputs)) {
      if (Array.isArray(spec)) {
        const list = spec as readonly InputFile[];
        inputs[name] = await Promise.all(list.map((s) => readInput(job, name, s)));
        refs[name] = list.map((s) => ({ datasetType: s.datasetType, dataId: s.dataId, file: s.file }));
      } else {
        const single = spec as InputFile;
        inputs[name] = await readInput(job, name, single);
        refs[name] = { datasetType: single.datasetType, dataId: single.dataId, file: single.file };
      }
    }
    const outputs = runTask(getTask(job.taskName), inputs as object, job.config, { tessera, log, refs: { quantum: job.dataId, inputs: refs } }) as Record<string, unknown>;
    flushLog();
    const encoded: Record<string, Uint8Array> = {};
    for (const [name, spec] of Object.entries(job.outputs)) encoded[name] = encodeDataset(spec.storageClass, outputValue(outputs, name), spec.name);
    return { jobId: job.jobId, ok: true, outputs: encoded, log: records, cost: cost() };
  } catch (err) {
    flushLog();
    return { jobId: job.jobId, ok: false, failure: describeFailure(err), log: records, cost: cost() };
  }
}

port.on('message', (job: QuantumJob) => {
  void run(job).then((result) => {
    const transfer = result.ok ? [...new Set(Object.values(result.outputs).map((b) => b.buffer as ArrayBuffer))] : [];
    port.postMessage(result, transfer);
  });
});
port.postMessage({ ready: true });
