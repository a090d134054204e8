/**
 * Single-frame measurement (LSST meas_base SingleFrameMeasurementTask with its default plugins), one
 * source per footprint at its highest peak (no deblending yet: parent = 0), on a background-subtracted
 * image in e-:
 * - base_SdssCentroid: the centroid under a fixed circular Gaussian weight of the PSF's sigma at the peak
 *   (its moments' determinant radius), iterated from the peak (lib/measure/sdssCentroid.ts: SdssCentroid's
 *   matched-filter estimate), with its linearised error. Falls back to the peak with _flag set when it
 *   fails (no flux, or a shift beyond max(3, 2 sigma) px); _flag alone when its window reaches the image
 *   edge or it does not converge. A source with saturated pixels is centred by a profile fit to its
 *   unsaturated wings instead (lib/measure/saturatedCentroid.ts; _flag and _flag_saturatedFit set, errors NaN).
 * - base_SdssShape: adaptive second moments xx, yy, xy (px^2; lib/measure/adaptiveMoments.ts, started at
 *   the centroid with the PSF's sigma), and _psf_xx/yy/xy, the PSF model's at the detection peak;
 * - base_GaussianFlux: 2 sum(W I) with the adaptive weight (exact for a Gaussian source);
 * - base_CircularApertureFlux_R: exact-overlap apertures (assembly/measure.ts apertureFluxes) at
 *   LSST's radii 3, 4.5, 6, 9, 12, 17, 25, 35, 50, 70 px; _flag_apertureTruncated off the image;
 * - base_PsfFlux: the linear PSF-model fit (assembly/measure.ts psfFluxes) on a stamp of 2 x ceil(5 sigma)
 *   + 1 px; its area in _area (LSST's effective area, 1 / sum(P^2));
 * - ext_photometryKron_KronFlux: Kron's first-moment radius r1 = sum(r I) / sum(I) within 6 sigma of
 *   the adaptive ellipse (nSigmaForRadius 6), flux in the ellipse of radius 2.5 r1 (nRadiusForFlux),
 *   pixels subsampled 5 x 5 on its boundary; _radius is r1 (px, along the ellipse's geometric mean axis);
 * - base_PixelFlags: edge (footprint touches the image border, EDGE or NO_DATA), and for INTRP, SAT, CR,
 *   BAD, SUSPECT (pixelFlagPlanes; coadds add CLIPPED, SENSOR_EDGE, INEXACT_PSF as LSST's) the flag
 *   anywhere in the footprint and _Center in the 3 x 3 pixels at the centroid;
 * - footprint area and peak significance. Every flux has its instFluxErr; every algorithm its _flag.
 * Catalogues are columnar (SourceCatalog), named as LSST's so users' habits carry over.
 */
import { checkStatus } from '../wasm/kernels.js';
import type { Tessera } from '../wasm/loader.js';
import { MASK_PLANES } from '../pipeline/maskPlanes.js';
import { adaptiveMoments, MOMENT_FLAGS } from './adaptiveMoments.js';
import type { MaskedImage } from './background.js';
import { footprintArea, footprintBBox, type Footprint } from './footprint.js';
import type { PsfLike } from './psf.js';
import type { Column, SourceCatalog } from './sourceCatalog.js';
import { saturatedCentroid } from './saturatedCentroid.js';
import { CENTROID_FLAGS, sdssCentroid } from './sdssCentroid.js';
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

export interface MeasurementConfig {
  radii: readonly number[];
  /** Kron: sums over nSigmaForRadius sigma of the adaptive ellipse; flux within nRadiusForFlux x r1. */
  kronNSigmaForRadius: number;
  kronNRadiusForFlux: number;
  kronMaxRadius: number;
  /** Mask planes reported by base_PixelFlags (anywhere and Center), with their column fragments. */
  pixelFlagPlanes: readonly (readonly [string, string])[];
}

export const DEFAULT_MEASUREMENT_CONFIG: Readonly<MeasurementConfig> = Object.freeze({
  radii: APERTURE_RADII,
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

/** Kron radius and flux in the adaptive ellipse (see the module comment). */
function kron(image: MaskedImage, x: number, y: number, xx: number, yy: number, xy: number, config: MeasurementConfig): { radius: number; flux: number; err: number; flag: boolean } {
  const det = xx * yy - xy * xy;
  if (!(det > 0)) return { radius: NaN, flux: NaN, err: NaN, flag: true };
  const scale = libm.pow(det, 0.25); // geometric-mean sigma
  // Ellipse radius of (dx, dy) in units of the geometric-mean axis: sqrt(d^T M^-1 d) x scale.
  const ixx = yy / det, iyy = xx / det, ixy = -xy / det;
  const ellRadius = (dx: number, dy: number): number => Math.sqrt(Math.max(ixx * dx * dx + 2 * ixy * dx * dy + iyy * dy * dy, 0)) * scale;
  const major = Math.sqrt(0.5 * (xx + yy) + Math.sqrt(0.25 * (xx - yy) ** 2 + xy * xy));
  const { width, height } = image;
  const rMax = config.kronNSigmaForRadius * scale;
  let sr = 0, s = 0;
  const reach = Math.ceil(config.kronNSigmaForRadius * major) + 1;
  for (let py = Math.max(0, Math.floor(y - reach)); py <= Math.min(height - 1, Math.ceil(y + reach)); py++) {
    for (let px = Math.max(0, Math.floor(x - reach)); px <= Math.min(width - 1, Math.ceil(x + reach)); px++) {
      const r = ellRadius(px - x, py - y);
      if (r > rMax) continue;
      const v = image.image[py * width + px]!;
      if (!Number.isFinite(v)) continue;
      sr += r * v;
      s += v;
    }
  }
  let radius = s > 0 ? sr / s : NaN;
  let flag = false;
  if (!(radius > 0) || radius > config.kronMaxRadius) {
    flag = true;
    radius = Math.min(Math.max(radius || 0, scale), config.kronMaxRadius);
  }
  const rFlux = config.kronNRadiusForFlux * radius;
  const fluxReach = Math.ceil(rFlux * major / scale) + 1;
  let flux = 0, variance = 0;
  for (let py = Math.max(0, Math.floor(y - fluxReach)); py <= Math.min(height - 1, Math.ceil(y + fluxReach)); py++) {
    for (let px = Math.max(0, Math.floor(x - fluxReach)); px <= Math.min(width - 1, Math.ceil(x + fluxReach)); px++) {
      const r = ellRadius(px - x, py - y);
      // Pixels within ~0.75 px of the boundary: 5 x 5 subsamples.
      let w: number;
      if (r < rFlux - 0.75 * major / scale) w = 1;
      else if (r > rFlux + 0.75 * major / scale) w = 0;
      else {
        let inside = 0;
        for (let j = 0; j < 5; j++) for (let i = 0; i < 5; i++) if (ellRadius(px - x + (i - 2) / 5, py - y + (j - 2) / 5) <= rFlux) inside++;
        w = inside / 25;
      }
      if (w === 0) continue;
      const k = py * width + px;
      const v = image.image[k]!, vv = image.variance[k]!;
      if (!Number.isFinite(v)) { flag = true; continue; }
      flux += w * v;
      if (Number.isFinite(vv)) variance += w * w * vv;
    }
  }
  if (x - fluxReach < 0 || y - fluxReach < 0 || x + fluxReach > width - 1 || y + fluxReach > height - 1) flag = true;
  return { radius, flux, err: Math.sqrt(variance), flag };
}

/** Where a cut-out lies in its full image: its pixel (0, 0) is the full image's (x0, y0). */
export interface CutoutOrigin {
  readonly x0: number;
  readonly y0: number;
  readonly fullWidth: number;
  readonly fullHeight: number;
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

/**
 * Measures one source per footprint (see the module comment). `image` is background-subtracted; its
 * variance plane gives the errors and its mask the pixel flags. With `origin`, `image` and the
 * footprints are a cut-out of a larger image: the PSF is evaluated, and positions and edge flags are
 * reported, in the full image's coordinates. With `forced` (per footprint, LSST's forced measurement),
 * a source's centroid is the given position (its errors NaN) and its shape the given moments: the Gaussian
 * flux uses that fixed weight, the Kron flux that ellipse, apertures and the PSF fit that centre.
 */
export function measureSources(tessera: Tessera, image: MaskedImage, footprints: readonly Footprint[], psf: PsfLike, overrides: Partial<MeasurementConfig> = {},
  origin: CutoutOrigin = { x0: 0, y0: 0, fullWidth: image.width, fullHeight: image.height }, forced?: readonly (ForcedSource | undefined)[]): SourceCatalog {
  const config: MeasurementConfig = { ...DEFAULT_MEASUREMENT_CONFIG, ...overrides };
  const n = footprints.length;
  const { width, height } = image;
  const planes: Readonly<Record<string, number>> = image.maskPlanes ?? MASK_PLANES;
  const bit = (name: string): number => (planes[name] === undefined ? 0 : 1 << planes[name]!);
  const cols: Record<string, Column> = {};
  const num = (name: string): Float64Array => (cols[name] ??= numberColumn(n)) as Float64Array;
  const flag = (name: string): boolean[] => (cols[name] ??= flagColumn(n)) as boolean[];
  const ids = new Int32Array(n);
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
  const edgeBits = bit('EDGE') | bit('NO_DATA'); // LSST's flag_edge: EDGE or NO_DATA
  const satBits = bit('SAT');
  const satFit = flag('base_SdssCentroid_flag_saturatedFit');
  const maxShift = Math.max(3, 2 * psf.sigma);

  for (let k = 0; k < n; k++) {
    const fp = footprints[k]!;
    ids[k] = k + 1;
    const peak = fp.peaks[0];
    const box = footprintBBox(fp)!;
    area[k] = footprintArea(fp);
    const px0 = peak ? peak.fx : (box.x0 + box.x1) / 2, py0 = peak ? peak.fy : (box.y0 + box.y1) / 2;
    significance[k] = peak ? peak.significance : NaN;
    // The PSF's moments at the peak serve the centroid's weight and the _psf_ columns (the peak is within
    // a pixel or two of the centroid; the model varies over hundreds).
    const pm = psf.momentsAt(px0 + origin.x0, py0 + origin.y0);
    const reference = forced?.[k];
    if (reference) {
      x[k] = reference.x - origin.x0;
      y[k] = reference.y - origin.y0;
      sxx[k] = reference.xx;
      syy[k] = reference.yy;
      sxy[k] = reference.xy;
      shapeFlag[k] = !(reference.xx > 0 && reference.yy > 0);
      const g = fixedGaussianFlux(image, x[k]!, y[k]!, reference.xx, reference.yy, reference.xy);
      gFlux[k] = g.flux;
      gErr[k] = g.err;
      gFlag[k] = !Number.isFinite(g.flux);
    } else {
      const c = sdssCentroid(image.image, image.variance, width, height, px0, py0, psfSigma(pm, psf.sigma), { maxShift });
      if ((c.flags & (CENTROID_FLAGS.NO_FLUX | CENTROID_FLAGS.SHIFT)) === 0) {
        x[k] = c.x;
        y[k] = c.y;
        xErr[k] = c.xErr;
        yErr[k] = c.yErr;
        centroidFlag[k] = c.flags !== 0;
      } else {
        x[k] = px0;
        y[k] = py0;
        centroidFlag[k] = true;
      }
      const m = adaptiveMoments(image.image, width, height, x[k]!, y[k]!, { sigma0: psf.sigma, variance: image.variance, maxShift });
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
      let satPixels = 0, sx = 0, sy = 0;
      for (const s of fp.spans) for (let xx = s.x0; xx <= s.x1; xx++) if (image.mask[s.y * width + xx]! & satBits) { satPixels++; sx += xx; sy += s.y; }
      if (satPixels > 0) {
        const extent = Math.sqrt(satPixels / Math.PI);
        const fit = saturatedCentroid(image.image, image.variance, image.mask, width, height, x[k]!, y[k]!, psf.sigma + extent / 2,
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
    let any = 0;
    for (const s of fp.spans) for (let xx = s.x0; xx <= s.x1; xx++) any |= image.mask[s.y * width + xx]!;
    let centre = 0;
    const cx = Math.round(x[k]!), cy = Math.round(y[k]!);
    for (let j = cy - 1; j <= cy + 1; j++) for (let i = cx - 1; i <= cx + 1; i++) if (i >= 0 && j >= 0 && i < width && j < height) centre |= image.mask[j * width + i]!;
    edge[k] = box.x0 + origin.x0 === 0 || box.y0 + origin.y0 === 0 || box.x1 + origin.x0 === origin.fullWidth - 1 || box.y1 + origin.y0 === origin.fullHeight - 1 || (any & edgeBits) !== 0;
    for (const [plane, name] of config.pixelFlagPlanes) {
      const b = bit(plane);
      flag(`base_PixelFlags_flag_${name}`)[k] = (any & b) !== 0;
      flag(`base_PixelFlags_flag_${name}Center`)[k] = (centre & b) !== 0;
    }
  }

  // Apertures and PSF fluxes in wasm, all sources at once.
  const { planes: alloc, kernels } = tessera;
  const pixels = width * height;
  const stampSize = 2 * Math.ceil(5 * psf.sigma) + 1;
  const stamps = footprints.map((_, k) => {
    const s = psf.stampAt(x[k]! + origin.x0, y[k]! + origin.y0, stampSize);
    return { ...s, x0: s.x0 - origin.x0, y0: s.y0 - origin.y0 };
  });
  alloc.scope(() => {
    const m = Math.max(n, 1), nr = config.radii.length;
    const img = alloc.alloc(4 * pixels), varp = alloc.alloc(4 * pixels);
    const centres = alloc.alloc(16 * m), radii = alloc.alloc(8 * nr);
    const apOut = alloc.alloc(16 * m * nr), apFlags = alloc.alloc(4 * m * nr);
    const stampPlane = alloc.alloc(4 * m * stampSize * stampSize), origins = alloc.alloc(8 * m);
    const psfOut = alloc.alloc(16 * m), psfFlags = alloc.alloc(4 * m);
    alloc.f32(img, pixels).set(image.image);
    alloc.f32(varp, pixels).set(image.variance);
    const c = alloc.f64(centres, 2 * n);
    for (let k = 0; k < n; k++) { c[2 * k] = x[k]!; c[2 * k + 1] = y[k]!; }
    alloc.f64(radii, config.radii.length).set(config.radii);
    const st = alloc.f32(stampPlane, n * stampSize * stampSize), org = alloc.i32(origins, 2 * n);
    stamps.forEach((s, k) => { st.set(s.stamp, k * stampSize * stampSize); org[2 * k] = s.x0; org[2 * k + 1] = s.y0; });
    checkStatus('apertureFluxes', kernels.apertureFluxes(img, varp, width, height, centres, n, radii, config.radii.length, apOut, apFlags));
    checkStatus('psfFluxes', kernels.psfFluxes(img, varp, width, height, stampPlane, stampSize, origins, n, psfOut, psfFlags));
    const ap = alloc.f64(apOut, 2 * n * config.radii.length), apf = alloc.i32(apFlags, n * config.radii.length);
    config.radii.forEach((r, j) => {
      const name = `base_CircularApertureFlux_${apertureName(r)}`;
      const f = num(`${name}_instFlux`), e = num(`${name}_instFluxErr`), fl = flag(`${name}_flag`), tr = flag(`${name}_flag_apertureTruncated`);
      for (let k = 0; k < n; k++) {
        const o = k * config.radii.length + j;
        f[k] = ap[2 * o]!;
        e[k] = Math.sqrt(ap[2 * o + 1]!);
        tr[k] = (apf[o]! & 1) !== 0;
        fl[k] = apf[o]! !== 0;
      }
    });
    const pf = alloc.f64(psfOut, 2 * n), pfl = alloc.i32(psfFlags, n);
    const f = num('base_PsfFlux_instFlux'), e = num('base_PsfFlux_instFluxErr'), fl = flag('base_PsfFlux_flag'), a = num('base_PsfFlux_area');
    for (let k = 0; k < n; k++) {
      f[k] = pf[2 * k]!;
      e[k] = Math.sqrt(pf[2 * k + 1]!);
      fl[k] = pfl[k]! !== 0;
      let s2 = 0;
      for (const v of stamps[k]!.stamp) s2 += v * v;
      a[k] = 1 / s2;
    }
  });

  const kf = num('ext_photometryKron_KronFlux_instFlux'), ke = num('ext_photometryKron_KronFlux_instFluxErr');
  const kr = num('ext_photometryKron_KronFlux_radius'), kfl = flag('ext_photometryKron_KronFlux_flag');
  for (let k = 0; k < n; k++) {
    if (shapeFlag[k] && !(sxx[k]! > 0)) { kfl[k] = true; continue; }
    const r = kron(image, x[k]!, y[k]!, sxx[k]!, syy[k]!, sxy[k]!, config);
    kf[k] = r.flux;
    ke[k] = r.err;
    kr[k] = r.radius;
    kfl[k] = r.flag;
  }
  if (origin.x0 !== 0 || origin.y0 !== 0) {
    for (let k = 0; k < n; k++) {
      x[k] = x[k]! + origin.x0;
      y[k] = y[k]! + origin.y0;
    }
  }
  return { length: n, columns: cols };
}
