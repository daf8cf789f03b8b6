// REPORT SUPPORTED OPERATION CODES (SPC-4 6.35), answered from the command table.

import type { CommandDescriptor } from "./command-table.ts";
import {
  COMMAND_TIMEOUTS_DESCRIPTOR_LENGTH,
  CommandSupport,
  ReportingOptions,
} from "./constants.ts";
import { allocationLimited, dataInResult } from "./data-transfer.ts";
import { invalidFieldInCdb } from "./sense.ts";
import type { ScsiResult, ScsiTask } from "./types.ts";

const RCTD = 0x80;
const REPORTING_OPTIONS_MASK = 0x07;
const COMMAND_DESCRIPTOR_LENGTH = 8;
const CTDP_ALL_COMMANDS = 0x02;
const SERVACTV = 0x01;
const CTDP_ONE_COMMAND = 0x80;

/** Command timeouts descriptor; both timeouts 0: "not specified". */
function timeoutsDescriptor(): Buffer {
  const descriptor = Buffer.alloc(COMMAND_TIMEOUTS_DESCRIPTOR_LENGTH + 2);
  descriptor.writeUInt16BE(COMMAND_TIMEOUTS_DESCRIPTOR_LENGTH, 0);
  return descriptor;
}

function commandDescriptor(command: CommandDescriptor, withTimeouts: boolean): Buffer {
  const descriptor = Buffer.alloc(COMMAND_DESCRIPTOR_LENGTH);
  descriptor[0] = command.opcode;
  descriptor.writeUInt16BE(command.serviceAction ?? 0, 2);
  descriptor[5] = (withTimeouts ? CTDP_ALL_COMMANDS : 0) |
    (command.serviceAction !== undefined ? SERVACTV : 0);
  descriptor.writeUInt16BE(command.usage.length, 6);
  return withTimeouts ? Buffer.concat([descriptor, timeoutsDescriptor()]) : descriptor;
}

function allCommands(commands: readonly CommandDescriptor[], withTimeouts: boolean): Buffer {
  const body = Buffer.concat(commands.map((command) => commandDescriptor(command, withTimeouts)));
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

function oneCommand(command: CommandDescriptor | undefined, withTimeouts: boolean): Buffer {
  const header = Buffer.alloc(4);
  if (!command) {
    header[1] = CommandSupport.NOT_SUPPORTED;
    return header;
  }
  header[1] = (withTimeouts ? CTDP_ONE_COMMAND : 0) | CommandSupport.SUPPORTED_AS_STANDARD;
  header.writeUInt16BE(command.usage.length, 2);
  const parts: Buffer[] = [header, Buffer.from(command.usage)];
  if (withTimeouts) parts.push(timeoutsDescriptor());
  return Buffer.concat(parts);
}

/** The one command a single-command request names; undefined when it is not supported. */
function requestedCommand(
  commands: readonly CommandDescriptor[],
  cdb: Buffer,
  options: number,
): CommandDescriptor | undefined {
  const opcode = cdb[3];
  const serviceAction = cdb.readUInt16BE(4);
  const forOpcode = commands.filter((command) => command.opcode === opcode);
  const hasServiceActions = forOpcode.some((command) => command.serviceAction !== undefined);
  if (options === ReportingOptions.ONE_COMMAND_OPCODE && hasServiceActions) {
    throw invalidFieldInCdb(2);
  }
  if (options === ReportingOptions.ONE_COMMAND_OPCODE_AND_SERVICE_ACTION && forOpcode.length > 0 &&
    !hasServiceActions) {
    throw invalidFieldInCdb(2);
  }
  return forOpcode.find((command) =>
    !hasServiceActions || command.serviceAction === serviceAction
  );
}

export function reportSupportedOperationCodes(
  task: ScsiTask,
  commands: readonly CommandDescriptor[],
): ScsiResult {
  const { cdb } = task;
  const withTimeouts = (cdb[2] & RCTD) !== 0;
  const options = cdb[2] & REPORTING_OPTIONS_MASK;
  let data: Buffer;
  switch (options) {
    case ReportingOptions.ALL_COMMANDS:
      data = allCommands(commands, withTimeouts);
      break;
    case ReportingOptions.ONE_COMMAND_OPCODE:
    case ReportingOptions.ONE_COMMAND_OPCODE_AND_SERVICE_ACTION:
    case ReportingOptions.ONE_COMMAND_OPCODE_MAYBE_SERVICE_ACTION:
      data = oneCommand(requestedCommand(commands, cdb, options), withTimeouts);
      break;
    default:
      throw invalidFieldInCdb(2);
  }
  return dataInResult(task, allocationLimited(data, cdb.readUInt32BE(6)));
}
