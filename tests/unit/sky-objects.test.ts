// Sky objects (lib/coadd/skyObjects.ts, LSST's generateSkyObjects): on a box half covered by
// detections, 100 disks of radius 8 px, none touching a detected pixel, none closer than twice the radius
// to another (their grown circles block later trials), all inside the box shrunk by radius + 1, each with
// one peak at its centre; the same seed gives the same objects and another seed others; a fully detected
// box gives none.
import { describe, expect, it } from 'vitest';
import { diskSpans, skyObjectFootprints } from '../../lib/coadd/skyObjects.js';

const W = 600, H = 450;

function detections(): Uint8Array {
  const mask = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if ((x - 120) ** 2 + (y - 150) ** 2 < 90 ** 2 || (x % 53 < 6 && y % 41 < 6)) mask[y * W + x] = 1;
  return mask;
}

describe('skyObjectFootprints', () => {
  const mask = detections();
  const objects = skyObjectFootprints(mask, W, H, 42);

  it('places 100 disks of radius 8 px on blank pixels, apart from each other, inside the box', () => {
    expect(objects.length).toBe(100);
    const centres = objects.map((o) => o.peaks[0]!);
    for (const [k, o] of objects.entries()) {
      const c = centres[k]!;
      expect(o.peaks.length).toBe(1);
      expect(c.value).toBe(0);
      expect(o.spans).toEqual(diskSpans(c.x, c.y, 8));
      expect(o.spans.reduce((s, sp) => s + sp.x1 - sp.x0 + 1, 0)).toBe(197); // pixels within 8 px of the centre
      for (const sp of o.spans) for (let x = sp.x0; x <= sp.x1; x++) expect(mask[sp.y * W + x]).toBe(0);
      expect(c.x).toBeGreaterThanOrEqual(9);
      expect(c.y).toBeGreaterThanOrEqual(9);
      expect(c.x).toBeLessThanOrEqual(W - 10);
      expect(c.y).toBeLessThanOrEqual(H - 10);
      for (let j = 0; j < k; j++) expect(Math.hypot(c.x - centres[j]!.x, c.y - centres[j]!.y)).toBeGreaterThan(16);
    }
  });

  it('is deterministic for a seed, different for another, and empty on a fully detected box', () => {
    expect(skyObjectFootprints(mask, W, H, 42)).toEqual(objects);
    const other = skyObjectFootprints(mask, W, H, 43);
    expect(other.map((o) => [o.peaks[0]!.x, o.peaks[0]!.y])).not.toEqual(objects.map((o) => [o.peaks[0]!.x, o.peaks[0]!.y]));
    expect(skyObjectFootprints(new Uint8Array(W * H).fill(1), W, H, 42)).toEqual([]);
    expect(skyObjectFootprints(mask, W, H, 42, { nSources: 0, sourceRadius: 8, nTrialSourcesMultiplier: 5 })).toEqual([]);
  });
});
