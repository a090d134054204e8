// Pieces of the SExtractor mode (lib/measure/sextractor/) on small hand-made inputs: glibc's rand() as SEP
// draws it, Lutz's 8-connected segmentation, the zero-padded filter, the mesh background of a flat image
// and the masked-mesh fill, and the Kron/aperture photometry of a flat disc.
import { describe, expect, it } from 'vitest';
import { convolveImage, GlibcRandom, lutzComponents, SEXTRACTOR_FLAGS, type IsophotalObject } from '../../lib/measure/sextractor/detection.js';
import { backgroundAt, backgroundMap, fqmedian, sextractorBackground } from '../../lib/measure/sextractor/background.js';
import { apertureFlux } from '../../lib/measure/sextractor/photometry.js';

describe('SExtractor mode pieces', () => {
  it('draws glibc rand() after srand(1)', () => {
    const r = new GlibcRandom(1);
    expect([r.next(), r.next(), r.next(), r.next(), r.next()]).toEqual([1804289383, 846930886, 1681692777, 1714636915, 1957747793]);
  });

  it('segments 8-connected pixels, drops groups below the minimum area and flags the border', () => {
    // 6 x 5 image: a diagonal chain of 4 pixels, an isolated pixel, and a 2-pixel group on the right edge.
    const on = new Set(['0,0', '1,1', '2,2', '3,1', '2,4', '5,2', '5,3']);
    const found: [number[], number][] = [];
    lutzComponents(6, 5, 0, 0, 6, 5, (x, y) => on.has(`${x},${y}`), 2, (pixels, flag) => found.push([Array.from(pixels).sort((a, b) => a - b), flag]));
    expect(found).toHaveLength(2);
    const chain = found.find(([p]) => p.includes(0))!;
    expect(chain[0]).toEqual([0, 7, 9, 14]);
    expect(chain[1] & SEXTRACTOR_FLAGS.TRUNCATED).toBeTruthy();
    const edge = found.find(([p]) => p.includes(2 * 6 + 5))!;
    expect(edge[0]).toEqual([17, 23]);
    expect(edge[1]).toBe(SEXTRACTOR_FLAGS.TRUNCATED);
  });

  it('filters with zeros beyond the image edge', () => {
    const image = new Float32Array(9).fill(1);
    const kernel = Float32Array.from([1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16));
    const out = convolveImage(image, 3, 3, kernel, 3, 3);
    expect(out[4]).toBeCloseTo(1, 6);
    expect(out[0]).toBeCloseTo(9 / 16, 6);
    expect(out[1]).toBeCloseTo(12 / 16, 6);
  });

  it('takes medians as SExtractor (mean of the middle two)', () => {
    expect(fqmedian([3, 1, 2])).toBe(2);
    expect(fqmedian([4, 1, 3, 2])).toBe(2.5);
  });

  it('gives a flat image its level, and fills a masked mesh from its neighbours', () => {
    const w = 64, h = 64;
    const image = new Float32Array(w * h);
    for (let i = 0; i < image.length; i++) image[i] = 100 + ((i * 7919) % 13) - 6;
    const flat = sextractorBackground(image, w, h, { meshWidth: 16, meshHeight: 16, filterWidth: 3, filterHeight: 3 });
    expect(flat.nx).toBe(4);
    const map = backgroundMap(flat, 'back');
    for (const v of map) expect(Math.abs(v - 100)).toBeLessThan(0.5);
    const mask = new Uint8Array(w * h);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) { mask[y * w + x] = 1; image[y * w + x] = 1e6; }
    const masked = sextractorBackground(image, w, h, { meshWidth: 16, meshHeight: 16, filterWidth: 1, filterHeight: 1, mask });
    expect(Math.abs(masked.back[0]! - 100)).toBeLessThan(0.5);
    expect(Math.abs(backgroundAt(masked, 0, 0) - 100)).toBeLessThan(0.5);
  });

  it('sums a flat disc in a circular aperture (5 x 5 sampling at the edge) and flags one leaving the image', () => {
    const w = 40, h = 40;
    const image = new Float32Array(w * h).fill(1);
    // Off a pixel centre, so that no 5 x 5 sample falls exactly on the circle.
    const o = { mx: 20.3, my: 19.6 } as IsophotalObject;
    const inside = apertureFlux({ width: w, height: h, image, variance: 4, gain: 0 }, o, 10);
    expect(inside.flux).toBeCloseTo(Math.PI * 25, 0);
    expect(inside.fluxErr).toBeCloseTo(Math.sqrt(4 * inside.flux), 6);
    expect(inside.flags).toBe(0);
    const edge = apertureFlux({ width: w, height: h, image, variance: 4, gain: 0 }, { mx: 2, my: 20 } as IsophotalObject, 10);
    expect(edge.flags).toBe(SEXTRACTOR_FLAGS.APERTURE_INCOMPLETE);
  });
});
