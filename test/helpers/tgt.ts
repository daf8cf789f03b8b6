// A real tgt (Linux SCSI target framework) daemon as a reference iSCSI target: its own tgtd
// process on a free loopback port, with a private control socket (-C), one target and one disk
// LUN backed by a sparse file. tgt puts a controller at LUN 0, so the disk is LUN 1.
import { spawn, type ChildProcess } from "node:child_process";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { canConnect, freePort, LOOPBACK_HOST } from "../../bench/lib/loopback.ts";
import { describeFailure, requireProgram, runCommand, tail } from "./run-command.ts";
import { makeTempDir, type TempDir } from "./temp-dir.ts";

export const TGT_DISK_LUN = 1;
const TGT_TID = 1;
const START_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 3;
const TGTADM_TIMEOUT_MS = 10_000;
const MAX_CONTROL_PORT = 32_767;
const TGTD_SOCKET_PREFIX = "/var/run/tgtd/socket";

export interface TgtOptions {
  sizeBytes: number;
  blockSizeBytes: 512 | 4096;
}

export interface TgtTarget {
  host: string;
  port: number;
  targetIqn: string;
  lun: number;
  url(): string;
  logs(): string;
  stop(): Promise<void>;
}

const liveDaemons = new Set<ChildProcess>();
process.once("exit", () => {
  for (const daemon of liveDaemons) daemon.kill("SIGKILL");
});

export async function startTgt(options: TgtOptions): Promise<TgtTarget> {
  await requireProgram("tgtd", "tgt");
  await requireProgram("tgtadm", "tgt");
  const tempDir = await makeTempDir("tgt");
  try {
    const backingPath = join(tempDir.path, "lun.img");
    const file = await open(backingPath, "w");
    await file.truncate(options.sizeBytes);
    await file.close();
    return await startDaemonWithRetries(options, backingPath, tempDir);
  } catch (error) {
    await tempDir.remove();
    throw error;
  }
}

async function startDaemonWithRetries(
  options: TgtOptions,
  backingPath: string,
  tempDir: TempDir,
): Promise<TgtTarget> {
  const failures: string[] = [];
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    // The control port (1..32767) only names tgtd's Unix socket and its lock; a tgtd whose
    // number is taken exits at once, and the next attempt draws another.
    const controlPort = 1 + Math.floor(Math.random() * MAX_CONTROL_PORT);
    const daemon = new TgtDaemon(await freePort(), controlPort);
    if (await daemon.started()) {
      try {
        await daemon.configure(options, backingPath);
        return daemon.asTarget(tempDir);
      } catch (error) {
        await daemon.kill();
        throw error;
      }
    }
    failures.push(daemon.output);
  }
  throw new Error(`tgtd did not start in ${START_ATTEMPTS} attempts:\n${failures.join("\n")}`);
}

class TgtDaemon {
  readonly targetIqn: string;
  output = "";
  private ownsControlSocket = false;
  private readonly process: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(
    readonly port: number,
    readonly controlPort: number,
  ) {
    this.targetIqn = `iqn.2025-01.test.tgt:lun${port}`;
    this.process = spawn(
      "tgtd",
      ["-f", "-C", String(controlPort), "--iscsi", `portal=${LOOPBACK_HOST}:${port}`],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    liveDaemons.add(this.process);
    const record = (chunk: Buffer): void => {
      this.output = tail(this.output + chunk.toString(), 100_000);
    };
    this.process.stdout?.on("data", record);
    this.process.stderr?.on("data", record);
    this.exited = new Promise((resolve) => {
      this.process.once("exit", () => {
        liveDaemons.delete(this.process);
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Waits until tgtd answers on its control socket and accepts TCP connections. */
  async started(): Promise<boolean> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline && this.running) {
      const show = await this.tgtadm(["--mode", "target", "--op", "show"], false);
      if (show && (await canConnect(LOOPBACK_HOST, this.port))) {
        this.ownsControlSocket = true;
        return true;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await this.kill();
    return false;
  }

  async configure(options: TgtOptions, backingPath: string): Promise<void> {
    const tid = ["--tid", String(TGT_TID)];
    await this.tgtadm(["--mode", "target", "--op", "new", ...tid,
      "--targetname", this.targetIqn]);
    await this.tgtadm(["--mode", "logicalunit", "--op", "new", ...tid,
      "--lun", String(TGT_DISK_LUN), "--backing-store", backingPath,
      "--blocksize", String(options.blockSizeBytes)]);
    await this.tgtadm(["--mode", "target", "--op", "bind", ...tid,
      "--initiator-address", "ALL"]);
  }

  asTarget(tempDir: TempDir): TgtTarget {
    return {
      host: LOOPBACK_HOST,
      port: this.port,
      targetIqn: this.targetIqn,
      lun: TGT_DISK_LUN,
      url: () => `iscsi://${LOOPBACK_HOST}:${this.port}/${this.targetIqn}/${TGT_DISK_LUN}`,
      logs: () => this.output,
      stop: async () => {
        await this.kill();
        await tempDir.remove();
      },
    };
  }

  /** tgtd only stops for SIGKILL (or a system delete that needs every target gone first). */
  async kill(): Promise<void> {
    if (this.running) this.process.kill("SIGKILL");
    await this.exited;
    if (!this.ownsControlSocket) return; // another tgtd may hold a socket of that number
    const socketPath = `${TGTD_SOCKET_PREFIX}.${this.controlPort}`;
    await Promise.all([rm(socketPath, { force: true }), rm(`${socketPath}.lock`, { force: true })]);
  }

  /** Runs tgtadm against this daemon; throws on failure when `mustSucceed`. */
  private async tgtadm(args: string[], mustSucceed = true): Promise<boolean> {
    const result = await runCommand(
      "tgtadm",
      ["-C", String(this.controlPort), "--lld", "iscsi", ...args],
      { timeoutMs: TGTADM_TIMEOUT_MS },
    );
    const ok = result.exitCode === 0 && !result.timedOut;
    if (!ok && mustSucceed) throw new Error(`${describeFailure(result)}\ntgtd: ${this.output}`);
    return ok;
  }
}

