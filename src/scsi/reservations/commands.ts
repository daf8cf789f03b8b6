// PERSISTENT RESERVE IN (SPC-4 6.16), PERSISTENT RESERVE OUT (SPC-4 6.17), and the SPC-2
// RESERVE (6/10) and RELEASE (6/10) with the SPC-4 5.13.3 rules for their coexistence.

import type { CommandContext } from "../command-context.ts";
import { PersistentReserveInAction, STATUS_RESERVATION_CONFLICT } from "../constants.ts";
import { allocationLimited, dataInResult, goodResult } from "../data-transfer.ts";
import type { ScsiResult } from "../types.ts";
import {
  readFullStatusData,
  readKeysData,
  readReservationData,
  reportCapabilitiesData,
} from "./pr-in-data.ts";
import { decodePrOutRequest } from "./pr-out-request.ts";
import { ReservationConflictError } from "./reservation-store.ts";
import { nexusIdOf } from "./state.ts";

export function reservationConflict(): ScsiResult {
  return { status: STATUS_RESERVATION_CONFLICT };
}

/** RESERVATION CONFLICT for a ReservationConflictError `run` throws. */
async function conflictAware(run: () => Promise<ScsiResult>): Promise<ScsiResult> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ReservationConflictError) return reservationConflict();
    throw error;
  }
}

export async function persistentReserveIn(ctx: CommandContext): Promise<ScsiResult> {
  const { task, reservations } = ctx;
  // SPC-4 5.13.3: an SPC-2 reservation makes every PERSISTENT RESERVE command conflict.
  if (reservations.store.hasSpc2Reservation()) return reservationConflict();
  const state = reservations.snapshot();
  let data: Buffer;
  switch (task.cdb[1] & 0x1f) {
    case PersistentReserveInAction.READ_KEYS:
      data = readKeysData(state);
      break;
    case PersistentReserveInAction.READ_RESERVATION:
      data = readReservationData(state);
      break;
    case PersistentReserveInAction.REPORT_CAPABILITIES:
      data = reportCapabilitiesData(state, reservations.persistenceCapable);
      break;
    case PersistentReserveInAction.READ_FULL_STATUS:
      data = readFullStatusData(state);
      break;
    default:
      throw new Error(`PERSISTENT RESERVE IN service action ${task.cdb[1]} not routed`);
  }
  return dataInResult(task, allocationLimited(data, task.cdb.readUInt16BE(7)));
}

export async function persistentReserveOut(ctx: CommandContext): Promise<ScsiResult> {
  const { task, reservations } = ctx;
  if (reservations.store.hasSpc2Reservation()) return reservationConflict();
  const request = decodePrOutRequest(task);
  return conflictAware(async () => {
    await reservations.persistentReserveOut(task, request);
    return goodResult(task, task.cdb.readUInt32BE(5));
  });
}

/** RESERVE (6) and RESERVE (10); third-party reservations are not supported. */
export async function reserve(ctx: CommandContext): Promise<ScsiResult> {
  return conflictAware(async () => {
    ctx.reservations.store.reserve(nexusIdOf(ctx.task.nexus));
    return goodResult(ctx.task);
  });
}

/** RELEASE (6) and RELEASE (10): from an I_T nexus not holding the reservation, a no-op. */
export async function release(ctx: CommandContext): Promise<ScsiResult> {
  return conflictAware(async () => {
    ctx.reservations.store.release(nexusIdOf(ctx.task.nexus));
    return goodResult(ctx.task);
  });
}
