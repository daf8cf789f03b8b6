// Builds the JSON config file a test node is started with. The shape is the one documented in
// docs/CONTRACTS.md (TwinsanConfig); it is restated here because the file is a boundary the
// tests exercise from outside, exactly as an operator would write it.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { LOOPBACK_HOST } from "../../bench/lib/loopback.ts";

export interface ChapConfigFile {
  username: string;
  secret: string;
  mutual?: { username: string; secret: string };
}

export interface PortalConfigFile {
  id: string;
  address: string;
  port: number;
  portalGroupTag: number;
  relativeTargetPortId: number;
}

export interface LunConfigFile {
  lun: number;
  path: string;
  sizeBytes: number;
  blockSizeBytes: 512 | 4096;
  serial: string;
  naaId: string;
  vendorId: string;
  productId: string;
  productRevision: string;
  provisioning: "thick" | "thin";
  cache: { mode: "write-back" | "write-through" | "none"; sizeMB: number };
}

export interface TargetConfigFile {
  iqn: string;
  alias?: string;
  portals: string[];
  allowedInitiators: string[];
  chap?: ChapConfigFile;
  luns: LunConfigFile[];
}

export interface TwinsanConfigFile {
  node: { name: string; dataDir: string };
  portals: PortalConfigFile[];
  targetPortGroupId: number;
  iscsi: { nopInIntervalMs: number; nopInTimeoutMs: number };
  discovery: { chap?: ChapConfigFile };
  targets: TargetConfigFile[];
}

/** What a test asks for: one LUN of a target. */
export interface LunSpec {
  lun: number;
  sizeBytes: number;
  blockSizeBytes: 512 | 4096;
  provisioning?: "thick" | "thin";
  cache?: LunConfigFile["cache"];
}

/** A target of the node: `name` becomes the last part of its IQN. */
export interface TargetSpec {
  name: string;
  luns: LunSpec[];
  chap?: ChapConfigFile;
}

export interface NodeSpec {
  nodeName: string;
  dataDir: string;
  portalPorts: number[];
  targets: TargetSpec[];
  extraConfig?: Partial<TwinsanConfigFile>; // replaces whole top-level sections
}

export const IQN_PREFIX = "iqn.2025-01.test.twinsan";
export const LUN_VENDOR_ID = "TWINSAN";

export function targetIqn(nodeName: string, targetName: string): string {
  return `${IQN_PREFIX}:${nodeName}.${targetName}`;
}

export function buildConfig(spec: NodeSpec): TwinsanConfigFile {
  const portals = spec.portalPorts.map((port, index) => ({
    id: `portal${index}`,
    address: LOOPBACK_HOST,
    port,
    portalGroupTag: 1,
    relativeTargetPortId: index + 1,
  }));
  const targets = spec.targets.map((target) => ({
    iqn: targetIqn(spec.nodeName, target.name),
    portals: portals.map((portal) => portal.id),
    allowedInitiators: [],
    ...(target.chap ? { chap: target.chap } : {}),
    luns: target.luns.map((lun) => buildLun(spec.dataDir, target.name, lun)),
  }));
  return {
    node: { name: spec.nodeName, dataDir: spec.dataDir },
    portals,
    targetPortGroupId: 1,
    iscsi: { nopInIntervalMs: 5_000, nopInTimeoutMs: 15_000 },
    discovery: {},
    targets,
    ...spec.extraConfig,
  };
}

function buildLun(dataDir: string, targetName: string, lun: LunSpec): LunConfigFile {
  const unique = randomBytes(16).toString("hex");
  return {
    ...lun,
    path: join(dataDir, `${targetName}-lun${lun.lun}.img`),
    serial: unique.slice(0, 16),
    naaId: `6${unique.slice(1)}`,
    vendorId: LUN_VENDOR_ID,
    productId: "test-lun",
    productRevision: "0001",
    provisioning: lun.provisioning ?? "thick",
    cache: lun.cache ?? { mode: "write-back", sizeMB: 64 },
  };
}
