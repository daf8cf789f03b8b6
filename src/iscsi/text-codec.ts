// Login and Text data segments: key=value pairs, each followed by one NUL (RFC 7143 section 6.1).

import {
  TEXT_KEY_MAX_LENGTH,
  TEXT_LARGE_VALUE_MAX_LENGTH,
  TEXT_VALUE_MAX_LENGTH,
} from "./constants.ts";

export type TextPair = [key: string, value: string];

export type TextFormatErrorCode =
  | "MISSING_EQUALS"
  | "BAD_KEY"
  | "KEY_TOO_LONG"
  | "VALUE_TOO_LONG"
  | "BAD_VALUE"
  | "DUPLICATE_KEY"
  | "NOT_UTF8"
  | "UNTERMINATED";

export class TextFormatError extends Error {
  constructor(
    readonly code: TextFormatErrorCode,
    /** The offending key, or null when none could be read. */
    readonly key: string | null,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = "TextFormatError";
  }
}

/** Keys whose values are large binary values (CHAP challenge and response, RFC 7143 12.1.3). */
const LARGE_VALUE_KEYS: ReadonlySet<string> = new Set(["CHAP_C", "CHAP_R"]);
// key-name: letters, digits, . - + @ _ ; X# extension keys add '#'. Starts with a capital letter.
const KEY_PATTERN = /^[A-Z][A-Za-z0-9.\-+@_#]*$/;
const NUL = 0;
const EQUALS = 0x3d;
const utf8 = new TextDecoder("utf-8", { fatal: true });

export interface ParseTextOptions {
  /** SendTargets responses repeat TargetName and TargetAddress; negotiation must not. */
  allowDuplicateKeys?: boolean;
}

export function maxValueLength(key: string): number {
  return LARGE_VALUE_KEYS.has(key) ? TEXT_LARGE_VALUE_MAX_LENGTH : TEXT_VALUE_MAX_LENGTH;
}

/** Parses a whole (reassembled) text data segment, keeping the pairs in order. */
export function parseTextData(data: Buffer, options: ParseTextOptions = {}): TextPair[] {
  const pairs: TextPair[] = [];
  const seen = new Set<string>();
  let start = 0;
  while (start < data.length) {
    const end = data.indexOf(NUL, start);
    if (end < 0) throw new TextFormatError("UNTERMINATED", null, "last pair lacks its NUL");
    if (end === start) {
      // Some initiators pad the segment with NULs; anything after them is malformed.
      if (data.subarray(start).some((byte) => byte !== NUL)) {
        throw new TextFormatError("MISSING_EQUALS", null, `empty pair at byte ${start}`);
      }
      break;
    }
    const pair = parsePair(data.subarray(start, end));
    const [key] = pair;
    if (seen.has(key) && !options.allowDuplicateKeys) {
      throw new TextFormatError("DUPLICATE_KEY", key, `key ${key} sent twice`);
    }
    seen.add(key);
    pairs.push(pair);
    start = end + 1;
  }
  return pairs;
}

function parsePair(entry: Buffer): TextPair {
  const equals = entry.indexOf(EQUALS);
  if (equals < 0) {
    const shown = entry.subarray(0, TEXT_KEY_MAX_LENGTH).toString("latin1");
    throw new TextFormatError("MISSING_EQUALS", null, `no '=' in "${shown}"`);
  }
  const key = decodeUtf8(entry.subarray(0, equals), null);
  checkKey(key);
  const valueBytes = entry.subarray(equals + 1);
  if (valueBytes.length > maxValueLength(key)) {
    const message = `value of ${key} is ${valueBytes.length} bytes`;
    throw new TextFormatError("VALUE_TOO_LONG", key, message);
  }
  return [key, decodeUtf8(valueBytes, key)];
}

function decodeUtf8(bytes: Buffer, key: string | null): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new TextFormatError("NOT_UTF8", key, key === null ? "key not UTF-8" : `${key} not UTF-8`);
  }
}

function checkKey(key: string): void {
  if (key.length > TEXT_KEY_MAX_LENGTH) {
    throw new TextFormatError("KEY_TOO_LONG", key, `key ${key} longer than 63 bytes`);
  }
  if (!KEY_PATTERN.test(key)) throw new TextFormatError("BAD_KEY", key, `bad key name "${key}"`);
}

/** Encodes pairs in order, each as key=value plus NUL. Throws on pairs parseTextData rejects. */
export function encodeTextData(pairs: readonly TextPair[]): Buffer {
  const entries: Buffer[] = [];
  for (const [key, value] of pairs) {
    checkKey(key);
    const valueBytes = Buffer.from(value, "utf8");
    if (valueBytes.includes(NUL)) {
      throw new TextFormatError("BAD_VALUE", key, `${key} value has a NUL`);
    }
    if (valueBytes.length > maxValueLength(key)) {
      throw new TextFormatError("VALUE_TOO_LONG", key, `value of ${key} too long`);
    }
    entries.push(Buffer.from(`${key}=`, "utf8"), valueBytes, Buffer.alloc(1));
  }
  return Buffer.concat(entries);
}
