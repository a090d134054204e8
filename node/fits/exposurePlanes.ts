/**
 * Chosen planes of an afw Exposure file (IMAGE, MASK, VARIANCE by EXTNAME), read lazily: only the header
 * blocks and those planes' bytes (or, given a region, its rows) come off the disk, through the deferred
 * Exposure reader tasks use (lib/fits/deferredExposure.ts). `tessera color-image` reads each coadd's
 * image rows it shows with it; tests that scan every warp of the demo repository (90 direct and 90
 * PSF-matched warps of 53 MB each decoded, tile-compressed on disk) read one patch's planes at a time
 * with it, instead of holding 9 GB of decoded exposures. Compressed planes inflate with Node's zlib.
 */
import { syncFileSource } from './fileSource.js';
import { zlibCodec } from './zlibCodec.js';
import { openFitsSync } from '../../lib/fits/file.js';
import { deferredExposureFile } from '../../lib/fits/deferredExposure.js';
import type { FitsHeader } from '../../lib/fits/header.js';
import type { Rect } from '../../lib/fits/image.js';

export interface ExposurePlanes {
  width: number;
  height: number;
  x0: number;
  y0: number;
  metadata: FitsHeader;
  /** The IMAGE HDU's header (the WCS). */
  wcsHeader: FitsHeader;
  /** The planes read: the whole box, or the region's pixels (row-major, region.width wide). */
  image?: Float32Array;
  mask?: Int32Array;
  /** Mask plane bits by name (when MASK was read). */
  maskPlanes?: Record<string, number>;
  variance?: Float32Array;
}

/** `planes` of the Exposure at `path`: the whole box, or only `region` (parent-frame pixels, inside the box). */
export async function readExposurePlanes(path: string, planes: readonly ('IMAGE' | 'MASK' | 'VARIANCE')[], region?: Rect): Promise<ExposurePlanes> {
  const file = openFitsSync(syncFileSource(path), { codec: zlibCodec });
  try {
    const e = deferredExposureFile(file);
    return {
      width: e.width, height: e.height, x0: e.x0, y0: e.y0, metadata: e.metadata, wcsHeader: e.wcsHeader,
      ...e.read(planes, region), ...(planes.includes('MASK') ? { maskPlanes: { ...e.maskPlanes } } : {}),
    };
  } finally {
    file.close();
  }
}
