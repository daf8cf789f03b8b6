// `npm run bench` / `twinsan bench`: runs the workload matrix against the limit (fio on the
// backing file), tgt and twinsan, and writes result.json, result.md and ratios.svg under
// bench/results/<date>-<host>/. `bench micro` runs the micro benchmarks (bench/micro/).
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { cpus, hostname, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runMicroCommand } from "./micro/run.ts";
import { ratioChartSvg } from "./lib/plot.ts";
import {
  MissingToolError,
  requireQemuIscsiDriver,
  requireTools,
  runCommand,
  TOOLS,
} from "./lib/proc.ts";
import { ConsoleProgress } from "./lib/progress.ts";
import { markdownReport } from "./lib/report.ts";
import { runProfile } from "./lib/runner.ts";
import {
  type BenchResult,
  parseBenchResult,
  RESULT_SCHEMA_VERSION,
  resultJsonSchema,
} from "./lib/schema.ts";
import { REPO_ROOT } from "./lib/targets.ts";
import { fullProfile, type Profile, quickProfile, SYSTEM_IDS } from "./lib/workloads.ts";

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const USAGE = `usage: twinsan bench [--quick | --full] [options]
       twinsan bench micro [--check | --save-baseline] [--time-ms N]
       twinsan bench schema

Runs each workload against fio on the backing file (the limit), tgt (the peer) and twinsan,
interleaved, and writes result.json, result.md and ratios.svg to bench/results/<date>-<host>/.

  --quick              six rows, two rounds: under 2 minutes on 2 cores
  --full               every workload at queue depths 1, 8, 32, each client (default)
  --only REGEX         only the rows whose id matches (e.g. 'rand-read.*qd32')
  --rounds N           measurements of each system per row (default: the profile's)
  --seconds S          measured seconds of each run (default: the profile's)
  --out DIR            results folder (default: bench/results/<date>-<host>)
  --work-dir DIR       where the backing file goes (default: the temp directory)
  --twinsan-dir DIR    the twinsan checkout to run (default: this one)
  --peer-io MODE       tgt file access: auto (as twinsan), buffered or direct
`;

interface RunFlags {
  profile: Profile;
  out?: string;
  workDir?: string;
  twinsanDir?: string;
  peerIo: "auto" | "buffered" | "direct";
}

class UsageError extends Error {}

/** The `twinsan bench` command; returns the exit code. */
export async function runBenchCommand(argv: string[]): Promise<number> {
  try {
    if (argv[0] === "micro") return await runMicroCommand(argv.slice(1));
    if (argv[0] === "schema") {
      process.stdout.write(`${JSON.stringify(resultJsonSchema(), null, 2)}\n`);
      return EXIT_OK;
    }
    if (argv.includes("--help") || argv.includes("-h")) {
      process.stdout.write(USAGE);
      return EXIT_OK;
    }
    return await runSuite(parseRunFlags(argv));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`twinsan bench: ${error.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    if (error instanceof MissingToolError) {
      process.stderr.write(`twinsan bench: ${error.message}\n`);
      return EXIT_FAILED;
    }
    process.stderr.write(`twinsan bench: failed: ${error instanceof Error ? error.stack ??
      error.message : String(error)}\n`);
    return EXIT_FAILED;
  }
}

function parseRunFlags(argv: string[]): RunFlags {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: false, options: {
      quick: { type: "boolean" }, full: { type: "boolean" }, only: { type: "string" },
      rounds: { type: "string" }, seconds: { type: "string" }, out: { type: "string" },
      "work-dir": { type: "string" }, "twinsan-dir": { type: "string" },
      "peer-io": { type: "string" },
    } }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (parsed.quick && parsed.full) throw new UsageError("--quick and --full exclude each other");
  const profile = parsed.quick ? quickProfile() : fullProfile();
  if (parsed.only !== undefined) {
    const pattern = new RegExp(parsed.only);
    profile.rows = profile.rows.filter((row) => pattern.test(row.id));
    if (profile.rows.length === 0) throw new UsageError(`no row id matches ${parsed.only}`);
  }
  if (parsed.rounds !== undefined) profile.rounds = positive("--rounds", parsed.rounds, true);
  if (parsed.seconds !== undefined) profile.measureSeconds = positive("--seconds", parsed.seconds);
  const peerIo = parsed["peer-io"] ?? "auto";
  if (peerIo !== "auto" && peerIo !== "buffered" && peerIo !== "direct") {
    throw new UsageError(`--peer-io must be auto, buffered or direct, not ${peerIo}`);
  }
  return { profile, out: parsed.out, workDir: parsed["work-dir"],
    twinsanDir: parsed["twinsan-dir"], peerIo };
}

function positive(flag: string, text: string, integer = false): number {
  const value = Number(text);
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    throw new UsageError(`${flag} needs a positive ${integer ? "integer" : "number"}`);
  }
  return value;
}

async function runSuite(flags: RunFlags): Promise<number> {
  const { profile } = flags;
  const clients = new Set(profile.rows.map((row) => row.client));
  requireTools([TOOLS.fio, TOOLS.tgtd, TOOLS.tgtadm,
    ...(clients.has("qemu-img") ? [TOOLS.qemuImg] : []),
    ...(clients.has("iscsi-perf") ? [TOOLS.iscsiPerf] : [])]);
  if (clients.has("qemu-img")) await requireQemuIscsiDriver();
  const startedAt = new Date();
  const workDir = flags.workDir ?? join(tmpdir(), `twinsan-bench-${process.pid}`);
  const perRunSeconds = profile.warmupSeconds / 2 + profile.measureSeconds + 0.4;
  const progress = new ConsoleProgress(profile.rows.length, profile.rounds, SYSTEM_IDS.length,
    perRunSeconds);
  progress.note(`${profile.name} profile: ${profile.rows.length} rows x ${SYSTEM_IDS.length} ` +
    `systems x ${profile.rounds} rounds`);
  let outcome;
  try {
    outcome = await runProfile({ profile, workDir, twinsanDir: flags.twinsanDir,
      peerIo: flags.peerIo, progress });
  } finally {
    if (!flags.workDir) await rm(workDir, { recursive: true, force: true });
  }
  const twinsanDir = flags.twinsanDir ?? REPO_ROOT;
  const result = parseBenchResult({
    schema: "twinsan-bench-result", schemaVersion: RESULT_SCHEMA_VERSION, profile: profile.name,
    startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(),
    host: hostInfo(), twinsan: await gitInfo(twinsanDir), tools: await toolVersions(),
    setup: { lunSizeBytes: profile.lunSizeBytes, lunBlockSizeBytes: 512,
      backingFile: outcome.backingFile, peerDirectIo: outcome.peerDirectIo,
      twinsanDirectIo: outcome.twinsanDirectIo, rounds: profile.rounds,
      warmupSeconds: profile.warmupSeconds, measureSeconds: profile.measureSeconds,
      order: "limit tgt twinsan, then reversed, each round" },
    rows: outcome.rows,
  });
  const outDir = flags.out ?? resultsDir(startedAt, result.host.hostname);
  await writeResult(outDir, result);
  process.stderr.write(`bench: wrote ${outDir}/{result.json,result.md,ratios.svg}\n`);
  return EXIT_OK;
}

export async function writeResult(outDir: string, result: BenchResult): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await Promise.all([
    writeFile(join(outDir, "result.json"), `${JSON.stringify(result, null, 2)}\n`),
    writeFile(join(outDir, "result.schema.json"),
      `${JSON.stringify(resultJsonSchema(), null, 2)}\n`),
    writeFile(join(outDir, "result.md"), markdownReport(result)),
    writeFile(join(outDir, "ratios.svg"), ratioChartSvg(result)),
  ]);
  process.stdout.write(`${markdownReport(result)}\n`);
}

/** bench/results/<YYYY-MM-DD>-<host>, with -2, -3... when that day's folder exists. */
function resultsDir(date: Date, host: string): string {
  const base = join(REPO_ROOT, "bench", "results",
    `${date.toISOString().slice(0, 10)}-${host.replace(/[^\w.-]/g, "_")}`);
  let dir = base;
  for (let n = 2; existsSync(dir); n++) dir = `${base}-${n}`;
  return dir;
}

function hostInfo(): BenchResult["host"] {
  const cpuList = cpus();
  return { hostname: hostname(), kernel: release(), cpuModel: cpuList[0]?.model ?? "unknown",
    cpuCount: cpuList.length, memoryBytes: totalmem(), bunVersion: Bun.version };
}

async function gitInfo(dir: string): Promise<BenchResult["twinsan"]> {
  const head = await runCommand("git", ["-C", dir, "rev-parse", "HEAD"], { timeoutMs: 10_000 });
  if (head.exitCode !== 0) return { directory: dir, commit: null, dirty: null };
  const status = await runCommand("git",
    ["-C", dir, "status", "--porcelain", "--untracked-files=no"],
    { timeoutMs: 10_000 });
  return { directory: dir, commit: head.stdout.trim(),
    dirty: status.exitCode === 0 ? status.stdout.trim().length > 0 : null };
}

async function toolVersions(): Promise<Record<string, string>> {
  const firstLine = async (program: string, args: string[]) => {
    const result = await runCommand(program, args, { timeoutMs: 10_000 }).catch(() => null);
    return (result?.stdout || result?.stderr || "").trim().split("\n")[0] ?? "";
  };
  return {
    fio: await firstLine("fio", ["--version"]),
    "qemu-img": await firstLine("qemu-img", ["--version"]),
    tgt: await firstLine("tgtadm", ["--version"]),
    "iscsi-perf": await iscsiPerfVersion(),
  };
}

/** iscsi-perf has no --version: its usage text names the version. */
async function iscsiPerfVersion(): Promise<string> {
  const result = await runCommand("iscsi-perf", [], { timeoutMs: 10_000 }).catch(() => null);
  const text = `${result?.stdout ?? ""}\n${result?.stderr ?? ""}`;
  return /iscsi-perf version [\w.]+/.exec(text)?.[0] ?? "unknown";
}
