/**
 * The sky model the survey renders, assembled from lib/sim's parts: the object catalogue over the
 * footprint (starCounts/galaxyCounts/stellarLocus via skyCatalog), the Gaia+PS1-like reference shards,
 * each visit's Kolmogorov-like PSF field (its size and ellipticity pattern spanning the mosaic), and
 * the Sersic galaxy profiles. Its truth header records every stated parameter: galactic latitude,
 * magnitude limit, counts, stellar-locus width and slope, colour terms.
 */
import { FitsHeader } from '../fits/header.js';
import { angularSeparation } from '../wcs/index.js';
import { makeSkyCatalog } from './skyCatalog.js';
import { buildReferenceCatalog, writeReferenceShards } from './referenceCatalog.js';
import { makePsfField, DEFAULT_PSF_PATTERN } from './psf.js';
import { sersicMixture } from './sersic.js';
import { convolveMixtures } from './gaussianMixture.js';
import { BLUE_SLOPE, LOCUS_WIDTH_WPERP } from './stellarLocus.js';
import { detectorToFocalPlane } from './opticalModel.js';
import type { SimConfig } from './presets.js';
import type { Visit } from './observations.js';
import type { GaussianMixture, PsfField, SkyObject } from './types.js';
import { libm } from '../math/libm.js';

/** Margin around the footprint (degrees) so bright wings and large galaxies reach in from outside. */
const CATALOG_MARGIN_DEG = 80 / 3600;

export interface SkyModel {
  catalog(footprint: readonly [number, number][], config: SimConfig): { objects: SkyObject[]; header: FitsHeader };
  referenceShards(objects: readonly SkyObject[], config: SimConfig): { name: string; id: number; bytes: Uint8Array }[];
  psf(visit: Visit, toFocalPlane: (x: number, y: number) => [number, number], pixelScale: number, fieldRadiusPx: number): PsfField;
  psfCards(visit: Visit, fieldRadiusPx: number, pixelScale: number): FitsHeader;
  galaxyProfile(object: SkyObject, halfLightRadiusPx: number, positionAngleRad: number): GaussianMixture;
  convolve(a: GaussianMixture, b: GaussianMixture): GaussianMixture;
}

function meanDirection(points: readonly [number, number][]): [number, number] {
  let x = 0, y = 0, z = 0;
  for (const [ra, dec] of points) {
    const a = (ra * Math.PI) / 180, d = (dec * Math.PI) / 180;
    x += libm.cos(d) * libm.cos(a); y += libm.cos(d) * libm.sin(a); z += libm.sin(d);
  }
  const ra = ((libm.atan2(y, x) * 180) / Math.PI + 360) % 360;
  return [ra, (libm.atan2(z, Math.hypot(x, y)) * 180) / Math.PI];
}

export function defaultSkyModel(): SkyModel {
  return {
    catalog(footprint, config) {
      const [ra, dec] = meanDirection(footprint);
      const radius = Math.max(...footprint.map(([r, d]) => angularSeparation(ra, dec, r, d))) + CATALOG_MARGIN_DEG;
      const { objects, meta } = makeSkyCatalog({
        seed: config.seed, centerRa: ra, centerDec: dec, radiusDeg: radius,
        galacticLatitude: config.galacticLatitude, magLimit: config.magLimit,
      });
      const h = new FitsHeader();
      h.set('SIMSEED', config.seed, 'simulation seed');
      h.set('PRESET', config.preset, 'simulation preset');
      h.set('GLAT', meta.galacticLatitude, '[deg] galactic latitude of the star counts', { real: true });
      h.set('MAGLIM', meta.magLimit, '[mag] faintest r drawn from the counts', { real: true });
      h.set('FIELDRA', ra, '[deg] catalogue centre', { real: true });
      h.set('FIELDDEC', dec, '[deg] catalogue centre', { real: true });
      h.set('FIELDRAD', radius, '[deg] catalogue radius', { real: true });
      h.set('AREA', meta.areaDeg2, '[deg2] catalogue area', { real: true });
      h.set('NSTARS', meta.counts.stars + meta.counts.brightStars, 'stars');
      h.set('NGALAXY', meta.counts.galaxies + meta.counts.largeGalaxies, 'galaxies');
      h.set('EXPSTARS', meta.expected.stars, 'stars expected from the counts', { real: true });
      h.set('EXPGALS', meta.expected.galaxies, 'galaxies expected from the counts', { real: true });
      h.set('LOCWIDTH', LOCUS_WIDTH_WPERP, '[mag] intrinsic wPerp width of the stellar locus', { real: true });
      h.set('LOCSLOPE', BLUE_SLOPE, 'd(r-i)/d(g-r) of the blue gri branch', { real: true });
      h.addCommentary('COMMENT', 'Stellar locus, star and galaxy counts: lib/sim/stellarLocus.ts, starCounts.ts, galaxyCounts.ts.');
      return { objects, header: h };
    },
    referenceShards(objects, config) {
      const catalog = buildReferenceCatalog(objects, { seed: config.seed });
      const files = writeReferenceShards(catalog);
      return catalog.shards.map((shard, k) => ({ name: files[k]!.name, id: shard.id, bytes: files[k]!.bytes }));
    },
    psf(visit, toFocalPlane, pixelScale, fieldRadiusPx) {
      return makePsfField({ fwhmArcsec: visit.seeing, pixelScale, focalPlane: toFocalPlane, pattern: { fieldRadius: fieldRadiusPx } });
    },
    psfCards(visit, fieldRadiusPx, pixelScale) {
      const p = DEFAULT_PSF_PATTERN;
      const h = new FitsHeader();
      h.set('PSFMODEL', 'KOLMOGOROV-MOG', 'lib/sim/psf.ts makePsfField (Gaussian mixture)');
      h.set('PSFFWHM', visit.seeing, '[arcsec] FWHM at the focal-plane centre, pixel included', { real: true });
      h.set('PSFRAD', fieldRadiusPx, '[px] focal-plane radius of the pattern (rho = 1)', { real: true });
      h.set('PSFSQ', p.sizeQuadratic, 'size factor rho^2 coefficient', { real: true });
      h.set('PSFTX', p.sizeTilt[0], 'size factor u coefficient', { real: true });
      h.set('PSFTY', p.sizeTilt[1], 'size factor v coefficient', { real: true });
      h.set('PSFER', p.ellipticityRadial, 'ellipticity (u + iv)^2 coefficient', { real: true });
      h.set('PSFE1', p.ellipticityConstant[0], 'constant ellipticity e1', { real: true });
      h.set('PSFE2', p.ellipticityConstant[1], 'constant ellipticity e2', { real: true });
      h.set('PSFSCALE', pixelScale, '[arcsec/px] pixel scale of the PSF model', { real: true });
      return h;
    },
    galaxyProfile(object, halfLightRadiusPx, positionAngleRad) {
      return sersicMixture(object.sersic ?? 1, halfLightRadiusPx, object.axisRatio ?? 1, positionAngleRad);
    },
    convolve: convolveMixtures,
  };
}

/**
 * The true PSF of an exposure and detector, rebuilt from its truth file's primary header (the PSF*
 * cards and the detector placement DETORIGX/DETORIGY/DETROT): evaluate it at any detector position.
 */
export function truthPsfField(header: FitsHeader, source = 'truth header'): PsfField {
  const need = (key: string): number => {
    const v = header.getNumber(key);
    if (v === undefined) throw new Error(`${source}: no ${key} card; not a tessera sim truth file`);
    return v;
  };
  const placement = { originX: need('DETORIGX'), originY: need('DETORIGY'), rotationDeg: need('DETROT') };
  return makePsfField({
    fwhmArcsec: need('PSFFWHM'),
    pixelScale: need('PSFSCALE'),
    focalPlane: (x, y) => detectorToFocalPlane(placement, x, y),
    pattern: {
      fieldRadius: need('PSFRAD'), sizeQuadratic: need('PSFSQ'), sizeTilt: [need('PSFTX'), need('PSFTY')],
      ellipticityRadial: need('PSFER'), ellipticityConstant: [need('PSFE1'), need('PSFE2')],
    },
  });
}
