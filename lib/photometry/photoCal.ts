/**
 * Photometric calibration of one detector: LSST's PhotoCalTask (pipe_tasks photoCal.py) as a pure
 * function. From matched (source, reference star) pairs it finds the zero point of the instrumental
 * fluxes and returns the calibration in LSST's PhotoCalib form: nJy per instrumental count
 * (`calibrationMean`) and its error (`calibrationErr`), plus functions that apply it.
 *
 * Units: instrumental flux in counts of the image (e- or ADU, whatever the measurement used); reference
 * flux in nJy (AB: m = 31.4 - 2.5 log10(nJy)); magnitudes AB; the zero point is the AB magnitude of one
 * count.
 *
 * Steps (LSST's order and defaults):
 *  1. selection (selectMatches): drop extended sources (LSST selectUnresolved, extendedness >= 0.5) and
 *     flagged ones (badFlags: edge, interpolated, saturated, and a failed flux measurement: the caller
 *     folds them into `flagged`), references fainter than magLimit (22.0; the HSC pipelines use i < 22) or
 *     brighter than brightMagLimit (off), and sources with instFlux <= 0 or non-finite values;
 *  2. magnitudes (extractMagArrays): source m = -2.5 log10(instFlux); reference m from its flux, or with a
 *     colour term (applyColorTerms, off by default) LSST's Colorterm
 *       m = m_p + c0 + c1 (m_p - m_s) + c2 (m_p - m_s)^2      (p = primary, s = secondary reference band)
 *     with its flux-error propagation; the error of each difference is the source's magnitude error,
 *     the reference's (see below) and magErrFloor (0) in quadrature;
 *  3. zero point (getZeroPoint): dmag = m_ref - m_src, iteratively clipped (nIter 20): the first centre
 *     is the mode of a 20-bin histogram (or zp0), its width from the half-maximum points; then the
 *     median (useMedian) and 0.741 x the interquartile range; points beyond nSigma (3) x min(sigma,
 *     sigmaMax 0.25 mag) are dropped until the number kept stops changing; the zero point is the
 *     1/err^2-weighted mean of the kept points and its error sqrt(1 / sum(1/err^2)).
 * One difference, for a measured reason: LSST leaves the reference flux errors out of the weights and of
 * the zero point's error (its DM-2308 "for now"); here they are included (includeReferenceErrors, true).
 * Measured on the simulator's catalogues (tests/tasks/photocal.test.ts, 4 fields of ~250 matches): bright
 * stars' instrumental errors are ~1 mmag while the reference catalogue's are >= 5 mmag, so without them
 * the reduced chi^2 about the zero point is 13.5-16, the reported error 0.12-0.15 mmag (4-5 times too
 * small) and the zero point's pull reaches -10; with them chi^2 is 0.65-0.75 and the pulls -2.4 to 1.1.
 * Failures (no matches, none left after a cut, no star left by the clipping) are returned with a status,
 * never thrown.
 */
import { median } from '../math/median.js';
import { AB_NJY, MAG_PER_LN, abMagnitude, magnitudeError } from './magnitudes.js';
import { libm } from '../math/libm.js';

export interface PhotoCalStar {
  /** Instrumental flux of the source (counts) and its 1-sigma error. */
  instFlux: number;
  instFluxErr: number;
  /** Reference flux in the band being calibrated (the colour term's primary band), nJy, and its error. */
  refFlux: number;
  refFluxErr: number;
  /** Reference flux in the colour term's secondary band (nJy), needed only with colour terms. */
  refFluxSecondary?: number;
  refFluxErrSecondary?: number;
  /** Saturated, edge, interpolated, bad flux measurement...: not used. */
  flagged?: boolean;
  /** Resolved (a galaxy): not used (LSST selectUnresolved). */
  extended?: boolean;
}

export interface ColorTerm {
  c0: number;
  c1: number;
  c2: number;
}

export interface PhotoCalConfig {
  /** References fainter than this AB magnitude (primary band) are not used (LSST 22.0). */
  magLimit: number;
  /** References brighter than this are not used (default: no limit). */
  brightMagLimit: number;
  /** Largest sigma used when clipping, mag (LSST 0.25). */
  sigmaMax: number;
  /** Clip at nSigma (LSST 3). */
  nSigma: number;
  /** Centre of the clipping: median (LSST true) or mean. */
  useMedian: boolean;
  /** Clipping iterations (LSST 20). */
  nIter: number;
  /** Added in quadrature to each star's magnitude error (LSST 0). */
  magErrFloor: number;
  /** Apply `colorTerm` to the reference magnitudes (LSST: when the catalogue has colour terms; HSC true). */
  applyColorTerms: boolean;
  colorTerm: ColorTerm;
  /** Include the reference flux errors in the weights and the zero point's error (see the module comment). */
  includeReferenceErrors: boolean;
}

export const PHOTOCAL_DEFAULTS: Readonly<PhotoCalConfig> = {
  magLimit: 22.0,
  brightMagLimit: -Infinity,
  sigmaMax: 0.25,
  nSigma: 3,
  useMedian: true,
  nIter: 20,
  magErrFloor: 0,
  applyColorTerms: false,
  colorTerm: { c0: 0, c1: 0, c2: 0 },
  includeReferenceErrors: true,
};

/** A photometric calibration, as LSST's PhotoCalib with a spatially constant calibration. */
export interface PhotoCalibration {
  /** nJy per instrumental count. */
  calibrationMean: number;
  /** Its 1-sigma error, nJy per count. */
  calibrationErr: number;
  /** AB magnitude of one count (= 31.4 + 2.5 log10(calibrationMean)) and its error. */
  zeroPoint: number;
  zeroPointErr: number;
}

export type PhotoCalStatus = 'ok' | 'noMatches' | 'allFlagged' | 'noneWithinMagLimits' | 'noGoodStars';

export interface PhotoCalResult {
  status: PhotoCalStatus;
  ok: boolean;
  message: string;
  /** Present when ok. */
  calibration: PhotoCalibration | undefined;
  /** Per input star: 1 when it passed the selection. */
  selected: Uint8Array;
  /** Per input star: 1 when it was used for the zero point (selected and not clipped). */
  used: Uint8Array;
  nInput: number;
  nSelected: number;
  nUsed: number;
  /** Final clipping width (mag) and the robust scatter (1.4826 MAD, mag) of the used stars' dmag. */
  sigma: number;
  robustScatter: number;
  /** Reduced chi^2 of the used stars about the zero point. */
  reducedChi2: number;
}

const IQ_TO_STDEV = 0.741301109252802;


interface ZeroPoint {
  zp: number;
  sigma: number;
  err: number;
  good: Uint8Array;
}

/**
 * LSST's getZeroPoint on dmag (sorted internally) with per-point errors; see the module comment.
 * Returns the kept mask in the input order.
 */
export function clippedZeroPoint(dmagIn: ArrayLike<number>, errIn: ArrayLike<number>, config: Pick<PhotoCalConfig, 'sigmaMax' | 'nSigma' | 'useMedian' | 'nIter'>, zp0?: number): ZeroPoint | undefined {
  const order = [...Array(dmagIn.length).keys()].filter((i) => Number.isFinite(dmagIn[i]!) && Number.isFinite(errIn[i]!) && errIn[i]! > 0)
    .sort((a, b) => dmagIn[a]! - dmagIn[b]! || a - b);
  const dmag = order.map((i) => dmagIn[i]!);
  const err = order.map((i) => errIn[i]!);
  const npt0 = dmag.length;
  if (npt0 === 0) return undefined;
  let sigmaMax = config.sigmaMax;
  let good = new Uint8Array(npt0).fill(1);
  let center = NaN;
  let sig = NaN;
  let ngood = npt0;
  for (let it = 0; it < config.nIter; it++) {
    let npt = it === 0 ? npt0 : good.reduce((a, v) => a + v, 0);
    if (it === 0) {
      const nhist = 20;
      const lo = dmag[0]!, hi = dmag[npt0 - 1]!;
      const width = (hi - lo) / nhist;
      const hist = new Array<number>(nhist).fill(0);
      for (const d of dmag) hist[width > 0 ? Math.min(nhist - 1, Math.floor((d - lo) / width)) : 0]!++;
      const max = Math.max(...hist);
      const modes = hist.map((h, k) => (h === max ? k : -1)).filter((k) => k >= 0);
      const edge = (k: number): number => lo + k * width;
      if (modes[modes.length - 1]! - modes[0]! + 1 === modes.length) {
        center = zp0 ?? 0.5 * (edge(modes[0]!) + edge(modes[modes.length - 1]! + 1));
        const peak = modes.reduce((a, k) => a + hist[k]!, 0) / modes.length;
        let j = modes[0]!;
        while (j >= 0 && hist[j]! > 0.5 * peak) j--;
        j = Math.max(j, 0);
        let q1 = dmag[hist.slice(0, j).reduce((a, v) => a + v, 0)]!;
        j = modes[modes.length - 1]!;
        while (j < nhist && hist[j]! > 0.5 * peak) j++;
        j = Math.min(j, nhist - 1);
        j = Math.min(hist.slice(0, j).reduce((a, v) => a + v, 0), npt - 1);
        let q3 = dmag[j]!;
        if (q1 === q3) {
          q1 = dmag[Math.floor(0.25 * npt)]!;
          q3 = dmag[Math.floor(0.75 * npt)]!;
        }
        sig = (q3 - q1) / 2.3;
        if (!Number.isFinite(sigmaMax)) sigmaMax = 2 * sig;
      } else {
        if (!Number.isFinite(sigmaMax)) sigmaMax = dmag[npt0 - 1]! - dmag[0]!;
        center = median(dmag);
        sig = (dmag[Math.floor(0.75 * npt)]! - dmag[Math.floor(0.25 * npt)]!) / 2.3;
      }
    } else {
      const gd = dmag.filter((_, k) => good[k]);
      npt = gd.length;
      if (config.useMedian) center = median(gd);
      else {
        // LSST weights this mean by the errors themselves (np.average(gdmag, weights=gdmagErr)); kept as is.
        const ge = err.filter((_, k) => good[k]);
        center = gd.reduce((a, d, k) => a + d * ge[k]!, 0) / ge.reduce((a, e) => a + e, 0);
      }
      const q3 = gd[Math.min(Math.floor(0.75 * npt + 0.5), npt - 1)]!;
      const q1 = gd[Math.min(Math.floor(0.25 * npt + 0.5), npt - 1)]!;
      sig = IQ_TO_STDEV * (q3 - q1);
    }
    const limit = config.nSigma * Math.min(sig, sigmaMax);
    const next = Uint8Array.from(dmag, (d) => (Math.abs(d - center) < limit ? 1 : 0));
    const oldGood = ngood;
    ngood = next.reduce((a, v) => a + v, 0);
    if (ngood === 0) {
      // As LSST: no star left (all in one histogram bin, or a zero width); fall back to the weighted mean
      // of the stars kept so far.
      let sw = 0, swd = 0;
      const keep = new Uint8Array(dmagIn.length);
      dmag.forEach((d, k) => { if (good[k]) { const w = 1 / err[k]! ** 2; sw += w; swd += w * d; keep[order[k]!] = 1; } });
      return { zp: swd / sw, sigma: sig, err: Math.sqrt(1 / sw), good: keep };
    }
    good = next;
    if (ngood === oldGood) break;
  }
  const limit = config.nSigma * Math.min(sig, sigmaMax);
  let sw = 0, swd = 0;
  const keep = new Uint8Array(dmagIn.length);
  dmag.forEach((d, k) => {
    if (!(Math.abs(d - center) < limit)) return;
    const w = 1 / err[k]! ** 2;
    sw += w;
    swd += w * d;
    keep[order[k]!] = 1;
  });
  if (!(sw > 0)) return undefined;
  return { zp: swd / sw, sigma: Math.min(sig, sigmaMax), err: Math.sqrt(1 / sw), good: keep };
}

/** Runs the photometric calibration on matched stars; see the module comment. */
export function photoCal(stars: readonly PhotoCalStar[], config: Partial<PhotoCalConfig> = {}): PhotoCalResult {
  const cfg: PhotoCalConfig = { ...PHOTOCAL_DEFAULTS, ...config, colorTerm: { ...PHOTOCAL_DEFAULTS.colorTerm, ...config.colorTerm } };
  const n = stars.length;
  const selected = new Uint8Array(n);
  const used = new Uint8Array(n);
  const empty = { calibration: undefined, selected, used, nInput: n, nSelected: 0, nUsed: 0, sigma: NaN, robustScatter: NaN, reducedChi2: NaN };
  const fail = (status: PhotoCalStatus, message: string): PhotoCalResult => ({ ...empty, status, ok: false, message, nSelected: selected.reduce((a, v) => a + v, 0) });
  if (n === 0) return fail('noMatches', 'no matched stars');

  const unflagged = stars.map((s) => !s.flagged && !s.extended);
  if (!unflagged.some(Boolean)) return fail('allFlagged', `all ${n} matches are flagged or extended`);
  const srcMag = new Float64Array(n).fill(NaN);
  const refMag = new Float64Array(n).fill(NaN);
  const err = new Float64Array(n).fill(NaN);
  const ct = cfg.colorTerm;
  for (let i = 0; i < n; i++) {
    const s = stars[i]!;
    if (!unflagged[i]) continue;
    if (!(s.instFlux > 0) || !Number.isFinite(s.instFlux) || !(s.instFluxErr >= 0)) continue;
    if (!(s.refFlux > 0) || !Number.isFinite(s.refFlux)) continue;
    const mp = abMagnitude(s.refFlux);
    if (!(mp <= cfg.magLimit) || !(mp >= cfg.brightMagLimit)) continue;
    let mRef = mp;
    let refErr = magnitudeError(s.refFlux, s.refFluxErr);
    if (cfg.applyColorTerms) {
      if (!(s.refFluxSecondary! > 0) || !Number.isFinite(s.refFluxSecondary!)) continue;
      const ms = abMagnitude(s.refFluxSecondary!);
      const colour = mp - ms;
      mRef = mp + ct.c0 + ct.c1 * colour + ct.c2 * colour * colour;
      const dp = 1 + ct.c1 + 2 * ct.c2 * colour;
      const ds = -(ct.c1 + 2 * ct.c2 * colour);
      refErr = Math.hypot(dp * refErr, ds * magnitudeError(s.refFluxSecondary!, s.refFluxErrSecondary ?? 0));
    }
    const srcErr = magnitudeError(s.instFlux, s.instFluxErr);
    const e = Math.hypot(srcErr, cfg.includeReferenceErrors && Number.isFinite(refErr) ? refErr : 0, cfg.magErrFloor);
    srcMag[i] = -2.5 * libm.log10(s.instFlux);
    refMag[i] = mRef;
    err[i] = e > 0 ? e : NaN;
    if (Number.isFinite(err[i]!) && Number.isFinite(refMag[i]!)) selected[i] = 1;
  }
  const nSelected = selected.reduce((a, v) => a + v, 0);
  if (nSelected === 0) return fail('noneWithinMagLimits', `no unflagged match with a positive flux and a reference within [${cfg.brightMagLimit}, ${cfg.magLimit}] mag`);
  const dmag = Float64Array.from(refMag, (r, i) => (selected[i] ? r - srcMag[i]! : NaN));
  const zp = clippedZeroPoint(dmag, err, cfg);
  if (!zp) return fail('noGoodStars', `the clipping kept no star out of ${nSelected}`);
  used.set(zp.good);
  const kept: number[] = [];
  let chi2 = 0;
  for (let i = 0; i < n; i++) {
    if (!used[i]) continue;
    kept.push(dmag[i]!);
    chi2 += ((dmag[i]! - zp.zp) / err[i]!) ** 2;
  }
  const med = median(kept);
  const robustScatter = 1.4826 * median(kept.map((d) => Math.abs(d - med)));
  const calibrationMean = libm.pow(10, -0.4 * (zp.zp - AB_NJY));
  const calibration: PhotoCalibration = {
    calibrationMean,
    calibrationErr: calibrationMean * zp.err / MAG_PER_LN,
    zeroPoint: zp.zp,
    zeroPointErr: zp.err,
  };
  return {
    status: 'ok', ok: true,
    message: `zero point ${zp.zp.toFixed(4)} +- ${zp.err.toFixed(4)} mag from ${kept.length} of ${nSelected} stars (scatter ${(robustScatter * 1000).toFixed(1)} mmag)`,
    calibration, selected, used, nInput: n, nSelected, nUsed: kept.length, sigma: zp.sigma, robustScatter,
    reducedChi2: kept.length > 1 ? chi2 / (kept.length - 1) : NaN,
  };
}

/**
 * Calibrated flux (nJy) and its error, as LSST's PhotoCalib.instFluxToNanojansky: flux = c f, error =
 * |flux| hypot(fErr / f, cErr / c) (the calibration's error included, as LSST does; it is common to every
 * source of the detector). A zero flux gets error c fErr.
 */
export function instFluxToNanojansky(cal: PhotoCalibration, instFlux: number, instFluxErr: number): { flux: number; fluxErr: number } {
  const flux = cal.calibrationMean * instFlux;
  const fluxErr = instFlux === 0
    ? cal.calibrationMean * Math.abs(instFluxErr)
    : Math.abs(flux) * Math.hypot(instFluxErr / instFlux, cal.calibrationErr / cal.calibrationMean);
  return { flux, fluxErr };
}

/** instFluxToNanojansky over columns. */
export function calibrateFluxes(cal: PhotoCalibration, instFlux: ArrayLike<number>, instFluxErr: ArrayLike<number>): { flux: Float64Array; fluxErr: Float64Array } {
  if (instFluxErr.length !== instFlux.length) throw new RangeError(`calibrateFluxes: ${instFlux.length} fluxes but ${instFluxErr.length} errors`);
  const flux = new Float64Array(instFlux.length), fluxErr = new Float64Array(instFlux.length);
  for (let i = 0; i < instFlux.length; i++) {
    const r = instFluxToNanojansky(cal, instFlux[i]!, instFluxErr[i]!);
    flux[i] = r.flux;
    fluxErr[i] = r.fluxErr;
  }
  return { flux, fluxErr };
}

/** AB magnitude and error of a calibrated instrumental flux (NaN for flux <= 0). */
export function instFluxToMagnitude(cal: PhotoCalibration, instFlux: number, instFluxErr: number): { mag: number; magErr: number } {
  const { flux, fluxErr } = instFluxToNanojansky(cal, instFlux, instFluxErr);
  if (!(flux > 0)) return { mag: NaN, magErr: NaN };
  return { mag: abMagnitude(flux), magErr: MAG_PER_LN * fluxErr / flux };
}
