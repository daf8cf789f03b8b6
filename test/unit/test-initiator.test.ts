// The test initiator (test/helpers/initiator.ts) against a scripted fake target built from the
// wire layer. The fake answers with small limits so that every data path runs: immediate data,
// unsolicited Data-Out, R2T sequences, segmented Data-In with phase-collapsed status.

import { createHash } from "node:crypto";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import * as C from "../../src/iscsi/constants.ts";
import * as codec from "../../src/iscsi/pdu.ts";
import { PduReader, pduWireParts } from "../../src/iscsi/pdu-reader.ts";
import type { Pdu, ScsiCommandPdu } from "../../src/iscsi/pdu-types.ts";
import { encodeTextData, parseTextData, type TextPair } from "../../src/iscsi/text-codec.ts";
import {
  type ChapCredentials,
  connect,
  type Initiator,
  LoginError,
} from "../helpers/initiator.ts";

const BLOCK = 512;
const TARGET_NAME = "iqn.2025-01.test:disk";

interface FakeOptions {
  initialR2T: boolean;
  immediateData: boolean;
  firstBurstLength: number;
  maxBurstLength: number;
  maxRecvDataSegmentLength: number;
  commandWindow: number;
  chap?: ChapCredentials;
}

const CHAP_ID = 7;
const CHAP_CHALLENGE = Buffer.from("00112233445566778899aabbccddeeff", "hex");

function md5Response(id: number, secret: string, challenge: Buffer): string {
  const hash = createHash("md5").update(Buffer.from([id])).update(secret).update(challenge);
  return `0x${hash.digest("hex")}`;
}

interface WriteInProgress {
  cmd: ScsiCommandPdu;
  buffer: Buffer;
  received: number;
  nextR2tOffset: number;
  r2tSN: number;
}

/** One fake target connection; answers the PDUs the test initiator sends. */
class FakeTargetConnection {
  private statSN = 100;
  private expCmdSN = 0;
  private digests = { header: false, data: false };
  private readonly writes = new Map<number, WriteInProgress>();
  readonly pingAnswers: number[] = [];
  private readonly reader: PduReader;

  constructor(
    private readonly socket: net.Socket,
    private readonly disk: Buffer,
    private readonly opts: FakeOptions,
  ) {
    this.reader = new PduReader({
      headerDigest: false,
      dataDigest: false,
      maxDataSegmentLength: 65536,
      onPdu: (pdu) => this.receive(pdu),
      onError: (err) => {
        throw err;
      },
    });
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.reader.push(chunk));
  }

  private numbers(advance: boolean) {
    const statSN = this.statSN;
    if (advance) this.statSN++;
    const expCmdSN = this.expCmdSN;
    return { statSN, expCmdSN, maxCmdSN: (expCmdSN + this.opts.commandWindow - 1) >>> 0 };
  }

  private send(header: Buffer, data: Buffer = Buffer.alloc(0)): void {
    for (const part of pduWireParts(header, data, this.digests)) this.socket.write(part);
  }

  private receive(pdu: Pdu): void {
    const decoded = codec.decodeRequest(pdu);
    const request = decoded.request;
    if ("cmdSN" in request && !request.immediate) this.expCmdSN = request.cmdSN + 1;
    switch (decoded.opcode) {
      case C.OP_LOGIN_REQUEST:
        return this.login(decoded.request);
      case C.OP_TEXT_REQUEST: {
        const data = encodeTextData([
          ["TargetName", TARGET_NAME],
          ["TargetAddress", "127.0.0.1:3260,1"],
          ["TargetAddress", "[::1]:3260,1"],
        ]);
        const fields = { final: true, continue: false, lun: 0, itt: request.itt };
        const header = codec.encodeTextResponse({
          ...fields,
          ttt: C.RESERVED_TAG,
          ...this.numbers(true),
          dataSegmentLength: data.length,
        });
        return this.send(header, data);
      }
      case C.OP_NOP_OUT: {
        const nop = decoded.request;
        if (nop.itt === C.RESERVED_TAG) return void this.pingAnswers.push(nop.ttt);
        const header = codec.encodeNopIn({
          rawLun: nop.rawLun,
          itt: nop.itt,
          ttt: C.RESERVED_TAG,
          ...this.numbers(true),
          dataSegmentLength: nop.data.length,
        });
        return this.send(header, nop.data);
      }
      case C.OP_SCSI_COMMAND:
        return this.command(decoded.request);
      case C.OP_SCSI_DATA_OUT: {
        const out = decoded.request;
        const write = this.writes.get(out.itt);
        if (write === undefined) throw new Error("Data-Out for no write");
        out.data.copy(write.buffer, out.bufferOffset);
        write.received += out.data.length;
        if (out.final) this.continueWrite(write);
        return;
      }
      case C.OP_LOGOUT_REQUEST: {
        const header = codec.encodeLogoutResponse({
          response: C.LOGOUT_RESP_CLOSED_SUCCESSFULLY,
          itt: request.itt,
          ...this.numbers(true),
          time2Wait: 0,
          time2Retain: 0,
        });
        return this.send(header);
      }
      default:
        throw new Error(`fake target got opcode ${decoded.opcode}`);
    }
  }

  private login(req: ReturnType<typeof codec.decodeLoginRequest>): void {
    const offered = new Map(parseTextData(req.data));
    const answers: TextPair[] = [];
    let transit = req.transit;
    if (req.csg === C.STAGE_SECURITY_NEGOTIATION) {
      const chap = this.chapAnswers(offered);
      if (chap === null) return this.failLogin(req);
      answers.push(...chap);
      transit &&= !answers.some(([key]) => key === "CHAP_C" || key === "AuthMethod");
    }
    if (req.csg === C.STAGE_LOGIN_OPERATIONAL_NEGOTIATION) {
      const o = this.opts;
      answers.push(
        ["HeaderDigest", offered.get("HeaderDigest") === "CRC32C" ? "CRC32C" : "None"],
        ["DataDigest", offered.get("DataDigest") === "CRC32C" ? "CRC32C" : "None"],
        ["MaxRecvDataSegmentLength", String(o.maxRecvDataSegmentLength)],
        ["InitialR2T", o.initialR2T ? "Yes" : "No"],
        ["ImmediateData", o.immediateData ? "Yes" : "No"],
        ["FirstBurstLength", String(o.firstBurstLength)],
        ["MaxBurstLength", String(o.maxBurstLength)],
      );
    }
    const data = encodeTextData(answers);
    this.expCmdSN = req.cmdSN;
    const header = codec.encodeLoginResponse({
      transit,
      continue: false,
      csg: req.csg,
      nsg: transit ? req.nsg : req.csg,
      versionMax: 0,
      versionActive: 0,
      isid: req.isid,
      tsih: 9,
      itt: req.itt,
      ...this.numbers(true),
      statusClass: C.LOGIN_STATUS_SUCCESS,
      statusDetail: 0,
      dataSegmentLength: data.length,
    });
    this.send(header, data);
    if (transit && req.nsg === C.STAGE_FULL_FEATURE_PHASE) {
      this.digests = {
        header: answers.some(([k, v]) => k === "HeaderDigest" && v === "CRC32C"),
        data: answers.some(([k, v]) => k === "DataDigest" && v === "CRC32C"),
      };
      this.reader.setDigests(this.digests.header, this.digests.data);
      this.pingInitiator();
    }
  }

  /** Security stage answers; null when the initiator failed authentication. */
  private chapAnswers(offered: Map<string, string>): TextPair[] | null {
    const auth = this.opts.chap;
    if (offered.has("AuthMethod")) {
      const useChap = auth !== undefined && offered.get("AuthMethod") === "CHAP";
      return [["AuthMethod", useChap ? "CHAP" : "None"]];
    }
    if (auth === undefined) return [];
    if (offered.has("CHAP_A")) {
      return [
        ["CHAP_A", "5"],
        ["CHAP_I", String(CHAP_ID)],
        ["CHAP_C", `0x${CHAP_CHALLENGE.toString("hex")}`],
      ];
    }
    const expected = md5Response(CHAP_ID, auth.secret, CHAP_CHALLENGE);
    if (offered.get("CHAP_N") !== auth.username || offered.get("CHAP_R") !== expected) return null;
    const mutualChallenge = offered.get("CHAP_C");
    if (mutualChallenge === undefined || auth.mutual === undefined) return [];
    const challenge = Buffer.from(mutualChallenge.slice(2), "hex");
    const response = md5Response(Number(offered.get("CHAP_I")), auth.mutual.secret, challenge);
    return [
      ["CHAP_N", auth.mutual.username],
      ["CHAP_R", response],
    ];
  }

  private failLogin(req: ReturnType<typeof codec.decodeLoginRequest>): void {
    const header = codec.encodeLoginResponse({
      transit: false,
      continue: false,
      csg: req.csg,
      nsg: req.csg,
      versionMax: 0,
      versionActive: 0,
      isid: req.isid,
      tsih: 0,
      itt: req.itt,
      ...this.numbers(true),
      statusClass: C.LOGIN_STATUS_INITIATOR_ERROR,
      statusDetail: C.LOGIN_DETAIL_AUTHENTICATION_FAILURE,
      dataSegmentLength: 0,
    });
    this.send(header);
  }

  private pingInitiator(): void {
    const header = codec.encodeNopIn({
      rawLun: Buffer.alloc(8),
      itt: C.RESERVED_TAG,
      ttt: 0x7777,
      ...this.numbers(false),
      dataSegmentLength: 0,
    });
    this.send(header);
  }

  private command(cmd: ScsiCommandPdu): void {
    const lba = cmd.cdb.readUInt32BE(2);
    if (cmd.cdb[0] === 0x2a) {
      const write = {
        cmd,
        buffer: Buffer.alloc(cmd.expectedDataTransferLength),
        received: cmd.data.length,
        nextR2tOffset: 0,
        r2tSN: 0,
      };
      cmd.data.copy(write.buffer);
      const unsolicited = this.opts.initialR2T
        ? cmd.data.length
        : Math.min(this.opts.firstBurstLength, cmd.expectedDataTransferLength);
      write.nextR2tOffset = unsolicited;
      this.writes.set(cmd.itt, write);
      if (cmd.final) this.continueWrite(write);
      return;
    }
    if (cmd.cdb[0] !== 0x28) {
      return this.respond(cmd.itt, 0x02, Buffer.from([0, 3, 0x70, 0, 5]));
    }
    const data = this.disk.subarray(lba * BLOCK, lba * BLOCK + cmd.expectedDataTransferLength);
    // Interleave responses of concurrent commands.
    setTimeout(() => this.sendDataIn(cmd, data), (lba % 3) * 5);
  }

  private sendDataIn(cmd: ScsiCommandPdu, data: Buffer): void {
    const segment = 3001; // odd, so that padding is exercised
    let dataSN = 0;
    for (let offset = 0; offset < data.length; offset += segment) {
      const piece = data.subarray(offset, offset + segment);
      const last = offset + piece.length === data.length;
      const header = codec.encodeDataIn({
        final: last,
        acknowledge: false,
        residualOverflow: false,
        residualUnderflow: false,
        statusPresent: last,
        status: 0,
        lun: cmd.lun,
        itt: cmd.itt,
        ttt: C.RESERVED_TAG,
        ...this.numbers(last),
        dataSN: dataSN++,
        bufferOffset: offset,
        residualCount: 0,
        dataSegmentLength: piece.length,
      });
      this.send(header, piece);
    }
  }

  private continueWrite(write: WriteInProgress): void {
    const length = write.cmd.expectedDataTransferLength;
    if (write.received === length) {
      this.writes.delete(write.cmd.itt);
      write.buffer.copy(this.disk, write.cmd.cdb.readUInt32BE(2) * BLOCK);
      return this.respond(write.cmd.itt, 0, Buffer.alloc(0));
    }
    const desired = Math.min(this.opts.maxBurstLength, length - write.nextR2tOffset);
    const header = codec.encodeR2t({
      lun: write.cmd.lun,
      itt: write.cmd.itt,
      ttt: 0x1000 + write.r2tSN,
      ...this.numbers(false),
      r2tSN: write.r2tSN++,
      bufferOffset: write.nextR2tOffset,
      desiredDataTransferLength: desired,
    });
    write.nextR2tOffset += desired;
    this.send(header);
  }

  private respond(itt: number, status: number, data: Buffer): void {
    const header = codec.encodeScsiResponse({
      itt,
      response: 0,
      status,
      bidiReadResidualOverflow: false,
      bidiReadResidualUnderflow: false,
      residualOverflow: false,
      residualUnderflow: false,
      ...this.numbers(true),
      expDataSN: 0,
      bidiReadResidualCount: 0,
      residualCount: 0,
      dataSegmentLength: data.length,
    });
    this.send(header, data);
  }
}

const servers: net.Server[] = [];
const initiators: Initiator[] = [];

afterEach(() => {
  for (const initiator of initiators.splice(0)) initiator.close();
  for (const server of servers.splice(0)) server.close();
});

async function fakeTarget(opts: FakeOptions) {
  const disk = Buffer.alloc(256 * BLOCK);
  const connections: FakeTargetConnection[] = [];
  const server = net.createServer((socket) => {
    connections.push(new FakeTargetConnection(socket, disk, opts));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { port: address.port, disk, connections };
}

const DEFAULTS: FakeOptions = {
  initialR2T: true,
  immediateData: true,
  firstBurstLength: 4096,
  maxBurstLength: 8192,
  maxRecvDataSegmentLength: 2048,
  commandWindow: 2,
};

function pattern(length: number, seed: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff));
}

async function login(port: number, digests: boolean, targetName?: string): Promise<Initiator> {
  const initiator = await connect({
    host: "127.0.0.1",
    port,
    initiatorName: "iqn.2025-01.test:initiator",
    targetName,
    headerDigest: digests,
    dataDigest: digests,
  });
  initiators.push(initiator);
  return initiator;
}

describe("test initiator against a fake target", () => {
  const variants: Array<[string, Partial<FakeOptions>, boolean]> = [
    ["immediate data then R2T", {}, false],
    ["immediate data then R2T, with digests", {}, true],
    ["unsolicited Data-Out then R2T", { initialR2T: false, immediateData: false }, false],
    ["immediate and unsolicited data, with digests", { initialR2T: false }, true],
  ];
  for (const [name, overrides, digests] of variants) {
    it(`writes and reads back: ${name}`, async () => {
      const target = await fakeTarget({ ...DEFAULTS, ...overrides });
      const initiator = await login(target.port, digests, TARGET_NAME);
      expect(initiator.params.headerDigest).toBe(digests);
      expect(initiator.params.maxSendDataSegmentLength).toBe(2048);
      const written = pattern(40 * BLOCK, 3);
      const write = await initiator.write10(8, written);
      expect(write.status).toBe(0);
      expect(target.disk.subarray(8 * BLOCK, 48 * BLOCK)).toEqual(written);
      const reads = await Promise.all(
        [8, 18, 28, 38].map((lba) => initiator.read10(lba, 10)),
      );
      for (const [i, read] of reads.entries()) {
        expect(read.status).toBe(0);
        expect(read.data).toEqual(written.subarray(i * 10 * BLOCK, (i + 1) * 10 * BLOCK));
      }
      expect(await initiator.nop(Buffer.from("hello"))).toEqual(Buffer.from("hello"));
      expect(target.connections[0].pingAnswers).toEqual([0x7777]);
      expect(await initiator.logout()).toBe(C.LOGOUT_RESP_CLOSED_SUCCESSFULLY);
    });
  }

  it("returns sense data from a SCSI Response", async () => {
    const target = await fakeTarget(DEFAULTS);
    const initiator = await login(target.port, false, TARGET_NAME);
    const outcome = await initiator.scsi(Buffer.from([0x12, 0, 0, 0, 36, 0]), { readLength: 36 });
    expect(outcome.status).toBe(0x02);
    expect(outcome.sense).toEqual(Buffer.from([0x70, 0, 5]));
  });

  it("logs in with CHAP and with mutual CHAP", async () => {
    const mutual = { username: "target", secret: "target-secret-12" };
    const chap = { username: "alice", secret: "alice-secret-12", mutual };
    for (const credentials of [{ username: chap.username, secret: chap.secret }, chap]) {
      const target = await fakeTarget({ ...DEFAULTS, chap });
      const initiator = await connect({
        host: "127.0.0.1",
        port: target.port,
        initiatorName: "iqn.2025-01.test:initiator",
        targetName: TARGET_NAME,
        chap: credentials,
      });
      initiators.push(initiator);
      expect(initiator.tsih).toBe(9);
    }
  });

  it("fails login on a wrong CHAP secret and on a target failing mutual CHAP", async () => {
    const mutual = { username: "target", secret: "target-secret-12" };
    const target = await fakeTarget({ ...DEFAULTS, chap: { username: "a", secret: "s", mutual } });
    const attempt = (chap: ChapCredentials) =>
      connect({
        host: "127.0.0.1",
        port: target.port,
        initiatorName: "iqn.2025-01.test:initiator",
        targetName: TARGET_NAME,
        chap,
      });
    const wrong = await attempt({ username: "a", secret: "wrong" }).catch((err: unknown) => err);
    expect(wrong).toBeInstanceOf(LoginError);
    expect((wrong as LoginError).statusDetail).toBe(C.LOGIN_DETAIL_AUTHENTICATION_FAILURE);
    const impostor = { username: "target", secret: "other" };
    await expect(attempt({ username: "a", secret: "s", mutual: impostor })).rejects.toThrow(
      /mutual CHAP/,
    );
  });

  it("lists targets in a discovery session", async () => {
    const target = await fakeTarget(DEFAULTS);
    const initiator = await login(target.port, false);
    expect(await initiator.discovery()).toEqual([
      { name: TARGET_NAME, addresses: ["127.0.0.1:3260,1", "[::1]:3260,1"] },
    ]);
  });
});
