/**
 * `tessera certifications REPO [--collection C[,C]] [--json]`: the science leads' verdicts recorded
 * through the viewer (Registry.verdicts): per dataset its latest verdict (certified, rejected, needs
 * work) with the checklist, note, reviewer, time and app version, and how many verdicts it had; then the
 * counts per verdict. `--json` prints { datasets: [...], counts } with the verdicts' full history.
 */
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { Repository } from '../repository/repository.js';
import { formatDataId } from '../repository/dimensions.js';
import type { DatasetRef, Verdict } from '../repository/registry.js';

export const certificationsCommand: Command = {
  name: 'certifications',
  summary: "science leads' verdicts on calexps and coadds (certified, rejected, needs work), as recorded by the viewer",
  usage: [
    'Usage: tessera certifications REPO [--collection C[,C...]] [--json]',
    '',
    'Lists each dataset\'s latest verdict: dataset type, run, data ID, verdict, reviewer, time, note and',
    'the checklist (A artifacts masked, T trails and ghosts rejected, B background not over-subtracted),',
    'then the counts per verdict.',
    '--collection C   only datasets in these collections',
    '--json           { datasets: [{ dataset, latest, history }], counts }',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({ args, allowPositionals: true, options: { collection: { type: 'string' }, json: { type: 'boolean' } } });
    if (positionals.length !== 1) throw new UsageError('give one repository');
    const repo = await Repository.open(positionals[0]!);
    try {
      let verdicts = await repo.registry.verdicts();
      if (values.collection) {
        const inside = new Set((await repo.queryDatasets({ collections: values.collection.split(',').map((c) => c.trim()) })).map((r) => r.id));
        verdicts = verdicts.filter((v) => inside.has(v.datasetId));
      }
      const byDataset = new Map<string, Verdict[]>();
      for (const v of verdicts) (byDataset.get(v.datasetId) ?? byDataset.set(v.datasetId, []).get(v.datasetId)!).push(v);
      const rows: { dataset: DatasetRef | undefined; datasetId: string; latest: Verdict; history: Verdict[] }[] = [];
      for (const [datasetId, history] of byDataset) rows.push({ dataset: await repo.registry.getDataset(datasetId), datasetId, latest: history[history.length - 1]!, history });
      const counts: Record<string, number> = { certified: 0, rejected: 0, 'needs-work': 0 };
      for (const r of rows) counts[r.latest.verdict]!++;
      if (values.json) {
        console.log(JSON.stringify({
          datasets: rows.map((r) => ({ datasetId: r.datasetId, datasetType: r.dataset?.datasetType ?? null, run: r.dataset?.run ?? null, dataId: r.dataset?.dataId ?? null, latest: r.latest, history: r.history })),
          counts,
        }, null, 2));
        return 0;
      }
      if (rows.length === 0) {
        console.log('no verdicts recorded');
        return 0;
      }
      const flag = (b: boolean, letter: string): string => (b ? letter : '-');
      for (const r of rows) {
        const c = r.latest.checklist;
        const what = r.dataset ? `${r.dataset.datasetType} ${r.dataset.run} ${formatDataId(r.dataset.dataId)}` : `${r.datasetId} (no longer registered)`;
        console.log(`${r.latest.verdict.padEnd(10)} ${flag(c.artifactsMasked, 'A')}${flag(c.trailsAndGhostsRejected, 'T')}${flag(c.backgroundNotOverSubtracted, 'B')}  ${what}  `
          + `by ${r.latest.reviewer} at ${r.latest.reviewedAt} (viewer ${r.latest.appVersion}${r.history.length > 1 ? `; ${r.history.length} verdicts` : ''})`
          + `${r.latest.note ? `: ${r.latest.note}` : ''}${c.other ? ` [other: ${c.other}]` : ''}`);
      }
      console.log(`${rows.length} datasets: ${counts.certified} certified, ${counts.rejected} rejected, ${counts['needs-work']} need work`);
      return 0;
    } finally {
      await repo.close();
    }
  },
};
