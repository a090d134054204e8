/**
 * `tessera ingest-images REPO FILES... [--instrument NAME] [--weight FROM=TO|none] [--mask FROM=TO|none]
 * [--zero-points TABLE] [--psf-models PATH] [--run RUN]`: registers instrument-signature-removed images from other telescopes
 * (e.g. DECam CP InstCal ooi files with their oow weights and ood data-quality codes) as postISRCCD
 * datasets in the afw Exposure layout, with their instrument, detector, filter, exposure and visit
 * records, in one batch (node/repository/imageIngest.ts); the pipeline's `images` subset processes them.
 */
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { Repository } from '../repository/repository.js';
import { DEFAULT_MASK_PATTERN, DEFAULT_WEIGHT_PATTERN, ingestImages } from '../repository/imageIngest.js';

export const ingestImagesCommand: Command = {
  name: 'ingest-images',
  summary: 'register ISR-corrected images of other telescopes as postISRCCDs (image, weight -> variance, data quality -> mask, WCS)',
  usage: [
    'Usage: tessera ingest-images REPO FILES... [--instrument NAME] [--weight FROM=TO|none] [--mask FROM=TO|none] [--zero-points TABLE] [--psf-models PATH] [--run RUN]',
    '',
    'Each FILE is a FITS file whose first 2-d image HDU has a celestial WCS (TPV, SIP or plain) and, there or',
    'in the primary header, FILTER, EXPTIME, MJD-OBS, EXPNUM, CCDNUM or CCDNAME/EXTNAME, and INSTRUME',
    '(or --instrument). The weight file is the FILE name with FROM replaced by TO (default',
    `${DEFAULT_WEIGHT_PATTERN}): VARIANCE = 1/weight, weight <= 0 -> NaN and NO_DATA; without one, a robust sky`,
    `variance. The mask file (default ${DEFAULT_MASK_PATTERN}) holds CP data-quality codes: non-zero -> BAD,`,
    'saturated/bleed -> SAT, cosmic ray -> CR; pixels >= SATURATE are SAT. --zero-points TABLE (a FITS table',
    'with expnum, ccdname and ccdzpt, as legacyzpts\' survey-ccds) gives each image an external zero point',
    '(MAGZERO: AB mag of one count per second) that calibrate uses when it cannot fit its own. --psf-models',
    'PATH (a merged PSFEx table as legacypipe writes, or a folder of them) gives each image its CCD\'s PSF',
    'model, which characterizeImage uses (with psfFallback) when too few stars make one. Datasets go',
    'into <instrument>/postISRCCD/ingested (or --run) as postISRCCD; `tessera run --subset images` takes them',
    'through characterizeImage, calibrate, the warps, coadds and object tables. On any error nothing is registered.',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({
      args, allowPositionals: true,
      options: { instrument: { type: 'string' }, weight: { type: 'string' }, mask: { type: 'string' }, 'zero-points': { type: 'string' }, 'psf-models': { type: 'string' }, run: { type: 'string' } },
    });
    if (positionals.length < 2) throw new UsageError('give a repository and at least one image file');
    const repo = await Repository.open(positionals[0]!);
    try {
      const report = await ingestImages(repo, positionals.slice(1), {
        ...(values.instrument !== undefined ? { instrument: values.instrument } : {}),
        ...(values.weight !== undefined ? { weight: values.weight } : {}),
        ...(values.mask !== undefined ? { mask: values.mask } : {}),
        ...(values.run !== undefined ? { run: values.run } : {}),
        ...(values['zero-points'] !== undefined ? { zeroPoints: values['zero-points'] } : {}),
        ...(values['psf-models'] !== undefined ? { psfModels: values['psf-models'] } : {}),
      });
      const weighted = report.images.filter((i) => i.weight).length;
      console.log(`ingested ${report.ingested.length} postISRCCDs of ${report.instrument} into ${report.run}`
        + ` (${weighted} with weight files, ${report.images.filter((i) => i.mask).length} with mask files`
        + `${report.images.some((i) => i.zeroPoint) ? `, ${report.images.filter((i) => i.zeroPoint).length} with zero points` : ''}`
        + `${report.images.some((i) => i.psf) ? `, ${report.images.filter((i) => i.psf).length} with PSF models` : ''})`
        + `${report.skipped.length ? `, skipped ${report.skipped.length} already registered` : ''}`);
      return 0;
    } finally {
      await repo.close();
    }
  },
};
