/**
 * Reference stars from FITS binary tables, for `tessera extract --refcat`:
 *  - this project's reference shards (lib/sim/referenceCatalog.ts: a 'REFCAT' table with per-band fluxes
 *    in nJy and their errors), read as the pipeline reads them;
 *  - any other table with right ascension and declination in degrees, under one of the usual names
 *    (ra/dec, RA/DEC, RA_ICRS/DE_ICRS, RAJ2000/DEJ2000, ALPHA_J2000/DELTA_J2000; case does not matter),
 *    and optionally one photometric column the caller names: an AB magnitude (`magColumn`, e.g. a Gaia
 *    table's phot_g_mean_mag, which is close to AB) or a flux in nJy (`fluxColumn`). That photometry is
 *    given to every band, so no colour term applies; without it the stars serve the astrometry only
 *    (their fluxes NaN). Rows without a finite position are skipped.
 * Problems (no position columns, a named column that is missing) throw a ReferenceTableError naming the
 * file and the columns it has.
 */
import { readFitsBytes } from '../fits/file.js';
import { findColumn, type BinTable } from '../fits/bintable.js';
import { readReferenceShard, type ReferenceStar } from '../sim/referenceCatalog.js';
import { BANDS, type Band } from '../sim/types.js';
import { libm } from '../math/libm.js';

export class ReferenceTableError extends Error {
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'ReferenceTableError';
  }
}

export interface ReferenceTableOptions {
  /** An AB magnitude column for the photometric calibration. */
  magColumn?: string;
  /** A flux column in nJy for the photometric calibration. */
  fluxColumn?: string;
}

export interface ReferenceTable {
  stars: ReferenceStar[];
  /** 'bands': the project's shards (a flux per band, colour terms apply); 'single': one photometric column or none. */
  photometry: 'bands' | 'single' | 'none';
}

const POSITION_NAMES: readonly [string, string][] = [['ra', 'dec'], ['ra_icrs', 'de_icrs'], ['raj2000', 'dej2000'], ['alpha_j2000', 'delta_j2000']];

function numbers(table: BinTable, name: string): Float64Array | undefined {
  const column = findColumn(table, name);
  return column ? Float64Array.from(column.values as ArrayLike<number>, Number) : undefined;
}

/** The reference stars of one FITS file (see the module comment). */
export function readReferenceTable(name: string, bytes: Uint8Array, options: ReferenceTableOptions = {}): ReferenceTable {
  const file = readFitsBytes(name, bytes);
  if (file.indexOf('REFCAT') >= 0 && options.magColumn === undefined && options.fluxColumn === undefined) {
    return { stars: readReferenceShard(name, bytes).stars, photometry: 'bands' };
  }
  const index = file.hdus.findIndex((h) => h.type === 'BINTABLE');
  if (index < 0) throw new ReferenceTableError(name, 'no binary table');
  const table = file.readTable(index);
  const have = table.columns.map((c) => c.name).join(', ');
  const pair = POSITION_NAMES.find(([r, d]) => findColumn(table, r) && findColumn(table, d));
  if (!pair) throw new ReferenceTableError(name, `no right ascension / declination columns (looked for ${POSITION_NAMES.map((p) => p.join('/')).join(', ')}; the table has ${have})`);
  const ra = numbers(table, pair[0])!, dec = numbers(table, pair[1])!;
  const named = options.magColumn ?? options.fluxColumn;
  const photometry = named === undefined ? undefined : numbers(table, named);
  if (named !== undefined && !photometry) throw new ReferenceTableError(name, `no column '${named}' (the table has ${have})`);
  const ids = numbers(table, 'source_id') ?? numbers(table, 'id');
  const stars: ReferenceStar[] = [];
  const perBand = (v: number): Record<Band, number> => Object.fromEntries(BANDS.map((b) => [b, v])) as Record<Band, number>;
  for (let k = 0; k < table.nrows; k++) {
    if (!Number.isFinite(ra[k]) || !Number.isFinite(dec[k])) continue;
    const p = photometry?.[k] ?? NaN;
    const flux = options.magColumn !== undefined ? libm.pow(10, -0.4 * (p - 31.4)) : p;
    const mag = options.magColumn !== undefined ? p : flux > 0 ? 31.4 - 2.5 * libm.log10(flux) : NaN;
    stars.push({
      id: ids?.[k] ?? k, ra: ra[k]!, dec: dec[k]!, raErr: NaN, decErr: NaN,
      mag: perBand(mag), magErr: perBand(NaN), flux: perBand(flux), fluxErr: perBand(0),
    });
  }
  return { stars, photometry: photometry ? 'single' : 'none' };
}
