// The halo search (lib/measure/halos.ts, kernels in assembly/halos.ts) on synthetic images: a flat sky
// with white noise of sigma 10, a "star" whose core is masked DETECTED and whose wing (a power law beyond
// the core) reaches far past it. Asserts: the block sums match a direct sum (and, bit for bit in every
// build, the kernel's four-lane order); the halo blocks from given sums match a brute-force reference in
// every build (haloBlocks: significance, hysteresis, growth and the isolated halos' test); the wing is flagged where its surface brightness is well above the
// blocks' noise and not far beyond, the halo adjoining the core grown
// by one block; pure noise flags few blocks (none grown: no footprint for them to adjoin), and keeps few
// of them (isolated halos under 5 sigma as a whole are dropped; masking them biased the background low); a
// sky gradient is not a halo (the reference is a plane), nor is vignetting where the bins allow a quadratic
// reference (a plane takes it for one); in detectWithBackground the halos lower the
// background under a star's wing and leave the returned mask as it was but for the detection planes;
// estimateBackground leaves halo blocks out as it leaves masked pixels out, without touching the mask;
// an image whose halos would leave the background no bin is fitted
// with its footprints alone; bad configurations are refused.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { MASK_PLANES } from '../../lib/pipeline/maskPlanes.js';
import { backgroundAt, estimateBackground, maskBits, DEFAULT_BACKGROUND_CONFIG, type MaskedImage } from '../../lib/measure/background.js';
import { detectWithBackground } from '../../lib/measure/detection.js';
import { findHalos, HaloError } from '../../lib/measure/halos.js';

let tessera: Tessera;
beforeAll(async () => { tessera = await loadTessera('release'); });

const W = 512, H = 512, SIGMA = 10;
const DETECTED = 1 << MASK_PLANES.DETECTED;
const SKIP = maskBits(DEFAULT_BACKGROUND_CONFIG.ignoredPixelMask);

function splitmix(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
}

/** Sky 1000 + surface(x, y) + N(0, SIGMA); a star's core (r < coreRadius) masked DETECTED when given. */
function image(seed: number, surface: (x: number, y: number) => number, core?: { x: number; y: number; radius: number }): MaskedImage {
  const u = splitmix(seed);
  const img = new Float32Array(W * H), mask = new Int32Array(W * H), variance = new Float32Array(W * H).fill(SIGMA * SIGMA);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const g = Math.sqrt(-2 * Math.log(u() + 1e-300)) * Math.cos(2 * Math.PI * u());
      img[y * W + x] = 1000 + surface(x, y) + SIGMA * g;
      if (core && (x - core.x) ** 2 + (y - core.y) ** 2 < core.radius ** 2) mask[y * W + x] = DETECTED;
    }
  }
  return { width: W, height: H, image: img, mask, variance };
}

const flagged = (h: ReturnType<typeof findHalos>, x: number, y: number): boolean => h.flags[Math.floor(y / h.block) * h.nbx + Math.floor(x / h.block)] === 1;

describe('halos', () => {
  it('sums blocks as a direct sum does (edge blocks clipped; skipped, non-finite and non-finite-variance pixels left out), in four lanes bit for bit in every build', async () => {
    const w = 37, h = 21;
    const img = Float32Array.from({ length: w * h }, (_, i) => (i % 11) - 3.5 + i * 1e-3);
    const variance = Float32Array.from({ length: w * h }, (_, i) => 1 + (i % 5) + i * 1e-4);
    const mask = Int32Array.from({ length: w * h }, (_, i) => (i % 7 === 0 ? DETECTED : 0));
    img[100] = NaN;
    variance[200] = Infinity;
    for (const block of [8, 6]) {
      const nbx = Math.ceil(w / block), nby = Math.ceil(h / block);
      for (const build of ['release', 'debug', 'scalar'] as const) {
        const t = build === 'release' ? tessera : await loadTessera(build);
        const sums = t.planes.scope(() => {
          const { planes, kernels } = t;
          const out = planes.alloc(24 * nbx * nby);
          expect(kernels.blockSums(planes.allocFrom(img), planes.allocFrom(mask), planes.allocFrom(variance), w, h, block, DETECTED, out)).toBe(0);
          return planes.f64(out, 3 * nbx * nby).slice();
        });
        for (let by = 0; by < nby; by++) {
          for (let bx = 0; bx < nbx; bx++) {
            let direct = 0, c = 0;
            const laneSums = [0, 0];
            for (let y = by * block; y < Math.min(h, (by + 1) * block); y++) {
              const s = [0, 0, 0, 0], v = [0, 0, 0, 0];
              for (let x = bx * block; x < Math.min(w, (bx + 1) * block); x++) {
                const i = y * w + x;
                if (mask[i] || !Number.isFinite(img[i]!) || !Number.isFinite(variance[i]!)) continue;
                direct += img[i]!;
                s[(x - bx * block) & 3] += img[i]!;
                v[(x - bx * block) & 3] += variance[i]!;
                c++;
              }
              laneSums[0] += (s[0]! + s[1]!) + (s[2]! + s[3]!);
              laneSums[1] += (v[0]! + v[1]!) + (v[2]! + v[3]!);
            }
            const k = 3 * (by * nbx + bx);
            expect(sums[k], `${build} block ${block}`).toBeCloseTo(direct, 9);
            expect([sums[k], sums[k + 1], sums[k + 2]], `${build} block ${block}`).toEqual([laneSums[0], laneSums[1], c]);
          }
        }
      }
    }
  });

  it('ORs a bit into every pixel of the flagged blocks (edge blocks clipped), the same in every build, and refuses a grid that does not tile the image', async () => {
    const w = 37, h = 21, block = 8, nbx = 5, nby = 3;
    const mask = Int32Array.from({ length: w * h }, (_, i) => (i % 7 === 0 ? DETECTED : 0));
    const flags = Uint8Array.from({ length: nbx * nby }, (_, k) => (k % 3 === 0 || k === nbx * nby - 1 ? 1 : 0));
    const bit = 1 << 31;
    const expected = Int32Array.from(mask, (m, i) => {
      const x = i % w, y = (i - x) / w;
      return flags[Math.floor(y / block) * nbx + Math.floor(x / block)] ? m | bit : m;
    });
    for (const build of ['release', 'debug', 'scalar'] as const) {
      const t = build === 'release' ? tessera : await loadTessera(build);
      const out = t.planes.scope(() => {
        const { planes, kernels } = t;
        const m = planes.allocFrom(mask), f = planes.allocFrom(flags);
        expect(kernels.orBlockMask(m, w, h, block, nbx, nby, f, bit), build).toBe(0);
        expect(kernels.orBlockMask(m, w, h, block, nbx - 1, nby, f, bit), `${build}: a grid short of the image`).not.toBe(0);
        return planes.i32(m, w * h).slice();
      });
      expect(out, build).toEqual(expected);
    }
  });

  it('finds the halo blocks as a brute-force reference does (hysteresis and connectivity by relaxation to a fixed point), the same in every build, and refuses bad grids', async () => {
    // Sums of 8-px blocks over a 317 x 235 image (the last column and row of blocks clipped): white noise,
    // a "footprint" (blocks with under a fifth of their pixels usable) with light around it, another
    // footprint and a block short of one pixel with none, a bump of light far from both (too bright to
    // drop as noise) and a fainter one.
    const block = 8, width = 317, height = 235, nbx = Math.ceil(width / block), nby = Math.ceil(height / block), n = nbx * nby;
    const factors = [1, 2, 4, 8];
    const cfg = { seed: 2.5, grow: 1, minGood: 0.2, steps: 1, isolated: 5 };
    const u = splitmix(7);
    const gauss = (): number => Math.sqrt(-2 * Math.log(u() + 1e-300)) * Math.cos(2 * Math.PI * u());
    const areaOf = (k: number): number => {
      const i = k % nbx, j = (k - i) / nbx;
      return (Math.min((i + 1) * block, width) - i * block) * (Math.min((j + 1) * block, height) - j * block);
    };
    const sky = Float64Array.from({ length: n }, (_, k) => 100 + 0.01 * (k % nbx) - 0.02 * Math.floor(k / nbx));
    const light = (i: number, j: number): number => 3 * Math.exp(-((i - 10) ** 2 + (j - 12) ** 2) / 20) + 1.5 * Math.exp(-((i - 30) ** 2 + (j - 20) ** 2) / 8)
      + 0.6 * Math.exp(-((i - 5) ** 2 + (j - 25) ** 2) / 3);
    const sums = new Float64Array(3 * n);
    for (let k = 0; k < n; k++) {
      const i = k % nbx, j = (k - i) / nbx;
      const footprint = (Math.abs(i - 10) <= 1 && Math.abs(j - 12) <= 1) || (i === 20 && j === 5);
      const count = footprint ? Math.floor(areaOf(k) / 5) : k === 3 * nbx + 35 ? areaOf(k) - 1 : areaOf(k);
      const variance = count * 25;
      sums[3 * k] = count * (sky[k]! + light(i, j)) + Math.sqrt(variance) * gauss();
      sums[3 * k + 1] = variance;
      sums[3 * k + 2] = count;
    }
    // The reference: each step as its definition reads, connectivity by relaxation.
    const neighbours = (k: number, mx: number, my: number): number[] => {
      const i = k % mx, j = (k - i) / mx, out: number[] = [];
      for (let jj = Math.max(0, j - 1); jj <= Math.min(my - 1, j + 1); jj++) for (let ii = Math.max(0, i - 1); ii <= Math.min(mx - 1, i + 1); ii++) out.push(jj * mx + ii);
      return out;
    };
    const residual = Float64Array.from({ length: n }, (_, k) => sums[3 * k]! - sums[3 * k + 2]! * sky[k]!);
    const expected = new Uint8Array(n);
    for (const f of factors) {
      const mx = Math.ceil(nbx / f), my = Math.ceil(nby / f);
      const sig = new Float64Array(mx * my);
      for (let K = 0; K < mx * my; K++) {
        const I = K % mx, J = (K - I) / mx;
        let r = 0, v = 0, c = 0;
        for (let j = J * f; j < Math.min(J * f + f, nby); j++) {
          for (let i = I * f; i < Math.min(I * f + f, nbx); i++) {
            if (expected[j * nbx + i]) continue;
            r += residual[j * nbx + i]!;
            v += sums[3 * (j * nbx + i) + 1]!;
            c += sums[3 * (j * nbx + i) + 2]!;
          }
        }
        const area = (Math.min((I + 1) * f * block, width) - I * f * block) * (Math.min((J + 1) * f * block, height) - J * f * block);
        sig[K] = c >= cfg.minGood * area && v > 0 ? r / Math.sqrt(v) : 0;
      }
      const on = Uint8Array.from(sig, (g) => (g > cfg.seed ? 1 : 0));
      for (let changed = true; changed;) {
        changed = false;
        for (let K = 0; K < mx * my; K++) {
          if (!on[K] && sig[K]! > cfg.grow && neighbours(K, mx, my).some((L) => on[L])) { on[K] = 1; changed = true; }
        }
      }
      for (let k = 0; k < n; k++) {
        const i = k % nbx, j = (k - i) / nbx;
        if (on[Math.floor(j / f) * mx + Math.floor(i / f)]) expected[k] = 1;
      }
    }
    const leftOut = (k: number): boolean => sums[3 * k + 2]! < areaOf(k);
    const grow = Uint8Array.from({ length: n }, (_, k) => (expected[k] && neighbours(k, nbx, nby).some(leftOut) ? 1 : 0));
    for (let changed = true; changed;) {
      changed = false;
      for (let k = 0; k < n; k++) if (expected[k] && !grow[k] && neighbours(k, nbx, nby).some((l) => grow[l])) { grow[k] = 1; changed = true; }
    }
    // The other halos: components by relaxation of the smallest block index.
    const label = Int32Array.from({ length: n }, (_, k) => (expected[k] && !grow[k] ? k : -1));
    for (let changed = true; changed;) {
      changed = false;
      for (let k = 0; k < n; k++) {
        if (label[k]! < 0) continue;
        for (const l of neighbours(k, nbx, nby)) if (label[l]! >= 0 && label[l]! < label[k]!) { label[k] = label[l]!; changed = true; }
      }
    }
    let dropped = 0, kept = 0;
    for (const root of new Set([...label].filter((l) => l >= 0))) {
      const members = [...label.keys()].filter((k) => label[k] === root);
      const r = members.reduce((a, k) => a + residual[k]!, 0), v = members.reduce((a, k) => a + sums[3 * k + 1]!, 0);
      // Sums in another order than the kernel's: no component may sit at the threshold to rounding.
      expect(Math.abs(r / Math.sqrt(v) - cfg.isolated)).toBeGreaterThan(1e-9);
      if (r / Math.sqrt(v) >= cfg.isolated) kept++;
      else { dropped++; for (const k of members) expected[k] = 0; }
    }
    for (let s = 0; s < cfg.steps; s++) {
      const from = grow.slice();
      for (let k = 0; k < n; k++) if (from[k]) for (const l of neighbours(k, nbx, nby)) grow[l] = expected[l] = 1;
    }
    // The field exercises every branch: halos grown from footprints, isolated ones kept and dropped.
    expect(grow.reduce((a, g) => a + g, 0)).toBeGreaterThan(20);
    expect(kept).toBeGreaterThan(0);
    expect(dropped).toBeGreaterThan(0);
    for (const build of ['release', 'debug', 'scalar'] as const) {
      const t = build === 'release' ? tessera : await loadTessera(build);
      const flags = t.planes.scope(() => {
        const { planes, kernels } = t;
        const s = planes.allocFrom(sums), k = planes.allocFrom(sky), fac = planes.allocFrom(Int32Array.from(factors));
        const scratch = planes.alloc(22 * n), out = planes.alloc(n);
        const run = (nx: number, ny: number, f = fac, nf = factors.length): number =>
          kernels.haloBlocks(s, k, nx, ny, block, width, height, f, nf, cfg.seed, cfg.grow, cfg.minGood, cfg.steps, cfg.isolated, scratch, out);
        expect(run(nbx + 1, nby), `${build}: a grid wider than the image`).not.toBe(0);
        expect(run(nbx, nby, planes.allocFrom(Int32Array.of(1, 0)), 2), `${build}: a factor of 0`).not.toBe(0);
        expect(run(nbx, nby), build).toBe(0);
        return planes.u8(out, n).slice();
      });
      expect(flags, build).toEqual(expected);
    }
  });

  it('flags a bright wing beyond the masked core where it is well above the noise, and not far beyond', () => {
    // Wing: 40 (r / 20)^-3 counts (4 sigma per pixel at r = 20 px, 0.5 sigma at 40, 0.04 sigma at 100).
    const cx = 256, cy = 256;
    const wing = (x: number, y: number): number => 40 * (Math.max(Math.hypot(x - cx, y - cy), 20) / 20) ** -3;
    const img = image(1, wing, { x: cx, y: cy, radius: 20 });
    const halos = findHalos(tessera, img, estimateBackground(tessera, img), SKIP);
    // Rings of radius r: the fraction of their blocks flagged.
    const ring = (r: number): number => {
      let on = 0, n = 0;
      for (let t = 0; t < 64; t++) { n++; if (flagged(halos, cx + r * Math.cos((2 * Math.PI * t) / 64), cy + r * Math.sin((2 * Math.PI * t) / 64))) on++; }
      return on / n;
    };
    const report = [30, 50, 80, 120, 200].map((r) => `r ${r}: ${(100 * ring(r)).toFixed(0)} %`).join(', ');
    console.log(`wing flagged per ring: ${report}`);
    // r 30: 1.2 sigma per pixel; r 50: 0.26 sigma per pixel, 4 sigma per 16-px block (measured 100 %; 81 %
    // before the growth by one block: the reference plane, refitted from bins that hold part of the wing,
    // sits slightly above the sky).
    expect(ring(30)).toBe(1);
    expect(ring(50)).toBeGreaterThan(0.75);
    expect(ring(200)).toBeLessThan(0.1);
    // The halo adjoining the core is grown by one block: the ungrown halo's blocks and more.
    const ungrown = findHalos(tessera, img, estimateBackground(tessera, img), SKIP, { growBlocks: 0 });
    expect(ungrown.flags.every((f, k) => !f || halos.flags[k] === 1)).toBe(true);
    expect(halos.flags.reduce((a, b) => a + b, 0)).toBeGreaterThan(ungrown.flags.reduce((a, b) => a + b, 0));
  });

  it('drops the halos that adjoin no footprint unless significant as a whole: pure noise keeps few, and the background is then unbiased; a faint disc of light without a footprint stays', () => {
    const flat = image(2, () => 0);
    const model = estimateBackground(tessera, flat);
    const count = (h: ReturnType<typeof findHalos>): number => h.flags.reduce((a, b) => a + b, 0);
    const all = findHalos(tessera, flat, model, SKIP, { isolatedThreshold: 0 });
    const kept = findHalos(tessera, flat, model, SKIP);
    // The mean of the background re-estimated without the halo blocks, minus the true sky, per pixel sigma.
    const bias = (h: ReturnType<typeof findHalos>): number => {
      const m = estimateBackground(tessera, flat, {}, h);
      return (m.values.reduce((a, v) => a + v, 0) / m.values.length - 1000) / SIGMA;
    };
    console.log(`pure noise: ${count(all)} halo blocks found, ${count(kept)} kept; background bias ${bias(all).toFixed(4)} sigma with them all, ${bias(kept).toFixed(4)} with those kept`);
    expect(count(all)).toBeGreaterThan(50);
    // Measured: 11 of 128 blocks kept (one halo of noise reaches 5 sigma as a whole).
    expect(count(kept)).toBeLessThan(0.15 * count(all));
    // Masking the sky's upward fluctuations lowers the background (measured -0.0060 sigma; -0.0003 with those kept).
    expect(bias(all)).toBeLessThan(-0.005);
    expect(Math.abs(bias(kept))).toBeLessThan(0.003);
    // 0.5 sigma per pixel over a disc of 40 px radius (about 35 sigma in all), with no footprint.
    const disc = image(4, (x, y) => (Math.hypot(x - 256, y - 256) < 40 ? SIGMA / 2 : 0));
    const onDisc = findHalos(tessera, disc, estimateBackground(tessera, disc), SKIP);
    expect(flagged(onDisc, 256, 256)).toBe(true);
    expect(flagged(onDisc, 256 + 30, 256)).toBe(true);
    expect(() => findHalos(tessera, flat, model, SKIP, { isolatedThreshold: -1 })).toThrow(/isolatedThreshold/);
  });

  it('flags few blocks of pure noise, and hardly more (within 2 points) with a sky gradient of 100 sigma (the reference is a plane)', () => {
    const flat = image(2, () => 0);
    const onFlat = findHalos(tessera, flat, estimateBackground(tessera, flat), SKIP);
    const fraction = onFlat.flags.reduce((a, b) => a + b, 0) / onFlat.flags.length;
    const sloped = image(2, (x, y) => 0.2 * x - 0.1 * y);
    const onSlope = findHalos(tessera, sloped, estimateBackground(tessera, sloped), SKIP);
    const slopeFraction = onSlope.flags.reduce((a, b) => a + b, 0) / onSlope.flags.length;
    console.log(`blocks flagged: pure noise ${(100 * fraction).toFixed(2)} %, with a gradient of 100 sigma over the image ${(100 * slopeFraction).toFixed(2)} %`);
    expect(fraction).toBeLessThan(0.1);
    // No pixel is left out of the sums, so no halo adjoins one: none is grown.
    expect(findHalos(tessera, flat, estimateBackground(tessera, flat), SKIP, { growBlocks: 0 }).flags).toEqual(onFlat.flags);
    expect(Math.abs(slopeFraction - fraction)).toBeLessThan(0.02);
    // With 3 bins a side (too few for a quadratic) the reference is still a plane, not a constant.
    const coarse = { binSize: 192 };
    const onCoarseSlope = findHalos(tessera, sloped, estimateBackground(tessera, sloped, coarse), SKIP);
    const coarseFraction = onCoarseSlope.flags.reduce((a, b) => a + b, 0) / onCoarseSlope.flags.length;
    console.log(`with 3 x 3 bins of 192 px: ${(100 * coarseFraction).toFixed(2)} %`);
    expect(Math.abs(coarseFraction - fraction)).toBeLessThan(0.02);
  });

  // Measured: 1.76 % of the blocks on pure noise, 1.71 % vignetted, 46.7 % vignetted against a plane.
  it('takes no halo from a curved sky (vignetting left in: 8 % of the sky lower at the corners) where the bins allow a quadratic reference, and a plane would', () => {
    const background = { binSize: 64 };
    const flagged = (img: MaskedImage, overrides: { referenceOrder?: number } = {}): number => {
      const halos = findHalos(tessera, img, estimateBackground(tessera, img, background), SKIP, overrides);
      return halos.flags.reduce((a, b) => a + b, 0) / halos.flags.length;
    };
    const flat = image(3, () => 0);
    const vignetted = image(3, (x, y) => -80 * ((x - W / 2) ** 2 + (y - H / 2) ** 2) / ((W / 2) ** 2 + (H / 2) ** 2));
    const [onFlat, onCurve, againstPlane] = [flagged(flat), flagged(vignetted), flagged(vignetted, { referenceOrder: 1 })];
    console.log(`blocks flagged: pure noise ${(100 * onFlat).toFixed(2)} %, vignetted ${(100 * onCurve).toFixed(2)} %, vignetted against a plane ${(100 * againstPlane).toFixed(2)} %`);
    expect(Math.abs(onCurve - onFlat)).toBeLessThan(0.02);
    expect(againstPlane).toBeGreaterThan(0.2);
  });

  it('in detectWithBackground: the background ignores the halos (HALO in its ignoredPixelMask), the returned mask keeps every bit it carried and no halo bit', () => {
    const cx = 256, cy = 256;
    const wing = (x: number, y: number): number => 200 * (Math.max(Math.hypot(x - cx, y - cy), 10) / 10) ** -2;
    const img = image(4, wing);
    // An unnamed plane on bit 30 (a file's own plane): it must survive, and the halos must use another bit.
    for (let i = 0; i < img.mask.length; i += 97) img.mask[i] = img.mask[i]! | (1 << 30);
    const before = Int32Array.from(img.mask);
    const found = detectWithBackground(tessera, img, { detection: { psfSigma: 2 } });
    const withoutHalos = detectWithBackground(tessera, img, { detection: { psfSigma: 2 }, halos: false });
    expect(found.background.ignoredPixelMask).toContain('HALO');
    expect(withoutHalos.background.ignoredPixelMask).not.toContain('HALO');
    expect(Array.from(img.mask)).toEqual(Array.from(before));
    const detectedBits = (1 << MASK_PLANES.DETECTED) | (1 << MASK_PLANES.DETECTED_NEGATIVE);
    let changed = 0;
    for (let i = 0; i < before.length; i++) if ((found.detection.mask[i]! & ~detectedBits) !== (before[i]! & ~detectedBits)) changed++;
    expect(changed).toBe(0);
    // The wing (r^-2: 0.2 sigma per pixel at 100 px) raises the background without the halo search; with it,
    // by less than half as much (measured 0.47 against 1.96 counts, sigma 10; sky 1000).
    const at = (m: typeof found.background): number => backgroundAt(m, cx, cy) - 1000;
    console.log(`background at the star: ${at(found.background).toFixed(3)} with halos, ${at(withoutHalos.background).toFixed(3)} without (sigma ${SIGMA})`);
    expect(Math.abs(at(found.background))).toBeLessThan(0.5 * Math.abs(at(withoutHalos.background)));
  });

  it('in detectWithBackground: on an image filled by one star\'s light, where the halos leave no background bin, fits with the footprints alone and says so', () => {
    // A 128 x 128 cut-out around a star whose r^-2 wing is 1.2 sigma per pixel 64 px out (like the DECam
    // cut-outs of tests/pipeline/repo-ingest-images.test.ts): footprint and halos cover the one bin
    // (without this fallback the re-estimate fails: no bin has enough good pixels).
    const n = 128, c = 63.5, u = splitmix(5);
    const img = new Float32Array(n * n), variance = new Float32Array(n * n).fill(SIGMA * SIGMA);
    for (let i = 0; i < n * n; i++) {
      const r = Math.hypot((i % n) - c, Math.floor(i / n) - c);
      img[i] = 1000 + 4500 * (Math.max(r, 4) / 4) ** -2 + SIGMA * Math.sqrt(-2 * Math.log(u() + 1e-300)) * Math.cos(2 * Math.PI * u());
    }
    const found = detectWithBackground(tessera, { width: n, height: n, image: img, mask: new Int32Array(n * n), variance }, { detection: { psfSigma: 2 } });
    expect(found.background.ignoredPixelMask).not.toContain('HALO');
    expect(found.detection.mask.some((m) => (m & DETECTED) !== 0)).toBe(true);
    // No transient halo bit is left in the returned mask: only named planes' bits.
    const named = Object.values(MASK_PLANES).reduce((a: number, b) => a | (1 << b), 0);
    expect(found.detection.mask.every((m) => (m & ~named) === 0)).toBe(true);
    expect(Number.isFinite(backgroundAt(found.background, c, c))).toBe(true);
  });

  it('leaves the halo blocks out of estimateBackground as if they were masked, in its own copy of the mask; refuses bad configurations', () => {
    // The left half of the first 128-px bin is 3 sigma brighter: flagged as halo blocks, the bin is the
    // sky's (the same bits as with those pixels masked DETECTED); not flagged, it is pulled up.
    const bright = (x: number, y: number): boolean => x < 64 && y < 128;
    const img = image(11, (x, y) => (bright(x, y) ? 30 : 0));
    const block = 8, nbx = W / block, nby = H / block;
    const halos = { block, nbx, nby, flags: Uint8Array.from({ length: nbx * nby }, (_, k) => (bright((k % nbx) * block, Math.floor(k / nbx) * block) ? 1 : 0)) };
    const before = img.mask.slice();
    const withHalos = estimateBackground(tessera, img, {}, halos);
    expect(Array.from(img.mask)).toEqual(Array.from(before));
    const masked = estimateBackground(tessera, { ...img, mask: Int32Array.from(img.mask, (m, i) => (bright(i % W, Math.floor(i / W)) ? m | DETECTED : m)) });
    expect(Array.from(withHalos.values)).toEqual(Array.from(masked.values));
    expect(Math.abs(withHalos.values[0]! - 1000)).toBeLessThan(0.5);
    expect(estimateBackground(tessera, img).values[0]! - 1000).toBeGreaterThan(5);
    expect(withHalos.ignoredPixelMask).toContain('HALO');
    expect(masked.ignoredPixelMask).not.toContain('HALO');
    expect(() => estimateBackground(tessera, img, {}, { ...halos, nbx: nbx - 1 })).toThrow(/halo blocks of 8 px do not tile a 512x512 image/);
    const flat = image(3, () => 0);
    const model = estimateBackground(tessera, flat);
    expect(() => findHalos(tessera, flat, model, SKIP, { blockSizes: [8, 12] })).toThrow(HaloError);
    expect(() => findHalos(tessera, flat, model, SKIP, { seedThreshold: 1, growThreshold: 2 })).toThrow(/seedThreshold/);
    expect(() => findHalos(tessera, flat, model, SKIP, { minGoodFraction: 0 })).toThrow(/minGoodFraction/);
    expect(() => findHalos(tessera, flat, model, SKIP, { growBlocks: 0.5 })).toThrow(/growBlocks/);
  });
});
