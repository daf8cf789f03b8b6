// REPORT TARGET PORT GROUPS (SPC-4 6.37), SET TARGET PORT GROUPS (SPC-4 6.45) and the commands
// each asymmetric access state refuses (SPC-4 5.15.2.4).

import assert from "node:assert/strict";
import type { TargetPortGroup } from "./alua-state.ts";
import type { CommandContext } from "./command-context.ts";
import type { CommandDescriptor } from "./command-table.ts";
import {
  AccessState,
  type AccessStateValue,
  type AdditionalSense,
  Asc,
  MaintenanceIn,
  MaintenanceOut,
  Opcode,
  ServiceActionIn16,
  SUPPORTED_ACCESS_STATES,
} from "./constants.ts";
import { allocationLimited, dataInResult, goodResult } from "./data-transfer.ts";
import { parameterListOf } from "./parameter-list.ts";
import { illegalRequest, invalidFieldInCdb, invalidFieldInParameterList } from "./sense.ts";
import type { ScsiResult } from "./types.ts";

/** PARAMETER DATA FORMAT of REPORT TARGET PORT GROUPS (CDB byte 1, bits 7-5). */
const ParameterDataFormat = { LENGTH_ONLY: 0b000, EXTENDED: 0b001 } as const;
const LENGTH_ONLY_HEADER_LENGTH = 4;
const EXTENDED_HEADER_LENGTH = 8;
const GROUP_DESCRIPTOR_HEADER_LENGTH = 8;
const PORT_DESCRIPTOR_LENGTH = 4;
const PREF = 0x80;
const SET_HEADER_LENGTH = 4;
const SET_DESCRIPTOR_LENGTH = 4;
/** States SET TARGET PORT GROUPS may ask for; transitioning is the device's own business. */
const SETTABLE_STATES: ReadonlySet<number> = new Set([
  AccessState.ACTIVE_OPTIMIZED,
  AccessState.ACTIVE_NON_OPTIMIZED,
  AccessState.STANDBY,
  AccessState.UNAVAILABLE,
]);

function groupDescriptor(group: TargetPortGroup): Buffer {
  const ports = group.relativePortIds;
  assert.ok(ports.length <= 0xff, "TARGET PORT COUNT is one byte");
  const out = Buffer.alloc(GROUP_DESCRIPTOR_HEADER_LENGTH + ports.length * PORT_DESCRIPTOR_LENGTH);
  out[0] = (group.preferred ? PREF : 0) | group.state;
  out[1] = SUPPORTED_ACCESS_STATES;
  out.writeUInt16BE(group.id, 2);
  out[7] = ports.length;
  ports.forEach((port, index) => {
    out.writeUInt16BE(port, GROUP_DESCRIPTOR_HEADER_LENGTH + index * PORT_DESCRIPTOR_LENGTH + 2);
  });
  return out;
}

export async function reportTargetPortGroups(ctx: CommandContext): Promise<ScsiResult> {
  const { cdb } = ctx.task;
  const format = cdb[1] >> 5;
  if (format !== ParameterDataFormat.LENGTH_ONLY && format !== ParameterDataFormat.EXTENDED) {
    throw invalidFieldInCdb(1, 7);
  }
  const body = Buffer.concat(ctx.alua.groups.map(groupDescriptor));
  const extended = format === ParameterDataFormat.EXTENDED;
  const header = Buffer.alloc(extended ? EXTENDED_HEADER_LENGTH : LENGTH_ONLY_HEADER_LENGTH);
  header.writeUInt32BE(header.length - 4 + body.length, 0);
  // FORMAT TYPE; IMPLICIT TRANSITION TIME stays 0 ("not specified").
  if (extended) header[4] = ParameterDataFormat.EXTENDED << 4;
  const data = Buffer.concat([header, body]);
  return dataInResult(ctx.task, allocationLimited(data, cdb.readUInt32BE(6)));
}

/** All descriptors are checked before any state changes: the command applies all or nothing. */
export async function setTargetPortGroups(ctx: CommandContext): Promise<ScsiResult> {
  const { task, alua } = ctx;
  const length = task.cdb.readUInt32BE(6);
  if (length === 0) return goodResult(task);
  if (length < SET_HEADER_LENGTH || (length - SET_HEADER_LENGTH) % SET_DESCRIPTOR_LENGTH !== 0) {
    throw illegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR);
  }
  const list = parameterListOf(task, length);
  const requests: Array<{ groupId: number; state: AccessStateValue }> = [];
  for (let at = SET_HEADER_LENGTH; at < length; at += SET_DESCRIPTOR_LENGTH) {
    const state = list[at] & 0x0f;
    const groupId = list.readUInt16BE(at + 2);
    if (!SETTABLE_STATES.has(state)) throw invalidFieldInParameterList(at, 3);
    if (!alua.hasGroup(groupId)) throw invalidFieldInParameterList(at + 2);
    if (requests.some((request) => request.groupId === groupId)) {
      throw invalidFieldInParameterList(at + 2);
    }
    requests.push({ groupId, state: state as AccessStateValue });
  }
  for (const { groupId, state } of requests) alua.setGroupState(groupId, state, task.nexus);
  return goodResult(task, length);
}

function isMaintenanceIn(command: CommandDescriptor): boolean {
  return command.opcode === Opcode.MAINTENANCE_IN &&
    (command.serviceAction === MaintenanceIn.REPORT_TARGET_PORT_GROUPS ||
      command.serviceAction === MaintenanceIn.REPORT_SUPPORTED_OPERATION_CODES);
}

function isSetTargetPortGroups(command: CommandDescriptor): boolean {
  return command.opcode === Opcode.MAINTENANCE_OUT &&
    command.serviceAction === MaintenanceOut.SET_TARGET_PORT_GROUPS;
}

/** What a port in standby still serves: configuration, reservations, capacity (as Linux asks). */
function servedInStandby(command: CommandDescriptor): boolean {
  switch (command.opcode) {
    case Opcode.MODE_SENSE_6:
    case Opcode.MODE_SENSE_10:
    case Opcode.MODE_SELECT_6:
    case Opcode.MODE_SELECT_10:
    case Opcode.PERSISTENT_RESERVE_IN:
    case Opcode.PERSISTENT_RESERVE_OUT:
    case Opcode.READ_CAPACITY_10:
      return true;
    case Opcode.SERVICE_ACTION_IN_16:
      return command.serviceAction === ServiceActionIn16.READ_CAPACITY_16;
    default:
      return isSetTargetPortGroups(command);
  }
}

/**
 * The NOT READY additional sense for a command the access state of its port refuses, or
 * undefined when the command may run. INQUIRY, REPORT LUNS and REQUEST SENSE always run.
 */
export function accessStateRefusal(
  state: AccessStateValue,
  command: CommandDescriptor,
): AdditionalSense | undefined {
  if (command.unitAttentionExempt || isMaintenanceIn(command)) return undefined;
  switch (state) {
    case AccessState.ACTIVE_OPTIMIZED:
    case AccessState.ACTIVE_NON_OPTIMIZED:
      return undefined;
    case AccessState.STANDBY:
      return servedInStandby(command) ? undefined : Asc.TARGET_PORT_IN_STANDBY_STATE;
    case AccessState.UNAVAILABLE:
      return isSetTargetPortGroups(command) ? undefined : Asc.TARGET_PORT_IN_UNAVAILABLE_STATE;
    case AccessState.TRANSITIONING:
      return Asc.ASYMMETRIC_ACCESS_STATE_TRANSITION;
  }
}
