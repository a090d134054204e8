/**
 * Benchmark: single-frame processing of one HSC detector (2048x4176, the hsc preset's sky at b = 3 deg),
 * one thread, against the Debian peer chain on the same pixels (../shared/reference/peers.md): Tessera's
 * isr, characterizeImage and calibrate in their own process (bench/processCcdRun.ts: wall and CPU time,
 * peak RSS, per-step times from the tasks' logs) beside source-extractor to LDAC with vignets, psfex,
 * and source-extractor again with the PSF (PSF-fitting photometry), each command timed by a Python
 * wrapper (wall, CPU and peak RSS of the child from getrusage). The ratio compares the same work:
 * background, detection, PSF model and measurement with PSF fitting (Tessera's characterize and calibrate
 * without cosmic rays, astrometry and photometric calibration, which are shown separately). Also
 * `tessera extract` alone against `source-extractor` alone, both as command lines on the same image.
 * Five runs of each: Tessera's medians over runs 2-5 (run 1 pays for JIT compilation and first-touched
 * pages), the peers' over all five (a median of an even count is the mean of the middle two; until
 * 2026-11-29 Tessera's was the slower of runs 2-3). The first run's sources are matched (one-to-one, 1.5 px) to the simulated objects
 * (Completeness), so that a faster processCcd that finds fewer of them shows.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadTessera } from '../node/wasm.js';
import { packageRoot } from '../node/packageRoot.js';
import { writeFits } from '../lib/fits/writer.js';
import { cameraDescriptionYaml } from '../lib/sim/camera.js';
import { buildReferenceCatalog, writeReferenceShards } from '../lib/sim/referenceCatalog.js';
import { matchedFilterSnr } from '../lib/sim/snr.js';
import { matchedTruth } from '../lib/sim/truthMatch.js';
import type { SimulatedExposure } from '../lib/sim/simulateExposure.js';
import { hscScene } from './simulator.js';
import { median } from './timing.js';

export interface CommandCost { wallS: number; cpuS: number; maxRssMb: number }

/**
 * Truth objects matched by a source within 1.5 px, one-to-one: those of S/N >= 10 matched among
 * themselves (DESIGN.md's completeness), and per r magnitude range matched among all objects.
 */
export interface Completeness {
  snr10: { found: number; total: number };
  byMagnitude: { range: string; found: number; total: number }[];
}

export interface ProcessCcdResult {
  pixels: number;
  sources: number;
  completeness: Completeness;
  tessera: {
    /** gcS: the full garbage collections after isr and characterizeImage (the executor's worker collects after each quantum); in totalS. */
    isrS: number; characterizeS: number; calibrateS: number; gcS: number; totalS: number; cpuS: number;
    /** Peak RSS of one processCcd (the process after its first run), and of the process after all its runs. */
    maxRssMb: number; allRunsMaxRssMb: number; runs: number;
    steps: Record<string, number>;
    /** background + detection + PSF + measurement: total minus cosmic rays, astrometry, photometric calibration, ISR. */
    sameWorkS: number;
  };
  peer: { ldac: CommandCost; psfex: CommandCost; psfPhotometry: CommandCost; totalS: number; stars?: string } | { error: string };
  extract: { tessera: CommandCost; sourceExtractor: CommandCost } | { error: string };
}

/** Runs each command `runs` times under a Python getrusage wrapper; medians. */
export function measureCommands(dir: string, commands: Record<string, string[]>, runs: number): Record<string, CommandCost> {
  return Object.fromEntries(Object.entries(commandSamples(dir, commands, runs)).map(([name, samples]) => [name, medianCost(samples)]));
}

/** The median wall and CPU time of runs of one command, and the largest RSS. */
export function medianCost(samples: readonly CommandCost[]): CommandCost {
  // RUSAGE_CHILDREN's ru_maxrss is the largest child so far, so a command's figure is an upper bound once a larger one ran.
  return { wallS: median(samples.map((s) => s.wallS)), cpuS: median(samples.map((s) => s.cpuS)), maxRssMb: Math.max(...samples.map((s) => s.maxRssMb)) };
}

/** Each command's `runs` runs under a Python getrusage wrapper: wall, CPU, peak RSS per run. */
export function commandSamples(dir: string, commands: Record<string, string[]>, runs: number): Record<string, CommandCost[]> {
  const script = `
import json, resource, subprocess, sys, time
commands = json.loads(sys.argv[1]); runs = int(sys.argv[2]); out = {}
for name, cmd in commands.items():
    samples = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        p = subprocess.run(cmd, cwd=sys.argv[3], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            raise SystemExit(name + ' failed: ' + p.stderr.decode()[-400:])
        samples.append({'wallS': wall, 'cpuS': (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 'maxRssMb': after.ru_maxrss / 1024})
    out[name] = samples
print(json.dumps(out))
`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, JSON.stringify(commands), String(runs), dir], { encoding: 'utf8', maxBuffer: 1 << 24 })) as Record<string, CommandCost[]>;
}

/** The simulated objects found by the sources at (x, y) (Completeness; null: a source without a centroid). */
export function completeness(exposure: SimulatedExposure, snr: Float64Array, centroids: { x: (number | null)[]; y: (number | null)[] }): Completeness {
  const truth = exposure.sources;
  const sx = centroids.x.map((v) => v ?? NaN), sy = centroids.y.map((v) => v ?? NaN);
  const matchedAmong = (among: number[]): Set<number> => matchedTruth(truth, among, sx, sy);
  const count = (among: number[], matched: Set<number>): { found: number; total: number } => ({ found: among.filter((i) => matched.has(i)).length, total: among.length });
  const all = truth.map((_, i) => i), bright = all.filter((i) => snr[i]! >= 10);
  const matched = matchedAmong(all);
  const ranges: [number, number][] = [[-Infinity, 22], [22, 23], [23, 24]];
  return {
    snr10: count(bright, matchedAmong(bright)),
    byMagnitude: ranges.map(([lo, hi]) => ({ range: lo === -Infinity ? `r < ${hi}` : `r ${lo}-${hi}`, ...count(all.filter((i) => truth[i]!.mag >= lo && truth[i]!.mag < hi), matched) })),
  };
}

/**
 * PSFEx's accepted PSF stars (NStars_Accepted_Total) from its XML check file, a VOTable: the field's
 * position among the PSF_Fields table's FIELDs picks the cell of its first row; undefined when absent.
 */
export function psfexAcceptedStars(xml: string): number | undefined {
  const table = /<TABLE ID="PSF_Fields"[\s\S]*?<\/TABLE>/.exec(xml)?.[0];
  if (!table) return undefined;
  const fields = [...table.matchAll(/<FIELD name="([^"]+)"/g)].map((m) => m[1]);
  const row = /<TR>([\s\S]*?)<\/TR>/.exec(table)?.[1] ?? '';
  const cell = [...row.matchAll(/<TD>([^<]*)<\/TD>/g)].map((m) => m[1])[fields.indexOf('NStars_Accepted_Total')];
  return cell !== undefined && /^\s*\d+\s*$/.test(cell) ? Number(cell) : undefined;
}

export async function benchProcessCcd(runs = 5): Promise<ProcessCcdResult> {
  const tessera = await loadTessera('release');
  const scene = hscScene(tessera);
  const exposure = scene.simulate();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-processccd-'));
  try {
    fs.writeFileSync(path.join(dir, 'raw.fits'), writeFits([{ data: exposure.raw.data, shape: exposure.raw.shape, header: exposure.raw.header }]));
    fs.writeFileSync(path.join(dir, 'camera.yaml'), cameraDescriptionYaml(scene.camera));
    fs.mkdirSync(path.join(dir, 'refcat'));
    for (const shard of writeReferenceShards(buildReferenceCatalog(scene.objects, { seed: 1 }))) fs.writeFileSync(path.join(dir, 'refcat', shard.name), shard.bytes);

    const child = JSON.parse(execFileSync(process.execPath, [path.join(packageRoot(), 'dist', 'bench', 'processCcdRun.js'), dir, String(runs)], { encoding: 'utf8', maxBuffer: 1 << 24 })) as {
      runs: { isrMs: number; characterizeMs: number; calibrateMs: number; gcMs: number; steps: Record<string, number>; sources: number; maxRssBytes: number }[]; cpuSeconds: number; maxRssBytes: number;
    };
    // Medians of the runs after the first (the first pays for JIT compilation and first-touched pages).
    const later = child.runs.length > 1 ? child.runs.slice(1) : child.runs;
    const m = (f: (r: (typeof later)[number]) => number): number => median(later.map(f)) / 1000;
    const stepNames = [...new Set(later.flatMap((r) => Object.keys(r.steps)))];
    const steps = Object.fromEntries(stepNames.map((s) => [s, m((r) => r.steps[s] ?? 0)]));
    const isrS = m((r) => r.isrMs), characterizeS = m((r) => r.characterizeMs), calibrateS = m((r) => r.calibrateMs), gcS = m((r) => r.gcMs);
    const totalS = isrS + characterizeS + calibrateS + gcS;
    const sameWorkS = characterizeS + calibrateS - (steps.cosmicRays ?? 0) - (steps.astrometry ?? 0) - (steps.photoCal ?? 0);
    const centroids = JSON.parse(fs.readFileSync(path.join(dir, 'src-centroids.json'), 'utf8')) as { x: (number | null)[]; y: (number | null)[] };
    const result: ProcessCcdResult = {
      pixels: exposure.raw.shape[0]! * exposure.raw.shape[1]!, sources: later[later.length - 1]!.sources,
      completeness: completeness(exposure, matchedFilterSnr(tessera, exposure), centroids),
      tessera: {
        isrS, characterizeS, calibrateS, gcS, totalS, cpuS: child.cpuSeconds, maxRssMb: child.runs[0]!.maxRssBytes / 2 ** 20, allRunsMaxRssMb: child.maxRssBytes / 2 ** 20,
        runs: child.runs.length, steps, sameWorkS,
      },
      peer: { error: '' }, extract: { error: '' },
    };

    const conf = path.resolve(packageRoot(), '..', 'shared', 'reference', 'peers', 'conf');
    const haveSex = fs.existsSync('/usr/bin/source-extractor') && fs.existsSync('/usr/bin/psfex') && fs.existsSync(conf);
    if (!haveSex) {
      const why = 'source-extractor and psfex (npm run setup-system -- --bench) and ../shared/reference/peers/conf are needed';
      return { ...result, peer: { error: why }, extract: { error: why } };
    }
    for (const f of fs.readdirSync(conf)) fs.copyFileSync(path.join(conf, f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, 'psf.param'), `${fs.readFileSync(path.join(conf, 'sex.param'), 'utf8').trimEnd()}\nXPSF_IMAGE\nYPSF_IMAGE\nFLUX_PSF\nFLUXERR_PSF\n`);
    const sex = ['/usr/bin/source-extractor', 'post.fits'];
    // In this order: the LDAC catalogue feeds psfex, whose ldac.psf feeds the PSF photometry.
    const timed = measureCommands(dir, {
      ldac: [...sex, '-c', 'sex_psfex.conf', '-CATALOG_NAME', 'ldac.cat'],
      psfex: ['/usr/bin/psfex', 'ldac.cat', '-c', 'psfex.conf'],
      psfPhotometry: [...sex, '-c', 'sex.conf', '-PARAMETERS_NAME', 'psf.param', '-PSF_NAME', 'ldac.psf', '-CATALOG_NAME', 'psf.cat'],
      sourceExtractor: [...sex, '-c', 'sex.conf', '-CATALOG_NAME', 'alone.cat'],
      tesseraExtract: [process.execPath, path.join(packageRoot(), 'dist', 'node', 'cli.js'), 'extract', 'post.fits', '--catalog', 'tessera.fits'],
    }, runs);
    const xml = fs.existsSync(path.join(dir, 'psfex.xml')) ? fs.readFileSync(path.join(dir, 'psfex.xml'), 'utf8') : '';
    const accepted = psfexAcceptedStars(xml);
    result.peer = {
      ldac: timed.ldac!, psfex: timed.psfex!, psfPhotometry: timed.psfPhotometry!,
      totalS: timed.ldac!.wallS + timed.psfex!.wallS + timed.psfPhotometry!.wallS,
      ...(accepted !== undefined ? { stars: `${accepted} PSF stars accepted` } : {}),
    };
    result.extract = { tessera: timed.tesseraExtract!, sourceExtractor: timed.sourceExtractor! };
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
