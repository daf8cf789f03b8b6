// `twinsan bench micro`: runs the micro benchmark cases with tinybench and prints ops/s.
// --save-baseline writes bench/micro/baseline.json; --check compares against it and fails
// (exit 1) when a case dropped more than 15 %. Baselines are per machine: save one on the
// machine you compare on.
import { readFile, writeFile } from "node:fs/promises";
import { cpus, hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Bench } from "tinybench";
import { MICRO_CASES } from "./cases.ts";

export const BASELINE_PATH = fileURLToPath(new URL("./baseline.json", import.meta.url));
export const REGRESSION_THRESHOLD = 0.15;

export interface MicroBaseline {
  machine: string;
  savedAt: string;
  opsPerSecond: Record<string, number>;
}

export interface Comparison {
  name: string;
  opsPerSecond: number;
  baselineOpsPerSecond: number | null;
  /** current / baseline - 1; null without a baseline. */
  change: number | null;
  regressed: boolean;
}

/** Flags each case more than `threshold` below its baseline. */
export function compareWithBaseline(current: Record<string, number>,
  baseline: MicroBaseline | null, threshold = REGRESSION_THRESHOLD): Comparison[] {
  return Object.entries(current).map(([name, opsPerSecond]) => {
    const before = baseline?.opsPerSecond[name] ?? null;
    const change = before === null || before <= 0 ? null : opsPerSecond / before - 1;
    return { name, opsPerSecond, baselineOpsPerSecond: before, change,
      regressed: change !== null && change < -threshold };
  });
}

/**
 * Ops/s of each case: the best of `repeats` tinybench runs, each op/s from the mean time per
 * call. Noise from a shared machine only slows a run down, so the best run is the one to keep.
 */
export async function measureMicro(timeMs: number, repeats = 3): Promise<Record<string, number>> {
  const best: Record<string, number> = {};
  for (let repeat = 0; repeat < repeats; repeat++) {
    const bench = new Bench({ time: timeMs, warmupTime: Math.min(200, timeMs / 2) });
    for (const c of MICRO_CASES) bench.add(c.name, c.run, { async: false });
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result;
      if (r.state !== "completed") throw new Error(`micro case "${task.name}": ${r.state}`);
      const opsPerSecond = 1000 / r.latency.mean;
      best[task.name] = Math.max(best[task.name] ?? 0, opsPerSecond);
    }
  }
  return best;
}

async function readBaseline(): Promise<MicroBaseline | null> {
  try {
    return JSON.parse(await readFile(BASELINE_PATH, "utf8")) as MicroBaseline;
  } catch {
    return null;
  }
}

function formatOps(ops: number): string {
  return Math.round(ops).toLocaleString("en-US").padStart(14);
}

export async function runMicroCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { check: { type: "boolean" },
    "save-baseline": { type: "boolean" }, "time-ms": { type: "string" } } });
  const timeMs = Number(values["time-ms"] ?? 500);
  const current = await measureMicro(timeMs);
  const baseline = await readBaseline();
  const rows = compareWithBaseline(current, baseline);
  for (const row of rows) {
    const change = row.change === null ? "  (no baseline)"
      : `  ${row.change >= 0 ? "+" : ""}${(row.change * 100).toFixed(1)} % vs baseline`;
    process.stdout.write(`${row.name.padEnd(44)}${formatOps(row.opsPerSecond)} ops/s${change}` +
      `${row.regressed ? "  REGRESSION" : ""}\n`);
  }
  if (values["save-baseline"]) {
    const machine = `${hostname()} (${cpus()[0]?.model ?? "unknown"}, ${cpus().length} CPUs)`;
    const saved: MicroBaseline = { machine, savedAt: new Date().toISOString(),
      opsPerSecond: current };
    await writeFile(BASELINE_PATH, `${JSON.stringify(saved, null, 2)}\n`);
    process.stdout.write(`saved ${BASELINE_PATH}\n`);
  }
  if (!values.check) return 0;
  if (baseline === null) {
    process.stderr.write(`bench micro: no baseline at ${BASELINE_PATH}: run --save-baseline\n`);
    return 1;
  }
  const regressed = rows.filter((row) => row.regressed);
  process.stdout.write(regressed.length === 0
    ? `no case dropped more than ${REGRESSION_THRESHOLD * 100} % (baseline: ${baseline.machine})\n`
    : `${regressed.length} case(s) dropped more than ${REGRESSION_THRESHOLD * 100} %\n`);
  return regressed.length === 0 ? 0 : 1;
}

if (import.meta.main) process.exitCode = await runMicroCommand(process.argv.slice(2));
