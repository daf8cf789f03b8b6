// Collects the Data-Out bytes of one write command into one buffer: immediate data, the
// unsolicited burst (InitialR2T=No), then bursts solicited with R2T, at most MaxOutstandingR2T
// at a time. Sequences must arrive in order (DataPDUInOrder and DataSequenceInOrder are Yes).
import type { DataOutPdu } from "./pdu-types.ts";
import { RESERVED_TAG } from "./constants.ts";
import { allocIoBuffer } from "../device/native.ts";

const ALIGNED_BUFFER_MIN_BYTES = 64 * 1024;

export interface WriteTransferParams {
  initialR2T: boolean;
  firstBurstLength: number;
  maxBurstLength: number;
  maxOutstandingR2T: number;
}

export interface R2tRequest {
  ttt: number;
  r2tSN: number;
  bufferOffset: number;
  desiredDataTransferLength: number;
}

interface Sequence {
  ttt: number;
  endOffset: number;
  nextOffset: number;
  nextDataSN: number;
}

export class DataOutError extends Error {
  constructor(readonly code: "DATA_SN" | "BUFFER_OFFSET" | "TTT" | "LENGTH", message: string) {
    super(message);
  }
}

export class WriteCollector {
  readonly buffer: Buffer;
  private receivedBytes = 0;
  private nextSolicitOffset: number;
  private r2tCount = 0;
  private readonly sequences = new Map<number, Sequence>();

  constructor(
    expectedLength: number,
    immediateData: Buffer,
    commandFinal: boolean,
    private readonly params: WriteTransferParams,
    private readonly allocateTtt: () => number,
  ) {
    if (immediateData.length > expectedLength) {
      throw new DataOutError("LENGTH", "immediate data longer than ExpectedDataTransferLength");
    }
    this.buffer = collectionBuffer(expectedLength, immediateData);
    this.receivedBytes = immediateData.length;
    let unsolicitedEnd = immediateData.length;
    if (!params.initialR2T && !commandFinal) {
      unsolicitedEnd = Math.min(params.firstBurstLength, expectedLength);
      if (unsolicitedEnd > immediateData.length) {
        this.sequences.set(RESERVED_TAG, {
          ttt: RESERVED_TAG,
          endOffset: unsolicitedEnd,
          nextOffset: immediateData.length,
          nextDataSN: 0,
        });
      }
    }
    this.nextSolicitOffset = unsolicitedEnd;
  }

  get complete(): boolean {
    return this.receivedBytes === this.buffer.length;
  }

  /** R2Ts to send now, keeping at most MaxOutstandingR2T solicited bursts open. */
  nextR2ts(): R2tRequest[] {
    const requests: R2tRequest[] = [];
    while (this.nextSolicitOffset < this.buffer.length && this.openSolicited() <
      this.params.maxOutstandingR2T) {
      const length = Math.min(this.params.maxBurstLength,
        this.buffer.length - this.nextSolicitOffset);
      const ttt = this.allocateTtt();
      this.sequences.set(ttt, {
        ttt,
        endOffset: this.nextSolicitOffset + length,
        nextOffset: this.nextSolicitOffset,
        nextDataSN: 0,
      });
      requests.push({
        ttt,
        r2tSN: this.r2tCount++,
        bufferOffset: this.nextSolicitOffset,
        desiredDataTransferLength: length,
      });
      this.nextSolicitOffset += length;
    }
    return requests;
  }

  get r2tsSent(): number {
    return this.r2tCount;
  }

  /** Copies one Data-Out PDU into place; throws DataOutError on a protocol violation. */
  accept(pdu: DataOutPdu): void {
    const sequence = this.sequences.get(pdu.ttt);
    if (sequence === undefined) {
      throw new DataOutError("TTT", `Data-Out with unknown TTT 0x${pdu.ttt.toString(16)}`);
    }
    if (pdu.dataSN !== sequence.nextDataSN) {
      throw new DataOutError("DATA_SN",
        `Data-Out DataSN ${pdu.dataSN}, expected ${sequence.nextDataSN}`);
    }
    if (pdu.bufferOffset !== sequence.nextOffset) {
      throw new DataOutError("BUFFER_OFFSET",
        `Data-Out BufferOffset ${pdu.bufferOffset}, expected ${sequence.nextOffset}`);
    }
    const end = pdu.bufferOffset + pdu.data.length;
    if (end > sequence.endOffset) {
      throw new DataOutError("LENGTH", `Data-Out runs past its burst end ${sequence.endOffset}`);
    }
    if (pdu.final !== (end === sequence.endOffset)) {
      throw new DataOutError("LENGTH", "Data-Out F bit does not match the end of its burst");
    }
    pdu.data.copy(this.buffer, pdu.bufferOffset);
    this.receivedBytes += pdu.data.length;
    sequence.nextOffset = end;
    sequence.nextDataSN++;
    if (end === sequence.endOffset) this.sequences.delete(pdu.ttt);
  }

  private openSolicited(): number {
    return this.sequences.size - (this.sequences.has(RESERVED_TAG) ? 1 : 0);
  }
}

/**
 * All the data came as immediate data: its view over the receive chunk is the buffer (Bun hands
 * each socket read a fresh chunk, so nothing overwrites it). Otherwise large transfers get
 * O_DIRECT-aligned memory so the image file takes them without a copy; for small ones an
 * aligned allocation costs more than the copy it would save.
 */
function collectionBuffer(expectedLength: number, immediateData: Buffer): Buffer {
  if (immediateData.length === expectedLength) return immediateData;
  const buffer = expectedLength >= ALIGNED_BUFFER_MIN_BYTES
    ? allocIoBuffer(expectedLength)
    : Buffer.allocUnsafe(expectedLength);
  immediateData.copy(buffer, 0);
  return buffer;
}
