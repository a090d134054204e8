/**
 * The gnomonic (TAN) projection about a tangent point: sky (RA, Dec) in degrees <-> standard coordinates
 * (xi, eta) in DEGREES, xi towards increasing RA (east), eta towards north. These are exactly the
 * intermediate world coordinates of a FITS TAN WCS whose CRVAL is the tangent point (Calabretta &
 * Greisen 2002, Paper II §5.1.3 with the default LONPOLE = 180), so a polynomial fitted from pixels to
 * (xi, eta) is a CD matrix plus SIP distortion (Shupe et al. 2005). Points 90 degrees or more from the
 * tangent point have no projection and give NaN.
 */
import { libm } from '../math/libm.js';
const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;

export class TangentPlane {
  private readonly sin0: number;
  private readonly cos0: number;

  /** Tangent point (RA, Dec), degrees. */
  constructor(readonly ra0: number, readonly dec0: number) {
    if (!Number.isFinite(ra0) || !(Math.abs(dec0) <= 90)) {
      throw new RangeError(`TangentPlane: tangent point (${ra0}, ${dec0}) is not a sky position`);
    }
    this.sin0 = libm.sin(dec0 * D2R);
    this.cos0 = libm.cos(dec0 * D2R);
  }

  /** (RA, Dec) degrees -> (xi, eta) degrees into out[0], out[1]; NaN on the far hemisphere. */
  project(ra: number, dec: number, out: Float64Array | number[]): void {
    const d = dec * D2R;
    const da = (ra - this.ra0) * D2R;
    const sd = libm.sin(d);
    const cd = libm.cos(d);
    const cda = libm.cos(da);
    const cosc = this.sin0 * sd + this.cos0 * cd * cda;
    if (!(cosc > 0)) { out[0] = NaN; out[1] = NaN; return; }
    out[0] = ((cd * libm.sin(da)) / cosc) * R2D;
    out[1] = ((this.cos0 * sd - this.sin0 * cd * cda) / cosc) * R2D;
  }

  /** (xi, eta) degrees -> [RA in [0, 360), Dec] degrees. */
  deproject(xi: number, eta: number): [number, number] {
    const x = xi * D2R;
    const y = eta * D2R;
    const den = this.cos0 - y * this.sin0;
    const dec = libm.atan2(this.sin0 + y * this.cos0, Math.hypot(x, den)) * R2D;
    let ra = this.ra0 + libm.atan2(x, den) * R2D;
    ra %= 360;
    if (ra < 0) ra += 360;
    return [ra, dec];
  }
}
