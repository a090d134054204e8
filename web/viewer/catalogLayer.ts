/**
 * A source catalogue drawn over the image (issue 7): each row an ellipse from its adaptive second
 * moments (base_SdssShape_xx/yy/xy, drawn at 2 sigma: semi-axes twice the square roots of the moment
 * matrix's eigenvalues; a 4-px circle where the moments failed) at its centroid (base_SdssCentroid_x/y,
 * the image's 0-based pixels; pixel centres sit at +0.5 in the view's world), as pixi Graphics of
 * 1-screen-pixel lines (pixelLine), one per 512 x 512-pixel cell of the image, each culled when off
 * screen (pixi's CullerPlugin, registered by the view), so tens of thousands of markers pan and zoom
 * with the image without being rebuilt and only the cells in view are drawn. Rows are kept by a cut: PSF S/N (base_PsfFlux flux over its error) at least `minSnr`,
 * optionally none of the flags (edge, interpolated or saturated centre, PSF flux failed), optionally
 * primary only (detect_isPrimary, coadd catalogues). A click picks the nearest kept row.
 */
import { Container, Graphics } from 'pixi.js';

export interface CatalogColumns { [name: string]: (number | boolean | string | null)[] }
export interface CatalogCut { minSnr: number; hideFlagged: boolean; primaryOnly: boolean }

export const FLAG_COLUMNS = ['base_PixelFlags_flag_edge', 'base_PixelFlags_flag_interpolatedCenter', 'base_PixelFlags_flag_saturatedCenter', 'base_PsfFlux_flag'];
const SEGMENTS = 20;
/** Side of the cells markers are grouped in for culling (image pixels). */
const CELL = 512;

export class CatalogLayer {
  private readonly cells = new Container();
  private columns: CatalogColumns = {};
  private rows = 0;
  /** Indices of the rows the cut keeps. */
  kept: number[] = [];

  /** `changed` is called after the markers change (the canvas draws on demand). */
  constructor(parent: Container, private readonly changed: () => void) {
    parent.addChild(this.cells);
  }

  private clearCells(): void {
    for (const child of this.cells.removeChildren()) child.destroy();
    this.changed();
  }

  get total(): number {
    return this.rows;
  }

  column(name: string): (number | boolean | string | null)[] | undefined {
    return this.columns[name];
  }

  columnNames(): string[] {
    return Object.keys(this.columns);
  }

  set(columns: CatalogColumns, rows: number): void {
    this.columns = columns;
    this.rows = rows;
  }

  clear(): void {
    this.columns = {};
    this.rows = 0;
    this.kept = [];
    this.clearCells();
  }

  /** Centroid (0-based image pixels) of row k. */
  position(k: number): [number, number] {
    return [Number(this.columns.base_SdssCentroid_x?.[k]), Number(this.columns.base_SdssCentroid_y?.[k])];
  }

  /** PSF S/N of row k: the calibrated flux's (nJy) when the catalogue has it, else the instrumental one's. */
  snr(k: number): number {
    const flux = this.columns.base_PsfFlux_flux ?? this.columns.base_PsfFlux_instFlux, err = this.columns.base_PsfFlux_fluxErr ?? this.columns.base_PsfFlux_instFluxErr;
    return Number(flux?.[k]) / Number(err?.[k]);
  }

  /** Applies the cut and redraws; `colour` as 0xRRGGBB. */
  draw(cut: CatalogCut, colour: number): void {
    const flags = FLAG_COLUMNS.map((c) => this.columns[c]).filter((c): c is (number | boolean | string | null)[] => c !== undefined);
    const primary = this.columns.detect_isPrimary;
    this.kept = [];
    for (let k = 0; k < this.rows; k++) {
      const [x, y] = this.position(k);
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (!(this.snr(k) >= cut.minSnr)) continue;
      if (cut.hideFlagged && flags.some((c) => c[k] === true)) continue;
      if (cut.primaryOnly && primary && primary[k] !== true) continue;
      this.kept.push(k);
    }
    this.clearCells();
    const byCell = new Map<string, Graphics>();
    const xx = this.columns.base_SdssShape_xx, yy = this.columns.base_SdssShape_yy, xy = this.columns.base_SdssShape_xy;
    for (const k of this.kept) {
      const [x, y] = this.position(k);
      const cx = x + 0.5, cy = y + 0.5;
      const cell = `${Math.floor(cx / CELL)},${Math.floor(cy / CELL)}`;
      let g = byCell.get(cell);
      if (!g) {
        g = new Graphics();
        g.cullable = true;
        byCell.set(cell, g);
        this.cells.addChild(g);
      }
      let a = 4, b = 4, theta = 0;
      const mxx = Number(xx?.[k]), myy = Number(yy?.[k]), mxy = Number(xy?.[k]);
      if (Number.isFinite(mxx) && Number.isFinite(myy) && Number.isFinite(mxy) && mxx > 0 && myy > 0) {
        const mean = (mxx + myy) / 2, d = Math.sqrt(((mxx - myy) / 2) ** 2 + mxy * mxy);
        const l1 = mean + d, l2 = Math.max(mean - d, 1e-6);
        a = 2 * Math.sqrt(l1);
        b = 2 * Math.sqrt(l2);
        theta = 0.5 * Math.atan2(2 * mxy, mxx - myy);
      }
      const c = Math.cos(theta), s = Math.sin(theta);
      for (let i = 0; i <= SEGMENTS; i++) {
        const t = (2 * Math.PI * i) / SEGMENTS, u = a * Math.cos(t), v = b * Math.sin(t);
        const px = cx + u * c - v * s, py = cy + u * s + v * c;
        if (i === 0) g.moveTo(px, py);
        else g.lineTo(px, py);
      }
    }
    for (const g of byCell.values()) g.stroke({ color: colour, width: 1, pixelLine: true });
    this.changed();
  }

  /** Kept rows whose centroid lies in the world box [x0, x1) x [y0, y1) (image pixels). */
  countIn(x0: number, x1: number, y0: number, y1: number): number {
    let n = 0;
    for (const k of this.kept) {
      const [x, y] = this.position(k);
      if (x + 0.5 >= x0 && x + 0.5 < x1 && y + 0.5 >= y0 && y + 0.5 < y1) n++;
    }
    return n;
  }

  /** The kept row nearest world point (wx, wy) within `reach` image pixels, if any. */
  nearest(wx: number, wy: number, reach: number): number | undefined {
    let best: number | undefined, bestD = reach;
    for (const k of this.kept) {
      const [x, y] = this.position(k);
      const d = Math.hypot(x + 0.5 - wx, y + 0.5 - wy);
      if (d <= bestD) { bestD = d; best = k; }
    }
    return best;
  }
}
