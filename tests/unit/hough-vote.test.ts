// The wasm Hough vote (assembly/coadd.ts's houghVote, lib/coadd/streaks.ts's transform) against the same
// votes in plain JS, bit for bit: blocks with random means voted in, some voted out again, and rho
// rounded as Math.round rounds (halves up), including blocks on the exact half-way points of theta = 0.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { libm } from '../../lib/math/libm.js';

let tessera: Tessera;
beforeAll(async () => { tessera = await loadTessera('debug'); });

describe('houghVote', () => {
  it('accumulates the same sums and counts as plain JS, votes in and out', () => {
    const bw = 37, bh = 23, nb = bw * bh, thetas = 360;
    const rhoMax = Math.ceil(Math.hypot(bw, bh)), nRho = 2 * rhoMax + 1;
    const cos = Float64Array.from({ length: thetas }, (_, t) => libm.cos((t * Math.PI) / thetas));
    const sin = Float64Array.from({ length: thetas }, (_, t) => libm.sin((t * Math.PI) / thetas));
    let s = 5;
    const next = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const means = Float64Array.from({ length: nb }, () => next() * 4 - 1);
    const voteIn = Array.from({ length: nb }, (_, b) => b).filter(() => next() < 0.8), voteOut = voteIn.filter(() => next() < 0.3);
    const refSum = new Float64Array(thetas * nRho), refCount = new Int32Array(thetas * nRho);
    const jsVote = (blocks: number[], sign: 1 | -1): void => {
      for (const b of blocks) {
        const bx = (b % bw) + 0.5, by = Math.floor(b / bw) + 0.5, m = sign * means[b]!;
        for (let t = 0; t < thetas; t++) {
          const k = t * nRho + Math.round(bx * cos[t]! + by * sin[t]!) + rhoMax;
          refSum[k]! += m;
          refCount[k]! += sign;
        }
      }
    };
    jsVote(voteIn, 1);
    jsVote(voteOut, -1);
    const { planes, kernels } = tessera;
    planes.scope(() => {
      const m = planes.allocFrom(means), c = planes.allocFrom(cos), sn = planes.allocFrom(sin);
      const sum = planes.alloc(8 * thetas * nRho), count = planes.alloc(4 * thetas * nRho), list = planes.alloc(4 * nb);
      planes.f64(sum, thetas * nRho).fill(0);
      planes.i32(count, thetas * nRho).fill(0);
      for (const [blocks, sign] of [[voteIn, 1], [voteOut, -1]] as const) {
        planes.i32(list, blocks.length).set(blocks);
        expect(kernels.houghVote(list, blocks.length, m, nb, bw, c, sn, thetas, nRho, rhoMax, sign, sum, count)).toBe(0);
      }
      // theta = 0: rho = bx, a half-integer for every block, rounded up.
      expect(Math.round(0.5)).toBe(1);
      expect(new Uint8Array(planes.f64(sum, thetas * nRho).slice().buffer)).toEqual(new Uint8Array(refSum.buffer));
      expect(planes.i32(count, thetas * nRho).slice()).toEqual(refCount);
      expect(refCount.some((v) => v > 5)).toBe(true);
      // A block index past the means is refused.
      planes.i32(list, 1)[0] = nb;
      expect(kernels.houghVote(list, 1, m, nb, bw, c, sn, thetas, nRho, rhoMax, 1, sum, count)).not.toBe(0);
    });
  });
});
