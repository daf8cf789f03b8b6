// What the iSCSI layer knows about the targets and portals of this node.
import type { ChapConfig, PortalConfig, TargetConfig } from "../mgmt/config.ts";
import type { ScsiTargetDevice } from "../scsi/target-device.ts";
import type { Session } from "./session.ts";

export interface TargetRuntime {
  readonly config: TargetConfig;
  readonly scsi: ScsiTargetDevice;
  readonly sessions: Set<Session>;
}

export interface IscsiNodeContext {
  readonly targets: Map<string, TargetRuntime>;
  readonly portals: readonly PortalConfig[];
  readonly targetPortGroupId: number;
  readonly discoveryChap: ChapConfig | undefined;
  readonly nopInIntervalMs: number;
  readonly nopInTimeoutMs: number;
  /** Discovery and normal sessions alive on this node, for reinstatement and shutdown. */
  readonly sessions: Set<Session>;
  allocateTsih(): number;
}
