/**
 * The telescope's optical model: a gnomonic (TAN) projection about the boresight at a constant plate
 * scale, rotated by the sky position angle, with third-order radial (pincushion) distortion
 *   r_sky = r_fp (1 + k1 r_fp^2)     (r in focal-plane pixels from the optical axis)
 * which a TAN-SIP WCS represents exactly (Shupe et al. 2005): for a detector whose pixel (0, 0) sits
 * at focal-plane pixel (ox, oy), with u, v = pixel offsets from the boresight,
 *   A_3_0 = A_1_2 = B_0_3 = B_2_1 = k1.
 * The same function writes the true WCS (truth, from the true pointing) and the nominal one (raw
 * headers, from the commanded pointing, which real telescopes miss by a few arcseconds).
 * Defaults: 0.168 arcsec/px; k1 = 4e-11 px^-2, i.e. 1 % (about 27") at 16,000 px, as HSC's
 * distortion grows to a few tens of arcseconds at the field edge.
 */
import { FitsHeader } from '../fits/header.js';
import { libm } from '../math/libm.js';

export const DEFAULT_DISTORTION_K1 = 4e-11;

export interface Pointing {
  /** Boresight RA, Dec (degrees). */
  ra: number;
  dec: number;
  /** Sky position angle of the focal plane's +y axis, degrees east of north. */
  rotation: number;
}

export interface DetectorPlacement {
  /** Focal-plane pixel coordinates (boresight = 0, 0) of the detector's pixel (0, 0) centre. */
  originX: number;
  originY: number;
  /** Rotation (deg, counter-clockwise) of the detector's pixel axes on the focal plane (HSC mounts some CCDs at 180). */
  rotationDeg: number;
}

/** The rotation matrix of a placement, [[c, -s], [s, c]], with exact values at multiples of 90 degrees. */
function rotation(placement: DetectorPlacement): [number, number, number, number] {
  const quarter = placement.rotationDeg / 90;
  if (Number.isInteger(quarter)) {
    const k = ((quarter % 4) + 4) % 4;
    const [c, s] = [[1, 0], [0, 1], [-1, 0], [0, -1]][k]!;
    return [c!, -s!, s!, c!];
  }
  const t = (placement.rotationDeg * Math.PI) / 180;
  return [libm.cos(t), -libm.sin(t), libm.sin(t), libm.cos(t)];
}

export interface OpticalModel {
  /** arcsec per pixel at the optical axis. */
  pixelScale: number;
  /** Radial distortion coefficient k1 (px^-2). */
  k1: number;
}

/** The TAN-SIP WCS (0-based pixel convention handled by CRPIX being 1-based) of one detector. */
export function detectorWcsHeader(pointing: Pointing, placement: DetectorPlacement, optics: OpticalModel): FitsHeader {
  const s = optics.pixelScale / 3600;
  const th = (pointing.rotation * Math.PI) / 180;
  const c = libm.cos(th);
  const sn = libm.sin(th);
  // Focal-plane axes: +y points to position angle `rotation`, +x to rotation - 90 (east left when rotation = 0).
  // Intermediate world (xi east, eta north): xi = -s (c x + sn y)... expressed as a CD matrix on focal-plane pixels.
  const fp = [
    [-s * c, s * sn],
    [s * sn, s * c],
  ];
  // Detector pixel -> focal-plane pixel: p -> origin + R p, so CD = FP R.
  const [r00, r01, r10, r11] = rotation(placement);
  const cd = [
    [fp[0]![0]! * r00 + fp[0]![1]! * r10, fp[0]![0]! * r01 + fp[0]![1]! * r11],
    [fp[1]![0]! * r00 + fp[1]![1]! * r10, fp[1]![0]! * r01 + fp[1]![1]! * r11],
  ];
  // The boresight in detector pixels (0-based): origin + R p = 0  =>  p = -R^T origin.
  const [bx, by] = focalPlaneToDetector(placement, 0, 0);
  const h = new FitsHeader()
    .set('WCSAXES', 2)
    .set('CTYPE1', 'RA---TAN-SIP', 'TAN projection with SIP distortion')
    .set('CTYPE2', 'DEC--TAN-SIP', 'TAN projection with SIP distortion')
    .set('CRVAL1', pointing.ra, 'boresight RA (deg)', { real: true })
    .set('CRVAL2', pointing.dec, 'boresight Dec (deg)', { real: true })
    .set('CRPIX1', bx + 1, 'boresight, detector pixels (1-based)', { real: true })
    .set('CRPIX2', by + 1, 'boresight, detector pixels (1-based)', { real: true })
    .set('CD1_1', cd[0]![0]!, undefined, { real: true })
    .set('CD1_2', cd[0]![1]!, undefined, { real: true })
    .set('CD2_1', cd[1]![0]!, undefined, { real: true })
    .set('CD2_2', cd[1]![1]!, undefined, { real: true })
    .set('CUNIT1', 'deg')
    .set('CUNIT2', 'deg')
    .set('RADESYS', 'ICRS')
    .set('EQUINOX', 2000, undefined, { real: true });
  // SIP in detector pixel offsets (u, v) from CRPIX: R is orthogonal, so r^2 and the radial
  // displacement k1 r^2 (u, v) look the same in detector axes as in focal-plane axes.
  h.set('A_ORDER', 3).set('B_ORDER', 3);
  h.set('A_3_0', optics.k1, 'radial distortion k1', { real: true }).set('A_1_2', optics.k1, undefined, { real: true });
  h.set('B_0_3', optics.k1, 'radial distortion k1', { real: true }).set('B_2_1', optics.k1, undefined, { real: true });
  return h;
}

/** Detector pixel (0-based) -> focal-plane pixel. */
export function detectorToFocalPlane(placement: DetectorPlacement, x: number, y: number): [number, number] {
  const [r00, r01, r10, r11] = rotation(placement);
  return [placement.originX + r00 * x + r01 * y, placement.originY + r10 * x + r11 * y];
}

/** Focal-plane pixel -> detector pixel (0-based). */
export function focalPlaneToDetector(placement: DetectorPlacement, fx: number, fy: number): [number, number] {
  const [r00, r01, r10, r11] = rotation(placement);
  const dx = fx - placement.originX;
  const dy = fy - placement.originY;
  return [r00 * dx + r10 * dy, r01 * dx + r11 * dy];
}
