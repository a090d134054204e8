/**
 * A uniform-grid spatial index over 2-D points (any consistent unit, e.g. arcsec on a tangent plane), for
 * the radius and nearest-neighbour queries of the pattern matcher and of source-reference matching.
 * Points are bucketed in square cells (compressed row storage: one index array, one offset per cell);
 * points with a non-finite coordinate are left out and never returned. The cell size is chosen by the
 * caller (about the typical query radius); the grid is capped at 4 cells per point (and 2^22 cells), so a
 * tiny cell size on a wide catalogue degrades to bigger cells, never to unbounded memory.
 */
export class PointGrid {
  private readonly x0: number;
  private readonly y0: number;
  private readonly cell: number;
  private readonly nx: number;
  private readonly ny: number;
  private readonly start: Int32Array;
  private readonly items: Int32Array;

  constructor(readonly xs: ArrayLike<number>, readonly ys: ArrayLike<number>, cellSize: number) {
    const n = xs.length;
    let xMin = Infinity, xMax = -Infinity, yMin = Infinity, yMax = -Infinity, count = 0;
    for (let i = 0; i < n; i++) {
      const x = xs[i]!, y = ys[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      count++;
      if (x < xMin) xMin = x;
      if (x > xMax) xMax = x;
      if (y < yMin) yMin = y;
      if (y > yMax) yMax = y;
    }
    if (count === 0) { xMin = 0; xMax = 0; yMin = 0; yMax = 0; }
    let cell = cellSize > 0 && Number.isFinite(cellSize) ? cellSize : 1;
    const maxCells = Math.min(4 * count + 16, 1 << 22);
    const w = xMax - xMin, h = yMax - yMin;
    while ((Math.floor(w / cell) + 1) * (Math.floor(h / cell) + 1) > maxCells) cell *= 2;
    this.x0 = xMin;
    this.y0 = yMin;
    this.cell = cell;
    this.nx = Math.floor(w / cell) + 1;
    this.ny = Math.floor(h / cell) + 1;
    const cells = this.nx * this.ny;
    const start = new Int32Array(cells + 1);
    const cellOf = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) {
      const x = xs[i]!, y = ys[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const c = this.cellIndex(x, y);
      cellOf[i] = c;
      start[c + 1]!++;
    }
    for (let c = 0; c < cells; c++) start[c + 1]! += start[c]!;
    const fill = start.slice(0, cells);
    const items = new Int32Array(count);
    for (let i = 0; i < n; i++) {
      const c = cellOf[i]!;
      if (c >= 0) items[fill[c]!++] = i;
    }
    this.start = start;
    this.items = items;
  }

  private cellIndex(x: number, y: number): number {
    const cx = Math.min(this.nx - 1, Math.max(0, Math.floor((x - this.x0) / this.cell)));
    const cy = Math.min(this.ny - 1, Math.max(0, Math.floor((y - this.y0) / this.cell)));
    return cy * this.nx + cx;
  }

  /** Calls visit(index, squaredDistance) for every point within `radius` of (x, y), in grid order. */
  forEachWithin(x: number, y: number, radius: number, visit: (index: number, distanceSquared: number) => void): void {
    if (!(radius >= 0) || !Number.isFinite(x) || !Number.isFinite(y) || this.items.length === 0) return;
    const r2 = radius * radius;
    const cx0 = Math.max(0, Math.floor((x - radius - this.x0) / this.cell));
    const cx1 = Math.min(this.nx - 1, Math.floor((x + radius - this.x0) / this.cell));
    const cy0 = Math.max(0, Math.floor((y - radius - this.y0) / this.cell));
    const cy1 = Math.min(this.ny - 1, Math.floor((y + radius - this.y0) / this.cell));
    for (let cy = cy0; cy <= cy1; cy++) {
      for (let cx = cx0; cx <= cx1; cx++) {
        const c = cy * this.nx + cx;
        for (let k = this.start[c]!; k < this.start[c + 1]!; k++) {
          const i = this.items[k]!;
          const dx = this.xs[i]! - x, dy = this.ys[i]! - y;
          const d2 = dx * dx + dy * dy;
          if (d2 <= r2) visit(i, d2);
        }
      }
    }
  }

  /**
   * The nearest point within `radius` of (x, y) for which `accept(index)` (default: all) holds, or -1.
   * Ties go to the lower index, so the answer does not depend on the grid layout.
   */
  nearest(x: number, y: number, radius: number, accept?: (index: number) => boolean): number {
    let best = -1;
    let bestD2 = Infinity;
    this.forEachWithin(x, y, radius, (i, d2) => {
      if (accept && !accept(i)) return;
      if (d2 < bestD2 || (d2 === bestD2 && i < best)) { best = i; bestD2 = d2; }
    });
    return best;
  }
}
