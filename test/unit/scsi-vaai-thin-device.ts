// Test support: an in-memory thin device. It starts fully deallocated, writes allocate blocks,
// unmap() zeroes and deallocates them, allocationMap() reports extents.

import type { AllocationExtent, WriteOptions } from "../../src/device/block-device.ts";
import { MemoryBlockDevice } from "./scsi-memory-device.ts";

export class ThinMemoryDevice extends MemoryBlockDevice {
  readonly unmaps: Array<{ offset: number; length: number }> = [];
  /** One entry per block: 1 when allocated. */
  private readonly allocated: Uint8Array;

  constructor(blockSizeBytes: number, sizeBytes: number) {
    super(blockSizeBytes, sizeBytes);
    this.allocated = new Uint8Array(sizeBytes / blockSizeBytes);
  }

  override async write(offsetBytes: number, data: Buffer, options?: WriteOptions): Promise<void> {
    await super.write(offsetBytes, data, options);
    this.mark(offsetBytes, data.length, 1);
  }

  async unmap(offsetBytes: number, lengthBytes: number): Promise<void> {
    this.unmaps.push({ offset: offsetBytes, length: lengthBytes });
    this.bytes.fill(0, offsetBytes, offsetBytes + lengthBytes);
    this.mark(offsetBytes, lengthBytes, 0);
  }

  async allocationMap(offsetBytes: number, lengthBytes: number): Promise<AllocationExtent[]> {
    const size = this.blockSizeBytes;
    const extents: AllocationExtent[] = [];
    for (let at = offsetBytes; at < offsetBytes + lengthBytes; at += size) {
      const mapped = this.allocated[at / size] === 1;
      const last = extents.at(-1);
      if (last && last.mapped === mapped) last.lengthBytes += size;
      else extents.push({ offsetBytes: at, lengthBytes: size, mapped });
    }
    return extents;
  }

  isMapped(lba: number): boolean {
    return this.allocated[lba] === 1;
  }

  private mark(offsetBytes: number, lengthBytes: number, value: number): void {
    const size = this.blockSizeBytes;
    this.allocated.fill(value, offsetBytes / size, (offsetBytes + lengthBytes) / size);
  }
}
