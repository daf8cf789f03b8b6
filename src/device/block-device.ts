// The one interface every device layer implements: an image file, the write-back cache above it,
// and later the replicated device that mirrors each write to partners before it resolves.
// Offsets and lengths are in bytes and always multiples of blockSizeBytes (callers assert that).

export interface WriteOptions {
  /** Force Unit Access: the write is durable on the backing store before the promise resolves. */
  fua?: boolean;
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
  close(): Promise<void>;
}
