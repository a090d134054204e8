/**
 * lib/sim/camera.ts (presets, focal plane, raw layout, the camera description file) and the YAML subset
 * it is written in. Checked: preset sizes and the HSC amplifier geometry (2144x4241 raw), parameters in
 * their stated ranges and fixed by the seed, detectors that neither overlap nor leave other than the
 * stated gaps, 180-deg rotation of the upper row, pixel <-> focal plane round trips to 1e-9 px,
 * description round trips (YAML and JSON, exact), a hand-written description of a real SAAO raw whose
 * sections reproduce the overscan level measured there (214 ADU), and the error message of each kind of
 * broken description.
 */
import fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readFitsBytes } from '../../lib/fits/index.js';
import {
  AMPLIFIER_RANGES, CameraDescriptionError, PRESET_GEOMETRY, SATURATION_MARGIN_ADU, amplifierAt, assembledToRaw, cameraDescriptionJson,
  cameraDescriptionYaml, detectorAtFocalPlane, detectorCornersMm, focalPlaneToPixel, makeCamera, parseCameraDescription, pixelToFocalPlane,
  type Camera,
} from '../../lib/sim/camera.js';
import { parseSection } from '../../lib/sim/irafSection.js';
import { assembleFromRaw } from '../../lib/sim/rawFrame.js';
import { parseYaml, stringifyYaml, YamlError, type YamlValue } from '../../lib/sim/yamlSubset.js';
import { overlapArea } from '../../lib/skymap/index.js';
import { realFile } from '../helpers/paths.js';

describe('camera presets', () => {
  it('have the stated detector and raw sizes', () => {
    const expected = { tiny: [2, 512, 1024, 2, 560, 1036], demo: [4, 1024, 2048, 4, 1120, 2072], hsc: [8, 2048, 4176, 4, 2144, 4241] } as const;
    for (const [preset, [n, w, h, amps, rw, rh]] of Object.entries(expected)) {
      const cam = makeCamera(preset as keyof typeof expected);
      expect(cam.detectors.length).toBe(n);
      for (const d of cam.detectors) {
        expect([d.width, d.height, d.amplifiers.length, d.rawWidth, d.rawHeight]).toEqual([w, h, amps, rw, rh]);
      }
    }
    // HSC's amplifier: 8 px prescan, 512 data, 16 overscan; 49 rows parallel prescan, 16 parallel overscan (obs_subaru).
    const a1 = makeCamera('hsc').detectors[0]!.amplifiers[1]!;
    expect(a1.rawBox).toEqual({ x0: 536, y0: 0, width: 536, height: 4241 });
    expect(a1.rawDataBox).toEqual({ x0: 544, y0: 49, width: 512, height: 4176 });
    expect(a1.rawSerialOverscanBox).toEqual({ x0: 1056, y0: 49, width: 16, height: 4176 });
    expect(a1.rawParallelOverscanBox).toEqual({ x0: 544, y0: 4225, width: 512, height: 16 });
    expect(a1.readoutCorner).toBe('LR');
    expect(a1.rawFlipX).toBe(true);
  });

  it('draws amplifier parameters in the stated ranges, fixed by the seed', () => {
    const cam = makeCamera('hsc', { detectors: 24 });
    const amps = cam.detectors.flatMap((d) => d.amplifiers);
    for (const a of amps) {
      expect(a.gain).toBeGreaterThanOrEqual(AMPLIFIER_RANGES.gain[0]);
      expect(a.gain).toBeLessThan(AMPLIFIER_RANGES.gain[1]);
      expect(a.readNoise).toBeGreaterThanOrEqual(AMPLIFIER_RANGES.readNoise[0]);
      expect(a.readNoise).toBeLessThan(AMPLIFIER_RANGES.readNoise[1]);
      expect(a.biasLevel).toBeGreaterThanOrEqual(AMPLIFIER_RANGES.biasLevel[0]);
      expect(a.biasLevel).toBeLessThan(AMPLIFIER_RANGES.biasLevel[1]);
      expect(a.fullWell).toBeGreaterThanOrEqual(AMPLIFIER_RANGES.fullWell[0]);
      expect(a.fullWell).toBeLessThanOrEqual(AMPLIFIER_RANGES.fullWell[1]);
      expect(a.saturation).toBe(Math.floor(Math.min(a.biasLevel + a.fullWell / a.gain, 65535)) - SATURATION_MARGIN_ADU);
    }
    // 96 amplifiers spread over their ranges: the mean gain within 4 standard errors of the range's middle.
    const meanGain = amps.reduce((s, a) => s + a.gain, 0) / amps.length;
    expect(Math.abs(meanGain - 3.05)).toBeLessThan(4 * (0.4 / Math.sqrt(12)) / Math.sqrt(amps.length));
    expect(makeCamera('hsc', { detectors: 24 })).toEqual(cam);
    const other = makeCamera('hsc', { detectors: 24, seed: 2 });
    expect(other.detectors[0]!.amplifiers[0]!.gain).not.toBe(cam.detectors[0]!.amplifiers[0]!.gain);
    expect(new Set(cam.detectors.map((d) => d.serial)).size).toBe(24);
  });

  it('rejects sizes the amplifiers cannot divide', () => {
    expect(() => makeCamera('hsc', { width: 2050 })).toThrow(/multiple of the hsc preset's 4 amplifiers/);
    expect(() => makeCamera('tiny', { detectors: 0 })).toThrow(/detectors must be an integer from 1/);
    expect(makeCamera('tiny', { width: 256, height: 300 }).detectors[0]!.rawWidth).toBe(2 * (8 + 128 + 16));
  });
});

describe('focal plane', () => {
  it('places detectors without overlap, with the stated gaps, and rotates the upper half by 180 deg', () => {
    const cam = makeCamera('hsc');
    const g = PRESET_GEOMETRY.hsc;
    const polys = cam.detectors.map((d) => detectorCornersMm(cam, d));
    for (let i = 0; i < polys.length; i++) {
      for (let j = i + 1; j < polys.length; j++) {
        const p = polys[j]!;
        const xs = p.map((q) => q[0]), ys = p.map((q) => q[1]);
        expect(overlapArea(polys[i]!, { xMin: Math.min(...xs), xMax: Math.max(...xs), yMin: Math.min(...ys), yMax: Math.max(...ys) })).toBe(0);
      }
    }
    const [d0, d1, , , d4] = cam.detectors as [Camera['detectors'][0], Camera['detectors'][0], unknown, unknown, Camera['detectors'][0]];
    expect(d1.centerMm[0] - d0.centerMm[0] - 2048 * 0.015).toBeCloseTo(g.gapMm[0], 9);
    expect(d4.centerMm[1] - d0.centerMm[1] - 4176 * 0.015).toBeCloseTo(g.gapMm[1], 9);
    expect(cam.detectors.map((d) => d.rotationDeg)).toEqual([0, 0, 0, 0, 180, 180, 180, 180]);
    expect(makeCamera('tiny').detectors.map((d) => d.rotationDeg)).toEqual([0, 0]);
    // The mosaic is centred on the optical axis.
    const cx = cam.detectors.reduce((s, d) => s + d.centerMm[0], 0) / 8;
    const cy = cam.detectors.reduce((s, d) => s + d.centerMm[1], 0) / 8;
    expect(Math.hypot(cx, cy)).toBeLessThan(1e-9);
    // Pixel (0, 0) of a rotated detector is its corner farthest up and right on the focal plane.
    const [x00, y00] = pixelToFocalPlane(cam, d4, 0, 0);
    expect(x00).toBeCloseTo(d4.centerMm[0] + (2047 / 2) * 0.015, 9);
    expect(y00).toBeCloseTo(d4.centerMm[1] + (4175 / 2) * 0.015, 9);
  });

  it('maps pixels to the focal plane and back to 1e-9 px, and finds the detector under a point', () => {
    const cam = makeCamera('hsc', { detectors: 12 });
    for (const d of cam.detectors) {
      for (const [x, y] of [[0, 0], [2047, 4175], [100.25, 3000.75], [-3, 5000]] as const) {
        const [fx, fy] = pixelToFocalPlane(cam, d, x, y);
        const [bx, by] = focalPlaneToPixel(cam, d, fx, fy);
        expect(Math.hypot(bx - x, by - y)).toBeLessThan(1e-9);
      }
      const hit = detectorAtFocalPlane(cam, ...pixelToFocalPlane(cam, d, 10, 20));
      expect(hit?.detector.id).toBe(d.id);
      expect(Math.hypot(hit!.x - 10, hit!.y - 20)).toBeLessThan(1e-9);
    }
    const [a, b] = cam.detectors as [Camera['detectors'][0], Camera['detectors'][0]];
    // Midway between two neighbours lies in the gap.
    expect(detectorAtFocalPlane(cam, (a.centerMm[0] + b.centerMm[0]) / 2, a.centerMm[1])).toBeUndefined();
  });
});

describe('raw layout', () => {
  it('tiles the detector with data sections and the raw image with segments, and maps readout order', () => {
    for (const preset of ['tiny', 'demo', 'hsc'] as const) {
      const d = makeCamera(preset, { detectors: 1 }).detectors[0]!;
      const cover = new Uint8Array(d.width * d.height);
      const rawCover = new Uint8Array(d.rawWidth * d.rawHeight);
      for (const a of d.amplifiers) {
        for (let y = a.dataBox.y0; y < a.dataBox.y0 + a.dataBox.height; y++) for (let x = a.dataBox.x0; x < a.dataBox.x0 + a.dataBox.width; x++) cover[y * d.width + x]!++;
        for (let y = a.rawBox.y0; y < a.rawBox.y0 + a.rawBox.height; y++) for (let x = a.rawBox.x0; x < a.rawBox.x0 + a.rawBox.width; x++) rawCover[y * d.rawWidth + x]!++;
        // The first pixel read (nearest the output amplifier) is stored at the data section's lower left.
        const nearX = a.readoutCorner === 'LR' ? a.dataBox.x0 + a.dataBox.width - 1 : a.dataBox.x0;
        expect(assembledToRaw(a, nearX, 0)).toEqual([a.rawDataBox.x0, a.rawDataBox.y0]);
        expect(amplifierAt(d, nearX, 0)).toBe(a);
      }
      expect(cover.every((c) => c === 1)).toBe(true);
      expect(rawCover.every((c) => c === 1)).toBe(true);
    }
  });
});

describe('camera description', () => {
  it('round-trips exactly through YAML and JSON', () => {
    for (const cam of [makeCamera('tiny'), makeCamera('demo', { seed: 99 }), makeCamera('hsc', { detectors: 10 })]) {
      const yaml = cameraDescriptionYaml(cam);
      expect(parseCameraDescription(yaml, 'CAMERA.yaml')).toEqual(cam);
      expect(parseCameraDescription(cameraDescriptionJson(cam), 'CAMERA.json')).toEqual(cam);
      expect(yaml).toContain("rawSerialOverscan: '[");
      expect(yaml.startsWith('# Tessera camera description')).toBe(true);
    }
  });

  it('describes a real single-amplifier raw (SAAO STE3) well enough to process it', () => {
    const text = `
format: tessera-camera-1
name: saao-1m-ste3
instrument: STE3 CCD
pixelSizeMm: 0.015         # not in the header; any positive value serves here
plateScaleArcsecPerMm: 20.0
adcMax: 65535
headerKeys: {filter: FILTERS, exposureTime: EXPTIME, date: DATE-OBS, mjd: MJD-OBS, detector: INSTRUME, imageType: IMAGETYP, exposureId: OBJECT}
filters:
  - physical: '48'
    band: r
detectors:
  - id: 0
    name: STE3
    serial: unknown
    width: 512
    height: 520
    rawWidth: 536
    rawHeight: 520
    centerMm: [0, 0]
    amplifiers:
      - name: A
        readoutCorner: LL
        gain: 1.9
        readNoise: 5
        biasLevel: 214
        fullWell: 100000
        saturation: 65000
        dataSection: [1:512,1:520]      # unquoted: read as a YAML list, accepted
        rawSection: '[1:536,1:520]'
        rawDataSection: '[17:528,1:520]'
        rawSerialOverscan: '[4:13,1:520]'
`;
    const cam = parseCameraDescription(text, 'saao.yaml');
    const amp = cam.detectors[0]!.amplifiers[0]!;
    const file = realFile('saao_raw_overscan/a8280271.fits');
    const fits = readFitsBytes(file, new Uint8Array(fs.readFileSync(file)));
    const header = fits.hdus[0]!.header;
    expect(parseSection(header.getString('TRIMSEC')!).box).toEqual(amp.rawDataBox);
    expect(parseSection(header.getString('BIASSEC')!).box).toEqual(amp.rawSerialOverscanBox);
    const image = fits.readImage(0);
    expect(image.data).toBeInstanceOf(Uint16Array);
    const data = image.data as Uint16Array;
    const os: number[] = [];
    const b = amp.rawSerialOverscanBox;
    for (let y = b.y0; y < b.y0 + b.height; y++) for (let x = b.x0; x < b.x0 + b.width; x++) os.push(data[y * 536 + x]!);
    os.sort((p, q) => p - q);
    // MANIFEST.md: overscan median 214 ADU, trim-region median 300 ADU.
    expect(os[os.length >> 1]).toBe(214);
    const electrons = assembleFromRaw(cam, 0, { data, shape: image.shape }, { overscan: 'median' });
    const sorted = Float64Array.from(electrons).sort();
    expect(sorted[sorted.length >> 1]! / 1.9).toBeCloseTo(300 - 214, 0);
  });

  const good = cameraDescriptionYaml(makeCamera('tiny'));
  const broken: [string, (t: string) => string, RegExp][] = [
    ['a missing gain', (t) => t.replace(/\n {8}gain: [\d.]+/, ''), /detectors\[0\]\.amplifiers\[0\]\.gain: expected a number, got nothing/],
    ['a negative read noise', (t) => t.replace(/readNoise: [\d.]+/, 'readNoise: -4'), /amplifiers\[0\]\.readNoise: must be >= 0, got -4/],
    ['an unknown field', (t) => t.replace('rawHdu: 0', 'rawHdu: 0\nlens: wide'), /CAMERA\.yaml: lens: unknown field/],
    ['a malformed section', (t) => t.replace("dataSection: '[1:256,1:1024]'", "dataSection: '[1:256;1:1024]'"), /amplifiers\[0\]\.dataSection: image section '\[1:256;1:1024\]'/],
    ['a data section of the wrong size', (t) => t.replace("rawDataSection: '[9:264,5:1028]'", "rawDataSection: '[9:263,5:1028]'"), /rawDataSection: is 255x1024 but dataSection is 256x1024/],
    ['overlapping sections', (t) => t.replace("rawSerialOverscan: '[265:280,5:1028]'", "rawSerialOverscan: '[260:275,5:1028]'"), /rawSerialOverscan: \[260:275,5:1028\] overlaps rawDataSection/],
    ['a backwards section', (t) => t.replace("dataSection: '[1:256,1:1024]'", "dataSection: '[256:1,1:1024]'"), /runs backwards/],
    ['a duplicate detector id', (t) => t.replace('  - id: 1\n', '  - id: 0\n'), /detectors\[1\]\.id: duplicate detector id 0/],
    ['a bad readout corner', (t) => t.replace('readoutCorner: LL', 'readoutCorner: XX'), /readoutCorner: expected one of LL, LR, UL, UR, got 'XX'/],
    ['a tab in the indentation', (t) => t.replace('  filter: FILTER', '\tfilter: FILTER'), /CAMERA\.yaml: line 18: tabs are not allowed/],
    ['an unterminated quote', (t) => t.replace("dataSection: '[1:256,1:1024]'", "dataSection: '[1:256,1:1024]"), /line \d+: unterminated single-quoted string/],
    ['the wrong format', (t) => t.replace('format: tessera-camera-1', 'format: tessera-camera-9'), /format: expected 'tessera-camera-1', got 'tessera-camera-9'/],
    ['a saturation above the ADC', (t) => t.replace(/saturation: \d+/, 'saturation: 70000'), /saturation: 70000 ADU exceeds the ADC maximum 65535/],
    ['a bad header keyword', (t) => t.replace('filter: FILTER', 'filter: filter name'), /headerKeys\.filter: 'filter name' is not a FITS keyword/],
  ];
  for (const [what, breakIt, message] of broken) {
    it(`rejects ${what} with a message naming the field`, () => {
      const text = breakIt(good);
      expect(text).not.toBe(good);
      let error: unknown;
      try { parseCameraDescription(text, 'CAMERA.yaml'); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(CameraDescriptionError);
      expect((error as Error).message).toMatch(message);
    });
  }

  it('reports invalid JSON', () => {
    expect(() => parseCameraDescription('{"format": ', 'c.json')).toThrow(/c\.json: \(document\): not valid JSON/);
  });
});

describe('YAML subset', () => {
  it('reads block and flow collections, quoting, comments and the core schema', () => {
    const text = `---
# comment
a: 1
b: -2.5e3   # trailing comment
c: 'it''s # not a comment'
d: "tab\\tand \\u00e9"
e: [1, two, 'three, four', [5]]
f: {x: 1, y: [true, null]}
g:
  - plain text with spaces
  - k: v
    m:
      - 0x1f
      - .inf
  -
    - nested
h: ~
i: 0o17
empty:
key with spaces: yes
`;
    expect(parseYaml(text)).toEqual({
      a: 1, b: -2500, c: "it's # not a comment", d: 'tab\tand \u00e9', e: [1, 'two', 'three, four', [5]], f: { x: 1, y: [true, null] },
      g: ['plain text with spaces', { k: 'v', m: [31, Infinity] }, ['nested']], h: null, i: 15, empty: null, 'key with spaces': 'yes',
    });
    expect(Number.isNaN(parseYaml('x: .nan') && (parseYaml('x: .nan') as { x: number }).x)).toBe(true);
  });

  it('rejects what it does not support, with the line', () => {
    expect(() => parseYaml('a: &anchor 1', 'f.yaml')).toThrow(/f\.yaml: line 1: '&'/);
    expect(() => parseYaml('a: |\n  text', 'f.yaml')).toThrow(/line 1: '\|'/);
    expect(() => parseYaml('a: [1,\n  2]', 'f.yaml')).toThrow(YamlError);
    expect(() => parseYaml('a: 1\na: 2', 'f.yaml')).toThrow(/line 2: duplicate key 'a'/);
    expect(() => parseYaml('a: 1\n  b: 2', 'f.yaml')).toThrow(/line 2: unexpected indentation/);
  });

  it('writes any value so that it reads back the same', () => {
    const scalar = fc.oneof(
      fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: false }),
      fc.string(), fc.constantFrom('true', 'null', '1e5', '- x', 'a: b', '#c', "'q'", '[1]', ' lead', 'trail ', '~', '.nan'),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(fc.string({ minLength: 0, maxLength: 6 }), tie('node'), { maxKeys: 4 })),
    })).node as fc.Arbitrary<YamlValue>;
    fc.assert(fc.property(value, (v) => {
      // -0 is written as 0, as JSON does.
      expect(parseYaml(stringifyYaml(v))).toEqual(normalise(v));
    }), { numRuns: 400 });
  });
});

function normalise(v: YamlValue): YamlValue {
  if (typeof v === 'number') return Object.is(v, -0) ? 0 : v;
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === 'object') {
    const out: Record<string, YamlValue> = {};
    for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: normalise(v[k]!), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}
