// The reference catalogue (lib/sim/referenceCatalog.ts): which truth objects it holds, the stated error
// distributions (pulls of position and flux against the truth unit normal within 5 %), the colour terms,
// the shard scheme (every point of a circle falls in a covering shard), and the FITS round trip.
import { describe, expect, it } from 'vitest';
import { makeSkyCatalog } from '../../lib/sim/skyCatalog.js';
import {
  buildReferenceCatalog, writeReferenceShards, readReferenceShard, readReferenceCircle, shardsCovering, shardIdAt,
  referenceMagnitudes, positionErrorMas, magnitudeError, angularDistanceDeg, REFERENCE_COLOUR_TERMS, type ReferenceStar,
} from '../../lib/sim/referenceCatalog.js';
import { readFitsBytes } from '../../lib/fits/file.js';
import { Random } from '../../lib/sim/random.js';
import { BANDS, magToNanojansky } from '../../lib/sim/types.js';

const sky = makeSkyCatalog({ seed: 21, centerRa: 0.2, centerDec: 1.0, radiusDeg: 0.6, galacticLatitude: 20, magLimit: 23 });
const ref = buildReferenceCatalog(sky.objects, { seed: 21 });
const stars: ReferenceStar[] = ref.shards.flatMap((s) => s.stars);
const truth = new Map(sky.objects.map((o) => [o.id, o]));

const robustScatter = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const med = s[s.length >> 1]!;
  const dev = s.map((x) => Math.abs(x - med)).sort((a, b) => a - b);
  return 1.4826 * dev[dev.length >> 1]!;
};
function expectUnitNormal(pulls: number[], label: string): void {
  const n = pulls.length;
  const mean = pulls.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(pulls.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  expect(Math.abs(mean), `${label} mean`).toBeLessThan(0.05);
  expect(Math.abs(sd - 1), `${label} sd`).toBeLessThan(0.05);
  expect(Math.abs(robustScatter(pulls) - 1), `${label} robust scatter`).toBeLessThan(0.05);
}

describe('buildReferenceCatalog', () => {
  it('holds exactly the truth stars with true r_ref <= 21.5, no galaxies', () => {
    const expected = sky.objects.filter((o) => o.kind === 'star' && referenceMagnitudes(o.mag).r <= 21.5).map((o) => o.id).sort((a, b) => a - b);
    expect(stars.map((s) => s.id).sort((a, b) => a - b)).toEqual(expected);
    expect(ref.meta.nStars).toBe(expected.length);
    expect(expected.length).toBeGreaterThan(3000);
  });

  it('has position and flux errors with the stated model and unit-normal pulls', () => {
    const raPull: number[] = [], decPull: number[] = [];
    const fluxPull: Record<string, number[]> = { g: [], r: [], i: [] };
    const magPull: number[] = [];
    for (const s of stars) {
      const o = truth.get(s.id)!;
      const t = referenceMagnitudes(o.mag);
      expect(s.raErr).toBe(positionErrorMas(t.r));
      expect(s.decErr).toBe(s.raErr);
      let dRa = s.ra - o.ra;
      if (dRa > 180) dRa -= 360; else if (dRa < -180) dRa += 360;
      raPull.push((dRa * Math.cos((o.dec * Math.PI) / 180) * 3.6e6) / s.raErr);
      decPull.push(((s.dec - o.dec) * 3.6e6) / s.decErr);
      for (const b of BANDS) {
        const f0 = magToNanojansky(t[b]);
        expect(Math.abs(s.fluxErr[b] / (f0 * magnitudeError(t[b]) * Math.LN10 / 2.5) - 1)).toBeLessThan(1e-12);
        fluxPull[b]!.push((s.flux[b] - f0) / s.fluxErr[b]);
      }
      if (s.magErr.r < 0.05) magPull.push((s.mag.r - t.r) / s.magErr.r);
    }
    expectUnitNormal(raPull, 'ra');
    expectUnitNormal(decPull, 'dec');
    for (const b of BANDS) expectUnitNormal(fluxPull[b]!, `${b} flux`);
    expectUnitNormal(magPull, 'r mag');
    const errs = stars.map((s) => s.raErr);
    expect(Math.min(...errs)).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...errs)).toBeLessThanOrEqual(positionErrorMas(21.5) + 1e-12);
    expect(positionErrorMas(21.5)).toBeGreaterThan(6);
    expect(positionErrorMas(22)).toBeCloseTo(Math.hypot(0.5, 10), 12);
  });

  it('applies the stated colour terms', () => {
    const o = { g: 20.7, r: 20.0, i: 19.6 };
    const t = referenceMagnitudes(o);
    expect(t.g).toBeCloseTo(20.7 + REFERENCE_COLOUR_TERMS.g.coefficient * 0.7, 12);
    expect(t.r).toBeCloseTo(20.0 + REFERENCE_COLOUR_TERMS.r.coefficient * 0.7, 12);
    expect(t.i).toBeCloseTo(19.6 + REFERENCE_COLOUR_TERMS.i.coefficient * 0.4, 12);
    // The catalogue's g_ref - g grows with g - r with slope 0.08 (least squares over bright stars).
    const pts = stars.filter((s) => s.magErr.g < 0.02).map((s) => { const m = truth.get(s.id)!.mag; return [m.g - m.r, s.mag.g - m.g] as const; });
    const mx = pts.reduce((a, p) => a + p[0], 0) / pts.length, my = pts.reduce((a, p) => a + p[1], 0) / pts.length;
    let sxy = 0, sxx = 0;
    for (const [x, y] of pts) { sxy += (x - mx) * (y - my); sxx += (x - mx) ** 2; }
    expect(Math.abs(sxy / sxx - 0.08)).toBeLessThan(0.005);
  });

  it('is deterministic', () => {
    const again = buildReferenceCatalog(sky.objects, { seed: 21 });
    expect(again).toEqual(ref);
    const files = writeReferenceShards(ref), files2 = writeReferenceShards(again);
    files.forEach((f, k) => expect(Buffer.compare(Buffer.from(f.bytes), Buffer.from(files2[k]!.bytes))).toBe(0));
  });
});

describe('reference shards', () => {
  it('round-trips through FITS bytes with the stated columns and keywords', () => {
    const files = writeReferenceShards(ref);
    expect(files.length).toBe(ref.shards.length);
    expect(files.length).toBeGreaterThan(1); // the field crosses RA = 0
    files.forEach((f, k) => {
      expect(f.name).toBe(`refcat_${ref.shards[k]!.id}.fits`);
      expect(readReferenceShard(f.name, f.bytes)).toEqual(ref.shards[k]);
      const file = readFitsBytes(f.name, f.bytes);
      const hdu = file.hdu(file.indexOf('REFCAT'));
      expect(hdu.header.getNumber('EPOCH')).toBe(2016);
      expect(hdu.header.getNumber('CTERMG')).toBe(0.08);
      const table = file.readTable(hdu.index);
      expect(table.columns.map((c) => c.name)).toEqual([
        'id', 'ra', 'dec', 'ra_err', 'dec_err', 'g_ref', 'g_ref_err', 'r_ref', 'r_ref_err', 'i_ref', 'i_ref_err',
        'g_flux', 'g_fluxErr', 'r_flux', 'r_fluxErr', 'i_flux', 'i_fluxErr',
      ]);
      expect(table.columns.find((c) => c.name === 'ra_err')!.unit).toBe('mas');
      expect(table.columns.find((c) => c.name === 'g_flux')!.unit).toBe('nJy');
    });
  });

  it('covers every point of a circle, across RA = 0 and near the poles', () => {
    const rng = Random.stream(5, 'test', 'shards');
    for (const [ra, dec, radius] of [[0.1, 1, 0.6], [359.7, -45, 2.5], [180, 88.7, 1.5], [45, -89.5, 0.8], [200, 60, 3]] as const) {
      const cover = new Set(shardsCovering(ra, dec, radius));
      for (let k = 0; k < 4000; k++) {
        // A uniform point in the cap.
        const cosT = 1 - rng.uniform() * (1 - Math.cos((radius * Math.PI) / 180));
        const t = Math.acos(cosT), phi = 2 * Math.PI * rng.uniform();
        const d = (dec * Math.PI) / 180, a = (ra * Math.PI) / 180;
        const x = cosT * Math.cos(d) * Math.cos(a) + Math.sin(t) * (Math.cos(phi) * -Math.sin(d) * Math.cos(a) - Math.sin(phi) * Math.sin(a));
        const y = cosT * Math.cos(d) * Math.sin(a) + Math.sin(t) * (Math.cos(phi) * -Math.sin(d) * Math.sin(a) + Math.sin(phi) * Math.cos(a));
        const z = cosT * Math.sin(d) + Math.sin(t) * Math.cos(phi) * Math.cos(d);
        const pRa = (Math.atan2(y, x) * 180) / Math.PI, pDec = (Math.asin(z) * 180) / Math.PI;
        expect(angularDistanceDeg(ra, dec, pRa, pDec)).toBeLessThanOrEqual(radius + 1e-9);
        expect(cover.has(shardIdAt(pRa, pDec)), `(${pRa}, ${pDec}) in circle (${ra}, ${dec}, ${radius})`).toBe(true);
      }
      // A superset, but not the sky: at most the shards of the circle's bounding box plus a ring.
      expect(cover.size).toBeLessThan(dec > 85 || dec < -85 ? 2000 : 80);
    }
  });

  it('reads the stars of a circle from the covering shards', () => {
    const files = new Map(writeReferenceShards(ref).map((f) => [f.name, f.bytes]));
    const got = readReferenceCircle((name) => files.get(name), 0.05, 0.9, 0.25);
    const want = stars.filter((s) => angularDistanceDeg(0.05, 0.9, s.ra, s.dec) <= 0.25).sort((a, b) => a.id - b.id);
    expect(want.length).toBeGreaterThan(100);
    expect(got).toEqual(want);
  });
});
