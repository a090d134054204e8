/**
 * Benchmark: read a 2048x4176 float32 image (an HSC CCD) from a FITS file into memory, Tessera
 * (openFits + readImage over a file source, big-endian to native) against astropy via
 * /usr/bin/python3, each timed inside its own process; astropy maps files lazily, so its pixels are
 * forced into memory (fits.open(memmap=False), .data, then a copy to native byte order, as ours ends).
 * Tessera is timed two ways: into a new array each time (cold: every page of the 34 MB array is
 * first-touched, which costs ~100 ms on these VMs; numpy asks for transparent huge pages and mostly
 * avoids that), and into a reused wasm plane (`readImage(i, {into})`, the pipeline's path).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { openFits, writeFits } from '../lib/fits/index.js';
import { fileSource } from '../node/fits/fileSource.js';
import { loadTessera } from '../node/wasm.js';
import { time, summarise, type Timing } from './timing.js';

export interface FitsReadResult {
  width: number;
  height: number;
  tessera: Timing;
  tesseraIntoPlane: Timing;
  astropy: Timing;
  astropyVersion: string;
}

const ASTROPY_TIMER = `
import sys, time, json, numpy as np, astropy
from astropy.io import fits
path, runs = sys.argv[1], int(sys.argv[2])
def read():
    with fits.open(path, memmap=False) as h:
        return np.ascontiguousarray(h[0].data, dtype=np.float32)
read()
samples = []
for _ in range(runs):
    t0 = time.perf_counter(); a = read(); samples.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"samples": samples, "version": astropy.__version__, "sum": float(a.sum(dtype=np.float64))}))
`;

export async function benchFitsRead(width = 2048, height = 4176, runs = 7): Promise<FitsReadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));
  const file = path.join(dir, 'hsc-ccd.fits');
  const pixels = new Float32Array(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = ((i * 2654435761) % 65536) / 7;
  fs.writeFileSync(file, writeFits([{ data: pixels, shape: [height, width] }]));
  try {
    let sum = 0;
    const tessera = await time(runs, async () => {
      const f = await openFits(await fileSource(file));
      const img = await f.readImage(0);
      await f.close();
      sum = (img.data as Float32Array)[12345]!;
    });
    if (sum !== pixels[12345]) throw new Error('bench: tessera read back wrong pixels');
    const { planes } = await loadTessera('release');
    const plane = planes.alloc(pixels.byteLength);
    const tesseraIntoPlane = await time(runs, async () => {
      const f = await openFits(await fileSource(file));
      const img = await f.readImage(0, { into: planes.u8(plane, pixels.byteLength) });
      await f.close();
      sum = (img.data as Float32Array)[12345]!;
    });
    if (sum !== pixels[12345]) throw new Error('bench: tessera read wrong pixels into the wasm plane');
    planes.release(plane);
    const out = execFileSync('/usr/bin/python3', ['-c', ASTROPY_TIMER, file, String(runs)], { encoding: 'utf8' });
    const py = JSON.parse(out) as { samples: number[]; version: string };
    return { width, height, tessera, tesseraIntoPlane, astropy: summarise(py.samples), astropyVersion: py.version };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
