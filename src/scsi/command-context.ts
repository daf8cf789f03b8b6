// What a command handler sees of the logical unit it runs on.

import type { BlockDevice } from "../device/block-device.ts";
import type { ModePages } from "./mode-pages.ts";
import type { ScsiResult, ScsiTask } from "./types.ts";
import type { UnitAttentions } from "./unit-attention.ts";

/** Identity of a logical unit; the same on every node that exports it. */
export interface LuIdentity {
  /** NAA IEEE Registered Extended designator: 32 hex digits (16 bytes), starting with 6. */
  naaId: string;
  serial: string;
  vendorId: string;
  productId: string;
  productRevision: string;
}

export interface BlockGeometry {
  blockSize: number;
  blockCount: number;
  /** LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (READ CAPACITY (16)). */
  logicalPerPhysicalExponent: number;
  /** MAXIMUM TRANSFER LENGTH of the Block Limits VPD page, in logical blocks. */
  maxTransferBlocks: number;
  /** OPTIMAL TRANSFER LENGTH of the Block Limits VPD page, in logical blocks. */
  optimalTransferBlocks: number;
}

export interface CommandContext {
  readonly task: ScsiTask;
  readonly nexusKey: string;
  readonly device: BlockDevice;
  readonly identity: LuIdentity;
  readonly geometry: BlockGeometry;
  readonly modePages: ModePages;
  readonly unitAttentions: UnitAttentions;
  /** LUNs of the SCSI target device, for REPORT LUNS. */
  readonly lunInventory: readonly number[];
}

export type CommandHandler = (ctx: CommandContext) => Promise<ScsiResult>;
