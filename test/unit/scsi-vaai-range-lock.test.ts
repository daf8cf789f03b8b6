import { describe, expect, it } from "vitest";
import { RangeLock, type RangeLease } from "../../src/scsi/range-lock.ts";

/** Resolves after pending promise callbacks have run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function track(promise: Promise<RangeLease>) {
  const state: { lease?: RangeLease } = {};
  promise.then((lease) => { state.lease = lease; });
  return state;
}

describe("RangeLock", () => {
  it("grants non-overlapping exclusive ranges at once", async () => {
    const lock = new RangeLock();
    const a = track(lock.acquire({ lba: 0, blocks: 8 }, "exclusive"));
    const b = track(lock.acquire({ lba: 8, blocks: 8 }, "exclusive"));
    await settle();
    expect(a.lease?.held && b.lease?.held).toBe(true);
    expect(lock.pending).toBe(2);
  });

  it("serializes overlapping writers in arrival order", async () => {
    const lock = new RangeLock();
    const first = await lock.acquire({ lba: 0, blocks: 4 }, "exclusive");
    const second = track(lock.acquire({ lba: 3, blocks: 4 }, "exclusive"));
    const third = track(lock.acquire({ lba: 6, blocks: 1 }, "exclusive"));
    await settle();
    // The third overlaps only the waiting second, and still waits for it.
    expect(second.lease).toBeUndefined();
    expect(third.lease).toBeUndefined();
    first.release();
    await settle();
    expect(second.lease?.held).toBe(true);
    expect(third.lease).toBeUndefined();
    second.lease!.release();
    await settle();
    expect(third.lease?.held).toBe(true);
    third.lease!.release();
    expect(lock.pending).toBe(0);
  });

  it("lets readers share and makes a later reader wait for an earlier writer", async () => {
    const lock = new RangeLock();
    const reader = await lock.acquire({ lba: 0, blocks: 10 }, "shared");
    const otherReader = track(lock.acquire({ lba: 5, blocks: 10 }, "shared"));
    const writer = track(lock.acquire({ lba: 9, blocks: 1 }, "exclusive"));
    const lateReader = track(lock.acquire({ lba: 9, blocks: 1 }, "shared"));
    await settle();
    expect(otherReader.lease?.held).toBe(true);
    expect(writer.lease).toBeUndefined();
    expect(lateReader.lease).toBeUndefined();
    reader.release();
    otherReader.lease!.release();
    await settle();
    expect(writer.lease?.held).toBe(true);
    expect(lateReader.lease).toBeUndefined();
    writer.lease!.release();
    await settle();
    expect(lateReader.lease?.held).toBe(true);
  });

  it("run() releases when the work throws, and a lease cannot be released twice", async () => {
    const lock = new RangeLock();
    await expect(lock.run({ lba: 0, blocks: 1 }, "exclusive", async () => {
      throw new Error("boom");
    })).rejects.toThrow("boom");
    expect(lock.pending).toBe(0);
    const lease = await lock.acquire({ lba: 0, blocks: 1 }, "exclusive");
    lease.release();
    expect(lease.held).toBe(false);
    expect(() => lease.release()).toThrow(/twice/);
  });

  it("rejects empty and negative ranges", () => {
    const lock = new RangeLock();
    expect(() => lock.acquire({ lba: 0, blocks: 0 }, "shared")).toThrow();
    expect(() => lock.acquire({ lba: -1, blocks: 1 }, "shared")).toThrow();
  });

  it("keeps 1000 random overlapping writers mutually exclusive", async () => {
    const lock = new RangeLock();
    const owner = new Int32Array(64).fill(-1);
    const work = Array.from({ length: 1000 }, (_, id) => {
      const lba = (id * 37) % 60;
      const blocks = 1 + (id % 4);
      return lock.run({ lba, blocks }, "exclusive", async () => {
        for (let b = lba; b < lba + blocks; b++) {
          expect(owner[b]).toBe(-1);
          owner[b] = id;
        }
        await settle();
        for (let b = lba; b < lba + blocks; b++) owner[b] = -1;
      });
    });
    await Promise.all(work);
    expect(lock.pending).toBe(0);
  });
});
