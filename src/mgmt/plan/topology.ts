// Views of a plan's network: which links a node has, and what shares a physical port.

import type { ClusterPlan, NodePort, PlannedLink } from "./cluster-plan.ts";
import type { LinkRole } from "./plan-schema.ts";

export interface PhysicalPort {
  port: NodePort;
  /** Every link the plan puts on this port (VLANs share a port). */
  links: PlannedLink[];
  roles: ReadonlySet<LinkRole>;
}

export function linksOfNode(plan: ClusterPlan, nodeName: string, role: LinkRole): PlannedLink[] {
  return plan.links.filter(
    (link) => link.roles.includes(role) && link.nodePorts.some((port) => port.node === nodeName),
  );
}

export function linksWithRole(plan: ClusterPlan, role: LinkRole): PlannedLink[] {
  return plan.links.filter((link) => link.roles.includes(role));
}

export function totalGbps(links: PlannedLink[]): number {
  return links.reduce((sum, link) => sum + link.speedGbps, 0);
}

export function portLabel(port: NodePort): string {
  return `${port.node}/${port.nic}:${port.port}`;
}

export function physicalPorts(plan: ClusterPlan): PhysicalPort[] {
  const byLabel = new Map<string, PhysicalPort>();
  for (const link of plan.links) {
    for (const port of link.nodePorts) {
      const label = portLabel(port);
      const physical = byLabel.get(label) ?? { port, links: [], roles: new Set() };
      physical.links.push(link);
      physical.roles = new Set([...physical.roles, ...link.roles]);
      byLabel.set(label, physical);
    }
  }
  return [...byLabel.values()];
}
