// The random 4 KiB write rate of the disk under a directory: with fio when it is installed
// (O_DIRECT if the file system allows it), else with a loop of pwrite calls in JS, which only
// reaches the page cache and so gives an upper bound.

import { execFile } from "node:child_process";
import { closeSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { IO_SIZE_BYTES, MiB } from "./sizing.ts";

export type DiskProbeMethod = "fio" | "js-pwrite";

export interface DiskWriteRate {
  path: string;
  randomWrite4KiBIops: number;
  method: DiskProbeMethod;
  /** Writes bypassed the page cache (O_DIRECT). */
  direct: boolean;
  /** Why a fallback was taken. */
  note?: string;
}

const PROBE_FILE_SIZE_BYTES = 64 * MiB;
const FIO_QUEUE_DEPTH = 32;
const FIO_EXTRA_TIME_MS = 30_000; // file layout and start-up on top of the run time

/** Measures for about `durationMs` in a temporary directory under `path`, then removes it. */
export async function measureRandomWriteRate(
  path: string,
  durationMs: number,
): Promise<DiskWriteRate> {
  const workDir = await mkdtemp(join(path, ".twinsan-probe-"));
  try {
    const fioProblems: string[] = [];
    for (const direct of [true, false]) {
      const outcome = await runFio(workDir, durationMs, direct);
      if (typeof outcome === "number") {
        const note = direct ? undefined : `O_DIRECT refused: ${fioProblems[0]}`;
        return { path, randomWrite4KiBIops: outcome, method: "fio", direct, note };
      }
      fioProblems.push(outcome.problem);
      if (outcome.notInstalled) break;
    }
    const randomWrite4KiBIops = measureWithPwrite(workDir, durationMs);
    const note = `fio: ${fioProblems.at(-1)}; page-cache rate, an upper bound`;
    return { path, randomWrite4KiBIops, method: "js-pwrite", direct: false, note };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

interface FioFailure {
  problem: string;
  notInstalled: boolean;
}

/** The write IOPS fio measured, or why it could not. */
function runFio(dir: string, durationMs: number, direct: boolean): Promise<number | FioFailure> {
  const args = [
    "--name=twinsan-probe",
    `--directory=${dir}`,
    "--rw=randwrite",
    `--bs=${IO_SIZE_BYTES}`,
    `--size=${PROBE_FILE_SIZE_BYTES}`,
    "--ioengine=libaio",
    `--iodepth=${FIO_QUEUE_DEPTH}`,
    `--direct=${direct ? 1 : 0}`,
    "--time_based",
    `--runtime=${Math.max(1, Math.round(durationMs))}ms`,
    "--output-format=json",
  ];
  const timeout = durationMs + FIO_EXTRA_TIME_MS;
  return new Promise((resolve) => {
    execFile("fio", args, { timeout }, (error, stdout, stderr) => {
      if (error) {
        const notInstalled = (error as NodeJS.ErrnoException).code === "ENOENT";
        const problem = notInstalled ? "not installed" : firstLine(stderr) || error.message;
        resolve({ problem, notInstalled });
        return;
      }
      const iops = parseFioWriteIops(stdout);
      resolve(iops ?? { problem: "unreadable JSON output", notInstalled: false });
    });
  });
}

/** jobs[0].write.iops of fio's JSON output, which may follow warning lines. */
export function parseFioWriteIops(output: string): number | undefined {
  const start = output.indexOf("{");
  if (start < 0) return undefined;
  try {
    const report = JSON.parse(output.slice(start)) as { jobs?: { write?: { iops?: unknown } }[] };
    const iops = report.jobs?.[0]?.write?.iops;
    return typeof iops === "number" && iops > 0 ? iops : undefined;
  } catch {
    return undefined;
  }
}

/** Random 4 KiB pwrite calls on a sparse file for `durationMs`: writes per second. */
export function measureWithPwrite(dir: string, durationMs: number): number {
  const blockCount = PROBE_FILE_SIZE_BYTES / IO_SIZE_BYTES;
  const block = Buffer.alloc(IO_SIZE_BYTES, 0xa5);
  const fd = openSync(join(dir, "probe.dat"), "w+");
  try {
    ftruncateSync(fd, PROBE_FILE_SIZE_BYTES);
    const startMs = performance.now();
    let writes = 0;
    let elapsedMs = 0;
    do {
      for (let batch = 0; batch < 256; batch++, writes++) {
        const offset = Math.floor(Math.random() * blockCount) * IO_SIZE_BYTES;
        writeSync(fd, block, 0, IO_SIZE_BYTES, offset);
      }
      elapsedMs = performance.now() - startMs;
    } while (elapsedMs < durationMs);
    return writes / (elapsedMs / 1000);
  } finally {
    closeSync(fd);
  }
}

function firstLine(text: string): string {
  return text.split("\n").find((line) => line.trim() !== "")?.trim() ?? "";
}
