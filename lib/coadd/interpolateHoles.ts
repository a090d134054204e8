/**
 * Interpolation over a coadd's holes: pixels without data (NO_DATA) inside its coverage, such as a
 * saturated star's core and bleed trail rejected in every visit, as LSST's AssembleCoaddTask does with
 * doInterp (InterpImageTask over NO_DATA; afw interpolateOverDefects is linear across a defect). Each
 * such pixel takes the linear interpolation between the nearest pixels with data on either side along
 * its row or along its column, whichever gap is shorter (a bleed trail along rows is crossed along
 * columns, one along columns along rows, where rows alone would ramp across the whole trail); its
 * variance is interpolated the same way. A pixel with no data on both sides in either direction (the
 * area beyond the coverage) stays as it is: LSST extrapolates into it, which its own documentation calls
 * ugly. Filled pixels keep NO_DATA (no visit was used there: nImage 0) and get the INTRP bit.
 * One pass over the rows in order finds both the row runs and, with a run start kept per column, the
 * column runs. Units: the coadd's.
 */
export interface HolePlanes {
  readonly width: number;
  readonly height: number;
  readonly image: Float32Array;
  readonly variance: Float32Array;
  readonly mask: Int32Array;
}

/** Fills the holes in place (see the module comment); returns the number of pixels filled. */
export function interpolateHoles(planes: HolePlanes, noDataBit: number, intrpBit: number): number {
  const { width, height, image, variance, mask } = planes;
  if (noDataBit === 0) return 0;
  // Per filled pixel: the shorter gap so far and the interpolated value and variance along it.
  const chosen = new Map<number, { gap: number; value: number; variance: number }>();
  const offer = (pixel: number, gap: number, lo: number, hi: number, t: number): void => {
    const had = chosen.get(pixel);
    if (had && had.gap <= gap) return;
    chosen.set(pixel, { gap, value: image[lo]! + t * (image[hi]! - image[lo]!), variance: variance[lo]! + t * (variance[hi]! - variance[lo]!) });
  };
  const hole = (i: number): boolean => (mask[i]! & noDataBit) !== 0;
  // Column runs: the row where the current run without data started in each column (-1: none), and
  // whether the pixel below it had data.
  const runStart = new Int32Array(width).fill(-1);
  const boundedBelow = new Uint8Array(width);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let x = 0;
    while (x < width) {
      const i = row + x;
      if (!hole(i)) {
        const start = runStart[x]!;
        if (start >= 0 && boundedBelow[x]) {
          const gap = y - (start - 1);
          for (let yy = start; yy < y; yy++) offer(yy * width + x, gap, (start - 1) * width + x, i, (yy - (start - 1)) / gap);
        }
        runStart[x] = -1;
        x++;
        continue;
      }
      // A run along the row: [x, end).
      let end = x;
      while (end < width && hole(row + end)) {
        if (runStart[end]! < 0) {
          runStart[end] = y;
          boundedBelow[end] = y > 0 ? 1 : 0;
        }
        end++;
      }
      if (x > 0 && end < width) {
        const gap = end - (x - 1);
        for (let xx = x; xx < end; xx++) offer(row + xx, gap, row + x - 1, row + end, (xx - (x - 1)) / gap);
      }
      x = end;
    }
  }
  const intrp = 1 << intrpBit;
  for (const [pixel, fill] of chosen) {
    image[pixel] = fill.value;
    variance[pixel] = fill.variance;
    mask[pixel] = mask[pixel]! | intrp;
  }
  return chosen.size;
}
