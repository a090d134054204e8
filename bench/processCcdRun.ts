/**
 * The Tessera side of the processCcd benchmark, in its own process (so its peak RSS is its own): reads
 * DIR/raw.fits, DIR/camera.yaml and DIR/refcat/*.fits as the pipeline's storage classes decode them,
 * then runs isr (no master calibrations: the raw is the simulator's, bias from the overscan),
 * characterizeImage and calibrate on the main thread (one thread), `runs` times, with a full garbage
 * collection after isr and after characterizeImage (timed: the executor's worker runs one after each
 * quantum, and each task is a quantum there), and prints one JSON document: per run the wall time of each
 * task and of the collections, the steps its log reports and the process's peak RSS so far (after the
 * first run: one processCcd's, as a peer command's), then the CPU time per run and the
 * peak RSS over all runs. The first run's postISRCCD image (made again after the run: characterizeImage
 * repairs its input in place) is written to DIR/post.fits (with GAIN = 1, as it is in electrons) for the
 * peer tools, and its sources' centroids to DIR/src-centroids.json (for the completeness check).
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadTessera } from '../node/wasm.js';
import { decodeDataset } from '../lib/pipeline/storageClasses.js';
import { runTask } from '../lib/pipeline/task.js';
import { memoryLogger } from '../lib/pipeline/logger.js';
import { collectGarbage } from '../node/executor/collectGarbage.js';
import { isr } from '../lib/tasks/isr.js';
import { characterizeImage, type CharacterizeImageOutputs } from '../lib/tasks/characterizeImage.js';
import { calibrate } from '../lib/tasks/calibrate.js';
import { writeFits } from '../lib/fits/writer.js';
import type { Exposure } from '../lib/fits/exposure.js';
import type { RawFrameInput } from '../lib/tasks/rawInput.js';
import type { Camera } from '../lib/sim/camera.js';
import type { ReferenceShard } from '../lib/sim/referenceCatalog.js';
import type { SourceCatalog } from '../lib/measure/sourceCatalog.js';

const [dir, runsText] = process.argv.slice(2);
if (!dir) throw new Error('usage: processCcdRun.js DIR [RUNS]');
const runs = Number(runsText ?? 3);
const tessera = await loadTessera('release');
const read = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(dir, name)));
const raw = await decodeDataset('RawFrame', read('raw.fits'), 'raw.fits') as RawFrameInput;
const camera = await decodeDataset('Camera', read('camera.yaml'), 'camera.yaml') as Camera;
const refCat: ReferenceShard[] = [];
for (const name of fs.readdirSync(path.join(dir, 'refcat')).sort()) refCat.push(await decodeDataset('ReferenceShard', read(path.join('refcat', name)), name) as ReferenceShard);

/** isr of the raw without master calibrations (the simulator's raw: bias from the overscan). */
function runIsr(context: { tessera: typeof tessera; log: ReturnType<typeof memoryLogger> }): Exposure {
  return (runTask(isr, { ccdExposure: raw, camera }, { doBias: false, doDark: false, doFlat: false, doDefect: false }, context) as { outputExposure: Exposure }).outputExposure;
}

interface RunTiming { isrMs: number; characterizeMs: number; calibrateMs: number; gcMs: number; steps: Record<string, number>; sources: number; maxRssBytes: number }

/** A full garbage collection between tasks, as the executor's worker runs one after each quantum (each task here is one); its milliseconds. */
function collectBetweenTasks(): number {
  const t = performance.now();
  collectGarbage();
  return performance.now() - t;
}

const results: RunTiming[] = [];
const cpu0 = process.cpuUsage();
for (let run = 0; run < runs; run++) {
  const log = memoryLogger();
  const context = { tessera, log };
  let t = performance.now();
  const post = runIsr(context);
  const isrMs = performance.now() - t;
  let gcMs = collectBetweenTasks();
  t = performance.now();
  const char = runTask(characterizeImage, { exposure: post }, {}, context) as CharacterizeImageOutputs;
  const characterizeMs = performance.now() - t;
  gcMs += collectBetweenTasks();
  t = performance.now();
  const cal = runTask(calibrate, { exposure: char.characterized, background: char.backgroundModel, icSourceCat: char.sourceCat, refCat }, {}, context) as { outputCat: SourceCatalog };
  const calibrateMs = performance.now() - t;
  const steps: Record<string, number> = {};
  for (const e of log.entries) {
    const step = e.fields?.step, ms = e.fields?.ms;
    if (typeof step === 'string' && typeof ms === 'number') steps[step] = (steps[step] ?? 0) + ms;
    if (typeof e.fields?.extractMs === 'number') steps.psfExtract = (steps.psfExtract ?? 0) + e.fields.extractMs;
  }
  // The process's peak RSS so far: after the first run, that of one processCcd (as each peer command's).
  results.push({ isrMs, characterizeMs, calibrateMs, gcMs, steps, sources: cal.outputCat.length, maxRssBytes: process.resourceUsage().maxRSS * 1024 });
  if (run === 0) {
    // ISR again for the peer tools' image: characterizeImage repaired this run's postISRCCD in place.
    const again = runIsr(context);
    const header = again.metadata.clone();
    header.set('GAIN', 1, 'e-/e-: the image is in electrons', { real: true });
    fs.writeFileSync(path.join(dir, 'post.fits'), writeFits([{ data: again.image, shape: [again.height, again.width], header }]));
    const { base_SdssCentroid_x: x, base_SdssCentroid_y: y } = cal.outputCat.columns;
    fs.writeFileSync(path.join(dir, 'src-centroids.json'), JSON.stringify({ x: Array.from(x as Float64Array), y: Array.from(y as Float64Array) }));
  }
}
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ runs: results, cpuSeconds: (cpu.user + cpu.system) / 1e6 / runs, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
