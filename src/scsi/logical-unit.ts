// A SCSI logical unit (SBC-3 direct-access block device) over a BlockDevice: unit attention
// handling, the CDB check and dispatch through the command table.

import assert from "node:assert/strict";
import type { BlockDevice } from "../device/block-device.ts";
import { checkCdbUsage } from "./cdb.ts";
import type { BlockGeometry, CommandContext, LuIdentity } from "./command-context.ts";
import { findCommand, unsupportedCommand } from "./command-table.ts";
import { type AdditionalSense, Asc, SenseKey } from "./constants.ts";
import { ModePages, type ModePagesSnapshot } from "./mode-pages.ts";
import { SenseError, checkCondition } from "./sense.ts";
import type { ItNexus, ScsiResult, ScsiTask } from "./types.ts";
import { UnitAttentions, type UnitAttentionSnapshot, nexusKeyOf } from "./unit-attention.ts";

/** Largest READ/WRITE the Block Limits page advertises, in bytes. */
const MAX_TRANSFER_BYTES = 8 * 1024 * 1024;
const OPTIMAL_TRANSFER_BYTES = 1024 * 1024;
/** Image files live on filesystems with 4 KiB pages: report that as the physical block. */
const PHYSICAL_BLOCK_BYTES = 4096;

export interface LogicalUnitOptions {
  lun: number;
  device: BlockDevice;
  identity: LuIdentity;
  /** Default of the Caching mode page WCE bit; without it every write is forced to the medium. */
  writeCacheEnabled?: boolean;
}

/** Everything a partner node needs to carry this logical unit on: plain JSON-able data. */
export interface LogicalUnitState {
  unitAttentions: UnitAttentionSnapshot;
  modePages: ModePagesSnapshot;
}

function checkIdentity(identity: LuIdentity): void {
  assert.match(identity.naaId, /^6[0-9a-fA-F]{31}$/, "naaId must be 32 hex digits starting with 6");
  const printable = /^[\x20-\x7e]*$/;
  for (const [field, max] of [["vendorId", 8], ["productId", 16], ["productRevision", 4]] as const) {
    assert.match(identity[field], printable, `${field} must be printable ASCII`);
    assert.ok(identity[field].length <= max, `${field} is longer than ${max} characters`);
  }
  assert.match(identity.serial, printable, "serial must be printable ASCII");
  assert.ok(identity.serial.length > 0 && identity.serial.length <= 251, "serial length");
}

function geometryOf(device: BlockDevice): BlockGeometry {
  const blockSize = device.blockSizeBytes;
  assert.ok(blockSize === 512 || blockSize === 4096, `unsupported block size ${blockSize}`);
  assert.ok(device.sizeBytes > 0 && device.sizeBytes % blockSize === 0, "device size in blocks");
  return {
    blockSize,
    blockCount: device.sizeBytes / blockSize,
    logicalPerPhysicalExponent: Math.log2(PHYSICAL_BLOCK_BYTES / blockSize),
    maxTransferBlocks: MAX_TRANSFER_BYTES / blockSize,
    optimalTransferBlocks: OPTIMAL_TRANSFER_BYTES / blockSize,
  };
}

export class LogicalUnit {
  readonly lun: number;
  readonly identity: LuIdentity;
  private readonly device: BlockDevice;
  private readonly geometry: BlockGeometry;
  private readonly modePages: ModePages;
  private readonly unitAttentions = new UnitAttentions();

  constructor(options: LogicalUnitOptions) {
    checkIdentity(options.identity);
    this.lun = options.lun;
    this.identity = { ...options.identity };
    this.device = options.device;
    this.geometry = geometryOf(options.device);
    this.modePages = new ModePages({ writeCacheEnabled: options.writeCacheEnabled ?? true });
  }

  /**
   * Runs one command. `lunInventory` is what REPORT LUNS lists (the target device passes all of
   * its LUNs). A device failure or bad CDB becomes CHECK CONDITION; anything else is a bug and
   * is thrown.
   */
  async execute(task: ScsiTask, lunInventory: readonly number[] = [this.lun]): Promise<ScsiResult> {
    assert.equal(task.lun, this.lun, "task routed to the wrong logical unit");
    const nexusKey = nexusKeyOf(task.nexus);
    this.unitAttentions.admit(nexusKey);
    const command = findCommand(task.cdb);
    if (!command?.unitAttentionExempt) {
      const unitAttention = this.unitAttentions.take(nexusKey);
      if (unitAttention) {
        return checkCondition({ key: SenseKey.UNIT_ATTENTION, additional: unitAttention });
      }
    }
    const ctx: CommandContext = {
      task,
      nexusKey,
      device: this.device,
      identity: this.identity,
      geometry: this.geometry,
      modePages: this.modePages,
      unitAttentions: this.unitAttentions,
      lunInventory,
    };
    try {
      if (!command) throw unsupportedCommand(task.cdb);
      checkCdbUsage(task.cdb, command.usage, command.serviceAction !== undefined);
      return await command.handler(ctx);
    } catch (error) {
      if (error instanceof SenseError) return checkCondition(error.sense);
      throw error;
    }
  }

  /** LOGICAL UNIT RESET: mode parameters back to defaults, every nexus told (SAM-5 6.3.3). */
  lunReset(): void {
    this.reset(Asc.BUS_DEVICE_RESET_FUNCTION_OCCURRED);
  }

  /** The logical unit's part of a target reset. */
  targetReset(): void {
    this.reset(Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED);
  }

  /** Queues a unit attention for all nexuses known to this logical unit, one, or all but one. */
  establishUnitAttention(
    condition: AdditionalSense,
    scope: { only?: ItNexus; except?: ItNexus } = {},
  ): void {
    this.unitAttentions.establish(condition, {
      only: scope.only && nexusKeyOf(scope.only),
      except: scope.except && nexusKeyOf(scope.except),
    });
  }

  /** The I_T nexus is gone: drop its state; if it comes back it starts with POWER ON again. */
  forgetNexus(nexus: ItNexus): void {
    this.unitAttentions.forget(nexusKeyOf(nexus));
  }

  snapshotState(): LogicalUnitState {
    return {
      unitAttentions: this.unitAttentions.snapshot(),
      modePages: this.modePages.snapshot(),
    };
  }

  restoreState(state: LogicalUnitState): void {
    this.unitAttentions.restore(state.unitAttentions);
    this.modePages.restore(state.modePages);
  }

  private reset(condition: AdditionalSense): void {
    this.modePages.reset();
    this.unitAttentions.establish(condition);
  }
}
