// Runs an external program to completion with a time bound, capturing its output.
import { spawn } from "node:child_process";

export interface CommandResult {
  command: string; // the command line, for messages
  exitCode: number | null; // null when killed by a signal
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  timeoutMs: number;
  cwd?: string;
  input?: string; // written to stdin, which is then closed
}

/** Runs `program args`; never throws for a non-zero exit (callers judge the result). */
export function runCommand(
  program: string,
  args: string[],
  options: RunOptions,
): Promise<CommandResult> {
  const command = shorten([program, ...args].map(quoteForDisplay).join(" "), 1000);
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: options.cwd, stdio: "pipe" });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${error.message}`));
    });
    child.once("close", (exitCode, signal) => {
      clearTimeout(timer);
      resolve({
        command,
        exitCode,
        signal,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        timedOut,
      });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** Like runCommand, but throws with the output unless the program exited 0 in time. */
export async function runCommandOk(
  program: string,
  args: string[],
  options: RunOptions,
): Promise<CommandResult> {
  const result = await runCommand(program, args, options);
  if (result.exitCode !== 0 || result.timedOut) throw new Error(describeFailure(result));
  return result;
}

export function describeFailure(result: CommandResult): string {
  const how = result.timedOut
    ? "timed out and was killed"
    : `exited with ${result.exitCode ?? `signal ${result.signal}`}`;
  return `${result.command} ${how}\n--- stdout ---\n${tail(result.stdout)}` +
    `\n--- stderr ---\n${tail(result.stderr)}`;
}

/** The last `maxChars` characters of a long text, for error messages. */
export function tail(text: string, maxChars = 4000): string {
  return text.length <= maxChars ? text : `...${text.slice(-maxChars)}`;
}

function shorten(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}...`;
}

function quoteForDisplay(word: string): string {
  const shown = shorten(word, 200);
  return /^[\w@%+=:,./-]+$/.test(shown) ? shown : `'${shown.replaceAll("'", "'\\''")}'`;
}

/** Fails with a clear message when a program the tests need is not installed. */
export async function requireProgram(program: string, debianPackage: string): Promise<void> {
  const result = await runCommand("sh", ["-c", `command -v ${program}`], { timeoutMs: 5_000 });
  if (result.exitCode !== 0) {
    throw new Error(
      `${program} is missing: install the Debian package ${debianPackage} ` +
        "(scripts/install-test-tools.sh does; `npm test` runs it first)",
    );
  }
}
