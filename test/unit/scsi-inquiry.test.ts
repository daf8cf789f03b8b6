import { describe, expect, it } from "vitest";
import { ScsiTargetDevice } from "../../src/scsi/target-device.ts";
import { IDENTITY, NEXUS_A, cdb, readyUnit, senseOf, task } from "./scsi-memory-device.ts";

async function inquiry(evpd: boolean, page: number, allocation = 1024) {
  const { unit } = await readyUnit();
  return unit.execute(task(cdb.inquiry(evpd, page, allocation), { readLength: allocation }));
}

/** Designation descriptors of a Device Identification page. */
function designators(page: Buffer) {
  const found = [];
  for (let at = 4; at < page.length; at += 4 + page[at + 3]) {
    found.push({
      protocolAndCodeSet: page[at],
      pivAssociationType: page[at + 1],
      value: page.subarray(at + 4, at + 4 + page[at + 3]),
    });
  }
  return found;
}

describe("INQUIRY", () => {
  it("returns standard data for an SPC-4 SBC-3 device with ALUA and 3PC", async () => {
    const result = await inquiry(false, 0, 260);
    const data = result.dataIn!;
    expect(data.length).toBe(96);
    expect(result.residualUnderflow).toBe(true);
    expect(result.residualCount).toBe(260 - 96);
    expect(data[0]).toBe(0x00);
    expect(data[1]).toBe(0x00); // not removable
    expect(data[2]).toBe(0x06);
    expect(data[3]).toBe(0x12); // HiSup, response data format 2
    expect(data[4]).toBe(91);
    expect(data[5]).toBe(0x38); // TPGS 11b (implicit and explicit ALUA), 3PC
    expect(data[7]).toBe(0x02); // CmdQue
    expect(data.toString("ascii", 8, 16)).toBe("TWINSAN ");
    expect(data.toString("ascii", 16, 32)).toBe("VDISK           ");
    expect(data.toString("ascii", 32, 36)).toBe("0.1 ");
    const descriptors = [0, 1, 2, 3].map((i) => data.readUInt16BE(58 + 2 * i));
    expect(descriptors).toEqual([0x00a0, 0x0960, 0x0460, 0x04c0]);
  });

  it("cuts the data to the allocation length without an error", async () => {
    for (const allocation of [5, 36, 255]) {
      const result = await inquiry(false, 0, allocation);
      expect(result.status).toBe(0);
      expect(result.dataIn?.length).toBe(Math.min(allocation, 96));
    }
  });

  it("rejects a page code without EVPD and unknown VPD pages", async () => {
    expect(senseOf((await inquiry(false, 0x80)).sense)).toEqual({ key: 5, asc: 0x24, ascq: 0 });
    const unknown = await inquiry(true, 0x99);
    expect(senseOf(unknown.sense)).toEqual({ key: 5, asc: 0x24, ascq: 0 });
    expect(unknown.sense?.readUInt16BE(16)).toBe(2);
  });

  it("lists the supported VPD pages in ascending order, each readable", async () => {
    const { dataIn } = await inquiry(true, 0x00);
    const pages = [...dataIn!.subarray(4, 4 + dataIn!.readUInt16BE(2))];
    expect(pages).toEqual([0x00, 0x80, 0x83, 0x8f, 0xb0, 0xb1, 0xb2]);
    for (const page of pages) {
      const result = await inquiry(true, page, 255);
      expect(result.status).toBe(0);
      expect(result.dataIn![1]).toBe(page);
      expect(result.dataIn!.length).toBe(result.dataIn!.readUInt16BE(2) + 4);
    }
  });

  it("reports the unit serial number", async () => {
    const { dataIn } = await inquiry(true, 0x80);
    expect(dataIn!.toString("ascii", 4)).toBe(IDENTITY.serial);
  });

  it("identifies the LU by NAA and the port by relative id, group and name", async () => {
    const { dataIn } = await inquiry(true, 0x83);
    const found = designators(dataIn!);
    expect(found[0]).toEqual({
      protocolAndCodeSet: 0x01,
      pivAssociationType: 0x03,
      value: Buffer.from(IDENTITY.naaId, "hex"),
    });
    expect(found[1]).toEqual({
      protocolAndCodeSet: 0x51,
      pivAssociationType: 0x94,
      value: Buffer.from([0, 0, 0, NEXUS_A.relativeTargetPortId]),
    });
    expect(found[2]).toEqual({
      protocolAndCodeSet: 0x51,
      pivAssociationType: 0x95,
      value: Buffer.from([0, 0, 0, NEXUS_A.targetPortGroupId]),
    });
    expect(found[3].protocolAndCodeSet).toBe(0x53);
    expect(found[3].pivAssociationType).toBe(0x98);
    expect(found[3].value.length % 4).toBe(0);
    expect(found[3].value.toString("utf8").replace(/\0+$/, "")).toBe(NEXUS_A.targetPortName);
    expect(found[4].pivAssociationType).toBe(0xa8);
    expect(found[4].value.toString("utf8").replace(/\0+$/, "")).toBe("iqn.2024-01.test:target");
  });

  it("reports SBC-3 block limits, a non-rotating medium and full provisioning", async () => {
    const limits = (await inquiry(true, 0xb0)).dataIn!;
    expect(limits.readUInt16BE(2)).toBe(0x3c);
    expect(limits.readUInt16BE(6)).toBe(8); // granularity: 4 KiB of 512-byte blocks
    expect(limits.readUInt32BE(8)).toBe(16384);
    expect(limits.readUInt32BE(20)).toBe(0); // no UNMAP
    const characteristics = (await inquiry(true, 0xb1)).dataIn!;
    expect(characteristics.readUInt16BE(4)).toBe(1);
    const provisioning = (await inquiry(true, 0xb2)).dataIn!;
    expect(provisioning[5]).toBe(0);
  });
});

describe("INQUIRY to an absent LUN", () => {
  it("answers with peripheral qualifier 3 and device type 0x1f", async () => {
    const { unit } = await readyUnit();
    const target = new ScsiTargetDevice([unit]);
    const result = await target.execute(task(cdb.inquiry(false, 0, 96),
      { lun: 5, readLength: 96 }));
    expect(result.status).toBe(0);
    expect(result.dataIn![0]).toBe(0x7f);
    const vpd = await target.execute(task(cdb.inquiry(true, 0x83, 96),
      { lun: 5, readLength: 96 }));
    expect(senseOf(vpd.sense)).toEqual({ key: 5, asc: 0x25, ascq: 0 });
  });
});
