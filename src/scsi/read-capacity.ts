// READ CAPACITY (10) and READ CAPACITY (16), SBC-3 5.15-5.16.

import type { CommandContext } from "./command-context.ts";
import { readUInt64 } from "./cdb.ts";
import { allocationLimited, dataInResult } from "./data-transfer.ts";
import { invalidFieldInCdb } from "./sense.ts";
import type { ScsiResult } from "./types.ts";

/** RETURNED LOGICAL BLOCK ADDRESS of READ CAPACITY (10) when the last LBA needs 64 bits. */
const LBA_TOO_LARGE_FOR_10 = 0xffffffff;
const READ_CAPACITY_16_LENGTH = 32;
const PMI = 0x01;
/** Byte 14: logical block provisioning management enabled; unmapped blocks read as zeros. */
const LBPME = 0x80;
const LBPRZ = 0x40;

/** With PMI clear the LOGICAL BLOCK ADDRESS field must be zero (SBC-3 5.15.1). */
function checkPartialMediumIndicator(cdb: Buffer, lbaIsZero: boolean, pmiByte: number): void {
  if (!(cdb[pmiByte] & PMI) && !lbaIsZero) throw invalidFieldInCdb(2);
}

export async function readCapacity10(ctx: CommandContext): Promise<ScsiResult> {
  const { cdb } = ctx.task;
  checkPartialMediumIndicator(cdb, cdb.readUInt32BE(2) === 0, 8);
  const { blockCount, blockSize } = ctx.geometry;
  const data = Buffer.alloc(8);
  data.writeUInt32BE(Math.min(blockCount - 1, LBA_TOO_LARGE_FOR_10), 0);
  data.writeUInt32BE(blockSize, 4);
  return dataInResult(ctx.task, data);
}

export async function readCapacity16(ctx: CommandContext): Promise<ScsiResult> {
  const { cdb } = ctx.task;
  checkPartialMediumIndicator(cdb, readUInt64(cdb, 2) === 0n, 14);
  const { blockCount, blockSize, logicalPerPhysicalExponent } = ctx.geometry;
  const data = Buffer.alloc(READ_CAPACITY_16_LENGTH);
  data.writeBigUInt64BE(BigInt(blockCount - 1), 0);
  data.writeUInt32BE(blockSize, 8);
  // No protection information, lowest aligned LBA 0.
  data[13] = logicalPerPhysicalExponent;
  if (ctx.provisioning === "thin") data[14] = LBPME | LBPRZ;
  return dataInResult(ctx.task, allocationLimited(data, cdb.readUInt32BE(10)));
}
