// One CCD simulated and processed in memory (lib/pipeline/simulatedCcd.ts, what the web page runs in its
// worker) against the batch pipeline on the same seed: `tessera sim --preset tiny`, `tessera ingest`,
// `tessera run` (calibs of the detector, then processCcd of the visit). Every dataset it makes (the raw,
// master bias, dark and flat, postISRCCD, icExp, icSrc, icExpBackground, calexp, calexpBackground, src,
// srcMatch) must be byte-identical to the repository's file. Asking for a visit or detector the survey
// does not have is a clear error naming it.
import { beforeAll, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tessera } from '../helpers/cli.js';
import { repoRoot, testOutputDir } from '../helpers/paths.js';
import { loadTessera } from '../../node/wasm.js';
import { PRESETS } from '../../lib/sim/presets.js';
import { parsePipeline } from '../../lib/pipeline/pipelineDefinition.js';
import { processSimulatedCcd, SIMULATED_CCD_STEPS, type SimulatedCcdProgress } from '../../lib/pipeline/simulatedCcd.js';
import type { Tessera } from '../../lib/wasm/loader.js';

const out = testOutputDir('simulated-ccd');
const sim = path.join(out, 'sim'), repo = path.join(out, 'repo');
// One CCD off detector 0 (the e2e test in the page checks visit 1003, detector 0).
const CCDS = [{ visit: 1007, detector: 1 }];
const pipeline = parsePipeline(fs.readFileSync(path.join(repoRoot, 'pipelines', 'DRP.yaml'), 'utf8'), 'pipelines/DRP.yaml');
const sha = (bytes: Uint8Array): string => crypto.createHash('sha256').update(bytes).digest('hex');

function run(...args: string[]): string {
  const r = tessera(...args);
  if (r.status !== 0) throw new Error(`tessera ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** sha256 of each dataset of the repository, keyed `type visit detector` (calibrations: `type  detector`, flats with their filter). */
function repositoryHashes(): Map<string, string> {
  const rows = JSON.parse(run('query', repo, '--json')) as { datasetType: string; dataId: Record<string, string | number>; path: string }[];
  return new Map(rows.map((r) => [
    [r.datasetType, r.dataId.visit ?? r.dataId.exposure ?? '', r.dataId.detector ?? '', r.datasetType === 'flat' ? r.dataId.physical_filter : ''].join(' '),
    sha(fs.readFileSync(path.isAbsolute(r.path) ? r.path : path.join(repo, r.path))),
  ]));
}

let tesseraWasm: Tessera;

beforeAll(() => {
  run('sim', sim, '--preset', 'tiny');
  run('repo', 'create', repo);
  run('ingest', repo, sim);
  for (const { visit, detector } of CCDS) {
    run('run', repo, '--output', 'drp', '--subset', 'calibs', '--where', `detector = ${detector}`, '-j', '2');
    run('run', repo, '--output', 'drp', '--subset', 'processCcd', '--where', `visit = ${visit} and detector = ${detector}`, '-j', '2');
  }
}, 240_000);

describe('single-frame processing of one simulated CCD in memory', () => {
  for (const { visit, detector } of CCDS) {
    it(`makes the batch pipeline's files byte for byte (tiny, visit ${visit}, detector ${detector})`, async () => {
      tesseraWasm ??= await loadTessera('release');
      const steps: SimulatedCcdProgress[] = [];
      const result = await processSimulatedCcd(tesseraWasm, { ...PRESETS.tiny }, pipeline, { visit, detector }, (p) => { steps.push(p); });
      expect(steps.map((s) => s.step)).toEqual([...SIMULATED_CCD_STEPS]);
      const inRepo = repositoryHashes();
      const filter = String(result.dataId.physical_filter);
      const key: Record<string, string> = { bias: `bias  ${detector} `, dark: `dark  ${detector} `, flat: `flat  ${detector} ${filter}` };
      const types = Object.keys(result.datasets);
      expect(types.sort()).toEqual(['bias', 'calexp', 'calexpBackground', 'dark', 'flat', 'icExp', 'icExpBackground', 'icSrc', 'postISRCCD', 'raw', 'src', 'srcMatch']);
      for (const type of types) {
        const k = key[type] ?? `${type} ${visit} ${detector} `;
        expect(inRepo.get(k), `${type}: in the repository as '${k}'`).toBeDefined();
        expect(sha(result.datasets[type]!), `${type} of visit ${visit}, detector ${detector}`).toBe(inRepo.get(k));
      }
      console.log(`visit ${visit}, detector ${detector}: ${types.length} datasets byte-identical to tessera run's; src ${result.datasets.src!.length} bytes; ms per step ${JSON.stringify(Object.fromEntries(Object.entries(result.timings).map(([s, t]) => [s, Math.round(t)])))}`);
    }, 120_000);
  }

  it('names a visit or detector the survey does not have', async () => {
    tesseraWasm ??= await loadTessera('release');
    await expect(processSimulatedCcd(tesseraWasm, { ...PRESETS.tiny }, pipeline, { visit: 999, detector: 0 })).rejects.toThrow(/visit 999 is not in the survey \(visits 1000, 1001/);
    await expect(processSimulatedCcd(tesseraWasm, { ...PRESETS.tiny }, pipeline, { visit: 1003, detector: 7 })).rejects.toThrow(/detector 7 is not in the camera \(detectors 0, 1\)/);
  });
});
