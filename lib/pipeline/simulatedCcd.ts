/**
 * Single-frame processing of one simulated CCD, all in memory: the pipeline running in a web page
 * (issue 7's outreach page; web/kernelWorker.ts) or anywhere else. simulateSurvey with `only` makes
 * the detector's calibration raws, its raw, the camera and the reference catalogue; then buildBias,
 * buildDark, buildFlat, isr, characterizeImage and calibrate run through runQuantumOnBytes with the
 * pipeline's configs (pipelines/DRP.yaml's), each input list in data-ID order, as the executor runs
 * them for `tessera sim` + `tessera run`. So every dataset, `src` included, is byte-identical to the
 * file the batch pipeline writes for that seed, visit and detector (tests/pipeline/simulated-ccd.test.ts
 * in Node, tests/e2e/process-in-browser.test.ts in Chromium).
 */
import type { Tessera } from '../wasm/loader.js';
import { simulateSurvey } from '../sim/survey.js';
import { defaultSkyModel } from '../sim/skyModel.js';
import type { SimConfig } from '../sim/presets.js';
import type { DataId, InputRef } from './errors.js';
import { memoryLogger, type LogEntry } from './logger.js';
import { effectiveConfigs, type PipelineDefinition } from './pipelineDefinition.js';
import { runQuantumOnBytes, type InputBytes } from './quantumOnBytes.js';
import { getTask } from './tasks.js';

/** The steps, in order, as progress reports name them. */
export const SIMULATED_CCD_STEPS = ['simulate', 'buildBias', 'buildDark', 'buildFlat', 'isr', 'characterizeImage', 'calibrate'] as const;
export type SimulatedCcdStep = (typeof SIMULATED_CCD_STEPS)[number];

export interface SimulatedCcdProgress {
  step: SimulatedCcdStep;
  /** Steps finished before this one, of SIMULATED_CCD_STEPS.length. */
  index: number;
  /** Milliseconds the previous step took (undefined for the first). */
  previousMs?: number;
}

export interface SimulatedCcdResult {
  /** Every dataset made, by dataset type (raw, bias, dark, flat, postISRCCD, icExp, icSrc, icExpBackground, calexp, calexpBackground, src, srcMatch). */
  datasets: Record<string, Uint8Array>;
  /** The data ID of the processed raw (instrument, exposure, visit, detector, band, physical_filter). */
  dataId: DataId;
  /** Milliseconds per step. */
  timings: Record<SimulatedCcdStep, number>;
  /** The tasks' log entries, step by step. */
  log: { step: SimulatedCcdStep; entries: LogEntry[] }[];
}

interface Held { bytes: Uint8Array; dataId: DataId; datasetType: string }

export async function processSimulatedCcd(tessera: Tessera, config: SimConfig, pipeline: PipelineDefinition, which: { visit: number; detector: number },
  onProgress?: (p: SimulatedCcdProgress) => void | Promise<void>): Promise<SimulatedCcdResult> {
  const timings = {} as Record<SimulatedCcdStep, number>;
  const log: SimulatedCcdResult['log'] = [];
  let last: { step: SimulatedCcdStep; start: number } | undefined;
  const begin = async (step: SimulatedCcdStep): Promise<void> => {
    const now = performance.now();
    if (last) timings[last.step] = now - last.start;
    await onProgress?.({ step, index: SIMULATED_CCD_STEPS.indexOf(step), ...(last ? { previousMs: now - last.start } : {}) });
    last = { step, start: performance.now() };
  };

  await begin('simulate');
  const files: Held[] = [];
  for (const file of simulateSurvey(config, tessera, defaultSkyModel(), { only: which })) {
    files.push({ bytes: file.bytes, dataId: file.entry.dataId, datasetType: file.entry.datasetType });
  }
  const science = files.find((f) => f.datasetType === 'raw' && f.dataId.observation_type === 'science');
  if (!science) throw new Error(`the simulation made no raw for visit ${which.visit}, detector ${which.detector}`);
  const dataId: DataId = Object.fromEntries(Object.entries(science.dataId).filter(([key]) => key !== 'observation_type'));
  const camera = files.find((f) => f.datasetType === 'camera')!;
  const byExposure = (a: Held, b: Held): number => Number(a.dataId.exposure) - Number(b.dataId.exposure);
  const raws = (type: string): Held[] => files.filter((f) => f.datasetType === 'raw' && f.dataId.observation_type === type).sort(byExposure);
  const refCats = files.filter((f) => f.datasetType === 'refCat').sort((a, b) => Number(a.dataId.htm) - Number(b.dataId.htm));

  const configs = new Map(effectiveConfigs(pipeline).map((c) => [c.taskName, c.config]));
  const made: Record<string, Held> = {};
  const input = (held: Held, storageClass: string): InputBytes => {
    const ref: InputRef = { datasetType: held.datasetType, dataId: held.dataId };
    return { bytes: held.bytes, storageClass, ref };
  };
  /** Runs `taskName` on the given inputs (connection -> datasets); its outputs join `made` by dataset type. */
  const run = async (taskName: SimulatedCcdStep, quantum: DataId, inputs: Record<string, Held | Held[]>): Promise<void> => {
    await begin(taskName);
    const task = getTask(taskName);
    const config = configs.get(taskName);
    if (!config) throw new Error(`${pipeline.source}: the pipeline has no ${taskName} task`);
    const connections = task.connections as { inputs: Record<string, { storageClass: string }>; outputs: Record<string, { storageClass: string; datasetType: string }> };
    const bytesIn: Record<string, InputBytes | InputBytes[]> = {};
    for (const [name, value] of Object.entries(inputs)) {
      const storageClass = connections.inputs[name]!.storageClass;
      bytesIn[name] = Array.isArray(value) ? value.map((h) => input(h, storageClass)) : input(value, storageClass);
    }
    const outputs = Object.fromEntries(Object.entries(connections.outputs).map(([name, c]) => [name, { storageClass: c.storageClass, name: `${c.datasetType} ${JSON.stringify(quantum)}` }]));
    const logger = memoryLogger();
    const encoded = await runQuantumOnBytes({ taskName, dataId: quantum, config, inputs: bytesIn, outputs }, { tessera, log: logger });
    log.push({ step: taskName, entries: logger.entries });
    for (const [name, bytes] of Object.entries(encoded)) {
      const datasetType = connections.outputs[name]!.datasetType;
      made[datasetType] = { bytes, dataId: quantum, datasetType };
    }
  };

  const detectorId: DataId = { instrument: dataId.instrument!, detector: dataId.detector! };
  await run('buildBias', detectorId, { inputExps: raws('bias'), camera });
  await run('buildDark', detectorId, { inputExps: raws('dark'), camera, bias: made.bias! });
  await run('buildFlat', { ...detectorId, physical_filter: dataId.physical_filter! }, { inputExps: raws('flat'), camera, bias: made.bias!, dark: made.dark! });
  const isrConfig = configs.get('isr') ?? {};
  await run('isr', dataId, {
    ccdExposure: science, camera,
    ...(isrConfig.doBias !== false ? { bias: made.bias! } : {}), ...(isrConfig.doDark !== false ? { dark: made.dark! } : {}), ...(isrConfig.doFlat !== false ? { flat: made.flat! } : {}),
  });
  await run('characterizeImage', dataId, { exposure: made.postISRCCD! });
  await run('calibrate', dataId, { exposure: made.icExp!, background: made.icExpBackground!, icSourceCat: made.icSrc!, refCat: refCats, camera });
  timings.calibrate = performance.now() - last!.start;

  const datasets: Record<string, Uint8Array> = { raw: science.bytes };
  for (const [type, held] of Object.entries(made)) datasets[type] = held.bytes;
  return { datasets, dataId, timings, log };
}
