// QEMU's iSCSI initiator (libiscsi inside qemu-img / qemu-io) as a client of a target.
import { describeFailure, requireProgram, runCommand, runCommandOk } from "./run-command.ts";

/** One qemu-io pattern I/O: `pattern` is the byte written (or expected) over the range. */
export interface PatternIo {
  pattern: number; // 0..255
  offsetBytes: number;
  lengthBytes: number;
}

async function requireQemu(): Promise<void> {
  await requireProgram("qemu-img", "qemu-utils");
  await requireProgram("qemu-io", "qemu-utils");
}

/** Copies a raw image from `source` to `destination` (each a file path or an iSCSI URL). */
export async function qemuImgConvert(
  source: string,
  destination: string,
  options: { destinationExists: boolean; timeoutMs: number },
): Promise<void> {
  await requireQemu();
  const noCreate = options.destinationExists ? ["-n"] : [];
  await runCommandOk(
    "qemu-img",
    ["convert", ...noCreate, "-f", "raw", "-O", "raw", source, destination],
    { timeoutMs: options.timeoutMs },
  );
}

export function writeCommand(io: PatternIo): string {
  return `write -P ${io.pattern} ${io.offsetBytes} ${io.lengthBytes}`;
}

export function readCommand(io: PatternIo): string {
  return `read -P ${io.pattern} ${io.offsetBytes} ${io.lengthBytes}`;
}

/**
 * Runs qemu-io commands in one iSCSI session and throws unless every command succeeded: exit
 * 0, no "Pattern verification failed", no "... failed:" error, and one "wrote"/"read" report
 * per write/read command.
 */
export async function qemuIoChecked(
  url: string,
  commands: string[],
  timeoutMs: number,
): Promise<void> {
  await requireQemu();
  const args = ["-f", "raw", url, ...commands.flatMap((command) => ["-c", command])];
  const result = await runCommand("qemu-io", args, { timeoutMs });
  const output = result.stdout + result.stderr;
  const problems = output.split("\n")
    .filter((line) => /Pattern verification failed|failed:|error/i.test(line));
  const countLines = (prefix: string): number =>
    output.split("\n").filter((line) => line.startsWith(prefix)).length;
  const countCommands = (verb: string): number =>
    commands.filter((command) => command.startsWith(`${verb} `)).length;
  const wrote = countLines("wrote ");
  const read = countLines("read ");
  if (result.exitCode !== 0 || result.timedOut || problems.length > 0 ||
    wrote !== countCommands("write") || read !== countCommands("read")) {
    throw new Error(
      `qemu-io on ${url}: ${problems.length} errors (first: ${problems.slice(0, 5).join(" | ")}),` +
        ` ${wrote}/${countCommands("write")} writes and ${read}/${countCommands("read")} reads` +
        ` reported\n${describeFailure(result)}`,
    );
  }
}

/**
 * What reading back must find after `base` was written and then `writes` (inside it, not
 * overlapping each other): each write's range, and the gaps between them with base's pattern.
 */
export function expectedSegments(base: PatternIo, writes: PatternIo[]): PatternIo[] {
  const sorted = [...writes].sort((a, b) => a.offsetBytes - b.offsetBytes);
  const segments: PatternIo[] = [];
  let cursor = base.offsetBytes;
  for (const write of sorted) {
    if (write.offsetBytes < cursor) throw new Error("expectedSegments: writes overlap");
    if (write.offsetBytes > cursor) {
      segments.push({ ...base, offsetBytes: cursor, lengthBytes: write.offsetBytes - cursor });
    }
    segments.push(write);
    cursor = write.offsetBytes + write.lengthBytes;
  }
  const end = base.offsetBytes + base.lengthBytes;
  if (cursor > end) throw new Error("expectedSegments: a write ends past the base range");
  if (cursor < end) segments.push({ ...base, offsetBytes: cursor, lengthBytes: end - cursor });
  return segments;
}
