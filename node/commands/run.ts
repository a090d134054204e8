/**
 * `tessera run REPO --output RUN [--pipeline FILE] [--subset NAME] [--input COLL[,COLL]] [--where Q]
 * [-j N] [-c label.field=value] [-C FILE] [--retry-failed]`: runs a pipeline over a repository
 * (node/executor/pipelineRun.ts): calibration products first, certified into `<RUN>/calib`, then the
 * rest, on N worker threads (default: every core), resuming whatever an earlier run already did. Shows a
 * progress bar on a terminal (plain lines otherwise), then per task the quanta done, resumed, without
 * work, failed, blocked and stale, and every failure with its data ID and reason. Exit status 0 when
 * nothing failed or is stale, 1 otherwise.
 */
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { Repository } from '../repository/repository.js';
import { checkCollectionName } from '../repository/registry.js';
import { formatDataId } from '../repository/dimensions.js';
import { WhereSyntaxError } from '../repository/whereExpression.js';
import { runPipeline, type PipelineRunSummary } from '../executor/pipelineRun.js';
import { defaultWorkerCount } from '../executor/workerPool.js';
import { QUANTUM_OUTCOMES } from '../executor/graphExecutor.js';
import { progress, type Progress } from '../progress.js';
import { readPackageVersion } from '../version.js';
import { inputCollections, PIPELINE_OPTIONS, PIPELINE_USAGE, pipelineFromArgs } from './pipelineArgs.js';

/** The end-of-run table: per task, its quanta by outcome; then every failure and stale quantum. */
export function formatRunSummary(summary: PipelineRunSummary): string {
  const header = ['task', ...QUANTUM_OUTCOMES];
  const rows = summary.tasks.map((t) => [t.label, ...QUANTUM_OUTCOMES.map((o) => String(t.counts[o]))]);
  const totals = ['total', ...QUANTUM_OUTCOMES.map((o) => String(summary.tasks.reduce((n, t) => n + t.counts[o], 0)))];
  const widths = header.map((h, i) => Math.max(h.length, ...[...rows, totals].map((r) => r[i]!.length)));
  const line = (row: string[]): string => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const lines = [line(header), ...rows.map(line), line(totals)];
  for (const r of summary.reports) {
    if (r.outcome === 'failed' || r.outcome === 'stale') lines.push(`${r.outcome}: ${r.label} ${formatDataId(r.dataId)}: ${r.message ?? ''}`);
  }
  if (summary.calibrationCollection) lines.push(`certified ${summary.certified} calibration products into ${summary.calibrationCollection}`);
  lines.push(`run ${summary.run} in ${summary.wallSeconds.toFixed(1)} s`);
  return lines.join('\n');
}

export const runCommand: Command = {
  name: 'run',
  summary: 'run a pipeline over a repository into a RUN collection (resumable, on worker threads)',
  usage: [
    'Usage: tessera run REPO --output RUN [--pipeline FILE] [--subset NAME] [--input COLL[,COLL...]] [--where EXPR]',
    '                   [-j N] [-c label.field=value] [-C FILE] [--retry-failed] [--exclude-rejected]',
    '',
    'Runs the pipeline: tasks that make calibration products first (certified into RUN/calib with their',
    'validity ranges), then the rest. Running it again resumes: a quantum whose outputs are registered,',
    'verify and were made from the same inputs with the same config is skipped.',
    '',
    ...PIPELINE_USAGE,
    '--output RUN      the RUN collection to write (created if absent)',
    '--input COLL,...  collections to search, in order (default: <instrument>/defaults of a one-instrument repository)',
    "--where EXPR      restricts the quanta by data ID (tessera query's language)",
    '-j N              worker threads, each with one wasm instance (default: every core)',
    '--retry-failed    run quanta that failed in an earlier attempt again',
    "--exclude-rejected  leave out inputs (e.g. calexps) whose latest verdict in the viewer is 'rejected'; the run",
    '                  attempt records each one left out (tessera report, tessera provenance)',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({
      args, allowPositionals: true,
      options: {
        ...PIPELINE_OPTIONS, input: { type: 'string' }, output: { type: 'string' }, where: { type: 'string' },
        jobs: { type: 'string', short: 'j' }, 'retry-failed': { type: 'boolean' }, 'exclude-rejected': { type: 'boolean' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one repository');
    if (values.output === undefined) throw new UsageError('give --output RUN');
    checkCollectionName(values.output);
    const workers = values.jobs === undefined ? defaultWorkerCount() : Number(values.jobs);
    if (!Number.isSafeInteger(workers) || workers < 1) throw new UsageError(`-j: expected a whole number >= 1, got '${values.jobs}'`);
    const pipeline = pipelineFromArgs(values);
    const repo = await Repository.open(positionals[0]!);
    let bar: Progress | undefined;
    let phaseTotal = 0;
    const perTask = new Map<string, number>();
    try {
      const collections = await inputCollections(repo, values.input);
      let summary: PipelineRunSummary;
      try {
        summary = await runPipeline({
          repo, pipeline, inputCollections: collections, outputRun: values.output, workers, retryFailed: values['retry-failed'] === true, excludeRejected: values['exclude-rejected'] === true,
          softwareVersion: readPackageVersion(), command: ['tessera', 'run', ...args].join(' '), ...(values.where !== undefined ? { where: values.where } : {}),
          events: {
            onPhase(phase, graph) {
              bar?.done(`${phaseTotal} quanta`);
              const total = graph.quanta.filter((q) => q.noWork === undefined).length;
              phaseTotal = total;
              console.log(`${phase}: ${total} quanta (${graph.tasks.map((t) => `${t.label} ${t.quanta}`).join(', ')}) on ${workers} worker${workers === 1 ? '' : 's'}`);
              perTask.clear();
              bar = progress(phase, total);
            },
            onQuantum(report, finished) {
              perTask.set(report.label, (perTask.get(report.label) ?? 0) + 1);
              bar?.update(finished, [...perTask].map(([label, n]) => `${label} ${n}`).join(', '));
            },
            onMessage(text) {
              process.stderr.write(`${text}\n`);
            },
          },
        });
      } catch (err) {
        if (err instanceof WhereSyntaxError) throw new UsageError(`--where: ${err.message}`);
        throw err;
      } finally {
        bar?.done(`${phaseTotal} quanta`);
      }
      console.log(formatRunSummary(summary));
      return summary.reports.some((r) => r.outcome === 'failed' || r.outcome === 'stale') ? 1 : 0;
    } finally {
      await repo.close();
    }
  },
};
