// The parameter list of a command that carries one in its Data-Out (UNMAP, EXTENDED COPY, SET
// TARGET PORT GROUPS): exactly the PARAMETER LIST LENGTH bytes the CDB announces.

import { Asc } from "./constants.ts";
import { dataOutOf } from "./data-transfer.ts";
import { illegalRequest } from "./sense.ts";
import type { ScsiTask } from "./types.ts";

/** The first `length` bytes of Data-Out; PARAMETER LIST LENGTH ERROR when fewer arrived. */
export function parameterListOf(task: ScsiTask, length: number): Buffer {
  const dataOut = dataOutOf(task);
  if (dataOut.length < length) throw illegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR);
  return dataOut.subarray(0, length);
}
