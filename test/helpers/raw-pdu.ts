// Raw iSCSI PDU bytes (RFC 7143 section 11) built by hand for fuzzing, independent of the
// codec under test, and a reader that splits a target's byte stream back into PDUs.
// No digests: the fuzzer negotiates HeaderDigest=None and DataDigest=None.

export const BHS_LENGTH = 48;
export const NO_TASK_TAG = 0xffffffff;

export const OPCODE = {
  nopOut: 0x00,
  scsiCommand: 0x01,
  taskManagementRequest: 0x02,
  loginRequest: 0x03,
  textRequest: 0x04,
  dataOut: 0x05,
  logoutRequest: 0x06,
  snackRequest: 0x10,
  nopIn: 0x20,
  scsiResponse: 0x21,
  taskManagementResponse: 0x22,
  loginResponse: 0x23,
  textResponse: 0x24,
  dataIn: 0x25,
  logoutResponse: 0x26,
  readyToTransfer: 0x31,
  asyncMessage: 0x32,
  reject: 0x3f,
} as const;

export const TARGET_OPCODES: ReadonlySet<number> = new Set([
  OPCODE.nopIn, OPCODE.scsiResponse, OPCODE.taskManagementResponse, OPCODE.loginResponse,
  OPCODE.textResponse, OPCODE.dataIn, OPCODE.logoutResponse, OPCODE.readyToTransfer,
  OPCODE.asyncMessage, OPCODE.reject,
]);

const IMMEDIATE = 0x40;
const FINAL = 0x80;

export const LOGIN_STAGE = { security: 0, operational: 1, fullFeature: 3 } as const;

/** The fields every PDU this module builds may set; the rest of the BHS stays zero. */
export interface BhsFields {
  opcode: number;
  immediate?: boolean;
  flags: number; // byte 1
  lun?: Buffer; // 8 bytes at 8..15 (ISID and TSIH for logins)
  itt: number; // bytes 16..19
  word20?: number; // TTT, EDTL, CID<<16, ... depending on the opcode
  cmdSN: number; // bytes 24..27
  expStatSN: number; // bytes 28..31
  tail?: Buffer; // bytes 32..47: CDB, or RefCmdSN/ExpDataSN, DataSN/BufferOffset
}

export function padLength(length: number): number {
  return (4 - (length % 4)) % 4;
}

/** A whole PDU: BHS, data segment and its padding. DataSegmentLength is data.length. */
export function buildPdu(fields: BhsFields, data: Buffer = Buffer.alloc(0)): Buffer {
  const pdu = Buffer.alloc(BHS_LENGTH + data.length + padLength(data.length));
  pdu[0] = (fields.opcode & 0x3f) | (fields.immediate ? IMMEDIATE : 0);
  pdu[1] = fields.flags;
  pdu.writeUIntBE(data.length, 5, 3);
  fields.lun?.copy(pdu, 8, 0, 8);
  pdu.writeUInt32BE(fields.itt >>> 0, 16);
  pdu.writeUInt32BE((fields.word20 ?? 0) >>> 0, 20);
  pdu.writeUInt32BE(fields.cmdSN >>> 0, 24);
  pdu.writeUInt32BE(fields.expStatSN >>> 0, 28);
  fields.tail?.copy(pdu, 32, 0, 16);
  data.copy(pdu, BHS_LENGTH);
  return pdu;
}

/** "key=value\0" for each pair, bytes as given (no validation: fuzz texts are broken). */
export function textKeys(pairs: ReadonlyArray<readonly [string, string]>): Buffer {
  return Buffer.from(pairs.map(([key, value]) => `${key}=${value}\0`).join(""), "utf8");
}

export interface LoginRequest {
  transit: boolean;
  continue?: boolean;
  csg: number;
  nsg: number;
  isid: Buffer; // 6 bytes
  tsih: number;
  itt: number;
  cid: number;
  cmdSN: number;
  expStatSN: number;
  text: Buffer;
}

export function loginRequest(request: LoginRequest): Buffer {
  const isidAndTsih = Buffer.alloc(8);
  request.isid.copy(isidAndTsih, 0, 0, 6);
  isidAndTsih.writeUInt16BE(request.tsih, 6);
  const flags = (request.transit ? 0x80 : 0) | (request.continue ? 0x40 : 0) |
    ((request.csg & 3) << 2) | (request.transit ? request.nsg & 3 : 0);
  return buildPdu({
    opcode: OPCODE.loginRequest,
    immediate: true,
    flags,
    lun: isidAndTsih,
    itt: request.itt,
    word20: request.cid << 16,
    cmdSN: request.cmdSN,
    expStatSN: request.expStatSN,
  }, request.text);
}

/** 8-byte LUN field, peripheral (single level) addressing for LUNs below 256. */
export function lunField(lun: number): Buffer {
  const field = Buffer.alloc(8);
  field.writeUInt16BE(lun < 256 ? lun : 0x4000 | (lun & 0x3fff), 0);
  return field;
}

export interface ScsiCommand {
  read: boolean;
  write: boolean;
  lun: number;
  itt: number;
  expectedDataTransferLength: number;
  cmdSN: number;
  expStatSN: number;
  cdb: Buffer; // up to 16 bytes
  immediateData?: Buffer;
}

export function scsiCommand(command: ScsiCommand): Buffer {
  const cdb = Buffer.alloc(16);
  command.cdb.copy(cdb, 0, 0, 16);
  const flags = FINAL | (command.read ? 0x40 : 0) | (command.write ? 0x20 : 0) | 1; // SIMPLE
  return buildPdu({
    opcode: OPCODE.scsiCommand,
    flags,
    lun: lunField(command.lun),
    itt: command.itt,
    word20: command.expectedDataTransferLength,
    cmdSN: command.cmdSN,
    expStatSN: command.expStatSN,
    tail: cdb,
  }, command.immediateData);
}

/** A PDU received from the target: its opcode, BHS and data segment (padding dropped). */
export interface ReceivedPdu {
  opcode: number;
  bhs: Buffer;
  data: Buffer;
}

/** Splits a byte stream into PDUs; any split of the stream gives the same PDUs. */
export class PduStreamReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxDataSegmentBytes: number) {}

  /** Bytes received but not yet a whole PDU. */
  get leftoverBytes(): number {
    return this.pending.length;
  }

  /** Appends bytes; returns the PDUs completed. Throws on a header no target may send. */
  push(chunk: Buffer): ReceivedPdu[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const pdus: ReceivedPdu[] = [];
    while (this.pending.length >= BHS_LENGTH) {
      const bhs = this.pending.subarray(0, BHS_LENGTH);
      const opcode = bhs[0] & 0x3f;
      const ahsBytes = bhs[4] * 4;
      const dataBytes = bhs.readUIntBE(5, 3);
      if (!TARGET_OPCODES.has(opcode) || dataBytes > this.maxDataSegmentBytes) {
        throw new Error(`target sent a bad BHS: ${bhs.toString("hex")}`);
      }
      const totalBytes = BHS_LENGTH + ahsBytes + dataBytes + padLength(dataBytes);
      if (this.pending.length < totalBytes) break;
      const dataStart = BHS_LENGTH + ahsBytes;
      pdus.push({ opcode, bhs, data: this.pending.subarray(dataStart, dataStart + dataBytes) });
      this.pending = this.pending.subarray(totalBytes);
    }
    return pdus;
  }
}

/** Login Response fields the fuzzer's login needs (RFC 7143 11.13). */
export interface LoginResponse {
  transit: boolean;
  nsg: number;
  tsih: number;
  statSN: number;
  expCmdSN: number;
  statusClass: number;
  statusDetail: number;
  text: string;
}

export function parseLoginResponse(pdu: ReceivedPdu): LoginResponse {
  return {
    transit: (pdu.bhs[1] & 0x80) !== 0,
    nsg: pdu.bhs[1] & 3,
    tsih: pdu.bhs.readUInt16BE(14),
    statSN: pdu.bhs.readUInt32BE(24),
    expCmdSN: pdu.bhs.readUInt32BE(28),
    statusClass: pdu.bhs[36],
    statusDetail: pdu.bhs[37],
    text: pdu.data.toString("latin1"),
  };
}
