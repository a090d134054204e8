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
 * With makePsfMatched (LSST's DRP pipelines set it), each calexp is first convolved to a circular
 * Gaussian PSF of modelPsfFwhm (7.7 px at the tract's pixel scale, LSST's HSC setting) with a matching
 * kernel fitted to its PSF model at the detector's centre (lib/image/psfMatch.ts, matchingKernelSize 21),
 * and warped the same way into deepCoadd_psfMatchedWarp, the input of artifact rejection's template (only
 * the calexp's pixels that the patch's warp reads are convolved, with the kernel's half around them); a
 * calexp whose PSF is not narrower than the target, or that has no PSF model, is left out of it and
 * named in its metadata (PSFMDROP), and a visit with none left gives an all-NO_DATA warp with PSFMOK F.
 * The direct warp carries its PSF (lib/coadd/coaddPsf.ts: the calexps' PSF models warped to a 7 x 7
 * grid of patch positions, each node from the calexp that fills it, fitted in PSFEx's representation);
 * a calexp without a PSF model gives no nodes, and a warp with no node carries no PSF (WRPPSF F).
 * Both warps are written with LSST's 'lossless' recipe (GZIP_2 row tiles): a patch the visit covers in
 * part is mostly NaN and compresses about 3x, and assembleCoadd still reads a band of rows at a time.
 */
import { FitsHeader } from '../fits/header.js';
import type { Exposure } from '../fits/exposure.js';
import { coveredBox, cutOut, sourceBox, unionBox, warpSources, wcsMapping, type OutputBox, type PixelBox, type WarpPlanes, type WarpSource } from '../image/warp.js';
import { FWHM_PER_SIGMA, convolveTerms, fitMatchingKernel, separableTerms } from '../image/psfMatch.js';
import type { ExposureWithPsf } from './characterizeImage.js';
import { fitGridPsf, psfGridNodes, warpedKernelImage, type PsfNode } from '../coadd/coaddPsf.js';
import type { PsfexModel } from '../measure/psfModel.js';
import { NoWorkError } from '../pipeline/errors.js';
import { badInput, inputRef, quantumNumber, type Task, type TaskContext } from '../pipeline/task.js';
import { patchById, patchWcsHeader, tractById, tractWcs, type SkyMap } from '../skymap/index.js';
import { parseWcs, type Wcs } from '../wcs/index.js';
import { libm } from '../math/libm.js';

export interface MakeWarpConfig {
  warpingKernelOrder: number;
  interpLength: number;
  makePsfMatched: boolean;
  modelPsfFwhm: number;
  matchingKernelSize: number;
}

export interface MakeWarpInputs {
  calExpList: ExposureWithPsf[];
  skyMap: SkyMap;
}

export interface MakeWarpOutputs {
  direct: ExposureWithPsf;
  psfMatched?: Exposure;
}

/** Metadata cards copied from the visit's first calexp. */
const VISIT_KEYS = ['FILTER', 'BAND', 'EXPTIME', 'MJD-OBS', 'DATE-OBS', 'VISIT', 'EXPID', 'AIRMASS'];


export const makeWarp: Task<MakeWarpConfig, MakeWarpInputs, MakeWarpOutputs> = {
  name: 'makeWarp',
  summary: 'Resample a visit\'s calexps onto a patch (Lanczos3, flux-conserving, in nJy): the direct warp.',
  dimensions: ['instrument', 'visit', 'skymap', 'tract', 'patch'],
  connections: {
    inputs: {
      calExpList: {
        datasetType: 'calexp', dimensions: ['instrument', 'visit', 'detector'], storageClass: 'Exposure', multiple: true, minimum: 1,
        doc: 'The visit\'s calexps (with their PSF models) whose detector regions overlap the patch.',
      },
      skyMap: { datasetType: 'skyMap', dimensions: ['skymap'], storageClass: 'SkyMap', prerequisite: true, doc: 'The sky map: the tract\'s projection and the patch\'s box.' },
    },
    outputs: {
      direct: {
        datasetType: 'deepCoadd_directWarp', dimensions: ['instrument', 'visit', 'skymap', 'tract', 'patch'], storageClass: 'Exposure', writeRecipe: 'lossless',
        doc: 'The visit on the patch\'s outer box, nJy per pixel.',
      },
      psfMatched: {
        datasetType: 'deepCoadd_psfMatchedWarp', dimensions: ['instrument', 'visit', 'skymap', 'tract', 'patch'], storageClass: 'Exposure', enabledBy: 'makePsfMatched', writeRecipe: 'lossless',
        doc: 'The visit convolved to the model PSF, then warped like the direct warp.',
      },
    },
  },
  config: {
    warpingKernelOrder: { type: 'number', integer: true, min: 1, max: 5, default: 3, description: 'Lanczos order of the warping kernel (afw lanczos3; HSC uses 5).' },
    interpLength: { type: 'number', integer: true, min: 1, default: 10, description: 'Output pixels between exact evaluations of the pixel mapping (afw WarpingControl interpLength).' },
    makePsfMatched: { type: 'boolean', default: true, description: 'Also make the PSF-matched warp (LSST makePsfMatched; its DRP pipelines set it).' },
    modelPsfFwhm: { type: 'number', min: 0, exclusiveMin: true, default: 7.7, description: 'FWHM (tract pixels) of the Gaussian model PSF of the PSF-matched warp (LSST HSC 7.7).' },
    matchingKernelSize: { type: 'number', integer: true, min: 3, default: 21, description: 'Box of the PSF-matching kernel, pixels, odd (LSST matchingKernelSize 21).' },
  },
  validate(config) {
    return config.matchingKernelSize % 2 === 1 ? undefined : { field: 'matchingKernelSize', problem: `must be odd, got ${config.matchingKernelSize}` };
  },

  run(inputs, config, context) {
    const tractId = quantumNumber(makeWarp, context, 'tract'), patchId = quantumNumber(makeWarp, context, 'patch');
    const visit = context.refs?.quantum?.visit;
    let tract, patch;
    try {
      tract = tractById(inputs.skyMap, tractId);
      patch = patchById(tract, patchId);
    } catch (err) {
      throw badInput(makeWarp, context, 'skyMap', (err as Error).message);
    }
    const outWcs = tractWcs(tract);
    const { x0: px0, y0: py0, width, height } = patch.outer;
    const planes0 = inputs.calExpList[0]!.maskPlanes;
    if (planes0.NO_DATA === undefined) throw badInput(makeWarp, context, 'calExpList', 'the calexp has no NO_DATA mask plane', 0);
    const direct: WarpSource[] = [], matched: WarpSource[] = [];
    const directCalexps: ExposureWithPsf[] = [];
    const used: string[] = [], matchedUsed: string[] = [], matchedDropped: string[] = [];
    inputs.calExpList.forEach((calexp, index) => {
      const name = String(inputRef(context, 'calExpList', index)?.dataId?.detector ?? index);
      if (JSON.stringify(calexp.maskPlanes) !== JSON.stringify(planes0)) throw badInput(makeWarp, context, 'calExpList', `its mask planes ${JSON.stringify(calexp.maskPlanes)} differ from the first calexp's`, index);
      const calibration = calexp.metadata.getNumber('PHOTCALB');
      if (!(calibration !== undefined && calibration > 0 && Number.isFinite(calibration))) {
        context.log.warn(`calexp of detector ${name} has no photometric calibration (PHOTCALB): left out of the warp`, { detector: name });
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
      // Patch-image pixel -> tract pixel -> sky -> calexp array pixel, and back.
      const mapping = wcsMapping(inWcs, outWcs, px0, py0);
      const source: WarpSource = { planes: calexp, scale: calibration, ...mapping };
      // The patch pixels the calexp reaches, found once for both warps.
      const box = coveredBox(source, width, height, config.warpingKernelOrder + 1);
      source.box = box;
      direct.push(source);
      directCalexps.push(calexp);
      used.push(name);
      if (!config.makePsfMatched) return;
      // Only the calexp's pixels the patch's warp reads are convolved, with the kernel's half beyond them
      // (its values there are the whole calexp's convolution's: the same taps): a calexp on several patches
      // is matched part by part. A calexp none of whose pixels reach the patch has nothing to match (its
      // direct warp adds nothing either).
      const cut = box && sourceBox(source, box, config.warpingKernelOrder + 2 + (config.matchingKernelSize >> 1));
      if (!cut) { matchedUsed.push(name); return; }
      const planes = psfMatchedPlanes(calexp, cut, inWcs, tract.pixelScaleArcsec, config, context, name);
      if (planes) {
        matched.push({ planes, x0: cut.x0, y0: cut.y0, box, scale: calibration, ...mapping });
        matchedUsed.push(name);
      } else matchedDropped.push(name);
    });
    if (direct.length === 0) throw new NoWorkError(makeWarp.name, `no calexp of visit ${String(visit)} has a photometric calibration`);

    const noDataBit = 1 << planes0.NO_DATA;
    const options = { order: config.warpingKernelOrder, interpLength: config.interpLength, noDataBit };
    const warped = warpSources(context.tessera, direct, width, height, options);
    const good = goodPixels(warped, noDataBit);
    if (good === 0) throw new NoWorkError(makeWarp.name, `no pixel of visit ${String(visit)}'s calexps lands on tract ${tractId} patch ${patchId}`);

    const metadata = warpMetadata(inputs.calExpList[0]!.metadata, tractId, patchId, config);
    metadata.set('WRPNIN', used.length, 'calexps warped');
    metadata.set('WRPDETS', used.join(','), 'their detectors');
    metadata.set('WRPGOOD', good / warped.mask.length, 'fraction of pixels with data', { real: true });
    context.log.info(`warped ${used.length} calexp(s) of visit ${String(visit)} onto tract ${tractId} patch ${patchId}: ${(100 * good / warped.mask.length).toFixed(1)} % of its pixels`, { inputs: used.length, goodPixels: good });
    const exposureOf = (w: WarpPlanes, header: FitsHeader): Exposure => ({
      width, height, x0: px0, y0: py0, image: w.image, mask: w.mask, variance: w.variance, maskPlanes: { ...planes0 }, metadata: header, wcsHeader: patchWcsHeader(tract, patch),
    });
    const psf = warpPsf(direct, directCalexps, warped, noDataBit, config.warpingKernelOrder);
    metadata.set('WRPPSF', psf !== undefined, 'the warp carries a PSF model');
    if (!psf) context.log.warn(`visit ${String(visit)}: no calexp PSF model reaches the patch: the warp has no PSF`);
    const outputs: MakeWarpOutputs = { direct: { ...exposureOf(warped, metadata), ...(psf ? { psf } : {}) } };
    if (config.makePsfMatched) {
      const m = warpSources(context.tessera, matched, width, height, options);
      const header = warpMetadata(inputs.calExpList[0]!.metadata, tractId, patchId, config);
      header.set('PSFMFWHM', config.modelPsfFwhm, '[px] FWHM of the Gaussian model PSF', { real: true });
      header.set('PSFMOK', matched.length > 0, 'at least one calexp was PSF-matched');
      header.set('WRPNIN', matchedUsed.length, 'calexps PSF-matched and warped');
      header.set('WRPDETS', matchedUsed.join(','), 'their detectors');
      header.set('PSFMDROP', matchedDropped.join(','), 'detectors left out: PSF not narrower than the model, or none');
      header.set('WRPGOOD', goodPixels(m, noDataBit) / m.mask.length, 'fraction of pixels with data', { real: true });
      if (matchedDropped.length) context.log.warn(`visit ${String(visit)}: detector(s) ${matchedDropped.join(', ')} left out of the PSF-matched warp`, { dropped: matchedDropped.length });
      outputs.psfMatched = exposureOf(m, header);
    }
    return outputs;
  },
};

/** The direct warp's PSF: at each grid node with data, the PSF of the calexp that filled it, warped (see lib/coadd/coaddPsf.ts). */
function warpPsf(sources: readonly WarpSource[], calexps: readonly ExposureWithPsf[], warped: WarpPlanes, noDataBit: number, order: number): PsfexModel | undefined {
  const psfs = calexps.map((c) => c.psf);
  const size = psfs.reduce((s, p) => Math.max(s, p?.stampSize ?? 0), 0);
  if (size === 0) return undefined;
  const nodes: PsfNode[] = [];
  for (const { x, y } of psfGridNodes(warped.width, warped.height)) {
    if (warped.mask[y * warped.width + x]! & noDataBit) continue;
    // Earlier sources win overlaps in warpSources: the first calexp whose pixels hold the node filled it.
    const k = sources.findIndex((s, i) => {
      const [u, v] = s.toSource(x, y);
      return u >= -0.5 && v >= -0.5 && u <= calexps[i]!.width - 0.5 && v <= calexps[i]!.height - 0.5;
    });
    const psf = k >= 0 ? psfs[k] : undefined;
    if (psf) nodes.push({ x, y, stamp: warpedKernelImage(psf, sources[k]!.toSource, x, y, size, order) });
  }
  return nodes.length ? fitGridPsf(nodes, size) : undefined;
}

/** Pixels with data; only the sources' boxes can hold any (everything else is NO_DATA). */
function goodPixels(w: WarpPlanes & { boxes: readonly (OutputBox | undefined)[] }, noDataBit: number): number {
  const box = unionBox(w.boxes);
  if (!box) return 0;
  let good = 0;
  for (let y = box.y0; y < box.y0 + box.height; y++) {
    for (let i = y * w.width + box.x0, end = i + box.width; i < end; i++) if ((w.mask[i]! & noDataBit) === 0) good++;
  }
  return good;
}

function warpMetadata(first: FitsHeader, tractId: number, patchId: number, config: Readonly<MakeWarpConfig>): FitsHeader {
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
  return metadata;
}

/** Pixel scale (arcsec) of a WCS at a pixel: the square root of the local pixel area. */
function localScaleArcsec(wcs: Wcs, x: number, y: number): number {
  const [r0, d0] = wcs.pixelToSky(x, y), [r1, d1] = wcs.pixelToSky(x + 1, y), [r2, d2] = wcs.pixelToSky(x, y + 1);
  const c = libm.cos((d0 * Math.PI) / 180);
  const ax = (r1 - r0) * c, ay = d1 - d0, bx = (r2 - r0) * c, by = d2 - d0;
  return Math.sqrt(Math.abs(ax * by - ay * bx)) * 3600;
}

/**
 * The calexp's image and variance inside `cut` convolved to the model PSF (NaN within the kernel's half of
 * the cut's edges), or undefined when they cannot be (no PSF, or not narrower than the model).
 */
function psfMatchedPlanes(calexp: ExposureWithPsf, cut: PixelBox, wcs: Wcs, tractScale: number, config: Readonly<MakeWarpConfig>, context: TaskContext, name: string): WarpPlanes | undefined {
  if (!calexp.psf) return undefined;
  const cx = (calexp.width - 1) / 2, cy = (calexp.height - 1) / 2;
  const targetSigma = (config.modelPsfFwhm / FWHM_PER_SIGMA) * (tractScale / localScaleArcsec(wcs, cx, cy));
  const psfSigma = calexp.psf.fwhmAt(cx, cy) / FWHM_PER_SIGMA;
  const n = Math.max(calexp.psf.stampSize | 1, 2 * Math.ceil(5 * targetSigma) + 1);
  const fit = fitMatchingKernel(calexp.psf.kernelImageAt(cx, cy, n), n, psfSigma, targetSigma, { kernelSize: config.matchingKernelSize, degrees: [4, 2, 2], sigmaFactors: [0.5, 1, 2] });
  if (!fit) return undefined;
  context.log.debug(`detector ${name}: PSF FWHM ${(psfSigma * FWHM_PER_SIGMA).toFixed(2)} px matched to ${(targetSigma * FWHM_PER_SIGMA).toFixed(2)} px (residual ${fit.residual.toExponential(1)} of the peak)`);
  const part = cutOut(calexp, cut);
  const image = convolveTerms(context.tessera, part.image, part.width, part.height, separableTerms(fit.kernel, fit.size));
  const variance = convolveTerms(context.tessera, part.variance, part.width, part.height, separableTerms(fit.kernel.map((k) => k * k), fit.size));
  return { width: part.width, height: part.height, image, variance, mask: part.mask };
}
