/**
 * Single-frame measurement (LSST meas_base SingleFrameMeasurementTask with its default plugins), one
 * source per footprint at its highest peak (no deblending yet: parent = 0), on a background-subtracted
 * image in e-:
 * - base_SdssCentroid: the centroid under a fixed circular Gaussian weight of the PSF's sigma at the peak
 *   (its moments' determinant radius), iterated from the peak (lib/measure/sdssCentroid.ts, in wasm:
 *   assembly/centroid.ts; SdssCentroid's matched-filter estimate), with its linearised error. Falls back to the peak with _flag set when it
 *   fails (no flux, or a shift beyond max(3, 2 sigma) px); _flag alone when its window reaches the image
 *   edge or it does not converge. A source with saturated pixels is centred by a profile fit to its
 *   unsaturated wings instead (lib/measure/saturatedCentroid.ts; _flag and _flag_saturatedFit set, errors NaN).
 * - base_SdssShape: adaptive second moments xx, yy, xy (px^2; lib/measure/adaptiveMoments.ts, started at
 *   the centroid with the PSF's sigma, its sums in wasm: assembly/measure.ts momentSums), and
 *   _psf_xx/yy/xy, the PSF model's at the detection peak (its kernel image's sums in wasm too, where the model has one);
 * - base_GaussianFlux: 2 sum(W I) with the adaptive weight (exact for a Gaussian source);
 * - base_CircularApertureFlux_R: apertures (assembly/measure.ts apertureFluxes) at LSST's radii 3, 4.5, 6,
 *   9, 12, 17, 25, 35, 50, 70 px, exact-overlap weights up to maxExactRadius (12: the aperture corrections'
 *   radius; LSST's sinc apertures reach its maxSincRadius, 10) and beyond, as LSST's, naive ones (the
 *   pixels whose centres lie within r; exact weights there cost 0.1 s per HSC detector for the boundary
 *   pixels of the 17-70 px discs); _flag_apertureTruncated off the image;
 * - base_PsfFlux: the linear PSF-model fit (assembly/measure.ts psfFluxes) on a stamp of 2 x ceil(5 sigma)
 *   + 1 px (a PSFEx model's made in wasm memory: lib/measure/psfStamps.ts); its area in _area (LSST's
 *   effective area, 1 / sum(P^2));
 * - ext_photometryKron_KronFlux: Kron's first-moment radius r1 = sum(r I) / sum(I) within 6 sigma of
 *   the adaptive ellipse (nSigmaForRadius 6), flux in the ellipse of radius 2.5 r1 (nRadiusForFlux),
 *   pixels subsampled 5 x 5 on its boundary (assembly/measure.ts kronFlux); _radius is r1 (px, along the
 *   ellipse's geometric mean axis);
 * - base_PixelFlags: edge (footprint touches the image border, EDGE or NO_DATA), and for INTRP, SAT, CR,
 *   BAD, SUSPECT (pixelFlagPlanes; coadds add CLIPPED, SENSOR_EDGE, INEXACT_PSF as LSST's) the flag
 *   anywhere in the footprint and _Center in the 3 x 3 pixels at the centroid;
 * - footprint area and peak significance. Every flux has its instFluxErr; every algorithm its _flag.
 * Every source is measured on copies of the image and variance in wasm memory (none for no sources).
 * The centroid, shape, Gaussian flux and pixel flags are always measured (every other algorithm and the
 * PSF star selection need them); the aperture, PSF and Kron fluxes are plugins (`plugins`, all by
 * default), which a caller that only selects PSF stars leaves out (their columns are then absent).
 * Catalogues are columnar (SourceCatalog), named as LSST's so users' habits carry over.
 */
import { checkStatus } from '../wasm/kernels.js';
import type { Tessera } from '../wasm/loader.js';
import { MASK_PLANES } from '../pipeline/maskPlanes.js';
import { adaptiveMoments, MOMENT_FLAGS, type KernelMomentPlanes, type MomentPlanes } from './adaptiveMoments.js';
import type { MaskedImage } from './background.js';
import { footprintArea, footprintBBox, type Footprint, type Span } from './footprint.js';
import type { PsfLike } from './psf.js';
import { WasmPsfStamps } from './psfStamps.js';
import type { Column, SourceCatalog } from './sourceCatalog.js';
import { saturatedCentroid } from './saturatedCentroid.js';
import { CENTROID_FLAGS, sdssCentroidOnPlanes, type CentroidPlanes } from './sdssCentroid.js';
import { libm } from '../math/libm.js';

/** LSST's CircularApertureFlux radii (pixels). */
export const APERTURE_RADII: readonly number[] = [3, 4.5, 6, 9, 12, 17, 25, 35, 50, 70];

/** `12_0` for 12 px, `4_5` for 4.5 px: LSST's column name fragment. */
export function apertureName(radius: number): string {
  return radius.toFixed(1).replace('.', '_');
}

/** Mask planes PixelFlags reports, with their column fragments (LSST's defaults). */
export const PIXEL_FLAG_PLANES: readonly [string, string][] = [['INTRP', 'interpolated'], ['SAT', 'saturated'], ['CR', 'cr'], ['BAD', 'bad'], ['SUSPECT', 'suspect']];
/** The planes LSST's coadd measurement adds (masksFpAnywhere / masksFpCenter += CLIPPED, SENSOR_EDGE, INEXACT_PSF). */
export const COADD_PIXEL_FLAG_PLANES: readonly [string, string][] = [...PIXEL_FLAG_PLANES, ['CLIPPED', 'clipped'], ['SENSOR_EDGE', 'sensor_edge'], ['INEXACT_PSF', 'inexact_psf']];

/** The optional measurement algorithms (LSST's plugin names). */
export const MEASUREMENT_PLUGINS = ['base_CircularApertureFlux', 'base_PsfFlux', 'ext_photometryKron_KronFlux'] as const;
export type MeasurementPlugin = (typeof MEASUREMENT_PLUGINS)[number];

export interface MeasurementConfig {
  /** The optional algorithms to run (centroid, shape, Gaussian flux and pixel flags always run). */
  plugins: readonly MeasurementPlugin[];
  radii: readonly number[];
  /** Radii up to this (px) get exact-overlap pixel weights, larger ones naive ones (LSST maxSincRadius' role). */
  maxExactRadius: number;
  /** Kron: sums over nSigmaForRadius sigma of the adaptive ellipse; flux within nRadiusForFlux x r1. */
  kronNSigmaForRadius: number;
  kronNRadiusForFlux: number;
  kronMaxRadius: number;
  /** Mask planes reported by base_PixelFlags (anywhere and Center), with their column fragments. */
  pixelFlagPlanes: readonly (readonly [string, string])[];
}

export const DEFAULT_MEASUREMENT_CONFIG: Readonly<MeasurementConfig> = Object.freeze({
  plugins: MEASUREMENT_PLUGINS,
  radii: APERTURE_RADII,
  maxExactRadius: 12,
  kronNSigmaForRadius: 6,
  kronNRadiusForFlux: 2.5,
  kronMaxRadius: 200,
  pixelFlagPlanes: PIXEL_FLAG_PLANES,
});


function numberColumn(n: number): Float64Array {
  return new Float64Array(n).fill(NaN);
}

function flagColumn(n: number): boolean[] {
  return new Array<boolean>(n).fill(false);
}

/** A PSF's Gaussian-equivalent sigma from its moments: their determinant radius, or `fallback` where they fail. */
function psfSigma(m: { xx: number; yy: number; xy: number }, fallback: number): number {
  const sigma = libm.pow(m.xx * m.yy - m.xy * m.xy, 0.25);
  return sigma > 0 && Number.isFinite(sigma) ? sigma : fallback;
}

/**
 * A reference position and shape for forced measurement (LSST's forced plugins TransformedCentroid and
 * TransformedShape): full-image pixels; the shape's second moments, pixels^2 (NaN: no shape).
 */
export interface ForcedSource {
  readonly x: number;
  readonly y: number;
  readonly xx: number;
  readonly yy: number;
  readonly xy: number;
}

/**
 * The Gaussian-weight flux at a fixed centre and shape (LSST GaussianFlux in forced mode): 2 sum(W I)
 * with W = exp(-d^T M^-1 d / 2) of peak 1 over |d| < 4 sigma of the major axis, and its error from the
 * variance plane; exact for a Gaussian source of that shape. NaN when the shape is not positive definite.
 */
function fixedGaussianFlux(image: MaskedImage, x: number, y: number, xx: number, yy: number, xy: number): { flux: number; err: number } {
  const det = xx * yy - xy * xy;
  if (!(det > 0 && xx > 0 && yy > 0)) return { flux: NaN, err: NaN };
  const reach = 4 * Math.sqrt(0.5 * (xx + yy) + Math.sqrt(0.25 * (xx - yy) ** 2 + xy * xy));
  let s = 0, v = 0;
  for (let j = Math.max(0, Math.floor(y - reach)); j <= Math.min(image.height - 1, Math.ceil(y + reach)); j++) {
    for (let i = Math.max(0, Math.floor(x - reach)); i <= Math.min(image.width - 1, Math.ceil(x + reach)); i++) {
      const dx = i - x, dy = j - y;
      const q = (yy * dx * dx - 2 * xy * dx * dy + xx * dy * dy) / det;
      if (q > 16) continue;
      const w = libm.exp(-0.5 * q), k = j * image.width + i;
      s += w * image.image[k]!;
      v += w * w * image.variance[k]!;
    }
  }
  return { flux: 2 * s, err: 2 * Math.sqrt(v) };
}

// The per-pixel loops of measureSources are module-level functions: V8 optimises them at once and keeps
// that code from call to call, where the same loops inside measureSources' per-call closure ran in a
// baseline tier until that large closure's optimised code was compiled, anew at every call.

/** pix over the spans = values (in span order), or 0 without them. */
function putSpans(pix: Float32Array, width: number, spans: readonly Span[], values: Float32Array | undefined): void {
  let i = 0;
  for (const s of spans) {
    const from = s.y * width + s.x0, to = s.y * width + s.x1 + 1;
    if (!values) pix.fill(0, from, to);
    else for (let p = from; p < to; p++) pix[p] = values[i++]!;
  }
}

/** The OR of the mask words over the spans, and how many of those words have any of `countBits`. */
function spansMaskBits(mask: Int32Array, width: number, spans: readonly Span[], countBits: number): [number, number] {
  let any = 0, count = 0;
  for (const s of spans) {
    for (let i = s.y * width + s.x0, end = s.y * width + s.x1; i <= end; i++) {
      const m = mask[i]!;
      any |= m;
      if (m & countBits) count++;
    }
  }
  return [any, count];
}

/** sum v^2 over the values, in order. */
function sumOfSquares(values: Float32Array): number {
  let s2 = 0;
  for (let i = 0; i < values.length; i++) s2 += values[i]! * values[i]!;
  return s2;
}

/**
 * Measures one source per footprint (see the module comment). `image` is background-subtracted; its
 * variance plane gives the errors and its mask the pixel flags. With `forced` (per footprint, LSST's
 * forced measurement), a source's centroid is the given position (its errors NaN) and its shape the given
 * moments: the Gaussian flux uses that fixed weight, the Kron flux that ellipse, apertures and the PSF fit
 * that centre. With `heavy` (per footprint, its pixel values in the order of its spans: LSST's heavy
 * footprints), every footprint's pixels are replaced by 0 (the background-subtracted sky's mean; LSST's
 * NoiseReplacer draws noise) and each source is measured with only its own pixels put back. The pixels
 * are measured in a copy of the image in wasm memory (in `image` itself, read only, when no heavy
 * footprint is put back and none of the aperture, PSF and Kron fluxes, which run in wasm, is measured): `image`
 * is never modified.
 */
export function measureSources(tessera: Tessera, image: MaskedImage, footprints: readonly Footprint[], psf: PsfLike, overrides: Partial<MeasurementConfig> = {},
  forced?: readonly (ForcedSource | undefined)[], heavy?: readonly Float32Array[]): SourceCatalog {
  const config: MeasurementConfig = { ...DEFAULT_MEASUREMENT_CONFIG, ...overrides };
  const n = footprints.length;
  if (heavy && heavy.length !== n) throw new RangeError(`measureSources: ${heavy.length} heavy footprints for ${n} footprints`);
  const { width, height } = image;
  const planes: Readonly<Record<string, number>> = image.maskPlanes ?? MASK_PLANES;
  const bit = (name: string): number => (planes[name] === undefined ? 0 : 1 << planes[name]!);
  const cols: Record<string, Column> = {};
  const num = (name: string): Float64Array => (cols[name] ??= numberColumn(n)) as Float64Array;
  const flag = (name: string): boolean[] => (cols[name] ??= flagColumn(n)) as boolean[];
  const ids = Int32Array.from({ length: n }, (_, k) => k + 1);
  cols.id = ids;
  cols.parent = new Int32Array(n);

  const x = num('base_SdssCentroid_x'), y = num('base_SdssCentroid_y');
  const xErr = num('base_SdssCentroid_xErr'), yErr = num('base_SdssCentroid_yErr');
  const centroidFlag = flag('base_SdssCentroid_flag');
  const sxx = num('base_SdssShape_xx'), syy = num('base_SdssShape_yy'), sxy = num('base_SdssShape_xy');
  const shapeFlag = flag('base_SdssShape_flag');
  const pxx = num('base_SdssShape_psf_xx'), pyy = num('base_SdssShape_psf_yy'), pxy = num('base_SdssShape_psf_xy');
  const gFlux = num('base_GaussianFlux_instFlux'), gErr = num('base_GaussianFlux_instFluxErr');
  const gFlag = flag('base_GaussianFlux_flag');
  const area = num('footprint_area'), significance = num('peak_significance');
  const edge = flag('base_PixelFlags_flag_edge');
  const satFit = flag('base_SdssCentroid_flag_saturatedFit');
  const pixelFlags = config.pixelFlagPlanes.map(([plane, name]) => ({ bit: bit(plane), any: flag(`base_PixelFlags_flag_${name}`), centre: flag(`base_PixelFlags_flag_${name}Center`) }));
  const apertures = config.plugins.includes('base_CircularApertureFlux') ? config.radii.map((r) => {
    const name = `base_CircularApertureFlux_${apertureName(r)}`;
    return { flux: num(`${name}_instFlux`), err: num(`${name}_instFluxErr`), flag: flag(`${name}_flag`), truncated: flag(`${name}_flag_apertureTruncated`) };
  }) : [];
  const psfFlux = config.plugins.includes('base_PsfFlux')
    ? { flux: num('base_PsfFlux_instFlux'), err: num('base_PsfFlux_instFluxErr'), flag: flag('base_PsfFlux_flag'), area: num('base_PsfFlux_area') } : undefined;
  const kronFlux = config.plugins.includes('ext_photometryKron_KronFlux')
    ? { flux: num('ext_photometryKron_KronFlux_instFlux'), err: num('ext_photometryKron_KronFlux_instFluxErr'), radius: num('ext_photometryKron_KronFlux_radius'), flag: flag('ext_photometryKron_KronFlux_flag') }
    : undefined;
  const edgeBits = bit('EDGE') | bit('NO_DATA'); // LSST's flag_edge: EDGE or NO_DATA
  const satBits = bit('SAT');
  const maxShift = Math.max(3, 2 * psf.sigma);
  const mask = image.mask;
  const stampSize = 2 * Math.ceil(5 * psf.sigma) + 1, nr = apertures.length;
  const { planes: alloc, kernels } = tessera;
  const pixels = width * height;

  /**
   * Measures every source in `pix`, the image's copy in wasm (centroids and moments on it and the
   * variance's copy, at the planes' pointers), with the aperture, PSF and Kron fluxes from `fluxesAt` (in wasm).
   */
  const measureAll = (pix: Float32Array, centroidPlanes: CentroidPlanes, momentPlanes: MomentPlanes, kernelPlanes: KernelMomentPlanes | undefined,
    fluxesAt: (k: number) => void): void => {
    const measured: MaskedImage = { ...image, image: pix };
    if (heavy) for (const fp of footprints) putSpans(pix, width, fp.spans, undefined);

    const footprintBits = new Map<readonly Span[], [number, number]>();
    for (let k = 0; k < n; k++) {
      const fp = footprints[k]!;
      if (heavy) putSpans(pix, width, fp.spans, heavy[k]);
      const peak = fp.peaks[0];
      const box = footprintBBox(fp)!;
      area[k] = footprintArea(fp);
      const px0 = peak ? peak.fx : (box.x0 + box.x1) / 2, py0 = peak ? peak.fy : (box.y0 + box.y1) / 2;
      significance[k] = peak ? peak.significance : NaN;
      // The PSF's moments at the peak serve the centroid's weight and the _psf_ columns (the peak is within
      // a pixel or two of the centroid; the model varies over hundreds).
      const pm = psf.momentsAt(px0, py0, kernelPlanes);
      // The footprint's mask bits (pixel flags anywhere in it) and its saturated pixels, in one pass over
      // its spans; deblended children share their parent's, which are read once.
      let bits = footprintBits.get(fp.spans);
      if (!bits) {
        bits = spansMaskBits(mask, width, fp.spans, satBits);
        footprintBits.set(fp.spans, bits);
      }
      const [any, satPixels] = bits;
      const reference = forced?.[k];
      if (reference) {
        x[k] = reference.x;
        y[k] = reference.y;
        sxx[k] = reference.xx;
        syy[k] = reference.yy;
        sxy[k] = reference.xy;
        shapeFlag[k] = !(reference.xx > 0 && reference.yy > 0);
        const g = fixedGaussianFlux(measured, x[k]!, y[k]!, reference.xx, reference.yy, reference.xy);
        gFlux[k] = g.flux;
        gErr[k] = g.err;
        gFlag[k] = !Number.isFinite(g.flux);
      } else {
        const cen = sdssCentroidOnPlanes(tessera, centroidPlanes, width, height, px0, py0, psfSigma(pm, psf.sigma), { maxShift });
        if ((cen.flags & (CENTROID_FLAGS.NO_FLUX | CENTROID_FLAGS.SHIFT)) === 0) {
          x[k] = cen.x;
          y[k] = cen.y;
          xErr[k] = cen.xErr;
          yErr[k] = cen.yErr;
          centroidFlag[k] = cen.flags !== 0;
        } else {
          x[k] = px0;
          y[k] = py0;
          centroidFlag[k] = true;
        }
        const m = adaptiveMoments(pix, width, height, x[k]!, y[k]!, { sigma0: psf.sigma, variance: image.variance, maxShift, resident: momentPlanes });
        if ((m.flags & (MOMENT_FLAGS.SINGULAR | MOMENT_FLAGS.NO_FLUX | MOMENT_FLAGS.SHIFT)) === 0) {
          sxx[k] = m.xx;
          syy[k] = m.yy;
          sxy[k] = m.xy;
          gFlux[k] = m.flux;
          gErr[k] = m.fluxErr;
          shapeFlag[k] = gFlag[k] = m.flags !== 0;
        } else {
          shapeFlag[k] = gFlag[k] = true;
        }
        // A saturated core: the centroid from the unsaturated wings instead (lib/measure/saturatedCentroid.ts).
        if (satPixels > 0) {
          const extent = Math.sqrt(satPixels / Math.PI);
          const fit = saturatedCentroid(pix, image.variance, mask, width, height, x[k]!, y[k]!, psf.sigma + extent / 2,
            extent + 6 * psf.sigma, satBits | bit('BAD') | bit('NO_DATA'));
          satFit[k] = fit !== undefined;
          centroidFlag[k] = true;
          if (fit) {
            x[k] = fit.x;
            y[k] = fit.y;
            xErr[k] = yErr[k] = NaN;
          }
        }
      }
      pxx[k] = pm.xx;
      pyy[k] = pm.yy;
      pxy[k] = pm.xy;

      // Pixel flags: anywhere in the footprint, and in the 3 x 3 pixels at the centroid.
      let atCentre = 0;
      const cx = Math.round(x[k]!), cy = Math.round(y[k]!);
      for (let j = cy - 1; j <= cy + 1; j++) for (let i = cx - 1; i <= cx + 1; i++) if (i >= 0 && j >= 0 && i < width && j < height) atCentre |= mask[j * width + i]!;
      edge[k] = box.x0 === 0 || box.y0 === 0 || box.x1 === width - 1 || box.y1 === height - 1 || (any & edgeBits) !== 0;
      for (const f of pixelFlags) {
        f.any[k] = (any & f.bit) !== 0;
        f.centre[k] = (atCentre & f.bit) !== 0;
      }

      fluxesAt(k);
      if (heavy) putSpans(pix, width, fp.spans, undefined);
    }
  };

  // No sources (a quick look that measures nothing): no copies into wasm either.
  if (n === 0) return { length: 0, columns: cols };
  alloc.scope(() => {
    const img = alloc.alloc(4 * pixels), varp = alloc.alloc(4 * pixels);
    const centre = alloc.alloc(16), radii = alloc.alloc(8 * Math.max(nr, 1)), apOut = alloc.alloc(16 * Math.max(nr, 1)), apFlags = alloc.alloc(4 * Math.max(nr, 1));
    const stampPlane = alloc.alloc(4 * stampSize * stampSize), stampOrigin = alloc.alloc(8), psfOut = alloc.alloc(16), psfFlags = alloc.alloc(4);
    const kronOut = alloc.alloc(32), centroidOut = alloc.alloc(48), momentOut = alloc.alloc(56);
    // The PSF model's kernel images, for its moments (PsfLike.momentsAt).
    const kernelPixels = psf.stampSize === undefined ? 0 : psf.stampSize * psf.stampSize;
    const kernelPlanes = kernelPixels > 0 ? { tessera, image: alloc.alloc(4 * kernelPixels), capacity: kernelPixels, out: alloc.alloc(56) } : undefined;
    // A PSFEx model's stamps straight into the stamp plane (lib/measure/psfStamps.ts), other models' through stampAt.
    const wasmStamps = psfFlux ? WasmPsfStamps.create(tessera, psf, stampSize) : undefined;
    // Views made after the last allocation (memory growth detaches views); nothing below allocates in wasm.
    const pix = alloc.f32(img, pixels);
    pix.set(image.image);
    alloc.f32(varp, pixels).set(image.variance);
    if (nr > 0) alloc.f64(radii, nr).set(config.radii);
    const c = alloc.f64(centre, 2), ap = alloc.f64(apOut, 2 * nr), apf = alloc.i32(apFlags, nr);
    const st = alloc.f32(stampPlane, stampSize * stampSize), org = alloc.i32(stampOrigin, 2), pf = alloc.f64(psfOut, 2), pfl = alloc.i32(psfFlags, 1);
    const kr = alloc.f64(kronOut, 4);
    // Centroids (assembly/centroid.ts), moments' sums, apertures, the PSF flux and the Kron flux in wasm (assembly/measure.ts).
    measureAll(pix, { image: img, variance: varp, out: centroidOut }, { tessera, image: img, variance: varp, mask: 0, out: momentOut }, kernelPlanes, (k) => {
      c[0] = x[k]!;
      c[1] = y[k]!;
      if (nr > 0) {
        checkStatus('apertureFluxes', kernels.apertureFluxes(img, varp, width, height, centre, 1, radii, nr, config.maxExactRadius, apOut, apFlags));
        apertures.forEach((a, j) => {
          a.flux[k] = ap[2 * j]!;
          a.err[k] = Math.sqrt(ap[2 * j + 1]!);
          a.truncated[k] = (apf[j]! & 1) !== 0;
          a.flag[k] = apf[j]! !== 0;
        });
      }
      if (psfFlux) {
        if (wasmStamps) [org[0], org[1]] = wasmStamps.stampInto(x[k]!, y[k]!, st);
        else {
          const stamp = psf.stampAt(x[k]!, y[k]!, stampSize);
          st.set(stamp.stamp);
          [org[0], org[1]] = [stamp.x0, stamp.y0];
        }
        checkStatus('psfFluxes', kernels.psfFluxes(img, varp, width, height, stampPlane, stampSize, stampOrigin, 1, psfOut, psfFlags));
        psfFlux.flux[k] = pf[0]!;
        psfFlux.err[k] = Math.sqrt(pf[1]!);
        psfFlux.flag[k] = pfl[0]! !== 0;
        psfFlux.area[k] = 1 / sumOfSquares(st);
      }
      if (kronFlux) {
        if (shapeFlag[k] && !(sxx[k]! > 0)) kronFlux.flag[k] = true;
        else {
          checkStatus('kronFlux', kernels.kronFlux(img, varp, width, height, x[k]!, y[k]!, sxx[k]!, syy[k]!, sxy[k]!,
            config.kronNSigmaForRadius, config.kronNRadiusForFlux, config.kronMaxRadius, kronOut));
          kronFlux.radius[k] = kr[0]!;
          kronFlux.flux[k] = kr[1]!;
          kronFlux.err[k] = Math.sqrt(kr[2]!);
          kronFlux.flag[k] = kr[3] !== 0;
        }
      }
    });
  });
  return { length: n, columns: cols };
}
