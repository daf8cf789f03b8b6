// Vital product data pages (SPC-4 7.8, SBC-3 6.6) returned by INQUIRY with EVPD set.

import type { CommandContext } from "./command-context.ts";
import {
  Association,
  CodeSet,
  DesignatorType,
  MAXIMUM_COMPARE_AND_WRITE_BLOCKS,
  MAXIMUM_UNMAP_BLOCK_DESCRIPTORS,
  MEDIUM_ROTATION_RATE_NON_ROTATING,
  PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS,
  ProtocolIdentifier,
  ProvisioningType,
  VpdPage,
} from "./constants.ts";
import { thirdPartyCopyPage } from "./copy-results.ts";
import { maximumUnmapBlocks } from "./unmap.ts";
import { maximumWriteSameBlocks } from "./write-same.ts";

const BLOCK_LIMITS_PAGE_LENGTH = 0x3c;
const BLOCK_DEVICE_CHARACTERISTICS_PAGE_LENGTH = 0x3c;
const LOGICAL_BLOCK_PROVISIONING_PAGE_LENGTH = 0x04;
/** Logical Block Provisioning byte 5: UNMAP, WRITE SAME (16) and (10) unmap; unmapped reads 0. */
const LBPU = 0x80;
const LBPWS = 0x40;
const LBPWS10 = 0x20;
const LBPRZ = 0x04;

function vpdPage(pageCode: number, body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header[0] = PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS;
  header[1] = pageCode;
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

interface DesignatorKind {
  codeSet: number;
  association: number;
  type: number;
  /** Protocol-specific designators name the protocol and set PIV. */
  iscsi: boolean;
}

function designationDescriptor(kind: DesignatorKind, designator: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header[0] = ((kind.iscsi ? ProtocolIdentifier.ISCSI : 0) << 4) | kind.codeSet;
  header[1] = (kind.iscsi ? 0x80 : 0) | (kind.association << 4) | kind.type;
  header[3] = designator.length;
  return Buffer.concat([header, designator]);
}

/** SCSI name string: UTF-8, null terminated, padded with nulls to a multiple of 4 bytes. */
function scsiNameString(name: string): Buffer {
  const text = Buffer.from(name, "utf8");
  const padded = Buffer.alloc((text.length + 4) & ~3);
  text.copy(padded);
  return padded;
}

function twoByteIdentifier(value: number): Buffer {
  const designator = Buffer.alloc(4);
  designator.writeUInt16BE(value, 2);
  return designator;
}

function deviceIdentification(ctx: CommandContext): Buffer {
  const { nexus } = ctx.task;
  const binary = { codeSet: CodeSet.BINARY, iscsi: true, association: Association.TARGET_PORT };
  const utf8 = { codeSet: CodeSet.UTF_8, iscsi: true };
  // "<target iqn>,t,0x<tpgt>" names the port; the part before ",t," names the target device.
  const targetDeviceName = nexus.targetPortName.split(",t,")[0];
  return Buffer.concat([
    designationDescriptor(
      { codeSet: CodeSet.BINARY, iscsi: false, association: Association.LOGICAL_UNIT,
        type: DesignatorType.NAA },
      Buffer.from(ctx.identity.naaId, "hex"),
    ),
    designationDescriptor(
      { ...binary, type: DesignatorType.RELATIVE_TARGET_PORT_IDENTIFIER },
      twoByteIdentifier(nexus.relativeTargetPortId),
    ),
    designationDescriptor(
      { ...binary, type: DesignatorType.TARGET_PORT_GROUP },
      twoByteIdentifier(nexus.targetPortGroupId),
    ),
    designationDescriptor(
      { ...utf8, association: Association.TARGET_PORT, type: DesignatorType.SCSI_NAME_STRING },
      scsiNameString(nexus.targetPortName),
    ),
    designationDescriptor(
      { ...utf8, association: Association.TARGET_DEVICE, type: DesignatorType.SCSI_NAME_STRING },
      scsiNameString(targetDeviceName),
    ),
  ]);
}

function blockLimits(ctx: CommandContext): Buffer {
  const { geometry } = ctx;
  const { maxTransferBlocks, optimalTransferBlocks, preferredAlignmentBlocks } = geometry;
  const body = Buffer.alloc(BLOCK_LIMITS_PAGE_LENGTH);
  // Offsets below are page offsets (SBC-3 table 193) minus the 4-byte header. WSNZ stays 0.
  body[1] = MAXIMUM_COMPARE_AND_WRITE_BLOCKS; // MAXIMUM COMPARE AND WRITE LENGTH
  body.writeUInt16BE(preferredAlignmentBlocks, 2); // OPTIMAL TRANSFER LENGTH GRANULARITY
  body.writeUInt32BE(maxTransferBlocks, 4); // MAXIMUM TRANSFER LENGTH
  body.writeUInt32BE(optimalTransferBlocks, 8); // OPTIMAL TRANSFER LENGTH
  body.writeUInt32BE(maxTransferBlocks, 12); // MAXIMUM PREFETCH LENGTH
  if (ctx.provisioning === "thin") {
    body.writeUInt32BE(maximumUnmapBlocks(geometry), 16); // MAXIMUM UNMAP LBA COUNT
    body.writeUInt32BE(MAXIMUM_UNMAP_BLOCK_DESCRIPTORS, 20); // ... BLOCK DESCRIPTOR COUNT
    body.writeUInt32BE(preferredAlignmentBlocks, 24); // OPTIMAL UNMAP GRANULARITY
  }
  body.writeBigUInt64BE(BigInt(maximumWriteSameBlocks(geometry)), 32); // MAX WRITE SAME LENGTH
  return body;
}

function blockDeviceCharacteristics(): Buffer {
  const body = Buffer.alloc(BLOCK_DEVICE_CHARACTERISTICS_PAGE_LENGTH);
  body.writeUInt16BE(MEDIUM_ROTATION_RATE_NON_ROTATING, 0);
  return body;
}

/** Thin: UNMAP and WRITE SAME unmapping, reads of unmapped blocks return zeros. */
function logicalBlockProvisioning(ctx: CommandContext): Buffer {
  const body = Buffer.alloc(LOGICAL_BLOCK_PROVISIONING_PAGE_LENGTH);
  if (ctx.provisioning === "thin") {
    body[1] = LBPU | LBPWS | LBPWS10 | LBPRZ;
    body[2] = ProvisioningType.THIN;
  } else {
    body[2] = ProvisioningType.FULL;
  }
  return body;
}

const PAGE_BODIES: ReadonlyMap<number, (ctx: CommandContext) => Buffer> = new Map([
  [VpdPage.SUPPORTED_VPD_PAGES, () => supportedPages()],
  [VpdPage.UNIT_SERIAL_NUMBER, (ctx) => Buffer.from(ctx.identity.serial, "ascii")],
  [VpdPage.DEVICE_IDENTIFICATION, deviceIdentification],
  [VpdPage.THIRD_PARTY_COPY, thirdPartyCopyPage],
  [VpdPage.BLOCK_LIMITS, blockLimits],
  [VpdPage.BLOCK_DEVICE_CHARACTERISTICS, blockDeviceCharacteristics],
  [VpdPage.LOGICAL_BLOCK_PROVISIONING, logicalBlockProvisioning],
]);

function supportedPages(): Buffer {
  return Buffer.from([...PAGE_BODIES.keys()].sort((a, b) => a - b));
}

/** The whole page, or undefined when the page code is not supported. */
export function vpdPageData(ctx: CommandContext, pageCode: number): Buffer | undefined {
  const body = PAGE_BODIES.get(pageCode);
  return body && vpdPage(pageCode, body(ctx));
}
