/**
 * Fits an affine correction to a starting WCS that already holds the optical distortion (the raw's header
 * WCS, from the camera model), for detectors with too few matches to fit a TAN-SIP polynomial of the
 * configured order: LSST's FitAffineWcsTask (meas_astrom fitAffineWcs.py, the fitter of the 2024
 * CalibrateImageTask), which fits an affine transform on top of the camera geometry's distortion.
 *
 * Model: on the tangent plane at the starting WCS's image centre, with (xi_h, eta_h) the standard
 * coordinates (degrees) the starting WCS gives a pixel,
 *   xi = m00 xi_h + m01 eta_h + t0,   eta = m10 xi_h + m11 eta_h + t1
 * (shift, rotation, scale and shear: a pointing, rotator or plate-scale error of the header), fitted
 * unweighted to the matches with the rejection of fitTanSip.ts (rejSigma x per-axis sigma, numRejIter
 * times); 3 matches determine it. The corrected mapping is then written as a TAN-SIP WCS of the
 * configured order by fitting it (fitTanSip.ts) at a 25 x 25 grid of pixels over the image; the error of
 * that representation is reported (the header's distortion about the optical axis is a cubic, so order 3
 * holds it to micro-arcseconds). Units: pixels 0-BASED, sky degrees, residuals arcsec.
 */
import type { Wcs } from '../wcs/index.js';
import { angularSeparation } from '../wcs/index.js';
import { solveLeastSquares } from '../wcs/leastSquares.js';
import { fitTanSipWcs, TAN_SIP_FIT_DEFAULTS, type TanSipFit, type TanSipFitConfig, type TanSipFitFailure } from './fitTanSip.js';
import { TangentPlane } from './tangentPlane.js';
import { median } from '../math/median.js';

export interface AffineWcsFitInput {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  ra: ArrayLike<number>;
  dec: ArrayLike<number>;
  width: number;
  height: number;
  /** The WCS whose distortion is kept (the raw's header WCS). */
  initialWcs: Wcs;
  source?: string;
}

export interface AffineWcsFit extends TanSipFit {
  /** The affine correction [m00, m01, m10, m11] and shift [t0, t1] (degrees) on the tangent plane. */
  matrix: [number, number, number, number];
  shiftDeg: [number, number];
  /** Largest error of the TAN-SIP representation of the corrected mapping over the image grid, mas. */
  representationErrorMas: number;
}

/** Fits the affine correction; see the module comment. */
export function fitAffineWcs(input: AffineWcsFitInput, config: Partial<TanSipFitConfig> = {}): AffineWcsFit | TanSipFitFailure {
  const cfg: TanSipFitConfig = { ...TAN_SIP_FIT_DEFAULTS, ...config };
  const { initialWcs, width, height } = input;
  const source = input.source ?? 'affine-corrected WCS';
  const n = input.x.length;
  const [ra0, dec0] = initialWcs.pixelToSky((width - 1) / 2, (height - 1) / 2);
  if (!Number.isFinite(ra0) || !(Math.abs(dec0) <= 90)) {
    return { ok: false, reason: 'singular', message: `${source}: the starting WCS does not map the image centre to the sky` };
  }
  const plane = new TangentPlane(ra0, dec0);
  const hx = new Float64Array(n), hy = new Float64Array(n), rx = new Float64Array(n), ry = new Float64Array(n);
  const finite = new Uint8Array(n);
  const t = [0, 0];
  for (let i = 0; i < n; i++) {
    const [a, d] = initialWcs.pixelToSky(input.x[i]!, input.y[i]!);
    plane.project(a, d, t);
    hx[i] = t[0]!; hy[i] = t[1]!;
    plane.project(input.ra[i]!, input.dec[i]!, t);
    rx[i] = t[0]!; ry[i] = t[1]!;
    if ([hx[i]!, hy[i]!, rx[i]!, ry[i]!].every(Number.isFinite)) finite[i] = 1;
  }
  const scale = Math.max(1e-6, (Math.max(width, height) * initialWcs.pixelScale()) / 3600 / 2);
  const solve = (use: Uint8Array): { mx: Float64Array; my: Float64Array } | undefined => {
    const idx: number[] = [];
    for (let i = 0; i < n; i++) if (use[i]) idx.push(i);
    if (idx.length < 3) return undefined;
    const rows = new Float64Array(idx.length * 3);
    idx.forEach((i, k) => { rows[k * 3] = hx[i]! / scale; rows[k * 3 + 1] = hy[i]! / scale; rows[k * 3 + 2] = 1; });
    const solved = solveLeastSquares(rows, idx.length, 3, [Float64Array.from(idx, (i) => rx[i]!), Float64Array.from(idx, (i) => ry[i]!)]);
    return solved ? { mx: solved[0]!, my: solved[1]! } : undefined;
  };
  const apply = (m: { mx: Float64Array; my: Float64Array }, x: number, y: number, out: number[]): void => {
    out[0] = m.mx[0]! * (x / scale) + m.mx[1]! * (y / scale) + m.mx[2]!;
    out[1] = m.my[0]! * (x / scale) + m.my[1]! * (y / scale) + m.my[2]!;
  };
  let use = Uint8Array.from(finite);
  if (use.reduce((a, v) => a + v, 0) < 3) return { ok: false, reason: 'tooFewMatches', message: `${source}: an affine correction needs at least 3 matches` };
  let m = solve(use);
  for (let rej = 0; rej < cfg.numRejIter && m; rej++) {
    const dx = new Float64Array(n), dy = new Float64Array(n);
    const o = [0, 0];
    let k = 0, sx = 0, sy = 0, mxs = 0, mys = 0;
    for (let i = 0; i < n; i++) {
      if (!finite[i]) continue;
      apply(m, hx[i]!, hy[i]!, o);
      dx[i] = (o[0]! - rx[i]!) * 3600; dy[i] = (o[1]! - ry[i]!) * 3600;
      if (use[i]) { k++; mxs += dx[i]!; mys += dy[i]!; sx += dx[i]! ** 2; sy += dy[i]! ** 2; }
    }
    const sdx = Math.max(Math.sqrt(Math.max(0, sx / k - (mxs / k) ** 2)), 1e-6);
    const sdy = Math.max(Math.sqrt(Math.max(0, sy / k - (mys / k) ** 2)), 1e-6);
    const next = new Uint8Array(n);
    for (let i = 0; i < n; i++) if (finite[i] && Math.abs(dx[i]!) <= cfg.rejSigma * sdx && Math.abs(dy[i]!) <= cfg.rejSigma * sdy) next[i] = 1;
    if (next.reduce((a, v) => a + v, 0) < 3) break;
    use = next;
    m = solve(use);
  }
  if (!m) return { ok: false, reason: 'singular', message: `${source}: the affine fit is singular (degenerate positions)` };

  // The corrected mapping at a grid of pixels, written as TAN-SIP.
  const g = 25;
  const gx: number[] = [], gy: number[] = [], gra: number[] = [], gdec: number[] = [];
  const o = [0, 0];
  for (let i = 0; i < g; i++) {
    for (let j = 0; j < g; j++) {
      const x = -0.5 + (width * i) / (g - 1), y = -0.5 + (height * j) / (g - 1);
      const [a, d] = initialWcs.pixelToSky(x, y);
      plane.project(a, d, t);
      apply(m, t[0]!, t[1]!, o);
      const [ra, dec] = plane.deproject(o[0]!, o[1]!);
      gx.push(x); gy.push(y); gra.push(ra); gdec.push(dec);
    }
  }
  const grid = fitTanSipWcs({ x: gx, y: gy, ra: gra, dec: gdec, width, height, crval: [ra0, dec0], source }, { ...cfg, numRejIter: 0, maxScatterArcsec: Infinity });
  if (!grid.ok) return grid;
  const representationErrorMas = Math.max(...Array.from(grid.separationArcsec)) * 1000;
  const separationArcsec = new Float64Array(n);
  const used: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!finite[i]) { separationArcsec[i] = NaN; use[i] = 0; continue; }
    const [a, d] = grid.wcs.pixelToSky(input.x[i]!, input.y[i]!);
    separationArcsec[i] = angularSeparation(a, d, input.ra[i]!, input.dec[i]!) * 3600;
    if (use[i]) used.push(separationArcsec[i]!);
  }
  const medianScatterArcsec = median(used);
  if (!(medianScatterArcsec <= cfg.maxScatterArcsec)) {
    return { ok: false, reason: 'scatterTooLarge', message: `${source}: median scatter ${medianScatterArcsec.toFixed(3)}" exceeds maxScatterArcsec ${cfg.maxScatterArcsec}"` };
  }
  return {
    ...grid,
    used: use,
    nUsed: used.length,
    separationArcsec,
    rmsArcsec: Math.sqrt(used.reduce((a, d) => a + d * d, 0) / used.length),
    medianScatterArcsec,
    matrix: [m.mx[0]! / scale, m.mx[1]! / scale, m.my[0]! / scale, m.my[1]! / scale],
    shiftDeg: [m.mx[2]!, m.my[2]!],
    representationErrorMas,
  };
}
