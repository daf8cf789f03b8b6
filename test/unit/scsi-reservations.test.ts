import { describe, expect, it } from "vitest";
import type { TaskAbortRequest } from "../../src/scsi/reservations/logical-unit-reservations.ts";
import { encodeInitiatorPortTransportId } from "../../src/scsi/reservations/transport-id.ts";
import { NEXUS_A, NEXUS_B, cdb, senseOf, task } from "./scsi-memory-device.ts";
import {
  ALL_TYPES, CHECK_CONDITION, GOOD, In, NEXUS_A2, NEXUS_C, RESERVATION_CONFLICT, Sa, Type,
  basicParameterList, prInCdb, prOutCdb, unitWithNexuses,
} from "./scsi-reservations-helpers.ts";

const K1 = 0x1111n;
const K2 = 0x2222n;
const K3 = 0x3333n;
const UNIT_ATTENTION = 0x6;
const ILLEGAL_REQUEST = 0x5;
const RESERVATIONS_PREEMPTED = { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x03 };
const RESERVATIONS_RELEASED = { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x04 };
const REGISTRATIONS_PREEMPTED = { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x05 };
const INVALID_FIELD_IN_CDB = { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0 };
const INVALID_FIELD_IN_PARAMETER_LIST = { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0 };
const isAllRegistrants = (type: number) => type === Type.WE_AR || type === Type.EA_AR;

describe("PERSISTENT RESERVE OUT REGISTER", () => {
  it("registers, changes and removes keys, counting generations", async () => {
    const pr = await unitWithNexuses();
    expect(await pr.keys()).toEqual({ generation: 0, keys: [] });
    expect((await pr.prOut(NEXUS_A, Sa.REGISTER, { serviceActionKey: K1 })).status).toBe(GOOD);
    expect((await pr.register(NEXUS_B, K2)).status).toBe(GOOD);
    expect(await pr.keys(NEXUS_B)).toEqual({ generation: 2, keys: [K1, K2] });
    const changed = await pr.prOut(NEXUS_A, Sa.REGISTER, { key: K1, serviceActionKey: K3 });
    expect(changed.status).toBe(GOOD);
    expect((await pr.prOut(NEXUS_B, Sa.REGISTER, { key: K2 })).status).toBe(GOOD);
    expect(await pr.keys()).toEqual({ generation: 4, keys: [K3] });
  });

  it("conflicts on a wrong key; REGISTER AND IGNORE EXISTING KEY ignores it", async () => {
    const pr = await unitWithNexuses();
    const unregistered = await pr.prOut(NEXUS_A, Sa.REGISTER, { key: K1, serviceActionKey: K1 });
    expect(unregistered.status).toBe(RESERVATION_CONFLICT);
    await pr.register(NEXUS_A, K1);
    const wrong = await pr.prOut(NEXUS_A, Sa.REGISTER, { key: K2, serviceActionKey: K3 });
    expect(wrong.status).toBe(RESERVATION_CONFLICT);
    expect((await pr.register(NEXUS_A, K3, { key: K2 })).status).toBe(GOOD);
    expect((await pr.keys()).keys).toEqual([K3]);
  });

  it("an unregistered nexus unregistering is a no-op that leaves the generation", async () => {
    const pr = await unitWithNexuses();
    expect((await pr.prOut(NEXUS_A, Sa.REGISTER, {})).status).toBe(GOOD);
    expect(await pr.keys()).toEqual({ generation: 0, keys: [] });
  });

  it("other service actions from an unregistered nexus conflict", async () => {
    const pr = await unitWithNexuses();
    for (const sa of [Sa.RESERVE, Sa.RELEASE, Sa.CLEAR, Sa.PREEMPT, Sa.PREEMPT_AND_ABORT]) {
      const result = await pr.prOut(NEXUS_A, sa, { key: K1, serviceActionKey: K2 }, Type.WE);
      expect(result.status).toBe(RESERVATION_CONFLICT);
    }
  });

  it("ALL_TG_PT registers the initiator port through every target port", async () => {
    const pr = await unitWithNexuses([NEXUS_A, NEXUS_A2, NEXUS_B, NEXUS_C]);
    await pr.register(NEXUS_A, K1, { allTargetPorts: true });
    expect((await pr.reserve(NEXUS_B, K1, Type.EA_RO)).status).toBe(RESERVATION_CONFLICT);
    await pr.register(NEXUS_B, K2);
    expect((await pr.reserve(NEXUS_B, K2, Type.EA_RO)).status).toBe(GOOD);
    expect((await pr.read(NEXUS_A2)).status).toBe(GOOD);
    expect((await pr.read(NEXUS_C)).status).toBe(RESERVATION_CONFLICT);
    const full = await pr.prIn(NEXUS_A, In.FULL_STATUS);
    expect(full[8 + 12]).toBe(0x02); // ALL_TG_PT, not the holder
    expect(full.readUInt16BE(8 + 18)).toBe(0); // no one relative target port
    // The key changes for the registration, whichever port sends REGISTER.
    await pr.prOut(NEXUS_A2, Sa.REGISTER, { key: K1, serviceActionKey: K3 });
    expect((await pr.keys()).keys).toEqual([K3, K2]);
  });

  it("rejects SPEC_I_PT, reserved flags and a short parameter list", async () => {
    const pr = await unitWithNexuses();
    const sipt = await pr.prOut(NEXUS_A, Sa.REGISTER, { serviceActionKey: K1,
      specifyInitiatorPorts: true });
    expect(senseOf(sipt.sense)).toEqual(INVALID_FIELD_IN_PARAMETER_LIST);
    expect(sipt.sense![15]).toBe(0x80 | 0x08 | 3); // SKSV, bit pointer valid, bit 3
    expect(sipt.sense!.readUInt16BE(16)).toBe(20);
    const reserved = await pr.prOut(NEXUS_A, Sa.REGISTER, { serviceActionKey: K1,
      flagsByte: 0x02 });
    expect(senseOf(reserved.sense)).toEqual(INVALID_FIELD_IN_PARAMETER_LIST);
    const list = basicParameterList({ serviceActionKey: K1 }).subarray(0, 20);
    const short = await pr.unit.execute(task(prOutCdb(Sa.REGISTER, 0, 20), { dataOut: list }));
    expect(senseOf(short.sense)).toEqual({ key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
    expect(await pr.keys()).toEqual({ generation: 0, keys: [] });
  });

  it("without an APTPL file APTPL=1 is an invalid field", async () => {
    const pr = await unitWithNexuses();
    const result = await pr.register(NEXUS_A, K1, { aptpl: true });
    expect(senseOf(result.sense)).toEqual(INVALID_FIELD_IN_PARAMETER_LIST);
    const capabilities = await pr.prIn(NEXUS_A, In.REPORT_CAPABILITIES);
    expect(capabilities[2] & 0x01).toBe(0); // PTPL_C
  });

  it("answers INSUFFICIENT REGISTRATION RESOURCES past 256 registrations", async () => {
    const pr = await unitWithNexuses([]);
    for (let i = 0; i < 256; i++) {
      const nexus = { ...NEXUS_A, initiatorPortName: `iqn.2024-01.test:i${i},i,0x1` };
      await pr.tur(nexus);
      expect((await pr.register(nexus, BigInt(i + 1))).status).toBe(GOOD);
    }
    const last = { ...NEXUS_A, initiatorPortName: "iqn.2024-01.test:last,i,0x2" };
    await pr.tur(last);
    const full = await pr.register(last, 999n);
    expect(senseOf(full.sense)).toEqual({ key: ILLEGAL_REQUEST, asc: 0x55, ascq: 0x04 });
  });
});

describe("PERSISTENT RESERVE OUT RESERVE and RELEASE", () => {
  it.each(ALL_TYPES)("reserves and releases type %i", async (type) => {
    const pr = await unitWithNexuses();
    await pr.register(NEXUS_A, K1);
    expect((await pr.reserve(NEXUS_A, K1, type)).status).toBe(GOOD);
    expect(await pr.reservation()).toEqual({
      key: isAllRegistrants(type) ? 0n : K1,
      scopeType: type,
    });
    expect((await pr.reserve(NEXUS_A, K1, type)).status).toBe(GOOD); // same type: no-op
    const other = type === Type.WE ? Type.EA : Type.WE;
    expect((await pr.reserve(NEXUS_A, K1, other)).status).toBe(RESERVATION_CONFLICT);
    const wrongType = await pr.prOut(NEXUS_A, Sa.RELEASE, { key: K1 }, other);
    expect(senseOf(wrongType.sense)).toEqual({ key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0x04 });
    expect((await pr.prOut(NEXUS_A, Sa.RELEASE, { key: K1 }, type)).status).toBe(GOOD);
    expect(await pr.reservation()).toBeUndefined();
    expect((await pr.keys()).generation).toBe(1); // RESERVE and RELEASE leave it
  });

  it("a registered non-holder cannot reserve; its RELEASE changes nothing", async () => {
    const pr = await unitWithNexuses();
    await pr.register(NEXUS_A, K1);
    await pr.register(NEXUS_B, K2);
    await pr.reserve(NEXUS_A, K1, Type.WE);
    expect((await pr.reserve(NEXUS_B, K2, Type.WE)).status).toBe(RESERVATION_CONFLICT);
    expect((await pr.prOut(NEXUS_B, Sa.RELEASE, { key: K2 }, Type.WE)).status).toBe(GOOD);
    expect(await pr.reservation()).toEqual({ key: K1, scopeType: Type.WE });
  });

  it("checks SCOPE and TYPE in the CDB", async () => {
    const pr = await unitWithNexuses();
    await pr.register(NEXUS_A, K1);
    const list = basicParameterList({ key: K1 });
    const scope = await pr.unit.execute(task(prOutCdb(Sa.RESERVE, Type.WE, 24, 1),
      { dataOut: list }));
    expect(senseOf(scope.sense)).toEqual(INVALID_FIELD_IN_CDB);
    const type = await pr.unit.execute(task(prOutCdb(Sa.RESERVE, 2, 24), { dataOut: list }));
    expect(senseOf(type.sense)).toEqual(INVALID_FIELD_IN_CDB);
  });

  it.each([Type.WE_RO, Type.EA_RO, Type.WE_AR, Type.EA_AR])(
    "releasing type %i tells the other registrants RESERVATIONS RELEASED",
    async (type) => {
      const pr = await unitWithNexuses([NEXUS_A, NEXUS_B, NEXUS_C]);
      await pr.register(NEXUS_A, K1);
      await pr.register(NEXUS_B, K2);
      await pr.reserve(NEXUS_A, K1, type);
      await pr.prOut(NEXUS_A, Sa.RELEASE, { key: K1 }, type);
      expect(senseOf((await pr.tur(NEXUS_B)).sense)).toEqual(RESERVATIONS_RELEASED);
      expect((await pr.tur(NEXUS_A)).status).toBe(GOOD);
      expect((await pr.tur(NEXUS_C)).status).toBe(GOOD); // not registered
    },
  );

  it.each([Type.WE, Type.EA])("releasing type %i establishes no unit attention", async (type) => {
    const pr = await unitWithNexuses();
    await pr.register(NEXUS_A, K1);
    await pr.register(NEXUS_B, K2);
    await pr.reserve(NEXUS_A, K1, type);
    await pr.prOut(NEXUS_A, Sa.RELEASE, { key: K1 }, type);
    expect((await pr.tur(NEXUS_B)).status).toBe(GOOD);
  });
});

describe("unregistering the reservation holder", () => {
  it.each([Type.WE, Type.EA, Type.WE_RO, Type.EA_RO])("releases type %i", async (type) => {
    const pr = await unitWithNexuses();
    await pr.register(NEXUS_A, K1);
    await pr.register(NEXUS_B, K2);
    await pr.reserve(NEXUS_A, K1, type);
    await pr.prOut(NEXUS_A, Sa.REGISTER, { key: K1 });
    expect(await pr.reservation()).toBeUndefined();
    const other = await pr.tur(NEXUS_B);
    if (type === Type.WE_RO || type === Type.EA_RO) {
      expect(senseOf(other.sense)).toEqual(RESERVATIONS_RELEASED);
    } else {
      expect(other.status).toBe(GOOD);
    }
  });

  it.each([Type.WE_AR, Type.EA_AR])("keeps type %i until the last registrant goes", async (t) => {
    const pr = await unitWithNexuses();
    await pr.register(NEXUS_A, K1);
    await pr.register(NEXUS_B, K2);
    await pr.reserve(NEXUS_A, K1, t);
    await pr.prOut(NEXUS_A, Sa.REGISTER, { key: K1 });
    expect(await pr.reservation()).toEqual({ key: 0n, scopeType: t });
    expect((await pr.prOut(NEXUS_B, Sa.RELEASE, { key: K2 }, t)).status).toBe(GOOD);
    await pr.reserve(NEXUS_B, K2, t);
    await pr.prOut(NEXUS_B, Sa.REGISTER, { key: K2 });
    expect(await pr.reservation()).toBeUndefined();
  });
});

describe("reservation conflicts (SPC-4 5.13.1, SBC-3 4.17)", () => {
  // [type, registered B reads, registered B writes, unregistered B reads, unregistered B writes]
  const ACCESS: Array<[number, boolean, boolean, boolean, boolean]> = [
    [Type.WE, true, false, true, false],
    [Type.EA, false, false, false, false],
    [Type.WE_RO, true, true, true, false],
    [Type.EA_RO, true, true, false, false],
    [Type.WE_AR, true, true, true, false],
    [Type.EA_AR, true, true, false, false],
  ];

  it.each(ACCESS)("type %i: registered read %s write %s, unregistered read %s write %s",
    async (type, regRead, regWrite, unregRead, unregWrite) => {
      const pr = await unitWithNexuses();
      await pr.register(NEXUS_A, K1);
      await pr.register(NEXUS_B, K2);
      await pr.reserve(NEXUS_A, K1, type);
      const outcome = (ok: boolean) => ok ? GOOD : RESERVATION_CONFLICT;
      expect((await pr.read(NEXUS_A)).status).toBe(GOOD);
      expect((await pr.write(NEXUS_A)).status).toBe(GOOD);
      expect((await pr.read(NEXUS_B)).status).toBe(outcome(regRead));
      expect((await pr.write(NEXUS_B)).status).toBe(outcome(regWrite));
      await pr.prOut(NEXUS_B, Sa.REGISTER, { key: K2 });
      expect((await pr.read(NEXUS_B)).status).toBe(outcome(unregRead));
      expect((await pr.write(NEXUS_B)).status).toBe(outcome(unregWrite));
      const modeSense = await pr.status(NEXUS_B, cdb.modeSense6(0, 0x3f, 255));
      expect(modeSense.status).toBe(outcome(unregRead));
      const sync = await pr.status(NEXUS_B, [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      expect(sync.status).toBe(outcome(unregWrite));
    });

  it.each(ALL_TYPES)("type %i lets every nexus use the commands every reservation allows",
    async (type) => {
      const pr = await unitWithNexuses();
      await pr.register(NEXUS_A, K1);
      await pr.reserve(NEXUS_A, K1, type);
      const allowed = [
        [0x00, 0, 0, 0, 0, 0], // TEST UNIT READY
        cdb.inquiry(false, 0, 96),
        cdb.reportLuns(0, 64),
        cdb.requestSense(18),
        [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], // READ CAPACITY (10)
        cdb.readCapacity16(32),
        prInCdb(In.READ_KEYS),
        [0x1b, 0, 0, 0, 0x01, 0], // START STOP UNIT: start
        [0x1e, 0, 0, 0, 0, 0], // PREVENT ALLOW MEDIUM REMOVAL: allow
      ];
      for (const bytes of allowed) expect((await pr.status(NEXUS_B, bytes)).status).toBe(GOOD);
      const stop = await pr.status(NEXUS_B, [0x1b, 0, 0, 0, 0, 0]);
      expect(stop.status).toBe(RESERVATION_CONFLICT);
      const prevent = await pr.status(NEXUS_B, [0x1e, 0, 0, 0, 0x01, 0]);
      expect(prevent.status).toBe(RESERVATION_CONFLICT);
    });

  it("checks the CDB before the reservation", async () => {
    const pr = await unitWithNexuses();
    await pr.register(NEXUS_A, K1);
    await pr.reserve(NEXUS_A, K1, Type.EA);
    const bad = await pr.status(NEXUS_B, [0x28, 0x01, 0, 0, 0, 1, 0, 0, 1, 0]);
    expect(bad.status).toBe(CHECK_CONDITION);
  });
});

describe("PERSISTENT RESERVE OUT CLEAR", () => {
  it("removes everything and tells every other registrant RESERVATIONS PREEMPTED", async () => {
    const pr = await unitWithNexuses([NEXUS_A, NEXUS_B, NEXUS_C]);
    await pr.register(NEXUS_A, K1);
    await pr.register(NEXUS_B, K2);
    await pr.reserve(NEXUS_A, K1, Type.EA);
    expect((await pr.prOut(NEXUS_B, Sa.CLEAR, { key: K1 })).status).toBe(RESERVATION_CONFLICT);
    expect((await pr.prOut(NEXUS_B, Sa.CLEAR, { key: K2 })).status).toBe(GOOD);
    expect(await pr.keys(NEXUS_B)).toEqual({ generation: 3, keys: [] });
    expect(await pr.reservation(NEXUS_B)).toBeUndefined();
    expect(senseOf((await pr.tur(NEXUS_A)).sense)).toEqual(RESERVATIONS_PREEMPTED);
    expect((await pr.tur(NEXUS_B)).status).toBe(GOOD);
    expect((await pr.tur(NEXUS_C)).status).toBe(GOOD);
  });
});

describe("PERSISTENT RESERVE OUT PREEMPT", () => {
  it("without a reservation removes the registrations with the key", async () => {
    const pr = await unitWithNexuses([NEXUS_A, NEXUS_B, NEXUS_C]);
    await pr.register(NEXUS_A, K1);
    await pr.register(NEXUS_B, K2);
    await pr.register(NEXUS_C, K2);
    const result = await pr.prOut(NEXUS_A, Sa.PREEMPT, { key: K1, serviceActionKey: K2 }, Type.EA);
    expect(result.status).toBe(GOOD);
    expect(await pr.keys()).toEqual({ generation: 4, keys: [K1] });
    expect(await pr.reservation()).toBeUndefined();
    for (const nexus of [NEXUS_B, NEXUS_C]) {
      expect(senseOf((await pr.tur(nexus)).sense)).toEqual(REGISTRATIONS_PREEMPTED);
    }
  });

  it("of the holder's key takes the reservation over with the new type", async () => {
    const pr = await unitWithNexuses([NEXUS_A, NEXUS_B, NEXUS_C]);
    await pr.register(NEXUS_A, K1);
    await pr.register(NEXUS_B, K2);
    await pr.register(NEXUS_C, K3);
    await pr.reserve(NEXUS_A, K1, Type.WE);
    const result = await pr.prOut(NEXUS_B, Sa.PREEMPT, { key: K2, serviceActionKey: K1 },
      Type.EA_RO);
    expect(result.status).toBe(GOOD);
    expect(await pr.reservation(NEXUS_B)).toEqual({ key: K2, scopeType: Type.EA_RO });
    expect((await pr.keys(NEXUS_B)).keys).toEqual([K2, K3]);
    expect(senseOf((await pr.tur(NEXUS_A)).sense)).toEqual(REGISTRATIONS_PREEMPTED);
    expect(senseOf((await pr.tur(NEXUS_C)).sense)).toEqual(RESERVATIONS_RELEASED);
    expect((await pr.tur(NEXUS_B)).status).toBe(GOOD);
  });

  it("with a zero key: all registrants reservations take all, others are an error", async () => {
    const pr = await unitWithNexuses([NEXUS_A, NEXUS_B, NEXUS_C]);
    await pr.register(NEXUS_A, K1);
    await pr.register(NEXUS_B, K2);
    await pr.register(NEXUS_C, K3);
    const noReservation = await pr.prOut(NEXUS_A, Sa.PREEMPT, { key: K1 }, Type.EA);
    expect(senseOf(noReservation.sense)).toEqual(INVALID_FIELD_IN_PARAMETER_LIST);
    await pr.reserve(NEXUS_B, K2, Type.WE_AR);
    expect((await pr.prOut(NEXUS_A, Sa.PREEMPT, { key: K1 }, Type.EA)).status).toBe(GOOD);
    expect(await pr.keys()).toEqual({ generation: 4, keys: [K1] });
    expect(await pr.reservation()).toEqual({ key: K1, scopeType: Type.EA });
  });

  it("of a key no one has conflicts", async () => {
    const pr = await unitWithNexuses();
    await pr.register(NEXUS_A, K1);
    const result = await pr.prOut(NEXUS_A, Sa.PREEMPT, { key: K1, serviceActionKey: K3 }, Type.EA);
    expect(result.status).toBe(RESERVATION_CONFLICT);
    expect((await pr.keys()).generation).toBe(1);
  });

  it("AND ABORT has the transport abort the preempted nexuses' tasks", async () => {
    const pr = await unitWithNexuses([NEXUS_A, NEXUS_B, NEXUS_C]);
    const requests: TaskAbortRequest[] = [];
    pr.unit.setTaskAborter(async (request) => {
      requests.push(request);
    });
    await pr.register(NEXUS_A, K1);
    await pr.register(NEXUS_B, K2);
    await pr.reserve(NEXUS_B, K2, Type.EA);
    const result = await pr.prOut(NEXUS_A, Sa.PREEMPT_AND_ABORT,
      { key: K1, serviceActionKey: K2 }, Type.EA);
    expect(result.status).toBe(GOOD);
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request.lun).toBe(0);
    expect([NEXUS_A, NEXUS_B, NEXUS_C].map((n) => request.isPreempted(n)))
      .toEqual([false, true, false]);
    expect(request.preemptingTask.nexus).toBe(NEXUS_A);
    expect(await pr.reservation()).toEqual({ key: K1, scopeType: Type.EA });
  });
});

describe("PERSISTENT RESERVE OUT REGISTER AND MOVE", () => {
  function moveList(key: bigint, newKey: bigint, initiatorPort: string, flags = 0) {
    const transportId = encodeInitiatorPortTransportId(initiatorPort);
    const list = Buffer.alloc(24 + transportId.length);
    list.writeBigUInt64BE(key, 0);
    list.writeBigUInt64BE(newKey, 8);
    list[17] = flags;
    list.writeUInt16BE(NEXUS_B.relativeTargetPortId, 18);
    list.writeUInt32BE(transportId.length, 20);
    transportId.copy(list, 24);
    return list;
  }

  it("moves the reservation to another I_T nexus and registers it", async () => {
    const pr = await unitWithNexuses();
    await pr.register(NEXUS_A, K1);
    await pr.reserve(NEXUS_A, K1, Type.WE);
    const [name, isid] = NEXUS_B.initiatorPortName.split(",i,0x");
    const list = moveList(K1, K2, `${name},I,0X${isid.toUpperCase()}`, 0x02); // UNREG
    const result = await pr.unit.execute(task(prOutCdb(Sa.REGISTER_AND_MOVE, Type.EA,
      list.length), { dataOut: list }));
    expect(result.status).toBe(GOOD);
    expect(await pr.keys()).toEqual({ generation: 2, keys: [K2] });
    expect(await pr.reservation()).toEqual({ key: K2, scopeType: Type.EA });
    expect((await pr.write(NEXUS_B)).status).toBe(GOOD);
    expect((await pr.read(NEXUS_A)).status).toBe(RESERVATION_CONFLICT);
  });

  it("needs the reservation holder and another nexus", async () => {
    const pr = await unitWithNexuses();
    await pr.register(NEXUS_A, K1);
    const move = (list: Buffer) => pr.unit.execute(task(prOutCdb(Sa.REGISTER_AND_MOVE, Type.WE,
      list.length), { dataOut: list }));
    expect((await move(moveList(K1, K2, NEXUS_B.initiatorPortName))).status)
      .toBe(RESERVATION_CONFLICT);
    await pr.reserve(NEXUS_A, K1, Type.WE);
    const self = await move(moveList(K1, K2, NEXUS_A.initiatorPortName));
    expect(senseOf(self.sense)).toEqual(INVALID_FIELD_IN_PARAMETER_LIST);
    const zero = await move(moveList(K1, 0n, NEXUS_B.initiatorPortName));
    expect(senseOf(zero.sense)).toEqual(INVALID_FIELD_IN_PARAMETER_LIST);
  });
});

describe("PERSISTENT RESERVE IN", () => {
  it("READ KEYS keeps ADDITIONAL LENGTH when truncated", async () => {
    const pr = await unitWithNexuses();
    await pr.register(NEXUS_A, K1);
    const data = await pr.prIn(NEXUS_A, In.READ_KEYS, 8);
    expect([...data]).toEqual([0, 0, 0, 1, 0, 0, 0, 8]);
  });

  it("REPORT CAPABILITIES: ATP_C, TMV, ALLOW COMMANDS 011b, every type", async () => {
    const pr = await unitWithNexuses();
    const data = await pr.prIn(NEXUS_A, In.REPORT_CAPABILITIES);
    expect([...data]).toEqual([0, 8, 0x04, 0x80 | 0x30, 0xea, 0x01, 0, 0]);
  });

  it("READ FULL STATUS describes every registration and the holder", async () => {
    const pr = await unitWithNexuses();
    await pr.register(NEXUS_A, K1);
    await pr.register(NEXUS_B, K2);
    await pr.reserve(NEXUS_B, K2, Type.WE_RO);
    const data = await pr.prIn(NEXUS_A, In.FULL_STATUS);
    expect(data.readUInt32BE(0)).toBe(2);
    let at = 8;
    const seen = [];
    while (at < 8 + data.readUInt32BE(4)) {
      const idLength = data.readUInt32BE(at + 20);
      const id = data.subarray(at + 24, at + 24 + idLength);
      seen.push({
        key: data.readBigUInt64BE(at),
        flags: data[at + 12],
        scopeType: data[at + 13],
        port: data.readUInt16BE(at + 18),
        protocol: id[0],
        name: id.subarray(4, id.indexOf(0, 4)).toString(),
      });
      expect(idLength % 4).toBe(0);
      at += 24 + idLength;
    }
    expect(seen).toEqual([
      { key: K1, flags: 0, scopeType: 0, port: 3, protocol: 0x45,
        name: NEXUS_A.initiatorPortName },
      { key: K2, flags: 1, scopeType: Type.WE_RO, port: 3, protocol: 0x45,
        name: NEXUS_B.initiatorPortName },
    ]);
  });

  it("rejects service actions past READ FULL STATUS", async () => {
    const pr = await unitWithNexuses();
    for (let sa = 4; sa < 0x20; sa++) {
      const result = await pr.unit.execute(task(prInCdb(sa), { readLength: 8192 }));
      expect(senseOf(result.sense)).toEqual(INVALID_FIELD_IN_CDB);
    }
  });

  it("REPORT SUPPORTED OPERATION CODES lists every service action", async () => {
    const pr = await unitWithNexuses();
    for (const [opcode, actions] of [[0x5e, 4], [0x5f, 8]]) {
      for (let sa = 0; sa < actions; sa++) {
        const result = await pr.unit.execute(task(cdb.rsoc(2, opcode, sa, 64), { readLength: 64 }));
        expect(result.dataIn![1] & 0x07).toBe(0b011);
      }
    }
  });
});

describe("SPC-2 RESERVE and RELEASE", () => {
  const RESERVE_6 = [0x16, 0, 0, 0, 0, 0];
  const RELEASE_6 = [0x17, 0, 0, 0, 0, 0];
  const RESERVE_10 = [0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const RELEASE_10 = [0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0];

  it.each([[RESERVE_6, RELEASE_6], [RESERVE_10, RELEASE_10]])(
    "reserve %j excludes other nexuses until released",
    async (reserve, release) => {
      const pr = await unitWithNexuses();
      expect((await pr.status(NEXUS_A, reserve)).status).toBe(GOOD);
      expect((await pr.status(NEXUS_A, reserve)).status).toBe(GOOD);
      expect((await pr.status(NEXUS_B, reserve)).status).toBe(RESERVATION_CONFLICT);
      expect((await pr.tur(NEXUS_B)).status).toBe(RESERVATION_CONFLICT);
      expect((await pr.read(NEXUS_B)).status).toBe(RESERVATION_CONFLICT);
      expect((await pr.status(NEXUS_B, cdb.modeSense6(0, 0x3f, 255))).status)
        .toBe(RESERVATION_CONFLICT);
      expect((await pr.status(NEXUS_B, cdb.inquiry(false, 0, 96))).status).toBe(GOOD);
      expect((await pr.status(NEXUS_B, release)).status).toBe(GOOD); // a no-op
      expect((await pr.write(NEXUS_A)).status).toBe(GOOD);
      expect((await pr.status(NEXUS_A, release)).status).toBe(GOOD);
      expect((await pr.read(NEXUS_B)).status).toBe(GOOD);
    },
  );

  it("conflicts with persistent reservations both ways", async () => {
    const pr = await unitWithNexuses();
    await pr.status(NEXUS_A, RESERVE_6);
    for (const nexus of [NEXUS_A, NEXUS_B]) {
      expect((await pr.register(nexus, K1)).status).toBe(RESERVATION_CONFLICT);
      const prIn = await pr.status(nexus, prInCdb(In.READ_KEYS));
      expect(prIn.status).toBe(RESERVATION_CONFLICT);
    }
    await pr.status(NEXUS_A, RELEASE_6);
    await pr.register(NEXUS_B, K2);
    expect((await pr.status(NEXUS_A, RESERVE_6)).status).toBe(RESERVATION_CONFLICT);
    expect((await pr.status(NEXUS_A, RELEASE_6)).status).toBe(RESERVATION_CONFLICT);
  });

  it("is released by nexus loss and resets; persistent reservations survive them", async () => {
    const pr = await unitWithNexuses();
    await pr.status(NEXUS_A, RESERVE_6);
    pr.unit.forgetNexus(NEXUS_A);
    expect((await pr.status(NEXUS_B, RESERVE_6)).status).toBe(GOOD);
    pr.unit.lunReset();
    await pr.tur(NEXUS_A);
    expect((await pr.status(NEXUS_A, RESERVE_6)).status).toBe(GOOD);
    pr.unit.targetReset();
    await Promise.all([pr.tur(NEXUS_A), pr.tur(NEXUS_B)]);
    expect((await pr.status(NEXUS_B, RESERVE_6)).status).toBe(GOOD);
    await pr.status(NEXUS_B, RELEASE_6);

    await pr.register(NEXUS_A, K1);
    await pr.reserve(NEXUS_A, K1, Type.EA);
    pr.unit.forgetNexus(NEXUS_A);
    pr.unit.lunReset();
    pr.unit.targetReset();
    await pr.tur(NEXUS_A);
    expect(await pr.reservation()).toEqual({ key: K1, scopeType: Type.EA });
  });

  it("rejects third-party reservations", async () => {
    const pr = await unitWithNexuses();
    const thirdParty = await pr.status(NEXUS_A, [0x56, 0x10, 0, 5, 0, 0, 0, 0, 0, 0]);
    expect(senseOf(thirdParty.sense)).toEqual(INVALID_FIELD_IN_CDB);
  });
});

describe("reservation state for a partner node", () => {
  async function scenario() {
    const pr = await unitWithNexuses([NEXUS_A, NEXUS_B, NEXUS_C]);
    await pr.register(NEXUS_A, K1, { allTargetPorts: true });
    await pr.register(NEXUS_B, K2);
    await pr.register(NEXUS_C, K3);
    await pr.reserve(NEXUS_B, K2, Type.WE_RO);
    await pr.prOut(NEXUS_A, Sa.PREEMPT, { key: K1, serviceActionKey: K3 }, Type.WE_RO);
    return pr;
  }

  it("the same commands reach the same state (no time, no randomness)", async () => {
    const [one, two] = await Promise.all([scenario(), scenario()]);
    expect(one.unit.snapshotState().reservations).toEqual(two.unit.snapshotState().reservations);
  });

  it("survives JSON and restores on a partner", async () => {
    const pr = await scenario();
    const state = JSON.parse(JSON.stringify(pr.unit.snapshotState()));
    const partner = await unitWithNexuses([NEXUS_A, NEXUS_B, NEXUS_C]);
    partner.unit.restoreState(state);
    expect(partner.unit.snapshotState().reservations).toEqual(state.reservations);
    // Unit attentions travel too: C still has REGISTRATIONS PREEMPTED, A2 is new here.
    expect(senseOf((await partner.tur(NEXUS_C)).sense)).toEqual(REGISTRATIONS_PREEMPTED);
    await partner.tur(NEXUS_A2);
    expect(await partner.reservation(NEXUS_C)).toEqual({ key: K2, scopeType: Type.WE_RO });
    expect((await partner.write(NEXUS_A2)).status).toBe(GOOD); // ALL_TG_PT registrant
    expect((await partner.write(NEXUS_C)).status).toBe(RESERVATION_CONFLICT);
    expect(state.reservations).toMatchObject({
      generation: 4,
      reservation: { type: Type.WE_RO, holder: { initiatorPortName: NEXUS_B.initiatorPortName } },
      spc2Holder: null,
    });
  });

  it("refuses a malformed state", async () => {
    const pr = await unitWithNexuses();
    const state = pr.unit.snapshotState();
    state.reservations.registrations.push({
      initiatorPortName: "x", targetPortName: null, relativeTargetPortId: 1, key: "00",
    });
    expect(() => pr.unit.restoreState(state)).toThrow(/registration key/);
  });
});
