// The native I/O layer against fio on the same 1 GiB O_DIRECT file. Each row alternates fio and
// the native layer in 1 s slices (--seconds slices each), so that both see the same, often
// noisy, machine state. The native side runs from Bun JS, the path a device takes: QD loops
// that each await a request and issue the next one, so the queue is refilled as completions
// arrive and every tick's requests go out in one submit.
//
//   ./node_modules/.bin/bun bench/native-vs-fio.ts [--seconds 5]
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { NativeRing, nativeAddon } from "../src/device/native.ts";
import { runFio, type FioJob, type Throughput } from "./lib/fio.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const FILE_SIZE_BYTES = 1024 * MiB;

interface Row {
  name: string;
  rw: FioJob["rw"];
  blockSizeBytes: number;
  queueDepth: number;
}

const ROWS: Row[] = [
  { name: "4 KiB random read QD32", rw: "randread", blockSizeBytes: 4 * KiB, queueDepth: 32 },
  { name: "4 KiB random write QD32", rw: "randwrite", blockSizeBytes: 4 * KiB, queueDepth: 32 },
  { name: "64 KiB seq read QD16", rw: "read", blockSizeBytes: 64 * KiB, queueDepth: 16 },
  { name: "64 KiB seq write QD16", rw: "write", blockSizeBytes: 64 * KiB, queueDepth: 16 },
];

const addon = nativeAddon();

// Thick: every block written once, so neither side reads unwritten extents (which the file
// system answers with zeros without touching the disk) or converts them on first write.
async function createThickFile(ring: NativeRing, path: string): Promise<number> {
  const fd = addon.openImage(path, { direct: true, create: true, sizeBytes: FILE_SIZE_BYTES });
  addon.fallocate(fd, 0, FILE_SIZE_BYTES);
  const chunkBytes = 1 * MiB;
  const chunk = addon.allocAligned(chunkBytes);
  for (let i = 0; i < chunkBytes; i++) chunk[i] = i & 0xff;
  let offsetBytes = 0;
  const writer = async (): Promise<void> => {
    while (offsetBytes < FILE_SIZE_BYTES) {
      const at = offsetBytes;
      offsetBytes += chunkBytes;
      await ring.write(fd, at, chunk);
    }
  };
  await Promise.all(Array.from({ length: 8 }, writer));
  await ring.fdatasync(fd);
  return fd;
}

async function runNative(
  ring: NativeRing,
  fd: number,
  row: Row,
  seconds: number,
): Promise<Throughput> {
  const blockCount = FILE_SIZE_BYTES / row.blockSizeBytes;
  const random = row.rw.startsWith("rand");
  const write = row.rw.includes("write");
  let nextBlock = 0;
  let operationCount = 0;
  const deadlineMs = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    const slab = ring.slabs!.acquire()!;
    const buffer = slab.subarray(0, row.blockSizeBytes);
    try {
      while (performance.now() < deadlineMs) {
        const block = random ? Math.floor(Math.random() * blockCount) : nextBlock++ % blockCount;
        const offsetBytes = block * row.blockSizeBytes;
        const doneBytes = write
          ? await ring.write(fd, offsetBytes, buffer)
          : await ring.read(fd, offsetBytes, buffer);
        if (doneBytes !== row.blockSizeBytes) throw new Error(`short transfer: ${doneBytes}`);
        operationCount++;
      }
    } finally {
      ring.slabs!.release(slab);
    }
  };
  const startMs = performance.now();
  await Promise.all(Array.from({ length: row.queueDepth }, worker));
  const elapsedSeconds = (performance.now() - startMs) / 1000;
  const iops = operationCount / elapsedSeconds;
  return { iops, bytesPerSecond: iops * row.blockSizeBytes };
}

function mean(slices: Throughput[]): Throughput {
  const sum = (pick: (slice: Throughput) => number) =>
    slices.reduce((total, slice) => total + pick(slice), 0) / slices.length;
  return { iops: sum((slice) => slice.iops), bytesPerSecond: sum((slice) => slice.bytesPerSecond) };
}

function formatRow(cells: string[], widths: number[]): string {
  return cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
    .join("  ");
}

function printTable(results: { row: Row; fio: Throughput; native: Throughput }[]): void {
  const header = ["workload", "fio IOPS", "fio MiB/s", "native IOPS", "native MiB/s", "ratio"];
  const lines = results.map(({ row, fio, native }) => [
    row.name,
    Math.round(fio.iops).toString(),
    (fio.bytesPerSecond / MiB).toFixed(1),
    Math.round(native.iops).toString(),
    (native.bytesPerSecond / MiB).toFixed(1),
    (native.iops / fio.iops).toFixed(3),
  ]);
  const widths = header.map((cell, i) => Math.max(cell.length, ...lines.map((l) => l[i].length)));
  console.log(formatRow(header, widths));
  for (const line of lines) console.log(formatRow(line, widths));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: "string", default: "5" } } });
  const seconds = Number(values.seconds);
  const dir = join(import.meta.dirname, "results");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "native-vs-fio.img");
  rmSync(path, { force: true });
  const ring = NativeRing.open({ entries: 64, slabCount: 32 });
  const fd = await createThickFile(ring, path);
  try {
    const results = [];
    for (const row of ROWS) {
      const job = { filename: path, runtimeSeconds: 1, ...row };
      const fioSlices: Throughput[] = [];
      const nativeSlices: Throughput[] = [];
      for (let slice = 0; slice < seconds; slice++) {
        fioSlices.push(runFio(job));
        nativeSlices.push(await runNative(ring, fd, row, 1));
      }
      const fio = mean(fioSlices);
      const native = mean(nativeSlices);
      results.push({ row, fio, native });
      console.error(`${row.name}: fio ${Math.round(fio.iops)}, native ${Math.round(native.iops)}`);
    }
    console.log(`native backend: ${ring.backend}, fixed buffers: ${ring.fixedBuffers}`);
    // Other processes' load skews the comparison: fio needs one wake-up per completion batch,
    // the native layer two (completion thread, then the JS thread).
    console.log(`load average: ${readFileSync("/proc/loadavg", "utf8").trim()}`);
    printTable(results);
  } finally {
    await ring.close();
    addon.close(fd);
    rmSync(path, { force: true });
  }
}

await main();
