// One iSCSI session of the load generator: node:net, one connection, error recovery level 0,
// no digests. Login goes through src/iscsi's codec; the full feature phase is a lean fast path:
// per-slot command headers patched in place, responses read from the BHS without decoding the
// whole PDU, Data-In payloads skipped, not copied, and the PDUs of one receive turn written out
// together.
import { randomBytes } from "node:crypto";
import net from "node:net";
import * as C from "../../../src/iscsi/constants.ts";
import * as codec from "../../../src/iscsi/pdu.ts";
import { encodeTextData, parseTextData, type TextPair } from "../../../src/iscsi/text-codec.ts";

const BHS_BYTES = 48;
const OUR_MAX_RECV_DATA_SEGMENT_BYTES = 262_144;
const OUR_FIRST_BURST_BYTES = 65_536;
const OUR_MAX_BURST_BYTES = 262_144;
const LOGIN_ROUNDS_MAX = 8;
const DECLARATIVE_KEYS = new Set(["MaxRecvDataSegmentLength", "TargetAlias",
  "TargetPortalGroupTag"]);
const OPCODE_READ_10 = 0x28;
const OPCODE_WRITE_10 = 0x2a;
const SCSI_FLAG_FINAL = 0x80;
const SCSI_FLAG_READ = 0x40;
const SCSI_FLAG_WRITE = 0x20;
const SCSI_STATUS_CHECK_CONDITION = 0x02;
const SENSE_KEY_UNIT_ATTENTION = 0x06;

export interface SessionTarget {
  host: string;
  port: number;
  iqn: string;
  lun: number;
}

export interface Negotiated {
  maxSendDataSegmentBytes: number;
  initialR2T: boolean;
  immediateData: boolean;
  firstBurstBytes: number;
  maxBurstBytes: number;
}

/** One I/O: the session calls back with its status when it completes. */
export interface IoRequest {
  write: boolean;
  lba: number;
  blocks: number;
  lengthBytes: number;
}

export type CompletionHandler = (slot: number, status: number, nowMs: number) => void;

interface ReceivedPdu {
  bhs: Buffer;
  data: Buffer;
}

function serialGreater(a: number, b: number): boolean {
  const diff = (a - b) >>> 0;
  return diff !== 0 && diff < 0x80000000;
}

export class LoadSession {
  negotiated: Negotiated = { maxSendDataSegmentBytes: 8192, initialR2T: true,
    immediateData: true, firstBurstBytes: OUR_FIRST_BURST_BYTES,
    maxBurstBytes: OUR_MAX_BURST_BYTES };
  onComplete: CompletionHandler = () => {};
  private readonly socket: net.Socket;
  private readonly isid = Buffer.from([0x80, ...randomBytes(3), 0, 0]);
  private readonly header = Buffer.alloc(BHS_BYTES);
  private headerFill = 0;
  private dataLeft = 0; // payload bytes (AHS + data + padding) of the current PDU still to come
  private dataKeep: Buffer | null = null; // where the payload goes when it is kept
  private dataFill = 0;
  private loginWaiter: ((pdu: ReceivedPdu) => void) | null = null;
  private failure: Error | null = null;
  private failureWaiter: ((error: Error) => void) | null = null;
  private readonly outgoing: Buffer[] = [];
  private outgoingBytes = 0;
  private cmdSN = 1;
  private maxCmdSN = 1;
  private expStatSN = 0;
  private ittCounter = 1;
  // Per slot: its command template, current ITT, request, and the write data.
  private templates: Buffer[] = [];
  private ittOfSlot: Uint32Array = new Uint32Array(0);
  private requests: IoRequest[] = [];
  private readonly waitingForWindow: number[] = [];
  private writeData: Buffer = Buffer.alloc(0);
  private inReceiveTurn = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("connection closed by the target")));
  }

  static async open(target: SessionTarget, initiatorName: string): Promise<LoadSession> {
    const socket = net.connect({ host: target.host, port: target.port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const session = new LoadSession(socket);
    try {
      await session.login(target.iqn, initiatorName);
    } catch (error) {
      socket.destroy();
      throw error;
    }
    return session;
  }

  /** Rejects when the connection fails. */
  failed(): Promise<Error> {
    if (this.failure) return Promise.resolve(this.failure);
    return new Promise((resolve) => (this.failureWaiter = resolve));
  }

  /** Prepares `slots` command slots; `maxLengthBytes` bounds any one I/O. */
  prepare(slots: number, lun: number, maxLengthBytes: number): void {
    this.templates = [];
    for (let slot = 0; slot < slots; slot++) {
      this.templates.push(codec.encodeScsiCommand({
        immediate: false, final: true, read: true, write: false,
        taskAttribute: C.TASK_ATTR_SIMPLE, lun, itt: 0, expectedDataTransferLength: 0,
        cmdSN: 0, expStatSN: 0, cdb: Buffer.alloc(16), bidiReadLength: null,
        dataSegmentLength: 0,
      }));
    }
    this.ittOfSlot = new Uint32Array(slots).fill(C.RESERVED_TAG);
    this.requests = new Array(slots);
    this.writeData = randomBytes(maxLengthBytes);
  }

  /** Sends the request of `slot` (queued until the command window opens). */
  submit(slot: number, request: IoRequest): void {
    this.requests[slot] = request;
    if (serialGreater(this.cmdSN, this.maxCmdSN)) {
      this.waitingForWindow.push(slot);
      return;
    }
    this.sendCommand(slot);
    if (!this.inReceiveTurn) this.flush();
  }

  async logout(timeoutMs: number): Promise<void> {
    if (this.failure) return;
    const itt = this.nextItt();
    const header = codec.encodeLogoutRequest({ immediate: true,
      reasonCode: C.LOGOUT_REASON_CLOSE_SESSION, itt, cid: 0, cmdSN: this.cmdSN,
      expStatSN: this.expStatSN });
    const closed = new Promise<void>((resolve) => this.socket.once("close", () => resolve()));
    this.socket.write(header);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
    this.close();
  }

  close(): void {
    this.failure ??= new Error("closed");
    this.socket.destroy();
  }

  // ---- login ----

  private async login(targetIqn: string, initiatorName: string): Promise<void> {
    let stage = C.STAGE_SECURITY_NEGOTIATION;
    let keys: TextPair[] = [["InitiatorName", initiatorName], ["SessionType", "Normal"],
      ["TargetName", targetIqn], ["AuthMethod", "None"]];
    const offered = new Map<string, string>();
    for (let round = 0; round < LOGIN_ROUNDS_MAX; round++) {
      const security = stage === C.STAGE_SECURITY_NEGOTIATION;
      const nsg = security ? C.STAGE_LOGIN_OPERATIONAL_NEGOTIATION : C.STAGE_FULL_FEATURE_PHASE;
      for (const [key, value] of keys) offered.set(key, value);
      const response = await this.loginRound(stage, nsg, keys);
      const answers = new Map(parseTextData(response.data));
      if (response.csg === C.STAGE_LOGIN_OPERATIONAL_NEGOTIATION) this.adopt(answers);
      keys = security ? [] : [...answers].filter(([key]) =>
        !offered.has(key) && !DECLARATIVE_KEYS.has(key));
      if (!response.transit) continue;
      if (response.nsg === C.STAGE_FULL_FEATURE_PHASE) return;
      stage = response.nsg;
      if (stage === C.STAGE_LOGIN_OPERATIONAL_NEGOTIATION) keys = operationalKeys();
    }
    throw new Error("login did not reach the full feature phase");
  }

  private async loginRound(csg: number, nsg: number, keys: TextPair[]) {
    const data = encodeTextData(keys);
    const itt = this.nextItt();
    const header = codec.encodeLoginRequest({ immediate: true, transit: true, continue: false,
      csg, nsg, versionMax: C.ISCSI_VERSION, versionMin: C.ISCSI_VERSION, isid: this.isid,
      tsih: 0, itt, cid: 0, cmdSN: this.cmdSN, expStatSN: this.expStatSN,
      dataSegmentLength: data.length });
    const pduPromise = new Promise<ReceivedPdu>((resolve) => (this.loginWaiter = resolve));
    this.socket.write(Buffer.concat([header, data, Buffer.alloc((4 - (data.length % 4)) % 4)]));
    const pdu = await Promise.race([pduPromise, this.failed().then((e) => Promise.reject(e))]);
    const response = codec.decodeLoginResponse(codec.pduFromParts(pdu.bhs, pdu.data));
    if (response.statusClass !== C.LOGIN_STATUS_SUCCESS) {
      throw new Error(`login refused: class ${response.statusClass} detail ` +
        `${response.statusDetail}`);
    }
    if (response.continue) throw new Error("login response continuation is not supported");
    this.expStatSN = (response.statSN + 1) >>> 0;
    this.maxCmdSN = response.maxCmdSN;
    return response;
  }

  private adopt(answers: Map<string, string>): void {
    const n = this.negotiated;
    const number = (key: string, current: number) => Number(answers.get(key) ?? current);
    const yes = (key: string, current: boolean) =>
      answers.has(key) ? answers.get(key) === "Yes" : current;
    this.negotiated = {
      maxSendDataSegmentBytes: number("MaxRecvDataSegmentLength", n.maxSendDataSegmentBytes),
      initialR2T: yes("InitialR2T", n.initialR2T),
      immediateData: yes("ImmediateData", n.immediateData),
      firstBurstBytes: number("FirstBurstLength", n.firstBurstBytes),
      maxBurstBytes: number("MaxBurstLength", n.maxBurstBytes),
    };
  }

  // ---- full feature phase: sending ----

  private sendCommand(slot: number): void {
    const request = this.requests[slot];
    const header = this.templates[slot];
    const itt = this.nextItt();
    this.ittOfSlot[slot] = itt;
    const n = this.negotiated;
    const length = request.lengthBytes;
    const immediateBytes = request.write && n.immediateData
      ? Math.min(length, n.firstBurstBytes, n.maxSendDataSegmentBytes) : 0;
    const unsolicitedEnd = request.write && !n.initialR2T
      ? Math.min(length, n.firstBurstBytes) : immediateBytes;
    header[1] = (unsolicitedEnd === immediateBytes ? SCSI_FLAG_FINAL : 0) |
      (request.write ? SCSI_FLAG_WRITE : SCSI_FLAG_READ) | C.TASK_ATTR_SIMPLE;
    header.writeUIntBE(immediateBytes, 5, 3);
    header.writeUInt32BE(itt, 16);
    header.writeUInt32BE(length, 20);
    header.writeUInt32BE(this.cmdSN, 24);
    this.cmdSN = (this.cmdSN + 1) >>> 0;
    header.writeUInt32BE(this.expStatSN, 28);
    header[32] = request.write ? OPCODE_WRITE_10 : OPCODE_READ_10;
    header.writeUInt32BE(request.lba, 34);
    header.writeUInt16BE(request.blocks, 39);
    this.queueOut(header, immediateBytes > 0 ? this.writeData.subarray(0, immediateBytes) : null);
    if (unsolicitedEnd > immediateBytes) {
      this.sendDataOut(itt, C.RESERVED_TAG, immediateBytes, unsolicitedEnd);
    }
  }

  /** Data-Out PDUs for bytes [from, to) of the command's data, one sequence. */
  private sendDataOut(itt: number, ttt: number, from: number, to: number): void {
    const step = this.negotiated.maxSendDataSegmentBytes;
    let dataSN = 0;
    for (let at = from; at < to; at += step) {
      const pieceBytes = Math.min(step, to - at);
      const header = codec.encodeDataOut({ final: at + pieceBytes === to, lun: 0, itt, ttt,
        expStatSN: this.expStatSN, dataSN: dataSN++, bufferOffset: at,
        dataSegmentLength: pieceBytes });
      header.set(this.templates[0].subarray(8, 16), 8); // the LUN field of our commands
      this.queueOut(header, this.writeData.subarray(0, pieceBytes));
    }
  }

  private queueOut(header: Buffer, data: Buffer | null): void {
    this.outgoing.push(header);
    this.outgoingBytes += header.length;
    if (data === null || data.length === 0) return;
    this.outgoing.push(data);
    const padBytes = (4 - (data.length % 4)) % 4;
    if (padBytes > 0) this.outgoing.push(Buffer.alloc(padBytes));
    this.outgoingBytes += data.length + padBytes;
  }

  /** Writes everything queued as one buffer (templates are reused: copy them now). */
  private flush(): void {
    if (this.outgoing.length === 0 || this.failure) return;
    const joined = Buffer.concat(this.outgoing, this.outgoingBytes);
    this.outgoing.length = 0;
    this.outgoingBytes = 0;
    this.socket.write(joined);
  }

  private nextItt(): number {
    const itt = this.ittCounter;
    this.ittCounter = this.ittCounter >= 0x7fffffff ? 1 : this.ittCounter + 1;
    return itt;
  }

  // ---- receiving ----

  private receive(chunk: Buffer): void {
    this.inReceiveTurn = true;
    try {
      this.parse(chunk);
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
    }
    this.inReceiveTurn = false;
    this.flush();
  }

  /** Resumable across any split of the stream: header, then payload (kept or skipped). */
  private parse(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.headerFill < BHS_BYTES) {
        const take = Math.min(BHS_BYTES - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + take);
        this.headerFill += take;
        at += take;
        if (this.headerFill < BHS_BYTES) return;
        this.startPayload();
      }
      if (this.dataLeft > 0) {
        const take = Math.min(this.dataLeft, chunk.length - at);
        if (this.dataKeep !== null) {
          chunk.copy(this.dataKeep, this.dataFill, at, at + take);
          this.dataFill += take;
        }
        this.dataLeft -= take;
        at += take;
        if (this.dataLeft > 0) return;
      }
      this.headerFill = 0;
      this.dispatch();
    }
  }

  private startPayload(): void {
    const bhs = this.header;
    const ahsBytes = bhs[4] * 4;
    const dataBytes = (bhs[5] << 16) | (bhs[6] << 8) | bhs[7];
    this.dataLeft = ahsBytes + ((dataBytes + 3) & ~3);
    this.dataFill = 0;
    const opcode = bhs[0] & 0x3f;
    this.dataKeep = opcode === C.OP_SCSI_DATA_IN || this.dataLeft === 0
      ? null : Buffer.alloc(this.dataLeft);
  }

  private dispatch(): void {
    const bhs = this.header;
    const opcode = bhs[0] & 0x3f;
    const maxCmdSN = bhs.readUInt32BE(32);
    if (opcode !== C.OP_LOGIN_RESPONSE) this.advanceWindow(maxCmdSN);
    switch (opcode) {
      case C.OP_SCSI_DATA_IN:
        if ((bhs[1] & C.DATA_IN_FLAG_STATUS) !== 0) this.complete(bhs[3]);
        return;
      case C.OP_SCSI_RESPONSE:
        this.complete(bhs[2] !== 0 ? 0x100 | bhs[2] : bhs[3]);
        return;
      case C.OP_R2T:
        return this.answerR2t();
      case C.OP_NOP_IN:
        return this.answerNopIn();
      case C.OP_LOGIN_RESPONSE: {
        const waiter = this.loginWaiter;
        this.loginWaiter = null;
        const ahsBytes = bhs[4] * 4;
        const dataBytes = (bhs[5] << 16) | (bhs[6] << 8) | bhs[7];
        const data = (this.dataKeep ?? Buffer.alloc(0)).subarray(ahsBytes, ahsBytes + dataBytes);
        waiter?.({ bhs: Buffer.from(bhs), data });
        return;
      }
      case C.OP_ASYNC_MESSAGE:
      case C.OP_LOGOUT_RESPONSE:
        return;
      default:
        throw new Error(`unexpected PDU opcode 0x${opcode.toString(16)} from the target`);
    }
  }

  private complete(status: number): void {
    const bhs = this.header;
    this.expStatSN = (bhs.readUInt32BE(24) + 1) >>> 0;
    const itt = bhs.readUInt32BE(16);
    const slot = this.slotOf(itt);
    this.ittOfSlot[slot] = C.RESERVED_TAG;
    if (status === SCSI_STATUS_CHECK_CONDITION && this.senseKey() === SENSE_KEY_UNIT_ATTENTION) {
      // A unit attention (power on, reset) reports an event, not a failure: send it again.
      return this.sendCommand(slot);
    }
    this.onComplete(slot, status, performance.now());
  }

  /** Sense key of the SCSI Response being dispatched (fixed or descriptor format), or -1. */
  private senseKey(): number {
    const data = this.dataKeep;
    if (data === null || data.length < 4 || data.readUInt16BE(0) < 3) return -1;
    const responseCode = data[2] & 0x7f;
    return responseCode >= 0x72 ? data[3] & 0x0f : data[4] & 0x0f;
  }

  private slotOf(itt: number): number {
    // Slots are few (a queue depth): a linear scan beats a Map here.
    const itts = this.ittOfSlot;
    for (let slot = 0; slot < itts.length; slot++) if (itts[slot] === itt) return slot;
    throw new Error(`response for unknown ITT 0x${itt.toString(16)}`);
  }

  private answerR2t(): void {
    const bhs = this.header;
    const itt = bhs.readUInt32BE(16);
    const ttt = bhs.readUInt32BE(20);
    const offset = bhs.readUInt32BE(40);
    const desired = bhs.readUInt32BE(44);
    const request = this.requests[this.slotOf(itt)];
    if (offset + desired > request.lengthBytes) throw new Error("R2T beyond the command's data");
    this.sendDataOut(itt, ttt, offset, offset + desired);
  }

  private answerNopIn(): void {
    const ttt = this.header.readUInt32BE(20);
    if (ttt === C.RESERVED_TAG) return;
    const reply = codec.encodeNopOut({ immediate: true, lun: 0,
      itt: C.RESERVED_TAG, ttt, cmdSN: this.cmdSN, expStatSN: this.expStatSN,
      dataSegmentLength: 0 });
    this.header.copy(reply, 8, 8, 16); // echo the LUN field
    this.queueOut(reply, null);
  }

  private advanceWindow(maxCmdSN: number): void {
    if (!serialGreater(maxCmdSN, this.maxCmdSN)) return;
    this.maxCmdSN = maxCmdSN;
    while (this.waitingForWindow.length > 0 && !serialGreater(this.cmdSN, this.maxCmdSN)) {
      this.sendCommand(this.waitingForWindow.shift() as number);
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.socket.destroy();
    this.failureWaiter?.(error);
  }
}

function operationalKeys(): TextPair[] {
  return [
    ["HeaderDigest", "None"], ["DataDigest", "None"],
    ["MaxRecvDataSegmentLength", String(OUR_MAX_RECV_DATA_SEGMENT_BYTES)],
    ["InitialR2T", "No"], ["ImmediateData", "Yes"],
    ["FirstBurstLength", String(OUR_FIRST_BURST_BYTES)],
    ["MaxBurstLength", String(OUR_MAX_BURST_BYTES)],
    ["MaxConnections", "1"], ["MaxOutstandingR2T", "1"], ["DataPDUInOrder", "Yes"],
    ["DataSequenceInOrder", "Yes"], ["ErrorRecoveryLevel", "0"], ["DefaultTime2Wait", "2"],
    ["DefaultTime2Retain", "0"],
  ];
}
