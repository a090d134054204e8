/**
 * `tessera query REPO [--type T,...] [--collections C,...] [--where EXPR] [--json]`: lists datasets
 * (type, run, data ID, path, size) from a repository's registry. --where is the small expression
 * language of node/repository/whereExpression.ts, compiled to parameterised SQL.
 */
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { Repository } from '../repository/repository.js';
import { WhereSyntaxError } from '../repository/whereExpression.js';
import { formatDataId } from '../repository/dimensions.js';

function list(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return items.length ? items : undefined;
}

export const queryCommand: Command = {
  name: 'query',
  summary: 'list datasets of a repository by type, collection and a data ID expression',
  usage: [
    'Usage: tessera query REPO [--type T[,T...]] [--collections C[,C...]] [--where EXPR] [--json]',
    '',
    '--collections are searched with CHAINED ones expanded (default: every RUN collection).',
    '--where constrains data IDs: comparisons (=, !=, <, <=, >, >=) of keys (instrument, band,',
    '  physical_filter, detector, exposure, visit, skymap, tract, patch, htm, observation_type) with',
    "  'strings' or numbers, IN (...), NOT IN (...), AND, OR, NOT and parentheses, e.g.",
    "  --where \"band='g' AND visit IN (1000, 1001)\"",
    '--json prints a JSON array of {id, datasetType, run, dataId, path, size, checksum}.',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({
      args, allowPositionals: true,
      options: { type: { type: 'string' }, collections: { type: 'string' }, where: { type: 'string' }, json: { type: 'boolean' } },
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one repository');
    const repo = await Repository.open(positionals[0]!);
    try {
      const datasetTypes = list(values.type);
      const collections = list(values.collections);
      let refs;
      try {
        refs = await repo.queryDatasets({
          ...(datasetTypes ? { datasetTypes } : {}), ...(collections ? { collections } : {}), ...(values.where !== undefined ? { where: values.where } : {}),
        });
      } catch (err) {
        if (err instanceof WhereSyntaxError) throw new UsageError(`--where: ${err.message}`);
        throw err;
      }
      if (values.json) {
        console.log(JSON.stringify(refs.map((r) => ({ id: r.id, datasetType: r.datasetType, run: r.run, dataId: r.dataId, path: r.path, size: r.size, checksum: r.checksum })), null, 2));
        return 0;
      }
      const rows = refs.map((r) => [r.datasetType, r.run, formatDataId(r.dataId), r.path, String(r.size)]);
      const header = ['type', 'run', 'data ID', 'path', 'size'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
      const line = (row: string[]): string => row.map((cell, i) => (i === row.length - 1 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ');
      console.log(line(header));
      for (const row of rows) console.log(line(row));
      console.log(`${refs.length} dataset(s)`);
      return 0;
    } finally {
      await repo.close();
    }
  },
};
