// The one table of supported commands: it drives dispatch, the reserved-bit check of every CDB
// and REPORT SUPPORTED OPERATION CODES.

import assert from "node:assert/strict";
import { synchronizeCache, preFetch } from "./cache-control.ts";
import { cdbLengthOfOpcode, serviceActionOf } from "./cdb.ts";
import type { CommandHandler } from "./command-context.ts";
import { compareAndWrite } from "./compare-and-write.ts";
import {
  Asc,
  ExtendedCopyAction,
  MaintenanceIn,
  MaintenanceOut,
  Opcode,
  PersistentReserveInAction,
  PersistentReserveOutAction,
  ReceiveCopyResultsAction,
  SenseKey,
  ServiceActionIn16,
} from "./constants.ts";
import { receiveCopyStatus, receiveOperatingParameters } from "./copy-results.ts";
import { extendedCopy } from "./extended-copy.ts";
import { inquiry } from "./inquiry.ts";
import { getLbaStatus } from "./lba-status.ts";
import { modeSelect, modeSense } from "./mode-commands.ts";
import { readCapacity10, readCapacity16 } from "./read-capacity.ts";
import { read, write } from "./read-write.ts";
import { reportLuns } from "./report-luns.ts";
import { reportSupportedOperationCodes } from "./report-supported-opcodes.ts";
import { requestSense } from "./request-sense.ts";
import { ReservationAccess, type ReservationAccessClass } from "./reservations/access.ts";
import {
  persistentReserveIn,
  persistentReserveOut,
  release,
  reserve,
} from "./reservations/commands.ts";
import { SenseError, invalidFieldInCdb } from "./sense.ts";
import { reportTargetPortGroups, setTargetPortGroups } from "./target-port-groups.ts";
import { unmap } from "./unmap.ts";
import { preventAllowMediumRemoval, startStopUnit, testUnitReady } from "./unit-control.ts";
import { verify, writeAndVerify } from "./verify.ts";
import { writeSame } from "./write-same.ts";

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
  /** How reservations held by other I_T nexuses treat it; a function where the CDB decides. */
  reservationAccess: ReservationAccessClass | ((cdb: Buffer) => ReservationAccessClass);
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
/** Byte 1 of WRITE SAME (10): UNMAP; (16): UNMAP and NDOB. ANCHOR is not supported. */
const WRITE_SAME_10_FLAGS = 0x08;
const WRITE_SAME_16_FLAGS = 0x09;
/** Byte 1 of REPORT TARGET PORT GROUPS: PARAMETER DATA FORMAT. */
const PARAMETER_DATA_FORMAT = 0xe0;

/** 10/12/16-byte block commands share a layout: flags, LBA, length, group number, control. */
function blockCommand(
  opcode: number,
  flags: number,
  reservationAccess: ReservationAccessClass,
  handler: CommandHandler,
): CommandDescriptor {
  const lengthOf = cdbLengthOfOpcode(opcode);
  const usage = lengthOf === 10
    ? [opcode, flags, ...LBA_32, GROUP_NUMBER, ANY, ANY, 0]
    : lengthOf === 12
    ? [opcode, flags, ...LBA_32, ...LBA_32, GROUP_NUMBER, 0]
    : [opcode, flags, ...LBA_64, ...LBA_32, GROUP_NUMBER, 0];
  return { opcode, usage, reservationAccess, handler };
}

const { UNRESTRICTED, OWN_RULES, ALLOWED, READ, WRITE } = ReservationAccess;
/** START STOP UNIT (SBC-3 table 13): only a plain start passes every reservation. */
const START = 0x01;
const POWER_CONDITION_SHIFT = 4;
/** PREVENT ALLOW MEDIUM REMOVAL (SPC-4 table 53): only an allow passes every reservation. */
const PREVENT = 0x03;

function startStopUnitAccess(cdb: Buffer): ReservationAccessClass {
  return cdb[4] >> POWER_CONDITION_SHIFT === 0 && cdb[4] & START ? ALLOWED : WRITE;
}

function preventAllowAccess(cdb: Buffer): ReservationAccessClass {
  return cdb[4] & PREVENT ? WRITE : ALLOWED;
}

/** PERSISTENT RESERVE IN/OUT: the usage data of one service action. */
function persistentReserveCommand(out: boolean, serviceAction: number): CommandDescriptor {
  const opcode = out ? Opcode.PERSISTENT_RESERVE_OUT : Opcode.PERSISTENT_RESERVE_IN;
  const usage = out
    ? [opcode, serviceAction, ANY, 0, 0, ...LBA_32, 0]
    : [opcode, serviceAction, 0, 0, 0, 0, 0, ANY, ANY, 0];
  const handler = out ? persistentReserveOut : persistentReserveIn;
  return { opcode, serviceAction, usage, reservationAccess: OWN_RULES, handler };
}

/** RECEIVE COPY RESULTS: byte 2 is the LIST IDENTIFIER, bytes 10-13 the ALLOCATION LENGTH. */
function receiveCopyResultsCommand(
  serviceAction: number,
  handler: CommandHandler,
): CommandDescriptor {
  const opcode = Opcode.RECEIVE_COPY_RESULTS;
  const usage = [opcode, serviceAction, ANY, 0, 0, 0, 0, 0, 0, 0, ...LBA_32, 0, 0];
  return { opcode, serviceAction, usage, reservationAccess: READ, handler };
}

const COMMANDS: readonly CommandDescriptor[] = [
  {
    opcode: Opcode.TEST_UNIT_READY,
    usage: [0x00, 0, 0, 0, 0, 0],
    reservationAccess: ALLOWED,
    handler: testUnitReady,
  },
  {
    opcode: Opcode.REQUEST_SENSE,
    usage: [Opcode.REQUEST_SENSE, 0x01, 0, 0, ANY, 0],
    unitAttentionExempt: true,
    reservationAccess: UNRESTRICTED,
    handler: requestSense,
  },
  {
    opcode: Opcode.READ_6,
    usage: [Opcode.READ_6, 0x1f, ANY, ANY, ANY, 0],
    reservationAccess: READ,
    handler: read,
  },
  {
    opcode: Opcode.WRITE_6,
    usage: [Opcode.WRITE_6, 0x1f, ANY, ANY, ANY, 0],
    reservationAccess: WRITE,
    handler: write,
  },
  {
    opcode: Opcode.INQUIRY,
    usage: [Opcode.INQUIRY, 0x01, ANY, ANY, ANY, 0],
    unitAttentionExempt: true,
    reservationAccess: UNRESTRICTED,
    handler: inquiry,
  },
  {
    opcode: Opcode.MODE_SELECT_6,
    usage: [Opcode.MODE_SELECT_6, 0x11, 0, 0, ANY, 0],
    reservationAccess: WRITE,
    handler: modeSelect,
  },
  {
    opcode: Opcode.RESERVE_6,
    usage: [Opcode.RESERVE_6, 0, 0, 0, 0, 0],
    reservationAccess: OWN_RULES,
    handler: reserve,
  },
  {
    opcode: Opcode.RELEASE_6,
    usage: [Opcode.RELEASE_6, 0, 0, 0, 0, 0],
    reservationAccess: OWN_RULES,
    handler: release,
  },
  {
    opcode: Opcode.MODE_SENSE_6,
    usage: [Opcode.MODE_SENSE_6, 0x08, ANY, ANY, ANY, 0],
    reservationAccess: READ,
    handler: modeSense,
  },
  {
    opcode: Opcode.START_STOP_UNIT,
    usage: [Opcode.START_STOP_UNIT, 0x01, 0, 0x0f, 0xf7, 0],
    reservationAccess: startStopUnitAccess,
    handler: startStopUnit,
  },
  {
    opcode: Opcode.PREVENT_ALLOW_MEDIUM_REMOVAL,
    usage: [Opcode.PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 0x01, 0],
    reservationAccess: preventAllowAccess,
    handler: preventAllowMediumRemoval,
  },
  {
    opcode: Opcode.READ_CAPACITY_10,
    usage: [Opcode.READ_CAPACITY_10, 0, ...LBA_32, 0, 0, 0x01, 0],
    reservationAccess: ALLOWED,
    handler: readCapacity10,
  },
  blockCommand(Opcode.READ_10, READ_FLAGS, READ, read),
  blockCommand(Opcode.WRITE_10, WRITE_FLAGS, WRITE, write),
  blockCommand(Opcode.WRITE_AND_VERIFY_10, VERIFY_FLAGS, WRITE, writeAndVerify),
  blockCommand(Opcode.VERIFY_10, VERIFY_FLAGS, READ, verify),
  blockCommand(Opcode.PRE_FETCH_10, PRE_FETCH_FLAGS, READ, preFetch),
  blockCommand(Opcode.SYNCHRONIZE_CACHE_10, SYNCHRONIZE_CACHE_FLAGS, WRITE, synchronizeCache),
  blockCommand(Opcode.WRITE_SAME_10, WRITE_SAME_10_FLAGS, WRITE, writeSame),
  {
    opcode: Opcode.UNMAP,
    usage: [Opcode.UNMAP, 0, 0, 0, 0, 0, GROUP_NUMBER, ANY, ANY, 0],
    reservationAccess: WRITE,
    handler: unmap,
  },
  {
    opcode: Opcode.MODE_SELECT_10,
    usage: [Opcode.MODE_SELECT_10, 0x11, 0, 0, 0, 0, 0, ANY, ANY, 0],
    reservationAccess: WRITE,
    handler: modeSelect,
  },
  {
    opcode: Opcode.RESERVE_10,
    usage: [Opcode.RESERVE_10, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    reservationAccess: OWN_RULES,
    handler: reserve,
  },
  {
    opcode: Opcode.RELEASE_10,
    usage: [Opcode.RELEASE_10, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    reservationAccess: OWN_RULES,
    handler: release,
  },
  {
    opcode: Opcode.MODE_SENSE_10,
    usage: [Opcode.MODE_SENSE_10, 0x18, ANY, ANY, 0, 0, 0, ANY, ANY, 0],
    reservationAccess: READ,
    handler: modeSense,
  },
  ...Object.values(PersistentReserveInAction).map((action) =>
    persistentReserveCommand(false, action)
  ),
  ...Object.values(PersistentReserveOutAction).map((action) =>
    persistentReserveCommand(true, action)
  ),
  {
    opcode: Opcode.EXTENDED_COPY,
    serviceAction: ExtendedCopyAction.EXTENDED_COPY_LID1,
    usage: [
      Opcode.EXTENDED_COPY, ExtendedCopyAction.EXTENDED_COPY_LID1, 0, 0, 0, 0, 0, 0, 0, 0,
      ...LBA_32, 0, 0,
    ],
    reservationAccess: WRITE,
    handler: extendedCopy,
  },
  receiveCopyResultsCommand(ReceiveCopyResultsAction.COPY_STATUS, receiveCopyStatus),
  receiveCopyResultsCommand(ReceiveCopyResultsAction.OPERATING_PARAMETERS,
    receiveOperatingParameters),
  blockCommand(Opcode.READ_16, READ_FLAGS, READ, read),
  {
    opcode: Opcode.COMPARE_AND_WRITE,
    usage: [Opcode.COMPARE_AND_WRITE, WRITE_FLAGS, ...LBA_64, 0, 0, 0, ANY, GROUP_NUMBER, 0],
    reservationAccess: WRITE,
    handler: compareAndWrite,
  },
  blockCommand(Opcode.WRITE_16, WRITE_FLAGS, WRITE, write),
  blockCommand(Opcode.WRITE_AND_VERIFY_16, VERIFY_FLAGS, WRITE, writeAndVerify),
  blockCommand(Opcode.VERIFY_16, VERIFY_FLAGS, READ, verify),
  blockCommand(Opcode.PRE_FETCH_16, PRE_FETCH_FLAGS, READ, preFetch),
  blockCommand(Opcode.SYNCHRONIZE_CACHE_16, SYNCHRONIZE_CACHE_FLAGS, WRITE, synchronizeCache),
  blockCommand(Opcode.WRITE_SAME_16, WRITE_SAME_16_FLAGS, WRITE, writeSame),
  {
    opcode: Opcode.SERVICE_ACTION_IN_16,
    serviceAction: ServiceActionIn16.READ_CAPACITY_16,
    usage: [
      Opcode.SERVICE_ACTION_IN_16, ServiceActionIn16.READ_CAPACITY_16, ...LBA_64, ...LBA_32,
      0x01, 0,
    ],
    reservationAccess: ALLOWED,
    handler: readCapacity16,
  },
  {
    opcode: Opcode.SERVICE_ACTION_IN_16,
    serviceAction: ServiceActionIn16.GET_LBA_STATUS,
    usage: [
      Opcode.SERVICE_ACTION_IN_16, ServiceActionIn16.GET_LBA_STATUS, ...LBA_64, ...LBA_32, 0, 0,
    ],
    reservationAccess: READ,
    handler: getLbaStatus,
  },
  {
    opcode: Opcode.REPORT_LUNS,
    usage: [Opcode.REPORT_LUNS, 0, ANY, 0, 0, 0, ...LBA_32, 0, 0],
    unitAttentionExempt: true,
    reservationAccess: UNRESTRICTED,
    handler: async (ctx) => reportLuns(ctx.task, ctx.target.lunInventory),
  },
  {
    opcode: Opcode.MAINTENANCE_IN,
    serviceAction: MaintenanceIn.REPORT_TARGET_PORT_GROUPS,
    usage: [
      Opcode.MAINTENANCE_IN, PARAMETER_DATA_FORMAT | MaintenanceIn.REPORT_TARGET_PORT_GROUPS,
      0, 0, 0, 0, ...LBA_32, 0, 0,
    ],
    reservationAccess: ALLOWED,
    handler: reportTargetPortGroups,
  },
  {
    opcode: Opcode.MAINTENANCE_IN,
    serviceAction: MaintenanceIn.REPORT_SUPPORTED_OPERATION_CODES,
    usage: [
      Opcode.MAINTENANCE_IN, MaintenanceIn.REPORT_SUPPORTED_OPERATION_CODES, 0x87, ANY, ANY, ANY,
      ...LBA_32, 0, 0,
    ],
    reservationAccess: READ,
    handler: async (ctx) => reportSupportedOperationCodes(ctx.task, COMMANDS),
  },
  {
    opcode: Opcode.MAINTENANCE_OUT,
    serviceAction: MaintenanceOut.SET_TARGET_PORT_GROUPS,
    usage: [
      Opcode.MAINTENANCE_OUT, MaintenanceOut.SET_TARGET_PORT_GROUPS, 0, 0, 0, 0, ...LBA_32, 0, 0,
    ],
    reservationAccess: WRITE,
    handler: setTargetPortGroups,
  },
  blockCommand(Opcode.READ_12, READ_FLAGS, READ, read),
  blockCommand(Opcode.WRITE_12, WRITE_FLAGS, WRITE, write),
  blockCommand(Opcode.WRITE_AND_VERIFY_12, VERIFY_FLAGS, WRITE, writeAndVerify),
  blockCommand(Opcode.VERIFY_12, VERIFY_FLAGS, READ, verify),
];

for (const command of COMMANDS) {
  assert.equal(command.usage[0], command.opcode, "usage data must start with the opcode");
  assert.equal(command.usage.length, cdbLengthOfOpcode(command.opcode), "usage data length");
}

export function reservationAccessOf(
  command: CommandDescriptor,
  cdb: Buffer,
): ReservationAccessClass {
  const access = command.reservationAccess;
  return typeof access === "function" ? access(cdb) : access;
}

export function findCommand(cdb: Buffer): CommandDescriptor | undefined {
  return COMMANDS.find((command) =>
    command.opcode === cdb[0] &&
    (command.serviceAction === undefined || command.serviceAction === serviceActionOf(cdb))
  );
}

/** Why findCommand found nothing: an unknown opcode or an unknown service action. */
export function unsupportedCommand(cdb: Buffer): SenseError {
  if (COMMANDS.some((command) => command.opcode === cdb[0])) return invalidFieldInCdb(1, 4);
  return new SenseError({
    key: SenseKey.ILLEGAL_REQUEST,
    additional: Asc.INVALID_COMMAND_OPERATION_CODE,
    field: { inCdb: true, byte: 0 },
  });
}
