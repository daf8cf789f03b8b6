// Rules on the arrays, the devices' RAM cache and the disk journal.

import {
  findArray,
  type ClusterPlan,
  type PlannedArray,
  type PlannedNode,
} from "./cluster-plan.ts";
import type { Rule } from "./rule.ts";
import {
  DEVICE_CACHE_SIZE_BYTES_MIN,
  IO_SIZE_BYTES,
  JOURNAL_BYTES_PER_DEVICE_BYTE_PER_PARTNER,
  PARITY_RAID_LEVELS,
  STRIPE_SIZE_BYTES,
} from "./sizing.ts";
import { formatBytes, formatCount, formatDecimal } from "./number-format.ts";

/** A rule about one array at a time, on every node. */
function arrayRule(
  rule: Omit<Rule, "check">,
  problemOf: (array: PlannedArray) => string | undefined,
): Rule {
  return {
    ...rule,
    check: (plan) =>
      plan.nodes.flatMap((node) =>
        node.storage.flatMap((array) => {
          const message = problemOf(array);
          return message === undefined ? [] : [{ subject: `${node.name}/${array.id}`, message }];
        }),
      ),
  };
}

export const raidWriteBackCache = arrayRule(
  {
    id: "raid.write-back-cache",
    severity: "warning",
    summary: "a hardware RAID controller caches writes (write-back)",
  },
  (array) =>
    array.controller === "hardware" && array.controllerCache !== "write-back"
      ? `controller cache is ${array.controllerCache}: enable write-back (with a BBU)`
      : undefined,
);

export const raidBbu = arrayRule(
  {
    id: "raid.bbu",
    severity: "error",
    summary: "a write-back controller cache is protected by a battery or flash backup unit",
  },
  (array) =>
    array.controllerCache === "write-back" && !array.bbu
      ? "write-back controller cache without a BBU loses acknowledged writes on power loss: " +
        "fit a battery or flash backup unit"
      : undefined,
);

export const raidParityOnFlashOnly = arrayRule(
  {
    id: "raid.parity-flash-only",
    severity: "warning",
    summary: "RAID 5, 50, 6 and 60 only on all-flash (SSD or NVMe) arrays",
  },
  (array) =>
    PARITY_RAID_LEVELS.has(array.level) && array.diskKind === "hdd"
      ? `RAID ${array.level} of HDDs pays the parity write penalty on every random write: ` +
        "use RAID 10 for HDDs"
      : undefined,
);

export const raidNoSoftware = arrayRule(
  {
    id: "raid.no-software",
    severity: "error",
    summary: "no software RAID (md, Storage Spaces, ZFS) under twinsan devices",
  },
  (array) =>
    array.controller === "software"
      ? `software RAID ${array.level}: use a hardware RAID controller with a write-back cache`
      : undefined,
);

export const raidStripeSize = arrayRule(
  {
    id: "raid.stripe-size",
    severity: "warning",
    summary: `RAID stripe size ${formatBytes(STRIPE_SIZE_BYTES)}`,
  },
  (array) =>
    array.stripeSizeBytes !== undefined && array.stripeSizeBytes !== STRIPE_SIZE_BYTES
      ? `stripe size ${formatBytes(array.stripeSizeBytes)}: recreate the array with ` +
        formatBytes(STRIPE_SIZE_BYTES)
      : undefined,
);

export const deviceCacheSize: Rule = {
  id: "cache.min-size",
  severity: "warning",
  summary: `a device's RAM cache is at least ${formatBytes(DEVICE_CACHE_SIZE_BYTES_MIN)}`,
  check(plan) {
    return plan.devices.flatMap(({ id, cache }) =>
      cache && cache.sizeBytes < DEVICE_CACHE_SIZE_BYTES_MIN
        ? [
            {
              subject: id,
              message:
                `${cache.mode} cache of ${formatBytes(cache.sizeBytes)}: give it at least ` +
                formatBytes(DEVICE_CACHE_SIZE_BYTES_MIN),
            },
          ]
        : [],
    );
  },
};

export const cacheFlushTime: Rule = {
  id: "cache.flush-time",
  severity: "warning",
  summary:
    "write-back cache / array random 4 KiB write rate (the shutdown flush time) fits in the " +
    "UPS runtime",
  check(plan) {
    const { upsRuntimeSeconds } = plan;
    if (upsRuntimeSeconds === undefined) return [];
    return plan.nodes.flatMap((node) =>
      node.storage.flatMap((array) => {
        const cacheBytes = writeBackCacheBytesOn(plan, array.id);
        const flushSeconds = cacheBytes / (array.randomWrite4KiBIops * IO_SIZE_BYTES);
        if (flushSeconds <= upsRuntimeSeconds) return [];
        return [
          {
            subject: `${node.name}/${array.id}`,
            message:
              `flushing ${formatBytes(cacheBytes)} of write-back cache at ` +
              `${formatCount(array.randomWrite4KiBIops)} IOPS takes ` +
              `${formatDecimal(flushSeconds)} s, more than the ${upsRuntimeSeconds} s of UPS: ` +
              "shrink the write-back cache, use a faster array or a longer-running UPS",
          },
        ];
      }),
    );
  },
};

function writeBackCacheBytesOn(plan: ClusterPlan, arrayId: string): number {
  return plan.devices
    .filter((device) => device.storage === arrayId && device.cache?.mode === "write-back")
    .reduce((sum, device) => sum + (device.cache?.sizeBytes ?? 0), 0);
}

export const journalSize: Rule = {
  id: "journal.size",
  severity: "warning",
  summary: "disk journal of 2 MiB per TiB of device per partner (2-way: 2, 3-way: 4 MiB/TiB)",
  check(plan) {
    const partners = plan.nodes.length - 1;
    return plan.devices.flatMap(({ id, sizeBytes, journal }) => {
      if (!journal) return [];
      const neededBytes = Math.ceil(
        sizeBytes * JOURNAL_BYTES_PER_DEVICE_BYTE_PER_PARTNER * partners,
      );
      if (journal.sizeBytes >= neededBytes) return [];
      return [
        {
          subject: id,
          message:
            `journal of ${formatBytes(journal.sizeBytes)} is too small for ` +
            `${formatBytes(sizeBytes)} mirrored to ${partners} partner(s): make it at least ` +
            formatBytes(neededBytes),
        },
      ];
    });
  },
};

export const journalPlacement: Rule = {
  id: "journal.placement",
  severity: "warning",
  summary: "the disk journal is on a separate array, faster than the device's",
  check(plan) {
    return plan.devices.flatMap((device) => {
      const { journal } = device;
      if (!journal) return [];
      return plan.nodes.flatMap((node) =>
        journalPlacementProblem(node, device.storage, journal.storage).map((message) => ({
          subject: `${node.name}/${device.id}`,
          message,
        })),
      );
    });
  },
};

function journalPlacementProblem(
  node: PlannedNode,
  dataArrayId: string,
  journalArrayId: string,
): string[] {
  if (journalArrayId === dataArrayId) {
    return [`journal is on the device's own array "${dataArrayId}": move it to a faster disk`];
  }
  const dataIops = findArray(node, dataArrayId).randomWrite4KiBIops;
  const journalIops = findArray(node, journalArrayId).randomWrite4KiBIops;
  if (journalIops > dataIops) return [];
  return [
    `journal array "${journalArrayId}" (${formatCount(journalIops)} IOPS) is not faster than ` +
      `the device's array "${dataArrayId}" (${formatCount(dataIops)} IOPS): use an SSD or NVMe`,
  ];
}

export const STORAGE_RULES: readonly Rule[] = [
  raidWriteBackCache,
  raidBbu,
  raidParityOnFlashOnly,
  raidNoSoftware,
  raidStripeSize,
  deviceCacheSize,
  cacheFlushTime,
  journalSize,
  journalPlacement,
];
