/**
 * A simulated repository processed by `tessera run` (calibs, isr, characterizeImage, calibrate), built
 * once and cached (DESIGN.md "How we measure ourselves"): keyed by the preset, its seed and a hash of the
 * build (the release wasm, the compiled lib/ and node/ and the shipped pipeline), so a code change
 * rebuilds it and an unchanged build reuses it across test runs. The demo preset's simulated survey made
 * by `npm run demo` (demo-output/sim-demo) is reused when the same simulator build made it (its
 * demo-output/sim-demo.build, node/buildIdentity.ts's simulatorIdentity); else it is simulated here and
 * kept as test-output/processed/sim-PRESET-SEED-IDENTITY; and the repository the demo processed
 * (demo-output/repo) is used as it is when the same build processed it (its demo-output/repo.build
 * holds that build's identity, node/buildIdentity.ts). Test files
 * run in parallel workers: the first to need a repository builds it under a lock file (holding its pid;
 * a lock whose process is gone is taken over), the others wait for it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths.js';
import { tessera, tesseraWithin } from './cli.js';
import { PRESETS } from '../../lib/sim/presets.js';
import { buildIdentity, simulatorIdentity, stampedBy } from '../../node/buildIdentity.js';

/** sha256 of the build that processes the data (wasm, compiled lib and node, DRP pipeline). */
export function buildHash(): string {
  return buildIdentity(repoRoot);
}

export interface ProcessedRepository {
  readonly root: string;
  readonly run: string;
  /** The `tessera run` output, or the note that the cache was used. */
  readonly log: string;
}

/**
 * The processed repository of `preset` ('tiny' or 'demo'). For work on later steps,
 * TESSERA_PROCESSED_REPO=ROOT[:RUN] names a repository processed by hand (RUN holding every output,
 * `drp` by default) to use instead, whatever build made it.
 */
export function processedRepository(preset: 'tiny' | 'demo'): ProcessedRepository {
  const given = process.env.TESSERA_PROCESSED_REPO;
  if (given) {
    const [root, run] = given.split(':');
    return { root: root!, run: run || 'drp', log: `given by TESSERA_PROCESSED_REPO=${given}` };
  }
  const key = `${preset}-${PRESETS[preset].seed}-${buildHash()}`;
  // Not testOutputDir (which empties its folder): the cache must outlive the test run.
  const base = path.join(repoRoot, 'test-output', 'processed');
  fs.mkdirSync(base, { recursive: true });
  const root = path.join(base, key, 'repo');
  const done = path.join(base, key, 'done');
  if (preset === 'demo') {
    const demoRepo = path.join(repoRoot, 'demo-output', 'repo');
    if (stampedBy(demoRepo, buildHash())) return { root: demoRepo, run: 'drp', log: `processed by npm run demo (build ${buildHash()})` };
  }
  const lock = path.join(base, `.lock-${key}`);
  for (;;) {
    if (fs.existsSync(done)) return { root, run: 'drp', log: `cached ${key}` };
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!processAlive(Number(fs.readFileSync(lock, 'utf8')))) fs.rmSync(lock, { force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
    }
  }
  try {
    return buildProcessed(preset, key, base, root, done);
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function buildProcessed(preset: 'tiny' | 'demo', key: string, base: string, root: string, done: string): ProcessedRepository {
  for (const stale of fs.readdirSync(base)) if (stale.startsWith(`${preset}-`) && stale !== key) fs.rmSync(path.join(base, stale), { recursive: true, force: true });
  fs.rmSync(path.join(base, key), { recursive: true, force: true });
  const demoSim = path.join(repoRoot, 'demo-output', 'sim-demo'), simBuild = simulatorIdentity(repoRoot);
  const simKey = `sim-${preset}-${PRESETS[preset].seed}-`;
  let sim = path.join(base, `${simKey}${simBuild}`);
  for (const stale of fs.readdirSync(base)) if (stale.startsWith(simKey) && stale !== path.basename(sim)) fs.rmSync(path.join(base, stale), { recursive: true, force: true });
  if (preset === 'demo' && fs.existsSync(path.join(demoSim, 'manifest.json')) && stampedBy(demoSim, simBuild)) sim = demoSim;
  else if (!fs.existsSync(path.join(sim, 'manifest.json'))) {
    fs.rmSync(sim, { recursive: true, force: true });
    const s = tessera('sim', sim, '--preset', preset);
    if (s.status !== 0) throw new Error(`tessera sim --preset ${preset}: ${s.stderr}`);
  }
  for (const args of [['repo', 'create', root], ['ingest', root, sim]]) {
    const r = tessera(...args);
    if (r.status !== 0) throw new Error(`tessera ${args.join(' ')}: ${r.stderr}`);
  }
  // The demo preset's whole pipeline (single frame, warps, coadds) takes about ten minutes on 2 cores.
  const run = tesseraWithin(1_500_000, 'run', root, '--output', 'drp');
  if (run.status !== 0) throw new Error(`tessera run ${root} --output drp failed (status ${run.status}${run.status === -1 ? ': killed after 25 minutes' : ''}):\n${run.stdout}\n${run.stderr}`);
  fs.writeFileSync(done, `${new Date().toISOString()}\n`);
  return { root, run: 'drp', log: run.stdout };
}
