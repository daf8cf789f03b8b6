// The ring's 64 KiB slabs handed out one at a time. A slab is registered with io_uring, so
// reads and writes into it skip pinning pages per request (READ_FIXED / WRITE_FIXED).
export class SlabPool {
  private readonly slabs: Buffer[] = [];
  private readonly freeIndexes: number[] = [];
  private readonly inUse: Uint8Array;

  constructor(
    private readonly region: Buffer,
    readonly slabSizeBytes: number,
  ) {
    if (region.length === 0 || region.length % slabSizeBytes !== 0) {
      throw new RangeError(`slab region of ${region.length} bytes is not whole slabs`);
    }
    const count = region.length / slabSizeBytes;
    for (let index = 0; index < count; index++) {
      this.slabs.push(region.subarray(index * slabSizeBytes, (index + 1) * slabSizeBytes));
      this.freeIndexes.push(count - 1 - index); // lowest index handed out first
    }
    this.inUse = new Uint8Array(count);
  }

  get count(): number {
    return this.slabs.length;
  }

  get freeCount(): number {
    return this.freeIndexes.length;
  }

  /** A free slab, or undefined when all are in use (the caller waits or uses its own buffer). */
  acquire(): Buffer | undefined {
    const index = this.freeIndexes.pop();
    if (index === undefined) return undefined;
    this.inUse[index] = 1;
    return this.slabs[index];
  }

  /** Only after every request using the slab has completed. */
  release(slab: Buffer): void {
    const index = (slab.byteOffset - this.region.byteOffset) / this.slabSizeBytes;
    if (slab.buffer !== this.region.buffer || this.slabs[index] !== slab) {
      throw new Error("SlabPool.release: not a slab of this pool");
    }
    if (this.inUse[index] !== 1) throw new Error(`SlabPool.release: slab ${index} is not in use`);
    this.inUse[index] = 0;
    this.freeIndexes.push(index);
  }
}
