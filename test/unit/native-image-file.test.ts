// The addon's image-file calls and aligned buffers, on real files under the repo's .test-tmp/
// (O_DIRECT is refused by some tmpfs mounts, so /tmp is not used).
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nativeAddon } from "../../src/device/native.ts";

const MiB = 1024 * 1024;
const addon = nativeAddon();
let dir: string;

beforeAll(() => {
  const root = join(import.meta.dirname, "../../.test-tmp");
  mkdirSync(root, { recursive: true });
  dir = mkdtempSync(join(root, "native-image-"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

describe("openImage", () => {
  it("creates a sparse file of sizeBytes with O_DIRECT and reports its size", () => {
    const path = join(dir, "created.img");
    const fd = addon.openImage(path, { direct: true, create: true, sizeBytes: 4 * MiB });
    try {
      expect(addon.fileSize(fd)).toBe(4 * MiB);
      expect(statSync(path).blocks).toBe(0);
    } finally {
      addon.close(fd);
    }
  });

  it("allocates every block of a file it creates with allocate: true, which reads as zeros", () => {
    const path = join(dir, "thick.img");
    const fd = addon.openImage(path, { direct: true, create: true, sizeBytes: 4 * MiB, allocate: true });
    try {
      expect(addon.fileSize(fd)).toBe(4 * MiB);
      expect(statSync(path).blocks * 512).toBeGreaterThanOrEqual(4 * MiB);
      expect(readFileSync(path).every((byte) => byte === 0)).toBe(true);
    } finally {
      addon.close(fd);
    }
    // An existing file is left as it is, sparse or not.
    const sparse = join(dir, "sparse-existing.img");
    writeFileSync(sparse, "");
    truncateSync(sparse, MiB);
    addon.close(addon.openImage(sparse, { create: true, sizeBytes: MiB, allocate: true }));
    expect(statSync(sparse).blocks).toBe(0);
  });

  it("never resizes an existing file", () => {
    const path = join(dir, "existing.img");
    writeFileSync(path, Buffer.alloc(8192));
    const fd = addon.openImage(path, { direct: true, create: true, sizeBytes: MiB });
    try {
      expect(addon.fileSize(fd)).toBe(8192);
    } finally {
      addon.close(fd);
    }
  });

  it("throws an Error naming the errno when the file is missing", () => {
    const path = join(dir, "missing.img");
    expect(() => addon.openImage(path, { direct: true })).toThrow(
      expect.objectContaining({ code: "ENOENT", syscall: "open", message: expect.any(String) }),
    );
    expect(() => addon.openImage(path, { direct: true })).toThrow(path);
  });

  it("rejects bad arguments with TypeError or RangeError", () => {
    const path = join(dir, "bad.img");
    expect(() => addon.openImage(42 as unknown as string, {})).toThrow(TypeError);
    expect(() => addon.openImage(path, { create: true })).toThrow(RangeError);
    expect(() => addon.openImage(path, { create: true, sizeBytes: -1 })).toThrow(RangeError);
    expect(() => addon.openImage(path, { direct: "yes" as unknown as boolean })).toThrow(TypeError);
  });

  it("leaks no fd", () => {
    const before = openFdCount();
    for (let i = 0; i < 20; i++) {
      const fd = addon.openImage(join(dir, "leak.img"), { create: true, sizeBytes: MiB });
      addon.close(fd);
    }
    expect(openFdCount()).toBe(before);
  });
});

describe("fallocate and punchHole", () => {
  it("allocates blocks, then punches them out without changing the size", () => {
    const path = join(dir, "holes.img");
    const fd = addon.openImage(path, { direct: true, create: true, sizeBytes: 4 * MiB });
    try {
      addon.fallocate(fd, 0, 4 * MiB);
      const allocatedBlocks = statSync(path).blocks;
      expect(allocatedBlocks * 512).toBeGreaterThanOrEqual(4 * MiB);
      addon.punchHole(fd, MiB, 2 * MiB);
      expect(statSync(path).blocks * 512).toBe(allocatedBlocks * 512 - 2 * MiB);
      expect(addon.fileSize(fd)).toBe(4 * MiB);
    } finally {
      addon.close(fd);
    }
  });

  it("throws with the errno name on a bad fd", () => {
    expect(() => addon.fallocate(1_000_000, 0, 4096)).toThrow(
      expect.objectContaining({ code: "EBADF" }),
    );
    expect(() => addon.punchHole(1_000_000, 0, 4096)).toThrow(/EBADF/);
    expect(() => addon.close(1_000_000)).toThrow(/EBADF/);
    expect(() => addon.fileSize(1_000_000)).toThrow(/EBADF/);
  });
});

describe("seekData and seekHole", () => {
  it("find data and holes, -1 past the data or the end", () => {
    const path = join(dir, "seek.img");
    const fd = addon.openImage(path, { create: true, sizeBytes: 4 * MiB });
    try {
      expect(addon.seekData(fd, 0)).toBe(-1);
      expect(addon.seekHole(fd, 0)).toBe(0);
      writeFileSync(path, Buffer.alloc(64 * 1024, 1), { flag: "r+" }); // [0, 64 KiB)
      const handle = openSync(path, "r+");
      writeSync(handle, Buffer.alloc(4096, 2), 0, 4096, 2 * MiB);
      closeSync(handle);
      expect(addon.seekData(fd, 0)).toBe(0);
      expect(addon.seekHole(fd, 0)).toBe(64 * 1024);
      expect(addon.seekData(fd, 64 * 1024)).toBe(2 * MiB);
      expect(addon.seekHole(fd, 2 * MiB)).toBe(2 * MiB + 4096);
      expect(addon.seekData(fd, 2 * MiB + 4096)).toBe(-1);
      expect(addon.seekHole(fd, 4 * MiB - 4096)).toBe(4 * MiB - 4096); // inside a hole
      expect(addon.seekHole(fd, 4 * MiB)).toBe(-1);
    } finally {
      addon.close(fd);
    }
    expect(() => addon.seekData(1_000_000, 0)).toThrow(/EBADF/);
  });
});

describe("directIoAlignment", () => {
  it("reports what O_DIRECT needs of offsets and memory on this file system", () => {
    const fd = addon.openImage(join(dir, "align.img"), { create: true, sizeBytes: MiB });
    try {
      const alignment = addon.directIoAlignment(fd);
      expect(["statx", "BLKSSZGET", "sysfs", "default"]).toContain(alignment.source);
      for (const bytes of [alignment.offsetBytes, alignment.memoryBytes]) {
        expect(bytes).toBeGreaterThan(0);
        expect(bytes & (bytes - 1)).toBe(0);
        expect(bytes).toBeLessThanOrEqual(4096);
      }
    } finally {
      addon.close(fd);
    }
  });
});

describe("misalignment", () => {
  it("gives a view's address modulo the alignment", () => {
    const buffer = addon.allocAligned(8192, 4096);
    expect(addon.misalignment(buffer, 4096)).toBe(0);
    expect(addon.misalignment(buffer.subarray(512), 4096)).toBe(512);
    expect(addon.misalignment(buffer.subarray(512), 512)).toBe(0);
    expect(addon.misalignment(buffer.subarray(3), 4096)).toBe(3);
    expect(() => addon.misalignment(buffer, 1000)).toThrow(RangeError);
    expect(() => addon.misalignment({} as never, 512)).toThrow(TypeError);
  });
});

describe("allocAligned", () => {
  it("leaves memory as it is with zeroFill false", () => {
    const buffer = addon.allocAligned(4096, 4096, false);
    expect(buffer.length).toBe(4096);
    expect(addon.misalignment(buffer, 4096)).toBe(0);
    expect(() => addon.allocAligned(4096, 4096, 1 as never)).toThrow(TypeError);
  });

  it("returns zeroed Buffers at the requested alignment", () => {
    for (const alignment of [512, 4096, 65536]) {
      const buffer = addon.allocAligned(3 * alignment, alignment);
      expect(buffer).toBeInstanceOf(Buffer);
      expect(buffer.length).toBe(3 * alignment);
      expect(buffer.every((byte) => byte === 0)).toBe(true);
    }
  });

  it("rejects a zero size and an alignment that is not a power of two", () => {
    expect(() => addon.allocAligned(0)).toThrow(RangeError);
    expect(() => addon.allocAligned(4096, 1000)).toThrow(RangeError);
    expect(() => addon.allocAligned(-1)).toThrow(RangeError);
  });
});
