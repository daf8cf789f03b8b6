// The workload matrix: what one row of the bench measures, and the quick and full profiles.

export type ClientName = "qemu-img" | "iscsi-perf" | "loadgen";
export type SystemId = "limit" | "tgt" | "twinsan";
export const SYSTEM_IDS: readonly SystemId[] = ["limit", "tgt", "twinsan"];

export interface Workload {
  pattern: "random" | "sequential";
  /** Reads in percent: 100 read only, 0 write only, 70 a 70/30 mix. */
  readPercent: number;
  ioSizeBytes: number;
  queueDepth: number; // per session
  sessions: number;
}

/** One row: a workload and the client that drives the iSCSI systems (fio drives the limit). */
export interface RowPlan {
  id: string;
  label: string;
  workload: Workload;
  client: ClientName;
}

export interface Profile {
  name: "quick" | "full";
  rows: RowPlan[];
  rounds: number; // each system measured this many times per row, interleaved
  warmupSeconds: number;
  measureSeconds: number;
  lunSizeBytes: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export function workloadName(w: Workload): string {
  const kind = w.readPercent === 100 ? "read" : w.readPercent === 0 ? "write"
    : `mix${w.readPercent}/${100 - w.readPercent}`;
  const pattern = w.pattern === "random" ? "rand" : "seq";
  const size = w.ioSizeBytes % MiB === 0 ? `${w.ioSizeBytes / MiB}m` : `${w.ioSizeBytes / KiB}k`;
  return `${pattern}-${kind} ${size} qd${w.queueDepth}${w.sessions > 1 ? ` x${w.sessions}` : ""}`;
}

export function row(workload: Workload, client: ClientName): RowPlan {
  const label = workloadName(workload);
  const id = `${label.replace(/[ /]/g, "-")}-${client}`;
  return { id, label, workload, client };
}

/** What a client can do; the TS load generator does everything, so it is the fallback. */
export function clientSupports(client: ClientName, w: Workload): boolean {
  if (client === "loadgen") return true;
  if (w.sessions !== 1) return false;
  if (client === "iscsi-perf") return w.readPercent === 100;
  return w.readPercent === 100 || w.readPercent === 0; // qemu-img bench: reads or writes
}

const rand4k = (readPercent: number, queueDepth: number, sessions = 1): Workload => ({
  pattern: "random", readPercent, ioSizeBytes: 4 * KiB, queueDepth, sessions });
const seq64k = (readPercent: number, queueDepth: number): Workload => ({
  pattern: "sequential", readPercent, ioSizeBytes: 64 * KiB, queueDepth, sessions: 1 });

/** Under 2 minutes on a 2-core machine: one queue depth per workload, two rounds. */
export function quickProfile(): Profile {
  return {
    name: "quick",
    rows: [
      row(rand4k(100, 32), "qemu-img"),
      row(rand4k(0, 32), "qemu-img"),
      row(seq64k(100, 8), "qemu-img"),
      row(seq64k(0, 8), "qemu-img"),
      row(rand4k(70, 8), "loadgen"),
      row(rand4k(100, 8, 2), "loadgen"),
    ],
    rounds: 2,
    warmupSeconds: 0.5,
    measureSeconds: 1.5,
    lunSizeBytes: 1024 * MiB,
  };
}

/** Every workload at queue depths 1, 8 and 32, each client that can run it, three rounds. */
export function fullProfile(): Profile {
  const rows: RowPlan[] = [];
  for (const queueDepth of [1, 8, 32]) {
    const workloads = [rand4k(100, queueDepth), rand4k(0, queueDepth), seq64k(100, queueDepth),
      seq64k(0, queueDepth), rand4k(70, queueDepth)];
    for (const workload of workloads) {
      for (const client of ["qemu-img", "iscsi-perf", "loadgen"] as const) {
        if (clientSupports(client, workload)) rows.push(row(workload, client));
      }
    }
  }
  for (const readPercent of [100, 0, 70]) rows.push(row(rand4k(readPercent, 8, 4), "loadgen"));
  return { name: "full", rows, rounds: 3, warmupSeconds: 1, measureSeconds: 4,
    lunSizeBytes: 1024 * MiB };
}
