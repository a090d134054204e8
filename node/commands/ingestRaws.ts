/**
 * `tessera ingest-raws REPO --camera CAMERA.yaml FILES... [--transfer auto|copy|link]`: registers raws
 * of a real instrument described by a camera description: instrument, detectors, filters, exposures
 * from the raw headers, the camera and the raws, in one transaction (node/repository/rawIngest.ts).
 */
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { Repository } from '../repository/repository.js';
import { ingestRaws } from '../repository/rawIngest.js';
import { TRANSFER_MODES, type TransferMode } from '../repository/datastore.js';

export const ingestRawsCommand: Command = {
  name: 'ingest-raws',
  summary: 'register raws of an instrument described by a camera file (instrument, detectors, filters, exposures)',
  usage: [
    'Usage: tessera ingest-raws REPO --camera CAMERA.yaml FILES... [--transfer auto|copy|link]',
    '',
    'CAMERA.yaml is a camera description (tessera-camera-1: amplifier geometry, gain, read noise,',
    'saturation, and the header keywords of filter, exposure time, date, MJD, detector, image type and',
    'exposure id). Each raw must be a readable FITS file whose raw HDU has the detector\'s raw size and',
    'the filter, exposure time, date and image type keywords; MJD is computed from the date when absent,',
    'the detector is the camera\'s only one when absent, the exposure id is the number in the file name',
    'when absent. Physical filters the camera does not map get a band of their own name. Raws go into',
    '<instrument>/raw/all, the camera into <instrument>/calib; on any error nothing is registered.',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({ args, allowPositionals: true, options: { camera: { type: 'string' }, transfer: { type: 'string' } } });
    if (positionals.length < 2) throw new UsageError('give a repository and at least one raw file');
    if (values.camera === undefined) throw new UsageError('--camera CAMERA.yaml is required');
    const transfer = (values.transfer ?? 'auto') as TransferMode;
    if (!TRANSFER_MODES.includes(transfer)) throw new UsageError(`--transfer must be one of ${TRANSFER_MODES.join(', ')}, got "${values.transfer}"`);
    const repo = await Repository.open(positionals[0]!);
    try {
      const report = await ingestRaws(repo, values.camera, positionals.slice(1), { transfer });
      const exposures = new Set(report.raws.map((r) => r.exposure));
      const raws = report.ingested.filter((r) => r.datasetType === 'raw').length;
      console.log(`ingested ${raws} raws of ${exposures.size} exposure(s) of ${report.instrument} into ${report.collections.raw}`
        + `${report.skipped.length ? `, skipped ${report.skipped.length} already registered` : ''}; defaults: ${report.collections.defaults}`);
      return 0;
    } finally {
      await repo.close();
    }
  },
};
