/**
 * A run's runtime metrics, as DMTR-51's Appendix A reports a reprocessing:
 * - Table 1: datasets per type, expected (from the quantum graphs of the run's latest attempt) against
 *   found (registered in the run), and how many of those are non-empty files that verify (size, sha256);
 * - Table 2: wall-clock time (summed over the run's attempts) and the total user and system CPU time of
 *   the quanta (each measured on its worker thread);
 * - Table 3: per task, executions (quanta that ran: succeeded or failed), user and system CPU minutes,
 *   the largest wasm memory of a worker running it, and the largest process RSS (shared by the
 *   process's workers, so an upper bound for the task).
 */
import type { Repository } from '../repository/repository.js';
import { RegistryLookupError, type ExcludedDataset } from '../repository/registry.js';
import { formatDataId } from '../repository/dimensions.js';

export interface DatasetCountRow {
  readonly datasetType: string;
  readonly expected: number | null;
  readonly found: number;
  readonly verified: number;
}

export interface TaskMetricsRow {
  readonly task: string;
  readonly executions: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly userMinutes: number;
  readonly systemMinutes: number;
  readonly maxWasmMemoryBytes: number | null;
  readonly maxProcessRssBytes: number | null;
}

export interface RunReport {
  readonly run: string;
  readonly attempts: number;
  readonly datasets: DatasetCountRow[];
  readonly wallSeconds: number;
  readonly userCpuSeconds: number;
  readonly systemCpuSeconds: number;
  readonly tasks: TaskMetricsRow[];
  /** Inputs the latest attempt left out for a 'rejected' verdict (tessera run --exclude-rejected). */
  readonly excluded: readonly ExcludedDataset[];
}

export async function collectRunReport(repo: Repository, run: string): Promise<RunReport> {
  const collection = await repo.registry.getCollection(run);
  if (!collection) throw new RegistryLookupError(`no collection '${run}'`);
  if (collection.type !== 'RUN') throw new RegistryLookupError(`'${run}' is a ${collection.type} collection, not a RUN`);
  const attempts = await repo.registry.runAttempts(run);
  const expected = attempts.length ? attempts[attempts.length - 1]!.expectedDatasets : {};
  const refs = await repo.registry.queryDatasets({ collections: [run] });
  const inRun = refs.filter((r) => r.run === run);
  const problems = new Set((await repo.verify(inRun)).map((p) => p.ref.id));
  const types = [...new Set([...Object.keys(expected), ...inRun.map((r) => r.datasetType)])].sort();
  const datasets = types.map((t) => {
    const mine = inRun.filter((r) => r.datasetType === t);
    return { datasetType: t, expected: expected[t] ?? null, found: mine.length, verified: mine.filter((r) => r.size > 0 && !problems.has(r.id)).length };
  });

  const quanta = await repo.registry.quantaInRun(run);
  const labels = [...new Set(quanta.map((q) => q.task))];
  const tasks = labels.map((task) => {
    const ran = quanta.filter((q) => q.task === task && (q.status === 'succeeded' || q.status === 'failed'));
    const max = (values: (number | null)[]): number | null => {
      const known = values.filter((v): v is number => v !== null);
      return known.length ? Math.max(...known) : null;
    };
    return {
      task, executions: ran.length, succeeded: ran.filter((q) => q.status === 'succeeded').length, failed: ran.filter((q) => q.status === 'failed').length,
      userMinutes: ran.reduce((s, q) => s + (q.threadCpuUserSeconds ?? 0), 0) / 60,
      systemMinutes: ran.reduce((s, q) => s + (q.threadCpuSystemSeconds ?? 0), 0) / 60,
      maxWasmMemoryBytes: max(ran.map((q) => q.wasmMemoryPeakBytes)),
      maxProcessRssBytes: max(ran.map((q) => q.rssPeakBytes)),
    };
  });
  return {
    run, attempts: attempts.length, datasets,
    wallSeconds: attempts.reduce((s, a) => s + (a.wallSeconds ?? 0), 0),
    userCpuSeconds: tasks.reduce((s, t) => s + t.userMinutes * 60, 0),
    systemCpuSeconds: tasks.reduce((s, t) => s + t.systemMinutes * 60, 0),
    tasks,
    excluded: attempts.length ? attempts[attempts.length - 1]!.excluded : [],
  };
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (row: string[]): string => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)];
}

const mb = (bytes: number | null): string => (bytes === null ? '-' : (bytes / 2 ** 20).toFixed(1));

export function formatRunReport(r: RunReport): string {
  const totals = r.datasets.reduce((t, d) => ({ expected: t.expected + (d.expected ?? 0), found: t.found + d.found, verified: t.verified + d.verified }), { expected: 0, found: 0, verified: 0 });
  return [
    `Table 1: datasets in run ${r.run} (expected from the quantum graph of its latest attempt; verified = non-empty, size and sha256 match)`,
    ...table(['dataset type', 'expected', 'found', 'verified'], [
      ...r.datasets.map((d) => [d.datasetType, d.expected === null ? '-' : String(d.expected), String(d.found), String(d.verified)]),
      ['totals', String(totals.expected), String(totals.found), String(totals.verified)],
    ]),
    '',
    `Table 2: wall-clock time over ${r.attempts} attempt${r.attempts === 1 ? '' : 's'} and total CPU time of the quanta (worker threads)`,
    ...table(['run', 'wall-clock (s)', 'user CPU (s)', 'system CPU (s)'], [[r.run, r.wallSeconds.toFixed(1), r.userCpuSeconds.toFixed(1), r.systemCpuSeconds.toFixed(1)]]),
    '',
    'Table 3: CPU time and memory per task (RSS is the whole process\'s, shared by its worker threads)',
    ...table(['task', 'executions', 'failed', 'user (min)', 'system (min)', 'max wasm memory (MB)', 'max RSS, shared (MB)'], r.tasks.map((t) => [
      t.task, String(t.executions), String(t.failed), t.userMinutes.toFixed(3), t.systemMinutes.toFixed(3), mb(t.maxWasmMemoryBytes), mb(t.maxProcessRssBytes),
    ])),
    ...(r.excluded.length ? [
      '',
      `Left out by --exclude-rejected: ${r.excluded.length} input dataset${r.excluded.length === 1 ? '' : 's'} a science lead rejected`,
      ...r.excluded.map((e) => `  ${e.datasetType} ${formatDataId(e.dataId)} (${e.datasetId}), rejected by ${e.reviewer} (verdict ${e.verdictId})`),
    ] : []),
  ].join('\n');
}
