/**
 * assembleCoadd: the deep coadd of one patch in one band from its visits' warps, with artifact rejection
 * by comparing warps (LSST pipe_tasks CompareWarpAssembleCoaddTask): the visits' PSF-matched warps give
 * a static-sky template and each visit's transient footprints (lib/coadd/compareWarps.ts: satellite
 * trails, ghosts, cosmic rays missed in single-frame processing), which are excluded from that visit
 * only (CLIPPED) when the weighted mean of the direct warps is taken (lib/coadd/stackWarps.ts).
 * Outputs: deepCoadd (nJy per pixel, the patch WCS and box, the mask planes of stackWarps; metadata:
 * visits, weights, clipped footprints, ARTREJ = whether at least 3 visits allowed a comparison and
 * ARTCOMP the fraction of pixels where they did), deepCoadd_nImage (visits used per pixel: an afw
 * ImageU, as LSST stores it, on the coadd's box with its WCS) and deepCoadd_artifactMask per visit (the
 * spans clipped from that visit's warp, in tract pixels: columns y, x0, x1 inclusive). Direct and
 * PSF-matched warps are paired by visit; a visit whose PSF-matched warp has no data (PSFMOK F) has no
 * template input and no artifacts found.
 * The coadd carries its PSF (lib/coadd/coaddPsf.ts, LSST's CoaddPsf): at each point the visits' warp
 * PSFs weighted by their coadd weights, over the visits whose warps have data at that pixel (each warp's
 * coverage kept as spans), with a fit of it on a 7 x 7 grid of patch positions in PSFEx's representation
 * beside (COADDPSF T; F and a warning when no warp has a PSF).
 * Streaks (long straight trails too faint per pixel for the footprints) are clipped too (doStreaks,
 * lib/coadd/streaks.ts; NSTREAKS per visit), and the optical ghosts calibrate predicted and masked GHOST
 * (NGHOSTPX per visit). A visit's pixels where its direct warp has data but its PSF-matched warp has none
 * (the matching kernel's reach at its detectors' edges) could not be compared and are left out of that
 * visit, as LSST's CompareWarp masks them NO_DATA in the direct warp, where 2 or more other visits would
 * have allowed a comparison (lib/coadd/compareWarps.ts step 9; NUNMATCH per visit; never for a visit whose
 * PSF-matched warp has no data at all, which stays in the coadd outside the template); the coadd says
 * INEXACT_PSF there (lib/coadd/stackWarps.ts).
 * Holes without data because every visit there was rejected (a saturated star's core and bleed trail)
 * are interpolated across (doInterp, as LSST's assembleCoadd interpolates NO_DATA;
 * lib/coadd/interpolateHoles.ts), keeping NO_DATA and adding INTRP, so that coadd detection sees the star
 * whole rather than pieces around a hole; pixels no visit reached stay NaN. COADDINT counts them.
 * The warps are deferred inputs (deferLoad, lib/fits/deferredExposure.ts): the template and the mean read
 * every visit a band of rows at a time, the comparison one visit's warp at a time, so the quantum's memory
 * does not grow with the number of visits (LSST reads warps by subregion for the same reason).
 */
import { FitsHeader } from '../fits/header.js';
import type { ImageU } from '../fits/imageU.js';
import type { DeferredExposure, ExposurePixels } from '../fits/deferredExposure.js';
import { badInput, inputRef, type Task } from '../pipeline/task.js';
import type { SourceCatalog } from '../measure/sourceCatalog.js';
import { compareWarps, DEFAULT_COMPARE_WARPS_CONFIG } from '../coadd/compareWarps.js';
import { offsetSpans, type MaskSpans } from '../coadd/maskSpans.js';
import { DEFAULT_STREAK_CONFIG } from '../coadd/streaks.js';
import { stackWarps } from '../coadd/stackWarps.js';
import { interpolateHoles } from '../coadd/interpolateHoles.js';
import { FWHM_PER_SIGMA } from '../image/psfMatch.js';
import { PsfexModel } from '../measure/psfModel.js';
import { CoaddPsf, coverageFromSpans, covers, fitGridPsf, psfGridNodes, weightedStamp, type PsfNode } from '../coadd/coaddPsf.js';
import type { ExposureWithPsf } from './characterizeImage.js';

/** A warp read as the task asks (deferLoad), with the PSF a direct warp carries. */
export type DeferredWarp = DeferredExposure & { psf?: ExposureWithPsf['psf'] };

export interface AssembleCoaddConfig {
  threshold: number;
  spatialThreshold: number;
  maxNumEpochs: number;
  doStreaks: boolean;
  doInterp: boolean;
  streakMinLength: number;
}

export interface AssembleCoaddInputs {
  directWarps: DeferredWarp[];
  psfMatchedWarps: DeferredWarp[];
}

export interface AssembleCoaddOutputs {
  coadd: ExposureWithPsf;
  nImage: ImageU;
  artifactMasks: SourceCatalog[];
}

const COADD_DIMENSIONS = ['band', 'skymap', 'tract', 'patch'] as const;
const WARP_DIMENSIONS = ['instrument', 'visit', 'skymap', 'tract', 'patch'] as const;

export const assembleCoadd: Task<AssembleCoaddConfig, AssembleCoaddInputs, AssembleCoaddOutputs> = {
  name: 'assembleCoadd',
  summary: 'Coadd a patch\'s warps in one band, rejecting each visit\'s artifacts found by comparing its PSF-matched warp with a template.',
  dimensions: COADD_DIMENSIONS,
  connections: {
    inputs: {
      directWarps: { datasetType: 'deepCoadd_directWarp', dimensions: WARP_DIMENSIONS, storageClass: 'Exposure', multiple: true, minimum: 1, deferLoad: true, doc: 'Every visit\'s direct warp of the patch in the band.' },
      psfMatchedWarps: { datasetType: 'deepCoadd_psfMatchedWarp', dimensions: WARP_DIMENSIONS, storageClass: 'Exposure', multiple: true, minimum: 1, deferLoad: true, doc: 'The same visits\' PSF-matched warps.' },
    },
    outputs: {
      coadd: { datasetType: 'deepCoadd', dimensions: COADD_DIMENSIONS, storageClass: 'Exposure', doc: 'The coadd, nJy per pixel.' },
      nImage: { datasetType: 'deepCoadd_nImage', dimensions: COADD_DIMENSIONS, storageClass: 'ImageU', doc: 'Visits used per pixel (unsigned 16-bit, the coadd\'s box and WCS).' },
      artifactMasks: {
        datasetType: 'deepCoadd_artifactMask', dimensions: WARP_DIMENSIONS, storageClass: 'SourceCatalog', perInput: 'directWarps',
        doc: 'Per visit: the spans clipped from its warp (y, x0, x1 in tract pixels).',
      },
    },
  },
  config: {
    threshold: { type: 'number', min: 0, exclusiveMin: true, default: 5, description: 'Detection threshold on each visit\'s difference from the template, sigma (LSST 5).' },
    spatialThreshold: { type: 'number', min: 0, max: 1, default: 0.5, description: 'Fraction of a footprint\'s pixels seen in few epochs that makes it an artifact (LSST 0.5).' },
    maxNumEpochs: { type: 'number', integer: true, min: 0, default: 2, description: 'Most epochs an artifact may appear in (LSST maxNumEpochs 2, with maxFractionEpochsLow 0.4).' },
    streakMinLength: { type: 'number', min: 16, default: DEFAULT_STREAK_CONFIG.minLength, description: 'Shortest streak (px) the streak finder reports.' },
    doStreaks: { type: 'boolean', default: true, description: 'Find long straight streaks in each visit\'s difference and clip them (HSC\'s streak masking; lib/coadd/streaks.ts).' },
    doInterp: { type: 'boolean', default: true, description: 'Interpolate over holes where every visit was rejected (saturated cores), INTRP (LSST doInterp).' },
  },

  run(inputs, config, context) {
    const direct = inputs.directWarps, matchedList = inputs.psfMatchedWarps;
    const first = direct[0]!;
    const visitOf = (connection: 'directWarps' | 'psfMatchedWarps', k: number, e: DeferredWarp): string =>
      String(inputRef(context, connection, k)?.dataId?.visit ?? e.metadata.getNumber('VISIT') ?? k);
    direct.forEach((w, k) => {
      if (w.width !== first.width || w.height !== first.height || w.x0 !== first.x0 || w.y0 !== first.y0) {
        throw badInput(assembleCoadd, context, 'directWarps', `box ${w.width}x${w.height}+${w.x0}+${w.y0} differs from the first warp's ${first.width}x${first.height}+${first.x0}+${first.y0}`, k);
      }
      if (JSON.stringify(w.maskPlanes) !== JSON.stringify(first.maskPlanes)) throw badInput(assembleCoadd, context, 'directWarps', 'its mask planes differ from the first warp\'s', k);
    });
    // The PSF-matched warp of each direct warp's visit.
    const matchedByVisit = new Map(matchedList.map((m, k) => [visitOf('psfMatchedWarps', k, m), m]));
    const visits = direct.map((w, k) => visitOf('directWarps', k, w));
    const planes = first.maskPlanes;
    const bit = (name: string): number => (planes[name] === undefined ? 0 : 1 << planes[name]!);
    const noData = bit('NO_DATA');
    // A visit whose PSF matching failed: a warp with no data.
    const empty = (like: DeferredWarp): DeferredWarp => ({
      ...like,
      read(wanted, region) {
        const m = region ? region.width * region.height : first.width * first.height;
        const out: ExposurePixels = {};
        for (const plane of wanted) {
          if (plane === 'MASK') out.mask = new Int32Array(m).fill(noData);
          else out[plane === 'IMAGE' ? 'image' : 'variance'] = new Float32Array(m).fill(NaN);
        }
        return out;
      },
    });
    const matched = visits.map((v, k) => {
      const m = matchedByVisit.get(v);
      if (!m) throw badInput(assembleCoadd, context, 'psfMatchedWarps', `no PSF-matched warp for visit ${v} (direct warp ${k})`);
      if (m.width !== first.width || m.height !== first.height) throw badInput(assembleCoadd, context, 'psfMatchedWarps', `visit ${v}: ${m.width}x${m.height} px, the direct warp ${first.width}x${first.height}`);
      return m.metadata.getBoolean('PSFMOK') === false ? empty(m) : m;
    });
    const fwhm = matched.map((m) => m.metadata.getNumber('PSFMFWHM')).find((f) => f !== undefined) ?? 7.7;

    const comparison = compareWarps(context.tessera, matched, { noData, bad: bit('BAD'), sat: bit('SAT'), suspect: bit('SUSPECT'), ghost: bit('GHOST') }, fwhm / FWHM_PER_SIGMA,
      { ...DEFAULT_COMPARE_WARPS_CONFIG, threshold: config.threshold, spatialThreshold: config.spatialThreshold, maxNumEpochs: config.maxNumEpochs,
        doStreaks: config.doStreaks, streaks: { ...DEFAULT_STREAK_CONFIG, minLength: config.streakMinLength } }, undefined, direct);
    // A visit's pixels beyond its PSF-matched warp's data were not compared: left out of it (LSST's CompareWarp).
    const stack = stackWarps(context.tessera, direct, comparison.clipped, planes, { leftOut: comparison.unmatched });
    const unmatched = comparison.unmatched.map((s) => s.x1.reduce((a, x1, k) => a + x1 - s.x0[k]! + 1, 0));
    // The warps' kernel reach (WRPKERN lanczosN: N px) around a rejected pixel is NaN too.
    const reach = Number(/^lanczos(\d)$/.exec(first.metadata.getString('WRPKERN') ?? '')?.[1] ?? 3);
    const interpolated = config.doInterp && planes.INTRP !== undefined ? interpolateHoles(stack, noData, bit('REJECTED'), planes.INTRP, reach) : 0;

    const psf = coaddPsf(direct, visits, stack.weights, stack.coverage);
    const n = first.width * first.height;
    let good = 0;
    for (let i = 0; i < n; i++) if (stack.nImage[i]! > 0) good++;
    const enough = visits.length >= 3;
    const metadata = new FitsHeader();
    for (const key of ['FILTER', 'BAND']) {
      const card = first.metadata.cards.find((c) => c.key === key && !c.commentary);
      if (card) metadata.cards.push({ ...card });
    }
    metadata.set('BUNIT', 'nJy', 'pixel values: nJy per pixel');
    metadata.set('PHOTCALB', 1, '[nJy/ct] the coadd is calibrated', { real: true });
    for (const key of ['TRACT', 'PATCH']) {
      const v = first.metadata.getNumber(key);
      if (v !== undefined) metadata.set(key, v);
    }
    metadata.set('NVISITS', visits.length, 'visits coadded');
    metadata.set('VISITS', visits.join(','), 'their ids');
    metadata.set('WEIGHTS', stack.weights.map((w) => w.toPrecision(6)).join(','), 'their weights (1 / mean variance)');
    metadata.set('NCLIPPED', comparison.nClipped.join(','), 'artifact footprints clipped per visit');
    metadata.set('NSTREAKS', comparison.streaks.map((s) => s.length).join(','), 'streaks clipped per visit');
    metadata.set('NGHOSTPX', comparison.ghostPixels.join(','), 'ghost (GHOST) pixels clipped per visit');
    metadata.set('NUNMATCH', unmatched.join(','), 'pixels left out per visit: no PSF-matched data');
    metadata.set('ARTREJ', enough, 'artifact rejection possible (at least 3 visits)');
    metadata.set('ARTCOMP', comparison.comparable / n, 'fraction of pixels with at least 3 visits to compare', { real: true });
    metadata.set('COADDGD', good / n, 'fraction of pixels with data', { real: true });
    metadata.set('COADDINT', interpolated, 'pixels without data interpolated over (doInterp; NO_DATA and INTRP)');
    metadata.set('COADDPSF', psf !== undefined, 'the coadd carries a PSF model');
    if (!psf) context.log.warn('no warp carries a PSF model: the coadd has none');
    const clippedTotal = comparison.nClipped.reduce((a, b) => a + b, 0);
    const streakTotal = comparison.streaks.reduce((a, s) => a + s.length, 0);
    if (streakTotal) context.log.info(`${streakTotal} streak(s) clipped: ${comparison.streaks.flatMap((s, v) => s.map((t) => `visit ${visits[v]} (S/N ${t.snr.toFixed(0)}, ${t.length.toFixed(0)} px, half width ${t.halfWidth.toFixed(1)} px)`)).join(', ')}`, { streaks: streakTotal });
    if (!enough) context.log.warn(`only ${visits.length} visit(s): too few to compare warps, no artifact rejection`, { visits: visits.length });
    context.log.info(`coadded ${visits.length} visit(s); ${clippedTotal} artifact footprint(s) clipped (${comparison.nCandidates.reduce((a, b) => a + b, 0)} candidates); ${(100 * good / n).toFixed(1)} % of pixels with data`,
      { visits: visits.length, clipped: clippedTotal });

    const artifactMasks: SourceCatalog[] = comparison.clipped.map((clipped, k) => {
      const spans = offsetSpans(clipped, first.x0, first.y0);
      const header = new FitsHeader();
      header.set('VISIT', Number(visits[k]) || 0, 'the visit whose warp these spans were clipped from');
      header.set('NFOOTPR', comparison.nClipped[k]!, 'artifact footprints clipped');
      header.set('NSTREAK', comparison.streaks[k]!.length, 'streaks clipped');
      header.set('NGHOSTPX', comparison.ghostPixels[k]!, 'ghost (GHOST) pixels clipped');
      return { length: spans.y.length, columns: { y: spans.y, x0: spans.x0, x1: spans.x1 }, metadata: header };
    });
    const { psf: _firstPsf, ...frame } = first;
    return {
      coadd: { ...frame, image: stack.image, variance: stack.variance, mask: stack.mask, metadata, ...(psf ? { psf } : {}) },
      nImage: { width: first.width, height: first.height, x0: first.x0, y0: first.y0, image: stack.nImage, metadata: metadata.clone(), wcsHeader: first.wcsHeader },
      artifactMasks,
    };
  },
};

/** The coadd PSF (see lib/coadd/coaddPsf.ts): the warps' PSFs, coadd weights and coverage (pixels with data), and the node-grid fit. */
function coaddPsf(warps: readonly DeferredWarp[], visits: readonly (string | number)[], weights: readonly number[], coverage: readonly MaskSpans[]): CoaddPsf | undefined {
  const size = warps.reduce((s, w) => Math.max(s, w.psf?.stampSize ?? 0), 0);
  if (size === 0) return undefined;
  const { width, height } = warps[0]!;
  const used = warps.map((warp, v) => (warp.psf instanceof PsfexModel && weights[v]! > 0 ? v : -1)).filter((v) => v >= 0);
  const covered = warps.map((_, v) => coverageFromSpans(height, coverage[v]!.y, coverage[v]!.x0, coverage[v]!.x1));
  const nodes: PsfNode[] = [];
  for (const { x, y } of psfGridNodes(width, height)) {
    const at = used.filter((v) => covers(covered[v]!, x, y));
    if (at.length) nodes.push({ x, y, stamp: weightedStamp(at.map((v) => warps[v]!.psf!.kernelImageAt(x, y, size)), at.map((v) => weights[v]!)) });
  }
  if (nodes.length === 0) return undefined;
  const inputs = used.map((v) => ({ visit: Number(visits[v]), weight: weights[v]!, psf: warps[v]!.psf as PsfexModel, coverage: covered[v]! }));
  return new CoaddPsf(fitGridPsf(nodes, size), inputs);
}
