// Data written through twinsan survives a clean stop (SIGTERM, then SIGINT) and a start on the
// same data directory; each stop exits with code 0.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { firstDifference, writeRandomFile } from "../helpers/data-files.ts";
import { startTwinsan, type TwinsanNode } from "../helpers/node-process.ts";
import { qemuImgConvert, qemuIoChecked, writeCommand, type PatternIo } from "../helpers/qemu.ts";
import { makeTempDir, type TempDir } from "../helpers/temp-dir.ts";

const MiB = 1 << 20;
const LUNS = [
  { lun: 0, sizeBytes: 16 * MiB, blockSizeBytes: 512 },
  { lun: 1, sizeBytes: 16 * MiB, blockSizeBytes: 4096 },
] as const;
const QEMU_TIMEOUT_MS = 60_000;
const CLEAN_EXIT = { exitCode: 0, signal: null, forcedKill: false };

/** Pattern writes over random data, some unaligned; `round` makes each round's differ. */
function patches(round: number, lunBytes: number): PatternIo[] {
  const spots: Array<[number, number]> = [[0, 4096], [MiB + 100, 5000], [lunBytes - 8192, 8192]];
  return spots.map(([offsetBytes, lengthBytes], index) =>
    ({ pattern: 0x40 + round * 16 + index, offsetBytes, lengthBytes }));
}

function applyPatches(image: Buffer, writes: PatternIo[]): void {
  for (const io of writes) image.fill(io.pattern, io.offsetBytes, io.offsetBytes + io.lengthBytes);
}

describe("restart on the same data directory", () => {
  let node: TwinsanNode | undefined;
  let scratch: TempDir | undefined;

  beforeAll(async () => {
    scratch = await makeTempDir("twinsan-restart");
    node = await startTwinsan({ luns: [...LUNS] });
  }, 60_000);

  afterAll(async () => {
    await node?.dispose();
    await scratch?.remove();
  }, 30_000);

  async function writeRound(round: number, images: Buffer[]): Promise<void> {
    if (!node) throw new Error("node did not start");
    for (const [index, lun] of LUNS.entries()) {
      const writes = patches(round, lun.sizeBytes);
      await qemuIoChecked(node.url(lun.lun), writes.map(writeCommand), QEMU_TIMEOUT_MS);
      applyPatches(images[index], writes);
    }
  }

  async function expectImages(images: Buffer[], when: string): Promise<void> {
    if (!node || !scratch) throw new Error("node did not start");
    for (const [index, lun] of LUNS.entries()) {
      const copyPath = join(scratch.path, `lun${lun.lun}-${when}.raw`);
      await qemuImgConvert(node.url(lun.lun), copyPath,
        { destinationExists: false, timeoutMs: QEMU_TIMEOUT_MS });
      const mismatch = firstDifference(images[index], await readFile(copyPath));
      expect(mismatch, `LUN ${lun.lun} ${when}: first wrong byte offset`).toBe(-1);
    }
  }

  it("keeps every written byte across SIGTERM and SIGINT restarts", async () => {
    if (!node || !scratch) throw new Error("node did not start");
    const images: Buffer[] = [];
    for (const lun of LUNS) {
      const sourcePath = join(scratch.path, `lun${lun.lun}-source.raw`);
      await writeRandomFile(sourcePath, lun.sizeBytes);
      await qemuImgConvert(sourcePath, node.url(lun.lun),
        { destinationExists: true, timeoutMs: QEMU_TIMEOUT_MS });
      images.push(await readFile(sourcePath));
    }
    await writeRound(0, images);

    expect(await node.restart(), "exit on SIGTERM").toEqual(CLEAN_EXIT);
    await expectImages(images, "after SIGTERM");

    await writeRound(1, images);
    expect(await node.stop("SIGINT"), "exit on SIGINT").toEqual(CLEAN_EXIT);
    await node.startAgain();
    await expectImages(images, "after SIGINT");
  }, 240_000);
});
