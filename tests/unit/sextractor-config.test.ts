// SExtractor configuration files (lib/measure/sextractor/config.ts): the real default.sex of
// ../shared/data/real/sep_sextractor with its .param and .conv, and small in-memory files for the errors,
// each of which must name the file and line at fault.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { realFile } from '../helpers/paths.js';
import {
  loadSextractorConfig, parseConvolutionFilter, parseParameterList, parseSextractorConfig, resolveBeside, SextractorConfigError,
} from '../../lib/measure/sextractor/config.js';

const PARAM = 'NUMBER\nX_IMAGE\nY_IMAGE\nFLUX_APER(1)\n';
const CONV = 'CONV NORM\n# a comment\n1 2 1\n2 4 2\n1 2 1\n';

/** A readText over in-memory files (paths as the parser forms them). */
function files(entries: Record<string, string>): (p: string) => string {
  return (p) => {
    const text = entries[p];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${p}'`), { code: 'ENOENT' });
    return text;
  };
}

function parse(sex: string, extra: Record<string, string> = {}): ReturnType<typeof parseSextractorConfig> {
  return parseSextractorConfig(sex, 'conf/test.sex', files({ 'conf/default.param': PARAM, 'conf/default.conv': CONV, ...extra }));
}

function failure(fn: () => unknown): SextractorConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SextractorConfigError);
    return err as SextractorConfigError;
  }
  throw new Error('expected a SextractorConfigError');
}

describe('SExtractor configuration', () => {
  it('reads the real default.sex with its .param and .conv files', () => {
    const file = realFile('sep_sextractor/default.sex');
    const c = loadSextractorConfig(file, (p) => fs.readFileSync(p, 'utf8'));
    expect(c.parametersFile).toBe(path.join(path.dirname(file), 'default.param'));
    expect(c.parameters.map((p) => p.name)).toEqual([
      'NUMBER', 'X_IMAGE', 'Y_IMAGE', 'XWIN_IMAGE', 'YWIN_IMAGE', 'X2_IMAGE', 'Y2_IMAGE', 'XY_IMAGE', 'ERRX2_IMAGE', 'ERRY2_IMAGE',
      'ERRXY_IMAGE', 'A_IMAGE', 'FLUX_APER', 'FLUXERR_APER', 'KRON_RADIUS', 'FLUX_AUTO', 'FLUXERR_AUTO', 'FLUX_RADIUS', 'FLAGS',
    ]);
    expect(c.parameters.find((p) => p.name === 'FLUX_RADIUS')).toMatchObject({ count: 3, vector: true });
    expect(c).toMatchObject({
      detectMinArea: 5, detectThresh: 1.5, analysisThresh: 1.5, threshType: 'RELATIVE', deblendNThresh: 32, deblendMinCont: 1,
      clean: true, cleanParam: 1, photApertures: [10], photAutoParams: [2.5, 0], photAutoApers: [0, 0], photFluxFrac: [0.1, 0.5, 0.6],
      saturLevel: 50000, magZeropoint: 0, gain: 0, backType: 'AUTO', backSize: [64, 64], backFilterSize: [3, 3], backFilterThresh: 0,
    });
    expect(c.filter).toMatchObject({ width: 3, height: 3, normalized: true });
    expect(Array.from(c.filter!.kernel)).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16));
    expect(c.ignored).toEqual(expect.arrayContaining(['CATALOG_NAME', 'CHECKIMAGE_TYPE', 'MEMORY_PIXSTACK', 'SEEING_FWHM', 'PHOT_PETROPARAMS']));
    expect(c.warnings).toEqual([]);
  });

  it('takes SExtractor defaults for keywords not given, and says MASK_TYPE is taken as NONE', () => {
    const c = parse('DETECT_THRESH 3\n');
    expect(c).toMatchObject({ detectMinArea: 5, detectThresh: 3, deblendMinCont: 0.005, photApertures: [5], photAutoParams: [2.5, 3.5], photFluxFrac: [0.5], backSize: [64, 64] });
    expect(c.parametersFile).toBe('conf/default.param');
    expect(c.filter!.file).toBe('conf/default.conv');
    expect(c.warnings).toEqual(['conf/test.sex: MASK_TYPE not given (SExtractor\'s default is CORRECT); measuring as MASK_TYPE NONE']);
  });

  it('reads two-valued sizes, comma or blank separated lists, ABSOLUTE thresholds, FILTER N and MANUAL backgrounds', () => {
    const c = parse('BACK_SIZE 32,48\nBACK_FILTERSIZE 5\nPHOT_APERTURES 4 8, 12\nTHRESH_TYPE ABSOLUTE\nFILTER N\nBACK_TYPE MANUAL\nBACK_VALUE 100.5\nMASK_TYPE NONE\n');
    expect(c).toMatchObject({ backSize: [32, 48], backFilterSize: [5, 5], photApertures: [4, 8, 12], threshType: 'ABSOLUTE', backType: 'MANUAL', backValue: 100.5 });
    expect(c.filter).toBeUndefined();
  });

  it('names the file and line of a bad keyword value', () => {
    const e = failure(() => parse('# comment\nDETECT_MINAREA 5\nBACK_SIZE 64,abc   # mesh\n'));
    expect(e.file).toBe('conf/test.sex');
    expect(e.line).toBe(3);
    expect(e.message).toBe("conf/test.sex:3: BACK_SIZE: expected a number, got 'abc'");
    expect(failure(() => parse('DETECT_MINAREA 2.5\n')).message).toBe("conf/test.sex:1: DETECT_MINAREA: expected an integer >= 1, got '2.5'");
    expect(failure(() => parse('\n\nDEBLEND_MINCONT 2\n')).message).toBe("conf/test.sex:3: DEBLEND_MINCONT: expected a number in [0, 1], got '2'");
    expect(failure(() => parse('CLEAN maybe\n')).message).toBe("conf/test.sex:1: CLEAN: expected Y, N, got 'maybe'");
    expect(failure(() => parse('PHOT_AUTOPARAMS 2.5\n')).message).toBe("conf/test.sex:1: PHOT_AUTOPARAMS: expected 2 values, got '2.5'");
    expect(failure(() => parse('DETECT_THRESH\n')).message).toBe('conf/test.sex:1: DETECT_THRESH: expected 1 to 2 values, got none');
  });

  it('refuses unknown and repeated keywords, and values Tessera cannot honour', () => {
    expect(failure(() => parse('DETECT_THRESH 2\nDETECT_THRES 3\n')).message).toBe('conf/test.sex:2: unknown keyword DETECT_THRES');
    expect(failure(() => parse('GAIN 1\nGAIN 2\n')).message).toBe('conf/test.sex:2: GAIN is given twice (first on line 1)');
    expect(failure(() => parse('MASK_TYPE CORRECT\n')).message).toMatch(/^conf\/test\.sex:1: MASK_TYPE: CORRECT .* not supported; use NONE$/);
    expect(failure(() => parse('BACKPHOTO_TYPE LOCAL\n')).message).toMatch(/^conf\/test\.sex:1: BACKPHOTO_TYPE: LOCAL .* not supported/);
    expect(failure(() => parse('DETECT_TYPE PHOTO\n')).message).toMatch(/^conf\/test\.sex:1: DETECT_TYPE: PHOTO/);
    expect(failure(() => parse('DETECT_THRESH 24,30\n')).message).toMatch(/^conf\/test\.sex:1: DETECT_THRESH: a surface-brightness threshold/);
  });

  it('resolves PARAMETERS_NAME and FILTER_NAME beside the .sex file, and names the line of a missing one', () => {
    const c = parse('PARAMETERS_NAME sub/my.param\nFILTER_NAME /abs/gauss.conv\n', { 'conf/sub/my.param': 'X_IMAGE\n', '/abs/gauss.conv': 'CONV NONORM\n0.5 1 0.5\n' });
    expect(c.parametersFile).toBe('conf/sub/my.param');
    expect(c.filter).toMatchObject({ file: '/abs/gauss.conv', width: 3, height: 1, normalized: false });
    expect(Array.from(c.filter!.kernel)).toEqual([0.5, 1, 0.5]);
    expect(failure(() => parse('MASK_TYPE NONE\nPARAMETERS_NAME nothere.param\n')).message).toBe('conf/test.sex:2: cannot read PARAMETERS_NAME conf/nothere.param: file not found');
    expect(resolveBeside('a/b/c.sex', 'x.conv')).toBe('a/b/x.conv');
    expect(resolveBeside('c.sex', 'x.conv')).toBe('x.conv');
  });

  it('checks the .param file, naming its lines, and lists the parameters it does not compute', () => {
    expect(failure(() => parseParameterList('X_IMAGE\nFLUX_APER(x)\n', 'my.param')).message).toBe("my.param:2: 'FLUX_APER(x)' is not a catalogue parameter (NAME or NAME(n))");
    expect(failure(() => parseParameterList('X_IMAGE(2)\n', 'my.param')).message).toBe('my.param:1: X_IMAGE is a scalar parameter, it takes no (n)');
    expect(failure(() => parseParameterList('X_IMAGE\n#\nX_IMAGE\n', 'my.param')).message).toBe('my.param:3: X_IMAGE is listed twice');
    const { parameters, warnings } = parseParameterList('X_IMAGE\nALPHA_J2000\nFLUX_APER(3)\n', 'my.param');
    expect(parameters).toEqual([{ name: 'X_IMAGE', count: 1, vector: false, line: 1 }, { name: 'FLUX_APER', count: 3, vector: true, line: 3 }]);
    expect(warnings).toEqual(['my.param:2: parameter ALPHA_J2000 is not computed by Tessera; it is left out of the catalogue']);
    // More apertures than PHOT_APERTURES gives: the .param line is named.
    expect(failure(() => parse('MASK_TYPE NONE\n', { 'conf/default.param': 'X_IMAGE\nFLUX_APER(2)\n' })).message)
      .toBe('conf/default.param:2: FLUX_APER(2) asks for more apertures than PHOT_APERTURES gives (1)');
  });

  it('checks the .conv file, naming its lines', () => {
    expect(failure(() => parseConvolutionFilter('1 2 1\n', 'f.conv')).message).toBe("f.conv:1: a filter file starts with 'CONV NORM' or 'CONV NONORM'");
    expect(failure(() => parseConvolutionFilter('CONV NORM\n1 2 1\n2 4\n1 2 1\n', 'f.conv')).message).toBe('f.conv:3: filter row has 2 coefficients, the first row 3');
    expect(failure(() => parseConvolutionFilter('CONV NORM\n1 x 1\n', 'f.conv')).message).toBe("f.conv:2: filter coefficient 'x' is not a number");
    expect(failure(() => parseConvolutionFilter('CONV NORM\n1 1\n1 1\n', 'f.conv')).message).toBe('f.conv:1: the filter must have odd dimensions, got 2x2');
    expect(failure(() => parseConvolutionFilter('CONV NORM\n0 0 0\n', 'f.conv')).message).toBe('f.conv:1: CONV NORM: the filter coefficients sum to zero');
    expect(failure(() => parse('MASK_TYPE NONE\n', { 'conf/default.conv': 'CONV NORM\n1 2\n' })).message).toBe('conf/default.conv:1: the filter must have odd dimensions, got 2x1');
  });
});
