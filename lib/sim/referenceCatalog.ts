/**
 * A Gaia + Pan-STARRS1-like astrometric and photometric reference catalogue made from the simulated
 * sky's truth (skyCatalog.ts), sharded by sky region into FITS binary tables.
 *
 * Content: every truth STAR (galaxies are excluded) with true reference r magnitude r_ref <= magLimit
 * (default 21.5; no bright limit, Gaia-like). Epoch 2016.0; the simulated stars have no proper motion
 * or parallax (their truth positions hold at every epoch), so none is given or needed.
 * Astrometry: ra, dec (ICRS deg) = truth + N(0, sigma) per axis (sigma on the sky, RA's divided by
 * cos dec), sigma(r) = hypot(0.5, 1.0 x 10^(0.4 (r - 19.5))) mas: 0.5 mas at r < 17, 1.1 at 19.5,
 * 4.0 at 21, 6.3 at 21.5, 10 at 22 (photon-limited growth, Gaia DR3 / PS1-like); ra_err = dec_err =
 * sigma (mas, the true error model).
 * Photometry in reference bands g_ref, r_ref, i_ref (AB), related to the camera's g, r, i by linear
 * colour terms (REFERENCE_COLOUR_TERMS, no zero-point offsets):
 *   g_ref = g + 0.080 (g - r),  r_ref = r + 0.020 (g - r),  i_ref = i + 0.040 (r - i).
 * Flux (nJy) = true flux + N(0, sigma_F), sigma_F = F_true x sigma_m x ln(10) / 2.5 with
 * sigma_m(m) = hypot(0.005, 0.02 x 10^(0.4 (m - 20))) mag of the band's own true magnitude
 * (0.006 at 17, 0.021 at 20, 0.080 at 21.5); the flux error column is sigma_F. Magnitudes
 * m = 31.4 - 2.5 log10(flux) and m_err = 2.5 / ln(10) x sigma_F / flux (NaN where flux <= 0).
 * So (flux - true flux) / fluxErr and (ra - true ra) cos dec / ra_err are exactly unit normal.
 * Noise is drawn from Random.stream(seed, 'refcat', id): independent of shard and order.
 *
 * Shards (the shard key): declination bands of SHARD_SIZE_DEG (default 1 deg) height, band
 * j = floor((dec + 90) / size) (the last band includes dec = 90); band j has
 * n_j = max(1, round(360 cos(dec_mid_j) / size)) RA cells of width 360 / n_j, cell k = floor(ra / width)
 * (ra in [0, 360)), so cells are ~size x size deg everywhere. Shard id = j * 10000 + k; file name
 * `refcat_<id>.fits`. Each file: an empty primary HDU and a BINTABLE 'REFCAT' with columns
 * id (J, the truth object id), ra, dec (D, deg), ra_err, dec_err (D, mas), g_ref, g_ref_err, r_ref,
 * r_ref_err, i_ref, i_ref_err (D, mag), g_flux, g_fluxErr, r_flux, r_fluxErr, i_flux, i_fluxErr (D, nJy),
 * rows in id order, and header keywords SHARDID, SHARDDEG, EPOCH, MAGLIM, REFSEED, CTERMG, CTERMR, CTERMI.
 * `shardsCovering(ra, dec, radius)` returns every shard that can hold a point within the circle (a
 * superset: the circle's largest RA half-width asin(sin R / cos dec) is used for every band it spans);
 * `readReferenceCircle` reads those shards and keeps the stars inside the circle.
 */
import { FitsHeader } from '../fits/header.js';
import { writeFits } from '../fits/writer.js';
import { readFitsBytes } from '../fits/file.js';
import { findColumn, type BinTable } from '../fits/bintable.js';
import { Random } from './random.js';
import { BANDS, magToNanojansky, type Band, type SkyObject } from './types.js';
import { libm } from '../math/libm.js';
import { MAG_PER_LN } from '../photometry/magnitudes.js';

export const REFERENCE_COLOUR_TERMS: Readonly<Record<Band, { blue: Band; red: Band; coefficient: number }>> = {
  g: { blue: 'g', red: 'r', coefficient: 0.080 },
  r: { blue: 'g', red: 'r', coefficient: 0.020 },
  i: { blue: 'r', red: 'i', coefficient: 0.040 },
};

/**
 * This catalogue's colour terms in LSST's Colorterm form, camera mag = m_p + c1 (m_p - m_s), with m_p the
 * band's own reference magnitude and m_s the other band of its colour: inverting X_ref = X + k (B - R)
 * with the reference colour B_ref - R_ref = (1 + k_B - k_R) (B - R) (exact for g and r; for i the r
 * reference's own small g - r term is dropped, under 1 mmag for stellar colours).
 */
export function referenceColorTerm(band: Band): { secondary: Band; c1: number } {
  const term = REFERENCE_COLOUR_TERMS[band];
  const k = (b: Band): number => (REFERENCE_COLOUR_TERMS[b].blue === term.blue && REFERENCE_COLOUR_TERMS[b].red === term.red ? REFERENCE_COLOUR_TERMS[b].coefficient : 0);
  const colourScale = 1 + k(term.blue) - k(term.red);
  // X = X_ref - k (B - R) = X_ref - (k / colourScale) (B_ref - R_ref), written as m_p + c1 (m_p - m_s).
  const secondary = band === term.blue ? term.red : term.blue;
  const sign = band === term.blue ? -1 : 1;
  return { secondary, c1: (sign * term.coefficient) / colourScale };
}

export const REFERENCE_DEFAULTS = {
  magLimit: 21.5,
  epoch: 2016.0,
  shardSizeDeg: 1,
  astrometry: { floorMas: 0.5, scaleMas: 1.0, pivotMag: 19.5 },
  photometry: { floorMag: 0.005, scaleMag: 0.02, pivotMag: 20 },
} as const;

const MAS_PER_DEG = 3.6e6;
const DEG = Math.PI / 180;

/** True reference-band magnitudes of an object from its camera magnitudes. */
export function referenceMagnitudes(mag: Record<Band, number>): Record<Band, number> {
  const out = {} as Record<Band, number>;
  for (const b of BANDS) {
    const t = REFERENCE_COLOUR_TERMS[b];
    out[b] = mag[b] + t.coefficient * (mag[t.blue] - mag[t.red]);
  }
  return out;
}

/** Astrometric error (mas, per axis) at reference r magnitude. */
export function positionErrorMas(r: number): number {
  const a = REFERENCE_DEFAULTS.astrometry;
  return Math.hypot(a.floorMas, a.scaleMas * libm.pow(10, 0.4 * (r - a.pivotMag)));
}

/** Photometric error (mag) of a band at its true magnitude. */
export function magnitudeError(m: number): number {
  const p = REFERENCE_DEFAULTS.photometry;
  return Math.hypot(p.floorMag, p.scaleMag * libm.pow(10, 0.4 * (m - p.pivotMag)));
}

export interface ReferenceStar {
  id: number;
  ra: number;
  dec: number;
  /** mas */
  raErr: number;
  decErr: number;
  /** AB mag in g_ref, r_ref, i_ref (NaN where the flux is not positive) and errors. */
  mag: Record<Band, number>;
  magErr: Record<Band, number>;
  /** nJy */
  flux: Record<Band, number>;
  fluxErr: Record<Band, number>;
}

export interface ReferenceShard {
  id: number;
  /** Stars in id order. */
  stars: ReferenceStar[];
}

export interface ReferenceCatalogParams {
  seed: number;
  /** Faintest true r_ref kept. */
  magLimit?: number;
  shardSizeDeg?: number;
}

export interface ReferenceCatalogMeta {
  seed: number;
  magLimit: number;
  epoch: number;
  shardSizeDeg: number;
  colourTerms: typeof REFERENCE_COLOUR_TERMS;
  nStars: number;
}

export interface ReferenceCatalog {
  shards: ReferenceShard[];
  meta: ReferenceCatalogMeta;
}

// ------------------------------------------------------------------------------------------------
// Shard geometry

function checkShardSize(size: number): number {
  const bands = 180 / size;
  if (!(size > 0) || Math.abs(bands - Math.round(bands)) > 1e-9 || 360 / size >= 10000) {
    throw new RangeError(`reference catalogue: shard size ${size} deg must divide 180 and be above 0.036 deg`);
  }
  return size;
}

function bandCount(size: number): number {
  return Math.round(180 / size);
}

function bandOf(dec: number, size: number): number {
  return Math.min(Math.max(Math.floor((dec + 90) / size), 0), bandCount(size) - 1);
}

function cellsInBand(j: number, size: number): number {
  const mid = -90 + (j + 0.5) * size;
  return Math.max(1, Math.round((360 * libm.cos(mid * DEG)) / size));
}

function normaliseRa(ra: number): number {
  const r = ra % 360;
  return r < 0 ? r + 360 : r;
}

/** The shard holding a position. */
export function shardIdAt(ra: number, dec: number, shardSizeDeg: number = REFERENCE_DEFAULTS.shardSizeDeg): number {
  const size = checkShardSize(shardSizeDeg);
  const j = bandOf(dec, size);
  const n = cellsInBand(j, size);
  const k = Math.min(Math.floor(normaliseRa(ra) / (360 / n)), n - 1);
  return j * 10000 + k;
}

/** The file name of a shard. */
export function referenceShardFileName(id: number): string {
  return `refcat_${id}.fits`;
}

/** Every shard that may hold a point within `radiusDeg` of (ra, dec), ascending. */
export function shardsCovering(ra: number, dec: number, radiusDeg: number, shardSizeDeg: number = REFERENCE_DEFAULTS.shardSizeDeg): number[] {
  const size = checkShardSize(shardSizeDeg);
  if (!(radiusDeg >= 0)) throw new RangeError(`shardsCovering: radius must be >= 0, got ${radiusDeg}`);
  const margin = 1e-9;
  const r = radiusDeg + margin;
  const j0 = bandOf(Math.max(dec - r, -90), size), j1 = bandOf(Math.min(dec + r, 90), size);
  const poleInside = Math.abs(dec) + r >= 90;
  const sinR = libm.sin(Math.min(r, 90) * DEG), cosD = libm.cos(dec * DEG);
  const halfWidth = poleInside || sinR >= cosD ? 180 : libm.asin(sinR / cosD) / DEG + margin;
  const ids: number[] = [];
  for (let j = j0; j <= j1; j++) {
    const n = cellsInBand(j, size);
    const width = 360 / n;
    if (halfWidth >= 180) {
      for (let k = 0; k < n; k++) ids.push(j * 10000 + k);
      continue;
    }
    const lo = Math.floor((ra - halfWidth) / width), hi = Math.floor((ra + halfWidth) / width);
    const cells = new Set<number>();
    for (let k = lo; k <= hi && cells.size < n; k++) cells.add(((k % n) + n) % n);
    for (const k of [...cells].sort((a, b) => a - b)) ids.push(j * 10000 + k);
  }
  return ids;
}

/** Angular distance (deg) between two positions (haversine). */
export function angularDistanceDeg(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const s1 = libm.sin(((dec2 - dec1) * DEG) / 2), s2 = libm.sin(((ra2 - ra1) * DEG) / 2);
  const h = s1 * s1 + libm.cos(dec1 * DEG) * libm.cos(dec2 * DEG) * s2 * s2;
  return (2 * libm.asin(Math.min(1, Math.sqrt(h)))) / DEG;
}

// ------------------------------------------------------------------------------------------------
// Building

/** The reference catalogue of the stars among `objects`, sharded; see the module comment. */
export function buildReferenceCatalog(objects: readonly SkyObject[], params: ReferenceCatalogParams): ReferenceCatalog {
  const magLimit = params.magLimit ?? REFERENCE_DEFAULTS.magLimit;
  const size = checkShardSize(params.shardSizeDeg ?? REFERENCE_DEFAULTS.shardSizeDeg);
  const byShard = new Map<number, ReferenceStar[]>();
  let nStars = 0;
  for (const o of objects) {
    if (o.kind !== 'star') continue;
    const trueRef = referenceMagnitudes(o.mag);
    if (!(trueRef.r <= magLimit)) continue;
    const rng = Random.stream(params.seed, 'refcat', o.id);
    const sigma = positionErrorMas(trueRef.r);
    const dRa = sigma * rng.normal(), dDec = sigma * rng.normal();
    let dec = o.dec + dDec / MAS_PER_DEG;
    if (dec > 90) dec = 90; else if (dec < -90) dec = -90;
    const ra = normaliseRa(o.ra + dRa / (MAS_PER_DEG * libm.cos(o.dec * DEG)));
    const mag = {} as Record<Band, number>, magErr = {} as Record<Band, number>;
    const flux = {} as Record<Band, number>, fluxErr = {} as Record<Band, number>;
    for (const b of BANDS) {
      const f0 = magToNanojansky(trueRef[b]);
      const sf = (f0 * magnitudeError(trueRef[b])) / MAG_PER_LN;
      const f = f0 + sf * rng.normal();
      flux[b] = f;
      fluxErr[b] = sf;
      mag[b] = f > 0 ? 31.4 - 2.5 * libm.log10(f) : NaN;
      magErr[b] = f > 0 ? (MAG_PER_LN * sf) / f : NaN;
    }
    const star: ReferenceStar = { id: o.id, ra, dec, raErr: sigma, decErr: sigma, mag, magErr, flux, fluxErr };
    const id = shardIdAt(ra, dec, size);
    let list = byShard.get(id);
    if (!list) byShard.set(id, (list = []));
    list.push(star);
    nStars++;
  }
  const shards = [...byShard.entries()].sort((a, b) => a[0] - b[0]).map(([id, stars]) => ({ id, stars: stars.sort((a, b) => a.id - b.id) }));
  return {
    shards,
    meta: { seed: params.seed, magLimit, epoch: REFERENCE_DEFAULTS.epoch, shardSizeDeg: size, colourTerms: REFERENCE_COLOUR_TERMS, nStars },
  };
}

// ------------------------------------------------------------------------------------------------
// FITS

const TABLE_EXTNAME = 'REFCAT';

/** One FITS file per shard (pure: the bytes come from writeFits). */
export function writeReferenceShards(catalog: ReferenceCatalog): { name: string; bytes: Uint8Array }[] {
  const { meta } = catalog;
  return catalog.shards.map((shard) => {
    const s = shard.stars;
    const col = (pick: (x: ReferenceStar) => number): Float64Array => Float64Array.from(s, pick);
    const columns: { name: string; values: Int32Array | Float64Array; unit?: string }[] = [
      { name: 'id', values: Int32Array.from(s, (x) => x.id) },
      { name: 'ra', values: col((x) => x.ra), unit: 'deg' },
      { name: 'dec', values: col((x) => x.dec), unit: 'deg' },
      { name: 'ra_err', values: col((x) => x.raErr), unit: 'mas' },
      { name: 'dec_err', values: col((x) => x.decErr), unit: 'mas' },
    ];
    for (const b of BANDS) {
      columns.push({ name: `${b}_ref`, values: col((x) => x.mag[b]), unit: 'mag' });
      columns.push({ name: `${b}_ref_err`, values: col((x) => x.magErr[b]), unit: 'mag' });
    }
    for (const b of BANDS) {
      columns.push({ name: `${b}_flux`, values: col((x) => x.flux[b]), unit: 'nJy' });
      columns.push({ name: `${b}_fluxErr`, values: col((x) => x.fluxErr[b]), unit: 'nJy' });
    }
    const header = new FitsHeader();
    header.set('SHARDID', shard.id, 'shard id = dec band * 10000 + RA cell');
    header.set('SHARDDEG', meta.shardSizeDeg, 'shard size (deg)', { real: true });
    header.set('EPOCH', meta.epoch, 'epoch of the positions (Julian year)', { real: true });
    header.set('MAGLIM', meta.magLimit, 'faintest true r_ref kept', { real: true });
    header.set('REFSEED', meta.seed, 'simulator seed of the reference noise');
    header.set('CTERMG', REFERENCE_COLOUR_TERMS.g.coefficient, 'g_ref = g + CTERMG (g - r)', { real: true });
    header.set('CTERMR', REFERENCE_COLOUR_TERMS.r.coefficient, 'r_ref = r + CTERMR (g - r)', { real: true });
    header.set('CTERMI', REFERENCE_COLOUR_TERMS.i.coefficient, 'i_ref = i + CTERMI (r - i)', { real: true });
    const name = referenceShardFileName(shard.id);
    const bytes = writeFits([{ kind: 'table', table: { nrows: s.length, columns, extname: TABLE_EXTNAME }, header }], { name });
    return { name, bytes };
  });
}

function numberColumn(table: BinTable, name: string, file: string): ArrayLike<number> {
  const c = findColumn(table, name);
  if (!c || !(c.values instanceof Float64Array || c.values instanceof Int32Array || c.values instanceof Float32Array)) {
    throw new Error(`${file}: reference shard lacks a numeric column '${name}'`);
  }
  return c.values;
}

/**
 * Reads one shard file written by writeReferenceShards, or by `tessera ingest-refcat`
 * (node/repository/refcatIngest.ts), which carries only id, ra, dec and the bands' `_ref` magnitudes it
 * was given (and `_ref_err` where given): columns it lacks read as NaN, and fluxes (nJy) come from the
 * magnitudes where the shard has no `_flux` columns.
 */
export function readReferenceShard(name: string, bytes: Uint8Array): ReferenceShard {
  const file = readFitsBytes(name, bytes);
  const index = file.indexOf(TABLE_EXTNAME);
  if (index < 0) throw new Error(`${name}: no '${TABLE_EXTNAME}' binary table`);
  const id = file.hdu(index).header.getInteger('SHARDID');
  if (id === undefined) throw new Error(`${name}: the '${TABLE_EXTNAME}' header lacks SHARDID`);
  const table = file.readTable(index);
  const get = (c: string): ArrayLike<number> => numberColumn(table, c, name);
  const missing = new Float64Array(table.nrows).fill(NaN);
  const optional = (c: string): ArrayLike<number> => (findColumn(table, c) ? get(c) : missing);
  const ids = get('id'), ra = get('ra'), dec = get('dec'), raErr = optional('ra_err'), decErr = optional('dec_err');
  const per = (suffix: string): Record<Band, ArrayLike<number>> =>
    ({ g: optional(`g${suffix}`), r: optional(`r${suffix}`), i: optional(`i${suffix}`) });
  const mag = per('_ref'), magErr = per('_ref_err');
  const hasFlux = findColumn(table, 'r_flux') !== undefined;
  const flux = hasFlux ? per('_flux') : undefined, fluxErr = hasFlux ? per('_fluxErr') : undefined;
  const pick = (cols: Record<Band, ArrayLike<number>>, k: number): Record<Band, number> =>
    ({ g: cols.g[k]!, r: cols.r[k]!, i: cols.i[k]! });
  // AB fluxes of the magnitudes, and their first-order errors.
  const fromMag = (m: Record<Band, number>, e: Record<Band, number>, error: boolean): Record<Band, number> => {
    const one = (b: Band): number => (error ? (magToNanojansky(m[b]) * e[b]) / MAG_PER_LN : magToNanojansky(m[b]));
    return { g: one('g'), r: one('r'), i: one('i') };
  };
  const stars: ReferenceStar[] = [];
  for (let k = 0; k < table.nrows; k++) {
    const m = pick(mag, k), e = pick(magErr, k);
    stars.push({
      id: ids[k]!, ra: ra[k]!, dec: dec[k]!, raErr: raErr[k]!, decErr: decErr[k]!, mag: m, magErr: e,
      flux: flux ? pick(flux, k) : fromMag(m, e, false), fluxErr: fluxErr ? pick(fluxErr, k) : fromMag(m, e, true),
    });
  }
  return { id, stars };
}

/**
 * The reference stars within `radiusDeg` of (ra, dec): reads the covering shards through `shardBytes`
 * (file name -> bytes, or undefined for a shard that was never written because it holds no star).
 */
export function readReferenceCircle(
  shardBytes: (name: string) => Uint8Array | undefined,
  ra: number, dec: number, radiusDeg: number,
  shardSizeDeg: number = REFERENCE_DEFAULTS.shardSizeDeg,
): ReferenceStar[] {
  const out: ReferenceStar[] = [];
  for (const id of shardsCovering(ra, dec, radiusDeg, shardSizeDeg)) {
    const name = referenceShardFileName(id);
    const bytes = shardBytes(name);
    if (!bytes) continue;
    for (const s of readReferenceShard(name, bytes).stars) {
      if (angularDistanceDeg(ra, dec, s.ra, s.dec) <= radiusDeg) out.push(s);
    }
  }
  return out.sort((a, b) => a.id - b.id);
}
