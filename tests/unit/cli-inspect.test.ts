// `tessera inspect` as a user runs it (the compiled CLI in dist/), on every real FITS file beside the
// repository, against astropy: same HDUs, types, EXTNAMEs, BITPIX and shapes, and WCS centre and
// corners within 1e-7 deg. Bad input exits non-zero with a message naming the file.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { realDataDir, realFitsFiles, testOutputDir } from '../helpers/paths.js';
import { runPythonJson } from '../helpers/python.js';
import type { Inspection } from '../../lib/inspect.js';
import { tessera } from '../helpers/cli.js';


const realFits = realFitsFiles({ gzip: true });

const ASTROPY_INSPECT = `
import sys, json, warnings
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
warnings.simplefilter('ignore')
out = []
for path in sys.argv[1:]:
    hdus = []
    with fits.open(path) as hdul:
        for i, h in enumerate(hdul):
            entry = {"index": i, "extname": h.header.get("EXTNAME"), "bitpix": h.header["ZBITPIX" if isinstance(h, fits.CompImageHDU) else "BITPIX"]}
            if isinstance(h, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
                entry["type"] = "IMAGE"
                naxis = h.header.get("NAXIS", 0)
                entry["shape"] = [h.header["NAXIS%d" % k] for k in range(naxis, 0, -1)]
                w = WCS(h.header, fobj=hdul)
                if w.has_celestial:
                    # CTYPE as the header writes it (wcslib renames TPV to TAN internally).
                    entry["ctype"] = [h.header["CTYPE%d" % (a + 1)].strip() for a in sorted([w.wcs.lng, w.wcs.lat])]
                    if naxis >= 2 and h.header["NAXIS1"] > 0 and h.header["NAXIS2"] > 0:
                        nx, ny = h.header["NAXIS1"], h.header["NAXIS2"]
                        px = np.array([[(nx + 1) / 2, (ny + 1) / 2], [1, 1], [nx, 1], [nx, ny], [1, ny]], dtype=float)
                        world = w.celestial.all_pix2world(px, 1)
                        entry["center"] = world[0].tolist()
                        entry["corners"] = world[1:].tolist()
            elif isinstance(h, fits.BinTableHDU):
                entry["type"] = "BINTABLE"
                entry["shape"] = [h.header["NAXIS2"], h.header["NAXIS1"]]
            elif isinstance(h, fits.TableHDU):
                entry["type"] = "TABLE"
                entry["shape"] = [h.header["NAXIS2"], h.header["NAXIS1"]]
            hdus.append(entry)
    out.append({"file": path, "hdus": hdus})
print(json.dumps(out))
`;

interface AstropyHdu { index: number; type: string; extname: string | null; bitpix: number; shape: number[]; ctype?: string[]; center?: number[]; corners?: number[][] }

describe('tessera inspect', () => {
  it('lists its commands after install (--help)', () => {
    const r = tessera('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/inspect/);
    expect(r.stdout).toMatch(/demo/);
  });

  it(`agrees with astropy on all ${realFits.length} real FITS files, centre and corners to 1e-7 deg`, () => {
    expect(realFits.length).toBeGreaterThanOrEqual(30);
    const expected = runPythonJson<{ file: string; hdus: AstropyHdu[] }[]>(ASTROPY_INSPECT, realFits);
    const r = tessera('inspect', '--json', ...realFits);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const ours = r.stdout.trim().split('\n').map((line) => JSON.parse(line) as Inspection);
    expect(ours.length).toBe(realFits.length);
    let wcsCount = 0;
    let worst = 0;
    ours.forEach((inspection, k) => {
      const want = expected[k]!;
      expect(inspection.file).toBe(want.file);
      expect(inspection.hdus.length).toBe(want.hdus.length);
      inspection.hdus.forEach((hdu, i) => {
        const a = want.hdus[i]!;
        expect([hdu.index, hdu.type, hdu.extname ?? null, hdu.bitpix, hdu.shape]).toEqual([a.index, a.type, a.extname ?? null, a.bitpix, a.shape]);
        expect(Boolean(hdu.wcs)).toBe(Boolean(a.ctype));
        if (!a.ctype) return;
        expect(hdu.wcs!.ctype).toEqual(a.ctype);
        expect(Boolean(hdu.wcs!.center)).toBe(Boolean(a.center));
        if (!a.center) return;
        wcsCount++;
        const points = [[hdu.wcs!.center!, a.center], ...hdu.wcs!.corners!.map((c, j) => [c, a.corners![j]!])];
        for (const [mine, theirs] of points) {
          worst = Math.max(worst, Math.abs(mine![0]! - theirs![0]!), Math.abs(mine![1]! - theirs![1]!));
        }
      });
    });
    expect(wcsCount).toBeGreaterThanOrEqual(20);
    expect(worst).toBeLessThan(1e-7);
  });

  it('prints a readable table with the centre to 7 decimals', () => {
    const file = path.join(realDataDir, 'hsc_afw', 'HSC-0908120-056-small.fits');
    const r = tessera('inspect', file);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^1 +IMAGE +-32 +200 x 200$/m);
    expect(r.stdout).toMatch(/centre +RA +\d+\.\d{7} +Dec +[+-]\d+\.\d{7}/);
  });

  it('reports a header with a WCS but no pixels without centre or corners', () => {
    const dir = testOutputDir('cli-inspect');
    const file = path.join(dir, 'wcs-no-pixels.fits');
    execFileSync('/usr/bin/python3', ['-c', `
from astropy.io import fits
h = fits.Header()
h['CTYPE1'] = 'RA---TAN'; h['CTYPE2'] = 'DEC--TAN'; h['CRVAL1'] = 10.0; h['CRVAL2'] = 20.0
h['CRPIX1'] = 50.0; h['CRPIX2'] = 50.0; h['CD1_1'] = -1e-4; h['CD2_2'] = 1e-4
fits.HDUList([fits.PrimaryHDU(header=h)]).writeto('${file}', overwrite=True)`]);
    const r = tessera('inspect', '--json', file);
    expect(r.status).toBe(0);
    const hdu = (JSON.parse(r.stdout) as Inspection).hdus[0]!;
    expect(hdu.wcs?.ctype).toEqual(['RA---TAN', 'DEC--TAN']);
    expect(hdu.wcs?.center).toBeUndefined();
    expect(hdu.wcs?.corners).toBeUndefined();
  });

  it('fails with exit status 1 and a message naming the file for missing, non-FITS and truncated files', () => {
    const dir = testOutputDir('cli-inspect-bad');
    const notFits = path.join(dir, 'notes.txt');
    fs.writeFileSync(notFits, 'hello, this is not FITS\n'.repeat(200));
    const truncated = path.join(dir, 'truncated.fits');
    const real = fs.readFileSync(path.join(realDataDir, 'hsc_afw', 'HSC-0908120-056-small.fits'));
    fs.writeFileSync(truncated, real.subarray(0, 2880 * 3 + 100));
    for (const file of [path.join(dir, 'missing.fits'), notFits, truncated]) {
      const r = tessera('inspect', file);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(file);
    }
  });

  it('refuses an unknown option with usage and exit status 2', () => {
    const r = tessera('inspect', '--jsno', 'x.fits');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Usage: tessera inspect/);
  });
});
