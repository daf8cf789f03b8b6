// The write-back cache's promises one at a time: coalesced line-aligned flush writes, aligned
// miss reads, watermarks, FUA and flush durability, backpressure, mode switches, unmap.
import { afterEach, describe, expect, it } from "vitest";
import { WriteBackCache, type WriteBackCacheOptions } from "../../src/device/write-back-cache.ts";
import { SimDevice } from "./cache-sim-device.ts";

const KiB = 1024;
const LINE = 64 * KiB;
const NEVER_MS = 3_600_000;

let caches: WriteBackCache[] = [];

afterEach(async () => {
  await Promise.allSettled(caches.map((cache) => cache.close()));
  caches = [];
});

function setUp(
  options: Partial<WriteBackCacheOptions> = {},
  sim = new SimDevice({ sizeBytes: 2 * 1024 * KiB, blockSizeBytes: 512, seed: 9 }),
): { cache: WriteBackCache; sim: SimDevice } {
  const cache = new WriteBackCache(sim, {
    capacityBytes: 16 * LINE,
    mode: "write-back",
    flushIntervalMs: NEVER_MS,
    ...options,
  });
  caches.push(cache);
  return { cache, sim };
}

function filled(lengthBytes: number, seed: number): Buffer {
  const data = Buffer.alloc(lengthBytes);
  for (let i = 0; i < lengthBytes; i++) data[i] = (i * 13 + seed * 101 + 1) & 0xff;
  return data;
}

/** Lets the simulated I/O and the flusher run until nothing is in flight for a while. */
async function settle(sim: SimDevice): Promise<void> {
  let quietTurns = 0;
  while (quietTurns < 50) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    quietTurns = sim.inFlight === 0 ? quietTurns + 1 : 0;
  }
}

function writesOf(sim: SimDevice): Array<[number, number]> {
  return sim.callsOf("write").map((call) => [call.offsetBytes, call.lengthBytes]);
}

describe("flush writes", () => {
  it("coalesces whole dirty adjacent lines into one line-aligned write", async () => {
    const { cache, sim } = setUp();
    for (const line of [5, 3, 2, 4]) await cache.write(line * LINE, filled(LINE, line));
    expect(sim.calls).toEqual([]);
    await cache.flush();
    expect(writesOf(sim)).toEqual([[2 * LINE, 4 * LINE]]);
    expect(sim.callsOf("flush")).toHaveLength(1);
    expect(sim.durable.subarray(3 * LINE, 4 * LINE).equals(filled(LINE, 3))).toBe(true);
  });

  it("writes partial lines as their dirty block runs, across a line boundary", async () => {
    const { cache, sim } = setUp();
    await cache.write(512, filled(1536, 1));
    await cache.write(2560, filled(512, 2));
    await cache.write(2 * LINE - 1024, filled(1024 + LINE, 3));
    await cache.flush();
    expect(writesOf(sim)).toEqual([[512, 1536], [2560, 512], [2 * LINE - 1024, 1024 + LINE]]);
    expect(cache.stats().flushedBytes).toBe(1536 + 512 + 1024 + LINE);
  });

  it("splits a long dirty run into line-aligned extents of at most 1 MiB", async () => {
    const { cache, sim } = setUp({ capacityBytes: 32 * LINE });
    await cache.write(0, filled(20 * LINE, 4));
    await cache.flush();
    expect(writesOf(sim)).toEqual([[0, 16 * LINE], [16 * LINE, 4 * LINE]]);
  });
});

describe("reads", () => {
  it("fetches a miss as the requested blocks widened to 4 KiB, in one call, then hits",
    async () => {
      const { cache, sim } = setUp();
      sim.visible.set(filled(4 * LINE, 7));
      expect((await cache.read(70 * KiB, 4 * KiB)).equals(filled(4 * LINE, 7)
        .subarray(70 * KiB, 74 * KiB))).toBe(true);
      expect(sim.callsOf("read")).toEqual([
        { op: "read", offsetBytes: 68 * KiB, lengthBytes: 8 * KiB, fua: false },
      ]);
      await cache.read(80 * KiB, 8 * KiB);
      await cache.read(120 * KiB, 16 * KiB);
      await cache.read(70 * KiB, 4 * KiB);
      expect(sim.callsOf("read").map((call) => [call.offsetBytes, call.lengthBytes]))
        .toEqual([[68 * KiB, 8 * KiB], [80 * KiB, 8 * KiB], [120 * KiB, 16 * KiB]]);
      expect(cache.stats()).toMatchObject({ hits: 1, misses: 3 });
    });

  it("keeps a block written during a miss rather than the older data read", async () => {
    const sim = new SimDevice({ sizeBytes: 1024 * KiB, blockSizeBytes: 512, seed: 3,
      maxLatencyTurns: 20 });
    const { cache } = setUp({}, sim);
    const reading = cache.read(0, LINE);
    const written = filled(512, 9);
    await cache.write(4096, written);
    const data = await reading;
    // The read may see either; the cache afterwards must hold the write.
    expect([written, Buffer.alloc(512)].some((d) => d.equals(data.subarray(4096, 4608))))
      .toBe(true);
    expect((await cache.read(4096, 512)).equals(written)).toBe(true);
  });

  it("caches reads in write-through mode and serves written blocks as hits", async () => {
    const { cache, sim } = setUp({ mode: "write-through" });
    await cache.write(0, filled(LINE, 1));
    expect((await cache.read(0, LINE)).equals(filled(LINE, 1))).toBe(true);
    expect(sim.callsOf("read")).toEqual([]);
    expect(cache.stats().hits).toBe(1);
  });
});

describe("watermarks and backpressure", () => {
  it("starts flushing above the high watermark and stops under the low one", async () => {
    const { cache, sim } = setUp({ capacityBytes: 16 * LINE, highWatermark: 0.5,
      lowWatermark: 0.25 });
    // Every other line, so no flush write coalesces several lines.
    for (let line = 0; line < 8; line++) await cache.write(2 * line * LINE, filled(LINE, line));
    await settle(sim);
    expect(cache.stats().dirtyBytes).toBe(8 * LINE);
    expect(writesOf(sim)).toEqual([]);
    await cache.write(16 * LINE, filled(LINE, 8));
    await settle(sim);
    expect(cache.stats().dirtyBytes).toBe(4 * LINE);
    // The oldest dirtied lines went first.
    expect(writesOf(sim).map(([offset]) => offset / LINE)).toEqual([0, 2, 4, 6, 8]);
  });

  it("flushes everything dirty every flushIntervalMs", async () => {
    const { cache, sim } = setUp({ flushIntervalMs: 10 });
    await cache.write(0, filled(4096, 1));
    const deadline = Date.now() + 2000;
    while (cache.stats().dirtyBytes > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(cache.stats().dirtyBytes).toBe(0);
    await settle(sim);
    expect(sim.visible.subarray(0, 4096).equals(filled(4096, 1))).toBe(true);
  });

  it("never holds more dirty data than its capacity: full, writes go around it", async () => {
    const { cache, sim } = setUp({ capacityBytes: 4 * LINE, highWatermark: 0.9,
      lowWatermark: 0.5 });
    let maxDirtyBytes = 0;
    const writes = Array.from({ length: 24 }, async (_, line) => {
      await cache.write(line * LINE, filled(LINE, line));
      maxDirtyBytes = Math.max(maxDirtyBytes, cache.stats().dirtyBytes);
    });
    await Promise.all(writes);
    expect(maxDirtyBytes).toBeLessThanOrEqual(4 * LINE);
    await cache.flush();
    for (let line = 0; line < 24; line++) {
      expect(sim.durable.subarray(line * LINE, (line + 1) * LINE).equals(filled(LINE, line)))
        .toBe(true);
    }
  });
});

describe("durability", () => {
  it("has a FUA write on the backing device, durable, when it resolves", async () => {
    const { cache, sim } = setUp();
    await cache.write(8192, filled(4096, 2));
    await cache.write(0, filled(4096, 1), { fua: true });
    expect(sim.durable.subarray(0, 4096).equals(filled(4096, 1))).toBe(true);
    expect(sim.callsOf("write")).toEqual([
      { op: "write", offsetBytes: 0, lengthBytes: 4096, fua: true },
    ]);
    expect(cache.stats().dirtyBytes).toBe(4096);
  });

  it("a FUA write over dirty blocks leaves nothing older to flush over it", async () => {
    const { cache, sim } = setUp();
    await cache.write(0, filled(4096, 1));
    await cache.write(0, filled(4096, 2), { fua: true });
    expect(cache.stats().dirtyBytes).toBe(0);
    await cache.flush();
    expect(sim.durable.subarray(0, 4096).equals(filled(4096, 2))).toBe(true);
  });

  it("write-through: the backing device has the write when it resolves", async () => {
    const { cache, sim } = setUp({ mode: "write-through" });
    expect(cache.writeCacheEnabled).toBe(false);
    await cache.write(0, filled(4096, 1));
    expect(sim.visible.subarray(0, 4096).equals(filled(4096, 1))).toBe(true);
    expect(sim.callsOf("write")[0].fua).toBe(false);
    expect(cache.stats().dirtyBytes).toBe(0);
  });

  it("switching to write-through flushes what was cached", async () => {
    const { cache, sim } = setUp();
    expect(cache.writeCacheEnabled).toBe(true);
    await cache.write(0, filled(3 * LINE, 1));
    await cache.setMode("write-through");
    expect(cache.writeCacheEnabled).toBe(false);
    expect(sim.durable.subarray(0, 3 * LINE).equals(filled(3 * LINE, 1))).toBe(true);
  });

  it("a failed flush write keeps the blocks dirty and the next flush writes them", async () => {
    const { cache, sim } = setUp();
    await cache.write(0, filled(LINE, 1));
    sim.writeFailureRate = 1;
    await expect(cache.flush()).rejects.toThrow(/flush failed/);
    expect(cache.stats().dirtyBytes).toBe(LINE);
    sim.writeFailureRate = 0;
    await cache.flush();
    expect(cache.stats().dirtyBytes).toBe(0);
    expect(sim.durable.subarray(0, LINE).equals(filled(LINE, 1))).toBe(true);
  });

  it("close flushes everything, closes the backing device and refuses more I/O", async () => {
    const { cache, sim } = setUp();
    await cache.write(LINE, filled(LINE, 5));
    await cache.close();
    expect(sim.closed).toBe(true);
    expect(sim.durable.subarray(LINE, 2 * LINE).equals(filled(LINE, 5))).toBe(true);
    expect(cache.stats().lastFlushMs).not.toBeNull();
    await expect(cache.read(0, 512)).rejects.toThrow(/closed/);
  });
});

describe("thin backing: unmap and allocation map", () => {
  const thinSim = (): SimDevice =>
    new SimDevice({ sizeBytes: 1024 * KiB, blockSizeBytes: 512, seed: 1, thin: true });

  it("are offered only when the backing device has them", () => {
    expect(setUp().cache.unmap).toBeUndefined();
    expect(setUp().cache.allocationMap).toBeUndefined();
    expect(setUp({}, thinSim()).cache.allocationMap).toBeDefined();
  });

  it("unmap drops cached and dirty blocks, so old data is never flushed over it", async () => {
    const sim = thinSim();
    const { cache } = setUp({}, sim);
    await cache.write(0, filled(LINE, 1));
    await cache.unmap?.(0, 8192);
    expect((await cache.read(0, 8192)).equals(Buffer.alloc(8192))).toBe(true);
    await cache.flush();
    expect(sim.durable.subarray(0, 8192).equals(Buffer.alloc(8192))).toBe(true);
    expect(sim.durable.subarray(8192, LINE).equals(filled(LINE, 1).subarray(8192))).toBe(true);
  });

  it("unmap wins over a flush of the old data started just after it", async () => {
    const { cache, sim } = setUp({}, thinSim());
    await cache.write(0, filled(4096, 1));
    const unmapping = cache.unmap?.(0, 4096);
    await Promise.all([unmapping, cache.flush()]);
    expect((await cache.read(0, 4096)).equals(Buffer.alloc(4096))).toBe(true);
    expect(sim.visible.subarray(0, 4096).equals(Buffer.alloc(4096))).toBe(true);
  });

  it("unmap wins over a read miss started just before it", async () => {
    const { cache, sim } = setUp({}, thinSim());
    sim.visible.set(filled(LINE, 2));
    const reading = cache.read(0, 4096);
    await Promise.all([reading, cache.unmap?.(0, 4096)]);
    expect((await cache.read(0, 4096)).equals(Buffer.alloc(4096))).toBe(true);
  });

  it("the allocation map counts blocks written only into the cache as mapped", async () => {
    const { cache } = setUp({}, thinSim());
    await cache.write(LINE + 4096, filled(8192, 1));
    expect(await cache.allocationMap?.(LINE, LINE)).toEqual([
      { offsetBytes: LINE, lengthBytes: 4096, mapped: false },
      { offsetBytes: LINE + 4096, lengthBytes: 8192, mapped: true },
      { offsetBytes: LINE + 12288, lengthBytes: LINE - 12288, mapped: false },
    ]);
  });
});

describe("options", () => {
  it("refuses a capacity that is not whole lines, and crossed watermarks", () => {
    const sim = new SimDevice({ sizeBytes: 1024 * KiB, blockSizeBytes: 512, seed: 1 });
    expect(() => new WriteBackCache(sim, { capacityBytes: LINE + 512, mode: "write-back" }))
      .toThrow(RangeError);
    expect(() => new WriteBackCache(sim, { capacityBytes: LINE, mode: "write-back",
      highWatermark: 0.2, lowWatermark: 0.3 })).toThrow(RangeError);
  });
});
