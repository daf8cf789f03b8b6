// CHAP authentication in the security stage (RFC 7143 section 12.1.3, RFC 1994): the target
// challenges the initiator and, when asked (mutual CHAP), answers the initiator's challenge.
//   I->T CHAP_A=<A1,A2...>            T->I CHAP_A=<A> CHAP_I=<I> CHAP_C=<C>
//   I->T CHAP_N=<N> CHAP_R=<R> [CHAP_I=<I2> CHAP_C=<C2>]   T->I [CHAP_N=<N2> CHAP_R=<R2>]
import { createHash, timingSafeEqual } from "node:crypto";
import type { ChapConfig } from "../../mgmt/config.ts";
import type { TextPair } from "../text-codec.ts";
import { parseNumericValue } from "./keys.ts";

/** CHAP_A values: the IANA PPP authentication algorithm numbers. */
export const CHAP_ALGORITHMS: ReadonlyMap<number, { hash: string; digestBytes: number }> =
  new Map([
    [5, { hash: "md5", digestBytes: 16 }],
    [6, { hash: "sha1", digestBytes: 20 }],
    [7, { hash: "sha256", digestBytes: 32 }],
    [8, { hash: "sha3-256", digestBytes: 32 }],
  ]);

/** RFC 7143 section 12.1.3 bounds CHAP_C to 1024 bytes. */
const MAX_CHALLENGE_BYTES = 1024;
const MIN_CHALLENGE_BYTES = 16;

export type BinaryEncoding = "hex" | "base64";

/** A binary value (RFC 7143 section 6.1): "0x" hex or "0b" base64; null when malformed. */
export function decodeBinaryValue(
  text: string,
): { bytes: Buffer; encoding: BinaryEncoding } | null {
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) {
    const digits = text.slice(2);
    // An odd digit count has an implicit leading zero.
    const even = digits.length % 2 === 0 ? digits : `0${digits}`;
    return { bytes: Buffer.from(even, "hex"), encoding: "hex" };
  }
  if (/^0[bB][A-Za-z0-9+/]+={0,2}$/.test(text) && (text.length - 2) % 4 === 0) {
    return { bytes: Buffer.from(text.slice(2), "base64"), encoding: "base64" };
  }
  return null;
}

export function encodeBinaryValue(bytes: Buffer, encoding: BinaryEncoding): string {
  return encoding === "hex" ? `0x${bytes.toString("hex")}` : `0b${bytes.toString("base64")}`;
}

/** RFC 1994 section 4.1: Response = H(Identifier || secret || Challenge). */
export function chapResponse(
  algorithm: number, identifier: number, secret: string, challenge: Buffer,
): Buffer {
  const spec = CHAP_ALGORITHMS.get(algorithm);
  if (spec === undefined) throw new Error(`CHAP algorithm ${algorithm} is not supported`);
  if (!Number.isInteger(identifier) || identifier < 0 || identifier > 255) {
    throw new Error(`CHAP identifier ${identifier} is not one octet`);
  }
  return createHash(spec.hash)
    .update(Buffer.from([identifier]))
    .update(Buffer.from(secret, "utf8"))
    .update(challenge)
    .digest();
}

export type ChapOutcome =
  | { kind: "continue"; answers: TextPair[] }
  | { kind: "authenticated"; answers: TextPair[] }
  /** "protocol": the initiator broke the exchange; "authentication": it failed to prove. */
  | { kind: "failed"; failure: "protocol" | "authentication"; reason: string };

type ChapState =
  | { name: "awaitingAlgorithm" }
  | { name: "awaitingResponse"; algorithm: number; identifier: number; challenge: Buffer }
  | { name: "finished" };

/** One CHAP exchange as the authenticator (the target). */
export class ChapExchange {
  private state: ChapState = { name: "awaitingAlgorithm" };

  constructor(
    private readonly config: ChapConfig,
    private readonly randomBytes: (size: number) => Buffer,
    /** Algorithms we accept; the initiator's order of preference decides among them. */
    private readonly algorithms: readonly number[] = [...CHAP_ALGORITHMS.keys()],
  ) {
    for (const algorithm of algorithms) {
      if (!CHAP_ALGORITHMS.has(algorithm)) throw new Error(`unknown CHAP algorithm ${algorithm}`);
    }
  }

  /** Handles the CHAP_* pairs of one complete request. */
  handle(pairs: readonly TextPair[]): ChapOutcome {
    const keys = new Map(pairs);
    switch (this.state.name) {
      case "awaitingAlgorithm":
        return this.chooseAlgorithm(keys);
      case "awaitingResponse":
        return this.verifyResponse(keys, this.state);
      case "finished":
        throw new Error("CHAP exchange already finished");
    }
  }

  private chooseAlgorithm(keys: ReadonlyMap<string, string>): ChapOutcome {
    const offer = keys.get("CHAP_A");
    if (offer === undefined || keys.size !== 1) {
      return this.fail("protocol", "expected CHAP_A alone");
    }
    const offered = offer.split(",").map(parseNumericValue);
    const algorithm = offered.find((value) => value !== null && this.algorithms.includes(value));
    if (algorithm === undefined || algorithm === null) {
      return this.fail("authentication", `no supported CHAP algorithm in ${offer}`);
    }
    const identifier = this.randomBytes(1)[0]!;
    const spec = CHAP_ALGORITHMS.get(algorithm)!;
    const challenge = this.randomBytes(Math.max(MIN_CHALLENGE_BYTES, spec.digestBytes));
    this.state = { name: "awaitingResponse", algorithm, identifier, challenge };
    return {
      kind: "continue",
      answers: [
        ["CHAP_A", String(algorithm)],
        ["CHAP_I", String(identifier)],
        ["CHAP_C", encodeBinaryValue(challenge, "hex")],
      ],
    };
  }

  private verifyResponse(
    keys: ReadonlyMap<string, string>,
    state: Extract<ChapState, { name: "awaitingResponse" }>,
  ): ChapOutcome {
    const name = keys.get("CHAP_N");
    const response = keys.get("CHAP_R");
    const mutualIdentifier = keys.get("CHAP_I");
    const mutualChallenge = keys.get("CHAP_C");
    const expectedKeys = 2 + (mutualIdentifier === undefined ? 0 : 1) +
      (mutualChallenge === undefined ? 0 : 1);
    if (name === undefined || response === undefined || keys.size !== expectedKeys) {
      return this.fail("protocol", "expected CHAP_N and CHAP_R, with CHAP_I and CHAP_C or not");
    }
    if ((mutualIdentifier === undefined) !== (mutualChallenge === undefined)) {
      return this.fail("protocol", "CHAP_I and CHAP_C must come together");
    }
    const received = decodeBinaryValue(response);
    if (received === null) return this.fail("protocol", "CHAP_R is not a binary value");
    // Authenticate the initiator before answering its challenge, so that an impostor cannot
    // use us to compute responses for it.
    const expected = chapResponse(
      state.algorithm, state.identifier, this.config.secret, state.challenge);
    const nameMatches = name === this.config.username;
    const responseMatches = received.bytes.length === expected.length &&
      timingSafeEqual(received.bytes, expected);
    if (!nameMatches || !responseMatches) {
      return this.fail("authentication", "wrong CHAP name or response");
    }
    if (mutualIdentifier === undefined || mutualChallenge === undefined) {
      this.state = { name: "finished" };
      return { kind: "authenticated", answers: [] };
    }
    return this.answerMutual(mutualIdentifier, mutualChallenge, state);
  }

  private answerMutual(
    identifierText: string,
    challengeText: string,
    state: Extract<ChapState, { name: "awaitingResponse" }>,
  ): ChapOutcome {
    const mutual = this.config.mutual;
    if (mutual === undefined) {
      return this.fail("authentication", "mutual CHAP asked but not configured");
    }
    // RFC 7143 section 12.1.3: a secret that authenticates initiators MUST NOT authenticate
    // targets; refusing here keeps a misconfiguration from becoming an oracle.
    if (mutual.secret === this.config.secret) {
      return this.fail("authentication", "mutual CHAP secret equals the initiator secret");
    }
    const identifier = parseNumericValue(identifierText);
    if (identifier === null || identifier > 255) {
      return this.fail("protocol", "CHAP_I is not one octet");
    }
    const challenge = decodeBinaryValue(challengeText);
    if (challenge === null || challenge.bytes.length === 0 ||
      challenge.bytes.length > MAX_CHALLENGE_BYTES) {
      return this.fail("protocol", "CHAP_C is not a binary value of 1 to 1024 bytes");
    }
    if (challenge.bytes.equals(state.challenge)) {
      return this.fail("authentication", "initiator reflected our CHAP challenge");
    }
    const answer = chapResponse(state.algorithm, identifier, mutual.secret, challenge.bytes);
    this.state = { name: "finished" };
    return {
      kind: "authenticated",
      answers: [
        ["CHAP_N", mutual.username],
        ["CHAP_R", encodeBinaryValue(answer, challenge.encoding)],
      ],
    };
  }

  private fail(failure: "protocol" | "authentication", reason: string): ChapOutcome {
    this.state = { name: "finished" };
    return { kind: "failed", failure, reason };
  }
}
