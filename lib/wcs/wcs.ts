/**
 * Celestial FITS World Coordinate Systems: parses the WCS keywords of a header (Greisen & Calabretta 2002,
 * Paper I; Calabretta & Greisen 2002, Paper II; the SIP convention of Shupe et al. 2005; the TPV registry
 * convention) into a `Wcs` that maps pixels to sky and back, in degrees.
 *
 * PIXEL CONVENTION: every `x, y` taken or returned by a `Wcs` method is 0-BASED, like astropy's `origin=0`
 * and numpy indexing: (0, 0) is the centre of the first pixel; the FITS (1-based) coordinate is x + 1.
 * Header quantities (`crpix`) stay 1-based, as written in the header.
 *
 * Sky coordinates are (longitude, latitude) in degrees, longitude in [0, 360): (RA, Dec) for equatorial
 * systems, in the frame named by `radesys`/`equinox` (reported, never converted).
 *
 * Pipeline, pixel -> sky: 1-based offsets from CRPIX -> SIP (if any) -> linear matrix (CD, PC*CDELT or
 * CROTA) -> TPV (if any) -> projection (plane -> native sphere) -> rotation to celestial coordinates.
 * Sky -> pixel runs it backwards; the SIP and TPV polynomials are inverted by Newton iteration on the
 * forward model, so pixel -> sky -> pixel round-trips to ~1e-10 px.
 *
 * Choices made to agree with astropy (WCS(header).all_pix2world / all_world2pix, wcslib 7.x):
 * - CTYPE 'xxxx-TPV' is TAN with the TPV polynomial. A '-TAN' header whose PVi_m reach m >= 5 on a
 *   celestial axis is a pre-2012 SCAMP TPV header, treated as TPV with any SIP keywords ignored (astropy
 *   >= 6.0 does this; astropy 5.x raises an error instead).
 * - SIP is applied when CTYPE ends in '-SIP' or, for the primary WCS, whenever A_ORDER/B_ORDER > 1 are
 *   present (astropy applies them regardless of the suffix). SIP needs the celestial axes to be 1 and 2.
 * - PC beats CD beats CROTA; CROTA is read from the latitude axis only; PVi_1..4 of the longitude axis
 *   are phi0, theta0, LONPOLE, LATPOLE (PVi_3/PVi_4 override LONPOLE/LATPOLE), and PVi_0 != 0 shifts the
 *   plane so that (phi0, theta0) is at the reference point, as in wcslib.
 * - NCP is translated to SIN with (xi, eta) = (0, cot CRVAL_lat) (Paper II §6.1.2).
 * - RADESYS defaults (Paper II §3.1): ICRS without EQUINOX, FK4 for EQUINOX < 1984, else FK5; EQUINOX
 *   defaults to 1950 for FK4 and 2000 for FK5, and is dropped for ICRS and GAPPT. RADECSYS and EPOCH are
 *   read as their old synonyms. Galactic and other non-equatorial systems report neither.
 * Deliberate differences (all throw a WcsError where astropy goes on): a singular linear matrix (wcslib
 * maps pixel -> sky and fails only on the way back); an unknown CTYPE suffix such as '-TAN-ZZZ' (astropy
 * ignores it, and the distortion it names); bare 'RA'/'DEC' without a projection code (wcslib's linear,
 * non-spherical celestial axes).
 */
import type { FitsHeader } from '../fits/header.js';
import { WcsError } from './errors.js';
import type { Box } from './inverseFit.js';
import { WcsKeywords } from './keywords.js';
import { readLinear, type LinearTransform, type MatrixConvention } from './linear.js';
import { D2R, R2D, SUPPORTED_PROJECTIONS, makeProjection, type Projection, type ProjectionCode } from './projections.js';
import { CelestialRotation } from './spherical.js';
import { SipDistortion, readSipPolynomial, type SipInverseSeed } from './sip.js';
import { TPV_MAX_INDEX, TpvDistortion } from './tpv.js';
import { libm } from '../math/libm.js';

export interface ParseWcsOptions {
  /** Which coordinate description: ' ' or '' (default) for the primary, 'A'..'Z' for an alternate. */
  alt?: string;
  /** Names the file or dataset in errors. */
  source?: string;
  /** 0-based HDU index, for errors. */
  hdu?: number;
}

export type DistortionKind = 'none' | 'SIP' | 'TPV';

export interface SkyArrays { ra: Float64Array; dec: Float64Array }
export interface PixelArrays { x: Float64Array; y: Float64Array }

interface CelestialAxisType {
  axis: number;
  ctype: string;
  kind: 'lng' | 'lat';
  /** Coordinate type with the padding removed: 'RA', 'DEC', 'GLON', ... */
  type: string;
  /** Pair key: lng and lat types that belong together share it ('EQ' for RA/DEC, 'G' for GLON/GLAT). */
  family: string;
  code: string;
  suffix: string;
}

/** Classifies a CTYPE value (Paper II §2.1: 4-character type, '-', 3-letter projection code). */
function classifyCtype(axis: number, ctype: string): CelestialAxisType | undefined {
  const s = ctype.trim().toUpperCase();
  let type: string;
  let code: string;
  let suffix: string;
  if (s.length >= 8 && s[4] === '-') {
    type = s.slice(0, 4).replace(/-+$/, '');
    code = s.slice(5, 8);
    suffix = s.slice(8);
  } else if (s.length <= 4 && !s.includes('-')) {
    // A bare celestial type ('RA', 'GLON'): wcslib takes it as a linear, non-spherical celestial axis.
    type = s;
    code = '';
    suffix = '';
  } else {
    return undefined;
  }
  let kind: 'lng' | 'lat';
  let family: string;
  if (type === 'RA') { kind = 'lng'; family = 'EQ'; }
  else if (type === 'DEC') { kind = 'lat'; family = 'EQ'; }
  else if (/^[A-Z]LON$/.test(type)) { kind = 'lng'; family = type[0]!; }
  else if (/^[A-Z]LAT$/.test(type)) { kind = 'lat'; family = type[0]!; }
  else if (/^[A-Z]{2}LN$/.test(type)) { kind = 'lng'; family = type.slice(0, 2); }
  else if (/^[A-Z]{2}LT$/.test(type)) { kind = 'lat'; family = type.slice(0, 2); }
  else return undefined;
  return { axis, ctype: ctype.trim(), kind, type, family, code, suffix };
}

/**
 * Parses the celestial WCS of `header`. Returns undefined when the chosen description has no celestial
 * axes (no CTYPE, or only linear/spectral axes); throws a WcsError when it has them but they are malformed
 * or unsupported.
 */
export function parseWcs(header: FitsHeader, opts: ParseWcsOptions = {}): Wcs | undefined {
  const source = opts.source ?? 'FITS header';
  const rawAlt = (opts.alt ?? '').trim().toUpperCase();
  if (!/^[A-Z]?$/.test(rawAlt)) {
    throw new WcsError(source, opts.hdu, '', `alternate WCS letter must be ' ' or 'A'..'Z', got '${opts.alt}'`);
  }
  const kw: WcsKeywords = new WcsKeywords(header, rawAlt, source, opts.hdu);

  const celestial: CelestialAxisType[] = [];
  const ctypeRe = new RegExp(`^CTYPE(\\d+)${rawAlt}$`);
  for (const card of header.cards) {
    if (card.commentary) continue;
    const m = ctypeRe.exec(card.key);
    if (!m) continue;
    if (card.value === null || card.value === undefined) continue;
    if (typeof card.value !== 'string') kw.fail(`${card.key} = ${String(card.value)} is not a string`);
    const c = classifyCtype(Number(m[1]), card.value);
    if (c && !celestial.some((e) => e.axis === c.axis)) celestial.push(c);
  }
  if (celestial.length === 0) return undefined;
  const lngs = celestial.filter((c) => c.kind === 'lng');
  const lats = celestial.filter((c) => c.kind === 'lat');
  const names = (list: CelestialAxisType[]) => list.map((c) => `CTYPE${c.axis}${rawAlt} = '${c.ctype}'`).join(', ');
  if (lngs.length > 1) kw.fail(`more than one celestial longitude axis: ${names(lngs)}`);
  if (lats.length > 1) kw.fail(`more than one celestial latitude axis: ${names(lats)}`);
  if (lngs.length === 0) kw.fail(`${names(lats)} has no matching celestial longitude axis`);
  if (lats.length === 0) kw.fail(`${names(lngs)} has no matching celestial latitude axis`);
  const lng = lngs[0]!;
  const lat = lats[0]!;
  if (lng.family !== lat.family) kw.fail(`celestial axis types do not pair: ${names([lng, lat])}`);
  if (lng.code !== lat.code) kw.fail(`the celestial axes name different projections: ${names([lng, lat])}`);
  for (const c of [lng, lat]) {
    if (c.suffix !== '' && c.suffix !== '-SIP') {
      kw.fail(`unsupported algorithm code '${c.suffix}' in CTYPE${c.axis}${rawAlt} = '${c.ctype}' (only '-SIP' is supported)`);
    }
  }
  if (lng.code === '' || lat.code === '') {
    kw.fail(`${names([lng, lat])}: celestial axes without a projection code are linear (non-spherical) coordinates, which are not supported; Paper II requires e.g. 'RA---TAN'`);
  }
  const ctypeCode = lng.code;
  const isNcp = ctypeCode === 'NCP';
  let tpv = ctypeCode === 'TPV';
  const code: ProjectionCode = isNcp ? 'SIN' : tpv ? 'TAN' : (ctypeCode as ProjectionCode);
  if (!SUPPORTED_PROJECTIONS.includes(code)) {
    kw.fail(`unsupported projection '${ctypeCode}' in CTYPE${lng.axis}${rawAlt} = '${lng.ctype}' (supported: ${[...SUPPORTED_PROJECTIONS, 'TPV', 'NCP'].join(', ')})`);
  }

  const axes: [number, number] = lng.axis < lat.axis ? [lng.axis, lat.axis] : [lat.axis, lng.axis];
  const lngIndex: 0 | 1 = lng.axis === axes[0] ? 0 : 1;
  const linear = readLinear(kw, axes, lngIndex === 0 ? 1 : 0);
  const imageSize = readImageSize(kw, axes);
  const lngScale = linear.unitScale[lngIndex];
  const latScale = linear.unitScale[1 - lngIndex]!;
  const crvalLng = kw.number(`CRVAL${lng.axis}`, 0) * lngScale;
  const crvalLat = kw.number(`CRVAL${lat.axis}`, 0) * latScale;
  if (Math.abs(crvalLat) > 90) kw.fail(`CRVAL${lat.axis}${rawAlt} = ${crvalLat} is not a latitude`);

  const pvLng = kw.projectionParameters(lng.axis);
  const pvLat = kw.projectionParameters(lat.axis);
  const maxM = (pv: Map<number, number>) => Math.max(-1, ...pv.keys());
  let scampTan = false;
  if (code === 'TAN' && !tpv && Math.max(maxM(pvLng), maxM(pvLat)) >= 5) {
    tpv = true; // a pre-2012 SCAMP header: TPV written as TAN
    scampTan = true;
  }

  let tpvDistortion: TpvDistortion | undefined;
  let phi0: number | undefined;
  let theta0: number | undefined;
  let offset = false;
  let lonpole = kw.number('LONPOLE');
  let latpole = kw.number('LATPOLE');
  const latParams = new Map<number, number>();
  if (tpv) {
    for (const [axis, pv] of [[lng.axis, pvLng], [lat.axis, pvLat]] as const) {
      for (const m of pv.keys()) {
        if (m > TPV_MAX_INDEX) kw.fail(`PV${axis}_${m}${rawAlt} is beyond the TPV polynomial (m <= ${TPV_MAX_INDEX})`);
      }
    }
    if (pvLng.size === 0 && pvLat.size === 0) {
      kw.fail(`CTYPE${lng.axis}${rawAlt} = '${lng.ctype}' asks for TPV but there are no PV${lng.axis}_m / PV${lat.axis}_m coefficients`);
    }
    const first = axes[0] === lng.axis ? pvLng : pvLat;
    const second = axes[0] === lng.axis ? pvLat : pvLng;
    tpvDistortion = new TpvDistortion(first, second, imageSize ? intermediateBox(pixelOffsetBox(imageSize, linear.crpix), linear.matrix) : undefined);
  } else {
    for (const [m, v] of pvLng) {
      if (m === 0) offset = v !== 0;
      else if (m === 1) phi0 = v;
      else if (m === 2) theta0 = v;
      else if (m === 3) lonpole = v;
      else if (m === 4) latpole = v;
      else kw.fail(`PV${lng.axis}_${m}${rawAlt} is not a parameter of the ${ctypeCode} projection (longitude axis takes m = 0..4)`);
    }
    for (const [m, v] of pvLat) latParams.set(m, v);
  }
  if (isNcp) {
    if (crvalLat === 0) kw.fail(`NCP needs CRVAL${lat.axis}${rawAlt} != 0`);
    latParams.set(1, 0);
    latParams.set(2, libm.cos(crvalLat * D2R) / libm.sin(crvalLat * D2R));
  }

  let projection: Projection;
  try {
    projection = makeProjection(code, { latitudeParameters: latParams, phi0, theta0, offset });
  } catch (e) {
    return kw.fail((e as Error).message);
  }
  let rotation: CelestialRotation;
  try {
    rotation = new CelestialRotation({ lng0: crvalLng, lat0: crvalLat, phi0: projection.phi0, theta0: projection.theta0, lonpole, latpole });
  } catch (e) {
    return kw.fail((e as Error).message);
  }

  let sip: SipDistortion | undefined;
  const sipSuffix = lng.suffix === '-SIP' || lat.suffix === '-SIP';
  const sipPresent = header.has('A_ORDER') || header.has('B_ORDER');
  if (!scampTan && (sipSuffix || (rawAlt === '' && sipPresent))) {
    const a = readSipPolynomial(kw, 'A');
    const b = readSipPolynomial(kw, 'B');
    if (a && !b) kw.fail('A_ORDER is given without a matching B_ORDER > 1 for SIP distortion');
    if (b && !a) kw.fail('B_ORDER is given without a matching A_ORDER > 1 for SIP distortion');
    const ap = readSipPolynomial(kw, 'AP');
    const bp = readSipPolynomial(kw, 'BP');
    if (ap && !bp) kw.fail('AP_ORDER is given without a matching BP_ORDER > 1 for SIP distortion');
    if (bp && !ap) kw.fail('BP_ORDER is given without a matching AP_ORDER > 1 for SIP distortion');
    if (a || b) {
      if (axes[0] !== 1 || axes[1] !== 2) kw.fail(`SIP distortion needs the celestial axes to be 1 and 2, not ${axes[0]} and ${axes[1]}`);
      sip = new SipDistortion(a, b, ap, bp, imageSize ? pixelOffsetBox(imageSize, linear.crpix) : undefined);
    }
  }

  const frame = readFrame(kw, lng.type);
  return new Wcs({
    source, hdu: opts.hdu, alt: rawAlt,
    ctype: axes[0] === lng.axis ? [lng.ctype, lat.ctype] : [lat.ctype, lng.ctype],
    axes, lngAxis: lng.axis, latAxis: lat.axis, lngType: lng.type, latType: lat.type,
    projectionCode: code, distortion: sip ? 'SIP' : tpvDistortion ? 'TPV' : 'none',
    crval: [crvalLng, crvalLat], linear, projection, rotation, sip, tpv: tpvDistortion,
    radesys: frame.radesys, equinox: frame.equinox, imageSize,
  });
}

/** Pixel offsets from CRPIX (u = p - CRPIX, 1-based p) of the image plus a 10% + 10 px margin. */
function pixelOffsetBox(size: [number, number], crpix: [number, number]): Box {
  const mx = 0.1 * size[0] + 10;
  const my = 0.1 * size[1] + 10;
  return {
    xMin: 0.5 - crpix[0] - mx, xMax: size[0] + 0.5 - crpix[0] + mx,
    yMin: 0.5 - crpix[1] - my, yMax: size[1] + 0.5 - crpix[1] + my,
  };
}

/** The bounding box of a pixel-offset box's corners through the linear matrix (intermediate degrees). */
function intermediateBox(box: Box, m: Float64Array): Box {
  const out: Box = { xMin: Infinity, xMax: -Infinity, yMin: Infinity, yMax: -Infinity };
  for (const u of [box.xMin, box.xMax]) {
    for (const v of [box.yMin, box.yMax]) {
      const x = m[0]! * u + m[1]! * v;
      const y = m[2]! * u + m[3]! * v;
      out.xMin = Math.min(out.xMin, x); out.xMax = Math.max(out.xMax, x);
      out.yMin = Math.min(out.yMin, y); out.yMax = Math.max(out.yMax, y);
    }
  }
  return out;
}

/** NAXISi (ZNAXISi for a tile-compressed image) of the two celestial axes, when both are known and > 0. */
function readImageSize(kw: WcsKeywords, axes: [number, number]): [number, number] | undefined {
  const compressed = kw.header.get('ZIMAGE') === true;
  const prefix = compressed ? 'ZNAXIS' : 'NAXIS';
  const n = kw.numberExact(prefix, 0);
  if (n < axes[1]) return undefined;
  const n1 = kw.numberExact(`${prefix}${axes[0]}`, 0);
  const n2 = kw.numberExact(`${prefix}${axes[1]}`, 0);
  return n1 > 0 && n2 > 0 ? [n1, n2] : undefined;
}

/**
 * RADESYS and EQUINOX with the defaults of Paper II §3.1, for the systems they apply to (equatorial,
 * ecliptic and helioecliptic; galactic and others have neither). EQUINOX is dropped for ICRS and GAPPT,
 * which have none, as wcslib does.
 */
function readFrame(kw: WcsKeywords, lngType: string): { radesys: string | undefined; equinox: number | undefined } {
  if (lngType !== 'RA' && lngType !== 'ELON' && lngType !== 'HLON') return { radesys: undefined, equinox: undefined };
  let equinox = kw.number('EQUINOX');
  if (equinox === undefined && kw.alt === '') equinox = kw.numberExact('EPOCH');
  let radesys = kw.string('RADESYS');
  if ((radesys === undefined || radesys === '') && kw.alt === '') radesys = kw.string('RADECSYS');
  radesys = radesys?.toUpperCase();
  if (radesys === undefined || radesys === '') {
    radesys = equinox === undefined ? 'ICRS' : equinox < 1984 ? 'FK4' : 'FK5';
  }
  if (radesys === 'ICRS' || radesys === 'GAPPT') equinox = undefined;
  else if (equinox === undefined) {
    if (radesys === 'FK4' || radesys === 'FK4-NO-E') equinox = 1950;
    else if (radesys === 'FK5') equinox = 2000;
  }
  return { radesys, equinox };
}

interface WcsParts {
  source: string;
  hdu: number | undefined;
  alt: string;
  ctype: [string, string];
  axes: [number, number];
  lngAxis: number;
  latAxis: number;
  lngType: string;
  latType: string;
  projectionCode: ProjectionCode;
  distortion: DistortionKind;
  crval: [number, number];
  linear: LinearTransform;
  projection: Projection;
  rotation: CelestialRotation;
  sip: SipDistortion | undefined;
  tpv: TpvDistortion | undefined;
  radesys: string | undefined;
  equinox: number | undefined;
  imageSize: [number, number] | undefined;
}

/** A celestial WCS. All pixel coordinates are 0-BASED (astropy origin=0); sky in degrees. */
export class Wcs {
  readonly source: string;
  readonly hdu: number | undefined;
  /** '' for the primary description, 'A'..'Z' for an alternate one. */
  readonly alt: string;
  /** CTYPE of the two celestial axes, in header axis order (x first). */
  readonly ctype: readonly [string, string];
  /** The two celestial axes, 1-based, ascending: x runs along axes[0], y along axes[1]. */
  readonly axes: readonly [number, number];
  /** 1-based axis numbers of the longitude and latitude axes. */
  readonly lngAxis: number;
  readonly latAxis: number;
  /** Coordinate types, e.g. 'RA' and 'DEC', 'GLON' and 'GLAT'. */
  readonly lngType: string;
  readonly latType: string;
  /** The projection (TPV headers report 'TAN' with distortion 'TPV'; NCP reports 'SIN'). */
  readonly projectionCode: ProjectionCode;
  readonly distortion: DistortionKind;
  /** How the SIP reverse transform is seeded, when there is SIP. */
  readonly sipInverseSeed: SipInverseSeed | undefined;
  /** Which keywords gave the linear matrix. */
  readonly matrixConvention: MatrixConvention;
  /** CRVAL as (longitude, latitude), degrees. */
  readonly crval: readonly [number, number];
  /** CRPIX of axes[0], axes[1]: 1-BASED, as in the header. */
  readonly crpix: readonly [number, number];
  /** Row-major 2x2 matrix in degrees per pixel (the CD matrix, or CDELT*PC), rows/columns in axis order. */
  readonly cd: Float64Array;
  /** Effective LONPOLE (native longitude of the celestial pole) and LATPOLE, degrees. */
  readonly lonpole: number;
  readonly latpole: number;
  /**
   * Reference frame ('ICRS', 'FK5', 'FK4', 'FK4-NO-E', 'GAPPT') of equatorial, ecliptic and helioecliptic
   * coordinates; undefined for galactic and other systems.
   */
  readonly radesys: string | undefined;
  /** EQUINOX (Julian/Besselian epoch per RADESYS), when given or implied; undefined for ICRS/GAPPT. */
  readonly equinox: number | undefined;
  /** Image size along axes[0], axes[1] (NAXIS), when the header has it. */
  readonly imageSize: readonly [number, number] | undefined;

  private readonly linear: LinearTransform;
  private readonly projection: Projection;
  private readonly rotation: CelestialRotation;
  private readonly sip: SipDistortion | undefined;
  private readonly tpv: TpvDistortion | undefined;
  private readonly lngFirst: boolean;
  private readonly c0: number;
  private readonly c1: number;
  private readonly m: Float64Array;
  private readonly mi: Float64Array;
  private readonly t = new Float64Array(3);

  constructor(p: WcsParts) {
    this.source = p.source;
    this.hdu = p.hdu;
    this.alt = p.alt;
    this.ctype = p.ctype;
    this.axes = p.axes;
    this.lngAxis = p.lngAxis;
    this.latAxis = p.latAxis;
    this.lngType = p.lngType;
    this.latType = p.latType;
    this.projectionCode = p.projectionCode;
    this.distortion = p.distortion;
    this.sipInverseSeed = p.sip?.inverseSeed;
    this.matrixConvention = p.linear.convention;
    this.crval = p.crval;
    this.crpix = p.linear.crpix;
    this.cd = Float64Array.from(p.linear.matrix);
    this.lonpole = p.rotation.phiPole;
    this.latpole = p.rotation.latPole;
    this.radesys = p.radesys;
    this.equinox = p.equinox;
    this.imageSize = p.imageSize;
    this.linear = p.linear;
    this.projection = p.projection;
    this.rotation = p.rotation;
    this.sip = p.sip;
    this.tpv = p.tpv;
    this.lngFirst = p.lngAxis === p.axes[0];
    this.c0 = p.linear.crpix[0];
    this.c1 = p.linear.crpix[1];
    this.m = p.linear.matrix;
    this.mi = p.linear.inverse;
  }

  /** The WCS's inner transform, pixel (0-based) -> (lng, lat) degrees, into out (length >= 3). */
  private forward(x: number, y: number, out: Float64Array): void {
    let u = x + 1 - this.c0;
    let v = y + 1 - this.c1;
    if (this.sip) {
      this.sip.forward(u, v, out);
      u = out[0]!;
      v = out[1]!;
    }
    const m = this.m;
    let x1 = m[0]! * u + m[1]! * v;
    let x2 = m[2]! * u + m[3]! * v;
    if (this.tpv) {
      this.tpv.forward(x1, x2, out);
      x1 = out[0]!;
      x2 = out[1]!;
    }
    if (this.lngFirst) this.projection.planeToVector(x1, x2, out);
    else this.projection.planeToVector(x2, x1, out);
    this.rotation.nativeVectorToCelestial(out[0]!, out[1]!, out[2]!, out);
  }

  /** (lng, lat) degrees -> pixel (0-based), into out (length >= 3). */
  private reverse(lng: number, lat: number, out: Float64Array): void {
    this.rotation.celestialToNativeVector(lng, lat, out);
    this.projection.vectorToPlane(out[0]!, out[1]!, out[2]!, out);
    let x1 = this.lngFirst ? out[0]! : out[1]!;
    let x2 = this.lngFirst ? out[1]! : out[0]!;
    if (this.tpv) {
      this.tpv.reverse(x1, x2, out);
      x1 = out[0]!;
      x2 = out[1]!;
    }
    const mi = this.mi;
    let u = mi[0]! * x1 + mi[1]! * x2;
    let v = mi[2]! * x1 + mi[3]! * x2;
    if (this.sip) {
      this.sip.reverse(u, v, out);
      u = out[0]!;
      v = out[1]!;
    }
    out[0] = u + this.c0 - 1;
    out[1] = v + this.c1 - 1;
  }

  /**
   * Pixel -> sky. `x`, `y` are 0-BASED pixel coordinates (astropy origin=0: the first pixel's centre is
   * (0, 0)). Returns [longitude, latitude] in degrees (RA in [0, 360), Dec); NaN outside the projection.
   */
  pixelToSky(x: number, y: number): [number, number] {
    const t = this.t;
    this.forward(x, y, t);
    return [t[0]!, t[1]!];
  }

  /** Sky -> pixel: [x, y], 0-BASED pixel coordinates, for (longitude, latitude) in degrees; NaN if unmappable. */
  skyToPixel(ra: number, dec: number): [number, number] {
    const t = this.t;
    this.reverse(ra, dec, t);
    return [t[0]!, t[1]!];
  }

  /** Batched pixelToSky over 0-BASED pixel arrays; `out` may be given to avoid allocation. */
  pixelToSkyMany(xs: ArrayLike<number>, ys: ArrayLike<number>, out?: SkyArrays): SkyArrays {
    const n = xs.length;
    if (ys.length !== n) throw new RangeError(`pixelToSkyMany: xs has ${n} elements but ys has ${ys.length}`);
    const ra = out?.ra ?? new Float64Array(n);
    const dec = out?.dec ?? new Float64Array(n);
    if (ra.length < n || dec.length < n) throw new RangeError(`pixelToSkyMany: output arrays are shorter than ${n}`);
    const t = this.t;
    for (let i = 0; i < n; i++) {
      this.forward(xs[i]!, ys[i]!, t);
      ra[i] = t[0]!;
      dec[i] = t[1]!;
    }
    return { ra, dec };
  }

  /** Batched skyToPixel; returns 0-BASED pixel coordinates. */
  skyToPixelMany(ras: ArrayLike<number>, decs: ArrayLike<number>, out?: PixelArrays): PixelArrays {
    const n = ras.length;
    if (decs.length !== n) throw new RangeError(`skyToPixelMany: ras has ${n} elements but decs has ${decs.length}`);
    const x = out?.x ?? new Float64Array(n);
    const y = out?.y ?? new Float64Array(n);
    if (x.length < n || y.length < n) throw new RangeError(`skyToPixelMany: output arrays are shorter than ${n}`);
    const t = this.t;
    for (let i = 0; i < n; i++) {
      this.reverse(ras[i]!, decs[i]!, t);
      x[i] = t[0]!;
      y[i] = t[1]!;
    }
    return { x, y };
  }

  /**
   * Local pixel scale in arcsec per pixel at the 0-BASED pixel (x, y): the square root of the pixel's
   * area on the sky, distortion included (central differences of pixelToSky over +-0.5 px, on the local
   * tangent plane). Defaults to the image centre when NAXIS is known, else the reference pixel.
   */
  pixelScale(x?: number, y?: number): number {
    const px = x ?? (this.imageSize ? (this.imageSize[0] - 1) / 2 : this.c0 - 1);
    const py = y ?? (this.imageSize ? (this.imageSize[1] - 1) / 2 : this.c1 - 1);
    const h = 0.5;
    const [lx0, bx0] = this.pixelToSky(px - h, py);
    const [lx1, bx1] = this.pixelToSky(px + h, py);
    const [ly0, by0] = this.pixelToSky(px, py - h);
    const [ly1, by1] = this.pixelToSky(px, py + h);
    const [, b] = this.pixelToSky(px, py);
    const cosb = libm.cos(b * D2R);
    const dl = (a1: number, a0: number) => ((((a1 - a0) % 360) + 540) % 360) - 180;
    const j00 = (dl(lx1, lx0) * cosb) / (2 * h);
    const j10 = (bx1 - bx0) / (2 * h);
    const j01 = (dl(ly1, ly0) * cosb) / (2 * h);
    const j11 = (by1 - by0) / (2 * h);
    return Math.sqrt(Math.abs(j00 * j11 - j01 * j10)) * 3600;
  }

  /** Nominal pixel scale at the reference pixel from the linear matrix alone, arcsec per pixel. */
  get linearPixelScale(): number {
    const m = this.linear.matrix;
    return Math.sqrt(Math.abs(m[0]! * m[3]! - m[1]! * m[2]!)) * 3600;
  }

  /** The four corners of the image (0-based pixel corners at -0.5 and N - 0.5) on the sky, degrees. */
  footprint(): [number, number][] | undefined {
    if (!this.imageSize) return undefined;
    const [n1, n2] = this.imageSize;
    return [[-0.5, -0.5], [n1 - 0.5, -0.5], [n1 - 0.5, n2 - 0.5], [-0.5, n2 - 0.5]].map(([x, y]) => this.pixelToSky(x!, y!));
  }
}

/** Great-circle separation of two sky positions in degrees (Vincenty's formula, stable at all angles). */
export function angularSeparation(lng1: number, lat1: number, lng2: number, lat2: number): number {
  const dl = (lng2 - lng1) * D2R;
  const p1 = lat1 * D2R;
  const p2 = lat2 * D2R;
  const sdl = libm.sin(dl);
  const cdl = libm.cos(dl);
  const num1 = libm.cos(p2) * sdl;
  const num2 = libm.cos(p1) * libm.sin(p2) - libm.sin(p1) * libm.cos(p2) * cdl;
  const den = libm.sin(p1) * libm.sin(p2) + libm.cos(p1) * libm.cos(p2) * cdl;
  return libm.atan2(Math.hypot(num1, num2), den) * R2D;
}
