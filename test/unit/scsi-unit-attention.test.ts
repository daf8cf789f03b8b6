import { describe, expect, it } from "vitest";
import { LogicalUnit } from "../../src/scsi/logical-unit.ts";
import { ScsiTargetDevice } from "../../src/scsi/target-device.ts";
import {
  IDENTITY, MemoryBlockDevice, NEXUS_A, NEXUS_B, cdb, readyUnit, senseOf, task,
} from "./scsi-memory-device.ts";

const TEST_UNIT_READY = [0x00, 0, 0, 0, 0, 0];
const UNIT_ATTENTION = 0x6;

function freshUnit() {
  return new LogicalUnit({ lun: 0, device: new MemoryBlockDevice(512, 512 * 64),
    identity: IDENTITY });
}

describe("unit attention", () => {
  it("reports POWER ON, RESET once on each nexus's first command", async () => {
    const unit = freshUnit();
    const first = await unit.execute(task(TEST_UNIT_READY));
    expect(first.status).toBe(2);
    expect(senseOf(first.sense)).toEqual({ key: UNIT_ATTENTION, asc: 0x29, ascq: 0x00 });
    expect((await unit.execute(task(TEST_UNIT_READY))).status).toBe(0);
    const other = await unit.execute(task(TEST_UNIT_READY, { nexus: NEXUS_B }));
    expect(senseOf(other.sense)?.key).toBe(UNIT_ATTENTION);
  });

  it("lets INQUIRY and REPORT LUNS through without clearing it", async () => {
    const unit = freshUnit();
    expect((await unit.execute(task(cdb.inquiry(false, 0, 96), { readLength: 96 }))).status)
      .toBe(0);
    expect((await unit.execute(task(cdb.reportLuns(0, 16), { readLength: 16 }))).status).toBe(0);
    const tur = await unit.execute(task(TEST_UNIT_READY));
    expect(senseOf(tur.sense)).toEqual({ key: UNIT_ATTENTION, asc: 0x29, ascq: 0x00 });
  });

  it("REQUEST SENSE returns and clears it, then NO SENSE", async () => {
    const unit = freshUnit();
    const sense = await unit.execute(task(cdb.requestSense(18), { readLength: 18 }));
    expect(sense.status).toBe(0);
    expect(senseOf(sense.dataIn)).toEqual({ key: UNIT_ATTENTION, asc: 0x29, ascq: 0x00 });
    expect((await unit.execute(task(TEST_UNIT_READY))).status).toBe(0);
    const none = await unit.execute(task(cdb.requestSense(252), { readLength: 252 }));
    expect(none.dataIn?.length).toBe(18);
    expect(senseOf(none.dataIn)).toEqual({ key: 0, asc: 0, ascq: 0 });
    const descriptor = await unit.execute(task(cdb.requestSense(252, true), { readLength: 252 }));
    expect([...descriptor.dataIn!]).toEqual([0x72, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("a LUN reset queues BUS DEVICE RESET FUNCTION OCCURRED for every nexus", async () => {
    const { unit } = await readyUnit();
    await unit.execute(task(TEST_UNIT_READY, { nexus: NEXUS_B }));
    unit.lunReset();
    for (const nexus of [NEXUS_A, NEXUS_B]) {
      const result = await unit.execute(task(TEST_UNIT_READY, { nexus }));
      expect(senseOf(result.sense)).toEqual({ key: UNIT_ATTENTION, asc: 0x29, ascq: 0x03 });
      expect((await unit.execute(task(TEST_UNIT_READY, { nexus }))).status).toBe(0);
    }
  });

  it("a target reset resets every logical unit", async () => {
    const a = await readyUnit({ lun: 0 });
    const b = await readyUnit({ lun: 1 });
    const target = new ScsiTargetDevice([a.unit, b.unit]);
    target.targetReset();
    for (const lun of [0, 1]) {
      const result = await target.execute(task(TEST_UNIT_READY, { lun }));
      expect(senseOf(result.sense)).toEqual({ key: UNIT_ATTENTION, asc: 0x29, ascq: 0x00 });
    }
  });

  it("queues established conditions in order, without duplicates", async () => {
    const { unit } = await readyUnit();
    unit.establishUnitAttention({ asc: 0x2a, ascq: 0x03 });
    unit.establishUnitAttention({ asc: 0x2a, ascq: 0x03 });
    unit.establishUnitAttention({ asc: 0x2a, ascq: 0x01 }, { except: NEXUS_A });
    unit.establishUnitAttention({ asc: 0x3f, ascq: 0x03 }, { only: NEXUS_A });
    const first = await unit.execute(task(TEST_UNIT_READY));
    expect(senseOf(first.sense)).toEqual({ key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x03 });
    const second = await unit.execute(task(TEST_UNIT_READY));
    expect(senseOf(second.sense)).toEqual({ key: UNIT_ATTENTION, asc: 0x3f, ascq: 0x03 });
    expect((await unit.execute(task(TEST_UNIT_READY))).status).toBe(0);
  });

  it("survives a JSON snapshot and restore on another logical unit", async () => {
    const { unit } = await readyUnit();
    await unit.execute(task(TEST_UNIT_READY, { nexus: NEXUS_B }));
    unit.establishUnitAttention({ asc: 0x2a, ascq: 0x01 }, { only: NEXUS_B });
    const state = JSON.parse(JSON.stringify(unit.snapshotState()));
    const partner = freshUnit();
    partner.restoreState(state);
    expect((await partner.execute(task(TEST_UNIT_READY))).status).toBe(0);
    const b = await partner.execute(task(TEST_UNIT_READY, { nexus: NEXUS_B }));
    expect(senseOf(b.sense)).toEqual({ key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x01 });
    expect(partner.snapshotState().modePages).toEqual({ writeCacheEnabled: true });
  });

  it("treats a nexus that was lost and comes back as new", async () => {
    const { unit } = await readyUnit();
    const target = new ScsiTargetDevice([unit]);
    target.nexusLost(NEXUS_A);
    const result = await target.execute(task(TEST_UNIT_READY));
    expect(senseOf(result.sense)).toEqual({ key: UNIT_ATTENTION, asc: 0x29, ascq: 0x00 });
  });
});
