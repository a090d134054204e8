/**
 * Benchmark: warping and coadding five HSC-size calexps onto one patch (issue 6), Tessera against
 * Debian's SWarp on the same inputs in the same run:
 * - inputs: five visits of the `hsc` preset's scene on one detector (2048x4176 px, dithered by up to 60",
 *   rotated by up to 2 deg; optics without distortion so that the calexps' WCS is TAN, which SWarp reads
 *   exactly), simulated and processed by Tessera's isr, characterizeImage and calibrate
 *   (bench/coaddRun.ts prepare);
 * - Tessera (bench/coaddRun.ts coadd, one thread, its own process): direct warps (makeWarp, Lanczos3)
 *   plus their inverse-variance weighted mean (stackWarps), timed together, then the PSF-matched warps
 *   and the artifact rejection (compareWarps) timed separately; medians of runs 2-3; then, in a process
 *   of its own, the assembleCoadd quantum on those warps' files as the executor runs it (the warps read
 *   deferred, a band of rows at a time): its time and peak RSS, the coadd's memory per patch;
 * - SWarp 2.41 (NTHREADS 1, as Tessera's one worker): LANCZOS3, COMBINE_TYPE WEIGHTED, SUBTRACT_BACK N,
 *   MAP_WEIGHT from our variance planes (each visit's 1 / mean variance, as stackWarps weights it, 0 on
 *   NO_DATA, BAD, SAT: a per-pixel 1 / variance, which holds each star's own signal, biased SWarp's star
 *   fluxes 1.9 % low against ours), FLXSCALE from our PHOTCALB,
 *   FSCALASTRO_TYPE FIXED (flux conserved), our patch grid as its .head; the reference configuration
 *   ../shared/reference/peers/conf/swarp_weighted.conf otherwise; medians of 3 runs by a getrusage
 *   wrapper, one run before Tessera's and two after (a change in the machine's load weighs on both sides;
 *   SWarp's first run counts, as a C program has no JIT to warm, where Tessera's first run is dropped);
 * - both coadds compared at the truth's stars (17 < r < 21.5, fully covered): 12-px aperture flux
 *   ratio (median and robust scatter) and centroid offsets (rms per axis, mas).
 * Throughput: input megapixels per second of wall time (5 x 8.55 Mpix in).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadTessera } from '../node/wasm.js';
import { packageRoot } from '../node/packageRoot.js';
import { writeFits } from '../lib/fits/writer.js';
import { readFitsBytes } from '../lib/fits/index.js';
import { cameraDescriptionYaml } from '../lib/sim/camera.js';
import { buildReferenceCatalog, writeReferenceShards } from '../lib/sim/referenceCatalog.js';
import { patchById, skyMapFromJson, tractWcs } from '../lib/skymap/index.js';
import { adaptiveMoments } from '../lib/measure/adaptiveMoments.js';
import { hscScene } from './simulator.js';
import { median } from './timing.js';
import { commandSamples, medianCost, type CommandCost } from './processCcd.js';

export interface CoaddBenchResult {
  visits: number;
  inputMpix: number;
  tessera: {
    directWarpS: number; stackS: number; directTotalS: number; mpixPerS: number;
    psfMatchedWarpS: number; psfMatchingS: number; artifactRejectionS: number; readS: number; cpuS: number; maxRssMb: number; clipped: number;
    /** The assembleCoadd quantum from the warp files (median of runs 2-3) and its process's peak RSS. */
    assembleS: number; assembleMaxRssMb: number; assembleVisits: number;
  };
  swarp: (CommandCost & { mpixPerS: number }) | { error: string };
  /** Tessera's input Mpix/s over SWarp's. */
  speedRatio?: number;
  comparison?: { stars: number; medianFluxRatio: number; fluxRatioScatter: number; positionRmsMas: number };
}

export async function benchCoadd(visits = 5, runs = 3): Promise<CoaddBenchResult> {
  const tessera = await loadTessera('release');
  const scene = hscScene(tessera, { visits, distortion: 0 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-coadd-'));
  try {
    for (let v = 0; v < visits; v++) {
      const raw = scene.simulate(undefined, v).raw;
      fs.writeFileSync(path.join(dir, `raw_${v}.fits`), writeFits([{ data: raw.data, shape: raw.shape, header: raw.header }]));
    }
    fs.writeFileSync(path.join(dir, 'camera.yaml'), cameraDescriptionYaml(scene.camera));
    fs.mkdirSync(path.join(dir, 'refcat'));
    for (const shard of writeReferenceShards(buildReferenceCatalog(scene.objects, { seed: 1 }))) fs.writeFileSync(path.join(dir, 'refcat', shard.name), shard.bytes);
    const child = path.join(packageRoot(), 'dist', 'bench', 'coaddRun.js');
    execFileSync(process.execPath, [child, 'prepare', dir, String(visits)], { stdio: ['ignore', 'ignore', 'inherit'] });
    // SWarp's runs bracket Tessera's (one before, the rest after), so that a change in the machine's load
    // during the run weighs on both sides.
    const conf = path.resolve(packageRoot(), '..', 'shared', 'reference', 'peers', 'conf', 'swarp_weighted.conf');
    const haveSwarp = fs.existsSync('/usr/bin/SWarp') && fs.existsSync(conf);
    const inputs = Array.from({ length: visits }, (_, v) => `sci_${v}.fits`);
    const swarpCommand = {
      swarp: ['/usr/bin/SWarp', ...inputs, '-c', 'swarp.conf', '-IMAGEOUT_NAME', 'swarp.fits', '-WEIGHTOUT_NAME', 'swarp.weight.fits', '-HEADER_SUFFIX', '.head',
        '-SUBTRACT_BACK', 'N', '-COMBINE_TYPE', 'WEIGHTED', '-RESAMPLING_TYPE', 'LANCZOS3', '-WEIGHT_TYPE', 'MAP_WEIGHT', '-WEIGHT_SUFFIX', '.weight.fits',
        '-FSCALE_KEYWORD', 'FLXSCALE', '-FSCALASTRO_TYPE', 'FIXED', '-NTHREADS', '1', '-RESAMPLE_DIR', 'resamp', '-WRITE_XML', 'N', '-VERBOSE_TYPE', 'QUIET'],
    };
    const swarpSamples: CommandCost[] = [];
    if (haveSwarp) {
      fs.copyFileSync(conf, path.join(dir, 'swarp.conf'));
      fs.mkdirSync(path.join(dir, 'resamp'));
      swarpSamples.push(...commandSamples(dir, swarpCommand, 1).swarp!);
    }
    const out = JSON.parse(execFileSync(process.execPath, [child, 'coadd', dir, String(runs)], { encoding: 'utf8', maxBuffer: 1 << 24 })) as {
      runs: { directWarpMs: number; stackMs: number; psfMatchedWarpMs: number; compareMs: number; clipped: number }[];
      readMs: number; inputPixels: number; cpuSeconds: number; maxRssBytes: number;
    };
    if (haveSwarp && runs > 1) swarpSamples.push(...commandSamples(dir, swarpCommand, runs - 1).swarp!);
    const assemble = JSON.parse(execFileSync(process.execPath, [child, 'assemble', dir, String(runs)], { encoding: 'utf8', maxBuffer: 1 << 24 })) as { runs: number[]; visits: number; maxRssBytes: number };
    const later = out.runs.length > 1 ? out.runs.slice(1) : out.runs;
    const m = (f: (r: (typeof later)[number]) => number): number => median(later.map(f)) / 1000;
    const inputMpix = out.inputPixels / 1e6;
    const directWarpS = m((r) => r.directWarpMs), stackS = m((r) => r.stackMs), psfMatchedWarpS = m((r) => r.psfMatchedWarpMs);
    const result: CoaddBenchResult = {
      visits, inputMpix,
      tessera: {
        directWarpS, stackS, directTotalS: directWarpS + stackS, mpixPerS: inputMpix / (directWarpS + stackS),
        psfMatchedWarpS, psfMatchingS: psfMatchedWarpS - directWarpS, artifactRejectionS: m((r) => r.compareMs),
        readS: out.readMs / 1000, cpuS: out.cpuSeconds, maxRssMb: out.maxRssBytes / 2 ** 20, clipped: later[0]!.clipped,
        assembleS: median(assemble.runs.length > 1 ? assemble.runs.slice(1) : assemble.runs) / 1000, assembleMaxRssMb: assemble.maxRssBytes / 2 ** 20, assembleVisits: assemble.visits,
      },
      swarp: { error: '' },
    };
    if (!haveSwarp) {
      result.swarp = { error: 'SWarp (npm run setup-system -- --bench) and ../shared/reference/peers/conf/swarp_weighted.conf are needed' };
      return result;
    }
    const swarp = medianCost(swarpSamples);
    result.swarp = { ...swarp, mpixPerS: inputMpix / swarp.wallS };
    result.speedRatio = result.tessera.mpixPerS / result.swarp.mpixPerS;
    result.comparison = compareCoadds(dir, scene.objects);
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The two coadds at the truth's unsaturated, fully covered stars: 12-px aperture flux ratio and centroid offsets. */
function compareCoadds(dir: string, objects: ReturnType<typeof hscScene>['objects']): CoaddBenchResult['comparison'] {
  const skyMap = skyMapFromJson(fs.readFileSync(path.join(dir, 'skymap.json'), 'utf8'));
  const tract = skyMap.tracts[0]!, patch = patchById(tract, 0), wcs = tractWcs(tract);
  const image = (name: string): { data: Float32Array; width: number; height: number } => {
    const file = readFitsBytes(name, new Uint8Array(fs.readFileSync(path.join(dir, name))));
    const hdu = file.hdus.find((h) => h.type === 'IMAGE' && h.shape.length === 2)!;
    const img = file.readImage(hdu.index);
    return { data: Float32Array.from(img.data as ArrayLike<number>), width: img.width, height: img.height };
  };
  const ours = image('tessera.fits'), theirs = image('swarp.fits'), weight = image('swarp.weight.fits');
  const ratios: number[] = [], dx: number[] = [], dy: number[] = [];
  for (const o of objects) {
    if (o.kind !== 'star' || !(o.mag.r > 17 && o.mag.r < 21.5)) continue;
    const [tx, ty] = wcs.skyToPixel(o.ra, o.dec);
    const cx = tx - patch.outer.x0, cy = ty - patch.outer.y0;
    if (cx < 20 || cy < 20 || cx > ours.width - 21 || cy > ours.height - 21) continue;
    let a = 0, b = 0, covered = true;
    for (let y = Math.round(cy) - 12; y <= Math.round(cy) + 12 && covered; y++) {
      for (let x = Math.round(cx) - 12; x <= Math.round(cx) + 12; x++) {
        if (Math.hypot(x - cx, y - cy) > 12) continue;
        const i = y * ours.width + x;
        if (!Number.isFinite(ours.data[i]!) || !(weight.data[i]! > 0)) { covered = false; break; }
        a += ours.data[i]!;
        b += theirs.data[i]!;
      }
    }
    if (!covered || !(a > 0)) continue;
    const mo = adaptiveMoments(ours.data, ours.width, ours.height, cx, cy), mt = adaptiveMoments(theirs.data, theirs.width, theirs.height, cx, cy);
    if (mo.flags || mt.flags) continue;
    ratios.push(b / a);
    dx.push((mt.x - mo.x) * 168);
    dy.push((mt.y - mo.y) * 168);
  }
  if (ratios.length === 0) return undefined;
  const med = median(ratios);
  return {
    stars: ratios.length, medianFluxRatio: med, fluxRatioScatter: 1.4826 * median(ratios.map((r) => Math.abs(r - med))),
    positionRmsMas: Math.sqrt((dx.reduce((s, v) => s + v * v, 0) + dy.reduce((s, v) => s + v * v, 0)) / (2 * dx.length)),
  };
}
