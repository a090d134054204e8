/**
 * One science exposure of one detector, from the sky to the raw frame, with its truth. Order:
 *  1. true WCS (optical model at the true pointing) and nominal WCS (commanded pointing, raw header);
 *  2. the objects that land on the detector, their fluxes (e-) from the visit's zero point and their
 *     profiles (PSF at their position; galaxies: Sersic mixture convolved with it);
 *  3. noise-free planes in incident electrons: sky (level and gradient over the focal plane),
 *     sources, satellite trail and ghosts (optical, so the detector response applies);
 *  4. detected electrons: optical planes x true flat (illumination x PRNU x bad-column response)
 *     + dark current (hot pixels included) x exposure time + cosmic-ray charge (deposited in the
 *     silicon, no flat); the noise-free truth planes are sky x flat, sources x flat and artifacts
 *     (trail and ghosts x flat + cosmic rays + dark);
 *  5. photon noise (Poisson), then blooming along columns above each amplifier's full well;
 *  6. the raw frame: gain, bias with structure, read noise, overscans (lib/sim/rawFrame.ts).
 * Truth artifact masks: CR, STREAK and GHOST where the artifact adds more than 1 sigma of the
 * artifact-free noise (sqrt of the artifact-free expected electrons); SAT where blooming capped a
 * pixel; BAD on defects (bad columns, hot pixels) and wherever dark current exceeds 1 sigma.
 */
import { FitsHeader } from '../fits/header.js';
import { parseWcs, type Wcs } from '../wcs/index.js';
import type { Tessera } from '../wasm/loader.js';
import { resolveDetector, pixelToFocalPlane, filterOfBand, type Camera, type Detector } from './camera.js';
import { trueDarkCurrent, trueFlat } from './calibrationFrames.js';
import { defectMask, makeDefects, type Defect } from './defects.js';
import { makeRawFrame, type RawFrame } from './rawFrame.js';
import { Renderer } from './renderer.js';
import { Random } from './random.js';
import { detectorWcsHeader, focalPlaneToDetector, detectorToFocalPlane, type DetectorPlacement, type OpticalModel } from './opticalModel.js';
import { magToElectrons, skyElectronsPerPixel, mjdToIso, type Visit } from './observations.js';
import { cosmicRays, ghostOf, renderGhost, depositWorm, CHARGE_DIFFUSION_SIGMA_PX, type CosmicRay, type Ghost, type SatelliteTrail } from './artifacts.js';
import type { GaussianMixture, PsfField, RenderSource, SkyObject } from './types.js';
import { magToNanojansky } from './types.js';
import { libm } from '../math/libm.js';

/** Bits of the truth artifact mask (LSST plane names). */
export const TRUTH_MASK_PLANES = { BAD: 0, SAT: 1, CR: 3, STREAK: 14, GHOST: 15 } as const;

/** Stars brighter than this cast ghosts. */
export const GHOST_MAG_LIMIT = 14;

/** How a galaxy's Sersic profile becomes a pixel-moment mixture (the sky model provides it). */
export type GalaxyProfile = (object: SkyObject, halfLightRadiusPx: number, positionAngleRad: number) => GaussianMixture;
/** Convolves two mixtures (moments add, weights multiply). */
export type Convolve = (a: GaussianMixture, b: GaussianMixture) => GaussianMixture;

export interface ExposureInputs {
  tessera: Tessera;
  camera: Camera;
  detector: Detector | number;
  visit: Visit;
  objects: readonly SkyObject[];
  /** The visit's PSF field on this detector, given the detector-pixel to focal-plane-pixel map. */
  makePsf: (toFocalPlane: (x: number, y: number) => [number, number]) => PsfField;
  galaxyProfile: GalaxyProfile;
  convolve: Convolve;
  optics: OpticalModel;
  seed: number;
  crRatePerCm2PerMin: number;
  /** Bright stars anywhere on the focal plane (for ghosts): id, focal-plane pixel position, electrons. */
  brightStars: readonly { id: number; fx: number; fy: number; electrons: number }[];
  /** The visit's satellite trail in focal-plane pixels, if any. */
  trail: SatelliteTrail | undefined;
  /**
   * Reuse these buffers for the output planes (electrons, mask, noise-free planes): they stay valid
   * only until the next exposure simulated with the same workspace. A survey writes each exposure
   * before the next, and skips allocating (and first-touching) five full frames per exposure.
   */
  workspace?: ExposureWorkspace;
}

interface OutputPlanes {
  sky: Float32Array;
  sources: Float32Array;
  artifacts: Float32Array;
  electrons: Float32Array;
  mask: Int32Array;
}

function freshPlanes(n: number): OutputPlanes {
  return { sky: new Float32Array(n), sources: new Float32Array(n), artifacts: new Float32Array(n), electrons: new Float32Array(n), mask: new Int32Array(n) };
}

/** Output buffers reused from one exposure to the next (see ExposureInputs.workspace). */
export class ExposureWorkspace {
  private planes: OutputPlanes | undefined;

  /** The buffers for an n-pixel exposure (reallocated when the size changes). */
  claim(n: number): OutputPlanes {
    if (this.planes?.sky.length !== n) this.planes = freshPlanes(n);
    return this.planes;
  }
}

export interface TruthSource {
  id: number;
  star: boolean;
  ra: number;
  dec: number;
  /** 0-based detector pixel centre through the true WCS. */
  x: number;
  y: number;
  /** Electrons collected (flat = 1) and flux density. */
  flux: number;
  fluxNanojansky: number;
  mag: number;
  /** Second moments (px^2) of the rendered, PSF-convolved profile. */
  xx: number;
  yy: number;
  xy: number;
  /** Galaxies: Sersic index, half-light radius (arcsec), axis ratio, position angle (deg); stars: 0. */
  sersic: number;
  halfLightRadius: number;
  axisRatio: number;
  positionAngle: number;
}

export interface SimulatedExposure {
  detector: Detector;
  visit: Visit;
  raw: RawFrame;
  /** Detected electrons after noise and blooming (the image ISR should recover, times the flat). */
  electrons: Float32Array;
  trueWcsHeader: FitsHeader;
  nominalWcsHeader: FitsHeader;
  placement: DetectorPlacement;
  sources: TruthSource[];
  /** Sky level at the detector centre, incident e- per pixel, and its gradient per focal-plane pixel. */
  skyLevel: number;
  skyGradient: [number, number];
  cosmicRays: CosmicRay[];
  ghosts: Ghost[];
  trail: SatelliteTrail | undefined;
  defects: Defect[];
  /** Truth artifact mask (TRUTH_MASK_PLANES bits). */
  mask: Int32Array;
  /** Noise-free detected electrons: sky x flat, sources x flat, artifacts (trail and ghosts x flat + CR + dark). */
  planes: { sky: Float32Array; sources: Float32Array; artifacts: Float32Array };
  /** The rendered profile of each truth source (same order as `sources`), times the flat at its centre. */
  profiles: RenderSource[];
  /** Pixel centres of the objects rendered from outside the detector (their wings reach in; not in `sources`). */
  neighbours: { x: number; y: number }[];
}

/** A detector's fixed response in one band: true flat, dark current (e-/s), defects and their mask. */
interface DetectorSignature {
  flat: Float32Array;
  darkRate: Float32Array;
  defects: Defect[];
  badMask: Int32Array;
}

/**
 * The signature of the most recent (camera, detector, band): a survey simulates a detector's visits
 * in a band one after another, so one entry saves recomputing 3 full-frame planes per exposure.
 */
let lastSignature: { camera: Camera; key: string; value: DetectorSignature } | undefined;

function detectorSignature(camera: Camera, detector: Detector, band: Visit['band']): DetectorSignature {
  const key = `${detector.id}/${band}`;
  if (lastSignature?.camera === camera && lastSignature.key === key) return lastSignature.value;
  const defects = makeDefects(camera, detector);
  const value = {
    flat: trueFlat(camera, detector, band, defects),
    darkRate: trueDarkCurrent(camera, detector, defects),
    defects,
    badMask: defectMask(detector, defects, 1 << TRUTH_MASK_PLANES.BAD),
  };
  lastSignature = { camera, key, value };
  return value;
}

/** The detector's placement on the focal plane in focal-plane pixels. */
export function detectorPlacement(camera: Camera, detector: Detector): DetectorPlacement {
  const [ox, oy] = pixelToFocalPlane(camera, detector, 0, 0);
  return { originX: ox / camera.pixelSizeMm, originY: oy / camera.pixelSizeMm, rotationDeg: detector.rotationDeg };
}

/** Pixel-scale and orientation of the sky at a pixel: px per arcsec and the pixel-frame angle of a sky position angle. */
function localSkyToPixel(wcs: Wcs, x: number, y: number, ra: number, dec: number, positionAngleDeg: number): { pxPerArcsec: number; angle: number } {
  const pa = (positionAngleDeg * Math.PI) / 180;
  const step = 1 / 3600; // 1 arcsec
  const dRa = (step * libm.sin(pa)) / libm.cos((dec * Math.PI) / 180);
  const dDec = step * libm.cos(pa);
  const [x1, y1] = wcs.skyToPixel(ra + dRa, dec + dDec);
  return { pxPerArcsec: Math.hypot(x1 - x, y1 - y), angle: libm.atan2(y1 - y, x1 - x) };
}

function secondMoments(profile: GaussianMixture): { xx: number; yy: number; xy: number } {
  let xx = 0, yy = 0, xy = 0;
  for (const c of profile) { xx += c.weight * c.xx; yy += c.weight * c.yy; xy += c.weight * c.xy; }
  return { xx, yy, xy };
}

export function simulateExposure(inputs: ExposureInputs): SimulatedExposure {
  const { tessera, camera, visit, optics } = inputs;
  const detector = resolveDetector(camera, inputs.detector);
  const { width, height } = detector;
  const n = width * height;
  const placement = detectorPlacement(camera, detector);
  const trueWcsHeader = detectorWcsHeader(visit.truth, placement, optics);
  const nominalWcsHeader = detectorWcsHeader(visit.nominal, placement, optics);
  const wcs = parseWcs(trueWcsHeader, { source: `visit ${visit.visit} detector ${detector.id} truth` })!;
  const toDetector = (fx: number, fy: number): [number, number] => focalPlaneToDetector(placement, fx, fy);
  const psf = inputs.makePsf((x, y) => detectorToFocalPlane(placement, x, y));

  // 2. Objects on the detector (a margin lets bright wings and big galaxies reach in from outside).
  const ras = Float64Array.from(inputs.objects, (o) => o.ra);
  const decs = Float64Array.from(inputs.objects, (o) => o.dec);
  const pix = wcs.skyToPixelMany(ras, decs);
  const truthSources: TruthSource[] = [];
  const profiles: RenderSource[] = [];
  const render: RenderSource[] = [];
  const neighbours: { x: number; y: number }[] = [];
  inputs.objects.forEach((o, k) => {
    const x = pix.x[k]!;
    const y = pix.y[k]!;
    const mag = o.mag[visit.band];
    const bright = mag < 16 || (o.halfLightRadius ?? 0) > 3;
    const margin = bright ? 400 : 40;
    if (!(x > -margin && x < width - 1 + margin && y > -margin && y < height - 1 + margin)) return;
    const flux = magToElectrons(visit, mag);
    const psfHere = psf.at(x, y);
    let profile = psfHere;
    let truthShape = { sersic: 0, halfLightRadius: 0, axisRatio: 1, positionAngle: 0 };
    if (o.kind === 'galaxy') {
      const local = localSkyToPixel(wcs, x, y, o.ra, o.dec, o.positionAngle ?? 0);
      profile = inputs.convolve(inputs.galaxyProfile(o, (o.halfLightRadius ?? 0) * local.pxPerArcsec, local.angle), psfHere);
      truthShape = { sersic: o.sersic ?? 1, halfLightRadius: o.halfLightRadius ?? 0, axisRatio: o.axisRatio ?? 1, positionAngle: o.positionAngle ?? 0 };
    }
    render.push({ x, y, flux, profile });
    if (x >= -0.5 && x < width - 0.5 && y >= -0.5 && y < height - 0.5) {
      profiles.push({ x, y, flux, profile });
      truthSources.push({
        id: o.id, star: o.kind === 'star', ra: o.ra, dec: o.dec, x, y, flux,
        fluxNanojansky: magToNanojansky(mag), mag, ...secondMoments(profile), ...truthShape,
      });
    } else {
      neighbours.push({ x, y });
    }
  });

  // 3. Noise-free incident planes. The sky is linear in focal-plane position, hence in x and y.
  const skyLevel = skyElectronsPerPixel(visit, optics.pixelScale);
  const [gx, gy] = visit.skyGradient;
  const [ox, oy] = detectorToFocalPlane(placement, 0, 0);
  const [ax, ay] = detectorToFocalPlane(placement, 1, 0);
  const [bx, by] = detectorToFocalPlane(placement, 0, 1);
  const sky0 = skyLevel * (1 + gx * ox + gy * oy);
  const skyDx = skyLevel * (gx * (ax - ox) + gy * (ay - oy));
  const skyDy = skyLevel * (gx * (bx - ox) + gy * (by - oy));
  const signature = detectorSignature(camera, detector, visit.band);
  const sources = new Renderer(tessera, width, height);
  const extras = new Renderer(tessera, width, height);
  try {
    sources.addSources(render);

    // Optical artifacts (trail, ghosts) and cosmic rays go into the second plane, one kind at a time.
    const trail = inputs.trail;
    if (trail) {
      const [x0, y0] = toDetector(trail.x0, trail.y0);
      const [x1, y1] = toDetector(trail.x1, trail.y1);
      extras.addLine({ x0, y0, x1, y1, sigma: trail.sigma, fluxPerPixelLength: trail.electronsPerPixel });
    }
    const out = inputs.workspace ? inputs.workspace.claim(n) : freshPlanes(n);
    const { sky: skyDetected, sources: sourcesDetected, artifacts, mask, electrons } = out;
    mask.set(signature.badMask);
    const { flat, darkRate } = signature;
    const bit = (name: keyof typeof TRUTH_MASK_PLANES): number => 1 << TRUTH_MASK_PLANES[name];
    // Sky and sources x flat; the trail x flat, masked where it exceeds 1 sigma of the clean image.
    {
      const src = sources.imageView();
      const trailPlane = extras.imageView();
      for (let y = 0, i = 0; y < height; y++) {
        for (let x = 0; x < width; x++, i++) {
          const f = flat[i]!;
          const sk = (sky0 + skyDx * x + skyDy * y) * f;
          const sr = src[i]! * f;
          skyDetected[i] = sk;
          sourcesDetected[i] = sr;
          const t = trailPlane[i]! * f;
          artifacts[i] = t + darkRate[i]! * visit.exposureTime;
          if (t * t > Math.max(sk + sr, 1)) mask[i] = mask[i]! | bit('STREAK');
          if (darkRate[i]! * visit.exposureTime > Math.sqrt(Math.max(sk + sr, 1))) mask[i] = mask[i]! | bit('BAD');
        }
      }
    }
    const ghosts: Ghost[] = [];
    if (inputs.brightStars.length) {
      const ghostPlane = extras.imageView().fill(0);
      for (const star of inputs.brightStars) {
        const ghost = ghostOf(star.id, star.fx, star.fy, star.electrons, optics.pixelScale);
        if (renderGhost(ghostPlane, width, height, ghost, toDetector) > 0) ghosts.push(ghost);
      }
      if (ghosts.length) {
        for (let i = 0; i < n; i++) {
          const g = ghostPlane[i]! * flat[i]!;
          if (g === 0) continue;
          artifacts[i]! += g;
          if (g * g > Math.max(skyDetected[i]! + sourcesDetected[i]!, 1)) mask[i] = mask[i]! | bit('GHOST');
        }
      }
    }

    // Cosmic rays: tracks through the line kernel, worms deposited directly (charge made in the silicon, no flat).
    const rng = Random.stream(inputs.seed, 'cosmic rays', visit.visit, detector.id);
    const rays = cosmicRays(rng, width, height, visit.exposureTime, inputs.crRatePerCm2PerMin);
    if (rays.length) {
      extras.imageView().fill(0);
      for (const ray of rays) {
        if (ray.kind === 'track') {
          extras.addLine({ x0: ray.x0, y0: ray.y0, x1: ray.x1, y1: ray.y1, sigma: CHARGE_DIFFUSION_SIGMA_PX, fluxPerPixelLength: ray.electronsPerPixel });
        }
      }
      const cr = extras.imageView();
      for (const ray of rays) if (ray.kind === 'worm') depositWorm(cr, width, height, ray);
      for (let i = 0; i < n; i++) {
        const c = cr[i]!;
        if (c === 0) continue;
        artifacts[i]! += c;
        if (c * c > Math.max(skyDetected[i]! + sourcesDetected[i]!, 1)) mask[i] = mask[i]! | bit('CR');
      }
    }

    // 5. Photon noise on the expected electrons, then blooming.
    const expected = sources.imageView();
    for (let i = 0; i < n; i++) expected[i] = skyDetected[i]! + sourcesDetected[i]! + artifacts[i]!;
    sources.applyPoisson(Random.stream(inputs.seed, 'photons', visit.visit, detector.id));
    // Each amplifier's columns bloom at its own full well (its raw SATURATn follows from it); an
    // amplifier layout that splits columns between amplifiers blooms at the smallest full well.
    const columnsOwned = detector.amplifiers.every((a) => a.dataBox.y0 === 0 && a.dataBox.height === height);
    if (columnsOwned) {
      for (const amp of detector.amplifiers) sources.bleed(amp.fullWell, TRUTH_MASK_PLANES.SAT, { x0: amp.dataBox.x0, width: amp.dataBox.width });
    } else {
      sources.bleed(Math.min(...detector.amplifiers.map((a) => a.fullWell)), TRUTH_MASK_PLANES.SAT);
    }
    const satMask = sources.maskView();
    for (let i = 0; i < n; i++) mask[i] = mask[i]! | satMask[i]!;
    electrons.set(sources.imageView());

    // 6. The raw frame, with the exposure's cards and the nominal WCS.
    const header = exposureHeader(camera, detector, visit);
    for (const card of nominalWcsHeader.cards) header.cards.push({ ...card });
    const raw = makeRawFrame(camera, detector, electrons, { seed: inputs.seed, exposureId: visit.visit, header });

    const result: SimulatedExposure = {
      detector, visit, raw, electrons, trueWcsHeader, nominalWcsHeader, placement, sources: truthSources,
      skyLevel, skyGradient: [gx, gy], cosmicRays: rays, ghosts, trail, defects: signature.defects, mask,
      planes: { sky: skyDetected, sources: sourcesDetected, artifacts },
      profiles: profiles.map((p) => ({ ...p, flux: p.flux * flat[Math.round(p.y) * width + Math.round(p.x)]! })),
      neighbours,
    };
    return result;
  } finally {
    sources.dispose();
    extras.dispose();
  }
}

/** The cards every science raw carries: instrument, exposure identity, filter, times, conditions. */
export function exposureHeader(camera: Camera, detector: Detector, visit: Visit): FitsHeader {
  const k = camera.headerKeys;
  const h = new FitsHeader();
  h.set('INSTRUME', camera.instrument, 'instrument');
  h.set(k.exposureId, visit.visit, 'exposure id');
  h.set(k.imageType, 'OBJECT', 'image type');
  h.set('OBJECT', 'SIMFIELD', 'target');
  h.set(k.filter, filterOfBand(camera, visit.band), 'physical filter');
  h.set(k.exposureTime, visit.exposureTime, '[s] exposure time', { real: true });
  h.set('DARKTIME', visit.exposureTime, '[s] dark time', { real: true });
  h.set(k.date, mjdToIso(visit.mjd).replace(/Z$/, ''), 'UTC start of exposure');
  h.set(k.mjd, visit.mjd, 'MJD (UTC) start of exposure', { real: true });
  h.set('TIMESYS', 'UTC', 'time scale');
  h.set('RA', visit.nominal.ra, '[deg] commanded boresight RA', { real: true });
  h.set('DEC', visit.nominal.dec, '[deg] commanded boresight Dec', { real: true });
  h.set('INST-PA', visit.nominal.rotation, '[deg] commanded position angle', { real: true });
  h.set('SEEING', visit.seeing, '[arcsec] FWHM at the focal-plane centre (truth)', { real: true });
  h.set(k.detector, detector.id, 'detector id');
  return h;
}
