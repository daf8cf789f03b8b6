// SYNCHRONIZE CACHE (10/16) and PRE-FETCH (10/16), SBC-3 5.18-5.19 and 5.22-5.23.

import { addressedRange, flushDevice } from "./block-access.ts";
import type { CommandContext } from "./command-context.ts";
import { goodResult } from "./data-transfer.ts";
import type { ScsiResult } from "./types.ts";

/** The device flushes everything; the range is only validated. With IMMED we still wait. */
export async function synchronizeCache(ctx: CommandContext): Promise<ScsiResult> {
  addressedRange(ctx, { zeroMeansToEnd: true, limited: false });
  await flushDevice(ctx);
  return goodResult(ctx.task);
}

/** No cache to warm: GOOD (not CONDITION MET) once the range is valid. */
export async function preFetch(ctx: CommandContext): Promise<ScsiResult> {
  addressedRange(ctx, { limited: true });
  return goodResult(ctx.task);
}
