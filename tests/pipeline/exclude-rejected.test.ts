// Science leads' verdicts downstream (issue 7): on a writable copy of the processed repository's registry
// (tests/helpers/repositoryCopy.ts), a calexp whose latest verdict is 'rejected' is left out of the warps
// by `tessera run --exclude-rejected` (the quantum graph's makeWarp inputs lack it; one certified later
// comes back), and the run attempt records it, so `tessera report` and `tessera provenance` say so; a run
// without the option uses it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { processedRepository, type ProcessedRepository } from '../helpers/processedRepository.js';
import { registryCopy } from '../helpers/repositoryCopy.js';
import { testOutputDir } from '../helpers/paths.js';
import { tessera } from '../helpers/cli.js';
import { Repository } from '../../node/repository/repository.js';
import { buildQuantumGraph } from '../../node/executor/quantumGraph.js';
import { loadPipeline } from '../../node/executor/loadPipeline.js';
import type { DatasetRef, Verdict } from '../../node/repository/registry.js';

const PRESET = (process.env.TESSERA_ACCURACY_PRESET ?? 'demo') as 'tiny' | 'demo';
const out = testOutputDir('exclude-rejected');
let processed: ProcessedRepository, root: string, repo: Repository, rejected: DatasetRef;

const verdict = (datasetId: string, kind: Verdict['verdict'], supersedes: string | null): Verdict => ({
  id: crypto.randomUUID(), datasetId, verdict: kind, reviewer: 'Ada', reviewedAt: new Date().toISOString(), appVersion: 'test', note: 'satellite trail not masked',
  checklist: { artifactsMasked: false, trailsAndGhostsRejected: false, backgroundNotOverSubtracted: true, other: '' }, supersedes,
});

const makeWarpInputs = async (excludeRejected: boolean): Promise<{ ids: Set<string>; excluded: string[] }> => {
  const pipeline = loadPipeline({ subset: 'coadd' });
  const graph = await buildQuantumGraph(repo, pipeline, { collections: [processed.run, 'skymaps'], outputRun: 'check', excludeRejected });
  const ids = new Set<string>();
  for (const q of graph.quanta.filter((n) => n.label === 'makeWarp')) {
    for (const input of Object.values(q.inputs).flat()) if ('datasetId' in input) ids.add(input.datasetId);
  }
  return { ids, excluded: graph.excluded.map((e) => e.datasetId) };
};

beforeAll(async () => {
  processed = processedRepository(PRESET);
  root = await registryCopy(processed.root, path.join(out, 'repository'));
  repo = await Repository.open(root);
  const calexps = await repo.queryDatasets({ datasetTypes: ['calexp'], collections: [processed.run] });
  rejected = calexps[calexps.length - 1]!;
}, 1_800_000);

afterAll(async () => {
  await repo?.close();
});

describe('tessera run --exclude-rejected', () => {
  it('leaves a rejected calexp out of the warps\' inputs, and takes it back once certified', async () => {
    expect((await makeWarpInputs(true)).ids.has(rejected.id)).toBe(true);
    const v1 = verdict(rejected.id, 'rejected', null);
    expect(await repo.registry.recordVerdict(v1)).toEqual({ recorded: true });
    const excluding = await makeWarpInputs(true), including = await makeWarpInputs(false);
    expect(excluding.ids.has(rejected.id)).toBe(false);
    expect(excluding.excluded).toEqual([rejected.id]);
    expect(including.ids.has(rejected.id)).toBe(true);
    expect(including.excluded).toEqual([]);
    // Every other calexp input is the same either way.
    expect([...including.ids].filter((id) => id !== rejected.id).sort()).toEqual([...excluding.ids].sort());
    const v2 = verdict(rejected.id, 'certified', v1.id);
    expect(await repo.registry.recordVerdict(v2)).toEqual({ recorded: true });
    expect((await makeWarpInputs(true)).ids.has(rejected.id)).toBe(true);
    expect(await repo.registry.recordVerdict(verdict(rejected.id, 'rejected', v2.id))).toEqual({ recorded: true });
  });

  it('records what it left out in the run attempt; report and provenance say so', async () => {
    await repo.close();
    const pipelineFile = path.join(out, 'makeWarp.yaml');
    fs.writeFileSync(pipelineFile, 'description: "makeWarp only"\ntasks:\n  makeWarp:\n    class: makeWarp\n');
    const visit = Number(rejected.dataId.visit);
    const run = tessera('run', root, '--output', 'excluding', '--input', `${processed.run},skymaps`, '--pipeline', pipelineFile, '--where', `visit = ${visit}`, '--exclude-rejected', '-j', '2');
    expect(run.status, run.stderr + run.stdout).toBe(0);
    repo = await Repository.open(root);
    const [attempt] = await repo.registry.runAttempts('excluding');
    expect(attempt!.command).toContain('--exclude-rejected');
    expect(attempt!.excluded.map((e) => [e.datasetId, e.datasetType, e.reviewer])).toEqual([[rejected.id, 'calexp', 'Ada']]);
    const report = tessera('report', root, 'excluding');
    expect(report.stdout).toMatch(new RegExp(`Left out by --exclude-rejected: 1 input dataset a science lead rejected\\n  calexp .*\\(${rejected.id}\\), rejected by Ada`));
    // No warp of the run used it.
    const warps = (await repo.queryDatasets({ datasetTypes: ['deepCoadd_directWarp'], collections: ['excluding'] })).filter((r) => r.run === 'excluding');
    expect(warps.length).toBeGreaterThan(0);
    for (const w of warps) expect((await repo.registry.producerOf(w.id))!.inputs).not.toContain(rejected.id);
    const provenance = tessera('provenance', root, warps[0]!.id);
    expect(provenance.stdout).toMatch(new RegExp(`run excluding left out 1 rejected input \\(--exclude-rejected\\):\\n  calexp .*\\(${rejected.id}\\), rejected by Ada`));
  });
});
