// INQUIRY (SPC-4 6.6): standard data and the VPD pages.

import type { CommandContext, LuIdentity } from "./command-context.ts";
import {
  Asc,
  INQUIRY_VERSION_SPC_4,
  PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS,
  PERIPHERAL_DEVICE_TYPE_UNKNOWN,
  PERIPHERAL_QUALIFIER_CONNECTED,
  PERIPHERAL_QUALIFIER_NOT_SUPPORTED,
  RESPONSE_DATA_FORMAT_SPC,
  TPGS_IMPLICIT_AND_EXPLICIT,
  VersionDescriptor,
} from "./constants.ts";
import { allocationLimited, dataInResult } from "./data-transfer.ts";
import { illegalRequest, invalidFieldInCdb } from "./sense.ts";
import type { ScsiResult, ScsiTask } from "./types.ts";
import { vpdPageData } from "./vpd.ts";

const STANDARD_INQUIRY_LENGTH = 96;
const EVPD = 0x01;
const HISUP = 0x10;
const CMDQUE = 0x02;
/** Byte 5: the logical unit is a third-party copy manager (EXTENDED COPY). */
const THIRD_PARTY_COPY = 0x08;

const VERSION_DESCRIPTORS = [
  VersionDescriptor.SAM_5,
  VersionDescriptor.ISCSI,
  VersionDescriptor.SPC_4,
  VersionDescriptor.SBC_3,
];

/** An ASCII field of INQUIRY data: left-aligned, padded with spaces (SPC-4 4.4.1). */
function writeAsciiField(out: Buffer, offset: number, length: number, text: string): void {
  out.fill(0x20, offset, offset + length);
  out.write(text.slice(0, length), offset, "ascii");
}

function standardInquiryData(identity: LuIdentity | undefined, qualifier: number): Buffer {
  const data = Buffer.alloc(STANDARD_INQUIRY_LENGTH);
  data[0] = (qualifier << 5) |
    (identity ? PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS : PERIPHERAL_DEVICE_TYPE_UNKNOWN);
  data[2] = INQUIRY_VERSION_SPC_4;
  data[3] = HISUP | RESPONSE_DATA_FORMAT_SPC;
  data[4] = STANDARD_INQUIRY_LENGTH - 5;
  data[5] = (TPGS_IMPLICIT_AND_EXPLICIT << 4) | (identity ? THIRD_PARTY_COPY : 0);
  data[7] = CMDQUE;
  writeAsciiField(data, 8, 8, identity?.vendorId ?? "");
  writeAsciiField(data, 16, 16, identity?.productId ?? "");
  writeAsciiField(data, 32, 4, identity?.productRevision ?? "");
  VERSION_DESCRIPTORS.forEach((descriptor, i) => data.writeUInt16BE(descriptor, 58 + 2 * i));
  return data;
}

function allocationLength(cdb: Buffer): number {
  return cdb.readUInt16BE(3);
}

export async function inquiry(ctx: CommandContext): Promise<ScsiResult> {
  const { cdb } = ctx.task;
  const pageCode = cdb[2];
  let data: Buffer | undefined;
  if (cdb[1] & EVPD) {
    data = vpdPageData(ctx, pageCode);
  } else if (pageCode === 0) {
    data = standardInquiryData(ctx.identity, PERIPHERAL_QUALIFIER_CONNECTED);
  }
  if (!data) throw invalidFieldInCdb(2);
  return dataInResult(ctx.task, allocationLimited(data, allocationLength(cdb)));
}

/** INQUIRY addressed to a LUN the target does not have: peripheral qualifier 011b. */
export function absentLunInquiry(task: ScsiTask): ScsiResult {
  const { cdb } = task;
  if (cdb[1] & EVPD) throw illegalRequest(Asc.LOGICAL_UNIT_NOT_SUPPORTED);
  if (cdb[2] !== 0) throw invalidFieldInCdb(2);
  const data = standardInquiryData(undefined, PERIPHERAL_QUALIFIER_NOT_SUPPORTED);
  return dataInResult(task, allocationLimited(data, allocationLength(cdb)));
}
