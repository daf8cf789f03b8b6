// Reading command descriptor blocks: field accessors and the reserved-bit check against the
// CDB USAGE DATA that REPORT SUPPORTED OPERATION CODES also reports.

import { invalidFieldInCdb } from "./sense.ts";

/** Bits of CDB byte 1 that hold the SERVICE ACTION in MAINTENANCE IN / SERVICE ACTION IN. */
const SERVICE_ACTION_MASK = 0x1f;

export function serviceActionOf(cdb: Buffer): number {
  return cdb[1] & SERVICE_ACTION_MASK;
}

/** CDB length implied by the operation code's group (SPC-4 4.2.5.1), or undefined if variable. */
export function cdbLengthOfOpcode(opcode: number): number | undefined {
  switch (opcode >> 5) {
    case 0:
      return 6;
    case 1:
    case 2:
      return 10;
    case 4:
      return 16;
    case 5:
      return 12;
    default:
      return undefined;
  }
}

/**
 * Rejects a CDB with a bit set where the usage data says the device server does not use it.
 * Byte 0 (the opcode) and a service action field are identities, not usage bits.
 */
export function checkCdbUsage(cdb: Buffer, usage: readonly number[], hasServiceAction: boolean) {
  for (let byte = 1; byte < usage.length; byte++) {
    const allowed = byte === 1 && hasServiceAction ? usage[1] | SERVICE_ACTION_MASK : usage[byte];
    const stray = cdb[byte] & ~allowed & 0xff;
    if (stray !== 0) throw invalidFieldInCdb(byte, 31 - Math.clz32(stray));
  }
}

/** A 64-bit CDB field as a bigint (LBAs in 16-byte CDBs can exceed 2^53). */
export function readUInt64(cdb: Buffer, offset: number): bigint {
  return cdb.readBigUInt64BE(offset);
}

export function readUInt24(cdb: Buffer, offset: number): number {
  return (cdb[offset] << 16) | cdb.readUInt16BE(offset + 1);
}
