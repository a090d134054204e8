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
// haloBlocks: the halo flags of lib/measure/halos.ts steps 2-4 from blockSums' output and the reference
//   sky at each block's centre (sky: nbx x nby f64, the same grid): per block the residual sum - n x sky;
//   then for each block-size factor f (f smallest blocks a side) the significance (residual over
//   sqrt(variance), summed over the f x f group's smallest blocks not yet in a halo; 0 where fewer than
//   minGoodFraction of the group's pixels within the image are good or the variance is not positive),
//   hysteresis (groups above seedThreshold seed, 8-connected groups above growThreshold join) and the
//   groups' smallest blocks flagged; then the halos adjoining a block with pixels left out of the sums
//   (fewer good pixels than its area) grown by growSteps blocks (8-connected), and the other halos cleared
//   unless their blocks' summed residual over the square root of their summed variance reaches
//   isolatedThreshold. Arithmetic: f64, each sum over blocks in raster order (within a halo, in the order a
//   flood fill from its first block in raster order finds them), as the TypeScript that came before it.
//   flags: nbx x nby u8 (out); scratch: 22 x nbx x nby bytes.
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

export function haloBlocks(sums: usize, sky: usize, nbx: i32, nby: i32, block: i32, width: i32, height: i32, factors: usize, nFactors: i32,
  seedThreshold: f64, growThreshold: f64, minGoodFraction: f64, growSteps: i32, isolatedThreshold: f64, scratch: usize, flags: usize): i32 {
  if (nbx <= 0 || nby <= 0 || block <= 0 || nFactors < 0 || growSteps < 0 || nbx != (width + block - 1) / block || nby != (height + block - 1) / block) return BAD_ARGUMENT;
  const n = <usize>nbx * <usize>nby;
  assertInMemory(sums, n * 24);
  assertInMemory(sky, n << 3);
  assertInMemory(factors, <usize>nFactors << 2);
  assertInMemory(scratch, n * 22);
  assertInMemory(flags, n);
  for (let q = 0; q < nFactors; q++) if (load<i32>(factors + (<usize>q << 2)) <= 0) return BAD_ARGUMENT;
  const residual = scratch; // f64 per block
  const significance = residual + (n << 3); // f64 per group (at most one per block)
  const stack = significance + (n << 3); // i32 per block
  const marks = stack + (n << 2); // u8 per block: a group's hysteresis, then the halos grown from
  const seen = marks + n; // u8 per block
  for (let k: usize = 0; k < n; k++) {
    const o = sums + k * 24;
    store<f64>(residual + (k << 3), load<f64>(o) - load<f64>(o, 16) * load<f64>(sky + (k << 3)));
  }
  memory.fill(flags, 0, n);
  for (let q = 0; q < nFactors; q++) {
    haloAtScale(load<i32>(factors + (<usize>q << 2)), sums, residual, significance, stack, marks, flags, nbx, nby, block, width, height,
      seedThreshold, growThreshold, minGoodFraction);
  }
  growHalos(sums, residual, stack, marks, seen, flags, nbx, nby, block, width, height, growSteps, isolatedThreshold);
  return OK;
}

/** The 8-connected neighbourhood (with k itself) of block k of an mx x my grid: rows j0..j1, columns i0..i1. */
let hoodJ0 = 0, hoodJ1 = 0, hoodI0 = 0, hoodI1 = 0;
@inline function neighbourhood(k: i32, mx: i32, my: i32): void {
  const i = k % mx, j = k / mx;
  hoodJ0 = max(0, j - 1); hoodJ1 = min(my - 1, j + 1);
  hoodI0 = max(0, i - 1); hoodI1 = min(mx - 1, i + 1);
}

/** One block-size factor f of haloBlocks: significance per f x f group, hysteresis, the groups' blocks flagged. */
function haloAtScale(f: i32, sums: usize, residual: usize, significance: usize, stack: usize, on: usize, flags: usize, nbx: i32, nby: i32, block: i32,
  width: i32, height: i32, seedThreshold: f64, growThreshold: f64, minGoodFraction: f64): void {
  const size = f * block;
  const mx = (nbx + f - 1) / f, my = (nby + f - 1) / f;
  for (let J = 0; J < my; J++) {
    const j0 = J * f, j1 = min(j0 + f, nby);
    const rows = min((J + 1) * size, height) - J * size;
    for (let I = 0; I < mx; I++) {
      const i0 = I * f, i1 = min(i0 + f, nbx);
      let r: f64 = 0, v: f64 = 0, c: f64 = 0;
      for (let j = j0; j < j1; j++) {
        for (let k = j * nbx + i0, end = j * nbx + i1; k < end; k++) {
          if (load<u8>(flags + <usize>k) != 0) continue;
          r += load<f64>(residual + (<usize>k << 3));
          const o = sums + <usize>k * 24;
          v += load<f64>(o, 8);
          c += load<f64>(o, 16);
        }
      }
      // The group's area within the image (the last row and column of groups are clipped).
      const area = <f64>((min((I + 1) * size, width) - I * size) * rows);
      store<f64>(significance + (<usize>(J * mx + I) << 3), c >= minGoodFraction * area && v > 0 ? r / Math.sqrt(v) : 0);
    }
  }
  const m = mx * my;
  memory.fill(on, 0, <usize>m);
  let top = 0;
  for (let K = 0; K < m; K++) {
    if (load<f64>(significance + (<usize>K << 3)) > seedThreshold) {
      store<u8>(on + <usize>K, 1);
      store<i32>(stack + (<usize>top << 2), K);
      top++;
    }
  }
  while (top > 0) {
    top--;
    neighbourhood(load<i32>(stack + (<usize>top << 2)), mx, my);
    const j0 = hoodJ0, j1 = hoodJ1, i0 = hoodI0, i1 = hoodI1;
    for (let jj = j0; jj <= j1; jj++) {
      for (let L = jj * mx + i0, end = jj * mx + i1; L <= end; L++) {
        if (load<u8>(on + <usize>L) == 0 && load<f64>(significance + (<usize>L << 3)) > growThreshold) {
          store<u8>(on + <usize>L, 1);
          store<i32>(stack + (<usize>top << 2), L);
          top++;
        }
      }
    }
  }
  for (let J = 0; J < my; J++) {
    for (let I = 0; I < mx; I++) {
      if (load<u8>(on + <usize>(J * mx + I)) == 0) continue;
      const i1 = min((I + 1) * f, nbx);
      for (let j = J * f; j < min((J + 1) * f, nby); j++) memory.fill(flags + <usize>(j * nbx + I * f), 1, <usize>(i1 - I * f));
    }
  }
}

/**
 * Pushes onto `stack` (at `top`, in raster order) the blocks of block k's 8-connected neighbourhood that
 * are flagged and not yet marked, marking them; returns the new top.
 */
@inline function pushHaloNeighbours(k: i32, nbx: i32, nby: i32, flags: usize, marks: usize, stack: usize, top: i32): i32 {
  neighbourhood(k, nbx, nby);
  const j0 = hoodJ0, j1 = hoodJ1, i0 = hoodI0, i1 = hoodI1;
  for (let jj = j0; jj <= j1; jj++) {
    for (let l = jj * nbx + i0, end = jj * nbx + i1; l <= end; l++) {
      if (load<u8>(flags + <usize>l) != 0 && load<u8>(marks + <usize>l) == 0) {
        store<u8>(marks + <usize>l, 1);
        store<i32>(stack + (<usize>top << 2), l);
        top++;
      }
    }
  }
  return top;
}

/**
 * haloBlocks' last step, in place on flags: the halos that adjoin no block with left-out pixels are cleared
 * unless significant as a whole, then those that do are grown by `steps` blocks (8-connected).
 */
function growHalos(sums: usize, residual: usize, stack: usize, grow: usize, seen: usize, flags: usize, nbx: i32, nby: i32, block: i32,
  width: i32, height: i32, steps: i32, isolatedThreshold: f64): void {
  const n = nbx * nby;
  memory.fill(grow, 0, <usize>n);
  let top = 0;
  // The halo blocks to grow from: a flood fill through the halos from those next to a block with left-out pixels.
  for (let j = 0; j < nby; j++) {
    const rows = min((j + 1) * block, height) - j * block;
    for (let i = 0; i < nbx; i++) {
      const k = j * nbx + i;
      if (!(load<f64>(sums + <usize>k * 24, 16) < <f64>((min((i + 1) * block, width) - i * block) * rows))) continue;
      top = pushHaloNeighbours(k, nbx, nby, flags, grow, stack, top);
    }
  }
  while (top > 0) {
    top--;
    top = pushHaloNeighbours(load<i32>(stack + (<usize>top << 2)), nbx, nby, flags, grow, stack, top);
  }
  // The others, one 8-connected halo at a time (its blocks on the stack, in the order found): kept when
  // significant as a whole, else cleared.
  memory.copy(seen, grow, <usize>n);
  for (let k = 0; k < n; k++) {
    if (load<u8>(flags + <usize>k) == 0 || load<u8>(seen + <usize>k) != 0) continue;
    store<i32>(stack, k);
    let count = 1;
    store<u8>(seen + <usize>k, 1);
    let r: f64 = 0, v: f64 = 0;
    for (let m = 0; m < count; m++) {
      const l = load<i32>(stack + (<usize>m << 2));
      r += load<f64>(residual + (<usize>l << 3));
      v += load<f64>(sums + <usize>l * 24, 8);
      count = pushHaloNeighbours(l, nbx, nby, flags, seen, stack, count);
    }
    if (!(v > 0 && r / Math.sqrt(v) >= isolatedThreshold)) for (let m = 0; m < count; m++) store<u8>(flags + <usize>load<i32>(stack + (<usize>m << 2)), 0);
  }
  // Growth: each step from the blocks grown so far (seen serves as the step's copy of them).
  for (let s = 0; s < steps; s++) {
    memory.copy(seen, grow, <usize>n);
    for (let k = 0; k < n; k++) {
      if (load<u8>(seen + <usize>k) == 0) continue;
      neighbourhood(k, nbx, nby);
      const j0 = hoodJ0, j1 = hoodJ1, i0 = hoodI0, i1 = hoodI1;
      for (let jj = j0; jj <= j1; jj++) {
        for (let l = jj * nbx + i0, end = jj * nbx + i1; l <= end; l++) {
          store<u8>(grow + <usize>l, 1);
          store<u8>(flags + <usize>l, 1);
        }
      }
    }
  }
}
