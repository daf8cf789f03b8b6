// One cache line: a fixed slot of the cache's buffer region holding up to lineBytes of one
// line-aligned span of the device, with a valid and a dirty flag per block.
import assert from "node:assert/strict";

export class CacheLine {
  /** 1 where the block holds the device's newest data (written here or read from backing). */
  readonly valid: Uint8Array;
  /** 1 where the block is newer than the backing device. A dirty block is always valid. */
  readonly dirty: Uint8Array;
  validBlocks = 0;
  dirtyBlocks = 0;
  /** Backing I/O in flight that uses this line; a pinned line is never evicted. */
  pins = 0;

  constructor(
    readonly index: number,
    readonly slot: number,
    readonly data: Buffer,
    /** Fewer than a full line only for the last line of a device not a multiple of lines. */
    readonly blockCount: number,
    readonly blockSizeBytes: number,
  ) {
    assert.ok(blockCount > 0 && blockCount * blockSizeBytes <= data.length, "line geometry");
    this.valid = new Uint8Array(blockCount);
    this.dirty = new Uint8Array(blockCount);
  }

  get evictable(): boolean {
    return this.dirtyBlocks === 0 && this.pins === 0;
  }

  allValid(firstBlock: number, endBlock: number): boolean {
    for (let block = firstBlock; block < endBlock; block++) {
      if (this.valid[block] === 0) return false;
    }
    return true;
  }

  /** Copies `source` (whole blocks) into the line at `firstBlock`; marks them valid. */
  store(firstBlock: number, source: Buffer): void {
    const blocks = source.length / this.blockSizeBytes;
    assert.ok(Number.isInteger(blocks) && firstBlock + blocks <= this.blockCount, "store range");
    source.copy(this.data, firstBlock * this.blockSizeBytes);
    for (let block = firstBlock; block < firstBlock + blocks; block++) this.setValid(block);
  }

  /** Copies blocks not yet valid from `source`, which holds the whole line as read from backing. */
  /** Fills the invalid blocks from `firstBlock` on with `source`, which starts there. */
  fillInvalid(source: Buffer, firstBlock = 0): void {
    const size = this.blockSizeBytes;
    const endBlock = firstBlock + source.length / size;
    assert.ok(endBlock <= this.blockCount, "fill runs past the line");
    for (let block = firstBlock; block < endBlock; block++) {
      if (this.valid[block] === 1) continue;
      const from = (block - firstBlock) * size;
      source.copy(this.data, block * size, from, from + size);
      this.setValid(block);
    }
  }

  /** Returns how many blocks changed from clean to dirty. */
  markDirty(firstBlock: number, endBlock: number): number {
    let changed = 0;
    for (let block = firstBlock; block < endBlock; block++) {
      assert.equal(this.valid[block], 1, "only a valid block can be dirty");
      if (this.dirty[block] === 1) continue;
      this.dirty[block] = 1;
      changed++;
    }
    this.dirtyBlocks += changed;
    assert.ok(this.dirtyBlocks <= this.validBlocks, "more dirty than valid blocks");
    return changed;
  }

  /** Returns how many blocks changed from dirty to clean. */
  clearDirty(firstBlock: number, endBlock: number): number {
    let changed = 0;
    for (let block = firstBlock; block < endBlock; block++) {
      if (this.dirty[block] === 0) continue;
      this.dirty[block] = 0;
      changed++;
    }
    this.dirtyBlocks -= changed;
    assert.ok(this.dirtyBlocks >= 0, "dirty count below zero");
    return changed;
  }

  /** Forgets blocks (UNMAP); returns how many dirty blocks were dropped. */
  invalidate(firstBlock: number, endBlock: number): number {
    const droppedDirty = this.clearDirty(firstBlock, endBlock);
    for (let block = firstBlock; block < endBlock; block++) {
      if (this.valid[block] === 0) continue;
      this.valid[block] = 0;
      this.validBlocks--;
    }
    return droppedDirty;
  }

  /** The first dirty block at or after `fromBlock`, or -1. */
  firstDirty(fromBlock: number): number {
    for (let block = fromBlock; block < this.blockCount; block++) {
      if (this.dirty[block] === 1) return block;
    }
    return -1;
  }

  private setValid(block: number): void {
    if (this.valid[block] === 1) return;
    this.valid[block] = 1;
    this.validBlocks++;
  }
}
