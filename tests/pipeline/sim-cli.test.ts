// `tessera sim` end to end, as a user runs it: byte-identical output for the same seed, a manifest
// that lists exactly the files written with their data IDs, files astropy reads, and clear errors.
import { describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { testOutputDir } from '../helpers/paths.js';
import { runPythonJson } from '../helpers/python.js';
import { tessera } from '../helpers/cli.js';


function digests(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rel of (fs.readdirSync(dir, { recursive: true }) as string[]).sort()) {
    const file = path.join(dir, rel);
    if (fs.statSync(file).isFile()) out.set(rel.split(path.sep).join('/'), crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex'));
  }
  return out;
}

describe('tessera sim', () => {
  const root = testOutputDir('sim-cli');
  const args = ['--preset', 'tiny', '--seed', '42'];

  it('runs the tiny preset, writing the same bytes twice for the same seed and a manifest of exactly those files', () => {
    const a = tessera('sim', path.join(root, 'a'), ...args);
    expect(a.stderr).toMatch(/sim tiny: \d+ files/);
    expect(a.status).toBe(0);
    expect(tessera('sim', path.join(root, 'b'), ...args).status).toBe(0);
    const da = digests(path.join(root, 'a'));
    const db = digests(path.join(root, 'b'));
    expect([...da.keys()]).toEqual([...db.keys()]);
    for (const [file, digest] of da) expect(db.get(file), file).toBe(digest);

    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'a', 'manifest.json'), 'utf8')) as {
      format: string; seed: number; files: { path: string; datasetType: string; dataId: Record<string, string | number> }[];
    };
    expect(manifest.format).toBe('tessera-sim-1');
    expect(manifest.seed).toBe(42);
    expect(manifest.files.map((f) => f.path).sort()).toEqual([...da.keys()].filter((k) => k !== 'manifest.json').sort());
    const raws = manifest.files.filter((f) => f.datasetType === 'raw' && f.dataId.observation_type === 'science');
    expect(raws.length).toBe(3 * 3 * 2); // bands x visits x detectors
    for (const raw of raws) expect(Object.keys(raw.dataId).sort()).toEqual(['band', 'detector', 'exposure', 'instrument', 'observation_type', 'physical_filter', 'visit']);
    expect(manifest.files.filter((f) => f.datasetType === 'raw' && f.dataId.observation_type === 'flat').length).toBe(5 * 3 * 2);
    expect(manifest.files.some((f) => f.datasetType === 'refCat')).toBe(true);
  });

  it('changes the pixels with the seed', () => {
    expect(tessera('sim', path.join(root, 'c'), '--preset', 'tiny', '--seed', '43', '--bands', 'g', '--visits', '1').status).toBe(0);
    const da = digests(path.join(root, 'a'));
    const dc = digests(path.join(root, 'c'));
    const raw = [...da.keys()].find((k) => k.startsWith('raw/'))!;
    expect(dc.get(raw)).not.toBe(da.get(raw));
  });

  it('writes raws and truth that astropy reads: uint16 raws with overscan sections, truth tables and masks', () => {
    const dir = path.join(root, 'a');
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { files: { path: string; datasetType: string }[] };
    const raw = path.join(dir, manifest.files.find((f) => f.path.startsWith('raw/'))!.path);
    const truth = path.join(dir, manifest.files.find((f) => f.datasetType === 'truth')!.path);
    const r = runPythonJson<{ dtype: string; shape: number[]; datasec: string; biassec: string; nsrc: number; maskbits: Record<string, number>; wcs: boolean }>(`
import sys, json
from astropy.io import fits
from astropy.wcs import WCS
raw = fits.open(sys.argv[1], checksum=True)
t = fits.open(sys.argv[2], checksum=True)
h = raw[0].header
print(json.dumps({"dtype": str(raw[0].data.dtype), "shape": list(raw[0].data.shape), "datasec": h["DATASEC1"], "biassec": h["BIASSEC1"],
  "nsrc": len(t["SOURCES"].data), "maskbits": {k[3:]: v for k, v in t["MASK"].header.items() if k.startswith("MP_")},
  "wcs": WCS(t["MASK"].header).has_celestial}))`, [raw, truth]);
    expect(r.dtype).toBe('uint16');
    expect(r.shape).toEqual([1036, 560]);
    expect(r.datasec).toMatch(/^\[\d+:\d+,\d+:\d+\]$/);
    expect(r.biassec).toMatch(/^\[\d+:\d+,\d+:\d+\]$/);
    expect(r.nsrc).toBeGreaterThan(50);
    expect(r.maskbits).toEqual({ BAD: 0, SAT: 1, CR: 3, STREAK: 14, GHOST: 15 });
    expect(r.wcs).toBe(true);
  });

  it('refuses bad options with usage (exit 2) and an existing dataset (exit 1), naming the folder', () => {
    expect(tessera('sim', path.join(root, 'x'), '--preset', 'huge').status).toBe(2);
    expect(tessera('sim', path.join(root, 'x'), '--bands', 'g,z').stderr).toMatch(/--bands/);
    expect(tessera('sim', path.join(root, 'x'), '--visits', '0').status).toBe(2);
    const again = tessera('sim', path.join(root, 'a'), ...args);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(path.join(root, 'a'));
  });
});
