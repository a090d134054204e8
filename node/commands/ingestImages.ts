/**
 * `tessera ingest-images REPO FILES... [--instrument NAME] [--weight FROM=TO|none] [--mask FROM=TO|none]
 * [--run RUN]`: registers already-calibrated images from other telescopes (e.g. DECam CP InstCal ooi
 * files with their oow weights and ood data-quality codes) as calexp datasets in the afw Exposure layout,
 * with their instrument, detector, filter, exposure and visit records, in one batch
 * (node/repository/imageIngest.ts).
 */
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { Repository } from '../repository/repository.js';
import { DEFAULT_MASK_PATTERN, DEFAULT_WEIGHT_PATTERN, ingestImages } from '../repository/imageIngest.js';

export const ingestImagesCommand: Command = {
  name: 'ingest-images',
  summary: 'register calibrated images of other telescopes as calexps (image, weight -> variance, data quality -> mask, WCS)',
  usage: [
    'Usage: tessera ingest-images REPO FILES... [--instrument NAME] [--weight FROM=TO|none] [--mask FROM=TO|none] [--run RUN]',
    '',
    'Each FILE is a FITS file whose first 2-d image HDU has a celestial WCS (TPV, SIP or plain) and, there or',
    'in the primary header, FILTER, EXPTIME, MJD-OBS, EXPNUM, CCDNUM or CCDNAME/EXTNAME, and INSTRUME',
    '(or --instrument). The weight file is the FILE name with FROM replaced by TO (default',
    `${DEFAULT_WEIGHT_PATTERN}): VARIANCE = 1/weight, weight <= 0 -> NaN and NO_DATA; without one, a robust sky`,
    `variance. The mask file (default ${DEFAULT_MASK_PATTERN}) holds CP data-quality codes: non-zero -> BAD,`,
    'saturated/bleed -> SAT, cosmic ray -> CR; pixels >= SATURATE are SAT. Datasets go into',
    '<instrument>/calexp/ingested (or --run); on any error nothing is registered.',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({
      args, allowPositionals: true,
      options: { instrument: { type: 'string' }, weight: { type: 'string' }, mask: { type: 'string' }, run: { type: 'string' } },
    });
    if (positionals.length < 2) throw new UsageError('give a repository and at least one image file');
    const repo = await Repository.open(positionals[0]!);
    try {
      const report = await ingestImages(repo, positionals.slice(1), {
        ...(values.instrument !== undefined ? { instrument: values.instrument } : {}),
        ...(values.weight !== undefined ? { weight: values.weight } : {}),
        ...(values.mask !== undefined ? { mask: values.mask } : {}),
        ...(values.run !== undefined ? { run: values.run } : {}),
      });
      const weighted = report.images.filter((i) => i.weight).length;
      console.log(`ingested ${report.ingested.length} calexps of ${report.instrument} into ${report.run}`
        + ` (${weighted} with weight files, ${report.images.filter((i) => i.mask).length} with mask files)`
        + `${report.skipped.length ? `, skipped ${report.skipped.length} already registered` : ''}`);
      return 0;
    } finally {
      await repo.close();
    }
  },
};
