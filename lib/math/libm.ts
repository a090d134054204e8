/**
 * libm: sin, cos, exp, log, pow... from one implementation in every JavaScript engine: musl's libm as
 * AssemblyScript compiles it to wasm (assembly/libm.ts; its bytes embedded by `npm run build:wasm`),
 * instantiated synchronously when this module loads (25 kB: allowed in Node and in browser workers).
 *
 * Why: JavaScript's Math.* functions are "implementation-approximated", and engines differ in the last
 * bit. On 20,000 arguments, Node 20 (V8 11.3) and Debian's Chromium 156 disagreed for sin 2.2 %, cos
 * 1.9 %, exp 6.0 %, log 1.9 %, atan2 14 %, pow 11 %, cbrt 8.0 % of them (sqrt and hypot agreed, and
 * must: sqrt is correctly rounded). The simulator, the WCS and the tasks use these functions, so the
 * same seed gave different raws and catalogues in Node and in the browser. lib/ calls these instead of
 * Math.* wherever a result is data (lib/display, which only draws, keeps Math.*); `a ** b` with a
 * non-integer b is pow(a, b) here. Results are within an ulp or so of Math.*'s.
 */
import { LIBM_WASM_BASE64 } from './libmWasm.generated.js';

type Unary = (x: number) => number;
type Binary = (x: number, y: number) => number;

export interface Libm {
  sin: Unary; cos: Unary; tan: Unary; asin: Unary; acos: Unary; atan: Unary; atan2: Binary;
  sinh: Unary; cosh: Unary; tanh: Unary; asinh: Unary; acosh: Unary; atanh: Unary;
  exp: Unary; expm1: Unary; log: Unary; log1p: Unary; log2: Unary; log10: Unary; pow: Binary; cbrt: Unary;
}

function instantiate(): Libm {
  const binary = atob(LIBM_WASM_BASE64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as Libm & { _initialize?: () => void };
  exports._initialize?.();
  const { sin, cos, tan, asin, acos, atan, atan2, sinh, cosh, tanh, asinh, acosh, atanh, exp, expm1, log, log1p, log2, log10, pow, cbrt } = exports;
  return { sin, cos, tan, asin, acos, atan, atan2, sinh, cosh, tanh, asinh, acosh, atanh, exp, expm1, log, log1p, log2, log10, pow, cbrt };
}

export const libm: Libm = instantiate();
