// One iSCSI session: its identity, its I_T nexus, the CmdSN window and the task table.
// MaxConnections is 1, so a session has one connection; state that belongs to the session
// (not to the wire) lives here so that multi-connection sessions can come later.
import type { ItNexus } from "../scsi/types.ts";
import { CommandWindow } from "./command-window.ts";
import type { TargetRuntime } from "./target-runtime.ts";
import type { WriteCollector } from "./write-collector.ts";
import type { ScsiCommandPdu } from "./pdu-types.ts";

export const COMMAND_WINDOW_DEPTH = 128;

export type SessionType = "Discovery" | "Normal";

export interface SessionIdentity {
  type: SessionType;
  initiatorName: string;
  isid: Buffer;
  tsih: number;
  portalGroupTag: number;
  relativeTargetPortId: number;
}

export interface IscsiTask {
  readonly itt: number;
  readonly command: ScsiCommandPdu;
  collector: WriteCollector | null;
  aborted: boolean;
  /** Settles when the SCSI layer has finished with the task (response sent or suppressed). */
  execution: Promise<void> | null;
}

export class Session {
  readonly window: CommandWindow;
  readonly tasks = new Map<number, IscsiTask>();
  readonly nexus: ItNexus | null;
  private closeHandlers: Array<(graceful: boolean) => void> = [];

  constructor(
    readonly identity: SessionIdentity,
    readonly target: TargetRuntime | null,
    firstCmdSN: number,
    targetPortGroupId: number,
  ) {
    this.window = new CommandWindow(firstCmdSN, COMMAND_WINDOW_DEPTH);
    this.nexus = target === null ? null : {
      initiatorPortName: initiatorPortName(identity.initiatorName, identity.isid),
      targetPortName: `${target.config.iqn},t,0x${hex16(identity.portalGroupTag)}`,
      relativeTargetPortId: identity.relativeTargetPortId,
      targetPortGroupId,
    };
  }

  /** Same initiator port and target: a new login with TSIH 0 reinstates (replaces) us. */
  sameInitiatorPort(initiatorName: string, isid: Buffer, target: TargetRuntime | null): boolean {
    return this.identity.initiatorName === initiatorName && this.identity.isid.equals(isid) &&
      this.target === target;
  }

  onClose(handler: (graceful: boolean) => void): void {
    this.closeHandlers.push(handler);
  }

  /**
   * Ends the session: every task is marked aborted and the owner closes the connection, at once
   * or (graceful) after what is queued for the initiator has been written.
   */
  close(graceful = false): void {
    for (const task of this.tasks.values()) task.aborted = true;
    this.tasks.clear();
    const handlers = this.closeHandlers;
    this.closeHandlers = [];
    for (const handler of handlers) handler(graceful);
  }
}

export function initiatorPortName(initiatorName: string, isid: Buffer): string {
  return `${initiatorName},i,0x${isid.toString("hex")}`;
}

function hex16(value: number): string {
  return value.toString(16).padStart(4, "0");
}
