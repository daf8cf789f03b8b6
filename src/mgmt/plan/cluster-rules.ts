// Rules across the cluster: software versions and what the initiators expect of a LUN.

import type { Rule } from "./rule.ts";

export const sameVersion: Rule = {
  id: "cluster.same-version",
  severity: "error",
  summary: "the same twinsan version on every node",
  check(plan) {
    const versioned = plan.nodes.filter((node) => node.twinsanVersion !== undefined);
    const versions = new Set(versioned.map((node) => node.twinsanVersion));
    if (versions.size <= 1) return [];
    const list = versioned.map((node) => `${node.name} ${node.twinsanVersion}`).join(", ");
    return [
      {
        subject: "cluster",
        message: `nodes run different versions (${list}): upgrade them to one version`,
      },
    ];
  },
};

export const sectorSizeForInitiator: Rule = {
  id: "device.sector-size",
  severity: "warning",
  summary: "a device's sector size is the one its initiator OS expects (sector-sizes.json)",
  check(plan) {
    return plan.devices.flatMap((device) =>
      device.sectorSizeBytes === device.initiatorSectorSizeBytes
        ? []
        : [
            {
              subject: device.id,
              message:
                `${device.sectorSizeBytes} B sectors for ${device.initiatorOs} initiators: ` +
                `set sectorSizeBytes to ${device.initiatorSectorSizeBytes} (before the ` +
                "initiator formats it)",
            },
          ],
    );
  },
};

export const CLUSTER_RULES: readonly Rule[] = [sameVersion, sectorSizeForInitiator];
