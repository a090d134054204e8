import { it } from 'vitest';
import fs from 'node:fs';
import { FitsHeader } from '../../lib/fits/header.js';
import { decompressImage } from '../../lib/fits/tilecompression.js';
it('perf', () => {
  for (const f of ['/tmp/perf/big.fz', '/tmp/perf/big16.fz', '/tmp/perf/bigg2.fz']) {
    const b = new Uint8Array(fs.readFileSync(f));
    const p = FitsHeader.parse(b, 0, f, 0);
    const h = FitsHeader.parse(b, p.byteLength, f, 1);
    const start = p.byteLength + h.byteLength;
    const len = h.header.getNumber('NAXIS1')! * h.header.getNumber('NAXIS2')! + h.header.getNumber('PCOUNT')!;
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      const px = decompressImage(h.header, b.subarray(start, start + len), f, 1);
      console.log(f, px.length, (performance.now() - t0).toFixed(0), 'ms');
    }
  }
});
