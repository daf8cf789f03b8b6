// What a sizing rule is and what it reports.

import type { ClusterPlan } from "./cluster-plan.ts";

export type Severity = "error" | "warning";

export interface Rule {
  /** Stable, dotted: "sync.latency". */
  id: string;
  severity: Severity;
  /** The requirement in one line (`twinsan plan --rules`). */
  summary: string;
  check(plan: ClusterPlan): RuleHit[];
}

export interface RuleHit {
  /** What the hit is about: a node, "node/array", "node/nic:port", a link or a device. */
  subject: string;
  /** What is wrong and what to change. */
  message: string;
}

export interface Finding extends RuleHit {
  ruleId: string;
  severity: Severity;
}
