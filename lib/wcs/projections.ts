/**
 * Spherical map projections of FITS WCS Paper II (Calabretta & Greisen 2002, §5): each maps projection-
 * plane (intermediate world) coordinates (x, y), in degrees, to native spherical coordinates (phi, theta),
 * in degrees, and back. Implemented: the zenithal TAN, SIN (with the slant parameters xi = PVi_1,
 * eta = PVi_2 of the latitude axis, Paper II eq. 38-45), ZEA, ARC and STG; the cylindrical CAR, MER and
 * CEA (lambda = PVi_1, default 1); and the all-sky AIT (Hammer-Aitoff, §5.3.4).
 * R0 = 180/pi, so that x, y are in degrees, as wcslib does.
 *
 * Points outside a projection's domain (e.g. the far hemisphere for TAN, outside the ellipse for AIT)
 * come out as NaN, in both directions, so one bad point never spoils a batch.
 *
 * A fiducial offset (Paper II §2.5: PVi_1 / PVi_2 of the longitude axis give (phi0, theta0) other than
 * the projection's default, and PVi_0 != 0 asks for the plane to be shifted) is handled by subtracting
 * (x0, y0) = P(phi0, theta0), as wcslib's prjoff() does, so that (phi0, theta0) lands at the reference
 * point. Deprojected native coordinates outside |phi| <= 180, |theta| <= 90 are NaN (wcslib's bounds check).
 *
 * Besides (phi, theta), each projection maps the plane to and from native direction vectors; TAN, SIN,
 * ZEA and STG do so algebraically (no trigonometry), which is the fast path Wcs uses with a rotation
 * matrix (spherical.ts).
 */
import { libm } from '../math/libm.js';

export const R2D = 180 / Math.PI;
export const D2R = Math.PI / 180;
/** Radius of the generating sphere: 180/pi, so that projection-plane coordinates are in degrees. */
const R0 = R2D;

export type ProjectionCode = 'TAN' | 'SIN' | 'ZEA' | 'ARC' | 'STG' | 'CAR' | 'MER' | 'CEA' | 'AIT';

export const SUPPORTED_PROJECTIONS: readonly ProjectionCode[] = ['TAN', 'SIN', 'ZEA', 'ARC', 'STG', 'CAR', 'MER', 'CEA', 'AIT'];

/** Projections whose default fiducial point is the native pole (theta0 = 90); the others use theta0 = 0. */
const ZENITHAL = new Set<ProjectionCode>(['TAN', 'SIN', 'ZEA', 'ARC', 'STG']);

/** A projection with its parameters. `out` receives two numbers: (phi, theta) or (x, y). */
export interface Projection {
  readonly code: ProjectionCode;
  /** Native longitude of the fiducial point, degrees. */
  readonly phi0: number;
  /** Native latitude of the fiducial point, degrees. */
  readonly theta0: number;
  /** Projection plane (x, y) in degrees -> native (phi, theta) in degrees; NaN outside the domain. */
  planeToNative(x: number, y: number, out: Float64Array): void;
  /** Native (phi, theta) in degrees -> projection plane (x, y) in degrees; NaN where undefined. */
  nativeToPlane(phi: number, theta: number, out: Float64Array): void;
  /**
   * Plane (x, y) -> the native direction (cos t cos p, cos t sin p, sin t) times any positive factor,
   * into out[0..2]; NaN outside the domain. The fast path: zenithal projections need no trigonometry.
   */
  planeToVector(x: number, y: number, out: Float64Array): void;
  /** A unit native direction vector -> plane (x, y); NaN where undefined. */
  vectorToPlane(nx: number, ny: number, nz: number, out: Float64Array): void;
}

export interface ProjectionParameters {
  /** PVi_m of the latitude axis, by m (only m = 1, 2 are used: SIN xi/eta, CEA lambda). */
  latitudeParameters: ReadonlyMap<number, number>;
  /** Fiducial point from PVi_1 / PVi_2 of the longitude axis, when given. */
  phi0?: number;
  theta0?: number;
  /**
   * PVi_0 of the longitude axis != 0: shift the plane so that (phi0, theta0) maps to (0, 0). As in wcslib,
   * the shift needs both phi0 and theta0; without the flag they only change the spherical rotation.
   */
  offset?: boolean;
}

/** The projection's default fiducial native latitude (Paper II Table 13): 90 for zenithal, else 0. */
export function defaultTheta0(code: ProjectionCode): number {
  return ZENITHAL.has(code) ? 90 : 0;
}

/** Builds a projection; throws a plain Error with the problem for invalid parameters. */
export function makeProjection(code: ProjectionCode, params: ProjectionParameters): Projection {
  const pv = params.latitudeParameters;
  let core: CoreProjection;
  switch (code) {
    case 'TAN': core = new Gnomonic(); break;
    case 'SIN': core = new Orthographic(pv.get(1) ?? 0, pv.get(2) ?? 0); break;
    case 'ZEA': core = new ZenithalEqualArea(); break;
    case 'ARC': core = new ZenithalEquidistant(); break;
    case 'STG': core = new Stereographic(); break;
    case 'CAR': core = new PlateCarree(); break;
    case 'MER': core = new Mercator(); break;
    case 'CEA': {
      const lambda = pv.get(1) ?? 1;
      if (!(lambda > 0 && lambda <= 1)) throw new Error(`CEA needs 0 < lambda <= 1 in PV of the latitude axis (m = 1), got ${lambda}`);
      core = new CylindricalEqualArea(lambda);
      break;
    }
    case 'AIT': core = new HammerAitoff(); break;
  }
  const phi0 = params.phi0 ?? 0;
  const theta0 = params.theta0 ?? defaultTheta0(code);
  if (Math.abs(theta0) > 90) throw new Error(`theta0 = ${theta0} (PVi_2 of the longitude axis) is outside [-90, 90]`);
  if (!params.offset || params.phi0 === undefined || params.theta0 === undefined) return new Unshifted(code, core, phi0, theta0);
  const o = new Float64Array(2);
  core.nativeToPlane(phi0, theta0, o);
  if (!Number.isFinite(o[0]!) || !Number.isFinite(o[1]!)) {
    throw new Error(`fiducial point (phi0, theta0) = (${phi0}, ${theta0}) is outside the ${code} projection`);
  }
  if (o[0] === 0 && o[1] === 0) return new Unshifted(code, core, phi0, theta0);
  return new Shifted(code, core, phi0, theta0, o[0]!, o[1]!);
}

/** One projection's formulas; the vector forms default to going through (phi, theta). */
abstract class CoreProjection {
  abstract planeToNative(x: number, y: number, out: Float64Array): void;
  abstract nativeToPlane(phi: number, theta: number, out: Float64Array): void;

  planeToVector(x: number, y: number, out: Float64Array): void {
    this.planeToNative(x, y, out);
    const p = out[0]! * D2R;
    const t = out[1]! * D2R;
    const ct = libm.cos(t);
    out[0] = ct * libm.cos(p);
    out[1] = ct * libm.sin(p);
    out[2] = libm.sin(t);
  }

  vectorToPlane(nx: number, ny: number, nz: number, out: Float64Array): void {
    const phi = nx === 0 && ny === 0 ? 0 : libm.atan2(ny, nx) * R2D;
    this.nativeToPlane(phi, libm.atan2(nz, Math.sqrt(nx * nx + ny * ny)) * R2D, out);
  }
}

class Unshifted implements Projection {
  constructor(readonly code: ProjectionCode, private readonly core: CoreProjection, readonly phi0: number, readonly theta0: number) {}
  planeToNative(x: number, y: number, out: Float64Array): void { this.core.planeToNative(x, y, out); }
  nativeToPlane(phi: number, theta: number, out: Float64Array): void { this.core.nativeToPlane(phi, theta, out); }
  planeToVector(x: number, y: number, out: Float64Array): void { this.core.planeToVector(x, y, out); }
  vectorToPlane(nx: number, ny: number, nz: number, out: Float64Array): void { this.core.vectorToPlane(nx, ny, nz, out); }
}

class Shifted implements Projection {
  constructor(
    readonly code: ProjectionCode,
    private readonly core: CoreProjection,
    readonly phi0: number,
    readonly theta0: number,
    private readonly x0: number,
    private readonly y0: number,
  ) {}
  planeToNative(x: number, y: number, out: Float64Array): void { this.core.planeToNative(x + this.x0, y + this.y0, out); }
  nativeToPlane(phi: number, theta: number, out: Float64Array): void {
    this.core.nativeToPlane(phi, theta, out);
    out[0] = out[0]! - this.x0;
    out[1] = out[1]! - this.y0;
  }
  planeToVector(x: number, y: number, out: Float64Array): void { this.core.planeToVector(x + this.x0, y + this.y0, out); }
  vectorToPlane(nx: number, ny: number, nz: number, out: Float64Array): void {
    this.core.vectorToPlane(nx, ny, nz, out);
    out[0] = out[0]! - this.x0;
    out[1] = out[1]! - this.y0;
  }
}

/** Native longitude of a zenithal plane point (Paper II eq. 14): phi = arg(-y, x). */
function zenithalPhi(x: number, y: number): number {
  return x === 0 && y === 0 ? 0 : libm.atan2(x, -y) * R2D;
}

/** Zenithal plane point from the radius R_theta (degrees) and phi (Paper II eq. 12-13). */
function zenithalPlane(r: number, phi: number, out: Float64Array): void {
  const p = phi * D2R;
  out[0] = r * libm.sin(p);
  out[1] = -r * libm.cos(p);
}

/** TAN, gnomonic (Paper II §5.1.3): R = R0 cot(theta). Only theta > 0 maps. */
class Gnomonic extends CoreProjection {
  planeToNative(x: number, y: number, out: Float64Array): void {
    out[0] = zenithalPhi(x, y);
    out[1] = libm.atan2(R0, Math.sqrt(x * x + y * y)) * R2D;
  }
  nativeToPlane(phi: number, theta: number, out: Float64Array): void {
    const t = theta * D2R;
    const s = libm.sin(t);
    if (!(s > 0)) { out[0] = NaN; out[1] = NaN; return; }
    zenithalPlane((R0 * libm.cos(t)) / s, phi, out);
  }
  // Native direction ~ (-y, x, R0): cos(phi) = -y/r, sin(phi) = x/r, cot(theta) = r/R0.
  override planeToVector(x: number, y: number, out: Float64Array): void {
    out[0] = -y;
    out[1] = x;
    out[2] = R0;
  }
  override vectorToPlane(nx: number, ny: number, nz: number, out: Float64Array): void {
    if (!(nz > 0)) { out[0] = NaN; out[1] = NaN; return; }
    out[0] = (R0 * ny) / nz;
    out[1] = (-R0 * nx) / nz;
  }
}

/**
 * SIN, slant orthographic (Paper II §5.1.5, eq. 38-45): x = R0 (cos t sin p + xi (1 - sin t)),
 * y = -R0 (cos t cos p - eta (1 - sin t)). The inverse solves a quadratic in w = 1 - sin(theta) and
 * keeps the root nearest the native pole, written in a cancellation-free form.
 */
class Orthographic extends CoreProjection {
  private readonly plain: boolean;
  private readonly a: number;
  constructor(private readonly xi: number, private readonly eta: number) {
    super();
    this.plain = xi === 0 && eta === 0;
    this.a = 1 + xi * xi + eta * eta;
  }
  planeToNative(x: number, y: number, out: Float64Array): void {
    const X = x / R0;
    const Y = y / R0;
    const c = X * X + Y * Y;
    if (this.plain) {
      if (c > 1) {
        if (c > 1 + 1e-13) { out[0] = NaN; out[1] = NaN; return; }
        out[0] = zenithalPhi(x, y);
        out[1] = 0;
        return;
      }
      out[0] = zenithalPhi(x, y);
      // cos(theta) = r; theta = atan2(sqrt(1 - r^2), r) is accurate near both 0 and 90 degrees.
      out[1] = libm.atan2(Math.sqrt(1 - c), Math.sqrt(c)) * R2D;
      return;
    }
    const { xi, eta, a } = this;
    const b = 1 + X * xi + Y * eta;
    const disc = b * b - a * c;
    if (disc < 0) { out[0] = NaN; out[1] = NaN; return; }
    const sq = Math.sqrt(disc);
    // Roots w = (b -/+ sq) / a; the smaller one (nearer theta = 90) in cancellation-free form.
    let w = b > 0 ? c / (b + sq) : (b - sq) / a;
    if (!(w >= 0 && w <= 2)) {
      const other = b > 0 ? (b + sq) / a : c / (b - sq);
      if (other >= 0 && other <= 2) w = other;
      else { out[0] = NaN; out[1] = NaN; return; }
    }
    const cosTheta = Math.sqrt(Math.max(0, w * (2 - w)));
    out[1] = libm.atan2(1 - w, cosTheta) * R2D;
    const px = X - xi * w;
    const py = -(Y - eta * w);
    out[0] = px === 0 && py === 0 ? 0 : libm.atan2(px, py) * R2D;
  }
  nativeToPlane(phi: number, theta: number, out: Float64Array): void {
    const t = theta * D2R;
    const p = phi * D2R;
    const ct = libm.cos(t);
    const sp = libm.sin(p);
    const cp = libm.cos(p);
    if (this.plain) {
      if (theta < 0) { out[0] = NaN; out[1] = NaN; return; }
      out[0] = R0 * ct * sp;
      out[1] = -R0 * ct * cp;
      return;
    }
    // The visible hemisphere ends where the line of sight grazes the sphere (wcslib's sins2x bound).
    const limit = -libm.atan(this.xi * sp - this.eta * cp) * R2D;
    if (theta < limit) { out[0] = NaN; out[1] = NaN; return; }
    const w = 1 - libm.sin(t);
    out[0] = R0 * (ct * sp + this.xi * w);
    out[1] = -R0 * (ct * cp - this.eta * w);
  }
  // Orthographic (xi = eta = 0): cos(theta) = r/R0, so the direction is (-y/R0, x/R0, sqrt(1 - r^2/R0^2)).
  override planeToVector(x: number, y: number, out: Float64Array): void {
    if (!this.plain) { super.planeToVector(x, y, out); return; }
    const X = x / R0;
    const Y = y / R0;
    const c = X * X + Y * Y;
    if (c > 1 + 1e-13) { out[0] = NaN; out[1] = NaN; out[2] = NaN; return; }
    out[0] = -Y;
    out[1] = X;
    out[2] = Math.sqrt(Math.max(0, 1 - c));
  }
  override vectorToPlane(nx: number, ny: number, nz: number, out: Float64Array): void {
    if (!this.plain) { super.vectorToPlane(nx, ny, nz, out); return; }
    if (nz < 0) { out[0] = NaN; out[1] = NaN; return; }
    out[0] = R0 * ny;
    out[1] = -R0 * nx;
  }
}

/** ZEA, zenithal equal-area (Paper II §5.1.7): R = 2 R0 sin((90 - theta)/2). */
class ZenithalEqualArea extends CoreProjection {
  planeToNative(x: number, y: number, out: Float64Array): void {
    const s = Math.sqrt(x * x + y * y) / (2 * R0);
    if (s > 1) {
      if (s > 1 + 1e-13) { out[0] = NaN; out[1] = NaN; return; }
      out[0] = zenithalPhi(x, y); out[1] = -90; return;
    }
    out[0] = zenithalPhi(x, y);
    out[1] = 90 - 2 * libm.asin(s) * R2D;
  }
  nativeToPlane(phi: number, theta: number, out: Float64Array): void {
    zenithalPlane(2 * R0 * libm.sin(((90 - theta) / 2) * D2R), phi, out);
  }
  // With s = r/(2 R0) = sin((90 - theta)/2): sin(theta) = 1 - 2s^2, cos(theta) = 2s sqrt(1 - s^2).
  override planeToVector(x: number, y: number, out: Float64Array): void {
    const s2 = (x * x + y * y) / (4 * R0 * R0);
    if (s2 > 1 + 1e-13) { out[0] = NaN; out[1] = NaN; out[2] = NaN; return; }
    const f = Math.sqrt(Math.max(0, 1 - s2)) / R0;
    out[0] = -y * f;
    out[1] = x * f;
    out[2] = 1 - 2 * s2;
  }
  // R / cos(theta) = R0 sqrt(2 / (1 + sin(theta))).
  override vectorToPlane(nx: number, ny: number, nz: number, out: Float64Array): void {
    if (nz <= -1 + 1e-12) { super.vectorToPlane(nx, ny, nz, out); return; }
    const f = R0 * Math.sqrt(2 / (1 + nz));
    out[0] = f * ny;
    out[1] = -f * nx;
  }
}

/** ARC, zenithal equidistant (Paper II §5.1.6): R = 90 - theta (degrees). */
class ZenithalEquidistant extends CoreProjection {
  planeToNative(x: number, y: number, out: Float64Array): void {
    const r = Math.sqrt(x * x + y * y);
    if (r > 180) { out[0] = NaN; out[1] = NaN; return; }
    out[0] = zenithalPhi(x, y);
    out[1] = 90 - r;
  }
  nativeToPlane(phi: number, theta: number, out: Float64Array): void {
    zenithalPlane(90 - theta, phi, out);
  }
}

/** STG, stereographic (Paper II §5.1.4): R = 2 R0 tan((90 - theta)/2). theta = -90 is at infinity. */
class Stereographic extends CoreProjection {
  planeToNative(x: number, y: number, out: Float64Array): void {
    out[0] = zenithalPhi(x, y);
    out[1] = 90 - 2 * libm.atan(Math.sqrt(x * x + y * y) / (2 * R0)) * R2D;
  }
  nativeToPlane(phi: number, theta: number, out: Float64Array): void {
    const t = theta * D2R;
    const d = 1 + libm.sin(t);
    if (!(d > 0)) { out[0] = NaN; out[1] = NaN; return; }
    zenithalPlane((2 * R0 * libm.cos(t)) / d, phi, out);
  }
  // With t = r/(2 R0): cos(theta) = 2t/(1 + t^2), sin(theta) = (1 - t^2)/(1 + t^2).
  override planeToVector(x: number, y: number, out: Float64Array): void {
    const t2 = (x * x + y * y) / (4 * R0 * R0);
    out[0] = -y / R0;
    out[1] = x / R0;
    out[2] = 1 - t2;
  }
  override vectorToPlane(nx: number, ny: number, nz: number, out: Float64Array): void {
    const d = 1 + nz;
    if (!(d > 0)) { out[0] = NaN; out[1] = NaN; return; }
    out[0] = (2 * R0 * ny) / d;
    out[1] = (-2 * R0 * nx) / d;
  }
}

/** Native longitude of a cylindrical plane point: x itself, NaN beyond +-180 (wcslib's prjbchk). */
function checkedPhi(x: number): number {
  if (Math.abs(x) <= 180) return x;
  if (Math.abs(x) <= 180 + 1e-13) return x > 0 ? 180 : -180;
  return NaN;
}

/** CAR, plate carree (Paper II §5.2.3): x = phi, y = theta. */
class PlateCarree extends CoreProjection {
  planeToNative(x: number, y: number, out: Float64Array): void {
    out[0] = checkedPhi(x);
    out[1] = Math.abs(y) > 90 ? NaN : y;
    if (out[0] !== out[0]) out[1] = NaN;
  }
  nativeToPlane(phi: number, theta: number, out: Float64Array): void {
    out[0] = phi;
    out[1] = theta;
  }
}

/** MER, Mercator (Paper II §5.2.4): x = phi, y = R0 ln tan((90 + theta)/2). The poles are at infinity. */
class Mercator extends CoreProjection {
  planeToNative(x: number, y: number, out: Float64Array): void {
    out[0] = checkedPhi(x);
    out[1] = out[0] !== out[0] ? NaN : 2 * libm.atan(libm.exp(y / R0)) * R2D - 90;
  }
  nativeToPlane(phi: number, theta: number, out: Float64Array): void {
    if (!(Math.abs(theta) < 90)) { out[0] = NaN; out[1] = NaN; return; }
    out[0] = phi;
    out[1] = R0 * libm.log(libm.tan(((90 + theta) / 2) * D2R));
  }
}

/** CEA, cylindrical equal-area (Paper II §5.2.2): x = phi, y = R0 sin(theta) / lambda. */
class CylindricalEqualArea extends CoreProjection {
  constructor(private readonly lambda: number) {
    super();
  }
  planeToNative(x: number, y: number, out: Float64Array): void {
    const s = (this.lambda * y) / R0;
    const phi = checkedPhi(x);
    if (Math.abs(s) > 1 + 1e-13 || phi !== phi) { out[0] = NaN; out[1] = NaN; return; }
    out[0] = phi;
    out[1] = libm.asin(Math.max(-1, Math.min(1, s))) * R2D;
  }
  nativeToPlane(phi: number, theta: number, out: Float64Array): void {
    out[0] = phi;
    out[1] = (R0 * libm.sin(theta * D2R)) / this.lambda;
  }
}

/**
 * AIT, Hammer-Aitoff (Paper II §5.3.4): x = 2 g cos(theta) sin(phi/2), y = g sin(theta) with
 * g = R0 sqrt(2 / (1 + cos(theta) cos(phi/2))). Inverse via Z^2 = 1 - (x/4R0)^2 - (y/2R0)^2 >= 1/2.
 */
class HammerAitoff extends CoreProjection {
  planeToNative(x: number, y: number, out: Float64Array): void {
    const u = x / (4 * R0);
    const v = y / (2 * R0);
    const z2 = 1 - u * u - v * v;
    if (z2 < 0.5) {
      if (z2 < 0.5 - 1e-13) { out[0] = NaN; out[1] = NaN; return; }
    }
    const z = Math.sqrt(Math.max(z2, 0.5));
    const sx = (z * x) / (2 * R0);
    const cx = 2 * z * z - 1;
    out[0] = sx === 0 && cx === 0 ? 0 : 2 * libm.atan2(sx, cx) * R2D;
    const s = (z * y) / R0;
    out[1] = libm.asin(Math.max(-1, Math.min(1, s))) * R2D;
  }
  nativeToPlane(phi: number, theta: number, out: Float64Array): void {
    const t = theta * D2R;
    const h = (phi / 2) * D2R;
    const ct = libm.cos(t);
    const g = R0 * Math.sqrt(2 / (1 + ct * libm.cos(h)));
    out[0] = 2 * g * ct * libm.sin(h);
    out[1] = g * libm.sin(t);
  }
}
