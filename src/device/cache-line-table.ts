// The cache's lines: a buffer region allocated once and cut into line slots, the lines present
// (keyed by line index), the clean unpinned ones in LRU order, the dirty ones in the order they
// became dirty, and the writers waiting for a slot.
import assert from "node:assert/strict";
import { CacheLine } from "./cache-line.ts";
import { allocIoBuffer } from "./native.ts";

export interface LineGeometry {
  lineBytes: number;
  blockSizeBytes: number;
  deviceBlocks: number;
  capacityBytes: number;
}

export class LineTable {
  readonly blocksPerLine: number;
  readonly slotCount: number;
  /** Dirty blocks over all lines (those snapshotted for an in-flight flush are clean). */
  dirtyBlocks = 0;
  private readonly region: Buffer;
  private readonly freeSlots: number[] = [];
  private readonly present = new Map<number, CacheLine>();
  /** Clean, unpinned lines, least recently used first: the only ones eviction may take. */
  private readonly evictable = new Map<number, CacheLine>();
  /** Lines holding dirty blocks, in the order they went from clean to dirty. */
  private readonly dirtyLines = new Map<number, CacheLine>();
  private readonly slotWaiters: Array<() => void> = [];

  constructor(private readonly geometry: LineGeometry) {
    const { lineBytes, blockSizeBytes, capacityBytes } = geometry;
    assert.ok(lineBytes % blockSizeBytes === 0, "a line is whole blocks");
    assert.ok(capacityBytes % lineBytes === 0 && capacityBytes > 0, "capacity is whole lines");
    this.blocksPerLine = lineBytes / blockSizeBytes;
    this.slotCount = capacityBytes / lineBytes;
    // Aligned for O_DIRECT: flushes and write-throughs go to the image file without a copy.
    this.region = allocIoBuffer(capacityBytes);
    for (let slot = this.slotCount - 1; slot >= 0; slot--) this.freeSlots.push(slot);
  }

  get lineCount(): number {
    return Math.ceil(this.geometry.deviceBlocks / this.blocksPerLine);
  }

  get waitingWriters(): number {
    return this.slotWaiters.length;
  }

  get(index: number): CacheLine | undefined {
    return this.present.get(index);
  }

  /** Line indices holding dirty blocks, oldest dirtied first. */
  dirtyLineIndices(): number[] {
    return [...this.dirtyLines.keys()];
  }

  oldestDirtyLine(): CacheLine | undefined {
    return this.dirtyLines.values().next().value;
  }

  /** Marks a line most recently used. */
  touch(line: CacheLine): void {
    if (!this.evictable.delete(line.index)) return;
    this.evictable.set(line.index, line);
  }

  /** The line, or a new empty one in a free or evicted slot; undefined when none is free. */
  getOrAllocate(index: number): CacheLine | undefined {
    const line = this.present.get(index);
    if (line) return line;
    assert.ok(index >= 0 && index < this.lineCount, `line ${index} outside the device`);
    const slot = this.freeSlots.pop() ?? this.evictLeastRecent();
    if (slot === undefined) return undefined;
    const lineBytes = this.geometry.lineBytes;
    const blockCount = Math.min(
      this.blocksPerLine,
      this.geometry.deviceBlocks - index * this.blocksPerLine,
    );
    const data = this.region.subarray(slot * lineBytes, (slot + 1) * lineBytes);
    const created = new CacheLine(index, slot, data, blockCount, this.geometry.blockSizeBytes);
    this.present.set(index, created);
    return created;
  }

  /**
   * Like getOrAllocate, but waits (FIFO) until the flusher or I/O completions free a slot.
   * The line comes pinned: it could be evicted between this resolving and the caller running.
   */
  async getOrAllocatePinned(index: number, onWait: () => void): Promise<CacheLine> {
    let line = this.getOrAllocate(index);
    while (!line) {
      const woken = new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      onWait();
      await woken;
      line = this.getOrAllocate(index);
    }
    // Another waiter may be able to use what is left.
    this.pin(line);
    if (this.hasFreeSlot()) this.slotWaiters.shift()?.();
    return line;
  }

  markDirty(line: CacheLine, firstBlock: number, endBlock: number): void {
    const wasClean = line.dirtyBlocks === 0;
    this.dirtyBlocks += line.markDirty(firstBlock, endBlock);
    if (wasClean && line.dirtyBlocks > 0) this.dirtyLines.set(line.index, line);
    this.settle(line);
  }

  clearDirty(line: CacheLine, firstBlock: number, endBlock: number): void {
    this.dirtyBlocks -= line.clearDirty(firstBlock, endBlock);
    this.settle(line);
  }

  invalidate(line: CacheLine, firstBlock: number, endBlock: number): void {
    this.dirtyBlocks -= line.invalidate(firstBlock, endBlock);
    this.settle(line);
  }

  pin(line: CacheLine): void {
    line.pins++;
    this.settle(line);
  }

  unpin(line: CacheLine): void {
    assert.ok(line.pins > 0, "unpin of an unpinned line");
    line.pins--;
    this.settle(line);
  }

  /**
   * Re-files a line after any change of its state: an empty unused line gives its slot back,
   * a clean unused one becomes evictable, and a waiting writer is woken if a slot is free.
   */
  settle(line: CacheLine): void {
    assert.equal(this.present.get(line.index), line, "settle of a line no longer present");
    assert.ok(this.dirtyBlocks >= 0, "cache dirty count below zero");
    if (line.dirtyBlocks === 0) this.dirtyLines.delete(line.index);
    if (!line.evictable) {
      this.evictable.delete(line.index);
      return;
    }
    if (line.validBlocks === 0) {
      this.evictable.delete(line.index);
      this.present.delete(line.index);
      this.freeSlots.push(line.slot);
    } else if (!this.evictable.has(line.index)) {
      this.evictable.set(line.index, line);
    }
    this.slotWaiters.shift()?.();
  }

  /** Whether lines [firstIndex, endIndex) are present or could be had now without waiting. */
  canHoldNow(firstIndex: number, endIndex: number): boolean {
    if (this.slotWaiters.length > 0) return false;
    let missing = 0;
    for (let index = firstIndex; index < endIndex; index++) {
      if (!this.present.has(index)) missing++;
    }
    return missing <= this.freeSlots.length + this.evictable.size;
  }

  private hasFreeSlot(): boolean {
    return this.freeSlots.length > 0 || this.evictable.size > 0;
  }

  private evictLeastRecent(): number | undefined {
    const victim = this.evictable.values().next().value;
    if (!victim) return undefined;
    assert.ok(victim.evictable, "evicting a dirty or pinned line");
    this.evictable.delete(victim.index);
    this.present.delete(victim.index);
    return victim.slot;
  }
}
