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

  const results = { date: started.toISOString(), version: readPackageVersion(), node: process.version, cpu: os.cpus()[0]?.model, fitsRead: read, convolution: conv, simulator: sim };
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
