/**
 * `tessera ingest REPO DIR [--transfer auto|copy|link]`: ingests a simulated dataset (DIR/manifest.json
 * from `tessera sim`) into a repository: instrument, detectors, filters, exposures and visits, the sky
 * map with its tracts and patches, reference-catalogue shards, raws, calibration raws and truth, all
 * registered in one transaction (node/repository/simulationIngest.ts). Running it again is harmless:
 * datasets already there with the same checksum are skipped and reported.
 */
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { Repository } from '../repository/repository.js';
import { ingestSimulation } from '../repository/simulationIngest.js';
import { TRANSFER_MODES, type TransferMode } from '../repository/datastore.js';

export const ingestCommand: Command = {
  name: 'ingest',
  summary: 'register a simulated dataset (raws, calibration raws, refcats, sky map, truth) in a repository',
  usage: [
    'Usage: tessera ingest REPO DIR [--transfer auto|copy|link]',
    '',
    'DIR is a folder written by "tessera sim" (with its manifest.json). Files are hard-linked into the',
    'datastore where REPO and DIR share a file system, else copied (--transfer auto, the default);',
    '--transfer copy always copies, --transfer link refuses to copy. Collections: <instrument>/raw/all,',
    '<instrument>/calib (the camera), refcats, skymaps, <instrument>/truth, and the CHAINED',
    '<instrument>/defaults = [raw/all, calib, refcats, skymaps]. Datasets already registered with the',
    'same checksum are skipped; a different file for a registered data ID is refused. On any error',
    'nothing is registered.',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({ args, allowPositionals: true, options: { transfer: { type: 'string' } } });
    if (positionals.length !== 2) throw new UsageError('give a repository and a simulated dataset folder');
    const transfer = (values.transfer ?? 'auto') as TransferMode;
    if (!TRANSFER_MODES.includes(transfer)) throw new UsageError(`--transfer must be one of ${TRANSFER_MODES.join(', ')}, got "${values.transfer}"`);
    const repo = await Repository.open(positionals[0]!);
    try {
      const started = Date.now();
      const report = await ingestSimulation(repo, positionals[1]!, { transfer });
      const counts = new Map<string, { ingested: number; skipped: number }>();
      const bump = (type: string, field: 'ingested' | 'skipped'): void => {
        const c = counts.get(type) ?? { ingested: 0, skipped: 0 };
        c[field]++;
        counts.set(type, c);
      };
      for (const r of report.ingested) bump(r.datasetType, 'ingested');
      for (const r of report.skipped) bump(r.datasetType, 'skipped');
      for (const [type, c] of [...counts].sort()) {
        console.log(`  ${type.padEnd(14)} ${String(c.ingested).padStart(5)} ingested${c.skipped ? `, ${c.skipped} already registered (skipped)` : ''}`);
      }
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`ingested ${report.ingested.length} datasets (${report.linked} linked, ${report.copied} copied), skipped ${report.skipped.length} already registered, `
        + `instrument ${report.instrument}, in ${seconds} s; defaults: ${report.collections.defaults}`);
      return 0;
    } finally {
      await repo.close();
    }
  },
};
