// Pure codec between wire PDUs and the typed views in pdu-types.ts (RFC 7143 section 11).
// Decoders take a Pdu (BHS, AHS and data as read by pdu-reader.ts) and return views, not copies.
// Encoders write a fresh BHS; the data segment is sent separately (see pduWireParts).

import {
  AHS_BIDI_READ_LENGTH_LENGTH,
  AHS_TYPE_BIDI_READ_LENGTH,
  AHS_TYPE_EXTENDED_CDB,
  BHS_FINAL_BIT,
  BHS_IMMEDIATE_BIT,
  BHS_LENGTH,
  BHS_OPCODE_MASK,
  CDB_LENGTH_IN_BHS,
  DATA_IN_FLAG_ACKNOWLEDGE,
  DATA_IN_FLAG_OVERFLOW,
  DATA_IN_FLAG_STATUS,
  DATA_IN_FLAG_UNDERFLOW,
  LOGIN_CSG_SHIFT,
  LOGIN_FLAG_CONTINUE,
  LOGIN_FLAG_TRANSIT,
  LOGIN_STAGE_MASK,
  LOGOUT_REASON_MASK,
  LOGOUT_REASON_REMOVE_CONNECTION_FOR_RECOVERY,
  OP_ASYNC_MESSAGE,
  OP_LOGIN_REQUEST,
  OP_LOGIN_RESPONSE,
  OP_LOGOUT_REQUEST,
  OP_LOGOUT_RESPONSE,
  OP_NOP_IN,
  OP_NOP_OUT,
  OP_R2T,
  OP_REJECT,
  OP_SCSI_COMMAND,
  OP_SCSI_DATA_IN,
  OP_SCSI_DATA_OUT,
  OP_SCSI_RESPONSE,
  OP_SNACK_REQUEST,
  OP_TARGET_FIRST,
  OP_TASK_MGMT_REQUEST,
  OP_TASK_MGMT_RESPONSE,
  OP_TEXT_REQUEST,
  OP_TEXT_RESPONSE,
  REJECT_COMMAND_NOT_SUPPORTED,
  REJECT_INVALID_PDU_FIELD,
  REJECT_PROTOCOL_ERROR,
  RESERVED_TAG,
  SCSI_CMD_ATTR_MASK,
  SCSI_CMD_FLAG_READ,
  SCSI_CMD_FLAG_WRITE,
  SCSI_RESP_FLAG_BIDI_OVERFLOW,
  SCSI_RESP_FLAG_BIDI_UNDERFLOW,
  SCSI_RESP_FLAG_OVERFLOW,
  SCSI_RESP_FLAG_UNDERFLOW,
  SNACK_TYPE_MASK,
  SNACK_TYPE_R_DATA,
  STAGE_FULL_FEATURE_PHASE,
  STAGE_LOGIN_OPERATIONAL_NEGOTIATION,
  STAGE_SECURITY_NEGOTIATION,
  TEXT_FLAG_CONTINUE,
  TMF_FUNCTION_MASK,
} from "./constants.ts";
import type {
  AsyncMessageFields,
  DataInFields,
  DataOutPdu,
  LoginRequestPdu,
  LoginResponseFields,
  LogoutRequestPdu,
  LogoutResponseFields,
  NopInFields,
  NopOutPdu,
  Pdu,
  R2tFields,
  RejectFields,
  ScsiCommandPdu,
  ScsiResponseFields,
  SnackRequestPdu,
  TaskMgmtRequestPdu,
  TaskMgmtResponseFields,
  TextRequestPdu,
  TextResponseFields,
} from "./pdu-types.ts";

// ---- errors ----

export type PduFormatErrorCode =
  | "UNKNOWN_OPCODE"
  | "TARGET_OPCODE"
  | "BAD_AHS"
  | "UNEXPECTED_AHS"
  | "UNEXPECTED_DATA"
  | "INVALID_FIELD";

const REJECT_REASON_BY_CODE: Record<PduFormatErrorCode, number> = {
  UNKNOWN_OPCODE: REJECT_COMMAND_NOT_SUPPORTED,
  TARGET_OPCODE: REJECT_PROTOCOL_ERROR,
  BAD_AHS: REJECT_INVALID_PDU_FIELD,
  UNEXPECTED_AHS: REJECT_PROTOCOL_ERROR,
  UNEXPECTED_DATA: REJECT_PROTOCOL_ERROR,
  INVALID_FIELD: REJECT_INVALID_PDU_FIELD,
};

/** A received PDU that breaks RFC 7143 framing or field rules; answer with a Reject. */
export class PduFormatError extends Error {
  readonly rejectReason: number;
  constructor(
    readonly code: PduFormatErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = "PduFormatError";
    this.rejectReason = REJECT_REASON_BY_CODE[code];
  }
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`pdu codec invariant: ${message}`);
}

// ---- BHS fields common to every PDU ----

export function pduOpcode(bhs: Buffer): number {
  return bhs[0] & BHS_OPCODE_MASK;
}

export function pduImmediate(bhs: Buffer): boolean {
  return (bhs[0] & BHS_IMMEDIATE_BIT) !== 0;
}

export function pduFinal(bhs: Buffer): boolean {
  return (bhs[1] & BHS_FINAL_BIT) !== 0;
}

export function pduItt(bhs: Buffer): number {
  return bhs.readUInt32BE(16);
}

export function pduTotalAhsLength(bhs: Buffer): number {
  return bhs[4] * 4;
}

export function pduDataSegmentLength(bhs: Buffer): number {
  return bhs.readUIntBE(5, 3);
}

/** Splits an encoded header (BHS + AHS, as encoders return it) and data into a Pdu. */
export function pduFromParts(header: Buffer, data: Buffer): Pdu {
  assert(header.length >= BHS_LENGTH, "header shorter than a BHS");
  const bhs = header.subarray(0, BHS_LENGTH);
  assert(header.length === BHS_LENGTH + pduTotalAhsLength(bhs), "TotalAHSLength mismatch");
  assert(data.length === pduDataSegmentLength(bhs), "DataSegmentLength mismatch");
  return { bhs, ahs: header.subarray(BHS_LENGTH), data };
}

// ---- LUN (SAM-5 4.7: single level, peripheral or flat space addressing) ----

/** Returned by decodeLun for LUN fields no configured logical unit can match. */
export const LUN_NOT_ADDRESSABLE = -1;
const LUN_ADDRESS_METHOD_PERIPHERAL = 0x00;
const LUN_ADDRESS_METHOD_FLAT = 0x40;
const LUN_ADDRESS_METHOD_MASK = 0xc0;
const PERIPHERAL_LUN_LIMIT = 256;
const FLAT_LUN_LIMIT = 16384;

export function decodeLun(raw: Buffer): number {
  assert(raw.length === 8, "LUN field is 8 bytes");
  for (let i = 2; i < 8; i++) if (raw[i] !== 0) return LUN_NOT_ADDRESSABLE;
  const method = raw[0] & LUN_ADDRESS_METHOD_MASK;
  if (method === LUN_ADDRESS_METHOD_PERIPHERAL) {
    return raw[0] === 0 ? raw[1] : LUN_NOT_ADDRESSABLE; // bus identifier must be 0
  }
  if (method === LUN_ADDRESS_METHOD_FLAT) return ((raw[0] & 0x3f) << 8) | raw[1];
  return LUN_NOT_ADDRESSABLE;
}

export function encodeLun(lun: number): Buffer {
  const raw = Buffer.alloc(8);
  writeLun(raw, 0, lun);
  return raw;
}

function writeLun(buf: Buffer, offset: number, lun: number): void {
  assert(Number.isInteger(lun) && lun >= 0 && lun < FLAT_LUN_LIMIT, `LUN ${lun} not encodable`);
  if (lun < PERIPHERAL_LUN_LIMIT) {
    buf[offset + 1] = lun;
  } else {
    buf[offset] = LUN_ADDRESS_METHOD_FLAT | (lun >> 8);
    buf[offset + 1] = lun & 0xff;
  }
}

function lunField(bhs: Buffer): Buffer {
  return bhs.subarray(8, 16);
}

// ---- shared decoding checks ----

function expectOpcode(pdu: Pdu, opcode: number): void {
  assert(pdu.bhs.length === BHS_LENGTH, "BHS is 48 bytes");
  assert(pduOpcode(pdu.bhs) === opcode, `opcode 0x${pduOpcode(pdu.bhs).toString(16)}`);
  assert(pdu.ahs.length === pduTotalAhsLength(pdu.bhs), "AHS length matches TotalAHSLength");
  assert(pdu.data.length === pduDataSegmentLength(pdu.bhs), "data matches DataSegmentLength");
}

function forbidAhs(pdu: Pdu, what: string): void {
  if (pdu.ahs.length !== 0) throw new PduFormatError("UNEXPECTED_AHS", `${what} with an AHS`);
}

function forbidData(pdu: Pdu, what: string): void {
  if (pdu.data.length !== 0) throw new PduFormatError("UNEXPECTED_DATA", `${what} with data`);
}

function invalidField(message: string): never {
  throw new PduFormatError("INVALID_FIELD", message);
}

// ---- initiator -> target: decoders ----

interface CommandAhs {
  extendedCdb: Buffer | null;
  bidiReadLength: number | null;
}

function decodeCommandAhs(ahs: Buffer): CommandAhs {
  const found: CommandAhs = { extendedCdb: null, bidiReadLength: null };
  let offset = 0;
  while (offset < ahs.length) {
    if (ahs.length - offset < 4) throw new PduFormatError("BAD_AHS", "truncated AHS header");
    const ahsLength = ahs.readUInt16BE(offset);
    const ahsType = ahs[offset + 2];
    const end = offset + 3 + ahsLength;
    if (end > ahs.length) throw new PduFormatError("BAD_AHS", "AHSLength beyond TotalAHSLength");
    if (ahsType === AHS_TYPE_EXTENDED_CDB && found.extendedCdb === null && ahsLength >= 2) {
      found.extendedCdb = ahs.subarray(offset + 4, end);
    } else if (
      ahsType === AHS_TYPE_BIDI_READ_LENGTH &&
      found.bidiReadLength === null &&
      ahsLength === AHS_BIDI_READ_LENGTH_LENGTH
    ) {
      found.bidiReadLength = ahs.readUInt32BE(offset + 4);
    } else {
      throw new PduFormatError("BAD_AHS", `AHS type ${ahsType} length ${ahsLength}`);
    }
    offset = alignTo4(end);
  }
  return found;
}

export function decodeScsiCommand(pdu: Pdu): ScsiCommandPdu {
  expectOpcode(pdu, OP_SCSI_COMMAND);
  const { bhs } = pdu;
  const write = (bhs[1] & SCSI_CMD_FLAG_WRITE) !== 0;
  if (!write && pdu.data.length > 0) {
    throw new PduFormatError("UNEXPECTED_DATA", "immediate data without the W bit");
  }
  const ahs = decodeCommandAhs(pdu.ahs);
  const bhsCdb = bhs.subarray(32, 48);
  return {
    immediate: pduImmediate(bhs),
    final: pduFinal(bhs),
    read: (bhs[1] & SCSI_CMD_FLAG_READ) !== 0,
    write,
    taskAttribute: bhs[1] & SCSI_CMD_ATTR_MASK,
    lun: decodeLun(lunField(bhs)),
    rawLun: lunField(bhs),
    itt: pduItt(bhs),
    expectedDataTransferLength: bhs.readUInt32BE(20),
    cmdSN: bhs.readUInt32BE(24),
    expStatSN: bhs.readUInt32BE(28),
    cdb: ahs.extendedCdb === null ? bhsCdb : Buffer.concat([bhsCdb, ahs.extendedCdb]),
    bidiReadLength: ahs.bidiReadLength,
    data: pdu.data,
  };
}

export function decodeDataOut(pdu: Pdu): DataOutPdu {
  expectOpcode(pdu, OP_SCSI_DATA_OUT);
  forbidAhs(pdu, "Data-Out");
  const { bhs } = pdu;
  return {
    final: pduFinal(bhs),
    lun: decodeLun(lunField(bhs)),
    itt: pduItt(bhs),
    ttt: bhs.readUInt32BE(20),
    expStatSN: bhs.readUInt32BE(28),
    dataSN: bhs.readUInt32BE(36),
    bufferOffset: bhs.readUInt32BE(40),
    data: pdu.data,
  };
}

export function decodeNopOut(pdu: Pdu): NopOutPdu {
  expectOpcode(pdu, OP_NOP_OUT);
  forbidAhs(pdu, "NOP-Out");
  const { bhs } = pdu;
  return {
    immediate: pduImmediate(bhs),
    lun: decodeLun(lunField(bhs)),
    rawLun: lunField(bhs),
    itt: pduItt(bhs),
    ttt: bhs.readUInt32BE(20),
    cmdSN: bhs.readUInt32BE(24),
    expStatSN: bhs.readUInt32BE(28),
    data: pdu.data,
  };
}

export function decodeTaskMgmtRequest(pdu: Pdu): TaskMgmtRequestPdu {
  expectOpcode(pdu, OP_TASK_MGMT_REQUEST);
  forbidAhs(pdu, "Task Management Function Request");
  forbidData(pdu, "Task Management Function Request");
  const { bhs } = pdu;
  return {
    immediate: pduImmediate(bhs),
    function: bhs[1] & TMF_FUNCTION_MASK,
    lun: decodeLun(lunField(bhs)),
    rawLun: lunField(bhs),
    itt: pduItt(bhs),
    referencedTaskTag: bhs.readUInt32BE(20),
    cmdSN: bhs.readUInt32BE(24),
    expStatSN: bhs.readUInt32BE(28),
    refCmdSN: bhs.readUInt32BE(32),
    expDataSN: bhs.readUInt32BE(36),
  };
}

interface LoginFlags {
  transit: boolean;
  continue: boolean;
  csg: number;
  nsg: number;
}

function decodeLoginFlags(byte1: number): LoginFlags {
  return {
    transit: (byte1 & LOGIN_FLAG_TRANSIT) !== 0,
    continue: (byte1 & LOGIN_FLAG_CONTINUE) !== 0,
    csg: (byte1 >> LOGIN_CSG_SHIFT) & LOGIN_STAGE_MASK,
    nsg: byte1 & LOGIN_STAGE_MASK,
  };
}

function encodeLoginFlags(flags: LoginFlags): number {
  assert(!(flags.transit && flags.continue), "T and C bits both set");
  assert((flags.csg & ~LOGIN_STAGE_MASK) === 0 && (flags.nsg & ~LOGIN_STAGE_MASK) === 0, "stage");
  return (
    (flags.transit ? LOGIN_FLAG_TRANSIT : 0) |
    (flags.continue ? LOGIN_FLAG_CONTINUE : 0) |
    (flags.csg << LOGIN_CSG_SHIFT) |
    flags.nsg
  );
}

/** Errors here should end the login with status class "initiator error", not a Reject. */
export function decodeLoginRequest(pdu: Pdu): LoginRequestPdu {
  expectOpcode(pdu, OP_LOGIN_REQUEST);
  forbidAhs(pdu, "Login Request");
  const { bhs } = pdu;
  const flags = decodeLoginFlags(bhs[1]);
  if (flags.transit && flags.continue) invalidField("Login Request with both T and C bits");
  const csgValid =
    flags.csg === STAGE_SECURITY_NEGOTIATION || flags.csg === STAGE_LOGIN_OPERATIONAL_NEGOTIATION;
  if (!csgValid) invalidField(`Login Request CSG ${flags.csg}`);
  const nsgValid =
    flags.nsg === STAGE_LOGIN_OPERATIONAL_NEGOTIATION || flags.nsg === STAGE_FULL_FEATURE_PHASE;
  if (flags.transit && !nsgValid) invalidField(`Login Request NSG ${flags.nsg}`);
  return {
    immediate: pduImmediate(bhs),
    ...flags,
    versionMax: bhs[2],
    versionMin: bhs[3],
    isid: bhs.subarray(8, 14),
    tsih: bhs.readUInt16BE(14),
    itt: pduItt(bhs),
    cid: bhs.readUInt16BE(20),
    cmdSN: bhs.readUInt32BE(24),
    expStatSN: bhs.readUInt32BE(28),
    data: pdu.data,
  };
}

export function decodeTextRequest(pdu: Pdu): TextRequestPdu {
  expectOpcode(pdu, OP_TEXT_REQUEST);
  forbidAhs(pdu, "Text Request");
  const { bhs } = pdu;
  const final = pduFinal(bhs);
  const more = (bhs[1] & TEXT_FLAG_CONTINUE) !== 0;
  if (final && more) invalidField("Text Request with F and C bits");
  return {
    immediate: pduImmediate(bhs),
    final,
    continue: more,
    lun: decodeLun(lunField(bhs)),
    itt: pduItt(bhs),
    ttt: bhs.readUInt32BE(20),
    cmdSN: bhs.readUInt32BE(24),
    expStatSN: bhs.readUInt32BE(28),
    data: pdu.data,
  };
}

export function decodeLogoutRequest(pdu: Pdu): LogoutRequestPdu {
  expectOpcode(pdu, OP_LOGOUT_REQUEST);
  forbidAhs(pdu, "Logout Request");
  forbidData(pdu, "Logout Request");
  const { bhs } = pdu;
  const reasonCode = bhs[1] & LOGOUT_REASON_MASK;
  if (reasonCode > LOGOUT_REASON_REMOVE_CONNECTION_FOR_RECOVERY) {
    invalidField(`Logout reason code ${reasonCode}`);
  }
  return {
    immediate: pduImmediate(bhs),
    reasonCode,
    itt: pduItt(bhs),
    cid: bhs.readUInt16BE(20),
    cmdSN: bhs.readUInt32BE(24),
    expStatSN: bhs.readUInt32BE(28),
  };
}

export function decodeSnackRequest(pdu: Pdu): SnackRequestPdu {
  expectOpcode(pdu, OP_SNACK_REQUEST);
  forbidAhs(pdu, "SNACK Request");
  forbidData(pdu, "SNACK Request");
  const { bhs } = pdu;
  const type = bhs[1] & SNACK_TYPE_MASK;
  if (type > SNACK_TYPE_R_DATA) invalidField(`SNACK type ${type}`);
  return {
    type,
    lun: decodeLun(lunField(bhs)),
    itt: pduItt(bhs),
    ttt: bhs.readUInt32BE(20),
    expStatSN: bhs.readUInt32BE(28),
    begRun: bhs.readUInt32BE(40),
    runLength: bhs.readUInt32BE(44),
  };
}

export type DecodedRequest =
  | { opcode: typeof OP_SCSI_COMMAND; request: ScsiCommandPdu }
  | { opcode: typeof OP_SCSI_DATA_OUT; request: DataOutPdu }
  | { opcode: typeof OP_NOP_OUT; request: NopOutPdu }
  | { opcode: typeof OP_TASK_MGMT_REQUEST; request: TaskMgmtRequestPdu }
  | { opcode: typeof OP_LOGIN_REQUEST; request: LoginRequestPdu }
  | { opcode: typeof OP_TEXT_REQUEST; request: TextRequestPdu }
  | { opcode: typeof OP_LOGOUT_REQUEST; request: LogoutRequestPdu }
  | { opcode: typeof OP_SNACK_REQUEST; request: SnackRequestPdu };

/** Decodes any initiator PDU; throws PduFormatError for opcodes a target must not accept. */
export function decodeRequest(pdu: Pdu): DecodedRequest {
  const opcode = pduOpcode(pdu.bhs);
  switch (opcode) {
    case OP_SCSI_COMMAND:
      return { opcode, request: decodeScsiCommand(pdu) };
    case OP_SCSI_DATA_OUT:
      return { opcode, request: decodeDataOut(pdu) };
    case OP_NOP_OUT:
      return { opcode, request: decodeNopOut(pdu) };
    case OP_TASK_MGMT_REQUEST:
      return { opcode, request: decodeTaskMgmtRequest(pdu) };
    case OP_LOGIN_REQUEST:
      return { opcode, request: decodeLoginRequest(pdu) };
    case OP_TEXT_REQUEST:
      return { opcode, request: decodeTextRequest(pdu) };
    case OP_LOGOUT_REQUEST:
      return { opcode, request: decodeLogoutRequest(pdu) };
    case OP_SNACK_REQUEST:
      return { opcode, request: decodeSnackRequest(pdu) };
    default:
      if (opcode >= OP_TARGET_FIRST) {
        throw new PduFormatError("TARGET_OPCODE", `target opcode 0x${opcode.toString(16)}`);
      }
      throw new PduFormatError("UNKNOWN_OPCODE", `opcode 0x${opcode.toString(16)}`);
  }
}

// ---- encoding helpers ----

const MAX_DATA_SEGMENT_LENGTH_FIELD = 0xffffff;

function alignTo4(n: number): number {
  return (n + 3) & ~3;
}

/** A zeroed BHS with opcode, byte 1 flags, TotalAHSLength (in bytes) and DataSegmentLength. */
function newBhs(opcode: number, byte1: number, dataSegmentLength: number, ahsLength = 0): Buffer {
  assert(
    Number.isInteger(dataSegmentLength) &&
      dataSegmentLength >= 0 &&
      dataSegmentLength <= MAX_DATA_SEGMENT_LENGTH_FIELD,
    `DataSegmentLength ${dataSegmentLength}`,
  );
  assert(ahsLength % 4 === 0 && ahsLength / 4 <= 0xff, `AHS length ${ahsLength}`);
  const bhs = Buffer.alloc(BHS_LENGTH + ahsLength);
  bhs[0] = opcode;
  bhs[1] = byte1;
  bhs[4] = ahsLength / 4;
  bhs.writeUIntBE(dataSegmentLength, 5, 3);
  return bhs;
}

function writeStatusNumbers(
  bhs: Buffer,
  fields: { statSN: number; expCmdSN: number; maxCmdSN: number },
): void {
  bhs.writeUInt32BE(fields.statSN, 24);
  bhs.writeUInt32BE(fields.expCmdSN, 28);
  bhs.writeUInt32BE(fields.maxCmdSN, 32);
}

function readStatusNumbers(bhs: Buffer): { statSN: number; expCmdSN: number; maxCmdSN: number } {
  return {
    statSN: bhs.readUInt32BE(24),
    expCmdSN: bhs.readUInt32BE(28),
    maxCmdSN: bhs.readUInt32BE(32),
  };
}

function immediateBit(immediate: boolean): number {
  return immediate ? BHS_IMMEDIATE_BIT : 0;
}

function flag(set: boolean, bit: number): number {
  return set ? bit : 0;
}

// ---- target -> initiator: encoders ----

export function encodeScsiResponse(f: ScsiResponseFields): Buffer {
  const byte1 =
    BHS_FINAL_BIT |
    flag(f.bidiReadResidualOverflow, SCSI_RESP_FLAG_BIDI_OVERFLOW) |
    flag(f.bidiReadResidualUnderflow, SCSI_RESP_FLAG_BIDI_UNDERFLOW) |
    flag(f.residualOverflow, SCSI_RESP_FLAG_OVERFLOW) |
    flag(f.residualUnderflow, SCSI_RESP_FLAG_UNDERFLOW);
  assert(!(f.residualOverflow && f.residualUnderflow), "residual overflow and underflow");
  const bhs = newBhs(OP_SCSI_RESPONSE, byte1, f.dataSegmentLength);
  bhs[2] = f.response;
  bhs[3] = f.status;
  bhs.writeUInt32BE(f.itt, 16);
  writeStatusNumbers(bhs, f);
  bhs.writeUInt32BE(f.expDataSN, 36);
  bhs.writeUInt32BE(f.bidiReadResidualCount, 40);
  bhs.writeUInt32BE(f.residualCount, 44);
  return bhs;
}

export function encodeDataIn(f: DataInFields): Buffer {
  assert(!f.statusPresent || f.final, "S bit requires the F bit");
  assert(!(f.residualOverflow && f.residualUnderflow), "residual overflow and underflow");
  const byte1 =
    flag(f.final, BHS_FINAL_BIT) |
    flag(f.acknowledge, DATA_IN_FLAG_ACKNOWLEDGE) |
    flag(f.residualOverflow, DATA_IN_FLAG_OVERFLOW) |
    flag(f.residualUnderflow, DATA_IN_FLAG_UNDERFLOW) |
    flag(f.statusPresent, DATA_IN_FLAG_STATUS);
  const bhs = newBhs(OP_SCSI_DATA_IN, byte1, f.dataSegmentLength);
  if (f.statusPresent) bhs[3] = f.status;
  writeLun(bhs, 8, f.lun);
  bhs.writeUInt32BE(f.itt, 16);
  bhs.writeUInt32BE(f.ttt, 20);
  bhs.writeUInt32BE(f.statusPresent ? f.statSN : 0, 24);
  bhs.writeUInt32BE(f.expCmdSN, 28);
  bhs.writeUInt32BE(f.maxCmdSN, 32);
  bhs.writeUInt32BE(f.dataSN, 36);
  bhs.writeUInt32BE(f.bufferOffset, 40);
  bhs.writeUInt32BE(f.residualCount, 44);
  return bhs;
}

export function encodeR2t(f: R2tFields): Buffer {
  assert(f.desiredDataTransferLength > 0, "R2T for zero bytes");
  const bhs = newBhs(OP_R2T, BHS_FINAL_BIT, 0);
  writeLun(bhs, 8, f.lun);
  bhs.writeUInt32BE(f.itt, 16);
  bhs.writeUInt32BE(f.ttt, 20);
  writeStatusNumbers(bhs, f);
  bhs.writeUInt32BE(f.r2tSN, 36);
  bhs.writeUInt32BE(f.bufferOffset, 40);
  bhs.writeUInt32BE(f.desiredDataTransferLength, 44);
  return bhs;
}

export function encodeNopIn(f: NopInFields): Buffer {
  assert(f.rawLun.length === 8, "LUN field is 8 bytes");
  const bhs = newBhs(OP_NOP_IN, BHS_FINAL_BIT, f.dataSegmentLength);
  f.rawLun.copy(bhs, 8);
  bhs.writeUInt32BE(f.itt, 16);
  bhs.writeUInt32BE(f.ttt, 20);
  writeStatusNumbers(bhs, f);
  return bhs;
}

export function encodeTaskMgmtResponse(f: TaskMgmtResponseFields): Buffer {
  const bhs = newBhs(OP_TASK_MGMT_RESPONSE, BHS_FINAL_BIT, 0);
  bhs[2] = f.response;
  bhs.writeUInt32BE(f.itt, 16);
  writeStatusNumbers(bhs, f);
  return bhs;
}

export function encodeLoginResponse(f: LoginResponseFields): Buffer {
  assert(f.isid.length === 6, "ISID is 6 bytes");
  const bhs = newBhs(OP_LOGIN_RESPONSE, encodeLoginFlags(f), f.dataSegmentLength);
  bhs[2] = f.versionMax;
  bhs[3] = f.versionActive;
  f.isid.copy(bhs, 8);
  bhs.writeUInt16BE(f.tsih, 14);
  bhs.writeUInt32BE(f.itt, 16);
  writeStatusNumbers(bhs, f);
  bhs[36] = f.statusClass;
  bhs[37] = f.statusDetail;
  return bhs;
}

export function encodeTextResponse(f: TextResponseFields): Buffer {
  assert(!(f.final && f.continue), "F and C bits both set");
  const byte1 = flag(f.final, BHS_FINAL_BIT) | flag(f.continue, TEXT_FLAG_CONTINUE);
  const bhs = newBhs(OP_TEXT_RESPONSE, byte1, f.dataSegmentLength);
  writeLun(bhs, 8, f.lun);
  bhs.writeUInt32BE(f.itt, 16);
  bhs.writeUInt32BE(f.ttt, 20);
  writeStatusNumbers(bhs, f);
  return bhs;
}

export function encodeLogoutResponse(f: LogoutResponseFields): Buffer {
  const bhs = newBhs(OP_LOGOUT_RESPONSE, BHS_FINAL_BIT, 0);
  bhs[2] = f.response;
  bhs.writeUInt32BE(f.itt, 16);
  writeStatusNumbers(bhs, f);
  bhs.writeUInt16BE(f.time2Wait, 40);
  bhs.writeUInt16BE(f.time2Retain, 42);
  return bhs;
}

export function encodeReject(f: RejectFields): Buffer {
  const bhs = newBhs(OP_REJECT, BHS_FINAL_BIT, f.dataSegmentLength);
  bhs[2] = f.reason;
  bhs.writeUInt32BE(RESERVED_TAG, 16);
  writeStatusNumbers(bhs, f);
  bhs.writeUInt32BE(f.dataSN, 36);
  return bhs;
}

export function encodeAsyncMessage(f: AsyncMessageFields): Buffer {
  const bhs = newBhs(OP_ASYNC_MESSAGE, BHS_FINAL_BIT, f.dataSegmentLength);
  writeLun(bhs, 8, f.lun);
  bhs.writeUInt32BE(RESERVED_TAG, 16);
  writeStatusNumbers(bhs, f);
  bhs[36] = f.asyncEvent;
  bhs[37] = f.asyncVCode;
  bhs.writeUInt16BE(f.parameter1, 38);
  bhs.writeUInt16BE(f.parameter2, 40);
  bhs.writeUInt16BE(f.parameter3, 42);
  return bhs;
}

// ---- initiator -> target: encoders (test initiator, fuzzer, tools) ----

export type ScsiCommandFields = Omit<ScsiCommandPdu, "rawLun" | "data"> & {
  dataSegmentLength: number;
};
export type DataOutFields = Omit<DataOutPdu, "data"> & { dataSegmentLength: number };
export type NopOutFields = Omit<NopOutPdu, "rawLun" | "data"> & { dataSegmentLength: number };
export type TaskMgmtRequestFields = Omit<TaskMgmtRequestPdu, "rawLun">;
export type LoginRequestFields = Omit<LoginRequestPdu, "data"> & { dataSegmentLength: number };
export type TextRequestFields = Omit<TextRequestPdu, "data"> & { dataSegmentLength: number };
export type LogoutRequestFields = LogoutRequestPdu;

function encodeCommandAhs(cdb: Buffer, bidiReadLength: number | null): Buffer {
  const parts: Buffer[] = [];
  if (cdb.length > CDB_LENGTH_IN_BHS) {
    const extraCdb = cdb.subarray(CDB_LENGTH_IN_BHS);
    const ahs = Buffer.alloc(alignTo4(4 + extraCdb.length));
    ahs.writeUInt16BE(extraCdb.length + 1, 0);
    ahs[2] = AHS_TYPE_EXTENDED_CDB;
    extraCdb.copy(ahs, 4);
    parts.push(ahs);
  }
  if (bidiReadLength !== null) {
    const ahs = Buffer.alloc(8);
    ahs.writeUInt16BE(AHS_BIDI_READ_LENGTH_LENGTH, 0);
    ahs[2] = AHS_TYPE_BIDI_READ_LENGTH;
    ahs.writeUInt32BE(bidiReadLength, 4);
    parts.push(ahs);
  }
  return Buffer.concat(parts);
}

/** Returns the BHS followed by any AHS (Extended CDB, Bidirectional Read Length). */
export function encodeScsiCommand(f: ScsiCommandFields): Buffer {
  assert(f.cdb.length > 0, "empty CDB");
  assert((f.taskAttribute & ~SCSI_CMD_ATTR_MASK) === 0, "task attribute");
  const ahs = encodeCommandAhs(f.cdb, f.bidiReadLength);
  const byte1 =
    flag(f.final, BHS_FINAL_BIT) |
    flag(f.read, SCSI_CMD_FLAG_READ) |
    flag(f.write, SCSI_CMD_FLAG_WRITE) |
    f.taskAttribute;
  const header = newBhs(OP_SCSI_COMMAND, byte1, f.dataSegmentLength, ahs.length);
  header[0] |= immediateBit(f.immediate);
  writeLun(header, 8, f.lun);
  header.writeUInt32BE(f.itt, 16);
  header.writeUInt32BE(f.expectedDataTransferLength, 20);
  header.writeUInt32BE(f.cmdSN, 24);
  header.writeUInt32BE(f.expStatSN, 28);
  f.cdb.subarray(0, CDB_LENGTH_IN_BHS).copy(header, 32);
  ahs.copy(header, BHS_LENGTH);
  return header;
}

export function encodeDataOut(f: DataOutFields): Buffer {
  const bhs = newBhs(OP_SCSI_DATA_OUT, flag(f.final, BHS_FINAL_BIT), f.dataSegmentLength);
  writeLun(bhs, 8, f.lun);
  bhs.writeUInt32BE(f.itt, 16);
  bhs.writeUInt32BE(f.ttt, 20);
  bhs.writeUInt32BE(f.expStatSN, 28);
  bhs.writeUInt32BE(f.dataSN, 36);
  bhs.writeUInt32BE(f.bufferOffset, 40);
  return bhs;
}

export function encodeNopOut(f: NopOutFields): Buffer {
  const bhs = newBhs(OP_NOP_OUT, BHS_FINAL_BIT, f.dataSegmentLength);
  bhs[0] |= immediateBit(f.immediate);
  writeLun(bhs, 8, f.lun);
  bhs.writeUInt32BE(f.itt, 16);
  bhs.writeUInt32BE(f.ttt, 20);
  bhs.writeUInt32BE(f.cmdSN, 24);
  bhs.writeUInt32BE(f.expStatSN, 28);
  return bhs;
}

export function encodeTaskMgmtRequest(f: TaskMgmtRequestFields): Buffer {
  assert((f.function & ~TMF_FUNCTION_MASK) === 0, "TMF function");
  const bhs = newBhs(OP_TASK_MGMT_REQUEST, BHS_FINAL_BIT | f.function, 0);
  bhs[0] |= immediateBit(f.immediate);
  writeLun(bhs, 8, f.lun);
  bhs.writeUInt32BE(f.itt, 16);
  bhs.writeUInt32BE(f.referencedTaskTag, 20);
  bhs.writeUInt32BE(f.cmdSN, 24);
  bhs.writeUInt32BE(f.expStatSN, 28);
  bhs.writeUInt32BE(f.refCmdSN, 32);
  bhs.writeUInt32BE(f.expDataSN, 36);
  return bhs;
}

export function encodeLoginRequest(f: LoginRequestFields): Buffer {
  assert(f.isid.length === 6, "ISID is 6 bytes");
  const bhs = newBhs(OP_LOGIN_REQUEST, encodeLoginFlags(f), f.dataSegmentLength);
  bhs[0] |= immediateBit(f.immediate);
  bhs[2] = f.versionMax;
  bhs[3] = f.versionMin;
  f.isid.copy(bhs, 8);
  bhs.writeUInt16BE(f.tsih, 14);
  bhs.writeUInt32BE(f.itt, 16);
  bhs.writeUInt16BE(f.cid, 20);
  bhs.writeUInt32BE(f.cmdSN, 24);
  bhs.writeUInt32BE(f.expStatSN, 28);
  return bhs;
}

export function encodeTextRequest(f: TextRequestFields): Buffer {
  assert(!(f.final && f.continue), "F and C bits both set");
  const byte1 = flag(f.final, BHS_FINAL_BIT) | flag(f.continue, TEXT_FLAG_CONTINUE);
  const bhs = newBhs(OP_TEXT_REQUEST, byte1, f.dataSegmentLength);
  bhs[0] |= immediateBit(f.immediate);
  writeLun(bhs, 8, f.lun);
  bhs.writeUInt32BE(f.itt, 16);
  bhs.writeUInt32BE(f.ttt, 20);
  bhs.writeUInt32BE(f.cmdSN, 24);
  bhs.writeUInt32BE(f.expStatSN, 28);
  return bhs;
}

export function encodeLogoutRequest(f: LogoutRequestFields): Buffer {
  assert((f.reasonCode & ~LOGOUT_REASON_MASK) === 0, "logout reason code");
  const bhs = newBhs(OP_LOGOUT_REQUEST, BHS_FINAL_BIT | f.reasonCode, 0);
  bhs[0] |= immediateBit(f.immediate);
  bhs.writeUInt32BE(f.itt, 16);
  bhs.writeUInt16BE(f.cid, 20);
  bhs.writeUInt32BE(f.cmdSN, 24);
  bhs.writeUInt32BE(f.expStatSN, 28);
  return bhs;
}

// ---- target -> initiator: decoders (test initiator, tools) ----

/** A decoded target PDU: its fields plus the data segment (a view). */
export type WithData<T> = T & { data: Buffer };

function expectTargetPdu(pdu: Pdu, opcode: number, what: string, dataAllowed: boolean): void {
  expectOpcode(pdu, opcode);
  forbidAhs(pdu, what);
  if (!dataAllowed) forbidData(pdu, what);
}

export function decodeScsiResponse(pdu: Pdu): WithData<ScsiResponseFields> {
  expectTargetPdu(pdu, OP_SCSI_RESPONSE, "SCSI Response", true);
  const { bhs } = pdu;
  return {
    itt: pduItt(bhs),
    response: bhs[2],
    status: bhs[3],
    bidiReadResidualOverflow: (bhs[1] & SCSI_RESP_FLAG_BIDI_OVERFLOW) !== 0,
    bidiReadResidualUnderflow: (bhs[1] & SCSI_RESP_FLAG_BIDI_UNDERFLOW) !== 0,
    residualOverflow: (bhs[1] & SCSI_RESP_FLAG_OVERFLOW) !== 0,
    residualUnderflow: (bhs[1] & SCSI_RESP_FLAG_UNDERFLOW) !== 0,
    ...readStatusNumbers(bhs),
    expDataSN: bhs.readUInt32BE(36),
    bidiReadResidualCount: bhs.readUInt32BE(40),
    residualCount: bhs.readUInt32BE(44),
    dataSegmentLength: pdu.data.length,
    data: pdu.data,
  };
}

export function decodeDataIn(pdu: Pdu): WithData<DataInFields> {
  expectTargetPdu(pdu, OP_SCSI_DATA_IN, "Data-In", true);
  const { bhs } = pdu;
  const statusPresent = (bhs[1] & DATA_IN_FLAG_STATUS) !== 0;
  const final = pduFinal(bhs);
  if (statusPresent && !final) invalidField("Data-In with the S bit but not the F bit");
  return {
    final,
    acknowledge: (bhs[1] & DATA_IN_FLAG_ACKNOWLEDGE) !== 0,
    residualOverflow: (bhs[1] & DATA_IN_FLAG_OVERFLOW) !== 0,
    residualUnderflow: (bhs[1] & DATA_IN_FLAG_UNDERFLOW) !== 0,
    statusPresent,
    status: bhs[3],
    lun: decodeLun(lunField(bhs)),
    itt: pduItt(bhs),
    ttt: bhs.readUInt32BE(20),
    ...readStatusNumbers(bhs),
    dataSN: bhs.readUInt32BE(36),
    bufferOffset: bhs.readUInt32BE(40),
    residualCount: bhs.readUInt32BE(44),
    dataSegmentLength: pdu.data.length,
    data: pdu.data,
  };
}

export function decodeR2t(pdu: Pdu): R2tFields {
  expectTargetPdu(pdu, OP_R2T, "R2T", false);
  const { bhs } = pdu;
  return {
    lun: decodeLun(lunField(bhs)),
    itt: pduItt(bhs),
    ttt: bhs.readUInt32BE(20),
    ...readStatusNumbers(bhs),
    r2tSN: bhs.readUInt32BE(36),
    bufferOffset: bhs.readUInt32BE(40),
    desiredDataTransferLength: bhs.readUInt32BE(44),
  };
}

export function decodeNopIn(pdu: Pdu): WithData<NopInFields> {
  expectTargetPdu(pdu, OP_NOP_IN, "NOP-In", true);
  const { bhs } = pdu;
  return {
    rawLun: lunField(bhs),
    itt: pduItt(bhs),
    ttt: bhs.readUInt32BE(20),
    ...readStatusNumbers(bhs),
    dataSegmentLength: pdu.data.length,
    data: pdu.data,
  };
}

export function decodeTaskMgmtResponse(pdu: Pdu): TaskMgmtResponseFields {
  expectTargetPdu(pdu, OP_TASK_MGMT_RESPONSE, "Task Management Function Response", false);
  const { bhs } = pdu;
  return { response: bhs[2], itt: pduItt(bhs), ...readStatusNumbers(bhs) };
}

export function decodeLoginResponse(pdu: Pdu): WithData<LoginResponseFields> {
  expectTargetPdu(pdu, OP_LOGIN_RESPONSE, "Login Response", true);
  const { bhs } = pdu;
  const flags = decodeLoginFlags(bhs[1]);
  if (flags.transit && flags.continue) invalidField("Login Response with both T and C bits");
  return {
    ...flags,
    versionMax: bhs[2],
    versionActive: bhs[3],
    isid: bhs.subarray(8, 14),
    tsih: bhs.readUInt16BE(14),
    itt: pduItt(bhs),
    ...readStatusNumbers(bhs),
    statusClass: bhs[36],
    statusDetail: bhs[37],
    dataSegmentLength: pdu.data.length,
    data: pdu.data,
  };
}

export function decodeTextResponse(pdu: Pdu): WithData<TextResponseFields> {
  expectTargetPdu(pdu, OP_TEXT_RESPONSE, "Text Response", true);
  const { bhs } = pdu;
  const final = pduFinal(bhs);
  const more = (bhs[1] & TEXT_FLAG_CONTINUE) !== 0;
  if (final && more) invalidField("Text Response with F and C bits");
  return {
    final,
    continue: more,
    lun: decodeLun(lunField(bhs)),
    itt: pduItt(bhs),
    ttt: bhs.readUInt32BE(20),
    ...readStatusNumbers(bhs),
    dataSegmentLength: pdu.data.length,
    data: pdu.data,
  };
}

export function decodeLogoutResponse(pdu: Pdu): LogoutResponseFields {
  expectTargetPdu(pdu, OP_LOGOUT_RESPONSE, "Logout Response", false);
  const { bhs } = pdu;
  return {
    response: bhs[2],
    itt: pduItt(bhs),
    ...readStatusNumbers(bhs),
    time2Wait: bhs.readUInt16BE(40),
    time2Retain: bhs.readUInt16BE(42),
  };
}

/** The data is the rejected PDU's header. */
export function decodeReject(pdu: Pdu): WithData<RejectFields> {
  expectTargetPdu(pdu, OP_REJECT, "Reject", true);
  const { bhs } = pdu;
  return {
    reason: bhs[2],
    ...readStatusNumbers(bhs),
    dataSN: bhs.readUInt32BE(36),
    dataSegmentLength: pdu.data.length,
    data: pdu.data,
  };
}

export function decodeAsyncMessage(pdu: Pdu): WithData<AsyncMessageFields> {
  expectTargetPdu(pdu, OP_ASYNC_MESSAGE, "Asynchronous Message", true);
  const { bhs } = pdu;
  return {
    lun: decodeLun(lunField(bhs)),
    ...readStatusNumbers(bhs),
    asyncEvent: bhs[36],
    asyncVCode: bhs[37],
    parameter1: bhs.readUInt16BE(38),
    parameter2: bhs.readUInt16BE(40),
    parameter3: bhs.readUInt16BE(42),
    dataSegmentLength: pdu.data.length,
    data: pdu.data,
  };
}
