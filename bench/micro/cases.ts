// Micro benchmark cases: the per-I/O work of twinsan's hot path, one case per operation.
import * as C from "../../src/iscsi/constants.ts";
import { crc32c } from "../../src/iscsi/crc32c.ts";
import * as codec from "../../src/iscsi/pdu.ts";
import type { DataInFields } from "../../src/iscsi/pdu-types.ts";
import { checkCdbUsage } from "../../src/scsi/cdb.ts";
import { findCommand } from "../../src/scsi/command-table.ts";
import { LineTable } from "../../src/device/cache-line-table.ts";
import { DirtyRegionBitmap } from "../../src/ha/dirty-region-bitmap.ts";

export interface MicroCase {
  name: string;
  /** The src module measured, so a missing or renamed module is easy to trace. */
  module: string;
  run: () => unknown;
}

/** Kept out of reach of dead-code elimination. */
export let sink: unknown;

function read10(lba: number, blocks: number): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = 0x28;
  cdb.writeUInt32BE(lba, 2);
  cdb.writeUInt16BE(blocks, 7);
  return cdb;
}

function write16(lba: number, blocks: number): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = 0x8a;
  cdb.writeBigUInt64BE(BigInt(lba), 2);
  cdb.writeUInt32BE(blocks, 10);
  return cdb;
}

const commandFields: codec.ScsiCommandFields = {
  immediate: false, final: true, read: true, write: false,
  taskAttribute: C.TASK_ATTR_SIMPLE, lun: 0, itt: 0x1234, expectedDataTransferLength: 4096,
  cmdSN: 77, expStatSN: 66, cdb: read10(123_456, 8), bidiReadLength: null,
  dataSegmentLength: 0,
};
const commandPdu = codec.pduFromParts(codec.encodeScsiCommand(commandFields), Buffer.alloc(0));
const dataInFields: DataInFields = {
  final: true, acknowledge: false, residualOverflow: false, residualUnderflow: false,
  statusPresent: true, status: 0, lun: 0, itt: 0x1234, ttt: C.RESERVED_TAG, statSN: 5,
  expCmdSN: 78, maxCmdSN: 141, dataSN: 0, bufferOffset: 0, residualCount: 0,
  dataSegmentLength: 4096,
};
const header48 = codec.encodeDataIn(dataInFields);
const block4k = Buffer.alloc(4096, 0xa5);
const block64k = Buffer.alloc(65536, 0x5a);
const cdbs = [read10(2048, 8), write16(1 << 20, 128), Buffer.from([0x12, 0, 0, 0, 36, 0])];

function decodeCdb(cdb: Buffer): unknown {
  const command = findCommand(cdb);
  if (command === undefined) throw new Error(`no command for opcode ${cdb[0]}`);
  checkCdbUsage(cdb, command.usage, command.serviceAction !== undefined);
  return command;
}

// A 64 MiB cache of 64 KiB lines over a 1 GiB device of 512-byte blocks.
const CACHE_LINES = 1024;
const DEVICE_LINES = 16 * 1024;
const lineTable = new LineTable({
  lineBytes: 65536, blockSizeBytes: 512, deviceBlocks: DEVICE_LINES * 128,
  capacityBytes: CACHE_LINES * 65536,
});
for (let index = 0; index < CACHE_LINES; index++) {
  const line = lineTable.getOrAllocate(index)!;
  line.fillInvalid(Buffer.alloc(65536));
  lineTable.settle(line);
}
let nextLookup = 0;
let nextInsert = CACHE_LINES;

/** A hit: find the line and mark it most recently used. */
function cacheLookup(): unknown {
  const line = lineTable.get(nextLookup);
  nextLookup = (nextLookup + 7) % CACHE_LINES;
  if (line) lineTable.touch(line);
  return line;
}

/** A miss that takes a slot: the least recently used clean line is evicted for a new one. */
function cacheInsert(): unknown {
  const line = lineTable.getOrAllocate(nextInsert);
  nextInsert = nextInsert + 1 >= DEVICE_LINES ? 0 : nextInsert + 1;
  if (line) lineTable.settle(line);
  return line;
}

// The sync journal bitmap of a 1 TiB device (2 MiB): a write marks its regions; resync scans.
const journalBitmap = new DirtyRegionBitmap(1024 ** 4);
let nextMarkOffset = 0;
const scanBitmap = new DirtyRegionBitmap(1024 ** 4);
for (let region = 0; region < scanBitmap.regionCount; region += 4099) scanBitmap.mark(region);

function bitmapMark(): void {
  journalBitmap.markRange(nextMarkOffset, 4096);
  nextMarkOffset = (nextMarkOffset + 7 * 65536 + 4096) % (1024 ** 4 - 4096);
}

/** Walks every dirty region of a sparsely dirty 1 TiB bitmap (about 4,100 of 16 Mi regions). */
function bitmapScan(): number {
  let found = 0;
  for (let r = scanBitmap.nextDirty(); r !== -1; r = scanBitmap.nextDirty(r + 1)) found++;
  return found;
}

export const MICRO_CASES: MicroCase[] = [
  { name: "pdu: encode SCSI Command BHS", module: "src/iscsi/pdu.ts",
    run: () => (sink = codec.encodeScsiCommand(commandFields)) },
  { name: "pdu: decode SCSI Command", module: "src/iscsi/pdu.ts",
    run: () => (sink = codec.decodeScsiCommand(commandPdu)) },
  { name: "pdu: encode Data-In BHS", module: "src/iscsi/pdu.ts",
    run: () => (sink = codec.encodeDataIn(dataInFields)) },
  { name: "crc32c: 48 B header digest", module: "src/iscsi/crc32c.ts",
    run: () => (sink = crc32c(header48)) },
  { name: "crc32c: 4 KiB data digest", module: "src/iscsi/crc32c.ts",
    run: () => (sink = crc32c(block4k)) },
  { name: "crc32c: 64 KiB data digest", module: "src/iscsi/crc32c.ts",
    run: () => (sink = crc32c(block64k)) },
  { name: "cdb: decode READ(10), WRITE(16), INQUIRY", module: "src/scsi/command-table.ts",
    run: () => {
      for (const cdb of cdbs) sink = decodeCdb(cdb);
    } },
  { name: "cache: lookup a line (hit)", module: "src/device/cache-line-table.ts",
    run: () => (sink = cacheLookup()) },
  { name: "cache: insert a line (evicting the LRU one)", module: "src/device/cache-line-table.ts",
    run: () => (sink = cacheInsert()) },
  { name: "bitmap: mark a 4 KiB write", module: "src/ha/dirty-region-bitmap.ts",
    run: () => bitmapMark() },
  { name: "bitmap: scan 1 TiB, 4k dirty regions", module: "src/ha/dirty-region-bitmap.ts",
    run: () => (sink = bitmapScan()) },
];
