import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ImageFileDevice } from "../../src/device/image-file.ts";

const MiB = 1024 * 1024;

let dir: string;
let devices: ImageFileDevice[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "twinsan-image-"));
  devices = [];
});

afterEach(async () => {
  await Promise.all(devices.map((device) => device.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openDevice(
  path: string,
  sizeBytes = MiB,
  blockSizeBytes = 512,
): Promise<ImageFileDevice> {
  const device = await ImageFileDevice.open({ path, sizeBytes, blockSizeBytes });
  devices.push(device);
  return device;
}

function fileHandleOf(device: ImageFileDevice): FileHandle {
  return (device as unknown as { file: FileHandle }).file;
}

function pattern(lengthBytes: number, seed: number): Buffer {
  const data = Buffer.alloc(lengthBytes);
  for (let i = 0; i < lengthBytes; i++) data[i] = (i * 31 + seed) & 0xff;
  return data;
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
    await writeFile(path, Buffer.alloc(MiB));
    await expect(openDevice(path, 2 * MiB)).rejects.toThrow(
      new RegExp(`${path}.*${MiB} bytes.*${2 * MiB} bytes`),
    );
    expect((await stat(path)).size).toBe(MiB);
  });

  it("refuses an existing empty file rather than growing it", async () => {
    const path = join(dir, "empty.img");
    await writeFile(path, "");
    await expect(openDevice(path)).rejects.toThrow(/existing image is 0 bytes/);
  });

  it("rejects a block size other than 512 or 4096 and a misaligned size", async () => {
    const path = join(dir, "lun0.img");
    await expect(openDevice(path, MiB, 1024)).rejects.toThrow(/block size 1024/);
    await expect(openDevice(path, MiB + 512, 4096)).rejects.toThrow(/multiple of 4096/);
    await expect(openDevice(path, 0)).rejects.toThrow(RangeError);
  });
});

describe("ImageFileDevice I/O", () => {
  it("round-trips data with 4096-byte blocks", async () => {
    const device = await openDevice(join(dir, "lun.img"), MiB, 4096);
    const data = pattern(3 * 4096, 3);
    await device.write(MiB - data.length, data);
    expect((await device.read(MiB - data.length, data.length)).equals(data)).toBe(true);
  });

  it("loops on short reads and short writes", async () => {
    const device = await openDevice(join(dir, "lun.img"));
    const file = fileHandleOf(device);
    const read = file.read.bind(file) as (...args: unknown[]) => Promise<unknown>;
    const write = file.write.bind(file) as (...args: unknown[]) => Promise<unknown>;
    const readSpy = vi
      .spyOn(file, "read")
      .mockImplementation(((buffer: Buffer, offset: number, length: number, position: number) =>
        read(buffer, offset, Math.min(length, 512), position)) as never);
    const writeSpy = vi
      .spyOn(file, "write")
      .mockImplementation(((buffer: Buffer, offset: number, length: number, position: number) =>
        write(buffer, offset, Math.min(length, 1000), position)) as never);

    const data = pattern(4096, 11);
    await device.write(512, data);
    expect(writeSpy.mock.calls.length).toBeGreaterThan(1);
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
    expect((await device.read(MiB - 512, 512)).length).toBe(512);
    expect((await device.read(0, 0)).length).toBe(0);
  });

  it("syncs after a FUA write and on flush, not after a plain write", async () => {
    const device = await openDevice(join(dir, "lun.img"));
    const datasync = vi.spyOn(fileHandleOf(device), "datasync");
    await device.write(0, Buffer.alloc(512, 1));
    expect(datasync).not.toHaveBeenCalled();
    await device.write(0, Buffer.alloc(512, 2), { fua: true });
    expect(datasync).toHaveBeenCalledTimes(1);
    await device.flush();
    expect(datasync).toHaveBeenCalledTimes(2);
  });

  it("closes idempotently and refuses I/O afterwards", async () => {
    const device = await openDevice(join(dir, "lun.img"));
    await Promise.all([device.close(), device.close()]);
    await device.close();
    await expect(device.read(0, 512)).rejects.toThrow(/closed/);
    await expect(device.write(0, Buffer.alloc(512))).rejects.toThrow(/closed/);
    await expect(device.flush()).rejects.toThrow(/closed/);
  });
});
