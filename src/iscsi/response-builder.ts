// Turns one SCSI result into the PDUs that carry it: Data-In PDUs of at most the initiator's
// MaxRecvDataSegmentLength, sequences of at most MaxBurstLength, and either status in the last
// Data-In (phase collapse) or a SCSI Response carrying sense data. Payloads stay views.
import type { ScsiResult } from "../scsi/types.ts";
import type { DataInFields, ScsiResponseFields } from "./pdu-types.ts";
import { RESERVED_TAG } from "./constants.ts";

const SAM_STATUS_GOOD = 0x00;

export interface DataInPlan {
  dataIns: Array<{ fields: Omit<DataInFields, "statSN" | "expCmdSN" | "maxCmdSN">; data: Buffer }>;
  /** Present when status cannot ride in the last Data-In. */
  response: Omit<ScsiResponseFields, "statSN" | "expCmdSN" | "maxCmdSN"> | null;
  responseData: Buffer;
}

export function planResponse(
  itt: number,
  lun: number,
  result: ScsiResult,
  maxSegmentBytes: number,
  maxBurstBytes: number,
  r2tsSent: number,
): DataInPlan {
  const dataIn = result.dataIn ?? Buffer.alloc(0);
  const collapse = result.status === SAM_STATUS_GOOD && result.sense === undefined &&
    dataIn.length > 0;
  const residual = {
    residualOverflow: result.residualOverflow === true,
    residualUnderflow: result.residualUnderflow === true,
    residualCount: result.residualCount ?? 0,
  };
  const dataIns: DataInPlan["dataIns"] = [];
  let offset = 0;
  let burstStart = 0;
  while (offset < dataIn.length) {
    const burstEnd = Math.min(burstStart + maxBurstBytes, dataIn.length);
    const length = Math.min(maxSegmentBytes, burstEnd - offset);
    const last = offset + length === dataIn.length;
    const statusHere = last && collapse;
    dataIns.push({
      fields: {
        final: offset + length === burstEnd,
        acknowledge: false,
        residualOverflow: statusHere && residual.residualOverflow,
        residualUnderflow: statusHere && residual.residualUnderflow,
        statusPresent: statusHere,
        status: statusHere ? result.status : 0,
        lun,
        itt,
        ttt: RESERVED_TAG,
        dataSN: dataIns.length,
        bufferOffset: offset,
        residualCount: statusHere ? residual.residualCount : 0,
        dataSegmentLength: length,
      },
      data: dataIn.subarray(offset, offset + length),
    });
    offset += length;
    if (offset === burstEnd) burstStart = burstEnd;
  }
  if (collapse) return { dataIns, response: null, responseData: Buffer.alloc(0) };
  const responseData = result.sense === undefined ? Buffer.alloc(0) : senseSegment(result.sense);
  return {
    dataIns,
    response: {
      itt,
      response: 0,
      status: result.status,
      bidiReadResidualOverflow: false,
      bidiReadResidualUnderflow: false,
      ...residual,
      expDataSN: dataIns.length + r2tsSent,
      bidiReadResidualCount: 0,
      dataSegmentLength: responseData.length,
    },
    responseData,
  };
}

/** SCSI Response data segment: a 2-byte SenseLength, then the sense bytes (RFC 7143 11.4.7). */
function senseSegment(sense: Buffer): Buffer {
  const segment = Buffer.allocUnsafe(2 + sense.length);
  segment.writeUInt16BE(sense.length, 0);
  sense.copy(segment, 2);
  return segment;
}
