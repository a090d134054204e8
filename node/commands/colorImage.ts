/**
 * `tessera color-image REPO --tract T [--patch P] --bands i,r,g -o OUT.png [--collection C]
 * [--stretch S] [--q Q] [--minimum M]`: an outreach colour image of the deep coadds (issue 7):
 * Lupton et al. (2004) asinh of three bands (red, green, blue in the order given), as astropy's
 * make_lupton_rgb computes it (lib/display/colorComposite.ts, in the wasm), written as PNG (north up
 * when the WCS has it: the image's row 0 at the bottom), with its WCS in a FITS sidecar (OUT.wcs.fits:
 * the header of the PNG's pixel grid, FITS convention) and a credit line in the PNG's tEXt chunks
 * (Credit, Software, Description). Without --patch, the tract's mosaic of its patches' inner regions.
 * Defaults: the collection of the newest deepCoadd; minimum 0; Q 8; stretch 20 times the robust
 * (interquartile) noise of the middle band, in nJy per pixel.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { Repository } from '../repository/repository.js';
import { decodeDataset } from '../../lib/pipeline/storageClasses.js';
import { patchById, tractById, type SkyMap } from '../../lib/skymap/index.js';
import { readExposurePlanes } from '../fits/exposurePlanes.js';
import { FitsHeader, writeFits } from '../../lib/fits/index.js';
import { luptonComposite } from '../../lib/display/colorComposite.js';
import { encodePng } from '../../lib/image/png.js';
import { interquartileSigma } from '../../lib/math/median.js';
import { loadTessera } from '../wasm.js';
import { readPackageVersion } from '../version.js';

const WCS_KEYS = /^(WCSAXES|CTYPE[12]|CRVAL[12]|CRPIX[12]|CD[12]_[12]|PC[12]_[12]|CDELT[12]|CUNIT[12]|RADESYS|EQUINOX|LONPOLE|LATPOLE)$/;

export const colorImageCommand: Command = {
  name: 'color-image',
  summary: 'an outreach colour image (PNG, Lupton asinh) of three bands of deep coadds, with its WCS and credit',
  usage: [
    'Usage: tessera color-image REPO --tract T [--patch P] --bands R,G,B -o OUT.png [--collection C]',
    '                           [--stretch S] [--q Q] [--minimum M]',
    '',
    'Composes the deepCoadd of three bands (red, green, blue: e.g. i,r,g) with Lupton et al. (2004) asinh',
    "(astropy's make_lupton_rgb), writes OUT.png (north up) with a credit line in its text chunks, and",
    'OUT.wcs.fits, a FITS header with the WCS of the PNG\'s pixel grid. Without --patch: the whole tract,',
    'its patches\' inner regions side by side.',
    '--collection C   where the coadds are (default: the run of the newest deepCoadd)',
    '--stretch S      linear stretch, nJy per pixel (default: 20 x the middle band\'s robust noise)',
    '--q Q            asinh softening (default 8)',
    '--minimum M      level mapped to black, nJy per pixel (default 0)',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({
      args, allowPositionals: true,
      options: { tract: { type: 'string' }, patch: { type: 'string' }, bands: { type: 'string' }, output: { type: 'string', short: 'o' },
        collection: { type: 'string' }, stretch: { type: 'string' }, q: { type: 'string' }, minimum: { type: 'string' } },
    });
    if (positionals.length !== 1) throw new UsageError('give one repository');
    if (values.tract === undefined || values.bands === undefined || values.output === undefined) throw new UsageError('give --tract, --bands and -o');
    const bands = values.bands.split(',').map((b) => b.trim());
    if (bands.length !== 3 || bands.some((b) => !/^[A-Za-z0-9_-]+$/.test(b))) throw new UsageError(`--bands ${values.bands}: give three bands, red first (e.g. i,r,g)`);
    const number = (text: string | undefined, name: string, test: (v: number) => boolean): number | undefined => {
      if (text === undefined) return undefined;
      const v = Number(text);
      if (!Number.isFinite(v) || !test(v)) throw new UsageError(`--${name} ${text}: not a valid value`);
      return v;
    };
    const tractId = number(values.tract, 'tract', Number.isInteger)!, patchId = number(values.patch, 'patch', Number.isInteger);
    const stretchGiven = number(values.stretch, 'stretch', (v) => v > 0), q = number(values.q, 'q', (v) => v > 0) ?? 8, minimum = number(values.minimum, 'minimum', () => true) ?? 0;

    const repo = await Repository.open(positionals[0]!);
    try {
      const coadds = await repo.queryDatasets({ datasetTypes: ['deepCoadd'], ...(values.collection ? { collections: values.collection.split(',') } : {}) });
      if (coadds.length === 0) throw new Error(`${repo.root}: no deepCoadd${values.collection ? ` in ${values.collection}` : ''}: run the coadd subset first`);
      const collection = values.collection ?? coadds.reduce((a, b) => (b.ingestDate > a.ingestDate ? b : a)).run;
      const [skyMapRef] = await repo.registry.queryDatasets({ datasetTypes: ['skyMap'] });
      if (!skyMapRef) throw new Error(`${repo.root}: no skyMap dataset`);
      const skyMap = await decodeDataset('SkyMap', repo.getBytes(skyMapRef), repo.getPath(skyMapRef)) as SkyMap;
      const tract = tractById(skyMap, tractId);
      const inTract = coadds.filter((r) => r.run === collection || values.collection !== undefined).filter((r) => r.dataId.tract === tractId && (patchId === undefined || r.dataId.patch === patchId));
      const patches = [...new Set(inTract.map((r) => Number(r.dataId.patch)))].sort((a, b) => a - b);
      if (patches.length === 0) throw new Error(`${repo.root}: no deepCoadd of tract ${tractId}${patchId !== undefined ? ` patch ${patchId}` : ''} in ${collection}`);
      for (const band of bands) for (const p of patches) {
        if (!inTract.some((r) => r.dataId.band === band && r.dataId.patch === p)) throw new Error(`${repo.root}: no deepCoadd in band ${band} for tract ${tractId} patch ${p} in ${collection}`);
      }
      // The output grid: the patch's coadd box, or the patches' inner regions together.
      let box: { x0: number; y0: number; width: number; height: number };
      if (patchId !== undefined) {
        const ref = inTract.find((r) => r.dataId.band === bands[0])!;
        const e = await readExposurePlanes(repo.getPath(ref), []);
        box = { x0: e.x0, y0: e.y0, width: e.width, height: e.height };
      } else {
        const inner = patches.map((p) => patchById(tract, p).inner);
        const x0 = Math.min(...inner.map((b) => b.x0)), y0 = Math.min(...inner.map((b) => b.y0));
        box = { x0, y0, width: Math.max(...inner.map((b) => b.x0 + b.width)) - x0, height: Math.max(...inner.map((b) => b.y0 + b.height)) - y0 };
      }
      const n = box.width * box.height;
      const images = bands.map(() => new Float32Array(n).fill(NaN));
      let wcsSource: FitsHeader | undefined, wcsOrigin: [number, number] = [0, 0];
      for (const [k, band] of bands.entries()) {
        for (const p of patches) {
          const ref = inTract.find((r) => r.dataId.band === band && r.dataId.patch === p)!;
          const region = patchId !== undefined ? box : patchById(tract, p).inner;
          const e = await readExposurePlanes(repo.getPath(ref), ['IMAGE'], region);
          wcsSource ??= e.wcsHeader;
          if (wcsSource === e.wcsHeader) wcsOrigin = [e.x0, e.y0];
          for (let y = 0; y < region.height; y++) {
            images[k]!.set(e.image!.subarray(y * region.width, (y + 1) * region.width), (y + region.y0 - box.y0) * box.width + (region.x0 - box.x0));
          }
        }
      }
      const middle = images[1]!.filter(Number.isFinite);
      const stretch = stretchGiven ?? 20 * interquartileSigma(Float64Array.from(middle));
      if (!(stretch > 0)) throw new Error(`the ${bands[1]} coadd has no noise to set the stretch from: give --stretch`);
      const tessera = await loadTessera();
      const rgba = luptonComposite(tessera, images[0]!, images[1]!, images[2]!, { minimum, stretch, q });
      // PNG rows run top to bottom: the image's last row first (north up, as astropy's imsave(origin='lower')).
      const flipped = new Uint8Array(rgba.length), rowBytes = 4 * box.width;
      for (let y = 0; y < box.height; y++) flipped.set(rgba.subarray(y * rowBytes, (y + 1) * rowBytes), (box.height - 1 - y) * rowBytes);
      const version = readPackageVersion();
      const credit = `Tessera ${version}: deep coadds of ${path.basename(path.resolve(repo.root))} (${collection}), tract ${tractId}${patchId !== undefined ? ` patch ${patchId}` : ''}; `
        + `${bands[0]}, ${bands[1]}, ${bands[2]} as red, green, blue; Lupton et al. (2004) asinh, stretch ${stretch.toPrecision(4)} nJy, Q ${q}, minimum ${minimum}`;
      const out = path.resolve(values.output);
      fs.writeFileSync(out, encodePng(flipped, box.width, box.height, { Credit: credit, Software: `Tessera ${version}`, Description: 'colour composite of deep coadds; WCS in the .wcs.fits sidecar' }));
      // The sidecar: the coadd's WCS moved to the output grid (FITS: pixel 1, 1 at the bottom left).
      const wcs = new FitsHeader();
      for (const card of wcsSource!.cards) if (!card.commentary && WCS_KEYS.test(card.key)) wcs.cards.push({ ...card });
      wcs.set('CRPIX1', wcsSource!.getNumber('CRPIX1')! + wcsOrigin[0] - box.x0, 'reference pixel in the PNG grid (FITS, from the bottom left)', { real: true });
      wcs.set('CRPIX2', wcsSource!.getNumber('CRPIX2')! + wcsOrigin[1] - box.y0, 'reference pixel in the PNG grid (FITS, from the bottom left)', { real: true });
      wcs.set('IMAGEW', box.width, 'PNG width');
      wcs.set('IMAGEH', box.height, 'PNG height');
      wcs.addCommentary('COMMENT', credit);
      const sidecar = out.replace(/\.png$/i, '') + '.wcs.fits';
      fs.writeFileSync(sidecar, writeFits([{ header: wcs }]));
      console.log(`wrote ${out} (${box.width} x ${box.height}) and ${sidecar}\ncredit: ${credit}`);
      return 0;
    } finally {
      await repo.close();
    }
  },
};
