/**
 * IRAF/NOAO image sections ('[x1:x2,y1:y2]', 1-based, inclusive, x along NAXIS1), as in the DATASEC,
 * BIASSEC, TRIMSEC and DETSEC keywords of raw CCD frames (NOAO CCD mosaic header conventions, Valdes
 * 1998). A section with x1 > x2 (or y1 > y2) is flipped: in a DETSEC it says that the raw data section
 * maps onto the detector mirrored along that axis. Boxes here are 0-based pixel-index boxes: pixel
 * columns x0..x0+width-1 and rows y0..y0+height-1.
 */

/** A 0-based box of whole pixels. */
export interface Box {
  x0: number;
  y0: number;
  width: number;
  height: number;
}

/** A parsed section: the box it covers and whether it runs backwards along x or y. */
export interface Section {
  box: Box;
  flipX: boolean;
  flipY: boolean;
}

export class SectionError extends Error {
  constructor(readonly text: string, readonly problem: string) {
    super(`image section '${text}': ${problem}`);
    this.name = 'SectionError';
  }
}

const SECTION = /^\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]$/;

/** Parses '[x1:x2,y1:y2]' (spaces allowed, as in '[  17: 528,   1: 520]'). */
export function parseSection(text: string): Section {
  const m = SECTION.exec(text.trim());
  if (!m) throw new SectionError(text, "expected '[x1:x2,y1:y2]' with positive 1-based integers");
  const [x1, x2, y1, y2] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
  if (x1 < 1 || x2 < 1 || y1 < 1 || y2 < 1) throw new SectionError(text, 'section bounds are 1-based and must be >= 1');
  return {
    box: { x0: Math.min(x1, x2) - 1, y0: Math.min(y1, y2) - 1, width: Math.abs(x2 - x1) + 1, height: Math.abs(y2 - y1) + 1 },
    flipX: x1 > x2,
    flipY: y1 > y2,
  };
}

/** Formats a box as '[x1:x2,y1:y2]', reversed along an axis that is flipped. */
export function formatSection(box: Box, flipX = false, flipY = false): string {
  const xa = box.x0 + 1, xb = box.x0 + box.width;
  const ya = box.y0 + 1, yb = box.y0 + box.height;
  return `[${flipX ? xb : xa}:${flipX ? xa : xb},${flipY ? yb : ya}:${flipY ? ya : yb}]`;
}

/** True when two boxes share at least one pixel. */
export function boxesOverlap(a: Box, b: Box): boolean {
  return a.x0 < b.x0 + b.width && b.x0 < a.x0 + a.width && a.y0 < b.y0 + b.height && b.y0 < a.y0 + a.height;
}

/** True when `inner` lies entirely within `outer`. */
export function boxContains(outer: Box, inner: Box): boolean {
  return inner.x0 >= outer.x0 && inner.y0 >= outer.y0
    && inner.x0 + inner.width <= outer.x0 + outer.width && inner.y0 + inner.height <= outer.y0 + outer.height;
}

export function boxArea(b: Box): number {
  return b.width * b.height;
}
