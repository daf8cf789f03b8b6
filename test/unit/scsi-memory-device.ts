// Test support for the SCSI layer: an in-memory BlockDevice that records its calls, and
// builders for ScsiTasks and CDBs.

import type { BlockDevice, WriteOptions } from "../../src/device/block-device.ts";
import { LogicalUnit } from "../../src/scsi/logical-unit.ts";
import type { ItNexus, ScsiTask } from "../../src/scsi/types.ts";

export type DeviceCall =
  | { op: "read"; offset: number; length: number }
  | { op: "write"; offset: number; length: number; fua: boolean }
  | { op: "flush" };

export class MemoryBlockDevice implements BlockDevice {
  readonly calls: DeviceCall[] = [];
  readonly bytes: Buffer;
  /** When set, the next device operation rejects with it. */
  failNext: Error | undefined;

  constructor(readonly blockSizeBytes: number, readonly sizeBytes: number) {
    this.bytes = Buffer.alloc(sizeBytes);
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    this.calls.push({ op: "read", offset: offsetBytes, length: lengthBytes });
    this.maybeFail();
    return Buffer.from(this.bytes.subarray(offsetBytes, offsetBytes + lengthBytes));
  }

  async write(offsetBytes: number, data: Buffer, options?: WriteOptions): Promise<void> {
    this.calls.push({ op: "write", offset: offsetBytes, length: data.length, fua: !!options?.fua });
    this.maybeFail();
    data.copy(this.bytes, offsetBytes);
  }

  async flush(): Promise<void> {
    this.calls.push({ op: "flush" });
    this.maybeFail();
  }

  async close(): Promise<void> {}

  private maybeFail(): void {
    const error = this.failNext;
    this.failNext = undefined;
    if (error) throw error;
  }
}

export const NEXUS_A: ItNexus = {
  initiatorPortName: "iqn.2024-01.test:init-a,i,0x023d00000001",
  targetPortName: "iqn.2024-01.test:target,t,0x0001",
  relativeTargetPortId: 3,
  targetPortGroupId: 7,
};

export const NEXUS_B: ItNexus = {
  ...NEXUS_A,
  initiatorPortName: "iqn.2024-01.test:init-b,i,0x023d00000002",
};

export const IDENTITY = {
  naaId: "6001405abcdef0123456789abcdef012",
  serial: "TWIN0001",
  vendorId: "TWINSAN",
  productId: "VDISK",
  productRevision: "0.1",
};

export interface TaskOptions {
  lun?: number;
  nexus?: ItNexus;
  /** Data-In capacity (EDTL of a read). */
  readLength?: number;
  /** Data-Out (EDTL of a write is its length). */
  dataOut?: Buffer;
  /** Overrides the EDTL derived from readLength / dataOut. */
  expectedDataTransferLength?: number;
}

export function task(cdbBytes: readonly number[], options: TaskOptions = {}): ScsiTask {
  const cdb = Buffer.alloc(16);
  Buffer.from(cdbBytes).copy(cdb);
  const dataOut = options.dataOut ?? Buffer.alloc(0);
  const write = options.dataOut !== undefined;
  return {
    lun: options.lun ?? 0,
    cdb,
    nexus: options.nexus ?? NEXUS_A,
    taskAttribute: 1,
    expectedDataTransferLength: options.expectedDataTransferLength ??
      (write ? dataOut.length : options.readLength ?? 0),
    read: options.readLength !== undefined,
    write,
    dataOut,
  };
}

/** A logical unit whose power-on unit attention for NEXUS_A has already been consumed. */
export async function readyUnit(
  options: { blockSize?: number; blocks?: number; writeCacheEnabled?: boolean; lun?: number } = {},
) {
  const blockSize = options.blockSize ?? 512;
  const device = new MemoryBlockDevice(blockSize, blockSize * (options.blocks ?? 2048));
  const unit = new LogicalUnit({
    lun: options.lun ?? 0,
    device,
    identity: IDENTITY,
    writeCacheEnabled: options.writeCacheEnabled,
  });
  await unit.execute(task([0x00], { lun: unit.lun }));
  return { unit, device, blockSize };
}

function be(value: number | bigint, bytes: number): number[] {
  const out: number[] = [];
  let v = BigInt(value);
  for (let i = 0; i < bytes; i++) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

export const cdb = {
  read6: (lba: number, blocks: number) => [0x08, ...be(lba, 3), blocks, 0],
  write6: (lba: number, blocks: number) => [0x0a, ...be(lba, 3), blocks, 0],
  rw10: (opcode: number, lba: number, blocks: number, flags = 0) =>
    [opcode, flags, ...be(lba, 4), 0, ...be(blocks, 2), 0],
  rw12: (opcode: number, lba: number, blocks: number, flags = 0) =>
    [opcode, flags, ...be(lba, 4), ...be(blocks, 4), 0, 0],
  rw16: (opcode: number, lba: number | bigint, blocks: number, flags = 0) =>
    [opcode, flags, ...be(lba, 8), ...be(blocks, 4), 0, 0],
  inquiry: (evpd: boolean, page: number, allocation: number) =>
    [0x12, evpd ? 1 : 0, page, ...be(allocation, 2), 0],
  readCapacity16: (allocation: number) => [0x9e, 0x10, ...be(0, 8), ...be(allocation, 4), 0, 0],
  reportLuns: (select: number, allocation: number) =>
    [0xa0, 0, select, 0, 0, 0, ...be(allocation, 4), 0, 0],
  rsoc: (options: number, opcode: number, sa: number, allocation: number, rctd = false) =>
    [0xa3, 0x0c, (rctd ? 0x80 : 0) | options, opcode, ...be(sa, 2), ...be(allocation, 4), 0, 0],
  modeSense6: (pc: number, page: number, allocation: number, dbd = false, subpage = 0) =>
    [0x1a, dbd ? 0x08 : 0, (pc << 6) | page, subpage, allocation, 0],
  modeSense10: (pc: number, page: number, allocation: number, llbaa = false) =>
    [0x5a, llbaa ? 0x10 : 0, (pc << 6) | page, 0, 0, 0, 0, ...be(allocation, 2), 0],
  modeSelect6: (length: number, pf = true, sp = false) =>
    [0x15, (pf ? 0x10 : 0) | (sp ? 1 : 0), 0, 0, length, 0],
  requestSense: (allocation: number, desc = false) => [0x03, desc ? 1 : 0, 0, 0, allocation, 0],
};

/** Sense key, ASC, ASCQ of fixed-format sense data. */
export function senseOf(sense: Buffer | undefined) {
  if (!sense) return undefined;
  return { key: sense[2] & 0x0f, asc: sense[12], ascq: sense[13] };
}
