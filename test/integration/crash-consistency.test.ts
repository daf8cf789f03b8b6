// Crash consistency of a real node with the LUN cache on. A checker keeps several WRITE (10)s
// in flight and records each acknowledgement; then the node is stopped (SIGKILL in
// write-through mode, SIGTERM in write-back mode, or SIGKILL after SYNCHRONIZE CACHE),
// restarted on the same data directory, and every block must hold its last acknowledged
// write, or a write issued after it that was never acknowledged.
import { afterEach, describe, expect, it } from "vitest";
import { connect, type Initiator } from "../helpers/initiator.ts";
import { startTwinsan, type TwinsanNode } from "../helpers/node-process.ts";
import type { LunSpec } from "../helpers/twinsan-config.ts";

const BLOCK = 512;
const LUN_BYTES = 32 * 1024 * 1024;
/** Writes land in the first 8 MiB; the cache is smaller, so lines are evicted and refilled. */
const WRITE_AREA_BLOCKS = (8 * 1024 * 1024) / BLOCK;
const CACHE_MB = 4;
const WRITERS = 8;
const MAX_WRITE_BLOCKS = 64;
const READ_CHUNK_BLOCKS = 128;
const STATUS_GOOD = 0;

type CacheMode = "write-back" | "write-through";

function cachedLun(mode: CacheMode): LunSpec {
  return { lun: 0, sizeBytes: LUN_BYTES, blockSizeBytes: BLOCK, cache: { sizeMB: CACHE_MB, mode } };
}

/** A block's content names the write that stored it (0: never written, all zeros). */
function blockPattern(id: number, lba: number): Buffer {
  const data = Buffer.alloc(BLOCK);
  if (id === 0) return data;
  data.writeUInt32LE(id, 0);
  data.writeUInt32LE(lba, 4);
  for (let i = 8; i < BLOCK; i++) data[i] = (i * 7 + id * 13 + lba) & 0xff;
  return data;
}

/** What the checker knows about each block: writes in issue order, the last acknowledged. */
class WriteLedger {
  private readonly issued: number[][] = Array.from({ length: WRITE_AREA_BLOCKS }, () => []);
  private readonly acknowledged = new Uint32Array(WRITE_AREA_BLOCKS);
  private readonly busy = new Uint8Array(WRITE_AREA_BLOCKS);
  private nextId = 1;
  acknowledgedWrites = 0;

  /** A range no write in flight touches (so each block's writes are ordered), or undefined. */
  claim(random: () => number): { lba: number; blocks: number; id: number } | undefined {
    const blocks = 1 + Math.floor(random() * MAX_WRITE_BLOCKS);
    const lba = Math.floor(random() * (WRITE_AREA_BLOCKS - blocks));
    for (let block = lba; block < lba + blocks; block++) if (this.busy[block]) return undefined;
    const id = this.nextId++;
    for (let block = lba; block < lba + blocks; block++) {
      this.busy[block] = 1;
      this.issued[block].push(id);
    }
    return { lba, blocks, id };
  }

  settle(lba: number, blocks: number, id: number, acknowledged: boolean): void {
    for (let block = lba; block < lba + blocks; block++) {
      this.busy[block] = 0;
      if (acknowledged) this.acknowledged[block] = id;
    }
    if (acknowledged) this.acknowledgedWrites++;
  }

  /** Per block, the write that must have survived (or been overwritten by a later one). */
  floor(): Uint32Array {
    return Uint32Array.from(this.acknowledged);
  }

  /** The ids block `lba` may hold given the floor: the floor's write or any issued later. */
  allowed(lba: number, floorId: number): number[] {
    const later = this.issued[lba].filter((id) => id > floorId);
    return [floorId, ...later];
  }
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Logs in and takes the power-on unit attention with TEST UNIT READY. */
async function login(node: TwinsanNode): Promise<Initiator> {
  const initiator = await connect({
    host: node.host,
    port: node.port,
    initiatorName: "iqn.2025-01.test.twinsan:crash-checker",
    targetName: node.targetIqn,
  });
  for (let attempt = 0; attempt < 3; attempt++) {
    const outcome = await initiator.scsi(Buffer.alloc(6));
    if (outcome.status === STATUS_GOOD) return initiator;
  }
  initiator.close();
  throw new Error("TEST UNIT READY keeps failing after login");
}

/** Writers loop until stop.requested or the connection is gone; a failed write is unacked. */
async function writeUntil(
  initiator: Initiator,
  ledger: WriteLedger,
  random: () => number,
  stop: { requested: boolean },
): Promise<void> {
  const writer = async (): Promise<void> => {
    while (!stop.requested) {
      const claim = ledger.claim(random);
      if (!claim) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      const { lba, blocks, id } = claim;
      const parts = Array.from({ length: blocks }, (_, i) => blockPattern(id, lba + i));
      try {
        const outcome = await initiator.write10(lba, Buffer.concat(parts), BLOCK);
        ledger.settle(lba, blocks, id, outcome.status === STATUS_GOOD);
      } catch {
        ledger.settle(lba, blocks, id, false);
        return; // the connection went away with the node
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
}

async function verify(node: TwinsanNode, ledger: WriteLedger, floor: Uint32Array): Promise<void> {
  const initiator = await login(node);
  try {
    const wrong: string[] = [];
    for (let lba = 0; lba < WRITE_AREA_BLOCKS; lba += READ_CHUNK_BLOCKS) {
      const outcome = await initiator.read10(lba, READ_CHUNK_BLOCKS, BLOCK);
      expect(outcome.status).toBe(STATUS_GOOD);
      for (let i = 0; i < READ_CHUNK_BLOCKS; i++) {
        const block = outcome.data.subarray(i * BLOCK, (i + 1) * BLOCK);
        const id = block.readUInt32LE(0);
        const allowed = ledger.allowed(lba + i, floor[lba + i]);
        if (!allowed.includes(id) || !block.equals(blockPattern(id, lba + i))) {
          wrong.push(`lba ${lba + i}: holds write ${id}, allowed ${allowed.join(",")}`);
        }
      }
    }
    expect(wrong.slice(0, 20)).toEqual([]);
  } finally {
    initiator.close();
  }
}

/** The Caching mode page's WCE bit, by MODE SENSE (6) with block descriptors disabled. */
async function writeCacheEnabled(initiator: Initiator): Promise<boolean> {
  const cdb = Buffer.from([0x1a, 0x08, 0x08, 0, 0xff, 0]);
  const outcome = await initiator.scsi(cdb, { readLength: 0xff });
  expect(outcome.status).toBe(STATUS_GOOD);
  const headerBytes = 4;
  expect(outcome.data[headerBytes] & 0x3f).toBe(0x08);
  return (outcome.data[headerBytes + 2] & 0x04) !== 0;
}

async function synchronizeCache(initiator: Initiator): Promise<void> {
  const outcome = await initiator.scsi(Buffer.from([0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  expect(outcome.status).toBe(STATUS_GOOD);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let nodes: TwinsanNode[] = [];

afterEach(async () => {
  await Promise.allSettled(nodes.map((node) => node.dispose()));
  nodes = [];
});

async function startCached(mode: CacheMode): Promise<TwinsanNode> {
  const node = await startTwinsan({ luns: [cachedLun(mode)] });
  nodes.push(node);
  return node;
}

describe("crash consistency with the LUN cache", () => {
  it("write-through: SIGKILL mid-stream loses no acknowledged write", async () => {
    const node = await startCached("write-through");
    const initiator = await login(node);
    expect(await writeCacheEnabled(initiator)).toBe(false);
    const ledger = new WriteLedger();
    const stop = { requested: false };
    const writing = writeUntil(initiator, ledger, seeded(11), stop);
    await sleep(1500);
    const killed = node.kill();
    stop.requested = true;
    expect((await killed).signal).toBe("SIGKILL");
    await writing;
    initiator.close();
    expect(ledger.acknowledgedWrites).toBeGreaterThan(100);
    await node.restart();
    // Every acknowledgement the node sent before it died counts.
    await verify(node, ledger, ledger.floor());
  }, 60_000);

  it("write-back: a graceful stop flushes everything and logs how long it took", async () => {
    const node = await startCached("write-back");
    const initiator = await login(node);
    expect(await writeCacheEnabled(initiator)).toBe(true);
    const ledger = new WriteLedger();
    const stop = { requested: false };
    const writing = writeUntil(initiator, ledger, seeded(12), stop);
    await sleep(1500);
    // The writers go on while the node stops: what it acknowledges meanwhile counts too.
    const report = await node.stop("SIGTERM");
    stop.requested = true;
    expect(report).toMatchObject({ exitCode: 0, forcedKill: false });
    await writing;
    initiator.close();
    expect(ledger.acknowledgedWrites).toBeGreaterThan(100);
    const flushLines = node.logs.split("\n").filter((line) => line.includes('"cache flushed"'));
    expect(flushLines.length).toBeGreaterThan(0);
    expect(typeof JSON.parse(flushLines[0]).durationMs).toBe("number");
    await node.restart();
    await verify(node, ledger, ledger.floor());
  }, 60_000);

  it("write-back: SIGKILL right after SYNCHRONIZE CACHE loses no acknowledged write",
    async () => {
      const node = await startCached("write-back");
      const initiator = await login(node);
      const ledger = new WriteLedger();
      const stop = { requested: false };
      const writing = writeUntil(initiator, ledger, seeded(13), stop);
      await sleep(1000);
      // Quiesce, so that what is still dirty is only made durable by the command itself.
      stop.requested = true;
      await writing;
      const floorAtSync = ledger.floor();
      await synchronizeCache(initiator);
      await node.kill();
      initiator.close();
      await node.restart();
      await verify(node, ledger, floorAtSync);
    }, 60_000);
});
