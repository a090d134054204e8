/**
 * The messages between the executor and its worker threads (node/executor/quantumWorker.ts). The
 * executor resolves a quantum's inputs to files; the worker reads and decodes them, runs the task with
 * its one wasm instance, encodes the outputs and sends back their bytes (transferred, not copied) with
 * the task's log and what the quantum cost: the worker thread's own CPU time, its wasm memory high-water
 * mark, and the process's peak resident set (shared by every worker, so labelled as such).
 */
import type { QuantumFailure } from '../../lib/pipeline/errors.js';
import type { DataId } from '../../lib/pipeline/errors.js';
import type { TaskLogRecord } from '../../lib/pipeline/storageClasses.js';

export interface InputFile {
  readonly datasetType: string;
  readonly dataId: DataId;
  readonly storageClass: string;
  /** Absolute path. */
  readonly file: string;
}

export interface QuantumJob {
  readonly jobId: number;
  readonly taskName: string;
  readonly label: string;
  readonly dataId: DataId;
  /** The task's full effective config. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly inputs: Readonly<Record<string, InputFile | readonly InputFile[]>>;
  /** Output connection name -> its storage class and the file name it will get (for messages). */
  readonly outputs: Readonly<Record<string, { readonly storageClass: string; readonly name: string }>>;
}

export interface QuantumCost {
  readonly cpuUserSeconds: number | null;
  readonly cpuSystemSeconds: number | null;
  /** The worker's wasm linear memory after the quantum (it never shrinks: its high-water mark). */
  readonly wasmMemoryPeakBytes: number;
  /** The whole process's peak resident set, shared by all workers. */
  readonly processRssPeakBytes: number;
}

export type QuantumJobResult =
  | { readonly jobId: number; readonly ok: true; readonly outputs: Record<string, Uint8Array>; readonly log: TaskLogRecord[]; readonly cost: QuantumCost }
  | { readonly jobId: number; readonly ok: false; readonly failure: QuantumFailure; readonly log: TaskLogRecord[]; readonly cost: QuantumCost };
