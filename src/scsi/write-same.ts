// WRITE SAME (10) and (16), SBC-3 5.42-5.43: one block of Data-Out (or zeros with NDOB) written
// to every block of the range, or, with the UNMAP bit on a thin logical unit, the range unmapped
// (it then reads as zeros, LBPRZ, whatever the Data-Out block held, as SBC-3 and Linux LIO have
// it). ANCHOR is refused by the CDB check; 0 blocks means "to the end of the medium" (WSNZ 0).

import { addressedRange } from "./block-access.ts";
import { fillLeasedBlocks, unmapLeasedBlocks } from "./block-provisioning.ts";
import type { BlockGeometry, CommandContext } from "./command-context.ts";
import { MAXIMUM_WRITE_SAME_BYTES, Opcode } from "./constants.ts";
import { dataOutOf, goodResult } from "./data-transfer.ts";
import { invalidFieldInCdb } from "./sense.ts";
import type { ScsiResult } from "./types.ts";

/** CDB byte 1 bits. */
const UNMAP = 0x08;
const NDOB = 0x01;

export function maximumWriteSameBlocks(geometry: BlockGeometry): number {
  return MAXIMUM_WRITE_SAME_BYTES / geometry.blockSize;
}

export async function writeSame(ctx: CommandContext): Promise<ScsiResult> {
  const { task, geometry } = ctx;
  const { cdb } = task;
  const sixteen = cdb[0] === Opcode.WRITE_SAME_16;
  const unmap = (cdb[1] & UNMAP) !== 0;
  const noDataOut = sixteen && (cdb[1] & NDOB) !== 0;
  if (unmap && ctx.provisioning === "thick") throw invalidFieldInCdb(1, 3);
  const range = addressedRange(ctx, { zeroMeansToEnd: true, limited: false });
  if (range.blocks > maximumWriteSameBlocks(geometry)) throw invalidFieldInCdb(sixteen ? 10 : 7);
  const wantedBytes = noDataOut ? 0 : geometry.blockSize;
  const dataOut = dataOutOf(task);
  // Exactly the one block: anything else means initiator and CDB disagree about the command.
  if (dataOut.length !== wantedBytes) throw invalidFieldInCdb(sixteen ? 10 : 7);
  const block = noDataOut ? Buffer.alloc(geometry.blockSize) : dataOut;
  // Without a write cache every write is forced to the medium; WRITE SAME has no FUA bit.
  const fua = !ctx.modePages.writeCacheEnabled;
  await ctx.rangeLock.run(range, "exclusive", (lease) =>
    unmap
      ? unmapLeasedBlocks(ctx, lease, range)
      : fillLeasedBlocks(ctx, lease, range, block, fua));
  return goodResult(task, wantedBytes);
}
