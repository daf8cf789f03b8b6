// The one table of supported commands: it drives dispatch, the reserved-bit check of every CDB
// and REPORT SUPPORTED OPERATION CODES.

import assert from "node:assert/strict";
import { synchronizeCache, preFetch } from "./cache-control.ts";
import { cdbLengthOfOpcode, serviceActionOf } from "./cdb.ts";
import type { CommandHandler } from "./command-context.ts";
import { Asc, MaintenanceIn, Opcode, SenseKey, ServiceActionIn16 } from "./constants.ts";
import { inquiry } from "./inquiry.ts";
import { modeSelect, modeSense } from "./mode-commands.ts";
import { readCapacity10, readCapacity16 } from "./read-capacity.ts";
import { read, write } from "./read-write.ts";
import { reportLuns } from "./report-luns.ts";
import { reportSupportedOperationCodes } from "./report-supported-opcodes.ts";
import { requestSense } from "./request-sense.ts";
import { SenseError, invalidFieldInCdb } from "./sense.ts";
import { preventAllowMediumRemoval, startStopUnit, testUnitReady } from "./unit-control.ts";
import { verify, writeAndVerify } from "./verify.ts";

export interface CommandDescriptor {
  opcode: number;
  serviceAction?: number;
  /**
   * CDB USAGE DATA (SPC-4 6.35.3): byte 0 is the opcode, a service action field holds its value,
   * every other bit is one where the device server uses it. Its length is the CDB length.
   */
  usage: readonly number[];
  /** Neither reports nor clears a pending unit attention (SAM-5 5.14: INQUIRY, REPORT LUNS,
   * REQUEST SENSE). */
  unitAttentionExempt?: boolean;
  handler: CommandHandler;
}

const ANY = 0xff;
const LBA_32 = [ANY, ANY, ANY, ANY];
const LBA_64 = [...LBA_32, ...LBA_32];
const GROUP_NUMBER = 0x1f;
/** Byte 1 of READ (10/12/16): DPO, FUA, RARC, FUA_NV. RDPROTECT is not supported. */
const READ_FLAGS = 0x1e;
/** Byte 1 of WRITE (10/12/16): DPO, FUA, FUA_NV. WRPROTECT is not supported. */
const WRITE_FLAGS = 0x1a;
/** Byte 1 of VERIFY and WRITE AND VERIFY: DPO and the two BYTCHK bits. */
const VERIFY_FLAGS = 0x16;
/** Byte 1 of PRE-FETCH: IMMED. */
const PRE_FETCH_FLAGS = 0x02;
/** Byte 1 of SYNCHRONIZE CACHE: IMMED and the obsolete SYNC_NV. */
const SYNCHRONIZE_CACHE_FLAGS = 0x06;

/** 10/12/16-byte block commands share a layout: flags, LBA, length, group number, control. */
function blockCommand(opcode: number, flags: number, handler: CommandHandler): CommandDescriptor {
  const lengthOf = cdbLengthOfOpcode(opcode);
  const usage = lengthOf === 10
    ? [opcode, flags, ...LBA_32, GROUP_NUMBER, ANY, ANY, 0]
    : lengthOf === 12
    ? [opcode, flags, ...LBA_32, ...LBA_32, GROUP_NUMBER, 0]
    : [opcode, flags, ...LBA_64, ...LBA_32, GROUP_NUMBER, 0];
  return { opcode, usage, handler };
}

const COMMANDS: readonly CommandDescriptor[] = [
  { opcode: Opcode.TEST_UNIT_READY, usage: [0x00, 0, 0, 0, 0, 0], handler: testUnitReady },
  {
    opcode: Opcode.REQUEST_SENSE,
    usage: [Opcode.REQUEST_SENSE, 0x01, 0, 0, ANY, 0],
    unitAttentionExempt: true,
    handler: requestSense,
  },
  { opcode: Opcode.READ_6, usage: [Opcode.READ_6, 0x1f, ANY, ANY, ANY, 0], handler: read },
  { opcode: Opcode.WRITE_6, usage: [Opcode.WRITE_6, 0x1f, ANY, ANY, ANY, 0], handler: write },
  {
    opcode: Opcode.INQUIRY,
    usage: [Opcode.INQUIRY, 0x01, ANY, ANY, ANY, 0],
    unitAttentionExempt: true,
    handler: inquiry,
  },
  {
    opcode: Opcode.MODE_SELECT_6,
    usage: [Opcode.MODE_SELECT_6, 0x11, 0, 0, ANY, 0],
    handler: modeSelect,
  },
  {
    opcode: Opcode.MODE_SENSE_6,
    usage: [Opcode.MODE_SENSE_6, 0x08, ANY, ANY, ANY, 0],
    handler: modeSense,
  },
  {
    opcode: Opcode.START_STOP_UNIT,
    usage: [Opcode.START_STOP_UNIT, 0x01, 0, 0x0f, 0xf7, 0],
    handler: startStopUnit,
  },
  {
    opcode: Opcode.PREVENT_ALLOW_MEDIUM_REMOVAL,
    usage: [Opcode.PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 0x01, 0],
    handler: preventAllowMediumRemoval,
  },
  {
    opcode: Opcode.READ_CAPACITY_10,
    usage: [Opcode.READ_CAPACITY_10, 0, ...LBA_32, 0, 0, 0x01, 0],
    handler: readCapacity10,
  },
  blockCommand(Opcode.READ_10, READ_FLAGS, read),
  blockCommand(Opcode.WRITE_10, WRITE_FLAGS, write),
  blockCommand(Opcode.WRITE_AND_VERIFY_10, VERIFY_FLAGS, writeAndVerify),
  blockCommand(Opcode.VERIFY_10, VERIFY_FLAGS, verify),
  blockCommand(Opcode.PRE_FETCH_10, PRE_FETCH_FLAGS, preFetch),
  blockCommand(Opcode.SYNCHRONIZE_CACHE_10, SYNCHRONIZE_CACHE_FLAGS, synchronizeCache),
  {
    opcode: Opcode.MODE_SELECT_10,
    usage: [Opcode.MODE_SELECT_10, 0x11, 0, 0, 0, 0, 0, ANY, ANY, 0],
    handler: modeSelect,
  },
  {
    opcode: Opcode.MODE_SENSE_10,
    usage: [Opcode.MODE_SENSE_10, 0x18, ANY, ANY, 0, 0, 0, ANY, ANY, 0],
    handler: modeSense,
  },
  blockCommand(Opcode.READ_16, READ_FLAGS, read),
  blockCommand(Opcode.WRITE_16, WRITE_FLAGS, write),
  blockCommand(Opcode.WRITE_AND_VERIFY_16, VERIFY_FLAGS, writeAndVerify),
  blockCommand(Opcode.VERIFY_16, VERIFY_FLAGS, verify),
  blockCommand(Opcode.PRE_FETCH_16, PRE_FETCH_FLAGS, preFetch),
  blockCommand(Opcode.SYNCHRONIZE_CACHE_16, SYNCHRONIZE_CACHE_FLAGS, synchronizeCache),
  {
    opcode: Opcode.SERVICE_ACTION_IN_16,
    serviceAction: ServiceActionIn16.READ_CAPACITY_16,
    usage: [
      Opcode.SERVICE_ACTION_IN_16, ServiceActionIn16.READ_CAPACITY_16, ...LBA_64, ...LBA_32,
      0x01, 0,
    ],
    handler: readCapacity16,
  },
  {
    opcode: Opcode.REPORT_LUNS,
    usage: [Opcode.REPORT_LUNS, 0, ANY, 0, 0, 0, ...LBA_32, 0, 0],
    unitAttentionExempt: true,
    handler: async (ctx) => reportLuns(ctx.task, ctx.lunInventory),
  },
  {
    opcode: Opcode.MAINTENANCE_IN,
    serviceAction: MaintenanceIn.REPORT_SUPPORTED_OPERATION_CODES,
    usage: [
      Opcode.MAINTENANCE_IN, MaintenanceIn.REPORT_SUPPORTED_OPERATION_CODES, 0x87, ANY, ANY, ANY,
      ...LBA_32, 0, 0,
    ],
    handler: async (ctx) => reportSupportedOperationCodes(ctx.task, COMMANDS),
  },
  blockCommand(Opcode.READ_12, READ_FLAGS, read),
  blockCommand(Opcode.WRITE_12, WRITE_FLAGS, write),
  blockCommand(Opcode.WRITE_AND_VERIFY_12, VERIFY_FLAGS, writeAndVerify),
  blockCommand(Opcode.VERIFY_12, VERIFY_FLAGS, verify),
];

for (const command of COMMANDS) {
  assert.equal(command.usage[0], command.opcode, "usage data must start with the opcode");
  assert.equal(command.usage.length, cdbLengthOfOpcode(command.opcode), "usage data length");
}

export function findCommand(cdb: Buffer): CommandDescriptor | undefined {
  return COMMANDS.find((command) =>
    command.opcode === cdb[0] &&
    (command.serviceAction === undefined || command.serviceAction === serviceActionOf(cdb))
  );
}

/** Why findCommand found nothing: an unknown opcode, or an unknown service action of a known one. */
export function unsupportedCommand(cdb: Buffer): SenseError {
  if (COMMANDS.some((command) => command.opcode === cdb[0])) return invalidFieldInCdb(1, 4);
  return new SenseError({
    key: SenseKey.ILLEGAL_REQUEST,
    additional: Asc.INVALID_COMMAND_OPERATION_CODE,
    field: { inCdb: true, byte: 0 },
  });
}
