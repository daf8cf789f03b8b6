// twinsan plan --probe: partner RTT by TCP connect (to 127.0.0.1 only), the disk write rate in
// a temporary directory, and how the measurements replace planned values.
import { readdir } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { HARDWARE_DIR, loadCatalog, type HardwareCatalog } from "../../src/mgmt/plan/catalog.ts";
import type { ClusterPlan } from "../../src/mgmt/plan/cluster-plan.ts";
import {
  measureRandomWriteRate,
  measureWithPwrite,
  parseFioWriteIops,
} from "../../src/mgmt/plan/probe-disk.ts";
import {
  DEFAULT_PARTNER_PORT,
  measureConnectRttMs,
  median,
  parsePartnerAddress,
} from "../../src/mgmt/plan/probe-rtt.ts";
import { applyMeasurements, probeHost, type Measurements } from "../../src/mgmt/plan/probe.ts";
import { loadPlan } from "../../src/mgmt/plan/resolve-plan.ts";
import { freePort, LOOPBACK_HOST } from "../../bench/lib/loopback.ts";
import { makeTempDir, type TempDir } from "../helpers/temp-dir.ts";

let catalog: HardwareCatalog;
let server: Server | undefined;
let tempDir: TempDir | undefined;

beforeAll(async () => {
  catalog = await loadCatalog();
});

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  await tempDir?.remove();
  tempDir = undefined;
});

async function listenOnLoopback(): Promise<number> {
  const port = await freePort();
  server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server?.listen(port, LOOPBACK_HOST, resolve));
  return port;
}

function twoNodePlan(): Promise<ClusterPlan> {
  return loadPlan(join(HARDWARE_DIR, "examples", "2-node-hyperconverged.json"), catalog);
}

describe("partner addresses", () => {
  it.each([
    ["10.0.0.2", { host: "10.0.0.2", port: DEFAULT_PARTNER_PORT }],
    ["10.0.0.2:3261", { host: "10.0.0.2", port: 3261 }],
    ["node-b.example", { host: "node-b.example", port: DEFAULT_PARTNER_PORT }],
    ["[fd00::2]", { host: "fd00::2", port: DEFAULT_PARTNER_PORT }],
    ["[fd00::2]:9000", { host: "fd00::2", port: 9000 }],
  ])("parses %s", (text, address) => {
    expect(parsePartnerAddress(text)).toEqual(address);
  });

  it.each(["", "10.0.0.2:", "10.0.0.2:0", "10.0.0.2:70000", "fd00::2", "a b"])(
    "refuses %j",
    (text) => expect(parsePartnerAddress(text)).toBeUndefined(),
  );
});

describe("round-trip time", () => {
  it("takes the median", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("times TCP connects to a listener on 127.0.0.1", async () => {
    const port = await listenOnLoopback();
    const samplesMs = await measureConnectRttMs({ host: LOOPBACK_HOST, port }, 5, 2_000);
    expect(samplesMs).toHaveLength(5);
    for (const sampleMs of samplesMs) expect(sampleMs).toBeGreaterThan(0);
    expect(median(samplesMs)).toBeLessThan(100);
  });

  it("names the partner it cannot reach", async () => {
    const port = await freePort();
    await expect(measureConnectRttMs({ host: LOOPBACK_HOST, port }, 3, 2_000)).rejects.toThrow(
      `cannot reach partner ${LOOPBACK_HOST}:${port} (ECONNREFUSED)`,
    );
  });
});

describe("disk write rate", () => {
  it("reads the write IOPS from fio's JSON, after any warning lines", () => {
    const report = JSON.stringify({ jobs: [{ write: { iops: 1234.5 } }] });
    expect(parseFioWriteIops(`fio: note: something\n${report}`)).toBe(1234.5);
    expect(parseFioWriteIops("fio: error")).toBeUndefined();
    expect(parseFioWriteIops(JSON.stringify({ jobs: [{ read: { iops: 5 } }] }))).toBeUndefined();
  });

  it("measures random 4 KiB pwrite calls in JS", async () => {
    tempDir = await makeTempDir("plan-probe");
    expect(measureWithPwrite(tempDir.path, 100)).toBeGreaterThan(0);
  });

  it("measures in a temporary directory under the path and removes it", async () => {
    tempDir = await makeTempDir("plan-probe");
    const rate = await measureRandomWriteRate(tempDir.path, 300);
    expect(rate.path).toBe(tempDir.path);
    expect(rate.randomWrite4KiBIops).toBeGreaterThan(0);
    expect(["fio", "js-pwrite"]).toContain(rate.method);
    expect(await readdir(tempDir.path)).toEqual([]);
  }, 60_000);
});

describe("feeding measurements into a plan", () => {
  const measurements: Measurements = {
    partners: [
      { partner: "a", rttMsMedian: 0.4, samplesMs: [0.4] },
      { partner: "b", rttMsMedian: 6.5, samplesMs: [6.5] },
    ],
    disk: { path: "/srv", randomWrite4KiBIops: 900, method: "fio", direct: true },
  };

  it("sets the slowest RTT on sync links and the disk rate on data arrays", async () => {
    const plan = applyMeasurements(await twoNodePlan(), measurements);
    const latencies = plan.links.map((link) => [link.id, link.latencyMs]);
    expect(latencies).toEqual([
      ["mgmt-a", undefined],
      ["mgmt-b", undefined],
      ["iscsi-1", undefined],
      ["iscsi-2", undefined],
      ["sync-1", 6.5],
      ["sync-2", 6.5],
    ]);
    for (const node of plan.nodes) {
      expect(node.storage.map((array) => array.randomWrite4KiBIops)).toEqual([900, 200_000]);
    }
  });

  it("changes only the node given", async () => {
    const plan = applyMeasurements(await twoNodePlan(), measurements, "hv-b");
    expect(plan.nodes[0].storage[0].randomWrite4KiBIops).toBe(120_000);
    expect(plan.nodes[1].storage[0].randomWrite4KiBIops).toBe(900);
    // Both sync links end on hv-b.
    expect(plan.links.find((link) => link.id === "sync-1")?.latencyMs).toBe(6.5);
  });

  it("refuses a node the plan does not have", async () => {
    const plan = await twoNodePlan();
    expect(() => applyMeasurements(plan, measurements, "hv-c")).toThrow(
      'the plan has no node "hv-c" (--node)',
    );
  });

  it("probes partners and disk together", async () => {
    const port = await listenOnLoopback();
    tempDir = await makeTempDir("plan-probe");
    const result = await probeHost({
      partners: [{ host: LOOPBACK_HOST, port }],
      diskPath: tempDir.path,
      rttSamples: 3,
      rttTimeoutMs: 2_000,
      diskDurationMs: 200,
    });
    expect(result.partners).toEqual([
      expect.objectContaining({ partner: `${LOOPBACK_HOST}:${port}` }),
    ]);
    expect(result.disk?.randomWrite4KiBIops).toBeGreaterThan(0);
  }, 60_000);
});
