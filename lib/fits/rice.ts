/**
 * Rice decompression of one tile (ZCMPTYPE = 'RICE_1' / 'RICE_ONE'), bit-exact with cfitsio's
 * fits_rdecomp, fits_rdecomp_short and fits_rdecomp_byte (ricecomp.c; R. White's algorithm as
 * specified by the FITS tiled image compression convention, Pence et al. 2009, §4 and the FITS
 * registry). The stream starts with the first pixel verbatim (BYTEPIX bytes, big-endian); then, per
 * block of BLOCKSIZE pixels, an FS code of 3/4/5 bits (8/16/32-bit pixels): FS = -1 means all
 * differences are zero, FS = FSMAX means each difference is stored raw, otherwise each mapped
 * difference is a unary high part plus FS low bits. Differences are zig-zag mapped.
 */

export class RiceError extends Error {}

/** fsbits / fsmax / bits per pixel, by BYTEPIX. */
const PARAMS: Record<1 | 2 | 4, { fsbits: number; fsmax: number; bbits: number }> = {
  1: { fsbits: 3, fsmax: 6, bbits: 8 },
  2: { fsbits: 4, fsmax: 14, bbits: 16 },
  4: { fsbits: 5, fsmax: 25, bbits: 32 },
};

/**
 * Decodes `npix` pixels from `input` into `out[0..npix)`. Pixels come out as cfitsio's tile data
 * types: BYTEPIX 1 unsigned bytes (0..255), BYTEPIX 2 signed 16-bit, BYTEPIX 4 signed 32-bit.
 * Throws RiceError when the stream is too short or malformed; never reads past `input`.
 */
export function riceDecompress(input: Uint8Array, bytepix: number, blocksize: number, npix: number, out: Int32Array): void {
  if (bytepix !== 1 && bytepix !== 2 && bytepix !== 4) throw new RiceError(`Rice BYTEPIX = ${bytepix} is not supported (1, 2 or 4)`);
  if (!Number.isSafeInteger(blocksize) || blocksize < 1) throw new RiceError(`Rice BLOCKSIZE = ${blocksize} is not a positive integer`);
  if (out.length < npix) throw new RiceError(`output buffer holds ${out.length} pixels, need ${npix}`);
  if (npix === 0) return;
  const { fsbits, fsmax, bbits } = PARAMS[bytepix];
  const clen = input.length;
  if (clen < bytepix + 1) throw new RiceError(`compressed tile of ${clen} bytes is too short`);
  const c = input;
  // First pixel value, uncompressed, big-endian; `lastpix` is kept as an unsigned bbits-bit pattern.
  let lastpix = 0;
  for (let k = 0; k < bytepix; k++) lastpix = (lastpix << 8) | c[k]!;
  const mask = bbits === 32 ? -1 : (1 << bbits) - 1;
  lastpix &= mask;
  let p = bytepix;
  let b = c[p++]!; // bit buffer
  let nbits = 8; // bits remaining in b
  let i = 0;
  while (i < npix) {
    // FS code of the next block.
    nbits -= fsbits;
    while (nbits < 0) {
      if (p >= clen) throw new RiceError('compressed stream ends inside a block header');
      b = (b << 8) | c[p++]!;
      nbits += 8;
    }
    const fs = (b >>> nbits) - 1;
    b &= (1 << nbits) - 1;
    let imax = i + blocksize;
    if (imax > npix) imax = npix;
    if (fs < 0) {
      // Low entropy: every difference is zero.
      const v = signed(lastpix, bytepix);
      for (; i < imax; i++) out[i] = v;
    } else if (fs === fsmax) {
      // High entropy: mapped differences stored in bbits bits each.
      for (; i < imax; i++) {
        let k = bbits - nbits;
        let diff = k >= 32 ? 0 : b << k;
        for (k -= 8; k >= 0; k -= 8) {
          if (p >= clen) throw new RiceError('compressed stream ends inside a raw block');
          b = c[p++]!;
          diff |= b << k;
        }
        if (nbits > 0) {
          if (p >= clen) throw new RiceError('compressed stream ends inside a raw block');
          b = c[p++]!;
          diff |= b >>> -k;
          b &= (1 << nbits) - 1;
        } else {
          b = 0;
        }
        // Undo the zig-zag mapping and the differencing.
        const d = (diff & 1) === 0 ? diff >>> 1 : ~(diff >>> 1);
        lastpix = (d + lastpix) & mask;
        out[i] = signed(lastpix, bytepix);
      }
    } else {
      // Normal case: unary-coded high bits, then fs low bits.
      for (; i < imax; i++) {
        while (b === 0) {
          if (p >= clen) throw new RiceError('compressed stream ends inside a run of zero bits');
          nbits += 8;
          b = c[p++]!;
        }
        const nzero = nbits - (32 - Math.clz32(b));
        nbits -= nzero + 1;
        b ^= 1 << nbits; // drop the leading one-bit
        nbits -= fs;
        while (nbits < 0) {
          if (p >= clen) throw new RiceError('compressed stream ends inside a coded pixel');
          b = (b << 8) | c[p++]!;
          nbits += 8;
        }
        const diff = ((nzero << fs) | (b >>> nbits)) >>> 0;
        b &= (1 << nbits) - 1;
        const d = (diff & 1) === 0 ? diff >>> 1 : ~(diff >>> 1);
        lastpix = (d + lastpix) & mask;
        out[i] = signed(lastpix, bytepix);
      }
    }
  }
}

/** The bbits-bit pattern as cfitsio's tile type: unsigned char, signed short or signed int. */
function signed(v: number, bytepix: number): number {
  if (bytepix === 4) return v | 0;
  if (bytepix === 2) return (v << 16) >> 16;
  return v;
}
