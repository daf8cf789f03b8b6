// What the copy manager reports: RECEIVE COPY RESULTS (SPC-4 6.18, LID1 service actions COPY
// STATUS and OPERATING PARAMETERS), the statuses a logical unit keeps for it per I_T nexus and
// list identifier, and the Third-party Copy VPD page.

import type { CommandContext } from "./command-context.ts";
import {
  CopyDescriptorType,
  CopyManagerStatus,
  ExtendedCopyAction,
  MAXIMUM_COPY_DESCRIPTOR_LIST_LENGTH,
  MAXIMUM_COPY_SEGMENT_BYTES,
  MAXIMUM_COPY_SEGMENT_DESCRIPTORS,
  MAXIMUM_COPY_TARGET_DESCRIPTORS,
  Opcode,
  ReceiveCopyResultsAction,
  ThirdPartyCopyDescriptorType,
  TOTAL_CONCURRENT_COPIES,
  TransferCountUnits,
} from "./constants.ts";
import { allocationLimited, dataInResult } from "./data-transfer.ts";
import { invalidFieldInCdb } from "./sense.ts";
import type { ScsiResult } from "./types.ts";

export interface CopyStatus {
  state: "in progress" | "completed" | "failed";
  segmentsProcessed: number;
  transferredBytes: number;
}

const LIST_IDENTIFIER_OFFSET = 2;
const COPY_STATUS_LENGTH = 12;
const OPERATING_PARAMETERS_HEADER_LENGTH = 44;
const IMPLEMENTED_DESCRIPTORS = [CopyDescriptorType.BLOCK_TO_BLOCK,
  CopyDescriptorType.IDENTIFICATION_TARGET];
/** OPERATING PARAMETERS byte 4: LIST ID USAGE 11b (no list identifier) is supported. */
const SNLID = 0x01;

/** At most 256 statuses per nexus: the LIST IDENTIFIER is one byte. */
export class CopyResults {
  private readonly byNexus = new Map<string, Map<number, CopyStatus>>();

  /** A new status for the list identifier, replacing the one of an earlier copy. */
  begin(nexusKey: string, listId: number): CopyStatus {
    let statuses = this.byNexus.get(nexusKey);
    if (!statuses) this.byNexus.set(nexusKey, statuses = new Map());
    const status: CopyStatus = { state: "in progress", segmentsProcessed: 0, transferredBytes: 0 };
    statuses.set(listId, status);
    return status;
  }

  statusOf(nexusKey: string, listId: number): CopyStatus | undefined {
    return this.byNexus.get(nexusKey)?.get(listId);
  }

  forget(nexusKey: string): void {
    this.byNexus.delete(nexusKey);
  }
}

function copyManagerStatus(status: CopyStatus): number {
  switch (status.state) {
    case "in progress":
      return CopyManagerStatus.IN_PROGRESS;
    case "completed":
      return CopyManagerStatus.COMPLETED;
    case "failed":
      return CopyManagerStatus.COMPLETED_WITH_ERRORS;
  }
}

export async function receiveCopyStatus(ctx: CommandContext): Promise<ScsiResult> {
  const { cdb } = ctx.task;
  const status = ctx.copyResults.statusOf(ctx.nexusKey, cdb[LIST_IDENTIFIER_OFFSET]);
  if (!status) throw invalidFieldInCdb(LIST_IDENTIFIER_OFFSET);
  const data = Buffer.alloc(COPY_STATUS_LENGTH);
  data.writeUInt32BE(COPY_STATUS_LENGTH - 4, 0);
  data[4] = copyManagerStatus(status);
  data.writeUInt16BE(status.segmentsProcessed, 5);
  const inBytes = status.transferredBytes <= 0xffffffff;
  data[7] = inBytes ? TransferCountUnits.BYTES : TransferCountUnits.KIBIBYTES;
  data.writeUInt32BE(inBytes ? status.transferredBytes : Math.floor(status.transferredBytes / 1024),
    8);
  return dataInResult(ctx.task, allocationLimited(data, cdb.readUInt32BE(10)));
}

export async function receiveOperatingParameters(ctx: CommandContext): Promise<ScsiResult> {
  const { cdb } = ctx.task;
  const data = Buffer.alloc(OPERATING_PARAMETERS_HEADER_LENGTH + IMPLEMENTED_DESCRIPTORS.length);
  data.writeUInt32BE(data.length - 4, 0);
  data[4] = SNLID;
  data.writeUInt16BE(MAXIMUM_COPY_TARGET_DESCRIPTORS, 8);
  data.writeUInt16BE(MAXIMUM_COPY_SEGMENT_DESCRIPTORS, 10);
  data.writeUInt32BE(MAXIMUM_COPY_DESCRIPTOR_LIST_LENGTH, 12);
  data.writeUInt32BE(MAXIMUM_COPY_SEGMENT_BYTES, 16);
  // MAXIMUM INLINE DATA LENGTH, HELD DATA LIMIT, MAXIMUM STREAM DEVICE TRANSFER SIZE: 0.
  data.writeUInt16BE(TOTAL_CONCURRENT_COPIES, 34);
  data[36] = TOTAL_CONCURRENT_COPIES;
  data[37] = Math.log2(ctx.geometry.blockSize); // DATA SEGMENT GRANULARITY (log 2)
  data[43] = IMPLEMENTED_DESCRIPTORS.length;
  IMPLEMENTED_DESCRIPTORS.forEach((code, index) => { data[44 + index] = code; });
  return dataInResult(ctx.task, allocationLimited(data, cdb.readUInt32BE(10)));
}

/** One third-party copy descriptor: type, length, body padded to a multiple of 4 bytes. */
function thirdPartyCopyDescriptor(type: number, body: readonly number[] | Buffer): Buffer {
  const out = Buffer.alloc(4 + Math.ceil(body.length / 4) * 4);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(out.length - 4, 2);
  Buffer.from(body).copy(out, 4);
  return out;
}

/** The Third-party Copy VPD page (SPC-4 7.8.17) body: the five descriptors LID1 copy needs. */
export function thirdPartyCopyPage(ctx: CommandContext): Buffer {
  const commands = [
    Opcode.EXTENDED_COPY, 1, ExtendedCopyAction.EXTENDED_COPY_LID1,
    Opcode.RECEIVE_COPY_RESULTS, 2, ReceiveCopyResultsAction.COPY_STATUS,
    ReceiveCopyResultsAction.OPERATING_PARAMETERS,
  ];
  const parameterData = Buffer.alloc(28);
  parameterData.writeUInt16BE(MAXIMUM_COPY_TARGET_DESCRIPTORS, 4);
  parameterData.writeUInt16BE(MAXIMUM_COPY_SEGMENT_DESCRIPTORS, 6);
  parameterData.writeUInt32BE(MAXIMUM_COPY_DESCRIPTOR_LIST_LENGTH, 8);
  const generalCopyOperations = Buffer.alloc(32);
  generalCopyOperations.writeUInt32BE(TOTAL_CONCURRENT_COPIES, 0);
  generalCopyOperations.writeUInt32BE(TOTAL_CONCURRENT_COPIES, 4);
  generalCopyOperations.writeUInt32BE(MAXIMUM_COPY_SEGMENT_BYTES, 8);
  generalCopyOperations[12] = Math.log2(ctx.geometry.blockSize);
  return Buffer.concat([
    thirdPartyCopyDescriptor(ThirdPartyCopyDescriptorType.SUPPORTED_COMMANDS,
      [commands.length, ...commands]),
    thirdPartyCopyDescriptor(ThirdPartyCopyDescriptorType.PARAMETER_DATA, parameterData),
    thirdPartyCopyDescriptor(ThirdPartyCopyDescriptorType.SUPPORTED_DESCRIPTORS,
      [IMPLEMENTED_DESCRIPTORS.length, ...IMPLEMENTED_DESCRIPTORS]),
    // No CSCD descriptor IDs beyond the 0000h-07FFh that every copy manager takes.
    thirdPartyCopyDescriptor(ThirdPartyCopyDescriptorType.SUPPORTED_CSCD_IDS, [0, 0]),
    thirdPartyCopyDescriptor(ThirdPartyCopyDescriptorType.GENERAL_COPY_OPERATIONS,
      generalCopyOperations),
  ]);
}
