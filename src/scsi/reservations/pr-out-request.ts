// Decoding a PERSISTENT RESERVE OUT command (SPC-4 6.17) into plain data: the request a partner
// node can apply to reach the same reservation state.

import {
  Asc,
  LU_SCOPE,
  PersistentReserveOutAction,
  type PersistentReservationTypeValue,
} from "../constants.ts";
import { dataOutOf } from "../data-transfer.ts";
import { illegalRequest, invalidFieldInCdb, invalidFieldInParameterList } from "../sense.ts";
import type { ScsiTask } from "../types.ts";
import { type ReservationKey, isReservationType, keyFromBuffer } from "./state.ts";
import { decodeInitiatorPortTransportId } from "./transport-id.ts";

export interface RegisterAndMoveTarget {
  initiatorPortName: string;
  relativeTargetPortId: number;
  /** UNREG: the sending I_T nexus gives up its registration. */
  unregister: boolean;
}

export interface PrOutRequest {
  serviceAction: number;
  /** TYPE, for the service actions that use it. */
  type: PersistentReservationTypeValue | null;
  reservationKey: ReservationKey;
  serviceActionReservationKey: ReservationKey;
  /** ALL_TG_PT of REGISTER and REGISTER AND IGNORE EXISTING KEY. */
  allTargetPorts: boolean;
  /** APTPL, for the service actions where it is valid; null where it is ignored. */
  persistThroughPowerLoss: boolean | null;
  /** REGISTER AND MOVE only. */
  move: RegisterAndMoveTarget | null;
}

const BASIC_PARAMETER_LIST_LENGTH = 24;
const SCOPE_TYPE_BYTE = 2;
const FLAGS_BYTE = 20;
const SPEC_I_PT = 0x08;
const ALL_TG_PT = 0x04;
const APTPL = 0x01;
/** Byte 20 bits of the basic parameter list that are reserved. */
const BASIC_FLAGS_RESERVED = ~(SPEC_I_PT | ALL_TG_PT | APTPL) & 0xff;
const MOVE_FLAGS_BYTE = 17;
const UNREG = 0x02;
const MOVE_FLAGS_RESERVED = ~(UNREG | APTPL) & 0xff;
const MOVE_RELATIVE_TARGET_PORT = 18;
const MOVE_TRANSPORT_ID_LENGTH = 20;

const SCOPED_ACTIONS: readonly number[] = [
  PersistentReserveOutAction.RESERVE,
  PersistentReserveOutAction.RELEASE,
  PersistentReserveOutAction.PREEMPT,
  PersistentReserveOutAction.PREEMPT_AND_ABORT,
  PersistentReserveOutAction.REGISTER_AND_MOVE,
];

function isRegister(serviceAction: number): boolean {
  return serviceAction === PersistentReserveOutAction.REGISTER ||
    serviceAction === PersistentReserveOutAction.REGISTER_AND_IGNORE_EXISTING_KEY;
}

function decodeType(cdb: Buffer, serviceAction: number): PersistentReservationTypeValue | null {
  if (!SCOPED_ACTIONS.includes(serviceAction)) return null;
  if (cdb[SCOPE_TYPE_BYTE] >> 4 !== LU_SCOPE) throw invalidFieldInCdb(SCOPE_TYPE_BYTE, 7);
  const type = cdb[SCOPE_TYPE_BYTE] & 0x0f;
  if (!isReservationType(type)) throw invalidFieldInCdb(SCOPE_TYPE_BYTE, 3);
  return type;
}

function parameterList(task: ScsiTask): Buffer {
  const listLength = task.cdb.readUInt32BE(5);
  const dataOut = dataOutOf(task);
  if (listLength < BASIC_PARAMETER_LIST_LENGTH || dataOut.length < listLength) {
    throw illegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR);
  }
  return dataOut.subarray(0, listLength);
}

function decodeMove(list: Buffer): RegisterAndMoveTarget {
  const flags = list[MOVE_FLAGS_BYTE];
  if (flags & MOVE_FLAGS_RESERVED) throw invalidFieldInParameterList(MOVE_FLAGS_BYTE);
  const transportIdLength = list.readUInt32BE(MOVE_TRANSPORT_ID_LENGTH);
  if (BASIC_PARAMETER_LIST_LENGTH + transportIdLength > list.length) {
    throw illegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR);
  }
  const transportIds = list.subarray(0, BASIC_PARAMETER_LIST_LENGTH + transportIdLength);
  return {
    initiatorPortName: decodeInitiatorPortTransportId(transportIds, BASIC_PARAMETER_LIST_LENGTH),
    relativeTargetPortId: list.readUInt16BE(MOVE_RELATIVE_TARGET_PORT),
    unregister: (flags & UNREG) !== 0,
  };
}

export function decodePrOutRequest(task: ScsiTask): PrOutRequest {
  const { cdb } = task;
  const serviceAction = cdb[1] & 0x1f;
  const type = decodeType(cdb, serviceAction);
  const list = parameterList(task);
  const request: PrOutRequest = {
    serviceAction,
    type,
    reservationKey: keyFromBuffer(list, 0),
    serviceActionReservationKey: keyFromBuffer(list, 8),
    allTargetPorts: false,
    persistThroughPowerLoss: null,
    move: null,
  };
  if (serviceAction === PersistentReserveOutAction.REGISTER_AND_MOVE) {
    request.move = decodeMove(list);
    request.persistThroughPowerLoss = (list[MOVE_FLAGS_BYTE] & APTPL) !== 0;
    return request;
  }
  const flags = list[FLAGS_BYTE];
  // SPEC_I_PT is optional and not supported (REPORT CAPABILITIES has SIP_C zero).
  if (flags & SPEC_I_PT) throw invalidFieldInParameterList(FLAGS_BYTE, 3);
  if (flags & BASIC_FLAGS_RESERVED) {
    throw invalidFieldInParameterList(FLAGS_BYTE, 31 - Math.clz32(flags & BASIC_FLAGS_RESERVED));
  }
  if (list.length !== BASIC_PARAMETER_LIST_LENGTH) {
    throw illegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR);
  }
  if (isRegister(serviceAction)) {
    request.allTargetPorts = (flags & ALL_TG_PT) !== 0;
    request.persistThroughPowerLoss = (flags & APTPL) !== 0;
  }
  return request;
}
