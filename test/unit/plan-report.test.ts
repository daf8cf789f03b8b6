// What `twinsan plan` prints for a plan, and the exit status its findings add up to.
import { describe, expect, it } from "vitest";
import {
  exitStatusOf,
  formatMeasurements,
  formatPlanReport,
  type PlanReport,
} from "../../src/mgmt/plan/report.ts";
import type { Finding } from "../../src/mgmt/plan/rule.ts";

const latency: Finding = {
  ruleId: "sync.latency",
  severity: "error",
  subject: "sync-1",
  message: "round-trip time 7 ms exceeds 5 ms",
};
const stripe: Finding = {
  ruleId: "raid.stripe-size",
  severity: "warning",
  subject: "node-a/data",
  message: "stripe size 256 KiB",
};

function validReport(findings: Finding[]): PlanReport {
  return { file: "plan.json", valid: true, planName: "Lab", findings };
}

describe("the plan report", () => {
  it("says a clean plan is clean", () => {
    expect(formatPlanReport(validReport([]), 17)).toBe(
      "plan.json: Lab\n  no findings (17 rules checked)\n",
    );
  });

  it("lines the findings up in a table", () => {
    expect(formatPlanReport(validReport([latency, stripe]), 17)).toBe(
      "plan.json: Lab\n" +
        "  SEVERITY  RULE              SUBJECT      WHAT TO CHANGE\n" +
        "  error     sync.latency      sync-1       round-trip time 7 ms exceeds 5 ms\n" +
        "  warning   raid.stripe-size  node-a/data  stripe size 256 KiB\n" +
        "  1 error, 1 warning\n",
    );
  });

  it("lists the problems of an invalid plan", () => {
    const report: PlanReport = { file: "plan.json", valid: false, issues: ["nodes: required"] };
    expect(formatPlanReport(report, 17)).toBe(
      "plan.json: invalid plan, not checked:\n  nodes: required\n",
    );
  });

  it("prints the measurements and how they were taken", () => {
    const text = formatMeasurements({
      partners: [{ partner: "127.0.0.1:3260", rttMsMedian: 0.08123, samplesMs: [0.08, 0.09] }],
      disk: {
        path: "/srv",
        randomWrite4KiBIops: 51234.4,
        method: "js-pwrite",
        direct: false,
        note: "fio: not installed",
      },
    });
    expect(text).toBe(
      "measured on this host:\n" +
        "  sync RTT to 127.0.0.1:3260: median 0.0812 ms (TCP connect, 2 samples)\n" +
        "  disk /srv: 51,234 random 4 KiB writes/s (JS pwrite; fio: not installed)\n",
    );
  });
});

describe("the exit status", () => {
  it("is 0 with warnings only, 1 with an error, 2 for an invalid plan", () => {
    expect(exitStatusOf(validReport([]))).toBe(0);
    expect(exitStatusOf(validReport([stripe]))).toBe(0);
    expect(exitStatusOf(validReport([stripe, latency]))).toBe(1);
    expect(exitStatusOf({ file: "x", valid: false, issues: [] })).toBe(2);
  });
});
