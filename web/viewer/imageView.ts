/**
 * The image canvas (pixi.js, WebGL): an image from the kernel worker shown as 512-px tiles of a
 * level-of-detail pyramid (level L: 2^L x 2^L block means; the level drawn is the finest whose pixels are
 * not smaller than a screen pixel), FITS orientation (row 0 at the bottom, as DS9 and Firefly show it),
 * pan by dragging, zoom by the wheel about the cursor, nearest-neighbour sampling (each image pixel a
 * crisp square when zoomed in), mask planes as coloured overlay tiles with a common opacity. Tiles are
 * requested for the current view only, at most two at a time; a view change drops queued requests and
 * tells the worker to drop older ones (generation numbers), so panning on never waits for stale tiles.
 * World coordinates are the image's 0-based pixels: pixel (i, j) covers [i, i + 1) x [j, j + 1).
 * The canvas is drawn on demand (once in the next animation frame after a change, or at once when the
 * view's last tile is in), not every frame: an idle viewer costs no CPU, which matters most with
 * software WebGL. onIdle follows the drawing of the view's last tile.
 */
import { Application, BufferImageSource, Container, CullerPlugin, Matrix, Sprite, Texture, extensions } from 'pixi.js';
import type { Remote } from 'comlink';
import type { DisplaySettings, KernelWorkerApi, OpenedImage, TileAnswer } from '../kernelWorker.js';

export const TILE = 512;

// Objects marked cullable (the catalogue's marker cells) are skipped when off screen.
extensions.add(CullerPlugin);

/**
 * A view: the image point at the canvas centre, screen pixels per image pixel, and optionally an
 * orientation: a 2x2 matrix [a, b, c, d] (row-major, |det| 1) applied to image offsets before the zoom,
 * so that an image compared with another shows the same sky the same way up (a rotation, and a mirror
 * where the two WCSs differ in parity). Without it, x runs right and y up.
 */
export interface View { cx: number; cy: number; zoom: number; orient?: readonly [number, number, number, number] }

/** world -> screen: screen = (a x + c y + tx, b x + d y + ty), as pixi's Matrix. */
interface Affine { a: number; b: number; c: number; d: number; tx: number; ty: number }

interface TileSprite { sprite: Sprite; key: string }

/** A CSS colour (#rrggbb) as an opaque RGBA word (R | G << 8 | B << 16 | A << 24). */
export function cssToWord(css: string): number {
  const v = parseInt(css.slice(1), 16);
  return (((v >> 16) & 255) | (((v >> 8) & 255) << 8) | ((v & 255) << 16) | (255 << 24)) >>> 0;
}

export class ImageView {
  readonly app = new Application();
  private readonly world = new Container();
  private readonly imageLayer = new Container();
  private readonly maskLayer = new Container();
  /** Drawn over the image and masks in world coordinates (catalogue markers). */
  readonly overlayLayer = new Container();
  private image: OpenedImage | undefined;
  private levels: { width: number; height: number }[] = [];
  private stretch: DisplaySettings | undefined;
  private masks: { name: string; bits: number; colour: string }[] = [];
  private view: View = { cx: 0, cy: 0, zoom: 1 };
  /** Tiles by key: image/<stretch version>/<level>/<tx>/<ty> and mask/<plane>/<colour>/<level>/<tx>/<ty>. */
  private readonly tiles = new Map<string, TileSprite>();
  private stretchVersion = 0;
  private generation = 0;
  private queue: (() => Promise<void>)[] = [];
  private inFlight = 0;
  private renderQueued = false;
  /** Something changed since the last drawing. */
  private dirty = false;
  /** Every tile of the view is in: onIdle is due once they are drawn. */
  private idleDue = false;
  /** Called after every view change (pan, zoom, resize). */
  onViewChange: ((view: View) => void) | undefined;
  /** Called when every requested tile of the current view has been drawn. */
  onIdle: (() => void) | undefined;
  /** Called on a click (a press and release without dragging) with the world point under it. */
  onClick: ((wx: number, wy: number) => void) | undefined;

  constructor(private readonly worker: Remote<KernelWorkerApi>, private readonly host: HTMLElement) {}

  /**
   * Starts pixi: WebGL first; where a browser has no WebGL, pixi falls back to WebGPU and then to its 2-D
   * canvas renderer (`preference` 'canvas' asks for that one: ?renderer=canvas in the page's URL).
   */
  async init(preference: 'webgl' | 'webgpu' | 'canvas' = 'webgl'): Promise<void> {
    await this.app.init({
      resizeTo: this.host, background: '#000000', preference, antialias: false, preserveDrawingBuffer: true, autoStart: false,
      autoDensity: true, resolution: window.devicePixelRatio || 1,
    });
    this.host.append(this.app.canvas);
    this.world.addChild(this.imageLayer, this.maskLayer, this.overlayLayer);
    this.app.stage.addChild(this.world);
    this.app.renderer.on('resize', () => this.changed());
    // The host changes size with the page's layout, not only with the window.
    new ResizeObserver(() => this.app.resize()).observe(this.host);
    this.bindPointer();
  }

  get opened(): OpenedImage | undefined {
    return this.image;
  }

  get currentView(): View {
    return { ...this.view };
  }

  /** Shows `image` (levels from the worker) with `stretch`, centred and fitted unless `view` is given. */
  async show(image: OpenedImage, stretch: DisplaySettings, view?: View): Promise<void> {
    this.clearTiles();
    this.image = image;
    this.levels = await this.worker.levels(image.id, TILE);
    this.stretch = stretch;
    this.view = view ?? this.fitView();
    this.changed();
  }

  /** The view that fits the whole image in the canvas (power-of-two zoom, so pixels stay whole). */
  fitView(): View {
    const img = this.image!;
    const { width, height } = this.app.screen;
    const zoom = 2 ** Math.floor(Math.log2(Math.min(width / img.width, height / img.height)));
    return { cx: img.width / 2, cy: img.height / 2, zoom };
  }

  setView(view: View): void {
    this.view = { ...view, zoom: Math.min(64, Math.max(1 / 2 ** 12, view.zoom)) };
    this.changed();
  }

  /** New display settings: the image's tiles are drawn again; the old ones stay on screen until the new cover them. */
  setStretch(stretch: DisplaySettings): void {
    this.stretch = stretch;
    this.stretchVersion++;
    // Nothing to draw until the new tiles come (the view itself did not change).
    if (this.image) this.request();
  }

  setMasks(masks: { name: string; bits: number; colour: string }[], alpha: number): void {
    const keep = new Set(masks.map((m) => `${m.name}/${m.colour}`));
    for (const [key, t] of this.tiles) if (key.startsWith('mask/') && !keep.has(key.split('/').slice(1, 3).join('/'))) this.dropTile(key, t);
    this.masks = masks;
    this.maskLayer.alpha = alpha;
    this.requestRender();
    if (this.image) this.request();
  }

  /** Image pixel (0-based, integers) under a canvas position in CSS pixels. */
  pixelAt(sx: number, sy: number): [number, number] {
    const [x, y] = this.worldAt(sx, sy);
    return [Math.floor(x), Math.floor(y)];
  }

  /** World point (image pixels, continuous) under a canvas position in CSS pixels. */
  worldAt(sx: number, sy: number): [number, number] {
    return invert(this.transform(this.view), sx, sy);
  }

  /** The world box the canvas shows (the box around it when the view is oriented): [x0, x1) x [y0, y1). */
  visibleWorld(): { x0: number; x1: number; y0: number; y1: number } {
    const { width, height } = this.app.screen;
    const corners = [this.worldAt(0, 0), this.worldAt(width, 0), this.worldAt(0, height), this.worldAt(width, height)];
    const xs = corners.map((c) => c[0]), ys = corners.map((c) => c[1]);
    return { x0: Math.min(...xs), x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
  }

  /** Canvas position (CSS pixels) of the centre of image pixel (x, y). */
  screenOf(x: number, y: number): [number, number] {
    const t = this.transform(this.view);
    return [t.a * (x + 0.5) + t.c * (y + 0.5) + t.tx, t.b * (x + 0.5) + t.d * (y + 0.5) + t.ty];
  }

  /**
   * The view's world -> screen map: y up (FITS orientation), the view's orientation, the zoom, the
   * centre at the canvas centre; without an orientation, world (0, 0) on whole screen pixels when
   * zoomed in, so image pixels land on screen pixels.
   */
  private transform(view: View): Affine {
    const { width, height } = this.app.screen;
    const m = linear(view);
    let tx = width / 2 - (m.a * view.cx + m.c * view.cy), ty = height / 2 - (m.b * view.cx + m.d * view.cy);
    if (!view.orient && view.zoom >= 1) { tx = Math.round(tx); ty = Math.round(ty); }
    return { ...m, tx, ty };
  }

  /** Draws the scene in the next animation frame (one drawing however many changes came before it). */
  requestRender(): void {
    this.dirty = true;
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      if (this.dirty) this.renderNow();
    });
  }

  /** Draws the scene now (the view's last tile is in: no reason to wait for the next frame). */
  private renderNow(): void {
    this.dirty = false;
    this.app.render();
    if (this.idleDue) {
      this.idleDue = false;
      this.onIdle?.();
    }
  }

  private changed(): void {
    this.requestRender();
    if (!this.image) return;
    const t = this.transform(this.view);
    this.world.setFromMatrix(new Matrix(t.a, t.b, t.c, t.d, t.tx, t.ty));
    // The view as numbers, for scripts and tests that check what is shown where.
    this.host.dataset.view = JSON.stringify(this.view);
    // The change is announced before the tiles are asked for: when none are missing, the view is idle at once.
    this.onViewChange?.(this.currentView);
    this.request();
  }

  private levelFor(zoom: number): number {
    return Math.max(0, Math.min(this.levels.length - 1, Math.floor(Math.log2(1 / zoom))));
  }

  /** Requests the visible tiles of the view's level that are missing; drops what is queued for older views. */
  private request(): void {
    const img = this.image!, stretch = this.stretch!;
    this.generation++;
    this.idleDue = false;
    const generation = this.generation;
    void this.worker.cancelBefore(img.id, generation);
    this.queue = [];
    const level = this.levelFor(this.view.zoom), scale = 2 ** level;
    const size = this.levels[level]!;
    // Visible world box, in level pixels.
    const box = this.visibleWorld();
    const x0 = Math.floor(box.x0 / scale), x1 = Math.ceil(box.x1 / scale), y0 = Math.floor(box.y0 / scale), y1 = Math.ceil(box.y1 / scale);
    const wanted = new Set<string>();
    const jobs: { key: string; make: () => Promise<TileAnswer | null>; layer: Container; alpha?: number }[] = [];
    for (let ty = Math.max(0, Math.floor(y0 / TILE)); ty <= Math.min(Math.ceil(size.height / TILE) - 1, Math.floor(y1 / TILE)); ty++) {
      for (let tx = Math.max(0, Math.floor(x0 / TILE)); tx <= Math.min(Math.ceil(size.width / TILE) - 1, Math.floor(x1 / TILE)); tx++) {
        const imageKey = `image/${this.stretchVersion}/${level}/${tx}/${ty}`;
        wanted.add(imageKey);
        if (!this.tiles.has(imageKey)) jobs.push({ key: imageKey, layer: this.imageLayer, make: () => this.worker.tile(img.id, generation, level, tx * TILE, ty * TILE, TILE, stretch) });
        for (const m of this.masks) {
          const key = `mask/${m.name}/${m.colour}/${level}/${tx}/${ty}`;
          wanted.add(key);
          if (!this.tiles.has(key)) jobs.push({ key, layer: this.maskLayer, make: () => this.worker.maskTile(img.id, generation, level, tx * TILE, ty * TILE, TILE, m.bits, cssToWord(m.colour)) });
        }
      }
    }
    // Tiles of other levels or an older stretch stay until this view's cover them (pruneStale); current ones out of view go.
    for (const [key, t] of this.tiles) if (!this.stale(key) && !wanted.has(key)) this.dropTile(key, t);
    for (const job of jobs) {
      this.queue.push(async () => {
        const answer = await job.make();
        if (!answer || (generation !== this.generation && this.stale(job.key))) return;
        this.addTile(job.key, answer, scale, job.layer);
      });
    }
    this.pump();
  }

  /** Whether a tile belongs to another level than the view's, or to an older stretch. */
  private stale(key: string): boolean {
    const parts = key.split('/');
    if (Number(parts[parts.length - 3]) !== this.levelFor(this.view.zoom)) return true;
    return parts[0] === 'image' && Number(parts[1]) !== this.stretchVersion;
  }

  private pump(): void {
    while (this.inFlight < 2 && this.queue.length) {
      const job = this.queue.shift()!;
      this.inFlight++;
      void job().catch((err: unknown) => console.error('tile', err)).finally(() => {
        this.inFlight--;
        if (this.queue.length) this.pump();
        else if (this.inFlight === 0) this.settle();
      });
    }
    if (this.inFlight === 0 && this.queue.length === 0) this.settle();
  }

  /** Every tile of the view is in: the stale ones go, and onIdle follows the drawing. */
  private settle(): void {
    this.pruneStale();
    this.idleDue = true;
    this.renderNow();
  }

  /** Once the view's tiles are drawn, those of other levels and older stretches go. */
  private pruneStale(): void {
    for (const [key, t] of this.tiles) if (this.stale(key)) this.dropTile(key, t);
  }

  private addTile(key: string, answer: TileAnswer, scale: number, layer: Container): void {
    if (answer.width === 0 || answer.height === 0) return;
    const old = this.tiles.get(key);
    if (old) this.dropTile(key, old);
    const source = new BufferImageSource({
      resource: answer.rgba, width: answer.width, height: answer.height, format: 'rgba8unorm',
      scaleMode: 'nearest', alphaMode: 'premultiply-alpha-on-upload', autoGenerateMipmaps: false,
    });
    const sprite = new Sprite(new Texture({ source }));
    sprite.position.set(answer.x0 * scale, answer.y0 * scale);
    sprite.scale.set(scale, scale);
    if (layer === this.imageLayer) this.imageLayer.addChildAt(sprite, 0);
    else layer.addChild(sprite);
    // Finer tiles draw over coarser ones left from the previous level; a newer stretch over an older one (added later).
    sprite.zIndex = -scale;
    layer.sortableChildren = true;
    this.tiles.set(key, { sprite, key });
    this.requestRender();
  }

  private dropTile(key: string, t: TileSprite): void {
    t.sprite.destroy({ texture: true, textureSource: true });
    this.tiles.delete(key);
    this.requestRender();
  }

  private clearTiles(): void {
    for (const [key, t] of this.tiles) this.dropTile(key, t);
    if (this.image) void this.worker.close(this.image.id);
    this.image = undefined;
  }

  private bindPointer(): void {
    const canvas = this.app.canvas;
    let drag: { x: number; y: number; cx: number; cy: number; moved: boolean } | undefined;
    canvas.addEventListener('pointerdown', (e) => {
      drag = { x: e.offsetX, y: e.offsetY, cx: this.view.cx, cy: this.view.cy, moved: false };
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!drag) return;
      if (Math.hypot(e.offsetX - drag.x, e.offsetY - drag.y) < 3 && !drag.moved) return;
      drag.moved = true;
      // The world point grabbed stays under the pointer.
      const [dx, dy] = invert(linear(this.view), e.offsetX - drag.x, e.offsetY - drag.y);
      this.setView({ ...this.view, cx: drag.cx - dx, cy: drag.cy - dy });
    });
    const end = (): void => { drag = undefined; };
    canvas.addEventListener('pointerup', (e) => {
      if (drag && !drag.moved && this.image) this.onClick?.(...this.worldAt(e.offsetX, e.offsetY));
      end();
    });
    canvas.addEventListener('pointercancel', end);
    canvas.addEventListener('wheel', (e) => {
      e.preventDefault();
      if (!this.image) return;
      const factor = e.deltaY < 0 ? 2 : 0.5;
      const { width, height } = this.app.screen;
      // Keep the world point under the cursor where it is.
      const zoom = Math.min(64, Math.max(1 / 2 ** 12, this.view.zoom * factor));
      const [ux, uy] = invert(linear(this.view), e.offsetX - width / 2, e.offsetY - height / 2);
      const [vx, vy] = invert(linear({ ...this.view, zoom }), e.offsetX - width / 2, e.offsetY - height / 2);
      this.setView({ ...this.view, zoom, cx: this.view.cx + ux - vx, cy: this.view.cy + uy - vy });
    }, { passive: false });
  }
}

/** The world point an affine map sends to screen point (sx, sy). */
function invert(t: Affine, sx: number, sy: number): [number, number] {
  const det = t.a * t.d - t.b * t.c, x = sx - t.tx, y = sy - t.ty;
  return [(t.d * x - t.c * y) / det, (t.a * y - t.b * x) / det];
}

/** A view's world -> screen map without its translation: zoom * diag(1, -1) * orientation (y up on screen). */
function linear(view: View): Affine {
  const [qa, qb, qc, qd] = view.orient ?? [1, 0, 0, 1];
  return { a: view.zoom * qa, b: -view.zoom * qc, c: view.zoom * qb, d: -view.zoom * qd, tx: 0, ty: 0 };
}
