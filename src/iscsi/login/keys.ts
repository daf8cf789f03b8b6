// The text keys of RFC 7143 section 13 (plus iSCSIProtocolLevel of RFC 7144 and the keys RFC 7143
// obsoleted), with where each may appear and how its value is negotiated (RFC 7143 section 6.2).

/** Reserved answer values (RFC 7143 section 6.2). */
export const REJECT = "Reject";
export const IRRELEVANT = "Irrelevant";
export const NOT_UNDERSTOOD = "NotUnderstood";

/**
 * Where a key may appear: "security" and "operational" are login stages, "login" is either
 * stage, "fullFeature" is the full feature phase only (the key is never valid during login).
 */
export type KeyPhase = "security" | "operational" | "login" | "fullFeature";
export type KeyScope = "session" | "connection";
export type KeySender = "initiator" | "target" | "both";

export type KeyRule =
  /** The responder picks the first offered value it supports. */
  | { kind: "list"; values: readonly string[] }
  | { kind: "minimum" | "maximum"; min: number; max: number }
  | { kind: "and" | "or" }
  /** Each side states its own value; nothing is answered. */
  | { kind: "declarative"; values?: readonly string[] }
  | { kind: "declarativeNumber"; min: number; max: number }
  /** AuthMethod and the CHAP keys: answered by the authentication exchange, not here. */
  | { kind: "authentication" }
  /** Obsolete keys whose use is switched off by another key we always answer "No". */
  | { kind: "alwaysIrrelevant" };

export interface KeyDefinition {
  name: string;
  phase: KeyPhase;
  scope: KeyScope;
  /** Only the leading connection of a session may carry it (RFC 7143 "Use: LO"). */
  leadingOnly: boolean;
  sender: KeySender;
  rule: KeyRule;
  /** RFC default, used when the key is never negotiated; null when the key has none. */
  defaultValue: string | null;
  /** RFC 7143 marks most session keys "Irrelevant when: SessionType=Discovery". */
  irrelevantInDiscovery: boolean;
}

const MAX_DATA_LENGTH = 16777215; // 2^24 - 1

function key(
  name: string,
  phase: KeyPhase,
  scope: KeyScope,
  rule: KeyRule,
  defaultValue: string | null,
  options: { leadingOnly?: boolean; sender?: KeySender; irrelevantInDiscovery?: boolean } = {},
): KeyDefinition {
  return {
    name, phase, scope, rule, defaultValue,
    leadingOnly: options.leadingOnly ?? false,
    sender: options.sender ?? "both",
    irrelevantInDiscovery: options.irrelevantInDiscovery ?? false,
  };
}

const sessionKey = { leadingOnly: true, irrelevantInDiscovery: true };
const auth: KeyRule = { kind: "authentication" };
const initiatorOnly = { sender: "initiator" as const };

const DEFINITIONS: readonly KeyDefinition[] = [
  key("AuthMethod", "security", "connection", auth, "None", initiatorOnly),
  key("CHAP_A", "security", "connection", auth, null, initiatorOnly),
  key("CHAP_I", "security", "connection", auth, null),
  key("CHAP_C", "security", "connection", auth, null),
  key("CHAP_N", "security", "connection", auth, null),
  key("CHAP_R", "security", "connection", auth, null),
  key("InitiatorName", "login", "session", { kind: "declarative" }, null, initiatorOnly),
  key("InitiatorAlias", "login", "session", { kind: "declarative" }, null, initiatorOnly),
  key("TargetName", "login", "session", { kind: "declarative" }, null, initiatorOnly),
  key("SessionType", "login", "session", { kind: "declarative", values: ["Discovery", "Normal"] },
    "Normal", { leadingOnly: true, sender: "initiator" }),
  key("TargetAlias", "login", "session", { kind: "declarative" }, null, { sender: "target" }),
  key("TargetAddress", "login", "session", { kind: "declarative" }, null, { sender: "target" }),
  key("TargetPortalGroupTag", "login", "session", { kind: "declarative" }, null,
    { sender: "target" }),
  key("SendTargets", "fullFeature", "session", { kind: "declarative" }, null, initiatorOnly),
  key("HeaderDigest", "operational", "connection", { kind: "list", values: ["CRC32C", "None"] },
    "None"),
  key("DataDigest", "operational", "connection", { kind: "list", values: ["CRC32C", "None"] },
    "None"),
  key("MaxConnections", "operational", "session", { kind: "minimum", min: 1, max: 65535 }, "1",
    sessionKey),
  key("InitialR2T", "operational", "session", { kind: "or" }, "Yes", sessionKey),
  key("ImmediateData", "operational", "session", { kind: "and" }, "Yes", sessionKey),
  key("MaxRecvDataSegmentLength", "operational", "connection",
    { kind: "declarativeNumber", min: 512, max: MAX_DATA_LENGTH }, "8192"),
  key("MaxBurstLength", "operational", "session",
    { kind: "minimum", min: 512, max: MAX_DATA_LENGTH }, "262144", sessionKey),
  key("FirstBurstLength", "operational", "session",
    { kind: "minimum", min: 512, max: MAX_DATA_LENGTH }, "65536", sessionKey),
  key("DefaultTime2Wait", "operational", "session", { kind: "maximum", min: 0, max: 3600 }, "2",
    { leadingOnly: true }),
  key("DefaultTime2Retain", "operational", "session", { kind: "minimum", min: 0, max: 3600 }, "20",
    { leadingOnly: true }),
  key("MaxOutstandingR2T", "operational", "session", { kind: "minimum", min: 1, max: 65535 }, "1",
    sessionKey),
  key("DataPDUInOrder", "operational", "session", { kind: "or" }, "Yes", sessionKey),
  key("DataSequenceInOrder", "operational", "session", { kind: "or" }, "Yes", sessionKey),
  key("ErrorRecoveryLevel", "operational", "session", { kind: "minimum", min: 0, max: 2 }, "0",
    { leadingOnly: true }),
  key("TaskReporting", "operational", "session",
    { kind: "list", values: ["RFC3720", "ResponseFence", "FastAbort"] }, "RFC3720", sessionKey),
  key("iSCSIProtocolLevel", "operational", "session", { kind: "minimum", min: 0, max: 31 }, "1",
    sessionKey),
  key("RDMAExtensions", "operational", "session", { kind: "and" }, "No", sessionKey),
  // Markers (RFC 3720) were removed by RFC 7143; initiators still send IFMarker/OFMarker=No.
  key("OFMarker", "operational", "connection", { kind: "and" }, "No"),
  key("IFMarker", "operational", "connection", { kind: "and" }, "No"),
  key("OFMarkInt", "operational", "connection", { kind: "alwaysIrrelevant" }, null),
  key("IFMarkInt", "operational", "connection", { kind: "alwaysIrrelevant" }, null),
];

export const KEY_TABLE: ReadonlyMap<string, KeyDefinition> = new Map(
  DEFINITIONS.map((definition) => [definition.name, definition]),
);

/** A numerical value (RFC 7143 section 6.1): decimal or 0x-hex, as a safe JS integer. */
export function parseNumericValue(text: string): number | null {
  let value: number;
  if (/^[0-9]{1,16}$/.test(text)) value = Number(text);
  else if (/^0[xX][0-9a-fA-F]{1,13}$/.test(text)) value = Number.parseInt(text.slice(2), 16);
  else return null;
  return Number.isSafeInteger(value) ? value : null;
}

export function parseBooleanValue(text: string): boolean | null {
  if (text === "Yes") return true;
  if (text === "No") return false;
  return null;
}

export function formatBoolean(value: boolean): string {
  return value ? "Yes" : "No";
}

export type OfferOutcome =
  /** answer is null for declarations, which are not answered. */
  | { kind: "agreed"; answer: string | null; value: string }
  | { kind: "rejected" };

/**
 * Answers one offered value as the responder, given the target's own value for the key
 * (a number, "Yes"/"No", or a comma-separated list of supported values).
 */
export function answerOffer(
  definition: KeyDefinition, offered: string, ours: string,
): OfferOutcome {
  const rule = definition.rule;
  switch (rule.kind) {
    case "list": {
      const offeredValues = offered.split(",");
      if (offeredValues.some((value) => value.length === 0)) return { kind: "rejected" };
      const supported = ours.split(",");
      const chosen = offeredValues.find((value) => supported.includes(value));
      return chosen === undefined ? { kind: "rejected" } : agreed(chosen);
    }
    case "minimum":
    case "maximum": {
      const value = parseNumericValue(offered);
      const own = parseNumericValue(ours);
      if (own === null) throw new Error(`target value ${ours} for ${definition.name} not numeric`);
      if (value === null || value < rule.min || value > rule.max) return { kind: "rejected" };
      return agreed(String(rule.kind === "minimum" ? Math.min(value, own) : Math.max(value, own)));
    }
    case "and":
    case "or": {
      const value = parseBooleanValue(offered);
      const own = parseBooleanValue(ours);
      if (own === null) throw new Error(`target value ${ours} for ${definition.name} not boolean`);
      if (value === null) return { kind: "rejected" };
      return agreed(formatBoolean(rule.kind === "and" ? value && own : value || own));
    }
    case "declarative":
      if (rule.values !== undefined && !rule.values.includes(offered)) return { kind: "rejected" };
      return { kind: "agreed", answer: null, value: offered };
    case "declarativeNumber": {
      const value = parseNumericValue(offered);
      if (value === null || value < rule.min || value > rule.max) return { kind: "rejected" };
      return { kind: "agreed", answer: null, value: String(value) };
    }
    case "authentication":
    case "alwaysIrrelevant":
      throw new Error(`${definition.name} is not negotiated by answerOffer`);
  }
}

function agreed(value: string): OfferOutcome {
  return { kind: "agreed", answer: value, value };
}
