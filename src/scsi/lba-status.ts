// GET LBA STATUS (SBC-4 5.7): mapped and deallocated extents from the STARTING LOGICAL BLOCK
// ADDRESS on. A thick logical unit is mapped everywhere.

import { rangeInMedium } from "./block-access.ts";
import { allocationOf, type BlockExtent } from "./block-provisioning.ts";
import { readUInt64 } from "./cdb.ts";
import type { CommandContext } from "./command-context.ts";
import { ProvisioningStatus } from "./constants.ts";
import { allocationLimited, dataInResult } from "./data-transfer.ts";
import type { ScsiResult } from "./types.ts";

const HEADER_LENGTH = 8;
const DESCRIPTOR_LENGTH = 16;
/** Bytes of the medium one command looks at; the initiator asks again from where it ended. */
const SCAN_WINDOW_BYTES = 1024 * 1024 * 1024;

function descriptor(extent: BlockExtent): Buffer {
  const out = Buffer.alloc(DESCRIPTOR_LENGTH);
  out.writeBigUInt64BE(BigInt(extent.lba), 0);
  out.writeUInt32BE(extent.blocks, 8);
  out[12] = extent.mapped ? ProvisioningStatus.MAPPED : ProvisioningStatus.DEALLOCATED;
  return out;
}

export async function getLbaStatus(ctx: CommandContext): Promise<ScsiResult> {
  const { task, geometry } = ctx;
  const allocationLength = task.cdb.readUInt32BE(10);
  const start = rangeInMedium(ctx, readUInt64(task.cdb, 2), 1).lba;
  const blocks = Math.min(geometry.blockCount - start, SCAN_WINDOW_BYTES / geometry.blockSize);
  const window = { lba: start, blocks };
  // No lease: the status is advisory, and a lease over the window would stall its writers.
  const extents = ctx.provisioning === "thin"
    ? await allocationOf(ctx, window)
    : [{ ...window, mapped: true }];
  // One descriptor at least, cut by the allocation length if need be; more only where they fit.
  const fitting = Math.max(1, Math.floor((allocationLength - HEADER_LENGTH) / DESCRIPTOR_LENGTH));
  const body = Buffer.concat(extents.slice(0, fitting).map(descriptor));
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt32BE(HEADER_LENGTH - 4 + body.length, 0);
  const data = Buffer.concat([header, body]);
  return dataInResult(task, allocationLimited(data, allocationLength));
}
