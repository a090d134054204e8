/**
 * HTTP byte ranges (RFC 9110 §14): the one `Range: bytes=...` request header form a FITS viewer needs,
 * so that a header, one HDU or an image section loads without the whole file. One range per request:
 * `first-last`, `first-` (to the end) and `-suffix` (the last bytes). A header that is not a bytes
 * range, or that asks for several ranges, is ignored (the whole file is served, as the RFC allows);
 * a range that starts beyond the end is unsatisfiable (416).
 */

export type RangeAnswer =
  | { kind: 'whole' }
  | { kind: 'partial'; start: number; end: number } // end inclusive
  | { kind: 'unsatisfiable' };

export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'whole' };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return { kind: 'whole' };
  const [, first, last] = match as unknown as [string, string, string];
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return { kind: 'whole' }; // an invalid range-spec: ignored, as RFC 9110 says
  return { kind: 'partial', start, end };
}
