// The reservations of one logical unit as its commands use them: the conflict check, and the
// effects of a PERSISTENT RESERVE OUT beyond the state itself (unit attentions, aborted tasks,
// the APTPL file).

import { Asc, PersistentReserveOutAction, SenseKey } from "../constants.ts";
import { SenseError, invalidFieldInParameterList } from "../sense.ts";
import type { ItNexus, ScsiTask } from "../types.ts";
import { type UnitAttentions, nexusKeyOf } from "../unit-attention.ts";
import { type ReservationAccessClass, isReservationConflict } from "./access.ts";
import { AptplFile } from "./aptpl-file.ts";
import type { PrOutRequest } from "./pr-out-request.ts";
import {
  LogicalUnitReservationStore,
  type PrOutOutcome,
  type Registrant,
  type ReservationStore,
} from "./reservation-store.ts";
import { type ReservationState, nexusIdOf } from "./state.ts";

/**
 * PREEMPT AND ABORT (SPC-4 5.13.11.2.5) asks the transport to abort, as ABORT TASK SET would,
 * every task on `lun` of each I_T nexus for which `isPreempted` holds, except `preemptingTask`
 * (still running: it completes once the aborter resolves). The aborter resolves when the
 * aborted tasks have left the SCSI layer.
 */
export interface TaskAbortRequest {
  lun: number;
  isPreempted(nexus: ItNexus): boolean;
  preemptingTask: ScsiTask;
}

export type TaskAborter = (request: TaskAbortRequest) => Promise<void>;

export interface LogicalUnitReservationsOptions {
  lun: number;
  unitAttentions: UnitAttentions;
  /** Where the APTPL state lives; without it APTPL is not supported (PTPL_C zero). */
  aptplPath?: string;
}

const APTPL_BYTE = 20;
const MOVE_APTPL_BYTE = 17;

function coversNexus(registrant: Registrant, nexus: ItNexus): boolean {
  return registrant.initiatorPortName === nexus.initiatorPortName &&
    (registrant.targetPortName === null || registrant.targetPortName === nexus.targetPortName);
}

export class LogicalUnitReservations {
  readonly store: ReservationStore = new LogicalUnitReservationStore();
  private readonly lun: number;
  private readonly unitAttentions: UnitAttentions;
  private readonly aptplFile: AptplFile | undefined;
  private taskAborter: TaskAborter | undefined;

  constructor(options: LogicalUnitReservationsOptions) {
    this.lun = options.lun;
    this.unitAttentions = options.unitAttentions;
    this.aptplFile = options.aptplPath === undefined ? undefined : new AptplFile(options.aptplPath);
    const persisted = this.aptplFile?.load();
    if (persisted) this.store.restore(persisted);
  }

  /** PTPL_C: the APTPL bit can be set. */
  get persistenceCapable(): boolean {
    return this.aptplFile !== undefined;
  }

  conflicts(nexus: ItNexus, access: ReservationAccessClass): boolean {
    return isReservationConflict(access, this.store.standingOf(nexusIdOf(nexus)));
  }

  setTaskAborter(aborter: TaskAborter): void {
    this.taskAborter = aborter;
  }

  /** Applies the request, tells the other I_T nexuses, aborts tasks, saves the APTPL state. */
  async persistentReserveOut(task: ScsiTask, request: PrOutRequest): Promise<void> {
    if (request.persistThroughPowerLoss && !this.persistenceCapable) {
      const move = request.serviceAction === PersistentReserveOutAction.REGISTER_AND_MOVE;
      throw invalidFieldInParameterList(move ? MOVE_APTPL_BYTE : APTPL_BYTE, 0);
    }
    const outcome = this.store.persistentReserveOut(task.nexus, request);
    this.establishUnitAttentions(outcome, task.nexus);
    if (outcome.abortTasksOf.length > 0 && this.taskAborter) {
      await this.taskAborter({
        lun: this.lun,
        isPreempted: (nexus) => outcome.abortTasksOf.some((r) => coversNexus(r, nexus)),
        preemptingTask: task,
      });
    }
    await this.saveAptplState();
  }

  snapshot(): ReservationState {
    return this.store.snapshot();
  }

  /** Restores a partner's state in memory; this node's APTPL file is left as it is. */
  restore(state: ReservationState): void {
    this.store.restore(state);
  }

  private async saveAptplState(): Promise<void> {
    if (!this.aptplFile) return;
    try {
      await this.aptplFile.update(this.store.snapshot());
    } catch {
      throw new SenseError({
        key: SenseKey.HARDWARE_ERROR,
        additional: Asc.INTERNAL_TARGET_FAILURE,
      });
    }
  }

  /** Unit attentions go to the I_T nexuses this logical unit knows, never to the sender. */
  private establishUnitAttentions(outcome: PrOutOutcome, sender: ItNexus): void {
    if (outcome.unitAttentions.length === 0) return;
    const senderKey = nexusKeyOf(sender);
    const known = this.unitAttentions.snapshot().pending.map(({ nexus }) => nexus);
    for (const { condition, registrants } of outcome.unitAttentions) {
      for (const nexusKey of known) {
        if (nexusKey === senderKey) continue;
        if (!registrants.some((registrant) => keyIsOf(nexusKey, registrant))) continue;
        this.unitAttentions.establish(condition, { only: nexusKey });
      }
    }
  }
}

/** Whether a nexus key (see nexusKeyOf: "<initiator port>|<target port>") is a registrant's. */
function keyIsOf(nexusKey: string, registrant: Registrant): boolean {
  const prefix = `${registrant.initiatorPortName}|`;
  if (!nexusKey.startsWith(prefix)) return false;
  return registrant.targetPortName === null || nexusKey.slice(prefix.length) ===
    registrant.targetPortName;
}
