// Sense data (SPC-4 4.5): what went wrong, encoded as fixed (0x70) or descriptor (0x72) format.
// Command handlers throw SenseError; the logical unit turns it into CHECK CONDITION.

import {
  type AdditionalSense,
  Asc,
  SENSE_DESCRIPTOR_CURRENT,
  SENSE_FIXED_CURRENT,
  SENSE_FIXED_LENGTH,
  SenseDescriptorType,
  SenseKey,
  STATUS_CHECK_CONDITION,
} from "./constants.ts";
import type { ScsiResult } from "./types.ts";

/** Where an ILLEGAL REQUEST points: a byte (and optionally a bit) of the CDB or parameter list. */
export interface FieldPointer {
  inCdb: boolean;
  byte: number;
  bit?: number;
}

export interface SenseInfo {
  key: number;
  additional: AdditionalSense;
  /** INFORMATION field (e.g. the miscompare offset); marks the sense data VALID. */
  information?: number;
  field?: FieldPointer;
}

export class SenseError extends Error {
  constructor(readonly sense: SenseInfo) {
    super(`sense key 0x${sense.key.toString(16)} ` +
      `asc/ascq 0x${sense.additional.asc.toString(16)}/0x${sense.additional.ascq.toString(16)}`);
    this.name = "SenseError";
  }
}

export function invalidFieldInCdb(byte: number, bit?: number): SenseError {
  return new SenseError({
    key: SenseKey.ILLEGAL_REQUEST,
    additional: Asc.INVALID_FIELD_IN_CDB,
    field: { inCdb: true, byte, bit },
  });
}

export function invalidFieldInParameterList(byte: number, bit?: number): SenseError {
  return new SenseError({
    key: SenseKey.ILLEGAL_REQUEST,
    additional: Asc.INVALID_FIELD_IN_PARAMETER_LIST,
    field: { inCdb: false, byte, bit },
  });
}

export function illegalRequest(additional: AdditionalSense): SenseError {
  return new SenseError({ key: SenseKey.ILLEGAL_REQUEST, additional });
}

export function lbaOutOfRange(): SenseError {
  return illegalRequest(Asc.LOGICAL_BLOCK_ADDRESS_OUT_OF_RANGE);
}

export function checkCondition(sense: SenseInfo): ScsiResult {
  return { status: STATUS_CHECK_CONDITION, sense: encodeFixedSense(sense) };
}

// The SENSE KEY SPECIFIC field for ILLEGAL REQUEST: SKSV, C/D, BPV, BIT POINTER, FIELD POINTER.
function encodeFieldPointer(field: FieldPointer, out: Buffer, offset: number): void {
  let flags = 0x80;
  if (field.inCdb) flags |= 0x40;
  if (field.bit !== undefined) flags |= 0x08 | (field.bit & 0x07);
  out[offset] = flags;
  out.writeUInt16BE(field.byte, offset + 1);
}

export function encodeFixedSense(sense: SenseInfo): Buffer {
  const out = Buffer.alloc(SENSE_FIXED_LENGTH);
  out[0] = SENSE_FIXED_CURRENT;
  if (sense.information !== undefined) {
    out[0] |= 0x80;
    out.writeUInt32BE(sense.information >>> 0, 3);
  }
  out[2] = sense.key;
  out[7] = SENSE_FIXED_LENGTH - 8;
  out[12] = sense.additional.asc;
  out[13] = sense.additional.ascq;
  if (sense.field) encodeFieldPointer(sense.field, out, 15);
  return out;
}

export function encodeDescriptorSense(sense: SenseInfo): Buffer {
  const descriptors: Buffer[] = [];
  if (sense.information !== undefined) {
    const info = Buffer.alloc(12);
    info[0] = SenseDescriptorType.INFORMATION;
    info[1] = 0x0a;
    info[2] = 0x80;
    info.writeBigUInt64BE(BigInt(sense.information), 4);
    descriptors.push(info);
  }
  if (sense.field) {
    const specific = Buffer.alloc(8);
    specific[0] = SenseDescriptorType.SENSE_KEY_SPECIFIC;
    specific[1] = 0x06;
    encodeFieldPointer(sense.field, specific, 4);
    descriptors.push(specific);
  }
  const header = Buffer.alloc(8);
  header[0] = SENSE_DESCRIPTOR_CURRENT;
  header[1] = sense.key;
  header[2] = sense.additional.asc;
  header[3] = sense.additional.ascq;
  const body = Buffer.concat(descriptors);
  header[7] = body.length;
  return Buffer.concat([header, body]);
}
