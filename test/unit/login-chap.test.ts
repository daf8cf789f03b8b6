import { describe, expect, it } from "vitest";
import {
  ChapExchange, chapResponse, decodeBinaryValue, encodeBinaryValue,
} from "../../src/iscsi/login/chap.ts";

// A fixed "random" source: CHAP_I is the first byte, the challenge the following ones.
function scriptedRandom(...chunks: Buffer[]): (size: number) => Buffer {
  return (size) => {
    const next = chunks.shift();
    if (next === undefined || next.length !== size) throw new Error(`unexpected ${size} bytes`);
    return next;
  };
}

const CHALLENGE = Buffer.from([...Array(16).keys()]); // 00 01 .. 0f
const CONFIG = { username: "alice", secret: "abcdefghijkl" };
// md5(0x07 || "abcdefghijkl" || 00..0f), computed outside this code base.
const ALICE_RESPONSE = "0xfb9e45ac2c8befdb26ac0bdcbbf7b715";

function exchange(config: { username: string; secret: string; mutual?: { username: string;
  secret: string } } = CONFIG): ChapExchange {
  return new ChapExchange(config, scriptedRandom(Buffer.from([7]), CHALLENGE));
}

describe("CHAP values", () => {
  it("computes MD5 of identifier, secret and challenge", () => {
    expect(encodeBinaryValue(chapResponse(5, 7, "abcdefghijkl", CHALLENGE), "hex"))
      .toBe(ALICE_RESPONSE);
    expect(chapResponse(7, 7, "abcdefghijkl", CHALLENGE).toString("hex"))
      .toBe("d34cc0891330e19925af8fb8059b94041c9bcc80835f6ec2537924c712e08643");
  });

  it("decodes hex and base64 binary values", () => {
    expect(decodeBinaryValue("0x0a0B0c")).toEqual(
      { bytes: Buffer.from([10, 11, 12]), encoding: "hex" });
    expect(decodeBinaryValue("0xabc")?.bytes).toEqual(Buffer.from([0x0a, 0xbc]));
    expect(decodeBinaryValue("0bCgsM")).toEqual(
      { bytes: Buffer.from([10, 11, 12]), encoding: "base64" });
    expect(decodeBinaryValue("0bCg==")?.bytes).toEqual(Buffer.from([10]));
    for (const bad of ["0x", "0xzz", "abc", "0bCgs", "0b", "10"]) {
      expect(decodeBinaryValue(bad), bad).toBeNull();
    }
    expect(encodeBinaryValue(Buffer.from([10, 11, 12]), "base64")).toBe("0bCgsM");
  });
});

describe("ChapExchange", () => {
  it("challenges with the first supported algorithm and accepts the right response", () => {
    const chap = exchange();
    expect(chap.handle([["CHAP_A", "9,5,7"]])).toEqual({
      kind: "continue",
      answers: [["CHAP_A", "5"], ["CHAP_I", "7"], ["CHAP_C", `0x${CHALLENGE.toString("hex")}`]],
    });
    expect(chap.handle([["CHAP_N", "alice"], ["CHAP_R", ALICE_RESPONSE]]))
      .toEqual({ kind: "authenticated", answers: [] });
  });

  it("accepts the response in base64", () => {
    const chap = exchange();
    chap.handle([["CHAP_A", "5"]]);
    const base64 = `0b${Buffer.from(ALICE_RESPONSE.slice(2), "hex").toString("base64")}`;
    expect(chap.handle([["CHAP_N", "alice"], ["CHAP_R", base64]]).kind).toBe("authenticated");
  });

  it("uses SHA-256 when the initiator prefers it", () => {
    const chap = new ChapExchange(CONFIG, scriptedRandom(Buffer.from([7]), Buffer.alloc(32, 1)));
    const challenge = chap.handle([["CHAP_A", "7,5"]]);
    expect(challenge).toMatchObject({ kind: "continue", answers: [["CHAP_A", "7"], ["CHAP_I", "7"],
      ["CHAP_C", `0x${"01".repeat(32)}`]] });
    const response = chapResponse(7, 7, CONFIG.secret, Buffer.alloc(32, 1));
    expect(chap.handle([["CHAP_N", "alice"], ["CHAP_R", encodeBinaryValue(response, "hex")]]).kind)
      .toBe("authenticated");
  });

  it("fails a wrong secret, a wrong name and a truncated response", () => {
    for (const [name, response] of [
      ["alice", "0xfb9e45ac2c8befdb26ac0bdcbbf7b716"],
      ["mallory", ALICE_RESPONSE],
      ["alice", ALICE_RESPONSE.slice(0, 20)],
    ] as const) {
      const chap = exchange();
      chap.handle([["CHAP_A", "5"]]);
      expect(chap.handle([["CHAP_N", name], ["CHAP_R", response]]))
        .toMatchObject({ kind: "failed", failure: "authentication" });
    }
  });

  it("fails unsupported algorithms and out-of-order keys", () => {
    expect(exchange().handle([["CHAP_A", "6x,99"]]))
      .toMatchObject({ kind: "failed", failure: "authentication" });
    expect(exchange().handle([["CHAP_N", "alice"]]))
      .toMatchObject({ kind: "failed", failure: "protocol" });
    const chap = exchange();
    chap.handle([["CHAP_A", "5"]]);
    expect(chap.handle([["CHAP_R", ALICE_RESPONSE]]))
      .toMatchObject({ kind: "failed", failure: "protocol" });
  });

  it("answers mutual CHAP with the target secret, in the challenge's encoding", () => {
    const mutual = { username: "target-user", secret: "target-secret-123" };
    const chap = exchange({ ...CONFIG, mutual });
    chap.handle([["CHAP_A", "5"]]);
    expect(chap.handle([
      ["CHAP_N", "alice"], ["CHAP_R", ALICE_RESPONSE], ["CHAP_I", "255"], ["CHAP_C", "0bCgsM"],
    ])).toEqual({
      kind: "authenticated",
      // md5(0xff || "target-secret-123" || 0a 0b 0c), computed outside this code base.
      answers: [["CHAP_N", "target-user"], ["CHAP_R", "0bs+BR3b9911NJCkubOkLa0w=="]],
    });
  });

  it("refuses mutual CHAP it cannot or must not answer", () => {
    const mutualRequest: Array<[string, string]> = [
      ["CHAP_N", "alice"], ["CHAP_R", ALICE_RESPONSE], ["CHAP_I", "1"], ["CHAP_C", "0x0a0b0c"],
    ];
    const withoutMutual = exchange();
    withoutMutual.handle([["CHAP_A", "5"]]);
    expect(withoutMutual.handle(mutualRequest))
      .toMatchObject({ kind: "failed", failure: "authentication" });

    const sameSecret = exchange({ ...CONFIG, mutual: { username: "t", secret: CONFIG.secret } });
    sameSecret.handle([["CHAP_A", "5"]]);
    expect(sameSecret.handle(mutualRequest)).toMatchObject({ kind: "failed" });

    const reflected = exchange({ ...CONFIG, mutual: { username: "t", secret: "other-secret" } });
    reflected.handle([["CHAP_A", "5"]]);
    expect(reflected.handle([
      ["CHAP_N", "alice"], ["CHAP_R", ALICE_RESPONSE], ["CHAP_I", "7"],
      ["CHAP_C", `0x${CHALLENGE.toString("hex")}`],
    ])).toMatchObject({ kind: "failed", failure: "authentication", reason: expect.stringMatching(
      /reflected/) });

    const lonelyIdentifier = exchange({ ...CONFIG, mutual: { username: "t", secret: "xyz" } });
    lonelyIdentifier.handle([["CHAP_A", "5"]]);
    expect(lonelyIdentifier.handle([["CHAP_N", "alice"], ["CHAP_R", ALICE_RESPONSE],
      ["CHAP_I", "1"]])).toMatchObject({ kind: "failed", failure: "protocol" });
  });

  it("does not authenticate an impostor before answering its challenge", () => {
    const chap = exchange({ ...CONFIG, mutual: { username: "t", secret: "target-secret-123" } });
    chap.handle([["CHAP_A", "5"]]);
    const outcome = chap.handle([
      ["CHAP_N", "alice"], ["CHAP_R", "0x00000000000000000000000000000000"], ["CHAP_I", "1"],
      ["CHAP_C", "0x0a0b0c"],
    ]);
    expect(outcome).toMatchObject({ kind: "failed", failure: "authentication" });
  });
});
