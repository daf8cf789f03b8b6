// Every sizing rule against a plan that passes it and plans that trip it. The passing plans are
// the examples in hardware/examples/; each tripping plan is an example with one thing changed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { HARDWARE_DIR, loadCatalog, type HardwareCatalog } from "../../src/mgmt/plan/catalog.ts";
import type { ClusterPlan } from "../../src/mgmt/plan/cluster-plan.ts";
import * as cluster from "../../src/mgmt/plan/cluster-rules.ts";
import * as network from "../../src/mgmt/plan/network-rules.ts";
import * as storage from "../../src/mgmt/plan/storage-rules.ts";
import { resolvePlan } from "../../src/mgmt/plan/resolve-plan.ts";
import type { Rule } from "../../src/mgmt/plan/rule.ts";
import { checkPlan, RULES } from "../../src/mgmt/plan/rules.ts";

// Plan files are edited as plain JSON, as an admin would.
type PlanJson = any;

const TWO_NODE = "2-node-hyperconverged.json";
const THREE_NODE = "3-node-hyperconverged.json";

let catalog: HardwareCatalog;
const rulesTripped = new Set<string>();

beforeAll(async () => {
  catalog = await loadCatalog();
});

function examplePlanJson(file: string): PlanJson {
  return JSON.parse(readFileSync(join(HARDWARE_DIR, "examples", file), "utf8"));
}

function planOf(file: string, change: (plan: PlanJson) => void = () => {}): ClusterPlan {
  const json = examplePlanJson(file);
  change(json);
  return resolvePlan(json, catalog, file);
}

/** The subjects `rule` reports on the changed plan (and records that the rule tripped). */
function subjectsOf(rule: Rule, plan: ClusterPlan): string[] {
  const hits = rule.check(plan);
  for (const hit of hits) expect(hit.message.length).toBeGreaterThan(20);
  if (hits.length > 0) rulesTripped.add(rule.id);
  return hits.map((hit) => hit.subject);
}

function link(plan: PlanJson, id: string): PlanJson {
  return plan.links.find((candidate: PlanJson) => candidate.id === id);
}

function array(plan: PlanJson, nodeIndex: number, id: string): PlanJson {
  return plan.nodes[nodeIndex].storage.find((candidate: PlanJson) => candidate.id === id);
}

function removeLink(plan: PlanJson, id: string): void {
  plan.links = plan.links.filter((candidate: PlanJson) => candidate.id !== id);
}

describe("the examples", () => {
  const goodExamples = [TWO_NODE, THREE_NODE, "compute-storage-separated.json"];

  it.each(goodExamples)("%s passes every rule", (file) => {
    expect(checkPlan(planOf(file))).toEqual([]);
  });

  it("bad-design.json trips every rule", () => {
    const ids = new Set(checkPlan(planOf("bad-design.json")).map((finding) => finding.ruleId));
    expect([...ids].sort()).toEqual(RULES.map((rule) => rule.id).sort());
  });

  it("lists errors before warnings", () => {
    const severities = checkPlan(planOf("bad-design.json")).map((finding) => finding.severity);
    expect(severities.indexOf("warning")).toBeGreaterThan(severities.lastIndexOf("error"));
  });
});

describe("network.iops-bandwidth", () => {
  const rule = network.iscsiBandwidthForIops;
  // One node's iSCSI bandwidth from links of the given speeds.
  const withIscsi = (speedsGbps: number[], targetIops: number) =>
    planOf(TWO_NODE, (plan) => {
      plan.targetIops = targetIops;
      removeLink(plan, "iscsi-1");
      removeLink(plan, "iscsi-2");
      speedsGbps.forEach((speedGbps, port) =>
        plan.links.push({
          id: `iscsi-${port}`,
          roles: ["iscsi"],
          speedGbps,
          ends: [
            { node: "hv-a", nic: "iscsi", port },
            { node: "hv-b", nic: "iscsi", port },
          ],
        }),
      );
    });

  it.each([
    [[1], 26_000],
    [[1, 1], 48_000],
    [[10], 250_000],
    [[10, 10], 480_000],
    [[25, 25], 1_000_000],
  ])("passes with links of %j Gbps at %i IOPS", (speedsGbps, iops) => {
    expect(subjectsOf(rule, withIscsi(speedsGbps, iops))).toEqual([]);
  });

  it.each([
    [[1], 26_001],
    [[1, 1], 48_001],
    [[10], 250_001],
    [[10, 10], 480_001],
    [[25], 480_001],
  ])("trips with links of %j Gbps at %i IOPS", (speedsGbps, iops) => {
    expect(subjectsOf(rule, withIscsi(speedsGbps, iops))).toEqual(["hv-a", "hv-b"]);
  });

  it("is not checked without targetIops", () => {
    expect(subjectsOf(rule, planOf(TWO_NODE, (plan) => delete plan.targetIops))).toEqual([]);
  });
});

describe("sync.bandwidth", () => {
  const rule = network.syncBandwidth;

  it("passes when each node's sync equals the cluster's iSCSI bandwidth", () => {
    expect(subjectsOf(rule, planOf(TWO_NODE))).toEqual([]);
  });

  it("trips on a 1 GbE sync link behind 25 GbE iSCSI links", () => {
    const plan = planOf(TWO_NODE, (json) => {
      removeLink(json, "sync-2");
      link(json, "sync-1").speedGbps = 1;
    });
    expect(subjectsOf(rule, plan)).toEqual(["hv-a", "hv-b"]);
  });

  it("counts the iSCSI links of every node: 2 x 25 GbE sync < 3 x 25 GbE iSCSI", () => {
    const plan = planOf(THREE_NODE, (json) => {
      for (const id of ["sync-ab", "sync-bc", "sync-ac"]) link(json, id).speedGbps = 25;
    });
    expect(subjectsOf(rule, plan)).toEqual(["esx-a", "esx-b", "esx-c"]);
  });
});

describe("sync.latency", () => {
  const rule = network.syncLatency;

  it("passes at 5 ms and when the latency is not given", () => {
    const plan = planOf(TWO_NODE, (json) => {
      link(json, "sync-1").latencyMs = 5;
      delete link(json, "sync-2").latencyMs;
    });
    expect(subjectsOf(rule, plan)).toEqual([]);
  });

  it("trips above 5 ms", () => {
    const plan = planOf(TWO_NODE, (json) => (link(json, "sync-2").latencyMs = 5.5));
    expect(subjectsOf(rule, plan)).toEqual(["sync-2"]);
  });
});

describe("network.no-teaming", () => {
  const rule = network.noTeaming;

  it("passes a team of management-only links", () => {
    const plan = planOf(TWO_NODE, (json) => {
      link(json, "mgmt-a").roles = ["management"];
      link(json, "mgmt-a").team = "bond0";
    });
    expect(subjectsOf(rule, plan)).toEqual([]);
  });

  it("trips on teamed iSCSI and heartbeat links", () => {
    const plan = planOf(TWO_NODE, (json) => {
      link(json, "iscsi-1").team = "lbfo";
      link(json, "mgmt-b").team = "bond0";
    });
    expect(subjectsOf(rule, plan)).toEqual(["mgmt-b", "iscsi-1"]);
  });
});

describe("network.sync-dedicated", () => {
  const rule = network.syncPortDedicated;

  it("trips when a sync link also carries heartbeat", () => {
    const plan = planOf(TWO_NODE, (json) => (link(json, "sync-1").roles = ["sync", "heartbeat"]));
    expect(subjectsOf(rule, plan)).toEqual(["hv-a/sync:0", "hv-b/sync:0"]);
  });

  it("trips when an iSCSI VLAN runs on a sync port", () => {
    const plan = planOf(TWO_NODE, (json) =>
      json.links.push({
        id: "iscsi-vlan",
        roles: ["iscsi"],
        ends: [{ node: "hv-a", nic: "sync", port: 1 }, { external: "switch" }],
      }),
    );
    expect(subjectsOf(rule, plan)).toEqual(["hv-a/sync:1"]);
  });
});

describe("network.heartbeat-path", () => {
  const rule = network.heartbeatPath;

  it("passes a node whose only heartbeat is on management", () => {
    const plan = planOf(TWO_NODE, (json) => {
      link(json, "iscsi-1").roles = ["iscsi"];
      link(json, "iscsi-2").roles = ["iscsi"];
    });
    expect(subjectsOf(rule, plan)).toEqual([]);
  });

  it("trips on a node with heartbeat on no link but sync", () => {
    const plan = planOf(TWO_NODE, (json) => {
      link(json, "iscsi-1").roles = ["iscsi"];
      link(json, "iscsi-2").roles = ["iscsi"];
      link(json, "mgmt-a").roles = ["management"];
      link(json, "sync-1").roles = ["sync", "heartbeat"];
    });
    expect(subjectsOf(rule, plan)).toEqual(["hv-a"]);
  });
});

describe("RAID rules", () => {
  it("raid.write-back-cache trips on a write-through controller cache", () => {
    const plan = planOf(TWO_NODE, (json) => {
      array(json, 0, "data").controllerCache = "write-through";
    });
    expect(subjectsOf(storage.raidWriteBackCache, planOf(TWO_NODE))).toEqual([]);
    expect(subjectsOf(storage.raidWriteBackCache, plan)).toEqual(["hv-a/data"]);
  });

  it("raid.bbu trips on a write-back cache without BBU", () => {
    const plan = planOf(TWO_NODE, (json) => (array(json, 1, "data").bbu = false));
    expect(subjectsOf(storage.raidBbu, planOf(TWO_NODE))).toEqual([]);
    expect(subjectsOf(storage.raidBbu, plan)).toEqual(["hv-b/data"]);
  });

  it("raid.parity-flash-only passes RAID 5 of SSDs and trips on RAID 6 of HDDs", () => {
    const rule = storage.raidParityOnFlashOnly;
    expect(subjectsOf(rule, planOf(THREE_NODE))).toEqual([]);
    const plan = planOf(TWO_NODE, (json) => (array(json, 0, "data").profile = "raid6-hdd-12"));
    expect(subjectsOf(rule, plan)).toEqual(["hv-a/data"]);
  });

  it("raid.no-software trips on md RAID", () => {
    const plan = planOf(TWO_NODE, (json) => {
      array(json, 1, "data").profile = "mdadm-raid10-nvme-4";
    });
    expect(subjectsOf(storage.raidNoSoftware, planOf(TWO_NODE))).toEqual([]);
    expect(subjectsOf(storage.raidNoSoftware, plan)).toEqual(["hv-b/data"]);
  });

  it("raid.stripe-size passes 64 KiB and trips on 128 KiB", () => {
    const plan = planOf(TWO_NODE, (json) => (array(json, 0, "data").stripeSizeBytes = "128KiB"));
    expect(subjectsOf(storage.raidStripeSize, planOf(TWO_NODE))).toEqual([]);
    expect(subjectsOf(storage.raidStripeSize, plan)).toEqual(["hv-a/data"]);
  });
});

describe("cache rules", () => {
  it("cache.min-size passes 128 MiB and trips below", () => {
    const rule = storage.deviceCacheSize;
    const withCache = (size: string) =>
      planOf(TWO_NODE, (json) => (json.devices[0].cache.sizeBytes = size));
    expect(subjectsOf(rule, withCache("128MiB"))).toEqual([]);
    expect(subjectsOf(rule, withCache("127MiB"))).toEqual(["csv1"]);
  });

  // 2 GiB of write-back cache at 120,000 x 4 KiB/s flushes in 4.37 s.
  it("cache.flush-time passes when the flush fits in the UPS runtime", () => {
    const rule = storage.cacheFlushTime;
    expect(subjectsOf(rule, planOf(TWO_NODE, (json) => (json.upsRuntimeSeconds = 5)))).toEqual([]);
    expect(subjectsOf(rule, planOf(TWO_NODE, (json) => delete json.upsRuntimeSeconds))).toEqual(
      [],
    );
  });

  it("cache.flush-time trips when the flush outlasts the UPS", () => {
    const plan = planOf(TWO_NODE, (json) => (json.upsRuntimeSeconds = 4));
    const hits = storage.cacheFlushTime.check(plan);
    expect(subjectsOf(storage.cacheFlushTime, plan)).toEqual(["hv-a/data", "hv-b/data"]);
    expect(hits[0].message).toContain("4.37 s");
  });

  it("cache.flush-time counts write-back caches only", () => {
    const plan = planOf(TWO_NODE, (json) => {
      json.upsRuntimeSeconds = 3;
      json.devices[0].cache.mode = "write-through";
    });
    expect(subjectsOf(storage.cacheFlushTime, plan)).toEqual([]);
  });
});

describe("journal rules", () => {
  it("journal.size wants 2 MiB per TiB per partner", () => {
    const rule = storage.journalSize;
    const twoWay = (size: string) =>
      planOf(TWO_NODE, (json) => (json.devices[0].journal.sizeBytes = size));
    expect(subjectsOf(rule, twoWay("4MiB"))).toEqual([]); // 2 TiB, 1 partner
    expect(subjectsOf(rule, twoWay("3MiB"))).toEqual(["csv1"]);
    const threeWay = (size: string) =>
      planOf(THREE_NODE, (json) => (json.devices[1].journal.sizeBytes = size));
    expect(subjectsOf(rule, threeWay("16MiB"))).toEqual([]); // 4 TiB, 2 partners
    expect(subjectsOf(rule, threeWay("15MiB"))).toEqual(["ds2"]);
  });

  it("journal.placement trips on a journal on the device's own array", () => {
    const plan = planOf(TWO_NODE, (json) => (json.devices[1].journal.storage = "data"));
    expect(subjectsOf(storage.journalPlacement, planOf(TWO_NODE))).toEqual([]);
    expect(subjectsOf(storage.journalPlacement, plan)).toEqual(["hv-a/csv2", "hv-b/csv2"]);
  });

  it("journal.placement trips on a journal slower than the device's array", () => {
    const plan = planOf(TWO_NODE, (json) => (array(json, 0, "journal").profile = "ssd-single"));
    expect(subjectsOf(storage.journalPlacement, plan)).toEqual(["hv-a/csv1", "hv-a/csv2"]);
  });
});

describe("cluster.same-version", () => {
  const rule = cluster.sameVersion;

  it("passes when a node's version is not given", () => {
    expect(subjectsOf(rule, planOf(TWO_NODE, (json) => delete json.nodes[1].twinsanVersion)))
      .toEqual([]);
  });

  it("trips on mixed versions", () => {
    const plan = planOf(THREE_NODE, (json) => (json.nodes[2].twinsanVersion = "0.2.0"));
    expect(subjectsOf(rule, plan)).toEqual(["cluster"]);
  });
});

describe("device.sector-size", () => {
  const rule = cluster.sectorSizeForInitiator;

  it("passes a 512 B device for an ESXi initiator in a Windows plan", () => {
    const plan = planOf(TWO_NODE, (json) => {
      json.devices[0].sectorSizeBytes = 512;
      json.devices[0].initiatorOs = "esxi";
    });
    expect(subjectsOf(rule, plan)).toEqual([]);
  });

  it("trips on a 512 B device for Windows and a 4 KiB one for ESXi", () => {
    const windows = planOf(TWO_NODE, (json) => (json.devices[0].sectorSizeBytes = 512));
    expect(subjectsOf(rule, windows)).toEqual(["csv1"]);
    const esxi = planOf(THREE_NODE, (json) => (json.devices[1].sectorSizeBytes = 4096));
    expect(subjectsOf(rule, esxi)).toEqual(["ds2"]);
  });
});

// Runs last: tests in a file run in order.
it("has a test in which each rule trips", () => {
  expect([...rulesTripped].sort()).toEqual(RULES.map((rule) => rule.id).sort());
});
