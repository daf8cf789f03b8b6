// VERIFY (10/12/16) and WRITE AND VERIFY (10/12/16), SBC-3 5.27-5.29 and 5.37-5.39 with the
// two-bit BYTCHK field of SBC-4.

import { addressedRange, readBlocks, writeBlocks } from "./block-access.ts";
import type { CommandContext } from "./command-context.ts";
import { Asc, ByteCheck, SenseKey } from "./constants.ts";
import { goodResult } from "./data-transfer.ts";
import { partialBlockResult, receivedWholeBlocks } from "./read-write.ts";
import { SenseError, invalidFieldInCdb } from "./sense.ts";
import type { ScsiResult } from "./types.ts";

/** CDB byte 1 bits 2..1. */
function byteCheckOf(cdb: Buffer): number {
  return (cdb[1] >> 1) & 0b11;
}

function firstDifference(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return -1;
  let i = 0;
  while (a[i] === b[i]) i++;
  return i;
}

function miscompare(offset: number): SenseError {
  return new SenseError({
    key: SenseKey.MISCOMPARE,
    additional: Asc.MISCOMPARE_DURING_VERIFY_OPERATION,
    information: offset,
  });
}

/** Byte offset of the first mismatch when one block of Data-Out is compared with each block. */
function firstDifferenceToEach(medium: Buffer, block: Buffer): number {
  for (let start = 0; start < medium.length; start += block.length) {
    const at = firstDifference(medium.subarray(start, start + block.length), block);
    if (at >= 0) return start + at;
  }
  return -1;
}

export async function verify(ctx: CommandContext): Promise<ScsiResult> {
  const { task, geometry } = ctx;
  const byteCheck = byteCheckOf(task.cdb);
  if (byteCheck === 0b10) throw invalidFieldInCdb(1, 2);
  const range = addressedRange(ctx, { limited: true });
  if (range.blocks === 0) return goodResult(task);
  if (byteCheck === ByteCheck.MEDIUM_ONLY) {
    await readBlocks(ctx, range);
    return goodResult(task);
  }
  const oneBlock = byteCheck === ByteCheck.COMPARE_ONE_BLOCK_TO_EACH;
  const wantedBytes = oneBlock ? geometry.blockSize : range.blocks * geometry.blockSize;
  const data = receivedWholeBlocks(ctx, wantedBytes);
  if (!data) return partialBlockResult(task, wantedBytes);
  if (data.length === 0) return goodResult(task, wantedBytes);
  const blocks = oneBlock ? range.blocks : data.length / geometry.blockSize;
  const medium = await readBlocks(ctx, { lba: range.lba, blocks });
  const offset = oneBlock ? firstDifferenceToEach(medium, data) : firstDifference(medium, data);
  if (offset >= 0) throw miscompare(offset);
  return goodResult(task, wantedBytes);
}

export async function writeAndVerify(ctx: CommandContext): Promise<ScsiResult> {
  const { task, geometry } = ctx;
  const byteCheck = byteCheckOf(task.cdb);
  if (byteCheck !== ByteCheck.MEDIUM_ONLY && byteCheck !== ByteCheck.COMPARE_ALL) {
    throw invalidFieldInCdb(1, 2);
  }
  const range = addressedRange(ctx, { limited: true });
  const wantedBytes = range.blocks * geometry.blockSize;
  const data = receivedWholeBlocks(ctx, wantedBytes);
  if (!data) return partialBlockResult(task, wantedBytes);
  if (data.length === 0) return goodResult(task, wantedBytes);
  // Verification is of the medium, so the write must reach it first.
  await writeBlocks(ctx, range.lba, data, true);
  if (byteCheck === ByteCheck.COMPARE_ALL) {
    const blocks = data.length / geometry.blockSize;
    const medium = await readBlocks(ctx, { lba: range.lba, blocks });
    const offset = firstDifference(medium, data);
    if (offset >= 0) throw miscompare(offset);
  }
  return goodResult(task, wantedBytes);
}
