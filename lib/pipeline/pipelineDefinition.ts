/**
 * Pipeline definitions (LSST pipe_base's Pipeline YAML, reduced): a YAML document with
 *   description: text
 *   tasks:   {label: {class: taskName, config: {field: value}}}   (a label may also map straight to a task name)
 *   subsets: {name: {subset: [label, ...], description: text}}
 * `parsePipeline` reads and validates one (unknown task, unknown or invalid config field, unknown subset
 * label, a label reused as a subset name: a PipelineError naming the source file and the key path, e.g.
 * `DRP.yaml: tasks.isr.config.doBias: expected true or false, got 3`). Config overrides go on top:
 * `-c label.field=value` strings (`applyConfigOverride`, the value read as a YAML scalar or flow list) and
 * `-C FILE` YAML documents of {label: {field: value}} (`applyConfigFile`), each checked by validateConfig.
 * `selectSubset` keeps a subset's tasks; `orderTasks` puts the tasks in dependency order (a task after
 * every task whose outputs it reads, the file's order otherwise); `effectiveConfigs` gives each task's
 * frozen config and its configHash. Everything here is pure: the caller reads the files.
 */
import { configHash, validateConfig } from './config.js';
import { ConfigError } from './errors.js';
import { activeConnections, type AnyTask } from './task.js';
import { getTask, taskNames } from './tasks.js';
import { parseYaml, YamlError, type YamlMapping, type YamlValue } from '../sim/yamlSubset.js';

export interface PipelineTaskDef {
  readonly label: string;
  readonly taskName: string;
  readonly task: AnyTask;
  /** Config overrides on the task's defaults (from the pipeline file, then -C files, then -c strings). */
  readonly overrides: Readonly<Record<string, unknown>>;
}

export interface PipelineSubset {
  readonly labels: readonly string[];
  readonly description: string;
}

export interface PipelineDefinition {
  /** Where it was read from (a file path), for messages. */
  readonly source: string;
  readonly description: string;
  /** In dependency order (see orderTasks). */
  readonly tasks: readonly PipelineTaskDef[];
  readonly subsets: Readonly<Record<string, PipelineSubset>>;
}

export interface EffectiveTaskConfig {
  readonly label: string;
  readonly taskName: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly configHash: string;
  /** The fields set away from the defaults' source (pipeline file or overrides). */
  readonly overrides: Readonly<Record<string, unknown>>;
}

/** A pipeline file or override that is wrong; the message names the source and key path. */
export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  constructor(readonly source: string, readonly keyPath: string, readonly problem: string) {
    super(`${source}: ${keyPath ? `${keyPath}: ` : ''}${problem}`);
  }
}

const LABEL = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isMapping(value: YamlValue | undefined): value is YamlMapping {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value);
}

function describe(value: YamlValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (isMapping(value)) return 'a mapping';
  return JSON.stringify(value);
}

function readYaml(text: string, source: string): YamlValue {
  try {
    return parseYaml(text, source);
  } catch (err) {
    if (err instanceof YamlError) throw new PipelineError(source, '', `line ${err.line}: ${err.problem}`);
    throw err;
  }
}

/** Validates `overrides` for `task`, reporting a problem at `keyPath`.field of `source`. */
function checkOverrides(task: AnyTask, overrides: Record<string, unknown>, source: string, keyPath: string, label: string): void {
  try {
    validateConfig(task, overrides);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const field = err.field.startsWith(`${task.name}.`) ? err.field.slice(task.name.length + 1) : err.field;
    throw new PipelineError(source, keyPath ? `${keyPath}.${field}` : `${label}.${field}`, err.problem);
  }
}

/** Parses and validates a pipeline YAML document. */
export function parsePipeline(text: string, source: string): PipelineDefinition {
  const doc = readYaml(text, source);
  if (!isMapping(doc)) throw new PipelineError(source, '', `expected a mapping with 'description', 'tasks' and 'subsets', got ${describe(doc)}`);
  for (const key of Object.keys(doc)) {
    if (!['description', 'tasks', 'subsets'].includes(key)) throw new PipelineError(source, key, "unknown key (a pipeline has 'description', 'tasks' and 'subsets')");
  }
  const description = doc.description ?? '';
  if (typeof description !== 'string') throw new PipelineError(source, 'description', `expected text, got ${describe(description)}`);
  if (!isMapping(doc.tasks) || Object.keys(doc.tasks).length === 0) throw new PipelineError(source, 'tasks', `expected a mapping of task labels, got ${describe(doc.tasks)}`);

  const tasks: PipelineTaskDef[] = [];
  for (const [label, spec] of Object.entries(doc.tasks)) {
    const at = `tasks.${label}`;
    if (!LABEL.test(label)) throw new PipelineError(source, at, 'a task label is a name of letters, digits and _');
    let taskName: YamlValue | undefined;
    let config: YamlValue | undefined = {};
    if (typeof spec === 'string') taskName = spec;
    else if (isMapping(spec)) {
      for (const key of Object.keys(spec)) if (key !== 'class' && key !== 'config') throw new PipelineError(source, `${at}.${key}`, "unknown key (a task has 'class' and 'config')");
      taskName = spec.class;
      config = spec.config ?? {};
    } else throw new PipelineError(source, at, `expected a task name or {class, config}, got ${describe(spec)}`);
    if (typeof taskName !== 'string') throw new PipelineError(source, `${at}.class`, `expected a task name, got ${describe(taskName)}`);
    if (!taskNames().includes(taskName)) throw new PipelineError(source, `${at}.class`, `unknown task '${taskName}' (known tasks: ${taskNames().join(', ')})`);
    if (!isMapping(config)) throw new PipelineError(source, `${at}.config`, `expected a mapping of field to value, got ${describe(config)}`);
    const task = getTask(taskName);
    const overrides = { ...config } as Record<string, unknown>;
    checkOverrides(task, overrides, source, `${at}.config`, label);
    tasks.push({ label, taskName, task, overrides });
  }

  const subsets: Record<string, PipelineSubset> = {};
  const labels = new Set(tasks.map((t) => t.label));
  if (doc.subsets !== undefined && doc.subsets !== null) {
    if (!isMapping(doc.subsets)) throw new PipelineError(source, 'subsets', `expected a mapping of subset names, got ${describe(doc.subsets)}`);
    for (const [name, spec] of Object.entries(doc.subsets)) {
      const at = `subsets.${name}`;
      if (labels.has(name)) throw new PipelineError(source, at, `'${name}' is already a task label`);
      let members: YamlValue | undefined;
      let text: YamlValue | undefined = '';
      if (Array.isArray(spec)) members = spec;
      else if (isMapping(spec)) {
        for (const key of Object.keys(spec)) if (key !== 'subset' && key !== 'description') throw new PipelineError(source, `${at}.${key}`, "unknown key (a subset has 'subset' and 'description')");
        members = spec.subset;
        text = spec.description ?? '';
      } else throw new PipelineError(source, at, `expected {subset: [labels], description}, got ${describe(spec)}`);
      if (!Array.isArray(members) || members.length === 0) throw new PipelineError(source, `${at}.subset`, `expected a non-empty list of task labels, got ${describe(members)}`);
      if (typeof text !== 'string') throw new PipelineError(source, `${at}.description`, `expected text, got ${describe(text)}`);
      members.forEach((m, i) => {
        if (typeof m !== 'string' || !labels.has(m)) throw new PipelineError(source, `${at}.subset[${i}]`, `unknown task label ${describe(m)} (labels: ${[...labels].join(', ')})`);
      });
      subsets[name] = { labels: [...new Set(members as string[])], description: text };
    }
  }
  return { source, description, tasks: orderTasks(tasks, source), subsets };
}

/**
 * The tasks in dependency order: a task comes after every task that produces a dataset type it reads
 * (by its active connections), ties kept in the given order. A cycle is a PipelineError.
 */
export function orderTasks(tasks: readonly PipelineTaskDef[], source: string): PipelineTaskDef[] {
  const io = tasks.map((t) => {
    const active = activeConnections(t.task, validateConfig(t.task, t.overrides));
    return { inputs: new Set(Object.values(active.inputs).map((c) => c.datasetType)), outputs: new Set(Object.values(active.outputs).map((c) => c.datasetType)) };
  });
  const ordered: PipelineTaskDef[] = [];
  const done = new Set<number>();
  while (ordered.length < tasks.length) {
    const next = tasks.findIndex((_, i) => !done.has(i) && tasks.every((__, j) => j === i || done.has(j) || ![...io[j]!.outputs].some((d) => io[i]!.inputs.has(d))));
    if (next < 0) {
      const left = tasks.filter((_, i) => !done.has(i)).map((t) => t.label);
      throw new PipelineError(source, 'tasks', `the tasks ${left.join(', ')} read each other's outputs (a cycle)`);
    }
    done.add(next);
    ordered.push(tasks[next]!);
  }
  return ordered;
}

/** The pipeline reduced to one subset's tasks (still in dependency order). */
export function selectSubset(pipeline: PipelineDefinition, name: string): PipelineDefinition {
  const subset = pipeline.subsets[name];
  if (!subset) {
    const known = Object.keys(pipeline.subsets);
    throw new PipelineError(pipeline.source, `subsets.${name}`, `no such subset (subsets: ${known.length ? known.join(', ') : 'none'})`);
  }
  return { ...pipeline, tasks: pipeline.tasks.filter((t) => subset.labels.includes(t.label)) };
}

function withOverrides(pipeline: PipelineDefinition, label: string, extra: Record<string, unknown>, source: string, keyPath: string): PipelineDefinition {
  const def = pipeline.tasks.find((t) => t.label === label);
  if (!def) throw new PipelineError(source, keyPath, `no task labelled '${label}' in ${pipeline.source} (labels: ${pipeline.tasks.map((t) => t.label).join(', ')})`);
  const overrides = { ...def.overrides, ...extra };
  checkOverrides(def.task, overrides, source, keyPath, label);
  return { ...pipeline, tasks: pipeline.tasks.map((t) => (t === def ? { ...t, overrides } : t)) };
}

/** Applies one `-c label.field=value` override; the value is read as YAML (`true`, `3`, `[SAT, BAD]`, `null`). */
export function applyConfigOverride(pipeline: PipelineDefinition, text: string): PipelineDefinition {
  const source = `-c ${text}`;
  const match = /^([^.=\s]+)\.([^=\s]+)=(.*)$/s.exec(text);
  if (!match) throw new PipelineError(source, '', 'expected label.field=value');
  const [, label, field, valueText] = match as unknown as [string, string, string, string];
  const value = valueText.trim() === '' ? '' : readYaml(valueText, source);
  if (isMapping(value)) throw new PipelineError(source, `${label}.${field}`, 'a config value is a scalar or a list, not a mapping');
  return withOverrides(pipeline, label, { [field]: value }, source, '');
}

/** Applies a `-C FILE` document: {label: {field: value}}. */
export function applyConfigFile(pipeline: PipelineDefinition, text: string, source: string): PipelineDefinition {
  const doc = readYaml(text, source);
  if (doc === null) return pipeline;
  if (!isMapping(doc)) throw new PipelineError(source, '', `expected a mapping of task label to {field: value}, got ${describe(doc)}`);
  let out = pipeline;
  for (const [label, fields] of Object.entries(doc)) {
    if (!isMapping(fields)) throw new PipelineError(source, label, `expected a mapping of field to value, got ${describe(fields)}`);
    out = withOverrides(out, label, fields as Record<string, unknown>, source, label);
  }
  return out;
}

/** Each task's effective config (defaults + overrides, validated and frozen) and its hash, in pipeline order. */
export function effectiveConfigs(pipeline: PipelineDefinition): EffectiveTaskConfig[] {
  return pipeline.tasks.map((t) => {
    const config = validateConfig(t.task, t.overrides) as unknown as Readonly<Record<string, unknown>>;
    return { label: t.label, taskName: t.taskName, config, configHash: configHash(config), overrides: t.overrides };
  });
}
