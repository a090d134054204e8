/**
 * SExtractor's background and background-rms maps (SExtractor 2.x back.c, as SEP's background.c
 * reproduces it; Bertin & Arnouts 1996 §3.1):
 *  1. meshes of BACK_SIZE (bw x bh) pixels, the last column and row of meshes taking what is left; a mesh
 *     with fewer than half its pixels valid (finite, not masked) is bad.
 *  2. per mesh, mean and sigma of the valid pixels, then again within mean +- 2 sigma (backstat); a
 *     histogram of the pixels over mean +- 5 sigma with nlevels = min(4096, sqrt(2/pi) 5/4 n + 1) bins
 *     (backhisto); from it the clipped (+-3 sigma, iterated to convergence, up to 100 times) mode estimate
 *     2.5 median - 1.5 mean when |mean - median| < 0.3 sigma, else the median, and its sigma (backguess).
 *  3. bad meshes take the mean of the nearest good ones; BACK_FILTERSIZE (fw x fh) median filter of the
 *     mesh grids (background and sigma), the window shrunk symmetrically at the grid edges; a mesh is
 *     replaced only when it differs from the median by at least BACK_FILTTHRESH (default 0: always).
 *     The global background and rms are the medians of the filtered grids.
 *  4. natural bicubic splines through the mesh centres, first down each mesh column (makebackspline),
 *     then along each image row (bkg_line_flt_internal), for the background and for the rms.
 * Arithmetic: intermediate results in double, rounded to float (Math.fround) where the C code stores a
 * float, as an x87 build of SExtractor evaluates it. Against the reference check-images of
 * ../shared/data/real/sep_sextractor this gives max relative differences of 1.2e-6 (background) and
 * 3.5e-5 (rms) and the global rms to 1e-7; strict float arithmetic gave 1.3e-6, 3.1e-5 and 1.5e-6 (the
 * remaining differences are single pixels that fall in another histogram bin). Units: the image's.
 * Pixel (0, 0) is the lower-left (first) pixel; maps are row-major float32 like the image.
 */

const BIG = 1e30;
const BACK_MINGOODFRAC = 0.5;
const QUANTIF_NSIGMA = 5;
const QUANTIF_NMAXLEVELS = 4096;
const QUANTIF_AMIN = 4;
const f = Math.fround;

export interface SextractorBackgroundOptions {
  /** BACK_SIZE (pixels). */
  meshWidth: number;
  meshHeight: number;
  /** BACK_FILTERSIZE (meshes). */
  filterWidth: number;
  filterHeight: number;
  /** BACK_FILTTHRESH (image units; default 0). */
  filterThreshold?: number;
  /** Pixels to leave out of the statistics (non-zero: excluded), as SEP's mask. */
  mask?: Uint8Array;
}

/** The mesh grids and their spline second derivatives: enough to evaluate any row of either map. */
export interface SextractorBackground {
  readonly width: number;
  readonly height: number;
  readonly meshWidth: number;
  readonly meshHeight: number;
  readonly nx: number;
  readonly ny: number;
  /** Filtered mesh values (nx x ny, row-major) and their y second derivatives. */
  readonly back: Float32Array;
  readonly sigma: Float32Array;
  readonly dback: Float32Array;
  readonly dsigma: Float32Array;
  /** Medians of the filtered background and sigma grids (SExtractor's global background and rms). */
  readonly global: number;
  readonly globalRms: number;
}

export class SextractorBackgroundError extends Error {
  override readonly name = 'SextractorBackgroundError';
}

/** Median of a float array as SExtractor's fqmedian (sorts a copy; mean of the middle two for even n). */
export function fqmedian(values: ArrayLike<number>): number {
  const a = Float32Array.from(values).sort();
  const n = a.length;
  if (n < 2) return a[0]!;
  return n & 1 ? a[n >> 1]! : f((a[n / 2 - 1]! + a[n / 2]!) / 2);
}

interface MeshStats {
  mean: number;
  sigma: number;
  nlevels: number;
  qscale: number;
  qzero: number;
}

/** Clipped mean and sigma of one mesh and its histogram parameters (backstat), or undefined for a bad mesh. */
function meshStatistics(image: Float32Array, mask: Uint8Array | undefined, width: number, x0: number, y0: number, bw: number, bh: number): MeshStats | undefined {
  let mean = 0, sigma = 0, npix = 0;
  for (let y = y0; y < y0 + bh; y++) {
    for (let x = x0, i = y * width + x0; x < x0 + bw; x++, i++) {
      const pix = image[i]!;
      if (pix > -BIG && !(mask && mask[i])) { mean += pix; sigma += pix * pix; npix++; }
    }
  }
  if (f(npix) < f(bw * bh * BACK_MINGOODFRAC)) return undefined;
  mean /= npix;
  let sig = sigma / npix - mean * mean;
  sigma = sig > 0 ? Math.sqrt(sig) : 0;
  const lcut = f(mean - 2 * sigma), hcut = f(mean + 2 * sigma);
  mean = sigma = 0;
  npix = 0;
  for (let y = y0; y < y0 + bh; y++) {
    for (let x = x0, i = y * width + x0; x < x0 + bw; x++, i++) {
      const pix = image[i]!;
      if (!(mask && mask[i]) && pix <= hcut && pix >= lcut) { mean += pix; sigma += pix * pix; npix++; }
    }
  }
  mean /= npix;
  sig = sigma / npix - mean * mean;
  sigma = sig > 0 ? Math.sqrt(sig) : 0;
  const step = Math.sqrt(2 / Math.PI) * QUANTIF_NSIGMA / QUANTIF_AMIN;
  let nlevels = Math.trunc(step * npix + 1);
  if (nlevels > QUANTIF_NMAXLEVELS) nlevels = QUANTIF_NMAXLEVELS;
  return {
    mean: f(mean), sigma: f(sigma), nlevels,
    qscale: f(sigma > 0 ? 2 * QUANTIF_NSIGMA * sigma / nlevels : 1),
    qzero: f(mean - QUANTIF_NSIGMA * sigma),
  };
}

/** The mesh histogram (backhisto): bin = (int)(pix / qscale + 0.499999 - qzero / qscale) in float. */
function meshHistogram(image: Float32Array, mask: Uint8Array | undefined, width: number, x0: number, y0: number, bw: number, bh: number, s: MeshStats): Int32Array {
  const histo = new Int32Array(s.nlevels);
  const qscale = s.qscale;
  const cste = f(0.499999 - s.qzero / qscale);
  for (let y = y0; y < y0 + bh; y++) {
    for (let x = x0, i = y * width + x0; x < x0 + bw; x++, i++) {
      if (mask && mask[i]) continue;
      const bin = Math.trunc(image[i]! / qscale + cste);
      if (bin >= 0 && bin < s.nlevels) histo[bin]!++;
    }
  }
  return histo;
}

/** Background and sigma of a mesh from its histogram (backguess), both float. */
function meshMode(histo: Int32Array, s: MeshStats): [number, number] {
  const EPS = 1e-4;
  const nlevelsm1 = s.nlevels - 1;
  let hcut = nlevelsm1, lcut = 0;
  let sig = 10 * nlevelsm1, sig1 = 1;
  let mea = s.mean, med = s.mean;
  for (let n = 100; n-- > 0 && sig >= 0.1 && Math.abs(sig / sig1 - 1) > EPS;) {
    sig1 = sig;
    let sum = 0, lowsum = 0, highsum = 0;
    mea = sig = 0;
    let hilow = lcut, hihigh = hcut;
    for (let i = lcut; i <= hcut; i++) {
      if (lowsum < highsum) lowsum += histo[hilow++]!;
      else highsum += histo[hihigh--]!;
      const pix = histo[i]!;
      sum += pix;
      const dpix = pix * i;
      mea += dpix;
      sig += dpix * i;
    }
    const lo = histo[hilow] ?? 0, hi = histo[hihigh] ?? 0;
    med = hihigh >= 0 ? hihigh + 0.5 + (highsum - lowsum) / (2 * (lo > hi ? lo : hi)) : 0;
    if (sum) {
      mea /= sum;
      sig = sig / sum - mea * mea;
    }
    sig = sig > 0 ? Math.sqrt(sig) : 0;
    let ftemp = med - 3 * sig;
    lcut = ftemp > 0 ? Math.trunc(ftemp + 0.5) : 0;
    ftemp = med + 3 * sig;
    hcut = ftemp < nlevelsm1 ? Math.trunc(ftemp > 0 ? ftemp + 0.5 : ftemp - 0.5) : nlevelsm1;
  }
  const mode = Math.abs(sig) > 0
    ? (Math.abs((mea - med) / sig) < 0.3 ? s.qzero + (2.5 * med - 1.5 * mea) * s.qscale : s.qzero + med * s.qscale)
    : s.qzero + mea * s.qscale;
  return [f(mode), f(sig * s.qscale)];
}

/** Fills bad meshes from the nearest good ones, then median-filters both grids (filterback). */
function filterMeshes(back: Float32Array, sigma: Float32Array, nx: number, ny: number, fw: number, fh: number, fthresh: number): { global: number; globalRms: number } {
  const np = nx * ny;
  const back2 = new Float32Array(np), sigma2 = new Float32Array(np);
  for (let i = 0, py = 0; py < ny; py++) {
    for (let px = 0; px < nx; px++, i++) {
      back2[i] = back[i]!;
      if (back[i]! > -BIG) continue;
      let d2min = BIG, nmin = 0, val = 0, sval = 0;
      for (let j = 0, y = 0; y < ny; y++) {
        for (let x = 0; x < nx; x++, j++) {
          if (!(back[j]! > -BIG)) continue;
          const d2 = f((x - px) * (x - px) + (y - py) * (y - py));
          if (d2 < d2min) { val = back[j]!; sval = sigma[j]!; nmin = 1; d2min = d2; }
          else if (d2 === d2min) { val = f(val + back[j]!); sval = f(sval + sigma[j]!); nmin++; }
        }
      }
      back2[i] = nmin ? f(val / nmin) : 0;
      sigma[i] = nmin ? f(sval / nmin) : 1;
    }
  }
  back.set(back2);
  const npx = Math.trunc(fw / 2), npy = Math.trunc(fh / 2);
  const window = new Float32Array((2 * npx + 1) * (2 * npy + 1)), swindow = new Float32Array(window.length);
  for (let py = 0; py < ny; py++) {
    const npy2 = Math.min(npy, ny - 1 - py, py);
    for (let px = 0; px < nx; px++) {
      const npx2 = Math.min(npx, nx - 1 - px, px);
      let n = 0;
      for (let dy = -npy2; dy <= npy2; dy++) {
        for (let dx = -npx2; dx <= npx2; dx++) {
          window[n] = back[(py + dy) * nx + px + dx]!;
          swindow[n++] = sigma[(py + dy) * nx + px + dx]!;
        }
      }
      const k = py * nx + px;
      const med = fqmedian(window.subarray(0, n));
      if (Math.abs(med - back[k]!) >= fthresh) {
        back2[k] = med;
        sigma2[k] = fqmedian(swindow.subarray(0, n));
      } else {
        back2[k] = back[k]!;
        sigma2[k] = sigma[k]!;
      }
    }
  }
  back.set(back2);
  sigma.set(sigma2);
  const global = fqmedian(back2);
  let globalRms = fqmedian(sigma2);
  if (globalRms <= 0) {
    const positive = Float32Array.from(sigma2).sort().filter((v) => v > 0);
    globalRms = positive.length > 0 && positive.length < np ? fqmedian(positive) : 1;
  }
  return { global, globalRms };
}

/**
 * Second derivatives of natural cubic splines through `values` along y for each column of a grid
 * (makebackspline), rounded to float where SExtractor stores them.
 */
function splineDerivativesY(values: Float32Array, nx: number, ny: number): Float32Array {
  const d = new Float32Array(nx * ny);
  if (ny < 2) return d;
  const u = new Float32Array(ny);
  for (let x = 0; x < nx; x++) {
    for (let y = 1; y < ny - 1; y++) {
      const temp = f(-1 / (d[(y - 1) * nx + x]! + 4));
      d[y * nx + x] = temp;
      u[y] = f(temp * (u[y - 1]! - 6 * (values[(y + 1) * nx + x]! + values[(y - 1) * nx + x]! - 2 * values[y * nx + x]!)));
    }
    d[(ny - 1) * nx + x] = 0;
    for (let y = ny - 2; y >= 1; y--) d[y * nx + x] = f((d[y * nx + x]! * d[(y + 1) * nx + x]! + u[y]!) / 6);
  }
  return d;
}

/** Same along a single row of n nodes (the x pass of bkg_line_flt_internal). */
function splineDerivatives(node: Float32Array, n: number): Float32Array {
  const d = new Float32Array(n);
  if (n < 2) return d;
  const u = new Float32Array(n);
  for (let x = 1; x < n - 1; x++) {
    const temp = f(-1 / (d[x - 1]! + 4));
    d[x] = temp;
    u[x] = f(temp * (u[x - 1]! - 6 * (node[x + 1]! + node[x - 1]! - 2 * node[x]!)));
  }
  d[n - 1] = 0;
  for (let x = n - 2; x >= 1; x--) d[x] = f((d[x]! * d[x + 1]! + u[x]!) / 6);
  return d;
}

/** Estimates SExtractor's background meshes for an image (see the module comment). */
export function sextractorBackground(image: Float32Array, width: number, height: number, options: SextractorBackgroundOptions): SextractorBackground {
  const { meshWidth: bw, meshHeight: bh, filterWidth: fw, filterHeight: fh } = options;
  if (image.length !== width * height) throw new SextractorBackgroundError(`image holds ${image.length} pixels, expected ${width}x${height}`);
  for (const [name, v] of [['BACK_SIZE', bw], ['BACK_SIZE', bh], ['BACK_FILTERSIZE', fw], ['BACK_FILTERSIZE', fh]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new SextractorBackgroundError(`${name} must be a positive integer, got ${v}`);
  }
  if (options.mask && options.mask.length !== image.length) throw new SextractorBackgroundError('mask size does not match the image');
  const nx = Math.max(1, Math.trunc((width - 1) / bw) + 1);
  const ny = Math.max(1, Math.trunc((height - 1) / bh) + 1);
  const back = new Float32Array(nx * ny), sigma = new Float32Array(nx * ny);
  for (let j = 0; j < ny; j++) {
    const y0 = j * bh, h = Math.min(bh, height - y0);
    for (let i = 0; i < nx; i++) {
      const x0 = i * bw, w = Math.min(bw, width - x0);
      const stats = meshStatistics(image, options.mask, width, x0, y0, w, h);
      if (!stats) { back[j * nx + i] = -BIG; sigma[j * nx + i] = -BIG; continue; }
      const [mode, sig] = meshMode(meshHistogram(image, options.mask, width, x0, y0, w, h, stats), stats);
      back[j * nx + i] = mode;
      sigma[j * nx + i] = sig;
    }
  }
  if (!back.some((v) => v > -BIG)) throw new SextractorBackgroundError('no background mesh has enough valid pixels');
  const { global, globalRms } = filterMeshes(back, sigma, nx, ny, fw, fh, options.filterThreshold ?? 0);
  return {
    width, height, meshWidth: bw, meshHeight: bh, nx, ny, back, sigma,
    dback: splineDerivativesY(back, nx, ny), dsigma: splineDerivativesY(sigma, nx, ny), global, globalRms,
  };
}

/** A constant background (BACK_TYPE MANUAL with BACK_VALUE), with the rms of a measured one. */
export function manualBackground(measured: SextractorBackground, value: number): SextractorBackground {
  const back = new Float32Array(measured.nx * measured.ny).fill(value);
  return { ...measured, back, dback: new Float32Array(back.length), global: f(value) };
}

/** Row y of the background (or rms) map, bicubic-spline interpolated (bkg_line_flt_internal). */
export function backgroundRow(bkg: SextractorBackground, y: number, which: 'back' | 'rms', out: Float32Array = new Float32Array(bkg.width)): Float32Array {
  const values = which === 'back' ? bkg.back : bkg.sigma;
  const dvalues = which === 'back' ? bkg.dback : bkg.dsigma;
  const { nx: nbx, ny: nby, width } = bkg;
  let node: Float32Array, dnode: Float32Array;
  if (nby > 1) {
    let dy = f(y / bkg.meshHeight - 0.5);
    let yl = Math.trunc(dy);
    dy = f(dy - yl);
    if (yl < 0) { yl = 0; dy = f(dy - 1); }
    else if (yl >= nby - 1) { yl = nby < 2 ? 0 : nby - 2; dy = f(dy + 1); }
    const cdy = f(1 - dy);
    const dy3 = f(dy * dy * dy - dy);
    const cdy3 = f(cdy * cdy * cdy - cdy);
    node = new Float32Array(nbx);
    const lo = nbx * yl, hi = lo + nbx;
    for (let x = 0; x < nbx; x++) node[x] = f(cdy * values[lo + x]! + dy * values[hi + x]! + cdy3 * dvalues[lo + x]! + dy3 * dvalues[hi + x]!);
    dnode = splineDerivatives(node, nbx);
  } else {
    node = values.subarray(0, nbx);
    dnode = dvalues.subarray(0, nbx);
  }
  if (nbx > 1) {
    const nx = bkg.meshWidth;
    const xstep = f(1 / nx);
    const changepoint = Math.trunc(nx / 2);
    let dx = f((xstep - 1) / 2);
    const dx0 = f(((nx + 1) % 2) * xstep / 2);
    let b = 0;
    for (let p = 0, x = 0, i = 0; p < width; p++, i++, dx = f(dx + xstep)) {
      if (i === changepoint && x > 0 && x < nbx - 1) { b++; dx = dx0; }
      const cdx = f(1 - dx);
      out[p] = f(cdx * (node[b]! + (cdx * cdx - 1) * dnode[b]!) + dx * (node[b + 1]! + (dx * dx - 1) * dnode[b + 1]!));
      if (i === nx) { x++; i = 0; }
    }
  } else {
    out.fill(node[0]!);
  }
  return out;
}

/** The full background (or rms) map, row-major float32. */
export function backgroundMap(bkg: SextractorBackground, which: 'back' | 'rms'): Float32Array {
  const map = new Float32Array(bkg.width * bkg.height);
  for (let y = 0; y < bkg.height; y++) backgroundRow(bkg, y, which, map.subarray(y * bkg.width, (y + 1) * bkg.width));
  return map;
}

/** The background at pixel (x, y) by bilinear interpolation of the meshes (SExtractor's back(), SEP's sep_bkg_pix). */
export function backgroundAt(bkg: SextractorBackground, x: number, y: number): number {
  const { nx, ny } = bkg;
  let dx = x / bkg.meshWidth - 0.5, dy = y / bkg.meshHeight - 0.5;
  let xl = Math.trunc(dx), yl = Math.trunc(dy);
  dx -= xl;
  dy -= yl;
  if (xl < 0) { xl = 0; dx -= 1; } else if (xl >= nx - 1) { xl = nx < 2 ? 0 : nx - 2; dx += 1; }
  if (yl < 0) { yl = 0; dy -= 1; } else if (yl >= ny - 1) { yl = ny < 2 ? 0 : ny - 2; dy += 1; }
  const pos = yl * nx + xl;
  const cdx = 1 - dx;
  const b = bkg.back;
  const b0 = b[pos]!;
  const b1 = nx < 2 ? b0 : b[pos + 1]!;
  const up = ny < 2 ? (nx < 2 ? pos : pos + 1) : (nx < 2 ? pos + nx : pos + 1 + nx);
  const b2 = b[up]!;
  const b3 = nx < 2 ? b2 : b[ny < 2 ? pos : pos + nx]!;
  return f((1 - dy) * (cdx * b0 + dx * b1) + dy * (dx * b2 + cdx * b3));
}
