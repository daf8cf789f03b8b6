// `twinsan plan` as a program (bun src/mgmt/plan/main.ts): the example plans, a refused plan,
// and --probe against a TCP listener on 127.0.0.1 and a temporary directory.
import { readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, LOOPBACK_HOST } from "../../bench/lib/loopback.ts";
import { runCommand, type CommandResult } from "../helpers/run-command.ts";
import { makeTempDir, type TempDir } from "../helpers/temp-dir.ts";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUN = join(REPO_ROOT, "node_modules/.bin/bun");
const EXAMPLES_DIR = "hardware/examples";
const GOOD_EXAMPLES = [
  "2-node-hyperconverged.json",
  "3-node-hyperconverged.json",
  "compute-storage-separated.json",
];
const BAD_EXAMPLE = `${EXAMPLES_DIR}/bad-design.json`;
const BAD_EXAMPLE_RULES = [
  "cache.flush-time",
  "cache.min-size",
  "cluster.same-version",
  "device.sector-size",
  "journal.placement",
  "journal.size",
  "network.heartbeat-path",
  "network.iops-bandwidth",
  "network.no-teaming",
  "network.sync-dedicated",
  "raid.bbu",
  "raid.no-software",
  "raid.parity-flash-only",
  "raid.stripe-size",
  "raid.write-back-cache",
  "sync.bandwidth",
  "sync.latency",
];
const TIMEOUT_MS = 60_000;

interface JsonFinding {
  ruleId: string;
  severity: string;
  subject: string;
  message: string;
}

interface JsonOutput {
  measurements?: {
    partners: { partner: string; rttMsMedian: number }[];
    disk?: { randomWrite4KiBIops: number; method: string };
  };
  plans: { file: string; valid: boolean; findings?: JsonFinding[]; issues?: string[] }[];
}

let tempDir: TempDir;
let server: Server;
let listenerPort: number;

beforeAll(async () => {
  tempDir = await makeTempDir("plan-cli");
  listenerPort = await freePort();
  server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(listenerPort, LOOPBACK_HOST, resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await tempDir.remove();
});

function plan(...args: string[]): Promise<CommandResult> {
  return runCommand(BUN, ["src/mgmt/plan/main.ts", ...args], {
    cwd: REPO_ROOT,
    timeoutMs: TIMEOUT_MS,
  });
}

function ruleIdsOf(findings: JsonFinding[] = []): string[] {
  return [...new Set(findings.map((finding) => finding.ruleId))].sort();
}

describe("twinsan plan on the examples", () => {
  it.each(GOOD_EXAMPLES)("%s runs clean", async (file) => {
    const result = await plan(`${EXAMPLES_DIR}/${file}`);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("no findings (17 rules checked)");
    expect(result.exitCode).toBe(0);
  }, TIMEOUT_MS);

  it("lists the findings of the bad example and exits 1", async () => {
    const result = await plan(BAD_EXAMPLE);
    expect(result.exitCode).toBe(1);
    for (const ruleId of BAD_EXAMPLE_RULES) expect(result.stdout).toContain(ruleId);
    expect(result.stdout).toContain("14 errors, 11 warnings");
    const json = JSON.parse((await plan("--json", BAD_EXAMPLE)).stdout) as JsonOutput;
    expect(ruleIdsOf(json.plans[0].findings)).toEqual(BAD_EXAMPLE_RULES);
  }, TIMEOUT_MS);

  it("reports every file of hardware/examples/*.json separately", async () => {
    const files = readdirSync(join(REPO_ROOT, EXAMPLES_DIR))
      .filter((name) => name.endsWith(".json"))
      .sort()
      .map((name) => `${EXAMPLES_DIR}/${name}`);
    const result = await plan("--json", ...files);
    expect(result.exitCode).toBe(1);
    const json = JSON.parse(result.stdout) as JsonOutput;
    const findingsByFile = Object.fromEntries(
      json.plans.map((report) => [report.file, ruleIdsOf(report.findings)]),
    );
    expect(findingsByFile).toEqual({
      ...Object.fromEntries(GOOD_EXAMPLES.map((file) => [`${EXAMPLES_DIR}/${file}`, []])),
      [BAD_EXAMPLE]: BAD_EXAMPLE_RULES,
    });
  }, TIMEOUT_MS);
});

describe("twinsan plan on bad input", () => {
  it("refuses an invalid plan naming the field, and exits 2", async () => {
    const path = join(tempDir.path, "invalid.json");
    await writeFile(path, JSON.stringify({ name: "x", initiatorOs: "windows", nodes: [] }));
    const result = await plan(`${EXAMPLES_DIR}/${GOOD_EXAMPLES[0]}`, path);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toContain("no findings");
    expect(result.stderr).toContain(`${path}: invalid plan, not checked:`);
    expect(result.stderr).toContain("  nodes: must list 2 or 3 nodes");
    expect(result.stderr).toContain("  links: is required");
  }, TIMEOUT_MS);

  it("exits 2 with usage on a usage error", async () => {
    const result = await plan();
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("twinsan plan: missing FILE");
    expect(result.stderr).toContain("Usage: twinsan plan");
  }, TIMEOUT_MS);
});

describe("twinsan plan --probe", () => {
  it("measures a partner on 127.0.0.1 and a disk without a plan", async () => {
    const partner = `${LOOPBACK_HOST}:${listenerPort}`;
    const result = await plan("--probe", "--partner", partner, "--disk", tempDir.path);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`sync RTT to ${partner}: median [\\d.]+ ms \\(TCP connect, 7 samples\\)`),
    );
    expect(result.stdout).toMatch(/random 4 KiB writes\/s \((fio|JS pwrite)/);
  }, TIMEOUT_MS);

  it("feeds the measurements into the rules of a plan", async () => {
    const result = await plan(
      "--probe",
      "--json",
      "--partner",
      `${LOOPBACK_HOST}:${listenerPort}`,
      "--disk",
      tempDir.path,
      "--node",
      "node-a",
      BAD_EXAMPLE,
    );
    expect(result.exitCode).toBe(1);
    const json = JSON.parse(result.stdout) as JsonOutput;
    const rttMs = json.measurements?.partners[0].rttMsMedian ?? NaN;
    const diskIops = json.measurements?.disk?.randomWrite4KiBIops ?? NaN;
    expect(rttMs).toBeLessThan(5);
    const findings = json.plans[0].findings ?? [];
    // The bad plan's 7 ms sync latency is replaced by the loopback RTT.
    expect(findings.filter((finding) => finding.ruleId === "sync.latency")).toEqual([]);
    // node-a's data array flushes 16 GiB + 64 MiB of write-back cache at the measured rate.
    const flushSeconds = (16 * 2 ** 30 + 64 * 2 ** 20) / (diskIops * 4096);
    const flushSubjects = findings
      .filter((finding) => finding.ruleId === "cache.flush-time")
      .map((finding) => finding.subject);
    const nodeATrips = flushSeconds > 600;
    expect(flushSubjects).toEqual(nodeATrips ? ["node-a/data", "node-b/data"] : ["node-b/data"]);
  }, TIMEOUT_MS);

  it("exits 2 when a partner cannot be reached", async () => {
    const closedPort = await freePort();
    const result = await plan("--probe", "--partner", `${LOOPBACK_HOST}:${closedPort}`);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      `twinsan plan: cannot reach partner ${LOOPBACK_HOST}:${closedPort} (ECONNREFUSED)`,
    );
  }, TIMEOUT_MS);
});
