// The reservation state machine of one logical unit (SPC-4 5.13, SPC-2 RESERVE/RELEASE). It is
// deterministic: the same requests applied to the same state give the same state on any node.
// It holds no I/O; its caller establishes the unit attentions and aborts the tasks it names.

import assert from "node:assert/strict";
import {
  type AdditionalSense,
  Asc,
  PersistentReserveOutAction,
  type PersistentReservationTypeValue,
} from "../constants.ts";
import { illegalRequest, invalidFieldInParameterList } from "../sense.ts";
import type { ItNexus } from "../types.ts";
import type { NexusStanding } from "./access.ts";
import type { PrOutRequest } from "./pr-out-request.ts";
import {
  type NexusId,
  NO_KEY,
  type Registration,
  type ReservationKey,
  type ReservationState,
  checkReservationState,
  copyReservationState,
  covers,
  emptyReservationState,
  isAllRegistrantsType,
  isRegistrantsOnlyType,
  sameNexus,
} from "./state.ts";

/** Bound on registrations per logical unit; more get INSUFFICIENT REGISTRATION RESOURCES. */
export const MAX_REGISTRATIONS = 256;
const GENERATION_MODULUS = 2 ** 32;
/** Parameter list offsets, for sense field pointers. */
const SERVICE_ACTION_RESERVATION_KEY_OFFSET = 8;
const MOVE_RELATIVE_TARGET_PORT_OFFSET = 18;
const MOVE_TRANSPORT_ID_OFFSET = 24;

/** Who a PERSISTENT RESERVE OUT affects: one I_T nexus, or (targetPortName null) every I_T
 * nexus of an initiator port. */
export interface Registrant {
  initiatorPortName: string;
  targetPortName: string | null;
}

export interface UnitAttentionNotice {
  condition: AdditionalSense;
  /** May cover the I_T nexus that sent the command: the caller never tells that one. */
  registrants: Registrant[];
}

export interface PrOutOutcome {
  unitAttentions: UnitAttentionNotice[];
  /** PREEMPT AND ABORT: the registrants whose tasks on the logical unit are to be aborted. */
  abortTasksOf: Registrant[];
}

/** The command ends with RESERVATION CONFLICT status. */
export class ReservationConflictError extends Error {
  constructor(why: string) {
    super(`reservation conflict: ${why}`);
    this.name = "ReservationConflictError";
  }
}

/** All reservation state of a logical unit, and every way it changes. */
export interface ReservationStore {
  /** Where the state leaves an I_T nexus: what the conflict check of every command needs. */
  standingOf(nexus: NexusId): NexusStanding;
  /** Applies a PERSISTENT RESERVE OUT; on ReservationConflictError or SenseError nothing
   * changed. */
  persistentReserveOut(nexus: ItNexus, request: PrOutRequest): PrOutOutcome;
  /** RESERVE (6) / RESERVE (10). */
  reserve(nexus: NexusId): void;
  /** RELEASE (6) / RELEASE (10). */
  release(nexus: NexusId): void;
  /** The I_T nexus is gone: its SPC-2 reservation goes; persistent reservations stay. */
  nexusLost(nexus: NexusId): void;
  /** LOGICAL UNIT RESET or a target reset: the SPC-2 reservation goes. */
  reset(): void;
  /** While an SPC-2 reservation exists every PERSISTENT RESERVE IN and OUT conflicts. */
  hasSpc2Reservation(): boolean;
  snapshot(): ReservationState;
  restore(state: ReservationState): void;
}

function registrantOf(registration: Registration): Registrant {
  return {
    initiatorPortName: registration.initiatorPortName,
    targetPortName: registration.targetPortName,
  };
}

function conflict(why: string): ReservationConflictError {
  return new ReservationConflictError(why);
}

/** One PERSISTENT RESERVE OUT being applied to a copy of the state. */
class Transition {
  readonly unitAttentions: UnitAttentionNotice[] = [];
  readonly abortTasksOf: Registrant[] = [];

  constructor(readonly state: ReservationState, readonly issuer: ItNexus) {}

  registrationOf(nexus: NexusId): Registration | undefined {
    const { registrations } = this.state;
    return registrations.find((r) => r.targetPortName !== null && covers(r, nexus)) ??
      registrations.find((r) => covers(r, nexus));
  }

  holds(nexus: NexusId): boolean {
    const { reservation } = this.state;
    if (reservation === null) return false;
    if (reservation.holder === null) return this.registrationOf(nexus) !== undefined;
    return sameNexus(reservation.holder, nexus);
  }

  bumpGeneration(): void {
    this.state.generation = (this.state.generation + 1) % GENERATION_MODULUS;
  }

  notify(condition: AdditionalSense, registrations: readonly Registration[]): void {
    if (registrations.length === 0) return;
    this.unitAttentions.push({ condition, registrants: registrations.map(registrantOf) });
  }

  /** The issuer's registration, whose key must be the RESERVATION KEY it sent. */
  issuerRegistration(request: PrOutRequest): Registration {
    const registration = this.registrationOf(this.issuer);
    if (!registration) throw conflict("the I_T nexus is not registered");
    if (registration.key !== request.reservationKey) throw conflict("wrong reservation key");
    return registration;
  }

  addRegistration(registration: Registration): void {
    if (this.state.registrations.length >= MAX_REGISTRATIONS) {
      throw illegalRequest(Asc.INSUFFICIENT_REGISTRATION_RESOURCES);
    }
    this.state.registrations.push(registration);
  }

  /** Removes registrations; a reservation its holder loses this way is released. */
  removeRegistrations(removed: readonly Registration[]): void {
    const { state } = this;
    const holderLost = state.reservation?.holder != null &&
      removed.some((r) => covers(r, state.reservation!.holder!));
    state.registrations = state.registrations.filter((r) => !removed.includes(r));
    if (state.reservation === null) return;
    if (holderLost || state.registrations.length === 0) state.reservation = null;
  }

  /** Releases the reservation; registrants only and all registrants types tell the others. */
  releaseReservation(): void {
    const type = this.state.reservation!.type;
    this.state.reservation = null;
    if (isRegistrantsOnlyType(type) || isAllRegistrantsType(type)) {
      this.notify(Asc.RESERVATIONS_RELEASED, this.state.registrations);
    }
  }

  reserveFor(type: PersistentReservationTypeValue, nexus: NexusId): void {
    this.state.reservation = { type, holder: isAllRegistrantsType(type) ? null : { ...nexus } };
  }
}

function register(t: Transition, request: PrOutRequest, ignoreExistingKey: boolean): void {
  const existing = t.registrationOf(t.issuer);
  const newKey = request.serviceActionReservationKey;
  if (!existing) {
    if (!ignoreExistingKey && request.reservationKey !== NO_KEY) {
      throw conflict("an unregistered I_T nexus sent a non-zero reservation key");
    }
    if (newKey === NO_KEY) return;
    const elsewhere = t.state.registrations.some((r) =>
      r.initiatorPortName === t.issuer.initiatorPortName
    );
    // An ALL_TG_PT registration would cover an I_T nexus that is registered already.
    if (request.allTargetPorts && elsewhere) throw invalidFieldInParameterList(20, 2);
    t.addRegistration({
      initiatorPortName: t.issuer.initiatorPortName,
      targetPortName: request.allTargetPorts ? null : t.issuer.targetPortName,
      relativeTargetPortId: t.issuer.relativeTargetPortId,
      key: newKey,
    });
  } else {
    if (!ignoreExistingKey && existing.key !== request.reservationKey) {
      throw conflict("wrong reservation key");
    }
    if (newKey === NO_KEY) {
      unregister(t, existing);
    } else {
      existing.key = newKey;
    }
  }
  t.state.persistThroughPowerLoss = request.persistThroughPowerLoss === true;
  t.bumpGeneration();
}

function unregister(t: Transition, registration: Registration): void {
  const { reservation } = t.state;
  const releases = reservation !== null && (reservation.holder === null
    ? t.state.registrations.length === 1
    : covers(registration, reservation.holder));
  t.removeRegistrations([registration]);
  if (reservation !== null && releases && isRegistrantsOnlyType(reservation.type)) {
    t.notify(Asc.RESERVATIONS_RELEASED, t.state.registrations);
  }
}

function reserve(t: Transition, request: PrOutRequest): void {
  t.issuerRegistration(request);
  const type = request.type!;
  const { reservation } = t.state;
  if (reservation === null) return t.reserveFor(type, t.issuer);
  if (!t.holds(t.issuer)) throw conflict("another I_T nexus holds the reservation");
  if (reservation.type !== type) throw conflict("the reservation has another type");
}

function release(t: Transition, request: PrOutRequest): void {
  t.issuerRegistration(request);
  const { reservation } = t.state;
  if (reservation === null || !t.holds(t.issuer)) return;
  if (reservation.type !== request.type) {
    throw illegalRequest(Asc.INVALID_RELEASE_OF_PERSISTENT_RESERVATION);
  }
  t.releaseReservation();
}

function clear(t: Transition, request: PrOutRequest): void {
  t.issuerRegistration(request);
  t.notify(Asc.RESERVATIONS_PREEMPTED, t.state.registrations);
  t.state.registrations = [];
  t.state.reservation = null;
  t.bumpGeneration();
}

/** PREEMPT and PREEMPT AND ABORT (SPC-4 5.13.11.2.4). */
function preempt(t: Transition, request: PrOutRequest, abort: boolean): void {
  const own = t.issuerRegistration(request);
  const key = request.serviceActionReservationKey;
  const { reservation } = t.state;
  const allRegistrants = reservation !== null && isAllRegistrantsType(reservation.type);
  const holderKey = reservation?.holder ? t.registrationOf(reservation.holder)?.key : undefined;
  const preemptsReservation = allRegistrants ? key === NO_KEY : key === holderKey;
  if (!preemptsReservation && key === NO_KEY) {
    throw invalidFieldInParameterList(SERVICE_ACTION_RESERVATION_KEY_OFFSET);
  }
  const removed = t.state.registrations.filter((r) =>
    r !== own && (key === NO_KEY || r.key === key)
  );
  if (!preemptsReservation && removed.length === 0) {
    throw conflict("no registration has the service action reservation key");
  }
  t.removeRegistrations(removed);
  if (preemptsReservation) {
    const typeChanged = reservation!.type !== request.type;
    t.reserveFor(request.type!, t.issuer);
    if (typeChanged) t.notify(Asc.RESERVATIONS_RELEASED, t.state.registrations);
  }
  t.notify(Asc.REGISTRATIONS_PREEMPTED, removed);
  if (abort) t.abortTasksOf.push(...removed.map(registrantOf));
  t.bumpGeneration();
}

/** The target port a REGISTER AND MOVE names by its relative identifier, if it is known. */
function targetPortNamed(t: Transition, relativeTargetPortId: number): string | undefined {
  if (t.issuer.relativeTargetPortId === relativeTargetPortId) return t.issuer.targetPortName;
  return t.state.registrations.find((r) =>
    r.relativeTargetPortId === relativeTargetPortId && r.targetPortName !== null
  )?.targetPortName ?? undefined;
}

function registerAndMove(t: Transition, request: PrOutRequest): void {
  const own = t.issuerRegistration(request);
  const move = request.move!;
  const { reservation } = t.state;
  if (reservation === null || reservation.holder === null || !t.holds(t.issuer)) {
    throw conflict("REGISTER AND MOVE needs a reservation the I_T nexus holds");
  }
  const key = request.serviceActionReservationKey;
  if (key === NO_KEY) throw invalidFieldInParameterList(SERVICE_ACTION_RESERVATION_KEY_OFFSET);
  const targetPortName = targetPortNamed(t, move.relativeTargetPortId);
  if (targetPortName === undefined) {
    throw invalidFieldInParameterList(MOVE_RELATIVE_TARGET_PORT_OFFSET);
  }
  const destination: NexusId = { initiatorPortName: move.initiatorPortName, targetPortName };
  if (sameNexus(destination, t.issuer)) throw invalidFieldInParameterList(MOVE_TRANSPORT_ID_OFFSET);
  if (!t.registrationOf(destination)) {
    t.addRegistration({ ...destination, relativeTargetPortId: move.relativeTargetPortId, key });
  }
  t.reserveFor(request.type!, destination);
  if (move.unregister) t.removeRegistrations([own]);
  t.state.persistThroughPowerLoss = request.persistThroughPowerLoss === true;
  t.bumpGeneration();
}

function apply(t: Transition, request: PrOutRequest): void {
  switch (request.serviceAction) {
    case PersistentReserveOutAction.REGISTER:
      return register(t, request, false);
    case PersistentReserveOutAction.REGISTER_AND_IGNORE_EXISTING_KEY:
      return register(t, request, true);
    case PersistentReserveOutAction.RESERVE:
      return reserve(t, request);
    case PersistentReserveOutAction.RELEASE:
      return release(t, request);
    case PersistentReserveOutAction.CLEAR:
      return clear(t, request);
    case PersistentReserveOutAction.PREEMPT:
      return preempt(t, request, false);
    case PersistentReserveOutAction.PREEMPT_AND_ABORT:
      return preempt(t, request, true);
    case PersistentReserveOutAction.REGISTER_AND_MOVE:
      return registerAndMove(t, request);
    default:
      throw new Error(`PERSISTENT RESERVE OUT service action ${request.serviceAction} not routed`);
  }
}

export class LogicalUnitReservationStore implements ReservationStore {
  private state: ReservationState = emptyReservationState();

  standingOf(nexus: NexusId): NexusStanding {
    const { reservation, spc2Holder } = this.state;
    const otherHoldsSpc2Reservation = spc2Holder !== null && !sameNexus(spc2Holder, nexus);
    if (reservation === null) {
      return {
        reservationType: undefined,
        holdsReservation: false,
        registered: false,
        otherHoldsSpc2Reservation,
      };
    }
    const registered = this.state.registrations.some((r) => covers(r, nexus));
    return {
      reservationType: reservation.type,
      holdsReservation: reservation.holder === null
        ? registered
        : sameNexus(reservation.holder, nexus),
      registered,
      otherHoldsSpc2Reservation,
    };
  }

  persistentReserveOut(nexus: ItNexus, request: PrOutRequest): PrOutOutcome {
    const transition = new Transition(copyReservationState(this.state), nexus);
    apply(transition, request);
    checkReservationState(transition.state);
    this.state = transition.state;
    return { unitAttentions: transition.unitAttentions, abortTasksOf: transition.abortTasksOf };
  }

  reserve(nexus: NexusId): void {
    if (this.state.registrations.length > 0) throw conflict("persistent registrations exist");
    const holder = this.state.spc2Holder;
    if (holder !== null && !sameNexus(holder, nexus)) throw conflict("reserved by another");
    this.state.spc2Holder = { ...nexus };
  }

  release(nexus: NexusId): void {
    if (this.state.registrations.length > 0) throw conflict("persistent registrations exist");
    const holder = this.state.spc2Holder;
    if (holder !== null && sameNexus(holder, nexus)) this.state.spc2Holder = null;
  }

  nexusLost(nexus: NexusId): void {
    const holder = this.state.spc2Holder;
    if (holder !== null && sameNexus(holder, nexus)) this.state.spc2Holder = null;
  }

  reset(): void {
    this.state.spc2Holder = null;
  }

  hasSpc2Reservation(): boolean {
    return this.state.spc2Holder !== null;
  }

  snapshot(): ReservationState {
    return copyReservationState(this.state);
  }

  restore(state: ReservationState): void {
    checkReservationState(state);
    assert.ok(state.registrations.length <= MAX_REGISTRATIONS, "too many registrations");
    this.state = copyReservationState(state);
  }
}
