// `tessera color-image` (issue 7's outreach composite) on the processed repository's coadds: the PNG, read
// by Python's own zlib and struct (chunk CRCs checked, rows unfiltered), equals astropy's
// make_lupton_rgb(i, r, g, minimum=0, stretch, Q) of the same deepCoadd planes as astropy reads them,
// flipped north up, within 1 level in every channel; its credit line is in a tEXt chunk; the WCS sidecar
// gives the coadd's RA/Dec for the same pixel; and the tract mosaic holds each patch's inner region as
// the patch's own composite does.
import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { processedRepository, type ProcessedRepository } from '../helpers/processedRepository.js';
import { testOutputDir } from '../helpers/paths.js';
import { tessera } from '../helpers/cli.js';
import { PY_PNG, runPythonJson } from '../helpers/python.js';
import { withRepo } from '../helpers/repository.js';

const PRESET = (process.env.TESSERA_ACCURACY_PRESET ?? 'demo') as 'tiny' | 'demo';
const out = testOutputDir('color-image');
let processed: ProcessedRepository;
const coadd: Record<string, string> = {};
let patch = 0;


beforeAll(async () => {
  processed = processedRepository(PRESET);
  await withRepo(processed.root, async (repo) => {
    const refs = (await repo.queryDatasets({ datasetTypes: ['deepCoadd'], collections: [processed.run] })).filter((r) => r.run === processed.run);
    patch = Number(refs[0]!.dataId.patch);
    for (const band of ['i', 'r', 'g']) coadd[band] = repo.getPath(refs.find((r) => r.dataId.band === band && Number(r.dataId.patch) === patch)!);
  });
}, 1_800_000);

describe('tessera color-image', () => {
  it('writes astropy\'s make_lupton_rgb of a patch\'s i, r, g coadds as PNG (within 1 level), with its credit and WCS', () => {
    const png = path.join(out, `patch-${patch}.png`);
    const run = tessera('color-image', processed.root, '--tract', '0', '--patch', String(patch), '--bands', 'i,r,g', '-o', png, '--collection', processed.run, '--stretch', '60', '--q', '8');
    expect(run.status, run.stderr).toBe(0);
    const check = runPythonJson<{ worst: number; exact: number; n: number; credit: string; lit: number; dSky: number }>(`${PY_PNG}
from astropy.io import fits
from astropy.wcs import WCS
from astropy.visualization import make_lupton_rgb
png, text = read_png(sys.argv[1])
planes = [fits.getdata(f, 'IMAGE') for f in sys.argv[2:5]]
want = np.flipud(make_lupton_rgb(*planes, minimum=0, stretch=60, Q=8))
got = png[:, :, :3].astype(int)
diff = np.abs(got - want.astype(int))
h = png.shape[0]
# The sidecar's sky position of PNG pixel (col 100, row 50 from the top) against the coadd's WCS for the same pixel.
side = WCS(fits.getheader(sys.argv[5]))
coadd = WCS(fits.getheader(sys.argv[2], 'IMAGE'))
a = side.all_pix2world(100, h - 1 - 50, 0); b = coadd.all_pix2world(100, h - 1 - 50, 0)
print(json.dumps({'worst': int(diff.max()), 'exact': float((diff == 0).mean()), 'n': int(diff.size), 'credit': text.get('Credit', ''),
                  'lit': int((got.sum(axis=2) > 0).sum()), 'dSky': float(np.hypot((a[0] - b[0]) * np.cos(np.radians(b[1])), a[1] - b[1]) * 3.6e6)}))
`, [png, coadd.i!, coadd.r!, coadd.g!, png.replace(/\.png$/, '.wcs.fits')]);
    console.log(`color-image patch ${patch}: ${check.n} channel values, ${(100 * check.exact).toFixed(3)} % equal to astropy's, worst ${check.worst} level; sidecar WCS off by ${check.dSky.toExponential(2)} mas`);
    expect(check.worst).toBeLessThanOrEqual(1);
    expect(check.exact).toBeGreaterThan(0.99);
    expect(check.lit).toBeGreaterThan(10_000);
    expect(check.credit).toMatch(/^Tessera .*i, r, g as red, green, blue; Lupton et al\. \(2004\) asinh, stretch 60\.00 nJy, Q 8/);
    expect(check.dSky).toBeLessThan(1e-3);
  });

  it('composes the whole tract from the patches\' inner regions', () => {
    const png = path.join(out, 'tract.png'), one = path.join(out, `patch-${patch}.png`);
    const run = tessera('color-image', processed.root, '--tract', '0', '--bands', 'i,r,g', '-o', png, '--collection', processed.run, '--stretch', '60');
    expect(run.status, run.stderr).toBe(0);
    const check = runPythonJson<{ size: [number, number]; same: boolean }>(`${PY_PNG}
from astropy.io import fits
tract, _ = read_png(sys.argv[1]); one, _ = read_png(sys.argv[2])
side_t = fits.getheader(sys.argv[3]); side_p = fits.getheader(sys.argv[4])
# Tract pixel of the patch PNG's grid origin, from the two sidecars' CRPIX (same tract WCS).
dx = int(round(side_t['CRPIX1'] - side_p['CRPIX1'])); dy = int(round(side_t['CRPIX2'] - side_p['CRPIX2']))
ht, hp = tract.shape[0], one.shape[0]
# Compare a 200 x 200 block at the patch's centre, in bottom-up rows.
cx, cy = one.shape[1] // 2, hp // 2
block_p = np.flipud(one)[cy - 100:cy + 100, cx - 100:cx + 100]
block_t = np.flipud(tract)[cy + dy - 100:cy + dy + 100, cx + dx - 100:cx + dx + 100]
print(json.dumps({'size': [tract.shape[1], tract.shape[0]], 'same': bool(np.array_equal(block_p, block_t))}))
`, [png, one, png.replace(/\.png$/, '.wcs.fits'), one.replace(/\.png$/, '.wcs.fits')]);
    expect(check.size[0]).toBeGreaterThan(2000);
    expect(check.same).toBe(true);
  });

  it('names what is missing', () => {
    const r = tessera('color-image', processed.root, '--tract', '0', '--patch', String(patch), '--bands', 'i,r,z', '-o', path.join(out, 'x.png'), '--collection', processed.run);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no deepCoadd in band z for tract 0 patch \d+ in /);
    expect(tessera('color-image', processed.root, '--tract', '0', '--bands', 'i,r', '-o', 'x.png').stderr).toMatch(/give three bands, red first/);
  });
});
