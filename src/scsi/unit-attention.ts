// Unit attention conditions (SAM-5 5.14, SPC-4 5.14): one queue per I_T nexus, plain data so a
// partner node can restore them after failover.

import { type AdditionalSense, Asc, ASC_RESET_OCCURRED } from "./constants.ts";
import type { ItNexus } from "./types.ts";

/** Bound on queued conditions per nexus; further distinct ones are dropped. */
const MAX_PENDING_PER_NEXUS = 16;

export interface UnitAttentionSnapshot {
  pending: Array<{ nexus: string; conditions: AdditionalSense[] }>;
}

/** Which nexuses a condition goes to: all known ones, one, or all but one. */
export interface UnitAttentionScope {
  only?: string;
  except?: string;
}

export function nexusKeyOf(nexus: ItNexus): string {
  return `${nexus.initiatorPortName}|${nexus.targetPortName}`;
}

export class UnitAttentions {
  private readonly pendingByNexus = new Map<string, AdditionalSense[]>();

  /** A nexus seen for the first time starts with POWER ON, RESET, OR BUS DEVICE RESET. */
  admit(nexusKey: string): void {
    if (!this.pendingByNexus.has(nexusKey)) {
      this.pendingByNexus.set(nexusKey, [Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED]);
    }
  }

  /** Removes and returns the oldest pending condition of the nexus. */
  take(nexusKey: string): AdditionalSense | undefined {
    return this.pendingByNexus.get(nexusKey)?.shift();
  }

  establish(condition: AdditionalSense, scope: UnitAttentionScope = {}): void {
    for (const [nexusKey, pending] of this.pendingByNexus) {
      if (scope.only !== undefined && nexusKey !== scope.only) continue;
      if (nexusKey === scope.except) continue;
      // A reset supersedes whatever was pending: the initiator must rediscover state anyway.
      if (condition.asc === ASC_RESET_OCCURRED) pending.length = 0;
      const queued = pending.some((p) => p.asc === condition.asc && p.ascq === condition.ascq);
      if (!queued && pending.length < MAX_PENDING_PER_NEXUS) pending.push(condition);
    }
  }

  /** Drops all state of a nexus that is gone; if it returns it is treated as new. */
  forget(nexusKey: string): void {
    this.pendingByNexus.delete(nexusKey);
  }

  snapshot(): UnitAttentionSnapshot {
    return {
      pending: [...this.pendingByNexus].map(([nexus, conditions]) => ({
        nexus,
        conditions: conditions.map(({ asc, ascq }) => ({ asc, ascq })),
      })),
    };
  }

  restore(snapshot: UnitAttentionSnapshot): void {
    this.pendingByNexus.clear();
    for (const { nexus, conditions } of snapshot.pending) {
      this.pendingByNexus.set(nexus, conditions.map(({ asc, ascq }) => ({ asc, ascq })));
    }
  }
}
