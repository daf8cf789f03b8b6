// The node's config file (JSON): validation, defaults, derived identifiers and absolute paths.
// The TwinsanConfig shape is a contract (docs/CONTRACTS.md); docs for every field: README.md.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import * as z from "zod";
import {
  describeTypeIssue, formatFieldPath, formatZodIssue, integer, sizeBytesField,
} from "./schema-fields.ts";

export { parseSizeBytes } from "./schema-fields.ts";

export interface TwinsanConfig {
  node: { name: string; dataDir: string };
  portals: PortalConfig[];
  targetPortGroupId: number;
  iscsi: { nopInIntervalMs: number; nopInTimeoutMs: number };
  discovery: { chap?: ChapConfig };
  targets: TargetConfig[];
}

export interface PortalConfig {
  id: string;
  address: string;
  port: number;
  portalGroupTag: number;
  relativeTargetPortId: number;
}

export interface ChapConfig {
  username: string;
  secret: string;
  mutual?: { username: string; secret: string };
}

export interface TargetConfig {
  iqn: string;
  alias?: string;
  portals: string[];
  allowedInitiators: string[];
  chap?: ChapConfig;
  luns: LunConfig[];
}

export interface LunConfig {
  lun: number;
  path: string;
  sizeBytes: number;
  blockSizeBytes: 512 | 4096;
  serial: string;
  naaId: string;
  vendorId: string;
  productId: string;
  productRevision: string;
  /** thick: fully allocated at creation; thin: sparse, UNMAP punches holes. */
  provisioning: "thick" | "thin";
  cache: LunCacheConfig;
}

export interface LunCacheConfig {
  /** write-back acknowledges from RAM (WCE=1); write-through after the disk took it; none. */
  mode: "write-back" | "write-through" | "none";
  sizeMB: number;
}

export interface ConfigOverrides {
  /** Replaces node.dataDir; a relative path is taken from the current directory. */
  dataDir?: string;
}

/** A config that cannot be used; `issues` holds one "field.path: problem" line each. */
export class ConfigError extends Error {
  constructor(
    readonly issues: string[],
    source?: string,
  ) {
    super(`${source ? `${source}: ` : ""}invalid config: ${issues.join("; ")}`);
    this.name = "ConfigError";
  }
}

/**
 * IEEE company ID used in derived NAA-6 identifiers. Not IEEE-assigned: the low nibble of the
 * first octet is 0xA (X bit set, the locally administered CID form), so no registered OUI or CID
 * can equal it. Changing it changes every derived LUN identity, so it never changes.
 */
export const LOCAL_NAA_COMPANY_ID = "da7a5a";

const MIN_LUN_SIZE_BYTES = 1024 * 1024;
const ISCSI_NAME_MAX_BYTES = 223;

// RFC 3720 section 3.2.6 (kept in RFC 7143): iqn.YYYY-MM.reversed.domain[:anything],
// eui.<16 hex>, naa.<16 or 32 hex> (RFC 3980). Names are compared in lower case.
const DOMAIN_LABEL = "[a-z0-9]([a-z0-9-]*[a-z0-9])?";
const IQN_PATTERN = new RegExp(
  `^iqn\\.\\d{4}-(0[1-9]|1[0-2])\\.${DOMAIN_LABEL}(\\.${DOMAIN_LABEL})*(:[a-z0-9.:-]+)?$`,
);
const EUI_PATTERN = /^eui\.[0-9a-f]{16}$/;
const NAA_NAME_PATTERN = /^naa\.([0-9a-f]{16}|[0-9a-f]{32})$/;

const iscsiName = z
  .string()
  .trim()
  .toLowerCase()
  .refine(
    (name) =>
      Buffer.byteLength(name) <= ISCSI_NAME_MAX_BYTES &&
      (IQN_PATTERN.test(name) || EUI_PATTERN.test(name) || NAA_NAME_PATTERN.test(name)),
    {
      error:
        "must be an iSCSI name of at most 223 bytes: iqn.YYYY-MM.reversed.domain[:id], " +
        "eui.<16 hex digits> or naa.<16 or 32 hex digits>",
    },
  );


function bytesBetween(min: number, max: number) {
  return z.string().refine(
    (text) => Buffer.byteLength(text) >= min && Buffer.byteLength(text) <= max,
    { error: `must be ${min} to ${max} bytes long` },
  );
}

/** A fixed-width ASCII field of the standard INQUIRY data (SPC-4 6.6.2). */
function inquiryText(maxLength: number) {
  return z
    .string()
    .regex(/^[\x20-\x7e]+$/, { error: "must be printable ASCII" })
    .max(maxLength, { error: `must be at most ${maxLength} characters` });
}

const sizeBytes = sizeBytesField('"1GiB", "512MiB", "100GB"');

// RFC 7143 asks for at least 96 random bits in a CHAP secret; the Microsoft initiator also caps
// secrets at 16 characters, but longer ones are fine for open-iscsi and libiscsi.
const chapCredentials = {
  username: bytesBetween(1, 255),
  secret: bytesBetween(12, 255),
};

const chapSchema = z
  .strictObject({ ...chapCredentials, mutual: z.strictObject(chapCredentials).optional() })
  .superRefine((chap, ctx) => {
    if (chap.mutual && chap.mutual.secret === chap.secret) {
      ctx.addIssue({
        code: "custom",
        path: ["mutual", "secret"],
        message: "must differ from the initiator's secret (RFC 7143 CHAP considerations)",
      });
    }
  });

const plainName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: "must be letters, digits, '.', '_' or '-'" })
  .max(253, { error: "must be at most 253 characters" });

const portalSchema = z.strictObject({
  id: plainName.optional(),
  address: z.string().refine((address) => isIP(address) !== 0, {
    error: "must be an IPv4 or IPv6 address",
  }),
  port: integer(1, 65535).default(3260),
  portalGroupTag: integer(1, 65535).default(1),
  relativeTargetPortId: integer(1, 65535).optional(),
});

const lunSchema = z.strictObject({
  lun: integer(0, 16383),
  path: z.string().min(1, { error: "must not be empty" }),
  sizeBytes,
  blockSizeBytes: z.literal([512, 4096], { error: "must be 512 or 4096" }).default(512),
  serial: z
    .string()
    .regex(/^[\x21-\x7e]+$/, { error: "must be printable ASCII without spaces" })
    .max(64, { error: "must be at most 64 characters" })
    .optional(),
  naaId: z
    .string()
    .toLowerCase()
    .regex(/^6[0-9a-f]{31}$/, { error: "must be 32 hex digits starting with 6 (NAA-6)" })
    .optional(),
  vendorId: inquiryText(8).default("TWINSAN"),
  productId: inquiryText(16).default("VIRTUAL-DISK"),
  productRevision: inquiryText(4).default("0001"),
  provisioning: z.enum(["thick", "thin"], { error: "must be thick or thin" }).default("thick"),
  cache: z
    .strictObject({
      mode: z
        .enum(["write-back", "write-through", "none"], {
          error: "must be write-back, write-through or none",
        })
        .default("write-back"),
      sizeMB: integer(1, 1024 * 1024).default(128),
    })
    .default({ mode: "write-back", sizeMB: 128 }),
});

const targetSchema = z.strictObject({
  iqn: iscsiName,
  alias: bytesBetween(1, 255).optional(),
  portals: z.array(z.string()).min(1, { error: "must list at least one portal id" }).optional(),
  allowedInitiators: z.array(iscsiName).default([]),
  chap: chapSchema.optional(),
  luns: z.array(lunSchema).min(1, { error: "must list at least one LUN" }),
});

const configFileSchema = z.strictObject({
  node: z
    .strictObject({
      name: plainName.default(() => hostname().split(".")[0] || "twinsan"),
      dataDir: z.string().min(1, { error: "must not be empty" }).default("./data"),
    })
    .prefault({}),
  portals: z.array(portalSchema).min(1, { error: "must list at least one portal" }),
  targetPortGroupId: integer(1, 65535).default(1),
  iscsi: z
    .strictObject({
      nopInIntervalMs: integer(100, 3_600_000).default(5000),
      nopInTimeoutMs: integer(100, 3_600_000).default(15000),
    })
    .prefault({}),
  discovery: z.strictObject({ chap: chapSchema.optional() }).prefault({}),
  targets: z.array(targetSchema).min(1, { error: "must list at least one target" }),
});

type ConfigFile = z.output<typeof configFileSchema>;
type IssuePath = readonly PropertyKey[];

/**
 * Validates a parsed config file (or its JSON text) and resolves it: defaults filled, derived
 * identifiers computed, node.dataDir made absolute against baseDir and LUN paths against it.
 */
export function parseConfig(
  json: unknown,
  baseDir: string,
  overrides: ConfigOverrides = {},
): TwinsanConfig {
  let value = json;
  if (typeof json === "string") {
    try {
      value = JSON.parse(json);
    } catch (error) {
      throw new ConfigError([`not valid JSON: ${(error as Error).message}`]);
    }
  }
  const parsed = configFileSchema.safeParse(value, { error: describeTypeIssue });
  if (!parsed.success) throw new ConfigError(parsed.error.issues.flatMap(formatIssue));
  const config = resolveConfig(parsed.data, baseDir, overrides);
  const problems = findConflicts(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

export async function loadConfig(
  path: string,
  overrides: ConfigOverrides = {},
): Promise<TwinsanConfig> {
  const absolutePath = resolve(path);
  let text: string;
  try {
    text = await readFile(absolutePath, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`${absolutePath}: cannot read config file (${reason})`);
  }
  try {
    return parseConfig(text, dirname(absolutePath), overrides);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(error.issues, absolutePath);
    throw error;
  }
}

/** The embedded demo: one 1 GiB LUN 0 on 127.0.0.1:3260, image in <dataDir>/demo-lun0.img. */
export function defaultConfig(dataDir = "./data"): TwinsanConfig {
  const file = {
    node: { dataDir },
    portals: [{ id: "local", address: "127.0.0.1", port: 3260 }],
    targets: [
      {
        iqn: "iqn.2026-11.org.twinsan:demo",
        luns: [{ lun: 0, path: "demo-lun0.img", sizeBytes: "1GiB" }],
      },
    ],
  };
  return parseConfig(file, process.cwd());
}

/** A stable identifier derived from the target and LUN: the same on every node and restart. */
function deriveHex(purpose: string, iqn: string, lun: number, digits: number): string {
  return createHash("sha256").update(`${purpose}\0${iqn}\0${lun}`).digest("hex").slice(0, digits);
}

function deriveNaaId(iqn: string, lun: number): string {
  // NAA 6 (IEEE registered extended): 4-bit NAA, 24-bit company ID, 100 bits vendor specific.
  return `6${LOCAL_NAA_COMPANY_ID}${deriveHex("naa", iqn, lun, 25)}`;
}

function deriveSerial(iqn: string, lun: number): string {
  return deriveHex("serial", iqn, lun, 16);
}

function resolveConfig(
  file: ConfigFile,
  baseDir: string,
  overrides: ConfigOverrides,
): TwinsanConfig {
  const dataDir =
    overrides.dataDir !== undefined
      ? resolve(overrides.dataDir)
      : resolve(baseDir, file.node.dataDir);
  const portals = file.portals.map((portal, index) => ({
    id: portal.id ?? `portal${index}`,
    address: portal.address,
    port: portal.port,
    portalGroupTag: portal.portalGroupTag,
    relativeTargetPortId: portal.relativeTargetPortId ?? index + 1,
  }));
  const targets = file.targets.map((target) => ({
    iqn: target.iqn,
    ...(target.alias !== undefined && { alias: target.alias }),
    portals: target.portals ?? portals.map((portal) => portal.id),
    allowedInitiators: target.allowedInitiators,
    ...(target.chap && { chap: target.chap }),
    luns: target.luns.map((lun) => ({
      lun: lun.lun,
      path: resolve(dataDir, lun.path),
      sizeBytes: lun.sizeBytes,
      blockSizeBytes: lun.blockSizeBytes,
      serial: lun.serial ?? deriveSerial(target.iqn, lun.lun),
      naaId: lun.naaId ?? deriveNaaId(target.iqn, lun.lun),
      vendorId: lun.vendorId,
      productId: lun.productId,
      productRevision: lun.productRevision,
      provisioning: lun.provisioning,
      cache: lun.cache,
    })),
  }));
  return {
    node: { name: file.node.name, dataDir },
    portals,
    targetPortGroupId: file.targetPortGroupId,
    iscsi: file.iscsi,
    discovery: file.discovery,
    targets,
  };
}

/** Rules across fields and list entries, checked after defaults and derived ids are filled. */
function findConflicts(config: TwinsanConfig): string[] {
  const problems: string[] = [];
  const report = (path: IssuePath, message: string) =>
    problems.push(`${formatPath(path)}: ${message}`);

  config.portals.forEach((portal, index) => {
    const earlier = config.portals.slice(0, index);
    if (earlier.some((other) => other.id === portal.id)) {
      report(["portals", index, "id"], `duplicate portal id "${portal.id}"`);
    }
    if (earlier.some((other) => listenersOverlap(other, portal))) {
      report(["portals", index], `${portal.address}:${portal.port} overlaps an earlier portal`);
    }
    // Portals of one portal group may share a SCSI target port; two groups never can.
    const otherGroup = earlier.find(
      (other) =>
        other.relativeTargetPortId === portal.relativeTargetPortId &&
        other.portalGroupTag !== portal.portalGroupTag,
    );
    if (otherGroup) {
      report(
        ["portals", index, "relativeTargetPortId"],
        `${portal.relativeTargetPortId} is already used by portal "${otherGroup.id}" of ` +
          `portal group ${otherGroup.portalGroupTag}`,
      );
    }
  });

  const lunOwners = new Map<string, string>();
  const claim = (kind: string, value: string, path: IssuePath) => {
    const key = `${kind}\0${value}`;
    const owner = lunOwners.get(key);
    if (owner) report(path, `${kind} "${value}" is already used by ${owner}`);
    else lunOwners.set(key, formatPath(path.slice(0, -1)));
  };

  const lunsSeen = new Set<string>();
  config.targets.forEach((target, t) => {
    if (config.targets.slice(0, t).some((other) => other.iqn === target.iqn)) {
      report(["targets", t, "iqn"], `duplicate target name "${target.iqn}"`);
    }
    target.portals.forEach((id, p) => {
      if (!config.portals.some((portal) => portal.id === id)) {
        report(["targets", t, "portals", p], `no portal has id "${id}"`);
      } else if (target.portals.indexOf(id) !== p) {
        report(["targets", t, "portals", p], `portal "${id}" is listed twice`);
      }
    });
    target.allowedInitiators.forEach((name, i) => {
      if (target.allowedInitiators.indexOf(name) !== i) {
        report(["targets", t, "allowedInitiators", i], `"${name}" is listed twice`);
      }
    });
    target.luns.forEach((lun, l) => {
      const lunPath = ["targets", t, "luns", l];
      if (target.luns.slice(0, l).some((other) => other.lun === lun.lun)) {
        report([...lunPath, "lun"], `duplicate LUN ${lun.lun}`);
      }
      // A repeated target+LUN is reported above; its derived ids would only repeat that.
      const firstOfItsName = !lunsSeen.has(`${target.iqn}\0${lun.lun}`);
      lunsSeen.add(`${target.iqn}\0${lun.lun}`);
      if (lun.sizeBytes % lun.blockSizeBytes !== 0) {
        report(
          [...lunPath, "sizeBytes"],
          `${lun.sizeBytes} is not a multiple of blockSizeBytes (${lun.blockSizeBytes})`,
        );
      }
      if (lun.sizeBytes < MIN_LUN_SIZE_BYTES) {
        report([...lunPath, "sizeBytes"], `${lun.sizeBytes} is less than 1 MiB`);
      }
      claim("image file", lun.path, [...lunPath, "path"]);
      if (firstOfItsName) {
        claim("naaId", lun.naaId, [...lunPath, "naaId"]);
        claim("serial", lun.serial, [...lunPath, "serial"]);
      }
    });
  });
  return problems;
}

function listenersOverlap(a: PortalConfig, b: PortalConfig): boolean {
  const wildcard = (address: string) => address === "0.0.0.0" || address === "::";
  const sameAddress = a.address === b.address || wildcard(a.address) || wildcard(b.address);
  return a.port === b.port && sameAddress;
}

/** Messages for the generic zod issues; schemas set their own for everything else. */
function formatIssue(issue: z.core.$ZodIssue): string[] {
  return formatZodIssue(issue, [], "config");
}

function formatPath(path: IssuePath): string {
  return formatFieldPath(path, "config");
}
