// One iSCSI connection: reads PDUs, runs the login phase, then the full feature phase of its
// session. Numbering (StatSN) and the wire belong here; commands go through the session's CmdSN
// window, then to the SCSI target device of the session's target.
import * as C from "./constants.ts";
import * as codec from "./pdu.ts";
import type {
  DataOutPdu, NopOutPdu, Pdu, ScsiCommandPdu, TextRequestPdu,
} from "./pdu-types.ts";
import { PduReader, type PduReaderError, pduWireParts } from "./pdu-reader.ts";
import type { PduTransport } from "./transport.ts";
import { LoginStateMachine, type LoginDone } from "./login/login-session.ts";
import type { SessionParams, ConnectionParams } from "./login/negotiation.ts";
import { COMMAND_WINDOW_DEPTH, Session, type IscsiTask } from "./session.ts";
import type { IscsiNodeContext, TargetRuntime } from "./target-runtime.ts";
import { DataOutError, WriteCollector } from "./write-collector.ts";
import { planResponse } from "./response-builder.ts";
import { TextExchange } from "./text-exchange.ts";
import { handleTaskManagement } from "./task-management.ts";
import type { PortalConfig } from "../mgmt/config.ts";
import type { ScsiResult } from "../scsi/types.ts";
import { checkCondition } from "../scsi/sense.ts";
import { Asc, SenseKey } from "../scsi/constants.ts";
import { log } from "../mgmt/log.ts";

/** Login PDUs are small; this bounds what a peer can make us buffer before it is authenticated. */
const LOGIN_MAX_DATA_SEGMENT = 8192;
/** Largest write we buffer for one command; larger ones get CHECK CONDITION. */
export const MAX_TASK_BYTES = 64 * 1024 * 1024;
const LOGOUT_DRAIN_TIMEOUT_MS = 10_000;

type Phase = "login" | "full" | "closed";

export class Connection {
  private phase: Phase = "login";
  private statSN = 0;
  private session: Session | null = null;
  private sessionParams: SessionParams | null = null;
  private connectionParams: ConnectionParams | null = null;
  private readonly reader: PduReader;
  private readonly login: LoginStateMachine;
  private readonly text = new TextExchange();
  private digests = { header: false, data: false };
  private nextTtt = 1;
  private lastReceiveMs = Date.now();
  private pingSentMs: number | null = null;
  private readonly pingTimer: ReturnType<typeof setInterval>;
  private closeWaiters: Array<() => void> = [];

  constructor(
    private readonly transport: PduTransport,
    private readonly ctx: IscsiNodeContext,
    private readonly portal: PortalConfig,
  ) {
    this.reader = new PduReader({
      headerDigest: false,
      dataDigest: false,
      maxDataSegmentLength: LOGIN_MAX_DATA_SEGMENT,
      onPdu: (pdu) => this.onPdu(pdu),
      onError: (err) => this.onReaderError(err),
    });
    this.login = new LoginStateMachine({
      portal: {
        portalGroupTag: portal.portalGroupTag,
        address: portal.address,
        port: portal.port,
      },
      findTarget: (iqn) => this.findTargetForLogin(iqn),
      discoveryChap: ctx.discoveryChap,
      allocateTsih: () => ctx.allocateTsih(),
    });
    const tickMs = Math.max(100, Math.min(ctx.nopInIntervalMs, ctx.nopInTimeoutMs) / 2);
    this.pingTimer = setInterval(() => this.checkLiveness(), tickMs);
  }

  get closed(): boolean {
    return this.phase === "closed";
  }

  /** Bytes from the socket. */
  receive(chunk: Buffer): void {
    if (this.phase === "closed") return;
    this.lastReceiveMs = Date.now();
    this.pingSentMs = null;
    this.reader.push(chunk);
  }

  /** The socket closed. */
  closedByPeer(): void {
    this.teardown();
  }

  whenClosed(): Promise<void> {
    if (this.phase === "closed") return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  /** Asks the initiator to log out (Async Message, event 1); it has timeoutS seconds. */
  requestLogout(timeoutS: number): void {
    if (this.phase !== "full" || this.session === null) return this.abort();
    const numbers = this.nextStatus();
    const bhs = codec.encodeAsyncMessage({
      ...numbers,
      lun: 0,
      asyncEvent: C.ASYNC_EVENT_REQUEST_LOGOUT,
      asyncVCode: 0,
      parameter1: 0,
      parameter2: 0,
      parameter3: timeoutS,
      dataSegmentLength: 0,
    });
    this.sendPdu(bhs);
  }

  /** Closes after the PDUs already queued are written; tasks in flight are dropped. */
  closeGracefully(): void {
    if (this.phase === "closed") return;
    this.transport.end();
    this.teardown();
  }

  /** Closes the connection now; tasks in flight are dropped. */
  abort(): void {
    if (this.phase === "closed") return;
    this.transport.destroy();
    this.teardown();
  }

  // ---- receive path ----

  private onPdu(pdu: Pdu): void {
    if (this.phase === "closed") return;
    try {
      if (this.phase === "login") this.handleLoginPdu(pdu);
      else this.handleFullFeaturePdu(pdu);
    } catch (err) {
      if (!(err instanceof codec.PduFormatError)) throw err;
      // A malformed login PDU ends the login; later ones are rejected and the session goes on.
      if (this.phase === "login") return this.abort();
      this.reject(pdu.bhs, err.rejectReason);
    }
  }

  private onReaderError(err: PduReaderError): void {
    if (err.code === "DATA_DIGEST" && this.phase === "full" && err.bhs !== undefined) {
      this.reject(err.bhs, C.REJECT_DATA_DIGEST_ERROR);
      return;
    }
    log.info("connection dropped", { remote: this.transport.remoteAddress, code: err.code });
    this.abort();
  }

  private handleLoginPdu(pdu: Pdu): void {
    if (codec.pduOpcode(pdu.bhs) !== C.OP_LOGIN_REQUEST) {
      log.info("non-login PDU during login", { remote: this.transport.remoteAddress });
      return this.abort();
    }
    const request = codec.decodeLoginRequest(pdu);
    const step = this.login.handle(request);
    const bhs = codec.encodeLoginResponse({
      ...step.response,
      statSN: this.statSN,
      expCmdSN: request.cmdSN,
      maxCmdSN: (request.cmdSN + COMMAND_WINDOW_DEPTH - 1) >>> 0,
      dataSegmentLength: step.data.length,
    });
    this.statSN = (this.statSN + 1) >>> 0;
    this.sendPdu(bhs, step.data);
    if (step.fail) {
      this.closeGracefully();
      return;
    }
    if (step.done !== null) this.enterFullFeature(step.done, request.cmdSN);
  }

  private enterFullFeature(done: LoginDone, firstCmdSN: number): void {
    const target = done.targetName === undefined ? null :
      this.ctx.targets.get(done.targetName.toLowerCase());
    if (target === undefined) throw new Error(`login finished for unknown ${done.targetName}`);
    if (target !== null) this.reinstate(done, target);
    this.session = new Session({
      type: done.sessionType,
      initiatorName: done.initiatorName,
      isid: done.isid,
      tsih: done.tsih,
      portalGroupTag: this.portal.portalGroupTag,
      relativeTargetPortId: this.portal.relativeTargetPortId,
    }, target, firstCmdSN, this.ctx.targetPortGroupId);
    this.session.onClose((graceful) => (graceful ? this.closeGracefully() : this.abort()));
    target?.sessions.add(this.session);
    this.ctx.sessions.add(this.session);
    this.sessionParams = done.sessionParams;
    this.connectionParams = done.connectionParams;
    this.digests = {
      header: done.connectionParams.headerDigest,
      data: done.connectionParams.dataDigest,
    };
    this.reader.setDigests(this.digests.header, this.digests.data);
    this.reader.setMaxDataSegmentLength(done.connectionParams.targetMaxRecvDataSegmentLength);
    this.phase = "full";
    log.info("session started", {
      type: done.sessionType,
      initiator: done.initiatorName,
      target: done.targetName,
      tsih: done.tsih,
      remote: this.transport.remoteAddress,
    });
  }

  /** A new session from the same initiator port to the same target replaces the old one. */
  private reinstate(done: LoginDone, target: TargetRuntime): void {
    for (const old of target.sessions) {
      if (old.sameInitiatorPort(done.initiatorName, done.isid, target)) {
        log.info("session reinstated", { initiator: done.initiatorName, tsih: old.identity.tsih });
        old.close();
      }
    }
  }

  private handleFullFeaturePdu(pdu: Pdu): void {
    const session = this.session!;
    const opcode = codec.pduOpcode(pdu.bhs);
    switch (opcode) {
      case C.OP_SCSI_DATA_OUT:
        return this.handleDataOut(codec.decodeDataOut(pdu), pdu.bhs);
      case C.OP_SCSI_COMMAND: {
        const command = codec.decodeScsiCommand(pdu);
        this.windowed(pdu, command.cmdSN, command.immediate,
          () => this.handleScsiCommand(command, pdu.bhs));
        return;
      }
      case C.OP_NOP_OUT: {
        const nop = codec.decodeNopOut(pdu);
        // A NOP-Out answering our ping, or one asking for no answer, carries no new CmdSN.
        if (nop.itt === C.RESERVED_TAG) return;
        this.windowed(pdu, nop.cmdSN, nop.immediate, () => this.answerNop(nop));
        return;
      }
      case C.OP_TASK_MGMT_REQUEST: {
        const tmf = codec.decodeTaskMgmtRequest(pdu);
        this.windowed(pdu, tmf.cmdSN, tmf.immediate, () => {
          void handleTaskManagement(this.taskManagementHost(), session, tmf);
        });
        return;
      }
      case C.OP_TEXT_REQUEST: {
        const request = codec.decodeTextRequest(pdu);
        this.windowed(pdu, request.cmdSN, request.immediate,
          () => this.handleText(request, pdu.bhs));
        return;
      }
      case C.OP_LOGOUT_REQUEST: {
        const request = codec.decodeLogoutRequest(pdu);
        this.windowed(pdu, request.cmdSN, request.immediate,
          () => void this.handleLogout(request.itt, request.reasonCode));
        return;
      }
      case C.OP_SNACK_REQUEST:
        return this.reject(pdu.bhs, C.REJECT_SNACK_REJECT);
      case C.OP_LOGIN_REQUEST:
        return this.reject(pdu.bhs, C.REJECT_PROTOCOL_ERROR);
      default:
        return this.reject(pdu.bhs, C.REJECT_COMMAND_NOT_SUPPORTED);
    }
  }

  private windowed(pdu: Pdu, cmdSN: number, immediate: boolean, deliver: () => void): void {
    const accepted = this.session!.window.accept(cmdSN, immediate, deliver);
    if (!accepted) {
      log.debug("command outside the CmdSN window dropped", {
        cmdSN,
        expCmdSN: this.session!.window.expected,
        opcode: codec.pduOpcode(pdu.bhs),
      });
    }
  }

  // ---- SCSI commands ----

  private handleScsiCommand(command: ScsiCommandPdu, bhs: Buffer): void {
    const session = this.session!;
    if (session.target === null) return this.reject(bhs, C.REJECT_PROTOCOL_ERROR);
    if (session.tasks.has(command.itt)) {
      return this.reject(bhs, C.REJECT_TASK_IN_PROGRESS);
    }
    const params = this.sessionParams!;
    const immediateBytes = command.data.length;
    if (immediateBytes > 0 && (!command.write || !params.immediateData ||
      immediateBytes > params.firstBurstLength)) {
      return this.reject(bhs, C.REJECT_PROTOCOL_ERROR);
    }
    const task: IscsiTask = { itt: command.itt, command, collector: null, aborted: false,
      execution: null };
    if (command.write && command.expectedDataTransferLength > MAX_TASK_BYTES) {
      return this.sendResult(task, checkCondition({
        key: SenseKey.ILLEGAL_REQUEST,
        additional: Asc.INVALID_FIELD_IN_CDB,
      }));
    }
    session.tasks.set(command.itt, task);
    if (!command.write || command.expectedDataTransferLength === 0) return this.execute(task);
    try {
      task.collector = new WriteCollector(command.expectedDataTransferLength, command.data,
        command.final, params, () => this.allocateTtt());
    } catch (err) {
      session.tasks.delete(command.itt);
      if (err instanceof DataOutError) return this.reject(bhs, C.REJECT_PROTOCOL_ERROR);
      throw err;
    }
    if (task.collector.complete) return this.execute(task);
    this.sendR2ts(task);
  }

  private handleDataOut(dataOut: DataOutPdu, bhs: Buffer): void {
    const task = this.session!.tasks.get(dataOut.itt);
    if (task === undefined || task.collector === null || task.execution !== null) {
      // Data for a task that was aborted or already complete: RFC 7143 lets us drop it.
      log.debug("Data-Out for no task waiting for data", { itt: dataOut.itt });
      return;
    }
    try {
      task.collector.accept(dataOut);
    } catch (err) {
      if (!(err instanceof DataOutError)) throw err;
      // The Reject fails the command at the initiator; the task ends here without status.
      log.info("Data-Out protocol error, task dropped", { itt: dataOut.itt, reason: err.message });
      task.aborted = true;
      this.session!.tasks.delete(dataOut.itt);
      this.reject(bhs, C.REJECT_PROTOCOL_ERROR);
      return;
    }
    if (task.collector.complete) return this.execute(task);
    this.sendR2ts(task);
  }

  private sendR2ts(task: IscsiTask): void {
    const session = this.session!;
    for (const r2t of task.collector!.nextR2ts()) {
      const bhs = codec.encodeR2t({
        lun: wireLun(task.command.lun),
        itt: task.itt,
        ttt: r2t.ttt,
        statSN: this.statSN,
        expCmdSN: session.window.expected,
        maxCmdSN: session.window.max,
        r2tSN: r2t.r2tSN,
        bufferOffset: r2t.bufferOffset,
        desiredDataTransferLength: r2t.desiredDataTransferLength,
      });
      this.sendPdu(bhs);
    }
  }

  private execute(task: IscsiTask): void {
    const session = this.session!;
    const target = session.target!;
    const command = task.command;
    task.execution = (async () => {
      let result: ScsiResult;
      try {
        result = await target.scsi.execute({
          lun: command.lun,
          cdb: command.cdb,
          nexus: session.nexus!,
          taskAttribute: command.taskAttribute,
          expectedDataTransferLength: command.expectedDataTransferLength,
          read: command.read,
          write: command.write,
          dataOut: task.collector?.buffer ?? Buffer.alloc(0),
        });
      } catch (err) {
        log.error("SCSI command failed inside the target", {
          opcode: command.cdb[0],
          error: String(err instanceof Error ? err.stack : err),
        });
        result = checkCondition({
          key: SenseKey.HARDWARE_ERROR,
          additional: Asc.INTERNAL_TARGET_FAILURE,
        });
      }
      if (task.aborted || this.phase === "closed") return;
      session.tasks.delete(task.itt);
      this.sendResult(task, result);
    })().catch((err: unknown) => {
      log.error("sending a command result failed, dropping connection", {
        error: String(err instanceof Error ? err.stack : err),
      });
      this.abort();
    });
  }

  private sendResult(task: IscsiTask, result: ScsiResult): void {
    const plan = planResponse(task.itt, wireLun(task.command.lun), result,
      this.connectionParams!.initiatorMaxRecvDataSegmentLength,
      this.sessionParams!.maxBurstLength, task.collector?.r2tsSent ?? 0);
    for (const dataIn of plan.dataIns) {
      const numbers = dataIn.fields.statusPresent ? this.nextStatus() : this.currentStatus();
      this.sendPdu(codec.encodeDataIn({ ...dataIn.fields, ...numbers }), dataIn.data);
    }
    if (plan.response === null) return;
    const bhs = codec.encodeScsiResponse({ ...plan.response, ...this.nextStatus() });
    this.sendPdu(bhs, plan.responseData);
  }

  // ---- other requests ----

  private answerNop(nop: NopOutPdu): void {
    const bhs = codec.encodeNopIn({
      ...this.nextStatus(),
      rawLun: nop.rawLun,
      itt: nop.itt,
      ttt: C.RESERVED_TAG,
      dataSegmentLength: nop.data.length,
    });
    this.sendPdu(bhs, nop.data);
  }

  private handleText(request: TextRequestPdu, requestBhs: Buffer): void {
    const reply = this.text.handle(request, {
      maxSegmentBytes: this.connectionParams!.initiatorMaxRecvDataSegmentLength,
      allocateTtt: () => this.allocateTtt(),
      targets: this.ctx.targets,
      portals: this.ctx.portals,
      initiatorName: this.session!.identity.initiatorName,
      sessionTarget: this.session!.target,
    });
    if (reply.reject) return this.reject(requestBhs, C.REJECT_PROTOCOL_ERROR);
    const bhs = codec.encodeTextResponse({
      ...this.nextStatus(),
      final: reply.final,
      continue: reply.continue,
      lun: wireLun(request.lun),
      itt: request.itt,
      ttt: reply.ttt,
      dataSegmentLength: reply.data.length,
    });
    this.sendPdu(bhs, reply.data);
  }

  private async handleLogout(itt: number, reasonCode: number): Promise<void> {
    const session = this.session!;
    if (reasonCode === C.LOGOUT_REASON_REMOVE_CONNECTION_FOR_RECOVERY) {
      return this.sendLogoutResponse(itt, C.LOGOUT_RESP_RECOVERY_NOT_SUPPORTED);
    }
    await settleWithin([...session.tasks.values()].map((t) => t.execution),
      LOGOUT_DRAIN_TIMEOUT_MS);
    if (this.phase === "closed") return;
    this.sendLogoutResponse(itt, C.LOGOUT_RESP_CLOSED_SUCCESSFULLY);
    log.info("session logged out", { tsih: session.identity.tsih });
    this.closeGracefully();
  }

  private sendLogoutResponse(itt: number, response: number): void {
    const bhs = codec.encodeLogoutResponse({
      ...this.nextStatus(),
      response,
      itt,
      time2Wait: 0,
      time2Retain: 0,
    });
    this.sendPdu(bhs);
  }

  // ---- liveness ----

  private checkLiveness(): void {
    if (this.phase !== "full") return;
    const now = Date.now();
    if (this.pingSentMs !== null) {
      if (now - this.pingSentMs >= this.ctx.nopInTimeoutMs) {
        log.info("initiator did not answer NOP-In, dropping connection", {
          remote: this.transport.remoteAddress,
        });
        this.abort();
      }
      return;
    }
    if (now - this.lastReceiveMs < this.ctx.nopInIntervalMs) return;
    this.pingSentMs = now;
    const bhs = codec.encodeNopIn({
      ...this.currentStatus(),
      rawLun: Buffer.alloc(8),
      itt: C.RESERVED_TAG,
      ttt: this.allocateTtt(),
      dataSegmentLength: 0,
    });
    this.sendPdu(bhs);
  }

  // ---- shared helpers ----

  /** Access for task management, which reaches across sessions of the same target. */
  private taskManagementHost() {
    return {
      respond: (itt: number, response: number) => {
        if (this.phase === "closed") return;
        const bhs = codec.encodeTaskMgmtResponse({ ...this.nextStatus(), response, itt });
        this.sendPdu(bhs);
      },
      closeSessionsAfterResponse: (sessions: Session[]) => {
        for (const session of sessions) session.close(true);
      },
    };
  }

  private reject(rejectedBhs: Buffer, reason: number): void {
    const bhs = codec.encodeReject({
      ...this.nextStatus(),
      reason,
      dataSN: 0,
      dataSegmentLength: rejectedBhs.length,
    });
    this.sendPdu(bhs, rejectedBhs);
  }

  private allocateTtt(): number {
    const ttt = this.nextTtt;
    this.nextTtt = this.nextTtt >= 0x7fffffff ? 1 : this.nextTtt + 1;
    return ttt;
  }

  /** StatSN numbers for a PDU that carries status: StatSN advances. */
  private nextStatus(): { statSN: number; expCmdSN: number; maxCmdSN: number } {
    const numbers = this.currentStatus();
    this.statSN = (this.statSN + 1) >>> 0;
    return numbers;
  }

  private currentStatus(): { statSN: number; expCmdSN: number; maxCmdSN: number } {
    const window = this.session?.window;
    return {
      statSN: this.statSN,
      expCmdSN: window?.expected ?? 0,
      maxCmdSN: window?.max ?? 0,
    };
  }

  private sendPdu(bhs: Buffer, data: Buffer = EMPTY): void {
    this.transport.send(pduWireParts(bhs, data, this.digests));
  }

  private findTargetForLogin(iqn: string) {
    // Config names are normalised to lower case (RFC 3722); so is what the initiator sent.
    const target = this.ctx.targets.get(iqn.toLowerCase());
    if (target === undefined) return undefined;
    if (!target.config.portals.includes(this.portal.id)) return undefined;
    return {
      iqn: target.config.iqn,
      alias: target.config.alias,
      allowedInitiators: target.config.allowedInitiators,
      chap: target.config.chap,
      portalGroupTags: [this.portal.portalGroupTag],
    };
  }

  private teardown(): void {
    this.phase = "closed";
    clearInterval(this.pingTimer);
    const session = this.session;
    if (session !== null) {
      this.session = null;
      session.target?.sessions.delete(session);
      this.ctx.sessions.delete(session);
      session.close();
      if (session.nexus !== null) session.target!.scsi.nexusLost(session.nexus);
    }
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

const EMPTY = Buffer.alloc(0);

async function settleWithin(promises: Array<Promise<void> | null>, timeoutMs: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
  await Promise.race([Promise.allSettled(promises.filter((p) => p !== null)), timeout]);
  clearTimeout(timer);
}

/** A LUN we could not decode is answered as LUN 0: the field is only echoed in responses. */
function wireLun(lun: number): number {
  return lun === codec.LUN_NOT_ADDRESSABLE ? 0 : lun;
}
