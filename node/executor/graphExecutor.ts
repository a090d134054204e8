/**
 * Runs a quantum graph (quantumGraph.ts) into a RUN collection on a worker pool, resumably and safely
 * beside other executors on the same repository (LSST ctrl_mpexec's SingleQuantumExecutor with
 * `--skip-existing-in` and `--clobber-outputs` semantics made automatic):
 * - a quantum runs when every quantum it reads from has succeeded (or was already done); when one
 *   failed, was blocked or is stale, it is blocked and recorded as such;
 * - before it runs it is claimed in the registry (one row per run, task label and data ID). A row
 *   already there decides instead: succeeded with the same inputs and outputs that still verify (size
 *   and sha256) is resumed; made from other inputs is stale and is not overwritten; failed is reported
 *   again unless `retryFailed`; blocked, abandoned (its claimant's process is gone, or on another host
 *   silent for HEARTBEAT_TIMEOUT_S) or with outputs that no longer verify is run again; held by a live
 *   executor is waited for;
 * - its outputs and its JSON-lines log (`<label>_log`) are written atomically and registered with its
 *   result and provenance in one transaction (Repository.finishQuantum); a failure registers its log only;
 * - transient I/O errors are retried (transientRetry.ts); anything else fails only that quantum.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { DatasetType } from '../repository/datasetTypes.js';
import { taskDatasetType } from '../repository/datasetTypes.js';
import { formatDataId, type DataId, type DataIdValue } from '../repository/dimensions.js';
import type { QuantumRecord, QuantumResult } from '../repository/registry.js';
import type { QuantumOutput, Repository } from '../repository/repository.js';
import { activeConnections, outputSlot, type Connection } from '../../lib/pipeline/task.js';
import { effectiveConfigs, type PipelineDefinition } from '../../lib/pipeline/pipelineDefinition.js';
import { STORAGE_CLASS_EXTENSIONS, encodeDataset, type TaskLogRecord } from '../../lib/pipeline/storageClasses.js';
import type { QuantumGraph, QuantumInput, QuantumNode } from './quantumGraph.js';
import type { WorkerPool } from './workerPool.js';
import type { InputFile, QuantumCost } from './workerProtocol.js';
import { withTransientRetry } from './transientRetry.js';

/** A claimant on another host that has not signalled for this long is presumed gone. */
export const HEARTBEAT_TIMEOUT_S = 120;
const HEARTBEAT_INTERVAL_MS = 20_000;
const WAIT_POLL_MS = 200;

export type QuantumOutcome = 'done' | 'resumed' | 'no-work' | 'failed' | 'blocked' | 'stale';
export const QUANTUM_OUTCOMES: readonly QuantumOutcome[] = ['done', 'resumed', 'no-work', 'failed', 'blocked', 'stale'];

export interface QuantumReport {
  readonly label: string;
  readonly dataId: DataId;
  readonly outcome: QuantumOutcome;
  /** Why it failed, was blocked, had no work or is stale. */
  readonly message?: string;
}

export interface GraphRunEvents {
  /** After each quantum ends, with every report so far. */
  onQuantum?(report: QuantumReport, finished: number, total: number): void;
  /** Executor messages worth a line (retries, takeovers, waiting on another executor). */
  onMessage?(text: string): void;
}

export interface ExecutionContext {
  readonly repo: Repository;
  readonly pool: WorkerPool;
  readonly run: string;
  readonly softwareVersion: string;
  readonly retryFailed: boolean;
  readonly events: GraphRunEvents;
}

/** Executors of this process (tokens): a claim naming this pid is alive only if its token is here. */
const ACTIVE_TOKENS = new Set<string>();

/** True when the executor that wrote `claimedBy` (`host/pid/token`) may still be running. */
export function claimantAlive(claimedBy: string | null, heartbeatAt: string | null): boolean {
  if (claimedBy === null) return false;
  const [host, pidText, token] = claimedBy.split('/');
  const pid = Number(pidText);
  if (host === os.hostname() && Number.isSafeInteger(pid)) {
    if (pid === process.pid) return ACTIVE_TOKENS.has(token ?? '');
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  const last = heartbeatAt ? Date.parse(heartbeatAt) : NaN;
  return Number.isFinite(last) && Date.now() - last < HEARTBEAT_TIMEOUT_S * 1000;
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort(), sb = [...b].sort();
  return sa.every((v, i) => v === sb[i]);
}

/** The dataset types a pipeline's tasks write: each active output connection's, and each task's log. */
export function pipelineDatasetTypes(pipeline: PipelineDefinition): Map<string, { outputs: Record<string, DatasetType>; log: DatasetType }> {
  const configs = new Map(effectiveConfigs(pipeline).map((c) => [c.label, c]));
  const out = new Map<string, { outputs: Record<string, DatasetType>; log: DatasetType }>();
  for (const def of pipeline.tasks) {
    const active = activeConnections(def.task, configs.get(def.label)!.config as object);
    const outputs: Record<string, DatasetType> = {};
    for (const [name, c] of Object.entries(active.outputs)) {
      outputs[name] = taskDatasetType(c.datasetType, c.dimensions, c.storageClass, STORAGE_CLASS_EXTENSIONS[c.storageClass] ?? 'dat');
    }
    out.set(def.label, { outputs, log: taskDatasetType(`${def.label}_log`, def.task.dimensions, 'TaskLog', STORAGE_CLASS_EXTENSIONS.TaskLog!) });
  }
  return out;
}

/** A data ID for a dataset of `type` made by `node`: the type's dimensions and whichever implied keys the quantum knows. */
function outputDataId(type: DatasetType, node: QuantumNode, dimensionsDataId: DataId): DataId {
  const dataId: Record<string, DataIdValue> = { ...dimensionsDataId };
  for (const k of type.implied) {
    const v = node.dataId[k] ?? node.implied[k];
    if (v !== undefined) dataId[k] = v;
  }
  return dataId;
}

/** Runs every quantum with work of `graph`; returns one report per quantum (graph-time no-work ones included). */
export async function executeGraph(graph: QuantumGraph, pipeline: PipelineDefinition, context: ExecutionContext): Promise<QuantumReport[]> {
  const { repo, run } = context;
  const host = os.hostname();
  const token = crypto.randomUUID().slice(0, 8);
  const claimedBy = `${host}/${process.pid}/${token}`;
  const types = pipelineDatasetTypes(pipeline);
  const configs = new Map(effectiveConfigs(pipeline).map((c) => [c.label, c]));
  const definitions = new Map(pipeline.tasks.map((t) => [t.label, t]));
  const nodes = new Map(graph.quanta.map((q) => [q.id, q]));
  const outcome = new Map<string, QuantumOutcome>();
  const reports: QuantumReport[] = [];
  const withWork = graph.quanta.filter((q) => q.noWork === undefined);
  let finished = 0;

  const report = (node: QuantumNode, result: QuantumOutcome, message?: string): QuantumOutcome => {
    outcome.set(node.id, result);
    const r: QuantumReport = { label: node.label, dataId: node.dataId, outcome: result, ...(message !== undefined ? { message } : {}) };
    reports.push(r);
    finished++;
    context.events.onQuantum?.(r, finished, withWork.length);
    return result;
  };
  for (const node of graph.quanta) {
    if (node.noWork !== undefined) {
      outcome.set(node.id, 'no-work');
      reports.push({ label: node.label, dataId: node.dataId, outcome: 'no-work', message: node.noWork });
    }
  }

  const producers = (node: QuantumNode): string[] => {
    const ids: string[] = [];
    for (const v of Object.values(node.inputs)) for (const i of (Array.isArray(v) ? v : [v]) as QuantumInput[]) if ('producer' in i) ids.push(i.producer);
    return ids;
  };

  /** The registered dataset behind an input, with its file. */
  const resolveInput = async (input: QuantumInput, connection: Connection): Promise<{ id: string; file: InputFile }> => {
    const ref = 'producer' in input ? await repo.findDataset(input.datasetType, input.dataId, [run]) : await repo.registry.getDataset(input.datasetId);
    if (!ref) {
      throw new Error('producer' in input
        ? `${input.datasetType} ${formatDataId(input.dataId)} is not registered in run '${run}' although its producer ended`
        : `input dataset ${input.datasetId} (${input.datasetType} ${formatDataId(input.dataId)}) is no longer registered`);
    }
    return { id: ref.id, file: { datasetType: ref.datasetType, dataId: ref.dataId, storageClass: connection.storageClass, file: repo.getPath(ref) } };
  };

  const emptyCost: QuantumCost = { cpuUserSeconds: null, cpuSystemSeconds: null, wasmMemoryPeakBytes: 0, processRssPeakBytes: 0 };
  const resultOf = (id: string, status: QuantumResult['status'], cost: QuantumCost, error: string | null, skipReason?: 'no-work' | 'blocked'): Omit<QuantumResult, 'outputs'> => ({
    id, claimedBy, status, endedAt: new Date().toISOString(), threadCpuUserSeconds: cost.cpuUserSeconds, threadCpuSystemSeconds: cost.cpuSystemSeconds,
    wasmMemoryPeakBytes: cost.wasmMemoryPeakBytes || null, rssPeakBytes: cost.processRssPeakBytes || null, error, ...(skipReason ? { skipReason } : {}),
  });

  /** Claims the quantum, or says what an existing row means for it. */
  const claim = async (node: QuantumNode, inputIds: string[]): Promise<{ claimedId: string } | { outcome: QuantumOutcome; message?: string }> => {
    const configHash = configs.get(node.label)!.configHash;
    let replacing: QuantumRecord | undefined;
    for (;;) {
      const id = crypto.randomUUID();
      const result = await repo.claimQuantum({
        id, run, task: node.label, dataId: node.dataId, configHash, softwareVersion: context.softwareVersion, host, claimedBy,
        startedAt: new Date().toISOString(), inputs: inputIds,
      }, replacing ? { id: replacing.id, status: replacing.status, claimedBy: replacing.claimedBy } : undefined);
      if (result.claimed) return { claimedId: id };
      const existing = result.existing;
      replacing = undefined;
      const what = `${node.label} ${formatDataId(node.dataId)}`;
      if (existing.configHash !== configHash || existing.softwareVersion !== context.softwareVersion) {
        return { outcome: 'stale', message: `run '${run}' holds ${what} made with config ${existing.configHash.slice(0, 12)} by tessera ${existing.softwareVersion}; `
          + `this is config ${configHash.slice(0, 12)}, tessera ${context.softwareVersion}; not overwritten` };
      }
      if (existing.status === 'running') {
        if (claimantAlive(existing.claimedBy, existing.heartbeatAt)) {
          await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
          continue;
        }
        context.events.onMessage?.(`${what}: taking over from ${existing.claimedBy}, which is no longer running`);
        replacing = existing;
        continue;
      }
      if (existing.status === 'failed') {
        if (!context.retryFailed) return { outcome: 'failed', message: `failed in an earlier attempt (use --retry-failed to run it again): ${existing.error ?? ''}` };
        replacing = existing;
        continue;
      }
      if (existing.status === 'skipped' && existing.skipReason === 'blocked') {
        replacing = existing;
        continue;
      }
      // succeeded, or skipped for no work: resumable if made from the same inputs and its files verify.
      if (!sameIds(existing.inputs, inputIds)) {
        const missing = inputIds.filter((i) => !existing.inputs.includes(i)).length;
        const gone = existing.inputs.filter((i) => !inputIds.includes(i)).length;
        return { outcome: 'stale', message: `run '${run}' holds ${what} made from other inputs (${missing} input(s) new, ${gone} no longer used); not overwritten` };
      }
      const refs = [];
      for (const outputId of existing.outputs) {
        const ref = await repo.registry.getDataset(outputId);
        if (ref) refs.push(ref);
      }
      const problems = refs.length === existing.outputs.length ? await repo.verify(refs) : [{ problem: 'an output is no longer registered' }];
      if (problems.length === 0) return existing.status === 'skipped' ? { outcome: 'no-work', message: existing.error ?? 'no work' } : { outcome: 'resumed' };
      context.events.onMessage?.(`${what}: its outputs no longer verify (${problems.map((p) => p.problem).join('; ')}); running it again`);
      replacing = existing;
    }
  };

  const logRecords = (node: QuantumNode, started: string, entries: readonly TaskLogRecord[], closing: TaskLogRecord): TaskLogRecord[] => [
    { time: started, level: 'info', message: `${node.label} ${formatDataId(node.dataId)} on ${host}`, fields: { quantum: node.id, run, task: node.taskName } },
    ...entries,
    closing,
  ];

  const logOutput = (node: QuantumNode, records: readonly TaskLogRecord[]): QuantumOutput => {
    const type = types.get(node.label)!.log;
    return { datasetType: type.name, dataId: outputDataId(type, node, node.dataId), bytes: encodeDataset('TaskLog', records, `${node.label}_log`) };
  };

  const finishFailed = async (node: QuantumNode, claimedId: string, started: string, cost: QuantumCost, message: string, log: readonly TaskLogRecord[], skip?: 'no-work' | 'blocked'): Promise<void> => {
    const status = skip ? 'skipped' : 'failed';
    const closing: TaskLogRecord = { time: new Date().toISOString(), level: skip ? 'info' : 'error', message };
    try {
      await withTransientRetry(() => repo.finishQuantum(run, node.label, resultOf(claimedId, status, cost, message, skip), [logOutput(node, logRecords(node, started, log, closing))], [types.get(node.label)!.log]));
    } catch (err) {
      // Even the log cannot be written (a full disk): record the result alone.
      await repo.finishQuantum(run, node.label, resultOf(claimedId, status, cost, `${message}; writing the log failed: ${(err as Error).message}`, skip), [])
        .catch((again: Error) => context.events.onMessage?.(`${node.label} ${formatDataId(node.dataId)}: cannot record its result: ${again.message}`));
    }
  };

  const runQuantum = async (node: QuantumNode): Promise<QuantumOutcome> => {
    const def = definitions.get(node.label)!;
    const config = configs.get(node.label)!;
    const active = activeConnections(def.task, config.config as object);
    const jobInputs: Record<string, InputFile | InputFile[]> = {};
    const inputIds: string[] = [];
    try {
      for (const [name, value] of Object.entries(node.inputs)) {
        const connection = active.inputs[name]!;
        if (Array.isArray(value)) {
          const files: InputFile[] = [];
          for (const input of value as QuantumInput[]) {
            const r = await resolveInput(input, connection);
            inputIds.push(r.id);
            files.push(r.file);
          }
          jobInputs[name] = files;
        } else {
          const r = await resolveInput(value as QuantumInput, connection);
          inputIds.push(r.id);
          jobInputs[name] = r.file;
        }
      }
    } catch (err) {
      return report(node, 'failed', (err as Error).message);
    }

    const claimed = await claim(node, inputIds);
    if ('outcome' in claimed) return report(node, claimed.outcome, claimed.message);
    const claimedId = claimed.claimedId;
    const typesOf = types.get(node.label)!;
    const outputSpecs: Record<string, { storageClass: string; name: string }> = {};
    for (const [name, ref] of Object.entries(node.outputs)) outputSpecs[name] = { storageClass: active.outputs[outputSlot(name).name]!.storageClass, name: `${ref.datasetType} ${formatDataId(ref.dataId)}` };

    const started = new Date().toISOString();
    const result = await context.pool.run({
      jobId: 0, taskName: node.taskName, label: node.label, dataId: node.dataId, config: config.config, inputs: jobInputs, outputs: outputSpecs,
    });
    if (!result.ok) {
      const noWork = result.failure.kind === 'no-work';
      await finishFailed(node, claimedId, started, result.cost, result.failure.message, result.log, noWork ? 'no-work' : undefined);
      return report(node, noWork ? 'no-work' : 'failed', result.failure.message);
    }
    const outputs: QuantumOutput[] = Object.entries(node.outputs).map(([name, ref]) => ({
      datasetType: ref.datasetType, dataId: outputDataId(typesOf.outputs[outputSlot(name).name]!, node, ref.dataId), bytes: result.outputs[name]!,
    }));
    const cost = result.cost;
    const closing: TaskLogRecord = {
      time: new Date().toISOString(), level: 'info', message: 'succeeded',
      fields: { cpuUserSeconds: cost.cpuUserSeconds ?? -1, cpuSystemSeconds: cost.cpuSystemSeconds ?? -1, wasmMemoryPeakBytes: cost.wasmMemoryPeakBytes, processRssPeakBytesShared: cost.processRssPeakBytes },
    };
    outputs.push(logOutput(node, logRecords(node, started, result.log, closing)));
    try {
      await withTransientRetry(() => repo.finishQuantum(run, node.label, resultOf(claimedId, 'succeeded', cost, null), outputs, [...Object.values(typesOf.outputs), typesOf.log]));
    } catch (err) {
      const message = `writing its outputs failed, nothing registered: ${(err as Error).message}`;
      await finishFailed(node, claimedId, started, cost, message, result.log);
      return report(node, 'failed', message);
    }
    return report(node, 'done');
  };

  const blockedBy = async (node: QuantumNode, upstream: QuantumNode): Promise<QuantumOutcome> => {
    const message = `blocked: ${upstream.label} ${formatDataId(upstream.dataId)} ${outcome.get(upstream.id)}`;
    const id = crypto.randomUUID();
    const claimResult = await repo.claimQuantum({
      id, run, task: node.label, dataId: node.dataId, configHash: configs.get(node.label)!.configHash, softwareVersion: context.softwareVersion,
      host, claimedBy, startedAt: new Date().toISOString(), inputs: [],
    }).catch(() => undefined);
    if (claimResult?.claimed) await repo.finishQuantum(run, node.label, resultOf(id, 'skipped', emptyCost, message, 'blocked'), []).catch(() => undefined);
    return report(node, 'blocked', message);
  };

  ACTIVE_TOKENS.add(token);
  const heartbeat = setInterval(() => { void repo.registry.heartbeat(claimedBy).catch(() => undefined); }, HEARTBEAT_INTERVAL_MS);
  heartbeat.unref();
  try {
    // Each quantum waits for its unfinished producers; when the last one ends it joins the ready queue,
    // which is served in graph order (pipeline order, then data ID), at most `limit` at a time.
    const order = new Map(withWork.map((n, i) => [n.id, i]));
    const upstreamOf = new Map(withWork.map((n) => [n.id, [...new Set(producers(n))].map((id) => nodes.get(id)!)]));
    const waiting = new Map<string, number>();
    const dependants = new Map<string, QuantumNode[]>();
    for (const n of withWork) {
      const unfinished = upstreamOf.get(n.id)!.filter((u) => !outcome.has(u.id));
      waiting.set(n.id, unfinished.length);
      for (const u of unfinished) (dependants.get(u.id) ?? dependants.set(u.id, []).get(u.id)!).push(n);
    }
    const ready = withWork.filter((n) => waiting.get(n.id) === 0);
    const inFlight = new Map<string, Promise<QuantumOutcome>>();
    const limit = Math.max(1, context.pool.size);
    while (ready.length > 0 || inFlight.size > 0) {
      ready.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
      while (ready.length > 0 && inFlight.size < limit) {
        const node = ready.shift()!;
        const bad = upstreamOf.get(node.id)!.find((u) => outcome.get(u.id) !== 'done' && outcome.get(u.id) !== 'resumed');
        const work = (bad ? blockedBy(node, bad) : runQuantum(node))
          .catch((err: Error) => report(node, 'failed', `executor error: ${err.message}`));
        inFlight.set(node.id, work.finally(() => {
          inFlight.delete(node.id);
          for (const d of dependants.get(node.id) ?? []) {
            const left = waiting.get(d.id)! - 1;
            waiting.set(d.id, left);
            if (left === 0) ready.push(d);
          }
        }));
      }
      if (inFlight.size > 0) await Promise.race(inFlight.values());
    }
    const stuck = withWork.filter((n) => !outcome.has(n.id));
    if (stuck.length > 0) throw new Error(`quantum graph cycle among ${stuck.map((n) => n.label).join(', ')}`);
  } finally {
    clearInterval(heartbeat);
    ACTIVE_TOKENS.delete(token);
  }
  return reports;
}
