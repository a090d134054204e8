/**
 * Rotation between native spherical coordinates (phi, theta) and celestial coordinates (lng, lat), all in
 * degrees, following FITS WCS Paper II (Calabretta & Greisen 2002) §2.3-2.4: eq. (2) and (5) for the
 * rotation, eq. (8)-(10) for the celestial coordinates (alpha_p, delta_p) of the native pole from the
 * reference point (CRVAL), the fiducial point (phi0, theta0), LONPOLE (phi_p) and LATPOLE. Defaults as the
 * paper prescribes: LONPOLE = 0 if delta0 >= theta0 else 180 (plus phi0), LATPOLE = +90; of the two
 * solutions for delta_p the one nearer LATPOLE is taken (the same choices and tolerances as wcslib's
 * celset, so results agree with astropy).
 *
 * Longitudes come out in [0, 360), native longitudes in [-180, 180].
 */
import { D2R, R2D } from './projections.js';
import { libm } from '../math/libm.js';

export interface RotationInput {
  /** CRVAL of the longitude and latitude axes, degrees. */
  lng0: number;
  lat0: number;
  /** Fiducial point in native coordinates, degrees. */
  phi0: number;
  theta0: number;
  /** LONPOLE (native longitude of the celestial pole), degrees; undefined for the default. */
  lonpole?: number;
  /** LATPOLE, degrees; undefined for the default +90. */
  latpole?: number;
}

const TOL = 1e-10;

function wrap180(a: number): number {
  if (a > 180) return a - 360;
  if (a < -180) return a + 360;
  return a;
}

/** An angle in degrees into [0, 360). */
function normalise360(a: number): number {
  let r = a % 360;
  if (r < 0) r += 360;
  return r >= 360 ? r - 360 : r;
}

/** An angle in degrees into [-180, 180]. */
function normalise180(a: number): number {
  const r = a % 360;
  if (r > 180) return r - 360;
  if (r < -180) return r + 360;
  return r;
}

/** [sin, cos] of an angle in degrees, exact at multiples of 90 (as wcslib's sincosd). */
function sinCosDeg(a: number): [number, number] {
  const r = ((a % 360) + 360) % 360;
  if (r === 0) return [0, 1];
  if (r === 90) return [1, 0];
  if (r === 180) return [0, -1];
  if (r === 270) return [-1, 0];
  return [libm.sin(a * D2R), libm.cos(a * D2R)];
}

export class CelestialRotation {
  /** Celestial longitude of the native pole (alpha_p), degrees. */
  readonly lngPole: number;
  /** Celestial latitude of the native pole (delta_p), degrees: the effective LATPOLE. */
  readonly latPole: number;
  /** Native longitude of the celestial pole (phi_p): the effective LONPOLE, degrees. */
  readonly phiPole: number;
  private readonly sinLatP: number;
  private readonly cosLatP: number;
  /** +1 / -1 when the native pole is exactly the celestial north / south pole (a pure longitude shift). */
  private readonly polar: number;
  /**
   * Row-major 3x3 rotation taking native direction vectors (cos t cos p, cos t sin p, sin t) to celestial
   * ones: Rz(alpha_p) A Rz(-phi_p), with A = [[-sin dp, 0, cos dp], [0, -1, 0], [cos dp, 0, sin dp]], which
   * is eq. (2) written for vectors. Its transpose is eq. (5).
   */
  private readonly matrix: Float64Array;

  /** Throws a plain Error naming the problem when no rotation satisfies the keywords. */
  constructor(input: RotationInput) {
    const { lng0, lat0, phi0, theta0 } = input;
    let phip = input.lonpole;
    if (phip === undefined || phip === 999) {
      phip = wrap180((lat0 < theta0 ? 180 : 0) + phi0);
    }
    let latp = input.latpole ?? 90;
    let lngp: number;

    if (theta0 === 90) {
      // The fiducial point is the native pole: the reference point is the native pole.
      lngp = lng0;
      latp = lat0;
    } else {
      const slat0 = libm.sin(lat0 * D2R);
      const clat0 = libm.cos(lat0 * D2R);
      const sthe0 = libm.sin(theta0 * D2R);
      const cthe0 = libm.cos(theta0 * D2R);
      let sphip: number;
      let u = 0;
      let v = 0;
      let onlyLatpole = false;
      if (phip === phi0) {
        sphip = 0;
        u = theta0;
        v = 90 - lat0;
      } else {
        sphip = libm.sin((phip - phi0) * D2R);
        const cphip = libm.cos((phip - phi0) * D2R);
        const x = cthe0 * cphip;
        const y = sthe0;
        const z = Math.sqrt(x * x + y * y);
        if (z === 0) {
          if (slat0 !== 0) throw new Error('CRVAL of the latitude axis must be 0 when |LONPOLE - phi0| = 90 and theta0 = 0');
          onlyLatpole = true;
          latp = Math.max(-90, Math.min(90, latp));
        } else {
          let slz = slat0 / z;
          if (Math.abs(slz) > 1) {
            if (Math.abs(slz) - 1 < TOL) slz = slz > 0 ? 1 : -1;
            else throw new Error(`|CRVAL of the latitude axis| <= ${(libm.asin(z) * R2D).toFixed(3)} is required for these LONPOLE, phi0 and theta0`);
          }
          u = libm.atan2(y, x) * R2D;
          v = libm.acos(slz) * R2D;
        }
      }
      if (!onlyLatpole) {
        const latp1 = wrap180(u + v);
        const latp2 = wrap180(u - v);
        if (Math.abs(latp - latp1) < Math.abs(latp - latp2)) {
          latp = Math.abs(latp1) < 90 + TOL ? latp1 : latp2;
        } else {
          latp = Math.abs(latp2) < 90 + TOL ? latp2 : latp1;
        }
        if (Math.abs(latp) < 90 + TOL) latp = Math.max(-90, Math.min(90, latp));
      }
      const z = libm.cos(latp * D2R) * clat0;
      if (Math.abs(z) < TOL) {
        if (Math.abs(clat0) < TOL) lngp = lng0; // celestial pole at the fiducial point
        else if (latp > 0) lngp = lng0 + phip - phi0 - 180; // celestial north pole at the native pole
        else lngp = lng0 - phip + phi0; // celestial south pole at the native pole
      } else {
        const x = (sthe0 - libm.sin(latp * D2R) * slat0) / z;
        const y = (sphip * cthe0) / clat0;
        if (x === 0 && y === 0) throw new Error('no native pole satisfies these CRVAL, LONPOLE and theta0');
        lngp = lng0 - libm.atan2(y, x) * R2D;
      }
      if (lng0 >= 0) {
        if (lngp < 0) lngp += 360;
        else if (lngp > 360) lngp -= 360;
      } else {
        if (lngp > 0) lngp -= 360;
        else if (lngp < -360) lngp += 360;
      }
    }
    if (Math.abs(latp) > 90 + TOL) throw new Error('no valid celestial latitude of the native pole for these LONPOLE, phi0 and theta0 (ill-conditioned)');
    this.lngPole = lngp;
    this.latPole = latp;
    this.phiPole = phip;
    this.sinLatP = libm.sin(latp * D2R);
    this.cosLatP = libm.cos(latp * D2R);
    this.polar = latp === 90 ? 1 : latp === -90 ? -1 : 0;
    const [sa, ca] = sinCosDeg(lngp);
    const [sd, cd] = sinCosDeg(latp);
    const [sp, cp] = sinCosDeg(phip);
    // A Rz(-phi_p): rows of A times [[cp, sp, 0], [-sp, cp, 0], [0, 0, 1]].
    const b = [-sd * cp, -sd * sp, cd, sp, -cp, 0, cd * cp, cd * sp, sd];
    // Rz(alpha_p) = [[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]] times b.
    this.matrix = new Float64Array([
      ca * b[0]! - sa * b[3]!, ca * b[1]! - sa * b[4]!, ca * b[2]! - sa * b[5]!,
      sa * b[0]! + ca * b[3]!, sa * b[1]! + ca * b[4]!, sa * b[2]! + ca * b[5]!,
      b[6]!, b[7]!, b[8]!,
    ]);
  }

  /**
   * A native direction vector (any positive length) -> celestial (lng, lat) in degrees, lng in [0, 360).
   * The fast path used by Wcs: two atan2 per point.
   */
  nativeVectorToCelestial(n0: number, n1: number, n2: number, out: Float64Array): void {
    const m = this.matrix;
    const c0 = m[0]! * n0 + m[1]! * n1 + m[2]! * n2;
    const c1 = m[3]! * n0 + m[4]! * n1 + m[5]! * n2;
    const c2 = m[6]! * n0 + m[7]! * n1 + m[8]! * n2;
    const h = Math.sqrt(c0 * c0 + c1 * c1);
    out[0] = h === 0 ? 0 : normalise360(libm.atan2(c1, c0) * R2D);
    out[1] = libm.atan2(c2, h) * R2D;
  }

  /** Celestial (lng, lat) in degrees -> the unit native direction vector, into out[0..2]. */
  celestialToNativeVector(lng: number, lat: number, out: Float64Array): void {
    const d = lat * D2R;
    const a = lng * D2R;
    const cd = libm.cos(d);
    const c0 = cd * libm.cos(a);
    const c1 = cd * libm.sin(a);
    const c2 = libm.sin(d);
    const m = this.matrix;
    out[0] = m[0]! * c0 + m[3]! * c1 + m[6]! * c2;
    out[1] = m[1]! * c0 + m[4]! * c1 + m[7]! * c2;
    out[2] = m[2]! * c0 + m[5]! * c1 + m[8]! * c2;
  }

  /** Native (phi, theta) -> celestial (lng, lat), degrees (Paper II eq. 2). lng in [0, 360). */
  nativeToCelestial(phi: number, theta: number, out: Float64Array): void {
    if (this.polar !== 0) {
      // delta_p = +-90: eq. (2) reduces to lng = alpha_p + 180 + (phi - phi_p), lat = theta (north), or
      // lng = alpha_p - (phi - phi_p), lat = -theta (south); done exactly, as wcslib's sphx2s does.
      const lng = this.polar > 0 ? this.lngPole + 180 + (phi - this.phiPole) : this.lngPole - (phi - this.phiPole);
      out[0] = normalise360(lng);
      out[1] = this.polar > 0 ? theta : -theta;
      return;
    }
    const t = theta * D2R;
    const dphi = (phi - this.phiPole) * D2R;
    const st = libm.sin(t);
    const ct = libm.cos(t);
    const sd = libm.sin(dphi);
    const cd = libm.cos(dphi);
    const x = st * this.cosLatP - ct * this.sinLatP * cd; // cos(lat) cos(lng - lngp)
    const y = -ct * sd; // cos(lat) sin(lng - lngp)
    const z = st * this.sinLatP + ct * this.cosLatP * cd; // sin(lat)
    out[0] = normalise360(this.lngPole + libm.atan2(y, x) * R2D);
    // Near the poles asin loses precision: take the latitude from the horizontal component instead.
    out[1] = Math.abs(z) > 0.99 ? Math.sign(z) * libm.acos(Math.min(1, Math.sqrt(x * x + y * y))) * R2D : libm.asin(z) * R2D;
  }

  /** Celestial (lng, lat) -> native (phi, theta), degrees (Paper II eq. 5). phi in [-180, 180]. */
  celestialToNative(lng: number, lat: number, out: Float64Array): void {
    if (this.polar !== 0) {
      const phi = this.polar > 0 ? this.phiPole + (lng - this.lngPole) - 180 : this.phiPole - (lng - this.lngPole);
      out[0] = normalise180(phi);
      out[1] = this.polar > 0 ? lat : -lat;
      return;
    }
    const d = lat * D2R;
    const dl = (lng - this.lngPole) * D2R;
    const sd = libm.sin(d);
    const cd = libm.cos(d);
    const sl = libm.sin(dl);
    const cl = libm.cos(dl);
    const x = sd * this.cosLatP - cd * this.sinLatP * cl;
    const y = -cd * sl;
    const z = sd * this.sinLatP + cd * this.cosLatP * cl;
    out[0] = normalise180(this.phiPole + libm.atan2(y, x) * R2D);
    out[1] = Math.abs(z) > 0.99 ? Math.sign(z) * libm.acos(Math.min(1, Math.sqrt(x * x + y * y))) * R2D : libm.asin(z) * R2D;
  }
}
