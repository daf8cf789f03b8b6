import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ConfigError,
  LOCAL_NAA_COMPANY_ID,
  defaultConfig,
  loadConfig,
  parseConfig,
  parseSizeBytes,
} from "../../src/mgmt/config.ts";
import { buildConfig } from "../helpers/twinsan-config.ts";

const GiB = 2 ** 30;
const MiB = 2 ** 20;

// A fully specified file: nothing in it is left to defaults.
function fullConfigFile() {
  return {
    node: { name: "node-a", dataDir: "/var/lib/twinsan" },
    portals: [
      { id: "lan", address: "192.0.2.10", port: 3260, portalGroupTag: 1, relativeTargetPortId: 1 },
      {
        id: "san",
        address: "2001:db8::10",
        port: 3261,
        portalGroupTag: 2,
        relativeTargetPortId: 2,
      },
    ],
    targetPortGroupId: 7,
    iscsi: { nopInIntervalMs: 2000, nopInTimeoutMs: 6000 },
    discovery: { chap: { username: "discover", secret: "discovery-secret" } },
    targets: [
      {
        iqn: "iqn.2026-11.org.twinsan:db",
        alias: "database volumes",
        portals: ["san"],
        allowedInitiators: ["iqn.1993-08.org.debian:01:abcdef", "eui.02004567A425678D"],
        chap: {
          username: "db-initiator",
          secret: "initiator-secret",
          mutual: { username: "db-target", secret: "target-secret1" },
        },
        luns: [
          {
            lun: 0,
            path: "db0.img",
            sizeBytes: "10GiB",
            blockSizeBytes: 4096,
            serial: "DB0SERIAL",
            naaId: "6001405ABCDEF0123456789ABCDEF012",
            vendorId: "ACME",
            productId: "FAST DISK",
            productRevision: "2.1",
          },
          { lun: 5, path: "/srv/images/db5.img", sizeBytes: 8 * MiB },
        ],
      },
    ],
  };
}

// The smallest valid file: everything else comes from defaults.
function minimalConfigFile() {
  return {
    portals: [{ address: "127.0.0.1" }],
    targets: [
      {
        iqn: "iqn.2026-11.org.example:t1",
        luns: [{ lun: 0, path: "l0.img", sizeBytes: "1GiB" }],
      },
    ],
  };
}

type ConfigFile = Record<string, any>;

function issuesOf(file: unknown, baseDir = "/etc/twinsan"): string[] {
  try {
    parseConfig(file, baseDir);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error("config was accepted");
}

function mutated(change: (file: ConfigFile) => void): ConfigFile {
  const file: ConfigFile = fullConfigFile();
  change(file);
  return file;
}

describe("parseConfig on a fully specified file", () => {
  const config = parseConfig(fullConfigFile(), "/etc/twinsan");

  it("keeps every field and resolves LUN paths against the data dir", () => {
    expect(config.node).toEqual({ name: "node-a", dataDir: "/var/lib/twinsan" });
    expect(config.portals).toEqual(fullConfigFile().portals);
    expect(config.targetPortGroupId).toBe(7);
    expect(config.iscsi).toEqual({ nopInIntervalMs: 2000, nopInTimeoutMs: 6000 });
    expect(config.discovery.chap).toEqual({ username: "discover", secret: "discovery-secret" });
    const [target] = config.targets;
    expect(target.alias).toBe("database volumes");
    expect(target.portals).toEqual(["san"]);
    expect(target.chap?.mutual).toEqual({ username: "db-target", secret: "target-secret1" });
    expect(target.luns[0]).toEqual({
      lun: 0,
      path: "/var/lib/twinsan/db0.img",
      sizeBytes: 10 * GiB,
      blockSizeBytes: 4096,
      serial: "DB0SERIAL",
      naaId: "6001405abcdef0123456789abcdef012",
      vendorId: "ACME",
      productId: "FAST DISK",
      productRevision: "2.1",
      provisioning: "thick",
      cache: { mode: "write-back", sizeMB: 128 },
    });
    expect(target.luns[1].path).toBe("/srv/images/db5.img");
    expect(target.luns[1].sizeBytes).toBe(8 * MiB);
  });

  it("lower-cases iSCSI names", () => {
    expect(config.targets[0].allowedInitiators).toEqual([
      "iqn.1993-08.org.debian:01:abcdef",
      "eui.02004567a425678d",
    ]);
  });

  it("accepts the JSON text as well as the parsed value", () => {
    expect(parseConfig(JSON.stringify(fullConfigFile()), "/etc/twinsan")).toEqual(config);
  });
});

describe("parseConfig on the file the integration tests write", () => {
  it("accepts it unchanged: it states every field of the contract", () => {
    const file = buildConfig({
      nodeName: "node-a",
      dataDir: "/tmp/twinsan-node-a",
      portalPorts: [3260, 3261],
      targets: [
        {
          name: "t1",
          luns: [
            { lun: 0, sizeBytes: 8 * MiB, blockSizeBytes: 512 },
            { lun: 1, sizeBytes: 8 * MiB, blockSizeBytes: 4096 },
          ],
          chap: { username: "user", secret: "twelve-bytes" },
        },
      ],
    });
    expect(parseConfig(file, "/")).toEqual(file);
  });
});

describe("parseConfig defaults", () => {
  const config = parseConfig(minimalConfigFile(), "/etc/twinsan");
  const [lun] = config.targets[0].luns;

  it("fills node, iSCSI timers, portal and target defaults", () => {
    expect(config.node.dataDir).toBe("/etc/twinsan/data");
    expect(config.node.name).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
    expect(config.portals).toHaveLength(1);
    const [portal] = config.portals;
    expect(portal).toEqual({
      id: "portal0",
      address: "127.0.0.1",
      port: 3260,
      portalGroupTag: 1,
      relativeTargetPortId: 1,
    });
    expect(config.targetPortGroupId).toBe(1);
    expect(config.iscsi).toEqual({ nopInIntervalMs: 5000, nopInTimeoutMs: 15000 });
    expect(config.discovery).toEqual({});
    expect(config.targets[0].portals).toEqual(["portal0"]);
    expect(config.targets[0].allowedInitiators).toEqual([]);
    expect(config.targets[0]).not.toHaveProperty("chap");
    expect(config.targets[0]).not.toHaveProperty("alias");
  });

  it("fills LUN defaults", () => {
    expect(lun).toMatchObject({
      path: "/etc/twinsan/data/l0.img",
      sizeBytes: GiB,
      blockSizeBytes: 512,
      vendorId: "TWINSAN",
      productId: "VIRTUAL-DISK",
      productRevision: "0001",
    });
  });

  it("derives an NAA-6 id with the fixed company id and a 16-digit serial", () => {
    expect(lun.naaId).toMatch(/^6[0-9a-f]{31}$/);
    expect(lun.naaId.slice(1, 7)).toBe(LOCAL_NAA_COMPANY_ID);
    expect(lun.serial).toMatch(/^[0-9a-f]{16}$/);
  });

  it("derives ids from target name and LUN only, stable forever", () => {
    const other = minimalConfigFile();
    other.portals = [{ address: "10.0.0.1" }];
    (other.targets[0].luns[0] as ConfigFile).path = "elsewhere.img";
    (other as ConfigFile).node = { name: "node-b", dataDir: "/data" };
    const otherLun = parseConfig(other, "/").targets[0].luns[0];
    expect(otherLun.naaId).toBe(lun.naaId);
    expect(otherLun.serial).toBe(lun.serial);
    // Golden values: a change here changes the identity of every deployed LUN.
    expect(lun.naaId).toBe("6da7a5a2f56dcfb752ad5e8fe1f86c09");
    expect(lun.serial).toBe("5143a84e371d3026");
  });

  it("derives other ids for another LUN or target, the same for a differently cased name", () => {
    const file: ConfigFile = minimalConfigFile();
    file.targets[0].luns.push({ lun: 1, path: "l1.img", sizeBytes: "1GiB" });
    file.targets.push({
      iqn: "IQN.2026-11.ORG.EXAMPLE:T2",
      luns: [{ lun: 0, path: "t2.img", sizeBytes: "1GiB" }],
    });
    const config = parseConfig(file, "/");
    const ids = config.targets.flatMap((t) => t.luns.map((l) => l.naaId));
    expect(new Set(ids).size).toBe(3);
    const upper = minimalConfigFile();
    upper.targets[0].iqn = upper.targets[0].iqn.toUpperCase();
    expect(parseConfig(upper, "/").targets[0].luns[0].naaId).toBe(lun.naaId);
  });

  it("numbers relative target port ids 1.. in portal order; one group may share an id", () => {
    const file: ConfigFile = minimalConfigFile();
    file.portals = [
      { address: "127.0.0.1" },
      { address: "::1" },
      { address: "192.0.2.1", portalGroupTag: 3 },
      { address: "192.0.2.2", relativeTargetPortId: 2 },
    ];
    const config = parseConfig(file, "/");
    expect(config.portals.map((p) => [p.id, p.portalGroupTag, p.relativeTargetPortId])).toEqual([
      ["portal0", 1, 1],
      ["portal1", 1, 2],
      ["portal2", 3, 3],
      ["portal3", 1, 2],
    ]);
  });

  it("resolves a relative data dir against baseDir and an override against the cwd", () => {
    const file: ConfigFile = minimalConfigFile();
    file.node = { dataDir: "../images" };
    expect(parseConfig(file, "/etc/twinsan").node.dataDir).toBe("/etc/images");
    const overridden = parseConfig(file, "/etc/twinsan", { dataDir: "state" });
    expect(overridden.node.dataDir).toBe(join(process.cwd(), "state"));
    expect(overridden.targets[0].luns[0].path).toBe(join(process.cwd(), "state", "l0.img"));
  });
});

describe("parseConfig refuses bad fields, naming the field path", () => {
  const cases: [string, (file: ConfigFile) => void, string][] = [
    [
      "an empty object",
      (f) => Object.keys(f).forEach((k) => delete f[k]),
      "portals: is required",
    ],
    ["an unknown top-level field", (f) => (f.target = []), "target: unknown field"],
    [
      "an unknown nested field",
      (f) => (f.targets[0].luns[1].blocksize = 4096),
      "targets[0].luns[1].blocksize: unknown field",
    ],
    ["an empty node name", (f) => (f.node.name = ""), "node.name: must be letters"],
    ["an empty data dir", (f) => (f.node.dataDir = ""), "node.dataDir: must not be empty"],
    ["no portals", (f) => (f.portals = []), "portals: must list at least one portal"],
    [
      "a host name as address",
      (f) => (f.portals[0].address = "localhost"),
      "portals[0].address: must be an IPv4",
    ],
    [
      "port 0",
      (f) => (f.portals[0].port = 0),
      "portals[0].port: must be an integer from 1 to 65535",
    ],
    [
      "port 65536",
      (f) => (f.portals[1].port = 65536),
      "portals[1].port: must be an integer from 1",
    ],
    ["a string port", (f) => (f.portals[0].port = "3260"), "portals[0].port: must be a number"],
    [
      "a fractional group tag",
      (f) => (f.portals[0].portalGroupTag = 1.5),
      "portals[0].portalGroupTag:",
    ],
    [
      "relative port id 0",
      (f) => (f.portals[0].relativeTargetPortId = 0),
      "portals[0].relativeTargetPortId:",
    ],
    [
      "a portal id with spaces",
      (f) => (f.portals[0].id = "my lan"),
      "portals[0].id: must be letters",
    ],
    [
      "duplicate portal ids",
      (f) => (f.portals[1].id = "lan"),
      'portals[1].id: duplicate portal id "lan"',
    ],
    [
      "two portals on one address and port",
      (f) => Object.assign(f.portals[1], { address: "192.0.2.10", port: 3260 }),
      "portals[1]: 192.0.2.10:3260 overlaps an earlier portal",
    ],
    [
      "a wildcard portal on a port already used",
      (f) => Object.assign(f.portals[1], { address: "0.0.0.0", port: 3260 }),
      "portals[1]: 0.0.0.0:3260 overlaps",
    ],
    [
      "one relative port id for two portal groups",
      (f) => (f.portals[1].relativeTargetPortId = 1),
      'portals[1].relativeTargetPortId: 1 is already used by portal "lan" of portal group 1',
    ],
    [
      "target port group 0",
      (f) => (f.targetPortGroupId = 0),
      "targetPortGroupId: must be an integer from 1",
    ],
    [
      "a NOP-In interval of 0",
      (f) => (f.iscsi.nopInIntervalMs = 0),
      "iscsi.nopInIntervalMs: must be",
    ],
    [
      "a string NOP-In timeout",
      (f) => (f.iscsi.nopInTimeoutMs = "15s"),
      "iscsi.nopInTimeoutMs: must be a number",
    ],
    [
      "a short CHAP secret",
      (f) => (f.discovery.chap.secret = "short"),
      "discovery.chap.secret: must be 12 to 255",
    ],
    [
      "a CHAP secret without user",
      (f) => delete f.discovery.chap.username,
      "discovery.chap.username: is required",
    ],
    [
      "a mutual secret equal to the initiator secret",
      (f) => (f.targets[0].chap.mutual.secret = "initiator-secret"),
      "targets[0].chap.mutual.secret: must differ",
    ],
    ["no targets", (f) => (f.targets = []), "targets: must list at least one target"],
    [
      "a bad iqn date",
      (f) => (f.targets[0].iqn = "iqn.2026-13.org.x:t"),
      "targets[0].iqn: must be an iSCSI name",
    ],
    [
      "an iqn without domain",
      (f) => (f.targets[0].iqn = "iqn.2026-11:t"),
      "targets[0].iqn: must be an iSCSI name",
    ],
    ["a bad eui", (f) => (f.targets[0].iqn = "eui.1234"), "targets[0].iqn: must be an iSCSI name"],
    ["a bad naa", (f) => (f.targets[0].iqn = "naa.12345"), "targets[0].iqn: must be an iSCSI name"],
    ["a name with a space", (f) => (f.targets[0].iqn = "iqn.2026-11.org.x:a b"), "targets[0].iqn:"],
    [
      "a too long name",
      (f) => (f.targets[0].iqn = `iqn.2026-11.org.x:${"a".repeat(210)}`),
      "targets[0].iqn:",
    ],
    [
      "a bad initiator name",
      (f) => f.targets[0].allowedInitiators.push("host1"),
      "targets[0].allowedInitiators[2]: must be an iSCSI name",
    ],
    [
      "an initiator listed twice",
      (f) => f.targets[0].allowedInitiators.push("IQN.1993-08.org.debian:01:ABCDEF"),
      "targets[0].allowedInitiators[2]: \"iqn.1993-08.org.debian:01:abcdef\" is listed twice",
    ],
    [
      "an unknown portal id",
      (f) => (f.targets[0].portals = ["wan"]),
      'targets[0].portals[0]: no portal has id "wan"',
    ],
    [
      "an empty portal list",
      (f) => (f.targets[0].portals = []),
      "targets[0].portals: must list at least one",
    ],
    [
      "a portal listed twice",
      (f) => f.targets[0].portals.push("san"),
      'targets[0].portals[1]: portal "san" is listed',
    ],
    [
      "a duplicate target",
      (f) => f.targets.push({ ...f.targets[0], luns: [{ lun: 0, path: "x", sizeBytes: "1GiB" }] }),
      'targets[1].iqn: duplicate target name "iqn.2026-11.org.twinsan:db"',
    ],
    ["no LUNs", (f) => (f.targets[0].luns = []), "targets[0].luns: must list at least one LUN"],
    [
      "LUN 16384",
      (f) => (f.targets[0].luns[1].lun = 16384),
      "targets[0].luns[1].lun: must be an integer from 0 to 16383",
    ],
    [
      "a missing LUN number",
      (f) => delete f.targets[0].luns[1].lun,
      "targets[0].luns[1].lun: is required",
    ],
    [
      "a duplicate LUN",
      (f) => (f.targets[0].luns[1].lun = 0),
      "targets[0].luns[1].lun: duplicate LUN 0",
    ],
    [
      "a missing path",
      (f) => delete f.targets[0].luns[0].path,
      "targets[0].luns[0].path: is required",
    ],
    [
      "two LUNs on one image file",
      (f) => (f.targets[0].luns[1].path = "/var/lib/twinsan/db0.img"),
      'targets[0].luns[1].path: image file "/var/lib/twinsan/db0.img" is already used by ' +
        "targets[0].luns[0]",
    ],
    [
      "block size 1024",
      (f) => (f.targets[0].luns[1].blockSizeBytes = 1024),
      "targets[0].luns[1].blockSizeBytes: must be 512 or 4096",
    ],
    [
      "a missing size",
      (f) => delete f.targets[0].luns[1].sizeBytes,
      "targets[0].luns[1].sizeBytes: is required",
    ],
    [
      "an unknown size unit",
      (f) => (f.targets[0].luns[1].sizeBytes = "1 GiBs"),
      'targets[0].luns[1].sizeBytes: must be a whole number of bytes or a size such as "1GiB"',
    ],
    [
      "a negative size",
      (f) => (f.targets[0].luns[1].sizeBytes = -MiB),
      "targets[0].luns[1].sizeBytes: must be a whole number",
    ],
    [
      "a fractional byte count",
      (f) => (f.targets[0].luns[1].sizeBytes = "1.1GiB"),
      "targets[0].luns[1].sizeBytes: must be a whole number",
    ],
    [
      "a size not a multiple of the block size",
      (f) => (f.targets[0].luns[0].sizeBytes = 10 * GiB + 512),
      "targets[0].luns[0].sizeBytes: 10737418752 is not a multiple of blockSizeBytes (4096)",
    ],
    [
      "a size under 1 MiB",
      (f) => (f.targets[0].luns[1].sizeBytes = "512KiB"),
      "targets[0].luns[1].sizeBytes: 524288 is less than 1 MiB",
    ],
    [
      "a serial with a space",
      (f) => (f.targets[0].luns[0].serial = "A B"),
      "targets[0].luns[0].serial: must be printable ASCII",
    ],
    [
      "a 31-digit naaId",
      (f) => (f.targets[0].luns[0].naaId = "6001405abcdef0123456789abcdef01"),
      "targets[0].luns[0].naaId: must be 32 hex digits",
    ],
    [
      "an NAA-5 id",
      (f) => (f.targets[0].luns[0].naaId = "5001405abcdef0123456789abcdef012"),
      "targets[0].luns[0].naaId: must be 32 hex digits starting with 6",
    ],
    [
      "a naaId used twice",
      (f) => (f.targets[0].luns[1].naaId = "6001405ABCDEF0123456789ABCDEF012"),
      'targets[0].luns[1].naaId: naaId "6001405abcdef0123456789abcdef012" is already used by ' +
        "targets[0].luns[0]",
    ],
    [
      "a serial used twice",
      (f) => (f.targets[0].luns[1].serial = "DB0SERIAL"),
      'targets[0].luns[1].serial: serial "DB0SERIAL" is already used',
    ],
    [
      "a 9-character vendor id",
      (f) => (f.targets[0].luns[0].vendorId = "VENDOR123"),
      "targets[0].luns[0].vendorId: must be at most 8 characters",
    ],
    [
      "a 17-character product id",
      (f) => (f.targets[0].luns[0].productId = "P".repeat(17)),
      "targets[0].luns[0].productId: must be at most 16",
    ],
    [
      "a non-ASCII revision",
      (f) => (f.targets[0].luns[0].productRevision = "é"),
      "targets[0].luns[0].productRevision: must be printable ASCII",
    ],
    [
      "an empty alias",
      (f) => (f.targets[0].alias = ""),
      "targets[0].alias: must be 1 to 255 bytes",
    ],
  ];

  it.each(cases)("%s", (_name, change, expected) => {
    const issues = issuesOf(mutated(change));
    expect(issues.some((issue) => issue.startsWith(expected)), issues.join("\n")).toBe(true);
  });

  it("refuses a value that is not an object, and text that is not JSON", () => {
    expect(issuesOf(null)).toEqual(["config: must be an object"]);
    expect(issuesOf("{ nope")[0]).toMatch(/^not valid JSON: /);
  });

  it("reports every problem at once, one line per field", () => {
    const issues = issuesOf(
      mutated((f) => {
        f.portals[0].port = 0;
        f.targets[0].luns[1].blockSizeBytes = 1024;
      }),
    );
    expect(issues).toEqual([
      "portals[0].port: must be an integer from 1 to 65535",
      "targets[0].luns[1].blockSizeBytes: must be 512 or 4096",
    ]);
  });
});

describe("parseSizeBytes", () => {
  it.each([
    [4096, 4096],
    ["4096", 4096],
    ["1GiB", GiB],
    ["512MiB", 512 * MiB],
    ["100GB", 100e9],
    ["1.5 TiB", 1.5 * 2 ** 40],
    ["64kib", 64 * 1024],
    ["2KB", 2000],
    ["10B", 10],
  ])("%s -> %d", (text, bytes) => {
    expect(parseSizeBytes(text)).toBe(bytes);
  });

  it.each([["1X"], ["GiB"], [""], ["-1GiB"], [1.5], [-1], [Number.NaN], ["1e3"], [null], ["9PiB"]])(
    "refuses %s",
    (text) => {
      expect(parseSizeBytes(text)).toBeUndefined();
    },
  );
});

describe("loadConfig", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "twinsan-config-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("resolves the data dir against the config file's directory", async () => {
    const path = join(dir, "twinsan.json");
    await writeFile(path, JSON.stringify(minimalConfigFile()));
    const config = await loadConfig(path);
    expect(config.node.dataDir).toBe(join(dir, "data"));
    expect(config.targets[0].luns[0].path).toBe(join(dir, "data", "l0.img"));
    const overridden = await loadConfig(path, { dataDir: join(dir, "other") });
    expect(overridden.targets[0].luns[0].path).toBe(join(dir, "other", "l0.img"));
  });

  it("names the file and the field in the error", async () => {
    const path = join(dir, "bad.json");
    const file: ConfigFile = minimalConfigFile();
    file.targets[0].luns[0].blockSizeBytes = 1000;
    await writeFile(path, JSON.stringify(file));
    await expect(loadConfig(path)).rejects.toThrow(
      `${path}: invalid config: targets[0].luns[0].blockSizeBytes: must be 512 or 4096`,
    );
  });

  it("names the file when it is missing or not JSON", async () => {
    await expect(loadConfig(join(dir, "none.json"))).rejects.toThrow(
      `${join(dir, "none.json")}: cannot read config file (ENOENT)`,
    );
    await writeFile(join(dir, "text.json"), "port = 3260");
    await expect(loadConfig(join(dir, "text.json"))).rejects.toThrow(
      /text\.json: invalid config: not valid JSON/,
    );
  });
});

describe("defaultConfig", () => {
  it("is the demo: one 1 GiB LUN 0 on 127.0.0.1:3260 under ./data", () => {
    const config = defaultConfig();
    expect(config.node.dataDir).toBe(join(process.cwd(), "data"));
    expect(config.portals).toEqual([
      { id: "local", address: "127.0.0.1", port: 3260, portalGroupTag: 1, relativeTargetPortId: 1 },
    ]);
    expect(config.targets).toHaveLength(1);
    expect(config.targets[0].iqn).toBe("iqn.2026-11.org.twinsan:demo");
    expect(config.targets[0].portals).toEqual(["local"]);
    expect(config.targets[0].luns).toHaveLength(1);
    expect(config.targets[0].luns[0]).toMatchObject({
      lun: 0,
      path: join(process.cwd(), "data", "demo-lun0.img"),
      sizeBytes: GiB,
      blockSizeBytes: 512,
    });
  });

  it("takes another data dir", () => {
    const [lun] = defaultConfig("/srv/twinsan").targets[0].luns;
    expect(lun.path).toBe("/srv/twinsan/demo-lun0.img");
  });
});
