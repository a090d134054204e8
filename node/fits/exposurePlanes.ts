/**
 * Chosen planes of an afw Exposure file (IMAGE, MASK, VARIANCE by EXTNAME), read lazily: only the header
 * blocks and those planes' bytes (or, given a region, its rows) come off the disk. `tessera color-image`
 * reads each coadd's image rows it shows with it; tests that scan every warp of the demo repository
 * (90 direct and 90 PSF-matched warps of 53 MB each) read one patch's planes at a time with it, instead
 * of holding 9 GB of decoded exposures.
 */
import { openFitsFile } from './fileSource.js';
import { maskPlanesFromHeader, xy0FromHeader } from '../../lib/fits/exposure.js';
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
  const file = await openFitsFile(path);
  try {
    const image = file.hdu(file.indexOf('IMAGE'));
    const out: ExposurePlanes = { width: image.shape[1]!, height: image.shape[0]!, ...xy0FromHeader(image.imageHeader, path, image.index), metadata: file.hdus[0]!.header, wcsHeader: image.imageHeader };
    if (region && (region.x0 < out.x0 || region.y0 < out.y0 || region.x0 + region.width > out.x0 + out.width || region.y0 + region.height > out.y0 + out.height)) {
      throw new Error(`${path}: the exposure's box (${out.x0}, ${out.y0}) ${out.width}x${out.height} does not hold the region (${region.x0}, ${region.y0}) ${region.width}x${region.height}`);
    }
    for (const plane of planes) {
      const index = file.indexOf(plane);
      const { data } = region
        ? await file.readImageSection(index, { x0: region.x0 - out.x0, y0: region.y0 - out.y0, width: region.width, height: region.height })
        : await file.readImage(index);
      if (plane === 'MASK') {
        out.mask = data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>);
        out.maskPlanes = maskPlanesFromHeader(file.hdu(index).imageHeader, path, index);
      } else out[plane === 'IMAGE' ? 'image' : 'variance'] = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    }
    return out;
  } finally {
    await file.close();
  }
}
