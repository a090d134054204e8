/**
 * `tessera config show [--pipeline FILE] [--subset NAME] [-c label.field=value] [-C FILE] [--json]`:
 * the effective config of every task of a pipeline (defaults, then the pipeline file's config, then -C
 * files, then -c overrides), with its configHash. --json prints [{label, task, configHash, config,
 * overrides}].
 */
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { effectiveConfigs } from '../../lib/pipeline/pipelineDefinition.js';
import { PIPELINE_OPTIONS, PIPELINE_USAGE, pipelineFromArgs } from './pipelineArgs.js';

function formatValue(value: unknown): string {
  return Array.isArray(value) ? `[${value.join(', ')}]` : String(value);
}

export const configShowCommand: Command = {
  name: 'config',
  summary: 'show the effective config of every task of a pipeline, with its hash',
  usage: [
    'Usage: tessera config show [--pipeline FILE] [--subset NAME] [-c label.field=value] [-C FILE] [--json]',
    '',
    ...PIPELINE_USAGE,
    '--json           print [{label, task, configHash, config, overrides}]',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({ args, allowPositionals: true, options: { ...PIPELINE_OPTIONS, json: { type: 'boolean' } } });
    if (positionals.length !== 1 || positionals[0] !== 'show') throw new UsageError(`expected 'config show'${positionals.length ? `, got 'config ${positionals.join(' ')}'` : ''}`);
    const pipeline = pipelineFromArgs(values);
    const configs = effectiveConfigs(pipeline);
    if (values.json) {
      console.log(JSON.stringify(configs.map((c) => ({ label: c.label, task: c.taskName, configHash: c.configHash, config: c.config, overrides: c.overrides })), null, 2));
      return 0;
    }
    console.log(`pipeline ${pipeline.source}${values.subset !== undefined ? ` (subset ${values.subset})` : ''}`);
    for (const c of configs) {
      console.log(`\n${c.label} (${c.taskName})  configHash ${c.configHash}`);
      const width = Math.max(...Object.keys(c.config).map((k) => k.length));
      for (const [field, value] of Object.entries(c.config)) {
        console.log(`  ${field.padEnd(width)}  ${formatValue(value)}${Object.prototype.hasOwnProperty.call(c.overrides, field) ? '   (set)' : ''}`);
      }
    }
    return 0;
  },
};
