// Turns a plan file into a ClusterPlan: profiles merged with their overrides, every reference
// (profile, node, NIC, port, array, initiator OS) checked, problems named by their field path.

import type * as z from "zod";
import type { HardwareCatalog } from "./catalog.ts";
import type {
  ClusterPlan,
  NodePort,
  PlannedDevice,
  PlannedLink,
  PlannedNode,
} from "./cluster-plan.ts";
import { IssueList, parseWith, readJsonFile, type FieldPath } from "./data-file.ts";
import { planFileSchema, type PlanFile, type ProfiledEntry } from "./plan-schema.ts";
import { nicProfileSchema, raidLayoutSchema } from "./profile-schema.ts";

export async function loadPlan(path: string, catalog: HardwareCatalog): Promise<ClusterPlan> {
  return resolvePlan(await readJsonFile(path), catalog, path);
}

/** Throws DataFileError listing every problem of the plan `value` read from `source`. */
export function resolvePlan(
  value: unknown,
  catalog: HardwareCatalog,
  source: string,
): ClusterPlan {
  const file = parseWith(planFileSchema, value, source);
  const issues = new IssueList();
  const nodes = file.nodes.map((node, index) => resolveNode(node, index, catalog, issues));
  reportDuplicates(file.nodes, (node) => node.name, ["nodes"], "name", issues);
  const links = file.links.map((link, index) => resolveLink(link, index, nodes, issues));
  reportDuplicates(file.links, (link) => link.id, ["links"], "id", issues);
  const devices = file.devices.map((device, index) =>
    resolveDevice(file, index, nodes, catalog, issues),
  );
  reportDuplicates(file.devices, (device) => device.id, ["devices"], "id", issues);
  issues.throwIfAny(source);
  return {
    name: file.name,
    targetIops: file.targetIops,
    upsRuntimeSeconds: file.upsRuntimeSeconds,
    nodes,
    links,
    devices,
  };
}

function resolveNode(
  node: PlanFile["nodes"][number],
  index: number,
  catalog: HardwareCatalog,
  issues: IssueList,
): PlannedNode {
  const path = ["nodes", index];
  const nics = node.nics.map((entry, n) => ({
    id: entry.id,
    ...resolveProfiled(entry, catalog.nics, nicProfileSchema, [...path, "nics", n], issues),
  }));
  const storage = node.storage.map((entry, s) => ({
    id: entry.id,
    ...resolveProfiled(
      entry,
      catalog.raidLayouts,
      raidLayoutSchema,
      [...path, "storage", s],
      issues,
    ),
  }));
  reportDuplicates(node.nics, (nic) => nic.id, [...path, "nics"], "id", issues);
  reportDuplicates(node.storage, (array) => array.id, [...path, "storage"], "id", issues);
  return { name: node.name, twinsanVersion: node.twinsanVersion, nics, storage };
}

/** The profile named by `entry.profile` with the entry's other fields laid over it. */
function resolveProfiled<Schema extends z.ZodType>(
  entry: ProfiledEntry,
  profiles: ReadonlyMap<string, z.output<Schema>>,
  schema: Schema,
  path: FieldPath,
  issues: IssueList,
): z.output<Schema> {
  const { id: _id, profile, ...overrides } = entry;
  const base = profile === undefined ? {} : profiles.get(profile);
  if (base === undefined) {
    const known = [...profiles.keys()].join(", ");
    issues.add([...path, "profile"], `no profile "${profile}" in the catalog (known: ${known})`);
    return {} as z.output<Schema>; // the plan is refused, so the empty entry is never read
  }
  return issues.check(schema, { ...base, ...overrides }, path) ?? ({} as z.output<Schema>);
}

function resolveLink(
  link: PlanFile["links"][number],
  index: number,
  nodes: PlannedNode[],
  issues: IssueList,
): PlannedLink {
  const nodePorts: NodePort[] = [];
  const speedsGbps: number[] = [];
  link.ends.forEach((end, e) => {
    const found = findNodePort(end, ["links", index, "ends", e], nodes, issues);
    if (!found) return;
    nodePorts.push(found.port);
    speedsGbps.push(found.speedGbps);
  });
  if (!link.ends.some((end) => end.node !== undefined)) {
    issues.add(["links", index, "ends"], "must have an end on a cluster node");
  }
  return {
    id: link.id,
    roles: [...new Set(link.roles)],
    nodePorts,
    speedGbps: link.speedGbps ?? Math.min(...speedsGbps),
    latencyMs: link.latencyMs,
    team: link.team,
  };
}

/** The node port `end` names, if it names one that exists. */
function findNodePort(
  end: PlanFile["links"][number]["ends"][number],
  path: FieldPath,
  nodes: PlannedNode[],
  issues: IssueList,
): { port: NodePort; speedGbps: number } | undefined {
  if (end.node === undefined || end.nic === undefined) return undefined;
  const node = nodes.find((candidate) => candidate.name === end.node);
  if (!node) {
    issues.add([...path, "node"], `no node is named "${end.node}"`);
    return undefined;
  }
  const nic = node.nics.find((candidate) => candidate.id === end.nic);
  if (!nic) {
    issues.add([...path, "nic"], `node ${node.name} has no NIC "${end.nic}"`);
    return undefined;
  }
  const port = end.port ?? 0;
  if (port >= nic.ports) {
    issues.add([...path, "port"], `NIC ${nic.id} has ports 0 to ${nic.ports - 1}`);
    return undefined;
  }
  return { port: { node: node.name, nic: nic.id, port }, speedGbps: nic.speedGbps };
}

function resolveDevice(
  file: PlanFile,
  index: number,
  nodes: PlannedNode[],
  catalog: HardwareCatalog,
  issues: IssueList,
): PlannedDevice {
  const device = file.devices[index];
  const path = ["devices", index];
  const initiatorOs = device.initiatorOs ?? file.initiatorOs;
  const sectorProfile = catalog.sectorSizes.get(initiatorOs);
  if (!sectorProfile) {
    const known = [...catalog.sectorSizes.keys()].join(", ");
    const osPath = device.initiatorOs === undefined ? ["initiatorOs"] : [...path, "initiatorOs"];
    issues.add(osPath, `no sector-size profile for "${initiatorOs}" (known: ${known})`);
  }
  const arrayPaths: [string, FieldPath][] = [[device.storage, [...path, "storage"]]];
  if (device.journal) arrayPaths.push([device.journal.storage, [...path, "journal", "storage"]]);
  for (const [arrayId, arrayPath] of arrayPaths) {
    for (const node of nodes) {
      if (node.storage.some((array) => array.id === arrayId)) continue;
      issues.add(arrayPath, `node ${node.name} has no array "${arrayId}" (arrays are per node)`);
    }
  }
  return {
    id: device.id,
    sizeBytes: device.sizeBytes,
    sectorSizeBytes: device.sectorSizeBytes,
    initiatorOs,
    initiatorSectorSizeBytes: sectorProfile?.sectorSizeBytes ?? device.sectorSizeBytes,
    storage: device.storage,
    cache: device.cache,
    journal: device.journal,
  };
}

function reportDuplicates<T>(
  items: T[],
  keyOf: (item: T) => string,
  path: FieldPath,
  field: string,
  issues: IssueList,
): void {
  items.forEach((item, index) => {
    const key = keyOf(item);
    if (items.findIndex((other) => keyOf(other) === key) !== index) {
      issues.add([...path, index, field], `duplicate ${field} "${key}"`);
    }
  });
}
