/**
 * Plain-JS reference of the combineClippedMean kernel (assembly/combine.ts), one pixel at a time, every
 * f32 operation rounded with Math.fround in the kernel's order, so that it must agree with the kernel
 * bit for bit: median / IQR quantiles interpolated at p (n - 1), pass 0 centred on the median, later
 * passes on the previous mean, widths from the IQR then the sample sigma (afw MEANCLIP) or from the
 * median of the values' variances; non-finite values ignored.
 */
const f = Math.fround;
const IQ_TO_STDEV = f(0.741301109);

function quantile(sorted: number[], n: number, p: number): number {
  const h = f(f(n - 1) * f(p));
  const lo = Math.trunc(h);
  const a = sorted[lo]!;
  if (lo + 1 >= n) return a;
  return f(a + f(f(h - lo) * f(sorted[lo + 1]! - a)));
}

export interface CombinedPixel {
  mean: number;
  variance: number;
  count: number;
}

export function combinePixelReference(values: readonly number[], variances: readonly number[] | null, nSigma: number, nIter: number, widthFromVariance: boolean): CombinedPixel {
  const v = values.map(f);
  const w = variances ? variances.map(f) : null;
  const sigma = f(nSigma);
  const finite = v.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const n = finite.length;
  if (n === 0) return { mean: Number.NaN, variance: Number.NaN, count: 0 };
  const byVariance = widthFromVariance && nIter > 0;
  const median = quantile(finite, n, 0.5);
  const iqrWidth = f(sigma * f(IQ_TO_STDEV * f(quantile(finite, n, 0.75) - quantile(finite, n, 0.25))));
  let varWidth = 0;
  if (byVariance) {
    // The variances of the finite values (a NaN variance counts as +Inf), their median.
    const sortedVariances = v.map((x, k) => (Number.isFinite(x) && !Number.isNaN(w![k]!) ? w![k]! : Number.POSITIVE_INFINITY)).sort((a, b) => a - b);
    varWidth = f(sigma * f(Math.sqrt(quantile(sortedVariances, n, 0.5))));
  }
  let center = median;
  let width = nIter === 0 ? Number.POSITIVE_INFINITY : byVariance ? varWidth : iqrWidth;
  let mean = median, sampleVariance = 0, inputVariance = 0, used = 0;
  for (let pass = 0; pass < Math.max(nIter, 1); pass++) {
    const keep = v.map((x) => Number.isFinite(x) && Math.abs(f(x - center)) <= width);
    let sum = 0, count = 0;
    v.forEach((x, k) => { sum = f(sum + (keep[k] ? x : 0)); count += keep[k] ? 1 : 0; });
    if (count === 0) break;
    const mu = f(sum / count);
    let squares = 0, varSum = 0;
    v.forEach((x, k) => {
      const d = f(x - mu);
      squares = f(squares + (keep[k] ? f(d * d) : 0));
      if (w) varSum = f(varSum + (keep[k] ? w[k]! : 0));
    });
    const s2 = count > 1 ? f(squares / (count - 1)) : 0;
    mean = mu; sampleVariance = s2; inputVariance = varSum; used = count;
    center = mu;
    if (!byVariance) width = count > 1 ? f(sigma * f(Math.sqrt(s2))) : iqrWidth;
  }
  const m = f(used * used);
  const variance = used === 0 ? Number.NaN : w ? f(inputVariance / m) : f(sampleVariance / used);
  return { mean, variance, count: used };
}

/**
 * Variance of the clipped mean of nFrames unit-variance Gaussian values relative to 1/nFrames (the plain
 * mean's), by simulation: how much noisier the combination is than a plain average.
 */
export function clippedMeanVarianceFactor(nFrames: number, nSigma: number, nIter: number, widthFromVariance: boolean, trials = 40000, seed = 12345): number {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  const gauss = (): number => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const ones = new Array<number>(nFrames).fill(1);
  let sum2 = 0;
  for (let t = 0; t < trials; t++) {
    const values = Array.from({ length: nFrames }, gauss);
    sum2 += combinePixelReference(values, ones, nSigma, nIter, widthFromVariance).mean ** 2;
  }
  return (sum2 / trials) * nFrames;
}
