// The one interface every device layer implements: an image file, the write-back cache above it,
// and later the replicated device that mirrors each write to partners before it resolves.
// Offsets and lengths are in bytes and always multiples of blockSizeBytes (callers assert that).

export interface WriteOptions {
  /** Force Unit Access: the write is durable on the backing store before the promise resolves. */
  fua?: boolean;
}

/** One extent of an allocation map: whether [offsetBytes, offsetBytes + lengthBytes) is backed. */
export interface AllocationExtent {
  offsetBytes: number;
  lengthBytes: number;
  mapped: boolean;
}

export interface BlockDevice {
  readonly blockSizeBytes: number; // 512 or 4096
  readonly sizeBytes: number; // a multiple of blockSizeBytes
  /** Resolves with exactly lengthBytes bytes. */
  read(offsetBytes: number, lengthBytes: number): Promise<Buffer>;
  /** Resolves only when the data is stored (and, later, mirrored) as far as the mode promises. */
  write(offsetBytes: number, data: Buffer, options?: WriteOptions): Promise<void>;
  /** Everything written before the call is durable when it resolves. */
  flush(): Promise<void>;
  /** Deallocates the range (punches a hole); reads of it return zeros afterwards. Optional. */
  unmap?(offsetBytes: number, lengthBytes: number): Promise<void>;
  /**
   * Which parts of the range are allocated: extents in ascending order, adjacent, covering exactly
   * the range. Optional; without it every block counts as mapped.
   */
  allocationMap?(offsetBytes: number, lengthBytes: number): Promise<AllocationExtent[]>;
  close(): Promise<void>;
}
