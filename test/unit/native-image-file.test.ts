// The addon's image-file calls and aligned buffers, on real files under the repo's .test-tmp/
// (O_DIRECT is refused by some tmpfs mounts, so /tmp is not used).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
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

describe("allocAligned", () => {
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
