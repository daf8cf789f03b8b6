// PERSISTENT RESERVE IN parameter data (SPC-4 6.16), encoded from the reservation state.

import { LU_SCOPE } from "../constants.ts";
import { type ReservationState, covers, isAllRegistrantsType } from "./state.ts";
import { encodeInitiatorPortTransportId } from "./transport-id.ts";

const HEADER_LENGTH = 8;
const READ_RESERVATION_DESCRIPTOR_LENGTH = 16;
const REPORT_CAPABILITIES_LENGTH = 8;
const FULL_STATUS_DESCRIPTOR_HEADER_LENGTH = 24;

// REPORT CAPABILITIES bits (SPC-4 6.16.4).
const ATP_C = 0x04;
const PTPL_C = 0x01;
const TMV = 0x80;
const PTPL_A = 0x01;
/** ALLOW COMMANDS 011b: TEST UNIT READY passes Write Exclusive and Exclusive Access
 * reservations, and MODE SENSE, REPORT SUPPORTED OPERATION CODES etc. pass Write Exclusive. */
const ALLOW_COMMANDS = 0b011 << 4;
// PERSISTENT RESERVATION TYPE MASK: every type is supported.
const WR_EX_AR = 1 << 15;
const EX_AC_RO = 1 << 14;
const WR_EX_RO = 1 << 13;
const EX_AC = 1 << 11;
const WR_EX = 1 << 9;
const EX_AC_AR = 1 << 0;
const TYPE_MASK = WR_EX_AR | EX_AC_RO | WR_EX_RO | EX_AC | WR_EX | EX_AC_AR;

// READ FULL STATUS descriptor byte 12.
const ALL_TG_PT = 0x02;
const R_HOLDER = 0x01;

function withHeader(generation: number, body: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt32BE(generation, 0);
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

function scopeAndType(type: number): number {
  return (LU_SCOPE << 4) | type;
}

export function readKeysData(state: ReservationState): Buffer {
  const keys = state.registrations.map((registration) => Buffer.from(registration.key, "hex"));
  return withHeader(state.generation, Buffer.concat(keys));
}

export function readReservationData(state: ReservationState): Buffer {
  const { reservation } = state;
  if (reservation === null) return withHeader(state.generation, Buffer.alloc(0));
  const descriptor = Buffer.alloc(READ_RESERVATION_DESCRIPTOR_LENGTH);
  // All registrants types report a zero key: every registrant holds the reservation.
  if (reservation.holder !== null) {
    const holder = reservation.holder;
    const registration = state.registrations.find((r) => covers(r, holder));
    Buffer.from(registration!.key, "hex").copy(descriptor, 0);
  }
  descriptor[13] = scopeAndType(reservation.type);
  return withHeader(state.generation, descriptor);
}

export function reportCapabilitiesData(
  state: ReservationState,
  persistenceCapable: boolean,
): Buffer {
  const data = Buffer.alloc(REPORT_CAPABILITIES_LENGTH);
  data.writeUInt16BE(REPORT_CAPABILITIES_LENGTH, 0);
  data[2] = ATP_C | (persistenceCapable ? PTPL_C : 0);
  data[3] = TMV | ALLOW_COMMANDS | (state.persistThroughPowerLoss ? PTPL_A : 0);
  data.writeUInt16BE(TYPE_MASK, 4);
  return data;
}

export function readFullStatusData(state: ReservationState): Buffer {
  const { reservation } = state;
  const descriptors = state.registrations.map((registration) => {
    const transportId = encodeInitiatorPortTransportId(registration.initiatorPortName);
    const descriptor = Buffer.alloc(FULL_STATUS_DESCRIPTOR_HEADER_LENGTH);
    Buffer.from(registration.key, "hex").copy(descriptor, 0);
    const holds = reservation !== null && (isAllRegistrantsType(reservation.type) ||
      covers(registration, reservation.holder!));
    const allTargetPorts = registration.targetPortName === null;
    descriptor[12] = (allTargetPorts ? ALL_TG_PT : 0) | (holds ? R_HOLDER : 0);
    if (holds) descriptor[13] = scopeAndType(reservation.type);
    if (!allTargetPorts) descriptor.writeUInt16BE(registration.relativeTargetPortId, 18);
    descriptor.writeUInt32BE(transportId.length, 20);
    return Buffer.concat([descriptor, transportId]);
  });
  return withHeader(state.generation, Buffer.concat(descriptors));
}
