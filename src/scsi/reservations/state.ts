// The reservation state of one logical unit as plain JSON-able data: what a partner node needs to
// carry the reservations on, and what the APTPL file holds.

import assert from "node:assert/strict";
import {
  PersistentReservationType,
  type PersistentReservationTypeValue,
} from "../constants.ts";
import type { ItNexus } from "../types.ts";

/** An I_T nexus by the two names that identify it. */
export interface NexusId {
  initiatorPortName: string;
  targetPortName: string;
}

/** A RESERVATION KEY: 16 lowercase hex digits. */
export type ReservationKey = string;

export const NO_KEY: ReservationKey = "0000000000000000";

export interface Registration {
  initiatorPortName: string;
  /** null: registered with ALL_TG_PT, i.e. through every target port. */
  targetPortName: string | null;
  /** RELATIVE TARGET PORT IDENTIFIER of the port the registration came through. */
  relativeTargetPortId: number;
  key: ReservationKey;
}

export interface PersistentReservation {
  type: PersistentReservationTypeValue;
  /** The I_T nexus holding it; null for all registrants types, held by every registrant. */
  holder: NexusId | null;
}

export interface ReservationState {
  /** PRGENERATION: 32-bit wrapping counter of registration changes. */
  generation: number;
  /** In registration order, which READ KEYS and READ FULL STATUS keep. */
  registrations: Registration[];
  reservation: PersistentReservation | null;
  /** The last valid APTPL bit: registrations and reservation survive power loss. */
  persistThroughPowerLoss: boolean;
  /** Holder of the SPC-2 reservation (RESERVE (6) / RESERVE (10)), if any. */
  spc2Holder: NexusId | null;
}

export function emptyReservationState(): ReservationState {
  return {
    generation: 0,
    registrations: [],
    reservation: null,
    persistThroughPowerLoss: false,
    spc2Holder: null,
  };
}

export function nexusIdOf(nexus: ItNexus): NexusId {
  return { initiatorPortName: nexus.initiatorPortName, targetPortName: nexus.targetPortName };
}

export function sameNexus(a: NexusId, b: NexusId): boolean {
  return a.initiatorPortName === b.initiatorPortName && a.targetPortName === b.targetPortName;
}

/** Whether the registration is the one of this I_T nexus. */
export function covers(registration: Registration, nexus: NexusId): boolean {
  return registration.initiatorPortName === nexus.initiatorPortName &&
    (registration.targetPortName === null || registration.targetPortName === nexus.targetPortName);
}

export function isAllRegistrantsType(type: number): boolean {
  return type === PersistentReservationType.WRITE_EXCLUSIVE_ALL_REGISTRANTS ||
    type === PersistentReservationType.EXCLUSIVE_ACCESS_ALL_REGISTRANTS;
}

export function isRegistrantsOnlyType(type: number): boolean {
  return type === PersistentReservationType.WRITE_EXCLUSIVE_REGISTRANTS_ONLY ||
    type === PersistentReservationType.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY;
}

export function isReservationType(type: number): type is PersistentReservationTypeValue {
  return (Object.values(PersistentReservationType) as number[]).includes(type);
}

export function keyFromBuffer(data: Buffer, offset: number): ReservationKey {
  return data.subarray(offset, offset + 8).toString("hex");
}

const KEY_PATTERN = /^[0-9a-f]{16}$/;
const UINT32_MAX = 0xffffffff;
const UINT16_MAX = 0xffff;

function checkNexusId(nexus: NexusId, what: string): void {
  assert.equal(typeof nexus.initiatorPortName, "string", `${what}: initiatorPortName`);
  assert.equal(typeof nexus.targetPortName, "string", `${what}: targetPortName`);
}

/** Asserts that untrusted data (a file, a partner's snapshot) is a well-formed state. */
export function checkReservationState(state: ReservationState): void {
  assert.ok(Number.isInteger(state.generation), "generation");
  assert.ok(state.generation >= 0 && state.generation <= UINT32_MAX, "generation range");
  assert.ok(Array.isArray(state.registrations), "registrations");
  for (const registration of state.registrations) {
    assert.equal(typeof registration.initiatorPortName, "string", "registration initiator");
    assert.ok(registration.targetPortName === null ||
      typeof registration.targetPortName === "string", "registration target port");
    assert.ok(Number.isInteger(registration.relativeTargetPortId) &&
      registration.relativeTargetPortId >= 0 && registration.relativeTargetPortId <= UINT16_MAX,
      "registration relative target port");
    assert.match(registration.key, KEY_PATTERN, "registration key");
    assert.notEqual(registration.key, NO_KEY, "a registration has a non-zero key");
  }
  const { reservation } = state;
  if (reservation !== null) {
    assert.ok(isReservationType(reservation.type), "reservation type");
    if (isAllRegistrantsType(reservation.type)) {
      assert.equal(reservation.holder, null, "all registrants reservations have no one holder");
    } else {
      assert.ok(reservation.holder !== null, "reservation holder");
      checkNexusId(reservation.holder, "reservation holder");
    }
    assert.ok(state.registrations.length > 0, "a reservation needs a registration");
  }
  assert.equal(typeof state.persistThroughPowerLoss, "boolean", "persistThroughPowerLoss");
  if (state.spc2Holder !== null) checkNexusId(state.spc2Holder, "SPC-2 reservation holder");
}

export function copyReservationState(state: ReservationState): ReservationState {
  return structuredClone(state);
}
