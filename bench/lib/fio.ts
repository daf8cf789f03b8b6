// Runs one fio job and returns its throughput: the local-disk limit the native layer is
// measured against. fio must be installed (scripts/install-test-tools.sh installs it).
import { spawnSync } from "node:child_process";

export interface FioJob {
  filename: string;
  rw: "randread" | "randwrite" | "read" | "write";
  blockSizeBytes: number;
  queueDepth: number;
  runtimeSeconds: number;
}

export interface Throughput {
  iops: number;
  bytesPerSecond: number;
}

export function runFio(job: FioJob): Throughput {
  const args = [
    "--name=twinsan-bench",
    `--filename=${job.filename}`,
    "--ioengine=io_uring",
    "--direct=1",
    `--rw=${job.rw}`,
    `--bs=${job.blockSizeBytes}`,
    `--iodepth=${job.queueDepth}`,
    `--runtime=${job.runtimeSeconds}`,
    "--time_based",
    "--norandommap",
    "--randrepeat=0",
    "--output-format=json",
  ];
  const result = spawnSync("fio", args, { encoding: "utf8" });
  if (result.error !== undefined) throw new Error(`fio: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`fio exited with ${result.status}: ${result.stderr}`);
  const report = JSON.parse(result.stdout) as {
    jobs: { read: FioDirection; write: FioDirection }[];
  };
  const direction = job.rw.includes("read") ? report.jobs[0].read : report.jobs[0].write;
  return { iops: direction.iops, bytesPerSecond: direction.bw_bytes };
}

interface FioDirection {
  iops: number;
  bw_bytes: number;
}
