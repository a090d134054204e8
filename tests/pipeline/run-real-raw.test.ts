// A real raw through the whole chain a user would take: `tessera ingest-raws` with a camera description
// of the SAAO 1.0 m STE3 CCD, then `tessera run` of ISR with no master calibrations (there
// are none for this frame). The postISRCCD records the overscan level subtracted, 214 +/- 1 ADU (the
// MANIFEST's measurement), and its trimmed median is 86 +/- 1 ADU above the overscan, 163 +/- 2 e- after
// the header's gain of 1.9 e-/ADU (issue 5's real-data ISR check).
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { realFile, repoRoot, testOutputDir } from '../helpers/paths.js';
import { tessera } from '../helpers/cli.js';
import { withRepo } from '../helpers/repository.js';
import { writeSaaoCamera } from '../helpers/saaoCamera.js';
import { readExposure, readFitsBytes } from '../../lib/fits/index.js';

const out = testOutputDir('run-real-raw');
const saao = realFile('saao_raw_overscan/a8280271.fits');

function median(values: Float32Array): number {
  const sorted = Float64Array.from(values).sort();
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
}

describe('ISR of a real raw through ingest-raws and tessera run', () => {
  it('subtracts the SAAO overscan (214 ADU) and leaves a trimmed median of 86 ADU = 163 e-', async () => {
    fs.rmSync(out, { recursive: true, force: true });
    const root = path.join(out, 'repo');
    const camera = path.join(out, 'saao.yaml');
    fs.mkdirSync(out, { recursive: true });
    writeSaaoCamera(camera);
    expect(tessera('repo', 'create', root).status).toBe(0);
    expect(tessera('ingest-raws', root, '--camera', camera, saao).status).toBe(0);
    const pipeline = path.join(repoRoot, 'tests', 'pipeline', 'fixtures', 'calibs-isr.yaml');
    const r = tessera('run', root, '--pipeline', pipeline, '--output', 'isr', '-c', 'isr.doBias=false', '-c', 'isr.doDark=false', '-c', 'isr.doFlat=false');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    await withRepo(root, async (repo) => {
      const [post] = await repo.queryDatasets({ datasetTypes: ['postISRCCD'], collections: ['isr'] });
      const exposure = await readExposure(readFitsBytes(repo.getPath(post!), repo.getBytes(post!)));
      expect([exposure.width, exposure.height]).toEqual([512, 520]);
      expect(exposure.metadata.getNumber('OSLEV1')).toBeGreaterThan(213);
      expect(exposure.metadata.getNumber('OSLEV1')).toBeLessThan(215);
      const electrons = median(exposure.image);
      expect(Math.abs(electrons - 163)).toBeLessThan(2);
      expect(Math.abs(electrons / 1.9 - 86)).toBeLessThan(1);
      // Variance from gain and read noise: signal (e-) + 5^2 at the median pixel, within its scatter.
      expect(Math.abs(median(exposure.variance) - (electrons + 25))).toBeLessThan(0.1 * (electrons + 25));
    });
  });
});
