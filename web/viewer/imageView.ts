/**
 * The image canvas (pixi.js, WebGL): an image from the kernel worker shown as 512-px tiles of a
 * level-of-detail pyramid (level L: 2^L x 2^L block means; the level drawn is the finest whose pixels are
 * not smaller than a screen pixel), FITS orientation (row 0 at the bottom, as DS9 and Firefly show it),
 * pan by dragging, zoom by the wheel about the cursor, nearest-neighbour sampling (each image pixel a
 * crisp square when zoomed in), mask planes as coloured overlay tiles with a common opacity. Tiles are
 * requested for the current view only, at most two at a time; a view change drops queued requests and
 * tells the worker to drop older ones (generation numbers), so panning on never waits for stale tiles.
 * World coordinates are the image's 0-based pixels: pixel (i, j) covers [i, i + 1) x [j, j + 1).
 * The canvas is drawn on demand (once in the next animation frame after a change), not every frame: an
 * idle viewer costs no CPU, which matters most with software WebGL. onIdle follows the drawing of the
 * view's last tile.
 */
import { Application, BufferImageSource, Container, CullerPlugin, Sprite, Texture, extensions } from 'pixi.js';
import type { Remote } from 'comlink';
import type { DisplaySettings, KernelWorkerApi, OpenedImage, TileAnswer } from '../kernelWorker.js';

export const TILE = 512;

// Objects marked cullable (the catalogue's marker cells) are skipped when off screen.
extensions.add(CullerPlugin);

export interface View { cx: number; cy: number; zoom: number }

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
    this.changed();
  }

  setMasks(masks: { name: string; bits: number; colour: string }[], alpha: number): void {
    const keep = new Set(masks.map((m) => `${m.name}/${m.colour}`));
    for (const [key, t] of this.tiles) if (key.startsWith('mask/') && !keep.has(key.split('/').slice(1, 3).join('/'))) this.dropTile(key, t);
    this.masks = masks;
    this.maskLayer.alpha = alpha;
    this.changed();
  }

  /** Image pixel (0-based, integers) under a canvas position in CSS pixels. */
  pixelAt(sx: number, sy: number): [number, number] {
    const [ox, oy] = this.origin();
    return [Math.floor((sx - ox) / this.view.zoom), Math.floor((oy - sy) / this.view.zoom)];
  }

  /** World point (image pixels, continuous) under a canvas position in CSS pixels. */
  worldAt(sx: number, sy: number): [number, number] {
    const [ox, oy] = this.origin();
    return [(sx - ox) / this.view.zoom, (oy - sy) / this.view.zoom];
  }

  /** The world box the canvas shows: [x0, x1) x [y0, y1). */
  visibleWorld(): { x0: number; x1: number; y0: number; y1: number } {
    const { width, height } = this.app.screen;
    const [x0, y1] = this.worldAt(0, 0), [x1, y0] = this.worldAt(width, height);
    return { x0, x1, y0, y1 };
  }

  /** Canvas position (CSS pixels) of the centre of image pixel (x, y). */
  screenOf(x: number, y: number): [number, number] {
    const [ox, oy] = this.origin();
    return [ox + (x + 0.5) * this.view.zoom, oy - (y + 0.5) * this.view.zoom];
  }

  /** Screen position of world (0, 0), whole pixels when zoomed in so image pixels land on screen pixels. */
  private origin(): [number, number] {
    const { width, height } = this.app.screen;
    let ox = width / 2 - this.view.cx * this.view.zoom, oy = height / 2 + this.view.cy * this.view.zoom;
    if (this.view.zoom >= 1) { ox = Math.round(ox); oy = Math.round(oy); }
    return [ox, oy];
  }

  /** Draws the scene in the next animation frame (one drawing however many changes came before it). */
  requestRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.app.render();
      if (this.idleDue) {
        this.idleDue = false;
        this.onIdle?.();
      }
    });
  }

  private changed(): void {
    this.requestRender();
    if (!this.image) return;
    const [ox, oy] = this.origin();
    this.world.position.set(ox, oy);
    this.world.scale.set(this.view.zoom, -this.view.zoom);
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
    const { width, height } = this.app.screen;
    const [ox, oy] = this.origin();
    // Visible world box, in level pixels.
    const x0 = Math.floor(-ox / this.view.zoom / scale), x1 = Math.ceil((width - ox) / this.view.zoom / scale);
    const y0 = Math.floor((oy - height) / this.view.zoom / scale), y1 = Math.ceil(oy / this.view.zoom / scale);
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
    this.requestRender();
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
      this.setView({ ...this.view, cx: drag.cx - (e.offsetX - drag.x) / this.view.zoom, cy: drag.cy + (e.offsetY - drag.y) / this.view.zoom });
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
      const wx = this.view.cx + (e.offsetX - width / 2) / this.view.zoom, wy = this.view.cy - (e.offsetY - height / 2) / this.view.zoom;
      const zoom = Math.min(64, Math.max(1 / 2 ** 12, this.view.zoom * factor));
      this.setView({ zoom, cx: wx - (e.offsetX - width / 2) / zoom, cy: wy + (e.offsetY - height / 2) / zoom });
    }, { passive: false });
  }
}
