// EXTENDED COPY (LID1), SPC-4 6.4: the copy manager copies blocks between logical units of this
// SCSI target device. Supported: identification descriptor copy targets (E4h) naming a logical
// unit by its NAA designator, and block-to-block segments (02h). The whole parameter list is
// checked before the first block moves; segments then run in order, in bounded chunks, each
// chunk read under a shared and written under an exclusive lease of its logical unit.

import { type BlockRange, readBlocks, writeBlocks } from "./block-access.ts";
import type { CommandContext, CopyTarget } from "./command-context.ts";
import {
  type AdditionalSense,
  Asc,
  CopyDescriptorType,
  DesignatorType,
  ListIdUsage,
  MAXIMUM_COPY_DESCRIPTOR_LIST_LENGTH,
  MAXIMUM_COPY_SEGMENT_BYTES,
  MAXIMUM_COPY_SEGMENT_DESCRIPTORS,
  MAXIMUM_COPY_TARGET_DESCRIPTORS,
  PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS,
  SenseKey,
} from "./constants.ts";
import type { CopyStatus } from "./copy-results.ts";
import { goodResult } from "./data-transfer.ts";
import { parameterListOf } from "./parameter-list.ts";
import { SenseError, illegalRequest, invalidFieldInParameterList } from "./sense.ts";
import type { ScsiResult } from "./types.ts";

const HEADER_LENGTH = 16;
const TARGET_DESCRIPTOR_LENGTH = 32;
const BLOCK_TO_BLOCK_LENGTH = 28;
const NAA_DESIGNATOR_LENGTH = 16;
const LIST_ID_USAGES: ReadonlySet<number> = new Set(Object.values(ListIdUsage));
/** Largest piece of a segment read into memory at once. */
const COPY_CHUNK_BYTES = 1024 * 1024;

interface Segment {
  source: CopyTarget;
  destination: CopyTarget;
  sourceLba: number;
  destinationLba: number;
  bytes: number;
}

function copyAborted(
  additional: AdditionalSense = Asc.COPY_TARGET_DEVICE_NOT_REACHABLE,
): SenseError {
  return new SenseError({ key: SenseKey.COPY_ABORTED, additional });
}

/** An identification descriptor copy target: the NAA designator of a unit of this target. */
function copyTargetOf(ctx: CommandContext, list: Buffer, at: number): CopyTarget {
  const type = list[at];
  if (type !== CopyDescriptorType.IDENTIFICATION_TARGET) {
    throw new SenseError({
      key: SenseKey.ILLEGAL_REQUEST,
      additional: Asc.UNSUPPORTED_TARGET_DESCRIPTOR_TYPE_CODE,
      field: { inCdb: false, byte: at },
    });
  }
  // LU ID TYPE and NUL are ignored (SPC-4); the copy target must be a block device.
  if ((list[at + 1] & 0x1f) !== PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS) {
    throw invalidFieldInParameterList(at + 1);
  }
  const designatorType = list[at + 5] & 0x0f;
  const designatorLength = list[at + 7];
  if (designatorType !== DesignatorType.NAA || designatorLength !== NAA_DESIGNATOR_LENGTH) {
    throw copyAborted();
  }
  const naaId = list.subarray(at + 8, at + 8 + NAA_DESIGNATOR_LENGTH).toString("hex");
  const target = ctx.target.copyTargetByNaaId(naaId);
  if (!target) throw copyAborted();
  if (list.readUIntBE(at + 29, 3) !== target.geometry.blockSize) {
    throw invalidFieldInParameterList(at + 29);
  }
  return target;
}

function rangeOf(target: CopyTarget, lba: bigint, bytes: number): BlockRange {
  const { blockSize, blockCount } = target.geometry;
  if (bytes % blockSize !== 0) throw copyAborted(Asc.COPY_SEGMENT_GRANULARITY_VIOLATION);
  const blocks = bytes / blockSize;
  if (lba + BigInt(blocks) > BigInt(blockCount)) throw copyAborted();
  return { lba: Number(lba), blocks };
}

/** A block-to-block segment; the number of blocks counts destination blocks when DC is set. */
function blockToBlockSegment(list: Buffer, at: number, targets: CopyTarget[]): Segment {
  if (list.readUInt16BE(at + 2) !== BLOCK_TO_BLOCK_LENGTH - 4) {
    throw invalidFieldInParameterList(at + 2);
  }
  const source = targets[list.readUInt16BE(at + 4)];
  const destination = targets[list.readUInt16BE(at + 6)];
  if (!source || !destination) throw copyAborted();
  const countsDestination = (list[at + 1] & 0x02) !== 0;
  const blocks = list.readUInt16BE(at + 10);
  const bytes = blocks * (countsDestination ? destination : source).geometry.blockSize;
  if (bytes > MAXIMUM_COPY_SEGMENT_BYTES) throw invalidFieldInParameterList(at + 10);
  const sourceLba = rangeOf(source, list.readBigUInt64BE(at + 12), bytes).lba;
  const destinationLba = rangeOf(destination, list.readBigUInt64BE(at + 20), bytes).lba;
  return { source, destination, sourceLba, destinationLba, bytes };
}

function segmentsOf(ctx: CommandContext, list: Buffer): Segment[] {
  const targetListLength = list.readUInt16BE(2);
  const segmentListLength = list.readUInt32BE(8);
  const inlineDataLength = list.readUInt32BE(12);
  if (HEADER_LENGTH + targetListLength + segmentListLength + inlineDataLength > list.length ||
    targetListLength + segmentListLength > MAXIMUM_COPY_DESCRIPTOR_LIST_LENGTH) {
    throw illegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR);
  }
  if (inlineDataLength !== 0) throw invalidFieldInParameterList(12);
  if (targetListLength % TARGET_DESCRIPTOR_LENGTH !== 0) throw invalidFieldInParameterList(2);
  if (targetListLength / TARGET_DESCRIPTOR_LENGTH > MAXIMUM_COPY_TARGET_DESCRIPTORS) {
    throw illegalRequest(Asc.TOO_MANY_TARGET_DESCRIPTORS);
  }
  const targets: CopyTarget[] = [];
  const segmentsAt = HEADER_LENGTH + targetListLength;
  for (let at = HEADER_LENGTH; at < segmentsAt; at += TARGET_DESCRIPTOR_LENGTH) {
    targets.push(copyTargetOf(ctx, list, at));
  }
  const segments: Segment[] = [];
  const end = segmentsAt + segmentListLength;
  for (let at = segmentsAt; at < end; at += list.readUInt16BE(at + 2) + 4) {
    if (segments.length === MAXIMUM_COPY_SEGMENT_DESCRIPTORS) {
      throw illegalRequest(Asc.TOO_MANY_SEGMENT_DESCRIPTORS);
    }
    if (at + 4 > end) throw invalidFieldInParameterList(8);
    if (list[at] !== CopyDescriptorType.BLOCK_TO_BLOCK) {
      throw new SenseError({
        key: SenseKey.ILLEGAL_REQUEST,
        additional: Asc.UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE_CODE,
        field: { inCdb: false, byte: at },
      });
    }
    if (at + BLOCK_TO_BLOCK_LENGTH > end) throw invalidFieldInParameterList(8);
    segments.push(blockToBlockSegment(list, at, targets));
  }
  return segments;
}

/**
 * Copies chunk by chunk. When source and destination overlap on one unit with the destination
 * later, the chunks run from the end, so every chunk is read before a write can reach it.
 */
async function copySegment(segment: Segment, status: CopyStatus): Promise<void> {
  const { source, destination } = segment;
  const backwards = source === destination && segment.destinationLba > segment.sourceLba;
  const chunks = Math.ceil(segment.bytes / COPY_CHUNK_BYTES);
  for (let step = 0; step < chunks; step++) {
    const chunk = backwards ? chunks - 1 - step : step;
    const offset = chunk * COPY_CHUNK_BYTES;
    const bytes = Math.min(COPY_CHUNK_BYTES, segment.bytes - offset);
    const data = await readBlocks(source, {
      lba: segment.sourceLba + offset / source.geometry.blockSize,
      blocks: bytes / source.geometry.blockSize,
    });
    const lba = segment.destinationLba + offset / destination.geometry.blockSize;
    // No FUA: the copy is as durable as any write the initiator makes without it.
    await writeBlocks(destination, lba, data, false);
    status.transferredBytes += bytes;
  }
}

export async function extendedCopy(ctx: CommandContext): Promise<ScsiResult> {
  const { task } = ctx;
  const length = task.cdb.readUInt32BE(10);
  if (length === 0) return goodResult(task);
  const list = parameterListOf(task, length);
  if (length < HEADER_LENGTH) throw illegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR);
  const listId = list[0];
  const listIdUsage = (list[1] >> 3) & 0b11;
  if (!LIST_ID_USAGES.has(listIdUsage)) throw invalidFieldInParameterList(1, 4);
  if (listIdUsage === ListIdUsage.NONE && listId !== 0) throw invalidFieldInParameterList(0);
  if (listIdUsage !== ListIdUsage.NONE &&
    ctx.copyResults.statusOf(ctx.nexusKey, listId)?.state === "in progress") {
    throw illegalRequest(Asc.OPERATION_IN_PROGRESS);
  }
  const segments = segmentsOf(ctx, list);
  const status: CopyStatus = listIdUsage === ListIdUsage.NONE
    ? { state: "in progress", segmentsProcessed: 0, transferredBytes: 0 }
    : ctx.copyResults.begin(ctx.nexusKey, listId);
  try {
    for (const segment of segments) {
      await copySegment(segment, status);
      status.segmentsProcessed++;
    }
  } catch (error) {
    status.state = "failed";
    // A copy target that fails part way aborts the copy.
    if (error instanceof SenseError) throw copyAborted();
    throw error;
  }
  status.state = "completed";
  return goodResult(task, length);
}
