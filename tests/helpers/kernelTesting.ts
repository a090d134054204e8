/** What the wasm kernel tests share: deterministic random test data and byte views for bit-identity checks. */

/** Deterministic uniform [0, 1) and normal deviates (an LCG; test data only). */
export function randoms(seed: number): { uniform: () => number; normal: () => number } {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return { uniform, normal: () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform()) };
}

/** The bytes of a typed array, to compare results bit for bit. */
export function bytes(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
