// The built-in load generator: N sessions, a queue depth each, random or sequential I/O of one
// size with a read share (70/30 mixes), a warm-up, then a timed window whose completions are
// counted and whose latencies go into an HDR-like histogram.
import { LatencyHistogram, type SparseBuckets } from "../histogram.ts";
import { LoadSession, type Negotiated, type SessionTarget } from "./session.ts";

export interface LoadOptions {
  target: SessionTarget;
  lunSizeBytes: number;
  lunBlockSizeBytes: number;
  ioSizeBytes: number;
  /** Share of reads in percent: 100 reads only, 0 writes only, 70 a 70/30 mix. */
  readPercent: number;
  pattern: "random" | "sequential";
  queueDepth: number; // per session
  sessions: number;
  warmupSeconds: number;
  measureSeconds: number;
  seed?: number;
}

export interface LoadResult {
  ios: number; // counted: completed within the timed window
  bytes: number;
  /** Every byte moved, warm-up and drain included (to divide the targets' CPU time by). */
  totalBytes: number;
  seconds: number;
  iops: number;
  megabytesPerSecond: number;
  latencyUs: { p50: number; p99: number; p999: number; max: number };
  histogram: { buckets: SparseBuckets; maxNs: number };
  negotiated: Negotiated;
}

const STALL_GRACE_MS = 15_000;
const LOGOUT_TIMEOUT_MS = 2_000;

/** xorshift32: a seeded generator, so a run's offsets can be replayed. */
function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}

function checkOptions(o: LoadOptions): void {
  const positive = [o.queueDepth, o.sessions, o.ioSizeBytes, o.lunSizeBytes, o.measureSeconds];
  if (positive.some((value) => !(value > 0))) throw new RangeError("non-positive load option");
  if (o.ioSizeBytes % o.lunBlockSizeBytes !== 0) {
    throw new RangeError(`I/O size ${o.ioSizeBytes} is not a multiple of the block size`);
  }
  if (o.readPercent < 0 || o.readPercent > 100) throw new RangeError("readPercent 0..100");
  if (o.ioSizeBytes / o.lunBlockSizeBytes > 0xffff) throw new RangeError("I/O too large");
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  checkOptions(options);
  const initiatorName = `iqn.2025-01.bench.twinsan:loadgen-${process.pid}`;
  const sessions: LoadSession[] = [];
  try {
    for (let i = 0; i < options.sessions; i++) {
      sessions.push(await LoadSession.open(options.target, `${initiatorName}-${i}`));
    }
    return await drive(sessions, options);
  } finally {
    await Promise.all(sessions.map((session) => session.logout(LOGOUT_TIMEOUT_MS)));
  }
}

function drive(sessions: LoadSession[], o: LoadOptions): Promise<LoadResult> {
  const ioBlocks = o.ioSizeBytes / o.lunBlockSizeBytes;
  const ioSlots = Math.floor(o.lunSizeBytes / o.ioSizeBytes); // aligned I/O positions
  const histogram = new LatencyHistogram();
  const startMs = performance.now();
  const warmEndMs = startMs + o.warmupSeconds * 1000;
  const endMs = warmEndMs + o.measureSeconds * 1000;
  let ios = 0;
  let bytes = 0;
  let totalBytes = 0;
  let inFlight = 0;
  return new Promise<LoadResult>((resolve, reject) => {
    const stall = setTimeout(() => reject(new Error(`load generator: ${inFlight} I/Os still ` +
      `in flight ${STALL_GRACE_MS} ms after the end`)), endMs - startMs + STALL_GRACE_MS);
    const finish = (error: Error | null) => {
      clearTimeout(stall);
      if (error) return reject(error);
      const seconds = o.measureSeconds;
      const us = (p: number) => histogram.percentileNs(p) / 1000;
      resolve({
        ios, bytes, totalBytes, seconds, iops: ios / seconds,
        megabytesPerSecond: bytes / seconds / 1e6,
        latencyUs: { p50: us(50), p99: us(99), p999: us(99.9), max: histogram.maxNs / 1000 },
        histogram: { buckets: histogram.toSparse(), maxNs: histogram.maxNs },
        negotiated: sessions[0].negotiated,
      });
    };
    sessions.forEach((session, index) => {
      const random = xorshift((o.seed ?? 1) * 7919 + index);
      let cursor = Math.floor((ioSlots / sessions.length) * index);
      const issuedAtMs = new Float64Array(o.queueDepth);
      const next = (slot: number, nowMs: number) => {
        const position = o.pattern === "random" ? random() % ioSlots : cursor++ % ioSlots;
        const write = random() % 100 >= o.readPercent;
        issuedAtMs[slot] = nowMs;
        session.submit(slot, { write, lba: position * ioBlocks, blocks: ioBlocks,
          lengthBytes: o.ioSizeBytes });
      };
      session.prepare(o.queueDepth, o.target.lun, o.ioSizeBytes);
      session.onComplete = (slot, status, nowMs) => {
        if (status !== 0) {
          return finish(new Error(`I/O failed: ${status > 0xff ? "iSCSI response" : "SCSI " +
            "status"} 0x${(status & 0xff).toString(16)}`));
        }
        totalBytes += o.ioSizeBytes;
        if (nowMs >= warmEndMs && nowMs < endMs) {
          histogram.record((nowMs - issuedAtMs[slot]) * 1e6);
          ios++;
          bytes += o.ioSizeBytes;
        }
        if (nowMs < endMs) return next(slot, nowMs);
        if (--inFlight === 0) finish(null);
      };
      void session.failed().then((error) => {
        if (inFlight > 0) finish(error);
      });
      const nowMs = performance.now();
      for (let slot = 0; slot < o.queueDepth; slot++) {
        inFlight++;
        next(slot, nowMs);
      }
    });
  });
}
