/**
 * `tessera make-skymap REPO --around COLLECTION [--name NAME] [--run RUN] [--dataset-type TYPE]
 * [--patch-size PX --patch-border PX --pixel-scale ARCSEC]`: one tract with its patches covering the
 * images of a collection, stored as a 'skyMap' dataset with its dimension records
 * (node/repository/skymapMake.ts).
 */
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { Repository } from '../repository/repository.js';
import { DEFAULT_SKYMAP_NAME, makeCoveringSkyMap } from '../repository/skymapMake.js';

function numberOption(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${option} takes a number, got "${value}"`);
  return n;
}

export const makeSkymapCommand: Command = {
  name: 'make-skymap',
  summary: 'make and register a sky map (one tract and its patches) covering the images of a collection',
  usage: [
    'Usage: tessera make-skymap REPO --around COLLECTION [--name NAME] [--run RUN] [--dataset-type TYPE]',
    '                           [--patch-size PX] [--patch-border PX] [--pixel-scale ARCSEC]',
    '',
    `The tract (id 0) is centred on the images' mean direction and holds every corner of every image of`,
    `type TYPE (default raw) in COLLECTION, from each image's header WCS. Defaults: --name ${DEFAULT_SKYMAP_NAME},`,
    '--run skymaps, --patch-size 4000, --patch-border 100, --pixel-scale 0.168.',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({
      args, allowPositionals: true,
      options: {
        around: { type: 'string' }, name: { type: 'string' }, run: { type: 'string' }, 'dataset-type': { type: 'string' },
        'patch-size': { type: 'string' }, 'patch-border': { type: 'string' }, 'pixel-scale': { type: 'string' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('give one repository');
    if (values.around === undefined) throw new UsageError('--around COLLECTION is required');
    const patchInnerSize = numberOption(values['patch-size'], '--patch-size');
    const patchBorder = numberOption(values['patch-border'], '--patch-border');
    const pixelScaleArcsec = numberOption(values['pixel-scale'], '--pixel-scale');
    const repo = await Repository.open(positionals[0]!);
    try {
      const report = await makeCoveringSkyMap(repo, {
        around: values.around,
        ...(values.name !== undefined ? { name: values.name } : {}),
        ...(values.run !== undefined ? { run: values.run } : {}),
        ...(values['dataset-type'] !== undefined ? { datasetType: values['dataset-type'] } : {}),
        ...(patchInnerSize !== undefined ? { patchInnerSize } : {}),
        ...(patchBorder !== undefined ? { patchBorder } : {}),
        ...(pixelScaleArcsec !== undefined ? { pixelScaleArcsec } : {}),
      });
      const t = report.tract;
      console.log(`sky map ${report.skyMap.name}: tract ${t.id} at (${t.centerRa.toFixed(5)}, ${t.centerDec.toFixed(5)}), ${t.width}x${t.height} px, `
        + `${t.numPatchesX}x${t.numPatchesY} patches, covering ${report.images} images of '${values.around}'; stored in run ${report.run}`
        + `${report.skipped.length ? ' (already registered)' : ''}`);
      return 0;
    } finally {
      await repo.close();
    }
  },
};
