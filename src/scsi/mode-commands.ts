// MODE SENSE (6/10) and MODE SELECT (6/10), SPC-4 6.9-6.12, with the SBC-3 block descriptors.

import type { BlockGeometry, CommandContext } from "./command-context.ts";
import {
  ALL_SUBPAGES,
  Asc,
  DEVICE_SPECIFIC_DPOFUA,
  LONG_LBA_BLOCK_DESCRIPTOR_LENGTH,
  ModePage,
  Opcode,
  PageControl,
  SHORT_LBA_BLOCK_DESCRIPTOR_LENGTH,
} from "./constants.ts";
import { allocationLimited, dataInResult, dataOutOf, goodResult } from "./data-transfer.ts";
import { ModePages } from "./mode-pages.ts";
import { illegalRequest, invalidFieldInCdb, invalidFieldInParameterList } from "./sense.ts";
import type { ScsiResult } from "./types.ts";

const MODE_6_HEADER_LENGTH = 4;
const MODE_10_HEADER_LENGTH = 8;
const DBD = 0x08;
const LLBAA = 0x10;
const LONGLBA = 0x01;
const PF = 0x10;
const SP = 0x01;
/** NUMBER OF LOGICAL BLOCKS in a short descriptor when the real count does not fit. */
const BLOCK_COUNT_TOO_LARGE_FOR_SHORT = 0xffffffff;

function blockDescriptor(geometry: BlockGeometry, long: boolean, pageControl: number): Buffer {
  const descriptor = Buffer.alloc(
    long ? LONG_LBA_BLOCK_DESCRIPTOR_LENGTH : SHORT_LBA_BLOCK_DESCRIPTOR_LENGTH,
  );
  if (pageControl === PageControl.CHANGEABLE) return descriptor;
  if (long) {
    descriptor.writeBigUInt64BE(BigInt(geometry.blockCount), 0);
    descriptor.writeUInt32BE(geometry.blockSize, 12);
  } else {
    descriptor.writeUInt32BE(Math.min(geometry.blockCount, BLOCK_COUNT_TOO_LARGE_FOR_SHORT), 0);
    descriptor.writeUIntBE(geometry.blockSize, 5, 3);
  }
  return descriptor;
}

function requestedPages(ctx: CommandContext, cdb: Buffer, pageControl: number): Buffer {
  const pageCode = cdb[2] & 0x3f;
  const subpageCode = cdb[3];
  if (subpageCode !== 0 && subpageCode !== ALL_SUBPAGES) throw invalidFieldInCdb(3);
  if (pageCode === ModePage.RETURN_ALL_PAGES) {
    const all = ModePages.pageCodes.map((code) => ctx.modePages.encode(code, pageControl));
    return Buffer.concat(all);
  }
  if (!ModePages.implements(pageCode)) throw invalidFieldInCdb(2, 5);
  return ctx.modePages.encode(pageCode, pageControl);
}

export async function modeSense(ctx: CommandContext): Promise<ScsiResult> {
  const { cdb } = ctx.task;
  const ten = cdb[0] === Opcode.MODE_SENSE_10;
  const pageControl = cdb[2] >> 6;
  if (pageControl === PageControl.SAVED) throw illegalRequest(Asc.SAVING_PARAMETERS_NOT_SUPPORTED);
  const pages = requestedPages(ctx, cdb, pageControl);
  const longLba = ten && (cdb[1] & LLBAA) !== 0;
  const descriptors = cdb[1] & DBD
    ? Buffer.alloc(0)
    : blockDescriptor(ctx.geometry, longLba, pageControl);
  const header = Buffer.alloc(ten ? MODE_10_HEADER_LENGTH : MODE_6_HEADER_LENGTH);
  const total = header.length + descriptors.length + pages.length;
  if (ten) {
    header.writeUInt16BE(total - 2, 0);
    header[3] = DEVICE_SPECIFIC_DPOFUA;
    header[4] = longLba ? LONGLBA : 0;
    header.writeUInt16BE(descriptors.length, 6);
  } else {
    header[0] = total - 1;
    header[2] = DEVICE_SPECIFIC_DPOFUA;
    header[3] = descriptors.length;
  }
  const allocationLength = ten ? cdb.readUInt16BE(7) : cdb[4];
  const data = Buffer.concat([header, descriptors, pages]);
  return dataInResult(ctx.task, allocationLimited(data, allocationLength));
}

/** Block descriptors may restate the geometry but not change it. */
function checkBlockDescriptors(ctx: CommandContext, list: Buffer, headerLength: number): number {
  const ten = headerLength === MODE_10_HEADER_LENGTH;
  const length = ten ? list.readUInt16BE(6) : list[3];
  const long = ten && (list[4] & LONGLBA) !== 0;
  const size = long ? LONG_LBA_BLOCK_DESCRIPTOR_LENGTH : SHORT_LBA_BLOCK_DESCRIPTOR_LENGTH;
  const lengthField = ten ? 6 : 3;
  if (length % size !== 0) throw invalidFieldInParameterList(lengthField);
  if (headerLength + length > list.length) throw illegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR);
  for (let at = headerLength; at < headerLength + length; at += size) {
    const blockLengthAt = long ? at + 12 : at + 5;
    const blockLength = long ? list.readUInt32BE(blockLengthAt) : list.readUIntBE(blockLengthAt, 3);
    if (blockLength !== ctx.geometry.blockSize) throw invalidFieldInParameterList(blockLengthAt);
  }
  return length;
}

export async function modeSelect(ctx: CommandContext): Promise<ScsiResult> {
  const { task } = ctx;
  const { cdb } = task;
  const ten = cdb[0] === Opcode.MODE_SELECT_10;
  if (cdb[1] & SP) throw invalidFieldInCdb(1, 0);
  const listLength = ten ? cdb.readUInt16BE(7) : cdb[4];
  if (listLength === 0) return goodResult(task);
  const dataOut = dataOutOf(task);
  const headerLength = ten ? MODE_10_HEADER_LENGTH : MODE_6_HEADER_LENGTH;
  if (dataOut.length < listLength || listLength < headerLength) {
    throw illegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR);
  }
  const list = dataOut.subarray(0, listLength);
  const pagesAt = headerLength + checkBlockDescriptors(ctx, list, headerLength);
  const pages = list.subarray(pagesAt);
  if (pages.length > 0 && !(cdb[1] & PF)) throw invalidFieldInCdb(1, 4);
  if (ctx.modePages.select(pages, pagesAt)) {
    ctx.unitAttentions.establish(Asc.MODE_PARAMETERS_CHANGED, { except: ctx.nexusKey });
  }
  return goodResult(task, listLength);
}
