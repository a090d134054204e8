/**
 * The measurement library's own errors as the executor's AlgorithmError (the inputs were fine, the
 * algorithm could not go on: no usable pixel for a background, no stars for a PSF, too many cosmic-ray
 * pixels), so a quantum on an all-NaN, saturated or empty detector fails with the library's message
 * instead of as an unexpected error. Anything else is rethrown.
 */
import { AlgorithmError } from '../pipeline/errors.js';
import { BackgroundError } from '../measure/background.js';
import { DetectionError } from '../measure/detection.js';
import { CosmicRayError } from '../measure/cosmicRays.js';
import { PsfDeterminerError } from '../measure/psfDeterminer.js';
import { StarSelectionError } from '../measure/starSelector.js';

const LIBRARY_ERRORS = [BackgroundError, DetectionError, CosmicRayError, PsfDeterminerError, StarSelectionError];

/** Runs `work`, turning a library error into an AlgorithmError of `task` (with `metadata`). */
export function algorithmErrorFrom<T>(task: string, work: () => T, metadata: Readonly<Record<string, number | string | boolean>> = {}): T {
  try {
    return work();
  } catch (err) {
    if (LIBRARY_ERRORS.some((E) => err instanceof E)) throw new AlgorithmError(task, (err as Error).message, metadata);
    throw err;
  }
}
