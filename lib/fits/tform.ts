/**
 * Binary-table column formats: parses TFORMn ("rT", "rPt(emax)", "rQt(emax)") and TDIMn ("(l,m,n)")
 * as defined by the FITS Standard 4.0 §7.3 (Tables 18 and 19, §7.3.5 variable-length arrays,
 * §7.3.2 TDIM). Pure functions: a malformed value throws TformError, which callers turn into a
 * FitsError naming the file, HDU and column.
 */

/** Element data types of a binary-table field (FITS 4.0 Table 18), without the P/Q descriptors. */
export type ElementCode = 'L' | 'X' | 'B' | 'I' | 'J' | 'K' | 'A' | 'E' | 'D' | 'C' | 'M';

export interface Tform {
  /** The TFORM text as written (trimmed). */
  text: string;
  /** Repeat count r: elements per row (bits for X, characters for A, 0 or 1 descriptors for P/Q). */
  repeat: number;
  /** Element type. For P/Q columns this is the type of the elements stored in the heap. */
  code: ElementCode;
  /** 'P' (32-bit descriptors) or 'Q' (64-bit descriptors) for variable-length arrays. */
  variable?: 'P' | 'Q';
  /** The (emax) of a P/Q column, when given. */
  maxLength?: number;
  /** The w of the non-standard but common "rAw" form: the width of each substring. */
  substringWidth?: number;
  /** Bytes this field occupies in one table row. */
  width: number;
}

export class TformError extends Error {}

/** Bytes per element (X is handled separately: one bit per element, rounded up per field). */
export const ELEMENT_BYTES: Readonly<Record<ElementCode, number>> = {
  L: 1, X: 1, B: 1, I: 2, J: 4, K: 8, A: 1, E: 4, D: 8, C: 8, M: 16,
};

/** Largest repeat count accepted: a field wider than this cannot fit in any real table row. */
const MAX_REPEAT = 2 ** 31 - 1;

const TFORM_RE = /^(\d*)([LXBIJKAEDCMPQ])(.*)$/;
const VAR_RE = /^([LXBIJKAEDCM])(?:\((\d+)\))?$/;

/** Bytes occupied by `repeat` elements of `code` (in a row, or in the heap for P/Q arrays). */
export function fieldWidth(code: ElementCode, repeat: number): number {
  return code === 'X' ? Math.ceil(repeat / 8) : repeat * ELEMENT_BYTES[code];
}

export function parseTform(value: string): Tform {
  const text = value.trim();
  const m = TFORM_RE.exec(text.toUpperCase());
  if (!m) throw new TformError(`TFORM "${value}" is not of the form rT (T one of LXBIJKAEDCMPQ)`);
  const repeat = m[1] === '' ? 1 : Number(m[1]);
  if (!Number.isSafeInteger(repeat) || repeat > MAX_REPEAT) throw new TformError(`TFORM "${value}" has an absurd repeat count`);
  const letter = m[2]!;
  const rest = m[3]!;
  if (letter === 'P' || letter === 'Q') {
    if (repeat > 1) throw new TformError(`TFORM "${value}": a variable-length array descriptor must have repeat 0 or 1`);
    const v = VAR_RE.exec(rest.trim());
    if (!v) throw new TformError(`TFORM "${value}": expected ${letter}t(emax) with t one of LXBIJKAEDCM`);
    const tform: Tform = { text, repeat, code: v[1] as ElementCode, variable: letter, width: repeat * (letter === 'P' ? 8 : 16) };
    if (v[2] !== undefined) tform.maxLength = Number(v[2]);
    return tform;
  }
  const code = letter as ElementCode;
  const tform: Tform = { text, repeat, code, width: fieldWidth(code, repeat) };
  if (rest !== '') {
    // "rAw": r characters holding substrings of w characters (FITS 4.0 Appendix B convention).
    if (code === 'A' && /^\d+$/.test(rest)) {
      const w = Number(rest);
      if (w < 1 || w > repeat) throw new TformError(`TFORM "${value}": substring width ${w} is not within 1..${repeat}`);
      tform.substringWidth = w;
    } else {
      throw new TformError(`TFORM "${value}" has unexpected text "${rest}" after the type code`);
    }
  }
  return tform;
}

/** Parses TDIMn "(l,m,n)" into [l, m, n] (fastest-varying axis first, as written). */
export function parseTdim(value: string): number[] {
  const m = /^\s*\(\s*(\d+(?:\s*,\s*\d+)*)\s*\)\s*$/.exec(value);
  if (!m) throw new TformError(`TDIM "${value}" is not of the form (l,m,...)`);
  const dims = m[1]!.split(',').map((s) => Number(s.trim()));
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0 || d > MAX_REPEAT)) throw new TformError(`TDIM "${value}" has an absurd axis length`);
  return dims;
}

export function formatTdim(dims: readonly number[]): string {
  return `(${dims.join(',')})`;
}
