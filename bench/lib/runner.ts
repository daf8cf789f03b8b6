// Runs a profile: starts tgt and twinsan on one fully written backing file, then for every row
// measures the systems in turn, round after round, the order reversed each round (A B C, C B A)
// so drift on a shared machine falls on all of them alike.
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { LatencyHistogram } from "./histogram.ts";
import {
  type Measurement,
  runFio,
  runIscsiPerf,
  runLoadgen,
  runQemuImg,
} from "./clients.ts";
import { processCpuSeconds } from "./proc.ts";
import type { Progress } from "./progress.ts";
import type { BenchRow, Sample, SystemResult } from "./schema.ts";
import {
  createBackingFile,
  type RunningTarget,
  startTgt,
  startTwinsan,
} from "./targets.ts";
import { type Profile, type RowPlan, SYSTEM_IDS, type SystemId } from "./workloads.ts";

const LUN_BLOCK_BYTES = 512;
const GIGABYTE = 1e9;
/** qemu-img bench is told a request count: sized from the last rate seen to last this long. */
const QEMU_FIRST_GUESS_IOPS = 20_000;
const QEMU_COUNT_MIN = 500;

export interface RunnerOptions {
  profile: Profile;
  workDir: string;
  twinsanDir?: string;
  /** tgt's file access: "auto" follows twinsan (O_DIRECT when its native backend is in use). */
  peerIo: "auto" | "buffered" | "direct";
  progress: Progress;
}

export interface RunOutcome {
  rows: BenchRow[];
  backingFile: string;
  peerDirectIo: boolean;
  twinsanDirectIo: boolean;
}

interface Systems {
  backingPath: string;
  tgt: RunningTarget;
  twinsan: RunningTarget;
}

export async function runProfile(options: RunnerOptions): Promise<RunOutcome> {
  const { profile, progress } = options;
  await mkdir(options.workDir, { recursive: true });
  const backingPath = join(options.workDir, "lun.img");
  progress.note(`writing the ${profile.lunSizeBytes >> 20} MiB backing file ${backingPath}`);
  await createBackingFile(backingPath, profile.lunSizeBytes);
  const twinsan = await startTwinsan({ backingPath, sizeBytes: profile.lunSizeBytes,
    blockSizeBytes: LUN_BLOCK_BYTES, workDir: options.workDir, twinsanDir: options.twinsanDir });
  let tgt: RunningTarget | undefined;
  try {
    const peerDirectIo = options.peerIo === "auto" ? twinsan.directIo : options.peerIo === "direct";
    tgt = await startTgt({ backingPath, blockSizeBytes: LUN_BLOCK_BYTES, directIo: peerDirectIo });
    progress.note(`twinsan ${twinsan.url} (pid ${twinsan.pid}), tgt ${tgt.url} (pid ${tgt.pid}` +
      `, ${peerDirectIo ? "O_DIRECT" : "page cache"})`);
    const systems: Systems = { backingPath, tgt, twinsan };
    const rows: BenchRow[] = [];
    for (const plan of profile.rows) rows.push(await runRow(plan, systems, options));
    return { rows, backingFile: backingPath, peerDirectIo,
      twinsanDirectIo: twinsan.directIo };
  } finally {
    await Promise.allSettled([twinsan.stop(), tgt?.stop()]);
    await rm(backingPath, { force: true });
  }
}

async function runRow(plan: RowPlan, systems: Systems, options: RunnerOptions) {
  const { profile, progress } = options;
  const samples = new Map<SystemId, Array<Sample & { measurement: Measurement }>>(
    SYSTEM_IDS.map((id) => [id, []]));
  const qemuRate = new Map<SystemId, number>();
  for (let round = 0; round < profile.rounds; round++) {
    const order = round % 2 === 0 ? SYSTEM_IDS : [...SYSTEM_IDS].reverse();
    for (const system of order) {
      progress.startMeasurement(plan, system, round);
      const measurement = await measure(plan, system, systems, options, qemuRate, round === 0);
      samples.get(system)?.push({ ...toSample(round, measurement), measurement });
      progress.endMeasurement();
    }
  }
  const results = SYSTEM_IDS.map((system) =>
    summarize(system, system === "limit" ? "fio" : plan.client, samples.get(system) ?? []));
  const iopsOf = (system: SystemId) => results.find((r) => r.system === system)?.iops ?? 0;
  const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
  const row: BenchRow = {
    id: plan.id, label: plan.label, workload: plan.workload, client: plan.client, results,
    ratios: { twinsanOverPeer: ratio(iopsOf("twinsan"), iopsOf("tgt")),
      twinsanOverLimit: ratio(iopsOf("twinsan"), iopsOf("limit")) },
  };
  progress.rowDone(row);
  return row;
}

/** One run of one system; the CPU time of the system's process is read around it. */
async function measure(plan: RowPlan, system: SystemId, systems: Systems,
  options: RunnerOptions, qemuRate: Map<SystemId, number>, firstRound: boolean) {
  const { profile } = options;
  const w = plan.workload;
  if (system === "limit") {
    return runFio(systems.backingPath, w, profile.lunSizeBytes, profile.warmupSeconds,
      profile.measureSeconds);
  }
  const target = system === "tgt" ? systems.tgt : systems.twinsan;
  if (plan.client === "qemu-img") {
    if (firstRound) {
      // Warm-up run, which also sizes the measured runs.
      const warmupCount = Math.round(QEMU_FIRST_GUESS_IOPS * profile.warmupSeconds);
      const warm = await runQemuImg(target.url, w, Math.max(QEMU_COUNT_MIN, warmupCount));
      qemuRate.set(system, warm.iops);
    }
    const rate = qemuRate.get(system) ?? QEMU_FIRST_GUESS_IOPS;
    const count = Math.max(QEMU_COUNT_MIN, Math.round(rate * profile.measureSeconds));
    const before = processCpuSeconds(target.pid);
    const measurement = await runQemuImg(target.url, w, count);
    qemuRate.set(system, measurement.iops);
    return withCpu(measurement, before, processCpuSeconds(target.pid));
  }
  const cpuBefore = processCpuSeconds(target.pid);
  const measurement = plan.client === "iscsi-perf"
    ? await runIscsiPerf(target.url, w, profile.warmupSeconds, profile.measureSeconds)
    : await runLoadgen(target, w, profile.lunSizeBytes, profile.warmupSeconds,
      profile.measureSeconds);
  return withCpu(measurement, cpuBefore, processCpuSeconds(target.pid));
}

function withCpu(m: Measurement, before: number | null, after: number | null): Measurement {
  const cpu = before !== null && after !== null ? Math.max(0, after - before) : null;
  return { ...m, systemCpuSeconds: cpu };
}

function toSample(round: number, m: Measurement): Sample {
  return { round, iops: m.iops, megabytesPerSecond: m.megabytesPerSecond, seconds: m.seconds,
    latencyUs: m.latencyUs, cpuSeconds: m.systemCpuSeconds, bytesMoved: m.bytesMoved };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Medians over the rounds; latency from the merged histograms when the client kept them. */
function summarize(system: SystemId, client: SystemResult["client"],
  samples: Array<Sample & { measurement: Measurement }>): SystemResult {
  const histograms = samples.map((s) => s.measurement.histogram);
  let latencyUs: SystemResult["latencyUs"] = null;
  if (histograms.every((h) => h !== null)) {
    const merged = new LatencyHistogram();
    for (const h of histograms) {
      if (h) merged.merge(LatencyHistogram.fromSparse(h.buckets, h.maxNs));
    }
    const us = (p: number) => merged.percentileNs(p) / 1000;
    latencyUs = { p50: us(50), p99: us(99), p999: us(99.9) };
  } else if (samples.every((s) => s.latencyUs !== null)) {
    const pick = (key: "p50" | "p99" | "p999") =>
      median(samples.map((s) => s.latencyUs?.[key] ?? 0));
    latencyUs = { p50: pick("p50"), p99: pick("p99"), p999: pick("p999") };
  }
  const cpuKnown = samples.every((s) => s.cpuSeconds !== null);
  const cpu = samples.reduce((sum, s) => sum + (s.cpuSeconds ?? 0), 0);
  const moved = samples.reduce((sum, s) => sum + s.bytesMoved, 0);
  return {
    system, client,
    iops: median(samples.map((s) => s.iops)),
    megabytesPerSecond: median(samples.map((s) => s.megabytesPerSecond)),
    latencyUs,
    cpuSecondsPerGigabyte: cpuKnown && moved > 0 ? cpu / (moved / GIGABYTE) : null,
    samples: samples.map(({ measurement: _, ...sample }) => sample),
  };
}
