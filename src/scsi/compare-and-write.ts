// COMPARE AND WRITE (SBC-3 5.2): compare n blocks of the medium with the first half of Data-Out
// and, only if all match, write the second half. The whole operation holds an exclusive lease
// on the range, so no other write to those blocks lands between the compare and the write.

import {
  type BlockRange,
  rangeInMedium,
  readLeasedBlocks,
  writeLeasedBlocks,
} from "./block-access.ts";
import { readUInt64 } from "./cdb.ts";
import type { CommandContext } from "./command-context.ts";
import { MAXIMUM_COMPARE_AND_WRITE_BLOCKS } from "./constants.ts";
import { dataOutOf, goodResult } from "./data-transfer.ts";
import { firstDifference, miscompare } from "./miscompare.ts";
import { forceUnitAccess } from "./read-write.ts";
import { invalidFieldInCdb } from "./sense.ts";
import type { ScsiResult } from "./types.ts";

const NUMBER_OF_LOGICAL_BLOCKS_OFFSET = 13;

export async function compareAndWrite(ctx: CommandContext): Promise<ScsiResult> {
  const { task, geometry } = ctx;
  const blocks = task.cdb[NUMBER_OF_LOGICAL_BLOCKS_OFFSET];
  if (blocks > MAXIMUM_COMPARE_AND_WRITE_BLOCKS) {
    throw invalidFieldInCdb(NUMBER_OF_LOGICAL_BLOCKS_OFFSET);
  }
  const range = rangeInMedium(ctx, readUInt64(task.cdb, 2), blocks);
  const halfBytes = blocks * geometry.blockSize;
  const dataOut = dataOutOf(task);
  // Verify and write data must both arrive whole: a partial compare-and-write has no meaning.
  if (dataOut.length !== 2 * halfBytes) throw invalidFieldInCdb(NUMBER_OF_LOGICAL_BLOCKS_OFFSET);
  if (blocks === 0) return goodResult(task);
  const verifyData = dataOut.subarray(0, halfBytes);
  const writeData = dataOut.subarray(halfBytes);
  await compareThenWrite(ctx, range, verifyData, writeData);
  return goodResult(task, dataOut.length);
}

function compareThenWrite(
  ctx: CommandContext,
  range: BlockRange,
  verifyData: Buffer,
  writeData: Buffer,
): Promise<void> {
  return ctx.rangeLock.run(range, "exclusive", async (lease) => {
    const medium = await readLeasedBlocks(ctx, lease, range);
    const offset = firstDifference(medium, verifyData);
    if (offset >= 0) throw miscompare(offset);
    await writeLeasedBlocks(ctx, lease, range.lba, writeData, forceUnitAccess(ctx));
  });
}
