import { describe, expect, it } from "vitest";
import * as codec from "../../src/iscsi/pdu.ts";
import {
  type DigestSettings,
  PduReader,
  type PduReaderError,
  pduWireParts,
} from "../../src/iscsi/pdu-reader.ts";
import type { Pdu } from "../../src/iscsi/pdu-types.ts";

interface WirePdu {
  header: Buffer;
  data: Buffer;
}

function nopOut(itt: number, dataLength: number): WirePdu {
  const data = Buffer.from(Array.from({ length: dataLength }, (_, i) => (i * 7 + itt) & 0xff));
  const header = codec.encodeNopOut({
    immediate: true,
    lun: 0,
    itt,
    ttt: 0xffffffff,
    cmdSN: itt,
    expStatSN: 0,
    dataSegmentLength: dataLength,
  });
  return { header, data };
}

function writeWithExtendedCdb(itt: number, dataLength: number): WirePdu {
  const header = codec.encodeScsiCommand({
    immediate: false,
    final: true,
    read: false,
    write: true,
    taskAttribute: 1,
    lun: 1,
    itt,
    expectedDataTransferLength: dataLength,
    cmdSN: itt,
    expStatSN: 0,
    cdb: Buffer.alloc(20, 0x7f),
    bidiReadLength: null,
    dataSegmentLength: dataLength,
  });
  return { header, data: Buffer.alloc(dataLength, itt) };
}

/** PDUs with and without AHS, with data lengths needing 0..3 bytes of padding, and empty. */
const SAMPLE: WirePdu[] = [
  nopOut(1, 0),
  nopOut(2, 5),
  writeWithExtendedCdb(3, 6),
  nopOut(4, 7),
  nopOut(5, 8),
  writeWithExtendedCdb(6, 0),
  nopOut(7, 1),
];

function wire(pdus: WirePdu[], digests: DigestSettings): Buffer {
  return Buffer.concat(pdus.flatMap((p) => pduWireParts(p.header, p.data, digests)));
}

function describePdu(pdu: Pdu): string {
  return [pdu.bhs, pdu.ahs, pdu.data].map((b) => b.toString("hex")).join("|");
}

function expected(pdus: WirePdu[]): string[] {
  return pdus.map((p) => describePdu(codec.pduFromParts(p.header, p.data)));
}

interface Collected {
  pdus: string[];
  errors: PduReaderError[];
  reader: PduReader;
}

function collect(digests: DigestSettings, maxDataSegmentLength = 8192): Collected {
  const out: Collected = { pdus: [], errors: [], reader: undefined as unknown as PduReader };
  out.reader = new PduReader({
    headerDigest: digests.header,
    dataDigest: digests.data,
    maxDataSegmentLength,
    onPdu: (pdu) => out.pdus.push(describePdu(pdu)),
    onError: (err) => out.errors.push(err),
  });
  return out;
}

const DIGEST_MODES: DigestSettings[] = [
  { header: false, data: false },
  { header: true, data: false },
  { header: false, data: true },
  { header: true, data: true },
];

describe("PduReader framing", () => {
  for (const digests of DIGEST_MODES) {
    const mode = `header digest ${digests.header}, data digest ${digests.data}`;

    it(`reads a stream split at every byte offset (${mode})`, () => {
      const stream = wire(SAMPLE, digests);
      for (let split = 0; split <= stream.length; split++) {
        const out = collect(digests);
        out.reader.push(stream.subarray(0, split));
        out.reader.push(stream.subarray(split));
        expect(out.errors).toEqual([]);
        expect(out.pdus).toEqual(expected(SAMPLE));
      }
    });

    it(`reads a stream fed one byte at a time and in three pieces (${mode})`, () => {
      const stream = wire(SAMPLE, digests);
      const byByte = collect(digests);
      for (let i = 0; i < stream.length; i++) byByte.reader.push(stream.subarray(i, i + 1));
      expect(byByte.pdus).toEqual(expected(SAMPLE));
      for (let a = 0; a < stream.length; a += 5) {
        for (let b = a; b < stream.length; b += 11) {
          const out = collect(digests);
          for (const piece of [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]) {
            out.reader.push(piece);
          }
          expect(out.pdus).toEqual(expected(SAMPLE));
        }
      }
    });
  }

  it("hands out views of the chunk when a PDU lies in one chunk", () => {
    const stream = wire([nopOut(1, 64)], { header: true, data: true });
    const seen: Pdu[] = [];
    const reader = new PduReader({
      headerDigest: true,
      dataDigest: true,
      maxDataSegmentLength: 8192,
      onPdu: (pdu) => seen.push(pdu),
      onError: (err) => {
        throw err;
      },
    });
    reader.push(stream);
    expect(seen).toHaveLength(1);
    expect(seen[0].bhs.buffer).toBe(stream.buffer);
    expect(seen[0].data.buffer).toBe(stream.buffer);
    expect(seen[0].data.byteOffset).toBe(stream.byteOffset + 48 + 4);
  });

  it("applies a digest change made while handling a PDU to the next PDU", () => {
    const plain = wire([nopOut(1, 3)], { header: false, data: false });
    const digested = wire([nopOut(2, 9), nopOut(3, 0)], { header: true, data: true });
    const stream = Buffer.concat([plain, digested]);
    for (let split = 0; split <= stream.length; split++) {
      const out = collect({ header: false, data: false });
      const reader = new PduReader({
        headerDigest: false,
        dataDigest: false,
        maxDataSegmentLength: 8192,
        onPdu: (pdu) => {
          out.pdus.push(describePdu(pdu));
          reader.setDigests(true, true); // as after the final Login Response
        },
        onError: (err) => out.errors.push(err),
      });
      reader.push(stream.subarray(0, split));
      reader.push(stream.subarray(split));
      expect(out.errors).toEqual([]);
      expect(out.pdus).toEqual(expected([nopOut(1, 3), nopOut(2, 9), nopOut(3, 0)]));
    }
  });
});

describe("PduReader errors", () => {
  const digests = { header: true, data: true };

  it("stops on a header digest error", () => {
    const stream = wire(SAMPLE, digests);
    stream[48] ^= 0x01; // first byte of the first PDU's header digest
    const out = collect(digests);
    out.reader.push(stream);
    expect(out.pdus).toEqual([]);
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0].code).toBe("HEADER_DIGEST");
    expect(out.errors[0].fatal).toBe(true);
    out.reader.push(wire([nopOut(9, 0)], digests));
    expect(out.pdus).toEqual([]);
  });

  it("reports a data digest error with the BHS and reads on", () => {
    const damaged = wire([nopOut(1, 5)], digests);
    damaged[48 + 4 + 2] ^= 0xff; // a data byte
    const stream = Buffer.concat([damaged, wire([nopOut(2, 4)], digests)]);
    const out = collect(digests);
    out.reader.push(stream);
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0].code).toBe("DATA_DIGEST");
    expect(out.errors[0].fatal).toBe(false);
    expect(codec.pduItt(out.errors[0].bhs)).toBe(1);
    expect(out.pdus).toEqual(expected([nopOut(2, 4)]));
  });

  it("covers the padding with the data digest", () => {
    const damaged = wire([nopOut(1, 5)], digests);
    damaged[48 + 4 + 6] = 1; // a padding byte
    const out = collect(digests);
    out.reader.push(damaged);
    expect(out.errors.map((e) => e.code)).toEqual(["DATA_DIGEST"]);
  });

  it("stops when DataSegmentLength exceeds the maximum", () => {
    const noDigests = { header: false, data: false };
    const out = collect(noDigests, 16);
    out.reader.push(wire([nopOut(1, 16), nopOut(2, 17), nopOut(3, 0)], noDigests));
    expect(out.pdus).toEqual(expected([nopOut(1, 16)]));
    expect(out.errors.map((e) => [e.code, e.fatal])).toEqual([["DATA_SEGMENT_TOO_LONG", true]]);
  });
});

describe("pduWireParts", () => {
  it("passes the data through and appends padding and little-endian digests", () => {
    const { header, data } = nopOut(1, 5);
    const parts = pduWireParts(header, data, { header: true, data: true });
    expect(parts.map((p) => p.length)).toEqual([48, 4, 5, 3, 4]);
    expect(parts[0]).toBe(header);
    expect(parts[2]).toBe(data);
    expect(parts[3]).toEqual(Buffer.alloc(3));
    const noDigests = pduWireParts(header, data, { header: false, data: false });
    expect(noDigests.map((p) => p.length)).toEqual([48, 5, 3]);
    const empty = pduWireParts(nopOut(2, 0).header, Buffer.alloc(0), { header: true, data: true });
    expect(empty.map((p) => p.length)).toEqual([48, 4]);
  });

  it("refuses data that does not match DataSegmentLength", () => {
    const { header } = nopOut(1, 5);
    const noDigests = { header: false, data: false };
    expect(() => pduWireParts(header, Buffer.alloc(4), noDigests)).toThrow(/DataSegmentLength/);
  });
});
