import { describe, expect, it } from "vitest";
import { AluaState, type TargetPortGroup } from "../../src/scsi/alua-state.ts";
import { LogicalUnit } from "../../src/scsi/logical-unit.ts";
import { ScsiTargetDevice } from "../../src/scsi/target-device.ts";
import type { ItNexus } from "../../src/scsi/types.ts";
import { IDENTITY, MemoryBlockDevice, NEXUS_A, cdb, senseOf, task } from "./scsi-memory-device.ts";

const ACTIVE_OPTIMIZED = 0x0;
const ACTIVE_NON_OPTIMIZED = 0x1;
const STANDBY = 0x2;
const UNAVAILABLE = 0x3;
const TRANSITIONING = 0xf;
const STATE_CHANGED = { key: 0x6, asc: 0x2a, ascq: 0x06 };
const NOT_READY = 0x2;

/** Node 1 (group 1, ports 1 and 2) and its partner node 2 (group 2, port 3). */
function twoNodeGroups(): TargetPortGroup[] {
  return [
    { id: 1, state: ACTIVE_OPTIMIZED, relativePortIds: [1, 2], preferred: true },
    { id: 2, state: STANDBY, relativePortIds: [3], preferred: false },
  ];
}

const PORT_1: ItNexus = { ...NEXUS_A, targetPortGroupId: 1, relativeTargetPortId: 1 };
const PORT_1_OTHER_INITIATOR: ItNexus = {
  ...PORT_1,
  initiatorPortName: "iqn.2024-01.test:init-b,i,0x023d00000002",
};
const PORT_3: ItNexus = {
  ...NEXUS_A,
  targetPortName: "iqn.2024-01.test:target,t,0x0003",
  targetPortGroupId: 2,
  relativeTargetPortId: 3,
};

const rtpg = (format: number, allocation: number) =>
  [0xa3, (format << 5) | 0x0a, 0, 0, 0, 0, 0, 0, allocation >> 8, allocation & 0xff, 0, 0];
const stpg = (length: number) => [0xa4, 0x0a, 0, 0, 0, 0, 0, 0, 0, length, 0, 0];

function stpgList(requests: Array<[number, number]>): Buffer {
  const list = Buffer.alloc(4 + 4 * requests.length);
  requests.forEach(([groupId, state], i) => {
    list[4 + 4 * i] = state;
    list.writeUInt16BE(groupId, 6 + 4 * i);
  });
  return list;
}

/** Logical units sharing one AluaState; every nexus has seen (and cleared) its power-on UA. */
async function aluaTarget(nexuses: ItNexus[] = [PORT_1, PORT_1_OTHER_INITIATOR, PORT_3]) {
  const alua = new AluaState(twoNodeGroups());
  const units = [0, 1].map((lun) => new LogicalUnit({
    lun,
    device: new MemoryBlockDevice(512, 512 * 64),
    identity: IDENTITY,
    alua,
  }));
  const target = new ScsiTargetDevice(units);
  for (const nexus of nexuses) {
    for (const lun of [0, 1]) await target.execute(task(cdb.requestSense(18), { lun, nexus }));
  }
  return { alua, target };
}

function groupsOf(data: Buffer, headerLength: number) {
  const groups = [];
  for (let at = headerLength; at < data.readUInt32BE(0) + 4;) {
    const ports = [];
    for (let p = 0; p < data[at + 7]; p++) ports.push(data.readUInt16BE(at + 8 + 4 * p + 2));
    groups.push({
      preferred: (data[at] & 0x80) !== 0,
      state: data[at] & 0x0f,
      supported: data[at + 1],
      id: data.readUInt16BE(at + 2),
      ports,
    });
    at += 8 + 4 * data[at + 7];
  }
  return groups;
}

describe("REPORT TARGET PORT GROUPS", () => {
  it("lists every group with its state, supported states and relative ports", async () => {
    const { target } = await aluaTarget();
    const result = await target.execute(task(rtpg(0, 512), { nexus: PORT_1, readLength: 512 }));
    expect(result.status).toBe(0);
    expect(groupsOf(result.dataIn!, 4)).toEqual([
      { preferred: true, state: ACTIVE_OPTIMIZED, supported: 0x8f, id: 1, ports: [1, 2] },
      { preferred: false, state: STANDBY, supported: 0x8f, id: 2, ports: [3] },
    ]);
    const extended = await target.execute(task(rtpg(1, 512), { nexus: PORT_1, readLength: 512 }));
    expect(extended.dataIn![4] & 0x70).toBe(0x10);
    expect(groupsOf(extended.dataIn!, 8)).toHaveLength(2);
    const cut = await target.execute(task(rtpg(0, 6), { nexus: PORT_1, readLength: 6 }));
    expect(cut.dataIn!.length).toBe(6);
    expect(cut.dataIn!.readUInt32BE(0)).toBe(8 + 4 * 2 + 8 + 4);
    const badFormat = await target.execute(task(rtpg(2, 512), { nexus: PORT_1, readLength: 512 }));
    expect(senseOf(badFormat.sense)).toEqual({ key: 0x5, asc: 0x24, ascq: 0 });
  });

  it("a standalone node reports one active/optimized group, learned from the nexus", async () => {
    const unit = new LogicalUnit({ lun: 0, device: new MemoryBlockDevice(512, 512 * 64),
      identity: IDENTITY });
    await unit.execute(task([0x00]));
    const result = await unit.execute(task(rtpg(0, 64), { readLength: 64 }));
    expect(groupsOf(result.dataIn!, 4)).toEqual([{
      preferred: false, state: ACTIVE_OPTIMIZED, supported: 0x8f,
      id: NEXUS_A.targetPortGroupId, ports: [NEXUS_A.relativeTargetPortId],
    }]);
  });

  it("standard INQUIRY reports explicit and implicit ALUA (TPGS 11b)", async () => {
    const { target } = await aluaTarget();
    const result = await target.execute(task(cdb.inquiry(false, 0, 96),
      { nexus: PORT_1, readLength: 96 }));
    expect((result.dataIn![5] >> 4) & 0b11).toBe(0b11);
  });
});

describe("SET TARGET PORT GROUPS", () => {
  it("changes states and tells every other I_T nexus of every unit", async () => {
    const { alua, target } = await aluaTarget();
    const list = stpgList([[1, ACTIVE_NON_OPTIMIZED], [2, ACTIVE_OPTIMIZED]]);
    const result = await target.execute(task(stpg(list.length), { nexus: PORT_1, dataOut: list }));
    expect(result).toEqual({ status: 0 });
    expect(alua.groups.map((group) => group.state)).toEqual([ACTIVE_NON_OPTIMIZED,
      ACTIVE_OPTIMIZED]);
    for (const lun of [0, 1]) {
      const origin = await target.execute(task([0x00], { lun, nexus: PORT_1 }));
      expect(origin.status).toBe(0);
      for (const nexus of [PORT_1_OTHER_INITIATOR, PORT_3]) {
        const other = await target.execute(task([0x00], { lun, nexus }));
        expect(senseOf(other.sense)).toEqual(STATE_CHANGED);
        expect((await target.execute(task([0x00], { lun, nexus }))).status).toBe(0);
      }
    }
  });

  it("applies nothing when one descriptor is invalid", async () => {
    const { alua, target } = await aluaTarget();
    for (const requests of [[[2, ACTIVE_OPTIMIZED], [9, STANDBY]], [[1, TRANSITIONING]],
      [[1, STANDBY], [1, UNAVAILABLE]]] as Array<Array<[number, number]>>) {
      const list = stpgList(requests);
      const result = await target.execute(task(stpg(list.length),
        { nexus: PORT_1, dataOut: list }));
      expect(senseOf(result.sense)).toEqual({ key: 0x5, asc: 0x26, ascq: 0 });
    }
    expect(alua.groups.map((group) => group.state)).toEqual([ACTIVE_OPTIMIZED, STANDBY]);
    const ragged = await target.execute(task(stpg(6), { nexus: PORT_1, dataOut: Buffer.alloc(6) }));
    expect(senseOf(ragged.sense)).toEqual({ key: 0x5, asc: 0x1a, ascq: 0 });
    expect(await target.execute(task(stpg(0), { nexus: PORT_1 }))).toEqual({ status: 0 });
  });
});

describe("access states", () => {
  async function refusalIn(state: number, command: number[], options = {}) {
    const { alua, target } = await aluaTarget();
    alua.setGroupState(1, state as 0);
    await target.execute(task([0x00], { nexus: PORT_1 })); // consumes the state-changed UA
    return target.execute(task(command, { nexus: PORT_1, ...options }));
  }

  it("setGroupState raises ASYMMETRIC ACCESS STATE CHANGED only for a real change", async () => {
    const { alua, target } = await aluaTarget();
    alua.setGroupState(2, STANDBY);
    expect((await target.execute(task([0x00], { nexus: PORT_3 }))).status).toBe(NOT_READY);
    alua.setGroupState(2, ACTIVE_NON_OPTIMIZED);
    const first = await target.execute(task([0x00], { nexus: PORT_3 }));
    expect(senseOf(first.sense)).toEqual(STATE_CHANGED);
    expect((await target.execute(task([0x00], { nexus: PORT_3 }))).status).toBe(0);
  });

  it("standby refuses media access with 04/0B but serves inquiry, mode and capacity", async () => {
    for (const command of [[0x00], cdb.rw10(0x28, 0, 1)]) {
      const result = await refusalIn(STANDBY, command, { readLength: 512 });
      expect(senseOf(result.sense)).toEqual({ key: NOT_READY, asc: 0x04, ascq: 0x0b });
    }
    for (const command of [cdb.inquiry(false, 0, 96), cdb.modeSense6(0, 0x3f, 255),
      cdb.readCapacity16(32), rtpg(0, 64), cdb.reportLuns(0, 64)]) {
      expect((await refusalIn(STANDBY, command, { readLength: 255 })).status).toBe(0);
    }
  });

  it("unavailable refuses with 04/0C, transitioning with 04/0A", async () => {
    const unavailable = await refusalIn(UNAVAILABLE, cdb.modeSense6(0, 0x3f, 255),
      { readLength: 255 });
    expect(senseOf(unavailable.sense)).toEqual({ key: NOT_READY, asc: 0x04, ascq: 0x0c });
    const list = stpgList([[1, ACTIVE_OPTIMIZED]]);
    expect((await refusalIn(UNAVAILABLE, stpg(list.length), { dataOut: list })).status).toBe(0);
    const transitioning = await refusalIn(TRANSITIONING, cdb.readCapacity16(32),
      { readLength: 32 });
    expect(senseOf(transitioning.sense)).toEqual({ key: NOT_READY, asc: 0x04, ascq: 0x0a });
    expect((await refusalIn(TRANSITIONING, rtpg(0, 64), { readLength: 64 })).status).toBe(0);
  });

  it("snapshots as plain data; a restore with other states raises the unit attention", async () => {
    const { alua, target } = await aluaTarget();
    const snapshot = JSON.parse(JSON.stringify(alua.snapshot()));
    expect(snapshot.groups).toEqual(twoNodeGroups());
    snapshot.groups[0].state = STANDBY;
    alua.restore(snapshot);
    expect(alua.stateOf(1)).toBe(STANDBY);
    const result = await target.execute(task(cdb.inquiry(false, 0, 96),
      { nexus: PORT_3, readLength: 96 }));
    expect(result.status).toBe(0);
    expect(senseOf((await target.execute(task([0x00], { nexus: PORT_3 }))).sense))
      .toEqual(STATE_CHANGED);
  });

  it("refuses inconsistent group configurations", () => {
    expect(() => new AluaState([
      { id: 1, state: ACTIVE_OPTIMIZED, relativePortIds: [1], preferred: false },
      { id: 2, state: STANDBY, relativePortIds: [1], preferred: false },
    ])).toThrow(/two groups/);
    expect(() => new AluaState([
      { id: 1, state: 7 as 0, relativePortIds: [1], preferred: false },
    ])).toThrow(/access state/);
  });
});
