// A cluster plan with every profile merged in and every reference checked: what the rules read.

import type { NicProfile, RaidLayout } from "./profile-schema.ts";
import type { LinkRole } from "./plan-schema.ts";

export interface ClusterPlan {
  name: string;
  /** Random 4 KiB IOPS the clients need from the cluster. */
  targetIops?: number;
  upsRuntimeSeconds?: number;
  nodes: PlannedNode[];
  links: PlannedLink[];
  devices: PlannedDevice[];
}

export interface PlannedNode {
  name: string;
  twinsanVersion?: string;
  nics: PlannedNic[];
  storage: PlannedArray[];
}

export interface PlannedNic extends NicProfile {
  id: string;
}

export interface PlannedArray extends RaidLayout {
  id: string;
}

export interface NodePort {
  node: string;
  nic: string;
  port: number;
}

export interface PlannedLink {
  id: string;
  roles: LinkRole[];
  /** The ends on cluster nodes: one for a link to a switch or client, two for a direct cable. */
  nodePorts: NodePort[];
  speedGbps: number;
  latencyMs?: number;
  team?: string;
}

export interface PlannedDevice {
  id: string;
  sizeBytes: number;
  sectorSizeBytes: 512 | 4096;
  initiatorOs: string;
  /** What the initiator OS expects, from hardware/sector-sizes.json. */
  initiatorSectorSizeBytes: 512 | 4096;
  storage: string;
  cache?: { mode: "write-back" | "write-through"; sizeBytes: number };
  journal?: { storage: string; sizeBytes: number };
}

export function findArray(node: PlannedNode, arrayId: string): PlannedArray {
  const array = node.storage.find((candidate) => candidate.id === arrayId);
  if (!array) throw new Error(`bug: node ${node.name} has no array "${arrayId}"`);
  return array;
}
