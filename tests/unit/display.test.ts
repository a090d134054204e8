// The viewer's display kernels (assembly/display.ts through lib/display/displayImage.ts), in the release
// and debug wasm, against astropy.visualization and numpy on the same pixels: zscale limits as
// ZScaleInterval's (relative 1e-6), percentiles and min/max as numpy's, asinh/sqrt/log/linear grey levels
// as astropy's stretches of the interval-normalised values within 1 level (0.5 in practice), histeq
// monotone and spreading the pixels evenly; mask tiles set exactly the pixels with the bits; the
// level-of-detail pyramid's pixels are 2x2 means of the finite pixels, masks OR-ed; tiles clip to the image.
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { DisplayImage } from '../../lib/display/displayImage.js';
import { buildLut, colormapWord, type StretchKind } from '../../lib/display/stretch.js';
import { luptonComposite } from '../../lib/display/colorComposite.js';
import { runPythonJson } from '../helpers/python.js';
import { testOutputDir } from '../helpers/paths.js';

const W = 301, H = 207;
const out = testOutputDir('display');

/** A deterministic sky: noise, a gradient, a few bright stars, NaN holes and a saturated blob. */
function skyImage(): { image: Float32Array; mask: Int32Array } {
  let seed = 12345;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const image = new Float32Array(W * H), mask = new Int32Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const g = Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
    let v = 100 + 0.05 * x + 7 * g;
    for (const [sx, sy, f] of [[50, 60, 5e4], [200, 150, 2e5], [120, 30, 8e3]] as const) v += f * Math.exp(-((x - sx) ** 2 + (y - sy) ** 2) / 8) / (8 * Math.PI);
    image[y * W + x] = v;
    if ((x - 200) ** 2 + (y - 150) ** 2 < 9) mask[y * W + x] |= 1 << 1; // SAT
    if (x === 17) mask[y * W + x] |= 1 << 0; // BAD column
    if (v > 300) mask[y * W + x] |= 1 << 5; // DETECTED
  }
  for (let k = 0; k < 40; k++) image[Math.floor(random() * W * H)] = NaN;
  return { image, mask };
}

const PY_REFERENCE = `
import json, sys
import numpy as np
from astropy.visualization import ZScaleInterval, AsinhStretch, SqrtStretch, LogStretch, LinearStretch
w, h = int(sys.argv[2]), int(sys.argv[3])
data = np.fromfile(sys.argv[1], dtype='<f4').reshape(h, w)
lo, hi = ZScaleInterval().get_limits(data)
finite = data[np.isfinite(data)]
t = np.clip((data - lo) / (hi - lo), 0, 1)
grey = {}
for name, s in (('asinh', AsinhStretch()), ('sqrt', SqrtStretch()), ('log', LogStretch()), ('linear', LinearStretch())):
    y = s(np.nan_to_num(t, nan=0.0).copy())
    grey[name] = (255 * y).ravel().tolist()
print(json.dumps({'zscale': [float(lo), float(hi)], 'minmax': [float(finite.min()), float(finite.max())],
                  'p': [float(np.percentile(finite, 0.5)), float(np.percentile(finite, 99.5))], 'grey': grey}))
`;

for (const variant of ['release', 'debug'] as const) {
  describe(`display kernels (${variant} wasm)`, () => {
    let tessera: Tessera, display: DisplayImage;
    const { image, mask } = skyImage();
    let reference: { zscale: [number, number]; minmax: [number, number]; p: [number, number]; grey: Record<string, number[]> };

    beforeAll(async () => {
      tessera = await loadTessera(variant);
      display = new DisplayImage(tessera, W, H, image, mask);
      const file = path.join(out, 'sky.f32');
      fs.writeFileSync(file, Buffer.from(image.buffer, image.byteOffset, image.byteLength));
      reference = runPythonJson(PY_REFERENCE, [file, String(W), String(H)]);
    });

    it('gives astropy\'s zscale limits and numpy\'s min/max and percentiles', () => {
      const [lo, hi] = display.limits({ kind: 'zscale' });
      expect(Math.abs(lo / reference.zscale[0] - 1)).toBeLessThan(1e-6);
      expect(Math.abs(hi / reference.zscale[1] - 1)).toBeLessThan(1e-6);
      expect(display.limits({ kind: 'minmax' })).toEqual(reference.minmax);
      const [p0, p1] = display.limits({ kind: 'percentile', low: 0.5, high: 99.5 });
      expect(Math.abs(p0 - reference.p[0])).toBeLessThan(1e-4 * Math.abs(reference.p[0]));
      expect(Math.abs(p1 - reference.p[1])).toBeLessThan(1e-4 * Math.abs(reference.p[1]));
    });

    it('stretches as astropy does within 1 grey level (asinh, sqrt, log, linear with zscale limits)', () => {
      const [lo, hi] = display.limits({ kind: 'zscale' });
      for (const kind of ['asinh', 'sqrt', 'log', 'linear'] as StretchKind[]) {
        const tile = display.renderTile(0, 0, 0, W, H, { kind, colormap: 'grey', lo, hi });
        expect([tile.width, tile.height]).toEqual([W, H]);
        let worst = 0;
        for (let i = 0; i < W * H; i++) {
          if (!Number.isFinite(image[i]!)) {
            expect(tile.rgba[4 * i + 3], 'NaN is transparent').toBe(0);
            continue;
          }
          worst = Math.max(worst, Math.abs(tile.rgba[4 * i]! - reference.grey[kind]![i]!));
          expect(tile.rgba[4 * i + 3]).toBe(255);
        }
        expect(worst, kind).toBeLessThanOrEqual(1);
      }
    });

    it('equalises the histogram: grey levels monotone in the value, about evenly spread', () => {
      const [lo, hi] = display.limits({ kind: 'minmax' });
      const tile = display.renderTile(0, 0, 0, W, H, { kind: 'histeq', colormap: 'grey', lo, hi });
      const pairs: [number, number][] = [];
      for (let i = 0; i < W * H; i++) if (Number.isFinite(image[i]!)) pairs.push([image[i]!, tile.rgba[4 * i]!]);
      pairs.sort((a, b) => a[0] - b[0]);
      for (let k = 1; k < pairs.length; k++) expect(pairs[k]![1]).toBeGreaterThanOrEqual(pairs[k - 1]![1]);
      // Quartiles of the pixels at about a quarter, half and three quarters of the grey range.
      for (const q of [0.25, 0.5, 0.75]) expect(Math.abs(pairs[Math.floor(q * pairs.length)]![1] / 255 - q)).toBeLessThan(0.02);
    });

    it('sets exactly the pixels with the mask bits in a mask tile, and clips tiles to the image', () => {
      const colour = colormapWord('grey', 200);
      const tile = display.renderMaskTile(0, 150, 100, 200, 200, (1 << 1) | (1 << 0), colour);
      expect([tile.x0, tile.y0, tile.width, tile.height]).toEqual([150, 100, W - 150, H - 100]);
      let set = 0;
      const words = new Uint32Array(tile.rgba.buffer);
      for (let y = 0; y < tile.height; y++) for (let x = 0; x < tile.width; x++) {
        const want = mask[(y + 100) * W + x + 150]! & 3 ? colour : 0;
        expect(words[y * tile.width + x]).toBe(want);
        if (want) set++;
      }
      expect(set).toBeGreaterThan(10);
    });

    it('builds the pyramid from 2x2 means of the finite pixels, masks OR-ed', () => {
      expect(display.levelSize(1)).toEqual({ width: Math.ceil(W / 2), height: Math.ceil(H / 2) });
      expect(display.levelsToFit(64)).toBe(3);
      const [lo, hi] = [0, 1000];
      const tile = display.renderTile(1, 0, 0, 151, 104, { kind: 'linear', colormap: 'grey', lo, hi });
      const lut = buildLut('linear', 'grey');
      for (const [bx, by] of [[25, 30], [100, 75], [150, 103], [8, 8]] as const) {
        const values: number[] = [];
        for (let y = 2 * by; y < Math.min(H, 2 * by + 2); y++) for (let x = 2 * bx; x < Math.min(W, 2 * bx + 2); x++) if (Number.isFinite(image[y * W + x]!)) values.push(image[y * W + x]!);
        const mean = Math.fround(values.reduce((a, b) => a + b, 0) / values.length);
        const want = lut[Math.round(Math.min(1, Math.max(0, (mean - lo) / (hi - lo))) * 65535)]! & 255;
        expect(Math.abs(tile.rgba[4 * (by * 151 + bx)]! - want), `block (${bx}, ${by})`).toBeLessThanOrEqual(1);
      }
      const maskTile = display.renderMaskTile(1, 0, 0, 151, 104, 1, 0xffffffff);
      // The BAD column x = 17 falls in block column 8.
      for (let by = 0; by < 104; by++) expect(new Uint32Array(maskTile.rgba.buffer)[by * 151 + 8]).toBe(0xffffffff);
      expect(new Uint32Array(maskTile.rgba.buffer)[10 * 151 + 9]).toBe(0);
    });

    it('makes 4x4 and 8x8 block means (4 pixels at a time where blocks are whole) as the means of the finite pixels, masks OR-ed', () => {
      const { planes, kernels } = tessera;
      for (const factor of [4, 8]) {
        const ow = Math.ceil(W / factor), oh = Math.ceil(H / factor);
        const got = planes.scope(() => {
          const src = planes.alloc(4 * W * H), msk = planes.alloc(4 * W * H), o = planes.alloc(4 * ow * oh), om = planes.alloc(4 * ow * oh);
          planes.f32(src, W * H).set(image);
          planes.i32(msk, W * H).set(mask);
          expect(kernels.binMean(src, msk, W, H, factor, o, om, planes.alloc(16 * ow))).toBe(0);
          return { means: planes.f32(o, ow * oh).slice(), masks: planes.i32(om, ow * oh).slice() };
        });
        for (let by = 0; by < oh; by++) for (let bx = 0; bx < ow; bx++) {
          let sum = 0, n = 0, bits = 0;
          for (let y = by * factor; y < Math.min(H, (by + 1) * factor); y++) for (let x = bx * factor; x < Math.min(W, (bx + 1) * factor); x++) {
            const v = image[y * W + x]!;
            if (Number.isFinite(v)) { sum += v; n++; }
            bits |= mask[y * W + x]!;
          }
          const k = by * ow + bx, want = Math.fround(sum / n);
          expect(Math.abs(got.means[k]! - want), `factor ${factor} block (${bx}, ${by})`).toBeLessThanOrEqual(Math.abs(want) * 2 ** -23);
          expect(got.masks[k]).toBe(bits);
        }
      }
    });

    it('composes three bands as astropy\'s make_lupton_rgb (within 1 level; NaN black; negative and saturated pixels)', () => {
      // Three bands from the sky: shifted, scaled, with negative noise and very bright stars.
      const r = image.map((v) => v - 100), g = image.map((v, i) => 0.7 * (v - 100) + (i % 7) - 3), b = image.map((v, i) => 0.4 * (v - 100) - (i % 5));
      const files = [r, g, b].map((band, k) => {
        const file = path.join(out, `band${k}.f32`);
        fs.writeFileSync(file, Buffer.from(band.buffer, band.byteOffset, band.byteLength));
        return file;
      });
      for (const [stretch, q, minimum] of [[40, 8, 0], [5, 3, -2], [500, 0, 1]] as const) {
        const want = runPythonJson<number[]>(`
import json, sys
import numpy as np
from astropy.visualization import make_lupton_rgb
w, h = int(sys.argv[4]), int(sys.argv[5])
bands = [np.fromfile(f, dtype='<f4').reshape(h, w) for f in sys.argv[1:4]]
with np.errstate(all='ignore'):
    rgb = make_lupton_rgb(*bands, minimum=float(sys.argv[6]), stretch=float(sys.argv[7]), Q=float(sys.argv[8]))
print(json.dumps(rgb.ravel().tolist()))
`, [...files, String(W), String(H), String(minimum), String(stretch), String(q)]);
        const got = luptonComposite(tessera, r, g, b, { stretch, q, minimum });
        let worst = 0, equal = 0;
        for (let i = 0; i < W * H; i++) {
          for (let c = 0; c < 3; c++) {
            const d = Math.abs(got[4 * i + c]! - want[3 * i + c]!);
            worst = Math.max(worst, d);
            if (d === 0) equal++;
          }
          expect(got[4 * i + 3]).toBe(255);
        }
        expect(worst, `stretch ${stretch} Q ${q}`).toBeLessThanOrEqual(1);
        expect(equal / (3 * W * H), `stretch ${stretch} Q ${q}`).toBeGreaterThan(0.99);
      }
    });

    it('reads a pixel and returns its memory', () => {
      expect(display.pixel(17, 3)).toEqual({ value: image[3 * W + 17], mask: mask[3 * W + 17] });
      expect(display.pixel(W, 0)).toBeUndefined();
      const before = tessera.planes.inUseBytes;
      display.dispose();
      expect(tessera.planes.inUseBytes).toBeLessThan(before);
      expect(tessera.planes.inUseBytes).toBe(0);
    });
  });
}
