/**
 * `tessera ingest-refcat REPO FILE --ra COL --dec COL --mag BAND=COL[,BAND=COL] [--mag-err BAND=COL]
 * [--name NAME]`: shards a CSV or FITS table of reference stars into 'refCat' datasets of RUN
 * `refcats` or `refcats/NAME` (node/repository/refcatIngest.ts).
 */
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { Repository } from '../repository/repository.js';
import { ingestRefcat } from '../repository/refcatIngest.js';

/** 'g=phot_g_mean_mag,r=rmag' as band -> column. */
export function parseBandColumns(text: string, option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const m = /^\s*([^=\s]+)\s*=\s*(\S.*?)\s*$/.exec(part);
    if (!m) throw new UsageError(`${option} takes BAND=COLUMN[,BAND=COLUMN...], got "${text}"`);
    if (m[1]! in out) throw new UsageError(`${option} names band '${m[1]}' twice`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

export const ingestRefcatCommand: Command = {
  name: 'ingest-refcat',
  summary: 'shard a CSV or FITS table of reference stars into refCat datasets',
  usage: [
    'Usage: tessera ingest-refcat REPO FILE... --ra COL --dec COL --mag BAND=COL[,BAND=COL] [--mag-err BAND=COL[,...]] [--name NAME]',
    '',
    'Each FILE is a .csv (a header line of column names) or a .fits table (the REFCAT or first binary table),',
    'all with the same columns (chunks of one catalogue are ingested together, as their stars share shards);',
    'RA and Dec in degrees. Stars are sharded by the simulator\'s reference-catalogue scheme (the shard',
    'id is the data ID\'s htm) into RUN refcats, or refcats/NAME with --name. A non-numeric value or an',
    'out-of-range RA/Dec is an error naming the line or row and the column; nothing is registered then.',
    'Parquet is not readable by this tessera.',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({
      args, allowPositionals: true,
      options: { ra: { type: 'string' }, dec: { type: 'string' }, mag: { type: 'string' }, 'mag-err': { type: 'string' }, name: { type: 'string' } },
    });
    if (positionals.length < 2) throw new UsageError('give a repository and at least one table file');
    if (values.ra === undefined || values.dec === undefined || values.mag === undefined) throw new UsageError('--ra, --dec and --mag are required');
    const mag = parseBandColumns(values.mag, '--mag');
    const magErr = values['mag-err'] === undefined ? undefined : parseBandColumns(values['mag-err'], '--mag-err');
    const repo = await Repository.open(positionals[0]!);
    try {
      const report = await ingestRefcat(repo, positionals.slice(1), { ra: values.ra, dec: values.dec, mag, ...(magErr ? { magErr } : {}) },
        values.name === undefined ? {} : { name: values.name });
      console.log(`ingested ${report.stars} stars in ${report.shards.size} shard(s) into run ${report.run}`
        + ` (${report.ingested.length} new, ${report.skipped.length} already registered)`);
      return 0;
    } finally {
      await repo.close();
    }
  },
};
