/**
 * `tessera qgraph REPO [--pipeline FILE] [--subset NAME] --input COLL[,COLL] [--output RUN] [--where Q]
 * [-c label.field=value] [-C FILE] [--json]`: builds the quantum graph of a pipeline over a repository
 * (node/executor/quantumGraph.ts) and prints, per task, its quanta, no-work quanta, inputs and outputs,
 * and why each no-work quantum has nothing to do; --json prints the whole graph. --input defaults to
 * `<instrument>/defaults` when the repository has exactly one instrument.
 */
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { Repository } from '../repository/repository.js';
import { checkCollectionName } from '../repository/registry.js';
import { formatDataId } from '../repository/dimensions.js';
import { WhereSyntaxError } from '../repository/whereExpression.js';
import { buildQuantumGraph } from '../executor/quantumGraph.js';
import { inputCollections, PIPELINE_OPTIONS, PIPELINE_USAGE, pipelineFromArgs } from './pipelineArgs.js';

export const qgraphCommand: Command = {
  name: 'qgraph',
  summary: 'build the quantum graph of a pipeline over a repository and summarise it',
  usage: [
    'Usage: tessera qgraph REPO [--pipeline FILE] [--subset NAME] [--input COLL[,COLL...]] [--output RUN]',
    '                      [--where EXPR] [-c label.field=value] [-C FILE] [--json]',
    '',
    ...PIPELINE_USAGE,
    '--input COLL,...  collections to search, in order (default: <instrument>/defaults of a one-instrument repository)',
    '--output RUN      the RUN collection the outputs would be written to (recorded in the graph)',
    "--where EXPR      restricts the quanta by data ID (tessera query's language); a key a quantum's data ID",
    "                  lacks does not exclude it, e.g. --where \"exposure = 1000\" keeps the calibration quanta",
    '--json            print the graph: {pipeline, inputCollections, outputRun, where, tasks, quanta}',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({
      args, allowPositionals: true,
      options: { ...PIPELINE_OPTIONS, input: { type: 'string' }, output: { type: 'string' }, where: { type: 'string' }, json: { type: 'boolean' } },
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one repository');
    const pipeline = pipelineFromArgs(values);
    if (values.output !== undefined) checkCollectionName(values.output);
    const repo = await Repository.open(positionals[0]!);
    try {
      const collections = await inputCollections(repo, values.input);
      let graph;
      try {
        graph = await buildQuantumGraph(repo, pipeline, { collections, ...(values.output !== undefined ? { outputRun: values.output } : {}), ...(values.where !== undefined ? { where: values.where } : {}) });
      } catch (err) {
        if (err instanceof WhereSyntaxError) throw new UsageError(`--where: ${err.message}`);
        throw err;
      }
      if (values.json) {
        console.log(JSON.stringify(graph, null, 2));
        return 0;
      }
      console.log(`pipeline ${graph.pipeline}${values.subset !== undefined ? ` (subset ${values.subset})` : ''}; inputs ${graph.inputCollections.join(', ')}${graph.outputRun ? `; output ${graph.outputRun}` : ''}`);
      const header = ['task', 'class', 'quanta', 'no work', 'inputs', 'outputs', 'config hash'];
      const rows = graph.tasks.map((t) => [t.label, t.taskName, String(t.quanta), String(t.noWork), String(t.inputs), String(t.outputs), t.configHash.slice(0, 12)]);
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      const line = (row: string[]): string => row.map((cell, i) => (i >= 2 && i <= 5 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
      console.log(line(header));
      for (const row of rows) console.log(line(row));
      const noWork = graph.quanta.filter((q) => q.noWork !== undefined);
      for (const q of noWork) console.log(`no work: ${q.label} ${formatDataId(q.dataId)}: ${q.noWork}`);
      console.log(`${graph.quanta.length - noWork.length} quanta with work, ${noWork.length} without`);
      return 0;
    } finally {
      await repo.close();
    }
  },
};
