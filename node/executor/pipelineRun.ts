/**
 * `tessera run`'s engine: a pipeline over a repository's input collections into one RUN collection.
 * 1. Refuses, before anything runs, a run that already holds quanta of one of the pipeline's tasks
 *    made with another config or another tessera version (naming the task), and dataset types whose
 *    registered definition differs from what the tasks write; registers the output dataset types.
 * 2. Runs the tasks that make calibration products (outputs with `calibration: true`: buildBias,
 *    buildDark, buildFlat) first, then certifies their products into the CALIBRATION collection
 *    `<run>/calib` with the validity range each product records (VALIDBEG/VALIDEND, from its input
 *    exposures' dates), as LSST's `butler certify-calibrations` does after cp_pipe.
 * 3. Runs the rest of the pipeline with `<run>/calib` searched before the input collections.
 * Each phase builds its quantum graph (quantumGraph.ts) and runs it (graphExecutor.ts) on one worker
 * pool. The summary counts, per task, quanta done now, resumed, without work, failed, blocked and
 * stale, and lists every failure.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { activeConnections, outputSlot } from '../../lib/pipeline/task.js';
import { effectiveConfigs, type PipelineDefinition } from '../../lib/pipeline/pipelineDefinition.js';
import { calibrationValidity } from '../../lib/pipeline/storageClasses.js';
import { sameDatasetType } from '../repository/datasetTypes.js';
import { RegistryConflictError, type Certification, type ExcludedDataset } from '../repository/registry.js';
import type { Repository } from '../repository/repository.js';
import { openFitsFile } from '../fits/fileSource.js';
import { buildQuantumGraph, type QuantumGraph } from './quantumGraph.js';
import { executeGraph, pipelineDatasetTypes, QUANTUM_OUTCOMES, type GraphRunEvents, type QuantumOutcome, type QuantumReport } from './graphExecutor.js';
import { WorkerPool } from './workerPool.js';

export interface PipelineRunOptions {
  readonly repo: Repository;
  readonly pipeline: PipelineDefinition;
  readonly inputCollections: readonly string[];
  readonly outputRun: string;
  readonly where?: string;
  readonly workers: number;
  readonly retryFailed?: boolean;
  /** Leave out inputs whose latest verdict is 'rejected' (recorded in the run attempt's `excluded`). */
  readonly excludeRejected?: boolean;
  readonly softwareVersion: string;
  /** The command line, recorded with the run attempt. */
  readonly command?: string;
  readonly events?: GraphRunEvents & {
    /** A phase's graph is built: its label and its quanta with work. */
    onPhase?(phase: string, graph: QuantumGraph): void;
  };
}

export interface TaskCounts {
  readonly label: string;
  readonly counts: Record<QuantumOutcome, number>;
}

export interface PipelineRunSummary {
  readonly run: string;
  readonly calibrationCollection: string | null;
  readonly certified: number;
  readonly tasks: TaskCounts[];
  readonly reports: QuantumReport[];
  readonly wallSeconds: number;
}

/** A run that must not go ahead (config or software changed, conflicting dataset types). */
export class RunRefusedError extends Error {
  override readonly name = 'RunRefusedError';
}

/** The CALIBRATION collection a run's calibration products are certified into. */
export function calibrationCollectionOf(run: string): string {
  return `${run}/calib`;
}

async function checkRunCompatible(repo: Repository, pipeline: PipelineDefinition, run: string, softwareVersion: string): Promise<void> {
  const existing = await repo.registry.getCollection(run);
  if (!existing) return;
  if (existing.type !== 'RUN') throw new RunRefusedError(`output '${run}' is a ${existing.type} collection, not a RUN`);
  const quanta = await repo.registry.quantaInRun(run);
  for (const config of effectiveConfigs(pipeline)) {
    const other = quanta.find((q) => q.task === config.label && q.configHash !== config.configHash);
    if (other) {
      throw new RunRefusedError(`task '${config.label}': run '${run}' was made with config ${other.configHash.slice(0, 12)}, this config is ${config.configHash.slice(0, 12)}; `
        + 'write to a new --output run, or run with the same config');
    }
    const version = quanta.find((q) => q.task === config.label && q.softwareVersion !== softwareVersion);
    if (version) {
      throw new RunRefusedError(`task '${config.label}': run '${run}' was made by tessera ${version.softwareVersion}, this is tessera ${softwareVersion}; write to a new --output run`);
    }
  }
}

async function registerDatasetTypes(repo: Repository, pipeline: PipelineDefinition): Promise<void> {
  const wanted = [...pipelineDatasetTypes(pipeline).values()].flatMap((t) => [...Object.values(t.outputs), t.log]);
  for (const type of wanted) {
    const registered = await repo.registry.getDatasetType(type.name);
    if (registered && !sameDatasetType(registered, type)) {
      throw new RunRefusedError(`dataset type '${type.name}' is registered as ${registered.storageClass} with dimensions ${registered.dimensions.join(', ')} and template ${registered.pathTemplate}; `
        + `the pipeline writes ${type.storageClass} with dimensions ${type.dimensions.join(', ')} and template ${type.pathTemplate}`);
    }
  }
  await repo.registry.commit({ datasetTypes: wanted });
}

/** The labels of tasks that make calibration products. */
function calibrationLabels(pipeline: PipelineDefinition): Set<string> {
  const configs = new Map(effectiveConfigs(pipeline).map((c) => [c.label, c]));
  return new Set(pipeline.tasks.filter((def) => Object.values(activeConnections(def.task, configs.get(def.label)!.config as object).outputs).some((c) => c.calibration)).map((d) => d.label));
}

/** Certifies the calibration products of the succeeded quanta of `graph` into `collection`. */
async function certify(repo: Repository, pipeline: PipelineDefinition, graph: QuantumGraph, reports: readonly QuantumReport[], run: string, collection: string): Promise<number> {
  const configs = new Map(effectiveConfigs(pipeline).map((c) => [c.label, c]));
  const ok = new Set(reports.filter((r) => r.outcome === 'done' || r.outcome === 'resumed').map((r) => `${r.label}\u0000${JSON.stringify(r.dataId)}`));
  const certifications: Certification[] = [];
  for (const node of graph.quanta) {
    if (!ok.has(`${node.label}\u0000${JSON.stringify(node.dataId)}`)) continue;
    const def = pipeline.tasks.find((t) => t.label === node.label)!;
    const outputs = activeConnections(def.task, configs.get(node.label)!.config as object).outputs;
    for (const [name, ref] of Object.entries(node.outputs)) {
      if (!outputs[outputSlot(name).name]?.calibration) continue;
      const dataset = await repo.findDataset(ref.datasetType, ref.dataId, [run]);
      if (!dataset) continue;
      const file = await openFitsFile(repo.getPath(dataset));
      try {
        certifications.push({ collection, datasetId: dataset.id, range: calibrationValidity(file.hdus[0]!.header, repo.getPath(dataset)) });
      } finally {
        await file.close();
      }
    }
  }
  if (certifications.length === 0) return 0;
  try {
    await repo.registry.commit({ collections: [{ name: collection, type: 'CALIBRATION', doc: `calibration products of run ${run}` }], certifications });
  } catch (err) {
    if (err instanceof RegistryConflictError) throw new RunRefusedError(`certifying into '${collection}': ${err.message}`);
    throw err;
  }
  return certifications.length;
}

/** Per task label (pipeline order), how its quanta ended. */
export function countOutcomes(pipeline: PipelineDefinition, reports: readonly QuantumReport[]): TaskCounts[] {
  return pipeline.tasks.map((def) => {
    const counts = Object.fromEntries(QUANTUM_OUTCOMES.map((o) => [o, 0])) as Record<QuantumOutcome, number>;
    for (const r of reports) if (r.label === def.label) counts[r.outcome]++;
    return { label: def.label, counts };
  });
}

export async function runPipeline(options: PipelineRunOptions): Promise<PipelineRunSummary> {
  const t0 = performance.now();
  const { repo, pipeline, outputRun: run } = options;
  await checkRunCompatible(repo, pipeline, run, options.softwareVersion);
  await registerDatasetTypes(repo, pipeline);

  const calibLabels = calibrationLabels(pipeline);
  const phases: { name: string; pipeline: PipelineDefinition }[] = [];
  const calibPhase = { ...pipeline, tasks: pipeline.tasks.filter((t) => calibLabels.has(t.label)) };
  const mainPhase = { ...pipeline, tasks: pipeline.tasks.filter((t) => !calibLabels.has(t.label)) };
  if (calibPhase.tasks.length) phases.push({ name: 'calibration products', pipeline: calibPhase });
  if (mainPhase.tasks.length) phases.push({ name: 'processing', pipeline: mainPhase });

  const calibCollection = calibrationCollectionOf(run);
  const attempt = {
    id: crypto.randomUUID(), run, host: os.hostname(), softwareVersion: options.softwareVersion, command: options.command ?? 'runPipeline',
    startedAt: new Date().toISOString(), endedAt: null, wallSeconds: null, expectedDatasets: {} as Record<string, number>,
    excluded: [] as ExcludedDataset[],
  };
  await repo.registry.recordRunAttempt(attempt);
  const types = pipelineDatasetTypes(pipeline);
  const pool = new WorkerPool(options.workers);
  const reports: QuantumReport[] = [];
  let certified = 0;
  try {
    for (const phase of phases) {
      const calibExists = (await repo.registry.getCollection(calibCollection)) !== undefined;
      const collections = phase.pipeline === mainPhase && calibExists ? [calibCollection, ...options.inputCollections] : [...options.inputCollections];
      const graph = await buildQuantumGraph(repo, phase.pipeline, {
        collections, outputRun: run, excludeRejected: options.excludeRejected === true, ...(options.where !== undefined ? { where: options.where } : {}),
      });
      for (const e of graph.excluded) if (!attempt.excluded.some((x) => x.datasetId === e.datasetId)) attempt.excluded.push(e);
      for (const node of graph.quanta) {
        if (node.noWork !== undefined) continue;
        for (const type of [...Object.values(node.outputs).map((o) => o.datasetType), types.get(node.label)!.log.name]) {
          attempt.expectedDatasets[type] = (attempt.expectedDatasets[type] ?? 0) + 1;
        }
      }
      await repo.registry.recordRunAttempt(attempt);
      options.events?.onPhase?.(phase.name, graph);
      const phaseReports = await executeGraph(graph, phase.pipeline, {
        repo, pool, run, softwareVersion: options.softwareVersion, retryFailed: options.retryFailed ?? false, events: options.events ?? {},
      });
      reports.push(...phaseReports);
      if (phase.pipeline === calibPhase) certified = await certify(repo, phase.pipeline, graph, phaseReports, run, calibCollection);
    }
  } finally {
    await pool.close();
    await repo.registry.recordRunAttempt({ ...attempt, endedAt: new Date().toISOString(), wallSeconds: (performance.now() - t0) / 1000 });
  }
  return {
    run,
    calibrationCollection: calibPhase.tasks.length ? calibCollection : null,
    certified,
    tasks: countOutcomes(pipeline, reports),
    reports,
    wallSeconds: (performance.now() - t0) / 1000,
  };
}
