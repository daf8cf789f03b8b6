// One fuzz connection over a raw socket: optionally a valid login to the full feature phase,
// then a burst of fuzz cases, then a half-close; reports how the target ended it.
import { connect, type Socket } from "node:net";
import { fullFeatureCase, fullFeatureEnding, type FuzzSession } from "./fuzz-full-feature.ts";
import {
  randomIsid,
  securityStageKeys,
  type FuzzCase,
  type LoginNames,
} from "./fuzz-login.ts";
import { Prng } from "./prng.ts";
import {
  buildPdu,
  LOGIN_STAGE,
  loginRequest,
  lunField,
  NO_TASK_TAG,
  OPCODE,
  parseLoginResponse,
  PduStreamReader,
  textKeys,
  type LoginResponse,
  type ReceivedPdu,
} from "./raw-pdu.ts";

const CONNECT_TIMEOUT_MS = 5_000;
const LOGIN_STEP_TIMEOUT_MS = 5_000;
const CLOSE_TIMEOUT_MS = 10_000;
const MAX_RESPONSE_DATA_BYTES = 16 << 20;
const MAX_LOGIN_STEPS = 4;
const ANSWER_TIMEOUT_MS = 1_000; // for an answer to a fuzz case or a fence
const FENCE_ITT_BASE = 0x80000000; // fence NOP-Outs' ITTs; the fuzzed commands count from 1

export type ConnectionOutcome = "reject" | "login failure" | "closed" | "hung";

export interface ConnectionReport {
  outcome: ConnectionOutcome;
  cases: FuzzCase[]; // sent on the connection while it was open
  confirmed: number; // of them, read by the target for sure (answered, or before a fence)
  responsePdus: number;
  malformedResponse?: string; // the target sent bytes that are not a target PDU
  validLoginRefused?: string; // full feature connections: why the valid login failed
}

export type ConnectionPlan =
  | { phase: "login"; fuzzCase: FuzzCase }
  | { phase: "full feature"; names: LoginNames; caseCount: number; lun: LunShape };

export interface LunShape {
  lun: number;
  blockCount: number;
  blockSizeBytes: number;
}

export interface Endpoint {
  host: string;
  port: number;
}

class FuzzSocket {
  responsePdus = 0;
  rejects = 0;
  loginFailures = 0;
  malformed: string | undefined;
  readonly closed: Promise<void>;
  private readonly reader = new PduStreamReader(MAX_RESPONSE_DATA_BYTES);
  private waiter: ((pdu: ReceivedPdu | undefined) => void) | undefined;
  private readonly queue: ReceivedPdu[] = [];
  private isClosed = false;

  constructor(readonly socket: Socket) {
    socket.on("error", () => {}); // a reset is one way for the target to end it; see close
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    this.closed = new Promise((resolve) => socket.once("close", () => {
      this.isClosed = true;
      this.waiter?.(undefined);
      resolve();
    }));
  }

  static open(endpoint: Endpoint): Promise<FuzzSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${endpoint.host}:${endpoint.port} timed out`));
      }, CONNECT_TIMEOUT_MS);
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new FuzzSocket(socket));
      });
    });
  }

  /** The next PDU, or undefined when the connection closed or nothing came in time. */
  nextPdu(timeoutMs: number): Promise<ReceivedPdu | undefined> {
    const queued = this.queue.shift();
    if (queued || this.isClosed) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      const finish = (pdu: ReceivedPdu | undefined): void => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(pdu);
      };
      this.waiter = finish;
    });
  }

  /** Reads PDUs until a NOP-In for `itt`; false if the connection closed or time ran out. */
  async awaitNopIn(itt: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pdu = await this.nextPdu(deadline - Date.now());
      if (!pdu) return false;
      if (pdu.opcode === OPCODE.nopIn && pdu.bhs.readUInt32BE(16) === itt) return true;
    }
  }

  /** Half-closes and waits for the target to close; false if it did not within the bound. */
  async endAndAwaitClose(): Promise<boolean> {
    this.socket.end();
    const timeout = new Promise<false>((resolve) => {
      const timer = setTimeout(() => resolve(false), CLOSE_TIMEOUT_MS);
      void this.closed.then(() => clearTimeout(timer));
    });
    const closedInTime = await Promise.race([this.closed.then(() => true), timeout]);
    if (!closedInTime) this.socket.destroy();
    return closedInTime;
  }

  private receive(chunk: Buffer): void {
    if (this.malformed) return;
    let pdus: ReceivedPdu[];
    try {
      pdus = this.reader.push(chunk);
    } catch (error) {
      this.malformed = (error as Error).message;
      return;
    }
    for (const pdu of pdus) {
      this.responsePdus++;
      if (pdu.opcode === OPCODE.reject) this.rejects++;
      if (pdu.opcode === OPCODE.loginResponse && pdu.bhs[36] !== 0) this.loginFailures++;
      if (this.waiter) this.waiter(pdu);
      else this.queue.push(pdu);
    }
  }
}

const OPERATIONAL_KEYS: Array<[string, string]> = [
  ["HeaderDigest", "None"], ["DataDigest", "None"], ["MaxRecvDataSegmentLength", "262144"],
  ["ErrorRecoveryLevel", "0"], ["InitialR2T", "Yes"], ["ImmediateData", "Yes"],
  ["MaxBurstLength", "262144"], ["FirstBurstLength", "65536"], ["MaxOutstandingR2T", "1"],
  ["DataPDUInOrder", "Yes"], ["DataSequenceInOrder", "Yes"], ["DefaultTime2Wait", "0"],
  ["DefaultTime2Retain", "0"], ["MaxConnections", "1"],
];

/** A plain, valid login through the security and operational stages; throws if refused. */
async function logIn(fuzz: FuzzSocket, names: LoginNames, prng: Prng): Promise<LoginResponse> {
  const isid = randomIsid(prng);
  const itt = prng.uint32();
  let stage: number = LOGIN_STAGE.security;
  let keysSentInStage = -1;
  let expStatSN = 0;
  for (let step = 0; step < MAX_LOGIN_STEPS; step++) {
    const keys = stage === LOGIN_STAGE.security ? securityStageKeys(names) : OPERATIONAL_KEYS;
    const nsg = stage === LOGIN_STAGE.security ? LOGIN_STAGE.operational : LOGIN_STAGE.fullFeature;
    fuzz.socket.write(loginRequest({
      transit: true, csg: stage, nsg, isid, tsih: 0, itt, cid: 0, cmdSN: 1, expStatSN,
      text: keysSentInStage === stage ? Buffer.alloc(0) : textKeys(keys),
    }));
    keysSentInStage = stage;
    const pdu = await fuzz.nextPdu(LOGIN_STEP_TIMEOUT_MS);
    if (!pdu || pdu.opcode !== OPCODE.loginResponse) {
      throw new Error(pdu ? `opcode 0x${pdu.opcode.toString(16)} during login` : "no answer");
    }
    const response = parseLoginResponse(pdu);
    if (response.statusClass !== 0) {
      throw new Error(`status ${response.statusClass}/${response.statusDetail}`);
    }
    expStatSN = (response.statSN + 1) >>> 0;
    if (response.transit && response.nsg === LOGIN_STAGE.fullFeature) return response;
    if (response.transit) stage = response.nsg;
  }
  throw new Error(`no full feature phase after ${MAX_LOGIN_STEPS} login requests`);
}

/** Runs one connection of the plan. Throws only if the TCP connection cannot be made. */
export async function runFuzzConnection(
  endpoint: Endpoint,
  plan: ConnectionPlan,
  prng: Prng,
): Promise<ConnectionReport> {
  const fuzz = await FuzzSocket.open(endpoint);
  let sent: SentCases = { cases: [], confirmed: 0 };
  let validLoginRefused: string | undefined;
  if (plan.phase === "login") {
    // The first bytes of a fresh connection, then the end of the stream: a target that closes
    // the connection in time has read them (counted below).
    fuzz.socket.write(plan.fuzzCase.bytes);
    sent = { cases: [plan.fuzzCase], confirmed: 0 };
  } else {
    try {
      const login = await logIn(fuzz, plan.names, prng);
      sent = await sendFullFeatureCases(fuzz, prng, plan, login);
    } catch (error) {
      validLoginRefused = (error as Error).message;
    }
  }
  const closedInTime = await fuzz.endAndAwaitClose();
  if (plan.phase === "login" && closedInTime) sent.confirmed = 1;
  return {
    outcome: !closedInTime ? "hung" : fuzz.rejects > 0 ? "reject"
      : fuzz.loginFailures > 0 ? "login failure" : "closed",
    ...sent,
    responsePdus: fuzz.responsePdus,
    malformedResponse: fuzz.malformed,
    validLoginRefused,
  };
}

interface SentCases {
  cases: FuzzCase[];
  confirmed: number; // of them, how many the target is known to have read
}

/**
 * Groups of 1 to 3 cases, each followed by a NOP-Out ping as a fence: its NOP-In proves the
 * target read the group. Without it (closed, or a mutated length swallowed the fence) the
 * connection is done, and its last group stays unconfirmed.
 */
async function sendFullFeatureCases(
  fuzz: FuzzSocket,
  prng: Prng,
  plan: Extract<ConnectionPlan, { phase: "full feature" }>,
  login: LoginResponse,
): Promise<SentCases> {
  const session: FuzzSession = {
    ...plan.lun,
    cmdSN: login.expCmdSN,
    expStatSN: (login.statSN + 1) >>> 0,
    nextItt: 1,
  };
  const sent: SentCases = { cases: [], confirmed: 0 };
  while (sent.cases.length < plan.caseCount) {
    const group = Array.from({ length: prng.between(1, 3) }, () => fullFeatureCase(prng, session));
    const fenceItt = (FENCE_ITT_BASE + sent.cases.length) >>> 0;
    fuzz.socket.write(Buffer.concat([...group.map((fuzzCase) => fuzzCase.bytes),
      nopOutFence(session, fenceItt)]));
    sent.cases.push(...group);
    if (!(await fuzz.awaitNopIn(fenceItt, ANSWER_TIMEOUT_MS))) return sent;
    sent.confirmed += group.length;
  }
  const ending = fullFeatureEnding(prng, session);
  fuzz.socket.write(ending.bytes);
  sent.cases.push(ending);
  return sent;
}

function nopOutFence(session: FuzzSession, itt: number): Buffer {
  return buildPdu({ opcode: OPCODE.nopOut, immediate: true, flags: 0x80,
    lun: lunField(session.lun), itt, word20: NO_TASK_TAG, cmdSN: session.cmdSN,
    expStatSN: session.expStatSN });
}
