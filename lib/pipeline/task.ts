/**
 * The task contract (LSST pipe_base's PipelineTask, reduced to data): a task declares
 * - its quantum dimensions (one run per distinct data ID over them, e.g. [instrument, exposure, detector]);
 * - its connections: each input and output dataset type with its dimensions and storage class, whether
 *   it is a prerequisite (must exist before the graph is built: calibrations, the camera), a calibration
 *   (looked up in a CALIBRATION collection by validity range at the quantum's time), `multiple` (a list:
 *   every matching dataset, at least `minimum`), `enabledBy` (a boolean config field that switches it
 *   off, as isr's doDark drops the dark input), and `deferLoad` (the task gets a handle that reads the
 *   dataset's pixels as it asks for them, LSST's deferLoad);
 * - a config schema with defaults and validation (lib/pipeline/config.ts);
 * - `run(inputs, config, context)`: pure computation, no I/O. Inputs and outputs are in-memory objects keyed
 *   by connection name. A task may write into an input's pixel planes and return them as an output, as
 *   LSST's characterizeImage and calibrate modify their exposure (one image's planes in memory instead of
 *   three): the executor and the browser decode every quantum's inputs afresh, and a caller that runs
 *   tasks in sequence hands each its inputs when it needs them no more. The context carries the Tessera
 *   wasm instance (kernels and plane allocator), a logger, and optionally the executor's references to
 *   the input datasets so that a BadInputError can name the data ID and file that was wrong.
 * A run that cannot produce its outputs throws one of lib/pipeline/errors.ts's QuantumErrors.
 * `runTask` is what an executor calls: validate the config, check the inputs against the connections,
 * run, and check that every enabled output came back.
 */
import type { Tessera } from '../wasm/loader.js';
import { validateConfig, type ConfigProblem, type ConfigSchema } from './config.js';
import { BadInputError, type DataId, type InputRef } from './errors.js';
import type { TaskLogger } from './logger.js';

export interface Connection {
  /** Dataset type name (DESIGN.md's list: raw, bias, postISRCCD, ...). */
  datasetType: string;
  dimensions: readonly string[];
  /** What the in-memory object is: 'RawFrame', 'Exposure', 'Camera', 'Defects', ... */
  storageClass: string;
  doc: string;
  /** Must exist before the quantum graph is built (never produced by a task in the same graph). */
  prerequisite?: boolean;
  /** Found in a CALIBRATION collection by validity range at the quantum's observation time. */
  calibration?: boolean;
  /** A list of datasets: every one matching the quantum's data ID. */
  multiple?: boolean;
  /** For a prerequisite: the task runs without it where the collections hold none (the camera, for images from elsewhere). */
  optional?: boolean;
  /** For `multiple`: the fewest datasets the task accepts (default 1). */
  minimum?: number;
  /** A boolean config field; when it is false the connection is not used. */
  enabledBy?: string;
  /**
   * For an input: the task gets a deferred handle (lib/fits/deferredExposure.ts for an Exposure), not the
   * decoded dataset, and reads its pixels as it needs them, a region at a time (LSST's deferLoad).
   */
  deferLoad?: boolean;
  /**
   * For an output: one dataset per item of this (multiple) input connection, its data ID the item's
   * projected on the output's dimensions (assembleCoadd's artifact mask per visit warp). The task returns
   * a list in the input's order; the quantum names item k's output `name[k]` (`outputSlot` parses it).
   */
  perInput?: string;
  /**
   * For an Exposure output: LSST obs_base's write recipe. 'lossless' tile-compresses the three planes
   * (GZIP_2 in row tiles, lib/fits/compressImage.ts): about 3x smaller for a warp's mostly empty
   * patch, and read a band of rows at a time as before. Default: not compressed.
   */
  writeRecipe?: 'lossless';
}

/** The connection name and item index of a quantum's output key: 'coadd' or 'artifactMasks[2]'. */
export function outputSlot(key: string): { name: string; index?: number } {
  const m = /^(.*)\[(\d+)\]$/.exec(key);
  return m ? { name: m[1]!, index: Number(m[2]) } : { name: key };
}

/** The value of output `key` in what run() returned (an item of a perInput list for `name[k]`). */
export function outputValue(outputs: Readonly<Record<string, unknown>>, key: string): unknown {
  const { name, index } = outputSlot(key);
  const value = outputs[name];
  return index === undefined ? value : Array.isArray(value) ? value[index] : undefined;
}

export interface TaskContext {
  tessera: Tessera;
  log: TaskLogger;
  /** Supplied by the executor: the quantum's data ID and, per input connection, what was read. */
  refs?: {
    quantum?: DataId;
    inputs?: Readonly<Record<string, InputRef | readonly InputRef[]>>;
  };
}

export interface Task<C, I, O> {
  /** Unique name; also the prefix of its config errors (`isr.doDark`). */
  readonly name: string;
  /** One line: what the task does. */
  readonly summary: string;
  /** Quantum dimensions. */
  readonly dimensions: readonly string[];
  readonly connections: {
    readonly inputs: { readonly [K in keyof I]-?: Connection };
    readonly outputs: { readonly [K in keyof O]-?: Connection };
  };
  readonly config: ConfigSchema<C>;
  /** Cross-field checks, after every field passed its own. */
  validate?(config: Readonly<C>): ConfigProblem | undefined;
  run(inputs: I, config: Readonly<C>, context: TaskContext): O;
}

/** Any task, as the registry and the executor see it. */
export type AnyTask = Task<object, object, object>;

/** The reference the executor gave for input `connection` (item `index` of a multiple one), if any. */
export function inputRef(context: TaskContext, connection: string, index?: number): InputRef | undefined {
  const refs = context.refs?.inputs?.[connection];
  if (refs === undefined) return undefined;
  if (Array.isArray(refs)) return index === undefined ? undefined : (refs as readonly InputRef[])[index];
  return refs as InputRef;
}

/** A numeric key of the quantum's data ID (tract, patch), or a BadInputError naming what it holds instead. */
export function quantumNumber(task: { name: string }, context: TaskContext, key: string): number {
  const v = context.refs?.quantum?.[key];
  if (typeof v !== 'number') throw new BadInputError(task.name, 'quantum', `the quantum's data ID has no numeric ${key} (got ${JSON.stringify(v)})`);
  return v;
}

/**
 * The band of item `index` of input `connection`: its data ID's, else its metadata's BAND card; a
 * BadInputError naming the item when neither says.
 */
export function inputBand(task: { name: string }, context: TaskContext, connection: string, index: number, metadata: { getString(key: string): string | undefined } | undefined): string {
  const band = inputRef(context, connection, index)?.dataId?.band ?? metadata?.getString('BAND');
  if (typeof band !== 'string' || band === '') throw badInput(task, context, connection, 'its band is unknown (no band in its data ID or BAND card)', index);
  return band;
}

/** A BadInputError for input `connection` (item `index`), naming its data ID and file when known. */
export function badInput(task: { name: string }, context: TaskContext, connection: string, problem: string, index?: number): BadInputError {
  return new BadInputError(task.name, connection, index === undefined ? problem : `item ${index}: ${problem}`, inputRef(context, connection, index));
}

/** The connections in use under `config` (those whose enabledBy field is false are dropped). */
export function activeConnections<C, I, O>(task: Task<C, I, O>, config: Readonly<C>): { inputs: Record<string, Connection>; outputs: Record<string, Connection> } {
  const on = (c: Connection): boolean => c.enabledBy === undefined || (config as Record<string, unknown>)[c.enabledBy] === true;
  const pick = (all: Record<string, Connection>): Record<string, Connection> => Object.fromEntries(Object.entries(all).filter(([, c]) => on(c)));
  return { inputs: pick(task.connections.inputs as Record<string, Connection>), outputs: pick(task.connections.outputs as Record<string, Connection>) };
}

/**
 * Checks the inputs against the enabled connections: each present (not undefined or null) unless optional; a multiple
 * one an array of at least `minimum` items with none missing. (A single dataset may itself be a list,
 * as a Defects dataset is.)
 */
export function checkInputs<C, I, O>(task: Task<C, I, O>, config: Readonly<C>, inputs: I, context: TaskContext): void {
  const given = inputs as Record<string, unknown>;
  for (const [name, connection] of Object.entries(activeConnections(task, config).inputs)) {
    const value = given[name];
    if ((value === undefined || value === null) && connection.optional) continue;
    if (value === undefined || value === null) throw badInput(task, context, name, `missing (a ${connection.storageClass} of dataset type ${connection.datasetType})`);
    if (connection.multiple) {
      if (!Array.isArray(value)) throw badInput(task, context, name, `expected a list of ${connection.datasetType} datasets`);
      const minimum = connection.minimum ?? 1;
      if (value.length < minimum) throw badInput(task, context, name, `needs at least ${minimum} ${connection.datasetType} dataset${minimum === 1 ? '' : 's'}, got ${value.length}`);
      const hole = value.findIndex((v) => v === undefined || v === null);
      if (hole >= 0) throw badInput(task, context, name, 'missing', hole);
    }
  }
}

/**
 * Validates the config (overrides on the defaults), checks the inputs, runs the task and checks that every
 * enabled output is present. Throws ConfigError, BadInputError or whatever run() throws.
 */
export function runTask<C, I, O>(task: Task<C, I, O>, inputs: I, overrides: Readonly<Record<string, unknown>>, context: TaskContext): O {
  const config = validateConfig(task, overrides);
  checkInputs(task, config, inputs, context);
  const outputs = task.run(inputs, config, context);
  for (const [name, connection] of Object.entries(activeConnections(task, config).outputs)) {
    const value = (outputs as Record<string, unknown>)[name];
    if (value === undefined || value === null) throw new Error(`${task.name}: run() returned no '${name}' output (a task bug)`);
    if (connection.perInput !== undefined) {
      const items = (inputs as Record<string, unknown>)[connection.perInput];
      if (!Array.isArray(value) || !Array.isArray(items) || value.length !== items.length || value.some((v) => v === undefined || v === null)) {
        throw new Error(`${task.name}: run() must return one '${name}' output per '${connection.perInput}' input (a task bug)`);
      }
    }
  }
  return outputs;
}
