/**
 * SExtractor's detection and isophotal analysis (SExtractor 2.x scan.c, lutz.c, deblend.c, clean.c,
 * analyse.c, as SEP's extract.c, lutz.c, deblend.c and analyse.c reproduce them):
 *  1. filtering: the background-subtracted image convolved with the FILTER_NAME kernel (already
 *     normalised), pixels beyond the image counting as 0 (no renormalisation), accumulated in the kernel's
 *     row-major order as SEP's convolve() does. Masked pixels are set to 0 first (SEP).
 *  2. thresholding: a pixel is detected when its filtered value is strictly above the threshold (image
 *     units): DETECT_THRESH x the global background rms (RELATIVE) or DETECT_THRESH (ABSOLUTE); with a
 *     variance map, DETECT_THRESH x sqrt(variance) of that pixel (SEP's relative threshold with a noise
 *     array).
 *  3. segmentation: Lutz's one-pass algorithm (8-connected pixels), ported line by line so objects come
 *     out in SExtractor's order and with their pixels in its order; objects smaller than DETECT_MINAREA
 *     are dropped; OBJ_TRUNC when a pixel lies on the image border.
 *  4. deblending (DEBLEND_NTHRESH levels exponentially spaced between the threshold and the object's
 *     filtered peak; branches holding more than DEBLEND_MINCONT of the object's filtered flux above their
 *     level become objects; the remaining pixels go to them at random, weighted by each child's Gaussian
 *     profile: gatherup()). The random numbers come from glibc's rand() seeded with 1 at each extraction,
 *     as SEP running on Linux draws them; SExtractor's own sequence differs, so faint pixels of blends can
 *     be shared differently. DEBLEND_MINCONT = 1 keeps every object whole. More than 1024 branches at one
 *     level: the object stays whole with DEBLEND_OVERFLOW (64) set, as in SExtractor.
 *  5. isophotal analysis: barycentre (X/Y) and second moments (X2/Y2/XY) weighted by the filtered values,
 *     their errors from the pixel variances (ERRX2/ERRY2/ERRXY), the ellipse A, B, THETA and CXX, CYY,
 *     CXY, the Kron-like abcor, with SExtractor's 1/12 px^2 fix for singular (one-row) objects.
 *  6. CLEAN: each object with the profile amp (1 + alpha r^2)^-beta (beta = CLEAN_PARAM) fitted to its
 *     isophote "eats" a fainter neighbour within 10 x (A1 + A2) whose minarea-th brightest pixel lies below
 *     that profile there (SExtractor's heap selection of that pixel, quirks included).
 * Coordinates are 0-based pixel indices (x along a row); flags use SExtractor's FLAGS bits. Arithmetic:
 * double intermediates rounded to float where the C code stores a float (as in ./background.ts).
 */
import { libm } from '../../math/libm.js';

/** SExtractor's FLAGS bits. */
export const SEXTRACTOR_FLAGS = Object.freeze({
  CROWDED: 1,
  MERGED: 2,
  SATURATED: 4,
  TRUNCATED: 8,
  APERTURE_INCOMPLETE: 16,
  ISOPHOTE_INCOMPLETE: 32,
  DEBLEND_OVERFLOW: 64,
  EXTRACTION_OVERFLOW: 128,
});

/** SExtractor's PI (define.h), used where its formulas use it. */
export const SEX_PI = 3.1415926535898;
const CLEAN_ZONE = 10.0;
const MAXDEBAREA = 3;
const NSONMAX = 1024;
const f = Math.fround;

/** The planes detection and analysis read. */
export interface DetectionPlanes {
  readonly width: number;
  readonly height: number;
  /** Background-subtracted image (float), masked pixels 0. */
  readonly image: Float32Array;
  /** The filtered image (the image itself without a filter). */
  readonly filtered: Float32Array;
  /** Per-pixel detection threshold, or one threshold for all pixels (image units, float). */
  readonly threshold: Float32Array | number;
  /** Per-pixel variance, or one variance for all pixels (image units^2). */
  readonly variance: Float32Array | number;
}

export interface DetectionSettings {
  minArea: number;
  maxArea: number;
  deblendNThresh: number;
  deblendMinCont: number;
  clean: boolean;
  cleanParam: number;
  /** e-/ADU for the Poisson term of the position errors (0: none). */
  gain: number;
}

/** One detected (possibly deblended) object: its pixels and isophotal measurements. */
export interface IsophotalObject {
  /** Pixel indices (y width + x), in SExtractor's list order. */
  pixels: Int32Array;
  flag: number;
  /** The threshold of its isophote (float, image units). */
  thresh: number;
  // preanalyse
  fdnpix: number;
  /** Sum of the filtered values (float). */
  fdflux: number;
  /** Highest filtered value and its pixel. */
  fdpeak: number;
  xcpeak: number;
  ycpeak: number;
  /** Highest image value and its pixel. */
  dpeak: number;
  xpeak: number;
  ypeak: number;
  xmin: number;
  xmax: number;
  ymin: number;
  ymax: number;
  // analyse
  /** Pixels of the image above the threshold; sum of the image values. */
  dnpix: number;
  dflux: number;
  mx: number;
  my: number;
  mx2: number;
  my2: number;
  mxy: number;
  errx2: number;
  erry2: number;
  errxy: number;
  /** Semi-axes (float, pixels) and position angle (radians, counter-clockwise from x). */
  a: number;
  b: number;
  theta: number;
  cxx: number;
  cyy: number;
  cxy: number;
  abcor: number;
  singular: boolean;
  /** Filtered value minus threshold of its minarea-th brightest pixel (for CLEAN). */
  mthresh: number;
}

function newObject(pixels: Int32Array, flag: number, thresh: number): IsophotalObject {
  return {
    pixels, flag, thresh, fdnpix: 0, fdflux: 0, fdpeak: 0, xcpeak: 0, ycpeak: 0, dpeak: 0, xpeak: 0, ypeak: 0,
    xmin: 0, xmax: 0, ymin: 0, ymax: 0, dnpix: 0, dflux: 0, mx: 0, my: 0, mx2: 0, my2: 0, mxy: 0,
    errx2: 0, erry2: 0, errxy: 0, a: 0, b: 0, theta: 0, cxx: 0, cyy: 0, cxy: 0, abcor: 1, singular: false, mthresh: 0,
  };
}

function copyObject(o: IsophotalObject): IsophotalObject {
  return { ...o, pixels: o.pixels.slice() };
}

/**
 * Convolves `image` with `kernel` (kw x kh, odd sizes), zero outside the image, accumulating in float in
 * the kernel's row-major order (SEP convolve()).
 */
export function convolveImage(image: Float32Array, width: number, height: number, kernel: Float32Array, kw: number, kh: number): Float32Array {
  const out = new Float32Array(width * height);
  const hw = (kw - 1) >> 1, hh = (kh - 1) >> 1;
  for (let y = 0; y < height; y++) {
    const row = out.subarray(y * width, (y + 1) * width);
    for (let ky = 0; ky < kh; ky++) {
      const sy = y - hh + ky;
      if (sy < 0 || sy >= height) continue;
      const src = sy * width;
      for (let kx = 0; kx < kw; kx++) {
        const k = kernel[ky * kw + kx]!;
        const dx = kx - hw;
        const x0 = Math.max(0, -dx), x1 = Math.min(width, width - dx);
        for (let x = x0; x < x1; x++) row[x] = f(row[x]! + k * image[src + x + dx]!);
      }
    }
  }
  return out;
}

const COMPLETE = 0, INCOMPLETE = 1, NONOBJECT = 2, OBJECT = 3;
const UNKNOWN = -1;
const M_S = 1, M_s = 2, M_f = 3, M_F = 4;

interface Info {
  pixnb: number;
  first: number;
  last: number;
  flag: number;
}

/**
 * Lutz's algorithm over the box [x0, x0 + rw) x [y0, y0 + rh) of a width x height image: calls `emit` with
 * the pixels (image indices, in SExtractor's list order) and flags of each 8-connected group of pixels for
 * which `on(x, y)` holds, once the group is complete, if it has at least `minArea` pixels.
 */
export function lutzComponents(width: number, height: number, x0: number, y0: number, rw: number, rh: number,
  on: (x: number, y: number) => boolean, minArea: number, emit: (pixels: Int32Array, flag: number) => void): void {
  const next = new Int32Array(rw * rh);
  const size = rw + 2;
  const blank = (): Info => ({ pixnb: 0, first: -1, last: -1, flag: 0 });
  const info: Info[] = Array.from({ length: size + 1 }, blank);
  const store: Info[] = Array.from({ length: size }, blank);
  const marker = new Uint8Array(size);
  const psstack = new Int8Array(2 * size + 4);
  const start = new Int32Array(size + 1);
  const end = new Int32Array(size + 1);
  const update = (a: Info, b: Info): void => {
    a.pixnb += b.pixnb;
    a.flag |= b.flag;
    if (a.first === -1) { a.first = b.first; a.last = b.last; }
    else if (b.last !== -1) { next[a.last] = b.first; a.last = b.last; }
  };
  const emitInfo = (inf: Info): void => {
    const pixels = new Int32Array(inf.pixnb);
    let k = 0;
    for (let p = inf.first; p !== -1 && k < inf.pixnb; p = next[p]!) {
      const ly = Math.trunc(p / rw), lx = p - ly * rw;
      pixels[k++] = (y0 + ly) * width + x0 + lx;
    }
    emit(pixels, inf.flag);
  };
  let co = 0, pstop = 0;
  for (let yl = 0; yl <= rh; yl++) {
    let ps = COMPLETE, cs = NONOBJECT;
    const gy = y0 + yl;
    const trunflag = gy === 0 || gy === height - 1 ? SEXTRACTOR_FLAGS.TRUNCATED : 0;
    for (let xl = 0; xl <= rw; xl++) {
      const newmarker = marker[xl]!;
      marker[xl] = 0;
      const gx = x0 + xl;
      const luflag = yl < rh && xl < rw && on(gx, gy);
      let cur: Info | undefined;
      if (luflag) {
        const node = yl * rw + xl;
        next[node] = -1;
        cur = { pixnb: 1, first: node, last: node, flag: trunflag | (gx === 0 || gx === width - 1 ? SEXTRACTOR_FLAGS.TRUNCATED : 0) };
        if (cs !== OBJECT) {
          cs = OBJECT;
          if (ps === OBJECT) {
            if (start[co] === UNKNOWN) { marker[xl] = M_S; start[co] = xl; }
            else marker[xl] = M_s;
          } else {
            psstack[pstop++] = ps;
            marker[xl] = M_S;
            start[++co] = xl;
            ps = COMPLETE;
            info[co] = blank();
          }
        }
      }
      if (newmarker) {
        if (newmarker === M_S) {
          psstack[pstop++] = ps;
          if (cs === NONOBJECT) {
            psstack[pstop++] = COMPLETE;
            info[++co] = { ...store[xl]! };
            start[co] = UNKNOWN;
          } else update(info[co]!, store[xl]!);
          ps = OBJECT;
        } else if (newmarker === M_s) {
          if (cs === OBJECT && ps === COMPLETE) {
            pstop--;
            const xl2 = start[co]!;
            update(info[co - 1]!, info[co]!);
            if (start[--co] === UNKNOWN) start[co] = xl2;
            else marker[xl2] = M_s;
          }
          ps = OBJECT;
        } else if (newmarker === M_f) {
          ps = INCOMPLETE;
        } else {
          ps = psstack[--pstop]!;
          if (cs === NONOBJECT && ps === COMPLETE) {
            if (start[co] === UNKNOWN) {
              if (info[co]!.pixnb >= minArea) emitInfo(info[co]!);
            } else {
              marker[end[co]!] = M_F;
              store[start[co]!] = { ...info[co]! };
            }
            co--;
            ps = psstack[--pstop]!;
          }
        }
      }
      if (luflag) update(info[co]!, cur!);
      else if (cs === OBJECT) {
        cs = NONOBJECT;
        if (ps !== COMPLETE) { marker[xl] = M_f; end[co] = xl; }
        else {
          ps = psstack[--pstop]!;
          marker[xl] = M_F;
          store[start[co]!] = { ...info[co]! };
          co--;
        }
      }
    }
  }
}

function thresholdAt(planes: DetectionPlanes, i: number): number {
  return typeof planes.threshold === 'number' ? planes.threshold : planes.threshold[i]!;
}

/** Bounds, peaks, pixel count and filtered flux of an object (preanalyse). */
export function preanalyse(o: IsophotalObject, planes: DetectionPlanes): void {
  const { width, image, filtered } = planes;
  let rv = 0, peak = -1e30, cpeak = -1e30;
  let xmin = Infinity, ymin = Infinity, xmax = -Infinity, ymax = -Infinity;
  for (const p of o.pixels) {
    const y = Math.trunc(p / width), x = p - y * width;
    const val = image[p]!, cval = filtered[p]!;
    if (peak < val) { peak = val; o.xpeak = x; o.ypeak = y; }
    if (cpeak < cval) { cpeak = cval; o.xcpeak = x; o.ycpeak = y; }
    rv += cval;
    if (x < xmin) xmin = x;
    if (x > xmax) xmax = x;
    if (y < ymin) ymin = y;
    if (y > ymax) ymax = y;
  }
  o.fdnpix = o.pixels.length;
  o.fdflux = f(rv);
  o.fdpeak = cpeak;
  o.dpeak = peak;
  o.xmin = xmin; o.xmax = xmax; o.ymin = ymin; o.ymax = ymax;
}

/**
 * Isophotal moments, their errors and the ellipse of an object (SEP analyse()); `robust` keeps the
 * barycentre of a deblended child found before its faint pixels were gathered.
 */
export function analyse(o: IsophotalObject, planes: DetectionPlanes, robust: boolean, gain: number): void {
  preanalyse(o, planes);
  const { width, image, filtered } = planes;
  const thresh = o.thresh;
  const thresh2 = (thresh + o.dpeak) / 2;
  const rv = o.fdflux, rv2 = rv * rv;
  const xmin = o.xmin, ymin = o.ymin;
  let dnpix = 0, area2 = 0, tv = 0, mx = 0, my = 0, mx2 = 0, my2 = 0, mxy = 0;
  for (const p of o.pixels) {
    const py = Math.trunc(p / width);
    const x = p - py * width - xmin, y = py - ymin;
    const cval = filtered[p]!, val = image[p]!;
    tv += val;
    if (val > thresh) dnpix++;
    if (val > thresh2) area2++;
    mx += cval * x;
    my += cval * y;
    mx2 += cval * x * x;
    my2 += cval * y * y;
    mxy += cval * x * y;
  }
  let xm = mx / rv, ym = my / rv, xm2: number, ym2: number, xym: number;
  if (robust && o.flag & SEXTRACTOR_FLAGS.MERGED) {
    const xn = o.mx - xmin, yn = o.my - ymin;
    xm2 = mx2 / rv + xn * xn - 2 * xm * xn;
    ym2 = my2 / rv + yn * yn - 2 * ym * yn;
    xym = mxy / rv + xn * yn - xm * yn - xn * ym;
    xm = xn;
    ym = yn;
  } else {
    xm2 = mx2 / rv - xm * xm;
    ym2 = my2 / rv - ym * ym;
    xym = mxy / rv - xm * ym;
  }
  let errx2 = 0, erry2 = 0, errxy = 0, cvarsum = 0;
  const variance = planes.variance;
  for (const p of o.pixels) {
    const py = Math.trunc(p / width);
    const x = p - py * width - xmin, y = py - ymin;
    let cvar = typeof variance === 'number' ? variance : variance[p]!;
    if (gain > 0) {
      const cval = filtered[p]!;
      if (cval > 0) cvar += cval / gain;
    }
    cvarsum += cvar;
    errx2 += cvar * (x - xm) * (x - xm);
    erry2 += cvar * (y - ym) * (y - ym);
    errxy += cvar * (x - xm) * (y - ym);
  }
  errx2 /= rv2;
  erry2 /= rv2;
  errxy /= rv2;
  let temp2 = xm2 * ym2 - xym * xym;
  o.singular = false;
  if (temp2 < 0.00694) {
    xm2 += 0.0833333;
    ym2 += 0.0833333;
    temp2 = xm2 * ym2 - xym * xym;
    o.singular = true;
    cvarsum *= 0.08333 / rv2;
    if (errx2 * erry2 - errxy * errxy < cvarsum * cvarsum) {
      errx2 += cvarsum;
      erry2 += cvarsum;
    }
  }
  let temp = xm2 - ym2;
  const theta = Math.abs(temp) > 0 ? libm.atan2(2 * xym, temp) / 2 : SEX_PI / 4;
  temp = Math.sqrt(0.25 * temp * temp + xym * xym);
  const pmx2 = 0.5 * (xm2 + ym2) + temp, pmy2 = 0.5 * (xm2 + ym2) - temp;
  o.dnpix = dnpix;
  o.dflux = tv;
  o.mx = xm + xmin;
  o.my = ym + ymin;
  o.mx2 = xm2;
  o.my2 = ym2;
  o.mxy = xym;
  o.errx2 = errx2;
  o.erry2 = erry2;
  o.errxy = errxy;
  o.a = f(Math.sqrt(pmx2));
  o.b = f(Math.sqrt(pmy2));
  o.theta = f(theta);
  o.cxx = f(ym2 / temp2);
  o.cyy = f(xm2 / temp2);
  o.cxy = f(-2 * xym / temp2);
  const darea = area2 - dnpix;
  const t1t2 = thresh / thresh2;
  if (t1t2 > 0) {
    let abcor = f((darea < 0 ? darea : -1) / (2 * SEX_PI * libm.log(t1t2 < 1 ? t1t2 : 0.99) * o.a * o.b));
    if (abcor > 1) abcor = 1;
    o.abcor = abcor;
  } else {
    o.abcor = 1;
  }
}

/**
 * The filtered value minus threshold of the minArea-th brightest pixel, as SExtractor's heap selection
 * finds it (analysemthresh): the (minArea + 1)-th pixel of the list is skipped and the sift-down steps by
 * SExtractor's index arithmetic; CLEAN reads the heap's first element.
 */
export function analyseMthresh(o: IsophotalObject, planes: DetectionPlanes, minArea: number): void {
  if (o.fdnpix < minArea) { o.mthresh = 0; return; }
  const heap = new Float32Array(minArea);
  let h = minArea, fill = 0;
  for (const p of o.pixels) {
    const tpix = f(planes.filtered[p]! - thresholdAt(planes, p));
    if (h > 0) heap[fill++] = tpix;
    else if (h) {
      if (tpix > heap[0]!) {
        heap[0] = tpix;
        for (let j = 0, k = 2; k <= minArea; j = k, k = (j + 1) << 1) {
          let hk = k;
          if (k !== minArea && heap[hk - 1]! > heap[hk]!) { hk++; k++; }
          hk--;
          if (heap[j]! <= heap[hk]!) break;
          const swap = heap[hk]!;
          heap[hk] = heap[j]!;
          heap[j] = swap;
        }
      }
    } else heap.sort();
    h--;
  }
  o.mthresh = heap[0]!;
}

/** Which objects survive CLEAN (SExtractor clean(), SEP's port), in list order. */
export function cleanObjects(objects: readonly IsophotalObject[], cleanParam: number): boolean[] {
  const n = objects.length;
  const survives = new Array<boolean>(n).fill(true);
  const beta = cleanParam;
  const limit2 = CLEAN_ZONE * CLEAN_ZONE;
  for (let i = 0; i < n; i++) {
    if (!survives[i]) continue;
    const o1 = objects[i]!;
    const unitareain = SEX_PI * o1.a * o1.b;
    const ampin = o1.fdflux / (2 * unitareain * o1.abcor);
    const alphain = (libm.pow(ampin / o1.thresh, 1 / beta) - 1) * unitareain / o1.fdnpix;
    for (let j = i + 1; j < n; j++) {
      if (!survives[j]) continue;
      const o2 = objects[j]!;
      const dx = f(o1.mx - o2.mx), dy = f(o1.my - o2.my);
      let rlim = f(o1.a + o2.a);
      rlim = f(rlim * rlim);
      if (dx * dx + dy * dy > rlim * limit2) continue;
      if (o2.fdflux < o1.fdflux) {
        const val = 1 + alphain * (o1.cxx * dx * dx + o1.cyy * dy * dy + o1.cxy * dx * dy);
        if (val > 1 && f(val < 1e10 ? ampin * libm.pow(val, -beta) : 0) > o2.mthresh) survives[j] = false;
      } else {
        const unitarea = SEX_PI * o2.a * o2.b;
        const amp = o2.fdflux / (2 * unitarea * o2.abcor);
        const alpha = (libm.pow(amp / o2.thresh, 1 / beta) - 1) * unitarea / o2.fdnpix;
        const val = 1 + alpha * (o2.cxx * dx * dx + o2.cyy * dy * dy + o2.cxy * dx * dy);
        if (val > 1 && f(val < 1e10 ? amp * libm.pow(val, -beta) : 0) > o1.mthresh) survives[i] = false;
      }
    }
  }
  return survives;
}

/** glibc's rand() (the TYPE_3 additive feedback generator) with srand(seed): what SEP draws on Linux. */
export class GlibcRandom {
  private readonly r: Int32Array = new Int32Array(34);
  private k = 0;
  constructor(seed = 1) {
    const r = new Array<number>(344);
    r[0] = seed | 0;
    for (let i = 1; i < 31; i++) {
      let v = (16807 * r[i - 1]!) % 2147483647;
      if (v < 0) v += 2147483647;
      r[i] = v;
    }
    for (let i = 31; i < 34; i++) r[i] = r[i - 31]!;
    for (let i = 34; i < 344; i++) r[i] = (r[i - 31]! + r[i - 3]!) | 0;
    // Keep the last 34 values in a ring.
    for (let i = 0; i < 34; i++) this.r[i] = r[310 + i]!;
  }
  /** The next value in [0, 2^31 - 1]. */
  next(): number {
    const r = this.r;
    const i = this.k;
    const v = (r[(i + 34 - 31) % 34]! + r[(i + 34 - 3) % 34]!) | 0;
    r[i] = v;
    this.k = (i + 1) % 34;
    return v >>> 1;
  }
}

const RAND_MAX = 2147483647;

/** More sub-objects at one deblending level than SExtractor allows (NSONMAX, 1024). */
class DeblendOverflow extends Error {
  override readonly name = 'DeblendOverflow';
}

/** Distributes the pixels of `root` no child holds among the children (gatherup). */
function gatherUp(root: IsophotalObject, children: IsophotalObject[], thresh0: number, planes: DetectionPlanes, random: GlibcRandom): IsophotalObject[] {
  const nobj = children.length + 1;
  const objs = [root, ...children];
  for (let i = 1; i < nobj; i++) analyse(objs[i]!, planes, false, 0);
  const { width } = planes;
  const xs = root.xmin, ys = root.ymin;
  const bmw = root.xmax - xs + 1;
  const bmp = new Uint8Array(bmw * (root.ymax - ys + 1));
  const amp = new Float32Array(nobj), p = new Float32Array(nobj);
  const out: { obj: IsophotalObject; extra: number[] }[] = [];
  for (let i = 1; i < nobj; i++) {
    const o = objs[i]!;
    o.thresh = thresh0;
    for (const q of o.pixels) {
      const y = Math.trunc(q / width);
      bmp[(q - y * width - xs) + (y - ys) * bmw] = 1;
    }
    out.push({ obj: copyObject(o), extra: [] });
    const dist = f(o.fdnpix / (2 * SEX_PI * o.abcor * o.a * o.b));
    amp[i] = dist < 70 ? f(o.thresh * libm.exp(dist)) : f(4 * o.fdpeak);
    if (amp[i]! > 4 * o.fdpeak) amp[i] = f(4 * o.fdpeak);
  }
  for (const q of root.pixels) {
    const y = Math.trunc(q / width), x = q - y * width;
    if (bmp[(x - xs) + (y - ys) * bmw]) continue;
    let distmin = 1e31, iclst = 0;
    for (let i = 1; i < nobj; i++) {
      const o = objs[i]!;
      const dx = f(x - o.mx), dy = f(y - o.my);
      const dist = f(0.5 * (o.cxx * dx * dx + o.cyy * dy * dy + o.cxy * dx * dy) / o.abcor);
      p[i] = f(p[i - 1]! + (dist < 70 ? amp[i]! * libm.exp(-dist) : 0));
      if (dist < distmin) { distmin = dist; iclst = i; }
    }
    let i: number;
    if (p[nobj - 1]! > 1e-31) {
      const drand = f(p[nobj - 1]! * random.next() / RAND_MAX);
      for (i = 1; i < nobj && p[i]! < drand; i++);
      if (i === nobj) i = iclst;
    } else i = iclst;
    out[i - 1]!.extra.push(q);
  }
  return out.map(({ obj, extra }) => {
    if (extra.length) {
      const pixels = new Int32Array(obj.pixels.length + extra.length);
      pixels.set(obj.pixels);
      pixels.set(extra, obj.pixels.length);
      obj.pixels = pixels;
    }
    return obj;
  });
}

/**
 * Multi-threshold deblending of one object (SExtractor deblend()): the object itself, or its children
 * with the faint pixels gathered up, MERGED flagged.
 */
export function deblend(root: IsophotalObject, planes: DetectionPlanes, settings: DetectionSettings, random: GlibcRandom): IsophotalObject[] {
  const xn = settings.deblendNThresh;
  if (xn <= 1 || settings.deblendMinCont >= 1) return [root];
  const { width, height, filtered } = planes;
  const subx = root.xmin, suby = root.ymin, subw = root.xmax - subx + 1, subh = root.ymax - suby + 1;
  const member = new Uint8Array(subw * subh);
  for (const q of root.pixels) {
    const y = Math.trunc(q / width);
    member[(q - y * width - subx) + (y - suby) * subw] = 1;
  }
  const debMaxArea = Math.min(settings.minArea, MAXDEBAREA);
  const thresh0 = root.thresh;
  const levels: IsophotalObject[][] = [[copyObject(root)]];
  const sons: number[][][] = [];
  const ok: Uint8Array[] = [Uint8Array.of(1)];
  const selected: IsophotalObject[] = [copyObject(root)];
  const value0 = root.fdflux * settings.deblendMinCont;
  for (let k = 1; k < xn; k++) {
    const peak = root.fdpeak;
    const levelThresh = f(peak > 0 ? thresh0 * libm.pow(peak / thresh0, k / xn) : thresh0);
    const prev = levels[k - 1]!;
    if (prev.length >= NSONMAX) throw new DeblendOverflow(`more than ${NSONMAX} sub-objects at level ${k}`);
    const level: IsophotalObject[] = [];
    const sonsOfPrev: number[][] = [];
    for (const parent of prev) {
      const found: IsophotalObject[] = [];
      lutzComponents(width, height, parent.xmin, parent.ymin, parent.xmax - parent.xmin + 1, parent.ymax - parent.ymin + 1,
        (x, y) => member[(x - subx) + (y - suby) * subw] === 1 && filtered[y * width + x]! > levelThresh,
        debMaxArea, (pixels, flag) => {
          const o = newObject(pixels, flag, levelThresh);
          preanalyse(o, planes);
          found.push(o);
        });
      const inParent = new Set<number>(parent.pixels);
      const mySons: number[] = [];
      for (const o of found) {
        if (!inParent.has(o.pixels[0]!)) continue;
        o.thresh = levelThresh;
        level.push(o);
        if (level.length - 1 >= NSONMAX) throw new DeblendOverflow(`more than ${NSONMAX} sub-objects at level ${k}`);
        mySons.push(level.length - 1);
      }
      sonsOfPrev.push(mySons);
    }
    levels.push(level);
    sons.push(sonsOfPrev);
    ok.push(new Uint8Array(level.length).fill(1));
  }
  for (let k = xn - 2; k >= 0; k--) {
    const objs = levels[k + 1]!;
    for (let i = 0; i < levels[k]!.length; i++) {
      const children = sons[k]![i]!;
      let m = 0;
      for (const j of children) {
        const o = objs[j]!;
        if (o.fdflux - o.thresh * o.fdnpix > value0) m++;
        ok[k]![i] = ok[k]![i]! & ok[k + 1]![j]!;
      }
      if (m > 1) {
        for (const j of children) {
          const o = objs[j]!;
          if (ok[k + 1]![j] && o.fdflux - o.thresh * o.fdnpix > value0) {
            o.flag |= SEXTRACTOR_FLAGS.MERGED;
            selected.push(copyObject(o));
          }
        }
        ok[k]![i] = 0;
      }
    }
  }
  if (ok[0]![0]) return [selected[0]!];
  return gatherUp(selected[0]!, selected.slice(1), thresh0, planes, random);
}

/**
 * Detects, deblends, analyses and cleans the objects of the planes (see the module comment), in
 * SExtractor's order. Each isophote's threshold is the constant one, or with per-pixel thresholds the
 * lowest of its pixels' (SExtractor's minthresh).
 */
export function detectObjects(planes: DetectionPlanes, settings: DetectionSettings): IsophotalObject[] {
  const { width, height, filtered } = planes;
  const random = new GlibcRandom(1);
  const found: IsophotalObject[] = [];
  const constant = typeof planes.threshold === 'number' ? planes.threshold : undefined;
  const thresholds = planes.threshold;
  lutzComponents(width, height, 0, 0, width, height,
    constant !== undefined ? (x, y) => filtered[y * width + x]! > constant : (x, y) => filtered[y * width + x]! > (thresholds as Float32Array)[y * width + x]!,
    settings.minArea, (pixels, flag) => {
      let thresh = constant ?? Infinity;
      if (constant === undefined) for (const p of pixels) thresh = Math.min(thresh, (thresholds as Float32Array)[p]!);
      const root = newObject(pixels, flag, thresh);
      preanalyse(root, planes);
      let parts: IsophotalObject[];
      try {
        parts = deblend(root, planes, settings, random);
      } catch (err) {
        // SExtractor keeps the object whole and flags it.
        if (!(err instanceof DeblendOverflow)) throw err;
        root.flag |= SEXTRACTOR_FLAGS.DEBLEND_OVERFLOW;
        parts = [root];
      }
      for (const o of parts) {
        analyse(o, planes, true, settings.gain);
        if (settings.maxArea > 0 && o.fdnpix > settings.maxArea) continue;
        found.push(o);
      }
    });
  if (!settings.clean) return found;
  for (const o of found) analyseMthresh(o, planes, settings.minArea);
  const survives = cleanObjects(found, settings.cleanParam);
  return found.filter((_, i) => survives[i]);
}
