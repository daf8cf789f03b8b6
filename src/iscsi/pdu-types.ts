// Typed views of iSCSI PDUs (RFC 7143 section 11). Field names follow the RFC in camelCase.
// Decoders in pdu.ts turn a received Pdu into these; encoders turn these into a 48-byte BHS.
// Sequence numbers are unsigned 32-bit numbers (0..2^32-1). LUN is the SAM LUN number decoded
// from the 8-byte LUN field (peripheral or flat addressing); rawLun keeps the 8 bytes.

/** A whole PDU as read from the wire: views over the receive buffer, digests already checked. */
export interface Pdu {
  bhs: Buffer; // 48 bytes
  ahs: Buffer; // total AHS bytes (may be empty)
  data: Buffer; // data segment without padding (DataSegmentLength bytes)
}

// ---- initiator -> target ----

export interface ScsiCommandPdu {
  immediate: boolean;
  final: boolean;
  read: boolean;
  write: boolean;
  taskAttribute: number; // ATTR bits (0 untagged, 1 simple, 2 ordered, 3 head of queue, 4 ACA)
  lun: number;
  rawLun: Buffer;
  itt: number;
  expectedDataTransferLength: number;
  cmdSN: number;
  expStatSN: number;
  cdb: Buffer; // 16 bytes from the BHS, extended by an Extended CDB AHS when present
  bidiReadLength: number | null; // from a Bidirectional Read Expected Data Transfer Length AHS
  data: Buffer; // immediate data
}

export interface DataOutPdu {
  final: boolean;
  lun: number;
  itt: number;
  ttt: number;
  expStatSN: number;
  dataSN: number;
  bufferOffset: number;
  data: Buffer;
}

export interface NopOutPdu {
  immediate: boolean;
  lun: number;
  rawLun: Buffer;
  itt: number; // 0xffffffff when not asking for a NOP-In
  ttt: number; // 0xffffffff unless answering a target NOP-In
  cmdSN: number;
  expStatSN: number;
  data: Buffer; // ping data
}

export interface TaskMgmtRequestPdu {
  immediate: boolean;
  function: number; // TMF_* in constants.ts
  lun: number;
  rawLun: Buffer;
  itt: number;
  referencedTaskTag: number;
  cmdSN: number;
  expStatSN: number;
  refCmdSN: number;
  expDataSN: number;
}

export interface LoginRequestPdu {
  immediate: boolean; // always true for login requests
  transit: boolean;
  continue: boolean;
  csg: number; // 0 security, 1 operational, 3 full feature
  nsg: number;
  versionMax: number;
  versionMin: number;
  isid: Buffer; // 6 bytes
  tsih: number;
  itt: number;
  cid: number;
  cmdSN: number;
  expStatSN: number;
  data: Buffer; // text key=value pairs, NUL separated
}

export interface TextRequestPdu {
  immediate: boolean;
  final: boolean;
  continue: boolean;
  lun: number;
  itt: number;
  ttt: number;
  cmdSN: number;
  expStatSN: number;
  data: Buffer;
}

export interface LogoutRequestPdu {
  immediate: boolean;
  reasonCode: number; // 0 close session, 1 close connection, 2 remove connection for recovery
  itt: number;
  cid: number;
  cmdSN: number;
  expStatSN: number;
}

export interface SnackRequestPdu {
  type: number;
  lun: number;
  itt: number;
  ttt: number;
  expStatSN: number;
  begRun: number;
  runLength: number;
}

// ---- target -> initiator ----

export interface StatusNumbers {
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
}

export interface ScsiResponseFields extends StatusNumbers {
  itt: number;
  response: number; // 0 command completed at target
  status: number; // SAM status byte
  bidiReadResidualOverflow: boolean;
  bidiReadResidualUnderflow: boolean;
  residualOverflow: boolean;
  residualUnderflow: boolean;
  expDataSN: number;
  bidiReadResidualCount: number;
  residualCount: number;
  dataSegmentLength: number; // 2-byte SenseLength + sense bytes, when there is sense
}

export interface DataInFields {
  final: boolean;
  acknowledge: boolean;
  residualOverflow: boolean;
  residualUnderflow: boolean;
  statusPresent: boolean; // phase collapse: S bit
  status: number; // valid only when statusPresent
  lun: number;
  itt: number;
  ttt: number; // 0xffffffff unless A bit
  statSN: number; // valid only when statusPresent; otherwise encoder writes 0
  expCmdSN: number;
  maxCmdSN: number;
  dataSN: number;
  bufferOffset: number;
  residualCount: number;
  dataSegmentLength: number;
}

export interface R2tFields {
  lun: number;
  itt: number;
  ttt: number;
  statSN: number; // the next StatSN, not advanced
  expCmdSN: number;
  maxCmdSN: number;
  r2tSN: number;
  bufferOffset: number;
  desiredDataTransferLength: number;
}

export interface NopInFields extends StatusNumbers {
  rawLun: Buffer; // echo of the NOP-Out LUN, or zeros
  itt: number; // 0xffffffff for a target-initiated ping
  ttt: number; // 0xffffffff when answering, a tag when the target asks for an answer
  dataSegmentLength: number;
}

export interface TaskMgmtResponseFields extends StatusNumbers {
  response: number; // TMF_RESP_* in constants.ts
  itt: number;
}

export interface LoginResponseFields extends StatusNumbers {
  transit: boolean;
  continue: boolean;
  csg: number;
  nsg: number;
  versionMax: number;
  versionActive: number;
  isid: Buffer;
  tsih: number;
  itt: number;
  statusClass: number;
  statusDetail: number;
  dataSegmentLength: number;
}

export interface TextResponseFields extends StatusNumbers {
  final: boolean;
  continue: boolean;
  lun: number;
  itt: number;
  ttt: number;
  dataSegmentLength: number;
}

export interface LogoutResponseFields extends StatusNumbers {
  response: number; // 0 closed successfully, 1 CID not found, 2 recovery not supported, 3 cleanup failed
  itt: number;
  time2Wait: number;
  time2Retain: number;
}

export interface RejectFields extends StatusNumbers {
  reason: number; // REJECT_* in constants.ts
  dataSN: number; // R2TSN/DataSN/0
  dataSegmentLength: number; // 48: the data segment is the rejected PDU's BHS
}

export interface AsyncMessageFields extends StatusNumbers {
  lun: number;
  asyncEvent: number;
  asyncVCode: number;
  parameter1: number;
  parameter2: number;
  parameter3: number;
  dataSegmentLength: number;
}
