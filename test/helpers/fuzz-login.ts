// Login-phase fuzz inputs: a valid first Login Request of a normal session, then ways to break
// it (bit flips, garbage keys, wrong lengths, truncation, noise, oversized texts).
import { Prng } from "./prng.ts";
import { BHS_LENGTH, LOGIN_STAGE, loginRequest, textKeys } from "./raw-pdu.ts";

export interface FuzzCase {
  kind: string; // how the input was made or broken
  command?: string; // the full-feature-phase command it started from
  bytes: Buffer;
}

export interface LoginNames {
  initiatorIqn: string;
  targetIqn: string;
}

export const MAX_LOGIN_TEXT_BYTES = 1 << 20;

export function randomIsid(prng: Prng): Buffer {
  const isid = prng.bytes(6);
  isid[0] = 0x80 | (isid[0] & 0x3f); // type "random"
  return isid;
}

export function securityStageKeys(names: LoginNames): Array<[string, string]> {
  return [
    ["InitiatorName", names.initiatorIqn],
    ["SessionType", "Normal"],
    ["TargetName", names.targetIqn],
    ["AuthMethod", "None"],
  ];
}

function firstLogin(prng: Prng, text: Buffer, options: { continue?: boolean } = {}): Buffer {
  return loginRequest({
    transit: !options.continue,
    continue: options.continue,
    csg: LOGIN_STAGE.security,
    nsg: LOGIN_STAGE.operational,
    isid: randomIsid(prng),
    tsih: 0,
    itt: prng.uint32(),
    cid: 0,
    cmdSN: 1,
    expStatSN: 0,
    text,
  });
}

/** 1 to 8 random bit flips; `keepLengths` spares TotalAHSLength and DataSegmentLength. */
export function flipBits(prng: Prng, bytes: Buffer, keepLengths = false): Buffer {
  const flipped = Buffer.from(bytes);
  const flips = prng.between(1, 8);
  for (let flip = 0; flip < flips; flip++) {
    const bit = prng.int(flipped.length * 8);
    if (keepLengths && bit >= 4 * 8 && bit < 8 * 8) continue;
    flipped[bit >> 3] ^= 1 << (bit & 7);
  }
  return flipped;
}

const INVALID_UTF8 = [
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0xc3, 0x28]),
  Buffer.from([0x80]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
];

/** Broken login texts, each a list of raw "key=value\0" byte runs. */
function garbageText(prng: Prng, names: LoginNames): Buffer {
  const valid = textKeys(securityStageKeys(names));
  const longRun = (length: number): string => "K".repeat(length);
  const generators: Array<() => Buffer> = [
    () => Buffer.concat([valid, textKeys([[longRun(prng.between(64, 2000)), "1"]])]),
    () => Buffer.concat([valid, textKeys([["X-Long", longRun(prng.between(256, 9000))]])]),
    () => Buffer.concat([valid, Buffer.from(`${longRun(prng.between(1, 100))}\0`)]),
    () => Buffer.concat([valid, textKeys([["InitiatorName", "iqn.2025-01.test:other"]])]),
    () => Buffer.concat([valid, textKeys([["HeaderDigest", "None"], ["HeaderDigest", "CRC32C"]])]),
    () => Buffer.concat([valid, Buffer.from("X-Utf8="), prng.pick(INVALID_UTF8), Buffer.of(0)]),
    () => Buffer.concat([Buffer.from("InitiatorName="), prng.pick(INVALID_UTF8), Buffer.of(0)]),
    () => Buffer.concat([valid, Buffer.from("=value\0InitiatorName=\0")]),
    () => valid.subarray(0, valid.length - 1), // no terminating NUL
    () => Buffer.concat([valid, textKeys(manyKeys(prng.between(100, 600)))]),
    () => Buffer.concat([valid, textKeys([[prng.pick(NUMERIC_KEYS), prng.pick(BAD_NUMBERS)]])]),
    () => Buffer.concat([valid, textKeys([[prng.pick(ENUM_KEYS), prng.pick(BAD_ENUMS)]])]),
    () => textKeys([["SessionType", "Normal"], ["TargetName", names.targetIqn]]),
    () => textKeys([["InitiatorName", names.initiatorIqn], ["SessionType", "Normal"]]),
    () => textKeys([["InitiatorName", names.initiatorIqn], ["AuthMethod", "CHAP"],
      ["CHAP_A", "5"], ["CHAP_N", "x"], ["CHAP_R", "0x00"], ["TargetName", names.targetIqn]]),
    () => Buffer.alloc(prng.between(1, 64)), // only NULs
    () => prng.bytes(prng.between(1, 8192)),
  ];
  return prng.pick(generators)();
}

const NUMERIC_KEYS = ["MaxRecvDataSegmentLength", "MaxBurstLength", "FirstBurstLength",
  "DefaultTime2Wait", "MaxConnections", "MaxOutstandingR2T", "ErrorRecoveryLevel"];
const BAD_NUMBERS = ["", "-1", "0", "0x", "99999999999999999999999", "1e9", "4294967296",
  "0b", "0x1ffffffffffffffff", " 12", "NaN", "12,13"];
const ENUM_KEYS = ["HeaderDigest", "DataDigest", "SessionType", "AuthMethod", "InitialR2T",
  "ImmediateData", "DataPDUInOrder"];
const BAD_ENUMS = ["", "Maybe", "None,,,", ",", "CRC32C,None,Foo", "Yes,No", "Reject",
  "Irrelevant", "NotUnderstood", "x".repeat(300)];

function manyKeys(count: number): Array<[string, string]> {
  return Array.from({ length: count }, (_, index): [string, string] => [`X-Key${index}`, "v"]);
}

/** A login text of `totalBytes` split over Login Requests with the C bit (all but the last). */
function continuedText(prng: Prng, names: LoginNames, totalBytes: number): Buffer {
  const text = Buffer.concat([textKeys(securityStageKeys(names)),
    textKeys([["X-Filler", "f".repeat(totalBytes)]])]);
  const isid = randomIsid(prng);
  const itt = prng.uint32();
  const pieceBytes = 8192;
  const pieces: Buffer[] = [];
  for (let start = 0; start < text.length; start += pieceBytes) {
    const last = start + pieceBytes >= text.length;
    pieces.push(loginRequest({
      transit: last, continue: !last, csg: LOGIN_STAGE.security, nsg: LOGIN_STAGE.operational,
      isid, tsih: 0, itt, cid: 0, cmdSN: 1, expStatSN: 0,
      text: text.subarray(start, start + pieceBytes),
    }));
  }
  return Buffer.concat(pieces);
}

function withLengthFields(pdu: Buffer, totalAhsWords: number, dataSegmentBytes: number): Buffer {
  const changed = Buffer.from(pdu);
  changed[4] = totalAhsWords;
  changed.writeUIntBE(dataSegmentBytes, 5, 3);
  return changed;
}

/** The first bytes of a fresh connection: a broken login, or no login at all. */
export function loginPhaseCase(prng: Prng, names: LoginNames): FuzzCase {
  const validLogin = (): Buffer => firstLogin(prng, textKeys(securityStageKeys(names)));
  const makers: Array<[number, () => FuzzCase]> = [
    [60, () => ({ kind: "login bit flips", bytes: flipBits(prng, validLogin()) })],
    [60, () => ({ kind: "login garbage keys", bytes: firstLogin(prng, garbageText(prng, names)) })],
    [16, () => ({ kind: "random opcode", bytes: randomOpcode(prng, validLogin()) })],
    [16, () => ({ kind: "bad lengths", bytes: badLengths(prng, validLogin()) })],
    [8, () => ({ kind: "huge length", bytes: hugeLength(prng, validLogin()) })],
    [16, () => ({ kind: "truncated", bytes: truncated(prng, validLogin()) })],
    [16, () => ({ kind: "noise", bytes: prng.bytes(prng.between(1, 4096)) })],
    [1, () => ({ kind: "1 MiB login text", bytes: firstLogin(prng, Buffer.concat([
      textKeys(securityStageKeys(names)), Buffer.alloc(MAX_LOGIN_TEXT_BYTES, 0x41)])) })],
    [1, () => ({ kind: "1 MiB login text in 8 KiB PDUs",
      bytes: continuedText(prng, names, MAX_LOGIN_TEXT_BYTES) })],
  ];
  return weightedPick(prng, makers)();
}

export function weightedPick<T>(prng: Prng, choices: ReadonlyArray<readonly [number, T]>): T {
  const total = choices.reduce((sum, [weight]) => sum + weight, 0);
  let draw = prng.int(total);
  for (const [weight, choice] of choices) {
    if (draw < weight) return choice;
    draw -= weight;
  }
  throw new Error("unreachable: weights exhausted");
}

export function randomOpcode(prng: Prng, pdu: Buffer): Buffer {
  const changed = Buffer.from(pdu);
  changed[0] = prng.int(256);
  return changed;
}

/** DataSegmentLength or TotalAHSLength disagreeing with the bytes that follow. */
export function badLengths(prng: Prng, pdu: Buffer): Buffer {
  const dataBytes = pdu.readUIntBE(5, 3);
  const wrongData = prng.chance(0.5) ? prng.int(dataBytes + 1) : dataBytes + prng.between(1, 9000);
  const ahsWords = prng.chance(0.5) ? prng.between(1, 255) : 0;
  return withLengthFields(pdu, ahsWords, wrongData);
}

/** Lengths far beyond any limit, followed by a little of what they announce. */
export function hugeLength(prng: Prng, pdu: Buffer): Buffer {
  const announced = withLengthFields(pdu, prng.chance(0.3) ? 255 : 0, 0xffffff);
  return Buffer.concat([announced, prng.bytes(prng.between(0, 16384))]);
}

/** The first bytes of a PDU: part of the BHS, or the BHS and part of the data segment. */
export function truncated(prng: Prng, pdu: Buffer): Buffer {
  const dataBytes = pdu.readUIntBE(5, 3);
  const cut = prng.chance(0.5) || dataBytes === 0
    ? prng.between(1, BHS_LENGTH - 1)
    : BHS_LENGTH + prng.int(dataBytes);
  return pdu.subarray(0, cut);
}
