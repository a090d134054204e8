/**
 * makeWarp: one visit's calexps resampled onto one patch of a sky map's tract (LSST pipe_tasks
 * MakeWarpTask, its direct warp): every calexp of the visit that the quantum graph joined to the patch
 * (by its detector's region) is warped onto the patch's outer region in the tract's TAN projection with
 * lib/image/warp.ts (afw's Warper: Lanczos3 for image and variance, bilinear for the mask, the mapping
 * interpolated every interpLength 10 px, fluxes conserved) and calibrated to nJy per pixel with its
 * photometric calibration (PHOTCALB; LSST's warps are in nJy since Gen3), the variance in nJy^2.
 * Detectors fill the patch in detector order; pixels no calexp reaches are NaN with NO_DATA (makeWarp's
 * badMaskPlanes). A calexp whose photometric calibration failed (no PHOTCALB) is left out with a
 * warning, as LSST drops visits without a PhotoCalib; a patch that no calexp pixel reaches is no work.
 * Output: deepCoadd_directWarp, an Exposure on the patch's outer box (xy0 = its origin in the tract) with
 * the patch WCS, the calexps' mask planes, and metadata naming the visit, band, inputs and kernel.
 * Not yet: the PSF-matched warp (deepCoadd_psfMatchedWarp) and the warp's CoaddPsf.
 */
import { FitsHeader } from '../fits/header.js';
import type { Exposure } from '../fits/exposure.js';
import { warpSources, type WarpSource } from '../image/warp.js';
import { BadInputError, NoWorkError } from '../pipeline/errors.js';
import { badInput, inputRef, type Task, type TaskContext } from '../pipeline/task.js';
import { patchById, patchWcsHeader, tractById, tractWcs, type SkyMap } from '../skymap/index.js';
import { parseWcs, type Wcs } from '../wcs/index.js';

export interface MakeWarpConfig {
  warpingKernelOrder: number;
  interpLength: number;
}

export interface MakeWarpInputs {
  calExpList: Exposure[];
  skyMap: SkyMap;
}

export interface MakeWarpOutputs {
  direct: Exposure;
}

/** Metadata cards copied from the visit's first calexp. */
const VISIT_KEYS = ['FILTER', 'BAND', 'EXPTIME', 'MJD-OBS', 'DATE-OBS', 'VISIT', 'EXPID', 'AIRMASS'];

function quantumNumber(context: TaskContext, key: string): number {
  const v = context.refs?.quantum?.[key];
  if (typeof v !== 'number') throw new BadInputError('makeWarp', 'quantum', `the quantum's data ID has no numeric ${key} (got ${JSON.stringify(v)})`);
  return v;
}

export const makeWarp: Task<MakeWarpConfig, MakeWarpInputs, MakeWarpOutputs> = {
  name: 'makeWarp',
  summary: 'Resample a visit\'s calexps onto a patch (Lanczos3, flux-conserving, in nJy): the direct warp.',
  dimensions: ['instrument', 'visit', 'skymap', 'tract', 'patch'],
  connections: {
    inputs: {
      calExpList: {
        datasetType: 'calexp', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'Exposure', multiple: true, minimum: 1,
        doc: 'The visit\'s calexps whose detector regions overlap the patch.',
      },
      skyMap: { datasetType: 'skyMap', dimensions: ['skymap'], storageClass: 'SkyMap', prerequisite: true, doc: 'The sky map: the tract\'s projection and the patch\'s box.' },
    },
    outputs: {
      direct: {
        datasetType: 'deepCoadd_directWarp', dimensions: ['instrument', 'visit', 'skymap', 'tract', 'patch'], storageClass: 'Exposure',
        doc: 'The visit on the patch\'s outer box, nJy per pixel.',
      },
    },
  },
  config: {
    warpingKernelOrder: { type: 'number', integer: true, min: 1, max: 5, default: 3, description: 'Lanczos order of the warping kernel (afw lanczos3; HSC uses 5).' },
    interpLength: { type: 'number', integer: true, min: 1, default: 10, description: 'Output pixels between exact evaluations of the pixel mapping (afw WarpingControl interpLength).' },
  },

  run(inputs, config, context) {
    const tractId = quantumNumber(context, 'tract'), patchId = quantumNumber(context, 'patch');
    const visit = context.refs?.quantum?.visit;
    let tract, patch;
    try {
      tract = tractById(inputs.skyMap, tractId);
      patch = patchById(tract, patchId);
    } catch (err) {
      throw badInput(makeWarp, context, 'skyMap', (err as Error).message);
    }
    const outWcsHeader = patchWcsHeader(tract, patch);
    const outWcs = tractWcs(tract);
    const { x0: px0, y0: py0, width, height } = patch.outer;
    const planes0 = inputs.calExpList[0]!.maskPlanes;
    if (planes0.NO_DATA === undefined) throw badInput(makeWarp, context, 'calExpList', 'the calexp has no NO_DATA mask plane', 0);
    const sources: WarpSource[] = [];
    const used: string[] = [];
    inputs.calExpList.forEach((calexp, index) => {
      const name = inputRef(context, 'calExpList', index)?.dataId?.detector ?? index;
      if (JSON.stringify(calexp.maskPlanes) !== JSON.stringify(planes0)) throw badInput(makeWarp, context, 'calExpList', `its mask planes ${JSON.stringify(calexp.maskPlanes)} differ from the first calexp's`, index);
      const calibration = calexp.metadata.getNumber('PHOTCALB');
      if (!(calibration !== undefined && calibration > 0 && Number.isFinite(calibration))) {
        context.log.warn(`calexp of detector ${name} has no photometric calibration (PHOTCALB): left out of the warp`, { detector: String(name) });
        return;
      }
      let wcs: Wcs | undefined;
      try {
        wcs = parseWcs(calexp.wcsHeader);
      } catch (err) {
        throw badInput(makeWarp, context, 'calExpList', `unusable WCS: ${(err as Error).message}`, index);
      }
      if (!wcs) throw badInput(makeWarp, context, 'calExpList', 'the calexp has no celestial WCS', index);
      const inWcs = wcs;
      sources.push({
        planes: calexp,
        scale: calibration,
        // Patch-image pixel -> tract pixel -> sky -> calexp array pixel, and back.
        toSource: (u, v) => {
          const [ra, dec] = outWcs.pixelToSky(u + px0, v + py0);
          return inWcs.skyToPixel(ra, dec);
        },
        toOutput: (x, y) => {
          const [ra, dec] = inWcs.pixelToSky(x, y);
          const [tx, ty] = outWcs.skyToPixel(ra, dec);
          return [tx - px0, ty - py0];
        },
      });
      used.push(String(name));
    });
    if (sources.length === 0) throw new NoWorkError(makeWarp.name, `no calexp of visit ${String(visit)} has a photometric calibration`);

    const noDataBit = 1 << planes0.NO_DATA;
    const warped = warpSources(context.tessera, sources, width, height, { order: config.warpingKernelOrder, interpLength: config.interpLength, noDataBit });
    let good = 0;
    for (let i = 0; i < warped.mask.length; i++) if ((warped.mask[i]! & noDataBit) === 0) good++;
    if (good === 0) throw new NoWorkError(makeWarp.name, `no pixel of visit ${String(visit)}'s calexps lands on tract ${tractId} patch ${patchId}`);

    const first = inputs.calExpList[0]!.metadata;
    const metadata = new FitsHeader();
    for (const key of VISIT_KEYS) {
      const card = first.cards.find((c) => c.key === key && !c.commentary);
      if (card) metadata.cards.push({ ...card });
    }
    metadata.set('BUNIT', 'nJy', 'pixel values: nJy per pixel');
    metadata.set('PHOTCALB', 1, '[nJy/ct] the warp is calibrated', { real: true });
    metadata.set('TRACT', tractId, 'sky map tract');
    metadata.set('PATCH', patchId, 'sky map patch (sequential id)');
    metadata.set('WRPKERN', `lanczos${config.warpingKernelOrder}`, 'warping kernel');
    metadata.set('WRPNIN', used.length, 'calexps warped');
    metadata.set('WRPDETS', used.join(','), 'their detectors');
    metadata.set('WRPGOOD', good / warped.mask.length, 'fraction of pixels with data', { real: true });
    context.log.info(`warped ${used.length} calexp(s) of visit ${String(visit)} onto tract ${tractId} patch ${patchId}: ${(100 * good / warped.mask.length).toFixed(1)} % of its pixels`, { inputs: used.length, goodPixels: good });

    return {
      direct: {
        width, height, x0: px0, y0: py0, image: warped.image, mask: warped.mask, variance: warped.variance,
        maskPlanes: { ...planes0 }, metadata, wcsHeader: outWcsHeader,
      },
    };
  },
};
