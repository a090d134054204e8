/**
 * The Tessera side of the coadd benchmark, in its own process (its peak RSS is its own), two modes:
 * - `prepare DIR N`: raw_<v>.fits (v < N), camera.yaml and refcat/ through isr, characterizeImage and
 *   calibrate into DIR/calexp_<v>.fits (the Exposure storage class, PSF included), the fitted WCS
 *   reduced to its TAN part (SWarp reads no SIP; both sides then use the same WCS), and SWarp's inputs:
 *   sci_<v>.fits (the image, that WCS, FLXSCALE = PHOTCALB) and sci_<v>.weight.fits (the visit's weight in
 *   stackWarps, 1 / its mean variance, and 0 on NO_DATA, BAD, SAT). Also DIR/skymap.json: one tract and patch holding every calexp, and swarp.head,
 *   the patch's WCS and size for SWarp's output.
 * - `coadd DIR RUNS`: reads the calexps, then RUNS times on the main thread: the direct warps (makeWarp
 *   without PSF matching) and their weighted mean (stackWarps), then the PSF-matched warps, then the
 *   artifact rejection (compareWarps on them); writes the first run's direct coadd to DIR/tessera.fits
 *   and its warps to DIR/warp_direct_<v>.fits and DIR/warp_matched_<v>.fits (tile-compressed, as makeWarp's
 *   outputs are; not timed); prints one JSON document:
 *   per run the milliseconds of each stage, the read time, the input pixels, CPU seconds and peak RSS.
 * - `assemble DIR RUNS`: the assembleCoadd quantum on those warp files as the executor's worker runs it
 *   (lib/pipeline/quantumOnBytes.ts, the warps opened deferred over the files), RUNS times; prints the
 *   milliseconds per run and the process's peak RSS: the coadd's memory per patch.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadTessera } from '../node/wasm.js';
import { decodeDataset, encodeDataset } from '../lib/pipeline/storageClasses.js';
import { runQuantumOnBytes } from '../lib/pipeline/quantumOnBytes.js';
import { deferExposure } from '../lib/fits/deferredExposure.js';
import { syncFileSource } from '../node/fits/fileSource.js';
import { zlibCodec } from '../node/fits/zlibCodec.js';
import { collectGarbage } from '../node/executor/collectGarbage.js';
import { runTask, type TaskContext } from '../lib/pipeline/task.js';
import { memoryLogger } from '../lib/pipeline/logger.js';
import { isr } from '../lib/tasks/isr.js';
import { characterizeImage, type CharacterizeImageOutputs, type ExposureWithPsf } from '../lib/tasks/characterizeImage.js';
import { calibrate } from '../lib/tasks/calibrate.js';
import { makeWarp } from '../lib/tasks/makeWarp.js';
import { stackWarps } from '../lib/coadd/stackWarps.js';
import { compareWarps, DEFAULT_COMPARE_WARPS_CONFIG } from '../lib/coadd/compareWarps.js';
import { FWHM_PER_SIGMA } from '../lib/image/psfMatch.js';
import { writeFits } from '../lib/fits/writer.js';
import { readFitsBytes } from '../lib/fits/file.js';
import { FitsHeader } from '../lib/fits/header.js';
import type { Exposure } from '../lib/fits/exposure.js';
import type { RawFrameInput } from '../lib/tasks/rawInput.js';
import type { Camera } from '../lib/sim/camera.js';
import type { ReferenceShard } from '../lib/sim/referenceCatalog.js';
import { makeSkyMap, makeTract, patchById, patchWcsHeader, skyMapFromJson, skyMapToJson, type SkyMap } from '../lib/skymap/index.js';
import { parseWcs } from '../lib/wcs/index.js';

/** The warps are written as the pipeline writes them (makeWarp's 'lossless' recipe), so `assemble` reads what the executor's worker reads. */
const LOSSLESS = { algorithm: 'GZIP_2', codec: zlibCodec } as const;

const [mode, dir, countText] = process.argv.slice(2);
if ((mode !== 'prepare' && mode !== 'coadd' && mode !== 'assemble') || !dir) throw new Error('usage: coaddRun.js prepare|coadd|assemble DIR N');
const count = Number(countText ?? 3);
const tessera = await loadTessera('release');
const read = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(dir, name)));

/** The WCS header without SIP terms (CTYPE back to TAN). */
function tanOnly(header: FitsHeader): FitsHeader {
  const h = header.clone();
  for (const key of [...h.keys()]) if (/^(A|B|AP|BP)_(\d+_\d+|ORDER)$/.test(key)) h.delete(key);
  for (const key of ['CTYPE1', 'CTYPE2']) h.set(key, h.getString(key)!.replace(/-SIP$/, ''));
  return h;
}

if (mode === 'prepare') {
  const camera = await decodeDataset('Camera', read('camera.yaml'), 'camera.yaml') as Camera;
  const refCat: ReferenceShard[] = [];
  for (const name of fs.readdirSync(path.join(dir, 'refcat')).sort()) refCat.push(await decodeDataset('ReferenceShard', read(path.join('refcat', name)), name) as ReferenceShard);
  const corners: [number, number][] = [];
  for (let v = 0; v < count; v++) {
    const raw = await decodeDataset('RawFrame', read(`raw_${v}.fits`), `raw_${v}.fits`) as RawFrameInput;
    const context = { tessera, log: memoryLogger() };
    const post = (runTask(isr, { ccdExposure: raw, camera }, { doBias: false, doDark: false, doFlat: false, doDefect: false }, context) as { outputExposure: Exposure }).outputExposure;
    const char = runTask(characterizeImage, { exposure: post }, {}, context) as CharacterizeImageOutputs;
    const cal = runTask(calibrate, { exposure: char.characterized, background: char.backgroundModel, icSourceCat: char.sourceCat, refCat }, {}, context) as { outputExposure: ExposureWithPsf };
    const calexp: ExposureWithPsf = { ...cal.outputExposure, wcsHeader: tanOnly(cal.outputExposure.wcsHeader) };
    calexp.metadata.set('VISIT', 1000 + v);
    fs.writeFileSync(path.join(dir, `calexp_${v}.fits`), encodeDataset('Exposure', calexp, `calexp_${v}.fits`));
    const header = calexp.wcsHeader.clone();
    header.set('FLXSCALE', calexp.metadata.getNumber('PHOTCALB')!, '[nJy/ct] photometric calibration', { real: true });
    fs.writeFileSync(path.join(dir, `sci_${v}.fits`), writeFits([{ data: calexp.image, shape: [calexp.height, calexp.width], header }]));
    // The weight stackWarps gives the visit (1 / its mean variance over good pixels), 0 on bad pixels: per-pixel
    // 1 / variance would weight each star's pixels by its own noisy signal (SWarp's fluxes came out 1.9 % low so).
    const bad = (1 << calexp.maskPlanes.NO_DATA!) | (1 << calexp.maskPlanes.BAD!) | (1 << calexp.maskPlanes.SAT!);
    let sum = 0, used = 0;
    for (let i = 0; i < calexp.variance.length; i++) if (!(calexp.mask[i]! & bad) && calexp.variance[i]! > 0) { sum += calexp.variance[i]!; used++; }
    const weight = new Float32Array(calexp.variance.length);
    for (let i = 0; i < weight.length; i++) weight[i] = calexp.mask[i]! & bad || !(calexp.variance[i]! > 0) ? 0 : used / sum;
    fs.writeFileSync(path.join(dir, `sci_${v}.weight.fits`), writeFits([{ data: weight, shape: [calexp.height, calexp.width], header: calexp.wcsHeader.clone() }]));
    const wcs = parseWcs(calexp.wcsHeader)!;
    for (const [x, y] of [[0, 0], [calexp.width - 1, 0], [calexp.width - 1, calexp.height - 1], [0, calexp.height - 1]] as const) corners.push(wcs.pixelToSky(x, y));
  }
  // One tract, one patch around every calexp (its inner region the whole tract).
  const ra = corners.reduce((s, c) => s + c[0], 0) / corners.length, dec = corners.reduce((s, c) => s + c[1], 0) / corners.length;
  const size = 4600;
  const skyMap = makeSkyMap('bench', [makeTract({ id: 0, centerRa: ra, centerDec: dec, pixelScaleArcsec: 0.168, width: size, height: size, patchInnerSize: size, patchBorder: 0 })]);
  fs.writeFileSync(path.join(dir, 'skymap.json'), skyMapToJson(skyMap));
  const tract = skyMap.tracts[0]!, patch = patchById(tract, 0);
  const head = patchWcsHeader(tract, patch);
  const lines = [`NAXIS   = 2`, `NAXIS1  = ${patch.outer.width}`, `NAXIS2  = ${patch.outer.height}`];
  for (const key of ['CTYPE1', 'CTYPE2', 'CRVAL1', 'CRVAL2', 'CRPIX1', 'CRPIX2', 'CD1_1', 'CD1_2', 'CD2_1', 'CD2_2']) {
    const v = head.get(key);
    if (v !== undefined) lines.push(`${key.padEnd(8)}= ${typeof v === 'string' ? `'${v}'` : String(v)}`);
  }
  fs.writeFileSync(path.join(dir, 'swarp.head'), `${lines.join('\n')}\nEND\n`);
} else if (mode === 'assemble') {
  const visits: number[] = [];
  for (let v = 0; fs.existsSync(path.join(dir, `warp_direct_${v}.fits`)); v++) visits.push(v);
  const input = (kind: 'direct' | 'matched', v: number) => {
    const file = path.join(dir, `warp_${kind}_${v}.fits`);
    return { source: syncFileSource(file), storageClass: 'Exposure', ref: { datasetType: kind === 'direct' ? 'deepCoadd_directWarp' : 'deepCoadd_psfMatchedWarp', dataId: { visit: 1000 + v }, file } };
  };
  /** One quantum; only its visit count is kept, so that its outputs are garbage afterwards (as the worker's, posted away). */
  const assembleOnce = async (): Promise<number> => {
    const out = await runQuantumOnBytes({
      taskName: 'assembleCoadd', dataId: { band: 'r', skymap: 'bench', tract: 0, patch: 0 }, config: {},
      inputs: { directWarps: visits.map((v) => input('direct', v)), psfMatchedWarps: visits.map((v) => input('matched', v)) },
      outputs: { coadd: { storageClass: 'Exposure', name: 'coadd' }, nImage: { storageClass: 'ImageU', name: 'nImage' } },
    }, { tessera, log: memoryLogger(), codec: zlibCodec });
    // Only the primary header: decoding the coadd's planes here would add to the peak being measured.
    return readFitsBytes('coadd', out.coadd!).hdus[0]!.header.getNumber('NVISITS') ?? 0;
  };
  const runs: number[] = [];
  let visitsCoadded = 0;
  for (let run = 0; run < count; run++) {
    const t = performance.now();
    visitsCoadded = await assembleOnce();
    runs.push(performance.now() - t);
    // The executor's worker collects garbage after each quantum (node/executor/collectGarbage.ts); so does this loop.
    collectGarbage();
  }
  console.log(JSON.stringify({ runs, visits: visitsCoadded, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
} else {
  const skyMap = skyMapFromJson(fs.readFileSync(path.join(dir, 'skymap.json'), 'utf8')) as SkyMap;
  let t = performance.now();
  const calexps: ExposureWithPsf[] = [];
  for (let v = 0; fs.existsSync(path.join(dir, `calexp_${v}.fits`)); v++) calexps.push(await decodeDataset('Exposure', read(`calexp_${v}.fits`), `calexp_${v}.fits`) as ExposureWithPsf);
  const readMs = performance.now() - t;
  const context = (v: number): TaskContext => ({ tessera, log: memoryLogger(), refs: { quantum: { instrument: 'HSC', visit: 1000 + v, skymap: 'bench', tract: 0, patch: 0 } } });
  const runs: { directWarpMs: number; stackMs: number; psfMatchedWarpMs: number; compareMs: number; clipped: number }[] = [];
  const cpu0 = process.cpuUsage();
  for (let run = 0; run < count; run++) {
    t = performance.now();
    const direct = calexps.map((c, v) => runTask(makeWarp, { calExpList: [c], skyMap }, { makePsfMatched: false }, context(v)).direct);
    const directWarpMs = performance.now() - t;
    t = performance.now();
    const planes = direct[0]!.maskPlanes;
    const none = { y: new Int32Array(0), x0: new Int32Array(0), x1: new Int32Array(0) };
    const stack = stackWarps(tessera, direct.map((d) => deferExposure(d)), direct.map(() => none), planes);
    const stackMs = performance.now() - t;
    if (run === 0) {
      const header = direct[0]!.wcsHeader.clone();
      fs.writeFileSync(path.join(dir, 'tessera.fits'), writeFits([{ data: stack.image, shape: [stack.height, stack.width], header }]));
      direct.forEach((d, v) => fs.writeFileSync(path.join(dir, `warp_direct_${v}.fits`), encodeDataset('Exposure', d, `warp_direct_${v}.fits`, LOSSLESS)));
    }
    direct.length = 0;
    t = performance.now();
    const matched = calexps.map((c, v) => runTask(makeWarp, { calExpList: [c], skyMap }, { makePsfMatched: true }, context(v)).psfMatched!);
    const psfMatchedWarpMs = performance.now() - t;
    if (run === 0) matched.forEach((d, v) => fs.writeFileSync(path.join(dir, `warp_matched_${v}.fits`), encodeDataset('Exposure', d, `warp_matched_${v}.fits`, LOSSLESS)));
    t = performance.now();
    const bit = (name: string): number => (planes[name] === undefined ? 0 : 1 << planes[name]!);
    const comparison = compareWarps(tessera, matched.map((d) => deferExposure(d)), { noData: bit('NO_DATA'), bad: bit('BAD'), sat: bit('SAT'), suspect: bit('SUSPECT'), ghost: bit('GHOST') }, 7.7 / FWHM_PER_SIGMA, DEFAULT_COMPARE_WARPS_CONFIG);
    const compareMs = performance.now() - t;
    runs.push({ directWarpMs, stackMs, psfMatchedWarpMs, compareMs, clipped: comparison.nClipped.reduce((a, b) => a + b, 0) });
  }
  const cpu = process.cpuUsage(cpu0);
  const inputPixels = calexps.reduce((s, c) => s + c.width * c.height, 0);
  console.log(JSON.stringify({ runs, readMs, inputPixels, cpuSeconds: (cpu.user + cpu.system) / 1e6 / count, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
}
