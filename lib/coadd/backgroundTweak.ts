/**
 * The background tweak of LSST meas_algorithms DynamicDetectionTask (doBackgroundTweak; HSC's coadd
 * detection runs that task): what a large-bin background leaves behind, measured on blank sky and removed
 * as a constant (tweakBackground). Sky objects (lib/coadd/skyObjects.ts; DynamicDetectionConfig's 1000
 * of radius 8 px) are placed on pixels no detection, BAD or NO_DATA pixel touches (SkyObjectsConfig's
 * avoidMask); at each, the PSF-weighted mean of the background-subtracted image over its disk (LSST: the
 * PSF flux over its effective area, the same weighted mean); the level is the median over them (LSST's
 * additive term: the light of sources below the threshold makes an upper tail that the median resists).
 * Fewer than minFraction (0.02, DynamicDetectionConfig minFractionSources) of the sky objects asked for:
 * no level. Units: the image's (nJy per pixel on a coadd).
 */
import { median } from '../math/median.js';
import { skyObjectFootprints } from './skyObjects.js';

export interface BackgroundTweakConfig {
  nSources: number;
  sourceRadius: number;
  minFraction: number;
}

export const DEFAULT_BACKGROUND_TWEAK_CONFIG: Readonly<BackgroundTweakConfig> = Object.freeze({ nSources: 1000, sourceRadius: 8, minFraction: 0.02 });

export interface BackgroundTweak {
  /** The level to subtract (image units per pixel). */
  level: number;
  /** Sky objects measured. */
  count: number;
}

/**
 * The residual background level of a background-subtracted `image` (non-finite pixels avoided) whose
 * `mask` pixels with any of `avoidBits` are not sky; `psfStamp` the PSF's image (odd size, centred) that
 * weights each sky object's pixels. Undefined when too few sky objects fit.
 */
export function backgroundTweak(image: Float32Array, mask: Int32Array, avoidBits: number, width: number, height: number, psfStamp: { values: ArrayLike<number>; size: number },
  seed: number, config: BackgroundTweakConfig = DEFAULT_BACKGROUND_TWEAK_CONFIG): BackgroundTweak | undefined {
  const avoid = new Uint8Array(width * height);
  for (let i = 0; i < avoid.length; i++) if ((mask[i]! & avoidBits) !== 0 || !Number.isFinite(image[i]!)) avoid[i] = 1;
  const sky = skyObjectFootprints(avoid, width, height, seed, { nSources: config.nSources, sourceRadius: config.sourceRadius, nTrialSourcesMultiplier: 5 });
  if (sky.length < Math.max(1, config.minFraction * config.nSources)) return undefined;
  const half = (psfStamp.size - 1) / 2;
  const weight = (dx: number, dy: number): number => (Math.abs(dx) <= half && Math.abs(dy) <= half ? psfStamp.values[(dy + half) * psfStamp.size + dx + half]! : 0);
  const means = sky.map((fp) => {
    const { x: cx, y: cy } = fp.peaks[0]!;
    let sw = 0, swv = 0;
    for (const s of fp.spans) for (let x = s.x0; x <= s.x1; x++) {
      const w = weight(x - cx, s.y - cy);
      sw += w;
      swv += w * image[s.y * width + x]!;
    }
    return swv / sw;
  });
  return { level: median(means), count: means.length };
}
