// Resumable byte-stream framer: TCP chunks in, whole PDUs out, digests verified (RFC 7143 11.2).
// A PDU lying inside one chunk is handed out as views of that chunk; a PDU part spanning chunks
// is gathered into one new buffer. Chunks must not be reused by the caller after push().

import { BHS_LENGTH, DIGEST_LENGTH, PDU_ALIGNMENT } from "./constants.ts";
import { crc32c } from "./crc32c.ts";
import { pduDataSegmentLength, pduTotalAhsLength } from "./pdu.ts";
import type { Pdu } from "./pdu-types.ts";

export type PduReaderErrorCode = "HEADER_DIGEST" | "DATA_DIGEST" | "DATA_SEGMENT_TOO_LONG";

export class PduReaderError extends Error {
  /** A fatal error stops the reader; the connection must be dropped. */
  readonly fatal: boolean;
  constructor(
    readonly code: PduReaderErrorCode,
    /** The BHS of the PDU in error (for a Reject of a data digest error). */
    readonly bhs: Buffer,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = "PduReaderError";
    this.fatal = code !== "DATA_DIGEST";
  }
}

export interface PduReaderOptions {
  headerDigest: boolean;
  dataDigest: boolean;
  /** Largest DataSegmentLength accepted (our MaxRecvDataSegmentLength). */
  maxDataSegmentLength: number;
  onPdu(pdu: Pdu): void;
  onError(err: PduReaderError): void;
}

/** Where the reader is inside the current PDU. */
type ReaderState =
  | { step: "bhs" }
  | { step: "ahs"; bhs: Buffer; headerDigest: boolean; dataDigest: boolean }
  | { step: "payload"; bhs: Buffer; ahs: Buffer; dataDigest: boolean }
  | { step: "failed" };

export class PduReader {
  private readonly chunks: Buffer[] = [];
  private firstChunkOffset = 0;
  private bufferedBytes = 0;
  private state: ReaderState = { step: "bhs" };
  private headerDigest: boolean;
  private dataDigest: boolean;
  private maxDataSegmentLength: number;

  constructor(private readonly opts: PduReaderOptions) {
    this.headerDigest = opts.headerDigest;
    this.dataDigest = opts.dataDigest;
    this.maxDataSegmentLength = opts.maxDataSegmentLength;
  }

  /** Applies from the next PDU whose BHS has not been completely read yet. */
  setDigests(header: boolean, data: boolean): void {
    this.headerDigest = header;
    this.dataDigest = data;
  }

  setMaxDataSegmentLength(n: number): void {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`bad MaxDataSegmentLength ${n}`);
    this.maxDataSegmentLength = n;
  }

  push(chunk: Buffer): void {
    if (this.state.step === "failed" || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    while (this.advance());
  }

  /** Consumes one step's worth of bytes when buffered; false when more input is needed. */
  private advance(): boolean {
    const state = this.state;
    switch (state.step) {
      case "bhs":
        return this.readBhs();
      case "ahs":
        return this.readAhsAndHeaderDigest(state.bhs, state.headerDigest, state.dataDigest);
      case "payload":
        return this.readPayload(state.bhs, state.ahs, state.dataDigest);
      case "failed":
        return false;
    }
  }

  private readBhs(): boolean {
    const bhs = this.take(BHS_LENGTH);
    if (bhs === null) return false;
    const { headerDigest, dataDigest } = this;
    this.state = { step: "ahs", bhs, headerDigest, dataDigest };
    return true;
  }

  private readAhsAndHeaderDigest(bhs: Buffer, headerDigest: boolean, dataDigest: boolean): boolean {
    const ahsLength = pduTotalAhsLength(bhs);
    const rest = this.take(ahsLength + (headerDigest ? DIGEST_LENGTH : 0));
    if (rest === null) return false;
    const ahs = rest.subarray(0, ahsLength);
    if (headerDigest) {
      const computed = crc32c(ahs, crc32c(bhs));
      const received = rest.readUInt32LE(ahsLength);
      if (computed !== received) return this.stop("HEADER_DIGEST", bhs, computed, received);
    }
    const dataSegmentLength = pduDataSegmentLength(bhs);
    if (dataSegmentLength > this.maxDataSegmentLength) {
      const message = `DataSegmentLength ${dataSegmentLength} > ${this.maxDataSegmentLength}`;
      this.state = { step: "failed" };
      this.opts.onError(new PduReaderError("DATA_SEGMENT_TOO_LONG", bhs, message));
      return false;
    }
    this.state = { step: "payload", bhs, ahs, dataDigest };
    return true;
  }

  private readPayload(bhs: Buffer, ahs: Buffer, dataDigest: boolean): boolean {
    const dataSegmentLength = pduDataSegmentLength(bhs);
    const paddedLength = alignToPdu(dataSegmentLength);
    // RFC 7143 11.2: no data digest when the data segment is empty.
    const digestLength = dataDigest && dataSegmentLength > 0 ? DIGEST_LENGTH : 0;
    const payload = this.take(paddedLength + digestLength);
    if (payload === null) return false;
    this.state = { step: "bhs" };
    if (digestLength > 0) {
      const computed = crc32c(payload.subarray(0, paddedLength));
      const received = payload.readUInt32LE(paddedLength);
      if (computed !== received) {
        const message = digestMismatch(computed, received);
        this.opts.onError(new PduReaderError("DATA_DIGEST", bhs, message));
        return true;
      }
    }
    this.opts.onPdu({ bhs, ahs, data: payload.subarray(0, dataSegmentLength) });
    return true;
  }

  private stop(code: "HEADER_DIGEST", bhs: Buffer, computed: number, received: number): false {
    this.state = { step: "failed" };
    this.opts.onError(new PduReaderError(code, bhs, digestMismatch(computed, received)));
    return false;
  }

  /** The next n buffered bytes: a view when they lie in one chunk, else a gathered copy. */
  private take(n: number): Buffer | null {
    if (this.bufferedBytes < n) return null;
    if (n === 0) return EMPTY;
    this.bufferedBytes -= n;
    const first = this.chunks[0];
    if (first.length - this.firstChunkOffset >= n) {
      const view = first.subarray(this.firstChunkOffset, this.firstChunkOffset + n);
      this.consumeFromFirst(n);
      return view;
    }
    const gathered = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0];
      const count = Math.min(n - filled, chunk.length - this.firstChunkOffset);
      chunk.copy(gathered, filled, this.firstChunkOffset, this.firstChunkOffset + count);
      filled += count;
      this.consumeFromFirst(count);
    }
    return gathered;
  }

  private consumeFromFirst(n: number): void {
    this.firstChunkOffset += n;
    if (this.firstChunkOffset === this.chunks[0].length) {
      this.chunks.shift();
      this.firstChunkOffset = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);

function alignToPdu(n: number): number {
  return Math.ceil(n / PDU_ALIGNMENT) * PDU_ALIGNMENT;
}

function digestMismatch(computed: number, received: number): string {
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  return `computed 0x${hex(computed)}, received 0x${hex(received)}`;
}

export interface DigestSettings {
  header: boolean;
  data: boolean;
}

const PADDING = [EMPTY, Buffer.alloc(1), Buffer.alloc(2), Buffer.alloc(3)];

function digestBytes(crc: number): Buffer {
  const digest = Buffer.allocUnsafe(DIGEST_LENGTH);
  digest.writeUInt32LE(crc);
  return digest;
}

/**
 * The buffers to write for one PDU, in order: header (BHS + AHS), header digest, data, padding,
 * data digest. The data is passed through, not copied.
 */
export function pduWireParts(header: Buffer, data: Buffer, digests: DigestSettings): Buffer[] {
  if (header.length < BHS_LENGTH || header.length !== BHS_LENGTH + pduTotalAhsLength(header)) {
    throw new Error("pduWireParts: header length does not match TotalAHSLength");
  }
  if (data.length !== pduDataSegmentLength(header)) {
    throw new Error("pduWireParts: data length does not match DataSegmentLength");
  }
  const parts = [header];
  if (digests.header) parts.push(digestBytes(crc32c(header)));
  if (data.length === 0) return parts;
  parts.push(data);
  const padding = PADDING[alignToPdu(data.length) - data.length];
  if (padding.length > 0) parts.push(padding);
  if (digests.data) parts.push(digestBytes(crc32c(padding, crc32c(data))));
  return parts;
}
