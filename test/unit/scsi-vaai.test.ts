import { describe, expect, it } from "vitest";
import { LogicalUnit } from "../../src/scsi/logical-unit.ts";
import { ScsiTargetDevice } from "../../src/scsi/target-device.ts";
import {
  IDENTITY, MemoryBlockDevice, cdb, readyUnit, senseOf, task,
} from "./scsi-memory-device.ts";
import { ThinMemoryDevice } from "./scsi-vaai-thin-device.ts";

const BLOCK = 512;
const ILLEGAL_REQUEST = 0x5;
const INVALID_FIELD_IN_CDB = { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0 };
const INVALID_FIELD_IN_PARAMETER_LIST = { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0 };
const LBA_OUT_OF_RANGE = { key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0 };
const PARAMETER_LIST_LENGTH_ERROR = { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 };
const MISCOMPARE = { key: 0xe, asc: 0x1d, ascq: 0 };
const COPY_ABORTED = { key: 0xa, asc: 0x0d, ascq: 0x02 };

function be(value: number | bigint, bytes: number): number[] {
  const out: number[] = [];
  let v = BigInt(value);
  for (let i = 0; i < bytes; i++) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

const vaaiCdb = {
  compareAndWrite: (lba: number | bigint, blocks: number, flags = 0) =>
    [0x89, flags, ...be(lba, 8), 0, 0, 0, blocks, 0, 0],
  writeSame10: (lba: number, blocks: number, flags = 0) =>
    [0x41, flags, ...be(lba, 4), 0, ...be(blocks, 2), 0],
  writeSame16: (lba: number | bigint, blocks: number, flags = 0) =>
    [0x93, flags, ...be(lba, 8), ...be(blocks, 4), 0, 0],
  unmap: (length: number) => [0x42, 0, 0, 0, 0, 0, 0, ...be(length, 2), 0],
  getLbaStatus: (lba: number | bigint, allocation: number) =>
    [0x9e, 0x12, ...be(lba, 8), ...be(allocation, 4), 0, 0],
  extendedCopy: (length: number) => [0x83, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...be(length, 4), 0, 0],
  receiveCopyResults: (serviceAction: number, listId: number, allocation: number) =>
    [0x84, serviceAction, listId, 0, 0, 0, 0, 0, 0, 0, ...be(allocation, 4), 0, 0],
};

const UNMAP_BIT = 0x08;
const NDOB = 0x01;

/** A thin logical unit over a ThinMemoryDevice, power-on unit attention consumed. */
async function thinUnit(blocks = 2048, options: { lun?: number; naaId?: string } = {}) {
  const device = new ThinMemoryDevice(BLOCK, BLOCK * blocks);
  const unit = new LogicalUnit({
    lun: options.lun ?? 0,
    device,
    identity: { ...IDENTITY, naaId: options.naaId ?? IDENTITY.naaId },
    provisioning: "thin",
  });
  await unit.execute(task([0x00], { lun: unit.lun }));
  return { unit, device };
}

function unmapList(descriptors: Array<[number | bigint, number]>, declared?: number): Buffer {
  const list = Buffer.alloc(8 + 16 * descriptors.length);
  list.writeUInt16BE(list.length - 2, 0);
  list.writeUInt16BE(declared ?? 16 * descriptors.length, 2);
  descriptors.forEach(([lba, blocks], i) => {
    list.writeBigUInt64BE(BigInt(lba), 8 + 16 * i);
    list.writeUInt32BE(blocks, 16 + 16 * i);
  });
  return list;
}

describe("COMPARE AND WRITE", () => {
  it("writes the second half only when the medium matches the first", async () => {
    const { unit, device } = await readyUnit();
    device.bytes.fill(0x41, 10 * BLOCK, 12 * BLOCK);
    const data = Buffer.concat([Buffer.alloc(2 * BLOCK, 0x41), Buffer.alloc(2 * BLOCK, 0x42)]);
    const good = await unit.execute(task(vaaiCdb.compareAndWrite(10, 2), { dataOut: data }));
    expect(good).toEqual({ status: 0 });
    expect(device.bytes.subarray(10 * BLOCK, 12 * BLOCK).every((b) => b === 0x42)).toBe(true);
  });

  it("reports MISCOMPARE with the offset of the first difference, writes nothing", async () => {
    const { unit, device } = await readyUnit();
    device.bytes.fill(0x41, 0, 3 * BLOCK);
    const data = Buffer.concat([Buffer.alloc(3 * BLOCK, 0x41), Buffer.alloc(3 * BLOCK, 0x42)]);
    data[2 * BLOCK + 7] = 0x43;
    device.calls.length = 0;
    const result = await unit.execute(task(vaaiCdb.compareAndWrite(0, 3), { dataOut: data }));
    expect(senseOf(result.sense)).toEqual(MISCOMPARE);
    expect(result.sense![0] & 0x80).toBe(0x80); // VALID: INFORMATION holds the offset
    expect(result.sense!.readUInt32BE(3)).toBe(2 * BLOCK + 7);
    expect(device.calls.map((call) => call.op)).toEqual(["read"]);
    expect(device.bytes.subarray(0, 3 * BLOCK).every((b) => b === 0x41)).toBe(true);
  });

  it("enforces MAXIMUM COMPARE AND WRITE LENGTH, the Data-Out size and the range", async () => {
    const { unit } = await readyUnit();
    const overLimit = await unit.execute(task(vaaiCdb.compareAndWrite(0, 0), {
      dataOut: Buffer.alloc(2 * 256 * BLOCK),
    }));
    expect(senseOf(overLimit.sense)).toEqual(INVALID_FIELD_IN_CDB);
    for (const blocks of [1, 3]) {
      const wrongSize = await unit.execute(task(vaaiCdb.compareAndWrite(0, blocks), {
        dataOut: Buffer.alloc(4 * BLOCK),
      }));
      expect(senseOf(wrongSize.sense)).toEqual(INVALID_FIELD_IN_CDB);
    }
    const past = await unit.execute(task(vaaiCdb.compareAndWrite(2047, 2), {
      dataOut: Buffer.alloc(4 * BLOCK),
    }));
    expect(senseOf(past.sense)).toEqual(LBA_OUT_OF_RANGE);
    expect(await unit.execute(task(vaaiCdb.compareAndWrite(0, 0)))).toEqual({ status: 0 });
  });

  it("honours FUA and refuses WRPROTECT", async () => {
    const { unit, device } = await readyUnit();
    const data = Buffer.alloc(2 * BLOCK);
    device.calls.length = 0;
    expect((await unit.execute(task(vaaiCdb.compareAndWrite(5, 1, 0x18), { dataOut: data })))
      .status).toBe(0);
    expect(device.calls.at(-1)).toMatchObject({ op: "write", fua: true });
    const protect = await unit.execute(task(vaaiCdb.compareAndWrite(5, 1, 0x20),
      { dataOut: data }));
    expect(senseOf(protect.sense)).toEqual(INVALID_FIELD_IN_CDB);
  });

  it("is atomic against an overlapping WRITE that arrives during the compare", async () => {
    const { unit, device } = await readyUnit();
    device.bytes.fill(0x41, 0, BLOCK);
    const caw = unit.execute(task(vaaiCdb.compareAndWrite(0, 1), {
      dataOut: Buffer.concat([Buffer.alloc(BLOCK, 0x41), Buffer.alloc(BLOCK, 0x42)]),
    }));
    const write = unit.execute(task(cdb.rw10(0x2a, 0, 1),
      { dataOut: Buffer.alloc(BLOCK, 0x43) }));
    expect((await caw).status).toBe(0);
    expect((await write).status).toBe(0);
    // Arrival order: the compare-and-write first, then the write.
    expect(device.bytes.subarray(0, BLOCK).every((b) => b === 0x43)).toBe(true);
    expect(device.calls.filter((call) => call.op !== "flush").map((call) => call.op))
      .toEqual(["read", "write", "write"]);
  });
});

describe("WRITE SAME", () => {
  it("(10) and (16) repeat one block over the range", async () => {
    const { unit, device } = await readyUnit();
    const block = Buffer.alloc(BLOCK);
    block.write("pattern");
    expect(await unit.execute(task(vaaiCdb.writeSame10(100, 300), { dataOut: block })))
      .toEqual({ status: 0 });
    expect(await unit.execute(task(vaaiCdb.writeSame16(2000, 48), { dataOut: block })))
      .toEqual({ status: 0 });
    for (const lba of [100, 399, 2000, 2047]) {
      expect(device.bytes.subarray(lba * BLOCK, (lba + 1) * BLOCK).equals(block)).toBe(true);
    }
    expect(device.bytes[400 * BLOCK]).toBe(0);
  });

  it("with 0 blocks writes to the end of the medium", async () => {
    const { unit, device } = await readyUnit();
    expect(await unit.execute(task(vaaiCdb.writeSame10(2040, 0),
      { dataOut: Buffer.alloc(BLOCK, 7) }))).toEqual({ status: 0 });
    expect(device.bytes.subarray(2040 * BLOCK).every((b) => b === 7)).toBe(true);
    expect(device.bytes[2039 * BLOCK]).toBe(0);
  });

  it("rejects a Data-Out other than one block, ANCHOR, and ranges past the end", async () => {
    const { unit } = await readyUnit();
    for (const size of [BLOCK / 2, 2 * BLOCK]) {
      const result = await unit.execute(task(vaaiCdb.writeSame10(0, 1),
        { dataOut: Buffer.alloc(size) }));
      expect(senseOf(result.sense)).toEqual(INVALID_FIELD_IN_CDB);
    }
    const anchor = await unit.execute(task(vaaiCdb.writeSame16(0, 1, 0x10),
      { dataOut: Buffer.alloc(BLOCK) }));
    expect(senseOf(anchor.sense)).toEqual(INVALID_FIELD_IN_CDB);
    const past = await unit.execute(task(vaaiCdb.writeSame16(2047, 2),
      { dataOut: Buffer.alloc(BLOCK) }));
    expect(senseOf(past.sense)).toEqual(LBA_OUT_OF_RANGE);
    const large = (await readyUnit({ blocks: 32768 })).unit;
    const tooMany = await large.execute(task(vaaiCdb.writeSame16(0, 16385),
      { dataOut: Buffer.alloc(BLOCK) }));
    expect(senseOf(tooMany.sense)).toEqual(INVALID_FIELD_IN_CDB);
  });

  it("refuses the UNMAP bit on a thick logical unit", async () => {
    const { unit } = await readyUnit();
    const result = await unit.execute(task(vaaiCdb.writeSame10(0, 1, UNMAP_BIT),
      { dataOut: Buffer.alloc(BLOCK) }));
    expect(senseOf(result.sense)).toEqual(INVALID_FIELD_IN_CDB);
  });

  it("with UNMAP deallocates on a thin unit; NDOB writes zeros without Data-Out", async () => {
    const { unit, device } = await thinUnit();
    device.bytes.fill(0xff, 0, 64 * BLOCK);
    await unit.execute(task(cdb.rw10(0x2a, 0, 64), { dataOut: Buffer.alloc(64 * BLOCK, 0xff) }));
    expect(device.isMapped(10)).toBe(true);
    expect(await unit.execute(task(vaaiCdb.writeSame16(8, 16, UNMAP_BIT | NDOB))))
      .toEqual({ status: 0 });
    expect(device.unmaps).toEqual([{ offset: 8 * BLOCK, length: 16 * BLOCK }]);
    expect(device.isMapped(10)).toBe(false);
    expect(device.bytes.subarray(8 * BLOCK, 24 * BLOCK).every((b) => b === 0)).toBe(true);
    expect(await unit.execute(task(vaaiCdb.writeSame16(40, 4, NDOB)))).toEqual({ status: 0 });
    expect(device.isMapped(41)).toBe(true);
    expect(device.bytes.subarray(40 * BLOCK, 44 * BLOCK).every((b) => b === 0)).toBe(true);
  });

  it("falls back to writing zeros on a thin unit whose device cannot unmap", async () => {
    const device = new MemoryBlockDevice(BLOCK, 2048 * BLOCK);
    const unit = new LogicalUnit({ lun: 0, device, identity: IDENTITY, provisioning: "thin" });
    await unit.execute(task([0x00]));
    device.bytes.fill(0xff);
    expect(await unit.execute(task(vaaiCdb.writeSame10(0, 4, UNMAP_BIT),
      { dataOut: Buffer.alloc(BLOCK) }))).toEqual({ status: 0 });
    expect(device.bytes.subarray(0, 4 * BLOCK).every((b) => b === 0)).toBe(true);
    expect(device.bytes[4 * BLOCK]).toBe(0xff);
  });
});

describe("UNMAP", () => {
  it("deallocates every descriptor's range; 0-block descriptors and lists are no-ops", async () => {
    const { unit, device } = await thinUnit();
    await unit.execute(task(cdb.rw10(0x2a, 0, 100), { dataOut: Buffer.alloc(100 * BLOCK, 1) }));
    const list = unmapList([[0, 8], [50, 2], [2048, 0]]);
    expect(await unit.execute(task(vaaiCdb.unmap(list.length), { dataOut: list })))
      .toEqual({ status: 0 });
    expect(device.unmaps).toEqual([
      { offset: 0, length: 8 * BLOCK }, { offset: 50 * BLOCK, length: 2 * BLOCK },
    ]);
    expect([0, 7, 50, 51].map((lba) => device.isMapped(lba))).toEqual([false, false, false, false]);
    expect(device.isMapped(8)).toBe(true);
    expect(await unit.execute(task(vaaiCdb.unmap(0)))).toEqual({ status: 0 });
    const empty = unmapList([]);
    expect(await unit.execute(task(vaaiCdb.unmap(8), { dataOut: empty }))).toEqual({ status: 0 });
  });

  it("checks every descriptor before unmapping anything", async () => {
    const { unit, device } = await thinUnit();
    const past = unmapList([[0, 8], [2047, 2]]);
    const result = await unit.execute(task(vaaiCdb.unmap(past.length), { dataOut: past }));
    expect(senseOf(result.sense)).toEqual(LBA_OUT_OF_RANGE);
    expect(device.unmaps).toEqual([]);
  });

  it("enforces the Block Limits maxima and the parameter list length", async () => {
    const { unit } = await thinUnit(1 << 21);
    const tooMany = unmapList(Array.from({ length: 257 }, (_, i) => [i, 1] as [number, number]));
    const many = await unit.execute(task(vaaiCdb.unmap(tooMany.length), { dataOut: tooMany }));
    expect(senseOf(many.sense)).toEqual(INVALID_FIELD_IN_PARAMETER_LIST);
    const tooLong = unmapList([[0, 0x40000], [0x40000, 0x40001]]);
    const long = await unit.execute(task(vaaiCdb.unmap(tooLong.length), { dataOut: tooLong }));
    expect(senseOf(long.sense)).toEqual(INVALID_FIELD_IN_PARAMETER_LIST);
    const short = await unit.execute(task(vaaiCdb.unmap(6), { dataOut: Buffer.alloc(6) }));
    expect(senseOf(short.sense)).toEqual(PARAMETER_LIST_LENGTH_ERROR);
    const missing = await unit.execute(task(vaaiCdb.unmap(24), { dataOut: Buffer.alloc(8) }));
    expect(senseOf(missing.sense)).toEqual(PARAMETER_LIST_LENGTH_ERROR);
    const anchor = await unit.execute(task([0x42, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]));
    expect(senseOf(anchor.sense)).toEqual(INVALID_FIELD_IN_CDB);
  });

  it("is not available on a thick logical unit", async () => {
    const { unit } = await readyUnit();
    const list = unmapList([[0, 1]]);
    const result = await unit.execute(task(vaaiCdb.unmap(list.length), { dataOut: list }));
    expect(senseOf(result.sense)).toEqual({ key: ILLEGAL_REQUEST, asc: 0x20, ascq: 0 });
  });
});

function lbaStatusDescriptors(data: Buffer) {
  const out = [];
  for (let at = 8; at + 16 <= Math.min(data.length, data.readUInt32BE(0) + 4); at += 16) {
    out.push({
      lba: Number(data.readBigUInt64BE(at)),
      blocks: data.readUInt32BE(at + 8),
      status: data[at + 12] & 0x0f,
    });
  }
  return out;
}

describe("GET LBA STATUS", () => {
  it("reports mapped and deallocated extents from the starting LBA", async () => {
    const { unit } = await thinUnit();
    await unit.execute(task(cdb.rw10(0x2a, 16, 16), { dataOut: Buffer.alloc(16 * BLOCK, 1) }));
    const result = await unit.execute(task(vaaiCdb.getLbaStatus(8, 1024), { readLength: 1024 }));
    expect(result.status).toBe(0);
    expect(lbaStatusDescriptors(result.dataIn!)).toEqual([
      { lba: 8, blocks: 8, status: 1 },
      { lba: 16, blocks: 16, status: 0 },
      { lba: 32, blocks: 2016, status: 1 },
    ]);
    const cut = await unit.execute(task(vaaiCdb.getLbaStatus(8, 24), { readLength: 24 }));
    expect(cut.dataIn!.readUInt32BE(0)).toBe(20); // one descriptor: what fits
    expect(lbaStatusDescriptors(cut.dataIn!)).toEqual([{ lba: 8, blocks: 8, status: 1 }]);
  });

  it("reports a thick unit mapped to the end, and rejects LBAs past it", async () => {
    const { unit } = await readyUnit();
    const result = await unit.execute(task(vaaiCdb.getLbaStatus(100, 64), { readLength: 64 }));
    expect(lbaStatusDescriptors(result.dataIn!)).toEqual([{ lba: 100, blocks: 1948, status: 0 }]);
    for (const lba of [2048n, 1n << 63n, (1n << 64n) - 1n]) {
      const past = await unit.execute(task(vaaiCdb.getLbaStatus(lba, 24), { readLength: 24 }));
      expect(senseOf(past.sense)).toEqual(LBA_OUT_OF_RANGE);
    }
  });
});

describe("provisioning reporting", () => {
  it("thin: LBPME and LBPRZ, Logical Block Provisioning bits, unmap limits", async () => {
    const { unit } = await thinUnit();
    const capacity = await unit.execute(task(cdb.readCapacity16(32), { readLength: 32 }));
    expect(capacity.dataIn![14] & 0xc0).toBe(0xc0);
    const lbp = (await unit.execute(task(cdb.inquiry(true, 0xb2, 64), { readLength: 64 }))).dataIn!;
    expect(lbp[5]).toBe(0x80 | 0x40 | 0x20 | 0x04); // LBPU LBPWS LBPWS10 LBPRZ
    expect(lbp[6] & 0x07).toBe(0b010); // thin provisioned
    const limits = (await unit.execute(task(cdb.inquiry(true, 0xb0, 64), { readLength: 64 })))
      .dataIn!;
    expect(limits[5]).toBe(255); // MAXIMUM COMPARE AND WRITE LENGTH
    expect(limits.readUInt32BE(20)).toBe(256 * 1024 * 1024 / BLOCK);
    expect(limits.readUInt32BE(24)).toBe(256);
    expect(limits.readUInt32BE(28)).toBe(8); // OPTIMAL UNMAP GRANULARITY: 4 KiB
    expect(limits.readBigUInt64BE(36)).toBe(BigInt(8 * 1024 * 1024 / BLOCK));
  });

  it("thick: fully provisioned, no unmap limits", async () => {
    const { unit } = await readyUnit();
    const capacity = await unit.execute(task(cdb.readCapacity16(32), { readLength: 32 }));
    expect(capacity.dataIn![14]).toBe(0);
    const lbp = (await unit.execute(task(cdb.inquiry(true, 0xb2, 64), { readLength: 64 }))).dataIn!;
    expect([lbp[5], lbp[6]]).toEqual([0, 0]);
    const limits = (await unit.execute(task(cdb.inquiry(true, 0xb0, 64), { readLength: 64 })))
      .dataIn!;
    expect(limits.readUInt32BE(20)).toBe(0);
    expect(limits.readUInt32BE(24)).toBe(0);
  });
});

const NAA_A = "6001405aaaaaaaaaaaaaaaaaaaaaaaaa";
const NAA_B = "6001405bbbbbbbbbbbbbbbbbbbbbbbbb";

function targetDescriptor(naaId: string, blockSize = BLOCK): Buffer {
  const out = Buffer.alloc(32);
  out[0] = 0xe4;
  out[4] = 0x01; // binary
  out[5] = 0x03; // LU association, NAA
  out[7] = 16;
  Buffer.from(naaId, "hex").copy(out, 8);
  out.writeUIntBE(blockSize, 29, 3);
  return out;
}

function segmentDescriptor(source: number, destination: number, blocks: number,
  sourceLba: number, destinationLba: number): Buffer {
  const out = Buffer.alloc(28);
  out[0] = 0x02;
  out.writeUInt16BE(0x18, 2);
  out.writeUInt16BE(source, 4);
  out.writeUInt16BE(destination, 6);
  out.writeUInt16BE(blocks, 10);
  out.writeBigUInt64BE(BigInt(sourceLba), 12);
  out.writeBigUInt64BE(BigInt(destinationLba), 20);
  return out;
}

function copyParameterList(listId: number, targets: Buffer[], segments: Buffer[],
  listIdUsage = 0): Buffer {
  const header = Buffer.alloc(16);
  header[0] = listId;
  header[1] = listIdUsage << 3;
  const targetBytes = Buffer.concat(targets);
  const segmentBytes = Buffer.concat(segments);
  header.writeUInt16BE(targetBytes.length, 2);
  header.writeUInt32BE(segmentBytes.length, 8);
  return Buffer.concat([header, targetBytes, segmentBytes]);
}

async function twoUnitTarget() {
  const a = await thinUnit(4096, { lun: 0, naaId: NAA_A });
  const b = await thinUnit(4096, { lun: 1, naaId: NAA_B });
  await b.unit.execute(task([0x00], { lun: 1 }));
  return { target: new ScsiTargetDevice([a.unit, b.unit]), a: a.device, b: b.device };
}

describe("EXTENDED COPY", () => {
  it("copies between logical units of the target in chunks, and reports the status", async () => {
    const { target, a, b } = await twoUnitTarget();
    for (let i = 0; i < 3000 * BLOCK; i++) a.bytes[i] = (i * 7) & 0xff;
    const list = copyParameterList(5, [targetDescriptor(NAA_A), targetDescriptor(NAA_B)],
      [segmentDescriptor(0, 1, 3000, 0, 1000)]);
    const result = await target.execute(task(vaaiCdb.extendedCopy(list.length), { dataOut: list }));
    expect(result).toEqual({ status: 0 });
    expect(b.bytes.subarray(1000 * BLOCK, 4000 * BLOCK).equals(a.bytes.subarray(0, 3000 * BLOCK)))
      .toBe(true);
    const status = await target.execute(task(vaaiCdb.receiveCopyResults(0, 5, 64),
      { readLength: 64 }));
    const data = status.dataIn!;
    expect(data.readUInt32BE(0)).toBe(8);
    expect(data[4]).toBe(0); // completed without errors
    expect(data.readUInt16BE(5)).toBe(1);
    expect(data[7]).toBe(0); // bytes
    expect(data.readUInt32BE(8)).toBe(3000 * BLOCK);
  });

  it("copies an overlapping range within one unit like memmove", async () => {
    const { target, a } = await twoUnitTarget();
    for (let i = 0; i < 4096 * BLOCK; i++) a.bytes[i] = (i >> 9) & 0xff;
    const original = Buffer.from(a.bytes.subarray(0, 3000 * BLOCK));
    const list = copyParameterList(1, [targetDescriptor(NAA_A)],
      [segmentDescriptor(0, 0, 3000, 0, 100)]);
    expect((await target.execute(task(vaaiCdb.extendedCopy(list.length), { dataOut: list })))
      .status).toBe(0);
    expect(a.bytes.subarray(100 * BLOCK, 3100 * BLOCK).equals(original)).toBe(true);
  });

  it("checks the parameter list: lengths, descriptor types, limits, copy targets", async () => {
    const { target } = await twoUnitTarget();
    const run = async (list: Buffer, length = list.length) =>
      senseOf((await target.execute(task(vaaiCdb.extendedCopy(length),
        { dataOut: list.subarray(0, length) }))).sense);
    const good = copyParameterList(1, [targetDescriptor(NAA_A)],
      [segmentDescriptor(0, 0, 8, 0, 8)]);
    expect(await run(good, good.length - 1)).toEqual(PARAMETER_LIST_LENGTH_ERROR);
    const badTarget = targetDescriptor(NAA_A);
    badTarget[0] = 0xe0;
    expect(await run(copyParameterList(1, [badTarget], [segmentDescriptor(0, 0, 8, 0, 8)])))
      .toEqual({ key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0x07 });
    const badSegment = segmentDescriptor(0, 0, 8, 0, 8);
    badSegment[0] = 0x03;
    expect(await run(copyParameterList(1, [targetDescriptor(NAA_A)], [badSegment])))
      .toEqual({ key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0x09 });
    const fiveTargets = Array.from({ length: 5 }, () => targetDescriptor(NAA_A));
    expect(await run(copyParameterList(1, fiveTargets, [segmentDescriptor(0, 0, 8, 0, 8)])))
      .toEqual({ key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0x06 });
    const seventeen = Array.from({ length: 17 }, () => segmentDescriptor(0, 0, 8, 0, 8));
    expect(await run(copyParameterList(1, [targetDescriptor(NAA_A)], seventeen)))
      .toEqual({ key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0x08 });
    const unknownUnit = "6001405ccccccccccccccccccccccccc";
    expect(await run(copyParameterList(1, [targetDescriptor(unknownUnit)],
      [segmentDescriptor(0, 0, 8, 0, 8)]))).toEqual(COPY_ABORTED);
    expect(await run(copyParameterList(1, [targetDescriptor(NAA_A)],
      [segmentDescriptor(0, 1, 8, 0, 8)]))).toEqual(COPY_ABORTED);
    expect(await run(copyParameterList(1, [targetDescriptor(NAA_A)],
      [segmentDescriptor(0, 0, 8, 0, 4090)]))).toEqual(COPY_ABORTED);
    expect(await target.execute(task(vaaiCdb.extendedCopy(0)))).toEqual({ status: 0 });
  });

  it("keeps no status for LIST ID USAGE 11b; unknown list ids are an invalid field", async () => {
    const { target } = await twoUnitTarget();
    const list = copyParameterList(0, [targetDescriptor(NAA_A)],
      [segmentDescriptor(0, 0, 8, 0, 8)], 0b11);
    expect((await target.execute(task(vaaiCdb.extendedCopy(list.length), { dataOut: list })))
      .status).toBe(0);
    const status = await target.execute(task(vaaiCdb.receiveCopyResults(0, 0, 64),
      { readLength: 64 }));
    expect(senseOf(status.sense)).toEqual(INVALID_FIELD_IN_CDB);
  });

  it("RECEIVE COPY RESULTS reports the operating parameters", async () => {
    const { target } = await twoUnitTarget();
    const result = await target.execute(task(vaaiCdb.receiveCopyResults(3, 0, 1024),
      { readLength: 1024 }));
    const data = result.dataIn!;
    expect(data.readUInt32BE(0)).toBe(data.length - 4);
    expect(data.readUInt16BE(8)).toBe(4);
    expect(data.readUInt16BE(10)).toBe(16);
    expect(data.readUInt32BE(12)).toBe(1024);
    expect([...data.subarray(44, 44 + data[43])]).toEqual([0x02, 0xe4]);
  });

  it("Third-party Copy VPD page lists the commands and descriptors", async () => {
    const { unit } = await thinUnit();
    const page = (await unit.execute(task(cdb.inquiry(true, 0x8f, 255), { readLength: 255 })))
      .dataIn!;
    expect(page[1]).toBe(0x8f);
    const types: number[] = [];
    for (let at = 4; at < 4 + page.readUInt16BE(2); at += 4 + page.readUInt16BE(at + 2)) {
      types.push(page.readUInt16BE(at));
      expect(page.readUInt16BE(at + 2) % 4).toBe(0);
    }
    expect(types).toEqual([0x0001, 0x0004, 0x0008, 0x000c, 0x8001]);
    expect([...page.subarray(9, 16)]).toEqual([0x83, 1, 0x00, 0x84, 2, 0x00, 0x03]);
  });
});
