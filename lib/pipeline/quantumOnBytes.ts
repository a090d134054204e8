/**
 * One quantum on datasets held as bytes: each input decoded by its storage class (decodeDataset), the
 * task run (runTask: config validated on the defaults, inputs checked, outputs checked), each output
 * encoded (encodeDataset). The executor's worker threads run every quantum through this after reading
 * the input files (node/executor/quantumWorker.ts), and the browser's single-CCD page runs its tasks
 * through it too (lib/pipeline/simulatedCcd.ts), so both make the same bytes from the same bytes.
 * An input that does not decode is a BadInputError naming its data ID and file.
 */
import type { Tessera } from '../wasm/loader.js';
import { BadInputError, type DataId, type InputRef } from './errors.js';
import type { TaskLogger } from './logger.js';
import { decodeDataset, encodeDataset } from './storageClasses.js';
import { outputValue, runTask } from './task.js';
import { getTask } from './tasks.js';

export interface InputBytes {
  readonly bytes: Uint8Array;
  readonly storageClass: string;
  /** What it is (data ID, and the file it came from when it did), for messages. */
  readonly ref: InputRef;
}

export interface QuantumOnBytes {
  readonly taskName: string;
  readonly dataId: DataId;
  /** Config overrides on the task's defaults (the executor gives the full effective config). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly inputs: Readonly<Record<string, InputBytes | readonly InputBytes[]>>;
  /** Output key (a connection name, or `name[k]` for a per-input output) -> its storage class and name for messages. */
  readonly outputs: Readonly<Record<string, { readonly storageClass: string; readonly name: string }>>;
}

export async function runQuantumOnBytes(quantum: QuantumOnBytes, context: { tessera: Tessera; log: TaskLogger }): Promise<Record<string, Uint8Array>> {
  const decode = async (connection: string, input: InputBytes): Promise<unknown> => {
    try {
      return await decodeDataset(input.storageClass, input.bytes, input.ref.file ?? `${input.ref.datasetType} ${JSON.stringify(input.ref.dataId)}`);
    } catch (err) {
      throw new BadInputError(quantum.taskName, connection, (err as Error).message, input.ref);
    }
  };
  const inputs: Record<string, unknown> = {};
  const refs: Record<string, InputRef | InputRef[]> = {};
  for (const [name, spec] of Object.entries(quantum.inputs)) {
    if (Array.isArray(spec)) {
      const list = spec as readonly InputBytes[];
      inputs[name] = await Promise.all(list.map((s) => decode(name, s)));
      refs[name] = list.map((s) => s.ref);
    } else {
      const single = spec as InputBytes;
      inputs[name] = await decode(name, single);
      refs[name] = single.ref;
    }
  }
  const outputs = runTask(getTask(quantum.taskName), inputs as object, quantum.config, { ...context, refs: { quantum: quantum.dataId, inputs: refs } }) as Record<string, unknown>;
  const encoded: Record<string, Uint8Array> = {};
  for (const [name, spec] of Object.entries(quantum.outputs)) encoded[name] = encodeDataset(spec.storageClass, outputValue(outputs, name), spec.name);
  return encoded;
}
