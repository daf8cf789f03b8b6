// The schemas of the hardware profiles in hardware/: NICs, RAID layouts and the logical sector
// size each initiator OS expects. A plan names a profile by its file name and may override fields.

import * as z from "zod";
import { identifier, integer, positiveNumber, sizeBytes } from "./data-file.ts";

export const nicProfileSchema = z.strictObject({
  description: z.string().optional(),
  speedGbps: positiveNumber(),
  ports: integer(1, 16),
  rdmaCapable: z.boolean(),
});

export type NicProfile = z.output<typeof nicProfileSchema>;

export const RAID_LEVELS = ["single", "0", "1", "10", "5", "50", "6", "60"] as const;
export type RaidLevel = (typeof RAID_LEVELS)[number];
export const DISK_KINDS = ["hdd", "ssd", "nvme"] as const;
export type DiskKind = (typeof DISK_KINDS)[number];

const STRIPED_LEVELS: ReadonlySet<RaidLevel> = new Set(["0", "10", "5", "50", "6", "60"]);

export const raidLayoutSchema = z
  .strictObject({
    description: z.string().optional(),
    level: z.enum(RAID_LEVELS, { error: `must be one of ${RAID_LEVELS.join(", ")}` }),
    diskKind: z.enum(DISK_KINDS, { error: `must be one of ${DISK_KINDS.join(", ")}` }),
    diskCount: integer(1, 1024),
    /** "none": one disk on an HBA or NVMe slot, no RAID. */
    controller: z.enum(["hardware", "software", "none"]),
    controllerCache: z.enum(["write-back", "write-through", "none"]),
    /** A battery or flash backup unit protects the controller cache on power loss. */
    bbu: z.boolean(),
    stripeSizeBytes: sizeBytes.optional(),
    randomWrite4KiBIops: positiveNumber(),
    sequentialWriteMBps: positiveNumber(),
  })
  .superRefine((layout, ctx) => {
    const problem = (path: string, message: string) =>
      ctx.addIssue({ code: "custom", path: [path], message });
    if (layout.controller === "none" && layout.level !== "single") {
      problem("controller", `RAID ${layout.level} needs a "hardware" or "software" controller`);
    }
    if (layout.controller !== "hardware" && layout.controllerCache !== "none") {
      problem("controllerCache", 'only a "hardware" controller has a cache');
    }
    if (STRIPED_LEVELS.has(layout.level) && layout.stripeSizeBytes === undefined) {
      problem("stripeSizeBytes", `is required for RAID ${layout.level}`);
    }
  });

export type RaidLayout = z.output<typeof raidLayoutSchema>;

export const sectorSizeProfilesSchema = z.record(
  identifier,
  z.strictObject({
    sectorSizeBytes: z.literal([512, 4096], { error: "must be 512 or 4096" }),
    note: z.string(),
  }),
);

export type SectorSizeProfile = z.output<typeof sectorSizeProfilesSchema>[string];
