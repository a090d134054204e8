// `tessera extract` on real images, as a user runs it: the HSC calexp cut-out (an afw Exposure whose
// DETECTED plane is LSST's own detection) and the six DECam Community Pipeline cut-outs of a saturated
// G = 10.5 Gaia star (with their inverse-variance weight and data-quality files). Checks: at least 90 %
// of the HSC footprints that peak above 10 sigma are found; the Gaia star projected through each DECam
// image's TPV WCS lands within 0.5" of the centroid Tessera measures for it; astropy reads the
// catalogue with the same values; bad input gives one clear line naming the file.
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { realDataDir, realFile, testOutputDir } from '../helpers/paths.js';
import { tessera } from '../helpers/cli.js';
import { runPythonJson } from '../helpers/python.js';
import { readExposure, readFitsBytes } from '../../lib/fits/index.js';
import { findColumn } from '../../lib/fits/bintable.js';
import { parseWcs } from '../../lib/wcs/index.js';
import { readSourceCatalog } from '../../lib/measure/sourceCatalog.js';
import { readPsfexFile } from '../../lib/measure/psfexFile.js';
import { GaussianPsf } from '../../lib/measure/psf.js';
import { writeFits } from '../../lib/fits/writer.js';
import { Random } from '../../lib/sim/random.js';

const out = testOutputDir('extract');
const hsc = realFile('hsc_afw/HSC-0908120-056-small.fits');
const decamDir = path.join(realDataDir, 'decam_legacypipe_testcase6');

function decamImages(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.includes('_ooi_')) found.push(p);
    }
  };
  walk(path.join(decamDir, 'images'));
  return found.sort();
}

function extract(image: string, name: string, ...extra: string[]): ReturnType<typeof readSourceCatalog> {
  const catalog = path.join(out, `${name}.fits`);
  const r = tessera('extract', image, '--catalog', catalog, ...extra);
  expect(r.status, r.stderr).toBe(0);
  return readSourceCatalog(new Uint8Array(fs.readFileSync(catalog)), catalog);
}

beforeAll(() => {
  fs.mkdirSync(out, { recursive: true });
});

describe('tessera extract on real images', () => {
  it('finds at least 90 % of the HSC cut-out\'s own footprints that peak above 10 sigma', async () => {
    const exposure = await readExposure(readFitsBytes(hsc, new Uint8Array(fs.readFileSync(hsc))));
    const { width, height } = exposure;
    const detected = 1 << exposure.maskPlanes.DETECTED!;
    // LSST's footprints: 8-connected components of its DETECTED plane, with their peak S/N per pixel.
    const label = new Int32Array(width * height);
    const footprints: { pixels: number[]; peakSnr: number }[] = [];
    for (let start = 0; start < label.length; start++) {
      if (label[start] || !(exposure.mask[start]! & detected)) continue;
      const id = footprints.length + 1;
      const pixels: number[] = [];
      const stack = [start];
      label[start] = id;
      let peakSnr = 0;
      while (stack.length) {
        const p = stack.pop()!;
        pixels.push(p);
        peakSnr = Math.max(peakSnr, exposure.image[p]! / Math.sqrt(exposure.variance[p]!));
        const px = p % width, py = (p - px) / width;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
          const x = px + dx, y = py + dy;
          if (x < 0 || y < 0 || x >= width || y >= height) continue;
          const q = y * width + x;
          if (!label[q] && exposure.mask[q]! & detected) { label[q] = id; stack.push(q); }
        }
      }
      footprints.push({ pixels, peakSnr });
    }
    const bright = footprints.map((f, i) => ({ ...f, id: i + 1 })).filter((f) => f.peakSnr > 10);
    expect(bright.length).toBeGreaterThanOrEqual(5);
    const catalog = extract(hsc, 'hsc');
    const x = catalog.columns.base_SdssCentroid_x as Float64Array, y = catalog.columns.base_SdssCentroid_y as Float64Array;
    const hit = new Set<number>();
    for (let k = 0; k < catalog.length; k++) {
      const l = label[Math.round(y[k]!) * width + Math.round(x[k]!)]!;
      if (l) hit.add(l);
    }
    const found = bright.filter((f) => hit.has(f.id)).length;
    expect(found / bright.length).toBeGreaterThanOrEqual(0.9);
    // The catalogue has positions on the sky: the HSC file's WCS maps them.
    expect((catalog.columns.coord_ra as Float64Array).every(Number.isFinite)).toBe(true);
  });

  it('puts the saturated G = 10.5 Gaia star within 0.5" of its measured centroid on all six DECam images', () => {
    const ra: number[] = [], dec: number[] = [], g: number[] = [];
    for (const chunk of ['chunk-03559.fits', 'chunk-03687.fits']) {
      const gaiaFile = path.join(decamDir, 'gaia', chunk);
      const table = readFitsBytes(gaiaFile, new Uint8Array(fs.readFileSync(gaiaFile))).readTable(1);
      const col = (name: string): number[] => Array.from(findColumn(table, name)!.values as ArrayLike<number>, Number);
      ra.push(...col('ra'));
      dec.push(...col('dec'));
      g.push(...col('phot_g_mean_mag'));
    }
    const images = decamImages();
    expect(images).toHaveLength(6);
    const offsets: number[] = [];
    for (const image of images) {
      const bytes = new Uint8Array(fs.readFileSync(image));
      const file = readFitsBytes(image, bytes);
      const hdu = file.hdus.find((h) => h.type === 'IMAGE' && h.shape.length === 2)!;
      const wcs = parseWcs(hdu.header, { source: image, hdu: hdu.index })!;
      const [cra, cdec] = wcs.pixelToSky(hdu.shape[1]! / 2, hdu.shape[0]! / 2);
      // The brightest Gaia star within 20" of the cut-out's centre.
      let best = -1;
      for (let i = 0; i < ra.length; i++) {
        const d = Math.hypot((ra[i]! - cra) * Math.cos((cdec * Math.PI) / 180), dec[i]! - cdec) * 3600;
        if (d < 20 && (best < 0 || g[i]! < g[best]!)) best = i;
      }
      expect(g[best]!).toBeLessThan(11);
      const [sx, sy] = wcs.skyToPixel(ra[best]!, dec[best]!);
      const catalog = extract(image, path.basename(image, '.fits'), '--weight', image.replace('_ooi_', '_oow_'), '--mask', image.replace('_ooi_', '_ood_'),
        '--saturation', String(hdu.header.getNumber('SATURATE')), '--background-bin', '32');
      const x = catalog.columns.base_SdssCentroid_x as Float64Array, y = catalog.columns.base_SdssCentroid_y as Float64Array;
      let nearest = Infinity;
      for (let k = 0; k < catalog.length; k++) nearest = Math.min(nearest, Math.hypot(x[k]! - sx, y[k]! - sy));
      const scale = Math.sqrt(Math.abs(hdu.header.getNumber('CD1_1')! * hdu.header.getNumber('CD2_2')! - hdu.header.getNumber('CD1_2')! * hdu.header.getNumber('CD2_1')!)) * 3600;
      offsets.push(nearest * scale);
      // It is saturated, and the catalogue says so.
      const sat = catalog.columns.base_PixelFlags_flag_saturatedCenter as boolean[];
      expect(sat.some(Boolean)).toBe(true);
    }
    for (const o of offsets) expect(o).toBeLessThan(0.5);
  });

  it('writes a catalogue astropy reads with the same values', () => {
    const catalog = extract(hsc, 'hsc-astropy');
    const file = path.join(out, 'hsc-astropy.fits');
    const py = runPythonJson<{ names: string[]; x: number[]; ra: number[]; sat: boolean[]; n: number }>(`
import json, sys
from astropy.table import Table
t = Table.read(sys.argv[1], hdu='SOURCES')
print(json.dumps({'names': t.colnames, 'n': len(t), 'x': [float(v) for v in t['base_SdssCentroid_x']],
  'ra': [float(v) for v in t['coord_ra']], 'sat': [bool(v) for v in t['base_PixelFlags_flag_saturated']]}))
`, [file]);
    expect(py.n).toBe(catalog.length);
    expect(py.names).toEqual(Object.keys(catalog.columns));
    expect(py.x).toEqual([...(catalog.columns.base_SdssCentroid_x as Float64Array)]);
    expect(py.ra).toEqual([...(catalog.columns.coord_ra as Float64Array)]);
    expect(py.sat).toEqual(catalog.columns.base_PixelFlags_flag_saturated);
    for (const name of ['base_PsfFlux_instFlux', 'base_CircularApertureFlux_12_0_instFlux', 'base_SdssShape_xx', 'ext_photometryKron_KronFlux_instFlux']) {
      expect(py.names).toContain(name);
    }
  });

  it('refuses bad input with one line naming the file', () => {
    const bad = path.join(out, 'not-fits.fits');
    fs.writeFileSync(bad, 'this is not FITS');
    const r = tessera('extract', bad, '--catalog', path.join(out, 'x.fits'));
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(bad);
    const w = tessera('extract', hsc, '--catalog', path.join(out, 'y.fits'), '--weight', path.join(out, 'missing.fits'));
    expect(w.status).toBe(1);
    expect(w.stderr).toMatch(/missing\.fits/);
    expect(tessera('extract', hsc).status).toBe(2);
  });

  it('fits a PSF model with --psf, measures with it and writes it in PSFEx format', () => {
    // 120 Gaussian stars (sigma 1.8 px) on a 500 x 500 image with sky noise 10 e-.
    const width = 500, height = 500, sigma = 1.8;
    const psf = new GaussianPsf(sigma);
    const random = Random.stream(11, 'extract-psf', 0);
    const image = new Float32Array(width * height);
    for (let i = 0; i < image.length; i++) image[i] = 100 + 10 * random.normal();
    const stars: { x: number; y: number; flux: number }[] = [];
    for (let k = 0; k < 120; k++) {
      const x = 20 + random.uniform() * (width - 40), y = 20 + random.uniform() * (height - 40), flux = 20000 + random.uniform() * 200000;
      const { stamp, size, x0, y0 } = psf.stampAt(x, y, 25);
      for (let j = 0; j < size; j++) for (let i = 0; i < size; i++) image[(y0 + j) * width + x0 + i]! += flux * stamp[j * size + i]!;
      stars.push({ x, y, flux });
    }
    const file = path.join(out, 'stars.fits');
    fs.writeFileSync(file, writeFits([{ data: image, shape: [height, width] }]));
    const catalog = extract(file, 'stars', '--psf');
    const model = readPsfexFile(new Uint8Array(fs.readFileSync(path.join(out, 'stars.psf'))), 'stars.psf');
    expect(Math.abs(model.fwhmAt(250, 250) / (2.3548 * sigma) - 1)).toBeLessThan(0.02);
    expect((catalog.columns.calib_psf_used as boolean[]).filter(Boolean).length).toBeGreaterThan(30);
    // Isolated stars' PSF fluxes with the fitted model: unbiased within 1 % (median).
    const x = catalog.columns.base_SdssCentroid_x as Float64Array, y = catalog.columns.base_SdssCentroid_y as Float64Array, f = catalog.columns.base_PsfFlux_instFlux as Float64Array;
    const primary = catalog.columns.detect_isPrimary as boolean[];
    const ratios: number[] = [];
    for (const s of stars) {
      if (stars.some((o) => o !== s && Math.hypot(o.x - s.x, o.y - s.y) < 15)) continue;
      let best = -1, bestD = 1;
      for (let k = 0; k < catalog.length; k++) if (primary[k] && Math.hypot(x[k]! - s.x, y[k]! - s.y) < bestD) { bestD = Math.hypot(x[k]! - s.x, y[k]! - s.y); best = k; }
      if (best >= 0) ratios.push(f[best]! / s.flux);
    }
    ratios.sort((a, b) => a - b);
    expect(ratios.length).toBeGreaterThan(40);
    expect(Math.abs(ratios[ratios.length >> 1]! - 1)).toBeLessThan(0.01);
  });
});

