/**
 * Chosen planes of an afw Exposure file (IMAGE, MASK, VARIANCE by EXTNAME), read lazily: only the header
 * blocks and those planes' bytes come off the disk. Tests that scan every warp of the demo repository
 * (90 direct and 90 PSF-matched warps of 53 MB each) read one patch's planes at a time with it, instead
 * of holding 9 GB of decoded exposures.
 */
import { openFitsFile } from '../../node/fits/fileSource.js';
import { maskPlanesFromHeader, xy0FromHeader } from '../../lib/fits/exposure.js';
import type { FitsHeader } from '../../lib/fits/header.js';

export interface ExposurePlanes {
  width: number;
  height: number;
  x0: number;
  y0: number;
  metadata: FitsHeader;
  /** The IMAGE HDU's header (the WCS). */
  wcsHeader: FitsHeader;
  image?: Float32Array;
  mask?: Int32Array;
  /** Mask plane bits by name (when MASK was read). */
  maskPlanes?: Record<string, number>;
  variance?: Float32Array;
}

export async function readExposurePlanes(path: string, planes: readonly ('IMAGE' | 'MASK' | 'VARIANCE')[]): Promise<ExposurePlanes> {
  const file = await openFitsFile(path);
  try {
    const image = file.hdu(file.indexOf('IMAGE'));
    const out: ExposurePlanes = { width: image.shape[1]!, height: image.shape[0]!, ...xy0FromHeader(image.imageHeader, path, image.index), metadata: file.hdus[0]!.header, wcsHeader: image.imageHeader };
    for (const plane of planes) {
      const index = file.indexOf(plane);
      const data = (await file.readImage(index)).data;
      if (plane === 'MASK') {
        out.mask = data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>);
        out.maskPlanes = maskPlanesFromHeader(file.hdu(index).imageHeader, path, index);
      }
      else out[plane === 'IMAGE' ? 'image' : 'variance'] = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    }
    return out;
  } finally {
    await file.close();
  }
}
