// The SCSI target device behind one iSCSI target: routes tasks to logical units and answers
// INQUIRY, REPORT LUNS and REQUEST SENSE for LUNs it does not have (SPC-4, SAM-5).

import assert from "node:assert/strict";
import { checkCdbUsage } from "./cdb.ts";
import type { TargetContext } from "./command-context.ts";
import { findCommand } from "./command-table.ts";
import { Asc, Opcode, SenseKey } from "./constants.ts";
import { absentLunInquiry } from "./inquiry.ts";
import type { LogicalUnit } from "./logical-unit.ts";
import { reportLuns } from "./report-luns.ts";
import { senseDataResult } from "./request-sense.ts";
import type { TaskAborter } from "./reservations/logical-unit-reservations.ts";
import { SenseError, checkCondition, illegalRequest } from "./sense.ts";
import type { ItNexus, ScsiResult, ScsiTask } from "./types.ts";

export class ScsiTargetDevice {
  private readonly unitsByLun: ReadonlyMap<number, LogicalUnit>;
  private readonly lunInventory: readonly number[];
  private readonly context: TargetContext;

  constructor(luns: readonly LogicalUnit[]) {
    this.unitsByLun = new Map(luns.map((unit) => [unit.lun, unit]));
    assert.equal(this.unitsByLun.size, luns.length, "duplicate LUN");
    this.lunInventory = [...this.unitsByLun.keys()].sort((a, b) => a - b);
    this.context = {
      lunInventory: this.lunInventory,
      copyTargetByNaaId: (naaId) => luns.find((unit) => unit.hasNaaId(naaId))?.copyTarget(),
    };
  }

  hasLun(lun: number): boolean {
    return this.unitsByLun.has(lun);
  }

  async execute(task: ScsiTask): Promise<ScsiResult> {
    const unit = this.unitsByLun.get(task.lun);
    if (unit) return unit.execute(task, this.context);
    try {
      return this.executeForAbsentLun(task);
    } catch (error) {
      if (error instanceof SenseError) return checkCondition(error.sense);
      throw error;
    }
  }

  /** LOGICAL UNIT RESET task management function; an unknown LUN is the caller's to reject. */
  lunReset(lun: number): void {
    this.unitsByLun.get(lun)?.lunReset();
  }

  /** TARGET WARM/COLD RESET: every logical unit is reset. */
  targetReset(): void {
    for (const unit of this.unitsByLun.values()) unit.targetReset();
  }

  /** The transport's way to abort the tasks a PREEMPT AND ABORT preempts, on every unit. */
  setTaskAborter(aborter: TaskAborter): void {
    for (const unit of this.unitsByLun.values()) unit.setTaskAborter(aborter);
  }

  /** The session of this I_T nexus ended; logical units drop what they kept for it. */
  nexusLost(nexus: ItNexus): void {
    for (const unit of this.unitsByLun.values()) unit.forgetNexus(nexus);
  }

  private executeForAbsentLun(task: ScsiTask): ScsiResult {
    const command = findCommand(task.cdb);
    if (!command?.unitAttentionExempt) throw illegalRequest(Asc.LOGICAL_UNIT_NOT_SUPPORTED);
    checkCdbUsage(task.cdb, command.usage, command.serviceAction !== undefined);
    switch (command.opcode) {
      case Opcode.INQUIRY:
        return absentLunInquiry(task);
      case Opcode.REPORT_LUNS:
        return reportLuns(task, this.lunInventory);
      default:
        return senseDataResult(task, {
          key: SenseKey.ILLEGAL_REQUEST,
          additional: Asc.LOGICAL_UNIT_NOT_SUPPORTED,
        });
    }
  }
}
