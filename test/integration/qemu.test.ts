// QEMU's iSCSI client against twinsan: a 256 MiB random image copied onto a LUN and back
// (sha256 equal), and qemu-io pattern writes/reads of many sizes and offsets, aligned and not,
// on 512- and 4096-byte-block LUNs.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256OfFile, writeRandomFile } from "../helpers/data-files.ts";
import { startTwinsan, type TwinsanNode } from "../helpers/node-process.ts";
import {
  expectedSegments,
  qemuImgConvert,
  qemuIoChecked,
  readCommand,
  writeCommand,
  type PatternIo,
} from "../helpers/qemu.ts";
import { makeTempDir, type TempDir } from "../helpers/temp-dir.ts";

const MiB = 1 << 20;
const IMAGE_LUN = { lun: 0, sizeBytes: 256 * MiB, blockSizeBytes: 512 } as const;
const PATTERN_LUNS = [
  { lun: 1, sizeBytes: 64 * MiB, blockSizeBytes: 512 },
  { lun: 2, sizeBytes: 64 * MiB, blockSizeBytes: 4096 },
] as const;
const QEMU_TIMEOUT_MS = 120_000;

/** Writes of 512 B to 1 MiB at aligned and unaligned offsets, and at the end of the LUN. */
function patternWrites(lunBytes: number): PatternIo[] {
  const writes: Array<[number, number]> = [
    [0, 512], [4096, 4096], [65536, 65536], [MiB, MiB], [3 * MiB, 512],
    [3 * MiB + 1000, 3000], [4 * MiB + 511, 4097], [5 * MiB + 65535, 70_000],
    [6 * MiB + 3, 1], [lunBytes - MiB, MiB - 512], [lunBytes - 512, 512],
  ];
  return writes.map(([offsetBytes, lengthBytes], index) =>
    ({ pattern: 0x20 + index, offsetBytes, lengthBytes }));
}

describe("qemu-img and qemu-io through twinsan", () => {
  let node: TwinsanNode | undefined;
  let scratch: TempDir | undefined;

  beforeAll(async () => {
    scratch = await makeTempDir("twinsan-qemu");
    node = await startTwinsan({ luns: [IMAGE_LUN, ...PATTERN_LUNS] });
  }, 60_000);

  afterAll(async () => {
    await node?.dispose();
    await scratch?.remove();
  }, 30_000);

  it("copies a 256 MiB random image onto a LUN and back unchanged", async () => {
    if (!node || !scratch) throw new Error("node did not start");
    const source = join(scratch.path, "source.raw");
    const copy = join(scratch.path, "copy.raw");
    const sourceSha256 = await writeRandomFile(source, IMAGE_LUN.sizeBytes);
    const url = node.url(IMAGE_LUN.lun);
    await qemuImgConvert(source, url, { destinationExists: true, timeoutMs: QEMU_TIMEOUT_MS });
    await qemuImgConvert(url, copy, { destinationExists: false, timeoutMs: QEMU_TIMEOUT_MS });
    expect(await sha256OfFile(copy)).toBe(sourceSha256);
  }, 300_000);

  it.each(PATTERN_LUNS)("writes and reads back patterns, $blockSizeBytes-byte blocks",
    async (lun) => {
      if (!node) throw new Error("node did not start");
      const url = node.url(lun.lun);
      const base: PatternIo = { pattern: 0x11, offsetBytes: 0, lengthBytes: lun.sizeBytes };
      const writes = patternWrites(lun.sizeBytes);
      await qemuIoChecked(url, [writeCommand(base)], QEMU_TIMEOUT_MS);
      // Each write read back in the same session, then everything again in a new session,
      // with the untouched gaps between writes, so a write spilling past its range shows.
      await qemuIoChecked(url, writes.flatMap((io) => [writeCommand(io), readCommand(io)]),
        QEMU_TIMEOUT_MS);
      await qemuIoChecked(url, expectedSegments(base, writes).map(readCommand), QEMU_TIMEOUT_MS);
    }, 300_000);
});
