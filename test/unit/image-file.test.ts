// ImageFileDevice on the native addon, on real files under the repo's .test-tmp/ (O_DIRECT is
// refused by some tmpfs mounts): creation and provisioning, O_DIRECT with zero-copy and bounced
// buffers, FUA, read-modify-write for a 512-byte LUN on a file needing 4096-byte alignment,
// unmap and allocation maps, close with I/O in flight, and the fallbacks (buffered I/O,
// thread pool).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { ImageFileDevice, type ImageFileOptions } from "../../src/device/image-file.ts";
import { allocIoBuffer, nativeAddon, type NativeRing } from "../../src/device/native.ts";
import { log } from "../../src/mgmt/log.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const O_DIRECT = 0o40000;
const addon = nativeAddon();

let root: string;
let dir: string;
let devices: ImageFileDevice[];
let testIndex = 0;

beforeAll(() => {
  const base = join(import.meta.dirname, "../../.test-tmp");
  mkdirSync(base, { recursive: true });
  root = mkdtempSync(join(base, "image-file-"));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeEach(() => {
  dir = join(root, String(testIndex++));
  mkdirSync(dir);
  devices = [];
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(devices.map((device) => device.close()));
});

async function openDevice(
  path: string,
  sizeBytes = MiB,
  blockSizeBytes = 512,
  options: Partial<ImageFileOptions> = {},
): Promise<ImageFileDevice> {
  const device = await ImageFileDevice.open({ path, sizeBytes, blockSizeBytes, ...options });
  devices.push(device);
  return device;
}

function ringOf(device: ImageFileDevice): NativeRing {
  return (device as unknown as { ring: NativeRing }).ring;
}

function fdOf(device: ImageFileDevice): number {
  return (device as unknown as { fd: number }).fd;
}

function openFlags(fd: number): number {
  const info = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
  return Number.parseInt(/flags:\s+(\d+)/.exec(info)![1], 8);
}

function pattern(lengthBytes: number, seed: number): Buffer {
  const data = Buffer.alloc(lengthBytes);
  for (let i = 0; i < lengthBytes; i++) data[i] = (i * 31 + seed + (i >> 9)) & 0xff;
  return data;
}

/** A view whose address is `shift` bytes past an aligned one: O_DIRECT cannot take it. */
function misaligned(data: Buffer, shift = 8): Buffer {
  const view = addon.allocAligned(data.length + 4096).subarray(shift, shift + data.length);
  data.copy(view);
  return view;
}

// A deterministic generator, so a failing run can be repeated.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe("ImageFileDevice.open", () => {
  it("creates the image and its parent directories at exactly sizeBytes", async () => {
    const path = join(dir, "a", "b", "lun0.img");
    const device = await openDevice(path, 2 * MiB);
    expect((await stat(path)).size).toBe(2 * MiB);
    expect(device.sizeBytes).toBe(2 * MiB);
    expect(device.blockSizeBytes).toBe(512);
    expect(device.path).toBe(path);
    expect((await device.read(0, 4096)).equals(Buffer.alloc(4096))).toBe(true);
  });

  it("keeps the data across close and reopen", async () => {
    const path = join(dir, "lun0.img");
    const first = await openDevice(path);
    const data = pattern(8192, 7);
    await first.write(4096, data);
    await first.close();
    const second = await openDevice(path);
    expect((await second.read(4096, 8192)).equals(data)).toBe(true);
    expect((await readFile(path)).subarray(4096, 4096 + 8192).equals(data)).toBe(true);
  });

  it("refuses an existing image of a different size, naming the path and both sizes", async () => {
    const path = join(dir, "lun0.img");
    writeFileSync(path, Buffer.alloc(MiB));
    await expect(openDevice(path, 2 * MiB)).rejects.toThrow(
      new RegExp(`${path}.*${MiB} bytes.*${2 * MiB} bytes`),
    );
    expect((await stat(path)).size).toBe(MiB);
  });

  it("refuses an existing empty file rather than growing it", async () => {
    const path = join(dir, "empty.img");
    writeFileSync(path, "");
    await expect(openDevice(path)).rejects.toThrow(/existing image is 0 bytes/);
  });

  it("rejects a block size other than 512 or 4096 and a misaligned size", async () => {
    const path = join(dir, "lun0.img");
    await expect(openDevice(path, MiB, 1024)).rejects.toThrow(/block size 1024/);
    await expect(openDevice(path, MiB + 512, 4096)).rejects.toThrow(/multiple of 4096/);
    await expect(openDevice(path, 0)).rejects.toThrow(RangeError);
  });

  it("creates a thick image fully allocated and reading as zeros (the default)", async () => {
    const path = join(dir, "thick.img");
    const device = await openDevice(path, 8 * MiB);
    expect((await stat(path)).blocks * 512).toBeGreaterThanOrEqual(8 * MiB);
    const all = await device.read(0, 8 * MiB);
    expect(all.every((byte) => byte === 0)).toBe(true);
    // Blocks allocated but never written read as zeros and are reported unmapped.
    expect(await device.allocationMap(0, 8 * MiB)).toEqual([
      { offsetBytes: 0, lengthBytes: 8 * MiB, mapped: false },
    ]);
  });

  it("creates a thin image sparse, allocating only what is written", async () => {
    const path = join(dir, "thin.img");
    const device = await openDevice(path, 8 * MiB, 512, { provisioning: "thin" });
    expect((await stat(path)).blocks).toBe(0);
    await device.write(MiB, pattern(64 * KiB, 1));
    const blocks = (await stat(path)).blocks * 512;
    expect(blocks).toBeGreaterThanOrEqual(64 * KiB);
    expect(blocks).toBeLessThan(MiB);
  });

  it("never changes the provisioning of an existing image", async () => {
    const path = join(dir, "existing.img");
    await (await openDevice(path, 4 * MiB, 512, { provisioning: "thin" })).close();
    await openDevice(path, 4 * MiB, 512, { provisioning: "thick" });
    expect((await stat(path)).blocks).toBe(0);
  });
});

describe("ImageFileDevice I/O", () => {
  it("opens the file with O_DIRECT and does its I/O through the shared ring", async () => {
    const first = await openDevice(join(dir, "a.img"));
    const second = await openDevice(join(dir, "b.img"));
    expect(first.direct).toBe(true);
    expect(openFlags(fdOf(first)) & O_DIRECT).toBe(O_DIRECT);
    expect(first.ioBackend).toBe("io_uring");
    expect(ringOf(first)).toBe(ringOf(second));
  });

  it("round-trips data with 4096-byte blocks", async () => {
    const device = await openDevice(join(dir, "lun.img"), MiB, 4096);
    const data = pattern(3 * 4096, 3);
    await device.write(MiB - data.length, data);
    expect((await device.read(MiB - data.length, data.length)).equals(data)).toBe(true);
  });

  it("returns aligned Buffers of exactly the requested length that the caller owns", async () => {
    const device = await openDevice(join(dir, "lun.img"));
    await device.write(0, pattern(8192, 5));
    const first = await device.read(512, 1024);
    const second = await device.read(512, 1024);
    expect(first.length).toBe(1024);
    expect(first.buffer).not.toBe(second.buffer);
    expect(addon.misalignment(first, 512)).toBe(0);
    first.fill(0);
    expect(second.equals(pattern(8192, 5).subarray(512, 1536))).toBe(true);
  });

  it("writes aligned memory without a copy and bounces misaligned memory", async () => {
    const device = await openDevice(join(dir, "lun.img"), 4 * MiB);
    const ring = ringOf(device);
    const written: Uint8Array[] = [];
    const write = ring.write.bind(ring);
    vi.spyOn(ring, "write").mockImplementation((fd, offset, buffer) => {
      written.push(buffer);
      return write(fd, offset, buffer);
    });

    const aligned = allocIoBuffer(16 * KiB);
    pattern(16 * KiB, 1).copy(aligned);
    await device.write(0, aligned);
    expect(written).toEqual([aligned]);
    expect(written[0].buffer).toBe(aligned.buffer);

    written.length = 0;
    const large = pattern(200 * KiB, 2); // 4 slabs: 64 + 64 + 64 + 8 KiB
    const shifted = misaligned(large);
    await device.write(MiB, shifted);
    expect(written.map((buffer) => buffer.length)).toEqual([64, 64, 64, 8].map((n) => n * KiB));
    expect(written.every((buffer) => buffer.buffer !== shifted.buffer)).toBe(true);
    expect((await device.read(MiB, large.length)).equals(large)).toBe(true);
    expect((await device.read(0, 16 * KiB)).equals(pattern(16 * KiB, 1))).toBe(true);
  });

  it("waits for bounce slabs when more misaligned data is in flight than they hold", async () => {
    const device = await openDevice(join(dir, "lun.img"), 64 * MiB);
    const writes = Array.from({ length: 40 }, (_, i) => ({
      offset: i * MiB,
      data: pattern(MiB, i),
    }));
    // 40 MiB in 64 KiB pieces: 640 pieces against 128 slabs.
    await Promise.all(writes.map(({ offset, data }) => device.write(offset, misaligned(data, 512))));
    for (const { offset, data } of writes) {
      expect((await device.read(offset, data.length)).equals(data)).toBe(true);
    }
    expect(ringOf(device).slabs!.freeCount).toBe(ringOf(device).slabs!.count);
  });

  it("loops on short reads and short writes", async () => {
    const device = await openDevice(join(dir, "lun.img"));
    const ring = ringOf(device);
    const read = ring.read.bind(ring);
    const write = ring.write.bind(ring);
    const readSpy = vi
      .spyOn(ring, "read")
      .mockImplementation((fd, offset, buffer) => read(fd, offset, buffer.subarray(0, 512)));
    const writeSpy = vi
      .spyOn(ring, "write")
      .mockImplementation((fd, offset, buffer) => write(fd, offset, buffer.subarray(0, 1024)));

    const data = pattern(4096, 11);
    const aligned = allocIoBuffer(4096);
    data.copy(aligned);
    await device.write(512, aligned);
    expect(writeSpy).toHaveBeenCalledTimes(4);
    expect((await device.read(512, 4096)).equals(data)).toBe(true);
    expect(readSpy).toHaveBeenCalledTimes(8);
  });

  it("asserts block alignment and bounds", async () => {
    const device = await openDevice(join(dir, "lun.img"));
    await expect(device.read(100, 512)).rejects.toThrow(/not aligned/);
    await expect(device.read(0, 100)).rejects.toThrow(/not aligned/);
    await expect(device.write(0, Buffer.alloc(100))).rejects.toThrow(/not aligned/);
    await expect(device.read(MiB, 512)).rejects.toThrow(/outside the device/);
    await expect(device.read(-512, 512)).rejects.toThrow(/outside the device/);
    await expect(device.write(MiB - 512, Buffer.alloc(1024))).rejects.toThrow(/outside/);
    await expect(device.unmap(0, 100)).rejects.toThrow(/not aligned/);
    await expect(device.allocationMap(MiB, 512)).rejects.toThrow(/outside/);
    expect((await device.read(MiB - 512, 512)).length).toBe(512);
    expect((await device.read(0, 0)).length).toBe(0);
  });

  it("makes a FUA write one RWF_DSYNC request and syncs on flush, not after a plain write", async () => {
    const device = await openDevice(join(dir, "lun.img"));
    const ring = ringOf(device);
    const write = vi.spyOn(ring, "write");
    const writeDsync = vi.spyOn(ring, "writeDsync");
    const fdatasync = vi.spyOn(ring, "fdatasync");
    await device.write(0, Buffer.alloc(512, 1));
    expect([write.mock.calls.length, writeDsync.mock.calls.length]).toEqual([1, 0]);
    expect(fdatasync).not.toHaveBeenCalled();
    await device.write(0, Buffer.alloc(512, 2), { fua: true });
    expect([write.mock.calls.length, writeDsync.mock.calls.length]).toEqual([1, 1]);
    expect(fdatasync).not.toHaveBeenCalled();
    expect((await device.read(0, 512)).every((byte) => byte === 2)).toBe(true);
    await device.flush();
    expect(fdatasync).toHaveBeenCalledTimes(1);
  });

  it("closes idempotently and refuses I/O afterwards", async () => {
    const device = await openDevice(join(dir, "lun.img"));
    await Promise.all([device.close(), device.close()]);
    await device.close();
    await expect(device.read(0, 512)).rejects.toThrow(/closed/);
    await expect(device.write(0, Buffer.alloc(512))).rejects.toThrow(/closed/);
    await expect(device.flush()).rejects.toThrow(/closed/);
    await expect(device.unmap(0, 512)).rejects.toThrow(/closed/);
    await expect(device.allocationMap(0, 512)).rejects.toThrow(/closed/);
  });

  it("completes the I/O in flight when closed, then closes the file", async () => {
    const path = join(dir, "lun.img");
    const device = await openDevice(path, 4 * MiB);
    const events: string[] = [];
    const closeFd = addon.close.bind(addon);
    vi.spyOn(addon, "close").mockImplementation((fd) => {
      events.push("close");
      closeFd(fd);
    });
    const settled = (work: Promise<unknown>, name: string): Promise<unknown> =>
      work.then(() => events.push(name));
    const writes = Array.from({ length: 64 }, (_, i) =>
      settled(
        device.write(i * 64 * KiB, misaligned(pattern(64 * KiB, i)), { fua: i % 2 === 0 }),
        "write",
      ),
    );
    const reads = Array.from({ length: 16 }, (_, i) =>
      settled(device.read(i * 4 * KiB, 4 * KiB), "read"),
    );
    const flushed = settled(device.flush(), "flush");
    const closed = device.close();
    await expect(device.write(0, Buffer.alloc(512))).rejects.toThrow(/closed/);
    await Promise.all([...writes, ...reads, flushed, closed]);
    expect(events.length).toBe(64 + 16 + 1 + 1);
    expect(events.indexOf("close")).toBe(events.length - 1); // the fd outlived every request
    const reopened = await openDevice(path, 4 * MiB);
    for (let i = 0; i < 64; i++) {
      expect((await reopened.read(i * 64 * KiB, 64 * KiB)).equals(pattern(64 * KiB, i))).toBe(
        true,
      );
    }
  });
});

describe("ImageFileDevice: a 512-byte LUN on a file needing 4096-byte alignment", () => {
  const options = { minDirectIoAlignmentBytes: 4096, provisioning: "thin" } as const;

  it("sends only 4096-aligned requests to the kernel", async () => {
    const device = await openDevice(join(dir, "lun.img"), MiB, 512, options);
    expect(device.ioAlignmentBytes).toBe(4096);
    const ring = ringOf(device);
    const requests: [number, number][] = [];
    for (const op of ["read", "write", "writeDsync"] as const) {
      const original = ring[op].bind(ring);
      vi.spyOn(ring, op).mockImplementation((fd, offset, buffer) => {
        requests.push([offset, buffer.length]);
        expect(addon.misalignment(buffer, 4096)).toBe(0);
        return original(fd, offset, buffer);
      });
    }
    const data = pattern(3 * 512, 9);
    await device.write(512, data);
    await device.write(7 * 512, data, { fua: true }); // crosses from block 0 into block 1
    expect((await device.read(512, 3 * 512)).equals(data)).toBe(true);
    expect((await device.read(7 * 512, 3 * 512)).equals(data)).toBe(true);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every(([offset, length]) => offset % 4096 === 0 && length % 4096 === 0)).toBe(
      true,
    );
  });

  it("matches a model under concurrent writes to neighbouring sectors of one span", async () => {
    const sizeBytes = 256 * KiB;
    const device = await openDevice(join(dir, "lun.img"), sizeBytes, 512, options);
    const model = Buffer.alloc(sizeBytes);
    const next = random(7);
    for (let round = 0; round < 20; round++) {
      // Disjoint ranges per round (overlapping writes in flight have no defined order), but
      // many sharing a 4096-byte span with another.
      const taken = new Uint8Array(sizeBytes / 512);
      const writes: Promise<void>[] = [];
      for (let attempt = 0; attempt < 60; attempt++) {
        const sector = Math.floor(next() * taken.length);
        const sectors = 1 + Math.floor(next() * 12);
        if (sector + sectors > taken.length || taken.subarray(sector, sector + sectors).some(Boolean)) {
          continue;
        }
        taken.fill(1, sector, sector + sectors);
        const data = pattern(sectors * 512, round * 1000 + attempt);
        data.copy(model, sector * 512);
        const buffer = next() < 0.5 ? misaligned(data) : data;
        writes.push(device.write(sector * 512, buffer, { fua: next() < 0.2 }));
      }
      await Promise.all(writes);
    }
    expect((await device.read(0, sizeBytes)).equals(model)).toBe(true);
    for (let i = 0; i < 50; i++) {
      const sector = Math.floor(next() * (sizeBytes / 512 - 16));
      const sectors = 1 + Math.floor(next() * 16);
      const part = await device.read(sector * 512, sectors * 512);
      expect(part.equals(model.subarray(sector * 512, (sector + sectors) * 512))).toBe(true);
    }
  });

  it("unmaps sectors inside a span, leaving its other sectors", async () => {
    const device = await openDevice(join(dir, "lun.img"), MiB, 512, options);
    const data = pattern(8192, 4);
    await device.write(0, data);
    await device.unmap(1024, 1024);
    const expected = Buffer.from(data);
    expected.fill(0, 1024, 2048);
    expect((await device.read(0, 8192)).equals(expected)).toBe(true);
  });
});

describe("ImageFileDevice unmap and allocationMap", () => {
  it("round-trips: written ranges map, unmapped ones read zeros and map as holes", async () => {
    const device = await openDevice(join(dir, "lun.img"), 16 * MiB, 4096, {
      provisioning: "thin",
    });
    expect(await device.allocationMap(0, 16 * MiB)).toEqual([
      { offsetBytes: 0, lengthBytes: 16 * MiB, mapped: false },
    ]);
    await device.write(MiB, pattern(2 * MiB, 1));
    await device.write(8 * MiB, pattern(MiB, 2));
    expect(await device.allocationMap(0, 16 * MiB)).toEqual([
      { offsetBytes: 0, lengthBytes: MiB, mapped: false },
      { offsetBytes: MiB, lengthBytes: 2 * MiB, mapped: true },
      { offsetBytes: 3 * MiB, lengthBytes: 5 * MiB, mapped: false },
      { offsetBytes: 8 * MiB, lengthBytes: MiB, mapped: true },
      { offsetBytes: 9 * MiB, lengthBytes: 7 * MiB, mapped: false },
    ]);
    await device.unmap(2 * MiB, MiB);
    expect((await device.read(2 * MiB, MiB)).every((byte) => byte === 0)).toBe(true);
    expect((await device.read(MiB, MiB)).equals(pattern(2 * MiB, 1).subarray(0, MiB))).toBe(true);
    // A range starting inside data and ending inside a hole.
    expect(await device.allocationMap(MiB + 4096, 2 * MiB)).toEqual([
      { offsetBytes: MiB + 4096, lengthBytes: MiB - 4096, mapped: true },
      { offsetBytes: 2 * MiB, lengthBytes: MiB + 4096, mapped: false },
    ]);
    expect(await device.allocationMap(8 * MiB + 4096, 4096)).toEqual([
      { offsetBytes: 8 * MiB + 4096, lengthBytes: 4096, mapped: true },
    ]);
    expect(await device.allocationMap(0, 0)).toEqual([]);
  });

  it("frees the space of a thick image's written blocks", async () => {
    const path = join(dir, "thick.img");
    const device = await openDevice(path, 8 * MiB);
    await device.write(0, pattern(8 * MiB, 3));
    const before = (await stat(path)).blocks * 512;
    await device.unmap(0, 4 * MiB);
    expect((await stat(path)).blocks * 512).toBe(before - 4 * MiB);
    expect((await device.read(0, 4 * MiB)).every((byte) => byte === 0)).toBe(true);
    const map = await device.allocationMap(0, 8 * MiB);
    expect(map).toEqual([
      { offsetBytes: 0, lengthBytes: 4 * MiB, mapped: false },
      { offsetBytes: 4 * MiB, lengthBytes: 4 * MiB, mapped: true },
    ]);
  });
});

describe("ImageFileDevice fallbacks", () => {
  it("uses buffered I/O with a warning when the file system refuses O_DIRECT", async () => {
    const openImage = addon.openImage.bind(addon);
    vi.spyOn(addon, "openImage").mockImplementation((path, options) => {
      if (options.direct !== false) {
        throw Object.assign(new Error(`open ${path}: EINVAL`), { code: "EINVAL" });
      }
      return openImage(path, options);
    });
    const warn = vi.spyOn(log, "warn").mockImplementation(() => {});
    const device = await openDevice(join(dir, "lun.img"));
    expect(device.direct).toBe(false);
    expect(openFlags(fdOf(device)) & O_DIRECT).toBe(0);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/O_DIRECT/), expect.anything());
    const data = pattern(4096, 8);
    await device.write(512, misaligned(data), { fua: true });
    expect((await device.read(512, 4096)).equals(data)).toBe(true);
  });

  it("honours direct: false without a warning", async () => {
    const warn = vi.spyOn(log, "warn");
    const device = await openDevice(join(dir, "lun.img"), MiB, 512, { direct: false });
    expect(device.direct).toBe(false);
    expect(warn).not.toHaveBeenCalled();
    await device.write(0, pattern(4096, 1));
    expect((await device.read(0, 4096)).equals(pattern(4096, 1))).toBe(true);
  });

  it("uses the thread pool with TWINSAN_NO_IO_URING=1", async () => {
    // The shared ring is opened by the first open device: with none open, the next is fresh.
    vi.spyOn(log, "warn").mockImplementation(() => {});
    process.env.TWINSAN_NO_IO_URING = "1";
    try {
      const device = await openDevice(join(dir, "lun.img"), 4 * MiB, 4096);
      expect(device.ioBackend).toBe("threadpool");
      const data = pattern(256 * KiB, 6);
      await device.write(0, misaligned(data), { fua: true });
      await device.write(MiB, data);
      await device.flush();
      expect((await device.read(0, data.length)).equals(data)).toBe(true);
      expect((await device.read(MiB, data.length)).equals(data)).toBe(true);
      await device.unmap(0, 64 * KiB);
      expect((await device.read(0, 64 * KiB)).every((byte) => byte === 0)).toBe(true);
      await device.close();
    } finally {
      delete process.env.TWINSAN_NO_IO_URING;
    }
    const next = await openDevice(join(dir, "next.img"));
    expect(next.ioBackend).toBe("io_uring");
  });
});
