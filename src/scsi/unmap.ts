// UNMAP (SBC-4 5.30): deallocates the ranges of a block descriptor list on a thin logical unit.
// Every descriptor is checked before any range is unmapped.

import { type BlockRange } from "./block-access.ts";
import { unmapLeasedBlocks } from "./block-provisioning.ts";
import type { BlockGeometry, CommandContext } from "./command-context.ts";
import { Asc, MAXIMUM_UNMAP_BLOCK_DESCRIPTORS, MAXIMUM_UNMAP_BYTES } from "./constants.ts";
import { goodResult } from "./data-transfer.ts";
import { parameterListOf } from "./parameter-list.ts";
import { illegalRequest, invalidFieldInParameterList, lbaOutOfRange } from "./sense.ts";
import type { ScsiResult } from "./types.ts";

const HEADER_LENGTH = 8;
const DESCRIPTOR_LENGTH = 16;

export function maximumUnmapBlocks(geometry: BlockGeometry): number {
  return MAXIMUM_UNMAP_BYTES / geometry.blockSize;
}

/** The non-empty ranges of the block descriptors, validated against the medium and the limits. */
function unmapRanges(ctx: CommandContext, list: Buffer): BlockRange[] {
  const { blockCount } = ctx.geometry;
  const descriptorBytes = Math.min(list.readUInt16BE(2), list.length - HEADER_LENGTH);
  // An incomplete last descriptor is ignored (SBC-4 5.30.2).
  const count = Math.floor(descriptorBytes / DESCRIPTOR_LENGTH);
  if (count > MAXIMUM_UNMAP_BLOCK_DESCRIPTORS) throw invalidFieldInParameterList(2);
  const ranges: BlockRange[] = [];
  let totalBlocks = 0;
  for (let index = 0; index < count; index++) {
    const at = HEADER_LENGTH + index * DESCRIPTOR_LENGTH;
    const lba = list.readBigUInt64BE(at);
    const blocks = list.readUInt32BE(at + 8);
    if (lba + BigInt(blocks) > BigInt(blockCount)) throw lbaOutOfRange();
    totalBlocks += blocks;
    if (totalBlocks > maximumUnmapBlocks(ctx.geometry)) throw invalidFieldInParameterList(at + 8);
    if (blocks > 0) ranges.push({ lba: Number(lba), blocks });
  }
  return ranges;
}

export async function unmap(ctx: CommandContext): Promise<ScsiResult> {
  const { task } = ctx;
  if (ctx.provisioning === "thick") throw illegalRequest(Asc.INVALID_COMMAND_OPERATION_CODE);
  const length = task.cdb.readUInt16BE(7);
  if (length === 0) return goodResult(task);
  if (length < HEADER_LENGTH) throw illegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR);
  const ranges = unmapRanges(ctx, parameterListOf(task, length));
  for (const range of ranges) {
    await ctx.rangeLock.run(range, "exclusive", (lease) => unmapLeasedBlocks(ctx, lease, range));
  }
  return goodResult(task, length);
}
