// A block cache over a BlockDevice: read caching in both modes; in write-back mode writes are
// acknowledged once copied into the cache and a background flusher writes them out in
// coalesced, line-aligned extents; in write-through mode (and for FUA writes) the backing
// device has the data before the write resolves.
//
// Stack: the replicated device (HA) wraps this cache and implements BlockDevice itself: it
// mirrors a write to the partners' caches, then calls write() here, so every write of a LUN
// enters through storeWrite() below.
import assert from "node:assert/strict";
import { log } from "../mgmt/log.ts";
import type { AllocationExtent, BlockDevice, WriteOptions } from "./block-device.ts";
import type { CacheLine } from "./cache-line.ts";
import { LineTable } from "./cache-line-table.ts";
import { IoOrder, type ReleaseIo } from "./cache-io-order.ts";
import { FlushBuffers } from "./cache-flush-buffers.ts";

export type CacheMode = "write-back" | "write-through";

export interface WriteBackCacheOptions {
  capacityBytes: number; // a multiple of lineBytes
  mode: CacheMode;
  lineBytes?: number; // 65536 by default
  /** Fraction of the capacity dirty at which the background flusher starts. */
  highWatermark?: number;
  /** Fraction of the capacity dirty at which a watermark-started flusher stops. */
  lowWatermark?: number;
  /** Every this often the flusher writes out everything dirty. */
  flushIntervalMs?: number;
  /** Names the device in log lines. */
  name?: string;
}

export interface CacheStats {
  hits: number; // read calls served from the cache alone
  misses: number; // read calls that went to the backing device
  dirtyBytes: number;
  flushedBytes: number; // written to backing by the flusher
  lastFlushMs: number | null; // how long the last flush() (or the one on close) took
}

const DEFAULT_LINE_BYTES = 64 * 1024;
/** A read miss is widened to this alignment, the granule O_DIRECT wants. */
const READ_ALIGNMENT_BYTES = 4096;
const DEFAULT_HIGH_WATERMARK = 0.5;
const DEFAULT_LOW_WATERMARK = 0.25;
const DEFAULT_FLUSH_INTERVAL_MS = 1000;
const MAX_FLUSH_EXTENT_BYTES = 1024 * 1024;
/** Flush writes in flight at most (each holds one staging buffer). */
const FLUSH_BUFFER_COUNT = 4;

/** Dirty blocks copied out of the lines, on their way to the backing device. */
interface FlushExtent {
  firstBlock: number;
  endBlock: number;
  lines: CacheLine[];
  entered: Promise<ReleaseIo>;
}

export class WriteBackCache implements BlockDevice {
  readonly blockSizeBytes: number;
  readonly sizeBytes: number;
  /** Present only when the backing device can unmap. */
  readonly unmap?: (offsetBytes: number, lengthBytes: number) => Promise<void>;
  /** Present only when the backing device has an allocation map. */
  readonly allocationMap?: (offsetBytes: number, lengthBytes: number) =>
    Promise<AllocationExtent[]>;
  private mode: CacheMode;
  private readonly highWatermarkBytes: number;
  private readonly lowWatermarkBytes: number;
  private readonly flushIntervalMs: number;
  private readonly name: string;
  private readonly lines: LineTable;
  private readonly io = new IoOrder();
  private readonly flushBuffers: FlushBuffers;
  /** Every backing write in flight (flusher and write-through); flush() waits for them. */
  private readonly backingWrites = new Set<Promise<void>>();
  private backingWriteFailures = 0;
  private flusher: Promise<void> | undefined;
  private flusherPausedUntilMs = 0;
  private readonly flushTimer: ReturnType<typeof setInterval>;
  private hits = 0;
  private misses = 0;
  private flushedBytes = 0;
  private lastFlushMs: number | null = null;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly backing: BlockDevice,
    options: WriteBackCacheOptions,
  ) {
    const lineBytes = options.lineBytes ?? DEFAULT_LINE_BYTES;
    const high = options.highWatermark ?? DEFAULT_HIGH_WATERMARK;
    const low = options.lowWatermark ?? DEFAULT_LOW_WATERMARK;
    if (!(low >= 0 && low < high && high <= 1)) {
      throw new RangeError(`cache watermarks must satisfy 0 <= low ${low} < high ${high} <= 1`);
    }
    if (lineBytes % backing.blockSizeBytes !== 0 || options.capacityBytes % lineBytes !== 0 ||
      options.capacityBytes < lineBytes) {
      throw new RangeError(
        `cache capacity ${options.capacityBytes} and line ${lineBytes} bytes must be whole ` +
          `lines of whole ${backing.blockSizeBytes}-byte blocks`,
      );
    }
    this.blockSizeBytes = backing.blockSizeBytes;
    this.sizeBytes = backing.sizeBytes;
    this.mode = options.mode;
    this.highWatermarkBytes = high * options.capacityBytes;
    this.lowWatermarkBytes = low * options.capacityBytes;
    this.flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    this.name = options.name ?? "device";
    this.lines = new LineTable({
      lineBytes,
      blockSizeBytes: backing.blockSizeBytes,
      deviceBlocks: backing.sizeBytes / backing.blockSizeBytes,
      capacityBytes: options.capacityBytes,
    });
    const extentBytes = Math.min(MAX_FLUSH_EXTENT_BYTES, options.capacityBytes);
    this.flushBuffers = new FlushBuffers(FLUSH_BUFFER_COUNT, extentBytes);
    const backingUnmap = backing.unmap?.bind(backing);
    if (backingUnmap) {
      this.unmap = (offset, length) => this.unmapRange(offset, length, backingUnmap);
    }
    const backingMap = backing.allocationMap?.bind(backing);
    if (backingMap) {
      this.allocationMap = (offset, length) => this.mapRange(offset, length, backingMap);
    }
    this.flushTimer = setInterval(() => this.flushOnInterval(), this.flushIntervalMs);
    this.flushTimer.unref?.();
  }

  /** What the Caching mode page WCE bit reports. */
  get writeCacheEnabled(): boolean {
    return this.mode === "write-back";
  }

  /** Switching to write-through resolves once everything cached before is durable. */
  async setMode(mode: CacheMode): Promise<void> {
    this.assertOpen();
    const previous = this.mode;
    this.mode = mode;
    if (previous === "write-back" && mode === "write-through") await this.flush();
  }

  stats(): CacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      dirtyBytes: this.dirtyBytes,
      flushedBytes: this.flushedBytes,
      lastFlushMs: this.lastFlushMs,
    };
  }

  /** Always a fresh copy: line buffers are reused, so a view could change under the caller. */
  async read(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    this.assertRange(offsetBytes, lengthBytes);
    const out = Buffer.allocUnsafe(lengthBytes);
    if (lengthBytes === 0) return out;
    const firstBlock = offsetBytes / this.blockSizeBytes;
    const endBlock = firstBlock + lengthBytes / this.blockSizeBytes;
    if (this.copyIfCached(firstBlock, endBlock, out)) {
      this.hits++;
      return out;
    }
    this.misses++;
    if (endBlock - firstBlock >= this.blocksPerLine && !this.anyLineIn(firstBlock, endBlock)) {
      return this.readAround(firstBlock, endBlock);
    }
    await this.readThrough(firstBlock, endBlock, out);
    return out;
  }

  async write(offsetBytes: number, data: Buffer, options: WriteOptions = {}): Promise<void> {
    this.assertRange(offsetBytes, data.length);
    if (data.length === 0) return;
    await this.storeWrite(offsetBytes / this.blockSizeBytes, data, options.fua === true);
  }

  /** Every block dirty when called is on the backing device, and backing.flush() resolved. */
  async flush(): Promise<void> {
    this.assertOpen();
    await this.flushEverything();
  }

  /** Flushes everything, then closes the backing device; stats() still answers afterwards. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private get dirtyBytes(): number {
    return this.lines.dirtyBlocks * this.blockSizeBytes;
  }

  private get blocksPerLine(): number {
    return this.lines.blocksPerLine;
  }

  /**
   * The one write path, whatever the mode. The HA replicated device calls write() after the
   * partners acknowledged their copy, so it needs no change here.
   */
  private async storeWrite(firstBlock: number, data: Buffer, fua: boolean): Promise<void> {
    if (fua || this.mode === "write-through" || !this.hasRoomFor(firstBlock, data.length)) {
      // With every line dirty, a write goes around the cache rather than wait for the flusher:
      // random writes over a large LUN then run at the disk's speed, not the flusher's.
      await this.writeThrough(firstBlock, data, fua);
      if (!fua && this.mode === "write-back") this.kickFlusher();
      return;
    }
    await this.writeIntoLines(firstBlock, data);
    this.kickFlusher();
  }

  private hasRoomFor(firstBlock: number, lengthBytes: number): boolean {
    const endBlock = firstBlock + lengthBytes / this.blockSizeBytes;
    return this.lines.canHoldNow(Math.floor(firstBlock / this.blocksPerLine),
      Math.floor((endBlock - 1) / this.blocksPerLine) + 1);
  }

  /** Write-back: copies into the lines and marks the blocks dirty; waits only for a free line. */
  private async writeIntoLines(firstBlock: number, data: Buffer): Promise<void> {
    const size = this.blockSizeBytes;
    const endBlock = firstBlock + data.length / size;
    let block = firstBlock;
    while (block < endBlock) {
      const index = Math.floor(block / this.blocksPerLine);
      const line = await this.lines.getOrAllocatePinned(index, () => this.kickFlusher());
      try {
        // close() flushes once; a write stored after that would be lost.
        this.assertOpen();
        const lineStart = index * this.blocksPerLine;
        const lineEndBlock = Math.min(endBlock, lineStart + line.blockCount);
        line.store(block - lineStart, data.subarray((block - firstBlock) * size,
          (lineEndBlock - firstBlock) * size));
        this.lines.markDirty(line, block - lineStart, lineEndBlock - lineStart);
        block = lineEndBlock;
      } finally {
        this.lines.unpin(line);
      }
    }
  }

  /**
   * The cached copy is updated (lines present or free now; never waits for one) and the
   * backing device written, in order with every other backing I/O on these blocks.
   */
  private async writeThrough(firstBlock: number, data: Buffer, fua: boolean): Promise<void> {
    const endBlock = firstBlock + data.length / this.blockSizeBytes;
    const pinned = this.pinLines(firstBlock, endBlock);
    for (const line of pinned) {
      const [first, end] = this.lineSlice(line, firstBlock, endBlock);
      const lineStart = line.index * this.blocksPerLine;
      line.store(first, data.subarray((lineStart + first - firstBlock) * this.blockSizeBytes,
        (lineStart + end - firstBlock) * this.blockSizeBytes));
      this.lines.clearDirty(line, first, end); // superseded by what goes to backing now
    }
    // Registered in the same tick as the copies: the backing sees writes in cache order.
    const entered = this.io.enter(firstBlock, endBlock, "write");
    const written = this.writeBacking(firstBlock, endBlock, pinned, entered, async () => {
      await this.backing.write(firstBlock * this.blockSizeBytes, data, { fua });
    });
    await written;
  }

  /** Runs one backing write of [firstBlock, endBlock); failure leaves the blocks dirty. */
  private writeBacking(
    firstBlock: number,
    endBlock: number,
    pinned: CacheLine[],
    entered: Promise<ReleaseIo>,
    issue: () => Promise<void>,
  ): Promise<void> {
    const written = (async () => {
      const release = await entered;
      try {
        await issue();
      } catch (error) {
        this.backingWriteFailures++;
        for (const line of pinned) this.redirty(line, firstBlock, endBlock);
        throw error;
      } finally {
        release();
        for (const line of pinned) this.lines.unpin(line);
      }
    })();
    this.backingWrites.add(written);
    const forget = (): void => void this.backingWrites.delete(written);
    written.then(forget, forget);
    return written;
  }

  /** After a failed backing write: valid clean blocks hold data the backing may lack. */
  private redirty(line: CacheLine, firstBlock: number, endBlock: number): void {
    const [first, end] = this.lineSlice(line, firstBlock, endBlock);
    for (let block = first; block < end; block++) {
      if (line.valid[block] === 1 && line.dirty[block] === 0) {
        this.lines.markDirty(line, block, block + 1);
      }
    }
  }

  /** Serves the read from the lines if every block is valid; false (nothing copied) if not. */
  private copyIfCached(firstBlock: number, endBlock: number, out: Buffer): boolean {
    const firstIndex = Math.floor(firstBlock / this.blocksPerLine);
    const endIndex = Math.floor((endBlock - 1) / this.blocksPerLine) + 1;
    for (let index = firstIndex; index < endIndex; index++) {
      const line = this.lines.get(index);
      if (!line) return false;
      const [first, end] = this.lineSlice(line, firstBlock, endBlock);
      if (!line.allValid(first, end)) return false;
    }
    for (let index = firstIndex; index < endIndex; index++) {
      const line = this.lines.get(index) as CacheLine;
      this.copyOut(line.data, index, firstBlock, endBlock, out);
      this.lines.touch(line);
    }
    return true;
  }

  /**
   * A miss: reads the requested blocks, widened to 4 KiB alignment for O_DIRECT, in one backing
   * call (not the whole 64 KiB line: a random 4 KiB read must not cost 64 KiB of disk reads),
   * fills the blocks of its lines that are still invalid (a write may have landed meanwhile) and
   * answers from the lines. Lines that cannot be had without waiting are answered from the span.
   */
  private async readThrough(firstBlock: number, endBlock: number, out: Buffer): Promise<void> {
    const size = this.blockSizeBytes;
    const alignBlocks = Math.max(1, READ_ALIGNMENT_BYTES / size);
    const spanFirst = Math.floor(firstBlock / alignBlocks) * alignBlocks;
    const spanEnd = Math.min(Math.ceil(endBlock / alignBlocks) * alignBlocks, this.sizeBytes / size);
    const pinned = this.pinLines(spanFirst, spanEnd);
    let span: Buffer;
    try {
      const release = await this.io.enter(spanFirst, spanEnd, "read");
      try {
        span = await this.backing.read(spanFirst * size, (spanEnd - spanFirst) * size);
      } finally {
        release();
      }
      assert.equal(span.length, (spanEnd - spanFirst) * size, "backing returned a short read");
      for (const line of pinned) {
        const lineStart = line.index * this.blocksPerLine;
        const from = Math.max(spanFirst, lineStart);
        const to = Math.min(spanEnd, lineStart + line.blockCount);
        line.fillInvalid(span.subarray((from - spanFirst) * size, (to - spanFirst) * size),
          from - lineStart);
      }
      const pinnedByIndex = new Map(pinned.map((line) => [line.index, line]));
      const firstIndex = Math.floor(firstBlock / this.blocksPerLine);
      for (let index = firstIndex; index * this.blocksPerLine < endBlock; index++) {
        const line = pinnedByIndex.get(index);
        if (line) {
          this.copyOut(line.data, index, firstBlock, endBlock, out);
          continue;
        }
        const first = Math.max(firstBlock, index * this.blocksPerLine);
        const end = Math.min(endBlock, (index + 1) * this.blocksPerLine);
        span.copy(out, (first - firstBlock) * size, (first - spanFirst) * size,
          (end - spanFirst) * size);
      }
    } finally {
      for (const line of pinned) this.lines.unpin(line);
    }
  }

  /**
   * A large read of blocks no line holds (a sequential stream, typically) goes straight to the
   * backing device and returns its buffer: no copy, and the stream does not push the hot lines
   * out of the cache.
   */
  private async readAround(firstBlock: number, endBlock: number): Promise<Buffer> {
    const size = this.blockSizeBytes;
    const release = await this.io.enter(firstBlock, endBlock, "read");
    try {
      const data = await this.backing.read(firstBlock * size, (endBlock - firstBlock) * size);
      assert.equal(data.length, (endBlock - firstBlock) * size, "backing returned a short read");
      return data;
    } finally {
      release();
    }
  }

  private anyLineIn(firstBlock: number, endBlock: number): boolean {
    const lastIndex = Math.floor((endBlock - 1) / this.blocksPerLine);
    for (let index = Math.floor(firstBlock / this.blocksPerLine); index <= lastIndex; index++) {
      if (this.lines.get(index) !== undefined) return true;
    }
    return false;
  }

  /** Copies the part of [firstBlock, endBlock) inside line `index` from `lineData` to `out`. */
  private copyOut(
    lineData: Buffer,
    index: number,
    firstBlock: number,
    endBlock: number,
    out: Buffer,
  ): void {
    const lineStart = index * this.blocksPerLine;
    const first = Math.max(firstBlock, lineStart);
    const end = Math.min(endBlock, lineStart + this.blocksPerLine);
    const size = this.blockSizeBytes;
    lineData.copy(out, (first - firstBlock) * size, (first - lineStart) * size,
      (end - lineStart) * size);
  }

  /** Pins the lines of the range that are present or can be allocated without waiting. */
  private pinLines(firstBlock: number, endBlock: number): CacheLine[] {
    const pinned: CacheLine[] = [];
    const endIndex = Math.floor((endBlock - 1) / this.blocksPerLine) + 1;
    for (let index = Math.floor(firstBlock / this.blocksPerLine); index < endIndex; index++) {
      const line = this.lines.getOrAllocate(index);
      if (!line) continue;
      this.lines.pin(line);
      pinned.push(line);
    }
    return pinned;
  }

  /** The part of the device range [firstBlock, endBlock) in `line`, as line-relative blocks. */
  private lineSlice(line: CacheLine, firstBlock: number, endBlock: number): [number, number] {
    const lineStart = line.index * this.blocksPerLine;
    const first = Math.max(firstBlock - lineStart, 0);
    const end = Math.min(endBlock - lineStart, line.blockCount);
    assert.ok(first < end, "line outside the range");
    return [first, end];
  }

  // ---- flushing ----

  private async flushEverything(): Promise<void> {
    const startedMs = performance.now();
    const failuresBefore = this.backingWriteFailures;
    await this.flushLines(this.lines.dirtyLineIndices().sort((a, b) => a - b));
    // Includes writes started by the background flusher or write-through before this call.
    await Promise.allSettled([...this.backingWrites]);
    if (this.backingWriteFailures !== failuresBefore) {
      throw new Error(`${this.name}: cache flush failed: a backing write failed`);
    }
    await this.backing.flush();
    this.lastFlushMs = performance.now() - startedMs;
  }

  /** Starts writes for the dirty blocks of the lines; resolves with how many, once started. */
  private async flushLines(indices: number[]): Promise<number> {
    let started = 0;
    for (const index of indices) {
      let fromBlock = 0;
      while (fromBlock < this.blocksPerLine) {
        const buffer = await this.flushBuffers.acquire();
        const extent = this.snapshotExtent(index, fromBlock, buffer);
        if (!extent) {
          this.flushBuffers.release(buffer);
          break;
        }
        this.writeExtent(extent, buffer).catch((error: unknown) => {
          log.warn("cache flush write failed", { device: this.name, error });
        });
        started++;
        fromBlock = extent.endBlock - index * this.blocksPerLine;
      }
    }
    return started;
  }

  /**
   * Copies the first dirty run at or after `fromBlock` of line `index` into `buffer`, running on
   * into the following lines while they are dirty from their start, up to the buffer's size and
   * never past a line boundary beyond it (an extent starting on a line stays line-aligned).
   * Dirty bits are cleared now: a write landing from here on dirties the blocks again.
   */
  private snapshotExtent(
    index: number,
    fromBlock: number,
    buffer: Buffer,
  ): FlushExtent | undefined {
    const line = this.lines.get(index);
    const start = line ? line.firstDirty(fromBlock) : -1;
    if (!line || start < 0) return undefined;
    const size = this.blockSizeBytes;
    const firstBlock = index * this.blocksPerLine + start;
    const limitBlock = Math.floor((firstBlock + buffer.length / size) / this.blocksPerLine) *
      this.blocksPerLine;
    const lines: CacheLine[] = [];
    let endBlock = firstBlock;
    while (endBlock < limitBlock) {
      const current = this.lines.get(Math.floor(endBlock / this.blocksPerLine));
      const relative = endBlock % this.blocksPerLine;
      if (!current || relative >= current.blockCount || current.dirty[relative] === 0) break;
      if (lines.at(-1) !== current) lines.push(current);
      endBlock++;
    }
    assert.ok(endBlock > firstBlock, "snapshot of an empty extent");
    for (const current of lines) {
      const [first, end] = this.lineSlice(current, firstBlock, endBlock);
      const target = (current.index * this.blocksPerLine + first - firstBlock) * size;
      current.data.copy(buffer, target, first * size, end * size);
      this.lines.clearDirty(current, first, end);
      this.lines.pin(current);
    }
    return { firstBlock, endBlock, lines, entered: this.io.enter(firstBlock, endBlock, "write") };
  }

  private async writeExtent(extent: FlushExtent, buffer: Buffer): Promise<void> {
    const { firstBlock, endBlock } = extent;
    const lengthBytes = (endBlock - firstBlock) * this.blockSizeBytes;
    try {
      await this.writeBacking(firstBlock, endBlock, extent.lines, extent.entered, async () => {
        await this.backing.write(firstBlock * this.blockSizeBytes, buffer.subarray(0, lengthBytes));
      });
      this.flushedBytes += lengthBytes;
    } finally {
      this.flushBuffers.release(buffer);
    }
  }

  /** Starts the background flusher when dirty data passed the high watermark or writers wait. */
  private kickFlusher(): void {
    if (this.flusher || this.closing || Date.now() < this.flusherPausedUntilMs) return;
    const writersWait = this.lines.waitingWriters > 0 && this.dirtyBytes > 0;
    if (this.dirtyBytes > this.highWatermarkBytes || writersWait) {
      this.startFlusher(this.lowWatermarkBytes);
    }
  }

  private flushOnInterval(): void {
    if (this.flusher || this.closing || Date.now() < this.flusherPausedUntilMs) return;
    if (this.lines.dirtyBlocks > 0) this.startFlusher(0);
  }

  private startFlusher(targetDirtyBytes: number): void {
    this.flusher = this.runFlusher(targetDirtyBytes)
      .catch((error: unknown) => log.error("cache flusher failed", { device: this.name, error }))
      .finally(() => {
        this.flusher = undefined;
        // A writer may have started waiting just as the last pass decided to stop.
        this.kickFlusher();
      });
  }

  /**
   * Oldest dirtied lines first until dirty data is at most the target (or none while writers
   * wait for a line); pauses on failure.
   */
  private async runFlusher(targetDirtyBytes: number): Promise<void> {
    const failuresBefore = this.backingWriteFailures;
    const target = (): number => (this.lines.waitingWriters > 0 ? 0 : targetDirtyBytes);
    while (this.dirtyBytes > target() && !this.closing) {
      if (this.backingWriteFailures !== failuresBefore) {
        this.flusherPausedUntilMs = Date.now() + this.flushIntervalMs;
        return;
      }
      const oldest = this.lines.oldestDirtyLine();
      if (!oldest) return;
      assert.equal(this.lines.get(oldest.index), oldest, "a dirty line was evicted");
      const started = await this.flushLines([oldest.index]);
      // Another flush may have taken the line's blocks and a writer dirtied it again before we
      // resumed: no harm, but without progress this loop must yield to the event loop.
      if (started === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  // ---- unmap and close ----

  private async unmapRange(
    offsetBytes: number,
    lengthBytes: number,
    backingUnmap: (offsetBytes: number, lengthBytes: number) => Promise<void>,
  ): Promise<void> {
    this.assertRange(offsetBytes, lengthBytes);
    if (lengthBytes === 0) return;
    const firstBlock = offsetBytes / this.blockSizeBytes;
    const endBlock = firstBlock + lengthBytes / this.blockSizeBytes;
    // Now, so the flusher does not write the old data after the unmap...
    this.invalidate(firstBlock, endBlock);
    const release = await this.io.enter(firstBlock, endBlock, "write");
    try {
      // ...and again, for what reads started before it filled in meanwhile.
      this.invalidate(firstBlock, endBlock);
      await backingUnmap(offsetBytes, lengthBytes);
    } finally {
      release();
    }
  }

  /** The backing device's map, once the range's dirty blocks are written (a write allocates). */
  private async mapRange(
    offsetBytes: number,
    lengthBytes: number,
    backingMap: (offsetBytes: number, lengthBytes: number) => Promise<AllocationExtent[]>,
  ): Promise<AllocationExtent[]> {
    this.assertRange(offsetBytes, lengthBytes);
    if (lengthBytes === 0) return backingMap(offsetBytes, lengthBytes);
    const firstBlock = offsetBytes / this.blockSizeBytes;
    const endBlock = firstBlock + lengthBytes / this.blockSizeBytes;
    const firstIndex = Math.floor(firstBlock / this.blocksPerLine);
    const endIndex = Math.floor((endBlock - 1) / this.blocksPerLine) + 1;
    const failuresBefore = this.backingWriteFailures;
    await this.flushLines(this.lines.dirtyLineIndices()
      .filter((index) => index >= firstIndex && index < endIndex)
      .sort((a, b) => a - b));
    // As a read, it waits for every write and unmap of the range issued before it.
    const release = await this.io.enter(firstBlock, endBlock, "read");
    try {
      if (this.backingWriteFailures !== failuresBefore) {
        throw new Error(`${this.name}: allocation map: writing out cached blocks failed`);
      }
      return await backingMap(offsetBytes, lengthBytes);
    } finally {
      release();
    }
  }

  private invalidate(firstBlock: number, endBlock: number): void {
    const endIndex = Math.floor((endBlock - 1) / this.blocksPerLine) + 1;
    for (let index = Math.floor(firstBlock / this.blocksPerLine); index < endIndex; index++) {
      const line = this.lines.get(index);
      if (!line) continue;
      const [first, end] = this.lineSlice(line, firstBlock, endBlock);
      this.lines.invalidate(line, first, end);
    }
  }

  private async shutDown(): Promise<void> {
    clearInterval(this.flushTimer);
    const dirtyBytes = this.dirtyBytes;
    try {
      await this.flusher;
      await this.flushEverything();
      log.info("cache flushed", {
        device: this.name,
        dirtyBytes,
        durationMs: Math.round((this.lastFlushMs ?? 0) * 1000) / 1000,
      });
    } finally {
      await this.backing.close();
    }
    assert.equal(this.io.size, 0, "backing I/O still in flight after close");
    assert.ok(this.flushBuffers.idle, "flush buffer still in use after close");
  }

  private assertOpen(): void {
    if (this.closing) throw new Error(`${this.name}: device is closed`);
  }

  private assertRange(offsetBytes: number, lengthBytes: number): void {
    this.assertOpen();
    const size = this.blockSizeBytes;
    const aligned = Number.isSafeInteger(offsetBytes) && Number.isSafeInteger(lengthBytes) &&
      offsetBytes % size === 0 && lengthBytes % size === 0;
    if (!aligned || offsetBytes < 0 || lengthBytes < 0 ||
      offsetBytes + lengthBytes > this.sizeBytes) {
      throw new RangeError(
        `${this.name}: range ${offsetBytes}+${lengthBytes} is not whole ${size}-byte blocks ` +
          `inside the device (${this.sizeBytes} bytes)`,
      );
    }
  }
}
