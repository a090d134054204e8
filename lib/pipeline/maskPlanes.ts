/**
 * The standard mask-plane dictionary every Tessera task writes: LSST plane names with fixed bit indices.
 * Bits 0-8 are afw's default dictionary in afw's order (afw@26.0.0 src/image/detail/MaskDict.cc): BAD,
 * SAT, INTRP, CR, EDGE, DETECTED, DETECTED_NEGATIVE, SUSPECT, NO_DATA. The pipeline planes follow in
 * DESIGN.md's order: CLIPPED, REJECTED, SENSOR_EDGE, INEXACT_PSF (CompareWarp coadd assembly), CROSSTALK
 * (ISR), STREAK (streak masking), which puts STREAK at bit 14 as the simulator's truth masks have it
 * (lib/sim/simulateExposure.ts TRUTH_MASK_PLANES), then GHOST (calibrate's predicted optical ghosts,
 * lib/measure/ghosts.ts; bit 15, the truth's GHOST). Files read from elsewhere may use other bit indices;
 * `maskTranslationTable` maps their planes onto these by name.
 */
export const MASK_PLANES = {
  BAD: 0,
  SAT: 1,
  INTRP: 2,
  CR: 3,
  EDGE: 4,
  DETECTED: 5,
  DETECTED_NEGATIVE: 6,
  SUSPECT: 7,
  NO_DATA: 8,
  CLIPPED: 9,
  REJECTED: 10,
  SENSOR_EDGE: 11,
  INEXACT_PSF: 12,
  CROSSTALK: 13,
  STREAK: 14,
  GHOST: 15,
} as const;

export type MaskPlaneName = keyof typeof MASK_PLANES;

export const MASK_PLANE_NAMES = Object.keys(MASK_PLANES) as MaskPlaneName[];

/** A fresh copy of the standard plane -> bit map (what Exposure.maskPlanes holds). */
export function standardMaskPlanes(): Record<string, number> {
  return { ...MASK_PLANES };
}

/** The mask value (OR of 1 << bit) of the named standard planes; throws RangeError on an unknown name. */
export function maskValue(...names: readonly string[]): number {
  let value = 0;
  for (const name of names) {
    if (!isMaskPlaneName(name)) throw new RangeError(`unknown mask plane '${name}' (known: ${MASK_PLANE_NAMES.join(', ')})`);
    value |= 1 << MASK_PLANES[name];
  }
  return value;
}

export function isMaskPlaneName(name: string): name is MaskPlaneName {
  return Object.prototype.hasOwnProperty.call(MASK_PLANES, name);
}

/**
 * A 32-entry table for the orMaskMapped kernel: entry b is the standard mask value of the plane that
 * `planes` (another file's name -> bit map) keeps at bit b, or 0 for bits it does not name or names a
 * plane the standard dictionary lacks (only the planes in `only`, when given).
 */
export function maskTranslationTable(planes: Readonly<Record<string, number>>, only?: readonly string[]): Int32Array {
  const table = new Int32Array(32);
  for (const [name, bit] of Object.entries(planes)) {
    if (!isMaskPlaneName(name) || !Number.isInteger(bit) || bit < 0 || bit > 31) continue;
    if (only && !only.includes(name)) continue;
    table[bit] = table[bit]! | (1 << MASK_PLANES[name]);
  }
  return table;
}
