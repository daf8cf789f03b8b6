import { describe, expect, it } from "vitest";
import { ScsiTargetDevice } from "../../src/scsi/target-device.ts";
import { cdb, readyUnit, senseOf, task } from "./scsi-memory-device.ts";

async function target(luns: number[]) {
  const units = await Promise.all(luns.map((lun) => readyUnit({ lun })));
  return new ScsiTargetDevice(units.map(({ unit }) => unit));
}

function lunList(data: Buffer): string[] {
  const entries = [];
  for (let at = 8; at < 8 + data.readUInt32BE(0); at += 8) {
    entries.push(data.subarray(at, at + 8).toString("hex"));
  }
  return entries;
}

describe("REPORT LUNS", () => {
  it("lists every LUN, peripheral or flat space addressed, from any LUN", async () => {
    const device = await target([300, 0, 2]);
    for (const lun of [0, 7]) {
      const result = await device.execute(task(cdb.reportLuns(0, 256), { lun, readLength: 256 }));
      expect(result.status).toBe(0);
      expect(lunList(result.dataIn!)).toEqual([
        "0000000000000000", "0002000000000000", "412c000000000000",
      ]);
      expect(result.residualUnderflow).toBe(true);
    }
    const all = await device.execute(task(cdb.reportLuns(2, 16), { readLength: 16 }));
    expect(all.dataIn?.readUInt32BE(0)).toBe(24);
    expect(all.dataIn?.length).toBe(16);
    expect(all.residualCount).toBeUndefined();
    const wellKnown = await device.execute(task(cdb.reportLuns(1, 16), { readLength: 16 }));
    expect(wellKnown.dataIn?.readUInt32BE(0)).toBe(0);
  });

  it("rejects an allocation length below 16 and unknown SELECT REPORT values", async () => {
    const device = await target([0]);
    const short = await device.execute(task(cdb.reportLuns(0, 15), { readLength: 15 }));
    expect(senseOf(short.sense)).toEqual({ key: 5, asc: 0x24, ascq: 0 });
    const select = await device.execute(task(cdb.reportLuns(3, 64), { readLength: 64 }));
    expect(senseOf(select.sense)).toEqual({ key: 5, asc: 0x24, ascq: 0 });
  });
});

describe("absent LUNs", () => {
  it("answers REQUEST SENSE with LOGICAL UNIT NOT SUPPORTED as data", async () => {
    const device = await target([0]);
    const result = await device.execute(task(cdb.requestSense(18), { lun: 4, readLength: 18 }));
    expect(result.status).toBe(0);
    expect(senseOf(result.dataIn)).toEqual({ key: 5, asc: 0x25, ascq: 0 });
  });

  it("fails every other command, known or not, with LOGICAL UNIT NOT SUPPORTED", async () => {
    const device = await target([0]);
    expect(device.hasLun(0)).toBe(true);
    expect(device.hasLun(4)).toBe(false);
    for (const c of [[0x00], [0xff], [0x25]]) {
      const result = await device.execute(task(c, { lun: 4 }));
      expect(senseOf(result.sense)).toEqual({ key: 5, asc: 0x25, ascq: 0 });
    }
  });

  it("ignores resets of an unknown LUN", async () => {
    const device = await target([0]);
    device.lunReset(9);
    expect((await device.execute(task([0x00]))).status).toBe(0);
  });
});
