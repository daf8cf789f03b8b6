import { describe, expect, it } from "vitest";
import { KEY_TABLE, answerOffer, parseNumericValue } from "../../src/iscsi/login/keys.ts";
import {
  DEFAULT_TARGET_LIMITS, Negotiator, type TargetLimits,
} from "../../src/iscsi/login/negotiation.ts";
import type { TextPair } from "../../src/iscsi/text-codec.ts";

function answersOf(negotiator: Negotiator, pairs: TextPair[]): TextPair[] {
  const batch = negotiator.respond(pairs, "operational");
  if (!batch.ok) throw new Error(batch.problem);
  return batch.answers;
}

function answerTo(name: string, offered: string, limits?: Partial<TargetLimits>): string | null {
  const negotiator = new Negotiator({ ...DEFAULT_TARGET_LIMITS, ...limits });
  const answer = answersOf(negotiator, [[name, offered]]).find(([key]) => key === name);
  return answer === undefined ? null : answer[1];
}

describe("key table", () => {
  it("has every RFC 7143 section 13 key with its default", () => {
    const defaults: Record<string, string | null> = {
      HeaderDigest: "None", DataDigest: "None", MaxConnections: "1", InitialR2T: "Yes",
      ImmediateData: "Yes", MaxRecvDataSegmentLength: "8192", MaxBurstLength: "262144",
      FirstBurstLength: "65536", DefaultTime2Wait: "2", DefaultTime2Retain: "20",
      MaxOutstandingR2T: "1", DataPDUInOrder: "Yes", DataSequenceInOrder: "Yes",
      ErrorRecoveryLevel: "0", SessionType: "Normal", AuthMethod: "None", TaskReporting: "RFC3720",
      SendTargets: null, TargetName: null, InitiatorName: null, TargetAlias: null,
      InitiatorAlias: null, TargetAddress: null, TargetPortalGroupTag: null,
    };
    for (const [name, value] of Object.entries(defaults)) {
      expect(KEY_TABLE.get(name)?.defaultValue, name).toBe(value);
    }
    expect(KEY_TABLE.get("MaxBurstLength")).toMatchObject(
      { phase: "operational", scope: "session", leadingOnly: true, irrelevantInDiscovery: true });
    expect(KEY_TABLE.get("HeaderDigest"))
      .toMatchObject({ scope: "connection", leadingOnly: false });
    for (const name of ["CHAP_A", "CHAP_I", "CHAP_C", "CHAP_N", "CHAP_R", "AuthMethod"]) {
      expect(KEY_TABLE.get(name)?.phase, name).toBe("security");
    }
  });

  it("parses decimal and hex numbers only", () => {
    expect(parseNumericValue("65536")).toBe(65536);
    expect(parseNumericValue("0x10000")).toBe(65536);
    for (const bad of ["", "-1", "1.5", "12abc", "0x", " 1"]) {
      expect(parseNumericValue(bad), bad).toBeNull();
    }
  });

  it("answerOffer applies each result function", () => {
    const table = (name: string) => KEY_TABLE.get(name)!;
    expect(answerOffer(table("MaxBurstLength"), "2097152", "1048576"))
      .toEqual({ kind: "agreed", answer: "1048576", value: "1048576" });
    expect(answerOffer(table("DefaultTime2Wait"), "1", "2"))
      .toEqual({ kind: "agreed", answer: "2", value: "2" });
    expect(answerOffer(table("ImmediateData"), "Yes", "No")).toMatchObject({ answer: "No" });
    expect(answerOffer(table("InitialR2T"), "No", "Yes")).toMatchObject({ answer: "Yes" });
    expect(answerOffer(table("MaxRecvDataSegmentLength"), "65536", ""))
      .toEqual({ kind: "agreed", answer: null, value: "65536" });
  });
});

describe("Negotiator answers", () => {
  it("takes the minimum for min keys", () => {
    expect(answerTo("MaxBurstLength", "16776192")).toBe(String(1024 * 1024));
    expect(answerTo("MaxBurstLength", "65536")).toBe("65536");
    expect(answerTo("FirstBurstLength", "16776192")).toBe(String(256 * 1024));
    expect(answerTo("MaxOutstandingR2T", "16")).toBe("8");
    expect(answerTo("ErrorRecoveryLevel", "2")).toBe("0");
    expect(answerTo("MaxConnections", "8")).toBe("1");
    expect(answerTo("DefaultTime2Retain", "0")).toBe("0");
  });

  it("takes the maximum for DefaultTime2Wait", () => {
    expect(answerTo("DefaultTime2Wait", "0")).toBe("2");
    expect(answerTo("DefaultTime2Wait", "10")).toBe("10");
  });

  it("ORs InitialR2T and the in-order keys, ANDs ImmediateData", () => {
    expect(answerTo("InitialR2T", "No")).toBe("No");
    expect(answerTo("InitialR2T", "Yes")).toBe("Yes");
    expect(answerTo("InitialR2T", "No", { initialR2T: true })).toBe("Yes");
    expect(answerTo("DataPDUInOrder", "No")).toBe("Yes");
    expect(answerTo("DataSequenceInOrder", "No", { dataSequenceInOrder: false })).toBe("No");
    expect(answerTo("ImmediateData", "Yes")).toBe("Yes");
    expect(answerTo("ImmediateData", "Yes", { immediateData: false })).toBe("No");
    expect(answerTo("ImmediateData", "No")).toBe("No");
  });

  it("picks the first offered list value it supports", () => {
    expect(answerTo("HeaderDigest", "CRC32C,None")).toBe("CRC32C");
    expect(answerTo("HeaderDigest", "None,CRC32C")).toBe("None");
    expect(answerTo("DataDigest", "CRC32C,None", { supportedDigests: ["None"] })).toBe("None");
    expect(answerTo("DataDigest", "CRC64,CRC32C")).toBe("CRC32C");
    expect(answerTo("DataDigest", "CRC64")).toBe("Reject");
    expect(answerTo("TaskReporting", "FastAbort,RFC3720")).toBe("RFC3720");
  });

  it("does not answer declarations", () => {
    expect(answerTo("MaxRecvDataSegmentLength", "65536")).toBeNull();
    expect(answerTo("InitiatorAlias", "host1")).toBeNull();
  });

  it("rejects out-of-range, non-numeric and malformed values", () => {
    expect(answerTo("MaxBurstLength", "511")).toBe("Reject");
    expect(answerTo("MaxBurstLength", "16777216")).toBe("Reject");
    expect(answerTo("MaxBurstLength", "lots")).toBe("Reject");
    expect(answerTo("ErrorRecoveryLevel", "3")).toBe("Reject");
    expect(answerTo("MaxRecvDataSegmentLength", "100")).toBe("Reject");
    expect(answerTo("InitialR2T", "yes")).toBe("Reject");
    expect(answerTo("HeaderDigest", "CRC32C,,None")).toBe("Reject");
    expect(answerTo("SessionType", "Weird")).toBe("Reject");
  });

  it("answers Irrelevant and NotUnderstood", () => {
    const discovery = new Negotiator();
    const answers = answersOf(discovery, [
      ["SessionType", "Discovery"], ["MaxBurstLength", "65536"], ["InitialR2T", "No"],
      ["ErrorRecoveryLevel", "1"], ["X-com.example.Fast", "Yes"], ["X#Registered", "1"],
      ["NoSuchKey", "1"], ["OFMarkInt", "2048"], ["IFMarker", "No"],
    ]);
    expect(answers).toEqual([
      ["MaxBurstLength", "Irrelevant"], ["InitialR2T", "Irrelevant"], ["ErrorRecoveryLevel", "0"],
      ["X-com.example.Fast", "NotUnderstood"], ["X#Registered", "NotUnderstood"],
      ["NoSuchKey", "NotUnderstood"], ["OFMarkInt", "Irrelevant"], ["IFMarker", "No"],
    ]);
  });

  it("treats a key offered twice in one login as a protocol error", () => {
    const negotiator = new Negotiator();
    answersOf(negotiator, [["MaxBurstLength", "65536"]]);
    const again = negotiator.respond([["MaxBurstLength", "65536"]], "operational");
    expect(again).toMatchObject({ ok: false, problem: "MaxBurstLength sent twice" });
  });

  it("refuses keys outside their stage or from the wrong sender", () => {
    expect(new Negotiator().respond([["MaxBurstLength", "65536"]], "security"))
      .toMatchObject({ ok: false });
    expect(new Negotiator().respond([["CHAP_A", "5"]], "operational")).toMatchObject({ ok: false });
    expect(new Negotiator().respond([["SendTargets", "All"]], "operational"))
      .toMatchObject({ ok: false });
    expect(new Negotiator().respond([["TargetPortalGroupTag", "1"]], "operational"))
      .toMatchObject({ ok: false });
  });

  it("hands authentication keys back in order", () => {
    const batch = new Negotiator().respond(
      [["InitiatorName", "iqn.x"], ["AuthMethod", "CHAP,None"], ["CHAP_A", "5"]], "security");
    expect(batch).toEqual({
      ok: true, answers: [], authentication: [["AuthMethod", "CHAP,None"], ["CHAP_A", "5"]],
    });
  });

  it("keeps FirstBurstLength within MaxBurstLength", () => {
    const negotiator = new Negotiator();
    const answers = answersOf(negotiator,
      [["FirstBurstLength", "262144"], ["MaxBurstLength", "131072"]]);
    expect(answers).toEqual([["FirstBurstLength", "131072"], ["MaxBurstLength", "131072"]]);
    expect(negotiator.sessionParams()).toMatchObject(
      { firstBurstLength: 131072, maxBurstLength: 131072 });
  });
});

describe("Negotiator outcome", () => {
  it("uses RFC defaults for keys never negotiated", () => {
    const negotiator = new Negotiator();
    expect(negotiator.targetDeclarations()).toEqual([["MaxRecvDataSegmentLength", "262144"]]);
    expect(negotiator.targetDeclarations()).toEqual([]);
    expect(negotiator.sessionParams()).toEqual({
      maxConnections: 1, initialR2T: true, immediateData: true, maxBurstLength: 262144,
      firstBurstLength: 65536, defaultTime2Wait: 2, defaultTime2Retain: 20,
      maxOutstandingR2T: 1, dataPDUInOrder: true, dataSequenceInOrder: true,
      errorRecoveryLevel: 0, taskReporting: "RFC3720", protocolLevel: 1,
    });
    expect(negotiator.connectionParams()).toEqual({
      headerDigest: false, dataDigest: false, targetMaxRecvDataSegmentLength: 262144,
      initiatorMaxRecvDataSegmentLength: 8192,
    });
  });

  it("reflects negotiated values", () => {
    const negotiator = new Negotiator();
    answersOf(negotiator, [
      ["HeaderDigest", "CRC32C,None"], ["DataDigest", "None"], ["InitialR2T", "No"],
      ["MaxRecvDataSegmentLength", "0x40000"], ["MaxBurstLength", "16776192"],
      ["FirstBurstLength", "262144"], ["MaxOutstandingR2T", "1"],
    ]);
    negotiator.targetDeclarations();
    expect(negotiator.sessionParams()).toMatchObject({
      initialR2T: false, maxBurstLength: 1048576, firstBurstLength: 262144, maxOutstandingR2T: 1,
    });
    expect(negotiator.connectionParams()).toMatchObject({
      headerDigest: true, dataDigest: false, initiatorMaxRecvDataSegmentLength: 262144,
    });
  });

  it("offers keys whose default breaks the target's limits, and checks the answers", () => {
    const negotiator = new Negotiator(
      { ...DEFAULT_TARGET_LIMITS, maxBurstLength: 131072, firstBurstLength: 65536,
        immediateData: false });
    answersOf(negotiator, [["MaxBurstLength", "65536"]]);
    expect(negotiator.targetOffers()).toEqual([["ImmediateData", "No"]]);
    expect(negotiator.awaitingAnswers).toBe(true);
    expect(negotiator.respond([["ImmediateData", "Yes"]], "operational"))
      .toMatchObject({ ok: false });

    const again = new Negotiator({ ...DEFAULT_TARGET_LIMITS, maxBurstLength: 131072,
      firstBurstLength: 65536 });
    expect(again.targetOffers()).toEqual([["MaxBurstLength", "131072"]]);
    expect(again.respond([], "operational")).toMatchObject({ ok: false });
    const answered = new Negotiator({ ...DEFAULT_TARGET_LIMITS, maxBurstLength: 131072,
      firstBurstLength: 65536 });
    answered.targetOffers();
    expect(answersOf(answered, [["MaxBurstLength", "65536"]])).toEqual([]);
    expect(answered.awaitingAnswers).toBe(false);
    expect(answered.sessionParams().maxBurstLength).toBe(65536);
  });

  it("refuses limits outside the RFC ranges", () => {
    expect(() => new Negotiator({ ...DEFAULT_TARGET_LIMITS, maxBurstLength: 100 })).toThrow();
    expect(() => new Negotiator({ ...DEFAULT_TARGET_LIMITS, firstBurstLength: 2 ** 21 }))
      .toThrow();
  });
});
