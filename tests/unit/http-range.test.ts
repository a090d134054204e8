// HTTP Range parsing for `tessera serve` (node/server/httpRange.ts, RFC 9110 §14): the single-range forms
// give the inclusive byte span clipped to the file; what the RFC says to ignore (other units, several
// ranges, last < first, garbage) serves the whole file; a start at or beyond the end, or an empty
// suffix, is unsatisfiable.
import { describe, expect, it } from 'vitest';
import { parseRange } from '../../node/server/httpRange.js';

describe('parseRange', () => {
  it('gives the span of one range, clipped to the file', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(parseRange('bytes=900-', 1000)).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(parseRange('bytes=-100', 1000)).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(parseRange('bytes=-5000', 1000)).toEqual({ kind: 'partial', start: 0, end: 999 });
    expect(parseRange('bytes=990-5000', 1000)).toEqual({ kind: 'partial', start: 990, end: 999 });
    expect(parseRange(' Bytes = 5 - 5 ', 1000)).toEqual({ kind: 'partial', start: 5, end: 5 });
  });

  it('serves the whole file for what the RFC says to ignore', () => {
    for (const header of [undefined, 'items=0-5', 'bytes=0-5,10-20', 'bytes=50-10', 'bytes=-', 'bytes=abc', '']) {
      expect(parseRange(header, 1000), String(header)).toEqual({ kind: 'whole' });
    }
  });

  it('calls a range that starts at or beyond the end unsatisfiable', () => {
    expect(parseRange('bytes=1000-', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=2000-3000', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
  });
});
