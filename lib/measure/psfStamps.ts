/**
 * PSF-model stamps made in wasm memory, for measurement's PSF fluxes: a PsfexModel's stamp at a source,
 * computed by the kernel the PSF fit uses (assembly/psfFit.ts psfModelOnStamp: the sample grid
 * sum_t c_t(x, y) basis_t, then Lanczos taps along x and along y), scaled to unit sum and written as f32
 * into a plane the psfFluxes kernel reads. The same sums in the same order as PsfexModel.stampAt (the
 * taps from lib/measure/lanczos.ts, the unit sum in f64 then rounded), so the same stamps bit for bit,
 * without a JavaScript stamp per source. Models of other kinds (a Gaussian, a coadd's CoaddPsf) and
 * sample grids that are not square have no wasm form here: `create` gives undefined for them.
 */
import { checkStatus } from '../wasm/kernels.js';
import type { Tessera } from '../wasm/loader.js';
import { lanczosAxisTaps } from './lanczos.js';
import type { PsfLike } from './psf.js';
import { PsfexModel, unitSum } from './psfModel.js';

export class WasmPsfStamps {
  private readonly taps: number;
  // Pointers into wasm memory (allocated in the caller's planes scope).
  private readonly basis: number;
  private readonly terms: number;
  private readonly geometry: number;
  private readonly samples: number;
  private readonly rows: number;
  private readonly out: number;
  // Views, made at the first stamp (after the caller's last allocation: growth detaches views).
  private views: { terms: Float64Array; first: Int32Array; weights: Float64Array; out: Float64Array } | undefined;

  /** A stamp maker of `size` px for `psf`, its buffers allocated in the current planes scope; undefined when `psf` has no wasm form. */
  static create(tessera: Tessera, psf: PsfLike, size: number): WasmPsfStamps | undefined {
    if (!(psf instanceof PsfexModel) || psf.width !== psf.height) return undefined;
    return new WasmPsfStamps(tessera, psf, size);
  }

  private constructor(private readonly tessera: Tessera, private readonly psf: PsfexModel, readonly size: number) {
    const { planes } = tessera;
    const G = psf.width, P = size;
    this.taps = 2 * psf.interpolationOrder;
    this.basis = planes.allocFrom(psf.basis);
    this.terms = planes.alloc(8 * psf.nterms);
    this.geometry = planes.alloc(8 * P + 16 * P * this.taps);
    this.samples = planes.alloc(8 * G * G);
    this.rows = planes.alloc(8 * G * P);
    this.out = planes.alloc(8 * P * P);
  }

  /**
   * The PSF at (x, y) on the size x size stamp whose pixel (i, j) is image pixel (x0 + i, y0 + j),
   * x0 = round(x) - floor(size / 2) (PsfexModel.stampAt's), at unit sum, into `stamp` (size^2 f32, a view
   * of wasm memory or not); returns [x0, y0].
   */
  stampInto(x: number, y: number, stamp: Float32Array): [number, number] {
    const { psf, size: P, taps } = this;
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new RangeError(`PSF stamp position (${x}, ${y}) must be finite`);
    const { planes, kernels } = this.tessera;
    this.views ??= {
      terms: planes.f64(this.terms, psf.nterms), first: planes.i32(this.geometry, 2 * P),
      weights: planes.f64(this.geometry + 8 * P, 2 * P * taps), out: planes.f64(this.out, P * P),
    };
    const v = this.views;
    const half = P >> 1;
    const x0 = Math.round(x) - half, y0 = Math.round(y) - half;
    psf.termsAt(x, y, v.terms);
    // The taps of pixel i along x at (x0 - x + i) px from the centre, in sample steps from the grid's middle.
    const c = Math.floor(psf.width / 2);
    lanczosAxisTaps(c, x0 - x, psf.sampling, psf.interpolationOrder, P, v.first, v.weights);
    lanczosAxisTaps(c, y0 - y, psf.sampling, psf.interpolationOrder, P, v.first, v.weights, P);
    checkStatus('psfModelOnStamp', kernels.psfModelOnStamp(this.basis, this.terms, psf.nterms, psf.width, P, taps, this.geometry, this.samples, this.rows, this.out));
    unitSum(v.out, P * P, x, y, stamp);
    return [x0, y0];
  }
}
