/**
 * `npm run bench`: Tessera side by side with its peers, in one run, as ratios (never part of npm test).
 * Prints a table and writes bench/results/<date>.json and bench/results/latest.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { packageRoot } from '../node/packageRoot.js';
import { readPackageVersion } from '../node/version.js';
import { benchConvolution } from './convolution.js';
import { benchFitsRead } from './fitsRead.js';
import { benchSimulator } from './simulator.js';
import { benchProcessCcd } from './processCcd.js';
import { benchCoadd } from './coadd.js';
import { benchViewer } from './viewer.js';

const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)).padStart(8);

async function main(): Promise<void> {
  const started = new Date();
  console.log(`tessera ${readPackageVersion()} bench on ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores), Node ${process.version}`);

  const read = await benchFitsRead();
  console.log(`\nRead a ${read.width}x${read.height} float32 FITS image into memory (median of ${read.tessera.runs}, ms)`);
  const ratio = (t: { medianMs: number }): string => `${(read.astropy.medianMs / t.medianMs).toFixed(2)}x astropy's speed`;
  console.log(`  tessera, into a new array (cold pages)     ${fmt(read.tessera.medianMs)}   ${ratio(read.tessera)}`);
  console.log(`  tessera, into a reused wasm plane          ${fmt(read.tesseraIntoPlane.medianMs)}   ${ratio(read.tesseraIntoPlane)}`);
  console.log(`  astropy ${read.astropyVersion} (fits.open(memmap=False) + data)  ${fmt(read.astropy.medianMs)}`);

  const conv = await benchConvolution();
  const mpix = (conv.width * conv.height) / 1e6;
  console.log(`\nSeparable Gaussian convolution, ${conv.width}x${conv.height}, sigma ${conv.sigma} px (median of ${conv.simd.runs}, ms; Mpix/s)`);
  for (const [label, t] of [['wasm SIMD', conv.simd], ['wasm scalar', conv.scalar], ['plain JS', conv.plainJs]] as const) {
    console.log(`  ${label.padEnd(12)} ${fmt(t.medianMs)}  ${(mpix / (t.medianMs / 1000)).toFixed(0).padStart(6)} Mpix/s`);
  }
  console.log(`  SIMD speed-up: ${(conv.scalar.medianMs / conv.simd.medianMs).toFixed(2)}x over scalar wasm, ${(conv.plainJs.medianMs / conv.simd.medianMs).toFixed(2)}x over plain JS`);

  const sim = await benchSimulator();
  console.log(`\nSimulate one HSC detector (${sim.pixels / 1e6} Mpix, ${sim.sources} sources, ${sim.cosmicRays} cosmic rays, a trail; raw + truth + S/N), one thread`);
  console.log(`  tessera, first detector of a process       ${fmt(sim.tesseraFirstMs)} ms`);
  console.log(`  tessera, each further exposure (median)    ${fmt(sim.tessera.medianMs)} ms`);
  if ('medianMs' in sim.peer) {
    console.log(`  make_image.py (2000 stars, 2000 galaxies)  ${fmt(sim.peer.medianMs)} ms`);
    console.log(`  ratio make_image / tessera: ${(sim.peer.medianMs / sim.tessera.medianMs).toFixed(1)}x (first detector ${(sim.peer.medianMs / sim.tesseraFirstMs).toFixed(1)}x)`);
  } else console.log(`  make_image.py: ${sim.peer.error}`);

  const ccd = await benchProcessCcd();
  const s = (x: number): string => x.toFixed(2).padStart(7);
  console.log(`\nprocessCcd of one HSC detector (${(ccd.pixels / 1e6).toFixed(2)} Mpix raw, ${ccd.sources} sources), one thread (Tessera: median of runs 2-${ccd.tessera.runs}; peers: median of ${ccd.tessera.runs} runs each, s)`);
  console.log(`  tessera isr                                 ${s(ccd.tessera.isrS)}`);
  console.log(`  tessera characterizeImage                   ${s(ccd.tessera.characterizeS)}`);
  console.log(`  tessera calibrate                           ${s(ccd.tessera.calibrateS)}`);
  console.log(`  tessera garbage collection between tasks    ${s(ccd.tessera.gcS)}`);
  console.log(`  tessera processCcd total                    ${s(ccd.tessera.totalS)}   CPU ${ccd.tessera.cpuS.toFixed(2)} s per run, peak RSS ${ccd.tessera.maxRssMb.toFixed(0)} MB (one run; ${ccd.tessera.allRunsMaxRssMb.toFixed(0)} MB after ${ccd.tessera.runs} in one process)`);
  console.log(`  steps: ${Object.entries(ccd.tessera.steps).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
  const found = (c: { found: number; total: number }): string => `${c.found}/${c.total}${c.total > 0 ? ` (${((100 * c.found) / c.total).toFixed(1)} %)` : ''}`;
  console.log(`  completeness: S/N >= 10 ${found(ccd.completeness.snr10)}; ${ccd.completeness.byMagnitude.map((b) => `${b.range} ${found(b)}`).join(', ')}`);
  if ('error' in ccd.peer) console.log(`  peer chain: ${ccd.peer.error}`);
  else {
    const p = ccd.peer;
    console.log(`  source-extractor to LDAC                    ${s(p.ldac.wallS)}   CPU ${p.ldac.cpuS.toFixed(2)}, RSS ${p.ldac.maxRssMb.toFixed(0)} MB`);
    console.log(`  psfex                                       ${s(p.psfex.wallS)}   CPU ${p.psfex.cpuS.toFixed(2)}, RSS ${p.psfex.maxRssMb.toFixed(0)} MB${p.stars ? ` (${p.stars})` : ''}`);
    console.log(`  source-extractor with the PSF               ${s(p.psfPhotometry.wallS)}   CPU ${p.psfPhotometry.cpuS.toFixed(2)}, RSS ${p.psfPhotometry.maxRssMb.toFixed(0)} MB`);
    console.log(`  same work (background, detection, PSF, measurement): tessera ${ccd.tessera.sameWorkS.toFixed(2)} s vs peer chain ${p.totalS.toFixed(2)} s = ${(ccd.tessera.sameWorkS / p.totalS).toFixed(2)} of the peers' time`);
  }
  if (!('error' in ccd.extract)) {
    const e = ccd.extract;
    console.log(`  tessera extract (command line)              ${s(e.tessera.wallS)}   CPU ${e.tessera.cpuS.toFixed(2)}, RSS ${e.tessera.maxRssMb.toFixed(0)} MB`);
    console.log(`  source-extractor alone                      ${s(e.sourceExtractor.wallS)}   CPU ${e.sourceExtractor.cpuS.toFixed(2)}, RSS ${e.sourceExtractor.maxRssMb.toFixed(0)} MB   ratio ${(e.tessera.wallS / e.sourceExtractor.wallS).toFixed(2)}`);
  }

  const coadd = await benchCoadd();
  const t = coadd.tessera;
  console.log(`\nWarps and coadd of ${coadd.visits} HSC-size calexps onto one patch (${coadd.inputMpix.toFixed(1)} Mpix in), one thread (Tessera: median of runs 2-3, s)`);
  console.log(`  tessera direct warps                        ${s(t.directWarpS)}`);
  console.log(`  tessera weighted mean                       ${s(t.stackS)}`);
  console.log(`  tessera warps + weighted mean               ${s(t.directTotalS)}   ${t.mpixPerS.toFixed(2)} Mpix/s in, peak RSS ${t.maxRssMb.toFixed(0)} MB (five calexps, warps and PSF-matched warps held)`);
  console.log(`  tessera PSF matching (on top of warping)    ${s(t.psfMatchingS)}`);
  console.log(`  tessera artifact rejection (compareWarps)   ${s(t.artifactRejectionS)}   ${t.clipped} footprints clipped`);
  console.log(`  tessera assembleCoadd quantum, warp files   ${s(t.assembleS)}   ${t.assembleVisits} visits, peak RSS ${t.assembleMaxRssMb.toFixed(0)} MB (target: under 1 GB per patch)`);
  if ('error' in coadd.swarp) console.log(`  SWarp: ${coadd.swarp.error}`);
  else {
    console.log(`  SWarp LANCZOS3 weighted (NTHREADS 1)        ${s(coadd.swarp.wallS)}   ${coadd.swarp.mpixPerS.toFixed(2)} Mpix/s in, CPU ${coadd.swarp.cpuS.toFixed(2)}, RSS ${coadd.swarp.maxRssMb.toFixed(0)} MB`);
    console.log(`  speed ratio tessera / SWarp: ${coadd.speedRatio!.toFixed(2)} (target >= 2)`);
    const c = coadd.comparison;
    if (c) console.log(`  at ${c.stars} stars: SWarp / Tessera 12-px flux ${c.medianFluxRatio.toFixed(5)} (median; robust scatter ${c.fluxRatioScatter.toExponential(1)}), centroids ${c.positionRmsMas.toFixed(2)} mas rms per axis apart`);
  }

  const viewer = await benchViewer();
  const q = (x: { p50: number; p95: number }): string => `p50 ${x.p50.toFixed(0).padStart(5)} ms, p95 ${x.p95.toFixed(0).padStart(5)} ms`;
  console.log(`\nViewer in headless Chromium (software WebGL, 1280x800, DPR 1): ${viewer.size}x${viewer.size} float32 image, ${viewer.markers} markers`);
  console.log(`  first paint after the bytes arrive          ${q(viewer.firstPaintMs)}   (target < 1000 ms)`);
  console.log(`  restretch                                   ${q(viewer.restretchMs)}   (target < 50 ms)`);
  console.log(`  frame interval panning at 1:1, no markers   ${q(viewer.panFrameMs.noMarkers)}`);
  console.log(`  frame interval panning at 1:1, ${viewer.markers} markers ${q(viewer.panFrameMs.markers)}   (60 fps targets apply with a GPU only)`);

  const results = { date: started.toISOString(), version: readPackageVersion(), node: process.version, cpu: os.cpus()[0]?.model, fitsRead: read, convolution: conv, simulator: sim, processCcd: ccd, coadd, viewer };
  const dir = path.join(packageRoot(), 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  for (const name of [`${stamp}.json`, 'latest.json']) fs.writeFileSync(path.join(dir, name), JSON.stringify(results, null, 2));
  console.log(`\nresults: bench/results/${stamp}.json`);
}

main().catch((err) => {
  console.error(`bench: ${(err as Error).message}`);
  process.exitCode = 1;
});
