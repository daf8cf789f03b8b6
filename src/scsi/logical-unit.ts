// A SCSI logical unit (SBC-3 direct-access block device) over a BlockDevice: unit attention
// handling, the CDB check and dispatch through the command table.

import assert from "node:assert/strict";
import type { BlockDevice } from "../device/block-device.ts";
import { AluaState } from "./alua-state.ts";
import { checkCdbUsage } from "./cdb.ts";
import type {
  BlockGeometry,
  CommandContext,
  CopyTarget,
  LuIdentity,
  Provisioning,
  TargetContext,
} from "./command-context.ts";
import { findCommand, reservationAccessOf, unsupportedCommand } from "./command-table.ts";
import { type AdditionalSense, Asc, SenseKey } from "./constants.ts";
import { CopyResults } from "./copy-results.ts";
import { ModePages, type ModePagesSnapshot } from "./mode-pages.ts";
import { RangeLock } from "./range-lock.ts";
import { reservationConflict } from "./reservations/commands.ts";
import {
  LogicalUnitReservations,
  type TaskAborter,
} from "./reservations/logical-unit-reservations.ts";
import { type ReservationState, nexusIdOf } from "./reservations/state.ts";
import { accessStateRefusal } from "./target-port-groups.ts";
import { SenseError, checkCondition } from "./sense.ts";
import type { ItNexus, ScsiResult, ScsiTask } from "./types.ts";
import { UnitAttentions, type UnitAttentionSnapshot, nexusKeyOf } from "./unit-attention.ts";

/** Largest READ/WRITE the Block Limits page advertises, in bytes. */
const MAX_TRANSFER_BYTES = 8 * 1024 * 1024;
const OPTIMAL_TRANSFER_BYTES = 1024 * 1024;
/**
 * Image files live on filesystems with 4 KiB pages: I/O aligned to 4 KiB is the fast kind, so the
 * Block Limits page asks for that granularity. The physical block is still reported as one
 * logical block (exponent 0): GET LBA STATUS then answers at logical-block granularity, which is
 * what initiators (and libiscsi's GetLBAStatus tests) expect of a 512-byte LUN.
 */
const PREFERRED_ALIGNMENT_BYTES = 4096;

export interface LogicalUnitOptions {
  lun: number;
  device: BlockDevice;
  identity: LuIdentity;
  /** Default of the Caching mode page WCE bit; without it every write is forced to the medium. */
  writeCacheEnabled?: boolean;
  /** "thick" (fully provisioned) unless set. */
  provisioning?: Provisioning;
  /** The node's ALUA state, shared by all its logical units; a standalone one if absent. */
  alua?: AluaState;
  /** The APTPL file of this unit's persistent reservations; without it APTPL is unsupported. */
  persistentReservationsPath?: string;
}

/** Everything a partner node needs to carry this logical unit on: plain JSON-able data. */
export interface LogicalUnitState {
  unitAttentions: UnitAttentionSnapshot;
  modePages: ModePagesSnapshot;
  reservations: ReservationState;
}

function checkIdentity(identity: LuIdentity): void {
  assert.match(identity.naaId, /^6[0-9a-fA-F]{31}$/, "naaId: 32 hex digits starting with 6");
  const printable = /^[\x20-\x7e]*$/;
  const fieldLengths = [["vendorId", 8], ["productId", 16], ["productRevision", 4]] as const;
  for (const [field, max] of fieldLengths) {
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
    logicalPerPhysicalExponent: 0,
    preferredAlignmentBlocks: PREFERRED_ALIGNMENT_BYTES / blockSize,
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
  private readonly rangeLock = new RangeLock();
  private readonly provisioning: Provisioning;
  private readonly alua: AluaState;
  private readonly copyResults = new CopyResults();
  private readonly reservations: LogicalUnitReservations;
  /** REPORT LUNS and EXTENDED COPY see only this unit when no target device passes its own. */
  private readonly standaloneTarget: TargetContext;

  constructor(options: LogicalUnitOptions) {
    checkIdentity(options.identity);
    this.lun = options.lun;
    this.identity = { ...options.identity };
    this.device = options.device;
    this.geometry = geometryOf(options.device);
    this.modePages = new ModePages({ writeCacheEnabled: options.writeCacheEnabled ?? true });
    this.provisioning = options.provisioning ?? "thick";
    this.alua = options.alua ?? new AluaState();
    this.reservations = new LogicalUnitReservations({
      lun: this.lun,
      unitAttentions: this.unitAttentions,
      aptplPath: options.persistentReservationsPath,
    });
    // SPC-4 5.15.2.2: every I_T nexus but the one whose SET TARGET PORT GROUPS caused it.
    this.alua.onChange(({ origin }) => this.establishUnitAttention(
      Asc.ASYMMETRIC_ACCESS_STATE_CHANGED, { except: origin },
    ));
    this.standaloneTarget = {
      lunInventory: [this.lun],
      copyTargetByNaaId: (naaId) => this.hasNaaId(naaId) ? this.copyTarget() : undefined,
    };
  }

  hasNaaId(naaId: string): boolean {
    return this.identity.naaId.toLowerCase() === naaId.toLowerCase();
  }

  /** This unit's blocks for the copy manager of an EXTENDED COPY on a unit of its target. */
  copyTarget(): CopyTarget {
    const { identity, device, geometry, rangeLock } = this;
    return { identity, device, geometry, rangeLock };
  }

  /**
   * Runs one command. `target` is the SCSI target device around the unit (its LUNs for REPORT
   * LUNS, its units for EXTENDED COPY). A device failure or bad CDB becomes CHECK CONDITION;
   * anything else is a bug and is thrown.
   */
  async execute(task: ScsiTask, target: TargetContext = this.standaloneTarget):
    Promise<ScsiResult> {
    assert.equal(task.lun, this.lun, "task routed to the wrong logical unit");
    const nexusKey = nexusKeyOf(task.nexus);
    this.unitAttentions.admit(nexusKey);
    this.alua.portSeen(task.nexus);
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
      rangeLock: this.rangeLock,
      provisioning: this.provisioning,
      modePages: this.modePages,
      unitAttentions: this.unitAttentions,
      target,
      alua: this.alua,
      copyResults: this.copyResults,
      reservations: this.reservations,
    };
    try {
      if (!command) throw unsupportedCommand(task.cdb);
      const refusal = accessStateRefusal(this.alua.stateOf(task.nexus.targetPortGroupId), command);
      if (refusal) throw new SenseError({ key: SenseKey.NOT_READY, additional: refusal });
      checkCdbUsage(task.cdb, command.usage, command.serviceAction !== undefined);
      if (this.reservations.conflicts(task.nexus, reservationAccessOf(command, task.cdb))) {
        return reservationConflict();
      }
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

  /**
   * The I_T nexus is gone: drop its state (and its SPC-2 reservation; persistent reservations
   * stay); if it comes back it starts with POWER ON again.
   */
  forgetNexus(nexus: ItNexus): void {
    this.reservations.store.nexusLost(nexusIdOf(nexus));
    this.unitAttentions.forget(nexusKeyOf(nexus));
    this.copyResults.forget(nexusKeyOf(nexus));
  }

  snapshotState(): LogicalUnitState {
    return {
      unitAttentions: this.unitAttentions.snapshot(),
      modePages: this.modePages.snapshot(),
      reservations: this.reservations.snapshot(),
    };
  }

  restoreState(state: LogicalUnitState): void {
    this.unitAttentions.restore(state.unitAttentions);
    this.modePages.restore(state.modePages);
    this.reservations.restore(state.reservations);
  }

  /** How PREEMPT AND ABORT has the transport abort the preempted I_T nexuses' tasks. */
  setTaskAborter(aborter: TaskAborter): void {
    this.reservations.setTaskAborter(aborter);
  }

  /** Resets release SPC-2 reservations; persistent reservations stay (SPC-4 5.13.1). */
  private reset(condition: AdditionalSense): void {
    this.modePages.reset();
    this.reservations.store.reset();
    this.unitAttentions.establish(condition);
  }
}
