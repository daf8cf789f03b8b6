// Device I/O behind WRITE SAME, UNMAP and GET LBA STATUS: writing one block over a range,
// deallocating a range (or zeroing it when the device cannot), reading the allocation map.

import assert from "node:assert/strict";
import { type BlockRange, deviceFailure, writeLeasedBlocks } from "./block-access.ts";
import type { BlockAccess } from "./command-context.ts";
import { Asc } from "./constants.ts";
import { type RangeLease, leaseCovers } from "./range-lock.ts";

/** Largest single device write when one block is repeated over a range. */
const FILL_CHUNK_BYTES = 1024 * 1024;

export interface BlockExtent extends BlockRange {
  mapped: boolean;
}

/** Writes `block` to every block of a range the caller holds an exclusive lease on. */
export async function fillLeasedBlocks(
  access: BlockAccess,
  lease: RangeLease,
  range: BlockRange,
  block: Buffer,
  fua: boolean,
): Promise<void> {
  const { blockSize } = access.geometry;
  assert.equal(block.length, blockSize, "fill pattern is one block");
  const chunkBlocks = Math.min(range.blocks, FILL_CHUNK_BYTES / blockSize);
  // One pattern buffer for every chunk; nothing changes it once filled.
  const pattern = Buffer.alloc(chunkBlocks * blockSize).fill(block);
  const end = range.lba + range.blocks;
  for (let lba = range.lba; lba < end; lba += chunkBlocks) {
    const blocks = Math.min(chunkBlocks, end - lba);
    await writeLeasedBlocks(access, lease, lba, pattern.subarray(0, blocks * blockSize), fua);
  }
}

/**
 * Deallocates a range the caller holds an exclusive lease on; it reads as zeros afterwards.
 * A device that cannot punch holes gets zeros written instead.
 */
export async function unmapLeasedBlocks(
  access: BlockAccess,
  lease: RangeLease,
  range: BlockRange,
): Promise<void> {
  const { device, geometry } = access;
  if (!device.unmap) {
    await fillLeasedBlocks(access, lease, range, Buffer.alloc(geometry.blockSize), false);
    return;
  }
  assert.ok(lease.mode === "exclusive" && leaseCovers(lease, range), "unmap outside the lease");
  try {
    await device.unmap(range.lba * geometry.blockSize, range.blocks * geometry.blockSize);
  } catch (error) {
    throw deviceFailure(error, Asc.WRITE_ERROR);
  }
}

/** Mapped and deallocated extents covering `range`, adjacent ones of one kind merged. */
export async function allocationOf(access: BlockAccess, range: BlockRange): Promise<BlockExtent[]> {
  const { device, geometry } = access;
  if (!device.allocationMap) return [{ ...range, mapped: true }];
  const { blockSize } = geometry;
  let extents;
  try {
    extents = await device.allocationMap(range.lba * blockSize, range.blocks * blockSize);
  } catch (error) {
    throw deviceFailure(error, Asc.UNRECOVERED_READ_ERROR);
  }
  const merged: BlockExtent[] = [];
  let next = range.lba;
  for (const extent of extents) {
    assert.equal(extent.offsetBytes, next * blockSize, "allocation map has a gap or overlap");
    assert.ok(extent.lengthBytes > 0 && extent.lengthBytes % blockSize === 0, "extent length");
    const blocks = extent.lengthBytes / blockSize;
    const last = merged.at(-1);
    if (last && last.mapped === extent.mapped) last.blocks += blocks;
    else merged.push({ lba: next, blocks, mapped: extent.mapped });
    next += blocks;
  }
  assert.equal(next, range.lba + range.blocks, "allocation map does not cover the range");
  return merged;
}
