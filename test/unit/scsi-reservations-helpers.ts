// Test support for reservations: PERSISTENT RESERVE IN/OUT CDBs and parameter lists, and a
// logical unit whose test nexuses have consumed their power-on unit attention.

import { LogicalUnit, type LogicalUnitOptions } from "../../src/scsi/logical-unit.ts";
import type { ItNexus, ScsiResult } from "../../src/scsi/types.ts";
import {
  IDENTITY, MemoryBlockDevice, NEXUS_A, NEXUS_B, cdb, senseOf, task,
} from "./scsi-memory-device.ts";

export const GOOD = 0x00;
export const CHECK_CONDITION = 0x02;
export const RESERVATION_CONFLICT = 0x18;

export const Type = { WE: 1, EA: 3, WE_RO: 5, EA_RO: 6, WE_AR: 7, EA_AR: 8 } as const;
export const ALL_TYPES = Object.values(Type);
export const Sa = {
  REGISTER: 0, RESERVE: 1, RELEASE: 2, CLEAR: 3, PREEMPT: 4, PREEMPT_AND_ABORT: 5,
  REGISTER_AND_IGNORE: 6, REGISTER_AND_MOVE: 7,
} as const;
export const In = { READ_KEYS: 0, READ_RESERVATION: 1, REPORT_CAPABILITIES: 2, FULL_STATUS: 3 };

/** NEXUS_A's initiator port through a second target port. */
export const NEXUS_A2: ItNexus = {
  ...NEXUS_A,
  targetPortName: "iqn.2024-01.test:target,t,0x0002",
  relativeTargetPortId: 4,
};

export const NEXUS_C: ItNexus = {
  ...NEXUS_A,
  initiatorPortName: "iqn.2024-01.test:init-c,i,0x023d00000003",
};

export interface ParameterOptions {
  key?: bigint;
  serviceActionKey?: bigint;
  aptpl?: boolean;
  allTargetPorts?: boolean;
  specifyInitiatorPorts?: boolean;
  /** Byte 20 as is, overriding the flags above. */
  flagsByte?: number;
}

export function basicParameterList(options: ParameterOptions = {}): Buffer {
  const list = Buffer.alloc(24);
  list.writeBigUInt64BE(options.key ?? 0n, 0);
  list.writeBigUInt64BE(options.serviceActionKey ?? 0n, 8);
  list[20] = options.flagsByte ?? ((options.specifyInitiatorPorts ? 0x08 : 0) |
    (options.allTargetPorts ? 0x04 : 0) | (options.aptpl ? 0x01 : 0));
  return list;
}

export function prOutCdb(serviceAction: number, type: number, listLength: number, scope = 0) {
  return [0x5f, serviceAction, (scope << 4) | type, 0, 0,
    (listLength >>> 24) & 0xff, (listLength >>> 16) & 0xff, (listLength >>> 8) & 0xff,
    listLength & 0xff, 0];
}

export function prInCdb(serviceAction: number, allocation = 8192) {
  return [0x5e, serviceAction, 0, 0, 0, 0, 0, allocation >> 8, allocation & 0xff, 0];
}

export async function unitWithNexuses(
  nexuses: readonly ItNexus[] = [NEXUS_A, NEXUS_B],
  options: Partial<LogicalUnitOptions> = {},
) {
  const device = new MemoryBlockDevice(512, 512 * 256);
  const unit = new LogicalUnit({ lun: 0, device, identity: IDENTITY, ...options });
  for (const nexus of nexuses) await unit.execute(task([0x00], { nexus }));
  return new PrClient(unit);
}

/** Sends reservation commands to one logical unit as any nexus. */
export class PrClient {
  constructor(readonly unit: LogicalUnit) {}

  prOut(
    nexus: ItNexus,
    serviceAction: number,
    params: ParameterOptions = {},
    type = 0,
  ): Promise<ScsiResult> {
    const list = basicParameterList(params);
    return this.unit.execute(
      task(prOutCdb(serviceAction, type, list.length), { nexus, dataOut: list }),
    );
  }

  async prIn(nexus: ItNexus, serviceAction: number, allocation = 8192): Promise<Buffer> {
    const result = await this.unit.execute(
      task(prInCdb(serviceAction, allocation), { nexus, readLength: allocation }),
    );
    if (result.status !== GOOD) throw new Error(`PR IN status ${result.status}`);
    return result.dataIn!;
  }

  register(nexus: ItNexus, key: bigint, params: ParameterOptions = {}) {
    return this.prOut(nexus, Sa.REGISTER_AND_IGNORE, { serviceActionKey: key, ...params });
  }

  reserve(nexus: ItNexus, key: bigint, type: number) {
    return this.prOut(nexus, Sa.RESERVE, { key }, type);
  }

  async keys(nexus: ItNexus = NEXUS_A): Promise<{ generation: number; keys: bigint[] }> {
    const data = await this.prIn(nexus, In.READ_KEYS);
    const keys: bigint[] = [];
    for (let at = 8; at < 8 + data.readUInt32BE(4); at += 8) keys.push(data.readBigUInt64BE(at));
    return { generation: data.readUInt32BE(0), keys };
  }

  async reservation(nexus: ItNexus = NEXUS_A) {
    const data = await this.prIn(nexus, In.READ_RESERVATION);
    if (data.readUInt32BE(4) === 0) return undefined;
    return { key: data.readBigUInt64BE(8), scopeType: data[21] };
  }

  status(nexus: ItNexus, cdbBytes: readonly number[], dataOut?: Buffer) {
    return this.unit.execute(task(cdbBytes, { nexus, dataOut, readLength: dataOut ? undefined
      : 4096 }));
  }

  read(nexus: ItNexus) {
    return this.status(nexus, cdb.rw10(0x28, 1, 1));
  }

  write(nexus: ItNexus) {
    return this.status(nexus, cdb.rw10(0x2a, 1, 1), Buffer.alloc(512));
  }

  tur(nexus: ItNexus) {
    return this.status(nexus, [0x00, 0, 0, 0, 0, 0]);
  }
}

export function senseKeyAsc(result: ScsiResult) {
  return senseOf(result.sense);
}
