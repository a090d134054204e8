/**
 * Footprints: the pixels of a detected source as spans (one run of pixels per row, sorted by y then x,
 * never overlapping nor touching within a row) with the peaks found inside them, as LSST's
 * afw.detection.Footprint (a SpanSet and a PeakCatalog). Coordinates are 0-based pixel indices of the
 * image the footprint was detected on (x along a row); spans are inclusive [x0, x1].
 *
 * Peaks are local maxima of the smoothed (matched-filtered) image (lib/measure/detection.ts): pixel and
 * sub-pixel position, the smoothed value (image units, negative in a negative footprint) and its significance (|value| over
 * the smoothed image's noise there, in sigma). A footprint keeps its peaks sorted by |value|, largest
 * first (afw sorts a footprint's peaks by peak value), ties in raster order.
 *
 * Operations: area, bounding box, contains, isotropic growth by a disk (afw Footprint dilation with the
 * CIRCLE stencil, as SourceDetectionTask's isotropicGrow), merging (union of the spans and of the peaks,
 * as afw FootprintSet merges footprints that touch after growth), span normalisation, and painting a
 * mask bit. Spans come from the labelRuns kernel in detection, or from anything else through
 * `normalizeSpans`.
 */

/** One run of pixels of a row: x0..x1 inclusive. */
export interface Span {
  readonly y: number;
  readonly x0: number;
  readonly x1: number;
}

export interface Peak {
  /** Pixel position (0-based). */
  readonly x: number;
  readonly y: number;
  /** Sub-pixel position (afw PeakRecord's f_x, f_y; detection refines it on the smoothed image). */
  readonly fx: number;
  readonly fy: number;
  /** Smoothed-image value at the peak (image units; negative for a negative footprint). */
  readonly value: number;
  /** |value| / noise of the smoothed image at the peak (sigma). */
  readonly significance: number;
}

export interface Footprint {
  /** Sorted by y, then x0; runs of one row neither overlap nor touch. */
  readonly spans: readonly Span[];
  /** Sorted by |value|, largest first; ties in raster order. */
  readonly peaks: readonly Peak[];
}

/** Inclusive pixel bounds. */
export interface PixelBox {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/** Image bounds a growth is clipped to (pixels [0, width) x [0, height)). */
export interface ImageBounds {
  readonly width: number;
  readonly height: number;
}

function checkSpan(s: Span): void {
  if (!Number.isInteger(s.y) || !Number.isInteger(s.x0) || !Number.isInteger(s.x1) || s.x1 < s.x0) {
    throw new RangeError(`footprint span must have integer y, x0 <= x1; got y ${s.y}, x ${s.x0}..${s.x1}`);
  }
}

/** Sorted, merged spans covering exactly the pixels of `spans` (overlapping or adjacent runs of a row join). */
export function normalizeSpans(spans: readonly Span[]): Span[] {
  for (const s of spans) checkSpan(s);
  const sorted = [...spans].sort((a, b) => a.y - b.y || a.x0 - b.x0);
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && last.y === s.y && s.x0 <= last.x1 + 1) {
      if (s.x1 > last.x1) out[out.length - 1] = { y: last.y, x0: last.x0, x1: s.x1 };
    } else {
      out.push({ y: s.y, x0: s.x0, x1: s.x1 });
    }
  }
  return out;
}

/** Peaks in a footprint's order: |value| descending, then raster order (y, then x). */
export function sortPeaks(peaks: readonly Peak[]): Peak[] {
  return [...peaks].sort((a, b) => Math.abs(b.value) - Math.abs(a.value) || a.y - b.y || a.x - b.x);
}

/** A footprint from any spans and peaks (spans normalised, peaks sorted). */
export function makeFootprint(spans: readonly Span[], peaks: readonly Peak[] = []): Footprint {
  return { spans: normalizeSpans(spans), peaks: sortPeaks(peaks) };
}

/** Number of pixels. */
export function footprintArea(fp: Footprint): number {
  let n = 0;
  for (const s of fp.spans) n += s.x1 - s.x0 + 1;
  return n;
}

/** Inclusive bounding box; undefined for an empty footprint. */
export function footprintBBox(fp: Footprint): PixelBox | undefined {
  if (fp.spans.length === 0) return undefined;
  let x0 = Infinity, x1 = -Infinity;
  for (const s of fp.spans) {
    x0 = Math.min(x0, s.x0);
    x1 = Math.max(x1, s.x1);
  }
  return { x0, y0: fp.spans[0]!.y, x1, y1: fp.spans[fp.spans.length - 1]!.y };
}

/** Whether pixel (x, y) (integers; a fractional position is rounded to its pixel) is in the footprint. */
export function footprintContains(fp: Footprint, x: number, y: number): boolean {
  const px = Math.round(x), py = Math.round(y);
  const spans = fp.spans;
  // First span with (y, x1) >= (py, px), by binary search.
  let lo = 0, hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const s = spans[mid]!;
    if (s.y < py || (s.y === py && s.x1 < px)) lo = mid + 1;
    else hi = mid;
  }
  const s = spans[lo];
  return s !== undefined && s.y === py && s.x0 <= px && px <= s.x1;
}

/** floor(sqrt(v)) for an integer v >= 0, exactly. */
function isqrt(v: number): number {
  let w = Math.floor(Math.sqrt(v));
  while (w * w > v) w--;
  while ((w + 1) * (w + 1) <= v) w++;
  return w;
}

/**
 * The footprint grown by a disk of integer `radius` px: every pixel within dx^2 + dy^2 <= radius^2 of
 * one of its pixels (the dilateDisk kernel's rule), clipped to `bounds` when given. Peaks are kept.
 */
export function growFootprint(fp: Footprint, radius: number, bounds?: ImageBounds): Footprint {
  if (!Number.isInteger(radius) || radius < 0) throw new RangeError(`growFootprint: radius must be a non-negative integer, got ${radius}`);
  const grown: Span[] = [];
  const r2 = radius * radius;
  for (const s of fp.spans) {
    for (let dy = -radius; dy <= radius; dy++) {
      const y = s.y + dy;
      if (bounds && (y < 0 || y >= bounds.height)) continue;
      const w = isqrt(r2 - dy * dy);
      let x0 = s.x0 - w, x1 = s.x1 + w;
      if (bounds) {
        x0 = Math.max(x0, 0);
        x1 = Math.min(x1, bounds.width - 1);
        if (x1 < x0) continue;
      }
      grown.push({ y, x0, x1 });
    }
  }
  return { spans: normalizeSpans(grown), peaks: fp.peaks };
}

/** The union of footprints: all their pixels and all their peaks (afw's merge of touching footprints). */
export function mergeFootprints(...fps: readonly Footprint[]): Footprint {
  return makeFootprint(fps.flatMap((f) => f.spans), fps.flatMap((f) => f.peaks));
}

/** Whether two footprints share a pixel. */
export function footprintsOverlap(a: Footprint, b: Footprint): boolean {
  let i = 0, j = 0;
  while (i < a.spans.length && j < b.spans.length) {
    const s = a.spans[i]!, t = b.spans[j]!;
    if (s.y === t.y && s.x0 <= t.x1 && t.x0 <= s.x1) return true;
    if (s.y < t.y || (s.y === t.y && s.x1 < t.x1)) i++;
    else j++;
  }
  return false;
}

/** ORs `1 << bit` into `mask` (width x height, row-major) over the footprints' pixels inside the image. */
export function setFootprintMask(footprints: readonly Footprint[], mask: Int32Array, width: number, height: number, bit: number): void {
  if (mask.length !== width * height) throw new RangeError(`setFootprintMask: mask has ${mask.length} pixels, expected ${width}x${height}`);
  const value = 1 << bit;
  for (const fp of footprints) {
    for (const s of fp.spans) {
      if (s.y < 0 || s.y >= height) continue;
      const x0 = Math.max(s.x0, 0), x1 = Math.min(s.x1, width - 1);
      for (let x = x0, i = s.y * width + x0; x <= x1; x++, i++) mask[i] = mask[i]! | value;
    }
  }
}
