// What a command handler sees of the logical unit it runs on.

import type { BlockDevice } from "../device/block-device.ts";
import type { AluaState } from "./alua-state.ts";
import type { CopyResults } from "./copy-results.ts";
import type { ModePages } from "./mode-pages.ts";
import type { RangeLock } from "./range-lock.ts";
import type { LogicalUnitReservations } from "./reservations/logical-unit-reservations.ts";
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
  /** OPTIMAL TRANSFER LENGTH GRANULARITY and OPTIMAL UNMAP GRANULARITY, in logical blocks. */
  preferredAlignmentBlocks: number;
  /** MAXIMUM TRANSFER LENGTH of the Block Limits VPD page, in logical blocks. */
  maxTransferBlocks: number;
  /** OPTIMAL TRANSFER LENGTH of the Block Limits VPD page, in logical blocks. */
  optimalTransferBlocks: number;
}

/** Thin: blocks can be unmapped (UNMAP, WRITE SAME with UNMAP). Thick: fully provisioned. */
export type Provisioning = "thin" | "thick";

/** What block I/O needs of a logical unit; EXTENDED COPY uses it for other units too. */
export interface BlockAccess {
  readonly device: BlockDevice;
  readonly geometry: BlockGeometry;
  /** Serializes overlapping writes (and reads against them) of this logical unit. */
  readonly rangeLock: RangeLock;
}

/** A logical unit as the copy manager of EXTENDED COPY sees it. */
export interface CopyTarget extends BlockAccess {
  readonly identity: LuIdentity;
}

/** What a logical unit sees of the SCSI target device it belongs to. */
export interface TargetContext {
  /** LUNs of the SCSI target device, for REPORT LUNS. */
  readonly lunInventory: readonly number[];
  /** The logical unit of the target device with this NAA id (32 hex digits), if any. */
  copyTargetByNaaId(naaId: string): CopyTarget | undefined;
}

export interface CommandContext extends BlockAccess {
  readonly task: ScsiTask;
  readonly nexusKey: string;
  readonly identity: LuIdentity;
  readonly provisioning: Provisioning;
  readonly modePages: ModePages;
  readonly unitAttentions: UnitAttentions;
  /** Persistent and SPC-2 reservations of the logical unit. */
  readonly reservations: LogicalUnitReservations;
  readonly target: TargetContext;
  /** Access states of the node's target port groups. */
  readonly alua: AluaState;
  /** EXTENDED COPY results this logical unit keeps for RECEIVE COPY RESULTS. */
  readonly copyResults: CopyResults;
}

export type CommandHandler = (ctx: CommandContext) => Promise<ScsiResult>;
