// `twinsan plan --probe`: measures this host (partner RTTs, disk write rate) and lays the
// measurements over a plan, so that the rules judge what was measured.

import type { ClusterPlan, PlannedNode } from "./cluster-plan.ts";
import { measureRandomWriteRate, type DiskWriteRate } from "./probe-disk.ts";
import { measureConnectRttMs, median, type PartnerAddress } from "./probe-rtt.ts";

export interface PartnerRtt {
  partner: string;
  rttMsMedian: number;
  samplesMs: number[];
}

export interface Measurements {
  partners: PartnerRtt[];
  disk?: DiskWriteRate;
}

export interface ProbeRequest {
  partners: PartnerAddress[];
  diskPath?: string;
  rttSamples: number;
  rttTimeoutMs: number;
  diskDurationMs: number;
}

export async function probeHost(request: ProbeRequest): Promise<Measurements> {
  const partners: PartnerRtt[] = [];
  for (const address of request.partners) {
    const samplesMs = await measureConnectRttMs(address, request.rttSamples, request.rttTimeoutMs);
    partners.push({
      partner: `${address.host}:${address.port}`,
      rttMsMedian: median(samplesMs),
      samplesMs,
    });
  }
  const disk =
    request.diskPath === undefined
      ? undefined
      : await measureRandomWriteRate(request.diskPath, request.diskDurationMs);
  return { partners, disk };
}

/**
 * `plan` with the measurements of the host that is node `nodeName` (every node when undefined:
 * nodes of a cluster are usually alike): the slowest partner RTT becomes the latency of the
 * node's sync links, the disk rate the write rate of the arrays that hold devices.
 */
export function applyMeasurements(
  plan: ClusterPlan,
  measurements: Measurements,
  nodeName?: string,
): ClusterPlan {
  if (nodeName !== undefined && !plan.nodes.some((node) => node.name === nodeName)) {
    throw new Error(`the plan has no node "${nodeName}" (--node)`);
  }
  const isProbed = (name: string) => nodeName === undefined || name === nodeName;
  const rttsMs = measurements.partners.map((partner) => partner.rttMsMedian);
  const syncLatencyMs = rttsMs.length > 0 ? Math.max(...rttsMs) : undefined;
  const links = plan.links.map((link) => {
    const isProbedSync =
      link.roles.includes("sync") && link.nodePorts.some((port) => isProbed(port.node));
    return syncLatencyMs !== undefined && isProbedSync
      ? { ...link, latencyMs: syncLatencyMs }
      : link;
  });
  const diskIops = measurements.disk?.randomWrite4KiBIops;
  const dataArrayIds = new Set(plan.devices.map((device) => device.storage));
  const nodes = plan.nodes.map((node): PlannedNode => {
    if (diskIops === undefined || !isProbed(node.name)) return node;
    const storage = node.storage.map((array) =>
      dataArrayIds.has(array.id) ? { ...array, randomWrite4KiBIops: diskIops } : array,
    );
    return { ...node, storage };
  });
  return { ...plan, links, nodes };
}
