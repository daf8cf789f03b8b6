// Residual accounting (RFC 7143 11.4.5, SPC-4 4.2.5.6): what the command intends to move versus
// the initiator's Expected Data Transfer Length, in both directions.

import assert from "node:assert/strict";
import { STATUS_GOOD } from "./constants.ts";
import type { ScsiResult, ScsiTask } from "./types.ts";

type Residual = Pick<ScsiResult, "residualOverflow" | "residualUnderflow" | "residualCount">;

/** Overflow when the command wanted more than EDTL, underflow when less. */
export function residualOf(intendedBytes: number, task: ScsiTask): Residual {
  const expected = task.expectedDataTransferLength;
  if (intendedBytes > expected) {
    return { residualOverflow: true, residualCount: intendedBytes - expected };
  }
  if (intendedBytes < expected) {
    return { residualUnderflow: true, residualCount: expected - intendedBytes };
  }
  return {};
}

/** How many Data-In bytes the initiator can take. */
export function dataInCapacity(task: ScsiTask): number {
  return task.read ? task.expectedDataTransferLength : 0;
}

/** The Data-Out bytes that arrived (empty unless the task carries a write). */
export function dataOutOf(task: ScsiTask): Buffer {
  if (!task.write) return Buffer.alloc(0);
  assert.equal(task.dataOut.length, task.expectedDataTransferLength, "Data-Out length != EDTL");
  return task.dataOut;
}

/** GOOD with the residual of a command that intended to move intendedBytes. */
export function goodResult(task: ScsiTask, intendedBytes = 0): ScsiResult {
  return { status: STATUS_GOOD, ...residualOf(intendedBytes, task) };
}

/** GOOD carrying Data-In: `data` is all the command intends to send; a view is cut to EDTL. */
export function dataInResult(task: ScsiTask, data: Buffer): ScsiResult {
  const capacity = dataInCapacity(task);
  const dataIn = data.length > capacity ? data.subarray(0, capacity) : data;
  return { status: STATUS_GOOD, dataIn, ...residualOf(data.length, task) };
}

/** Parameter data cut to the CDB's ALLOCATION LENGTH (never an error, SPC-4 4.2.5.6). */
export function allocationLimited(data: Buffer, allocationLength: number): Buffer {
  return data.length > allocationLength ? data.subarray(0, allocationLength) : data;
}
