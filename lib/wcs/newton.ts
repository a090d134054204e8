/**
 * Damped 2-D Newton solver shared by the SIP and TPV reverse transforms (sip.ts, tpv.ts).
 *
 * Solves F(x, y) = (targetA, targetB) for (x, y), starting from (seedX, seedY), where `evaluate(x, y, w)`
 * writes w = [fA, fB, dfA/dx, dfA/dy, dfB/dx, dfB/dy] (F and its Jacobian J). With the residual
 * r = F - target and |r| its Euclidean norm, each iteration (at most 60):
 *   - takes the Newton step d = J^-1 r; stops iterating (failure path below) when det J is 0 or not finite;
 *   - if |d|_1 < `finalStep`, returns (x, y) - d without another evaluation: convergence is quadratic,
 *     so the error left after so small a step is ~curvature * |d|^2, negligible;
 *   - else line-searches: tries (x, y) - s d with s = 1, halving s while the residual does not decrease
 *     (NaN counts as not decreasing) and s > 1e-6, then moves there whatever the outcome;
 *   - returns the new point when s |d|_1 < `step` or its residual < `residual`.
 * When the iterations run out (or det J fails), the last point is returned if its residual is below
 * `accept`, else (NaN, NaN). Tolerances are in the units of x, y (`finalStep`, `step`) and of F
 * (`residual`, `accept`). Allocation-free: `work` (length >= 6) is scratch, overwritten by `evaluate`.
 */

export type NewtonEvaluate = (x: number, y: number, out: Float64Array) => void;

export interface NewtonTolerances {
  /** |step|_1 below which the Newton step is taken as the final answer without re-evaluating. */
  readonly finalStep: number;
  /** Converged once the (damped) step taken has |step|_1 below this. */
  readonly step: number;
  /** Converged once the residual norm is below this. */
  readonly residual: number;
  /** Residual norm below which the last point is still accepted when the iteration stops unconverged. */
  readonly accept: number;
}

const MAX_ITER = 60;
const MIN_DAMPING = 1e-6;

/** Writes the solution (x, y) to out[0], out[1]; NaN for both when it does not converge. */
export function solveNewton2d(
  targetA: number,
  targetB: number,
  seedX: number,
  seedY: number,
  evaluate: NewtonEvaluate,
  work: Float64Array,
  tolerances: NewtonTolerances,
  out: Float64Array | number[],
): void {
  const w = work;
  const finalStep = tolerances.finalStep;
  const stepTol = tolerances.step;
  const residualTol = tolerances.residual;
  let x = seedX;
  let y = seedY;
  evaluate(x, y, w);
  let r1 = w[0]! - targetA;
  let r2 = w[1]! - targetB;
  let res = Math.sqrt(r1 * r1 + r2 * r2);
  for (let it = 0; it < MAX_ITER; it++) {
    const det = w[2]! * w[5]! - w[3]! * w[4]!;
    if (det === 0 || !Number.isFinite(det)) break;
    const dx = (w[5]! * r1 - w[3]! * r2) / det;
    const dy = (-w[4]! * r1 + w[2]! * r2) / det;
    if (Math.abs(dx) + Math.abs(dy) < finalStep) {
      out[0] = x - dx;
      out[1] = y - dy;
      return;
    }
    let step = 1;
    let nx = x - dx;
    let ny = y - dy;
    evaluate(nx, ny, w);
    let n1 = w[0]! - targetA;
    let n2 = w[1]! - targetB;
    let nres = Math.sqrt(n1 * n1 + n2 * n2);
    // Backtrack while the residual grows (guards against overshooting where the polynomial bends).
    while (!(nres <= res) && step > MIN_DAMPING) {
      step /= 2;
      nx = x - step * dx;
      ny = y - step * dy;
      evaluate(nx, ny, w);
      n1 = w[0]! - targetA;
      n2 = w[1]! - targetB;
      nres = Math.sqrt(n1 * n1 + n2 * n2);
    }
    x = nx; y = ny; r1 = n1; r2 = n2; res = nres;
    if (step * (Math.abs(dx) + Math.abs(dy)) < stepTol || res < residualTol) {
      out[0] = x;
      out[1] = y;
      return;
    }
  }
  if (res < tolerances.accept) { out[0] = x; out[1] = y; return; }
  out[0] = NaN;
  out[1] = NaN;
}
