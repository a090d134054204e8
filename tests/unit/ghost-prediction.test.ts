// Optical ghost prediction (lib/measure/ghosts.ts) against the simulator's own ghosts (lib/sim/artifacts.ts
// ghostOf, placed with the simulator's optical model): on the demo camera, for stars over the whole focal
// plane, every ghost that reaches a detector is predicted there, centred within 0.05 px, from the star's
// sky position through that detector's WCS alone (extrapolated beyond the detector); ghosts below the
// surface-brightness threshold are left out; the camera description keeps the ghost model through YAML;
// and the mask covers the ring the simulator draws.
import { describe, expect, it } from 'vitest';
import { cameraDescriptionYaml, makeCamera, parseCameraDescription } from '../../lib/sim/camera.js';
import { detectorWcsHeader, DEFAULT_DISTORTION_K1, focalPlaneToDetector } from '../../lib/sim/opticalModel.js';
import { detectorPlacement } from '../../lib/sim/simulateExposure.js';
import { ghostOf, renderGhost } from '../../lib/sim/artifacts.js';
import { maskGhosts, predictGhosts, type GhostStar } from '../../lib/measure/ghosts.js';
import { parseWcs } from '../../lib/wcs/index.js';

const camera = makeCamera('demo');
const optics = { pixelScale: 0.168, k1: DEFAULT_DISTORTION_K1 };
const pointing = { ra: 150.1, dec: 2.2, rotation: 12 };
const model = camera.ghost!;

describe('predictGhosts', () => {
  it('puts each ghost where the simulator draws it, on every detector it reaches', () => {
    const focalPlane = parseWcs(detectorWcsHeader(pointing, { originX: 0, originY: 0, rotationDeg: 0 }, optics))!;
    // A grid of stars over the focal plane and beyond its edge (focal-plane pixels from the axis).
    const stars: (GhostStar & { fx: number; fy: number })[] = [];
    for (let fx = -3000; fx <= 3000; fx += 250) for (let fy = -2600; fy <= 2600; fy += 260) {
      const [ra, dec] = focalPlane.pixelToSky(fx, fy);
      stars.push({ id: stars.length, ra, dec, flux: 1e7, fx, fy });
    }
    let compared = 0, worst = 0;
    for (const detector of camera.detectors) {
      const placement = detectorPlacement(camera, detector);
      const wcs = parseWcs(detectorWcsHeader(pointing, placement, optics))!;
      const predicted = predictGhosts({ camera, detector, model, wcs, width: detector.width, height: detector.height, stars, noise: 1, threshold: 0.01, margin: 0 });
      const byStar = new Map(predicted.map((g) => [g.starId, g]));
      const plane = new Float32Array(detector.width * detector.height); // only whether a ghost lands counts
      for (const star of stars) {
        const ghost = ghostOf(star.id, star.fx, star.fy, 1, optics.pixelScale);
        const drawn = renderGhost(plane, detector.width, detector.height, ghost, (fx, fy) => focalPlaneToDetector(placement, fx, fy));
        const p = byStar.get(star.id);
        if (drawn === 0) { expect(p, `no ghost of star ${star.id} on detector ${detector.id}`).toBeUndefined(); continue; }
        expect(p, `ghost of star ${star.id} on detector ${detector.id}`).toBeDefined();
        const [x, y] = focalPlaneToDetector(placement, ghost.x, ghost.y);
        worst = Math.max(worst, Math.hypot(p!.x - x, p!.y - y));
        compared++;
      }
    }
    console.log(`${compared} ghost-detector pairs; worst centre offset ${worst.toFixed(4)} px`);
    expect(compared).toBeGreaterThan(50);
    expect(worst).toBeLessThan(0.05);
  });

  it('masks the whole ring the simulator draws, and leaves out ghosts below the threshold', () => {
    const detector = camera.detectors[0]!;
    const placement = detectorPlacement(camera, detector);
    const wcs = parseWcs(detectorWcsHeader(pointing, placement, optics))!;
    const focalPlane = parseWcs(detectorWcsHeader(pointing, { originX: 0, originY: 0, rotationDeg: 0 }, optics))!;
    // A star whose ghost falls on the detector's centre: the ghost at 0.85 of the star's focal-plane position.
    const [cx, cy] = [placement.originX + (detector.width - 1) / 2, placement.originY + (detector.height - 1) / 2];
    const [ra, dec] = focalPlane.pixelToSky(cx / model.radialScale, cy / model.radialScale);
    const area = Math.PI * (model.radiusArcsec / 0.168) ** 2 * (1 - model.obscuration ** 2);
    const flux = 10 * area / model.fluxFraction; // a ring of 10 nJy per pixel
    const at = (noise: number) => predictGhosts({ camera, detector, model, wcs, width: detector.width, height: detector.height, stars: [{ id: 7, ra, dec, flux }], noise, threshold: 0.2, margin: 4 });
    expect(at(49)).toHaveLength(1);
    expect(at(51)).toHaveLength(0);
    const [g] = at(10);
    expect(g!.significance).toBeCloseTo(1, 6);
    const plane = new Float32Array(detector.width * detector.height), mask = new Int32Array(plane.length);
    renderGhost(plane, detector.width, detector.height, ghostOf(7, cx / model.radialScale, cy / model.radialScale, 1, 0.168), (fx, fy) => focalPlaneToDetector(placement, fx, fy));
    const set = maskGhosts(mask, detector.width, detector.height, [g!], 1 << 15);
    let drawn = 0, covered = 0;
    for (let i = 0; i < plane.length; i++) if (plane[i]! > 0) { drawn++; if (mask[i]) covered++; }
    expect(covered).toBe(drawn);
    // The mask reaches 4 px (the margin) beyond the drawn ring on each side, no more.
    expect(set / drawn).toBeGreaterThan(1);
    expect(set / drawn).toBeLessThan(1.25);
    expect(maskGhosts(mask, detector.width, detector.height, [g!], 1 << 15)).toBe(0);
  });

  it('keeps the ghost model through the camera description', () => {
    const back = parseCameraDescription(cameraDescriptionYaml(camera), 'demo camera');
    expect(back.ghost).toEqual(model);
    expect(() => parseCameraDescription(cameraDescriptionYaml(camera).replace('obscuration: 0.3', 'obscuration: 1.5'), 'bad.yaml')).toThrow(/ghost\.obscuration/);
  });
});
