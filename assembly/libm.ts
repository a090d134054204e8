// libm: the elementary functions of AssemblyScript's standard library (its NativeMath, a port of musl's
// libm) as a wasm module of their own (build/libm.wasm, embedded by scripts/embed-libm.mjs into
// lib/math/libmWasm.generated.ts). Wasm's f64 arithmetic is IEEE 754 and the same in every engine, so
// these give the same bits in Node and in any browser, which JavaScript's Math.* do not promise (and do
// not give: lib/math/libm.ts). No memory is allocated; musl's tables live in the module's data.

export function sin(x: f64): f64 { return Math.sin(x); }
export function cos(x: f64): f64 { return Math.cos(x); }
export function tan(x: f64): f64 { return Math.tan(x); }
export function asin(x: f64): f64 { return Math.asin(x); }
export function acos(x: f64): f64 { return Math.acos(x); }
export function atan(x: f64): f64 { return Math.atan(x); }
export function atan2(y: f64, x: f64): f64 { return Math.atan2(y, x); }
export function sinh(x: f64): f64 { return Math.sinh(x); }
export function cosh(x: f64): f64 { return Math.cosh(x); }
export function tanh(x: f64): f64 { return Math.tanh(x); }
export function asinh(x: f64): f64 { return Math.asinh(x); }
export function acosh(x: f64): f64 { return Math.acosh(x); }
export function atanh(x: f64): f64 { return Math.atanh(x); }
export function exp(x: f64): f64 { return Math.exp(x); }
export function expm1(x: f64): f64 { return Math.expm1(x); }
export function log(x: f64): f64 { return Math.log(x); }
export function log1p(x: f64): f64 { return Math.log1p(x); }
export function log2(x: f64): f64 { return Math.log2(x); }
export function log10(x: f64): f64 { return Math.log10(x); }
export function pow(x: f64, y: f64): f64 { return Math.pow(x, y); }
export function cbrt(x: f64): f64 { return Math.cbrt(x); }
