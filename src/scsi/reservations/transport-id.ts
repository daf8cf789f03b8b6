// iSCSI TransportIDs (SPC-4 7.6.4.6): an initiator port named in a parameter list or in READ
// FULL STATUS. Only the initiator port format (01b) names a port.

import { IscsiTransportIdFormat, ProtocolIdentifier } from "../constants.ts";
import { invalidFieldInParameterList } from "../sense.ts";

const HEADER_LENGTH = 4;
/** A TransportID is at least 24 bytes long and its length a multiple of 4. */
const MIN_LENGTH = 24;
const PORT_SEPARATOR = /,i,0x([0-9a-f]+)$/i;

function paddedLength(nameBytes: number): number {
  const withTerminator = HEADER_LENGTH + nameBytes + 1;
  return Math.max(MIN_LENGTH, Math.ceil(withTerminator / 4) * 4);
}

/** The TransportID of an initiator port: "<iSCSI name>,i,0x<ISID>", null-terminated. */
export function encodeInitiatorPortTransportId(initiatorPortName: string): Buffer {
  const name = Buffer.from(initiatorPortName, "utf8");
  const id = Buffer.alloc(paddedLength(name.length));
  id[0] = (IscsiTransportIdFormat.INITIATOR_PORT << 6) | ProtocolIdentifier.ISCSI;
  id.writeUInt16BE(id.length - HEADER_LENGTH, 2);
  name.copy(id, HEADER_LENGTH);
  return id;
}

/**
 * The initiator port name a TransportID at `offset` of a parameter list names, in the form
 * ItNexus.initiatorPortName has (ISID in lowercase hex). Field pointers are list offsets.
 */
export function decodeInitiatorPortTransportId(list: Buffer, offset: number): string {
  if (list.length - offset < MIN_LENGTH) throw invalidFieldInParameterList(offset);
  if ((list[offset] & 0x0f) !== ProtocolIdentifier.ISCSI) {
    throw invalidFieldInParameterList(offset, 3);
  }
  if (list[offset] >> 6 !== IscsiTransportIdFormat.INITIATOR_PORT) {
    throw invalidFieldInParameterList(offset, 7);
  }
  const additionalLength = list.readUInt16BE(offset + 2);
  const end = offset + HEADER_LENGTH + additionalLength;
  if (additionalLength % 4 !== 0 || end > list.length) {
    throw invalidFieldInParameterList(offset + 2);
  }
  const field = list.subarray(offset + HEADER_LENGTH, end);
  const terminator = field.indexOf(0);
  const text = field.subarray(0, terminator < 0 ? field.length : terminator).toString("utf8");
  const match = PORT_SEPARATOR.exec(text);
  if (!match || match.index === 0) throw invalidFieldInParameterList(offset + HEADER_LENGTH);
  return `${text.slice(0, match.index)},i,0x${match[1].toLowerCase()}`;
}
