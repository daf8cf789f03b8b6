// Rules on the links: bandwidth for the IOPS, sync bandwidth and latency, and what may share
// a physical port.

import type { LinkRole } from "./plan-schema.ts";
import type { Rule } from "./rule.ts";
import { ISCSI_NETWORK_FOR_IOPS, SYNC_LATENCY_MS_MAX } from "./sizing.ts";
import {
  linksOfNode,
  linksWithRole,
  physicalPorts,
  portLabel,
  totalGbps,
} from "./topology.ts";
import { formatCount, formatDecimal } from "./number-format.ts";

export const iscsiBandwidthForIops: Rule = {
  id: "network.iops-bandwidth",
  severity: "error",
  summary:
    "each node's iSCSI links carry targetIops at 4 KiB: up to 26,000 one 1 GbE, 48,000 two " +
    "1 GbE (MPIO), 250,000 10 GbE, 480,000 two 10 GbE (MPIO), above that 40/56 GbE",
  check(plan) {
    const { targetIops } = plan;
    if (targetIops === undefined) return [];
    const tier = ISCSI_NETWORK_FOR_IOPS.find((candidate) => targetIops <= candidate.iopsMax);
    if (!tier) throw new Error("bug: the last IOPS tier must be unbounded");
    return plan.nodes.flatMap((node) => {
      const haveGbps = totalGbps(linksOfNode(plan, node.name, "iscsi"));
      if (haveGbps >= tier.bandwidthGbps) return [];
      return [
        {
          subject: node.name,
          message:
            `iSCSI links give ${formatDecimal(haveGbps)} Gbps, but ${formatCount(targetIops)} ` +
            `IOPS at 4 KiB need ${tier.label} (${tier.bandwidthGbps} Gbps): add iSCSI links ` +
            "(MPIO, not teaming) or faster NICs",
        },
      ];
    });
  },
};

export const syncBandwidth: Rule = {
  id: "sync.bandwidth",
  severity: "error",
  summary: "each node's sync links give at least the sum of all client iSCSI links",
  check(plan) {
    const clientGbps = totalGbps(linksWithRole(plan, "iscsi"));
    return plan.nodes.flatMap((node) => {
      const syncGbps = totalGbps(linksOfNode(plan, node.name, "sync"));
      if (syncGbps >= clientGbps) return [];
      return [
        {
          subject: node.name,
          message:
            `sync links give ${formatDecimal(syncGbps)} Gbps, less than the ` +
            `${formatDecimal(clientGbps)} Gbps of the cluster's iSCSI links: every write is ` +
            "mirrored over sync, so add sync links or use faster NICs for sync",
        },
      ];
    });
  },
};

export const syncLatency: Rule = {
  id: "sync.latency",
  severity: "error",
  summary: `sync round-trip time at most ${SYNC_LATENCY_MS_MAX} ms`,
  check(plan) {
    return linksWithRole(plan, "sync").flatMap((link) => {
      if (link.latencyMs === undefined || link.latencyMs <= SYNC_LATENCY_MS_MAX) return [];
      return [
        {
          subject: link.id,
          message:
            `round-trip time ${formatDecimal(link.latencyMs)} ms exceeds ` +
            `${SYNC_LATENCY_MS_MAX} ms and adds to every write: put the nodes on a direct or ` +
            "same-site link",
        },
      ];
    });
  },
};

export const noTeaming: Rule = {
  id: "network.no-teaming",
  severity: "error",
  summary: "no NIC teaming (bonding, LBFO, LACP) on iSCSI, sync or heartbeat links",
  check(plan) {
    return plan.links.flatMap((link) => {
      const storageRoles = link.roles.filter((role) => role !== "management");
      if (link.team === undefined || storageRoles.length === 0) return [];
      return [
        {
          subject: link.id,
          message:
            `${storageRoles.join("/")} link is in team "${link.team}": break the team and ` +
            "give each port its own address (MPIO for iSCSI, one sync channel per port)",
        },
      ];
    });
  },
};

const ROLES_APART_FROM_SYNC: readonly LinkRole[] = ["iscsi", "heartbeat"];

export const syncPortDedicated: Rule = {
  id: "network.sync-dedicated",
  severity: "error",
  summary: "iSCSI and heartbeat never share a physical port with sync",
  check(plan) {
    return physicalPorts(plan).flatMap(({ port, links, roles }) => {
      const sharing = ROLES_APART_FROM_SYNC.filter((role) => roles.has(role));
      if (!roles.has("sync") || sharing.length === 0) return [];
      return [
        {
          subject: portLabel(port),
          message:
            `sync shares the port with ${sharing.join(" and ")} ` +
            `(${links.length === 1 ? "link" : "links"} ${links.map((link) => link.id).join(", ")}` +
            "): move sync to a port of its own",
        },
      ];
    });
  },
};

export const heartbeatPath: Rule = {
  id: "network.heartbeat-path",
  severity: "error",
  summary: "every node has heartbeat on at least one port that does not carry sync",
  check(plan) {
    const ports = physicalPorts(plan);
    return plan.nodes.flatMap((node) => {
      const hasPath = ports.some(
        ({ port, roles }) =>
          port.node === node.name && roles.has("heartbeat") && !roles.has("sync"),
      );
      if (hasPath) return [];
      return [
        {
          subject: node.name,
          message:
            "no heartbeat outside the sync links: add the heartbeat role to an iSCSI or " +
            "management link, so a lost sync link is not taken for a dead partner",
        },
      ];
    });
  },
};

export const NETWORK_RULES: readonly Rule[] = [
  iscsiBandwidthForIops,
  syncBandwidth,
  syncLatency,
  noTeaming,
  syncPortDedicated,
  heartbeatPath,
];
