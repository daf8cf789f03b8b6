// Every sizing rule, and checking a plan against them.

import type { ClusterPlan } from "./cluster-plan.ts";
import { CLUSTER_RULES } from "./cluster-rules.ts";
import { NETWORK_RULES } from "./network-rules.ts";
import type { Finding, Rule } from "./rule.ts";
import { STORAGE_RULES } from "./storage-rules.ts";

export const RULES: readonly Rule[] = [...NETWORK_RULES, ...STORAGE_RULES, ...CLUSTER_RULES];

/** The findings of `rules` on `plan`: errors first, then in rule order. */
export function checkPlan(plan: ClusterPlan, rules: readonly Rule[] = RULES): Finding[] {
  const findings = rules.flatMap((rule) =>
    rule.check(plan).map((hit) => ({ ruleId: rule.id, severity: rule.severity, ...hit })),
  );
  return [
    ...findings.filter((finding) => finding.severity === "error"),
    ...findings.filter((finding) => finding.severity !== "error"),
  ];
}
