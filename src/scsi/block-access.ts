// Shared by the SBC data commands: decoding LBA and length from 6/10/12/16-byte CDBs, range
// checks, and device I/O with device failures turned into sense data.

import assert from "node:assert/strict";
import { type AdditionalSense, Asc, SenseKey } from "./constants.ts";
import type { BlockAccess, CommandContext } from "./command-context.ts";
import { readUInt24, readUInt64 } from "./cdb.ts";
import { type RangeLease, leaseCovers } from "./range-lock.ts";
import { SenseError, invalidFieldInCdb, lbaOutOfRange } from "./sense.ts";

export interface BlockRange {
  lba: number;
  blocks: number;
}

interface BlockCdbFields {
  lba: bigint;
  blocks: number;
  /** Offset of the TRANSFER LENGTH (or equivalent) field, for the sense field pointer. */
  lengthOffset: number;
}

function decodeBlockCdb(cdb: Buffer): BlockCdbFields {
  switch (cdb[0] >> 5) {
    case 0:
      return { lba: BigInt(readUInt24(cdb, 1) & 0x1fffff), blocks: cdb[4], lengthOffset: 4 };
    case 1:
    case 2:
      return { lba: BigInt(cdb.readUInt32BE(2)), blocks: cdb.readUInt16BE(7), lengthOffset: 7 };
    case 5:
      return { lba: BigInt(cdb.readUInt32BE(2)), blocks: cdb.readUInt32BE(6), lengthOffset: 6 };
    case 4:
      return { lba: readUInt64(cdb, 2), blocks: cdb.readUInt32BE(10), lengthOffset: 10 };
    default:
      throw new Error(`opcode 0x${cdb[0].toString(16)} has no block addressing`);
  }
}

export interface RangeRules {
  /** READ (6) / WRITE (6): a TRANSFER LENGTH of 0 means 256 blocks. */
  zeroMeans256?: boolean;
  /** SYNCHRONIZE CACHE: 0 blocks means "to the end of the medium". */
  zeroMeansToEnd?: boolean;
  /** Whether the Block Limits MAXIMUM TRANSFER LENGTH applies. */
  limited: boolean;
}

/** The LBA range a block command addresses, after SBC-3 validation. */
export function addressedRange(ctx: CommandContext, rules: RangeRules): BlockRange {
  const { lba, blocks: coded, lengthOffset } = decodeBlockCdb(ctx.task.cdb);
  const { blockCount, maxTransferBlocks } = ctx.geometry;
  let blocks = coded;
  if (coded === 0 && rules.zeroMeans256) blocks = 256;
  if (rules.limited && blocks > maxTransferBlocks) throw invalidFieldInCdb(lengthOffset);
  const range = rangeInMedium(ctx, lba, blocks);
  if (coded === 0 && rules.zeroMeansToEnd) range.blocks = blockCount - range.lba;
  return range;
}

/** The range, or LBA OUT OF RANGE: an LBA past the last block is so even for zero blocks. */
export function rangeInMedium(access: BlockAccess, lba: bigint, blocks: number): BlockRange {
  const { blockCount } = access.geometry;
  if (lba >= BigInt(blockCount) || lba + BigInt(blocks) > BigInt(blockCount)) {
    throw lbaOutOfRange();
  }
  return { lba: Number(lba), blocks };
}

/** A device error as sense data (MEDIUM ERROR with `additional`), unless it already is. */
export function deviceFailure(error: unknown, additional: AdditionalSense): SenseError {
  if (error instanceof SenseError) return error;
  return new SenseError({ key: SenseKey.MEDIUM_ERROR, additional });
}

/** Reads under a shared lease, so no write to the range is half done when it is read. */
export function readBlocks(access: BlockAccess, range: BlockRange): Promise<Buffer> {
  return access.rangeLock.run(range, "shared", (lease) => readLeasedBlocks(access, lease, range));
}

/** Reads blocks of a range the caller holds a lease on. */
export async function readLeasedBlocks(
  access: BlockAccess,
  lease: RangeLease,
  range: BlockRange,
): Promise<Buffer> {
  assert.ok(leaseCovers(lease, range), "read outside the held lease");
  const { blockSize } = access.geometry;
  const length = range.blocks * blockSize;
  let data: Buffer;
  try {
    data = await access.device.read(range.lba * blockSize, length);
  } catch (error) {
    throw deviceFailure(error, Asc.UNRECOVERED_READ_ERROR);
  }
  assert.equal(data.length, length, "device returned a short read");
  return data;
}

/**
 * Resolves once the device has stored the blocks; only then may the command be acknowledged.
 * Holds an exclusive lease meanwhile: overlapping writes never interleave.
 */
export function writeBlocks(
  access: BlockAccess,
  lba: number,
  data: Buffer,
  fua: boolean,
): Promise<void> {
  const range = { lba, blocks: data.length / access.geometry.blockSize };
  return access.rangeLock.run(range, "exclusive",
    (lease) => writeLeasedBlocks(access, lease, lba, data, fua));
}

/** Writes blocks of a range the caller holds an exclusive lease on. */
export async function writeLeasedBlocks(
  access: BlockAccess,
  lease: RangeLease,
  lba: number,
  data: Buffer,
  fua: boolean,
): Promise<void> {
  const { blockSize, blockCount } = access.geometry;
  assert.equal(data.length % blockSize, 0, "write is not a whole number of blocks");
  assert.ok(lba + data.length / blockSize <= blockCount, "write past the end of the medium");
  const range = { lba, blocks: data.length / blockSize };
  assert.ok(lease.mode === "exclusive" && leaseCovers(lease, range), "write outside the lease");
  try {
    await access.device.write(lba * blockSize, data, { fua });
  } catch (error) {
    throw deviceFailure(error, Asc.WRITE_ERROR);
  }
}

export async function flushDevice(ctx: CommandContext): Promise<void> {
  try {
    await ctx.device.flush();
  } catch (error) {
    throw deviceFailure(error, Asc.WRITE_ERROR);
  }
}
