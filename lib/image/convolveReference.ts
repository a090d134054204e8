/**
 * Plain-JavaScript separable convolution with the same edge rule as the wasm kernel
 * (assembly/convolution.ts): interior pixels are the plain weighted sum, pixels where the kernel
 * overhangs the image use the truncated kernel renormalised by its weight inside. It accumulates in
 * double precision, as idiomatic JS does, so it agrees with the f32 kernel to float32 rounding. It is
 * the reference the kernel is tested against and the "plain JS" column of `npm run bench`.
 */
function convolveLine(src: Float32Array, offset: number, step: number, n: number, kernel: Float32Array, dst: Float32Array): void {
  const half = (kernel.length - 1) / 2;
  for (let i = 0; i < n; i++) {
    let sum = 0;
    if (i >= half && i < n - half) {
      let p = offset + (i - half) * step;
      for (let j = 0; j < kernel.length; j++, p += step) sum += kernel[j]! * src[p]!;
    } else {
      let weight = 0;
      for (let j = -half; j <= half; j++) {
        const q = i + j;
        if (q < 0 || q >= n) continue;
        sum += kernel[j + half]! * src[offset + q * step]!;
        weight += kernel[j + half]!;
      }
      sum = weight !== 0 ? sum / weight : 0;
    }
    dst[offset + i * step] = sum;
  }
}

export function convolveSeparableReference(image: Float32Array, width: number, height: number, kernel: Float32Array): Float32Array {
  const tmp = new Float32Array(width * height);
  for (let y = 0; y < height; y++) convolveLine(image, y * width, 1, width, kernel, tmp);
  const out = new Float32Array(width * height);
  for (let x = 0; x < width; x++) convolveLine(tmp, x, width, height, kernel, out);
  return out;
}
