import { describe, expect, it } from "vitest";
import {
  encodeTextData,
  parseTextData,
  TextFormatError,
  type TextPair,
} from "../../src/iscsi/text-codec.ts";

function text(s: string): Buffer {
  return Buffer.from(s, "utf8");
}

function parseError(data: Buffer, allowDuplicateKeys = false): TextFormatError {
  try {
    parseTextData(data, { allowDuplicateKeys });
  } catch (err) {
    if (err instanceof TextFormatError) return err;
    throw err;
  }
  throw new Error("parser accepted malformed text");
}

describe("parseTextData", () => {
  it("parses pairs in order, keeping '=' inside values", () => {
    const data = text("InitiatorName=iqn.1994-05.com.redhat:a\0SessionType=Normal\0X-a=b=c\0");
    expect(parseTextData(data)).toEqual([
      ["InitiatorName", "iqn.1994-05.com.redhat:a"],
      ["SessionType", "Normal"],
      ["X-a", "b=c"],
    ]);
  });

  it("accepts empty values, UTF-8 and an empty segment", () => {
    expect(parseTextData(text("TargetAlias=\0"))).toEqual([["TargetAlias", ""]]);
    expect(parseTextData(text("TargetAlias=Größe\0"))).toEqual([["TargetAlias", "Größe"]]);
    expect(parseTextData(Buffer.alloc(0))).toEqual([]);
  });

  it("tolerates trailing NUL padding only", () => {
    expect(parseTextData(text("A=1\0\0\0"))).toEqual([["A", "1"]]);
    expect(parseError(text("A=1\0\0B=2\0")).code).toBe("MISSING_EQUALS");
  });

  it("rejects duplicates unless allowed, naming the key", () => {
    const data = text("TargetName=a\0TargetAddress=x\0TargetName=b\0");
    const err = parseError(data);
    expect(err.code).toBe("DUPLICATE_KEY");
    expect(err.key).toBe("TargetName");
    expect(parseTextData(data, { allowDuplicateKeys: true })).toHaveLength(3);
  });

  it("rejects malformed entries", () => {
    expect(parseError(text("NoEquals\0")).code).toBe("MISSING_EQUALS");
    expect(parseError(text("A=1")).code).toBe("UNTERMINATED");
    expect(parseError(text("=1\0")).code).toBe("BAD_KEY");
    expect(parseError(text("lower=1\0")).code).toBe("BAD_KEY");
    expect(parseError(text("Sp ace=1\0")).code).toBe("BAD_KEY");
    const badUtf8 = Buffer.concat([text("TargetAlias="), Buffer.from([0xc3, 0x28]), text("\0")]);
    const err = parseError(badUtf8);
    expect([err.code, err.key]).toEqual(["NOT_UTF8", "TargetAlias"]);
  });

  it("limits keys to 63 bytes and values to 255, CHAP_C and CHAP_R to 8192", () => {
    expect(parseTextData(text(`K${"x".repeat(62)}=1\0`))).toHaveLength(1);
    expect(parseError(text(`K${"x".repeat(63)}=1\0`)).code).toBe("KEY_TOO_LONG");
    expect(parseTextData(text(`TargetAlias=${"v".repeat(255)}\0`))).toHaveLength(1);
    const long = parseError(text(`TargetAlias=${"v".repeat(256)}\0`));
    expect([long.code, long.key]).toEqual(["VALUE_TOO_LONG", "TargetAlias"]);
    expect(parseTextData(text(`CHAP_C=0x${"ab".repeat(1024)}\0`))).toHaveLength(1);
    expect(parseError(text(`CHAP_R=0x${"a".repeat(8191)}\0`)).code).toBe("VALUE_TOO_LONG");
  });
});

describe("encodeTextData", () => {
  it("round-trips through parseTextData", () => {
    const pairs: TextPair[] = [
      ["HeaderDigest", "CRC32C,None"],
      ["MaxRecvDataSegmentLength", "262144"],
      ["TargetAlias", "Größe"],
    ];
    const data = encodeTextData(pairs);
    expect(data.toString("latin1")).toContain("HeaderDigest=CRC32C,None\0MaxRecv");
    expect(data[data.length - 1]).toBe(0);
    expect(parseTextData(data)).toEqual(pairs);
  });

  it("refuses pairs the parser would reject", () => {
    expect(() => encodeTextData([["bad key", "1"]])).toThrow(TextFormatError);
    expect(() => encodeTextData([["A", "x\0y"]])).toThrow(/BAD_VALUE/);
    expect(() => encodeTextData([["A", "x".repeat(256)]])).toThrow(/VALUE_TOO_LONG/);
  });
});
