/**
 * WcsError: every problem found while interpreting FITS World Coordinate System keywords (Greisen &
 * Calabretta 2002, Paper I; Calabretta & Greisen 2002, Paper II). The message names the data source,
 * the HDU (0-based, as astropy counts), the WCS letter when it is an alternate one, and what was wrong,
 * e.g. `calexp.fits [HDU 1]: unsupported projection 'XYZ' in CTYPE1 = 'RA---XYZ'`.
 */
export class WcsError extends Error {
  readonly source: string;
  readonly hdu: number | undefined;
  /** '' for the primary WCS, 'A'..'Z' for an alternate one. */
  readonly alt: string;
  readonly problem: string;

  constructor(source: string, hdu: number | undefined, alt: string, problem: string) {
    const where = (hdu === undefined ? source : `${source} [HDU ${hdu}]`) + (alt ? ` WCS '${alt}'` : '');
    super(`${where}: ${problem}`);
    this.name = 'WcsError';
    this.source = source;
    this.hdu = hdu;
    this.alt = alt;
    this.problem = problem;
  }
}
