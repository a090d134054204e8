/**
 * PlaneAllocator: the host side of the plane ABI. It owns wasm linear memory above the module's
 * heap base, hands out 16-byte-aligned blocks (first fit over a free list that coalesces neighbours),
 * and grows memory only when no free block fits. Because wasm memory never shrinks, the guarantee we
 * test is that a task run inside `scope()` returns `inUseBytes` to its pre-task value and that
 * repeating the task reuses the same blocks, so `memory.buffer.byteLength` stops growing.
 * Views are made fresh on every call: any growth detaches earlier views of `memory.buffer`.
 */
const ALIGN = 16;
const PAGE = 65536;

export type PlaneKind = 'f32' | 'i32' | 'u8' | 'f64';

const BYTES: Record<PlaneKind, number> = { f32: 4, i32: 4, u8: 1, f64: 8 };

/** A plane in wasm memory. `ptr` stays valid until freed; views must be re-made after allocation. */
export interface Plane {
  readonly ptr: number;
  readonly width: number;
  readonly height: number;
  readonly kind: PlaneKind;
}

interface Block {
  start: number;
  size: number;
}

export class PlaneAllocator {
  private readonly memory: WebAssembly.Memory;
  private readonly base: number;
  private readonly free: Block[] = []; // sorted by start, never adjacent
  private readonly used = new Map<number, number>(); // ptr -> size
  private top: number; // first byte never handed out
  private inUse = 0;
  private highWater = 0;
  private scopes: Set<number>[] = [];

  constructor(memory: WebAssembly.Memory, heapBase: number) {
    this.memory = memory;
    this.base = Math.ceil(heapBase / ALIGN) * ALIGN;
    this.top = this.base;
  }

  get inUseBytes(): number {
    return this.inUse;
  }

  get highWaterBytes(): number {
    return this.highWater;
  }

  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Allocates `bytes` (rounded up to 16) and returns the pointer. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`PlaneAllocator.alloc: bad size ${bytes}`);
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let ptr = -1;
    for (let i = 0; i < this.free.length; i++) {
      const block = this.free[i]!;
      if (block.size >= size) {
        ptr = block.start;
        if (block.size === size) this.free.splice(i, 1);
        else { block.start += size; block.size -= size; }
        break;
      }
    }
    if (ptr < 0) {
      // Extend from the top, absorbing a free block that ends there.
      const last = this.free[this.free.length - 1];
      if (last && last.start + last.size === this.top) {
        this.free.pop();
        this.top = last.start;
      }
      ptr = this.top;
      this.ensure(ptr + size);
      this.top = ptr + size;
    }
    this.used.set(ptr, size);
    this.inUse += size;
    this.highWater = Math.max(this.highWater, this.inUse);
    this.scopes[this.scopes.length - 1]?.add(ptr);
    return ptr;
  }

  /** Returns a block to the free list, merging it with free neighbours. */
  release(ptr: number): void {
    const size = this.used.get(ptr);
    if (size === undefined) throw new Error(`PlaneAllocator.release: ${ptr} is not an allocated block`);
    this.used.delete(ptr);
    this.inUse -= size;
    for (const scope of this.scopes) scope.delete(ptr);
    let i = 0;
    while (i < this.free.length && this.free[i]!.start < ptr) i++;
    const block: Block = { start: ptr, size };
    this.free.splice(i, 0, block);
    const next = this.free[i + 1];
    if (next && block.start + block.size === next.start) {
      block.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.size === block.start) {
      prev.size += block.size;
      this.free.splice(i, 1);
    }
  }

  /**
   * Runs `fn` and then releases every block allocated inside it that is still held, so a task's
   * scratch and output planes cannot leak. Copy results out of wasm memory before `fn` returns.
   */
  scope<T>(fn: () => T): T {
    const held = new Set<number>();
    this.scopes.push(held);
    try {
      return fn();
    } finally {
      this.scopes.pop();
      for (const ptr of held) this.release(ptr);
    }
  }

  plane(kind: PlaneKind, width: number, height: number): Plane {
    return { ptr: this.alloc(width * height * BYTES[kind]), width, height, kind };
  }

  /** Copies `values` into a new wasm block and returns its pointer. */
  allocFrom(values: Float32Array | Int32Array | Uint8Array | Float64Array): number {
    const ptr = this.alloc(values.byteLength);
    new Uint8Array(this.memory.buffer, ptr, values.byteLength).set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    return ptr;
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }

  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }

  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, length);
  }

  /** A fresh typed-array view of a plane's pixels. */
  view(plane: Plane): Float32Array | Int32Array | Uint8Array | Float64Array {
    const n = plane.width * plane.height;
    switch (plane.kind) {
      case 'f32': return this.f32(plane.ptr, n);
      case 'i32': return this.i32(plane.ptr, n);
      case 'u8': return this.u8(plane.ptr, n);
      case 'f64': return this.f64(plane.ptr, n);
    }
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    try {
      this.memory.grow(pages);
    } catch (err) {
      throw new RangeError(`wasm memory cannot grow to ${end} bytes (${(err as Error).message})`);
    }
  }
}
