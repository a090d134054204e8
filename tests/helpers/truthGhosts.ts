/**
 * What a simulator truth file (lib/sim/truthFiles.ts) says about its detector's place on the focal plane
 * (DETORIGX, DETORIGY, DETROT) and the ghosts rendered on it (its GHOSTS table), for the coadd tests.
 */
import type { FitsBytes, FitsHeader } from '../../lib/fits/index.js';
import { findColumn } from '../../lib/fits/bintable.js';
import type { Ghost } from '../../lib/sim/artifacts.js';
import type { DetectorPlacement } from '../../lib/sim/opticalModel.js';

/** The detector's placement on the focal plane, from the truth file's primary header. */
export function truthPlacement(header: FitsHeader): DetectorPlacement {
  return { originX: header.getNumber('DETORIGX')!, originY: header.getNumber('DETORIGY')!, rotationDeg: header.getNumber('DETROT')! };
}

/** The ghosts of the truth file's GHOSTS table (focal-plane pixels). */
export function truthGhosts(file: FitsBytes): Ghost[] {
  const table = file.readTable(file.indexOf('GHOSTS'));
  const column = (name: string): ArrayLike<number> => findColumn(table, name)!.values as ArrayLike<number>;
  return Array.from({ length: table.nrows }, (_, k) => ({
    starId: Number(column('star_id')[k]), x: Number(column('fp_x')[k]), y: Number(column('fp_y')[k]),
    radius: Number(column('radius')[k]), electrons: Number(column('electrons')[k]),
  }));
}
