/**
 * The PSF model in PSFEx's own representation (Bertin 2011, ASPC 442, 435; PSFEx manual §"PSF model"),
 * so that the same object is Tessera's stored model and a `.psf` file PSFEx, GalSim (galsim.des.DES_PSFEx)
 * and LSST's meas_extensions_psfex read:
 *
 *   PSF(x, y)[q][p] = sum_t  c_t(x, y) B_t[q][p],     t = 0 .. nterms - 1
 *
 * - B (PSF_MASK) is a cube of nterms images of PSFAXIS2 x PSFAXIS1 samples, one sample every PSF_SAMP
 *   image pixels, the PSF centre at sample (floor(PSFAXIS1 / 2), floor(PSFAXIS2 / 2)) (PSFEx's
 *   vignet_resample centre, w / 2 in integer division). The model is the "effective" PSF: it already
 *   includes the pixel response, so sampling it at pixel centres gives the pixel-integrated PSF.
 * - c_t are the monomials of the scaled position X = (x_IMAGE - POLZERO1) / POLSCAL1,
 *   Y = (y_IMAGE - POLZERO2) / POLSCAL2 up to total degree POLDEG, in PSFEx's order (poly.c for one
 *   context group): 1, X, X^2, .., X^d, Y, XY, .., X^(d-1)Y, .., Y^d, i.e. Y's power in the outer loop,
 *   X's in the inner (GalSim's DES_PSFEx.getPSFArray builds the same vector). nterms = (d+1)(d+2)/2.
 * - x_IMAGE, y_IMAGE are SExtractor/PSFEx pixel coordinates, 1-BASED (FITS): this class takes Tessera's
 *   0-based pixel positions everywhere and adds 1 before applying POLZERO, so a model fitted here is
 *   interchangeable with one PSFEx fitted on X_IMAGE/Y_IMAGE.
 *
 * Evaluation on image pixels (`stampAt`): the sample grid is interpolated with a Lanczos kernel (order
 * 3 by default, as PSFEx's vignet_resample and GalSim's DES_PSFEx) at the image pixel centres, the PSF
 * centre on the requested sub-pixel position, and the stamp is normalised to unit sum. At PSF_SAMP = 1
 * and an integer centre this is exactly the sample grid (Lanczos taps are 0/1 at integer offsets).
 * Second moments and FWHM at a position are the adaptive moments (lib/measure/adaptiveMoments.ts) of the
 * kernel image there, as LSST's Psf.computeShape measures them.
 *
 * Implements lib/measure/psf.ts's PsfLike, so measurement takes it where it takes the Gaussian PSF.
 * Units: pixels; the model image is unitless (unit sum).
 */
import { ellipticity, kernelImageMoments, momentsFwhm, type KernelMomentPlanes, type Moments } from './adaptiveMoments.js';
import { lanczosAxisTaps } from './lanczos.js';
import { GaussianPsf, type PsfLike, type PsfStamp } from './psf.js';
import { libm } from '../math/libm.js';

/** Everything a PSFEx `.psf` file holds that the model needs, plus the fit's bookkeeping. */
export interface PsfexModelData {
  /** POLNAME1/2: the context parameters (X_IMAGE, Y_IMAGE or XWIN_IMAGE, YWIN_IMAGE). */
  polNames: [string, string];
  /** POLZERO1/2: offsets of the scaled position, in 1-based (FITS) pixel coordinates. */
  polZero: [number, number];
  /** POLSCAL1/2: scales of the scaled position, pixels (PSFEx: the range of the stars' positions). */
  polScale: [number, number];
  /** POLDEG1: total degree of the position polynomial. */
  polDeg: number;
  /** PSF_SAMP: image pixels per model sample (0.5 = two samples per pixel). */
  sampling: number;
  /** PSFAXIS1 (x) and PSFAXIS2 (y): samples per basis image. */
  width: number;
  height: number;
  /** PSF_MASK: nterms x height x width, row-major (x fastest), the basis images. */
  basis: Float32Array;
  /** PSF_FWHM (pixels), CHI2 (reduced chi^2 of the fit), LOADED and ACCEPTED star counts, when known. */
  fwhm?: number;
  chi2?: number;
  loaded?: number;
  accepted?: number;
}

/** The shape of the PSF at one position: adaptive moments of its kernel image. */
export interface PsfShape {
  /** Second moments, pixels^2. */
  xx: number;
  yy: number;
  xy: number;
  /** Determinant radius det(M)^(1/4) (GalSim's moments_sigma), pixels. */
  sigma: number;
  /** FWHM of the Gaussian with the same determinant radius, pixels. */
  fwhm: number;
  /** Distortion ellipticity ((xx - yy), 2 xy) / (xx + yy). */
  e1: number;
  e2: number;
  /** MOMENT_FLAGS of the measurement (0 = good). */
  flags: number;
}

/** Number of position-polynomial terms of total degree `degree` in two variables. */
export function polynomialTermCount(degree: number): number {
  return ((degree + 1) * (degree + 2)) / 2;
}

/** Fills `out` with PSFEx's monomials of (X, Y) up to total degree `degree` (see the module comment). */
export function polynomialTerms(X: number, Y: number, degree: number, out: Float64Array = new Float64Array(polynomialTermCount(degree))): Float64Array {
  let t = 0;
  let yPow = 1;
  for (let ny = 0; ny <= degree; ny++) {
    let xPow = 1;
    for (let nx = 0; nx <= degree - ny; nx++) {
      out[t++] = xPow * yPow;
      xPow *= X;
    }
    yPow *= Y;
  }
  return out;
}

/**
 * Work arrays of resampleToPixels and of the model's stamps, reused from call to call (grown when a call
 * needs more; nothing keeps them past a call): a source's PSF stamp and moments took ten fresh arrays.
 */
const work = { xFirst: new Int32Array(0), yFirst: new Int32Array(0), xWeights: new Float64Array(0), yWeights: new Float64Array(0), rows: new Float64Array(0), samples: new Float64Array(0), raw: new Float64Array(0) };
function workF64(name: 'xWeights' | 'yWeights' | 'rows' | 'samples' | 'raw', n: number): Float64Array {
  if (work[name].length < n) work[name] = new Float64Array(n);
  return work[name];
}
function workI32(name: 'xFirst' | 'yFirst', n: number): Int32Array {
  if (work[name].length < n) work[name] = new Int32Array(n);
  return work[name];
}

/**
 * Interpolates a sample grid (w x h, one sample per `sampling` image pixels, centre at sample
 * (floor(w / 2), floor(h / 2))) onto image pixels with a Lanczos kernel of `order`: output pixel (i, j)
 * lies (dx0 + i, dy0 + j) image pixels from the PSF centre. Linear in `samples`; no normalisation.
 * `out` has outW x outH pixels, row-major.
 */
export function resampleToPixels(
  samples: ArrayLike<number>, w: number, h: number, sampling: number, order: number,
  dx0: number, dy0: number, outW: number, outH: number, out: Float64Array = new Float64Array(outW * outH),
): Float64Array {
  const cx = Math.floor(w / 2), cy = Math.floor(h / 2);
  if (sampling === 1 && Number.isInteger(dx0) && Number.isInteger(dy0)) {
    // Whole-pixel offsets at unit sampling: every tap weight is exactly 0 or 1, so the result is the
    // samples themselves (0 off the grid), as the passes below would give it, bit for bit.
    for (let j = 0; j < outH; j++) {
      const q = cy + dy0 + j;
      for (let i = 0; i < outW; i++) {
        const p = cx + dx0 + i;
        out[j * outW + i] = q >= 0 && q < h && p >= 0 && p < w ? samples[q * w + p]! : 0;
      }
    }
    return out;
  }
  const taps = 2 * order;
  const xFirst = workI32('xFirst', outW), xWeights = workF64('xWeights', outW * taps);
  const yFirst = workI32('yFirst', outH), yWeights = workF64('yWeights', outH * taps);
  lanczosAxisTaps(cx, dx0, sampling, order, outW, xFirst, xWeights);
  lanczosAxisTaps(cy, dy0, sampling, order, outH, yFirst, yWeights);
  // Pass 1: along x for every sample row (over the taps on the grid); pass 2: along y.
  const rows = workF64('rows', h * outW);
  for (let i = 0; i < outW; i++) {
    const first = xFirst[i]!, kFrom = Math.max(0, -first), kTo = Math.min(taps, w - first), at = i * taps;
    for (let q = 0; q < h; q++) {
      const base = q * w + first;
      let s = 0;
      for (let k = kFrom; k < kTo; k++) s += xWeights[at + k]! * samples[base + k]!;
      rows[q * outW + i] = s;
    }
  }
  for (let j = 0; j < outH; j++) {
    const first = yFirst[j]!;
    for (let i = 0; i < outW; i++) out[j * outW + i] = 0;
    for (let k = 0; k < taps; k++) {
      const q = first + k;
      if (q < 0 || q >= h) continue;
      const wq = yWeights[j * taps + k]!;
      if (wq === 0) continue;
      for (let i = 0; i < outW; i++) out[j * outW + i]! += wq * rows[q * outW + i]!;
    }
  }
  return out;
}

/** sum_t c_t image_t over n values of term-major `images` (nterms x n), into out[0..n): terms with c_t = 0 skipped. */
function termSum(c: Float64Array, images: ArrayLike<number>, nterms: number, n: number, out: Float64Array): Float64Array {
  out.fill(0, 0, n);
  for (let t = 0; t < nterms; t++) {
    const ct = c[t]!;
    if (ct === 0) continue;
    const off = t * n;
    for (let i = 0; i < n; i++) out[i]! += ct * images[off + i]!;
  }
  return out;
}

/**
 * raw[0..n) scaled to unit sum, as f32, into `out` (the model at (x, y): a non-positive total is outside
 * its domain). Also for lib/measure/psfStamps.ts's stamps made in wasm.
 */
export function unitSum(raw: ArrayLike<number>, n: number, x: number, y: number, out: Float32Array = new Float32Array(n)): Float32Array {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += raw[i]!;
  if (!(sum > 0)) throw new RangeError(`PSF model at (${x}, ${y}) has non-positive total ${sum}: outside the model's domain`);
  for (let i = 0; i < n; i++) out[i] = raw[i]! / sum;
  return out;
}

/** A PSFEx-representation PSF model; see the module comment. */
export class PsfexModel implements PsfLike {
  readonly polNames: [string, string];
  readonly polZero: [number, number];
  readonly polScale: [number, number];
  readonly polDeg: number;
  readonly sampling: number;
  readonly width: number;
  readonly height: number;
  readonly basis: Float32Array;
  readonly nterms: number;
  readonly fwhm: number | undefined;
  readonly chi2: number | undefined;
  readonly loaded: number | undefined;
  readonly accepted: number | undefined;
  /** Lanczos order of the interpolation onto image pixels (3, as PSFEx and GalSim). */
  readonly interpolationOrder: number;
  private sigmaCache: number | undefined;
  /** Per basis term, its sample grid resampled onto a kernel image of kernelBasisSize px (kernelImageAt). */
  private kernelBasis: Float64Array | undefined;
  private kernelBasisSize = 0;

  constructor(data: PsfexModelData, options: { interpolationOrder?: number } = {}) {
    const { polDeg, sampling, width, height, basis } = data;
    if (!Number.isInteger(polDeg) || polDeg < 0 || polDeg > 10) throw new RangeError(`PSF model: POLDEG ${polDeg} is not an integer in 0..10`);
    if (!(sampling > 0) || !Number.isFinite(sampling)) throw new RangeError(`PSF model: PSF_SAMP ${sampling} must be positive`);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`PSF model: bad sample grid ${width}x${height}`);
    for (const s of data.polScale) if (!(s !== 0) || !Number.isFinite(s)) throw new RangeError(`PSF model: POLSCAL ${s} must be finite and non-zero`);
    for (const z of data.polZero) if (!Number.isFinite(z)) throw new RangeError(`PSF model: POLZERO ${z} must be finite`);
    const nterms = polynomialTermCount(polDeg);
    if (basis.length !== nterms * width * height) {
      throw new RangeError(`PSF model: PSF_MASK holds ${basis.length} values, POLDEG ${polDeg} and ${width}x${height} samples need ${nterms * width * height}`);
    }
    const order = options.interpolationOrder ?? 3;
    if (!Number.isInteger(order) || order < 1 || order > 8) throw new RangeError(`PSF model: Lanczos order ${order} must be an integer in 1..8`);
    this.polNames = [...data.polNames];
    this.polZero = [...data.polZero];
    this.polScale = [...data.polScale];
    this.polDeg = polDeg;
    this.sampling = sampling;
    this.width = width;
    this.height = height;
    this.basis = basis;
    this.nterms = nterms;
    this.fwhm = data.fwhm;
    this.chi2 = data.chi2;
    this.loaded = data.loaded;
    this.accepted = data.accepted;
    this.interpolationOrder = order;
  }

  /**
   * A round Gaussian of `sigma` px, pixel-integrated, as a constant model (POLDEG 0) of size x size samples
   * one pixel apart (size made odd): the PSF characterizeImage's psfFallback installs when too few stars
   * make one, in the form a calexp stores (LOADED and ACCEPTED 0 say no star was fitted).
   */
  static gaussian(sigma: number, size: number): PsfexModel {
    const n = size | 1, c = (n - 1) / 2;
    return new PsfexModel({
      polNames: ['X_IMAGE', 'Y_IMAGE'], polZero: [0, 0], polScale: [1, 1], polDeg: 0, sampling: 1, width: n, height: n,
      basis: new GaussianPsf(sigma).stampAt(c, c, n).stamp, fwhm: 2 * Math.sqrt(2 * Math.LN2) * sigma, loaded: 0, accepted: 0,
    });
  }

  /** The model's data (shares the basis array). */
  toData(): PsfexModelData {
    const d: PsfexModelData = {
      polNames: [...this.polNames], polZero: [...this.polZero], polScale: [...this.polScale], polDeg: this.polDeg,
      sampling: this.sampling, width: this.width, height: this.height, basis: this.basis,
    };
    if (this.fwhm !== undefined) d.fwhm = this.fwhm;
    if (this.chi2 !== undefined) d.chi2 = this.chi2;
    if (this.loaded !== undefined) d.loaded = this.loaded;
    if (this.accepted !== undefined) d.accepted = this.accepted;
    return d;
  }

  /** The position-polynomial vector c_t at a 0-based pixel position. */
  termsAt(x: number, y: number, out?: Float64Array): Float64Array {
    const X = (x + 1 - this.polZero[0]) / this.polScale[0];
    const Y = (y + 1 - this.polZero[1]) / this.polScale[1];
    return polynomialTerms(X, Y, this.polDeg, out);
  }

  /** The model's sample grid at a 0-based pixel position (height x width, not normalised). */
  samplesAt(x: number, y: number, out: Float64Array = new Float64Array(this.width * this.height)): Float64Array {
    return termSum(this.termsAt(x, y), this.basis, this.nterms, this.width * this.height, out);
  }

  /** Odd stamp size (image pixels) that holds the whole sample grid. */
  get stampSize(): number {
    const s = Math.ceil(Math.max(this.width, this.height) * this.sampling - 1e-9);
    return s % 2 === 1 ? s : s + 1;
  }

  /**
   * The PSF centred at (x, y) (0-based image pixels) on a size x size stamp of image pixels whose
   * pixel (i, j) is image pixel (x0 + i, y0 + j), x0 = round(x) - floor(size / 2); unit sum.
   */
  stampAt(x: number, y: number, size: number = this.stampSize): PsfStamp {
    if (!Number.isInteger(size) || size < 1 || size % 2 !== 1) throw new RangeError(`PSF stamp size ${size} must be a positive odd integer`);
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new RangeError(`PSF stamp position (${x}, ${y}) must be finite`);
    const half = size >> 1;
    const x0 = Math.round(x) - half, y0 = Math.round(y) - half;
    return { stamp: this.unitImage(x, y, x0 - x, y0 - y, size), size, x0, y0 };
  }

  /**
   * The kernel image at (x, y): the PSF centred on the middle pixel of a size x size stamp. A stamp centred
   * on an integer position is the kernel image, and its position only selects the polynomial; the
   * resampling being linear, the kernel image is sum_t c_t(x, y) R(basis_t), with each term's basis image
   * resampled once (R: the same Lanczos weights at every position) instead of the sum of the basis images
   * resampled at every call (the same values to rounding).
   */
  kernelImageAt(x: number, y: number, size: number = this.stampSize): Float32Array {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`PSF kernel image size ${size} must be a positive integer`);
    const half = size >> 1;
    const n = size * size, grid = this.width * this.height;
    if (this.kernelBasisSize !== size) {
      const basis = new Float64Array(this.nterms * n);
      for (let t = 0; t < this.nterms; t++) {
        resampleToPixels(this.basis.subarray(t * grid, (t + 1) * grid), this.width, this.height, this.sampling, this.interpolationOrder,
          -half, -half, size, size, basis.subarray(t * n, (t + 1) * n));
      }
      this.kernelBasis = basis;
      this.kernelBasisSize = size;
    }
    return unitSum(termSum(this.termsAt(x, y), this.kernelBasis!, this.nterms, n, workF64('raw', n)), n, x, y);
  }

  /** The model at (x, y) on size x size image pixels, pixel (i, j) at (dx0 + i, dy0 + j) from the PSF centre, scaled to unit sum. */
  private unitImage(x: number, y: number, dx0: number, dy0: number, size: number): Float32Array {
    const n = size * size;
    const raw = resampleToPixels(this.samplesAt(x, y, workF64('samples', this.width * this.height)), this.width, this.height, this.sampling, this.interpolationOrder,
      dx0, dy0, size, size, workF64('raw', n));
    return unitSum(raw, n, x, y);
  }

  /** Adaptive moments of the kernel image at (x, y) (centroid free, starting at the centre), summed in `planes` when given. */
  kernelMomentsAt(x: number, y: number, planes?: KernelMomentPlanes): Moments {
    return kernelImageMoments(this.kernelImageAt(x, y, this.stampSize), this.stampSize, this.roughSigma(), planes);
  }

  /** Second moments (pixels^2) of the PSF at (x, y), as adaptive moments measure them (PsfLike). */
  momentsAt(x: number, y: number, planes?: KernelMomentPlanes): { xx: number; yy: number; xy: number } {
    const m = this.kernelMomentsAt(x, y, planes);
    return { xx: m.xx, yy: m.yy, xy: m.xy };
  }

  /** Moments, determinant radius, FWHM and ellipticity of the PSF at (x, y). */
  shapeAt(x: number, y: number): PsfShape {
    const m = this.kernelMomentsAt(x, y);
    const [e1, e2] = ellipticity(m);
    const det = m.xx * m.yy - m.xy * m.xy;
    return { xx: m.xx, yy: m.yy, xy: m.xy, sigma: libm.pow(det, 0.25), fwhm: momentsFwhm(m), e1, e2, flags: m.flags };
  }

  /** FWHM (pixels) of the PSF at (x, y): momentsFwhm of its adaptive moments. */
  fwhmAt(x: number, y: number): number {
    return momentsFwhm(this.kernelMomentsAt(x, y));
  }

  /** The 0-based pixel position at the polynomial's origin (POLZERO - 1): the middle of the fitted stars. */
  get centre(): [number, number] {
    return [this.polZero[0] - 1, this.polZero[1] - 1];
  }

  /** Determinant radius det(M)^(1/4) (pixels) of the PSF at the model's centre (PsfLike). */
  get sigma(): number {
    if (this.sigmaCache === undefined) {
      const [cx, cy] = this.centre;
      this.sigmaCache = this.shapeAt(cx, cy).sigma;
    }
    return this.sigmaCache;
  }

  /** A starting sigma for the adaptive moments: PSF_FWHM when known, else 2 px. */
  private roughSigma(): number {
    const f = this.fwhm;
    return f !== undefined && f > 0.5 && f < 100 ? f / 2.3548 : 2;
  }
}
