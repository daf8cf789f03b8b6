// The numbers behind the rules, from the storage-host best-practice guides twinsan follows.

import type { RaidLevel } from "./profile-schema.ts";

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const TiB = 1024 * 1024 * MiB;

/** The I/O size of every IOPS figure in profiles and plans. */
export const IO_SIZE_BYTES = 4 * KiB;

export interface IscsiNetworkTier {
  iopsMax: number;
  /** The network, as the guide names it. */
  label: string;
  bandwidthGbps: number;
}

/** Random 4 KiB IOPS -> the iSCSI network each node needs; first tier that holds the IOPS. */
export const ISCSI_NETWORK_FOR_IOPS: readonly IscsiNetworkTier[] = [
  { iopsMax: 26_000, label: "one 1 GbE link", bandwidthGbps: 1 },
  { iopsMax: 48_000, label: "two 1 GbE links with MPIO", bandwidthGbps: 2 },
  { iopsMax: 250_000, label: "one 10 GbE link", bandwidthGbps: 10 },
  { iopsMax: 480_000, label: "two 10 GbE links with MPIO", bandwidthGbps: 20 },
  { iopsMax: Infinity, label: "a 40 or 56 GbE link", bandwidthGbps: 40 },
];

export const SYNC_LATENCY_MS_MAX = 5;
export const STRIPE_SIZE_BYTES = 64 * KiB;
export const PARITY_RAID_LEVELS: ReadonlySet<RaidLevel> = new Set(["5", "50", "6", "60"]);
export const DEVICE_CACHE_SIZE_BYTES_MIN = 128 * MiB;

/** Disk journal per partner node: 2 MiB per TiB of device (so 4 MiB per TiB when 3-way). */
export const JOURNAL_BYTES_PER_DEVICE_BYTE_PER_PARTNER = (2 * MiB) / TiB;
