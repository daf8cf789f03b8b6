// READ (6/10/12/16) and WRITE (6/10/12/16), SBC-3 5.8-5.11 and 5.32-5.35.

import type { CommandContext } from "./command-context.ts";
import { Asc, SenseKey, STATUS_GOOD } from "./constants.ts";
import {
  addressedRange, readBlocks, readLeasedBlocks, writeBlocks, writeLeasedBlocks,
} from "./block-access.ts";
import { dataInCapacity, dataOutOf, goodResult, residualOf } from "./data-transfer.ts";
import { checkCondition } from "./sense.ts";
import type { ScsiResult, ScsiTask } from "./types.ts";

/** CDB byte 1 bit of the 10/12/16-byte READ and WRITE: FORCE UNIT ACCESS. */
const FUA = 0x08;

function isSixByte(cdb: Buffer): boolean {
  return cdb[0] >> 5 === 0;
}

export async function read(ctx: CommandContext): Promise<ScsiResult> {
  const { task, geometry } = ctx;
  const range = addressedRange(ctx, { zeroMeans256: isSixByte(task.cdb), limited: true });
  const wantedBytes = range.blocks * geometry.blockSize;
  // Only read what the initiator can take: EDTL rounded up to whole blocks.
  const capacity = dataInCapacity(task);
  const blocks = Math.min(range.blocks, Math.ceil(capacity / geometry.blockSize));
  if (blocks === 0) return goodResult(task, wantedBytes);
  const data = await readBlocks(ctx, { lba: range.lba, blocks });
  const dataIn = data.length > capacity ? data.subarray(0, capacity) : data;
  return { status: STATUS_GOOD, dataIn, ...residualOf(wantedBytes, task) };
}

/**
 * The Data-Out for `wantedBytes` of blocks as far as it arrived (FCP-4 9.4.2 a: data beyond EDTL
 * is neither requested nor written), or undefined when it ends inside a block.
 */
export function receivedWholeBlocks(ctx: CommandContext, wantedBytes: number): Buffer | undefined {
  const dataOut = dataOutOf(ctx.task);
  const received = Math.min(wantedBytes, dataOut.length);
  if (received % ctx.geometry.blockSize !== 0) return undefined;
  return dataOut.subarray(0, received);
}

/** EDTL cuts a block in two: nothing is written (FCP-4 9.4.2 b). */
export function partialBlockResult(task: ScsiTask, wantedBytes: number): ScsiResult {
  return {
    ...checkCondition({
      key: SenseKey.ILLEGAL_REQUEST,
      additional: Asc.INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT,
    }),
    ...residualOf(wantedBytes, task),
  };
}

/** Without a write cache every write is forced to the medium. */
export function forceUnitAccess(ctx: CommandContext): boolean {
  const { cdb } = ctx.task;
  return !ctx.modePages.writeCacheEnabled || (!isSixByte(cdb) && (cdb[1] & FUA) !== 0);
}

export async function write(ctx: CommandContext): Promise<ScsiResult> {
  const { task, geometry } = ctx;
  const range = addressedRange(ctx, { zeroMeans256: isSixByte(task.cdb), limited: true });
  const wantedBytes = range.blocks * geometry.blockSize;
  const dataOut = dataOutOf(task);
  const received = dataOut.subarray(0, Math.min(wantedBytes, dataOut.length));
  if (received.length > 0) await writeReceived(ctx, range.lba, received, forceUnitAccess(ctx));
  return goodResult(task, wantedBytes);
}

/**
 * Writes the Data-Out that arrived (FCP-4 9.4.2 a: nothing beyond EDTL is requested). When EDTL
 * cuts the last block in two, that block keeps its old bytes past the cut: read, merge and write
 * under one exclusive lease so no other write slips in between.
 */
async function writeReceived(
  ctx: CommandContext,
  lba: number,
  data: Buffer,
  fua: boolean,
): Promise<void> {
  const { blockSize } = ctx.geometry;
  const cutBytes = data.length % blockSize;
  if (cutBytes === 0) return writeBlocks(ctx, lba, data, fua);
  const range = { lba, blocks: Math.ceil(data.length / blockSize) };
  await ctx.rangeLock.run(range, "exclusive", async (lease) => {
    const lastLba = range.lba + range.blocks - 1;
    const lastBlock = await readLeasedBlocks(ctx, lease, { lba: lastLba, blocks: 1 });
    const merged = Buffer.allocUnsafe(range.blocks * blockSize);
    data.copy(merged, 0);
    lastBlock.copy(merged, data.length, cutBytes);
    await writeLeasedBlocks(ctx, lease, lba, merged, fua);
  });
}
