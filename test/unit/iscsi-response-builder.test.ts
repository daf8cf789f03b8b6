import { describe, expect, it } from "vitest";
import { planResponse } from "../../src/iscsi/response-builder.ts";

describe("planResponse", () => {
  it("splits Data-In by segment and burst and collapses GOOD status into the last PDU", () => {
    const data = Buffer.from(Array.from({ length: 10 }, (_, i) => i));
    const plan = planResponse(7, 0, { status: 0, dataIn: data, residualUnderflow: true,
      residualCount: 6 }, 3, 6, 0);
    expect(plan.response).toBeNull();
    expect(plan.dataIns.map((d) => [d.fields.bufferOffset, d.data.length, d.fields.final,
      d.fields.dataSN])).toEqual([[0, 3, false, 0], [3, 3, true, 1], [6, 3, false, 2],
      [9, 1, true, 3]]);
    const last = plan.dataIns[3].fields;
    expect(last.statusPresent).toBe(true);
    expect(last.residualUnderflow).toBe(true);
    expect(last.residualCount).toBe(6);
    expect(plan.dataIns[0].fields.statusPresent).toBe(false);
    expect(plan.dataIns[1].data.buffer).toBe(data.buffer);
  });

  it("sends sense in a SCSI Response with a SenseLength prefix", () => {
    const sense = Buffer.from([0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0, 0, 0, 0, 0]);
    const plan = planResponse(9, 1, { status: 2, sense }, 8192, 65536, 3);
    expect(plan.dataIns).toHaveLength(0);
    expect(plan.response!.status).toBe(2);
    expect(plan.response!.expDataSN).toBe(3);
    expect(plan.responseData.readUInt16BE(0)).toBe(sense.length);
    expect(plan.responseData.subarray(2)).toEqual(sense);
  });

  it("answers a command without data with a plain SCSI Response", () => {
    const plan = planResponse(1, 0, { status: 0 }, 8192, 65536, 0);
    expect(plan.dataIns).toHaveLength(0);
    expect(plan.response!.dataSegmentLength).toBe(0);
  });
});
