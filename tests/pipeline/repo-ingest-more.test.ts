// `tessera ingest-raws`, `ingest-refcat` and `make-skymap` as a user runs them (dist/node/cli.js):
// a real SAAO raw through a hand-written camera description, a CSV and the real Gaia chunk sharded into
// refCat datasets, and a sky map covering the raws of a tiny simulated dataset.
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { realFile, testOutputDir } from '../helpers/paths.js';
import { readFitsBytes, writeFits } from '../../lib/fits/index.js';
import { findColumn } from '../../lib/fits/bintable.js';
import { parseWcs } from '../../lib/wcs/index.js';
import { shardIdAt } from '../../lib/sim/referenceCatalog.js';
import { skyMapFromJson, tractWcs } from '../../lib/skymap/index.js';
import { tessera } from '../helpers/cli.js';
import { withRepo } from '../helpers/repository.js';
import { writeSaaoCamera } from '../helpers/saaoCamera.js';

const out = testOutputDir('repo-ingest-more');
const saao = realFile('saao_raw_overscan/a8280271.fits');
const gaia = realFile('decam_legacypipe_testcase6/gaia/chunk-03559.fits');

function newRepo(name: string): string {
  const root = path.join(out, name);
  const r = tessera('repo', 'create', root);
  expect(r.status, r.stderr).toBe(0);
  return root;
}

describe('tessera ingest-raws (a real instrument through a camera description)', () => {
  const camera = path.join(out, 'saao.yaml');
  beforeAll(() => writeSaaoCamera(camera));

  it('lists the new commands in --help', () => {
    const r = tessera('--help');
    for (const name of ['ingest-raws', 'ingest-refcat', 'make-skymap']) expect(r.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
  });

  it('registers the SAAO raw with its exposure record from the header', async () => {
    const root = newRepo('raws');
    const r = tessera('ingest-raws', root, '--camera', camera, saao);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('ingested 1 raws of 1 exposure(s) of SAAO-STE3 into SAAO-STE3/raw/all');
    const header = readFitsBytes(saao, fs.readFileSync(saao)).hdu(0).header;
    await withRepo(root, async (repo) => {
      const raws = await repo.queryDatasets({ datasetTypes: ['raw'], collections: ['SAAO-STE3/raw/all'] });
      expect(raws).toHaveLength(1);
      expect(raws[0]!.dataId).toEqual({ instrument: 'SAAO-STE3', band: '48', physical_filter: '48', detector: 0, exposure: 8280271, observation_type: 'science' });
      expect(fs.readFileSync(repo.getPath(raws[0]!))).toEqual(fs.readFileSync(saao));
      const exposure = (await repo.registry.dimensionRecords('exposure')).find((e) => e.id === 8280271)!;
      expect(exposure.date_obs).toBe(header.getString('DATE-OBS'));
      expect(exposure.exposure_time).toBe(header.getNumber('EXPTIME'));
      expect(exposure.mjd).toBe(header.getNumber('MJD-OBS'));
      expect(await repo.registry.dimensionRecords('physical_filter')).toEqual(expect.arrayContaining([
        { instrument: 'SAAO-STE3', name: '48', band: '48' }, { instrument: 'SAAO-STE3', name: 'R', band: 'r' },
      ]));
      const cameraRef = await repo.findDataset('camera', { instrument: 'SAAO-STE3' }, ['SAAO-STE3/calib'], { timeMjd: 56486 });
      expect(fs.readFileSync(repo.getPath(cameraRef!), 'utf8')).toBe(fs.readFileSync(camera, 'utf8'));
    });
    const again = tessera('ingest-raws', root, '--camera', camera, saao);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('ingested 0 raws');
  });

  it('computes the MJD from DATE-OBS when MJD-OBS is absent', async () => {
    const bytes = fs.readFileSync(saao);
    const fits = readFitsBytes(saao, bytes);
    const header = fits.hdu(0).header.clone();
    header.delete('MJD-OBS');
    header.set('DATE-OBS', '2013-07-13T00:57:33');
    const file = path.join(out, 'a8280272.fits');
    fs.writeFileSync(file, writeFits([{ kind: 'image', data: fits.readImage(0).data, shape: [520, 536], header }]));
    const root = newRepo('raws-mjd');
    const r = tessera('ingest-raws', root, '--camera', camera, file);
    expect(r.status, r.stderr).toBe(0);
    await withRepo(root, async (repo) => {
      const exposure = (await repo.registry.dimensionRecords('exposure')).find((e) => e.id === 8280272)!;
      expect(exposure.date_obs).toBe('2013-07-13T00:57:33');
      expect(exposure.mjd as number).toBeCloseTo(56486 + (57 * 60 + 33) / 86400, 9);
    });
  });

  it('refuses a raw of the wrong size or without a required keyword, naming the file and keyword, and registers nothing', async () => {
    const root = newRepo('raws-bad');
    const wrongCamera = path.join(out, 'saao-wide.yaml');
    writeSaaoCamera(wrongCamera, 544);
    const size = tessera('ingest-raws', root, '--camera', wrongCamera, saao);
    expect(size.status).toBe(1);
    expect(size.stderr).toContain(`${saao}: HDU 0 is 536x520, but detector 0 (STE3) has a 544x520 raw`);

    const fits = readFitsBytes(saao, fs.readFileSync(saao));
    const header = fits.hdu(0).header.clone();
    header.delete('EXPTIME');
    const noExptime = path.join(out, 'a8280273.fits');
    fs.writeFileSync(noExptime, writeFits([{ kind: 'image', data: fits.readImage(0).data, shape: [520, 536], header }]));
    const missing = tessera('ingest-raws', root, '--camera', camera, saao, noExptime);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`${noExptime}: header (HDU 0) has no EXPTIME`);

    const notFits = path.join(out, 'notfits.fits');
    fs.writeFileSync(notFits, 'not a FITS file');
    const unreadable = tessera('ingest-raws', root, '--camera', camera, notFits);
    expect(unreadable.status).toBe(1);
    expect(unreadable.stderr).toContain(notFits);
    await withRepo(root, async (repo) => {
      expect(await repo.queryDatasets({})).toEqual([]);
      expect(await repo.registry.dimensionRecords('exposure')).toEqual([]);
    });
  });
});

describe('tessera ingest-refcat', () => {
  it('shards a CSV and round-trips a star; a bad row names the line and column', async () => {
    const root = newRepo('refcat-csv');
    const csv = path.join(out, 'stars.csv');
    const rows = [[10.5, 0.2, 17.25, 0.01], [10.6, 0.3, 18.5, 0.02], [200.1, -45.5, 15, ''], [359.9, 89.99, 20.125, 0.1]];
    fs.writeFileSync(csv, `ra,dec,gmag,gerr\n${rows.map((r) => r.join(',')).join('\n')}\n`);
    const r = tessera('ingest-refcat', root, csv, '--ra', 'ra', '--dec', 'dec', '--mag', 'g=gmag', '--mag-err', 'g=gerr', '--name', 'mine');
    expect(r.status, r.stderr).toBe(0);
    const expected = new Map<number, number>();
    for (const [ra, dec] of rows) expected.set(shardIdAt(ra as number, dec as number), (expected.get(shardIdAt(ra as number, dec as number)) ?? 0) + 1);
    expect(expected.size).toBe(3);
    await withRepo(root, async (repo) => {
      const refs = await repo.queryDatasets({ datasetTypes: ['refCat'], collections: ['refcats/mine'] });
      const counts = new Map(refs.map((ref) => [ref.dataId.htm as number, readFitsBytes('s', repo.getBytes(ref)).readTable(1).nrows]));
      expect(counts).toEqual(expected);
      const ref = refs.find((x) => x.dataId.htm === shardIdAt(200.1, -45.5))!;
      const table = readFitsBytes('s', repo.getBytes(ref)).readTable(1);
      expect(findColumn(table, 'ra')!.values[0]).toBe(200.1);
      expect(findColumn(table, 'dec')!.values[0]).toBe(-45.5);
      expect(findColumn(table, 'g_ref')!.values[0]).toBe(15);
      expect(Number.isNaN(findColumn(table, 'g_ref_err')!.values[0])).toBe(true);
      expect(findColumn(table, 'id')!.values[0]).toBe(3);
    });

    const bad = path.join(out, 'bad.csv');
    fs.writeFileSync(bad, 'ra,dec,gmag\n1,2,17\n3,abc,18\n');
    const b1 = tessera('ingest-refcat', root, bad, '--ra', 'ra', '--dec', 'dec', '--mag', 'g=gmag');
    expect(b1.status).toBe(1);
    expect(b1.stderr).toContain(`${bad}: line 3, column 'dec': 'abc' is not a number`);
    fs.writeFileSync(bad, 'ra,dec,gmag\n1,2,17\n3,95,18\n');
    const b2 = tessera('ingest-refcat', root, bad, '--ra', 'ra', '--dec', 'dec', '--mag', 'g=gmag');
    expect(b2.status).toBe(1);
    expect(b2.stderr).toContain(`${bad}: line 3, column 'dec': Dec 95 is outside [-90, 90] degrees`);
    const parquet = tessera('ingest-refcat', root, path.join(out, 'x.parquet'), '--ra', 'ra', '--dec', 'dec', '--mag', 'g=gmag');
    expect(parquet.status).toBe(1);
    expect(parquet.stderr).toContain('Parquet tables cannot be read by this tessera');
    await withRepo(root, async (repo) => expect((await repo.queryDatasets({})).map((x) => x.run)).toEqual(['refcats/mine', 'refcats/mine', 'refcats/mine']));
  });

  it('shards the real Gaia chunk: counts per shard and a star round-trip', async () => {
    const root = newRepo('refcat-gaia');
    const r = tessera('ingest-refcat', root, gaia, '--ra', 'ra', '--dec', 'dec', '--mag', 'G=phot_g_mean_mag');
    expect(r.status, r.stderr).toBe(0);
    const source = readFitsBytes(gaia, fs.readFileSync(gaia)).readTable(1);
    const ra = findColumn(source, 'ra')!.values as Float64Array;
    const dec = findColumn(source, 'dec')!.values as Float64Array;
    const g = findColumn(source, 'phot_g_mean_mag')!.values as Float32Array;
    expect(source.nrows).toBe(113);
    const expected = new Map<number, number>();
    for (let i = 0; i < source.nrows; i++) expected.set(shardIdAt(ra[i]!, dec[i]!), (expected.get(shardIdAt(ra[i]!, dec[i]!)) ?? 0) + 1);
    expect(r.stdout).toContain(`ingested 113 stars in ${expected.size} shard(s) into run refcats`);
    await withRepo(root, async (repo) => {
      const refs = await repo.queryDatasets({ datasetTypes: ['refCat'], collections: ['refcats'] });
      const tables = new Map(refs.map((ref) => [ref.dataId.htm as number, readFitsBytes('s', repo.getBytes(ref)).readTable(1)]));
      expect(new Map([...tables].map(([id, t]) => [id, t.nrows]))).toEqual(expected);
      for (const k of [0, 56, 112]) {
        const t = tables.get(shardIdAt(ra[k]!, dec[k]!))!;
        const ids = findColumn(t, 'id')!.values as Int32Array;
        const j = ids.indexOf(k + 1);
        expect(j).toBeGreaterThanOrEqual(0);
        expect(findColumn(t, 'ra')!.values[j]).toBe(ra[k]);
        expect(findColumn(t, 'dec')!.values[j]).toBe(dec[k]);
        const mag = findColumn(t, 'G_ref')!.values[j] as number;
        if (Number.isNaN(g[k]!)) expect(Number.isNaN(mag)).toBe(true);
        else expect(mag).toBe(g[k]);
      }
    });
  });
});

describe('tessera make-skymap', () => {
  it('makes a tract covering every raw corner of a simulated dataset', async () => {
    const sim = path.join(out, 'sim');
    const s = tessera('sim', sim, '--preset', 'tiny', '--bands', 'g,r', '--visits', '1', '--width', '128', '--height', '256');
    expect(s.status, s.stderr).toBe(0);
    const root = newRepo('skymap');
    const i = tessera('ingest', root, sim);
    expect(i.status, i.stderr).toBe(0);
    const r = tessera('make-skymap', root, '--around', 'HSC-SIM/raw/all', '--name', 'around', '--patch-size', '500', '--patch-border', '20');
    expect(r.status, r.stderr).toBe(0);
    await withRepo(root, async (repo) => {
      const ref = await repo.findDataset('skyMap', { skymap: 'around' }, ['skymaps']);
      const skyMap = skyMapFromJson(Buffer.from(repo.getBytes(ref!)).toString('utf8'));
      expect(skyMap.tracts).toHaveLength(1);
      const tract = skyMap.tracts[0]!;
      const wcs = tractWcs(tract);
      const raws = (await repo.queryDatasets({ datasetTypes: ['raw'], collections: ['HSC-SIM/raw/all'] })).filter((x) => x.dataId.observation_type === 'science');
      expect(raws.length).toBeGreaterThanOrEqual(2);
      for (const raw of raws) {
        const hdu = readFitsBytes('raw', repo.getBytes(raw)).hdu(0);
        const rawWcs = parseWcs(hdu.header)!;
        const [ny, nx] = hdu.shape as [number, number];
        for (const [x, y] of [[-0.5, -0.5], [nx - 0.5, -0.5], [-0.5, ny - 0.5], [nx - 0.5, ny - 0.5]] as const) {
          const [ra, dec] = rawWcs.pixelToSky(x, y);
          const [tx, ty] = wcs.skyToPixel(ra, dec);
          expect(tx).toBeGreaterThan(-0.5);
          expect(tx).toBeLessThan(tract.width - 0.5);
          expect(ty).toBeGreaterThan(-0.5);
          expect(ty).toBeLessThan(tract.height - 0.5);
        }
      }
      const patches = (await repo.registry.dimensionRecords('patch')).filter((p) => p.skymap === 'around');
      expect(patches).toHaveLength(tract.numPatchesX * tract.numPatchesY);
      expect((await repo.registry.dimensionRecords('tract')).filter((t) => t.skymap === 'around')).toEqual([expect.objectContaining({ id: 0, width: tract.width, height: tract.height })]);
    });
    const noWcs = tessera('make-skymap', root, '--around', 'nothing');
    expect(noWcs.status).toBe(1);
    expect(noWcs.stderr).toContain("no collection 'nothing'");
  });
});
