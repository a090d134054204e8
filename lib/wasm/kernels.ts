/**
 * The exports of build/tessera*.wasm, typed. Every kernel takes planes as (ptr, width, height) in
 * linear memory and returns a status code (0 = ok); see assembly/status.ts.
 */
export const KERNEL_STATUS: Record<number, string> = {
  0: 'ok',
  1: 'bad argument',
};

export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  simdEnabled(): number;
  convolveSeparable(src: number, dst: number, scratch: number, width: number, height: number, kernel: number, half: number): number;
  /** convolveSeparable with kernelX along rows and kernelY along columns (both 2 half + 1 f32 taps). */
  convolveSeparableXY(src: number, dst: number, scratch: number, width: number, height: number, kernelX: number, kernelY: number, half: number): number;
  /** dst += src over n f32 pixels. */
  addPlane(dst: number, src: number, n: number): number;
  /** Hough votes of nBlocks blocks (i32 indices) with f64 means into accSum (f64) / accCount (i32); layout in assembly/coadd.ts. */
  houghVote(blocks: number, nBlocks: number, means: number, nMeans: number, bw: number, cosines: number, sines: number, nTheta: number, nRho: number, rhoMax: number, sign: number, accSum: number, accCount: number): number;
  /** Adds to acc (f64 sum, count) the good variance pixels (finite, positive, none of badBits in mask) of n. */
  accumulateGoodVariance(variance: number, mask: number, width: number, height: number, first: number, last: number, badBits: number, acc: number): number;
  stackableColumns(mask: number, width: number, height: number, emptyBits: number, keepBits: number, out: number): number;
  /**
   * The weighted mean of nWarps direct warps over n pixels (layout in assembly/coadd.ts): `warps` nWarps
   * rows of (image, variance, mask, clipped u8) pointers, `weights` f64, `bits` nine i32 mask values.
   */
  stackWarpPixels(warps: number, weights: number, nWarps: number, n: number, bits: number, outImage: number, outVariance: number, outMask: number, outNImage: number): number;
  /** Adds Gaussian-mixture sources; `table` holds `nRows` rows of 5 f64 (layout in assembly/render.ts). */
  renderMixtures(plane: number, width: number, height: number, table: number, nRows: number): number;
  /**
   * Matched-filter S/N of each source of a renderMixtures table against `variance` (f32, e^2): writes one
   * f64 per source row to `out` (0 for flux 0 or a box off the plane); see assembly/render.ts.
   */
  mixtureSnr(table: number, nRows: number, variance: number, width: number, height: number, out: number): number;
  /** Replaces `n` f32 means by Poisson deviates; seeds are two u32 words. */
  poissonInPlace(plane: number, n: number, seedLo: number, seedHi: number): number;
  /** Adds normal deviates of standard deviation `sigma` to `n` f32 pixels. */
  addGaussian(plane: number, n: number, sigma: number, seedLo: number, seedHi: number): number;
  /** Spills charge above `fullWell` along columns; sets bit `satBit` in `mask` (0 = none) where a pixel ends at the full well. */
  bleedSaturation(plane: number, mask: number, width: number, height: number, rowPixels: number, fullWell: number, satBit: number): number;
  /** Adds a Gaussian-profile segment; sets bit `bit` in `mask` (0 = none) where it adds more than `maskThreshold`. */
  addLine(plane: number, width: number, height: number, x0: number, y0: number, x1: number, y1: number, sigma: number,
    fluxPerPixelLength: number, mask: number, bit: number, maskThreshold: number): number;
  /**
   * Per-pixel sigma-clipped mean of nFrames f32 planes, clip width from the median of the variance planes (widthFromVariance 1)
   * or afw MEANCLIP's sample widths (0); `images`/`variances` point at u32 plane pointer tables (variances 0: none);
   * scratch 32 x nFrames bytes; outVariance/outCount 0: skip (assembly/combine.ts).
   */
  combineClippedMean(images: number, variances: number, nFrames: number, nPixels: number, nSigma: number, nIter: number, widthFromVariance: number,
    scratch: number, outMean: number, outVariance: number, outCount: number): number;
  /** Median of the finite, unmasked pixels to out[0] (f64), their count to out[1]; scratch n f32. */
  planeMedian(src: number, mask: number, n: number, badBits: number, scratch: number, out: number): number;
  /** Mean of the finite, unmasked pixels to out[0] (f64), their count to out[1]. */
  planeMean(src: number, mask: number, n: number, badBits: number, out: number): number;
  /** Clipped-mean serial-overscan level (ADU, f64) of each row of a u16 raw box into out[0..h), rms of the kept pixels to out[h]; scratch w x h f32. */
  overscanRowLevels(raw: number, rawWidth: number, rawHeight: number, x0: number, y0: number, w: number, h: number, nSigma: number, scratch: number, out: number): number;
  /** Median (ADU, f64) of a u16 raw box into out[0]; scratch w x h f32. */
  overscanMedian(raw: number, rawWidth: number, rawHeight: number, x0: number, y0: number, w: number, h: number, scratch: number, out: number): number;
  /** (raw - level[row]) x gain into the assembled image at (outX0, outY0), flipped back; SAT bit where raw >= saturation (assembly/isr.ts). */
  assembleAmplifier(raw: number, rawWidth: number, rawHeight: number, dataX0: number, dataY0: number, w: number, h: number, flipX: number, flipY: number,
    level: number, gain: number, image: number, width: number, height: number, outX0: number, outY0: number, mask: number, saturation: number, satBit: number): number;
  /** image -= scale x calib; variance += scale^2 x calibVariance (either 0: no variance). */
  subtractScaled(image: number, variance: number, calib: number, calibVariance: number, n: number, scale: number): number;
  /** variance = max(image, 0) x poissonScale + readNoise2 over a box. */
  setVariance(image: number, variance: number, width: number, height: number, x0: number, y0: number, w: number, h: number, poissonScale: number, readNoise2: number): number;
  /** image /= flat, variance propagated (flatVariance 0: none); NaN where flat is not > 0. */
  divideByFlat(image: number, variance: number, flat: number, flatVariance: number, n: number): number;
  /** ORs bit `bit` into mask where image or variance (0: none) is not finite. */
  maskNonFinite(image: number, variance: number, mask: number, n: number, bit: number): number;
  /** ORs into dst, per set bit of src, the i32 entry of `table` (32 entries). */
  orMaskMapped(dst: number, src: number, n: number, table: number): number;
  /** Dilates mask plane `bit` by `radius` px (Manhattan metric); scratch width x height i32. */
  countMaskBits(mask: number, n: number, out: number): number;
  growMask(mask: number, scratch: number, width: number, height: number, bit: number, radius: number): number;
  /** Linear interpolation along rows over pixels with badBits; INTRP bit where filled, NO_DATA bit where impossible. */
  interpolateRows(image: number, variance: number, mask: number, width: number, height: number, badBits: number, avoidBits: number, intrpBit: number, noDataBit: number): number;
  /** image *= scale; variance *= scale^2 (variance 0: none). */
  scalePlanes(image: number, variance: number, n: number, scale: number): number;
  /** ORs bit into mask where image is not finite, count (0: none) < minCount, or (requirePositive) image not > 0. */
  flagInvalid(image: number, count: number, mask: number, n: number, minCount: number, requirePositive: number, bit: number): number;
  /** image and variance (0: none) = NaN where the mask has any of `bits`. */
  nanWhereMasked(image: number, variance: number, mask: number, n: number, bits: number): number;
  /**
   * afw MEANCLIP of the good pixels (finite, none of badBits) of each bin bounded by xEdges (nx + 1 i32) and yEdges (ny + 1 i32):
   * 4 f64 per bin to out (mean, variance of the mean, n used, n good); scratch: the largest bin's pixels of f32 (assembly/background.ts).
   */
  binClippedMean(image: number, mask: number, width: number, height: number, badBits: number, xEdges: number, nx: number, yEdges: number, ny: number,
    nSigma: number, nIter: number, scratch: number, out: number): number;
  /** Per block of block x block pixels: sum of image, sum of variance, good pixels (finite, none of skipBits); 3 f64 per block (assembly/halos.ts). */
  blockSums(image: number, mask: number, variance: number, width: number, height: number, block: number, skipBits: number, out: number): number;
  /**
   * Halo flags (nbx x nby u8) from blockSums' output and the reference sky per block (f64): significance and hysteresis per
   * block-size factor (nFactors i32), then growth and the isolated halos' test; scratch 22 x nbx x nby bytes (assembly/halos.ts).
   */
  haloBlocks(sums: number, sky: number, nbx: number, nby: number, block: number, width: number, height: number, factors: number, nFactors: number,
    seedThreshold: number, growThreshold: number, minGoodFraction: number, growSteps: number, isolatedThreshold: number, scratch: number, flags: number): number;
  /** ORs `bits` into every pixel of each block flagged non-zero (flags: nbx x nby u8) of `block` x `block` pixels. */
  orBlockMask(mask: number, width: number, height: number, block: number, nbx: number, nby: number, flags: number, bits: number): number;
  /** Model plane from per-row piecewise polynomials in u = (x - centre) x scale; coefficients height x nSeg x (degree + 1) f32, constant first. */
  evaluateRowPolynomials(out: number, width: number, height: number, breaks: number, nSeg: number, centres: number, scales: number, degree: number, coefficients: number): number;
  subtractRowPolynomials(image: number, width: number, height: number, breaks: number, nSeg: number, centres: number, scales: number, degree: number, coefficients: number): number;
  /**
   * Lanczos-`order` resampling of image/variance (f32) and bilinear OR of mask (i32) from a source onto the box of an output plane,
   * mapping from a grid of f64 (sx, sy) source positions every `step` output pixels; writes only output pixels with a noDataBits bit set,
   * fluxes conserved by |det J| and multiplied by `scale`, variances by the square (assembly/warp.ts).
   */
  warpLanczos(srcImage: number, srcVariance: number, srcMask: number, srcWidth: number, srcHeight: number, srcX0: number, srcY0: number,
    outImage: number, outVariance: number, outMask: number, outWidth: number, outHeight: number,
    boxX0: number, boxY0: number, boxWidth: number, boxHeight: number, grid: number, gridNx: number, gridNy: number, step: number, order: number, noDataBits: number, scale: number): number;
  /** Sets NaN and infinite pixels of an f32 plane to `value`; their number to the i32 at `count` (0: not wanted). */
  replaceNonFinite(plane: number, n: number, value: number, count: number): number;
  /** u8 flags = polarity x src >= threshold x rowScale[y] x columnScale[x] x sqrt(variance) (each factor 0: absent) (assembly/detection.ts). */
  thresholdPlane(src: number, width: number, height: number, variance: number, columnScale: number, rowScale: number, threshold: number, polarity: number, flags: number): number;
  /** 8-connected labels 1..N (raster order) of the nonzero u8 flags; N to out[0] (i32); parents: ceil(w/2) x ceil(h/2) + 1 i32. */
  labelComponents(flags: number, width: number, height: number, labels: number, parents: number, out: number): number;
  /**
   * Local maxima of polarity x values / (columnScale[x] x rowScale[y]) (f32 scales, each 0: absent) over the nonzero u8 flags: pixel
   * indices (i32, raster order, up to capacity) to peaks, the count to out[0].
   */
  findPeaks(values: number, flags: number, width: number, height: number, columnScale: number, rowScale: number, polarity: number, peaks: number, capacity: number, out: number): number;
  /** u8 flags dilated by a disk of `radius` px (at most 46340) into out (may be flags); scratch width x height u16. */
  dilateDisk(flags: number, out: number, width: number, height: number, radius: number, scratch: number): number;
  /** Runs (label, y, x0, x1 inclusive; 4 i32 each, up to capacity) of a label plane in raster order; the count to out[0]. */
  labelRuns(labels: number, width: number, height: number, runs: number, capacity: number, out: number): number;
  /** Mask bit set where the u8 flags are nonzero and cleared elsewhere. */
  setMaskBit(flags: number, mask: number, n: number, bit: number): number;
  /** mask &= ~bits over n i32 pixels. */
  clearMaskBits(mask: number, n: number, bits: number): number;
  /**
   * Circular aperture sums (assembly/measure.ts), exact-overlap weights up to exactRadius px, LSST's naive ones (pixel centres
   * within r) beyond: centres nSources (x, y) f64, radii nRadii f64 px; out (flux, variance) f64 per source and radius
   * (source-major); flags i32 per source and radius (1 edge, 2 non-finite skipped). variance 0: variances 0.
   */
  apertureFluxes(image: number, variance: number, width: number, height: number, centres: number, nSources: number, radii: number, nRadii: number, exactRadius: number, out: number, flags: number): number;
  /** PSF fluxes sum(P I) / sum(P^2) with variance sum(P^2 V) / sum(P^2)^2: stamps nSources x stampSize^2 f32, origins (x0, y0) i32; out (flux, variance) f64; flags i32 (1 edge, 2 non-finite, 4 no weight). */
  psfFluxes(image: number, variance: number, width: number, height: number, stamps: number, stampSize: number, origins: number, nSources: number, out: number, flags: number): number;
  /**
   * The PSF pixel-basis fit's kernels (assembly/psfFit.ts; layouts there): a padded P x P f64 stamp resampled onto the G x G sample grid
   * (outGood 0: values only); the per-sample weighted polynomial fit over `stars` (rows of four i32 pointers: values, good, weights, terms)
   * into basis (nterms x G^2 f32); the model on a star's stamp; a star's amplitude and chi^2 (out: amplitude, chi^2, good pixels, f64).
   */
  psfSampleGrid(plane: number, good: number, variance: number, P: number, G: number, taps: number, geometry: number,
    rows: number, rowsGood: number, outValues: number, outGood: number, outVariance: number): number;
  psfSolveSamples(stars: number, nStars: number, n: number, nterms: number, lower: number, rhs: number, count: number, sums: number, system: number, basis: number): number;
  psfModelOnStamp(basis: number, terms: number, nterms: number, G: number, P: number, taps: number, geometry: number, samples: number, rows: number, out: number): number;
  psfStarAmplitude(data: number, variance: number, good: number, model: number, P: number, pad: number, K: number, amplitude: number, accuracy: number, out: number): number;
  /** Adaptive moments' sums (assembly/measure.ts): out f64[7]; variance and mask 0: none. */
  momentSums(image: number, variance: number, mask: number, width: number, height: number, cx: number, cy: number, ixx: number, ixy: number, iyy: number,
    x0: number, x1: number, y0: number, y1: number, badBits: number, out: number): number;
  /** SdssCentroid of one source (assembly/centroid.ts): out f64 (x, y, xErr, yErr, iterations, flags). */
  sdssCentroid(image: number, variance: number, width: number, height: number, x0: number, y0: number, sigma: number,
    maxShift: number, maxIter: number, tolerance: number, out: number): number;
  /**
   * Kron radius and flux of one source (assembly/measure.ts): the adaptive moments (xx, yy, xy) at (x, y); out (r1, flux, variance,
   * flag 0/1) f64.
   */
  kronFlux(image: number, variance: number, width: number, height: number, x: number, y: number, xx: number, yy: number, xy: number,
    nSigmaForRadius: number, nRadiusForFlux: number, maxRadius: number, out: number): number;
  /** Exact area of the unit pixel centred at (dx, dy) inside the disc of radius r at the origin. */
  pixelDiscOverlap(dx: number, dy: number, r: number): number;
  /**
   * CR.cc first pass (assembly/cosmicRays.ts): flags u8 = 1 on pixels sharper than the PSF allows (thresholds cond3_fac2 x PSF neighbour / centre),
   * their indices i32 (raster order, up to capacity) and the count (capacity + 1: too many) to out[0]; detected pixels take their estimates in image.
   */
  findCosmicRayCandidates(image: number, variance: number, mask: number, width: number, height: number, background: number, minSigma: number, cond3Fac: number,
    thresH: number, thresV: number, thresD: number, badBits: number, neighbourBits: number, flags: number, indices: number, capacity: number, out: number): number;
  /** One CR growth pass around indices[0 .. count): new pixels flagged, replaced by their estimates, appended to indices; their number to out[0]. */
  growCosmicRays(image: number, variance: number, mask: number, width: number, height: number, background: number, minSigma: number, cond3Fac: number,
    thresH: number, thresV: number, thresD: number, badBits: number, flags: number, indices: number, count: number, capacity: number, out: number): number;
  /** Listed pixels with flag 1 interpolated (image and variance) from the nearest usable pixels (unflagged, no flag within guard px) along the shortest of 4 directions; intrpBit -1: none. */
  interpolateCosmicRays(image: number, variance: number, mask: number, width: number, height: number, flags: number, indices: number, count: number,
    avoidBits: number, guard: number, maxDistance: number, fallback: number, intrpBit: number): number;
  /**
   * Display (assembly/display.ts): RGBA u32 of n f32 pixels through a 65536-entry u32 lookup table
   * indexed by round(65535 (v - lo) / (hi - lo)) clipped; non-finite pixels get nanColour.
   */
  lutToRgba(src: number, n: number, lo: number, hi: number, lut: number, nanColour: number, out: number): number;
  /** `colour` (RGBA u32) where the mask word has any of `bits`, 0 elsewhere. */
  maskToRgba(mask: number, n: number, bits: number, colour: number, out: number): number;
  /** Counts (u32) of the finite values in [lo, hi] in nBins equal bins. */
  histogram(src: number, n: number, lo: number, hi: number, bins: number, nBins: number): number;
  /** out f64[3]: count, min and max of the finite values. */
  finiteRange(src: number, n: number, out: number): number;
  /** out f64[2]: numpy's linear percentiles pLow, pHigh (0-100) of the finite values; scratch n f32. */
  percentiles(src: number, n: number, pLow: number, pHigh: number, scratch: number, out: number): number;
  /** out f64[2]: astropy ZScaleInterval's limits; scratch 6 nSamples bytes. */
  zscale(src: number, n: number, nSamples: number, contrast: number, maxReject: number, minNpixels: number, krej: number, maxIterations: number, scratch: number, out: number): number;
  /** Block means of the finite pixels (NaN where none) and the OR of the mask words (outMask 0: skip). */
  binMean(src: number, mask: number, width: number, height: number, factor: number, out: number, outMask: number, scratch: number): number;
  /** Lupton et al. asinh RGB composite as astropy's make_lupton_rgb (assembly/display.ts); out RGBA u32. */
  luptonRgb(r: number, g: number, b: number, n: number, minR: number, minG: number, minB: number, stretch: number, q: number, out: number): number;
}

/** Throws when a kernel returned a non-zero status, naming the kernel and the status. */
export function checkStatus(kernel: string, status: number): void {
  if (status !== 0) throw new Error(`wasm kernel ${kernel} failed: ${KERNEL_STATUS[status] ?? `status ${status}`}`);
}
