// `tessera run` end to end on a tiny simulated repository (2 detectors, 2 bands x 1 visit, 128x256 px):
// calibration products made and certified with their validity, isr run against them; a second run
// resumes everything; a changed config is refused naming the task; provenance walks every output back to
// raws; the report's expected and found counts agree; a truncated raw fails only its own quantum (and
// blocks its dependants) with a message naming the file; --retry-failed redoes it once fixed; an output
// that no longer verifies is made again. Reliability: SIGKILL at random moments then a rerun gives
// outputs bit-identical to an uninterrupted run with nothing partial registered; two concurrent runs
// into one run never run a quantum twice, and one whose inputs differ is refused, not overwritten.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, testOutputDir } from '../helpers/paths.js';
import { tessera } from '../helpers/cli.js';
import { withRepo } from '../helpers/repository.js';
import type { Repository } from '../../node/repository/repository.js';

const out = testOutputDir('run');
const sim = path.join(out, 'sim');
const CLI = path.join(repoRoot, 'dist', 'node', 'cli.js');
/** Calibration products and ISR only: the executor is under test here, not the science tasks. */
const PIPELINE = path.join(repoRoot, 'tests', 'pipeline', 'fixtures', 'calibs-isr.yaml');

function freshRepo(name: string): string {
  const repo = path.join(out, name);
  fs.rmSync(repo, { recursive: true, force: true });
  expect(tessera('repo', 'create', repo).status).toBe(0);
  const r = tessera('ingest', repo, sim);
  expect(r.status, r.stderr).toBe(0);
  return repo;
}

/** (dataset type, data ID) -> sha256 of every dataset in a run, logs left out (they hold times). */
async function runChecksums(repo: Repository, run: string): Promise<Map<string, string>> {
  const refs = await repo.registry.queryDatasets({ collections: [run] });
  return new Map(refs.filter((r) => r.run === run && !r.datasetType.endsWith('_log')).map((r) => [`${r.datasetType} ${JSON.stringify(r.dataId)}`, r.checksum]));
}

/**
 * Everything registered in the run verifies, and each dataset was made by exactly one succeeded quantum of
 * the run. A run killed before it recorded its first attempt has no collection yet: nothing to check.
 */
async function expectConsistent(repo: Repository, run: string): Promise<void> {
  if (!(await repo.registry.getCollection(run))) {
    expect((await repo.queryDatasets({})).filter((r) => r.run === run)).toEqual([]);
    return;
  }
  const refs = (await repo.registry.queryDatasets({ collections: [run] })).filter((r) => r.run === run);
  expect(await repo.verify(refs)).toEqual([]);
  for (const ref of refs) {
    const q = await repo.registry.producerOf(ref.id);
    expect(q, `${ref.datasetType} ${JSON.stringify(ref.dataId)} has no producer`).toBeDefined();
    expect(q!.run).toBe(run);
    expect(q!.status).toBe('succeeded');
    expect(q!.outputs).toContain(ref.id);
  }
}

function runArgs(repo: string, ...extra: string[]): string[] {
  return [CLI, 'run', repo, '--pipeline', PIPELINE, '--output', 'drp', '-j', '2', ...extra];
}

function spawnRun(repo: string, ...extra: string[]): { child: ReturnType<typeof spawn>; done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, runArgs(repo, ...extra), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Per-task outcome counts from the summary table. */
function summaryCounts(stdout: string): Record<string, Record<string, number>> {
  const lines = stdout.split('\n');
  const header = lines.findIndex((l) => /^task\s+done\s+resumed/.test(l));
  const names = lines[header]!.trim().split(/\s+/).slice(1);
  const out: Record<string, Record<string, number>> = {};
  for (const line of lines.slice(header + 1)) {
    const cells = line.trim().split(/\s+/);
    if (cells.length !== names.length + 1 || cells[0] === 'total') break;
    out[cells[0]!] = Object.fromEntries(names.map((n, i) => [n, Number(cells[i + 1])]));
  }
  return out;
}

let reference: Map<string, string>;
let referenceRepo: string;

beforeAll(async () => {
  const r = tessera('sim', sim, '--preset', 'tiny', '--bands', 'g,r', '--visits', '1', '--width', '128', '--height', '256');
  expect(r.status, r.stderr).toBe(0);
  referenceRepo = freshRepo('reference');
  const run = tessera('run', referenceRepo, '--pipeline', PIPELINE, '--output', 'drp', '-j', '2');
  expect(run.status, run.stderr + run.stdout).toBe(0);
  reference = await withRepo(referenceRepo, (repo) => runChecksums(repo, 'drp'));
});

describe('tessera run', () => {
  it('makes and certifies calibration products, then runs isr against them; a rerun resumes everything', async () => {
    await withRepo(referenceRepo, async (repo) => {
      // 2 detectors: bias and dark each, flat per detector and band, isr per science raw (2 bands x 1 visit x 2 detectors).
      const count = (type: string): number => [...reference.keys()].filter((k) => k.startsWith(`${type} `)).length;
      expect([count('bias'), count('dark'), count('flat'), count('postISRCCD')]).toEqual([2, 2, 4, 4]);
      await expectConsistent(repo, 'drp');
      const calib = await repo.registry.getCollection('drp/calib');
      expect(calib?.type).toBe('CALIBRATION');
      const bias = (await repo.registry.queryDatasets({ datasetTypes: ['bias'], collections: ['drp'] }))[0]!;
      const [cert] = await repo.registry.certificationsOf(bias.id);
      const exposures = await repo.registry.dimensionRecords('exposure');
      const earliestBias = Math.min(...exposures.filter((e) => e.observation_type === 'bias').map((e) => Number(e.mjd)));
      expect(cert).toEqual({ collection: 'drp/calib', datasetId: bias.id, range: { beginMjd: earliestBias, endMjd: null } });
      // isr used the certified products of its run.
      const post = (await repo.registry.queryDatasets({ datasetTypes: ['postISRCCD'], collections: ['drp'] }))[0]!;
      const isrQuantum = (await repo.registry.producerOf(post.id))!;
      const used = await Promise.all(isrQuantum.inputs.map((id) => repo.registry.getDataset(id)));
      expect(used.map((d) => d!.datasetType).sort()).toEqual(['bias', 'camera', 'dark', 'flat', 'raw']);
      expect(used.filter((d) => ['bias', 'dark', 'flat'].includes(d!.datasetType)).every((d) => d!.run === 'drp')).toBe(true);
      expect(isrQuantum.threadCpuUserSeconds).toBeGreaterThanOrEqual(0);
      expect(isrQuantum.wasmMemoryPeakBytes).toBeGreaterThan(1 << 20);
      expect(isrQuantum.rssPeakBytes).toBeGreaterThan(isrQuantum.wasmMemoryPeakBytes!);
    });
    const again = tessera('run', referenceRepo, '--pipeline', PIPELINE, '--output', 'drp', '-j', '2');
    expect(again.status, again.stderr).toBe(0);
    expect(summaryCounts(again.stdout)).toEqual({
      buildBias: { done: 0, resumed: 2, 'no-work': 0, failed: 0, blocked: 0, stale: 0 },
      buildDark: { done: 0, resumed: 2, 'no-work': 0, failed: 0, blocked: 0, stale: 0 },
      buildFlat: { done: 0, resumed: 4, 'no-work': 0, failed: 0, blocked: 0, stale: 0 },
      isr: { done: 0, resumed: 4, 'no-work': 0, failed: 0, blocked: 0, stale: 0 },
    });
    expect(await withRepo(referenceRepo, (repo) => runChecksums(repo, 'drp'))).toEqual(reference);
  });

  it('refuses to run into a run made with another config, naming the task', () => {
    const r = tessera('run', referenceRepo, '--pipeline', PIPELINE, '--output', 'drp', '-c', 'isr.doDark=false');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/tessera run: task 'isr': run 'drp' was made with config [0-9a-f]{12}, this config is [0-9a-f]{12}/);
  });

  it('reports Tables 1-3 and walks provenance from a postISRCCD back to the raws', async () => {
    const r = tessera('report', referenceRepo, 'drp', '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { attempts: number; datasets: { datasetType: string; expected: number; found: number; verified: number }[]; tasks: { task: string; executions: number; userMinutes: number }[]; wallSeconds: number };
    expect(report.attempts).toBe(2);
    for (const d of report.datasets) expect([d.datasetType, d.found, d.verified]).toEqual([d.datasetType, d.expected, d.expected]);
    expect(report.datasets.find((d) => d.datasetType === 'postISRCCD')!.expected).toBe(4);
    expect(report.tasks.map((t) => [t.task, t.executions])).toEqual([['buildBias', 2], ['buildDark', 2], ['buildFlat', 4], ['isr', 4]]);
    expect(report.wallSeconds).toBeGreaterThan(0);
    const text = tessera('report', referenceRepo, 'drp');
    expect(text.stdout).toMatch(/Table 1: datasets in run drp/);
    expect(text.stdout).toMatch(/Table 3: CPU time and memory per task/);

    const post = await withRepo(referenceRepo, async (repo) => (await repo.registry.queryDatasets({ datasetTypes: ['postISRCCD'], collections: ['drp'] }))[0]!);
    const walk = JSON.parse(tessera('provenance', referenceRepo, post.id, '--json').stdout) as ProvenanceJson;
    interface ProvenanceJson { dataset?: { datasetType: string }; seen?: boolean; wasGeneratedBy?: { task: string; used: ProvenanceJson[] } }
    const leaves: string[] = [];
    const tasks: string[] = [];
    const visit = (n: ProvenanceJson): void => {
      if (n.seen) return;
      if (n.wasGeneratedBy) {
        tasks.push(n.wasGeneratedBy.task);
        n.wasGeneratedBy.used.forEach(visit);
      } else leaves.push(n.dataset!.datasetType);
    };
    visit(walk);
    expect([...new Set(tasks)].sort()).toEqual(['buildBias', 'buildDark', 'buildFlat', 'isr']);
    expect([...new Set(leaves)].sort()).toEqual(['camera', 'raw']);
    expect(tessera('provenance', referenceRepo, 'no-such-id').stderr).toMatch(/no dataset no-such-id in /);
  });

  it('fails only the quantum with a truncated raw, naming the file, blocks its dependants, and retries it on request', async () => {
    const repo = freshRepo('corrupt');
    const biasRaw = await withRepo(repo, async (r) => {
      const refs = await r.queryDatasets({ datasetTypes: ['raw'], where: "observation_type = 'bias' AND detector = 1" });
      return r.getPath(refs[0]!);
    });
    const good = fs.readFileSync(biasRaw);
    fs.rmSync(biasRaw); // ingest hard-linked it: replace the link, not the simulator's file
    fs.writeFileSync(biasRaw, good.subarray(0, 20_000));
    const r = tessera('run', repo, '--pipeline', PIPELINE, '--output', 'drp', '-j', '2');
    expect(r.status).toBe(1);
    const counts = summaryCounts(r.stdout);
    // Detector 1's dark and flats need its bias (blocked); its isr quanta find no certified bias (no work).
    expect(counts).toEqual({
      buildBias: { done: 1, resumed: 0, 'no-work': 0, failed: 1, blocked: 0, stale: 0 },
      buildDark: { done: 1, resumed: 0, 'no-work': 0, failed: 0, blocked: 1, stale: 0 },
      buildFlat: { done: 2, resumed: 0, 'no-work': 0, failed: 0, blocked: 2, stale: 0 },
      isr: { done: 2, resumed: 0, 'no-work': 2, failed: 0, blocked: 0, stale: 0 },
    });
    expect(r.stdout).toMatch(new RegExp(`failed: buildBias \\{instrument: 'HSC-SIM', detector: 1\\}: buildBias: input 'inputExps' \\(raw .*from ${biasRaw.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): `));
    // A rerun reports it again without running it; --retry-failed runs it (and what it blocked) once the file is fixed.
    expect(summaryCounts(tessera('run', repo, '--pipeline', PIPELINE, '--output', 'drp', '-j', '2').stdout).buildBias).toMatchObject({ resumed: 1, failed: 1 });
    fs.rmSync(biasRaw);
    fs.writeFileSync(biasRaw, good);
    const retried = tessera('run', repo, '--pipeline', PIPELINE, '--output', 'drp', '-j', '2', '--retry-failed');
    expect(retried.status, retried.stdout).toBe(0);
    expect(summaryCounts(retried.stdout).buildBias).toMatchObject({ done: 1, resumed: 1, failed: 0 });
    await withRepo(repo, async (r) => {
      await expectConsistent(r, 'drp');
      expect(await runChecksums(r, 'drp')).toEqual(reference);
    });
  });

  it('runs again a quantum whose output no longer verifies', async () => {
    const repo = freshRepo('damaged');
    expect(tessera('run', repo, '--pipeline', PIPELINE, '--output', 'drp').status).toBe(0);
    const file = await withRepo(repo, async (r) => r.getPath((await r.registry.queryDatasets({ datasetTypes: ['postISRCCD'], collections: ['drp'] }))[0]!));
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 100] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const r = tessera('run', repo, '--pipeline', PIPELINE, '--output', 'drp');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/its outputs no longer verify \(sha256 .*\); running it again/);
    expect(summaryCounts(r.stdout).isr).toMatchObject({ done: 1, resumed: 3 });
    await withRepo(repo, async (x) => {
      await expectConsistent(x, 'drp');
      expect(await runChecksums(x, 'drp')).toEqual(reference);
    });
  });
});

describe('tessera run reliability', () => {
  it('survives SIGKILL at random moments: the rerun completes the run bit-identically, nothing partial registered', async () => {
    const repo = freshRepo('killed');
    // Deterministic "random" kill times (xorshift), spread over the run's first ~1.2 s.
    let state = 0x9e3779b9;
    const next = (): number => {
      state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
      return (state >>> 0) / 2 ** 32;
    };
    let killed = 0;
    for (let attempt = 0; attempt < 4; attempt++) {
      const delay = 200 + Math.floor(next() * 1000);
      const { child, done } = spawnRun(repo);
      const timer = setTimeout(() => child.kill('SIGKILL'), delay);
      const result = await done;
      clearTimeout(timer);
      if (result.signal === 'SIGKILL') killed++;
      await withRepo(repo, async (r) => {
        // Whatever is registered after a kill is complete and verifies; unfinished quanta are 'running' rows, not datasets.
        await expectConsistent(r, 'drp');
      });
    }
    expect(killed).toBeGreaterThanOrEqual(2);
    const final = tessera('run', repo, '--pipeline', PIPELINE, '--output', 'drp', '-j', '2');
    expect(final.status, final.stdout + final.stderr).toBe(0);
    await withRepo(repo, async (r) => {
      await expectConsistent(r, 'drp');
      expect(await runChecksums(r, 'drp')).toEqual(reference);
      const quanta = await r.registry.quantaInRun('drp');
      expect(quanta.every((q) => q.status === 'succeeded')).toBe(true);
      expect(quanta.length).toBe(12);
    });
  });

  it('lets two concurrent runs share a run without running any quantum twice, with overlapping and with disjoint queries', async () => {
    const done = (s: string): number => Object.values(summaryCounts(s)).reduce((n, c) => n + c.done!, 0);
    // Overlapping: detector 0 against everything. Disjoint: detector 0 against detector 1.
    for (const [name, whereB] of [['concurrent', []], ['concurrent-disjoint', ['--where', 'detector = 1']]] as const) {
      const repo = freshRepo(name);
      const [a, b] = await Promise.all([spawnRun(repo, '--where', 'detector = 0').done, spawnRun(repo, ...whereB).done]);
      expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
      // 12 quanta in all, 6 per detector; each quantum ran exactly once between the two.
      expect(done(a.stdout) + done(b.stdout), name).toBe(12);
      await withRepo(repo, async (r) => {
        await expectConsistent(r, 'drp');
        expect(await runChecksums(r, 'drp')).toEqual(reference);
        expect((await r.registry.quantaInRun('drp')).length).toBe(12);
      });
    }
  });

  it('refuses, not overwrites, quanta another run made from different inputs', async () => {
    const repo = freshRepo('different-inputs');
    // A second camera description in its own run, searched first by one of the two runs: every quantum's inputs differ.
    await withRepo(repo, async (r) => {
      const camera = (await r.queryDatasets({ datasetTypes: ['camera'] }))[0]!;
      await r.ingest({ files: [{ datasetType: 'camera', run: 'camera-copy', dataId: camera.dataId, source: r.getPath(camera) }], transfer: 'copy' });
    });
    const [a, b] = await Promise.all([spawnRun(repo).done, spawnRun(repo, '--input', 'camera-copy,HSC-SIM/defaults').done]);
    const stale = (s: string): number => Object.values(summaryCounts(s)).reduce((n, c) => n + c.stale!, 0);
    const done = (s: string): number => Object.values(summaryCounts(s)).reduce((n, c) => n + c.done!, 0);
    // Each quantum was made once, by one of them; the other refused it (or was blocked behind a refusal).
    expect(done(a.stdout) + done(b.stdout)).toBe(12);
    expect(stale(a.stdout) + stale(b.stdout)).toBeGreaterThan(0);
    expect(`${a.stdout}${b.stdout}`).toMatch(/stale: \w+ \{.*\}: run 'drp' holds .* made from other inputs .*; not overwritten/);
    for (const r of [a, b]) expect(r.code).toBe(stale(r.stdout) > 0 ? 1 : 0);
    await withRepo(repo, async (r) => {
      await expectConsistent(r, 'drp');
      expect((await r.registry.quantaInRun('drp')).length).toBe(12);
    });
  });
});
