/**
 * `tessera report REPO RUN [--json]`: DMTR-51's Tables 1-3 for a run (node/executor/runReport.ts):
 * datasets per type expected and found, wall-clock and CPU time, and per task the executions, CPU
 * minutes and peak memory.
 */
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { Repository } from '../repository/repository.js';
import { collectRunReport, formatRunReport } from '../executor/runReport.js';

export const reportCommand: Command = {
  name: 'report',
  summary: "a run's runtime metrics: datasets expected and found, wall and CPU time, per-task CPU and memory",
  usage: [
    'Usage: tessera report REPO RUN [--json]',
    '',
    "Prints DMTR-51's Tables 1-3 for RUN: datasets per type (expected from the run's quantum graph, found,",
    'verified), wall-clock and total CPU time, and per task the executions, user/system CPU minutes and peak memory.',
    '--json   print the report as JSON',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
    if (positionals.length !== 2) throw new UsageError('give a repository and a run');
    const repo = await Repository.open(positionals[0]!);
    try {
      const report = await collectRunReport(repo, positionals[1]!);
      console.log(values.json ? JSON.stringify(report, null, 2) : formatRunReport(report));
      return 0;
    } finally {
      await repo.close();
    }
  },
};
