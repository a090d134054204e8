/**
 * Matched-filter S/N of each truth source (DESIGN.md "How we measure ourselves"; as
 * reference/peers/match.py's snr_opt): S/N^2 = sum_i m_i^2 / v_i over the pixels of the source's
 * noise-free model m, with v_i = sky_i + all sources_i + read noise^2 (e-, noise-free planes). The
 * sum runs over the source's box out to the radius where its model falls below 1e-6 of its peak,
 * capped at 60 px (beyond, m^2/v changes S/N by far less than 0.1 %).
 */
import type { SimulatedExposure } from './simulateExposure.js';

const MAX_RADIUS = 60;

export function matchedFilterSnr(exposure: SimulatedExposure): Float64Array {
  const { width, height } = exposure.detector;
  const readVariance = Math.max(...exposure.detector.amplifiers.map((a) => a.readNoise)) ** 2;
  const sky = exposure.planes.sky;
  const model = exposure.planes.sources;
  const out = new Float64Array(exposure.profiles.length);
  exposure.profiles.forEach((source, k) => {
    // Inverse covariances and normalisations of the components.
    const comps = source.profile.map((c) => {
      const det = c.xx * c.yy - c.xy * c.xy;
      return { a: c.yy / det, b: -c.xy / det, c: c.xx / det, norm: (source.flux * c.weight) / (2 * Math.PI * Math.sqrt(det)), reach: Math.max(c.xx, c.yy) };
    });
    const reach = Math.min(MAX_RADIUS, Math.ceil(Math.sqrt(2 * Math.log(1e6) * Math.max(...comps.map((c) => c.reach)))));
    const x0 = Math.max(0, Math.floor(source.x - reach));
    const x1 = Math.min(width - 1, Math.ceil(source.x + reach));
    const y0 = Math.max(0, Math.floor(source.y - reach));
    const y1 = Math.min(height - 1, Math.ceil(source.y + reach));
    let sum = 0;
    for (let y = y0; y <= y1; y++) {
      const dy = y - source.y;
      for (let x = x0; x <= x1; x++) {
        const dx = x - source.x;
        let m = 0;
        for (const c of comps) m += c.norm * Math.exp(-0.5 * (c.a * dx * dx + 2 * c.b * dx * dy + c.c * dy * dy));
        const i = y * width + x;
        sum += (m * m) / (sky[i]! + model[i]! + readVariance);
      }
    }
    out[k] = Math.sqrt(sum);
  });
  return out;
}
