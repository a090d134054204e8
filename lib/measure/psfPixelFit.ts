/**
 * The pixel-basis fit of the PSF determiner (lib/measure/psfDeterminer.ts; PSFEx's psf_make and
 * psf_refine, psfex/src/psf.c), on stars whose stamps live in wasm memory, with its kernels in
 * assembly/psfFit.ts:
 *
 *  - each star's padded stamp (P = K + 2a pixels a side, a the Lanczos order) is resampled onto the
 *    model's G x G sample grid centred on the star (sample (p, q) at image position
 *    (x + (p - c) s, y + (q - c) s), c = floor(G / 2), s the sampling) and divided by its amplitude;
 *  - every sample's polynomial coefficients are an independent weighted linear least-squares fit over the
 *    stars, weights amplitude^2 / (variance + (psfAccuracy x value)^2) (the variance of the sample's
 *    nearest pixel; resampling's correlations are ignored, as in PSFEx);
 *  - `refineIterations` passes then fit the residual of the forward model (the model interpolated onto
 *    each star's pixels at its sub-pixel centre, times its amplitude, minus the data), resampled the same
 *    way with the same weights, and add it; between passes each star's amplitude is the weighted linear
 *    fit of the model to its K x K kernel stamp, with its reduced chi^2 there.
 *
 * `PsfFitWorkspace` holds every star's planes and the fit's scratch in one scope of wasm memory; views are
 * made once, after its last allocation (nothing else allocates in wasm while it lives). Units: image units;
 * the grid values and the model are per unit amplitude.
 */
import { checkStatus } from '../wasm/kernels.js';
import type { Tessera } from '../wasm/loader.js';
import { lanczosAxisTaps, lanczosTaps } from './lanczos.js';
import { polynomialTermCount } from './psfModel.js';

/** The fit's geometry and settings (from the determiner's configuration). */
export interface PixelFitGeometry {
  /** Kernel stamp size (odd), padding (the Lanczos order) and padded size P = K + 2 pad, image pixels. */
  K: number;
  pad: number;
  P: number;
  /** Samples per side of the grid (odd) and image pixels per sample. */
  G: number;
  sampling: number;
  lanczosOrder: number;
  psfAccuracy: number;
  refineIterations: number;
}

/** A star of the fit: its position, padded-stamp origin and fitted amplitude, and its planes in wasm memory. */
export interface FitStar {
  /** Sub-pixel centre (0-based pixels) and the padded stamp's origin. */
  x: number;
  y: number;
  sx0: number;
  sy0: number;
  amplitude: number;
  /** Reduced chi^2 on the kernel stamp and its degrees of freedom. */
  chi2: number;
  dof: number;
  /** Padded stamp planes (P x P): data, variance (0 where not good), good (0/1), and the last model there (per unit amplitude). */
  data: Float64Array;
  variance: Float64Array;
  good: Uint8Array;
  model: Float64Array;
  /** The position-polynomial terms of the current fit (the first nterms values are used). */
  terms: Float64Array;
  /** The slot's index in the workspace. */
  slot: number;
  /** Whether the data's sample grid has been computed (it serves every fit of the star). */
  gridDone: boolean;
}

// Per star slot, in f64 units from its start: data, variance, model (P^2 each), grid values, grid
// variance, targets, weights (G^2 each), terms (maxTerms), the grid geometry (xFirst, yFirst, xNearest,
// yNearest: 2G f64 of i32s; x and y weights: 2 G taps) and the stamp geometry (xFirst, yFirst: P f64 of
// i32s; weights 2 P taps); then the good bytes (P^2) and the grid's (G^2), padded to 16 bytes.
interface SlotLayout { data: number; variance: number; model: number; gridValues: number; gridVariance: number; target: number; weight: number;
  terms: number; gridGeometry: number; stampGeometry: number; good: number; gridGood: number; bytes: number }

function slotLayout(P: number, G: number, taps: number, maxTerms: number): SlotLayout {
  const P2 = P * P, n = G * G;
  let at = 0;
  const take = (f64s: number): number => { const o = at; at += 8 * f64s; return o; };
  const layout = {
    data: take(P2), variance: take(P2), model: take(P2), gridValues: take(n), gridVariance: take(n), target: take(n), weight: take(n),
    terms: take(maxTerms), gridGeometry: take(2 * G + 2 * G * taps), stampGeometry: take(P + 2 * P * taps),
  };
  const good = at, gridGood = at + P2;
  return { ...layout, good, gridGood, bytes: Math.ceil((gridGood + n) / 16) * 16 };
}

/** The most wasm memory a workspace may take (the default fit of 300 stars takes 16 MiB). */
const MAX_WORKSPACE_BYTES = 1024 * 2 ** 20;

/** Every star's planes and the fit's scratch, in one scope of wasm memory (see the module comment). */
export class PsfFitWorkspace {
  readonly geometry: PixelFitGeometry;
  readonly taps: number;
  readonly maxTerms: number;
  private readonly layout: SlotLayout;
  private readonly slots: number;
  private readonly scratch: Record<'rows' | 'rowsGood' | 'samples' | 'residual' | 'lower' | 'rhs' | 'count' | 'sums' | 'system' | 'basis' | 'delta' | 'table' | 'amplitude', number>;
  private used = 0;
  /** Views of the scratch the host reads and writes. */
  private readonly residualView: Float64Array;
  private readonly basisView: Float32Array;
  private readonly deltaView: Float32Array;
  private readonly tableView: Int32Array;
  private readonly amplitudeView: Float64Array;

  /** Allocates room for `capacity` stars; call inside the caller's `tessera.planes.scope`. */
  constructor(private readonly tessera: Tessera, geometry: PixelFitGeometry, maxOrder: number, capacity: number) {
    this.geometry = geometry;
    const { P, G } = geometry;
    this.taps = 2 * geometry.lanczosOrder;
    this.maxTerms = polynomialTermCount(maxOrder);
    this.layout = slotLayout(P, G, this.taps, this.maxTerms);
    const { planes } = tessera;
    const n = G * G, T = this.maxTerms;
    const bytes = this.layout.bytes * Math.max(capacity, 1) + 8 * n * ((T * (T + 1)) / 2 + 3 * T);
    if (bytes > MAX_WORKSPACE_BYTES) {
      throw new RangeError(`PSF fit: ${capacity} stars with ${geometry.K}x${geometry.K}-px stamps on a ${G}x${G} sample grid need ${(bytes / 2 ** 20).toFixed(0)} MiB `
        + `of wasm memory (at most ${MAX_WORKSPACE_BYTES / 2 ** 20} MiB): use a smaller kernelSize, a larger samplingSize or fewer stars`);
    }
    this.slots = planes.alloc(this.layout.bytes * Math.max(capacity, 1));
    this.scratch = {
      rows: planes.alloc(8 * P * G), rowsGood: planes.alloc(P * G), samples: planes.alloc(8 * n), residual: planes.alloc(8 * P * P),
      lower: planes.alloc(8 * n * ((T * (T + 1)) / 2)), rhs: planes.alloc(8 * n * T), count: planes.alloc(4 * n), sums: planes.alloc(16 * n),
      system: planes.alloc(8 * (T * T + T)), basis: planes.alloc(4 * n * T), delta: planes.alloc(4 * n * T), table: planes.alloc(16 * Math.max(capacity, 1)),
      amplitude: planes.alloc(24),
    };
    this.residualView = planes.f64(this.scratch.residual, P * P);
    this.basisView = planes.f32(this.scratch.basis, n * T);
    this.deltaView = planes.f32(this.scratch.delta, n * T);
    this.tableView = planes.i32(this.scratch.table, 4 * Math.max(capacity, 1));
    this.amplitudeView = planes.f64(this.scratch.amplitude, 3);
  }

  private ptr(slot: number, field: keyof Omit<SlotLayout, 'bytes'>): number {
    return this.slots + slot * this.layout.bytes + this.layout[field];
  }

  /**
   * A new star with empty (all 0) planes centred at (x, y), its padded stamp's origin at (sx0, sy0); the
   * caller fills data, variance and good. Its resampling taps are set here.
   */
  addStar(x: number, y: number, sx0: number, sy0: number): FitStar {
    const { planes } = this.tessera;
    const { P, G, sampling, lanczosOrder: a } = this.geometry;
    const taps = this.taps, slot = this.used++;
    planes.u8(this.ptr(slot, 'data'), this.layout.bytes).fill(0);
    const star: FitStar = {
      x, y, sx0, sy0, amplitude: NaN, chi2: NaN, dof: 0, slot, gridDone: false,
      data: planes.f64(this.ptr(slot, 'data'), P * P), variance: planes.f64(this.ptr(slot, 'variance'), P * P),
      good: planes.u8(this.ptr(slot, 'good'), P * P), model: planes.f64(this.ptr(slot, 'model'), P * P), terms: planes.f64(this.ptr(slot, 'terms'), this.maxTerms),
    };
    const scratch = new Float64Array(taps);
    // The sample grid's taps on the padded stamp, and each sample's nearest pixel.
    const c = Math.floor(G / 2);
    const gridAt = this.ptr(slot, 'gridGeometry');
    const gridInts = planes.i32(gridAt, 4 * G), gridWeights = planes.f64(gridAt + 16 * G, 2 * G * taps);
    for (let p = 0; p < G; p++) {
      gridInts[p] = lanczosTaps(x + (p - c) * sampling - sx0, a, scratch);
      gridWeights.set(scratch, p * taps);
      gridInts[G + p] = lanczosTaps(y + (p - c) * sampling - sy0, a, scratch);
      gridWeights.set(scratch, (G + p) * taps);
      gridInts[2 * G + p] = Math.round(x + (p - c) * sampling) - sx0;
      gridInts[3 * G + p] = Math.round(y + (p - c) * sampling) - sy0;
    }
    // The model's taps at the stamp's pixels: pixel (i, j) lies (sx0 - x + i, sy0 - y + j) from the centre.
    const stampAt = this.ptr(slot, 'stampGeometry');
    const stampInts = planes.i32(stampAt, 2 * P), stampWeights = planes.f64(stampAt + 8 * P, 2 * P * taps);
    lanczosAxisTaps(c, sx0 - x, sampling, a, P, stampInts, stampWeights);
    lanczosAxisTaps(c, sy0 - y, sampling, a, P, stampInts, stampWeights, P);
    return star;
  }

  /** Frees the last star's slot (one the caller dropped before fitting). */
  removeLastStar(): void {
    this.used--;
  }

  /** The current basis (nterms x G^2 f32, term-major), a view into wasm memory. */
  basis(nterms: number): Float32Array {
    return this.basisView.subarray(0, nterms * this.geometry.G * this.geometry.G);
  }

  /** Resamples the star's data onto its sample grid (values, good map, nearest-pixel variance), once. */
  dataGrid(star: FitStar): void {
    if (star.gridDone) return;
    const { P, G } = this.geometry;
    const s = star.slot;
    checkStatus('psfSampleGrid', this.tessera.kernels.psfSampleGrid(this.ptr(s, 'data'), this.ptr(s, 'good'), this.ptr(s, 'variance'), P, G, this.taps,
      this.ptr(s, 'gridGeometry'), this.scratch.rows, this.scratch.rowsGood, this.ptr(s, 'gridValues'), this.ptr(s, 'gridGood'), this.ptr(s, 'gridVariance')));
    star.gridDone = true;
  }

  /** The star's fit targets and weights from its data grid (see the module comment). */
  setDataTargets(star: FitStar): void {
    const { planes } = this.tessera;
    const n = this.geometry.G ** 2, s = star.slot;
    const values = planes.f64(this.ptr(s, 'gridValues'), n), variance = planes.f64(this.ptr(s, 'gridVariance'), n);
    const target = planes.f64(this.ptr(s, 'target'), n), weight = planes.f64(this.ptr(s, 'weight'), n);
    const A = star.amplitude, accuracy = this.geometry.psfAccuracy;
    for (let i = 0; i < n; i++) {
      const acc = accuracy * Math.max(values[i]!, 0);
      weight[i] = (A * A) / (variance[i]! + acc * acc);
      target[i] = values[i]! / A;
    }
  }

  /** The star's fit targets from the residual of its model (weights kept): (data - A model) / A resampled onto its grid. */
  setResidualTargets(star: FitStar): void {
    const { P, G } = this.geometry;
    const residual = this.residualView, A = star.amplitude, s = star.slot;
    for (let k = 0; k < P * P; k++) residual[k] = (star.data[k]! - A * star.model[k]!) / A;
    checkStatus('psfSampleGrid', this.tessera.kernels.psfSampleGrid(this.scratch.residual, this.ptr(s, 'good'), 0, P, G, this.taps,
      this.ptr(s, 'gridGeometry'), this.scratch.rows, this.scratch.rowsGood, this.ptr(s, 'target'), 0, 0));
  }

  /** Fits every sample's polynomial to the stars' targets, into the basis (`into` 'basis') or the delta buffer. */
  solve(stars: readonly FitStar[], nterms: number, into: 'basis' | 'delta'): void {
    const n = this.geometry.G ** 2;
    stars.forEach((star, k) => {
      const s = star.slot;
      this.tableView.set([this.ptr(s, 'target'), this.ptr(s, 'gridGood'), this.ptr(s, 'weight'), this.ptr(s, 'terms')], 4 * k);
    });
    const { table, lower, rhs, count, sums, system } = this.scratch;
    checkStatus('psfSolveSamples', this.tessera.kernels.psfSolveSamples(table, stars.length, n, nterms, lower, rhs, count, sums, system, this.scratch[into]));
  }

  /** basis += delta over nterms x G^2 values (f32). */
  addDelta(nterms: number): void {
    const m = nterms * this.geometry.G ** 2;
    for (let i = 0; i < m; i++) this.basisView[i]! += this.deltaView[i]!;
  }

  /** The current basis's (linear, unnormalised) model on the star's padded stamp, into star.model. */
  modelOnStamp(star: FitStar, nterms: number): void {
    const { P, G } = this.geometry;
    const s = star.slot;
    checkStatus('psfModelOnStamp', this.tessera.kernels.psfModelOnStamp(this.scratch.basis, this.ptr(s, 'terms'), nterms, G, P, this.taps,
      this.ptr(s, 'stampGeometry'), this.scratch.samples, this.scratch.rows, this.ptr(s, 'model')));
  }

  /** Refits the star's amplitude to star.model and sets its reduced chi^2 on the kernel stamp. */
  fitAmplitude(star: FitStar): void {
    const { P, pad, K, psfAccuracy } = this.geometry;
    const s = star.slot;
    checkStatus('psfStarAmplitude', this.tessera.kernels.psfStarAmplitude(this.ptr(s, 'data'), this.ptr(s, 'variance'), this.ptr(s, 'good'), this.ptr(s, 'model'),
      P, pad, K, star.amplitude, psfAccuracy, this.scratch.amplitude));
    star.amplitude = this.amplitudeView[0]!;
    star.dof = Math.max(1, this.amplitudeView[2]! - 1);
    star.chi2 = this.amplitudeView[1]! / star.dof;
  }

  /**
   * A full fit of the stars' current terms (their first nterms): psf_make from the resampled data, then
   * refineIterations residual passes. Returns a copy of the basis (nterms x G^2 f32); the workspace keeps
   * it, and each star its model and amplitude.
   */
  fit(stars: readonly FitStar[], nterms: number): Float32Array {
    for (const star of stars) {
      this.dataGrid(star);
      this.setDataTargets(star);
    }
    this.solve(stars, nterms, 'basis');
    for (const star of stars) {
      this.modelOnStamp(star, nterms);
      this.fitAmplitude(star);
    }
    for (let pass = 0; pass < this.geometry.refineIterations; pass++) {
      for (const star of stars) this.setResidualTargets(star);
      this.solve(stars, nterms, 'delta');
      this.addDelta(nterms);
      for (const star of stars) {
        this.modelOnStamp(star, nterms);
        this.fitAmplitude(star);
      }
    }
    return this.basis(nterms).slice();
  }
}
