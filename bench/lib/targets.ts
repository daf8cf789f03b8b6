// The systems under test, started by the bench on one shared, fully written backing file:
// a tgt daemon (the peer) and a twinsan node (the subject). fio reads the file itself (the limit).
import { randomBytes } from "node:crypto";
import { open, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Subprocess } from "bun";
import { canConnect, freePort, LOOPBACK_HOST } from "./loopback.ts";
import { describeFailure, runCommand, sleep, tail } from "./proc.ts";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUN = process.execPath;
const READY_TIMEOUT_MS = 20_000;
const TGT_START_TIMEOUT_MS = 10_000;
const TGT_DISK_LUN = 1; // tgt puts its controller at LUN 0
const TGT_CONTROL_PORT_MAX = 32_767;
const FILL_CHUNK_BYTES = 4 * 1024 * 1024;

/** An iSCSI target the clients reach by URL; pid is the process whose CPU time is counted. */
export interface RunningTarget {
  url: string;
  host: string;
  port: number;
  iqn: string;
  lun: number;
  pid: number;
  /** True when the target reads and writes the file with O_DIRECT. */
  directIo: boolean;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Writes every byte of the file (random data), so no system reads holes or unwritten extents
 * that cost no I/O, then syncs it.
 */
export async function createBackingFile(path: string, sizeBytes: number): Promise<void> {
  const chunk = randomBytes(Math.min(FILL_CHUNK_BYTES, sizeBytes));
  const file = await open(path, "w");
  try {
    for (let at = 0; at < sizeBytes; at += chunk.length) {
      chunk.writeUInt32LE(at / chunk.length, 0); // chunks differ from one another
      await file.write(chunk, 0, Math.min(chunk.length, sizeBytes - at), at);
    }
    await file.datasync();
  } finally {
    await file.close();
  }
}

const liveChildren = new Set<Subprocess>();
process.once("exit", () => {
  for (const child of liveChildren) child.kill("SIGKILL");
});

function track(child: Subprocess): void {
  liveChildren.add(child);
  void child.exited.then(() => liveChildren.delete(child));
}

/** Collects a child's output (stdout and stderr), keeping the tail. */
class OutputLog {
  text = "";
  private readonly lineWaiters: Array<(line: string) => boolean> = [];
  private pending = "";

  attach(stream: ReadableStream<Uint8Array> | undefined | number | null): void {
    if (!(stream instanceof ReadableStream)) return;
    const decoder = new TextDecoder();
    void (async () => {
      for await (const chunk of stream) this.add(decoder.decode(chunk, { stream: true }));
    })().catch(() => {});
  }

  /** Resolves once a line makes `accept` true. */
  waitForLine(accept: (line: string) => boolean): Promise<void> {
    return new Promise((resolve) => {
      this.lineWaiters.push((line) => {
        if (!accept(line)) return false;
        resolve();
        return true;
      });
    });
  }

  private add(text: string): void {
    this.text = tail(this.text + text, 200_000);
    this.pending += text;
    const lines = this.pending.split("\n");
    this.pending = lines.pop() ?? "";
    for (const line of lines) {
      for (let i = this.lineWaiters.length - 1; i >= 0; i--) {
        if (this.lineWaiters[i](line)) this.lineWaiters.splice(i, 1);
      }
    }
  }
}

export interface TwinsanOptions {
  backingPath: string;
  sizeBytes: number;
  blockSizeBytes: 512 | 4096;
  workDir: string;
  /** The twinsan checkout to run (another build to compare with); this repository by default. */
  twinsanDir?: string;
  /** The LUN's RAM cache; twinsan's default when absent. */
  cache?: { mode: "write-back" | "write-through" | "none"; sizeMB: number };
}

/** Starts `bun src/mgmt/cli.ts serve --config FILE` with one LUN 0 on the backing file. */
export async function startTwinsan(options: TwinsanOptions): Promise<RunningTarget> {
  const port = await freePort();
  const name = `bench${process.pid}`;
  const iqn = `iqn.2025-01.bench.twinsan:${name}.disk`;
  const serial = randomBytes(8).toString("hex");
  const config = {
    node: { name, dataDir: join(options.workDir, "twinsan-data") },
    portals: [{ id: "portal0", address: LOOPBACK_HOST, port, portalGroupTag: 1,
      relativeTargetPortId: 1 }],
    targetPortGroupId: 1,
    iscsi: { nopInIntervalMs: 5_000, nopInTimeoutMs: 15_000 },
    discovery: {},
    targets: [{
      iqn, portals: ["portal0"], allowedInitiators: [],
      luns: [{ lun: 0, path: options.backingPath, sizeBytes: options.sizeBytes,
        blockSizeBytes: options.blockSizeBytes, serial, naaId: `6${randomBytes(16)
          .toString("hex").slice(1)}`, vendorId: "TWINSAN", productId: "bench-lun",
        productRevision: "0001", ...(options.cache && { cache: options.cache }) }],
    }],
  };
  const configPath = join(options.workDir, "twinsan.json");
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const child = Bun.spawn([BUN, "src/mgmt/cli.ts", "serve", "--config", configPath], {
    cwd: options.twinsanDir ?? REPO_ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe",
  });
  track(child);
  const output = new OutputLog();
  output.attach(child.stdout);
  output.attach(child.stderr);
  const ready = output.waitForLine((line) => line.startsWith("{") && line.includes('"ready"'));
  const outcome = await Promise.race([
    ready.then(() => "ready" as const),
    child.exited.then(() => "exited" as const),
    sleep(READY_TIMEOUT_MS).then(() => "timeout" as const),
  ]);
  if (outcome !== "ready") {
    child.kill("SIGKILL");
    throw new Error(`twinsan did not become ready (${outcome}); its output:\n${tail(output.text)}`);
  }
  return {
    url: `iscsi://${LOOPBACK_HOST}:${port}/${iqn}/0`,
    host: LOOPBACK_HOST, port, iqn, lun: 0, pid: child.pid,
    // The node logs "native I/O backend" once it opens LUNs through the O_DIRECT addon.
    directIo: output.text.includes("native I/O backend"),
    logs: () => output.text,
    stop: async () => {
      child.kill("SIGTERM");
      const stopped = await Promise.race([child.exited.then(() => true), sleep(10_000)]);
      if (!stopped) child.kill("SIGKILL");
      await child.exited;
    },
  };
}

export interface TgtOptions {
  backingPath: string;
  blockSizeBytes: 512 | 4096;
  /** Open the backing file O_DIRECT (tgtadm --bsoflags direct), else through the page cache. */
  directIo: boolean;
}

/** Starts tgtd on a free port with a private control socket, one target, the disk at LUN 1. */
export async function startTgt(options: TgtOptions): Promise<RunningTarget> {
  const failures: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const started = await tryStartTgt(options);
    if (typeof started !== "string") return started;
    failures.push(started);
  }
  throw new Error(`tgtd did not start in 3 attempts:\n${failures.join("\n")}`);
}

async function tryStartTgt(options: TgtOptions): Promise<RunningTarget | string> {
  const port = await freePort();
  const controlPort = 1 + Math.floor(Math.random() * TGT_CONTROL_PORT_MAX);
  const child = Bun.spawn(
    ["tgtd", "-f", "-C", String(controlPort), "--iscsi", `portal=${LOOPBACK_HOST}:${port}`],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  track(child);
  const output = new OutputLog();
  output.attach(child.stdout);
  output.attach(child.stderr);
  const tgtadm = async (args: string[]) => {
    const result = await runCommand("tgtadm", ["-C", String(controlPort), "--lld", "iscsi",
      ...args], { timeoutMs: 10_000 });
    return result.exitCode === 0 ? null : describeFailure(result);
  };
  const kill = async () => {
    child.kill("SIGKILL");
    await child.exited;
    const socket = `/var/run/tgtd/socket.${controlPort}`;
    await Promise.all([rm(socket, { force: true }), rm(`${socket}.lock`, { force: true })]);
  };
  const deadline = Date.now() + TGT_START_TIMEOUT_MS;
  let up = false;
  while (!up && Date.now() < deadline && child.exitCode === null) {
    up = (await tgtadm(["--mode", "target", "--op", "show"])) === null &&
      (await canConnect(LOOPBACK_HOST, port));
    if (!up) await sleep(100);
  }
  if (!up) {
    child.kill("SIGKILL"); // its control port may belong to another tgtd: leave the socket
    await child.exited;
    return output.text;
  }
  const iqn = `iqn.2025-01.bench.tgt:lun${port}`;
  const tid = ["--tid", "1"];
  const steps = [
    ["--mode", "target", "--op", "new", ...tid, "--targetname", iqn],
    ["--mode", "logicalunit", "--op", "new", ...tid, "--lun", String(TGT_DISK_LUN),
      "--backing-store", options.backingPath, "--blocksize", String(options.blockSizeBytes),
      ...(options.directIo ? ["--bsoflags", "direct"] : [])],
    ["--mode", "target", "--op", "bind", ...tid, "--initiator-address", "ALL"],
  ];
  for (const step of steps) {
    const failure = await tgtadm(step);
    if (failure !== null) {
      await kill();
      throw new Error(`tgtadm failed: ${failure}\ntgtd: ${output.text}`);
    }
  }
  return {
    url: `iscsi://${LOOPBACK_HOST}:${port}/${iqn}/${TGT_DISK_LUN}`,
    host: LOOPBACK_HOST, port, iqn, lun: TGT_DISK_LUN, pid: child.pid,
    directIo: options.directIo,
    logs: () => output.text,
    stop: kill,
  };
}
