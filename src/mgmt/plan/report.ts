// The output of `twinsan plan`: a table of findings per plan file, the measurements of
// --probe, the rule list, and the exit status they add up to.

import type { Measurements } from "./probe.ts";
import type { Finding, Rule } from "./rule.ts";
import { formatCount, formatDecimal } from "./number-format.ts";

export const EXIT_CLEAN = 0;
export const EXIT_ERROR_FINDINGS = 1;
export const EXIT_UNUSABLE = 2;

export type PlanReport =
  | { file: string; valid: true; planName: string; findings: Finding[] }
  | { file: string; valid: false; issues: string[] };

export function exitStatusOf(report: PlanReport): number {
  if (!report.valid) return EXIT_UNUSABLE;
  const hasError = report.findings.some((finding) => finding.severity === "error");
  return hasError ? EXIT_ERROR_FINDINGS : EXIT_CLEAN;
}

export function formatPlanReport(report: PlanReport, ruleCount: number): string {
  if (!report.valid) {
    const lines = report.issues.map((issue) => `  ${issue}\n`).join("");
    return `${report.file}: invalid plan, not checked:\n${lines}`;
  }
  const heading = `${report.file}: ${report.planName}\n`;
  if (report.findings.length === 0) {
    return `${heading}  no findings (${ruleCount} rules checked)\n`;
  }
  const rows = report.findings.map((f) => [f.severity, f.ruleId, f.subject, f.message]);
  const errors = report.findings.filter((finding) => finding.severity === "error").length;
  const warnings = report.findings.length - errors;
  return (
    heading +
    formatTable(["SEVERITY", "RULE", "SUBJECT", "WHAT TO CHANGE"], rows) +
    `  ${plural(errors, "error")}, ${plural(warnings, "warning")}\n`
  );
}

export function formatMeasurements(measurements: Measurements): string {
  const lines = measurements.partners.map(
    (partner) =>
      `  sync RTT to ${partner.partner}: median ${formatDecimal(partner.rttMsMedian)} ms ` +
      `(TCP connect, ${partner.samplesMs.length} samples)\n`,
  );
  const { disk } = measurements;
  if (disk) {
    const how =
      disk.method === "fio" ? `fio, ${disk.direct ? "O_DIRECT" : "buffered"}` : "JS pwrite";
    const note = disk.note ? `; ${disk.note}` : "";
    lines.push(
      `  disk ${disk.path}: ${formatCount(disk.randomWrite4KiBIops)} random 4 KiB writes/s ` +
        `(${how}${note})\n`,
    );
  }
  return `measured on this host:\n${lines.join("")}`;
}

export function formatRuleList(rules: readonly Rule[]): string {
  return formatTable(
    ["RULE", "SEVERITY", "REQUIREMENT"],
    rules.map((rule) => [rule.id, rule.severity, rule.summary]),
  );
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
function formatTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => row[column].length)));
  return all
    .map((row) => {
      const cells = row.map((cell, column) =>
        column === row.length - 1 ? cell : cell.padEnd(widths[column]),
      );
      return `  ${cells.join("  ")}\n`;
    })
    .join("");
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
