import { describe, expect, it } from "vitest";
import { NEXUS_B, cdb, readyUnit, senseOf, task } from "./scsi-memory-device.ts";

const CURRENT = 0;
const CHANGEABLE = 1;
const DEFAULT = 2;
const SAVED = 3;
const ALL_PAGES = 0x3f;
const CACHING = 0x08;
const CONTROL = 0x0a;

/** Page code -> page bytes of MODE SENSE (6) data. */
function pagesOf(data: Buffer, headerLength = 4): Map<number, Buffer> {
  const pages = new Map<number, Buffer>();
  const descriptorLength = headerLength === 4 ? data[3] : data.readUInt16BE(6);
  for (let at = headerLength + descriptorLength; at < data.length; at += data[at + 1] + 2) {
    pages.set(data[at] & 0x3f, data.subarray(at, at + data[at + 1] + 2));
  }
  return pages;
}

async function modeSense6(pc: number, page: number, dbd = false, allocation = 255) {
  const ready = await readyUnit();
  const result = await ready.unit.execute(task(cdb.modeSense6(pc, page, allocation, dbd),
    { readLength: allocation }));
  return { ...ready, result };
}

describe("MODE SENSE", () => {
  it("(6) returns header, block descriptor and all pages", async () => {
    const { result, blockSize } = await modeSense6(CURRENT, ALL_PAGES);
    const data = result.dataIn!;
    expect(data[0]).toBe(data.length - 1);
    expect(data[2]).toBe(0x10); // DPOFUA, not write protected
    expect(data[3]).toBe(8);
    expect(data.readUInt32BE(4)).toBe(2048);
    expect(data.readUIntBE(9, 3)).toBe(blockSize);
    const pages = pagesOf(data);
    expect([...pages.keys()]).toEqual([0x08, 0x0a, 0x1c]);
    expect(pages.get(CACHING)?.length).toBe(20);
    expect(pages.get(CACHING)![2] & 0x04).toBe(0x04); // WCE
    expect(pages.get(CONTROL)?.length).toBe(12);
    expect(pages.get(CONTROL)![2] & 0x04).toBe(0); // D_SENSE: fixed format
    expect(result.residualUnderflow).toBe(true);
  });

  it("(6) with a 4-byte allocation length returns 4 bytes and no overflow", async () => {
    const { result } = await modeSense6(CURRENT, ALL_PAGES, false, 4);
    expect(result.dataIn?.length).toBe(4);
    expect(result.residualOverflow).toBeUndefined();
  });

  it("honours DBD and reports only WCE as changeable", async () => {
    const { result } = await modeSense6(CHANGEABLE, ALL_PAGES, true);
    const data = result.dataIn!;
    expect(data[3]).toBe(0);
    const pages = pagesOf(data);
    expect([...pages.get(CACHING)!.subarray(2)]).toEqual([0x04, ...Array(17).fill(0)]);
    expect([...pages.get(CONTROL)!.subarray(2)]).toEqual(Array(10).fill(0));
  });

  it("(10) with LLBAA returns a long LBA block descriptor", async () => {
    const { unit, blockSize } = await readyUnit();
    const result = await unit.execute(task(cdb.modeSense10(DEFAULT, CONTROL, 512, true),
      { readLength: 512 }));
    const data = result.dataIn!;
    expect(data.readUInt16BE(0)).toBe(data.length - 2);
    expect(data[4] & 1).toBe(1);
    expect(data.readUInt16BE(6)).toBe(16);
    expect(data.readBigUInt64BE(8)).toBe(2048n);
    expect(data.readUInt32BE(20)).toBe(blockSize);
    expect([...pagesOf(data, 8).keys()]).toEqual([CONTROL]);
  });

  it("rejects saved values, unknown pages and subpages", async () => {
    expect(senseOf((await modeSense6(SAVED, CACHING)).result.sense))
      .toEqual({ key: 5, asc: 0x39, ascq: 0 });
    expect(senseOf((await modeSense6(CURRENT, 0x19)).result.sense))
      .toEqual({ key: 5, asc: 0x24, ascq: 0 });
    const { unit } = await readyUnit();
    const subpage = await unit.execute(task(cdb.modeSense6(CURRENT, CONTROL, 255, false, 1),
      { readLength: 255 }));
    expect(senseOf(subpage.sense)).toEqual({ key: 5, asc: 0x24, ascq: 0 });
    const allSubpages = await unit.execute(task(cdb.modeSense6(CURRENT, ALL_PAGES, 255, false,
      0xff), { readLength: 255 }));
    expect(allSubpages.status).toBe(0);
  });
});

function cachingSelect(wce: boolean, blockDescriptor?: number): Buffer {
  const header = Buffer.from([0, 0, 0, blockDescriptor === undefined ? 0 : 8]);
  const descriptor = Buffer.alloc(blockDescriptor === undefined ? 0 : 8);
  if (blockDescriptor !== undefined) descriptor.writeUIntBE(blockDescriptor, 5, 3);
  const page = Buffer.alloc(20);
  page[0] = CACHING;
  page[1] = 0x12;
  page[2] = wce ? 0x04 : 0;
  return Buffer.concat([header, descriptor, page]);
}

describe("MODE SELECT", () => {
  it("changes WCE, forces later writes to the medium and tells other nexuses", async () => {
    const { unit, device, blockSize } = await readyUnit();
    await unit.execute(task([0x00], { nexus: NEXUS_B }));
    const list = cachingSelect(false, blockSize);
    expect(await unit.execute(task(cdb.modeSelect6(list.length), { dataOut: list })))
      .toEqual({ status: 0 });
    const sense = await unit.execute(task(cdb.modeSense6(CURRENT, CACHING, 255),
      { readLength: 255 }));
    expect(pagesOf(sense.dataIn!).get(CACHING)![2] & 0x04).toBe(0);
    device.calls.length = 0;
    await unit.execute(task(cdb.write6(0, 1), { dataOut: Buffer.alloc(blockSize) }));
    expect(device.calls).toEqual([{ op: "write", offset: 0, length: blockSize, fua: true }]);
    expect((await unit.execute(task([0x00]))).status).toBe(0);
    const other = await unit.execute(task([0x00], { nexus: NEXUS_B }));
    expect(senseOf(other.sense)).toEqual({ key: 6, asc: 0x2a, ascq: 0x01 });
    expect(unit.snapshotState().modePages).toEqual({ writeCacheEnabled: false });
    unit.lunReset();
    expect(unit.snapshotState().modePages).toEqual({ writeCacheEnabled: true });
  });

  it("a MODE SELECT that changes nothing raises no unit attention", async () => {
    const { unit } = await readyUnit();
    await unit.execute(task([0x00], { nexus: NEXUS_B }));
    const list = cachingSelect(true);
    await unit.execute(task(cdb.modeSelect6(list.length), { dataOut: list }));
    expect((await unit.execute(task([0x00], { nexus: NEXUS_B }))).status).toBe(0);
  });

  it("rejects changes to fields that are not changeable, pointing at the byte", async () => {
    const { unit } = await readyUnit();
    const list = cachingSelect(true);
    list[4 + 2] |= 0x01; // RCD
    const result = await unit.execute(task(cdb.modeSelect6(list.length), { dataOut: list }));
    expect(senseOf(result.sense)).toEqual({ key: 5, asc: 0x26, ascq: 0 });
    expect(result.sense![15]).toBe(0x88); // SKSV, parameter list, BPV, bit 0
    expect(result.sense!.readUInt16BE(16)).toBe(6);
  });

  it("rejects SP, a wrong block length and a truncated list", async () => {
    const { unit, blockSize } = await readyUnit();
    const list = cachingSelect(false);
    const sp = await unit.execute(task(cdb.modeSelect6(list.length, true, true),
      { dataOut: list }));
    expect(senseOf(sp.sense)).toEqual({ key: 5, asc: 0x24, ascq: 0 });
    const wrongBlock = cachingSelect(false, blockSize * 8);
    const block = await unit.execute(task(cdb.modeSelect6(wrongBlock.length),
      { dataOut: wrongBlock }));
    expect(senseOf(block.sense)).toEqual({ key: 5, asc: 0x26, ascq: 0 });
    const short = await unit.execute(task(cdb.modeSelect6(3), { dataOut: list.subarray(0, 3) }));
    expect(senseOf(short.sense)).toEqual({ key: 5, asc: 0x1a, ascq: 0 });
    expect(unit.snapshotState().modePages).toEqual({ writeCacheEnabled: true });
  });
});
