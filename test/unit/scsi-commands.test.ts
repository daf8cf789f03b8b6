import { describe, expect, it } from "vitest";
import { cdb, readyUnit, senseOf, task } from "./scsi-memory-device.ts";

const INVALID_FIELD_IN_CDB = { key: 5, asc: 0x24, ascq: 0 };

/** Parsed REPORT SUPPORTED OPERATION CODES "all commands" data. */
function descriptorsOf(data: Buffer) {
  const found = [];
  let at = 4;
  while (at < 4 + data.readUInt32BE(0)) {
    const ctdp = (data[at + 5] & 0x02) !== 0;
    found.push({
      opcode: data[at],
      serviceAction: data.readUInt16BE(at + 2),
      servactv: (data[at + 5] & 0x01) !== 0,
      ctdp,
      cdbLength: data.readUInt16BE(at + 6),
      timeoutsLength: ctdp ? data.readUInt16BE(at + 8) : undefined,
    });
    at += ctdp ? 20 : 8;
  }
  return found;
}

async function rsoc(options: number, opcode = 0, sa = 0, rctd = false, allocation = 65535) {
  const ready = await readyUnit();
  const result = await ready.unit.execute(task(cdb.rsoc(options, opcode, sa, allocation, rctd),
    { readLength: allocation }));
  return { ...ready, result };
}

describe("REPORT SUPPORTED OPERATION CODES", () => {
  it("lists every command; RCTD adds 10-byte timeouts descriptors", async () => {
    const plain = descriptorsOf((await rsoc(0)).result.dataIn!);
    const opcodes = plain.map((d) => d.opcode);
    expect(opcodes).toEqual([...opcodes].sort((a, b) => a - b));
    expect(opcodes).toEqual(expect.arrayContaining([0x00, 0x12, 0x28, 0x2a, 0x88, 0xa0, 0xa3]));
    expect(plain.every((d) => !d.ctdp && (d.servactv || d.serviceAction === 0))).toBe(true);
    expect(plain.find((d) => d.opcode === 0x9e)).toMatchObject({ serviceAction: 0x10,
      servactv: true, cdbLength: 16 });
    const timed = descriptorsOf((await rsoc(0, 0, 0, true)).result.dataIn!);
    expect(timed.length).toBe(plain.length);
    expect(timed.every((d) => d.ctdp && d.timeoutsLength === 0x0a)).toBe(true);
  });

  it("round-trips: each listed command is reported alone with its usage data", async () => {
    const { unit } = await readyUnit();
    const all = descriptorsOf((await rsoc(0)).result.dataIn!);
    for (const d of all) {
      const options = d.servactv ? 2 : 1;
      const one = await unit.execute(task(cdb.rsoc(options, d.opcode, d.serviceAction, 512),
        { readLength: 512 }));
      const data = one.dataIn!;
      expect(data[1] & 0x07).toBe(0b011);
      expect(data.readUInt16BE(2)).toBe(d.cdbLength);
      const usage = data.subarray(4, 4 + d.cdbLength);
      expect(usage[0]).toBe(d.opcode);
      if (d.servactv) expect(usage[1] & 0x1f).toBe(d.serviceAction);
      // The other reporting option is wrong for this command.
      const wrong = await unit.execute(task(cdb.rsoc(d.servactv ? 1 : 2, d.opcode,
        d.serviceAction, 512), { readLength: 512 }));
      expect(senseOf(wrong.sense)).toEqual(INVALID_FIELD_IN_CDB);
      expect(wrong.sense!.readUInt16BE(16)).toBe(2);
      // A bit the usage data leaves clear is rejected by the command itself.
      for (let byte = 1; byte < d.cdbLength; byte++) {
        const clear = ~usage[byte] & 0xff & (byte === 1 && d.servactv ? 0xe0 : 0xff);
        if (clear === 0) continue;
        const cdbBytes = [...usage].map((b, i) => (i === 0 || (i === 1 && d.servactv) ? b : 0));
        cdbBytes[byte] |= clear & -clear;
        const rejected = await unit.execute(task(cdbBytes, { readLength: 0 }));
        expect(senseOf(rejected.sense), `opcode ${d.opcode} byte ${byte}`)
          .toEqual(INVALID_FIELD_IN_CDB);
        expect(rejected.sense!.readUInt16BE(16)).toBe(byte);
      }
    }
  });

  it("reports DPO/FUA usage for READ (10) and WRITE (10) and DPO for VERIFY (10)", async () => {
    for (const [opcode, bits] of [[0x28, 0x18], [0x2a, 0x18], [0x2f, 0x10], [0x2e, 0x10]]) {
      const data = (await rsoc(1, opcode)).result.dataIn!;
      expect(data[4 + 1] & bits).toBe(bits);
    }
  });

  it("reports an unsupported command as such, with RCTD a timeouts descriptor", async () => {
    const unsupported = (await rsoc(1, 0xc0)).result.dataIn!;
    expect([...unsupported]).toEqual([0, 0b001, 0, 0]);
    const timed = (await rsoc(3, 0x28, 0, true)).result.dataIn!;
    expect(timed[1]).toBe(0x80 | 0b011);
    expect(timed.length).toBe(4 + 10 + 12);
    expect(senseOf((await rsoc(4)).result.sense)).toEqual(INVALID_FIELD_IN_CDB);
  });
});

describe("command dispatch", () => {
  it("rejects an unknown opcode and an unknown service action (field pointer 1)", async () => {
    const { unit } = await readyUnit();
    const opcode = await unit.execute(task([0xc5]));
    expect(senseOf(opcode.sense)).toEqual({ key: 5, asc: 0x20, ascq: 0 });
    const sa = await unit.execute(task([0x9e, 0x1f], { readLength: 32 }));
    expect(senseOf(sa.sense)).toEqual(INVALID_FIELD_IN_CDB);
    expect(sa.sense![15] & 0x80).toBe(0x80);
    expect(sa.sense!.readUInt16BE(16)).toBe(1);
    const naca = await unit.execute(task([0x00, 0, 0, 0, 0, 0x04]));
    expect(senseOf(naca.sense)).toEqual(INVALID_FIELD_IN_CDB);
  });
});

describe("READ CAPACITY", () => {
  it("(10) reports the last LBA and block length", async () => {
    const { unit } = await readyUnit({ blockSize: 4096, blocks: 1000 });
    const result = await unit.execute(task([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], { readLength: 8 }));
    expect([...result.dataIn!]).toEqual([0, 0, 0x03, 0xe7, 0, 0, 0x10, 0]);
    const lba = await unit.execute(task([0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0], { readLength: 8 }));
    expect(senseOf(lba.sense)).toEqual(INVALID_FIELD_IN_CDB);
  });

  it("(16) reports the geometry and honours any allocation length", async () => {
    const { unit } = await readyUnit({ blocks: 4096 });
    const result = await unit.execute(task(cdb.readCapacity16(32), { readLength: 32 }));
    const data = result.dataIn!;
    expect(data.readBigUInt64BE(0)).toBe(4095n);
    expect(data.readUInt32BE(8)).toBe(512);
    expect(data[12]).toBe(0); // no protection
    expect(data[13]).toBe(0); // physical block reported as one logical block
    expect(data[14] & 0x80).toBe(0); // LBPME
    for (let allocation = 0; allocation < 16; allocation++) {
      const short = await unit.execute(task(cdb.readCapacity16(allocation),
        { readLength: allocation }));
      expect(short.status).toBe(0);
      expect(short.dataIn?.length ?? 0).toBe(allocation);
      expect(short.residualCount).toBeUndefined();
    }
  });
});

describe("cache, power and medium commands", () => {
  it("SYNCHRONIZE CACHE checks the range, then flushes", async () => {
    const { unit, device } = await readyUnit();
    device.calls.length = 0;
    expect(await unit.execute(task([0x35, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]))).toEqual({ status: 0 });
    expect(await unit.execute(task(cdb.rw16(0x91, 2000, 48)))).toEqual({ status: 0 });
    expect(device.calls).toEqual([{ op: "flush" }, { op: "flush" }]);
    const past = await unit.execute(task(cdb.rw10(0x35, 2000, 49)));
    expect(senseOf(past.sense)).toEqual({ key: 5, asc: 0x21, ascq: 0 });
  });

  it("PRE-FETCH returns GOOD within range", async () => {
    const { unit } = await readyUnit();
    expect(await unit.execute(task(cdb.rw10(0x34, 2047, 1, 0x02)))).toEqual({ status: 0 });
    expect(await unit.execute(task(cdb.rw16(0x90, 0, 0)))).toEqual({ status: 0 });
    const past = await unit.execute(task(cdb.rw16(0x90, 2048, 0)));
    expect(senseOf(past.sense)).toEqual({ key: 5, asc: 0x21, ascq: 0 });
  });

  it("START STOP UNIT flushes on stop unless NO_FLUSH, and the unit stays ready", async () => {
    const { unit, device } = await readyUnit();
    device.calls.length = 0;
    expect((await unit.execute(task([0x1b, 0, 0, 0, 0x00, 0]))).status).toBe(0);
    expect((await unit.execute(task([0x1b, 1, 0, 0, 0x04, 0]))).status).toBe(0);
    expect((await unit.execute(task([0x1b, 0, 0, 0, 0x01, 0]))).status).toBe(0);
    expect((await unit.execute(task([0x1b, 0, 0, 0, 0x03, 0]))).status).toBe(0);
    expect(device.calls).toEqual([{ op: "flush" }]);
    expect((await unit.execute(task([0x00]))).status).toBe(0);
  });

  it("PREVENT ALLOW MEDIUM REMOVAL accepts 0 and 1 only", async () => {
    const { unit } = await readyUnit();
    expect((await unit.execute(task([0x1e, 0, 0, 0, 1, 0]))).status).toBe(0);
    expect((await unit.execute(task([0x1e, 0, 0, 0, 0, 0]))).status).toBe(0);
    const obsolete = await unit.execute(task([0x1e, 0, 0, 0, 2, 0]));
    expect(senseOf(obsolete.sense)).toEqual(INVALID_FIELD_IN_CDB);
  });
});
