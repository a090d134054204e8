// A quantum whose output write fails (the disk is full: ENOSPC injected at the datastore's write hook)
// fails cleanly: nothing of it is registered, no file of it is left, the other quanta finish, and
// `retryFailed` makes it once the disk has room. Runs the built executor in-process (dist/, where the
// worker threads' script lives) on a tiny simulated repository.
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot, testOutputDir } from '../helpers/paths.js';
import { tessera } from '../helpers/cli.js';
import type { Repository as RepositoryClass } from '../../node/repository/repository.js';
import type { runPipeline as RunPipeline } from '../../node/executor/pipelineRun.js';
import type { loadPipeline as LoadPipeline } from '../../node/executor/loadPipeline.js';

const out = testOutputDir('run-write-failure');
const sim = path.join(out, 'sim');
const repoDir = path.join(out, 'repo');
const dist = (p: string): string => pathToFileURL(path.join(repoRoot, 'dist', p)).href;

let Repository: typeof RepositoryClass;
let runPipeline: typeof RunPipeline;
let loadPipeline: typeof LoadPipeline;

beforeAll(async () => {
  fs.rmSync(out, { recursive: true, force: true });
  expect(tessera('sim', sim, '--preset', 'tiny', '--bands', 'r', '--visits', '1', '--width', '128', '--height', '256').status).toBe(0);
  expect(tessera('repo', 'create', repoDir).status).toBe(0);
  expect(tessera('ingest', repoDir, sim).status).toBe(0);
  ({ Repository } = await import(dist('node/repository/repository.js')) as { Repository: typeof RepositoryClass });
  ({ runPipeline } = await import(dist('node/executor/pipelineRun.js')) as { runPipeline: typeof RunPipeline });
  ({ loadPipeline } = await import(dist('node/executor/loadPipeline.js')) as { loadPipeline: typeof LoadPipeline });
});

describe('a write that fails', () => {
  it('fails its quantum cleanly, registers nothing of it, and is retried once there is room', async () => {
    let failed: string | undefined;
    const repo = await Repository.open(repoDir, {
      hooks: {
        afterFileWritten(relative) {
          if (failed === undefined && relative.includes('/postISRCCD/')) {
            failed = relative;
            throw Object.assign(new Error(`ENOSPC: no space left on device, write '${relative}'`), { code: 'ENOSPC' });
          }
        },
      },
    });
    try {
      const options = { repo, pipeline: loadPipeline({ pipelineFile: path.join(repoRoot, 'tests', 'pipeline', 'fixtures', 'calibs-isr.yaml') }), inputCollections: ['HSC-SIM/defaults'], outputRun: 'drp', workers: 1, softwareVersion: 'test' };
      const summary = await runPipeline(options);
      const failures = summary.reports.filter((r) => r.outcome === 'failed');
      expect(failures).toHaveLength(1);
      expect(failures[0]!.label).toBe('isr');
      expect(failures[0]!.message).toMatch(/^writing its outputs failed, nothing registered: ENOSPC: no space left on device/);
      expect(summary.tasks.find((t) => t.label === 'isr')!.counts).toMatchObject({ done: 1, failed: 1 });
      expect(fs.existsSync(path.join(repoDir, failed!))).toBe(false);
      expect(await repo.listOrphanFiles()).toEqual([]);
      const posts = await repo.registry.queryDatasets({ datasetTypes: ['postISRCCD'], collections: ['drp'] });
      expect(posts).toHaveLength(1);
      const quantum = await repo.registry.findQuantum('drp', 'isr', failures[0]!.dataId);
      expect(quantum).toMatchObject({ status: 'failed', outputs: [expect.any(String)] }); // its log only
      expect((await repo.registry.getDataset(quantum!.outputs[0]!))!.datasetType).toBe('isr_log');

      const retried = await runPipeline({ ...options, retryFailed: true });
      expect(retried.tasks.find((t) => t.label === 'isr')!.counts).toMatchObject({ done: 1, resumed: 1, failed: 0 });
      expect(await repo.registry.queryDatasets({ datasetTypes: ['postISRCCD'], collections: ['drp'] })).toHaveLength(2);
      expect(await repo.verify()).toEqual([]);
      expect(await repo.listOrphanFiles()).toEqual([]);
    } finally {
      await repo.close();
    }
  });
});
