// REPORT LUNS (SPC-4 6.33) and the LUN encoding of SAM-5 4.7.

import assert from "node:assert/strict";
import { SelectReport } from "./constants.ts";
import { allocationLimited, dataInResult } from "./data-transfer.ts";
import { invalidFieldInCdb } from "./sense.ts";
import type { ScsiResult, ScsiTask } from "./types.ts";

const MIN_ALLOCATION_LENGTH = 16;
const LUN_LIST_HEADER_LENGTH = 8;
const LUN_ENTRY_LENGTH = 8;
const MAX_PERIPHERAL_LUN = 0xff;
const MAX_FLAT_SPACE_LUN = 0x3fff;
const FLAT_SPACE_ADDRESSING = 0x40;

/** Peripheral device addressing below 256, flat space addressing up to 16383. */
export function encodeLun(lun: number): Buffer {
  assert.ok(Number.isInteger(lun) && lun >= 0 && lun <= MAX_FLAT_SPACE_LUN, `bad LUN ${lun}`);
  const entry = Buffer.alloc(LUN_ENTRY_LENGTH);
  if (lun <= MAX_PERIPHERAL_LUN) {
    entry[1] = lun;
  } else {
    entry[0] = FLAT_SPACE_ADDRESSING | (lun >> 8);
    entry[1] = lun & 0xff;
  }
  return entry;
}

export function reportLuns(task: ScsiTask, lunInventory: readonly number[]): ScsiResult {
  const { cdb } = task;
  const allocationLength = cdb.readUInt32BE(6);
  if (allocationLength < MIN_ALLOCATION_LENGTH) throw invalidFieldInCdb(6);
  let luns: readonly number[];
  switch (cdb[2]) {
    case SelectReport.ALL_LOGICAL_UNITS_EXCEPT_WELL_KNOWN:
    case SelectReport.ALL_LOGICAL_UNITS:
      luns = [...lunInventory].sort((a, b) => a - b);
      break;
    case SelectReport.WELL_KNOWN_LOGICAL_UNITS_ONLY:
      luns = []; // this target has no well-known logical units
      break;
    default:
      throw invalidFieldInCdb(2);
  }
  const header = Buffer.alloc(LUN_LIST_HEADER_LENGTH);
  header.writeUInt32BE(luns.length * LUN_ENTRY_LENGTH, 0);
  const data = Buffer.concat([header, ...luns.map(encodeLun)]);
  return dataInResult(task, allocationLimited(data, allocationLength));
}
