/**
 * FitsError: every problem found while reading or writing a FITS file. The message always names the
 * file (or data source), the HDU index when one is involved, and what was wrong, so that a pipeline
 * failure can be traced to its input without a debugger.
 */
export class FitsError extends Error {
  readonly source: string;
  readonly hdu: number | undefined;
  readonly problem: string;

  constructor(source: string, hdu: number | undefined, problem: string) {
    const where = hdu === undefined ? source : `${source} [HDU ${hdu}]`;
    super(`${where}: ${problem}`);
    this.name = 'FitsError';
    this.source = source;
    this.hdu = hdu;
    this.problem = problem;
  }
}
