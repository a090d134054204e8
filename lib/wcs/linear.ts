/**
 * The linear part of a celestial FITS WCS (Paper I §2.1-2.2, Paper II §6.1): 1-based pixel coordinates
 * p -> intermediate world coordinates x (degrees) = M (p - CRPIX), restricted to the two celestial axes.
 * M comes from one of three conventions, with wcslib's precedence:
 *   1. PCi_j (default identity) scaled by CDELTi (default 1): M_ij = CDELTi PCi_j  (Paper I eq. 1-3);
 *   2. CDi_j (missing elements 0; CDELTi ignored)                                   (Paper I eq. 4);
 *   3. CDELTi with CROTA of the latitude axis (rho):                                (Paper II eq. 188-189)
 *        M_ll = CDELT_l cos rho, M_lb = -CDELT_b sin rho, M_bl = CDELT_l sin rho, M_bb = CDELT_b cos rho
 *      (l = longitude axis, b = latitude axis). PC wins over CD, and both win over CROTA, as in wcslib.
 * When the header has more than two WCS axes only the celestial 2x2 block is used (as wcssub does).
 * CUNITi of 'deg' (default), 'arcmin', 'arcsec', 'mas' or 'rad' rescale the rows of M and CRVAL to degrees.
 */
import type { WcsKeywords } from './keywords.js';
import { libm } from '../math/libm.js';

export type MatrixConvention = 'PC' | 'CD' | 'CROTA';

export interface LinearTransform {
  /** The two celestial axes, 1-based, in header order (axes[0] < axes[1]). */
  axes: [number, number];
  /** CRPIX of those axes (1-based pixel coordinates, as in the header). */
  crpix: [number, number];
  /** Row-major 2x2 matrix [m00, m01, m10, m11] mapping pixel offsets to intermediate degrees. */
  matrix: Float64Array;
  /** Its inverse. */
  inverse: Float64Array;
  /** Which keywords defined M. */
  convention: MatrixConvention;
  /** Degrees per unit of CUNIT for each of the two axes. */
  unitScale: [number, number];
}

const UNITS: Record<string, number> = {
  '': 1,
  deg: 1,
  arcmin: 1 / 60,
  arcsec: 1 / 3600,
  mas: 1 / 3_600_000,
  rad: 180 / Math.PI,
};

/** Degrees per unit for a celestial CUNIT value; fails for anything that is not an angle. */
export function angularUnitScale(kw: WcsKeywords, axis: number): number {
  const raw = kw.string(`CUNIT${axis}`);
  if (raw === undefined) return 1;
  const unit = raw.trim();
  const scale = UNITS[unit === 'degree' || unit === 'degrees' ? 'deg' : unit];
  if (scale === undefined) kw.fail(`CUNIT${axis}${kw.alt} = '${raw}' is not an angular unit (expected deg, arcmin, arcsec, mas or rad)`);
  return scale;
}

/**
 * Reads the linear transformation of the celestial axes `axes` (1-based, ascending); `latAxisIndex` is
 * 0 or 1: which of the two is the latitude axis (CROTA belongs to it).
 */
export function readLinear(kw: WcsKeywords, axes: [number, number], latAxisIndex: 0 | 1): LinearTransform {
  const [a, b] = axes;
  const crpix: [number, number] = [kw.number(`CRPIX${a}`, 0), kw.number(`CRPIX${b}`, 0)];
  const unitScale: [number, number] = [angularUnitScale(kw, a), angularUnitScale(kw, b)];
  const hasPc = anyKey(kw, /^PC\d+_\d+/);
  const hasCd = anyKey(kw, /^CD\d+_\d+/);
  const lat = axes[latAxisIndex];
  const lng = axes[1 - latAxisIndex]!;
  // CROTAi carries no alternate letter in Paper I; wcslib also reads CROTAia, so accept both.
  const crotaKey = kw.alt && kw.header.has(`CROTA${lat}${kw.alt}`) ? `CROTA${lat}${kw.alt}` : `CROTA${lat}`;
  const hasCrota = kw.header.has(crotaKey) && kw.header.get(crotaKey) !== null;

  const m = new Float64Array(4);
  let convention: MatrixConvention;
  if (hasPc || !hasCd) {
    const cdelt = [kw.number(`CDELT${a}`, 1), kw.number(`CDELT${b}`, 1)];
    if (cdelt[0] === 0 || cdelt[1] === 0) kw.fail(`CDELT${cdelt[0] === 0 ? a : b}${kw.alt} is 0`);
    if (hasPc || !hasCrota) {
      convention = 'PC';
      const idx = [a, b];
      for (let r = 0; r < 2; r++) {
        for (let c = 0; c < 2; c++) {
          const pc = kw.number(`PC${idx[r]}_${idx[c]}`, r === c ? 1 : 0);
          m[r * 2 + c] = cdelt[r]! * pc;
        }
      }
    } else {
      convention = 'CROTA';
      const rho = (kw.numberExact(crotaKey, 0) * Math.PI) / 180;
      const c = libm.cos(rho);
      const s = libm.sin(rho);
      const li = lng === a ? 0 : 1; // row/column of the longitude axis
      const bi = 1 - li;
      const cdl = cdelt[li]!;
      const cdb = cdelt[bi]!;
      m[li * 2 + li] = cdl * c;
      m[li * 2 + bi] = -cdb * s;
      m[bi * 2 + li] = cdl * s;
      m[bi * 2 + bi] = cdb * c;
    }
  } else {
    convention = 'CD';
    const idx = [a, b];
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 2; c++) m[r * 2 + c] = kw.number(`CD${idx[r]}_${idx[c]}`, 0);
    }
  }
  m[0] *= unitScale[0]; m[1] *= unitScale[0];
  m[2] *= unitScale[1]; m[3] *= unitScale[1];
  const det = m[0]! * m[3]! - m[1]! * m[2]!;
  if (det === 0 || !Number.isFinite(det)) {
    kw.fail(`the ${convention} linear transformation of axes ${a} and ${b} is singular (determinant ${det})`);
  }
  const inverse = new Float64Array([m[3]! / det, -m[1]! / det, -m[2]! / det, m[0]! / det]);
  return { axes, crpix, matrix: m, inverse, convention, unitScale };
}

/** Whether any card of this description matches `re` followed by the WCS letter. */
function anyKey(kw: WcsKeywords, re: RegExp): boolean {
  const full = new RegExp(`${re.source}${kw.alt}$`);
  return kw.header.cards.some((c) => !c.commentary && full.test(c.key));
}
