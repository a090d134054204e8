/**
 * lib/wcs against astropy 5.2.1 (wcslib 7.12) on every HDU of every real FITS file in ../shared/data/real
 * that has a celestial WCS (22 HDUs): HSC TAN-SIP (hsc_afw, HDUs 1-3), DECam CP TPV (decam_legacypipe_testcase6
 * ooi/oow/ood, HDU 1 each) and the DES TPV CCD header (des_psfex_galsim). astropy is called as
 * `WCS(header).all_pix2world(x, y, 0)` and `all_world2pix(ra, dec, 0, tolerance=1e-12)`.
 * Grids are 20 x 20 points from -3 to N + 2 (0-based), corners and a few pixels beyond the edges included.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { angularSeparation, parseWcs, type Wcs } from '../../lib/wcs/index.js';
import { WcsKeywords } from '../../lib/wcs/keywords.js';
import { readSipPolynomial, SipDistortion } from '../../lib/wcs/sip.js';
import { readFitsBytes } from '../../lib/fits/index.js';
import { realFitsFiles } from '../helpers/paths.js';

const readHdus = (file: string) => readFitsBytes(file, new Uint8Array(fs.readFileSync(file))).hdus;
const readImage = (file: string, hdu: number) => readFitsBytes(file, new Uint8Array(fs.readFileSync(file))).readImage(hdu);
import { realDataDir, realFile, testOutputDir } from '../helpers/paths.js';
import { runPythonJson } from '../helpers/python.js';

interface Case {
  file: string;
  hdu: number;
  wcs: Wcs;
  width: number;
  height: number;
  xs: number[];
  ys: number[];
}

interface AstropyHdu {
  file: string;
  hdu: number;
  celestial: boolean;
  altACelestial: boolean;
  error?: string;
  lng?: number[];
  lat?: number[];
  x?: (number | null)[];
  y?: (number | null)[];
  radesys?: string;
  equinox?: number | null;
}

const ASTROPY_SCRIPT = String.raw`
import json, sys, warnings
warnings.simplefilter('ignore')
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from astropy import log
log.setLevel('ERROR')
req = json.load(open(sys.argv[1]))
grids = {(g['file'], g['hdu']): g for g in req['grids']}
out = []
def num(a):
    return [None if not np.isfinite(v) else float(v) for v in a]
for f in req['files']:
    with fits.open(f) as hl:
        for i, h in enumerate(hl):
            rec = {'file': f, 'hdu': i}
            try:
                w = WCS(h.header)
                rec['celestial'] = bool(w.has_celestial)
            except Exception as e:
                rec['celestial'] = False
                rec['error'] = str(e)[:200]
            try:
                rec['altACelestial'] = bool(WCS(h.header, key='A').has_celestial)
            except Exception:
                rec['altACelestial'] = False
            g = grids.get((f, i))
            if g is not None and rec['celestial']:
                xs = np.array(g['xs'], dtype=float); ys = np.array(g['ys'], dtype=float)
                world = w.all_pix2world(xs, ys, 0)
                lng, lat = world[w.wcs.lng], world[w.wcs.lat]
                rec['lng'] = num(lng); rec['lat'] = num(lat)
                px = w.all_world2pix(lng, lat, 0, tolerance=1e-12, maxiter=200)
                rec['x'] = num(px[0]); rec['y'] = num(px[1])
                rec['radesys'] = w.wcs.radesys
                rec['equinox'] = None if not np.isfinite(w.wcs.equinox) else float(w.wcs.equinox)
            out.append(rec)
print(json.dumps(out))
`;

function linspace(a: number, b: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
}

/** Image size: NAXISn, or the DATASEC of a header-only file (the DES CCD header has NAXIS1 = 0). */
function imageSizeOf(wcs: Wcs, header: { getString(k: string): string | undefined }): [number, number] {
  if (wcs.imageSize) return [wcs.imageSize[0], wcs.imageSize[1]];
  const m = /^\[(\d+):(\d+),(\d+):(\d+)\]$/.exec(header.getString('DATASEC') ?? '');
  if (!m) throw new Error(`${wcs.source}: no image size`);
  return [Number(m[2]) - Number(m[1]) + 1, Number(m[4]) - Number(m[3]) + 1];
}

const cases: Case[] = [];
const ours = new Map<string, boolean>();
let astropy: AstropyHdu[] = [];
const key = (file: string, hdu: number) => `${file}#${hdu}`;
const short = (file: string) => path.relative(realDataDir, file);

beforeAll(() => {
  const files = realFitsFiles();
  for (const file of files) {
    for (const { index, header } of readHdus(file)) {
      const wcs = parseWcs(header, { source: file, hdu: index });
      ours.set(key(file, index), wcs !== undefined);
      if (!wcs) continue;
      const [width, height] = imageSizeOf(wcs, header);
      const gx = linspace(-3, width + 2, 20);
      const gy = linspace(-3, height + 2, 20);
      const xs: number[] = [];
      const ys: number[] = [];
      for (const y of gy) for (const x of gx) { xs.push(x); ys.push(y); }
      cases.push({ file, hdu: index, wcs, width, height, xs, ys });
    }
  }
  const dir = testOutputDir('wcs-real');
  const req = path.join(dir, 'request.json');
  fs.writeFileSync(req, JSON.stringify({ files, grids: cases.map(({ file, hdu, xs, ys }) => ({ file, hdu, xs, ys })) }));
  astropy = runPythonJson<AstropyHdu[]>(ASTROPY_SCRIPT, [req]);
});

function astropyFor(c: Case): AstropyHdu {
  const a = astropy.find((r) => r.file === c.file && r.hdu === c.hdu);
  if (!a?.lng || !a.lat) throw new Error(`astropy gave no grid for ${short(c.file)} HDU ${c.hdu}`);
  return a;
}

describe('real files: which HDUs have a celestial WCS', () => {
  it('finds exactly the HDUs astropy finds (22: 18 DECam CP, 1 DES, 3 HSC)', () => {
    const theirs = new Map(astropy.map((r) => [key(r.file, r.hdu), r.celestial]));
    expect(theirs.size).toBe(ours.size);
    for (const [k, v] of ours) expect({ hdu: k, celestial: v }).toEqual({ hdu: k, celestial: theirs.get(k) });
    expect(cases.length).toBe(22);
    expect(cases.filter((c) => c.wcs.distortion === 'TPV').length).toBe(19);
    expect(cases.filter((c) => c.wcs.distortion === 'SIP').length).toBe(3);
  });

  it("HSC alternate WCS 'A' is LINEAR: no celestial WCS, as astropy says", () => {
    const file = realFile('hsc_afw/HSC-0908120-056-small.fits');
    const h = readHdus(file)[1]!.header;
    expect(parseWcs(h, { alt: 'A', source: file, hdu: 1 })).toBeUndefined();
    expect(astropy.find((r) => r.file === file && r.hdu === 1)!.altACelestial).toBe(false);
  });
});

describe('real files: agreement with astropy all_pix2world / all_world2pix', () => {
  it('pixel -> sky within 1e-3 mas of astropy on every point of every grid (acceptance: 1 mas)', () => {
    const rows: string[] = [];
    let worst = 0;
    for (const c of cases) {
      const a = astropyFor(c);
      const sky = c.wcs.pixelToSkyMany(c.xs, c.ys);
      let max = 0;
      for (let i = 0; i < c.xs.length; i++) {
        expect(a.lng![i]).not.toBeNull();
        const sep = angularSeparation(sky.ra[i]!, sky.dec[i]!, a.lng![i]!, a.lat![i]!) * 3.6e6;
        max = Math.max(max, sep);
      }
      expect(max).toBeLessThan(1e-3);
      worst = Math.max(worst, max);
      rows.push(`${short(c.file)} [${c.hdu}] ${c.wcs.distortion} ${c.width}x${c.height}: max |dsky| = ${max.toExponential(2)} mas`);
    }
    console.log(`pixel->sky vs astropy (mas):\n${rows.join('\n')}\nworst ${worst.toExponential(2)} mas`);
  });

  it('sky -> pixel within 1e-6 px of astropy all_world2pix (tolerance=1e-12) on the same grid', () => {
    const rows: string[] = [];
    for (const c of cases) {
      const a = astropyFor(c);
      const pix = c.wcs.skyToPixelMany(a.lng! as number[], a.lat! as number[]);
      let max = 0;
      for (let i = 0; i < c.xs.length; i++) {
        max = Math.max(max, Math.abs(pix.x[i]! - a.x![i]!), Math.abs(pix.y[i]! - a.y![i]!));
      }
      expect(max).toBeLessThan(1e-6);
      rows.push(`${short(c.file)} [${c.hdu}]: ${max.toExponential(2)} px`);
    }
    console.log(`sky->pixel vs astropy (px):\n${rows.join('\n')}`);
  });

  it('reports RADESYS and EQUINOX as astropy does', () => {
    for (const c of cases) {
      const a = astropyFor(c);
      expect({ f: short(c.file), radesys: c.wcs.radesys, equinox: c.wcs.equinox ?? null }).toEqual({ f: short(c.file), radesys: a.radesys, equinox: a.equinox });
    }
  });
});

describe('real files: round trips', () => {
  it('pixel -> sky -> pixel returns within 1e-6 px everywhere (SIP and TPV)', () => {
    const rows: string[] = [];
    for (const c of cases) {
      const sky = c.wcs.pixelToSkyMany(c.xs, c.ys);
      const back = c.wcs.skyToPixelMany(sky.ra, sky.dec);
      let max = 0;
      for (let i = 0; i < c.xs.length; i++) {
        max = Math.max(max, Math.abs(back.x[i]! - c.xs[i]!), Math.abs(back.y[i]! - c.ys[i]!));
      }
      expect(max).toBeLessThan(1e-6);
      rows.push(`${short(c.file)} [${c.hdu}] ${c.wcs.distortion}: ${max.toExponential(2)} px`);
    }
    console.log(`round trip (px):\n${rows.join('\n')}`);
  });

  it("HSC: the file's own AP/BP inverse is off by > 1e-4 px, the Newton solution by < 1e-9 px", () => {
    const file = realFile('hsc_afw/HSC-0908120-056-small.fits');
    const header = readHdus(file)[1]!.header;
    const kw = new WcsKeywords(header, '', file, 1);
    const sip = new SipDistortion(readSipPolynomial(kw, 'A'), readSipPolynomial(kw, 'B'), readSipPolynomial(kw, 'AP'), readSipPolynomial(kw, 'BP'));
    expect(sip.inverseSeed).toBe('AP/BP');
    const crpix = [header.getNumber('CRPIX1')!, header.getNumber('CRPIX2')!];
    const f = new Float64Array(2);
    const s = new Float64Array(2);
    const r = new Float64Array(2);
    let seedErr = 0;
    let newtonErr = 0;
    for (const x of linspace(-3, 202, 20)) {
      for (const y of linspace(-3, 202, 20)) {
        const u = x + 1 - crpix[0]!;
        const v = y + 1 - crpix[1]!;
        sip.forward(u, v, f);
        sip.seed(f[0]!, f[1]!, s);
        sip.reverse(f[0]!, f[1]!, r);
        seedErr = Math.max(seedErr, Math.hypot(s[0]! - u, s[1]! - v));
        newtonErr = Math.max(newtonErr, Math.hypot(r[0]! - u, r[1]! - v));
      }
    }
    console.log(`HSC AP/BP alone: ${seedErr.toExponential(2)} px; Newton: ${newtonErr.toExponential(2)} px`);
    expect(seedErr).toBeGreaterThan(1e-4);
    expect(newtonErr).toBeLessThan(1e-9);
  });
});

describe('real files: physical checks', () => {
  it('the G = 10.5 Gaia star falls on the saturated core of each DECam cut-out', () => {
    const gaia = runPythonJson<{ ra: number; dec: number; g: number }[]>(String.raw`
import json, sys, glob, warnings
warnings.simplefilter('ignore')
import numpy as np
from astropy.io import fits
rows = []
for f in sorted(glob.glob(sys.argv[1] + '/gaia/*.fits')):
    d = fits.open(f)[1].data
    for ra, dec, g in zip(d['ra'], d['dec'], d['phot_g_mean_mag']):
        rows.append({'ra': float(ra), 'dec': float(dec), 'g': float(g)})
print(json.dumps(rows))
`, [path.join(realDataDir, 'decam_legacypipe_testcase6')]);
    const ooi = cases.filter((c) => /_ooi_/.test(c.file));
    expect(ooi.length).toBe(6);
    for (const c of ooi) {
      const img = readImage(c.file, c.hdu);
      let max = -Infinity;
      for (const v of img.data as Float32Array) if (v > max) max = v;
      // Centroid of the saturated core (>= 90% of the peak).
      let sx = 0, sy = 0, n = 0;
      for (let j = 0; j < img.height; j++) {
        for (let i = 0; i < img.width; i++) {
          if (Number(img.data[j * img.width + i]!) >= 0.9 * max) { sx += i; sy += j; n++; }
        }
      }
      const inside = gaia
        .map((s) => ({ ...s, p: c.wcs.skyToPixel(s.ra, s.dec) }))
        .filter((s) => s.p[0] > -0.5 && s.p[0] < img.width - 0.5 && s.p[1] > -0.5 && s.p[1] < img.height - 0.5)
        .sort((a, b) => a.g - b.g);
      const star = inside[0]!;
      expect(star.g).toBeLessThan(11);
      // The bleed trail runs along columns, so the core's y centroid is looser than its x centroid.
      expect(Math.abs(star.p[0] - sx / n)).toBeLessThan(1.5);
      expect(Math.abs(star.p[1] - sy / n)).toBeLessThan(6);
    }
  });

  it('pixel scale matches the area of the pixel computed from astropy corners (1e-6 relative)', () => {
    const picks = [cases.find((c) => /HSC/.test(c.file))!, cases.find((c) => /DECam_00154912/.test(c.file))!, cases.find((c) => /_ooi_/.test(c.file))!];
    const pts = picks.map((c) => [(c.width - 1) / 2, (c.height - 1) / 2] as const);
    const areas = runPythonJson<number[]>(String.raw`
import json, sys, warnings
warnings.simplefilter('ignore')
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from astropy import log
log.setLevel('ERROR')
req = json.loads(sys.argv[1])
out = []
for f, hdu, x, y in req:
    w = WCS(fits.open(f)[hdu].header)
    # Pixel area as the spherical quadrilateral of its corners, on the local tangent plane (tiny pixels).
    cx = np.array([x - .5, x + .5, x + .5, x - .5]); cy = np.array([y - .5, y - .5, y + .5, y + .5])
    ra, dec = w.all_pix2world(cx, cy, 0)
    ra0, dec0 = w.all_pix2world([x], [y], 0)
    e = (ra - ra0[0]) * np.cos(np.radians(dec0[0])) * 3600; n = (dec - dec0[0]) * 3600
    out.append(0.5 * abs(np.dot(e, np.roll(n, -1)) - np.dot(n, np.roll(e, -1))))
print(json.dumps(out))
`, [JSON.stringify(picks.map((c, i) => [c.file, c.hdu, pts[i]![0], pts[i]![1]]))]);
    picks.forEach((c, i) => {
      const scale = c.wcs.pixelScale(pts[i]![0], pts[i]![1]);
      console.log(`${short(c.file)}: ${scale.toFixed(6)} arcsec/px (astropy corners: ${Math.sqrt(areas[i]!).toFixed(6)})`);
      expect(Math.abs(scale / Math.sqrt(areas[i]!) - 1)).toBeLessThan(1e-6);
    });
    expect(picks[0]!.wcs.pixelScale()).toBeGreaterThan(0.16);
    expect(picks[0]!.wcs.pixelScale()).toBeLessThan(0.175);
    expect(picks[2]!.wcs.pixelScale()).toBeGreaterThan(0.25);
    expect(picks[2]!.wcs.pixelScale()).toBeLessThan(0.27);
  });
});
