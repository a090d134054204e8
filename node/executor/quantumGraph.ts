/**
 * Quantum graph building (LSST pipe_base's QuantumGraph, built as AllDimensionsQuantumGraphBuilder does
 * from a pipeline, the registry and a data query, reduced): for each task in pipeline order, one quantum
 * per distinct value of the task's dimensions among its driving input (its first regular input
 * connection: datasets from the input collections, or outputs of an upstream task in the graph), each
 * with its inputs resolved and its outputs named.
 * - Data IDs are expanded with the exposure dimension record (observation_type, physical_filter, band,
 *   mjd) and the exposure's visit (visit_definition), so exposure-based outputs carry their visit and
 *   visit-based tasks (characterizeImage, calibrate) find them. `raw` inputs are selected by observation type per task (RAW_OBSERVATION_TYPES: buildBias takes
 *   bias raws, buildDark dark, buildFlat flat, isr science).
 * - A `multiple` input gathers every matching dataset over the extra dimensions (all bias raws of a
 *   detector), at least `minimum` of them. A `multiple` prerequisite over dimensions the quantum does not
 *   have (refCat shards, by sky cell) gets every dataset of its type: the graph holds no sky regions yet,
 *   so the task selects the shards that cover its detector.
 * - A prerequisite input comes from an upstream quantum of the same graph when one produces it for the
 *   data ID, else from the input collections: a calibration by validity at the quantum's MJD (the
 *   exposure's, or the earliest input's for a quantum without an exposure). An `optional` prerequisite
 *   that neither holds is left out (calibrate's camera, for images from elsewhere).
 * - A quantum whose required input is missing is kept as "no work" with the reason; its outputs feed
 *   nothing downstream. Nothing is read but the registry.
 * - Spatial join (LSST's region overlap): a task whose dimensions hold `patch` (makeWarp) takes inputs
 *   that have a visit and a detector but no patch (calexps) through each visit detector's region
 *   (visit_detector_region, from the raw's nominal WCS) and the patches of every registered tract that
 *   region overlaps (outer regions); a dataset without a region joins no patch.
 * - `--where` (node/repository/whereExpression.ts) filters the quanta by their expanded data IDs with
 *   three-valued logic: a comparison on a key the data ID lacks is unknown and does not exclude it (so
 *   `exposure = 1000` keeps the per-detector calibration quanta and restricts isr).
 * Ordering is deterministic: tasks in pipeline order, quanta and the datasets of a multiple input by
 * data ID (universe key order, numbers numerically), quantum ids a hash of label and data ID.
 */
import { activeConnections, type Connection } from '../../lib/pipeline/task.js';
import { canonicalJson } from '../../lib/pipeline/config.js';
import { sha256Hex } from '../../lib/pipeline/sha256.js';
import { effectiveConfigs, type PipelineDefinition } from '../../lib/pipeline/pipelineDefinition.js';
import { formatDataId, sortedKeys, type DataId, type DataIdValue, type DimensionRecord } from '../repository/dimensions.js';
import { RegistryLookupError, type DatasetRef, type ExcludedDataset, type Verdict } from '../repository/registry.js';
import type { Repository } from '../repository/repository.js';
import { parseWhere, type Literal, type WhereNode, type WhereOperand } from '../repository/whereExpression.js';
import { makeTract, patchesOverlappingRegion, regionFromJson, type Patch, type Point, type Tract } from '../../lib/skymap/index.js';

/** The exposure observation types whose raws each task reads (tasks not listed take every raw). */
export const RAW_OBSERVATION_TYPES: Readonly<Record<string, readonly string[]>> = {
  buildBias: ['bias'],
  buildDark: ['dark'],
  buildFlat: ['flat'],
  isr: ['science'],
};

/** An input of a quantum: a registered dataset, or an output of another quantum of the graph. */
export type QuantumInput =
  | { readonly datasetType: string; readonly dataId: DataId; readonly datasetId: string; readonly run: string }
  | { readonly datasetType: string; readonly dataId: DataId; readonly producer: string };

export interface QuantumOutputRef {
  readonly datasetType: string;
  readonly dataId: DataId;
}

export interface QuantumNode {
  /** Deterministic: sha256 of label and data ID, 16 hex digits. */
  readonly id: string;
  readonly label: string;
  readonly taskName: string;
  /** The task's dimensions. */
  readonly dataId: DataId;
  /** What the data ID implies (an exposure's band, physical_filter, visit, observation_type), for outputs' implied keys. */
  readonly implied: DataId;
  readonly configHash: string;
  /** Per input connection: one input, or a list for a multiple one. */
  readonly inputs: Readonly<Record<string, QuantumInput | readonly QuantumInput[]>>;
  readonly outputs: Readonly<Record<string, QuantumOutputRef>>;
  /** Present when the quantum has nothing to do: why (a required input is missing). */
  readonly noWork?: string;
}

export interface TaskSummary {
  readonly label: string;
  readonly taskName: string;
  readonly configHash: string;
  /** Quanta with work. */
  readonly quanta: number;
  readonly noWork: number;
  /** Input datasets of the quanta with work (each use counted). */
  readonly inputs: number;
  readonly outputs: number;
}

export interface QuantumGraph {
  readonly pipeline: string;
  readonly inputCollections: readonly string[];
  readonly outputRun: string | null;
  readonly where: string | null;
  readonly tasks: readonly TaskSummary[];
  readonly quanta: readonly QuantumNode[];
  /** Input datasets left out for a 'rejected' verdict (excludeRejected), each once. */
  readonly excluded: readonly ExcludedDataset[];
}

export interface BuildOptions {
  readonly collections: readonly string[];
  readonly outputRun?: string;
  readonly where?: string;
  /** Leave out input datasets whose latest verdict (Registry.verdicts) is 'rejected'. */
  readonly excludeRejected?: boolean;
}

/** A data ID with the exposure record's fields added (observation_type, physical_filter, band, mjd). */
type Expanded = Readonly<Record<string, DataIdValue>>;

interface Candidate {
  readonly datasetType: string;
  readonly dataId: DataId;
  readonly expanded: Expanded;
  readonly input: QuantumInput;
}

function compareValues(a: DataIdValue | undefined, b: DataIdValue | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a), sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Orders data IDs by their keys in universe order, numbers numerically. */
export function compareDataIds(a: DataId, b: DataId): number {
  const keys = sortedKeys({ ...a, ...b });
  for (const k of keys) {
    const c = compareValues(a[k], b[k]);
    if (c !== 0) return c;
  }
  return 0;
}

function project(dataId: Expanded, keys: readonly string[]): DataId | undefined {
  const out: Record<string, DataIdValue> = {};
  for (const k of keys) {
    const v = dataId[k];
    if (v === undefined) return undefined;
    out[k] = v;
  }
  const ordered: Record<string, DataIdValue> = {};
  for (const k of sortedKeys(out)) ordered[k] = out[k]!;
  return ordered;
}

/** True when every key of `quantum` that `dataset` also has agrees. */
function matches(quantum: Expanded, dataset: Expanded, keys: readonly string[]): boolean {
  return keys.every((k) => quantum[k] === undefined || dataset[k] === undefined || quantum[k] === dataset[k]);
}

function literal(o: WhereOperand, dataId: Expanded): Literal | undefined {
  return o.kind === 'key' ? dataId[o.name] : o.value;
}

/** Three-valued evaluation of a --where tree: undefined when it depends on a key the data ID lacks. */
export function evaluateWhere(node: WhereNode, dataId: Expanded): boolean | undefined {
  switch (node.kind) {
    case 'and': {
      const l = evaluateWhere(node.left, dataId), r = evaluateWhere(node.right, dataId);
      return l === false || r === false ? false : l === true && r === true ? true : undefined;
    }
    case 'or': {
      const l = evaluateWhere(node.left, dataId), r = evaluateWhere(node.right, dataId);
      return l === true || r === true ? true : l === false && r === false ? false : undefined;
    }
    case 'not': {
      const v = evaluateWhere(node.operand, dataId);
      return v === undefined ? undefined : !v;
    }
    case 'compare': {
      const l = literal(node.left, dataId), r = literal(node.right, dataId);
      if (l === undefined || r === undefined) return undefined;
      if (typeof l !== typeof r) return node.operator === '!=';
      switch (node.operator) {
        case '=': return l === r;
        case '!=': return l !== r;
        case '<': return l < r;
        case '<=': return l <= r;
        case '>': return l > r;
        case '>=': return l >= r;
      }
      return undefined;
    }
    case 'in': {
      const v = literal(node.operand, dataId);
      if (v === undefined) return undefined;
      const found = node.values.some((x) => x === v);
      return node.negated ? !found : found;
    }
  }
}

function quantumId(label: string, dataId: DataId): string {
  return sha256Hex(`${label}\u0000${canonicalJson(dataId)}`).slice(0, 16);
}

function outputKey(datasetType: string, dataId: DataId): string {
  return `${datasetType}\u0000${canonicalJson(dataId)}`;
}

/** Builds the quantum graph of `pipeline` over the repository's input collections. */
export async function buildQuantumGraph(repo: Repository, pipeline: PipelineDefinition, options: BuildOptions): Promise<QuantumGraph> {
  const registry = repo.registry;
  if (options.collections.length === 0) throw new RegistryLookupError('no input collections given');
  for (const name of options.collections) {
    if (!(await registry.getCollection(name))) throw new RegistryLookupError(`input collection '${name}' does not exist (collections: ${(await registry.listCollections()).map((c) => c.name).join(', ')})`);
  }
  if (options.outputRun !== undefined) {
    const existing = await registry.getCollection(options.outputRun);
    if (existing && existing.type !== 'RUN') throw new RegistryLookupError(`output '${options.outputRun}' is a ${existing.type} collection, not a RUN`);
  }
  const where = options.where === undefined ? undefined : parseWhere(options.where, await repo.knownDataIdKeys());

  const exposures = new Map<string, DimensionRecord>();
  for (const r of await registry.dimensionRecords('exposure')) exposures.set(`${r.instrument}\u0000${r.id}`, r);
  // The visit an exposure belongs to (one visit per exposure in the sim and ingest-raws: a one-snap visit).
  const visitOf = new Map<string, number | string>();
  for (const r of await registry.dimensionRecords('visit_definition')) visitOf.set(`${r.instrument}\u0000${r.exposure}`, r.visit as number | string);
  const expand = (dataId: DataId): Expanded => {
    if (dataId.instrument === undefined || dataId.exposure === undefined) return dataId;
    const key = `${dataId.instrument}\u0000${dataId.exposure}`;
    const record = exposures.get(key);
    if (!record) return dataId;
    const out: Record<string, DataIdValue> = { ...dataId };
    for (const k of ['observation_type', 'physical_filter', 'band', 'mjd'] as const) {
      const v = record[k];
      if (v !== null && v !== undefined && out[k] === undefined) out[k] = v;
    }
    const visit = visitOf.get(key);
    if (visit !== undefined && out.visit === undefined) out.visit = visit;
    return out;
  };

  const registered = new Set((await registry.listDatasetTypes()).map((t) => t.name));
  // Science leads' rejections: each dataset's latest verdict, when it is 'rejected'.
  const rejected = new Map<string, Verdict>();
  if (options.excludeRejected) {
    const latest = new Map<string, Verdict>();
    for (const v of await registry.verdicts()) latest.set(v.datasetId, v);
    for (const [id, v] of latest) if (v.verdict === 'rejected') rejected.set(id, v);
  }
  const excluded = new Map<string, ExcludedDataset>();
  /** Whether a found input is usable; a rejected one is recorded as excluded. */
  const usable = (ref: DatasetRef): boolean => {
    const v = rejected.get(ref.id);
    if (!v) return true;
    excluded.set(ref.id, { datasetId: ref.id, datasetType: ref.datasetType, dataId: ref.dataId, verdictId: v.id, reviewer: v.reviewer });
    return false;
  };
  const queried = new Map<string, DatasetRef[]>();
  const datasetsOf = async (datasetType: string): Promise<DatasetRef[]> => {
    if (!registered.has(datasetType)) return [];
    let refs = queried.get(datasetType);
    if (!refs) {
      refs = findFirst(await registry.queryDatasets({ datasetTypes: [datasetType], collections: options.collections }), options.collections).filter(usable);
      queried.set(datasetType, refs);
    }
    return refs;
  };

  // The spatial join: visit detector regions and the registered tracts, read when a task needs them.
  let spatialIndex: { regions: Map<string, Point[]>; tracts: { skymap: string; tract: Tract }[]; visits: Map<string, DimensionRecord> } | undefined;
  const patchesOf = new Map<string, { skymap: string; tract: number; patch: Patch }[]>();
  const joinPatches = async (candidates: readonly Candidate[]): Promise<Candidate[]> => {
    if (!spatialIndex) {
      const regions = new Map<string, Point[]>();
      for (const r of await registry.dimensionRecords('visit_detector_region')) {
        regions.set(`${r.instrument}\u0000${r.visit}\u0000${r.detector}`, regionFromJson(String(r.region), `visit_detector_region ${r.instrument} visit ${r.visit} detector ${r.detector}`));
      }
      const tracts = (await registry.dimensionRecords('tract')).map((r) => ({
        skymap: String(r.skymap),
        tract: makeTract({
          id: Number(r.id), centerRa: Number(r.ra), centerDec: Number(r.dec), pixelScaleArcsec: Number(r.pixel_scale_arcsec),
          width: Number(r.width), height: Number(r.height), patchInnerSize: Number(r.patch_inner_size), patchBorder: Number(r.patch_border),
        }),
      }));
      const visits = new Map((await registry.dimensionRecords('visit')).map((r) => [`${r.instrument}\u0000${r.id}`, r]));
      spatialIndex = { regions, tracts, visits };
    }
    const out: Candidate[] = [];
    for (const cand of candidates) {
      const { instrument, visit, detector } = cand.expanded;
      if (instrument === undefined || visit === undefined || detector === undefined) continue;
      const key = `${instrument}\u0000${visit}\u0000${detector}`;
      let overlaps = patchesOf.get(key);
      if (!overlaps) {
        const region = spatialIndex.regions.get(key);
        overlaps = region ? spatialIndex.tracts.flatMap((t) => patchesOverlappingRegion(t.tract, region).map((patch) => ({ skymap: t.skymap, tract: t.tract.id, patch }))) : [];
        patchesOf.set(key, overlaps);
      }
      // The visit's band and filter come along (a warp's data ID carries them; coadds are per band).
      const visitRecord = spatialIndex.visits.get(`${instrument}\u0000${visit}`);
      const implied: Record<string, DataIdValue> = {};
      for (const k of ['band', 'physical_filter'] as const) if (cand.expanded[k] === undefined && typeof visitRecord?.[k] === 'string') implied[k] = visitRecord[k] as string;
      for (const o of overlaps) out.push({ ...cand, expanded: { ...cand.expanded, ...implied, skymap: o.skymap, tract: o.tract, patch: o.patch.id } });
    }
    return out;
  };

  /** Outputs of quanta with work so far, by dataset type. */
  const produced = new Map<string, Candidate[]>();
  const quanta: QuantumNode[] = [];
  const summaries: TaskSummary[] = [];
  const configs = new Map(effectiveConfigs(pipeline).map((c) => [c.label, c]));

  for (const def of pipeline.tasks) {
    const effective = configs.get(def.label)!;
    const active = activeConnections(def.task, effective.config as object);
    const inputEntries = Object.entries(active.inputs);
    const regular = inputEntries.filter(([, c]) => !c.prerequisite);
    if (regular.length === 0) throw new RegistryLookupError(`${def.label}: the task has no regular input to find its quanta from`);

    const spatial = def.task.dimensions.includes('patch');
    const candidatesFor = async (connection: Connection): Promise<Candidate[]> => {
      const found = await datasetCandidates(connection);
      return spatial && !connection.dimensions.includes('patch') ? joinPatches(found) : found;
    };
    const datasetCandidates = async (connection: Connection): Promise<Candidate[]> => {
      const upstream = produced.get(connection.datasetType);
      if (upstream) return upstream;
      const types = connection.datasetType === 'raw' ? RAW_OBSERVATION_TYPES[def.taskName] : undefined;
      const out: Candidate[] = [];
      for (const ref of await datasetsOf(connection.datasetType)) {
        const expanded = expand(ref.dataId);
        if (types && !types.includes(String(expanded.observation_type))) continue;
        out.push({ datasetType: ref.datasetType, dataId: ref.dataId, expanded, input: { datasetType: ref.datasetType, dataId: ref.dataId, datasetId: ref.id, run: ref.run } });
      }
      return out.sort((a, b) => compareDataIds(a.dataId, b.dataId));
    };

    const regularCandidates = new Map<string, Candidate[]>();
    for (const [name, c] of regular) regularCandidates.set(name, await candidatesFor(c));

    // The quanta: distinct projections of the driving input's data IDs on the task's dimensions.
    const driving = regularCandidates.get(regular[0]![0])!;
    const found = new Map<string, { dataId: DataId; expanded: Expanded }>();
    for (const cand of driving) {
      const dataId = project(cand.expanded, def.task.dimensions);
      if (!dataId) continue;
      const key = canonicalJson(dataId);
      if (found.has(key)) continue;
      // The quantum's expanded data ID keeps what its dimensions imply (an exposure's filter and band).
      const expanded: Record<string, DataIdValue> = { ...expand(dataId) };
      if (dataId.physical_filter !== undefined && cand.expanded.band !== undefined) expanded.band = cand.expanded.band;
      // A warp's visit implies its filter and band: its data ID carries them (for --where and its path).
      if (spatial && dataId.visit !== undefined) {
        for (const k of ['band', 'physical_filter'] as const) if (expanded[k] === undefined && cand.expanded[k] !== undefined) expanded[k] = cand.expanded[k]!;
      }
      found.set(key, { dataId, expanded });
    }
    const dataIds = [...found.values()].filter((q) => !where || evaluateWhere(where, q.expanded) !== false).sort((a, b) => compareDataIds(a.dataId, b.dataId));

    let nQuanta = 0, nNoWork = 0, nInputs = 0, nOutputs = 0;
    for (const { dataId, expanded } of dataIds) {
      const id = quantumId(def.label, dataId);
      const inputs: Record<string, QuantumInput | readonly QuantumInput[]> = {};
      const problems: string[] = [];
      let timeMjd = typeof expanded.mjd === 'number' ? expanded.mjd : undefined;
      const keys = Object.keys(expanded).filter((k) => k !== 'mjd' && k !== 'observation_type');

      for (const [name, connection] of regular) {
        const all = regularCandidates.get(name)!.filter((c) => matches(expanded, c.expanded, keys));
        if (connection.multiple) {
          const minimum = connection.minimum ?? 1;
          if (all.length < minimum) problems.push(`${name}: ${all.length} ${connection.datasetType} dataset(s) match, at least ${minimum} needed`);
          inputs[name] = all.map((c) => c.input);
          if (timeMjd === undefined) {
            const times = all.map((c) => c.expanded.mjd).filter((t): t is number => typeof t === 'number');
            if (times.length) timeMjd = Math.min(...times);
          }
        } else if (all.length !== 1) {
          problems.push(`${name}: ${all.length === 0 ? 'no' : all.length} ${connection.datasetType} dataset${all.length === 1 ? '' : 's'} match ${formatDataId(dataId)}, exactly one needed`);
        } else inputs[name] = all[0]!.input;
      }

      for (const [name, connection] of inputEntries.filter(([, c]) => c.prerequisite)) {
        const lookup = project(expanded, connection.dimensions);
        if (!lookup && connection.multiple) {
          // A spatial prerequisite (reference catalogue shards by sky cell): the graph knows no regions, so
          // every dataset of the type in the input collections is given and the task selects its own.
          const all = await datasetsOf(connection.datasetType);
          if (all.length < (connection.minimum ?? 1)) problems.push(`${name}: no ${connection.datasetType} dataset in ${options.collections.join(', ')}`);
          inputs[name] = [...all].sort((a, b) => compareDataIds(a.dataId, b.dataId)).map((ref) => ({ datasetType: ref.datasetType, dataId: ref.dataId, datasetId: ref.id, run: ref.run }));
          continue;
        }
        if (!lookup) {
          problems.push(`${name}: the quantum's data ID does not give ${connection.dimensions.filter((d) => expanded[d] === undefined).join(', ')} for ${connection.datasetType}`);
          continue;
        }
        const upstream = produced.get(connection.datasetType)?.find((c) => canonicalJson(project(c.dataId, connection.dimensions) ?? {}) === canonicalJson(lookup));
        if (upstream) {
          inputs[name] = upstream.input;
          continue;
        }
        let ref: DatasetRef | undefined;
        try {
          ref = registered.has(connection.datasetType)
            ? await registry.findDataset(connection.datasetType, lookup, options.collections, connection.calibration && timeMjd !== undefined ? { timeMjd } : {})
            : undefined;
          if (ref && !usable(ref)) ref = undefined;
        } catch (err) {
          if (!(err instanceof RegistryLookupError)) throw err;
          problems.push(`${name}: ${err.message}`);
          continue;
        }
        if (ref) inputs[name] = { datasetType: ref.datasetType, dataId: ref.dataId, datasetId: ref.id, run: ref.run };
        else if (!connection.optional) {
          const at = connection.calibration && timeMjd !== undefined ? ` valid at MJD ${timeMjd}` : '';
          problems.push(`${name}: no ${connection.datasetType} ${formatDataId(lookup)}${at} in ${options.collections.join(', ')} nor from a task of the graph`);
        }
      }

      const outputs: Record<string, QuantumOutputRef> = {};
      for (const [name, connection] of Object.entries(active.outputs)) {
        if (connection.perInput !== undefined) {
          // One output per item of a multiple input: `name[k]`, its data ID the item's on the output's dimensions.
          const items = inputs[connection.perInput];
          (Array.isArray(items) ? items as readonly QuantumInput[] : []).forEach((item, k) => {
            const outId = project({ ...expanded, ...item.dataId }, connection.dimensions);
            if (!outId) throw new RegistryLookupError(`${def.label}: output '${name}' has dimensions ${connection.dimensions.join(', ')} that input ${formatDataId(item.dataId)} does not give`);
            outputs[`${name}[${k}]`] = { datasetType: connection.datasetType, dataId: outId };
          });
          continue;
        }
        const outId = project(expanded, connection.dimensions);
        if (!outId) throw new RegistryLookupError(`${def.label}: output '${name}' has dimensions ${connection.dimensions.join(', ')} that the quantum ${formatDataId(dataId)} does not give`);
        outputs[name] = { datasetType: connection.datasetType, dataId: outId };
      }

      const implied: Record<string, DataIdValue> = {};
      for (const [k, v] of Object.entries(expanded)) if (k !== 'mjd' && dataId[k] === undefined) implied[k] = v;
      const node: QuantumNode = { id, label: def.label, taskName: def.taskName, dataId, implied, configHash: effective.configHash, inputs, outputs, ...(problems.length ? { noWork: problems.join('; ') } : {}) };
      quanta.push(node);
      if (problems.length) {
        nNoWork++;
        continue;
      }
      nQuanta++;
      nInputs += Object.values(inputs).reduce((n, v) => n + (Array.isArray(v) ? v.length : 1), 0);
      for (const out of Object.values(outputs)) {
        nOutputs++;
        const list = produced.get(out.datasetType) ?? [];
        if (list.some((c) => outputKey(c.datasetType, c.dataId) === outputKey(out.datasetType, out.dataId))) {
          throw new RegistryLookupError(`${def.label}: ${out.datasetType} ${formatDataId(out.dataId)} would be written by two quanta`);
        }
        list.push({ datasetType: out.datasetType, dataId: out.dataId, expanded: { ...expanded, ...out.dataId }, input: { datasetType: out.datasetType, dataId: out.dataId, producer: id } });
        produced.set(out.datasetType, list);
      }
    }
    summaries.push({ label: def.label, taskName: def.taskName, configHash: effective.configHash, quanta: nQuanta, noWork: nNoWork, inputs: nInputs, outputs: nOutputs });
  }

  return {
    pipeline: pipeline.source,
    excluded: [...excluded.values()],
    inputCollections: [...options.collections],
    outputRun: options.outputRun ?? null,
    where: options.where ?? null,
    tasks: summaries,
    quanta,
  };
}

/**
 * Butler's find-first search: of the datasets with one data ID in RUN collections named in the search
 * path, only the one in the earliest such collection (a rerun's output shadows the run it read from).
 * Datasets found through other collections (chains, calibration collections with validity ranges) stay.
 */
export function findFirst(refs: readonly DatasetRef[], collections: readonly string[] | undefined): DatasetRef[] {
  if (!collections) return [...refs];
  const rank = (r: DatasetRef): number => collections.indexOf(r.run);
  const key = (r: DatasetRef): string => JSON.stringify(Object.entries(r.dataId).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const best = new Map<string, DatasetRef>();
  for (const r of refs) {
    if (rank(r) < 0) continue;
    const seen = best.get(key(r));
    if (!seen || rank(r) < rank(seen)) best.set(key(r), r);
  }
  return refs.filter((r) => rank(r) < 0 || best.get(key(r)) === r);
}
