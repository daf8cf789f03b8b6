// A small iSCSI initiator for integration tests (node:net, runs under Bun).
// Error recovery level 0, one connection per session, several commands in flight (by ITT).

import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import * as C from "../../src/iscsi/constants.ts";
import * as codec from "../../src/iscsi/pdu.ts";
import { PduReader, pduWireParts } from "../../src/iscsi/pdu-reader.ts";
import type { LoginResponseFields, Pdu } from "../../src/iscsi/pdu-types.ts";
import { encodeTextData, parseTextData, type TextPair } from "../../src/iscsi/text-codec.ts";

export interface ChapCredentials {
  username: string;
  secret: string;
  /** Target credentials: when set, the initiator challenges the target too. */
  mutual?: { username: string; secret: string };
}

export interface ConnectOptions {
  host: string;
  port: number;
  initiatorName: string;
  /** Absent: a discovery session. */
  targetName?: string;
  isid?: Buffer;
  headerDigest?: boolean;
  dataDigest?: boolean;
  chap?: ChapCredentials;
}

export interface ScsiOptions {
  lun?: number;
  dataOut?: Buffer;
  readLength?: number;
  taskAttribute?: number;
}

export interface TaskManagementTarget {
  lun?: number;
  referencedTaskTag?: number;
  /** CmdSN of the referenced task (ABORT TASK); defaults to the next CmdSN. */
  refCmdSN?: number;
}

export interface ScsiOutcome {
  response: number;
  status: number;
  sense: Buffer | null;
  data: Buffer;
  residualOverflow: boolean;
  residualUnderflow: boolean;
  residualCount: number;
}

/** What login settled on, from the target's answers. */
export interface NegotiatedParams {
  headerDigest: boolean;
  dataDigest: boolean;
  maxSendDataSegmentLength: number; // the target's MaxRecvDataSegmentLength
  initialR2T: boolean;
  immediateData: boolean;
  firstBurstLength: number;
  maxBurstLength: number;
}

export class LoginError extends Error {
  constructor(
    readonly statusClass: number,
    readonly statusDetail: number,
  ) {
    super(`login failed: class ${statusClass} detail ${statusDetail}`);
  }
}

export class RejectError extends Error {
  constructor(readonly reason: number) {
    super(`target sent Reject, reason 0x${reason.toString(16)}`);
  }
}

const OUR_MAX_RECV_DATA_SEGMENT_LENGTH = 262144;
const OUR_FIRST_BURST_LENGTH = 65536;
const OUR_MAX_BURST_LENGTH = 262144;
const LOGIN_ROUNDS_LIMIT = 16;
const CHAP_MD5 = "5";
const EMPTY = Buffer.alloc(0);
/** Keys the target declares rather than offers: never answered. */
const DECLARATIVE_KEYS = new Set([
  "MaxRecvDataSegmentLength",
  "TargetAlias",
  "TargetPortalGroupTag",
]);

type StatusFields = Pick<
  ScsiOutcome,
  "response" | "status" | "residualOverflow" | "residualUnderflow" | "residualCount"
>;

interface Pending {
  handle(pdu: Pdu): void;
  fail(err: Error): void;
}

function serialGreater(a: number, b: number): boolean {
  const diff = (a - b) >>> 0;
  return diff !== 0 && diff < 0x80000000;
}

export async function connect(options: ConnectOptions): Promise<Initiator> {
  const socket = net.connect({ host: options.host, port: options.port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const initiator = new Initiator(socket, options);
  try {
    await initiator.login();
  } catch (err) {
    initiator.close();
    throw err;
  }
  return initiator;
}

export class Initiator {
  params: NegotiatedParams = {
    headerDigest: false,
    dataDigest: false,
    maxSendDataSegmentLength: 8192,
    initialR2T: true,
    immediateData: true,
    firstBurstLength: OUR_FIRST_BURST_LENGTH,
    maxBurstLength: OUR_MAX_BURST_LENGTH,
  };
  tsih = 0;
  /** Every Asynchronous Message received. */
  readonly asyncMessages: ReturnType<typeof codec.decodeAsyncMessage>[] = [];
  private readonly isid: Buffer;
  private readonly reader: PduReader;
  private readonly pending = new Map<number, Pending>();
  private readonly windowWaiters: Array<() => void> = [];
  private digests = { header: false, data: false };
  private cmdSN = 1;
  private maxCmdSN = 1;
  private expStatSN = 0;
  private nextItt = 1;
  private closedBy: Error | null = null;

  constructor(
    private readonly socket: net.Socket,
    private readonly options: ConnectOptions,
  ) {
    // ISID type 10b (random), qualifier 0.
    this.isid = options.isid ?? Buffer.from([0x80, ...randomBytes(3), 0, 0]);
    this.reader = new PduReader({
      headerDigest: false,
      dataDigest: false,
      maxDataSegmentLength: OUR_MAX_RECV_DATA_SEGMENT_LENGTH,
      onPdu: (pdu) => {
        try {
          this.receive(pdu);
        } catch (err) {
          this.shutDown(err instanceof Error ? err : new Error(String(err)));
        }
      },
      onError: (err) => this.shutDown(err),
    });
    socket.on("data", (chunk: Buffer) => this.reader.push(chunk));
    socket.on("error", (err) => this.shutDown(err));
    socket.on("close", () => this.shutDown(new Error("connection closed")));
  }

  // ---- login ----

  async login(): Promise<void> {
    const o = this.options;
    const chap = o.chap ? new ChapExchange(o.chap) : null;
    let stage = C.STAGE_SECURITY_NEGOTIATION;
    let keys: TextPair[] = [
      ["InitiatorName", o.initiatorName],
      ["SessionType", o.targetName === undefined ? "Discovery" : "Normal"],
      ...(o.targetName === undefined ? [] : [["TargetName", o.targetName] as TextPair]),
      ["AuthMethod", chap ? "CHAP" : "None"],
    ];
    const offered = new Map<string, string>();
    for (let round = 0; round < LOGIN_ROUNDS_LIMIT; round++) {
      const security = stage === C.STAGE_SECURITY_NEGOTIATION;
      const transit = !security || chap === null || chap.done;
      const nsg = security ? C.STAGE_LOGIN_OPERATIONAL_NEGOTIATION : C.STAGE_FULL_FEATURE_PHASE;
      for (const [key, value] of keys) offered.set(key, value);
      const response = await this.loginRound(stage, nsg, transit, keys);
      const answers = new Map(response.pairs);
      keys = security ? (chap?.next(answers) ?? []) : this.answerOffers(answers, offered);
      if (!response.transit) continue;
      if (response.nsg === C.STAGE_FULL_FEATURE_PHASE) return;
      stage = response.nsg;
      if (stage === C.STAGE_LOGIN_OPERATIONAL_NEGOTIATION) keys = this.operationalKeys();
    }
    throw new Error("login did not reach full feature phase");
  }

  private operationalKeys(): TextPair[] {
    const digest = (wanted: boolean | undefined) => (wanted ? "CRC32C" : "None");
    const keys: TextPair[] = [
      ["HeaderDigest", digest(this.options.headerDigest)],
      ["DataDigest", digest(this.options.dataDigest)],
      ["MaxRecvDataSegmentLength", String(OUR_MAX_RECV_DATA_SEGMENT_LENGTH)],
    ];
    if (this.options.targetName === undefined) return keys;
    return keys.concat([
      ["InitialR2T", "No"],
      ["ImmediateData", "Yes"],
      ["FirstBurstLength", String(OUR_FIRST_BURST_LENGTH)],
      ["MaxBurstLength", String(OUR_MAX_BURST_LENGTH)],
      ["MaxConnections", "1"],
      ["MaxOutstandingR2T", "1"],
      ["DataPDUInOrder", "Yes"],
      ["DataSequenceInOrder", "Yes"],
      ["ErrorRecoveryLevel", "0"],
      ["DefaultTime2Wait", "2"],
      ["DefaultTime2Retain", "0"],
    ]);
  }

  /** Keys the target offered on its own: accept its value. */
  private answerOffers(answers: Map<string, string>, offered: Map<string, string>): TextPair[] {
    return [...answers].filter(([key]) => !offered.has(key) && !DECLARATIVE_KEYS.has(key));
  }

  private adoptAnswers(answers: Map<string, string>): void {
    const p = this.params;
    const number = (key: string, current: number) => Number(answers.get(key) ?? current);
    const yes = (key: string, current: boolean) =>
      answers.has(key) ? answers.get(key) === "Yes" : current;
    this.params = {
      headerDigest: answers.has("HeaderDigest")
        ? answers.get("HeaderDigest") === "CRC32C"
        : p.headerDigest,
      dataDigest: answers.has("DataDigest") ? answers.get("DataDigest") === "CRC32C" : p.dataDigest,
      maxSendDataSegmentLength: number("MaxRecvDataSegmentLength", p.maxSendDataSegmentLength),
      initialR2T: yes("InitialR2T", p.initialR2T),
      immediateData: yes("ImmediateData", p.immediateData),
      firstBurstLength: number("FirstBurstLength", p.firstBurstLength),
      maxBurstLength: number("MaxBurstLength", p.maxBurstLength),
    };
  }

  /** One login request/response exchange, following Login Responses with the C bit set. */
  private async loginRound(csg: number, nsg: number, transit: boolean, keys: TextPair[]) {
    let data = encodeTextData(keys);
    const gathered: Buffer[] = [];
    for (;;) {
      const itt = this.allocItt();
      const header = codec.encodeLoginRequest({
        immediate: true,
        transit,
        continue: false,
        csg,
        nsg,
        versionMax: C.ISCSI_VERSION,
        versionMin: C.ISCSI_VERSION,
        isid: this.isid,
        tsih: this.tsih,
        itt,
        cid: 0,
        cmdSN: this.cmdSN,
        expStatSN: this.expStatSN,
        dataSegmentLength: data.length,
      });
      const round = await this.exchange(itt, header, data, (pdu) => {
        const response = codec.decodeLoginResponse(pdu);
        if (response.statusClass !== C.LOGIN_STATUS_SUCCESS) {
          throw new LoginError(response.statusClass, response.statusDetail);
        }
        gathered.push(response.data);
        if (response.continue) return null;
        const pairs = parseTextData(Buffer.concat(gathered));
        this.absorbLoginResponse(response, new Map(pairs));
        return { ...response, pairs };
      });
      if (round !== null) return round;
      data = EMPTY;
    }
  }

  /**
   * Runs as the final response of a round is read, before the reader parses the next PDU: the
   * target may send digested PDUs right behind the response that enters full feature phase.
   */
  private absorbLoginResponse(response: LoginResponseFields, answers: Map<string, string>) {
    if (response.csg === C.STAGE_LOGIN_OPERATIONAL_NEGOTIATION) this.adoptAnswers(answers);
    if (!response.transit || response.nsg !== C.STAGE_FULL_FEATURE_PHASE) return;
    this.tsih = response.tsih;
    this.digests = { header: this.params.headerDigest, data: this.params.dataDigest };
    this.reader.setDigests(this.digests.header, this.digests.data);
  }

  // ---- full feature phase ----

  /** SendTargets=All in a discovery session. */
  async discovery(): Promise<Array<{ name: string; addresses: string[] }>> {
    const response = await this.text([["SendTargets", "All"]]);
    const found: Array<{ name: string; addresses: string[] }> = [];
    for (const [key, value] of parseTextData(response, { allowDuplicateKeys: true })) {
      if (key === "TargetName") found.push({ name: value, addresses: [] });
      if (key === "TargetAddress") found.at(-1)?.addresses.push(value);
    }
    return found;
  }

  /** A Text Request sequence (one ITT); returns the reassembled response data. */
  async text(keys: TextPair[]): Promise<Buffer> {
    const gathered: Buffer[] = [];
    const itt = this.allocItt();
    let data = encodeTextData(keys);
    let ttt = C.RESERVED_TAG;
    for (;;) {
      await this.waitForWindow();
      const header = codec.encodeTextRequest({
        immediate: false,
        final: true,
        continue: false,
        lun: 0,
        itt,
        ttt,
        cmdSN: this.takeCmdSN(),
        expStatSN: this.expStatSN,
        dataSegmentLength: data.length,
      });
      const response = await this.exchange(itt, header, data, codec.decodeTextResponse);
      gathered.push(response.data);
      if (response.final) return Buffer.concat(gathered);
      ttt = response.ttt;
      data = EMPTY;
    }
  }

  async scsi(cdb: Buffer, options: ScsiOptions = {}): Promise<ScsiOutcome> {
    const lun = options.lun ?? 0;
    const dataOut = options.dataOut ?? EMPTY;
    const readLength = options.readLength ?? 0;
    if (dataOut.length > 0 && readLength > 0) throw new Error("bidirectional not supported");
    await this.waitForWindow();
    const itt = this.allocItt();
    const p = this.params;
    const firstBurst = Math.min(p.firstBurstLength, dataOut.length);
    const immediateLength = p.immediateData ? Math.min(firstBurst, p.maxSendDataSegmentLength) : 0;
    const unsolicitedEnd = p.initialR2T ? immediateLength : firstBurst;
    const outcome = this.trackCommand(itt, lun, dataOut, readLength);
    const header = codec.encodeScsiCommand({
      immediate: false,
      final: unsolicitedEnd === immediateLength,
      read: readLength > 0,
      write: dataOut.length > 0,
      taskAttribute: options.taskAttribute ?? C.TASK_ATTR_SIMPLE,
      lun,
      itt,
      expectedDataTransferLength: Math.max(readLength, dataOut.length),
      cmdSN: this.takeCmdSN(),
      expStatSN: this.expStatSN,
      cdb,
      bidiReadLength: null,
      dataSegmentLength: immediateLength,
    });
    this.send(header, dataOut.subarray(0, immediateLength));
    if (unsolicitedEnd > immediateLength) {
      const unsolicited = dataOut.subarray(0, unsolicitedEnd);
      this.sendDataOut(itt, lun, C.RESERVED_TAG, unsolicited, immediateLength);
    }
    return outcome;
  }

  /** Handles a command's Data-In, R2T and SCSI Response PDUs until its status arrives. */
  private trackCommand(itt: number, lun: number, dataOut: Buffer, readLength: number) {
    const readBuffer = Buffer.alloc(readLength);
    let received = 0;
    let nextDataSN = 0;
    return new Promise<ScsiOutcome>((resolve, reject) => {
      const finish = (fields: StatusFields, sense: Buffer | null) => {
        this.pending.delete(itt);
        const { response, status, residualOverflow, residualUnderflow, residualCount } = fields;
        const data = readBuffer.subarray(0, received);
        const residual = { residualOverflow, residualUnderflow, residualCount };
        resolve({ response, status, sense, data, ...residual });
      };
      const onDataIn = (d: ReturnType<typeof codec.decodeDataIn>) => {
        const end = d.bufferOffset + d.data.length;
        if (d.dataSN !== nextDataSN++ || end > readLength) {
          return this.shutDown(new Error(`bad Data-In DataSN ${d.dataSN} end ${end}`));
        }
        d.data.copy(readBuffer, d.bufferOffset);
        received = Math.max(received, end);
        if (d.statusPresent) finish({ ...d, response: C.SCSI_RESPONSE_COMMAND_COMPLETED }, null);
      };
      const onR2t = (r: ReturnType<typeof codec.decodeR2t>) => {
        const end = r.bufferOffset + r.desiredDataTransferLength;
        if (end > dataOut.length) return this.shutDown(new Error(`R2T beyond the data: ${end}`));
        this.sendDataOut(itt, lun, r.ttt, dataOut.subarray(0, end), r.bufferOffset);
      };
      this.pending.set(itt, {
        fail: reject,
        handle: (pdu) => {
          const opcode = codec.pduOpcode(pdu.bhs);
          if (opcode === C.OP_SCSI_DATA_IN) return onDataIn(codec.decodeDataIn(pdu));
          if (opcode === C.OP_R2T) return onR2t(codec.decodeR2t(pdu));
          if (opcode !== C.OP_SCSI_RESPONSE) {
            return this.shutDown(new Error(`opcode 0x${opcode.toString(16)} for a command`));
          }
          const r = codec.decodeScsiResponse(pdu);
          finish(r, r.data.length >= 2 ? r.data.subarray(2, 2 + r.data.readUInt16BE(0)) : null);
        },
      });
    });
  }

  /** Data-Out PDUs for data[offset..], one sequence: DataSN from 0, F on the last. */
  private sendDataOut(itt: number, lun: number, ttt: number, data: Buffer, offset: number): void {
    let dataSN = 0;
    for (let at = offset; at < data.length; at += this.params.maxSendDataSegmentLength) {
      const piece = data.subarray(at, at + this.params.maxSendDataSegmentLength);
      const header = codec.encodeDataOut({
        final: at + piece.length === data.length,
        lun,
        itt,
        ttt,
        expStatSN: this.expStatSN,
        dataSN: dataSN++,
        bufferOffset: at,
        dataSegmentLength: piece.length,
      });
      this.send(header, piece);
    }
  }

  read10(lba: number, blocks: number, blockSize = 512, lun = 0): Promise<ScsiOutcome> {
    const cdb = Buffer.alloc(10);
    cdb[0] = 0x28;
    cdb.writeUInt32BE(lba, 2);
    cdb.writeUInt16BE(blocks, 7);
    return this.scsi(cdb, { lun, readLength: blocks * blockSize });
  }

  write10(lba: number, data: Buffer, blockSize = 512, lun = 0): Promise<ScsiOutcome> {
    const cdb = Buffer.alloc(10);
    cdb[0] = 0x2a;
    cdb.writeUInt32BE(lba, 2);
    cdb.writeUInt16BE(data.length / blockSize, 7);
    return this.scsi(cdb, { lun, dataOut: data });
  }

  /** A NOP-Out ping (immediate); resolves with the echoed data. */
  async nop(data: Buffer = EMPTY): Promise<Buffer> {
    const itt = this.allocItt();
    const header = codec.encodeNopOut({
      immediate: true,
      lun: 0,
      itt,
      ttt: C.RESERVED_TAG,
      cmdSN: this.cmdSN,
      expStatSN: this.expStatSN,
      dataSegmentLength: data.length,
    });
    return (await this.exchange(itt, header, data, codec.decodeNopIn)).data;
  }

  /** An immediate Task Management Function Request; returns the TMF response code. */
  async taskManagement(fn: number, target: TaskManagementTarget = {}): Promise<number> {
    const itt = this.allocItt();
    const header = codec.encodeTaskMgmtRequest({
      immediate: true,
      function: fn,
      lun: target.lun ?? 0,
      itt,
      referencedTaskTag: target.referencedTaskTag ?? C.RESERVED_TAG,
      cmdSN: this.cmdSN,
      expStatSN: this.expStatSN,
      refCmdSN: target.refCmdSN ?? this.cmdSN,
      expDataSN: 0,
    });
    return (await this.exchange(itt, header, EMPTY, codec.decodeTaskMgmtResponse)).response;
  }

  /** Logout (close the session); returns the Logout Response code and closes the socket. */
  async logout(): Promise<number> {
    const itt = this.allocItt();
    const header = codec.encodeLogoutRequest({
      immediate: true,
      reasonCode: C.LOGOUT_REASON_CLOSE_SESSION,
      itt,
      cid: 0,
      cmdSN: this.cmdSN,
      expStatSN: this.expStatSN,
    });
    const response = await this.exchange(itt, header, EMPTY, codec.decodeLogoutResponse);
    this.close();
    return response.response;
  }

  close(): void {
    this.shutDown(new Error("initiator closed"));
  }

  // ---- plumbing ----

  /** Sends a PDU; `onReply` runs synchronously on the PDU answering it, giving the result. */
  private exchange<T>(itt: number, header: Buffer, data: Buffer, onReply: (pdu: Pdu) => T) {
    const reply = new Promise<T>((resolve, reject) => {
      this.pending.set(itt, {
        fail: reject,
        handle: (pdu) => {
          this.pending.delete(itt);
          try {
            resolve(onReply(pdu));
          } catch (err) {
            reject(err);
          }
        },
      });
    });
    this.send(header, data);
    return reply;
  }

  private send(header: Buffer, data: Buffer): void {
    if (this.closedBy !== null) throw this.closedBy;
    for (const part of pduWireParts(header, data, this.digests)) this.socket.write(part);
  }

  private receive(pdu: Pdu): void {
    const { bhs } = pdu;
    const opcode = codec.pduOpcode(bhs);
    const itt = codec.pduItt(bhs);
    this.trackSequenceNumbers(bhs, opcode, itt);
    if (opcode === C.OP_ASYNC_MESSAGE) {
      this.asyncMessages.push(codec.decodeAsyncMessage(pdu));
    } else if (opcode === C.OP_REJECT) {
      const reject = codec.decodeReject(pdu);
      const rejectedItt = reject.data.length >= 20 ? reject.data.readUInt32BE(16) : C.RESERVED_TAG;
      const pending = this.pending.get(rejectedItt);
      this.pending.delete(rejectedItt);
      pending?.fail(new RejectError(reject.reason));
    } else if (opcode === C.OP_NOP_IN && itt === C.RESERVED_TAG) {
      this.answerPing(codec.decodeNopIn(pdu));
    } else {
      const pending = this.pending.get(itt);
      if (pending !== undefined) return pending.handle(pdu);
      this.shutDown(new Error(`PDU for unknown ITT 0x${itt.toString(16)}`));
    }
  }

  private answerPing(ping: ReturnType<typeof codec.decodeNopIn>): void {
    if (ping.ttt === C.RESERVED_TAG) return;
    const header = codec.encodeNopOut({
      immediate: true,
      lun: codec.decodeLun(ping.rawLun),
      itt: C.RESERVED_TAG,
      ttt: ping.ttt,
      cmdSN: this.cmdSN,
      expStatSN: this.expStatSN,
      dataSegmentLength: ping.data.length,
    });
    this.send(header, ping.data);
  }

  private trackSequenceNumbers(bhs: Buffer, opcode: number, itt: number): void {
    const advancesStatSN =
      opcode === C.OP_SCSI_DATA_IN
        ? (bhs[1] & C.DATA_IN_FLAG_STATUS) !== 0
        : opcode !== C.OP_R2T && !(opcode === C.OP_NOP_IN && itt === C.RESERVED_TAG);
    if (advancesStatSN) this.expStatSN = (bhs.readUInt32BE(24) + 1) >>> 0;
    const maxCmdSN = bhs.readUInt32BE(32);
    if (serialGreater(maxCmdSN, this.maxCmdSN)) {
      this.maxCmdSN = maxCmdSN;
      for (const wake of this.windowWaiters.splice(0)) wake();
    }
  }

  private async waitForWindow(): Promise<void> {
    while (serialGreater(this.cmdSN, this.maxCmdSN)) {
      if (this.closedBy !== null) throw this.closedBy;
      await new Promise<void>((resolve) => this.windowWaiters.push(resolve));
    }
  }

  private takeCmdSN(): number {
    const cmdSN = this.cmdSN;
    this.cmdSN = (cmdSN + 1) >>> 0;
    return cmdSN;
  }

  private allocItt(): number {
    const itt = this.nextItt;
    this.nextItt = this.nextItt === 0x7fffffff ? 1 : this.nextItt + 1;
    return itt;
  }

  private shutDown(err: Error): void {
    if (this.closedBy !== null) return;
    this.closedBy = err;
    this.socket.destroy();
    for (const pending of this.pending.values()) pending.fail(err);
    this.pending.clear();
    for (const wake of this.windowWaiters.splice(0)) wake();
  }
}

/** CHAP with MD5 (RFC 7143 12.1.3, RFC 1994), optionally mutual. */
class ChapExchange {
  done = false;
  private mutualChallenge: { id: number; challenge: Buffer } | null = null;

  constructor(private readonly credentials: ChapCredentials) {}

  /** The keys to send after the target's answers. */
  next(answers: Map<string, string>): TextPair[] {
    const challenge = answers.get("CHAP_C");
    if (challenge !== undefined) return this.respond(Number(answers.get("CHAP_I")), challenge);
    const targetResponse = answers.get("CHAP_R");
    if (targetResponse !== undefined) {
      this.verifyTarget(answers.get("CHAP_N"), targetResponse);
      return [];
    }
    if (answers.has("AuthMethod")) {
      if (answers.get("AuthMethod") !== "CHAP") throw new Error("target refused CHAP");
      return [["CHAP_A", CHAP_MD5]];
    }
    return [];
  }

  private respond(id: number, challenge: string): TextPair[] {
    const { username, secret, mutual } = this.credentials;
    this.done = true;
    const keys: TextPair[] = [
      ["CHAP_N", username],
      ["CHAP_R", chapResponse(id, secret, decodeChapBinary(challenge))],
    ];
    if (mutual === undefined) return keys;
    this.mutualChallenge = { id: randomBytes(1)[0], challenge: randomBytes(16) };
    keys.push(["CHAP_I", String(this.mutualChallenge.id)]);
    keys.push(["CHAP_C", `0x${this.mutualChallenge.challenge.toString("hex")}`]);
    return keys;
  }

  private verifyTarget(name: string | undefined, response: string): void {
    const { mutual } = this.credentials;
    if (mutual === undefined || this.mutualChallenge === null) throw new Error("unasked CHAP_R");
    const { id, challenge } = this.mutualChallenge;
    const expected = chapResponse(id, mutual.secret, challenge);
    if (name !== mutual.username || response.toLowerCase() !== expected) {
      throw new Error("target failed mutual CHAP");
    }
  }
}

function chapResponse(id: number, secret: string, challenge: Buffer): string {
  const hash = createHash("md5").update(Buffer.from([id])).update(secret).update(challenge);
  return `0x${hash.digest("hex")}`;
}

function decodeChapBinary(value: string): Buffer {
  if (/^0x/i.test(value)) return Buffer.from(value.slice(2), "hex");
  if (/^0b/i.test(value)) return Buffer.from(value.slice(2), "base64");
  throw new Error(`bad CHAP binary value ${value}`);
}
