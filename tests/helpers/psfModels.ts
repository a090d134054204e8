/** PSF models for task and unit tests: position-independent (degree 0) PSFEx models, one sample per pixel. */
import { PsfexModel } from '../../lib/measure/psfModel.js';

/** The model whose kernel is `basis` (size x size, centred, any normalisation) everywhere. */
export function constantPsfModel(basis: Float32Array, size: number): PsfexModel {
  return new PsfexModel({ polNames: ['X_IMAGE', 'Y_IMAGE'], polZero: [1, 1], polScale: [1, 1], polDeg: 0, sampling: 1, width: size, height: size, basis });
}

/** A circular Gaussian of `sigma` pixels, sampled at pixel centres on a size x size grid (size odd). */
export function gaussianPsfModel(sigma: number, size: number): PsfexModel {
  const c = size >> 1, basis = new Float32Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) basis[y * size + x] = Math.exp(-((x - c) ** 2 + (y - c) ** 2) / (2 * sigma * sigma));
  return constantPsfModel(basis, size);
}
