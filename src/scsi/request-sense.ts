// REQUEST SENSE (SPC-4 6.39): reports, and thereby clears, the oldest unit attention.

import type { CommandContext } from "./command-context.ts";
import { Asc, SenseKey } from "./constants.ts";
import { allocationLimited, dataInResult } from "./data-transfer.ts";
import { type SenseInfo, encodeDescriptorSense, encodeFixedSense } from "./sense.ts";
import type { ScsiResult, ScsiTask } from "./types.ts";

const DESC = 0x01;

/** Sense data as REQUEST SENSE parameter data, in the format the DESC bit asks for. */
export function senseDataResult(task: ScsiTask, sense: SenseInfo): ScsiResult {
  const { cdb } = task;
  const data = cdb[1] & DESC ? encodeDescriptorSense(sense) : encodeFixedSense(sense);
  return dataInResult(task, allocationLimited(data, cdb[4]));
}

export async function requestSense(ctx: CommandContext): Promise<ScsiResult> {
  const unitAttention = ctx.unitAttentions.take(ctx.nexusKey);
  const sense: SenseInfo = unitAttention
    ? { key: SenseKey.UNIT_ATTENTION, additional: unitAttention }
    : { key: SenseKey.NO_SENSE, additional: Asc.NO_ADDITIONAL_SENSE_INFORMATION };
  return senseDataResult(ctx.task, sense);
}
