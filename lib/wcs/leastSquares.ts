/**
 * Linear least squares min |A c - b|_2 by Householder QR (Golub & Van Loan §5.3), for the small, dense
 * problems of fitting inverse distortion polynomials. A is row-major m x n with m >= n; several
 * right-hand sides share one factorisation. Returns undefined when A is rank-deficient.
 */
export function solveLeastSquares(a: Float64Array, m: number, n: number, rhs: Float64Array[]): Float64Array[] | undefined {
  if (m < n) return undefined;
  const q = Float64Array.from(a);
  const bs = rhs.map((b) => Float64Array.from(b));
  const diag = new Float64Array(n);
  let maxNorm = 0;
  for (let k = 0; k < n; k++) {
    let norm = 0;
    for (let i = k; i < m; i++) norm += q[i * n + k]! ** 2;
    norm = Math.sqrt(norm);
    maxNorm = Math.max(maxNorm, norm);
    if (norm === 0 || norm <= 1e-13 * maxNorm) return undefined;
    const alpha = q[k * n + k]! > 0 ? -norm : norm;
    // v = x - alpha e1, stored in place of column k (rows k..m-1).
    q[k * n + k] = q[k * n + k]! - alpha;
    let vv = 0;
    for (let i = k; i < m; i++) vv += q[i * n + k]! ** 2;
    diag[k] = alpha;
    if (vv === 0) continue;
    for (let j = k + 1; j < n; j++) {
      let s = 0;
      for (let i = k; i < m; i++) s += q[i * n + k]! * q[i * n + j]!;
      const f = (2 * s) / vv;
      for (let i = k; i < m; i++) q[i * n + j] = q[i * n + j]! - f * q[i * n + k]!;
    }
    for (const b of bs) {
      let s = 0;
      for (let i = k; i < m; i++) s += q[i * n + k]! * b[i]!;
      const f = (2 * s) / vv;
      for (let i = k; i < m; i++) b[i] = b[i]! - f * q[i * n + k]!;
    }
  }
  // Back substitution with R (diagonal in `diag`, strict upper triangle in q).
  return bs.map((b) => {
    const c = new Float64Array(n);
    for (let k = n - 1; k >= 0; k--) {
      let s = b[k]!;
      for (let j = k + 1; j < n; j++) s -= q[k * n + j]! * c[j]!;
      c[k] = s / diag[k]!;
    }
    return c;
  });
}
