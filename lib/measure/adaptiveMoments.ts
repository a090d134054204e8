/**
 * Planes in wasm memory for PSF kernel images: an image of up to `capacity` f32 pixels and an f64 x 7
 * block for the moment sums (PsfLike.momentsAt; allocated by the caller, as MomentPlanes).
 */
export interface KernelMomentPlanes {
  tessera: Tessera;
  image: number;
  capacity: number;
  out: number;
}

/**
 * Adaptive moments of a PSF kernel image (size x size, the PSF centred on its middle pixel), starting at
 * that pixel with a weight of sigma0: with `planes` holding room for it, the image is copied there and
 * the sums run in wasm (the same bits).
 */
export function kernelImageMoments(kernel: Float32Array, size: number, sigma0: number, planes?: KernelMomentPlanes): Moments {
  const half = size >> 1;
  if (!planes || size * size > planes.capacity) return adaptiveMoments(kernel, size, size, half, half, { sigma0 });
  planes.tessera.planes.f32(planes.image, size * size).set(kernel);
  return adaptiveMoments(kernel, size, size, half, half, { sigma0, resident: { tessera: planes.tessera, image: planes.image, variance: 0, mask: 0, out: planes.out } });
}

/**
 * Adaptive second moments (Bernstein & Jarvis 2002; LSST meas_base SdssShape, GalSim HSM's
 * FindAdaptiveMom): the elliptical Gaussian weight W(x) = exp(-d^T M^-1 d / 2), d = x - centroid, is
 * iterated until its centroid and covariance M equal those of the weighted light, where the weighted
 * covariance estimate is 2 x sum(W I d d^T) / sum(W I) (the factor 2 makes W's covariance equal the
 * object's for a Gaussian object). Pixels are unit squares centred on integer coordinates (pixel (0, 0)
 * covers [-0.5, 0.5)), as in LSST and this project's catalogues.
 * Defaults follow SdssShape: maxIter 100, convergence when every moment changes by less than tol1 = 1e-5
 * (relative), centroid shifts under 1e-4 px; the sums run over |d| < 4 sigma of the current weight's
 * major axis (GalSim HSM's bound). Also returned: the Gaussian flux of the converged weight (LSST
 * GaussianFlux: 2 sum(W I) for W of peak 1, exact for a Gaussian object) with its error from the
 * variance plane, and the trace radius sqrt((xx + yy) / 2).
 * Failure is a flag, never an exception: non-positive weighted flux, a singular or exploding
 * covariance, no convergence, or the weight running off the image. A weight whose 4-sigma reach along its
 * major axis passes MAX_WEIGHT_REACH = 1000 px fails too (SINGULAR): LSST's SdssShape cuts the weight's
 * box at that radius (computeAdaptiveMomentsBBox's maxRadius) and goes on with the cut weight, which no
 * longer has the moments the iteration assumes. Such weights come from faint sources whose light looks
 * flat to the weight, whose moments then grow a hundredfold a step; each later step summed the whole
 * image (three quarters of all the pixels summed on the benchmark's HSC detector) before the centroid's
 * shift flagged them anyway. Units: pixels, pixels^2, image units.
 */
import { libm } from '../math/libm.js';
import { checkStatus } from '../wasm/kernels.js';
import type { Tessera } from '../wasm/loader.js';
export const MOMENT_FLAGS = {
  /** The weighted flux is not positive. */
  NO_FLUX: 1,
  /** The covariance became singular, or the weight's 4-sigma reach passed MAX_WEIGHT_REACH. */
  SINGULAR: 2,
  /** Did not converge in maxIter iterations (the last estimate is returned). */
  MAX_ITER: 4,
  /** The weight reaches past the image border (moments biased). */
  EDGE: 8,
  /** The centroid moved more than maxShift from the start. */
  SHIFT: 16,
} as const;

/** Largest 4-sigma reach of the weight along its major axis, pixels (LSST SdssShape's box radius limit). */
export const MAX_WEIGHT_REACH = 1000;

export interface Moments {
  /** Centroid, pixels. */
  x: number;
  y: number;
  /** Second moments of the object (weight covariance at convergence), pixels^2. */
  xx: number;
  yy: number;
  xy: number;
  /** Gaussian-weight flux (2 sum(W I), W of peak 1) and its 1-sigma error (needs a variance plane; NaN without). */
  flux: number;
  fluxErr: number;
  iterations: number;
  /** OR of MOMENT_FLAGS; 0 = good. */
  flags: number;
}

export interface MomentOptions {
  /** Starting sigma of a round weight, pixels (default 2). */
  sigma0?: number;
  maxIter?: number;
  tol1?: number;
  /** Largest centroid shift accepted from the start position, pixels (default 5). */
  maxShift?: number;
  /** Per-pixel variance for the flux error (same layout as the image). */
  variance?: ArrayLike<number>;
  /** Pixels whose mask has any of `badBits` are left out. */
  mask?: ArrayLike<number>;
  badBits?: number;
  /** Keep the centroid fixed at (x, y) (for PSF models centred by construction). */
  fixedCentroid?: boolean;
  /** The same image (and variance and mask, where given) in wasm memory: the sums run there (the same bits). */
  resident?: MomentPlanes;
}

/**
 * Planes in wasm memory (pointers; variance and mask 0 where none) and an f64 x 7 block for the sums;
 * the kernel allocates nothing, so the caller's views of wasm memory stay valid.
 */
export interface MomentPlanes {
  tessera: Tessera;
  image: number;
  variance: number;
  mask: number;
  out: number;
}

/**
 * The columns of a row where q = ixx dx^2 + 2 ixy dx dy + iyy dy^2 <= bound, dx = column - cx and dy the
 * row's offset from the centre (the ellipse's chord, widened by 1e-9 px), clipped to [lo, hi]: into
 * out[0] (first) and out[1] (last); out[0] > out[1] when the row misses the ellipse.
 */
function ellipseChord(cx: number, dy: number, ixx: number, ixy: number, iyy: number, bound: number, lo: number, hi: number, out: Int32Array): void {
  const centre = (-ixy * dy) / ixx, disc = centre * centre - (iyy * dy * dy - bound) / ixx;
  if (!(disc >= 0)) {
    out[0] = 1;
    out[1] = 0;
    return;
  }
  const half = Math.sqrt(disc) + 1e-9;
  out[0] = Math.max(lo, Math.ceil(cx + centre - half));
  out[1] = Math.min(hi, Math.floor(cx + centre + half));
}

/** ellipseSums' rows' chords and its outputs, reused by every call (nothing keeps them past one). */
const chord = new Int32Array(2);
const sumsOut = new Float64Array(7);

/**
 * Sums over the pixels within q = d^T M^-1 d <= 16 (4 sigma of the weight; M^-1 = (ixx, ixy; ixy, iyy))
 * of the box [x0, x1] x [y0, y1] clipped to the image, of W I, W I dx, W I dy, W I dx^2, W I dy^2,
 * W I dx dy and (with a variance plane) W^2 V, W = exp(-q / 2), d = pixel - (cx, cy), into out[0..6].
 * Non-finite pixels and those with a bad mask bit are left out. A row runs from the first pixel of the
 * ellipse's chord (less a 1e-9 px margin) to past its last in two lanes, the pixels at even and at odd
 * offsets, each with its weight by a recurrence over two pixels (q is quadratic in dx: two products a
 * pixel instead of an exponential, relative drift ~1e-14 over a row; two independent chains of
 * products); a last pixel of an odd count goes to lane 0, and the lanes' sums are added and weighted by
 * dy and dy^2 once at the row's end. The kernel momentSums (assembly/measure.ts) takes the same steps
 * on planes in wasm memory (in f64x2 lanes in the SIMD build) and gives the same bits.
 */
function ellipseSums(image: ArrayLike<number>, width: number, height: number, cx: number, cy: number, ixx: number, ixy: number, iyy: number,
  x0: number, x1: number, y0: number, y1: number, mask: ArrayLike<number> | undefined, badBits: number, variance: ArrayLike<number> | undefined, out: Float64Array): void {
  let s = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, sv = 0;
  const step2 = libm.exp(-ixx), step4 = step2 * step2, step8 = step4 * step4, e8 = 8 * ixx;
  const xa = Math.max(0, x0), xb = Math.min(width - 1, x1);
  for (let py = Math.max(0, y0); py <= Math.min(height - 1, y1); py++) {
    const dy = py - cy;
    ellipseChord(cx, dy, ixx, ixy, iyy, 16, xa, xb, chord);
    const from = chord[0]!, to = chord[1]!;
    if (from > to) continue;
    // Lane 0 at the chord's first pixel, lane 1 at the next; each steps two pixels.
    let dx0 = from - cx;
    let q0 = ixx * dx0 * dx0 + 2 * ixy * dx0 * dy + iyy * dy * dy;
    const dq = ixx * (2 * dx0 + 1) + 2 * ixy * dy;
    let w0 = libm.exp(-0.5 * q0);
    const ratio = libm.exp(-0.5 * dq);
    let dx1 = dx0 + 1, q1 = q0 + dq, w1 = w0 * ratio;
    let d0 = 2 * dq + 2 * ixx, d1 = d0 + 4 * ixx;
    let k0 = ratio * ratio * step2, k1 = k0 * step4;
    let a0 = 0, a1 = 0, a2 = 0, av = 0, b0 = 0, b1 = 0, b2 = 0, bv = 0;
    const row = py * width;
    // Pairs of pixels, the last of an odd count lane 0's (lane 1's state and the steps after it then unread).
    for (let px = from; px <= to; px += 2) {
      const i = row + px;
      let v = image[i]!;
      if (!(q0 > 16) && Number.isFinite(v) && !(mask && (mask[i]! & badBits) !== 0)) {
        const w = w0 * v, wdx = w * dx0;
        a0 += w;
        a1 += wdx;
        a2 += wdx * dx0;
        if (variance) av += w0 * w0 * variance[i]!;
      }
      if (px < to) {
        v = image[i + 1]!;
        if (!(q1 > 16) && Number.isFinite(v) && !(mask && (mask[i + 1]! & badBits) !== 0)) {
          const w = w1 * v, wdx = w * dx1;
          b0 += w;
          b1 += wdx;
          b2 += wdx * dx1;
          if (variance) bv += w1 * w1 * variance[i + 1]!;
        }
      }
      dx0 += 2; dx1 += 2;
      q0 += d0; q1 += d1;
      d0 += e8; d1 += e8;
      w0 *= k0; w1 *= k1;
      k0 *= step8; k1 *= step8;
    }
    const r0 = a0 + b0, r1 = a1 + b1;
    s += r0;
    sx += r1;
    sy += r0 * dy;
    sxx += a2 + b2;
    syy += r0 * dy * dy;
    sxy += r1 * dy;
    sv += av + bv;
  }
  out[0] = s;
  out[1] = sx;
  out[2] = sy;
  out[3] = sxx;
  out[4] = syy;
  out[5] = sxy;
  out[6] = sv;
}

/** Adaptive moments of the object near (x, y) in a row-major image of width x height. */
export function adaptiveMoments(image: ArrayLike<number>, width: number, height: number, x: number, y: number, options: MomentOptions = {}): Moments {
  const maxIter = options.maxIter ?? 100;
  const tol1 = options.tol1 ?? 1e-5;
  const maxShift = options.maxShift ?? 5;
  const s0 = options.sigma0 ?? 2;
  const { variance, mask } = options;
  const badBits = options.badBits ?? 0;
  let cx = x, cy = y;
  let mxx = s0 * s0, myy = s0 * s0, mxy = 0;
  let flags = 0;
  let iterations = 0;
  let edge = false;
  const sums = sumsOut, resident = options.resident;
  if (resident && ((resident.variance !== 0) !== (variance !== undefined) || (resident.mask !== 0) !== (mask !== undefined))) {
    throw new RangeError('adaptiveMoments: the resident planes must hold a variance and a mask exactly where the options give them');
  }
  // The kernel's output (no wasm allocation happens during the call, so the view stays valid).
  const residentOut = resident?.tessera.planes.f64(resident.out, 7);
  // ellipseSums at the current centroid, or the kernel that takes its steps on the planes in wasm memory.
  const sumsOver = (ixx: number, ixy: number, iyy: number, x0: number, x1: number, y0: number, y1: number, withVariance: boolean): void => {
    if (!resident) {
      ellipseSums(image, width, height, cx, cy, ixx, ixy, iyy, x0, x1, y0, y1, mask, badBits, withVariance ? variance : undefined, sums);
      return;
    }
    checkStatus('momentSums', resident.tessera.kernels.momentSums(resident.image, withVariance ? resident.variance : 0, resident.mask, width, height,
      cx, cy, ixx, ixy, iyy, x0, x1, y0, y1, badBits, resident.out));
    sums.set(residentOut!);
  };
  // The weight's inverse covariance and the box of its 4-sigma ellipse (major axis) about the centroid.
  const weightOf = (): { ixx: number; iyy: number; ixy: number; x0: number; x1: number; y0: number; y1: number } => {
    const det = mxx * myy - mxy * mxy;
    const major = Math.sqrt(0.5 * (mxx + myy) + Math.sqrt(0.25 * (mxx - myy) ** 2 + mxy * mxy));
    const r = 4 * major;
    return { ixx: myy / det, iyy: mxx / det, ixy: -mxy / det, x0: Math.floor(cx - r), x1: Math.ceil(cx + r), y0: Math.floor(cy - r), y1: Math.ceil(cy + r) };
  };
  // The weight M is usable: positive definite and its 4-sigma reach within MAX_WEIGHT_REACH.
  const usableWeight = (): boolean => {
    const major2 = 0.5 * (mxx + myy) + Math.sqrt(0.25 * (mxx - myy) ** 2 + mxy * mxy);
    return mxx * myy - mxy * mxy > 1e-12 && mxx > 0 && myy > 0 && 16 * major2 <= MAX_WEIGHT_REACH * MAX_WEIGHT_REACH;
  };
  for (iterations = 1; iterations <= maxIter; iterations++) {
    if (!usableWeight()) {
      flags |= MOMENT_FLAGS.SINGULAR;
      break;
    }
    const { ixx, iyy, ixy, x0, x1, y0, y1 } = weightOf();
    edge = x0 < 0 || y0 < 0 || x1 > width - 1 || y1 > height - 1;
    sumsOver(ixx, ixy, iyy, x0, x1, y0, y1, false);
    const s = sums[0]!, sx = sums[1]!, sy = sums[2]!, sxx = sums[3]!, syy = sums[4]!, sxy = sums[5]!;
    if (!(s > 0)) {
      flags |= MOMENT_FLAGS.NO_FLUX;
      break;
    }
    const ddx = options.fixedCentroid ? 0 : sx / s;
    const ddy = options.fixedCentroid ? 0 : sy / s;
    // Weighted covariance C of the light about the new centroid. For a Gaussian object A under the
    // weight M, C = (A^-1 + M^-1)^-1, so A = (C^-1 - M^-1)^-1: the next weight (exact in one step for a
    // Gaussian). Where that is not positive definite (weight far smaller than the object) the classic
    // step M = 2C is taken; both have the fixed point M = 2C that defines adaptive moments.
    const cxx = sxx / s - ddx * ddx, cyy = syy / s - ddy * ddy, cxy = sxy / s - ddx * ddy;
    const dc = cxx * cyy - cxy * cxy;
    if (!(dc > 0)) {
      flags |= MOMENT_FLAGS.SINGULAR;
      break;
    }
    let axx = cyy / dc - ixx, ayy = cxx / dc - iyy, axy = -cxy / dc - ixy;
    let da = axx * ayy - axy * axy;
    if (!(da > 0) || !(axx > 0)) {
      // M = 2C, written as its inverse.
      axx = cyy / (2 * dc);
      ayy = cxx / (2 * dc);
      axy = -cxy / (2 * dc);
      da = axx * ayy - axy * axy;
    }
    const nxx = ayy / da, nyy = axx / da, nxy = -axy / da;
    cx += ddx;
    cy += ddy;
    const change = Math.max(Math.abs(nxx - mxx) / mxx, Math.abs(nyy - myy) / myy, Math.abs(nxy - mxy) / Math.sqrt(mxx * myy));
    mxx = nxx;
    myy = nyy;
    mxy = nxy;
    if (Math.hypot(cx - x, cy - y) > maxShift) {
      flags |= MOMENT_FLAGS.SHIFT;
      break;
    }
    if (change < tol1 && Math.hypot(ddx, ddy) < 1e-4) break;
  }
  if (iterations > maxIter) {
    flags |= MOMENT_FLAGS.MAX_ITER;
    iterations = maxIter;
  }
  if (edge) flags |= MOMENT_FLAGS.EDGE;
  // The last step's weight (after a shift or the last iteration) is checked as every other before it is summed.
  if ((flags & (MOMENT_FLAGS.SINGULAR | MOMENT_FLAGS.NO_FLUX)) === 0 && !usableWeight()) flags |= MOMENT_FLAGS.SINGULAR;

  // Gaussian flux with the final weight (peak 1): F = 2 sum(W I); var = 4 sum(W^2 var).
  let flux = NaN, fluxErr = NaN;
  if ((flags & (MOMENT_FLAGS.SINGULAR | MOMENT_FLAGS.NO_FLUX)) === 0) {
    const { ixx, iyy, ixy, x0, x1, y0, y1 } = weightOf();
    sumsOver(ixx, ixy, iyy, x0, x1, y0, y1, true);
    flux = 2 * sums[0]!;
    fluxErr = variance ? 2 * Math.sqrt(sums[6]!) : NaN;
  }
  return { x: cx, y: cy, xx: mxx, yy: myy, xy: mxy, flux, fluxErr, iterations, flags };
}

/** Trace radius sqrt((xx + yy) / 2), pixels: sigma for a round Gaussian. */
export function traceRadius(m: Pick<Moments, 'xx' | 'yy'>): number {
  return Math.sqrt(0.5 * (m.xx + m.yy));
}

/** FWHM of the Gaussian with these moments' determinant radius (det^(1/4)), pixels. */
export function momentsFwhm(m: Pick<Moments, 'xx' | 'yy' | 'xy'>): number {
  return 2 * Math.sqrt(2 * Math.LN2) * libm.pow(m.xx * m.yy - m.xy * m.xy, 0.25);
}

/** Distortion-style ellipticity (e1, e2) = ((xx - yy), 2 xy) / (xx + yy), as LSST's and GalSim's HSM e1/e2. */
export function ellipticity(m: Pick<Moments, 'xx' | 'yy' | 'xy'>): [number, number] {
  const t = m.xx + m.yy;
  return [(m.xx - m.yy) / t, (2 * m.xy) / t];
}
