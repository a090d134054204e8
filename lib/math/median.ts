/**
 * The median of the values (the mean of the middle two for an even count), NaN for none; the input is
 * not changed. The same value a sort gives (NaNs order last, as Float64Array sorts them), found by
 * selection in O(n): quickselect (median-of-three pivots, Hoare partition) on a copy.
 */
export function median(values: ArrayLike<number>): number {
  const s = Float64Array.from(values);
  // NaNs to the end, as a sort would put them.
  let finite = s.length;
  for (let i = 0; i < finite;) {
    if (Number.isNaN(s[i]!)) { finite--; s[i] = s[finite]!; s[finite] = NaN; } else i++;
  }
  const n = s.length;
  if (n === 0) return NaN;
  const k = (n - 1) >> 1;
  if (k >= finite) return NaN;
  const a = kthSmallest(s, finite, k);
  if (n % 2 === 1) return a;
  if (k + 1 >= finite) return NaN;
  // After selection nothing beyond k is smaller: the next order statistic is their minimum.
  let b = Infinity;
  for (let i = k + 1; i < finite; i++) if (s[i]! < b) b = s[i]!;
  return (a + b) / 2;
}

/** The k-th smallest (0-based) of s[0, n), no NaNs among them (reorders them). */
export function kthSmallest(s: Float64Array, n: number, k: number): number {
  let lo = 0, hi = n - 1;
  while (hi > lo) {
    const mid = lo + ((hi - lo) >> 1);
    const x = s[lo]!, y = s[mid]!, z = s[hi]!;
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    let i = lo, j = hi;
    while (i <= j) {
      while (s[i]! < pivot) i++;
      while (s[j]! > pivot) j--;
      if (i <= j) {
        const t = s[i]!;
        s[i] = s[j]!;
        s[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return s[k]!;
}

/**
 * A Gaussian-equivalent width from the interquartile range: 0.7413 x (q3 - q1) of s[0, n), q1 and q3 the
 * order statistics floor(0.25 (n - 1)) and floor(0.75 (n - 1)); no NaNs among them (reorders them).
 */
export function interquartileSigma(s: Float64Array, n = s.length): number {
  const q1 = kthSmallest(s, n, Math.floor(0.25 * (n - 1))), q3 = kthSmallest(s, n, Math.floor(0.75 * (n - 1)));
  return 0.7413 * (q3 - q1);
}
