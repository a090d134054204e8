/**
 * SExtractor configuration files, read as SExtractor 2.x reads them (prefs.c, filter.c, param.h):
 *  - the `.sex` file: one `KEYWORD value[,value...]` per line, `#` starting a comment, keywords in
 *    upper case; values separated by commas and/or blanks. Keywords not given take SExtractor's defaults
 *    (DETECT_MINAREA 5, DETECT_THRESH 1.5, ANALYSIS_THRESH 1.5, THRESH_TYPE RELATIVE, FILTER Y with
 *    default.conv, DEBLEND_NTHRESH 32, DEBLEND_MINCONT 0.005, CLEAN Y, CLEAN_PARAM 1.0, PHOT_APERTURES 5,
 *    PHOT_AUTOPARAMS 2.5,3.5, PHOT_AUTOAPERS 0,0, PHOT_FLUXFRAC 0.5, SATUR_LEVEL 50000, MAG_ZEROPOINT 0,
 *    GAIN 0, BACK_TYPE AUTO, BACK_VALUE 0, BACK_SIZE 64, BACK_FILTERSIZE 3, BACK_FILTTHRESH 0,
 *    BACKPHOTO_TYPE GLOBAL, PARAMETERS_NAME default.param), except MASK_TYPE, whose SExtractor default is
 *    CORRECT: Tessera measures as MASK_TYPE NONE (no neighbour masking) and refuses BLANK and CORRECT
 *    when written, so a file must say NONE or leave it out (then NONE is used, and a warning says so).
 *  - the `.param` file PARAMETERS_NAME names: one catalogue parameter per line, `NAME` or `NAME(n)` for a
 *    vector (FLUX_APER(3): the first three apertures).
 *  - the `.conv` file FILTER_NAME names: `CONV NORM` or `CONV NONORM`, then the kernel rows (all of one
 *    length), `#` comments. NORM divides the kernel by the sum of its absolute values (as SExtractor and
 *    SEP do).
 * The files PARAMETERS_NAME and FILTER_NAME name are resolved relative to the `.sex` file's directory
 * (absolute names as they are). Values Tessera cannot honour (DETECT_TYPE PHOTO, BACKPHOTO_TYPE LOCAL,
 * MASK_TYPE BLANK/CORRECT, a DEBLEND_MINCONT outside [0, 1]) are errors, as are unknown keywords and bad
 * values: every error is a SextractorConfigError naming the file and line. Keywords that only steer
 * SExtractor's own output (CATALOG_*, CHECKIMAGE_*, MEMORY_*, VERBOSE_TYPE, XML, the neural network, ...)
 * are accepted and listed in `ignored`; parameters of the `.param` file Tessera does not compute are
 * listed in `warnings` and left out of the catalogue.
 * This module does no I/O: the caller gives a `readText(path)` that returns a file's text or throws.
 */

/** A configuration problem, with the file and (1-based) line it is in. */
export class SextractorConfigError extends Error {
  override readonly name = 'SextractorConfigError';
  constructor(readonly file: string, readonly line: number | undefined, problem: string) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${problem}`);
  }
}

/** A catalogue parameter of the `.param` file: NAME, or NAME(count) for a vector. */
export interface SextractorParameter {
  readonly name: string;
  /** Number of elements for a vector parameter (FLUX_APER(3) -> 3); 1 for a scalar. */
  readonly count: number;
  readonly vector: boolean;
  readonly line: number;
}

/** The convolution filter of FILTER_NAME, already normalised when the file says NORM. */
export interface SextractorFilter {
  readonly file: string;
  readonly width: number;
  readonly height: number;
  /** Row-major, as float32 (SExtractor and SEP hold filters as floats). */
  readonly kernel: Float32Array;
  readonly normalized: boolean;
}

export type ThreshType = 'RELATIVE' | 'ABSOLUTE';

export interface SextractorConfig {
  /** The `.sex` file. */
  readonly file: string;
  readonly parametersFile: string;
  readonly parameters: readonly SextractorParameter[];
  /** DETECT_MINAREA (pixels). */
  readonly detectMinArea: number;
  /** DETECT_MAXAREA (pixels; 0: no limit). */
  readonly detectMaxArea: number;
  /** DETECT_THRESH: in units of the background rms (RELATIVE) or image units (ABSOLUTE). */
  readonly detectThresh: number;
  readonly analysisThresh: number;
  readonly threshType: ThreshType;
  /** The filter when FILTER is Y. */
  readonly filter: SextractorFilter | undefined;
  readonly deblendNThresh: number;
  /** DEBLEND_MINCONT: 1 turns deblending off. */
  readonly deblendMinCont: number;
  readonly clean: boolean;
  readonly cleanParam: number;
  /** PHOT_APERTURES: aperture diameters (pixels). */
  readonly photApertures: readonly number[];
  /** PHOT_AUTOPARAMS: Kron factor and minimum radius (in units of A and B). */
  readonly photAutoParams: readonly [number, number];
  /** PHOT_AUTOAPERS: minimum circular aperture diameters (pixels) for the Kron radius estimate and the AUTO flux. */
  readonly photAutoApers: readonly [number, number];
  readonly photFluxFrac: readonly number[];
  readonly saturLevel: number;
  readonly magZeropoint: number;
  /** GAIN (e-/ADU; 0: no Poisson term). */
  readonly gain: number;
  readonly backType: 'AUTO' | 'MANUAL';
  readonly backValue: number;
  /** BACK_SIZE and BACK_FILTERSIZE as (width, height). */
  readonly backSize: readonly [number, number];
  readonly backFilterSize: readonly [number, number];
  readonly backFilterThresh: number;
  /** Keywords present in the file that only steer SExtractor's own outputs, and so change nothing here. */
  readonly ignored: readonly string[];
  /** Non-fatal findings (unsupported parameters, MASK_TYPE defaulted), each naming file and line. */
  readonly warnings: readonly string[];
}

/** The catalogue parameters Tessera computes (SExtractor names; vectors marked). */
export const SUPPORTED_PARAMETERS: Readonly<Record<string, 'scalar' | 'vector'>> = Object.freeze({
  NUMBER: 'scalar',
  X_IMAGE: 'scalar', Y_IMAGE: 'scalar', XWIN_IMAGE: 'scalar', YWIN_IMAGE: 'scalar',
  XPEAK_IMAGE: 'scalar', YPEAK_IMAGE: 'scalar',
  XMIN_IMAGE: 'scalar', XMAX_IMAGE: 'scalar', YMIN_IMAGE: 'scalar', YMAX_IMAGE: 'scalar',
  X2_IMAGE: 'scalar', Y2_IMAGE: 'scalar', XY_IMAGE: 'scalar',
  ERRX2_IMAGE: 'scalar', ERRY2_IMAGE: 'scalar', ERRXY_IMAGE: 'scalar',
  A_IMAGE: 'scalar', B_IMAGE: 'scalar', THETA_IMAGE: 'scalar',
  CXX_IMAGE: 'scalar', CYY_IMAGE: 'scalar', CXY_IMAGE: 'scalar',
  ELONGATION: 'scalar', ELLIPTICITY: 'scalar',
  ISOAREA_IMAGE: 'scalar', ISOAREAF_IMAGE: 'scalar',
  FLUX_ISO: 'scalar', FLUXERR_ISO: 'scalar', MAG_ISO: 'scalar', MAGERR_ISO: 'scalar',
  FLUX_MAX: 'scalar', BACKGROUND: 'scalar', THRESHOLD: 'scalar',
  FLUX_APER: 'vector', FLUXERR_APER: 'vector', MAG_APER: 'vector', MAGERR_APER: 'vector',
  KRON_RADIUS: 'scalar', FLUX_AUTO: 'scalar', FLUXERR_AUTO: 'scalar', MAG_AUTO: 'scalar', MAGERR_AUTO: 'scalar',
  FLUX_RADIUS: 'vector',
  FLAGS: 'scalar',
});

/** Keywords that only steer SExtractor's own I/O, memory, messages or unsupported measurements. */
const IGNORED_KEYWORDS = new Set([
  'CATALOG_NAME', 'CATALOG_TYPE', 'CHECKIMAGE_TYPE', 'CHECKIMAGE_NAME', 'MEMORY_OBJSTACK', 'MEMORY_PIXSTACK',
  'MEMORY_BUFSIZE', 'VERBOSE_TYPE', 'WRITE_XML', 'XML_NAME', 'XSL_URL', 'NTHREADS', 'SEEING_FWHM', 'STARNNW_NAME',
  'PIXEL_SCALE', 'MAG_GAMMA', 'PHOT_PETROPARAMS', 'FITS_UNSIGNED', 'HEADER_SUFFIX', 'INTERP_TYPE',
  'INTERP_MAXXLAG', 'INTERP_MAXYLAG', 'ASSOC_NAME', 'ASSOC_DATA', 'ASSOC_PARAMS', 'ASSOC_RADIUS', 'ASSOC_TYPE',
  'ASSOCSELEC_TYPE', 'ASSOCCOORD_TYPE', 'FLAG_IMAGE', 'FLAG_TYPE', 'WEIGHT_IMAGE', 'WEIGHT_TYPE', 'WEIGHT_GAIN',
  'WEIGHT_THRESH', 'RESCALE_WEIGHTS', 'GAIN_KEY', 'SATUR_KEY', 'PSF_NAME', 'PSF_NMAX', 'PSFDISPLAY_TYPE',
  'PATTERN_TYPE', 'SOM_NAME', 'FILTER_THRESH', 'BACKPHOTO_THICK', 'BACK_PEARSON', 'BACK_FILTERSIZE_PEARSON',
  'PHOT_FLUXFRAC_PEARSON', 'BLANK', 'CLEAN_STACKSIZE', 'WEIGHT_IMAGE_DETECT', 'DETECT_MAXAREA_FRAC',
]);

interface Line {
  readonly number: number;
  readonly keyword: string;
  readonly values: string[];
  readonly raw: string;
}

/** Strips a `#` comment and splits `KEYWORD v1, v2 v3` into the keyword and its values. */
function tokenize(text: string): Line[] {
  const out: Line[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const hash = raw.indexOf('#');
    const body = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (body === '') continue;
    const m = /^(\S+)\s*(.*)$/.exec(body)!;
    const values = m[2]!.split(/[\s,]+/).filter((v) => v !== '');
    out.push({ number: i + 1, keyword: m[1]!, values, raw: body });
  }
  return out;
}

/** POSIX-style dirname (works for Windows separators too). */
function directoryOf(file: string): string {
  const i = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return i < 0 ? '.' : i === 0 ? file.slice(0, 1) : file.slice(0, i);
}

/** `name` beside `file`: unchanged when absolute. */
export function resolveBeside(file: string, name: string): string {
  if (name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name)) return name;
  const dir = directoryOf(file);
  return dir === '.' ? name : `${dir}/${name}`;
}

function readOrFail(readText: (path: string) => string, path: string, referrer: string, line: number | undefined, what: string): string {
  try {
    return readText(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SextractorConfigError(referrer, line, `cannot read ${what} ${path}${code === 'ENOENT' ? ': file not found' : `: ${(err as Error).message}`}`);
  }
}

/** Parses a `.param` file (see the module comment). */
export function parseParameterList(text: string, file: string): { parameters: SextractorParameter[]; warnings: string[] } {
  const parameters: SextractorParameter[] = [];
  const warnings: string[] = [];
  for (const line of tokenize(text)) {
    if (line.values.length > 0) throw new SextractorConfigError(file, line.number, `expected one parameter per line, got '${line.raw}'`);
    const m = /^([A-Za-z][A-Za-z0-9_]*)(?:\((\d+)\))?$/.exec(line.keyword);
    if (!m) throw new SextractorConfigError(file, line.number, `'${line.keyword}' is not a catalogue parameter (NAME or NAME(n))`);
    const name = m[1]!.toUpperCase();
    const count = m[2] === undefined ? 1 : Number(m[2]);
    if (!(count >= 1)) throw new SextractorConfigError(file, line.number, `${name}: the vector size must be at least 1, got ${m[2]}`);
    const kind = SUPPORTED_PARAMETERS[name];
    if (kind === undefined) {
      warnings.push(`${file}:${line.number}: parameter ${name} is not computed by Tessera; it is left out of the catalogue`);
      continue;
    }
    if (kind === 'scalar' && m[2] !== undefined) throw new SextractorConfigError(file, line.number, `${name} is a scalar parameter, it takes no (n)`);
    if (parameters.some((p) => p.name === name)) throw new SextractorConfigError(file, line.number, `${name} is listed twice`);
    parameters.push({ name, count, vector: kind === 'vector', line: line.number });
  }
  return { parameters, warnings };
}

/** Parses a `.conv` filter file (see the module comment). */
export function parseConvolutionFilter(text: string, file: string): SextractorFilter {
  const lines = tokenize(text);
  const head = lines[0];
  if (!head || head.keyword.toUpperCase() !== 'CONV') throw new SextractorConfigError(file, head?.number ?? 1, `a filter file starts with 'CONV NORM' or 'CONV NONORM'`);
  const mode = (head.values[0] ?? '').toUpperCase();
  if (head.values.length !== 1 || (mode !== 'NORM' && mode !== 'NONORM')) {
    throw new SextractorConfigError(file, head.number, `expected 'CONV NORM' or 'CONV NONORM', got '${head.raw}'`);
  }
  const rows: number[][] = [];
  for (const line of lines.slice(1)) {
    const tokens = [line.keyword, ...line.values];
    const row = tokens.map(Number);
    const bad = tokens.findIndex((t, k) => !Number.isFinite(row[k]!) || t.trim() === '');
    if (bad >= 0) throw new SextractorConfigError(file, line.number, `filter coefficient '${tokens[bad]}' is not a number`);
    if (rows.length > 0 && row.length !== rows[0]!.length) {
      throw new SextractorConfigError(file, line.number, `filter row has ${row.length} coefficients, the first row ${rows[0]!.length}`);
    }
    rows.push(row);
  }
  if (rows.length === 0) throw new SextractorConfigError(file, head.number, 'the filter has no coefficients');
  const width = rows[0]!.length, height = rows.length;
  if (width % 2 === 0 || height % 2 === 0) throw new SextractorConfigError(file, head.number, `the filter must have odd dimensions, got ${width}x${height}`);
  const kernel = new Float32Array(width * height);
  rows.forEach((row, j) => row.forEach((v, i) => { kernel[j * width + i] = v; }));
  if (mode === 'NORM') {
    let sum = 0;
    for (const v of kernel) sum += Math.abs(v);
    if (!(sum > 0)) throw new SextractorConfigError(file, head.number, 'CONV NORM: the filter coefficients sum to zero');
    const s = Math.fround(sum);
    for (let i = 0; i < kernel.length; i++) kernel[i] = Math.fround(kernel[i]! / s);
  }
  return { file, width, height, kernel, normalized: mode === 'NORM' };
}

type Setter = (line: Line) => void;

/**
 * Reads a `.sex` file and the `.param` and `.conv` files it names (see the module comment).
 * `readText(path)` returns a file's text; relative names are resolved beside `file`.
 */
export function loadSextractorConfig(file: string, readText: (path: string) => string): SextractorConfig {
  const text = readOrFail(readText, file, file, undefined, 'the configuration file');
  return parseSextractorConfig(text, file, readText);
}

/** Parses the text of a `.sex` file named `file` (used for messages and to resolve the files it names). */
export function parseSextractorConfig(text: string, file: string, readText: (path: string) => string): SextractorConfig {
  const fail = (line: Line, problem: string): never => { throw new SextractorConfigError(file, line.number, `${line.keyword}: ${problem}`); };
  const count = (line: Line, min: number, max: number): void => {
    const n = line.values.length;
    if (n < min || n > max) fail(line, `expected ${min === max ? min : `${min} to ${max}`} value${max > 1 ? 's' : ''}, got ${n === 0 ? 'none' : `'${line.values.join(',')}'`}`);
  };
  const number = (line: Line, k: number, check?: (v: number) => string | undefined): number => {
    const t = line.values[k]!;
    const v = Number(t);
    if (t === '' || !Number.isFinite(v)) fail(line, `expected a number, got '${t}'`);
    const problem = check?.(v);
    if (problem) fail(line, `${problem}, got '${t}'`);
    return v;
  };
  const integer = (line: Line, k: number, min: number): number => number(line, k, (v) => (Number.isInteger(v) && v >= min ? undefined : `expected an integer >= ${min}`));
  const choice = <T extends string>(line: Line, options: readonly T[]): T => {
    count(line, 1, 1);
    const v = line.values[0]!.toUpperCase();
    if (!(options as readonly string[]).includes(v)) fail(line, `expected ${options.join(', ')}, got '${line.values[0]}'`);
    return v as T;
  };
  const yesNo = (line: Line): boolean => choice(line, ['Y', 'N'] as const) === 'Y';
  const pair = (line: Line, min: number): [number, number] => {
    count(line, 1, 2);
    const a = integer(line, 0, min);
    return [a, line.values.length > 1 ? integer(line, 1, min) : a];
  };

  let detectMinArea = 5, detectMaxArea = 0, detectThresh = 1.5, analysisThresh = 1.5;
  let threshType: ThreshType = 'RELATIVE';
  let filterOn = true;
  let filterName: { name: string; line: number } = { name: 'default.conv', line: 0 };
  let deblendNThresh = 32, deblendMinCont = 0.005, clean = true, cleanParam = 1.0;
  let photApertures: number[] = [5], photAutoParams: [number, number] = [2.5, 3.5], photAutoApers: [number, number] = [0, 0];
  let photFluxFrac: number[] = [0.5];
  let saturLevel = 50000, magZeropoint = 0, gain = 0;
  let backType: 'AUTO' | 'MANUAL' = 'AUTO', backValue = 0;
  let backSize: [number, number] = [64, 64], backFilterSize: [number, number] = [3, 3], backFilterThresh = 0;
  let parametersName: { name: string; line: number } = { name: 'default.param', line: 0 };
  let maskTypeGiven = false;
  const ignored: string[] = [];
  const warnings: string[] = [];

  const setters: Record<string, Setter> = {
    DETECT_MINAREA: (l) => { count(l, 1, 1); detectMinArea = integer(l, 0, 1); },
    DETECT_MAXAREA: (l) => { count(l, 1, 1); detectMaxArea = integer(l, 0, 0); },
    DETECT_THRESH: (l) => { count(l, 1, 2); if (l.values.length === 2) fail(l, 'a surface-brightness threshold (<mu>,<ZP>) is not supported; give one value'); detectThresh = number(l, 0, (v) => (v > 0 ? undefined : 'expected a positive number')); },
    ANALYSIS_THRESH: (l) => { count(l, 1, 2); if (l.values.length === 2) fail(l, 'a surface-brightness threshold (<mu>,<ZP>) is not supported; give one value'); analysisThresh = number(l, 0, (v) => (v > 0 ? undefined : 'expected a positive number')); },
    THRESH_TYPE: (l) => { threshType = choice(l, ['RELATIVE', 'ABSOLUTE'] as const); },
    DETECT_TYPE: (l) => { if (choice(l, ['CCD', 'PHOTO'] as const) === 'PHOTO') fail(l, 'PHOTO (photographic density) is not supported; use CCD'); },
    FILTER: (l) => { filterOn = yesNo(l); },
    FILTER_NAME: (l) => { count(l, 1, 1); filterName = { name: l.values[0]!, line: l.number }; },
    DEBLEND_NTHRESH: (l) => { count(l, 1, 1); deblendNThresh = integer(l, 0, 1); },
    DEBLEND_MINCONT: (l) => { count(l, 1, 1); deblendMinCont = number(l, 0, (v) => (v >= 0 && v <= 1 ? undefined : 'expected a number in [0, 1]')); },
    CLEAN: (l) => { clean = yesNo(l); },
    CLEAN_PARAM: (l) => { count(l, 1, 1); cleanParam = number(l, 0, (v) => (v > 0 ? undefined : 'expected a positive number')); },
    MASK_TYPE: (l) => {
      maskTypeGiven = true;
      const v = choice(l, ['NONE', 'BLANK', 'CORRECT'] as const);
      if (v !== 'NONE') fail(l, `${v} (masking of neighbours in the photometry) is not supported; use NONE`);
    },
    PHOT_APERTURES: (l) => { count(l, 1, 64); photApertures = l.values.map((_, k) => number(l, k, (v) => (v > 0 ? undefined : 'expected positive diameters'))); },
    PHOT_AUTOPARAMS: (l) => { count(l, 2, 2); photAutoParams = [number(l, 0, (v) => (v > 0 ? undefined : 'expected a positive Kron factor')), number(l, 1, (v) => (v >= 0 ? undefined : 'expected a non-negative minimum radius'))]; },
    PHOT_AUTOAPERS: (l) => { count(l, 2, 2); photAutoApers = [number(l, 0, (v) => (v >= 0 ? undefined : 'expected non-negative diameters')), number(l, 1, (v) => (v >= 0 ? undefined : 'expected non-negative diameters'))]; },
    PHOT_FLUXFRAC: (l) => { count(l, 1, 64); photFluxFrac = l.values.map((_, k) => number(l, k, (v) => (v > 0 && v <= 1 ? undefined : 'expected fractions in (0, 1]'))); },
    SATUR_LEVEL: (l) => { count(l, 1, 1); saturLevel = number(l, 0); },
    MAG_ZEROPOINT: (l) => { count(l, 1, 1); magZeropoint = number(l, 0); },
    GAIN: (l) => { count(l, 1, 1); gain = number(l, 0, (v) => (v >= 0 ? undefined : 'expected a non-negative gain')); },
    BACK_TYPE: (l) => { count(l, 1, 2); const v = l.values[0]!.toUpperCase(); if (v !== 'AUTO' && v !== 'MANUAL') fail(l, `expected AUTO or MANUAL, got '${l.values[0]}'`); backType = v as 'AUTO' | 'MANUAL'; },
    BACK_VALUE: (l) => { count(l, 1, 2); backValue = number(l, 0); },
    BACK_SIZE: (l) => { backSize = pair(l, 1); },
    BACK_FILTERSIZE: (l) => { backFilterSize = pair(l, 1); },
    BACK_FILTTHRESH: (l) => { count(l, 1, 1); backFilterThresh = number(l, 0, (v) => (v >= 0 ? undefined : 'expected a non-negative number')); },
    BACKPHOTO_TYPE: (l) => { if (choice(l, ['GLOBAL', 'LOCAL'] as const) === 'LOCAL') fail(l, 'LOCAL (annulus background for photometry) is not supported; use GLOBAL'); },
    PARAMETERS_NAME: (l) => { count(l, 1, 1); parametersName = { name: l.values[0]!, line: l.number }; },
  };

  const seen = new Map<string, number>();
  for (const line of tokenize(text)) {
    const keyword = line.keyword;
    if (!/^[A-Z][A-Z0-9_]*$/.test(keyword)) throw new SextractorConfigError(file, line.number, `'${keyword}' is not a configuration keyword`);
    const previous = seen.get(keyword);
    if (previous !== undefined) throw new SextractorConfigError(file, line.number, `${keyword} is given twice (first on line ${previous})`);
    seen.set(keyword, line.number);
    const setter = setters[keyword];
    if (setter) setter(line);
    else if (IGNORED_KEYWORDS.has(keyword)) ignored.push(keyword);
    else throw new SextractorConfigError(file, line.number, `unknown keyword ${keyword}`);
  }
  if (!maskTypeGiven) warnings.push(`${file}: MASK_TYPE not given (SExtractor's default is CORRECT); measuring as MASK_TYPE NONE`);
  const unsupportedWeights = ['WEIGHT_TYPE', 'WEIGHT_IMAGE'].filter((k) => seen.has(k));
  if (unsupportedWeights.length) warnings.push(`${file}: ${unsupportedWeights.join(', ')} ignored: give the weight map with --weight`);

  // The files it names.
  const parametersFile = resolveBeside(file, parametersName.name);
  const paramText = readOrFail(readText, parametersFile, file, parametersName.line || undefined, 'PARAMETERS_NAME');
  const params = parseParameterList(paramText, parametersFile);
  warnings.push(...params.warnings);
  let filter: SextractorFilter | undefined;
  if (filterOn) {
    const filterFile = resolveBeside(file, filterName.name);
    filter = parseConvolutionFilter(readOrFail(readText, filterFile, file, filterName.line || undefined, 'FILTER_NAME'), filterFile);
  }
  for (const p of params.parameters) {
    if (p.name === 'FLUX_RADIUS' && p.count > photFluxFrac.length) {
      throw new SextractorConfigError(parametersFile, p.line, `FLUX_RADIUS(${p.count}) asks for more radii than PHOT_FLUXFRAC gives (${photFluxFrac.length})`);
    }
    if (/APER$/.test(p.name) && p.count > photApertures.length) {
      throw new SextractorConfigError(parametersFile, p.line, `${p.name}(${p.count}) asks for more apertures than PHOT_APERTURES gives (${photApertures.length})`);
    }
  }
  return {
    file, parametersFile, parameters: params.parameters,
    detectMinArea, detectMaxArea, detectThresh, analysisThresh, threshType, filter,
    deblendNThresh, deblendMinCont, clean, cleanParam,
    photApertures, photAutoParams, photAutoApers, photFluxFrac,
    saturLevel, magZeropoint, gain, backType, backValue, backSize, backFilterSize, backFilterThresh,
    ignored, warnings,
  };
}
