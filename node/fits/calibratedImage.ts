/**
 * A calibrated image from any telescope as an Exposure (image, mask and variance planes, metadata and
 * the image HDU's header for its WCS), for `tessera ingest-images` and `tessera extract`:
 *   IMAGE: the first HDU holding a 2-d image (or the HDU given), as float32. An afw Exposure file
 *     (IMAGE, MASK, VARIANCE extensions) is read as it is, its mask planes translated to the standard ones.
 *   VARIANCE: 1/weight from an inverse-variance weight file (SExtractor's MAP_WEIGHT); a weight <= 0 or
 *     not finite gives variance NaN and mask NO_DATA. Without one, a constant robust sky variance
 *     (1.4826 MAD)^2 of the finite pixels; metadata VARSRC says which, SKYVAR gives the value.
 *   MASK: from a mask file. DECam Community Pipeline data-quality files hold integer codes, not bits
 *     (legacypipe image.py remap_dq_cp_codes): 1 bad pixel, 2 no value, 3 saturated, 4 bleed trail,
 *     5 cosmic ray, 6 low weight, 7 difference detection, 8 streak. Every non-zero pixel is BAD; also
 *     2 -> NO_DATA, 3 and 4 -> SAT, 5 -> CR, 8 -> STREAK (LSST masks bleed trails as SAT), so any other
 *     mask file's non-zero pixels are BAD. Pixels with image >= `saturation` (e.g. SATURATE) are SAT.
 * A weight or mask file must match the image's size (same EXTNAME when the image has one). Errors are
 * ImageInputErrors naming the file and what is wrong.
 */
import path from 'node:path';
import { readExposure, type Exposure, type FitsBytes, type HduInfo, type ImageArray } from '../../lib/fits/index.js';
import { maskTranslationTable, maskValue, standardMaskPlanes } from '../../lib/pipeline/maskPlanes.js';
import { readFitsChecked } from './fileSource.js';
import { median } from '../../lib/math/median.js';

export class ImageInputError extends Error {
  override readonly name = 'ImageInputError';
}

/** Mask value of each CP data-quality code (see the module comment); codes not listed are BAD only. */
export const CP_OOD_CODE_MASK: Readonly<Record<number, number>> = {
  1: maskValue('BAD'),
  2: maskValue('BAD', 'NO_DATA'),
  3: maskValue('BAD', 'SAT'),
  4: maskValue('BAD', 'SAT'),
  5: maskValue('BAD', 'CR'),
  6: maskValue('BAD'),
  7: maskValue('BAD'),
  8: maskValue('BAD', 'STREAK'),
};

export function firstImageHdu(hdus: readonly HduInfo[]): HduInfo | undefined {
  return hdus.find((h) => h.type === 'IMAGE' && h.shape.length === 2 && h.shape[0]! > 0 && h.shape[1]! > 0);
}

export /** The HDU of a companion file matching the image's: same EXTNAME when it has one, else the first 2-d image; same size. */
function companionHdu(source: string, companion: string, what: string, image: HduInfo): { file: FitsBytes; hdu: HduInfo } {
  const file = readFitsChecked(companion);
  const named = image.extname !== undefined ? file.indexOf(image.extname) : -1;
  const hdu = named >= 0 ? file.hdu(named) : firstImageHdu(file.hdus);
  if (!hdu || hdu.type !== 'IMAGE' || hdu.shape.length !== 2) throw new ImageInputError(`${source}: its ${what} file ${companion} has no 2-d image HDU`);
  if (hdu.shape[0] !== image.shape[0] || hdu.shape[1] !== image.shape[1]) {
    throw new ImageInputError(`${source}: its ${what} file ${companion} HDU ${hdu.index} is ${hdu.shape[1]}x${hdu.shape[0]}, the image is ${image.shape[1]}x${image.shape[0]}`);
  }
  return { file, hdu };
}

/** At most this many pixels, evenly strided, enter the robust variance (the MAD's own error is then ~0.1 %). */
const ROBUST_SAMPLE = 1_000_000;

/**
 * Robust sky variance (1.4826 MAD)^2 of the finite pixels not flagged in `mask` (all finite pixels when
 * that leaves none), from an even stride of at most ROBUST_SAMPLE pixels.
 */
export function robustSkyVariance(image: ArrayLike<number>, mask?: Int32Array): number {
  const stride = Math.max(1, Math.ceil(image.length / ROBUST_SAMPLE));
  const pick = (useMask: boolean): Float64Array => {
    const out = new Float64Array(Math.ceil(image.length / stride));
    let n = 0;
    for (let i = 0; i < image.length; i += stride) if (Number.isFinite(image[i]!) && !(useMask && mask && mask[i] !== 0)) out[n++] = image[i]!;
    return out.subarray(0, n);
  };
  let values = pick(true);
  if (values.length === 0) values = pick(false);
  if (values.length === 0) return NaN;
  const m = median(values);
  const sigma = 1.4826 * median(values.map((v) => Math.abs(v - m)));
  return sigma * sigma;
}

function toFloat32(data: ImageArray): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>, Number);
}

export interface CalibratedImageOptions {
  /** The image HDU (default: the first 2-d image). */
  readonly hdu?: number;
  readonly weight?: string;
  readonly mask?: string;
  /** Pixels at or above this are SAT. */
  readonly saturation?: number;
}

function isAfwExposure(hdus: readonly HduInfo[]): boolean {
  const names = new Set(hdus.map((h) => h.extname?.trim().toUpperCase()));
  return names.has('IMAGE') && names.has('MASK') && names.has('VARIANCE');
}

/** Reads a calibrated image (see the module comment). */
export async function readCalibratedImageAsync(source: string, options: CalibratedImageOptions = {}): Promise<Exposure> {
  const file = readFitsChecked(source);
  if (isAfwExposure(file.hdus) && options.hdu === undefined && !options.weight && !options.mask) {
    const exposure = await readExposure(file);
    // Each input bit maps to the standard plane of the same name (planes Tessera does not know are dropped).
    const table = maskTranslationTable(exposure.maskPlanes);
    const mask = new Int32Array(exposure.mask.length);
    for (let i = 0; i < mask.length; i++) {
      let v = exposure.mask[i]!, out = 0;
      for (let bit = 0; v !== 0; bit++, v >>>= 1) if (v & 1) out |= table[bit]!;
      mask[i] = out;
    }
    return { ...exposure, mask, maskPlanes: standardMaskPlanes() };
  }
  return readCalibratedImage(source, options);
}

/** Reads a calibrated single image with optional weight and mask files (not an afw Exposure: see readCalibratedImageAsync). */
export function readCalibratedImage(source: string, options: CalibratedImageOptions = {}): Exposure {
  const file = readFitsChecked(source);
  const hdu = options.hdu !== undefined ? file.hdu(options.hdu) : firstImageHdu(file.hdus);
  if (!hdu || hdu.type !== 'IMAGE' || hdu.shape.length !== 2) throw new ImageInputError(`${source}: has no HDU with a 2-d image${options.hdu !== undefined ? ` at HDU ${options.hdu}` : ''}`);
  const image = toFloat32(file.readImage(hdu.index).data);
  const n = image.length;
  const mask = new Int32Array(n);
  const metadata = file.hdu(0).header.clone();
  if (options.mask) {
    const { file: mf, hdu: mh } = companionHdu(source, options.mask, 'mask', hdu);
    const dq = mf.readImage(mh.index).data;
    for (let i = 0; i < n; i++) {
      const code = Number(dq[i]);
      if (code !== 0) mask[i] = mask[i]! | (CP_OOD_CODE_MASK[code] ?? maskValue('BAD'));
    }
    metadata.set('MSKFILE', path.basename(options.mask), 'data-quality file of MASK');
  }
  if (options.saturation !== undefined) {
    const sat = maskValue('SAT');
    for (let i = 0; i < n; i++) if (image[i]! >= options.saturation) mask[i] = mask[i]! | sat;
  }
  const variance = new Float32Array(n);
  if (options.weight) {
    const { file: wf, hdu: wh } = companionHdu(source, options.weight, 'weight', hdu);
    const w = wf.readImage(wh.index).data;
    const noData = maskValue('NO_DATA');
    for (let i = 0; i < n; i++) {
      const wi = Number(w[i]);
      if (wi > 0 && Number.isFinite(wi)) variance[i] = 1 / wi;
      else {
        variance[i] = NaN;
        mask[i] = mask[i]! | noData;
      }
    }
    metadata.set('VARSRC', 'weight', 'VARIANCE = 1/inverse-variance weight');
    metadata.set('WGTFILE', path.basename(options.weight), 'inverse-variance weight file of VARIANCE');
  } else {
    const skyVar = robustSkyVariance(image, mask);
    variance.fill(skyVar);
    metadata.set('VARSRC', 'sky MAD', 'VARIANCE = robust sky variance (1.4826 MAD)^2');
    metadata.set('SKYVAR', skyVar, 'estimated sky variance of every pixel');
  }
  return {
    width: hdu.shape[1]!, height: hdu.shape[0]!, x0: 0, y0: 0, image, mask, variance,
    maskPlanes: standardMaskPlanes(), metadata, wcsHeader: hdu.header.clone(),
  };
}
