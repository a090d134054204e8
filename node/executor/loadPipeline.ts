/**
 * Reads a pipeline for the command line (`qgraph`, `config show`): the YAML file (default: the
 * package's pipelines/DRP.yaml), an optional subset, then the `-C FILE` config files in order and the
 * `-c label.field=value` overrides in order on top (lib/pipeline/pipelineDefinition.ts validates each).
 * A file that cannot be read is an error naming it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { applyConfigFile, applyConfigOverride, parsePipeline, selectSubset, type PipelineDefinition } from '../../lib/pipeline/pipelineDefinition.js';
import { packageRoot } from '../packageRoot.js';

export interface PipelineOptions {
  readonly pipelineFile?: string;
  readonly subset?: string;
  /** `-C` files, applied in order. */
  readonly configFiles?: readonly string[];
  /** `-c label.field=value`, applied in order after the files. */
  readonly overrides?: readonly string[];
}

/** The pipeline shipped with the package. */
export function defaultPipelineFile(): string {
  return path.join(packageRoot(), 'pipelines', 'DRP.yaml');
}

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read the ${what} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

export function loadPipeline(options: PipelineOptions): PipelineDefinition {
  const file = options.pipelineFile ?? defaultPipelineFile();
  let pipeline = parsePipeline(readText(file, 'pipeline file'), file);
  if (options.subset !== undefined) pipeline = selectSubset(pipeline, options.subset);
  for (const configFile of options.configFiles ?? []) pipeline = applyConfigFile(pipeline, readText(configFile, 'config file'), configFile);
  for (const override of options.overrides ?? []) pipeline = applyConfigOverride(pipeline, override);
  return pipeline;
}
