// `tessera ingest-images`: the six real DECam CP InstCal cut-outs of legacypipe testcase6 (ooi images with
// their oow weights and ood data-quality codes) become postISRCCD datasets in the afw Exposure layout, read
// back pixel for pixel, with variance = 1/weight, the CP codes as mask planes and the TPV WCS kept; then
// (issue 6) they go through the pipeline's `images` subset: characterizeImage, calibrate, warps, coadds and
// the object table. The cut-outs (101 px, 26") hold one saturated G = 10.5 star and up to 5 fainter
// sources: no star to fit a PSF, WCS or zero point on, so the PSF is legacypipe's PSFEx model of the
// whole CCD (`--psf-models`, psfFallback), the header TPV WCS is kept (ASTROMOK F) and the zero points are
// legacyzpts' (survey-ccds, `--zero-points`), each flagged; two visits per band cannot be compared (ARTREJ F); the star, saturated
// in every visit, is one object in the object table, flagged.
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { realFile, testOutputDir } from '../helpers/paths.js';
import { FitsHeader, readExposure, readFitsBytes, writeFits } from '../../lib/fits/index.js';
import { parseWcs } from '../../lib/wcs/index.js';
import { maskValue } from '../../lib/pipeline/maskPlanes.js';
import { ingestImages, readImageInfo } from '../../node/repository/imageIngest.js';
import { robustSkyVariance } from '../../node/fits/calibratedImage.js';
import { tessera } from '../helpers/cli.js';
import { withRepo } from '../helpers/repository.js';
import { runPythonJson } from '../helpers/python.js';
import { parquetReadObjects } from 'hyparquet';
import { decodeDataset } from '../../lib/pipeline/storageClasses.js';
import { readImageU } from '../../lib/fits/imageU.js';
import { readSourceCatalog } from '../../lib/measure/sourceCatalog.js';
import type { ExposureWithPsf } from '../../lib/tasks/characterizeImage.js';

const out = testOutputDir('repo-ingest-images');
const imagesDir = realFile('decam_legacypipe_testcase6/images/decam/CP/V4.8.2a');
const ooi = (fs.readdirSync(imagesDir, { recursive: true }) as string[]).filter((f) => /_ooi_.*\.fits$/.test(f)).map((f) => path.join(imagesDir, f)).sort();

function readFits(file: string): ReturnType<typeof readFitsBytes> {
  return readFitsBytes(file, fs.readFileSync(file));
}

describe('tessera ingest-images (DECam CP InstCal images as postISRCCDs)', () => {
  const root = path.join(out, 'repo');
  let first: { status: number; stdout: string; stderr: string };
  beforeAll(() => {
    expect(ooi).toHaveLength(6);
    const created = tessera('repo', 'create', root);
    expect(created.status, created.stderr).toBe(0);
    first = tessera('ingest-images', root, ...ooi);
  });

  it('lists the command in --help', () => {
    expect(tessera('--help').stdout).toMatch(/^ {2}ingest-images +\S/m);
  });

  it('registers 6 postISRCCDs with their visit, detector and filter records', async () => {
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('ingested 6 postISRCCDs of DECam into DECam/postISRCCD/ingested (6 with weight files, 6 with mask files)');
    await withRepo(root, async (repo) => {
      const refs = await repo.queryDatasets({ datasetTypes: ['postISRCCD'], collections: ['DECam/postISRCCD/ingested'] });
      expect(refs).toHaveLength(6);
      const r803291 = refs.find((r) => r.dataId.exposure === 803291)!;
      expect(r803291.dataId).toEqual({
        instrument: 'DECam', band: 'r', physical_filter: 'r DECam SDSS c0002 6415.0 1480.0', detector: 20, visit: 803291, exposure: 803291, observation_type: 'science',
      });
      expect(new Set(refs.map((r) => r.dataId.band))).toEqual(new Set(['g', 'r', 'z']));
      const detectors = await repo.registry.dimensionRecords('detector');
      expect(detectors.map((d) => [d.id, d.name]).sort()).toEqual([[20, 'S9'], [28, 'S4']]);
      const visits = await repo.registry.dimensionRecords('visit');
      const v = visits.find((x) => x.id === 396388)!;
      expect(v).toMatchObject({ instrument: 'DECam', band: 'z', exposure_time: 150, mjd: 57032.23194295 });
    });
  });

  it('stores the image pixels, variance = 1/weight, CP codes as mask planes and the TPV WCS', async () => {
    await withRepo(root, async (repo) => {
      for (const source of ooi) {
        const info = readImageInfo(source);
        const ref = (await repo.findDataset('postISRCCD', { instrument: 'DECam', exposure: info.exposure, detector: info.detector }, ['DECam/postISRCCD/ingested']))!;
        const exposure = await readExposure(readFitsBytes(source, repo.getBytes(ref)));
        const original = readFits(source);
        const pixels = original.readImage(1).data as Float32Array;
        expect(exposure.width * exposure.height).toBe(pixels.length);
        expect(Buffer.from(exposure.image.buffer, exposure.image.byteOffset, exposure.image.byteLength)
          .equals(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength))).toBe(true);

        const weight = readFits(source.replace('_ooi_', '_oow_')).readImage(1).data as Float32Array;
        const dq = readFits(source.replace('_ooi_', '_ood_')).readImage(1).data as Int32Array;
        let positive = 0;
        for (let i = 0; i < weight.length; i++) {
          const w = weight[i]!;
          if (w > 0) {
            positive++;
            expect(exposure.variance[i]).toBe(Math.fround(1 / w));
          } else {
            expect(exposure.variance[i]).toBeNaN();
            expect(exposure.mask[i]! & maskValue('NO_DATA')).not.toBe(0);
          }
          expect((exposure.mask[i]! & maskValue('BAD')) !== 0).toBe(dq[i] !== 0);
          if (dq[i] === 3) expect(exposure.mask[i]! & maskValue('SAT')).not.toBe(0);
        }
        expect(positive).toBeGreaterThan(weight.length / 2);
        const saturate = original.hdu(1).header.getNumber('SATURATE')!;
        const hot = pixels.findIndex((p) => p >= saturate);
        expect(hot).toBeGreaterThanOrEqual(0); // the G=10.5 star saturates every cut-out
        expect(exposure.mask[hot]! & maskValue('SAT')).not.toBe(0);

        expect(exposure.metadata.getNumber('EXPNUM')).toBe(info.exposure);
        const stored = parseWcs(exposure.wcsHeader)!;
        const truth = parseWcs(original.hdu(1).header)!;
        expect(exposure.wcsHeader.getString('CTYPE1')).toBe('RA---TPV');
        const [x, y] = [(exposure.width - 1) / 2, (exposure.height - 1) / 2];
        const [ra1, dec1] = stored.pixelToSky(x, y);
        const [ra2, dec2] = truth.pixelToSky(x, y);
        expect(Math.abs(ra1 - ra2) * Math.cos((dec2 * Math.PI) / 180)).toBeLessThan(1e-9);
        expect(Math.abs(dec1 - dec2)).toBeLessThan(1e-9);
        // The field is centred on a bright star at RA 110.313, Dec 23.920 (MANIFEST.md section 3).
        expect(Math.abs(ra2 - 110.313)).toBeLessThan(0.01);
      }
    });
  });

  it('re-ingest is idempotent', async () => {
    const again = tessera('ingest-images', root, ...ooi);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('ingested 0 postISRCCDs of DECam into DECam/postISRCCD/ingested');
    expect(again.stdout).toContain('skipped 6 already registered');
    await withRepo(root, async (repo) => {
      expect(await repo.queryDatasets({ datasetTypes: ['postISRCCD'], collections: ['DECam/postISRCCD/ingested'] })).toHaveLength(6);
    });
  });

  it('refuses a file without a WCS, naming it, and registers nothing', async () => {
    const source = ooi[0]!;
    const original = readFits(source);
    const header = new FitsHeader();
    for (const card of original.hdu(1).header.cards) if (!/^(CTYPE|CRVAL|CRPIX|CD\d|PV\d|CUNIT|WCSDIM|LTM|LTV|WAT)/.test(card.key)) header.cards.push({ ...card });
    const bad = path.join(out, 'c4d_nowcs_ooi_g_ls9.S4.fits');
    fs.writeFileSync(bad, writeFits([{ header: original.hdu(0).header }, { data: original.readImage(1).data, shape: original.hdu(1).shape, header, extname: 'S4' }]));
    const fresh = path.join(out, 'refused');
    expect(tessera('repo', 'create', fresh).status).toBe(0);
    const r = tessera('ingest-images', fresh, ooi[1]!, bad);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}: HDU 1 has no celestial WCS`);
    await withRepo(fresh, async (repo) => {
      expect((await repo.registry.listCollections()).map((c) => c.name)).not.toContain('DECam/postISRCCD/ingested');
      expect(await repo.registry.dimensionRecords('visit')).toHaveLength(0);
    });
  });

  it('without weight or mask files estimates a robust sky variance and says so', async () => {
    const fresh = path.join(out, 'noweight');
    expect(tessera('repo', 'create', fresh).status).toBe(0);
    await withRepo(fresh, async (repo) => {
      const report = await ingestImages(repo, [ooi[0]!], { weight: 'none', mask: 'none', run: 'test/sky' });
      expect(report.run).toBe('test/sky');
      const exposure = await readExposure(readFitsBytes('postISRCCD', repo.getBytes(report.ingested[0]!)));
      expect(exposure.metadata.getString('VARSRC')).toBe('sky MAD');
      const pixels = readFits(ooi[0]!).readImage(1).data as Float32Array;
      const expected = robustSkyVariance(pixels, exposure.mask);
      expect(exposure.metadata.getNumber('SKYVAR')).toBeCloseTo(expected, 6);
      expect(exposure.variance.every((v) => v === Math.fround(expected))).toBe(true);
      expect(expected).toBeGreaterThan(0);
      // BAD only comes from a mask file: none was used.
      expect(exposure.mask.some((m) => (m & maskValue('BAD')) !== 0)).toBe(false);
    });
  });

  it('refuses a zero-point table without a row for an image, or without the columns, or a file of no PSF models, naming the file, and registers nothing', async () => {
    const fresh = path.join(out, 'zeropoints');
    expect(tessera('repo', 'create', fresh).status).toBe(0);
    const info = readImageInfo(ooi[0]!);
    const partial = path.join(out, 'partial-ccds.fits');
    fs.writeFileSync(partial, writeFits([{ data: null }, { kind: 'table', table: { nrows: 1, extname: 'CCDS', columns: [
      { name: 'expnum', values: Int32Array.of(info.exposure) }, { name: 'ccdname', values: [info.detectorName] }, { name: 'ccdzpt', values: Float64Array.of(25) },
    ] } }]));
    const r = tessera('ingest-images', fresh, ooi[0]!, ooi[1]!, '--zero-points', partial);
    expect(r.status).toBe(1);
    const other = readImageInfo(ooi[1]!);
    expect(r.stderr).toContain(`${ooi[1]}: the zero-point table ${partial} has no row for exposure ${other.exposure}, CCD ${other.detectorName}`);
    const noColumn = path.join(out, 'nozpt-ccds.fits');
    fs.writeFileSync(noColumn, writeFits([{ data: null }, { kind: 'table', table: { nrows: 1, extname: 'CCDS', columns: [
      { name: 'expnum', values: Int32Array.of(info.exposure) }, { name: 'ccdname', values: [info.detectorName] },
    ] } }]));
    const r2 = tessera('ingest-images', fresh, ooi[0]!, '--zero-points', noColumn);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain(`${noColumn}: HDU 1 has no column 'ccdzpt' (columns: expnum, ccdname)`);
    // A file that is not a merged PSFEx table, given as PSF models.
    const notPsf = tessera('ingest-images', fresh, ooi[0]!, '--psf-models', partial);
    expect(notPsf.status).toBe(1);
    expect(notPsf.stderr).toContain(`${partial}: not a merged PSFEx table: `);
    expect(notPsf.stderr).toContain("no column 'psf_mask'");
    await withRepo(fresh, async (repo) => {
      expect(await repo.registry.dimensionRecords('visit')).toHaveLength(0);
    });
    // With its row, the zero point reaches the exposure's metadata.
    const ok = tessera('ingest-images', fresh, ooi[0]!, '--zero-points', partial);
    expect(ok.status, ok.stderr).toBe(0);
    await withRepo(fresh, async (repo) => {
      const [ref] = await repo.queryDatasets({ datasetTypes: ['postISRCCD'], collections: ['DECam/postISRCCD/ingested'] });
      const exposure = await readExposure(readFitsBytes('postISRCCD', repo.getBytes(ref!)));
      expect(exposure.metadata.getNumber('MAGZERO')).toBe(25);
      expect(exposure.metadata.getString('MAGZSRC')).toBe('partial-ccds.fits');
    });
  });

  it('names the file and the missing keyword', () => {
    const original = readFits(ooi[0]!);
    const primary = new FitsHeader();
    for (const card of original.hdu(0).header.cards) if (card.key !== 'EXPNUM') primary.cards.push({ ...card });
    const bad = path.join(out, 'noexpnum.fits');
    fs.writeFileSync(bad, writeFits([{ header: primary }, { data: original.readImage(1).data, shape: original.hdu(1).shape, header: original.hdu(1).header, extname: 'S4' }]));
    expect(() => readImageInfo(bad)).toThrow(`${bad}: has no EXPNUM (the exposure number)`);
  });
});

describe('the DECam images through the `images` subset (issue 6: other telescopes\' images)', () => {
  const root = path.join(out, 'pipeline');
  const decam = realFile('decam_legacypipe_testcase6');
  const surveyCcds = path.join(decam, 'survey-ccds-1.fits.gz');
  const gaia = fs.readdirSync(path.join(decam, 'gaia')).filter((f) => f.endsWith('.fits')).map((f) => path.join(decam, 'gaia', f)).sort();
  // legacyzpts' zero points, exposure times and seeing, read by astropy (not Tessera's FITS reader).
  const ccds = runPythonJson<{ expnum: number[]; ccdname: string[]; ccdzpt: number[]; exptime: number[]; fwhm: number[] }>(`
import json, sys
from astropy.table import Table
t = Table.read(sys.argv[1])
print(json.dumps({k: [v.strip() if isinstance(v, str) else float(v) for v in t[k]] for k in ['expnum', 'ccdname', 'ccdzpt', 'exptime', 'fwhm']}))
`, [surveyCcds]);
  const ccdRow = (exposure: number): number => ccds.expnum.indexOf(exposure);
  // The G = 10.5 Gaia DR2 star the cut-outs are centred on (gaia/chunk-*.fits; proper motion 13 mas/yr: negligible here).
  const star = { ra: 110.31236645, dec: 23.92000048 };
  let run: { status: number; stdout: string; stderr: string };

  beforeAll(() => {
    expect(tessera('repo', 'create', root).status).toBe(0);
    const ingest = tessera('ingest-images', root, ...ooi, '--zero-points', surveyCcds, '--psf-models', path.join(decam, 'calib', 'psfex'));
    expect(ingest.stdout, ingest.stderr).toContain('(6 with weight files, 6 with mask files, 6 with zero points, 6 with PSF models)');
    // The two Gaia chunks together: their stars share shards.
    const refcat = tessera('ingest-refcat', root, ...gaia, '--ra', 'ra', '--dec', 'dec', '--mag', 'G=phot_g_mean_mag');
    expect(refcat.stdout, refcat.stderr).toMatch(/^ingested 1010 stars in \d+ shard/);
    const skymap = tessera('make-skymap', root, '--around', 'DECam/postISRCCD/ingested', '--dataset-type', 'postISRCCD', '--pixel-scale', '0.262', '--patch-size', '200', '--patch-border', '20');
    expect(skymap.status, skymap.stderr).toBe(0);
    run = tessera('run', root, '--output', 'decam/drp', '--input', 'DECam/postISRCCD/ingested,refcats,skymaps', '--subset', 'images', '-c', 'characterizeImage.psfFallback=true', '-j', '1');
  }, 600_000);

  it('runs every quantum: 6 x characterizeImage and calibrate, 6 warps, 3 coadds, their measurement and one object table', () => {
    expect(run.status, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/^total +33 +0 +0 +0 +0 +0$/m);
  });

  it('without stars, each calexp carries legacypipe\'s PSF model of its CCD, the header WCS and legacyzpts\' zero point, each flagged', async () => {
    await withRepo(root, async (repo) => {
      const refs = await repo.queryDatasets({ datasetTypes: ['calexp'], collections: ['decam/drp'] });
      expect(refs).toHaveLength(6);
      for (const ref of refs) {
        const calexp = await decodeDataset('Exposure', repo.getBytes(ref), repo.getPath(ref)) as ExposureWithPsf;
        const k = ccdRow(ref.dataId.visit as number);
        expect(k, String(ref.dataId.visit)).toBeGreaterThanOrEqual(0);
        const m = calexp.metadata;
        expect(m.getString('PSFMODEL')).toBe('external');
        expect(m.getString('PSFSRC')).toMatch(/-psfex\.fits$/);
        // The model read from legacypipe's table, at the cut-out's centre (its POLZERO in cut-out pixels), measured by
        // adaptive moments: within 6 % of the seeing legacyzpts measured on the stars (ratios 0.98-1.05; a wrong
        // sampling or position would be off by far more).
        const ratio = calexp.psf!.fwhmAt((calexp.width - 1) / 2, (calexp.height - 1) / 2) / ccds.fwhm[k]!;
        console.log(`visit ${String(ref.dataId.visit)}: PSF model FWHM / legacyzpts fwhm = ${ratio.toFixed(3)}`);
        expect(Math.abs(ratio - 1)).toBeLessThan(0.06);
        expect(m.getBoolean('ASTROMOK')).toBe(false);
        expect(calexp.wcsHeader.getString('CTYPE1')).toBe('RA---TPV');
        expect(m.getBoolean('PHOTOCOK')).toBe(false);
        expect(m.getString('PHOTSRC')).toBe('MAGZERO (survey-ccds-1.fits.gz)');
        // nJy per count from the zero point of one count per second: 10^(-0.4 (zpt + 2.5 log10(exptime) - 31.4)).
        const expected = 10 ** (-0.4 * (ccds.ccdzpt[k]! + 2.5 * Math.log10(ccds.exptime[k]!) - 31.4));
        expect(m.getNumber('PHOTCALB')! / expected).toBeCloseTo(1, 9);
        // The saturated G = 10.5 star: a source within 0.5" of Gaia's position through the header TPV WCS.
        const src = readSourceCatalog(repo.getBytes((await repo.findDataset('src', ref.dataId, ['decam/drp']))!), 'src');
        const ra = src.columns.coord_ra as Float64Array, dec = src.columns.coord_dec as Float64Array;
        let nearest = Infinity;
        for (let j = 0; j < src.length; j++) nearest = Math.min(nearest, Math.hypot((ra[j]! - star.ra) * Math.cos((star.dec * Math.PI) / 180), dec[j]! - star.dec) * 3600);
        expect(nearest, String(ref.dataId.visit)).toBeLessThan(0.5);
        expect((src.columns.base_PsfFlux_flux as Float64Array).length).toBe(src.length);
      }
    });
  });

  it('coadds each band\'s two visits, saying that artifact rejection was not possible, and writes the object table in g, r and z', async () => {
    await withRepo(root, async (repo) => {
      const coadds = await repo.queryDatasets({ datasetTypes: ['deepCoadd'], collections: ['decam/drp'] });
      expect(coadds.map((c) => c.dataId.band).sort()).toEqual(['g', 'r', 'z']);
      for (const ref of coadds) {
        const coadd = await decodeDataset('Exposure', repo.getBytes(ref), repo.getPath(ref)) as ExposureWithPsf;
        expect(coadd.metadata.getBoolean('ARTREJ')).toBe(false);
        expect(coadd.metadata.getNumber('ARTCOMP')).toBe(0);
        expect(coadd.metadata.getNumber('NVISITS')).toBe(2);
        expect(coadd.metadata.getString('BUNIT')).toBe('nJy');
        expect(coadd.metadata.getNumber('COADDINT')).toBeGreaterThan(100); // the star's saturated core and bleed trail
        const nImage = readImageU(repo.getBytes((await repo.findDataset('deepCoadd_nImage', ref.dataId, ['decam/drp']))!), 'nImage');
        expect(Math.max(...nImage.image)).toBe(2);
      }
      const table = (await repo.queryDatasets({ datasetTypes: ['objectTable'], collections: ['decam/drp'] }))[0]!;
      const bytes = repo.getBytes(table);
      const rows = await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer });
      const objects = rows.filter((r) => !r.sky_object);
      for (const band of ['g', 'r', 'z']) expect(Object.keys(rows[0]!)).toContain(`${band}_psfFlux`);
      expect(rows.some((r) => r.sky_object)).toBe(true);
      // The saturated star is one object: its core, rejected in every visit, is interpolated over in the
      // coadd (doInterp), where it was a hole that split it in two (0.7" apart, each with no PSF flux).
      const separation = (r: Record<string, unknown>): number =>
        Math.hypot(((r.coord_ra as number) - star.ra) * Math.cos((star.dec * Math.PI) / 180), (r.coord_dec as number) - star.dec) * 3600;
      const near = objects.filter((r) => separation(r) < 3);
      expect(near).toHaveLength(1);
      expect(separation(near[0]!)).toBeLessThan(0.5);
      for (const band of ['g', 'r', 'z']) {
        expect(near[0]![`${band}_pixelFlags_saturatedCenter`], band).toBe(true);
        expect(near[0]![`${band}_pixelFlags_interpolatedCenter`], band).toBe(true);
      }
    });
  });
});
