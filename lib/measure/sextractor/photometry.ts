/**
 * SExtractor's photometry on the background-subtracted image (SExtractor 2.x photom.c, growth.c,
 * winpos.c; SEP's aperture.c follows the same rules), per isophotal object (lib/measure/sextractor/
 * detection.ts), in image units:
 *  - FLUX_APER: the sum in a circle of diameter PHOT_APERTURES around (X, Y); pixels within 0.75 px of the
 *    circle's edge are sampled 5 x 5 (APER_OVERSAMP); FLUXERR_APER = sqrt(sum var x covered area).
 *  - KRON_RADIUS, FLUX_AUTO: the first moment r1 = sum(r I) / sum(I) over the ellipse CXX x^2 + CYY y^2 +
 *    CXY x y <= 6^2 (KRON_NSIG); kronfactor = max(PHOT_AUTOPARAMS[0] r1, PHOT_AUTOPARAMS[1]); FLUX_AUTO the
 *    sum of the pixels whose centres lie in the ellipse scaled by kronfactor (a circle of diameter
 *    PHOT_AUTOAPERS[1] when kronfactor sqrt(A B) is smaller); KRON_RADIUS = kronfactor, 0 when FLUX_AUTO
 *    <= 0 or r1 cannot be measured.
 *  - FLUX_RADIUS: radii enclosing PHOT_FLUXFRAC x FLUX_AUTO on a growth curve of 64 annuli out to
 *    6 A (GROWTH_NSIG; at least PHOT_AUTOAPERS[0]), pixels near annulus boundaries sampled 5 x 5, linear
 *    interpolation between annuli; the half-light radius (at least 0.5 px) sets the window of XWIN.
 *  - XWIN, YWIN: the windowed centroid, iterated from (X, Y): x += 2 sum(w I dx) / sum(w I) with the
 *    Gaussian window w of sigma = 2 hl_radius / 2.35 out to 4 sigma (pixels near the edge sampled 11 x 11),
 *    up to 16 times, until it moves less than 1e-4 px.
 *  - flags: APERTURE_INCOMPLETE (16) when a measurement's box leaves the image, CROWDED (1) when more than
 *    10 % of an AUTO aperture is masked.
 * Masked pixels count as missing (0, MASK_TYPE NONE). Geometry (offsets, squared radii, sub-pixel areas)
 * is rounded to float where SExtractor stores floats (intermediates in double, as in ./background.ts);
 * sums are double. The variance is per pixel (a weight map) or SExtractor's
 * global background rms squared; GAIN > 0 adds the Poisson term of positive fluxes.
 */
import { SEXTRACTOR_FLAGS, type IsophotalObject } from './detection.js';
import { libm } from '../../math/libm.js';

const f = Math.fround;
const APER_OVERSAMP = 5;
const KRON_NSIG = 6;
const CROWD_THRESHOLD = 0.1;
const GROWTH_NSTEP = 64;
const GROWTH_OVERSAMP = 5;
const GROWTH_NSIG = 6;
const GROWTH_MINHLRAD = 0.5;
const WINPOS_NITERMAX = 16;
const WINPOS_NSIG = 4;
const WINPOS_OVERSAMP = 11;
const WINPOS_STEPMIN = 0.0001;
const WINPOS_FAC = 2.0;

/** The image photometry measures. */
export interface PhotometryPlanes {
  readonly width: number;
  readonly height: number;
  /** Background-subtracted image. */
  readonly image: Float32Array;
  /** Non-zero: the pixel is missing. */
  readonly mask?: Uint8Array;
  /** Per-pixel variance, or one variance for every pixel. */
  readonly variance: Float32Array | number;
  /** GAIN (e-/ADU; 0: no Poisson term). */
  readonly gain: number;
}

export interface FluxMeasurement {
  flux: number;
  fluxErr: number;
  flags: number;
}

function pixelValue(planes: PhotometryPlanes, i: number): number | undefined {
  const v = planes.image[i]!;
  return (planes.mask && planes.mask[i]) || !(v > -1e30) ? undefined : v;
}

function pixelVariance(planes: PhotometryPlanes, i: number): number {
  return typeof planes.variance === 'number' ? planes.variance : planes.variance[i]!;
}

/** Clips a box [min, max) to [0, size), flagging APERTURE_INCOMPLETE when it had to. */
function clip(min: number, max: number, size: number, flags: { value: number }): [number, number] {
  if (min < 0) { min = 0; flags.value |= SEXTRACTOR_FLAGS.APERTURE_INCOMPLETE; }
  if (max > size) { max = size; flags.value |= SEXTRACTOR_FLAGS.APERTURE_INCOMPLETE; }
  return [min, max];
}

/** FLUX_APER for one diameter (computeaperflux). */
export function apertureFlux(planes: PhotometryPlanes, o: IsophotalObject, diameter: number): FluxMeasurement {
  const { width, height } = planes;
  const mx = f(o.mx), my = f(o.my);
  const raper = f(diameter / 2), raper2 = f(raper * raper);
  const rintlim = f(raper - 0.75);
  const rintlim2 = rintlim > 0 ? f(rintlim * rintlim) : 0;
  const rextlim2 = f((raper + 0.75) * (raper + 0.75));
  const scale = f(1 / APER_OVERSAMP), scale2 = f(scale * scale), offset = f(0.5 * (scale - 1));
  const flags = { value: 0 };
  const [xmin, xmax] = clip(Math.trunc(mx - raper + 0.499999), Math.trunc(mx + raper + 1.499999), width, flags);
  const [ymin, ymax] = clip(Math.trunc(my - raper + 0.499999), Math.trunc(my + raper + 1.499999), height, flags);
  let tv = 0, sigtv = 0;
  for (let y = ymin; y < ymax; y++) {
    for (let x = xmin; x < xmax; x++) {
      let dx = f(x - mx), dy = f(y - my);
      const r2 = f(dx * dx + dy * dy);
      if (!(r2 < rextlim2)) continue;
      let locarea: number;
      if (r2 > rintlim2) {
        dx = f(dx + offset);
        dy = f(dy + offset);
        locarea = 0;
        for (let sy = APER_OVERSAMP; sy--; dy = f(dy + scale)) {
          let dx1 = dx;
          const dy2 = f(dy * dy);
          for (let sx = APER_OVERSAMP; sx--; dx1 = f(dx1 + scale)) if (dx1 * dx1 + dy2 < raper2) locarea = f(locarea + scale2);
        }
      } else locarea = 1;
      const i = y * width + x;
      const pix = pixelValue(planes, i);
      const variance = pixelVariance(planes, i);
      if (pix === undefined) {
        if (typeof planes.variance !== 'number') continue;
        sigtv += variance * locarea;
        continue;
      }
      sigtv += variance * locarea;
      tv += locarea * pix;
    }
  }
  if (planes.gain > 0 && tv > 0) sigtv += tv / planes.gain;
  return { flux: tv, fluxErr: Math.sqrt(sigtv), flags: flags.value };
}

/** The ellipse's half-extents along x and y at "radius" k (SExtractor's dxlim, dylim). */
function ellipseExtent(cxx: number, cyy: number, cxy: number, k: number): [number, number] {
  let dxlim = f(cxx - cxy * cxy / (4 * cyy));
  dxlim = dxlim > 0 ? f(k / Math.sqrt(dxlim)) : 0;
  let dylim = f(cyy - cxy * cxy / (4 * cxx));
  dylim = dylim > 0 ? f(k / Math.sqrt(dylim)) : 0;
  return [dxlim, dylim];
}

const rint = (x: number): number => Math.floor(x + 0.5);

export interface AutoMeasurement extends FluxMeasurement {
  /** KRON_RADIUS: the Kron factor in units of A and B (0 when FLUX_AUTO <= 0). */
  kronRadius: number;
}

/** KRON_RADIUS and FLUX_AUTO (computeautoflux); `params` = PHOT_AUTOPARAMS, `apers` = PHOT_AUTOAPERS. */
export function autoFlux(planes: PhotometryPlanes, o: IsophotalObject, params: readonly [number, number], apers: readonly [number, number]): AutoMeasurement {
  const { width, height } = planes;
  const mx = f(o.mx), my = f(o.my);
  const flags = { value: 0 };
  const box = (dxlim: number, dylim: number): [number, number, number, number] => {
    const [xmin, xmax] = clip(rint(mx - dxlim), rint(mx + dxlim) + 1, width, flags);
    const [ymin, ymax] = clip(rint(my - dylim), rint(my + dylim) + 1, height, flags);
    return [xmin, xmax, ymin, ymax];
  };
  const quad = (cx2: number, cy2: number, cxy: number, dx: number, dy: number): number => cx2 * dx * dx + cy2 * dy * dy + cxy * dx * dy;
  // First step: the Kron radius.
  let cx2: number, cy2: number, cxy: number, dxlim: number, dylim: number, klim2: number;
  if (KRON_NSIG * Math.sqrt(f(o.a * o.b)) > apers[0] / 2) {
    cx2 = o.cxx; cy2 = o.cyy; cxy = o.cxy;
    [dxlim, dylim] = ellipseExtent(cx2, cy2, cxy, KRON_NSIG);
    klim2 = f(KRON_NSIG * KRON_NSIG);
  } else {
    cx2 = cy2 = 1; cxy = 0;
    dxlim = dylim = f(apers[0] / 2);
    klim2 = f(dxlim * dxlim);
  }
  let [xmin, xmax, ymin, ymax] = box(dxlim, dylim);
  let r1 = 0, v1 = 0, area = 0, areab = 0;
  for (let y = ymin; y < ymax; y++) {
    for (let x = xmin; x < xmax; x++) {
      const dx = f(x - mx), dy = f(y - my);
      const r2 = f(quad(cx2, cy2, cxy, dx, dy));
      if (!(r2 <= klim2)) continue;
      const pix = pixelValue(planes, y * width + x);
      if (pix === undefined) { areab++; continue; }
      area++;
      r1 += Math.sqrt(r2) * pix;
      v1 += pix;
    }
  }
  area += areab;
  if (!area) return { flux: 0, fluxErr: 0, kronRadius: 0, flags: flags.value };
  let kronfactor = r1 > 0 && v1 > 0 ? f(params[0] * r1 / v1) : f(params[1]);
  if (kronfactor < params[1]) kronfactor = f(params[1]);
  if (f(areab) / area > CROWD_THRESHOLD) flags.value |= SEXTRACTOR_FLAGS.CROWDED;
  // Second step: the flux within kronfactor.
  if (kronfactor * Math.sqrt(f(o.a * o.b)) > apers[1] / 2) {
    cx2 = o.cxx; cy2 = o.cyy; cxy = o.cxy;
    [dxlim, dylim] = ellipseExtent(cx2, cy2, cxy, kronfactor);
    klim2 = f(kronfactor * kronfactor);
  } else {
    cx2 = cy2 = 1; cxy = 0;
    dxlim = dylim = f(apers[1] / 2);
    klim2 = f(dxlim * dxlim);
    kronfactor = 0;
  }
  [xmin, xmax, ymin, ymax] = box(dxlim, dylim);
  area = areab = 0;
  let tv = 0, sigtv = 0;
  for (let y = ymin; y < ymax; y++) {
    for (let x = xmin; x < xmax; x++) {
      const dx = f(x - mx), dy = f(y - my);
      if (!(quad(cx2, cy2, cxy, dx, dy) <= klim2)) continue;
      area++;
      const i = y * width + x;
      const pix = pixelValue(planes, i);
      if (pix === undefined) {
        areab++;
        if (typeof planes.variance === 'number') sigtv += planes.variance;
        continue;
      }
      sigtv += pixelVariance(planes, i);
      tv += pix;
    }
  }
  if (f(areab) > CROWD_THRESHOLD * area) flags.value |= SEXTRACTOR_FLAGS.CROWDED;
  if (planes.gain > 0 && tv > 0) sigtv += tv / planes.gain;
  tv = f(tv);
  if (tv <= 0) kronfactor = 0;
  return { flux: tv, fluxErr: f(Math.sqrt(sigtv)), kronRadius: kronfactor, flags: flags.value };
}

export interface GrowthMeasurement {
  /** Radii (pixels) enclosing each fraction of FLUX_AUTO. */
  radii: number[];
  /** Half-light radius for the windowed position (at least 0.5 px). */
  halfLightRadius: number;
  flags: number;
}

/** The growth curve, FLUX_RADIUS and the half-light radius (growth_aver / makeavergrowth). */
export function fluxRadius(planes: PhotometryPlanes, o: IsophotalObject, fluxAuto: number, fractions: readonly number[], minAperture: number): GrowthMeasurement {
  const { width, height } = planes;
  const mx = o.mx, my = o.my;
  let rlim = GROWTH_NSIG * o.a;
  if (rlim < minAperture) rlim = minAperture;
  const raper = rlim + 1.5;
  const rextlim2 = raper * raper;
  const stepdens = GROWTH_NSTEP / rlim;
  const ngrowth = GROWTH_NSTEP;
  const step = 1 / stepdens;
  const prevbinmargin = 0.75, nextbinmargin = step - 0.75;
  const scale = 1 / GROWTH_OVERSAMP, scale2 = scale * scale, offset = 0.5 * (scale - 1);
  const flags = { value: 0 };
  const [xmin, xmax] = clip(Math.trunc(mx - raper + 0.499999), Math.trunc(mx + raper + 1.499999), width, flags);
  const [ymin, ymax] = clip(Math.trunc(my - raper + 0.499999), Math.trunc(my + raper + 1.499999), height, flags);
  const growth = new Float64Array(ngrowth);
  for (let y = ymin; y < ymax; y++) {
    for (let x = xmin; x < xmax; x++) {
      let dx = x - mx, dy = y - my;
      const r2 = dx * dx + dy * dy;
      if (!(r2 < rextlim2)) continue;
      const pix = pixelValue(planes, y * width + x) ?? 0;
      const r = Math.sqrt(r2);
      const d = r % step;
      if (d < prevbinmargin || d > nextbinmargin) {
        dx += offset;
        dy += offset;
        for (let sy = GROWTH_OVERSAMP; sy--; dy += scale) {
          let dx1 = dx;
          const dy2 = dy * dy;
          for (let sx = GROWTH_OVERSAMP; sx--; dx1 += scale) {
            const j = Math.trunc(Math.sqrt(dx1 * dx1 + dy2) * stepdens);
            if (j < ngrowth) growth[j] += scale2 * pix;
          }
        }
      } else {
        const j = Math.trunc(r * stepdens);
        if (j < ngrowth) growth[j] += pix;
      }
    }
  }
  for (let i = 0, acc = 0; i < ngrowth; i++) { growth[i] += acc; acc = growth[i]!; }
  const radiusOf = (tv: number): number => {
    const n = ngrowth - 1;
    let i = 0;
    while (i < n && growth[i]! < tv) i++;
    let r: number;
    if (i) {
      const dg = growth[i]! - growth[i - 1]!;
      r = step * (dg !== 0 ? i + (tv - growth[i - 1]!) / dg : i);
    } else r = step * (growth[0] !== 0 ? tv / growth[0]! : 0);
    return r;
  };
  const radii = fractions.map((frac) => {
    const r = f(radiusOf(frac * fluxAuto));
    return r > rlim ? f(rlim) : r;
  });
  let hl = Math.abs(radiusOf(0.5 * fluxAuto));
  if (hl > rlim) hl = rlim;
  if (hl < GROWTH_MINHLRAD) hl = GROWTH_MINHLRAD;
  return { radii, halfLightRadius: f(hl), flags: flags.value };
}

export interface WindowedPosition {
  /** 0-based position. */
  x: number;
  y: number;
  iterations: number;
  flags: number;
}

/** XWIN_IMAGE, YWIN_IMAGE (compute_winpos), started at the isophotal barycentre. */
export function windowedPosition(planes: PhotometryPlanes, o: IsophotalObject, halfLightRadius: number): WindowedPosition {
  const { width, height } = planes;
  const sig = f(halfLightRadius * 2 / 2.35);
  const invtwosig2 = f(1 / (2 * sig * sig));
  const raper = f(WINPOS_NSIG * sig), raper2 = f(raper * raper);
  const rintlim = f(raper - 0.75);
  const rintlim2 = rintlim > 0 ? f(rintlim * rintlim) : 0;
  const rextlim2 = f((raper + 0.75) * (raper + 0.75));
  const scale = f(1 / WINPOS_OVERSAMP), scale2 = f(scale * scale), offset = f(0.5 * (scale - 1));
  const flags = { value: 0 };
  let mx = o.mx, my = o.my;
  let i = 0;
  for (; i < WINPOS_NITERMAX; i++) {
    const [xmin, xmax] = clip(Math.trunc(mx - raper + 0.499999), Math.trunc(mx + raper + 1.499999), width, flags);
    const [ymin, ymax] = clip(Math.trunc(my - raper + 0.499999), Math.trunc(my + raper + 1.499999), height, flags);
    let tv = 0, dxpos = 0, dypos = 0;
    for (let y = ymin; y < ymax; y++) {
      for (let x = xmin; x < xmax; x++) {
        let dx = f(x - mx), dy = f(y - my);
        const r2 = f(dx * dx + dy * dy);
        if (!(r2 < rextlim2)) continue;
        let locarea: number;
        if (r2 > rintlim2) {
          dx = f(dx + offset);
          dy = f(dy + offset);
          locarea = 0;
          for (let sy = WINPOS_OVERSAMP; sy--; dy = f(dy + scale)) {
            let dx1 = dx;
            const dy2 = f(dy * dy);
            for (let sx = WINPOS_OVERSAMP; sx--; dx1 = f(dx1 + scale)) if (dx1 * dx1 + dy2 < raper2) locarea = f(locarea + scale2);
          }
        } else locarea = 1;
        locarea = f(locarea * libm.exp(-r2 * invtwosig2));
        const pix = pixelValue(planes, y * width + x) ?? 0;
        const ddx = f(x - mx), ddy = f(y - my);
        const locpix = locarea * pix;
        tv += locpix;
        dxpos += locpix * ddx;
        dypos += locpix * ddy;
      }
    }
    if (tv > 0) {
      dxpos /= tv;
      dypos /= tv;
      mx += dxpos * WINPOS_FAC;
      my += dypos * WINPOS_FAC;
    } else break;
    if (dxpos * dxpos + dypos * dypos < WINPOS_STEPMIN * WINPOS_STEPMIN) break;
  }
  return { x: mx, y: my, iterations: i + 1, flags: flags.value };
}
