// Starts a real twinsan node as a child process (`bun src/mgmt/cli.ts serve --config FILE`) on
// free loopback ports and a fresh data directory, and stops, kills or restarts it.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts, LOOPBACK_HOST } from "../../bench/lib/loopback.ts";
import { tail } from "./run-command.ts";
import { makeTempDir, type TempDir } from "./temp-dir.ts";
import {
  buildConfig,
  targetIqn,
  type ChapConfigFile,
  type LunSpec,
  type TargetSpec,
  type TwinsanConfigFile,
} from "./twinsan-config.ts";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUN = join(REPO_ROOT, "node_modules/.bin/bun");
const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 10_000;
const MAX_LOG_CHARS = 1_000_000; // keep the tail only: a fuzzed node may log a lot
export const MAIN_TARGET = "disk";

export interface StartOptions {
  luns: LunSpec[]; // LUNs of the main target
  portals?: number; // how many portals (ports) the node listens on; 1 by default
  chap?: ChapConfigFile; // CHAP required by the main target
  moreTargets?: TargetSpec[];
  extraConfig?: Partial<TwinsanConfigFile>;
}

export interface Portal {
  host: string;
  port: number;
}

export interface ExitReport {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  forcedKill: boolean; // it ignored SIGTERM for STOP_GRACE_MS and was SIGKILLed
}

const liveChildren = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of liveChildren) child.kill("SIGKILL");
});

export class TwinsanNode {
  private child: ChildProcess | undefined;
  private exited: Promise<ExitReport> = Promise.resolve(noExit());
  private output = "";

  private constructor(
    readonly nodeName: string,
    readonly portals: Portal[],
    readonly configPath: string,
    readonly dataDir: string,
    private readonly tempDir: TempDir,
    private readonly chap: ChapConfigFile | undefined,
  ) {}

  get host(): string {
    return this.portals[0].host;
  }

  get port(): number {
    return this.portals[0].port;
  }

  get targetIqn(): string {
    return this.iqn(MAIN_TARGET);
  }

  /** Everything the node printed (stdout and stderr interleaved), its last megabyte. */
  get logs(): string {
    return this.output;
  }

  /** True while the node process runs. */
  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null &&
      this.child.signalCode === null;
  }

  iqn(targetName: string): string {
    return targetIqn(this.nodeName, targetName);
  }

  /**
   * libiscsi / QEMU URL of a LUN; the main target's carries its CHAP credentials if any
   * (libiscsi takes them verbatim as user%secret@, so they must be URL-safe).
   */
  url(lun: number, targetName = MAIN_TARGET, portal = this.portals[0]): string {
    const chap = targetName === MAIN_TARGET && this.chap
      ? `${urlSafe(this.chap.username)}%${urlSafe(this.chap.secret)}@`
      : "";
    return `iscsi://${chap}${portal.host}:${portal.port}/${this.iqn(targetName)}/${lun}`;
  }

  static async start(options: StartOptions): Promise<TwinsanNode> {
    const tempDir = await makeTempDir("twinsan-node");
    const nodeName = `node${process.pid}x${Math.floor(Math.random() * 1e6)}`;
    const ports = await freePorts(options.portals ?? 1);
    const dataDir = join(tempDir.path, "data");
    const config = buildConfig({
      nodeName,
      dataDir,
      portalPorts: ports,
      targets: [{ name: MAIN_TARGET, luns: options.luns, chap: options.chap },
        ...(options.moreTargets ?? [])],
      extraConfig: options.extraConfig,
    });
    const configPath = join(tempDir.path, "config.json");
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
    const portals = ports.map((port) => ({ host: LOOPBACK_HOST, port }));
    const node = new TwinsanNode(nodeName, portals, configPath, dataDir, tempDir, options.chap);
    try {
      await node.launch();
    } catch (error) {
      await tempDir.remove();
      throw error;
    }
    return node;
  }

  /** Sends `signal` (SIGTERM by default) and waits for the exit; SIGKILL after 10 s. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<ExitReport> {
    const child = this.child;
    if (!child || !this.alive) return this.exited;
    child.kill(signal);
    const graceful = await Promise.race([this.exited, sleep(STOP_GRACE_MS).then(() => null)]);
    if (graceful) return graceful;
    console.warn(`twinsan ${this.nodeName} ignored ${signal} for ${STOP_GRACE_MS} ms: SIGKILL`);
    child.kill("SIGKILL");
    return { ...(await this.exited), forcedKill: true };
  }

  kill(): Promise<ExitReport> {
    return this.stop("SIGKILL");
  }

  /** Stops the node (SIGTERM) and starts it again with the same config and data directory. */
  async restart(): Promise<ExitReport> {
    const report = await this.stop();
    await this.startAgain();
    return report;
  }

  /** Starts a stopped node again with the same config and data directory. */
  startAgain(): Promise<void> {
    if (this.alive) throw new Error(`twinsan ${this.nodeName} is still running`);
    return this.launch();
  }

  /** Kills the node if it still runs and removes its directory. */
  async dispose(): Promise<void> {
    await this.kill();
    await this.tempDir.remove();
  }

  private launch(): Promise<void> {
    const child = spawn(BUN, ["src/mgmt/cli.ts", "serve", "--config", this.configPath], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    liveChildren.add(child);
    this.exited = new Promise((resolve) => {
      child.once("exit", (exitCode, signal) => {
        liveChildren.delete(child);
        resolve({ exitCode, signal, forcedKill: false });
      });
    });
    child.stderr?.on("data", (chunk: Buffer) => this.record(chunk.toString()));
    return this.waitForReady(child);
  }

  private record(text: string): void {
    this.output += text;
    if (this.output.length > MAX_LOG_CHARS) this.output = this.output.slice(-MAX_LOG_CHARS);
  }

  private waitForReady(child: ChildProcess): Promise<void> {
    return new Promise((resolve, reject) => {
      let pending = "";
      let ready = false;
      const fail = (why: string): void => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        reject(new Error(`twinsan ${this.nodeName} ${why}; its output:\n${tail(this.output)}`));
      };
      const timer = setTimeout(
        () => fail(`printed no {"msg":"ready"} within ${READY_TIMEOUT_MS} ms`),
        READY_TIMEOUT_MS,
      );
      child.once("error", (error) => fail(`could not be spawned (${error.message})`));
      this.exited.then((report) => {
        if (!ready) fail(`exited before ready (code ${report.exitCode}, ${report.signal})`);
      });
      child.stdout?.on("data", (chunk: Buffer) => {
        const text = chunk.toString();
        this.record(text);
        if (ready) return;
        pending += text;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        if (lines.some(isReadyLine)) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }
}

/** Starts a node; see StartOptions. Call dispose() when done. */
export function startTwinsan(options: StartOptions): Promise<TwinsanNode> {
  return TwinsanNode.start(options);
}

function isReadyLine(line: string): boolean {
  if (!line.startsWith("{")) return false;
  try {
    return (JSON.parse(line) as { msg?: unknown }).msg === "ready";
  } catch {
    return false;
  }
}

function urlSafe(credential: string): string {
  if (!/^[\w.~-]+$/.test(credential)) {
    throw new Error(`CHAP credential "${credential}" cannot go in an iSCSI URL: use [\\w.~-]`);
  }
  return credential;
}

function noExit(): ExitReport {
  return { exitCode: null, signal: null, forcedKill: false };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
