/**
 * One quantum on datasets held as bytes: each input decoded by its storage class (decodeDataset), the
 * task run (runTask: config validated on the defaults, inputs checked, outputs checked), each output
 * encoded (encodeDataset). The executor's worker threads run every quantum through this after reading
 * the input files (node/executor/quantumWorker.ts), and the browser's single-CCD page runs its tasks
 * through it too (lib/pipeline/simulatedCcd.ts), so both make the same bytes from the same bytes.
 * An input of a deferLoad connection is opened, not decoded (openDeferredDataset), over the source the
 * caller gives (a file read as the task asks, in Node) or over its bytes, and released after the run.
 * An input that does not decode is a BadInputError naming its data ID and file.
 */
import type { Tessera } from '../wasm/loader.js';
import { BadInputError, type DataId, type InputRef } from './errors.js';
import type { TaskLogger } from './logger.js';
import { decodeDataset, encodeDataset, openDeferredDataset } from './storageClasses.js';
import { syncBytesSource, type SyncByteSource } from '../fits/source.js';
import { outputSlot, outputValue, runTask, type Connection } from './task.js';
import type { GzipCodec } from '../fits/gzip.js';
import { getTask } from './tasks.js';

export interface InputBytes {
  /** The dataset's bytes; for a deferLoad connection a `source` may be given instead. */
  readonly bytes?: Uint8Array;
  /** For a deferLoad connection: where the task reads the dataset from as it runs (closed after it). */
  readonly source?: SyncByteSource;
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

/**
 * `codec`: the gzip of tile-compressed Exposures, inputs read and outputs written with the 'lossless'
 * recipe (Node gives its zlib); default fflate's.
 */
export async function runQuantumOnBytes(quantum: QuantumOnBytes, context: { tessera: Tessera; log: TaskLogger; codec?: GzipCodec }): Promise<Record<string, Uint8Array>> {
  const task = getTask(quantum.taskName);
  const name = (input: InputBytes): string => input.ref.file ?? `${input.ref.datasetType} ${JSON.stringify(input.ref.dataId)}`;
  const decode = async (connection: string, input: InputBytes): Promise<unknown> => {
    try {
      if ((task.connections.inputs as Record<string, Connection>)[connection]?.deferLoad) {
        // The source is released after the run (below); its FITS reader holds nothing else.
        return openDeferredDataset(input.storageClass, input.source ?? syncBytesSource(name(input), input.bytes ?? new Uint8Array(0)), context.codec).value;
      }
      if (!input.bytes) throw new Error('no bytes given');
      return await decodeDataset(input.storageClass, input.bytes, name(input), context.codec);
    } catch (err) {
      throw new BadInputError(quantum.taskName, connection, (err as Error).message, input.ref);
    }
  };
  try {
    const inputs: Record<string, unknown> = {};
    const refs: Record<string, InputRef | InputRef[]> = {};
    for (const [connection, spec] of Object.entries(quantum.inputs)) {
      if (Array.isArray(spec)) {
        const list = spec as readonly InputBytes[];
        inputs[connection] = await Promise.all(list.map((s) => decode(connection, s)));
        refs[connection] = list.map((s) => s.ref);
      } else {
        const single = spec as InputBytes;
        inputs[connection] = await decode(connection, single);
        refs[connection] = single.ref;
      }
    }
    const { codec, ...taskContext } = context;
    const outputs = runTask(task, inputs as object, quantum.config, { ...taskContext, refs: { quantum: quantum.dataId, inputs: refs } }) as Record<string, unknown>;
    const encoded: Record<string, Uint8Array> = {};
    for (const [key, spec] of Object.entries(quantum.outputs)) {
      const recipe = (task.connections.outputs as Record<string, Connection>)[outputSlot(key).name]?.writeRecipe;
      const compression = recipe === 'lossless' ? { algorithm: 'GZIP_2' as const, ...(codec ? { codec } : {}) } : undefined;
      encoded[key] = encodeDataset(spec.storageClass, outputValue(outputs, key), spec.name, compression);
    }
    return encoded;
  } finally {
    for (const spec of Object.values(quantum.inputs)) for (const input of [spec].flat() as InputBytes[]) input.source?.close?.();
  }
}
