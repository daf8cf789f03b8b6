// The schema of a cluster plan file (JSON): nodes with their NICs and storage arrays, the links
// between them, and the mirrored devices. Profile references are checked in resolve-plan.ts.

import * as z from "zod";
import { identifier, integer, positiveNumber, sizeBytes } from "./data-file.ts";

export const LINK_ROLES = ["sync", "iscsi", "heartbeat", "management"] as const;
export type LinkRole = (typeof LINK_ROLES)[number];

/** A NIC or an array: a profile id and fields that override it, or every field inline. */
const profiledEntry = z.looseObject({ id: identifier, profile: identifier.optional() });

const nodeSchema = z.strictObject({
  name: identifier,
  twinsanVersion: z.string().min(1).optional(),
  nics: z.array(profiledEntry).min(1, { error: "must list at least one NIC" }),
  storage: z.array(profiledEntry).min(1, { error: "must list at least one array" }),
});

/** One end of a link: a port of a node's NIC, or something outside the cluster. */
const linkEndSchema = z
  .strictObject({
    node: identifier.optional(),
    nic: identifier.optional(),
    port: integer(0, 15).optional(),
    /** A switch or client host; not checked. */
    external: z.string().min(1).optional(),
  })
  .superRefine((end, ctx) => {
    const hasNodeFields = [end.node, end.nic, end.port].some((field) => field !== undefined);
    const problem =
      hasNodeFields === (end.external !== undefined)
        ? 'must be either { "node", "nic", "port" } or { "external" }'
        : hasNodeFields && (end.node === undefined || end.nic === undefined)
          ? 'a node port needs "node" and "nic"'
          : undefined;
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

const linkSchema = z.strictObject({
  id: identifier,
  roles: z.array(z.enum(LINK_ROLES, { error: `must be one of ${LINK_ROLES.join(", ")}` })).min(1),
  ends: z.array(linkEndSchema).min(1).max(2, { error: "a link has at most two ends" }),
  /** Negotiated speed when below the NICs' (a 1 GbE switch port, say). */
  speedGbps: positiveNumber().optional(),
  /** Round-trip time over the link. */
  latencyMs: z.number().nonnegative().optional(),
  /** Name of the NIC team (bond, LBFO, LACP group) the link's ports belong to. */
  team: z.string().min(1).optional(),
});

const deviceSchema = z.strictObject({
  id: identifier,
  sizeBytes,
  sectorSizeBytes: z.literal([512, 4096], { error: "must be 512 or 4096" }),
  /** Overrides the plan's initiatorOs for this device. */
  initiatorOs: identifier.optional(),
  /** The array id, on every node, that holds the device's image. */
  storage: identifier,
  /** twinsan's RAM cache for the device, on every node. */
  cache: z
    .strictObject({ mode: z.enum(["write-back", "write-through"]), sizeBytes })
    .optional(),
  journal: z.strictObject({ storage: identifier, sizeBytes }).optional(),
});

export const planFileSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  initiatorOs: identifier,
  /** Random 4 KiB IOPS the clients need from the cluster. */
  targetIops: integer(1, 100_000_000).optional(),
  upsRuntimeSeconds: positiveNumber().optional(),
  nodes: z
    .array(nodeSchema)
    .min(2, { error: "must list 2 or 3 nodes" })
    .max(3, { error: "must list 2 or 3 nodes" }),
  links: z.array(linkSchema).min(1, { error: "must list at least one link" }),
  devices: z.array(deviceSchema).min(1, { error: "must list at least one device" }),
});

export type PlanFile = z.output<typeof planFileSchema>;
export type ProfiledEntry = z.output<typeof profiledEntry>;
