/**
 * `tessera provenance REPO DATASET_ID [--json]`: walks a dataset's provenance back to what was
 * ingested (Open Provenance Model): the dataset `wasGeneratedBy` a quantum (task, data ID, config
 * hash, tessera version, host, times, thread CPU, memory), which `used` its inputs, each walked the
 * same way down to raws and other ingested files. A dataset met twice is shown once, then referred to.
 */
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { Repository } from '../repository/repository.js';
import { formatDataId } from '../repository/dimensions.js';
import type { DatasetRef, QuantumRecord } from '../repository/registry.js';
import { RegistryLookupError } from '../repository/registry.js';

export interface ProvenanceNode {
  readonly datasetId: string;
  /** Absent when the dataset was removed since (its run deleted); provenance keeps the id. */
  readonly dataset?: DatasetRef;
  /** The quantum that made it; absent for an ingested dataset. */
  readonly wasGeneratedBy?: QuantumRecord & { readonly used: ProvenanceNode[] };
  /** True when this dataset appears earlier in the walk (its history is not repeated). */
  readonly seen?: boolean;
}

export async function walkProvenance(repo: Repository, datasetId: string, seen = new Set<string>()): Promise<ProvenanceNode> {
  const dataset = await repo.registry.getDataset(datasetId);
  if (seen.has(datasetId)) return { datasetId, ...(dataset ? { dataset } : {}), seen: true };
  seen.add(datasetId);
  const quantum = await repo.registry.producerOf(datasetId);
  if (!quantum) return { datasetId, ...(dataset ? { dataset } : {}) };
  const used: ProvenanceNode[] = [];
  for (const input of quantum.inputs) used.push(await walkProvenance(repo, input, seen));
  return { datasetId, ...(dataset ? { dataset } : {}), wasGeneratedBy: { ...quantum, used } };
}

function describeDataset(node: ProvenanceNode): string {
  if (!node.dataset) return `dataset ${node.datasetId} (no longer registered)`;
  const d = node.dataset;
  return `${d.datasetType} ${formatDataId(d.dataId)} in ${d.run} (${d.id})`;
}

export function formatProvenance(node: ProvenanceNode, indent = '', prefix = ''): string[] {
  if (node.seen) return [`${indent}${prefix}${describeDataset(node)} (see above)`];
  const lines = [`${indent}${prefix}${describeDataset(node)}`];
  const q = node.wasGeneratedBy;
  if (!q) {
    lines.push(`${indent}  ingested${node.dataset ? ` at ${node.dataset.ingestDate}` : ''}`);
    return lines;
  }
  const cpu = q.threadCpuUserSeconds === null ? 'CPU unknown' : `CPU ${q.threadCpuUserSeconds.toFixed(2)} s user + ${(q.threadCpuSystemSeconds ?? 0).toFixed(2)} s system (worker thread)`;
  const memory = q.wasmMemoryPeakBytes === null ? '' : `, wasm memory ${(q.wasmMemoryPeakBytes / 2 ** 20).toFixed(1)} MB, process RSS ${((q.rssPeakBytes ?? 0) / 2 ** 20).toFixed(1)} MB (shared)`;
  lines.push(`${indent}  wasGeneratedBy ${q.task} ${formatDataId(q.dataId)}: quantum ${q.id}, ${q.status}, config ${q.configHash.slice(0, 12)}, tessera ${q.softwareVersion}, `
    + `${q.host}, ${q.startedAt} to ${q.endedAt ?? '?'}, ${cpu}${memory}`);
  for (const input of q.used) lines.push(...formatProvenance(input, `${indent}    `, 'used '));
  return lines;
}

export const provenanceCommand: Command = {
  name: 'provenance',
  summary: "walk a dataset's provenance back to the raws (which quantum made it, from what)",
  usage: [
    'Usage: tessera provenance REPO DATASET_ID [--json]',
    '',
    'DATASET_ID is a dataset UUID (tessera query --json lists them). Prints the quantum that generated it',
    '(task, data ID, config hash, version, host, times, CPU, memory) and, recursively, the inputs it used;',
    "then the inputs its run left out for a science lead's 'rejected' verdict (tessera run --exclude-rejected).",
    '--json   print the walk as nested JSON',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
    if (positionals.length !== 2) throw new UsageError('give a repository and a dataset id');
    const repo = await Repository.open(positionals[0]!);
    try {
      const id = positionals[1]!;
      if (!(await repo.registry.getDataset(id)) && !(await repo.registry.producerOf(id))) throw new RegistryLookupError(`no dataset ${id} in ${repo.root}`);
      const walk = await walkProvenance(repo, id);
      // What the dataset's run left out for science leads' rejections (tessera run --exclude-rejected).
      const run = walk.dataset?.run;
      const excluded = run ? (await repo.registry.runAttempts(run)).at(-1)?.excluded ?? [] : [];
      if (values.json) console.log(JSON.stringify({ ...walk, excludedByRun: excluded }, null, 2));
      else {
        console.log(formatProvenance(walk).join('\n'));
        if (excluded.length) {
          console.log(`run ${run} left out ${excluded.length} rejected input${excluded.length === 1 ? '' : 's'} (--exclude-rejected):`);
          for (const e of excluded) console.log(`  ${e.datasetType} ${formatDataId(e.dataId)} (${e.datasetId}), rejected by ${e.reviewer} (verdict ${e.verdictId})`);
        }
      }
      return 0;
    } finally {
      await repo.close();
    }
  },
};
