/**
 * Benchmark: simulate one HSC detector (2048x4176 px, 4 amplifiers; the hsc preset's sky at b = 3 deg:
 * a few thousand stars and galaxies, cosmic rays, a satellite trail) from the sky to the raw frame and
 * its truth (matched-filter S/N included), single thread, against ../shared/reference/peers/make_image.py
 * rendering a comparable scene (2000 Moffat stars, 2000 exponential galaxies, Poisson and read noise,
 * S/N per object) in the same run. Each is timed in its own process; the peer reports its own time.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadTessera } from '../node/wasm.js';
import { packageRoot } from '../node/packageRoot.js';
import { makeCamera } from '../lib/sim/camera.js';
import { planVisits } from '../lib/sim/observations.js';
import { simulateExposure, detectorPlacement, ExposureWorkspace, type SimulatedExposure } from '../lib/sim/simulateExposure.js';
import type { Camera } from '../lib/sim/camera.js';
import type { SkyObject } from '../lib/sim/types.js';
import type { Tessera } from '../lib/wasm/loader.js';
import { defaultSkyModel } from '../lib/sim/skyModel.js';
import { detectorWcsHeader, DEFAULT_DISTORTION_K1 } from '../lib/sim/opticalModel.js';
import { satelliteTrail } from '../lib/sim/artifacts.js';
import { matchedFilterSnr } from '../lib/sim/snr.js';
import { PRESETS } from '../lib/sim/presets.js';
import { Random } from '../lib/sim/random.js';
import { parseWcs } from '../lib/wcs/index.js';
import { summarise, type Timing } from './timing.js';

export interface SimulatorResult {
  pixels: number;
  sources: number;
  cosmicRays: number;
  /** The first detector of a process: JIT warm-up, the detector's flat and dark built, output buffers first touched. */
  tesseraFirstMs: number;
  /** Each further detector exposure, as in a survey (same detector and band: flat and dark reused). */
  tessera: Timing;
  peer: Timing | { error: string };
}

/**
 * The benchmark scene: one HSC detector of the hsc preset observed in r, with what simulateExposure
 * needs. With `visits` > 1 the visits are dithered by up to the preset's 60" and rotated by up to 2 deg
 * (the coadd benchmark's inputs); `distortion` is the optics' k1 (default HSC-like; 0 for a pure TAN
 * sky that every peer's WCS reader handles). `simulate(workspace, v)` renders visit v.
 */
export function hscScene(tessera: Tessera, options: { visits?: number; distortion?: number } = {}): {
  camera: Camera; simulate: (workspace?: ExposureWorkspace, visit?: number) => SimulatedExposure; objects: SkyObject[];
} {
  const config = PRESETS.hsc;
  const camera = makeCamera('hsc', { detectors: 1, seed: 1 });
  const detector = camera.detectors[0]!;
  const optics = { pixelScale: 0.168, k1: options.distortion ?? DEFAULT_DISTORTION_K1 };
  const fieldRadius = Math.hypot(detector.width, detector.height) / 2;
  const n = options.visits ?? 1;
  const visits = planVisits({
    seed: 1, bands: ['r'], visitsPerBand: n, center: { ra: config.ra, dec: config.dec }, exposureTime: config.exposureTime,
    ditherArcsec: n > 1 ? config.ditherArcsec : 0, rotationDeg: n > 1 ? config.rotationDeg : 0, pointingErrorArcsec: 3, rotationErrorDeg: 0.005,
    trailFraction: 1, focalPlaneRadiusPx: fieldRadius,
  });
  const sky = defaultSkyModel();
  // The catalogue covers every visit's detector.
  const corners = visits.flatMap((visit) => {
    const wcs = parseWcs(detectorWcsHeader(visit.truth, detectorPlacement(camera, detector), optics))!;
    return [[-200, -200], [detector.width + 199, -200], [detector.width + 199, detector.height + 199], [-200, detector.height + 199]].map(([x, y]) => wcs.pixelToSky(x!, y!));
  });
  const hull = n > 1 ? boundingCorners(corners) : corners;
  const { objects } = sky.catalog(hull, config);
  const trail = satelliteTrail(Random.stream(1, 'trail'), detector.width / 2, detector.height / 2, 0.168, 30);
  const simulate = (workspace?: ExposureWorkspace, v = 0): SimulatedExposure => {
    const visit = visits[v]!;
    return simulateExposure({
      tessera, camera, detector, visit, objects,
      makePsf: (toFocalPlane) => sky.psf(visit, toFocalPlane, 0.168, fieldRadius),
      galaxyProfile: sky.galaxyProfile, convolve: sky.convolve, optics, seed: 1 + v,
      crRatePerCm2PerMin: config.crRatePerCm2PerMin, brightStars: [], trail: v === 0 ? trail : undefined, ...(workspace ? { workspace } : {}),
    });
  };
  return { camera, simulate, objects: [...objects] };
}

/** The four corners (RA, Dec) of the RA/Dec box around the points (small fields away from the poles). */
function boundingCorners(points: readonly (readonly [number, number])[]): [number, number][] {
  const ras = points.map((p) => p[0]), decs = points.map((p) => p[1]);
  const r0 = Math.min(...ras), r1 = Math.max(...ras), d0 = Math.min(...decs), d1 = Math.max(...decs);
  return [[r0, d0], [r1, d0], [r1, d1], [r0, d1]];
}

export async function benchSimulator(runs = 3): Promise<SimulatorResult> {
  const tessera = await loadTessera('release');
  const { camera, simulate } = hscScene(tessera);
  const detector = camera.detectors[0]!;
  let sources = 0, cosmicRays = 0, first = 0;
  const samples: number[] = [];
  const workspace = new ExposureWorkspace();
  for (let run = 0; run <= runs; run++) {
    const t0 = performance.now();
    const exposure = simulate(workspace);
    matchedFilterSnr(tessera, exposure);
    if (run > 0) samples.push(performance.now() - t0);
    else first = performance.now() - t0;
    sources = exposure.sources.length;
    cosmicRays = exposure.cosmicRays.length;
  }
  return { pixels: detector.width * detector.height, sources, cosmicRays, tesseraFirstMs: first, tessera: summarise(samples), peer: benchPeer(runs) };
}

function benchPeer(runs: number): Timing | { error: string } {
  const script = path.resolve(packageRoot(), '..', 'shared', 'reference', 'peers', 'make_image.py');
  if (!fs.existsSync(script)) return { error: `${script} not found (shared/ must sit beside the repository)` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-peer-'));
  const samples: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const out = execFileSync('/usr/bin/python3', [script, '--out', path.join(dir, 'sim.fits'), '--seed', String(run + 1)], { encoding: 'utf8' });
      const m = /time=([\d.]+)s/.exec(out);
      if (!m) return { error: `make_image.py printed no time: ${out.trim()}` };
      samples.push(Number(m[1]) * 1000);
    }
    return summarise(samples);
  } catch (err) {
    return { error: `make_image.py failed: ${(err as Error).message.split('\n')[0]}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
