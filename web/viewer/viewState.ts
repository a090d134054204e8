/**
 * The view in the page's URL (#...), so a view is a link: which dataset (a repository dataset ID, or a
 * file URL), the centre (image pixels, 0-based), the zoom (screen pixels per image pixel), the stretch,
 * limits and colour map, the mask planes shown and their opacity, the catalogue drawn and its cut
 * (minimum PSF S/N, flagged rows hidden, primary only). Unknown or malformed values fall back
 * to the defaults, so an old or hand-edited link still opens.
 */
import { COLORMAPS, STRETCHES, type Colormap, type StretchKind } from '../../lib/display/stretch.js';
import { BACKGROUND_VIEWS, type BackgroundView } from '../../lib/display/backgroundViews.js';

export const LIMITS = ['zscale', 'minmax', '99.5', '99', '98', '95', '90'] as const;
export type LimitsChoice = (typeof LIMITS)[number];

export interface ViewState {
  dataset?: string;
  url?: string;
  x?: number;
  y?: number;
  zoom?: number;
  stretch: StretchKind;
  limits: LimitsChoice;
  colormap: Colormap;
  masks: string[];
  maskAlpha: number;
  /** The catalogue drawn over the image (a dataset type: src, deepCoadd_meas...), and its cut. */
  catalog?: string;
  /** A second dataset shown in step with the first (aligned by WCS), to blink against. */
  compare?: string;
  /** The background view (lib/display/backgroundViews.ts). */
  background: BackgroundView;
  /** A coadd shown as the i, r, g colour composite (Lupton asinh: stretch in nJy, Q). */
  rgb: boolean;
  luptonStretch: number;
  luptonQ: number;
  minSnr: number;
  hideFlagged: boolean;
  primaryOnly: boolean;
}

export const DEFAULT_STATE: ViewState = { stretch: 'asinh', limits: 'zscale', colormap: 'grey', masks: [], maskAlpha: 0.5, background: 'image', rgb: false, luptonStretch: 60, luptonQ: 8, minSnr: 5, hideFlagged: true, primaryOnly: true };

const pick = <T extends string>(value: string | null, allowed: readonly T[], fallback: T): T => (value !== null && (allowed as readonly string[]).includes(value) ? value as T : fallback);
const number = (value: string | null): number | undefined => {
  if (value === null || value.trim() === '') return undefined;
  const v = Number(value);
  return Number.isFinite(v) ? v : undefined;
};

export function parseViewState(hash: string): ViewState {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const zoom = number(p.get('zoom')), alpha = number(p.get('alpha'));
  const x = number(p.get('x')), y = number(p.get('y'));
  return {
    ...(p.get('dataset') ? { dataset: p.get('dataset')! } : {}),
    ...(p.get('url') ? { url: p.get('url')! } : {}),
    ...(x !== undefined ? { x } : {}), ...(y !== undefined ? { y } : {}),
    ...(zoom !== undefined && zoom > 0 ? { zoom } : {}),
    stretch: pick(p.get('stretch'), STRETCHES, DEFAULT_STATE.stretch),
    limits: pick(p.get('limits'), LIMITS, DEFAULT_STATE.limits),
    colormap: pick(p.get('cmap'), COLORMAPS, DEFAULT_STATE.colormap),
    masks: (p.get('masks') ?? '').split(',').map((s) => s.trim()).filter((s) => /^[A-Za-z0-9_]+$/.test(s)),
    maskAlpha: alpha !== undefined && alpha >= 0 && alpha <= 1 ? alpha : DEFAULT_STATE.maskAlpha,
    ...(/^[A-Za-z0-9_]+$/.test(p.get('cat') ?? '') ? { catalog: p.get('cat')! } : {}),
    ...(/^[0-9a-f-]{36}$/i.test(p.get('compare') ?? '') ? { compare: p.get('compare')! } : {}),
    background: pick(p.get('bg'), BACKGROUND_VIEWS, DEFAULT_STATE.background),
    rgb: p.get('rgb') === '1',
    luptonStretch: (number(p.get('lstretch')) ?? 0) > 0 ? number(p.get('lstretch'))! : DEFAULT_STATE.luptonStretch,
    luptonQ: (number(p.get('q')) ?? 0) > 0 ? number(p.get('q'))! : DEFAULT_STATE.luptonQ,
    minSnr: number(p.get('snr')) ?? DEFAULT_STATE.minSnr,
    hideFlagged: p.get('clean') === null ? DEFAULT_STATE.hideFlagged : p.get('clean') === '1',
    primaryOnly: p.get('primary') === null ? DEFAULT_STATE.primaryOnly : p.get('primary') === '1',
  };
}

export function formatViewState(state: ViewState): string {
  const p = new URLSearchParams();
  if (state.dataset) p.set('dataset', state.dataset);
  if (state.url) p.set('url', state.url);
  if (state.x !== undefined) p.set('x', state.x.toFixed(2));
  if (state.y !== undefined) p.set('y', state.y.toFixed(2));
  if (state.zoom !== undefined) p.set('zoom', String(+state.zoom.toPrecision(6)));
  p.set('stretch', state.stretch);
  p.set('limits', state.limits);
  p.set('cmap', state.colormap);
  if (state.masks.length) p.set('masks', state.masks.join(','));
  p.set('alpha', String(state.maskAlpha));
  if (state.background !== 'image') p.set('bg', state.background);
  if (state.compare) p.set('compare', state.compare);
  if (state.rgb) {
    p.set('rgb', '1');
    p.set('lstretch', String(state.luptonStretch));
    p.set('q', String(state.luptonQ));
  }
  if (state.catalog) {
    p.set('cat', state.catalog);
    p.set('snr', String(state.minSnr));
    p.set('clean', state.hideFlagged ? '1' : '0');
    p.set('primary', state.primaryOnly ? '1' : '0');
  }
  return `#${p.toString()}`;
}
