// Tessera's kernels: pure compute on pixel planes in linear memory (see DESIGN.md, "Layers").
// Planes cross the boundary as (ptr, width, height); the host's plane allocator owns all memory above
// heapBase(), so kernels never allocate.
export { convolveSeparable, convolveSeparableXY, addPlane } from './convolution';
export { renderMixtures, mixtureSnr } from './render';
export { poissonInPlace, addGaussian } from './noise';
export { bleedSaturation } from './saturation';
export { addLine } from './lines';

/** First byte the host may allocate: everything below holds static data. */
export function heapBase(): usize {
  return __heap_base;
}

/** 1 when this build uses 128-bit SIMD, 0 for the scalar build. */
export function simdEnabled(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}
export { combineClippedMean, planeMedian, planeMean } from './combine';
export { overscanRowLevels, overscanMedian, assembleAmplifier, subtractScaled, setVariance, divideByFlat, maskNonFinite, orMaskMapped, countMaskBits, growMask, interpolateRows, scalePlanes, flagInvalid, nanWhereMasked } from './isr';
export { binClippedMean, evaluateRowPolynomials, subtractRowPolynomials } from './background';
export { blockSums, haloBlocks, orBlockMask } from './halos';
export { replaceNonFinite, thresholdPlane, labelComponents, findPeaks, dilateDisk, labelRuns, setMaskBit, clearMaskBits } from './detection';
export { apertureFluxes, psfFluxes, pixelDiscOverlap, kronFlux, momentSums } from './measure';
export { sdssCentroid } from './centroid';
export { psfSampleGrid, psfSolveSamples, psfModelOnStamp, psfStarAmplitude } from './psfFit';
export { findCosmicRayCandidates, growCosmicRays, interpolateCosmicRays } from './cosmicRays';
export { warpLanczos } from './warp';
export { lutToRgba, maskToRgba, histogram, finiteRange, percentiles, zscale, binMean, luptonRgb } from './display';
export { accumulateGoodVariance, stackableColumns, stackWarpPixels, houghVote } from './coadd';
