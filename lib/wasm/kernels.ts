/**
 * The exports of build/tessera*.wasm, typed. Every kernel takes planes as (ptr, width, height) in
 * linear memory and returns a status code (0 = ok); see assembly/status.ts.
 */
export const KERNEL_STATUS: Record<number, string> = {
  0: 'ok',
  1: 'bad argument',
};

export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  simdEnabled(): number;
  convolveSeparable(src: number, dst: number, scratch: number, width: number, height: number, kernel: number, half: number): number;
}

/** Throws when a kernel returned a non-zero status, naming the kernel and the status. */
export function checkStatus(kernel: string, status: number): void {
  if (status !== 0) throw new Error(`wasm kernel ${kernel} failed: ${KERNEL_STATUS[status] ?? `status ${status}`}`);
}
