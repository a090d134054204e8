/**
 * The stellar locus of the simulated sky: intrinsic colours g-r, r-i (AB mag, the camera's bands) of
 * main-sequence stars, as a curve in the (g-r, r-i) plane parametrised by its arc length s (mag), with
 * a Gaussian intrinsic width perpendicular to it.
 *
 * Shape (after Covey et al. 2007, AJ 134, 2398 and Ivezic et al. 2004, AN 325, 583, built so that
 * Ivezic's principal colours are exact on it):
 *   1. blue branch (A to K stars): the straight line wPerp = 0, r-i = BLUE_SLOPE (g-r) + BLUE_INTERCEPT,
 *      BLUE_SLOPE = 0.227 / 0.567 = 0.40035, BLUE_INTERCEPT = -0.050 / 0.567, from g-r = -0.20 to 1.05
 *      (the range -0.2 < wPara < 0.6 of Ivezic's w colour is g-r = 0.240 ... 0.982, all on it);
 *   2. the M-dwarf bend: a quadratic Bezier curve from (1.05, line) with control point (G_RED, line at
 *      G_RED) to (G_RED, 0.75), tangent-continuous at both ends;
 *   3. red branch (M dwarfs): the straight line g-r = G_RED = 0.988 / 0.707 = 1.39745 (Ivezic's
 *      xPerp = 0) from r-i = 0.75 to 2.40.
 * Width: a perpendicular offset N(0, sigma_perp) with sigma_perp = LOCUS_WIDTH_WPERP / |grad wPerp|
 * = 0.015 / 0.61075 = 0.02456 mag, so that on the blue branch the scatter of wPerp is exactly
 * LOCUS_WIDTH_WPERP = 0.015 mag.
 * Population along the locus (a simple documented mix, independent of magnitude and latitude):
 *   50 % F/G turn-off stars, g-r ~ N(0.36, 0.10) on the blue branch (redrawn outside it);
 *   20 % K and early-M dwarfs, s uniform from g-r = 0.55 to the end of the bend;
 *   30 % M dwarfs on the red branch, r-i = 0.75 + Exponential(0.45) (redrawn beyond 2.40).
 *
 * Principal colours (Ivezic et al. 2004, SDSS gri, as LSST pipe_analysis uses them), written as colours:
 *   wPerp = -0.227 (g-r) + 0.567 (r-i) + 0.050,  wPara = 0.928 (g-r) + 0.372 (r-i) - 0.425,
 *   xPerp = 0.707 (g-r) - 0.988,                 xPara = r-i.
 * (Their magnitude coefficients -0.227 g + 0.792 r - 0.567 i are rounded and sum to -0.002; the colour
 * form is the same plane with r's coefficient 0.794, and does not depend on the magnitude.)
 */
import type { Random } from './random.js';
import type { Band } from './types.js';
import { libm } from '../math/libm.js';

export const IVEZIC_2004 = {
  wPerp: { gr: -0.227, ri: 0.567, constant: 0.050 },
  wPara: { gr: 0.928, ri: 0.372, constant: -0.425 },
  xPerp: { gr: 0.707, ri: 0, constant: -0.988 },
  /** The ranges of the parallel colours where each perpendicular colour is meaningful (pipe_analysis). */
  wParaRange: [-0.2, 0.6] as const,
  xParaRange: [0.8, 1.6] as const,
} as const;

export const BLUE_SLOPE = 0.227 / 0.567;
export const BLUE_INTERCEPT = -0.050 / 0.567;
export const G_RED = 0.988 / 0.707;
/** Intrinsic scatter of wPerp on the blue branch (mag). */
export const LOCUS_WIDTH_WPERP = 0.015;
/** |grad wPerp| in the (g-r, r-i) plane. */
export const WPERP_GRADIENT = Math.hypot(IVEZIC_2004.wPerp.gr, IVEZIC_2004.wPerp.ri);
/** Geometric perpendicular width of the locus (mag). */
export const LOCUS_WIDTH_PERP = LOCUS_WIDTH_WPERP / WPERP_GRADIENT;

/** The locus definition, for tests and truth records. */
export const STELLAR_LOCUS = {
  blueSlope: BLUE_SLOPE,
  blueIntercept: BLUE_INTERCEPT,
  blueStartGr: -0.20,
  bendStartGr: 1.05,
  redGr: G_RED,
  redStartRi: 0.75,
  redEndRi: 2.40,
  widthWPerp: LOCUS_WIDTH_WPERP,
  widthPerp: LOCUS_WIDTH_PERP,
  populations: {
    turnoff: { fraction: 0.5, grMean: 0.36, grSigma: 0.10 },
    kDwarfs: { fraction: 0.2, grStart: 0.55 },
    mDwarfs: { fraction: 0.3, riScale: 0.45 },
  },
} as const;

export interface PrincipalColours { wPerp: number; wPara: number; xPerp: number; xPara: number }

/** Ivezic et al. (2004) principal colours of a star from its g, r, i (AB). */
export function principalColours(g: number, r: number, i: number): PrincipalColours {
  const gr = g - r, ri = r - i;
  const w = IVEZIC_2004;
  return {
    wPerp: w.wPerp.gr * gr + w.wPerp.ri * ri + w.wPerp.constant,
    wPara: w.wPara.gr * gr + w.wPara.ri * ri + w.wPara.constant,
    xPerp: w.xPerp.gr * gr + w.xPerp.constant,
    xPara: ri,
  };
}

const blueLine = (gr: number): number => BLUE_SLOPE * gr + BLUE_INTERCEPT;
const P0: [number, number] = [STELLAR_LOCUS.blueStartGr, blueLine(STELLAR_LOCUS.blueStartGr)];
const P1: [number, number] = [STELLAR_LOCUS.bendStartGr, blueLine(STELLAR_LOCUS.bendStartGr)];
const CONTROL: [number, number] = [G_RED, blueLine(G_RED)];
const P2: [number, number] = [G_RED, STELLAR_LOCUS.redStartRi];
const BLUE_LENGTH = Math.hypot(P1[0] - P0[0], P1[1] - P0[1]);
const RED_LENGTH = STELLAR_LOCUS.redEndRi - STELLAR_LOCUS.redStartRi;

function bezier(t: number): [number, number] {
  const a = (1 - t) * (1 - t), b = 2 * t * (1 - t), c = t * t;
  return [a * P1[0] + b * CONTROL[0] + c * P2[0], a * P1[1] + b * CONTROL[1] + c * P2[1]];
}
function bezierTangent(t: number): [number, number] {
  const dx = 2 * (1 - t) * (CONTROL[0] - P1[0]) + 2 * t * (P2[0] - CONTROL[0]);
  const dy = 2 * (1 - t) * (CONTROL[1] - P1[1]) + 2 * t * (P2[1] - CONTROL[1]);
  const n = Math.hypot(dx, dy);
  return [dx / n, dy / n];
}

/** Arc length of the bend tabulated on 4096 steps of t (Simpson per step: exact to ~1e-12). */
const BEND_STEPS = 4096;
const BEND_ARC = (() => {
  const arc = new Float64Array(BEND_STEPS + 1);
  const speed = (t: number): number => {
    const dx = 2 * (1 - t) * (CONTROL[0] - P1[0]) + 2 * t * (P2[0] - CONTROL[0]);
    const dy = 2 * (1 - t) * (CONTROL[1] - P1[1]) + 2 * t * (P2[1] - CONTROL[1]);
    return Math.hypot(dx, dy);
  };
  for (let k = 0; k < BEND_STEPS; k++) {
    const t0 = k / BEND_STEPS, t1 = (k + 1) / BEND_STEPS;
    arc[k + 1] = arc[k]! + ((t1 - t0) / 6) * (speed(t0) + 4 * speed(0.5 * (t0 + t1)) + speed(t1));
  }
  return arc;
})();
const BEND_LENGTH = BEND_ARC[BEND_STEPS]!;

/** Total arc length of the locus (mag). */
export function locusLength(): number {
  return BLUE_LENGTH + BEND_LENGTH + RED_LENGTH;
}

/** Arc-length coordinates of the segment boundaries: end of the blue branch, end of the bend. */
export function locusSegments(): { blueEnd: number; bendEnd: number; end: number } {
  return { blueEnd: BLUE_LENGTH, bendEnd: BLUE_LENGTH + BEND_LENGTH, end: locusLength() };
}

export interface LocusPoint {
  gr: number;
  ri: number;
  /** Unit normal in (g-r, r-i), on the side of increasing wPerp along the blue branch. */
  normal: [number, number];
}

/** The locus at arc length s (clamped to [0, locusLength()]). */
export function locusPoint(s: number): LocusPoint {
  const length = locusLength();
  const t = Math.min(Math.max(s, 0), length);
  if (t <= BLUE_LENGTH) {
    const f = t / BLUE_LENGTH;
    const tx = (P1[0] - P0[0]) / BLUE_LENGTH, ty = (P1[1] - P0[1]) / BLUE_LENGTH;
    return { gr: P0[0] + f * (P1[0] - P0[0]), ri: P0[1] + f * (P1[1] - P0[1]), normal: [-ty, tx] };
  }
  if (t <= BLUE_LENGTH + BEND_LENGTH) {
    const target = t - BLUE_LENGTH;
    let lo = 0, hi = BEND_STEPS;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (BEND_ARC[mid]! <= target) lo = mid; else hi = mid;
    }
    const a0 = BEND_ARC[lo]!, a1 = BEND_ARC[hi]!;
    const param = (lo + (a1 > a0 ? (target - a0) / (a1 - a0) : 0)) / BEND_STEPS;
    const [gr, ri] = bezier(param);
    const [tx, ty] = bezierTangent(param);
    return { gr, ri, normal: [-ty, tx] };
  }
  return { gr: G_RED, ri: STELLAR_LOCUS.redStartRi + (t - BLUE_LENGTH - BEND_LENGTH), normal: [-1, 0] };
}

/** Arc length of the blue-branch point with colour g-r. */
function blueCoordinate(gr: number): number {
  return ((gr - P0[0]) / (P1[0] - P0[0])) * BLUE_LENGTH;
}

export type LocusPopulation = 'turnoff' | 'kDwarfs' | 'mDwarfs';

export interface StellarColours {
  gr: number;
  ri: number;
  /** Arc length of the star's locus point. */
  locusCoordinate: number;
  /** Perpendicular offset from the locus (mag, along the normal). */
  offset: number;
  population: LocusPopulation;
}

/** Draws one star's intrinsic colours: a point on the locus (population mix) plus the perpendicular scatter. */
export function drawStellarColours(rng: Random): StellarColours {
  const pop = STELLAR_LOCUS.populations;
  const u = rng.uniform();
  let s: number;
  let population: LocusPopulation;
  if (u < pop.turnoff.fraction) {
    population = 'turnoff';
    let gr: number;
    do gr = pop.turnoff.grMean + pop.turnoff.grSigma * rng.normal();
    while (gr < STELLAR_LOCUS.blueStartGr || gr > STELLAR_LOCUS.bendStartGr);
    s = blueCoordinate(gr);
  } else if (u < pop.turnoff.fraction + pop.kDwarfs.fraction) {
    population = 'kDwarfs';
    s = rng.range(blueCoordinate(pop.kDwarfs.grStart), BLUE_LENGTH + BEND_LENGTH);
  } else {
    population = 'mDwarfs';
    let extra: number;
    do extra = -pop.mDwarfs.riScale * libm.log(1 - rng.uniform());
    while (extra > RED_LENGTH);
    s = BLUE_LENGTH + BEND_LENGTH + extra;
  }
  const p = locusPoint(s);
  const offset = LOCUS_WIDTH_PERP * rng.normal();
  return { gr: p.gr + offset * p.normal[0], ri: p.ri + offset * p.normal[1], locusCoordinate: s, offset, population };
}

/** g, r, i of a star of r magnitude `r` and colours g-r, r-i. */
export function starMagnitudes(r: number, colours: { gr: number; ri: number }): Record<Band, number> {
  return { g: r + colours.gr, r, i: r - colours.ri };
}
