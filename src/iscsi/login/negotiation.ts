// Negotiation of the login text keys (RFC 7143 sections 6.2 and 13) from the target's side: the
// initiator offers, the target answers within its own limits, and the outcome becomes the typed
// session and connection parameters. Authentication keys are handed back to the caller.
import type { TextPair } from "../text-codec.ts";
import {
  IRRELEVANT, KEY_TABLE, NOT_UNDERSTOOD, REJECT, answerOffer, formatBoolean, parseBooleanValue,
  parseNumericValue, type KeyDefinition,
} from "./keys.ts";

export type LoginStage = "security" | "operational";
export type DigestName = "CRC32C" | "None";

/** What this target accepts; each value is the target's side of the negotiation. */
export interface TargetLimits {
  /** Declared to the initiator: the largest data segment we accept. */
  maxRecvDataSegmentLength: number;
  maxBurstLength: number;
  firstBurstLength: number;
  maxOutstandingR2T: number;
  maxConnections: number;
  errorRecoveryLevel: number;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  /** Yes: we need an R2T before any unsolicited data (OR with the initiator). */
  initialR2T: boolean;
  /** Yes: we accept immediate data (AND with the initiator). */
  immediateData: boolean;
  dataPDUInOrder: boolean;
  dataSequenceInOrder: boolean;
  supportedDigests: readonly DigestName[];
}

export const DEFAULT_TARGET_LIMITS: TargetLimits = Object.freeze({
  maxRecvDataSegmentLength: 256 * 1024,
  maxBurstLength: 1024 * 1024,
  firstBurstLength: 256 * 1024,
  maxOutstandingR2T: 8,
  maxConnections: 1,
  errorRecoveryLevel: 0,
  defaultTime2Wait: 2,
  defaultTime2Retain: 20,
  initialR2T: false,
  immediateData: true,
  dataPDUInOrder: true,
  dataSequenceInOrder: true,
  supportedDigests: Object.freeze(["CRC32C", "None"] as DigestName[]),
});

export interface SessionParams {
  maxConnections: number;
  initialR2T: boolean;
  immediateData: boolean;
  maxBurstLength: number;
  firstBurstLength: number;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  maxOutstandingR2T: number;
  dataPDUInOrder: boolean;
  dataSequenceInOrder: boolean;
  errorRecoveryLevel: number;
  taskReporting: string;
  protocolLevel: number;
}

export interface ConnectionParams {
  /** CRC32C header digests on every PDU after the final login response. */
  headerDigest: boolean;
  dataDigest: boolean;
  /** What we declared: the largest data segment the initiator may send us. */
  targetMaxRecvDataSegmentLength: number;
  /** What the initiator declared (8192 when it did not): the largest we may send it. */
  initiatorMaxRecvDataSegmentLength: number;
}

export type NegotiationBatch =
  | {
    ok: true;
    /** Answers to the operational and unknown keys, in the order offered. */
    answers: TextPair[];
    /** AuthMethod and CHAP_* pairs, in the order offered, for the authentication exchange. */
    authentication: TextPair[];
  }
  | { ok: false; problem: string };

/** The target's own value of each key it negotiates, as text for answerOffer. */
function targetValues(limits: TargetLimits): ReadonlyMap<string, string> {
  const digests = limits.supportedDigests.join(",");
  return new Map([
    ["HeaderDigest", digests],
    ["DataDigest", digests],
    ["MaxConnections", String(limits.maxConnections)],
    ["InitialR2T", formatBoolean(limits.initialR2T)],
    ["ImmediateData", formatBoolean(limits.immediateData)],
    ["MaxBurstLength", String(limits.maxBurstLength)],
    ["FirstBurstLength", String(limits.firstBurstLength)],
    ["DefaultTime2Wait", String(limits.defaultTime2Wait)],
    ["DefaultTime2Retain", String(limits.defaultTime2Retain)],
    ["MaxOutstandingR2T", String(limits.maxOutstandingR2T)],
    ["DataPDUInOrder", formatBoolean(limits.dataPDUInOrder)],
    ["DataSequenceInOrder", formatBoolean(limits.dataSequenceInOrder)],
    ["ErrorRecoveryLevel", String(limits.errorRecoveryLevel)],
    ["TaskReporting", "RFC3720"],
    ["iSCSIProtocolLevel", "1"],
    ["RDMAExtensions", "No"],
    ["OFMarker", "No"],
    ["IFMarker", "No"],
  ]);
}

/**
 * Whether the target's value is met by the outcome: the RFC default when the key is never
 * negotiated, or what the initiator answered to our own offer.
 */
function satisfiesTarget(definition: KeyDefinition, ours: string, outcome: string): boolean {
  switch (definition.rule.kind) {
    case "minimum": {
      const value = parseNumericValue(outcome);
      return value !== null && value >= definition.rule.min && value <= Number(ours);
    }
    case "maximum": {
      const value = parseNumericValue(outcome);
      return value !== null && value <= definition.rule.max && value >= Number(ours);
    }
    case "and":
    case "or": {
      // Our "No" decides an AND, our "Yes" an OR.
      const decisive = definition.rule.kind === "and" ? "No" : "Yes";
      return parseBooleanValue(outcome) !== null && (ours !== decisive || outcome === decisive);
    }
    case "list":
      return ours.split(",").includes(outcome);
    default:
      throw new Error(`${definition.name} is not offered by the target`);
  }
}

export class Negotiator {
  private readonly ours: ReadonlyMap<string, string>;
  /** Every key seen from the initiator during this login, to catch renegotiation. */
  private readonly seen = new Set<string>();
  /** Outcomes of negotiated and declared keys, as text. */
  private readonly outcomes = new Map<string, string>();
  /** Keys the target offered and the initiator has yet to answer. */
  private readonly offered = new Map<string, string>();
  private declared = false;

  constructor(private readonly limits: TargetLimits = DEFAULT_TARGET_LIMITS) {
    assertLimits(limits);
    this.ours = targetValues(limits);
  }

  get sessionType(): string {
    return this.outcomes.get("SessionType") ?? "Normal";
  }

  /** A value the initiator declared (InitiatorName, TargetName, SessionType, ...). */
  declaredValue(name: string): string | undefined {
    return this.outcomes.get(name);
  }

  /** True while the initiator still owes answers to keys the target offered. */
  get awaitingAnswers(): boolean {
    return this.offered.size > 0;
  }

  /** Answers the pairs of one complete request (continued requests already joined). */
  respond(pairs: readonly TextPair[], stage: LoginStage): NegotiationBatch {
    // SessionType decides which keys are irrelevant, wherever it sits in the request.
    const sessionType = pairs.find(([name]) => name === "SessionType");
    if (sessionType !== undefined && !this.seen.has("SessionType")) {
      this.outcomes.set("SessionType", sessionType[1]);
    }
    const owed = new Set(this.offered.keys());
    const answers: TextPair[] = [];
    const authentication: TextPair[] = [];
    for (const [name, value] of pairs) {
      const problem = this.checkPair(name, stage);
      if (problem !== null) return { ok: false, problem };
      const definition = KEY_TABLE.get(name);
      if (definition === undefined) {
        // Includes every X- and X# extension key: we implement none.
        answers.push([name, NOT_UNDERSTOOD]);
      } else if (definition.rule.kind === "authentication") {
        authentication.push([name, value]);
      } else if (this.offered.has(name)) {
        const ours = this.offered.get(name)!;
        this.offered.delete(name);
        owed.delete(name);
        if (!satisfiesTarget(definition, ours, value)) {
          return { ok: false, problem: `${name}=${value} does not answer our ${ours}` };
        }
        this.outcomes.set(name, value);
      } else {
        const answer = this.answer(definition, value);
        if (answer !== null) answers.push([name, answer]);
      }
    }
    if (owed.size > 0) return { ok: false, problem: `no answer to ${[...owed].join(", ")}` };
    this.keepFirstBurstWithinMaxBurst(answers);
    return { ok: true, answers, authentication };
  }

  /**
   * Declarations the target makes once, in its first operational stage response: values that
   * are ours to state and need no answer.
   */
  targetDeclarations(): TextPair[] {
    if (this.declared) return [];
    this.declared = true;
    return [["MaxRecvDataSegmentLength", String(this.limits.maxRecvDataSegmentLength)]];
  }

  /**
   * Keys the target must offer itself because their RFC default breaks its limits and the
   * initiator did not offer them. The target may not end the stage before they are answered.
   */
  targetOffers(): TextPair[] {
    const offers: TextPair[] = [];
    for (const [name, ours] of this.ours) {
      const definition = KEY_TABLE.get(name)!;
      if (this.seen.has(name) || this.offered.has(name) || this.isIrrelevant(definition)) continue;
      assert(definition.defaultValue !== null, `${name} has a default`);
      if (satisfiesTarget(definition, ours, definition.defaultValue)) continue;
      this.offered.set(name, ours);
      offers.push([name, ours]);
    }
    return offers;
  }

  sessionParams(): SessionParams {
    const params: SessionParams = {
      maxConnections: this.numberOf("MaxConnections"),
      initialR2T: this.booleanOf("InitialR2T"),
      immediateData: this.booleanOf("ImmediateData"),
      maxBurstLength: this.numberOf("MaxBurstLength"),
      firstBurstLength: this.numberOf("FirstBurstLength"),
      defaultTime2Wait: this.numberOf("DefaultTime2Wait"),
      defaultTime2Retain: this.numberOf("DefaultTime2Retain"),
      maxOutstandingR2T: this.numberOf("MaxOutstandingR2T"),
      dataPDUInOrder: this.booleanOf("DataPDUInOrder"),
      dataSequenceInOrder: this.booleanOf("DataSequenceInOrder"),
      errorRecoveryLevel: this.numberOf("ErrorRecoveryLevel"),
      taskReporting: this.textOf("TaskReporting"),
      protocolLevel: this.numberOf("iSCSIProtocolLevel"),
    };
    // Only when the two were settled in different requests can FirstBurstLength still exceed
    // MaxBurstLength here; RFC 7143 section 13.14 forbids it, so the smaller bound wins.
    params.firstBurstLength = Math.min(params.firstBurstLength, params.maxBurstLength);
    return params;
  }

  connectionParams(): ConnectionParams {
    assert(this.declared, "MaxRecvDataSegmentLength was declared to the initiator");
    return {
      headerDigest: this.textOf("HeaderDigest") === "CRC32C",
      dataDigest: this.textOf("DataDigest") === "CRC32C",
      targetMaxRecvDataSegmentLength: this.limits.maxRecvDataSegmentLength,
      initiatorMaxRecvDataSegmentLength: this.numberOf("MaxRecvDataSegmentLength"),
    };
  }

  /**
   * Null when the key is acceptable in this stage, else why it is a protocol error. Syntax and
   * length were checked by parseTextData.
   */
  private checkPair(name: string, stage: LoginStage): string | null {
    // RFC 7143 section 6: a key may be negotiated or declared only once per login.
    if (this.seen.has(name) && !this.offered.has(name)) return `${name} sent twice`;
    this.seen.add(name);
    const definition = KEY_TABLE.get(name);
    if (definition === undefined) return null;
    if (definition.sender === "target") return `${name} may only be sent by the target`;
    if (definition.phase === "fullFeature") return `${name} is not allowed during login`;
    if (definition.phase !== "login" && definition.phase !== stage) {
      return `${name} is not allowed in the ${stage} stage`;
    }
    return null;
  }

  /** The answer to an offer (null for declarations), recording the outcome. */
  private answer(definition: KeyDefinition, offered: string): string | null {
    if (definition.rule.kind === "alwaysIrrelevant" || this.isIrrelevant(definition)) {
      return IRRELEVANT;
    }
    const ours = this.ours.get(definition.name) ?? "";
    const outcome = answerOffer(definition, offered, ours);
    if (outcome.kind === "rejected") return REJECT;
    this.outcomes.set(definition.name, outcome.value);
    return outcome.answer;
  }

  private isIrrelevant(definition: KeyDefinition): boolean {
    return definition.irrelevantInDiscovery && this.sessionType === "Discovery";
  }

  /** RFC 7143 section 13.14: FirstBurstLength MUST NOT exceed MaxBurstLength. */
  private keepFirstBurstWithinMaxBurst(answers: TextPair[]): void {
    const answer = answers.find(([name]) => name === "FirstBurstLength");
    if (answer === undefined || answer[1] === REJECT || answer[1] === IRRELEVANT) return;
    const max = this.numberOf("MaxBurstLength");
    if (Number(answer[1]) <= max) return;
    answer[1] = String(max);
    this.outcomes.set("FirstBurstLength", answer[1]);
  }

  private textOf(name: string): string {
    const value = this.outcomes.get(name) ?? KEY_TABLE.get(name)?.defaultValue;
    assert(value !== undefined && value !== null, `${name} has a value`);
    return value;
  }

  private numberOf(name: string): number {
    const value = parseNumericValue(this.textOf(name));
    assert(value !== null, `${name} is numeric`);
    return value;
  }

  private booleanOf(name: string): boolean {
    const value = parseBooleanValue(this.textOf(name));
    assert(value !== null, `${name} is Yes or No`);
    return value;
  }
}

function assertLimits(limits: TargetLimits): void {
  const inRange = (value: number, min: number, max: number) =>
    Number.isInteger(value) && value >= min && value <= max;
  assert(inRange(limits.maxRecvDataSegmentLength, 512, 16777215), "maxRecvDataSegmentLength");
  assert(inRange(limits.maxBurstLength, 512, 16777215), "maxBurstLength");
  assert(inRange(limits.firstBurstLength, 512, limits.maxBurstLength), "firstBurstLength");
  assert(inRange(limits.maxOutstandingR2T, 1, 65535), "maxOutstandingR2T");
  assert(inRange(limits.maxConnections, 1, 65535), "maxConnections");
  assert(inRange(limits.errorRecoveryLevel, 0, 2), "errorRecoveryLevel");
  assert(inRange(limits.defaultTime2Wait, 0, 3600), "defaultTime2Wait");
  assert(inRange(limits.defaultTime2Retain, 0, 3600), "defaultTime2Retain");
  assert(limits.supportedDigests.includes("None"), "digest None is always supported");
}

function assert(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`negotiation invariant broken: ${what}`);
}
