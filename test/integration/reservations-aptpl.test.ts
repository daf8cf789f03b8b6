// A persistent reservation made with APTPL=1 survives a restart of the node; with APTPL=0 it
// does not (SPC-4 5.13.5). Raw PERSISTENT RESERVE CDBs from the test initiator.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Initiator } from "../helpers/initiator.ts";
import { startTwinsan, type TwinsanNode } from "../helpers/node-process.ts";

const INITIATOR = "iqn.2025-01.test.twinsan:aptpl-initiator";
const KEY = 0x7a5e11ab1e000001n;
const WRITE_EXCLUSIVE = 0x1;
const REGISTER_AND_IGNORE_EXISTING_KEY = 0x06;
const RESERVE = 0x01;
const READ_KEYS = 0x00;
const READ_RESERVATION = 0x01;
const GOOD = 0x00;
const CHECK_CONDITION = 0x02;
const UNIT_ATTENTION = 0x6;
const PARAMETER_LIST_LENGTH = 24;

function prOut(serviceAction: number, type: number): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x5f;
  cdb[1] = serviceAction;
  cdb[2] = type;
  cdb.writeUInt32BE(PARAMETER_LIST_LENGTH, 5);
  return cdb;
}

function parameterList(key: bigint, serviceActionKey: bigint, aptpl: boolean): Buffer {
  const list = Buffer.alloc(PARAMETER_LIST_LENGTH);
  list.writeBigUInt64BE(key, 0);
  list.writeBigUInt64BE(serviceActionKey, 8);
  list[20] = aptpl ? 0x01 : 0;
  return list;
}

function prIn(serviceAction: number): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x5e;
  cdb[1] = serviceAction;
  cdb.writeUInt16BE(1024, 7);
  return cdb;
}

describe("APTPL across a node restart", { timeout: 60_000 }, () => {
  let node: TwinsanNode;

  beforeAll(async () => {
    node = await startTwinsan({ luns: [{ lun: 0, sizeBytes: 16 << 20, blockSizeBytes: 512 }] });
  }, 30_000);

  afterAll(async () => {
    await node?.dispose();
  });

  /** A logged-in session past its power-on unit attention. */
  async function login(): Promise<Initiator> {
    const initiator = await connect({
      host: node.host,
      port: node.port,
      initiatorName: INITIATOR,
      targetName: node.targetIqn,
    });
    for (let tries = 0; tries < 5; tries++) {
      const tur = await initiator.scsi(Buffer.alloc(6));
      if (tur.status === GOOD) return initiator;
      expect(tur.status).toBe(CHECK_CONDITION);
      expect(tur.sense![2] & 0x0f).toBe(UNIT_ATTENTION);
    }
    throw new Error("TEST UNIT READY never became GOOD");
  }

  async function send(initiator: Initiator, serviceAction: number, type: number, list: Buffer) {
    const outcome = await initiator.scsi(prOut(serviceAction, type), { dataOut: list });
    expect(outcome.status).toBe(GOOD);
  }

  async function readReservation(initiator: Initiator) {
    const outcome = await initiator.scsi(prIn(READ_RESERVATION), { readLength: 1024 });
    expect(outcome.status).toBe(GOOD);
    const data = outcome.data;
    if (data.readUInt32BE(4) === 0) return undefined;
    return { key: data.readBigUInt64BE(8), type: data[21] & 0x0f };
  }

  async function readKeys(initiator: Initiator): Promise<bigint[]> {
    const outcome = await initiator.scsi(prIn(READ_KEYS), { readLength: 1024 });
    expect(outcome.status).toBe(GOOD);
    const keys: bigint[] = [];
    for (let at = 8; at < 8 + outcome.data.readUInt32BE(4); at += 8) {
      keys.push(outcome.data.readBigUInt64BE(at));
    }
    return keys;
  }

  async function restartAndLogin(before: Initiator): Promise<Initiator> {
    before.close();
    const exit = await node.restart();
    expect(exit.exitCode).toBe(0);
    return login();
  }

  it("keeps a reservation made with APTPL=1", async () => {
    const first = await login();
    await send(first, REGISTER_AND_IGNORE_EXISTING_KEY, 0, parameterList(0n, KEY, true));
    await send(first, RESERVE, WRITE_EXCLUSIVE, parameterList(KEY, 0n, false));
    expect(await readReservation(first)).toEqual({ key: KEY, type: WRITE_EXCLUSIVE });

    const second = await restartAndLogin(first);
    expect(await readReservation(second)).toEqual({ key: KEY, type: WRITE_EXCLUSIVE });
    expect(await readKeys(second)).toEqual([KEY]);
    second.close();
  });

  it("forgets it once the last APTPL bit was zero", async () => {
    const first = await login();
    // The new session is another I_T nexus (new ISID): register it, then give up persistence.
    await send(first, REGISTER_AND_IGNORE_EXISTING_KEY, 0, parameterList(0n, KEY + 1n, false));
    expect(await readKeys(first)).toEqual([KEY, KEY + 1n]);

    const second = await restartAndLogin(first);
    expect(await readReservation(second)).toBeUndefined();
    expect(await readKeys(second)).toEqual([]);
    second.close();
  });
});
