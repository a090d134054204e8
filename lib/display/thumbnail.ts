/**
 * A thumbnail of an image as PNG bytes: the whole image in at most `size` x `size` pixels (the viewer's
 * pyramid level that fits: the means of the finite pixels of 2^L x 2^L blocks), grey through the asinh
 * stretch between zscale limits of the full-resolution pixels (the viewer's defaults, so a thumbnail
 * looks like the image it opens), row 0 at the bottom as the viewer shows it; NaN pixels black.
 */
import type { Tessera } from '../wasm/loader.js';
import { encodePng } from '../image/png.js';
import { DisplayImage } from './displayImage.js';

export function thumbnailPng(tessera: Tessera, image: { width: number; height: number; image: Float32Array }, size: number): Uint8Array {
  if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`thumbnail size ${size} must be a positive integer`);
  const display = new DisplayImage(tessera, image.width, image.height, image.image);
  try {
    const level = display.levelsToFit(size);
    const { width, height } = display.levelSize(level);
    const [lo, hi] = display.limits({ kind: 'zscale' });
    const tile = display.renderTile(level, 0, 0, width, height, { kind: 'asinh', colormap: 'grey', lo, hi });
    // NaN pixels come out transparent black: opaque black in the thumbnail. Rows flipped: PNG rows go top down.
    const rgba = new Uint8Array(tile.rgba.length), row = 4 * width;
    for (let y = 0; y < height; y++) rgba.set(tile.rgba.subarray((height - 1 - y) * row, (height - y) * row), y * row);
    for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
    return encodePng(rgba, width, height, { Software: 'Tessera' });
  } finally {
    display.dispose();
  }
}
