// Loading the hardware catalog and resolving plan files: profiles merged with overrides, and
// bad files refused with the path of every bad field.
import { mkdir, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { HARDWARE_DIR, loadCatalog, type HardwareCatalog } from "../../src/mgmt/plan/catalog.ts";
import { DataFileError } from "../../src/mgmt/plan/data-file.ts";
import { loadPlan, resolvePlan } from "../../src/mgmt/plan/resolve-plan.ts";
import { makeTempDir, type TempDir } from "../helpers/temp-dir.ts";

// Plan files are edited as plain JSON, as an admin would.
type PlanJson = any;

let catalog: HardwareCatalog;
let tempDir: TempDir | undefined;

beforeAll(async () => {
  catalog = await loadCatalog();
});

afterEach(async () => {
  await tempDir?.remove();
  tempDir = undefined;
});

function twoNodeJson(): PlanJson {
  const path = join(HARDWARE_DIR, "examples", "2-node-hyperconverged.json");
  return JSON.parse(readFileSync(path, "utf8"));
}

function issuesOf(json: unknown): string[] {
  try {
    resolvePlan(json, catalog, "plan.json");
  } catch (error) {
    if (error instanceof DataFileError) return error.issues;
    throw error;
  }
  throw new Error("the plan was accepted");
}

describe("the hardware catalog", () => {
  it("holds the NIC, RAID and sector-size profiles of hardware/", () => {
    expect(catalog.nics.get("intel-x710-da2")).toMatchObject({ speedGbps: 10, ports: 2 });
    expect(catalog.raidLayouts.get("raid10-ssd-8")).toMatchObject({
      level: "10",
      stripeSizeBytes: 64 * 1024,
      bbu: true,
    });
    expect(catalog.sectorSizes.get("windows")?.sectorSizeBytes).toBe(4096);
    for (const os of ["esxi", "xen", "kvm", "linux"]) {
      expect(catalog.sectorSizes.get(os)?.sectorSizeBytes).toBe(512);
    }
  });

  it("refuses a bad profile, naming the file and the field", async () => {
    tempDir = await makeTempDir("plan-catalog");
    await mkdir(join(tempDir.path, "nics"));
    await mkdir(join(tempDir.path, "raid"));
    await writeFile(join(tempDir.path, "sector-sizes.json"), "{}");
    const nicPath = join(tempDir.path, "nics", "slow.json");
    await writeFile(nicPath, JSON.stringify({ speedGbps: 0, ports: 2, rdmaCapable: "no" }));
    const error = await loadCatalog(tempDir.path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DataFileError);
    expect((error as DataFileError).source).toBe(nicPath);
    expect((error as DataFileError).issues).toEqual([
      "speedGbps: must be a number above 0",
      "rdmaCapable: must be a boolean",
    ]);
  });

  it("refuses a RAID layout whose fields contradict each other", async () => {
    tempDir = await makeTempDir("plan-catalog");
    await mkdir(join(tempDir.path, "nics"));
    await mkdir(join(tempDir.path, "raid"));
    await writeFile(join(tempDir.path, "sector-sizes.json"), "{}");
    const layout = { ...catalog.raidLayouts.get("raid10-ssd-8"), controller: "none" };
    delete (layout as { stripeSizeBytes?: number }).stripeSizeBytes;
    await writeFile(join(tempDir.path, "raid", "odd.json"), JSON.stringify(layout));
    const error = (await loadCatalog(tempDir.path).catch((e: unknown) => e)) as DataFileError;
    expect(error.issues).toEqual([
      'controller: RAID 10 needs a "hardware" or "software" controller',
      'controllerCache: only a "hardware" controller has a cache',
      "stripeSizeBytes: is required for RAID 10",
    ]);
  });
});

describe("resolving a plan", () => {
  it("merges profiles and parses sizes", () => {
    const plan = resolvePlan(twoNodeJson(), catalog, "plan.json");
    expect(plan.nodes[0].nics[1]).toMatchObject({ id: "iscsi", speedGbps: 25, ports: 2 });
    expect(plan.nodes[0].storage[1]).toMatchObject({ id: "journal", diskKind: "nvme" });
    expect(plan.devices[0]).toMatchObject({
      sizeBytes: 2 * 2 ** 40,
      initiatorOs: "windows",
      initiatorSectorSizeBytes: 4096,
      cache: { mode: "write-back", sizeBytes: 2 ** 30 },
    });
  });

  it("lets a plan override profile fields", () => {
    const json = twoNodeJson();
    json.nodes[0].nics[1].speedGbps = 10;
    json.nodes[1].storage[0].bbu = false;
    const plan = resolvePlan(json, catalog, "plan.json");
    expect(plan.nodes[0].nics[1].speedGbps).toBe(10);
    expect(plan.nodes[1].storage[0].bbu).toBe(false);
    expect(plan.nodes[0].storage[0].bbu).toBe(true);
  });

  it("takes a link's speed from its slower end unless the link names one", () => {
    const json = twoNodeJson();
    json.nodes[0].nics[2].speedGbps = 10;
    json.links.find((link: PlanJson) => link.id === "sync-2").speedGbps = 1;
    const plan = resolvePlan(json, catalog, "plan.json");
    const speedOf = (id: string) => plan.links.find((link) => link.id === id)?.speedGbps;
    expect(speedOf("sync-1")).toBe(10);
    expect(speedOf("sync-2")).toBe(1);
    expect(speedOf("mgmt-a")).toBe(1);
  });

  it("accepts a NIC without a profile when every field is given", () => {
    const json = twoNodeJson();
    json.nodes[0].nics[0] = { id: "mgmt", speedGbps: 1, ports: 2, rdmaCapable: false };
    expect(resolvePlan(json, catalog, "plan.json").nodes[0].nics[0].ports).toBe(2);
  });
});

describe("refusing a plan", () => {
  it("names the fields the schema refuses", () => {
    const json = twoNodeJson();
    json.nodes[0].color = "blue";
    json.nodes.pop();
    json.devices[1].sectorSizeBytes = 1024;
    json.devices[0].sizeBytes = "2 lots";
    json.links[0].roles = ["storage"];
    json.links[1].ends[0] = { node: "hv-a", external: "switch" };
    expect(issuesOf(json)).toEqual([
      "nodes[0].color: unknown field",
      "nodes: must list 2 or 3 nodes",
      "links[0].roles[0]: must be one of sync, iscsi, heartbeat, management",
      'links[1].ends[0]: must be either { "node", "nic", "port" } or { "external" }',
      'devices[0].sizeBytes: must be a whole number of bytes or a size such as "64KiB", ' +
        '"1GiB", "2TiB"',
      "devices[1].sectorSizeBytes: must be 512 or 4096",
    ]);
  });

  it("names the references that lead nowhere", () => {
    const json = twoNodeJson();
    json.nodes[0].nics[1].profile = "no-such-nic";
    json.nodes[1].storage[0].stripeSizeBytes = "lots";
    json.nodes[1].nics.push({ id: "sync", profile: "intel-x710-da2" });
    json.links[2].ends[1].port = 2;
    json.links[3].ends[0].node = "hv-c";
    json.devices[0].storage = "ssd";
    json.devices[1].initiatorOs = "plan9";
    const issues = issuesOf(json);
    expect(issues[0]).toMatch(/^nodes\[0\]\.nics\[1\]\.profile: no profile "no-such-nic"/);
    expect(issues.slice(1)).toEqual([
      'nodes[1].storage[0].stripeSizeBytes: must be a whole number of bytes or a size such as ' +
        '"64KiB", "1GiB", "2TiB"',
      'nodes[1].nics[3].id: duplicate id "sync"',
      "links[2].ends[1].port: NIC iscsi has ports 0 to 1",
      'links[3].ends[0].node: no node is named "hv-c"',
      'devices[0].storage: node hv-a has no array "ssd" (arrays are per node)',
      'devices[0].storage: node hv-b has no array "ssd" (arrays are per node)',
      'devices[1].initiatorOs: no sector-size profile for "plan9" (known: windows, esxi, xen, ' +
        "kvm, linux)",
    ]);
  });

  it("refuses a file that is not JSON or cannot be read", async () => {
    tempDir = await makeTempDir("plan-file");
    const path = join(tempDir.path, "plan.json");
    await writeFile(path, "{ nodes: [");
    await expect(loadPlan(path, catalog)).rejects.toThrow(/not valid JSON/);
    await expect(loadPlan(join(tempDir.path, "none.json"), catalog)).rejects.toThrow(/ENOENT/);
  });
});
