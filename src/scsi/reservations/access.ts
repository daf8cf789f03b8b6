// Which commands a reservation lets through: SPC-4 5.13.1 table "SPC commands that are allowed in
// the presence of various reservations" and the SBC-3 table of the same name, reduced to classes.

import { PersistentReservationType } from "../constants.ts";

/** How reservations treat a command from an I_T nexus that does not hold them. */
export const ReservationAccess = {
  /** Never conflicts (INQUIRY, REPORT LUNS, REQUEST SENSE: SAM-5 5.14). */
  UNRESTRICTED: "unrestricted",
  /** Its handler applies the reservation rules itself: PERSISTENT RESERVE IN/OUT, RESERVE and
   * RELEASE. */
  OWN_RULES: "own-rules",
  /** Allowed under every persistent reservation; conflicts with another nexus's SPC-2
   * reservation (TEST UNIT READY, READ CAPACITY, REPORT TARGET PORT GROUPS). */
  ALLOWED: "allowed",
  /** Reads data or state: allowed through Write Exclusive types, conflicts with Exclusive
   * Access types unless registered for a registrants only or all registrants type. */
  READ: "read",
  /** Changes data or state: allowed only to registrants of a registrants only or all
   * registrants type. */
  WRITE: "write",
} as const;

export type ReservationAccessClass = (typeof ReservationAccess)[keyof typeof ReservationAccess];

/** Where the reservation state leaves the I_T nexus that sent a command. */
export interface NexusStanding {
  /** Type of the persistent reservation, if there is one. */
  reservationType: number | undefined;
  holdsReservation: boolean;
  registered: boolean;
  /** Another I_T nexus holds an SPC-2 reservation. */
  otherHoldsSpc2Reservation: boolean;
}

function isWriteExclusive(type: number): boolean {
  return type === PersistentReservationType.WRITE_EXCLUSIVE ||
    type === PersistentReservationType.WRITE_EXCLUSIVE_REGISTRANTS_ONLY ||
    type === PersistentReservationType.WRITE_EXCLUSIVE_ALL_REGISTRANTS;
}

/** Registrants of these types get the access of the reservation holder. */
function admitsRegistrants(type: number): boolean {
  return type !== PersistentReservationType.WRITE_EXCLUSIVE &&
    type !== PersistentReservationType.EXCLUSIVE_ACCESS;
}

export function isReservationConflict(
  access: ReservationAccessClass,
  standing: NexusStanding,
): boolean {
  if (access === ReservationAccess.UNRESTRICTED || access === ReservationAccess.OWN_RULES) {
    return false;
  }
  if (standing.otherHoldsSpc2Reservation) return true;
  const type = standing.reservationType;
  if (type === undefined || standing.holdsReservation) return false;
  if (access === ReservationAccess.ALLOWED) return false;
  if (standing.registered && admitsRegistrants(type)) return false;
  return !(access === ReservationAccess.READ && isWriteExclusive(type));
}
