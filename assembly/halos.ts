// Kernels of the halo search that keeps the light of bright sources beyond their footprints out of the
// background (lib/measure/halos.ts).
//
// blockSums: per block of `block` x `block` pixels (the last row and column of blocks clipped to the
//   image), the sum of the image, the sum of the variance and the number of good pixels: finite image
//   and variance values and none of `skipBits` in the i32 mask word. Output 3 f64 per block at out + 24 x (j x nbx + i),
//   nbx = ceil(width / block), row-major. Units: the image's and its variance's. Arithmetic: f64; within
//   each block row, pixel x0 + 4q + j goes to lane j of four partial sums (the row's last (x1 - x0) mod 4
//   pixels continuing their lanes), combined as (l0 + l1) + (l2 + l3) and added to the block's sums, block
//   rows in order: the SIMD build (four pixels a step) and the scalar one take the same steps, the same bits.
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
      let s0: f64 = 0, s1: f64 = 0, s2: f64 = 0, s3: f64 = 0;
      let v0: f64 = 0, v1: f64 = 0, v2: f64 = 0, v3: f64 = 0;
      let c: i32 = 0;
      let x = x0;
      const groupsEnd = x0 + ((x1 - x0) & ~3);
      if (ASC_FEATURE_SIMD) {
        const zero = f32x4.splat(0), bits = i32x4.splat(skipBits), none = i32x4.splat(0);
        let sLo = f64x2.splat(0), sHi = f64x2.splat(0), vLo = f64x2.splat(0), vHi = f64x2.splat(0), count = i32x4.splat(0);
        for (; x < groupsEnd; x += 4) {
          const p = (row + <usize>x) << 2;
          const value = v128.load(image + p), w = v128.load(variance + p);
          // Finite: v - v is 0 (NaN for NaN and infinities); a left-out lane adds +0, which changes no sum.
          const good = v128.and(v128.and(f32x4.eq(f32x4.sub(value, value), zero), f32x4.eq(f32x4.sub(w, w), zero)),
            i32x4.eq(v128.and(v128.load(mask + p), bits), none));
          const kv = v128.and(value, good), kw = v128.and(w, good);
          sLo = f64x2.add(sLo, f64x2.promote_low_f32x4(kv));
          sHi = f64x2.add(sHi, f64x2.promote_low_f32x4(i32x4.shuffle(kv, kv, 2, 3, 0, 1)));
          vLo = f64x2.add(vLo, f64x2.promote_low_f32x4(kw));
          vHi = f64x2.add(vHi, f64x2.promote_low_f32x4(i32x4.shuffle(kw, kw, 2, 3, 0, 1)));
          count = i32x4.sub(count, good);
        }
        s0 = f64x2.extract_lane(sLo, 0); s1 = f64x2.extract_lane(sLo, 1);
        s2 = f64x2.extract_lane(sHi, 0); s3 = f64x2.extract_lane(sHi, 1);
        v0 = f64x2.extract_lane(vLo, 0); v1 = f64x2.extract_lane(vLo, 1);
        v2 = f64x2.extract_lane(vHi, 0); v3 = f64x2.extract_lane(vHi, 1);
        c = i32x4.extract_lane(count, 0) + i32x4.extract_lane(count, 1) + i32x4.extract_lane(count, 2) + i32x4.extract_lane(count, 3);
      } else {
        for (; x < groupsEnd; x += 4) {
          for (let j = 0; j < 4; j++) {
            const p = (row + <usize>(x + j)) << 2;
            const value = load<f32>(image + p), w = load<f32>(variance + p);
            if (!(value - value == 0) || !(w - w == 0) || (load<i32>(mask + p) & skipBits) != 0) continue;
            if (j == 0) { s0 += <f64>value; v0 += <f64>w; } else if (j == 1) { s1 += <f64>value; v1 += <f64>w; }
            else if (j == 2) { s2 += <f64>value; v2 += <f64>w; } else { s3 += <f64>value; v3 += <f64>w; }
            c++;
          }
        }
      }
      for (; x < x1; x++) {
        const p = (row + <usize>x) << 2;
        const value = load<f32>(image + p), w = load<f32>(variance + p);
        if (!(value - value == 0) || !(w - w == 0) || (load<i32>(mask + p) & skipBits) != 0) continue;
        const lane = (x - x0) & 3;
        if (lane == 0) { s0 += <f64>value; v0 += <f64>w; } else if (lane == 1) { s1 += <f64>value; v1 += <f64>w; } else { s2 += <f64>value; v2 += <f64>w; }
        c++;
      }
      const o = rowBlocks + <usize>bx * 24;
      store<f64>(o, load<f64>(o) + ((s0 + s1) + (s2 + s3)));
      store<f64>(o + 8, load<f64>(o + 8) + ((v0 + v1) + (v2 + v3)));
      store<f64>(o + 16, load<f64>(o + 16) + <f64>c);
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
