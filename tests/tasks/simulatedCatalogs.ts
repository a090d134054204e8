/**
 * Test inputs for astrometric and photometric calibration, made with lib/sim without rendering pixels:
 * one HSC-size detector (2048 x 4176 px at 0.168"/px) placed off the optical axis, so the optical
 * model's radial distortion (opticalModel.ts, k1 = 4e-11 px^-2) bends its WCS by arcseconds; its TRUE
 * WCS (true pointing) and the NOMINAL header WCS the simulator writes into raws (the commanded pointing:
 * the truth moved by a chosen offset and rotation); the simulator's sky (makeSkyCatalog at galactic
 * latitude 3, r <= 24.5) and reference catalogue (buildReferenceCatalog, with its position and flux
 * errors); and a "detected" source catalogue:
 *  - every truth object that lands on the detector, at its true pixel position plus Gaussian centroid
 *    noise sigma = FWHM_eff / (2.35 S/N) per axis, where S/N = F / sqrt(F + 4 pi sigma_eff^2 B) for a
 *    Gaussian of the seeing (galaxies: the PSF widened by their half-light radius), F the electrons from
 *    the zero point (r band, 28.6 mag for 1 e-/s, 30 s) and B the sky (21.1 mag/arcsec^2) plus read noise;
 *  - kept when S/N >= 5; `missingFraction` of them dropped at random (blends, masked pixels);
 *  - instFlux = F + N(0, F / (S/N)) electrons, instFluxErr = F / (S/N);
 *  - saturated (peak above 150,000 e-) sources flagged, with 0.3 px of extra centroid error;
 *  - `spuriousFraction` x (number kept) spurious detections at random positions, a fifth of them bright
 *    (S/N 50-2000, cosmic-ray-like), the rest faint (S/N 5-50).
 * Everything is drawn from Random.stream(seed, ...): the same options give the same catalogues.
 */
import { FitsHeader } from '../../lib/fits/header.js';
import { detectorWcsHeader, DEFAULT_DISTORTION_K1, type DetectorPlacement, type Pointing } from '../../lib/sim/opticalModel.js';
import { buildReferenceCatalog, angularDistanceDeg, type ReferenceStar } from '../../lib/sim/referenceCatalog.js';
import { makeSkyCatalog } from '../../lib/sim/skyCatalog.js';
import { Random } from '../../lib/sim/random.js';
import { magToNanojansky, type SkyObject } from '../../lib/sim/types.js';
import { parseWcs, type Wcs } from '../../lib/wcs/index.js';

export interface ScenarioOptions {
  seed: number;
  width?: number;
  height?: number;
  placement?: DetectorPlacement;
  truth?: Pointing;
  /** The header WCS's pointing error: offsets (arcsec, on the sky) and rotation (deg). */
  headerError?: { eastArcsec: number; northArcsec: number; rotationDeg: number };
  /** Plate-scale error of the header WCS (1.01 = 1 % too large). */
  headerScale?: number;
  seeingArcsec?: number;
  missingFraction?: number;
  spuriousFraction?: number;
  /** Reference stars are those within this radius (deg) of the nominal image centre; default: the image plus 150". */
  referenceRadiusDeg?: number;
  /** Galactic latitude of the star counts (default 3: a dense field). */
  galacticLatitude?: number;
}

export const PIXEL_SCALE = 0.168;
export const EXPOSURE_TIME = 30;
export const ZERO_POINT = 28.6;
const SKY_MAG = 21.1;
const READ_NOISE = 4.5;
const FULL_WELL = 150_000;

export interface DetectedSources {
  x: Float64Array;
  y: Float64Array;
  instFlux: Float64Array;
  instFluxErr: Float64Array;
  flagged: Uint8Array;
  snr: Float64Array;
  /** Index into `objects`, or -1 for a spurious detection. */
  truth: Int32Array;
}

export interface Scenario {
  width: number;
  height: number;
  trueWcs: Wcs;
  nominalWcs: Wcs;
  nominalHeader: FitsHeader;
  objects: SkyObject[];
  /** True 0-based pixel position of every object (NaN off the sky). */
  trueX: Float64Array;
  trueY: Float64Array;
  sources: DetectedSources;
  references: ReferenceStar[];
  /** True nJy per electron of the exposure (r band). */
  calibration: number;
  seeingPx: number;
}

/** Electrons of an r magnitude in the exposure. */
export function electrons(mag: number): number {
  return EXPOSURE_TIME * 10 ** (-0.4 * (mag - ZERO_POINT));
}

export function makeScenario(options: ScenarioOptions): Scenario {
  const width = options.width ?? 2048;
  const height = options.height ?? 4176;
  const placement = options.placement ?? { originX: 9000, originY: -6000, rotationDeg: 0 };
  const truth = options.truth ?? { ra: 150.1, dec: 2.2, rotation: 20 };
  const optics = { pixelScale: PIXEL_SCALE, k1: DEFAULT_DISTORTION_K1 };
  const err = options.headerError ?? { eastArcsec: 0, northArcsec: 0, rotationDeg: 0 };
  const nominal: Pointing = {
    ra: truth.ra + err.eastArcsec / 3600 / Math.cos((truth.dec * Math.PI) / 180),
    dec: truth.dec + err.northArcsec / 3600,
    rotation: truth.rotation + err.rotationDeg,
  };
  const withSize = (h: FitsHeader): FitsHeader => h.set('NAXIS', 2).set('NAXIS1', width).set('NAXIS2', height);
  const trueWcs = parseWcs(withSize(detectorWcsHeader(truth, placement, optics)), { source: 'true WCS' })!;
  const nominalHeader = withSize(detectorWcsHeader(nominal, placement, { ...optics, pixelScale: PIXEL_SCALE * (options.headerScale ?? 1) }));
  const nominalWcs = parseWcs(nominalHeader, { source: 'header WCS' })!;

  const [cra, cdec] = trueWcs.pixelToSky((width - 1) / 2, (height - 1) / 2);
  const halfDiagDeg = (0.5 * Math.hypot(width, height) * PIXEL_SCALE) / 3600;
  const offsetDeg = Math.hypot(err.eastArcsec, err.northArcsec) / 3600;
  const referenceRadiusDeg = options.referenceRadiusDeg ?? halfDiagDeg + 150 / 3600;
  const sky = makeSkyCatalog({
    seed: options.seed, centerRa: cra, centerDec: cdec, radiusDeg: referenceRadiusDeg + offsetDeg + 60 / 3600,
    galacticLatitude: options.galacticLatitude ?? 3, magLimit: 24.5,
  });
  const objects = sky.objects;
  const pix = trueWcs.skyToPixelMany(Float64Array.from(objects, (o) => o.ra), Float64Array.from(objects, (o) => o.dec));

  const rng = Random.stream(options.seed, 'test detections');
  const seeingArcsec = options.seeingArcsec ?? 0.7;
  const seeingPx = seeingArcsec / PIXEL_SCALE;
  const psfSigma = seeingPx / 2.3548;
  const skyPerPx = electrons(SKY_MAG) * PIXEL_SCALE * PIXEL_SCALE + READ_NOISE ** 2;
  const missing = options.missingFraction ?? 0.05;
  const rows: { x: number; y: number; f: number; fe: number; flag: number; snr: number; truth: number }[] = [];
  objects.forEach((o, k) => {
    const x = pix.x[k]!, y = pix.y[k]!;
    if (!(x >= -0.5 && x < width - 0.5 && y >= -0.5 && y < height - 0.5)) return;
    const f = electrons(o.mag.r);
    const extra = o.kind === 'galaxy' ? (o.halfLightRadius ?? 0) / 1.1774 / PIXEL_SCALE : 0;
    const sigma = Math.hypot(psfSigma, extra);
    const snr = f / Math.sqrt(f + 4 * Math.PI * sigma * sigma * skyPerPx);
    if (snr < 5) return;
    if (rng.uniform() < missing) return;
    const saturated = f / (2 * Math.PI * psfSigma * psfSigma) + skyPerPx > FULL_WELL;
    const posSigma = (2.3548 * sigma) / (2.35 * snr) + (saturated ? 0.3 : 0);
    rows.push({
      x: x + posSigma * rng.normal(), y: y + posSigma * rng.normal(),
      f: f + (f / snr) * rng.normal(), fe: f / snr, flag: saturated ? 1 : 0, snr, truth: k,
    });
  });
  const nSpurious = Math.round((options.spuriousFraction ?? 0.05) * rows.length);
  for (let s = 0; s < nSpurious; s++) {
    const bright = s % 5 === 0;
    const snr = bright ? 50 * 40 ** rng.uniform() : 5 * 10 ** rng.uniform();
    const fe = Math.sqrt(4 * Math.PI * psfSigma * psfSigma * skyPerPx);
    const f = snr * fe;
    rows.push({ x: rng.range(0, width - 1), y: rng.range(0, height - 1), f: f + fe * rng.normal(), fe, flag: 0, snr, truth: -1 });
  }
  const sources: DetectedSources = {
    x: Float64Array.from(rows, (r) => r.x), y: Float64Array.from(rows, (r) => r.y),
    instFlux: Float64Array.from(rows, (r) => r.f), instFluxErr: Float64Array.from(rows, (r) => r.fe),
    flagged: Uint8Array.from(rows, (r) => r.flag), snr: Float64Array.from(rows, (r) => r.snr),
    truth: Int32Array.from(rows, (r) => r.truth),
  };

  const [nra, ndec] = nominalWcs.pixelToSky((width - 1) / 2, (height - 1) / 2);
  const references = buildReferenceCatalog(objects, { seed: options.seed }).shards
    .flatMap((s) => s.stars)
    .filter((s) => angularDistanceDeg(nra, ndec, s.ra, s.dec) <= referenceRadiusDeg)
    .sort((a, b) => a.id - b.id);
  const calibration = magToNanojansky(20) / electrons(20);
  return { width, height, trueWcs, nominalWcs, nominalHeader, objects, trueX: pix.x, trueY: pix.y, sources, references, calibration, seeingPx };
}

/** The reference arrays solveAstrometry takes (r-band flux orders them). */
export function referenceArrays(refs: readonly ReferenceStar[]): { ra: Float64Array; dec: Float64Array; flux: Float64Array } {
  return { ra: Float64Array.from(refs, (s) => s.ra), dec: Float64Array.from(refs, (s) => s.dec), flux: Float64Array.from(refs, (s) => s.flux.r) };
}

/**
 * "Bright stars" (DESIGN.md): detected truth stars, unsaturated, 100 <= S/N <= 1000, with no brighter
 * truth object within 3 FWHM. Returns source indices.
 */
export function brightStars(sc: Scenario): number[] {
  const out: number[] = [];
  const radius = 3 * sc.seeingPx;
  const byMag = sc.objects.map((o, k) => ({ k, x: sc.trueX[k]!, y: sc.trueY[k]!, mag: o.mag.r }));
  for (let i = 0; i < sc.sources.x.length; i++) {
    const t = sc.sources.truth[i]!;
    if (t < 0 || sc.sources.flagged[i] || sc.objects[t]!.kind !== 'star') continue;
    const snr = sc.sources.snr[i]!;
    if (snr < 100 || snr > 1000) continue;
    const me = byMag[t]!;
    const crowded = byMag.some((o) => o.k !== t && o.mag < me.mag && Math.hypot(o.x - me.x, o.y - me.y) < radius);
    if (!crowded) out.push(i);
  }
  return out;
}
