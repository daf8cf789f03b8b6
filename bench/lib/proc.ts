// Child processes for the bench: run a program to completion with a time bound, check that the
// external tools are installed (naming their Debian package), and read a process's CPU time.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

export interface CommandResult {
  command: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** CPU seconds (user + system) the program used, from its rusage; null if unknown. */
  cpuSeconds: number | null;
}

export interface RunOptions {
  timeoutMs: number;
  /** Sent instead of SIGKILL when the time is up, e.g. SIGINT for programs that run forever. */
  stopSignal?: NodeJS.Signals;
  env?: Record<string, string>;
}

/** Runs `program args`; never throws for a non-zero exit (callers judge the result). */
export function runCommand(program: string, args: string[], options: RunOptions) {
  const command = [program, ...args].join(" ");
  return new Promise<CommandResult>((resolve, reject) => {
    const child = Bun.spawn([program, ...args], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: options.env ? { ...process.env, ...options.env } : undefined,
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = options.stopSignal === undefined;
      child.kill(options.stopSignal ?? "SIGKILL");
    }, options.timeoutMs);
    const stdout = new Response(child.stdout).text();
    const stderr = new Response(child.stderr).text();
    Promise.all([child.exited, stdout, stderr]).then(([exitCode, out, err]) => {
      clearTimeout(timer);
      const usage = child.resourceUsage();
      const cpuSeconds = usage
        ? Number(usage.cpuTime.user + usage.cpuTime.system) / 1e6
        : null;
      const signal = (child.signalCode ?? null) as NodeJS.Signals | null;
      resolve({
        command, exitCode: child.signalCode ? null : exitCode, signal, stdout: out, stderr: err,
        timedOut, cpuSeconds,
      });
    }, reject);
  });
}

export function describeFailure(result: CommandResult): string {
  const how = result.timedOut
    ? "timed out and was killed"
    : `exited with ${result.exitCode ?? `signal ${result.signal}`}`;
  return `${result.command} ${how}\n--- stdout ---\n${tail(result.stdout)}` +
    `\n--- stderr ---\n${tail(result.stderr)}`;
}

export function tail(text: string, maxChars = 4000): string {
  return text.length <= maxChars ? text : `...${text.slice(-maxChars)}`;
}

/** A program the bench drives and the Debian package that ships it. */
export interface Tool {
  program: string;
  debianPackage: string;
}

export const TOOLS = {
  fio: { program: "fio", debianPackage: "fio" },
  qemuImg: { program: "qemu-img", debianPackage: "qemu-utils" },
  iscsiPerf: { program: "iscsi-perf", debianPackage: "libiscsi-bin" },
  tgtd: { program: "tgtd", debianPackage: "tgt" },
  tgtadm: { program: "tgtadm", debianPackage: "tgt" },
} as const satisfies Record<string, Tool>;

/** A tool the bench needs and cannot find: the message names the package to install. */
export class MissingToolError extends Error {
  readonly code = "BENCH_TOOL_MISSING";
  constructor(readonly missing: Tool[]) {
    const names = missing.map((t) => `${t.program} (Debian package ${t.debianPackage})`);
    const packages = [...new Set(missing.map((t) => t.debianPackage))].join(" ");
    super(`missing: ${names.join(", ")}; install with: apt-get install ${packages}`);
  }
}

/** Throws MissingToolError naming every missing program, or returns when all are on PATH. */
export function requireTools(tools: readonly Tool[]): void {
  const missing = tools.filter((tool) => Bun.which(tool.program) === null);
  if (missing.length > 0) throw new MissingToolError(missing);
}

/** QEMU's iSCSI driver lives in qemu-block-extra; qemu-img without it cannot open iscsi://. */
export async function requireQemuIscsiDriver(): Promise<void> {
  const help = await runCommand("qemu-img", ["--help"], { timeoutMs: 10_000 });
  if (!/\biscsi\b/.test(help.stdout)) {
    throw new MissingToolError([{ program: "qemu-img iSCSI driver",
      debianPackage: "qemu-block-extra" }]);
  }
}

let clockTicksPerSecond: number | undefined;

function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    const result = Bun.spawnSync(["getconf", "CLK_TCK"]);
    const value = Number(result.stdout.toString().trim());
    clockTicksPerSecond = Number.isFinite(value) && value > 0 ? value : 100;
  }
  return clockTicksPerSecond;
}

/**
 * User + system CPU seconds of process `pid`, all its threads included (/proc/PID/stat fields
 * 14 and 15). Null when the process is gone.
 */
export function processCpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / ticksPerSecond();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
