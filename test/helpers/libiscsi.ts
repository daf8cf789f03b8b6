// Runs libiscsi's conformance suite (iscsi-test-cu) against a target and reads its CUnit
// output: the per-test lines of verbose mode and the "Run Summary" table.
import { describeFailure, requireProgram, runCommand, runCommandOk } from "./run-command.ts";

export type TestStatus = "passed" | "failed" | "skipped";

export interface CuTestOutcome {
  suite: string;
  test: string;
  status: TestStatus; // "skipped": CUnit says passed, but the test printed [SKIPPED]
}

export interface CuResult {
  passed: number; // passed and not skipped
  failed: number; // failed tests plus suites whose set-up failed
  skipped: number;
  failures: string[]; // "Suite.Test", or "Suite (suite set-up)" for a failed suite set-up
  outcomes: CuTestOutcome[];
  output: string;
}

export interface CuRunOptions {
  url: string;
  tests: string[]; // test specs FAMILY[.SUITE[.TEST]], e.g. "ALL.Read10" or "iSCSI"
  secondUrl?: string; // enables the multipath tests
  destructive?: boolean; // -d: allow tests that overwrite data (default true)
  timeoutMs: number;
}

export async function runIscsiTestCu(options: CuRunOptions): Promise<CuResult> {
  await requireProgram("iscsi-test-cu", "libiscsi-bin");
  const args = [
    ...(options.destructive === false ? [] : ["-d"]),
    "-t", options.tests.join(","),
    options.url,
    ...(options.secondUrl ? [options.secondUrl] : []),
  ];
  // One stream, in order: [SKIPPED] notes must stay next to the test that printed them.
  const result = await runCommand("sh", ["-c", 'exec iscsi-test-cu "$@" 2>&1', "sh", ...args],
    { timeoutMs: options.timeoutMs });
  const output = result.stdout;
  if (result.timedOut || !output.includes("Run Summary:")) {
    throw new Error(`iscsi-test-cu gave no Run Summary:\n${describeFailure(result)}`);
  }
  return parseCuOutput(output);
}

/** Suites of this libiscsi matching each spec, from `iscsi-test-cu -l`; throws on no match. */
export async function listSuites(specs: string[]): Promise<Map<string, string[]>> {
  await requireProgram("iscsi-test-cu", "libiscsi-bin");
  const listing = await runCommandOk("iscsi-test-cu", ["-l"], { timeoutMs: 10_000 });
  const suiteLines = listing.stdout.split("\n").filter((line) => line.split(".").length === 2);
  const suitesBySpec = new Map<string, string[]>();
  for (const spec of specs) {
    const matching = suiteLines.filter((line) => line === spec || line.startsWith(`${spec}.`));
    if (matching.length === 0) {
      throw new Error(`this libiscsi has no test family/suite "${spec}" (iscsi-test-cu -l)`);
    }
    suitesBySpec.set(spec, matching.map((line) => line.split(".")[1]));
  }
  return suitesBySpec;
}

const SUITE_LINE = /^Suite: (\S+)/;
const TEST_LINE = /^ {2}Test: (\S+) \.\.\./;
const FAILURE_RECORD = /^\s+\d+\. \S+:\d+\s+- /; // CUnit lists each failed assertion so
const SUITE_SETUP_FAILED = /Suite initialization failed for '([^']+)'/;
const TESTS_SUMMARY = /^\s+tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/;
const SUITES_SUMMARY = /^\s+suites\s+(\d+)\s+(\d+)\s+n\/a\s+(\d+)\s+(\d+)\s*$/;

/** Parses verbose CUnit output; throws when the per-test lines disagree with the summary. */
export function parseCuOutput(output: string): CuResult {
  const outcomes = parseTestBlocks(output);
  const failedSuites = [...output.matchAll(new RegExp(SUITE_SETUP_FAILED, "g"))]
    .map((match) => `${match[1]} (suite set-up)`);
  const lines = output.split("\n");
  const tests = lines.map((line) => TESTS_SUMMARY.exec(line)).find((match) => match !== null);
  const suites = lines.map((line) => SUITES_SUMMARY.exec(line)).find((match) => match !== null);
  if (!tests || !suites) throw new Error(`no CUnit Run Summary table in:\n${output}`);
  const [ran, passedOrSkipped, failed] = [tests[2], tests[3], tests[4]].map(Number);
  const count = (status: TestStatus): number =>
    outcomes.filter((outcome) => outcome.status === status).length;
  const skipped = count("skipped");
  if (outcomes.length !== ran || count("failed") !== failed ||
    count("passed") + skipped !== passedOrSkipped) {
    throw new Error(
      `CUnit summary (ran ${ran}, passed ${passedOrSkipped}, failed ${failed}) disagrees with ` +
        `the ${outcomes.length} test lines read from:\n${output}`,
    );
  }
  const failedTests = outcomes.filter((outcome) => outcome.status === "failed")
    .map((outcome) => `${outcome.suite}.${outcome.test}`);
  return {
    passed: passedOrSkipped - skipped,
    failed: failed + Number(suites[3]),
    skipped,
    failures: [...failedTests, ...failedSuites],
    outcomes,
    output,
  };
}

/** One outcome per "Test:" line; its block runs to the next Test, Suite or summary line. */
function parseTestBlocks(output: string): CuTestOutcome[] {
  const outcomes: CuTestOutcome[] = [];
  let suite = "";
  let current: { test: string; block: string[] } | undefined;
  const finish = (): void => {
    if (current) outcomes.push({ suite, test: current.test, status: blockStatus(current.block) });
    current = undefined;
  };
  for (const line of output.split("\n")) {
    const suiteMatch = SUITE_LINE.exec(line);
    const testMatch = TEST_LINE.exec(line);
    if (suiteMatch || testMatch || line.startsWith("Run Summary:")) finish();
    if (suiteMatch) suite = suiteMatch[1];
    else if (testMatch) current = { test: testMatch[1], block: [line] };
    else current?.block.push(line);
  }
  return outcomes;
}

function blockStatus(block: string[]): TestStatus {
  if (block.some((line) => FAILURE_RECORD.test(line))) return "failed";
  return block.some((line) => line.includes("[SKIPPED]")) ? "skipped" : "passed";
}

/** A table of passed/failed/skipped per suite, one column group per target, then totals. */
export function formatSideBySide(results: ReadonlyArray<[string, CuResult]>): string {
  const suites = [...new Set(results.flatMap(([, result]) =>
    result.outcomes.map((outcome) => outcome.suite)))].sort();
  const cell = (result: CuResult, suite: string | undefined): string => {
    const outcomes = result.outcomes.filter((outcome) => !suite || outcome.suite === suite);
    const count = (status: TestStatus): number =>
      outcomes.filter((outcome) => outcome.status === status).length;
    return `${count("passed")}/${count("failed")}/${count("skipped")}`.padStart(14);
  };
  const header = `${"suite (passed/failed/skipped)".padEnd(30)}` +
    results.map(([name]) => name.padStart(14)).join("");
  const rows = suites.map((suite) =>
    suite.padEnd(30) + results.map(([, result]) => cell(result, suite)).join(""));
  const total = "TOTAL".padEnd(30) + results.map(([, result]) => cell(result, undefined)).join("");
  const failures = results.map(([name, result]) =>
    `${name} failures: ${result.failures.join(", ") || "none"}`);
  return [header, ...rows, total, ...failures].join("\n");
}
