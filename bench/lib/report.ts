// result.md: the Markdown tables of a result (throughput with ratios, then latency and CPU).
import type { BenchResult, BenchRow, SystemResult } from "./schema.ts";

const SYSTEMS = ["limit", "tgt", "twinsan"] as const;

function of(row: BenchRow, system: string): SystemResult | undefined {
  return row.results.find((r) => r.system === system);
}

function number(value: number | undefined | null, digits = 0): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return "-";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits,
    maximumFractionDigits: digits });
}

function latency(result: SystemResult | undefined): string {
  const l = result?.latencyUs;
  if (!l) return "-";
  return `${number(l.p50)} / ${number(l.p99)} / ${number(l.p999)}`;
}

/** The throughput table: IOPS and MB/s of each system, ratios per row. */
export function throughputTable(result: BenchResult): string {
  const lines = [
    "| Workload | Client | limit (fio) IOPS | tgt IOPS | twinsan IOPS | twinsan MB/s " +
      "| twinsan/tgt | twinsan/limit |",
    "|---|---|--:|--:|--:|--:|--:|--:|",
  ];
  for (const row of result.rows) {
    lines.push(`| ${row.label} | ${row.client} | ${number(of(row, "limit")?.iops)} ` +
      `| ${number(of(row, "tgt")?.iops)} | ${number(of(row, "twinsan")?.iops)} ` +
      `| ${number(of(row, "twinsan")?.megabytesPerSecond)} ` +
      `| ${number(row.ratios.twinsanOverPeer, 2)} | ${number(row.ratios.twinsanOverLimit, 2)} |`);
  }
  return lines.join("\n");
}

/** Latency percentiles (where the client measures them) and CPU seconds per GB. */
export function latencyCpuTable(result: BenchResult): string {
  const header = SYSTEMS.map((s) => `${s} p50/p99/p99.9 µs`).join(" | ");
  const cpu = SYSTEMS.map((s) => `${s} CPU s/GB`).join(" | ");
  const lines = [`| Workload | Client | ${header} | ${cpu} |`,
    `|---|---|${SYSTEMS.map(() => "--:").join("|")}|${SYSTEMS.map(() => "--:").join("|")}|`];
  for (const row of result.rows) {
    const lat = SYSTEMS.map((s) => latency(of(row, s))).join(" | ");
    const cpus = SYSTEMS.map((s) => number(of(row, s)?.cpuSecondsPerGigabyte, 2)).join(" | ");
    lines.push(`| ${row.label} | ${row.client} | ${lat} | ${cpus} |`);
  }
  return lines.join("\n");
}

export function machineLine(result: BenchResult): string {
  const h = result.host;
  const tree = result.twinsan.commit
    ? `twinsan ${result.twinsan.commit.slice(0, 10)}${result.twinsan.dirty ? " (dirty)" : ""}`
    : "twinsan (no git)";
  const memoryGiB = Math.round(h.memoryBytes / 2 ** 30);
  return `${h.hostname}: ${h.cpuModel}, ${h.cpuCount} CPUs, ${memoryGiB}` +
    ` GiB, Linux ${h.kernel}, Bun ${h.bunVersion}; ${tree}; profile ${result.profile}, ` +
    `${result.setup.rounds} rounds of ${result.setup.measureSeconds} s; ${result.startedAt}`;
}

export function markdownReport(result: BenchResult): string {
  const s = result.setup;
  const io = (direct: boolean) => (direct ? "O_DIRECT" : "page cache");
  return [
    `# twinsan bench (${result.profile})`,
    "",
    machineLine(result),
    "",
    `LUN: ${s.lunSizeBytes / 2 ** 20} MiB, ${s.lunBlockSizeBytes} B blocks, one fully written ` +
      `backing file for all systems; tgt through the ${io(s.peerDirectIo)}, twinsan through the ` +
      `${io(s.twinsanDirectIo)}; the limit is fio io_uring O_DIRECT on the file. ` +
      `Systems interleaved ${s.order}; values are medians over the rounds.`,
    "",
    "## Throughput",
    "",
    throughputTable(result),
    "",
    "## Latency and CPU",
    "",
    "Latency comes from clients that time each request (the built-in load generator, fio);",
    "CPU is user + system time of the system's processes (tgtd, the twinsan bun process, fio)",
    "per 10^9 bytes moved.",
    "",
    latencyCpuTable(result),
    "",
    `Tools: ${Object.entries(result.tools).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    "",
  ].join("\n");
}
