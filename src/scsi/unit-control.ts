// TEST UNIT READY (SPC-4 6.47), START STOP UNIT (SBC-3 5.25), PREVENT ALLOW MEDIUM REMOVAL
// (SBC-3 5.14). The medium is fixed and always ready; these commands never change that.

import { flushDevice } from "./block-access.ts";
import type { CommandContext } from "./command-context.ts";
import { POWER_CONDITION_START_VALID } from "./constants.ts";
import { goodResult } from "./data-transfer.ts";
import type { ScsiResult } from "./types.ts";

const NO_FLUSH = 0x04;
const START = 0x01;

export async function testUnitReady(ctx: CommandContext): Promise<ScsiResult> {
  return goodResult(ctx.task);
}

/** A stop request makes cached data durable (unless NO_FLUSH); the unit stays ready. */
export async function startStopUnit(ctx: CommandContext): Promise<ScsiResult> {
  const control = ctx.task.cdb[4];
  const stop = control >> 4 === POWER_CONDITION_START_VALID && !(control & START);
  if (stop && !(control & NO_FLUSH)) await flushDevice(ctx);
  return goodResult(ctx.task);
}

/** Nothing can be removed. PREVENT 0 and 1 pass; the obsolete 2 and 3 fail the CDB check. */
export async function preventAllowMediumRemoval(ctx: CommandContext): Promise<ScsiResult> {
  return goodResult(ctx.task);
}
