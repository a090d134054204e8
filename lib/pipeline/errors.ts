/**
 * Why a quantum (one task run on one data ID) did not produce its outputs, as typed errors the executor
 * records (LSST pipe_base's _status.py taxonomy: NoWorkFound, UnprocessableDataError, AlgorithmError):
 * - BadInputError: an input dataset is unusable (wrong size, missing keyword, wrong detector...); it names
 *   the task, the connection, and the dataset's type, data ID and file when the executor supplied them.
 * - AlgorithmError: the inputs were fine but the algorithm gave up (too few good pixels, no convergence);
 *   carries numeric/string metadata for the run summary.
 * - NoWorkError: nothing to do for this data ID (e.g. every input filtered out); not a failure.
 * - ConfigError: a configuration field is invalid; names `task.field` and what is wrong.
 * `describeFailure` turns any thrown value into a plain, JSON-safe record.
 */

/** A data ID: dimension name -> value (any string is allowed, see DESIGN.md). */
export type DataId = Readonly<Record<string, string | number>>;

/** What the executor knows about one input dataset, for error messages. */
export interface InputRef {
  datasetType: string;
  dataId: DataId;
  /** The file it was read from, when it came from a file. */
  file?: string;
}

/** `{instrument: HSC-SIM, exposure: 1000, detector: 0}`, keys in the order given. */
export function formatDataId(dataId: DataId): string {
  return `{${Object.entries(dataId).map(([k, v]) => `${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`).join(', ')}}`;
}

function describeRef(ref: InputRef | undefined): string {
  if (!ref) return '';
  return ` (${ref.datasetType} ${formatDataId(ref.dataId)}${ref.file ? ` from ${ref.file}` : ''})`;
}

export type QuantumFailureKind = 'bad-input' | 'algorithm' | 'no-work';

/** Base class of the errors a task's run() throws on purpose. */
export abstract class QuantumError extends Error {
  abstract readonly kind: QuantumFailureKind;
  constructor(readonly task: string, message: string) {
    super(message);
  }
}

export class BadInputError extends QuantumError {
  readonly kind = 'bad-input' as const;
  constructor(task: string, readonly connection: string, readonly problem: string, readonly ref?: InputRef) {
    super(task, `${task}: input '${connection}'${describeRef(ref)}: ${problem}`);
    this.name = 'BadInputError';
  }
}

export class AlgorithmError extends QuantumError {
  readonly kind = 'algorithm' as const;
  constructor(task: string, readonly problem: string, readonly metadata: Readonly<Record<string, number | string | boolean>> = {}) {
    super(task, `${task}: ${problem}`);
    this.name = 'AlgorithmError';
  }
}

export class NoWorkError extends QuantumError {
  readonly kind = 'no-work' as const;
  constructor(task: string, readonly reason: string) {
    super(task, `${task}: no work: ${reason}`);
    this.name = 'NoWorkError';
  }
}

/** An invalid configuration field; `field` is `task.field` (or just `task` for the whole config). */
export class ConfigError extends Error {
  constructor(readonly field: string, readonly problem: string) {
    super(`${field}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** A failure as the executor records it (JSON-safe). */
export interface QuantumFailure {
  kind: QuantumFailureKind | 'config' | 'unexpected';
  message: string;
  task?: string;
  connection?: string;
  field?: string;
  dataId?: DataId;
  file?: string;
  metadata?: Readonly<Record<string, number | string | boolean>>;
}

/** Classifies any thrown value; errors that are not ours are 'unexpected' (bugs, out of memory). */
export function describeFailure(error: unknown): QuantumFailure {
  if (error instanceof BadInputError) {
    const f: QuantumFailure = { kind: 'bad-input', message: error.message, task: error.task, connection: error.connection };
    if (error.ref) {
      f.dataId = error.ref.dataId;
      if (error.ref.file !== undefined) f.file = error.ref.file;
    }
    return f;
  }
  if (error instanceof AlgorithmError) return { kind: 'algorithm', message: error.message, task: error.task, metadata: error.metadata };
  if (error instanceof NoWorkError) return { kind: 'no-work', message: error.message, task: error.task };
  if (error instanceof ConfigError) return { kind: 'config', message: error.message, field: error.field };
  if (error instanceof Error) return { kind: 'unexpected', message: `${error.name}: ${error.message}` };
  return { kind: 'unexpected', message: String(error) };
}
