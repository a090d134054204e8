// An afw ImageU file (lib/fits/imageU.ts, a coadd's nImage): write -> read round trip with its origin and
// WCS; astropy reads it as uint16 with the same values, LTV, and the same sky position for a pixel; a
// file that is not an unsigned 16-bit image is refused, naming it.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { readImageU, writeImageU, type ImageU } from '../../lib/fits/imageU.js';
import { FitsHeader, writeFits } from '../../lib/fits/index.js';
import { parseWcs } from '../../lib/wcs/index.js';
import { runPythonJson } from '../helpers/python.js';
import { testOutputDir } from '../helpers/paths.js';

const out = testOutputDir('fits-imageu');

function sample(): ImageU {
  const width = 37, height = 23;
  const wcsHeader = new FitsHeader();
  for (const [k, v] of [['CTYPE1', 'RA---TAN'], ['CTYPE2', 'DEC--TAN'], ['CRVAL1', 150.1], ['CRVAL2', 2.2], ['CRPIX1', 1000.5], ['CRPIX2', 800.5],
    ['CD1_1', -4.6666e-5], ['CD1_2', 0], ['CD2_1', 0], ['CD2_2', 4.6666e-5]] as const) wcsHeader.set(k, v);
  // As an Exposure plane's header has them (a warp's IMAGE HDU): not an ImageU's.
  wcsHeader.set('EXTNAME', 'IMAGE');
  wcsHeader.set('INHERIT', true);
  const metadata = new FitsHeader();
  metadata.set('BUNIT', 'count');
  metadata.set('VISITS', '1000,1001');
  const image = Uint16Array.from({ length: width * height }, (_, i) => (i * 7) % 6 + (i === 5 ? 65535 : 0));
  return { width, height, x0: 420, y0: -17, image, metadata, wcsHeader };
}

describe('ImageU files', () => {
  it('round-trip the counts, origin, metadata and WCS', () => {
    const value = sample();
    const back = readImageU(writeImageU(value, { name: 'n.fits' }), 'n.fits');
    expect([back.width, back.height, back.x0, back.y0]).toEqual([37, 23, 420, -17]);
    expect(back.image).toEqual(value.image);
    expect(back.metadata.getString('VISITS')).toBe('1000,1001');
    expect(back.metadata.get('EXTNAME')).toBeUndefined();
    expect(back.metadata.get('INHERIT')).toBeUndefined();
    const a = parseWcs(value.wcsHeader)!.pixelToSky(1010, 790), b = parseWcs(back.wcsHeader)!.pixelToSky(1010, 790);
    expect(b[0]).toBe(a[0]);
    expect(b[1]).toBe(a[1]);
  });

  it('are what astropy reads: uint16 values, LTV, checksums and the sky position of a pixel', () => {
    const value = sample();
    const file = path.join(out, 'nimage.fits');
    fs.writeFileSync(file, writeImageU(value, { name: file }));
    const py = runPythonJson<{ dtype: string; values: number[]; ltv: number[]; ra: number; dec: number; checksum: boolean }>(`
import sys, json, warnings
from astropy.io import fits
from astropy.wcs import WCS
with warnings.catch_warnings():
    warnings.simplefilter('error')
    h = fits.open(sys.argv[1], checksum=True)
d = h[0].data
ra, dec = WCS(h[0].header).wcs_pix2world([[1010.0, 790.0]], 0)[0]
print(json.dumps({'dtype': str(d.dtype), 'values': [int(v) for v in d.ravel()], 'ltv': [h[0].header['LTV1'], h[0].header['LTV2']],
                  'ra': float(ra), 'dec': float(dec), 'checksum': 'CHECKSUM' in h[0].header}))
`, [file]);
    expect(py.dtype).toBe('uint16');
    expect(py.values).toEqual(Array.from(value.image));
    expect(py.ltv).toEqual([-420, 17]);
    expect(py.checksum).toBe(true);
    const [ra, dec] = parseWcs(value.wcsHeader)!.pixelToSky(1010, 790);
    expect(Math.hypot((py.ra - ra) * Math.cos((dec * Math.PI) / 180), py.dec - dec) * 3.6e6).toBeLessThan(0.01);
  });

  it('refuses a float image or a cube, naming the file', () => {
    const float = writeFits([{ data: new Float32Array(6), shape: [2, 3] }]);
    expect(() => readImageU(float, 'float.fits')).toThrow(/float\.fits.*unsigned 16-bit/);
    const cube = writeFits([{ data: new Uint16Array(8), shape: [2, 2, 2] }]);
    expect(() => readImageU(cube, 'cube.fits')).toThrow(/cube\.fits.*2-D/);
    expect(() => writeImageU({ ...sample(), width: 5 }, { name: 'bad.fits' })).toThrow(/bad\.fits.*851 pixels, not 5x23/);
  });
});
