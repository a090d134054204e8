/**
 * mergeCoaddDetections: one patch's footprints and peaks merged across its bands (LSST pipe_tasks
 * MergeDetectionsTask; the rules are lib/coadd/mergeDetections.ts): priorityList i, r, z, y, g (HSC's),
 * maxSamePeak 0.3" and minNewPeak 1" (LSST's), converted to pixels with the tract's pixel scale.
 * Output: deepCoadd_mergeDet, the merged footprints with merge_peak_<band> flags on every peak and the
 * bands merged in its metadata (MRGBANDS). A band missing from the patch is simply not merged; every
 * input must cover the same box.
 */
import { FitsHeader } from '../fits/header.js';
import type { FootprintSet } from '../measure/footprintSet.js';
import { mergeDetections } from '../coadd/mergeDetections.js';
import { badInput, inputBand, quantumNumber, type Task } from '../pipeline/task.js';
import { tractById, type SkyMap } from '../skymap/index.js';

export interface MergeCoaddDetectionsConfig {
  priorityList: readonly string[];
  maxSamePeak: number;
  minNewPeak: number;
}

export interface MergeCoaddDetectionsInputs {
  catalogs: FootprintSet[];
  skyMap: SkyMap;
}

export interface MergeCoaddDetectionsOutputs {
  outputCatalog: FootprintSet;
}


export const mergeCoaddDetections: Task<MergeCoaddDetectionsConfig, MergeCoaddDetectionsInputs, MergeCoaddDetectionsOutputs> = {
  name: 'mergeCoaddDetections',
  summary: 'Merge a patch\'s footprints and peaks across bands (priority i, r, z, y, g; same peak within 0.3", new peak beyond 1").',
  dimensions: ['skymap', 'tract', 'patch'],
  connections: {
    inputs: {
      catalogs: { datasetType: 'deepCoadd_det', dimensions: ['band', 'skymap', 'tract', 'patch'], storageClass: 'FootprintSet', multiple: true, minimum: 1, doc: 'Every band\'s footprints and peaks.' },
      skyMap: { datasetType: 'skyMap', dimensions: ['skymap'], storageClass: 'SkyMap', prerequisite: true, doc: 'The sky map: the tract\'s pixel scale.' },
    },
    outputs: {
      outputCatalog: { datasetType: 'deepCoadd_mergeDet', dimensions: ['skymap', 'tract', 'patch'], storageClass: 'FootprintSet', doc: 'Merged footprints; merge_peak_<band> per peak.' },
    },
  },
  config: {
    priorityList: { type: 'stringList', default: ['i', 'r', 'z', 'y', 'g'], description: 'Bands in the order their peaks are taken (HSC: i, r, z, y, g); others follow alphabetically.' },
    maxSamePeak: { type: 'number', min: 0, default: 0.3, description: 'A peak this close (arcsec) to a kept one is the same source (LSST 0.3).' },
    minNewPeak: { type: 'number', min: 0, default: 1, description: 'A peak at least this far (arcsec) from every kept one is a new source (LSST 1).' },
  },
  validate(config) {
    return config.minNewPeak >= config.maxSamePeak ? undefined : { field: 'minNewPeak', problem: `must be at least maxSamePeak (${config.maxSamePeak}), got ${config.minNewPeak}` };
  },

  run(inputs, config, context) {
    let scale: number;
    try {
      scale = tractById(inputs.skyMap, quantumNumber(mergeCoaddDetections, context, 'tract')).pixelScaleArcsec;
    } catch (err) {
      throw badInput(mergeCoaddDetections, context, 'skyMap', (err as Error).message);
    }
    const first = inputs.catalogs[0]!;
    const bandInputs = inputs.catalogs.map((set, k) => {
      if (set.width !== first.width || set.height !== first.height || set.x0 !== first.x0 || set.y0 !== first.y0) {
        throw badInput(mergeCoaddDetections, context, 'catalogs', `box ${set.width}x${set.height}+${set.x0}+${set.y0} differs from the first's ${first.width}x${first.height}+${first.x0}+${first.y0}`, k);
      }
      return { band: inputBand(mergeCoaddDetections, context, 'catalogs', k, set.metadata), set };
    });
    const merged = mergeDetections(bandInputs, { priorityList: config.priorityList, maxSamePeak: config.maxSamePeak / scale, minNewPeak: config.minNewPeak / scale });
    const metadata = new FitsHeader();
    for (const key of ['TRACT', 'PATCH']) {
      const v = first.metadata?.getNumber(key);
      if (v !== undefined) metadata.set(key, v);
    }
    metadata.set('MRGBANDS', merged.bands.join(','), 'bands merged, in priority order');
    const nPeaks = merged.footprints.reduce((s, f) => s + f.peaks.length, 0);
    metadata.set('NPEAKS', nPeaks, 'peaks kept');
    const inputPeaks = bandInputs.reduce((s, b) => s + b.set.footprints.reduce((t, f) => t + f.peaks.length, 0), 0);
    context.log.info(`merged ${bandInputs.length} band(s) (${merged.bands.join(', ')}): ${merged.footprints.length} footprints, ${nPeaks} peaks from ${inputPeaks}`,
      { bands: bandInputs.length, footprints: merged.footprints.length, peaks: nPeaks });
    return { outputCatalog: { footprints: merged.footprints, x0: first.x0, y0: first.y0, width: first.width, height: first.height, peakFlags: merged.peakFlags, metadata } };
  },
};
