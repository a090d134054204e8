/**
 * The command-line options that `config show`, `qgraph` and `run` share: which pipeline (file, subset,
 * -C files, -c overrides) and which input collections (a comma-separated list; by default the
 * `<instrument>/defaults` chain that `tessera ingest` makes, when the repository has one instrument).
 */
import { UsageError } from '../command.js';
import { loadPipeline } from '../executor/loadPipeline.js';
import type { PipelineDefinition } from '../../lib/pipeline/pipelineDefinition.js';
import type { Repository } from '../repository/repository.js';

export const PIPELINE_OPTIONS = {
  pipeline: { type: 'string' },
  subset: { type: 'string' },
  config: { type: 'string', short: 'c', multiple: true },
  'config-file': { type: 'string', short: 'C', multiple: true },
} as const;

export const PIPELINE_USAGE = [
  '--pipeline FILE   pipeline YAML (default: the package\'s pipelines/DRP.yaml)',
  '--subset NAME     only the tasks of this subset of the pipeline',
  '-C FILE           config overrides, a YAML mapping {label: {field: value}} (repeatable)',
  '-c label.field=value   one override, the value read as YAML (repeatable; applied after -C)',
];

export interface PipelineArgValues {
  pipeline?: string | undefined;
  subset?: string | undefined;
  config?: string[] | undefined;
  'config-file'?: string[] | undefined;
}

export function pipelineFromArgs(values: PipelineArgValues): PipelineDefinition {
  return loadPipeline({
    ...(values.pipeline !== undefined ? { pipelineFile: values.pipeline } : {}),
    ...(values.subset !== undefined ? { subset: values.subset } : {}),
    configFiles: values['config-file'] ?? [], overrides: values.config ?? [],
  });
}

/** `--input a,b`: the collections in order (undefined when absent or empty). */
export function collectionList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return items.length ? items : undefined;
}

/** The input collections: those given, else `<instrument>/defaults` of a one-instrument repository. */
export async function inputCollections(repo: Repository, text: string | undefined): Promise<string[]> {
  const given = collectionList(text);
  if (given) return given;
  const instruments = await repo.registry.dimensionRecords('instrument');
  if (instruments.length !== 1) throw new UsageError(`give --input: the repository has ${instruments.length} instruments, so there is no single <instrument>/defaults`);
  return [`${instruments[0]!.name}/defaults`];
}
