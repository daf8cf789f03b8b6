// A LUN backed by an image file on the native addon: the file is opened O_DIRECT by the addon
// and every read, write and sync goes through the process's shared NativeRing (io_uring, or
// its thread pool where io_uring is unavailable).
//
// - Caller memory that O_DIRECT can take (aligned address, see allocIoBuffer) is written as it
//   is; other memory is copied through the ring's 64 KiB slabs (bounded; waits when all busy).
//   Reads return fresh aligned Buffers the caller owns.
// - FUA is one write with RWF_DSYNC; flush() is fdatasync.
// - When the file system needs more alignment than the LUN's blocks (a 512-byte LUN on a disk
//   with 4096-byte sectors), unaligned writes read-modify-write the covering aligned span under
//   a range lock and unaligned reads read the covering span.
// - A file system refusing O_DIRECT (tmpfs before Linux 6.6) gets buffered I/O with a warning.
// - unmap punches a hole; allocationMap asks lseek SEEK_DATA / SEEK_HOLE.

import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { log } from "../mgmt/log.ts";
import type { AllocationExtent, BlockDevice, WriteOptions } from "./block-device.ts";
import { nativeAddon, type NativeAddon, type NativeRing } from "./native.ts";
import { acquireSharedRing, releaseSharedRing, type SharedRing } from "./native-shared-ring.ts";

export type Provisioning = "thick" | "thin";

export interface ImageFileOptions {
  path: string;
  sizeBytes: number;
  blockSizeBytes: number;
  /**
   * Only when the file is created: thick (default) allocates every block up front (fallocate,
   * no zeros written; reads return zeros), thin leaves it sparse. An existing file is kept as
   * it is.
   */
  provisioning?: Provisioning;
  /**
   * O_DIRECT (default true). When the file system refuses it the device falls back to buffered
   * I/O and logs a warning; false asks for buffered I/O outright.
   */
  direct?: boolean;
  /**
   * Treat O_DIRECT as needing at least this alignment of offsets, lengths and memory (a power
   * of two). For tests of the read-modify-write path on disks with 512-byte sectors.
   */
  minDirectIoAlignmentBytes?: number;
}

/** Reads and writes larger than this go to the ring in pieces (the addon's limit is 1 GiB). */
const MAX_REQUEST_BYTES = 64 * 1024 * 1024;
const READ_BUFFER_ALIGNMENT_BYTES = 4096;

export class ImageFileDevice implements BlockDevice {
  private closing: Promise<void> | undefined;
  private inFlight = 0;
  private onIdle: (() => void) | undefined;
  private readonly ring: NativeRing;
  /** Writes smaller than the file's direct I/O alignment read-modify-write; undefined if none. */
  private readonly spanLocks: RangeLock | undefined;

  private constructor(
    readonly path: string,
    readonly sizeBytes: number,
    readonly blockSizeBytes: number,
    /** Whether the file is open with O_DIRECT (false after a fallback to buffered I/O). */
    readonly direct: boolean,
    /** What file offsets and lengths sent to the kernel are multiples of. */
    readonly ioAlignmentBytes: number,
    /** What buffer addresses sent to the kernel are multiples of. */
    readonly memoryAlignmentBytes: number,
    private readonly addon: NativeAddon,
    private readonly fd: number,
    private readonly shared: SharedRing,
  ) {
    this.ring = shared.ring;
    this.spanLocks = blockSizeBytes < ioAlignmentBytes ? new RangeLock() : undefined;
  }

  /** "io_uring" or "threadpool" (TWINSAN_NO_IO_URING=1, or io_uring unavailable). */
  get ioBackend(): string {
    return this.ring.backend;
  }

  /**
   * Opens the image, creating it (and its parent directories) at exactly sizeBytes if missing.
   * An existing image of another size is refused: resizing a LUN is never done implicitly.
   */
  static async open(options: ImageFileOptions): Promise<ImageFileDevice> {
    const { path, sizeBytes, blockSizeBytes } = options;
    if (blockSizeBytes !== 512 && blockSizeBytes !== 4096) {
      throw new RangeError(`${path}: block size ${blockSizeBytes} is not 512 or 4096`);
    }
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % blockSizeBytes !== 0) {
      throw new RangeError(
        `${path}: size ${sizeBytes} bytes is not a positive multiple of ${blockSizeBytes}`,
      );
    }
    const minAlignment = options.minDirectIoAlignmentBytes ?? 0;
    if (minAlignment !== 0 && (minAlignment & (minAlignment - 1)) !== 0) {
      throw new RangeError(`${path}: minDirectIoAlignmentBytes ${minAlignment} is not a power of 2`);
    }
    const addon = nativeAddon();
    await mkdir(dirname(path), { recursive: true });
    const { fd, direct } = openImageFile(addon, path, sizeBytes, options);
    let shared: SharedRing | undefined;
    try {
      const actualSizeBytes = addon.fileSize(fd);
      if (actualSizeBytes !== sizeBytes) {
        throw new Error(
          `${path}: existing image is ${actualSizeBytes} bytes but the LUN is configured as ` +
            `${sizeBytes} bytes; refusing to use it (resize or remove the file explicitly)`,
        );
      }
      // The addon checks every transfer against its own floor (512) as well.
      let ioAlignment = addon.directIoAlignmentBytes;
      let memoryAlignment = addon.directIoAlignmentBytes;
      if (direct) {
        const needed = addon.directIoAlignment(fd);
        ioAlignment = Math.max(ioAlignment, needed.offsetBytes, minAlignment);
        memoryAlignment = Math.max(memoryAlignment, needed.memoryBytes, minAlignment);
      }
      if (ioAlignment > READ_BUFFER_ALIGNMENT_BYTES || memoryAlignment > READ_BUFFER_ALIGNMENT_BYTES) {
        throw new Error(
          `${path}: O_DIRECT needs ${ioAlignment}-byte offsets and ${memoryAlignment}-byte ` +
            `memory, more than the supported ${READ_BUFFER_ALIGNMENT_BYTES}`,
        );
      }
      shared = acquireSharedRing();
      return new ImageFileDevice(
        path,
        sizeBytes,
        blockSizeBytes,
        direct,
        ioAlignment,
        memoryAlignment,
        addon,
        fd,
        shared,
      );
    } catch (error) {
      if (shared !== undefined) await releaseSharedRing(shared);
      addon.close(fd);
      throw error;
    }
  }

  read(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    try {
      this.assertRange(offsetBytes, lengthBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    if (lengthBytes === 0) return Promise.resolve(Buffer.alloc(0));
    return this.track(this.readCovering(offsetBytes, lengthBytes));
  }

  /**
   * The caller must not change `data` until the promise settles: memory O_DIRECT can take is
   * handed to the kernel without a copy.
   */
  write(offsetBytes: number, data: Buffer, options: WriteOptions = {}): Promise<void> {
    try {
      this.assertRange(offsetBytes, data.length);
    } catch (error) {
      return Promise.reject(error);
    }
    const fua = options.fua === true;
    if (data.length === 0) return fua ? this.flush() : Promise.resolve();
    const work =
      this.spanLocks === undefined
        ? this.writeAligned(offsetBytes, data, fua)
        : this.writeLocked(this.spanLocks, offsetBytes, data, fua);
    return this.track(work);
  }

  flush(): Promise<void> {
    try {
      this.assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.track(this.ring.fdatasync(this.fd));
  }

  /** Deallocates the range; it reads as zeros afterwards. */
  unmap(offsetBytes: number, lengthBytes: number): Promise<void> {
    try {
      this.assertRange(offsetBytes, lengthBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    if (lengthBytes === 0) return Promise.resolve();
    const punch = (): void => this.addon.punchHole(this.fd, offsetBytes, lengthBytes);
    if (this.spanLocks === undefined) {
      return this.track(Promise.resolve().then(punch));
    }
    // A hole punched into part of an aligned span must not interleave with a read-modify-write
    // of that span, which would write the old data back.
    const [start, end] = this.coveringSpan(offsetBytes, lengthBytes);
    return this.track(this.spanLocks.run(start, end, async () => punch()));
  }

  /**
   * Mapped and unmapped extents covering exactly the range, from SEEK_DATA / SEEK_HOLE. Space
   * allocated but never written (a thick image's fallocated blocks) reads as zeros and is
   * reported unmapped on file systems that track it (ext4, xfs). A block partly backed by data
   * counts as mapped.
   */
  allocationMap(offsetBytes: number, lengthBytes: number): Promise<AllocationExtent[]> {
    try {
      this.assertRange(offsetBytes, lengthBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.track(Promise.resolve().then(() => this.mapExtents(offsetBytes, lengthBytes)));
  }

  /** Requests in flight complete first; I/O asked for after the call is refused. */
  close(): Promise<void> {
    this.closing ??= this.closeWhenIdle();
    return this.closing;
  }

  private async closeWhenIdle(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.onIdle = resolve));
    try {
      this.addon.close(this.fd);
    } finally {
      await releaseSharedRing(this.shared);
    }
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight++;
    const done = (): void => {
      if (--this.inFlight === 0 && this.onIdle !== undefined) this.onIdle();
    };
    work.then(done, done);
    return work;
  }

  private coveringSpan(offsetBytes: number, lengthBytes: number): [number, number] {
    const alignment = this.ioAlignmentBytes;
    const start = offsetBytes - (offsetBytes % alignment);
    const end = Math.ceil((offsetBytes + lengthBytes) / alignment) * alignment;
    return [start, end];
  }

  /** Reads the aligned span covering the range into new memory and returns the range's part. */
  private async readCovering(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    const [start, end] = this.coveringSpan(offsetBytes, lengthBytes);
    const buffer = this.addon.allocAligned(end - start, READ_BUFFER_ALIGNMENT_BYTES, false);
    await this.readFully(start, buffer);
    if (start === offsetBytes && end === offsetBytes + lengthBytes) return buffer;
    return buffer.subarray(offsetBytes - start, offsetBytes - start + lengthBytes);
  }

  private async readFully(offsetBytes: number, buffer: Buffer): Promise<void> {
    let doneBytes = 0;
    while (doneBytes < buffer.length) {
      const pieceBytes = Math.min(buffer.length - doneBytes, MAX_REQUEST_BYTES);
      const piece = buffer.subarray(doneBytes, doneBytes + pieceBytes);
      const readBytes = await this.ring.read(this.fd, offsetBytes + doneBytes, piece);
      // Short only at the end of the file, which an image of the configured size never has
      // inside the device (or if it was truncated behind the device's back).
      if (readBytes === 0 || readBytes % this.addon.directIoAlignmentBytes !== 0) {
        throw new Error(`${this.path}: unexpected end of file at ${offsetBytes + doneBytes}`);
      }
      doneBytes += readBytes;
    }
  }

  private async writeFully(offsetBytes: number, data: Buffer, fua: boolean): Promise<void> {
    let doneBytes = 0;
    while (doneBytes < data.length) {
      const pieceBytes = Math.min(data.length - doneBytes, MAX_REQUEST_BYTES);
      const piece = data.subarray(doneBytes, doneBytes + pieceBytes);
      const at = offsetBytes + doneBytes;
      const writtenBytes = fua
        ? await this.ring.writeDsync(this.fd, at, piece)
        : await this.ring.write(this.fd, at, piece);
      if (writtenBytes === 0 || writtenBytes % this.addon.directIoAlignmentBytes !== 0) {
        throw new Error(`${this.path}: short write of ${writtenBytes} bytes at ${at}`);
      }
      doneBytes += writtenBytes;
    }
  }

  /** offsetBytes and data.length are multiples of ioAlignmentBytes. */
  private writeAligned(offsetBytes: number, data: Buffer, fua: boolean): Promise<void> {
    if (this.addon.misalignment(data, this.memoryAlignmentBytes) === 0) {
      return this.writeFully(offsetBytes, data, fua); // zero copy
    }
    return this.writeBounced(offsetBytes, data, fua);
  }

  /** Copies through the ring's slabs, one slab per 64 KiB piece, pieces written in parallel. */
  private async writeBounced(offsetBytes: number, data: Buffer, fua: boolean): Promise<void> {
    const slabBytes = this.shared.slabSizeBytes;
    if (slabBytes === 0) {
      const copy = this.addon.allocAligned(data.length, READ_BUFFER_ALIGNMENT_BYTES, false);
      data.copy(copy);
      return this.writeFully(offsetBytes, copy, fua);
    }
    const pieces: Promise<void>[] = [];
    for (let at = 0; at < data.length; at += slabBytes) {
      pieces.push(this.writeThroughSlab(offsetBytes + at, data.subarray(at, at + slabBytes), fua));
    }
    // Every piece settles before the write does, so no slab is still in use by a failed write.
    const results = await Promise.allSettled(pieces);
    for (const result of results) if (result.status === "rejected") throw result.reason;
  }

  private async writeThroughSlab(offsetBytes: number, piece: Buffer, fua: boolean): Promise<void> {
    const slab = await this.shared.acquireSlab()!;
    try {
      piece.copy(slab);
      await this.writeFully(offsetBytes, slab.subarray(0, piece.length), fua);
    } finally {
      this.shared.releaseSlab(slab);
    }
  }

  /**
   * Writes on a file needing more alignment than the LUN's blocks: each holds a lock on its
   * covering aligned span, so a read-modify-write never writes back stale data over another
   * write's blocks. Writes on disjoint spans run in parallel.
   */
  private writeLocked(
    locks: RangeLock,
    offsetBytes: number,
    data: Buffer,
    fua: boolean,
  ): Promise<void> {
    const [start, end] = this.coveringSpan(offsetBytes, data.length);
    return locks.run(start, end, async () => {
      if (start === offsetBytes && end === offsetBytes + data.length) {
        return this.writeAligned(offsetBytes, data, fua);
      }
      const alignment = this.ioAlignmentBytes;
      const span = this.addon.allocAligned(end - start, READ_BUFFER_ALIGNMENT_BYTES, false);
      const reads: Promise<void>[] = [];
      if (offsetBytes !== start) reads.push(this.readFully(start, span.subarray(0, alignment)));
      const tailStart = end - alignment;
      const tailPartial = offsetBytes + data.length !== end;
      if (tailPartial && (tailStart !== start || offsetBytes === start)) {
        reads.push(this.readFully(tailStart, span.subarray(tailStart - start)));
      }
      await Promise.all(reads);
      data.copy(span, offsetBytes - start);
      await this.writeFully(start, span, fua);
    });
  }

  private mapExtents(offsetBytes: number, lengthBytes: number): AllocationExtent[] {
    const end = offsetBytes + lengthBytes;
    const block = this.blockSizeBytes;
    const mapped: [number, number][] = [];
    let position = offsetBytes;
    while (position < end) {
      const dataStart = this.addon.seekData(this.fd, position);
      if (dataStart < 0 || dataStart >= end) break;
      let dataEnd = this.addon.seekHole(this.fd, dataStart);
      if (dataEnd < 0 || dataEnd > end) dataEnd = end;
      // Out to whole blocks (file system blocks may be smaller than the LUN's).
      const from = Math.max(offsetBytes, dataStart - (dataStart % block));
      const to = Math.min(end, Math.ceil(dataEnd / block) * block);
      const last = mapped[mapped.length - 1];
      if (last !== undefined && from <= last[1]) last[1] = Math.max(last[1], to);
      else mapped.push([from, to]);
      position = to;
    }
    const extents: AllocationExtent[] = [];
    let cursor = offsetBytes;
    for (const [from, to] of mapped) {
      if (from > cursor) extents.push({ offsetBytes: cursor, lengthBytes: from - cursor, mapped: false });
      extents.push({ offsetBytes: from, lengthBytes: to - from, mapped: true });
      cursor = to;
    }
    if (cursor < end) extents.push({ offsetBytes: cursor, lengthBytes: end - cursor, mapped: false });
    return extents;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error(`${this.path}: device is closed`);
  }

  private assertRange(offsetBytes: number, lengthBytes: number): void {
    this.assertOpen();
    const aligned =
      Number.isSafeInteger(offsetBytes) &&
      Number.isSafeInteger(lengthBytes) &&
      offsetBytes % this.blockSizeBytes === 0 &&
      lengthBytes % this.blockSizeBytes === 0;
    if (!aligned) {
      throw new RangeError(
        `${this.path}: offset ${offsetBytes} / length ${lengthBytes} not aligned to ` +
          `${this.blockSizeBytes}-byte blocks`,
      );
    }
    if (offsetBytes < 0 || lengthBytes < 0 || offsetBytes + lengthBytes > this.sizeBytes) {
      throw new RangeError(
        `${this.path}: range ${offsetBytes}+${lengthBytes} is outside the device ` +
          `(${this.sizeBytes} bytes)`,
      );
    }
  }
}

/**
 * Opens (creating if missing) with O_DIRECT, falling back to buffered I/O with a warning when
 * the file system refuses O_DIRECT, and to a sparse file when it cannot preallocate.
 */
function openImageFile(
  addon: NativeAddon,
  path: string,
  sizeBytes: number,
  options: ImageFileOptions,
): { fd: number; direct: boolean } {
  let direct = options.direct ?? true;
  let allocate = (options.provisioning ?? "thick") === "thick";
  for (;;) {
    try {
      return { fd: addon.openImage(path, { direct, create: true, sizeBytes, allocate }), direct };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (direct && code === "EINVAL") {
        log.warn("the file system refuses O_DIRECT; using buffered I/O for this image", {
          path,
        });
        direct = false;
      } else if (allocate && code === "EOPNOTSUPP") {
        log.warn("the file system cannot preallocate; creating the image thin", { path });
        allocate = false;
      } else {
        throw error;
      }
    }
  }
}

/** Mutual exclusion over byte ranges: run() waits for every overlapping holder to finish. */
class RangeLock {
  private readonly held = new Set<{ start: number; end: number; done: Promise<void> }>();

  async run<T>(start: number, end: number, work: () => Promise<T>): Promise<T> {
    for (;;) {
      let blocker: Promise<void> | undefined;
      for (const entry of this.held) {
        if (entry.start < end && start < entry.end) {
          blocker = entry.done;
          break;
        }
      }
      if (blocker === undefined) break;
      await blocker;
    }
    let release!: () => void;
    const entry = { start, end, done: new Promise<void>((resolve) => (release = resolve)) };
    this.held.add(entry);
    try {
      return await work();
    } finally {
      this.held.delete(entry);
      release();
    }
  }
}
