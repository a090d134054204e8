/** Chebyshev polynomials of the first kind T_0..T_n at t (recurrence T_k = 2 t T_(k-1) - T_(k-2)), into `out` when given. */
export function chebyshevT(n: number, t: number, out = new Float64Array(n + 1)): Float64Array {
  out[0] = 1;
  if (n >= 1) out[1] = t;
  for (let k = 2; k <= n; k++) out[k] = 2 * t * out[k - 1]! - out[k - 2]!;
  return out;
}
