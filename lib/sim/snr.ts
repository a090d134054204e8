/**
 * Matched-filter S/N of each truth source (DESIGN.md "How we measure ourselves"; as
 * reference/peers/match.py's snr_opt): S/N^2 = sum_i m_i^2 / v_i over the pixels of the source's
 * noise-free model m, with v_i = sky_i + all sources_i + read noise^2 (e^2; the noise-free planes, and
 * the largest read noise of the detector's amplifiers), held as f32. m is the source exactly as the
 * renderer draws it (buildSourceTable's components and cutoffs, the kernel's f32 values), and the sum
 * runs over its box, out to where it holds all but max(1e-5 of its flux, 0.01 e-) (at most
 * MAX_SOURCE_RADIUS px); the wasm kernel mixtureSnr (assembly/render.ts) evaluates it. A source that
 * is not drawn (zero flux, or no component above the tolerance) or whose box misses the detector has
 * S/N 0.
 */
import type { Tessera } from '../wasm/loader.js';
import { checkStatus } from '../wasm/kernels.js';
import { buildSourceTable, TABLE_ROW_LENGTH } from './renderer.js';
import type { SimulatedExposure } from './simulateExposure.js';

/** One S/N per entry of `exposure.profiles` (hence of `exposure.sources`), in the same order. */
export function matchedFilterSnr(tessera: Tessera, exposure: SimulatedExposure): Float64Array {
  const { width, height } = exposure.detector;
  const n = width * height;
  const readVariance = Math.max(...exposure.detector.amplifiers.map((a) => a.readNoise)) ** 2;
  const profiles = exposure.profiles;
  const out = new Float64Array(profiles.length);
  // buildSourceTable leaves out the sources it would not draw: build the table source by source (the
  // rows do not depend on the other sources) to know which profile each table source is.
  const parts = profiles.map((source) => buildSourceTable([source]));
  const drawn: number[] = [];
  let rows = 0;
  parts.forEach((part, k) => {
    if (part.sources > 0) drawn.push(k);
    rows += part.rows;
  });
  if (rows === 0) return out;
  const table = new Float64Array(rows * TABLE_ROW_LENGTH);
  let at = 0;
  for (const part of parts) {
    table.set(part.table, at);
    at += part.table.length;
  }
  const { planes, kernels } = tessera;
  const snr = planes.scope(() => {
    const variance = planes.plane('f32', width, height);
    const tablePtr = planes.allocFrom(table);
    const outPtr = planes.alloc(drawn.length * 8);
    const v = planes.f32(variance.ptr, n);
    const sky = exposure.planes.sky;
    const sources = exposure.planes.sources;
    for (let i = 0; i < n; i++) v[i] = sky[i]! + sources[i]! + readVariance;
    checkStatus('mixtureSnr', kernels.mixtureSnr(tablePtr, rows, variance.ptr, width, height, outPtr));
    return planes.f64(outPtr, drawn.length).slice();
  });
  drawn.forEach((k, j) => {
    out[k] = snr[j]!;
  });
  return out;
}
