// NativeRing: promise-per-request I/O over the native addon's Ring. Every request made in one
// tick is submitted as one batch (one io_uring_enter) from a microtask; completions arrive in
// batches and settle their promises. Requests beyond the ring's capacity wait in FIFO order
// for a free slot. The addon's image-file calls are re-exported for the device layer.
import { log } from "../mgmt/log.ts";
import {
  nativeAddon,
  type IoBackendName,
  type NativeAddon,
  type RingHandle,
  type RingOptions,
} from "./native-addon.ts";
import { SlabPool } from "./native-slab-pool.ts";

export {
  nativeAddon,
  type DirectIoAlignment,
  type NativeAddon,
  type OpenImageOptions,
} from "./native-addon.ts";
export { SlabPool } from "./native-slab-pool.ts";

/** The alignment allocIoBuffer gives: enough for O_DIRECT on every disk (4096-byte sectors). */
export const IO_BUFFER_ALIGNMENT_BYTES = 4096;

/**
 * Memory for data on its way to or from an image file (e.g. a SCSI WRITE's payload): aligned
 * to 4096 bytes, so an O_DIRECT device writes it without a bounce copy. Not zero-filled: the
 * caller overwrites all of it. Freed when collected.
 */
export function allocIoBuffer(lengthBytes: number): Buffer {
  if (lengthBytes === 0) return Buffer.alloc(0);
  return nativeAddon().allocAligned(lengthBytes, IO_BUFFER_ALIGNMENT_BYTES, false);
}

const FIELDS_PER_REQUEST = 4; // op, fd, offsetBytes, id: the addon's flat encoding
const OP_NAMES = ["read", "write", "fsync", "fdatasync", "writeDsync"] as const;

/** An I/O request the kernel failed (EIO, ENOSPC, ...): an operating error, not misuse. */
export class NativeIoError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly errno: number,
  ) {
    super(message);
    this.name = "NativeIoError";
  }
}

interface WaitingRequest {
  op: number;
  fd: number;
  offsetBytes: number;
  buffer: Uint8Array | undefined;
  resolve: (result: number) => void;
  reject: (error: Error) => void;
}

let announcedBackend = false;

export class NativeRing {
  readonly backend: IoBackendName;
  /** Why the thread pool is used; empty with io_uring. */
  readonly fallbackReason: string;
  readonly capacity: number;
  /** Whether the slabs are registered with io_uring (reads and writes in them use *_FIXED). */
  readonly fixedBuffers: boolean;
  /** The 64 KiB slabs; undefined with slabCount 0. */
  readonly slabs: SlabPool | undefined;

  private readonly addon: NativeAddon;
  private readonly handle: RingHandle;
  private readonly freeIds: Int32Array;
  private freeIdCount: number;
  // Per id while its request is in flight: how to settle it and what to name in an error.
  private readonly resolvers: (((result: number) => void) | undefined)[];
  private readonly rejecters: (((error: Error) => void) | undefined)[];
  private readonly opOf: Uint8Array;
  private readonly fdOf: Int32Array;
  private readonly offsetOf: Float64Array;
  private readonly lengthOf: Uint32Array;

  private readonly batch: Float64Array;
  private readonly batchBuffers: (Uint8Array | undefined)[];
  private batchCount = 0;
  private flushScheduled = false;
  private readonly waiting: WaitingRequest[] = [];
  private closing = false;
  private closed: Promise<void> | undefined;
  private resolveClosed: () => void = () => {};

  private constructor(addon: NativeAddon, options: RingOptions) {
    this.addon = addon;
    this.handle = new addon.Ring(options, (pairs, closed) => this.onCompletions(pairs, closed));
    this.backend = this.handle.backend;
    this.fallbackReason = this.handle.fallbackReason;
    this.capacity = this.handle.capacity;
    this.fixedBuffers = this.handle.fixedBuffers;
    const region = this.handle.slabs;
    this.slabs = region === undefined ? undefined : new SlabPool(region, addon.slabSizeBytes);
    this.freeIds = Int32Array.from({ length: this.capacity }, (_, i) => this.capacity - 1 - i);
    this.freeIdCount = this.capacity;
    this.resolvers = new Array(this.capacity);
    this.rejecters = new Array(this.capacity);
    this.opOf = new Uint8Array(this.capacity);
    this.fdOf = new Int32Array(this.capacity);
    this.offsetOf = new Float64Array(this.capacity);
    this.lengthOf = new Uint32Array(this.capacity);
    this.batch = new Float64Array(this.capacity * FIELDS_PER_REQUEST);
    this.batchBuffers = new Array(this.capacity).fill(undefined);
  }

  /** TWINSAN_NO_IO_URING=1 in the environment forces the thread-pool fallback (for tests). */
  static open(options: RingOptions = {}): NativeRing {
    const ioUring = options.ioUring ?? process.env.TWINSAN_NO_IO_URING !== "1";
    const ring = new NativeRing(nativeAddon(), { ...options, ioUring });
    if (!announcedBackend) {
      announcedBackend = true;
      if (ring.backend === "io_uring") {
        log.info("native I/O backend", { backend: ring.backend });
      } else {
        log.warn("native I/O backend", { backend: ring.backend, reason: ring.fallbackReason });
      }
    }
    return ring;
  }

  /** Resolves with the bytes read: fewer than buffer.length only at end of file. */
  read(fd: number, offsetBytes: number, buffer: Uint8Array): Promise<number> {
    assertTransfer("read", fd, offsetBytes, buffer);
    return this.enqueue(this.addon.IoOp.read, fd, offsetBytes, buffer);
  }

  /** Resolves with the bytes written. */
  write(fd: number, offsetBytes: number, buffer: Uint8Array): Promise<number> {
    assertTransfer("write", fd, offsetBytes, buffer);
    return this.enqueue(this.addon.IoOp.write, fd, offsetBytes, buffer);
  }

  /** A write that is durable when it resolves (RWF_DSYNC): FUA without a separate fdatasync. */
  writeDsync(fd: number, offsetBytes: number, buffer: Uint8Array): Promise<number> {
    assertTransfer("writeDsync", fd, offsetBytes, buffer);
    return this.enqueue(this.addon.IoOp.writeDsync, fd, offsetBytes, buffer);
  }

  fsync(fd: number): Promise<void> {
    assertFd("fsync", fd);
    return this.enqueue(this.addon.IoOp.fsync, fd, 0, undefined).then(() => undefined);
  }

  fdatasync(fd: number): Promise<void> {
    assertFd("fdatasync", fd);
    return this.enqueue(this.addon.IoOp.fdatasync, fd, 0, undefined).then(() => undefined);
  }

  /**
   * Requests already made are submitted and complete normally; requests still waiting for a
   * slot and later ones are rejected. Resolves once the ring's fd and threads are gone.
   */
  close(): Promise<void> {
    if (this.closed !== undefined) return this.closed;
    this.closing = true;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.flush();
    const error = new Error("NativeRing closed before the request was submitted");
    for (const request of this.waiting.splice(0)) request.reject(error);
    this.handle.close();
    return this.closed;
  }

  private enqueue(
    op: number,
    fd: number,
    offsetBytes: number,
    buffer: Uint8Array | undefined,
  ): Promise<number> {
    if (this.closing) return Promise.reject(new Error("NativeRing is closed"));
    return new Promise((resolve, reject) => {
      if (this.freeIdCount === 0) {
        this.waiting.push({ op, fd, offsetBytes, buffer, resolve, reject });
      } else {
        this.stage(op, fd, offsetBytes, buffer, resolve, reject);
      }
    });
  }

  private stage(
    op: number,
    fd: number,
    offsetBytes: number,
    buffer: Uint8Array | undefined,
    resolve: (result: number) => void,
    reject: (error: Error) => void,
  ): void {
    const id = this.freeIds[--this.freeIdCount];
    this.resolvers[id] = resolve;
    this.rejecters[id] = reject;
    this.opOf[id] = op;
    this.fdOf[id] = fd;
    this.offsetOf[id] = offsetBytes;
    this.lengthOf[id] = buffer?.byteLength ?? 0;
    const at = this.batchCount * FIELDS_PER_REQUEST;
    this.batch[at] = op;
    this.batch[at + 1] = fd;
    this.batch[at + 2] = offsetBytes;
    this.batch[at + 3] = id;
    this.batchBuffers[this.batchCount++] = buffer;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const count = this.batchCount;
    if (count === 0) return;
    this.batchCount = 0;
    try {
      this.handle.submit(this.batch, this.batchBuffers, count);
    } catch {
      // The addon starts all or nothing; one bad request (e.g. a misaligned buffer address,
      // which only the addon can see) must fail alone, so retry one by one.
      this.submitEach(count);
    }
    this.batchBuffers.fill(undefined, 0, count);
  }

  private submitEach(count: number): void {
    for (let index = 0; index < count; index++) {
      const fields = this.batch.subarray(
        index * FIELDS_PER_REQUEST,
        (index + 1) * FIELDS_PER_REQUEST,
      );
      try {
        this.handle.submit(fields, [this.batchBuffers[index]], 1);
      } catch (error) {
        this.settle(fields[3], error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  private onCompletions(pairs: Int32Array, closed: boolean): void {
    for (let i = 0; i < pairs.length; i += 2) {
      const id = pairs[i];
      const result = pairs[i + 1];
      this.settle(id, result >= 0 ? result : this.ioError(id, -result));
    }
    while (this.freeIdCount > 0 && this.waiting.length > 0) {
      const request = this.waiting.shift()!;
      const { op, fd, offsetBytes, buffer, resolve, reject } = request;
      this.stage(op, fd, offsetBytes, buffer, resolve, reject);
    }
    if (closed) this.resolveClosed();
  }

  /** Frees the id before settling, so a continuation can reuse it at once. */
  private settle(id: number, outcome: number | Error): void {
    const resolve = this.resolvers[id];
    const reject = this.rejecters[id];
    if (resolve === undefined || reject === undefined) {
      throw new Error(`NativeRing: completion for idle id ${id}`);
    }
    this.resolvers[id] = undefined;
    this.rejecters[id] = undefined;
    this.freeIds[this.freeIdCount++] = id;
    if (typeof outcome === "number") resolve(outcome);
    else reject(outcome);
  }

  private ioError(id: number, errno: number): NativeIoError {
    const code = this.addon.errnoName(errno);
    const op = OP_NAMES[this.opOf[id]];
    const transfer = op === "read" || op === "write" || op === "writeDsync";
    const where = transfer ? ` offset ${this.offsetOf[id]} length ${this.lengthOf[id]}` : "";
    return new NativeIoError(`${op} fd ${this.fdOf[id]}${where}: ${code}`, code, errno);
  }
}

// The addon checks the same rules (and the buffer address, which JS cannot see); checking here
// too names the caller's mistake in its own stack and fails before anything is batched.
function assertTransfer(op: string, fd: number, offsetBytes: number, buffer: Uint8Array): void {
  assertFd(op, fd);
  const alignmentBytes = nativeAddon().directIoAlignmentBytes;
  if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0 || offsetBytes % alignmentBytes) {
    throw new RangeError(`${op}: offset ${offsetBytes} is not a multiple of ${alignmentBytes}`);
  }
  const lengthBytes = buffer.byteLength;
  if (lengthBytes === 0 || lengthBytes % alignmentBytes !== 0) {
    throw new RangeError(
      `${op}: length ${lengthBytes} is not a positive multiple of ${alignmentBytes}`,
    );
  }
}

function assertFd(op: string, fd: number): void {
  if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`${op}: fd ${fd} is not valid`);
}
