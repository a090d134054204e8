/**
 * Astrometric calibration (LSST AstrometryTask: pattern matcher + TAN-SIP fit) as pure functions:
 * solveAstrometry for a detector, and its parts. See astrometry.ts for the defaults and their reasons.
 */
export {
  solveAstrometry, referenceSearchCircle, ASTROMETRY_DEFAULTS,
  type AstrometryConfig, type AstrometryInput, type AstrometryMatch, type AstrometryReferences, type AstrometryResult,
  type AstrometrySources, type AstrometryStatus, type PatternSolution,
} from './astrometry.js';
export {
  fitTanSipWcs, fitSipInverse, usableOrder, TAN_SIP_FIT_DEFAULTS,
  type TanSipFit, type TanSipFitConfig, type TanSipFitFailure, type TanSipFitInput,
} from './fitTanSip.js';
export { fitAffineWcs, type AffineWcsFit, type AffineWcsFitInput } from './fitAffineWcs.js';
export { matchPatterns, sigmaClipUpper, type PatternMatchConfig, type PatternMatchResult, type PatternMatchFound, type PatternMatchFailed, type PlanePoints } from './matchPatterns.js';
export { matchOneToOne, type PlaneMatch } from './matchOneToOne.js';
export { PointGrid } from './pointGrid.js';
export { applySimilarity, fitSimilarity, similarityRotationDeg, similarityScale, type Similarity } from './similarity.js';
export { TangentPlane } from './tangentPlane.js';
export { tanSipHeader, wcsThroughFits, replaceWcsCards, type TanSipParameters } from './tanSipHeader.js';
