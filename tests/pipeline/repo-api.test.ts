// The repository API (node/repository): hostile data ID values stay inside the repository, a quantum's
// outputs and provenance are registered together or not at all (a SIGKILL between the writes and the
// commit, a failed write, a failing hook), calibration collections and chains, schema migration and
// refusal, registry URLs, two processes writing at once, and run removal.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { repoRoot, testOutputDir } from '../helpers/paths.js';
import { Repository, type QuantumProvenance } from '../../node/repository/repository.js';
import { escapePathValue } from '../../node/repository/pathTemplate.js';
import { MIGRATIONS, SCHEMA_VERSION, VERSION_0_TABLES } from '../../node/repository/sqliteSchema.js';
import type { DatasetType } from '../../node/repository/datasetTypes.js';
import { tessera } from '../helpers/cli.js';

const out = testOutputDir('repo-api');
const VERSION = '0.1.0';

const BLOB: DatasetType = {
  name: 'blob', dimensions: ['instrument', 'band', 'physical_filter'], implied: [], storageClass: 'Bytes',
  pathTemplate: '{run}/{datasetType}/{band}/{physical_filter}/{datasetType}_{instrument}.dat',
};
const FLAT: DatasetType = {
  name: 'flat', dimensions: ['instrument', 'detector', 'physical_filter'], implied: ['band'], storageClass: 'Bytes',
  pathTemplate: '{run}/{datasetType}/{datasetType}_{instrument}_{physical_filter}_{detector}.dat',
};

function provenance(run: string, inputs: string[] = []): QuantumProvenance {
  const now = new Date().toISOString();
  return {
    run, task: 'testTask', dataId: { instrument: 'X' }, configHash: 'c'.repeat(64), softwareVersion: VERSION, host: os.hostname(),
    startedAt: now, endedAt: now, status: 'succeeded', threadCpuUserSeconds: 0.25, threadCpuSystemSeconds: 0.05,
    wasmMemoryPeakBytes: 1 << 20, rssPeakBytes: 64 << 20, error: null, inputs,
  };
}

async function newRepository(name: string): Promise<Repository> {
  return Repository.create(path.join(out, name), { softwareVersion: VERSION });
}

function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

/** A Node script that opens the repository at argv[2] and writes blob outputs (see the cases below). */
const WORKER = `
import { Repository } from ${JSON.stringify(pathToFileURL(path.join(repoRoot, 'dist', 'node', 'repository', 'repository.js')).href)};
import os from 'node:os';
const [root, mode, run, count] = process.argv.slice(2);
let written = 0;
const hooks = mode === 'crash' ? { afterFileWritten() { if (++written === 2) process.kill(process.pid, 'SIGKILL'); } } : {};
const repo = await Repository.open(root, { hooks });
const now = new Date().toISOString();
for (let i = 0; i < Number(count); i++) {
  const outputs = [0, 1, 2].map((k) => ({ datasetType: 'blob', dataId: { instrument: 'X', band: run + '-' + i, physical_filter: 'f' + k }, bytes: new TextEncoder().encode(run + i + k) }));
  await repo.putQuantumOutputs({ run, task: 'worker', dataId: { instrument: 'X', visit: i }, configHash: 'c'.repeat(64), softwareVersion: '0', host: os.hostname(),
    startedAt: now, endedAt: now, status: 'succeeded', threadCpuUserSeconds: null, threadCpuSystemSeconds: null, wasmMemoryPeakBytes: null, rssPeakBytes: null, error: null, inputs: [] }, outputs);
}
await repo.close();
`;
const workerScript = path.join(out, 'worker.mjs');
fs.writeFileSync(workerScript, WORKER);

describe('repository API', () => {
  it('escapes hostile data ID values so that every file lies under the repository and all stay distinct', async () => {
    expect(escapePathValue('..')).toBe('%2E.');
    expect(escapePathValue('')).toBe('%');
    expect(escapePathValue('a/b c,d')).toBe('a%2Fb%20c%2Cd');
    expect(escapePathValue('é')).toBe('%C3%A9');
    expect(escapePathValue('.hidden')).toBe('%2Ehidden');

    const repo = await newRepository('hostile');
    const hostile = ['..', '../..', '../../../etc/passwd', '/abs/path', 'a/b', 'a,b c', 'é漢字 🌌', '', '.', '.hidden', '%2F', '%',
      '\\..\\..', 'x'.repeat(400), 'ü'.repeat(150), 'nul\u0000byte', 'new\nline', '.tessera-tmp-1-abc', 'registry.sqlite3', 'tessera-repo.json'];
    const run = '../../escape/../run name';
    const outputs = hostile.map((v, i) => ({
      datasetType: 'blob', dataId: { instrument: v, band: v, physical_filter: `${v}${i}` }, bytes: new TextEncoder().encode(`value ${i}: ${v}`),
    }));
    const refs = await repo.putQuantumOutputs(provenance(run), outputs, { datasetTypes: [BLOB] });
    expect(refs.length).toBe(hostile.length);
    expect(new Set(refs.map((r) => r.path)).size).toBe(hostile.length);
    const parent = path.dirname(repo.root);
    for (const [i, ref] of refs.entries()) {
      const file = repo.getPath(ref);
      expect(file.startsWith(repo.root + path.sep), ref.path).toBe(true);
      expect(path.relative(repo.root, fs.realpathSync(file)).split(path.sep)).not.toContain('..');
      for (const segment of ref.path.split('/')) {
        expect(segment.startsWith('.'), ref.path).toBe(false);
        expect(Buffer.byteLength(segment), ref.path).toBeLessThanOrEqual(255);
      }
      expect(new TextDecoder().decode(repo.getBytes(ref))).toBe(`value ${i}: ${hostile[i]}`);
      expect(ref.dataId.band).toBe(hostile[i]);
    }
    // Nothing was written beside the repository, and every file in it is a registered dataset or its own.
    expect(fs.readdirSync(parent).sort()).toEqual(['hostile', 'worker.mjs'].filter((n) => fs.existsSync(path.join(parent, n))).sort());
    expect(filesUnder(repo.root).filter((f) => !f.startsWith('registry.sqlite3') && f !== 'tessera-repo.json').length).toBe(hostile.length);
    expect(await repo.listOrphanFiles()).toEqual([]);
    expect(await repo.verify()).toEqual([]);
    // The values read back through queries too.
    const found = await repo.queryDatasets({ where: "band = '../../../etc/passwd' OR band = 'é漢字 🌌' OR band = ''" });
    expect(found.map((r) => r.dataId.band).sort()).toEqual(['', '../../../etc/passwd', 'é漢字 🌌']);
    await repo.close();
  });

  it('registers a quantum\'s outputs with its provenance, and finds and verifies them', async () => {
    const repo = await newRepository('provenance');
    const [input] = await repo.putQuantumOutputs(provenance('in'), [{ datasetType: 'blob', dataId: { instrument: 'X', band: 'g', physical_filter: 'G' }, bytes: new Uint8Array([1, 2, 3]) }], { datasetTypes: [BLOB] });
    const refs = await repo.putQuantumOutputs(provenance('out', [input!.id]), [
      { datasetType: 'blob', dataId: { instrument: 'X', band: 'g', physical_filter: 'G' }, bytes: new Uint8Array([4, 5]) },
      { datasetType: 'blob', dataId: { instrument: 'X', band: 'r', physical_filter: 'R' }, bytes: new Uint8Array([6]) },
    ]);
    const quantum = await repo.registry.producerOf(refs[0]!.id);
    expect(quantum).toMatchObject({ run: 'out', task: 'testTask', status: 'succeeded', inputs: [input!.id], threadCpuUserSeconds: 0.25, wasmMemoryPeakBytes: 1 << 20, rssPeakBytes: 64 << 20 });
    expect([...quantum!.outputs].sort()).toEqual(refs.map((r) => r.id).sort());
    expect((await repo.registry.quantaInRun('out')).length).toBe(1);
    expect(refs[1]).toMatchObject({ size: 1, checksum: '67586e98fad27da0b9968bc039a1ef34c939b9b8e523a8bef89d478608c5ecf6' });
    // A CHAINED collection searches in order.
    await repo.registry.commit({ chains: [{ name: 'both', children: ['out', 'in'] }] });
    expect((await repo.findDataset('blob', { instrument: 'X', band: 'g', physical_filter: 'G' }, ['both']))!.run).toBe('out');
    expect((await repo.get('blob', { instrument: 'X', band: 'g', physical_filter: 'G' }, ['in'])).bytes).toEqual(new Uint8Array([1, 2, 3]));
    await expect(repo.get('blob', { instrument: 'X', band: 'i', physical_filter: 'I' }, ['both'])).rejects.toThrow(/no blob \{instrument: 'X', band: 'i', physical_filter: 'I'\} in 'both'/);
    await expect(repo.registry.commit({ chains: [{ name: 'in', children: ['out'] }] })).rejects.toThrow(/exists as a RUN collection, not CHAINED/);
    await expect(repo.registry.commit({ chains: [{ name: 'loop', children: ['both'] }, { name: 'both', children: ['loop'] }] })).rejects.toThrow(/cycle/);
    // The same output again is refused before anything is written.
    await expect(repo.putQuantumOutputs(provenance('out'), [{ datasetType: 'blob', dataId: { instrument: 'X', band: 'r', physical_filter: 'R' }, bytes: new Uint8Array([9]) }]))
      .rejects.toThrow(/blob \{instrument: 'X', band: 'r', physical_filter: 'R'\} is already registered in run 'out'/);
    expect(new Uint8Array(fs.readFileSync(repo.getPath(refs[1]!)))).toEqual(new Uint8Array([6]));
    // verify catches a changed file and a missing one.
    fs.writeFileSync(repo.getPath(refs[1]!), new Uint8Array([7]));
    fs.rmSync(repo.getPath(refs[0]!));
    const problems = await repo.verify();
    expect(problems.map((p) => [p.ref.id, p.problem.split(' ')[0]]).sort()).toEqual([[refs[0]!.id, 'file'], [refs[1]!.id, 'sha256']].sort());
    await repo.close();
  });

  it('leaves nothing registered when a writer is killed between its file writes and the commit; the files are orphans', async () => {
    const repo = await newRepository('crash');
    await repo.registry.commit({ datasetTypes: [BLOB] });
    const r = spawnSync(process.execPath, [workerScript, repo.root, 'crash', 'crashed', '1'], { encoding: 'utf8' });
    expect(r.signal, r.stderr).toBe('SIGKILL');
    expect(await repo.queryDatasets({ datasetTypes: ['blob'] })).toEqual([]);
    expect(await repo.registry.getCollection('crashed')).toBeUndefined();
    const orphans = await repo.listOrphanFiles();
    expect(orphans.length).toBe(2);
    for (const o of orphans) expect(o.startsWith('crashed/blob/crashed-0/')).toBe(true);
    const verify = tessera('repo', 'verify', repo.root);
    expect(verify.status).toBe(1);
    expect(verify.stdout).toContain(`ORPHAN  ${orphans[0]}`);
    // Running the quantum again replaces the orphans and registers everything.
    const again = spawnSync(process.execPath, [workerScript, repo.root, 'normal', 'crashed', '1'], { encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    expect((await repo.queryDatasets({ datasetTypes: ['blob'] })).length).toBe(3);
    expect(await repo.listOrphanFiles()).toEqual([]);
    expect(await repo.verify()).toEqual([]);
    await repo.close();
  });

  it('registers nothing and removes what it wrote when a write fails or a hook throws', async () => {
    const repo = await newRepository('failed-write');
    await repo.registry.commit({ datasetTypes: [BLOB] });
    // A file where the second output's directory must go: the first output is written, the second fails.
    const blocker = path.join(repo.root, 'failing', 'blob', 'r');
    fs.mkdirSync(path.dirname(blocker), { recursive: true });
    fs.writeFileSync(blocker, 'in the way');
    const outputs = ['g', 'r'].map((band) => ({ datasetType: 'blob', dataId: { instrument: 'X', band, physical_filter: band.toUpperCase() }, bytes: new Uint8Array([1]) }));
    await expect(repo.putQuantumOutputs(provenance('failing'), outputs)).rejects.toThrow(/cannot write failing\/blob\/r\/R\/blob_X\.dat/);
    expect(await repo.queryDatasets({})).toEqual([]);
    expect(await repo.registry.getCollection('failing')).toBeUndefined();
    expect(await repo.listOrphanFiles()).toEqual(['failing/blob/r']); // only the blocker; the written output is gone
    expect(await repo.removeOrphanFiles()).toEqual(['failing/blob/r']);
    expect(fs.existsSync(path.join(repo.root, 'failing'))).toBe(false);

    const failing = await Repository.open(repo.root, { hooks: { afterFileWritten(p) { if (p.includes('/r/')) throw new Error('injected write failure'); } } });
    await expect(failing.putQuantumOutputs(provenance('failing'), outputs)).rejects.toThrow(/injected write failure/);
    expect(await failing.queryDatasets({})).toEqual([]);
    expect(await failing.listOrphanFiles()).toEqual([]);
    expect(await failing.registry.quantaInRun('failing')).toEqual([]);
    await failing.close();
    await repo.close();
  });

  it('keeps CALIBRATION validity ranges per dataset and finds the one valid at a time', async () => {
    const repo = await newRepository('calibration');
    const flats = await repo.putQuantumOutputs(provenance('flats/a'), [
      { datasetType: 'flat', dataId: { instrument: 'X', detector: 0, physical_filter: 'G', band: 'g' }, bytes: new Uint8Array([1]) },
    ], { datasetTypes: [FLAT] });
    const later = await repo.putQuantumOutputs(provenance('flats/b'), [
      { datasetType: 'flat', dataId: { instrument: 'X', detector: 0, physical_filter: 'G', band: 'g' }, bytes: new Uint8Array([2]) },
    ]);
    await repo.registry.commit({
      collections: [{ name: 'X/calib', type: 'CALIBRATION' }],
      certifications: [
        { collection: 'X/calib', datasetId: flats[0]!.id, range: { beginMjd: null, endMjd: 60000 } },
        { collection: 'X/calib', datasetId: later[0]!.id, range: { beginMjd: 60000, endMjd: null } },
      ],
    });
    expect(await repo.registry.certificationsOf(later[0]!.id)).toEqual([{ collection: 'X/calib', datasetId: later[0]!.id, range: { beginMjd: 60000, endMjd: null } }]);
    const id = { instrument: 'X', detector: 0, physical_filter: 'G' };
    expect((await repo.findDataset('flat', id, ['X/calib'], { timeMjd: 59999.9 }))!.id).toBe(flats[0]!.id);
    expect((await repo.findDataset('flat', id, ['X/calib'], { timeMjd: 60000 }))!.id).toBe(later[0]!.id);
    await expect(repo.findDataset('flat', id, ['X/calib'])).rejects.toThrow(/has 2 validity ranges in 'X\/calib'; give a time/);
    await expect(repo.registry.commit({ certifications: [{ collection: 'X/calib', datasetId: later[0]!.id, range: { beginMjd: 70000, endMjd: 70001 } }] }))
      .rejects.toThrow(/overlaps/);
    const other = await repo.putQuantumOutputs(provenance('flats/c'), [{ datasetType: 'flat', dataId: { ...id, band: 'g' }, bytes: new Uint8Array([3]) }]);
    await expect(repo.registry.commit({ certifications: [{ collection: 'X/calib', datasetId: other[0]!.id, range: { beginMjd: 59000, endMjd: 59500 } }] }))
      .rejects.toThrow(/validity \[59000, 59500\) overlaps \[-inf, 60000\)/);
    expect((await repo.queryDatasets({ collections: ['X/calib'] })).map((r) => r.run)).toEqual(['flats/a', 'flats/b']);
    // Removing a run drops its certifications; the other run's stay.
    await repo.removeRuns(['flats/a']);
    expect((await repo.findDataset('flat', id, ['X/calib']))!.id).toBe(later[0]!.id);
    await repo.close();
  });

  it('keeps science leads\' verdicts as a history per dataset; a stale one is refused with the latest, a repeat is a no-op', async () => {
    const repo = await newRepository('verdicts');
    const [a, b] = await repo.putQuantumOutputs(provenance('run'), [
      { datasetType: 'blob', dataId: { instrument: 'X', band: 'g', physical_filter: 'G' }, bytes: new Uint8Array([1]) },
      { datasetType: 'blob', dataId: { instrument: 'X', band: 'r', physical_filter: 'R' }, bytes: new Uint8Array([2]) },
    ], { datasetTypes: [BLOB] });
    const checklist = { artifactsMasked: true, trailsAndGhostsRejected: true, backgroundNotOverSubtracted: false, other: 'dark ring around the bright star' };
    const v1 = { id: '10000000-0000-4000-8000-000000000001', datasetId: a!.id, verdict: 'needs-work' as const, checklist, note: 'background', reviewer: 'Ada', reviewedAt: '2026-11-26T10:00:00.000Z', appVersion: '0.1.0', supersedes: null };
    expect(await repo.registry.recordVerdict(v1)).toEqual({ recorded: true });
    expect(await repo.registry.recordVerdict(v1)).toEqual({ recorded: true });
    await expect(repo.registry.recordVerdict({ ...v1, note: 'changed' })).rejects.toThrow(/verdict 10000000-0000-4000-8000-000000000001 is already recorded with other content/);
    // Two reviewers who both saw v1: the first to sync wins; the second gets the latest back.
    const v2 = { ...v1, id: '10000000-0000-4000-8000-000000000002', verdict: 'certified' as const, reviewer: 'Bob', reviewedAt: '2026-11-26T11:00:00.000Z', supersedes: v1.id };
    const v3 = { ...v1, id: '10000000-0000-4000-8000-000000000003', verdict: 'rejected' as const, reviewer: 'Cy', reviewedAt: '2026-11-26T11:00:01.000Z', supersedes: v1.id };
    expect(await repo.registry.recordVerdict(v2)).toEqual({ recorded: true });
    expect(await repo.registry.recordVerdict(v3)).toEqual({ recorded: false, latest: v2 });
    expect(await repo.registry.recordVerdict({ ...v3, supersedes: null })).toEqual({ recorded: false, latest: v2 });
    expect(await repo.registry.recordVerdict({ ...v3, supersedes: v2.id })).toEqual({ recorded: true });
    const other = { ...v1, id: '10000000-0000-4000-8000-000000000004', datasetId: b!.id };
    expect(await repo.registry.recordVerdict(other)).toEqual({ recorded: true });
    expect((await repo.registry.verdicts({ datasetIds: [a!.id] })).map((v) => v.id)).toEqual([v1.id, v2.id, v3.id]);
    expect((await repo.registry.verdicts()).length).toBe(4);
    expect(await repo.registry.verdicts({ datasetIds: [] })).toEqual([]);
    await expect(repo.registry.recordVerdict({ ...v1, id: '10000000-0000-4000-8000-000000000005', datasetId: '20000000-0000-4000-8000-000000000000' }))
      .rejects.toThrow(/no dataset 20000000-0000-4000-8000-000000000000/);
    await repo.close();
  });

  it('migrates a version-0 registry to the current schema and refuses a newer one', async () => {
    const root = path.join(out, 'schema-v0');
    fs.mkdirSync(path.join(root, 'old', 'blob'), { recursive: true });
    fs.writeFileSync(path.join(root, 'tessera-repo.json'), JSON.stringify({ format: 'tessera-repo-1', registry: 'sqlite:registry.sqlite3', createdAt: '2024-01-01T00:00:00Z' }));
    fs.writeFileSync(path.join(root, 'old', 'blob', 'b.dat'), 'abc');
    const v0 = new Database(path.join(root, 'registry.sqlite3'));
    v0.exec(VERSION_0_TABLES);
    v0.prepare('INSERT INTO dataset_type VALUES (?, ?, ?, ?, ?)').run('blob', JSON.stringify(BLOB.dimensions), '[]', 'Bytes', BLOB.pathTemplate);
    v0.prepare("INSERT INTO collection VALUES ('old', 'RUN', '')").run();
    v0.prepare('INSERT INTO dataset VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('00000000-0000-4000-8000-000000000000', 'blob', 'old',
      JSON.stringify({ instrument: 'X', band: 'g', physical_filter: 'G' }), JSON.stringify([['band', 'g'], ['instrument', 'X'], ['physical_filter', 'G']]),
      'old/blob/b.dat', 3, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    v0.close();

    const repo = await Repository.open(root);
    expect(repo.registry.schemaVersion).toBe(SCHEMA_VERSION);
    const [migrated] = await repo.queryDatasets({ where: "band = 'g'" });
    expect(migrated!.ingestDate).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await repo.verify()).toEqual([]);
    const refs = await repo.putQuantumOutputs(provenance('new', [migrated!.id]), [{ datasetType: 'blob', dataId: { instrument: 'X', band: 'r', physical_filter: 'R' }, bytes: new Uint8Array([1]) }]);
    expect((await repo.registry.producerOf(refs[0]!.id))!.inputs).toEqual([migrated!.id]);
    await repo.close();

    // The migrated schema is exactly the one a new registry gets.
    const fresh = await newRepository('schema-fresh');
    await fresh.close();
    const schemaOf = (file: string): string[] => {
      const db = new Database(file, { readonly: true });
      const rows = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name").all() as { type: string; name: string; sql: string }[];
      db.close();
      return rows.map((r) => `${r.type} ${r.name}: ${r.sql.replace(/\s+/g, ' ')}`);
    };
    expect(schemaOf(path.join(root, 'registry.sqlite3'))).toEqual(schemaOf(path.join(fresh.root, 'registry.sqlite3')));

    // A registry written by a newer tessera is refused, naming the repository and both versions.
    const db = new Database(path.join(root, 'registry.sqlite3'));
    db.prepare("UPDATE registry_meta SET value = '7' WHERE key = 'schema_version'").run();
    db.close();
    await expect(Repository.open(root)).rejects.toThrow(`${root}: registry schema version 7 is newer than this tessera supports (version ${SCHEMA_VERSION})`);
  });

  it('accepts sqlite: registry URLs only, naming what is supported', async () => {
    await expect(Repository.create(path.join(out, 'pg'), { registryUrl: 'postgresql://db.example/tessera', softwareVersion: VERSION }))
      .rejects.toThrow(/the 'postgresql' registry is not supported by this tessera; supported: sqlite:PATH/);
    expect(fs.existsSync(path.join(out, 'pg'))).toBe(false);
    const repo = await Repository.create(path.join(out, 'custom-registry'), { registryUrl: 'sqlite:db/reg.sqlite3', softwareVersion: VERSION });
    expect(fs.existsSync(path.join(repo.root, 'db', 'reg.sqlite3'))).toBe(true);
    expect(await repo.listOrphanFiles()).toEqual([]); // the registry's folder is not part of the datastore
    await repo.close();
    const again = await Repository.open(path.join(out, 'custom-registry'));
    expect(again.registry.url).toBe('sqlite:db/reg.sqlite3');
    await again.close();
    await expect(Repository.open(path.join(out, 'nothing-here'))).rejects.toThrow(/not a Tessera repository \(no tessera-repo\.json\)/);
    const garbage = path.join(out, 'garbage-registry');
    fs.mkdirSync(garbage);
    fs.writeFileSync(path.join(garbage, 'tessera-repo.json'), JSON.stringify({ format: 'tessera-repo-1', registry: 'sqlite:registry.sqlite3' }));
    fs.writeFileSync(path.join(garbage, 'registry.sqlite3'), 'this is not a database'.repeat(100));
    await expect(Repository.open(garbage)).rejects.toThrow(`${garbage}: cannot open registry database ${path.join(garbage, 'registry.sqlite3')}: file is not a database`);
  });

  it('lets two processes write to one repository at once (WAL, busy timeout)', async () => {
    const repo = await newRepository('concurrent');
    await repo.registry.commit({ datasetTypes: [BLOB] });
    const runWorker = (run: string): Promise<number> => new Promise((resolve) => {
      const child = spawn(process.execPath, [workerScript, repo.root, 'normal', run, '15'], { stdio: 'inherit' });
      child.on('exit', (code) => resolve(code ?? -1));
    });
    expect(await Promise.all([runWorker('a'), runWorker('b')])).toEqual([0, 0]);
    expect((await repo.queryDatasets({ collections: ['a'] })).length).toBe(45);
    expect((await repo.queryDatasets({ collections: ['b'] })).length).toBe(45);
    expect((await repo.registry.quantaInRun('a')).length).toBe(15);
    expect(await repo.verify()).toEqual([]);
    await repo.close();
  });

  it('removes runs with their files, quanta and chain memberships; provenance of other runs survives', async () => {
    const repo = await newRepository('remove');
    const [input] = await repo.putQuantumOutputs(provenance('first'), [{ datasetType: 'blob', dataId: { instrument: 'X', band: 'g', physical_filter: 'G' }, bytes: new Uint8Array([1]) }], { datasetTypes: [BLOB] });
    const [output] = await repo.putQuantumOutputs(provenance('second', [input!.id]), [{ datasetType: 'blob', dataId: { instrument: 'X', band: 'g', physical_filter: 'G' }, bytes: new Uint8Array([2]) }]);
    await repo.registry.commit({ chains: [{ name: 'chain', children: ['second', 'first'] }] });
    await expect(repo.removeRuns(['first', 'chain'])).rejects.toThrow(/'chain' is a CHAINED collection, not a RUN/);
    await expect(repo.removeRuns(['first', 'nope'])).rejects.toThrow(/no collection 'nope'/);
    expect((await repo.queryDatasets({})).length).toBe(2);
    const { removed, failures } = await repo.removeRuns(['first']);
    expect(failures).toEqual([]);
    expect(removed.map((r) => r.id)).toEqual([input!.id]);
    expect(fs.existsSync(path.join(repo.root, 'first'))).toBe(false);
    expect((await repo.registry.getCollection('chain'))!.children).toEqual(['second']);
    expect(await repo.registry.quantaInRun('first')).toEqual([]);
    expect((await repo.registry.producerOf(output!.id))!.inputs).toEqual([input!.id]);
    expect(await repo.listOrphanFiles()).toEqual([]);
    await repo.close();
  });

  it('claims: one quantum per run, task and data ID; a replaced claim deletes its outputs; a lost claim\'s result is refused', async () => {
    const repo = await newRepository('claims');
    await repo.registry.commit({ datasetTypes: [BLOB] });
    const claim = (id: string, claimedBy: string) => ({
      id, run: 'r', task: 'worker', dataId: { instrument: 'X', detector: 1 }, configHash: 'c'.repeat(64), softwareVersion: VERSION, host: os.hostname(),
      claimedBy, startedAt: new Date().toISOString(), inputs: [],
    });
    const result = (id: string, claimedBy: string) => ({
      id, claimedBy, status: 'succeeded' as const, endedAt: new Date().toISOString(), threadCpuUserSeconds: 0.1, threadCpuSystemSeconds: 0,
      wasmMemoryPeakBytes: 1, rssPeakBytes: 2, error: null,
    });
    expect(await repo.claimQuantum(claim('q1', 'h/1/a'))).toEqual({ claimed: true, removed: [] });
    // A second claimant sees the holder; the data ID's key order does not matter.
    const second = await repo.claimQuantum({ ...claim('q2', 'h/2/b'), dataId: { detector: 1, instrument: 'X' } });
    expect(second).toMatchObject({ claimed: false, existing: { id: 'q1', status: 'running', claimedBy: 'h/1/a' } });
    const [blob] = await repo.finishQuantum('r', 'worker', result('q1', 'h/1/a'), [{ datasetType: 'blob', dataId: { instrument: 'X', band: 'g', physical_filter: 'G' }, bytes: new Uint8Array([7]) }]);
    expect(await repo.registry.findQuantum('r', 'worker', { instrument: 'X', detector: 1 })).toMatchObject({ status: 'succeeded', outputs: [blob!.id], claimedBy: 'h/1/a' });
    // Replacing needs the exact row (id, status, claimant); it deletes the row's outputs and their files.
    expect(await repo.claimQuantum(claim('q3', 'h/2/b'), { id: 'q1', status: 'running', claimedBy: 'h/1/a' })).toMatchObject({ claimed: false });
    const replaced = await repo.claimQuantum(claim('q3', 'h/2/b'), { id: 'q1', status: 'succeeded', claimedBy: 'h/1/a' });
    expect(replaced).toMatchObject({ claimed: true, removed: [{ id: blob!.id }] });
    expect(fs.existsSync(repo.getPath(blob!))).toBe(false);
    expect(await repo.registry.getDataset(blob!.id)).toBeUndefined();
    // The first claimant, unaware, tries to finish again: refused, nothing of it registered or left on disk.
    await expect(repo.finishQuantum('r', 'worker', result('q1', 'h/1/a'), [{ datasetType: 'blob', dataId: { instrument: 'X', band: 'r', physical_filter: 'R' }, bytes: new Uint8Array([8]) }]))
      .rejects.toThrow(/quantum q1 is no longer registered/);
    await expect(repo.finishQuantum('r', 'worker', result('q3', 'h/1/a'), [])).rejects.toThrow(/quantum q3 is no longer claimed by h\/1\/a \(now running, claimed by h\/2\/b\)/);
    expect(await repo.listOrphanFiles()).toEqual([]);
    expect((await repo.queryDatasets({ collections: ['r'] })).length).toBe(0);
    await repo.close();
  });

  it('migrates a version-1 registry whose quanta repeat a data ID (records, not claims) without losing any', async () => {
    const root = path.join(out, 'schema-v1');
    fs.mkdirSync(root, { recursive: true });
    fs.writeFileSync(path.join(root, 'tessera-repo.json'), JSON.stringify({ format: 'tessera-repo-1', registry: 'sqlite:registry.sqlite3', createdAt: '2025-01-01T00:00:00Z' }));
    const v1 = new Database(path.join(root, 'registry.sqlite3'));
    v1.exec(VERSION_0_TABLES);
    MIGRATIONS[0]!.apply(v1);
    v1.prepare("INSERT INTO registry_meta VALUES ('schema_version', '1')").run();
    v1.prepare("INSERT INTO collection VALUES ('old', 'RUN', '')").run();
    const insert = v1.prepare(`INSERT INTO quantum (id, run, task, data_id, config_hash, software_version, host, started_at, status)
      VALUES (?, 'old', 'worker', '{"instrument":"X"}', 'c', '0.0.1', 'h', ?, 'succeeded')`);
    insert.run('a', '2025-01-01T00:00:00Z');
    insert.run('b', '2025-01-02T00:00:00Z');
    v1.close();
    const repo = await Repository.open(root);
    expect(repo.registry.schemaVersion).toBe(SCHEMA_VERSION);
    const quanta = await repo.registry.quantaInRun('old');
    expect(quanta.map((q) => [q.id, q.status, q.claimedBy, q.skipReason])).toEqual([['a', 'succeeded', null, null], ['b', 'succeeded', null, null]]);
    // The first keeps the data ID's identity (a claim finds it); the repeat is kept under its own key.
    expect((await repo.registry.findQuantum('old', 'worker', { instrument: 'X' }))!.id).toBe('a');
    await repo.close();
  });
});
