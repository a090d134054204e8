/**
 * FITS cards of a TAN-SIP WCS (Greisen & Calabretta 2002; Calabretta & Greisen 2002; Shupe et al. 2005,
 * "The SIP Convention") and the Wcs a reader of those cards gets. CTYPE 'RA---TAN-SIP'/'DEC--TAN-SIP' (or
 * plain TAN without distortion), CRVAL (deg, ICRS), CRPIX (1-BASED pixels), CD (deg/px), A_p_q/B_p_q for
 * 2 <= p + q <= A_ORDER (the forward distortion in pixels: U = u + A(u, v), u = pixel - CRPIX), and the
 * inverse AP_p_q/BP_p_q for 0 <= p + q <= AP_ORDER (u = U + AP(U, V)), as astropy, ds9 and LSST's afw
 * read them. Reals are written with the shortest text that reads back to the same double (lib/fits
 * header.ts), so the header round-trips exactly.
 */
import { FitsHeader } from '../fits/header.js';
import { parseWcs, type Wcs } from '../wcs/index.js';
import { Polynomial2 } from '../wcs/polynomial.js';

export interface TanSipParameters {
  /** Tangent point (RA, Dec), degrees. */
  crval: readonly [number, number];
  /** Reference pixel, 1-BASED (FITS). */
  crpix: readonly [number, number];
  /** CD matrix, row-major [CD1_1, CD1_2, CD2_1, CD2_2], degrees per pixel. */
  cd: readonly [number, number, number, number];
  /** Forward SIP polynomials (orders >= 2), or none for a pure TAN WCS. */
  a?: Polynomial2;
  b?: Polynomial2;
  /** Inverse SIP polynomials (optional). */
  ap?: Polynomial2;
  bp?: Polynomial2;
}

function writePolynomial(h: FitsHeader, name: 'A' | 'B' | 'AP' | 'BP', poly: Polynomial2, minDegree: number): void {
  const n = poly.order + 1;
  h.set(`${name}_ORDER`, poly.order, `SIP ${name} polynomial order`);
  for (let d = minDegree; d <= poly.order; d++) {
    for (let p = d; p >= 0; p--) {
      const q = d - p;
      h.set(`${name}_${p}_${q}`, poly.coefficients[p * n + q]!, undefined, { real: true });
    }
  }
}

/** The WCS cards (no NAXISn: the image HDU that carries them has its own). */
export function tanSipHeader(p: TanSipParameters): FitsHeader {
  const sip = p.a !== undefined && p.b !== undefined;
  const h = new FitsHeader()
    .set('WCSAXES', 2, 'number of WCS axes')
    .set('CTYPE1', sip ? 'RA---TAN-SIP' : 'RA---TAN', sip ? 'TAN projection with SIP distortion' : 'TAN projection')
    .set('CTYPE2', sip ? 'DEC--TAN-SIP' : 'DEC--TAN', sip ? 'TAN projection with SIP distortion' : 'TAN projection')
    .set('CRVAL1', p.crval[0], '[deg] RA of the tangent point', { real: true })
    .set('CRVAL2', p.crval[1], '[deg] Dec of the tangent point', { real: true })
    .set('CRPIX1', p.crpix[0], 'reference pixel (1-based)', { real: true })
    .set('CRPIX2', p.crpix[1], 'reference pixel (1-based)', { real: true })
    .set('CD1_1', p.cd[0], '[deg/px]', { real: true })
    .set('CD1_2', p.cd[1], '[deg/px]', { real: true })
    .set('CD2_1', p.cd[2], '[deg/px]', { real: true })
    .set('CD2_2', p.cd[3], '[deg/px]', { real: true })
    .set('CUNIT1', 'deg')
    .set('CUNIT2', 'deg')
    .set('RADESYS', 'ICRS');
  if (sip) {
    writePolynomial(h, 'A', p.a!, 2);
    writePolynomial(h, 'B', p.b!, 2);
    if (p.ap && p.bp) {
      writePolynomial(h, 'AP', p.ap, 0);
      writePolynomial(h, 'BP', p.bp, 0);
    }
  }
  return h;
}

/** Keywords of a primary celestial WCS that a new one must replace (stale SIP or TPV terms would otherwise survive). */
const WCS_KEY = /^(WCSAXES|CTYPE\d|CUNIT\d|CRVAL\d|CRPIX\d|CDELT\d|CROTA\d|CD\d_\d|PC\d_\d|PV\d_\d+|PS\d_\d+|LONPOLE|LATPOLE|RADESYS|RADECSYS|EQUINOX|EPOCH|(A|B|AP|BP)_ORDER|(A|B|AP|BP)_\d+_\d+|A_DMAX|B_DMAX)$/;

/**
 * Replaces the primary WCS of `target` (e.g. a calexp's image header that still holds the raw's header
 * WCS) by the cards of `wcs`: every primary WCS keyword of `target` (CTYPE, CRVAL, CRPIX, CD/PC/CDELT,
 * CROTA, PV, SIP, LONPOLE/LATPOLE, RADESYS/EQUINOX...) is deleted, then the new cards are appended.
 * Alternate WCSs (keywords ending in A-Z) and every other card are kept.
 */
export function replaceWcsCards(target: FitsHeader, wcs: FitsHeader): FitsHeader {
  for (let i = target.cards.length - 1; i >= 0; i--) {
    const c = target.cards[i]!;
    if (!c.commentary && WCS_KEY.test(c.key)) target.cards.splice(i, 1);
  }
  for (const c of wcs.cards) target.cards.push({ ...c });
  return target;
}

/**
 * The Wcs of `header` as a reader of the written file sees it: the cards are serialised to FITS header
 * bytes and parsed back before lib/wcs interprets them.
 */
export function wcsThroughFits(header: FitsHeader, source: string): Wcs {
  const parsed = FitsHeader.parse(header.toBytes(source), 0, source, 0).header;
  const wcs = parseWcs(parsed, { source });
  if (!wcs) throw new Error(`${source}: the written WCS cards have no celestial axes`);
  return wcs;
}

export { Polynomial2 };
