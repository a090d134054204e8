/**
 * mergeCoaddDetections: one patch's footprints and peaks merged across its bands (LSST pipe_tasks
 * MergeDetectionsTask; the rules are lib/coadd/mergeDetections.ts): priorityList i, r, z, y, g (HSC's),
 * maxSamePeak 0.3" and minNewPeak 1" (LSST's), converted to pixels with the tract's pixel scale.
 * Sky objects (LSST's skyObjects subtask: lib/coadd/skyObjects.ts): nSkySources (100) circles of
 * skySourceRadius (8 px) on pixels no merged footprint covers and some band's coadd has data on (its
 * deepCoadd_nImage above 0: SkyObjectsConfig's default avoidMask has NO_DATA, which LSST's merge step,
 * holding only the footprints, drops; without it only 22-33 of the 100 on each of the tiny preset's
 * patches, whose outer boxes reach beyond the visits, lay wholly on data), appended after the merged footprints
 * with merge_peak_sky set on their peak (the pseudo-band "sky"), seeded by tract and patch.
 * Output: deepCoadd_mergeDet, the merged footprints with merge_peak_<band> flags on every peak and the
 * bands merged in its metadata (MRGBANDS; NSKYOBJ sky objects). A band missing from the patch is simply
 * not merged; every input must cover the same box.
 */
import { FitsHeader } from '../fits/header.js';
import type { FootprintSet } from '../measure/footprintSet.js';
import type { ImageU } from '../fits/imageU.js';
import { mergeDetections } from '../coadd/mergeDetections.js';
import { DEFAULT_SKY_OBJECTS_CONFIG, skyObjectFootprints } from '../coadd/skyObjects.js';
import { badInput, inputBand, quantumNumber, type Task } from '../pipeline/task.js';
import { tractById, type SkyMap } from '../skymap/index.js';

export interface MergeCoaddDetectionsConfig {
  priorityList: readonly string[];
  maxSamePeak: number;
  minNewPeak: number;
  nSkySources: number;
  skySourceRadius: number;
}

export interface MergeCoaddDetectionsInputs {
  catalogs: FootprintSet[];
  nImages: ImageU[];
  skyMap: SkyMap;
}

export interface MergeCoaddDetectionsOutputs {
  outputCatalog: FootprintSet;
}


export const mergeCoaddDetections: Task<MergeCoaddDetectionsConfig, MergeCoaddDetectionsInputs, MergeCoaddDetectionsOutputs> = {
  name: 'mergeCoaddDetections',
  summary: 'Merge a patch\'s footprints and peaks across bands (priority i, r, z, y, g; same peak within 0.3", new peak beyond 1"), and add sky objects.',
  dimensions: ['skymap', 'tract', 'patch'],
  connections: {
    inputs: {
      catalogs: { datasetType: 'deepCoadd_det', dimensions: ['band', 'skymap', 'tract', 'patch'], storageClass: 'FootprintSet', multiple: true, minimum: 1, doc: 'Every band\'s footprints and peaks.' },
      nImages: { datasetType: 'deepCoadd_nImage', dimensions: ['band', 'skymap', 'tract', 'patch'], storageClass: 'ImageU', multiple: true, minimum: 1, doc: 'Every band\'s visits per pixel: where sky objects can be measured.' },
      skyMap: { datasetType: 'skyMap', dimensions: ['skymap'], storageClass: 'SkyMap', prerequisite: true, doc: 'The sky map: the tract\'s pixel scale.' },
    },
    outputs: {
      outputCatalog: { datasetType: 'deepCoadd_mergeDet', dimensions: ['skymap', 'tract', 'patch'], storageClass: 'FootprintSet', doc: 'Merged footprints, then the sky objects; merge_peak_<band> and merge_peak_sky per peak.' },
    },
  },
  config: {
    priorityList: { type: 'stringList', default: ['i', 'r', 'z', 'y', 'g'], description: 'Bands in the order their peaks are taken (HSC: i, r, z, y, g); others follow alphabetically.' },
    maxSamePeak: { type: 'number', min: 0, default: 0.3, description: 'A peak this close (arcsec) to a kept one is the same source (LSST 0.3).' },
    minNewPeak: { type: 'number', min: 0, default: 1, description: 'A peak at least this far (arcsec) from every kept one is a new source (LSST 1).' },
    nSkySources: { type: 'number', integer: true, min: 0, default: DEFAULT_SKY_OBJECTS_CONFIG.nSources, description: 'Sky objects to place on blank sky per patch (LSST skyObjects.nSources 100; 0: none).' },
    skySourceRadius: { type: 'number', integer: true, min: 1, default: DEFAULT_SKY_OBJECTS_CONFIG.sourceRadius, description: 'Radius of a sky object, pixels (LSST skyObjects.sourceRadius 8).' },
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
    // Sky objects on the pixels no merged footprint covers and some band has data on, flagged merge_peak_sky.
    const detected = new Uint8Array(first.width * first.height).fill(1);
    inputs.nImages.forEach((n, k) => {
      if (n.width !== first.width || n.height !== first.height || n.x0 !== first.x0 || n.y0 !== first.y0) {
        throw badInput(mergeCoaddDetections, context, 'nImages', `box ${n.width}x${n.height}+${n.x0}+${n.y0} differs from the catalogues' ${first.width}x${first.height}+${first.x0}+${first.y0}`, k);
      }
      for (let i = 0; i < detected.length; i++) if (n.image[i]! > 0) detected[i] = 0;
    });
    for (const fp of merged.footprints) for (const sp of fp.spans) if (sp.y >= 0 && sp.y < first.height) detected.fill(1, sp.y * first.width + Math.max(0, sp.x0), sp.y * first.width + Math.min(first.width - 1, sp.x1) + 1);
    const seed = quantumNumber(mergeCoaddDetections, context, 'tract') * 100_003 + quantumNumber(mergeCoaddDetections, context, 'patch');
    const sky = skyObjectFootprints(detected, first.width, first.height, seed, { ...DEFAULT_SKY_OBJECTS_CONFIG, nSources: config.nSkySources, sourceRadius: config.skySourceRadius });
    const mergedPeaks = merged.footprints.reduce((s, f) => s + f.peaks.length, 0);
    for (const values of Object.values(merged.peakFlags)) values.push(...sky.map(() => false));
    merged.peakFlags.merge_peak_sky = [...new Array<boolean>(mergedPeaks).fill(false), ...sky.map(() => true)];
    merged.footprints.push(...sky);
    const metadata = new FitsHeader();
    for (const key of ['TRACT', 'PATCH']) {
      const v = first.metadata?.getNumber(key);
      if (v !== undefined) metadata.set(key, v);
    }
    metadata.set('MRGBANDS', merged.bands.join(','), 'bands merged, in priority order');
    metadata.set('NPEAKS', mergedPeaks, 'peaks kept');
    metadata.set('NSKYOBJ', sky.length, 'sky objects added (merge_peak_sky)');
    const inputPeaks = bandInputs.reduce((s, b) => s + b.set.footprints.reduce((t, f) => t + f.peaks.length, 0), 0);
    context.log.info(`merged ${bandInputs.length} band(s) (${merged.bands.join(', ')}): ${merged.footprints.length - sky.length} footprints, ${mergedPeaks} peaks from ${inputPeaks}; `
      + `${sky.length} of ${config.nSkySources} sky objects placed`, { bands: bandInputs.length, footprints: merged.footprints.length - sky.length, peaks: mergedPeaks, skyObjects: sky.length });
    return { outputCatalog: { footprints: merged.footprints, x0: first.x0, y0: first.y0, width: first.width, height: first.height, peakFlags: merged.peakFlags, metadata } };
  },
};
