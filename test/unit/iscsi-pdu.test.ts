import { describe, expect, it } from "vitest";
import * as C from "../../src/iscsi/constants.ts";
import * as codec from "../../src/iscsi/pdu.ts";
import type { Pdu } from "../../src/iscsi/pdu-types.ts";

function hex(...rows: string[]): Buffer {
  return Buffer.from(rows.join("").replace(/\s+/g, ""), "hex");
}

/** A Pdu from an encoder's header and a data segment. */
function pduOf(header: Buffer, data: Buffer = Buffer.alloc(0)): Pdu {
  return codec.pduFromParts(header, data);
}

const numbers = { statSN: 0x01020304, expCmdSN: 0x11121314, maxCmdSN: 0x21222324 };

describe("BHS fixtures from the RFC layouts", () => {
  // RFC 3720 B.4: SCSI Command, READ(10) LBA 0, 2 blocks, ITT 0x14000000, CmdSN 20.
  const read10 = hex(
    "01 c0 00 00  00 00 00 00  00 00 00 00  00 00 00 00",
    "14 00 00 00  00 00 04 00  00 00 00 14  00 00 00 18",
    "28 00 00 00  00 00 00 00  02 00 00 00  00 00 00 00",
  );

  it("decodes the RFC 3720 READ(10) SCSI Command", () => {
    expect(codec.pduOpcode(read10)).toBe(C.OP_SCSI_COMMAND);
    expect(codec.pduImmediate(read10)).toBe(false);
    expect(codec.pduItt(read10)).toBe(0x14000000);
    const cmd = codec.decodeScsiCommand(pduOf(read10));
    expect(cmd).toMatchObject({
      immediate: false,
      final: true,
      read: true,
      write: false,
      taskAttribute: C.TASK_ATTR_UNTAGGED,
      lun: 0,
      itt: 0x14000000,
      expectedDataTransferLength: 1024,
      cmdSN: 20,
      expStatSN: 24,
      bidiReadLength: null,
    });
    expect(cmd.cdb.toString("hex")).toBe("28000000000000000200000000000000");
    expect(cmd.data.length).toBe(0);
    expect(cmd.cdb.buffer).toBe(read10.buffer); // a view, not a copy
  });

  it("encodes the same READ(10) SCSI Command byte for byte", () => {
    const header = codec.encodeScsiCommand({
      immediate: false,
      final: true,
      read: true,
      write: false,
      taskAttribute: 0,
      lun: 0,
      itt: 0x14000000,
      expectedDataTransferLength: 1024,
      cmdSN: 20,
      expStatSN: 24,
      cdb: hex("28 00 00 00 00 00 00 00 02 00"),
      bidiReadLength: null,
      dataSegmentLength: 0,
    });
    expect(header.toString("hex")).toBe(read10.toString("hex"));
  });

  it("decodes a Login Request (T=1, CSG=1, NSG=3) with text data", () => {
    const data = Buffer.from("InitiatorName=iqn.1994-05.com.redhat:x\0");
    const bhs = hex(
      "43 87 00 00  00 00 00 27  40 00 01 37  00 00 00 00",
      "00 00 00 05  00 01 00 00  00 00 00 07  00 00 00 00",
      "00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00",
    );
    const login = codec.decodeLoginRequest({ bhs, ahs: Buffer.alloc(0), data });
    expect(login).toMatchObject({
      immediate: true,
      transit: true,
      continue: false,
      csg: C.STAGE_LOGIN_OPERATIONAL_NEGOTIATION,
      nsg: C.STAGE_FULL_FEATURE_PHASE,
      versionMax: 0,
      versionMin: 0,
      tsih: 0,
      itt: 5,
      cid: 1,
      cmdSN: 7,
      expStatSN: 0,
    });
    expect(login.isid.toString("hex")).toBe("400001370000");
    expect(login.data).toBe(data);
  });

  it("decodes a SNACK Request", () => {
    const bhs = hex(
      "10 80 00 00  00 00 00 00  00 00 00 00  00 00 00 00",
      "00 00 00 09  ff ff ff ff  00 00 00 00  00 00 00 03",
      "00 00 00 00  00 00 00 00  00 00 00 02  00 00 00 04",
    );
    expect(codec.decodeSnackRequest({ bhs, ahs: Buffer.alloc(0), data: Buffer.alloc(0) })).toEqual({
      type: C.SNACK_TYPE_DATA_R2T,
      lun: 0,
      itt: 9,
      ttt: C.RESERVED_TAG,
      expStatSN: 3,
      begRun: 2,
      runLength: 4,
    });
  });

  it("encodes a Data-In with phase-collapsed status at the RFC offsets", () => {
    const bhs = codec.encodeDataIn({
      final: true,
      acknowledge: false,
      residualOverflow: false,
      residualUnderflow: true,
      statusPresent: true,
      status: 0,
      lun: 1,
      itt: 0x77,
      ttt: C.RESERVED_TAG,
      ...numbers,
      dataSN: 2,
      bufferOffset: 0x2000,
      residualCount: 0x200,
      dataSegmentLength: 0x1000,
    });
    expect(bhs.toString("hex")).toBe(
      hex(
        "25 83 00 00  00 00 10 00  00 01 00 00  00 00 00 00",
        "00 00 00 77  ff ff ff ff  01 02 03 04  11 12 13 14",
        "21 22 23 24  00 00 00 02  00 00 20 00  00 00 02 00",
      ).toString("hex"),
    );
  });
});

describe("LUN addressing", () => {
  it("uses peripheral addressing below 256 and flat space up to 16383", () => {
    expect(codec.encodeLun(0).toString("hex")).toBe("0000000000000000");
    expect(codec.encodeLun(5).toString("hex")).toBe("0005000000000000");
    expect(codec.encodeLun(255).toString("hex")).toBe("00ff000000000000");
    expect(codec.encodeLun(256).toString("hex")).toBe("4100000000000000");
    expect(codec.encodeLun(16383).toString("hex")).toBe("7fff000000000000");
    for (const lun of [0, 1, 255, 256, 1000, 16383]) {
      expect(codec.decodeLun(codec.encodeLun(lun))).toBe(lun);
    }
    expect(() => codec.encodeLun(16384)).toThrow();
    expect(() => codec.encodeLun(-1)).toThrow();
  });

  it("decodes flat addressing of small LUNs and refuses other formats", () => {
    expect(codec.decodeLun(hex("4003000000000000"))).toBe(3);
    expect(codec.decodeLun(hex("0100000000000000"))).toBe(codec.LUN_NOT_ADDRESSABLE); // bus 1
    expect(codec.decodeLun(hex("8001000000000000"))).toBe(codec.LUN_NOT_ADDRESSABLE);
    expect(codec.decodeLun(hex("0001000100000000"))).toBe(codec.LUN_NOT_ADDRESSABLE); // 2 levels
  });
});

describe("initiator PDUs round-trip", () => {
  it("SCSI Command with immediate data", () => {
    const fields = {
      immediate: false,
      final: false,
      read: false,
      write: true,
      taskAttribute: C.TASK_ATTR_SIMPLE,
      lun: 300,
      itt: 42,
      expectedDataTransferLength: 8192,
      cmdSN: 0xfffffff0,
      expStatSN: 9,
      cdb: hex("2a000000001000000800000000000000"),
      bidiReadLength: null,
    };
    const data = Buffer.alloc(100, 0xab);
    const header = codec.encodeScsiCommand({ ...fields, dataSegmentLength: data.length });
    const decoded = codec.decodeScsiCommand(pduOf(header, data));
    expect(decoded).toEqual({ ...fields, rawLun: codec.encodeLun(300), data });
  });

  it("SCSI Command with an extended CDB and a bidirectional read length AHS", () => {
    const cdb = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1));
    const header = codec.encodeScsiCommand({
      immediate: false,
      final: true,
      read: true,
      write: true,
      taskAttribute: 0,
      lun: 0,
      itt: 1,
      expectedDataTransferLength: 0,
      cmdSN: 1,
      expStatSN: 1,
      cdb,
      bidiReadLength: 4096,
      dataSegmentLength: 0,
    });
    // Extended CDB AHS: 3 + 17 bytes padded to 20; bidi AHS: 8 bytes.
    expect(header.length).toBe(48 + 20 + 8);
    expect(header[4]).toBe(7);
    const decoded = codec.decodeScsiCommand(pduOf(header));
    expect(decoded.cdb).toEqual(cdb);
    expect(decoded.bidiReadLength).toBe(4096);
  });

  it("Data-Out", () => {
    const fields = {
      final: true,
      lun: 2,
      itt: 7,
      ttt: 0x1234,
      expStatSN: 5,
      dataSN: 3,
      bufferOffset: 65536,
    };
    const data = Buffer.alloc(13, 1);
    const header = codec.encodeDataOut({ ...fields, dataSegmentLength: 13 });
    expect(codec.decodeDataOut(pduOf(header, data))).toEqual({ ...fields, data });
  });

  it("NOP-Out", () => {
    const fields = {
      immediate: true,
      lun: 0,
      itt: 8,
      ttt: C.RESERVED_TAG,
      cmdSN: 4,
      expStatSN: 6,
    };
    const data = Buffer.from("ping");
    const header = codec.encodeNopOut({ ...fields, dataSegmentLength: 4 });
    expect(codec.decodeNopOut(pduOf(header, data))).toEqual({
      ...fields,
      rawLun: Buffer.alloc(8),
      data,
    });
  });

  it("Task Management Function Request", () => {
    const fields = {
      immediate: true,
      function: C.TMF_ABORT_TASK,
      lun: 3,
      itt: 100,
      referencedTaskTag: 99,
      cmdSN: 10,
      expStatSN: 11,
      refCmdSN: 9,
      expDataSN: 0,
    };
    const decoded = codec.decodeTaskMgmtRequest(pduOf(codec.encodeTaskMgmtRequest(fields)));
    expect(decoded).toEqual({ ...fields, rawLun: codec.encodeLun(3) });
  });

  it("Login Request", () => {
    const fields = {
      immediate: true,
      transit: false,
      continue: true,
      csg: C.STAGE_SECURITY_NEGOTIATION,
      nsg: C.STAGE_SECURITY_NEGOTIATION,
      versionMax: 0,
      versionMin: 0,
      isid: hex("80 12 34 56 78 9a"),
      tsih: 0x0102,
      itt: 0,
      cid: 3,
      cmdSN: 1,
      expStatSN: 0,
    };
    const data = Buffer.from("AuthMethod=None\0");
    const header = codec.encodeLoginRequest({ ...fields, dataSegmentLength: data.length });
    expect(codec.decodeLoginRequest(pduOf(header, data))).toEqual({ ...fields, data });
  });

  it("Text Request", () => {
    const fields = {
      immediate: false,
      final: true,
      continue: false,
      lun: 0,
      itt: 3,
      ttt: C.RESERVED_TAG,
      cmdSN: 2,
      expStatSN: 1,
    };
    const data = Buffer.from("SendTargets=All\0");
    const header = codec.encodeTextRequest({ ...fields, dataSegmentLength: data.length });
    expect(codec.decodeTextRequest(pduOf(header, data))).toEqual({ ...fields, data });
  });

  it("Logout Request", () => {
    const fields = {
      immediate: true,
      reasonCode: C.LOGOUT_REASON_CLOSE_SESSION,
      itt: 12,
      cid: 1,
      cmdSN: 20,
      expStatSN: 30,
    };
    expect(codec.decodeLogoutRequest(pduOf(codec.encodeLogoutRequest(fields)))).toEqual(fields);
  });

  it("decodeRequest dispatches on the opcode", () => {
    const header = codec.encodeLogoutRequest({
      immediate: true,
      reasonCode: 0,
      itt: 1,
      cid: 0,
      cmdSN: 0,
      expStatSN: 0,
    });
    const decoded = codec.decodeRequest(pduOf(header));
    expect(decoded.opcode).toBe(C.OP_LOGOUT_REQUEST);
  });
});

describe("target PDUs round-trip", () => {
  it("SCSI Response with sense data", () => {
    const fields = {
      itt: 77,
      response: C.SCSI_RESPONSE_COMMAND_COMPLETED,
      status: 0x02,
      bidiReadResidualOverflow: true,
      bidiReadResidualUnderflow: false,
      residualOverflow: false,
      residualUnderflow: true,
      ...numbers,
      expDataSN: 4,
      bidiReadResidualCount: 1,
      residualCount: 512,
      dataSegmentLength: 20,
    };
    const data = Buffer.alloc(20, 0x70);
    const header = codec.encodeScsiResponse(fields);
    expect(header[1]).toBe(0x80 | 0x10 | 0x02);
    expect(codec.decodeScsiResponse(pduOf(header, data))).toEqual({ ...fields, data });
  });

  it("Data-In without status writes no StatSN", () => {
    const fields = {
      final: false,
      acknowledge: false,
      residualOverflow: false,
      residualUnderflow: false,
      statusPresent: false,
      status: 0,
      lun: 4,
      itt: 1,
      ttt: C.RESERVED_TAG,
      ...numbers,
      dataSN: 0,
      bufferOffset: 0,
      residualCount: 0,
      dataSegmentLength: 8,
    };
    const data = Buffer.alloc(8, 2);
    const decoded = codec.decodeDataIn(pduOf(codec.encodeDataIn(fields), data));
    expect(decoded).toEqual({ ...fields, statSN: 0, data });
  });

  it("R2T", () => {
    const fields = {
      lun: 1,
      itt: 2,
      ttt: 3,
      ...numbers,
      r2tSN: 4,
      bufferOffset: 5,
      desiredDataTransferLength: 6,
    };
    expect(codec.decodeR2t(pduOf(codec.encodeR2t(fields)))).toEqual(fields);
  });

  it("NOP-In echoes the raw LUN", () => {
    const fields = {
      rawLun: hex("0001000000000000"),
      itt: 5,
      ttt: C.RESERVED_TAG,
      ...numbers,
      dataSegmentLength: 4,
    };
    const data = Buffer.from("pong");
    expect(codec.decodeNopIn(pduOf(codec.encodeNopIn(fields), data))).toEqual({ ...fields, data });
  });

  it("Task Management Function Response", () => {
    const fields = { response: C.TMF_RESP_TASK_DOES_NOT_EXIST, itt: 9, ...numbers };
    const header = codec.encodeTaskMgmtResponse(fields);
    expect(codec.decodeTaskMgmtResponse(pduOf(header))).toEqual(fields);
  });

  it("Login Response", () => {
    const fields = {
      transit: true,
      continue: false,
      csg: C.STAGE_LOGIN_OPERATIONAL_NEGOTIATION,
      nsg: C.STAGE_FULL_FEATURE_PHASE,
      versionMax: 0,
      versionActive: 0,
      isid: hex("400001370000"),
      tsih: 7,
      itt: 0,
      ...numbers,
      statusClass: C.LOGIN_STATUS_INITIATOR_ERROR,
      statusDetail: C.LOGIN_DETAIL_NOT_FOUND,
      dataSegmentLength: 0,
    };
    const decoded = codec.decodeLoginResponse(pduOf(codec.encodeLoginResponse(fields)));
    expect(decoded).toEqual({ ...fields, data: Buffer.alloc(0) });
  });

  it("Text Response", () => {
    const fields = {
      final: false,
      continue: true,
      lun: 0,
      itt: 6,
      ttt: 0x55,
      ...numbers,
      dataSegmentLength: 3,
    };
    const data = Buffer.from("A=b");
    const decoded = codec.decodeTextResponse(pduOf(codec.encodeTextResponse(fields), data));
    expect(decoded).toEqual({ ...fields, data });
  });

  it("Logout Response", () => {
    const fields = {
      response: C.LOGOUT_RESP_CLOSED_SUCCESSFULLY,
      itt: 3,
      ...numbers,
      time2Wait: 2,
      time2Retain: 20,
    };
    const header = codec.encodeLogoutResponse(fields);
    expect(codec.decodeLogoutResponse(pduOf(header))).toEqual(fields);
  });

  it("Reject carries the rejected header and a reserved ITT", () => {
    const fields = { reason: C.REJECT_PROTOCOL_ERROR, ...numbers, dataSN: 0 };
    const rejected = Buffer.alloc(48, 0x5a);
    const header = codec.encodeReject({ ...fields, dataSegmentLength: 48 });
    expect(codec.pduItt(header)).toBe(C.RESERVED_TAG);
    const decoded = codec.decodeReject(pduOf(header, rejected));
    expect(decoded).toEqual({ ...fields, dataSegmentLength: 48, data: rejected });
  });

  it("Asynchronous Message", () => {
    const fields = {
      lun: 2,
      ...numbers,
      asyncEvent: C.ASYNC_EVENT_REQUEST_LOGOUT,
      asyncVCode: 0,
      parameter1: 0,
      parameter2: 0,
      parameter3: 5,
      dataSegmentLength: 0,
    };
    const header = codec.encodeAsyncMessage(fields);
    expect(codec.pduItt(header)).toBe(C.RESERVED_TAG);
    const decoded = codec.decodeAsyncMessage(pduOf(header));
    expect(decoded).toEqual({ ...fields, data: Buffer.alloc(0) });
  });
});

describe("malformed PDUs", () => {
  function rawPdu(opcode: number, byte1: number, ahs = 0, data = 0): Pdu {
    const bhs = Buffer.alloc(48);
    bhs[0] = opcode;
    bhs[1] = byte1;
    bhs[4] = ahs / 4;
    bhs.writeUIntBE(data, 5, 3);
    return { bhs, ahs: Buffer.alloc(ahs), data: Buffer.alloc(data) };
  }

  function formatError(decode: () => unknown): codec.PduFormatError {
    try {
      decode();
    } catch (err) {
      if (err instanceof codec.PduFormatError) return err;
      throw err;
    }
    throw new Error("decoder accepted a malformed PDU");
  }

  it("rejects unknown and target opcodes", () => {
    const unknown = formatError(() => codec.decodeRequest(rawPdu(0x07, 0x80)));
    expect(unknown.code).toBe("UNKNOWN_OPCODE");
    expect(unknown.rejectReason).toBe(C.REJECT_COMMAND_NOT_SUPPORTED);
    const target = formatError(() => codec.decodeRequest(rawPdu(C.OP_SCSI_RESPONSE, 0x80)));
    expect(target.code).toBe("TARGET_OPCODE");
    expect(target.rejectReason).toBe(C.REJECT_PROTOCOL_ERROR);
  });

  it("rejects bad AHS in a SCSI Command", () => {
    const unknownType = rawPdu(C.OP_SCSI_COMMAND, 0xc0, 8);
    unknownType.ahs.writeUInt16BE(5, 0);
    unknownType.ahs[2] = 9;
    const err = formatError(() => codec.decodeScsiCommand(unknownType));
    expect(err.code).toBe("BAD_AHS");
    expect(err.rejectReason).toBe(C.REJECT_INVALID_PDU_FIELD);

    const overlong = rawPdu(C.OP_SCSI_COMMAND, 0xc0, 4);
    overlong.ahs.writeUInt16BE(40, 0);
    overlong.ahs[2] = C.AHS_TYPE_EXTENDED_CDB;
    expect(formatError(() => codec.decodeScsiCommand(overlong)).code).toBe("BAD_AHS");
  });

  it("rejects AHS or data on PDUs that may not carry them", () => {
    const nopWithAhs = rawPdu(C.OP_NOP_OUT, 0x80, 4);
    expect(formatError(() => codec.decodeNopOut(nopWithAhs)).code).toBe("UNEXPECTED_AHS");
    const tmfWithData = rawPdu(C.OP_TASK_MGMT_REQUEST, 0x81, 0, 4);
    expect(formatError(() => codec.decodeTaskMgmtRequest(tmfWithData)).code).toBe(
      "UNEXPECTED_DATA",
    );
    const logoutWithData = rawPdu(C.OP_LOGOUT_REQUEST, 0x80, 0, 1);
    expect(formatError(() => codec.decodeLogoutRequest(logoutWithData)).code).toBe(
      "UNEXPECTED_DATA",
    );
    const readWithData = rawPdu(C.OP_SCSI_COMMAND, 0xc0, 0, 16);
    expect(formatError(() => codec.decodeScsiCommand(readWithData)).code).toBe("UNEXPECTED_DATA");
  });

  it("rejects reserved and contradictory field values", () => {
    const loginTC = rawPdu(C.OP_LOGIN_REQUEST | 0x40, 0xc1);
    expect(formatError(() => codec.decodeLoginRequest(loginTC)).code).toBe("INVALID_FIELD");
    const loginCsg2 = rawPdu(C.OP_LOGIN_REQUEST | 0x40, 0x89);
    expect(formatError(() => codec.decodeLoginRequest(loginCsg2)).code).toBe("INVALID_FIELD");
    const textFC = rawPdu(C.OP_TEXT_REQUEST, 0xc0);
    expect(formatError(() => codec.decodeTextRequest(textFC)).code).toBe("INVALID_FIELD");
    const logoutReason = rawPdu(C.OP_LOGOUT_REQUEST, 0x83);
    expect(formatError(() => codec.decodeLogoutRequest(logoutReason)).code).toBe("INVALID_FIELD");
    const snackType = rawPdu(C.OP_SNACK_REQUEST, 0x84);
    expect(formatError(() => codec.decodeSnackRequest(snackType)).code).toBe("INVALID_FIELD");
  });

  it("asserts on misuse by the caller", () => {
    expect(() => codec.decodeNopOut(rawPdu(C.OP_SCSI_COMMAND, 0x80))).toThrow(/invariant/);
    expect(() => codec.encodeLun(1.5)).toThrow(/invariant/);
    expect(() =>
      codec.encodeTextResponse({
        ...numbers,
        final: true,
        continue: false,
        lun: 0,
        itt: 1,
        ttt: 0,
        dataSegmentLength: 0x1000000,
      }),
    ).toThrow(/DataSegmentLength/);
  });
});
