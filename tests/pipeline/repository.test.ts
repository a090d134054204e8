// The data repository end to end, as a user runs it (`node dist/node/cli.js`): repo create, ingest of a
// tiny simulated dataset (counts per type equal the manifest's, dimension records from the raw headers),
// idempotent and conflicting re-ingest, query with --where and --json, bad inputs that register
// nothing, remove-runs, and a registry schema newer than this tessera.
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { testOutputDir } from '../helpers/paths.js';
import { readFitsBytes } from '../../lib/fits/file.js';
import { writeFits } from '../../lib/fits/writer.js';
import { Repository } from '../../node/repository/repository.js';
import { tessera } from '../helpers/cli.js';
import { SCHEMA_VERSION } from '../../node/repository/sqliteSchema.js';

const out = testOutputDir('repository');
const sim = path.join(out, 'sim');
const repo = path.join(out, 'repo');

interface Manifest { instrument: string; files: { path: string; datasetType: string; dataId: Record<string, string | number> }[] }
interface QueryRow { id: string; datasetType: string; run: string; dataId: Record<string, string | number>; path: string; size: number; checksum: string }

function query(root: string, ...args: string[]): QueryRow[] {
  const r = tessera('query', root, '--json', ...args);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as QueryRow[];
}

function countByType(rows: { datasetType: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of rows) counts[r.datasetType] = (counts[r.datasetType] ?? 0) + 1;
  return counts;
}

/** A copy of the simulated dataset to damage. */
function copyOfSim(name: string): string {
  const dir = path.join(out, name);
  fs.cpSync(sim, dir, { recursive: true });
  return dir;
}

/** Files of a repository other than its registry and configuration. */
function datastoreFiles(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(root, f)).isFile() && !f.startsWith('registry.sqlite3') && f !== 'tessera-repo.json');
}

let manifest: Manifest;

beforeAll(() => {
  const r = tessera('sim', sim, '--preset', 'tiny', '--bands', 'g,r', '--visits', '1', '--width', '128', '--height', '256');
  expect(r.status, r.stderr).toBe(0);
  manifest = JSON.parse(fs.readFileSync(path.join(sim, 'manifest.json'), 'utf8')) as Manifest;
});

describe('tessera repo, ingest, query, remove-runs', () => {
  it('lists the repository commands in --help', () => {
    const r = tessera('--help');
    for (const name of ['repo', 'ingest', 'query', 'remove-runs']) expect(r.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
  });

  it('creates a repository with an SQLite registry, and refuses an existing one or another registry kind', () => {
    const r = tessera('repo', 'create', repo);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`schema version ${SCHEMA_VERSION}`);
    expect(fs.existsSync(path.join(repo, 'registry.sqlite3'))).toBe(true);
    const db = new Database(path.join(repo, 'registry.sqlite3'), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    const again = tessera('repo', 'create', repo);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`${repo}: already a Tessera repository`);
    const pg = tessera('repo', 'create', path.join(out, 'pg'), '--registry', 'postgresql://host/db');
    expect(pg.status).toBe(2);
    expect(pg.stderr).toMatch(/the 'postgresql' registry is not supported by this tessera; supported: sqlite:PATH/);
  });

  it('ingests the simulated dataset: every file, with dimension records read from the raws', async () => {
    const r = tessera('ingest', repo, sim);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`ingested ${manifest.files.length} datasets \\(${manifest.files.length} linked, 0 copied\\)`));
    const rows = query(repo);
    expect(countByType(rows)).toEqual(countByType(manifest.files));
    expect(rows.length).toBe(manifest.files.length);
    // Files are hard links of the sources (same file system), with their sizes and checksums.
    const raw = rows.find((row) => row.datasetType === 'raw' && row.dataId.exposure === 1000 && row.dataId.detector === 0)!;
    expect(raw.path).toBe('HSC-SIM/raw/all/raw/g/raw_HSC-SIM_1000_0.fits');
    expect(fs.statSync(path.join(repo, raw.path)).ino).toBe(fs.statSync(path.join(sim, 'raw/g/raw-1000-0.fits')).ino);
    expect(raw.size).toBe(fs.statSync(path.join(sim, 'raw/g/raw-1000-0.fits')).size);

    const info = JSON.parse(tessera('repo', 'info', repo, '--json').stdout) as { collections: { name: string; type: string; children?: string[] }[] };
    expect(info.collections).toContainEqual({ name: 'HSC-SIM/defaults', type: 'CHAINED', children: ['HSC-SIM/raw/all', 'HSC-SIM/calib', 'refcats', 'skymaps'] });
    for (const run of ['HSC-SIM/raw/all', 'refcats', 'skymaps', 'HSC-SIM/truth']) expect(info.collections).toContainEqual({ name: run, type: 'RUN' });
    expect(info.collections).toContainEqual({ name: 'HSC-SIM/calib', type: 'CALIBRATION' });

    const opened = await Repository.open(repo);
    const exposures = await opened.registry.dimensionRecords('exposure');
    expect(exposures.length).toBe(new Set(manifest.files.filter((f) => f.datasetType === 'raw').map((f) => f.dataId.exposure)).size);
    const header = readFitsBytes('raw', fs.readFileSync(path.join(sim, 'raw/r/raw-1001-1.fits'))).hdu(0).header;
    expect(exposures.find((e) => e.id === 1001)).toEqual({
      instrument: 'HSC-SIM', id: 1001, observation_type: 'science', physical_filter: 'HSC-R', band: 'r',
      date_obs: header.getString('DATE-OBS'), mjd: header.getNumber('MJD-OBS'), exposure_time: header.getNumber('EXPTIME'),
    });
    expect(exposures.find((e) => e.id === 90000)).toMatchObject({ observation_type: 'bias', physical_filter: null, band: null });
    expect((await opened.registry.dimensionRecords('visit')).map((v) => v.id)).toEqual([1000, 1001]);
    expect((await opened.registry.dimensionRecords('detector')).length).toBe(2);
    expect((await opened.registry.dimensionRecords('physical_filter')).map((f) => f.name)).toEqual(['HSC-G', 'HSC-I', 'HSC-R']);
    const tracts = await opened.registry.dimensionRecords('tract');
    expect(tracts.length).toBe(1);
    expect((await opened.registry.dimensionRecords('patch')).length).toBe(Number(tracts[0]!.num_patches_x) * Number(tracts[0]!.num_patches_y));
    // The camera is found through the defaults chain (certified with unbounded validity in HSC-SIM/calib).
    const camera = await opened.get('camera', { instrument: 'HSC-SIM' }, ['HSC-SIM/defaults']);
    expect(new TextDecoder().decode(camera.bytes)).toBe(fs.readFileSync(path.join(sim, 'camera.yaml'), 'utf8'));
    await opened.close();
    expect(tessera('repo', 'verify', repo).status).toBe(0);
  });

  it('skips what is already registered when the same folder is ingested again', () => {
    const r = tessera('ingest', repo, sim);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`ingested 0 datasets (0 linked, 0 copied), skipped ${manifest.files.length} already registered`);
    expect(r.stdout).toMatch(/raw +0 ingested, 40 already registered \(skipped\)/);
    expect(query(repo).length).toBe(manifest.files.length);
  });

  it('refuses a different file for a registered data ID, naming it, and registers nothing', async () => {
    const dir = copyOfSim('sim-conflict');
    const file = path.join(dir, 'raw/g/raw-1000-1.fits');
    const fits = readFitsBytes(file, fs.readFileSync(file));
    const image = fits.readImage(0);
    const header = fits.hdu(0).header.clone();
    header.set('OBJECT', 'ELSEWHERE');
    fs.writeFileSync(file, writeFits([{ kind: 'image', data: image.data, shape: image.shape, header }], { checksum: true }));
    const before = query(repo);
    const r = tessera('ingest', repo, dir, '--transfer', 'copy');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${file}: raw {instrument: 'HSC-SIM', band: 'g', physical_filter: 'HSC-G', detector: 1, exposure: 1000, visit: 1000, observation_type: 'science'} is already in run 'HSC-SIM/raw/all' with different content`);
    expect(query(repo)).toEqual(before);
    const opened = await Repository.open(repo);
    expect(await opened.listOrphanFiles()).toEqual([]);
    await opened.close();
  });

  it('queries by type, collections and --where, as a table or JSON, with injection kept a literal', async () => {
    const rows = query(repo, '--type', 'raw', '--where', "band='g' AND visit IN (1000,1001)");
    expect(rows.map((r) => [r.dataId.band, r.dataId.visit, r.dataId.detector])).toEqual([['g', 1000, 0], ['g', 1000, 1]]);
    expect(countByType(query(repo, '--collections', 'HSC-SIM/defaults'))).toEqual({ camera: 1, raw: 40, refCat: 1, skyMap: 1 });
    expect(query(repo, '--where', "band = 'g'' OR 1=1 --'")).toEqual([]);
    const opened = await Repository.open(repo);
    expect((await opened.queryDatasets({ where: "observation_type = 'flat' AND band = 'r' AND detector = 0" })).length).toBe(5);
    expect(countByType(await opened.queryDatasets({ collections: ['HSC-SIM/truth'], datasetTypes: ['truth', 'truth_catalog'] }))).toEqual({ truth: 4, truth_catalog: 1 });
    await expect(opened.queryDatasets({ where: 'vist = 1000' })).rejects.toThrow(/unknown data ID key 'vist'/);
    await expect(opened.queryDatasets({ collections: ['nope'] })).rejects.toThrow("no collection 'nope'");
    await opened.close();
    // Quotes that try to close the literal early leave an expression that does not parse: nothing runs.
    const escaped = tessera('query', repo, '--where', "band = 'g') OR (1=1");
    expect(escaped.status).toBe(2);
    expect(escaped.stderr).toContain("--where: expected AND, OR or the end of the expression, found ')' at position 11");

    const table = tessera('query', repo, '--type', 'skyMap,refCat');
    expect(table.status).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^type +run +data ID +path +size$/);
    expect(table.stdout).toMatch(/^skyMap +skymaps +\{skymap: 'simSkyMap'\} +skymaps\/skyMap\/skyMap_simSkyMap\.json +\d+$/m);
    expect(table.stdout).toContain('2 dataset(s)');

    const bad = tessera('query', repo, '--where', "band = 'g' AND (visit = 1000");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--where: expected ')', found the end of the expression at position 29:\n  band = 'g' AND (visit = 1000\n                              ^");
    const unknownType = tessera('query', repo, '--type', 'calexp');
    expect(unknownType.status).toBe(1);
    expect(unknownType.stderr).toContain("dataset type 'calexp' is not registered");
  });

  it('gives a clear error for a bad input and registers nothing, leaving no files behind', async () => {
    const fresh = path.join(out, 'repo-bad-inputs');
    expect(tessera('repo', 'create', fresh).status).toBe(0);
    const empty = path.join(out, 'empty');
    fs.mkdirSync(empty);
    const noManifest = tessera('ingest', fresh, empty);
    expect(noManifest.status).toBe(1);
    expect(noManifest.stderr).toContain(`${path.join(empty, 'manifest.json')}: not found`);

    const missing = copyOfSim('sim-missing');
    fs.rmSync(path.join(missing, 'truth/r/truth-1001-0.fits'));
    const r1 = tessera('ingest', fresh, missing);
    expect(r1.status).toBe(1);
    expect(r1.stderr).toContain(`are missing: ${path.join(missing, 'truth/r/truth-1001-0.fits')}`);

    const truncated = copyOfSim('sim-truncated');
    const raw = path.join(truncated, 'raw/r/raw-1001-0.fits');
    fs.truncateSync(raw, 1000);
    const r2 = tessera('ingest', fresh, truncated);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain(`cannot read ${raw} [HDU 0]: header is truncated`);

    // A failure while files are being brought in: those already in are removed.
    fs.writeFileSync(path.join(fresh, 'refcats'), 'a file where the refcats run folder must go');
    const r3 = tessera('ingest', fresh, sim);
    expect(r3.status).toBe(1);
    expect(r3.stderr).toMatch(/cannot bring .*refcat_\d+\.fits into the datastore as refcats\/refCat\/refCat_\d+\.fits/);

    expect(query(fresh)).toEqual([]);
    expect(datastoreFiles(fresh)).toEqual(['refcats']);
    const opened = await Repository.open(fresh);
    expect(await opened.registry.listCollections()).toEqual([]);
    expect(await opened.registry.dimensionRecords('exposure')).toEqual([]);
    await opened.close();
  });

  it('removes runs with their files and drops them from chains; a missing run is an error', () => {
    const missing = tessera('remove-runs', repo, 'refcats', 'no/such/run');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("no collection 'no/such/run'");
    const chained = tessera('remove-runs', repo, 'HSC-SIM/defaults');
    expect(chained.stderr).toContain("'HSC-SIM/defaults' is a CHAINED collection, not a RUN");
    expect(query(repo, '--type', 'refCat').length).toBe(1);

    const r = tessera('remove-runs', repo, 'refcats', 'HSC-SIM/truth');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('removed run refcats: 1 dataset(s)');
    expect(r.stdout).toContain('removed run HSC-SIM/truth: 5 dataset(s)');
    expect(fs.existsSync(path.join(repo, 'refcats'))).toBe(false);
    expect(fs.existsSync(path.join(repo, 'HSC-SIM', 'truth'))).toBe(false);
    expect(countByType(query(repo))).toEqual({ camera: 1, raw: 40, skyMap: 1 });
    const info = JSON.parse(tessera('repo', 'info', repo, '--json').stdout) as { collections: { name: string; children?: string[] }[] };
    expect(info.collections.find((c) => c.name === 'HSC-SIM/defaults')!.children).toEqual(['HSC-SIM/raw/all', 'HSC-SIM/calib', 'skymaps']);
    expect(tessera('repo', 'verify', repo).status).toBe(0);

    // Ingesting again brings the removed runs back and the chain regains refcats (at its end).
    const again = tessera('ingest', repo, sim);
    expect(again.stdout).toContain('ingested 6 datasets');
    const after = JSON.parse(tessera('repo', 'info', repo, '--json').stdout) as { collections: { name: string; children?: string[] }[] };
    expect(after.collections.find((c) => c.name === 'HSC-SIM/defaults')!.children).toEqual(['HSC-SIM/raw/all', 'HSC-SIM/calib', 'skymaps', 'refcats']);
  });

  it('refuses a registry whose schema is newer than this tessera, naming the repository and both versions', () => {
    const newer = path.join(out, 'repo-newer');
    expect(tessera('repo', 'create', newer).status).toBe(0);
    const db = new Database(path.join(newer, 'registry.sqlite3'));
    db.prepare('UPDATE registry_meta SET value = ? WHERE key = \'schema_version\'').run(String(SCHEMA_VERSION + 1));
    db.close();
    const r = tessera('query', newer);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${newer}: registry schema version ${SCHEMA_VERSION + 1} is newer than this tessera supports (version ${SCHEMA_VERSION})`);
  });
});
