// The login phase of one connection (RFC 7143 sections 6.3 and 11.12-11.13), without sockets:
// each Login Request yields the Login Response to send. Stages: security (0), operational (1),
// full feature (3). The caller fills StatSN/ExpCmdSN/MaxCmdSN and DataSegmentLength, sends the
// response, closes the connection when `fail` is set, and enters full feature when `done` is.
import { randomBytes as cryptoRandomBytes } from "node:crypto";
import * as C from "../constants.ts";
import type { LoginRequestPdu, LoginResponseFields } from "../pdu-types.ts";
import type { ChapConfig } from "../../mgmt/config.ts";
import { encodeTextData, parseTextData, type TextPair } from "../text-codec.ts";
import { ChapExchange } from "./chap.ts";
import { initiatorAllowed } from "./discovery.ts";
import {
  Negotiator, type ConnectionParams, type LoginStage, type SessionParams, type TargetLimits,
} from "./negotiation.ts";

export type SessionType = "Discovery" | "Normal";

export interface LoginTarget {
  iqn: string;
  alias?: string;
  /** Empty: every initiator may log in. */
  allowedInitiators: readonly string[];
  chap?: ChapConfig;
  portalGroupTags: readonly number[];
  /** Absent means online; "unavailable" asks the initiator to retry later (e.g. failover). */
  availability?: "online" | "removed" | "unavailable";
}

export interface LoginContext {
  portal: { portalGroupTag: number; address: string; port: number };
  findTarget(iqn: string): LoginTarget | undefined;
  discoveryChap?: ChapConfig;
  /** A fresh non-zero TSIH for the session being created. */
  allocateTsih(): number;
  randomBytes?(size: number): Buffer;
  /** Whether the initiator port has a session with this TSIH; absent: never. */
  sessionExists?(initiatorName: string, isid: Buffer, tsih: number): boolean;
  limits?: TargetLimits;
}

/** Login Response fields without the numbers and length the connection fills in. */
export type LoginResponse = Omit<
  LoginResponseFields, "statSN" | "expCmdSN" | "maxCmdSN" | "dataSegmentLength"
>;

export interface LoginDone {
  sessionType: SessionType;
  initiatorName: string;
  initiatorAlias?: string;
  /** Undefined for discovery sessions. */
  targetName?: string;
  isid: Buffer;
  tsih: number;
  cid: number;
  sessionParams: SessionParams;
  connectionParams: ConnectionParams;
}

export interface LoginStep {
  response: LoginResponse;
  /** Text data of the response. */
  data: Buffer;
  done: LoginDone | null;
  /** The login failed: send the response, then close the connection. */
  fail: boolean;
  /** Why the login failed, for the log; null otherwise. */
  reason: string | null;
}

/** The initiator may send 8192 bytes a PDU during login; this bounds a continued request. */
const MAX_LOGIN_TEXT_BYTES = 64 * 1024;
/** What the initiator accepts per PDU until its declaration takes effect (RFC 7143 13.12). */
const LOGIN_MAX_RESPONSE_BYTES = 8192;
const MAX_TSIH = 0xffff;

class LoginFailure extends Error {
  constructor(readonly statusClass: number, readonly statusDetail: number, reason: string) {
    super(reason);
  }
}

function initiatorError(detail: number, reason: string): LoginFailure {
  return new LoginFailure(C.LOGIN_STATUS_INITIATOR_ERROR, detail, reason);
}

interface Identity {
  initiatorName: string;
  initiatorAlias?: string;
  sessionType: SessionType;
  /** Null for discovery sessions. */
  target: LoginTarget | null;
  chap: ChapConfig | undefined;
}

/** "chap" while the CHAP exchange runs; "done" once the initiator is authenticated. */
type AuthState = "unchosen" | "chap" | "done";

export class LoginStateMachine {
  private readonly negotiator: Negotiator;
  private readonly randomBytes: (size: number) => Buffer;
  /** The first request's connection identity, which later requests must repeat. */
  private first: Pick<LoginRequestPdu, "isid" | "tsih" | "cid" | "versionMax" | "versionMin">
    | null = null;
  /** The stage the next request must be in, once the first request fixed it. */
  private stage: number | null = null;
  private continued: Buffer[] = [];
  private continuedBytes = 0;
  private identity: Identity | null = null;
  private auth: AuthState = "unchosen";
  private chap: ChapExchange | null = null;
  private finished = false;

  constructor(private readonly ctx: LoginContext) {
    this.negotiator = new Negotiator(ctx.limits);
    this.randomBytes = ctx.randomBytes ?? cryptoRandomBytes;
  }

  handle(request: LoginRequestPdu): LoginStep {
    if (this.finished) throw new Error("login request after the login phase ended");
    try {
      return this.step(request);
    } catch (err) {
      this.finished = true;
      if (err instanceof LoginFailure) {
        return this.failure(request, err.statusClass, err.statusDetail, err.message);
      }
      return this.failure(request, C.LOGIN_STATUS_TARGET_ERROR, C.LOGIN_DETAIL_TARGET_ERROR,
        `internal error: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private step(request: LoginRequestPdu): LoginStep {
    this.checkHeader(request);
    this.stage = request.csg;
    this.continuedBytes += request.data.length;
    if (this.continuedBytes > MAX_LOGIN_TEXT_BYTES) {
      throw initiatorError(C.LOGIN_DETAIL_INITIATOR_ERROR, "login text too long");
    }
    if (request.continue) {
      // RFC 7143 section 11.12: each part of a continued request gets an empty response.
      this.continued.push(Buffer.from(request.data));
      return this.success(request, false, 0, []);
    }
    const text = Buffer.concat([...this.continued, request.data]);
    this.continued = [];
    this.continuedBytes = 0;
    const pairs = parsePairs(text);
    const stage: LoginStage =
      request.csg === C.STAGE_SECURITY_NEGOTIATION ? "security" : "operational";
    const batch = this.negotiator.respond(pairs, stage);
    if (!batch.ok) throw initiatorError(C.LOGIN_DETAIL_INITIATOR_ERROR, batch.problem);

    const answers: TextPair[] = [];
    const firstAnswer = this.identity === null;
    if (firstAnswer) {
      this.identity = this.establishIdentity(request);
    } else if (pairs.some(([name]) => IDENTITY_KEYS.has(name))) {
      throw initiatorError(C.LOGIN_DETAIL_INITIATOR_ERROR,
        "InitiatorName, TargetName and SessionType belong in the first request");
    }
    const identity = this.identity!;
    // RFC 7143 section 13.9: the first response of a normal session names the portal group.
    if (firstAnswer && identity.sessionType === "Normal") {
      answers.push(["TargetPortalGroupTag", String(this.ctx.portal.portalGroupTag)]);
    }
    answers.push(...batch.answers);

    let stageComplete: boolean;
    if (stage === "security") {
      stageComplete = this.authenticate(batch.authentication, answers, request.transit);
    } else {
      this.requireAuthenticated();
      const declarations = this.negotiator.targetDeclarations();
      const alias = identity.target?.alias;
      if (declarations.length > 0 && alias !== undefined) declarations.push(["TargetAlias", alias]);
      answers.push(...declarations);
      answers.push(...this.negotiator.targetOffers());
      stageComplete = !this.negotiator.awaitingAnswers;
    }
    // The target transits only when the initiator asked to (RFC 7143 section 11.13).
    if (!request.transit || !stageComplete) return this.success(request, false, 0, answers);
    // From security we always go through operational, where we declare our
    // MaxRecvDataSegmentLength; the target may pick a lower NSG than asked (section 6.3).
    const next = stage === "security"
      ? C.STAGE_LOGIN_OPERATIONAL_NEGOTIATION
      : C.STAGE_FULL_FEATURE_PHASE;
    this.stage = next;
    if (next === C.STAGE_FULL_FEATURE_PHASE) return this.finish(request, identity, answers);
    return this.success(request, true, next, answers);
  }

  private checkHeader(request: LoginRequestPdu): void {
    if (request.versionMin > C.ISCSI_VERSION || request.versionMax < C.ISCSI_VERSION) {
      throw initiatorError(C.LOGIN_DETAIL_UNSUPPORTED_VERSION,
        `versions ${request.versionMin}..${request.versionMax} exclude ${C.ISCSI_VERSION}`);
    }
    const first = this.first ?? (this.first = {
      isid: Buffer.from(request.isid), tsih: request.tsih, cid: request.cid,
      versionMax: request.versionMax, versionMin: request.versionMin,
    });
    // ITT and CmdSN are not compared: older initiators advance the ITT per login request.
    const changed = !first.isid.equals(request.isid) ? "ISID"
      : first.tsih !== request.tsih ? "TSIH"
      : first.cid !== request.cid ? "CID"
      : first.versionMax !== request.versionMax || first.versionMin !== request.versionMin
      ? "version range"
      : null;
    if (changed !== null) {
      throw initiatorError(C.LOGIN_DETAIL_INITIATOR_ERROR, `${changed} changed during login`);
    }
    if (request.transit && request.continue) {
      throw initiatorError(C.LOGIN_DETAIL_INITIATOR_ERROR, "both T and C bits set");
    }
    const validStage = request.csg === C.STAGE_SECURITY_NEGOTIATION ||
      request.csg === C.STAGE_LOGIN_OPERATIONAL_NEGOTIATION;
    if (!validStage || (this.stage !== null && request.csg !== this.stage)) {
      throw initiatorError(C.LOGIN_DETAIL_INVALID_DURING_LOGIN,
        `request in stage ${request.csg}, expected ${this.stage ?? "0 or 1"}`);
    }
    const validNext = (request.nsg === C.STAGE_LOGIN_OPERATIONAL_NEGOTIATION ||
      request.nsg === C.STAGE_FULL_FEATURE_PHASE) && request.nsg > request.csg;
    if (request.transit && !validNext) {
      throw initiatorError(C.LOGIN_DETAIL_INVALID_DURING_LOGIN,
        `cannot go from stage ${request.csg} to ${request.nsg}`);
    }
  }

  private establishIdentity(request: LoginRequestPdu): Identity {
    const initiatorName = this.negotiator.declaredValue("InitiatorName");
    if (initiatorName === undefined || initiatorName.length === 0) {
      throw initiatorError(C.LOGIN_DETAIL_MISSING_PARAMETER, "no InitiatorName");
    }
    const initiatorAlias = this.negotiator.declaredValue("InitiatorAlias");
    const sessionType = this.negotiator.sessionType;
    if (sessionType !== "Discovery" && sessionType !== "Normal") {
      throw initiatorError(C.LOGIN_DETAIL_SESSION_TYPE_NOT_SUPPORTED,
        `SessionType ${sessionType}`);
    }
    if (request.tsih !== 0) {
      // A connection for an existing session: we allow one connection per session.
      const exists = this.ctx.sessionExists?.(initiatorName, request.isid, request.tsih) ?? false;
      throw exists
        ? initiatorError(C.LOGIN_DETAIL_TOO_MANY_CONNECTIONS, "MaxConnections is 1")
        : initiatorError(C.LOGIN_DETAIL_SESSION_DOES_NOT_EXIST, `no session ${request.tsih}`);
    }
    if (sessionType === "Discovery") {
      return { initiatorName, initiatorAlias, sessionType, target: null,
        chap: this.ctx.discoveryChap };
    }
    const targetName = this.negotiator.declaredValue("TargetName");
    if (targetName === undefined) {
      throw initiatorError(C.LOGIN_DETAIL_MISSING_PARAMETER, "no TargetName");
    }
    const target = this.ctx.findTarget(targetName);
    if (target === undefined ||
      !target.portalGroupTags.includes(this.ctx.portal.portalGroupTag)) {
      throw initiatorError(C.LOGIN_DETAIL_NOT_FOUND, `no target ${targetName} at this portal`);
    }
    if (target.availability === "removed") {
      throw initiatorError(C.LOGIN_DETAIL_TARGET_REMOVED, `target ${targetName} removed`);
    }
    if (target.availability === "unavailable") {
      throw new LoginFailure(C.LOGIN_STATUS_TARGET_ERROR, C.LOGIN_DETAIL_SERVICE_UNAVAILABLE,
        `target ${targetName} unavailable`);
    }
    if (!initiatorAllowed(target.allowedInitiators, initiatorName)) {
      throw initiatorError(C.LOGIN_DETAIL_AUTHORIZATION_FAILURE,
        `${initiatorName} may not log in to ${targetName}`);
    }
    return { initiatorName, initiatorAlias, sessionType, target, chap: target.chap };
  }

  /** Runs the security stage keys; true once the initiator is authenticated. */
  private authenticate(
    pairs: readonly TextPair[], answers: TextPair[], wantsTransit: boolean,
  ): boolean {
    const chapConfig = this.identity!.chap;
    let chapPairs = pairs;
    const method = pairs.find(([name]) => name === "AuthMethod");
    if (method !== undefined) {
      // We accept exactly one method: CHAP when configured, otherwise None.
      const acceptable = chapConfig === undefined ? "None" : "CHAP";
      if (!method[1].split(",").includes(acceptable)) {
        throw initiatorError(C.LOGIN_DETAIL_AUTHENTICATION_FAILURE,
          `AuthMethod ${method[1]} does not include ${acceptable}`);
      }
      answers.push(["AuthMethod", acceptable]);
      if (chapConfig === undefined) {
        this.auth = "done";
      } else {
        this.auth = "chap";
        this.chap = new ChapExchange(chapConfig, this.randomBytes);
      }
      chapPairs = pairs.filter((pair) => pair !== method);
      if (this.auth === "chap" && chapPairs.length === 0) return false;
    }
    if (chapPairs.length > 0 || (this.auth === "chap" && method === undefined)) {
      if (this.auth !== "chap" || this.chap === null) {
        throw initiatorError(C.LOGIN_DETAIL_INITIATOR_ERROR, "CHAP keys without AuthMethod=CHAP");
      }
      const outcome = this.chap.handle(chapPairs);
      if (outcome.kind === "failed") {
        throw initiatorError(outcome.failure === "protocol"
          ? C.LOGIN_DETAIL_INITIATOR_ERROR
          : C.LOGIN_DETAIL_AUTHENTICATION_FAILURE, `CHAP: ${outcome.reason}`);
      }
      answers.push(...outcome.answers);
      if (outcome.kind === "authenticated") this.auth = "done";
    }
    if (this.auth === "unchosen" && wantsTransit) this.requireAuthenticated();
    return this.auth === "done";
  }

  /** Leaving security without AuthMethod means None, its default (RFC 7143 section 12.1). */
  private requireAuthenticated(): void {
    if (this.auth === "done") return;
    if (this.auth === "chap" || this.identity!.chap !== undefined) {
      throw initiatorError(C.LOGIN_DETAIL_AUTHENTICATION_FAILURE, "CHAP authentication required");
    }
    this.auth = "done";
  }

  private finish(request: LoginRequestPdu, identity: Identity, answers: TextPair[]): LoginStep {
    const tsih = this.ctx.allocateTsih();
    if (!Number.isInteger(tsih) || tsih < 1 || tsih > MAX_TSIH) {
      throw new Error(`allocated TSIH ${tsih} is not in 1..${MAX_TSIH}`);
    }
    const done: LoginDone = {
      sessionType: identity.sessionType,
      initiatorName: identity.initiatorName,
      initiatorAlias: identity.initiatorAlias,
      targetName: identity.target?.iqn,
      isid: Buffer.from(request.isid),
      tsih,
      cid: request.cid,
      sessionParams: this.negotiator.sessionParams(),
      connectionParams: this.negotiator.connectionParams(),
    };
    const step = this.success(request, true, C.STAGE_FULL_FEATURE_PHASE, answers, tsih);
    this.finished = true;
    return { ...step, done };
  }

  private success(
    request: LoginRequestPdu,
    transit: boolean,
    nsg: number,
    answers: readonly TextPair[],
    tsih = request.tsih,
  ): LoginStep {
    const data = answers.length === 0 ? Buffer.alloc(0) : encodeTextData([...answers]);
    if (data.length > LOGIN_MAX_RESPONSE_BYTES) {
      throw new Error(`login response of ${data.length} bytes needs continuation`);
    }
    return {
      response: responseFields(request, {
        transit, nsg, tsih, statusClass: C.LOGIN_STATUS_SUCCESS,
        statusDetail: C.LOGIN_DETAIL_SUCCESS,
      }),
      data,
      done: null,
      fail: false,
      reason: null,
    };
  }

  private failure(
    request: LoginRequestPdu, statusClass: number, statusDetail: number, reason: string,
  ): LoginStep {
    return {
      response: responseFields(request, {
        transit: false, nsg: 0, tsih: request.tsih, statusClass, statusDetail,
      }),
      data: Buffer.alloc(0),
      done: null,
      fail: true,
      reason,
    };
  }
}

const IDENTITY_KEYS: ReadonlySet<string> = new Set(["InitiatorName", "TargetName", "SessionType"]);

function parsePairs(text: Buffer): TextPair[] {
  try {
    return parseTextData(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw initiatorError(C.LOGIN_DETAIL_INITIATOR_ERROR, `malformed login text: ${why}`);
  }
}

function responseFields(
  request: LoginRequestPdu,
  fields: { transit: boolean; nsg: number; tsih: number; statusClass: number;
    statusDetail: number },
): LoginResponse {
  return {
    transit: fields.transit,
    continue: false,
    csg: request.csg,
    nsg: fields.nsg,
    versionMax: C.ISCSI_VERSION,
    versionActive: C.ISCSI_VERSION,
    isid: Buffer.from(request.isid),
    tsih: fields.tsih,
    itt: request.itt,
    statusClass: fields.statusClass,
    statusDetail: fields.statusDetail,
  };
}
