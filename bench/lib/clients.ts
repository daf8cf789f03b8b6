// The clients: external programs (qemu-img bench, iscsi-perf, fio) and the built-in load
// generator (a child process). Each run returns one Measurement.
import { fileURLToPath } from "node:url";
import type { SparseBuckets } from "./histogram.ts";
import type { LoadOptions, LoadResult } from "./loadgen/run.ts";
import { describeFailure, runCommand } from "./proc.ts";
import type { RunningTarget } from "./targets.ts";
import type { Workload } from "./workloads.ts";

export interface Measurement {
  iops: number;
  megabytesPerSecond: number;
  /** Seconds the counted I/O took (the client's own clock). */
  seconds: number;
  /** Bytes moved while the system's CPU time was sampled (warm-up included). */
  bytesMoved: number;
  latencyUs: { p50: number; p99: number; p999: number } | null;
  histogram: { buckets: SparseBuckets; maxNs: number } | null;
  /** CPU seconds of the system's processes over the run; fio reports its own. */
  systemCpuSeconds: number | null;
}

const LUN_BLOCK_BYTES = 512;
const SLACK_MS = 30_000;
/** qemu-img bench walks the image with a fixed step; 257 x 4 KiB is prime to the image's
 * 4 KiB slot count, so it visits every slot, far apart: a scattered pattern, not a random one. */
const QEMU_SCATTER_STEP_IO = 257;

/** `qemu-img bench`: `count` requests, timed by qemu-img itself ("Run completed in X s"). */
export async function runQemuImg(url: string, w: Workload, count: number): Promise<Measurement> {
  const step = w.pattern === "random" ? ["-S", String(w.ioSizeBytes * QEMU_SCATTER_STEP_IO)] : [];
  const args = ["bench", "-f", "raw", "-t", "none", "-c", String(count), "-d",
    String(w.queueDepth), "-s", String(w.ioSizeBytes), ...step,
    ...(w.readPercent === 0 ? ["-w"] : []), url];
  const result = await runCommand("qemu-img", args, { timeoutMs: 600_000 });
  const match = /Run completed in ([\d.]+) seconds/.exec(result.stdout);
  if (result.exitCode !== 0 || !match) throw new Error(describeFailure(result));
  const seconds = Number(match[1]);
  const bytes = count * w.ioSizeBytes;
  return { iops: count / seconds, megabytesPerSecond: bytes / seconds / 1e6, seconds,
    bytesMoved: bytes, latencyUs: null, histogram: null, systemCpuSeconds: null };
}

/**
 * `iscsi-perf` runs until SIGINT and prints the IOPS of every second; the seconds after the
 * warm-up are averaged. It only reads.
 */
export async function runIscsiPerf(url: string, w: Workload, warmupSeconds: number,
  measureSeconds: number): Promise<Measurement> {
  const skip = Math.ceil(warmupSeconds);
  const runMs = (skip + Math.ceil(measureSeconds)) * 1000 + 400;
  const args = ["-m", String(w.queueDepth), "-b", String(w.ioSizeBytes / LUN_BLOCK_BYTES),
    ...(w.pattern === "random" ? ["-r"] : []), url];
  const result = await runCommand("iscsi-perf", args, { timeoutMs: runMs, stopSignal: "SIGINT" });
  const perSecond = [...result.stdout.matchAll(/(\d\d):(\d\d):(\d\d) - .*?iops current (\d+)/g)]
    .map((m) => ({ second: Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]),
      iops: Number(m[4]) }));
  const counted = perSecond.filter((s) => s.second > skip);
  if (counted.length === 0) {
    throw new Error(`iscsi-perf printed no rates\n${describeFailure(result)}`);
  }
  const iops = counted.reduce((sum, s) => sum + s.iops, 0) / counted.length;
  const allIos = perSecond.reduce((sum, s) => sum + s.iops, 0);
  return { iops, megabytesPerSecond: (iops * w.ioSizeBytes) / 1e6, seconds: counted.length,
    bytesMoved: allIos * w.ioSizeBytes, latencyUs: null, histogram: null, systemCpuSeconds: null };
}

/** The built-in load generator, in its own process. */
export async function runLoadgen(target: RunningTarget, w: Workload, lunSizeBytes: number,
  warmupSeconds: number, measureSeconds: number): Promise<Measurement> {
  const options: LoadOptions = {
    target: { host: target.host, port: target.port, iqn: target.iqn, lun: target.lun },
    lunSizeBytes, lunBlockSizeBytes: LUN_BLOCK_BYTES, ioSizeBytes: w.ioSizeBytes,
    readPercent: w.readPercent, pattern: w.pattern, queueDepth: w.queueDepth,
    sessions: w.sessions, warmupSeconds, measureSeconds,
  };
  const main = fileURLToPath(new URL("./loadgen/main.ts", import.meta.url));
  const timeoutMs = (warmupSeconds + measureSeconds) * 1000 + SLACK_MS;
  const result = await runCommand(process.execPath, [main, JSON.stringify(options)],
    { timeoutMs });
  if (result.exitCode !== 0) throw new Error(describeFailure(result));
  const load = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "") as LoadResult;
  const { p50, p99, p999 } = load.latencyUs;
  return { iops: load.iops, megabytesPerSecond: load.megabytesPerSecond, seconds: load.seconds,
    bytesMoved: load.totalBytes, latencyUs: { p50, p99, p999 }, histogram: load.histogram,
    systemCpuSeconds: null };
}

interface FioStats {
  iops: number;
  bw_bytes: number;
  io_bytes: number;
  lat_ns: { percentile?: Record<string, number> };
}

interface FioJob {
  job_runtime: number; // ms, summed over the jobs of a group
  mixed: FioStats;
}

/** fio with io_uring and O_DIRECT on the backing file itself: the limit. */
export async function runFio(path: string, w: Workload, lunSizeBytes: number,
  warmupSeconds: number, measureSeconds: number): Promise<Measurement> {
  const sliceBytes = Math.floor(lunSizeBytes / w.sessions / w.ioSizeBytes) * w.ioSizeBytes;
  const rw = w.pattern === "random"
    ? (w.readPercent === 100 ? "randread" : w.readPercent === 0 ? "randwrite" : "randrw")
    : (w.readPercent === 100 ? "read" : w.readPercent === 0 ? "write" : "rw");
  const args = ["--name=limit", `--filename=${path}`, "--ioengine=io_uring", "--direct=1",
    `--rw=${rw}`, `--rwmixread=${w.readPercent}`, `--bs=${w.ioSizeBytes}`,
    `--iodepth=${w.queueDepth}`, `--numjobs=${w.sessions}`, "--thread", "--group_reporting",
    // Each job its own slice of the file: fio must never extend it.
    `--size=${sliceBytes}`, `--offset_increment=${sliceBytes}`,
    "--time_based", `--runtime=${Math.round(measureSeconds * 1000)}ms`,
    `--ramp_time=${Math.round(warmupSeconds * 1000)}ms`, "--norandommap", "--randrepeat=0",
    "--unified_rw_reporting=mixed", "--lat_percentiles=1", "--percentile_list=50:99:99.9",
    "--output-format=json"];
  const timeoutMs = (warmupSeconds + measureSeconds) * 1000 + SLACK_MS;
  const result = await runCommand("fio", args, { timeoutMs });
  if (result.exitCode !== 0) throw new Error(describeFailure(result));
  const json = JSON.parse(result.stdout.slice(result.stdout.indexOf("{"))) as { jobs: FioJob[] };
  const job = json.jobs[0];
  const stats = job.mixed;
  const seconds = job.job_runtime / 1000 / w.sessions; // summed over the jobs
  // fio's own CPU time (rusage, all job threads), warm-up included: divide by the bytes of
  // the whole run, estimated from the measured rate.
  const bytesMoved = stats.io_bytes * (1 + warmupSeconds / seconds);
  const percentile = (key: string) => (stats.lat_ns.percentile?.[key] ?? Number.NaN) / 1000;
  return {
    iops: stats.iops, megabytesPerSecond: stats.bw_bytes / 1e6, seconds,
    bytesMoved,
    latencyUs: { p50: percentile("50.000000"), p99: percentile("99.000000"),
      p999: percentile("99.900000") },
    histogram: null,
    systemCpuSeconds: result.cpuSeconds,
  };
}
