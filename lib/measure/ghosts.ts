/**
 * Optical ghosts of bright reference stars, predicted on one calibrated detector and masked (GHOST), as
 * survey pipelines mask the ghosts their instrument teams characterised (the Legacy Surveys' DECam pupil
 * ghost and bright-star masks, HSC's bright-star masks) rather than find them in the pixels: a ghost is
 * too faint per pixel for single-frame detection, and on dithers small against its distance from its
 * star it hardly moves between visits, so comparing warps takes it for static sky (measured on the demo:
 * 6.5 % of its pixels above 3 sigma caught that way; tests/pipeline/assemble-coadd.test.ts).
 * The camera's ghost model (lib/sim/camera.ts GhostModel) puts each star's ghost at radialScale times the
 * star's focal-plane position; the star's focal-plane position is its pixel position through the
 * detector's fitted WCS, extrapolated beyond the detector (only stars whose ghost can reach it are
 * taken, so at most (1 / radialScale - 1) of the focal plane's radius plus the ghost's radius beyond its
 * edge), then the camera's detector placement (pixelToFocalPlane). A ghost is masked when its mean surface
 * brightness, fluxFraction of the star's reference flux (nJy) over its ring's area, is at least
 * `threshold` (calibrate's default 0.1) times the detector's median per-pixel noise (nJy): a ring of 0.1
 * sigma per visit pixel is 0.22 sigma per pixel of a 5-visit coadd, about 1.3 sigma once detection
 * smooths it with a 0.7" PSF, enough to lift noise peaks over the threshold all along it. The
 * masked ring runs from the inner to the outer radius, each widened by half the edge width and `margin`
 * (default 4 px, the PSF's reach).
 */
import type { Camera, Detector, GhostModel } from '../sim/camera.js';
import { focalPlaneRadiusMm, focalPlaneToPixel, pixelToFocalPlane } from '../sim/camera.js';
import { angularSeparation, type Wcs } from '../wcs/index.js';

export interface GhostStar {
  id: number;
  ra: number;
  dec: number;
  /** Reference flux in the exposure's band, nJy. */
  flux: number;
}

export interface PredictedGhost {
  starId: number;
  /** Centre, 0-based detector pixels. */
  x: number;
  y: number;
  /** The masked ring's inner and outer radii, pixels. */
  inner: number;
  outer: number;
  /** Mean surface brightness over the ring, nJy per pixel, and over the per-pixel noise. */
  surfaceBrightness: number;
  significance: number;
}

export interface GhostPrediction {
  camera: Camera;
  detector: Detector;
  model: GhostModel;
  wcs: Wcs;
  width: number;
  height: number;
  stars: readonly GhostStar[];
  /** Median per-pixel noise, nJy. */
  noise: number;
  threshold: number;
  margin: number;
}

/** The ghosts of `stars` that reach the detector with a mean surface brightness of at least threshold x noise. */
export function predictGhosts(p: GhostPrediction): PredictedGhost[] {
  const { camera, detector, model, wcs, width, height } = p;
  const pixelScale = camera.plateScaleArcsecPerMm * camera.pixelSizeMm;
  const radius = model.radiusArcsec / pixelScale;
  const edge = model.edgeWidth * radius;
  const inner = Math.max(0, model.obscuration * radius - edge / 2 - p.margin);
  const outer = radius + edge / 2 + p.margin;
  const area = Math.PI * radius * radius * (1 - model.obscuration * model.obscuration);
  // Stars farther than this from the detector's centre cannot cast a ghost onto it.
  const halfDiagonal = Math.hypot(width, height) / 2;
  const reachArcsec = ((Math.abs(1 / model.radialScale - 1) * focalPlaneRadiusMm(camera) / model.radialScale) / camera.pixelSizeMm + outer + halfDiagonal) * pixelScale;
  const [cra, cdec] = wcs.pixelToSky((width - 1) / 2, (height - 1) / 2);
  const ghosts: PredictedGhost[] = [];
  for (const star of p.stars) {
    if (!(star.flux > 0)) continue;
    const surfaceBrightness = (model.fluxFraction * star.flux) / area;
    const significance = surfaceBrightness / p.noise;
    if (!(significance >= p.threshold)) continue;
    if (angularSeparation(cra, cdec, star.ra, star.dec) * 3600 > reachArcsec) continue;
    const [sx, sy] = wcs.skyToPixel(star.ra, star.dec);
    if (!Number.isFinite(sx) || !Number.isFinite(sy)) continue;
    const [fx, fy] = pixelToFocalPlane(camera, detector, sx, sy);
    const [x, y] = focalPlaneToPixel(camera, detector, model.radialScale * fx, model.radialScale * fy);
    if (x + outer < -0.5 || x - outer > width - 0.5 || y + outer < -0.5 || y - outer > height - 0.5) continue;
    ghosts.push({ starId: star.id, x, y, inner, outer, surfaceBrightness, significance });
  }
  return ghosts;
}

/** Sets `bit` on the mask pixels whose centres lie in a ghost's ring; returns how many pixels it newly set. */
export function maskGhosts(mask: Int32Array, width: number, height: number, ghosts: readonly PredictedGhost[], bit: number): number {
  let set = 0;
  for (const g of ghosts) {
    const y0 = Math.max(0, Math.ceil(g.y - g.outer)), y1 = Math.min(height - 1, Math.floor(g.y + g.outer));
    const in2 = g.inner * g.inner, out2 = g.outer * g.outer;
    for (let y = y0; y <= y1; y++) {
      const dy = y - g.y, dy2 = dy * dy;
      const half = Math.sqrt(Math.max(0, out2 - dy2));
      const x0 = Math.max(0, Math.ceil(g.x - half)), x1 = Math.min(width - 1, Math.floor(g.x + half));
      for (let x = x0, i = y * width + x0; x <= x1; x++, i++) {
        const dx = x - g.x;
        if (dx * dx + dy2 < in2) continue;
        if (!(mask[i]! & bit)) set++;
        mask[i] = mask[i]! | bit;
      }
    }
  }
  return set;
}
