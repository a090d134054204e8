/**
 * Test data for the PSF determiner (tests/tasks/psf.test.ts): a background-subtracted detector image
 * rendered from the simulator's PSF field (lib/sim/psf.ts makePsfField: the Kolmogorov mixture with the
 * pixel response, varying in size and ellipticity over the focal plane), with its truth. Made in-process
 * in pure TypeScript (no wasm) in about a second.
 *
 * - The detector sits off the focal-plane centre (focal plane = pixel + offset, pattern radius
 *   `fieldRadius`, radial ellipticity `ellipticityRadial`), so the PSF's size and ellipticity vary across
 *   it as at a mosaic's edge: with the defaults rho runs from 0.2 to 0.94, the FWHM from 4.19 to 4.48 px,
 *   the optical e1 from 0.003 to 0.055 and e2 from -0.042 to 0.030.
 * - Stars: uniform positions, target S/N log-uniform in [snrMin, snrMax] over a sky of `sky` e-/px;
 *   galaxies: exponential and de Vaucouleurs profiles (lib/sim/sersic.ts) convolved with the local PSF,
 *   half-light radius 0.3-1.5", axis ratio 0.3-1; a few stars bright enough to saturate (full well
 *   `fullWell` e-, pixels capped and masked SAT, their sources flagged as LSST's saturatedCenter would);
 *   a few stars with an unmasked cosmic-ray hit 2 px from the core.
 * - Each truth object is rendered by sampling its mixture at pixel centres (as lib/sim's renderer does),
 *   out to 8 sigma of its widest component, at most 40 px.
 * - Truth S/N is DESIGN.md's matched-filter S/N (sqrt(sum m^2 / v), v = sky + read noise^2 + all
 *   signal) and `brightStar` DESIGN.md's bright star (unsaturated, no brighter neighbour within 3 FWHM,
 *   100 <= S/N <= 1000), cosmic-ray-hit stars excluded.
 * - Noise: Gaussian with the Poisson variance of sky + signal plus read noise; the image is background
 *   subtracted (the sky, known exactly, removed); the variance plane is computed from the noisy data as
 *   ISR computes it (sky + image + read noise^2, gain 1), not from the truth.
 * - Sources offered to the determiner emulate characterizeImage's detection without deblending (one
 *   source per footprint, at its highest peak): an object's footprint is the disc where its noise-free
 *   profile exceeds 5 sigma of the sky, and an object whose footprint touches a brighter object's is
 *   merged into it and gets no source (stars in a saturated star's halo, close pairs); the others get
 *   their truth position with 0.2 px scatter (detection peaks), flux with 2 % scatter, flags = 1 on
 *   saturated stars.
 */
import type { MaskedImage } from '../../lib/measure/background.js';
import type { PsfSource } from '../../lib/measure/psfDeterminer.js';
import { MASK_PLANES } from '../../lib/pipeline/maskPlanes.js';
import { convolveMixtures, mixtureValue } from '../../lib/sim/gaussianMixture.js';
import { fillNormal } from '../../lib/sim/noise.js';
import { makePsfField, type KolmogorovPsfField } from '../../lib/sim/psf.js';
import { Random } from '../../lib/sim/random.js';
import { sersicMixture } from '../../lib/sim/sersic.js';
import type { GaussianMixture } from '../../lib/sim/types.js';

export interface StarFieldOptions {
  seed: number;
  width: number;
  height: number;
  fwhmArcsec: number;
  pixelScale: number;
  stars: number;
  galaxies: number;
  saturated: number;
  cosmicRayHits: number;
  snrMin: number;
  snrMax: number;
  sky: number;
  readNoise: number;
  fullWell: number;
  /** Focal-plane position of pixel (0, 0) and the pattern's radius, focal-plane pixels. */
  offset: [number, number];
  fieldRadius: number;
  ellipticityRadial: number;
}

export const DEFAULT_STAR_FIELD: Readonly<StarFieldOptions> = Object.freeze({
  seed: 1, width: 2048, height: 2048, fwhmArcsec: 0.7, pixelScale: 0.168,
  stars: 600, galaxies: 250, saturated: 6, cosmicRayHits: 6,
  snrMin: 60, snrMax: 2000, sky: 1000, readNoise: 5, fullWell: 150000,
  offset: [600, -1024] as [number, number], fieldRadius: 3000, ellipticityRadial: 0.06,
});

export interface TruthObject {
  kind: 'star' | 'galaxy';
  x: number;
  y: number;
  flux: number;
  /** Matched-filter S/N (DESIGN.md); stars only, NaN for galaxies. */
  snr: number;
  saturated: boolean;
  cosmicRay: boolean;
  /** DESIGN.md's bright star, without a cosmic-ray hit. */
  brightStar: boolean;
  /** Radius (px) of its footprint: where its noise-free profile exceeds 5 sigma of the sky. */
  footprintRadius: number;
  /** Has a source of its own (its footprint touches no brighter object's). */
  detected: boolean;
}

export interface StarField {
  options: StarFieldOptions;
  psf: KolmogorovPsfField;
  image: MaskedImage;
  truth: TruthObject[];
  /** The determiner's input: one source per detected (unmerged) truth object. */
  sources: PsfSource[];
  /** The truth object of each source. */
  sourceTruth: number[];
}

function maxSigma(m: GaussianMixture): number {
  let s = 0;
  for (const c of m) s = Math.max(s, Math.sqrt(Math.max(c.xx, c.yy)));
  return s;
}

/** Calls `visit(index, value)` for flux x the mixture at the pixel centres around (x, y) out to 8 sigma (at most maxRadius px). */
function forEachPixel(width: number, height: number, x: number, y: number, flux: number, m: GaussianMixture, maxRadius: number, visit: (i: number, v: number) => void): void {
  const r = Math.min(maxRadius, Math.ceil(8 * maxSigma(m)));
  const comps = m.map((c) => {
    const det = c.xx * c.yy - c.xy * c.xy;
    return { a: (-0.5 * c.yy) / det, b: c.xy / det, c: (-0.5 * c.xx) / det, norm: (flux * c.weight) / (2 * Math.PI * Math.sqrt(det)) };
  });
  for (let py = Math.max(0, Math.floor(y - r)); py <= Math.min(height - 1, Math.ceil(y + r)); py++) {
    const dy = py - y;
    for (let px = Math.max(0, Math.floor(x - r)); px <= Math.min(width - 1, Math.ceil(x + r)); px++) {
      const dx = px - x;
      let v = 0;
      for (const k of comps) v += k.norm * Math.exp(k.a * dx * dx + k.b * dx * dy + k.c * dy * dy);
      visit(py * width + px, v);
    }
  }
}

/**
 * The true PSF at detector position (x, y), sampled at the pixel centres of a size x size stamp with its
 * centre at stamp coordinates (cx, cy), unit sum.
 */
export function truePsfStamp(psf: KolmogorovPsfField, x: number, y: number, size: number, cx: number, cy: number): Float64Array {
  const m = psf.at(x, y);
  const out = new Float64Array(size * size);
  let sum = 0;
  for (let j = 0; j < size; j++) for (let i = 0; i < size; i++) { const v = mixtureValue(m, i - cx, j - cy); out[j * size + i] = v; sum += v; }
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

export function makeStarField(overrides: Partial<StarFieldOptions> = {}): StarField {
  const o: StarFieldOptions = { ...DEFAULT_STAR_FIELD, ...overrides };
  const { width, height } = o;
  const psf = makePsfField({
    fwhmArcsec: o.fwhmArcsec, pixelScale: o.pixelScale,
    focalPlane: (x, y) => [x + o.offset[0], y + o.offset[1]],
    pattern: { fieldRadius: o.fieldRadius, ellipticityRadial: o.ellipticityRadial },
  });
  const rng = Random.stream(o.seed, 'psf star field');
  const signal = new Float64Array(width * height);
  const truth: TruthObject[] = [];
  const profiles: GaussianMixture[] = [];
  const margin = 8;
  const sigmaPsf = o.fwhmArcsec / o.pixelScale / 2.3548;
  const skyPlusRead = o.sky + o.readNoise ** 2;
  // Flux for a target S/N: F / sqrt(v 4 pi sigma^2) (a Gaussian star, sky-dominated); the truth's S/N is
  // then measured properly once everything is drawn.
  const noiseFlux = Math.sqrt(skyPlusRead * 4 * Math.PI * sigmaPsf * sigmaPsf);
  const total = o.stars + o.galaxies + o.saturated;
  for (let k = 0; k < total; k++) {
    const x = rng.range(margin, width - 1 - margin), y = rng.range(margin, height - 1 - margin);
    const kind: 'star' | 'galaxy' = k < o.stars || k >= o.stars + o.galaxies ? 'star' : 'galaxy';
    const saturated = k >= o.stars + o.galaxies;
    const target = saturated ? 20000 * rng.range(1, 3) : Math.exp(rng.range(Math.log(o.snrMin), Math.log(o.snrMax)));
    const flux = target * noiseFlux;
    const here = psf.at(x, y);
    let profile = here;
    if (kind === 'galaxy') {
      const n = rng.uniform() < 0.6 ? 1 : 4;
      const hlr = rng.range(0.3, 1.5) / o.pixelScale;
      profile = convolveMixtures(sersicMixture(n, hlr, rng.range(0.3, 1), rng.range(0, Math.PI)), here);
    }
    forEachPixel(width, height, x, y, flux, profile, 40, (i, v) => { signal[i]! += v; });
    profiles.push(profile);
    // Footprint radius: bisection on the profile along x (the mixtures are nearly round).
    const threshold = 5 * Math.sqrt(skyPlusRead);
    let lo = 0, hi = 300;
    if (flux * mixtureValue(profile, 0, 0) <= threshold) hi = 0;
    for (let it = 0; it < 40 && hi > 0; it++) { const mid = 0.5 * (lo + hi); if (flux * mixtureValue(profile, mid, 0) > threshold) lo = mid; else hi = mid; }
    truth.push({ kind, x, y, flux, snr: NaN, saturated, cosmicRay: false, brightStar: false, footprintRadius: hi, detected: false });
  }
  truth.forEach((t, k) => {
    if (t.kind !== 'star') return;
    let s2 = 0;
    forEachPixel(width, height, t.x, t.y, t.flux, profiles[k]!, 25, (i, v) => { s2 += (v * v) / (skyPlusRead + signal[i]!); });
    t.snr = Math.sqrt(s2);
  });
  // Bright stars: no brighter truth neighbour within 3 FWHM (a cell grid keeps this linear).
  const cell = 32;
  const grid = new Map<number, number[]>();
  truth.forEach((t, k) => {
    const key = Math.floor(t.y / cell) * 4096 + Math.floor(t.x / cell);
    const list = grid.get(key);
    if (list) list.push(k); else grid.set(key, [k]);
  });
  for (const t of truth) {
    if (t.kind !== 'star' || t.saturated || t.snr < 100 || t.snr > 1000) continue;
    const r = 3 * psf.fwhmAt(t.x, t.y);
    let isolated = true;
    for (let gy = Math.floor((t.y - r) / cell); gy <= Math.floor((t.y + r) / cell) && isolated; gy++) {
      for (let gx = Math.floor((t.x - r) / cell); gx <= Math.floor((t.x + r) / cell) && isolated; gx++) {
        for (const j of grid.get(gy * 4096 + gx) ?? []) {
          const u = truth[j]!;
          if (u !== t && u.flux > t.flux && Math.hypot(u.x - t.x, u.y - t.y) < r) { isolated = false; break; }
        }
      }
    }
    t.brightStar = isolated;
  }
  // Cosmic-ray hits: 2-pixel spikes 2 px from the core of some mid-bright stars, left unmasked.
  let hits = 0;
  for (const t of truth) {
    if (hits >= o.cosmicRayHits) break;
    if (t.kind !== 'star' || t.saturated || t.snr < 300 || t.snr > 800) continue;
    const cx = Math.round(t.x + 2), cy = Math.round(t.y + 1);
    const peak = t.flux / (2 * Math.PI * sigmaPsf * sigmaPsf);
    signal[cy * width + cx]! += 0.6 * peak;
    signal[cy * width + cx + 1]! += 0.4 * peak;
    t.cosmicRay = true;
    t.brightStar = false;
    hits++;
  }
  const image = new Float32Array(width * height);
  const variance = new Float32Array(width * height);
  const mask = new Int32Array(width * height);
  const noise = new Float64Array(width * height);
  fillNormal(Random.stream(o.seed, 'psf star field noise'), noise);
  const sat = 1 << MASK_PLANES.SAT;
  for (let i = 0; i < image.length; i++) {
    const expected = o.sky + signal[i]!;
    let value = expected + Math.sqrt(expected + o.readNoise ** 2) * noise[i]!;
    if (value >= o.fullWell) { value = o.fullWell; mask[i] = sat; }
    image[i] = value - o.sky;
    variance[i] = Math.max(value, 1) + o.readNoise ** 2;
  }
  // Detection: brightest first, an object touching a kept (brighter) footprint is merged into it.
  const byFlux = truth.map((_, k) => k).sort((a, b) => truth[b]!.flux - truth[a]!.flux);
  const kept: number[] = [];
  for (const k of byFlux) {
    const t = truth[k]!;
    if (t.footprintRadius <= 0) continue;
    if (kept.some((j) => Math.hypot(truth[j]!.x - t.x, truth[j]!.y - t.y) < truth[j]!.footprintRadius + t.footprintRadius)) continue;
    t.detected = true;
    kept.push(k);
  }
  const scatter = Random.stream(o.seed, 'psf star field sources');
  const sources: PsfSource[] = [];
  const sourceTruth: number[] = [];
  truth.forEach((t, k) => {
    const dx = 0.2 * scatter.normal(), dy = 0.2 * scatter.normal(), df = 0.02 * scatter.normal();
    if (!t.detected) return;
    sources.push({ x: t.x + dx, y: t.y + dy, flux: t.flux * (1 + df), flags: t.saturated ? 1 : 0 });
    sourceTruth.push(k);
  });
  return { options: o, psf, image: { width, height, image, mask, variance }, truth, sources, sourceTruth };
}
