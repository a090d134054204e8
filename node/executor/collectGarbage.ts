/**
 * A full garbage collection, which the executor's worker runs after each quantum: a quantum's planes
 * (hundreds of MB of typed arrays for a coadd patch) are garbage once its outputs are posted, but V8
 * collects large array buffers only when its heuristics say so, so the next quantum's peak would hold
 * both (measured: an assembleCoadd quantum on a 4600x4600 patch peaks at 875 MiB alone, 1.1-1.2 GiB
 * when it follows another). V8 exposes gc() only behind --expose-gc, which worker threads cannot be
 * given on their command line; the flag is set at run time and the function taken from a new context.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | undefined;

export function collectGarbage(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}
