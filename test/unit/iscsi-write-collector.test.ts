import { describe, expect, it } from "vitest";
import { DataOutError, WriteCollector } from "../../src/iscsi/write-collector.ts";
import type { DataOutPdu } from "../../src/iscsi/pdu-types.ts";
import { RESERVED_TAG } from "../../src/iscsi/constants.ts";

const params = { initialR2T: false, firstBurstLength: 8, maxBurstLength: 16, maxOutstandingR2T: 2 };

function dataOut(ttt: number, dataSN: number, bufferOffset: number, bytes: number[],
  final: boolean): DataOutPdu {
  return { final, lun: 0, itt: 1, ttt, expStatSN: 0, dataSN, bufferOffset,
    data: Buffer.from(bytes) };
}

function counter() {
  let next = 100;
  return () => next++;
}

describe("WriteCollector", () => {
  it("takes immediate, unsolicited and solicited data into one buffer", () => {
    const payload = Array.from({ length: 40 }, (_, i) => i);
    const collector = new WriteCollector(40, Buffer.from(payload.slice(0, 4)), false, params,
      counter());
    const r2ts = collector.nextR2ts();
    expect(r2ts).toEqual([
      { ttt: 100, r2tSN: 0, bufferOffset: 8, desiredDataTransferLength: 16 },
      { ttt: 101, r2tSN: 1, bufferOffset: 24, desiredDataTransferLength: 16 },
    ]);
    collector.accept(dataOut(RESERVED_TAG, 0, 4, payload.slice(4, 8), true));
    collector.accept(dataOut(100, 0, 8, payload.slice(8, 16), false));
    collector.accept(dataOut(100, 1, 16, payload.slice(16, 24), true));
    expect(collector.complete).toBe(false);
    collector.accept(dataOut(101, 0, 24, payload.slice(24, 40), true));
    expect(collector.complete).toBe(true);
    expect([...collector.buffer]).toEqual(payload);
    expect(collector.r2tsSent).toBe(2);
  });

  it("keeps at most MaxOutstandingR2T bursts open", () => {
    const collector = new WriteCollector(64, Buffer.alloc(0), true,
      { ...params, initialR2T: true, maxOutstandingR2T: 1 }, counter());
    expect(collector.nextR2ts()).toHaveLength(1);
    expect(collector.nextR2ts()).toHaveLength(0);
    collector.accept(dataOut(100, 0, 0, new Array(16).fill(1), true));
    expect(collector.nextR2ts()).toEqual([
      { ttt: 101, r2tSN: 1, bufferOffset: 16, desiredDataTransferLength: 16 },
    ]);
  });

  it("rejects a wrong DataSN, offset, TTT or an overrun", () => {
    const make = () => {
      const c = new WriteCollector(32, Buffer.alloc(0), true, { ...params, initialR2T: true },
        counter());
      c.nextR2ts();
      return c;
    };
    expect(() => make().accept(dataOut(100, 1, 0, [1], false))).toThrow(DataOutError);
    expect(() => make().accept(dataOut(100, 0, 4, [1], false))).toThrow(/BufferOffset/);
    expect(() => make().accept(dataOut(7, 0, 0, [1], false))).toThrow(/TTT/);
    expect(() => make().accept(dataOut(100, 0, 0, new Array(17).fill(0), true)))
      .toThrow(/past its burst/);
    expect(() => make().accept(dataOut(RESERVED_TAG, 0, 0, [1], false))).toThrow(/TTT/);
  });

  it("refuses immediate data longer than the transfer", () => {
    expect(() => new WriteCollector(2, Buffer.alloc(4), true, params, counter()))
      .toThrow(DataOutError);
  });
});
