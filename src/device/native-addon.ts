// Loads twinsan's native addon (native/, built by cmake-js into build/Release) and types it.
// The addon is loaded on first use, so importing this module never fails on its own.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export interface OpenImageOptions {
  /** O_DIRECT (default true); a file system refusing it throws EINVAL, never falls back. */
  direct?: boolean;
  /** Create the file at sizeBytes if it does not exist; an existing file is never resized. */
  create?: boolean;
  sizeBytes?: number;
  /**
   * When this call creates the file, allocate every block (fallocate: unwritten extents that
   * read as zeros) instead of leaving it sparse. A file that cannot be sized is removed.
   */
  allocate?: boolean;
}

/** What O_DIRECT on one file needs; from statx STATX_DIOALIGN where the kernel answers it. */
export interface DirectIoAlignment {
  /** File offsets and lengths must be multiples of this. */
  offsetBytes: number;
  /** Buffer addresses must be multiples of this. */
  memoryBytes: number;
  source: "statx" | "BLKSSZGET" | "sysfs" | "default";
}

export interface RingOptions {
  /** Submission queue size and the most requests in flight (default 256). */
  entries?: number;
  /** 64 KiB slabs registered with io_uring as fixed buffers (default 64). */
  slabCount?: number;
  /** Worker threads of the thread-pool fallback (default 4). */
  threads?: number;
  /** false forces the thread-pool fallback (default true). */
  ioUring?: boolean;
}

export type IoBackendName = "io_uring" | "threadpool";

/** pairs holds [id, result] per completion; result is bytes, 0 or -errno. */
export type CompletionHandler = (pairs: Int32Array, closed: boolean) => void;

export interface RingHandle {
  /** Request i is requests[4i..4i+3] = op, fd, offsetBytes, id; buffers[i] for read/write. */
  submit(requests: Float64Array, buffers: (Uint8Array | undefined)[], count: number): void;
  close(): void;
  readonly backend: IoBackendName;
  readonly fallbackReason: string;
  readonly capacity: number;
  readonly fixedBuffers: boolean;
  readonly slabs: Buffer | undefined;
}

export interface NativeAddon {
  /** Returns an fd opened O_RDWR | O_CLOEXEC (| O_DIRECT). */
  openImage(path: string, options: OpenImageOptions): number;
  fallocate(fd: number, offsetBytes: number, lengthBytes: number): void;
  punchHole(fd: number, offsetBytes: number, lengthBytes: number): void;
  close(fd: number): void;
  fileSize(fd: number): number;
  /** lseek SEEK_DATA: the first data at or after offsetBytes, or -1 if there is none (ENXIO). */
  seekData(fd: number, offsetBytes: number): number;
  /** lseek SEEK_HOLE: the first hole at or after offsetBytes (the end of file counts), or -1. */
  seekHole(fd: number, offsetBytes: number): number;
  directIoAlignment(fd: number): DirectIoAlignment;
  /**
   * Memory aligned to alignmentBytes (default 4096), freed when collected; zero-filled unless
   * zeroFill is false (for memory that a read overwrites at once).
   */
  allocAligned(sizeBytes: number, alignmentBytes?: number, zeroFill?: boolean): Buffer;
  /** The view's start address modulo alignmentBytes (a power of two); 0 means aligned. */
  misalignment(view: ArrayBufferView, alignmentBytes: number): number;
  errnoName(errno: number): string;
  readonly IoOp: {
    read: number;
    write: number;
    fsync: number;
    fdatasync: number;
    /** A write that is durable when it completes (RWF_DSYNC), for FUA in one request. */
    writeDsync: number;
  };
  readonly slabSizeBytes: number;
  readonly directIoAlignmentBytes: number;
  readonly Ring: new (options: RingOptions, onCompletions: CompletionHandler) => RingHandle;
}

export const ADDON_PATH = fileURLToPath(
  new URL("../../build/Release/twinsan_native.node", import.meta.url),
);

let addon: NativeAddon | undefined;

export function nativeAddon(): NativeAddon {
  if (addon !== undefined) return addon;
  if (!existsSync(ADDON_PATH)) {
    throw new Error(
      `twinsan native addon is not built (${ADDON_PATH} is missing): run \`npm install\`, ` +
        "or `npx cmake-js compile` after changing native/",
    );
  }
  addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
  return addon;
}
