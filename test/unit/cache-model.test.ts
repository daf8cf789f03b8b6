// The write-back cache under seeded random concurrent reads, writes, FUA writes and flushes,
// compared byte for byte with a plain model after every read, and the backing device's
// durable content checked whenever a FUA write or a flush resolves and after close.
import { describe, expect, it } from "vitest";
import { WriteBackCache, type CacheMode } from "../../src/device/write-back-cache.ts";
import { SimDevice, seededRandom } from "./cache-sim-device.ts";

const LINE_BYTES = 64 * 1024;

/** A block's content names the write that stored it: id, block number, then filler. */
function blockPattern(id: number, block: number, blockSizeBytes: number): Buffer {
  const data = Buffer.alloc(blockSizeBytes);
  if (id === 0) return data;
  data.writeUInt32LE(id, 0);
  data.writeUInt32LE(block, 4);
  for (let i = 8; i < blockSizeBytes; i++) data[i] = (i * 7 + id * 13 + block) & 0xff;
  return data;
}

function writeData(id: number, firstBlock: number, blocks: number, size: number): Buffer {
  const parts = [];
  for (let block = firstBlock; block < firstBlock + blocks; block++) {
    parts.push(blockPattern(id, block, size));
  }
  return Buffer.concat(parts);
}

/** What every block must hold: the last acknowledged write, or one of a failed write's two. */
class Model {
  readonly acked: Uint32Array;
  readonly unknown = new Map<number, number[]>();
  /** Per block, the ids written to it in issue order (0 for an unmap). */
  readonly history: number[][];
  /** Per block, where in its history the acknowledged write is (-1: none yet). */
  readonly ackedPositions: Int32Array;

  constructor(readonly blocks: number, readonly blockSizeBytes: number) {
    this.acked = new Uint32Array(blocks);
    this.history = Array.from({ length: blocks }, () => []);
    this.ackedPositions = new Int32Array(blocks).fill(-1);
  }

  /** What a block may hold once written out: its acknowledged write or any issued after it. */
  writtenSince(block: number, ackedPosition: number): number[] {
    const history = this.history[block];
    return ackedPosition < 0 ? [0, ...history] : history.slice(ackedPosition);
  }

  acknowledge(id: number, firstBlock: number, blocks: number): void {
    for (let block = firstBlock; block < firstBlock + blocks; block++) {
      // Writes to one block never overlap in flight: the last one issued is this one.
      this.ackedPositions[block] = this.history[block].length - 1;
      this.acked[block] = id;
      this.unknown.delete(block);
    }
  }

  failed(id: number, firstBlock: number, blocks: number): void {
    for (let block = firstBlock; block < firstBlock + blocks; block++) {
      const before = this.unknown.get(block) ?? [this.acked[block]];
      this.unknown.set(block, [...before, id]);
    }
  }

  /** Byte-for-byte check of `data` (blocks from firstBlock); settles unknown blocks. */
  check(data: Buffer, firstBlock: number, where: string): void {
    const size = this.blockSizeBytes;
    for (let i = 0; i < data.length / size; i++) {
      const block = firstBlock + i;
      const actual = data.subarray(i * size, (i + 1) * size);
      const id = actual.readUInt32LE(0);
      const allowed = this.unknown.get(block) ?? [this.acked[block]];
      if (!allowed.includes(id) || !actual.equals(blockPattern(id, block, size))) {
        throw new Error(`${where}: block ${block} holds write ${id}, expected ${allowed}`);
      }
      if (this.unknown.delete(block)) this.acked[block] = id;
    }
  }
}

interface Workload {
  seed: number;
  mode: CacheMode;
  blockSizeBytes: 512 | 4096;
  deviceBytes: number;
  capacityBytes: number;
  ops: number;
  workers: number;
  maxBlocks: number;
  writeFailureRate?: number;
  /** The backing device unmaps, and the workload unmaps now and then. */
  thin?: boolean;
  /** Large by default, so backpressure cannot rely on the interval flush. */
  flushIntervalMs?: number;
}

interface Range {
  firstBlock: number;
  endBlock: number;
  write: boolean;
}

async function runWorkload(workload: Workload): Promise<{ cache: WriteBackCache; sim: SimDevice }> {
  const { seed, blockSizeBytes: size, ops } = workload;
  const sim = new SimDevice({ sizeBytes: workload.deviceBytes, blockSizeBytes: size, seed,
    thin: workload.thin });
  const cache = new WriteBackCache(sim, {
    capacityBytes: workload.capacityBytes,
    mode: workload.mode,
    lineBytes: LINE_BYTES,
    flushIntervalMs: workload.flushIntervalMs ?? 3_600_000,
  });
  const random = seededRandom(seed * 7919 + 1);
  const deviceBlocks = workload.deviceBytes / size;
  const model = new Model(deviceBlocks, size);
  const inFlight = new Set<Range>();
  let nextId = 1;
  let opsLeft = ops;

  // No two operations in flight overlap if one of them writes, so the model is exact.
  const claim = (write: boolean): Range | undefined => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const blocks = 1 + Math.floor(random() ** 3 * workload.maxBlocks);
      const firstBlock = Math.floor(random() * (deviceBlocks - blocks + 1));
      const range = { firstBlock, endBlock: firstBlock + blocks, write };
      const clash = [...inFlight].some((other) => (other.write || write) &&
        other.firstBlock < range.endBlock && range.firstBlock < other.endBlock);
      if (!clash) {
        inFlight.add(range);
        return range;
      }
    }
    return undefined;
  };

  const flushOnce = async (): Promise<void> => {
    const ackedPositions = Int32Array.from(model.ackedPositions);
    const unknownBefore = new Set(model.unknown.keys());
    try {
      await cache.flush();
    } catch (error) {
      if (!workload.writeFailureRate) throw error;
      return;
    }
    for (let block = 0; block < deviceBlocks; block++) {
      if (unknownBefore.has(block)) continue;
      const durable = sim.durable.subarray(block * size, (block + 1) * size);
      const id = durable.readUInt32LE(0);
      const allowed = model.writtenSince(block, ackedPositions[block]);
      if (!allowed.includes(id) || !durable.equals(blockPattern(id, block, size))) {
        throw new Error(`after flush: block ${block} durable ${id}, allowed ${allowed}`);
      }
    }
  };

  const oneOp = async (): Promise<void> => {
    const dice = random();
    if (dice < 0.04) return flushOnce();
    const write = dice >= 0.45;
    const range = claim(write);
    if (!range) return new Promise((resolve) => setImmediate(resolve));
    const { firstBlock, endBlock } = range;
    const blocks = endBlock - firstBlock;
    try {
      if (!write) {
        model.check(await cache.read(firstBlock * size, blocks * size), firstBlock, "read");
        return;
      }
      const unmap = cache.unmap && random() < 0.05;
      const id = unmap ? 0 : nextId++;
      const fua = random() < 0.15;
      for (let block = firstBlock; block < endBlock; block++) model.history[block].push(id);
      try {
        if (unmap) await cache.unmap?.(firstBlock * size, blocks * size);
        else await cache.write(firstBlock * size, writeData(id, firstBlock, blocks, size), { fua });
      } catch (error) {
        if (!workload.writeFailureRate) throw error;
        model.failed(id, firstBlock, blocks);
        return;
      }
      model.acknowledge(id, firstBlock, blocks);
      if (fua && !unmap) {
        const durable = sim.durable.subarray(firstBlock * size, endBlock * size);
        model.check(Buffer.from(durable), firstBlock, "durable after FUA");
      }
    } finally {
      inFlight.delete(range);
      expect(cache.stats().dirtyBytes).toBeLessThanOrEqual(workload.capacityBytes);
    }
  };

  const worker = async (): Promise<void> => {
    while (opsLeft > 0) {
      opsLeft--;
      await oneOp();
    }
  };
  await Promise.all(Array.from({ length: workload.workers }, worker));

  sim.writeFailureRate = 0;
  // Every block read back through the cache (settling blocks a failed write left open).
  for (let block = 0; block < deviceBlocks; block += 64) {
    const blocks = Math.min(64, deviceBlocks - block);
    model.check(await cache.read(block * size, blocks * size), block, "final read");
  }
  expect(model.unknown.size).toBe(0);
  await cache.close();
  const expected = Buffer.concat(
    Array.from(model.acked, (id, block) => blockPattern(id, block, size)),
  );
  expect(sim.visible.equals(expected)).toBe(true);
  expect(sim.durable.equals(expected)).toBe(true);
  expect(sim.closed).toBe(true);
  expect(sim.inFlight).toBe(0);
  return { cache, sim };
}

const MODES: CacheMode[] = ["write-back", "write-through"];
const SEEDS = [1, 2, 3, 4, 5, 6];

describe.each(MODES)("cache %s against a model", (mode) => {
  it.each(SEEDS)("512-byte blocks, eviction and flusher busy (seed %i)", async (seed) => {
    const { cache } = await runWorkload({
      seed,
      mode,
      blockSizeBytes: 512,
      deviceBytes: 2 * 1024 * 1024 + 8 * 1024, // a partial last line
      capacityBytes: 4 * LINE_BYTES,
      ops: 1500,
      workers: 8,
      maxBlocks: 300,
    });
    const stats = cache.stats();
    expect(stats.hits).toBeGreaterThan(0);
    expect(stats.misses).toBeGreaterThan(0);
    expect(stats.dirtyBytes).toBe(0);
    if (mode === "write-back") expect(stats.flushedBytes).toBeGreaterThan(0);
  });

  it.each(SEEDS)("4096-byte blocks, larger cache (seed %i)", async (seed) => {
    await runWorkload({
      seed: seed + 100,
      mode,
      blockSizeBytes: 4096,
      deviceBytes: 4 * 1024 * 1024,
      capacityBytes: 16 * LINE_BYTES,
      ops: 1500,
      workers: 12,
      maxBlocks: 80,
      flushIntervalMs: 5,
    });
  });

  it.each(SEEDS)("thin backing, with unmaps (seed %i)", async (seed) => {
    await runWorkload({
      seed: seed + 300,
      mode,
      blockSizeBytes: 512,
      deviceBytes: 1024 * 1024,
      capacityBytes: 4 * LINE_BYTES,
      ops: 1500,
      workers: 8,
      maxBlocks: 200,
      thin: true,
    });
  });

  it.each(SEEDS)("backing writes failing at random (seed %i)", async (seed) => {
    await runWorkload({
      seed: seed + 200,
      mode,
      blockSizeBytes: 512,
      deviceBytes: 1024 * 1024,
      capacityBytes: 4 * LINE_BYTES,
      ops: 1000,
      workers: 6,
      maxBlocks: 200,
      writeFailureRate: 0.1,
      flushIntervalMs: 5, // the flusher retries after a failure on the next interval
    });
  });
});

describe("overlapping concurrent writes", () => {
  it.each(SEEDS)("cache and backing agree afterwards (seed %i)", async (seed) => {
    const size = 512;
    const deviceBytes = 512 * 1024;
    const sim = new SimDevice({ sizeBytes: deviceBytes, blockSizeBytes: size, seed });
    const cache = new WriteBackCache(sim, {
      capacityBytes: 2 * LINE_BYTES,
      mode: "write-back",
      flushIntervalMs: 3,
    });
    const random = seededRandom(seed);
    const deviceBlocks = deviceBytes / size;
    const history = Array.from({ length: deviceBlocks }, () => new Set([0]));
    let nextId = 1;
    const writeSome = async (): Promise<void> => {
      for (let op = 0; op < 150; op++) {
        const blocks = 1 + Math.floor(random() * 160);
        const firstBlock = Math.floor(random() * (deviceBlocks - blocks + 1));
        const id = nextId++;
        for (let b = firstBlock; b < firstBlock + blocks; b++) history[b].add(id);
        const dice = random();
        if (dice < 0.1) await cache.setMode(random() < 0.5 ? "write-back" : "write-through");
        await cache.write(firstBlock * size, writeData(id, firstBlock, blocks, size), {
          fua: dice > 0.8,
        });
      }
    };
    await Promise.all(Array.from({ length: 8 }, writeSome));
    const cached = await cache.read(0, deviceBytes);
    await cache.close();
    expect(cached.equals(sim.visible)).toBe(true);
    expect(sim.durable.equals(sim.visible)).toBe(true);
    for (let block = 0; block < deviceBlocks; block++) {
      const id = cached.readUInt32LE(block * size);
      expect(history[block].has(id)).toBe(true);
    }
  });
});
