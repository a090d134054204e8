// compareWarps (lib/coadd/compareWarps.ts) reads the warps a band of rows at a time for its template:
// the clipped pixels, footprint counts and streaks are the same with bands of 3 rows as with one band,
// and a transient (a bright blob in one visit of five) is clipped from that visit only; a visit's GHOST
// pixels (calibrate's predicted optical ghosts), read from the warps given for them, are clipped from that
// visit, whatever the other visits hold; a visit's direct-warp pixels beyond its PSF-matched warp's data
// are returned as unmatched where 2 or more other visits' have data (none for a PSF-matched warp without data).
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

  it('returns as unmatched a visit\'s direct-warp pixels with data where its PSF-matched warp has none and 2 or more others\' have, but nothing for a PSF-matched warp without any data', () => {
    const input = warps(), bits = { noData: NO_DATA, bad: 1, sat: 2, suspect: 0, ghost: GHOST };
    // Direct warps with data everywhere but visit 0's top 5 rows; visit 3's PSF-matched warp has no data at all.
    const direct = input.map((_, v) => {
      const mask = new Int32Array(W * H);
      if (v === 0) mask.fill(NO_DATA, 0, 5 * W);
      return deferExposure({ width: W, height: H, image: new Float32Array(W * H), variance: new Float32Array(W * H).fill(4), mask }, `direct ${v}`);
    });
    // Visits 1 and 2's PSF-matched warps lack columns 0-4 (visit 4's lacks 0-9): there only visit 0's has data.
    const lacking = (w: ReturnType<typeof deferExposure>): ReturnType<typeof deferExposure> => {
      const { image, variance, mask } = w.read(['IMAGE', 'VARIANCE', 'MASK']);
      const cut = { image: Float32Array.from(image!), variance: Float32Array.from(variance!), mask: Int32Array.from(mask!) };
      for (let y = 0; y < H; y++) for (let x = 0; x < 5; x++) { cut.image[y * W + x] = NaN; cut.mask[y * W + x] = NO_DATA; }
      return deferExposure({ width: W, height: H, ...cut }, 'lacking');
    };
    const matched = input.map((w, v) => (v === 3 ? deferExposure({ width: W, height: H, image: new Float32Array(W * H).fill(NaN), variance: new Float32Array(W * H).fill(NaN), mask: new Int32Array(W * H).fill(NO_DATA) }, 'empty')
      : v === 1 || v === 2 ? lacking(w) : w));
    const out = compareWarps(tessera, matched, bits, 7.7 / 2.3548, DEFAULT_COMPARE_WARPS_CONFIG, undefined, direct);
    // Visit 4's columns 5-9 (visits 0-2 have data there), one span a row; not columns 0-4, nor visits 1 and 2's
    // (fewer than 2 others there: no comparison either way); visit 3 is left as it is; visit 0 matches.
    expect(out.unmatched.map((u) => u.y.length)).toEqual([0, 0, 0, 0, H]);
    expect(Array.from(out.unmatched[4]!.y)).toEqual(Array.from({ length: H }, (_, y) => y));
    expect(new Set(out.unmatched[4]!.x0)).toEqual(new Set([5]));
    expect(new Set(out.unmatched[4]!.x1)).toEqual(new Set([9]));
    // Without direct warps nothing is unmatched.
    expect(compareWarps(tessera, matched, bits, 7.7 / 2.3548).unmatched.map((u) => u.y.length)).toEqual([0, 0, 0, 0, 0]);
    expect(tessera.planes.inUseBytes).toBe(0);
  });
});
