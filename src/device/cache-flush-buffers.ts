// The flusher's staging buffers, allocated once: dirty blocks are copied here (a snapshot) so a
// write landing in a line while its old contents are being written to backing is not torn or
// lost. Their number bounds the flush writes in flight.
import assert from "node:assert/strict";
import { allocIoBuffer } from "./native.ts";

export class FlushBuffers {
  private readonly free: Buffer[] = [];
  private readonly all = new Set<Buffer>();
  private readonly waiters: Array<(buffer: Buffer) => void> = [];

  constructor(
    count: number,
    readonly bufferBytes: number,
  ) {
    assert.ok(count > 0 && bufferBytes > 0, "flush buffer pool geometry");
    const region = allocIoBuffer(count * bufferBytes);
    for (let index = 0; index < count; index++) {
      const buffer = region.subarray(index * bufferBytes, (index + 1) * bufferBytes);
      this.free.push(buffer);
      this.all.add(buffer);
    }
  }

  get idle(): boolean {
    return this.free.length === this.all.size;
  }

  acquire(): Promise<Buffer> {
    const buffer = this.free.pop();
    if (buffer) return Promise.resolve(buffer);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(buffer: Buffer): void {
    assert.ok(this.all.has(buffer) && !this.free.includes(buffer), "release of a foreign buffer");
    const waiter = this.waiters.shift();
    if (waiter) waiter(buffer);
    else this.free.push(buffer);
  }
}
