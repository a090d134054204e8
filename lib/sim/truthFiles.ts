/**
 * The simulator's truth as FITS files (read back by tests and, later, by the verification tasks):
 * - per exposure and detector: primary header with the conditions (sky level and gradient, zero
 *   point, seeing, PSF parameters); MASK (int32 artifact bits with MP_* plane keywords, carrying the
 *   TRUE WCS); SOURCES (every object on the detector: position through the true WCS, flux in e- and
 *   nJy, rendered second moments, shape, matched-filter S/N); COSMICRAYS; GHOSTS; and optionally the
 *   noise-free planes SKY, MODEL (sources) and ARTIFACTS, in detected electrons;
 * - the global catalogue: every object with its magnitudes in each band and its shape.
 */
import { FitsHeader } from '../fits/header.js';
import { writeFits, type HduSpec } from '../fits/writer.js';
import type { BinTableColumnSpec } from '../fits/bintable.js';
import type { SimulatedExposure } from './simulateExposure.js';
import { TRUTH_MASK_PLANES } from './simulateExposure.js';
import type { Band, SkyObject } from './types.js';

function table(extname: string, nrows: number, columns: BinTableColumnSpec[]): HduSpec {
  return { kind: 'table', table: { nrows, columns, extname } };
}

function image(extname: string, data: Float32Array | Int32Array, width: number, height: number, header?: FitsHeader): HduSpec {
  const spec: HduSpec = { data, shape: [height, width], extname };
  if (header) spec.header = header;
  return spec;
}

/** Truth of one exposure and detector; `primary` holds cards the caller adds (e.g. PSF parameters). */
export function exposureTruthFits(exposure: SimulatedExposure, snr: Float64Array, primary: FitsHeader, options: { images: boolean }): Uint8Array {
  const { detector, visit, sources } = exposure;
  const { width, height } = detector;
  const head = primary.clone();
  head.set('VISIT', visit.visit, 'visit (exposure) id');
  head.set('DETECTOR', detector.id, 'detector id');
  head.set('BAND', visit.band, 'band');
  head.set('EXPTIME', visit.exposureTime, '[s]', { real: true });
  head.set('MJD-OBS', visit.mjd, 'MJD (UTC) start of exposure', { real: true });
  head.set('SKYLEVEL', exposure.skyLevel, '[e-/px] incident sky at the focal-plane centre', { real: true });
  head.set('SKYGRADX', exposure.skyGradient[0], '[1/px] fractional sky change per focal-plane px in x', { real: true });
  head.set('SKYGRADY', exposure.skyGradient[1], '[1/px] fractional sky change per focal-plane px in y', { real: true });
  head.set('ZEROPT', visit.zeroPoint, '[mag] AB mag giving 1 e-/s (transparency included)', { real: true });
  head.set('TRANSPAR', visit.transparency, 'fraction of light through the clouds', { real: true });
  head.set('SEEING', visit.seeing, '[arcsec] PSF FWHM at the focal-plane centre', { real: true });
  head.set('TRUEPRA', visit.truth.ra, '[deg] true boresight RA', { real: true });
  head.set('TRUEPDEC', visit.truth.dec, '[deg] true boresight Dec', { real: true });
  head.set('TRUEROT', visit.truth.rotation, '[deg] true position angle', { real: true });
  head.set('NOMPRA', visit.nominal.ra, '[deg] commanded boresight RA', { real: true });
  head.set('NOMPDEC', visit.nominal.dec, '[deg] commanded boresight Dec', { real: true });
  head.set('NOMROT', visit.nominal.rotation, '[deg] commanded position angle', { real: true });
  head.set('DETORIGX', exposure.placement.originX, '[px] focal-plane x of detector pixel (0,0)', { real: true });
  head.set('DETORIGY', exposure.placement.originY, '[px] focal-plane y of detector pixel (0,0)', { real: true });
  head.set('DETROT', exposure.placement.rotationDeg, '[deg] detector axes rotation on the focal plane', { real: true });
  head.set('TRAIL', exposure.trail !== undefined, 'a satellite crossed the focal plane');
  if (exposure.trail) {
    const t = exposure.trail;
    head.set('TRAILX0', t.x0, '[px] trail end, focal-plane pixels', { real: true });
    head.set('TRAILY0', t.y0, undefined, { real: true });
    head.set('TRAILX1', t.x1, undefined, { real: true });
    head.set('TRAILY1', t.y1, undefined, { real: true });
    head.set('TRAILSIG', t.sigma, '[px] Gaussian cross-profile sigma', { real: true });
    head.set('TRAILFLX', t.electronsPerPixel, '[e-/px] incident flux per pixel of length', { real: true });
  }

  const maskHeader = exposure.trueWcsHeader.clone();
  for (const [name, bit] of Object.entries(TRUTH_MASK_PLANES)) maskHeader.set(`MP_${name}`, bit, 'truth artifact mask bit');

  const n = sources.length;
  const col = (name: string, values: ArrayLike<number>, unit?: string): BinTableColumnSpec => {
    const spec: BinTableColumnSpec = { name, values: Float64Array.from(values) };
    if (unit) spec.unit = unit;
    return spec;
  };
  const hdus: HduSpec[] = [
    { header: head },
    image('MASK', exposure.mask, width, height, maskHeader),
    table('SOURCES', n, [
      { name: 'id', values: BigInt64Array.from(sources, (s) => BigInt(s.id)) },
      { name: 'is_star', values: sources.map((s) => s.star) },
      col('ra', sources.map((s) => s.ra), 'deg'),
      col('dec', sources.map((s) => s.dec), 'deg'),
      col('x', sources.map((s) => s.x), 'pixel'),
      col('y', sources.map((s) => s.y), 'pixel'),
      col('flux', sources.map((s) => s.flux), 'electron'),
      col('flux_nJy', sources.map((s) => s.fluxNanojansky), 'nJy'),
      col('mag', sources.map((s) => s.mag), 'mag(AB)'),
      col('snr_opt', snr),
      col('xx', sources.map((s) => s.xx), 'pixel2'),
      col('yy', sources.map((s) => s.yy), 'pixel2'),
      col('xy', sources.map((s) => s.xy), 'pixel2'),
      col('sersic', sources.map((s) => s.sersic)),
      col('half_light_radius', sources.map((s) => s.halfLightRadius), 'arcsec'),
      col('axis_ratio', sources.map((s) => s.axisRatio)),
      col('position_angle', sources.map((s) => s.positionAngle), 'deg'),
    ]),
    table('COSMICRAYS', exposure.cosmicRays.length, [
      { name: 'kind', tform: '5A', values: exposure.cosmicRays.map((c) => c.kind) },
      col('x0', exposure.cosmicRays.map((c) => (c.kind === 'track' ? c.x0 : c.pixels[0]!.x)), 'pixel'),
      col('y0', exposure.cosmicRays.map((c) => (c.kind === 'track' ? c.y0 : c.pixels[0]!.y)), 'pixel'),
      col('x1', exposure.cosmicRays.map((c) => (c.kind === 'track' ? c.x1 : c.pixels[c.pixels.length - 1]!.x)), 'pixel'),
      col('y1', exposure.cosmicRays.map((c) => (c.kind === 'track' ? c.y1 : c.pixels[c.pixels.length - 1]!.y)), 'pixel'),
      col('electrons', exposure.cosmicRays.map((c) => (c.kind === 'track' ? c.electronsPerPixel * Math.max(1, Math.hypot(c.x1 - c.x0, c.y1 - c.y0)) : c.pixels.reduce((a, p) => a + p.electrons, 0))), 'electron'),
    ]),
    table('GHOSTS', exposure.ghosts.length, [
      { name: 'star_id', values: BigInt64Array.from(exposure.ghosts, (g) => BigInt(g.starId)) },
      col('fp_x', exposure.ghosts.map((g) => g.x), 'pixel'),
      col('fp_y', exposure.ghosts.map((g) => g.y), 'pixel'),
      col('radius', exposure.ghosts.map((g) => g.radius), 'pixel'),
      col('electrons', exposure.ghosts.map((g) => g.electrons), 'electron'),
    ]),
  ];
  if (options.images) {
    hdus.push(image('SKY', exposure.planes.sky, width, height, exposure.trueWcsHeader.clone()));
    hdus.push(image('MODEL', exposure.planes.sources, width, height, exposure.trueWcsHeader.clone()));
    hdus.push(image('ARTIFACTS', exposure.planes.artifacts, width, height, exposure.trueWcsHeader.clone()));
  }
  return writeFits(hdus, { checksum: true, name: `truth visit ${visit.visit} detector ${detector.id}` });
}

/** The global truth catalogue: every object with its magnitudes in each band. */
export function catalogTruthFits(objects: readonly SkyObject[], bands: readonly Band[], primary: FitsHeader): Uint8Array {
  const col = (name: string, values: ArrayLike<number>, unit?: string): BinTableColumnSpec => {
    const spec: BinTableColumnSpec = { name, values: Float64Array.from(values) };
    if (unit) spec.unit = unit;
    return spec;
  };
  return writeFits([
    { header: primary },
    table('OBJECTS', objects.length, [
      { name: 'id', values: BigInt64Array.from(objects, (o) => BigInt(o.id)) },
      { name: 'is_star', values: objects.map((o) => o.kind === 'star') },
      col('ra', objects.map((o) => o.ra), 'deg'),
      col('dec', objects.map((o) => o.dec), 'deg'),
      ...bands.map((b) => col(`mag_${b}`, objects.map((o) => o.mag[b]), 'mag(AB)')),
      col('sersic', objects.map((o) => o.sersic ?? 0)),
      col('half_light_radius', objects.map((o) => o.halfLightRadius ?? 0), 'arcsec'),
      col('axis_ratio', objects.map((o) => o.axisRatio ?? 1)),
      col('position_angle', objects.map((o) => o.positionAngle ?? 0), 'deg'),
    ]),
  ], { checksum: true, name: 'truth catalogue' });
}
