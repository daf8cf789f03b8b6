import { describe, expect, it } from "vitest";
import { crc32c } from "../../src/iscsi/crc32c.ts";

/** The digest bytes as RFC 3720 B.4 prints them: the order they go on the wire. */
function wireBytes(crc: number): string {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(crc);
  return out.toString("hex");
}

function bitwiseCrc32c(buf: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

describe("crc32c", () => {
  it("matches the RFC 3720 B.4 test vectors", () => {
    const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    const descending = Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i));
    const read10Pdu = Buffer.from(
      "01c00000000000000000000000000000" +
        "14000000000004000000001400000018" +
        "28000000000000000200000000000000",
      "hex",
    );
    expect(wireBytes(crc32c(Buffer.alloc(32, 0x00)))).toBe("aa36918a");
    expect(wireBytes(crc32c(Buffer.alloc(32, 0xff)))).toBe("43aba862");
    expect(wireBytes(crc32c(ascending))).toBe("4e79dd46");
    expect(wireBytes(crc32c(descending))).toBe("5cdb3f11");
    expect(wireBytes(crc32c(read10Pdu))).toBe("563a96d9");
  });

  it("gives the standard check value for '123456789'", () => {
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
  });

  it("is 0 for no bytes", () => {
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it("agrees with a bitwise implementation at every length and alignment", () => {
    const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff));
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= bytes.length; end += 13) {
        const view = bytes.subarray(start, end);
        expect(crc32c(view)).toBe(bitwiseCrc32c(view));
      }
    }
  });

  it("continues incrementally from a seed", () => {
    const bytes = Buffer.from(Array.from({ length: 100 }, (_, i) => (i * 29) & 0xff));
    const whole = crc32c(bytes);
    for (let split = 0; split <= bytes.length; split++) {
      expect(crc32c(bytes.subarray(split), crc32c(bytes.subarray(0, split)))).toBe(whole);
    }
  });
});
