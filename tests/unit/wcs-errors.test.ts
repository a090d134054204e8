/**
 * lib/wcs: headers without a celestial WCS give undefined; malformed or unsupported ones throw a WcsError
 * naming the source, the HDU, the WCS letter and the offending keyword. Where astropy (wcslib) also
 * rejects a header, the test checks that it does, so the two agree on what is malformed.
 */
import { describe, expect, it } from 'vitest';
import { FitsHeader, type CardValue } from '../../lib/fits/header.js';
import { parseWcs, WcsError } from '../../lib/wcs/index.js';
import { runPythonJson } from '../helpers/python.js';

type Cards = [string, CardValue][];

function headerOf(cards: Cards): FitsHeader {
  const h = new FitsHeader();
  for (const [k, v] of cards) h.set(k, v);
  return h;
}

const TAN: Cards = [['NAXIS', 2], ['CTYPE1', 'RA---TAN'], ['CTYPE2', 'DEC--TAN'], ['CRVAL1', 10], ['CRVAL2', 20], ['CRPIX1', 50], ['CRPIX2', 50], ['CDELT1', -1e-3], ['CDELT2', 1e-3]];
const withCards = (base: Cards, changes: Cards, drop: string[] = []): Cards => {
  const out = base.filter(([k]) => !drop.includes(k) && !changes.some(([c]) => c === k));
  return [...out, ...changes];
};

function thrown(cards: Cards, opts: { alt?: string } = {}): WcsError {
  try {
    parseWcs(headerOf(cards), { source: 'bad.fits', hdu: 3, ...opts });
  } catch (e) {
    expect(e).toBeInstanceOf(WcsError);
    return e as WcsError;
  }
  throw new Error('expected a WcsError');
}

interface Bad { name: string; cards: Cards; message: string; alt?: string; astropyRejects: boolean }

const BAD: Bad[] = [
  { name: 'unsupported projection', cards: withCards(TAN, [['CTYPE1', 'RA---XYZ'], ['CTYPE2', 'DEC--XYZ']]), message: "unsupported projection 'XYZ' in CTYPE1 = 'RA---XYZ'", astropyRejects: true },
  { name: 'projections differ between the axes', cards: withCards(TAN, [['CTYPE2', 'DEC--SIN']]), message: 'the celestial axes name different projections', astropyRejects: true },
  { name: 'longitude without latitude', cards: withCards(TAN, [['CTYPE2', 'LINEAR']]), message: "CTYPE1 = 'RA---TAN' has no matching celestial latitude axis", astropyRejects: true },
  { name: 'RA paired with GLAT', cards: withCards(TAN, [['CTYPE2', 'GLAT-TAN']]), message: 'celestial axis types do not pair', astropyRejects: true },
  // wcslib evaluates pixel -> sky with a singular CD and fails only on sky -> pixel; we refuse it up front.
  { name: 'singular CD matrix', cards: withCards(TAN, [['CD1_1', 1e-4], ['CD1_2', 2e-4], ['CD2_1', 1e-4], ['CD2_2', 2e-4]]), message: 'the CD linear transformation of axes 1 and 2 is singular', astropyRejects: false },
  // wcslib reads bare 'RA'/'DEC' as linear (non-spherical) celestial axes; we do not support those.
  { name: "bare 'RA'/'DEC' without a projection code", cards: withCards(TAN, [['CTYPE1', 'RA'], ['CTYPE2', 'DEC']]), message: 'celestial axes without a projection code are linear', astropyRejects: false },
  { name: 'CDELT of zero', cards: withCards(TAN, [['CDELT2', 0]]), message: 'CDELT2 is 0', astropyRejects: true },
  { name: 'PV1_5 on a SIN projection', cards: withCards(TAN, [['CTYPE1', 'RA---SIN'], ['CTYPE2', 'DEC--SIN'], ['PV1_5', 0.1]]), message: 'PV1_5 is not a parameter of the SIN projection', astropyRejects: true },
  { name: 'CAR with a LONPOLE no pole satisfies', cards: withCards(TAN, [['CTYPE1', 'RA---CAR'], ['CTYPE2', 'DEC--CAR'], ['LONPOLE', 120]]), message: 'no valid celestial latitude of the native pole', astropyRejects: true },
  { name: 'CEA with lambda > 1', cards: withCards(TAN, [['CTYPE1', 'RA---CEA'], ['CTYPE2', 'DEC--CEA'], ['PV2_1', 2]]), message: 'CEA needs 0 < lambda <= 1', astropyRejects: true },
  { name: 'TPV index beyond 39', cards: withCards(TAN, [['CTYPE1', 'RA---TPV'], ['CTYPE2', 'DEC--TPV'], ['PV1_1', 1], ['PV2_1', 1], ['PV1_40', 1e-3]]), message: 'PV1_40 is beyond the TPV polynomial', astropyRejects: true },
  { name: 'TPV without coefficients', cards: withCards(TAN, [['CTYPE1', 'RA---TPV'], ['CTYPE2', 'DEC--TPV']]), message: "asks for TPV but there are no PV1_m / PV2_m coefficients", astropyRejects: false },
  { name: 'non-angular CUNIT', cards: withCards(TAN, [['CUNIT1', 'Hz']]), message: "CUNIT1 = 'Hz' is not an angular unit", astropyRejects: true },
  { name: 'string CRPIX', cards: withCards(TAN, [['CRPIX1', 'abc']]), message: "CRPIX1 = 'abc' is not a number", astropyRejects: false },
  { name: 'latitude CRVAL beyond 90', cards: withCards(TAN, [['CRVAL2', 95]]), message: 'CRVAL2 = 95 is not a latitude', astropyRejects: false },
  // astropy ignores an unknown suffix (and with it whatever distortion it names); we refuse it.
  { name: 'unsupported algorithm suffix', cards: withCards(TAN, [['CTYPE1', 'RA---TAN-ZZZ'], ['CTYPE2', 'DEC--TAN-ZZZ']]), message: "unsupported algorithm code '-ZZZ' in CTYPE1 = 'RA---TAN-ZZZ'", astropyRejects: false },
  { name: 'A_ORDER without B_ORDER', cards: withCards(TAN, [['CTYPE1', 'RA---TAN-SIP'], ['CTYPE2', 'DEC--TAN-SIP'], ['A_ORDER', 2], ['A_2_0', 1e-6]]), message: 'A_ORDER is given without a matching B_ORDER', astropyRejects: true },
  { name: 'non-string CTYPE', cards: withCards(TAN, [['CTYPE2', 5]]), message: 'CTYPE2 = 5 is not a string', astropyRejects: false },
  {
    name: "alternate 'A' with an unsupported projection", alt: 'A',
    cards: [...TAN, ['CTYPE1A', 'RA---QSC'], ['CTYPE2A', 'DEC--QSC'], ['CDELT1A', 1e-3], ['CDELT2A', 1e-3]],
    message: "unsupported projection 'QSC' in CTYPE1A = 'RA---QSC'", astropyRejects: false,
  },
];

describe('malformed and unsupported WCS keywords', () => {
  it('throws a WcsError naming source, HDU, letter and problem for each', () => {
    for (const bad of BAD) {
      const e = thrown(bad.cards, { alt: bad.alt });
      expect(e.message, bad.name).toContain(bad.message);
      expect(e.message.startsWith(bad.alt ? `bad.fits [HDU 3] WCS '${bad.alt}': ` : 'bad.fits [HDU 3]: '), e.message).toBe(true);
      expect(e.source).toBe('bad.fits');
      expect(e.hdu).toBe(3);
      expect(e.alt).toBe(bad.alt ?? '');
      expect(e.problem.length).toBeGreaterThan(10);
    }
  });

  it('astropy rejects the same headers where wcslib checks the same thing', () => {
    const rejected = runPythonJson<boolean[]>(String.raw`
import json, sys, warnings
warnings.simplefilter('ignore')
from astropy.io import fits
from astropy.wcs import WCS
from astropy import log
log.setLevel('CRITICAL')
out = []
for cards in json.loads(sys.argv[1]):
    h = fits.Header()
    for k, v in cards: h[k] = v
    try:
        w = WCS(h)
        w.all_pix2world([1.0], [1.0], 0)
        out.append(False)
    except Exception:
        out.append(True)
print(json.dumps(out))
`, [JSON.stringify(BAD.filter((b) => b.astropyRejects && !b.alt).map((b) => b.cards))]);
    const names = BAD.filter((b) => b.astropyRejects && !b.alt).map((b) => b.name);
    expect(names.length).toBe(rejected.length);
    names.forEach((name, i) => expect({ name, rejected: rejected[i] }).toEqual({ name, rejected: true }));
  });

  it("rejects an alternate letter other than ' ' or 'A'..'Z'", () => {
    for (const alt of ['AB', '1', '*']) {
      expect(() => parseWcs(headerOf(TAN), { alt, source: 'x.fits', hdu: 0 })).toThrow(WcsError);
      expect(() => parseWcs(headerOf(TAN), { alt, source: 'x.fits', hdu: 0 })).toThrow(/alternate WCS letter must be/);
    }
    expect(parseWcs(headerOf(TAN), { alt: ' ' })).toBeDefined();
    expect(parseWcs(headerOf(TAN), { alt: '' })).toBeDefined();
  });
});

describe('headers with no celestial WCS give undefined', () => {
  const cases: [string, Cards][] = [
    ['an empty header', []],
    ['no CTYPE at all', [['NAXIS', 2], ['CRPIX1', 1], ['CRVAL1', 3]]],
    ['LINEAR axes', [['CTYPE1', 'LINEAR'], ['CTYPE2', 'LINEAR']]],
    ['a spectral axis only', [['CTYPE1', 'FREQ']]],
    ['blank CTYPEs', [['CTYPE1', ''], ['CTYPE2', '']]],
  ];
  it('for each kind, as astropy has_celestial = False', () => {
    const theirs = runPythonJson<boolean[]>(String.raw`
import json, sys, warnings
warnings.simplefilter('ignore')
from astropy.io import fits
from astropy.wcs import WCS
out = []
for cards in json.loads(sys.argv[1]):
    h = fits.Header()
    for k, v in cards: h[k] = v
    out.append(bool(WCS(h).has_celestial))
print(json.dumps(out))
`, [JSON.stringify(cases.map(([, c]) => c))]);
    cases.forEach(([name, cards], i) => {
      expect({ name, wcs: parseWcs(headerOf(cards)) }).toEqual({ name, wcs: undefined });
      expect({ name, astropy: theirs[i] }).toEqual({ name, astropy: false });
    });
  });

  it('an alternate letter the header does not have', () => {
    expect(parseWcs(headerOf(TAN), { alt: 'C' })).toBeUndefined();
  });
});
