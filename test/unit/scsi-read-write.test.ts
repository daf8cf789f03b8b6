import { describe, expect, it } from "vitest";
import { ScsiTargetDevice } from "../../src/scsi/target-device.ts";
import { cdb, readyUnit, senseOf, task } from "./scsi-memory-device.ts";

const READ_10 = 0x28;
const WRITE_10 = 0x2a;
const READ_12 = 0xa8;
const WRITE_12 = 0xaa;
const READ_16 = 0x88;
const WRITE_16 = 0x8a;
const LBA_OUT_OF_RANGE = { key: 0x5, asc: 0x21, ascq: 0x00 };
const INVALID_FIELD_IN_CDB = { key: 0x5, asc: 0x24, ascq: 0x00 };

function pattern(length: number, seed: number): Buffer {
  const data = Buffer.alloc(length);
  for (let i = 0; i < length; i++) data[i] = (i * 7 + seed) & 0xff;
  return data;
}

describe("READ and WRITE", () => {
  it.each([
    ["10", (lba: number, n: number) => cdb.rw10(WRITE_10, lba, n), (lba: number, n: number) =>
      cdb.rw10(READ_10, lba, n)],
    ["12", (lba: number, n: number) => cdb.rw12(WRITE_12, lba, n), (lba: number, n: number) =>
      cdb.rw12(READ_12, lba, n)],
    ["16", (lba: number, n: number) => cdb.rw16(WRITE_16, lba, n), (lba: number, n: number) =>
      cdb.rw16(READ_16, lba, n)],
    ["6", cdb.write6, cdb.read6],
  ])("WRITE (%s) then READ returns the data with one device call each", async (_, wr, rd) => {
    const { unit, device, blockSize } = await readyUnit();
    const data = pattern(4 * blockSize, 3);
    device.calls.length = 0;
    const written = await unit.execute(task(wr(100, 4), { dataOut: data }));
    expect(written).toEqual({ status: 0 });
    expect(device.calls).toEqual([{ op: "write", offset: 100 * blockSize, length: data.length,
      fua: false }]);
    const result = await unit.execute(task(rd(100, 4), { readLength: data.length }));
    expect(result.status).toBe(0);
    expect(result.dataIn).toEqual(data);
    expect(result.residualCount).toBeUndefined();
    expect(device.calls.filter((call) => call.op === "read")).toHaveLength(1);
  });

  it("READ (6) with TRANSFER LENGTH 0 reads 256 blocks", async () => {
    const { unit, blockSize } = await readyUnit();
    const result = await unit.execute(task(cdb.read6(0, 0), { readLength: 256 * blockSize }));
    expect(result.status).toBe(0);
    expect(result.dataIn?.length).toBe(256 * blockSize);
  });

  it("10/12/16-byte commands with TRANSFER LENGTH 0 transfer nothing", async () => {
    const { unit, device } = await readyUnit();
    device.calls.length = 0;
    for (const c of [cdb.rw10(READ_10, 0, 0), cdb.rw12(WRITE_12, 5, 0), cdb.rw16(READ_16, 9, 0)]) {
      expect(await unit.execute(task(c))).toEqual({ status: 0 });
    }
    expect(device.calls).toEqual([]);
  });

  it("rejects LBAs past the end, including a 64-bit wrap of LBA + length", async () => {
    const { unit, blockSize } = await readyUnit({ blocks: 2048 });
    const cases = [
      cdb.rw10(READ_10, 2047, 2),
      cdb.rw10(READ_10, 2048, 1),
      cdb.rw10(READ_10, 2049, 0),
      cdb.rw10(READ_10, 0xffffffff, 1),
      cdb.rw16(READ_16, 0xffffffffffffffffn, 2),
      cdb.rw16(READ_16, 1n << 63n, 1),
      cdb.read6(0x1fffff, 1),
    ];
    for (const c of cases) {
      const result = await unit.execute(task(c, { readLength: 2 * blockSize }));
      expect(senseOf(result.sense)).toEqual(LBA_OUT_OF_RANGE);
    }
    const write = await unit.execute(task(cdb.rw10(WRITE_10, 2047, 2),
      { dataOut: Buffer.alloc(2 * blockSize) }));
    expect(senseOf(write.sense)).toEqual(LBA_OUT_OF_RANGE);
  });

  it("rejects RDPROTECT and WRPROTECT (no protection information)", async () => {
    const { unit, blockSize } = await readyUnit();
    for (let protect = 1; protect < 8; protect++) {
      const read = await unit.execute(task(cdb.rw10(READ_10, 0, 1, protect << 5),
        { readLength: blockSize }));
      expect(senseOf(read.sense)).toEqual(INVALID_FIELD_IN_CDB);
      // SKSV, C/D, BPV and the highest bit set where none may be
      expect(read.sense?.[15]).toBe(0xc8 | (31 - Math.clz32(protect << 5)));
      expect(read.sense?.readUInt16BE(16)).toBe(1);
      const write = await unit.execute(task(cdb.rw16(WRITE_16, 0, 1, protect << 5),
        { dataOut: Buffer.alloc(blockSize) }));
      expect(senseOf(write.sense)).toEqual(INVALID_FIELD_IN_CDB);
    }
  });

  it("accepts DPO, FUA and FUA_NV and forces unit access when asked", async () => {
    const { unit, device, blockSize } = await readyUnit();
    for (const flags of [0x10, 0x08, 0x0a, 0x02, 0x1a]) {
      device.calls.length = 0;
      const result = await unit.execute(task(cdb.rw10(WRITE_10, 0, 1, flags),
        { dataOut: Buffer.alloc(blockSize) }));
      expect(result.status).toBe(0);
      expect(device.calls).toEqual([{ op: "write", offset: 0, length: blockSize,
        fua: (flags & 0x08) !== 0 }]);
      const read = await unit.execute(task(cdb.rw10(READ_10, 0, 1, flags | 0x04),
        { readLength: blockSize }));
      expect(read.status).toBe(0);
    }
  });

  it("forces every write to the medium when the write cache is disabled", async () => {
    const { unit, device, blockSize } = await readyUnit({ writeCacheEnabled: false });
    device.calls.length = 0;
    await unit.execute(task(cdb.write6(1, 1), { dataOut: Buffer.alloc(blockSize) }));
    expect(device.calls).toEqual([{ op: "write", offset: blockSize, length: blockSize,
      fua: true }]);
  });

  it("rejects a TRANSFER LENGTH above the Block Limits maximum", async () => {
    const { unit } = await readyUnit({ blocks: 1 << 16 });
    const result = await unit.execute(task(cdb.rw10(READ_10, 0, 16385), { readLength: 1 }));
    expect(senseOf(result.sense)).toEqual(INVALID_FIELD_IN_CDB);
    expect(result.sense?.readUInt16BE(16)).toBe(7);
  });

  it("turns a device failure into MEDIUM ERROR", async () => {
    const { unit, device, blockSize } = await readyUnit();
    device.failNext = new Error("EIO");
    const read = await unit.execute(task(cdb.rw10(READ_10, 0, 1), { readLength: blockSize }));
    expect(senseOf(read.sense)).toEqual({ key: 0x3, asc: 0x11, ascq: 0 });
    device.failNext = new Error("EIO");
    const write = await unit.execute(task(cdb.rw10(WRITE_10, 0, 1),
      { dataOut: Buffer.alloc(blockSize) }));
    expect(senseOf(write.sense)).toEqual({ key: 0x3, asc: 0x0c, ascq: 0 });
  });
});

describe("residuals (libiscsi Read10Residuals / Write10Residuals)", () => {
  const readOneBlock = cdb.rw10(READ_10, 0, 1);

  it("READ with EDTL 0 reports an overflow of one block and reads nothing", async () => {
    const { unit, device, blockSize } = await readyUnit();
    device.calls.length = 0;
    const result = await unit.execute(task(readOneBlock, { readLength: 0 }));
    expect(result).toEqual({ status: 0, residualOverflow: true, residualCount: blockSize });
    expect(device.calls).toEqual([]);
  });

  it("READ with EDTL 10000 returns one block and an underflow", async () => {
    const { unit, blockSize } = await readyUnit();
    const result = await unit.execute(task(readOneBlock, { readLength: 10000 }));
    expect(result.dataIn?.length).toBe(blockSize);
    expect(result.residualUnderflow).toBe(true);
    expect(result.residualCount).toBe(10000 - blockSize);
  });

  it("READ with EDTL 200 returns a 200-byte view and an overflow", async () => {
    const { unit, device, blockSize } = await readyUnit();
    device.bytes.fill(0x5a, 0, blockSize);
    const result = await unit.execute(task(readOneBlock, { readLength: 200 }));
    expect(result.dataIn).toEqual(Buffer.alloc(200, 0x5a));
    expect(result.residualOverflow).toBe(true);
    expect(result.residualCount).toBe(blockSize - 200);
  });

  it("READ of two blocks with EDTL of one block reads one block", async () => {
    const { unit, device, blockSize } = await readyUnit();
    device.calls.length = 0;
    const result = await unit.execute(task(cdb.rw10(READ_10, 0, 2), { readLength: blockSize }));
    expect(result.dataIn?.length).toBe(blockSize);
    expect(result.residualOverflow).toBe(true);
    expect(result.residualCount).toBe(blockSize);
    expect(device.calls).toEqual([{ op: "read", offset: 0, length: blockSize }]);
  });

  async function writeScenario(blocks: number, edtl: number) {
    const { unit, device, blockSize } = await readyUnit();
    device.bytes.fill("a", 0, 4 * blockSize);
    const result = await unit.execute(task(cdb.rw10(WRITE_10, 0, blocks),
      { dataOut: Buffer.alloc(edtl, "b") }));
    const changed = device.bytes.subarray(0, 4 * blockSize).indexOf("a");
    return { result, blockSize, written: changed };
  }

  it("WRITE of one block with EDTL 0: GOOD, overflow, nothing written", async () => {
    const { result, blockSize, written } = await writeScenario(1, 0);
    expect(result).toEqual({ status: 0, residualOverflow: true, residualCount: blockSize });
    expect(written).toBe(0);
  });

  it("WRITE of one block with EDTL of two blocks writes one block, underflow", async () => {
    const { result, blockSize, written } = await writeScenario(1, 1024);
    expect(result).toEqual({ status: 0, residualUnderflow: true, residualCount: 1024 - blockSize });
    expect(written).toBe(blockSize);
  });

  it("WRITE of two blocks with EDTL of one block writes only that block", async () => {
    const { result, blockSize, written } = await writeScenario(2, 512);
    expect(result).toEqual({ status: 0, residualOverflow: true, residualCount: blockSize });
    expect(written).toBe(blockSize);
  });

  it("WRITE whose EDTL ends inside a block writes the bytes that came, keeps the block's tail",
    async () => {
      const { result, blockSize, written } = await writeScenario(1, 200);
      expect(result).toEqual({ status: 0, residualOverflow: true, residualCount: blockSize - 200 });
      expect(written).toBe(200);
    });
});

describe("through the target device", () => {
  it("routes by LUN and rejects commands to absent LUNs", async () => {
    const { unit, blockSize } = await readyUnit({ lun: 1 });
    const target = new ScsiTargetDevice([unit]);
    const good = await target.execute(task(cdb.rw10(READ_10, 0, 1),
      { lun: 1, readLength: blockSize }));
    expect(good.status).toBe(0);
    const absent = await target.execute(task(cdb.rw10(READ_10, 0, 1),
      { lun: 0, readLength: blockSize }));
    expect(senseOf(absent.sense)).toEqual({ key: 0x5, asc: 0x25, ascq: 0 });
  });
});
