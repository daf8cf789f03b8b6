// The boundary between the transport (iSCSI) and the SCSI command set.
// The transport collects all Data-Out bytes, then hands one ScsiTask to the SCSI target device.
// The SCSI layer owns residual accounting in both directions.

/** An I_T nexus: one initiator port talking to one target port. */
export interface ItNexus {
  /** SCSI initiator port name: "<initiator iqn>,i,0x<isid hex>" (RFC 7143 section 4.4.2.1). */
  initiatorPortName: string;
  /** SCSI target port name: "<target iqn>,t,0x<tpgt hex>". */
  targetPortName: string;
  /** RELATIVE TARGET PORT IDENTIFIER reported in VPD 0x83, from config (matches across nodes). */
  relativeTargetPortId: number;
  /** TARGET PORT GROUP reported in VPD 0x83 / REPORT TARGET PORT GROUPS, from config. */
  targetPortGroupId: number;
}

export interface ScsiTask {
  lun: number;
  cdb: Buffer;
  nexus: ItNexus;
  taskAttribute: number;
  /** Bytes the initiator said it will transfer (iSCSI ExpectedDataTransferLength). */
  expectedDataTransferLength: number;
  read: boolean;
  write: boolean;
  /** Data-Out as received: exactly expectedDataTransferLength bytes when write, else empty. */
  dataOut: Buffer;
}

export interface ScsiResult {
  status: number; // SAM status byte (STATUS_* in scsi/constants.ts)
  /** Fixed-format sense data when status is CHECK CONDITION. */
  sense?: Buffer;
  /** Data-In, already cut to expectedDataTransferLength; views, not copies, where possible. */
  dataIn?: Buffer;
  residualOverflow?: boolean;
  residualUnderflow?: boolean;
  residualCount?: number;
}
