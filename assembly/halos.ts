// Kernels of the halo search that keeps the light of bright sources beyond their footprints out of the
// background (lib/measure/halos.ts).
//
// blockSums: per block of `block` x `block` pixels (the last row and column of blocks clipped to the
//   image), the sum of the image, the sum of the variance and the number of good pixels: finite image
//   and variance values and none of `skipBits` in the i32 mask word. Output 3 f64 per block at out + 24 x (j x nbx + i),
//   nbx = ceil(width / block), row-major. Units: the image's and its variance's. Arithmetic: f64, in
//   raster order within each block row, so every build gives the same bits.
//
// orBlockMask: ORs `bits` into the i32 mask word of every pixel of each block flagged non-zero in `flags`
//   (nbx x nby u8, row-major, blocks of `block` x `block` pixels, the last row and column clipped to the
//   image): the halos, which the background statistics leave out (lib/measure/background.ts).
import { OK, BAD_ARGUMENT } from './status';
import { assertInMemory } from './planes';

export function blockSums(image: usize, mask: usize, variance: usize, width: i32, height: i32, block: i32, skipBits: i32, out: usize): i32 {
  if (width <= 0 || height <= 0 || block <= 0) return BAD_ARGUMENT;
  const n = <usize>width * <usize>height;
  assertInMemory(image, n << 2);
  assertInMemory(mask, n << 2);
  assertInMemory(variance, n << 2);
  const nbx = (width + block - 1) / block;
  const nby = (height + block - 1) / block;
  assertInMemory(out, <usize>nbx * <usize>nby * 24);
  memory.fill(out, 0, <usize>nbx * <usize>nby * 24);
  for (let y = 0; y < height; y++) {
    const rowBlocks = out + <usize>(y / block) * <usize>nbx * 24;
    const row = <usize>y * <usize>width;
    for (let bx = 0; bx < nbx; bx++) {
      const x0 = bx * block;
      const x1 = min(x0 + block, width);
      let s: f64 = 0, v: f64 = 0, c: f64 = 0;
      for (let x = x0; x < x1; x++) {
        const p = (row + <usize>x) << 2;
        const value = load<f32>(image + p);
        const w = load<f32>(variance + p);
        if (!(value - value == 0) || !(w - w == 0) || (load<i32>(mask + p) & skipBits) != 0) continue;
        s += <f64>value;
        v += <f64>w;
        c += 1;
      }
      const o = rowBlocks + <usize>bx * 24;
      store<f64>(o, load<f64>(o) + s);
      store<f64>(o + 8, load<f64>(o + 8) + v);
      store<f64>(o + 16, load<f64>(o + 16) + c);
    }
  }
  return OK;
}

export function orBlockMask(mask: usize, width: i32, height: i32, block: i32, nbx: i32, nby: i32, flags: usize, bits: i32): i32 {
  if (width <= 0 || height <= 0 || block <= 0 || nbx != (width + block - 1) / block || nby != (height + block - 1) / block) return BAD_ARGUMENT;
  assertInMemory(mask, (<usize>width * <usize>height) << 2);
  assertInMemory(flags, <usize>nbx * <usize>nby);
  for (let by = 0; by < nby; by++) {
    const y1 = min((by + 1) * block, height);
    for (let bx = 0; bx < nbx; bx++) {
      if (load<u8>(flags + <usize>(by * nbx + bx)) == 0) continue;
      const x0 = bx * block, x1 = min(x0 + block, width);
      for (let y = by * block; y < y1; y++) {
        const row = mask + ((<usize>y * <usize>width) << 2);
        let x = x0;
        if (ASC_FEATURE_SIMD) {
          const set = i32x4.splat(bits);
          for (; x + 4 <= x1; x += 4) {
            const p = row + (<usize>x << 2);
            v128.store(p, v128.or(v128.load(p), set));
          }
        }
        for (; x < x1; x++) {
          const p = row + (<usize>x << 2);
          store<i32>(p, load<i32>(p) | bits);
        }
      }
    }
  }
  return OK;
}
