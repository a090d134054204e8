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
 *  5. photon noise (Poisson), then blooming along columns above the detector's smallest full well;
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
  const dRa = (step * Math.sin(pa)) / Math.cos((dec * Math.PI) / 180);
  const dDec = step * Math.cos(pa);
  const [x1, y1] = wcs.skyToPixel(ra + dRa, dec + dDec);
  return { pxPerArcsec: Math.hypot(x1 - x, y1 - y), angle: Math.atan2(y1 - y, x1 - x) };
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
  const sources: TruthSource[] = [];
  const profiles: RenderSource[] = [];
  const render: RenderSource[] = [];
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
      sources.push({
        id: o.id, star: o.kind === 'star', ra: o.ra, dec: o.dec, x, y, flux,
        fluxNanojansky: magToNanojansky(mag), mag, ...secondMoments(profile), ...truthShape,
      });
    }
  });

  // 3. Noise-free incident planes.
  const skyLevel = skyElectronsPerPixel(visit, optics.pixelScale);
  const [gx, gy] = visit.skyGradient;
  const sky = new Float32Array(n);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [fx, fy] = detectorToFocalPlane(placement, x, y);
      sky[y * width + x] = skyLevel * (1 + gx * fx + gy * fy);
    }
  }
  const renderer = new Renderer(tessera, width, height);
  try {
    renderer.addSources(render);
    const sourcePlane = renderer.imageCopy();

    // Optical artifacts in incident electrons: the satellite trail and the ghosts.
    renderer.imageView().fill(0);
    const trail = inputs.trail;
    if (trail) {
      const [x0, y0] = toDetector(trail.x0, trail.y0);
      const [x1, y1] = toDetector(trail.x1, trail.y1);
      renderer.addLine({ x0, y0, x1, y1, sigma: trail.sigma, fluxPerPixelLength: trail.electronsPerPixel });
    }
    const trailPlane = renderer.imageCopy();
    const ghosts: Ghost[] = [];
    const ghostPlane = new Float32Array(n);
    for (const star of inputs.brightStars) {
      const ghost = ghostOf(star.id, star.fx, star.fy, star.electrons, optics.pixelScale);
      if (renderGhost(ghostPlane, width, height, ghost, toDetector) > 0) ghosts.push(ghost);
    }

    // Cosmic rays: tracks through the line kernel, worms deposited directly (charge made in the silicon).
    const rng = Random.stream(inputs.seed, 'cosmic rays', visit.visit, detector.id);
    const rays = cosmicRays(rng, width, height, visit.exposureTime, inputs.crRatePerCm2PerMin);
    renderer.imageView().fill(0);
    for (const ray of rays) {
      if (ray.kind === 'track') {
        renderer.addLine({ x0: ray.x0, y0: ray.y0, x1: ray.x1, y1: ray.y1, sigma: CHARGE_DIFFUSION_SIGMA_PX, fluxPerPixelLength: ray.electronsPerPixel });
      }
    }
    const crPlane = renderer.imageCopy();
    for (const ray of rays) if (ray.kind === 'worm') depositWorm(crPlane, width, height, ray);

    // 4. Detected electrons and the truth masks.
    const defects = makeDefects(camera, detector);
    const flat = trueFlat(camera, detector, visit.band, defects);
    const darkRate = trueDarkCurrent(camera, detector, defects);
    const mask = defectMask(detector, defects, 1 << TRUTH_MASK_PLANES.BAD);
    const skyDetected = new Float32Array(n);
    const sourcesDetected = new Float32Array(n);
    const artifacts = new Float32Array(n);
    const expected = renderer.imageView();
    for (let i = 0; i < n; i++) {
      const f = flat[i]!;
      skyDetected[i] = sky[i]! * f;
      sourcesDetected[i] = sourcePlane[i]! * f;
      const clean = skyDetected[i]! + sourcesDetected[i]!;
      const trailE = trailPlane[i]! * f;
      const ghostE = ghostPlane[i]! * f;
      const darkE = darkRate[i]! * visit.exposureTime;
      artifacts[i] = trailE + ghostE + crPlane[i]! + darkE;
      const sigma = Math.sqrt(Math.max(clean, 1));
      let m = mask[i]!;
      if (trailE > sigma) m |= 1 << TRUTH_MASK_PLANES.STREAK;
      if (ghostE > sigma) m |= 1 << TRUTH_MASK_PLANES.GHOST;
      if (crPlane[i]! > sigma) m |= 1 << TRUTH_MASK_PLANES.CR;
      if (darkE > sigma) m |= 1 << TRUTH_MASK_PLANES.BAD;
      mask[i] = m;
      expected[i] = clean + artifacts[i]!;
    }

    // 5. Photon noise, then blooming at the detector's smallest full well.
    renderer.applyPoisson(Random.stream(inputs.seed, 'photons', visit.visit, detector.id));
    const fullWell = Math.min(...detector.amplifiers.map((a) => a.fullWell));
    renderer.maskView().fill(0);
    renderer.bleed(fullWell, TRUTH_MASK_PLANES.SAT);
    const satMask = renderer.maskView();
    for (let i = 0; i < n; i++) mask[i] = mask[i]! | satMask[i]!;
    const electrons = renderer.imageCopy();

    // 6. The raw frame, with the exposure's cards and the nominal WCS.
    const header = exposureHeader(camera, detector, visit);
    for (const card of nominalWcsHeader.cards) header.cards.push({ ...card });
    const raw = makeRawFrame(camera, detector, electrons, { seed: inputs.seed, exposureId: visit.visit, header });

    const result: SimulatedExposure = {
      detector, visit, raw, electrons, trueWcsHeader, nominalWcsHeader, placement, sources,
      skyLevel, skyGradient: [gx, gy], cosmicRays: rays, ghosts, trail, defects, mask,
      planes: { sky: skyDetected, sources: sourcesDetected, artifacts },
      profiles: profiles.map((p) => ({ ...p, flux: p.flux * flat[Math.round(p.y) * width + Math.round(p.x)]! })),
    };
    return result;
  } finally {
    renderer.dispose();
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
