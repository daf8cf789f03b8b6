// Full-feature-phase fuzz inputs for a logged-in session: valid commands of many kinds (SCSI
// commands, NOP-Out, Text, task management, Data-Out, SNACK, Logout), sent as they are or
// mutated (bit flips, random opcode or CDB), and endings (wrong lengths, noise, truncation).
import {
  badLengths,
  flipBits,
  hugeLength,
  randomOpcode,
  truncated,
  weightedPick,
  type FuzzCase,
} from "./fuzz-login.ts";
import { Prng } from "./prng.ts";
import { buildPdu, lunField, NO_TASK_TAG, OPCODE, scsiCommand, textKeys } from "./raw-pdu.ts";

export interface FuzzSession {
  lun: number;
  blockCount: number; // of the LUN
  blockSizeBytes: number;
  cmdSN: number;
  expStatSN: number;
  nextItt: number;
}

interface Command {
  name: string;
  bytes: Buffer;
}

interface Transfer {
  read?: boolean;
  write?: boolean;
  lengthBytes?: number;
  data?: Buffer; // immediate data
}

function scsi(session: FuzzSession, cdb: number[], transfer: Transfer = {}): Buffer {
  return scsiCommand({
    read: transfer.read ?? false,
    write: transfer.write ?? false,
    lun: session.lun,
    itt: session.nextItt++,
    expectedDataTransferLength: transfer.lengthBytes ?? 0,
    cmdSN: session.cmdSN++,
    expStatSN: session.expStatSN,
    cdb: Buffer.from(cdb),
    immediateData: transfer.data,
  });
}

function be32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

function scsiCommands(prng: Prng, session: FuzzSession): Array<[number, () => Command]> {
  const lba = (): number => prng.int(session.blockCount);
  const blocks = (): number => prng.between(1, 8);
  const bytesOf = (count: number): number => count * session.blockSizeBytes;
  return [
    [3, () => ({ name: "TEST UNIT READY", bytes: scsi(session, [0x00, 0, 0, 0, 0, 0]) })],
    [3, () => {
      const evpd = prng.chance(0.5);
      const page = evpd ? prng.pick([0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2, 0x86]) : 0;
      return { name: "INQUIRY", bytes: scsi(session, [0x12, evpd ? 1 : 0, page, 0, 255, 0],
        { read: true, lengthBytes: 255 }) };
    }],
    [2, () => ({ name: "READ CAPACITY(10)", bytes: scsi(session, [0x25, 0, 0, 0, 0, 0, 0, 0,
      0, 0], { read: true, lengthBytes: 8 }) })],
    [2, () => ({ name: "READ CAPACITY(16)", bytes: scsi(session, [0x9e, 0x10, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 32, 0, 0], { read: true, lengthBytes: 32 }) })],
    [5, () => {
      const count = blocks();
      return { name: "READ(10)", bytes: scsi(session, [0x28, 0, ...be32(lba()), 0, 0, count, 0],
        { read: true, lengthBytes: bytesOf(count) }) };
    }],
    [5, () => {
      const count = blocks();
      const data = prng.bytes(bytesOf(count));
      return { name: "WRITE(10) immediate", bytes: scsi(session, [0x2a, 0, ...be32(lba()), 0, 0,
        count, 0], { write: true, lengthBytes: data.length, data }) };
    }],
    [2, () => {
      const count = blocks();
      return { name: "WRITE(10) awaiting R2T", bytes: scsi(session, [0x2a, 0, ...be32(lba()), 0,
        0, count, 0], { write: true, lengthBytes: bytesOf(count) }) };
    }],
    [2, () => ({ name: "REPORT LUNS", bytes: scsi(session, [0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
      0], { read: true, lengthBytes: 256 }) })],
    [2, () => ({ name: "MODE SENSE(6)", bytes: scsi(session, [0x1a, 0, 0x3f, 0, 255, 0],
      { read: true, lengthBytes: 255 }) })],
    [2, () => ({ name: "unknown SCSI opcode", bytes: scsi(session, [prng.between(0xc0, 0xff),
      ...prng.bytes(15)], { read: prng.chance(0.5), lengthBytes: prng.int(4096) }) })],
  ];
}

function otherCommands(prng: Prng, session: FuzzSession): Array<[number, () => Command]> {
  const lun = lunField(session.lun);
  return [
    [3, () => ({ name: "NOP-Out ping", bytes: buildPdu({ opcode: OPCODE.nopOut, immediate: true,
      flags: 0x80, lun, itt: session.nextItt++, word20: NO_TASK_TAG, cmdSN: session.cmdSN,
      expStatSN: session.expStatSN }, prng.bytes(prng.int(256))) })],
    [2, () => ({ name: "Text SendTargets", bytes: buildPdu({ opcode: OPCODE.textRequest,
      flags: 0x80, itt: session.nextItt++, word20: NO_TASK_TAG, cmdSN: session.cmdSN++,
      expStatSN: session.expStatSN }, textKeys([["SendTargets", "All"]])) })],
    [2, () => {
      const tail = Buffer.alloc(16);
      tail.writeUInt32BE(session.cmdSN, 0); // RefCmdSN
      return { name: "Task Management", bytes: buildPdu({ opcode: OPCODE.taskManagementRequest,
        immediate: true, flags: 0x80 | prng.pick([1, 2, 3, 4, 5, 6, 7, 8]), lun,
        itt: session.nextItt++, word20: session.nextItt - prng.between(1, 5), cmdSN: session.cmdSN,
        expStatSN: session.expStatSN, tail }) };
    }],
    [2, () => {
      const tail = Buffer.alloc(16);
      tail.writeUInt32BE(prng.int(4), 4); // DataSN
      tail.writeUInt32BE(prng.int(8) * 512, 8); // BufferOffset
      return { name: "Data-Out", bytes: buildPdu({ opcode: OPCODE.dataOut, flags: 0x80, lun,
        itt: session.nextItt - prng.between(1, 5), word20: prng.chance(0.5) ? NO_TASK_TAG :
          prng.uint32(), cmdSN: 0, expStatSN: session.expStatSN, tail },
      prng.bytes(prng.between(1, 8) * 512)) };
    }],
    [1, () => ({ name: "SNACK", bytes: buildPdu({ opcode: OPCODE.snackRequest,
      flags: 0x80 | prng.int(4), lun, itt: session.nextItt - 1, word20: NO_TASK_TAG, cmdSN: 0,
      expStatSN: session.expStatSN }) })],
  ];
}

/**
 * The last case of a connection, just before the end of the stream: a Logout, or an input
 * after which the target cannot find the next PDU (wrong or huge lengths, noise, truncation).
 */
export function fullFeatureEnding(prng: Prng, session: FuzzSession): FuzzCase {
  const command = weightedPick(prng, scsiCommands(prng, session))();
  const endings: Array<[number, () => Omit<FuzzCase, "command">]> = [
    [3, () => ({ kind: "bad lengths", bytes: badLengths(prng, command.bytes) })],
    [3, () => ({ kind: "noise", bytes: prng.bytes(prng.between(1, 2048)) })],
    [2, () => ({ kind: "truncated", bytes: truncated(prng, command.bytes) })],
    [2, () => ({ kind: "huge length", bytes: hugeLength(prng, command.bytes) })],
  ];
  if (prng.chance(0.1)) {
    return { kind: "valid command", command: "Logout", bytes: buildPdu({
      opcode: OPCODE.logoutRequest, immediate: true, flags: 0x80 | prng.int(3),
      itt: session.nextItt++, cmdSN: session.cmdSN, expStatSN: session.expStatSN }) };
  }
  return { ...weightedPick(prng, endings)(), command: command.name };
}

/**
 * One full-feature-phase case: a command, maybe mutated, with its length fields left alone so
 * that the target can still find the PDU after it.
 */
export function fullFeatureCase(prng: Prng, session: FuzzSession): FuzzCase {
  const command = weightedPick(prng, [...scsiCommands(prng, session),
    ...otherCommands(prng, session)])();
  const mutations: Array<[number, () => Omit<FuzzCase, "command">]> = [
    [35, () => ({ kind: "valid command", bytes: command.bytes })],
    [25, () => ({ kind: "command bit flips", bytes: flipBits(prng, command.bytes, true) })],
    [8, () => ({ kind: "random opcode", bytes: randomOpcode(prng, command.bytes) })],
    [8, () => ({ kind: "random CDB", bytes: randomCdb(prng, command.bytes) })],
  ];
  return { ...weightedPick(prng, mutations)(), command: command.name };
}

function randomCdb(prng: Prng, pdu: Buffer): Buffer {
  const changed = Buffer.from(pdu);
  prng.bytes(16).copy(changed, 32);
  return changed;
}
