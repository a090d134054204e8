// calibrate's predicted optical ghosts (lib/measure/ghosts.ts, the GHOST mask plane) against the
// simulator's ghosts (each truth file's GHOSTS table, drawn as the simulator draws them) on the demo
// preset's processed repository, every calexp:
// - every ghost whose mean surface brightness is at least 0.15 of the calexp's per-pixel noise (1.5 times
//   calibrate's ghostThreshold of 0.1, for the reference flux's and the noise estimate's errors) has all
//   of its drawn pixels masked GHOST;
// - at least 90 % of the GHOST pixels lie on a drawn ghost (the rest: the 4-px margins, 8 % of a ring);
// - no ghost fainter than 0.05 of the noise is masked (its centre's ring is not GHOST unless a
//   brighter ghost's is there).
import { beforeAll, describe, expect, it } from 'vitest';
import { processedRepository } from '../helpers/processedRepository.js';
import { withRepo } from '../helpers/repository.js';
import { truthGhosts, truthPlacement } from '../helpers/truthGhosts.js';
import { readFitsBytes } from '../../lib/fits/index.js';
import { MASK_PLANES } from '../../lib/pipeline/maskPlanes.js';
import { focalPlaneToDetector } from '../../lib/sim/opticalModel.js';
import { GHOST_OBSCURATION, renderGhost } from '../../lib/sim/artifacts.js';
import { median } from '../../lib/math/median.js';

const PRESET = (process.env.TESSERA_ACCURACY_PRESET ?? 'demo') as 'tiny' | 'demo';
const GHOST = 1 << MASK_PLANES.GHOST;

interface GhostCheck { key: string; significance: number; drawn: number; masked: number }
const ghosts: GhostCheck[] = [];
let ghostPixels = 0, onDrawn = 0, calexpsWithGhosts = 0;

beforeAll(async () => {
  const processed = processedRepository(PRESET);
  await withRepo(processed.root, async (repo) => {
    for (const ref of await repo.registry.queryDatasets({ datasetTypes: ['calexp'], collections: [processed.run] })) {
      const calexp = readFitsBytes(repo.getPath(ref), repo.getBytes(ref));
      const maskImage = calexp.readImage(calexp.indexOf('MASK')), { width, height } = maskImage;
      const mask = maskImage.data as Int32Array, variance = calexp.readImage(calexp.indexOf('VARIANCE')).data as Float32Array;
      const truthRef = (await repo.findDataset('truth', ref.dataId, ['HSC-SIM/truth']))!;
      const truth = readFitsBytes(repo.getPath(truthRef), repo.getBytes(truthRef));
      const placement = truthPlacement(truth.hdu(0).header);
      const sigma = Math.sqrt(median(variance.filter((_, i) => mask[i] === 0)));
      const drawnAll = new Uint8Array(width * height);
      for (const ghost of truthGhosts(truth)) {
        const plane = new Float32Array(width * height);
        if (renderGhost(plane, width, height, ghost, (fx, fy) => focalPlaneToDetector(placement, fx, fy)) === 0) continue;
        const area = Math.PI * ghost.radius ** 2 * (1 - GHOST_OBSCURATION ** 2);
        let drawn = 0, masked = 0;
        for (let i = 0; i < plane.length; i++) if (plane[i]! > 0) { drawnAll[i] = 1; drawn++; if (mask[i]! & GHOST) masked++; }
        ghosts.push({ key: `star ${ghost.starId} on visit ${ref.dataId.visit} detector ${ref.dataId.detector}`, significance: ghost.electrons / area / sigma, drawn, masked });
      }
      let here = 0;
      for (let i = 0; i < mask.length; i++) if (mask[i]! & GHOST) { here++; if (drawnAll[i]) onDrawn++; }
      ghostPixels += here;
      if (here) calexpsWithGhosts++;
    }
  });
}, 600_000);

describe(`calexp ghost masks (${PRESET} preset)`, () => {
  it('masks every drawn pixel of the ghosts at least 0.15 sigma per pixel, and nothing of those under 0.05', () => {
    const bright = ghosts.filter((g) => g.significance >= 0.15), faint = ghosts.filter((g) => g.significance < 0.05);
    for (const g of bright) console.log(`${g.key}: ${g.significance.toFixed(3)} sigma, ${g.masked} of ${g.drawn} drawn pixels masked GHOST`);
    console.log(`${ghosts.length} ghost-detector pairs: ${bright.length} at >= 0.15 sigma, ${faint.length} under 0.05; ${faint.filter((g) => g.masked === g.drawn).length} of those wholly masked`);
    expect(bright.length).toBeGreaterThanOrEqual(10);
    for (const g of bright) expect(g.masked, g.key).toBe(g.drawn);
    // A faint ghost may lie under a bright one's mask in part, never whole.
    for (const g of faint) expect(g.masked, g.key).toBeLessThan(g.drawn);
  });

  it('puts at least 90 % of the GHOST pixels on a drawn ghost', () => {
    console.log(`GHOST pixels: ${ghostPixels} on ${calexpsWithGhosts} calexps, ${onDrawn} (${(100 * onDrawn / ghostPixels).toFixed(1)} %) on a drawn ghost`);
    expect(ghostPixels).toBeGreaterThan(100_000);
    expect(onDrawn / ghostPixels).toBeGreaterThanOrEqual(0.9);
  });
});
