import { describe, expect, it } from "vitest";
import { cdb, readyUnit, senseOf, task } from "./scsi-memory-device.ts";

const VERIFY_10 = 0x2f;
const VERIFY_12 = 0xaf;
const VERIFY_16 = 0x8f;
const WRITE_AND_VERIFY_10 = 0x2e;
const WRITE_AND_VERIFY_16 = 0x8e;
const BYTCHK_1 = 0x02;
const BYTCHK_3 = 0x06;
const MISCOMPARE = { key: 0xe, asc: 0x1d, ascq: 0x00 };

async function unitWithData() {
  const ready = await readyUnit();
  for (let i = 0; i < ready.device.bytes.length; i++) ready.device.bytes[i] = (i * 13) & 0xff;
  return ready;
}

describe("VERIFY", () => {
  it.each([
    ["10", (lba: number, n: number, f: number) => cdb.rw10(VERIFY_10, lba, n, f)],
    ["12", (lba: number, n: number, f: number) => cdb.rw12(VERIFY_12, lba, n, f)],
    ["16", (lba: number, n: number, f: number) => cdb.rw16(VERIFY_16, lba, n, f)],
  ])("VERIFY (%s) BYTCHK 1 compares Data-Out with the medium", async (_, build) => {
    const { unit, device, blockSize } = await unitWithData();
    const medium = Buffer.from(device.bytes.subarray(10 * blockSize, 14 * blockSize));
    const same = await unit.execute(task(build(10, 4, BYTCHK_1), { dataOut: medium }));
    expect(same).toEqual({ status: 0 });
    const changed = Buffer.from(medium);
    changed[1234] ^= 0x58;
    const result = await unit.execute(task(build(10, 4, BYTCHK_1), { dataOut: changed }));
    expect(senseOf(result.sense)).toEqual(MISCOMPARE);
    expect(result.sense?.[0]).toBe(0xf0); // VALID
    expect(result.sense?.readUInt32BE(3)).toBe(1234);
  });

  it("BYTCHK 0 only checks the range (and reads the medium)", async () => {
    const { unit, device } = await unitWithData();
    device.calls.length = 0;
    expect(await unit.execute(task(cdb.rw10(VERIFY_10, 0, 8)))).toEqual({ status: 0 });
    expect(device.calls.map((call) => call.op)).toEqual(["read"]);
    const past = await unit.execute(task(cdb.rw10(VERIFY_10, 2047, 2)));
    expect(senseOf(past.sense)).toEqual({ key: 0x5, asc: 0x21, ascq: 0 });
  });

  it("BYTCHK 3 compares one Data-Out block with each block of the range", async () => {
    const { unit, device, blockSize } = await readyUnit();
    device.bytes.fill(0x11, 0, 3 * blockSize);
    const block = Buffer.alloc(blockSize, 0x11);
    expect(await unit.execute(task(cdb.rw10(VERIFY_10, 0, 3, BYTCHK_3), { dataOut: block })))
      .toEqual({ status: 0 });
    device.bytes[2 * blockSize + 5] = 0;
    const result = await unit.execute(task(cdb.rw10(VERIFY_10, 0, 3, BYTCHK_3),
      { dataOut: block }));
    expect(senseOf(result.sense)).toEqual(MISCOMPARE);
    expect(result.sense?.readUInt32BE(3)).toBe(2 * blockSize + 5);
  });

  it("rejects BYTCHK 2, VRPROTECT and out-of-range LBAs with zero blocks", async () => {
    const { unit, blockSize } = await readyUnit();
    const reserved = await unit.execute(task(cdb.rw10(VERIFY_10, 0, 1, 0x04),
      { dataOut: Buffer.alloc(blockSize) }));
    expect(senseOf(reserved.sense)).toEqual({ key: 0x5, asc: 0x24, ascq: 0 });
    const protect = await unit.execute(task(cdb.rw10(VERIFY_10, 0, 1, 0x20 | BYTCHK_1),
      { dataOut: Buffer.alloc(blockSize) }));
    expect(senseOf(protect.sense)).toEqual({ key: 0x5, asc: 0x24, ascq: 0 });
    const zero = await unit.execute(task(cdb.rw10(VERIFY_10, 2049, 0, BYTCHK_1)));
    expect(senseOf(zero.sense)).toEqual({ key: 0x5, asc: 0x21, ascq: 0 });
    expect(await unit.execute(task(cdb.rw10(VERIFY_10, 0, 0, BYTCHK_1)))).toEqual({ status: 0 });
  });

  it("accepts DPO", async () => {
    const { unit, device, blockSize } = await unitWithData();
    const medium = Buffer.from(device.bytes.subarray(0, blockSize));
    const result = await unit.execute(task(cdb.rw10(VERIFY_10, 0, 1, 0x10 | BYTCHK_1),
      { dataOut: medium }));
    expect(result.status).toBe(0);
  });
});

describe("WRITE AND VERIFY", () => {
  it("writes durably, reads back and compares", async () => {
    const { unit, device, blockSize } = await readyUnit();
    device.calls.length = 0;
    const data = Buffer.alloc(2 * blockSize, 0x42);
    const result = await unit.execute(task(cdb.rw16(WRITE_AND_VERIFY_16, 8, 2, BYTCHK_1),
      { dataOut: data }));
    expect(result).toEqual({ status: 0 });
    expect(device.calls).toEqual([
      { op: "write", offset: 8 * blockSize, length: 2 * blockSize, fua: true },
      { op: "read", offset: 8 * blockSize, length: 2 * blockSize },
    ]);
    expect(device.bytes.subarray(8 * blockSize, 10 * blockSize)).toEqual(data);
  });

  // libiscsi WriteVerify10Residuals
  it.each([
    [1, 0, { status: 0, residualOverflow: true, residualCount: 512 }, 0],
    [1, 10000, { status: 0, residualUnderflow: true, residualCount: 10000 - 512 }, 512],
    [2, 512, { status: 0, residualOverflow: true, residualCount: 512 }, 512],
    [1, 1024, { status: 0, residualUnderflow: true, residualCount: 512 }, 512],
  ])("%i block(s) with EDTL %i", async (blocks, edtl, expected, writtenBytes) => {
    const { unit, device } = await readyUnit();
    device.bytes.fill("a", 0, 4096);
    const result = await unit.execute(task(cdb.rw10(WRITE_AND_VERIFY_10, 0, blocks, BYTCHK_1),
      { dataOut: Buffer.alloc(edtl, "b") }));
    expect(result).toEqual(expected);
    expect(device.bytes.indexOf("a")).toBe(writtenBytes);
  });

  it("EDTL inside a block: nothing written, overflow reported", async () => {
    const { unit, device } = await readyUnit();
    const result = await unit.execute(task(cdb.rw10(WRITE_AND_VERIFY_10, 0, 1, BYTCHK_1),
      { dataOut: Buffer.alloc(200, 1) }));
    expect(senseOf(result.sense)).toEqual({ key: 0x5, asc: 0x0e, ascq: 0x03 });
    expect(result.residualOverflow).toBe(true);
    expect(result.residualCount).toBe(312);
    expect(device.calls.filter((call) => call.op === "write")).toEqual([]);
  });

  it("rejects WRPROTECT and the reserved BYTCHK values", async () => {
    const { unit, blockSize } = await readyUnit();
    for (const flags of [0x20, 0x04, 0x06]) {
      const result = await unit.execute(task(cdb.rw10(WRITE_AND_VERIFY_10, 0, 1, flags),
        { dataOut: Buffer.alloc(blockSize) }));
      expect(senseOf(result.sense)).toEqual({ key: 0x5, asc: 0x24, ascq: 0 });
    }
  });
});
