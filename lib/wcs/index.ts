/**
 * Celestial FITS World Coordinate Systems (Paper I/II, SIP, TPV): parse a header with `parseWcs`, then map
 * 0-based pixels to (RA, Dec) degrees and back. See wcs.ts for the conventions.
 */
export { parseWcs, Wcs, angularSeparation } from './wcs.js';
export type { ParseWcsOptions, DistortionKind, SkyArrays, PixelArrays } from './wcs.js';
export { WcsError } from './errors.js';
export type { ProjectionCode } from './projections.js';
export { SUPPORTED_PROJECTIONS } from './projections.js';
export type { MatrixConvention } from './linear.js';
export type { SipInverseSeed } from './sip.js';
