// Debug-build guards for planes passed in by the host: each must lie inside linear memory.
// Compiled out of the release build (noAssert), so they cost nothing there.

@inline
export function assertInMemory(ptr: usize, bytes: usize): void {
  assert(ptr >= __heap_base && ptr + bytes <= (<usize>memory.size() << 16), 'plane outside wasm memory');
}
