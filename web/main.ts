/**
 * The browser entry point (DESIGN.md: one entry point per host): the viewer (issue 7). Served by
 * `tessera serve`, it lists the repository's runs, image dataset types and data IDs and opens on the
 * newest run's first calexp; opened as static files, it shows FITS files dropped or chosen from disk
 * (read in the kernel worker, nothing uploaded), which are also listed HDU by HDU. The image canvas is
 * web/viewer/imageView.ts; every pixel it draws comes from the wasm in the worker. The URL's #... holds
 * the view (web/viewer/viewState.ts), restored on reload. Science leads give each calexp or coadd a
 * verdict (web/viewer/certifyPanel.ts), kept in IndexedDB and recorded in the repository when the
 * server allows it; keys n/p step through the list, c/r/w give the verdicts.
 */
import { transfer, wrap } from 'comlink';
import type { DisplaySettings, ImageInput, KernelWorkerApi, OpenedImage, Readout } from './kernelWorker.js';
import { ImageView, type View } from './viewer/imageView.js';
import { formatViewState, LIMITS, parseViewState, type LimitsChoice, type ViewState } from './viewer/viewState.js';
import { COLORMAPS, EXTRA_MASK_COLOURS, MASK_COLOURS, STRETCHES, type Colormap, type StretchKind } from '../lib/display/stretch.js';
import type { LimitsMethod } from '../lib/display/displayImage.js';
import type { BackgroundView } from '../lib/display/backgroundViews.js';
import { formatDataId, repositoryApi, shortDataId, whereDataId, type DatasetInfo } from './viewer/repositoryApi.js';
import { byId, element, fillSelect } from './viewer/dom.js';
import { renderFileError, renderInspection } from './viewer/inspectList.js';
import { VerdictStore } from './viewer/verdictStore.js';
import { CertifyPanel } from './viewer/certifyPanel.js';
import { CatalogLayer, type CatalogColumns } from './viewer/catalogLayer.js';
import { SimulatePanel } from './viewer/simulatePanel.js';
import { ThumbnailLoader } from './viewer/thumbnailLoader.js';

const worker = wrap<KernelWorkerApi>(new Worker(new URL('./kernelWorker.ts', import.meta.url), { type: 'module' }));
const viewer = byId<HTMLElement>('viewer');
const readoutBox = byId<HTMLElement>('readout');
const imageView = new ImageView(worker, byId('canvas-host'));
/** The image to blink against, drawn in step with the first (web/viewer: aligned by the two WCSs). */
const compareView = new ImageView(worker, byId('compare-host'));
let showingCompare = false;
/** The view the reviewer sees and moves. */
const activeView = (): ImageView => (showingCompare ? compareView : imageView);
let state: ViewState = parseViewState(location.hash);
let limits: [number, number] = [0, 1];
let opening = 0;

function limitsMethod(choice: LimitsChoice): LimitsMethod {
  if (choice === 'zscale' || choice === 'minmax') return { kind: choice };
  const p = Number(choice);
  return { kind: 'percentile', low: 100 - p, high: p };
}

/** How the image is drawn: the stretch, or the colour composite when colour bands are loaded. */
let colourLoaded = false;
function stretchSettings(): DisplaySettings {
  if (colourLoaded) return { kind: 'lupton', stretch: state.luptonStretch, q: state.luptonQ, minimum: 0 };
  return { kind: state.stretch, colormap: state.colormap, lo: limits[0], hi: limits[1] };
}

/** Writes the state into the URL without a history entry per pan. */
function saveState(): void {
  history.replaceState(null, '', formatViewState(state));
}

// ---- display controls --------------------------------------------------------------------------
const stretchSelect = byId<HTMLSelectElement>('stretch'), limitsSelect = byId<HTMLSelectElement>('limits'), cmapSelect = byId<HTMLSelectElement>('cmap');
fillSelect(stretchSelect, STRETCHES, state.stretch);
fillSelect(limitsSelect, LIMITS.map((l) => [l, l === 'zscale' || l === 'minmax' ? l : `${l} %`] as [string, string]), state.limits);
fillSelect(cmapSelect, COLORMAPS, state.colormap);
stretchSelect.addEventListener('change', () => { state.stretch = stretchSelect.value as StretchKind; restretch(false); });
cmapSelect.addEventListener('change', () => { state.colormap = cmapSelect.value as Colormap; restretch(false); });
limitsSelect.addEventListener('change', () => { state.limits = limitsSelect.value as LimitsChoice; restretch(true); });
const bgSelect = byId<HTMLSelectElement>('bgview');
bgSelect.value = state.background;
let backgroundUrl: string | undefined;
bgSelect.addEventListener('change', () => void applyBackgroundView(bgSelect.value as BackgroundView));

/** Shows a background view of the image (the worker recomputes the plane), with new limits. */
async function applyBackgroundView(view: BackgroundView): Promise<void> {
  const image = imageView.opened;
  if (!image) return;
  viewer.dataset.state = 'loading';
  try {
    await worker.backgroundView(image.id, view, backgroundUrl);
    state.background = view;
    await restretch(true);
    viewer.dataset.background = view;
  } catch (err) {
    byId('title').textContent = `${byId('title').textContent}: ${(err as Error).message}`;
    viewer.dataset.state = 'error';
  }
}
const rgbBox = byId<HTMLInputElement>('rgb'), luptonStretch = byId<HTMLInputElement>('lupton-stretch'), luptonQ = byId<HTMLInputElement>('lupton-q');
rgbBox.checked = state.rgb;
luptonStretch.value = String(state.luptonStretch);
luptonQ.value = String(state.luptonQ);
rgbBox.addEventListener('change', () => {
  state.rgb = rgbBox.checked;
  if (state.dataset) void openDataset(state.dataset, { ...state });
});
for (const input of [luptonStretch, luptonQ]) {
  input.addEventListener('change', () => {
    if (Number(luptonStretch.value) > 0) state.luptonStretch = Number(luptonStretch.value);
    if (Number(luptonQ.value) > 0) state.luptonQ = Number(luptonQ.value);
    if (colourLoaded) restretch(false);
    else saveState();
  });
}

async function restretch(newLimits: boolean): Promise<void> {
  const image = imageView.opened;
  if (!image) return;
  performance.mark('tessera:restretch');
  if (newLimits) limits = await worker.limits(image.id, limitsMethod(state.limits));
  viewer.dataset.state = 'drawing';
  imageView.setStretch(stretchSettings());
  viewer.dataset.limits = `${limits[0]},${limits[1]}`;
  saveState();
}

const zoomBy = (factor: number): void => { const v = imageView.currentView; imageView.setView({ ...v, zoom: v.zoom * factor }); };
byId('fit').addEventListener('click', () => imageView.opened && imageView.setView(imageView.fitView()));
byId('one').addEventListener('click', () => imageView.setView({ ...imageView.currentView, zoom: 1 }));
byId('zoom-in').addEventListener('click', () => zoomBy(2));
byId('zoom-out').addEventListener('click', () => zoomBy(0.5));
byId('save-png').addEventListener('click', () => {
  // The canvas keeps its drawing buffer, so it holds the view as drawn: image, masks and markers.
  imageView.app.canvas.toBlob((blob) => {
    if (!blob) return;
    const a = element('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${(byId('title').textContent || 'view').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/_+$/, '')}.png`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }, 'image/png');
});

// ---- mask planes ----------------------------------------------------------------------------------
const maskList = byId<HTMLUListElement>('masks'), maskAlpha = byId<HTMLInputElement>('mask-alpha');
maskAlpha.value = String(state.maskAlpha);
let maskColours: Record<string, string> = {};

function showMaskPlanes(image: OpenedImage): void {
  maskColours = {};
  let extra = 0;
  const names = Object.keys(image.maskPlanes).sort((a, b) => image.maskPlanes[a]! - image.maskPlanes[b]!);
  for (const name of names) maskColours[name] = MASK_COLOURS[name] ?? EXTRA_MASK_COLOURS[extra++ % EXTRA_MASK_COLOURS.length]!;
  state.masks = state.masks.filter((m) => m in image.maskPlanes);
  maskList.replaceChildren(...names.map((name) => {
    const li = element('li');
    const box = element('input');
    box.type = 'checkbox';
    box.dataset.plane = name;
    box.checked = state.masks.includes(name);
    box.addEventListener('change', () => {
      state.masks = box.checked ? [...state.masks, name] : state.masks.filter((m) => m !== name);
      applyMasks();
    });
    const swatch = element('span', undefined, 'swatch');
    swatch.style.background = maskColours[name]!;
    const label = element('label');
    label.append(box, swatch, ` ${name} (bit ${image.maskPlanes[name]})`);
    li.append(label);
    return li;
  }));
  if (names.length === 0) maskList.append(element('li', 'no mask plane', 'hint'));
}

function applyMasks(): void {
  const image = imageView.opened;
  if (!image) return;
  viewer.dataset.state = 'drawing';
  imageView.setMasks(state.masks.map((name) => ({ name, bits: 1 << image.maskPlanes[name]!, colour: maskColours[name]! })), state.maskAlpha);
  saveState();
}
maskAlpha.addEventListener('input', () => { state.maskAlpha = Number(maskAlpha.value); applyMasks(); });

// ---- readout --------------------------------------------------------------------------------------
/** The image pixel to read out next, and the canvas point (CSS pixels) it is under. */
let readoutPending: { pixel: [number, number]; at: [number, number] } | undefined, readoutBusy = false;

function formatReadout(r: Readout): string {
  const parts = [`x ${r.parentX} y ${r.parentY} (parent)`, `FITS ${r.fitsX}, ${r.fitsY}`, `value ${r.value.toPrecision(6)}`];
  if (r.variance !== undefined) parts.push(`variance ${r.variance.toPrecision(5)}`);
  if (r.ra !== undefined && r.dec !== undefined) parts.push(`RA ${r.ra.toFixed(7)} Dec ${r.dec.toFixed(7)}`);
  if (r.mask !== undefined) parts.push(`mask ${r.maskNames.length ? r.maskNames.join(' ') : '—'}`);
  return parts.join(' · ');
}

async function updateReadout(): Promise<void> {
  const image = activeView().opened;
  if (readoutBusy || !readoutPending || !image) return;
  readoutBusy = true;
  const { pixel: [x, y], at } = readoutPending;
  readoutPending = undefined;
  try {
    const r = await worker.readout(image.id, x, y);
    if (r) {
      readoutBox.textContent = formatReadout(r);
      Object.assign(readoutBox.dataset, { x: String(r.x), y: String(r.y), parentX: String(r.parentX), parentY: String(r.parentY), value: String(r.value),
        ra: r.ra === undefined ? '' : String(r.ra), dec: r.dec === undefined ? '' : String(r.dec), mask: r.maskNames.join(','), at: at.join(',') });
    }
  } finally {
    readoutBusy = false;
    if (readoutPending) void updateReadout();
  }
}

// ---- opening images -------------------------------------------------------------------------------

async function openImage(input: ImageInput, title: string, restore?: ViewState, colour?: [ImageInput, ImageInput]): Promise<void> {
  const ticket = ++opening;
  viewer.dataset.state = 'loading';
  byId('title').textContent = `${title} (loading…)`;
  try {
    const image = await worker.open(input);
    if (ticket !== opening) { void worker.close(image.id); return; }
    colourLoaded = false;
    if (colour) {
      await worker.addColourBands(image.id, ...colour);
      colourLoaded = true;
    }
    limits = await worker.limits(image.id, limitsMethod(state.limits));
    showMaskPlanes(image);
    const summary = byId('summary');
    summary.replaceChildren(...Object.entries({ size: `${image.width} × ${image.height}`, xy0: `${image.x0}, ${image.y0}`, HDU: image.hdu, ...image.summary })
      .flatMap(([k, v]) => [element('dt', k), element('dd', String(v))]));
    const view: View | undefined = restore?.zoom !== undefined && restore.x !== undefined && restore.y !== undefined
      ? { cx: restore.x, cy: restore.y, zoom: restore.zoom } : undefined;
    viewer.dataset.state = 'drawing';
    await imageView.show(image, stretchSettings(), view);
    applyMasks();
    byId('title').textContent = title;
    viewer.dataset.image = image.name;
    viewer.dataset.limits = `${limits[0]},${limits[1]}`;
    saveState();
  } catch (err) {
    if (ticket !== opening) return;
    viewer.dataset.state = 'error';
    byId('title').textContent = `${title}: ${(err as Error).message}`;
  }
}

imageView.onViewChange = (v) => {
  state.x = v.cx; state.y = v.cy; state.zoom = v.zoom;
  countCatalog();
  if (!showingCompare) void follow(imageView, compareView);
  viewer.dataset.state = 'drawing';
  saveState();
};
imageView.onIdle = () => {
  if (imageView.opened && viewer.dataset.state === 'drawing') {
    viewer.dataset.state = 'ready';
    performance.mark('tessera:idle');
  }
};

// ---- catalogue overlay -------------------------------------------------------------------------------
/** The catalogues that go with an image dataset type. */
const CATALOGS: Record<string, string[]> = {
  calexp: ['src'], deepCoadd: ['deepCoadd_meas', 'deepCoadd_forced_src'], deepCoadd_calexp: ['deepCoadd_meas', 'deepCoadd_forced_src'],
};
let catalogLayer: CatalogLayer | undefined;
/** The name of a catalogue file dropped on the page, drawn over a local image. */
let localCatalog: string | undefined;
let catalogFor: DatasetInfo | undefined;
let catalogTicket = 0;
const catalogType = byId<HTMLSelectElement>('catalog-type'), catalogSnr = byId<HTMLInputElement>('catalog-snr');
const catalogClean = byId<HTMLInputElement>('catalog-clean'), catalogPrimary = byId<HTMLInputElement>('catalog-primary');
catalogSnr.value = String(state.minSnr);
catalogClean.checked = state.hideFlagged;
catalogPrimary.checked = state.primaryOnly;

/** Offers the catalogues of the image shown (a repository dataset), and draws the chosen one. */
async function showCatalogChoices(info: DatasetInfo | undefined): Promise<void> {
  catalogFor = info;
  localCatalog = undefined;
  const choices = info ? CATALOGS[info.datasetType] ?? [] : [];
  byId('catalog-panel').hidden = choices.length === 0;
  if (state.catalog && !choices.includes(state.catalog)) delete state.catalog;
  fillSelect(catalogType, [['', 'none'], ...choices.map((c) => [c, c] as [string, string])], state.catalog ?? '');
  await loadCatalog();
}

async function loadCatalog(): Promise<void> {
  const ticket = ++catalogTicket;
  catalogLayer?.clear();
  byId('catalog-row').replaceChildren();
  const count = byId('catalog-count');
  count.textContent = '';
  const type = catalogType.value;
  if (!type || !catalogFor) { delete state.catalog; saveState(); return; }
  state.catalog = type;
  saveState();
  const where = whereDataId(catalogFor.dataId);
  count.textContent = 'loading…';
  const [found] = await repositoryApi.datasets({ type, collection: catalogFor.run, where });
  if (ticket !== catalogTicket) return;
  if (!found) { count.textContent = `no ${type} for this image in ${catalogFor.run}`; return; }
  const table = await repositoryApi.catalog(found.id);
  if (ticket !== catalogTicket) return;
  count.dataset.dataset = found.id;
  showCatalogColumns(Object.fromEntries(table.columns.map((c) => [c.name, c.values])), table.rows);
}

function showCatalogColumns(columns: CatalogColumns, rows: number): void {
  catalogLayer ??= new CatalogLayer(imageView.overlayLayer, () => imageView.requestRender());
  catalogLayer.set(columns, rows);
  drawCatalog();
}

function drawCatalog(): void {
  if (!catalogLayer || (!state.catalog && !localCatalog)) return;
  state.minSnr = Number(catalogSnr.value) || 0;
  state.hideFlagged = catalogClean.checked;
  state.primaryOnly = catalogPrimary.checked;
  catalogLayer.draw({ minSnr: state.minSnr, hideFlagged: state.hideFlagged, primaryOnly: state.primaryOnly }, 0x33ff66);
  countCatalog();
  saveState();
}

/** How many kept rows the view shows (recounted on every pan and zoom). */
function countCatalog(): void {
  if (!catalogLayer || (!state.catalog && !localCatalog) || catalogLayer.total === 0) return;
  const box = imageView.visibleWorld();
  const inView = catalogLayer.countIn(box.x0, box.x1, box.y0, box.y1);
  const count = byId('catalog-count');
  count.textContent = `${catalogLayer.kept.length} of ${catalogLayer.total} rows kept; ${inView} in view`;
  Object.assign(count.dataset, { kept: String(catalogLayer.kept.length), total: String(catalogLayer.total), inView: String(inView) });
}

function showRow(k: number): void {
  if (!catalogLayer) return;
  const table = byId<HTMLTableElement>('catalog-row');
  table.dataset.row = String(k);
  const names = ['id', 'parent', 'base_SdssCentroid_x', 'base_SdssCentroid_y', 'coord_ra', 'coord_dec', 'base_PsfFlux_flux', 'base_PsfFlux_fluxErr', 'base_PsfFlux_instFlux',
    'base_PsfFlux_instFluxErr', 'base_CircularApertureFlux_12_0_flux', 'base_SdssShape_xx', 'base_SdssShape_yy', 'base_SdssShape_xy', 'base_ClassificationExtendedness_value',
    'deblend_nChild', 'detect_isPrimary'];
  const rows = names.filter((n) => catalogLayer!.column(n) !== undefined).map((n) => [n, catalogLayer!.column(n)![k]] as const);
  const flags = catalogLayer.columnNames().filter((n) => /flag/.test(n) && catalogLayer!.column(n)![k] === true);
  table.replaceChildren(...[...rows.map(([n, v]) => [n, typeof v === 'number' ? String(+v.toPrecision(8)) : String(v)]), ['flags set', flags.join(' ') || '—']].map(([n, v]) => {
    const tr = element('tr');
    tr.append(element('td', n), element('td', v));
    return tr;
  }));
}

catalogType.addEventListener('change', () => void loadCatalog());
for (const input of [catalogSnr, catalogClean, catalogPrimary]) input.addEventListener('change', drawCatalog);
imageView.onClick = (wx, wy) => {
  const k = catalogLayer?.nearest(wx, wy, 10 / imageView.currentView.zoom);
  if (k !== undefined) showRow(k);
};

// ---- compare and blink ------------------------------------------------------------------------------
let syncing = false;

/**
 * `to`'s view showing the sky `from` shows, the same way up: the same sky at the centre, the same scale
 * on the sky, and the orientation (rotation, and a mirror where the WCSs differ in parity) that the
 * two WCSs give about the centre (J: d to-pixel / d from-pixel there, from 100 screen pixels' steps).
 */
async function mapView(from: ImageView, to: ImageView): Promise<View | undefined> {
  const a = from.opened, b = to.opened;
  if (!a || !b) return undefined;
  const v = from.currentView, h = 100 / v.zoom;
  const through = async (x: number, y: number): Promise<[number, number] | undefined> => {
    const sky = await worker.pixelToSky(a.id, x - 0.5, y - 0.5);
    return (sky && await worker.skyToPixel(b.id, ...sky)) ?? undefined;
  };
  const [p0, px, py] = await Promise.all([through(v.cx, v.cy), through(v.cx + h, v.cy), through(v.cx, v.cy + h)]);
  if (!p0 || !px || !py) return undefined;
  // K = Q_from J^-1: to-pixel offsets -> from's oriented offsets; its scale is the zoom ratio.
  const j00 = (px[0] - p0[0]) / h, j01 = (py[0] - p0[0]) / h, j10 = (px[1] - p0[1]) / h, j11 = (py[1] - p0[1]) / h;
  const det = j00 * j11 - j01 * j10;
  const [qa, qb, qc, qd] = v.orient ?? [1, 0, 0, 1];
  const i00 = j11 / det, i01 = -j01 / det, i10 = -j10 / det, i11 = j00 / det;
  const k = [qa * i00 + qb * i10, qa * i01 + qb * i11, qc * i00 + qd * i10, qc * i01 + qd * i11] as const;
  const scale = Math.sqrt(Math.abs(k[0] * k[3] - k[1] * k[2]));
  const orient = k.map((e) => e / scale) as unknown as [number, number, number, number];
  const upright = Math.abs(orient[0] - 1) + Math.abs(orient[1]) + Math.abs(orient[2]) + Math.abs(orient[3] - 1) < 1e-6;
  return { cx: p0[0] + 0.5, cy: p0[1] + 0.5, zoom: v.zoom * scale, ...(upright ? {} : { orient }) };
}

async function follow(from: ImageView, to: ImageView): Promise<void> {
  if (syncing || !to.opened) return;
  const v = await mapView(from, to);
  if (!v) return;
  syncing = true;
  try { to.setView(v); } finally { syncing = false; }
}

async function openCompare(id: string): Promise<void> {
  try {
    await showCompare(id);
  } catch (err) {
    delete state.compare;
    saveState();
    byId('compare-controls').hidden = false;
    byId('compare-name').textContent = `cannot compare: ${(err as Error).message}`;
  }
}

async function showCompare(id: string): Promise<void> {
  const info = listed.find((d) => d.id === id) ?? await repositoryApi.dataset(id);
  const image = await worker.open({ url: repositoryApi.fileUrl(id) });
  const [lo, hi] = await worker.limits(image.id, limitsMethod(state.limits));
  await compareView.show(image, { kind: state.stretch, colormap: state.colormap, lo, hi });
  await follow(imageView, compareView);
  state.compare = id;
  byId('compare-controls').hidden = false;
  byId('compare-name').textContent = `${info.datasetType} ${formatDataId(info.dataId)}`;
  byId('compare-host').dataset.image = id;
  saveState();
}

function swap(): void {
  if (!compareView.opened) return;
  showingCompare = !showingCompare;
  byId('compare-host').classList.toggle('behind', !showingCompare);
  byId('canvas-host').classList.toggle('behind', showingCompare);
  viewer.dataset.showing = showingCompare ? 'compare' : 'image';
}

let blinkTimer: ReturnType<typeof setInterval> | undefined;
byId('swap').addEventListener('click', swap);
byId<HTMLInputElement>('blink').addEventListener('change', (e) => {
  if (blinkTimer) clearInterval(blinkTimer);
  blinkTimer = (e.target as HTMLInputElement).checked ? setInterval(swap, 700) : undefined;
});
compareView.onViewChange = () => {
  byId('compare-host').dataset.state = 'drawing';
  if (showingCompare) void follow(compareView, imageView);
};
compareView.onIdle = () => { byId('compare-host').dataset.state = 'ready'; };

// ---- the repository browser -----------------------------------------------------------------------
let listed: DatasetInfo[] = [];
let verdictStore: VerdictStore | undefined, certifyPanel: CertifyPanel | undefined;

async function openDataset(id: string, restore?: ViewState): Promise<void> {
  state.dataset = id;
  delete state.url;
  for (const e of document.querySelectorAll<HTMLElement>('#datasets li, #thumbs figure')) e.classList.toggle('current', e.dataset.id === id);
  document.querySelector('#thumbs .current')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  let info = listed.find((d) => d.id === id) ?? await repositoryApi.dataset(id);
  // Coadds: the patch's i, r, g as the colour composite when asked (the i band is the one shown).
  const bands = await colourBands(info);
  byId('rgb-controls').hidden = bands === undefined;
  let colour: [ImageInput, ImageInput] | undefined;
  if (state.rgb && bands) {
    if (info.id !== bands.i.id) { info = bands.i; state.dataset = info.id; }
    colour = [{ url: repositoryApi.fileUrl(bands.r.id) }, { url: repositoryApi.fileUrl(bands.g.id) }];
  }
  await certifyPanel?.show(info.id);
  const title = `${info.datasetType} ${formatDataId(info.dataId)} (${info.run})${colour ? ' with r, g: colour i,r,g' : ''}`;
  // The background model that goes with the image, for the background views.
  const bkgType = BACKGROUNDS[info.datasetType];
  const where = whereDataId(info.dataId);
  const [bkg] = bkgType && !colour ? await repositoryApi.datasets({ type: bkgType, collection: info.run, where }) : [];
  backgroundUrl = bkg ? repositoryApi.fileUrl(bkg.id) : undefined;
  byId('bg-controls').hidden = bkg === undefined;
  if (!bkg) state.background = 'image';
  bgSelect.value = state.background;
  await openImage({ url: repositoryApi.fileUrl(info.id) }, title, restore, colour);
  if (state.background !== 'image') await applyBackgroundView(state.background);
  await showCatalogChoices(info);
  if (/Warp$/.test(info.datasetType)) await showClippedSpans(info);
}

/**
 * A warp's CLIPPED spans: the pixels assembleCoadd's artifact rejection left out of the coadd for this
 * visit (its deepCoadd_artifactMask), marked in the warp's mask plane CLIPPED and shown.
 */
async function showClippedSpans(warp: DatasetInfo): Promise<void> {
  const image = imageView.opened;
  if (!image || !image.hasMask) return;
  const where = whereDataId(Object.fromEntries(['visit', 'tract', 'patch', 'band'].filter((k) => warp.dataId[k] !== undefined).map((k) => [k, warp.dataId[k]!])));
  const [mask] = await repositoryApi.datasets({ type: 'deepCoadd_artifactMask', collection: warp.run, where });
  if (!mask || imageView.opened !== image) return;
  const table = await repositoryApi.catalog(mask.id);
  const column = (name: string): number[] => table.columns.find((c) => c.name === name)!.values.map(Number);
  const marked = await worker.addMaskSpans(image.id, 'CLIPPED', { y: column('y'), x0: column('x0'), x1: column('x1') });
  if (imageView.opened !== image) return;
  Object.assign(image.maskPlanes, marked.maskPlanes);
  viewer.dataset.clipped = String(marked.pixels);
  if (marked.pixels > 0 && !state.masks.includes('CLIPPED')) state.masks = [...state.masks, 'CLIPPED'];
  showMaskPlanes(image);
  applyMasks();
}

/** The background model dataset of each image dataset type that has one. */
const BACKGROUNDS: Record<string, string> = { calexp: 'calexpBackground', deepCoadd_calexp: 'deepCoadd_calexp_background' };

/** A coadd's i, r and g datasets (same type, run, tract and patch), or undefined for other images. */
async function colourBands(info: DatasetInfo): Promise<Record<'i' | 'r' | 'g', DatasetInfo> | undefined> {
  if (!/^deepCoadd(_calexp)?$/.test(info.datasetType) || info.dataId.patch === undefined) return undefined;
  const where = ['tract', 'patch'].map((k) => `${k} = ${Number(info.dataId[k])}`).join(' AND ');
  const refs = await repositoryApi.datasets({ type: info.datasetType, collection: info.run, where });
  const pick = (band: string): DatasetInfo | undefined => refs.find((r) => r.dataId.band === band && r.run === info.run);
  const i = pick('i'), r = pick('r'), g = pick('g');
  return i && r && g ? { i, r, g } : undefined;
}

/** Marks each listed dataset with its latest verdict and shows the run's progress. */
async function showVerdicts(): Promise<void> {
  if (!verdictStore) return;
  const latest = await verdictStore.latestByDataset();
  let certified = 0, rejected = 0, needsWork = 0;
  for (const d of listed) {
    const v = latest.get(d.id)?.verdict;
    if (v === 'certified') certified++;
    else if (v === 'rejected') rejected++;
    else if (v === 'needs-work') needsWork++;
  }
  for (const e of document.querySelectorAll<HTMLElement>('#datasets li, #thumbs figure')) e.dataset.verdict = latest.get(e.dataset.id!)?.verdict ?? '';
  const progress = byId('progress');
  progress.textContent = `${byId<HTMLSelectElement>('run').value} ${byId<HTMLSelectElement>('dtype').value}: certified ${certified} / ${listed.length}`
    + ` (rejected ${rejected}, needs work ${needsWork}, not yet ${listed.length - certified - rejected - needsWork})`;
  Object.assign(progress.dataset, { certified: String(certified), total: String(listed.length) });
}

/** Opens the next (+1) or previous (-1) dataset of the filtered list. */
function step(delta: number): void {
  const items = [...byId('datasets').querySelectorAll<HTMLElement>('li')];
  const at = items.findIndex((li) => li.dataset.id === state.dataset);
  const next = items[Math.max(0, Math.min(items.length - 1, at + delta))];
  if (next && next.dataset.id !== state.dataset) { next.scrollIntoView({ block: 'nearest' }); void openDataset(next.dataset.id!); }
}

/** The list and the thumbnail strip: the listed datasets that match the search. */
function showList(): void {
  const filter = byId<HTMLInputElement>('search').value.trim().toLowerCase();
  const shown = listed.filter((d) => formatDataId(d.dataId).toLowerCase().includes(filter));
  byId('count').textContent = `${shown.length} of ${listed.length}`;
  const entry = <K extends 'li' | 'figure'>(tag: K, d: DatasetInfo): HTMLElementTagNameMap[K] => {
    const e = element(tag);
    e.dataset.id = d.id;
    e.tabIndex = 0;
    e.title = `${formatDataId(d.dataId)}\nclick: show; shift-click: compare (blink) with the image shown`;
    if (d.id === state.dataset) e.classList.add('current');
    (e as HTMLElement).addEventListener('click', (ev) => void (ev.shiftKey ? openCompare(d.id) : openDataset(d.id)));
    return e;
  };
  byId('datasets').replaceChildren(...shown.map((d) => {
    const li = entry('li', d);
    li.textContent = formatDataId(d.dataId);
    return li;
  }));
  // Thumbnails load as they scroll into view, two at a time (the server makes each once).
  const thumbs = byId('thumbs');
  thumbs.hidden = shown.length === 0;
  const images = shown.map((d) => {
    const img = element('img');
    img.alt = formatDataId(d.dataId);
    img.dataset.src = repositoryApi.thumbnailUrl(d.id, THUMBNAIL_SIZE);
    return img;
  });
  thumbs.replaceChildren(...shown.map((d, k) => {
    const figure = entry('figure', d);
    figure.append(images[k]!, element('figcaption', shortDataId(d.dataId)));
    return figure;
  }));
  thumbnailLoader.watch(images);
  thumbs.querySelector('.current')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  void showVerdicts();
}
// Made at up to 128 px (power-of-two block means), shown at up to 96.
const THUMBNAIL_SIZE = 128;
const thumbnailLoader = new ThumbnailLoader(byId('thumbs'));

async function listDatasets(): Promise<void> {
  const run = byId<HTMLSelectElement>('run').value, type = byId<HTMLSelectElement>('dtype').value;
  listed = run && type ? await repositoryApi.datasets({ type, collection: run }) : [];
  if (verdictStore && run) await verdictStore.merge(await repositoryApi.verdicts(run));
  showList();
}

async function startBrowser(): Promise<void> {
  const browse = byId<HTMLElement>('browse');
  browse.hidden = false;
  const [collections, types] = await Promise.all([repositoryApi.collections(), repositoryApi.datasetTypes()]);
  const imageTypes = types.filter((t) => t.storageClass === 'Exposure' || t.storageClass === 'ImageU').map((t) => t.name);
  const runs = collections.filter((c) => c.type === 'RUN').map((c) => c.name);
  // The newest run with calexps, by their registration time; its first calexp opens unless the URL names a dataset.
  const calexps = imageTypes.includes('calexp') ? await repositoryApi.datasets({ type: 'calexp' }) : [];
  const newest = calexps.reduce<DatasetInfo | undefined>((best, d) => (!best || d.ingestDate > best.ingestDate ? d : best), undefined);
  const run = newest?.run ?? runs[0] ?? '';
  const server = await repositoryApi.info();
  byId('repository').textContent = `${runs.length} runs, ${imageTypes.length} image dataset types; verdicts ${server.certify ? 'recorded in the repository' : 'kept in this browser (read-only server)'}`;
  verdictStore = await VerdictStore.open(server.certify);
  await verdictStore.retryPending();
  certifyPanel = new CertifyPanel(verdictStore, __APP_VERSION__);
  certifyPanel.onChange = () => void showVerdicts();
  fillSelect(byId('run'), runs, run);
  fillSelect(byId('dtype'), imageTypes, imageTypes.includes('calexp') ? 'calexp' : imageTypes[0]);
  byId('run').addEventListener('change', () => void listDatasets());
  byId('dtype').addEventListener('change', () => void listDatasets());
  byId('search').addEventListener('input', showList);
  await listDatasets();
  if (state.dataset) await openDataset(state.dataset, state);
  else if (newest) await openDataset(calexps.filter((d) => d.run === run)[0]!.id);
  if (state.compare) await openCompare(state.compare);
}

// ---- local files ------------------------------------------------------------------------------------
const results = byId<HTMLElement>('results');

async function openFiles(files: Iterable<File>): Promise<void> {
  let first = true;
  const catalogs: { name: string; file: number }[] = [];
  for (const file of files) {
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      // Performance marks (Web Performance API) for `npm run bench`: bytes in the page, a display change
      // (restretch), then each idle view (drawn).
      performance.mark('tessera:bytes-in');
      // The bytes move to the worker (transferred: copying a large file costs more than reading it).
      const { file: held, inspection } = await worker.receive(file.name, transfer(bytes, [bytes.buffer]));
      results.prepend(renderInspection(inspection));
      // A file without a 2-D image is a catalogue to draw over the image.
      if (!inspection.hdus.some((h) => h.type === 'IMAGE' && h.shape.length === 2 && h.shape.every((n) => n > 0))) {
        catalogs.push({ name: file.name, file: held });
        continue;
      }
      // Only the first image opens; the others were listed.
      if (!first) { void worker.forget(held); continue; }
      first = false;
      await openLocalImage(held, file.name);
    } catch (err) {
      results.prepend(renderFileError(file.name, (err as Error).message));
    }
  }
  for (const c of catalogs) {
    try {
      await showLocalCatalog(c.file, c.name);
    } catch (err) {
      results.prepend(renderFileError(c.name, (err as Error).message));
    }
  }
}

/** Shows an image held by the worker (a dropped file, or a calexp made in the page): no repository dataset. */
async function openLocalImage(file: number, name: string): Promise<void> {
  delete state.dataset;
  delete state.url;
  await certifyPanel?.show(undefined);
  await showCatalogChoices(undefined);
  byId('bg-controls').hidden = true;
  byId('rgb-controls').hidden = true;
  state.background = 'image';
  await openImage({ file }, name);
}

/** Draws a catalogue held by the worker over the image shown. */
async function showLocalCatalog(file: number, name: string): Promise<void> {
  const table = await worker.readCatalog(file);
  if (!table) throw new Error(`${name}: no table with positions (base_SdssCentroid_x/y or X_IMAGE/Y_IMAGE)`);
  if (!imageView.opened) throw new Error(`${name}: open an image first, then drop its catalogue`);
  localCatalog = name;
  byId('catalog-panel').hidden = false;
  fillSelect(catalogType, [[name, name]], name);
  showCatalogColumns(table.columns, table.rows);
}

// ---- the pipeline in the page -------------------------------------------------------------------------
const simulatePanel = new SimulatePanel(worker);
simulatePanel.onDone = async (answer) => {
  const id = `visit ${answer.dataId.visit}, detector ${answer.dataId.detector}`;
  await openLocalImage(answer.calexp, `calexp of ${id} (made in this page)`);
  await showLocalCatalog(answer.src, `src of ${id}`);
};

const drop = byId<HTMLElement>('drop');
for (const target of [drop, viewer]) {
  target.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  target.addEventListener('dragleave', () => drop.classList.remove('over'));
  target.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer) void openFiles(e.dataTransfer.files);
  });
}
byId<HTMLInputElement>('files').addEventListener('change', (e) => {
  const input = e.target as HTMLInputElement;
  if (input.files) void openFiles(input.files);
});

// ---- keyboard -----------------------------------------------------------------------------------------
document.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.target instanceof HTMLTextAreaElement || e.metaKey || e.ctrlKey || e.altKey) return;
  if (e.key === 'f') byId('fit').click();
  else if (e.key === '1') byId('one').click();
  else if (e.key === '+' || e.key === '=') zoomBy(2);
  else if (e.key === '-') zoomBy(0.5);
  else if (e.key === 'b') swap();
  else if (e.key === 'n') step(1);
  else if (e.key === 'p') step(-1);
  else if (certifyPanel && state.dataset && (e.key === 'c' || e.key === 'r' || e.key === 'w')) {
    void certifyPanel.give(e.key === 'c' ? 'certified' : e.key === 'r' ? 'rejected' : 'needs-work');
  }
});

// ---- start --------------------------------------------------------------------------------------------
const status = byId<HTMLElement>('kernels');
worker.kernelInfo().then(
  (info) => { status.textContent = `wasm kernels ready (${info.simd ? 'SIMD' : 'scalar'})`; status.dataset.state = 'ready'; },
  (err: Error) => { status.textContent = `wasm kernels failed to load: ${err.message}`; status.dataset.state = 'error'; },
);

const rendererChoice = new URLSearchParams(location.search).get('renderer');
const preference = rendererChoice === 'canvas' || rendererChoice === 'webgpu' ? rendererChoice : 'webgl';
await imageView.init(preference);
await compareView.init(preference);
viewer.dataset.renderer = imageView.app.renderer.name;
for (const view of [imageView, compareView]) {
  view.app.canvas.addEventListener('pointermove', (e) => {
    if (!view.opened) return;
    readoutPending = { pixel: view.pixelAt(e.offsetX, e.offsetY), at: [e.offsetX, e.offsetY] };
    void updateReadout();
  });
}
if (state.url) await openImage({ url: state.url }, state.url, state);
else if (await repositoryApi.available()) await startBrowser();

