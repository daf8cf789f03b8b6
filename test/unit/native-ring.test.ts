// NativeRing on real O_DIRECT files, once over io_uring and once over the thread-pool fallback:
// round trips, a random concurrent workload checked against an in-memory model, misuse that
// must throw (never crash), kernel errors, and close with requests in flight.
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NativeIoError, NativeRing, nativeAddon } from "../../src/device/native.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const addon = nativeAddon();
let dir: string;

beforeAll(() => {
  const root = join(import.meta.dirname, "../../.test-tmp");
  mkdirSync(root, { recursive: true });
  dir = mkdtempSync(join(root, "native-ring-"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

function pattern(lengthBytes: number, seed: number): Buffer {
  const data = addon.allocAligned(lengthBytes);
  for (let i = 0; i < lengthBytes; i++) data[i] = (i * 131 + seed * 7 + (i >> 9)) & 0xff;
  return data;
}

// A deterministic generator, so a failing run can be repeated.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe.each([
  { backend: "io_uring", ioUring: true },
  { backend: "threadpool", ioUring: false },
])("NativeRing over $backend", ({ backend, ioUring }) => {
  let ring: NativeRing;
  let fd: number;
  let imageIndex = 0;

  function openImage(sizeBytes = 4 * MiB): number {
    const path = join(dir, `${backend}-${imageIndex++}.img`);
    return addon.openImage(path, { direct: true, create: true, sizeBytes });
  }

  beforeAll(() => {
    ring = NativeRing.open({ entries: 64, slabCount: 8, ioUring });
    fd = openImage();
  });

  afterAll(async () => {
    await ring.close();
    addon.close(fd);
  });

  it("uses the requested backend", () => {
    expect(ring.backend).toBe(backend);
    expect(ring.capacity).toBe(64);
  });

  it("writes, syncs and reads back with O_DIRECT, in aligned buffers and in slabs", async () => {
    const data = pattern(64 * KiB, 1);
    expect(await ring.write(fd, 128 * KiB, data)).toBe(64 * KiB);
    await ring.fdatasync(fd);
    await ring.fsync(fd);
    const slab = ring.slabs!.acquire()!;
    try {
      expect(await ring.read(fd, 128 * KiB, slab)).toBe(64 * KiB);
      expect(slab.equals(data)).toBe(true);
      slab.fill(0x5a);
      expect(await ring.write(fd, 0, slab.subarray(0, 4 * KiB))).toBe(4 * KiB);
    } finally {
      ring.slabs!.release(slab);
    }
    const readBack = addon.allocAligned(4 * KiB);
    expect(await ring.read(fd, 0, readBack)).toBe(4 * KiB);
    expect(readBack.every((byte) => byte === 0x5a)).toBe(true);
  });

  it("writes with RWF_DSYNC (writeDsync) from aligned buffers and from slabs", async () => {
    const data = pattern(16 * KiB, 21);
    expect(await ring.writeDsync(fd, 3 * MiB, data)).toBe(16 * KiB);
    const slab = ring.slabs!.acquire()!;
    try {
      slab.fill(0x77);
      expect(await ring.writeDsync(fd, 3 * MiB + 16 * KiB, slab.subarray(0, 8 * KiB))).toBe(
        8 * KiB,
      );
    } finally {
      ring.slabs!.release(slab);
    }
    const readBack = addon.allocAligned(24 * KiB);
    expect(await ring.read(fd, 3 * MiB, readBack)).toBe(24 * KiB);
    expect(readBack.subarray(0, 16 * KiB).equals(data)).toBe(true);
    expect(readBack.subarray(16 * KiB).every((byte) => byte === 0x77)).toBe(true);
    expect(() => ring.writeDsync(fd, 100, data)).toThrow(/writeDsync: offset 100/);
  });

  it("reads zeros from a punched hole and short at the end of the file", async () => {
    await ring.write(fd, MiB, pattern(64 * KiB, 2));
    addon.punchHole(fd, MiB, 64 * KiB);
    const readBack = pattern(64 * KiB, 3);
    expect(await ring.read(fd, MiB, readBack)).toBe(64 * KiB);
    expect(readBack.every((byte) => byte === 0)).toBe(true);
    expect(await ring.read(fd, 4 * MiB - 4 * KiB, readBack)).toBe(4 * KiB);
    expect(await ring.read(fd, 4 * MiB, readBack)).toBe(0);
  });

  it("matches a model under many concurrent random 4 KiB writes and reads", async () => {
    const blockBytes = 4 * KiB;
    const blockCount = 1024;
    const modelFd = openImage(blockCount * blockBytes);
    addon.fallocate(modelFd, 0, blockCount * blockBytes);
    const model: (Buffer | undefined)[] = new Array(blockCount);
    const next = random(42);
    try {
      for (let round = 0; round < 8; round++) {
        // Distinct blocks per round: two writes to one block in flight have no defined order.
        const blocks = new Set<number>();
        while (blocks.size < 300) blocks.add(Math.floor(next() * blockCount));
        const writes = [...blocks].map((block) => {
          const data = pattern(blockBytes, round * blockCount + block);
          model[block] = data;
          return ring.write(modelFd, block * blockBytes, data);
        });
        expect(await Promise.all(writes)).toEqual(writes.map(() => blockBytes));
      }
      const reads = Array.from(model, async (expected, block) => {
        const data = addon.allocAligned(blockBytes);
        expect(await ring.read(modelFd, block * blockBytes, data)).toBe(blockBytes);
        return expected === undefined ? data.every((byte) => byte === 0) : data.equals(expected);
      });
      expect((await Promise.all(reads)).every(Boolean)).toBe(true);
    } finally {
      addon.close(modelFd);
    }
  });

  it("keeps buffers alive until their requests complete, whatever the caller drops", async () => {
    await ring.write(fd, 0, pattern(4 * KiB, 9));
    // The caller keeps only the promises; the buffers are garbage as soon as they are queued.
    const reads = Array.from({ length: 200 }, () => ring.read(fd, 0, addon.allocAligned(4 * KiB)));
    Bun.gc(true);
    expect(await Promise.all(reads)).toEqual(reads.map(() => 4 * KiB));
  });

  it("throws for a misaligned offset or length before anything is queued", () => {
    const data = addon.allocAligned(4 * KiB);
    expect(() => ring.read(fd, 100, data)).toThrow(/offset 100 is not a multiple of 512/);
    expect(() => ring.write(fd, 0, data.subarray(0, 1000))).toThrow(/length 1000/);
    expect(() => ring.write(fd, 0, data.subarray(0, 0))).toThrow(RangeError);
    expect(() => ring.read(-1, 0, data)).toThrow(/fd -1/);
    expect(() => ring.fdatasync(1.5)).toThrow(/fd 1.5/);
  });

  it("rejects only the request whose buffer address is misaligned", async () => {
    const misaligned = addon.allocAligned(8 * KiB).subarray(1, 4 * KiB + 1);
    const good = addon.allocAligned(4 * KiB);
    const results = await Promise.allSettled([
      ring.read(fd, 0, good),
      ring.write(fd, 0, misaligned),
      ring.read(fd, 4 * KiB, good),
    ]);
    expect(results.map((result) => result.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason.message).toMatch(
      /buffer address is not 512-byte aligned/,
    );
  });

  it("rejects with a NativeIoError naming the errno when the kernel fails a request", async () => {
    const path = join(dir, `${backend}-readonly.img`);
    closeSync(addon.openImage(path, { create: true, sizeBytes: MiB }));
    const readOnlyFd = openSync(path, "r");
    try {
      const failure = ring.write(readOnlyFd, 0, addon.allocAligned(4 * KiB));
      await expect(failure).rejects.toBeInstanceOf(NativeIoError);
      await expect(failure).rejects.toMatchObject({ code: "EBADF", errno: 9 });
      await expect(failure).rejects.toThrow(`write fd ${readOnlyFd} offset 0 length 4096: EBADF`);
    } finally {
      closeSync(readOnlyFd);
    }
  });

  it("close completes requests in flight, rejects waiting and later ones", async () => {
    const before = openFdCount();
    const small = NativeRing.open({ entries: 8, slabCount: 0, ioUring });
    const writes = Array.from({ length: 20 }, (_, i) =>
      small.write(fd, 2 * MiB + i * 4 * KiB, pattern(4 * KiB, i)),
    );
    const closed = small.close();
    const outcomes = await Promise.allSettled(writes);
    await closed;
    expect(outcomes.slice(0, 8).every((outcome) => outcome.status === "fulfilled")).toBe(true);
    expect(outcomes.slice(8).every((outcome) => outcome.status === "rejected")).toBe(true);
    await expect(small.read(fd, 0, addon.allocAligned(4 * KiB))).rejects.toThrow(/closed/);
    expect(small.close()).toBe(closed);
    expect(openFdCount()).toBe(before);
  });
});

describe("the addon's Ring under misuse", () => {
  const rings: InstanceType<typeof addon.Ring>[] = [];
  afterEach(() => {
    for (const ring of rings.splice(0)) ring.close();
  });

  function rawRing(): InstanceType<typeof addon.Ring> {
    const ring = new addon.Ring({ entries: 4, slabCount: 0 }, () => {});
    rings.push(ring);
    return ring;
  }

  it("throws TypeError or RangeError for bad arguments and stays usable", () => {
    const ring = rawRing();
    const buffer = addon.allocAligned(4096);
    const submit = ring.submit.bind(ring) as (...args: unknown[]) => void;
    expect(() => submit("requests", [], 0)).toThrow(TypeError);
    expect(() => submit(new Float64Array(4), "buffers", 1)).toThrow(TypeError);
    expect(() => submit(new Float64Array(4), [buffer], 5)).toThrow(RangeError);
    expect(() => submit(new Float64Array(4), [buffer], 2)).toThrow(/shorter than count/);
    expect(() => submit(new Float64Array([9, 0, 0, 0]), [buffer], 1)).toThrow(/op must be/);
    expect(() => submit(new Float64Array([0, 0, 0, 4]), [buffer], 1)).toThrow(/capacity 4/);
    expect(() => submit(new Float64Array([0, 0, 0.5, 0]), [buffer], 1)).toThrow(/offset/);
    expect(() => submit(new Float64Array([0, 0, 0, 0]), [{}], 1)).toThrow(/TypedArray/);
    expect(() => submit(new Float64Array([0, 0, 0, 1, 0, 0, 0, 1]), [buffer, buffer], 2)).toThrow(
      /id 1 is already in flight/,
    );
    expect(() => new addon.Ring({ entries: 0 }, () => {})).toThrow(RangeError);
    expect(() => new addon.Ring({}, "callback" as never)).toThrow(TypeError);
  });

  it("throws after close instead of submitting", () => {
    const ring = rawRing();
    ring.close();
    expect(() => ring.submit(new Float64Array(4), [], 0)).toThrow(/closed/);
  });
});

describe("an open ring at process exit", () => {
  it("does not keep the process alive once its requests are done", () => {
    const native = join(import.meta.dirname, "../../src/device/native.ts");
    const script = `
      import { NativeRing, nativeAddon } from ${JSON.stringify(native)};
      for (const ioUring of [true, false]) {
        const ring = NativeRing.open({ entries: 4, slabCount: 1, ioUring });
        const fd = nativeAddon().openImage(${JSON.stringify(join(dir, "exit.img"))},
          { direct: true, create: true, sizeBytes: 65536 });
        await ring.write(fd, 0, ring.slabs.acquire());
      }
      console.log("done");`;
    const options = { encoding: "utf8", timeout: 8_000 } as const;
    const result = spawnSync(process.execPath, ["-e", script], options);
    expect(result.signal).toBeNull();
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("done");
  });
});

describe("TWINSAN_NO_IO_URING=1", () => {
  it("makes NativeRing.open use the thread pool", async () => {
    process.env.TWINSAN_NO_IO_URING = "1";
    try {
      const ring = NativeRing.open({ entries: 4, slabCount: 0 });
      expect(ring.backend).toBe("threadpool");
      await ring.close();
    } finally {
      delete process.env.TWINSAN_NO_IO_URING;
    }
  });
});
