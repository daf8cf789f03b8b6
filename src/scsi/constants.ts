// SCSI protocol constants, named as SAM-5, SPC-4 and SBC-3 name them. The only table of them.

// ---- SAM status codes ----
export const STATUS_GOOD = 0x00;
export const STATUS_CHECK_CONDITION = 0x02;
export const STATUS_CONDITION_MET = 0x04;
export const STATUS_BUSY = 0x08;
export const STATUS_RESERVATION_CONFLICT = 0x18;
export const STATUS_TASK_SET_FULL = 0x28;
export const STATUS_ACA_ACTIVE = 0x30;
export const STATUS_TASK_ABORTED = 0x40;

// ---- operation codes ----
export const Opcode = {
  TEST_UNIT_READY: 0x00,
  REQUEST_SENSE: 0x03,
  READ_6: 0x08,
  WRITE_6: 0x0a,
  INQUIRY: 0x12,
  MODE_SELECT_6: 0x15,
  RESERVE_6: 0x16,
  RELEASE_6: 0x17,
  MODE_SENSE_6: 0x1a,
  START_STOP_UNIT: 0x1b,
  PREVENT_ALLOW_MEDIUM_REMOVAL: 0x1e,
  WRITE_SAME_10: 0x41,
  UNMAP: 0x42,
  READ_CAPACITY_10: 0x25,
  READ_10: 0x28,
  WRITE_10: 0x2a,
  WRITE_AND_VERIFY_10: 0x2e,
  VERIFY_10: 0x2f,
  PRE_FETCH_10: 0x34,
  SYNCHRONIZE_CACHE_10: 0x35,
  MODE_SELECT_10: 0x55,
  RESERVE_10: 0x56,
  RELEASE_10: 0x57,
  MODE_SENSE_10: 0x5a,
  PERSISTENT_RESERVE_IN: 0x5e,
  PERSISTENT_RESERVE_OUT: 0x5f,
  EXTENDED_COPY: 0x83,
  RECEIVE_COPY_RESULTS: 0x84,
  READ_16: 0x88,
  COMPARE_AND_WRITE: 0x89,
  WRITE_16: 0x8a,
  WRITE_AND_VERIFY_16: 0x8e,
  VERIFY_16: 0x8f,
  PRE_FETCH_16: 0x90,
  SYNCHRONIZE_CACHE_16: 0x91,
  WRITE_SAME_16: 0x93,
  SERVICE_ACTION_IN_16: 0x9e,
  REPORT_LUNS: 0xa0,
  MAINTENANCE_IN: 0xa3,
  MAINTENANCE_OUT: 0xa4,
  READ_12: 0xa8,
  WRITE_12: 0xaa,
  WRITE_AND_VERIFY_12: 0xae,
  VERIFY_12: 0xaf,
} as const;

/** Service actions of SERVICE ACTION IN (16). */
export const ServiceActionIn16 = {
  READ_CAPACITY_16: 0x10,
  GET_LBA_STATUS: 0x12,
} as const;

/** Service actions of MAINTENANCE IN. */
export const MaintenanceIn = {
  REPORT_TARGET_PORT_GROUPS: 0x0a,
  REPORT_SUPPORTED_OPERATION_CODES: 0x0c,
} as const;

/** Service actions of MAINTENANCE OUT. */
export const MaintenanceOut = {
  SET_TARGET_PORT_GROUPS: 0x0a,
} as const;

/** Service actions of EXTENDED COPY and RECEIVE COPY RESULTS (SPC-4 LID1 forms). */
export const ExtendedCopyAction = {
  EXTENDED_COPY_LID1: 0x00,
} as const;

export const ReceiveCopyResultsAction = {
  COPY_STATUS: 0x00,
  OPERATING_PARAMETERS: 0x03,
} as const;

// ---- sense ----
export const SENSE_FIXED_CURRENT = 0x70;
export const SENSE_DESCRIPTOR_CURRENT = 0x72;
export const SENSE_FIXED_LENGTH = 18;

export const SenseKey = {
  NO_SENSE: 0x0,
  RECOVERED_ERROR: 0x1,
  NOT_READY: 0x2,
  MEDIUM_ERROR: 0x3,
  HARDWARE_ERROR: 0x4,
  ILLEGAL_REQUEST: 0x5,
  UNIT_ATTENTION: 0x6,
  DATA_PROTECT: 0x7,
  COPY_ABORTED: 0xa,
  ABORTED_COMMAND: 0xb,
  MISCOMPARE: 0xe,
} as const;

/** An additional sense code and its qualifier. */
export interface AdditionalSense {
  readonly asc: number;
  readonly ascq: number;
}

export const Asc = {
  NO_ADDITIONAL_SENSE_INFORMATION: { asc: 0x00, ascq: 0x00 },
  OPERATION_IN_PROGRESS: { asc: 0x00, ascq: 0x16 },
  ASYMMETRIC_ACCESS_STATE_TRANSITION: { asc: 0x04, ascq: 0x0a },
  TARGET_PORT_IN_STANDBY_STATE: { asc: 0x04, ascq: 0x0b },
  TARGET_PORT_IN_UNAVAILABLE_STATE: { asc: 0x04, ascq: 0x0c },
  WRITE_ERROR: { asc: 0x0c, ascq: 0x00 },
  COPY_TARGET_DEVICE_NOT_REACHABLE: { asc: 0x0d, ascq: 0x02 },
  COPY_SEGMENT_GRANULARITY_VIOLATION: { asc: 0x0d, ascq: 0x06 },
  INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT: { asc: 0x0e, ascq: 0x03 },
  UNRECOVERED_READ_ERROR: { asc: 0x11, ascq: 0x00 },
  PARAMETER_LIST_LENGTH_ERROR: { asc: 0x1a, ascq: 0x00 },
  MISCOMPARE_DURING_VERIFY_OPERATION: { asc: 0x1d, ascq: 0x00 },
  INVALID_COMMAND_OPERATION_CODE: { asc: 0x20, ascq: 0x00 },
  LOGICAL_BLOCK_ADDRESS_OUT_OF_RANGE: { asc: 0x21, ascq: 0x00 },
  INVALID_FIELD_IN_CDB: { asc: 0x24, ascq: 0x00 },
  LOGICAL_UNIT_NOT_SUPPORTED: { asc: 0x25, ascq: 0x00 },
  INVALID_FIELD_IN_PARAMETER_LIST: { asc: 0x26, ascq: 0x00 },
  INVALID_RELEASE_OF_PERSISTENT_RESERVATION: { asc: 0x26, ascq: 0x04 },
  TOO_MANY_TARGET_DESCRIPTORS: { asc: 0x26, ascq: 0x06 },
  UNSUPPORTED_TARGET_DESCRIPTOR_TYPE_CODE: { asc: 0x26, ascq: 0x07 },
  TOO_MANY_SEGMENT_DESCRIPTORS: { asc: 0x26, ascq: 0x08 },
  UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE_CODE: { asc: 0x26, ascq: 0x09 },
  POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED: { asc: 0x29, ascq: 0x00 },
  BUS_DEVICE_RESET_FUNCTION_OCCURRED: { asc: 0x29, ascq: 0x03 },
  MODE_PARAMETERS_CHANGED: { asc: 0x2a, ascq: 0x01 },
  RESERVATIONS_PREEMPTED: { asc: 0x2a, ascq: 0x03 },
  RESERVATIONS_RELEASED: { asc: 0x2a, ascq: 0x04 },
  REGISTRATIONS_PREEMPTED: { asc: 0x2a, ascq: 0x05 },
  ASYMMETRIC_ACCESS_STATE_CHANGED: { asc: 0x2a, ascq: 0x06 },
  SAVING_PARAMETERS_NOT_SUPPORTED: { asc: 0x39, ascq: 0x00 },
  INTERNAL_TARGET_FAILURE: { asc: 0x44, ascq: 0x00 },
  INSUFFICIENT_REGISTRATION_RESOURCES: { asc: 0x55, ascq: 0x04 },
} as const satisfies Record<string, AdditionalSense>;

/** ASC shared by every reset-class unit attention (SPC-4 table "ASC and ASCQ assignments"). */
export const ASC_RESET_OCCURRED = 0x29;

// Sense data descriptor types (SPC-4 4.5.2).
export const SenseDescriptorType = {
  INFORMATION: 0x00,
  SENSE_KEY_SPECIFIC: 0x02,
} as const;

// ---- INQUIRY ----
export const PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS = 0x00;
export const PERIPHERAL_DEVICE_TYPE_UNKNOWN = 0x1f;
export const PERIPHERAL_QUALIFIER_CONNECTED = 0x0;
export const PERIPHERAL_QUALIFIER_NOT_SUPPORTED = 0x3;
export const INQUIRY_VERSION_SPC_4 = 0x06;
export const RESPONSE_DATA_FORMAT_SPC = 0x02;
/** TPGS field value: implicit and explicit asymmetric logical unit access. */
export const TPGS_IMPLICIT_AND_EXPLICIT = 0b11;

// ---- asymmetric logical unit access (SPC-4 5.15.2) ----
export const AccessState = {
  ACTIVE_OPTIMIZED: 0x0,
  ACTIVE_NON_OPTIMIZED: 0x1,
  STANDBY: 0x2,
  UNAVAILABLE: 0x3,
  TRANSITIONING: 0xf,
} as const;

export type AccessStateValue = (typeof AccessState)[keyof typeof AccessState];

/** REPORT TARGET PORT GROUPS byte 1 of a descriptor: T_SUP, U_SUP, S_SUP, AN_SUP, AO_SUP. */
export const SUPPORTED_ACCESS_STATES = 0x8f;

export const VersionDescriptor = {
  SAM_5: 0x00a0,
  ISCSI: 0x0960,
  SPC_4: 0x0460,
  SBC_3: 0x04c0,
} as const;

export const VpdPage = {
  SUPPORTED_VPD_PAGES: 0x00,
  UNIT_SERIAL_NUMBER: 0x80,
  DEVICE_IDENTIFICATION: 0x83,
  THIRD_PARTY_COPY: 0x8f,
  BLOCK_LIMITS: 0xb0,
  BLOCK_DEVICE_CHARACTERISTICS: 0xb1,
  LOGICAL_BLOCK_PROVISIONING: 0xb2,
} as const;

// Device identification VPD (SPC-4 7.8.6).
export const ProtocolIdentifier = {
  ISCSI: 0x5,
} as const;

export const CodeSet = {
  BINARY: 0x1,
  UTF_8: 0x3,
} as const;

export const Association = {
  LOGICAL_UNIT: 0x0,
  TARGET_PORT: 0x1,
  TARGET_DEVICE: 0x2,
} as const;

export const DesignatorType = {
  NAA: 0x3,
  RELATIVE_TARGET_PORT_IDENTIFIER: 0x4,
  TARGET_PORT_GROUP: 0x5,
  SCSI_NAME_STRING: 0x8,
} as const;

/** MEDIUM ROTATION RATE value for a non-rotating medium (SBC-3 6.6.2). */
export const MEDIUM_ROTATION_RATE_NON_ROTATING = 0x0001;

// ---- MODE SENSE / MODE SELECT ----
export const ModePage = {
  CACHING: 0x08,
  CONTROL: 0x0a,
  INFORMATIONAL_EXCEPTIONS_CONTROL: 0x1c,
  RETURN_ALL_PAGES: 0x3f,
} as const;

export const ALL_SUBPAGES = 0xff;

export const PageControl = {
  CURRENT: 0b00,
  CHANGEABLE: 0b01,
  DEFAULT: 0b10,
  SAVED: 0b11,
} as const;

/** DEVICE-SPECIFIC PARAMETER bit: DPO and FUA are supported (SBC-3 6.4.1). */
export const DEVICE_SPECIFIC_DPOFUA = 0x10;
export const SHORT_LBA_BLOCK_DESCRIPTOR_LENGTH = 8;
export const LONG_LBA_BLOCK_DESCRIPTOR_LENGTH = 16;

// ---- REPORT LUNS ----
export const SelectReport = {
  ALL_LOGICAL_UNITS_EXCEPT_WELL_KNOWN: 0x00,
  WELL_KNOWN_LOGICAL_UNITS_ONLY: 0x01,
  ALL_LOGICAL_UNITS: 0x02,
} as const;

// ---- REPORT SUPPORTED OPERATION CODES ----
export const ReportingOptions = {
  ALL_COMMANDS: 0b000,
  ONE_COMMAND_OPCODE: 0b001,
  ONE_COMMAND_OPCODE_AND_SERVICE_ACTION: 0b010,
  ONE_COMMAND_OPCODE_MAYBE_SERVICE_ACTION: 0b011,
} as const;

export const CommandSupport = {
  NOT_SUPPORTED: 0b001,
  SUPPORTED_AS_STANDARD: 0b011,
} as const;

export const COMMAND_TIMEOUTS_DESCRIPTOR_LENGTH = 0x0a;

// ---- SBC field values ----
/** BYTCHK field of VERIFY and WRITE AND VERIFY (SBC-4 5.31). */
export const ByteCheck = {
  MEDIUM_ONLY: 0b00,
  COMPARE_ALL: 0b01,
  COMPARE_ONE_BLOCK_TO_EACH: 0b11,
} as const;

/** POWER CONDITION of START STOP UNIT meaning "process the START and LOEJ bits". */
export const POWER_CONDITION_START_VALID = 0x0;

/** PROVISIONING TYPE of the Logical Block Provisioning VPD page (SBC-4 6.6.7). */
export const ProvisioningType = {
  FULL: 0b000,
  THIN: 0b010,
} as const;

/** PROVISIONING STATUS of a GET LBA STATUS descriptor. */
export const ProvisioningStatus = {
  MAPPED: 0x0,
  DEALLOCATED: 0x1,
} as const;

// ---- limits this device server advertises (Block Limits VPD, copy manager parameters) ----
export const MAXIMUM_COMPARE_AND_WRITE_BLOCKS = 255;
/** No more than one WRITE may carry (8 MiB), so an initiator can write the range to check it. */
export const MAXIMUM_WRITE_SAME_BYTES = 8 * 1024 * 1024;
export const MAXIMUM_UNMAP_BYTES = 256 * 1024 * 1024;
export const MAXIMUM_UNMAP_BLOCK_DESCRIPTORS = 256;
export const MAXIMUM_COPY_TARGET_DESCRIPTORS = 4;
export const MAXIMUM_COPY_SEGMENT_DESCRIPTORS = 16;
/** Target and segment descriptors together, in bytes. */
export const MAXIMUM_COPY_DESCRIPTOR_LIST_LENGTH = 1024;
export const MAXIMUM_COPY_SEGMENT_BYTES = 256 * 1024 * 1024;
/** EXTENDED COPY commands the copy manager runs at once (it does not limit them). */
export const TOTAL_CONCURRENT_COPIES = 16;

// ---- third-party copy (SPC-4 6.4, 7.8.17) ----
export const CopyDescriptorType = {
  BLOCK_TO_BLOCK: 0x02,
  IDENTIFICATION_TARGET: 0xe4,
} as const;

/** Descriptor types of the Third-party Copy VPD page. */
export const ThirdPartyCopyDescriptorType = {
  SUPPORTED_COMMANDS: 0x0001,
  PARAMETER_DATA: 0x0004,
  SUPPORTED_DESCRIPTORS: 0x0008,
  SUPPORTED_CSCD_IDS: 0x000c,
  GENERAL_COPY_OPERATIONS: 0x8001,
} as const;

/** LIST ID USAGE of the EXTENDED COPY parameter list header. */
export const ListIdUsage = {
  HOLD: 0b00,
  HOLD_STATUS_ONLY: 0b10,
  NONE: 0b11,
} as const;

/** COPY MANAGER STATUS of RECEIVE COPY RESULTS (COPY STATUS). */
export const CopyManagerStatus = {
  COMPLETED: 0x00,
  COMPLETED_WITH_ERRORS: 0x01,
  IN_PROGRESS: 0x10,
} as const;

/** TRANSFER COUNT UNITS of RECEIVE COPY RESULTS (COPY STATUS). */
export const TransferCountUnits = {
  BYTES: 0x00,
  KIBIBYTES: 0xf1,
} as const;

// ---- persistent reservations (SPC-4 6.16, 6.17) ----
/** Service actions of PERSISTENT RESERVE IN. */
export const PersistentReserveInAction = {
  READ_KEYS: 0x00,
  READ_RESERVATION: 0x01,
  REPORT_CAPABILITIES: 0x02,
  READ_FULL_STATUS: 0x03,
} as const;

/** Service actions of PERSISTENT RESERVE OUT. */
export const PersistentReserveOutAction = {
  REGISTER: 0x00,
  RESERVE: 0x01,
  RELEASE: 0x02,
  CLEAR: 0x03,
  PREEMPT: 0x04,
  PREEMPT_AND_ABORT: 0x05,
  REGISTER_AND_IGNORE_EXISTING_KEY: 0x06,
  REGISTER_AND_MOVE: 0x07,
} as const;

/** TYPE field of PERSISTENT RESERVE OUT and READ RESERVATION. */
export const PersistentReservationType = {
  WRITE_EXCLUSIVE: 0x1,
  EXCLUSIVE_ACCESS: 0x3,
  WRITE_EXCLUSIVE_REGISTRANTS_ONLY: 0x5,
  EXCLUSIVE_ACCESS_REGISTRANTS_ONLY: 0x6,
  WRITE_EXCLUSIVE_ALL_REGISTRANTS: 0x7,
  EXCLUSIVE_ACCESS_ALL_REGISTRANTS: 0x8,
} as const;

export type PersistentReservationTypeValue =
  (typeof PersistentReservationType)[keyof typeof PersistentReservationType];

/** SCOPE field value: the reservation applies to the whole logical unit. */
export const LU_SCOPE = 0x0;

/** FORMAT CODE of an iSCSI TransportID (SPC-4 7.6.4.6). */
export const IscsiTransportIdFormat = {
  INITIATOR_DEVICE: 0b00,
  INITIATOR_PORT: 0b01,
} as const;
