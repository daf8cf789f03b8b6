// iSCSI protocol constants, named as RFC 7143 names them (section numbers in the comments).

// ---- Basic Header Segment layout (11.2) ----
export const BHS_LENGTH = 48;
export const DIGEST_LENGTH = 4;
export const PDU_ALIGNMENT = 4;
export const RESERVED_TAG = 0xffffffff;
export const BHS_IMMEDIATE_BIT = 0x40; // byte 0
export const BHS_OPCODE_MASK = 0x3f; // byte 0
export const BHS_FINAL_BIT = 0x80; // byte 1

// ---- Opcodes (11.2.1.2) ----
export const OP_NOP_OUT = 0x00;
export const OP_SCSI_COMMAND = 0x01;
export const OP_TASK_MGMT_REQUEST = 0x02;
export const OP_LOGIN_REQUEST = 0x03;
export const OP_TEXT_REQUEST = 0x04;
export const OP_SCSI_DATA_OUT = 0x05;
export const OP_LOGOUT_REQUEST = 0x06;
export const OP_SNACK_REQUEST = 0x10;
export const OP_NOP_IN = 0x20;
export const OP_SCSI_RESPONSE = 0x21;
export const OP_TASK_MGMT_RESPONSE = 0x22;
export const OP_LOGIN_RESPONSE = 0x23;
export const OP_TEXT_RESPONSE = 0x24;
export const OP_SCSI_DATA_IN = 0x25;
export const OP_LOGOUT_RESPONSE = 0x26;
export const OP_R2T = 0x31;
export const OP_ASYNC_MESSAGE = 0x32;
export const OP_REJECT = 0x3f;
/** Opcodes at or above this value are sent by targets. */
export const OP_TARGET_FIRST = 0x20;

// ---- SCSI Command flags, byte 1 (11.3.1) ----
export const SCSI_CMD_FLAG_READ = 0x40;
export const SCSI_CMD_FLAG_WRITE = 0x20;
export const SCSI_CMD_ATTR_MASK = 0x07;
export const TASK_ATTR_UNTAGGED = 0;
export const TASK_ATTR_SIMPLE = 1;
export const TASK_ATTR_ORDERED = 2;
export const TASK_ATTR_HEAD_OF_QUEUE = 3;
export const TASK_ATTR_ACA = 4;
export const CDB_LENGTH_IN_BHS = 16;

// ---- Additional Header Segment types (11.2.1.4) ----
export const AHS_TYPE_EXTENDED_CDB = 1;
export const AHS_TYPE_BIDI_READ_LENGTH = 2;
/** AHSLength of the Bidirectional Read Expected Data Transfer Length AHS (11.3.5). */
export const AHS_BIDI_READ_LENGTH_LENGTH = 5;

// ---- SCSI Response flags, byte 1, and response codes (11.4) ----
export const SCSI_RESP_FLAG_BIDI_OVERFLOW = 0x10; // o
export const SCSI_RESP_FLAG_BIDI_UNDERFLOW = 0x08; // u
export const SCSI_RESP_FLAG_OVERFLOW = 0x04; // O
export const SCSI_RESP_FLAG_UNDERFLOW = 0x02; // U
export const SCSI_RESPONSE_COMMAND_COMPLETED = 0x00;
export const SCSI_RESPONSE_TARGET_FAILURE = 0x01;

// ---- SCSI Data-In flags, byte 1 (11.7) ----
export const DATA_IN_FLAG_ACKNOWLEDGE = 0x40; // A
export const DATA_IN_FLAG_OVERFLOW = 0x04; // O
export const DATA_IN_FLAG_UNDERFLOW = 0x02; // U
export const DATA_IN_FLAG_STATUS = 0x01; // S

// ---- Text and Login flags, byte 1 (11.10, 11.12) ----
export const TEXT_FLAG_CONTINUE = 0x40; // C
export const LOGIN_FLAG_TRANSIT = 0x80; // T
export const LOGIN_FLAG_CONTINUE = 0x40; // C
export const LOGIN_CSG_SHIFT = 2;
export const LOGIN_STAGE_MASK = 0x03;

// ---- Login stages (11.12.3) ----
export const STAGE_SECURITY_NEGOTIATION = 0;
export const STAGE_LOGIN_OPERATIONAL_NEGOTIATION = 1;
export const STAGE_FULL_FEATURE_PHASE = 3;
export const ISCSI_VERSION = 0x00;

// ---- Login Status-Class and Status-Detail (11.13.5) ----
export const LOGIN_STATUS_SUCCESS = 0x00;
export const LOGIN_STATUS_REDIRECTION = 0x01;
export const LOGIN_STATUS_INITIATOR_ERROR = 0x02;
export const LOGIN_STATUS_TARGET_ERROR = 0x03;
export const LOGIN_DETAIL_SUCCESS = 0x00;
export const LOGIN_DETAIL_TARGET_MOVED_TEMPORARILY = 0x01;
export const LOGIN_DETAIL_TARGET_MOVED_PERMANENTLY = 0x02;
export const LOGIN_DETAIL_INITIATOR_ERROR = 0x00;
export const LOGIN_DETAIL_AUTHENTICATION_FAILURE = 0x01;
export const LOGIN_DETAIL_AUTHORIZATION_FAILURE = 0x02;
export const LOGIN_DETAIL_NOT_FOUND = 0x03;
export const LOGIN_DETAIL_TARGET_REMOVED = 0x04;
export const LOGIN_DETAIL_UNSUPPORTED_VERSION = 0x05;
export const LOGIN_DETAIL_TOO_MANY_CONNECTIONS = 0x06;
export const LOGIN_DETAIL_MISSING_PARAMETER = 0x07;
export const LOGIN_DETAIL_CANT_INCLUDE_IN_SESSION = 0x08;
export const LOGIN_DETAIL_SESSION_TYPE_NOT_SUPPORTED = 0x09;
export const LOGIN_DETAIL_SESSION_DOES_NOT_EXIST = 0x0a;
export const LOGIN_DETAIL_INVALID_DURING_LOGIN = 0x0b;
export const LOGIN_DETAIL_TARGET_ERROR = 0x00;
export const LOGIN_DETAIL_SERVICE_UNAVAILABLE = 0x01;
export const LOGIN_DETAIL_OUT_OF_RESOURCES = 0x02;

// ---- Task Management Function Request functions (11.5.1) ----
export const TMF_FUNCTION_MASK = 0x7f;
export const TMF_ABORT_TASK = 1;
export const TMF_ABORT_TASK_SET = 2;
export const TMF_CLEAR_ACA = 3;
export const TMF_CLEAR_TASK_SET = 4;
export const TMF_LOGICAL_UNIT_RESET = 5;
export const TMF_TARGET_WARM_RESET = 6;
export const TMF_TARGET_COLD_RESET = 7;
export const TMF_TASK_REASSIGN = 8;

// ---- Task Management Function Response codes (11.6.1) ----
export const TMF_RESP_FUNCTION_COMPLETE = 0;
export const TMF_RESP_TASK_DOES_NOT_EXIST = 1;
export const TMF_RESP_LUN_DOES_NOT_EXIST = 2;
export const TMF_RESP_TASK_STILL_ALLEGIANT = 3;
export const TMF_RESP_TASK_ALLEGIANCE_REASSIGNMENT_NOT_SUPPORTED = 4;
export const TMF_RESP_FUNCTION_NOT_SUPPORTED = 5;
export const TMF_RESP_FUNCTION_AUTHORIZATION_FAILED = 6;
export const TMF_RESP_FUNCTION_REJECTED = 255;

// ---- Reject reasons (11.17.1) ----
export const REJECT_DATA_DIGEST_ERROR = 0x02;
export const REJECT_SNACK_REJECT = 0x03;
export const REJECT_PROTOCOL_ERROR = 0x04;
export const REJECT_COMMAND_NOT_SUPPORTED = 0x05;
export const REJECT_IMMEDIATE_COMMAND_REJECT = 0x06;
export const REJECT_TASK_IN_PROGRESS = 0x07;
export const REJECT_INVALID_DATA_ACK = 0x08;
export const REJECT_INVALID_PDU_FIELD = 0x09;
export const REJECT_LONG_OPERATION_REJECT = 0x0a;
export const REJECT_WAITING_FOR_LOGOUT = 0x0c;

// ---- Asynchronous events (11.9.1) ----
export const ASYNC_EVENT_SCSI_ASYNC_EVENT = 0;
export const ASYNC_EVENT_REQUEST_LOGOUT = 1;
export const ASYNC_EVENT_DROPPING_CONNECTION = 2;
export const ASYNC_EVENT_DROPPING_ALL_CONNECTIONS = 3;
export const ASYNC_EVENT_REQUEST_NEGOTIATION = 4;
export const ASYNC_EVENT_TASK_TERMINATION = 5;
export const ASYNC_EVENT_VENDOR_SPECIFIC = 255;

// ---- Logout reason codes (11.14.1) and responses (11.15.1) ----
export const LOGOUT_REASON_MASK = 0x7f;
export const LOGOUT_REASON_CLOSE_SESSION = 0;
export const LOGOUT_REASON_CLOSE_CONNECTION = 1;
export const LOGOUT_REASON_REMOVE_CONNECTION_FOR_RECOVERY = 2;
export const LOGOUT_RESP_CLOSED_SUCCESSFULLY = 0;
export const LOGOUT_RESP_CID_NOT_FOUND = 1;
export const LOGOUT_RESP_RECOVERY_NOT_SUPPORTED = 2;
export const LOGOUT_RESP_CLEANUP_FAILED = 3;

// ---- SNACK types (11.16.1) ----
export const SNACK_TYPE_MASK = 0x0f;
export const SNACK_TYPE_DATA_R2T = 0;
export const SNACK_TYPE_STATUS = 1;
export const SNACK_TYPE_DATA_ACK = 2;
export const SNACK_TYPE_R_DATA = 3;

// ---- Text key limits (6.1) ----
export const TEXT_KEY_MAX_LENGTH = 63;
export const TEXT_VALUE_MAX_LENGTH = 255;
/** Limit for the large binary CHAP values (CHAP_C, CHAP_R); RFC 7143 sets 1024 bytes raw. */
export const TEXT_LARGE_VALUE_MAX_LENGTH = 8192;
