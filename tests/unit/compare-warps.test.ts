// compareWarps (lib/coadd/compareWarps.ts) reads the warps a band of rows at a time for its template:
// the clipped pixels, footprint counts and streaks are the same with bands of 3 rows as with one band,
// and a transient (a bright blob in one visit of five) is clipped from that visit only; a visit's GHOST
// pixels (calibrate's predicted optical ghosts), read from the warps given for them, are clipped from that
// visit, whatever the other visits hold.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { compareWarps, DEFAULT_COMPARE_WARPS_CONFIG } from '../../lib/coadd/compareWarps.js';
import { deferExposure } from '../../lib/fits/deferredExposure.js';

const W = 120, H = 90, NO_DATA = 1 << 8, GHOST = 1 << 15;

function warps(): ReturnType<typeof deferExposure>[] {
  let s = 99;
  const u = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const normal = (): number => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return Array.from({ length: 5 }, (_, v) => {
    const image = new Float32Array(W * H), variance = new Float32Array(W * H).fill(4), mask = new Int32Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (v === 4 && x < 10) { image[i] = NaN; mask[i] = NO_DATA; continue; }
      const star = 3000 / (2 * Math.PI * 9) * Math.exp(-((x - 60) ** 2 + (y - 45) ** 2) / 18);
      const blob = v === 2 ? 3000 / (2 * Math.PI * 9) * Math.exp(-((x - 30) ** 2 + (y - 70) ** 2) / 18) : 0;
      image[i] = star + blob + 2 * normal();
      // Visit 1's ghost mask: a ring about (90, 30), radii 6-14 px (its light is not drawn: the mask is what counts).
      if (v === 1 && (x - 90) ** 2 + (y - 30) ** 2 >= 36 && (x - 90) ** 2 + (y - 30) ** 2 <= 196) mask[i] = GHOST;
    }
    return deferExposure({ width: W, height: H, image, variance, mask }, `warp ${v}`);
  });
}

let tessera: Tessera;
beforeAll(async () => { tessera = await loadTessera('release'); });

describe('compareWarps', () => {
  it('gives the same result with the template made in bands of 3 rows as in one band, and clips a one-visit transient from that visit only', () => {
    const input = warps(), bits = { noData: NO_DATA, bad: 1, sat: 2, suspect: 0, ghost: GHOST };
    const whole = compareWarps(tessera, input, bits, 7.7 / 2.3548, DEFAULT_COMPARE_WARPS_CONFIG);
    const banded = compareWarps(tessera, input, bits, 7.7 / 2.3548, DEFAULT_COMPARE_WARPS_CONFIG, 3 * (8 * 5 * W + 12 * W));
    expect(banded).toEqual(whole);
    expect(whole.nClipped).toEqual([0, 0, 1, 0, 0]);
    const c = whole.clipped[2]!;
    const atBlob = [...c.y.keys()].some((k) => c.y[k] === 70 && c.x0[k]! <= 30 && c.x1[k]! >= 30);
    expect(atBlob).toBe(true);
    expect(whole.comparable).toBe(W * H);
    // The ghost ring's pixels, and only those, are clipped from visit 1 (no footprint there).
    const ring = input[1]!.read(['MASK']).mask!.filter((m) => m & GHOST).length;
    expect(whole.ghostPixels).toEqual([0, ring, 0, 0, 0]);
    const v1 = whole.clipped[1]!;
    let spanned = 0;
    for (let k = 0; k < v1.y.length; k++) spanned += v1.x1[k]! - v1.x0[k]! + 1;
    expect(spanned).toBe(ring);
    expect(ring).toBeGreaterThan(400);
    // GHOST pixels from other warps of the same box (assembleCoadd gives the direct warps): here visit 1's mask read as visit 3's.
    const sources = [input[0]!, input[3]!, input[2]!, input[1]!, input[4]!];
    expect(compareWarps(tessera, input, bits, 7.7 / 2.3548, DEFAULT_COMPARE_WARPS_CONFIG, undefined, sources).ghostPixels).toEqual([0, 0, 0, ring, 0]);
    expect(tessera.planes.inUseBytes).toBe(0);
  });
});
